// SPDX-License-Identifier: Apache-2.0
/*
 * rivetd's etcd client (src/agent/etcd.c) against a real etcd 3.4 that
 * tests/etcd/run.sh started in a network namespace; this program runs in
 * that namespace too. argv[1] names the group of cases to run, because some
 * need an etcd of their own (one to kill, one behind TLS):
 *
 *   plain      keys, prefixes, deletes, transactions, create-if-absent
 *              (20 processes racing), leases (keepalive, expiry, revoke),
 *              the watch (order, bursts, compaction, stop), several
 *              endpoints (one refusing, one that never answers), and the
 *              endpoint list's syntax
 *   killed     the watch ends promptly when etcd dies under it
 *              (ETCD_TEST_PID, ETCD_TEST_SIGNAL: KILL or TERM)
 *   cut        the watch ends when the network to etcd silently dies
 *              (ETCD_TEST_CUT: a shell command that cuts it)
 *   outage-put, outage-down, outage-back
 *              a value written before etcd stopped, the error while it is
 *              down, the value again after it restarted on the same data
 *   tls        client certificates: the right ones work, a wrong CA's, a
 *              missing one and an unverifiable server are refused with a
 *              message that says what to fix
 *
 * ETCD_ENDPOINTS is the live etcd; ETCD_DEAD an address where nothing
 * listens; ETCD_PKI the certificates of tests/etcd/lib.sh (tls).
 * Every key a case writes starts with a prefix of its own, so cases do not
 * see each other's keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent/etcd.h"

#define assert_contains(hay, needle)                                                   \
	do {                                                                           \
		const char *h_ = (hay), *n_ = (needle);                                \
		if (!h_ || !strstr(h_, n_))                                            \
			fail_msg("expected \"%s\" to contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

/* An rv_err must be 0 or say what failed. */
#define assert_ok(expr, err)                                                           \
	do {                                                                           \
		int r_ = (expr);                                                       \
		if (r_ < 0)                                                            \
			fail_msg("%s: %d (%s) %s [%s]", #expr, r_, strerror(-r_),       \
				 (err)->msg, (err)->details);                          \
	} while (0)

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		fail_msg("%s is not set (run tests/etcd/run.sh)", name);
	return v;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A prefix no other case (or earlier run on the same etcd) uses. */
static const char *scope(const char *name)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "/rvt/%d-%" PRId64 "/%s/", (int)getpid(), now_ms(), name);
	return buf;
}

static struct etcd *open_with(const char *endpoints, unsigned timeout_ms)
{
	struct etcd_opts o = { .endpoints = endpoints, .timeout_ms = timeout_ms };
	struct rv_err err = { 0 };
	struct etcd *e;

	assert_ok(etcd_open(&e, &o, &err), &err);
	return e;
}

static struct etcd *open_live(void)
{
	return open_with(env("ETCD_ENDPOINTS"), 0);
}

static void put(struct etcd *e, const char *prefix, const char *key, const char *value)
{
	struct rv_err err = { 0 };
	char k[256];

	snprintf(k, sizeof(k), "%s%s", prefix, key);
	assert_ok(etcd_put(e, k, value, 0, &err), &err);
}

static int64_t revision(struct etcd *e)
{
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	int64_t rev;

	assert_ok(etcd_get(e, "/rvt-revision-probe", false, &kvs, &err), &err);
	rev = kvs.revision;
	etcd_kvs_done(&kvs);
	assert_true(rev > 0);
	return rev;
}

/* ---- a poll(2) loop, as rivetd would drive the client ------------------- */

struct loop {
	struct pollfd fd[16];
	size_t n;
	int64_t due;		/* monotonic ms, -1: no timer */
	unsigned fd_calls, timer_calls;
};

static void loop_watch_fd(void *ctx, int fd, unsigned events)
{
	struct loop *l = ctx;
	short ev = (short)((events & ETCD_POLL_IN ? POLLIN : 0) | (events & ETCD_POLL_OUT ? POLLOUT : 0));
	size_t i;

	l->fd_calls++;
	for (i = 0; i < l->n && l->fd[i].fd != fd; i++)
		;
	if (!events) {
		if (i < l->n)
			l->fd[i] = l->fd[--l->n];
		return;
	}
	if (i == l->n) {
		assert_true(l->n < 16);
		l->n++;
	}
	l->fd[i] = (struct pollfd){ .fd = fd, .events = ev };
}

static void loop_set_timer(void *ctx, long ms)
{
	struct loop *l = ctx;

	l->timer_calls++;
	l->due = ms < 0 ? -1 : now_ms() + ms;
}

static void loop_attach(struct etcd *e, struct loop *l)
{
	const struct etcd_loop el = { loop_watch_fd, loop_set_timer, l };

	memset(l, 0, sizeof(*l));
	l->due = -1;
	etcd_set_loop(e, &el);
}

/* Run the loop until @done(@arg) holds or @ms pass; true when it held. */
static bool pump(struct etcd *e, struct loop *l, long ms, bool (*done)(void *), void *arg)
{
	int64_t end = now_ms() + ms;

	while (!done || !done(arg)) {
		int64_t now = now_ms(), wait = end - now;
		struct pollfd ready[16];
		size_t n = l->n;
		int r;

		if (wait <= 0)
			return false;
		if (l->due >= 0 && l->due - now < wait)
			wait = l->due > now ? l->due - now : 0;
		memcpy(ready, l->fd, n * sizeof(ready[0]));
		r = poll(ready, n, (int)wait);
		assert_true(r >= 0 || errno == EINTR);
		for (size_t i = 0; r > 0 && i < n; i++) {
			unsigned ev = 0;

			if (ready[i].revents & (POLLIN | POLLHUP | POLLERR))
				ev |= ETCD_POLL_IN;
			if (ready[i].revents & POLLOUT)
				ev |= ETCD_POLL_OUT;
			if (ev)
				etcd_perform(e, ready[i].fd, ev);
		}
		if (l->due >= 0 && now_ms() >= l->due) {
			l->due = -1;
			etcd_perform(e, -1, 0);
		}
	}
	return true;
}

/* ---- what a watch delivered --------------------------------------------- */

struct seen_event {
	enum etcd_event_type type;
	char *key, *value;
	int64_t mod_rev, create_rev, version;
};

struct seen {
	struct seen_event *ev;
	size_t n, cap;
	size_t calls;			/* events() calls */
	int64_t last_revision;
	bool ended;
	int reason;
	char msg[1024];
	bool stop_in_callback;		/* etcd_watch_stop from events() */
	struct etcd *e;
};

static void on_events(void *ctx, const struct etcd_event *ev, size_t n, int64_t revision)
{
	struct seen *s = ctx;

	s->calls++;
	assert_true(n > 0);
	/* The header's revision is the store's, at least the last event's. */
	assert_true(revision >= ev[n - 1].kv.mod_rev);
	s->last_revision = revision;
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
		assert_non_null(s->ev);
	}
	for (size_t i = 0; i < n; i++) {
		struct seen_event *d = &s->ev[s->n++];

		d->type = ev[i].type;
		d->key = strdup(ev[i].kv.key);
		d->value = strdup(ev[i].kv.value);
		d->mod_rev = ev[i].kv.mod_rev;
		d->create_rev = ev[i].kv.create_rev;
		d->version = ev[i].kv.version;
	}
	if (s->stop_in_callback)
		etcd_watch_stop(s->e);
}

static void on_ended(void *ctx, int reason, const char *msg)
{
	struct seen *s = ctx;

	assert_false(s->ended);
	s->ended = true;
	s->reason = reason;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void seen_done(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->ev[i].key);
		free(s->ev[i].value);
	}
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

static struct etcd_watch_cb seen_cb(struct seen *s)
{
	return (struct etcd_watch_cb){ on_events, on_ended, s };
}

struct count_goal {
	struct seen *s;
	size_t n;
};

static bool has_events(void *arg)
{
	struct count_goal *g = arg;

	return g->s->n >= g->n || g->s->ended;
}

static bool has_ended(void *arg)
{
	return ((struct seen *)arg)->ended;
}

static void assert_event(const struct seen *s, size_t i, enum etcd_event_type type, const char *key,
			 const char *value)
{
	if (i >= s->n)
		fail_msg("event %zu missing (%zu seen)", i, s->n);
	if (s->ev[i].type != type || strcmp(s->ev[i].key, key) || (value && strcmp(s->ev[i].value, value)))
		fail_msg("event %zu: %s %s=%s, want %s %s=%s", i,
			 s->ev[i].type == ETCD_EV_PUT ? "PUT" : "DELETE", s->ev[i].key, s->ev[i].value,
			 type == ETCD_EV_PUT ? "PUT" : "DELETE", key, value ? value : "*");
}

/* Watch @prefix and wait until the watch is known to be live: a marker put
 * under the prefix has come back through it. It watches from the next
 * revision, as rivetd does after a list, so the marker cannot be missed
 * however long the watch takes to be created. */
static void watch_live(struct etcd *e, struct loop *l, struct seen *s, const char *prefix)
{
	struct etcd_watch_cb cb = seen_cb(s);
	struct rv_err err = { 0 };
	struct count_goal g = { s, 1 };
	char key[256];

	assert_ok(etcd_watch(e, prefix, revision(e) + 1, &cb, &err), &err);
	assert_true(etcd_watching(e));
	snprintf(key, sizeof(key), "%smarker", prefix);
	put(e, "", key, "1");
	if (!pump(e, l, 5000, has_events, &g) || s->ended)
		fail_msg("the watch did not deliver its marker: %s", s->msg);
}

/* ==== plain ================================================================ */

static void test_put_get_prefix_in_key_order(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("kv");
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	char key[256];

	(void)state;
	/* Written out of order; a key that shares the prefix's text but not
	 * the prefix ("kv0"), and a binary-safe value with a NUL-free odd length. */
	put(e, p, "c", "three");
	put(e, p, "a", "one");
	put(e, p, "b/x", "{\"json\":[1,2]}");
	put(e, p, "b", "");
	snprintf(key, sizeof(key), "%.*s0/outside", (int)strlen(p) - 1, p);
	put(e, "", key, "not under the prefix");

	assert_ok(etcd_get(e, p, true, &kvs, &err), &err);
	assert_int_equal(kvs.n, 4);
	const char *keys[] = { "a", "b", "b/x", "c" }, *values[] = { "one", "", "{\"json\":[1,2]}", "three" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "%s%s", p, keys[i]);
		assert_string_equal(kvs.v[i].key, key);
		assert_string_equal(kvs.v[i].value, values[i]);
		assert_int_equal(kvs.v[i].value_len, strlen(values[i]));
		assert_int_equal(kvs.v[i].version, 1);
		assert_int_equal(kvs.v[i].lease, 0);
		assert_true(kvs.v[i].create_rev > 0 && kvs.v[i].mod_rev == kvs.v[i].create_rev);
		assert_true(kvs.revision >= kvs.v[i].mod_rev);
	}
	etcd_kvs_done(&kvs);

	/* One key; a second put bumps version and mod_rev, keeps create_rev. */
	snprintf(key, sizeof(key), "%sa", p);
	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	int64_t created = kvs.v[0].create_rev;
	etcd_kvs_done(&kvs);
	put(e, p, "a", "uno");
	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.v[0].value, "uno");
	assert_int_equal(kvs.v[0].version, 2);
	assert_int_equal(kvs.v[0].create_rev, created);
	assert_true(kvs.v[0].mod_rev > created);
	etcd_kvs_done(&kvs);

	/* Not found is success with nothing in it. */
	snprintf(key, sizeof(key), "%snone", p);
	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	assert_int_equal(kvs.n, 0);
	assert_true(kvs.revision > 0);
	etcd_kvs_done(&kvs);
	assert_ok(etcd_get(e, key, true, &kvs, &err), &err);
	assert_int_equal(kvs.n, 0);
	etcd_kvs_done(&kvs);
	assert_string_equal(etcd_endpoint(e), env("ETCD_ENDPOINTS"));
	etcd_close(e);
}

static void test_delete_and_prefix_delete_counts(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("del");
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	int64_t n = -1;
	char key[256], sibling[256];

	(void)state;
	put(e, p, "x", "1");
	put(e, p, "y/1", "1");
	put(e, p, "y/2", "1");
	put(e, p, "y/3", "1");
	put(e, p, "yz", "1");
	snprintf(key, sizeof(key), "%sx", p);
	assert_ok(etcd_delete(e, key, false, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_ok(etcd_delete(e, key, false, &n, &err), &err);
	assert_int_equal(n, 0);
	/* "y/" takes y/1..3, not its sibling yz. */
	snprintf(key, sizeof(key), "%sy/", p);
	assert_ok(etcd_delete(e, key, true, &n, &err), &err);
	assert_int_equal(n, 3);
	snprintf(sibling, sizeof(sibling), "%syz", p);
	assert_ok(etcd_get(e, p, true, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.v[0].key, sibling);
	etcd_kvs_done(&kvs);
	assert_ok(etcd_delete(e, p, true, NULL, &err), &err);
	assert_ok(etcd_get(e, p, true, &kvs, &err), &err);
	assert_int_equal(kvs.n, 0);
	etcd_kvs_done(&kvs);
	etcd_close(e);
}

static void test_create_twice(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("create");
	struct rv_err err = { 0 };
	struct etcd_kv cur;
	char key[256];

	(void)state;
	snprintf(key, sizeof(key), "%snode-a", p);
	assert_int_equal(etcd_create(e, key, "first", 0, &cur, &err), 1);
	assert_null(cur.key);
	assert_int_equal(etcd_create(e, key, "second", 0, &cur, &err), 0);
	assert_string_equal(cur.key, key);
	assert_string_equal(cur.value, "first");
	assert_int_equal(cur.version, 1);
	assert_true(cur.create_rev > 0);
	etcd_kv_done(&cur);
	assert_null(cur.key);
	/* @cur may be NULL. */
	assert_int_equal(etcd_create(e, key, "third", 0, NULL, &err), 0);
	etcd_close(e);
}

static void test_txn_both_branches_and_gets(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("txn");
	struct rv_err err = { 0 };
	struct etcd_txn_result res;
	char k1[256], k2[256], kp[256];

	(void)state;
	snprintf(k1, sizeof(k1), "%sk1", p);
	snprintf(k2, sizeof(k2), "%sk2", p);
	snprintf(kp, sizeof(kp), "%sk", p);
	put(e, p, "k1", "v1");
	put(e, p, "k2", "v2");

	const struct etcd_cmp holds[] = {
		{ .key = k1, .target = ETCD_VALUE, .op = ETCD_EQ, .value = "v1" },
		{ .key = k1, .target = ETCD_VERSION, .op = ETCD_GT, .num = 0 },
		{ .key = k2, .target = ETCD_CREATE_REV, .op = ETCD_NE, .num = 0 },
		{ .key = k2, .target = ETCD_MOD_REV, .op = ETCD_LT, .num = INT64_MAX },
		{ .key = k2, .target = ETCD_LEASE, .op = ETCD_EQ, .num = 0 },
	};
	const struct etcd_op then[] = {
		{ .type = ETCD_OP_PUT, .key = k1, .value = "then" },
		{ .type = ETCD_OP_GET, .key = k1 },
		{ .type = ETCD_OP_GET, .key = kp, .prefix = true },
	};
	const struct etcd_op otherwise[] = {
		{ .type = ETCD_OP_DELETE, .key = kp, .prefix = true },
		{ .type = ETCD_OP_GET, .key = k2 },
	};

	assert_ok(etcd_txn(e, holds, 5, then, 3, otherwise, 2, &res, &err), &err);
	assert_true(res.succeeded);
	assert_true(res.revision > 0);
	/* The GETs of the branch that ran, in order: k1 (its new value),
	 * then k1 and k2 under the prefix. */
	assert_int_equal(res.got.n, 3);
	assert_string_equal(res.got.v[0].key, k1);
	assert_string_equal(res.got.v[0].value, "then");
	assert_string_equal(res.got.v[1].key, k1);
	assert_string_equal(res.got.v[2].key, k2);
	assert_string_equal(res.got.v[2].value, "v2");
	etcd_txn_result_done(&res);

	/* k1 is no longer "v1": the other branch runs, deleting both. */
	assert_ok(etcd_txn(e, holds, 1, then, 3, otherwise, 2, &res, &err), &err);
	assert_false(res.succeeded);
	assert_int_equal(res.got.n, 0);	/* k2 was deleted before the GET */
	etcd_txn_result_done(&res);
	struct etcd_kvs kvs;
	assert_ok(etcd_get(e, p, true, &kvs, &err), &err);
	assert_int_equal(kvs.n, 0);
	etcd_kvs_done(&kvs);
	etcd_close(e);
}

/* 20 processes, each its own client, create one key at the same moment. */
static void test_racing_creates_one_wins(void **state)
{
	const char *p = scope("race");
	pid_t pids[20];
	int go[2], created = 0, existed = 0, winner = -1;
	char key[256], value[32];

	(void)state;
	snprintf(key, sizeof(key), "%srange-10.0.7.0", p);
	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < 20; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (!pids[i]) {
			struct etcd_opts o = { .endpoints = getenv("ETCD_ENDPOINTS") };
			struct rv_err err = { 0 };
			struct etcd_kv cur;
			struct etcd *e;
			char c, mine[32];
			int r;

			close(go[1]);
			if (etcd_open(&e, &o, &err) < 0)
				_exit(1);
			/* Open first, then wait: the race is the creates'. */
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			snprintf(mine, sizeof(mine), "racer-%d", i);
			r = etcd_create(e, key, mine, 0, &cur, &err);
			if (r == 0 && (!cur.value || strncmp(cur.value, "racer-", 6) || !strcmp(cur.value, mine)))
				r = -EPROTO;
			etcd_kv_done(&cur);
			etcd_close(e);
			_exit(r == 1 ? 10 : r == 0 ? 20 : 1);
		}
	}
	close(go[0]);
	usleep(300 * 1000);
	close(go[1]);		/* every child's read returns now */
	for (int i = 0; i < 20; i++) {
		int st;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 10) {
			created++;
			winner = i;
		} else if (WEXITSTATUS(st) == 20) {
			existed++;
		} else {
			fail_msg("racer %d failed (exit %d)", i, WEXITSTATUS(st));
		}
	}
	assert_int_equal(created, 1);
	assert_int_equal(existed, 19);

	struct etcd *e = open_live();
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	snprintf(value, sizeof(value), "racer-%d", winner);
	assert_string_equal(kvs.v[0].value, value);
	assert_int_equal(kvs.v[0].version, 1);
	etcd_kvs_done(&kvs);
	etcd_close(e);
}

static void test_lease_grant_keepalive_ttl(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("lease");
	int64_t id, ttl, remaining, granted;
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	char key[256];

	(void)state;
	assert_ok(etcd_lease_grant(e, 30, &id, &err), &err);
	assert_true(id != 0);
	assert_ok(etcd_lease_ttl(e, id, &remaining, &granted, &err), &err);
	assert_int_equal(granted, 30);
	assert_true(remaining > 0 && remaining <= 30);
	assert_ok(etcd_lease_keepalive(e, id, &ttl, &err), &err);
	assert_int_equal(ttl, 30);

	snprintf(key, sizeof(key), "%son-lease", p);
	assert_ok(etcd_put(e, key, "v", id, &err), &err);
	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	assert_int_equal(kvs.v[0].lease, id);
	etcd_kvs_done(&kvs);
	/* A create on a lease, too. */
	snprintf(key, sizeof(key), "%screated-on-lease", p);
	assert_int_equal(etcd_create(e, key, "v", id, NULL, &err), 1);
	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	assert_int_equal(kvs.v[0].lease, id);
	etcd_kvs_done(&kvs);
	/* A TTL below 1 s is the caller's mistake, not etcd's. */
	assert_int_equal(etcd_lease_grant(e, 0, &id, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	etcd_close(e);
}

static bool key_gone(struct etcd *e, const char *key)
{
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	bool gone;

	assert_ok(etcd_get(e, key, false, &kvs, &err), &err);
	gone = kvs.n == 0;
	etcd_kvs_done(&kvs);
	return gone;
}

static void test_lease_expires(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("expiry");
	struct rv_err err = { 0 };
	int64_t id, ttl = -1, t0;
	char key[256];

	(void)state;
	snprintf(key, sizeof(key), "%snode", p);
	assert_ok(etcd_lease_grant(e, 2, &id, &err), &err);
	assert_ok(etcd_put(e, key, "v", id, &err), &err);
	t0 = now_ms();
	assert_false(key_gone(e, key));
	while (!key_gone(e, key)) {
		if (now_ms() - t0 > 10000)
			fail_msg("a key on a 2 s lease is still there after 10 s");
		usleep(200 * 1000);
	}
	/* Gone with its lease: a keepalive cannot bring it back. */
	err_clear(&err);
	assert_int_equal(etcd_lease_keepalive(e, id, &ttl, &err), -ENOENT);
	assert_int_equal(ttl, 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(etcd_lease_ttl(e, id, NULL, NULL, &err), -ENOENT);
	assert_int_equal(err.code, 0);
	etcd_close(e);
}

static void test_lease_revoke(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("revoke");
	struct rv_err err = { 0 };
	int64_t id;
	char key[256];

	(void)state;
	snprintf(key, sizeof(key), "%snode", p);
	assert_ok(etcd_lease_grant(e, 60, &id, &err), &err);
	assert_ok(etcd_put(e, key, "v", id, &err), &err);
	assert_false(key_gone(e, key));
	assert_ok(etcd_lease_revoke(e, id, &err), &err);
	assert_true(key_gone(e, key));
	err_clear(&err);
	assert_int_equal(etcd_lease_revoke(e, id, &err), -ENOENT);
	assert_int_equal(err.code, 0);
	assert_int_equal(etcd_lease_keepalive(e, id, NULL, &err), -ENOENT);
	/* A put on a lease that is gone is refused, and says why. */
	assert_int_equal(etcd_put(e, key, "v", id, &err), -ENOENT);
	assert_contains(err.msg, "lease not found");
	assert_contains(err.msg, key);
	etcd_close(e);
}

static void test_watch_in_order_from_revision(void **state)
{
	struct etcd *e = open_live();
	const char *p0 = scope("watch");
	struct rv_err err = { 0 };
	struct seen s = { 0 };
	struct etcd_watch_cb cb = seen_cb(&s);
	struct loop l;
	char p[128], k[8][256], outside[256];
	int64_t start;

	(void)state;
	snprintf(p, sizeof(p), "%s", p0);
	for (int i = 0; i < 8; i++)
		snprintf(k[i], sizeof(k[i]), "%sk%d", p, i);
	snprintf(outside, sizeof(outside), "%.*s-outside", (int)strlen(p) - 1, p);
	loop_attach(e, &l);

	/* History before the watch exists. */
	put(e, "", k[1], "one");
	start = revision(e);
	put(e, "", k[2], "two");
	assert_ok(etcd_delete(e, k[1], false, NULL, &err), &err);
	put(e, "", outside, "x");
	put(e, "", k[3], "three");
	assert_ok(etcd_watch(e, p, start, &cb, &err), &err);
	struct count_goal g = { &s, 4 };
	assert_true(pump(e, &l, 5000, has_events, &g));
	/* Live changes after it. */
	put(e, "", k[2], "two again");
	assert_ok(etcd_delete(e, p, true, NULL, &err), &err);
	g.n = 7;
	assert_true(pump(e, &l, 5000, has_events, &g));
	pump(e, &l, 300, NULL, NULL);
	assert_false(s.ended);
	assert_true(etcd_watching(e));

	assert_int_equal(s.n, 7);
	assert_event(&s, 0, ETCD_EV_PUT, k[1], "one");
	assert_int_equal(s.ev[0].mod_rev, start);
	assert_event(&s, 1, ETCD_EV_PUT, k[2], "two");
	assert_event(&s, 2, ETCD_EV_DELETE, k[1], NULL);
	assert_event(&s, 3, ETCD_EV_PUT, k[3], "three");
	assert_event(&s, 4, ETCD_EV_PUT, k[2], "two again");
	assert_int_equal(s.ev[4].version, 2);
	/* The prefix delete: k2 and k3, in one revision, in key order. */
	assert_event(&s, 5, ETCD_EV_DELETE, k[2], NULL);
	assert_event(&s, 6, ETCD_EV_DELETE, k[3], NULL);
	assert_int_equal(s.ev[5].mod_rev, s.ev[6].mod_rev);
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.ev[i].mod_rev >= s.ev[i - 1].mod_rev);

	/* Stopped: no more events, and no ended(). */
	etcd_watch_stop(e);
	assert_false(etcd_watching(e));
	put(e, "", k[4], "after the stop");
	pump(e, &l, 500, NULL, NULL);
	assert_int_equal(s.n, 7);
	assert_false(s.ended);
	/* Nothing of the watch is left in the loop. */
	assert_int_equal(l.n, 0);
	assert_int_equal(l.due, -1);
	seen_done(&s);
	etcd_close(e);
}

/* Many events at once: one response far larger than a curl write (a
 * transaction of 100 puts of 1 KiB is one revision, ~140 KiB of JSON; etcd
 * allows 128 operations in a transaction), and many small responses that
 * arrive together while nobody reads. */
static void test_watch_burst(void **state)
{
	struct etcd *e = open_live();
	const char *p0 = scope("burst");
	struct rv_err err = { 0 };
	struct seen s = { 0 };
	struct etcd_op ops[100];
	struct etcd_txn_result res;
	struct loop l;
	char p[128], keys[100][160], big[1025], val[32];

	(void)state;
	snprintf(p, sizeof(p), "%s", p0);
	loop_attach(e, &l);
	watch_live(e, &l, &s, p);

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%stxn/%03d", p, i);
		ops[i] = (struct etcd_op){ .type = ETCD_OP_PUT, .key = keys[i], .value = big };
	}
	assert_ok(etcd_txn(e, NULL, 0, ops, 100, NULL, 0, &res, &err), &err);
	assert_true(res.succeeded);
	etcd_txn_result_done(&res);
	/* 300 puts without running the loop: the responses pile up in the
	 * socket and arrive several to a read. */
	for (int i = 0; i < 300; i++) {
		snprintf(val, sizeof(val), "%d", i);
		put(e, p, "seq", val);
	}
	struct count_goal g = { &s, 1 + 100 + 300 };
	if (!pump(e, &l, 20000, has_events, &g))
		fail_msg("%zu of %zu events arrived", s.n, g.n);
	assert_false(s.ended);
	assert_int_equal(s.n, 401);
	for (int i = 0; i < 100; i++) {
		assert_event(&s, 1 + (size_t)i, ETCD_EV_PUT, keys[i], big);
		assert_int_equal(s.ev[1 + i].mod_rev, s.ev[1].mod_rev);
	}
	for (int i = 0; i < 300; i++) {
		char key[256];

		snprintf(key, sizeof(key), "%sseq", p);
		snprintf(val, sizeof(val), "%d", i);
		assert_event(&s, 101 + (size_t)i, ETCD_EV_PUT, key, val);
		assert_int_equal(s.ev[101 + i].version, i + 1);
	}
	/* Fewer calls than events: responses carried several. */
	assert_true(s.calls < s.n);
	seen_done(&s);
	etcd_close(e);
}

/* POST /v3/kv/compaction directly (rivet's client has no call for it). */
static void compact(int64_t rev)
{
	char url[512], body[128];
	CURL *h = curl_easy_init();
	FILE *null = fopen("/dev/null", "w");
	long status = 0;

	assert_non_null(h);
	snprintf(url, sizeof(url), "%s/v3/kv/compaction", env("ETCD_ENDPOINTS"));
	snprintf(body, sizeof(body), "{\"revision\":\"%" PRId64 "\",\"physical\":true}", rev);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, null);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	curl_easy_cleanup(h);
	fclose(null);
}

static void test_watch_from_compacted_revision_is_stale(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("compacted");
	struct rv_err err = { 0 };
	struct seen s = { 0 };
	struct etcd_watch_cb cb = seen_cb(&s);
	struct loop l;
	int64_t old, now;

	(void)state;
	loop_attach(e, &l);
	put(e, p, "k", "1");
	old = revision(e);
	put(e, p, "k", "2");
	now = revision(e);
	compact(now);
	assert_ok(etcd_watch(e, p, old, &cb, &err), &err);
	assert_true(pump(e, &l, 5000, has_ended, &s));
	assert_int_equal(s.reason, -ESTALE);
	assert_contains(s.msg, "compacted");
	assert_contains(s.msg, p);
	assert_int_equal(s.n, 0);
	assert_false(etcd_watching(e));
	/* What ended() tells the caller to do works: from the current revision. */
	memset(&s, 0, sizeof(s));
	assert_ok(etcd_watch(e, p, now + 1, &cb, &err), &err);
	put(e, p, "k", "3");
	struct count_goal g = { &s, 1 };
	assert_true(pump(e, &l, 5000, has_events, &g));
	assert_false(s.ended);
	seen_done(&s);
	etcd_close(e);
}

/* A callback may stop the watch; nothing is delivered after that. */
static void test_watch_stopped_from_callback(void **state)
{
	struct etcd *e = open_live();
	const char *p = scope("cbstop");
	struct rv_err err = { 0 };
	struct seen s = { 0 };
	struct etcd_watch_cb cb = seen_cb(&s);
	struct loop l;
	int64_t start;

	(void)state;
	loop_attach(e, &l);
	start = revision(e) + 1;
	for (int i = 0; i < 50; i++)
		put(e, p, "k", "v");
	s.stop_in_callback = true;
	s.e = e;
	assert_ok(etcd_watch(e, p, start, &cb, &err), &err);
	pump(e, &l, 2000, NULL, NULL);
	assert_int_equal(s.calls, 1);
	assert_false(s.ended);
	assert_false(etcd_watching(e));
	seen_done(&s);
	etcd_close(e);
}

static void test_first_endpoint_refuses(void **state)
{
	char eps[512];
	struct etcd *e;
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;

	(void)state;
	snprintf(eps, sizeof(eps), "%s,%s", env("ETCD_DEAD"), env("ETCD_ENDPOINTS"));
	e = open_with(eps, 1000);
	assert_string_equal(etcd_endpoint(e), "");
	put(e, scope("refused"), "k", "v");
	assert_string_equal(etcd_endpoint(e), env("ETCD_ENDPOINTS"));
	assert_ok(etcd_get(e, "/rvt", true, &kvs, &err), &err);
	etcd_kvs_done(&kvs);
	etcd_close(e);
}

/* A socket that completes TCP handshakes (the kernel does) and is never
 * read: an endpoint that accepts and never answers. */
static int silent_listener(char *url, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, len, "http://127.0.0.1:%u", ntohs(a.sin_port));
	return fd;
}

static void test_silent_endpoint_is_bounded(void **state)
{
	char silent[64], eps[512];
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	struct etcd *e;
	int64_t t0, took;
	int fd;

	(void)state;
	fd = silent_listener(silent, sizeof(silent));

	/* Alone: the call fails after its timeout, and says so. */
	e = open_with(silent, 500);
	t0 = now_ms();
	assert_int_equal(etcd_get(e, "/rvt", true, &kvs, &err), -ETIMEDOUT);
	took = now_ms() - t0;
	assert_true(took < 3000);
	assert_int_equal(err.code, CNI_ERR_TRY_AGAIN);
	assert_contains(err.msg, silent);
	assert_contains(err.msg, "no answer within 500 ms");
	etcd_close(e);

	/* First of two: the call is served by the second after the first's
	 * timeout, and the next call starts with the one that answered. */
	snprintf(eps, sizeof(eps), "%s,%s", silent, env("ETCD_ENDPOINTS"));
	e = open_with(eps, 500);
	t0 = now_ms();
	assert_ok(etcd_get(e, "/rvt", true, &kvs, &err), &err);
	took = now_ms() - t0;
	etcd_kvs_done(&kvs);
	assert_true(took >= 450 && took < 3000);
	assert_string_equal(etcd_endpoint(e), env("ETCD_ENDPOINTS"));
	t0 = now_ms();
	assert_ok(etcd_get(e, "/rvt", true, &kvs, &err), &err);
	etcd_kvs_done(&kvs);
	assert_true(now_ms() - t0 < 450);
	etcd_close(e);

	/* The watch, too, moves on from an endpoint that never confirms it. */
	struct seen s = { 0 };
	struct loop l;
	e = open_with(eps, 500);
	loop_attach(e, &l);
	const char *p = scope("silentwatch");
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s", p);
	watch_live(e, &l, &s, prefix);
	assert_string_equal(etcd_endpoint(e), env("ETCD_ENDPOINTS"));
	etcd_watch_stop(e);
	seen_done(&s);
	etcd_close(e);
	close(fd);
}

static void test_unreachable_names_every_endpoint(void **state)
{
	char silent[64], eps[512];
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	struct seen s = { 0 };
	struct etcd_watch_cb cb = seen_cb(&s);
	struct loop l;
	struct etcd *e;
	int fd;

	(void)state;
	fd = silent_listener(silent, sizeof(silent));
	snprintf(eps, sizeof(eps), "%s,%s", env("ETCD_DEAD"), silent);
	e = open_with(eps, 300);
	assert_true(etcd_put(e, "/rvt/x", "v", 0, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_TRY_AGAIN);
	assert_contains(err.msg, "etcd unreachable for put /rvt/x");
	assert_contains(err.msg, env("ETCD_DEAD"));
	assert_contains(err.msg, "Connection refused");
	assert_contains(err.msg, silent);
	assert_contains(err.msg, "no answer within 300 ms");
	/* curl's own words are in the details. */
	assert_contains(err.details, "Failed to connect");
	assert_string_equal(etcd_endpoint(e), "");
	assert_true(etcd_get(e, "/rvt", false, &kvs, &err) < 0);

	/* A watch that reaches no endpoint ends, naming each. */
	loop_attach(e, &l);
	assert_ok(etcd_watch(e, "/rvt/", 0, &cb, &err), &err);
	assert_true(pump(e, &l, 5000, has_ended, &s));
	assert_contains(s.msg, "cannot watch /rvt/");
	assert_contains(s.msg, env("ETCD_DEAD"));
	assert_contains(s.msg, silent);
	assert_false(etcd_watching(e));
	etcd_close(e);
	close(fd);
}

static void test_endpoint_list_syntax(void **state)
{
	static const struct {
		const char *list, *says;
	} bad[] = {
		{ "", "no etcd endpoints" },
		{ "10.0.0.1:2379", "is not http://HOST:PORT" },
		{ "http://10.0.0.1", "has no port" },
		{ "http://10.0.0.1:2379/v3", "is not http://HOST:PORT" },
		{ "http://10.0.0.1:2379?x=1", "is not http://HOST:PORT" },
		{ "ftp://10.0.0.1:2379", "is not http://HOST:PORT" },
		{ "http://10.0.0.1:2379,,http://10.0.0.2:2379", "empty entry" },
		{ "http://10.0.0.1:2379,", "empty entry" },
	};
	struct etcd_opts o = { 0 };
	struct rv_err err = { 0 };
	struct etcd *e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.endpoints = bad[i].list;
		assert_int_equal(etcd_open(&e, &o, &err), -EINVAL);
		assert_null(e);
		assert_int_equal(err.code, CNI_ERR_CONFIG);
		assert_contains(err.msg, bad[i].says);
	}
	/* Spaces around entries and a trailing slash are fine. */
	o.endpoints = " http://10.0.0.1:2379/ , https://[fd5a:7e57::1]:2379 ";
	assert_ok(etcd_open(&e, &o, &err), &err);
	etcd_close(e);
	/* A certificate without its key, and a file that cannot be read. */
	o.certfile = "/etc/hostname";
	assert_int_equal(etcd_open(&e, &o, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_contains(err.msg, "needs its key");
	o.certfile = NULL;
	o.cafile = "/nonexistent/ca.pem";
	assert_int_equal(etcd_open(&e, &o, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_contains(err.msg, "/nonexistent/ca.pem");
}

/* ==== killed, cut ========================================================== */

static void test_watch_ends_when_etcd_dies(void **state)
{
	const char *sig = env("ETCD_TEST_SIGNAL");
	struct etcd *e = open_live();
	struct seen s = { 0 };
	struct loop l;
	int64_t t0;
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s", scope("killed"));
	loop_attach(e, &l);
	watch_live(e, &l, &s, p);
	t0 = now_ms();
	assert_int_equal(kill(atoi(env("ETCD_TEST_PID")), !strcmp(sig, "KILL") ? SIGKILL : SIGTERM), 0);
	if (!pump(e, &l, 10000, has_ended, &s))
		fail_msg("the watch did not end within 10 s of etcd's SIG%s", sig);
	print_message("    ended %" PRId64 " ms after SIG%s: %s\n", now_ms() - t0, sig, s.msg);
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(s.reason, -ECONNRESET);
	assert_contains(s.msg, env("ETCD_ENDPOINTS"));
	assert_false(etcd_watching(e));
	seen_done(&s);
	etcd_close(e);
}

static void test_watch_ends_when_network_dies(void **state)
{
	struct etcd *e = open_live();
	struct seen s = { 0 };
	struct loop l;
	int64_t t0;
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s", scope("cut"));
	loop_attach(e, &l);
	watch_live(e, &l, &s, p);
	/* Let the connection go quiet, then take the network away under it:
	 * no FIN, no RST, only silence, which only keepalive probes notice. */
	pump(e, &l, 1000, NULL, NULL);
	assert_int_equal(system(env("ETCD_TEST_CUT")), 0);
	t0 = now_ms();
	if (!pump(e, &l, 60000, has_ended, &s))
		fail_msg("the watch did not end within 60 s of the network's death");
	print_message("    ended %" PRId64 " ms after the cut: %s\n", now_ms() - t0, s.msg);
	assert_true(now_ms() - t0 < 30000);
	assert_int_equal(s.reason, -ETIMEDOUT);
	assert_contains(s.msg, env("ETCD_ENDPOINTS"));
	seen_done(&s);
	etcd_close(e);
}

/* ==== outage =============================================================== */

static void test_outage_put(void **state)
{
	struct etcd *e = open_live();
	struct rv_err err = { 0 };

	(void)state;
	assert_ok(etcd_put(e, "/rvt/outage", "kept", 0, &err), &err);
	etcd_close(e);
}

static void test_outage_down(void **state)
{
	struct etcd *e = open_with(env("ETCD_ENDPOINTS"), 1000);
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;

	(void)state;
	assert_int_equal(etcd_get(e, "/rvt/outage", false, &kvs, &err), -ECONNREFUSED);
	assert_int_equal(err.code, CNI_ERR_TRY_AGAIN);
	assert_contains(err.msg, "etcd unreachable for get /rvt/outage");
	assert_contains(err.msg, env("ETCD_ENDPOINTS"));
	etcd_close(e);
}

static void test_outage_back(void **state)
{
	struct etcd *e = open_live();
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;

	(void)state;
	assert_ok(etcd_get(e, "/rvt/outage", false, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.v[0].value, "kept");
	etcd_kvs_done(&kvs);
	etcd_close(e);
}

/* ==== tls ================================================================== */

static const char *pki(const char *file)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", env("ETCD_PKI"), file);
	return buf[i];
}

static struct etcd *open_tls(const char *ca, const char *cert, const char *key)
{
	/* Generous: without a CA file, OpenSSL reads the system's whole bundle
	 * for the handshake, which takes seconds under valgrind. */
	struct etcd_opts o = {
		.endpoints = env("ETCD_ENDPOINTS"), .cafile = ca, .certfile = cert, .keyfile = key,
		.timeout_ms = 10000,
	};
	struct rv_err err = { 0 };
	struct etcd *e;

	assert_ok(etcd_open(&e, &o, &err), &err);
	return e;
}

static void test_tls_with_client_certificate(void **state)
{
	struct etcd *e = open_tls(pki("ca.pem"), pki("client.pem"), pki("client-key.pem"));
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	struct seen s = { 0 };
	struct loop l;
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s", scope("tls"));
	put(e, p, "k", "over TLS");
	assert_ok(etcd_get(e, p, true, &kvs, &err), &err);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.v[0].value, "over TLS");
	etcd_kvs_done(&kvs);
	/* The watch, on its own connection, over TLS too. */
	loop_attach(e, &l);
	watch_live(e, &l, &s, p);
	seen_done(&s);
	etcd_close(e);
}

static void test_tls_wrong_ca_client_certificate(void **state)
{
	const char *cert = pki("other-client.pem"), *key = pki("other-client-key.pem");
	struct etcd *e = open_tls(pki("ca.pem"), cert, key);
	struct rv_err err = { 0 };
	struct seen s = { 0 };
	struct etcd_watch_cb cb = seen_cb(&s);
	struct loop l;

	(void)state;
	assert_int_equal(etcd_put(e, "/rvt/x", "v", 0, &err), -EACCES);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	print_message("    %s\n", err.msg);
	assert_contains(err.msg, "the client certificate");
	assert_contains(err.msg, cert);
	assert_contains(err.msg, key);
	assert_contains(err.msg, env("ETCD_ENDPOINTS"));
	/* The watch says the same, through ended(). */
	loop_attach(e, &l);
	assert_ok(etcd_watch(e, "/rvt/", 0, &cb, &err), &err);
	assert_true(pump(e, &l, 5000, has_ended, &s));
	assert_int_equal(s.reason, -EACCES);
	assert_contains(s.msg, "the client certificate");
	assert_contains(s.msg, cert);
	etcd_close(e);
}

static void test_tls_missing_client_certificate(void **state)
{
	struct etcd *e = open_tls(pki("ca.pem"), NULL, NULL);
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;

	(void)state;
	assert_int_equal(etcd_get(e, "/rvt/x", false, &kvs, &err), -EACCES);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	print_message("    %s\n", err.msg);
	assert_contains(err.msg, "without a certificate");
	assert_contains(err.msg, "give a certificate and key");
	assert_contains(err.msg, env("ETCD_ENDPOINTS"));
	etcd_close(e);
}

static void test_tls_server_not_verified(void **state)
{
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	struct etcd *e;

	(void)state;
	/* A CA file that did not sign etcd's certificate. */
	e = open_tls(pki("other-ca.pem"), pki("client.pem"), pki("client-key.pem"));
	assert_int_equal(etcd_get(e, "/rvt/x", false, &kvs, &err), -EACCES);
	print_message("    %s\n", err.msg);
	assert_contains(err.msg, "does not verify against the CA file");
	assert_contains(err.msg, pki("other-ca.pem"));
	assert_contains(err.msg, env("ETCD_ENDPOINTS"));
	etcd_close(e);
	/* No CA file: the system's CAs do not know the test CA. */
	e = open_tls(NULL, pki("client.pem"), pki("client-key.pem"));
	assert_int_equal(etcd_get(e, "/rvt/x", false, &kvs, &err), -EACCES);
	assert_contains(err.msg, "does not verify against the system's CAs");
	etcd_close(e);
}

static void test_tls_plain_http_to_tls_port(void **state)
{
	char url[512];
	struct rv_err err = { 0 };
	struct etcd_kvs kvs;
	struct etcd *e;

	(void)state;
	/* https://ADDR:2379 spoken as http:// */
	snprintf(url, sizeof(url), "http://%s", env("ETCD_ENDPOINTS") + strlen("https://"));
	e = open_with(url, 2000);
	assert_int_equal(etcd_get(e, "/rvt/x", false, &kvs, &err), -ECONNRESET);
	print_message("    %s\n", err.msg);
	assert_contains(err.msg, "without an answer (does etcd serve https:// there?)");
	etcd_close(e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_endpoint_list_syntax),
		cmocka_unit_test(test_put_get_prefix_in_key_order),
		cmocka_unit_test(test_delete_and_prefix_delete_counts),
		cmocka_unit_test(test_create_twice),
		cmocka_unit_test(test_txn_both_branches_and_gets),
		cmocka_unit_test(test_racing_creates_one_wins),
		cmocka_unit_test(test_lease_grant_keepalive_ttl),
		cmocka_unit_test(test_lease_expires),
		cmocka_unit_test(test_lease_revoke),
		cmocka_unit_test(test_watch_in_order_from_revision),
		cmocka_unit_test(test_watch_burst),
		cmocka_unit_test(test_watch_from_compacted_revision_is_stale),
		cmocka_unit_test(test_watch_stopped_from_callback),
		cmocka_unit_test(test_first_endpoint_refuses),
		cmocka_unit_test(test_silent_endpoint_is_bounded),
		cmocka_unit_test(test_unreachable_names_every_endpoint),
	};
	const struct CMUnitTest killed[] = { cmocka_unit_test(test_watch_ends_when_etcd_dies) };
	const struct CMUnitTest cut[] = { cmocka_unit_test(test_watch_ends_when_network_dies) };
	const struct CMUnitTest outage_put[] = { cmocka_unit_test(test_outage_put) };
	const struct CMUnitTest outage_down[] = { cmocka_unit_test(test_outage_down) };
	const struct CMUnitTest outage_back[] = { cmocka_unit_test(test_outage_back) };
	const struct CMUnitTest tls[] = {
		cmocka_unit_test(test_tls_with_client_certificate),
		cmocka_unit_test(test_tls_wrong_ca_client_certificate),
		cmocka_unit_test(test_tls_missing_client_certificate),
		cmocka_unit_test(test_tls_server_not_verified),
		cmocka_unit_test(test_tls_plain_http_to_tls_port),
	};
	const char *group = argc > 1 ? argv[1] : "";

	/* A child of the racing test must not write into a closed pipe's
	 * reader and die of it; and the cut test's system() wants SIGCHLD. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	if (!strcmp(group, "plain"))
		return cmocka_run_group_tests_name("etcd plain", plain, NULL, NULL);
	if (!strcmp(group, "killed"))
		return cmocka_run_group_tests_name("etcd killed", killed, NULL, NULL);
	if (!strcmp(group, "cut"))
		return cmocka_run_group_tests_name("etcd cut", cut, NULL, NULL);
	if (!strcmp(group, "outage-put"))
		return cmocka_run_group_tests_name("etcd outage", outage_put, NULL, NULL);
	if (!strcmp(group, "outage-down"))
		return cmocka_run_group_tests_name("etcd outage", outage_down, NULL, NULL);
	if (!strcmp(group, "outage-back"))
		return cmocka_run_group_tests_name("etcd outage", outage_back, NULL, NULL);
	if (!strcmp(group, "tls"))
		return cmocka_run_group_tests_name("etcd tls", tls, NULL, NULL);
	fprintf(stderr, "usage: %s plain|killed|cut|outage-put|outage-down|outage-back|tls "
		"[filter]\n", argv[0]);
	return 2;
}

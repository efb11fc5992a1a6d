// SPDX-License-Identifier: Apache-2.0
/*
 * ipam/hostlocal: host-local's allocation policy over the store, in a fresh
 * mkdtemp data directory per test.
 *
 * Proves round-robin order (after last_reserved_ip, including one left by
 * host-local, wrapping, never reusing a just-freed address early, skipping
 * addresses host-local holds), one address per range set with the range's
 * prefix length and gateway, requested addresses (inside a range: taken with
 * the range's mask; the gateway: refused; held by another: code 103 naming
 * the holder; held by the same attachment: kept; outside every range:
 * refused with nothing left behind), exhaustion with code 102 and
 * host-local's own text "no IP addresses available in range set:
 * <start>-<end>", a failed later set undoing the earlier sets, a repeated
 * ADD getting its address back marked kept, undo releasing only what was
 * not kept, DEL (idempotent, host-local's files, a missing store), find,
 * holds, GC (the valid list, old-format files kept while their container is
 * valid, an empty list releasing everything) and STATUS (code 50 naming the
 * exhausted set with counts).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <sys/syscall.h>

#include "ipam/hostlocal.h"
#include "ipam/range.h"
#include "ipam/store.h"
#include "util/log.h"

/* linkat(2) as the store sees it; while @vanish names a file, a link that
 * finds it taken also removes it, as another process releasing the address
 * right then would (a person with rm: every writer of the store locks). */
static const char *vanish;

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	int r = (int)syscall(SYS_linkat, olddirfd, oldpath, newdirfd, newpath, flags);

	if (r < 0 && errno == EEXIST && vanish && !strcmp(newpath, vanish)) {
		unlinkat(newdirfd, newpath, 0);
		vanish = NULL;
		errno = EEXIST;
	}
	return r;
}

#define NET "net1"

struct fx {
	char *dir;
	char net[512];
	struct ipam_conf conf;
	struct ipam_rangeset sets[4];
	struct ipam_range ranges[8];
	struct rv_prefix req[80];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	snprintf(f->net, sizeof(f->net), "%s/" NET, f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static struct rv_ip ip(const char *s)
{
	struct rv_ip out = { 0 };

	if (s && ip_parse(s, &out) != 0)
		fail_msg("bad ip %s", s);
	return out;
}

/* Configure @n sets, one range each: "subnet[,start,end]". */
static void conf_sets(struct fx *f, size_t n, const char *const *specs)
{
	struct rv_err err = { 0 };
	size_t k = 0;

	memset(&f->conf, 0, sizeof(f->conf));
	memset(f->ranges, 0, sizeof(f->ranges));
	for (size_t i = 0; i < n; i++) {
		char buf[128], *start, *end;

		snprintf(buf, sizeof(buf), "%s", specs[i]);
		start = strchr(buf, ',');
		end = NULL;
		if (start) {
			*start++ = '\0';
			end = strchr(start, ',');
			if (end)
				*end++ = '\0';
		}
		assert_int_equal(prefix_parse(buf, &f->ranges[k].subnet), 0);
		f->ranges[k].start = ip(start);
		f->ranges[k].end = ip(end);
		f->sets[i].r = &f->ranges[k++];
		f->sets[i].n = 1;
	}
	f->conf.type = (char *)"host-local";
	f->conf.sets = f->sets;
	f->conf.n_sets = n;
	f->conf.data_dir = f->dir;
	f->conf.reclaim_after_reboot = true;
	if (ipam_ranges_canonicalize(&f->conf, false, &err) != 0)
		fail_msg("canonicalize: %s", err.msg);
}

static void conf1(struct fx *f, const char *spec)
{
	conf_sets(f, 1, &spec);
}

static void request(struct fx *f, const char *addr)
{
	assert_int_equal(prefix_parse_loose(addr, &f->req[f->conf.n_requested]), 0);
	f->conf.requested = f->req;
	f->conf.n_requested++;
}

static struct ipam_req req(struct fx *f, const char *id, const char *ifname)
{
	struct ipam_req r = {
		.conf = &f->conf, .network = NET, .container_id = id, .ifname = ifname,
		.lock_timeout_ms = 2000,
	};

	return r;
}

static int add(struct fx *f, const char *id, struct ipam_lease *l, struct rv_err *err)
{
	struct ipam_req r = req(f, id, "eth0");

	err_clear(err);
	return hostlocal_add(&r, l, err);
}

/* ADD that must succeed; returns the first lease's address as text. */
static const char *add_ok(struct fx *f, const char *id, struct ipam_lease *l)
{
	static char buf[IP_STRLEN];
	struct rv_err err;

	if (add(f, id, l, &err) != 0)
		fail_msg("ADD %s: %s", id, err.msg);
	return ip_fmt(&l[0].addr.ip, buf);
}

static void assert_lease(const struct ipam_lease *l, const char *addr, unsigned len, const char *gw,
			 unsigned set, bool kept)
{
	char a[IP_STRLEN], g[IP_STRLEN];

	ip_fmt(&l->addr.ip, a);
	ip_fmt(&l->gateway, g);
	if (strcmp(a, addr) || l->addr.len != len || strcmp(g, gw) || l->set != set || l->kept != kept)
		fail_msg("lease %s/%u gw %s set %u kept %d, want %s/%u gw %s set %u kept %d",
			 a, l->addr.len, g, l->set, l->kept, addr, len, gw, set, kept);
}

static char *file(struct fx *f, const char *name)
{
	return tu_readf("%s/%s", f->net, name);
}

static void assert_file(struct fx *f, const char *name, const char *want)
{
	char *got = file(f, name);

	if (!got)
		fail_msg("%s is missing, want \"%s\"", name, want);
	if (strcmp(got, want))
		fail_msg("%s holds \"%s\", want \"%s\"", name, got, want);
	free(got);
}

static void assert_no_file(struct fx *f, const char *name)
{
	char p[700];

	if (tu_exists(tu_path(p, sizeof(p), "%s/%s", f->net, name)))
		fail_msg("%s should not exist", name);
}

static void plant(struct fx *f, const char *name, const char *content)
{
	char p[700];

	mkdir(f->net, 0755);
	tu_write(tu_path(p, sizeof(p), "%s/%s", f->net, name), content);
}

/* How many reservation files (names that parse as addresses) exist. */
static size_t count_reservations(struct fx *f)
{
	struct dirent *de;
	struct rv_ip a;
	size_t n = 0;
	DIR *d = opendir(f->net);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (ip_parse(de->d_name, &a) == 0)
			n++;
	closedir(d);
	return n;
}

static bool has_ip(const struct rv_ip *v, size_t n, const char *want)
{
	struct rv_ip w = ip(want);

	for (size_t i = 0; i < n; i++)
		if (ip_eq(&v[i], &w))
			return true;
	return false;
}

/* ---- allocation order ------------------------------------------------------ */

static void test_round_robin(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;
	struct ipam_req r;
	size_t n;

	conf1(f, "10.0.0.0/29");	/* .1 gateway, .2-.6 usable */
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.2");
	assert_lease(&l[0], "10.0.0.2", 29, "10.0.0.1", 0, false);
	assert_string_equal(add_ok(f, "c2", l), "10.0.0.3");
	r = req(f, "c1", "eth0");
	assert_int_equal(hostlocal_del(&r, NULL, 0, &n, &err), 0);
	assert_int_equal(n, 1);
	/* Round robin: the address c1 just gave back is not next. */
	assert_string_equal(add_ok(f, "c3", l), "10.0.0.4");
	assert_string_equal(add_ok(f, "c4", l), "10.0.0.5");
	assert_string_equal(add_ok(f, "c5", l), "10.0.0.6");
	/* Wraps past the gateway to the freed .2. */
	assert_string_equal(add_ok(f, "c6", l), "10.0.0.2");
	assert_file(f, "10.0.0.2", "c6\r\neth0");
	assert_file(f, "last_reserved_ip.0", "10.0.0.2");
	assert_int_equal(add(f, "c7", l, &err), -ENOSPC);
	assert_err(err, RIVET_ERR_RANGE_EXHAUSTED, "no IP addresses available in range set");
}

static void test_follows_host_local_state(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];

	conf1(f, "10.0.0.0/24");
	/* host-local's last_reserved_ip and its reservations are honoured. */
	plant(f, "last_reserved_ip.0", "10.0.0.4");
	plant(f, "10.0.0.5", "hl1\r\neth0");
	plant(f, "10.0.0.6", "hl2");
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.7");
	assert_file(f, "10.0.0.5", "hl1\r\neth0");
	assert_file(f, "10.0.0.6", "hl2");
	assert_file(f, "last_reserved_ip.0", "10.0.0.7");
}

static void test_one_address_per_set(void **state)
{
	static const char *const sets[] = { "10.0.0.0/24", "fd00::/64", "10.1.0.0/16,10.1.5.10,10.1.5.20" };
	struct fx *f = *state;
	struct ipam_lease l[3];

	conf_sets(f, 3, sets);
	add_ok(f, "c1", l);
	/* Each with its range's prefix length, not /32: the interface plugin
	 * rewrites the mask if it wants to. */
	assert_lease(&l[0], "10.0.0.2", 24, "10.0.0.1", 0, false);
	assert_lease(&l[1], "fd00::2", 64, "fd00::1", 1, false);
	assert_lease(&l[2], "10.1.5.10", 16, "10.1.0.1", 2, false);
	assert_file(f, "10.0.0.2", "c1\r\neth0");
	assert_file(f, "fd00::2", "c1\r\neth0");
	assert_file(f, "last_reserved_ip.0", "10.0.0.2");
	assert_file(f, "last_reserved_ip.1", "fd00::2");
	assert_file(f, "last_reserved_ip.2", "10.1.5.10");
}

/* ---- requested addresses --------------------------------------------------- */

static void test_requested_in_range(void **state)
{
	static const char *const sets[] = { "10.0.0.0/29", "fd00::/64" };
	struct fx *f = *state;
	struct ipam_lease l[2];

	conf_sets(f, 2, sets);
	request(f, "fd00::99/128");
	request(f, "10.0.0.5/32");
	add_ok(f, "c1", l);
	/* Each set takes the requested address that falls in it, with the
	 * range's prefix length whatever length was asked. */
	assert_lease(&l[0], "10.0.0.5", 29, "10.0.0.1", 0, false);
	assert_lease(&l[1], "fd00::99", 64, "fd00::1", 1, false);
	assert_file(f, "10.0.0.5", "c1\r\neth0");
	assert_file(f, "last_reserved_ip.0", "10.0.0.5");
}

static void test_requested_gateway(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;

	conf1(f, "10.0.0.0/29");
	request(f, "10.0.0.1");
	assert_true(add(f, "c1", l, &err) < 0);
	assert_err(err, CNI_ERR_CONFIG, "failed to allocate for range 0: ");
	assert_contains(err.msg, "requested IP 10.0.0.1 is the gateway");
	assert_int_equal(count_reservations(f), 0);
}

static void test_requested_taken(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;

	conf1(f, "10.0.0.0/29");
	add_ok(f, "c1", l);
	request(f, "10.0.0.2");
	assert_true(add(f, "c2", l, &err) < 0);
	assert_err(err, RIVET_ERR_ADDR_TAKEN, "failed to allocate for range 0: requested IP address 10.0.0.2 "
		   "is not available in range set 10.0.0.1-10.0.0.6: it is held by container c1, interface eth0 since ");
	assert_file(f, "10.0.0.2", "c1\r\neth0");
	/* An old ID-only holder is named without an interface. */
	plant(f, "10.0.0.3", "c9");
	f->conf.n_requested = 0;
	request(f, "10.0.0.3");
	assert_true(add(f, "c2", l, &err) < 0);
	assert_err(err, RIVET_ERR_ADDR_TAKEN, "it is held by container c9 since ");
	assert_int_equal(count_reservations(f), 2);
}

/* The requested address was taken when rivet tried it, and free when it
 * then read who held it: it is tried again, and not reported as held by
 * an owner that was never read. */
static void test_requested_released_meanwhile(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err = { 0 };
	char a[IP_STRLEN];

	conf1(f, "10.0.0.0/29");
	add_ok(f, "c1", l);
	request(f, "10.0.0.2");
	vanish = "10.0.0.2";
	if (add(f, "c2", l, &err) != 0)
		fail_msg("ADD failed: %u %s", err.code, err.msg);
	vanish = NULL;
	assert_string_equal(ip_fmt(&l[0].addr.ip, a), "10.0.0.2");
	assert_file(f, "10.0.0.2", "c2\r\neth0");
}

static void test_requested_held_by_same(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];

	conf1(f, "10.0.0.0/29");
	request(f, "10.0.0.4");
	add_ok(f, "c1", l);
	assert_lease(&l[0], "10.0.0.4", 29, "10.0.0.1", 0, false);
	/* A retried ADD asking for the address it already holds. */
	add_ok(f, "c1", l);
	assert_lease(&l[0], "10.0.0.4", 29, "10.0.0.1", 0, true);
	assert_int_equal(count_reservations(f), 1);
}

static void test_requested_outside_every_range(void **state)
{
	static const char *const cases[] = { "192.168.0.1", "10.0.0.7", "fd00::1" };
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[160];

		/* .7 is inside the subnet but past rangeEnd (.6). */
		conf1(f, "10.0.0.0/29");
		request(f, cases[i]);
		assert_true(add(f, "c1", l, &err) < 0);
		snprintf(want, sizeof(want),
			 "failed to allocate all requested IPs: %s is not inside any range of network " NET,
			 cases[i]);
		assert_err(err, CNI_ERR_CONFIG, want);
		/* The set's address, reserved before the check, is given back. */
		assert_int_equal(count_reservations(f), 0);
	}
}

static void test_too_many_requested(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;

	conf1(f, "10.0.0.0/24");
	for (int i = 0; i < 65; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.0.%d", i + 2);
		request(f, a);
	}
	assert_true(add(f, "c1", l, &err) < 0);
	assert_err(err, CNI_ERR_CONFIG, "too many requested IP addresses (65)");
	assert_int_equal(count_reservations(f), 0);
}

/* ---- exhaustion -------------------------------------------------------------- */

static void test_exhausted(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;

	conf1(f, "10.0.0.0/30");	/* .1 gateway, .2 the only address */
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.2");
	assert_int_equal(add(f, "c2", l, &err), -ENOSPC);
	/* host-local's exact words, which operators grep logs for. */
	assert_err(err, RIVET_ERR_RANGE_EXHAUSTED,
		   "failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.2");
	assert_int_equal(count_reservations(f), 1);
}

static void test_exhausted_multi_range_text(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;

	conf1(f, "10.0.0.0/30");
	/* Two ranges in one set: the message lists both. */
	assert_int_equal(prefix_parse("10.0.1.0/30", &f->ranges[1].subnet), 0);
	f->sets[0].n = 2;
	{
		struct rv_err e2 = { 0 };

		f->ranges[0].start = f->ranges[0].end = f->ranges[0].gateway = (struct rv_ip){ 0 };
		f->ranges[1].start = f->ranges[1].end = f->ranges[1].gateway = (struct rv_ip){ 0 };
		assert_int_equal(ipam_ranges_canonicalize(&f->conf, false, &e2), 0);
	}
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.2");
	assert_string_equal(add_ok(f, "c2", l), "10.0.1.2");
	assert_int_equal(add(f, "c3", l, &err), -ENOSPC);
	assert_err(err, RIVET_ERR_RANGE_EXHAUSTED,
		   "no IP addresses available in range set: 10.0.0.1-10.0.0.2,10.0.1.1-10.0.1.2");
}

static void test_later_set_failure_undoes_earlier(void **state)
{
	static const char *const sets[] = { "10.0.0.0/24", "fd00::/126" };	/* v6: ::2 ::3 */
	struct fx *f = *state;
	struct ipam_lease l[2];
	struct rv_err err;

	conf_sets(f, 2, sets);
	add_ok(f, "c1", l);
	add_ok(f, "c2", l);
	assert_int_equal(add(f, "c3", l, &err), -ENOSPC);
	assert_err(err, RIVET_ERR_RANGE_EXHAUSTED, "failed to allocate for range 1: no IP addresses available "
		   "in range set: fd00::1-fd00::3");
	/* c3's IPv4 address from set 0 is not left behind. */
	assert_no_file(f, "10.0.0.4");
	assert_int_equal(count_reservations(f), 4);
}

/* ---- repeated ADD, undo ------------------------------------------------------ */

static void test_second_add_reuses(void **state)
{
	static const char *const sets[] = { "10.0.0.0/24", "fd00::/64" };
	struct fx *f = *state;
	struct ipam_lease l[2];

	conf_sets(f, 2, sets);
	add_ok(f, "c1", l);
	assert_lease(&l[0], "10.0.0.2", 24, "10.0.0.1", 0, false);
	/* A runtime retrying a killed ADD: same addresses, marked kept so a
	 * failure of this ADD does not take them away. */
	add_ok(f, "c1", l);
	assert_lease(&l[0], "10.0.0.2", 24, "10.0.0.1", 0, true);
	assert_lease(&l[1], "fd00::2", 64, "fd00::1", 1, true);
	assert_int_equal(count_reservations(f), 2);
	/* Another interface of the same container is another attachment. */
	{
		struct ipam_req r = req(f, "c1", "net1");
		struct rv_err err = { 0 };

		assert_int_equal(hostlocal_add(&r, l, &err), 0);
		assert_lease(&l[0], "10.0.0.3", 24, "10.0.0.1", 0, false);
		assert_file(f, "10.0.0.3", "c1\r\nnet1");
	}
}

static void test_undo_releases_only_new(void **state)
{
	static const char *const both[] = { "10.0.0.0/24", "fd00::/64" };
	struct fx *f = *state;
	struct ipam_lease l[2];
	struct ipam_req r;

	conf1(f, "10.0.0.0/24");
	add_ok(f, "c1", l);
	/* The config grows a second set; the retried ADD keeps set 0's
	 * address and gets a new one in set 1. */
	conf_sets(f, 2, both);
	add_ok(f, "c1", l);
	assert_lease(&l[0], "10.0.0.2", 24, "10.0.0.1", 0, true);
	assert_lease(&l[1], "fd00::2", 64, "fd00::1", 1, false);
	r = req(f, "c1", "eth0");
	hostlocal_undo(&r, l, 2);
	assert_file(f, "10.0.0.2", "c1\r\neth0");
	assert_no_file(f, "fd00::2");

	/* A plain new ADD undone: nothing left. */
	add_ok(f, "c2", l);
	r = req(f, "c2", "eth0");
	hostlocal_undo(&r, l, 2);
	assert_int_equal(count_reservations(f), 1);
}

static void test_undo_never_releases_others(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1], stolen[1];
	struct ipam_req r;

	conf1(f, "10.0.0.0/24");
	add_ok(f, "c1", l);
	/* A lease naming an address c2 does not hold (a bug elsewhere, or a
	 * DEL+ADD in between) must not release c1's. */
	stolen[0] = l[0];
	r = req(f, "c2", "eth0");
	hostlocal_undo(&r, stolen, 1);
	assert_file(f, "10.0.0.2", "c1\r\neth0");
}

static void test_retry_after_config_change(void **state)
{
	static const char *const v4v6[] = { "10.0.0.0/24", "fd00::/64" };
	static const char *const v6v4[] = { "fd00::/64", "10.0.0.0/24" };
	struct fx *f = *state;
	struct ipam_lease l[2];

	conf_sets(f, 2, v4v6);
	add_ok(f, "c1", l);
	/* The operator lists IPv6 first now; the runtime retries the ADD. */
	conf_sets(f, 2, v6v4);
	add_ok(f, "c1", l);
	assert_int_equal(l[0].addr.ip.family, AF_INET6);
	assert_int_equal(l[0].gateway.family, AF_INET6);
	assert_int_equal(l[1].addr.ip.family, AF_INET);
	/* And after the subnet itself moved. */
	conf1(f, "10.9.0.0/24");
	add_ok(f, "c2", l);
	conf1(f, "10.8.0.0/24");
	add_ok(f, "c2", l);
	assert_lease(&l[0], "10.8.0.2", 24, "10.8.0.1", 0, false);
}

/* ---- DEL, find, holds ---------------------------------------------------------- */

static void test_del(void **state)
{
	static const char *const sets[] = { "10.0.0.0/24", "fd00::/64" };
	struct fx *f = *state;
	struct ipam_lease l[2];
	struct rv_ip out[4];
	struct rv_err err = { 0 };
	struct ipam_req r;
	size_t n = 99;

	conf_sets(f, 2, sets);
	add_ok(f, "c1", l);
	add_ok(f, "c2", l);
	r = req(f, "c1", "eth0");
	assert_int_equal(hostlocal_del(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(has_ip(out, n, "10.0.0.2"));
	assert_true(has_ip(out, n, "fd00::2"));
	assert_no_file(f, "10.0.0.2");
	assert_no_file(f, "fd00::2");
	assert_file(f, "10.0.0.3", "c2\r\neth0");
	/* Again: success, nothing released. */
	assert_int_equal(hostlocal_del(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(err.code, 0);
}

static void test_del_missing_store(void **state)
{
	struct fx *f = *state;
	struct rv_err err = { 0 };
	struct ipam_req r;
	size_t n = 99;

	conf1(f, "10.0.0.0/24");
	r = req(f, "c1", "eth0");
	assert_int_equal(hostlocal_del(&r, NULL, 0, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(err.code, 0);
	/* DEL does not create the store. */
	assert_false(tu_exists(f->net));
}

static void test_del_host_local_files(void **state)
{
	struct fx *f = *state;
	struct rv_ip out[4];
	struct rv_err err = { 0 };
	struct ipam_req r;
	size_t n;

	conf1(f, "10.0.0.0/24");
	plant(f, "10.0.0.4", "c9\r\neth0");
	plant(f, "10.0.0.5", "c8");
	r = req(f, "c9", "eth0");
	assert_int_equal(hostlocal_del(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(has_ip(out, n, "10.0.0.4"));
	/* The old format: released by container ID, whatever the ifname. */
	r = req(f, "c8", "eth0");
	assert_int_equal(hostlocal_del(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(has_ip(out, n, "10.0.0.5"));
	assert_int_equal(count_reservations(f), 0);
}

static void test_del_releases_every_hold(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err = { 0 };
	struct rv_ip out[4];
	struct ipam_req r;
	size_t n;

	conf1(f, "10.0.0.0/24");
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.2");
	request(f, "10.0.0.9");
	add_ok(f, "c1", l);
	assert_lease(&l[0], "10.0.0.9", 24, "10.0.0.1", 0, false);
	/* host-local's DEL reads every file and releases both. */
	r = req(f, "c1", "eth0");
	assert_int_equal(hostlocal_del(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_reservations(f), 0);
}

static void test_del_after_sets_removed(void **state)
{
	static const char *const both[] = { "10.0.0.0/24", "fd00::/64" };
	struct fx *f = *state;
	struct ipam_lease l[2];
	struct rv_err err = { 0 };
	struct rv_ip out[4];
	struct ipam_req r;
	size_t n;

	conf_sets(f, 2, both);
	add_ok(f, "c1", l);
	conf1(f, "10.0.0.0/24");
	r = req(f, "c1", "eth0");
	assert_int_equal(hostlocal_del(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_reservations(f), 0);
}

static void test_find(void **state)
{
	static const char *const sets[] = { "10.0.0.0/24", "fd00::/64" };
	struct fx *f = *state;
	struct ipam_lease l[2];
	struct rv_err err = { 0 };
	struct rv_ip out[4];
	struct ipam_req r;
	size_t n = 99;

	r = req(f, "c1", "eth0");
	conf_sets(f, 2, sets);
	/* No store yet: nothing held, and nothing created. */
	assert_int_equal(hostlocal_find(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_false(tu_exists(f->net));

	add_ok(f, "c1", l);
	add_ok(f, "c2", l);
	assert_int_equal(hostlocal_find(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(has_ip(out, n, "10.0.0.2"));
	assert_true(has_ip(out, n, "fd00::2"));
	/* Found without changing anything. */
	assert_int_equal(count_reservations(f), 4);

	/* host-local's reservation, found by reading the files. */
	plant(f, "10.0.0.77", "c9\r\neth0");
	r = req(f, "c9", "eth0");
	assert_int_equal(hostlocal_find(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(has_ip(out, n, "10.0.0.77"));
	r = req(f, "c9", "eth1");
	assert_int_equal(hostlocal_find(&r, out, 4, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_holds(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err = { 0 };
	struct ipam_req r;
	struct rv_ip a = ip("10.0.0.2"), b = ip("10.0.0.3"), old = ip("10.0.0.5");

	conf1(f, "10.0.0.0/24");
	r = req(f, "c1", "eth0");
	assert_true(hostlocal_holds(&r, &a, &err) < 0);
	assert_err(err, RIVET_ERR_CHECK, "IP 10.0.0.2 is not reserved: the store of network net1 does not exist");

	add_ok(f, "c1", l);
	err_clear(&err);
	assert_int_equal(hostlocal_holds(&r, &a, &err), 0);
	assert_int_equal(err.code, 0);
	assert_true(hostlocal_holds(&r, &b, &err) < 0);
	assert_err(err, RIVET_ERR_CHECK, "IP 10.0.0.3 is not reserved in network net1");
	r = req(f, "c2", "eth0");
	assert_true(hostlocal_holds(&r, &a, &err) < 0);
	assert_err(err, RIVET_ERR_CHECK,
		   "IP 10.0.0.2 is reserved for container c1, interface eth0 since ");
	assert_contains(err.msg, "not for this attachment");
	r = req(f, "c1", "eth1");
	assert_true(hostlocal_holds(&r, &a, &err) < 0);
	/* host-local's old file: the container holds it on any interface. */
	plant(f, "10.0.0.5", "c5");
	r = req(f, "c5", "eth3");
	err_clear(&err);
	assert_int_equal(hostlocal_holds(&r, &old, &err), 0);
}

/* ---- GC -------------------------------------------------------------------- */

static void test_gc(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err = { 0 };
	struct rv_ip out[8];
	struct ipam_req r;
	size_t n = 99;
	struct attachment valid[] = {
		{ (char *)"c1", (char *)"eth0" },
		{ (char *)"c4", (char *)"eth9" },	/* an old-format holder */
		{ (char *)"c3", (char *)"eth0" },
	};
	char p[700];

	conf1(f, "10.0.0.0/24");
	add_ok(f, "c1", l);					/* .2 */
	add_ok(f, "c2", l);					/* .3 */
	{
		struct ipam_req r3 = req(f, "c3", "eth1");

		assert_int_equal(hostlocal_add(&r3, l, &err), 0);	/* .4 */
	}
	plant(f, "10.0.0.50", "c4");
	plant(f, "10.0.0.51", "c5");
	plant(f, "10.0.0.52", "c6\r\neth0");

	r = req(f, NULL, NULL);
	assert_int_equal(hostlocal_gc(&r, valid, 3, out, 8, &n, &err), 0);
	/* c2 and c6 are unknown, c3 is valid only on eth0, c5 is an old
	 * file of an unknown container. */
	assert_int_equal(n, 4);
	assert_true(has_ip(out, n, "10.0.0.3"));
	assert_true(has_ip(out, n, "10.0.0.4"));
	assert_true(has_ip(out, n, "10.0.0.51"));
	assert_true(has_ip(out, n, "10.0.0.52"));
	assert_file(f, "10.0.0.2", "c1\r\neth0");
	assert_file(f, "10.0.0.50", "c4");
	assert_int_equal(count_reservations(f), 2);
	/* The released attachments' index entries are pruned. */
	r = req(f, "c2", "eth0");
	{
		char names[512];
		struct dirent **e;
		char *boot = tu_read("/proc/sys/kernel/random/boot_id", NULL);
		int k;

		boot[strcspn(boot, "\n")] = '\0';
		tu_path(p, sizeof(p), "%s/.rivet/boot-%s", f->net, boot);
		free(boot);
		k = scandir(p, &e, NULL, alphasort);
		assert_true(k >= 0);
		names[0] = '\0';
		for (int i = 0; i < k; i++) {
			if (e[i]->d_name[0] != '.') {
				strcat(names, e[i]->d_name);
				strcat(names, " ");
			}
			free(e[i]);
		}
		free(e);
		assert_string_equal(names, "c1:eth0:0 ");
	}

	/* An empty list: nothing is valid, everything goes. */
	r = req(f, NULL, NULL);
	assert_int_equal(hostlocal_gc(&r, NULL, 0, out, 8, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_reservations(f), 0);
	assert_file(f, "last_reserved_ip.0", "10.0.0.4");
}

static void test_gc_missing_store(void **state)
{
	struct fx *f = *state;
	struct rv_err err = { 0 };
	struct ipam_req r;
	size_t n = 99;

	conf1(f, "10.0.0.0/24");
	r = req(f, NULL, NULL);
	assert_int_equal(hostlocal_gc(&r, NULL, 0, NULL, 0, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_false(tu_exists(f->net));
}

static void test_gc_counts_past_max(void **state)
{
	struct fx *f = *state;
	struct rv_err err = { 0 };
	struct rv_ip out[1];
	struct ipam_req r;
	size_t n;

	conf1(f, "10.0.0.0/24");
	plant(f, "10.0.0.10", "a\r\neth0");
	plant(f, "10.0.0.11", "b\r\neth0");
	plant(f, "10.0.0.12", "c\r\neth0");
	r = req(f, NULL, NULL);
	assert_int_equal(hostlocal_gc(&r, NULL, 0, out, 1, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(count_reservations(f), 0);
}

/* ---- STATUS ---------------------------------------------------------------- */

static void test_status(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err = { 0 };
	struct ipam_req r;

	conf1(f, "10.0.0.0/30");	/* capacity 1 */
	r = req(f, NULL, NULL);
	assert_int_equal(hostlocal_status(&r, &err), 0);
	assert_int_equal(err.code, 0);
	add_ok(f, "c1", l);
	assert_true(hostlocal_status(&r, &err) < 0);
	assert_err(err, CNI_ERR_NOT_AVAILABLE,
		   "range set 0 (10.0.0.1-10.0.0.2) is exhausted: 1 of 1 addresses reserved");
	assert_contains(err.details, "1 reservations in network net1");
}

static void test_status_names_the_set(void **state)
{
	static const char *const sets[] = { "10.0.0.0/24", "fd00::/126" };
	struct fx *f = *state;
	struct ipam_lease l[2];
	struct rv_err err = { 0 };
	struct ipam_req r;

	conf_sets(f, 2, sets);
	r = req(f, NULL, NULL);
	add_ok(f, "c1", l);
	assert_int_equal(hostlocal_status(&r, &err), 0);
	add_ok(f, "c2", l);
	assert_true(hostlocal_status(&r, &err) < 0);
	assert_err(err, CNI_ERR_NOT_AVAILABLE, "range set 1 (fd00::1-fd00::3) is exhausted: 2 of 2 addresses reserved");
	assert_contains(err.details, "4 reservations in network net1");
}

static void test_status_store_unusable(void **state)
{
	struct fx *f = *state;
	struct rv_err err = { 0 };
	struct ipam_req r;
	char p[700];

	conf1(f, "10.0.0.0/24");
	/* dataDir is a file: ADD could not work, so STATUS says 50. */
	tu_write(tu_path(p, sizeof(p), "%s/file", f->dir), "x");
	f->conf.data_dir = p;
	r = req(f, NULL, NULL);
	assert_true(hostlocal_status(&r, &err) < 0);
	assert_err(err, CNI_ERR_NOT_AVAILABLE, "is not a directory");
	f->conf.data_dir = f->dir;
}

/* ---- reclaim after reboot ---------------------------------------------------- */

/* Leave a reservation as an earlier boot's rivet left it: the file and its
 * index entry (symlink form) under another boot ID. */
static void plant_earlier_boot(struct fx *f, const char *addr, const char *id)
{
	char *boot = tu_read("/proc/sys/kernel/random/boot_id", NULL), p[700], q[700], content[64];

	assert_non_null(boot);
	boot[strcspn(boot, "\n")] = '\0';
	boot[0] = boot[0] == '0' ? '1' : '0';
	mkdir(f->net, 0755);
	mkdir(tu_path(p, sizeof(p), "%s/.rivet", f->net), 0700);
	mkdir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", f->net, boot), 0700);
	snprintf(content, sizeof(content), "%s\r\neth0", id);
	plant(f, addr, content);
	tu_path(q, sizeof(q), "../../%s", addr);
	assert_int_equal(symlink(q, tu_path(p, sizeof(p), "%s/.rivet/boot-%s/%s:eth0:0", f->net, boot, id)), 0);
	free(boot);
}

static void test_reclaim_follows_config(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];

	conf1(f, "10.0.0.0/24");
	/* reclaimAfterReboot: false keeps what an earlier boot reserved. */
	plant_earlier_boot(f, "10.0.0.2", "old");
	f->conf.reclaim_after_reboot = false;
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.3");
	assert_file(f, "10.0.0.2", "old\r\neth0");
	tu_rmtree(f->dir);
	f->dir = tu_mkdtemp();
	snprintf(f->net, sizeof(f->net), "%s/" NET, f->dir);
	conf1(f, "10.0.0.0/24");
	/* The default reclaims it on the boot's first lock, before
	 * allocating: the address is free for this ADD. */
	plant_earlier_boot(f, "10.0.0.2", "old");
	assert_string_equal(add_ok(f, "c1", l), "10.0.0.2");
	assert_file(f, "10.0.0.2", "c1\r\neth0");
}

/* ---- lock ------------------------------------------------------------------ */

static void test_add_lock_timeout(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;
	int ready[2], release[2], status;
	char b, p[700];
	pid_t pid;

	conf1(f, "10.0.0.0/24");
	assert_int_equal(mkdir(f->net, 0755), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(tu_path(p, sizeof(p), "%s/lock", f->net), O_RDONLY | O_CREAT, 0600);

		close(release[1]);
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)!read(release[0], &b, 1);
		_exit(0);
	}
	close(release[0]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	f->conf.n_requested = 0;
	{
		struct ipam_req r = req(f, "c1", "eth0");

		r.lock_timeout_ms = 200;
		err_clear(&err);
		assert_true(hostlocal_add(&r, l, &err) < 0);
	}
	close(release[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_err(err, CNI_ERR_TRY_AGAIN, "try again");
	assert_int_equal(count_reservations(f), 0);
	close(ready[0]);
	close(ready[1]);
}

static void test_parallel_adds_distinct(void **state)
{
	enum { N = 24 };
	struct fx *f = *state;
	char seen[N][IP_STRLEN];
	int p[2];

	conf1(f, "10.0.0.0/24");
	assert_int_equal(pipe(p), 0);
	/* Processes, as a runtime runs them: only the flock keeps them apart. */
	for (int i = 0; i < N; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct ipam_lease l[1];
			struct rv_err err = { 0 };
			char id[16], line[IP_STRLEN + 16];
			struct ipam_req r;
			int n;

			close(p[0]);
			snprintf(id, sizeof(id), "p%d", i);
			r = req(f, id, "eth0");
			r.lock_timeout_ms = 20000;
			if (hostlocal_add(&r, l, &err) != 0)
				_exit(2);
			n = snprintf(line, sizeof(line), "%-8s", id);
			ip_fmt(&l[0].addr.ip, line + n);
			/* One write of a fixed size: atomic on a pipe. */
			if (write(p[1], line, sizeof(line)) != (ssize_t)sizeof(line))
				_exit(3);
			_exit(0);
		}
	}
	close(p[1]);
	for (int i = 0; i < N; i++) {
		char line[IP_STRLEN + 16], want[IP_STRLEN + 24];

		assert_int_equal(read(p[0], line, sizeof(line)), (ssize_t)sizeof(line));
		line[sizeof(line) - 1] = '\0';
		memcpy(seen[i], line + 8, IP_STRLEN - 1);
		seen[i][IP_STRLEN - 1] = '\0';
		line[8] = '\0';
		*strchr(line, ' ') = '\0';
		tu_path(want, sizeof(want), "%s\r\neth0", line);
		assert_file(f, seen[i], want);
		for (int j = 0; j < i; j++)
			if (!strcmp(seen[i], seen[j]))
				fail_msg("%s handed out twice", seen[i]);
	}
	for (int i = 0; i < N; i++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(p[0]);
	assert_int_equal(count_reservations(f), N);
}

/* ---- write failures ---------------------------------------------------------- */

static void test_write_failure_is_not_taken(void **state)
{
	struct fx *f = *state;
	struct ipam_lease l[1];
	struct rv_err err;
	struct rlimit old, lim;
	void (*oldsig)(int);
	int r;

	conf1(f, "10.0.0.0/24");
	add_ok(f, "c0", l);	/* the store exists; only the write will fail */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = add(f, "c1", l, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	/* An I/O failure, said as one: not "taken" for every address and
	 * then "exhausted". */
	assert_true(r < 0);
	assert_err(err, CNI_ERR_IO, "cannot write a reservation");
	assert_int_equal(count_reservations(f), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_robin),
		T(test_follows_host_local_state),
		T(test_one_address_per_set),
		T(test_requested_in_range),
		T(test_requested_gateway),
		T(test_requested_taken),
		T(test_requested_released_meanwhile),
		T(test_requested_held_by_same),
		T(test_requested_outside_every_range),
		T(test_too_many_requested),
		T(test_exhausted),
		T(test_exhausted_multi_range_text),
		T(test_later_set_failure_undoes_earlier),
		T(test_second_add_reuses),
		T(test_undo_releases_only_new),
		T(test_undo_never_releases_others),
		T(test_retry_after_config_change),
		T(test_del),
		T(test_del_missing_store),
		T(test_del_host_local_files),
		T(test_del_releases_every_hold),
		T(test_del_after_sets_removed),
		T(test_find),
		T(test_holds),
		T(test_gc),
		T(test_gc_missing_store),
		T(test_gc_counts_past_max),
		T(test_status),
		T(test_status_names_the_set),
		T(test_status_store_unusable),
		T(test_reclaim_follows_config),
		T(test_add_lock_timeout),
		T(test_write_failure_is_not_taken),
		T(test_parallel_adds_distinct),
	};

	umask(022);
	/* The store warns on stderr about what it reclaims and releases;
	 * the tests check the files instead. */
	log_configure(NULL, RV_LOG_ERROR, 0);
	return cmocka_run_group_tests_name("ipam/hostlocal", tests, NULL, NULL);
}

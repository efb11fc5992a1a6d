// SPDX-License-Identifier: Apache-2.0
/*
 * Claiming, keeping and giving back a node's pod ranges (see alloc.h).
 *
 * The state directory holds one small file, "node", so that a node whose
 * lease ended while its agent was away (and whose pods therefore may still
 * hold addresses) asks for the same ranges again:
 *
 *   lease 7587869386937465907
 *   range 10.244.3.0/24
 *   range fd00:10:244:3::/64
 *
 * It is written to a temporary file and renamed, so it is whole or absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/alloc.h"
#include "util/fs.h"

#define STATE_FILE "node"
#define CLAIM_ATTEMPTS 10

struct state {
	int64_t lease;
	struct rv_prefix ranges[2];
	size_t n;
};

static void read_state(const char *dir, struct state *st)
{
	char path[4096], line[256];
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ' ');

		if (!v)
			continue;
		*v++ = '\0';
		v[strcspn(v, "\n")] = '\0';
		if (!strcmp(line, "lease"))
			st->lease = strtoll(v, NULL, 10);
		else if (!strcmp(line, "range") && st->n < 2 && prefix_parse(v, &st->ranges[st->n]) == 0)
			st->n++;
	}
	fclose(f);
}

static int write_state(const char *dir, const struct alloc *a, struct rv_err *err)
{
	char path[4096], tmp[4096], text[512], buf[IP_STRLEN];
	size_t len;
	int fd, r;

	len = (size_t)snprintf(text, sizeof(text),
			       "# rivetd: this node's pod ranges and the lease they are held on.\n"
			       "lease %" PRId64 "\n", a->lease);
	for (size_t i = 0; i < a->n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "range %s\n",
					prefix_fmt(&a->ranges[i], buf));
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, STATE_FILE);
	if ((r = fs_mkdir_p(dir, 0700)) < 0)
		return err_set(err, CNI_ERR_IO, -r, "cannot create the state directory %s: %s", dir, strerror(-r));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(err, CNI_ERR_IO, errno, "cannot write %s: %s", tmp, strerror(errno));
	/* A short write to a full disk sets no errno: say EIO. */
	errno = 0;
	r = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -(errno ? errno : EIO);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return err_set(err, CNI_ERR_IO, -r, "cannot write %s: %s", path, strerror(-r));
	}
	return 0;
}

static void forget_state(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	(void)unlink(path);
}

/* --- the claims in etcd -------------------------------------------------------- */

struct claims {
	struct etcd_kvs kvs;	/* <prefix>/ranges/... -> node name */
	size_t skip;		/* the length of "<prefix>/ranges/" */
};

/* The owner of @range's claim, or NULL when it is free. */
static const char *owner_of(const struct claims *c, const char *prefix, const struct rv_prefix *range)
{
	char key[CLUSTER_KEY_MAX];

	cluster_key_range(key, prefix, range);
	for (size_t i = 0; i < c->kvs.n; i++)
		if (!strcmp(c->kvs.v[i].key, key))
			return c->kvs.v[i].value;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The first range of CIDR @i nobody claims. */
static int pick_free(const struct alloc *a, const struct claims *c, size_t i, struct rv_prefix *out,
		     struct rv_err *err)
{
	const struct cluster_conf *conf = &a->conf;
	uint64_t *taken = calloc(c->kvs.n + 1, sizeof(*taken)), count = cluster_range_count(conf, i), n = 0;
	unsigned shift = ip_bits(conf->cidr[i].ip.family) - conf->node_len[i];
	size_t m = 0;
	char buf[IP_STRLEN];

	if (!taken)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	/* Each claimed range as its index in the CIDR, sorted, so the first
	 * free index is found in one pass. */
	for (size_t k = 0; k < c->kvs.n; k++) {
		struct rv_prefix p;
		char *dash, text[CLUSTER_KEY_MAX];
		unsigned __int128 v = 0, base = 0;
		struct rv_prefix cidr = prefix_masked(&conf->cidr[i]);

		snprintf(text, sizeof(text), "%s", c->kvs.v[k].key + c->skip);
		if (!(dash = strrchr(text, '-')))
			continue;
		*dash = '/';
		if (prefix_parse(text, &p) < 0 || !cluster_range_valid(conf, i, &p))
			continue;
		for (unsigned b = 0; b < ip_bytes(p.ip.family); b++) {
			v = v << 8 | p.ip.a[b];
			base = base << 8 | cidr.ip.a[b];
		}
		taken[m++] = (uint64_t)((v - base) >> shift);
	}
	qsort(taken, m, sizeof(*taken), cmp_u64);
	for (size_t k = 0; k < m && taken[k] <= n; k++)
		if (taken[k] == n)
			n++;
	free(taken);
	if (n >= count)
		return err_set(err, RIVET_ERR_RANGE_EXHAUSTED, ENOSPC,
			       "no free node range in cluster CIDR %s: all %" PRIu64 " /%u ranges are claimed; "
			       "remove nodes that left with `rivetd leave`",
			       prefix_fmt(&conf->cidr[i], buf), count, conf->node_len[i]);
	return cluster_range_nth(conf, i, n, out);
}

static int read_conf(struct alloc *a, struct rv_err *err)
{
	char key[CLUSTER_KEY_MAX];
	struct etcd_kvs kvs = { 0 };
	int r;

	r = etcd_get(a->etcd, cluster_key_config(key, a->prefix), false, &kvs, err);
	if (r < 0)
		return r;
	if (!kvs.n) {
		etcd_kvs_done(&kvs);
		return err_set(err, CNI_ERR_CONFIG, ENOENT,
			       "the cluster is not initialised: no %s in etcd; run `rivetd init`", key);
	}
	r = cluster_conf_decode(kvs.v[0].value, kvs.v[0].value_len, &a->conf, err);
	etcd_kvs_done(&kvs);
	return r;
}

/* The lease to keep: the record's or the remembered one, if still alive and
 * of the TTL asked for; else a new one. A live lease of another TTL (the
 * agent was restarted with another --subnet-ttl) is replaced, not kept: the
 * claim moves every key onto the new lease in one transaction, and only
 * then is the old one revoked (*@old), so peers never see the node go. */
static int take_lease(struct alloc *a, int64_t from_record, int64_t remembered, int64_t *old,
		      struct rv_err *err)
{
	int64_t candidates[2] = { from_record, remembered }, ttl;
	int r;

	*old = 0;
	for (int i = 0; i < 2; i++) {
		if (!candidates[i])
			continue;
		r = etcd_lease_keepalive(a->etcd, candidates[i], &ttl, err);
		/* etcd raises a TTL under its minimum (a few seconds) to it. */
		if (r == 0 && (ttl == a->ttl || (a->ttl < ttl && ttl <= 5))) {
			a->lease = candidates[i];
			return 0;
		}
		if (r == 0) {
			*old = candidates[i];
			break;
		}
		if (r != -ENOENT)
			return r;
	}
	return etcd_lease_grant(a->etcd, a->ttl, &a->lease, err);
}

static const struct rv_prefix *range_of(const struct rv_prefix *v, size_t n, const struct cluster_conf *c,
					size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (cluster_range_valid(c, i, &v[k]))
			return &v[k];
	return NULL;
}

/* One attempt: choose, then claim in one transaction. 1 claimed, 0 lost a
 * race (try again), -errno. */
static int try_claim(struct alloc *a, struct node_rec *rec, const struct state *st,
		     const struct node_rec *old, struct rv_err *err)
{
	char keys[6][CLUSTER_KEY_MAX], nkey[CLUSTER_KEY_MAX], rbuf[IP_STRLEN];
	struct etcd_cmp cmp[6];
	struct etcd_op ops[7];
	struct etcd_txn_result res = { 0 };
	struct claims c = { .skip = strlen(cluster_key_ranges(nkey, a->prefix)) };
	struct rv_prefix want[2];
	size_t n_cmp = 0, n_ops = 0;
	char *value = NULL;
	int r;

	r = etcd_get(a->etcd, nkey, true, &c.kvs, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < a->conf.n; i++) {
		struct rv_prefix held;
		const struct rv_prefix *prev = range_of(st->ranges, st->n, &a->conf, i);
		const char *owner;
		bool must = false;

		if (!prev && old)
			prev = range_of(old->ranges, old->n_ranges, &a->conf, i);
		r = a->held ? a->held(a->ctx, &a->conf, i, &held) : 0;
		if (r < 0)
			goto out;
		if (r > 0 && cluster_range_valid(&a->conf, i, &held)) {
			want[i] = held;
			must = true;
		} else if (prev) {
			want[i] = *prev;
		} else {
			want[i].len = 0;
		}
		owner = want[i].len ? owner_of(&c, a->prefix, &want[i]) : NULL;
		if (owner && strcmp(owner, rec->name)) {
			if (must) {
				r = err_set(err, CNI_ERR_TRY_AGAIN, EBUSY,
					    "range %s, in which this node's pods hold addresses, is claimed in etcd by "
					    "node %s; rivetd will not move a node with running pods to another range. "
					    "Remove that claim (`rivetd leave --node-name %s` if that node is gone), "
					    "or the pods",
					    prefix_fmt(&want[i], rbuf), owner, owner);
				goto out;
			}
			want[i].len = 0;
		}
		if (!want[i].len && (r = pick_free(a, &c, i, &want[i], err)) < 0)
			goto out;
		cluster_key_range(keys[i], a->prefix, &want[i]);
		/* Ours already (re-attached to the lease), or created only if absent. */
		if (owner_of(&c, a->prefix, &want[i]))
			cmp[n_cmp++] = (struct etcd_cmp){ keys[i], ETCD_VALUE, ETCD_EQ, 0, rec->name };
		else
			cmp[n_cmp++] = (struct etcd_cmp){ keys[i], ETCD_CREATE_REV, ETCD_EQ, 0, NULL };
		ops[n_ops++] = (struct etcd_op){ ETCD_OP_PUT, keys[i], false, rec->name, a->lease };
		rec->ranges[i] = want[i];
	}
	rec->n_ranges = a->conf.n;
	/* Claims of ours that are no longer wanted go in the same step. */
	for (size_t k = 0, extra = 2; k < c.kvs.n && extra < 6; k++) {
		bool wanted = false;

		for (size_t i = 0; i < a->conf.n; i++)
			wanted |= !strcmp(c.kvs.v[k].key, keys[i]);
		if (wanted || strcmp(c.kvs.v[k].value, rec->name))
			continue;
		snprintf(keys[extra], CLUSTER_KEY_MAX, "%s", c.kvs.v[k].key);
		cmp[n_cmp++] = (struct etcd_cmp){ keys[extra], ETCD_VALUE, ETCD_EQ, 0, rec->name };
		ops[n_ops++] = (struct etcd_op){ ETCD_OP_DELETE, keys[extra], false, NULL, 0 };
		extra++;
	}
	if (!(value = node_rec_encode(rec))) {
		r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		goto out;
	}
	ops[n_ops++] = (struct etcd_op){ ETCD_OP_PUT, cluster_key_node(nkey, a->prefix, rec->name), false,
					  value, a->lease };
	r = etcd_txn(a->etcd, cmp, n_cmp, ops, n_ops, NULL, 0, &res, err);
	if (r == 0)
		r = res.succeeded ? 1 : 0;
	if (r == 1) {
		a->n = a->conf.n;
		memcpy(a->ranges, want, sizeof(want));
	}
out:
	etcd_txn_result_done(&res);
	etcd_kvs_done(&c.kvs);
	free(value);
	return r;
}

int alloc_claim(struct alloc *a, struct node_rec *rec, struct rv_err *err)
{
	char key[CLUSTER_KEY_MAX];
	struct etcd_kvs kvs = { 0 };
	struct node_rec old, *oldp = NULL;
	struct state st;
	int64_t rec_lease = 0, old_lease;
	int r;

	read_state(a->state_dir, &st);
	if ((r = read_conf(a, err)) < 0)
		return r;
	r = etcd_get(a->etcd, cluster_key_node(key, a->prefix, rec->name), false, &kvs, err);
	if (r < 0)
		return r;
	if (kvs.n && node_rec_decode(kvs.v[0].value, kvs.v[0].value_len, &old, NULL) == 0) {
		oldp = &old;
		rec_lease = kvs.v[0].lease;
	}
	etcd_kvs_done(&kvs);
	if ((r = take_lease(a, rec_lease, st.lease, &old_lease, err)) < 0)
		return r;
	for (int attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
		r = try_claim(a, rec, &st, oldp, err);
		if (r < 0)
			return r;
		if (r == 1) {
			/* Everything is on the new lease now; the old one holds
			 * nothing that is still wanted. */
			if (old_lease)
				(void)etcd_lease_revoke(a->etcd, old_lease, NULL);
			if (write_state(a->state_dir, a, err) == 0)
				return 0;
			/* An older file would outrank the node's record in etcd
			 * at a restart: better none. */
			forget_state(a->state_dir);
			return 1;
		}
	}
	return err_set(err, CNI_ERR_TRY_AGAIN, EAGAIN,
		       "could not claim a node range in %d attempts: other nodes kept taking the same ones",
		       CLAIM_ATTEMPTS);
}

int alloc_renew(struct alloc *a, struct rv_err *err)
{
	int64_t ttl;

	return etcd_lease_keepalive(a->etcd, a->lease, &ttl, err);
}

int alloc_leave(struct etcd *e, const char *prefix, const char *name, bool *found, struct rv_err *err)
{
	char key[CLUSTER_KEY_MAX];
	struct etcd_kvs kvs = { 0 }, ranges = { 0 };
	int64_t deleted;
	int r;

	*found = false;
	r = etcd_get(e, cluster_key_node(key, prefix, name), false, &kvs, err);
	if (r == 0 && kvs.n) {
		*found = true;
		/* Record and claims share the lease: revoking it removes them
		 * in one step, so peers never see a record without claims. */
		if (kvs.v[0].lease) {
			r = etcd_lease_revoke(e, kvs.v[0].lease, err);
			if (r == -ENOENT)
				r = 0;
		}
	}
	etcd_kvs_done(&kvs);
	if (r < 0)
		return r;
	/* What no lease took with it: a record or claims written without one,
	 * or left by a lease that was replaced. */
	r = etcd_delete(e, key, false, &deleted, err);
	if (r == 0 && deleted)
		*found = true;
	if (r == 0)
		r = etcd_get(e, cluster_key_ranges(key, prefix), true, &ranges, err);
	for (size_t i = 0; r == 0 && i < ranges.n; i++) {
		struct etcd_cmp cmp = { ranges.v[i].key, ETCD_VALUE, ETCD_EQ, 0, name };
		struct etcd_op del = { ETCD_OP_DELETE, ranges.v[i].key, false, NULL, 0 };
		struct etcd_txn_result res = { 0 };

		if (strcmp(ranges.v[i].value, name))
			continue;
		r = etcd_txn(e, &cmp, 1, &del, 1, NULL, 0, &res, err);
		if (r == 0 && res.succeeded)
			*found = true;
		etcd_txn_result_done(&res);
	}
	etcd_kvs_done(&ranges);
	return r;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * host-local's allocator (plugins/ipam/host-local/main.go and
 * backend/allocator/allocator.go) over rivet's store. The lock is held only
 * while reservation files are read and written, never across netlink work,
 * so parallel ADDs queue for microseconds, not for each other's veths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipam/hostlocal.h"
#include "ipam/range.h"
#include "ipam/store.h"
#include "util/log.h"

static unsigned timeout_of(const struct ipam_req *req)
{
	return req->lock_timeout_ms ? req->lock_timeout_ms : IPAM_LOCK_TIMEOUT_MS;
}

static int open_locked(const struct ipam_req *req, struct ipam_store *s, bool create,
		       struct rv_err *err)
{
	unsigned reclaimed = 0;
	int r;

	r = ipam_store_open(s, req->conf->data_dir, req->network, create,
			    req->conf->reclaim_after_reboot, err);
	if (r < 0)
		return r;
	r = ipam_store_lock(s, timeout_of(req), &reclaimed, err);
	if (r < 0) {
		ipam_store_close(s);
		return r;
	}
	if (reclaimed)
		log_warn("network %s: reclaimed %u reservations made before the last reboot",
			 req->network, reclaimed);
	return 0;
}

/* Open and lock the store only if it exists: 1 when it does not, in which
 * case the attachment holds nothing and there is nothing to do. */
static int open_existing(const struct ipam_req *req, struct ipam_store *s, struct rv_err *err)
{
	int r = open_locked(req, s, false, err);

	return r == -ENOENT ? 1 : r;
}

static void describe_owner(char *buf, size_t len, const struct ipam_owner *o)
{
	char when[32] = "an unknown time";
	struct tm tm;

	if (o->since && gmtime_r(&o->since, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len, "container %s%s%s since %s", o->container_id,
		 o->ifname[0] ? ", interface " : "", o->ifname, when);
}

/* The requested address that falls in @set, removed from @used. */
static const struct rv_prefix *requested_for(const struct ipam_conf *c, const struct ipam_rangeset *set,
					     bool *used)
{
	for (size_t i = 0; i < c->n_requested; i++) {
		if (!used[i] && ipam_rangeset_contains(set, &c->requested[i].ip, NULL)) {
			used[i] = true;
			return &c->requested[i];
		}
	}
	return NULL;
}

static int reserve_requested(const struct ipam_req *req, struct ipam_store *s, unsigned idx,
			     const struct rv_ip *ip, struct ipam_lease *lease, struct rv_err *err)
{
	const struct ipam_rangeset *set = &req->conf->sets[idx];
	char a[IP_STRLEN], who[400], rs[256];
	struct ipam_owner o;
	bool taken = false, vanished = false;
	size_t ri;
	int r;

	ipam_rangeset_contains(set, ip, &ri);
	if (ip_eq(ip, &set->r[ri].gateway))
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "requested IP %s is the gateway of its range and is never handed out",
			       ip_fmt(ip, a));
	/* Taken, then gone before its holder could be read (released by
	 * something that does not lock the store: a person): try again, once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		vanished = false;
		r = ipam_store_reserve(s, ip, req->container_id, req->ifname, idx, err);
		if (r != -EEXIST)
			break;
		r = ipam_store_owner(s, ip, &o);
		taken = r == 0;
		vanished = r == -ENOENT;
		if (!vanished)
			break;
	}
	if (vanished)
		return err_set(err, CNI_ERR_TRY_AGAIN, EAGAIN,
			       "requested IP address %s was taken and released while rivet reserved it; try again",
			       ip_fmt(ip, a));
	if (taken) {
		if (!strcmp(o.container_id, req->container_id) && !strcmp(o.ifname, req->ifname)) {
			lease->kept = true;
		} else {
			describe_owner(who, sizeof(who), &o);
			return err_set(err, RIVET_ERR_ADDR_TAKEN, EEXIST,
				       "requested IP address %s is not available in range set %s: it is held by %s",
				       ip_fmt(ip, a), ipam_rangeset_fmt(set, rs, sizeof(rs)), who);
		}
	}
	if (r < 0)
		return r;
	lease->addr.ip = *ip;
	lease->addr.len = set->r[ri].subnet.len;
	lease->gateway = set->r[ri].gateway;
	return 0;
}

static int reserve_next(const struct ipam_req *req, struct ipam_store *s, unsigned idx,
			struct ipam_lease *lease, struct rv_err *err)
{
	const struct ipam_rangeset *set = &req->conf->sets[idx];
	struct rv_ip last, cand;
	struct ipam_iter it;
	char rs[256];
	size_t ri;
	int r;

	ipam_iter_init(&it, set, ipam_store_last_reserved(s, idx, &last) == 0 ? &last : NULL);
	while (ipam_iter_next(&it, &cand, &ri)) {
		r = ipam_store_reserve(s, &cand, req->container_id, req->ifname, idx, err);
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return r;
		lease->addr.ip = cand;
		lease->addr.len = set->r[ri].subnet.len;
		lease->gateway = set->r[ri].gateway;
		return 0;
	}
	err_set(err, RIVET_ERR_RANGE_EXHAUSTED, ENOSPC,
		"no IP addresses available in range set: %s; release addresses or widen the range",
		ipam_rangeset_fmt(set, rs, sizeof(rs)));
	err_details(err, "see what holds them: rivet list %s%s%s", req->network,
		    req->conf->data_dir ? " --data-dir " : "", req->conf->data_dir ? req->conf->data_dir : "");
	return -ENOSPC;
}

static void release_leases(struct ipam_store *s, const struct ipam_req *req,
			   const struct ipam_lease *leases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!leases[i].kept)
			(void)ipam_store_release_ip(s, &leases[i].addr.ip, req->container_id, req->ifname,
						    (int)leases[i].set);
}

int hostlocal_add(const struct ipam_req *req, struct ipam_lease *leases, struct rv_err *err)
{
	const struct ipam_conf *c = req->conf;
	bool used[64] = { false };
	struct ipam_store s;
	size_t done = 0;
	char a[IP_STRLEN];
	int r;

	if (c->n_requested > sizeof(used) / sizeof(used[0]))
		return err_set(err, CNI_ERR_CONFIG, E2BIG, "too many requested IP addresses (%zu)",
			       c->n_requested);
	/* Refused before the store is touched: an address no set can give
	 * would otherwise fail the ADD only after the others were reserved. */
	for (size_t i = 0; i < c->n_requested; i++) {
		bool in_some = false;

		for (size_t j = 0; j < c->n_sets && !in_some; j++)
			in_some = ipam_rangeset_contains(&c->sets[j], &c->requested[i].ip, NULL);
		if (!in_some)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "failed to allocate all requested IPs: %s is not inside any range of network %s",
				       ip_fmt(&c->requested[i].ip, a), req->network);
	}
	r = open_locked(req, &s, true, err);
	if (r < 0)
		return r;
	for (; done < c->n_sets; done++) {
		const struct rv_prefix *want = requested_for(c, &c->sets[done], used);
		struct ipam_lease *l = &leases[done];
		size_t ri = 0;

		memset(l, 0, sizeof(*l));
		l->set = (unsigned)done;
		if (want) {
			r = reserve_requested(req, &s, (unsigned)done, &want->ip, l, err);
		} else if (ipam_store_lookup(&s, req->container_id, req->ifname, (unsigned)done,
					     &l->addr.ip) == 0 &&
			   ipam_rangeset_contains(&c->sets[done], &l->addr.ip, &ri)) {
			/* A retried ADD: keep what the attachment holds, if the
			 * set (the config may have changed since) still has it. */
			l->addr.len = c->sets[done].r[ri].subnet.len;
			l->gateway = c->sets[done].r[ri].gateway;
			l->kept = true;
			r = 0;
		} else {
			r = reserve_next(req, &s, (unsigned)done, l, err);
		}
		if (r < 0) {
			err_prefix(err, "failed to allocate for range %zu", done);
			goto fail;
		}
	}
	for (size_t i = 0; i < c->n_requested; i++) {
		if (!used[i]) {
			r = err_set(err, CNI_ERR_CONFIG, EINVAL,
				    "failed to allocate all requested IPs: %s is not inside any range of network %s",
				    ip_fmt(&c->requested[i].ip, a), req->network);
			goto fail;
		}
	}
	ipam_store_close(&s);
	return 0;
fail:
	release_leases(&s, req, leases, done);
	ipam_store_close(&s);
	return r;
}

void hostlocal_undo(const struct ipam_req *req, const struct ipam_lease *leases, size_t n)
{
	struct ipam_store s;

	if (open_locked(req, &s, false, NULL) < 0)
		return;
	release_leases(&s, req, leases, n);
	ipam_store_close(&s);
}

int hostlocal_del(const struct ipam_req *req, struct rv_ip *out, size_t max, size_t *n,
		  struct rv_err *err)
{
	struct ipam_store s;
	int r;

	*n = 0;
	r = open_existing(req, &s, err);
	if (r)
		return r < 0 ? r : 0;
	r = ipam_store_release(&s, req->container_id, req->ifname, (unsigned)req->conf->n_sets,
			       out, max, n);
	ipam_store_close(&s);
	return r;
}

struct find_walk {
	const char *id, *ifname;
	struct rv_ip *out;
	size_t max, *n;
};

static int find_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	struct find_walk *w = ctx;

	if (!strcmp(o->container_id, w->id) && !strcmp(o->ifname, w->ifname)) {
		if (*w->n < w->max)
			w->out[*w->n] = *ip;
		(*w->n)++;
	}
	return 0;
}

int hostlocal_find(const struct ipam_req *req, struct rv_ip *out, size_t max, size_t *n,
		   struct rv_err *err)
{
	struct find_walk w = { req->container_id, req->ifname, out, max, n };
	struct ipam_store s;
	unsigned found = 0;
	int r;

	*n = 0;
	r = open_existing(req, &s, err);
	if (r)
		return r < 0 ? r : 0;
	for (unsigned set = 0; set < req->conf->n_sets; set++) {
		struct rv_ip ip;

		if (ipam_store_lookup(&s, req->container_id, req->ifname, set, &ip) == 0) {
			if (*n < max)
				out[*n] = ip;
			(*n)++;
			found++;
		}
	}
	if (found < req->conf->n_sets) {
		*n = 0;
		r = ipam_store_walk(&s, find_cb, &w);
	}
	ipam_store_close(&s);
	if (r < 0)
		return err_set(err, CNI_ERR_IO, -r, "cannot read the IPAM store of network %s: %s",
			       req->network, strerror(-r));
	return 0;
}

struct all_walk {
	struct rv_ip *v;
	size_t n, cap;
};

static int all_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	struct all_walk *w = ctx;

	/* A file that names nobody holds no pod's address. */
	if (o->damaged)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct rv_ip *v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = *ip;
	return 0;
}

int hostlocal_addresses(const struct ipam_req *req, struct rv_ip **out, size_t *n, struct rv_err *err)
{
	struct all_walk w = { 0 };
	struct ipam_store s;
	int r;

	*out = NULL;
	*n = 0;
	r = open_existing(req, &s, err);
	if (r)
		return r < 0 ? r : 0;
	r = ipam_store_walk(&s, all_cb, &w);
	ipam_store_close(&s);
	if (r < 0) {
		free(w.v);
		return err_set(err, CNI_ERR_IO, -r, "cannot read the IPAM store of network %s: %s",
			       req->network, strerror(-r));
	}
	*out = w.v;
	*n = w.n;
	return 0;
}

int hostlocal_holds(const struct ipam_req *req, const struct rv_ip *ip, struct rv_err *err)
{
	char a[IP_STRLEN], who[400];
	struct ipam_store s;
	struct ipam_owner o;
	int r;

	r = open_locked(req, &s, false, err);
	if (r == -ENOENT)
		return err_set(err, RIVET_ERR_CHECK, ENOENT,
			       "IP %s is not reserved: the store of network %s does not exist",
			       ip_fmt(ip, a), req->network);
	if (r < 0)
		return r;
	r = ipam_store_owner(&s, ip, &o);
	ipam_store_close(&s);
	if (r < 0)
		return err_set(err, RIVET_ERR_CHECK, ENOENT, "IP %s is not reserved in network %s",
			       ip_fmt(ip, a), req->network);
	if (strcmp(o.container_id, req->container_id) ||
	    (o.ifname[0] && strcmp(o.ifname, req->ifname))) {
		describe_owner(who, sizeof(who), &o);
		return err_set(err, RIVET_ERR_CHECK, EEXIST, "IP %s is reserved for %s, not for this attachment",
			       ip_fmt(ip, a), who);
	}
	return 0;
}

struct gc_walk {
	const struct attachment *valid;
	size_t n_valid;
	struct ipam_store *s;
	struct rv_ip *out;
	size_t max, *n;
};

static bool is_valid(const struct gc_walk *w, const struct ipam_owner *o)
{
	for (size_t i = 0; i < w->n_valid; i++) {
		if (strcmp(w->valid[i].container_id, o->container_id))
			continue;
		/* host-local's old files name only the container: keep them
		 * while any of its attachments is valid, as release does. */
		if (!o->ifname[0] || !strcmp(w->valid[i].ifname, o->ifname))
			return true;
	}
	return false;
}

static int gc_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	struct gc_walk *w = ctx;
	char a[IP_STRLEN];

	if (o->damaged) {
		/* Names nobody, so no valid attachment; GC holds the lock, so
		 * no writer is half-way through it. */
		if (ipam_store_release_damaged(w->s, ip) == 0) {
			log_warn("GC released %s: its reservation file is empty or unreadable", ip_fmt(ip, a));
			if (*w->n < w->max)
				w->out[*w->n] = *ip;
			(*w->n)++;
		}
		return 0;
	}
	if (is_valid(w, o))
		return 0;
	if (ipam_store_release_ip(w->s, ip, o->container_id, o->ifname, -1) == 0) {
		log_warn("GC released %s held by %s/%s, which the runtime no longer knows",
			 ip_fmt(ip, a), o->container_id, o->ifname[0] ? o->ifname : "-");
		if (*w->n < w->max)
			w->out[*w->n] = *ip;
		(*w->n)++;
	}
	return 0;
}

int hostlocal_gc(const struct ipam_req *req, const struct attachment *valid, size_t n_valid,
		 struct rv_ip *out, size_t max, size_t *n, struct rv_err *err)
{
	struct ipam_store s;
	struct gc_walk w = { valid, n_valid, &s, out, max, n };
	int r;

	*n = 0;
	r = open_existing(req, &s, err);
	if (r)
		return r < 0 ? r : 0;
	r = ipam_store_walk(&s, gc_cb, &w);
	ipam_store_prune_index(&s);
	ipam_store_close(&s);
	if (r < 0)
		return err_set(err, CNI_ERR_IO, -r, "GC could not read the IPAM store of network %s",
			       req->network);
	return 0;
}

struct count_walk {
	const struct ipam_conf *c;
	uint64_t per_set[64];
	uint64_t total;
};

static int count_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	struct count_walk *w = ctx;

	(void)o;
	w->total++;
	for (size_t i = 0; i < w->c->n_sets && i < 64; i++)
		if (ipam_rangeset_contains(&w->c->sets[i], ip, NULL))
			w->per_set[i]++;
	return 0;
}

int hostlocal_status(const struct ipam_req *req, struct rv_err *err)
{
	struct count_walk w = { .c = req->conf };
	struct ipam_store s;
	char rs[256];
	int r;

	/* STATUS only reads: it creates no store directory, lock or index,
	 * reclaims nothing, and takes no lock (each reservation file is
	 * there whole or not at all, and a count is a snapshot anyway). */
	r = ipam_store_open(&s, req->conf->data_dir, req->network, false, false, err);
	if (r == -ENOENT)
		r = ipam_store_creatable(req->conf->data_dir, err);	/* nothing reserved yet */
	else if (r == 0 && (r = ipam_store_writable(&s, err)) == 0 && (r = ipam_store_walk(&s, count_cb, &w)) < 0)
		r = err_set(err, CNI_ERR_IO, -r, "cannot read the IPAM store of network %s: %s", req->network,
			    strerror(-r));
	ipam_store_close(&s);
	if (r < 0) {
		if (err)
			err->code = CNI_ERR_NOT_AVAILABLE;
		return r;
	}
	for (size_t i = 0; i < req->conf->n_sets && i < 64; i++) {
		uint64_t cap = ipam_rangeset_capacity(&req->conf->sets[i]);

		if (w.per_set[i] >= cap) {
			r = err_set(err, CNI_ERR_NOT_AVAILABLE, ENOSPC,
				    "range set %zu (%s) is exhausted: %llu of %llu addresses reserved",
				    i, ipam_rangeset_fmt(&req->conf->sets[i], rs, sizeof(rs)),
				    (unsigned long long)w.per_set[i], (unsigned long long)cap);
			err_details(err, "%llu reservations in network %s; list them with: rivet list %s%s%s",
				    (unsigned long long)w.total, req->network, req->network,
				    req->conf->data_dir ? " --data-dir " : "",
				    req->conf->data_dir ? req->conf->data_dir : "");
			return r;
		}
	}
	return 0;
}

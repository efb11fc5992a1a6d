// SPDX-License-Identifier: Apache-2.0
/*
 * The reconcile of rivetd's kernel state (see routesync.h): read what is
 * ours, compare with what is wanted, change only the difference.
 *
 *   1. the VXLAN device: made, remade when its parameters differ (the
 *      kernel cannot change a VXLAN device's VNI, port or local address),
 *      or deleted when no longer wanted; its VTEP addresses;
 *   2. neighbour and forwarding entries on it, added before the routes
 *      that need them;
 *   3. the routes of our protocol in the main table: a dump of each family,
 *      sorted, merged against the wanted list (sorted too), giving adds,
 *      replaces and deletes;
 *   4. neighbour and forwarding entries nobody wants any more.
 *
 * Changes go to the kernel in batches of up to BATCH requests, one sendmsg
 * and one acknowledgement each, and every request's answer is read: a sync
 * of a thousand routes is a few dozen round trips.
 */
#include <errno.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"
#include "net/link.h"
#include "net/neigh.h"
#include "net/nlbatch.h"
#include "net/route.h"
#include "net/routesync.h"

#define BATCH 60

/* What a queued request was for, to read its answer. */
enum act { ACT_OTHER, ACT_ADD, ACT_REPLACE, ACT_DELETE, ACT_ENTRY };

struct sync {
	struct nlconn nl;
	struct nlbatch b;
	char buf[NLBATCH_BUF];
	enum act acts[NLBATCH_MAX];
	struct rs_stats *st;
	struct rv_err *err;
	int first;		/* the first refusal, -errno */
};

static void note_failure(struct sync *s, const struct nlbatch_req *q)
{
	s->st->failed++;
	if (s->first)
		return;
	s->first = q->error;
	err_set(s->err, RIVET_ERR_NETLINK, -q->error, "%s: %s", q->what, strerror(-q->error));
	if (s->b.ext[0])
		err_details(s->err, "kernel: %s", s->b.ext);
}

/* Send what is queued and read every answer. */
static void flush(struct sync *s)
{
	struct rv_err run = { 0 };
	int r;

	if (!s->b.n || s->b.complete)
		return;
	r = nlbatch_run(&s->b, &run);
	for (unsigned i = 0; i < s->b.n; i++) {
		const struct nlbatch_req *q = nlbatch_req(&s->b, (int)i);
		int e = -q->error;

		/* Never answered: the send or a receive failed, and nothing
		 * says the kernel did it. */
		if (!q->done) {
			s->st->failed++;
			if (!s->first) {
				s->first = r < 0 ? r : -EIO;
				*s->err = run;
				if (!s->err->code)
					err_set(s->err, RIVET_ERR_NETLINK, EIO, "%s: no answer from the kernel", q->what);
			}
			continue;
		}

		if (!e) {
			if (s->acts[i] == ACT_ADD)
				s->st->added++;
			else if (s->acts[i] == ACT_REPLACE)
				s->st->replaced++;
			else if (s->acts[i] == ACT_DELETE)
				s->st->deleted++;
			else if (s->acts[i] == ACT_ENTRY)
				s->st->entries++;
		} else if (s->acts[i] == ACT_ADD && e == EEXIST) {
			/* Not ours (ours would have been in the dump): a route of
			 * another protocol has that destination. */
			if (!s->st->conflicts++)
				snprintf(s->st->conflict, sizeof(s->st->conflict),
					 "%s: a route of another protocol has that destination", q->what);
		} else if (!((q->ok & NLB_OK_NOENT) && (e == ENOENT || e == ESRCH || e == ENODEV)) &&
			   !((q->ok & NLB_OK_EXIST) && e == EEXIST)) {
			note_failure(s, q);
		}
	}
}

/* Room for one more request; the batch goes out when full. */
static void room(struct sync *s, enum act a)
{
	if (s->b.n >= BATCH && !s->b.complete)
		flush(s);
	/* nlbatch_add starts a new batch after a completed one. */
	s->acts[s->b.complete ? 0 : s->b.n] = a;
}

/* --- reading ----------------------------------------------------------------- */

struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *p = realloc(v->v, cap * v->size);

		if (!p)
			return NULL;
		v->v = p;
		v->cap = cap;
	}
	return (char *)v->v + v->n++ * v->size;
}

struct route_collect {
	struct vec routes;	/* struct route_entry: ours */
	struct vec foreign;	/* struct rv_prefix: destinations others route */
	unsigned char protocol;
	bool oom;
};

static void collect_route(const struct route_entry *r, void *ctx)
{
	struct route_collect *c = ctx;
	void *e;

	if (r->table != RT_TABLE_MAIN)
		return;
	/* Another owner's route to a destination we may want, at any
	 * metric: ours beside it would take its traffic. */
	if (r->protocol != c->protocol) {
		if (!(e = vec_push(&c->foreign)))
			c->oom = true;
		else
			*(struct rv_prefix *)e = r->dst;
		return;
	}
	if (!(e = vec_push(&c->routes))) {
		c->oom = true;
		return;
	}
	*(struct route_entry *)e = *r;
}

static int read_routes(struct sync *s, unsigned char protocol, struct route_collect *c)
{
	static const int families[] = { AF_INET, AF_INET6 };

	memset(c, 0, sizeof(*c));
	c->routes.size = sizeof(struct route_entry);
	c->foreign.size = sizeof(struct rv_prefix);
	c->protocol = protocol;
	for (size_t i = 0; i < 2; i++) {
		struct route_dump d = { collect_route, c };
		int r;

		route_dump(&s->b, families[i], &d);
		r = nlbatch_run(&s->b, s->err);
		if (r < 0)
			return r;
	}
	return c->oom ? err_set(s->err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory") : 0;
}

struct entry_collect {
	struct vec v;		/* struct neigh_entry */
	bool oom;
};

static void collect_entry(const struct neigh_entry *n, void *ctx)
{
	struct entry_collect *c = ctx;
	struct neigh_entry *e;

	if (!(e = vec_push(&c->v))) {
		c->oom = true;
		return;
	}
	*e = *n;
}

static int read_entries(struct sync *s, int ifindex, struct entry_collect *c)
{
	static const int families[] = { AF_INET, AF_INET6, AF_BRIDGE };

	memset(c, 0, sizeof(*c));
	c->v.size = sizeof(struct neigh_entry);
	for (size_t i = 0; i < 3; i++) {
		struct neigh_dump d = { ifindex, collect_entry, c };
		int r;

		neigh_dump(&s->b, families[i], &d);
		r = nlbatch_run(&s->b, s->err);
		if (r < 0)
			return r;
	}
	return c->oom ? err_set(s->err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory") : 0;
}

/* --- the VXLAN device -------------------------------------------------------- */

static bool vxlan_matches(const struct link_info *l, const struct rs_vxlan *vx)
{
	return !strcmp(l->kind, "vxlan") && l->vxlan.vni == vx->vni && l->vxlan.port == vx->port &&
	       !l->vxlan.learning && ip_eq(&l->vxlan.local, &vx->local) &&
	       (!vx->link || l->vxlan.link == vx->link) && !memcmp(l->mac, vx->mac, 6);
}

struct addr_collect {
	struct vec v;		/* struct rv_prefix */
	bool oom;
};

static void collect_addr(const struct addr_entry *a, void *ctx)
{
	struct addr_collect *c = ctx;
	struct rv_prefix *p;

	/* The kernel's own link-local address stays. */
	if (a->scope == RT_SCOPE_LINK)
		return;
	if (!(p = vec_push(&c->v))) {
		c->oom = true;
		return;
	}
	*p = a->p;
}

static int sync_vtep_addrs(struct sync *s, int ifindex, const struct rs_vxlan *vx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct addr_collect c = { .v = { .size = sizeof(struct rv_prefix) } };
	const struct rv_prefix *have;
	int r = 0;

	for (size_t i = 0; i < 2 && r == 0; i++) {
		struct addr_dump d = { ifindex, collect_addr, &c };

		addr_dump(&s->b, families[i], &d);
		r = nlbatch_run(&s->b, s->err);
	}
	if (r == 0 && c.oom)
		r = err_set(s->err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	if (r < 0)
		goto out;
	have = c.v.v;
	for (size_t i = 0; i < c.v.n; i++) {
		bool wanted = false;

		for (size_t j = 0; j < vx->n_vtep; j++)
			wanted |= ip_eq(&have[i].ip, &vx->vtep[j].ip) && have[i].len == vx->vtep[j].len;
		if (!wanted) {
			room(s, ACT_ENTRY);
			addr_del(&s->b, ifindex, RS_VXLAN_DEV, &have[i]);
		}
	}
	for (size_t j = 0; j < vx->n_vtep; j++) {
		bool present = false;

		for (size_t i = 0; i < c.v.n; i++)
			present |= ip_eq(&have[i].ip, &vx->vtep[j].ip) && have[i].len == vx->vtep[j].len;
		if (!present) {
			room(s, ACT_ENTRY);
			addr_add(&s->b, ifindex, RS_VXLAN_DEV, &vx->vtep[j], RT_SCOPE_UNIVERSE);
			nlbatch_ok(&s->b, NLB_OK_EXIST);
		}
	}
	flush(s);
out:
	free(c.v.v);
	return r;
}

/* The device as wanted; its ifindex in *ifindex (0 when not wanted). */
static int sync_device(struct sync *s, const struct rs_vxlan *vx, int *ifindex)
{
	struct link_info l;
	int r;

	*ifindex = 0;
	link_get(&s->b, 0, RS_VXLAN_DEV, &l);
	r = nlbatch_run(&s->b, s->err);
	if (r < 0)
		return r;
	if (l.found && (!vx->enabled || !vxlan_matches(&l, vx))) {
		/* Deleting the device takes its neighbours, forwarding entries
		 * and the routes through it. */
		link_del(&s->b, l.ifindex, RS_VXLAN_DEV);
		if ((r = nlbatch_run(&s->b, s->err)) < 0)
			return r;
		l.found = false;
	}
	if (!vx->enabled)
		return 0;
	if (!l.found) {
		struct link_vxlan conf = {
			.vni = vx->vni, .port = vx->port, .local = vx->local, .link = vx->link,
		};

		link_vxlan_add(&s->b, RS_VXLAN_DEV, vx->mac, vx->mtu, &conf);
		link_get(&s->b, 0, RS_VXLAN_DEV, &l);
		if ((r = nlbatch_run(&s->b, s->err)) < 0)
			return r;
		if (!l.found)
			return err_set(s->err, RIVET_ERR_NETLINK, ENODEV, "%s vanished right after it was made",
				       RS_VXLAN_DEV);
	}
	if (l.mtu != vx->mtu || !(l.flags & IFF_UP)) {
		link_set(&s->b, l.ifindex, RS_VXLAN_DEV, &(struct link_conf){ .mtu = vx->mtu, .up = true });
		if ((r = nlbatch_run(&s->b, s->err)) < 0)
			return r;
	}
	*ifindex = l.ifindex;
	return sync_vtep_addrs(s, l.ifindex, vx);
}

/* --- neighbour and forwarding entries ---------------------------------------- */

static bool entry_wanted(const struct neigh_entry *e, const struct rs_want *w)
{
	for (size_t i = 0; i < w->n_routes; i++) {
		const struct rs_route *r = &w->routes[i];

		if (!r->vxlan || !e->has_mac || memcmp(e->mac, r->mac, 6))
			continue;
		if (e->family == AF_BRIDGE ? ip_eq(&e->ip, &r->underlay) : ip_eq(&e->ip, &r->via))
			return true;
	}
	return false;
}

static bool entry_present(const struct entry_collect *c, int family, const struct rv_ip *ip,
			  const uint8_t mac[6])
{
	const struct neigh_entry *v = c->v.v;

	for (size_t i = 0; i < c->v.n; i++)
		if (v[i].family == family && v[i].has_mac && !memcmp(v[i].mac, mac, 6) &&
		    ip_eq(&v[i].ip, ip) && (v[i].state & NUD_PERMANENT))
			return true;
	return false;
}

/* Add the entries the vxlan routes need and are missing. */
static void add_entries(struct sync *s, const struct rs_want *w, int ifindex,
			const struct entry_collect *have)
{
	for (size_t i = 0; i < w->n_routes; i++) {
		const struct rs_route *r = &w->routes[i];
		bool seen = false;

		if (!r->vxlan)
			continue;
		if (!entry_present(have, r->via.family, &r->via, r->mac)) {
			room(s, ACT_ENTRY);
			neigh_add_permanent(&s->b, ifindex, RS_VXLAN_DEV, &r->via, r->mac);
		}
		/* One forwarding entry per peer, however many ranges it has. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = w->routes[j].vxlan && !memcmp(w->routes[j].mac, r->mac, 6) &&
			       ip_eq(&w->routes[j].underlay, &r->underlay);
		if (!seen && !entry_present(have, AF_BRIDGE, &r->underlay, r->mac)) {
			room(s, ACT_ENTRY);
			neigh_fdb_add(&s->b, ifindex, RS_VXLAN_DEV, r->mac, &r->underlay);
		}
	}
}

static void drop_entries(struct sync *s, const struct rs_want *w, int ifindex,
			 const struct entry_collect *have)
{
	const struct neigh_entry *v = have->v.v;

	for (size_t i = 0; i < have->v.n; i++) {
		const struct neigh_entry *e = &v[i];

		/* Only what rivetd adds: permanent neighbours, and forwarding
		 * entries that point at a remote VTEP. */
		if (!(e->state & NUD_PERMANENT) || !ip_is_set(&e->ip) || entry_wanted(e, w))
			continue;
		room(s, ACT_ENTRY);
		neigh_del(&s->b, e->family, ifindex, RS_VXLAN_DEV, &e->ip, e->mac);
	}
}

/* --- routes ------------------------------------------------------------------ */

static int cmp_dst(const struct rv_prefix *a, const struct rv_prefix *b)
{
	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return ip_cmp(&a->ip, &b->ip);
}

static int cmp_entry(const void *x, const void *y)
{
	return cmp_dst(&((const struct route_entry *)x)->dst, &((const struct route_entry *)y)->dst);
}

static int cmp_req(const void *x, const void *y)
{
	return cmp_dst(&((const struct route_req *)x)->dst, &((const struct route_req *)y)->dst);
}

/* Does the kernel's route already say what @want says? */
static bool route_same(const struct route_entry *have, const struct route_req *want)
{
	if (have->type != want->type)
		return false;
	if (want->type == RTN_BLACKHOLE)
		return true;
	if (!ip_eq(&have->gw, &want->gw))
		return false;
	/* A direct route's device is the kernel's choice; a VXLAN route's is ours. */
	return !want->oif || (have->oif == want->oif && have->onlink == want->onlink);
}

static const char *dev_of(const struct route_req *r)
{
	return r->oif ? RS_VXLAN_DEV : NULL;
}

/* The wanted routes as requests, sorted by destination. With no VXLAN
 * device (@vx_ifindex 0 when none is wanted, -1 when it could not be made)
 * a VXLAN route cannot be made: with -1 one already in the kernel is kept
 * as it is, so a failing device takes nothing down with it. */
static struct route_req *wanted_routes(const struct rs_want *w, int vx_ifindex, size_t *n)
{
	struct route_req *v = calloc(w->n_own + w->n_routes + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < w->n_own; i++)
		v[(*n)++] = (struct route_req){
			.dst = prefix_masked(&w->own[i]), .protocol = w->protocol, .type = RTN_BLACKHOLE,
		};
	for (size_t i = 0; i < w->n_routes; i++) {
		const struct rs_route *r = &w->routes[i];

		if (r->vxlan && !vx_ifindex)
			continue;
		v[(*n)++] = (struct route_req){
			.dst = prefix_masked(&r->dst), .gw = r->via, .protocol = w->protocol,
			.type = RTN_UNICAST, .oif = r->vxlan ? vx_ifindex : 0, .onlink = r->vxlan,
		};
	}
	qsort(v, *n, sizeof(*v), cmp_req);
	return v;
}

static int cmp_prefix(const void *x, const void *y)
{
	return cmp_dst(x, y);
}

/* Drop from @want every destination another owner routes: its route wins,
 * and ours beside it, at whatever metric, would shadow or be shadowed. */
static size_t drop_conflicts(struct sync *s, struct route_req *want, size_t n_want, struct rv_prefix *foreign,
			     size_t n_foreign)
{
	size_t k = 0;

	qsort(foreign, n_foreign, sizeof(*foreign), cmp_prefix);
	for (size_t j = 0; j < n_want; j++) {
		char buf[IP_STRLEN];

		if (!bsearch(&want[j].dst, foreign, n_foreign, sizeof(*foreign), cmp_prefix)) {
			want[k++] = want[j];
			continue;
		}
		if (!s->st->conflicts++)
			snprintf(s->st->conflict, sizeof(s->st->conflict),
				 "a route of another protocol has destination %s", prefix_fmt(&want[j].dst, buf));
	}
	return k;
}

static void sync_routes(struct sync *s, const struct rs_want *w, struct route_entry *have, size_t n_have,
			const struct route_req *want, size_t n_want)
{
	size_t i = 0, j = 0;

	qsort(have, n_have, sizeof(*have), cmp_entry);
	while (i < n_have || j < n_want) {
		int c = i == n_have ? 1 : j == n_want ? -1 : cmp_dst(&have[i].dst, &want[j].dst);

		if (c < 0) {
			struct route_req d = {
				.dst = have[i].dst, .protocol = w->protocol, .type = have[i].type,
				.priority = have[i].priority,
			};

			room(s, ACT_DELETE);
			route_del(&s->b, &d);
			i++;
		} else if (c > 0) {
			/* A VXLAN route whose device could not be made: none to add. */
			if (want[j].oif >= 0) {
				room(s, ACT_ADD);
				route_add(&s->b, &want[j], dev_of(&want[j]), true);
			}
			j++;
		} else {
			if (want[j].oif < 0 || route_same(&have[i], &want[j])) {
				s->st->unchanged++;
			} else {
				struct route_req r = want[j];

				r.priority = have[i].priority;
				room(s, ACT_REPLACE);
				route_replace(&s->b, &r, dev_of(&r));
			}
			i++;
			j++;
		}
	}
}

static int sync_open(struct sync *s, struct rs_stats *st, struct rv_err *err)
{
	int r;

	memset(st, 0, sizeof(*st));
	s->st = st;
	s->err = err;
	s->first = 0;
	r = nlconn_open(&s->nl, NETLINK_ROUTE, -1, err);
	if (r == 0)
		nlbatch_init(&s->b, &s->nl, s->buf);
	return r;
}

int routesync_apply(const struct rs_want *w, struct rs_stats *st, struct rv_err *err)
{
	struct entry_collect entries = { 0 };
	struct route_collect routes = { 0 };
	struct route_req *want = NULL;
	struct sync *s = calloc(1, sizeof(*s));
	size_t n_want = 0;
	int vx = 0, r;

	if (!s)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	r = sync_open(s, st, err);
	if (r < 0) {
		free(s);
		return r;
	}
	/* A device that cannot be made is reported, and the rest goes on:
	 * direct routes and blackholes do not need it. */
	if (w->vx.enabled && (r = sync_device(s, &w->vx, &vx)) < 0) {
		s->first = r;
		s->st->failed++;
		vx = -1;
	} else if (!w->vx.enabled && (r = sync_device(s, &w->vx, &vx)) < 0) {
		goto out;
	}
	if (vx > 0 && (r = read_entries(s, vx, &entries)) < 0)
		goto out;
	if ((r = read_routes(s, w->protocol, &routes)) < 0)
		goto out;
	if (!(want = wanted_routes(w, vx, &n_want))) {
		r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		goto out;
	}
	n_want = drop_conflicts(s, want, n_want, routes.foreign.v, routes.foreign.n);
	if (vx > 0)
		add_entries(s, w, vx, &entries);
	flush(s);
	sync_routes(s, w, routes.routes.v, routes.routes.n, want, n_want);
	flush(s);
	if (vx > 0) {
		drop_entries(s, w, vx, &entries);
		flush(s);
	}
	r = s->first;
out:
	free(want);
	free(routes.routes.v);
	free(routes.foreign.v);
	free(entries.v.v);
	nlconn_close(&s->nl);
	free(s);
	return r;
}

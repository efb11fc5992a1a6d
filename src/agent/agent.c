// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's event loop and what it does on each event (see agent.h).
 *
 *   connect    read the cluster config, learn the node's addresses, claim
 *              its ranges, publish its record and its liveness, write the
 *              conflist; then list every node, reconcile, watch from the
 *              list's revision. Any failure: keep every route, retry with
 *              backoff, and say so once per change of state.
 *   watch      node records put and deleted: update the peer table and
 *              reconcile. A compacted revision: list again.
 *   renew      the node's range lease, every third of its TTL; the agent's
 *              liveness lease, every AGENT_ALIVE_TTL/3 seconds (20).
 *   netlink    a route of ours deleted, the VXLAN device or the uplink
 *              changed: reconcile shortly (a burst of changes is one).
 *   signals    SIGTERM, SIGINT: give up the liveness lease, leave routes,
 *              range and conflist as they are, exit 0. SIGHUP: reconcile.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/alloc.h"
#include "agent/cluster.h"
#include "agent/conflist.h"
#include "ipam/store.h"
#include "net/node.h"
#include "net/routesync.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef RIVET_VERSION
#error "RIVET_VERSION is set by the Makefile"
#endif

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 30000u
#define RECONCILE_DELAY_MS 100u
#define CONF_REREAD_MS 5000u
/* A watch ending compacted or canceled within this of its start backs off. */
#define STALE_AGAIN_MS 10000u

/* epoll tags: what an event's fd is. */
enum { TAG_SIGNAL = 1, TAG_TIMER, TAG_CURL_TIMER, TAG_NETLINK, TAG_CURL };

struct agent {
	const struct agent_opts *o;
	struct etcd *etcd;
	struct alloc alloc;
	struct node_rec self;
	struct node_link uplink;
	bool claimed;			/* the node's ranges are ours and published */
	bool listed;			/* the peer table is from a list, and a watch runs */
	bool ever_listed;		/* the peer table holds what etcd last said */
	int64_t agent_lease;

	struct node_rec *peers;		/* every other node, by name */
	size_t n_peers, cap_peers;
	struct rv_prefix keep[AGENT_MAX_EXCLUDE + 2];	/* not masqueraded: cluster CIDRs and more */
	size_t n_keep;

	int ep, sigfd, tfd, curl_tfd, nlfd, lockfd;
	struct mnl_socket *nl;
	uint64_t at_connect, at_renew, at_alive, at_reconcile;	/* CLOCK_MONOTONIC ms; 0: none */
	unsigned backoff_ms, renew_backoff_ms;
	bool need_reconcile;
	bool relearn;			/* the uplink changed: read its MTU again */
	uint64_t at_reread;		/* a peer's range is outside the config we hold: read
					 * it again then (ms, monotonic; 0: no need) */
	uint64_t conf_read_at;		/* when the config was last read */
	uint64_t watch_since;		/* when the watch was last started */
	uint64_t stale_backoff_ms;	/* for a watch that keeps ending compacted or canceled */

	/* What was last said of each kind of trouble, so that each change of
	 * state is logged once and not every retry. */
	char etcd_said[160];
	char routes_said[512];
	char conflist_said[512];
	char conflict[256];
	bool stop;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Does @key differ from what @said holds? Then remember it: the caller says
 * it once. A change of state is a new key; the same failure again (whose
 * text may differ in a timing) is not. */
static bool news(char *said, size_t len, const char *key)
{
	if (!strncmp(said, key, len - 1))
		return false;
	snprintf(said, len, "%s", key);
	return true;
}

/* etcd could not do @what: logged when the kind of failure changes (what
 * failed and its code), at debug level on every retry. */
static void trouble(struct agent *a, const struct rv_err *err, const char *what)
{
	char key[160];

	snprintf(key, sizeof(key), "%.140s:%u", what, err->code);
	if (news(a->etcd_said, sizeof(a->etcd_said), key))
		log_error("%s: %s%s%s; retrying", what, err->msg, err->details[0] ? ": " : "", err->details);
	else
		log_debug("still %s: %s", what, err->msg);
}

static void recovered(struct agent *a)
{
	if (a->etcd_said[0])
		log_info("recovered: etcd at %s answers again", etcd_endpoint(a->etcd));
	a->etcd_said[0] = '\0';
}

static void retry_later(struct agent *a)
{
	a->at_connect = now_ms() + a->backoff_ms;
	a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
}

/* --- the peer table ------------------------------------------------------------ */

static struct node_rec *find_peer(struct agent *a, const char *name, size_t *pos)
{
	size_t lo = 0, hi = a->n_peers;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(a->peers[mid].name, name);

		if (!c) {
			*pos = mid;
			return &a->peers[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

static int put_peer(struct agent *a, const struct node_rec *rec)
{
	size_t pos;
	struct node_rec *p = find_peer(a, rec->name, &pos);

	if (p) {
		*p = *rec;
		return 0;
	}
	if (a->n_peers == a->cap_peers) {
		size_t cap = a->cap_peers ? a->cap_peers * 2 : 64;
		struct node_rec *v = realloc(a->peers, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->peers = v;
		a->cap_peers = cap;
	}
	memmove(&a->peers[pos + 1], &a->peers[pos], (a->n_peers - pos) * sizeof(*a->peers));
	a->peers[pos] = *rec;
	a->n_peers++;
	return 0;
}

static void drop_peer(struct agent *a, const char *name)
{
	size_t pos;

	if (!find_peer(a, name, &pos))
		return;
	memmove(&a->peers[pos], &a->peers[pos + 1], (a->n_peers - pos - 1) * sizeof(*a->peers));
	a->n_peers--;
}

/* A node record from etcd, checked against the cluster; a bad one is logged
 * and skipped, never fatal. 0 taken, -EINVAL skipped. */
static int decode_peer(struct agent *a, const struct etcd_kv *kv, struct node_rec *out)
{
	const char *name = cluster_node_of_key(a->o->prefix, kv->key);
	struct rv_err err = { 0 };

	if (!name || node_rec_decode(kv->value, kv->value_len, out, &err) < 0 || strcmp(out->name, name)) {
		log_warn("skipping key %.200s (revision %" PRId64 "): %s", kv->key, kv->mod_rev,
			 err.msg[0] ? err.msg : "not a node record of this name");
		return -EINVAL;
	}
	for (size_t i = 0; i < out->n_ranges; i++) {
		if (cluster_range_index(&a->alloc.conf, &out->ranges[i]) < 0) {
			char buf[IP_STRLEN];

			/* Routing it would send a foreign range (even a default
			 * route) to that node. The config may have grown since we
			 * read it: read it again, at most every few seconds, but
			 * surely (no later event may come to ask again). */
			log_warn("skipping node %s: its range %s is not a node range of the cluster's CIDRs",
				 name, prefix_fmt(&out->ranges[i], buf));
			if (!a->at_reread)
				a->at_reread = a->conf_read_at + CONF_REREAD_MS;
			return -EINVAL;
		}
	}
	return 0;
}

/* --- reconcile ----------------------------------------------------------------- */

/* The address a peer's range of @family is reached at directly, if any. */
static struct rv_ip direct_gw(const struct node_rec *p, int family)
{
	if (p->ip.family == family)
		return p->ip;
	if (family == AF_INET6 && p->ip6.family == AF_INET6)
		return p->ip6;
	return (struct rv_ip){ 0 };
}

/* The VXLAN device's MTU: the uplink's, less what the encapsulation adds
 * over this node's underlay (IPv4 or IPv6). */
static unsigned vxlan_mtu(const struct agent *a)
{
	unsigned overhead = a->self.ip.family == AF_INET6 ? RS_VXLAN_OVERHEAD6 : RS_VXLAN_OVERHEAD4;

	return a->uplink.mtu > overhead + 68 ? a->uplink.mtu - overhead : 68;
}

static unsigned conflist_mtu(const struct agent *a)
{
	if (a->o->mtu)
		return a->o->mtu;
	/* With auto, a node cannot know whether a future peer will be reached
	 * over VXLAN, so its pods always leave room for the encapsulation. */
	if (a->alloc.conf.backend != BACKEND_DIRECT)
		return vxlan_mtu(a);
	return a->uplink.mtu;
}

static void write_conflist(struct agent *a)
{
	struct conflist_spec s = {
		.network = a->o->network, .ranges = a->alloc.ranges, .n_ranges = a->alloc.n,
		.data_dir = a->o->ipam_data_dir, .ip_masq = a->o->ip_masq, .keep = a->keep,
		.n_keep = a->n_keep, .mtu = conflist_mtu(a), .chain = a->o->chain, .n_chain = a->o->n_chain,
		.log_file = a->o->cni_log_file, .log_level = a->o->cni_log_level,
	};
	struct rv_err err = { 0 };
	bool changed;

	if (conflist_write(a->o->cni_conf_dir, &s, &changed, &err) < 0) {
		if (news(a->conflist_said, sizeof(a->conflist_said), err.msg))
			log_error("%s; trying again at every reconcile", err.msg);
		/* Not only when something else changes. */
		if (!a->at_reconcile)
			a->at_reconcile = now_ms() + BACKOFF_MAX_MS;
		return;
	}
	a->conflist_said[0] = '\0';
	if (changed)
		log_info("wrote %s/%s (MTU %u)", a->o->cni_conf_dir, CONFLIST_FILE, s.mtu);
}

/* The uplink's MTU and index again, after the kernel said it changed. */
static void relearn_uplink(struct agent *a)
{
	struct node_link l;
	struct rv_err err = { 0 };
	char ip[IP_STRLEN];

	a->relearn = false;
	if (node_link_of(&a->self.ip, &l, &err) < 0) {
		if (news(a->routes_said, sizeof(a->routes_said), err.msg))
			log_error("%s; this node's address %s is gone: routes stay as they are",
				  err.msg, ip_fmt(&a->self.ip, ip));
		return;
	}
	if (l.mtu != a->uplink.mtu || l.ifindex != a->uplink.ifindex)
		log_info("uplink now %s, MTU %u (was %s, MTU %u)", l.name, l.mtu, a->uplink.name, a->uplink.mtu);
	a->uplink = l;
}

static void reconcile(struct agent *a)
{
	struct rs_route *routes = NULL;
	struct rv_ip *gws = NULL;
	bool *on = NULL;
	size_t n = 0, n_gw = 0, max = 2 * a->n_peers + 1;
	struct rs_stats st;
	struct rv_err err = { 0 };
	enum cluster_backend be = a->alloc.conf.backend;
	struct rs_want w = {
		.protocol = a->o->route_protocol, .own = a->alloc.ranges, .n_own = a->alloc.n,
	};
	uint64_t t0 = now_ms();
	int r;

	a->need_reconcile = false;
	a->at_reconcile = 0;
	/* Before the first list the peer table says nothing, and applying it
	 * would delete every route a previous agent made. While etcd is away
	 * it says what etcd said last, which is what the routes should be. */
	if (!a->claimed || !a->ever_listed)
		return;
	if (a->relearn)
		relearn_uplink(a);
	routes = calloc(max, sizeof(*routes));
	gws = calloc(max, sizeof(*gws));
	on = calloc(max, sizeof(*on));
	if (!routes || !gws || !on) {
		log_error("reconcile: out of memory");
		goto out;
	}
	if (be != BACKEND_DIRECT) {
		w.vx = (struct rs_vxlan){
			.enabled = true, .vni = a->alloc.conf.vni, .port = a->alloc.conf.port,
			.local = a->self.ip, .link = a->uplink.ifindex,
			.mtu = vxlan_mtu(a),
		};
		memcpy(w.vx.mac, a->self.vtep_mac, 6);
		for (size_t i = 0; i < a->alloc.n; i++)
			w.vx.vtep[w.vx.n_vtep++] = cluster_vtep_addr(&a->alloc.ranges[i]);
	}
	/* Which peers are on one of our subnets: one batch of lookups. */
	if (be == BACKEND_AUTO) {
		for (size_t i = 0; i < a->n_peers; i++)
			for (int f = 0; f < 2; f++) {
				struct rv_ip gw = direct_gw(&a->peers[i], f ? AF_INET6 : AF_INET);

				if (gw.family)
					gws[n_gw++] = gw;
			}
		/* Unknown is not "off link": that would move every direct
		 * route to VXLAN. Try the whole reconcile again shortly. */
		if (node_on_link_many(gws, n_gw, on) < 0) {
			log_warn("cannot look up which nodes share a subnet with this one; trying again");
			a->at_reconcile = now_ms() + 1000;
			goto out;
		}
	}
	n_gw = 0;
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct node_rec *p = &a->peers[i];
		bool on_f[2] = { false, false };

		for (int f = 0; f < 2; f++)
			if (be == BACKEND_AUTO && direct_gw(p, f ? AF_INET6 : AF_INET).family)
				on_f[f] = on[n_gw++];
		for (size_t k = 0; k < p->n_ranges; k++) {
			int fam = p->ranges[k].ip.family;
			struct rv_ip gw = direct_gw(p, fam);
			bool direct = be == BACKEND_DIRECT || (be == BACKEND_AUTO && on_f[fam == AF_INET6]);
			struct rs_route *rt = &routes[n];

			memset(rt, 0, sizeof(*rt));
			rt->dst = p->ranges[k];
			if (direct && gw.family) {
				rt->via = gw;
				n++;
			} else if (be != BACKEND_DIRECT && p->has_vtep && p->ip.family == a->self.ip.family) {
				rt->vxlan = true;
				rt->via = cluster_vtep_addr(&p->ranges[k]).ip;
				rt->underlay = p->ip;
				memcpy(rt->mac, p->vtep_mac, 6);
				n++;
			} else {
				char buf[IP_STRLEN];

				log_debug("no way to node %s's range %s with backend %s", p->name,
					  prefix_fmt(&p->ranges[k], buf), cluster_backend_name(be));
			}
		}
	}
	w.routes = routes;
	w.n_routes = n;
	r = routesync_apply(&w, &st, &err);
	if (r < 0 && news(a->routes_said, sizeof(a->routes_said), err.msg))
		log_error("routes: %s%s%s (%u change%s refused; the rest is done)", err.msg,
			  err.details[0] ? ": " : "", err.details, st.failed, st.failed == 1 ? "" : "s");
	else if (r == 0)
		a->routes_said[0] = '\0';
	if (st.added || st.replaced || st.deleted || st.entries)
		log_info("routes to %zu nodes: %u added, %u replaced, %u deleted, %u unchanged, %u entries "
			 "changed, in %" PRIu64 " ms", a->n_peers, st.added, st.replaced, st.deleted, st.unchanged,
			 st.entries, now_ms() - t0);
	else
		log_debug("routes to %zu nodes unchanged (%u)", a->n_peers, st.unchanged);
	if (st.conflicts && news(a->conflict, sizeof(a->conflict), st.conflict))
		log_warn("%u route%s of another protocol left alone, none of ours made there: %s", st.conflicts,
			 st.conflicts == 1 ? "" : "s", st.conflict);
	else if (!st.conflicts)
		a->conflict[0] = '\0';
	write_conflist(a);
out:
	free(routes);
	free(gws);
	free(on);
}

/* --- etcd: the watch ----------------------------------------------------------- */

static void on_events(void *ctx, const struct etcd_event *ev, size_t n, int64_t revision)
{
	struct agent *a = ctx;

	for (size_t i = 0; i < n; i++) {
		const char *name = cluster_node_of_key(a->o->prefix, ev[i].kv.key);
		struct node_rec rec;

		if (!name)
			continue;
		if (!strcmp(name, a->self.name)) {
			if (ev[i].type == ETCD_EV_DELETE) {
				/* The lease ended while we were cut off, or someone
				 * removed the record: claim again, same ranges. */
				log_warn("this node's record was deleted from etcd; claiming its ranges again");
				a->claimed = false;
				a->at_connect = now_ms();
			} else if (decode_peer(a, &ev[i].kv, &rec) == 0 && !node_rec_equal(&rec, &a->self)) {
				char ip[IP_STRLEN];

				log_error("another agent publishes node %s's record (address %s): are two machines "
					  "running with one --node-name?", name, ip_fmt(&rec.ip, ip));
			}
			continue;
		}
		if (ev[i].type == ETCD_EV_DELETE) {
			log_info("node %s left (revision %" PRId64 ")", name, ev[i].kv.mod_rev);
			drop_peer(a, name);
		} else if (decode_peer(a, &ev[i].kv, &rec) == 0) {
			size_t pos;

			if (!find_peer(a, name, &pos))
				log_info("node %s joined (revision %" PRId64 ")", name, ev[i].kv.mod_rev);
			if (put_peer(a, &rec) < 0)
				log_error("out of memory for node %s", name);
		}
	}
	log_debug("watch: %zu events up to revision %" PRId64, n, revision);
	a->need_reconcile = true;
}

static void on_watch_end(void *ctx, int reason, const char *msg)
{
	struct agent *a = ctx;
	char key[64];

	a->listed = false;
	if (now_ms() - a->watch_since >= STALE_AGAIN_MS)
		a->stale_backoff_ms = 0;	/* it had lasted */
	if (reason == -ESTALE) {
		/* Compacted or canceled: list again, at once when the watch
		 * had lasted; a watch that etcd keeps ending soon after it
		 * starts waits longer each time (its own backoff: the list
		 * before it succeeds, which resets the connect backoff). */
		uint64_t now = now_ms(), at;

		if (now - a->watch_since < STALE_AGAIN_MS)
			a->stale_backoff_ms = a->stale_backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
					      : a->stale_backoff_ms ? a->stale_backoff_ms * 2 : BACKOFF_MIN_MS;
		log_info("watch: %s; listing the nodes again%s", msg,
			 a->stale_backoff_ms ? " after a pause" : "");
		/* Not later than a connect step already due (a claim again). */
		at = now + a->stale_backoff_ms;
		if (!a->at_connect || a->at_connect > at)
			a->at_connect = at;
		return;
	}
	snprintf(key, sizeof(key), "watch:%d", reason);
	if (news(a->etcd_said, sizeof(a->etcd_said), key))
		log_error("watch: %s; keeping every route, retrying", msg);
	else
		log_debug("watch: %s", msg);
	retry_later(a);
}

/* List every node, reconcile, and watch from the list's revision. A record
 * that no longer decodes keeps what it said last, as the watch does: a
 * reconnect must not withdraw a node for a bad write. */
static int list_and_watch(struct agent *a, struct rv_err *err)
{
	struct etcd_watch_cb cb = { on_events, on_watch_end, a };
	char key[CLUSTER_KEY_MAX];
	struct etcd_kvs kvs = { 0 };
	struct node_rec *old = a->peers, *rec;
	size_t n_old = a->n_peers;
	int r;

	r = etcd_get(a->etcd, cluster_key_nodes(key, a->o->prefix), true, &kvs, err);
	if (r < 0)
		return r;
	a->peers = NULL;
	a->n_peers = a->cap_peers = 0;
	rec = malloc(sizeof(*rec));
	for (size_t i = 0; rec && i < kvs.n && r == 0; i++) {
		const char *name = cluster_node_of_key(a->o->prefix, kvs.v[i].key);

		if (!name || !strcmp(name, a->self.name))
			continue;
		if (decode_peer(a, &kvs.v[i], rec) == 0) {
			r = put_peer(a, rec);
			continue;
		}
		for (size_t k = 0; k < n_old; k++)
			if (!strcmp(old[k].name, name))
				r = put_peer(a, &old[k]);
	}
	free(old);
	if (!rec || r < 0) {
		free(rec);
		etcd_kvs_done(&kvs);
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	}
	free(rec);
	r = etcd_watch(a->etcd, key, kvs.revision + 1, &cb, err);
	a->watch_since = now_ms();
	log_info("%zu other nodes at revision %" PRId64, a->n_peers, kvs.revision);
	etcd_kvs_done(&kvs);
	if (r < 0)
		return r;
	a->listed = a->ever_listed = true;
	reconcile(a);
	return 0;
}

/* The cluster CIDRs stay unmasqueraded: pod to pod keeps its source. */
static void set_keep(struct agent *a)
{
	a->n_keep = 0;
	for (size_t i = 0; i < a->alloc.conf.n; i++)
		a->keep[a->n_keep++] = a->alloc.conf.cidr[i];
	for (size_t i = 0; i < a->o->n_exclude; i++)
		a->keep[a->n_keep++] = a->o->exclude[i];
}

/* The config again (it may have grown, with `rivetd init --force`), then
 * the nodes again, for those skipped as outside the config. */
static void reread_config(struct agent *a)
{
	struct cluster_conf c;
	struct etcd_kvs kvs = { 0 };
	struct rv_err err = { 0 };
	char key[CLUSTER_KEY_MAX];

	a->at_reread = 0;
	a->conf_read_at = now_ms();
	if (etcd_get(a->etcd, cluster_key_config(key, a->o->prefix), false, &kvs, &err) < 0 || !kvs.n ||
	    cluster_conf_decode(kvs.v[0].value, kvs.v[0].value_len, &c, &err) < 0) {
		etcd_kvs_done(&kvs);
		log_debug("cannot read the cluster's config again (%s); trying in %u s",
			  err.msg[0] ? err.msg : "no config", CONF_REREAD_MS / 1000);
		a->at_reread = a->conf_read_at + CONF_REREAD_MS;	/* the node is still skipped */
		return;
	}
	etcd_kvs_done(&kvs);
	if (cluster_conf_equal(&c, &a->alloc.conf))
		return;
	for (size_t i = 0; i < a->alloc.n; i++) {
		if (cluster_range_index(&c, &a->alloc.ranges[i]) < 0) {
			log_error("the cluster's config changed, and no longer holds this node's ranges: "
				  "keeping the config this node was claimed under");
			return;
		}
	}
	if (c.backend != a->alloc.conf.backend || c.vni != a->alloc.conf.vni || c.port != a->alloc.conf.port)
		log_warn("the cluster's backend, VNI or port changed: restart the agents to apply it");
	log_info("the cluster's CIDRs changed; listing the nodes again");
	memcpy(a->alloc.conf.cidr, c.cidr, sizeof(c.cidr));
	memcpy(a->alloc.conf.node_len, c.node_len, sizeof(c.node_len));
	a->alloc.conf.n = c.n;
	set_keep(a);	/* the conflist follows at the next reconcile */
	etcd_watch_stop(a->etcd);
	a->listed = false;
	a->at_connect = now_ms();
}

/* --- etcd: this node ----------------------------------------------------------- */

/* The node's addresses and uplink, from --node-ip or the default routes. */
static int learn_node(struct agent *a, struct rv_err *err)
{
	struct node_rec *s = &a->self;
	bool v6_cidr = false;
	int r;

	s->ip = a->o->node_ip;
	s->ip6 = a->o->node_ip6;
	for (size_t i = 0; i < a->alloc.conf.n; i++)
		v6_cidr |= a->alloc.conf.cidr[i].ip.family == AF_INET6;
	if (!s->ip.family) {
		r = node_default_source(AF_INET, &s->ip, err);
		if (r == -ENETUNREACH)
			r = node_default_source(AF_INET6, &s->ip, err);
		if (r == -ENETUNREACH)
			return err_set(err, CNI_ERR_CONFIG, ENETUNREACH,
				       "this node has no default route to take its address from: give --node-ip");
		if (r < 0)
			return r;
	}
	/* A dual-stack cluster's IPv6 ranges go direct via an IPv6 address,
	 * when the node has one: the IPv6 default route's source. */
	if (v6_cidr && s->ip.family == AF_INET && !s->ip6.family &&
	    node_default_source(AF_INET6, &s->ip6, NULL) < 0)
		s->ip6 = (struct rv_ip){ 0 };
	return node_link_of(&s->ip, &a->uplink, err);
}

/* The store's reservations: which range of CIDR @i this node's pods use. */
struct held_walk {
	const struct cluster_conf *c;
	size_t i;
	struct rv_prefix found;
	bool any;
};

static int held_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	struct held_walk *w = ctx;
	struct rv_prefix p = { .ip = *ip, .len = w->c->node_len[w->i] };

	(void)o;
	if (!prefix_contains(&w->c->cidr[w->i], ip))
		return 0;
	w->found = prefix_masked(&p);
	w->any = true;
	return 1;
}

static int held_range(void *ctx, const struct cluster_conf *c, size_t i, struct rv_prefix *out)
{
	struct agent *a = ctx;
	struct held_walk w = { c, i, { { 0 }, 0 }, false };
	struct ipam_store s;
	int r;

	r = ipam_store_open(&s, a->o->ipam_data_dir, a->o->network, false, false, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = ipam_store_walk(&s, held_cb, &w);
	ipam_store_close(&s);
	if (r < 0)
		return r;
	if (w.any)
		*out = w.found;
	return w.any;
}

static int publish_alive(struct agent *a, struct rv_err *err)
{
	char key[CLUSTER_KEY_MAX], value[96];
	int r;

	if (!a->agent_lease && (r = etcd_lease_grant(a->etcd, AGENT_ALIVE_TTL, &a->agent_lease, err)) < 0)
		return r;
	snprintf(value, sizeof(value), "{\"pid\":%d}", (int)getpid());
	r = etcd_put(a->etcd, cluster_key_agent(key, a->o->prefix, a->self.name), value, a->agent_lease, err);
	if (r == -ENOENT) {
		a->agent_lease = 0;
		return publish_alive(a, err);
	}
	if (r == 0)
		a->at_alive = now_ms() + AGENT_ALIVE_TTL * 1000 / 3;
	return r;
}

static void schedule_renew(struct agent *a)
{
	int64_t period = a->alloc.ttl * 1000 / 3;

	a->at_renew = now_ms() + (uint64_t)(period < 1000 ? 1000 : period > 3600000 ? 3600000 : period);
}

static int claim(struct agent *a, struct rv_err *err)
{
	char ip[IP_STRLEN], r0[IP_STRLEN], r1[IP_STRLEN];
	int r;

	if ((r = learn_node(a, err)) < 0)
		return r;
	a->self.backend = a->alloc.conf.backend;
	a->self.has_vtep = a->alloc.conf.backend != BACKEND_DIRECT;
	if (a->self.has_vtep)
		cluster_vtep_mac(a->self.name, a->self.vtep_mac);
	if ((r = alloc_claim(&a->alloc, &a->self, err)) < 0)
		return r;
	if (r > 0) {
		log_warn("%s: the claim holds; a restart will find it in etcd by node name", err->msg);
		*err = (struct rv_err){ 0 };
	}
	a->conf_read_at = now_ms();
	a->claimed = true;
	schedule_renew(a);
	log_info("node %s (%s) holds %s%s%s on lease %" PRIx64 " (TTL %" PRId64 " s), backend %s, uplink %s MTU %u",
		 a->self.name, ip_fmt(&a->self.ip, ip), prefix_fmt(&a->alloc.ranges[0], r0),
		 a->alloc.n > 1 ? " and " : "", a->alloc.n > 1 ? prefix_fmt(&a->alloc.ranges[1], r1) : "",
		 (uint64_t)a->alloc.lease, a->alloc.ttl, cluster_backend_name(a->alloc.conf.backend),
		 a->uplink.name, a->uplink.mtu);
	set_keep(a);
	/* A conflist that cannot be written is said and tried again; the
	 * range is held and the routes are made regardless. */
	write_conflist(a);
	return 0;
}

/* The connect job: as far as it gets. */
static void connect_step(struct agent *a)
{
	struct rv_err err = { 0 };
	int r;

	a->at_connect = 0;
	if (a->claimed && !a->listed) {
		/* Back after an outage: is the lease still ours? */
		r = alloc_renew(&a->alloc, &err);
		if (r == -ENOENT) {
			log_warn("this node's range lease ended while etcd could not be reached; claiming again");
			a->claimed = false;
		} else if (r < 0) {
			trouble(a, &err, "renewing the range lease");
			retry_later(a);
			return;
		}
	}
	if (!a->claimed) {
		/* A watch that runs keeps running: peers' changes go on being
		 * recorded while this node's own claim is retried, and are
		 * applied once it holds again (until then the routes stay as
		 * they are: the node's range may be another's by now). */
		if ((r = claim(a, &err)) < 0) {
			trouble(a, &err, "claiming this node's ranges");
			retry_later(a);
			return;
		}
		if (a->listed)
			reconcile(a);
	}
	if ((r = publish_alive(a, &err)) < 0) {
		trouble(a, &err, "publishing this agent's liveness");
		retry_later(a);
		return;
	}
	if (!a->listed && (r = list_and_watch(a, &err)) < 0) {
		trouble(a, &err, "listing the nodes");
		retry_later(a);
		return;
	}
	recovered(a);
	a->backoff_ms = BACKOFF_MIN_MS;
}

static void renew_step(struct agent *a)
{
	struct rv_err err = { 0 };
	int r;

	/* While etcd is away, reconnecting checks the lease first. */
	if (!a->listed) {
		schedule_renew(a);
		return;
	}
	r = alloc_renew(&a->alloc, &err);
	a->at_renew = 0;
	if (r == 0) {
		a->renew_backoff_ms = BACKOFF_MIN_MS;
		schedule_renew(a);
		return;
	}
	if (r == -ENOENT) {
		log_warn("this node's range lease ended; claiming its ranges again");
		a->claimed = false;
		a->at_connect = now_ms();
		return;
	}
	/* Each try may block for the etcd timeout: back off, as connecting does. */
	trouble(a, &err, "renewing the range lease");
	a->at_renew = now_ms() + a->renew_backoff_ms;
	a->renew_backoff_ms = a->renew_backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->renew_backoff_ms * 2;
}

static void alive_step(struct agent *a)
{
	struct rv_err err = { 0 };
	int64_t ttl;
	int r;

	a->at_alive = 0;
	if (!a->listed) {
		/* Reconnecting publishes it again. */
		a->at_alive = now_ms() + AGENT_ALIVE_TTL * 1000 / 3;
		return;
	}
	r = a->agent_lease ? etcd_lease_keepalive(a->etcd, a->agent_lease, &ttl, &err) : -ENOENT;
	if (r == -ENOENT) {
		a->agent_lease = 0;
		r = publish_alive(a, &err);
	}
	/* A failed renewal is tried at the next period: the lease outlasts two. */
	a->at_alive = now_ms() + AGENT_ALIVE_TTL * 1000 / 3;
}

/* --- the loop ------------------------------------------------------------------ */

static void arm(int fd, uint64_t at_ms)
{
	struct itimerspec its = { 0 };

	if (at_ms) {
		/* Absolute CLOCK_MONOTONIC; a deadline already past fires at once. */
		its.it_value.tv_sec = (time_t)(at_ms / 1000);
		its.it_value.tv_nsec = (long)(at_ms % 1000) * 1000000 + 1;
	}
	timerfd_settime(fd, at_ms ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

static void rearm(struct agent *a)
{
	uint64_t at = 0, t[] = { a->at_connect, a->at_renew, a->at_alive, a->at_reconcile, a->at_reread };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] && (!at || t[i] < at))
			at = t[i];
	arm(a->tfd, at);
}

static void curl_fd(void *ctx, int fd, unsigned events)
{
	struct agent *a = ctx;
	struct epoll_event ev = { .data.u64 = (uint64_t)TAG_CURL << 32 | (uint32_t)fd };

	if (!events) {
		epoll_ctl(a->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	ev.events = (events & ETCD_POLL_IN ? EPOLLIN : 0) | (events & ETCD_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(a->ep, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void curl_timer(void *ctx, long ms)
{
	struct agent *a = ctx;

	arm(a->curl_tfd, ms < 0 ? 0 : now_ms() + (uint64_t)ms);
}

/* A change in the kernel that may have undone some of our work; a change of
 * the uplink also means its MTU may have changed (a->relearn). */
static bool concerns_us(struct agent *a, const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_DELROUTE: {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

		return rtm->rtm_protocol == a->o->route_protocol;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
		const struct nlattr *at;

		if (ifi->ifi_index == a->uplink.ifindex) {
			a->relearn = true;
			return true;
		}
		mnl_attr_for_each(at, nlh, sizeof(*ifi))
			if (mnl_attr_get_type(at) == IFLA_IFNAME && mnl_attr_validate(at, MNL_TYPE_NUL_STRING) == 0 &&
			    !strcmp(mnl_attr_get_str(at), RS_VXLAN_DEV))
				return true;
		return false;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

		if ((int)ifa->ifa_index != a->uplink.ifindex)
			return false;
		a->relearn = true;
		return true;
	}
	}
	return false;
}

static void read_netlink(struct agent *a)
{
	char buf[16384] __attribute__((aligned(8)));
	ssize_t len;

	while ((len = recv(a->nlfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)len;

		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			uint64_t soon = now_ms() + RECONCILE_DELAY_MS;

			/* Sooner than a retry planned for later (a conflist that
			 * cannot be written waits the longest backoff). */
			if (a->claimed && concerns_us(a, nlh) && (!a->at_reconcile || a->at_reconcile > soon))
				a->at_reconcile = soon;
		}
	}
	/* ENOBUFS: we missed some; a reconcile covers whatever it was. */
	if (len < 0 && errno == ENOBUFS && a->claimed)
		a->at_reconcile = now_ms() + RECONCILE_DELAY_MS;
}

static void read_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reconciling");
			a->need_reconcile = true;
		} else {
			log_info("%s: stopping; routes, ranges and the conflist stay as they are",
				 strsignal((int)si.ssi_signo));
			a->stop = true;
		}
	}
}

static void run_timers(struct agent *a)
{
	uint64_t now = now_ms();
	uint64_t expirations;

	(void)!read(a->tfd, &expirations, sizeof(expirations));
	if (a->at_connect && a->at_connect <= now)
		connect_step(a);
	if (a->at_renew && a->at_renew <= now)
		renew_step(a);
	if (a->at_alive && a->at_alive <= now)
		alive_step(a);
	if (a->at_reconcile && a->at_reconcile <= now)
		a->need_reconcile = true;
}

static int add_fd(struct agent *a, int fd, unsigned tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)tag << 32 | (uint32_t)fd };

	return epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int lock_state_dir(struct agent *a)
{
	char path[4096], pid[32] = "";
	int r;

	if ((r = fs_mkdir_p(a->o->state_dir, 0700)) < 0) {
		log_error("cannot create the state directory %s: %s", a->o->state_dir, strerror(-r));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/rivetd.lock", a->o->state_dir);
	a->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->lockfd < 0) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(a->lockfd, LOCK_EX | LOCK_NB) < 0) {
		(void)!pread(a->lockfd, pid, sizeof(pid) - 1, 0);
		pid[strcspn(pid, "\n")] = '\0';
		log_error("another rivetd (pid %s) runs with --state-dir %s; one agent per node and state "
			  "directory", pid[0] ? pid : "?", a->o->state_dir);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(a->lockfd, 0) == 0)
		(void)!pwrite(a->lockfd, pid, strlen(pid), 0);
	return 0;
}

static int setup(struct agent *a)
{
	struct etcd_loop loop = { curl_fd, curl_timer, a };
	struct rv_err err = { 0 };
	sigset_t set;

	if (lock_state_dir(a) < 0)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* A peer closing its end of a socket must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	a->curl_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	a->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (a->ep < 0 || a->sigfd < 0 || a->tfd < 0 || a->curl_tfd < 0 || !a->nl ||
	    mnl_socket_bind(a->nl, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
					  RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	a->nlfd = mnl_socket_get_fd(a->nl);
	if (add_fd(a, a->sigfd, TAG_SIGNAL) < 0 || add_fd(a, a->tfd, TAG_TIMER) < 0 ||
	    add_fd(a, a->curl_tfd, TAG_CURL_TIMER) < 0 || add_fd(a, a->nlfd, TAG_NETLINK) < 0) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	if (etcd_open(&a->etcd, &a->o->etcd, &err) < 0) {
		log_error("%s", err.msg);
		return -1;
	}
	etcd_set_loop(a->etcd, &loop);
	return 0;
}

static void teardown(struct agent *a)
{
	struct rv_err err = { 0 };

	if (a->etcd) {
		etcd_watch_stop(a->etcd);
		/* Said goodbye: `rivetd leave` need not wait for the key to expire. */
		if (a->agent_lease && etcd_lease_revoke(a->etcd, a->agent_lease, &err) < 0 && err.msg[0])
			log_debug("revoking the liveness lease: %s", err.msg);
		etcd_close(a->etcd);
	}
	if (a->nl)
		mnl_socket_close(a->nl);
	/* The lock goes last, with the process: the state directory is ours
	 * until nothing of this agent is left. */
	if (a->ep >= 0)
		close(a->ep);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->tfd >= 0)
		close(a->tfd);
	if (a->curl_tfd >= 0)
		close(a->curl_tfd);
	if (a->lockfd >= 0)
		close(a->lockfd);
	free(a->peers);
}

int agent_run(const struct agent_opts *o)
{
	struct agent a = {
		.o = o, .backoff_ms = BACKOFF_MIN_MS, .renew_backoff_ms = BACKOFF_MIN_MS,
		.ep = -1, .sigfd = -1, .tfd = -1, .curl_tfd = -1, .nlfd = -1, .lockfd = -1,
	};
	int status = 1;

	snprintf(a.self.name, sizeof(a.self.name), "%s", o->node_name);
	a.alloc = (struct alloc){
		.prefix = o->prefix, .state_dir = o->state_dir, .ttl = o->subnet_ttl,
		.held = held_range, .ctx = &a,
	};
	if (setup(&a) < 0)
		goto out;
	a.alloc.etcd = a.etcd;
	log_info("rivetd %s starting: node %s, etcd %s, prefix %s", RIVET_VERSION, o->node_name,
		 o->etcd.endpoints, o->prefix);
	a.at_connect = now_ms();
	while (!a.stop) {
		struct epoll_event ev[16];
		int n;

		rearm(&a);
		n = epoll_wait(a.ep, ev, 16, -1);
		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !a.stop; i++) {
			unsigned tag = (unsigned)(ev[i].data.u64 >> 32);
			int fd = (int)(uint32_t)ev[i].data.u64;

			switch (tag) {
			case TAG_SIGNAL:
				read_signal(&a);
				break;
			case TAG_TIMER:
				run_timers(&a);
				break;
			case TAG_CURL_TIMER: {
				uint64_t x;

				(void)!read(fd, &x, sizeof(x));
				etcd_perform(a.etcd, -1, 0);
				break;
			}
			case TAG_NETLINK:
				read_netlink(&a);
				break;
			case TAG_CURL:
				etcd_perform(a.etcd, fd, (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? ETCD_POLL_IN : 0) |
							 (ev[i].events & EPOLLOUT ? ETCD_POLL_OUT : 0));
				break;
			}
		}
		if (a.at_reread && a.at_reread <= now_ms() && !a.stop)
			reread_config(&a);
		if (a.need_reconcile && !a.stop)
			reconcile(&a);
	}
	status = a.stop ? 0 : 1;
out:
	teardown(&a);
	return status;
}

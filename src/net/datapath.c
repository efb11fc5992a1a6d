// SPDX-License-Identifier: Apache-2.0
/*
 * ADD and DEL of the /32 topology (see datapath.h), in as few netlink round
 * trips as the kernel allows:
 *
 *   host batch 1   read the host end's name (who holds it decides what
 *                  may be done to it), [route lookups for the MTU]
 *   host batch 2   [read the default route's device], [delete this
 *                  attachment's leftover], create veth, name it (alias),
 *                  read host end
 *   host batch 3   MTU, IPv4 router settings, no auto link-local,
 *                  proxy_delay, gateway link-local, up, /32 routes,
 *                  read global forwarding
 *   pod batch      lo up, addresses, MTU, up, gateway neighbours,
 *                  gateway route, default routes, IPAM routes, read back
 *
 * Host batch 3 and the pod batch go to the kernel back to back and are
 * acknowledged together. The only files written are the IPv6 per-device
 * settings that have no netlink form, and only when the pod has IPv6. The
 * kernel handles all the requests of one sendmsg inside that system call,
 * so a kill cannot fall between them, which is why the alias rides in the
 * batch that creates the veth; it also goes on after a request fails, which
 * is why the host end's name is read in a batch of its own first.
 */
#include <errno.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/datapath.h"
#include "net/link.h"
#include "net/neigh.h"
#include "net/netns.h"
#include "net/nlbatch.h"
#include "net/route.h"
#include "net/sysctl.h"
#include "util/log.h"

const uint8_t dp_host_mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void datapath_host_ifname(const char *container_id, const char *ifname, char *out)
{
	uint64_t h = 0xcbf29ce484222325ull;

	/* The NUL separates the two, so ("ab","c") and ("a","bc") differ. */
	h = fnv1a(h, container_id, strlen(container_id) + 1);
	h = fnv1a(h, ifname, strlen(ifname));
	snprintf(out, 16, DP_HOST_PREFIX "%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

void datapath_alias(const char *network, const char *container_id, const char *ifname, char *out)
{
	int head = snprintf(out, LINK_ALIAS_MAX, DP_ALIAS_PREFIX "%s %s ", container_id, ifname);
	size_t room, net = strlen(network);

	/* The names rivet accepts (container ID and network name up to 200
	 * bytes each) can make the alias longer than the kernel keeps. Cut,
	 * it would match the links of every network sharing the kept part;
	 * so the network's name is then cut shorter still and followed by a
	 * hash of the whole, and GC compares whole aliases. */
	room = head >= 0 && (size_t)head < DP_ALIAS_LEN ? DP_ALIAS_LEN - (size_t)head : 0;
	if (net <= room) {
		memcpy(out + head, network, net + 1);
		return;
	}
	if (room > 17)
		snprintf(out + head, room + 1, "%.*s~%016llx", (int)(room - 17), network,
			 (unsigned long long)fnv1a(0xcbf29ce484222325ull, network, net));
	else
		out[head > 0 && (size_t)head < LINK_ALIAS_MAX ? head : 0] = '\0';
}

struct rv_ip datapath_gateway(int family)
{
	struct rv_ip gw;

	ip_parse(family == AF_INET ? DP_GW4 : DP_GW6, &gw);
	return gw;
}

static bool has_family(const struct dp_spec *s, int family)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (s->addrs[i].family == family)
			return true;
	return false;
}

/* Addresses a default route must match and nothing more specific should:
 * the documentation prefixes, which no pod network uses. */
static const char *const mtu_probes[] = { "192.0.2.1", "198.51.100.1", "2001:db8::1" };
#define N_PROBES (sizeof(mtu_probes) / sizeof(mtu_probes[0]))

struct host_ctx {
	struct nlconn host, pod;
	struct nlbatch hb, pb;
	struct link_info hlink, plink, mtu_link, conflict_link;
	struct route_info probes[N_PROBES], conflict;
	struct netconf_info fwd4, fwd6;
	int first_route;	/* host batch index of the first /32 route */
};

/* The index the next request added to @b will have. */
static int next_req(const struct nlbatch *b)
{
	return b->complete ? 0 : (int)b->n;
}

/* Is the link that holds the host end's name this attachment's own? Its
 * alias says so; a veth without one is a leftover of an older rivet, which
 * named links in a later batch, or of this very attachment. */
static bool ours(const struct link_info *l, const struct dp_spec *s)
{
	return l->alias[0] ? !strcmp(l->alias, s->alias) : !strcmp(l->kind, "veth");
}

/* Host batch 1: the host end's name, read before anything is made, so that
 * the decision over a link that holds it rests on what it was, not on what
 * the creating batch did to it (the kernel goes on with a batch after a
 * failed request: a failed create is followed by the alias request, which
 * would rename whatever holds the name). With the MTU to find, the route
 * lookups ride along. */
static int read_before(struct host_ctx *c, const struct dp_spec *s, bool probe, struct link_info *before,
		       struct rv_err *err)
{
	link_get(&c->hb, 0, s->host_if, before);
	if (probe) {
		for (size_t i = 0; i < N_PROBES; i++) {
			struct rv_ip p;

			ip_parse(mtu_probes[i], &p);
			if (has_family(s, p.family))
				route_lookup(&c->hb, &p, &c->probes[i]);
			else
				memset(&c->probes[i], 0, sizeof(c->probes[i]));
		}
	}
	return nlbatch_run(&c->hb, err);
}

/* The MTU: the config's, or the default route's device's (read in host
 * batch 2 when the lookups found one), or 1500. */
static void queue_mtu_read(struct host_ctx *c, const struct dp_spec *s)
{
	memset(&c->mtu_link, 0, sizeof(c->mtu_link));
	if (s->mtu)
		return;
	for (size_t i = 0; i < N_PROBES; i++) {
		if (!c->probes[i].found || c->probes[i].dst_len || c->probes[i].oif <= 0)
			continue;
		link_get(&c->hb, c->probes[i].oif, NULL, &c->mtu_link);
		break;
	}
}

static void resolve_mtu(struct host_ctx *c, const struct dp_spec *s, struct dp_state *st)
{
	static char source[64];

	st->mtu = s->mtu;
	st->mtu_source = "config";
	if (s->mtu)
		return;
	st->mtu = DP_DEFAULT_MTU;
	st->mtu_source = "no default route: 1500";
	if (c->mtu_link.found && c->mtu_link.mtu >= 68) {
		st->mtu = c->mtu_link.mtu;
		snprintf(source, sizeof(source), "default route via %s", c->mtu_link.name);
		st->mtu_source = source;
	}
}

/* Host batches 1 and 2: make the pair, named, unless the host end's name
 * belongs to someone else. */
static int create_pair(struct host_ctx *c, const struct dp_spec *s, struct dp_state *st, struct rv_err *err)
{
	const struct nlbatch_req *del, *create, *alias;
	struct link_info before;
	int r, i_del = -1, i_create, i_alias;

	r = read_before(c, s, s->mtu == 0, &before, err);
	if (r < 0)
		return r;
	if (before.found && !ours(&before, s))
		return err_set(err, RIVET_ERR_HOSTVETH_TAKEN, EEXIST,
			       "host interface %s exists and is not this attachment's (%s%s%s); "
			       "remove it if it is stale", s->host_if, before.alias[0] ? "alias \"" : "a ",
			       before.alias[0] ? before.alias : before.kind[0] ? before.kind : "link",
			       before.alias[0] ? "\"" : " without an alias");

	queue_mtu_read(c, s);
	if (before.found) {
		/* Left by an earlier attempt for this attachment: the runtime
		 * retries an ADD without a DEL. By index, so it is the very
		 * link just read. */
		log_info("replacing %s left by an earlier attempt for this attachment", s->host_if);
		i_del = next_req(&c->hb);
		link_del(&c->hb, before.ifindex, s->host_if);
	}
	i_create = next_req(&c->hb);
	link_veth_add(&c->hb, s->host_if, dp_host_mac, s->pod_if, s->pod_nsfd, s->pod_mac);
	/* The kernel ignores IFLA_IFALIAS when it creates a link. Set in the
	 * same sendmsg, the alias cannot be separated from the creation by a
	 * kill: the kernel handles all of one sendmsg's requests inside that
	 * system call. (Another process can see the link between the two;
	 * GC allows for that.) */
	i_alias = next_req(&c->hb);
	link_set(&c->hb, 0, s->host_if, &(struct link_conf){ .alias = s->alias });
	link_get(&c->hb, 0, s->host_if, &c->hlink);
	r = nlbatch_run(&c->hb, err);
	if (r == 0 && c->hlink.found) {
		resolve_mtu(c, s, st);
		return 0;
	}
	del = nlbatch_req(&c->hb, i_del);
	create = nlbatch_req(&c->hb, i_create);
	alias = nlbatch_req(&c->hb, i_alias);
	if (del && del->error && r < 0)
		return r;	/* the leftover stays; @err names the deletion */
	if (create && create->error) {
		/* Not made. What holds the name now appeared after it was
		 * read; it is not touched (though the alias request ran on
		 * it, which only an ADD of this very attachment, racing this
		 * one, can have made). */
		if (create->error == -EEXIST && c->hlink.found)
			return err_set(err, RIVET_ERR_HOSTVETH_TAKEN, EEXIST,
				       "host interface %s appeared while rivet was making it; "
				       "is another ADD of this attachment running?", s->host_if);
		if (create->error == -EEXIST)
			return err_set(err, RIVET_ERR_IFNAME_TAKEN, EEXIST,
				       "interface %s already exists in the pod's network namespace; "
				       "choose another CNI_IFNAME or remove it", s->pod_if);
		return r;
	}
	/* Made, but not named (or not readable): a veth without its alias
	 * must not outlive this call. */
	if (c->hlink.found) {
		struct rv_err ignored = { 0 };

		link_del(&c->hb, c->hlink.ifindex, s->host_if);
		(void)nlbatch_run(&c->hb, &ignored);
	}
	if (r < 0 && alias && alias->error)
		err_prefix(err, "naming the new veth");
	return r < 0 ? r : err_set(err, RIVET_ERR_NETLINK, ENODEV,
				   "veth %s vanished right after it was made", s->host_if);
}

/* Entering the pod once: the IPv6 settings of its end that have no netlink
 * form, then the socket rivet configures the pod through. */
static int open_pod(struct host_ctx *c, const struct dp_spec *s, struct rv_err *err)
{
	char path[96];
	int saved, r, fd, disabled = 0;

	r = netns_enter(s->pod_nsfd, &saved);
	if (r < 0)
		return err_set(err, RIVET_ERR_NETLINK, -r, "cannot enter the pod's network namespace: %s",
			       strerror(-r));
	if (has_family(s, AF_INET6)) {
		/* A runtime may disable IPv6 in the pod; this pod has an IPv6
		 * address, so its interface needs it. */
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/disable_ipv6", s->pod_if);
		if (sysctl_read_int(path, &disabled) == 0 && disabled)
			(void)sysctl_write(path, "0");
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/accept_dad", s->pod_if);
		(void)sysctl_write(path, "0");
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	r = fd < 0 ? -errno : 0;
	netns_restore(saved);
	if (r < 0)
		return err_set(err, RIVET_ERR_NETLINK, -r, "cannot open a netlink socket in the pod: %s",
			       strerror(-r));
	return nlconn_adopt(&c->pod, fd, err);
}

static void host_batch(struct host_ctx *c, const struct dp_spec *s, const struct dp_state *st)
{
	bool v4 = has_family(s, AF_INET), v6 = has_family(s, AF_INET6);
	struct link_conf conf = {
		.mtu = st->mtu, .ipv4_router = true, .ipv6_no_auto_ll = v6,
	};
	struct rv_prefix ll = { .ip = datapath_gateway(AF_INET6), .len = 64 };
	int idx = st->host_ifindex;

	link_set(&c->hb, idx, s->host_if, &conf);
	if (v4)
		neigh_proxy_delay(&c->hb, idx, s->host_if, 0);
	if (v6)
		addr_add(&c->hb, idx, s->host_if, &ll, RT_SCOPE_LINK);
	link_set(&c->hb, idx, s->host_if, &(struct link_conf){ .up = true });
	c->first_route = (int)c->hb.n;
	for (size_t i = 0; i < s->n_addrs; i++) {
		struct route_req r = {
			.dst = { .ip = s->addrs[i], .len = ip_bits(s->addrs[i].family) },
			.oif = idx,
			.scope = RT_SCOPE_LINK,
		};

		route_add(&c->hb, &r, s->host_if, true);
	}
	if (v4)
		netconf_get_all(&c->hb, AF_INET, &c->fwd4);
	if (v6)
		netconf_get_all(&c->hb, AF_INET6, &c->fwd6);
}

static void pod_batch(struct host_ctx *c, const struct dp_spec *s, const struct dp_state *st)
{
	struct rv_ip gw4 = datapath_gateway(AF_INET), gw6 = datapath_gateway(AF_INET6);
	int idx = st->pod_ifindex;

	link_set(&c->pb, 1, "lo", &(struct link_conf){ .up = true });
	for (size_t i = 0; i < s->n_addrs; i++) {
		struct rv_prefix p = { .ip = s->addrs[i], .len = ip_bits(s->addrs[i].family) };

		addr_add(&c->pb, idx, s->pod_if, &p, RT_SCOPE_UNIVERSE);
	}
	link_set(&c->pb, idx, s->pod_if, &(struct link_conf){ .mtu = st->mtu, .up = true });
	if (has_family(s, AF_INET)) {
		struct route_req link = { .dst = { .ip = gw4, .len = 32 }, .oif = idx, .scope = RT_SCOPE_LINK };
		struct route_req def = { .dst = { .ip = { .family = AF_INET } }, .gw = gw4, .oif = idx };

		neigh_add_permanent(&c->pb, idx, s->pod_if, &gw4, dp_host_mac);
		route_add(&c->pb, &link, s->pod_if, false);
		route_add(&c->pb, &def, s->pod_if, false);
	}
	if (has_family(s, AF_INET6)) {
		struct route_req def = { .dst = { .ip = { .family = AF_INET6 } }, .gw = gw6, .oif = idx };

		neigh_add_permanent(&c->pb, idx, s->pod_if, &gw6, dp_host_mac);
		route_add(&c->pb, &def, s->pod_if, false);
	}
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct rv_route *rt = &s->routes[i];
		struct route_req r = {
			.dst = prefix_masked(&rt->dst),
			.gw = datapath_gateway(rt->dst.ip.family),
			.oif = idx,
			.table = rt->has & ROUTE_HAS_TABLE ? rt->table : 0,
			.priority = rt->has & ROUTE_HAS_PRIORITY ? rt->priority : 0,
			.mtu = rt->has & ROUTE_HAS_MTU ? rt->mtu : 0,
			.advmss = rt->has & ROUTE_HAS_ADVMSS ? rt->advmss : 0,
		};

		/* A default route is already there; an IPAM route of the
		 * same destination is the same route. */
		if (!r.dst.len && !r.table && !r.priority)
			continue;
		route_add(&c->pb, &r, s->pod_if, false);
		nlbatch_ok(&c->pb, NLB_OK_EXIST);
	}
	link_get(&c->pb, idx, s->pod_if, &c->plink);
}

/* EEXIST on a host route: say which interface owns the address now. */
static int route_conflict(struct host_ctx *c, const struct dp_spec *s, const struct rv_ip *ip,
			  struct rv_err *err)
{
	char a[IP_STRLEN];
	const char *other = "another interface";

	route_lookup(&c->hb, ip, &c->conflict);
	if (nlbatch_run(&c->hb, NULL) == 0 && c->conflict.found && c->conflict.oif > 0) {
		link_get(&c->hb, c->conflict.oif, NULL, &c->conflict_link);
		if (nlbatch_run(&c->hb, NULL) == 0 && c->conflict_link.found)
			other = c->conflict_link.name;
	}
	return err_set(err, RIVET_ERR_ROUTE_CONFLICT, EEXIST,
		       "a host route for %s already exists and points at %s, not at %s; "
		       "the address is in use on this node (a leaked route or an overlapping network)",
		       ip_fmt(ip, a), other, s->host_if);
}

static int configure(struct host_ctx *c, const struct dp_spec *s, struct dp_state *st,
		     struct rv_err *err)
{
	const struct nlbatch_req *req;
	struct rv_err perr = { 0 };
	char path[96];
	int r, rp;

	if (has_family(s, AF_INET6)) {
		/* The host end routes for the pod; it must not take the pod's
		 * router advertisements as its own routes. */
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/forwarding", s->host_if);
		(void)sysctl_write(path, "1");
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/accept_ra", s->host_if);
		(void)sysctl_write(path, "0");
	}
	host_batch(c, s, st);
	pod_batch(c, s, st);
	r = nlbatch_send(&c->hb, err);
	if (r < 0)
		return r;
	rp = nlbatch_send(&c->pb, &perr);
	r = nlbatch_wait(&c->hb, err);
	if (rp == 0)
		rp = nlbatch_wait(&c->pb, &perr);
	if (r < 0) {
		int i = c->hb.failed - c->first_route;

		req = nlbatch_req(&c->hb, c->hb.failed);
		if (req && req->error == -EEXIST && i >= 0 && (size_t)i < s->n_addrs)
			return route_conflict(c, s, &s->addrs[i], err);
		err_prefix(err, "host side");
		return r;
	}
	if (rp < 0) {
		*err = perr;
		err_prefix(err, "pod side");
		return rp;
	}
	if (!c->plink.found)
		return err_set(err, RIVET_ERR_NETLINK, ENODEV, "pod interface %s vanished", s->pod_if);
	memcpy(st->pod_mac, c->plink.mac, 6);

	/* Global forwarding, written only when off (a write to ip_forward
	 * resets every device's forwarding, so it is not done blindly). */
	if (c->fwd4.found && !c->fwd4.forwarding && (r = sysctl_write("net/ipv4/ip_forward", "1")) < 0)
		return err_set(err, RIVET_ERR_NETLINK, -r, "cannot enable IPv4 forwarding: %s", strerror(-r));
	if (c->fwd6.found && !c->fwd6.forwarding &&
	    (r = sysctl_write("net/ipv6/conf/all/forwarding", "1")) < 0)
		return err_set(err, RIVET_ERR_NETLINK, -r, "cannot enable IPv6 forwarding: %s", strerror(-r));
	return 0;
}

int datapath_add(const struct dp_spec *s, struct dp_state *st, struct rv_err *err)
{
	/* The batch buffers are written before they are read; zeroing them
	 * was a sixth of ADD's user-space instructions. */
	char hbuf[NLBATCH_BUF], pbuf[NLBATCH_BUF];
	struct host_ctx *c;
	int r;

	memset(st, 0, sizeof(*st));
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	r = nlconn_open(&c->host, NETLINK_ROUTE, -1, err);
	if (r < 0)
		goto out;
	nlbatch_init(&c->hb, &c->host, hbuf);

	r = create_pair(c, s, st, err);
	if (r < 0)
		goto out;
	st->host_ifindex = c->hlink.ifindex;
	st->pod_ifindex = c->hlink.peer_ifindex;

	r = open_pod(c, s, err);
	if (r == 0) {
		nlbatch_init(&c->pb, &c->pod, pbuf);
		r = configure(c, s, st, err);
	}
	if (r < 0) {
		/* Deleting the host end takes the pod end, its addresses and
		 * routes, and the host routes with it. */
		struct rv_err ignored = { 0 };

		link_del(&c->hb, st->host_ifindex, s->host_if);
		(void)nlbatch_run(&c->hb, &ignored);
	}
out:
	nlconn_close(&c->pod);
	nlconn_close(&c->host);
	free(c);
	return r;
}

int datapath_del(const char *host_if, const char *alias, struct rv_err *err)
{
	char buf[NLBATCH_BUF];
	struct link_info link;
	struct nlbatch b;
	struct nlconn nl;
	int r;

	r = nlconn_open(&nl, NETLINK_ROUTE, -1, err);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	link_get(&b, 0, host_if, &link);
	r = nlbatch_run(&b, err);
	if (r == 0 && link.found) {
		if (alias && link.alias[0] && strcmp(link.alias, alias)) {
			log_warn("leaving %s alone: it belongs to \"%s\", not to this attachment",
				 host_if, link.alias);
		} else if (!link.alias[0] && strcmp(link.kind, "veth")) {
			/* As ADD judges it: without an alias only a veth can be
			 * a leftover of ours. */
			log_warn("leaving %s alone: it is a %s, not a veth of rivet's", host_if,
				 link.kind[0] ? link.kind : "link of unknown kind");
		} else {
			link_del(&b, link.ifindex, host_if);
			r = nlbatch_run(&b, err);
		}
	}
	nlconn_close(&nl);
	return r;
}

int datapath_del_unnamed(const char *host_if, int ifindex, struct rv_err *err)
{
	char buf[NLBATCH_BUF];
	struct link_info link;
	struct nlbatch b;
	struct nlconn nl;
	int r;

	r = nlconn_open(&nl, NETLINK_ROUTE, -1, err);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	link_get(&b, ifindex, NULL, &link);
	r = nlbatch_run(&b, err);
	if (r == 0 && link.found && !link.alias[0] && !strcmp(link.name, host_if) && !strcmp(link.kind, "veth")) {
		/* By index: a link made under the same name since is not it. */
		link_del(&b, link.ifindex, host_if);
		r = nlbatch_run(&b, err);
		if (r == 0)
			r = 1;
	}
	nlconn_close(&nl);
	return r;
}

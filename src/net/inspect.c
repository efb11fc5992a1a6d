// SPDX-License-Identifier: Apache-2.0
/*
 * The read side of the datapath: CHECK, GC's list of host ends, and the
 * operator commands. These read whole objects (a link with its kind, alias
 * and peer; a netns's addresses, routes and neighbours) and compare them,
 * which libnl's typed objects and caches express far more clearly than raw
 * messages would. None of this is on the ADD or DEL path.
 *
 * Caches are only ever filled in the pod's netns, which holds a handful of
 * objects; in the host's netns single objects are read, never a route dump.
 */
#include <errno.h>
#include <linux/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <string.h>

#include "net/datapath.h"
#include "net/link.h"
#include "net/netns.h"
#include "net/nlbatch.h"
#include "net/route.h"
#include "net/sysctl.h"

static int check_fail(struct rv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int check_fail(struct rv_err *err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_vset(err, RIVET_ERR_CHECK, EINVAL, fmt, ap);
	va_end(ap);
	return r;
}

/* A libnl socket in the netns @nsfd (-1: ours). */
static struct nl_sock *sock_in(int nsfd, struct rv_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int saved = -1, r;

	if (!sk) {
		err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		return NULL;
	}
	if (nsfd >= 0 && (r = netns_enter(nsfd, &saved)) < 0) {
		nl_socket_free(sk);
		err_set(err, RIVET_ERR_NETLINK, -r, "cannot enter the pod's network namespace");
		return NULL;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (saved >= 0)
		netns_restore(saved);
	/* libnl waits for answers without a bound of its own. */
	if (r == 0 && nl_bound_receives(nl_socket_get_fd(sk)) < 0)
		r = -NLE_FAILURE;
	if (r < 0) {
		nl_socket_free(sk);
		err_set(err, RIVET_ERR_NETLINK, EIO, "cannot open a netlink socket: %s", nl_geterror(r));
		return NULL;
	}
	return sk;
}

static void mac_fmt(const struct nl_addr *a, char *buf, size_t len)
{
	const unsigned char *m = a ? nl_addr_get_binary_addr(a) : NULL;

	if (!m || nl_addr_get_len(a) != 6) {
		snprintf(buf, len, "(none)");
		return;
	}
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static bool nl_addr_is(const struct nl_addr *a, const struct rv_ip *ip)
{
	return a && nl_addr_get_family(a) == ip->family && nl_addr_get_len(a) == ip_bytes(ip->family) &&
	       !memcmp(nl_addr_get_binary_addr(a), ip->a, ip_bytes(ip->family));
}

static struct nl_addr *to_nl_addr(const struct rv_ip *ip)
{
	return nl_addr_build(ip->family, ip->a, ip_bytes(ip->family));
}

static int check_host(struct nl_sock *sk, const struct dp_expect *e, int pod_ifindex,
		      struct rv_err *err)
{
	struct rtnl_link *link = NULL;
	char mac[24], path[96];
	const char *alias;
	int r, v = 0;

	if (rtnl_link_get_kernel(sk, 0, e->host_if, &link) < 0)
		return check_fail(err, "host interface %s is missing", e->host_if);
	alias = rtnl_link_get_ifalias(link);
	mac_fmt(rtnl_link_get_addr(link), mac, sizeof(mac));
	if (!alias || strcmp(alias, e->alias))
		r = check_fail(err, "host interface %s belongs to \"%s\", not to this attachment",
			       e->host_if, alias ? alias : "");
	else if (strcmp(mac, "ee:ee:ee:ee:ee:ee"))
		r = check_fail(err, "host interface %s has MAC %s instead of ee:ee:ee:ee:ee:ee",
			       e->host_if, mac);
	else if (!(rtnl_link_get_flags(link) & IFF_UP))
		r = check_fail(err, "host interface %s is down", e->host_if);
	else if (rtnl_link_get_link(link) != pod_ifindex)
		r = check_fail(err, "host interface %s is not paired with %s in the pod",
			       e->host_if, e->pod_if);
	else
		r = 0;
	for (size_t i = 0; r == 0 && i < e->n_addrs; i++) {
		if (e->addrs[i].family != AF_INET)
			continue;
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/proxy_arp", e->host_if);
		if (sysctl_read_int(path, &v) == 0 && v != 1)
			r = check_fail(err, "proxy_arp is off on host interface %s", e->host_if);
		break;
	}
	rtnl_link_put(link);
	return r;
}

/* Host routes, by single lookups: never a dump of the node's routes. */
static int check_host_routes(const struct dp_expect *e, int host_ifindex, struct rv_err *err)
{
	struct route_info ri[8];
	char buf[NLBATCH_BUF], a[IP_STRLEN];
	struct nlbatch b;
	struct nlconn nl;
	size_t n = e->n_addrs < 8 ? e->n_addrs : 8;
	int r;

	r = nlconn_open(&nl, NETLINK_ROUTE, -1, err);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	for (size_t i = 0; i < n; i++)
		route_lookup(&b, &e->addrs[i], &ri[i]);
	r = nlbatch_run(&b, err);
	nlconn_close(&nl);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!ri[i].found || ri[i].oif != host_ifindex ||
		    ri[i].dst_len != ip_bits(e->addrs[i].family))
			r = check_fail(err, "host route %s/%u dev %s is missing", ip_fmt(&e->addrs[i], a),
				       ip_bits(e->addrs[i].family), e->host_if);
	return r;
}

struct route_want {
	const struct rv_prefix *dst;
	const struct rv_ip *gw;
	int ifindex;
	bool found;
};

static void match_route(struct nl_object *obj, void *data)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct route_want *w = data;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	struct rtnl_nexthop *nh;

	if (w->found || rtnl_route_get_table(rt) != RT_TABLE_MAIN || !dst ||
	    nl_addr_get_family(dst) != w->dst->ip.family || nl_addr_get_prefixlen(dst) != w->dst->len)
		return;
	if (w->dst->len && !nl_addr_is(dst, &w->dst->ip))
		return;
	if (rtnl_route_get_nnexthops(rt) < 1 || !(nh = rtnl_route_nexthop_n(rt, 0)))
		return;
	if (rtnl_route_nh_get_ifindex(nh) != w->ifindex)
		return;
	if (w->gw && !nl_addr_is(rtnl_route_nh_get_gateway(nh), w->gw))
		return;
	w->found = true;
}

/* One FIB lookup for @ip in this netns, and the name of the link it goes
 * out of (into @dev, when not NULL). 0 or -errno; ri->found says. */
static int lookup_route(const struct rv_ip *ip, struct route_info *ri, char *dev)
{
	char buf[NLBATCH_BUF];
	struct link_info li;
	struct nlbatch b;
	struct nlconn nl;
	int r;

	r = nlconn_open(&nl, NETLINK_ROUTE, -1, NULL);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	route_lookup(&b, ip, ri);
	r = nlbatch_run(&b, NULL);
	if (r == 0 && dev && ri->found && ri->oif > 0) {
		link_get(&b, ri->oif, NULL, &li);
		r = nlbatch_run(&b, NULL);
		snprintf(dev, LINK_NAME_MAX, "%s", r == 0 && li.found ? li.name : "");
	}
	nlconn_close(&nl);
	return r;
}

/* Routed, as unicast, out of some link? */
static bool route_covers(const struct rv_ip *ip)
{
	struct route_info ri;

	return lookup_route(ip, &ri, NULL) == 0 && ri.found && ri.type == RTN_UNICAST && ri.oif > 0;
}

/* Can the pod reach its gateway's MAC? The permanent entry rivet adds is
 * the first way; a later plugin changing the pod's MAC (tuning) makes the
 * kernel flush it, and then an entry learnt by ARP with the host end's MAC
 * will do, as will an empty cache if proxy ARP can answer, which needs the
 * host to route 169.254.1.1 (any default route does). IPv6 resolves the
 * gateway by NDP against the host end's own link-local address. */
static bool gateway_resolvable(struct rtnl_neigh *n, int family, const struct rv_ip *gw)
{
	char mac[24];

	if (n) {
		mac_fmt(rtnl_neigh_get_lladdr(n), mac, sizeof(mac));
		if (!strcmp(mac, "ee:ee:ee:ee:ee:ee") && !(rtnl_neigh_get_state(n) & (NUD_FAILED | NUD_INCOMPLETE)))
			return true;
	}
	return family == AF_INET6 || route_covers(gw);
}

static int check_pod(struct nl_sock *sk, const struct dp_expect *e, int *pod_ifindex,
		     struct rv_err *err)
{
	struct nl_cache *addrs = NULL, *routes = NULL, *neighs = NULL;
	struct rtnl_link *link = NULL;
	char mac[24], a[IP_STRLEN];
	const char *kind;
	int ifindex, r = 0;

	if (rtnl_link_get_kernel(sk, 0, e->pod_if, &link) < 0)
		return check_fail(err, "interface %s is missing in the pod", e->pod_if);
	ifindex = rtnl_link_get_ifindex(link);
	*pod_ifindex = ifindex;
	kind = rtnl_link_get_type(link);
	mac_fmt(rtnl_link_get_addr(link), mac, sizeof(mac));
	if (!kind || strcmp(kind, "veth"))
		r = check_fail(err, "interface %s in the pod is a %s, not a veth", e->pod_if,
			       kind ? kind : "device of unknown kind");
	else if (e->pod_mac && strcasecmp(mac, e->pod_mac))
		r = check_fail(err, "interface %s in the pod has MAC %s, the result says %s",
			       e->pod_if, mac, e->pod_mac);
	else if (e->mtu && rtnl_link_get_mtu(link) != e->mtu)
		r = check_fail(err, "interface %s in the pod has MTU %u, the result says %u",
			       e->pod_if, rtnl_link_get_mtu(link), e->mtu);
	else if (!(rtnl_link_get_flags(link) & IFF_UP))
		r = check_fail(err, "interface %s in the pod is down", e->pod_if);
	rtnl_link_put(link);
	if (r)
		return r;

	if (rtnl_addr_alloc_cache(sk, &addrs) < 0 || rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes) < 0 ||
	    rtnl_neigh_alloc_cache(sk, &neighs) < 0) {
		r = err_set(err, RIVET_ERR_NETLINK, EIO, "cannot read the pod's addresses and routes");
		goto out;
	}
	for (size_t i = 0; i < e->n_addrs && !r; i++) {
		const struct rv_ip *ip = &e->addrs[i];
		struct rtnl_addr *found = NULL;

		for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
			struct rtnl_addr *ad = (struct rtnl_addr *)o;

			if (rtnl_addr_get_ifindex(ad) == ifindex && nl_addr_is(rtnl_addr_get_local(ad), ip))
				found = ad;
		}
		if (!found)
			r = check_fail(err, "address %s is missing from %s in the pod", ip_fmt(ip, a), e->pod_if);
		else if ((unsigned)rtnl_addr_get_prefixlen(found) != ip_bits(ip->family))
			r = check_fail(err, "address %s on %s in the pod is /%d, not /%u", ip_fmt(ip, a),
				       e->pod_if, rtnl_addr_get_prefixlen(found), ip_bits(ip->family));
	}
	for (int family = AF_INET; family && !r; family = family == AF_INET ? AF_INET6 : 0) {
		struct rv_ip gw = datapath_gateway(family);
		struct rv_prefix any = { .ip = { .family = family } };
		struct rv_prefix gwp = { .ip = gw, .len = 32 };
		struct route_want def = { &any, &gw, ifindex, false }, link_rt = { &gwp, NULL, ifindex, false };
		struct nl_addr *nla;
		struct rtnl_neigh *n;
		bool wanted = false;

		for (size_t i = 0; i < e->n_addrs; i++)
			wanted |= e->addrs[i].family == family;
		if (!wanted)
			continue;
		nl_cache_foreach(routes, match_route, &def);
		if (family == AF_INET)
			nl_cache_foreach(routes, match_route, &link_rt);
		else
			link_rt.found = true;
		if (!link_rt.found) {
			r = check_fail(err, "route %s dev %s scope link is missing in the pod", DP_GW4, e->pod_if);
			break;
		}
		if (!def.found) {
			r = check_fail(err, "default route via %s dev %s is missing in the pod",
				       ip_fmt(&gw, a), e->pod_if);
			break;
		}
		nla = to_nl_addr(&gw);
		n = nla ? rtnl_neigh_get(neighs, ifindex, nla) : NULL;
		if (!gateway_resolvable(n, family, &gw))
			r = check_fail(err, "the pod cannot resolve its gateway %s: its permanent neighbour entry "
				       "is gone (did a later plugin change the pod's MAC?) and the host has no "
				       "route covering %s, so proxy ARP will not answer", ip_fmt(&gw, a), a);
		if (n)
			rtnl_neigh_put(n);
		nl_addr_put(nla);
	}
out:
	nl_cache_free(addrs);
	nl_cache_free(routes);
	nl_cache_free(neighs);
	return r;
}

int datapath_check(const struct dp_expect *e, struct rv_err *err)
{
	struct nl_sock *pod = NULL, *host = NULL;
	struct rtnl_link *hl = NULL;
	int pod_ifindex = 0, r;

	pod = sock_in(e->pod_nsfd, err);
	if (!pod)
		return -EIO;
	r = check_pod(pod, e, &pod_ifindex, err);
	if (r)
		goto out;
	host = sock_in(-1, err);
	if (!host) {
		r = -EIO;
		goto out;
	}
	r = check_host(host, e, pod_ifindex, err);
	if (r)
		goto out;
	if (rtnl_link_get_kernel(host, 0, e->host_if, &hl) == 0) {
		r = check_host_routes(e, rtnl_link_get_ifindex(hl), err);
		rtnl_link_put(hl);
	}
out:
	if (pod)
		nl_socket_free(pod);
	if (host)
		nl_socket_free(host);
	return r;
}

int datapath_list(const char *network,
		  int (*fn)(const char *host_if, int ifindex, const char *container_id, const char *ifname,
			    void *ctx),
		  void *ctx, struct rv_err *err)
{
	struct nl_cache *links = NULL;
	struct nl_sock *sk = sock_in(-1, err);
	int r = 0;

	if (!sk)
		return -EIO;
	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) < 0) {
		nl_socket_free(sk);
		return err_set(err, RIVET_ERR_NETLINK, EIO, "cannot list the host's links");
	}
	for (struct nl_object *o = nl_cache_get_first(links); o && !r; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *alias = rtnl_link_get_ifalias(l);
		char id[256], ifname[32], net[256], want[LINK_ALIAS_MAX];

		const char *name = rtnl_link_get_name(l);

		/* Unnamed, with rivet's form of name: left by an ADD killed
		 * before it could name the link (older rivets named it in a
		 * later batch), or an ADD's veth caught between its create and
		 * its alias. It belongs to no network; GC decides. */
		if ((!alias || !*alias) && name && strlen(name) == 15 &&
		    !strncmp(name, DP_HOST_PREFIX, strlen(DP_HOST_PREFIX)) &&
		    strspn(name + 3, "0123456789abcdef") == 12) {
			const char *kind = rtnl_link_get_type(l);

			/* Only a veth can be a leftover of rivet's. */
			if (!kind || strcmp(kind, "veth"))
				continue;
			r = fn(name, rtnl_link_get_ifindex(l), NULL, NULL, ctx);
			continue;
		}
		/* The whole alias is compared with the one this network would
		 * give the attachment, not its last word: a long one ends in a
		 * hash of the network's name (datapath_alias). */
		if (!alias || strncmp(alias, DP_ALIAS_PREFIX, strlen(DP_ALIAS_PREFIX)) ||
		    sscanf(alias + strlen(DP_ALIAS_PREFIX), "%255s %31s %255s", id, ifname, net) != 3)
			continue;
		datapath_alias(network, id, ifname, want);
		if (strcmp(alias, want))
			continue;
		r = fn(name, rtnl_link_get_ifindex(l), id, ifname, ctx);
	}
	nl_cache_free(links);
	nl_socket_free(sk);
	return r;
}

int datapath_link_exists(const char *host_if)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk = sock_in(-1, NULL);
	int r;

	if (!sk)
		return -EIO;
	r = rtnl_link_get_kernel(sk, 0, host_if, &link) == 0;
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

int datapath_routed_to(const struct rv_ip *ip, char *dev)
{
	struct route_info ri;
	int r = lookup_route(ip, &ri, dev);

	if (r < 0)
		return r;
	return ri.found && ri.oif > 0 && ri.dst_len == ip_bits(ip->family) && ri.type == RTN_UNICAST &&
	       dev[0];
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The routed /32 topology, as Calico's dataplane builds it:
 *
 *      pod netns                         host netns
 *   +--------------------+            +------------------------------+
 *   | eth0 10.1.0.5/32   |<--veth---->| rvt1a2b3c4d5e6f  ee:ee:..:ee |
 *   | 169.254.1.1 dev eth0 scope link | 10.1.0.5/32 dev rvt.. scope  |
 *   | default via 169.254.1.1         |   link                       |
 *   | neigh 169.254.1.1 ee:ee:.. PERM | proxy_arp, forwarding on     |
 *   +--------------------+            +------------------------------+
 *
 * No address is shared and no bridge is involved: the pod holds only its
 * own /32 (/128), its gateway is a link-local address that exists nowhere
 * but is answered by the host end (fixed MAC; permanent neighbour entry in
 * the pod; proxy ARP as a second path; for IPv6 the host end's own
 * link-local fe80::ecee:eeff:feee:eeee), and the host reaches the pod by a
 * /32 route on the host end. Everything is keyed by names derived from the
 * attachment, so DEL needs no state.
 */
#ifndef RIVET_NET_DATAPATH_H
#define RIVET_NET_DATAPATH_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/model.h"

#define DP_HOST_PREFIX "rvt"
#define DP_ALIAS_PREFIX "rivet "
#define DP_GW4 "169.254.1.1"
#define DP_GW6 "fe80::ecee:eeff:feee:eeee"
#define DP_DEFAULT_MTU 1500

extern const uint8_t dp_host_mac[6];

/* "rvt" + 12 hex digits of a hash of (container ID, ifname): 15 bytes, the
 * most IFNAMSIZ allows, and the same on every call, so DEL and CHECK find
 * the link without state. @out holds 16 bytes. */
void datapath_host_ifname(const char *container_id, const char *ifname, char *out);

/* The longest alias the kernel takes: IFALIASZ (256) bytes with the NUL
 * rivet sends, less one (the kernel's policy counts the NUL). */
#define DP_ALIAS_LEN 254

/* The host end's IFLA_IFALIAS, "rivet <containerID> <ifname> <network>",
 * which proves ownership before rivet deletes a link and lets GC find the
 * links of one network. Past DP_ALIAS_LEN bytes the network's name is cut
 * and followed by "~" and 16 hex digits of a hash of the whole, so the
 * alias always fits and still names one network. @out holds 256 bytes. */
void datapath_alias(const char *network, const char *container_id, const char *ifname, char *out);

/* The link-local gateway of @family. */
struct rv_ip datapath_gateway(int family);

struct dp_spec {
	const char *host_if;
	const char *pod_if;
	int pod_nsfd;
	const char *alias;
	unsigned mtu;			/* 0: the default route's device's, or 1500 */
	const uint8_t *pod_mac;		/* NULL: the kernel picks one */
	const struct rv_ip *addrs;	/* the pod's addresses (made /32, /128) */
	size_t n_addrs;
	const struct rv_route *routes;	/* more routes for the pod, via the gateway */
	size_t n_routes;
};

struct dp_state {
	int host_ifindex;
	int pod_ifindex;
	uint8_t pod_mac[6];
	unsigned mtu;
	const char *mtu_source;		/* "config", "default route via <dev>", "fallback" */
};

/* Build everything. On failure nothing is left: the veth (and with it every
 * address, route and neighbour on it) is deleted before returning. Errors:
 * RIVET_ERR_IFNAME_TAKEN, RIVET_ERR_HOSTVETH_TAKEN, RIVET_ERR_ROUTE_CONFLICT,
 * RIVET_ERR_NETLINK. A host end left by an earlier attempt for the same
 * attachment (same alias, or a veth without one) is deleted and the pair
 * made again; any other link that holds the name is left untouched
 * (RIVET_ERR_HOSTVETH_TAKEN). @err is only written on failure. */
int datapath_add(const struct dp_spec *s, struct dp_state *st, struct rv_err *err);

/* Delete the host end, and with it the pod end, if it carries @alias.
 * Gone already, or someone else's: success (the latter logged). */
int datapath_del(const char *host_if, const char *alias, struct rv_err *err);

/* How long GC waits before it deletes a link it saw without an alias. ADD
 * names its veth in the sendmsg that creates it, so only a link dump can
 * see one of an ADD in progress unnamed, and only for the instant between
 * the two requests; a link still unnamed, and still the same link, this
 * long after is a leftover (of an older rivet, which named it later). */
#define DP_UNNAMED_GRACE_MS 2000

/* Delete @host_if if it is still the link @ifindex and still has no alias:
 * 1 when deleted, 0 when left (gone, replaced or named meanwhile), -errno. */
int datapath_del_unnamed(const char *host_if, int ifindex, struct rv_err *err);

struct dp_expect {
	const char *host_if;
	const char *pod_if;
	int pod_nsfd;
	const char *alias;
	const char *pod_mac;		/* "aa:bb:..", NULL: not checked */
	unsigned mtu;			/* 0: not checked */
	const struct rv_ip *addrs;
	size_t n_addrs;
};

/* CHECK: compare what is in the kernel with what ADD made; the message
 * names the first difference. Code RIVET_ERR_CHECK. */
int datapath_check(const struct dp_expect *e, struct rv_err *err);

/* Call @fn for every host end of @network (by alias), for GC and the
 * operator commands, and, with NULL container ID and ifname, for unnamed
 * links of rivet's form of name: an older rivet's killed ADD left those, and
 * a dump can see an ADD's new veth unnamed for an instant (see
 * DP_UNNAMED_GRACE_MS). */
int datapath_list(const char *network,
		  int (*fn)(const char *host_if, int ifindex, const char *container_id, const char *ifname,
			    void *ctx),
		  void *ctx, struct rv_err *err);

/* Does a link named @host_if exist in the current netns? 1, 0 or -errno. */
int datapath_link_exists(const char *host_if);

/* Is @ip routed as a host route (/32, /128) to a link of this netns, as
 * any routed plugin (rivet, ptp, Calico) does for a live pod? 1 with the
 * link's name in @dev (16 bytes), 0, or -errno. One FIB lookup. */
int datapath_routed_to(const struct rv_ip *ip, char *dev);

#endif

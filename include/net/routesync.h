/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rivetd's side of the kernel: the routes from this node to every other
 * node's pod ranges, a blackhole route for its own ranges, and the VXLAN
 * device with its neighbour and forwarding entries, made to match what the
 * agent wants.
 *
 * What is rivetd's is a kernel fact, not a file that can drift: a route of
 * its protocol number (92 unless configured otherwise) in the main table,
 * and the device "rivet.vxlan" with everything on it. A sync reads exactly
 * those and adds, replaces and deletes until they are the wanted set. A
 * route of any other protocol is never touched; when one has a destination
 * rivetd wants, at any metric, it wins: rivetd makes no route of its own
 * there (and removes one it made earlier), and counts a conflict.
 *
 * No etcd here: the agent turns etcd's node records into a struct rs_want.
 */
#ifndef RIVET_NET_ROUTESYNC_H
#define RIVET_NET_ROUTESYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/ip.h"

#define RS_VXLAN_DEV "rivet.vxlan"
#define RS_DEFAULT_PROTOCOL 92
/* What VXLAN adds to a frame: the outer IPv4 (IPv6) header, UDP, VXLAN and
 * the inner Ethernet header. */
#define RS_VXLAN_OVERHEAD4 50
#define RS_VXLAN_OVERHEAD6 70

/* A route to a peer's pod range. */
struct rs_route {
	struct rv_prefix dst;
	struct rv_ip via;		/* direct: the peer's node address;
					 * vxlan: the peer's VTEP address */
	bool vxlan;
	uint8_t mac[6];			/* vxlan: the peer's VTEP MAC */
	struct rv_ip underlay;		/* vxlan: the peer's node address */
};

/* This node's VXLAN endpoint. */
struct rs_vxlan {
	bool enabled;			/* false: the device must not exist */
	uint32_t vni;
	uint16_t port;
	struct rv_ip local;		/* this node's address, the outer source */
	int link;			/* the device holding it */
	uint8_t mac[6];
	unsigned mtu;
	struct rv_prefix vtep[2];	/* this node's VTEP addresses, as /32, /128 */
	size_t n_vtep;
};

struct rs_want {
	unsigned char protocol;
	const struct rv_prefix *own;	/* this node's ranges: blackholed */
	size_t n_own;
	const struct rs_route *routes;
	size_t n_routes;
	struct rs_vxlan vx;
};

struct rs_stats {
	unsigned added, replaced, deleted;	/* routes */
	unsigned unchanged;
	unsigned entries;		/* neighbour and forwarding entries changed */
	unsigned conflicts;		/* wanted routes held by another protocol */
	unsigned failed;		/* changes the kernel refused */
	char conflict[256];		/* the first conflict, for the log */
};

/* Make the kernel match @w. Goes on past a refused change and returns the
 * first refusal (code 101, naming the change and the kernel's words); a
 * VXLAN device that cannot be made is one, and then the VXLAN routes in
 * the kernel are left as they are while everything else is synced.
 * Conflicts are counted in @st, not errors. */
int routesync_apply(const struct rs_want *w, struct rs_stats *st, struct rv_err *err);

#endif

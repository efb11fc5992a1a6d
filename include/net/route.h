/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routes (RTM_NEWROUTE, RTM_DELROUTE) and single-route lookups
 * (RTM_GETROUTE). The plugin never dumps a routing table: a node with a
 * thousand pods has a thousand host routes, and ADD must not read them all.
 * rivetd, which owns the routes to other nodes, dumps the main table once
 * per reconcile (route_dump) and keeps only the routes of its protocol.
 */
#ifndef RIVET_NET_ROUTE_H
#define RIVET_NET_ROUTE_H

#include <stdbool.h>

#include "net/nlbatch.h"
#include "util/model.h"

struct route_req {
	struct rv_prefix dst;
	struct rv_ip gw;		/* family 0: none */
	int oif;
	unsigned char scope;		/* RT_SCOPE_* */
	unsigned table;			/* 0: main */
	unsigned priority;		/* 0: none */
	unsigned mtu, advmss;		/* 0: none */
	unsigned char protocol;		/* RTPROT_*; 0: RTPROT_STATIC */
	unsigned char type;		/* RTN_*; 0: RTN_UNICAST (RTN_BLACKHOLE has no oif) */
	bool onlink;			/* the gateway is on the link, whatever its address */
};

/* Add; with @exclusive an existing route for the same destination fails
 * with EEXIST instead of being left alone. */
void route_add(struct nlbatch *b, const struct route_req *r, const char *ifname, bool exclusive);

/* Replace the route of the same destination (and table, priority), or add
 * it. Only for a route the caller owns: a replace takes over any route of
 * that key, whatever its protocol. */
void route_replace(struct nlbatch *b, const struct route_req *r, const char *ifname);

/* Delete the route @r names (destination, table, priority, protocol). A
 * route already gone is not an error. */
void route_del(struct nlbatch *b, const struct route_req *r);

struct route_info {
	bool found;
	int oif;
	unsigned dst_len;
	unsigned char type;		/* RTN_* */
	unsigned char scope;		/* RT_SCOPE_* */
	struct rv_ip gw;
};

/* The route the kernel would use for @dst (a FIB match, so dst_len says
 * how specific it is). No route: out->found is false, not an error. */
void route_lookup(struct nlbatch *b, const struct rv_ip *dst, struct route_info *out);

/* A route as a dump reports it. */
struct route_entry {
	struct rv_prefix dst;
	struct rv_ip gw;		/* family 0: none */
	int oif;			/* 0: none */
	unsigned table;
	unsigned priority;
	unsigned char protocol, type, scope;
	bool onlink;
};

struct route_dump {
	void (*fn)(const struct route_entry *r, void *ctx);
	void *ctx;
};

/* Dump the routes of @family (AF_INET, AF_INET6) in every table; d->fn is
 * called for each as the answer arrives. @d must live until the batch has
 * run. Must be the last request of its batch (a dump ends with
 * NLMSG_DONE, which the batch waits for). */
void route_dump(struct nlbatch *b, int family, struct route_dump *d);

#endif

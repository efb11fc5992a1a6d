/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routes (RTM_NEWROUTE) and single-route lookups (RTM_GETROUTE). rivet
 * never dumps a routing table: a node with a thousand pods has a thousand
 * host routes, and ADD must not read them all.
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
};

/* Add; with @exclusive an existing route for the same destination fails
 * with EEXIST instead of being left alone. */
void route_add(struct nlbatch *b, const struct route_req *r, const char *ifname, bool exclusive);

struct route_info {
	bool found;
	int oif;
	unsigned dst_len;
	unsigned char type;		/* RTN_* */
	struct rv_ip gw;
};

/* The route the kernel would use for @dst (a FIB match, so dst_len says
 * how specific it is). No route: out->found is false, not an error. */
void route_lookup(struct nlbatch *b, const struct rv_ip *dst, struct route_info *out);

#endif

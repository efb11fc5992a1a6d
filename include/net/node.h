/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What rivetd needs to know about the node it runs on, read from the
 * kernel: the address it would use to reach the world (the default for its
 * node address), the link that holds an address (the VXLAN underlay and the
 * MTU the pods get), and whether a peer's address is on one of its subnets
 * (then the peer is reached directly, else over VXLAN).
 */
#ifndef RIVET_NET_NODE_H
#define RIVET_NET_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/ip.h"

/* The source address of the default route of @family: 0, -ENETUNREACH (no
 * default route, no message), or -errno. */
int node_default_source(int family, struct rv_ip *out, struct rv_err *err);

struct node_link {
	int ifindex;
	unsigned mtu;
	char name[16];
};

/* The link holding @ip: 0, -EADDRNOTAVAIL when no link holds it (code 7,
 * saying so), or -errno. */
int node_link_of(const struct rv_ip *ip, struct node_link *out, struct rv_err *err);

/* Is each of @n addresses on a subnet of one of this node's links, i.e.
 * routed without a gateway? @out[i] says for @ips[i]. Batched lookups on one
 * socket. 0 or -errno. */
int node_on_link_many(const struct rv_ip *ips, size_t n, bool *out);

#endif

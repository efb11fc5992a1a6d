/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Links: the veth pair, and the settings rivet puts on its ends. Each
 * function appends one request to a batch (net/nl.h); nothing is sent here.
 */
#ifndef RIVET_NET_LINK_H
#define RIVET_NET_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "net/nlbatch.h"
#include "util/ip.h"

#define LINK_NAME_MAX 16
#define LINK_ALIAS_MAX 256

/* A VXLAN device's parameters (rivetd's overlay). */
struct link_vxlan {
	uint32_t vni;
	uint16_t port;		/* UDP destination port, host order */
	bool learning;
	struct rv_ip local;	/* the source address of encapsulated packets */
	int link;		/* the underlay device, 0: any */
};

struct link_info {
	bool found;
	int ifindex;
	int peer_ifindex;	/* IFLA_LINK: a veth's peer, in the peer's netns */
	unsigned mtu;
	unsigned flags;		/* IFF_* */
	uint8_t mac[6];
	char name[LINK_NAME_MAX];
	char alias[LINK_ALIAS_MAX];
	char kind[16];		/* "veth", ... */
	struct link_vxlan vxlan;	/* kind "vxlan" only */
};

/* Create a veth pair: @host here with @host_mac, its peer @peer made
 * directly in the netns @peer_nsfd with @peer_mac (NULL: the kernel picks).
 * Both down. EEXIST if either name is taken. */
void link_veth_add(struct nlbatch *b, const char *host, const uint8_t host_mac[6],
		   const char *peer, int peer_nsfd, const uint8_t *peer_mac);

/* Create the VXLAN device @name with @mac and @mtu, down. EEXIST if the
 * name is taken. */
void link_vxlan_add(struct nlbatch *b, const char *name, const uint8_t mac[6], unsigned mtu,
		    const struct link_vxlan *vx);

/* Read a link by index (when > 0) or name into @out; a missing link is not
 * an error, out->found says. @out must stay valid until the batch runs. */
void link_get(struct nlbatch *b, int ifindex, const char *name, struct link_info *out);

struct link_conf {
	unsigned mtu;		/* 0: leave */
	bool up;
	const char *alias;	/* NULL: leave */
	/* IPv4 per-device settings through IFLA_INET_CONF: forwarding,
	 * proxy_arp and strict rp_filter. No sysctl file is written. */
	bool ipv4_router;
	/* IFLA_INET6_ADDR_GEN_MODE none: no automatic link-local address, so
	 * rivet can add its own without duplicate address detection. */
	bool ipv6_no_auto_ll;
};

/* By index, or by @name when @ifindex is 0. */
void link_set(struct nlbatch *b, int ifindex, const char *name, const struct link_conf *c);

void link_del(struct nlbatch *b, int ifindex, const char *name);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Neighbour entries and per-device neighbour parameters.
 *
 * The pod gets a permanent entry for its gateway: the host end's MAC is
 * fixed, so the pod never needs to ask, and reaches the gateway even on a
 * host where proxy ARP stays silent (the kernel only answers for addresses
 * it can route, which a host without a default route cannot).
 */
#ifndef RIVET_NET_NEIGH_H
#define RIVET_NET_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "net/nlbatch.h"
#include "util/ip.h"

void neigh_add_permanent(struct nlbatch *b, int ifindex, const char *ifname,
			 const struct rv_ip *ip, const uint8_t mac[6]);

/* ARP proxy_delay for one device (RTM_SETNEIGHTBL on "arp_cache"): the
 * default of up to 800 ms makes the first proxied answer late. */
void neigh_proxy_delay(struct nlbatch *b, int ifindex, const char *ifname, unsigned ms);

/* rivetd's VXLAN device: a bridge forwarding database entry saying that
 * frames for @mac go to the VTEP at @dst (NTF_SELF, permanent). */
void neigh_fdb_add(struct nlbatch *b, int ifindex, const char *ifname, const uint8_t mac[6],
		   const struct rv_ip *dst);

/* Delete a neighbour (@family AF_INET, AF_INET6, by @ip) or an FDB entry
 * (AF_BRIDGE, by @mac and, when set, @ip). Already gone: not an error. */
void neigh_del(struct nlbatch *b, int family, int ifindex, const char *ifname, const struct rv_ip *ip,
	       const uint8_t *mac);

struct neigh_entry {
	int family;			/* AF_INET, AF_INET6, AF_BRIDGE */
	int ifindex;
	struct rv_ip ip;		/* NDA_DST; family 0: none */
	uint8_t mac[6];
	bool has_mac;
	uint16_t state;			/* NUD_* */
	uint8_t flags;			/* NTF_* */
};

struct neigh_dump {
	int ifindex;			/* only this link's entries; 0: all */
	void (*fn)(const struct neigh_entry *n, void *ctx);
	void *ctx;
};

/* Dump the neighbours (or with AF_BRIDGE the FDB) of @family; @d must live
 * until the batch has run, and the dump must end its batch. */
void neigh_dump(struct nlbatch *b, int family, struct neigh_dump *d);

#endif

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

#include <stdint.h>

#include "net/nlbatch.h"
#include "util/ip.h"

void neigh_add_permanent(struct nlbatch *b, int ifindex, const char *ifname,
			 const struct rv_ip *ip, const uint8_t mac[6]);

/* ARP proxy_delay for one device (RTM_SETNEIGHTBL on "arp_cache"): the
 * default of up to 800 ms makes the first proxied answer late. */
void neigh_proxy_delay(struct nlbatch *b, int ifindex, const char *ifname, unsigned ms);

#endif

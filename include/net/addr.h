/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Addresses on a link (RTM_NEWADDR). rivet adds its addresses with
 * IFA_F_NODAD: IPAM already guarantees they are unique, and duplicate
 * address detection would leave an IPv6 address unusable for a second or
 * more after ADD returns.
 */
#ifndef RIVET_NET_ADDR_H
#define RIVET_NET_ADDR_H

#include "net/nlbatch.h"
#include "util/ip.h"

/* Add @p to @ifindex with scope @scope (RT_SCOPE_UNIVERSE, RT_SCOPE_LINK). */
void addr_add(struct nlbatch *b, int ifindex, const char *ifname, const struct rv_prefix *p,
	      unsigned char scope);

#endif

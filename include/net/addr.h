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

/* Remove @p from @ifindex; already gone is not an error. */
void addr_del(struct nlbatch *b, int ifindex, const char *ifname, const struct rv_prefix *p);

struct addr_entry {
	int ifindex;
	struct rv_prefix p;
	unsigned char scope;
};

struct addr_dump {
	int ifindex;			/* only this link's addresses; 0: all */
	void (*fn)(const struct addr_entry *a, void *ctx);
	void *ctx;
};

/* Dump the addresses of @family; @d must live until the batch has run, and
 * the dump must end its batch. */
void addr_dump(struct nlbatch *b, int family, struct addr_dump *d);

#endif

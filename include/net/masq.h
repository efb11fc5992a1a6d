/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outbound masquerade (ipMasq) through nftables over netlink.
 *
 * One table, "inet rivet", created once and idempotently; per network a set
 * of pod addresses, a set of destinations that keep the pod's address (the
 * network's own ranges plus ipMasqExclude), and one rule:
 *
 *   ip  saddr @<net>-pods4 ip  daddr != @<net>-keep4 masquerade
 *   ip6 saddr @<net>-pods6 ip6 daddr != @<net>-keep6 masquerade
 *
 * ADD and DEL change only set elements, never rules, so their cost does not
 * depend on the number of pods, and rivet never touches a table it did not
 * create (kube-proxy's, a firewall's).
 */
#ifndef RIVET_NET_MASQ_H
#define RIVET_NET_MASQ_H

#include <stddef.h>

#include "util/err.h"
#include "util/ip.h"

#define MASQ_TABLE "rivet"

struct masq_spec {
	const char *network;
	const struct rv_prefix *keep;	/* destinations not masqueraded */
	size_t n_keep;
};

/* Add @addrs to the network's pod sets, creating table, sets and rules the
 * first time (an atomic transaction; a concurrent creator simply wins). */
int masq_add(const struct masq_spec *m, const struct rv_ip *addrs, size_t n, struct rv_err *err);

/* Remove @addrs; absent elements, sets or table are fine. Its netlink
 * socket stays open until masq_release() (or exit): closing it waits for
 * the kernel to free the removed elements, which is cheaper after other
 * work than right away. */
int masq_del(const char *network, const struct rv_ip *addrs, size_t n, struct rv_err *err);
void masq_release(void);

/* Are all of @addrs in the network's pod sets? Code RIVET_ERR_CHECK if not. */
int masq_check(const char *network, const struct rv_ip *addrs, size_t n, struct rv_err *err);

/* GC: leave exactly @keep in the pod sets and refresh the destination sets
 * from @m, in one transaction. */
int masq_sync(const struct masq_spec *m, const struct rv_ip *keep, size_t n, struct rv_err *err);

#endif

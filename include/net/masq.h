/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rivet's nftables table, "inet rivet", over netlink: the node's anti-spoof
 * rule, each network's masquerade (ipMasq), and a state set that lets an ADD
 * see with one read whether the table already holds what its config needs.
 *
 *   chain antispoof          prerouting, priority raw, for every rivet pod:
 *       iifname "rvt*" fib saddr . iif oif missing counter drop
 *   set <net>-pods4, -pods6  the network's pod addresses        (ipMasq only)
 *   set <net>-keep4, -keep6  destinations that keep the pod's   (ipMasq only)
 *                            address: its ranges + ipMasqExclude
 *   chain <net>-masq         postrouting, priority srcnat       (ipMasq only)
 *       ip  saddr @<net>-pods4 ip  daddr != @<net>-keep4 counter masquerade
 *       ip6 saddr @<net>-pods6 ip6 daddr != @<net>-keep6 counter masquerade
 *   set state                one element per network: key a hash of its
 *                            name, comment a digest of what its config asks
 *
 * The anti-spoof rule drops what a pod sends from an address that is not
 * routed back to its own veth: another pod's, the node's, anyone's. It holds
 * whatever the node's rp_filter sysctls say, and for IPv6, which has none.
 *
 * ADD and DEL change pod set elements only, so their cost does not grow with
 * the pods; the chains and the other sets change only when a network's
 * config does (or the table went), in one transaction. rivet never touches a
 * table it did not create (kube-proxy's, a firewall's).
 */
#ifndef RIVET_NET_MASQ_H
#define RIVET_NET_MASQ_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/ip.h"

#define MASQ_TABLE "rivet"

struct masq_spec {
	const char *network;
	bool masquerade;		/* ipMasq: the network has its chain and sets */
	const struct rv_prefix *keep;	/* destinations not masqueraded */
	size_t n_keep;
};

/* Make table inet rivet hold what @m needs: the anti-spoof chain, and the
 * network's masquerade chain and sets with @m's kept destinations, or none of
 * the network's objects when !m->masquerade. One read of the network's state
 * element when nothing differs; otherwise one transaction, which any number
 * of concurrent callers may send: each leaves the same table. Returns 0 when
 * nothing differed, 1 when the table was changed (the pod sets may have been
 * made empty: the caller refills them), or -errno (code RIVET_ERR_MASQ). */
int masq_ensure(const struct masq_spec *m, struct rv_err *err);

/* Add @addrs to the network's pod sets (after masq_ensure). Returns 0, or 1
 * when the sets had gone meanwhile and were built again with only @addrs. */
int masq_add(const struct masq_spec *m, const struct rv_ip *addrs, size_t n, struct rv_err *err);

/* Remove @addrs from the network's pod sets; absent elements, sets or table
 * are fine. Its netlink socket stays open until masq_release() (or exit):
 * closing it waits for the kernel to free the removed elements, which is
 * cheaper after other work than right away. */
int masq_del(const char *network, const struct rv_ip *addrs, size_t n, struct rv_err *err);
void masq_release(void);

/* CHECK: is the table what ADD would leave? The network's state element
 * must be there (else the anti-spoof rule and the network's part may be
 * gone) and, when @exact, say what @m makes (a delegated IPAM's ranges are
 * not known to CHECK: then any state will do); with m->masquerade, every
 * one of @addrs must be in the network's pod sets. Code RIVET_ERR_CHECK if
 * not, naming what differs. */
int masq_check(const struct masq_spec *m, bool exact, const struct rv_ip *addrs, size_t n,
	       struct rv_err *err);

/* GC: what masq_ensure does, whatever the state element says, and with
 * ipMasq exactly @pods in the pod sets, all in one transaction. */
int masq_sync(const struct masq_spec *m, const struct rv_ip *pods, size_t n, struct rv_err *err);

#endif

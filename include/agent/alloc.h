/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's pod ranges, and the lease they are held on (see cluster.h for
 * the keys).
 *
 * A node asks for the ranges it had before: those its pods hold addresses
 * in, else those remembered in its state directory, else those its record
 * in etcd names. A range its pods use is never given up for another: if
 * another node claims it meanwhile, the claim fails with a message saying
 * so and the caller retries later. A range no pod uses may be replaced by
 * any free one. Free ranges are taken with a transaction that creates each
 * range key only if it is absent, so two nodes racing never get the same.
 *
 * The lease is the node's, not the agent's: it is kept across restarts
 * (found on the node's record in etcd, or in the state directory) and
 * renewed while an agent runs; when nobody renews it for its TTL, etcd
 * deletes the node's record and claims, and the ranges become free. An
 * agent started with another TTL moves the keys onto a new lease of that
 * TTL in the claiming transaction, then revokes the old one.
 */
#ifndef RIVET_AGENT_ALLOC_H
#define RIVET_AGENT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "agent/cluster.h"
#include "agent/etcd.h"
#include "util/err.h"

struct alloc {
	struct etcd *etcd;
	const char *prefix;
	const char *state_dir;
	int64_t ttl;
	/* The range of the cluster's CIDR @i in which this node's pods hold
	 * addresses: 1 with it in @out, 0 when they hold none there, -errno. */
	int (*held)(void *ctx, const struct cluster_conf *c, size_t i, struct rv_prefix *out);
	void *ctx;

	/* Filled by alloc_claim. */
	struct cluster_conf conf;
	int64_t lease;
	struct rv_prefix ranges[2];
	size_t n;
};

/* Claim the node's ranges and publish @rec (whose ranges are filled in
 * here) on the node's lease, granting one when none is left: 0. Code 11
 * when a range its pods use is held by another node; other errors are
 * etcd's. 1, with @err saying why, when the claim holds but the state
 * directory could not record it (a restart then finds the node's record,
 * and its lease, in etcd by name). */
int alloc_claim(struct alloc *a, struct node_rec *rec, struct rv_err *err);

/* Renew the node's lease: 0; -ENOENT when it has ended (claim again);
 * other -errno when etcd could not be asked. */
int alloc_renew(struct alloc *a, struct rv_err *err);

/* Remove a node from the cluster: revoke its lease, which deletes its
 * record and range claims together; keys left without a lease are deleted
 * by name. *@found says whether there was anything to remove. */
int alloc_leave(struct etcd *e, const char *prefix, const char *name, bool *found, struct rv_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host-local's allocation policy over the store (store.h), in process:
 * one address per range set, round robin after the set's last reserved
 * address, requested addresses honoured, gateways never handed out.
 *
 * Differences from host-local, each deliberate:
 *  - An ADD for an attachment that already holds an address in a set gets
 *    that address back (host-local refuses: "duplicate allocation"), so a
 *    runtime retrying a killed ADD does not need a DEL in between. Such
 *    leases are marked kept and a failed ADD never releases them.
 *  - A requested address that is taken names its holder and since when.
 *  - The lock is taken once for all sets and bounded in time (code 11).
 */
#ifndef RIVET_IPAM_HOSTLOCAL_H
#define RIVET_IPAM_HOSTLOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/model.h"

struct ipam_req {
	const struct ipam_conf *conf;	/* canonicalized ranges */
	const char *network;
	const char *container_id;
	const char *ifname;
	unsigned lock_timeout_ms;	/* 0: IPAM_LOCK_TIMEOUT_MS */
};

struct ipam_lease {
	struct rv_prefix addr;		/* with the range's prefix length */
	struct rv_ip gateway;		/* the range's gateway */
	unsigned set;
	bool kept;			/* held before this ADD: never undone */
};

/* Reserve one address per set into @leases (req->conf->n_sets entries).
 * On failure nothing this call reserved is left behind. */
int hostlocal_add(const struct ipam_req *req, struct ipam_lease *leases, struct rv_err *err);

/* Undo hostlocal_add for the leases not marked kept. Best effort. */
void hostlocal_undo(const struct ipam_req *req, const struct ipam_lease *leases, size_t n);

/* Release what the attachment holds; the addresses go to @out (capacity
 * @max, may be NULL), their count to *@n. A missing store is success. */
int hostlocal_del(const struct ipam_req *req, struct rv_ip *out, size_t max, size_t *n,
		  struct rv_err *err);

/* The addresses the attachment holds, without changing anything (up to @max
 * in @out, count in *@n). A missing store gives *n = 0. */
int hostlocal_find(const struct ipam_req *req, struct rv_ip *out, size_t max, size_t *n,
		   struct rv_err *err);

/* Every address reserved in the network, whoever holds it (for refilling
 * masquerade sets); *@out is malloc'd, the caller frees it. A missing store
 * gives none. */
int hostlocal_addresses(const struct ipam_req *req, struct rv_ip **out, size_t *n, struct rv_err *err);

/* Does the attachment hold @ip? 0, or -ENOENT with a message naming the
 * holder. */
int hostlocal_holds(const struct ipam_req *req, const struct rv_ip *ip, struct rv_err *err);

/* Release every reservation whose attachment is not in @valid. Released
 * addresses are counted in *@n and the first @max returned in @out. */
int hostlocal_gc(const struct ipam_req *req, const struct attachment *valid, size_t n_valid,
		 struct rv_ip *out, size_t max, size_t *n, struct rv_err *err);

/* Code 50 when a set has no free address (so ADD cannot succeed) or the
 * store cannot be written; the message counts reservations per set. */
int hostlocal_status(const struct ipam_req *req, struct rv_err *err);

#endif

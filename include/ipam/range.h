/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host-local's ranges, without I/O: validation and defaults
 * (backend/allocator/range.go, range_set.go, config.go) and the round-robin
 * iterator (allocator.go GetIter/Next). Kept identical to host-local so both
 * plugins walk the same addresses in the same order.
 */
#ifndef RIVET_IPAM_RANGE_H
#define RIVET_IPAM_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/model.h"

/* Validate every set and fill the defaults: gateway = network + 1,
 * rangeStart = network + 1, rangeEnd = last address (minus one for IPv4,
 * the broadcast). Rejects /31, /32, /127, /128, host bits, start/end outside
 * the subnet or in the wrong order, mixed families in a set, and overlaps in
 * or across sets. @one_per_family enforces the 0.1.0/0.2.0 rule of at most
 * one set per family. Errors are code 7 and name the set. */
int ipam_ranges_canonicalize(struct ipam_conf *c, bool one_per_family, struct rv_err *err);

/* Is @ip allocatable in the set (inside a subnet and between that range's
 * start and end)? On true, *range_idx (may be NULL) names the range. */
bool ipam_rangeset_contains(const struct ipam_rangeset *set, const struct rv_ip *ip,
			    size_t *range_idx);

int ipam_rangeset_family(const struct ipam_rangeset *set);

/* "10.1.0.1-10.1.0.254,10.2.0.1-10.2.0.254" for messages, as host-local
 * prints a set. */
char *ipam_rangeset_fmt(const struct ipam_rangeset *set, char *buf, size_t len);

/* How many addresses the set can hand out (gateways excluded), saturating. */
uint64_t ipam_rangeset_capacity(const struct ipam_rangeset *set);

struct ipam_iter {
	const struct ipam_rangeset *set;
	size_t ri;		/* current range */
	struct rv_ip cur;	/* family 0 before the first step */
	struct rv_ip start;	/* family 0 until known */
};

/* Start after @last (the set's last_reserved_ip) when it lies in the set,
 * otherwise at the first range's start. @last may be NULL. */
void ipam_iter_init(struct ipam_iter *it, const struct ipam_rangeset *set,
		    const struct rv_ip *last);

/* The next candidate, skipping gateways; false once the walk is back where
 * it began. *range_idx (may be NULL) names the candidate's range. */
bool ipam_iter_next(struct ipam_iter *it, struct rv_ip *out, size_t *range_idx);

#endif

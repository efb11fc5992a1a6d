/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plain data that passes between layers: the cni layer fills these from
 * JSON, a command hands them to ipam and net, and the result writer reads
 * them back. They carry no behaviour and no library types, so cni, ipam and
 * net never need each other's headers.
 *
 * Ownership: every pointer inside these structs is owned by the struct that
 * holds it and freed by the matching *_done() function (which accepts a
 * zeroed struct).
 */
#ifndef RIVET_UTIL_MODEL_H
#define RIVET_UTIL_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/ip.h"

struct strv {
	char **v;
	size_t n;
};

/* Which optional route fields are present (CNI 1.1 route attributes). */
enum {
	ROUTE_HAS_GW = 1 << 0,
	ROUTE_HAS_MTU = 1 << 1,
	ROUTE_HAS_ADVMSS = 1 << 2,
	ROUTE_HAS_PRIORITY = 1 << 3,
	ROUTE_HAS_TABLE = 1 << 4,
	ROUTE_HAS_SCOPE = 1 << 5,
};

struct rv_route {
	struct rv_prefix dst;
	struct rv_ip gw;
	unsigned has;
	unsigned mtu, advmss, priority, table, scope;
};

struct rv_dns {
	struct strv nameservers;
	char *domain;
	struct strv search;
	struct strv options;
};

/* One host-local range. Before ipam_ranges_canonicalize() the optional
 * fields may be unset (family 0); afterwards all are filled. */
struct ipam_range {
	struct rv_prefix subnet;
	struct rv_ip start, end, gateway;
};

/* A range set: disjoint ranges of one family; one address per set. */
struct ipam_rangeset {
	struct ipam_range *r;
	size_t n;
};

#define IPAM_DEFAULT_DATA_DIR "/var/lib/cni/networks"

struct ipam_conf {
	char *type;			/* "host-local" is served in process */
	struct ipam_rangeset *sets;
	size_t n_sets;
	size_t n_runtime_sets;		/* the first ones, from runtimeConfig.ipRanges */
	struct rv_route *routes;
	size_t n_routes;
	char *data_dir;			/* NULL: IPAM_DEFAULT_DATA_DIR */
	char *resolv_conf;
	bool reclaim_after_reboot;	/* default true */
	/* Requested addresses, merged as host-local merges them: CNI_ARGS IP,
	 * then args.cni.ips, then runtimeConfig.ips. */
	struct rv_prefix *requested;
	size_t n_requested;
};

/* A (container ID, ifname) pair, as GC's valid-attachments lists them. */
struct attachment {
	char *container_id;
	char *ifname;
};

void strv_done(struct strv *s);
/* Append a copy of @s. Returns 0 or -ENOMEM. */
int strv_push(struct strv *sv, const char *s);
void dns_done(struct rv_dns *d);
bool dns_is_empty(const struct rv_dns *d);
/* Deep copy; @dst must be zeroed. Returns 0 or -ENOMEM. */
int dns_copy(struct rv_dns *dst, const struct rv_dns *src);
void ipam_conf_done(struct ipam_conf *c);

#endif

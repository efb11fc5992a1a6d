/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What rivetd keeps in etcd, and its shape. Under a prefix (/rivet unless
 * --prefix says otherwise):
 *
 *   <prefix>/config             the cluster's config: its pod CIDRs (one per
 *                               family), the node prefix length of each,
 *                               the backend; written once by `rivetd init`
 *   <prefix>/ranges/<range>     a node's claim on one pod range ("/" in the
 *                               range written as "-"): the node's name, on
 *                               the node's lease; created only if absent,
 *                               so no two nodes ever hold one range
 *   <prefix>/nodes/<name>       a node's record: its addresses, ranges,
 *                               backend and VTEP MAC, on the same lease
 *   <prefix>/agents/<name>      "this node's agent runs": on a short lease
 *                               of its own, renewed while it runs
 *
 * A node's range keys and record share one lease, so they appear and go
 * together: when the lease ends (its TTL passes with no renewal, or `rivetd
 * leave` revokes it) every peer sees the record deleted and withdraws its
 * routes. An agent's liveness is a separate, short lease, because routes
 * must follow the range, not the agent: a stopped agent's node stays routed.
 *
 * This file turns those keys and JSON values into plain structs and back;
 * the etcd calls are the callers'.
 */
#ifndef RIVET_AGENT_CLUSTER_H
#define RIVET_AGENT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/ip.h"

#define CLUSTER_DEFAULT_PREFIX "/rivet"
#define CLUSTER_NODE_NAME_MAX 253	/* a Kubernetes node name: a DNS subdomain */
#define CLUSTER_KEY_MAX 512

enum cluster_backend { BACKEND_AUTO, BACKEND_DIRECT, BACKEND_VXLAN };

struct cluster_conf {
	struct rv_prefix cidr[2];	/* the pod CIDRs, at most one per family */
	unsigned node_len[2];		/* each node's range of cidr[i]: /node_len[i] */
	size_t n;
	enum cluster_backend backend;
	uint32_t vni;
	uint16_t port;
};

#define CLUSTER_DEFAULT_VNI 1
#define CLUSTER_DEFAULT_PORT 4789

struct node_rec {
	char name[CLUSTER_NODE_NAME_MAX + 1];
	struct rv_ip ip;		/* the node's address: routes' gateway, VXLAN underlay */
	struct rv_ip ip6;		/* its IPv6 address for direct IPv6 routes; family 0: none */
	struct rv_prefix ranges[2];	/* one per family, in the order of the cluster's CIDRs */
	size_t n_ranges;
	enum cluster_backend backend;
	bool has_vtep;
	uint8_t vtep_mac[6];
};

const char *cluster_backend_name(enum cluster_backend b);
int cluster_backend_parse(const char *s, enum cluster_backend *out);

/* A node name rivet accepts (it becomes a key component): a DNS subdomain
 * of lowercase letters, digits, '-' and '.', at most 253 characters. */
bool cluster_valid_node_name(const char *s);

/* The cluster's config from the command line's --cluster-cidr and
 * --node-prefix lists (comma separated; the prefix list may be shorter than
 * the CIDR list, then the family defaults apply: 24 and 64). Code 7 with a
 * message saying what to fix. */
int cluster_conf_from_args(const char *cidrs, const char *node_prefix, enum cluster_backend backend,
			   struct cluster_conf *out, struct rv_err *err);

/* JSON in etcd. encode: malloc'd text, NULL on ENOMEM. decode: code 7 and a
 * message naming the key on anything malformed. */
char *cluster_conf_encode(const struct cluster_conf *c);
int cluster_conf_decode(const char *json, size_t len, struct cluster_conf *out, struct rv_err *err);
bool cluster_conf_equal(const struct cluster_conf *a, const struct cluster_conf *b);

char *node_rec_encode(const struct node_rec *n);
int node_rec_decode(const char *json, size_t len, struct node_rec *out, struct rv_err *err);
bool node_rec_equal(const struct node_rec *a, const struct node_rec *b);

/* Keys. Each writes into @buf (CLUSTER_KEY_MAX bytes) and returns it. */
const char *cluster_key_config(char *buf, const char *prefix);
const char *cluster_key_nodes(char *buf, const char *prefix);		/* "<prefix>/nodes/" */
const char *cluster_key_node(char *buf, const char *prefix, const char *name);
const char *cluster_key_ranges(char *buf, const char *prefix);		/* "<prefix>/ranges/" */
const char *cluster_key_range(char *buf, const char *prefix, const struct rv_prefix *range);
const char *cluster_key_agent(char *buf, const char *prefix, const char *name);

/* The node name in a key under cluster_key_nodes(), or NULL. */
const char *cluster_node_of_key(const char *prefix, const char *key);

/* Node ranges of the cluster's CIDR @i: how many there are, and the @n-th. */
uint64_t cluster_range_count(const struct cluster_conf *c, size_t i);
int cluster_range_nth(const struct cluster_conf *c, size_t i, uint64_t n, struct rv_prefix *out);

/* Is @r a node range of CIDR @i: inside it, of its node length, aligned? */
bool cluster_range_valid(const struct cluster_conf *c, size_t i, const struct rv_prefix *r);

/* Which of the cluster's CIDRs holds @r; -1 for none. */
int cluster_range_index(const struct cluster_conf *c, const struct rv_prefix *r);

/* A node's VTEP address in @range: the range's first address, which
 * host-local never hands out (it starts at the second, the gateway,
 * which it skips too). As /32 or /128. */
struct rv_prefix cluster_vtep_addr(const struct rv_prefix *range);

/* A stable VTEP MAC for a node name: locally administered, unicast, so a
 * remade VXLAN device keeps the MAC its peers know. */
void cluster_vtep_mac(const char *name, uint8_t mac[6]);

/* One row of `rivetd nodes --json`. */
struct node_view {
	const struct node_rec *rec;
	int64_t lease_expires;		/* Unix time; 0: no lease (or unknown) */
	bool agent_running;
};

/* The rows as a JSON list of objects with name, nodeIP, nodeIP6 (when
 * set), ranges, backend, vtepMAC (when set), leaseExpires (RFC 3339, UTC;
 * null without a lease) and agent ("running", "stopped"). malloc'd. */
char *cluster_nodes_json(const struct node_view *v, size_t n);

void cluster_mac_fmt(const uint8_t mac[6], char buf[18]);
int cluster_mac_parse(const char *s, uint8_t mac[6]);

#endif

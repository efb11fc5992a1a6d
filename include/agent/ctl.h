/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rivetd's one-shot commands, run by an operator: `init` (write the
 * cluster's config), `nodes` (list every node), `leave` (decommission a
 * node whose agent is stopped). Each prints what it did, or one error line
 * on stderr, and returns the exit status: 0 done, 1 failed.
 */
#ifndef RIVET_AGENT_CTL_H
#define RIVET_AGENT_CTL_H

#include <stdbool.h>

#include "agent/etcd.h"

struct ctl_opts {
	struct etcd_opts etcd;
	const char *prefix;
	/* init */
	const char *cluster_cidr;
	const char *node_prefix;
	const char *backend;
	unsigned vni, port;
	bool force;
	/* nodes */
	bool json;
	/* leave */
	const char *node_name;
};

int ctl_init(const struct ctl_opts *o);
int ctl_nodes(const struct ctl_opts *o);
int ctl_leave(const struct ctl_opts *o);

#endif

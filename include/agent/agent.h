/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `rivetd run`: the agent of one node. It claims the node's pod ranges in
 * etcd (alloc.h), writes the node's conflist (conflist.h), and keeps the
 * kernel's routes to every other node's ranges (net/routesync.h) as etcd's
 * watch reports nodes joining, moving and leaving.
 *
 * One thread and one epoll: the etcd watch stream (curl's sockets and
 * timer), a netlink socket that reports routes of ours deleted and links
 * changing, a signalfd, and a timerfd for lease renewals, retries and
 * reconciles. Its state is derived: the wanted routes are a function of the
 * node records in etcd, the kernel's routes of rivetd's protocol are what
 * it has, and a reconcile is the difference, run at start, after every
 * reconnect, and on every change.
 *
 * What it never does: withdraw this node's range or routes on its own. A
 * stopped, crashed or upgraded agent leaves the node routed (its pods still
 * run); only `rivetd leave` or the range lease running out ends that.
 */
#ifndef RIVET_AGENT_AGENT_H
#define RIVET_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/etcd.h"
#include "util/ip.h"
#include "util/log.h"

#define AGENT_MAX_EXCLUDE 16
#define AGENT_MAX_CHAIN 4

struct agent_opts {
	struct etcd_opts etcd;
	const char *prefix;
	const char *node_name;
	struct rv_ip node_ip;		/* family 0: the default route's source */
	struct rv_ip node_ip6;		/* an IPv6 address beside an IPv4 node_ip; family 0: none
					 * given (the IPv6 default route's source, in a dual-stack
					 * cluster, when node_ip is not given either) */
	const char *cni_conf_dir;
	const char *ipam_data_dir;
	const char *state_dir;
	int64_t subnet_ttl;		/* seconds */
	unsigned char route_protocol;
	const char *network;		/* the conflist's network name */
	bool ip_masq;
	struct rv_prefix exclude[AGENT_MAX_EXCLUDE];	/* more destinations kept unmasqueraded */
	size_t n_exclude;
	unsigned mtu;			/* 0: the uplink's, less the VXLAN overhead when needed */
	const char *chain[AGENT_MAX_CHAIN];	/* plugins to chain after rivet */
	size_t n_chain;
	const char *cni_log_file;	/* the plugin's logFile, NULL: none */
	const char *cni_log_level;	/* the plugin's logLevel, NULL: its default */
};

#define AGENT_DEFAULT_SUBNET_TTL 86400
/* The liveness key's lease, in seconds, renewed every third of it: long
 * enough that an idle agent costs one etcd request every 20 s, short enough
 * that `leave` waits at most a minute for a killed agent. */
#define AGENT_ALIVE_TTL 60

/* Run until SIGTERM or SIGINT; the exit status. */
int agent_run(const struct agent_opts *o);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * rivetd's entry point: a table of commands, a table of flags, and the
 * dispatch. Every flag can also come from the environment as
 * RIVETD_<FLAG> (upper case, '-' as '_'), which is how a DaemonSet passes
 * them; the command line wins over the environment.
 *
 *   rivetd init  --etcd-endpoints URLS --cluster-cidr CIDR[,CIDR] ...
 *   rivetd run   --etcd-endpoints URLS [--node-name NAME] ...
 *   rivetd nodes [--json]
 *   rivetd leave --node-name NAME
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/cluster.h"
#include "agent/conflist.h"
#include "agent/ctl.h"
#include "cni/env.h"
#include "util/log.h"

#ifndef RIVET_VERSION
#error "RIVET_VERSION is set by the Makefile"
#endif

enum cmd { CMD_INIT = 1 << 0, CMD_RUN = 1 << 1, CMD_NODES = 1 << 2, CMD_LEAVE = 1 << 3 };
#define CMD_ALL (CMD_INIT | CMD_RUN | CMD_NODES | CMD_LEAVE)

static const struct {
	const char *name;
	enum cmd cmd;
	const char *what;
} commands[] = {
	{ "init", CMD_INIT, "write the cluster's config into etcd (once)" },
	{ "run", CMD_RUN, "run this node's agent" },
	{ "nodes", CMD_NODES, "list every node, its address, ranges and lease" },
	{ "leave", CMD_LEAVE, "decommission a node whose agent is stopped" },
};

enum flag_id {
	F_ENDPOINTS, F_PREFIX, F_CAFILE, F_CERTFILE, F_KEYFILE, F_TIMEOUT, F_LOG_LEVEL,
	F_CLUSTER_CIDR, F_NODE_PREFIX, F_BACKEND, F_VNI, F_PORT, F_FORCE,
	F_NODE_NAME, F_NODE_IP, F_CONF_DIR, F_DATA_DIR, F_STATE_DIR, F_TTL, F_PROTOCOL, F_NETWORK,
	F_IPMASQ, F_EXCLUDE, F_MTU, F_CHAIN, F_CNI_LOG_FILE, F_CNI_LOG_LEVEL,
	F_JSON,
	F_COUNT
};

struct flag {
	const char *name;
	const char *arg;		/* NULL: a switch */
	unsigned cmds;
	const char *def;
	const char *help;
};

static const struct flag flags[F_COUNT] = {
	[F_ENDPOINTS] = { "etcd-endpoints", "URLS", CMD_ALL, "http://127.0.0.1:2379",
			  "etcd's client URLs, comma separated, tried in turn" },
	[F_PREFIX] = { "prefix", "KEY", CMD_ALL, CLUSTER_DEFAULT_PREFIX, "where in etcd rivet keeps its keys" },
	[F_CAFILE] = { "etcd-cafile", "FILE", CMD_ALL, NULL, "CA bundle that signed etcd's certificate" },
	[F_CERTFILE] = { "etcd-certfile", "FILE", CMD_ALL, NULL, "client certificate for etcd" },
	[F_KEYFILE] = { "etcd-keyfile", "FILE", CMD_ALL, NULL, "its private key" },
	[F_TIMEOUT] = { "etcd-timeout", "MS", CMD_ALL, "5000", "bound on each request to each endpoint" },
	[F_LOG_LEVEL] = { "log-level", "LEVEL", CMD_ALL, "info", "error, warn, info or debug (stderr)" },
	[F_CLUSTER_CIDR] = { "cluster-cidr", "CIDR[,CIDR]", CMD_INIT, NULL,
			     "the pod CIDRs, at most one per family (required)" },
	[F_NODE_PREFIX] = { "node-prefix", "LEN[,LEN]", CMD_INIT, NULL,
			    "each node's range length per CIDR (default 24 for IPv4, 64 for IPv6)" },
	[F_BACKEND] = { "backend", "auto|direct|vxlan", CMD_INIT, "auto",
			"direct routes, VXLAN, or direct where a peer shares a subnet" },
	[F_VNI] = { "vxlan-vni", "N", CMD_INIT, "1", "the VXLAN network identifier" },
	[F_PORT] = { "vxlan-port", "PORT", CMD_INIT, "4789", "the VXLAN UDP port" },
	[F_FORCE] = { "force", NULL, CMD_INIT, NULL, "replace an existing, different config" },
	[F_NODE_NAME] = { "node-name", "NAME", CMD_RUN | CMD_LEAVE, NULL,
			  "the node, as Kubernetes names it (run: default the host name)" },
	[F_NODE_IP] = { "node-ip", "IP[,IP6]", CMD_RUN, NULL,
			"this node's address (and IPv6 address); default: the default routes' sources" },
	[F_CONF_DIR] = { "cni-conf-dir", "DIR", CMD_RUN, "/etc/cni/net.d", "where the conflist goes" },
	[F_DATA_DIR] = { "ipam-data-dir", "DIR", CMD_RUN, "/var/lib/cni/networks", "the pods' IPAM store" },
	[F_STATE_DIR] = { "state-dir", "DIR", CMD_RUN, "/var/lib/rivet", "this agent's own state and lock" },
	[F_TTL] = { "subnet-ttl", "SECONDS", CMD_RUN, "86400",
		    "how long a node keeps its ranges and routes with no agent renewing them" },
	[F_PROTOCOL] = { "route-protocol", "N", CMD_RUN, "92", "the route protocol that marks rivetd's routes" },
	[F_NETWORK] = { "network-name", "NAME", CMD_RUN, "rivet", "the conflist's network name" },
	[F_IPMASQ] = { "ipmasq", "true|false", CMD_RUN, "true", "masquerade what pods send outside the cluster" },
	[F_EXCLUDE] = { "ipmasq-exclude", "CIDRS", CMD_RUN, NULL,
			"more destinations that keep the pod's address (the service CIDR)" },
	[F_MTU] = { "mtu", "BYTES", CMD_RUN, NULL, "the pods' MTU (default: the uplink's, less VXLAN's 50, or 70 over IPv6)" },
	[F_CHAIN] = { "cni-chain", "PLUGINS", CMD_RUN, NULL, "plugins to run after rivet: portmap, bandwidth" },
	[F_CNI_LOG_FILE] = { "cni-log-file", "FILE", CMD_RUN, NULL,
			     "the plugin's log file, on the host (its logFile); default none" },
	[F_CNI_LOG_LEVEL] = { "cni-log-level", "LEVEL", CMD_RUN, NULL,
			      "the plugin's log level (its logLevel): error, warn, info, debug" },
	[F_JSON] = { "json", NULL, CMD_NODES, NULL, "print JSON" },
};

static const char *val[F_COUNT];

static const char *env_name(const char *flag, char *buf, size_t len)
{
	size_t i = (size_t)snprintf(buf, len, "RIVETD_");

	for (; *flag && i + 1 < len; flag++)
		buf[i++] = *flag == '-' ? '_' : (char)(*flag >= 'a' && *flag <= 'z' ? *flag - 32 : *flag);
	buf[i] = '\0';
	return buf;
}

static int usage(FILE *f, enum cmd only)
{
	char env[64];

	fprintf(f, "usage: rivetd COMMAND [FLAGS]\n       rivetd --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!only || commands[i].cmd == only)
			fprintf(f, "  %-6s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nflags (each also from the environment variable shown):\n");
	for (int i = 0; i < F_COUNT; i++) {
		char left[64];

		if (only && !(flags[i].cmds & only))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		fprintf(f, "  %-34s %s%s%s%s [%s]\n", left, flags[i].help, flags[i].def ? " (default " : "",
			flags[i].def ? flags[i].def : "", flags[i].def ? ")" : "",
			env_name(flags[i].name, env, sizeof(env)));
	}
	fprintf(f, "\nSee rivetd(8).\n");
	return f == stdout ? 0 : 2;
}

static int bad(enum cmd c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Say what is wrong with the command line; the exit status for it. */
static int bad(enum cmd c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rivetd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrivetd %s --help lists the flags\n",
		c == CMD_INIT ? "init" : c == CMD_RUN ? "run" : c == CMD_NODES ? "nodes" : "leave");
	return 2;
}

/* 0 parsed; -1 help printed; 2 a usage error, said. */
static int parse_flags(enum cmd c, int argc, char **argv)
{
	char env[64];

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t n;
		int f;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, c);
			return -1;	/* said all there is to say */
		}
		if (strncmp(a, "--", 2))
			return bad(c, "unexpected argument '%s'", a);
		a += 2;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		for (f = 0; f < F_COUNT; f++)
			if (strlen(flags[f].name) == n && !strncmp(flags[f].name, a, n))
				break;
		if (f == F_COUNT || !(flags[f].cmds & c))
			return bad(c, "unknown flag '%s'", argv[i]);
		if (!flags[f].arg)
			val[f] = eq ? eq + 1 : "true";
		else if (eq)
			val[f] = eq + 1;
		else if (i + 1 < argc)
			val[f] = argv[++i];
		else
			return bad(c, "--%s needs %s", flags[f].name, flags[f].arg);
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (!(flags[f].cmds & c))
			continue;
		if (!val[f])
			val[f] = getenv(env_name(flags[f].name, env, sizeof(env)));
		if (!val[f] || !*val[f])
			val[f] = flags[f].def;
	}
	return 0;
}

/* 0, or -1 after saying what is wrong. */
static int parse_num(enum cmd c, int f, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end, range[64];

	if (!val[f])
		return 0;
	errno = 0;
	*out = strtoul(val[f], &end, 10);
	if (!errno && end != val[f] && !*end && *out >= min && *out <= max)
		return 0;
	snprintf(range, sizeof(range), "%lu..%lu", min, max);
	bad(c, "--%s must be a number in %s", flags[f].name, range);
	return -1;
}

/* Each run flag is checked here, before the agent touches anything: a typo
 * in a DaemonSet's environment is an exit status the kubelet shows, not a
 * conflist quietly missing an exclusion. */
static int parse_node_ip(enum cmd c, struct agent_opts *o)
{
	char buf[128], *save = NULL, *tok;
	struct rv_ip v4 = { 0 }, v6 = { 0 };

	if (!val[F_NODE_IP])
		return 0;
	/* One address, or one of each family in either order (the downward
	 * API's status.hostIPs lists the primary family first). */
	snprintf(buf, sizeof(buf), "%s", val[F_NODE_IP]);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct rv_ip ip, *slot;

		if (ip_parse(tok, &ip) < 0)
			return bad(c, "--node-ip '%s' is not an address", tok);
		slot = ip.family == AF_INET ? &v4 : &v6;
		if (slot->family)
			return bad(c, "--node-ip '%s': give one address, or an IPv4 and an IPv6 one", val[F_NODE_IP]);
		*slot = ip;
	}
	/* IPv4 carries VXLAN when there is one; IPv6 then serves the direct
	 * IPv6 routes. */
	o->node_ip = v4.family ? v4 : v6;
	o->node_ip6 = v4.family ? v6 : (struct rv_ip){ 0 };
	return 0;
}

static int parse_exclude(enum cmd c, struct agent_opts *o)
{
	char buf[1024], *save = NULL, *tok;

	if (!val[F_EXCLUDE])
		return 0;
	snprintf(buf, sizeof(buf), "%s", val[F_EXCLUDE]);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct rv_prefix p;

		if (prefix_parse(tok, &p) < 0 || prefix_has_host_bits(&p))
			return bad(c, "--ipmasq-exclude: '%s' is not a CIDR such as 10.96.0.0/12", tok);
		if (o->n_exclude == AGENT_MAX_EXCLUDE)
			return bad(c, "--ipmasq-exclude takes at most %d CIDRs", AGENT_MAX_EXCLUDE);
		o->exclude[o->n_exclude++] = p;
	}
	return 0;
}

static int parse_chain(enum cmd c, struct agent_opts *o)
{
	static char buf[256];
	char *save = NULL, *tok;

	if (!val[F_CHAIN])
		return 0;
	snprintf(buf, sizeof(buf), "%s", val[F_CHAIN]);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!conflist_chainable(tok))
			return bad(c, "--cni-chain: rivetd does not know how to chain '%s' (portmap, bandwidth)", tok);
		if (o->n_chain == AGENT_MAX_CHAIN)
			return bad(c, "--cni-chain takes at most %d plugins", AGENT_MAX_CHAIN);
		o->chain[o->n_chain++] = tok;
	}
	return 0;
}

static bool truthy(int f)
{
	return val[f] && (!strcmp(val[f], "true") || !strcmp(val[f], "1") || !strcmp(val[f], "yes"));
}

int main(int argc, char **argv)
{
	struct etcd_opts eo;
	enum log_level level;
	unsigned long timeout = 0;
	enum cmd c = 0;
	int r;

	if (argc < 2)
		return usage(stderr, 0);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v")) {
		printf("rivetd %s\n", RIVET_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return usage(stdout, 0);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			c = commands[i].cmd;
	if (!c) {
		fprintf(stderr, "rivetd: unknown command '%s'\n", argv[1]);
		return usage(stderr, 0);
	}
	r = parse_flags(c, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	if (log_level_parse(val[F_LOG_LEVEL], &level) < 0)
		return bad(c, "--log-level '%s' must be error, warn, info or debug", val[F_LOG_LEVEL]);
	log_set_context("rivetd", NULL, NULL);
	log_configure(NULL, level, 0);	/* stderr, at the level asked for */
	if (parse_num(c, F_TIMEOUT, 100, 600000, &timeout) < 0)
		return 2;
	eo = (struct etcd_opts){
		.endpoints = val[F_ENDPOINTS], .cafile = val[F_CAFILE], .certfile = val[F_CERTFILE],
		.keyfile = val[F_KEYFILE], .timeout_ms = (unsigned)timeout,
	};
	if (val[F_PREFIX][0] != '/' || val[F_PREFIX][strlen(val[F_PREFIX]) - 1] == '/')
		return bad(c, "--prefix '%s' must start with '/' and not end with one", val[F_PREFIX]);

	if (c == CMD_RUN) {
		struct agent_opts o = {
			.etcd = eo, .prefix = val[F_PREFIX], .node_name = val[F_NODE_NAME],
			.cni_conf_dir = val[F_CONF_DIR], .ipam_data_dir = val[F_DATA_DIR], .state_dir = val[F_STATE_DIR],
			.network = val[F_NETWORK], .ip_masq = truthy(F_IPMASQ),
		};
		char host[HOST_NAME_MAX + 1];
		unsigned long ttl = 0, proto = 0, mtu = 0;
		enum log_level cni_level;

		if (!o.node_name) {
			if (gethostname(host, sizeof(host)) < 0) {
				fprintf(stderr, "rivetd: cannot read the host name: give --node-name\n");
				return 1;
			}
			host[sizeof(host) - 1] = '\0';
			o.node_name = host;
		}
		if (!cluster_valid_node_name(o.node_name))
			return bad(c, "node name '%s' is not one Kubernetes accepts (lowercase letters, digits, "
				   "'-' and '.'); give --node-name", o.node_name);
		if (parse_num(c, F_TTL, 2, 10u * 365 * 86400, &ttl) < 0 ||
		    parse_num(c, F_PROTOCOL, 5, 255, &proto) < 0 || parse_num(c, F_MTU, 68, 65535, &mtu) < 0)
			return 2;
		if (strcmp(val[F_IPMASQ], "true") && strcmp(val[F_IPMASQ], "false"))
			return bad(c, "--ipmasq '%s' must be true or false", val[F_IPMASQ]);
		if ((r = parse_node_ip(c, &o)) || (r = parse_exclude(c, &o)) || (r = parse_chain(c, &o)))
			return r;
		if (val[F_CNI_LOG_FILE] && (val[F_CNI_LOG_FILE][0] != '/' || strpbrk(val[F_CNI_LOG_FILE], "\"\\")))
			return bad(c, "--cni-log-file '%s' must be an absolute path", val[F_CNI_LOG_FILE]);
		if (val[F_CNI_LOG_LEVEL] && log_level_parse(val[F_CNI_LOG_LEVEL], &cni_level) < 0)
			return bad(c, "--cni-log-level '%s' must be error, warn, info or debug", val[F_CNI_LOG_LEVEL]);
		o.cni_log_file = val[F_CNI_LOG_FILE];
		o.cni_log_level = val[F_CNI_LOG_LEVEL];
		if (!cni_valid_network_name(o.network))
			return bad(c, "--network-name '%s' is not a CNI network name (letters, digits, '_', '.', '-')",
				   o.network);
		o.subnet_ttl = (int64_t)ttl;
		o.route_protocol = (unsigned char)proto;
		o.mtu = (unsigned)mtu;
		return agent_run(&o);
	}

	struct ctl_opts o = {
		.etcd = eo, .prefix = val[F_PREFIX], .cluster_cidr = val[F_CLUSTER_CIDR],
		.node_prefix = val[F_NODE_PREFIX], .backend = val[F_BACKEND], .force = truthy(F_FORCE),
		.json = truthy(F_JSON), .node_name = val[F_NODE_NAME],
	};
	unsigned long vni = 0, port = 0;

	if (c == CMD_INIT) {
		if (parse_num(c, F_VNI, 1, 0xffffff, &vni) < 0 || parse_num(c, F_PORT, 1, 65535, &port) < 0)
			return 2;
		o.vni = (unsigned)vni;
		o.port = (unsigned)port;
		return ctl_init(&o);
	}
	return c == CMD_NODES ? ctl_nodes(&o) : ctl_leave(&o);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The operator's commands (see ctl.h). They talk to etcd only; none of
 * them touches this machine's network: `leave` withdraws a node from
 * etcd, and every other node's agent withdraws its routes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/alloc.h"
#include "agent/cluster.h"
#include "agent/ctl.h"

/* The one place these commands write stdout: their answer, which scripts
 * read (`nodes --json`). rivetd is no CNI plugin, but the rule is the
 * plugin's: stdout holds the answer and nothing else; every diagnostic
 * goes to stderr. */
static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

static int failed(const struct rv_err *err)
{
	fprintf(stderr, "rivetd: %s%s%s\n", err->msg, err->details[0] ? ": " : "", err->details);
	return 1;
}

static int open_etcd(const struct ctl_opts *o, struct etcd **e)
{
	struct rv_err err = { 0 };

	if (etcd_open(e, &o->etcd, &err) < 0)
		return failed(&err);
	return 0;
}

/* Every range a node holds must be a node range of the new config: a node
 * with pods never moves, and a peer whose range the config does not hold is
 * not routed. 1 (said) when one is not, 0 when all are. */
static int refuse_moving_nodes(struct etcd *e, const char *prefix, const struct cluster_conf *want)
{
	char key[CLUSTER_KEY_MAX], text[CLUSTER_KEY_MAX];
	struct etcd_kvs claims = { 0 };
	struct rv_err err = { 0 };
	size_t skip = strlen(cluster_key_ranges(key, prefix)), bad = 0;

	if (etcd_get(e, key, true, &claims, &err) < 0) {
		failed(&err);
		return 1;
	}
	for (size_t i = 0; i < claims.n; i++) {
		struct rv_prefix r;
		char *dash;

		snprintf(text, sizeof(text), "%s", claims.v[i].key + skip);
		if ((dash = strrchr(text, '-')))
			*dash = '/';
		if (prefix_parse(text, &r) == 0 && cluster_range_index(want, &r) >= 0)
			continue;
		if (!bad++)
			fprintf(stderr, "rivetd: refusing the new config: nodes hold ranges it does not have:\n");
		fprintf(stderr, "rivetd:   node %s holds %s\n", claims.v[i].value, text);
	}
	etcd_kvs_done(&claims);
	if (bad)
		fprintf(stderr, "rivetd: keep those ranges inside the new CIDRs at their node prefix, or remove "
			"those nodes first (rivetd leave)\n");
	return bad ? 1 : 0;
}

int ctl_init(const struct ctl_opts *o)
{
	char key[CLUSTER_KEY_MAX], *value = NULL;
	struct cluster_conf want, have;
	enum cluster_backend be;
	struct rv_err err = { 0 };
	struct etcd_kv cur = { 0 };
	struct etcd *e = NULL;
	int r, status = 1;

	if (cluster_backend_parse(o->backend ? o->backend : "auto", &be) < 0) {
		fprintf(stderr, "rivetd: --backend \"%s\" must be auto, direct or vxlan\n", o->backend);
		return 2;
	}
	if (cluster_conf_from_args(o->cluster_cidr, o->node_prefix, be, &want, &err) < 0)
		return failed(&err);
	if (o->vni)
		want.vni = o->vni;
	if (o->port)
		want.port = (uint16_t)o->port;
	if (!(value = cluster_conf_encode(&want))) {
		fprintf(stderr, "rivetd: out of memory\n");
		return 1;
	}
	if (open_etcd(o, &e))
		goto out;
	cluster_key_config(key, o->prefix);
	r = etcd_create(e, key, value, 0, &cur, &err);
	if (r < 0) {
		status = failed(&err);
		goto out;
	}
	if (r == 1) {
		answer("initialised the cluster at %s: %s\n", key, value);
		status = 0;
		goto out;
	}
	if (cluster_conf_decode(cur.value, cur.value_len, &have, NULL) == 0 && cluster_conf_equal(&have, &want)) {
		answer("the cluster at %s is already initialised with this config\n", key);
		status = 0;
		goto out;
	}
	if (!o->force) {
		fprintf(stderr, "rivetd: the cluster at %s is initialised with another config: %s\n"
			"rivetd: pass --force to replace it; nodes keep the ranges they hold, so a config that "
			"does not hold every one of them is refused\n", key, cur.value);
		goto out;
	}
	if (refuse_moving_nodes(e, o->prefix, &want))
		goto out;
	if (etcd_put(e, key, value, 0, &err) < 0) {
		status = failed(&err);
		goto out;
	}
	answer("replaced the cluster's config at %s: %s\n", key, value);
	status = 0;
out:
	etcd_kv_done(&cur);
	free(value);
	if (e)
		etcd_close(e);
	return status;
}

static bool agent_running(const struct etcd_kvs *agents, const char *prefix, const char *name)
{
	char key[CLUSTER_KEY_MAX];

	cluster_key_agent(key, prefix, name);
	for (size_t i = 0; i < agents->n; i++)
		if (!strcmp(agents->v[i].key, key))
			return true;
	return false;
}

int ctl_nodes(const struct ctl_opts *o)
{
	char key[CLUSTER_KEY_MAX];
	struct etcd_kvs nodes = { 0 }, agents = { 0 };
	struct node_rec *recs = NULL;
	struct node_view *views = NULL;
	struct rv_err err = { 0 };
	struct etcd *e = NULL;
	size_t n = 0;
	time_t now = time(NULL);
	int status = 1;

	if (open_etcd(o, &e))
		return 1;
	if (etcd_get(e, cluster_key_nodes(key, o->prefix), true, &nodes, &err) < 0 ||
	    etcd_get(e, cluster_key_agent(key, o->prefix, ""), true, &agents, &err) < 0) {
		status = failed(&err);
		goto out;
	}
	recs = calloc(nodes.n + 1, sizeof(*recs));
	views = calloc(nodes.n + 1, sizeof(*views));
	if (!recs || !views) {
		fprintf(stderr, "rivetd: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < nodes.n; i++) {
		int64_t left = 0, granted;

		if (node_rec_decode(nodes.v[i].value, nodes.v[i].value_len, &recs[n], &err) < 0) {
			fprintf(stderr, "rivetd: skipping %s: %s\n", nodes.v[i].key, err.msg);
			continue;
		}
		views[n].rec = &recs[n];
		if (nodes.v[i].lease && etcd_lease_ttl(e, nodes.v[i].lease, &left, &granted, NULL) == 0 && left >= 0)
			views[n].lease_expires = (int64_t)now + left;
		views[n].agent_running = agent_running(&agents, o->prefix, recs[n].name);
		n++;
	}
	if (o->json) {
		char *text = cluster_nodes_json(views, n);

		if (!text) {
			fprintf(stderr, "rivetd: out of memory\n");
			goto out;
		}
		answer("%s\n", text);
		free(text);
	} else {
		answer("%-20s %-16s %-40s %-7s %-17s %-8s %s\n", "NAME", "NODE IP", "RANGES", "BACKEND", "VTEP MAC",
		       "AGENT", "LEASE EXPIRES");
		for (size_t i = 0; i < n; i++) {
			char ip[IP_STRLEN], ranges[128] = "", mac[18] = "-", when[32] = "-", buf[IP_STRLEN];

			for (size_t k = 0; k < recs[i].n_ranges; k++) {
				size_t len = strlen(ranges);

				snprintf(ranges + len, sizeof(ranges) - len, "%s%s", k ? "," : "",
					 prefix_fmt(&recs[i].ranges[k], buf));
			}
			if (recs[i].has_vtep)
				cluster_mac_fmt(recs[i].vtep_mac, mac);
			if (views[i].lease_expires) {
				time_t t = (time_t)views[i].lease_expires;
				struct tm tm;

				gmtime_r(&t, &tm);
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			}
			answer("%-20s %-16s %-40s %-7s %-17s %-8s %s\n", recs[i].name, ip_fmt(&recs[i].ip, ip), ranges,
			       cluster_backend_name(recs[i].backend), mac,
			       views[i].agent_running ? "running" : "stopped", when);
		}
	}
	status = 0;
out:
	free(recs);
	free(views);
	etcd_kvs_done(&nodes);
	etcd_kvs_done(&agents);
	etcd_close(e);
	return status;
}

int ctl_leave(const struct ctl_opts *o)
{
	char key[CLUSTER_KEY_MAX];
	struct etcd_kvs alive = { 0 };
	struct rv_err err = { 0 };
	struct etcd *e = NULL;
	bool found;
	int status = 1;

	if (!o->node_name || !cluster_valid_node_name(o->node_name)) {
		fprintf(stderr, "rivetd: leave needs --node-name NAME (a node name as Kubernetes spells it)\n");
		return 2;
	}
	if (open_etcd(o, &e))
		return 1;
	if (etcd_get(e, cluster_key_agent(key, o->prefix, o->node_name), false, &alive, &err) < 0) {
		status = failed(&err);
		goto out;
	}
	if (alive.n) {
		/* A running agent means pods may still use the range, and it
		 * would claim the range again at once anyway. */
		fprintf(stderr, "rivetd: node %s's agent is running (%.*s); stop it first (drain the node and remove "
			"its rivetd pod), then run leave again. A killed agent's liveness ends within %d s.\n",
			o->node_name, (int)alive.v[0].value_len, alive.v[0].value, AGENT_ALIVE_TTL);
		goto out;
	}
	if (alloc_leave(e, o->prefix, o->node_name, &found, &err) < 0) {
		status = failed(&err);
		goto out;
	}
	if (found)
		answer("node %s left: its ranges are free and every other node withdraws its routes\n", o->node_name);
	else
		answer("node %s holds nothing in etcd: nothing to do\n", o->node_name);
	status = 0;
out:
	etcd_kvs_done(&alive);
	etcd_close(e);
	return status;
}

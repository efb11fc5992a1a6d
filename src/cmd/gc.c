// SPDX-License-Identifier: Apache-2.0
/*
 * STATUS and GC (spec 1.1.0).
 *
 * GC keeps exactly what the runtime lists as valid: every reservation, host
 * end and masquerade element of this network that belongs to another
 * attachment is removed, and rivet's nftables table is rebuilt for the
 * network's config. It never guesses from other signals (a missing
 * netns, an old file): a runtime's list is the only authority, which is
 * what stops GC from ever taking a live pod's address. It continues past
 * errors and reports the first, except that the masquerade sets are only
 * refilled from a store read without any error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attach.h"
#include "cmd/cmd.h"
#include "ipam/hostlocal.h"
#include "net/datapath.h"
#include "net/masq.h"
#include "util/log.h"

int cmd_status(const struct cni_env *env, struct netconf *conf, struct rv_err *err)
{
	struct attach a;
	int r;

	r = attach_init(&a, env, conf, err);
	if (r < 0)
		return r;
	if (a.delegated)
		return attach_delegate(&a, conf, "STATUS", err);
	return hostlocal_status(&a.req, err);
}

struct unnamed {
	char name[16];
	int ifindex;
};

struct gc_links {
	const struct netconf *conf;
	unsigned removed;
	struct rv_err *err;
	struct unnamed *unnamed;	/* seen without an alias; decided later */
	size_t n_unnamed, cap_unnamed;
};

static bool valid(const struct netconf *conf, const char *id, const char *ifname)
{
	for (size_t i = 0; i < conf->n_valid; i++)
		if (!strcmp(conf->valid[i].container_id, id) && !strcmp(conf->valid[i].ifname, ifname))
			return true;
	return false;
}

/* Is @host_if the derived name of one of the runtime's valid attachments? */
static bool valid_name(const struct netconf *conf, const char *host_if)
{
	char name[16];

	for (size_t i = 0; i < conf->n_valid; i++) {
		datapath_host_ifname(conf->valid[i].container_id, conf->valid[i].ifname, name);
		if (!strcmp(name, host_if))
			return true;
	}
	return false;
}

static int gc_link(const char *host_if, int ifindex, const char *id, const char *ifname, void *ctx)
{
	struct gc_links *g = ctx;
	char alias[256];

	if (!id) {
		/* Unnamed: a leftover of an older rivet's killed ADD, or the
		 * veth of an ADD in progress (of another network: the runtime
		 * runs no ADD of this one during GC) caught between its create
		 * and its alias. Which, only a second look can tell. */
		if (valid_name(g->conf, host_if))
			return 0;
		if (g->n_unnamed == g->cap_unnamed) {
			size_t cap = g->cap_unnamed ? g->cap_unnamed * 2 : 8;
			struct unnamed *u = realloc(g->unnamed, cap * sizeof(*u));

			if (!u)
				return 0;	/* left for the next GC */
			g->unnamed = u;
			g->cap_unnamed = cap;
		}
		snprintf(g->unnamed[g->n_unnamed].name, sizeof(g->unnamed[0].name), "%s", host_if);
		g->unnamed[g->n_unnamed++].ifindex = ifindex;
		return 0;
	}
	if (valid(g->conf, id, ifname))
		return 0;
	datapath_alias(g->conf->name, id, ifname, alias);
	if (datapath_del(host_if, alias, g->err) == 0) {
		log_warn("GC removed %s of %s/%s, which the runtime no longer knows", host_if, id, ifname);
		g->removed++;
	}
	return 0;
}

int cmd_gc(const struct cni_env *env, struct netconf *conf, struct rv_err *err)
{
	struct rv_ip *keep = NULL;
	struct rv_err first = { 0 }, e2 = { 0 };
	struct gc_links g = { .conf = conf, .err = &e2 };
	struct attach a;
	size_t n = 0, n_keep = 0;
	int r;

	r = attach_init(&a, env, conf, err);
	if (r < 0)
		return r;
	if (a.delegated) {
		r = attach_delegate(&a, conf, "GC", &first);
	} else {
		r = hostlocal_gc(&a.req, conf->valid, conf->n_valid, NULL, 0, &n, &first);
		if (n)
			log_info("GC released %zu reservation%s", n, n == 1 ? "" : "s");
	}

	if (datapath_list(conf->name, gc_link, &g, &e2) < 0 && !first.code)
		first = e2;
	if (g.n_unnamed) {
		/* Deleted only if still unnamed, and the same link, after
		 * longer than an ADD takes to name its veth. */
		struct timespec ts = { DP_UNNAMED_GRACE_MS / 1000, (DP_UNNAMED_GRACE_MS % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		for (size_t i = 0; i < g.n_unnamed; i++) {
			if (datapath_del_unnamed(g.unnamed[i].name, g.unnamed[i].ifindex, &e2) <= 0)
				continue;
			log_warn("GC removed %s, left unnamed by an interrupted ADD", g.unnamed[i].name);
			g.removed++;
		}
		free(g.unnamed);
	}
	if (g.removed)
		log_info("GC removed %u host end%s", g.removed, g.removed == 1 ? "" : "s");

	if (!a.delegated) {
		/* The addresses still held by valid attachments are exactly
		 * what the pod sets should contain; without ipMasq (switched
		 * off since), the network's sets go. The whole of the table's
		 * part for the network is rebuilt, whatever its state says.
		 * Only a complete answer will do: a pod missing from it would
		 * lose its masquerade, so any failure (the store's above
		 * included) leaves the sets as they are. */
		struct masq_spec ms = { 0 };
		struct rv_err e3 = { 0 };
		/* Without ipMasq the refill needs nothing from the store. */
		int fr = conf->ip_masq ? r : 0;

		keep = calloc(conf->n_valid * ATTACH_MAX_ADDRS + 1, sizeof(*keep));
		if (!keep)
			fr = err_set(&e3, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		for (size_t i = 0; fr == 0 && conf->ip_masq && i < conf->n_valid; i++) {
			struct ipam_req q = a.req;
			size_t got = 0;

			q.container_id = conf->valid[i].container_id;
			q.ifname = conf->valid[i].ifname;
			fr = hostlocal_find(&q, keep + n_keep, ATTACH_MAX_ADDRS, &got, &e3);
			if (fr == 0)
				n_keep += got < ATTACH_MAX_ADDRS ? got : ATTACH_MAX_ADDRS;
		}
		if (fr < 0)
			log_warn("masquerade sets of %s left as they are: the store could not be read", conf->name);
		else if (attach_masq_spec(conf, NULL, 0, &ms, &e3) < 0 || masq_sync(&ms, keep, n_keep, &e3) < 0)
			fr = -EIO;
		if (fr < 0 && !first.code)
			first = e3;
		free((void *)ms.keep);
		free(keep);
	}
	if (first.code) {
		*err = first;
		return -EIO;
	}
	return r < 0 ? r : 0;
}

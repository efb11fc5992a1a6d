// SPDX-License-Identifier: Apache-2.0
/*
 * DEL: release, then remove. Nothing here needs the pod's netns: the host
 * end is found by its derived name and deleting it takes the pod end with
 * it, so a DEL with an empty or vanished CNI_NETNS does all of its work.
 *
 * Order, so that a DEL killed at any point leaves only what a second DEL
 * still finds, and so that no address is free while its route still leads
 * to the old veth: masquerade elements first (found through the
 * reservation, and removed whether or not the config still asks for
 * ipMasq), then the link (which takes the routes), then the
 * reservation. Releasing first would let a parallel ADD get the address
 * during the ~20 ms the kernel takes to delete the link, and fail on the
 * route that is still there (seen under a 16-worker storm). Each step that
 * finds nothing to do succeeds, which makes DEL idempotent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "cmd/cmd.h"
#include "ipam/hostlocal.h"
#include "net/datapath.h"
#include "net/masq.h"
#include "util/log.h"

int cmd_del(const struct cni_env *env, struct netconf *conf, struct rv_err *err)
{
	struct rv_ip held[ATTACH_MAX_ADDRS];
	struct rv_err lerr = { 0 };
	struct attach a;
	size_t n = 0;
	int r, ipam_r;

	r = attach_init(&a, env, conf, err);
	if (r < 0)
		return r;
	if (!a.delegated) {
		/* Whatever the config says now: ipMasq may have been switched
		 * off since the ADD, and an element left behind would
		 * masquerade the next pod given the address. Best effort: a
		 * missing set is nothing to remove, and a leftover reservation
		 * (a leaked address) is worse than a leftover element. */
		if (hostlocal_find(&a.req, held, ATTACH_MAX_ADDRS, &n, &lerr) == 0 && n &&
		    masq_del(conf->name, held, n < ATTACH_MAX_ADDRS ? n : ATTACH_MAX_ADDRS, &lerr) < 0)
			log_warn("masquerade: %s", lerr.msg);
	}
	/* The link goes even when something failed before it, and the release
	 * even when the link could not be deleted: the runtime retries a
	 * failed DEL, and the retry must find as little as possible left. */
	r = datapath_del(a.host_if, a.alias, &lerr);
	ipam_r = attach_ipam_del(&a, conf, held, ATTACH_MAX_ADDRS, &n, err);
	if (ipam_r < 0)
		log_warn("IPAM release failed: %s", err->msg);
	else if (n)
		log_info("released %zu address%s", n, n == 1 ? "" : "es");
	if (a.delegated && conf->has_prev_result) {
		for (size_t i = 0; i < conf->prev_result.n_ips && n < ATTACH_MAX_ADDRS; i++)
			held[n++] = conf->prev_result.ips[i].address.ip;
		(void)masq_del(conf->name, held, n, NULL);
	}
	masq_release();
	if (ipam_r < 0)
		return ipam_r;
	if (r < 0)
		*err = lerr;
	return r;
}

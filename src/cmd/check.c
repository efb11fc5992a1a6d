// SPDX-License-Identifier: Apache-2.0
/*
 * CHECK: compare the kernel and the store with the prevResult the runtime
 * cached after ADD. The pod interface is found in the prevResult by name
 * and sandbox, as ptp does; then the datapath (pod link, addresses, routes,
 * gateway neighbours, host end, host routes), the reservations, the state
 * of table inet rivet (which carries the anti-spoof rule) and the
 * masquerade elements are checked. Only reads: a few single-object netlink
 * requests and the pod's own small caches, so a runtime may call it often.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cmd/cmd.h"
#include "ipam/hostlocal.h"
#include "net/datapath.h"
#include "net/masq.h"
#include "net/netns.h"

static int find_pod_iface(const struct cni_result *prev, const struct cni_env *env)
{
	for (size_t i = 0; i < prev->n_ifaces; i++) {
		const struct cni_iface *f = &prev->ifaces[i];

		if (f->name && !strcmp(f->name, env->ifname) &&
		    (!f->sandbox || !*f->sandbox || !strcmp(f->sandbox, env->netns)))
			return (int)i;
	}
	return -1;
}

int cmd_check(const struct cni_env *env, struct netconf *conf, struct rv_err *err)
{
	const struct cni_result *prev = &conf->prev_result;
	struct rv_ip addrs[ATTACH_MAX_ADDRS];
	struct attach a;
	size_t n = 0;
	int nsfd = -1, pod, r;

	r = attach_init(&a, env, conf, err);
	if (r < 0)
		return r;
	if (!conf->has_prev_result)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "CHECK needs the prevResult of the ADD; the runtime did not send one");
	pod = find_pod_iface(prev, env);
	if (pod < 0)
		return err_set(err, RIVET_ERR_CHECK, ENOENT,
			       "prevResult has no interface %s in sandbox %s", env->ifname, env->netns);
	for (size_t i = 0; i < prev->n_ips && n < ATTACH_MAX_ADDRS; i++)
		if (prev->ips[i].iface == pod)
			addrs[n++] = prev->ips[i].address.ip;
	if (!n)
		return err_set(err, RIVET_ERR_CHECK, ENOENT, "prevResult has no address on %s", env->ifname);

	if (a.delegated)
		r = attach_delegate(&a, conf, "CHECK", err);
	for (size_t i = 0; r == 0 && !a.delegated && i < n; i++)
		r = hostlocal_holds(&a.req, &addrs[i], err);
	if (r < 0)
		return r;

	r = netns_open(env->netns, env->netns_override, &nsfd, err);
	if (r < 0)
		return r;
	struct dp_expect e = {
		.host_if = a.host_if,
		.pod_if = env->ifname,
		.pod_nsfd = nsfd,
		.alias = a.alias,
		.pod_mac = prev->ifaces[pod].mac,
		.mtu = prev->ifaces[pod].mtu,
		.addrs = addrs,
		.n_addrs = n,
	};
	r = datapath_check(&e, err);
	close(nsfd);
	if (r == 0) {
		/* The spec ADD had. Not known here: a delegated IPAM's leases
		 * (only the ADD saw them), nor, with runtimeConfig.ipRanges,
		 * the ranges of the pod that ADDed last (the network has one
		 * state, and pods may be given different ranges; GC knows
		 * none of them). Then the state element need only exist. */
		struct masq_spec ms = { 0 };
		bool exact = !a.delegated && !conf->ipam.n_runtime_sets;

		r = attach_masq_spec(conf, NULL, 0, &ms, err);
		if (r == 0)
			r = masq_check(&ms, exact, addrs, n, err);
		free((void *)ms.keep);
	}
	return r;
}

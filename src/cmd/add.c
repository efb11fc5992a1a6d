// SPDX-License-Identifier: Apache-2.0
/*
 * ADD: netns, then addresses, then rivet's nftables table, then the
 * datapath, then the pod's masquerade elements, then the result.
 * Everything that can be refused without side effects (names, the config,
 * the netns) is refused before the first address is reserved; every
 * step after that is undone, in reverse, if a later one fails, so a failed
 * ADD leaves no veth, route, set element or reservation behind.
 *
 * The result extends a prevResult, if one came, as the spec asks: its
 * interfaces, addresses and routes first, then rivet's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cmd/cmd.h"
#include "net/datapath.h"
#include "net/masq.h"
#include "net/netns.h"
#include "util/log.h"

static int copy_prev(struct cni_result *res, const struct cni_result *prev)
{
	for (size_t i = 0; i < prev->n_ifaces; i++) {
		const struct cni_iface *f = &prev->ifaces[i];
		int idx = cni_result_add_iface(res, f->name, f->mac, f->sandbox, f->mtu);

		if (idx < 0)
			return idx;
		if ((f->socket_path && !(res->ifaces[idx].socket_path = strdup(f->socket_path))) ||
		    (f->pci_id && !(res->ifaces[idx].pci_id = strdup(f->pci_id))))
			return -ENOMEM;
	}
	for (size_t i = 0; i < prev->n_ips; i++)
		if (cni_result_add_ip(res, &prev->ips[i].address, &prev->ips[i].gateway, prev->ips[i].iface) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < prev->n_routes; i++)
		if (cni_result_add_route(res, &prev->routes[i]) < 0)
			return -ENOMEM;
	return dns_copy(&res->dns, &prev->dns);
}

static void mac_fmt(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static bool route_in(const struct cni_result *res, const struct rv_route *rt)
{
	for (size_t i = 0; i < res->n_routes; i++)
		if (res->routes[i].dst.len == rt->dst.len && ip_eq(&res->routes[i].dst.ip, &rt->dst.ip))
			return true;
	return false;
}

static int build_result(struct cni_result *res, const struct cni_env *env, const struct netconf *conf,
			const struct attach *a, const struct attach_ipam *io, const struct dp_state *st)
{
	const struct rv_dns *dns;
	char mac[18];
	int pod;

	if (conf->has_prev_result && copy_prev(res, &conf->prev_result) < 0)
		return -ENOMEM;
	mac_fmt(dp_host_mac, mac);
	if (cni_result_add_iface(res, a->host_if, mac, NULL, 0) < 0)
		return -ENOMEM;
	mac_fmt(st->pod_mac, mac);
	pod = cni_result_add_iface(res, env->ifname, mac, env->netns, st->mtu);
	if (pod < 0)
		return pod;
	for (size_t i = 0; i < io->n; i++) {
		int family = io->leases[i].addr.ip.family;
		struct rv_prefix addr = { .ip = io->leases[i].addr.ip, .len = ip_bits(family) };
		struct rv_ip gw = datapath_gateway(family);
		struct rv_route def = { .dst = { .ip = { .family = family } }, .gw = gw, .has = ROUTE_HAS_GW };

		if (cni_result_add_ip(res, &addr, &gw, pod) < 0)
			return -ENOMEM;
		if (!route_in(res, &def) && cni_result_add_route(res, &def) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < io->n_routes; i++) {
		struct rv_route rt = io->routes[i];

		rt.dst = prefix_masked(&rt.dst);
		rt.gw = datapath_gateway(rt.dst.ip.family);
		rt.has |= ROUTE_HAS_GW;
		if (!route_in(res, &rt) && cni_result_add_route(res, &rt) < 0)
			return -ENOMEM;
	}
	/* runtimeConfig.dns is the runtime's per-pod choice, "dns" the
	 * operator's per-network one, and IPAM's (resolvConf) the fallback. */
	dns = !dns_is_empty(&conf->runtime_dns) ? &conf->runtime_dns
	      : !dns_is_empty(&conf->dns)       ? &conf->dns
						: &io->dns;
	if (!dns_is_empty(dns)) {
		dns_done(&res->dns);
		if (dns_copy(&res->dns, dns) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t out[6])
{
	unsigned v[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)v[i];
	/* A multicast address cannot be a link's own. */
	return out[0] & 1 ? -EINVAL : 0;
}

int cmd_add(const struct cni_env *env, struct netconf *conf, struct cni_result *res,
	    struct rv_err *err)
{
	struct rv_ip addrs[ATTACH_MAX_ADDRS];
	struct attach_ipam io = { 0 };
	struct dp_state st = { 0 };
	struct masq_spec ms = { 0 };
	struct attach a;
	uint8_t mac[6];
	char ips[256] = "";
	int nsfd = -1, r;
	bool have_ipam = false, have_dp = false, rebuilt;

	/* The capability is the spec's way to ask for a MAC; CNI_ARGS MAC= is
	 * what podman sends (bridge and tuning read it too). */
	const char *want_mac = conf->mac ? conf->mac : env->mac[0] ? env->mac : NULL;

	r = attach_init(&a, env, conf, err);
	if (r < 0)
		return r;
	if (want_mac && parse_mac(want_mac, mac) < 0)
		return err_set(err, conf->mac ? CNI_ERR_CONFIG : CNI_ERR_ENV, EINVAL,
			       "%s \"%.32s\" is not a unicast MAC address like 0a:58:0a:01:00:05",
			       conf->mac ? "runtimeConfig.mac" : "CNI_ARGS MAC", want_mac);
	r = netns_open(env->netns, env->netns_override, &nsfd, err);
	if (r < 0)
		return r;

	r = attach_ipam_add(&a, conf, &io, err);
	if (r < 0)
		goto out;
	have_ipam = true;
	for (size_t i = 0; i < io.n; i++) {
		char buf[IP_STRLEN];
		size_t len = strlen(ips);

		addrs[i] = io.leases[i].addr.ip;
		snprintf(ips + len, sizeof(ips) - len, "%s%s", i ? "," : "", ip_fmt(&addrs[i], buf));
	}

	/* rivet's table before the pod's link: the rule that drops what a pod
	 * sends from addresses it does not hold must be there before the pod
	 * can send. One read when the table already is what this config asks
	 * (with a delegated IPAM, the pod's subnet is part of that). */
	r = attach_masq_spec(conf, io.leases, io.n, &ms, err);
	if (r < 0)
		goto out;
	r = masq_ensure(&ms, err);
	if (r < 0)
		goto out;
	rebuilt = r > 0;
	if (rebuilt)
		log_info("brought table inet rivet up to network %s's config", conf->name);

	struct dp_spec spec = {
		.host_if = a.host_if,
		.pod_if = env->ifname,
		.pod_nsfd = nsfd,
		.alias = a.alias,
		.mtu = conf->mtu,
		.pod_mac = want_mac ? mac : NULL,
		.addrs = addrs,
		.n_addrs = io.n,
		.routes = io.routes,
		.n_routes = io.n_routes,
	};
	r = datapath_add(&spec, &st, err);
	if (r < 0)
		goto out;
	have_dp = true;
	log_debug("%s <-> %s, MTU %u (%s)", a.host_if, env->ifname, st.mtu, st.mtu_source);

	if (conf->ip_masq) {
		r = attach_masq_add(&a, &ms, addrs, io.n, rebuilt, err);
		if (r < 0)
			goto out;
	}
	if (build_result(res, env, conf, &a, &io, &st) < 0) {
		r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		if (conf->ip_masq)
			(void)masq_del(conf->name, addrs, io.n, NULL);
		goto out;
	}
	if (env->k8s_pod[0])
		log_info("added %s on %s (host %s) for pod %s/%s", ips, env->ifname, a.host_if,
			 env->k8s_namespace[0] ? env->k8s_namespace : "-", env->k8s_pod);
	else
		log_info("added %s on %s (host %s)", ips, env->ifname, a.host_if);
	r = 0;
out:
	if (r < 0 && have_dp)
		(void)datapath_del(a.host_if, a.alias, NULL);
	if (r < 0 && have_ipam)
		attach_ipam_undo(&a, conf, &io);
	attach_ipam_done(&io);
	free((void *)ms.keep);
	if (nsfd >= 0)
		close(nsfd);
	return r;
}

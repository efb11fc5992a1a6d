// SPDX-License-Identifier: Apache-2.0
/*
 * What the commands share: attachment names and IPAM behind one interface.
 * A delegated plugin's result arrives as JSON, which the cni layer decodes;
 * the ipam layer only runs the program. That keeps cJSON in cni/ and the
 * exec in ipam/, with this file handing plain structs between them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "ipam/delegate.h"
#include "ipam/range.h"
#include "ipam/resolv.h"
#include "net/datapath.h"
#include "util/log.h"

int attach_init(struct attach *a, const struct cni_env *env, struct netconf *conf,
		struct rv_err *err)
{
	memset(a, 0, sizeof(*a));
	if (env->container_id && env->ifname) {
		datapath_host_ifname(env->container_id, env->ifname, a->host_if);
		datapath_alias(conf->name, env->container_id, env->ifname, a->alias);
	}
	a->delegated = strcmp(conf->ipam.type, "host-local") != 0;
	a->req.conf = &conf->ipam;
	a->req.network = conf->name;
	a->req.container_id = env->container_id;
	a->req.ifname = env->ifname;
	if (a->delegated)
		return 0;
	if (conf->ipam.n_sets > ATTACH_MAX_ADDRS)
		return err_set(err, CNI_ERR_CONFIG, E2BIG, "ipam has %zu range sets; rivet supports up to %d",
			       conf->ipam.n_sets, ATTACH_MAX_ADDRS);
	/* Refused before an address is reserved (a delegate's routes can only
	 * be counted in its result, after the fact). */
	if (conf->ipam.n_routes > ATTACH_MAX_ROUTES)
		return err_set(err, CNI_ERR_CONFIG, E2BIG, "ipam gives %zu routes; rivet supports up to %d",
			       conf->ipam.n_routes, ATTACH_MAX_ROUTES);
	return ipam_ranges_canonicalize(&conf->ipam, conf->version < CNI_V030, err);
}

static int delegate_failed(const struct attach *a, const struct netconf *conf, const char *command,
			   const char *out, size_t len, int status, struct rv_err *err)
{
	if (cni_error_decode(out, len, err) == 0) {
		err_prefix(err, "ipam plugin %s (%s)", conf->ipam.type, command);
		return -EIO;
	}
	return err_set(err, RIVET_ERR_DELEGATE, EIO, "ipam plugin %s failed %s with exit status %d",
		       conf->ipam.type, command, status);
}

int attach_delegate(const struct attach *a, const struct netconf *conf, const char *command,
		    struct rv_err *err)
{
	struct delegate_run run;
	const char *path = getenv("CNI_PATH");
	int r;

	r = ipam_delegate_run(conf->ipam.type, path, command, conf->raw, conf->raw_len, &run, err);
	if (r < 0)
		return r;
	if (run.status)
		r = delegate_failed(a, conf, command, run.out, run.len, run.status, err);
	free(run.out);
	return r;
}

static int from_delegate(const struct netconf *conf, struct attach_ipam *out, struct rv_err *err)
{
	struct delegate_run run;
	int r;

	r = ipam_delegate_run(conf->ipam.type, getenv("CNI_PATH"), "ADD", conf->raw, conf->raw_len,
			      &run, err);
	if (r < 0)
		return r;
	if (run.status) {
		r = delegate_failed(NULL, conf, "ADD", run.out, run.len, run.status, err);
		goto out;
	}
	r = cni_result_decode(run.out, run.len, &out->delegated, err);
	if (r < 0)
		goto out;
	if (out->delegated.n_ips > ATTACH_MAX_ADDRS) {
		r = err_set(err, RIVET_ERR_DELEGATE, E2BIG, "ipam plugin %s returned %zu addresses; rivet supports up to %d",
			    conf->ipam.type, out->delegated.n_ips, ATTACH_MAX_ADDRS);
		(void)attach_delegate(NULL, conf, "DEL", NULL);
		goto out;
	}
	for (size_t i = 0; i < out->delegated.n_ips; i++) {
		struct ipam_lease *l = &out->leases[out->n++];

		l->addr = out->delegated.ips[i].address;
		l->gateway = out->delegated.ips[i].gateway;
		l->set = (unsigned)i;
	}
	out->routes = out->delegated.routes;
	out->n_routes = out->delegated.n_routes;
	if (dns_copy(&out->dns, &out->delegated.dns) < 0)
		r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
out:
	free(run.out);
	return r;
}

int attach_ipam_add(struct attach *a, const struct netconf *conf, struct attach_ipam *out,
		    struct rv_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (a->delegated)
		r = from_delegate(conf, out, err);
	else
		r = hostlocal_add(&a->req, out->leases, err);
	if (r < 0)
		return r;
	if (!a->delegated) {
		out->n = conf->ipam.n_sets;
		out->routes = conf->ipam.routes;
		out->n_routes = conf->ipam.n_routes;
		if (conf->ipam.resolv_conf &&
		    (r = resolv_conf_read(conf->ipam.resolv_conf, &out->dns, err)) < 0) {
			attach_ipam_undo(a, conf, out);
			return r;
		}
	}
	if (!out->n) {
		attach_ipam_undo(a, conf, out);
		return err_set(err, RIVET_ERR_DELEGATE, EINVAL, "ipam plugin %s returned no IP address",
			       conf->ipam.type);
	}
	if (out->n_routes > ATTACH_MAX_ROUTES) {
		attach_ipam_undo(a, conf, out);
		return err_set(err, CNI_ERR_CONFIG, E2BIG, "ipam gives %zu routes; rivet supports up to %d",
			       out->n_routes, ATTACH_MAX_ROUTES);
	}
	return 0;
}

void attach_ipam_undo(struct attach *a, const struct netconf *conf, struct attach_ipam *io)
{
	struct rv_err ignored = { 0 };

	if (a->delegated)
		(void)attach_delegate(a, conf, "DEL", &ignored);
	else
		hostlocal_undo(&a->req, io->leases, io->n);
}

void attach_ipam_done(struct attach_ipam *io)
{
	dns_done(&io->dns);
	cni_result_done(&io->delegated);
}

int attach_ipam_del(struct attach *a, const struct netconf *conf, struct rv_ip *out, size_t max,
		    size_t *n, struct rv_err *err)
{
	*n = 0;
	if (a->delegated)
		return attach_delegate(a, conf, "DEL", err);
	return hostlocal_del(&a->req, out, max, n, err);
}

int attach_masq_spec(const struct netconf *conf, const struct ipam_lease *leases, size_t n_leases,
		     struct masq_spec *m, struct rv_err *err)
{
	size_t max = n_leases + conf->n_masq_exclude;
	struct rv_prefix *buf;

	for (size_t i = 0; i < conf->ipam.n_sets; i++)
		max += conf->ipam.sets[i].n;
	buf = calloc(max + 1, sizeof(*buf));
	if (!buf)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	*m = (struct masq_spec){ .network = conf->name, .masquerade = conf->ip_masq, .keep = buf };
	for (size_t i = 0; i < conf->ipam.n_sets; i++)
		for (size_t j = 0; j < conf->ipam.sets[i].n; j++)
			buf[m->n_keep++] = prefix_masked(&conf->ipam.sets[i].r[j].subnet);
	for (size_t i = 0; i < n_leases; i++)
		buf[m->n_keep++] = prefix_masked(&leases[i].addr);
	for (size_t i = 0; i < conf->n_masq_exclude; i++)
		buf[m->n_keep++] = conf->masq_exclude[i];
	return 0;
}

int attach_masq_add(const struct attach *a, const struct masq_spec *m, const struct rv_ip *addrs, size_t n,
		    bool refill, struct rv_err *err)
{
	struct rv_err lerr = { 0 };
	struct rv_ip *all = NULL;
	size_t n_all = 0;
	int r;

	for (int round = 0; round < 2; round++) {
		/* After a rebuild the pod sets may be new and empty: every
		 * address of the network's store goes back in (this pod's is
		 * among them). A delegated plugin's pods come back with GC. */
		if (refill && !a->delegated && hostlocal_addresses(&a->req, &all, &n_all, &lerr) < 0)
			log_warn("masquerade: cannot list the network's addresses to refill its sets: %s",
				 lerr.msg);
		r = all ? masq_add(m, all, n_all, err) : masq_add(m, addrs, n, err);
		free(all);
		all = NULL;
		if (r <= 0 || refill)
			break;
		refill = true;	/* the sets went since masq_ensure; fill them */
	}
	return r < 0 ? r : 0;
}

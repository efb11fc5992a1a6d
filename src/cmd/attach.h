/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the commands: what ADD, DEL, CHECK, STATUS and GC share. The
 * names that identify an attachment on the host, and IPAM either in process
 * (host-local) or delegated to another plugin, behind one interface so each
 * command reads the same whichever it is.
 */
#ifndef RIVET_CMD_ATTACH_H
#define RIVET_CMD_ATTACH_H

#include <stdbool.h>

#include "cni/config.h"
#include "cni/env.h"
#include "cni/result.h"
#include "ipam/hostlocal.h"
#include "net/masq.h"
#include "util/err.h"

/* A pod has one address per range set; rivet accepts this many sets, and
 * this many routes from IPAM (the pod's netlink batch is sized for both). */
#define ATTACH_MAX_ADDRS 16
#define ATTACH_MAX_ROUTES 32

struct attach {
	char host_if[16];
	char alias[256];
	bool delegated;
	struct ipam_req req;
};

/* Names and the IPAM request for @env's attachment; for host-local also
 * validates and completes the ranges (code 7). */
int attach_init(struct attach *a, const struct cni_env *env, struct netconf *conf,
		struct rv_err *err);

struct attach_ipam {
	struct ipam_lease leases[ATTACH_MAX_ADDRS];
	size_t n;
	const struct rv_route *routes;
	size_t n_routes;
	struct rv_dns dns;		/* owned */
	struct cni_result delegated;	/* a delegate's result, owned */
};

int attach_ipam_add(struct attach *a, const struct netconf *conf, struct attach_ipam *out,
		    struct rv_err *err);
/* Undo attach_ipam_add after a later step failed. Best effort. */
void attach_ipam_undo(struct attach *a, const struct netconf *conf, struct attach_ipam *io);
void attach_ipam_done(struct attach_ipam *io);

/* Release; the addresses released (when known) go to @out. */
int attach_ipam_del(struct attach *a, const struct netconf *conf, struct rv_ip *out, size_t max,
		    size_t *n, struct rv_err *err);

/* Run a delegated plugin's @command and pass its error on. */
int attach_delegate(const struct attach *a, const struct netconf *conf, const char *command,
		    struct rv_err *err);

/* The nftables spec of @conf: ipMasq, and the destinations kept: its
 * ranges, the subnets of @leases (with a delegated IPAM the pod's subnet is
 * known only from its result) and ipMasqExclude. The caller frees m->keep. */
int attach_masq_spec(const struct netconf *conf, const struct ipam_lease *leases, size_t n_leases,
		     struct masq_spec *m, struct rv_err *err);

/* With ipMasq, put the pod's @addrs in the network's pod sets; with
 * @refill (masq_ensure changed the table), every address of the network's
 * store. */
int attach_masq_add(const struct attach *a, const struct masq_spec *m, const struct rv_ip *addrs, size_t n,
		    bool refill, struct rv_err *err);

#endif

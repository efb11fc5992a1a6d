/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's conflist, as rivetd writes it once the node holds its pod
 * ranges: rivet with host-local ranges of the node's own, masquerade of
 * what leaves the cluster, the MTU the backend leaves room for, and the
 * plugins the operator asked to chain after it.
 *
 * It is written to a temporary file in the same directory (a name no
 * runtime loads) and renamed into place, and only when its content would
 * change: a runtime watching the directory never reads half a file and
 * sees no event for a rewrite that changes nothing. Until rivetd writes it
 * there is no conflist at all, which is how kubelet learns that the node's
 * network is not ready.
 */
#ifndef RIVET_AGENT_CONFLIST_H
#define RIVET_AGENT_CONFLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/ip.h"

#define CONFLIST_FILE "10-rivet.conflist"
#define CONFLIST_CNI_VERSION "1.0.0"

struct conflist_spec {
	const char *network;		/* the network's "name" */
	const struct rv_prefix *ranges;	/* the node's pod ranges, one range set each */
	size_t n_ranges;
	const char *data_dir;		/* host-local's dataDir */
	bool ip_masq;
	const struct rv_prefix *keep;	/* ipMasqExclude: the cluster CIDRs and more */
	size_t n_keep;
	unsigned mtu;			/* 0: rivet's default (the default route's device) */
	const char *const *chain;	/* plugin types to run after rivet ("portmap", "bandwidth") */
	size_t n_chain;
	const char *log_file;		/* rivet's logFile, NULL: none */
	const char *log_level;		/* rivet's logLevel, NULL: rivet's default */
};

/* Is @type a plugin rivetd knows how to chain (and with which capability)? */
bool conflist_chainable(const char *type);

/* The conflist's text; malloc'd, NULL when out of memory. */
char *conflist_render(const struct conflist_spec *s);

/* Write <dir>/<CONFLIST_FILE> when its content differs (*@changed says);
 * the directory is made if missing. Code 5 on I/O errors, naming the path. */
int conflist_write(const char *dir, const struct conflist_spec *s, bool *changed, struct rv_err *err);

#endif

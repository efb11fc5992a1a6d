/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one internal result type, and its JSON in every spec version's shape:
 *
 *   0.1.0, 0.2.0         {"ip4":{ip,gateway,routes},"ip6":{...},"dns"}
 *   0.3.0, 0.3.1, 0.4.0  interfaces{name,mac,sandbox}, ips[] with "version"
 *   1.0.0, 1.1.0         interfaces{+mtu,socketPath,pciID}, ips[] without it,
 *                        routes with mtu/advmss/priority/table/scope
 *
 * A prevResult of any version is read back into the same type (see
 * cni_config_parse), so a chain can be extended whatever produced it.
 * Also here: the error object and the VERSION reply, the only other things
 * rivet ever prints on stdout.
 */
#ifndef RIVET_CNI_RESULT_H
#define RIVET_CNI_RESULT_H

#include <stddef.h>

#include "cni/version.h"
#include "util/err.h"
#include "util/model.h"

struct cni_iface {
	char *name;
	char *mac;
	char *sandbox;
	char *socket_path;
	char *pci_id;
	unsigned mtu;		/* 0: not reported */
};

struct cni_ip {
	struct rv_prefix address;
	struct rv_ip gateway;	/* family 0: none */
	int iface;		/* index into ifaces, -1: none */
};

struct cni_result {
	struct cni_iface *ifaces;
	size_t n_ifaces;
	struct cni_ip *ips;
	size_t n_ips;
	struct rv_route *routes;
	size_t n_routes;
	struct rv_dns dns;
};

/* Frees what the result holds and zeroes it; accepts a zeroed result. */
void cni_result_done(struct cni_result *r);

/* Append an interface (strings copied; NULLs allowed) and return its index,
 * or -ENOMEM. */
int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
			 const char *sandbox, unsigned mtu);
int cni_result_add_ip(struct cni_result *r, const struct rv_prefix *addr,
		      const struct rv_ip *gw, int iface);
int cni_result_add_route(struct cni_result *r, const struct rv_route *route);

/* Encode in @v's format. Returns a NUL-terminated JSON text ending in a
 * newline that the caller frees, or NULL with @err set (0.1.0/0.2.0 cannot
 * express a result without an address: code 1, as libcni's converter). */
char *cni_result_encode(const struct cni_result *r, enum cni_version v, struct rv_err *err);

/* {"cniVersion":...,"code":...,"msg":...,"details":...}\n; caller frees.
 * NULL only when memory is short. */
char *cni_error_encode(const struct rv_err *e, const char *version);

/* {"cniVersion":...,"supportedVersions":[...]}\n; caller frees. */
char *cni_version_reply_encode(const char *version);

/* Read another plugin's stdout: a result of any version into @out (zeroed
 * by the caller), or an error object into @out_err (returns 0 if @text was
 * one, with its code, msg and details). */
int cni_result_decode(const char *text, size_t len, struct cni_result *out, struct rv_err *err);
int cni_error_decode(const char *text, size_t len, struct rv_err *out_err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host-local's resolvConf: a resolv.conf-format file turned into the
 * result's dns (plugins/ipam/host-local/dns.go): nameserver lines, the
 * domain, and every field of search and options lines.
 */
#ifndef RIVET_IPAM_RESOLV_H
#define RIVET_IPAM_RESOLV_H

#include "util/err.h"
#include "util/model.h"

/* Fill @out (zeroed by the caller). A file that cannot be read is code 5. */
int resolv_conf_read(const char *path, struct rv_dns *out, struct rv_err *err);

#endif

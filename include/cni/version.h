/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CNI spec versions: the exact strings rivet accepts, their order, and which
 * command each version allows. Matching is by string equality, as libcni's
 * reconciler does: "1.0" or "1.0.0-rc1" is not a supported version.
 */
#ifndef RIVET_CNI_VERSION_H
#define RIVET_CNI_VERSION_H

#include <stdbool.h>

#include "util/err.h"

enum cni_version {
	CNI_V010,
	CNI_V020,
	CNI_V030,
	CNI_V031,
	CNI_V040,
	CNI_V100,
	CNI_V110,
	CNI_V_COUNT,
};

#define CNI_V_LATEST CNI_V110

const char *cni_version_name(enum cni_version v);

/* NULL or "" means 0.1.0, as libcni decodes a config without cniVersion.
 * Anything else not in the list fails with CNI_ERR_VERSION. */
int cni_version_parse(const char *s, enum cni_version *out, struct rv_err *err);

/* The supported list as JSON text, ["0.1.0",...,"1.1.0"], for messages. */
const char *cni_versions_json(void);

#endif

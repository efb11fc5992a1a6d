// SPDX-License-Identifier: Apache-2.0
/* The supported CNI versions, in order. */
#include <errno.h>
#include <string.h>

#include "cni/version.h"

static const char *const names[CNI_V_COUNT] = {
	[CNI_V010] = "0.1.0",
	[CNI_V020] = "0.2.0",
	[CNI_V030] = "0.3.0",
	[CNI_V031] = "0.3.1",
	[CNI_V040] = "0.4.0",
	[CNI_V100] = "1.0.0",
	[CNI_V110] = "1.1.0",
};

const char *cni_version_name(enum cni_version v)
{
	return (unsigned)v < CNI_V_COUNT ? names[v] : "?";
}

const char *cni_versions_json(void)
{
	return "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]";
}

int cni_version_parse(const char *s, enum cni_version *out, struct rv_err *err)
{
	if (!s || !*s) {
		*out = CNI_V010;
		return 0;
	}
	for (int v = 0; v < CNI_V_COUNT; v++) {
		if (!strcmp(s, names[v])) {
			*out = (enum cni_version)v;
			return 0;
		}
	}
	err_set(err, CNI_ERR_VERSION, EINVAL,
		"incompatible CNI versions: set cniVersion to one of %s", cni_versions_json());
	err_details(err, "config is \"%.64s\", plugin supports %s", s, cni_versions_json());
	return -EINVAL;
}

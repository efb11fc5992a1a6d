// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for CNI_ARGS ("K=V;K=V", cni_env_parse_args) and the
 * name checks that decide whether a container ID, ifname or network name may
 * become part of a path or a netlink message. The parser must never accept
 * an IP= it cannot hold, and a name that passes the checks must be safe as
 * a single path component.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s, bool ok)
{
	/* A name that passes must be one path component, never "." or "..". */
	if (ok && (strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..") || !*s))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_env env = { 0 };
	struct rv_err err = { 0 };
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';	/* an environment string ends at the first NUL */
	if (cni_env_parse_args(&env, s, &err) == 0) {
		if (env.has_ip && env.ip.ip.family != AF_INET && env.ip.ip.family != AF_INET6)
			abort();
		if (memchr(env.k8s_pod, '\0', sizeof(env.k8s_pod)) == NULL ||
		    memchr(env.k8s_namespace, '\0', sizeof(env.k8s_namespace)) == NULL)
			abort();
	} else if (err.code != CNI_ERR_ENV || !err.msg[0]) {
		abort();
	}
	check_name(s, cni_valid_container_id(s));
	check_name(s, cni_valid_network_name(s));
	check_name(s, cni_valid_ifname(s));
	if (cni_valid_ifname(s) && strlen(s) > CNI_IFNAME_MAX)
		abort();
	free(s);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the network configuration reader (cni_config_parse),
 * the one parser that sees every byte a runtime puts on stdin. The first
 * input byte picks the command and CNI_ARGS' IP= (which change what the
 * parser demands), the rest is the config. A config that parses is also
 * canonicalized (the ipam layer's semantic checks on ranges) and its
 * prevResult written back in every spec version, as ADD would, so the
 * writer is exercised with whatever the reader let through.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/config.h"
#include "cni/result.h"
#include "ipam/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum cni_command commands[] = {
	CNI_CMD_ADD, CNI_CMD_DEL, CNI_CMD_CHECK, CNI_CMD_STATUS, CNI_CMD_GC, CNI_CMD_VERSION,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_env env = { 0 };
	struct netconf conf;
	struct rv_err err = { 0 };
	char *text, *version = NULL;

	if (size < 1)
		return 0;
	env.command = commands[data[0] % (sizeof(commands) / sizeof(commands[0]))];
	if (data[0] & 0x80) {
		env.has_ip = true;
		prefix_parse_loose((data[0] & 0x40) ? "198.18.0.7" : "fd5a:7e57::7/64", &env.ip);
	}
	data++;
	size--;
	/* main() hands the parser a NUL-terminated copy of exactly what it
	 * read; do the same, so an overread past the end is caught. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	(void)cni_config_peek_version(text, size, &version);
	free(version);
	if (cni_config_parse(text, size, &env, &conf, &err) == 0) {
		struct rv_err e2 = { 0 };

		if (conf.has_ipam && conf.ipam.type && !strcmp(conf.ipam.type, "host-local"))
			(void)ipam_ranges_canonicalize(&conf.ipam, conf.version < CNI_V030, &e2);
		if (conf.has_prev_result) {
			for (int v = 0; v < CNI_V_COUNT; v++) {
				char *out = cni_result_encode(&conf.prev_result, (enum cni_version)v, &e2);

				free(out);
			}
		}
	} else {
		char *out = cni_error_encode(&err, conf.cni_version);

		/* A failed parse must still leave a message to print. */
		if (!err.code || !err.msg[0])
			abort();
		free(out);
	}
	netconf_done(&conf);
	free(text);
	return 0;
}

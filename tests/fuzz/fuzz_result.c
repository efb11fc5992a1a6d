// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the reader of another plugin's stdout
 * (cni_result_decode and cni_error_decode): a delegated IPAM plugin's
 * result or error object, in any spec version. Whatever decodes is written
 * back in every version, since ADD builds its result on top of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_result res = { 0 };
	struct rv_err err = { 0 }, perr = { 0 };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cni_result_decode(text, size, &res, &err) == 0) {
		for (int v = 0; v < CNI_V_COUNT; v++) {
			struct rv_err e2 = { 0 };

			free(cni_result_encode(&res, (enum cni_version)v, &e2));
		}
		for (size_t i = 0; i < res.n_ips; i++)
			if (res.ips[i].iface >= (int)res.n_ifaces)
				abort();	/* the reader promises an index in range */
	}
	cni_result_done(&res);
	if (cni_error_decode(text, size, &perr) == 0) {
		char *out = cni_error_encode(&perr, "1.1.0");

		free(out);
	}
	free(text);
	return 0;
}

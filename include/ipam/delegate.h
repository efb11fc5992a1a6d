/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delegation to another IPAM plugin (static, dhcp, whereabouts, ...), as
 * the spec's section 4 describes: the plugin named by ipam.type is found in
 * CNI_PATH and run with rivet's own environment (CNI_COMMAND replaced when
 * rivet needs a different command, e.g. DEL to undo a failed ADD) and the
 * whole network configuration on stdin. Its stderr passes through to ours.
 *
 * This is the only place rivet runs another program.
 */
#ifndef RIVET_IPAM_DELEGATE_H
#define RIVET_IPAM_DELEGATE_H

#include <stddef.h>

#include "util/err.h"

struct delegate_run {
	char *out;		/* the plugin's stdout, NUL-terminated; caller frees */
	size_t len;
	int status;		/* its exit status; 0 is success */
};

/* Run @type found in @cni_path with @command, feeding @config. Fails (code 7
 * or 5) when the plugin cannot be found or run, and with code 107 when it
 * prints more than 4 MiB (it is killed first); a plugin that runs and fails,
 * even one that exits without reading its input, returns 0 with
 * run->status != 0 and its error object in run->out. */
int ipam_delegate_run(const char *type, const char *cni_path, const char *command,
		      const char *config, size_t config_len, struct delegate_run *run,
		      struct rv_err *err);

#endif

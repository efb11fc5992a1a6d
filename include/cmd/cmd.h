/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CNI commands. Each takes the validated environment and config, does
 * its work through the ipam and net layers, and either fills @res (ADD) or
 * returns 0, or returns a negative errno with @err filled. None of them
 * prints: main() writes the one result or error object.
 *
 * ADD undoes every step it took when a later one fails. DEL, and GC, do as
 * much as they can and succeed when what they would remove is already gone.
 */
#ifndef RIVET_CMD_CMD_H
#define RIVET_CMD_CMD_H

#include "cni/config.h"
#include "cni/env.h"
#include "cni/result.h"
#include "util/err.h"

/* @conf is not const: the ipam ranges are canonicalized in place. */
int cmd_add(const struct cni_env *env, struct netconf *conf, struct cni_result *res,
	    struct rv_err *err);
int cmd_del(const struct cni_env *env, struct netconf *conf, struct rv_err *err);
int cmd_check(const struct cni_env *env, struct netconf *conf, struct rv_err *err);
int cmd_status(const struct cni_env *env, struct netconf *conf, struct rv_err *err);
int cmd_gc(const struct cni_env *env, struct netconf *conf, struct rv_err *err);

/* Operator commands run from a shell (argv, never with CNI_COMMAND set).
 * Returns the process exit status; writes its own output. */
int cmd_admin(int argc, char **argv);

/* rivet validate [--cluster] FILE: a config checked as ADD would check it,
 * nothing touched. Returns the exit status (0 valid, 1 not, 2 usage). */
int cmd_validate(int argc, char **argv);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network configuration on stdin, turned into a plain struct.
 *
 * Accepts a single plugin config or the plugin entry a runtime cuts out of a
 * conflist (same thing on the wire). Keys rivet does not know are ignored,
 * as the spec asks, but each is named in a warning the caller logs (with the
 * known key it resembles: "ipmasq" is "ipMasq" misspelled); a known key of
 * the wrong type or value is an error (code 7) that names the key. Every
 * string is copied out of cJSON, so the rest of rivet never sees a JSON
 * object.
 */
#ifndef RIVET_CNI_CONFIG_H
#define RIVET_CNI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/env.h"
#include "cni/result.h"
#include "cni/version.h"
#include "util/err.h"
#include "util/log.h"
#include "util/model.h"

/* Stdin larger than this is refused (code 6): no real config comes close,
 * and GC's attachment list for thousands of pods is a few hundred KiB. */
#define CNI_CONFIG_MAX (16u << 20)

struct netconf {
	enum cni_version version;
	char *cni_version;		/* as given ("" when absent) */
	char *name;
	char *type;

	unsigned mtu;			/* 0: take the default route's device MTU */
	bool ip_masq;
	struct rv_prefix *masq_exclude;	/* ipMasqExclude: extra destinations kept unmasqueraded */
	size_t n_masq_exclude;

	bool has_ipam;
	struct ipam_conf ipam;
	struct rv_dns dns;		/* "dns" (runtimeConfig.dns wins over it; it wins over resolvConf) */
	struct rv_dns runtime_dns;	/* runtimeConfig.dns (capability "dns") */
	char *mac;			/* runtimeConfig.mac (capability "mac") */

	char *log_file;
	bool has_log_level;
	enum log_level log_level;
	size_t log_max_size;		/* bytes; 0: default */

	bool has_prev_result;
	struct cni_result prev_result;

	/* The stdin text, for a delegated plugin; set by main, not owned. */
	const char *raw;
	size_t raw_len;

	/* GC: cni.dev/valid-attachments or cni.dev/attachments. */
	bool has_valid_attachments;
	struct attachment *valid;
	size_t n_valid;

	/* Unknown keys, one message each ("unknown key ... is ignored"),
	 * filled even when the parse fails: a misspelled key often is why. */
	struct strv warnings;
};

/* Parse @len bytes of @text for @env's command. The version is checked
 * first (code 1), then JSON (code 6), then keys (code 7). @env supplies
 * CNI_ARGS' IP= for the merged requested-address list. */
int cni_config_parse(const char *text, size_t len, const struct cni_env *env,
		     struct netconf *conf, struct rv_err *err);

/* Read only cniVersion; for VERSION, which must answer even a config it
 * cannot otherwise use. Returns 0 with *out = NULL when absent or invalid.
 * *out is malloc'd; caller frees. */
int cni_config_peek_version(const char *text, size_t len, char **out);

void netconf_done(struct netconf *conf);

/* The configs a runtime would hand to each plugin of @type in @text, which
 * is a conflist or a single config: for a conflist, each entry of "plugins"
 * of that type with the list's name and cniVersion put in, as libcni does;
 * a single config as it is, if it is of that type. @fn gets each (its text,
 * its index in "plugins", -1 for a single config) and may stop the walk
 * with a non-zero return, which is returned. Errors (code 6 or 7, @err
 * filled): not a JSON object, a conflist without a name or plugins, nothing
 * of @type. The list's own unknown keys are added to @warnings. */
int cni_config_entries(const char *text, size_t len, const char *type,
		       int (*fn)(const char *conf, size_t len, int index, void *ctx), void *ctx,
		       struct strv *warnings, struct rv_err *err);

#endif

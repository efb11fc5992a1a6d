/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the cni layer: typed access to cJSON objects with messages that
 * name the key, shared by the config reader and the prevResult reader. No
 * header outside src/cni includes this, which is what keeps cJSON out of the
 * rest of rivet.
 */
#ifndef RIVET_CNI_JSON_H
#define RIVET_CNI_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "cni/result.h"
#include "util/err.h"
#include "util/model.h"

/* Each getter: absent key → 0 and *out untouched (or -EINVAL with code 7 if
 * @required); wrong JSON type → -EINVAL, code 6; a value of the right type
 * that is invalid (not an address, out of range) → -EINVAL, code 7. The
 * message names the key: "<where>.<key> must be ...". */
int json_get_string(const cJSON *obj, const char *where, const char *key, bool required,
		    char **out, struct rv_err *err);
int json_get_bool(const cJSON *obj, const char *where, const char *key, bool *out,
		  struct rv_err *err);
int json_get_uint(const cJSON *obj, const char *where, const char *key, unsigned max,
		  unsigned *out, struct rv_err *err);
int json_get_strv(const cJSON *obj, const char *where, const char *key, struct strv *out,
		  struct rv_err *err);
int json_get_ip(const cJSON *obj, const char *where, const char *key, struct rv_ip *out,
		struct rv_err *err);
int json_get_prefix(const cJSON *obj, const char *where, const char *key, bool required,
		    struct rv_prefix *out, struct rv_err *err);

/* A route object {dst, gw, mtu, advmss, priority, table, scope}. */
int json_parse_route(const cJSON *obj, const char *where, struct rv_route *out, struct rv_err *err);
/* A dns object {nameservers, domain, search, options}. */
int json_parse_dns(const cJSON *obj, const char *where, struct rv_dns *out, struct rv_err *err);

/* A result of any version into @out (zeroed by the caller). */
int json_parse_result(const cJSON *obj, const char *where, struct cni_result *out,
		      struct rv_err *err);

/* Name each key of @root (a plugin's config) and of its dns and host-local
 * ipam sections that rivet does not know, with the known key it most
 * resembles, as a message in @out. -1 when out of memory. */
int cni_config_unknown_keys(const cJSON *root, struct strv *out);
/* The same for a conflist's own keys. */
int cni_conflist_unknown_keys(const cJSON *list, struct strv *out);

#endif

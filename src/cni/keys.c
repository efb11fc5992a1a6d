// SPDX-License-Identifier: Apache-2.0
/*
 * Keys rivet does not know. The spec asks a plugin to ignore them, and rivet
 * does; but a misspelled key ("ipmasq") silently configures something else,
 * so each is named, with the known key it most resembles, for a warning.
 *
 * The keys a runtime adds (runtimeConfig, args, prevResult, capabilities,
 * cni.dev/...) are known; what is inside runtimeConfig, args and prevResult
 * belongs to the runtime and to other plugins and is not looked at, nor is
 * an ipam section rivet hands to another plugin (it reads its own keys).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json.h"

static const char *const top_keys[] = {
	"cniVersion", "name", "type", "ipam", "mtu", "ipMasq", "ipMasqExclude", "dns", "logFile",
	"logLevel", "logMaxSizeMB", "runtimeConfig", "args", "prevResult", "capabilities", NULL,
};
static const char *const ipam_keys[] = {
	"type", "ranges", "subnet", "rangeStart", "rangeEnd", "gateway", "routes", "dataDir",
	"resolvConf", "reclaimAfterReboot", NULL,
};
static const char *const range_keys[] = { "subnet", "rangeStart", "rangeEnd", "gateway", NULL };
static const char *const route_keys[] = { "dst", "gw", "mtu", "advmss", "priority", "table", "scope", NULL };
static const char *const dns_keys[] = { "nameservers", "domain", "search", "options", NULL };
/* A conflist's own keys (spec 1.1 and libcni's). */
static const char *const list_keys[] = {
	"cniVersion", "cniVersions", "name", "plugins", "disableCheck", "disableGC",
	"loadOnlyInlinedPlugins", NULL,
};

#define KEY_MAX 64

/* Edit distance, letters compared without case, a swap of two neighbours
 * counting as one edit ("mut" is one from "mtu"). */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[KEY_MAX + 1][KEY_MAX + 1];

	if (la > KEY_MAX || lb > KEY_MAX)
		return KEY_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			unsigned best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The known key @key most resembles: the same but for case, or within one
 * edit (two for keys of six letters or more); NULL when none is close. */
static const char *nearest(const char *key, const char *const *known)
{
	size_t len = strlen(key);
	unsigned limit = len >= 6 ? 2 : 1, best = limit + 1;
	const char *pick = NULL;

	for (size_t i = 0; known[i]; i++) {
		unsigned d;

		if (!strcasecmp(key, known[i]))
			return known[i];
		d = distance(key, known[i]);
		if (d < best) {
			best = d;
			pick = known[i];
		}
	}
	return pick;
}

static void printable(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++)
		out[i++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
	out[i] = '\0';
	if (*s && len > 4)
		memcpy(out + len - 4, "...", 4);
}

static int check(const cJSON *obj, const char *where, const char *const *known, bool cni_dev,
		 struct strv *out)
{
	const cJSON *j;

	if (!cJSON_IsObject(obj))
		return 0;
	cJSON_ArrayForEach(j, obj) {
		char key[KEY_MAX + 4], msg[256];
		const char *near;
		bool ok = false;

		for (size_t i = 0; known[i] && !ok; i++)
			ok = !strcmp(j->string, known[i]);
		if (ok || (cni_dev && !strncmp(j->string, "cni.dev/", 8)))
			continue;
		near = nearest(j->string, known);
		printable(j->string, key, sizeof(key));
		snprintf(msg, sizeof(msg), "unknown key \"%s\"%s%s is ignored%s%s%s", key, *where ? " in " : "",
			 where, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
		if (strv_push(out, msg) < 0)
			return -1;
	}
	return 0;
}

int cni_config_unknown_keys(const cJSON *root, struct strv *out)
{
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(root, "ipam"), *j, *set, *r;
	const cJSON *type = ipam ? cJSON_GetObjectItemCaseSensitive(ipam, "type") : NULL;
	char where[64];
	int i = 0, k;

	if (check(root, "", top_keys, true, out) < 0 ||
	    check(cJSON_GetObjectItemCaseSensitive(root, "dns"), "dns", dns_keys, false, out) < 0)
		return -1;
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "host-local"))
		return 0;
	if (check(ipam, "ipam", ipam_keys, false, out) < 0)
		return -1;
	j = cJSON_GetObjectItemCaseSensitive(ipam, "ranges");
	j = cJSON_IsArray(j) ? j : NULL;
	cJSON_ArrayForEach(set, j) {
		const cJSON *list = cJSON_IsArray(set) ? set : NULL;

		k = 0;
		cJSON_ArrayForEach(r, list) {
			snprintf(where, sizeof(where), "ipam.ranges[%d][%d]", i, k++);
			if (check(r, where, range_keys, false, out) < 0)
				return -1;
		}
		i++;
	}
	i = 0;
	j = cJSON_GetObjectItemCaseSensitive(ipam, "routes");
	j = cJSON_IsArray(j) ? j : NULL;
	cJSON_ArrayForEach(r, j) {
		snprintf(where, sizeof(where), "ipam.routes[%d]", i++);
		if (check(r, where, route_keys, false, out) < 0)
			return -1;
	}
	return 0;
}

int cni_conflist_unknown_keys(const cJSON *list, struct strv *out)
{
	return check(list, "the conflist", list_keys, false, out);
}

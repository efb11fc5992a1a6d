// SPDX-License-Identifier: Apache-2.0
/* JSON for the operator commands; see report.h. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cni/report.h"

/* Length of the UTF-8 sequence at @s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A copy of @s with each invalid byte replaced by U+FFFD; cJSON escapes
 * control characters itself but passes other bytes through as they are. */
static char *valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(strlen(s) * 3 + 1), *q = out;

	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_len(p);

		if (n) {
			memcpy(q, p, n);
			q += n;
			p += n;
		} else {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p++;
		}
	}
	*q = '\0';
	return out;
}

static bool add_str(cJSON *o, const char *key, const char *val)
{
	char *v;
	bool ok;

	if (!val)
		return cJSON_AddNullToObject(o, key) != NULL;
	v = valid_utf8(val);
	ok = v && cJSON_AddStringToObject(o, key, v);
	free(v);
	return ok;
}

static bool add_row(cJSON *list, const struct report_row *r, bool repair)
{
	cJSON *o = cJSON_CreateObject();
	char since[32];
	struct tm tm;
	bool ok;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	ok = add_str(o, "ip", r->ip) && add_str(o, "containerID", r->container_id) &&
	     add_str(o, "ifname", r->ifname) && add_str(o, "hostInterface", r->host_if);
	ok = ok && (r->host_exists < 0 ? cJSON_AddNullToObject(o, "hostInterfaceExists")
				       : cJSON_AddBoolToObject(o, "hostInterfaceExists", r->host_exists)) &&
	     add_str(o, "state", r->state);
	if (r->since && gmtime_r(&r->since, &tm) && strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm))
		ok = ok && add_str(o, "since", since) && cJSON_AddNumberToObject(o, "ageSeconds", (double)r->age);
	else
		ok = ok && cJSON_AddNullToObject(o, "since") && cJSON_AddNullToObject(o, "ageSeconds");
	if (repair && r->reason)
		ok = ok && add_str(o, "reason", r->reason);
	if (repair && r->error)
		ok = ok && add_str(o, "error", r->error);
	return ok;
}

char *cni_report_encode(const struct report *r)
{
	cJSON *root = cJSON_CreateObject();
	char *txt = NULL, *out = NULL;
	bool ok;
	size_t n;

	ok = root && add_str(root, "network", r->network) && add_str(root, "dataDir", r->data_dir);
	if (ok && r->repair)
		ok = cJSON_AddBoolToObject(root, "dryRun", r->dry_run) &&
		     cJSON_AddNumberToObject(root, "checked", (double)r->checked);
	for (size_t s = 0; ok && s < r->n_sections; s++) {
		cJSON *list = cJSON_AddArrayToObject(root, r->sections[s].key);

		ok = list != NULL;
		for (size_t i = 0; ok && i < r->sections[s].n; i++)
			ok = add_row(list, &r->sections[s].rows[i], r->repair);
	}
	if (ok)
		txt = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!txt)
		return NULL;
	n = strlen(txt);
	out = realloc(txt, n + 2);
	if (!out) {
		free(txt);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

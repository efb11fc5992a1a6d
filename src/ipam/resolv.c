// SPDX-License-Identifier: Apache-2.0
/* resolv.conf reader, as host-local's dns.go reads it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam/resolv.h"

/* Go's strings.Fields splits on these (the ASCII ones of unicode.IsSpace). */
#define SPACE " \t\r\n\v\f"

int resolv_conf_read(const char *path, struct rv_dns *out, struct rv_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	int r = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return err_set(err, CNI_ERR_IO, errno, "cannot read ipam.resolvConf %s: %s", path,
			       strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *key, *val;

		key = strtok_r(line, SPACE, &save);
		if (!key || key[0] == '#' || key[0] == ';')
			continue;
		val = strtok_r(NULL, SPACE, &save);
		if (!val)
			continue;
		if (!strcmp(key, "nameserver")) {
			r = strv_push(&out->nameservers, val);
		} else if (!strcmp(key, "domain")) {
			free(out->domain);
			out->domain = strdup(val);
			r = out->domain ? 0 : -ENOMEM;
		} else if (!strcmp(key, "search") || !strcmp(key, "options")) {
			struct strv *sv = key[0] == 's' ? &out->search : &out->options;

			for (; val && r == 0; val = strtok_r(NULL, SPACE, &save))
				r = strv_push(sv, val);
		}
		if (r < 0)
			break;
	}
	free(line);
	if (r == 0 && ferror(f)) {
		int e = errno;

		fclose(f);
		return err_set(err, CNI_ERR_IO, e, "cannot read ipam.resolvConf %s: %s", path, strerror(e));
	}
	fclose(f);
	if (r < 0)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Renders and installs the node's conflist (see conflist.h). The text is
 * built with cJSON and printed with a fixed key order, so the same settings
 * give the same bytes and an unchanged node is never rewritten.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/conflist.h"
#include "util/fs.h"

static const struct {
	const char *type;
	const char *capability;
} chainable[] = {
	{ "portmap", "portMappings" },
	{ "bandwidth", "bandwidth" },
};

bool conflist_chainable(const char *type)
{
	for (size_t i = 0; i < sizeof(chainable) / sizeof(chainable[0]); i++)
		if (!strcmp(type, chainable[i].type))
			return true;
	return false;
}

static bool add_prefixes(cJSON *arr, const struct rv_prefix *p, size_t n)
{
	char buf[IP_STRLEN];

	for (size_t i = 0; i < n; i++) {
		struct rv_prefix m = prefix_masked(&p[i]);

		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(prefix_fmt(&m, buf))))
			return false;
	}
	return true;
}

static cJSON *rivet_plugin(const struct conflist_spec *s)
{
	cJSON *p = cJSON_CreateObject(), *ipam, *ranges, *keep;
	char buf[IP_STRLEN];
	bool ok = p != NULL;

	ok = ok && cJSON_AddStringToObject(p, "type", "rivet");
	if (ok && s->mtu)
		ok = cJSON_AddNumberToObject(p, "mtu", s->mtu) != NULL;
	ok = ok && cJSON_AddBoolToObject(p, "ipMasq", s->ip_masq);
	if (ok && s->ip_masq && s->n_keep) {
		keep = cJSON_AddArrayToObject(p, "ipMasqExclude");
		ok = keep && add_prefixes(keep, s->keep, s->n_keep);
	}
	if (ok && s->log_file)
		ok = cJSON_AddStringToObject(p, "logFile", s->log_file) != NULL;
	if (ok && s->log_level)
		ok = cJSON_AddStringToObject(p, "logLevel", s->log_level) != NULL;
	ipam = ok ? cJSON_AddObjectToObject(p, "ipam") : NULL;
	ok = ipam && cJSON_AddStringToObject(ipam, "type", "host-local");
	ranges = ok ? cJSON_AddArrayToObject(ipam, "ranges") : NULL;
	ok = ranges != NULL;
	for (size_t i = 0; ok && i < s->n_ranges; i++) {
		cJSON *set = cJSON_CreateArray(), *range = cJSON_CreateObject();
		struct rv_prefix m = prefix_masked(&s->ranges[i]);

		ok = set && range && cJSON_AddStringToObject(range, "subnet", prefix_fmt(&m, buf)) &&
		     cJSON_AddItemToArray(set, range);
		if (ok)
			range = NULL;
		ok = ok && cJSON_AddItemToArray(ranges, set);
		if (ok)
			set = NULL;
		cJSON_Delete(range);
		cJSON_Delete(set);
	}
	ok = ok && cJSON_AddStringToObject(ipam, "dataDir", s->data_dir);
	if (!ok) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

char *conflist_render(const struct conflist_spec *s)
{
	cJSON *root = cJSON_CreateObject(), *plugins, *p;
	char *text = NULL, *nl;
	bool ok = root != NULL;

	ok = ok && cJSON_AddStringToObject(root, "cniVersion", CONFLIST_CNI_VERSION) &&
	     cJSON_AddStringToObject(root, "name", s->network);
	plugins = ok ? cJSON_AddArrayToObject(root, "plugins") : NULL;
	ok = plugins && (p = rivet_plugin(s)) && cJSON_AddItemToArray(plugins, p);
	for (size_t i = 0; ok && i < s->n_chain; i++) {
		for (size_t k = 0; k < sizeof(chainable) / sizeof(chainable[0]); k++) {
			cJSON *c, *caps;

			if (strcmp(s->chain[i], chainable[k].type))
				continue;
			c = cJSON_CreateObject();
			ok = c && cJSON_AddStringToObject(c, "type", chainable[k].type) &&
			     (caps = cJSON_AddObjectToObject(c, "capabilities")) &&
			     cJSON_AddBoolToObject(caps, chainable[k].capability, true) &&
			     cJSON_AddItemToArray(plugins, c);
			if (!ok)
				cJSON_Delete(c);
		}
	}
	if (ok && (text = cJSON_Print(root))) {
		/* cJSON indents with tabs; a trailing newline makes it a text file. */
		nl = realloc(text, strlen(text) + 2);
		if (nl) {
			strcat(nl, "\n");
			text = nl;
		}
	}
	cJSON_Delete(root);
	return text;
}

/* Does @path hold exactly @text? */
static bool same_content(const char *path, const char *text)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 2);
	bool same = false;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd >= 0 && buf)
		n = read(fd, buf, len + 1);
	same = n == (ssize_t)len && !memcmp(buf, text, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

int conflist_write(const char *dir, const struct conflist_spec *s, bool *changed, struct rv_err *err)
{
	char path[4096], tmp[4096];
	char *text = conflist_render(s);
	size_t len, off = 0;
	bool made = false;
	int fd = -1, r;

	*changed = false;
	if (!text)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CONFLIST_FILE) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", dir, CONFLIST_FILE, (int)getpid()) >= sizeof(tmp)) {
		r = err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "--cni-conf-dir is too long");
		goto out;
	}
	if (same_content(path, text)) {
		r = 0;
		goto out;
	}
	if ((r = fs_mkdir_p(dir, 0755)) < 0) {
		r = err_set(err, CNI_ERR_IO, -r, "cannot create %s: %s", dir, strerror(-r));
		goto out;
	}
	/* The temporary name starts with a dot and ends in neither .conf,
	 * .conflist nor .json: no runtime loads it. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = err_set(err, CNI_ERR_IO, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	made = true;
	len = strlen(text);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = err_set(err, CNI_ERR_IO, n < 0 ? errno : EIO, "cannot write %s: %s", tmp,
				    strerror(n < 0 ? errno : EIO));
			goto out;
		}
		off += (size_t)n;
	}
	/* Renamed only once its bytes are on disk: after a power loss the
	 * runtime finds the old conflist or the new one, never an empty file. */
	r = fsync(fd) < 0 ? -errno : 0;
	if (close(fd) < 0 && !r)
		r = -errno;
	fd = -1;
	if (r < 0) {
		r = err_set(err, CNI_ERR_IO, -r, "cannot write %s: %s", tmp, strerror(-r));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = err_set(err, CNI_ERR_IO, errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	*changed = true;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0 && made)
		unlink(tmp);
	free(text);
	return r;
}

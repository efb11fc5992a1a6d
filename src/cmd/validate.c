// SPDX-License-Identifier: Apache-2.0
/*
 * rivet validate: rivet's own checks of a config file, before a runtime
 * ever reads it. The installer runs it on the conflist it is about to
 * rename into place, so a typo in a pod range fails the installer (and the
 * DaemonSet shows it) instead of every pod on the node; an agent that writes
 * conflists can run it the same way.
 *
 * It runs what an ADD runs before it touches anything (the parse, the range
 * checks, the bounds) and nothing after: no store, no netns, no nftables.
 * An invalid config gets the message an ADD would give. A conflist is
 * checked as a runtime hands rivet its entry: with the list's name and
 * cniVersion put in (every entry of type rivet, if there are several).
 *
 * --cluster adds what a node of a cluster needs beyond a valid config: with
 * ipMasq, ipMasqExclude must keep more than the node's own ranges (the
 * cluster's pod CIDR), or pods on other nodes see this node's address.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cmd/cmd.h"
#include "cni/config.h"

struct validate {
	const char *file;
	bool cluster;
	unsigned checked;
};

static int usage(FILE *f)
{
	fprintf(f,
		"usage: rivet validate [--cluster] FILE\n"
		"\n"
		"Check FILE (a conflist, or a single config; - for stdin) as rivet's ADD would,\n"
		"changing nothing. With --cluster, also that ipMasq leaves traffic to the rest\n"
		"of the cluster's pods unmasqueraded (ipMasqExclude holds a prefix larger than\n"
		"each of the node's ranges). Exit status: 0 valid, 1 invalid, 2 usage.\n");
	return f == stdout ? 0 : 2;
}

static int read_all(const char *file, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO, e = 0;

	if (fd < 0 || !buf) {
		e = fd < 0 ? errno : ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *grown = cap > CNI_CONFIG_MAX ? NULL : realloc(buf, cap * 2);

			if (!grown) {
				e = cap > CNI_CONFIG_MAX ? EFBIG : ENOMEM;
				goto out;
			}
			buf = grown;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto out;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
out:
	if (fd > STDIN_FILENO)
		close(fd);
	if (e) {
		free(buf);
		return -e;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* With ipMasq, each range must lie inside a larger excluded prefix: the
 * cluster's pod CIDR, which holds the other nodes' ranges. */
static int check_cluster(const struct netconf *conf, struct rv_err *err)
{
	char a[IP_STRLEN];

	if (!conf->ip_masq)
		return 0;
	for (size_t i = 0; i < conf->ipam.n_sets; i++) {
		for (size_t j = 0; j < conf->ipam.sets[i].n; j++) {
			const struct rv_prefix *r = &conf->ipam.sets[i].r[j].subnet;
			bool kept = false;

			for (size_t k = 0; k < conf->n_masq_exclude && !kept; k++) {
				const struct rv_prefix *x = &conf->masq_exclude[k];

				kept = x->ip.family == r->ip.family && x->len < r->len && prefix_contains(x, &r->ip);
			}
			if (!kept)
				return err_set(err, CNI_ERR_CONFIG, EINVAL,
					       "ipMasq is on, but ipMasqExclude keeps nothing beyond this node's own "
					       "range %s: traffic to pods on other nodes would leave with the node's "
					       "address instead of the pod's. Add the cluster's %s pod CIDR (the "
					       "--cluster-cidr of kube-controller-manager) to ipMasqExclude, with the "
					       "service CIDR, or switch ipMasq off",
					       prefix_fmt(r, a), r->ip.family == AF_INET ? "IPv4" : "IPv6");
		}
	}
	return 0;
}

/* "FILE:" or "FILE: plugins[N]:", where a message is about. */
static const char *where(const struct validate *v, int index, char *buf, size_t len)
{
	if (index >= 0)
		snprintf(buf, len, "%s: plugins[%d]:", v->file, index);
	else
		snprintf(buf, len, "%s:", v->file);
	return buf;
}

static void say_error(const struct validate *v, int index, const struct rv_err *err)
{
	char w[4200];

	fprintf(stderr, "rivet: %s %s%s%s (CNI error code %u)\n", where(v, index, w, sizeof(w)), err->msg,
		err->details[0] ? ": " : "", err->details, err->code);
}

static int one(const char *text, size_t len, int index, void *ctx)
{
	struct validate *v = ctx;
	struct cni_env env = { .command = CNI_CMD_ADD };
	struct rv_err err = { 0 };
	struct netconf conf;
	struct attach a;
	char w[4200];
	int r;

	r = cni_config_parse(text, len, &env, &conf, &err);
	for (size_t i = 0; i < conf.warnings.n; i++)
		fprintf(stderr, "rivet: %s warning: %s\n", where(v, index, w, sizeof(w)), conf.warnings.v[i]);
	/* attach_init refuses what ADD refuses before it reserves anything:
	 * too many range sets or IPAM routes, bad ranges. */
	if (r == 0)
		r = attach_init(&a, &env, &conf, &err);
	if (r == 0 && v->cluster)
		r = check_cluster(&conf, &err);
	if (r < 0)
		say_error(v, index, &err);
	else
		v->checked++;
	netconf_done(&conf);
	return r < 0 ? 1 : 0;
}

int cmd_validate(int argc, char **argv)
{
	struct validate v = { 0 };
	struct strv warnings = { 0 };
	struct rv_err err = { 0 };
	char *text = NULL;
	size_t len = 0;
	int r;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout);
		if (!strcmp(argv[i], "--cluster"))
			v.cluster = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return fprintf(stderr, "rivet: validate: unknown option '%s'\n", argv[i]), usage(stderr);
		else if (!v.file)
			v.file = argv[i];
		else
			return fprintf(stderr, "rivet: validate: one file at a time\n"), usage(stderr);
	}
	if (!v.file)
		return fprintf(stderr, "rivet: validate: which file?\n"), usage(stderr);
	r = read_all(v.file, &text, &len);
	if (r < 0) {
		fprintf(stderr, "rivet: cannot read %s: %s\n", v.file, strerror(-r));
		return 1;
	}
	r = cni_config_entries(text, len, "rivet", one, &v, &warnings, &err);
	for (size_t i = 0; i < warnings.n; i++)
		fprintf(stderr, "rivet: %s: warning: %s\n", v.file, warnings.v[i]);
	if (r < 0)
		say_error(&v, -1, &err);
	else if (r == 0)	/* a person's command: main.c prints nothing for it */
		fprintf(stdout, "%s: valid%s\n", v.file, v.cluster ? " for a node of a cluster" : "");
	strv_done(&warnings);
	free(text);
	return r ? 1 : 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Operator commands, run by hand on a node: what a network holds (list),
 * and a repair for what a crashed runtime left behind (repair). Reached
 * only when CNI_COMMAND is unset, so a runtime can never trigger them.
 *
 * A reservation is "live" when the host end of its veth exists: that name
 * is derived from (container ID, ifname) alone, so no other state is
 * needed, and it is what a dead pod loses first (deleting a netns deletes
 * the veth). A reservation file that names no container (empty: a crash
 * during host-local's create-then-write, or a power loss) is "unreadable":
 * no pod can be alive behind it, so repair releases it whatever its age.
 * The store is read and changed only through ipam/store.h, so files
 * written by the reference host-local are read exactly as rivet's
 * own. This file owns the argv parsing and the table these commands print,
 * and hands plain rows to cni/report.h for --json; it writes stdout itself
 * (these are a person's commands, not a runtime's: main.c prints nothing
 * for them).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cni/report.h"
#include "cni/env.h"
#include "ipam/store.h"
#include "net/datapath.h"
#include "net/masq.h"
#include "util/model.h"

/* An ADD reserves its addresses before it makes the veth, and the store
 * lock is not held in between, so a young reservation without a host end
 * may be an ADD in progress. kubelet gives up on a sandbox after its
 * runtimeRequestTimeout (2 minutes by default); past that, an ADD has
 * either finished or been abandoned. */
#define ADMIN_DEFAULT_MIN_AGE 120

enum host_state {
	HOST_PRESENT,
	HOST_GONE,
	HOST_UNKNOWN,		/* the kernel could not be asked */
	HOST_NO_IFNAME,		/* an old ID-only file: no host end can be named */
	HOST_DAMAGED,		/* the file names nobody (empty, blank, too long) */
};

static const char *const state_names[] = {
	[HOST_PRESENT] = "live",
	[HOST_GONE] = "gone",
	[HOST_UNKNOWN] = "unknown",
	[HOST_NO_IFNAME] = "unknown",
	[HOST_DAMAGED] = "unreadable",
};

struct entry {
	struct rv_ip ip;
	struct ipam_owner owner;
	char host_if[16];
	enum host_state state;
	/* repair only */
	const char *skip;	/* why a reservation that looks dead is kept */
	int error;		/* release failed with this -errno */
	bool release;		/* released, or with --dry-run, would be */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

struct opts {
	bool repair, json, dry_run, force;
	const char *network;
	const char *data_dir;
	long min_age;
};

static int usage(FILE *f)
{
	fprintf(f,
		"usage: rivet [--version]\n"
		"       rivet list <network> [--data-dir DIR] [--json]\n"
		"       rivet repair <network> [--data-dir DIR] [--dry-run] [--min-age SECONDS] [--force] [--json]\n"
		"       rivet validate [--cluster] FILE\n");
	if (f != stdout) {
		fprintf(f, "rivet --help says more.\n");
		return 2;
	}
	fprintf(f,
		"\n"
		"list    the reservations of <network>: address, container, ifname, age, and\n"
		"        whether the host end of the pod's veth still exists\n"
		"repair  release the reservations whose host end is gone and that are older\n"
		"        than --min-age (default %d s), and unreadable ones, and take their\n"
		"        addresses out of the network's masquerade sets; --dry-run only\n"
		"        reports. It refuses when no host end at all is visible (the wrong\n"
		"        network namespace) unless --force\n"
		"validate  check a conflist or config as ADD would, changing nothing\n"
		"        (rivet validate --help says more)\n"
		"DIR     the IPAM dataDir (default %s)\n"
		"Run list and repair in the node's network namespace: on the node, or in a pod\n"
		"with hostNetwork that mounts the dataDir (the rivet-node DaemonSet's).\n"
		"Exit status: 0 ok, 1 error, 2 usage. Run by a container runtime, rivet reads\n"
		"CNI_COMMAND instead; see rivet(8).\n",
		ADMIN_DEFAULT_MIN_AGE, IPAM_DEFAULT_DATA_DIR);
	return 0;
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("rivet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage(stderr);
}

/* Returns -1 when parsed, else the exit status to return. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->data_dir = IPAM_DEFAULT_DATA_DIR;
	o->min_age = ADMIN_DEFAULT_MIN_AGE;

	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return usage(stdout);
	if (!strcmp(argv[1], "repair"))
		o->repair = true;
	else if (strcmp(argv[1], "list"))
		return bad_usage("unknown command '%s'", argv[1]);

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return usage(stdout);
		if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (o->repair && (!strcmp(a, "--dry-run") || !strcmp(a, "-n"))) {
			o->dry_run = true;
		} else if (o->repair && !strcmp(a, "--force")) {
			o->force = true;
		} else if (!strcmp(a, "--data-dir") || !strncmp(a, "--data-dir=", 11)) {
			val = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val || !*val)
				return bad_usage("%s needs a directory", "--data-dir");
			o->data_dir = val;
		} else if (o->repair && (!strcmp(a, "--min-age") || !strncmp(a, "--min-age=", 10))) {
			char *end;

			val = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val)
				return bad_usage("%s needs a number of seconds", "--min-age");
			errno = 0;
			o->min_age = strtol(val, &end, 10);
			if (errno || end == val || *end || o->min_age < 0)
				return bad_usage("--min-age '%s' is not a number of seconds", val);
		} else if (a[0] == '-' && a[1]) {
			return bad_usage("unknown option '%s'", a);
		} else if (!o->network) {
			o->network = a;
		} else {
			return bad_usage("unexpected argument '%s'", a);
		}
	}
	if (!o->network)
		return bad_usage("%s: which network? (the \"name\" of its config)", argv[1]);
	/* The name becomes a path component: the same rule as a config's
	 * name, so "../x" cannot reach outside the data dir. */
	if (!cni_valid_network_name(o->network))
		return bad_usage("'%s' is not a valid network name", o->network);
	return -1;
}

static int collect(const struct rv_ip *ip, const struct ipam_owner *owner, void *ctx)
{
	struct entries *es = ctx;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 64;
		struct entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		es->v = v;
		es->cap = cap;
	}
	memset(&es->v[es->n], 0, sizeof(es->v[0]));
	es->v[es->n].ip = *ip;
	es->v[es->n].owner = *owner;
	es->n++;
	return 0;
}

/* IPv4 before IPv6, then by address: the order people read a range in. */
static int by_address(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->ip.family != y->ip.family)
		return x->ip.family == AF_INET ? -1 : 1;
	return ip_cmp(&x->ip, &y->ip);
}

/* Returns the number of entries whose state could not be read. */
static unsigned probe_host_ends(struct entries *es)
{
	unsigned unknown = 0;

	for (size_t i = 0; i < es->n; i++) {
		struct entry *e = &es->v[i];
		int r;

		if (e->owner.damaged) {
			e->state = HOST_DAMAGED;
			continue;
		}
		if (!e->owner.ifname[0]) {
			e->state = HOST_NO_IFNAME;
			continue;
		}
		datapath_host_ifname(e->owner.container_id, e->owner.ifname, e->host_if);
		r = datapath_link_exists(e->host_if);
		/* No rivet host end: the pod may still be alive under another
		 * routed plugin sharing the store (ptp + host-local), which
		 * routes its address to a veth of its own. */
		if (r == 0 && (r = datapath_routed_to(&e->ip, e->host_if)) == 0)
			datapath_host_ifname(e->owner.container_id, e->owner.ifname, e->host_if);
		e->state = r > 0 ? HOST_PRESENT : r == 0 ? HOST_GONE : HOST_UNKNOWN;
		if (r < 0)
			unknown++;
	}
	return unknown;
}

static long age_of(const struct entry *e, time_t now)
{
	return e->owner.since && now > e->owner.since ? (long)(now - e->owner.since) : 0;
}

/* --- output for people --------------------------------------------------- */

/* File content is untrusted: a container ID holding an escape sequence
 * must not reach the operator's terminal. */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++)
		buf[i++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
	buf[i] = '\0';
	return buf;
}

static const char *fmt_age(const struct entry *e, time_t now, char *buf, size_t len)
{
	long a = age_of(e, now);

	if (!e->owner.since)
		snprintf(buf, len, "?");
	else if (a < 60)
		snprintf(buf, len, "%lds", a);
	else if (a < 3600)
		snprintf(buf, len, "%ldm%02lds", a / 60, a % 60);
	else if (a < 86400)
		snprintf(buf, len, "%ldh%02ldm", a / 3600, a % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", a / 86400, a % 86400 / 3600);
	return buf;
}

struct widths {
	int addr, ifname;
};

/* Columns as wide as their longest cell: an IPv6 address is 39 wide, an
 * ifname up to 15, and most are far shorter. */
static struct widths widths_of(const struct entries *es)
{
	struct widths w = { 7, 6 };	/* "ADDRESS", "IFNAME" */

	for (size_t i = 0; i < es->n; i++) {
		char a[IP_STRLEN];
		int n = (int)strlen(ip_fmt(&es->v[i].ip, a)), m = (int)strlen(es->v[i].owner.ifname);

		w.addr = n > w.addr ? n : w.addr;
		w.ifname = m > w.ifname ? m : w.ifname;
	}
	return w;
}

static void table_row(const struct entry *e, struct widths w, time_t now, const char *lead)
{
	char a[IP_STRLEN], age[32], id[256], ifn[32];

	fprintf(stdout, "%s%-*s  %-*s  %-15s  %-10s  %-8s  %s\n", lead, w.addr, ip_fmt(&e->ip, a), w.ifname,
	       e->owner.ifname[0] ? printable(e->owner.ifname, ifn, sizeof(ifn)) : "-",
	       e->host_if[0] ? e->host_if : "-", state_names[e->state],
	       fmt_age(e, now, age, sizeof(age)),
	       e->owner.damaged ? "(the file names no container)" : printable(e->owner.container_id, id, sizeof(id)));
}

static void table_head(struct widths w, const char *lead)
{
	fprintf(stdout, "%s%-*s  %-*s  %-15s  %-10s  %-8s  %s\n", lead, w.addr, "ADDRESS", w.ifname, "IFNAME",
	       "HOST END", "STATE", "AGE", "CONTAINER");
}

static void list_table(const struct opts *o, const struct entries *es, time_t now)
{
	struct widths aw = widths_of(es);
	size_t gone = 0, old = 0, damaged = 0;
	char cmd[4200];

	if (es->n)
		table_head(aw, "");
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		table_row(e, aw, now, "");
		gone += e->state == HOST_GONE;
		old += e->state == HOST_GONE && e->owner.since && age_of(e, now) >= ADMIN_DEFAULT_MIN_AGE;
		damaged += e->state == HOST_DAMAGED;
	}
	/* The command as it must be typed here, data dir and all. */
	snprintf(cmd, sizeof(cmd), "rivet repair %s%s%s", o->network,
		 strcmp(o->data_dir, IPAM_DEFAULT_DATA_DIR) ? " --data-dir " : "",
		 strcmp(o->data_dir, IPAM_DEFAULT_DATA_DIR) ? o->data_dir : "");
	fprintf(stdout, "%zu reservation%s in %s/%s", es->n, es->n == 1 ? "" : "s", o->data_dir, o->network);
	if (gone == old && gone)
		fprintf(stdout, "; %zu whose host end is gone: %s releases %s", gone, cmd, gone == 1 ? "it" : "them");
	else if (old)
		fprintf(stdout, "; %zu whose host end is gone, %zu of them older than %d s: %s releases those",
			gone, old, ADMIN_DEFAULT_MIN_AGE, cmd);
	else if (gone)
		fprintf(stdout, "; %zu whose host end is gone, younger than %d s (an ADD may still be making %s): "
			"repair keeps %s until then", gone, ADMIN_DEFAULT_MIN_AGE, gone == 1 ? "it" : "them",
			gone == 1 ? "it" : "them");
	if (damaged)
		fprintf(stdout, "; %zu unreadable (empty or naming no container): %s releases %s", damaged, cmd,
			damaged == 1 ? "it" : "them");
	fprintf(stdout, "\n");
}

static void repair_table(const struct opts *o, const struct entries *es, time_t now)
{
	struct widths aw = widths_of(es);
	size_t released = 0, failed = 0, skipped = 0;

	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		released += e->release && !e->error;
		failed += e->release && e->error;
		skipped += e->skip != NULL;
	}
	if (released || failed || skipped)
		table_head(aw, "              ");
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		if (e->release && !e->error)
			table_row(e, aw, now, o->dry_run ? "would release " : "released      ");
	}
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		if (e->release && e->error) {
			table_row(e, aw, now, "FAILED        ");
			fprintf(stdout, "              (%s)\n", strerror(-e->error));
		}
	}
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		if (e->skip) {
			table_row(e, aw, now, "kept          ");
			fprintf(stdout, "              (%s)\n", e->skip);
		}
	}
	fprintf(stdout, "%s %zu of %zu reservation%s in %s/%s%s\n", o->dry_run ? "would release" : "released",
	       released, es->n, es->n == 1 ? "" : "s", o->data_dir, o->network,
	       o->dry_run ? " (dry run: nothing changed)" : "");
}

/* --- JSON ------------------------------------------------------------------ */

static bool pick_all(const struct entry *e)
{
	(void)e;
	return true;
}

static bool pick_released(const struct entry *e)
{
	return e->release && !e->error;
}

static bool pick_failed(const struct entry *e)
{
	return e->release && e->error;
}

static bool pick_skipped(const struct entry *e)
{
	return e->skip != NULL;
}

/* The rows @pick selects, for the cni layer's encoder. The strings point
 * into @es and @text (one IP_STRLEN slot per entry); the array is the
 * caller's to free. */
static struct report_row *rows_of(const struct entries *es, bool (*pick)(const struct entry *),
				  time_t now, char (*text)[IP_STRLEN], size_t *n)
{
	struct report_row *rows = calloc(es->n + 1, sizeof(*rows));

	*n = 0;
	for (size_t i = 0; rows && i < es->n; i++) {
		const struct entry *e = &es->v[i];

		if (!pick(e))
			continue;
		rows[(*n)++] = (struct report_row){
			.ip = ip_fmt(&e->ip, text[i]),
			.container_id = e->owner.container_id,
			.ifname = e->owner.ifname,
			.host_if = e->host_if[0] ? e->host_if : NULL,
			.host_exists = e->state == HOST_PRESENT ? 1 : e->state == HOST_GONE ? 0 : -1,
			.state = state_names[e->state],
			.since = e->owner.since,
			.age = age_of(e, now),
			.reason = e->skip,
			.error = e->error ? strerror(-e->error) : NULL,
		};
	}
	return rows;
}

static int print_json(const struct opts *o, const struct entries *es, time_t now)
{
	static const struct {
		const char *key;
		bool (*pick)(const struct entry *);
	} list[] = { { "reservations", pick_all } },
	  repair[] = { { "released", pick_released }, { "skipped", pick_skipped }, { "failed", pick_failed } };
	struct report_section sections[3];
	struct report r = {
		.network = o->network, .data_dir = o->data_dir, .repair = o->repair,
		.dry_run = o->dry_run, .checked = es->n, .sections = sections,
	};
	char (*text)[IP_STRLEN] = calloc(es->n + 1, IP_STRLEN);
	char *out = NULL;
	int status = 1;

	/* With --dry-run, "released" lists what a real run would release. */
	r.n_sections = o->repair ? 3 : 1;
	for (size_t i = 0; i < r.n_sections; i++) {
		sections[i].key = o->repair ? repair[i].key : list[i].key;
		sections[i].rows = text ? rows_of(es, o->repair ? repair[i].pick : list[i].pick, now, text,
						  &sections[i].n) : NULL;
		if (!sections[i].rows)
			r.n_sections = i;
	}
	if (text && r.n_sections == (o->repair ? 3u : 1u) && (out = cni_report_encode(&r))) {
		fputs(out, stdout);
		status = 0;
	} else {
		fprintf(stderr, "rivet: out of memory\n");
	}
	for (size_t i = 0; i < r.n_sections; i++)
		free((void *)sections[i].rows);
	free(text);
	free(out);
	return status;
}

/* --- the commands ---------------------------------------------------------- */

/* Decide, and unless dry-running release, each reservation. Called with
 * the store lock held for a real run, so nothing is reserved or released
 * between the walk and the release; ipam_store_release_ip() still checks
 * the owner, so a file that changed hands is never touched. */
static unsigned repair_entries(struct ipam_store *s, const struct opts *o, struct entries *es,
			       time_t now)
{
	unsigned failed = 0;

	for (size_t i = 0; i < es->n; i++) {
		struct entry *e = &es->v[i];

		switch (e->state) {
		case HOST_DAMAGED:
			/* It names no attachment, so none can be alive; under
			 * the lock no writer is half-way through it. Age does
			 * not matter. */
			e->release = true;
			if (o->dry_run)
				continue;
			e->error = ipam_store_release_damaged(s, &e->ip);
			if (e->error == -ENOENT)
				e->error = 0;	/* gone or rewritten meanwhile */
			if (e->error)
				failed++;
			continue;
		case HOST_PRESENT:
			continue;
		case HOST_UNKNOWN:
			e->skip = "cannot tell whether the host end exists";
			continue;
		case HOST_NO_IFNAME:
			e->skip = "an old ID-only reservation: no ifname, so no host end to look for";
			continue;
		case HOST_GONE:
			break;
		}
		if (!e->owner.since || age_of(e, now) < o->min_age) {
			e->skip = "host end gone, but younger than --min-age: may be an ADD in progress";
			continue;
		}
		e->release = true;
		if (o->dry_run)
			continue;
		e->error = ipam_store_release_ip(s, &e->ip, e->owner.container_id, e->owner.ifname, -1);
		if (e->error == -ENOENT)
			e->error = 0;	/* released (or re-taken) meanwhile: nothing left to do */
		if (e->error)
			failed++;
	}
	return failed;
}

/* Every pod of the network looks gone when rivet runs where none of its host
 * ends is: a shell in another network namespace, a container without
 * hostNetwork. Then repair would release live pods' addresses; say so (and
 * for repair without --force, refuse: returns true). */
static bool nowhere_to_be_seen(const struct opts *o, const struct entries *es)
{
	size_t present = 0, gone = 0;

	for (size_t i = 0; i < es->n; i++) {
		present += es->v[i].state == HOST_PRESENT;
		gone += es->v[i].state == HOST_GONE;
	}
	if (present || !gone)
		return false;
	fprintf(stderr,
		"rivet: none of the %zu reservation%s of network %s has its host end in this network "
		"namespace. Run rivet %s where the runtime runs rivet: in the node's own network namespace "
		"(on the node, or in a pod with hostNetwork: true, such as the rivet-node DaemonSet's)%s\n",
		gone, gone == 1 ? "" : "s", o->network, o->repair ? "repair" : "list",
		o->repair ? (o->force ? "; going on (--force)"
				      : ". If every pod of the network is really gone, run it again with --force")
			  : "");
	return true;
}

/* Take the released addresses out of the network's masquerade sets, which
 * no DEL will visit for them now. Returns 1 on failure (said why). */
static unsigned unmasquerade(const struct opts *o, const struct entries *es)
{
	struct rv_ip *ips = calloc(es->n + 1, sizeof(*ips));
	struct rv_err err = { 0 };
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; ips && i < es->n; i++)
		if (es->v[i].release && !es->v[i].error)
			ips[n++] = es->v[i].ip;
	if (!ips)
		r = err_set(&err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	else if (n)
		r = masq_del(o->network, ips, n, &err);
	masq_release();
	free(ips);
	if (r < 0)
		fprintf(stderr, "rivet: the released addresses are still in the masquerade sets: %s%s%s\n",
			err.msg, err.details[0] ? ": " : "", err.details);
	return r < 0;
}

/* Read the store, look at each host end and, for repair, act. Returns 0,
 * 1 when something could not be done (the report is still worth
 * printing), or -1 when there is nothing to report (already said why). */
static int gather(const struct opts *o, struct entries *es, time_t now)
{
	struct ipam_store s;
	struct rv_err err = { 0 };
	unsigned unknown, failed = 0;
	int r;

	/* Reclaiming earlier boots' reservations is ADD's decision, made
	 * from the config; an operator command does only what it says. */
	r = ipam_store_open(&s, o->data_dir, o->network, false, false, &err);
	if (r == -ENOENT) {
		/* The directory is made by the first ADD: nothing reserved. */
		fprintf(stderr, "rivet: %s/%s does not exist: nothing is reserved in network %s\n",
			o->data_dir, o->network, o->network);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "rivet: %s%s%s\n", err.msg, err.details[0] ? ": " : "", err.details);
		goto fatal;
	}
	if (geteuid() != 0)
		fprintf(stderr, "rivet: not running as root: reservation files are readable by root "
			"only, so some may be missing from this report\n");

	/* list and --dry-run change nothing and do not take the lock: rivet
	 * publishes every reservation whole and removes it by unlink, so
	 * each of its files read is either complete or absent (host-local's
	 * may be seen empty for an instant, and listed as unreadable), and
	 * waiting behind a busy runtime would help no one reading a snapshot. */
	if (o->repair && !o->dry_run && ipam_store_lock(&s, IPAM_LOCK_TIMEOUT_MS, NULL, &err) < 0) {
		fprintf(stderr, "rivet: %s\n", err.msg);
		goto fatal;
	}
	r = ipam_store_walk(&s, collect, es);
	if (r < 0) {
		fprintf(stderr, "rivet: cannot read %s: %s\n", s.path, strerror(-r));
		goto fatal;
	}
	qsort(es->v, es->n, sizeof(*es->v), by_address);
	unknown = probe_host_ends(es);
	if (unknown)
		fprintf(stderr, "rivet: could not ask the kernel about %u host end%s\n", unknown,
			unknown == 1 ? "" : "s");
	if (nowhere_to_be_seen(o, es) && o->repair && !o->force)
		goto fatal;
	if (o->repair) {
		failed = repair_entries(&s, o, es, now);
		/* The index entries of released reservations point at nothing
		 * now; drop them as GC does. */
		if (!o->dry_run) {
			(void)ipam_store_prune_index(&s);
			failed += unmasquerade(o, es);
		}
	}
	ipam_store_close(&s);
	if (failed)
		fprintf(stderr, "rivet: %u reservation%s could not be released\n", failed,
			failed == 1 ? "" : "s");
	return unknown || failed ? 1 : 0;
fatal:
	ipam_store_close(&s);
	return -1;
}

int cmd_admin(int argc, char **argv)
{
	struct entries es = { 0 };
	struct opts o;
	time_t now = time(NULL);
	int status;

	status = parse_args(argc, argv, &o);
	if (status >= 0)
		return status;
	status = gather(&o, &es, now);
	if (status < 0) {
		free(es.v);
		return 1;
	}
	if (o.json)
		status = print_json(&o, &es, now) ? 1 : status;
	else if (o.repair)
		repair_table(&o, &es, now);
	else
		list_table(&o, &es, now);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rivet: cannot write the output: %s\n", strerror(errno));
		status = 1;
	}
	free(es.v);
	return status;
}

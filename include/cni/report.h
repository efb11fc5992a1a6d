/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON of the operator commands (rivet list/repair --json). Encoded here
 * because the cni layer is where rivet's JSON is made; the command hands
 * plain rows. Strings may come from files on disk (container IDs): they are
 * made valid UTF-8 (invalid bytes become U+FFFD) so the output always parses.
 */
#ifndef RIVET_CNI_REPORT_H
#define RIVET_CNI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct report_row {
	const char *ip;
	const char *container_id;
	const char *ifname;
	const char *host_if;		/* NULL: none can be named */
	int host_exists;		/* 1, 0, or -1 when unknown */
	const char *state;		/* "live", "gone", "unknown" */
	time_t since;			/* 0: unknown */
	long age;			/* seconds */
	const char *reason;		/* why kept (repair), may be NULL */
	const char *error;		/* why a release failed, may be NULL */
};

struct report_section {
	const char *key;		/* "reservations", "released", ... */
	const struct report_row *rows;
	size_t n;
};

struct report {
	const char *network;
	const char *data_dir;
	bool repair;			/* adds dryRun and checked */
	bool dry_run;
	size_t checked;
	const struct report_section *sections;
	size_t n_sections;
};

/* The report as one line of JSON ending in a newline; caller frees. NULL
 * when memory is short. */
char *cni_report_encode(const struct report *r);

#endif

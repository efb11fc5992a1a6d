// SPDX-License-Identifier: Apache-2.0
/*
 * Operator commands, run by hand on a node: what a network holds, and a
 * repair for what a crashed runtime left behind. Reached only when
 * CNI_COMMAND is unset, so a runtime can never trigger them.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static int usage(FILE *f)
{
	fprintf(f,
		"usage: rivet [--version]\n"
		"       rivet list <network> [--data-dir DIR] [--json]\n"
		"       rivet repair <network> [--data-dir DIR] [--dry-run] [--json]\n"
		"Run by a container runtime, rivet reads CNI_COMMAND; see rivet(8).\n");
	return f == stdout ? 0 : 2;
}

int cmd_admin(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")))
		return usage(stdout);
	return usage(stderr);
}

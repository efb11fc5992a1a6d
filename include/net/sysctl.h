/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few settings that have no netlink form and so are written under
 * /proc/sys (IPv6 per-device forwarding and accept_ra, global forwarding),
 * and netconf reads that let rivet write them only when they are wrong.
 * Files under /proc/sys/net belong to the netns of the process that opens
 * them: callers are in the right netns when they call these.
 */
#ifndef RIVET_NET_SYSCTL_H
#define RIVET_NET_SYSCTL_H

#include <stdbool.h>

#include "net/nlbatch.h"

/* Write @value to /proc/sys/<path>. Returns 0 or -errno. */
int sysctl_write(const char *path, const char *value);

/* Read an integer from /proc/sys/<path>. */
int sysctl_read_int(const char *path, int *out);

struct netconf_info {
	bool found;
	int forwarding;
};

/* Read the forwarding state of @family for all devices (RTM_GETNETCONF). */
void netconf_get_all(struct nlbatch *b, int family, struct netconf_info *out);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network namespaces by file descriptor.
 *
 * rivet works on the pod through sockets created inside the pod's netns
 * (keepalived's socket_netns pattern): the process switches in only for the
 * socket(2) call, or for a /proc/sys write that has no netlink form, and
 * always switches back before doing anything else.
 */
#ifndef RIVET_NET_NETNS_H
#define RIVET_NET_NETNS_H

#include <stdbool.h>

#include "util/err.h"

/* Open @path and make sure it is a network namespace other than our own.
 * Errors: -ENOENT (code 3: the container is gone), -EINVAL (code 4: the
 * path is not a netns, or is rivet's own, which CNI_NETNS_OVERRIDE allows
 * when @allow_self). */
int netns_open(const char *path, bool allow_self, int *fd, struct rv_err *err);

/* socket(2) inside the netns @nsfd. Returns an fd or -errno. */
int netns_socket(int nsfd, int domain, int type, int protocol);

/* Switch into @nsfd; *saved receives what to restore. */
int netns_enter(int nsfd, int *saved);

/* Switch back and close @saved. Aborts if that fails, since every later
 * step would act on the wrong namespace. */
void netns_restore(int saved);

#endif

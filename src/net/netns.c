// SPDX-License-Identifier: Apache-2.0
/*
 * Netns handles. A path is accepted only if it is an nsfs inode of type
 * CLONE_NEWNET: /run/netns/<name> bind mounts and /proc/<pid>/ns/net both
 * qualify; a regular file or a directory does not.
 */
#include <errno.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "net/netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int netns_open(const char *path, bool allow_self, int *out, struct rv_err *err)
{
	struct stat st, self;
	struct statfs sfs;
	int fd, e;

	/* O_NONBLOCK: a FIFO planted as CNI_NETNS must not hang rivet; nsfs
	 * files ignore the flag. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return err_set(err, CNI_ERR_UNKNOWN_CONTAINER, ENOENT,
				       "CNI_NETNS %s does not exist: the container's network namespace is gone",
				       path);
		return err_set(err, CNI_ERR_ENV, e, "CNI_NETNS %s cannot be opened: %s", path, strerror(e));
	}
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC ||
	    ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return err_set(err, CNI_ERR_ENV, EINVAL,
			       "CNI_NETNS %s is not a network namespace (expected e.g. /run/netns/<name> "
			       "or /proc/<pid>/ns/net)", path);
	}
	if (!allow_self && fstat(fd, &st) == 0 && stat("/proc/self/ns/net", &self) == 0 &&
	    st.st_ino == self.st_ino && st.st_dev == self.st_dev) {
		close(fd);
		return err_set(err, CNI_ERR_ENV, EINVAL,
			       "CNI_NETNS %s is rivet's own network namespace; a pod needs its own "
			       "(set CNI_NETNS_OVERRIDE=1 if this is intended)", path);
	}
	*out = fd;
	return 0;
}

int netns_enter(int nsfd, int *saved)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		int e = errno;

		close(self);
		return -e;
	}
	*saved = self;
	return 0;
}

void netns_restore(int saved)
{
	if (setns(saved, CLONE_NEWNET) < 0) {
		/* Unreachable in practice (we hold the fd and the capability);
		 * carrying on would configure the pod as if it were the host. */
		fprintf(stderr, "rivet: cannot return to the original network namespace: %s\n",
			strerror(errno));
		abort();
	}
	close(saved);
}

int netns_socket(int nsfd, int domain, int type, int protocol)
{
	int saved, fd, r;

	r = netns_enter(nsfd, &saved);
	if (r < 0)
		return r;
	fd = socket(domain, type, protocol);
	r = fd < 0 ? -errno : fd;
	netns_restore(saved);
	return r;
}

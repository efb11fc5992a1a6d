// SPDX-License-Identifier: Apache-2.0
/* /proc/sys reads and writes, and RTM_GETNETCONF. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/sysctl.h"

int sysctl_write(const char *path, const char *value)
{
	char full[256];
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

int sysctl_read_int(const char *path, int *out)
{
	char full[256], buf[32];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*out = atoi(buf);
	return 0;
}

static int netconf_reply(const struct nlmsghdr *nlh, void *data)
{
	struct netconf_info *out = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWNETCONF)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct netconfmsg)) {
		if (mnl_attr_get_type(a) == NETCONFA_FORWARDING &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			out->found = true;
			out->forwarding = (int)mnl_attr_get_u32(a);
		}
	}
	return MNL_CB_OK;
}

void netconf_get_all(struct nlbatch *b, int family, struct netconf_info *out)
{
	struct netconfmsg *ncm;

	memset(out, 0, sizeof(*out));
	ncm = nlbatch_add(b, RTM_GETNETCONF, 0, sizeof(*ncm), "read IPv%d forwarding",
			   family == AF_INET ? 4 : 6);
	ncm->ncm_family = (unsigned char)family;
	mnl_attr_put_u32(nlbatch_msg_hdr(b), NETCONFA_IFINDEX, (uint32_t)NETCONFA_IFINDEX_ALL);
	nlbatch_ok(b, NLB_OK_NOENT);
	nlbatch_on_reply(b, netconf_reply, out);
}

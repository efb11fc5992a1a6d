// SPDX-License-Identifier: Apache-2.0
/* RTM_NEWADDR, always without duplicate address detection (see addr.h). */
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "net/addr.h"

void addr_add(struct nlbatch *b, int ifindex, const char *ifname, const struct rv_prefix *p,
	      unsigned char scope)
{
	char buf[IP_STRLEN];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	unsigned len = ip_bytes(p->ip.family);

	ifa = nlbatch_add(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa),
			   "add address %s to %s", prefix_fmt(p, buf), ifname);
	ifa->ifa_family = (unsigned char)p->ip.family;
	ifa->ifa_prefixlen = (unsigned char)p->len;
	ifa->ifa_flags = IFA_F_NODAD | IFA_F_PERMANENT;
	ifa->ifa_scope = scope;
	ifa->ifa_index = (unsigned)ifindex;
	nlh = nlbatch_msg_hdr(b);
	mnl_attr_put(nlh, IFA_LOCAL, len, p->ip.a);
	mnl_attr_put(nlh, IFA_ADDRESS, len, p->ip.a);
}

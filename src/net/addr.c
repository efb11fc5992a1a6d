// SPDX-License-Identifier: Apache-2.0
/* RTM_NEWADDR (always without duplicate address detection, see addr.h),
 * RTM_DELADDR and address dumps. */
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>

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

void addr_del(struct nlbatch *b, int ifindex, const char *ifname, const struct rv_prefix *p)
{
	char buf[IP_STRLEN];
	struct ifaddrmsg *ifa;
	unsigned len = ip_bytes(p->ip.family);

	ifa = nlbatch_add(b, RTM_DELADDR, 0, sizeof(*ifa), "delete address %s from %s",
			   prefix_fmt(p, buf), ifname);
	ifa->ifa_family = (unsigned char)p->ip.family;
	ifa->ifa_prefixlen = (unsigned char)p->len;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlbatch_msg_hdr(b), IFA_LOCAL, len, p->ip.a);
	nlbatch_ok(b, NLB_OK_NOENT);
}

static int dump_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct addr_dump *d = data;
	struct addr_entry e;
	const struct nlattr *a;
	unsigned len;

	if (nlh->nlmsg_type != RTM_NEWADDR || (d->ifindex && (int)ifa->ifa_index != d->ifindex) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	len = ip_bytes(ifa->ifa_family);
	memset(&e, 0, sizeof(e));
	e.ifindex = (int)ifa->ifa_index;
	e.scope = ifa->ifa_scope;
	e.p.len = ifa->ifa_prefixlen;
	/* IFA_LOCAL is the address itself; IPv6 gives only IFA_ADDRESS. */
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(a);

		if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !e.p.ip.family)) &&
		    mnl_attr_get_payload_len(a) == len) {
			e.p.ip.family = ifa->ifa_family;
			memcpy(e.p.ip.a, mnl_attr_get_payload(a), len);
		}
	}
	if (e.p.ip.family)
		d->fn(&e, d->ctx);
	return MNL_CB_OK;
}

void addr_dump(struct nlbatch *b, int family, struct addr_dump *d)
{
	struct ifaddrmsg *ifa;

	ifa = nlbatch_add(b, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa), "list the %s addresses",
			   family == AF_INET ? "IPv4" : "IPv6");
	ifa->ifa_family = (unsigned char)family;
	nlbatch_on_reply(b, dump_reply, d);
}

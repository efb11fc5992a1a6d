// SPDX-License-Identifier: Apache-2.0
/*
 * Facts about the node (see node.h), each one or two netlink requests: a
 * route lookup that returns the preferred source, a dump of the node's
 * addresses, a link read.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "net/addr.h"
#include "net/link.h"
#include "net/node.h"
#include "net/nlbatch.h"
#include "net/route.h"

/* Addresses a default route must match and nothing more specific should:
 * the documentation prefixes, which no network uses. */
static const char *const probe[] = { [0] = "192.0.2.1", [1] = "2001:db8::1" };

struct src_reply {
	bool found;
	struct rv_ip src;
	int family;
};

static int src_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct src_reply *out = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_PREFSRC &&
		    mnl_attr_get_payload_len(a) == ip_bytes(out->family)) {
			out->src.family = out->family;
			memcpy(out->src.a, mnl_attr_get_payload(a), ip_bytes(out->family));
			out->found = true;
		}
	}
	return MNL_CB_OK;
}

int node_default_source(int family, struct rv_ip *out, struct rv_err *err)
{
	struct src_reply rep = { .family = family };
	char buf[NLBATCH_BUF];
	struct nlbatch b;
	struct nlconn nl;
	struct rv_ip dst;
	struct rtmsg *rtm;
	int r;

	ip_parse(probe[family == AF_INET6], &dst);
	r = nlconn_open(&nl, NETLINK_ROUTE, -1, err);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	/* Without RTM_F_FIB_MATCH the kernel answers with the route it would
	 * use, the preferred source filled in. */
	rtm = nlbatch_add(&b, RTM_GETROUTE, 0, sizeof(*rtm), "look up the default route's source");
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)ip_bits(family);
	mnl_attr_put(nlbatch_msg_hdr(&b), RTA_DST, ip_bytes(family), dst.a);
	nlbatch_ok(&b, NLB_OK_UNREACH | NLB_OK_NOENT);
	nlbatch_on_reply(&b, src_cb, &rep);
	r = nlbatch_run(&b, err);
	nlconn_close(&nl);
	if (r < 0)
		return r;
	if (!rep.found)
		return -ENETUNREACH;
	*out = rep.src;
	return 0;
}

struct holder {
	const struct rv_ip *ip;
	int ifindex;
};

static void find_holder(const struct addr_entry *a, void *ctx)
{
	struct holder *h = ctx;

	if (ip_eq(&a->p.ip, h->ip))
		h->ifindex = a->ifindex;
}

int node_link_of(const struct rv_ip *ip, struct node_link *out, struct rv_err *err)
{
	struct holder h = { ip, 0 };
	struct addr_dump d = { 0, find_holder, &h };
	char buf[NLBATCH_BUF], a[IP_STRLEN];
	struct link_info li;
	struct nlbatch b;
	struct nlconn nl;
	int r;

	memset(out, 0, sizeof(*out));
	r = nlconn_open(&nl, NETLINK_ROUTE, -1, err);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	addr_dump(&b, ip->family, &d);
	r = nlbatch_run(&b, err);
	if (r == 0 && !h.ifindex)
		r = err_set(err, CNI_ERR_CONFIG, EADDRNOTAVAIL,
			    "no link of this node holds %s: give --node-ip an address of this node",
			    ip_fmt(ip, a));
	if (r == 0) {
		link_get(&b, h.ifindex, NULL, &li);
		r = nlbatch_run(&b, err);
	}
	if (r == 0 && !li.found)
		r = err_set(err, RIVET_ERR_NETLINK, ENODEV, "the link holding %s vanished", ip_fmt(ip, a));
	if (r == 0) {
		out->ifindex = li.ifindex;
		out->mtu = li.mtu;
		memcpy(out->name, li.name, sizeof(out->name));
	}
	nlconn_close(&nl);
	return r;
}

/* A connected route: unicast, out of a link, no gateway. A host route to
 * the peer itself would be someone's deliberate choice; it counts. */
static bool connected(const struct route_info *ri)
{
	return ri->found && ri->type == RTN_UNICAST && ri->oif > 0 && !ip_is_set(&ri->gw);
}

int node_on_link_many(const struct rv_ip *ips, size_t n, bool *out)
{
	enum { PER_BATCH = 60 };
	struct route_info ri[PER_BATCH];
	char buf[NLBATCH_BUF];
	struct nlbatch b;
	struct nlconn nl;
	int r;

	r = nlconn_open(&nl, NETLINK_ROUTE, -1, NULL);
	if (r < 0)
		return r;
	nlbatch_init(&b, &nl, buf);
	for (size_t done = 0; done < n && r == 0; done += PER_BATCH) {
		size_t m = n - done < PER_BATCH ? n - done : PER_BATCH;

		for (size_t i = 0; i < m; i++)
			route_lookup(&b, &ips[done + i], &ri[i]);
		r = nlbatch_run(&b, NULL);
		for (size_t i = 0; r == 0 && i < m; i++)
			out[done + i] = connected(&ri[i]);
	}
	nlconn_close(&nl);
	return r;
}

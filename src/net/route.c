// SPDX-License-Identifier: Apache-2.0
/* RTM_NEWROUTE, RTM_DELROUTE and RTM_GETROUTE (lookups with RTM_F_FIB_MATCH,
 * and dumps) requests. */
#include <linux/rtnetlink.h>
#include <string.h>

#include "net/route.h"

static void put_route(struct nlbatch *b, uint16_t type, uint16_t flags, const struct route_req *r,
		      const char *verb, const char *ifname)
{
	char dst[IP_STRLEN], gw[IP_STRLEN];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned len = ip_bytes(r->dst.ip.family);

	rtm = nlbatch_add(b, type, flags, sizeof(*rtm), "%s route %s%s%s%s%s", verb, prefix_fmt(&r->dst, dst),
			   ip_is_set(&r->gw) ? " via " : "", ip_is_set(&r->gw) ? ip_fmt(&r->gw, gw) : "",
			   ifname ? " dev " : "", ifname ? ifname : "");
	rtm->rtm_family = (unsigned char)r->dst.ip.family;
	rtm->rtm_dst_len = (unsigned char)r->dst.len;
	rtm->rtm_table = r->table && r->table < 256 ? (unsigned char)r->table : RT_TABLE_MAIN;
	rtm->rtm_protocol = r->protocol ? r->protocol : RTPROT_STATIC;
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
	if (r->onlink)
		rtm->rtm_flags |= RTNH_F_ONLINK;
	nlh = nlbatch_msg_hdr(b);
	if (r->dst.len)
		mnl_attr_put(nlh, RTA_DST, len, r->dst.ip.a);
	if (ip_is_set(&r->gw))
		mnl_attr_put(nlh, RTA_GATEWAY, len, r->gw.a);
	if (r->oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->priority);
	if (r->mtu || r->advmss) {
		struct nlattr *m = mnl_attr_nest_start(nlh, RTA_METRICS);

		if (r->mtu)
			mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		if (r->advmss)
			mnl_attr_put_u32(nlh, RTAX_ADVMSS, r->advmss);
		mnl_attr_nest_end(nlh, m);
	}
}

void route_add(struct nlbatch *b, const struct route_req *r, const char *ifname, bool exclusive)
{
	put_route(b, RTM_NEWROUTE, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), r, "add", ifname);
}

void route_replace(struct nlbatch *b, const struct route_req *r, const char *ifname)
{
	put_route(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, "replace", ifname);
}

void route_del(struct nlbatch *b, const struct route_req *r)
{
	struct route_req d = *r;

	/* The kernel matches a deletion on what it is given: the key, and the
	 * protocol so that a route of another owner with the same key stays.
	 * The scope too, unless it is RT_SCOPE_NOWHERE: a route without a
	 * gateway has link scope, and must go as well as one with. */
	d.gw = (struct rv_ip){ 0 };
	d.oif = 0;
	d.mtu = d.advmss = 0;
	d.onlink = false;
	d.scope = RT_SCOPE_NOWHERE;
	put_route(b, RTM_DELROUTE, 0, &d, "delete", NULL);
	nlbatch_ok(b, NLB_OK_NOENT);
}

static int lookup_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_info *out = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	out->found = true;
	out->dst_len = rtm->rtm_dst_len;
	out->type = rtm->rtm_type;
	out->scope = rtm->rtm_scope;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				out->oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == ip_bytes(rtm->rtm_family)) {
				out->gw.family = rtm->rtm_family;
				memcpy(out->gw.a, mnl_attr_get_payload(a), ip_bytes(rtm->rtm_family));
			}
			break;
		}
	}
	return MNL_CB_OK;
}

void route_lookup(struct nlbatch *b, const struct rv_ip *dst, struct route_info *out)
{
	char buf[IP_STRLEN];
	struct rtmsg *rtm;

	memset(out, 0, sizeof(*out));
	rtm = nlbatch_add(b, RTM_GETROUTE, 0, sizeof(*rtm), "look up the route to %s",
			   ip_fmt(dst, buf));
	rtm->rtm_family = (unsigned char)dst->family;
	rtm->rtm_dst_len = (unsigned char)ip_bits(dst->family);
	rtm->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlbatch_msg_hdr(b), RTA_DST, ip_bytes(dst->family), dst->a);
	nlbatch_ok(b, NLB_OK_UNREACH | NLB_OK_NOENT);
	nlbatch_on_reply(b, lookup_reply, out);
}

static int dump_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct route_dump *d = data;
	struct route_entry e;
	const struct nlattr *a;
	unsigned len;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	len = ip_bytes(rtm->rtm_family);
	memset(&e, 0, sizeof(e));
	e.dst.ip.family = rtm->rtm_family;
	e.dst.len = rtm->rtm_dst_len;
	e.table = rtm->rtm_table;
	e.protocol = rtm->rtm_protocol;
	e.type = rtm->rtm_type;
	e.scope = rtm->rtm_scope;
	e.onlink = rtm->rtm_flags & RTNH_F_ONLINK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) == len)
				memcpy(e.dst.ip.a, mnl_attr_get_payload(a), len);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == len) {
				e.gw.family = rtm->rtm_family;
				memcpy(e.gw.a, mnl_attr_get_payload(a), len);
			}
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				e.oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				e.table = mnl_attr_get_u32(a);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				e.priority = mnl_attr_get_u32(a);
			break;
		}
	}
	d->fn(&e, d->ctx);
	return MNL_CB_OK;
}

void route_dump(struct nlbatch *b, int family, struct route_dump *d)
{
	struct rtmsg *rtm;

	rtm = nlbatch_add(b, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm), "list the %s routes",
			   family == AF_INET ? "IPv4" : "IPv6");
	rtm->rtm_family = (unsigned char)family;
	nlbatch_on_reply(b, dump_reply, d);
}

// SPDX-License-Identifier: Apache-2.0
/* RTM_NEWROUTE and RTM_GETROUTE (RTM_F_FIB_MATCH) requests. */
#include <linux/rtnetlink.h>
#include <string.h>

#include "net/route.h"

void route_add(struct nlbatch *b, const struct route_req *r, const char *ifname, bool exclusive)
{
	char dst[IP_STRLEN], gw[IP_STRLEN];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned len = ip_bytes(r->dst.ip.family);

	rtm = nlbatch_add(b, RTM_NEWROUTE, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0),
			   sizeof(*rtm), "add route %s%s%s dev %s", prefix_fmt(&r->dst, dst),
			   ip_is_set(&r->gw) ? " via " : "", ip_is_set(&r->gw) ? ip_fmt(&r->gw, gw) : "",
			   ifname);
	rtm->rtm_family = (unsigned char)r->dst.ip.family;
	rtm->rtm_dst_len = (unsigned char)r->dst.len;
	rtm->rtm_table = r->table && r->table < 256 ? (unsigned char)r->table : RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = RTN_UNICAST;
	nlh = nlbatch_msg_hdr(b);
	if (r->dst.len)
		mnl_attr_put(nlh, RTA_DST, len, r->dst.ip.a);
	if (ip_is_set(&r->gw))
		mnl_attr_put(nlh, RTA_GATEWAY, len, r->gw.a);
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

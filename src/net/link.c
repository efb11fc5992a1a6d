// SPDX-License-Identifier: Apache-2.0
/*
 * RTM_NEWLINK/GETLINK/DELLINK requests. The veth is created from the host
 * with its peer placed in the pod by IFLA_NET_NS_FD inside VETH_INFO_PEER,
 * so the pod end never exists in the host's namespace, not even briefly.
 *
 * The peer cannot be brought up in the create message (the kernel answers
 * ENOTCONN, because the peer is configured before its partner exists, and
 * the failed attempt costs ~20 ms); link_set() does that afterwards.
 */
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "net/link.h"

void link_veth_add(struct nlbatch *b, const char *host, const uint8_t host_mac[6],
		   const char *peer, int peer_nsfd, const uint8_t *peer_mac)
{
	struct ifinfomsg *ifi, *pifi;
	struct nlattr *linkinfo, *data, *peer_nest;
	struct nlmsghdr *nlh;

	ifi = nlbatch_add(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi),
			   "create veth %s (peer %s in the pod)", host, peer);
	ifi->ifi_family = AF_UNSPEC;
	nlh = nlbatch_msg_hdr(b);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, host_mac);

	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	memset(pifi, 0, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	if (peer_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_nest_end(nlh, peer_nest);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
}

void link_vxlan_add(struct nlbatch *b, const char *name, const uint8_t mac[6], unsigned mtu,
		    const struct link_vxlan *vx)
{
	struct nlattr *linkinfo, *data;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	ifi = nlbatch_add(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi),
			   "create VXLAN device %s (VNI %u, port %u)", name, vx->vni, vx->port);
	ifi->ifi_family = AF_UNSPEC;
	nlh = nlbatch_msg_hdr(b);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, vx->vni);
	if (vx->local.family == AF_INET)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, vx->local.a);
	else if (vx->local.family == AF_INET6)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, 16, vx->local.a);
	if (vx->link > 0)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)vx->link);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(vx->port));
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, vx->learning);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
}

static void parse_vxlan(const struct nlattr *data, struct link_vxlan *vx)
{
	const struct nlattr *i;

	mnl_attr_for_each_nested(i, data) {
		unsigned len = mnl_attr_get_payload_len(i);

		switch (mnl_attr_get_type(i)) {
		case IFLA_VXLAN_ID:
			if (mnl_attr_validate(i, MNL_TYPE_U32) == 0)
				vx->vni = mnl_attr_get_u32(i);
			break;
		case IFLA_VXLAN_PORT:
			if (mnl_attr_validate(i, MNL_TYPE_U16) == 0)
				vx->port = ntohs(mnl_attr_get_u16(i));
			break;
		case IFLA_VXLAN_LEARNING:
			if (mnl_attr_validate(i, MNL_TYPE_U8) == 0)
				vx->learning = mnl_attr_get_u8(i);
			break;
		case IFLA_VXLAN_LINK:
			if (mnl_attr_validate(i, MNL_TYPE_U32) == 0)
				vx->link = (int)mnl_attr_get_u32(i);
			break;
		case IFLA_VXLAN_LOCAL:
		case IFLA_VXLAN_LOCAL6:
			if (len == 4 || len == 16) {
				vx->local.family = len == 4 ? AF_INET : AF_INET6;
				memcpy(vx->local.a, mnl_attr_get_payload(i), len);
			}
			break;
		}
	}
}

static int parse_linkinfo(const struct nlattr *a, struct link_info *out)
{
	const struct nlattr *i, *data = NULL;

	mnl_attr_for_each_nested(i, a) {
		if (mnl_attr_get_type(i) == IFLA_INFO_KIND && mnl_attr_validate(i, MNL_TYPE_STRING) == 0)
			snprintf(out->kind, sizeof(out->kind), "%.*s", (int)mnl_attr_get_payload_len(i),
				 mnl_attr_get_str(i));
		else if (mnl_attr_get_type(i) == IFLA_INFO_DATA)
			data = i;
	}
	if (data && !strcmp(out->kind, "vxlan"))
		parse_vxlan(data, &out->vxlan);
	return 0;
}

static int link_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_info *out = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	out->found = true;
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(out->name, sizeof(out->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_IFALIAS:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(out->alias, sizeof(out->alias), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6)
				memcpy(out->mac, mnl_attr_get_payload(a), 6);
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				out->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_LINK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				out->peer_ifindex = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(a, out);
			break;
		}
	}
	return MNL_CB_OK;
}

void link_get(struct nlbatch *b, int ifindex, const char *name, struct link_info *out)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	memset(out, 0, sizeof(*out));
	ifi = nlbatch_add(b, RTM_GETLINK, 0, sizeof(*ifi), "read link %s",
			   name ? name : "(by index)");
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex > 0 ? ifindex : 0;
	nlh = nlbatch_msg_hdr(b);
	if (ifindex <= 0)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Statistics are most of a link dump's bytes and never needed here. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	nlbatch_ok(b, NLB_OK_NOENT);
	nlbatch_on_reply(b, link_reply, out);
}

void link_set(struct nlbatch *b, int ifindex, const char *name, const struct link_conf *c)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	ifi = nlbatch_add(b, RTM_NEWLINK, 0, sizeof(*ifi), "configure %s%s", name,
			   c->up ? " and bring it up" : "");
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex > 0 ? ifindex : 0;
	if (ifindex <= 0)
		mnl_attr_put_strz(nlbatch_msg_hdr(b), IFLA_IFNAME, name);
	if (c->up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	nlh = nlbatch_msg_hdr(b);
	if (c->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
	if (c->alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, c->alias);
	if (c->ipv4_router || c->ipv6_no_auto_ll) {
		struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC), *af, *conf;

		if (c->ipv4_router) {
			af = mnl_attr_nest_start(nlh, AF_INET);
			conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
			/* The host end routes for the pod: forward its packets,
			 * answer ARP for the gateway (proxy ARP is the second path
			 * to 169.254.1.1, the pod's permanent entry the first), and
			 * drop packets whose source the pod does not own. */
			mnl_attr_put_u32(nlh, IPV4_DEVCONF_FORWARDING, 1);
			mnl_attr_put_u32(nlh, IPV4_DEVCONF_PROXY_ARP, 1);
			mnl_attr_put_u32(nlh, IPV4_DEVCONF_RP_FILTER, 1);
			mnl_attr_nest_end(nlh, conf);
			mnl_attr_nest_end(nlh, af);
		}
		if (c->ipv6_no_auto_ll) {
			af = mnl_attr_nest_start(nlh, AF_INET6);
			mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
			mnl_attr_nest_end(nlh, af);
		}
		mnl_attr_nest_end(nlh, spec);
	}
}

void link_del(struct nlbatch *b, int ifindex, const char *name)
{
	struct ifinfomsg *ifi;

	ifi = nlbatch_add(b, RTM_DELLINK, 0, sizeof(*ifi), "delete link %s", name);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex > 0 ? ifindex : 0;
	if (ifindex <= 0)
		mnl_attr_put_strz(nlbatch_msg_hdr(b), IFLA_IFNAME, name);
	nlbatch_ok(b, NLB_OK_NOENT);
}

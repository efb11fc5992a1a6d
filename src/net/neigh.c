// SPDX-License-Identifier: Apache-2.0
/* RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH (dumps) and RTM_SETNEIGHTBL
 * requests. */
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <string.h>

#include "net/neigh.h"

void neigh_add_permanent(struct nlbatch *b, int ifindex, const char *ifname,
			 const struct rv_ip *ip, const uint8_t mac[6])
{
	char buf[IP_STRLEN];
	struct ndmsg *nd;
	struct nlmsghdr *nlh;

	nd = nlbatch_add(b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*nd),
			  "add neighbour %s on %s", ip_fmt(ip, buf), ifname);
	nd->ndm_family = (unsigned char)ip->family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	nlh = nlbatch_msg_hdr(b);
	mnl_attr_put(nlh, NDA_DST, ip_bytes(ip->family), ip->a);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
}

void neigh_proxy_delay(struct nlbatch *b, int ifindex, const char *ifname, unsigned ms)
{
	struct ndtmsg *ndt;
	struct nlattr *parms;
	struct nlmsghdr *nlh;

	ndt = nlbatch_add(b, RTM_SETNEIGHTBL, 0, sizeof(*ndt), "set ARP proxy_delay on %s", ifname);
	ndt->ndtm_family = AF_INET;
	nlh = nlbatch_msg_hdr(b);
	mnl_attr_put_strz(nlh, NDTA_NAME, "arp_cache");
	parms = mnl_attr_nest_start(nlh, NDTA_PARMS);
	mnl_attr_put_u32(nlh, NDTPA_IFINDEX, (uint32_t)ifindex);
	mnl_attr_put_u64(nlh, NDTPA_PROXY_DELAY, ms);
	mnl_attr_nest_end(nlh, parms);
}

void neigh_fdb_add(struct nlbatch *b, int ifindex, const char *ifname, const uint8_t mac[6],
		   const struct rv_ip *dst)
{
	char buf[IP_STRLEN];
	struct ndmsg *nd;
	struct nlmsghdr *nlh;

	nd = nlbatch_add(b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*nd),
			  "add %02x:%02x:%02x:%02x:%02x:%02x dst %s to the forwarding database of %s",
			  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], ip_fmt(dst, buf), ifname);
	nd->ndm_family = AF_BRIDGE;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	nd->ndm_flags = NTF_SELF;
	nlh = nlbatch_msg_hdr(b);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	mnl_attr_put(nlh, NDA_DST, ip_bytes(dst->family), dst->a);
}

void neigh_del(struct nlbatch *b, int family, int ifindex, const char *ifname, const struct rv_ip *ip,
	       const uint8_t *mac)
{
	char buf[IP_STRLEN];
	struct ndmsg *nd;
	struct nlmsghdr *nlh;

	nd = nlbatch_add(b, RTM_DELNEIGH, 0, sizeof(*nd), "delete %s %s on %s",
			  family == AF_BRIDGE ? "forwarding entry to" : "neighbour",
			  ip && ip_is_set(ip) ? ip_fmt(ip, buf) : "-", ifname);
	nd->ndm_family = (unsigned char)family;
	nd->ndm_ifindex = ifindex;
	nlh = nlbatch_msg_hdr(b);
	if (family == AF_BRIDGE) {
		nd->ndm_flags = NTF_SELF;
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	}
	if (ip && ip_is_set(ip))
		mnl_attr_put(nlh, NDA_DST, ip_bytes(ip->family), ip->a);
	nlbatch_ok(b, NLB_OK_NOENT);
}

static int dump_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct neigh_dump *d = data;
	struct neigh_entry e;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || (d->ifindex && nd->ndm_ifindex != d->ifindex))
		return MNL_CB_OK;
	memset(&e, 0, sizeof(e));
	e.family = nd->ndm_family;
	e.ifindex = nd->ndm_ifindex;
	e.state = nd->ndm_state;
	e.flags = nd->ndm_flags;
	mnl_attr_for_each(a, nlh, sizeof(*nd)) {
		unsigned len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case NDA_DST:
			if (len == 4 || len == 16) {
				e.ip.family = len == 4 ? AF_INET : AF_INET6;
				memcpy(e.ip.a, mnl_attr_get_payload(a), len);
			}
			break;
		case NDA_LLADDR:
			if (len == 6) {
				memcpy(e.mac, mnl_attr_get_payload(a), 6);
				e.has_mac = true;
			}
			break;
		}
	}
	d->fn(&e, d->ctx);
	return MNL_CB_OK;
}

void neigh_dump(struct nlbatch *b, int family, struct neigh_dump *d)
{
	struct ndmsg *nd;

	nd = nlbatch_add(b, RTM_GETNEIGH, NLM_F_DUMP, sizeof(*nd), "list the %s",
			  family == AF_BRIDGE ? "forwarding database" : "neighbours");
	nd->ndm_family = (unsigned char)family;
	nlbatch_on_reply(b, dump_reply, d);
}

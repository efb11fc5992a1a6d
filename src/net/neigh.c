// SPDX-License-Identifier: Apache-2.0
/* RTM_NEWNEIGH and RTM_SETNEIGHTBL requests. */
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
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

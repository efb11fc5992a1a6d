// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel floor of rivetd's route work: what it costs the kernel alone
 * to install routes to N other nodes, with nothing else done (no etcd, no
 * JSON, no diff), sent the way rivetd sends them: batches of 60 requests,
 * one sendmsg and one acknowledgement each.
 *
 *   routes_floor direct N    N routes 198.18.x.y/26 via 198.19.a.b (on-link)
 *   routes_floor vxlan N     a VXLAN device, and per node a route via its
 *                            VTEP address (onlink), a permanent neighbour
 *                            and a forwarding database entry
 *
 * Prints the milliseconds it took. Run it in a fresh network namespace
 * whose link holds 198.19.255.254/16 (bench/cluster.sh makes one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_BATCH 60

static struct mnl_socket *nl;
static char buf[65536];
static size_t len;
static unsigned n_req;
static uint32_t seq;

static struct nlmsghdr *put(uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++seq;
	return nlh;
}

static void done(struct nlmsghdr *nlh)
{
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	n_req++;
}

static void flush(void)
{
	char rb[16384];
	struct nlmsghdr *last = NULL;
	uint32_t want;

	if (!n_req)
		return;
	for (size_t off = 0; off < len; off += NLMSG_ALIGN(last->nlmsg_len))
		last = (struct nlmsghdr *)(buf + off);
	last->nlmsg_flags |= NLM_F_ACK;
	want = last->nlmsg_seq;
	if (mnl_socket_sendto(nl, buf, len) < 0) {
		perror("sendto");
		exit(1);
	}
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(nl, rb, sizeof(rb));
		const struct nlmsghdr *h = (const struct nlmsghdr *)rb;
		int left = (int)r;

		if (r < 0) {
			perror("recv");
			exit(1);
		}
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (e->error) {
				fprintf(stderr, "request %u: %s\n", h->nlmsg_seq, strerror(-e->error));
				exit(1);
			}
			if (h->nlmsg_seq == want) {
				len = 0;
				n_req = 0;
				return;
			}
		}
	}
}

static void room(void)
{
	if (n_req >= PER_BATCH)
		flush();
}

/* Node i's range and addresses, as bench/cluster.sh writes them. */
static void node(unsigned i, uint8_t range[4], uint8_t ip[4])
{
	uint32_t r = 0xc6120000u + (i << 6), a = 0xc6130000u + i + 1;	/* 198.18/15 by /26; 198.19.0.0/16 */

	r = htonl(r);
	a = htonl(a);
	memcpy(range, &r, 4);
	memcpy(ip, &a, 4);
}

static void route(const uint8_t dst[4], const uint8_t gw[4], int oif, bool onlink)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	room();
	nlh = put(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	memset(rtm, 0, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 26;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = 92;
	rtm->rtm_type = RTN_UNICAST;
	if (onlink)
		rtm->rtm_flags = RTNH_F_ONLINK;
	mnl_attr_put(nlh, RTA_DST, 4, dst);
	mnl_attr_put(nlh, RTA_GATEWAY, 4, gw);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	done(nlh);
}

static void neigh(int family, int ifindex, const uint8_t *ip, const uint8_t mac[6], bool fdb)
{
	struct nlmsghdr *nlh;
	struct ndmsg *nd;

	room();
	nlh = put(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	memset(nd, 0, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	if (fdb)
		nd->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	mnl_attr_put(nlh, NDA_DST, 4, ip);
	done(nlh);
}

static int make_vxlan(void)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *li, *data;
	uint8_t local[4] = { 198, 19, 255, 254 };

	nlh = put(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	memset(ifi, 0, sizeof(*ifi));
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "floor.vxlan");
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, 1);
	mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, local);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(4789));
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	done(nlh);
	flush();
	return (int)if_nametoindex("floor.vxlan");
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	bool vxlan;
	unsigned n;
	int vx = 0;

	if (argc != 3 || (strcmp(argv[1], "direct") && strcmp(argv[1], "vxlan"))) {
		fprintf(stderr, "usage: routes_floor direct|vxlan N\n");
		return 2;
	}
	vxlan = !strcmp(argv[1], "vxlan");
	n = (unsigned)strtoul(argv[2], NULL, 10);
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (vxlan && (vx = make_vxlan()) <= 0) {
		fprintf(stderr, "no VXLAN device\n");
		return 1;
	}
	for (unsigned i = 1; i <= n; i++) {
		uint8_t range[4], ip[4], mac[6] = { 0x0e, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };

		node(i, range, ip);
		if (vxlan) {
			neigh(AF_INET, vx, range, mac, false);
			neigh(AF_BRIDGE, vx, ip, mac, true);
			route(range, range, vx, true);
		} else {
			route(range, ip, 0, false);
		}
	}
	flush();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.2f\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	mnl_socket_close(nl);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel floor: a CNI plugin that does only the kernel work of rivet's
 * ADD and DEL, so that "how much does rivet cost beyond what it asks of the
 * kernel" is a measured number. It owns nothing of rivet and shares no code
 * with it; it is run by bench/driver.c exactly like rivet and ptp.
 *
 * ADD, one netlink request at a time (send, wait for the answer):
 *   host   veth (peer made in the pod by IFLA_NET_NS_FD, named CNI_IFNAME),
 *          read the host end, alias + MTU + IPv4 forwarding/proxy_arp/
 *          rp_filter, ARP proxy_delay 0, up, podIP/32 route, read forwarding
 *   pod    a socket made inside the pod (setns there and back), lo up,
 *          podIP/32 without DAD, MTU + up, permanent neighbour for the
 *          gateway, gateway /32 route, default route, read the pod end's MAC
 * plus one reservation file ("id\r\nifname", O_CREAT|O_EXCL) and
 * last_reserved_ip.0, in host-local's format (written in place; built with
 * -DFLOOR_OTRUNC=1 it truncates the file first, as host-local and rivet do).
 * DEL: unlink the reservation named in prevResult, delete the host end.
 *
 * What it leaves out on purpose: JSON parsing (a few strstr calls stand in),
 * locking, undo on failure, any library but glibc. IPv4 only; the address is
 * the next free one after last_reserved_ip (O_EXCL settles races between
 * parallel ADDs, so no lock is needed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_MAC "\xee\xee\xee\xee\xee\xee"
#define GW4 "169.254.1.1"
#define MSG_MAX 1024

struct msg {
	struct nlmsghdr h;
	char body[MSG_MAX];
};

struct nl {
	int fd;
	uint32_t seq;
};

static void die(const char *what, int e)
{
	printf("{\"code\":100,\"msg\":\"floor: %s: %s\"}\n", what, strerror(e));
	exit(1);
}

/* --- message building ------------------------------------------------ */

static void *msg_init(struct msg *m, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(m, 0, sizeof(m->h) + NLMSG_ALIGN(hdrlen));
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | flags;
	m->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
	return NLMSG_DATA(&m->h);
}

static struct rtattr *attr(struct msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)&m->h + NLMSG_ALIGN(m->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void attr_u32(struct msg *m, unsigned short type, uint32_t v)
{
	attr(m, type, &v, sizeof(v));
}

static void attr_str(struct msg *m, unsigned short type, const char *s)
{
	attr(m, type, s, strlen(s) + 1);
}

static struct rtattr *nest(struct msg *m, unsigned short type)
{
	return attr(m, type, NULL, 0);
}

static void nest_end(struct msg *m, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)&m->h + m->h.nlmsg_len - (char *)a);
}

/* --- one request, one answer ----------------------------------------- */

/* Send @m and read until its answer: the ACK (0 or -errno), or for a GET
 * (sent without NLM_F_ACK, so the reply is the only answer) the reply,
 * copied into @reply. */
static int talk(struct nl *nl, struct msg *m, char *reply, size_t reply_len)
{
	char buf[8192] __attribute__((aligned(8)));
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	m->h.nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, &m->h, m->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h; off + sizeof(*h) <= (size_t)n; off += NLMSG_ALIGN(h->nlmsg_len)) {
			h = (struct nlmsghdr *)(buf + off);
			if (h->nlmsg_len < sizeof(*h) || off + h->nlmsg_len > (size_t)n)
				break;
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (reply && h->nlmsg_len <= reply_len)
				memcpy(reply, h, h->nlmsg_len);
			return 0;
		}
	}
}

static void must(int r, const char *what)
{
	if (r < 0)
		die(what, -r);
}

static void nl_open(struct nl *nl)
{
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		die("netlink socket", errno);
	nl->seq = (uint32_t)getpid() << 12;
}

/* --- the pieces of ADD ------------------------------------------------ */

static void link_up(struct nl *nl, int ifindex, unsigned mtu, const char *what)
{
	struct msg m;
	struct ifinfomsg *ifi = msg_init(&m, RTM_NEWLINK, NLM_F_ACK, sizeof(*ifi));

	ifi->ifi_index = ifindex;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	if (mtu)
		attr_u32(&m, IFLA_MTU, mtu);
	must(talk(nl, &m, NULL, 0), what);
}

/* RTM_GETLINK: the link's index, its IFLA_LINK (a veth's peer) and MAC. */
static void link_get(struct nl *nl, int ifindex, const char *name, int *idx, int *peer,
		     unsigned char mac[6])
{
	char reply[4096] __attribute__((aligned(8)));
	struct nlmsghdr *h = (struct nlmsghdr *)reply;
	struct msg m;
	struct ifinfomsg *ifi = msg_init(&m, RTM_GETLINK, 0, sizeof(*ifi));
	struct rtattr *a;
	int len;

	ifi->ifi_index = ifindex;
	if (name)
		attr_str(&m, IFLA_IFNAME, name);
	attr_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	must(talk(nl, &m, reply, sizeof(reply)), "read link");
	ifi = NLMSG_DATA(h);
	*idx = ifi->ifi_index;
	len = (int)IFLA_PAYLOAD(h);
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_LINK && peer)
			*peer = (int)*(uint32_t *)RTA_DATA(a);
		if (a->rta_type == IFLA_ADDRESS && mac && RTA_PAYLOAD(a) == 6)
			memcpy(mac, RTA_DATA(a), 6);
	}
}

static void route_add(struct nl *nl, const struct in_addr *dst, int dst_len,
		      const struct in_addr *gw, int oif, unsigned char scope, const char *what)
{
	struct msg m;
	struct rtmsg *rtm = msg_init(&m, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
				     sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = scope;
	rtm->rtm_type = RTN_UNICAST;
	if (dst_len)
		attr(&m, RTA_DST, dst, 4);
	if (gw)
		attr(&m, RTA_GATEWAY, gw, 4);
	attr_u32(&m, RTA_OIF, (uint32_t)oif);
	must(talk(nl, &m, NULL, 0), what);
}

static void host_side(struct nl *nl, const char *host, const char *pod_if, int nsfd,
		      const char *alias, unsigned mtu, const struct in_addr *ip, int *pod_index)
{
	char reply[512] __attribute__((aligned(8)));
	struct rtattr *li, *data, *peer, *spec, *af, *conf, *parms;
	struct ifinfomsg *ifi, *pifi;
	struct netconfmsg *ncm;
	struct ndtmsg *ndt;
	struct msg m;
	uint64_t zero = 0;
	int idx;

	ifi = msg_init(&m, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	attr_str(&m, IFLA_IFNAME, host);
	attr(&m, IFLA_ADDRESS, HOST_MAC, 6);
	li = nest(&m, IFLA_LINKINFO);
	attr_str(&m, IFLA_INFO_KIND, "veth");
	data = nest(&m, IFLA_INFO_DATA);
	peer = nest(&m, VETH_INFO_PEER);
	pifi = (struct ifinfomsg *)((char *)&m.h + m.h.nlmsg_len);
	memset(pifi, 0, sizeof(*pifi));
	m.h.nlmsg_len += (uint32_t)NLMSG_ALIGN(sizeof(*pifi));
	attr_str(&m, IFLA_IFNAME, pod_if);
	attr_u32(&m, IFLA_NET_NS_FD, (uint32_t)nsfd);
	nest_end(&m, peer);
	nest_end(&m, data);
	nest_end(&m, li);
	must(talk(nl, &m, NULL, 0), "create veth");

	link_get(nl, 0, host, &idx, pod_index, NULL);

	ifi = msg_init(&m, RTM_NEWLINK, NLM_F_ACK, sizeof(*ifi));
	ifi->ifi_index = idx;
	attr_str(&m, IFLA_IFALIAS, alias);
	attr_u32(&m, IFLA_MTU, mtu);
	spec = nest(&m, IFLA_AF_SPEC);
	af = nest(&m, AF_INET);
	conf = nest(&m, IFLA_INET_CONF);
	attr_u32(&m, IPV4_DEVCONF_FORWARDING, 1);
	attr_u32(&m, IPV4_DEVCONF_PROXY_ARP, 1);
	attr_u32(&m, IPV4_DEVCONF_RP_FILTER, 1);
	nest_end(&m, conf);
	nest_end(&m, af);
	nest_end(&m, spec);
	must(talk(nl, &m, NULL, 0), "configure host end");

	ndt = msg_init(&m, RTM_SETNEIGHTBL, NLM_F_ACK, sizeof(*ndt));
	ndt->ndtm_family = AF_INET;
	attr_str(&m, NDTA_NAME, "arp_cache");
	parms = nest(&m, NDTA_PARMS);
	attr_u32(&m, NDTPA_IFINDEX, (uint32_t)idx);
	attr(&m, NDTPA_PROXY_DELAY, &zero, sizeof(zero));
	nest_end(&m, parms);
	must(talk(nl, &m, NULL, 0), "proxy_delay");

	link_up(nl, idx, 0, "host end up");
	route_add(nl, ip, 32, NULL, idx, RT_SCOPE_LINK, "host route");

	ncm = msg_init(&m, RTM_GETNETCONF, 0, sizeof(*ncm));
	ncm->ncm_family = AF_INET;
	attr_u32(&m, NETCONFA_IFINDEX, (uint32_t)NETCONFA_IFINDEX_ALL);
	must(talk(nl, &m, reply, sizeof(reply)), "read forwarding");
	{
		struct nlmsghdr *h = (struct nlmsghdr *)reply;
		int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct netconfmsg));
		struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) +
						     NLMSG_ALIGN(sizeof(struct netconfmsg)));

		for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			if (a->rta_type == NETCONFA_FORWARDING && !*(int32_t *)RTA_DATA(a)) {
				/* As rivet: written only when off. */
				int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);

				if (fd < 0 || write(fd, "1", 1) != 1)
					die("ip_forward", errno);
				close(fd);
			}
		}
	}
}

static void pod_side(int nsfd, int idx, unsigned mtu, const struct in_addr *ip,
		     unsigned char mac[6])
{
	struct in_addr gw, any = { 0 };
	struct ifaddrmsg *ifa;
	struct ndmsg *nd;
	struct msg m;
	struct nl nl;
	int self, r;

	/* The socket is made inside the pod and keeps working there after
	 * the process goes back. */
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		die("enter the pod", errno);
	nl_open(&nl);
	r = setns(self, CLONE_NEWNET);
	if (r < 0)
		die("return from the pod", errno);
	close(self);

	link_up(&nl, 1, 0, "lo up");

	ifa = msg_init(&m, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_flags = IFA_F_NODAD;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)idx;
	attr(&m, IFA_LOCAL, ip, 4);
	attr(&m, IFA_ADDRESS, ip, 4);
	must(talk(&nl, &m, NULL, 0), "pod address");

	link_up(&nl, idx, mtu, "pod end up");

	inet_pton(AF_INET, GW4, &gw);
	nd = msg_init(&m, RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, sizeof(*nd));
	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = idx;
	nd->ndm_state = NUD_PERMANENT;
	attr(&m, NDA_DST, &gw, 4);
	attr(&m, NDA_LLADDR, HOST_MAC, 6);
	must(talk(&nl, &m, NULL, 0), "gateway neighbour");

	route_add(&nl, &gw, 32, NULL, idx, RT_SCOPE_LINK, "gateway route");
	route_add(&nl, &any, 0, &gw, idx, RT_SCOPE_UNIVERSE, "default route");
	link_get(&nl, idx, NULL, &idx, NULL, mac);
	close(nl.fd);
}

/* --- the reservation ---------------------------------------------------- */

/* The string value of "key" after @from, into @out; "" when absent. */
static void json_str(const char *from, const char *key, char *out, size_t len)
{
	const char *p = from ? strstr(from, key) : NULL, *end;

	out[0] = '\0';
	if (!p || !(p = strchr(p + strlen(key), '"')) || !(end = strchr(p + 1, '"')) ||
	    (size_t)(end - p - 1) >= len)
		return;
	memcpy(out, p + 1, (size_t)(end - p - 1));
	out[end - p - 1] = '\0';
}

static void reserve(const char *dir, const char *subnet, const char *id, const char *ifname,
		    struct in_addr *out)
{
	char path[4200], content[512], last[32], *slash;
	struct in_addr base;
	uint32_t a, top;
	int fd, len, plen;
	ssize_t n;

	slash = strchr(subnet, '/');
	if (!slash)
		die("ipam subnet", EINVAL);
	*slash = '\0';
	plen = atoi(slash + 1);
	if (inet_pton(AF_INET, subnet, &base) != 1 || plen < 8 || plen > 30)
		die("ipam subnet", EINVAL);
	a = ntohl(base.s_addr) + 1;	/* .1 is the range's gateway: skipped */
	top = ntohl(base.s_addr) | ((1u << (32 - plen)) - 1);

	snprintf(path, sizeof(path), "%s/last_reserved_ip.0", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, last, sizeof(last) - 1);
		close(fd);
		if (n > 0) {
			last[n] = '\0';
			if (inet_pton(AF_INET, last, &base) == 1)
				a = ntohl(base.s_addr);
		}
	} else if (errno == ENOENT) {
		/* The first ADD makes the store (dataDir, then dataDir/name),
		 * as host-local does. */
		slash = strrchr(dir, '/');
		*slash = '\0';
		(void)mkdir(dir, 0755);
		*slash = '/';
		(void)mkdir(dir, 0755);
	}
	len = snprintf(content, sizeof(content), "%s\r\n%s", id, ifname);
	for (;;) {
		if (++a >= top)
			die("range exhausted", ENOSPC);
		out->s_addr = htonl(a);
		snprintf(path, sizeof(path), "%s/%s", dir, inet_ntoa(*out));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			die("reservation", errno);
	}
	if (write(fd, content, (size_t)len) != len)
		die("reservation", errno);
	close(fd);
	snprintf(path, sizeof(path), "%s/last_reserved_ip.0", dir);
	len = (int)strlen(inet_ntoa(*out));
#if FLOOR_OTRUNC
	/* As host-local and rivet write it. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, inet_ntoa(*out), (size_t)len) != len)
		die("last_reserved_ip", errno);
#else
	/* Overwritten in place, then cut to length. Truncating to zero
	 * (O_TRUNC) makes ext4 and XFS start writeback at close(), and the
	 * next truncation waits for it: about a millisecond per ADD that is
	 * not the kernel work an ADD needs. The result is the same file. */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || pwrite(fd, inet_ntoa(*out), (size_t)len, 0) != len || ftruncate(fd, len) < 0)
		die("last_reserved_ip", errno);
#endif
	close(fd);
}

/* --- main ----------------------------------------------------------------- */

static void host_name(const char *id, const char *ifname, char out[16])
{
	uint64_t h = 0xcbf29ce484222325ull;

	/* FNV-1a over "id\0ifname": stable, so DEL finds what ADD made. */
	for (const char *p = id;; p++) {
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
		if (!*p)
			break;
	}
	for (const char *p = ifname; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	snprintf(out, 16, "rvt%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

int main(void)
{
	static char conf[65536];
	char dir[4096], name[256], subnet[64], ver[16], alias[256], host[16], ip_s[32], path[4400];
	const char *cmd = getenv("CNI_COMMAND"), *id = getenv("CNI_CONTAINERID");
	const char *netns = getenv("CNI_NETNS"), *ifname = getenv("CNI_IFNAME");
	unsigned char mac[6];
	struct in_addr ip;
	size_t len = 0;
	ssize_t n;
	struct nl nl;
	struct msg m;
	int nsfd, pod_index = 0;

	if (!cmd || !strcmp(cmd, "VERSION")) {
		printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}\n");
		return 0;
	}
	while (len < sizeof(conf) - 1 && (n = read(0, conf + len, sizeof(conf) - 1 - len)) > 0)
		len += (size_t)n;
	conf[len] = '\0';
	if (!id || !ifname)
		die("CNI_CONTAINERID and CNI_IFNAME are required", EINVAL);
	json_str(conf, "\"dataDir\"", dir, sizeof(dir) - 300);
	json_str(conf, "\"name\"", name, sizeof(name));
	if (!dir[0] || !name[0] || strchr(name, '/'))
		die("ipam.dataDir and name are required", EINVAL);
	snprintf(dir + strlen(dir), 300, "/%s", name);
	host_name(id, ifname, host);

	if (!strcmp(cmd, "DEL")) {
		json_str(strstr(conf, "\"prevResult\""), "\"address\"", ip_s, sizeof(ip_s));
		if (strchr(ip_s, '/')) {
			*strchr(ip_s, '/') = '\0';
			snprintf(path, sizeof(path), "%s/%s", dir, ip_s);
			if (unlink(path) < 0 && errno != ENOENT)
				die("release", errno);
		}
		nl_open(&nl);
		msg_init(&m, RTM_DELLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
		attr_str(&m, IFLA_IFNAME, host);
		n = talk(&nl, &m, NULL, 0);
		if (n < 0 && n != -ENODEV)
			die("delete link", (int)-n);
		return 0;
	}
	if (strcmp(cmd, "ADD"))
		return 0;

	json_str(conf, "\"cniVersion\"", ver, sizeof(ver));
	json_str(conf, "\"subnet\"", subnet, sizeof(subnet));
	nsfd = netns ? open(netns, O_RDONLY | O_CLOEXEC) : -1;
	if (nsfd < 0)
		die("CNI_NETNS", errno);
	reserve(dir, subnet, id, ifname, &ip);
	/* IFALIASZ is 256 with the NUL; rivet truncates the same way. */
	snprintf(alias, sizeof(alias), "rivet %.100s %.15s %.120s", id, ifname, name);

	/* The benchmark's configs all say "mtu":1500; rivet then skips its
	 * route lookups for the MTU, so neither does the floor. */
	nl_open(&nl);
	host_side(&nl, host, ifname, nsfd, alias, 1500, &ip, &pod_index);
	pod_side(nsfd, pod_index, 1500, &ip, mac);
	printf("{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"%s\",\"mac\":\"ee:ee:ee:ee:ee:ee\"},"
	       "{\"name\":\"%s\",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"sandbox\":\"%s\"}],"
	       "\"ips\":[{\"interface\":1,\"address\":\"%s/32\",\"gateway\":\"" GW4 "\"}],"
	       "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"" GW4 "\"}]}\n",
	       ver[0] ? ver : "1.0.0", host, ifname, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
	       netns, inet_ntoa(ip));
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Table inet rivet (see net/masq.h for what it holds): libnftnl builds the
 * objects, libmnl carries them. Every change is one nftables transaction
 * (BATCH_BEGIN .. END), which the kernel applies whole or not at all.
 *
 * Knowing the table is right costs one read. The state set has an element
 * per network whose comment is a digest of everything the network's config
 * puts in the table (ipMasq, the merged kept destinations, the layout of the
 * table itself); the transaction that builds or changes the network's part
 * writes that element last. So an ADD looks the element up (one request, one
 * reply) and sends nothing more when its comment is the one its config gives.
 * Otherwise (the first ADD on a node, a changed ipMasq or ipMasqExclude, a
 * deleted table or a flushed ruleset) it sends the one transaction that makes
 * the network's part and the node's anti-spoof chain what they should be.
 *
 * That transaction replaces what it owns whole instead of looking first:
 * a chain is created if missing, flushed and filled; a set that must not
 * exist is created if missing and deleted (nftables has no "delete if
 * present" before Linux 6.3, and a failed step fails the transaction). So
 * any number of ADDs racing to do it, in any order, leave the same table,
 * with one rule of each kind. Only the pod sets are never flushed: they
 * hold the live pods, which the caller refills after a rebuild.
 *
 * The destination sets are interval sets; their prefixes are merged into
 * disjoint intervals first, because the kernel refuses overlapping ones
 * (a pod range inside an excluded cluster CIDR is the usual case).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/masq.h"
#include "net/nlbatch.h"

/* What the table holds for a config; part of every state digest, so a
 * rivet that builds the table differently rebuilds it on its first ADD. */
#define LAYOUT 2
#define CHAIN_ANTISPOOF "antispoof"
#define SET_STATE "state"
/* rivet 0.1 put every network's masquerade rules in this one chain. */
#define LEGACY_CHAIN "postrouting"
#define LEGACY_MAX 64
#define NFT_TYPE_IPADDR 7	/* nft's datatype ids, so `nft list` prints them */
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_MARK 19
#define NF_PRIO_RAW (-300)
#define NF_PRIO_SRCNAT 100
/* No reply from the kernel within this is an error, not a hang. */
#define RECV_TIMEOUT_MS 10000
/* Racing rebuilds can delete each other's legacy rules first; the loser
 * reads again and retries. */
#define REBUILD_TRIES 4

struct txn {
	struct nlconn nl;
	char *buf;
	size_t cap;
	struct mnl_nlmsg_batch *mb;
	unsigned ops;
	uint32_t begin_seq;	/* the BATCH_BEGIN's */
	uint32_t first_seq;	/* the first operation's */
	char ext[160];
};

static int txn_open(struct txn *t, size_t n_elems, struct rv_err *err)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->cap = 16384 + n_elems * 64;
	/* Zeroed: libmnl leaves attribute padding as it finds it, and the
	 * kernel should not be handed stale bytes (valgrind says so). */
	t->buf = calloc(1, t->cap);
	if (!t->buf)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	r = nlconn_open(&t->nl, NETLINK_NETFILTER, -1, err);
	if (r < 0) {
		free(t->buf);
		t->buf = NULL;
	}
	return r;
}

static void txn_close(struct txn *t)
{
	if (t->mb)
		mnl_nlmsg_batch_stop(t->mb);
	nlconn_close(&t->nl);
	free(t->buf);
}

static void txn_begin(struct txn *t)
{
	if (t->mb)
		mnl_nlmsg_batch_stop(t->mb);
	t->mb = mnl_nlmsg_batch_start(t->buf, t->cap);
	t->ops = 0;
	t->begin_seq = t->nl.seq;
	nftnl_batch_begin(mnl_nlmsg_batch_current(t->mb), t->nl.seq++);
	mnl_nlmsg_batch_next(t->mb);
	t->first_seq = t->nl.seq;
}

static struct nlmsghdr *txn_msg(struct txn *t, uint16_t type, uint16_t flags)
{
	t->ops++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(t->mb), type, NFPROTO_INET,
				     flags | NLM_F_ACK, t->nl.seq++);
}

static void txn_next(struct txn *t)
{
	mnl_nlmsg_batch_next(t->mb);
}

static void txn_ext_ack(struct txn *t, const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_for_each(a, nlh, sizeof(struct nlmsgerr))
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(t->ext, sizeof(t->ext), "%s", mnl_attr_get_str(a));
}

/* Send the transaction and wait for every operation's answer. Returns 0
 * or the first error (-errno); the kernel's words land in t->ext.
 *
 * A transaction the kernel refuses whole (EPERM without CAP_NET_ADMIN,
 * EOPNOTSUPP without nf_tables, ENOMEM) is answered once, for its
 * BATCH_BEGIN, and no operation is answered at all: that answer ends the
 * wait. The socket's receive timeout (nlbatch.h) bounds it otherwise. */
static int txn_commit(struct txn *t)
{
	char buf[8192] __attribute__((aligned(8)));
	unsigned answered = 0;
	int first = 0;

	nftnl_batch_end(mnl_nlmsg_batch_current(t->mb), t->nl.seq++);
	mnl_nlmsg_batch_next(t->mb);
	if (mnl_socket_sendto(t->nl.sock, mnl_nlmsg_batch_head(t->mb), mnl_nlmsg_batch_size(t->mb)) < 0)
		return -errno;
	while (answered < t->ops) {
		ssize_t len = mnl_socket_recvfrom(t->nl.sock, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)len;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (first)
				return first;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_seq == t->begin_seq && e->error) {
				/* Refused whole: nothing else will be answered. */
				txn_ext_ack(t, nlh);
				return e->error;
			}
			if (nlh->nlmsg_seq < t->first_seq)
				continue;
			answered++;
			if (!e->error || first)
				continue;
			first = e->error;
			txn_ext_ack(t, nlh);
		}
	}
	return first;
}

/* One receive, waiting at most RECV_TIMEOUT_MS. */
static ssize_t recv_bounded(struct txn *t, void *buf, size_t len)
{
	struct pollfd p = { .fd = mnl_socket_get_fd(t->nl.sock), .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, RECV_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = mnl_socket_recvfrom(t->nl.sock, buf, len);
	return n < 0 ? -errno : n;
}

/* Send the request @nlh and hand each reply to it (by sequence number) to
 * @each, which returns 1 for more, 0 when the answer is complete, or
 * -errno; ask() returns what ends it. The buffer holds a dump's batch of
 * messages (the kernel fills up to 16 kB). */
static int ask(struct txn *t, const struct nlmsghdr *nlh,
	       int (*each)(const struct nlmsghdr *m, void *data), void *data)
{
	char buf[16384] __attribute__((aligned(8)));
	uint32_t seq = nlh->nlmsg_seq;

	if (mnl_socket_sendto(t->nl.sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv_bounded(t, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0)
			return (int)n;
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			int r;

			if (m->nlmsg_seq != seq)
				continue;	/* a late answer to an earlier request */
			r = each(m, data);
			if (r <= 0)
				return r;
		}
	}
}

/* The errno of an NLMSG_ERROR message; 0 for an acknowledgement. */
static int reply_error(const struct nlmsghdr *m)
{
	return ((const struct nlmsgerr *)mnl_nlmsg_get_payload(m))->error;
}

static void set_name(char *buf, size_t len, const char *network, const char *what, int family)
{
	snprintf(buf, len, "%s-%s%d", network, what, family == AF_INET ? 4 : 6);
}

static void chain_name(char *buf, size_t len, const char *network)
{
	snprintf(buf, len, "%s-masq", network);
}

static struct nftnl_set *set_named(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, MASQ_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

static struct nftnl_set *set_ref(const char *network, const char *what, int family)
{
	char name[256];

	set_name(name, sizeof(name), network, what, family);
	return set_named(name);
}

static int put_elem(struct nftnl_set *s, const void *key, size_t len, uint32_t flags)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)len);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	nftnl_set_elem_add(s, e);
	return 0;
}

/* One NEWSETELEM/DELSETELEM for the addresses of @family; none: no message,
 * unless @flush (a DELSETELEM without elements empties the set). */
static int pod_elems(struct txn *t, uint16_t type, const char *network, int family,
		     const struct rv_ip *addrs, size_t n, bool flush)
{
	struct nftnl_set *s = set_ref(network, "pods", family);
	unsigned count = 0;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].family != family)
			continue;
		if (put_elem(s, addrs[i].a, ip_bytes(family), 0) < 0) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		count++;
	}
	if (count || flush) {
		nftnl_set_elems_nlmsg_build_payload(txn_msg(t, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0), s);
		txn_next(t);
	}
	nftnl_set_free(s);
	return 0;
}

struct interval {
	struct rv_ip lo, hi;
};

static int cmp_interval(const void *a, const void *b)
{
	return ip_cmp(&((const struct interval *)a)->lo, &((const struct interval *)b)->lo);
}

/* The keep prefixes of @family as sorted, disjoint, non-adjacent intervals. */
static size_t merge_keep(const struct masq_spec *m, int family, struct interval *out, size_t max)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < m->n_keep && n < max; i++) {
		if (m->keep[i].ip.family != family)
			continue;
		out[n].lo = prefix_masked(&m->keep[i]).ip;
		out[n].hi = prefix_last(&m->keep[i]);
		n++;
	}
	if (!n)
		return 0;
	qsort(out, n, sizeof(*out), cmp_interval);
	for (size_t i = 1; i < n; i++) {
		struct rv_ip next = out[k].hi;

		ip_add(&next, 1);
		if (ip_cmp(&out[i].lo, &out[k].hi) <= 0 || (ip_cmp(&next, &out[k].hi) > 0 && ip_eq(&next, &out[i].lo))) {
			if (ip_cmp(&out[i].hi, &out[k].hi) > 0)
				out[k].hi = out[i].hi;
		} else {
			out[++k] = out[i];
		}
	}
	return k + 1;
}

static int keep_elems(struct txn *t, const struct masq_spec *m, int family)
{
	struct interval *iv = calloc(m->n_keep + 1, sizeof(*iv));
	struct nftnl_set *s = NULL;
	size_t n;
	int r = -ENOMEM;

	if (!iv)
		return -ENOMEM;
	n = merge_keep(m, family, iv, m->n_keep);
	if (!n) {
		r = 0;
		goto out;
	}
	s = set_ref(m->network, "keep", family);
	if (!s)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct rv_ip end = iv[i].hi;

		ip_add(&end, 1);
		if (put_elem(s, iv[i].lo.a, ip_bytes(family), 0) < 0 ||
		    /* An interval ending at the last address has no end mark. */
		    (ip_cmp(&end, &iv[i].hi) > 0 &&
		     put_elem(s, end.a, ip_bytes(family), NFT_SET_ELEM_INTERVAL_END) < 0))
			goto out;
	}
	nftnl_set_elems_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWSETELEM, NLM_F_CREATE), s);
	txn_next(t);
	r = 0;
out:
	if (s)
		nftnl_set_free(s);
	free(iv);
	return r;
}

/* --- the state element --------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* The element's key: a hash of the name (names are up to 200 bytes, keys
 * at most 64). Two names with one key only cost each other a rebuild: the
 * comment, which is compared whole, names the network. */
static uint32_t state_key(const char *network)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)network; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* The comment that says the table holds what @m asks: the network's name
 * (cut for display; the digest covers all of it), and a digest of the
 * layout, the name, ipMasq and the merged kept destinations. */
static int state_comment(const struct masq_spec *m, char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned layout = LAYOUT;
	bool masq = m->masquerade;

	h = fnv1a(h, &layout, sizeof(layout));
	h = fnv1a(h, m->network, strlen(m->network) + 1);
	h = fnv1a(h, &masq, sizeof(masq));
	if (masq) {
		struct interval *iv = calloc(m->n_keep + 1, sizeof(*iv));

		if (!iv)
			return -ENOMEM;
		for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
			size_t n = merge_keep(m, family, iv, m->n_keep);

			for (size_t i = 0; i < n; i++) {
				h = fnv1a(h, iv[i].lo.a, ip_bytes(family));
				h = fnv1a(h, iv[i].hi.a, ip_bytes(family));
			}
			h = fnv1a(h, "/", 1);
		}
		free(iv);
	}
	snprintf(buf, len, "network %.100s%s: %s, state %016llx", m->network,
		 strlen(m->network) > 100 ? "..." : "", masq ? "masquerade" : "no masquerade",
		 (unsigned long long)h);
	return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **out = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT && nftnl_udata_len(attr) > 0 &&
	    ((const char *)nftnl_udata_get(attr))[nftnl_udata_len(attr) - 1] == '\0')
		*out = nftnl_udata_get(attr);
	return 0;
}

/* The comment of the network's element from one reply message. */
static int read_comment(const struct nlmsghdr *nlh, char *out, size_t len)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;
	const char *comment = NULL;
	const void *ud;
	uint32_t udlen = 0;
	int r = -EINVAL;

	if (!s)
		return -ENOMEM;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0 || !(it = nftnl_set_elems_iter_create(s)))
		goto out;
	e = nftnl_set_elems_iter_cur(it);
	if (!e)
		goto out;
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &udlen);
	if (ud && udlen)
		(void)nftnl_udata_parse(ud, udlen, comment_cb, &comment);
	snprintf(out, len, "%s", comment ? comment : "");
	r = 0;
out:
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return r;
}

struct comment_buf {
	char *out;
	size_t len;
};

static int state_reply(const struct nlmsghdr *m, void *data)
{
	struct comment_buf *c = data;

	if (m->nlmsg_type == NLMSG_ERROR)
		return reply_error(m) ? reply_error(m) : -ENOENT;
	if (NFNL_MSG_TYPE(m->nlmsg_type) == NFT_MSG_NEWSETELEM)
		return read_comment(m, c->out, c->len);
	return 1;
}

/* Look the network's state element up: 0 with its comment in @out,
 * -ENOENT when it (or the set, or the table) does not exist, or -errno. */
static int read_state(struct txn *t, const char *network, char *out, size_t len)
{
	struct nftnl_set *s = set_named(SET_STATE);
	struct comment_buf c = { out, len };
	uint32_t key = state_key(network);
	struct nlmsghdr *nlh;

	if (!s || put_elem(s, &key, sizeof(key), 0) < 0) {
		if (s)
			nftnl_set_free(s);
		return -ENOMEM;
	}
	/* No NLM_F_ACK: the answer is the element, or an error. */
	nlh = nftnl_nlmsg_build_hdr(t->buf, NFT_MSG_GETSETELEM, NFPROTO_INET, 0, t->nl.seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return ask(t, nlh, state_reply, &c);
}

/* --- rules ------------------------------------------------------------------ */

static int add_expr(struct nftnl_rule *r, const char *name, struct nftnl_expr **out)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	*out = e;
	return 0;
}

static struct nftnl_rule *rule_alloc(const char *chain, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);

	if (!r || !ud) {
		if (r)
			nftnl_rule_free(r);
		if (ud)
			nftnl_udata_buf_free(ud);
		return NULL;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, MASQ_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return r;
}

/* iifname "rvt*" fib saddr . iif oif missing counter drop: a packet from a
 * pod whose source is not routed back through the veth it came in on. The
 * host routes are /32 and /128 on each pod's own host end, so that is any
 * address but the pod's own (and its link-local ones, on its own link). */
static struct nftnl_rule *antispoof_rule(void)
{
	struct nftnl_rule *r = rule_alloc(CHAIN_ANTISPOOF, "rivet: drop what a pod sends from an address it does not hold");
	uint32_t missing = 0;	/* as nft writes it, so `nft list` says "missing" */
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	if (add_expr(r, "meta", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_IIFNAME);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	if (add_expr(r, "cmp", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, "rvt", 3);	/* a prefix: "rvt*" */
	if (add_expr(r, "fib", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	if (add_expr(r, "cmp", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &missing, sizeof(missing));
	if (add_expr(r, "counter", &e) < 0 || add_expr(r, "immediate", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	return r;
fail:
	nftnl_rule_free(r);
	return NULL;
}

/* meta nfproto <fam>; <saddr> @pods; <daddr> != @keep; counter; masquerade */
static struct nftnl_rule *masq_rule(const char *network, int family, uint32_t pods_id, uint32_t keep_id)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint32_t alen = ip_bytes(family), soff = family == AF_INET ? 12 : 8;
	char pods[256], keep[256], chain[256], comment[256];
	struct nftnl_rule *r;
	struct nftnl_expr *e;

	set_name(pods, sizeof(pods), network, "pods", family);
	set_name(keep, sizeof(keep), network, "keep", family);
	chain_name(chain, sizeof(chain), network);
	snprintf(comment, sizeof(comment), "rivet: masquerade pods of network %s", network);
	r = rule_alloc(chain, comment);
	if (!r)
		return NULL;
	if (add_expr(r, "meta", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFPROTO);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	if (add_expr(r, "cmp", &e) < 0)
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &proto, 1);
	for (int dst = 0; dst < 2; dst++) {
		if (add_expr(r, "payload", &e) < 0)
			goto fail;
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, soff + (dst ? alen : 0));
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, alen);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		if (add_expr(r, "lookup", &e) < 0)
			goto fail;
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, dst ? keep : pods);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, dst ? keep_id : pods_id);
		if (dst)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	}
	if (add_expr(r, "counter", &e) < 0 || add_expr(r, "masq", &e) < 0)
		goto fail;
	return r;
fail:
	nftnl_rule_free(r);
	return NULL;
}

/* --- building the table ------------------------------------------------------ */

/* @name, created when missing (a base chain when @type is given). */
static int put_chain(struct txn *t, const char *name, const char *type, unsigned hook, int prio)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, MASQ_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	if (type) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
	}
	nftnl_chain_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWCHAIN, NLM_F_CREATE), ch);
	txn_next(t);
	nftnl_chain_free(ch);
	return 0;
}

/* DELRULE of @handle, or with 0 of every rule of @chain (a flush). */
static int del_rules(struct txn *t, const char *chain, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, MASQ_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (handle)
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_rule_nlmsg_build_payload(txn_msg(t, NFT_MSG_DELRULE, 0), r);
	txn_next(t);
	nftnl_rule_free(r);
	return 0;
}

static int del_chain(struct txn *t, const char *name)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, MASQ_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	nftnl_chain_nlmsg_build_payload(txn_msg(t, NFT_MSG_DELCHAIN, 0), ch);
	txn_next(t);
	nftnl_chain_free(ch);
	return 0;
}

static int put_rule(struct txn *t, struct nftnl_rule *r)
{
	if (!r)
		return -ENOMEM;
	nftnl_rule_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
	txn_next(t);
	nftnl_rule_free(r);
	return 0;
}

/* A set of @what ("pods", "keep") and @family, created when missing; with
 * @remove, deleted again in the same transaction: "delete if present". The
 * attributes are those rivet has always given them, or the kernel would
 * call an existing set a different one. */
static int put_set(struct txn *t, const char *network, const char *what, int family, uint32_t id,
		   bool remove)
{
	struct nftnl_set *s = set_ref(network, what, family);

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, ip_bytes(family));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
	if (!strcmp(what, "keep"))
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWSET, NLM_F_CREATE), s);
	txn_next(t);
	if (remove) {
		nftnl_set_nlmsg_build_payload(txn_msg(t, NFT_MSG_DELSET, 0), s);
		txn_next(t);
	}
	nftnl_set_free(s);
	return 0;
}

/* Empty a set: a DELSETELEM without elements. */
static int flush_set(struct txn *t, const char *network, const char *what, int family)
{
	struct nftnl_set *s = set_ref(network, what, family);

	if (!s)
		return -ENOMEM;
	nftnl_set_elems_nlmsg_build_payload(txn_msg(t, NFT_MSG_DELSETELEM, 0), s);
	txn_next(t);
	nftnl_set_free(s);
	return 0;
}

/* The state set, and the network's element replaced by one with @comment
 * (an existing element cannot be changed: added if missing, deleted, added). */
static int put_state(struct txn *t, const char *network, const char *comment)
{
	struct nftnl_set *s = set_named(SET_STATE), *e[3] = { 0 };
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
	uint32_t key = state_key(network);
	static const uint16_t op[3] = { NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM };
	int r = -ENOMEM;

	if (!s || !ud)
		goto out;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sizeof(key));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 100);
	nftnl_set_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWSET, NLM_F_CREATE), s);
	txn_next(t);
	nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, comment);
	for (int i = 0; i < 3; i++) {
		struct nftnl_set_elem *el;

		if (!(e[i] = set_named(SET_STATE)) || !(el = nftnl_set_elem_alloc()))
			goto out;
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
		if (i == 2)
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud),
					   nftnl_udata_buf_len(ud));
		nftnl_set_elem_add(e[i], el);
		nftnl_set_elems_nlmsg_build_payload(txn_msg(t, op[i], op[i] == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0),
						    e[i]);
		txn_next(t);
	}
	r = 0;
out:
	for (int i = 0; i < 3; i++)
		if (e[i])
			nftnl_set_free(e[i]);
	if (s)
		nftnl_set_free(s);
	if (ud)
		nftnl_udata_buf_free(ud);
	return r;
}

/* What an earlier rivet left in the shared chain for this network. */
struct legacy {
	uint64_t handle[LEGACY_MAX];
	size_t n;		/* this network's rules */
	size_t others;		/* other networks' rules */
	bool chain;		/* the chain exists */
};

static bool names_network_set(struct nftnl_rule *r, const char *network)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	char n4[256], n6[256];
	bool mine = false;

	if (!it)
		return false;
	set_name(n4, sizeof(n4), network, "pods", AF_INET);
	set_name(n6, sizeof(n6), network, "pods", AF_INET6);
	while (!mine && (e = nftnl_expr_iter_next(it))) {
		const char *set;

		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup"))
			continue;
		set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
		mine = set && (!strcmp(set, n4) || !strcmp(set, n6));
	}
	nftnl_expr_iter_destroy(it);
	return mine;
}

struct legacy_read {
	const char *network;
	struct legacy *lg;
};

static int legacy_reply(const struct nlmsghdr *m, void *data)
{
	struct legacy_read *q = data;
	struct nftnl_rule *r;

	if (m->nlmsg_type == NLMSG_DONE)
		return 0;
	if (m->nlmsg_type == NLMSG_ERROR)
		return reply_error(m) == -ENOENT ? 0 : reply_error(m);
	if (NFNL_MSG_TYPE(m->nlmsg_type) != NFT_MSG_NEWRULE || !(r = nftnl_rule_alloc()))
		return 1;
	q->lg->chain = true;
	if (nftnl_rule_nlmsg_parse(m, r) == 0) {
		if (names_network_set(r, q->network) && q->lg->n < LEGACY_MAX)
			q->lg->handle[q->lg->n++] = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
		else
			q->lg->others++;
	}
	nftnl_rule_free(r);
	return 1;
}

/* Read the legacy chain's rules. A missing chain (or table) is no error. */
static int read_legacy(struct txn *t, const char *network, struct legacy *lg)
{
	struct nftnl_rule *req = nftnl_rule_alloc();
	struct legacy_read q = { network, lg };
	struct nlmsghdr *nlh;

	memset(lg, 0, sizeof(*lg));
	if (!req)
		return -ENOMEM;
	nftnl_rule_set_str(req, NFTNL_RULE_TABLE, MASQ_TABLE);
	nftnl_rule_set_str(req, NFTNL_RULE_CHAIN, LEGACY_CHAIN);
	nlh = nftnl_nlmsg_build_hdr(t->buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, t->nl.seq++);
	nftnl_rule_nlmsg_build_payload(nlh, req);
	nftnl_rule_free(req);
	return ask(t, nlh, legacy_reply, &q);
}

/* Everything of the network and the node, as @m asks, into the open
 * transaction; with @pods (and @flush_pods), the pod sets' content too. */
static int build(struct txn *t, const struct masq_spec *m, const struct legacy *lg,
		 const struct rv_ip *pods, size_t n_pods, bool flush_pods)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	char chain[256], comment[256];
	int r;

	if (!tb)
		return -ENOMEM;
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, MASQ_TABLE);
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWTABLE, NLM_F_CREATE), tb);
	txn_next(t);
	nftnl_table_free(tb);

	/* The node's part: every network needs it, so every rebuild makes it. */
	if ((r = put_chain(t, CHAIN_ANTISPOOF, "filter", NF_INET_PRE_ROUTING, NF_PRIO_RAW)) < 0 ||
	    (r = del_rules(t, CHAIN_ANTISPOOF, 0)) < 0 || (r = put_rule(t, antispoof_rule())) < 0)
		return r;

	/* An earlier rivet's rules for this network hold its sets. */
	for (size_t i = 0; i < lg->n; i++)
		if ((r = del_rules(t, LEGACY_CHAIN, lg->handle[i])) < 0)
			return r;
	if (lg->chain && !lg->others && (r = del_chain(t, LEGACY_CHAIN)) < 0)
		return r;

	chain_name(chain, sizeof(chain), m->network);
	if (m->masquerade) {
		for (int i = 0; i < 2; i++) {
			int family = i ? AF_INET6 : AF_INET;
			uint32_t id = (uint32_t)(i * 2 + 1);

			if ((r = put_set(t, m->network, "pods", family, id, false)) < 0 ||
			    (r = put_set(t, m->network, "keep", family, id + 1, false)) < 0 ||
			    (r = flush_set(t, m->network, "keep", family)) < 0 ||
			    (r = keep_elems(t, m, family)) < 0 ||
			    (flush_pods && (r = pod_elems(t, NFT_MSG_DELSETELEM, m->network, family, NULL, 0, true)) < 0) ||
			    (r = pod_elems(t, NFT_MSG_NEWSETELEM, m->network, family, pods, n_pods, false)) < 0)
				return r;
		}
		if ((r = put_chain(t, chain, "nat", NF_INET_POST_ROUTING, NF_PRIO_SRCNAT)) < 0 ||
		    (r = del_rules(t, chain, 0)) < 0 ||
		    (r = put_rule(t, masq_rule(m->network, AF_INET, 1, 2))) < 0 ||
		    (r = put_rule(t, masq_rule(m->network, AF_INET6, 3, 4))) < 0)
			return r;
	} else {
		/* No masquerade: the chain goes first, as its rules hold the sets. */
		if ((r = put_chain(t, chain, NULL, 0, 0)) < 0 || (r = del_rules(t, chain, 0)) < 0 ||
		    (r = del_chain(t, chain)) < 0)
			return r;
		for (int i = 0; i < 2; i++) {
			int family = i ? AF_INET6 : AF_INET;
			uint32_t id = (uint32_t)(i * 2 + 1);

			if ((r = put_set(t, m->network, "pods", family, id, true)) < 0 ||
			    (r = put_set(t, m->network, "keep", family, id + 1, true)) < 0)
				return r;
		}
	}
	if ((r = state_comment(m, comment, sizeof(comment))) < 0)
		return r;
	return put_state(t, m->network, comment);
}

/* Read what must be read, build, commit; again when a racing rebuild
 * changed the legacy chain in between. */
static int rebuild(struct txn *t, const struct masq_spec *m, const struct rv_ip *pods, size_t n_pods,
		   bool flush_pods)
{
	struct legacy lg;
	int r = -EAGAIN;

	for (int i = 0; i < REBUILD_TRIES; i++) {
		r = read_legacy(t, m->network, &lg);
		if (r < 0)
			return r;
		txn_begin(t);
		r = build(t, m, &lg, pods, n_pods, flush_pods);
		if (r == 0)
			r = txn_commit(t);
		if ((r != -ENOENT && r != -EBUSY) || (!lg.n && !lg.chain))
			return r;
		t->ext[0] = '\0';
	}
	return r;
}

static int fail(struct rv_err *err, struct txn *t, int r, const char *what)
{
	err_set(err, RIVET_ERR_MASQ, -r, "nftables: cannot %s in table inet %s: %s", what,
		MASQ_TABLE, strerror(-r));
	if (t && t->ext[0])
		err_details(err, "kernel: %s", t->ext);
	return r;
}

/* Each transaction waits for as many answers as it has requests, so the
 * buffer is sized for the largest: fixed objects, two elements per kept
 * interval, and the pods. */
static size_t elems_for(const struct masq_spec *m, size_t n_pods)
{
	return 64 + m->n_keep * 2 + n_pods;
}

int masq_ensure(const struct masq_spec *m, struct rv_err *err)
{
	char want[256], have[256] = "";
	struct txn t;
	int r;

	if (state_comment(m, want, sizeof(want)) < 0)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	r = txn_open(&t, elems_for(m, 0), err);
	if (r < 0)
		return r;
	r = read_state(&t, m->network, have, sizeof(have));
	if (r == 0 && !strcmp(have, want))
		goto out;
	if (r < 0 && r != -ENOENT) {
		fail(err, &t, r, "read the state of the network");
		goto out;
	}
	r = rebuild(&t, m, NULL, 0, false);
	if (r < 0)
		fail(err, &t, r, m->masquerade ? "set up the network's masquerade and the anti-spoof rule"
					       : "set up the anti-spoof rule");
	else
		r = 1;
out:
	txn_close(&t);
	return r;
}

static int add_pods(struct txn *t, const char *network, const struct rv_ip *addrs, size_t n)
{
	int r;

	txn_begin(t);
	if ((r = pod_elems(t, NFT_MSG_NEWSETELEM, network, AF_INET, addrs, n, false)) < 0 ||
	    (r = pod_elems(t, NFT_MSG_NEWSETELEM, network, AF_INET6, addrs, n, false)) < 0)
		return r;
	return t->ops ? txn_commit(t) : 0;
}

int masq_add(const struct masq_spec *m, const struct rv_ip *addrs, size_t n, struct rv_err *err)
{
	struct txn t;
	int r;

	r = txn_open(&t, elems_for(m, n), err);
	if (r < 0)
		return r;
	r = add_pods(&t, m->network, addrs, n);
	if (r == -ENOENT) {
		/* The table went after masq_ensure (a flush): build it again. */
		t.ext[0] = '\0';
		r = rebuild(&t, m, addrs, n, false);
		if (r == 0)
			r = 1;
	}
	if (r < 0)
		fail(err, &t, r, "add the pod's addresses");
	txn_close(&t);
	return r;
}

/* The socket of the last masq_del, left open (see masq_release). */
static struct nlconn lingering;

void masq_release(void)
{
	nlconn_close(&lingering);
}

/* Which of @addrs are in the network's pod sets: one GETSETELEM each, sent
 * PRESENT_CHUNK at a time and answered together. A missing set or table is
 * "none". (Reads, because a transaction that fails costs more than its
 * answer: the kernel's abort waits for an RCU grace period, 10 ms and more.) */
#define PRESENT_CHUNK 16
#define PRESENT_MSG_MAX 512	/* a request for one element of a set named by <net>-pods4 */

static int pods_present(struct txn *t, const char *network, const struct rv_ip *addrs, size_t n,
			bool *present)
{
	char buf[8192] __attribute__((aligned(8)));

	for (size_t from = 0; from < n; from += PRESENT_CHUNK) {
		size_t count = n - from < PRESENT_CHUNK ? n - from : PRESENT_CHUNK, len = 0, answered = 0;
		uint32_t first = t->nl.seq;

		for (size_t i = from; i < from + count; i++) {
			struct nftnl_set *s = set_ref(network, "pods", addrs[i].family);
			struct nlmsghdr *nlh;

			present[i] = false;
			if (!s || put_elem(s, addrs[i].a, ip_bytes(addrs[i].family), 0) < 0) {
				if (s)
					nftnl_set_free(s);
				return -ENOMEM;
			}
			memset(t->buf + len, 0, PRESENT_MSG_MAX);
			nlh = nftnl_nlmsg_build_hdr(t->buf + len, NFT_MSG_GETSETELEM, NFPROTO_INET, 0, t->nl.seq++);
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			nftnl_set_free(s);
			len += NLMSG_ALIGN(nlh->nlmsg_len);
		}
		if (mnl_socket_sendto(t->nl.sock, t->buf, len) < 0)
			return -errno;
		while (answered < count) {
			ssize_t got = recv_bounded(t, buf, sizeof(buf));
			const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
			int left = (int)got;

			if (got < 0)
				return (int)got;
			for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
				size_t i = m->nlmsg_seq - first;

				if (m->nlmsg_seq < first || i >= count)
					continue;
				if (m->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

					if (e->error && e->error != -ENOENT)
						return e->error;
					answered++;
				} else if (NFNL_MSG_TYPE(m->nlmsg_type) == NFT_MSG_NEWSETELEM) {
					present[from + i] = true;
					answered++;
				}
			}
		}
	}
	return 0;
}

int masq_del(const char *network, const struct rv_ip *addrs, size_t n, struct rv_err *err)
{
	struct rv_ip *gone = calloc(n + 1, sizeof(*gone));
	bool *present = calloc(n + 1, sizeof(*present));
	size_t k = 0;
	struct txn t;
	int r;

	if (!n) {
		free(gone);
		free(present);
		return 0;
	}
	if (!gone || !present) {
		r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		goto out;
	}
	r = txn_open(&t, n, err);
	if (r < 0)
		goto out;
	/* Look first, then remove what is there, in one transaction: most
	 * networks have no pod sets at all (no ipMasq), and a retried DEL
	 * finds its elements gone. */
	r = pods_present(&t, network, addrs, n, present);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (present[i])
			gone[k++] = addrs[i];
	if (r == 0 && k) {
		txn_begin(&t);
		if ((r = pod_elems(&t, NFT_MSG_DELSETELEM, network, AF_INET, gone, k, false)) == 0 &&
		    (r = pod_elems(&t, NFT_MSG_DELSETELEM, network, AF_INET6, gone, k, false)) == 0)
			r = txn_commit(&t);
		if (r == -ENOENT)	/* removed meanwhile (a racing DEL or GC) */
			r = 0;
	}
	if (r < 0)
		fail(err, &t, r, "remove the pod's addresses");
	/* Closing a netfilter socket waits for nf_tables to free what the
	 * transactions deleted, an RCU grace period (7 ms here); the freeing
	 * starts at commit. Closed after the caller's other work (a veth
	 * deletion waits for grace periods too), the wait has already passed. */
	masq_release();
	lingering = t.nl;
	t.nl.sock = NULL;
	txn_close(&t);
out:
	free(gone);
	free(present);
	return r;
}

/* An element asked for with NLM_F_ACK: the element, then the ack; or
 * ENOENT when the element, its set or the table is missing. */
static int pod_reply(const struct nlmsghdr *m, void *data)
{
	if (m->nlmsg_type == NLMSG_ERROR)
		return reply_error(m) == -ENOENT ? 0 : reply_error(m);
	if (NFNL_MSG_TYPE(m->nlmsg_type) == NFT_MSG_NEWSETELEM)
		*(bool *)data = true;
	return 1;
}

int masq_check(const struct masq_spec *m, bool exact, const struct rv_ip *addrs, size_t n,
	       struct rv_err *err)
{
	const char *network = m->network;
	char a[IP_STRLEN], sname[256], want[256], have[256] = "";
	struct txn t;
	int r;

	if (exact && state_comment(m, want, sizeof(want)) < 0)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	r = txn_open(&t, 1, err);
	if (r < 0)
		return r;
	r = read_state(&t, network, have, sizeof(have));
	if (r == -ENOENT)
		r = err_set(err, RIVET_ERR_CHECK, ENOENT,
			    "table inet %s has no state for network %s: its anti-spoof rule%s may be gone "
			    "(the next ADD, or a GC, puts them back)",
			    MASQ_TABLE, network, m->masquerade ? " and masquerade" : "");
	else if (r < 0)
		r = fail(err, NULL, r, "read the state of the network");
	else if (exact && strcmp(have, want))
		r = err_set(err, RIVET_ERR_CHECK, EINVAL,
			    "table inet %s is not what network %s's config makes it (it holds \"%s\", the "
			    "config makes \"%s\"; the next ADD, or a GC, rebuilds it)",
			    MASQ_TABLE, network, have, want);
	for (size_t i = 0; m->masquerade && i < n && r == 0; i++) {
		struct nftnl_set *s = set_ref(network, "pods", addrs[i].family);
		struct nlmsghdr *nlh;
		bool found = false;

		if (!s || put_elem(s, addrs[i].a, ip_bytes(addrs[i].family), 0) < 0) {
			if (s)
				nftnl_set_free(s);
			r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
			break;
		}
		nlh = nftnl_nlmsg_build_hdr(t.buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, t.nl.seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		r = ask(&t, nlh, pod_reply, &found);
		if (r < 0) {
			r = fail(err, NULL, r, "read the pod sets");
			break;
		}
		set_name(sname, sizeof(sname), network, "pods", addrs[i].family);
		r = found ? 0 : err_set(err, RIVET_ERR_CHECK, ENOENT,
					"masquerade: %s is not in set %s of table inet %s",
					ip_fmt(&addrs[i], a), sname, MASQ_TABLE);
	}
	txn_close(&t);
	return r;
}

int masq_sync(const struct masq_spec *m, const struct rv_ip *pods, size_t n, struct rv_err *err)
{
	struct txn t;
	int r;

	r = txn_open(&t, elems_for(m, n), err);
	if (r < 0)
		return r;
	/* Flush and refill in the one transaction: a packet sees either the
	 * old sets or the new ones. */
	r = rebuild(&t, m, pods, n, true);
	if (r < 0)
		fail(err, &t, r, "resynchronise the network's sets");
	txn_close(&t);
	return r;
}

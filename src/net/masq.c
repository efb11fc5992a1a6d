// SPDX-License-Identifier: Apache-2.0
/*
 * ipMasq through nftables: libnftnl builds the objects, libmnl carries
 * them. Every change is one nftables transaction (BATCH_BEGIN .. END), which
 * the kernel applies whole or not at all; that is what makes the first-time
 * setup safe when many ADDs race to do it: the set is created with
 * NLM_F_EXCL, so exactly one transaction wins and the others, failing with
 * EEXIST, just add their elements.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/masq.h"
#include "net/nlbatch.h"

#define CHAIN "postrouting"
#define NFT_TYPE_IPADDR 7	/* nft's datatype ids, so `nft list` prints them */
#define NFT_TYPE_IP6ADDR 8

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
	t->buf = malloc(t->cap);
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

static void set_name(char *buf, size_t len, const char *network, const char *what, int family)
{
	snprintf(buf, len, "%s-%s%d", network, what, family == AF_INET ? 4 : 6);
}

static struct nftnl_set *set_ref(const char *network, const char *what, int family)
{
	struct nftnl_set *s = nftnl_set_alloc();
	char name[256];

	if (!s)
		return NULL;
	set_name(name, sizeof(name), network, what, family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, MASQ_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
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

/* One NEWSETELEM/DELSETELEM for the addresses of @family; none: no message. */
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

static int add_expr(struct nftnl_rule *r, const char *name, struct nftnl_expr **out)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	*out = e;
	return 0;
}

/* meta nfproto <fam>; <saddr> @pods; <daddr> != @keep; counter; masquerade */
static struct nftnl_rule *masq_rule(const char *network, int family, uint32_t pods_id, uint32_t keep_id)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint32_t alen = ip_bytes(family), soff = family == AF_INET ? 12 : 8;
	char pods[256], keep[256], comment[256];
	struct nftnl_expr *e;

	if (!r || !ud)
		goto fail;
	set_name(pods, sizeof(pods), network, "pods", family);
	set_name(keep, sizeof(keep), network, "keep", family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, MASQ_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
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
	snprintf(comment, sizeof(comment), "rivet: masquerade pods of network %s", network);
	nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return r;
fail:
	if (ud)
		nftnl_udata_buf_free(ud);
	if (r)
		nftnl_rule_free(r);
	return NULL;
}

/* Table, chain, sets and rules of one network, in the open transaction. */
static int build_setup(struct txn *t, const struct masq_spec *m)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	struct nftnl_chain *ch = nftnl_chain_alloc();
	int r = -ENOMEM;

	if (!tb || !ch)
		goto out;
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, MASQ_TABLE);
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWTABLE, NLM_F_CREATE), tb);
	txn_next(t);

	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, MASQ_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, CHAIN);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, 100);	/* srcnat */
	nftnl_chain_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWCHAIN, NLM_F_CREATE), ch);
	txn_next(t);

	for (int i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;
		uint32_t id = (uint32_t)(i * 2 + 1);
		struct nftnl_set *pods = set_ref(m->network, "pods", family);
		struct nftnl_set *keep = set_ref(m->network, "keep", family);
		struct nftnl_rule *rule = masq_rule(m->network, family, id, id + 1);

		if (!pods || !keep || !rule) {
			nftnl_set_free(pods);
			nftnl_set_free(keep);
			if (rule)
				nftnl_rule_free(rule);
			goto out;
		}
		nftnl_set_set_u32(pods, NFTNL_SET_KEY_LEN, ip_bytes(family));
		nftnl_set_set_u32(pods, NFTNL_SET_KEY_TYPE, family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
		nftnl_set_set_u32(pods, NFTNL_SET_ID, id);
		nftnl_set_set_u32(keep, NFTNL_SET_KEY_LEN, ip_bytes(family));
		nftnl_set_set_u32(keep, NFTNL_SET_KEY_TYPE, family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
		nftnl_set_set_u32(keep, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
		nftnl_set_set_u32(keep, NFTNL_SET_ID, id + 1);
		/* EXCL on the sets: of racing first ADDs, one creates them. */
		nftnl_set_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL), pods);
		txn_next(t);
		nftnl_set_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL), keep);
		txn_next(t);
		r = keep_elems(t, m, family);
		nftnl_rule_nlmsg_build_payload(txn_msg(t, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), rule);
		txn_next(t);
		nftnl_set_free(pods);
		nftnl_set_free(keep);
		nftnl_rule_free(rule);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	if (tb)
		nftnl_table_free(tb);
	if (ch)
		nftnl_chain_free(ch);
	return r;
}

static int fail(struct rv_err *err, struct txn *t, int r, const char *what)
{
	err_set(err, RIVET_ERR_MASQ, -r, "masquerade: cannot %s in nftables table inet %s: %s", what,
		MASQ_TABLE, strerror(-r));
	if (t && t->ext[0])
		err_details(err, "kernel: %s", t->ext);
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

	r = txn_open(&t, n + m->n_keep * 2, err);
	if (r < 0)
		return r;
	r = add_pods(&t, m->network, addrs, n);
	if (r == -ENOENT) {
		/* First ADD on this network (or after the table was removed). */
		txn_begin(&t);
		r = build_setup(&t, m);
		if (r == 0 && (r = pod_elems(&t, NFT_MSG_NEWSETELEM, m->network, AF_INET, addrs, n, false)) == 0 &&
		    (r = pod_elems(&t, NFT_MSG_NEWSETELEM, m->network, AF_INET6, addrs, n, false)) == 0)
			r = txn_commit(&t);
		if (r == -EEXIST)	/* another ADD won the setup race */
			r = add_pods(&t, m->network, addrs, n);
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

int masq_del(const char *network, const struct rv_ip *addrs, size_t n, struct rv_err *err)
{
	struct txn t;
	int r, first = 0;

	r = txn_open(&t, n, err);
	if (r < 0)
		return r;
	/* One address per transaction: a transaction fails whole, and one
	 * address already gone must not keep the others in the set. */
	for (size_t i = 0; i < n; i++) {
		txn_begin(&t);
		r = pod_elems(&t, NFT_MSG_DELSETELEM, network, addrs[i].family, &addrs[i], 1, false);
		if (r == 0)
			r = txn_commit(&t);
		if (r < 0 && r != -ENOENT && !first) {
			first = r;
			fail(err, &t, r, "remove a pod's address");
		}
	}
	/* Closing a netfilter socket waits for nf_tables to free what the
	 * transactions deleted, an RCU grace period (7 ms here); the freeing
	 * starts at commit. Closed after the caller's other work (a veth
	 * deletion waits for grace periods too), the wait has already passed. */
	masq_release();
	lingering = t.nl;
	t.nl.sock = NULL;
	txn_close(&t);
	return first;
}

static int getelem_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	*(bool *)data = true;
	return MNL_CB_OK;
}

int masq_check(const char *network, const struct rv_ip *addrs, size_t n, struct rv_err *err)
{
	char a[IP_STRLEN], sname[256];
	struct txn t;
	int r;

	r = txn_open(&t, 1, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct nftnl_set *s = set_ref(network, "pods", addrs[i].family);
		struct nlmsghdr *nlh;
		bool found = false;
		char buf[4096];
		ssize_t len;

		if (!s || put_elem(s, addrs[i].a, ip_bytes(addrs[i].family), 0) < 0) {
			if (s)
				nftnl_set_free(s);
			r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
			break;
		}
		nlh = nftnl_nlmsg_build_hdr(t.buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, t.nl.seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		if (mnl_socket_sendto(t.nl.sock, nlh, nlh->nlmsg_len) < 0) {
			r = fail(err, NULL, -errno, "read the pod sets");
			break;
		}
		do {
			len = mnl_socket_recvfrom(t.nl.sock, buf, sizeof(buf));
			if (len < 0 && errno == EAGAIN)
				errno = ETIMEDOUT;	/* the socket's receive timeout */
			r = len < 0 ? -errno : mnl_cb_run(buf, (size_t)len, nlh->nlmsg_seq, t.nl.portid, getelem_cb, &found);
		} while (r > 0 || (r < 0 && errno == EINTR));
		if (r < 0 && errno != ENOENT) {
			r = fail(err, NULL, -errno, "read the pod sets");
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

int masq_sync(const struct masq_spec *m, const struct rv_ip *keep, size_t n, struct rv_err *err)
{
	struct nftnl_set *s;
	struct txn t;
	int r;

	r = txn_open(&t, n + m->n_keep * 2, err);
	if (r < 0)
		return r;
	txn_begin(&t);
	/* Flush (a DELSETELEM without elements) and refill, atomically: a
	 * packet sees either the old sets or the new ones. */
	for (int i = 0; i < 2 && r == 0; i++) {
		int family = i ? AF_INET6 : AF_INET;

		r = pod_elems(&t, NFT_MSG_DELSETELEM, m->network, family, NULL, 0, true);
		if (r == 0 && (s = set_ref(m->network, "keep", family))) {
			nftnl_set_elems_nlmsg_build_payload(txn_msg(&t, NFT_MSG_DELSETELEM, 0), s);
			txn_next(&t);
			nftnl_set_free(s);
		}
		if (r == 0)
			r = pod_elems(&t, NFT_MSG_NEWSETELEM, m->network, family, keep, n, false);
		if (r == 0)
			r = keep_elems(&t, m, family);
	}
	if (r == 0)
		r = txn_commit(&t);
	if (r == -ENOENT && n) {
		/* No sets yet but pods to keep: build them as ADD would. */
		txn_begin(&t);
		r = build_setup(&t, m);
		if (r == 0 && (r = pod_elems(&t, NFT_MSG_NEWSETELEM, m->network, AF_INET, keep, n, false)) == 0 &&
		    (r = pod_elems(&t, NFT_MSG_NEWSETELEM, m->network, AF_INET6, keep, n, false)) == 0)
			r = txn_commit(&t);
	} else if (r == -ENOENT) {
		r = 0;
	}
	if (r < 0)
		fail(err, &t, r, "resynchronise the pod sets");
	txn_close(&t);
	return r;
}

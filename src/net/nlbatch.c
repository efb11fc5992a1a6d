// SPDX-License-Identifier: Apache-2.0
/*
 * Batched rtnetlink over libmnl. The extended ACK is requested so that an
 * error carries the kernel's own explanation ("Nexthop device is not up"),
 * and acknowledgements are capped so an error does not echo the request.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net/netns.h"
#include "net/nlbatch.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

int nl_bound_receives(int fd)
{
	struct timeval tv = {
		.tv_sec = NL_RECV_TIMEOUT_MS / 1000,
		.tv_usec = (NL_RECV_TIMEOUT_MS % 1000) * 1000,
	};

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 ? 0 : -errno;
}

int nlconn_adopt(struct nlconn *nl, int fd, struct rv_err *err)
{
	int one = 1, r;

	memset(nl, 0, sizeof(*nl));
	r = nl_bound_receives(fd);
	if (r < 0) {
		close(fd);
		return err_set(err, RIVET_ERR_NETLINK, -r, "cannot set a netlink socket's receive timeout: %s",
			       strerror(-r));
	}
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->sock = mnl_socket_fdopen(fd);
	if (!nl->sock) {
		close(fd);
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = errno;
		nlconn_close(nl);
		return err_set(err, RIVET_ERR_NETLINK, r, "cannot bind a netlink socket: %s", strerror(r));
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Starting from the pid keeps a reply meant for an earlier process
	 * that had our portid from matching a request of ours. */
	nl->seq = (uint32_t)getpid() << 12;
	return 0;
}

int nlconn_open(struct nlconn *nl, int bus, int nsfd, struct rv_err *err)
{
	int fd, r;

	memset(nl, 0, sizeof(*nl));
	fd = nsfd >= 0 ? netns_socket(nsfd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus)
		       : socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
	if (fd < 0) {
		r = nsfd >= 0 ? fd : -errno;
		return err_set(err, RIVET_ERR_NETLINK, -r, "cannot open a netlink socket%s: %s",
			       nsfd >= 0 ? " in the pod's netns" : "", strerror(-r));
	}
	return nlconn_adopt(nl, fd, err);
}

void nlconn_close(struct nlconn *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

void nlbatch_init(struct nlbatch *b, struct nlconn *nl, char *buf)
{
	b->nl = nl;
	b->buf = buf;
	b->len = b->sent = b->zeroed = 0;
	b->open = b->last = NULL;
	b->fence = 0;
	b->n = 0;
	b->failed = -1;
	b->complete = false;
	b->ext[0] = '\0';
}

static void close_open(struct nlbatch *b)
{
	if (b->open) {
		b->last = b->open;
		b->len += NLMSG_ALIGN(b->open->nlmsg_len);
		b->open = NULL;
	}
}

void *nlbatch_add(struct nlbatch *b, uint16_t type, uint16_t flags, size_t hdrlen,
		   const char *what_fmt, ...)
{
	struct nlbatch_req *req;
	struct nlmsghdr *nlh;
	va_list ap;

	close_open(b);
	if (b->complete)
		nlbatch_init(b, b->nl, b->buf);
	/* Callers add a bounded number of small messages; running out of room
	 * is a bug, not an input error. */
	if (b->n >= NLBATCH_MAX || b->len + 2048 > NLBATCH_BUF) {
		fprintf(stderr, "rivet: netlink batch overflow (bug)\n");
		abort();
	}
	/* libmnl leaves attribute padding as it finds it; the kernel must not
	 * be sent stale stack bytes. Zero each message's room once, as the
	 * batch first reaches it, rather than the whole buffer up front. */
	if (b->zeroed < b->len + 2048) {
		size_t from = b->zeroed > b->len ? b->zeroed : b->len;

		memset(b->buf + from, 0, b->len + 2048 - from);
		b->zeroed = b->len + 2048;
	}
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	/* No NLM_F_ACK: only a send's last request asks for one (see
	 * nlbatch_send); failures are answered whatever the flag says. */
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++b->nl->seq;
	b->open = nlh;

	req = &b->req[b->n++];
	memset(req, 0, sizeof(*req));
	req->seq = nlh->nlmsg_seq;
	va_start(ap, what_fmt);
	vsnprintf(req->what, sizeof(req->what), what_fmt, ap);
	va_end(ap);
	return hdrlen ? mnl_nlmsg_put_extra_header(nlh, hdrlen) : NULL;
}

struct nlmsghdr *nlbatch_msg_hdr(struct nlbatch *b)
{
	return b->open;
}

void nlbatch_ok(struct nlbatch *b, unsigned ok)
{
	b->req[b->n - 1].ok = ok;
}

void nlbatch_on_reply(struct nlbatch *b, mnl_cb_t cb, void *data)
{
	b->req[b->n - 1].cb = cb;
	b->req[b->n - 1].data = data;
}

int nlbatch_send(struct nlbatch *b, struct rv_err *err)
{
	ssize_t r;

	close_open(b);
	if (b->len == b->sent)
		return 0;
	/* The kernel handles requests in order and answers every failure, so
	 * one acknowledgement, for the last, says all before it succeeded:
	 * one datagram to read instead of one per request. */
	b->last->nlmsg_flags |= NLM_F_ACK;
	b->fence = b->last->nlmsg_seq;
	r = mnl_socket_sendto(b->nl->sock, b->buf + b->sent, b->len - b->sent);
	if (r < 0)
		return err_set(err, RIVET_ERR_NETLINK, errno, "cannot send to netlink: %s", strerror(errno));
	b->sent = b->len;
	return 0;
}

static struct nlbatch_req *find_req(struct nlbatch *b, uint32_t seq)
{
	uint32_t first = b->n ? b->req[0].seq : 0;

	if (!b->n || seq < first || seq - first >= b->n)
		return NULL;
	return &b->req[seq - first];
}

static bool tolerated(const struct nlbatch_req *req)
{
	int e = -req->error;

	if (!e)
		return true;
	if ((req->ok & NLB_OK_EXIST) && e == EEXIST)
		return true;
	if ((req->ok & NLB_OK_NOENT) && (e == ENOENT || e == ENODEV || e == ESRCH))
		return true;
	if ((req->ok & NLB_OK_UNREACH) && (e == ENETUNREACH || e == EHOSTUNREACH))
		return true;
	return false;
}

static void read_ext_ack(const struct nlmsghdr *nlh, struct nlbatch *b)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(b->ext, sizeof(b->ext), "%s", mnl_attr_get_str(a));
	}
}

/* Everything up to and including @req is answered. */
static void done_through(struct nlbatch *b, const struct nlbatch_req *req)
{
	for (struct nlbatch_req *r = b->req; r <= req; r++)
		r->done = true;
}

static void handle(struct nlbatch *b, const struct nlmsghdr *nlh)
{
	struct nlbatch_req *req = find_req(b, nlh->nlmsg_seq);

	if (!req || req->done || nlh->nlmsg_pid != b->nl->portid)
		return;
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		req->error = e->error;
		if (e->error && !tolerated(req) && !b->ext[0])
			read_ext_ack(nlh, b);
		req->done = true;
		if (req->seq == b->fence)
			done_through(b, req);
		break;
	}
	case NLMSG_DONE:
		req->done = true;
		break;
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		break;
	default:
		if (req->cb)
			req->cb(nlh, req->data);
		break;
	}
}

int nlbatch_wait(struct nlbatch *b, struct rv_err *err)
{
	char buf[16384] __attribute__((aligned(8)));
	const struct nlbatch_req *fence = find_req(b, b->fence);

	while (fence && !fence->done) {
		ssize_t len = mnl_socket_recvfrom(b->nl->sock, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)len;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return err_set(err, RIVET_ERR_NETLINK, ETIMEDOUT,
					       "%s: no answer from the kernel within %u ms",
					       b->req[b->n - 1].what, NL_RECV_TIMEOUT_MS);
			return err_set(err, RIVET_ERR_NETLINK, errno, "cannot read from netlink: %s",
				       strerror(errno));
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			handle(b, nlh);
	}
	b->complete = true;
	b->failed = -1;
	for (unsigned i = 0; i < b->n; i++) {
		const struct nlbatch_req *req = &b->req[i];

		if (tolerated(req))
			continue;
		b->failed = (int)i;
		err_set(err, RIVET_ERR_NETLINK, -req->error, "%s: %s", req->what, strerror(-req->error));
		if (b->ext[0])
			err_details(err, "kernel: %s", b->ext);
		return req->error;
	}
	return 0;
}

int nlbatch_run(struct nlbatch *b, struct rv_err *err)
{
	int r = nlbatch_send(b, err);

	return r < 0 ? r : nlbatch_wait(b, err);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink requests through libmnl, sent in batches.
 *
 * A batch is a run of requests written into one buffer and sent with one
 * sendmsg(2); the kernel handles them in order, inside that system call,
 * answers each failure, and acknowledges the last request, so one
 * acknowledgement says all before it succeeded. nlbatch_run() collects the
 * answers (and the replies of GET requests) and reports the first failure
 * with the request's own description and the kernel's extended-ACK text.
 * Requests in a batch may depend on earlier ones (a route on a link the
 * batch brought up): the kernel has finished each before it reads the next.
 *
 * A failed request does not stop the batch: the kernel goes on with the
 * requests after it. A request that is only right if an earlier one
 * succeeded (naming, by its name, the link a create was to make) acts on
 * whatever it finds when that one failed; whatever decides such a thing
 * must be read in an earlier batch.
 *
 * A socket is bound to the netns it was created in; nlconn_open() can create it
 * in another one, so the pod is configured through its own socket and rivet
 * itself never stays in the pod's netns.
 *
 * Every receive on a netlink socket of rivet's is bounded (NL_RECV_TIMEOUT_MS):
 * the kernel answers a request inside the sendmsg(2) that carried it, so an
 * answer that has not come by then never will (nf_tables answers a
 * transaction it refuses whole only once, for its BATCH_BEGIN).
 */
#ifndef RIVET_NET_NLBATCH_H
#define RIVET_NET_NLBATCH_H

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct nlconn {
	struct mnl_socket *sock;
	unsigned portid;
	uint32_t seq;
};

#define NL_RECV_TIMEOUT_MS 10000

/* Bound every receive on the netlink socket @fd by NL_RECV_TIMEOUT_MS; a
 * receive that waits longer fails with EAGAIN. 0 or -errno. For sockets
 * made elsewhere (libnl's); nlconn_open() and nlconn_adopt() do it. */
int nl_bound_receives(int fd);

/* Open a socket of @bus (NETLINK_ROUTE, NETLINK_NETFILTER) in the netns of
 * @nsfd (-1: the current one). */
int nlconn_open(struct nlconn *nl, int bus, int nsfd, struct rv_err *err);

/* Take over a netlink socket @fd made elsewhere (e.g. in a netns the caller
 * had to enter anyway); closes it on failure. */
int nlconn_adopt(struct nlconn *nl, int fd, struct rv_err *err);
void nlconn_close(struct nlconn *nl);

/* The largest batch is the pod's: lo, up to 16 addresses, MTU and up, two
 * neighbours, three gateway routes, up to 32 IPAM routes, a read back:
 * 56. The command layer bounds addresses and routes to keep it so. */
#define NLBATCH_MAX 64
#define NLBATCH_BUF 32768

/* Errors a request may meet without failing the batch. */
enum {
	NLB_OK_EXIST = 1 << 0,
	NLB_OK_NOENT = 1 << 1,	/* ENOENT, ENODEV and ESRCH */
	NLB_OK_UNREACH = 1 << 2,	/* ENETUNREACH, EHOSTUNREACH: a lookup found no route */
};

struct nlbatch_req {
	uint32_t seq;
	unsigned ok;		/* NLB_OK_* */
	bool done;
	int error;		/* 0, or the kernel's -errno */
	mnl_cb_t cb;		/* for replies to a GET, may be NULL */
	void *data;
	char what[96];		/* what the request does, for messages */
};

struct nlbatch {
	struct nlconn *nl;
	char *buf;
	size_t len;		/* bytes of closed messages */
	size_t sent;		/* bytes already handed to the kernel */
	size_t zeroed;		/* bytes of buf known to be zero past len */
	struct nlmsghdr *open;	/* the message being filled */
	struct nlmsghdr *last;	/* the last message closed */
	uint32_t fence;		/* seq of the last request sent, the one acknowledged */
	unsigned n;
	struct nlbatch_req req[NLBATCH_MAX];
	int failed;		/* index of the first failed request, or -1 */
	bool complete;		/* all acknowledged: the next add starts afresh */
	/* The kernel's extended-ACK text of the first request that failed in
	 * earnest; one per batch, as only that failure is ever reported. */
	char ext[160];
};

/* @buf must hold NLBATCH_BUF bytes and outlive the batch. */
void nlbatch_init(struct nlbatch *b, struct nlconn *nl, char *buf);

/* Start a request of @type with @flags (NLM_F_REQUEST is added) and an extra header of @hdrlen zeroed bytes, which the function
 * returns for the caller to fill; attributes then go in with mnl_attr_put*
 * on nlbatch_msg_hdr(). */
void *nlbatch_add(struct nlbatch *b, uint16_t type, uint16_t flags, size_t hdrlen,
		   const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));

/* The message nlbatch_add() opened. */
struct nlmsghdr *nlbatch_msg_hdr(struct nlbatch *b);

/* Settings for the request just added. */
void nlbatch_ok(struct nlbatch *b, unsigned ok);
void nlbatch_on_reply(struct nlbatch *b, mnl_cb_t cb, void *data);

/* Send what is queued and collect every acknowledgement. Returns 0, or the
 * first failing request's -errno with @err naming it (code 101). The
 * requests stay readable (nlbatch_req) until the next nlbatch_add(),
 * which starts a new batch. */
int nlbatch_run(struct nlbatch *b, struct rv_err *err);

/* Only send; a later nlbatch_wait() collects. Lets two batches on two
 * sockets (host and pod) be in the kernel's hands at once. */
int nlbatch_send(struct nlbatch *b, struct rv_err *err);
int nlbatch_wait(struct nlbatch *b, struct rv_err *err);

/* The request at @idx, e.g. to read ->error after a failed run. */
static inline const struct nlbatch_req *nlbatch_req(const struct nlbatch *b, int idx)
{
	return idx >= 0 && (unsigned)idx < b->n ? &b->req[idx] : NULL;
}

#endif

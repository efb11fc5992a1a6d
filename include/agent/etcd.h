/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of etcd v3 through its JSON gateway, the grpc-gateway every
 * etcd since 3.3 serves beside gRPC on the client port:
 *
 *   POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn
 *   POST /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke,
 *        /v3/lease/timetolive
 *   POST /v3/watch  (a stream of JSON objects, one per response)
 *
 * HTTP and TLS are libcurl's (a CA file, a client certificate and key),
 * JSON is cJSON's. This module speaks etcd only: keys, values, revisions,
 * leases and watches; it knows nothing of nodes, ranges or routes.
 *
 * Unary calls are synchronous and bounded: each endpoint is given at most
 * the client's timeout, endpoints are tried in turn starting with the one
 * that last answered, and a call fails (with a message naming every
 * endpoint tried and why) only when none answered. An answer from etcd that
 * is an error (a gRPC status in the body) is not retried elsewhere, except
 * UNAVAILABLE: it is what a member cut off from its cluster says ("no
 * leader"), and another member may serve.
 *
 * Errors (every call): when no endpoint answered, code CNI_ERR_TRY_AGAIN
 * and the last endpoint's reason (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
 * -ECONNRESET, -EPROTO for an answer that is not etcd's gateway, -EAGAIN
 * for UNAVAILABLE), or code CNI_ERR_CONFIG and -EACCES when TLS failed at
 * some endpoint (etcd refused our certificate or the lack of one, or its
 * own did not verify): a configuration to fix, not an outage, though a
 * TLS etcd that drops a connection before answering reads the same. When
 * etcd refused: code CNI_ERR_IO, the errno of its gRPC status (-ENOENT for
 * NOT_FOUND, -EINVAL for INVALID_ARGUMENT, -ENOSPC, -EACCES, -ERANGE for a
 * compacted revision...) and etcd's own message. A call that timed out
 * after it was sent may still have been applied, and was then tried at the
 * next endpoint too: puts and creates are safe to repeat (a repeated create
 * finds the caller's own value), a repeated delete counts 0.
 *
 * HTTP proxies from the environment are not used: etcd is reached directly.
 *
 * The watch is the one long-lived request: it runs on a curl multi handle
 * whose sockets and timer the caller's event loop watches (see
 * etcd_set_loop), so a process can wait on etcd, netlink, signals and
 * timers in one epoll. Events are delivered from etcd_perform().
 *
 * Keys and values are text here (rivet stores JSON and names); the base64
 * encoding the gateway uses for bytes fields stays inside this module.
 * Every string returned is owned by the struct it is returned in.
 */
#ifndef RIVET_AGENT_ETCD_H
#define RIVET_AGENT_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define ETCD_DEFAULT_TIMEOUT_MS 5000u

struct etcd_opts {
	const char *endpoints;		/* "http://10.0.0.1:2379,https://h:2379" */
	const char *cafile;		/* PEM bundle to verify etcd, NULL: system's */
	const char *certfile;		/* client certificate (PEM), NULL: none */
	const char *keyfile;		/* its key (PEM), NULL: none */
	unsigned timeout_ms;		/* per request and endpoint, 0: default */
};

struct etcd;

/* Parse the endpoints (code 7 for a malformed list, an endpoint without
 * http:// or https://, a port, or with a path; a cert without key; a CA,
 * cert or key file that cannot be read, named in the message) and set up
 * libcurl; no connection is made yet. */
int etcd_open(struct etcd **out, const struct etcd_opts *o, struct rv_err *err);
void etcd_close(struct etcd *e);

/* The endpoint that answered last, for messages ("" before any). */
const char *etcd_endpoint(const struct etcd *e);

struct etcd_kv {
	char *key;			/* NUL-terminated */
	char *value;			/* NUL-terminated; value_len bytes before it */
	size_t value_len;
	int64_t create_rev;
	int64_t mod_rev;
	int64_t version;
	int64_t lease;			/* 0: none */
};

struct etcd_kvs {
	struct etcd_kv *v;
	size_t n;
	int64_t revision;		/* the store's revision when it answered */
};

void etcd_kv_done(struct etcd_kv *kv);
void etcd_kvs_done(struct etcd_kvs *kvs);

/* @key itself, or with @prefix every key that starts with @key, in key
 * order. Not found is success with n == 0. */
int etcd_get(struct etcd *e, const char *key, bool prefix, struct etcd_kvs *out, struct rv_err *err);

int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease, struct rv_err *err);

/* Delete @key, or every key under it with @prefix; *@deleted (may be NULL)
 * counts them. */
int etcd_delete(struct etcd *e, const char *key, bool prefix, int64_t *deleted,
		struct rv_err *err);

/* A transaction: if every comparison holds, the @then operations run, else
 * the @otherwise ones, atomically. */
enum etcd_target { ETCD_CREATE_REV, ETCD_MOD_REV, ETCD_VERSION, ETCD_VALUE, ETCD_LEASE };
enum etcd_cmp_op { ETCD_EQ, ETCD_NE, ETCD_LT, ETCD_GT };

struct etcd_cmp {
	const char *key;
	enum etcd_target target;
	enum etcd_cmp_op op;
	int64_t num;			/* for the revision, version and lease targets */
	const char *value;		/* for ETCD_VALUE */
};

enum etcd_op_type { ETCD_OP_GET, ETCD_OP_PUT, ETCD_OP_DELETE };

struct etcd_op {
	enum etcd_op_type type;
	const char *key;
	bool prefix;			/* GET and DELETE: every key under key */
	const char *value;		/* PUT */
	int64_t lease;			/* PUT; 0: none */
};

struct etcd_txn_result {
	bool succeeded;			/* the comparisons held: @then ran */
	int64_t revision;
	struct etcd_kvs got;		/* what the GETs of the branch that ran read, in order */
};

int etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *then,
	     size_t n_then, const struct etcd_op *otherwise, size_t n_otherwise,
	     struct etcd_txn_result *res, struct rv_err *err);
void etcd_txn_result_done(struct etcd_txn_result *res);

/* Put @key only if it does not exist. 1 created; 0 it exists, its current
 * kv in @cur (may be NULL; the caller frees it); -errno. */
int etcd_create(struct etcd *e, const char *key, const char *value, int64_t lease,
		struct etcd_kv *cur, struct rv_err *err);

/* Leases. -ENOENT (no message) when the lease does not exist (expired or
 * revoked); the caller decides what that means. */
/* The out-parameters of keepalive and ttl may be NULL. A TTL under 1 s is
 * refused (code 7); etcd raises a short one to its minimum (about 2 s with
 * its default election timeout). Over the gateway each keepalive is one
 * request with one answer: the renewal stream gRPC clients keep is not
 * there, so call it at a third of the TTL. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id, struct rv_err *err);
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_s, struct rv_err *err);
int etcd_lease_revoke(struct etcd *e, int64_t id, struct rv_err *err);
int etcd_lease_ttl(struct etcd *e, int64_t id, int64_t *remaining_s, int64_t *granted_s,
		   struct rv_err *err);

/* --- the watch, driven by the caller's event loop -------------------------- */

enum etcd_event_type { ETCD_EV_PUT, ETCD_EV_DELETE };

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;		/* for DELETE: key and mod_rev only */
};

struct etcd_watch_cb {
	/* A response's events, in revision order; @revision is the header's.
	 * @ev and what it points to live until the callback returns. */
	void (*events)(void *ctx, const struct etcd_event *ev, size_t n, int64_t revision);
	/* The watch ended and will not deliver more: -ESTALE when its start
	 * revision was compacted or etcd canceled it (list again, then watch
	 * from the list's revision + 1), -ECONNRESET when etcd went away
	 * (closed, killed, stopped), -ETIMEDOUT when the connection died in
	 * silence (TCP keepalive: within ~11 s) or no endpoint confirmed the
	 * watch in time, -EACCES for TLS, others as for unary calls. @msg
	 * says what happened and where. Not called after etcd_watch_stop.
	 * Both callbacks may call etcd_watch_stop or etcd_watch (not
	 * etcd_close); nothing of the old watch is delivered after that. */
	void (*ended)(void *ctx, int reason, const char *msg);
	void *ctx;
};

/* How the multi handle's sockets and timer reach the caller's loop; the
 * shape of CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION. @events is
 * a mask of ETCD_POLL_IN / ETCD_POLL_OUT, 0 to stop watching @fd (said
 * before the fd is closed); @ms is when to call etcd_perform(e, -1, 0), -1
 * for never. The timer is one-shot: every etcd_perform sets it again for
 * what is still due. Both may be called from any etcd_watch* and
 * etcd_perform call. */
#define ETCD_POLL_IN 1u
#define ETCD_POLL_OUT 2u
struct etcd_loop {
	void (*watch_fd)(void *ctx, int fd, unsigned events);
	void (*set_timer)(void *ctx, long ms);
	void *ctx;
};

/* Before etcd_watch (which refuses without a loop); the loop must outlive
 * the watch. */
void etcd_set_loop(struct etcd *e, const struct etcd_loop *loop);

/* Watch every key starting with @prefix from revision @start_rev (0: from
 * whenever etcd creates the watch, which may be later than the call when
 * an endpoint fails; give the list's revision + 1). One watch at a time; a
 * second call replaces the first. The watch starts at the endpoint that
 * last answered and moves to the next when one fails or does not confirm
 * the watch within the timeout; failures come through ended(), not here. */
int etcd_watch(struct etcd *e, const char *prefix, int64_t start_rev, const struct etcd_watch_cb *cb,
	       struct rv_err *err);
void etcd_watch_stop(struct etcd *e);
bool etcd_watching(const struct etcd *e);

/* Let curl work: @fd became ready with @events (ETCD_POLL_*), or the timer
 * fired (@fd -1). Calls the watch callbacks. */
void etcd_perform(struct etcd *e, int fd, unsigned events);

#endif

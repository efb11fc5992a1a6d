// SPDX-License-Identifier: Apache-2.0
/*
 * rivetd's etcd client: etcd v3's JSON gateway over libcurl, bodies through
 * cJSON (include/agent/etcd.h is the contract). It owns the HTTP requests,
 * the JSON mapping of etcd's protobuf messages and what an operator is told
 * when etcd cannot be reached; it knows nothing of nodes, ranges or routes,
 * and it never logs: every failure goes back in a struct rv_err.
 *
 * The gateway's JSON, as etcd 3.4 writes it: field names as in rpc.proto
 * (create_revision, not createRevision); int64 fields as decimal strings
 * (a lease ID does not fit a double); bytes fields (keys and values) in
 * base64; fields at their default value left out (a PUT event has no
 * "type", a lease that is gone answers a keepalive without "TTL"). A failed
 * unary call answers a non-200 status with {"error","message","code"},
 * code being the gRPC status; a stream (watch, keepalive) wraps each message
 * in {"result":...} and reports a failure in its middle as
 * {"error":{"grpc_code","http_code","message","http_status"}}.
 *
 * Base64 is OpenSSL's libcrypto (EVP_EncodeBlock, EVP_DecodeBlock):
 * libcurl-openssl has it loaded in the process already, so it costs neither
 * a new dependency at run time nor a hand-written codec.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "agent/etcd.h"
#include "json_stream.h"

/* A unary answer larger than this is not etcd's (its default request limit
 * is 1.5 MiB; a range of every node of a large cluster stays far below). */
#define ETCD_ANSWER_MAX (64u << 20)

/* TCP keepalive on the watch's connection: etcd says nothing on a quiet
 * watch, so without probes a peer that vanished (power, partition) would
 * leave the agent waiting on a dead stream forever. 5 s of silence, then a
 * probe every 2 s, 3 unanswered: a dead peer is noticed within ~11 s, for
 * one small packet per 5 s per agent. */
#define WATCH_KEEPIDLE_S 5L
#define WATCH_KEEPINTVL_S 2L
#define WATCH_KEEPCNT 3

struct body {
	char *p;
	size_t len, cap;
	bool too_big;
};

struct watch {
	CURL *h;
	char *body;		/* the create_request */
	char prefix[128];	/* for messages */
	struct etcd_watch_cb cb;
	struct json_stream js;
	size_t ep;		/* the endpoint in use */
	size_t tried;		/* endpoints that failed before answering */
	bool answered;		/* bytes came from the endpoint in use */
	bool created;		/* etcd confirmed the watch */
	int64_t created_due;	/* monotonic ms: no confirmation by then fails */
	int abort_errno;	/* why on_watch_data stopped the transfer */
	char why[512];		/* the endpoints that failed so far, and why */
	char errbuf[CURL_ERROR_SIZE];
};

struct etcd {
	char **ep;
	size_t n_ep;
	size_t cur;		/* the endpoint tried first: the last that answered */
	bool answered;
	char *cafile, *certfile, *keyfile;
	unsigned timeout_ms;

	CURL *h;		/* unary calls, one after another */
	struct curl_slist *headers;
	struct curl_slist *watch_headers;	/* the same, and: a leader or no watch */
	struct body answer;
	char errbuf[CURL_ERROR_SIZE];

	CURLM *multi;		/* the watch */
	struct etcd_loop loop;
	bool have_loop;
	int64_t curl_due;	/* monotonic ms when curl wants its timer, -1 none */
	struct watch *w;
	unsigned gen;		/* changes whenever the watch stops or starts */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append to a message buffer, cutting rather than overflowing. */
static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* ---- base64 and the JSON mapping ----------------------------------------- */

static char *b64_encode(const void *p, size_t n)
{
	char *out;

	if (n > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Decode @s into a new NUL-terminated buffer of *@len bytes. NULL when @s
 * is not base64 (or out of memory). */
static char *b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out;
	int r;

	if (n % 4 || n > INT_MAX)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	r = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	if (r < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as decoded zero bytes. */
	if (n && s[n - 1] == '=')
		r--;
	if (n > 1 && s[n - 2] == '=')
		r--;
	out[r] = '\0';
	*len = (size_t)r;
	return out;
}

static bool add_bytes(cJSON *o, const char *name, const void *p, size_t n)
{
	char *b = b64_encode(p, n);
	bool ok = b && cJSON_AddStringToObject(o, name, b);

	free(b);
	return ok;
}

static bool add_i64(cJSON *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return cJSON_AddStringToObject(o, name, s) != NULL;
}

/* @key, and with @prefix the end of the range of every key starting with
 * it: the key with its last byte that is not 0xff incremented and what
 * follows dropped. An empty prefix (or all 0xff) means every key, which
 * etcd spells key "\0", range_end "\0". */
static bool add_range(cJSON *o, const char *key, bool prefix)
{
	size_t n = strlen(key);
	char end[512], *e = end;
	bool ok;

	if (!prefix)
		return add_bytes(o, "key", key, n);
	if (n >= sizeof(end) && !(e = malloc(n)))
		return false;
	memcpy(e, key, n);
	while (n && (unsigned char)e[n - 1] == 0xff)
		n--;
	if (n) {
		e[n - 1]++;
		ok = add_bytes(o, "key", key, strlen(key)) && add_bytes(o, "range_end", e, n);
	} else {
		ok = add_bytes(o, "key", *key ? key : "", *key ? strlen(key) : 1) &&
		     add_bytes(o, "range_end", "", 1);
	}
	if (e != end)
		free(e);
	return ok;
}

/* An int64 field: absent is 0 (the gateway leaves defaults out). */
static bool get_i64(const cJSON *o, const char *name, int64_t *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);
	char *end;

	*v = 0;
	if (!j)
		return true;
	if (cJSON_IsNumber(j)) {
		*v = (int64_t)j->valuedouble;
		return true;
	}
	if (!cJSON_IsString(j) || !*j->valuestring)
		return false;
	errno = 0;
	*v = strtoll(j->valuestring, &end, 10);
	return !errno && !*end;
}

static int64_t header_revision(const cJSON *o)
{
	int64_t rev;

	if (!get_i64(cJSON_GetObjectItemCaseSensitive(o, "header"), "revision", &rev))
		return 0;
	return rev;
}

/* A bytes field, decoded; absent is empty. */
static char *get_bytes(const cJSON *o, const char *name, size_t *len)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	*len = 0;
	if (!j)
		return calloc(1, 1);
	if (!cJSON_IsString(j))
		return NULL;
	return b64_decode(j->valuestring, len);
}

void etcd_kv_done(struct etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_done(struct etcd_kvs *kvs)
{
	if (!kvs)
		return;
	for (size_t i = 0; i < kvs->n; i++)
		etcd_kv_done(&kvs->v[i]);
	free(kvs->v);
	memset(kvs, 0, sizeof(*kvs));
}

static bool kv_parse(const cJSON *j, struct etcd_kv *kv)
{
	size_t klen;

	memset(kv, 0, sizeof(*kv));
	if (!cJSON_IsObject(j))
		return false;
	kv->key = get_bytes(j, "key", &klen);
	kv->value = get_bytes(j, "value", &kv->value_len);
	if (kv->key && kv->value && get_i64(j, "create_revision", &kv->create_rev) &&
	    get_i64(j, "mod_revision", &kv->mod_rev) && get_i64(j, "version", &kv->version) &&
	    get_i64(j, "lease", &kv->lease))
		return true;
	etcd_kv_done(kv);
	return false;
}

/* Append the kvs of a RangeResponse to @out. */
static bool kvs_parse(const cJSON *range, struct etcd_kvs *out)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(range, "kvs"), *j;
	size_t n = (size_t)cJSON_GetArraySize(arr);
	struct etcd_kv *v;

	if (arr && !cJSON_IsArray(arr))
		return false;
	if (!n)
		return true;
	v = realloc(out->v, (out->n + n) * sizeof(*v));
	if (!v)
		return false;
	out->v = v;
	cJSON_ArrayForEach(j, arr) {
		if (!kv_parse(j, &out->v[out->n]))
			return false;
		out->n++;
	}
	return true;
}

/* ---- errors -------------------------------------------------------------- */

/* The gRPC status of an error answer in either of the gateway's shapes;
 * false when @j is not an error. */
static bool etcd_error(const cJSON *j, int *code, const char **msg)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *c, *m;

	if (cJSON_IsObject(err)) {		/* in a stream */
		c = cJSON_GetObjectItemCaseSensitive(err, "grpc_code");
		m = cJSON_GetObjectItemCaseSensitive(err, "message");
	} else if (err || cJSON_GetObjectItemCaseSensitive(j, "code")) {
		c = cJSON_GetObjectItemCaseSensitive(j, "code");
		m = cJSON_GetObjectItemCaseSensitive(j, "message");
		if (!cJSON_IsString(m))
			m = err;
	} else {
		return false;
	}
	*code = cJSON_IsNumber(c) ? c->valueint : 2;
	*msg = cJSON_IsString(m) ? m->valuestring : "(no message)";
	return true;
}

static int grpc_errno(int code)
{
	switch (code) {
	case 1: return ECANCELED;	/* CANCELLED */
	case 3: return EINVAL;		/* INVALID_ARGUMENT */
	case 4: return ETIMEDOUT;	/* DEADLINE_EXCEEDED */
	case 5: return ENOENT;		/* NOT_FOUND */
	case 6: return EEXIST;		/* ALREADY_EXISTS */
	case 7: return EACCES;		/* PERMISSION_DENIED */
	case 8: return ENOSPC;		/* RESOURCE_EXHAUSTED */
	case 9: return EINVAL;		/* FAILED_PRECONDITION */
	case 10: return EAGAIN;		/* ABORTED */
	case 11: return ERANGE;		/* OUT_OF_RANGE: a compacted revision */
	case 12: return EOPNOTSUPP;	/* UNIMPLEMENTED */
	case 14: return EAGAIN;		/* UNAVAILABLE */
	case 16: return EACCES;		/* UNAUTHENTICATED */
	default: return EIO;
	}
}

/* etcd refused our certificate, or the lack of one: @definite when its TLS
 * alert was read, else from the way it closed (see explain). */
static int refused_cert(const struct etcd *e, bool definite, char *out, size_t len)
{
	const char *how = definite ? "etcd refused" : "etcd dropped the TLS connection unanswered, "
		"as when it refuses";

	if (e->certfile)
		snprintf(out, len, "%s the client certificate %s (key %s): it must be signed by a CA "
			 "in etcd's --trusted-ca-file", how, e->certfile, e->keyfile);
	else
		snprintf(out, len, "%s a client without a certificate (etcd runs with "
			 "--client-cert-auth): give a certificate and key", how);
	return -EACCES;
}

/* Why a request failed before etcd answered, in words that say what to
 * fix; returns the -errno that stands for it. */
static int explain(const struct etcd *e, CURL *h, CURLcode rc, const char *curl_msg,
		   char *out, size_t len)
{
	long os = 0, status = 0;
	char *url = NULL;
	bool https;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);
	https = url && !strncmp(url, "https://", 8);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		snprintf(out, len, "cannot connect: %s", strerror(os ? (int)os : ECONNREFUSED));
		return -(os ? (int)os : ECONNREFUSED);
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, len, "no answer within %u ms", e->timeout_ms);
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(out, len, "cannot resolve the host name");
		return -EHOSTUNREACH;
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(curl_msg, "subject name") || strstr(curl_msg, "does not match"))
			snprintf(out, len, "etcd's certificate is not issued for this address");
		else if (e->cafile)
			snprintf(out, len, "etcd's certificate does not verify against the CA file %s",
				 e->cafile);
		else
			snprintf(out, len, "etcd's certificate does not verify against the system's "
				 "CAs; give the CA that signed it as the CA file");
		return -EACCES;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(out, len, "cannot load the CA file %s", e->cafile ? e->cafile : "(system's)");
		return -EACCES;
	case CURLE_SSL_CERTPROBLEM:
		snprintf(out, len, "cannot use the client certificate %s with the key %s",
			 e->certfile ? e->certfile : "(none)", e->keyfile ? e->keyfile : "(none)");
		return -EACCES;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		/* OpenSSL's words for a TLS alert from the peer. */
		if (strstr(curl_msg, "alert"))
			return refused_cert(e, true, out, len);
		if (rc == CURLE_SSL_CONNECT_ERROR) {
			snprintf(out, len, "TLS handshake failed (is it an http:// endpoint?)");
			return -EPROTO;
		}
		/* With TLS 1.3 the client's side of the handshake is done before
		 * etcd checks the certificate; etcd's alert and close can then
		 * reach us as a reset before the alert is read. A TLS connection
		 * that dies before any answer is read as that refusal. */
		if (https && !status)
			return refused_cert(e, false, out, len);
		if (rc == CURLE_GOT_NOTHING) {
			snprintf(out, len, "closed the connection without an answer (does etcd serve "
				 "https:// there?)");
			return -ECONNRESET;
		}
		snprintf(out, len, "connection lost: %s", os ? strerror((int)os) : "closed by etcd");
		return -(os ? (int)os : ECONNRESET);
	case CURLE_PARTIAL_FILE:
		snprintf(out, len, "etcd closed the connection in the middle of an answer");
		return -ECONNRESET;
	default:
		snprintf(out, len, "%s", curl_easy_strerror(rc));
		return -EIO;
	}
}

/* ---- opening ------------------------------------------------------------- */

/* One endpoint: http(s)://host:port with nothing after it but "/". curl's
 * own URL parser judges the syntax. */
static int endpoint_parse(const char *s, size_t n, char **out, struct rv_err *err)
{
	char *text = strndup(s, n), *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL, *user = NULL;
	CURLU *u = curl_url();
	int r = -ENOMEM;

	if (!text || !u)
		goto out;
	while (n && text[n - 1] == '/')
		text[--n] = '\0';
	r = err_set(err, CNI_ERR_CONFIG, EINVAL, "etcd endpoint '%s' is not http://HOST:PORT or "
		    "https://HOST:PORT", text);
	if (strncmp(text, "http://", 7) && strncmp(text, "https://", 8))
		goto out;
	if (curl_url_set(u, CURLUPART_URL, text, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host)
		goto out;
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if ((path && strcmp(path, "/")) || query || user)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0)) {
		r = err_set(err, CNI_ERR_CONFIG, EINVAL, "etcd endpoint '%s' has no port (etcd's is "
			    "usually 2379: %s:2379)", text, text);
		goto out;
	}
	*out = text;
	text = NULL;
	err_clear(err);
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(user);
	curl_url_cleanup(u);
	free(text);
	return r;
}

static int endpoints_parse(struct etcd *e, const char *list, struct rv_err *err)
{
	const char *p = list;

	if (!list || !*list)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "no etcd endpoints given");
	for (;;) {
		const char *end = strchrnul(p, ','), *a = p, *b = end;
		char **grown;
		int r;

		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a == b)
			return err_set(err, CNI_ERR_CONFIG, EINVAL, "empty entry in the etcd endpoints "
				       "'%s'", list);
		grown = realloc(e->ep, (e->n_ep + 1) * sizeof(*grown));
		if (!grown)
			return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
		e->ep = grown;
		r = endpoint_parse(a, (size_t)(b - a), &e->ep[e->n_ep], err);
		if (r < 0)
			return r == -ENOMEM ? err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory") : r;
		e->n_ep++;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int file_option(const char *path, const char *what, char **out, struct rv_err *err)
{
	if (!path)
		return 0;
	if (access(path, R_OK) < 0)
		return err_set(err, CNI_ERR_CONFIG, errno, "cannot read the etcd %s %s: %s", what, path,
			       strerror(errno));
	*out = strdup(path);
	return *out ? 0 : err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
}

/* What every request of this client shares: TLS files, timeouts, headers. */
static int setup_handle(struct etcd *e, CURL *h)
{
	bool ok = true;

	/* HTTP/1.1: one request per connection, so the watch's connection and
	 * its keepalive belong to the watch alone. */
	ok &= !curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	ok &= !curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	ok &= !curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* etcd is reached directly; a node's HTTP_PROXY is for the outside. */
	ok &= !curl_easy_setopt(h, CURLOPT_PROXY, "");
	ok &= !curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers);
	ok &= !curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
	if (e->cafile)
		ok &= !curl_easy_setopt(h, CURLOPT_CAINFO, e->cafile);
	if (e->certfile) {
		ok &= !curl_easy_setopt(h, CURLOPT_SSLCERT, e->certfile);
		ok &= !curl_easy_setopt(h, CURLOPT_SSLKEY, e->keyfile);
	}
	return ok ? 0 : -ENOMEM;
}

static size_t on_body(char *p, size_t size, size_t n, void *userp)
{
	struct body *b = userp;
	size_t len = size * n;

	if (b->len + len + 1 > ETCD_ANSWER_MAX) {
		b->too_big = true;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap < b->len + len + 1)
			cap *= 2;
		grown = realloc(b->p, cap);
		if (!grown)
			return 0;
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

static int on_timer(CURLM *m, long ms, void *userp);
static int on_socket(CURL *h, curl_socket_t fd, int what, void *userp, void *socketp);

int etcd_open(struct etcd **out, const struct etcd_opts *o, struct rv_err *err)
{
	struct etcd *e;
	bool ok = true;
	int r;

	*out = NULL;
	if (!!o->certfile != !!o->keyfile)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "an etcd client certificate needs its key "
			       "and a key its certificate (certificate %s, key %s)",
			       o->certfile ? o->certfile : "not given", o->keyfile ? o->keyfile : "not given");
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "cannot initialise libcurl");
	e = calloc(1, sizeof(*e));
	if (!e) {
		curl_global_cleanup();
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	}
	e->timeout_ms = o->timeout_ms ? o->timeout_ms : ETCD_DEFAULT_TIMEOUT_MS;
	e->curl_due = -1;
	r = endpoints_parse(e, o->endpoints, err);
	if (!r)
		r = file_option(o->cafile, "CA file", &e->cafile, err);
	if (!r)
		r = file_option(o->certfile, "client certificate", &e->certfile, err);
	if (!r)
		r = file_option(o->keyfile, "client key", &e->keyfile, err);
	if (r < 0)
		goto fail;

	/* Expect: 100-continue would cost a round trip on larger bodies. */
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	ok &= e->headers && curl_slist_append(e->headers, "Expect:");
	/* A member cut off from its cluster serves a watch but sends nothing
	 * on it, for as long as the cut lasts. Asked to (the gateway passes
	 * Grpc-Metadata-* on as gRPC metadata), etcd refuses a watch without
	 * a leader and ends one whose member loses it; the agent then watches
	 * on another member. */
	e->watch_headers = curl_slist_append(NULL, "Content-Type: application/json");
	ok &= e->watch_headers && curl_slist_append(e->watch_headers, "Expect:") &&
	      curl_slist_append(e->watch_headers, "Grpc-Metadata-hasleader: true");
	ok &= (e->h = curl_easy_init()) && !setup_handle(e, e->h);
	ok &= !curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	ok &= !curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_body);
	ok &= !curl_easy_setopt(e->h, CURLOPT_WRITEDATA, &e->answer);
	ok &= !curl_easy_setopt(e->h, CURLOPT_ERRORBUFFER, e->errbuf);
	ok &= (e->multi = curl_multi_init()) != NULL;
	ok &= !curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	ok &= !curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	ok &= !curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	ok &= !curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	if (!ok) {
		r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "cannot set up libcurl");
		goto fail;
	}
	*out = e;
	return 0;
fail:
	etcd_close(e);
	return r;
}

void etcd_close(struct etcd *e)
{
	if (!e)
		return;
	etcd_watch_stop(e);
	/* No callback into a loop that may be gone once we are. */
	e->have_loop = false;
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->h)
		curl_easy_cleanup(e->h);
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->watch_headers);
	for (size_t i = 0; i < e->n_ep; i++)
		free(e->ep[i]);
	free(e->ep);
	free(e->cafile);
	free(e->certfile);
	free(e->keyfile);
	free(e->answer.p);
	free(e);
	curl_global_cleanup();
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->answered ? e->ep[e->cur] : "";
}

/* ---- unary calls --------------------------------------------------------- */

/*
 * POST @req to @path, endpoint after endpoint starting with the last that
 * answered, until one answers. etcd's own refusal ends the call there (-errno
 * of its gRPC status, the message etcd's), except UNAVAILABLE: that is what a
 * member cut off from its cluster says, and another member may serve. *@out
 * is the answer (the caller deletes it). @what names the call in messages.
 */
static int etcd_call(struct etcd *e, const char *path, cJSON *req, const char *what, cJSON **out,
		     struct rv_err *err)
{
	char *body = cJSON_PrintUnformatted(req), url[1024], reason[512];
	char why[512] = "", details[512] = "";
	bool config = false;
	int r = -ENOMEM;

	*out = NULL;
	if (!body)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	for (size_t i = 0; i < e->n_ep; i++) {
		size_t idx = (e->cur + i) % e->n_ep;
		const char *ep = e->ep[idx], *msg;
		long status = 0;
		CURLcode rc;
		cJSON *j;
		int code;

		snprintf(url, sizeof(url), "%s%s", ep, path);
		e->answer.len = 0;
		e->answer.too_big = false;
		e->errbuf[0] = '\0';
		if (curl_easy_setopt(e->h, CURLOPT_URL, url) ||
		    curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, body)) {
			r = err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
			goto out;
		}
		rc = curl_easy_perform(e->h);
		if (rc == CURLE_WRITE_ERROR && e->answer.too_big) {
			snprintf(reason, sizeof(reason), "answer larger than %u MiB", ETCD_ANSWER_MAX >> 20);
			r = -EMSGSIZE;
		} else if (rc != CURLE_OK) {
			r = explain(e, e->h, rc, e->errbuf, reason, sizeof(reason));
			config |= r == -EACCES;
		}
		if (rc != CURLE_OK) {
			append(why, sizeof(why), "%s%s: %s", *why ? "; " : "", ep, reason);
			append(details, sizeof(details), "%s%s: %s", *details ? "; " : "", ep,
			       *e->errbuf ? e->errbuf : curl_easy_strerror(rc));
			continue;
		}
		curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &status);
		j = e->answer.len ? cJSON_ParseWithLength(e->answer.p, e->answer.len) : NULL;
		if (!cJSON_IsObject(j)) {
			/* Something answered, but not etcd's gateway (or not 3.4's). */
			append(why, sizeof(why), "%s%s: answered HTTP %ld, not etcd's JSON gateway "
			       "(etcd 3.4 or later?)", *why ? "; " : "", ep, status);
			append(details, sizeof(details), "%s%s: %.80s", *details ? "; " : "", ep,
			       e->answer.len ? e->answer.p : "(empty)");
			cJSON_Delete(j);
			r = -EPROTO;
			continue;
		}
		if (etcd_error(j, &code, &msg) && code == 14) {
			append(why, sizeof(why), "%s%s: %s", *why ? "; " : "", ep, msg);
			cJSON_Delete(j);
			r = -EAGAIN;
			continue;
		}
		if (status != 200 && !etcd_error(j, &code, &msg)) {
			append(why, sizeof(why), "%s%s: answered HTTP %ld, not etcd's JSON gateway",
			       *why ? "; " : "", ep, status);
			cJSON_Delete(j);
			r = -EPROTO;
			continue;
		}
		e->cur = idx;
		e->answered = true;
		if (etcd_error(j, &code, &msg)) {
			r = err_set(err, CNI_ERR_IO, grpc_errno(code), "etcd refused %s: %s", what, msg);
			err_details(err, "endpoint %s, HTTP %ld, gRPC code %d", ep, status, code);
			cJSON_Delete(j);
			goto out;
		}
		*out = j;
		r = 0;
		goto out;
	}
	r = err_set(err, config ? CNI_ERR_CONFIG : CNI_ERR_TRY_AGAIN, config ? EACCES : -r,
		    "etcd unreachable for %s: %s", what, why);
	err_details(err, "%s", details);
out:
	free(body);
	return r;
}

static int malformed(struct etcd *e, const char *what, struct rv_err *err)
{
	return err_set(err, RIVET_ERR_INTERNAL, EPROTO, "etcd at %s sent a malformed answer to %s",
		       etcd_endpoint(e), what);
}

static int oom(struct rv_err *err)
{
	return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
}

int etcd_get(struct etcd *e, const char *key, bool prefix, struct etcd_kvs *out, struct rv_err *err)
{
	cJSON *req = cJSON_CreateObject(), *ans = NULL;
	char what[200];
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "get %.150s%s", key, prefix ? " (prefix)" : "");
	if (!req || !add_range(req, key, prefix)) {
		r = oom(err);
		goto out;
	}
	r = etcd_call(e, "/v3/kv/range", req, what, &ans, err);
	if (r < 0)
		goto out;
	out->revision = header_revision(ans);
	/* The revision is where a watch goes on from: without it, a watch
	 * would start at the store's beginning, long compacted. */
	if (out->revision <= 0 || !kvs_parse(ans, out)) {
		etcd_kvs_done(out);
		r = malformed(e, what, err);
	}
out:
	cJSON_Delete(req);
	cJSON_Delete(ans);
	return r;
}

static bool put_json(cJSON *o, const char *key, const char *value, int64_t lease)
{
	return add_bytes(o, "key", key, strlen(key)) && add_bytes(o, "value", value, strlen(value)) &&
	       (!lease || add_i64(o, "lease", lease));
}

int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease, struct rv_err *err)
{
	cJSON *req = cJSON_CreateObject(), *ans = NULL;
	char what[200];
	int r;

	snprintf(what, sizeof(what), "put %.150s", key);
	if (!req || !put_json(req, key, value, lease))
		r = oom(err);
	else
		r = etcd_call(e, "/v3/kv/put", req, what, &ans, err);
	cJSON_Delete(req);
	cJSON_Delete(ans);
	return r;
}

int etcd_delete(struct etcd *e, const char *key, bool prefix, int64_t *deleted, struct rv_err *err)
{
	cJSON *req = cJSON_CreateObject(), *ans = NULL;
	char what[200];
	int64_t n = 0;
	int r;

	snprintf(what, sizeof(what), "delete %.150s%s", key, prefix ? " (prefix)" : "");
	if (!req || !add_range(req, key, prefix)) {
		r = oom(err);
		goto out;
	}
	r = etcd_call(e, "/v3/kv/deleterange", req, what, &ans, err);
	if (!r && !get_i64(ans, "deleted", &n))
		r = malformed(e, what, err);
out:
	if (deleted)
		*deleted = r < 0 ? 0 : n;
	cJSON_Delete(req);
	cJSON_Delete(ans);
	return r;
}

/* ---- transactions -------------------------------------------------------- */

static cJSON *cmp_json(const struct etcd_cmp *c)
{
	static const char *const targets[] = {
		[ETCD_CREATE_REV] = "CREATE", [ETCD_MOD_REV] = "MOD", [ETCD_VERSION] = "VERSION",
		[ETCD_VALUE] = "VALUE", [ETCD_LEASE] = "LEASE",
	};
	static const char *const fields[] = {
		[ETCD_CREATE_REV] = "create_revision", [ETCD_MOD_REV] = "mod_revision",
		[ETCD_VERSION] = "version", [ETCD_LEASE] = "lease",
	};
	static const char *const ops[] = {
		[ETCD_EQ] = "EQUAL", [ETCD_NE] = "NOT_EQUAL", [ETCD_LT] = "LESS", [ETCD_GT] = "GREATER",
	};
	cJSON *o;
	bool ok;

	if ((unsigned)c->target > ETCD_LEASE || (unsigned)c->op > ETCD_GT)
		return NULL;
	o = cJSON_CreateObject();
	ok = o && add_bytes(o, "key", c->key, strlen(c->key)) &&
	     cJSON_AddStringToObject(o, "target", targets[c->target]) &&
	     cJSON_AddStringToObject(o, "result", ops[c->op]);
	if (ok && c->target == ETCD_VALUE)
		ok = add_bytes(o, "value", c->value ? c->value : "", c->value ? strlen(c->value) : 0);
	else if (ok)
		ok = add_i64(o, fields[c->target], c->num);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *op_json(const struct etcd_op *op)
{
	cJSON *o = cJSON_CreateObject(), *req = NULL;
	bool ok = false;

	switch (op->type) {
	case ETCD_OP_GET:
		req = cJSON_AddObjectToObject(o, "request_range");
		ok = req && add_range(req, op->key, op->prefix);
		break;
	case ETCD_OP_PUT:
		req = cJSON_AddObjectToObject(o, "request_put");
		ok = req && put_json(req, op->key, op->value ? op->value : "", op->lease);
		break;
	case ETCD_OP_DELETE:
		req = cJSON_AddObjectToObject(o, "request_delete_range");
		ok = req && add_range(req, op->key, op->prefix);
		break;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool ops_json(cJSON *req, const char *name, const struct etcd_op *ops, size_t n)
{
	cJSON *arr;

	if (!n)
		return true;
	arr = cJSON_AddArrayToObject(req, name);
	if (!arr)
		return false;
	for (size_t i = 0; i < n; i++) {
		cJSON *o = op_json(&ops[i]);

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			return false;
		}
	}
	return true;
}

int etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *then,
	     size_t n_then, const struct etcd_op *otherwise, size_t n_otherwise,
	     struct etcd_txn_result *res, struct rv_err *err)
{
	cJSON *req = cJSON_CreateObject(), *ans = NULL, *arr, *j;
	const char *what = "a transaction";
	char whatbuf[200];
	int r;

	memset(res, 0, sizeof(*res));
	if (n_cmp) {
		snprintf(whatbuf, sizeof(whatbuf), "a transaction on %.150s", cmp[0].key);
		what = whatbuf;
	}
	arr = req ? cJSON_AddArrayToObject(req, "compare") : NULL;
	if (!arr)
		goto nomem;
	for (size_t i = 0; i < n_cmp; i++) {
		cJSON *o = cmp_json(&cmp[i]);

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto nomem;
		}
	}
	if (!ops_json(req, "success", then, n_then) || !ops_json(req, "failure", otherwise, n_otherwise))
		goto nomem;
	r = etcd_call(e, "/v3/kv/txn", req, what, &ans, err);
	if (r < 0)
		goto out;
	j = cJSON_GetObjectItemCaseSensitive(ans, "succeeded");
	res->succeeded = cJSON_IsTrue(j);
	res->revision = header_revision(ans);
	res->got.revision = res->revision;
	cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(ans, "responses")) {
		const cJSON *range = cJSON_GetObjectItemCaseSensitive(j, "response_range");

		if (range && !kvs_parse(range, &res->got)) {
			etcd_txn_result_done(res);
			r = malformed(e, what, err);
			goto out;
		}
	}
	goto out;
nomem:
	r = oom(err);
out:
	cJSON_Delete(req);
	cJSON_Delete(ans);
	return r;
}

void etcd_txn_result_done(struct etcd_txn_result *res)
{
	if (!res)
		return;
	etcd_kvs_done(&res->got);
	memset(res, 0, sizeof(*res));
}

int etcd_create(struct etcd *e, const char *key, const char *value, int64_t lease,
		struct etcd_kv *cur, struct rv_err *err)
{
	/* The key's create revision is 0 while it does not exist. */
	const struct etcd_cmp absent = { .key = key, .target = ETCD_CREATE_REV, .op = ETCD_EQ };
	const struct etcd_op put = { .type = ETCD_OP_PUT, .key = key, .value = value, .lease = lease };
	const struct etcd_op get = { .type = ETCD_OP_GET, .key = key };
	struct etcd_txn_result res;
	int r;

	if (cur)
		memset(cur, 0, sizeof(*cur));
	r = etcd_txn(e, &absent, 1, &put, 1, &get, 1, &res, err);
	if (r < 0)
		return r;
	if (res.succeeded) {
		r = 1;
	} else if (res.got.n != 1) {
		/* The comparison and the read are one atomic step: a key that
		 * exists for one exists for the other. */
		r = err_set(err, RIVET_ERR_INTERNAL, EPROTO, "etcd at %s said %.150s exists but did "
			    "not return it", etcd_endpoint(e), key);
	} else {
		if (cur) {
			*cur = res.got.v[0];
			memset(&res.got.v[0], 0, sizeof(res.got.v[0]));
		}
		r = 0;
	}
	etcd_txn_result_done(&res);
	return r;
}

/* ---- leases -------------------------------------------------------------- */

/* A lease call: {"ID": id} (and TTL) to @path. -ENOENT without a message
 * when etcd does not know the lease. */
static int lease_call(struct etcd *e, const char *path, int64_t id, int64_t ttl, const char *what,
		      cJSON **ans, struct rv_err *err)
{
	cJSON *req = cJSON_CreateObject();
	int r;

	if (!req || (id && !add_i64(req, "ID", id)) || (ttl && !add_i64(req, "TTL", ttl))) {
		cJSON_Delete(req);
		return oom(err);
	}
	r = etcd_call(e, path, req, what, ans, err);
	cJSON_Delete(req);
	if (r == -ENOENT)
		err_clear(err);
	return r;
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id, struct rv_err *err)
{
	const cJSON *msg;
	cJSON *ans;
	int r;

	*id = 0;
	if (ttl_s <= 0)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "a lease needs a TTL of 1 s or more, not %"
			       PRId64, ttl_s);
	r = lease_call(e, "/v3/lease/grant", 0, ttl_s, "a lease grant", &ans, err);
	if (r < 0)
		return r;
	msg = cJSON_GetObjectItemCaseSensitive(ans, "error");
	if (cJSON_IsString(msg) && *msg->valuestring)
		r = err_set(err, CNI_ERR_IO, EIO, "etcd refused a lease grant: %s", msg->valuestring);
	else if (!get_i64(ans, "ID", id) || !*id)
		r = malformed(e, "a lease grant", err);
	cJSON_Delete(ans);
	return r;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_s, struct rv_err *err)
{
	const cJSON *res;
	char what[64];
	int64_t ttl = 0;
	cJSON *ans;
	int r;

	snprintf(what, sizeof(what), "a keepalive of lease %" PRIx64, (uint64_t)id);
	r = lease_call(e, "/v3/lease/keepalive", id, 0, what, &ans, err);
	if (r < 0)
		goto out;
	/* A stream on the gateway: the one answer comes as {"result": ...}. A
	 * lease that is gone answers without a TTL (0, left out). */
	res = cJSON_GetObjectItemCaseSensitive(ans, "result");
	if (!cJSON_IsObject(res) || !get_i64(res, "TTL", &ttl))
		r = malformed(e, what, err);
	else if (ttl <= 0)
		r = -ENOENT;
	cJSON_Delete(ans);
out:
	if (ttl_s)
		*ttl_s = r < 0 ? 0 : ttl;
	return r;
}

int etcd_lease_revoke(struct etcd *e, int64_t id, struct rv_err *err)
{
	char what[64];
	cJSON *ans;
	int r;

	snprintf(what, sizeof(what), "a revoke of lease %" PRIx64, (uint64_t)id);
	r = lease_call(e, "/v3/lease/revoke", id, 0, what, &ans, err);
	if (!r)
		cJSON_Delete(ans);
	return r;
}

int etcd_lease_ttl(struct etcd *e, int64_t id, int64_t *remaining_s, int64_t *granted_s,
		   struct rv_err *err)
{
	int64_t ttl = 0, granted = 0;
	char what[64];
	cJSON *ans;
	int r;

	snprintf(what, sizeof(what), "the TTL of lease %" PRIx64, (uint64_t)id);
	r = lease_call(e, "/v3/lease/timetolive", id, 0, what, &ans, err);
	if (r < 0)
		goto out;
	/* An unknown lease is not an error here: its TTL is -1. */
	if (!get_i64(ans, "TTL", &ttl) || !get_i64(ans, "grantedTTL", &granted))
		r = malformed(e, what, err);
	else if (ttl < 0)
		r = -ENOENT;
	cJSON_Delete(ans);
out:
	if (remaining_s)
		*remaining_s = r < 0 ? 0 : ttl;
	if (granted_s)
		*granted_s = r < 0 ? 0 : granted;
	return r;
}

/* ---- the watch ----------------------------------------------------------- */

static void push_timer(struct etcd *e)
{
	int64_t due = e->curl_due, now;

	if (e->w && !e->w->created && (due < 0 || e->w->created_due < due))
		due = e->w->created_due;
	if (!e->have_loop)
		return;
	if (due < 0) {
		e->loop.set_timer(e->loop.ctx, -1);
		return;
	}
	now = now_ms();
	e->loop.set_timer(e->loop.ctx, due > now ? (long)(due - now) : 0);
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	struct etcd *e = userp;

	e->curl_due = ms < 0 ? -1 : now_ms() + ms;
	push_timer(e);
	return 0;
}

static int on_socket(CURL *h, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct etcd *e = userp;
	unsigned events = 0;

	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= ETCD_POLL_IN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= ETCD_POLL_OUT;
	if (e->have_loop)
		e->loop.watch_fd(e->loop.ctx, fd, events);
	return 0;
}

void etcd_set_loop(struct etcd *e, const struct etcd_loop *loop)
{
	e->have_loop = loop && loop->watch_fd && loop->set_timer;
	if (e->have_loop)
		e->loop = *loop;
}

/* curl offers no option for the count of keepalive probes (before 8.9). */
static int on_sockopt(void *userp, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = WATCH_KEEPCNT;

	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

static size_t on_watch_data(char *p, size_t size, size_t n, void *userp)
{
	struct watch *w = userp;
	int r;

	w->answered = true;
	r = json_stream_feed(&w->js, p, size * n);
	if (r < 0) {
		w->abort_errno = -r;
		return 0;
	}
	return size * n;
}

static void watch_free(struct etcd *e, struct watch *w)
{
	if (!w)
		return;
	if (w->h) {
		curl_multi_remove_handle(e->multi, w->h);
		curl_easy_cleanup(w->h);
	}
	json_stream_done(&w->js);
	free(w->body);
	free(w);
}

/* End the watch and tell the caller, who may start another from ended(). */
static void watch_end(struct etcd *e, int reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void watch_end(struct etcd *e, int reason, const char *fmt, ...)
{
	struct etcd_watch_cb cb = e->w->cb;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	watch_free(e, e->w);
	e->w = NULL;
	e->gen++;
	push_timer(e);
	cb.ended(cb.ctx, reason, msg);
}

/* Start (or restart, on the next endpoint) the watch's transfer. */
static int watch_transfer(struct etcd *e, struct watch *w)
{
	char url[1024];
	bool ok = true;

	if (!w->h) {
		ok &= (w->h = curl_easy_init()) && !setup_handle(e, w->h);
		ok &= !curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, e->watch_headers);
		ok &= !curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, w->body);
		ok &= !curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_watch_data);
		ok &= !curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
		ok &= !curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, w->errbuf);
		ok &= !curl_easy_setopt(w->h, CURLOPT_TCP_KEEPALIVE, 1L);
		ok &= !curl_easy_setopt(w->h, CURLOPT_TCP_KEEPIDLE, WATCH_KEEPIDLE_S);
		ok &= !curl_easy_setopt(w->h, CURLOPT_TCP_KEEPINTVL, WATCH_KEEPINTVL_S);
		ok &= !curl_easy_setopt(w->h, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
		/* A watch lives as long as it is wanted: no total timeout. */
		ok &= !curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, 0L);
	} else {
		curl_multi_remove_handle(e->multi, w->h);
	}
	snprintf(url, sizeof(url), "%s/v3/watch", e->ep[w->ep]);
	ok &= !curl_easy_setopt(w->h, CURLOPT_URL, url);
	if (!ok)
		return -ENOMEM;
	json_stream_done(&w->js);
	w->answered = false;
	w->created = false;
	w->abort_errno = 0;
	w->errbuf[0] = '\0';
	/* The connect timeout covers TCP and TLS; this covers an endpoint that
	 * accepts the connection and never answers the request. */
	w->created_due = now_ms() + e->timeout_ms;
	if (curl_multi_add_handle(e->multi, w->h))
		return -ENOMEM;
	push_timer(e);
	return 0;
}

/* The endpoint in use failed: try the next one not yet tried, or end. */
static void watch_failed(struct etcd *e, int r, const char *reason)
{
	struct watch *w = e->w;

	append(w->why, sizeof(w->why), "%s%s: %s", *w->why ? "; " : "", e->ep[w->ep], reason);
	if (!w->answered && ++w->tried < e->n_ep) {
		w->ep = (w->ep + 1) % e->n_ep;
		/* The next call starts where the watch goes on. */
		e->cur = w->ep;
		if (!watch_transfer(e, w))
			return;
		r = -ENOMEM;
	}
	if (w->created)
		watch_end(e, r, "the watch of %s ended: %s", w->prefix, w->why);
	else
		watch_end(e, r, "cannot watch %s: %s", w->prefix, w->why);
}

int etcd_watch(struct etcd *e, const char *prefix, int64_t start_rev, const struct etcd_watch_cb *cb,
	       struct rv_err *err)
{
	cJSON *req = cJSON_CreateObject(), *create;
	struct watch *w;
	int r;

	etcd_watch_stop(e);
	if (!e->have_loop || !cb->events || !cb->ended) {
		cJSON_Delete(req);
		return err_set(err, RIVET_ERR_INTERNAL, EINVAL, "etcd_watch needs an event loop "
			       "(etcd_set_loop) and both callbacks");
	}
	w = calloc(1, sizeof(*w));
	create = req ? cJSON_AddObjectToObject(req, "create_request") : NULL;
	if (!w || !create || !add_range(create, prefix, true) ||
	    (start_rev > 0 && !add_i64(create, "start_revision", start_rev)) ||
	    !(w->body = cJSON_PrintUnformatted(req))) {
		r = oom(err);
		goto fail;
	}
	w->cb = *cb;
	w->ep = e->cur;
	snprintf(w->prefix, sizeof(w->prefix), "%s", prefix);
	e->w = w;
	e->gen++;
	r = watch_transfer(e, w);
	if (r < 0) {
		e->w = NULL;
		r = oom(err);
		goto fail;
	}
	cJSON_Delete(req);
	return 0;
fail:
	watch_free(e, w);
	cJSON_Delete(req);
	return r;
}

void etcd_watch_stop(struct etcd *e)
{
	if (!e->w)
		return;
	watch_free(e, e->w);
	e->w = NULL;
	e->gen++;
	push_timer(e);
}

bool etcd_watching(const struct etcd *e)
{
	return e->w != NULL;
}

static bool event_parse(const cJSON *j, struct etcd_event *ev)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");

	/* PUT is the enum's default, so the gateway leaves it out. */
	if (!type || (cJSON_IsString(type) && !strcmp(type->valuestring, "PUT")))
		ev->type = ETCD_EV_PUT;
	else if (cJSON_IsString(type) && !strcmp(type->valuestring, "DELETE"))
		ev->type = ETCD_EV_DELETE;
	else
		return false;
	return kv_parse(cJSON_GetObjectItemCaseSensitive(j, "kv"), &ev->kv);
}

/* One WatchResponse (or an error) from the stream. */
static void watch_response(struct etcd *e, const cJSON *j)
{
	struct watch *w = e->w;
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result"), *arr, *it;
	const char *ep = e->ep[w->ep], *msg;
	struct etcd_event *ev;
	int64_t compacted;
	size_t n = 0;
	int code;

	if (etcd_error(j, &code, &msg)) {
		/* UNAVAILABLE is etcd going away ("transport is closing"). */
		watch_end(e, code == 14 || code == 1 ? -ECONNRESET : -grpc_errno(code),
			  "etcd at %s ended the watch of %s: %s", ep, w->prefix, msg);
		return;
	}
	if (!cJSON_IsObject(res) || !get_i64(res, "compact_revision", &compacted)) {
		watch_end(e, -EPROTO, "etcd at %s sent a malformed watch response", ep);
		return;
	}
	if (compacted > 0) {
		watch_end(e, -ESTALE, "the watch of %s starts at a compacted revision (the oldest left "
			  "is %" PRId64 "): list again, then watch from there", w->prefix, compacted);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
		it = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");
		watch_end(e, -ESTALE, "etcd at %s canceled the watch of %s: %s", ep, w->prefix,
			  cJSON_IsString(it) ? it->valuestring : "no reason given");
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "created"))) {
		w->created = true;
		w->tried = 0;
		e->cur = w->ep;
		e->answered = true;
		push_timer(e);
	}
	arr = cJSON_GetObjectItemCaseSensitive(res, "events");
	if (!cJSON_GetArraySize(arr))
		return;
	ev = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*ev));
	if (!ev) {
		watch_end(e, -ENOMEM, "out of memory for the events of the watch of %s", w->prefix);
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!event_parse(it, &ev[n]))
			break;
		n++;
	}
	if (n == (size_t)cJSON_GetArraySize(arr))
		w->cb.events(w->cb.ctx, ev, n, header_revision(res));
	else
		watch_end(e, -EPROTO, "etcd at %s sent a malformed watch event", ep);
	for (size_t i = 0; i < n; i++)
		etcd_kv_done(&ev[i].kv);
	free(ev);
}

/* Hand every complete object to watch_response, until the stream runs dry
 * or a callback stopped or replaced the watch. */
static void watch_deliver(struct etcd *e)
{
	unsigned gen = e->gen;

	while (e->w && e->gen == gen) {
		struct watch *w = e->w;
		const char *obj;
		size_t len;
		long status = 0;
		cJSON *j;
		int r;

		r = json_stream_next(&w->js, &obj, &len);
		if (!r)
			return;
		if (r < 0) {
			curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
			watch_end(e, -EPROTO, "%s answered the watch with HTTP %ld and no JSON stream: "
				  "is it etcd 3.4 or later?", e->ep[w->ep], status);
			return;
		}
		j = cJSON_ParseWithLength(obj, len);
		if (!j) {
			watch_end(e, -EPROTO, "etcd at %s sent malformed JSON on the watch",
				  e->ep[w->ep]);
			return;
		}
		watch_response(e, j);
		cJSON_Delete(j);
	}
}

/* The transfer ended: etcd closed the stream, or the connection failed. */
static void watch_done(struct etcd *e, CURLcode rc)
{
	struct watch *w = e->w;
	char reason[512];
	int r;

	if (rc == CURLE_OK) {
		watch_end(e, -ECONNRESET, "etcd at %s closed the watch of %s%s", e->ep[w->ep],
			  w->prefix, json_stream_pending(&w->js) ? " in the middle of a response" : "");
		return;
	}
	if (rc == CURLE_WRITE_ERROR && w->abort_errno) {
		watch_end(e, -w->abort_errno, "the watch of %s: %s", w->prefix,
			  w->abort_errno == EMSGSIZE ? "a watch response larger than 64 MiB" :
			  strerror(w->abort_errno));
		return;
	}
	r = explain(e, w->h, rc, w->errbuf, reason, sizeof(reason));
	watch_failed(e, r, reason);
}

void etcd_perform(struct etcd *e, int fd, unsigned events)
{
	int running, mask = 0, queued;
	unsigned gen = e->gen;
	CURLMsg *m;

	if (fd < 0) {
		struct watch *w = e->w;

		/* curl's timer fired: it sets the next one through on_timer. */
		if (e->curl_due >= 0 && e->curl_due <= now_ms())
			e->curl_due = -1;
		if (w && !w->created && now_ms() >= w->created_due) {
			char reason[64];

			snprintf(reason, sizeof(reason), "no answer within %u ms", e->timeout_ms);
			w->answered = false;	/* nothing usable came: the next may serve */
			watch_failed(e, -ETIMEDOUT, reason);
			gen = e->gen;
		}
		curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	} else {
		if (events & ETCD_POLL_IN)
			mask |= CURL_CSELECT_IN;
		if (events & ETCD_POLL_OUT)
			mask |= CURL_CSELECT_OUT;
		curl_multi_socket_action(e->multi, fd, mask, &running);
	}
	watch_deliver(e);
	if (e->gen == gen) {
		while ((m = curl_multi_info_read(e->multi, &queued))) {
			if (m->msg == CURLMSG_DONE && e->w && m->easy_handle == e->w->h) {
				watch_done(e, m->data.result);
				break;
			}
		}
	}
	/* The caller's timer is one-shot: arm it for what is still due. */
	push_timer(e);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The cluster's data in etcd as plain structs (see cluster.h): its keys,
 * its JSON, and the arithmetic of node ranges. One of the two places in
 * rivetd that uses cJSON (the other writes the conflist); nothing here
 * talks to etcd or the kernel.
 *
 * Values read from etcd are input like any other: another version of
 * rivetd, or a person with etcdctl, may have written them. Every field is
 * checked, and a record that does not hold is refused whole with a message
 * naming the key, so the agent can log it and skip that node.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/cluster.h"

static const char *const backends[] = {
	[BACKEND_AUTO] = "auto", [BACKEND_DIRECT] = "direct", [BACKEND_VXLAN] = "vxlan",
};

const char *cluster_backend_name(enum cluster_backend b)
{
	return (unsigned)b < 3 ? backends[b] : "?";
}

int cluster_backend_parse(const char *s, enum cluster_backend *out)
{
	for (unsigned i = 0; i < 3; i++) {
		if (!strcmp(s, backends[i])) {
			*out = (enum cluster_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool cluster_valid_node_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > CLUSTER_NODE_NAME_MAX || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' ||
	    s[n - 1] == '.')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n;
}

/* --- ranges -------------------------------------------------------------------- */

static unsigned max_node_len(int family)
{
	/* host-local needs room for a gateway and a pod: /30, /126. */
	return family == AF_INET ? 30 : 126;
}

uint64_t cluster_range_count(const struct cluster_conf *c, size_t i)
{
	unsigned bits = c->node_len[i] - c->cidr[i].len;

	return bits >= 63 ? (uint64_t)1 << 63 : (uint64_t)1 << bits;
}

int cluster_range_nth(const struct cluster_conf *c, size_t i, uint64_t n, struct rv_prefix *out)
{
	unsigned shift = ip_bits(c->cidr[i].ip.family) - c->node_len[i];
	struct rv_prefix p = prefix_masked(&c->cidr[i]);
	unsigned bytes = ip_bytes(p.ip.family);
	unsigned __int128 v = 0;

	if (n >= cluster_range_count(c, i))
		return -ERANGE;
	/* The address as one number: the n-th range starts n << shift past
	 * the CIDR's first address, which fits because n < 2^(node_len-len). */
	for (unsigned k = 0; k < bytes; k++)
		v = v << 8 | p.ip.a[k];
	v += (unsigned __int128)n << shift;
	for (unsigned k = bytes; k-- > 0; v >>= 8)
		p.ip.a[k] = (uint8_t)v;
	p.len = c->node_len[i];
	*out = p;
	return 0;
}

bool cluster_range_valid(const struct cluster_conf *c, size_t i, const struct rv_prefix *r)
{
	return r->ip.family == c->cidr[i].ip.family && r->len == c->node_len[i] &&
	       !prefix_has_host_bits(r) && prefix_contains(&c->cidr[i], &r->ip);
}

int cluster_range_index(const struct cluster_conf *c, const struct rv_prefix *r)
{
	for (size_t i = 0; i < c->n; i++)
		if (cluster_range_valid(c, i, r))
			return (int)i;
	return -1;
}

struct rv_prefix cluster_vtep_addr(const struct rv_prefix *range)
{
	struct rv_prefix p = prefix_masked(range);

	p.len = ip_bits(p.ip.family);
	return p;
}

void cluster_vtep_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *s = name; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	/* 0e: locally administered (bit 1), unicast (bit 0 clear). */
	mac[0] = 0x0e;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

void cluster_mac_fmt(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int cluster_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int end = 0;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6 ||
	    end != 17 || s[17])
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return mac[0] & 1 ? -EINVAL : 0;
}

/* --- the config ---------------------------------------------------------------- */

static int check_conf(const struct cluster_conf *c, struct rv_err *err)
{
	char a[IP_STRLEN];

	if (!c->n)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "the cluster has no pod CIDR");
	for (size_t i = 0; i < c->n; i++) {
		int fam = c->cidr[i].ip.family;

		if (prefix_has_host_bits(&c->cidr[i]))
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "cluster CIDR %s has host bits set; give the network address",
				       prefix_fmt(&c->cidr[i], a));
		if (c->node_len[i] < c->cidr[i].len || c->node_len[i] > max_node_len(fam))
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "node prefix /%u does not fit cluster CIDR %s: it must be between /%u and /%u",
				       c->node_len[i], prefix_fmt(&c->cidr[i], a), c->cidr[i].len,
				       max_node_len(fam));
		for (size_t j = 0; j < i; j++)
			if (c->cidr[j].ip.family == fam)
				return err_set(err, CNI_ERR_CONFIG, EINVAL,
					       "two cluster CIDRs of one family (%s and another): give one per family",
					       prefix_fmt(&c->cidr[i], a));
	}
	if (c->vni == 0 || c->vni > 0xffffff)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "VXLAN VNI %u is outside 1..16777215", c->vni);
	if (!c->port)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "VXLAN port 0 is not a port");
	return 0;
}

int cluster_conf_from_args(const char *cidrs, const char *node_prefix, enum cluster_backend backend,
			   struct cluster_conf *out, struct rv_err *err)
{
	char buf[512], *save = NULL, *tok;
	size_t n_len = 0;
	unsigned lens[2] = { 0, 0 };

	memset(out, 0, sizeof(*out));
	out->backend = backend;
	out->vni = CLUSTER_DEFAULT_VNI;
	out->port = CLUSTER_DEFAULT_PORT;
	if (!cidrs || !*cidrs)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "--cluster-cidr is required, e.g. --cluster-cidr 10.244.0.0/16,fd00:10:244::/56");
	if (node_prefix && *node_prefix) {
		snprintf(buf, sizeof(buf), "%s", node_prefix);
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			char *end;
			unsigned long v = strtoul(tok[0] == '/' ? tok + 1 : tok, &end, 10);

			if (n_len == 2 || *end || end == tok || v > 128)
				return err_set(err, CNI_ERR_CONFIG, EINVAL,
					       "--node-prefix \"%.64s\" must be one or two prefix lengths, e.g. 24,64",
					       node_prefix);
			lens[n_len++] = (unsigned)v;
		}
	}
	snprintf(buf, sizeof(buf), "%s", cidrs);
	save = NULL;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct rv_prefix p;

		if (out->n == 2)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "--cluster-cidr takes at most two CIDRs, one per family");
		if (prefix_parse(tok, &p) < 0)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "--cluster-cidr: \"%.64s\" is not a CIDR such as 10.244.0.0/16", tok);
		out->cidr[out->n] = p;
		out->node_len[out->n] = out->n < n_len ? lens[out->n] : p.ip.family == AF_INET ? 24 : 64;
		out->n++;
	}
	if (n_len > out->n)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "--node-prefix has %zu lengths for %zu cluster CIDRs", n_len, out->n);
	return check_conf(out, err);
}

static cJSON *prefix_list(const struct rv_prefix *p, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	char buf[IP_STRLEN];

	for (size_t i = 0; a && i < n; i++) {
		cJSON *s = cJSON_CreateString(prefix_fmt(&p[i], buf));

		if (!s || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static char *print(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	return s;
}

char *cluster_conf_encode(const struct cluster_conf *c)
{
	cJSON *o = cJSON_CreateObject(), *lens = cJSON_CreateArray(), *cidrs = prefix_list(c->cidr, c->n);
	bool ok = o && lens && cidrs;

	for (size_t i = 0; ok && i < c->n; i++)
		ok = cJSON_AddItemToArray(lens, cJSON_CreateNumber(c->node_len[i]));
	ok = ok && cJSON_AddItemToObject(o, "clusterCIDRs", cidrs);
	if (ok)
		cidrs = NULL;
	ok = ok && cJSON_AddItemToObject(o, "nodePrefix", lens);
	if (ok)
		lens = NULL;
	ok = ok && cJSON_AddStringToObject(o, "backend", cluster_backend_name(c->backend)) &&
	     cJSON_AddNumberToObject(o, "vni", c->vni) && cJSON_AddNumberToObject(o, "port", c->port);
	cJSON_Delete(cidrs);
	cJSON_Delete(lens);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return print(o);
}

static int bad(struct rv_err *err, const char *what, const char *key)
{
	return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: \"%s\" is missing or malformed", what, key);
}

static int get_prefixes(const cJSON *o, const char *what, const char *key, struct rv_prefix *out,
			size_t max, size_t *n, struct rv_err *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *e;

	*n = 0;
	if (!cJSON_IsArray(a) || !cJSON_GetArraySize(a) || (size_t)cJSON_GetArraySize(a) > max)
		return bad(err, what, key);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || prefix_parse(e->valuestring, &out[*n]) < 0)
			return bad(err, what, key);
		(*n)++;
	}
	return 0;
}

static int get_uint(const cJSON *o, const char *key, double max, unsigned *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > max ||
	    j->valuedouble != (double)(unsigned)j->valuedouble)
		return -EINVAL;
	*out = (unsigned)j->valuedouble;
	return 0;
}

int cluster_conf_decode(const char *json, size_t len, struct cluster_conf *out, struct rv_err *err)
{
	static const char what[] = "the cluster config in etcd";
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *lens, *b, *e;
	size_t n_lens = 0;
	unsigned v;
	int r;

	memset(out, 0, sizeof(*out));
	out->vni = CLUSTER_DEFAULT_VNI;
	out->port = CLUSTER_DEFAULT_PORT;
	if (!cJSON_IsObject(o)) {
		r = err_set(err, CNI_ERR_CONFIG, EINVAL, "%s is not a JSON object", what);
		goto out;
	}
	if ((r = get_prefixes(o, what, "clusterCIDRs", out->cidr, 2, &out->n, err)) < 0)
		goto out;
	lens = cJSON_GetObjectItemCaseSensitive(o, "nodePrefix");
	if (!cJSON_IsArray(lens) || (size_t)cJSON_GetArraySize(lens) != out->n) {
		r = bad(err, what, "nodePrefix");
		goto out;
	}
	cJSON_ArrayForEach(e, lens) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 128) {
			r = bad(err, what, "nodePrefix");
			goto out;
		}
		out->node_len[n_lens++] = (unsigned)e->valuedouble;
	}
	b = cJSON_GetObjectItemCaseSensitive(o, "backend");
	if (!cJSON_IsString(b) || cluster_backend_parse(b->valuestring, &out->backend) < 0) {
		r = bad(err, what, "backend");
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "vni")) {
		if (get_uint(o, "vni", 0xffffff, &v) < 0) {
			r = bad(err, what, "vni");
			goto out;
		}
		out->vni = v;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "port")) {
		if (get_uint(o, "port", 65535, &v) < 0) {
			r = bad(err, what, "port");
			goto out;
		}
		out->port = (uint16_t)v;
	}
	r = check_conf(out, err);
	if (r < 0)
		err_prefix(err, "%s", what);
out:
	cJSON_Delete(o);
	return r;
}

bool cluster_conf_equal(const struct cluster_conf *a, const struct cluster_conf *b)
{
	if (a->n != b->n || a->backend != b->backend || a->vni != b->vni || a->port != b->port)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->node_len[i] != b->node_len[i] || a->cidr[i].len != b->cidr[i].len ||
		    !ip_eq(&a->cidr[i].ip, &b->cidr[i].ip))
			return false;
	return true;
}

/* --- a node's record ----------------------------------------------------------- */

char *node_rec_encode(const struct node_rec *n)
{
	cJSON *o = cJSON_CreateObject(), *ranges = prefix_list(n->ranges, n->n_ranges);
	char a[IP_STRLEN], mac[18];
	bool ok = o && ranges;

	ok = ok && cJSON_AddStringToObject(o, "name", n->name) &&
	     cJSON_AddStringToObject(o, "nodeIP", ip_fmt(&n->ip, a));
	if (ok && n->ip6.family)
		ok = cJSON_AddStringToObject(o, "nodeIP6", ip_fmt(&n->ip6, a)) != NULL;
	ok = ok && cJSON_AddItemToObject(o, "ranges", ranges);
	if (ok)
		ranges = NULL;
	ok = ok && cJSON_AddStringToObject(o, "backend", cluster_backend_name(n->backend));
	if (ok && n->has_vtep) {
		cluster_mac_fmt(n->vtep_mac, mac);
		ok = cJSON_AddStringToObject(o, "vtepMAC", mac) != NULL;
	}
	cJSON_Delete(ranges);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return print(o);
}

static int get_ip(const cJSON *o, const char *key, bool required, struct rv_ip *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j && !required)
		return 0;
	return cJSON_IsString(j) && ip_parse(j->valuestring, out) == 0 ? 0 : -EINVAL;
}

int node_rec_decode(const char *json, size_t len, struct node_rec *out, struct rv_err *err)
{
	static const char what[] = "node record";
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *j;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(o)) {
		r = err_set(err, CNI_ERR_CONFIG, EINVAL, "%s is not a JSON object", what);
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(o, "name");
	if (!cJSON_IsString(j) || !cluster_valid_node_name(j->valuestring)) {
		r = bad(err, what, "name");
		goto out;
	}
	snprintf(out->name, sizeof(out->name), "%s", j->valuestring);
	if (get_ip(o, "nodeIP", true, &out->ip) < 0) {
		r = bad(err, what, "nodeIP");
		goto out;
	}
	if (get_ip(o, "nodeIP6", false, &out->ip6) < 0 || (out->ip6.family && out->ip6.family != AF_INET6)) {
		r = bad(err, what, "nodeIP6");
		goto out;
	}
	if ((r = get_prefixes(o, what, "ranges", out->ranges, 2, &out->n_ranges, err)) < 0)
		goto out;
	j = cJSON_GetObjectItemCaseSensitive(o, "backend");
	if (!cJSON_IsString(j) || cluster_backend_parse(j->valuestring, &out->backend) < 0) {
		r = bad(err, what, "backend");
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(o, "vtepMAC");
	if (j) {
		if (!cJSON_IsString(j) || cluster_mac_parse(j->valuestring, out->vtep_mac) < 0) {
			r = bad(err, what, "vtepMAC");
			goto out;
		}
		out->has_vtep = true;
	}
out:
	cJSON_Delete(o);
	return r;
}

bool node_rec_equal(const struct node_rec *a, const struct node_rec *b)
{
	if (strcmp(a->name, b->name) || !ip_eq(&a->ip, &b->ip) || !ip_eq(&a->ip6, &b->ip6) ||
	    a->n_ranges != b->n_ranges || a->backend != b->backend || a->has_vtep != b->has_vtep ||
	    (a->has_vtep && memcmp(a->vtep_mac, b->vtep_mac, 6)))
		return false;
	for (size_t i = 0; i < a->n_ranges; i++)
		if (a->ranges[i].len != b->ranges[i].len || !ip_eq(&a->ranges[i].ip, &b->ranges[i].ip))
			return false;
	return true;
}

char *cluster_nodes_json(const struct node_view *v, size_t n)
{
	cJSON *list = cJSON_CreateArray();
	char *text;

	for (size_t i = 0; list && i < n; i++) {
		char *one = node_rec_encode(v[i].rec), when[32];
		cJSON *o = one ? cJSON_Parse(one) : NULL;
		bool ok = o != NULL;

		free(one);
		if (ok && v[i].lease_expires) {
			time_t t = (time_t)v[i].lease_expires;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			ok = cJSON_AddStringToObject(o, "leaseExpires", when) != NULL;
		} else if (ok) {
			ok = cJSON_AddNullToObject(o, "leaseExpires") != NULL;
		}
		ok = ok && cJSON_AddStringToObject(o, "agent", v[i].agent_running ? "running" : "stopped") &&
		     cJSON_AddItemToArray(list, o);
		if (!ok) {
			cJSON_Delete(o);
			cJSON_Delete(list);
			return NULL;
		}
	}
	text = list ? cJSON_Print(list) : NULL;
	cJSON_Delete(list);
	return text;
}

/* --- keys ---------------------------------------------------------------------- */

const char *cluster_key_config(char *buf, const char *prefix)
{
	snprintf(buf, CLUSTER_KEY_MAX, "%s/config", prefix);
	return buf;
}

const char *cluster_key_nodes(char *buf, const char *prefix)
{
	snprintf(buf, CLUSTER_KEY_MAX, "%s/nodes/", prefix);
	return buf;
}

const char *cluster_key_node(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, CLUSTER_KEY_MAX, "%s/nodes/%s", prefix, name);
	return buf;
}

const char *cluster_key_ranges(char *buf, const char *prefix)
{
	snprintf(buf, CLUSTER_KEY_MAX, "%s/ranges/", prefix);
	return buf;
}

const char *cluster_key_range(char *buf, const char *prefix, const struct rv_prefix *range)
{
	char a[IP_STRLEN];

	snprintf(buf, CLUSTER_KEY_MAX, "%s/ranges/%s-%u", prefix, ip_fmt(&range->ip, a), range->len);
	return buf;
}

const char *cluster_key_agent(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, CLUSTER_KEY_MAX, "%s/agents/%s", prefix, name);
	return buf;
}

const char *cluster_node_of_key(const char *prefix, const char *key)
{
	size_t n = strlen(prefix);

	if (strncmp(key, prefix, n) || strncmp(key + n, "/nodes/", 7))
		return NULL;
	key += n + 7;
	return *key && !strchr(key, '/') ? key : NULL;
}

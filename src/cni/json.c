// SPDX-License-Identifier: Apache-2.0
/*
 * Typed reads from cJSON with messages that name the offending key, and the
 * reader for results of every version (prevResult). A JSON null counts as
 * absent, as Go's decoder treats it.
 */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const cJSON *item(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

	return j && !cJSON_IsNull(j) ? j : NULL;
}

/* A value of the wrong JSON type is a decoding failure (code 6), as it is
 * for Go's unmarshal in the reference plugins; a value of the right type
 * that fails validation is an invalid config (code 7). */
static int absent(struct rv_err *err, const char *where, const char *key, bool required)
{
	if (!required)
		return 0;
	return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s%s%s is required", where, *where ? "." : "", key);
}

static int type_error(struct rv_err *err, const char *where, const char *key, const char *want)
{
	return err_set(err, CNI_ERR_DECODE, EINVAL, "%s%s%s must be %s",
		       where, *where ? "." : "", key, want);
}

int json_get_string(const cJSON *obj, const char *where, const char *key, bool required,
		    char **out, struct rv_err *err)
{
	const cJSON *j = item(obj, key);
	char *s;

	if (!j)
		return absent(err, where, key, required);
	if (!cJSON_IsString(j))
		return type_error(err, where, key, "a string");
	s = strdup(j->valuestring);
	if (!s)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	free(*out);
	*out = s;
	return 0;
}

int json_get_bool(const cJSON *obj, const char *where, const char *key, bool *out,
		  struct rv_err *err)
{
	const cJSON *j = item(obj, key);

	if (!j)
		return 0;
	if (!cJSON_IsBool(j))
		return type_error(err, where, key, "true or false");
	*out = cJSON_IsTrue(j);
	return 0;
}

int json_get_uint(const cJSON *obj, const char *where, const char *key, unsigned max,
		  unsigned *out, struct rv_err *err)
{
	const cJSON *j = item(obj, key);
	double d;

	if (!j)
		return 0;
	if (!cJSON_IsNumber(j))
		return type_error(err, where, key, "a number");
	d = j->valuedouble;
	if (!(d >= 0) || d > max || floor(d) != d)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s%s%s must be a whole number from 0 to %u",
			       where, *where ? "." : "", key, max);
	*out = (unsigned)d;
	return 0;
}

int json_get_strv(const cJSON *obj, const char *where, const char *key, struct strv *out,
		  struct rv_err *err)
{
	const cJSON *j = item(obj, key), *e;

	if (!j)
		return 0;
	if (!cJSON_IsArray(j))
		return type_error(err, where, key, "a list of strings");
	cJSON_ArrayForEach(e, j) {
		if (!cJSON_IsString(e))
			return type_error(err, where, key, "a list of strings");
		if (strv_push(out, e->valuestring) < 0)
			return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	}
	return 0;
}

int json_get_ip(const cJSON *obj, const char *where, const char *key, struct rv_ip *out,
		struct rv_err *err)
{
	const cJSON *j = item(obj, key);

	if (!j)
		return 0;
	if (!cJSON_IsString(j))
		return type_error(err, where, key, "an IP address string");
	if (ip_parse(j->valuestring, out) < 0)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s%s%s must be an IP address, not %.64s",
			       where, *where ? "." : "", key, j->valuestring);
	return 0;
}

int json_get_prefix(const cJSON *obj, const char *where, const char *key, bool required,
		    struct rv_prefix *out, struct rv_err *err)
{
	const cJSON *j = item(obj, key);

	if (!j)
		return absent(err, where, key, required);
	if (!cJSON_IsString(j))
		return type_error(err, where, key, "a CIDR string");
	if (prefix_parse(j->valuestring, out) < 0)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "%s%s%s must be a CIDR such as 10.1.0.0/16, not %.64s",
			       where, *where ? "." : "", key, j->valuestring);
	return 0;
}

int json_parse_route(const cJSON *obj, const char *where, struct rv_route *out, struct rv_err *err)
{
	static const struct {
		const char *key;
		unsigned flag;
		size_t off;
	} opt[] = {
		{ "mtu", ROUTE_HAS_MTU, offsetof(struct rv_route, mtu) },
		{ "advmss", ROUTE_HAS_ADVMSS, offsetof(struct rv_route, advmss) },
		{ "priority", ROUTE_HAS_PRIORITY, offsetof(struct rv_route, priority) },
		{ "table", ROUTE_HAS_TABLE, offsetof(struct rv_route, table) },
		{ "scope", ROUTE_HAS_SCOPE, offsetof(struct rv_route, scope) },
	};
	int r;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object {\"dst\": ...}", where);
	r = json_get_prefix(obj, where, "dst", true, &out->dst, err);
	if (r < 0)
		return r;
	r = json_get_ip(obj, where, "gw", &out->gw, err);
	if (r < 0)
		return r;
	if (ip_is_set(&out->gw)) {
		if (out->gw.family != out->dst.ip.family)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "%s: gw and dst are of different address families", where);
		out->has |= ROUTE_HAS_GW;
	}
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		unsigned v = 0;

		if (!item(obj, opt[i].key))
			continue;
		r = json_get_uint(obj, where, opt[i].key, opt[i].flag == ROUTE_HAS_SCOPE ? 255 : 0xffffffffu,
				  &v, err);
		if (r < 0)
			return r;
		*(unsigned *)((char *)out + opt[i].off) = v;
		out->has |= opt[i].flag;
	}
	return 0;
}

int json_parse_dns(const cJSON *obj, const char *where, struct rv_dns *out, struct rv_err *err)
{
	int r;

	if (!cJSON_IsObject(obj))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object", where);
	if ((r = json_get_strv(obj, where, "nameservers", &out->nameservers, err)) < 0 ||
	    (r = json_get_string(obj, where, "domain", false, &out->domain, err)) < 0 ||
	    (r = json_get_strv(obj, where, "search", &out->search, err)) < 0 ||
	    (r = json_get_strv(obj, where, "options", &out->options, err)) < 0)
		return r;
	return 0;
}

static int oom(struct rv_err *err)
{
	return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
}

static int parse_routes(const cJSON *list, const char *where, struct cni_result *out,
			struct rv_err *err)
{
	const cJSON *e;
	char w[64];
	int i = 0, r;

	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be a list", where);
	cJSON_ArrayForEach(e, list) {
		struct rv_route route;

		snprintf(w, sizeof(w), "%s[%d]", where, i++);
		r = json_parse_route(e, w, &route, err);
		if (r < 0)
			return r;
		if (cni_result_add_route(out, &route) < 0)
			return oom(err);
	}
	return 0;
}

/* 0.1.0/0.2.0: {"ip4": {"ip", "gateway", "routes"}, "ip6": {...}} */
static int parse_legacy_ipconfig(const cJSON *obj, const char *where, int family,
				 struct cni_result *out, struct rv_err *err)
{
	struct rv_prefix addr;
	struct rv_ip gw = { 0 };
	char w[64];
	int r;

	if (!cJSON_IsObject(obj))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object", where);
	r = json_get_prefix(obj, where, "ip", true, &addr, err);
	if (r < 0)
		return r;
	r = json_get_ip(obj, where, "gateway", &gw, err);
	if (r < 0)
		return r;
	if (addr.ip.family != family)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s.ip has the wrong address family", where);
	if (cni_result_add_ip(out, &addr, &gw, -1) < 0)
		return oom(err);
	snprintf(w, sizeof(w), "%s.routes", where);
	return parse_routes(item(obj, "routes"), w, out, err);
}

static int parse_iface(const cJSON *e, const char *where, struct cni_result *out,
		       struct rv_err *err)
{
	char *name = NULL, *mac = NULL, *sandbox = NULL, *sock = NULL, *pci = NULL;
	unsigned mtu = 0;
	int r;

	if (!cJSON_IsObject(e)) {
		r = err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object", where);
		goto out;
	}
	if ((r = json_get_string(e, where, "name", true, &name, err)) < 0 ||
	    (r = json_get_string(e, where, "mac", false, &mac, err)) < 0 ||
	    (r = json_get_string(e, where, "sandbox", false, &sandbox, err)) < 0 ||
	    (r = json_get_string(e, where, "socketPath", false, &sock, err)) < 0 ||
	    (r = json_get_string(e, where, "pciID", false, &pci, err)) < 0 ||
	    (r = json_get_uint(e, where, "mtu", 0xffffffffu, &mtu, err)) < 0)
		goto out;
	r = cni_result_add_iface(out, name, mac, sandbox, mtu);
	if (r < 0) {
		r = oom(err);
		goto out;
	}
	out->ifaces[r].socket_path = sock;
	out->ifaces[r].pci_id = pci;
	sock = pci = NULL;
	r = 0;
out:
	free(name);
	free(mac);
	free(sandbox);
	free(sock);
	free(pci);
	return r;
}

static int parse_ip(const cJSON *e, const char *where, struct cni_result *out, struct rv_err *err)
{
	struct rv_prefix addr;
	struct rv_ip gw = { 0 };
	const cJSON *idx;
	int iface = -1, r;

	if (!cJSON_IsObject(e))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object", where);
	if ((r = json_get_prefix(e, where, "address", true, &addr, err)) < 0 ||
	    (r = json_get_ip(e, where, "gateway", &gw, err)) < 0)
		return r;
	idx = item(e, "interface");
	if (idx) {
		unsigned v = 0;

		r = json_get_uint(e, where, "interface", 1u << 20, &v, err);
		if (r < 0)
			return r;
		/* An index past the list would make later plugins read out of
		 * bounds; the spec requires it to point at an interface. */
		if (v >= out->n_ifaces)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "%s.interface is %u but there are only %zu interfaces",
				       where, v, out->n_ifaces);
		iface = (int)v;
	}
	if (ip_is_set(&gw) && gw.family != addr.ip.family)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "%s: gateway and address are of different address families", where);
	if (cni_result_add_ip(out, &addr, &gw, iface) < 0)
		return oom(err);
	return 0;
}

int json_parse_result(const cJSON *obj, const char *where, struct cni_result *out,
		      struct rv_err *err)
{
	const cJSON *list, *e, *dns;
	char w[96];
	int i, r;

	if (!cJSON_IsObject(obj))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object", where);

	if (item(obj, "ip4") || item(obj, "ip6")) {
		snprintf(w, sizeof(w), "%s.ip4", where);
		if (item(obj, "ip4") &&
		    (r = parse_legacy_ipconfig(item(obj, "ip4"), w, AF_INET, out, err)) < 0)
			return r;
		snprintf(w, sizeof(w), "%s.ip6", where);
		if (item(obj, "ip6") &&
		    (r = parse_legacy_ipconfig(item(obj, "ip6"), w, AF_INET6, out, err)) < 0)
			return r;
	} else {
		list = item(obj, "interfaces");
		if (list && !cJSON_IsArray(list))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "%s.interfaces must be a list", where);
		i = 0;
		cJSON_ArrayForEach(e, list) {
			snprintf(w, sizeof(w), "%s.interfaces[%d]", where, i++);
			if ((r = parse_iface(e, w, out, err)) < 0)
				return r;
		}
		list = item(obj, "ips");
		if (list && !cJSON_IsArray(list))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "%s.ips must be a list", where);
		i = 0;
		cJSON_ArrayForEach(e, list) {
			snprintf(w, sizeof(w), "%s.ips[%d]", where, i++);
			if ((r = parse_ip(e, w, out, err)) < 0)
				return r;
		}
		snprintf(w, sizeof(w), "%s.routes", where);
		if ((r = parse_routes(item(obj, "routes"), w, out, err)) < 0)
			return r;
	}
	dns = item(obj, "dns");
	if (dns) {
		snprintf(w, sizeof(w), "%s.dns", where);
		if ((r = json_parse_dns(dns, w, &out->dns, err)) < 0)
			return r;
	}
	return 0;
}

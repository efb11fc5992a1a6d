// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the result, the error object and the VERSION reply: everything
 * rivet prints on stdout. Output is compact JSON with a trailing newline,
 * as Go's json.Encoder writes it, and empty lists and fields are left out
 * as Go's omitempty leaves them out.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cni/result.h"
#include "json.h"

static void iface_done(struct cni_iface *i)
{
	free(i->name);
	free(i->mac);
	free(i->sandbox);
	free(i->socket_path);
	free(i->pci_id);
}

void cni_result_done(struct cni_result *r)
{
	for (size_t i = 0; i < r->n_ifaces; i++)
		iface_done(&r->ifaces[i]);
	free(r->ifaces);
	free(r->ips);
	free(r->routes);
	dns_done(&r->dns);
	memset(r, 0, sizeof(*r));
}

/* Grow an array by one zeroed element; returns it or NULL. */
static void *grow(void **arr, size_t *n, size_t size)
{
	char *p = realloc(*arr, (*n + 1) * size);

	if (!p)
		return NULL;
	*arr = p;
	memset(p + *n * size, 0, size);
	return p + (*n)++ * size;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
			 const char *sandbox, unsigned mtu)
{
	struct cni_iface tmp = { .mtu = mtu }, *slot;

	if (dup_opt(&tmp.name, name) < 0 || dup_opt(&tmp.mac, mac) < 0 ||
	    dup_opt(&tmp.sandbox, sandbox) < 0)
		goto fail;
	slot = grow((void **)&r->ifaces, &r->n_ifaces, sizeof(*slot));
	if (!slot)
		goto fail;
	*slot = tmp;
	return (int)(r->n_ifaces - 1);
fail:
	iface_done(&tmp);
	return -ENOMEM;
}

int cni_result_add_ip(struct cni_result *r, const struct rv_prefix *addr,
		      const struct rv_ip *gw, int iface)
{
	struct cni_ip *slot = grow((void **)&r->ips, &r->n_ips, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	slot->address = *addr;
	if (gw)
		slot->gateway = *gw;
	slot->iface = iface;
	return 0;
}

int cni_result_add_route(struct cni_result *r, const struct rv_route *route)
{
	struct rv_route *slot = grow((void **)&r->routes, &r->n_routes, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	*slot = *route;
	return 0;
}

/* cJSON's adders return NULL on allocation failure; these helpers keep the
 * encoders readable by recording that in one flag checked at the end. */
struct enc {
	bool oom;
};

static void add_str(struct enc *e, cJSON *obj, const char *key, const char *val)
{
	if (val && *val && !cJSON_AddStringToObject(obj, key, val))
		e->oom = true;
}

static void add_num(struct enc *e, cJSON *obj, const char *key, double val)
{
	if (!cJSON_AddNumberToObject(obj, key, val))
		e->oom = true;
}

static void add_ip(struct enc *e, cJSON *obj, const char *key, const struct rv_ip *ip)
{
	char buf[IP_STRLEN];

	if (ip_is_set(ip))
		add_str(e, obj, key, ip_fmt(ip, buf));
}

static void add_prefix(struct enc *e, cJSON *obj, const char *key, const struct rv_prefix *p)
{
	char buf[IP_STRLEN];

	add_str(e, obj, key, prefix_fmt(p, buf));
}

static cJSON *add_list(struct enc *e, cJSON *obj, const char *key)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);

	if (!a)
		e->oom = true;
	return a;
}

static cJSON *append_obj(struct enc *e, cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		e->oom = true;
		return NULL;
	}
	return o;
}

static void add_strv(struct enc *e, cJSON *obj, const char *key, const struct strv *sv)
{
	cJSON *a;

	if (!sv->n)
		return;
	a = add_list(e, obj, key);
	for (size_t i = 0; a && i < sv->n; i++) {
		cJSON *s = cJSON_CreateString(sv->v[i]);

		if (!s || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			e->oom = true;
		}
	}
}

static void add_dns(struct enc *e, cJSON *obj, const struct rv_dns *d)
{
	cJSON *o;

	if (dns_is_empty(d))
		return;
	o = cJSON_AddObjectToObject(obj, "dns");
	if (!o) {
		e->oom = true;
		return;
	}
	add_strv(e, o, "nameservers", &d->nameservers);
	add_str(e, o, "domain", d->domain);
	add_strv(e, o, "search", &d->search);
	add_strv(e, o, "options", &d->options);
}

static void add_route(struct enc *e, cJSON *arr, const struct rv_route *rt, bool attrs)
{
	cJSON *o = append_obj(e, arr);

	if (!o)
		return;
	add_prefix(e, o, "dst", &rt->dst);
	if (rt->has & ROUTE_HAS_GW)
		add_ip(e, o, "gw", &rt->gw);
	if (!attrs)
		return;
	if (rt->has & ROUTE_HAS_MTU)
		add_num(e, o, "mtu", rt->mtu);
	if (rt->has & ROUTE_HAS_ADVMSS)
		add_num(e, o, "advmss", rt->advmss);
	if (rt->has & ROUTE_HAS_PRIORITY)
		add_num(e, o, "priority", rt->priority);
	if (rt->has & ROUTE_HAS_TABLE)
		add_num(e, o, "table", rt->table);
	if (rt->has & ROUTE_HAS_SCOPE)
		add_num(e, o, "scope", rt->scope);
}

/* 0.3.0 and later: interfaces, ips, routes. */
static void encode_current(struct enc *e, cJSON *root, const struct cni_result *r,
			   enum cni_version v)
{
	bool v1 = v >= CNI_V100;
	cJSON *list;

	if (r->n_ifaces && (list = add_list(e, root, "interfaces"))) {
		for (size_t i = 0; i < r->n_ifaces; i++) {
			const struct cni_iface *f = &r->ifaces[i];
			cJSON *o = append_obj(e, list);

			if (!o)
				continue;
			add_str(e, o, "name", f->name);
			add_str(e, o, "mac", f->mac);
			if (v1 && f->mtu)
				add_num(e, o, "mtu", f->mtu);
			add_str(e, o, "sandbox", f->sandbox);
			if (v1) {
				add_str(e, o, "socketPath", f->socket_path);
				add_str(e, o, "pciID", f->pci_id);
			}
		}
	}
	if (r->n_ips && (list = add_list(e, root, "ips"))) {
		for (size_t i = 0; i < r->n_ips; i++) {
			const struct cni_ip *ip = &r->ips[i];
			cJSON *o = append_obj(e, list);

			if (!o)
				continue;
			if (!v1)
				add_str(e, o, "version", ip->address.ip.family == AF_INET ? "4" : "6");
			if (ip->iface >= 0)
				add_num(e, o, "interface", ip->iface);
			add_prefix(e, o, "address", &ip->address);
			add_ip(e, o, "gateway", &ip->gateway);
		}
	}
	if (r->n_routes && (list = add_list(e, root, "routes")))
		for (size_t i = 0; i < r->n_routes; i++)
			add_route(e, list, &r->routes[i], v1);
}

/* 0.1.0/0.2.0: the first address of each family, with that family's routes. */
static int encode_legacy(struct enc *e, cJSON *root, const struct cni_result *r,
			 enum cni_version v, struct rv_err *err)
{
	static const struct {
		int family;
		const char *key;
	} fam[] = { { AF_INET, "ip4" }, { AF_INET6, "ip6" } };
	bool any = false;

	for (size_t f = 0; f < 2; f++) {
		const struct cni_ip *first = NULL;
		cJSON *o, *routes = NULL;

		for (size_t i = 0; i < r->n_ips && !first; i++)
			if (r->ips[i].address.ip.family == fam[f].family)
				first = &r->ips[i];
		if (!first)
			continue;
		any = true;
		o = cJSON_AddObjectToObject(root, fam[f].key);
		if (!o) {
			e->oom = true;
			break;
		}
		add_prefix(e, o, "ip", &first->address);
		add_ip(e, o, "gateway", &first->gateway);
		for (size_t i = 0; i < r->n_routes; i++) {
			if (r->routes[i].dst.ip.family != fam[f].family)
				continue;
			if (!routes && !(routes = add_list(e, o, "routes")))
				break;
			add_route(e, routes, &r->routes[i], false);
		}
	}
	if (!any)
		return err_set(err, CNI_ERR_VERSION, EINVAL,
			       "cannot convert the result to CNI %s: it has no IP address; use cniVersion 0.3.0 or later",
			       cni_version_name(v));
	return 0;
}

static char *finish(cJSON *root, struct enc *e, struct rv_err *err)
{
	char *txt = NULL, *out = NULL;
	size_t n;

	if (!e->oom)
		txt = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!txt) {
		err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory while writing the result");
		return NULL;
	}
	n = strlen(txt);
	out = realloc(txt, n + 2);
	if (!out) {
		free(txt);
		err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory while writing the result");
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

char *cni_result_encode(const struct cni_result *r, enum cni_version v, struct rv_err *err)
{
	struct enc e = { 0 };
	cJSON *root = cJSON_CreateObject();

	if (!root) {
		err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory while writing the result");
		return NULL;
	}
	add_str(&e, root, "cniVersion", cni_version_name(v));
	if (v <= CNI_V020) {
		if (encode_legacy(&e, root, r, v, err) < 0) {
			cJSON_Delete(root);
			return NULL;
		}
	} else {
		encode_current(&e, root, r, v);
	}
	add_dns(&e, root, &r->dns);
	return finish(root, &e, err);
}

char *cni_error_encode(const struct rv_err *err, const char *version)
{
	struct enc e = { 0 };
	cJSON *root = cJSON_CreateObject();

	if (!root)
		return NULL;
	add_str(&e, root, "cniVersion", version && *version ? version : cni_version_name(CNI_V_LATEST));
	add_num(&e, root, "code", err->code ? err->code : RIVET_ERR_INTERNAL);
	add_str(&e, root, "msg", err->msg[0] ? err->msg : "unknown error");
	add_str(&e, root, "details", err->details);
	return finish(root, &e, NULL);
}

char *cni_version_reply_encode(const char *version)
{
	struct enc e = { 0 };
	cJSON *root = cJSON_CreateObject(), *list;

	if (!root)
		return NULL;
	add_str(&e, root, "cniVersion", version && *version ? version : cni_version_name(CNI_V_LATEST));
	list = add_list(&e, root, "supportedVersions");
	for (int v = 0; list && v < CNI_V_COUNT; v++) {
		cJSON *s = cJSON_CreateString(cni_version_name((enum cni_version)v));

		if (!s || !cJSON_AddItemToArray(list, s)) {
			cJSON_Delete(s);
			e.oom = true;
		}
	}
	return finish(root, &e, NULL);
}

int cni_result_decode(const char *text, size_t len, struct cni_result *out, struct rv_err *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	int r;

	if (!root)
		return err_set(err, RIVET_ERR_DELEGATE, EINVAL, "the ipam plugin printed something that is not JSON");
	r = json_parse_result(root, "ipam result", out, err);
	cJSON_Delete(root);
	return r;
}

int cni_error_decode(const char *text, size_t len, struct rv_err *out_err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *code, *msg, *details;

	if (!root)
		return -EINVAL;
	code = cJSON_GetObjectItemCaseSensitive(root, "code");
	msg = cJSON_GetObjectItemCaseSensitive(root, "msg");
	details = cJSON_GetObjectItemCaseSensitive(root, "details");
	if (!cJSON_IsNumber(code) || !cJSON_IsString(msg)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	err_set(out_err, code->valuedouble >= 1 && code->valuedouble < 1000 ? (unsigned)code->valuedouble
									 : RIVET_ERR_DELEGATE,
		EIO, "%s", msg->valuestring);
	if (cJSON_IsString(details))
		err_details(out_err, "%s", details->valuestring);
	cJSON_Delete(root);
	return 0;
}

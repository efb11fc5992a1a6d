// SPDX-License-Identifier: Apache-2.0
/*
 * Reads the network configuration. Order matters for the error a user sees:
 * the version first (a config for a newer spec should say so, not complain
 * about a key), then JSON validity, then the keys each command needs.
 *
 * The ipam section is read the way host-local reads it (plugins/ipam/
 * host-local/backend/allocator/config.go): runtimeConfig.ipRanges first,
 * then the legacy top-level range, then "ranges"; requested addresses from
 * CNI_ARGS, args.cni.ips and runtimeConfig.ips merged into one list. The
 * semantic checks on ranges (overlaps, sizes, defaults) belong to ipam.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/config.h"
#include "json.h"

static int oom(struct rv_err *err)
{
	return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

	return j && !cJSON_IsNull(j) ? j : NULL;
}

int cni_config_peek_version(const char *text, size_t len, char **out)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *v = root ? get(root, "cniVersion") : NULL;

	*out = NULL;
	if (cJSON_IsString(v) && !(*out = strdup(v->valuestring))) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_Delete(root);
	return 0;
}

static int parse_range(const cJSON *obj, const char *where, struct ipam_range *r,
		       struct rv_err *err)
{
	int ret;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(obj))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object {\"subnet\": ...}", where);
	if ((ret = json_get_prefix(obj, where, "subnet", true, &r->subnet, err)) < 0 ||
	    (ret = json_get_ip(obj, where, "rangeStart", &r->start, err)) < 0 ||
	    (ret = json_get_ip(obj, where, "rangeEnd", &r->end, err)) < 0 ||
	    (ret = json_get_ip(obj, where, "gateway", &r->gateway, err)) < 0)
		return ret;
	return 0;
}

static int push_set(struct ipam_conf *c, struct ipam_rangeset *set)
{
	struct ipam_rangeset *sets = realloc(c->sets, (c->n_sets + 1) * sizeof(*sets));

	if (!sets)
		return -ENOMEM;
	sets[c->n_sets++] = *set;
	c->sets = sets;
	return 0;
}

/* A list of range sets: [[{subnet...}, ...], ...]. */
static int parse_rangesets(const cJSON *list, const char *where, struct ipam_conf *c,
			   struct rv_err *err)
{
	const cJSON *set;
	char w[96];
	int i = 0, ret;

	if (!cJSON_IsArray(list))
		return err_set(err, CNI_ERR_DECODE, EINVAL,
			       "%s must be a list of range sets, e.g. [[{\"subnet\": \"10.1.0.0/16\"}]]", where);
	cJSON_ArrayForEach(set, list) {
		struct ipam_rangeset rs = { 0 };
		const cJSON *rj;
		int j = 0;

		if (!cJSON_IsArray(set))
			return err_set(err, CNI_ERR_DECODE, EINVAL,
				       "%s[%d] must be a list of ranges", where, i);
		rs.r = calloc((size_t)cJSON_GetArraySize(set) + 1, sizeof(*rs.r));
		if (!rs.r)
			return oom(err);
		cJSON_ArrayForEach(rj, set) {
			snprintf(w, sizeof(w), "%s[%d][%d]", where, i, j);
			if ((ret = parse_range(rj, w, &rs.r[j++], err)) < 0) {
				free(rs.r);
				return ret;
			}
		}
		rs.n = (size_t)j;
		if (!rs.n) {
			free(rs.r);
			return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s[%d] is an empty range set", where, i);
		}
		if (push_set(c, &rs) < 0) {
			free(rs.r);
			return oom(err);
		}
		i++;
	}
	return 0;
}

static int parse_requested(const cJSON *list, const char *where, struct ipam_conf *c,
			   struct rv_err *err)
{
	const cJSON *e;

	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be a list of addresses", where);
	cJSON_ArrayForEach(e, list) {
		struct rv_prefix p, *grown;

		if (!cJSON_IsString(e))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be a list of address strings", where);
		if (prefix_parse_loose(e->valuestring, &p) < 0)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "%s: %.64s is not an IP address (want \"<address>[/<prefix length>]\")",
				       where, e->valuestring);
		grown = realloc(c->requested, (c->n_requested + 1) * sizeof(*grown));
		if (!grown)
			return oom(err);
		grown[c->n_requested++] = p;
		c->requested = grown;
	}
	return 0;
}

static int parse_ipam(const cJSON *root, const cJSON *ipam, const struct cni_env *env,
		      struct ipam_conf *c, struct rv_err *err)
{
	const cJSON *rc = get(root, "runtimeConfig"), *args = get(root, "args"), *j, *e;
	struct ipam_range legacy;
	int ret, i = 0;

	c->reclaim_after_reboot = true;
	if (!cJSON_IsObject(ipam))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "ipam must be an object");
	if ((ret = json_get_string(ipam, "ipam", "type", true, &c->type, err)) < 0)
		return ret;
	if (!*c->type || strchr(c->type, '/'))
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "ipam.type \"%.64s\" must name a plugin (no '/')", c->type);
	if (strcmp(c->type, "host-local"))
		return 0;	/* delegated: the plugin reads its own keys */

	if ((ret = json_get_string(ipam, "ipam", "dataDir", false, &c->data_dir, err)) < 0 ||
	    (ret = json_get_string(ipam, "ipam", "resolvConf", false, &c->resolv_conf, err)) < 0 ||
	    (ret = json_get_bool(ipam, "ipam", "reclaimAfterReboot", &c->reclaim_after_reboot, err)) < 0)
		return ret;
	if (c->data_dir && c->data_dir[0] != '/')
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "ipam.dataDir \"%.64s\" must be an absolute path", c->data_dir);

	if (rc && cJSON_IsObject(rc) && (j = get(rc, "ipRanges")) &&
	    (ret = parse_rangesets(j, "runtimeConfig.ipRanges", c, err)) < 0)
		return ret;
	c->n_runtime_sets = c->n_sets;
	if (get(ipam, "subnet")) {
		struct ipam_rangeset rs = { .n = 1 };

		if ((ret = parse_range(ipam, "ipam", &legacy, err)) < 0)
			return ret;
		rs.r = malloc(sizeof(*rs.r));
		if (!rs.r)
			return oom(err);
		rs.r[0] = legacy;
		if (push_set(c, &rs) < 0) {
			free(rs.r);
			return oom(err);
		}
	}
	if ((j = get(ipam, "ranges")) && (ret = parse_rangesets(j, "ipam.ranges", c, err)) < 0)
		return ret;
	if (!c->n_sets)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "ipam: no IP ranges specified; add \"ranges\": [[{\"subnet\": \"<CIDR>\"}]]");

	if ((j = get(ipam, "routes"))) {
		if (!cJSON_IsArray(j))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "ipam.routes must be a list");
		cJSON_ArrayForEach(e, j) {
			char w[48];
			struct rv_route *grown;

			snprintf(w, sizeof(w), "ipam.routes[%d]", i++);
			grown = realloc(c->routes, (c->n_routes + 1) * sizeof(*grown));
			if (!grown)
				return oom(err);
			c->routes = grown;
			if ((ret = json_parse_route(e, w, &c->routes[c->n_routes], err)) < 0)
				return ret;
			c->n_routes++;
		}
	}

	if (env && env->has_ip) {
		c->requested = malloc(sizeof(*c->requested));
		if (!c->requested)
			return oom(err);
		c->requested[c->n_requested++] = env->ip;
	}
	if (args && cJSON_IsObject(args) && (j = get(args, "cni")) && cJSON_IsObject(j) &&
	    (ret = parse_requested(get(j, "ips"), "args.cni.ips", c, err)) < 0)
		return ret;
	if (rc && cJSON_IsObject(rc) &&
	    (ret = parse_requested(get(rc, "ips"), "runtimeConfig.ips", c, err)) < 0)
		return ret;
	return 0;
}

static int parse_attachments(const cJSON *list, const char *key, struct netconf *conf,
			     struct rv_err *err)
{
	const cJSON *e;
	int i = 0, ret;

	if (!cJSON_IsArray(list))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be a list", key);
	conf->valid = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*conf->valid));
	if (!conf->valid)
		return oom(err);
	cJSON_ArrayForEach(e, list) {
		struct attachment *a = &conf->valid[conf->n_valid];
		char w[64];

		snprintf(w, sizeof(w), "%s[%d]", key, i++);
		if (!cJSON_IsObject(e))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "%s must be an object", w);
		ret = json_get_string(e, w, "containerID", true, &a->container_id, err);
		if (ret == 0)
			ret = json_get_string(e, w, "ifname", true, &a->ifname, err);
		conf->n_valid++;
		if (ret < 0)
			return ret;
	}
	conf->has_valid_attachments = true;
	return 0;
}

static int parse_runtime_config(const cJSON *rc, struct netconf *conf, struct rv_err *err)
{
	const cJSON *dns;
	int ret;

	if (!cJSON_IsObject(rc))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "runtimeConfig must be an object");
	if ((ret = json_get_string(rc, "runtimeConfig", "mac", false, &conf->mac, err)) < 0)
		return ret;
	dns = get(rc, "dns");
	if (dns) {
		/* The capability's own names: servers, searches, options. */
		if (!cJSON_IsObject(dns))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "runtimeConfig.dns must be an object");
		if ((ret = json_get_strv(dns, "runtimeConfig.dns", "servers", &conf->runtime_dns.nameservers, err)) < 0 ||
		    (ret = json_get_strv(dns, "runtimeConfig.dns", "searches", &conf->runtime_dns.search, err)) < 0 ||
		    (ret = json_get_strv(dns, "runtimeConfig.dns", "options", &conf->runtime_dns.options, err)) < 0)
			return ret;
	}
	return 0;
}

static int check_version_allows(const struct netconf *conf, const struct cni_env *env,
				struct rv_err *err)
{
	const char *what = NULL;
	enum cni_version need = CNI_V010;

	switch (env ? env->command : CNI_CMD_NONE) {
	case CNI_CMD_CHECK:
		need = CNI_V040;
		what = "CHECK";
		break;
	case CNI_CMD_STATUS:
		need = CNI_V110;
		what = "STATUS";
		break;
	case CNI_CMD_GC:
		need = CNI_V110;
		what = "GC";
		break;
	default:
		return 0;
	}
	if (conf->version >= need)
		return 0;
	return err_set(err, CNI_ERR_VERSION, EINVAL,
		       "config version does not allow %s: cniVersion %s is older than %s",
		       what, cni_version_name(conf->version), cni_version_name(need));
}

static int parse_log(const cJSON *root, struct netconf *conf, struct rv_err *err)
{
	char *level = NULL;
	unsigned mb = 0;
	int ret;

	if ((ret = json_get_string(root, "", "logFile", false, &conf->log_file, err)) < 0 ||
	    (ret = json_get_string(root, "", "logLevel", false, &level, err)) < 0 ||
	    (ret = json_get_uint(root, "", "logMaxSizeMB", 1u << 20, &mb, err)) < 0)
		goto out;
	if (conf->log_file && conf->log_file[0] != '/') {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL,
			      "logFile \"%.64s\" must be an absolute path", conf->log_file);
		goto out;
	}
	if (level) {
		if (log_level_parse(level, &conf->log_level) < 0) {
			ret = err_set(err, CNI_ERR_CONFIG, EINVAL,
				      "logLevel \"%.32s\" must be one of error, warn, info, debug", level);
			goto out;
		}
		conf->has_log_level = true;
	}
	conf->log_max_size = (size_t)mb << 20;
out:
	free(level);
	return ret;
}

static int parse_masq_exclude(const cJSON *root, struct netconf *conf, struct rv_err *err)
{
	const cJSON *list = get(root, "ipMasqExclude"), *e;

	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return err_set(err, CNI_ERR_DECODE, EINVAL, "ipMasqExclude must be a list of CIDRs");
	conf->masq_exclude = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*conf->masq_exclude));
	if (!conf->masq_exclude)
		return oom(err);
	cJSON_ArrayForEach(e, list) {
		struct rv_prefix *p = &conf->masq_exclude[conf->n_masq_exclude];

		if (!cJSON_IsString(e))
			return err_set(err, CNI_ERR_DECODE, EINVAL, "ipMasqExclude must be a list of CIDR strings");
		if (prefix_parse(e->valuestring, p) < 0)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "ipMasqExclude: %.64s is not a CIDR such as 10.96.0.0/12", e->valuestring);
		*p = prefix_masked(p);
		conf->n_masq_exclude++;
	}
	return 0;
}

int cni_config_parse(const char *text, size_t len, const struct cni_env *env,
		     struct netconf *conf, struct rv_err *err)
{
	const cJSON *j;
	cJSON *root = NULL;
	const char *ep;
	int ret;

	memset(conf, 0, sizeof(*conf));
	if (len > CNI_CONFIG_MAX)
		return err_set(err, CNI_ERR_DECODE, EFBIG,
			       "the network configuration on stdin is larger than %u bytes", CNI_CONFIG_MAX);
	/* Go's decoder refuses anything after the object; so do we. */
	root = cJSON_ParseWithLengthOpts(text, len, &ep, 0);
	if (root) {
		const char *end = text + len;

		while (ep < end && (*ep == ' ' || *ep == '\t' || *ep == '\n' || *ep == '\r' || !*ep))
			ep++;
		if (ep < end) {
			cJSON_Delete(root);
			ret = err_set(err, CNI_ERR_DECODE, EINVAL,
				      "the network configuration on stdin is not valid JSON: data follows the object");
			err_details(err, "extra data at byte %zu", (size_t)(ep - text));
			return ret;
		}
	}
	if (!root) {
		ep = cJSON_GetErrorPtr();
		ret = err_set(err, CNI_ERR_DECODE, EINVAL,
			      "the network configuration on stdin is not valid JSON");
		if (ep && ep >= text && ep <= text + len)
			err_details(err, "parse error at byte %zu", (size_t)(ep - text));
		return ret;
	}
	if (!cJSON_IsObject(root)) {
		ret = err_set(err, CNI_ERR_DECODE, EINVAL,
			      "the network configuration on stdin must be a JSON object");
		goto out;
	}
	if (cni_config_unknown_keys(root, &conf->warnings) < 0) {
		ret = oom(err);
		goto out;
	}

	if ((ret = json_get_string(root, "", "cniVersion", false, &conf->cni_version, err)) < 0)
		goto out;
	if (!conf->cni_version && !(conf->cni_version = strdup(""))) {
		ret = oom(err);
		goto out;
	}
	if ((ret = cni_version_parse(conf->cni_version, &conf->version, err)) < 0 ||
	    (ret = check_version_allows(conf, env, err)) < 0)
		goto out;
	/* The log settings come early so a later failure can be logged. */
	if ((ret = parse_log(root, conf, err)) < 0)
		goto out;

	if ((ret = json_get_string(root, "", "name", true, &conf->name, err)) < 0)
		goto out;
	if (!cni_valid_network_name(conf->name)) {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL,
			      "network name \"%.64s\" is invalid: it must start with a letter or digit, "
			      "contain only letters, digits, '_', '.' and '-', and be at most %d characters",
			      conf->name, CNI_NETWORK_NAME_MAX);
		goto out;
	}
	if ((ret = json_get_string(root, "", "type", true, &conf->type, err)) < 0)
		goto out;
	if (strchr(conf->type, '/') || strchr(conf->type, '\\')) {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL, "type \"%.64s\" must not contain a path", conf->type);
		goto out;
	}

	if ((ret = json_get_uint(root, "", "mtu", 65535, &conf->mtu, err)) < 0)
		goto out;
	if (conf->mtu && conf->mtu < 68) {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL, "mtu %u is below the IPv4 minimum of 68", conf->mtu);
		goto out;
	}
	if ((ret = json_get_bool(root, "", "ipMasq", &conf->ip_masq, err)) < 0 ||
	    (ret = parse_masq_exclude(root, conf, err)) < 0)
		goto out;
	if ((j = get(root, "dns")) && (ret = json_parse_dns(j, "dns", &conf->dns, err)) < 0)
		goto out;
	if ((j = get(root, "runtimeConfig")) && (ret = parse_runtime_config(j, conf, err)) < 0)
		goto out;

	if ((j = get(root, "ipam"))) {
		conf->has_ipam = true;
		if ((ret = parse_ipam(root, j, env, &conf->ipam, err)) < 0)
			goto out;
	} else if (env && env->command != CNI_CMD_VERSION) {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL,
			      "ipam is missing: add \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"<CIDR>\"}]]}");
		goto out;
	}

	if ((j = get(root, "prevResult"))) {
		ret = json_parse_result(j, "prevResult", &conf->prev_result, err);
		if (ret < 0)
			goto out;
		conf->has_prev_result = true;
	}

	if ((j = get(root, "cni.dev/valid-attachments")))
		ret = parse_attachments(j, "cni.dev/valid-attachments", conf, err);
	else if ((j = get(root, "cni.dev/attachments")))
		ret = parse_attachments(j, "cni.dev/attachments", conf, err);
	if (ret < 0)
		goto out;
	if (env && env->command == CNI_CMD_GC && !conf->has_valid_attachments) {
		/* An absent list would read as "nothing is valid" and release
		 * every address; a runtime that means that sends []. */
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL,
			      "GC needs cni.dev/valid-attachments (an empty list releases everything)");
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

void netconf_done(struct netconf *conf)
{
	free(conf->cni_version);
	free(conf->name);
	free(conf->type);
	free(conf->masq_exclude);
	ipam_conf_done(&conf->ipam);
	dns_done(&conf->dns);
	dns_done(&conf->runtime_dns);
	free(conf->mac);
	free(conf->log_file);
	cni_result_done(&conf->prev_result);
	for (size_t i = 0; i < conf->n_valid; i++) {
		free(conf->valid[i].container_id);
		free(conf->valid[i].ifname);
	}
	free(conf->valid);
	strv_done(&conf->warnings);
	memset(conf, 0, sizeof(*conf));
}

int cni_config_entries(const char *text, size_t len, const char *type,
		       int (*fn)(const char *conf, size_t len, int index, void *ctx), void *ctx,
		       struct strv *warnings, struct rv_err *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *plugins, *name, *version, *p;
	int ret = 0, i = 0, found = 0;

	if (!root || !cJSON_IsObject(root)) {
		ret = err_set(err, CNI_ERR_DECODE, EINVAL, "not a JSON object");
		goto out;
	}
	plugins = get(root, "plugins");
	if (!plugins) {
		const cJSON *t = get(root, "type");

		if (cJSON_IsString(t) && strcmp(t->valuestring, type)) {
			ret = err_set(err, CNI_ERR_CONFIG, EINVAL, "a config of plugin \"%.64s\", not %s",
				      t->valuestring, type);
			goto out;
		}
		ret = fn(text, len, -1, ctx);
		goto out;
	}
	/* A conflist, as libcni reads one. */
	if (cni_conflist_unknown_keys(root, warnings) < 0) {
		ret = oom(err);
		goto out;
	}
	name = get(root, "name");
	version = get(root, "cniVersion");
	if (!cJSON_IsString(name) || !*name->valuestring) {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL, "the conflist has no \"name\"");
		goto out;
	}
	if (version && !cJSON_IsString(version)) {
		ret = err_set(err, CNI_ERR_DECODE, EINVAL, "the conflist's cniVersion must be a string");
		goto out;
	}
	if (!cJSON_IsArray(plugins) || !cJSON_GetArraySize(plugins)) {
		ret = err_set(err, CNI_ERR_CONFIG, EINVAL, "the conflist's \"plugins\" must be a list of plugin configs");
		goto out;
	}
	cJSON_ArrayForEach(p, plugins) {
		const cJSON *t = cJSON_IsObject(p) ? get(p, "type") : NULL;
		cJSON *one;
		char *txt;

		if (!cJSON_IsString(t)) {
			ret = err_set(err, CNI_ERR_CONFIG, EINVAL, "plugins[%d] has no \"type\"", i);
			goto out;
		}
		if (strcmp(t->valuestring, type)) {
			i++;
			continue;
		}
		found++;
		one = cJSON_Duplicate(p, true);
		if (one) {
			cJSON_DeleteItemFromObjectCaseSensitive(one, "name");
			cJSON_DeleteItemFromObjectCaseSensitive(one, "cniVersion");
		}
		txt = one && cJSON_AddStringToObject(one, "name", name->valuestring) &&
		      (!version || cJSON_AddStringToObject(one, "cniVersion", version->valuestring))
			      ? cJSON_PrintUnformatted(one) : NULL;
		cJSON_Delete(one);
		if (!txt) {
			ret = oom(err);
			goto out;
		}
		ret = fn(txt, strlen(txt), i, ctx);
		cJSON_free(txt);
		if (ret)
			goto out;
		i++;
	}
	if (!found)
		ret = err_set(err, CNI_ERR_CONFIG, ENOENT, "the conflist has no plugin of type %s", type);
out:
	cJSON_Delete(root);
	return ret;
}

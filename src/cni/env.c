// SPDX-License-Identifier: Apache-2.0
/*
 * CNI_* variables. Which ones each command needs follows the spec's "Input"
 * lists: DEL does not need CNI_NETNS (the netns may be gone), GC, STATUS and
 * VERSION need no attachment at all, and VERSION ignores libcni's dummy
 * values. CNI_PATH is only needed to delegate IPAM, so it is checked there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/env.h"

static const struct {
	const char *name;
	enum cni_command cmd;
} commands[] = {
	{ "ADD", CNI_CMD_ADD },
	{ "DEL", CNI_CMD_DEL },
	{ "CHECK", CNI_CMD_CHECK },
	{ "VERSION", CNI_CMD_VERSION },
	{ "STATUS", CNI_CMD_STATUS },
	{ "GC", CNI_CMD_GC },
};

int cni_env_command(struct cni_env *env, struct rv_err *err)
{
	const char *c = getenv("CNI_COMMAND");

	memset(env, 0, sizeof(*env));
	if (!c || !*c) {
		env->command = CNI_CMD_NONE;
		return 0;
	}
	env->command_name = c;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(c, commands[i].name)) {
			env->command = commands[i].cmd;
			return 0;
		}
	}
	return err_set(err, CNI_ERR_ENV, EINVAL,
		       "unknown CNI_COMMAND: %.32s (expected ADD, DEL, CHECK, VERSION, STATUS or GC)", c);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$, the pattern libcni uses for both. */
static bool valid_token(const char *s, size_t max)
{
	size_t n;

	if (!s || !is_alnum(s[0]))
		return false;
	for (n = 1; s[n]; n++)
		if (!is_alnum(s[n]) && s[n] != '_' && s[n] != '.' && s[n] != '-')
			return false;
	return n <= max;
}

bool cni_valid_container_id(const char *s)
{
	return valid_token(s, CNI_CONTAINER_ID_MAX);
}

bool cni_valid_network_name(const char *s)
{
	return valid_token(s, CNI_NETWORK_NAME_MAX);
}

/* The non-ASCII characters Go's unicode.IsSpace calls space, in UTF-8. */
static const char *const unicode_spaces[] = {
	"\xc2\x85", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
	"\xe2\x81\x9f", "\xe3\x80\x80",
};

bool cni_valid_ifname(const char *s)
{
	size_t n;

	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (n = 0; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		/* The spec forbids '/', ':' and whitespace; control characters
		 * are refused too, as no runtime uses them and they would
		 * end up in log lines and file names. The kernel takes byte
		 * 0xa0 for a space (Latin-1), which also covers U+00A0. */
		if (c == '/' || c == ':' || c <= 0x20 || c == 0x7f || c == 0xa0)
			return false;
		/* U+2000..U+200A */
		if (c == 0xe2 && (unsigned char)s[n + 1] == 0x80 && (unsigned char)s[n + 2] >= 0x80 &&
		    (unsigned char)s[n + 2] <= 0x8a)
			return false;
		for (size_t i = 0; i < sizeof(unicode_spaces) / sizeof(unicode_spaces[0]); i++)
			if (!strncmp(s + n, unicode_spaces[i], strlen(unicode_spaces[i])))
				return false;
	}
	return n <= CNI_IFNAME_MAX;
}

static const char *env_str(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void copy_value(char *dst, size_t n, const char *v, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

int cni_env_parse_args(struct cni_env *env, const char *args, struct rv_err *err)
{
	const char *p = args;

	while (p && *p) {
		const char *end = strchrnul(p, ';');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t klen, vlen;
		char val[IP_STRLEN + 8];

		if (end == p) {
			p = *end ? end + 1 : end;
			continue;
		}
		if (!eq)
			return err_set(err, CNI_ERR_ENV, EINVAL,
				       "CNI_ARGS: \"%.*s\" is not a KEY=VALUE pair",
				       (int)(end - p > 64 ? 64 : end - p), p);
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (klen == 2 && !strncmp(p, "IP", 2)) {
			if (vlen >= sizeof(val))
				goto bad_ip;
			copy_value(val, sizeof(val), eq + 1, vlen);
			if (prefix_parse_loose(val, &env->ip) < 0)
				goto bad_ip;
			env->has_ip = true;
		} else if (klen == 3 && !strncmp(p, "MAC", 3)) {
			/* Checked where it is used, with runtimeConfig.mac. */
			copy_value(env->mac, sizeof(env->mac), eq + 1, vlen);
		} else if (klen == 17 && !strncmp(p, "K8S_POD_NAMESPACE", 17)) {
			copy_value(env->k8s_namespace, sizeof(env->k8s_namespace), eq + 1, vlen);
		} else if (klen == 12 && !strncmp(p, "K8S_POD_NAME", 12)) {
			copy_value(env->k8s_pod, sizeof(env->k8s_pod), eq + 1, vlen);
		}
		p = *end ? end + 1 : end;
		continue;
bad_ip:
		return err_set(err, CNI_ERR_ENV, EINVAL,
			       "CNI_ARGS: IP=%.*s is not an IP address (want IP=<address>[/<prefix length>])",
			       (int)(vlen > 64 ? 64 : vlen), eq + 1);
	}
	return 0;
}

static int missing(struct rv_err *err, const char *const names[], unsigned n)
{
	char list[128] = "";
	size_t len = 0;

	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? "," : "", names[i]);
	return err_set(err, CNI_ERR_ENV, EINVAL, "required env variables [%s] missing", list);
}

int cni_env_read(struct cni_env *env, struct rv_err *err)
{
	bool need_attachment = false, need_netns = false;
	const char *absent[3];
	unsigned n_absent = 0;
	const char *o;

	switch (env->command) {
	case CNI_CMD_ADD:
	case CNI_CMD_CHECK:
		need_netns = true;
		/* fall through */
	case CNI_CMD_DEL:
		need_attachment = true;
		break;
	default:
		break;
	}

	env->path = env_str("CNI_PATH");
	env->args = env_str("CNI_ARGS");
	o = env_str("CNI_NETNS_OVERRIDE");
	env->netns_override = o && (!strcmp(o, "1") || !strcasecmp(o, "true"));
	if (!need_attachment)
		return 0;

	env->container_id = env_str("CNI_CONTAINERID");
	env->netns = env_str("CNI_NETNS");
	env->ifname = env_str("CNI_IFNAME");
	if (!env->container_id)
		absent[n_absent++] = "CNI_CONTAINERID";
	if (need_netns && !env->netns)
		absent[n_absent++] = "CNI_NETNS";
	if (!env->ifname)
		absent[n_absent++] = "CNI_IFNAME";
	if (n_absent)
		return missing(err, absent, n_absent);

	if (!cni_valid_container_id(env->container_id))
		return err_set(err, CNI_ERR_ENV, EINVAL,
			       "CNI_CONTAINERID \"%.64s\" is invalid: it must start with a letter or digit, "
			       "contain only letters, digits, '_', '.' and '-', and be at most %d characters",
			       env->container_id, CNI_CONTAINER_ID_MAX);
	if (!cni_valid_ifname(env->ifname))
		return err_set(err, CNI_ERR_ENV, EINVAL,
			       "CNI_IFNAME \"%.32s\" is invalid: it must be 1-%d characters, not \".\" or \"..\", "
			       "without '/', ':', spaces or control characters",
			       env->ifname, CNI_IFNAME_MAX);
	if (env->netns && env->netns[0] != '/')
		return err_set(err, CNI_ERR_ENV, EINVAL,
			       "CNI_NETNS \"%.64s\" is invalid: it must be an absolute path such as /run/netns/<name>",
			       env->netns);
	/* DEL must succeed as far as it can: a CNI_ARGS it cannot read does
	 * not stop it from releasing what this attachment holds. */
	if (env->command == CNI_CMD_DEL) {
		(void)cni_env_parse_args(env, env->args, NULL);
		return 0;
	}
	return cni_env_parse_args(env, env->args, err);
}

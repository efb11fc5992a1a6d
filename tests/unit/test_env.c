// SPDX-License-Identifier: Apache-2.0
/*
 * cni/env: the CNI_* environment is validated before anything is touched.
 *
 * Proves every name rule (container ID and network name: leading letter or
 * digit, then [A-Za-z0-9_.-], at most 200 bytes; ifname: 1-15 bytes, not "."
 * or "..", no '/', ':', whitespace or control characters), that every
 * CNI_COMMAND is recognised exactly (case matters), that each command asks
 * for exactly the variables the spec lists and names the missing ones in
 * libcni's words with code 4, and that CNI_ARGS yields the requested IP
 * (with or without a prefix length) while unknown keys are ignored. The
 * environment is the real one: each test sets what it needs with setenv and
 * a setup clears every CNI_* variable first.
 */
#include "testutil.h"

#include <arpa/inet.h>

#include "cni/env.h"

static const char *const cni_vars[] = {
	"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME",
	"CNI_PATH", "CNI_ARGS", "CNI_NETNS_OVERRIDE",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cni_vars) / sizeof(cni_vars[0]); i++)
		unsetenv(cni_vars[i]);
	return 0;
}

/* A string of @n copies of @c, for the length limits. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* cni_env_command + cni_env_read, as main() runs them. */
static int read_env(struct cni_env *env, struct rv_err *err)
{
	int r = cni_env_command(env, err);

	return r < 0 ? r : cni_env_read(env, err);
}

static void set_attachment(const char *id, const char *netns, const char *ifname)
{
	if (id)
		setenv("CNI_CONTAINERID", id, 1);
	if (netns)
		setenv("CNI_NETNS", netns, 1);
	if (ifname)
		setenv("CNI_IFNAME", ifname, 1);
}

/* ---- names --------------------------------------------------------------- */

static void test_container_id_rules(void **state)
{
	char *max = repeat('a', CNI_CONTAINER_ID_MAX), *over = repeat('a', CNI_CONTAINER_ID_MAX + 1);
	static const char *const good[] = {
		"a", "Z", "0", "abc123", "0123456789abcdef", "a_b", "a.b", "a-b", "a..b",
		"A-._z", "9-", "x.",
	};
	static const char *const bad[] = {
		"", "_a", ".a", "-a", ".", "..", "a/b", "/a", "a:b", "a b", " a", "a ",
		"a\tb", "a\nb", "a\001b", "a\x7f", "caf\xc3\xa9", "a;b", "a=b", "a\\b", "a*",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cni_valid_container_id(good[i]))
			fail_msg("container ID \"%s\" should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cni_valid_container_id(bad[i]))
			fail_msg("container ID \"%s\" should be invalid", bad[i]);
	assert_false(cni_valid_container_id(NULL));
	/* The cap keeps "<id>:<ifname>:<set>" index names below NAME_MAX. */
	assert_true(cni_valid_container_id(max));
	assert_false(cni_valid_container_id(over));
	free(max);
	free(over);
}

static void test_network_name_rules(void **state)
{
	char *max = repeat('n', CNI_NETWORK_NAME_MAX), *over = repeat('n', CNI_NETWORK_NAME_MAX + 1);
	static const char *const good[] = { "net", "k8s-pod-network", "a.b_c-d", "0net", "N" };
	/* The name is a directory under dataDir: nothing that could climb out
	 * of it or hide (".", "..", a leading dot) may pass. */
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "-net", "_net", "a/b", "../etc", "a:b", "a b",
		"a\tb", "a\nb", "a\x01", "n\xc3\xa9t",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cni_valid_network_name(good[i]))
			fail_msg("network name \"%s\" should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cni_valid_network_name(bad[i]))
			fail_msg("network name \"%s\" should be invalid", bad[i]);
	assert_false(cni_valid_network_name(NULL));
	assert_true(cni_valid_network_name(max));
	assert_false(cni_valid_network_name(over));
	free(max);
	free(over);
}

static void test_ifname_rules(void **state)
{
	/* libcni's ValidateInterfaceName has no leading-character rule:
	 * "-x", "_x" and "..." are legal interface names. */
	static const char *const good[] = {
		"eth0", "e", "net1", "eth0.100", "cali1234567890a", "-x", "_x", "...", ".a",
		"veth@1", "a-b_c.d",
	};
	static const char *const bad[] = {
		"", ".", "..", "eth/0", "/", "eth:0", ":", "eth 0", " eth0", "eth0 ", "eth\t0",
		"eth\n0", "eth\r0", "eth\v0", "eth\f0", "eth\x01", "\x1f", "eth\x7f",
		"cali1234567890ab", /* 16 bytes: IFNAMSIZ - 1 is 15 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cni_valid_ifname(good[i]))
			fail_msg("ifname \"%s\" should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cni_valid_ifname(bad[i]))
			fail_msg("ifname \"%s\" should be invalid", bad[i]);
	assert_false(cni_valid_ifname(NULL));
	assert_int_equal(strlen("cali1234567890a"), CNI_IFNAME_MAX);
}

static void test_ifname_unicode_whitespace(void **state)
{
	(void)state;
	/* U+00A0 NO-BREAK SPACE and U+0085 NEXT LINE, as UTF-8. */
	assert_false(cni_valid_ifname("eth\302\2400"));
	assert_false(cni_valid_ifname("eth\302\2050"));
}

/* ---- CNI_COMMAND ----------------------------------------------------------- */

static void test_command_values(void **state)
{
	static const struct {
		const char *name;
		enum cni_command cmd;
	} cases[] = {
		{ "ADD", CNI_CMD_ADD }, { "DEL", CNI_CMD_DEL }, { "CHECK", CNI_CMD_CHECK },
		{ "VERSION", CNI_CMD_VERSION }, { "STATUS", CNI_CMD_STATUS }, { "GC", CNI_CMD_GC },
	};
	struct cni_env env;
	struct rv_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("CNI_COMMAND", cases[i].name, 1);
		assert_int_equal(cni_env_command(&env, &err), 0);
		assert_int_equal(env.command, cases[i].cmd);
		assert_string_equal(env.command_name, cases[i].name);
		assert_int_equal(err.code, 0);
	}
}

static void test_command_absent_is_none(void **state)
{
	struct cni_env env;
	struct rv_err err = { 0 };

	(void)state;
	/* No CNI_COMMAND: a human ran the binary; not an error. */
	assert_int_equal(cni_env_command(&env, &err), 0);
	assert_int_equal(env.command, CNI_CMD_NONE);
	setenv("CNI_COMMAND", "", 1);
	assert_int_equal(cni_env_command(&env, &err), 0);
	assert_int_equal(env.command, CNI_CMD_NONE);
	assert_int_equal(err.code, 0);
}

static void test_command_unknown(void **state)
{
	static const char *const bad[] = { "add", "Add", "FOO", "ADD ", " ADD", "DELETE", "VERSIONS" };
	struct cni_env env;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rv_err err = { 0 };
		char want[64];

		setenv("CNI_COMMAND", bad[i], 1);
		assert_int_equal(cni_env_command(&env, &err), -EINVAL);
		/* libcni's words, which it matches for the VERSION probe. */
		snprintf(want, sizeof(want), "unknown CNI_COMMAND: %s", bad[i]);
		assert_err(err, CNI_ERR_ENV, want);
	}
}

/* ---- required variables ---------------------------------------------------- */

static void expect_missing(const char *cmd, const char *list)
{
	struct cni_env env;
	struct rv_err err = { 0 };
	char want[160];

	setenv("CNI_COMMAND", cmd, 1);
	assert_int_equal(read_env(&env, &err), -EINVAL);
	snprintf(want, sizeof(want), "required env variables [%s] missing", list);
	assert_err(err, CNI_ERR_ENV, want);
	assert_string_equal(err.msg, want);
}

static void test_add_requires_all(void **state)
{
	(void)state;
	expect_missing("ADD", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME");
	set_attachment("c1", NULL, NULL);
	expect_missing("ADD", "CNI_NETNS,CNI_IFNAME");
	set_attachment(NULL, "/run/netns/p", NULL);
	expect_missing("ADD", "CNI_IFNAME");
	unsetenv("CNI_CONTAINERID");
	set_attachment(NULL, NULL, "eth0");
	expect_missing("ADD", "CNI_CONTAINERID");
}

static void test_check_requires_all(void **state)
{
	(void)state;
	expect_missing("CHECK", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME");
	set_attachment("c1", NULL, "eth0");
	expect_missing("CHECK", "CNI_NETNS");
}

static void test_del_netns_optional(void **state)
{
	struct cni_env env;
	struct rv_err err = { 0 };

	(void)state;
	/* The pod's netns may be gone by DEL: it must not be required. */
	expect_missing("DEL", "CNI_CONTAINERID,CNI_IFNAME");
	set_attachment("c1", NULL, NULL);
	expect_missing("DEL", "CNI_IFNAME");
	set_attachment(NULL, NULL, "eth0");
	setenv("CNI_COMMAND", "DEL", 1);
	assert_int_equal(read_env(&env, &err), 0);
	assert_string_equal(env.container_id, "c1");
	assert_string_equal(env.ifname, "eth0");
	assert_null(env.netns);
	/* An empty CNI_NETNS on DEL is the same as none (ptp, F5). */
	setenv("CNI_NETNS", "", 1);
	assert_int_equal(read_env(&env, &err), 0);
	assert_null(env.netns);
	assert_int_equal(err.code, 0);
}

static void test_empty_counts_as_missing(void **state)
{
	(void)state;
	/* libcni's skel treats an empty value as missing (code 4, not 3). */
	set_attachment("", "", "");
	expect_missing("ADD", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME");
}

static void test_no_attachment_commands(void **state)
{
	static const char *const cmds[] = { "VERSION", "STATUS", "GC" };

	(void)state;
	/* libcni sends CNI_NETNS=dummy CNI_IFNAME=dummy to VERSION; GC and
	 * STATUS have no attachment. Invalid values must not be judged. */
	set_attachment("!!bad id", "dummy", "bad/ifname");
	setenv("CNI_ARGS", "not-a-pair", 1);
	setenv("CNI_PATH", "/opt/cni/bin:/usr/lib/cni", 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cni_env env;
		struct rv_err err = { 0 };

		setenv("CNI_COMMAND", cmds[i], 1);
		assert_int_equal(read_env(&env, &err), 0);
		assert_int_equal(err.code, 0);
		assert_null(env.container_id);
		assert_null(env.ifname);
		assert_string_equal(env.path, "/opt/cni/bin:/usr/lib/cni");
	}
}

static void test_add_reads_everything(void **state)
{
	struct cni_env env;
	struct rv_err err = { 0 };

	(void)state;
	set_attachment("0123abcd", "/run/netns/pod1", "eth0");
	setenv("CNI_PATH", "/opt/cni/bin", 1);
	setenv("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-1", 1);
	setenv("CNI_COMMAND", "ADD", 1);
	assert_int_equal(read_env(&env, &err), 0);
	assert_int_equal(env.command, CNI_CMD_ADD);
	assert_string_equal(env.container_id, "0123abcd");
	assert_string_equal(env.netns, "/run/netns/pod1");
	assert_string_equal(env.ifname, "eth0");
	assert_string_equal(env.path, "/opt/cni/bin");
	assert_string_equal(env.k8s_namespace, "kube-system");
	assert_string_equal(env.k8s_pod, "coredns-1");
	assert_false(env.has_ip);
	assert_false(env.netns_override);
}

static void test_env_validates_values(void **state)
{
	static const struct {
		const char *id, *netns, *ifname, *frag;
	} cases[] = {
		{ "-c1", "/run/netns/p", "eth0", "CNI_CONTAINERID \"-c1\" is invalid" },
		{ "c/1", "/run/netns/p", "eth0", "CNI_CONTAINERID \"c/1\" is invalid" },
		{ "c1", "/run/netns/p", "..", "CNI_IFNAME \"..\" is invalid" },
		{ "c1", "/run/netns/p", "eth0:1", "CNI_IFNAME \"eth0:1\" is invalid" },
		{ "c1", "/run/netns/p", "abcdefghijklmnop", "CNI_IFNAME \"abcdefghijklmnop\" is invalid" },
		{ "c1", "run/netns/p", "eth0", "CNI_NETNS \"run/netns/p\" is invalid" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_env env;
		struct rv_err err = { 0 };

		set_attachment(cases[i].id, cases[i].netns, cases[i].ifname);
		setenv("CNI_COMMAND", "ADD", 1);
		assert_int_equal(read_env(&env, &err), -EINVAL);
		assert_err(err, CNI_ERR_ENV, cases[i].frag);
	}
}

static void test_del_validates_names_too(void **state)
{
	struct cni_env env;
	struct rv_err err = { 0 };

	(void)state;
	/* DEL builds file names from these: a bad one must never pass. */
	set_attachment("../../etc", NULL, "eth0");
	setenv("CNI_COMMAND", "DEL", 1);
	assert_int_equal(read_env(&env, &err), -EINVAL);
	assert_err(err, CNI_ERR_ENV, "CNI_CONTAINERID");
}

static void test_netns_override(void **state)
{
	static const struct {
		const char *v;
		bool want;
	} cases[] = {
		{ "1", true }, { "true", true }, { "TRUE", true }, { "True", true },
		{ "0", false }, { "false", false }, { "yes", false }, { "", false },
	};

	(void)state;
	set_attachment("c1", "/run/netns/p", "eth0");
	setenv("CNI_COMMAND", "ADD", 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_env env;
		struct rv_err err = { 0 };

		setenv("CNI_NETNS_OVERRIDE", cases[i].v, 1);
		assert_int_equal(read_env(&env, &err), 0);
		if (env.netns_override != cases[i].want)
			fail_msg("CNI_NETNS_OVERRIDE=%s gave %d", cases[i].v, env.netns_override);
	}
}

/* ---- CNI_ARGS -------------------------------------------------------------- */

static void expect_ip(const char *args, int family, const char *addr, unsigned len)
{
	struct cni_env env = { 0 };
	struct rv_err err = { 0 };
	char buf[IP_STRLEN];

	if (cni_env_parse_args(&env, args, &err) != 0)
		fail_msg("CNI_ARGS \"%s\" failed: %s", args, err.msg);
	assert_true(env.has_ip);
	assert_int_equal(env.ip.ip.family, family);
	assert_string_equal(ip_fmt(&env.ip.ip, buf), addr);
	assert_int_equal(env.ip.len, len);
}

static void test_args_ip(void **state)
{
	(void)state;
	/* Without a prefix the length is the family's full width. */
	expect_ip("IP=10.1.2.3", AF_INET, "10.1.2.3", 32);
	expect_ip("IP=10.1.2.3/24", AF_INET, "10.1.2.3", 24);
	expect_ip("IP=2001:db8::5", AF_INET6, "2001:db8::5", 128);
	expect_ip("IP=2001:db8::5/64", AF_INET6, "2001:db8::5", 64);
	expect_ip("IgnoreUnknown=1;IP=10.1.2.3;K8S_POD_NAME=x", AF_INET, "10.1.2.3", 32);
	/* A repeated key: the last one wins, as libcni's LoadArgs sets it twice. */
	expect_ip("IP=10.1.2.3;IP=10.1.2.4", AF_INET, "10.1.2.4", 32);
	/* Empty pairs (a trailing or doubled ';') are skipped. */
	expect_ip(";;IP=10.9.9.9;", AF_INET, "10.9.9.9", 32);
}

static void test_args_unknown_keys_ignored(void **state)
{
	static const char *const cases[] = {
		"FOO=bar",
		"IgnoreUnknown=1;FOO=bar",
		"IgnoreUnknown=true;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=123",
		/* IgnoreUnknown=0 still ignores: every runtime sends K8S_* keys
		 * and a chain passes every plugin the others' keys. */
		"IgnoreUnknown=0;FOO=bar",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_env env = { 0 };
		struct rv_err err = { 0 };

		if (cni_env_parse_args(&env, cases[i], &err) != 0)
			fail_msg("CNI_ARGS \"%s\" failed: %s", cases[i], err.msg);
		assert_false(env.has_ip);
		assert_int_equal(err.code, 0);
	}
	{
		struct cni_env env = { 0 };

		assert_int_equal(cni_env_parse_args(&env, NULL, NULL), 0);
	}
}

static void test_args_k8s_names(void **state)
{
	struct cni_env env = { 0 };
	struct rv_err err = { 0 };
	char *longname = repeat('p', 400), args[512];

	(void)state;
	assert_int_equal(cni_env_parse_args(&env, "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0", &err), 0);
	assert_string_equal(env.k8s_namespace, "default");
	assert_string_equal(env.k8s_pod, "web-0");
	/* An overlong name is truncated into its buffer, never overflows it. */
	snprintf(args, sizeof(args), "K8S_POD_NAME=%s", longname);
	assert_int_equal(cni_env_parse_args(&env, args, &err), 0);
	assert_int_equal(strlen(env.k8s_pod), sizeof(env.k8s_pod) - 1);
	free(longname);
}

static void test_args_bad_pairs(void **state)
{
	static const struct {
		const char *args, *frag;
	} cases[] = {
		{ "FOO", "CNI_ARGS: \"FOO\" is not a KEY=VALUE pair" },
		{ "IgnoreUnknown=1;garbage", "CNI_ARGS: \"garbage\" is not a KEY=VALUE pair" },
		{ "IP=10.1.2.300", "CNI_ARGS: IP=10.1.2.300 is not an IP address" },
		{ "IP=", "CNI_ARGS: IP= is not an IP address" },
		{ "IP=10.1.2.3/33", "IP=10.1.2.3/33 is not an IP address" },
		{ "IP=fd00::1/129", "IP=fd00::1/129 is not an IP address" },
		{ "IP=10.1.2.3/", "IP=10.1.2.3/ is not an IP address" },
		{ "IP=host.example", "IP=host.example is not an IP address" },
		{ "IP= 10.1.2.3", "is not an IP address" },
		{ "IP=1111:2222:3333:4444:5555:6666:7777:8888/128/1", "is not an IP address" },
		{ "IP=10.1.2.3=4", "is not an IP address" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_env env = { 0 };
		struct rv_err err = { 0 };

		if (cni_env_parse_args(&env, cases[i].args, &err) != -EINVAL)
			fail_msg("CNI_ARGS \"%s\" should fail", cases[i].args);
		assert_err(err, CNI_ERR_ENV, cases[i].frag);
		assert_false(env.has_ip);
	}
}

static void test_args_overlong_ip(void **state)
{
	struct cni_env env = { 0 };
	struct rv_err err = { 0 };
	char *v = repeat('1', 300), args[400];

	(void)state;
	snprintf(args, sizeof(args), "IP=%s", v);
	assert_int_equal(cni_env_parse_args(&env, args, &err), -EINVAL);
	assert_err(err, CNI_ERR_ENV, "is not an IP address");
	/* The message quotes at most 64 bytes of the value. */
	assert_true(strlen(err.msg) < 200);
	free(v);
}

static void test_read_bad_args_fails_add_not_del(void **state)
{
	struct cni_env env;
	struct rv_err err = { 0 };

	(void)state;
	set_attachment("c1", "/run/netns/p", "eth0");
	setenv("CNI_ARGS", "IP=not-an-ip", 1);
	setenv("CNI_COMMAND", "ADD", 1);
	assert_int_equal(read_env(&env, &err), -EINVAL);
	assert_err(err, CNI_ERR_ENV, "CNI_ARGS: IP=not-an-ip is not an IP address");

	/* DEL must still release what the attachment holds. */
	err_clear(&err);
	setenv("CNI_COMMAND", "DEL", 1);
	assert_int_equal(read_env(&env, &err), 0);
	assert_int_equal(err.code, 0);
	assert_false(env.has_ip);

	setenv("CNI_ARGS", "IP=10.0.0.9/24", 1);
	setenv("CNI_COMMAND", "ADD", 1);
	assert_int_equal(read_env(&env, &err), 0);
	assert_true(env.has_ip);
	assert_int_equal(env.ip.len, 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_container_id_rules, clear_env),
		cmocka_unit_test_setup(test_network_name_rules, clear_env),
		cmocka_unit_test_setup(test_ifname_rules, clear_env),
		cmocka_unit_test_setup(test_ifname_unicode_whitespace, clear_env),
		cmocka_unit_test_setup(test_command_values, clear_env),
		cmocka_unit_test_setup(test_command_absent_is_none, clear_env),
		cmocka_unit_test_setup(test_command_unknown, clear_env),
		cmocka_unit_test_setup(test_add_requires_all, clear_env),
		cmocka_unit_test_setup(test_check_requires_all, clear_env),
		cmocka_unit_test_setup(test_del_netns_optional, clear_env),
		cmocka_unit_test_setup(test_empty_counts_as_missing, clear_env),
		cmocka_unit_test_setup(test_no_attachment_commands, clear_env),
		cmocka_unit_test_setup(test_add_reads_everything, clear_env),
		cmocka_unit_test_setup(test_env_validates_values, clear_env),
		cmocka_unit_test_setup(test_del_validates_names_too, clear_env),
		cmocka_unit_test_setup(test_netns_override, clear_env),
		cmocka_unit_test_setup(test_args_ip, clear_env),
		cmocka_unit_test_setup(test_args_unknown_keys_ignored, clear_env),
		cmocka_unit_test_setup(test_args_k8s_names, clear_env),
		cmocka_unit_test_setup(test_args_bad_pairs, clear_env),
		cmocka_unit_test_setup(test_args_overlong_ip, clear_env),
		cmocka_unit_test_setup(test_read_bad_args_fails_add_not_del, clear_env),
	};

	return cmocka_run_group_tests_name("cni/env", tests, NULL, NULL);
}

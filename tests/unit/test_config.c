// SPDX-License-Identifier: Apache-2.0
/*
 * cni/config: the network configuration on stdin becomes a plain struct,
 * every key as documented, or one error with the right code.
 *
 * Proves each key is read into its field (cniVersion, name, type, mtu,
 * ipMasq, ipMasqExclude, dns, the whole ipam section with ranges, the legacy
 * subnet/rangeStart/rangeEnd/gateway, routes, dataDir, resolvConf,
 * reclaimAfterReboot, args.cni.ips, runtimeConfig.ips/ipRanges/mac/dns,
 * prevResult in each version's shape, both GC attachment keys, logFile,
 * logLevel, logMaxSizeMB); that unknown keys are ignored and JSON null is
 * absent; and the error ladder: an unsupported version or a version too old
 * for CHECK (< 0.4.0), STATUS or GC (< 1.1.0) is code 1 before anything
 * else, text that is not a JSON object is code 6, a key of the wrong JSON
 * type is code 6, a value that fails validation is code 7 naming the key,
 * a missing ipam is code 7 (not for VERSION), and GC without an attachment
 * list is code 7. Also the host-local merge orders: requested addresses from
 * CNI_ARGS IP, then args.cni.ips, then runtimeConfig.ips; range sets from
 * runtimeConfig.ipRanges, then the legacy subnet, then ranges.
 */
#include "testutil.h"

#include <arpa/inet.h>

#include "cni/config.h"

#define IPAM "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.1.0.0/16\"}]]}"
#define HEAD(v) "{\"cniVersion\":\"" v "\",\"name\":\"net1\",\"type\":\"rivet\","
/* A valid 1.0.0 config with @extra keys before ipam. */
#define CONF(extra) HEAD("1.0.0") extra IPAM "}"
/* A valid 1.1.0 config for GC, without an attachment list. */
#define CONF_GC HEAD("1.1.0") IPAM "}"

static int parse_env(const char *text, const struct cni_env *env, struct netconf *conf, struct rv_err *err)
{
	err_clear(err);
	return cni_config_parse(text, strlen(text), env, conf, err);
}

static int parse(const char *text, enum cni_command cmd, struct netconf *conf, struct rv_err *err)
{
	struct cni_env env = { .command = cmd };

	return parse_env(text, &env, conf, err);
}

/* Parse for ADD; must succeed. */
static void parse_ok(const char *text, struct netconf *conf)
{
	struct rv_err err;

	if (parse(text, CNI_CMD_ADD, conf, &err) != 0)
		fail_msg("parse failed (%u: %s) for %s", err.code, err.msg, text);
}

static void expect_fail(const char *text, enum cni_command cmd, unsigned code, const char *frag)
{
	struct netconf conf;
	struct rv_err err;

	if (parse(text, cmd, &conf, &err) == 0)
		fail_msg("parse should fail (code %u, \"%s\") for %s", code, frag, text);
	if (err.code != code || !strstr(err.msg, frag))
		fail_msg("for %s\n got code %u \"%s\"\n want code %u \"%s\"", text, err.code, err.msg, code, frag);
	netconf_done(&conf);
}

static const char *fmt_prefix(const struct rv_prefix *p)
{
	static char buf[4][IP_STRLEN];
	static int i;

	return prefix_fmt(p, buf[i++ & 3]);
}

static const char *fmt_ip(const struct rv_ip *a)
{
	static char buf[4][IP_STRLEN];
	static int i;

	return ip_fmt(a, buf[i++ & 3]);
}

/* ---- what is read ---------------------------------------------------------- */

static void test_minimal(void **state)
{
	struct netconf c;

	(void)state;
	parse_ok(CONF(""), &c);
	assert_int_equal(c.version, CNI_V100);
	assert_string_equal(c.cni_version, "1.0.0");
	assert_string_equal(c.name, "net1");
	assert_string_equal(c.type, "rivet");
	assert_true(c.has_ipam);
	assert_string_equal(c.ipam.type, "host-local");
	assert_int_equal(c.ipam.n_sets, 1);
	assert_int_equal(c.ipam.sets[0].n, 1);
	assert_string_equal(fmt_prefix(&c.ipam.sets[0].r[0].subnet), "10.1.0.0/16");
	/* Optional fields stay unset until ipam canonicalizes them. */
	assert_false(ip_is_set(&c.ipam.sets[0].r[0].start));
	assert_false(ip_is_set(&c.ipam.sets[0].r[0].gateway));
	/* Defaults. */
	assert_true(c.ipam.reclaim_after_reboot);
	assert_null(c.ipam.data_dir);
	assert_null(c.ipam.resolv_conf);
	assert_int_equal(c.ipam.n_requested, 0);
	assert_int_equal(c.mtu, 0);
	assert_false(c.ip_masq);
	assert_int_equal(c.n_masq_exclude, 0);
	assert_true(dns_is_empty(&c.dns));
	assert_null(c.mac);
	assert_null(c.log_file);
	assert_false(c.has_log_level);
	assert_int_equal(c.log_max_size, 0);
	assert_false(c.has_prev_result);
	assert_false(c.has_valid_attachments);
	netconf_done(&c);
	/* netconf_done leaves it zeroed; done twice is safe. */
	assert_null(c.name);
	netconf_done(&c);
}

static const char every_key[] =
	"{\"cniVersion\":\"1.1.0\",\"name\":\"k8s-pod-network\",\"type\":\"rivet\","
	"\"mtu\":1450,\"ipMasq\":true,\"ipMasqExclude\":[\"10.96.0.0/12\",\"fd00:10:96::1/112\"],"
	"\"dns\":{\"nameservers\":[\"10.96.0.10\",\"fd00::10\"],\"domain\":\"cluster.local\","
	"\"search\":[\"svc.cluster.local\"],\"options\":[\"ndots:5\",\"edns0\"]},"
	"\"logFile\":\"/var/log/rivet.log\",\"logLevel\":\"debug\",\"logMaxSizeMB\":5,"
	"\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/run/cni/ipam\",\"resolvConf\":\"/etc/rivet/resolv.conf\","
	"\"reclaimAfterReboot\":false,"
	"\"ranges\":[[{\"subnet\":\"10.1.0.0/24\",\"rangeStart\":\"10.1.0.10\",\"rangeEnd\":\"10.1.0.200\","
	"\"gateway\":\"10.1.0.254\"},{\"subnet\":\"10.2.0.0/24\"}],[{\"subnet\":\"fd00:1::/64\"}]],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"::/0\",\"gw\":\"fd00:1::1\"},"
	"{\"dst\":\"10.96.0.0/12\",\"mtu\":1400,\"advmss\":1360,\"priority\":5,\"table\":254,\"scope\":0}]},"
	"\"args\":{\"cni\":{\"ips\":[\"10.1.0.20\"]}},"
	"\"runtimeConfig\":{\"mac\":\"c2:11:22:33:44:55\",\"ips\":[\"fd00:1::20/64\"],"
	"\"dns\":{\"servers\":[\"1.1.1.1\"],\"searches\":[\"example.com\"],\"options\":[\"rotate\"]}},"
	"\"prevResult\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/run/netns/p\"}],"
	"\"ips\":[{\"address\":\"10.1.0.20/24\",\"gateway\":\"10.1.0.254\",\"interface\":0}]},"
	"\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"},"
	"{\"containerID\":\"c2\",\"ifname\":\"net1\"}]}";

static void test_every_key(void **state)
{
	const struct ipam_conf *ip;
	struct netconf c;

	(void)state;
	parse_ok(every_key, &c);
	assert_int_equal(c.version, CNI_V110);
	assert_string_equal(c.name, "k8s-pod-network");
	assert_int_equal(c.mtu, 1450);
	assert_true(c.ip_masq);
	assert_int_equal(c.n_masq_exclude, 2);
	assert_string_equal(fmt_prefix(&c.masq_exclude[0]), "10.96.0.0/12");
	/* Host bits are cleared: the rule names a network. */
	assert_string_equal(fmt_prefix(&c.masq_exclude[1]), "fd00:10:96::/112");

	assert_int_equal(c.dns.nameservers.n, 2);
	assert_string_equal(c.dns.nameservers.v[1], "fd00::10");
	assert_string_equal(c.dns.domain, "cluster.local");
	assert_string_equal(c.dns.search.v[0], "svc.cluster.local");
	assert_int_equal(c.dns.options.n, 2);
	assert_string_equal(c.dns.options.v[1], "edns0");

	assert_string_equal(c.log_file, "/var/log/rivet.log");
	assert_true(c.has_log_level);
	assert_int_equal(c.log_level, RV_LOG_DEBUG);
	assert_int_equal(c.log_max_size, 5u << 20);

	ip = &c.ipam;
	assert_string_equal(ip->data_dir, "/run/cni/ipam");
	assert_string_equal(ip->resolv_conf, "/etc/rivet/resolv.conf");
	assert_false(ip->reclaim_after_reboot);
	assert_int_equal(ip->n_sets, 2);
	assert_int_equal(ip->sets[0].n, 2);
	assert_string_equal(fmt_prefix(&ip->sets[0].r[0].subnet), "10.1.0.0/24");
	assert_string_equal(fmt_ip(&ip->sets[0].r[0].start), "10.1.0.10");
	assert_string_equal(fmt_ip(&ip->sets[0].r[0].end), "10.1.0.200");
	assert_string_equal(fmt_ip(&ip->sets[0].r[0].gateway), "10.1.0.254");
	assert_string_equal(fmt_prefix(&ip->sets[0].r[1].subnet), "10.2.0.0/24");
	assert_int_equal(ip->sets[1].n, 1);
	assert_string_equal(fmt_prefix(&ip->sets[1].r[0].subnet), "fd00:1::/64");
	assert_int_equal(ip->n_routes, 3);
	assert_string_equal(fmt_prefix(&ip->routes[0].dst), "0.0.0.0/0");
	assert_int_equal(ip->routes[0].has, 0);
	assert_string_equal(fmt_ip(&ip->routes[1].gw), "fd00:1::1");
	assert_int_equal(ip->routes[1].has, ROUTE_HAS_GW);
	assert_int_equal(ip->routes[2].mtu, 1400);
	assert_int_equal(ip->routes[2].advmss, 1360);
	assert_int_equal(ip->routes[2].priority, 5);
	assert_int_equal(ip->routes[2].table, 254);
	assert_int_equal(ip->routes[2].scope, 0);
	/* scope 0 is a value (RT_SCOPE_UNIVERSE), not "absent". */
	assert_int_equal(ip->routes[2].has,
			 ROUTE_HAS_MTU | ROUTE_HAS_ADVMSS | ROUTE_HAS_PRIORITY | ROUTE_HAS_TABLE | ROUTE_HAS_SCOPE);
	assert_int_equal(ip->n_requested, 2);
	assert_string_equal(fmt_prefix(&ip->requested[0]), "10.1.0.20/32");
	assert_string_equal(fmt_prefix(&ip->requested[1]), "fd00:1::20/64");

	assert_string_equal(c.mac, "c2:11:22:33:44:55");
	/* The capability's own names map to the dns struct. */
	assert_string_equal(c.runtime_dns.nameservers.v[0], "1.1.1.1");
	assert_string_equal(c.runtime_dns.search.v[0], "example.com");
	assert_string_equal(c.runtime_dns.options.v[0], "rotate");
	assert_null(c.runtime_dns.domain);

	assert_true(c.has_prev_result);
	assert_int_equal(c.prev_result.n_ifaces, 1);
	assert_string_equal(c.prev_result.ifaces[0].sandbox, "/run/netns/p");
	assert_int_equal(c.prev_result.n_ips, 1);
	assert_int_equal(c.prev_result.ips[0].iface, 0);

	assert_true(c.has_valid_attachments);
	assert_int_equal(c.n_valid, 2);
	assert_string_equal(c.valid[1].container_id, "c2");
	assert_string_equal(c.valid[1].ifname, "net1");
	netconf_done(&c);
}

static void test_unknown_keys_ignored(void **state)
{
	struct netconf c;

	(void)state;
	/* The spec lets plugins refuse unknown keys; rivet must not, as
	 * runtimes and chains add their own. */
	parse_ok("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"type\":\"rivet\","
		 "\"capabilities\":{\"ips\":true,\"portMappings\":true},"
		 "\"cni.dev/something\":[1,2],\"futureKey\":{\"a\":[null]},\"disableCheck\":true,"
		 "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80}],\"bandwidth\":{},\"mac\":\"02:00:00:00:00:01\"},"
		 "\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":\"b\"}]},\"other\":1},"
		 "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.1.0.0/16\",\"extra\":1}]],"
		 "\"somethingNew\":\"x\"}}",
		 &c);
	assert_string_equal(c.mac, "02:00:00:00:00:01");
	assert_int_equal(c.ipam.n_sets, 1);
	netconf_done(&c);
}

static void test_unknown_keys_named(void **state)
{
	struct netconf c;

	(void)state;
	/* Each unknown key is named, with the known key it most resembles
	 * (case, a letter off, two swapped); the runtime's keys are not. */
	parse_ok("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"type\":\"rivet\",\"ipmasq\":true,"
		 "\"logfile\":\"/x\",\"mut\":1400,\"xyzzy\":1,\"cni.dev/valid-attachments\":[],"
		 "\"capabilities\":{},\"runtimeConfig\":{\"anything\":1},\"args\":{\"x\":1},"
		 "\"dns\":{\"nameserver\":[]},"
		 "\"ipam\":{\"type\":\"host-local\",\"datadir\":\"/d\",\"ranges\":[[{\"subnet\":\"10.1.0.0/16\","
		 "\"rangestart\":\"10.1.0.9\"}]],\"routes\":[{\"dst\":\"10.9.0.0/16\",\"metric\":1}]}}",
		 &c);
	assert_int_equal(c.warnings.n, 8);
	assert_string_equal(c.warnings.v[0], "unknown key \"ipmasq\" is ignored (did you mean \"ipMasq\"?)");
	assert_string_equal(c.warnings.v[1], "unknown key \"logfile\" is ignored (did you mean \"logFile\"?)");
	assert_string_equal(c.warnings.v[2], "unknown key \"mut\" is ignored (did you mean \"mtu\"?)");
	assert_string_equal(c.warnings.v[3], "unknown key \"xyzzy\" is ignored");
	assert_string_equal(c.warnings.v[4], "unknown key \"nameserver\" in dns is ignored (did you mean \"nameservers\"?)");
	assert_string_equal(c.warnings.v[5], "unknown key \"datadir\" in ipam is ignored (did you mean \"dataDir\"?)");
	assert_string_equal(c.warnings.v[6],
			    "unknown key \"rangestart\" in ipam.ranges[0][0] is ignored (did you mean \"rangeStart\"?)");
	assert_string_equal(c.warnings.v[7], "unknown key \"metric\" in ipam.routes[0] is ignored");
	netconf_done(&c);
	/* A delegated plugin's ipam is its own business. */
	parse_ok("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"type\":\"rivet\","
		 "\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10.1.0.0/16\"}}", &c);
	assert_int_equal(c.warnings.n, 0);
	netconf_done(&c);
}

static void test_null_is_absent(void **state)
{
	struct netconf c;

	(void)state;
	parse_ok(CONF("\"mtu\":null,\"ipMasq\":null,\"dns\":null,\"runtimeConfig\":null,\"prevResult\":null,"
		      "\"logFile\":null,"),
		 &c);
	assert_int_equal(c.mtu, 0);
	assert_false(c.has_prev_result);
	assert_null(c.log_file);
	netconf_done(&c);
}

static void test_missing_version_is_010(void **state)
{
	struct netconf c;

	(void)state;
	parse_ok("{\"name\":\"net1\",\"type\":\"rivet\"," IPAM "}", &c);
	assert_int_equal(c.version, CNI_V010);
	assert_string_equal(c.cni_version, "");
	netconf_done(&c);
	parse_ok("{\"cniVersion\":\"\",\"name\":\"net1\",\"type\":\"rivet\"," IPAM "}", &c);
	assert_int_equal(c.version, CNI_V010);
	netconf_done(&c);
}

static void test_every_version_accepted(void **state)
{
	(void)state;
	for (int v = 0; v < CNI_V_COUNT; v++) {
		char text[512];
		struct netconf c;

		snprintf(text, sizeof(text), "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"rivet\"," IPAM "}",
			 cni_version_name((enum cni_version)v));
		parse_ok(text, &c);
		assert_int_equal(c.version, v);
		netconf_done(&c);
	}
}

static void test_log_levels(void **state)
{
	static const struct {
		const char *name;
		enum log_level l;
	} cases[] = {
		{ "error", RV_LOG_ERROR }, { "warn", RV_LOG_WARN }, { "warning", RV_LOG_WARN },
		{ "info", RV_LOG_INFO }, { "debug", RV_LOG_DEBUG }, { "DEBUG", RV_LOG_DEBUG },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		struct netconf c;

		snprintf(text, sizeof(text), CONF("\"logLevel\":\"%s\","), cases[i].name);
		parse_ok(text, &c);
		assert_true(c.has_log_level);
		assert_int_equal(c.log_level, cases[i].l);
		netconf_done(&c);
	}
}

static void test_mtu_bounds(void **state)
{
	struct netconf c;

	(void)state;
	parse_ok(CONF("\"mtu\":68,"), &c);
	assert_int_equal(c.mtu, 68);
	netconf_done(&c);
	parse_ok(CONF("\"mtu\":65535,"), &c);
	assert_int_equal(c.mtu, 65535);
	netconf_done(&c);
	/* 0 means "the default route's device MTU". */
	parse_ok(CONF("\"mtu\":0,"), &c);
	assert_int_equal(c.mtu, 0);
	netconf_done(&c);
	expect_fail(CONF("\"mtu\":67,"), CNI_CMD_ADD, CNI_ERR_CONFIG, "mtu 67 is below the IPv4 minimum of 68");
	expect_fail(CONF("\"mtu\":65536,"), CNI_CMD_ADD, CNI_ERR_CONFIG, "mtu must be a whole number from 0 to 65535");
	expect_fail(CONF("\"mtu\":-1,"), CNI_CMD_ADD, CNI_ERR_CONFIG, "mtu must be a whole number");
	expect_fail(CONF("\"mtu\":1500.5,"), CNI_CMD_ADD, CNI_ERR_CONFIG, "mtu must be a whole number");
}

static void test_legacy_range_keys(void **state)
{
	struct netconf c;

	(void)state;
	parse_ok(HEAD("0.3.1") "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.9.0.0/24\","
		 "\"rangeStart\":\"10.9.0.100\",\"rangeEnd\":\"10.9.0.150\",\"gateway\":\"10.9.0.1\"}}",
		 &c);
	assert_int_equal(c.ipam.n_sets, 1);
	assert_int_equal(c.ipam.sets[0].n, 1);
	assert_string_equal(fmt_prefix(&c.ipam.sets[0].r[0].subnet), "10.9.0.0/24");
	assert_string_equal(fmt_ip(&c.ipam.sets[0].r[0].start), "10.9.0.100");
	assert_string_equal(fmt_ip(&c.ipam.sets[0].r[0].end), "10.9.0.150");
	assert_string_equal(fmt_ip(&c.ipam.sets[0].r[0].gateway), "10.9.0.1");
	netconf_done(&c);
}

static void test_range_set_order(void **state)
{
	struct netconf c;

	(void)state;
	/* host-local's LoadIPAMConfig: the legacy range goes before "ranges",
	 * and runtimeConfig.ipRanges before everything. */
	parse_ok(HEAD("1.0.0")
		 "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.100.0.0/24\"}],[{\"subnet\":\"fd01::/64\"}]]},"
		 "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.9.0.0/24\","
		 "\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}],[{\"subnet\":\"fd00::/64\"}]]}}",
		 &c);
	assert_int_equal(c.ipam.n_sets, 5);
	assert_string_equal(fmt_prefix(&c.ipam.sets[0].r[0].subnet), "10.100.0.0/24");
	assert_string_equal(fmt_prefix(&c.ipam.sets[1].r[0].subnet), "fd01::/64");
	assert_string_equal(fmt_prefix(&c.ipam.sets[2].r[0].subnet), "10.9.0.0/24");
	assert_string_equal(fmt_prefix(&c.ipam.sets[3].r[0].subnet), "10.1.0.0/24");
	assert_string_equal(fmt_prefix(&c.ipam.sets[4].r[0].subnet), "fd00::/64");
	netconf_done(&c);
}

static void test_requested_merge_order(void **state)
{
	struct cni_env env = { .command = CNI_CMD_ADD };
	struct netconf c;
	struct rv_err err;

	(void)state;
	assert_int_equal(cni_env_parse_args(&env, "IgnoreUnknown=1;IP=10.1.0.1", NULL), 0);
	if (parse_env(CONF("\"args\":{\"cni\":{\"ips\":[\"10.1.0.2\",\"10.1.0.3/24\"]}},"
			   "\"runtimeConfig\":{\"ips\":[\"10.1.0.4\",\"fd00::4/64\"]},"),
		      &env, &c, &err) != 0)
		fail_msg("parse: %s", err.msg);
	/* host-local merges all three, in this order, into one list. */
	assert_int_equal(c.ipam.n_requested, 5);
	assert_string_equal(fmt_prefix(&c.ipam.requested[0]), "10.1.0.1/32");
	assert_string_equal(fmt_prefix(&c.ipam.requested[1]), "10.1.0.2/32");
	assert_string_equal(fmt_prefix(&c.ipam.requested[2]), "10.1.0.3/24");
	assert_string_equal(fmt_prefix(&c.ipam.requested[3]), "10.1.0.4/32");
	assert_string_equal(fmt_prefix(&c.ipam.requested[4]), "fd00::4/64");
	netconf_done(&c);
}

static void test_delegated_ipam(void **state)
{
	struct netconf c;

	(void)state;
	/* Another IPAM plugin reads its own keys: rivet reads only the type. */
	parse_ok(HEAD("1.0.0") "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"bad\"}]]},"
		 "\"ipam\":{\"type\":\"static\",\"addresses\":[{\"address\":\"10.10.0.1/24\"}],"
		 "\"ranges\":\"not even a list\",\"dataDir\":\"relative\"}}",
		 &c);
	assert_string_equal(c.ipam.type, "static");
	assert_int_equal(c.ipam.n_sets, 0);
	assert_null(c.ipam.data_dir);
	netconf_done(&c);
}

static void test_missing_ipam(void **state)
{
	static const struct {
		const char *version;
		enum cni_command cmd;
	} cases[] = {
		{ "1.1.0", CNI_CMD_ADD }, { "1.1.0", CNI_CMD_DEL }, { "1.1.0", CNI_CMD_CHECK },
		{ "1.1.0", CNI_CMD_STATUS },
	};
	struct netconf c;
	struct rv_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"rivet\"}", cases[i].version);
		expect_fail(text, cases[i].cmd, CNI_ERR_CONFIG, "ipam is missing");
	}
	expect_fail("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"rivet\",\"cni.dev/valid-attachments\":[]}",
		    CNI_CMD_GC, CNI_ERR_CONFIG, "ipam is missing");
	expect_fail("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"rivet\",\"ipam\":null}", CNI_CMD_ADD,
		    CNI_ERR_CONFIG, "ipam is missing");
	/* VERSION answers whatever the config lacks. */
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"rivet\"}", CNI_CMD_VERSION,
			       &c, &err), 0);
	assert_false(c.has_ipam);
	netconf_done(&c);
}

/* ---- prevResult in every version's shape ----------------------------------- */

static void expect_prev(const char *version, const char *prev_body)
{
	char text[2048], want[1024];
	struct rv_err err = { 0 };
	struct netconf c;
	enum cni_version v;
	char *got;

	assert_int_equal(cni_version_parse(version, &v, NULL), 0);
	snprintf(text, sizeof(text), "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"rivet\"," IPAM
		 ",\"prevResult\":{\"cniVersion\":\"%s\",%s}}", version, version, prev_body);
	parse_ok(text, &c);
	assert_true(c.has_prev_result);
	/* Read back, written again in the same version: the same text. */
	got = cni_result_encode(&c.prev_result, v, &err);
	if (!got)
		fail_msg("encode: %s", err.msg);
	snprintf(want, sizeof(want), "{\"cniVersion\":\"%s\",%s}\n", version, prev_body);
	if (strcmp(got, want))
		fail_msg("prevResult %s:\n got  %s want %s", version, got, want);
	free(got);
	netconf_done(&c);
}

static void test_prev_result_each_version(void **state)
{
	static const char legacy[] =
		"\"ip4\":{\"ip\":\"10.1.0.5/16\",\"gateway\":\"10.1.0.1\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},"
		"\"ip6\":{\"ip\":\"fd00::5/64\"},\"dns\":{\"nameservers\":[\"10.96.0.10\"]}";
	static const char v04[] =
		"\"interfaces\":[{\"name\":\"veth1\",\"mac\":\"ee:ee:ee:ee:ee:ee\"},"
		"{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"sandbox\":\"/run/netns/p\"}],"
		"\"ips\":[{\"version\":\"4\",\"interface\":1,\"address\":\"10.1.0.5/32\",\"gateway\":\"169.254.1.1\"}],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"}]";
	static const char v1[] =
		"\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":1450,\"sandbox\":\"/run/netns/p\"}],"
		"\"ips\":[{\"interface\":0,\"address\":\"fd00::5/128\",\"gateway\":\"fe80::1\"}],"
		"\"routes\":[{\"dst\":\"::/0\",\"gw\":\"fe80::1\",\"table\":100}]";

	(void)state;
	expect_prev("0.1.0", legacy);
	expect_prev("0.2.0", legacy);
	expect_prev("0.3.0", v04);
	expect_prev("0.3.1", v04);
	expect_prev("0.4.0", v04);
	expect_prev("1.0.0", v1);
	expect_prev("1.1.0", v1);
}

static void test_prev_result_refused(void **state)
{
	(void)state;
	expect_fail(CONF("\"prevResult\":[],"), CNI_CMD_ADD, CNI_ERR_DECODE, "prevResult must be an object");
	expect_fail(CONF("\"prevResult\":{\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":3}]},"), CNI_CMD_ADD,
		    CNI_ERR_CONFIG, "prevResult.ips[0].interface is 3 but there are only 0 interfaces");
	expect_fail(CONF("\"prevResult\":{\"ips\":[{\"address\":\"nope\"}]},"), CNI_CMD_ADD, CNI_ERR_CONFIG,
		    "prevResult.ips[0].address must be a CIDR");
}

/* ---- GC attachments ---------------------------------------------------------- */

static void test_gc_attachments(void **state)
{
	struct netconf c;
	struct rv_err err;

	(void)state;
	/* Both spellings (spec-v1.1.0 tag and main); main's wins if both. */
	assert_int_equal(parse(HEAD("1.1.0") "\"cni.dev/attachments\":[{\"containerID\":\"old\",\"ifname\":\"eth0\"}],"
			       IPAM "}", CNI_CMD_GC, &c, &err), 0);
	assert_true(c.has_valid_attachments);
	assert_int_equal(c.n_valid, 1);
	assert_string_equal(c.valid[0].container_id, "old");
	netconf_done(&c);
	assert_int_equal(parse(HEAD("1.1.0") "\"cni.dev/attachments\":[{\"containerID\":\"old\",\"ifname\":\"eth0\"}],"
			       "\"cni.dev/valid-attachments\":[{\"containerID\":\"new\",\"ifname\":\"eth1\"},"
			       "{\"containerID\":\"new2\",\"ifname\":\"eth0\"}]," IPAM "}", CNI_CMD_GC, &c, &err), 0);
	assert_int_equal(c.n_valid, 2);
	assert_string_equal(c.valid[0].container_id, "new");
	assert_string_equal(c.valid[0].ifname, "eth1");
	netconf_done(&c);
	/* An empty list is a list: "nothing is valid". */
	assert_int_equal(parse(HEAD("1.1.0") "\"cni.dev/valid-attachments\":[]," IPAM "}", CNI_CMD_GC, &c, &err), 0);
	assert_true(c.has_valid_attachments);
	assert_int_equal(c.n_valid, 0);
	netconf_done(&c);
}

static void test_gc_without_attachments(void **state)
{
	(void)state;
	/* Absent must not read as empty: that would release every address. */
	expect_fail(CONF_GC, CNI_CMD_GC, CNI_ERR_CONFIG, "GC needs cni.dev/valid-attachments");
}

static void test_gc_attachment_refusals(void **state)
{
	(void)state;
	expect_fail(HEAD("1.1.0") "\"cni.dev/valid-attachments\":{}," IPAM "}", CNI_CMD_GC, CNI_ERR_DECODE,
		    "cni.dev/valid-attachments must be a list");
	expect_fail(HEAD("1.1.0") "\"cni.dev/valid-attachments\":[\"c1\"]," IPAM "}", CNI_CMD_GC, CNI_ERR_DECODE,
		    "cni.dev/valid-attachments[0] must be an object");
	expect_fail(HEAD("1.1.0") "\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\"}]," IPAM "}", CNI_CMD_GC,
		    CNI_ERR_CONFIG, "cni.dev/valid-attachments[0].ifname is required");
	expect_fail(HEAD("1.1.0") "\"cni.dev/attachments\":[{\"ifname\":\"eth0\"}]," IPAM "}", CNI_CMD_GC,
		    CNI_ERR_CONFIG, "cni.dev/attachments[0].containerID is required");
	expect_fail(HEAD("1.1.0") "\"cni.dev/valid-attachments\":[{\"containerID\":1,\"ifname\":\"eth0\"}]," IPAM "}",
		    CNI_CMD_GC, CNI_ERR_DECODE, "containerID must be a string");
}

/* ---- version ladder ---------------------------------------------------------- */

static void test_command_version_gates(void **state)
{
	static const char *const old_check[] = { "", "0.1.0", "0.2.0", "0.3.0", "0.3.1" };
	static const char *const old_11[] = { "0.4.0", "1.0.0", "0.1.0" };
	char text[512];
	struct netconf c;
	struct rv_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(old_check) / sizeof(old_check[0]); i++) {
		snprintf(text, sizeof(text), "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"rivet\"," IPAM "}",
			 old_check[i]);
		expect_fail(text, CNI_CMD_CHECK, CNI_ERR_VERSION, "config version does not allow CHECK");
	}
	for (size_t i = 0; i < sizeof(old_11) / sizeof(old_11[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"rivet\",\"cni.dev/valid-attachments\":[]," IPAM "}",
			 old_11[i]);
		expect_fail(text, CNI_CMD_STATUS, CNI_ERR_VERSION, "config version does not allow STATUS");
		expect_fail(text, CNI_CMD_GC, CNI_ERR_VERSION, "config version does not allow GC");
	}
	assert_int_equal(parse(HEAD("0.4.0") IPAM "}", CNI_CMD_CHECK, &c, &err), 0);
	netconf_done(&c);
	assert_int_equal(parse(HEAD("1.1.0") IPAM "}", CNI_CMD_STATUS, &c, &err), 0);
	netconf_done(&c);
	/* ADD and DEL work at every version, 0.1.0 included. */
	assert_int_equal(parse(HEAD("0.1.0") IPAM "}", CNI_CMD_DEL, &c, &err), 0);
	netconf_done(&c);
}

static void test_version_checked_first(void **state)
{
	(void)state;
	/* A config for a newer spec says so, rather than complaining about
	 * a key that spec may have changed. */
	expect_fail("{\"cniVersion\":\"2.0.0\",\"name\":\"bad/name\",\"mtu\":\"x\"}", CNI_CMD_ADD, CNI_ERR_VERSION,
		    "incompatible CNI versions");
	expect_fail("{\"cniVersion\":\"0.3.1\",\"name\":\"bad/name\"}", CNI_CMD_CHECK, CNI_ERR_VERSION,
		    "does not allow CHECK");
	expect_fail("{\"cniVersion\":1.0,\"name\":\"n\",\"type\":\"rivet\"," IPAM "}", CNI_CMD_ADD, CNI_ERR_DECODE,
		    "cniVersion must be a string");
}

/* ---- not JSON ---------------------------------------------------------------- */

static void test_broken_json(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"cniVersion\":\"1.0.0\",", "{'a':1}", "not json", "{\"a\":1,}",
	};
	static const char *const not_object[] = { "[]", "null", "\"text\"", "42", "true" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i], CNI_CMD_ADD, CNI_ERR_DECODE, "the network configuration on stdin is not valid JSON");
	for (size_t i = 0; i < sizeof(not_object) / sizeof(not_object[0]); i++)
		expect_fail(not_object[i], CNI_CMD_ADD, CNI_ERR_DECODE, "must be a JSON object");
	{
		struct netconf c;
		struct rv_err err;

		/* Where the parser stopped, for the operator. */
		assert_true(parse("{\"name\": x}", CNI_CMD_ADD, &c, &err) < 0);
		assert_string_equal(err.details, "parse error at byte 9");
	}
}

static void test_trailing_garbage(void **state)
{
	(void)state;
	expect_fail(CONF("") " trailing", CNI_CMD_ADD, CNI_ERR_DECODE, "not valid JSON");
	expect_fail(CONF("") CONF(""), CNI_CMD_ADD, CNI_ERR_DECODE, "not valid JSON");
}

static void test_trailing_whitespace_ok(void **state)
{
	struct netconf c;

	(void)state;
	parse_ok(" \n\t" CONF("") "\n\n ", &c);
	netconf_done(&c);
}

static void test_too_large(void **state)
{
	struct netconf c;
	struct rv_err err = { 0 };
	const char *text = CONF("");

	(void)state;
	/* Refused on the length alone, before parsing. */
	assert_true(cni_config_parse(text, (size_t)CNI_CONFIG_MAX + 1, NULL, &c, &err) < 0);
	assert_err(err, CNI_ERR_DECODE, "larger than");
}

/* ---- wrong types: code 6 ----------------------------------------------------- */

static void test_wrong_types(void **state)
{
	static const struct {
		const char *text, *frag;
	} cases[] = {
		{ "{\"cniVersion\":\"1.0.0\",\"name\":5,\"type\":\"rivet\"," IPAM "}", "name must be a string" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":[]," IPAM "}", "type must be a string" },
		{ CONF("\"mtu\":\"1500\","), "mtu must be a number" },
		{ CONF("\"mtu\":true,"), "mtu must be a number" },
		{ CONF("\"ipMasq\":\"true\","), "ipMasq must be true or false" },
		{ CONF("\"ipMasq\":1,"), "ipMasq must be true or false" },
		{ CONF("\"ipMasqExclude\":\"10.0.0.0/8\","), "ipMasqExclude must be a list" },
		{ CONF("\"dns\":[],"), "dns must be an object" },
		{ CONF("\"dns\":{\"nameservers\":\"1.1.1.1\"},"), "dns.nameservers must be a list of strings" },
		{ CONF("\"dns\":{\"search\":[1]},"), "dns.search must be a list of strings" },
		{ CONF("\"dns\":{\"domain\":[]},"), "dns.domain must be a string" },
		{ CONF("\"runtimeConfig\":[],"), "runtimeConfig must be an object" },
		{ CONF("\"runtimeConfig\":{\"mac\":5},"), "runtimeConfig.mac must be a string" },
		{ CONF("\"runtimeConfig\":{\"dns\":\"x\"},"), "runtimeConfig.dns must be an object" },
		{ CONF("\"runtimeConfig\":{\"dns\":{\"servers\":\"1.1.1.1\"}},"), "runtimeConfig.dns.servers must be a list" },
		{ CONF("\"runtimeConfig\":{\"ips\":\"10.1.0.1\"},"), "runtimeConfig.ips must be a list" },
		{ CONF("\"runtimeConfig\":{\"ipRanges\":{}},"), "runtimeConfig.ipRanges must be a list of range sets" },
		{ CONF("\"args\":{\"cni\":{\"ips\":\"10.1.0.1\"}},"), "args.cni.ips must be a list" },
		{ CONF("\"logFile\":5,"), "logFile must be a string" },
		{ CONF("\"logLevel\":1,"), "logLevel must be a string" },
		{ CONF("\"logMaxSizeMB\":\"5\","), "logMaxSizeMB must be a number" },
		{ HEAD("1.0.0") "\"ipam\":\"host-local\"}", "ipam must be an object" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":5}}", "ipam.type must be a string" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":{}}}", "ipam.ranges must be a list of range sets" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[{\"subnet\":\"10.0.0.0/8\"}]}}",
		  "ipam.ranges[0] must be a list of ranges" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[\"10.0.0.0/8\"]]}}",
		  "ipam.ranges[0][0] must be an object" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"dataDir\":1," "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}",
		  "ipam.dataDir must be a string" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"reclaimAfterReboot\":\"no\","
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.reclaimAfterReboot must be true or false" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"routes\":{},\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}",
		  "ipam.routes must be a list" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"routes\":[\"0.0.0.0/0\"],"
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.routes[0] must be an object" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":\"9000\"}],"
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.routes[0].mtu must be a number" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail(cases[i].text, CNI_CMD_ADD, CNI_ERR_DECODE, cases[i].frag);
}

static void test_wrong_types_of_addresses(void **state)
{
	static const struct {
		const char *text, *frag;
	} cases[] = {
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":5}]]}}", "subnet" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.0.0.0/8\","
		  "\"gateway\":true}]]}}", "gateway" },
		{ CONF("\"args\":{\"cni\":{\"ips\":[5]}},"), "args.cni.ips" },
		{ CONF("\"ipMasqExclude\":[5],"), "ipMasqExclude" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail(cases[i].text, CNI_CMD_ADD, CNI_ERR_DECODE, cases[i].frag);
}

/* ---- invalid values: code 7 --------------------------------------------------- */

static void test_invalid_values(void **state)
{
	static const struct {
		const char *text, *frag;
	} cases[] = {
		{ "{\"cniVersion\":\"1.0.0\",\"type\":\"rivet\"," IPAM "}", "name is required" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"\",\"type\":\"rivet\"," IPAM "}", "network name \"\" is invalid" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"a/b\",\"type\":\"rivet\"," IPAM "}", "network name \"a/b\" is invalid" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"..\",\"type\":\"rivet\"," IPAM "}", "network name \"..\" is invalid" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"-n\",\"type\":\"rivet\"," IPAM "}", "network name \"-n\" is invalid" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"," IPAM "}", "type is required" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"../rivet\"," IPAM "}", "must not contain a path" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"a\\\\b\"," IPAM "}", "must not contain a path" },
		{ CONF("\"logLevel\":\"verbose\","), "logLevel \"verbose\" must be one of error, warn, info, debug" },
		{ CONF("\"logFile\":\"rivet.log\","), "logFile \"rivet.log\" must be an absolute path" },
		{ CONF("\"logMaxSizeMB\":-1,"), "logMaxSizeMB must be a whole number" },
		{ CONF("\"ipMasqExclude\":[\"10.0.0.1\"],"), "ipMasqExclude: 10.0.0.1 is not a CIDR" },
		{ CONF("\"args\":{\"cni\":{\"ips\":[\"10.1.0.300\"]}},"), "args.cni.ips: 10.1.0.300 is not an IP address" },
		{ CONF("\"runtimeConfig\":{\"ips\":[\"nope\"]},"), "runtimeConfig.ips: nope is not an IP address" },
		{ HEAD("1.0.0") "\"ipam\":{\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.type is required" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"\"}}", "ipam.type \"\" must name a plugin" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"../../bin/sh\"}}", "must name a plugin (no '/')" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\"}}", "ipam: no IP ranges specified" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[]}}", "no IP ranges specified" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[]]}}", "ipam.ranges[0] is an empty range set" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{}]]}}", "ipam.ranges[0][0].subnet is required" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.0.0.0\"}]]}}",
		  "ipam.ranges[0][0].subnet must be a CIDR such as 10.1.0.0/16, not 10.0.0.0" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.0.0.0/8\","
		  "\"rangeStart\":\"10.0.0\"}]]}}", "ipam.ranges[0][0].rangeStart must be an IP address, not 10.0.0" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}],"
		  "[{\"subnet\":\"10.0.0.0/8\",\"rangeEnd\":\"x\"}]]}}", "ipam.ranges[1][0].rangeEnd must be an IP address" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"bad\"}}", "ipam.subnet must be a CIDR" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"var/lib\","
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.dataDir \"var/lib\" must be an absolute path" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"routes\":[{\"gw\":\"10.0.0.1\"}],"
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.routes[0].dst is required" },
		{ HEAD("1.0.0") "\"ipam\":{\"type\":\"host-local\",\"routes\":[{\"dst\":\"::/0\",\"gw\":\"10.0.0.1\"}],"
		  "\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}]]}}", "ipam.routes[0]: gw and dst are of different address families" },
		{ HEAD("1.0.0") "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"x\"}]]},"
		  "\"ipam\":{\"type\":\"host-local\"}}", "runtimeConfig.ipRanges[0][0].subnet must be a CIDR" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail(cases[i].text, CNI_CMD_ADD, CNI_ERR_CONFIG, cases[i].frag);
}

static void test_runtime_ip_ranges_alone(void **state)
{
	struct netconf c;

	(void)state;
	/* ipam without its own ranges, served by the capability. */
	parse_ok(HEAD("1.0.0") "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.5.0.0/24\",\"gateway\":\"10.5.0.254\"}]]},"
		 "\"ipam\":{\"type\":\"host-local\"}}",
		 &c);
	assert_int_equal(c.ipam.n_sets, 1);
	assert_string_equal(fmt_ip(&c.ipam.sets[0].r[0].gateway), "10.5.0.254");
	netconf_done(&c);
}

/* ---- peek_version -------------------------------------------------------------- */

static void test_peek_version(void **state)
{
	static const char good[] = "{\"cniVersion\":\"0.4.0\",\"whatever\":[";
	static const char ok[] = "{\"cniVersion\":\"9.9.9\",\"name\":5}";
	char *v = (char *)"sentinel";

	(void)state;
	assert_int_equal(cni_config_peek_version(ok, sizeof(ok) - 1, &v), 0);
	/* Returned as given, even when unsupported: VERSION echoes it. */
	assert_string_equal(v, "9.9.9");
	free(v);
	/* Broken JSON, absent, or not a string: NULL, not an error. */
	assert_int_equal(cni_config_peek_version(good, sizeof(good) - 1, &v), 0);
	assert_null(v);
	assert_int_equal(cni_config_peek_version("{}", 2, &v), 0);
	assert_null(v);
	assert_int_equal(cni_config_peek_version("{\"cniVersion\":1}", 16, &v), 0);
	assert_null(v);
	assert_int_equal(cni_config_peek_version("", 0, &v), 0);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_unknown_keys_ignored),
		cmocka_unit_test(test_unknown_keys_named),
		cmocka_unit_test(test_null_is_absent),
		cmocka_unit_test(test_missing_version_is_010),
		cmocka_unit_test(test_every_version_accepted),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_mtu_bounds),
		cmocka_unit_test(test_legacy_range_keys),
		cmocka_unit_test(test_range_set_order),
		cmocka_unit_test(test_requested_merge_order),
		cmocka_unit_test(test_delegated_ipam),
		cmocka_unit_test(test_missing_ipam),
		cmocka_unit_test(test_prev_result_each_version),
		cmocka_unit_test(test_prev_result_refused),
		cmocka_unit_test(test_gc_attachments),
		cmocka_unit_test(test_gc_without_attachments),
		cmocka_unit_test(test_gc_attachment_refusals),
		cmocka_unit_test(test_command_version_gates),
		cmocka_unit_test(test_version_checked_first),
		cmocka_unit_test(test_broken_json),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_trailing_whitespace_ok),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_wrong_types_of_addresses),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_runtime_ip_ranges_alone),
		cmocka_unit_test(test_peek_version),
	};

	return cmocka_run_group_tests_name("cni/config", tests, NULL, NULL);
}

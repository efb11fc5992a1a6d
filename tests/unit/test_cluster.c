// SPDX-License-Identifier: Apache-2.0
/*
 * rivetd's data model (agent/cluster.c) and the conflist it writes
 * (agent/conflist.c), without etcd or the kernel: the config from the
 * command line and its refusals, the n-th node range of a CIDR across the
 * 64-bit halves of IPv6, which ranges belong to a CIDR, node records and
 * the cluster config through JSON and back, records from etcd that must be
 * refused (another version or a person with etcdctl may have written them),
 * keys, VTEP addresses and MACs, and the conflist's exact content: its
 * ranges, masquerade exclusions, MTU and chained plugins, and that equal
 * settings give equal bytes.
 */
#include "testutil.h"

#include <cjson/cJSON.h>

#include "agent/cluster.h"
#include "agent/conflist.h"

static struct rv_prefix pfx(const char *s)
{
	struct rv_prefix out;

	if (prefix_parse(s, &out) != 0)
		fail_msg("prefix_parse(\"%s\") failed", s);
	return out;
}

static void expect_pfx(const struct rv_prefix *p, const char *want)
{
	char buf[IP_STRLEN];

	if (strcmp(prefix_fmt(p, buf), want))
		fail_msg("got %s, want %s", buf, want);
}

static void test_conf_from_args_defaults_and_dual_stack(void **state)
{
	struct cluster_conf c;
	struct rv_err err = { 0 };

	(void)state;
	assert_int_equal(cluster_conf_from_args("10.244.0.0/16,fd00:10:244::/56", NULL, BACKEND_AUTO, &c, &err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.node_len[0], 24);
	assert_int_equal(c.node_len[1], 64);
	assert_int_equal(c.vni, 1);
	assert_int_equal(c.port, 4789);
	assert_int_equal(cluster_conf_from_args("10.244.0.0/16", "26", BACKEND_VXLAN, &c, &err), 0);
	assert_int_equal(c.node_len[0], 26);
	assert_int_equal(c.backend, BACKEND_VXLAN);
	assert_int_equal(cluster_conf_from_args("fd00::/48", "/80", BACKEND_DIRECT, &c, &err), 0);
	assert_int_equal(c.node_len[0], 80);
}

static void expect_refused(const char *cidrs, const char *lens, const char *why)
{
	struct cluster_conf c;
	struct rv_err err = { 0 };

	if (cluster_conf_from_args(cidrs, lens, BACKEND_AUTO, &c, &err) == 0)
		fail_msg("%s / %s accepted", cidrs, lens ? lens : "-");
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_contains(err.msg, why);
}

static void test_conf_from_args_refusals(void **state)
{
	(void)state;
	expect_refused("", NULL, "--cluster-cidr is required");
	expect_refused("10.244.0.0", NULL, "is not a CIDR");
	expect_refused("10.244.0.1/16", NULL, "host bits");
	expect_refused("10.244.0.0/16", "8", "does not fit");
	expect_refused("10.244.0.0/16", "31", "does not fit");
	expect_refused("fd00::/48", "127", "does not fit");
	expect_refused("10.244.0.0/16,10.245.0.0/16", NULL, "one per family");
	expect_refused("10.0.0.0/8,fd00::/48,10.1.0.0/16", NULL, "at most two");
	expect_refused("10.244.0.0/16", "24,64", "2 lengths for 1");
	expect_refused("10.244.0.0/16", "x", "--node-prefix");
}

static void test_range_nth_and_count(void **state)
{
	struct cluster_conf c;
	struct rv_prefix r;

	(void)state;
	assert_int_equal(cluster_conf_from_args("10.244.0.0/16,fd00:10:244::/48", "24,64", BACKEND_AUTO, &c, NULL), 0);
	assert_int_equal(cluster_range_count(&c, 0), 256);
	assert_int_equal(cluster_range_count(&c, 1), 65536);
	assert_int_equal(cluster_range_nth(&c, 0, 0, &r), 0);
	expect_pfx(&r, "10.244.0.0/24");
	assert_int_equal(cluster_range_nth(&c, 0, 255, &r), 0);
	expect_pfx(&r, "10.244.255.0/24");
	assert_int_equal(cluster_range_nth(&c, 0, 256, &r), -ERANGE);
	/* The range index lands in the upper 64 bits of the address. */
	assert_int_equal(cluster_range_nth(&c, 1, 0x1234, &r), 0);
	expect_pfx(&r, "fd00:10:244:1234::/64");
	assert_int_equal(cluster_range_nth(&c, 1, 65535, &r), 0);
	expect_pfx(&r, "fd00:10:244:ffff::/64");
	/* A node length that splits a byte. */
	assert_int_equal(cluster_conf_from_args("198.18.0.0/15", "26", BACKEND_AUTO, &c, NULL), 0);
	assert_int_equal(cluster_range_count(&c, 0), 2048);
	assert_int_equal(cluster_range_nth(&c, 0, 5, &r), 0);
	expect_pfx(&r, "198.18.1.64/26");
	assert_int_equal(cluster_range_nth(&c, 0, 2047, &r), 0);
	expect_pfx(&r, "198.19.255.192/26");
}

static void test_range_valid_and_index(void **state)
{
	struct cluster_conf c;
	struct rv_prefix a = pfx("10.244.7.0/24"), b = pfx("fd00:10:244:7::/64");

	(void)state;
	assert_int_equal(cluster_conf_from_args("10.244.0.0/16,fd00:10:244::/48", NULL, BACKEND_AUTO, &c, NULL), 0);
	assert_true(cluster_range_valid(&c, 0, &a));
	assert_int_equal(cluster_range_index(&c, &a), 0);
	assert_int_equal(cluster_range_index(&c, &b), 1);
	a = pfx("10.244.7.0/25");
	assert_int_equal(cluster_range_index(&c, &a), -1);	/* wrong length */
	a = pfx("10.244.7.128/24");
	assert_int_equal(cluster_range_index(&c, &a), -1);	/* host bits */
	a = pfx("10.245.7.0/24");
	assert_int_equal(cluster_range_index(&c, &a), -1);	/* outside */
}

static void test_conf_json_round_trip(void **state)
{
	struct cluster_conf c, d;
	struct rv_err err = { 0 };
	char *text;

	(void)state;
	assert_int_equal(cluster_conf_from_args("10.244.0.0/16,fd00:10:244::/48", "25,80", BACKEND_VXLAN, &c, NULL), 0);
	c.vni = 42;
	c.port = 8472;
	text = cluster_conf_encode(&c);
	assert_non_null(text);
	assert_string_equal(text, "{\"clusterCIDRs\":[\"10.244.0.0/16\",\"fd00:10:244::/48\"],\"nodePrefix\":[25,80],"
				  "\"backend\":\"vxlan\",\"vni\":42,\"port\":8472}");
	assert_int_equal(cluster_conf_decode(text, strlen(text), &d, &err), 0);
	assert_true(cluster_conf_equal(&c, &d));
	free(text);
}

static void expect_conf_refused(const char *json, const char *why)
{
	struct cluster_conf c;
	struct rv_err err = { 0 };

	if (cluster_conf_decode(json, strlen(json), &c, &err) == 0)
		fail_msg("accepted: %s", json);
	assert_contains(err.msg, why);
}

static void test_conf_json_refusals(void **state)
{
	(void)state;
	expect_conf_refused("", "not a JSON object");
	expect_conf_refused("[]", "not a JSON object");
	expect_conf_refused("{\"nodePrefix\":[24],\"backend\":\"auto\"}", "clusterCIDRs");
	expect_conf_refused("{\"clusterCIDRs\":[\"10.0.0.0/8\"],\"nodePrefix\":[24,64],\"backend\":\"auto\"}",
			    "nodePrefix");
	expect_conf_refused("{\"clusterCIDRs\":[\"10.0.0.0/8\"],\"nodePrefix\":[24],\"backend\":\"bgp\"}", "backend");
	expect_conf_refused("{\"clusterCIDRs\":[\"10.0.0.0/8\"],\"nodePrefix\":[4],\"backend\":\"auto\"}", "does not fit");
	expect_conf_refused("{\"clusterCIDRs\":[\"10.0.0.0/8\"],\"nodePrefix\":[24],\"backend\":\"auto\",\"vni\":-1}", "vni");
	expect_conf_refused("{\"clusterCIDRs\":[\"10.0.0.0/8\"],\"nodePrefix\":[24],\"backend\":\"auto\",\"port\":70000}",
			    "port");
}

static void test_node_record_round_trip(void **state)
{
	struct node_rec n = { .name = "node-1.example", .backend = BACKEND_AUTO, .has_vtep = true }, m;
	struct rv_err err = { 0 };
	char *text;

	(void)state;
	ip_parse("198.19.1.1", &n.ip);
	ip_parse("fd5a:7e57:ff01::1", &n.ip6);
	n.ranges[0] = pfx("198.18.3.0/24");
	n.ranges[1] = pfx("fd5a:7e57:100:3::/64");
	n.n_ranges = 2;
	cluster_vtep_mac(n.name, n.vtep_mac);
	text = node_rec_encode(&n);
	assert_non_null(text);
	assert_contains(text, "\"nodeIP\":\"198.19.1.1\"");
	assert_contains(text, "\"ranges\":[\"198.18.3.0/24\",\"fd5a:7e57:100:3::/64\"]");
	assert_int_equal(node_rec_decode(text, strlen(text), &m, &err), 0);
	assert_true(node_rec_equal(&n, &m));
	m.ranges[1] = pfx("fd5a:7e57:100:4::/64");
	assert_false(node_rec_equal(&n, &m));
	free(text);
}

static void expect_rec_refused(const char *json, const char *why)
{
	struct node_rec n;
	struct rv_err err = { 0 };

	if (node_rec_decode(json, strlen(json), &n, &err) == 0)
		fail_msg("accepted: %s", json);
	assert_contains(err.msg, why);
}

static void test_node_record_refusals(void **state)
{
	(void)state;
	expect_rec_refused("{\"nodeIP\":\"1.2.3.4\",\"ranges\":[\"10.0.0.0/24\"],\"backend\":\"auto\"}", "name");
	expect_rec_refused("{\"name\":\"../x\",\"nodeIP\":\"1.2.3.4\",\"ranges\":[\"10.0.0.0/24\"],\"backend\":\"auto\"}",
			   "name");
	expect_rec_refused("{\"name\":\"Node\",\"nodeIP\":\"1.2.3.4\",\"ranges\":[\"10.0.0.0/24\"],\"backend\":\"auto\"}",
			   "name");
	expect_rec_refused("{\"name\":\"n\",\"nodeIP\":\"1.2.3\",\"ranges\":[\"10.0.0.0/24\"],\"backend\":\"auto\"}",
			   "nodeIP");
	expect_rec_refused("{\"name\":\"n\",\"nodeIP\":\"1.2.3.4\",\"nodeIP6\":\"1.2.3.4\",\"ranges\":[\"10.0.0.0/24\"],"
			   "\"backend\":\"auto\"}", "nodeIP6");
	expect_rec_refused("{\"name\":\"n\",\"nodeIP\":\"1.2.3.4\",\"ranges\":[],\"backend\":\"auto\"}", "ranges");
	expect_rec_refused("{\"name\":\"n\",\"nodeIP\":\"1.2.3.4\",\"ranges\":[\"a\",\"b\",\"c\"],\"backend\":\"auto\"}",
			   "ranges");
	expect_rec_refused("{\"name\":\"n\",\"nodeIP\":\"1.2.3.4\",\"ranges\":[\"10.0.0.0/24\"],\"backend\":\"auto\","
			   "\"vtepMAC\":\"01:00:00:00:00:01\"}", "vtepMAC");
	expect_rec_refused("{\"name\":\"n\",\"nodeIP\":\"1.2.3.4\",\"ranges\":[\"10.0.0.0/24\"]}", "backend");
}

static void test_keys(void **state)
{
	char k[CLUSTER_KEY_MAX];
	struct rv_prefix r = pfx("fd00:10:244:3::/64");

	(void)state;
	assert_string_equal(cluster_key_config(k, "/rivet"), "/rivet/config");
	assert_string_equal(cluster_key_node(k, "/rivet", "n1"), "/rivet/nodes/n1");
	assert_string_equal(cluster_key_range(k, "/rivet", &r), "/rivet/ranges/fd00:10:244:3::-64");
	assert_string_equal(cluster_key_agent(k, "/x/y", "n1"), "/x/y/agents/n1");
	assert_string_equal(cluster_node_of_key("/rivet", "/rivet/nodes/n1"), "n1");
	assert_null(cluster_node_of_key("/rivet", "/rivet/nodes/"));
	assert_null(cluster_node_of_key("/rivet", "/rivet/nodes/a/b"));
	assert_null(cluster_node_of_key("/rivet", "/rivetx/nodes/n1"));
	assert_null(cluster_node_of_key("/rivet", "/rivet/ranges/n1"));
}

static void test_vtep(void **state)
{
	struct rv_prefix r = pfx("10.244.3.0/24"), v;
	uint8_t a[6], b[6];

	(void)state;
	v = cluster_vtep_addr(&r);
	expect_pfx(&v, "10.244.3.0/32");
	r = pfx("fd00:1::/64");
	v = cluster_vtep_addr(&r);
	expect_pfx(&v, "fd00:1::/128");
	cluster_vtep_mac("node-1", a);
	cluster_vtep_mac("node-1", b);
	assert_memory_equal(a, b, 6);
	assert_int_equal(a[0] & 3, 2);	/* local, unicast */
	cluster_vtep_mac("node-2", b);
	assert_memory_not_equal(a, b, 6);
}

static void test_conflist_content(void **state)
{
	struct rv_prefix ranges[2] = { pfx("198.18.3.0/24"), pfx("fd5a:7e57:100:3::/64") };
	struct rv_prefix keep[3] = { pfx("198.18.0.0/16"), pfx("fd5a:7e57:100::/48"), pfx("10.96.0.0/12") };
	const char *chain[] = { "portmap" };
	struct conflist_spec s = {
		.network = "rivet", .ranges = ranges, .n_ranges = 2, .data_dir = "/var/lib/cni/networks",
		.ip_masq = true, .keep = keep, .n_keep = 3, .mtu = 1450, .chain = chain, .n_chain = 1,
	};
	char *text = conflist_render(&s), *again = conflist_render(&s);
	cJSON *root = cJSON_Parse(text), *p0, *p1, *ipam;

	(void)state;
	assert_non_null(root);
	assert_string_equal(again, text);
	assert_string_equal(cJSON_GetObjectItem(root, "cniVersion")->valuestring, "1.0.0");
	assert_string_equal(cJSON_GetObjectItem(root, "name")->valuestring, "rivet");
	p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "plugins"), 0);
	p1 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "plugins"), 1);
	assert_string_equal(cJSON_GetObjectItem(p0, "type")->valuestring, "rivet");
	assert_int_equal(cJSON_GetObjectItem(p0, "mtu")->valueint, 1450);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p0, "ipMasq")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p0, "ipMasqExclude")), 3);
	ipam = cJSON_GetObjectItem(p0, "ipam");
	assert_string_equal(cJSON_GetObjectItem(ipam, "type")->valuestring, "host-local");
	assert_string_equal(cJSON_GetObjectItem(ipam, "dataDir")->valuestring, "/var/lib/cni/networks");
	assert_contains(text, "\"subnet\":\t\"fd5a:7e57:100:3::/64\"");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ipam, "ranges")), 2);
	assert_string_equal(cJSON_GetObjectItem(p1, "type")->valuestring, "portmap");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(p1, "capabilities"), "portMappings")));
	assert_true(text[strlen(text) - 1] == '\n');
	cJSON_Delete(root);
	free(text);
	free(again);
	s.ip_masq = false;
	s.mtu = 0;
	text = conflist_render(&s);
	assert_not_contains(text, "ipMasqExclude");
	assert_not_contains(text, "\"mtu\"");
	assert_not_contains(text, "logFile");
	assert_not_contains(text, "logLevel");
	free(text);
	s.log_file = "/var/log/rivet/rivet.log";
	s.log_level = "debug";
	text = conflist_render(&s);
	assert_contains(text, "\"logFile\":\t\"/var/log/rivet/rivet.log\"");
	assert_contains(text, "\"logLevel\":\t\"debug\"");
	free(text);
}

static void test_conflist_write_only_on_change(void **state)
{
	struct rv_prefix ranges[1] = { pfx("198.18.3.0/24") };
	struct conflist_spec s = { .network = "rivet", .ranges = ranges, .n_ranges = 1, .data_dir = "/d" };
	char *top = tu_mkdtemp(), dir[256], path[512];
	struct rv_err err = { 0 };
	struct stat a, b;
	bool changed;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/net.d", top);
	snprintf(path, sizeof(path), "%s/%s", dir, CONFLIST_FILE);
	assert_int_equal(conflist_write(dir, &s, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(conflist_write(dir, &s, &changed, &err), 0);
	assert_false(changed);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	s.mtu = 1400;
	assert_int_equal(conflist_write(dir, &s, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(stat(path, &b), 0);
	assert_int_not_equal(a.st_ino, b.st_ino);	/* renamed into place, not rewritten */
	tu_rmtree(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_from_args_defaults_and_dual_stack),
		cmocka_unit_test(test_conf_from_args_refusals),
		cmocka_unit_test(test_range_nth_and_count),
		cmocka_unit_test(test_range_valid_and_index),
		cmocka_unit_test(test_conf_json_round_trip),
		cmocka_unit_test(test_conf_json_refusals),
		cmocka_unit_test(test_node_record_round_trip),
		cmocka_unit_test(test_node_record_refusals),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_vtep),
		cmocka_unit_test(test_conflist_content),
		cmocka_unit_test(test_conflist_write_only_on_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

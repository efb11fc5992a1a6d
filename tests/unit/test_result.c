// SPDX-License-Identifier: Apache-2.0
/*
 * cni/result: the exact bytes rivet prints on stdout, for every spec
 * version, compared as whole strings.
 *
 * Proves the three shapes: 0.1.0/0.2.0 (ip4/ip6 with the FIRST address of
 * each family and that family's routes as dst/gw only; no interfaces; a
 * family without an address gets no routes; no address at all is code 1),
 * 0.3.0/0.3.1/0.4.0 (interfaces without mtu, socketPath or pciID; ips[] with
 * "version"; routes as dst/gw) and 1.0.0/1.1.0 (no "version", interface mtu,
 * socketPath, pciID, route mtu/advmss/priority/table/scope); Go's omitempty
 * (empty strings, lists, dns and unset gateways left out), key order as the
 * Go structs declare it, compact JSON with one trailing newline. Also the
 * error object and the VERSION reply, reading results and error objects
 * back (cni_result_decode, cni_error_decode) with their refusals, and every
 * version's golden text decoded and re-encoded unchanged.
 */
#include "testutil.h"

#include <arpa/inet.h>

#include "cni/result.h"

#define DNS_JSON                                                                           \
	"\"dns\":{\"nameservers\":[\"10.96.0.10\"],\"domain\":\"cluster.local\","           \
	"\"search\":[\"svc.cluster.local\",\"cluster.local\"],\"options\":[\"ndots:5\"]}"

#define LL "fe80::ecee:eeff:feee:eeee"

static const char golden_1x[] =
	"\"interfaces\":["
	"{\"name\":\"cali12345678901\",\"mac\":\"ee:ee:ee:ee:ee:ee\",\"mtu\":1450},"
	"{\"name\":\"eth0\",\"mac\":\"0a:58:0a:01:00:05\",\"mtu\":1450,\"sandbox\":\"/var/run/netns/cni-1234\"}],"
	"\"ips\":["
	"{\"interface\":1,\"address\":\"10.1.0.5/32\",\"gateway\":\"169.254.1.1\"},"
	"{\"interface\":1,\"address\":\"10.1.0.6/24\"},"
	"{\"interface\":1,\"address\":\"fd00::5/128\",\"gateway\":\"" LL "\"},"
	"{\"address\":\"fd00::6/64\"}],"
	"\"routes\":["
	"{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"},"
	"{\"dst\":\"::/0\",\"gw\":\"" LL "\"},"
	"{\"dst\":\"10.96.0.0/12\",\"mtu\":1400,\"advmss\":1360,\"priority\":10,\"table\":100,\"scope\":253}],"
	DNS_JSON "}\n";

static const char golden_04x[] =
	"\"interfaces\":["
	"{\"name\":\"cali12345678901\",\"mac\":\"ee:ee:ee:ee:ee:ee\"},"
	"{\"name\":\"eth0\",\"mac\":\"0a:58:0a:01:00:05\",\"sandbox\":\"/var/run/netns/cni-1234\"}],"
	"\"ips\":["
	"{\"version\":\"4\",\"interface\":1,\"address\":\"10.1.0.5/32\",\"gateway\":\"169.254.1.1\"},"
	"{\"version\":\"4\",\"interface\":1,\"address\":\"10.1.0.6/24\"},"
	"{\"version\":\"6\",\"interface\":1,\"address\":\"fd00::5/128\",\"gateway\":\"" LL "\"},"
	"{\"version\":\"6\",\"address\":\"fd00::6/64\"}],"
	"\"routes\":["
	"{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"},"
	"{\"dst\":\"::/0\",\"gw\":\"" LL "\"},"
	"{\"dst\":\"10.96.0.0/12\"}],"
	DNS_JSON "}\n";

static const char golden_02x[] =
	"\"ip4\":{\"ip\":\"10.1.0.5/32\",\"gateway\":\"169.254.1.1\",\"routes\":["
	"{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"},{\"dst\":\"10.96.0.0/12\"}]},"
	"\"ip6\":{\"ip\":\"fd00::5/128\",\"gateway\":\"" LL "\",\"routes\":["
	"{\"dst\":\"::/0\",\"gw\":\"" LL "\"}]},"
	DNS_JSON "}\n";

/* The golden text for version @v, built as {"cniVersion":"<v>",<body>. */
static char *golden(enum cni_version v)
{
	const char *body = v >= CNI_V100 ? golden_1x : v >= CNI_V030 ? golden_04x : golden_02x;
	char *s;

	assert_true(asprintf(&s, "{\"cniVersion\":\"%s\",%s", cni_version_name(v), body) > 0);
	return s;
}

static struct rv_prefix pfx(const char *s)
{
	struct rv_prefix p;

	if (prefix_parse(s, &p) != 0)
		fail_msg("bad prefix %s", s);
	return p;
}

static struct rv_ip ipa(const char *s)
{
	struct rv_ip a;

	if (ip_parse(s, &a) != 0)
		fail_msg("bad ip %s", s);
	return a;
}

static void add_route(struct cni_result *r, const char *dst, const char *gw)
{
	struct rv_route rt = { .dst = pfx(dst) };

	if (gw) {
		rt.gw = ipa(gw);
		rt.has |= ROUTE_HAS_GW;
	}
	assert_int_equal(cni_result_add_route(r, &rt), 0);
}

/* The result a pod ADD produces: host veth, pod interface, two addresses
 * of each family, default routes via the link-local gateways, a route with
 * every 1.1 attribute, and dns. */
static void build(struct cni_result *r)
{
	struct rv_prefix a;
	struct rv_ip gw;
	struct rv_route rt = { 0 };

	memset(r, 0, sizeof(*r));
	assert_int_equal(cni_result_add_iface(r, "cali12345678901", "ee:ee:ee:ee:ee:ee", NULL, 1450), 0);
	assert_int_equal(cni_result_add_iface(r, "eth0", "0a:58:0a:01:00:05", "/var/run/netns/cni-1234", 1450), 1);
	a = pfx("10.1.0.5/32");
	gw = ipa("169.254.1.1");
	assert_int_equal(cni_result_add_ip(r, &a, &gw, 1), 0);
	a = pfx("10.1.0.6/24");
	assert_int_equal(cni_result_add_ip(r, &a, NULL, 1), 0);
	a = pfx("fd00::5/128");
	gw = ipa(LL);
	assert_int_equal(cni_result_add_ip(r, &a, &gw, 1), 0);
	a = pfx("fd00::6/64");
	assert_int_equal(cni_result_add_ip(r, &a, NULL, -1), 0);
	add_route(r, "0.0.0.0/0", "169.254.1.1");
	add_route(r, "::/0", LL);
	rt.dst = pfx("10.96.0.0/12");
	rt.has = ROUTE_HAS_MTU | ROUTE_HAS_ADVMSS | ROUTE_HAS_PRIORITY | ROUTE_HAS_TABLE | ROUTE_HAS_SCOPE;
	rt.mtu = 1400;
	rt.advmss = 1360;
	rt.priority = 10;
	rt.table = 100;
	rt.scope = 253;
	assert_int_equal(cni_result_add_route(r, &rt), 0);
	assert_int_equal(strv_push(&r->dns.nameservers, "10.96.0.10"), 0);
	r->dns.domain = strdup("cluster.local");
	assert_int_equal(strv_push(&r->dns.search, "svc.cluster.local"), 0);
	assert_int_equal(strv_push(&r->dns.search, "cluster.local"), 0);
	assert_int_equal(strv_push(&r->dns.options, "ndots:5"), 0);
}

static void expect_encode(const struct cni_result *r, enum cni_version v, const char *want)
{
	struct rv_err err = { 0 };
	char *got = cni_result_encode(r, v, &err);

	if (!got)
		fail_msg("encode %s failed: %s", cni_version_name(v), err.msg);
	if (strcmp(got, want))
		fail_msg("encode %s:\n got  %s want %s", cni_version_name(v), got, want);
	free(got);
}

/* ---- encoding -------------------------------------------------------------- */

static void test_golden_every_version(void **state)
{
	struct cni_result r;

	(void)state;
	build(&r);
	for (int v = 0; v < CNI_V_COUNT; v++) {
		char *want = golden((enum cni_version)v);

		expect_encode(&r, (enum cni_version)v, want);
		free(want);
	}
	cni_result_done(&r);
	/* cni_result_done leaves a zeroed result that may be done again. */
	assert_null(r.ifaces);
	assert_int_equal(r.n_ips, 0);
	cni_result_done(&r);
}

static void test_1x_socket_path_pci_id(void **state)
{
	struct cni_result r = { 0 };

	(void)state;
	assert_int_equal(cni_result_add_iface(&r, "net1", "02:00:00:00:00:01", "/run/netns/p", 0), 0);
	r.ifaces[0].socket_path = strdup("/run/vhost-user/net1.sock");
	r.ifaces[0].pci_id = strdup("0000:00:1f.6");
	expect_encode(&r, CNI_V110,
		      "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:00:00:01\","
		      "\"sandbox\":\"/run/netns/p\",\"socketPath\":\"/run/vhost-user/net1.sock\","
		      "\"pciID\":\"0000:00:1f.6\"}]}\n");
	/* Not part of the 0.4.0 types. */
	expect_encode(&r, CNI_V040,
		      "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:00:00:01\","
		      "\"sandbox\":\"/run/netns/p\"}]}\n");
	cni_result_done(&r);
}

static void test_omitempty(void **state)
{
	struct cni_result r = { 0 };
	struct rv_prefix a = pfx("10.0.0.2/24");

	(void)state;
	/* Nothing at all: only the version (Go drops empty lists and dns). */
	expect_encode(&r, CNI_V100, "{\"cniVersion\":\"1.0.0\"}\n");
	expect_encode(&r, CNI_V040, "{\"cniVersion\":\"0.4.0\"}\n");
	/* A name without mac; empty strings count as absent. */
	assert_int_equal(cni_result_add_iface(&r, "eth0", NULL, "", 0), 0);
	assert_int_equal(cni_result_add_ip(&r, &a, NULL, 0), 0);
	r.dns.domain = strdup("");
	expect_encode(&r, CNI_V110,
		      "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\"}],"
		      "\"ips\":[{\"interface\":0,\"address\":\"10.0.0.2/24\"}]}\n");
	cni_result_done(&r);
}

static void test_legacy_first_of_each_family(void **state)
{
	struct cni_result r = { 0 };
	struct rv_prefix a;

	(void)state;
	/* v6 first in the list, then two v4: ip4 is the first v4. */
	a = pfx("fd00::9/64");
	assert_int_equal(cni_result_add_ip(&r, &a, NULL, -1), 0);
	a = pfx("10.0.0.9/24");
	assert_int_equal(cni_result_add_ip(&r, &a, NULL, -1), 0);
	a = pfx("10.0.0.10/24");
	assert_int_equal(cni_result_add_ip(&r, &a, NULL, -1), 0);
	expect_encode(&r, CNI_V010,
		      "{\"cniVersion\":\"0.1.0\",\"ip4\":{\"ip\":\"10.0.0.9/24\"},\"ip6\":{\"ip\":\"fd00::9/64\"}}\n");
	cni_result_done(&r);
}

static void test_legacy_routes_need_their_family(void **state)
{
	struct cni_result r = { 0 };
	struct rv_prefix a = pfx("fd00::9/64");

	(void)state;
	assert_int_equal(cni_result_add_ip(&r, &a, NULL, -1), 0);
	add_route(&r, "0.0.0.0/0", "10.0.0.1");
	add_route(&r, "::/0", NULL);
	/* No IPv4 address: the IPv4 route has nowhere to go and is dropped,
	 * as libcni's converter drops it. */
	expect_encode(&r, CNI_V020,
		      "{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"fd00::9/64\",\"routes\":[{\"dst\":\"::/0\"}]}}\n");
	cni_result_done(&r);
}

static void test_legacy_without_address(void **state)
{
	struct cni_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(cni_result_add_iface(&r, "eth0", "02:00:00:00:00:01", "/run/netns/p", 0), 0);
	add_route(&r, "0.0.0.0/0", "10.0.0.1");
	for (int v = CNI_V010; v <= CNI_V020; v++) {
		struct rv_err err = { 0 };
		char want[128];

		assert_null(cni_result_encode(&r, (enum cni_version)v, &err));
		snprintf(want, sizeof(want), "cannot convert the result to CNI %s: it has no IP address",
			 cni_version_name((enum cni_version)v));
		assert_err(err, CNI_ERR_VERSION, want);
	}
	/* 0.3.0 and later can say it. */
	expect_encode(&r, CNI_V030,
		      "{\"cniVersion\":\"0.3.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\","
		      "\"sandbox\":\"/run/netns/p\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"}]}\n");
	cni_result_done(&r);
}

static void test_strings_escaped(void **state)
{
	struct cni_result r = { 0 };

	(void)state;
	assert_int_equal(cni_result_add_iface(&r, "a\"b\\c\n", NULL, NULL, 0), 0);
	expect_encode(&r, CNI_V100,
		      "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\\\"b\\\\c\\n\"}]}\n");
	cni_result_done(&r);
}

/* ---- error object and VERSION --------------------------------------------- */

static void expect_text(char *got, const char *want)
{
	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("\n got  %s want %s", got, want);
	free(got);
}

static void test_error_encode(void **state)
{
	struct rv_err e = { 0 };

	(void)state;
	err_set(&e, CNI_ERR_CONFIG, EINVAL, "network name \"a b\" is invalid\n");
	err_details(&e, "at byte %d", 7);
	expect_text(cni_error_encode(&e, "0.4.0"),
		    "{\"cniVersion\":\"0.4.0\",\"code\":7,\"msg\":\"network name \\\"a b\\\" is invalid\\n\","
		    "\"details\":\"at byte 7\"}\n");
	/* No details: the key is left out. No version: the latest. */
	err_set(&e, CNI_ERR_TRY_AGAIN, EAGAIN, "busy");
	expect_text(cni_error_encode(&e, NULL), "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"busy\"}\n");
	expect_text(cni_error_encode(&e, ""), "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"busy\"}\n");
	/* Never code 0 or an empty msg on failure. */
	err_clear(&e);
	expect_text(cni_error_encode(&e, "1.0.0"),
		    "{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"unknown error\"}\n");
	err_set(&e, RIVET_ERR_ADDR_TAKEN, EEXIST, "taken");
	expect_text(cni_error_encode(&e, "1.1.0"), "{\"cniVersion\":\"1.1.0\",\"code\":103,\"msg\":\"taken\"}\n");
}

static void test_version_reply(void **state)
{
	(void)state;
	/* The Go encoder's bytes, with its trailing newline. */
	expect_text(cni_version_reply_encode("1.1.0"),
		    "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":"
		    "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
	expect_text(cni_version_reply_encode("0.4.0"),
		    "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":"
		    "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
	expect_text(cni_version_reply_encode(NULL),
		    "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":"
		    "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
}

/* ---- decoding -------------------------------------------------------------- */

static void test_roundtrip_every_version(void **state)
{
	(void)state;
	for (int v = 0; v < CNI_V_COUNT; v++) {
		char *text = golden((enum cni_version)v);
		struct cni_result r = { 0 };
		struct rv_err err = { 0 };

		if (cni_result_decode(text, strlen(text), &r, &err) != 0)
			fail_msg("decode %s: %s", cni_version_name((enum cni_version)v), err.msg);
		expect_encode(&r, (enum cni_version)v, text);
		cni_result_done(&r);
		free(text);
	}
}

static void test_decode_fields(void **state)
{
	char *text = golden(CNI_V110);
	struct cni_result r = { 0 };
	struct rv_err err = { 0 };
	char buf[IP_STRLEN];

	(void)state;
	assert_int_equal(cni_result_decode(text, strlen(text), &r, &err), 0);
	free(text);
	assert_int_equal(r.n_ifaces, 2);
	assert_string_equal(r.ifaces[1].name, "eth0");
	assert_string_equal(r.ifaces[1].sandbox, "/var/run/netns/cni-1234");
	assert_int_equal(r.ifaces[1].mtu, 1450);
	assert_null(r.ifaces[0].sandbox);
	assert_int_equal(r.n_ips, 4);
	assert_int_equal(r.ips[0].iface, 1);
	assert_int_equal(r.ips[3].iface, -1);
	assert_string_equal(prefix_fmt(&r.ips[2].address, buf), "fd00::5/128");
	assert_string_equal(ip_fmt(&r.ips[2].gateway, buf), LL);
	assert_false(ip_is_set(&r.ips[1].gateway));
	assert_int_equal(r.n_routes, 3);
	assert_int_equal(r.routes[2].has,
			 ROUTE_HAS_MTU | ROUTE_HAS_ADVMSS | ROUTE_HAS_PRIORITY | ROUTE_HAS_TABLE | ROUTE_HAS_SCOPE);
	assert_int_equal(r.routes[2].table, 100);
	assert_int_equal(r.routes[2].scope, 253);
	assert_int_equal(r.routes[0].has, ROUTE_HAS_GW);
	assert_string_equal(r.dns.domain, "cluster.local");
	assert_int_equal(r.dns.search.n, 2);
	cni_result_done(&r);
}

static void test_decode_across_versions(void **state)
{
	char *text = golden(CNI_V020);
	struct cni_result r = { 0 };
	struct rv_err err = { 0 };

	(void)state;
	/* A 0.2.0 prevResult extended by a 1.0.0 chain: ip4's routes first. */
	assert_int_equal(cni_result_decode(text, strlen(text), &r, &err), 0);
	free(text);
	expect_encode(&r, CNI_V100,
		      "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.5/32\",\"gateway\":\"169.254.1.1\"},"
		      "{\"address\":\"fd00::5/128\",\"gateway\":\"" LL "\"}],"
		      "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"},{\"dst\":\"10.96.0.0/12\"},"
		      "{\"dst\":\"::/0\",\"gw\":\"" LL "\"}]," DNS_JSON "}\n");
	cni_result_done(&r);

	/* And a 1.1.0 one printed for a 0.2.0 caller. */
	text = golden(CNI_V110);
	assert_int_equal(cni_result_decode(text, strlen(text), &r, &err), 0);
	free(text);
	text = golden(CNI_V020);
	expect_encode(&r, CNI_V020, text);
	free(text);
	cni_result_done(&r);
}

static void test_decode_ipam_result(void **state)
{
	/* What host-local prints: no interfaces, no interface index. */
	static const char in[] =
		"{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.22.0.2/16\","
		"\"gateway\":\"10.22.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}";
	struct cni_result r = { 0 };
	struct rv_err err = { 0 };

	(void)state;
	assert_int_equal(cni_result_decode(in, sizeof(in) - 1, &r, &err), 0);
	assert_int_equal(r.n_ifaces, 0);
	assert_int_equal(r.n_ips, 1);
	assert_int_equal(r.ips[0].iface, -1);
	assert_true(dns_is_empty(&r.dns));
	expect_encode(&r, CNI_V040,
		      "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.22.0.2/16\","
		      "\"gateway\":\"10.22.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}\n");
	cni_result_done(&r);
}

static void test_decode_refusals(void **state)
{
	static const struct {
		const char *in;
		unsigned code;
		const char *frag;
	} cases[] = {
		{ "not json", RIVET_ERR_DELEGATE, "not JSON" },
		{ "[]", CNI_ERR_DECODE, "must be an object" },
		{ "{\"ips\":{}}", CNI_ERR_DECODE, "ips must be a list" },
		{ "{\"interfaces\":\"eth0\"}", CNI_ERR_DECODE, "interfaces must be a list" },
		{ "{\"interfaces\":[{\"mac\":\"x\"}]}", CNI_ERR_CONFIG, "interfaces[0].name is required" },
		{ "{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}", CNI_ERR_CONFIG, "ips[0].address is required" },
		{ "{\"ips\":[{\"address\":\"10.0.0.2\"}]}", CNI_ERR_CONFIG, "ips[0].address must be a CIDR" },
		{ "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":0}]}", CNI_ERR_CONFIG,
		  "ips[0].interface is 0 but there are only 0 interfaces" },
		{ "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":-1}]}", CNI_ERR_CONFIG, "interface" },
		{ "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"fd00::1\"}]}", CNI_ERR_CONFIG,
		  "different address families" },
		{ "{\"routes\":[{\"gw\":\"10.0.0.1\"}]}", CNI_ERR_CONFIG, "routes[0].dst is required" },
		{ "{\"routes\":[{\"dst\":\"::/0\",\"gw\":\"10.0.0.1\"}]}", CNI_ERR_CONFIG, "different address families" },
		{ "{\"routes\":[{\"dst\":\"::/0\",\"scope\":256}]}", CNI_ERR_CONFIG, "routes[0].scope must be a whole number" },
		{ "{\"routes\":[{\"dst\":\"::/0\",\"mtu\":\"1500\"}]}", CNI_ERR_DECODE, "routes[0].mtu must be a number" },
		{ "{\"ip4\":{\"ip\":\"fd00::1/64\"}}", CNI_ERR_CONFIG, "ip4.ip has the wrong address family" },
		{ "{\"ip6\":{\"gateway\":\"fd00::1\"}}", CNI_ERR_CONFIG, "ip6.ip is required" },
		{ "{\"dns\":[]}", CNI_ERR_DECODE, "dns must be an object" },
		{ "{\"dns\":{\"nameservers\":\"10.0.0.1\"}}", CNI_ERR_DECODE, "dns.nameservers must be a list of strings" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_result r = { 0 };
		struct rv_err err = { 0 };

		if (cni_result_decode(cases[i].in, strlen(cases[i].in), &r, &err) == 0)
			fail_msg("decoding %s should fail", cases[i].in);
		if (err.code != cases[i].code || !strstr(err.msg, cases[i].frag))
			fail_msg("decoding %s: code %u msg \"%s\", want %u \"%s\"", cases[i].in, err.code,
				 err.msg, cases[i].code, cases[i].frag);
		cni_result_done(&r);
	}
}

static void test_error_decode(void **state)
{
	static const struct {
		const char *in;
		unsigned code;
		const char *msg, *details;
	} good[] = {
		{ "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"busy\",\"details\":\"lock held\"}", 11, "busy", "lock held" },
		{ "{\"code\":7,\"msg\":\"bad config\"}", 7, "bad config", "" },
		{ "{\"code\":999,\"msg\":\"plugin error\"}", 999, "plugin error", "" },
		/* Codes outside what an error can be: the delegate failed. */
		{ "{\"code\":0,\"msg\":\"zero\"}", RIVET_ERR_DELEGATE, "zero", "" },
		{ "{\"code\":1000,\"msg\":\"big\"}", RIVET_ERR_DELEGATE, "big", "" },
		{ "{\"code\":-3,\"msg\":\"negative\"}", RIVET_ERR_DELEGATE, "negative", "" },
	};
	static const char *const bad[] = {
		"not json", "{\"msg\":\"no code\"}", "{\"code\":7}", "{\"code\":\"7\",\"msg\":\"x\"}",
		"{\"cniVersion\":\"1.0.0\",\"ips\":[]}", "[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rv_err e = { 0 };

		assert_int_equal(cni_error_decode(good[i].in, strlen(good[i].in), &e), 0);
		assert_int_equal(e.code, good[i].code);
		assert_string_equal(e.msg, good[i].msg);
		assert_string_equal(e.details, good[i].details);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rv_err e = { 0 };

		if (cni_error_decode(bad[i], strlen(bad[i]), &e) != -EINVAL)
			fail_msg("%s is not an error object", bad[i]);
		assert_int_equal(e.code, 0);
	}
}

static void test_error_roundtrip(void **state)
{
	struct rv_err e = { 0 }, back = { 0 };
	char *text;

	(void)state;
	err_set(&e, RIVET_ERR_NETLINK, EEXIST, "cannot add route \"10.0.0.5/32\"");
	err_details(&e, "File exists");
	text = cni_error_encode(&e, "1.1.0");
	assert_non_null(text);
	assert_int_equal(cni_error_decode(text, strlen(text), &back), 0);
	assert_int_equal(back.code, e.code);
	assert_string_equal(back.msg, e.msg);
	assert_string_equal(back.details, e.details);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_every_version),
		cmocka_unit_test(test_1x_socket_path_pci_id),
		cmocka_unit_test(test_omitempty),
		cmocka_unit_test(test_legacy_first_of_each_family),
		cmocka_unit_test(test_legacy_routes_need_their_family),
		cmocka_unit_test(test_legacy_without_address),
		cmocka_unit_test(test_strings_escaped),
		cmocka_unit_test(test_error_encode),
		cmocka_unit_test(test_version_reply),
		cmocka_unit_test(test_roundtrip_every_version),
		cmocka_unit_test(test_decode_fields),
		cmocka_unit_test(test_decode_across_versions),
		cmocka_unit_test(test_decode_ipam_result),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_error_decode),
		cmocka_unit_test(test_error_roundtrip),
	};

	return cmocka_run_group_tests_name("cni/result", tests, NULL, NULL);
}

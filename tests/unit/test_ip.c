// SPDX-License-Identifier: Apache-2.0
/*
 * util/ip: addresses print exactly as Go's net.IP.String() prints them,
 * because host-local names its reservation files that way and the two
 * plugins must agree on every name: RFC 5952 compression of the longest
 * (first on a tie) run of two or more zero groups, a single zero group left
 * alone, lowercase hex, IPv4-mapped IPv6 parsed to and printed as dotted
 * IPv4. Also proves the parsers' refusals (leading zeros, lengths out of
 * range, missing lengths), prefix masking and last address, containment and
 * overlap, ip_add wrapping at both ends of each family, and ip_span across
 * the 64-bit halves of an IPv6 address with saturation.
 */
#include "testutil.h"

#include <arpa/inet.h>

#include "util/ip.h"

static struct rv_ip ip(const char *s)
{
	struct rv_ip out;

	if (ip_parse(s, &out) != 0)
		fail_msg("ip_parse(\"%s\") failed", s);
	return out;
}

static struct rv_prefix pfx(const char *s)
{
	struct rv_prefix out;

	if (prefix_parse(s, &out) != 0)
		fail_msg("prefix_parse(\"%s\") failed", s);
	return out;
}

static void expect_fmt(const char *in, int family, const char *want)
{
	struct rv_ip a = ip(in);
	char buf[IP_STRLEN];

	if (a.family != family)
		fail_msg("%s parsed as family %d, want %d", in, a.family, family);
	if (strcmp(ip_fmt(&a, buf), want))
		fail_msg("%s printed as \"%s\", Go prints \"%s\"", in, buf, want);
}

static void test_format_like_go(void **state)
{
	(void)state;
	/* What Go's net.ParseIP(x).String() prints for each. */
	expect_fmt("10.1.2.3", AF_INET, "10.1.2.3");
	expect_fmt("0.0.0.0", AF_INET, "0.0.0.0");
	expect_fmt("255.255.255.255", AF_INET, "255.255.255.255");
	expect_fmt("2001:db8::1", AF_INET6, "2001:db8::1");
	expect_fmt("2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1");
	expect_fmt("2001:DB8::ABCD", AF_INET6, "2001:db8::abcd");
	expect_fmt("::", AF_INET6, "::");
	expect_fmt("::1", AF_INET6, "::1");
	expect_fmt("0:0:0:0:0:0:0:1", AF_INET6, "::1");
	expect_fmt("1::", AF_INET6, "1::");
	expect_fmt("fe80::ecee:eeff:feee:eeee", AF_INET6, "fe80::ecee:eeff:feee:eeee");
	/* RFC 5952 4.2.2: a single zero group is printed, not compressed. */
	expect_fmt("2001:db8:0:1:1:1:1:1", AF_INET6, "2001:db8:0:1:1:1:1:1");
	expect_fmt("1:2:3:4:5:6:7:0", AF_INET6, "1:2:3:4:5:6:7:0");
	expect_fmt("0:1:2:3:4:5:6:7", AF_INET6, "0:1:2:3:4:5:6:7");
	/* 4.2.3: the longest run wins; on a tie the first one. */
	expect_fmt("2001:0:0:1:0:0:0:1", AF_INET6, "2001:0:0:1::1");
	expect_fmt("2001:db8:0:0:1:0:0:1", AF_INET6, "2001:db8::1:0:0:1");
	expect_fmt("0:0:1:0:0:1:0:0", AF_INET6, "::1:0:0:1:0:0");
	expect_fmt("1:0:0:2:3:0:0:0", AF_INET6, "1:0:0:2:3::");
	expect_fmt("fd00:10:96::1", AF_INET6, "fd00:10:96::1");
	expect_fmt("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* Go's To4(): IPv4-mapped IPv6 is an IPv4 address, printed dotted. */
	expect_fmt("::ffff:10.1.2.3", AF_INET, "10.1.2.3");
	expect_fmt("::ffff:a01:203", AF_INET, "10.1.2.3");
	expect_fmt("0:0:0:0:0:ffff:c0a8:0101", AF_INET, "192.168.1.1");
	/* IPv4-compatible (deprecated) and NAT64 are not mapped: hex, never
	 * inet_ntop's "::10.1.2.3", which Go does not print. */
	expect_fmt("::10.1.2.3", AF_INET6, "::a01:203");
	expect_fmt("::a01:203", AF_INET6, "::a01:203");
	expect_fmt("64:ff9b::10.1.2.3", AF_INET6, "64:ff9b::a01:203");
	expect_fmt("::fffe:a01:203", AF_INET6, "::fffe:a01:203");
}

static void test_fmt_unset(void **state)
{
	struct rv_ip none = { 0 };
	char buf[IP_STRLEN];

	(void)state;
	/* Go prints a nil IP as "<nil>". */
	assert_string_equal(ip_fmt(&none, buf), "<nil>");
	assert_false(ip_is_set(&none));
	assert_true(ip_is_set(&(struct rv_ip){ .family = AF_INET }));
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "010.1.1.1", "1.2.3.4 ",
		" 1.2.3.4", "1.2.3.4/24", "::g", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::",
		"fe80::1%eth0", "localhost", "0x0a.0.0.1",
	};
	struct rv_ip out = { .family = 77 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ip_parse(bad[i], &out) != -EINVAL)
			fail_msg("ip_parse(\"%s\") should fail", bad[i]);
	assert_int_equal(ip_parse(NULL, &out), -EINVAL);
	/* A failed parse leaves the output alone. */
	assert_int_equal(out.family, 77);
}

static void test_prefix_parse(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
		unsigned len;
	} good[] = {
		{ "10.0.0.0/8", "10.0.0.0/8", AF_INET, 8 },
		{ "10.1.2.3/24", "10.1.2.3/24", AF_INET, 24 }, /* host bits kept */
		{ "0.0.0.0/0", "0.0.0.0/0", AF_INET, 0 },
		{ "10.1.2.3/32", "10.1.2.3/32", AF_INET, 32 },
		{ "::/0", "::/0", AF_INET6, 0 },
		{ "fd00:0::1/64", "fd00::1/64", AF_INET6, 64 },
		{ "2001:db8::/128", "2001:db8::/128", AF_INET6, 128 },
	};
	static const char *const bad[] = {
		"10.0.0.0", "10.0.0.0/", "/8", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/8/8", "fd00::/129",
		"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/8", "10.0.0.256/8", "10.0.0.0/99999999999999999999",
	};
	char buf[IP_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rv_prefix p;

		if (prefix_parse(good[i].in, &p) != 0)
			fail_msg("prefix_parse(\"%s\") failed", good[i].in);
		assert_int_equal(p.ip.family, good[i].family);
		assert_int_equal(p.len, good[i].len);
		assert_string_equal(prefix_fmt(&p, buf), good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rv_prefix p;

		if (prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("prefix_parse(\"%s\") should fail", bad[i]);
	}
	assert_int_equal(prefix_parse(NULL, &(struct rv_prefix){ 0 }), -EINVAL);
}

static void test_prefix_parse_loose(void **state)
{
	struct rv_prefix p;
	char buf[IP_STRLEN];

	(void)state;
	/* Requested IPs ("ips", CNI_ARGS IP=) may omit the length. */
	assert_int_equal(prefix_parse_loose("10.1.2.3", &p), 0);
	assert_int_equal(p.len, 32);
	assert_string_equal(prefix_fmt(&p, buf), "10.1.2.3/32");
	assert_int_equal(prefix_parse_loose("fd00::5", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(prefix_parse_loose("::ffff:10.1.2.3", &p), 0);
	assert_int_equal(p.ip.family, AF_INET);
	assert_int_equal(p.len, 32);
	assert_int_equal(prefix_parse_loose("10.1.2.3/20", &p), 0);
	assert_int_equal(p.len, 20);
	assert_int_equal(prefix_parse_loose("10.1.2.3/", &p), -EINVAL);
	assert_int_equal(prefix_parse_loose("nope", &p), -EINVAL);
	assert_int_equal(prefix_parse_loose("", &p), -EINVAL);
}

static void expect_mask(const char *in, const char *net, const char *last, bool host_bits)
{
	struct rv_prefix p = pfx(in), m = prefix_masked(&p);
	struct rv_ip l = prefix_last(&p);
	char buf[IP_STRLEN];

	if (strcmp(ip_fmt(&m.ip, buf), net))
		fail_msg("%s: network %s, want %s", in, buf, net);
	assert_int_equal(m.len, p.len);
	if (strcmp(ip_fmt(&l, buf), last))
		fail_msg("%s: last %s, want %s", in, buf, last);
	if (prefix_has_host_bits(&p) != host_bits)
		fail_msg("%s: has_host_bits should be %d", in, host_bits);
}

static void test_prefix_math(void **state)
{
	(void)state;
	expect_mask("10.1.2.3/16", "10.1.0.0", "10.1.255.255", true);
	expect_mask("10.1.0.0/16", "10.1.0.0", "10.1.255.255", false);
	expect_mask("10.0.0.200/25", "10.0.0.128", "10.0.0.255", true);
	expect_mask("10.0.0.0/23", "10.0.0.0", "10.0.1.255", false);
	expect_mask("10.0.0.0/30", "10.0.0.0", "10.0.0.3", false);
	expect_mask("1.2.3.4/0", "0.0.0.0", "255.255.255.255", true);
	expect_mask("1.2.3.4/32", "1.2.3.4", "1.2.3.4", false);
	expect_mask("fd00::1/64", "fd00::", "fd00::ffff:ffff:ffff:ffff", true);
	expect_mask("fd00:1:2:3::/64", "fd00:1:2:3::", "fd00:1:2:3:ffff:ffff:ffff:ffff", false);
	expect_mask("2001:db8::/127", "2001:db8::", "2001:db8::1", false);
	expect_mask("2001:db8::ff/121", "2001:db8::80", "2001:db8::ff", true);
	expect_mask("::1/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true);
}

static void test_contains_and_overlaps(void **state)
{
	struct rv_prefix a = pfx("10.0.0.0/8"), b = pfx("10.1.0.0/16"), c = pfx("11.0.0.0/16");
	struct rv_prefix d = pfx("10.1.2.0/24"), v6 = pfx("::/0"), v4all = pfx("0.0.0.0/0");
	struct rv_prefix hb = pfx("10.1.2.3/24");

	(void)state;
	assert_true(prefix_contains(&a, &(struct rv_ip){ 0 }) == false);
	{
		struct rv_ip x = ip("10.255.255.255"), y = ip("11.0.0.0"), z = ip("fd00::1");

		assert_true(prefix_contains(&a, &x));
		assert_false(prefix_contains(&a, &y));
		assert_false(prefix_contains(&a, &z));
		/* ::/0 contains every IPv6 address and no IPv4 one. */
		assert_true(prefix_contains(&v6, &z));
		assert_false(prefix_contains(&v6, &x));
		assert_true(prefix_contains(&v4all, &x));
	}
	{
		/* Containment ignores the prefix's own host bits. */
		struct rv_ip in = ip("10.1.2.200"), out = ip("10.1.3.1");

		assert_true(prefix_contains(&hb, &in));
		assert_false(prefix_contains(&hb, &out));
	}
	assert_true(prefix_overlaps(&a, &b));
	assert_true(prefix_overlaps(&b, &a));
	assert_true(prefix_overlaps(&b, &d));
	assert_false(prefix_overlaps(&a, &c));
	assert_false(prefix_overlaps(&b, &c));
	assert_false(prefix_overlaps(&v6, &v4all));
	assert_true(prefix_overlaps(&v4all, &c));
}

static void expect_add(const char *in, int64_t delta, const char *want)
{
	struct rv_ip a = ip(in);
	char buf[IP_STRLEN];

	ip_add(&a, delta);
	if (strcmp(ip_fmt(&a, buf), want))
		fail_msg("%s %+lld gave %s, want %s", in, (long long)delta, buf, want);
}

static void test_ip_add(void **state)
{
	(void)state;
	expect_add("10.0.0.1", 1, "10.0.0.2");
	expect_add("10.0.0.255", 1, "10.0.1.0");
	expect_add("10.0.255.255", 1, "10.1.0.0");
	expect_add("10.0.1.0", -1, "10.0.0.255");
	expect_add("10.0.0.0", 256, "10.0.1.0");
	expect_add("10.0.0.0", 0x01000000, "11.0.0.0");
	expect_add("10.0.0.5", 0, "10.0.0.5");
	/* Wrap-around inside the family, never into the next bytes. */
	expect_add("255.255.255.255", 1, "0.0.0.0");
	expect_add("0.0.0.0", -1, "255.255.255.255");
	expect_add("255.255.255.250", 10, "0.0.0.4");
	expect_add("0.0.0.0", 0x100000000LL, "0.0.0.0");
	expect_add("fd00::ffff", 1, "fd00::1:0");
	expect_add("::ffff:ffff", 1, "::1:0:0");
	expect_add("fd00::", -1, "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	expect_add("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "::");
	expect_add("::", -1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	expect_add("::", INT64_MAX, "::7fff:ffff:ffff:ffff");
	expect_add("::", INT64_MIN, "ffff:ffff:ffff:ffff:8000::");
	expect_add("::1:0:0:0:0", -1, "::ffff:ffff:ffff:ffff");
}

static void expect_span(const char *a, const char *b, uint64_t want)
{
	struct rv_ip x = ip(a), y = ip(b);
	uint64_t got = ip_span(&x, &y);

	if (got != want)
		fail_msg("span %s..%s = %llu, want %llu", a, b, (unsigned long long)got,
			 (unsigned long long)want);
}

static void test_ip_span(void **state)
{
	(void)state;
	expect_span("10.0.0.1", "10.0.0.254", 254);
	expect_span("10.0.0.5", "10.0.0.5", 1);
	expect_span("10.0.0.6", "10.0.0.5", 0);
	expect_span("10.0.0.0", "10.0.255.255", 65536);
	expect_span("0.0.0.0", "255.255.255.255", 4294967296ULL);
	expect_span("fd00::1", "fd00::ff", 255);
	/* The borrow from the low half into the high half. */
	expect_span("::ffff:ffff:ffff:ffff", "::1:0:0:0:1", 3);
	expect_span("::1", "::ffff:ffff:ffff:ffff", UINT64_MAX);
	/* A /64 has 2^64 addresses: saturates. */
	expect_span("fd00::", "fd00::ffff:ffff:ffff:ffff", UINT64_MAX);
	expect_span("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT64_MAX);
	expect_span("fd00::1:0:0:0:0", "fd00::", 0);
}

static void test_cmp(void **state)
{
	struct rv_ip a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("::1"), a2 = ip("::ffff:10.0.0.1");

	(void)state;
	assert_true(ip_cmp(&a, &b) < 0);
	assert_true(ip_cmp(&b, &a) > 0);
	assert_int_equal(ip_cmp(&a, &a2), 0);
	assert_true(ip_eq(&a, &a2));
	assert_false(ip_eq(&a, &c));
	/* Families never compare equal, and order consistently. */
	assert_true(ip_cmp(&a, &c) != 0);
	assert_true((ip_cmp(&a, &c) < 0) == (ip_cmp(&c, &a) > 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_like_go),
		cmocka_unit_test(test_fmt_unset),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_parse_loose),
		cmocka_unit_test(test_prefix_math),
		cmocka_unit_test(test_contains_and_overlaps),
		cmocka_unit_test(test_ip_add),
		cmocka_unit_test(test_ip_span),
		cmocka_unit_test(test_cmp),
	};

	return cmocka_run_group_tests_name("util/ip", tests, NULL, NULL);
}

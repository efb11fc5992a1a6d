// SPDX-License-Identifier: Apache-2.0
/*
 * ipam/range: host-local's range semantics, so rivet and host-local hand out
 * the same addresses in the same order from the same config.
 *
 * Proves the defaults (gateway = network+1; rangeStart = network+1, the
 * gateway then skipped by the iterator; rangeEnd = broadcast-1 for IPv4 and
 * the all-ones address for IPv6), every refusal with code 7 and host-local's
 * wording (too small: /31 /32 /127 /128; host bits; start or end outside the
 * subnet; start after end; mixed families; overlaps inside a set and across
 * sets; the 0.1.0/0.2.0 one-set-per-family rule), containment, the
 * "start-end,start-end" text host-local prints in its exhaustion message,
 * capacity, and the round-robin iterator: it starts after last_reserved,
 * wraps across the ranges of a set, skips every range's gateway, and stops
 * once it is back where it began, having offered each address exactly once.
 */
#include "testutil.h"

#include <arpa/inet.h>

#include "ipam/range.h"

static struct rv_ip ip(const char *s)
{
	struct rv_ip out = { 0 };

	if (s && ip_parse(s, &out) != 0)
		fail_msg("ip_parse(\"%s\") failed", s);
	return out;
}

/* A range as the config reader leaves it: optional fields unset. */
static struct ipam_range rng(const char *subnet, const char *start, const char *end, const char *gw)
{
	struct ipam_range r = { 0 };

	if (prefix_parse(subnet, &r.subnet) != 0)
		fail_msg("bad subnet %s", subnet);
	r.start = ip(start);
	r.end = ip(end);
	r.gateway = ip(gw);
	return r;
}

/* A conf of @n_sets sets; @sizes[i] ranges each, taken in order from @r. */
struct fixture {
	struct ipam_conf c;
	struct ipam_rangeset sets[8];
	struct ipam_range ranges[16];
};

static void build(struct fixture *f, const size_t *sizes, size_t n_sets, const struct ipam_range *r)
{
	size_t k = 0;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n_sets; i++) {
		f->sets[i].r = &f->ranges[k];
		f->sets[i].n = sizes[i];
		for (size_t j = 0; j < sizes[i]; j++, k++)
			f->ranges[k] = r[k];
	}
	f->c.sets = f->sets;
	f->c.n_sets = n_sets;
}

static void one(struct fixture *f, struct ipam_range r)
{
	size_t n = 1;

	build(f, &n, 1, &r);
}

static int canon(struct fixture *f, bool one_per_family, struct rv_err *err)
{
	err_clear(err);
	return ipam_ranges_canonicalize(&f->c, one_per_family, err);
}

static void assert_ip(const struct rv_ip *a, const char *want)
{
	char buf[IP_STRLEN];

	if (strcmp(ip_fmt(a, buf), want))
		fail_msg("got %s, want %s", buf, want);
}

/* ---- defaults -------------------------------------------------------------- */

static void test_defaults_v4(void **state)
{
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("10.1.2.0/24", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].gateway, "10.1.2.1");
	/* host-local: start .1 (the gateway is skipped while iterating, not
	 * excluded from the range), end .254 (broadcast excluded). */
	assert_ip(&f.ranges[0].start, "10.1.2.1");
	assert_ip(&f.ranges[0].end, "10.1.2.254");
	assert_int_equal(ipam_rangeset_family(&f.sets[0]), AF_INET);

	one(&f, rng("10.8.0.0/14", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].end, "10.11.255.254");
	/* The smallest allocatable network: /30 gives .1 (gateway) and .2. */
	one(&f, rng("10.0.0.4/30", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].gateway, "10.0.0.5");
	assert_ip(&f.ranges[0].start, "10.0.0.5");
	assert_ip(&f.ranges[0].end, "10.0.0.6");
}

static void test_defaults_v6(void **state)
{
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("fd00:1::/64", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].gateway, "fd00:1::1");
	assert_ip(&f.ranges[0].start, "fd00:1::1");
	/* IPv6 has no broadcast: host-local's lastIP() keeps all-ones. */
	assert_ip(&f.ranges[0].end, "fd00:1::ffff:ffff:ffff:ffff");
	assert_int_equal(ipam_rangeset_family(&f.sets[0]), AF_INET6);

	one(&f, rng("fd00::/126", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].end, "fd00::3");
}

static void test_explicit_fields_kept(void **state)
{
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("10.1.2.0/24", "10.1.2.10", "10.1.2.20", "10.1.2.254"));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].start, "10.1.2.10");
	assert_ip(&f.ranges[0].end, "10.1.2.20");
	assert_ip(&f.ranges[0].gateway, "10.1.2.254");
	/* An explicit network or broadcast address is allowed, as host-local
	 * allows it (containernetworking/plugins#1295). */
	one(&f, rng("10.1.2.0/24", "10.1.2.0", "10.1.2.255", NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_ip(&f.ranges[0].start, "10.1.2.0");
	assert_ip(&f.ranges[0].end, "10.1.2.255");
	/* start == end: a one-address range. */
	one(&f, rng("10.1.2.0/24", "10.1.2.7", "10.1.2.7", NULL));
	assert_int_equal(canon(&f, false, &err), 0);
}

/* ---- refusals -------------------------------------------------------------- */

static void expect_refused(struct ipam_range r, const char *frag)
{
	struct fixture f;
	struct rv_err err;

	one(&f, r);
	assert_int_equal(canon(&f, false, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, frag);
	assert_contains(err.msg, "range set 0");
}

static void test_too_small(void **state)
{
	(void)state;
	expect_refused(rng("10.0.0.0/31", NULL, NULL, NULL), "network 10.0.0.0/31 too small to allocate from");
	expect_refused(rng("10.0.0.1/32", NULL, NULL, NULL), "network 10.0.0.1/32 too small to allocate from");
	expect_refused(rng("fd00::/127", NULL, NULL, NULL), "network fd00::/127 too small to allocate from");
	expect_refused(rng("fd00::1/128", NULL, NULL, NULL), "network fd00::1/128 too small to allocate from");
}

static void test_host_bits(void **state)
{
	(void)state;
	expect_refused(rng("10.1.2.3/24", NULL, NULL, NULL), "network 10.1.2.3/24 has host bits set");
	expect_refused(rng("10.1.2.3/24", NULL, NULL, NULL), "the network address is 10.1.2.0");
	expect_refused(rng("fd00::1/64", NULL, NULL, NULL), "the network address is fd00::");
}

static void test_start_end_outside(void **state)
{
	(void)state;
	expect_refused(rng("10.1.2.0/24", "10.1.3.5", NULL, NULL),
		       "rangeStart 10.1.3.5 not in network 10.1.2.0/24");
	expect_refused(rng("10.1.2.0/24", NULL, "10.1.1.200", NULL),
		       "rangeEnd 10.1.1.200 not in network 10.1.2.0/24");
	expect_refused(rng("10.1.2.0/24", "fd00::1", NULL, NULL), "rangeStart fd00::1 not in network");
	expect_refused(rng("fd00::/64", NULL, "fd01::1", NULL), "rangeEnd fd01::1 not in network fd00::/64");
}

static void test_start_after_end_default_end(void **state)
{
	(void)state;
	/* rangeStart at the broadcast, rangeEnd defaulted to .254. */
	expect_refused(rng("10.1.2.0/24", "10.1.2.255", NULL, NULL),
		       "rangeStart 10.1.2.255 is after rangeEnd 10.1.2.254");
}

static void test_start_after_end_explicit(void **state)
{
	(void)state;
	expect_refused(rng("10.1.2.0/24", "10.1.2.200", "10.1.2.100", NULL),
		       "rangeStart 10.1.2.200 is after rangeEnd 10.1.2.100");
}

static void test_gateway_family(void **state)
{
	(void)state;
	expect_refused(rng("10.1.2.0/24", NULL, NULL, "fd00::1"), "gateway fd00::1 is not of the subnet's family");
}

static void test_mixed_families(void **state)
{
	struct ipam_range r[] = { rng("10.1.0.0/24", NULL, NULL, NULL), rng("fd00::/64", NULL, NULL, NULL) };
	size_t sizes[] = { 2 };
	struct fixture f;
	struct rv_err err;

	(void)state;
	build(&f, sizes, 1, r);
	assert_int_equal(canon(&f, false, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "invalid range set 0: mixed address families");
}

static void test_overlap_within_set(void **state)
{
	struct ipam_range r[] = { rng("10.1.0.0/24", NULL, NULL, NULL), rng("10.1.0.0/25", NULL, NULL, NULL) };
	struct ipam_range ok[] = {
		/* Two ranges in one subnet that do not share an address are
		 * fine: host-local compares start-end, not subnets. */
		rng("10.1.0.0/24", "10.1.0.1", "10.1.0.100", NULL),
		rng("10.1.0.0/24", "10.1.0.101", "10.1.0.200", NULL),
	};
	size_t sizes[] = { 2 };
	struct fixture f;
	struct rv_err err;

	(void)state;
	build(&f, sizes, 1, r);
	assert_int_equal(canon(&f, false, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "invalid range set 0: subnets 10.1.0.0/24 and 10.1.0.0/25 overlap");

	build(&f, sizes, 1, ok);
	assert_int_equal(canon(&f, false, &err), 0);
}

static void test_overlap_across_sets(void **state)
{
	struct ipam_range r[] = {
		rng("fd00::/64", NULL, NULL, NULL),
		rng("10.1.0.0/16", NULL, NULL, NULL),
		rng("10.1.5.0/24", NULL, NULL, NULL),
	};
	size_t sizes[] = { 1, 1, 1 };
	struct fixture f;
	struct rv_err err;

	(void)state;
	build(&f, sizes, 3, r);
	assert_int_equal(canon(&f, false, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "range set 1 overlaps with 2");
}

static void test_error_names_the_set(void **state)
{
	struct ipam_range r[] = { rng("10.1.0.0/24", NULL, NULL, NULL), rng("10.2.0.0/31", NULL, NULL, NULL) };
	size_t sizes[] = { 1, 1 };
	struct fixture f;
	struct rv_err err;

	(void)state;
	build(&f, sizes, 2, r);
	assert_int_equal(canon(&f, false, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "invalid range set 1: network 10.2.0.0/31 too small");
}

static void test_empty_set(void **state)
{
	struct fixture f;
	struct rv_err err;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.sets[0].r = f.ranges;
	f.sets[0].n = 0;
	f.c.sets = f.sets;
	f.c.n_sets = 1;
	assert_int_equal(canon(&f, false, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "invalid range set 0: empty range set");
}

static void test_one_per_family(void **state)
{
	struct ipam_range two_v4[] = { rng("10.1.0.0/24", NULL, NULL, NULL), rng("10.2.0.0/24", NULL, NULL, NULL) };
	struct ipam_range dual[] = { rng("10.1.0.0/24", NULL, NULL, NULL), rng("fd00::/64", NULL, NULL, NULL) };
	struct ipam_range two_v6[] = { rng("fd01::/64", NULL, NULL, NULL), rng("fd00::/64", NULL, NULL, NULL) };
	size_t sizes[] = { 1, 1 }, one_set[] = { 2 };
	struct fixture f;
	struct rv_err err;

	(void)state;
	/* 0.1.0/0.2.0 results have one ip4 and one ip6: more sets of a family
	 * could not be reported. */
	build(&f, sizes, 2, two_v4);
	assert_int_equal(canon(&f, true, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "do not support more than 1 address per family");
	build(&f, sizes, 2, two_v6);
	assert_int_equal(canon(&f, true, &err), -EINVAL);
	assert_err(err, CNI_ERR_CONFIG, "more than 1 address per family");
	build(&f, sizes, 2, dual);
	assert_int_equal(canon(&f, true, &err), 0);
	build(&f, sizes, 2, two_v4);
	assert_int_equal(canon(&f, false, &err), 0);
	/* Two ranges in ONE set still give one address. */
	build(&f, one_set, 1, two_v4);
	assert_int_equal(canon(&f, true, &err), 0);
}

/* ---- contains, text, capacity ---------------------------------------------- */

static void test_contains(void **state)
{
	struct ipam_range r[] = {
		rng("10.1.0.0/24", "10.1.0.10", "10.1.0.20", NULL),
		rng("10.2.0.0/24", NULL, NULL, NULL),
	};
	size_t sizes[] = { 2 }, idx = 99;
	struct fixture f;
	struct rv_err err;
	struct rv_ip a;

	(void)state;
	build(&f, sizes, 1, r);
	assert_int_equal(canon(&f, false, &err), 0);
	a = ip("10.1.0.10");
	assert_true(ipam_rangeset_contains(&f.sets[0], &a, &idx));
	assert_int_equal(idx, 0);
	a = ip("10.1.0.20");
	assert_true(ipam_rangeset_contains(&f.sets[0], &a, NULL));
	a = ip("10.1.0.9");
	assert_false(ipam_rangeset_contains(&f.sets[0], &a, NULL));
	a = ip("10.1.0.21");
	assert_false(ipam_rangeset_contains(&f.sets[0], &a, NULL));
	a = ip("10.2.0.77");
	assert_true(ipam_rangeset_contains(&f.sets[0], &a, &idx));
	assert_int_equal(idx, 1);
	/* The gateway is inside its range (host-local's Contains); only the
	 * iterator and the request check refuse it. */
	a = ip("10.2.0.1");
	assert_true(ipam_rangeset_contains(&f.sets[0], &a, NULL));
	a = ip("10.2.0.255");
	assert_false(ipam_rangeset_contains(&f.sets[0], &a, NULL));
	a = ip("::ffff:10.2.0.5");
	assert_true(ipam_rangeset_contains(&f.sets[0], &a, NULL));
	a = ip("fd00::1");
	assert_false(ipam_rangeset_contains(&f.sets[0], &a, NULL));
}

static void test_fmt(void **state)
{
	struct ipam_range r[] = {
		rng("10.1.0.0/24", NULL, NULL, NULL),
		rng("10.2.0.0/24", "10.2.0.50", "10.2.0.60", NULL),
		rng("fd00::/64", NULL, NULL, NULL),
	};
	size_t sizes[] = { 2, 1 };
	struct fixture f;
	struct rv_err err;
	char buf[256], small[10];

	(void)state;
	build(&f, sizes, 2, r);
	assert_int_equal(canon(&f, false, &err), 0);
	/* host-local's RangeSet.String(): the text of its exhaustion error. */
	assert_string_equal(ipam_rangeset_fmt(&f.sets[0], buf, sizeof(buf)),
			    "10.1.0.1-10.1.0.254,10.2.0.50-10.2.0.60");
	assert_string_equal(ipam_rangeset_fmt(&f.sets[1], buf, sizeof(buf)),
			    "fd00::1-fd00::ffff:ffff:ffff:ffff");
	/* A short buffer truncates, terminated, without overflowing. */
	memset(small, 'x', sizeof(small));
	assert_string_equal(ipam_rangeset_fmt(&f.sets[0], small, sizeof(small)), "10.1.0.1-");
}

static void test_capacity(void **state)
{
	struct ipam_range r[] = {
		rng("10.1.0.0/24", NULL, NULL, NULL),                     /* 254 - gw = 253 */
		rng("10.2.0.0/24", "10.2.0.10", "10.2.0.20", NULL),       /* gw .1 outside: 11 */
		rng("10.3.0.0/30", NULL, NULL, NULL),                     /* .1 gw, .2: 1 */
		rng("fd00::/64", NULL, NULL, NULL),                       /* saturates */
		rng("10.4.0.0/24", "10.4.0.10", "10.4.0.20", "10.4.0.15"),/* gw inside: 10 */
	};
	size_t sizes[] = { 1, 1, 1, 1, 1 };
	static const uint64_t want[] = { 253, 11, 1, UINT64_MAX, 10 };
	struct fixture f;
	struct rv_err err;

	(void)state;
	build(&f, sizes, 5, r);
	assert_int_equal(canon(&f, false, &err), 0);
	for (size_t i = 0; i < 5; i++)
		if (ipam_rangeset_capacity(&f.sets[i]) != want[i])
			fail_msg("set %zu capacity %llu, want %llu", i,
				 (unsigned long long)ipam_rangeset_capacity(&f.sets[i]),
				 (unsigned long long)want[i]);
	/* Two ranges in one set add up. */
	{
		size_t s2[] = { 3 };

		build(&f, s2, 1, r);
		assert_int_equal(canon(&f, false, &err), 0);
		assert_int_equal(ipam_rangeset_capacity(&f.sets[0]), 253 + 11 + 1);
	}
}

/* ---- iterator -------------------------------------------------------------- */

/* Walk the iterator to its end; return the count, fill @out with text. */
static size_t walk(const struct ipam_rangeset *set, const char *last, char out[][IP_STRLEN], size_t max,
		   size_t *ranges)
{
	struct rv_ip l, cand;
	struct ipam_iter it;
	size_t n = 0, ri;

	if (last)
		l = ip(last);
	ipam_iter_init(&it, set, last ? &l : NULL);
	while (ipam_iter_next(&it, &cand, &ri)) {
		if (n < max) {
			ip_fmt(&cand, out[n]);
			if (ranges)
				ranges[n] = ri;
		}
		if (++n > 100000)
			fail_msg("iterator does not terminate");
	}
	return n;
}

static void expect_walk(const struct ipam_rangeset *set, const char *last, const char *const *want, size_t n_want)
{
	char got[64][IP_STRLEN];
	size_t n = walk(set, last, got, 64, NULL);

	if (n != n_want)
		fail_msg("iterator from %s gave %zu candidates, want %zu", last ? last : "(none)", n, n_want);
	for (size_t i = 0; i < n; i++)
		if (strcmp(got[i], want[i]))
			fail_msg("candidate %zu is %s, want %s", i, got[i], want[i]);
}

static void test_iter_fresh(void **state)
{
	static const char *const want[] = { "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6" };
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("10.0.0.0/29", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	/* Starts at rangeStart (.1), skips the gateway (.1), ends at .6. */
	expect_walk(&f.sets[0], NULL, want, 5);
}

static void test_iter_after_last(void **state)
{
	static const char *const want[] = { "10.0.0.5", "10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4" };
	static const char *const from_end[] = { "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6" };
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("10.0.0.0/29", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	/* Round robin: last+1 first; last itself is offered last. */
	expect_walk(&f.sets[0], "10.0.0.4", want, 5);
	/* From the end it wraps to the start, skipping the gateway. */
	expect_walk(&f.sets[0], "10.0.0.6", from_end, 5);
	/* A last_reserved outside the set (stale, another config) is ignored. */
	expect_walk(&f.sets[0], "10.9.9.9", from_end, 5);
	expect_walk(&f.sets[0], "10.0.0.7", from_end, 5);
	expect_walk(&f.sets[0], "fd00::1", from_end, 5);
}

static void test_iter_across_ranges(void **state)
{
	struct ipam_range r[] = {
		rng("10.0.0.0/29", NULL, NULL, NULL),
		rng("10.0.1.0/24", "10.0.1.10", "10.0.1.12", NULL),
		rng("10.0.2.0/30", NULL, NULL, NULL),
	};
	static const char *const fresh[] = {
		"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6",
		"10.0.1.10", "10.0.1.11", "10.0.1.12", "10.0.2.2",
	};
	static const char *const mid[] = {
		"10.0.1.12", "10.0.2.2", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5",
		"10.0.0.6", "10.0.1.10", "10.0.1.11",
	};
	static const char *const last_range[] = {
		"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6",
		"10.0.1.10", "10.0.1.11", "10.0.1.12", "10.0.2.2",
	};
	size_t sizes[] = { 3 }, ri[64];
	char got[64][IP_STRLEN];
	struct fixture f;
	struct rv_err err;

	(void)state;
	build(&f, sizes, 1, r);
	assert_int_equal(canon(&f, false, &err), 0);
	expect_walk(&f.sets[0], NULL, fresh, 9);
	expect_walk(&f.sets[0], "10.0.1.11", mid, 9);
	expect_walk(&f.sets[0], "10.0.2.2", last_range, 9);
	/* The range index goes with each candidate. */
	assert_int_equal(walk(&f.sets[0], NULL, got, 64, ri), 9);
	assert_int_equal(ri[0], 0);
	assert_int_equal(ri[4], 0);
	assert_int_equal(ri[5], 1);
	assert_int_equal(ri[8], 2);
}

static void test_iter_gateway_in_middle(void **state)
{
	static const char *const want[] = { "10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6" };
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("10.0.0.0/29", NULL, NULL, "10.0.0.3"));
	assert_int_equal(canon(&f, false, &err), 0);
	expect_walk(&f.sets[0], NULL, want, 5);
}

static void test_iter_only_gateway_terminates(void **state)
{
	struct fixture f;
	struct rv_err err;
	char got[4][IP_STRLEN];

	(void)state;
	/* A range whose only address is its gateway offers nothing and
	 * must still stop (host-local recurses; a loop must not spin). */
	one(&f, rng("10.0.0.0/24", "10.0.0.1", "10.0.0.1", NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	assert_int_equal(walk(&f.sets[0], NULL, got, 4, NULL), 0);
	assert_int_equal(walk(&f.sets[0], "10.0.0.1", got, 4, NULL), 0);
}

static void test_iter_full_cycle_v4(void **state)
{
	static char got[300][IP_STRLEN];
	struct fixture f;
	struct rv_err err;
	size_t n;

	(void)state;
	one(&f, rng("10.5.0.0/24", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	n = walk(&f.sets[0], "10.5.0.100", got, 300, NULL);
	/* 254 addresses .1-.254 minus the gateway: each exactly once. */
	assert_int_equal(n, 253);
	assert_string_equal(got[0], "10.5.0.101");
	assert_string_equal(got[153], "10.5.0.254");
	assert_string_equal(got[154], "10.5.0.2");
	assert_string_equal(got[252], "10.5.0.100");
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(got[i], "10.5.0.1");
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(got[i], got[j]);
	}
}

static void test_iter_v6(void **state)
{
	static const char *const want[] = { "fd00::2", "fd00::3" };
	static const char *const wrap[] = { "fd00::ffff:ffff:ffff:ffff", "fd00::2" };
	struct fixture f;
	struct rv_err err;

	(void)state;
	one(&f, rng("fd00::/126", NULL, NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	/* IPv6: the all-ones address of the subnet is handed out. */
	expect_walk(&f.sets[0], NULL, want, 2);
	one(&f, rng("fd00::/64", "fd00::ffff:ffff:ffff:fffe", NULL, "fd00::ffff:ffff:ffff:fffe"));
	assert_int_equal(canon(&f, false, &err), 0);
	{
		static const char *const end[] = { "fd00::ffff:ffff:ffff:ffff" };

		expect_walk(&f.sets[0], NULL, end, 1);
	}
	one(&f, rng("fd00::/64", "fd00::2", NULL, NULL));
	assert_int_equal(canon(&f, false, &err), 0);
	{
		struct rv_ip l = ip("fd00::ffff:ffff:ffff:fffe"), c;
		struct ipam_iter it;
		char buf[IP_STRLEN];

		ipam_iter_init(&it, &f.sets[0], &l);
		for (size_t i = 0; i < 2; i++) {
			assert_true(ipam_iter_next(&it, &c, NULL));
			assert_string_equal(ip_fmt(&c, buf), wrap[i]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_v4),
		cmocka_unit_test(test_defaults_v6),
		cmocka_unit_test(test_explicit_fields_kept),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_start_end_outside),
		cmocka_unit_test(test_start_after_end_default_end),
		cmocka_unit_test(test_start_after_end_explicit),
		cmocka_unit_test(test_gateway_family),
		cmocka_unit_test(test_mixed_families),
		cmocka_unit_test(test_overlap_within_set),
		cmocka_unit_test(test_overlap_across_sets),
		cmocka_unit_test(test_error_names_the_set),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_one_per_family),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_iter_fresh),
		cmocka_unit_test(test_iter_after_last),
		cmocka_unit_test(test_iter_across_ranges),
		cmocka_unit_test(test_iter_gateway_in_middle),
		cmocka_unit_test(test_iter_only_gateway_terminates),
		cmocka_unit_test(test_iter_full_cycle_v4),
		cmocka_unit_test(test_iter_v6),
	};

	return cmocka_run_group_tests_name("ipam/range", tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Range validation and iteration, following host-local's allocator line by
 * line where behaviour is observable (defaults, error conditions, the order
 * of candidates), so a node can switch between the two plugins and see the
 * same addresses handed out. Two checks are rivet's own and only refuse
 * configs host-local would mishandle: rangeStart after rangeEnd, and a
 * gateway outside its subnet being used as a skip marker.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipam/range.h"

static bool range_contains(const struct ipam_range *r, const struct rv_ip *ip)
{
	if (ip->family != r->subnet.ip.family || !prefix_contains(&r->subnet, ip))
		return false;
	if (ip_is_set(&r->start) && ip_cmp(ip, &r->start) < 0)
		return false;
	if (ip_is_set(&r->end) && ip_cmp(ip, &r->end) > 0)
		return false;
	return true;
}

static bool ranges_overlap(const struct ipam_range *a, const struct ipam_range *b)
{
	if (a->start.family != b->start.family)
		return false;
	return range_contains(a, &b->start) || range_contains(a, &b->end) ||
	       range_contains(b, &a->start) || range_contains(b, &a->end);
}

static int range_canonicalize(struct ipam_range *r, const char *where, struct rv_err *err)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	unsigned bits = ip_bits(r->subnet.ip.family);

	if (r->subnet.len > bits - 2)
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "%s: network %s too small to allocate from (use at most /%u)",
			       where, prefix_fmt(&r->subnet, a), bits - 2);
	if (prefix_has_host_bits(&r->subnet)) {
		struct rv_prefix m = prefix_masked(&r->subnet);

		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "%s: network %s has host bits set; for a prefix length of %u the network address is %s",
			       where, prefix_fmt(&r->subnet, a), r->subnet.len, ip_fmt(&m.ip, b));
	}
	if (!ip_is_set(&r->gateway)) {
		r->gateway = r->subnet.ip;
		ip_add(&r->gateway, 1);
	} else if (r->gateway.family != r->subnet.ip.family) {
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: gateway %s is not of the subnet's family",
			       where, ip_fmt(&r->gateway, a));
	}
	/* Against the subnet alone: range_contains() would also compare with
	 * the other end, which is not validated yet. */
	if (ip_is_set(&r->start)) {
		if (!prefix_contains(&r->subnet, &r->start))
			return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: rangeStart %s not in network %s",
				       where, ip_fmt(&r->start, a), prefix_fmt(&r->subnet, b));
	} else {
		r->start = r->subnet.ip;
		ip_add(&r->start, 1);
	}
	if (ip_is_set(&r->end)) {
		if (!prefix_contains(&r->subnet, &r->end))
			return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: rangeEnd %s not in network %s",
				       where, ip_fmt(&r->end, a), prefix_fmt(&r->subnet, b));
	} else {
		r->end = prefix_last(&r->subnet);
		if (r->end.family == AF_INET)
			ip_add(&r->end, -1);
	}
	if (ip_cmp(&r->start, &r->end) > 0)
		return err_set(err, CNI_ERR_CONFIG, EINVAL, "%s: rangeStart %s is after rangeEnd %s",
			       where, ip_fmt(&r->start, a), ip_fmt(&r->end, b));
	return 0;
}

static int set_canonicalize(struct ipam_rangeset *s, size_t idx, struct rv_err *err)
{
	char where[48], a[IP_STRLEN], b[IP_STRLEN];
	int r;

	for (size_t i = 0; i < s->n; i++) {
		snprintf(where, sizeof(where), "invalid range set %zu", idx);
		if ((r = range_canonicalize(&s->r[i], where, err)) < 0)
			return r;
		if (s->r[i].subnet.ip.family != s->r[0].subnet.ip.family)
			return err_set(err, CNI_ERR_CONFIG, EINVAL,
				       "invalid range set %zu: mixed address families", idx);
	}
	for (size_t i = 0; i + 1 < s->n; i++)
		for (size_t j = i + 1; j < s->n; j++)
			if (ranges_overlap(&s->r[i], &s->r[j]))
				return err_set(err, CNI_ERR_CONFIG, EINVAL,
					       "invalid range set %zu: subnets %s and %s overlap", idx,
					       prefix_fmt(&s->r[i].subnet, a), prefix_fmt(&s->r[j].subnet, b));
	return 0;
}

static bool sets_overlap(const struct ipam_rangeset *a, const struct ipam_rangeset *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (ranges_overlap(&a->r[i], &b->r[j]))
				return true;
	return false;
}

int ipam_ranges_canonicalize(struct ipam_conf *c, bool one_per_family, struct rv_err *err)
{
	unsigned n4 = 0, n6 = 0;
	int r;

	for (size_t i = 0; i < c->n_sets; i++) {
		if (!c->sets[i].n)
			return err_set(err, CNI_ERR_CONFIG, EINVAL, "invalid range set %zu: empty range set", i);
		if ((r = set_canonicalize(&c->sets[i], i, err)) < 0)
			return r;
		if (ipam_rangeset_family(&c->sets[i]) == AF_INET)
			n4++;
		else
			n6++;
	}
	if (one_per_family && (n4 > 1 || n6 > 1))
		return err_set(err, CNI_ERR_CONFIG, EINVAL,
			       "CNI versions before 0.3.0 do not support more than 1 address per family; "
			       "use cniVersion 0.3.0 or later or one range set per family");
	for (size_t i = 0; i + 1 < c->n_sets; i++)
		for (size_t j = i + 1; j < c->n_sets; j++)
			if (sets_overlap(&c->sets[i], &c->sets[j]))
				return err_set(err, CNI_ERR_CONFIG, EINVAL,
					       "range set %zu overlaps with %zu", i, j);
	return 0;
}

bool ipam_rangeset_contains(const struct ipam_rangeset *set, const struct rv_ip *ip,
			    size_t *range_idx)
{
	for (size_t i = 0; i < set->n; i++) {
		if (range_contains(&set->r[i], ip)) {
			if (range_idx)
				*range_idx = i;
			return true;
		}
	}
	return false;
}

int ipam_rangeset_family(const struct ipam_rangeset *set)
{
	return set->n ? set->r[0].subnet.ip.family : 0;
}

char *ipam_rangeset_fmt(const struct ipam_rangeset *set, char *buf, size_t len)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < set->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s-%s", i ? "," : "",
					ip_fmt(&set->r[i].start, a), ip_fmt(&set->r[i].end, b));
	return buf;
}

uint64_t ipam_rangeset_capacity(const struct ipam_rangeset *set)
{
	uint64_t total = 0;

	for (size_t i = 0; i < set->n; i++) {
		const struct ipam_range *r = &set->r[i];
		uint64_t n = ip_span(&r->start, &r->end);

		if (n != UINT64_MAX && range_contains(r, &r->gateway))
			n--;
		if (n == UINT64_MAX || total + n < total)
			return UINT64_MAX;
		total += n;
	}
	return total;
}

void ipam_iter_init(struct ipam_iter *it, const struct ipam_rangeset *set,
		    const struct rv_ip *last)
{
	size_t ri;

	memset(it, 0, sizeof(*it));
	it->set = set;
	/* We advance on every step, so starting "at" the last reserved
	 * address makes the first candidate the one after it. */
	if (last && ip_is_set(last) && ipam_rangeset_contains(set, last, &ri)) {
		it->ri = ri;
		it->cur = *last;
	}
}

bool ipam_iter_next(struct ipam_iter *it, struct rv_ip *out, size_t *range_idx)
{
	const struct ipam_range *r;

	/* Bounded by the set's size: each pass either returns or steps. The
	 * gateway skip is a loop rather than host-local's recursion. */
	for (;;) {
		r = &it->set->r[it->ri];
		if (!ip_is_set(&it->cur)) {
			it->cur = r->start;
			it->start = it->cur;
		} else {
			if (ip_eq(&it->cur, &r->end)) {
				it->ri = (it->ri + 1) % it->set->n;
				r = &it->set->r[it->ri];
				it->cur = r->start;
			} else {
				ip_add(&it->cur, 1);
			}
			if (!ip_is_set(&it->start))
				it->start = it->cur;
			else if (ip_eq(&it->cur, &it->start))
				return false;
		}
		if (ip_eq(&it->cur, &r->gateway))
			continue;
		*out = it->cur;
		if (range_idx)
			*range_idx = it->ri;
		return true;
	}
}

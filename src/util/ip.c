// SPDX-License-Identifier: Apache-2.0
/*
 * Address arithmetic on byte arrays, so IPv4 and IPv6 share one code path.
 * The text form follows Go's net.IP.String(): RFC 5952 for IPv6, except that
 * Go never prints the "::a.b.c.d" form glibc's inet_ntop uses, so we format
 * IPv6 ourselves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ip.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int ip_parse(const char *s, struct rv_ip *out)
{
	struct rv_ip ip = { 0 };

	if (!s || !*s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, ip.a) == 1) {
		ip.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, ip.a) == 1) {
		ip.family = AF_INET6;
		if (!memcmp(ip.a, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
			memmove(ip.a, ip.a + 12, 4);
			memset(ip.a + 4, 0, 12);
			ip.family = AF_INET;
		}
	} else {
		return -EINVAL;
	}
	*out = ip;
	return 0;
}

static int parse_len(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	/* Go rejects leading zeros in prefix lengths; so do we. */
	if (s[0] == '0' && s[1])
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int prefix_parse_impl(const char *s, struct rv_prefix *out, bool need_len)
{
	char addr[IP_STRLEN];
	const char *slash;
	struct rv_prefix p;
	size_t n;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash) {
		if (need_len || ip_parse(s, &p.ip) < 0)
			return -EINVAL;
		p.len = ip_bits(p.ip.family);
		*out = p;
		return 0;
	}
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	/* An IPv4-mapped address with an IPv6 length would be ambiguous. */
	if (ip_parse(addr, &p.ip) < 0 || (p.ip.family == AF_INET && strchr(addr, ':')))
		return -EINVAL;
	if (parse_len(slash + 1, ip_bits(p.ip.family), &p.len) < 0)
		return -EINVAL;
	*out = p;
	return 0;
}

int prefix_parse(const char *s, struct rv_prefix *out)
{
	return prefix_parse_impl(s, out, true);
}

int prefix_parse_loose(const char *s, struct rv_prefix *out)
{
	return prefix_parse_impl(s, out, false);
}

char *ip_fmt(const struct rv_ip *ip, char *buf)
{
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	uint16_t w[8];
	char *p = buf;

	if (ip->family == AF_INET) {
		snprintf(buf, IP_STRLEN, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
		return buf;
	}
	if (ip->family != AF_INET6) {
		snprintf(buf, IP_STRLEN, "<nil>");
		return buf;
	}
	for (int i = 0; i < 8; i++) {
		w[i] = (uint16_t)(ip->a[2 * i] << 8 | ip->a[2 * i + 1]);
		if (w[i] == 0) {
			if (cur < 0) {
				cur = i;
				cur_len = 0;
			}
			if (++cur_len > best_len) {
				best = cur;
				best_len = cur_len;
			}
		} else {
			cur = -1;
		}
	}
	/* RFC 5952 4.2.2: a single zero group is not shortened. */
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			*p++ = ':';
		p += snprintf(p, (size_t)(buf + IP_STRLEN - p), "%x", w[i]);
	}
	*p = '\0';
	return buf;
}

char *prefix_fmt(const struct rv_prefix *p, char *buf)
{
	size_t n;

	ip_fmt(&p->ip, buf);
	n = strlen(buf);
	snprintf(buf + n, IP_STRLEN - n, "/%u", p->len);
	return buf;
}

int ip_cmp(const struct rv_ip *a, const struct rv_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, ip_bytes(a->family ? a->family : AF_INET6));
}

bool ip_eq(const struct rv_ip *a, const struct rv_ip *b)
{
	return ip_cmp(a, b) == 0;
}

bool ip_is_set(const struct rv_ip *ip)
{
	return ip->family == AF_INET || ip->family == AF_INET6;
}

void ip_add(struct rv_ip *ip, int64_t delta)
{
	unsigned n = ip_bytes(ip->family);
	uint64_t mag = delta < 0 ? (uint64_t)(-(delta + 1)) + 1 : (uint64_t)delta;
	unsigned carry = 0;

	for (int i = (int)n - 1; i >= 0; i--) {
		unsigned byte = (unsigned)(mag & 0xff);
		int v;

		mag >>= 8;
		if (delta >= 0) {
			v = ip->a[i] + byte + carry;
			carry = v > 0xff;
		} else {
			v = ip->a[i] - (int)byte - (int)carry;
			carry = v < 0;
		}
		ip->a[i] = (uint8_t)v;
		if (!mag && !carry)
			break;
	}
}

struct rv_prefix prefix_masked(const struct rv_prefix *p)
{
	struct rv_prefix m = *p;
	unsigned n = ip_bytes(p->ip.family);

	for (unsigned i = 0; i < n; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;

		if (bits < 8)
			m.ip.a[i] &= (uint8_t)(0xff << (8 - bits));
	}
	return m;
}

struct rv_ip prefix_last(const struct rv_prefix *p)
{
	struct rv_ip last = prefix_masked(p).ip;
	unsigned n = ip_bytes(p->ip.family);

	for (unsigned i = 0; i < n; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;

		if (bits < 8)
			last.a[i] |= (uint8_t)(0xff >> bits);
	}
	return last;
}

bool prefix_has_host_bits(const struct rv_prefix *p)
{
	struct rv_prefix m = prefix_masked(p);

	return !ip_eq(&m.ip, &p->ip);
}

bool prefix_contains(const struct rv_prefix *p, const struct rv_ip *ip)
{
	struct rv_prefix q = { .ip = *ip, .len = p->len }, net;

	if (ip->family != p->ip.family)
		return false;
	q = prefix_masked(&q);
	net = prefix_masked(p);
	return ip_eq(&q.ip, &net.ip);
}

bool prefix_overlaps(const struct rv_prefix *a, const struct rv_prefix *b)
{
	if (a->ip.family != b->ip.family)
		return false;
	return prefix_contains(a, &b->ip) || prefix_contains(b, &a->ip);
}

uint64_t ip_span(const struct rv_ip *first, const struct rv_ip *last)
{
	unsigned n = ip_bytes(first->family);
	uint64_t hi = 0, lo = 0, borrow = 0;

	if (ip_cmp(first, last) > 0)
		return 0;
	/* 128-bit subtraction last - first on two 64-bit halves. */
	for (int half = 1; half >= 0; half--) {
		uint64_t x = 0, y = 0;
		unsigned start = n == 4 ? (half ? 0 : 4) : (unsigned)(8 * half);

		if (n == 4 && !half)
			continue;
		for (unsigned i = 0; i < (n == 4 ? 4u : 8u); i++) {
			x = x << 8 | last->a[start + i];
			y = y << 8 | first->a[start + i];
		}
		if (half) {
			lo = x - y;
			borrow = x < y;
		} else {
			hi = x - y - borrow;
		}
	}
	if (hi || lo == UINT64_MAX)
		return UINT64_MAX;
	return lo + 1;
}

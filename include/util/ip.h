/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP addresses and prefixes as plain values, with the arithmetic the IPAM
 * ranges need and a formatter that prints exactly what Go's net.IP.String()
 * prints, because host-local names its reservation files that way and the
 * two plugins must agree on every name.
 *
 * No allocation, no I/O, no netlink: safe for every layer.
 */
#ifndef RIVET_UTIL_IP_H
#define RIVET_UTIL_IP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Long enough for any IPv6 text plus "/128". */
#define IP_STRLEN 48

struct rv_ip {
	int family;		/* AF_INET or AF_INET6; 0 means "unset" */
	uint8_t a[16];		/* network order; IPv4 uses a[0..3] */
};

struct rv_prefix {
	struct rv_ip ip;
	unsigned len;
};

static inline unsigned ip_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

static inline unsigned ip_bits(int family)
{
	return ip_bytes(family) * 8;
}

/* Parse an address without a prefix. Returns 0 or -EINVAL. Dotted IPv4 and
 * IPv4-mapped IPv6 text both give an AF_INET value, as Go's To4() does. */
int ip_parse(const char *s, struct rv_ip *out);

/* Parse "addr/len". The address keeps its host bits; see prefix_masked(). */
int prefix_parse(const char *s, struct rv_prefix *out);

/* Parse "addr" or "addr/len"; without a length, len is the full width. */
int prefix_parse_loose(const char *s, struct rv_prefix *out);

/* Format into @buf (at least IP_STRLEN bytes) and return @buf. */
char *ip_fmt(const struct rv_ip *ip, char *buf);
char *prefix_fmt(const struct rv_prefix *p, char *buf);

int ip_cmp(const struct rv_ip *a, const struct rv_ip *b);
bool ip_eq(const struct rv_ip *a, const struct rv_ip *b);
bool ip_is_set(const struct rv_ip *ip);

/* Add @delta (may be negative) with wrap-around inside the family. */
void ip_add(struct rv_ip *ip, int64_t delta);

/* The prefix with host bits cleared, and its last address. */
struct rv_prefix prefix_masked(const struct rv_prefix *p);
struct rv_ip prefix_last(const struct rv_prefix *p);

bool prefix_has_host_bits(const struct rv_prefix *p);
bool prefix_contains(const struct rv_prefix *p, const struct rv_ip *ip);
bool prefix_overlaps(const struct rv_prefix *a, const struct rv_prefix *b);

/* Number of addresses from @first to @last inclusive, saturating at
 * UINT64_MAX for huge IPv6 ranges. */
uint64_t ip_span(const struct rv_ip *first, const struct rv_ip *last);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error vocabulary that crosses every layer.
 *
 * A function that can fail returns 0 or a negative errno and, when the caller
 * passed a struct rv_err, fills it with the CNI error code that main() will
 * print, a message that tells an operator what to fix, and optional details
 * (the kernel's own words, strerror text). Helpers never print: main() writes
 * the one error object to stdout.
 */
#ifndef RIVET_UTIL_ERR_H
#define RIVET_UTIL_ERR_H

#include <stdarg.h>

/* Codes 1-99 are the spec's (SPEC.md "Error"); 100 and up are rivet's own and
 * documented in the README. Keep the two tables in step. */
enum cni_code {
	CNI_OK = 0,
	CNI_ERR_VERSION = 1,		/* incompatible CNI version */
	CNI_ERR_UNSUPPORTED_FIELD = 2,	/* unsupported field in the config */
	CNI_ERR_UNKNOWN_CONTAINER = 3,	/* container unknown or gone: no DEL needed */
	CNI_ERR_ENV = 4,		/* invalid or missing CNI_* variable */
	CNI_ERR_IO = 5,			/* I/O failure */
	CNI_ERR_DECODE = 6,		/* stdin is not valid JSON */
	CNI_ERR_CONFIG = 7,		/* invalid network configuration */
	CNI_ERR_TRY_AGAIN = 11,		/* transient: retry later */
	CNI_ERR_NOT_AVAILABLE = 50,	/* STATUS: ADD would fail */
	CNI_ERR_LIMITED = 51,		/* STATUS: and existing pods are affected */

	RIVET_ERR_INTERNAL = 100,	/* out of memory or a bug */
	RIVET_ERR_NETLINK = 101,	/* the kernel refused a change */
	RIVET_ERR_RANGE_EXHAUSTED = 102,/* no free address in a range set */
	RIVET_ERR_ADDR_TAKEN = 103,	/* a requested address is held by another */
	RIVET_ERR_IFNAME_TAKEN = 104,	/* CNI_IFNAME already exists in the pod */
	RIVET_ERR_ROUTE_CONFLICT = 105,	/* host route for the pod IP points elsewhere */
	RIVET_ERR_HOSTVETH_TAKEN = 106,	/* host veth name belongs to someone else */
	RIVET_ERR_DELEGATE = 107,	/* the delegated IPAM plugin failed */
	RIVET_ERR_CHECK = 108,		/* CHECK found a difference */
	RIVET_ERR_STORE = 109,		/* the IPAM store is damaged or unusable */
	RIVET_ERR_MASQ = 110,		/* nftables refused the masquerade change */
};

struct rv_err {
	unsigned code;		/* enum cni_code; 0 while nothing failed */
	char msg[512];
	char details[512];
};

/* Fill @e (may be NULL) and return -errnum, or -EINVAL when errnum is 0, so
 * the usual form is `return err_set(err, CNI_ERR_CONFIG, EINVAL, "...")`. */
int err_set(struct rv_err *e, unsigned code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int err_vset(struct rv_err *e, unsigned code, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Replace the details of an error that is already set. */
void err_details(struct rv_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Put "context: " in front of the message of an error that is already set,
 * so an outer layer can say where a lower-layer failure happened. */
void err_prefix(struct rv_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct rv_err *e);

#endif

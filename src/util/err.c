// SPDX-License-Identifier: Apache-2.0
/*
 * Error records. Messages are truncated rather than allocated so that an
 * out-of-memory failure can still be reported.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

int err_vset(struct rv_err *e, unsigned code, int errnum, const char *fmt, va_list ap)
{
	if (errnum < 0)
		errnum = -errnum;
	if (!errnum)
		errnum = EINVAL;
	if (!e)
		return -errnum;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->details[0] = '\0';
	return -errnum;
}

int err_set(struct rv_err *e, unsigned code, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_vset(e, code, errnum, fmt, ap);
	va_end(ap);
	return r;
}

void err_details(struct rv_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
}

void err_prefix(struct rv_err *e, const char *fmt, ...)
{
	char old[sizeof(e->msg)];
	size_t n, len;
	va_list ap;

	if (!e || !e->code)
		return;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (n + 3 >= sizeof(e->msg))
		return;
	memcpy(e->msg + n, ": ", 2);
	n += 2;
	/* A long message loses its tail, never the context in front. */
	len = strnlen(old, sizeof(e->msg) - n - 1);
	memcpy(e->msg + n, old, len);
	e->msg[n + len] = '\0';
}

void err_clear(struct rv_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
	e->details[0] = '\0';
}

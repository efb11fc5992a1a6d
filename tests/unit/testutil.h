/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the cmocka unit tests: assertions that print both sides
 * when a text does not contain what it should, temporary directories that are
 * removed without ever following a symlink out of them, and small file
 * readers so a test can compare exact bytes on disk.
 *
 * Every helper is static: each test binary is one translation unit, and the
 * Makefile's -Wmissing-prototypes would reject anything else.
 */
#ifndef RIVET_TESTS_UNIT_TESTUTIL_H
#define RIVET_TESTS_UNIT_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TU_UNUSED __attribute__((unused))

/*
 * A test that proves an open bug in rivet. It is skipped (and says why) so
 * that `make unit` stays usable for everyone while the bug is open; run
 * `RIVET_UNIT_BUGS=1 make unit` to see it fail. The test body below the
 * marker is the behaviour rivet should have. Remove the marker with the fix.
 */
#define BUG(desc)                                                              \
	do {                                                                   \
		if (!getenv("RIVET_UNIT_BUGS")) {                              \
			print_message("[ BUG      ] %s\n", desc);              \
			skip();                                                \
		}                                                              \
	} while (0)

/* Text assertions that show what was there, not just "false". */
#define assert_contains(hay, needle)                                           \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (!h_ || !strstr(h_, n_))                                    \
			fail_msg("expected \"%s\" to contain \"%s\"",          \
				 h_ ? h_ : "(null)", n_);                      \
	} while (0)

#define assert_not_contains(hay, needle)                                       \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (h_ && strstr(h_, n_))                                      \
			fail_msg("expected \"%s\" not to contain \"%s\"", h_,  \
				 n_);                                          \
	} while (0)

/* An rv_err with exactly this code and a message containing @frag. */
#define assert_err(e, want_code, frag)                                         \
	do {                                                                   \
		if ((e).code != (unsigned)(want_code))                         \
			fail_msg("error code %u, want %u (msg \"%s\")",        \
				 (e).code, (unsigned)(want_code), (e).msg);    \
		assert_contains((e).msg, (frag));                              \
	} while (0)

TU_UNUSED static int tu_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* mkdtemp under /tmp; the caller owns the returned string. */
TU_UNUSED static char *tu_mkdtemp(void)
{
	char *d = strdup("/tmp/rivet-unit-XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

/* Remove a tree made by tu_mkdtemp. FTW_PHYS: symlinks are removed, never
 * followed, so a test that plants one cannot make this delete elsewhere. */
TU_UNUSED static void tu_rmtree(char *dir)
{
	if (!dir)
		return;
	if (strncmp(dir, "/tmp/rivet-unit-", 16) == 0)
		nftw(dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* The whole file as a NUL-terminated string (length in *len if non-NULL),
 * or NULL when it cannot be opened. Does not follow a final symlink. */
TU_UNUSED static char *tu_read(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return NULL;
	for (;;) {
		if (n + 1024 + 1 > cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf)
		buf = calloc(1, 1);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static char *tu_readf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
TU_UNUSED static char *tu_readf(const char *fmt, ...)
{
	char path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return tu_read(path, NULL);
}

/* Write @content to @path (created 0644, truncated). */
TU_UNUSED static void tu_write(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	size_t len = strlen(content);

	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
}

/* Does @path exist (without following a final symlink)? */
TU_UNUSED static int tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static char *tu_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
TU_UNUSED static char *tu_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

#endif

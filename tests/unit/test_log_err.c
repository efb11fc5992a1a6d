// SPDX-License-Identifier: Apache-2.0
/*
 * util/err and util/log: the error record every layer fills, and the log
 * that must never touch stdout.
 *
 * err: err_set returns -errno (EINVAL for 0, the sign normalised), fills
 * code and message and clears stale details; a NULL record is allowed;
 * err_prefix puts context in front and, when the message is long, loses the
 * tail rather than the context; err_clear empties it.
 *
 * log: with logFile each line is "<RFC 3339 UTC with microseconds> <level>
 * <command> <id>/<ifname> pid=<pid>: <message>", one write per line, the
 * directory made if missing; the level threshold holds; without a file only
 * warnings and errors are enabled and they go to stderr; nothing ever goes to
 * stdout; control characters in a message cannot start a forged line; an
 * overlong line is cut, still ending in a newline; a file past logMaxSize is
 * renamed to "<file>.1" when the next process opens it; and a symlink in the
 * log file's place is not followed.
 */
#include "testutil.h"

#include <regex.h>

#include "util/err.h"
#include "util/log.h"

/* ---- err ------------------------------------------------------------------- */

static void test_err_set(void **state)
{
	struct rv_err e = { 0 };

	(void)state;
	assert_int_equal(err_set(&e, CNI_ERR_CONFIG, ENOENT, "missing %s", "x"), -ENOENT);
	assert_int_equal(e.code, CNI_ERR_CONFIG);
	assert_string_equal(e.msg, "missing x");
	/* 0 and negative errnos are normalised. */
	assert_int_equal(err_set(&e, CNI_ERR_IO, 0, "m"), -EINVAL);
	assert_int_equal(err_set(&e, CNI_ERR_IO, -EPERM, "m"), -EPERM);
	/* A NULL record: only the return value. */
	assert_int_equal(err_set(NULL, CNI_ERR_IO, EIO, "m"), -EIO);
	err_details(NULL, "x");
	err_prefix(NULL, "x");
	err_clear(NULL);
}

static void test_err_details_cleared_by_set(void **state)
{
	struct rv_err e = { 0 };

	(void)state;
	err_set(&e, CNI_ERR_IO, EIO, "first");
	err_details(&e, "kernel said %d", 5);
	assert_string_equal(e.details, "kernel said 5");
	/* A new error never carries the old one's details. */
	err_set(&e, CNI_ERR_CONFIG, EINVAL, "second");
	assert_string_equal(e.details, "");
	err_clear(&e);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");
}

static void test_err_prefix(void **state)
{
	struct rv_err e = { 0 };
	char long_msg[600];

	(void)state;
	/* Nothing set: nothing to prefix. */
	err_prefix(&e, "context");
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");

	err_set(&e, RIVET_ERR_RANGE_EXHAUSTED, ENOSPC, "no IP addresses available");
	err_prefix(&e, "failed to allocate for range %d", 0);
	assert_string_equal(e.msg, "failed to allocate for range 0: no IP addresses available");
	assert_int_equal(e.code, RIVET_ERR_RANGE_EXHAUSTED);

	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	err_set(&e, CNI_ERR_IO, EIO, "%s", long_msg);
	err_prefix(&e, "ctx");
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_memory_equal(e.msg, "ctx: xxx", 8);
}

/* ---- log ------------------------------------------------------------------- */

static int log_setup(void **state)
{
	*state = tu_mkdtemp();
	return 0;
}

static int log_teardown(void **state)
{
	log_close();
	log_configure(NULL, RV_LOG_WARN, 0);
	log_set_context(NULL, NULL, NULL);
	tu_rmtree(*state);
	return 0;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("\"%s\" does not match /%s/", text, pattern);
	regfree(&re);
}

static void test_log_line_format(void **state)
{
	char path[512], pattern[256], *text;

	tu_path(path, sizeof(path), "%s/var/log/rivet/rivet.log", (char *)*state);
	/* The directory does not exist yet: a node's first run makes it. */
	log_configure(path, RV_LOG_INFO, 0);
	log_set_context("ADD", "0123abcd", "eth0");
	log_info("reserved %s", "10.1.0.5");
	log_debug("not at info level");
	log_error("and an error");
	log_close();
	text = tu_read(path, NULL);
	assert_non_null(text);
	snprintf(pattern, sizeof(pattern),
		 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z info  ADD 0123abcd/eth0 "
		 "pid=%d: reserved 10\\.1\\.0\\.5\n"
		 "[0-9T:.Z-]+ error ADD 0123abcd/eth0 pid=%d: and an error\n$",
		 (int)getpid(), (int)getpid());
	assert_matches(text, pattern);
	free(text);
}

static void test_log_without_context(void **state)
{
	char path[512], *text;

	tu_path(path, sizeof(path), "%s/rivet.log", (char *)*state);
	log_configure(path, RV_LOG_DEBUG, 0);
	log_set_context(NULL, "", NULL);
	log_debug("x");
	log_close();
	text = tu_read(path, NULL);
	assert_contains(text, " debug - -/- pid=");
	free(text);
}

static void test_log_levels_and_stderr(void **state)
{
	(void)state;
	log_configure(NULL, RV_LOG_DEBUG, 0);
	/* No file: stderr, which the runtime keeps, gets the level asked for
	 * (RIVET_LOG_LEVEL=debug must show each call's details somewhere). */
	assert_true(log_enabled(RV_LOG_ERROR));
	assert_true(log_enabled(RV_LOG_WARN));
	assert_true(log_enabled(RV_LOG_INFO));
	assert_true(log_enabled(RV_LOG_DEBUG));
	log_configure(NULL, RV_LOG_WARN, 0);
	assert_true(log_enabled(RV_LOG_WARN));
	assert_false(log_enabled(RV_LOG_INFO));
	log_configure(NULL, RV_LOG_ERROR, 0);
	assert_false(log_enabled(RV_LOG_WARN));
	log_configure("/nonexistent/x.log", RV_LOG_INFO, 0);
	assert_true(log_enabled(RV_LOG_INFO));
	assert_false(log_enabled(RV_LOG_DEBUG));
	{
		enum log_level l;

		assert_int_equal(log_level_parse("Warning", &l), 0);
		assert_int_equal(l, RV_LOG_WARN);
		assert_int_equal(log_level_parse("trace", &l), -EINVAL);
		assert_string_equal(log_level_name(RV_LOG_INFO), "info");
		assert_string_equal(log_level_name((enum log_level)9), "?");
	}
}

/* Point @fd at a fresh pipe; returns the saved original. */
static int redirect(int fd, int p[2])
{
	int saved;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	saved = dup(fd);
	assert_int_equal(dup2(p[1], fd), fd);
	close(p[1]);
	return saved;
}

/* Restore @fd and return what was written to it (caller frees). */
static char *restore(int fd, int saved, int p[2])
{
	char *buf = calloc(1, 8192);
	ssize_t n;

	assert_non_null(buf);
	dup2(saved, fd);
	close(saved);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	n = read(p[0], buf, 8191);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_log_never_stdout(void **state)
{
	int out[2], err[2], saved_out, saved_err;
	char *o, *e;

	(void)state;
	/* Whatever happens to the log, stdout carries only the result. */
	saved_out = redirect(STDOUT_FILENO, out);
	saved_err = redirect(STDERR_FILENO, err);
	log_configure(NULL, RV_LOG_WARN, 0);
	log_error("to stderr");
	log_info("not enabled at warn");
	log_configure("/proc/version/x.log", RV_LOG_DEBUG, 0);	/* cannot be opened */
	log_error("file fails, falls back");
	log_close();
	e = restore(STDERR_FILENO, saved_err, err);
	o = restore(STDOUT_FILENO, saved_out, out);
	assert_string_equal(o, "");
	assert_contains(e, "error - -/- pid=");
	assert_contains(e, ": to stderr\n");
	assert_not_contains(e, "not enabled");
	/* Said once, then the line itself still reaches the journal. */
	assert_contains(e, "rivet: cannot open log file /proc/version/x.log: Not a directory\n");
	assert_contains(e, ": file fails, falls back\n");
	free(o);
	free(e);
}

static void test_log_control_characters(void **state)
{
	char path[512], *text;

	tu_path(path, sizeof(path), "%s/rivet.log", (char *)*state);
	log_configure(path, RV_LOG_INFO, 0);
	log_set_context("DEL", "c1", "eth0");
	/* A config value with a newline must not forge a second line. */
	log_warn("name \"%s\"", "evil\n2026-01-01T00:00:00.000000Z error ADD x/y pid=1: forged\r\x1b[2J\x7f");
	log_close();
	text = tu_read(path, NULL);
	assert_non_null(text);
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
	assert_contains(text, "evil?2026-01-01");
	assert_contains(text, "forged??[2J?\"");
	free(text);
}

static void test_log_long_line(void **state)
{
	char path[512], *text, *big = malloc(5000);
	size_t len;

	assert_non_null(big);
	memset(big, 'y', 4999);
	big[4999] = '\0';
	tu_path(path, sizeof(path), "%s/rivet.log", (char *)*state);
	log_configure(path, RV_LOG_INFO, 0);
	log_info("%s", big);
	log_info("next");
	log_close();
	text = tu_read(path, &len);
	/* Cut, but every line still ends with its newline. */
	assert_non_null(strstr(text, "y\n"));
	assert_contains(text, ": next\n");
	assert_true(len < 2048 + 200);
	free(text);
	free(big);
}

static void test_log_rotation(void **state)
{
	char path[512], old[520], *a, *b;

	tu_path(path, sizeof(path), "%s/rivet.log", (char *)*state);
	tu_path(old, sizeof(old), "%s.1", path);
	log_configure(path, RV_LOG_INFO, 200);
	for (int i = 0; i < 5; i++)
		log_info("line %d of the first process", i);
	log_close();
	/* The next process finds the file past 200 bytes and moves it. */
	log_configure(path, RV_LOG_INFO, 200);
	log_info("first line of the second process");
	log_close();
	a = tu_read(old, NULL);
	b = tu_read(path, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_contains(a, "line 4 of the first process");
	assert_not_contains(a, "second process");
	assert_contains(b, "first line of the second process");
	assert_not_contains(b, "first process\n");
	free(a);
	free(b);
}

static void test_log_symlink_not_followed(void **state)
{
	char path[512], victim[512], *v;

	tu_path(victim, sizeof(victim), "%s/victim", (char *)*state);
	tu_write(victim, "precious\n");
	tu_path(path, sizeof(path), "%s/rivet.log", (char *)*state);
	assert_int_equal(symlink("victim", path), 0);
	{
		int err[2], saved = redirect(STDERR_FILENO, err);
		char *e;

		log_configure(path, RV_LOG_INFO, 0);
		log_error("must not land in the victim");
		log_close();
		e = restore(STDERR_FILENO, saved, err);
		/* It goes to stderr instead, with the reason. */
		assert_contains(e, "Too many levels of symbolic links");
		assert_contains(e, "must not land in the victim");
		free(e);
	}
	v = tu_read(victim, NULL);
	assert_string_equal(v, "precious\n");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set),
		cmocka_unit_test(test_err_details_cleared_by_set),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test_setup_teardown(test_log_line_format, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_without_context, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_levels_and_stderr, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_never_stdout, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_control_characters, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_long_line, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_rotation, log_setup, log_teardown),
		cmocka_unit_test_setup_teardown(test_log_symlink_not_followed, log_setup, log_teardown),
	};

	return cmocka_run_group_tests_name("util/err+log", tests, NULL, NULL);
}

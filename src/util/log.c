// SPDX-License-Identifier: Apache-2.0
/*
 * The log file is shared by every rivet process on the node, so each line is
 * written with one write(2) on an O_APPEND descriptor (the kernel keeps such
 * writes whole on local filesystems), and rotation happens under an flock on
 * the file so that two processes never both rename it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

static struct {
	enum log_level level;
	char file[4096];
	size_t max_size;
	int fd;			/* -1: not opened yet; -2: opening failed */
	char command[16];
	char container_id[80];
	char ifname[20];
} L = {
	.level = RV_LOG_WARN,
	.max_size = LOG_DEFAULT_MAX_SIZE,
	.fd = -1,
};

static const char *const names[] = { "error", "warn", "info", "debug" };

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(s, "warning")) {
		*out = RV_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < sizeof(names) / sizeof(names[0]) ? names[l] : "?";
}

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

void log_set_context(const char *command, const char *container_id, const char *ifname)
{
	copy(L.command, sizeof(L.command), command);
	copy(L.container_id, sizeof(L.container_id), container_id);
	copy(L.ifname, sizeof(L.ifname), ifname);
}

void log_configure(const char *file, enum log_level level, size_t max_size)
{
	log_close();
	copy(L.file, sizeof(L.file), file);
	L.level = level;
	L.max_size = max_size ? max_size : LOG_DEFAULT_MAX_SIZE;
}

bool log_enabled(enum log_level l)
{
	return l <= L.level;
}

static int open_log(void)
{
	int fd = open(L.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	char dir[sizeof(L.file)], *slash;

	/* A node's first rivet finds no /var/log/rivet: make it. */
	if (fd < 0 && errno == ENOENT) {
		snprintf(dir, sizeof(dir), "%s", L.file);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (fs_mkdir_p(dir, 0755) == 0)
				fd = open(L.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		}
	}
	return fd;
}

/* Rename a full file away. Only the process that holds the lock and still
 * sees the oversized file renames it; the others reopen. */
static void rotate_if_full(void)
{
	char old[sizeof(L.file) + 2];
	struct stat st, cur;

	if (fstat(L.fd, &st) < 0 || (size_t)st.st_size < L.max_size)
		return;
	if (flock(L.fd, LOCK_EX) < 0)
		return;
	if (stat(L.file, &cur) == 0 && cur.st_ino == st.st_ino && cur.st_dev == st.st_dev) {
		snprintf(old, sizeof(old), "%s.1", L.file);
		(void)rename(L.file, old);
	}
	flock(L.fd, LOCK_UN);
	close(L.fd);
	L.fd = open_log();
	if (L.fd < 0)
		L.fd = -2;
}

static int log_fd(void)
{
	if (!L.file[0])
		return STDERR_FILENO;
	if (L.fd == -1) {
		L.fd = open_log();
		if (L.fd < 0) {
			/* Tell the journal once; the result still goes to stdout. */
			dprintf(STDERR_FILENO, "rivet: cannot open log file %s: %s\n",
				L.file, strerror(errno));
			L.fd = -2;
		} else {
			rotate_if_full();
		}
	}
	return L.fd >= 0 ? L.fd : STDERR_FILENO;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int fd;

	if (!log_enabled(l))
		return;
	fd = log_fd();
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	/* A daemon (rivetd) names no attachment: just its name and pid. */
	if (!L.container_id[0] && !L.ifname[0] && L.command[0])
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ldZ %-5s %s pid=%d: ",
				      ts.tv_nsec / 1000, names[l], L.command, (int)getpid());
	else
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ldZ %-5s %s %s/%s pid=%d: ",
				      ts.tv_nsec / 1000, names[l], L.command[0] ? L.command : "-",
				      L.container_id[0] ? L.container_id : "-", L.ifname[0] ? L.ifname : "-",
				      (int)getpid());
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* Lines quote input (container IDs, config values): a control
	 * character in it must not start a forged line of its own. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	(void)!write(fd, line, n);
}

void log_close(void)
{
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
}

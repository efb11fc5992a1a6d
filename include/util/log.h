/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging for a process that lives for a millisecond and whose stdout belongs
 * to the CNI result.
 *
 * Lines go to the file named by the config's logFile (opened on the first
 * line at or above the threshold, so a quiet run costs nothing), or, with no
 * file, to stderr, which the runtime keeps in its journal (a daemon's, such
 * as rivetd's, in its supervisor's). Never stdout. Each line carries the
 * time, level and command, and the container ID and ifname of a CNI call
 * that has them (a daemon's lines carry its name and pid instead). The file
 * is bounded: past logMaxSize it is renamed to "<file>.1" (one generation
 * kept) and a new one started.
 */
#ifndef RIVET_UTIL_LOG_H
#define RIVET_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	RV_LOG_ERROR = 0,
	RV_LOG_WARN,
	RV_LOG_INFO,
	RV_LOG_DEBUG,
};

#define LOG_DEFAULT_MAX_SIZE (10u << 20)

/* Parse "error", "warn"/"warning", "info", "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

/* Tag every later line with the invocation. The strings are copied. */
void log_set_context(const char *command, const char *container_id, const char *ifname);

/* Point the log at @file (NULL: stderr) with @level; may be called again
 * once the config has been read. */
void log_configure(const char *file, enum log_level level, size_t max_size);

bool log_enabled(enum log_level l);

void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(RV_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(RV_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(RV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(RV_LOG_DEBUG)) log_msg(RV_LOG_DEBUG, __VA_ARGS__); } while (0)

/* Close the file; the process is about to exit. */
void log_close(void);

#endif

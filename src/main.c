// SPDX-License-Identifier: Apache-2.0
/*
 * rivet's entry point: read CNI_COMMAND and stdin, dispatch, and print
 * exactly one thing on stdout: the result, the VERSION reply, or one error
 * object. Nothing else in rivet writes to stdout.
 *
 * Run by hand (no CNI_COMMAND), rivet prints what it is on stderr, or runs
 * an operator command given on argv.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cni/config.h"
#include "cni/env.h"
#include "cni/result.h"
#include "cni/version.h"
#include "util/err.h"
#include "util/log.h"

/* "0.2.0 (a326ad9)": the Makefile's, from the VERSION file and git. */
#ifndef RIVET_VERSION
#error "RIVET_VERSION is set by the Makefile"
#endif

static const char *const command_names[] = {
	[CNI_CMD_NONE] = "-", [CNI_CMD_ADD] = "ADD", [CNI_CMD_DEL] = "DEL",
	[CNI_CMD_CHECK] = "CHECK", [CNI_CMD_VERSION] = "VERSION",
	[CNI_CMD_STATUS] = "STATUS", [CNI_CMD_GC] = "GC",
};

/* The one place that writes stdout. A short write cannot be reported to
 * anyone but the runtime, which will see truncated JSON. */
static void emit(const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

static int fail(const struct rv_err *err, const char *version)
{
	char *txt = cni_error_encode(err, version);

	if (txt) {
		emit(txt);
		free(txt);
	} else {
		emit("{\"code\":100,\"msg\":\"out of memory\"}\n");
	}
	log_error("code %u: %s%s%s", err->code, err->msg, err->details[0] ? ": " : "", err->details);
	log_close();
	return 1;
}

static int read_stdin(char **out, size_t *len, struct rv_err *err)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *grown;

	if (!buf)
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			if (cap > CNI_CONFIG_MAX) {
				free(buf);
				return err_set(err, CNI_ERR_DECODE, EFBIG,
					       "the network configuration on stdin is larger than %u bytes",
					       CNI_CONFIG_MAX);
			}
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
			}
			buf = grown;
		}
		r = read(STDIN_FILENO, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			return err_set(err, CNI_ERR_IO, e, "cannot read the network configuration from stdin: %s",
				       strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int about(void)
{
	fprintf(stderr, "CNI rivet plugin %s\nCNI protocol versions supported: %s\n",
		RIVET_VERSION, "0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
	return 0;
}

static int version_reply(const char *text, size_t len)
{
	char *version = NULL, *reply;
	enum cni_version v;

	/* Echo the caller's version when it is one we speak (the spec's rule);
	 * libcni sends {"cniVersion":"1.1.0"}, old ones send nothing. */
	if (len)
		(void)cni_config_peek_version(text, len, &version);
	if (version && cni_version_parse(version, &v, NULL) < 0) {
		free(version);
		version = NULL;
	}
	reply = cni_version_reply_encode(version);
	free(version);
	if (!reply)
		return 1;
	emit(reply);
	free(reply);
	return 0;
}

static void warn_unknown_keys(const struct netconf *conf)
{
	for (size_t i = 0; i < conf->warnings.n; i++)
		log_warn("config: %s", conf->warnings.v[i]);
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	struct rv_err err = { 0 };
	struct netconf conf = { 0 };
	struct cni_result res = { 0 };
	struct cni_env env;
	struct timespec t0;
	char *text = NULL, *out = NULL;
	size_t len = 0;
	int r, status = 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cni_env_command(&env, &err) < 0)
		return fail(&err, NULL);
	if (env.command == CNI_CMD_NONE) {
		if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
			fprintf(stdout, "rivet %s\n", RIVET_VERSION);
			return 0;
		}
		if (argc > 1 && !strcmp(argv[1], "validate"))
			return cmd_validate(argc, argv);
		if (argc > 1)
			return cmd_admin(argc, argv);
		return about();
	}
	log_set_context(command_names[env.command], getenv("CNI_CONTAINERID"), getenv("CNI_IFNAME"));

	if (read_stdin(&text, &len, &err) < 0)
		return fail(&err, NULL);
	if (env.command == CNI_CMD_VERSION) {
		status = version_reply(text, len);
		free(text);
		return status;
	}
	if (cni_env_read(&env, &err) < 0 || cni_config_parse(text, len, &env, &conf, &err) < 0) {
		char *version = NULL;

		/* A misspelled key is often why (to stderr: the log file's
		 * name may be what is wrong). */
		warn_unknown_keys(&conf);
		/* Answer in the caller's version when it is readable at all. */
		(void)cni_config_peek_version(text, len, &version);
		status = fail(&err, version);
		free(version);
		goto out;
	}
	conf.raw = text;
	conf.raw_len = len;
	if (getenv("RIVET_LOG_LEVEL") && log_level_parse(getenv("RIVET_LOG_LEVEL"), &conf.log_level) == 0)
		conf.has_log_level = true;
	/* Without a file the default is warnings and errors only: the journal
	 * needs no line per call. A level asked for is honoured either way. */
	log_configure(conf.log_file,
		      conf.has_log_level ? conf.log_level : conf.log_file ? RV_LOG_INFO : RV_LOG_WARN,
		      conf.log_max_size);
	warn_unknown_keys(&conf);
	log_debug("network %s, cniVersion %s, netns %s", conf.name,
		  cni_version_name(conf.version), env.netns ? env.netns : "-");

	switch (env.command) {
	case CNI_CMD_ADD:
		r = cmd_add(&env, &conf, &res, &err);
		if (r == 0 && !(out = cni_result_encode(&res, conf.version, &err)))
			r = -EINVAL;
		break;
	case CNI_CMD_DEL:
		r = cmd_del(&env, &conf, &err);
		break;
	case CNI_CMD_CHECK:
		r = cmd_check(&env, &conf, &err);
		break;
	case CNI_CMD_STATUS:
		r = cmd_status(&env, &conf, &err);
		break;
	case CNI_CMD_GC:
		r = cmd_gc(&env, &conf, &err);
		break;
	default:
		r = err_set(&err, CNI_ERR_ENV, EINVAL, "unknown CNI_COMMAND");
		break;
	}
	if (r < 0) {
		status = fail(&err, conf.cni_version);
		goto out;
	}
	if (out)
		emit(out);
	log_info("ok network=%s netns=%s in %.3f ms", conf.name, env.netns ? env.netns : "-",
		 elapsed_ms(&t0));
	status = 0;
out:
	log_close();
	free(out);
	cni_result_done(&res);
	netconf_done(&conf);
	free(text);
	return status;
}

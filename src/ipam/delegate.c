// SPDX-License-Identifier: Apache-2.0
/*
 * Runs a delegated IPAM plugin with posix_spawn. stdin and stdout are pipes
 * served with poll(2), so a plugin that writes before it has read all of its
 * input cannot deadlock us. A plugin that stops reading its input (it exited,
 * or closed stdin) makes the write fail with EPIPE, not kill rivet with
 * SIGPIPE, and its output is still read; one that prints more than rivet
 * takes is killed before it is waited for, since it would otherwise wait on
 * the full pipe while rivet waits for it to exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipam/delegate.h"

extern char **environ;

#define DELEGATE_OUT_MAX (4u << 20)

static int find_plugin(const char *type, const char *cni_path, char *out, size_t len)
{
	const char *p = cni_path;

	while (p && *p) {
		const char *end = strchrnul(p, ':');
		struct stat st;

		if (end > p && (size_t)snprintf(out, len, "%.*s/%s", (int)(end - p), p, type) < len &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}

/* environ with CNI_COMMAND set to @command. Caller frees the array only. */
static char **env_with_command(const char *command, char *buf, size_t len)
{
	size_t n = 0, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	snprintf(buf, len, "CNI_COMMAND=%s", command);
	env[j++] = buf;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_COMMAND=", 12))
			env[j++] = environ[i];
	return env;
}

/* Feed @config to *@in_fd and read *@out_fd to EOF into @run. Closes each
 * fd (and sets it to -1) when done with it; on failure the caller closes
 * what is left. SIGPIPE must be ignored: a write to a plugin that stopped
 * reading then fails with EPIPE. */
static int pump(int *in_fd, const char *config, size_t config_len, int *out_fd,
		struct delegate_run *run)
{
	size_t written = 0, cap = 4096;
	struct pollfd pfd[2];
	char *grown;

	run->out = malloc(cap);
	if (!run->out)
		return -ENOMEM;
	run->len = 0;
	while (*out_fd >= 0) {
		int n = 0;

		if (*in_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = *in_fd, .events = POLLOUT };
		pfd[n++] = (struct pollfd){ .fd = *out_fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == *in_fd) {
				r = write(*in_fd, config + written, config_len - written);
				if (r > 0)
					written += (size_t)r;
				if (r < 0 && errno != EAGAIN && errno != EINTR)
					written = config_len;	/* it stopped reading (EPIPE) */
				if (written == config_len) {
					close(*in_fd);
					*in_fd = -1;
				}
				continue;
			}
			if (run->len + 1 >= cap) {
				if (cap >= DELEGATE_OUT_MAX)
					return -EFBIG;
				cap *= 2;
				grown = realloc(run->out, cap);
				if (!grown)
					return -ENOMEM;
				run->out = grown;
			}
			r = read(*out_fd, run->out + run->len, cap - run->len - 1);
			if (r > 0) {
				run->len += (size_t)r;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(*out_fd);
				*out_fd = -1;
			}
		}
	}
	if (*in_fd >= 0)
		close(*in_fd);
	*in_fd = -1;
	run->out[run->len] = '\0';
	return 0;
}

int ipam_delegate_run(const char *type, const char *cni_path, const char *command,
		      const char *config, size_t config_len, struct delegate_run *run,
		      struct rv_err *err)
{
	char path[4096], cmd_env[32];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, r, wstatus;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	posix_spawn_file_actions_t fa;
	char **env = NULL;
	char *argv[] = { (char *)type, NULL };
	pid_t pid;

	memset(run, 0, sizeof(*run));
	if (!cni_path)
		return err_set(err, CNI_ERR_ENV, ENOENT,
			       "CNI_PATH is not set, so the ipam plugin \"%s\" cannot be found", type);
	if (find_plugin(type, cni_path, path, sizeof(path)) < 0)
		return err_set(err, CNI_ERR_CONFIG, ENOENT,
			       "ipam plugin \"%s\" was not found in CNI_PATH (%.200s)", type, cni_path);
	if (!(env = env_with_command(command, cmd_env, sizeof(cmd_env))))
		return err_set(err, RIVET_ERR_INTERNAL, ENOMEM, "out of memory");
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		r = err_set(err, CNI_ERR_IO, errno, "cannot create pipes for the ipam plugin");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	r = posix_spawn(&pid, path, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (r != 0) {
		r = err_set(err, CNI_ERR_IO, r, "cannot run ipam plugin %s: %s", path, strerror(r));
		goto out;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	/* Ignored only now: the plugin must start with the default action. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	r = pump(&in[1], config, config_len, &out[0], run);
	sigaction(SIGPIPE, &old_pipe, NULL);
	if (r < 0) {
		/* It may be blocked writing to a pipe nobody reads any more:
		 * stop it before waiting for it. */
		kill(pid, SIGKILL);
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
			in[i] = out[i] = -1;
		}
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (r == -EFBIG) {
		r = err_set(err, RIVET_ERR_DELEGATE, EFBIG,
			    "ipam plugin %s printed more than %u MiB on %s; rivet stopped it", type,
			    DELEGATE_OUT_MAX >> 20, command);
		goto out;
	}
	if (r < 0) {
		r = err_set(err, CNI_ERR_IO, -r, "cannot talk to ipam plugin %s: %s", path, strerror(-r));
		goto out;
	}
	run->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (r < 0) {
		free(run->out);
		run->out = NULL;
	}
	free(env);
	return r;
}

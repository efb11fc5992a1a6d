// SPDX-License-Identifier: Apache-2.0
/*
 * killat: run a program the way a runtime runs a CNI plugin (stdin from a
 * file, the environment as given) and SIGKILL it after a random delay, to
 * stand for a runtime, node agent or OOM killer that ends the plugin at an
 * arbitrary instant. A shell's sleep cannot place a kill inside a call that
 * lasts a few milliseconds; this forks, execs, and sleeps with nanosecond
 * resolution on CLOCK_MONOTONIC from the moment of the fork.
 *
 *   killat MAX_NS STDIN PROG [ARG...]   kill after a delay uniform in
 *                                       [0, MAX_NS]; prints
 *                                       "killed DELAY_NS" or
 *                                       "exited STATUS DELAY_NS"
 *   killat 0 STDIN PROG [ARG...]        no kill: prints "exited STATUS NS"
 *                                       with the call's duration, and
 *                                       passes the program's stdout through
 *
 * The killed program's stdout and stderr go to /dev/null: what a killed
 * plugin printed is never read by a runtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t max, delay = 0, t0, r = 0;
	struct timespec ts;
	int status, in, devnull;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: killat MAX_NS STDIN PROG [ARG...]\n");
		return 2;
	}
	max = strtoull(argv[1], NULL, 10);
	if (max) {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return 2;
		delay = r % (max + 1);
	}
	in = open(argv[2], O_RDONLY | O_CLOEXEC);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0 || devnull < 0) {
		perror("killat: open");
		return 2;
	}
	/* Flush before forking so the child does not inherit buffered text. */
	fflush(stdout);
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("killat: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(in, 0);
		if (max)
			dup2(devnull, 1);
		dup2(devnull, 2);
		execv(argv[3], argv + 3);
		_exit(127);
	}
	if (max) {
		uint64_t at = t0 + delay;

		ts.tv_sec = (time_t)(at / 1000000000ull);
		ts.tv_nsec = (long)(at % 1000000000ull);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && max)
		printf("killed %llu\n", (unsigned long long)delay);
	else
		printf("exited %d %llu\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		       (unsigned long long)(max ? delay : now_ns() - t0));
	return 0;
}

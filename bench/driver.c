// SPDX-License-Identifier: Apache-2.0
/*
 * bench/driver.c: runs CNI plugins the way a container runtime does and
 * measures them. It owns the benchmark's scenarios, its namespaces and its
 * numbers; it knows nothing of any plugin's internals.
 *
 * A call is fork+exec (posix_spawn, i.e. clone(CLONE_VM|CLONE_VFORK), which
 * is what Go's os/exec in containerd and CRI-O does) with the CNI_* variables,
 * the config on stdin, stdout read to EOF and parsed for the pod's
 * addresses, then wait4(). Wall time is CLOCK_MONOTONIC from just before the
 * spawn to wait4's return; CPU time is wait4's ru_utime + ru_stime, which
 * covers the plugin and every child it waited for (ptp's host-local). A DEL
 * carries the ADD's result as prevResult, as libcni sends it.
 *
 * Peak RSS cannot be read from those calls: exec folds the old address
 * space's high-water mark into the process's ru_maxrss, and a vfork child's
 * old address space is the driver's. So the RSS scenario execs this very
 * binary (static, tiny) in --rusage-exec mode, which forks a child whose
 * address space is almost empty (its size is measured and reported) and
 * execs the plugin there.
 *
 * Every namespace is made here (unshare + bind mount under /run/netns, as
 * `ip netns add` does) with the run's prefix, and removed when its scenario
 * ends or at exit; bench/run.sh removes anything left if the driver dies.
 * Each plugin gets its own node namespace per scenario; the driver's thread
 * enters it before each call, so the plugin starts there.
 *
 * Scenarios: seq (N pods ADDed into fresh netns, then DELed), par (1..16
 * workers ADDing: throughput, p99, distinct addresses), scale (more ADDs and
 * DELs with 0..1000 real pods on the node), rss. Within seq and scale the
 * plugins take turns call by call, and par runs every plugin at one level
 * before the next, so that a busy spell of a shared machine lands on all of
 * them alike. Results go to stdout as markdown tables and to .dat files in
 * OUTDIR for gnuplot.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define OUT_MAX 16384
#define ADDR_MAX 4
#define NPAR 5
#define NSCALE 4
#define MAX_PLUGINS 16

static const int par_workers[NPAR] = { 1, 2, 4, 8, 16 };
static const int scale_full[NSCALE] = { 0, 250, 500, 1000 };
static const int scale_quick[NSCALE] = { 0, 25, 50, 100 };

enum { SC_SEQ = 1, SC_PAR = 2, SC_SCALE = 4, SC_RSS = 8, SC_ALL = 15 };

/* --- small helpers ------------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die("out of memory");
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 0..100) of @n values; the median of an even
 * count is the mean of the middle two. */
static double pct(const double *v, size_t n, double p)
{
	double *s, r;
	size_t i;

	if (!n)
		return NAN;
	s = xcalloc(n, sizeof(*s));
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	if (p == 50 && n % 2 == 0) {
		r = (s[n / 2 - 1] + s[n / 2]) / 2;
	} else {
		i = (size_t)ceil(p / 100 * (double)n);
		r = s[i ? i - 1 : 0];
	}
	free(s);
	return r;
}

/* --- namespaces ----------------------------------------------------------- */

static char prefix[32] = "rvb";
static int home_ns = -1;
static char **made;		/* every netns this run made and has not removed */
static size_t n_made, cap_made;

static void ns_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/run/netns/%s", name);
}

static void ns_forget(const char *name)
{
	for (size_t i = 0; i < n_made; i++) {
		if (!strcmp(made[i], name)) {
			free(made[i]);
			made[i] = made[--n_made];
			return;
		}
	}
}

static void ns_delete(const char *name)
{
	char path[128];

	ns_path(path, sizeof(path), name);
	(void)umount2(path, MNT_DETACH);
	(void)unlink(path);
	ns_forget(name);
}

/* A named netns, made as `ip netns add` makes one: a new netns bound onto a
 * file under /run/netns, so a plugin gets a path like a runtime's. The
 * calling thread returns to the netns it was in. */
static void ns_create(const char *name)
{
	char path[128];
	int fd, cur;

	ns_path(path, sizeof(path), name);
	if (mkdir("/run/netns", 0755) < 0 && errno != EEXIST)
		die("mkdir /run/netns: %s", strerror(errno));
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	close(fd);
	if (n_made == cap_made) {
		cap_made = cap_made ? cap_made * 2 : 256;
		made = realloc(made, cap_made * sizeof(*made));
		if (!made)
			die("out of memory");
	}
	made[n_made++] = strdup(name);
	cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0 || unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
		die("bind mount %s: %s", path, strerror(errno));
	if (setns(cur, CLONE_NEWNET) < 0)
		die("setns back: %s", strerror(errno));
	close(cur);
}

static void ns_enter(const char *name)
{
	char path[128];
	int fd;

	ns_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die("enter %s: %s", name, strerror(errno));
	close(fd);
}

static void ns_leave(void)
{
	if (setns(home_ns, CLONE_NEWNET) < 0)
		die("setns home: %s", strerror(errno));
}

static void cleanup_all(void)
{
	if (home_ns >= 0)
		(void)setns(home_ns, CLONE_NEWNET);
	while (n_made)
		ns_delete(made[n_made - 1]);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "driver: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);		/* atexit: cleanup_all */
}

/* Run a helper command (ip, rm) and insist that it succeeds. */
static void run_cmd(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		die("%s %s %s ... failed", argv[0], argv[1], argv[2]);
}

static unsigned node_seq;

/* A fresh node: lo up with the node addresses, the driver inside. */
static void node_new(char *name, size_t len)
{
	snprintf(name, len, "%s-n%u", prefix, ++node_seq);
	ns_create(name);
	run_cmd((char *[]){ "ip", "-n", name, "link", "set", "lo", "up", NULL });
	run_cmd((char *[]){ "ip", "-n", name, "addr", "add", "198.19.255.1/32", "dev", "lo", NULL });
	run_cmd((char *[]){ "ip", "-n", name, "addr", "add", "fd5a:7e57:ffff::1/128", "dev", "lo",
			    NULL });
	ns_enter(name);
}

struct pods {
	char (*name)[40];
	size_t n;
};

static unsigned pod_seq;

static void pods_make(struct pods *p, size_t n)
{
	p->name = xcalloc(n, sizeof(*p->name));
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(p->name[i], sizeof(p->name[i]), "%s-p%u", prefix, ++pod_seq);
		ns_create(p->name[i]);
	}
}

static void pods_drop(struct pods *p)
{
	for (size_t i = 0; i < p->n; i++)
		ns_delete(p->name[i]);
	free(p->name);
	p->name = NULL;
	p->n = 0;
}

/* Wait until the CPUs are quiet: deleting namespaces hands the kernel
 * seconds of teardown in a workqueue, which must not land in the next
 * scenario's numbers. Niced time is not counted: on a shared machine a
 * background job at nice 10 would otherwise keep this waiting forever, and
 * the benchmark at nice 0 runs ahead of it anyway. */
static void settle(void)
{
	unsigned long long prev_busy = 0, prev_total = 0;
	int calm = 0;

	for (int i = 0; i < 200 && calm < 3; i++) {
		unsigned long long v[8] = { 0 }, busy, total = 0;
		FILE *f = fopen("/proc/stat", "r");

		if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				 &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
			if (f)
				fclose(f);
			return;
		}
		fclose(f);
		for (int k = 0; k < 8; k++)
			total += v[k];
		busy = v[0] + v[2] + v[5] + v[6] + v[7];	/* user system irq softirq steal */
		if (prev_total && total > prev_total)
			calm = (double)(busy - prev_busy) / (double)(total - prev_total) < 0.1 ? calm + 1 : 0;
		prev_busy = busy;
		prev_total = total;
		usleep(50000);
	}
}

/* CPU time of the whole machine (all CPUs, nice included) and of this
 * process with everything it waited for, in ms: their difference over the
 * run is what other work took while the benchmark ran. */
static double machine_busy_ms(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7]) != 8)
		v[0] = v[1] = v[2] = v[5] = v[6] = v[7] = 0;
	fclose(f);
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_ms(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
			kids.ru_stime.tv_sec) * 1e3 +
	       (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
			kids.ru_stime.tv_usec) / 1e3;
}

/* --- plugins and calls -------------------------------------------------- */

struct series {
	double *wall, *cpu, *faults;
	size_t n;
};

struct par_result {
	int workers;
	size_t n;
	double per_s, p50, p99, cpu50;
	bool distinct;
};

struct scale_result {
	int pods;
	double add50, add90, del50, del90, add_cpu50;
};

struct conf {
	char text[OUT_MAX + 4096];
	size_t len;
};

/* The most any --rusage-exec child carried into exec (see rusage_exec). */
static long rss_carried_kb;

struct call {
	double wall_ms, cpu_ms, minflt;
	long maxrss_kb;
	int status;
	size_t out_len;
	char out[OUT_MAX];
	char addr[ADDR_MAX][48];
	int n_addr;
};

struct plugin {
	const char *label, *path, *type, *extra, *ranges;
	bool no_mtu;
	unsigned scenarios;
	size_t seq_n;
	unsigned idx;
	struct series seq_add, seq_del;
	struct par_result par[NPAR];
	struct scale_result scale[NSCALE];
	long rss_add, rss_del;
	int datadir_seq;	/* a counter for unique dataDirs */
	/* Working state of the scenario in progress. */
	struct {
		char node[64], datadir[512];
		int node_fd, errfd;
		struct conf *conf, *dc;
		struct call *c;
		struct pods pods, probe;
		char **res;
		char (*addr)[48];
		size_t have;
	} w;
};

static struct plugin plugins[MAX_PLUGINS];
static unsigned n_plugins;
static const char *tmpdir = "/tmp", *outdir = ".", *cni_path = "/usr/lib/cni", *self_exe;
static bool quick;
static unsigned only = SC_ALL;	/* --scenarios: a development aid */
static unsigned run_id;

/* The pod's addresses from a result: every "address" value, prefix cut. */
static void parse_addrs(struct call *c)
{
	const char *p = c->out;

	c->n_addr = 0;
	while ((p = strstr(p, "\"address\"")) && c->n_addr < ADDR_MAX) {
		const char *q;
		size_t n;

		p += 9;
		while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n')
			p++;
		if (*p != '"' || !(q = strchr(p + 1, '"')))
			continue;
		n = strcspn(p + 1, "/\"");
		if (n < sizeof(c->addr[0])) {
			memcpy(c->addr[c->n_addr], p + 1, n);
			c->addr[c->n_addr++][n] = '\0';
		}
		p = q + 1;
	}
}

static void make_conf(const struct plugin *p, const char *datadir, struct conf *c)
{
	c->len = (size_t)snprintf(c->text, sizeof(c->text),
				  "{\"cniVersion\":\"1.0.0\",\"name\":\"bench-%s\",\"type\":\"%s\"%s%s%s,"
				  "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s\",\"ranges\":%s}}",
				  p->label, p->type, p->no_mtu ? "" : ",\"mtu\":1500",
				  p->extra ? "," : "", p->extra ? p->extra : "", datadir,
				  p->ranges ? p->ranges : "[[{\"subnet\":\"198.18.0.0/16\"}]]");
}

/* The DEL config: the network's, plus the ADD's result as prevResult. */
static void del_conf(const struct conf *add, const char *result, size_t len, struct conf *c)
{
	while (len && (result[len - 1] == '\n' || result[len - 1] == ' '))
		len--;
	if (add->len + len + 16 > sizeof(c->text))
		die("result too large for prevResult");
	memcpy(c->text, add->text, add->len - 1);
	c->len = add->len - 1;
	c->len += (size_t)sprintf(c->text + c->len, ",\"prevResult\":");
	memcpy(c->text + c->len, result, len);
	c->len += len;
	c->text[c->len++] = '}';
	c->text[c->len] = '\0';
}

static void container_id(const struct plugin *p, unsigned n, char out[65])
{
	/* 64 hex digits, like a runtime's sandbox ID. */
	snprintf(out, 65, "%08x%08x%016x%032x", run_id, p->idx, n, n * 2654435761u);
}

/* One call. @rss: go through --rusage-exec for an honest ru_maxrss. */
static void call_plugin(const struct plugin *p, const char *cmd, const char *id, const char *pod,
			const struct conf *conf, int errfd, bool rss, struct call *c)
{
	char e_cmd[32], e_id[128], e_ns[128], e_path[512], *envp[8], ru[160] = "";
	char *argv[4];
	posix_spawn_file_actions_t fa;
	int in[2], out[2], rup[2] = { -1, -1 };
	struct rusage r;
	double t0;
	pid_t pid;
	ssize_t n;

	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(e_id, sizeof(e_id), "CNI_CONTAINERID=%s", id);
	snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=/run/netns/%s", pod);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", cni_path);
	envp[0] = e_cmd;
	envp[1] = e_id;
	envp[2] = e_ns;
	envp[3] = "CNI_IFNAME=eth0";
	envp[4] = e_path;
	envp[5] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	envp[6] = NULL;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || (rss && pipe2(rup, O_CLOEXEC) < 0))
		die("pipe: %s", strerror(errno));
	if (lseek(errfd, 0, SEEK_SET) < 0 || ftruncate(errfd, 0) < 0)
		die("stderr file: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	if (rss) {
		posix_spawn_file_actions_adddup2(&fa, rup[1], 3);
		argv[0] = (char *)self_exe;
		argv[1] = "--rusage-exec";
		argv[2] = (char *)p->path;
		argv[3] = NULL;
	} else {
		argv[0] = (char *)p->path;
		argv[1] = NULL;
	}

	t0 = now_ms();
	if ((errno = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp)) != 0)
		die("spawn %s: %s", argv[0], strerror(errno));
	close(in[0]);
	close(out[1]);
	if (rss)
		close(rup[1]);
	/* The config fits in the pipe: this write does not wait for the
	 * plugin to read. */
	if (write(in[1], conf->text, conf->len) != (ssize_t)conf->len)
		die("write config: %s", strerror(errno));
	close(in[1]);
	c->out_len = 0;
	while ((n = read(out[0], c->out + c->out_len, sizeof(c->out) - 1 - c->out_len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read result: %s", strerror(errno));
		c->out_len += (size_t)n;
		if (c->out_len == sizeof(c->out) - 1)
			die("%s %s: result too large", p->label, cmd);
	}
	c->out[c->out_len] = '\0';
	if (wait4(pid, &c->status, 0, &r) < 0)
		die("wait4: %s", strerror(errno));
	c->wall_ms = now_ms() - t0;
	close(out[0]);
	posix_spawn_file_actions_destroy(&fa);
	c->cpu_ms = (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 +
		    (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
	c->maxrss_kb = r.ru_maxrss;
	c->minflt = (double)r.ru_minflt;
	if (rss) {
		long us, ss, carried;
		int st;

		n = read(rup[0], ru, sizeof(ru) - 1);
		close(rup[0]);
		if (n <= 0 || (ru[n] = '\0', sscanf(ru, "%d %ld %ld %ld %ld", &st, &us, &ss, &c->maxrss_kb,
						     &carried)) != 5)
			die("%s %s: no rusage from --rusage-exec", p->label, cmd);
		c->status = st;
		if (carried > rss_carried_kb)
			rss_carried_kb = carried;
	}
	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status)) {
		char err[2048];

		n = pread(errfd, err, sizeof(err) - 1, 0);
		err[n > 0 ? n : 0] = '\0';
		die("%s %s %s failed (status %#x)\nstdout: %s\nstderr: %s", p->label, cmd, pod,
		    c->status, c->out, err);
	}
	if (!strcmp(cmd, "ADD")) {
		parse_addrs(c);
		if (!c->n_addr)
			die("%s ADD %s: no address in the result: %s", p->label, pod, c->out);
	}
}

static int err_file(void)
{
	int fd = memfd_create("plugin-stderr", MFD_CLOEXEC);

	if (fd < 0)
		die("memfd_create: %s", strerror(errno));
	return fd;
}

static void datadir_new(struct plugin *p, const char *what, char *out, size_t len)
{
	snprintf(out, len, "%s/%s-%s-%d", tmpdir, p->label, what, ++p->datadir_seq);
}

static void rm_rf(const char *dir)
{
	run_cmd((char *[]){ "rm", "-rf", "--", (char *)dir, NULL });
}

/* --- a batch of ADDs over W workers ----------------------------------- */

struct batch {
	const struct plugin *p;
	const struct conf *conf;
	const struct pods *pods;
	size_t first, n;	/* pods[first .. first+n) */
	unsigned id_base;
	atomic_size_t next;
	pthread_barrier_t start;
	double *wall, *cpu;
	char (*addr)[48];
	char **results;		/* NULL: not kept */
};

static void *batch_worker(void *arg)
{
	struct batch *b = arg;
	struct call *c = xcalloc(1, sizeof(*c));
	int errfd = err_file();
	size_t i;

	pthread_barrier_wait(&b->start);
	while ((i = atomic_fetch_add(&b->next, 1)) < b->n) {
		char id[65];

		container_id(b->p, b->id_base + (unsigned)i, id);
		call_plugin(b->p, "ADD", id, b->pods->name[b->first + i], b->conf, errfd, false, c);
		b->wall[i] = c->wall_ms;
		b->cpu[i] = c->cpu_ms;
		snprintf(b->addr[i], sizeof(b->addr[i]), "%s", c->addr[0]);
		if (b->results && !(b->results[i] = strdup(c->out)))
			die("out of memory");
	}
	close(errfd);
	free(c);
	return NULL;
}

/* ADD pods[first..first+n) with @workers in parallel; returns the elapsed
 * wall time from releasing the workers to the last one finishing. */
static double batch_add(struct batch *b, int workers)
{
	pthread_t t[64];
	double t0;

	atomic_store(&b->next, 0);
	pthread_barrier_init(&b->start, NULL, (unsigned)workers + 1);
	for (int w = 0; w < workers; w++)
		if (pthread_create(&t[w], NULL, batch_worker, b) != 0)
			die("pthread_create");
	t0 = now_ms();
	pthread_barrier_wait(&b->start);
	for (int w = 0; w < workers; w++)
		pthread_join(t[w], NULL);
	pthread_barrier_destroy(&b->start);
	return now_ms() - t0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Did every pod get its own address? */
static bool distinct(char (*addr)[48], size_t n)
{
	char (*s)[48] = xcalloc(n, sizeof(*s));
	bool ok = true;

	memcpy(s, addr, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(s[i - 1], s[i]))
			ok = false;
	free(s);
	return ok;
}

/* Reservation files left in the store, and links left on the node. */
static void check_clean(const struct plugin *p, const char *datadir)
{
	char dir[600];
	struct if_nameindex *ifs;
	struct dirent *de;
	size_t files = 0, links = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/bench-%s", datadir, p->label);
	if ((d = opendir(dir))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && strcmp(de->d_name, "lock") &&
			    strncmp(de->d_name, "last_reserved_ip", 16))
				files++;
		closedir(d);
	}
	if ((ifs = if_nameindex())) {
		for (struct if_nameindex *i = ifs; i->if_index; i++)
			if (strcmp(i->if_name, "lo"))
				links++;
		if_freenameindex(ifs);
	}
	if (files || links)
		die("%s: DEL left %zu reservations and %zu links behind", p->label, files, links);
}

/* A few untimed calls: page cache, the store's directory, ip_forward. */
static void warm_up(struct plugin *p, int n)
{
	struct pods pods;
	char id[65];

	pods_make(&pods, (size_t)n);
	for (int i = 0; i < n; i++) {
		container_id(p, 900000000u + (unsigned)i, id);
		call_plugin(p, "ADD", id, pods.name[i], p->w.conf, p->w.errfd, false, p->w.c);
		del_conf(p->w.conf, p->w.c->out, p->w.c->out_len, p->w.dc);
		call_plugin(p, "DEL", id, pods.name[i], p->w.dc, p->w.errfd, false, p->w.c);
	}
	pods_drop(&pods);
}

/* Give @p a fresh node, store and config, and warm it up. The driver
 * leaves the node again; work_enter() goes back in. */
static void work_begin(struct plugin *p, const char *what, int warm)
{
	char path[128];

	memset(&p->w, 0, sizeof(p->w));
	p->w.conf = xcalloc(1, sizeof(*p->w.conf));
	p->w.dc = xcalloc(1, sizeof(*p->w.dc));
	p->w.c = xcalloc(1, sizeof(*p->w.c));
	p->w.errfd = err_file();
	node_new(p->w.node, sizeof(p->w.node));
	ns_path(path, sizeof(path), p->w.node);
	p->w.node_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->w.node_fd < 0)
		die("open %s: %s", path, strerror(errno));
	datadir_new(p, what, p->w.datadir, sizeof(p->w.datadir));
	make_conf(p, p->w.datadir, p->w.conf);
	warm_up(p, warm);
	ns_leave();
}

static void work_enter(const struct plugin *p)
{
	if (setns(p->w.node_fd, CLONE_NEWNET) < 0)
		die("enter %s: %s", p->w.node, strerror(errno));
}

/* Deleting the node takes every host end left, and so every pod end, with
 * it: the kernel tears them down in one batch. */
static void work_end(struct plugin *p)
{
	close(p->w.node_fd);
	ns_delete(p->w.node);
	pods_drop(&p->w.pods);
	rm_rf(p->w.datadir);
	close(p->w.errfd);
	free(p->w.res);
	free(p->w.addr);
	free(p->w.c);
	free(p->w.dc);
	free(p->w.conf);
	memset(&p->w, 0, sizeof(p->w));
}

/* Round @r visits the plugins starting at a different one each time, so no
 * plugin always runs right after the same other one. */
#define for_each_round_robin(p, list, n, r)                                                   \
	for (unsigned _k = 0; _k < (n) && ((p) = (list)[(_k + (r)) % (n)], 1); _k++)

/* --- scenarios -------------------------------------------------------------- */

/* Every plugin's pods are ADDed in the same rounds (round i: pod i of each
 * plugin, each in its own node), then DELed the same way: drift in the
 * machine's speed lands on all of them alike. */
static void scenario_seq(struct plugin **list, unsigned n_list)
{
	struct plugin *p;
	size_t rounds = 0;

	for (unsigned k = 0; k < n_list; k++) {
		p = list[k];
		work_begin(p, "seq", 3);
		p->seq_add.wall = xcalloc(p->seq_n, sizeof(double));
		p->seq_add.cpu = xcalloc(p->seq_n, sizeof(double));
		p->seq_add.faults = xcalloc(p->seq_n, sizeof(double));
		p->seq_del.wall = xcalloc(p->seq_n, sizeof(double));
		p->seq_del.cpu = xcalloc(p->seq_n, sizeof(double));
		p->seq_del.faults = xcalloc(p->seq_n, sizeof(double));
		p->seq_add.n = p->seq_del.n = p->seq_n;
		p->w.res = xcalloc(p->seq_n, sizeof(*p->w.res));
		p->w.addr = xcalloc(p->seq_n, sizeof(*p->w.addr));
		pods_make(&p->w.pods, p->seq_n);
		if (p->seq_n > rounds)
			rounds = p->seq_n;
	}
	settle();
	for (size_t i = 0; i < rounds; i++) {
		for_each_round_robin(p, list, n_list, i) {
			char id[65];

			if (i >= p->seq_n)
				continue;
			work_enter(p);
			container_id(p, (unsigned)i, id);
			call_plugin(p, "ADD", id, p->w.pods.name[i], p->w.conf, p->w.errfd, false, p->w.c);
			p->seq_add.wall[i] = p->w.c->wall_ms;
			p->seq_add.cpu[i] = p->w.c->cpu_ms;
			p->seq_add.faults[i] = p->w.c->minflt;
			snprintf(p->w.addr[i], sizeof(p->w.addr[i]), "%s", p->w.c->addr[0]);
			if (!(p->w.res[i] = strdup(p->w.c->out)))
				die("out of memory");
		}
	}
	for (size_t i = 0; i < rounds; i++) {
		for_each_round_robin(p, list, n_list, i) {
			char id[65];

			if (i >= p->seq_n)
				continue;
			work_enter(p);
			container_id(p, (unsigned)i, id);
			del_conf(p->w.conf, p->w.res[i], strlen(p->w.res[i]), p->w.dc);
			call_plugin(p, "DEL", id, p->w.pods.name[i], p->w.dc, p->w.errfd, false, p->w.c);
			p->seq_del.wall[i] = p->w.c->wall_ms;
			p->seq_del.cpu[i] = p->w.c->cpu_ms;
			p->seq_del.faults[i] = p->w.c->minflt;
			free(p->w.res[i]);
		}
	}
	for (unsigned k = 0; k < n_list; k++) {
		p = list[k];
		if (!distinct(p->w.addr, p->seq_n))
			die("%s: two pods got the same address in the sequential run", p->label);
		work_enter(p);
		check_clean(p, p->w.datadir);
		ns_leave();
		work_end(p);
		fprintf(stderr, "  %-16s ADD p50 %6.2f ms (CPU %.2f)  DEL p50 %6.2f ms (CPU %.2f)\n",
			p->label, pct(p->seq_add.wall, p->seq_n, 50), pct(p->seq_add.cpu, p->seq_n, 50),
			pct(p->seq_del.wall, p->seq_n, 50), pct(p->seq_del.cpu, p->seq_n, 50));
	}
	settle();
}

/* One level of parallelism at a time, every plugin at that level before
 * the next: a throughput run is short, and its neighbours in time are the
 * other plugins' runs at the same level. */
static void scenario_par(struct plugin **list, unsigned n_list, size_t n)
{
	double *wall = xcalloc(n, sizeof(double)), *cpu = xcalloc(n, sizeof(double));
	char (*addr)[48] = xcalloc(n, sizeof(*addr));
	struct plugin *p;

	for (int k = 0; k < NPAR; k++) {
		for_each_round_robin(p, list, n_list, (unsigned)k) {
			struct par_result *r = &p->par[k];
			struct batch b = { 0 };
			double elapsed;

			work_begin(p, "par", 1);
			pods_make(&p->w.pods, n);
			settle();
			work_enter(p);
			b = (struct batch){ .p = p, .conf = p->w.conf, .pods = &p->w.pods, .n = n,
					    .id_base = 1000000u * (unsigned)(k + 1), .wall = wall, .cpu = cpu,
					    .addr = addr };
			elapsed = batch_add(&b, par_workers[k]);
			ns_leave();
			r->workers = par_workers[k];
			r->n = n;
			r->per_s = (double)n / (elapsed / 1e3);
			r->p50 = pct(wall, n, 50);
			r->p99 = pct(wall, n, 99);
			r->cpu50 = pct(cpu, n, 50);
			r->distinct = distinct(addr, n);
			if (!r->distinct)
				die("%s: two pods got the same address with %d workers", p->label, par_workers[k]);
			work_end(p);
			settle();
			fprintf(stderr, "  %-16s %2d workers: %6.1f pods/s  p50 %7.2f ms  p99 %7.2f ms\n",
				p->label, r->workers, r->per_s, r->p50, r->p99);
		}
	}
	free(addr);
	free(cpu);
	free(wall);
}

/* Each plugin fills its own node with real pods (its own veths, routes and
 * reservations, made by ADDs through two workers, untimed); at each level
 * every plugin gets @probes more ADDs, then their DELs, in shared rounds. */
static void scenario_scale(struct plugin **list, unsigned n_list, const int *levels, int probes)
{
	size_t top = (size_t)levels[NSCALE - 1];
	double *wall = xcalloc(top + 1, sizeof(double)), *cpu = xcalloc(top + 1, sizeof(double));
	double (*aw)[64] = xcalloc(MAX_PLUGINS, sizeof(*aw)), (*dw)[64] = xcalloc(MAX_PLUGINS, sizeof(*dw));
	double (*ac)[64] = xcalloc(MAX_PLUGINS, sizeof(*ac));
	char (*addr)[48] = xcalloc(top + 1, sizeof(*addr));
	char **res = xcalloc((size_t)probes, sizeof(*res) * MAX_PLUGINS);
	struct plugin *p;

	if (probes > 64)
		die("at most 64 probes");
	for (unsigned k = 0; k < n_list; k++) {
		work_begin(list[k], "scale", 1);
		pods_make(&list[k]->w.pods, top);
	}
	for (int l = 0; l < NSCALE; l++) {
		for (unsigned k = 0; k < n_list; k++) {
			p = list[k];
			if ((size_t)levels[l] > p->w.have) {
				struct batch b = { .p = p, .conf = p->w.conf, .pods = &p->w.pods,
						   .first = p->w.have, .n = (size_t)levels[l] - p->w.have,
						   .id_base = 2000000u + (unsigned)p->w.have, .wall = wall,
						   .cpu = cpu, .addr = addr };

				work_enter(p);
				batch_add(&b, 2);
				ns_leave();
				p->w.have = (size_t)levels[l];
			}
			pods_make(&p->w.probe, (size_t)probes);
		}
		/* Every new interface runs IPv6 duplicate address detection for
		 * its link-local address, in a kernel worker that holds RTNL,
		 * about a second after it comes up: the probes are meant to
		 * see a node with N pods, not one still digesting the last
		 * few hundred. */
		sleep(3);
		settle();
		for (int i = 0; i < probes; i++) {
			for_each_round_robin(p, list, n_list, (unsigned)i) {
				char id[65];

				work_enter(p);
				container_id(p, 3000000u + (unsigned)(l * 1000 + i), id);
				call_plugin(p, "ADD", id, p->w.probe.name[i], p->w.conf, p->w.errfd, false, p->w.c);
				aw[p->idx][i] = p->w.c->wall_ms;
				ac[p->idx][i] = p->w.c->cpu_ms;
				if (!(res[(size_t)i * MAX_PLUGINS + p->idx] = strdup(p->w.c->out)))
					die("out of memory");
			}
		}
		for (int i = 0; i < probes; i++) {
			for_each_round_robin(p, list, n_list, (unsigned)i) {
				char id[65], **r = &res[(size_t)i * MAX_PLUGINS + p->idx];

				work_enter(p);
				container_id(p, 3000000u + (unsigned)(l * 1000 + i), id);
				del_conf(p->w.conf, *r, strlen(*r), p->w.dc);
				call_plugin(p, "DEL", id, p->w.probe.name[i], p->w.dc, p->w.errfd, false, p->w.c);
				dw[p->idx][i] = p->w.c->wall_ms;
				free(*r);
				*r = NULL;
			}
		}
		ns_leave();
		for (unsigned k = 0; k < n_list; k++) {
			struct scale_result *r;

			p = list[k];
			r = &p->scale[l];
			pods_drop(&p->w.probe);
			r->pods = levels[l];
			r->add50 = pct(aw[p->idx], (size_t)probes, 50);
			r->add90 = pct(aw[p->idx], (size_t)probes, 90);
			r->del50 = pct(dw[p->idx], (size_t)probes, 50);
			r->del90 = pct(dw[p->idx], (size_t)probes, 90);
			r->add_cpu50 = pct(ac[p->idx], (size_t)probes, 50);
			fprintf(stderr, "  %-16s %4d pods: ADD p50 %7.2f ms (CPU %.2f)  DEL p50 %7.2f ms\n",
				p->label, r->pods, r->add50, r->add_cpu50, r->del50);
		}
	}
	for (unsigned k = 0; k < n_list; k++)
		work_end(list[k]);
	free(res);
	free(addr);
	free(ac);
	free(dw);
	free(aw);
	free(cpu);
	free(wall);
	settle();
}

static long rss_noop_kb;

/* Peak RSS moves by +-100 kB between identical calls (how much of a
 * library the kernel maps around each page fault depends on the page
 * cache), so the figure is the median over @rounds calls. */
static void scenario_rss(struct plugin *p, int rounds)
{
	double *add = xcalloc((size_t)rounds, sizeof(double)), *del = xcalloc((size_t)rounds, sizeof(double));

	work_begin(p, "rss", 1);
	pods_make(&p->w.pods, (size_t)rounds);
	work_enter(p);
	for (int i = 0; i < rounds; i++) {
		char id[65];

		container_id(p, 4000000u + (unsigned)i, id);
		call_plugin(p, "ADD", id, p->w.pods.name[i], p->w.conf, p->w.errfd, true, p->w.c);
		add[i] = (double)p->w.c->maxrss_kb;
		del_conf(p->w.conf, p->w.c->out, p->w.c->out_len, p->w.dc);
		call_plugin(p, "DEL", id, p->w.pods.name[i], p->w.dc, p->w.errfd, true, p->w.c);
		del[i] = (double)p->w.c->maxrss_kb;
	}
	ns_leave();
	work_end(p);
	p->rss_add = (long)pct(add, (size_t)rounds, 50);
	p->rss_del = (long)pct(del, (size_t)rounds, 50);
	free(del);
	free(add);
}

/* What --rusage-exec itself leaves in ru_maxrss: a child that execs a
 * program that exits at once (this binary, --noop). */
static void rss_calibrate(void)
{
	/* rusage_exec() takes a path of "--noop" to mean this binary. */
	struct plugin noop = { .label = "noop", .path = "--noop" };
	struct call *c = xcalloc(1, sizeof(*c));
	struct conf conf = { .text = "{}", .len = 2 };
	int errfd = err_file();

	call_plugin(&noop, "VERSION", "x", "none", &conf, errfd, true, c);
	rss_noop_kb = c->maxrss_kb;
	close(errfd);
	free(c);
}

/* --- --rusage-exec and --noop ------------------------------------------ */

/* The peak RSS of this process so far (VmHWM), read without stdio so the
 * reading itself adds nothing. */
static long own_hwm_kb(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/* Fork from this small static process, exec @path in the child, report
 * "status user_us sys_us maxrss_kb carried_kb" on fd 3 and exit 0. The
 * child's address space is a copy of ours, a few pages of data and stack;
 * carried_kb is its peak just before exec, the most the plugin's reading
 * can owe to this method. */
static int rusage_exec(const char *path)
{
	char buf[160];
	struct rusage r;
	int st, n, hwm[2];
	long carried = -1;
	pid_t pid;

	if (pipe2(hwm, O_CLOEXEC) < 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		long k = own_hwm_kb();

		(void)!write(hwm[1], &k, sizeof(k));
		/* fd 3 stays ours: the plugin must not inherit it. */
		(void)fcntl(3, F_SETFD, FD_CLOEXEC);
		if (!strcmp(path, "--noop"))
			execl("/proc/self/exe", "noop", "--noop", (char *)NULL);
		else
			execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(hwm[1]);
	if (read(hwm[0], &carried, sizeof(carried)) != sizeof(carried))
		carried = -1;
	close(hwm[0]);
	if (wait4(pid, &st, 0, &r) < 0)
		return 1;
	n = snprintf(buf, sizeof(buf), "%d %ld %ld %ld %ld\n", st,
		     (long)(r.ru_utime.tv_sec * 1000000 + r.ru_utime.tv_usec),
		     (long)(r.ru_stime.tv_sec * 1000000 + r.ru_stime.tv_usec), r.ru_maxrss, carried);
	return write(3, buf, (size_t)n) == n ? 0 : 1;
}

/* --- output ---------------------------------------------------------------- */

static struct plugin *find(const char *label)
{
	for (unsigned i = 0; i < n_plugins; i++)
		if (!strcmp(plugins[i].label, label))
			return &plugins[i];
	return NULL;
}

static void write_dat(void)
{
	char path[600];
	FILE *f;

	for (unsigned i = 0; i < n_plugins; i++) {
		struct plugin *p = &plugins[i];

		if (p->scenarios & SC_PAR) {
			snprintf(path, sizeof(path), "%s/par-%s.dat", outdir, p->label);
			if (!(f = fopen(path, "w")))
				die("%s: %s", path, strerror(errno));
			fprintf(f, "# workers pods_per_s add_p50_ms add_p99_ms add_cpu_p50_ms\n");
			for (int k = 0; k < NPAR; k++)
				fprintf(f, "%d %.1f %.3f %.3f %.3f\n", p->par[k].workers, p->par[k].per_s,
					p->par[k].p50, p->par[k].p99, p->par[k].cpu50);
			fclose(f);
		}
		if (p->scenarios & SC_SCALE) {
			snprintf(path, sizeof(path), "%s/scale-%s.dat", outdir, p->label);
			if (!(f = fopen(path, "w")))
				die("%s: %s", path, strerror(errno));
			fprintf(f, "# pods add_p50_ms add_p90_ms del_p50_ms del_p90_ms add_cpu_p50_ms\n");
			for (int k = 0; k < NSCALE; k++)
				fprintf(f, "%d %.3f %.3f %.3f %.3f %.3f\n", p->scale[k].pods, p->scale[k].add50,
					p->scale[k].add90, p->scale[k].del50, p->scale[k].del90,
					p->scale[k].add_cpu50);
			fclose(f);
		}
		if (p->scenarios & SC_SEQ) {
			snprintf(path, sizeof(path), "%s/seq-%s.dat", outdir, p->label);
			if (!(f = fopen(path, "w")))
				die("%s: %s", path, strerror(errno));
			fprintf(f, "# i add_ms add_cpu_ms del_ms del_cpu_ms add_minflt del_minflt\n");
			for (size_t k = 0; k < p->seq_add.n; k++)
				fprintf(f, "%zu %.3f %.3f %.3f %.3f %.0f %.0f\n", k, p->seq_add.wall[k],
					p->seq_add.cpu[k], p->seq_del.wall[k], p->seq_del.cpu[k],
					p->seq_add.faults[k], p->seq_del.faults[k]);
			fclose(f);
		}
	}
}

static double m_add(const struct plugin *p) { return pct(p->seq_add.wall, p->seq_add.n, 50); }
static double m_add_cpu(const struct plugin *p) { return pct(p->seq_add.cpu, p->seq_add.n, 50); }
static double m_del(const struct plugin *p) { return pct(p->seq_del.wall, p->seq_del.n, 50); }
static double m_del_cpu(const struct plugin *p) { return pct(p->seq_del.cpu, p->seq_del.n, 50); }
static double m_par16(const struct plugin *p) { return p->par[NPAR - 1].per_s; }
static double m_at_top(const struct plugin *p) { return p->scale[NSCALE - 1].add50; }
static double m_rss(const struct plugin *p)
{
	return (double)(p->rss_add > p->rss_del ? p->rss_add : p->rss_del) / 1024.0;
}

static void print_seq(void)
{
	printf("\n### Per plugin (sequential: %zu pods; medians unless noted)\n\n",
	       plugins[0].seq_add.n);
	printf("| plugin | ADD p50 | ADD p90 | ADD p99 | ADD CPU | DEL p50 | DEL p90 | DEL p99 | DEL CPU |"
	       " page faults ADD/DEL | peak RSS ADD/DEL |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned i = 0; i < n_plugins; i++) {
		const struct plugin *p = &plugins[i];

		if (!(p->scenarios & SC_SEQ))
			continue;
		printf("| %s | %.2f ms | %.2f | %.2f | %.2f ms | %.2f ms | %.2f | %.2f | %.2f ms |", p->label,
		       m_add(p), pct(p->seq_add.wall, p->seq_add.n, 90), pct(p->seq_add.wall, p->seq_add.n, 99),
		       m_add_cpu(p), m_del(p), pct(p->seq_del.wall, p->seq_del.n, 90),
		       pct(p->seq_del.wall, p->seq_del.n, 99), m_del_cpu(p));
		printf(" %.0f / %.0f |", pct(p->seq_add.faults, p->seq_add.n, 50),
		       pct(p->seq_del.faults, p->seq_del.n, 50));
		if (p->scenarios & SC_RSS)
			printf(" %.2f / %.2f MB |\n", (double)p->rss_add / 1024, (double)p->rss_del / 1024);
		else
			printf(" - |\n");
	}
	if (only & SC_RSS)
		printf("\n(peak RSS: median ru_maxrss of 9 calls, each in a child forked from a %ld kB process "
		       "just before exec; a static program that does nothing reads %.2f MB this way)\n",
		       rss_carried_kb,
		       (double)rss_noop_kb / 1024);
}

static void print_par(void)
{
	printf("\n### Parallel ADD (%zu pods per run; pods/s, ADD p50 / p99 in ms; every address distinct)\n\n",
	       plugins[0].par[0].n);
	printf("| plugin |");
	for (int k = 0; k < NPAR; k++)
		printf(" %d worker%s |", par_workers[k], par_workers[k] > 1 ? "s" : "");
	printf("\n|---|");
	for (int k = 0; k < NPAR; k++)
		printf("---:|");
	printf("\n");
	for (unsigned i = 0; i < n_plugins; i++) {
		const struct plugin *p = &plugins[i];

		if (!(p->scenarios & SC_PAR))
			continue;
		printf("| %s |", p->label);
		for (int k = 0; k < NPAR; k++)
			printf(" %.0f/s, %.1f / %.1f |", p->par[k].per_s, p->par[k].p50, p->par[k].p99);
		printf("\n");
	}
}

static void print_scale(void)
{
	printf("\n### One more pod with N pods on the node (p50 of ADD wall / ADD CPU / DEL wall, ms)\n\n"
	       "| plugin |");
	for (int k = 0; k < NSCALE; k++)
		printf(" %d pods |", plugins[0].scale[k].pods);
	printf("\n|---|");
	for (int k = 0; k < NSCALE; k++)
		printf("---:|");
	printf("\n");
	for (unsigned i = 0; i < n_plugins; i++) {
		const struct plugin *p = &plugins[i];

		if (!(p->scenarios & SC_SCALE))
			continue;
		printf("| %s |", p->label);
		for (int k = 0; k < NSCALE; k++)
			printf(" %.2f / %.2f / %.1f |", p->scale[k].add50, p->scale[k].add_cpu50, p->scale[k].del50);
		printf("\n");
	}
}

static void ratio_row(const char *what, const struct plugin *fl, const struct plugin *rv,
		      const struct plugin *pt, double (*m)(const struct plugin *), const char *unit,
		      const char *target, bool ok)
{
	double f = m(fl), r = m(rv), t = pt ? m(pt) : NAN;

	printf("| %s | %.2f %s | %.2f %s | %.2f %s | **%.2f** | %.2f | %s | %s |\n", what, f, unit, r, unit,
	       t, unit, r / f, t / r, target, ok ? "met" : "MISSED");
}

static void print_ratios(void)
{
	struct plugin *fl = find("floor"), *rv = find("rivet"), *pt = find("ptp"), *mq;

	if (!fl || !rv || (fl->scenarios & rv->scenarios) != SC_ALL)
		return;
	printf("\n### Ratios (rivet / floor, ptp / rivet)\n\n");
	printf("| metric | floor | rivet | ptp | rivet/floor | ptp/rivet | target | |\n");
	printf("|---|---:|---:|---:|---:|---:|---|---|\n");
	ratio_row("ADD median", fl, rv, pt, m_add, "ms", "rivet/floor <= 1.2",
		  m_add(rv) / m_add(fl) <= 1.2);
	ratio_row("ADD CPU", fl, rv, pt, m_add_cpu, "ms", "rivet <= 1.5 ms", m_add_cpu(rv) <= 1.5);
	ratio_row("DEL wall", fl, rv, pt, m_del, "ms", "rivet/floor <= 1.05",
		  m_del(rv) / m_del(fl) <= 1.05);
	ratio_row("DEL CPU", fl, rv, pt, m_del_cpu, "ms", "rivet <= 1.5 ms", m_del_cpu(rv) <= 1.5);
	ratio_row("16-worker ADD throughput", fl, rv, pt, m_par16, "/s", "rivet/floor >= 0.85",
		  m_par16(rv) / m_par16(fl) >= 0.85);
	{
		char what[64];

		snprintf(what, sizeof(what), "ADD at %d pods", rv->scale[NSCALE - 1].pods);
		ratio_row(what, fl, rv, pt, m_at_top, "ms", "rivet/floor <= 1.2",
			  m_at_top(rv) / m_at_top(fl) <= 1.2);
	}
	ratio_row("peak RSS", fl, rv, pt, m_rss, "MB", "rivet <= 2 MB", m_rss(rv) <= 2.0);
	if ((mq = find("rivet-ipmasq")) && (mq->scenarios & SC_SEQ))
		printf("\nipMasq (one nftables set element per pod): ADD %+.2f ms wall, %+.2f ms CPU; "
		       "DEL %+.2f ms wall, %+.2f ms CPU\n", m_add(mq) - m_add(rv), m_add_cpu(mq) - m_add_cpu(rv),
		       m_del(mq) - m_del(rv), m_del_cpu(mq) - m_del_cpu(rv));
}

static void print_variants(void)
{
	struct plugin *fl = find("floor"), *rv = find("rivet");
	bool any = false;

	for (unsigned i = 0; i < n_plugins; i++) {
		const struct plugin *p = &plugins[i];

		if (p == fl || p == rv || !strcmp(p->label, "ptp") || !(p->scenarios & SC_SEQ))
			continue;
		if (!any) {
			printf("\n### Variants (sequential, %zu pods; differences against rivet)\n\n", p->seq_add.n);
			printf("| variant | ADD p50 | ADD CPU | DEL p50 | DEL CPU | peak RSS | ADD vs rivet |"
			       " ADD CPU vs rivet | ADD / floor |\n");
			printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
			any = true;
		}
		printf("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f MB | %+.2f ms | %+.2f ms | %.2f |\n",
		       p->label, m_add(p), m_add_cpu(p), m_del(p), m_del_cpu(p), m_rss(p),
		       rv ? m_add(p) - m_add(rv) : NAN, rv ? m_add_cpu(p) - m_add_cpu(rv) : NAN,
		       fl ? m_add(p) / m_add(fl) : NAN);
	}
}

/* --- main ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: driver [--quick] [--prefix P] [--tmp DIR] [--out DIR] [--cni-path DIR]\n"
		"              [--scenarios seq,par,scale,rss]\n"
		"              --plugin LABEL=PATH [--type T] [--extra JSON] [--ranges JSON] [--no-mtu]\n"
		"              [--only seq|core] [--count N] ...\n"
		"  labels floor, rivet and ptp make the ratio table; others are variants.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static char exe[4096];
	struct plugin *cur = NULL;
	size_t seq_n, par_n;
	double t0 = now_ms(), busy0 = machine_busy_ms(), own0 = own_cpu_ms(), others;
	const int *levels;
	int probes;
	ssize_t n;

	if (argc == 3 && !strcmp(argv[1], "--rusage-exec"))
		return rusage_exec(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--noop"))
		return 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quick")) {
			quick = true;
			continue;
		}
		if (!strcmp(a, "--no-mtu") && cur) {
			cur->no_mtu = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--prefix"))
			snprintf(prefix, sizeof(prefix), "%s", v);
		else if (!strcmp(a, "--tmp"))
			tmpdir = v;
		else if (!strcmp(a, "--out"))
			outdir = v;
		else if (!strcmp(a, "--cni-path"))
			cni_path = v;
		else if (!strcmp(a, "--scenarios"))
			only = (strstr(v, "seq") ? SC_SEQ : 0) | (strstr(v, "par") ? SC_PAR : 0) |
			       (strstr(v, "scale") ? SC_SCALE : 0) | (strstr(v, "rss") ? SC_RSS : 0);
		else if (!strcmp(a, "--plugin")) {
			const char *eq = strchr(v, '=');

			if (!eq || n_plugins == MAX_PLUGINS)
				usage();
			cur = &plugins[n_plugins];
			cur->idx = n_plugins++;
			cur->label = strndup(v, (size_t)(eq - v));
			cur->path = eq + 1;
			cur->type = cur->label;
			cur->scenarios = SC_ALL;
		} else if (!cur) {
			usage();
		} else if (!strcmp(a, "--type"))
			cur->type = v;
		else if (!strcmp(a, "--extra"))
			cur->extra = v;
		else if (!strcmp(a, "--ranges"))
			cur->ranges = v;
		else if (!strcmp(a, "--count"))
			cur->seq_n = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--only"))
			cur->scenarios = !strcmp(v, "seq") ? SC_SEQ | SC_RSS : SC_ALL;
		else
			usage();
	}
	if (!n_plugins)
		usage();
	if (geteuid() != 0)
		die("needs root (network namespaces)");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	self_exe = exe;
	run_id = (unsigned)getpid() ^ (unsigned)time(NULL);
	home_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_ns < 0)
		die("open own netns: %s", strerror(errno));
	atexit(cleanup_all);

	seq_n = quick ? 30 : 200;
	par_n = quick ? 32 : 256;
	levels = quick ? scale_quick : scale_full;
	probes = quick ? 5 : 25;

	rss_calibrate();
	{
		struct plugin *all[MAX_PLUGINS], *core[MAX_PLUGINS];
		unsigned n_all = 0, n_core = 0;

		for (unsigned i = 0; i < n_plugins; i++) {
			struct plugin *p = &plugins[i];

			if (!p->seq_n)
				p->seq_n = seq_n;
			all[n_all++] = p;
			if (p->scenarios & SC_PAR)
				core[n_core++] = p;
		}
		for (unsigned i = 0; i < n_plugins; i++)
			plugins[i].scenarios &= only;
		if (only & SC_SEQ) {
			fprintf(stderr, "sequential: %zu ADDs, then as many DELs, per plugin, interleaved\n",
				seq_n);
			scenario_seq(all, n_all);
		}
		if (only & SC_PAR) {
			fprintf(stderr, "parallel: %zu ADDs per run\n", par_n);
			scenario_par(core, n_core, par_n);
		}
		if (only & SC_SCALE) {
			fprintf(stderr, "scale: %d ADDs then DELs per level\n", probes);
			scenario_scale(core, n_core, levels, probes);
		}
		if (only & SC_RSS) {
			fprintf(stderr, "peak RSS\n");
			for (unsigned i = 0; i < n_plugins; i++)
				if (plugins[i].scenarios & SC_RSS)
					scenario_rss(&plugins[i], 9);
		}
	}

	write_dat();
	if (only & SC_SEQ)
		print_seq();
	if (only & SC_PAR)
		print_par();
	if (only & SC_SCALE)
		print_scale();
	print_ratios();
	print_variants();
	/* Kernel work the benchmark caused in workers (namespace teardown)
	 * counts as "other" here, so this is an upper bound. */
	others = (machine_busy_ms() - busy0 - (own_cpu_ms() - own0)) /
		 ((now_ms() - t0) * (double)sysconf(_SC_NPROCESSORS_ONLN));
	printf("\n(%s run: %.0f s on %ld CPUs; other work, including kernel workers, kept %.0f%% of the "
	       "CPUs busy meanwhile)\n", quick ? "quick" : "full", (now_ms() - t0) / 1e3,
	       sysconf(_SC_NPROCESSORS_ONLN), others > 0 ? 100 * others : 0);
	return 0;
}

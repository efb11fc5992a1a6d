// SPDX-License-Identifier: Apache-2.0
/*
 * ipam/store: the reservation store is host-local's, byte for byte, and
 * survives what a node does to it.
 *
 * Proves, in a fresh mkdtemp directory per test: a reservation is the file
 * "<ip>" holding exactly "<id>\r\n<ifname>", mode 0600, with
 * last_reserved_ip.<set> holding the address; a taken address gives -EEXIST
 * and is not touched; the per-boot index finds an attachment's address and
 * is never trusted when it points at a reservation that is no longer the
 * attachment's; release works through the index and, for host-local's
 * files, through the directory walk, including host-local's old ID-only
 * format (released only when no exact match exists); the walk reports only
 * regular files named by an address (not lock, last_reserved_ip.*, dotfiles,
 * symlinks, FIFOs or directories); a symlink planted under an address's name,
 * last_reserved_ip, lock or the index directory is never followed or written
 * through; a write that fails part-way (RLIMIT_FSIZE, a full tmpfs) leaves the
 * address free and no stray file; an earlier boot's reservations are
 * reclaimed on the first lock of a new boot (both index forms), host-local's
 * and re-owned ones stay, and nothing goes with reclaim disabled; a lock held
 * by another process times out with code 11 and restores SIGALRM; and
 * pruning drops exactly the stale index entries.
 */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

#include <dlfcn.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "ipam/store.h"
#include "util/log.h"

/* fdopendir(3) as the store sees it: the real one, or, while set, a failure
 * (it can fail with ENOMEM, which a test cannot otherwise bring about). */
static int fdopendir_fails;

DIR *fdopendir(int fd)
{
	static DIR *(*real)(int);

	if (fdopendir_fails) {
		errno = ENOMEM;
		return NULL;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fdopendir");
	return real(fd);
}

static unsigned open_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#define NET "net1"

struct ctx {
	char *dir;		/* the mkdtemp data dir */
	char net[4096];		/* <dir>/net1 */
	char boot[64];		/* this boot's id */
	char other[64];		/* an id that is not this boot's */
};

static void read_boot(struct ctx *c)
{
	char *b = tu_read("/proc/sys/kernel/random/boot_id", NULL);

	assert_non_null(b);
	b[strcspn(b, "\n")] = '\0';
	snprintf(c->boot, sizeof(c->boot), "%s", b);
	snprintf(c->other, sizeof(c->other), "%s", b);
	/* Another valid UUID: flip the first hex digit. */
	c->other[0] = c->other[0] == '0' ? '1' : '0';
	free(b);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->dir = tu_mkdtemp();
	snprintf(c->net, sizeof(c->net), "%s/" NET, c->dir);
	read_boot(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	tu_rmtree(c->dir);
	free(c);
	return 0;
}

static struct rv_ip ip(const char *s)
{
	struct rv_ip out;

	if (ip_parse(s, &out) != 0)
		fail_msg("bad ip %s", s);
	return out;
}

/* Open (creating) and lock the store; the test's usual first step. */
static void open_locked(struct ctx *c, struct ipam_store *s, bool reclaim, unsigned *reclaimed)
{
	struct rv_err err = { 0 };

	if (ipam_store_open(s, c->dir, NET, true, reclaim, &err) != 0)
		fail_msg("open: %s", err.msg);
	if (ipam_store_lock(s, 2000, reclaimed, &err) != 0)
		fail_msg("lock: %s", err.msg);
}

static void reserve_ok(struct ipam_store *s, const char *addr, const char *id, const char *ifname,
		       unsigned set)
{
	struct rv_err err = { 0 };
	struct rv_ip a = ip(addr);
	int r = ipam_store_reserve(s, &a, id, ifname, set, &err);

	if (r != 0)
		fail_msg("reserve %s for %s/%s: %d %s", addr, id, ifname, r, err.msg);
}

static char *netfile(struct ctx *c, const char *name)
{
	return tu_readf("%s/%s", c->net, name);
}

static void assert_netfile(struct ctx *c, const char *name, const char *want)
{
	char *got = netfile(c, name);

	if (!got)
		fail_msg("%s/%s is missing, want \"%s\"", c->net, name, want);
	if (strcmp(got, want))
		fail_msg("%s holds \"%s\", want \"%s\"", name, got, want);
	free(got);
}

static void assert_absent(struct ctx *c, const char *name)
{
	char p[4200];

	if (tu_exists(tu_path(p, sizeof(p), "%s/%s", c->net, name)))
		fail_msg("%s should not exist", p);
}

static void assert_present(struct ctx *c, const char *name)
{
	char p[4200];

	if (!tu_exists(tu_path(p, sizeof(p), "%s/%s", c->net, name)))
		fail_msg("%s should exist", p);
}

/* Names directly in the network directory, sorted, joined by ' '. */
static void list_dir(const char *path, char *out, size_t len)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	size_t off = 0;

	out[0] = '\0';
	if (n < 0)
		fail_msg("scandir %s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			off += (size_t)snprintf(out + off, off < len ? len - off : 0, "%s%s",
						off ? " " : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void plant(struct ctx *c, const char *name, const char *content)
{
	char p[4200];

	tu_write(tu_path(p, sizeof(p), "%s/%s", c->net, name), content);
}

static void mkdir_net(struct ctx *c)
{
	assert_int_equal(mkdir(c->net, 0755), 0);
}

/* ---- open ------------------------------------------------------------------ */

static void test_open_missing_without_create(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };

	/* DEL of a network never used: nothing reserved, no message. */
	assert_int_equal(ipam_store_open(&s, c->dir, NET, false, true, &err), -ENOENT);
	assert_int_equal(err.code, 0);
	ipam_store_close(&s);
	assert_absent(c, "");
}

static void test_open_creates_0755(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	char deep[4200];
	struct stat st;

	assert_int_equal(ipam_store_open(&s, c->dir, NET, true, true, &err), 0);
	ipam_store_close(&s);
	assert_int_equal(stat(c->net, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	/* dataDir itself may not exist yet: mkdir -p. */
	tu_path(deep, sizeof(deep), "%s/a/b/c", c->dir);
	assert_int_equal(ipam_store_open(&s, deep, NET, true, true, &err), 0);
	ipam_store_close(&s);
	strcat(deep, "/" NET);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_open_refuses_symlinked_dir(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	char elsewhere[4200];

	tu_path(elsewhere, sizeof(elsewhere), "%s/elsewhere", c->dir);
	assert_int_equal(mkdir(elsewhere, 0755), 0);
	assert_int_equal(symlink("elsewhere", c->net), 0);
	assert_true(ipam_store_open(&s, c->dir, NET, true, true, &err) < 0);
	assert_err(err, RIVET_ERR_STORE, "is not a directory");
	ipam_store_close(&s);
	/* A file in its place is refused the same way. */
	unlink(c->net);
	tu_write(c->net, "x");
	err_clear(&err);
	assert_true(ipam_store_open(&s, c->dir, NET, true, true, &err) < 0);
	assert_err(err, RIVET_ERR_STORE, "move it away");
	ipam_store_close(&s);
}

/* ---- reserve --------------------------------------------------------------- */

static void test_reserve_host_local_format(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct stat st;
	char p[4200], names[1024];
	size_t len;
	char *content;

	umask(022);
	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	reserve_ok(&s, "fd00::5", "c1", "eth0", 1);
	ipam_store_close(&s);

	/* Exactly host-local's bytes: CR LF, no trailing newline. */
	content = tu_read(tu_path(p, sizeof(p), "%s/10.0.0.5", c->net), &len);
	assert_non_null(content);
	assert_int_equal(len, 8);
	assert_memory_equal(content, "c1\r\neth0", 8);
	free(content);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_netfile(c, "fd00::5", "c1\r\neth0");
	assert_netfile(c, "last_reserved_ip.0", "10.0.0.5");
	assert_netfile(c, "last_reserved_ip.1", "fd00::5");
	assert_int_equal(stat(tu_path(p, sizeof(p), "%s/last_reserved_ip.0", c->net), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Nothing else: no temporary file left behind. */
	list_dir(c->net, names, sizeof(names));
	assert_string_equal(names, ".rivet 10.0.0.5 fd00::5 last_reserved_ip.0 last_reserved_ip.1 lock");
}

static void test_reserve_index_entry(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct stat res, ent;
	char p[4200], q[4200], buf[64];
	ssize_t n;

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 3);
	ipam_store_close(&s);

	tu_path(p, sizeof(p), "%s/10.0.0.5", c->net);
	tu_path(q, sizeof(q), "%s/.rivet/boot-%s/c1:eth0:3", c->net, c->boot);
	assert_int_equal(lstat(p, &res), 0);
	if (lstat(q, &ent) != 0)
		fail_msg("index entry %s missing", q);
	if (S_ISREG(ent.st_mode)) {
		/* The hard-link form: the reservation's own inode, naming its
		 * address in user.rivet.ip. */
		assert_int_equal(ent.st_ino, res.st_ino);
		assert_int_equal(res.st_nlink, 2);
		n = getxattr(q, "user.rivet.ip", buf, sizeof(buf) - 1);
		assert_int_equal(n, 8);
		buf[n] = '\0';
		assert_string_equal(buf, "10.0.0.5");
	} else {
		assert_true(S_ISLNK(ent.st_mode));
		n = readlink(q, buf, sizeof(buf) - 1);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_string_equal(buf, "../../10.0.0.5");
	}
}

static void test_reserve_taken(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	char names[1024];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	assert_int_equal(ipam_store_reserve(&s, &a, "c2", "eth0", 0, &err), -EEXIST);
	/* Taken is not an error to report: the allocator moves on. */
	assert_int_equal(err.code, 0);
	/* Even the same attachment does not get a second file. */
	assert_int_equal(ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err), -EEXIST);
	ipam_store_close(&s);
	assert_netfile(c, "10.0.0.5", "c1\r\neth0");
	list_dir(c->net, names, sizeof(names));
	assert_string_equal(names, ".rivet 10.0.0.5 last_reserved_ip.0 lock");
}

/* A reservation whose index entry cannot be written is not made: without
 * the entry, a retried ADD would not find it and would take a second
 * address, and DEL would release only that one. */
static void test_reserve_fails_without_its_index_entry(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	char p[4200];

	open_locked(c, &s, true, NULL);
	/* A non-empty directory where the entry belongs: neither unlinked
	 * nor linked over. */
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->boot), 0700), 0);
	tu_write(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0/x", c->net, c->boot), "x");
	assert_true(ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err) < 0);
	assert_err(err, CNI_ERR_IO, "index entry");
	ipam_store_close(&s);
	assert_absent(c, "10.0.0.5");
}

/* A reservation that fails (the address is taken) leaves no index entry
 * behind: the entry, written first, goes with the unpublished file. */
static void test_reserve_taken_leaves_no_index_entry(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	char p[4200], names[1024];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	assert_int_equal(ipam_store_reserve(&s, &a, "c2", "eth0", 0, &err), -EEXIST);
	ipam_store_close(&s);
	list_dir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->boot), names, sizeof(names));
	assert_string_equal(names, "c1:eth0:0");
}

static void test_reserve_long_names(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	char id[201], want[300];
	struct rv_ip got;

	memset(id, 'a', 200);
	id[200] = '\0';
	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", id, "cali1234567890a", 0);
	assert_int_equal(ipam_store_lookup(&s, id, "cali1234567890a", 0, &got), 0);
	ipam_store_close(&s);
	snprintf(want, sizeof(want), "%s\r\ncali1234567890a", id);
	assert_netfile(c, "10.0.0.5", want);
}

/* ---- owner, last reserved -------------------------------------------------- */

static void test_owner(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct ipam_owner o;
	struct rv_ip a;
	time_t t0 = time(NULL);
	char p[4200];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	plant(c, "10.0.0.6", "c9");
	plant(c, "10.0.0.7", "  c8\r\neth1\n");
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/10.0.0.9", c->net), 0755), 0);

	a = ip("10.0.0.5");
	assert_int_equal(ipam_store_owner(&s, &a, &o), 0);
	assert_string_equal(o.container_id, "c1");
	assert_string_equal(o.ifname, "eth0");
	assert_true(o.since >= t0 - 5 && o.since <= time(NULL) + 5);
	/* host-local's old ID-only file. */
	a = ip("10.0.0.6");
	assert_int_equal(ipam_store_owner(&s, &a, &o), 0);
	assert_string_equal(o.container_id, "c9");
	assert_string_equal(o.ifname, "");
	/* Compared after TrimSpace, as host-local compares. */
	a = ip("10.0.0.7");
	assert_int_equal(ipam_store_owner(&s, &a, &o), 0);
	assert_string_equal(o.container_id, "c8");
	assert_string_equal(o.ifname, "eth1");
	a = ip("10.0.0.8");
	assert_int_equal(ipam_store_owner(&s, &a, &o), -ENOENT);
	/* Something unreadable under the name still makes it taken. */
	a = ip("10.0.0.9");
	assert_int_equal(ipam_store_owner(&s, &a, &o), 0);
	assert_string_equal(o.container_id, "(unreadable file)");
	ipam_store_close(&s);
}

static void test_last_reserved(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip a;
	char buf[IP_STRLEN];

	open_locked(c, &s, true, NULL);
	assert_int_equal(ipam_store_last_reserved(&s, 0, &a), -ENOENT);
	plant(c, "last_reserved_ip.0", "nope");
	assert_int_equal(ipam_store_last_reserved(&s, 0, &a), -ENOENT);
	plant(c, "last_reserved_ip.0", "");
	assert_int_equal(ipam_store_last_reserved(&s, 0, &a), -ENOENT);
	/* A trailing newline (an admin's echo) is tolerated. */
	plant(c, "last_reserved_ip.0", "10.0.0.7\n");
	assert_int_equal(ipam_store_last_reserved(&s, 0, &a), 0);
	assert_string_equal(ip_fmt(&a, buf), "10.0.0.7");
	reserve_ok(&s, "fd00::9", "c1", "eth0", 12);
	assert_int_equal(ipam_store_last_reserved(&s, 12, &a), 0);
	assert_string_equal(ip_fmt(&a, buf), "fd00::9");
	/* Each set has its own. */
	assert_int_equal(ipam_store_last_reserved(&s, 0, &a), 0);
	assert_string_equal(ip_fmt(&a, buf), "10.0.0.7");
	ipam_store_close(&s);
}

/* ---- index lookup ---------------------------------------------------------- */

static void test_lookup(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip got;
	char buf[IP_STRLEN], p[4200];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	reserve_ok(&s, "fd00::5", "c1", "eth0", 1);
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth0", 0, &got), 0);
	assert_string_equal(ip_fmt(&got, buf), "10.0.0.5");
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth0", 1, &got), 0);
	assert_string_equal(ip_fmt(&got, buf), "fd00::5");
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth0", 2, &got), -ENOENT);
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth1", 0, &got), -ENOENT);
	assert_int_equal(ipam_store_lookup(&s, "c2", "eth0", 0, &got), -ENOENT);

	/* Released behind the index's back (as host-local releases the
	 * address file): the entry is stale, not trusted, and removed. */
	assert_int_equal(unlink(tu_path(p, sizeof(p), "%s/10.0.0.5", c->net)), 0);
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth0", 0, &got), -ENOENT);
	assert_false(tu_exists(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->boot)));

	/* The address given to someone else since: never c1's. */
	reserve_ok(&s, "10.0.0.6", "c3", "eth0", 0);
	assert_int_equal(unlink(tu_path(p, sizeof(p), "%s/10.0.0.6", c->net)), 0);
	plant(c, "10.0.0.6", "c3\r\neth0");	/* same content, new inode: host-local's */
	assert_int_equal(ipam_store_lookup(&s, "c3", "eth0", 0, &got), -ENOENT);
	ipam_store_close(&s);
}

static void test_lookup_symlink_form(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip got;
	char buf[IP_STRLEN], p[4200];

	open_locked(c, &s, true, NULL);
	/* The form written where user xattrs are unsupported. */
	plant(c, "10.0.0.8", "c3\r\neth0");
	assert_int_equal(symlink("../../10.0.0.8",
				 tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c3:eth0:0", c->net, c->boot)), 0);
	assert_int_equal(ipam_store_lookup(&s, "c3", "eth0", 0, &got), 0);
	assert_string_equal(ip_fmt(&got, buf), "10.0.0.8");

	/* Pointing at someone else's reservation: not trusted. */
	plant(c, "10.0.0.9", "c5\r\neth0");
	assert_int_equal(symlink("../../10.0.0.9",
				 tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c4:eth0:0", c->net, c->boot)), 0);
	assert_int_equal(ipam_store_lookup(&s, "c4", "eth0", 0, &got), -ENOENT);

	/* A target that is not the canonical name of an address. */
	plant(c, "10.0.0.10", "c6\r\neth0");
	assert_int_equal(symlink("../../::ffff:10.0.0.10",
				 tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c6:eth0:0", c->net, c->boot)), 0);
	assert_int_equal(ipam_store_lookup(&s, "c6", "eth0", 0, &got), -ENOENT);
	assert_int_equal(symlink("/etc/passwd",
				 tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c7:eth0:0", c->net, c->boot)), 0);
	assert_int_equal(ipam_store_lookup(&s, "c7", "eth0", 0, &got), -ENOENT);
	ipam_store_close(&s);
}

static void test_lookup_forged_hardlink_entry(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip got;
	char p[4200];

	open_locked(c, &s, true, NULL);
	plant(c, "10.0.0.5", "c2\r\neth0");
	/* A regular file in the index naming 10.0.0.5 by xattr but not the
	 * same inode must not let c1 claim (or release) c2's address. */
	tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->boot);
	tu_write(p, "c1\r\neth0");
	if (setxattr(p, "user.rivet.ip", "10.0.0.5", 8, 0) != 0)
		skip();
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth0", 0, &got), -ENOENT);
	{
		size_t n = 0;

		assert_int_equal(ipam_store_release(&s, "c1", "eth0", 1, NULL, 0, &n), 0);
		assert_int_equal(n, 0);
	}
	ipam_store_close(&s);
	assert_netfile(c, "10.0.0.5", "c2\r\neth0");
}

/* ---- release --------------------------------------------------------------- */

static bool has_ip(const struct rv_ip *v, size_t n, const char *want)
{
	struct rv_ip w = ip(want);

	for (size_t i = 0; i < n; i++)
		if (ip_eq(&v[i], &w))
			return true;
	return false;
}

static void test_release_via_index(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip out[4];
	size_t n = 0;
	char names[1024], p[4200];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	reserve_ok(&s, "fd00::5", "c1", "eth0", 1);
	reserve_ok(&s, "10.0.0.6", "c2", "eth0", 0);
	assert_int_equal(ipam_store_release(&s, "c1", "eth0", 2, out, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_true(has_ip(out, n, "10.0.0.5"));
	assert_true(has_ip(out, n, "fd00::5"));
	/* A second release finds nothing: DEL is idempotent. */
	n = 0;
	assert_int_equal(ipam_store_release(&s, "c1", "eth0", 2, out, 4, &n), 0);
	assert_int_equal(n, 0);
	ipam_store_close(&s);
	assert_absent(c, "10.0.0.5");
	assert_absent(c, "fd00::5");
	assert_netfile(c, "10.0.0.6", "c2\r\neth0");
	/* last_reserved_ip stays: the round robin goes on after a release. */
	assert_netfile(c, "last_reserved_ip.0", "10.0.0.6");
	list_dir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->boot), names, sizeof(names));
	assert_string_equal(names, "c2:eth0:0");
}

static void test_release_via_walk(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip out[4];
	size_t n = 0;

	mkdir_net(c);
	/* Written by host-local: no index entry. */
	plant(c, "10.0.0.6", "c1\r\neth0");
	plant(c, "fd00::6", "c1\r\neth0");
	plant(c, "10.0.0.7", "c1\r\neth1");	/* another interface of c1 */
	plant(c, "10.0.0.8", "c10\r\neth0");	/* c1 is a prefix of c10 */
	open_locked(c, &s, true, NULL);
	assert_int_equal(ipam_store_release(&s, "c1", "eth0", 2, out, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_true(has_ip(out, n, "10.0.0.6"));
	assert_true(has_ip(out, n, "fd00::6"));
	ipam_store_close(&s);
	assert_absent(c, "10.0.0.6");
	assert_absent(c, "fd00::6");
	assert_netfile(c, "10.0.0.7", "c1\r\neth1");
	assert_netfile(c, "10.0.0.8", "c10\r\neth0");
}

static void test_release_index_and_walk_mixed(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip out[4];
	size_t n = 0;

	open_locked(c, &s, true, NULL);
	/* Set 0 through rivet, set 1 left by host-local. */
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	plant(c, "fd00::6", "c1\r\neth0");
	assert_int_equal(ipam_store_release(&s, "c1", "eth0", 2, out, 4, &n), 0);
	assert_int_equal(n, 2);
	ipam_store_close(&s);
	assert_absent(c, "10.0.0.5");
	assert_absent(c, "fd00::6");
}

static void test_release_old_format(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip out[4];
	size_t n = 0;

	mkdir_net(c);
	/* host-local before it wrote the ifname: the content is the ID. */
	plant(c, "10.0.0.7", "c1");
	plant(c, "10.0.0.8", "c1\n");
	plant(c, "10.0.0.9", "c2");
	open_locked(c, &s, true, NULL);
	assert_int_equal(ipam_store_release(&s, "c1", "eth0", 1, out, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_true(has_ip(out, n, "10.0.0.7"));
	assert_true(has_ip(out, n, "10.0.0.8"));
	ipam_store_close(&s);
	assert_absent(c, "10.0.0.7");
	assert_absent(c, "10.0.0.8");
	assert_netfile(c, "10.0.0.9", "c2");
}

static void test_release_old_format_only_without_exact(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip out[4];
	size_t n = 0;

	mkdir_net(c);
	/* host-local's ReleaseByID: exact matches first; the ID-only form
	 * only when nothing matched exactly. */
	plant(c, "10.0.0.6", "c1\r\neth0");
	plant(c, "10.0.0.7", "c1");
	open_locked(c, &s, true, NULL);
	assert_int_equal(ipam_store_release(&s, "c1", "eth0", 1, out, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_true(has_ip(out, n, "10.0.0.6"));
	ipam_store_close(&s);
	assert_absent(c, "10.0.0.6");
	assert_netfile(c, "10.0.0.7", "c1");
}

static void test_release_ip(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip a = ip("10.0.0.5"), old = ip("10.0.0.6"), free_ip = ip("10.0.0.7");
	char p[4200];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	plant(c, "10.0.0.6", "c1");
	/* Only the holder releases. */
	assert_int_equal(ipam_store_release_ip(&s, &a, "c2", "eth0", 0), -ENOENT);
	assert_int_equal(ipam_store_release_ip(&s, &a, "c1", "eth1", 0), -ENOENT);
	assert_present(c, "10.0.0.5");
	assert_int_equal(ipam_store_release_ip(&s, &a, "c1", "eth0", 0), 0);
	assert_absent(c, "10.0.0.5");
	assert_false(tu_exists(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->boot)));
	/* An old ID-only file is the container's, whatever the ifname. */
	assert_int_equal(ipam_store_release_ip(&s, &old, "c1", "eth0", -1), 0);
	assert_absent(c, "10.0.0.6");
	assert_int_equal(ipam_store_release_ip(&s, &free_ip, "c1", "eth0", -1), -ENOENT);
	ipam_store_close(&s);
}

/* ---- walk ------------------------------------------------------------------ */

struct seen {
	char names[16][IP_STRLEN];
	char owners[16][300];
	size_t n;
	int stop_after;
};

static int seen_cb(const struct rv_ip *a, const struct ipam_owner *o, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 16) {
		ip_fmt(a, s->names[s->n]);
		snprintf(s->owners[s->n], sizeof(s->owners[0]), "%s/%s%s", o->container_id, o->ifname,
			 o->damaged ? " (damaged)" : "");
	}
	s->n++;
	return s->stop_after && (int)s->n >= s->stop_after ? 7 : 0;
}

static void test_walk_skips_non_reservations(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct seen seen = { 0 };
	char p[4200], q[4200];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	reserve_ok(&s, "fd00::5", "c2", "eth0", 1);
	plant(c, ".10.0.0.1", "c3\r\neth0");		/* dotfile */
	plant(c, "notanip", "c4\r\neth0");		/* not an address */
	plant(c, "010.0.0.7", "c5\r\neth0");		/* not a canonical name Go parses */
	tu_write(tu_path(q, sizeof(q), "%s/outside", c->dir), "c6\r\neth0");
	assert_int_equal(symlink("../outside", tu_path(p, sizeof(p), "%s/10.0.0.2", c->net)), 0);
	assert_int_equal(mkfifo(tu_path(p, sizeof(p), "%s/10.0.0.3", c->net), 0600), 0);
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/10.0.0.4", c->net), 0755), 0);
	tu_write(tu_path(p, sizeof(p), "%s/10.0.0.4/10.0.0.9", c->net), "c7\r\neth0");

	assert_int_equal(ipam_store_walk(&s, seen_cb, &seen), 0);
	ipam_store_close(&s);
	/* Only the two reservations; lock, last_reserved_ip.*, .rivet and
	 * everything planted above are passed over (and the FIFO did not
	 * block the walk). */
	assert_int_equal(seen.n, 2);
	for (size_t i = 0; i < 2; i++) {
		if (!strcmp(seen.names[i], "10.0.0.5"))
			assert_string_equal(seen.owners[i], "c1/eth0");
		else if (!strcmp(seen.names[i], "fd00::5"))
			assert_string_equal(seen.owners[i], "c2/eth0");
		else
			fail_msg("walk reported %s", seen.names[i]);
	}
}

/* A reservation file that names nobody still holds its address (host-local
 * and every other reader take it as taken): the walk reports it, damaged,
 * with its mtime, so that list shows it and GC and repair release it; and
 * only such a file can be released as damaged. */
static void test_walk_reports_damaged_reservations(void **state)
{
	static const char *const damaged[] = { "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9" };
	struct ctx *c = *state;
	struct ipam_store s;
	struct seen seen = { 0 };
	struct rv_ip a;
	char p[4200], long_id[400];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	plant(c, "10.0.0.6", "");				/* empty */
	plant(c, "10.0.0.7", " \r\n\t ");			/* blank */
	memset(long_id, 'x', 300);
	snprintf(long_id + 300, sizeof(long_id) - 300, "\r\neth0");
	plant(c, "10.0.0.8", long_id);				/* too long */
	tu_write(tu_path(p, sizeof(p), "%s/10.0.0.9", c->net), "");
	assert_int_equal(truncate(p, 16), 0);			/* NUL bytes */
	assert_int_equal(ipam_store_walk(&s, seen_cb, &seen), 0);
	assert_int_equal(seen.n, 5);
	for (size_t i = 0; i < seen.n; i++)
		assert_string_equal(seen.owners[i], strcmp(seen.names[i], "10.0.0.5") ? "/ (damaged)" : "c1/eth0");

	/* Released as damaged only while it still names nobody. */
	a = ip("10.0.0.5");
	assert_int_equal(ipam_store_release_damaged(&s, &a), -ENOENT);
	a = ip("10.0.0.10");
	assert_int_equal(ipam_store_release_damaged(&s, &a), -ENOENT);
	for (size_t i = 0; i < 4; i++) {
		a = ip(damaged[i]);
		assert_int_equal(ipam_store_release_damaged(&s, &a), 0);
		assert_absent(c, damaged[i]);
	}
	ipam_store_close(&s);
	assert_netfile(c, "10.0.0.5", "c1\r\neth0");
}

static void test_walk_stops(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct seen seen = { .stop_after = 1 };

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	reserve_ok(&s, "10.0.0.6", "c2", "eth0", 0);
	assert_int_equal(ipam_store_walk(&s, seen_cb, &seen), 7);
	assert_int_equal(seen.n, 1);
	ipam_store_close(&s);
}

/* ---- planted symlinks -------------------------------------------------------- */

static void test_symlink_address_not_followed(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	struct ipam_owner o;
	char victim[4200], p[4200], *v;
	size_t n = 0;

	tu_path(victim, sizeof(victim), "%s/victim", c->dir);
	tu_write(victim, "victim");
	mkdir_net(c);
	assert_int_equal(symlink("../victim", tu_path(p, sizeof(p), "%s/10.0.0.5", c->net)), 0);
	open_locked(c, &s, true, NULL);
	/* Taken (something is there), never written through. */
	assert_int_equal(ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err), -EEXIST);
	assert_int_equal(ipam_store_owner(&s, &a, &o), 0);
	assert_string_equal(o.container_id, "(unreadable file)");
	/* Not released under the content it points at. */
	assert_int_equal(ipam_store_release(&s, "victim", "eth0", 1, NULL, 0, &n), 0);
	assert_int_equal(ipam_store_release_ip(&s, &a, "victim", "", -1), -ENOENT);
	assert_int_equal(n, 0);
	ipam_store_close(&s);
	v = tu_read(victim, NULL);
	assert_string_equal(v, "victim");
	free(v);
	assert_true(tu_exists(p));
}

static void test_symlink_last_reserved_not_followed(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip got;
	char victim[4200], p[4200], *v;

	tu_path(victim, sizeof(victim), "%s/victim", c->dir);
	tu_write(victim, "10.0.0.9");
	mkdir_net(c);
	assert_int_equal(symlink("../victim", tu_path(p, sizeof(p), "%s/last_reserved_ip.0", c->net)), 0);
	open_locked(c, &s, true, NULL);
	/* Not read through... */
	assert_int_equal(ipam_store_last_reserved(&s, 0, &got), -ENOENT);
	/* ...and the reservation still succeeds without writing through. */
	reserve_ok(&s, "10.0.0.6", "c1", "eth0", 0);
	ipam_store_close(&s);
	v = tu_read(victim, NULL);
	assert_string_equal(v, "10.0.0.9");
	free(v);
	assert_netfile(c, "10.0.0.6", "c1\r\neth0");
}

static void test_symlink_lock_not_followed(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	char victim[4200], p[4200];

	tu_path(victim, sizeof(victim), "%s/victim", c->dir);
	mkdir_net(c);
	assert_int_equal(symlink("../victim", tu_path(p, sizeof(p), "%s/lock", c->net)), 0);
	assert_int_equal(ipam_store_open(&s, c->dir, NET, true, true, &err), 0);
	assert_true(ipam_store_lock(&s, 500, NULL, &err) < 0);
	assert_err(err, RIVET_ERR_STORE, "its lock is not a regular file");
	ipam_store_close(&s);
	/* The dangling target was not created. */
	assert_false(tu_exists(victim));
}

static void test_symlink_index_dirs_not_followed(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	char evil[4200], p[4200], names[256];

	tu_path(evil, sizeof(evil), "%s/evil", c->dir);
	assert_int_equal(mkdir(evil, 0755), 0);
	mkdir_net(c);
	/* .rivet itself a symlink. */
	assert_int_equal(symlink("../evil", tu_path(p, sizeof(p), "%s/.rivet", c->net)), 0);
	assert_int_equal(ipam_store_open(&s, c->dir, NET, true, true, &err), 0);
	assert_true(ipam_store_lock(&s, 500, NULL, &err) < 0);
	/* Refused on the way to .rivet/boot-<id>, whichever part is the link. */
	assert_err(err, RIVET_ERR_STORE, "is not a directory");
	ipam_store_close(&s);
	list_dir(evil, names, sizeof(names));
	assert_string_equal(names, "");

	/* This boot's directory a symlink. */
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(symlink("../../evil", tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->boot)), 0);
	err_clear(&err);
	assert_int_equal(ipam_store_open(&s, c->dir, NET, true, true, &err), 0);
	assert_true(ipam_store_lock(&s, 500, NULL, &err) < 0);
	assert_err(err, RIVET_ERR_STORE, "is not a directory");
	ipam_store_close(&s);
	list_dir(evil, names, sizeof(names));
	assert_string_equal(names, "");
}

/* ---- torn writes ------------------------------------------------------------- */

/* The address must be free and nothing half-written left anywhere. */
static void assert_clean_after_failure(struct ctx *c, const char *addr)
{
	char names[1024];

	assert_absent(c, addr);
	list_dir(c->net, names, sizeof(names));
	assert_not_contains(names, addr);
	assert_not_contains(names, "tmp");
}

static void test_torn_write_fsize(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	struct ipam_owner o;
	struct rlimit old, lim;
	void (*oldsig)(int);
	int r;

	open_locked(c, &s, true, NULL);
	/* Writes past the limit fail with EFBIG instead of killing us. */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);

	for (rlim_t limit = 0; limit < 8; limit += 3) {	/* nothing, then part of it */
		lim = old;
		lim.rlim_cur = limit;
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
		err_clear(&err);
		r = ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		if (r >= 0)
			fail_msg("reserve succeeded with RLIMIT_FSIZE %llu", (unsigned long long)limit);
		assert_int_equal(err.code, CNI_ERR_IO);
		assert_contains(err.msg, "cannot write a reservation");
		assert_int_equal(ipam_store_owner(&s, &a, &o), -ENOENT);
		assert_clean_after_failure(c, "10.0.0.5");
	}
	signal(SIGXFSZ, oldsig);

	/* With room again the same address is reserved whole. */
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);
	ipam_store_close(&s);
	assert_netfile(c, "10.0.0.5", "c1\r\neth0");
}

static void test_torn_write_reports_real_error(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	struct rlimit old, lim;
	void (*oldsig)(int);
	int r;

	open_locked(c, &s, true, NULL);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 3;	/* "c1\r\neth0" is 8 bytes: the first write is short */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* As open_boot_dir's mkdirat(".rivet") leaves it after a reboot. */
	errno = EEXIST;
	r = ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	ipam_store_close(&s);
	assert_true(r < 0);
	assert_int_not_equal(r, -EEXIST);
	assert_int_equal(err.code, CNI_ERR_IO);
	/* The kernel's words for what happened, not a leftover errno. */
	assert_contains(err.msg, strerror(EFBIG));
	assert_clean_after_failure(c, "10.0.0.5");
}

/* Exit codes of the full-tmpfs child, each a distinct failed check. */
enum {
	FULL_OK = 0,
	FULL_SKIP = 77,
	FULL_OPEN = 10, FULL_FILL, FULL_RESERVED, FULL_CODE, FULL_MSG, FULL_OWNER,
	FULL_LEFTOVER, FULL_RETRY, FULL_CONTENT,
};

static int full_fs_child(const char *mnt)
{
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	struct ipam_owner o;
	char path[4200], buf[4096], *content;
	int fd;
	DIR *d;
	struct dirent *de;

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return FULL_SKIP;
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,nr_inodes=64,mode=0755") != 0)
		return FULL_SKIP;
	if (ipam_store_open(&s, mnt, NET, true, true, &err) != 0 ||
	    ipam_store_lock(&s, 1000, NULL, &err) != 0)
		return FULL_OPEN;
	/* Fill every page the filesystem has. */
	tu_path(path, sizeof(path), "%s/filler", mnt);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return FULL_FILL;
	memset(buf, 'x', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	while (write(fd, buf, 1) > 0)
		;
	if (errno != ENOSPC)
		return FULL_FILL;
	errno = 0;
	if (ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err) >= 0)
		return FULL_RESERVED;
	if (err.code != CNI_ERR_IO)
		return FULL_CODE;
	if (!strstr(err.msg, strerror(ENOSPC)))
		return FULL_MSG;
	if (ipam_store_owner(&s, &a, &o) != -ENOENT)
		return FULL_OWNER;
	tu_path(path, sizeof(path), "%s/" NET, mnt);
	if (!(d = opendir(path)))
		return FULL_LEFTOVER;
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, "10.0.0.5") || strstr(de->d_name, "tmp"))
			return FULL_LEFTOVER;
	closedir(d);
	/* Room again: the whole reservation appears. */
	close(fd);
	tu_path(path, sizeof(path), "%s/filler", mnt);
	unlink(path);
	if (ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err) != 0)
		return FULL_RETRY;
	ipam_store_close(&s);
	tu_path(path, sizeof(path), "%s/" NET "/10.0.0.5", mnt);
	content = tu_read(path, NULL);
	if (!content || strcmp(content, "c1\r\neth0"))
		return FULL_CONTENT;
	umount(mnt);
	return FULL_OK;
}

static void test_torn_write_full_fs(void **state)
{
	struct ctx *c = *state;
	char mnt[4200];
	int status;
	pid_t pid;

	tu_path(mnt, sizeof(mnt), "%s/mnt", c->dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	/* The mount lives in the child's private namespace: the host never
	 * sees it, and it vanishes with the child. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(full_fs_child(mnt));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	switch (WEXITSTATUS(status)) {
	case FULL_OK:
		return;
	case FULL_SKIP:
		print_message("cannot mount a tmpfs in a private mount namespace here\n");
		skip();
		return;
	default:
		fail_msg("full-filesystem check %d failed (see the FULL_* enum)", WEXITSTATUS(status));
	}
}

/* ---- reclaim after reboot ---------------------------------------------------- */

static void plant_other_boot(struct ctx *c)
{
	char p[4200];

	mkdir_net(c);
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/.rivet", c->net), 0700), 0);
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->other), 0700), 0);
	/* rivet's reservation from the earlier boot, symlink index form. */
	plant(c, "10.0.0.5", "c1\r\neth0");
	assert_int_equal(symlink("../../10.0.0.5",
				 tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->other)), 0);
	/* An address released and given to someone else since. */
	plant(c, "10.0.0.7", "c9\r\neth0");
	assert_int_equal(symlink("../../10.0.0.7",
				 tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c2:eth0:0", c->net, c->other)), 0);
	/* host-local's: no index entry, no known boot, must stay. */
	plant(c, "10.0.0.6", "hl\r\neth0");
}

static void test_reclaim_earlier_boot(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	unsigned reclaimed = 99;
	char p[4200];

	plant_other_boot(c);
	open_locked(c, &s, true, &reclaimed);
	assert_int_equal(reclaimed, 1);
	ipam_store_unlock(&s);
	/* Only the first lock of the boot reclaims. */
	assert_int_equal(ipam_store_lock(&s, 1000, &reclaimed, NULL), 0);
	assert_int_equal(reclaimed, 0);
	ipam_store_close(&s);
	open_locked(c, &s, true, &reclaimed);
	assert_int_equal(reclaimed, 0);
	ipam_store_close(&s);

	assert_absent(c, "10.0.0.5");
	assert_netfile(c, "10.0.0.6", "hl\r\neth0");
	assert_netfile(c, "10.0.0.7", "c9\r\neth0");
	assert_false(tu_exists(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->other)));
	assert_true(tu_exists(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->boot)));
}

/* The first lock of a boot lists the index directory to reclaim earlier
 * boots' reservations; when that listing cannot be opened, nothing is
 * reclaimed and no file descriptor is left open. */
static void test_reclaim_listing_failure_leaks_no_fd(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	unsigned before, reclaimed = 99;

	plant_other_boot(c);
	before = open_fds();
	fdopendir_fails = 1;
	open_locked(c, &s, true, &reclaimed);
	fdopendir_fails = 0;
	ipam_store_close(&s);
	assert_int_equal(reclaimed, 0);
	assert_int_equal(open_fds(), before);
}

/* Where seccomp refuses openat2(2) with EPERM (container runtimes' older
 * default profiles), the index directory is opened the portable way. */
static int openat2_refused_child(struct ctx *c)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct rv_ip a = ip("10.0.0.5");
	struct ipam_owner o;
	int i;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 77;
	if (syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) >= 0 || errno != EPERM)
		return 2;
	/* Twice: the first lock of the boot makes the index, the second
	 * opens it. */
	for (i = 0; i < 2; i++) {
		if (ipam_store_open(&s, c->dir, NET, true, true, &err) != 0)
			return 3;
		if (ipam_store_lock(&s, 1000, NULL, &err) != 0) {
			fprintf(stderr, "lock: %s\n", err.msg);
			return 4;
		}
		if (i == 0 && ipam_store_reserve(&s, &a, "c1", "eth0", 0, &err) != 0)
			return 5;
		if (i == 1 && (ipam_store_lookup(&s, "c1", "eth0", 0, &a) != 0 || ipam_store_owner(&s, &a, &o) != 0))
			return 6;
		ipam_store_close(&s);
	}
	return 0;
}

static void test_openat2_refused_by_seccomp(void **state)
{
	struct ctx *c = *state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(openat2_refused_child(c));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_reclaim_hardlink_form(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	unsigned reclaimed = 99;
	char p[4200], q[4200];

	mkdir_net(c);
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/.rivet", c->net), 0700), 0);
	assert_int_equal(mkdir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->other), 0700), 0);
	plant(c, "10.0.0.5", "c1\r\neth0");
	tu_path(p, sizeof(p), "%s/10.0.0.5", c->net);
	if (setxattr(p, "user.rivet.ip", "10.0.0.5", 8, 0) != 0)
		skip();
	assert_int_equal(link(p, tu_path(q, sizeof(q), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->other)), 0);
	/* A forged entry: right xattr, another inode. */
	plant(c, "10.0.0.6", "c2\r\neth0");
	tu_path(q, sizeof(q), "%s/.rivet/boot-%s/c2:eth0:0", c->net, c->other);
	tu_write(q, "c2\r\neth0");
	assert_int_equal(setxattr(q, "user.rivet.ip", "10.0.0.6", 8, 0), 0);

	open_locked(c, &s, true, &reclaimed);
	ipam_store_close(&s);
	assert_int_equal(reclaimed, 1);
	assert_absent(c, "10.0.0.5");
	assert_netfile(c, "10.0.0.6", "c2\r\neth0");
}

static void test_reclaim_disabled(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	unsigned reclaimed = 99;
	char p[4200];

	plant_other_boot(c);
	open_locked(c, &s, false, &reclaimed);
	ipam_store_close(&s);
	assert_int_equal(reclaimed, 0);
	assert_netfile(c, "10.0.0.5", "c1\r\neth0");
	assert_netfile(c, "10.0.0.6", "hl\r\neth0");
	assert_netfile(c, "10.0.0.7", "c9\r\neth0");
	assert_true(tu_exists(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/c1:eth0:0", c->net, c->other)));
}

/* ---- lock ------------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* A child that holds the store's flock until the write end of @release is
 * closed by the parent (or for @hold_ms when non-zero). Writes one byte on
 * @ready once it holds it. */
static pid_t hold_lock(const char *net, const int ready[2], const int release[2], unsigned hold_ms)
{
	pid_t pid = fork();
	char path[4200], b = 1;

	assert_true(pid >= 0);
	if (pid)
		return pid;
	/* Its own copy of the write end would keep read() from seeing EOF. */
	close(ready[0]);
	close(release[1]);
	snprintf(path, sizeof(path), "%s/lock", net);
	{
		int fd = open(path, O_RDONLY | O_CREAT, 0600);

		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		if (write(ready[1], &b, 1) != 1)
			_exit(1);
		if (hold_ms)
			usleep(hold_ms * 1000);
		else
			(void)!read(release[0], &b, 1);
		_exit(0);
	}
}

static void test_lock_timeout(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	struct sigaction before, after;
	struct itimerval timer;
	int ready[2], release[2], status, r;
	double t0, elapsed;
	pid_t pid;
	char b;

	mkdir_net(c);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	pid = hold_lock(c->net, ready, release, 0);
	assert_int_equal(read(ready[0], &b, 1), 1);

	assert_int_equal(sigaction(SIGALRM, NULL, &before), 0);
	assert_int_equal(ipam_store_open(&s, c->dir, NET, true, true, &err), 0);
	t0 = now_ms();
	r = ipam_store_lock(&s, 300, NULL, &err);
	elapsed = now_ms() - t0;
	assert_true(r < 0);
	assert_err(err, CNI_ERR_TRY_AGAIN, "is locked by another process for more than 300 ms; try again");
	/* The message says which file, and how to find who holds it. */
	{
		char want[4200];

		snprintf(want, sizeof(want), "%s/%s/lock", c->dir, NET);
		assert_err(err, CNI_ERR_TRY_AGAIN, want);
		snprintf(want, sizeof(want), "fuser -v %s/%s/lock", c->dir, NET);
		assert_err(err, CNI_ERR_TRY_AGAIN, want);
	}
	if (elapsed < 250 || elapsed > 5000)
		fail_msg("gave up after %.0f ms, want about 300", elapsed);
	/* The timer and the SIGALRM disposition are put back. */
	assert_int_equal(getitimer(ITIMER_REAL, &timer), 0);
	assert_int_equal(timer.it_value.tv_sec, 0);
	assert_int_equal(timer.it_value.tv_usec, 0);
	assert_int_equal(sigaction(SIGALRM, NULL, &after), 0);
	assert_ptr_equal(after.sa_handler, before.sa_handler);

	/* Released: the next attempt takes it. */
	close(release[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	err_clear(&err);
	assert_int_equal(ipam_store_lock(&s, 1000, NULL, &err), 0);
	ipam_store_close(&s);
	close(ready[0]);
	close(ready[1]);
	close(release[0]);
}

static void test_lock_waits_for_release(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_err err = { 0 };
	int ready[2], release[2], status;
	double t0, elapsed;
	pid_t pid;
	char b;

	mkdir_net(c);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	/* Held for 200 ms: a 5 s budget must wait for it, not fail at once. */
	pid = hold_lock(c->net, ready, release, 200);
	assert_int_equal(read(ready[0], &b, 1), 1);
	assert_int_equal(ipam_store_open(&s, c->dir, NET, true, true, &err), 0);
	t0 = now_ms();
	if (ipam_store_lock(&s, 5000, NULL, &err) != 0)
		fail_msg("lock: %s", err.msg);
	elapsed = now_ms() - t0;
	assert_true(elapsed >= 100 && elapsed < 4000);
	ipam_store_close(&s);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
	close(release[0]);
	close(release[1]);
}

/* ---- prune ----------------------------------------------------------------- */

static void test_prune_index(void **state)
{
	struct ctx *c = *state;
	struct ipam_store s;
	struct rv_ip got;
	char p[4200], names[1024];

	open_locked(c, &s, true, NULL);
	reserve_ok(&s, "10.0.0.5", "c1", "eth0", 0);	/* valid */
	reserve_ok(&s, "10.0.0.6", "c2", "eth0", 0);	/* released behind its back */
	reserve_ok(&s, "10.0.0.7", "c3", "eth0", 0);	/* re-reserved by host-local since */
	assert_int_equal(unlink(tu_path(p, sizeof(p), "%s/10.0.0.6", c->net)), 0);
	assert_int_equal(unlink(tu_path(p, sizeof(p), "%s/10.0.0.7", c->net)), 0);
	plant(c, "10.0.0.7", "c3\r\neth0");
	tu_write(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/garbage", c->net, c->boot), "x");
	tu_write(tu_path(p, sizeof(p), "%s/.rivet/boot-%s/a:b:notanumber", c->net, c->boot), "x");

	assert_int_equal(ipam_store_prune_index(&s), 4);
	assert_int_equal(ipam_store_lookup(&s, "c1", "eth0", 0, &got), 0);
	assert_int_equal(ipam_store_prune_index(&s), 0);
	ipam_store_close(&s);
	list_dir(tu_path(p, sizeof(p), "%s/.rivet/boot-%s", c->net, c->boot), names, sizeof(names));
	assert_string_equal(names, "c1:eth0:0");
	/* Pruning touches the index only. */
	assert_netfile(c, "10.0.0.5", "c1\r\neth0");
	assert_netfile(c, "10.0.0.7", "c3\r\neth0");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_missing_without_create),
		T(test_open_creates_0755),
		T(test_open_refuses_symlinked_dir),
		T(test_reserve_host_local_format),
		T(test_reserve_index_entry),
		T(test_reserve_taken),
		T(test_reserve_fails_without_its_index_entry),
		T(test_reserve_taken_leaves_no_index_entry),
		T(test_reserve_long_names),
		T(test_owner),
		T(test_last_reserved),
		T(test_lookup),
		T(test_lookup_symlink_form),
		T(test_lookup_forged_hardlink_entry),
		T(test_release_via_index),
		T(test_release_via_walk),
		T(test_release_index_and_walk_mixed),
		T(test_release_old_format),
		T(test_release_old_format_only_without_exact),
		T(test_release_ip),
		T(test_walk_skips_non_reservations),
		T(test_walk_reports_damaged_reservations),
		T(test_walk_stops),
		T(test_symlink_address_not_followed),
		T(test_symlink_last_reserved_not_followed),
		T(test_symlink_lock_not_followed),
		T(test_symlink_index_dirs_not_followed),
		T(test_torn_write_fsize),
		T(test_torn_write_reports_real_error),
		T(test_torn_write_full_fs),
		T(test_reclaim_earlier_boot),
		T(test_reclaim_listing_failure_leaks_no_fd),
		T(test_openat2_refused_by_seccomp),
		T(test_reclaim_hardlink_form),
		T(test_reclaim_disabled),
		T(test_lock_timeout),
		T(test_lock_waits_for_release),
		T(test_prune_index),
	};

	umask(022);
	/* The store warns on stderr about what it reclaims and releases;
	 * the tests check the files instead. */
	log_configure(NULL, RV_LOG_ERROR, 0);
	return cmocka_run_group_tests_name("ipam/store", tests, NULL, NULL);
}

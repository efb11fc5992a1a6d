// SPDX-License-Identifier: Apache-2.0
/*
 * host-local's on-disk store, plus rivet's per-boot index (see store.h).
 *
 * Every path below the network directory is opened relative to its fd with
 * O_NOFOLLOW, so a symlink planted in the store can neither redirect a write
 * nor be mistaken for a reservation. Every file is opened with O_NONBLOCK and
 * used only if it is a regular file, so a FIFO planted there cannot stop
 * rivet while it holds the lock. Names come only from validated input
 * (container IDs, ifnames, formatted addresses), never from file content.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ipam/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/model.h"

#define XATTR_IP "user.rivet.ip"
#define INDEX_DIR ".rivet"
#define BOOT_PREFIX "boot-"
#define LAST_PREFIX "last_reserved_ip."

static int errno_neg(void)
{
	return errno ? -errno : -EIO;
}

/* write(2) all of @buf; 0 or the real -errno (a short write to a full disk
 * says nothing in errno, so the retry is what reports it). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int store_error(struct ipam_store *s, struct rv_err *err, int e, const char *what)
{
	/* A full or read-only filesystem is the operator's to fix; say which. */
	return err_set(err, CNI_ERR_IO, e, "IPAM store %s: cannot %s: %s", s->path, what, strerror(e));
}

static int read_boot_id(char *out, size_t len)
{
	char buf[64];
	ssize_t n;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno_neg();
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	/* Used as a path component: accept only what a UUID contains. */
	n = (ssize_t)strlen(buf);
	if (!n || (size_t)n >= len || strspn(buf, "0123456789abcdef-") != (size_t)n)
		return -EINVAL;
	memcpy(out, buf, (size_t)n + 1);
	return 0;
}

int ipam_store_open(struct ipam_store *s, const char *data_dir, const char *network, bool create,
		    bool reclaim, struct rv_err *err)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->dirfd = s->lockfd = s->bootfd = s->tmpfd = -1;
	s->reclaim = reclaim;
	if (!data_dir)
		data_dir = IPAM_DEFAULT_DATA_DIR;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s", data_dir, network) >= sizeof(s->path))
		return err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "ipam.dataDir is too long");

	s->dirfd = open(s->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0 && errno == ENOENT && create) {
		r = fs_mkdir_p(s->path, 0755);
		if (r < 0)
			return store_error(s, err, -r, "create the directory");
		s->dirfd = open(s->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (s->dirfd < 0) {
		r = errno;
		if (r == ENOENT && !create)
			return -ENOENT;
		if (r == ELOOP || r == ENOTDIR)
			return err_set(err, RIVET_ERR_STORE, r,
				       "IPAM store %s is not a directory (a symlink or file is in its place); "
				       "move it away", s->path);
		return store_error(s, err, r, "open the directory");
	}
	r = read_boot_id(s->boot_id, sizeof(s->boot_id));
	if (r < 0)
		return err_set(err, CNI_ERR_IO, -r, "cannot read /proc/sys/kernel/random/boot_id: %s",
			       strerror(-r));
	return 0;
}

static void drop_tmpfile(struct ipam_store *s)
{
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	if (s->tmpname[0])
		unlinkat(s->dirfd, s->tmpname, 0);
	s->tmpfd = -1;
	s->tmpname[0] = '\0';
	/* An index entry made for a reservation that was never published
	 * names nothing: it goes with the file. */
	if (s->tmpkey[0] && !s->tmpkey_none && s->bootfd >= 0)
		unlinkat(s->bootfd, s->tmpkey, 0);
	s->tmpkey[0] = '\0';
	s->tmpkey_hard = s->tmpkey_none = false;
}

void ipam_store_close(struct ipam_store *s)
{
	drop_tmpfile(s);
	ipam_store_unlock(s);
	if (s->bootfd >= 0)
		close(s->bootfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = s->lockfd = s->bootfd = s->tmpfd = -1;
}

int ipam_store_writable(struct ipam_store *s, struct rv_err *err)
{
	if (faccessat(s->dirfd, ".", W_OK, AT_EACCESS) < 0)
		return store_error(s, err, errno, "write to it");
	return 0;
}

int ipam_store_creatable(const char *data_dir, struct rv_err *err)
{
	char path[4096];
	char *slash;

	if ((size_t)snprintf(path, sizeof(path), "%s", data_dir ? data_dir : IPAM_DEFAULT_DATA_DIR) >= sizeof(path))
		return err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "ipam.dataDir is too long");
	for (;;) {
		if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
			return 0;
		if (errno != ENOENT)
			return err_set(err, CNI_ERR_IO, errno, "IPAM dataDir %s: cannot write to %s: %s",
				       data_dir ? data_dir : IPAM_DEFAULT_DATA_DIR, path, strerror(errno));
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			return 0;
		*slash = '\0';
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Wait for the flock with a deadline. A timer signal interrupts the
 * blocking flock(2), so there is no polling loop. */
static int flock_timeout(int fd, unsigned timeout_ms)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { 0 }, off = { 0 };
	int r, e;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return errno_neg();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	it.it_value.tv_sec = timeout_ms / 1000;
	it.it_value.tv_usec = (timeout_ms % 1000) * 1000 + 1;
	/* Re-armed: should the deadline pass before flock() blocks, the next
	 * tick still interrupts it, rather than none ever arriving. */
	it.it_interval.tv_usec = 20000;
	setitimer(ITIMER_REAL, &it, NULL);
	r = flock(fd, LOCK_EX);
	e = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	if (r == 0)
		return 0;
	return e == EINTR ? -ETIMEDOUT : -e;
}

static bool parse_content(const char *buf, struct ipam_owner *o)
{
	const char *end = buf + strlen(buf), *crlf;
	size_t n;

	/* host-local compares after strings.TrimSpace. */
	while (*buf == ' ' || *buf == '\t' || *buf == '\r' || *buf == '\n')
		buf++;
	while (end > buf && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end == buf)
		return false;
	crlf = memmem(buf, (size_t)(end - buf), "\r\n", 2);
	n = (size_t)((crlf ? crlf : end) - buf);
	if (n >= sizeof(o->container_id))
		return false;
	memcpy(o->container_id, buf, n);
	o->container_id[n] = '\0';
	o->ifname[0] = '\0';
	if (crlf) {
		n = (size_t)(end - crlf - 2);
		if (n >= sizeof(o->ifname))
			return false;
		memcpy(o->ifname, crlf + 2, n);
		o->ifname[n] = '\0';
	}
	return true;
}

/* The owner named by file @name: 0; -EINVAL when it is not a regular file
 * (a symlink, a FIFO); -EBADMSG when it is one but names nobody (empty,
 * blank, or too long: what a crash during host-local's create-then-write,
 * or a power loss, leaves), with o->since set and the names empty; or the
 * -errno of opening or reading it. */
static int read_owner_at(int dirfd, const char *name, struct ipam_owner *o)
{
	char buf[sizeof(o->container_id) + sizeof(o->ifname) + 8];
	struct stat st;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return errno == ELOOP ? -EINVAL : errno_neg();
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	o->since = st.st_mtime;
	o->damaged = false;
	if (!parse_content(buf, o)) {
		o->container_id[0] = o->ifname[0] = '\0';
		o->damaged = true;
		return -EBADMSG;
	}
	return 0;
}

static bool owned_by(const struct ipam_owner *o, const char *id, const char *ifname, bool old_ok)
{
	if (strcmp(o->container_id, id))
		return false;
	if (!strcmp(o->ifname, ifname))
		return true;
	return old_ok && !o->ifname[0];
}

static int index_key(char *buf, size_t len, const char *id, const char *ifname, unsigned set)
{
	return (size_t)snprintf(buf, len, "%s:%s:%u", id, ifname, set) < len ? 0 : -ENAMETOOLONG;
}

/* Split an index entry's name "<id>:<ifname>:<set>" in place. */
static bool split_key(char *key, char **ifname, unsigned *set)
{
	char *a = strchr(key, ':'), *b = strrchr(key, ':'), *end;

	if (!a || b == a)
		return false;
	*a = *b = '\0';
	*ifname = a + 1;
	*set = (unsigned)strtoul(b + 1, &end, 10);
	return !*end && b[1];
}

/* The address index entry @key in @idxfd records, if, and only if, that
 * address's reservation is still the attachment's: for a hard link, the
 * network directory's file of that address must be the very same inode;
 * for the symlink form, a file naming (@id, @ifname). 0; -ENOENT when there
 * is no entry; -ESTALE when there is one that does not hold. */
static int index_resolve(struct ipam_store *s, int idxfd, const char *key, const char *id,
			 const char *ifname, struct rv_ip *out)
{
	char buf[IP_STRLEN + 8], canon[IP_STRLEN];
	struct stat a, b;
	struct ipam_owner o;
	ssize_t n;
	int fd, r = -ESTALE;

	fd = openat(idxfd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ELOOP)
			return errno == ENOENT ? -ENOENT : -ESTALE;
		n = readlinkat(idxfd, key, buf, sizeof(buf) - 1);
		if (n <= 6)
			return -ESTALE;
		buf[n] = '\0';
		if (strncmp(buf, "../../", 6) || ip_parse(buf + 6, out) < 0 ||
		    strcmp(ip_fmt(out, canon), buf + 6))
			return -ESTALE;
		return read_owner_at(s->dirfd, canon, &o) == 0 && owned_by(&o, id, ifname, false) ? 0 : -ESTALE;
	}
	n = fgetxattr(fd, XATTR_IP, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		/* The xattr names a file: only a canonical address will do. */
		if (ip_parse(buf, out) == 0 && !strcmp(ip_fmt(out, canon), buf) &&
		    fstat(fd, &a) == 0 && S_ISREG(a.st_mode) &&
		    fstatat(s->dirfd, canon, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			r = 0;
	}
	close(fd);
	return r;
}

/* Reclaim every reservation an earlier boot's index lists and drop that
 * index: no pod outlives the boot it was started in. Only reservations
 * rivet itself made are known to belong to a boot; host-local's stay. */
static unsigned reclaim_boot_dir(struct ipam_store *s, int idxfd, const char *name)
{
	unsigned count = 0;
	struct dirent *de;
	DIR *d;
	int fd = openat(idxfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		char key[300], a[IP_STRLEN], *ifname;
		struct rv_ip ip;
		unsigned set;

		if (de->d_name[0] == '.')
			continue;
		snprintf(key, sizeof(key), "%s", de->d_name);
		if (split_key(key, &ifname, &set) && index_resolve(s, fd, de->d_name, key, ifname, &ip) == 0 &&
		    unlinkat(s->dirfd, ip_fmt(&ip, a), 0) == 0) {
			count++;
			log_warn("reclaimed %s held by %s/%s since an earlier boot (%s)",
				 a, key, ifname, name + strlen(BOOT_PREFIX));
		}
		unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	unlinkat(idxfd, name, AT_REMOVEDIR);
	return count;
}

/* Open the directory @path below @dirfd following no symlink on the way,
 * so a link planted at .rivet cannot redirect the index. openat2 does it in
 * one call; kernels before 5.6 (ENOSYS), and seccomp profiles that refuse
 * the call they do not know (EPERM, as older container runtimes' did), take
 * one openat per component. */
static int open_dir_beneath(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH,
	};
	const char *slash;
	char first[64];
	int fd, sub, e;

	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	slash = strchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(first))
		return openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	memcpy(first, path, (size_t)(slash - path));
	first[slash - path] = '\0';
	sub = openat(dirfd, first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -1;
	fd = open_dir_beneath(sub, slash + 1);
	e = errno;
	close(sub);
	errno = e;
	return fd;
}

static int boot_dir_error(struct ipam_store *s, struct rv_err *err, const char *name)
{
	if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
		return err_set(err, RIVET_ERR_STORE, errno,
			       "IPAM store %s: %s is not a directory (a symlink or file is in its place); "
			       "move it away", s->path, name);
	return store_error(s, err, errno, "open its index directory " INDEX_DIR);
}

/* Open this boot's index directory, creating it (and reclaiming earlier
 * boots' reservations when enabled) the first time this boot locks. */
static int open_boot_dir(struct ipam_store *s, unsigned *reclaimed, struct rv_err *err)
{
	char name[64];
	struct dirent *de;
	DIR *d;
	int idxfd, fd;

	snprintf(name, sizeof(name), INDEX_DIR "/" BOOT_PREFIX "%s", s->boot_id);
	s->bootfd = open_dir_beneath(s->dirfd, name);
	if (s->bootfd >= 0)
		return 0;
	if (errno != ENOENT)
		return boot_dir_error(s, err, name);

	if (mkdirat(s->dirfd, INDEX_DIR, 0700) < 0 && errno != EEXIST)
		return store_error(s, err, errno, "create " INDEX_DIR);
	idxfd = openat(s->dirfd, INDEX_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (idxfd < 0)
		return err_set(err, RIVET_ERR_STORE, errno,
			       "IPAM store %s: %s is not a directory; move it away", s->path, INDEX_DIR);
	/* Reclaiming is best effort: unlisted, the earlier boots' entries
	 * wait for the next boot's first lock. */
	if (s->reclaim && (fd = dup(idxfd)) >= 0) {
		if (!(d = fdopendir(fd))) {
			close(fd);
		} else {
			while ((de = readdir(d))) {
				if (strncmp(de->d_name, BOOT_PREFIX, strlen(BOOT_PREFIX)) ||
				    !strcmp(de->d_name + strlen(BOOT_PREFIX), s->boot_id))
					continue;
				*reclaimed += reclaim_boot_dir(s, idxfd, de->d_name);
			}
			closedir(d);
		}
	}
	if (mkdirat(idxfd, name + strlen(INDEX_DIR "/"), 0700) < 0 && errno != EEXIST) {
		close(idxfd);
		return store_error(s, err, errno, "create its index directory");
	}
	close(idxfd);
	s->bootfd = openat(s->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->bootfd < 0)
		return store_error(s, err, errno, "open its index directory");
	return 0;
}

int ipam_store_lock(struct ipam_store *s, unsigned timeout_ms, unsigned *reclaimed,
		    struct rv_err *err)
{
	unsigned count = 0;
	char name[64];
	int r;

	/* This boot's index exists on all but the first lock of a boot: open
	 * it before taking the lock (it needs none), so that a store damaged
	 * there is refused before anything, even the lock file, is created. */
	if (s->bootfd < 0) {
		snprintf(name, sizeof(name), INDEX_DIR "/" BOOT_PREFIX "%s", s->boot_id);
		s->bootfd = open_dir_beneath(s->dirfd, name);
		if (s->bootfd < 0 && errno != ENOENT)
			return boot_dir_error(s, err, name);
	}
	if (s->lockfd < 0) {
		struct stat st;

		s->lockfd = openat(s->dirfd, "lock", O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
		if (s->lockfd >= 0 && fstat(s->lockfd, &st) == 0 && !S_ISREG(st.st_mode)) {
			close(s->lockfd);
			s->lockfd = -1;
			errno = EINVAL;
		}
		if (s->lockfd < 0 && (errno == ELOOP || errno == EISDIR || errno == ENXIO || errno == EINVAL))
			return err_set(err, RIVET_ERR_STORE, errno,
				       "IPAM store %s: its lock is not a regular file (a symlink, directory "
				       "or FIFO is in its place); move it away", s->path);
		if (s->lockfd < 0)
			return store_error(s, err, errno, "open its lock file");
	}
	r = flock_timeout(s->lockfd, timeout_ms);
	if (r == -ETIMEDOUT)
		return err_set(err, CNI_ERR_TRY_AGAIN, ETIMEDOUT,
			       "IPAM store %s is locked by another process for more than %u ms; try again. "
			       "The holder of %s/lock is among the processes `fuser -v %s/lock` lists "
			       "(the others wait for it)",
			       s->path, timeout_ms, s->path, s->path);
	if (r < 0)
		return store_error(s, err, -r, "lock it");
	s->locked = true;
	if (s->bootfd < 0 && (r = open_boot_dir(s, &count, err)) < 0) {
		ipam_store_unlock(s);
		return r;
	}
	if (reclaimed)
		*reclaimed = count;
	return 0;
}

void ipam_store_unlock(struct ipam_store *s)
{
	if (s->locked)
		flock(s->lockfd, LOCK_UN);
	s->locked = false;
}

/* An unlinked file holding @content, ready to be linked under an address's
 * name. It is kept across attempts: when the round robin meets taken
 * addresses, each attempt is one linkat(2), not a new inode. O_TMPFILE needs
 * filesystem support; without it a named temporary file does the same job. */
static int prepare_tmpfile(struct ipam_store *s, const char *content, size_t len)
{
	int r;

	if (s->tmpfd >= 0 && !strcmp(s->tmpcontent, content))
		return 0;
	drop_tmpfile(s);
	s->tmpfd = openat(s->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (s->tmpfd < 0) {
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return errno_neg();
		snprintf(s->tmpname, sizeof(s->tmpname), ".rivet-tmp-%d", (int)getpid());
		unlinkat(s->dirfd, s->tmpname, 0);	/* a crashed run of a recycled pid */
		s->tmpfd = openat(s->dirfd, s->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s->tmpfd < 0) {
			s->tmpname[0] = '\0';
			return errno_neg();
		}
	}
	r = write_all(s->tmpfd, content, len);
	if (r < 0) {
		drop_tmpfile(s);
		return r;
	}
	snprintf(s->tmpcontent, sizeof(s->tmpcontent), "%s", content);
	return 0;
}

/* Link the prepared file as @name in @dirfd. AT_EMPTY_PATH would need
 * CAP_DAC_READ_SEARCH; the /proc/self/fd path does not. */
static int link_tmpfile(struct ipam_store *s, int dirfd, const char *name)
{
	char proc[64];

	if (s->tmpname[0])
		return linkat(s->dirfd, s->tmpname, dirfd, name, 0) == 0 ? 0 : errno_neg();
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->tmpfd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno_neg();
}

/* The index entry @key for the reservation about to be published as @name:
 * a second hard link to the prepared file, whose xattr names @name, or
 * without xattrs a symlink to ../../@name. Written before the reservation,
 * so a kill between the two leaves an entry that names nothing the
 * attachment holds (index_resolve rejects it: not the same inode, or not
 * the attachment's file), never a reservation that no entry names. 0, or
 * -errno when no entry could be written, which fails the reservation. */
static int index_add(struct ipam_store *s, const char *key, const char *name, bool hardlink,
		     const char *id, const char *ifname)
{
	char target[IP_STRLEN + 8], held_name[IP_STRLEN];
	struct rv_ip held;
	int r;

	/* Done for this file at an earlier attempt (the round robin met a
	 * taken address): the hard link is the file, whose xattr now names
	 * @name; or it was decided that there is to be no entry. */
	if (!strcmp(s->tmpkey, key) && (s->tmpkey_none || s->tmpkey_hard))
		return 0;
	/* The attachment already holds another address of this set (a retried
	 * ADD that asked for a different one). An entry can name only one, so
	 * it names none: release then reads every file and finds both. */
	r = index_resolve(s, s->bootfd, key, id, ifname, &held);
	if (r == 0 && strcmp(ip_fmt(&held, held_name), name)) {
		unlinkat(s->bootfd, key, 0);
		snprintf(s->tmpkey, sizeof(s->tmpkey), "%s", key);
		s->tmpkey_none = true;
		return 0;
	}
	if (r != -ENOENT)
		unlinkat(s->bootfd, key, 0);	/* stale, or an earlier attempt's symlink */
	s->tmpkey_hard = hardlink && link_tmpfile(s, s->bootfd, key) == 0;
	if (!s->tmpkey_hard) {
		snprintf(target, sizeof(target), "../../%s", name);
		if (symlinkat(target, s->bootfd, key) < 0)
			return errno_neg();
	}
	snprintf(s->tmpkey, sizeof(s->tmpkey), "%s", key);
	return 0;
}

int ipam_store_reserve(struct ipam_store *s, const struct rv_ip *ip, const char *id,
		       const char *ifname, unsigned set, struct rv_err *err)
{
	char name[IP_STRLEN], content[300], key[300], last[48];
	bool xattr;
	size_t n;
	int fd, r;

	ip_fmt(ip, name);
	n = (size_t)snprintf(content, sizeof(content), "%s\r\n%s", id, ifname);
	r = prepare_tmpfile(s, content, n);
	if (r < 0)
		return store_error(s, err, -r, "write a reservation");
	xattr = fsetxattr(s->tmpfd, XATTR_IP, name, strlen(name), 0) == 0;
	/* The index entry first (see index_add); the names are bounded so
	 * that the key always fits. */
	if (s->bootfd >= 0 && index_key(key, sizeof(key), id, ifname, set) == 0) {
		r = index_add(s, key, name, xattr, id, ifname);
		if (r < 0) {
			drop_tmpfile(s);
			return store_error(s, err, -r, "write a reservation's index entry");
		}
	}
	r = link_tmpfile(s, s->dirfd, name);
	if (r == -EEXIST)
		return r;	/* the entry stays for the next attempt (or goes with the file) */
	if (r < 0) {
		drop_tmpfile(s);
		return store_error(s, err, -r, "write a reservation");
	}
	/* Published, and the entry names it: the next reservation needs a
	 * file (and an entry) of its own. */
	s->tmpkey[0] = '\0';
	drop_tmpfile(s);

	/* Written in place, then cut to length, rather than with O_TRUNC as
	 * host-local does: truncating a file to zero arms ext4's (and XFS's)
	 * auto_da_alloc, which starts writeback at close(), and the next ADD's
	 * truncation then waits for it (0.2-1.5 ms here). Torn, the file holds
	 * a wrong address at worst, which only moves where the round robin
	 * resumes; host-local reads it the same way. */
	snprintf(last, sizeof(last), LAST_PREFIX "%u", set);
	n = strlen(name);
	/* Anything but a regular file there (a FIFO: ENXIO or not S_ISREG) is
	 * left alone, as a symlink is: the hint is lost, nothing else. */
	fd = openat(s->dirfd, last, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pwrite(fd, name, n, 0) == (ssize_t)n)
			(void)!ftruncate(fd, (off_t)n);
		close(fd);
	} else if (errno == ENOENT && prepare_tmpfile(s, name, n) == 0) {
		/* The set's first reservation: the file appears complete. */
		(void)link_tmpfile(s, s->dirfd, last);
		drop_tmpfile(s);
	}
	return 0;
}

int ipam_store_last_reserved(struct ipam_store *s, unsigned set, struct rv_ip *out)
{
	char name[48], buf[IP_STRLEN];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), LAST_PREFIX "%u", set);
	fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -ENOENT;
	n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	return ip_parse(buf, out) == 0 ? 0 : -ENOENT;
}

int ipam_store_owner(struct ipam_store *s, const struct rv_ip *ip, struct ipam_owner *out)
{
	char name[IP_STRLEN];
	int r = read_owner_at(s->dirfd, ip_fmt(ip, name), out);

	if (r == -ENOENT)
		return -ENOENT;
	if (r < 0) {
		/* Taken by something unreadable: report it as held. */
		snprintf(out->container_id, sizeof(out->container_id), "(unreadable file)");
		out->ifname[0] = '\0';
		if (r != -EBADMSG)
			out->since = 0;
		out->damaged = r == -EBADMSG;
	}
	return 0;
}

int ipam_store_lookup(struct ipam_store *s, const char *id, const char *ifname, unsigned set,
		      struct rv_ip *out)
{
	char key[300];
	int r;

	if (s->bootfd < 0 || index_key(key, sizeof(key), id, ifname, set) < 0)
		return -ENOENT;
	r = index_resolve(s, s->bootfd, key, id, ifname, out);
	if (r == 0)
		return 0;
	/* Stale: the reservation was released behind the index's back. */
	if (r == -ESTALE)
		unlinkat(s->bootfd, key, 0);
	return -ENOENT;
}

static bool index_exists(struct ipam_store *s, const char *id, const char *ifname, unsigned set)
{
	char key[300];
	struct stat st;

	return s->bootfd >= 0 && index_key(key, sizeof(key), id, ifname, set) == 0 &&
	       fstatat(s->bootfd, key, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Drop the attachment's entries: those of the config's sets, and any past
 * them (sets are numbered from 0 without gaps, so the first missing one
 * beyond the config's count ends the search). */
static void drop_index(struct ipam_store *s, const char *id, const char *ifname, unsigned n_sets)
{
	char key[300];

	for (unsigned set = 0; set < 256; set++) {
		if (index_key(key, sizeof(key), id, ifname, set) < 0 ||
		    (unlinkat(s->bootfd, key, 0) < 0 && set >= n_sets))
			break;
	}
}

static void push_ip(struct rv_ip *out, size_t max, size_t *n, const struct rv_ip *ip)
{
	if (out && *n < max)
		out[*n] = *ip;
	(*n)++;
}

struct release_walk {
	const char *id, *ifname;
	struct rv_ip *old;	/* ID-only matches, released only if no exact one */
	size_t n_old, cap_old;
	struct rv_ip *out;
	size_t max, *n;
	struct ipam_store *s;
};

static int release_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	struct release_walk *w = ctx;
	char name[IP_STRLEN];

	if (strcmp(o->container_id, w->id))
		return 0;
	if (!strcmp(o->ifname, w->ifname)) {
		if (unlinkat(w->s->dirfd, ip_fmt(ip, name), 0) == 0)
			push_ip(w->out, w->max, w->n, ip);
	} else if (!o->ifname[0] && w->n_old < w->cap_old) {
		w->old[w->n_old++] = *ip;
	}
	return 0;
}

int ipam_store_release(struct ipam_store *s, const char *id, const char *ifname, unsigned n_sets,
		       struct rv_ip *out, size_t max, size_t *n)
{
	struct rv_ip old[16];
	struct release_walk w = {
		.id = id, .ifname = ifname, .old = old, .cap_old = 16,
		.out = out, .max = max, .n = n, .s = s,
	};
	char name[IP_STRLEN];
	unsigned found = 0;
	size_t before = *n;
	bool extra;

	for (unsigned set = 0; set < n_sets; set++) {
		struct rv_ip ip;

		if (ipam_store_lookup(s, id, ifname, set, &ip) < 0)
			continue;
		if (unlinkat(s->dirfd, ip_fmt(&ip, name), 0) == 0) {
			push_ip(out, max, n, &ip);
			found++;
		}
	}
	/* An entry past the config's sets: the config lost a set since ADD,
	 * and that set's address must go too. */
	extra = index_exists(s, id, ifname, n_sets);
	drop_index(s, id, ifname, n_sets);
	if (n_sets && found == n_sets && !extra)
		return 0;

	/* Not all in the index: reservations made by host-local, by an earlier
	 * boot, by an older rivet killed before it indexed them, or under
	 * another config. Read every file, as host-local does. */
	ipam_store_walk(s, release_cb, &w);
	if (*n == before)
		for (size_t i = 0; i < w.n_old; i++)
			if (unlinkat(s->dirfd, ip_fmt(&w.old[i], name), 0) == 0)
				push_ip(out, max, n, &w.old[i]);
	return 0;
}

int ipam_store_release_ip(struct ipam_store *s, const struct rv_ip *ip, const char *id,
			  const char *ifname, int set)
{
	char name[IP_STRLEN], key[300];
	struct ipam_owner o;

	if (read_owner_at(s->dirfd, ip_fmt(ip, name), &o) < 0 || !owned_by(&o, id, ifname, true))
		return -ENOENT;
	if (unlinkat(s->dirfd, name, 0) < 0)
		return errno_neg();
	if (set >= 0 && s->bootfd >= 0 && index_key(key, sizeof(key), id, ifname, (unsigned)set) == 0)
		unlinkat(s->bootfd, key, 0);
	return 0;
}

int ipam_store_walk(struct ipam_store *s,
		    int (*fn)(const struct rv_ip *ip, const struct ipam_owner *owner, void *ctx),
		    void *ctx)
{
	struct dirent *de;
	int fd = dup(s->dirfd), r = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		r = errno_neg();
		if (fd >= 0)
			close(fd);
		return r;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct ipam_owner o;
		struct rv_ip ip;
		int e;

		if (de->d_name[0] == '.' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		/* Only files named by an address are reservations; lock and
		 * last_reserved_ip.N are not. A damaged one is reported too:
		 * it holds its address all the same. */
		if (ip_parse(de->d_name, &ip) < 0)
			continue;
		e = read_owner_at(s->dirfd, de->d_name, &o);
		if (e < 0 && e != -EBADMSG)
			continue;
		if ((r = fn(&ip, &o, ctx)) != 0)
			break;
	}
	closedir(d);
	return r;
}

int ipam_store_release_damaged(struct ipam_store *s, const struct rv_ip *ip)
{
	char name[IP_STRLEN];
	struct ipam_owner o;

	/* Read again: only a file that still names nobody goes. */
	if (read_owner_at(s->dirfd, ip_fmt(ip, name), &o) != -EBADMSG)
		return -ENOENT;
	return unlinkat(s->dirfd, name, 0) == 0 ? 0 : errno_neg();
}

unsigned ipam_store_prune_index(struct ipam_store *s)
{
	unsigned pruned = 0;
	struct dirent *de;
	int fd;
	DIR *d;

	if (s->bootfd < 0 || (fd = dup(s->bootfd)) < 0)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return 0;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char key[300], *ifname;
		struct rv_ip ip;
		unsigned set;

		if (de->d_name[0] == '.')
			continue;
		snprintf(key, sizeof(key), "%s", de->d_name);
		if (split_key(key, &ifname, &set) && index_resolve(s, s->bootfd, de->d_name, key, ifname, &ip) == 0)
			continue;
		unlinkat(s->bootfd, de->d_name, 0);
		pruned++;
	}
	closedir(d);
	return pruned;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the IPAM store's readers of on-disk state: the
 * reservation content parser ("<id>\r\n<ifname>", host-local's old "<id>"),
 * the index entries ("<id>:<ifname>:<set>", a hard link to the reservation
 * whose user.rivet.ip xattr names the address, or a symlink to "../../<ip>"), the earlier
 * boots' index that is reclaimed on the first lock of a boot, and
 * last_reserved_ip.N. Those parsers are static, so the harness includes
 * store.c, as wireguard-tools' fuzzers include the file they test.
 *
 * Each input is a mode byte and up to six NUL-separated parts, which become
 * a reservation file's content, index entry names, symlink targets and
 * xattrs, an earlier
 * boot's entry, and an extra file name, written into a throwaway store on
 * tmpfs; then the store is opened, locked (reclaiming), looked up, walked,
 * pruned and released through the public API, and emptied for the next run.
 * Anything the store reports must be a well-formed address or owner.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "../../src/ipam/store.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define OLD_BOOT "boot-00000000-0000-4000-8000-000000000000"

static char root[64] = "/dev/shm/rivet-fuzz-store.XXXXXX";
static char net[96];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	/* The network directory itself and its lock stay between runs. */
	if (f->level == 0 || (f->level == 1 && !strcmp(path + f->base, "lock")))
		return 0;
	return remove(path) < 0 ? 0 : 0;
}

static void rm_tree(void)
{
	nftw(net, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void rm_root(void)
{
	rm_tree();
	unlink(strcat(strcpy((char[128]){ 0 }, net), "/lock"));
	rmdir(net);
	rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(root))
		abort();
	snprintf(net, sizeof(net), "%s/net", root);
	if (mkdir(net, 0755) < 0)
		abort();
	atexit(rm_root);
	return 0;
}

/* A file name from fuzzer bytes: one path component, or NULL. */
static const char *as_name(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i < len - 1 && i < 255; i++)
		buf[i] = s[i] == '/' ? '_' : s[i];
	buf[i] = '\0';
	if (!i || !strcmp(buf, ".") || !strcmp(buf, ".."))
		return NULL;
	return buf;
}

static void write_file(const char *dir, const char *name, const char *content)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)!write(fd, content, strlen(content));
	close(fd);
}

static void plant_link(const char *dir, const char *name, const char *target)
{
	char path[512];

	if (!name || !*target || strlen(target) >= 4096)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)symlink(target, path);
}

/* The hard-link form of an index entry: the reservation file itself, under
 * the entry's name, with the xattr naming its address set to @xattr. */
static void plant_hardlink(const char *dir, const char *name, const char *xattr)
{
	char from[512], to[512];

	snprintf(from, sizeof(from), "%s/198.18.0.5", net);
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	if (link(from, to) == 0)
		(void)lsetxattr(to, XATTR_IP, xattr, strlen(xattr), 0);
}

static void check_owner(const struct ipam_owner *o)
{
	if (!memchr(o->container_id, '\0', sizeof(o->container_id)) ||
	    !memchr(o->ifname, '\0', sizeof(o->ifname)))
		abort();
}

static void check_ip(const struct rv_ip *ip)
{
	if (ip->family != AF_INET && ip->family != AF_INET6)
		abort();
}

static int walk_cb(const struct rv_ip *ip, const struct ipam_owner *o, void *ctx)
{
	(void)ctx;
	check_ip(ip);
	check_owner(o);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[6] = { "", "", "", "", "", "" };
	char *buf, name[4][256], dir[160], old[200];
	struct ipam_store s;
	struct ipam_owner o;
	struct rv_ip ip, out[8];
	size_t n = 0, np = 0;
	unsigned mode, reclaimed = 0;

	if (size < 1 || size > 8192)
		return 0;
	mode = data[0];
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (char *p = buf; np < 6 && p < buf + size - 1; p += strlen(p) + 1)
		part[np++] = p;

	/* The parser on its own, with contents of any length. */
	memset(&o, 0, sizeof(o));
	if (parse_content(part[0], &o))
		check_owner(&o);

	write_file(net, "198.18.0.5", part[0]);
	write_file(net, "last_reserved_ip.0", part[0]);
	if (as_name(part[5], name[3], sizeof(name[3])))
		write_file(net, name[3], part[0]);
	if (mode & 1) {
		/* This boot's index exists: lookups and pruning read it. */
		char boot[40];

		if (read_boot_id(boot, sizeof(boot)) < 0)
			abort();
		snprintf(dir, sizeof(dir), "%s/.rivet", net);
		mkdir(dir, 0700);
		snprintf(dir, sizeof(dir), "%s/.rivet/boot-%s", net, boot);
		mkdir(dir, 0700);
		if (mode & 32)
			plant_hardlink(dir, "c1:eth0:0", part[1]);
		else
			plant_link(dir, "c1:eth0:0", part[1]);
		plant_link(dir, as_name(part[4], name[0], sizeof(name[0])), "../../198.18.0.5");
	}
	if (mode & 2) {
		/* An earlier boot's index: reclaimed when this boot first locks,
		 * which happens only if this boot's index does not exist yet. */
		snprintf(dir, sizeof(dir), "%s/.rivet", net);
		mkdir(dir, 0700);
		snprintf(old, sizeof(old), "%s/.rivet/" OLD_BOOT, net);
		mkdir(old, 0700);
		plant_link(old, as_name(part[2], name[1], sizeof(name[1])), part[3]);
		if (mode & 32)
			plant_hardlink(old, "c1:eth0:0", part[1]);
		else
			plant_link(old, "c1:eth0:0", part[1]);
	}

	if (ipam_store_open(&s, root, "net", false, !(mode & 4), NULL) == 0 &&
	    ipam_store_lock(&s, 1000, &reclaimed, NULL) == 0) {
		if (ipam_store_lookup(&s, "c1", "eth0", 0, &ip) == 0)
			check_ip(&ip);
		if (ipam_store_last_reserved(&s, 0, &ip) == 0)
			check_ip(&ip);
		ip_parse("198.18.0.5", &ip);
		if (ipam_store_owner(&s, &ip, &o) == 0)
			check_owner(&o);
		ipam_store_walk(&s, walk_cb, NULL);
		if (mode & 8)
			ipam_store_prune_index(&s);
		if (mode & 16) {
			ipam_store_release(&s, "c1", "eth0", 1 + (mode >> 6), out, 8, &n);
			for (size_t i = 0; i < n && i < 8; i++)
				check_ip(&out[i]);
		} else {
			ipam_store_release_ip(&s, &ip, "c1", "eth0", (mode & 64) ? 0 : -1);
		}
	}
	ipam_store_close(&s);
	rm_tree();
	free(buf);
	return 0;
}

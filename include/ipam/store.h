/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reservation store, on disk exactly as host-local keeps it, so the two
 * plugins can share a node's network directory:
 *
 *   <dataDir>/<network>/lock                flock(2) by every writer
 *   <dataDir>/<network>/last_reserved_ip.N  the last address given from set N
 *   <dataDir>/<network>/<ip>                "<containerID>\r\n<ifname>", 0600
 *
 * rivet adds one hidden directory that host-local walks past without effect:
 *
 *   .rivet/boot-<boot_id>/<containerID>:<ifname>:<N>
 *
 * an index by attachment, so that ADD and DEL find an attachment's addresses
 * without reading every file (host-local's cost grows with the pods on the
 * node; rivet's does not), made per boot, so that reservations from an earlier
 * boot can be recognised and reclaimed (no pod survives a reboot).
 *
 * An index entry is a second hard link to the reservation file itself, whose
 * xattr user.rivet.ip names the address: no inode beyond the reservation's
 * (creating one costs ~100 us on ext4), and host-local, which reads every
 * file on release, finds the entry's content matches and removes it along
 * with the reservation. Where user xattrs are not supported (tmpfs before
 * Linux 6.6) the entry is a symlink to ../../<ip> instead; both forms are read.
 *
 * A reservation is published whole: its content is written to an anonymous
 * file that is then linked under the address's name, so a killed process
 * leaves either no file or a complete one. (There is no fsync: after a power
 * loss the file system may keep the name without the content: an empty
 * file, which ipam_store_walk() reports as damaged.) The index entry is
 * linked before the reservation and a failure to write it fails the
 * reservation, so no reservation rivet makes is missing from the index; the
 * index is still only a hint: every entry is checked against the
 * reservation it names before it is trusted.
 *
 * All calls except open/close/lock need the lock held.
 */
#ifndef RIVET_IPAM_STORE_H
#define RIVET_IPAM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/err.h"
#include "util/ip.h"

#define IPAM_LOCK_TIMEOUT_MS 30000u

struct ipam_store {
	int dirfd;		/* <dataDir>/<network> */
	int lockfd;
	int bootfd;		/* .rivet/boot-<id>, -1 until needed */
	int tmpfd;		/* an unlinked reservation being placed, or -1 */
	char tmpname[32];	/* its name when O_TMPFILE is unavailable */
	char tmpcontent[300];	/* what it holds */
	char tmpkey[300];	/* the index entry made for it, if any */
	bool tmpkey_hard;	/* ... as a hard link to it */
	bool tmpkey_none;	/* ... or decided not to be made */
	bool locked;
	bool reclaim;		/* reclaim earlier boots' reservations on lock */
	char boot_id[40];
	char path[4096];	/* for messages */
};

/* Who holds an address. */
struct ipam_owner {
	char container_id[256];
	char ifname[32];	/* "" for host-local's old ID-only files */
	time_t since;		/* the file's mtime */
	bool damaged;		/* the file names nobody (empty, blank, too long):
				 * both names are "" */
};

/* Open (and with @create, make) the network directory. Without @create a
 * missing directory gives -ENOENT and no message: nothing is reserved. The
 * network directory must not be a symlink. @reclaim enables reclaiming
 * reservations of earlier boots when the lock is taken. */
int ipam_store_open(struct ipam_store *s, const char *data_dir, const char *network, bool create,
		    bool reclaim, struct rv_err *err);
void ipam_store_close(struct ipam_store *s);

/* Could an ADD write the store? Asked without changing anything (STATUS):
 * the open store's directory must be writable, or, for a store not made
 * yet, the nearest directory on the way to @data_dir that exists (ADD makes
 * the rest). 0, or -errno with a message. */
int ipam_store_writable(struct ipam_store *s, struct rv_err *err);
int ipam_store_creatable(const char *data_dir, struct rv_err *err);

/* Take the lock, waiting at most @timeout_ms (code 11 after that). On the
 * first lock of a new boot, reclaims what earlier boots reserved (when
 * enabled) and reports how many through @reclaimed (may be NULL). */
int ipam_store_lock(struct ipam_store *s, unsigned timeout_ms, unsigned *reclaimed,
		    struct rv_err *err);
void ipam_store_unlock(struct ipam_store *s);

/* Reserve @ip for the attachment in set @set and record it as the set's last
 * reserved address. -EEXIST (no message) when taken. */
int ipam_store_reserve(struct ipam_store *s, const struct rv_ip *ip, const char *id,
		       const char *ifname, unsigned set, struct rv_err *err);

/* The set's last_reserved_ip; -ENOENT when absent or unreadable. */
int ipam_store_last_reserved(struct ipam_store *s, unsigned set, struct rv_ip *out);

/* Who holds @ip; -ENOENT when free. */
int ipam_store_owner(struct ipam_store *s, const struct rv_ip *ip, struct ipam_owner *out);

/* The address the attachment holds in set @set, from the index only
 * (O(1)); -ENOENT when the index has none. Stale entries are removed. */
int ipam_store_lookup(struct ipam_store *s, const char *id, const char *ifname, unsigned set,
		      struct rv_ip *out);

/* Release the attachment's reservations. Sets 0..@n_sets-1 are looked up
 * in the index; if any is missing there, every file is read as host-local
 * does (matching "id\r\nifname", then the old "id" format). The released
 * addresses are appended to @out (capacity @max, may be NULL) and counted in
 * *@n. Errors on single files are skipped, as host-local does: a DEL must
 * get as far as it can. */
int ipam_store_release(struct ipam_store *s, const char *id, const char *ifname, unsigned n_sets,
		       struct rv_ip *out, size_t max, size_t *n);

/* Release @ip if, and only if, the attachment holds it, and drop the
 * attachment's index entry for set @set (-1: not known; GC prunes later). */
int ipam_store_release_ip(struct ipam_store *s, const struct rv_ip *ip, const char *id,
			  const char *ifname, int set);

/* Call @fn for every reservation (not lock or last_reserved_ip files), in
 * directory order; a non-zero return stops the walk and is returned. A
 * regular file named by an address that names nobody is a reservation too,
 * with owner->damaged set: it blocks its address like any other. Files
 * that cannot be read are skipped. */
int ipam_store_walk(struct ipam_store *s,
		    int (*fn)(const struct rv_ip *ip, const struct ipam_owner *owner, void *ctx),
		    void *ctx);

/* Release @ip if, and only if, its file names nobody (owner->damaged);
 * -ENOENT otherwise. Needs the lock, so no writer is half-way through it. */
int ipam_store_release_damaged(struct ipam_store *s, const struct rv_ip *ip);

/* Remove index entries that point at nothing this store holds (GC). */
unsigned ipam_store_prune_index(struct ipam_store *s);

#endif

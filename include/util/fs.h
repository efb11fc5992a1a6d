/* SPDX-License-Identifier: Apache-2.0 */
/* Small filesystem helpers the standard library lacks. */
#ifndef RIVET_UTIL_FS_H
#define RIVET_UTIL_FS_H

#include <sys/types.h>

/* mkdir -p: create @path and its missing parents with @mode; components
 * that exist are fine. Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

#endif

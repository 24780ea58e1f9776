/* Walking a library folder: every audio file and directory below a root,
 * symlinks followed only when asked, never twice into the same directory. */
#ifndef MTAG_SCAN_H
#define MTAG_SCAN_H

#include <stddef.h>
#include <sys/stat.h>

struct mtag_scan_opts {
	int follow_symlinks;
	char *const *exclude;	/* fnmatch(3) globs on the path and base name */
	int nexclude;
};

/* Called for each directory (is_dir, before its contents, the root
 * included) and each audio file below root, with its lstat (stat when
 * following symlinks). A non-zero return stops the walk and is returned by
 * mtag_scan. */
typedef int (*mtag_scan_fn)(void *arg, const char *path,
    const struct stat *st, int is_dir);

/* Walks root (followed if a symlink; nothing is reported if it is
 * excluded). Directories are listed in name order and entered depth first.
 * Unreadable directories, files vanishing mid-walk and paths of PATH_MAX
 * bytes or more are logged and skipped. Returns 0, fn's non-zero value, or
 * -1 with a message in err when root itself cannot be read or memory runs
 * out. o may be NULL for no options. */
int mtag_scan(const char *root, const struct mtag_scan_opts *o,
    mtag_scan_fn fn, void *arg, char *err, size_t errlen);

/* Whether the name has the extension of an audio format mtag indexes. */
int mtag_scan_is_audio(const char *name);

/* Whether path or its base name matches one of o's exclude globs. */
int mtag_scan_excluded(const struct mtag_scan_opts *o, const char *path);

#endif

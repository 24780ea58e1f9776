/* Watching library folders with inotify, reporting what happened to files
 * in terms the indexer acts on. */
#ifndef MTAG_WATCH_H
#define MTAG_WATCH_H

#include <stddef.h>

enum mtag_watch_kind {
	MTAG_WATCH_WRITTEN,	/* a file closed after writing, or moved in
				   from outside the watched trees */
	MTAG_WATCH_DIR_ADDED,	/* a directory created or moved in from
				   outside: now watched; scan it */
	MTAG_WATCH_MOVED,	/* a file or directory renamed within the
				   watched trees: from -> path */
	MTAG_WATCH_REMOVED,	/* a file or directory deleted or moved out */
	MTAG_WATCH_OVERFLOW,	/* events were lost (queue overflow, an
				   unmount, no memory): rescan everything */
};

struct mtag_watch_event {
	enum mtag_watch_kind kind;
	int is_dir;
	const char *path;
	const char *from;	/* MTAG_WATCH_MOVED only */
};

typedef struct mtag_watch mtag_watch;

/* NULL with a message in err on failure. */
mtag_watch *mtag_watch_new(char *err, size_t errlen);
void mtag_watch_free(mtag_watch *w);

/* The inotify descriptor, for poll(2). */
int mtag_watch_fd(const mtag_watch *w);

/* Watches one directory (not its subdirectories: the scan adds each).
 * Adding a directory watched already, under this or another path, makes
 * this path its name. Returns 0, or -1 with errno set (ENOSPC: the
 * fs.inotify.max_user_watches limit is reached). */
int mtag_watch_add(mtag_watch *w, const char *dir);

/* Stops watching the directory and everything below it. */
void mtag_watch_remove(mtag_watch *w, const char *dir);

/* Number of directories watched. */
int mtag_watch_count(const mtag_watch *w);

/* Reads the pending events (waiting up to timeout_ms for the first, -1 for
 * ever) and calls fn for each. A rename out of a watched directory is held
 * briefly (100 ms) to pair it with its arrival (by cookie); unpaired it
 * becomes MTAG_WATCH_REMOVED, an unpaired arrival MTAG_WATCH_WRITTEN or
 * MTAG_WATCH_DIR_ADDED. Directories moved within the trees keep their
 * watches, under their new paths. The event paths are valid during the
 * call of fn, which may add and remove watches. Returns 0, with no rename
 * held, or -1 with errno set. */
int mtag_watch_read(mtag_watch *w, int timeout_ms,
    void (*fn)(void *arg, const struct mtag_watch_event *ev), void *arg);

#endif

/* Keeping the database in step with the library folders: scans, inotify
 * events, metadata and content hashes. Analysis is left to the workers,
 * through the database's queue. */
#ifndef MTAG_INDEXER_H
#define MTAG_INDEXER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "scan.h"

typedef struct mtag_indexer mtag_indexer;

struct mtag_indexer_stats {
	int64_t files_seen;	/* audio files met by scans and events */
	int64_t files_read;	/* of which new or changed: tags read */
	int64_t files_failed;	/* of which unreadable */
	int64_t queued;		/* analyses queued */
	int watches;		/* directories watched */
	int watch_limited;	/* the inotify watch limit was reached */
	int rescan_needed;	/* events were lost */
	int64_t db_failures;	/* database writes that failed for a passing
				   cause (a full disk): what they would have
				   recorded needs a rescan, once it may work */
};

/* An indexer writing to db, skipping what opts excludes. tick (may be
 * NULL) is called about every 100 ms of a long scan and when analyses were
 * queued; a non-zero return interrupts the scan. Without inotify (the
 * fs.inotify.max_user_instances limit reached), it logs why and sets
 * watch_limited, for periodic rescans. NULL with a message in err on
 * failure. */
mtag_indexer *mtag_indexer_new(mtag_db *db, const struct mtag_scan_opts *opts,
    int (*tick)(void *arg), void *arg, char *err, size_t errlen);
void mtag_indexer_free(mtag_indexer *ix);

/* The descriptor to poll(2) for events, -1 without inotify. */
int mtag_indexer_fd(const mtag_indexer *ix);

/* Scans root: watches every directory, records new and changed files and
 * forgets the tracks under root that are gone. Returns 0, 1 when tick or a
 * passing database failure (counted in db_failures) interrupted it, or -1
 * with a message in err. */
int mtag_indexer_scan(mtag_indexer *ix, const char *root, char *err,
    size_t errlen);

/* Stops watching root and the folders below it. */
void mtag_indexer_unwatch(mtag_indexer *ix, const char *root);

/* Applies the pending inotify events, waiting up to timeout_ms for the
 * first. Returns 0 or -1 (errno). */
int mtag_indexer_events(mtag_indexer *ix, int timeout_ms);

/* Records the files that the scan of a new folder found still changing,
 * once they have settled (it may meet a file being copied in). Call it
 * every second or so. */
void mtag_indexer_settle(mtag_indexer *ix);

/* The counters so far; rescan_needed is cleared by reading it. */
void mtag_indexer_stats(mtag_indexer *ix, struct mtag_indexer_stats *st);

#endif

/* Keeping the database in step with the library folders. */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "indexer.h"
#include "log.h"
#include "meta.h"
#include "sha256.h"
#include "watch.h"

/* A file modified less than this long ago may still be being written; it
 * is looked at again once it has settled. */
#define SETTLE_S 2

struct deferred {
	char *path;
	time_t due;
};

struct mtag_indexer {
	mtag_db *db;
	const struct mtag_scan_opts *opts;
	mtag_watch *watch;
	int (*tick)(void *arg);
	void *arg;
	struct timespec last_tick;
	int64_t gen;		/* of the scan in progress, 0 outside scans */
	int db_failed;		/* a passing database failure: stop the scan */
	int db_trouble;		/* ... since the last scan began: leave the
				   events to the rescan that follows */
	struct mtag_indexer_stats st;
	struct deferred *deferred;	/* files to look at again */
	size_t ndeferred, capdeferred;
};

mtag_indexer *
mtag_indexer_new(mtag_db *db, const struct mtag_scan_opts *opts,
    int (*tick)(void *arg), void *arg, char *err, size_t errlen)
{
	mtag_indexer *ix;

	if ((ix = calloc(1, sizeof(*ix))) == NULL) {
		mtag_seterr(err, errlen, NULL, "out of memory");
		return NULL;
	}
	ix->db = db;
	ix->opts = opts;
	ix->tick = tick;
	ix->arg = arg;
	if ((ix->watch = mtag_watch_new(err, errlen)) == NULL) {
		log_warnx("%s: cannot watch the library folders; if the limit "
		    "on inotify instances is reached, raise it with 'sysctl "
		    "fs.inotify.max_user_instances=N' (falling back to "
		    "periodic rescans)", err);
		ix->st.watch_limited = 1;
	}
	return ix;
}

void
mtag_indexer_free(mtag_indexer *ix)
{
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->ndeferred; i++)
		free(ix->deferred[i].path);
	free(ix->deferred);
	mtag_watch_free(ix->watch);
	free(ix);
}

int
mtag_indexer_fd(const mtag_indexer *ix)
{
	return ix->watch != NULL ? mtag_watch_fd(ix->watch) : -1;
}

/* Calls tick when 100 ms have passed since the last call (or now when
 * force is set); returns its value. */
static int
tick(mtag_indexer *ix, int force)
{
	struct timespec now;

	if (ix->tick == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - ix->last_tick.tv_sec) * 1000 +
	    (now.tv_nsec - ix->last_tick.tv_nsec) / 1000000 < 100)
		return 0;
	ix->last_tick = now;
	return ix->tick(ix->arg);
}

/* Logs the failure of a database call; a passing one (a full disk) is
 * counted, for the daemon to rescan later, and stops the scan. */
static void
db_failed(mtag_indexer *ix)
{
	log_warnx("%s", mtag_db_errmsg(ix->db));
	if (mtag_db_transient(ix->db)) {
		ix->st.db_failures++;
		ix->db_failed = ix->db_trouble = 1;
	}
}

static int
wanted(const mtag_indexer *ix, const char *path)
{
	return mtag_scan_is_audio(path) && !mtag_scan_excluded(ix->opts, path);
}

/* Records the regular file at path unless it is known and unchanged. */
static void
index_file(mtag_indexer *ix, const char *path, const struct stat *st)
{
	char err[512], hash[65];
	mtag_meta meta = { 0 };
	int64_t id;
	int queued = 0;

	if (!wanted(ix, path))
		return;
	ix->st.files_seen++;
	switch (mtag_db_track_unchanged(ix->db, path, st, ix->gen)) {
	case 1:
		return;
	case -1:
		db_failed(ix);
		return;
	}
	ix->st.files_read++;
	if (mtag_meta_read(path, &meta, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		ix->st.files_failed++;
		if (mtag_db_track_failed(ix->db, path, st, err, ix->gen) < 0)
			db_failed(ix);
		return;
	}
	if (mtag_sha256_file(path, hash) < 0) {
		/* Vanished or unreadable since: its event will follow. */
		log_warn("%s", path);
		mtag_meta_clear(&meta);
		return;
	}
	if (mtag_db_track_put(ix->db, path, st, hash, &meta, ix->gen, &id,
	    &queued) < 0)
		db_failed(ix);
	mtag_meta_clear(&meta);
	if (queued > 0) {
		ix->st.queued += queued;
		tick(ix, 1);
	}
}

/* Whether the file was modified too recently to be complete; if so it is
 * put aside for mtag_indexer_settle. */
static int
defer(mtag_indexer *ix, const char *path, const struct stat *st)
{
	time_t now = time(NULL);
	struct deferred *d;
	char *copy;

	if (st->st_mtime < now - SETTLE_S || st->st_mtime > now)
		return 0;
	if (ix->ndeferred == ix->capdeferred) {
		size_t cap = ix->capdeferred ? 2 * ix->capdeferred : 64;

		if ((d = realloc(ix->deferred, cap * sizeof(*d))) == NULL)
			return 0;
		ix->deferred = d;
		ix->capdeferred = cap;
	}
	if ((copy = strdup(path)) == NULL)
		return 0;
	ix->deferred[ix->ndeferred].path = copy;
	ix->deferred[ix->ndeferred++].due = now + SETTLE_S;
	return 1;
}

void
mtag_indexer_settle(mtag_indexer *ix)
{
	time_t now = time(NULL);
	struct stat st;
	size_t i = 0;

	while (i < ix->ndeferred) {
		struct deferred d = ix->deferred[i];

		if (d.due > now) {
			i++;
			continue;
		}
		ix->deferred[i] = ix->deferred[--ix->ndeferred];
		if (lstat(d.path, &st) == 0 && S_ISREG(st.st_mode) &&
		    !defer(ix, d.path, &st))
			index_file(ix, d.path, &st);
		free(d.path);
	}
}

static void
watch_dir(mtag_indexer *ix, const char *path)
{
	if (ix->watch == NULL || ix->st.watch_limited)
		return;
	if (mtag_watch_add(ix->watch, path) == 0)
		return;
	if (errno == ENOSPC) {
		log_warnx("%s: inotify watch limit reached; raise it with "
		    "'sysctl fs.inotify.max_user_watches=N' (falling back to "
		    "periodic rescans)", path);
		ix->st.watch_limited = 1;
	} else if (errno != ENOENT) {
		log_warn("%s: cannot watch", path);
	}
}

static int
scan_entry(void *arg, const char *path, const struct stat *st, int is_dir)
{
	mtag_indexer *ix = arg;

	if (is_dir)
		watch_dir(ix, path);
	else if (ix->gen > 0 || !wanted(ix, path) || !defer(ix, path, st))
		index_file(ix, path, st);	/* reconciliation scans mark all */
	return ix->db_failed ? 1 : tick(ix, 0);
}

/* Scans root (gen 0: a folder that appeared, nothing to forget). */
static int
scan(mtag_indexer *ix, const char *root, char *err, size_t errlen)
{
	int rc;

	ix->db_failed = 0;
	rc = mtag_scan(root, ix->opts, scan_entry, ix, err, errlen);
	return rc > 0 ? 1 : rc;
}

int
mtag_indexer_scan(mtag_indexer *ix, const char *root, char *err,
    size_t errlen)
{
	int rc = 1;

	if (mtag_db_scan_begin(ix->db, &ix->gen) < 0) {
		db_failed(ix);
		return rc;
	}
	ix->db_trouble = 0;
	rc = scan(ix, root, err, errlen);
	if (rc == 0 && mtag_db_scan_end(ix->db, root, ix->gen) < 0) {
		db_failed(ix);
		rc = 1;
	}
	ix->gen = 0;
	return rc;
}

void
mtag_indexer_unwatch(mtag_indexer *ix, const char *root)
{
	if (ix->watch != NULL)
		mtag_watch_remove(ix->watch, root);
}

static void
remove_path(mtag_indexer *ix, const char *path, int is_dir)
{
	if (mtag_db_remove(ix->db, path, is_dir) < 0)
		db_failed(ix);
}

static void
on_event(void *arg, const struct mtag_watch_event *ev)
{
	mtag_indexer *ix = arg;
	char err[512];
	struct stat st;
	int n;

	/* Each would fail and log (and reading a file's tags may report it
	 * written again): the rescan that follows sees to them all. */
	if (ix->db_trouble && ev->kind != MTAG_WATCH_OVERFLOW) {
		ix->st.db_failures++;
		return;
	}
	switch (ev->kind) {
	case MTAG_WATCH_WRITTEN:
		if (lstat(ev->path, &st) == 0 && S_ISREG(st.st_mode))
			index_file(ix, ev->path, &st);
		break;
	case MTAG_WATCH_DIR_ADDED:
		if (mtag_scan_excluded(ix->opts, ev->path)) {
			mtag_watch_remove(ix->watch, ev->path);
			break;
		}
		if (scan(ix, ev->path, err, sizeof(err)) < 0)
			log_warnx("%s", err);
		break;
	case MTAG_WATCH_MOVED:
		if (ev->is_dir) {
			if (mtag_db_move(ix->db, ev->from, ev->path, 1) < 0)
				db_failed(ix);
			break;
		}
		n = 0;
		if (wanted(ix, ev->from) && wanted(ix, ev->path) &&
		    (n = mtag_db_move(ix->db, ev->from, ev->path, 0)) < 0)
			db_failed(ix);
		if (n <= 0) {	/* not known under its old name */
			remove_path(ix, ev->from, 0);
			if (lstat(ev->path, &st) == 0 && S_ISREG(st.st_mode))
				index_file(ix, ev->path, &st);
		}
		break;
	case MTAG_WATCH_REMOVED:
		remove_path(ix, ev->path, ev->is_dir);
		break;
	case MTAG_WATCH_OVERFLOW:
		log_warnx("inotify events lost (queue overflow or unmount): "
		    "rescanning");
		ix->st.rescan_needed = 1;
		break;
	}
}

int
mtag_indexer_events(mtag_indexer *ix, int timeout_ms)
{
	if (ix->watch == NULL)
		return 0;
	return mtag_watch_read(ix->watch, timeout_ms, on_event, ix);
}

void
mtag_indexer_stats(mtag_indexer *ix, struct mtag_indexer_stats *st)
{
	ix->st.watches = ix->watch != NULL ? mtag_watch_count(ix->watch) : 0;
	*st = ix->st;
	ix->st.rescan_needed = 0;
}

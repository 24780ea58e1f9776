/* The library database on SQLite: opening and migrating it, recording
 * tracks as the scanner and watcher see them, models, and the analysis
 * queue with its results. The schema is schema/NNN_name.sql. */
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "error.h"
#include "migrations.h"
#include "vocabulary.h"

#define BUSY_TIMEOUT_MS	10000
#define INTERRUPTED \
	"analysis interrupted twice; the file may crash the analyser"

/* The generation of the scan begun last, 0 before the first. */
#define LATEST_GEN	"ifnull((SELECT max(gen) FROM scans), 0)"
/* The paths under the directory d (without a trailing slash): those
 * starting with "d/", as a range of the path index ('0' follows '/'), which
 * needs no LIKE pattern escaping. */
#define UNDER(d)	"path >= " d " || '/' AND path < " d " || '0'"

enum {
	S_BEGIN_READ, S_BEGIN_WRITE, S_COMMIT, S_JOURNAL_WAL, S_USER_VERSION,
	S_TRACK_UNCHANGED, S_TRACK_SEEN, S_TRACK_BY_PATH, S_TRACKS_BY_HASH,
	S_TRACK_INSERT, S_TRACK_UPDATE,
	S_ANALYSES_FORGET, S_QUEUE_TRACK, S_COPY_ANALYSES, S_COPY_SCORES,
	S_COPY_RANKS, S_COPY_VECTORS,
	S_MOVE_FILE_CLEAR, S_MOVE_DIR_CLEAR, S_MOVE_FILE, S_MOVE_DIR,
	S_REMOVE_FILE, S_REMOVE_DIR,
	S_SCAN_BEGIN, S_SCAN_END, S_FORGET_UNSEEN,
	S_MODEL_BY_NAME, S_MODEL_INSERT, S_MODEL_UPDATE, S_MODEL_TAGS_FORGET,
	S_MODEL_TAG_INSERT, S_MODEL_ANALYSES_FORGET, S_QUEUE_MODEL,
	S_JOB_NEXT, S_JOB_START, S_JOB_STATE, S_SCORE_INSERT, S_JOB_DONE,
	S_RANKS_INSERT, S_VECTOR_INSERT, S_WRITEBACK_QUEUE, S_WRITEBACK_DONE,
	S_WRITEBACK_FORGET, S_WRITEBACK_REQUEUE,
	S_JOB_FAILED, S_JOB_REQUEUE, S_JOBS_FORGIVE, S_JOB_CRASHED,
	S_JOBS_GIVE_UP, S_JOBS_RECOVER,
	S_COUNT_TRACKS, S_COUNT_ANALYSES,
	NSTMTS
};

/* Track columns bound by bind_track: ?1 path, ?2-?5 the stat, ?6 hash,
 * ?7-?22 the metadata, ?23 the scan generation, ?24 error, ?25 now. */
static const char *const sqls[NSTMTS] = {
	[S_BEGIN_READ] = "BEGIN",
	[S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_JOURNAL_WAL] = "PRAGMA journal_mode = WAL",
	[S_USER_VERSION] = "PRAGMA user_version",

	[S_TRACK_UNCHANGED] = "SELECT 1 FROM tracks WHERE path = ?1 AND "
	    "size = ?2 AND mtime_ns = ?3 AND inode = ?4",
	[S_TRACK_SEEN] = "UPDATE tracks SET seen_gen = max(seen_gen, ?5, "
	    LATEST_GEN ") WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3 AND "
	    "inode = ?4",
	[S_TRACK_BY_PATH] = "SELECT id, hash IS ?2 FROM tracks WHERE path = ?1",
	[S_TRACKS_BY_HASH] = "SELECT id, path FROM tracks WHERE hash = ?1 "
	    "ORDER BY id",
	[S_TRACK_INSERT] = "INSERT INTO tracks (path, size, mtime_ns, inode, "
	    "device, hash, title, artist, album, albumartist, genre, year, "
	    "track_no, disc_no, duration, codec, sample_rate, channels, "
	    "bitrate, mb_trackid, mb_albumid, mb_artistid, seen_gen, error, "
	    "added_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
	    "?22, max(?23, " LATEST_GEN "), ?24, ?25, ?25)",
	[S_TRACK_UPDATE] = "UPDATE tracks SET path = ?1, size = ?2, "
	    "mtime_ns = ?3, inode = ?4, device = ?5, hash = ?6, title = ?7, "
	    "artist = ?8, album = ?9, albumartist = ?10, genre = ?11, "
	    "year = ?12, track_no = ?13, disc_no = ?14, duration = ?15, "
	    "codec = ?16, sample_rate = ?17, channels = ?18, bitrate = ?19, "
	    "mb_trackid = ?20, mb_albumid = ?21, mb_artistid = ?22, "
	    "seen_gen = max(seen_gen, ?23, " LATEST_GEN "), error = ?24, "
	    "updated_at = ?25 WHERE id = ?26",

	[S_ANALYSES_FORGET] = "DELETE FROM analyses WHERE track_id = ?1",
	[S_QUEUE_TRACK] = "INSERT OR IGNORE INTO analyses (track_id, model_id, "
	    "status, error, queued_at) SELECT ?1, id, ?2, ?3, ?4 FROM models",
	[S_COPY_ANALYSES] = "INSERT INTO analyses (track_id, model_id, status, "
	    "attempts, queued_at, analysed_at, embedding, nchunks, "
	    "chunk_starts, chunk_scores) SELECT ?2, model_id, status, "
	    "attempts, ?3, analysed_at, embedding, nchunks, chunk_starts, "
	    "chunk_scores FROM analyses WHERE track_id = ?1 AND "
	    "status = 'done'",
	[S_COPY_SCORES] = "INSERT INTO scores (model_id, tag_idx, score, "
	    "track_id) SELECT model_id, tag_idx, score, ?2 FROM scores "
	    "WHERE track_id = ?1",
	[S_COPY_RANKS] = "INSERT INTO tag_ranks (model_id, tag_idx, score, "
	    "track_id, rank) SELECT model_id, tag_idx, score, ?2, rank FROM "
	    "tag_ranks WHERE track_id = ?1",
	[S_COPY_VECTORS] = "INSERT INTO vectors (model_id, track_id, vector) "
	    "SELECT model_id, ?2, vector FROM vectors WHERE track_id = ?1",

	/* A move replaces what was at its destination, when its source is
	 * known (a file renamed over a known one that was not is rewritten
	 * contents, for the caller to put). */
	[S_MOVE_FILE_CLEAR] = "DELETE FROM tracks WHERE path = ?2 AND "
	    "EXISTS (SELECT 1 FROM tracks WHERE path = ?1)",
	[S_MOVE_DIR_CLEAR] = "DELETE FROM tracks WHERE " UNDER("?2") " AND "
	    "EXISTS (SELECT 1 FROM tracks WHERE " UNDER("?1") ")",
	[S_MOVE_FILE] = "UPDATE tracks SET path = ?2, seen_gen = "
	    "max(seen_gen, " LATEST_GEN "), updated_at = ?3 WHERE path = ?1",
	[S_MOVE_DIR] = "UPDATE tracks SET path = ?2 || substr(path, "
	    "length(?1) + 1), seen_gen = max(seen_gen, " LATEST_GEN "), "
	    "updated_at = ?3 WHERE " UNDER("?1"),
	[S_REMOVE_FILE] = "DELETE FROM tracks WHERE path = ?1",
	[S_REMOVE_DIR] = "DELETE FROM tracks WHERE " UNDER("?1"),

	[S_SCAN_BEGIN] = "INSERT INTO scans (started_at) VALUES (?1)",
	[S_SCAN_END] = "UPDATE scans SET ended_at = ?2 WHERE gen = ?1",
	[S_FORGET_UNSEEN] = "DELETE FROM tracks WHERE " UNDER("?1") " AND "
	    "seen_gen < ?2",

	[S_MODEL_BY_NAME] = "SELECT id, sha256 = ?2 FROM models WHERE "
	    "name = ?1",
	[S_MODEL_INSERT] = "INSERT INTO models (name, arch, dataset, sha256, "
	    "ntags, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_MODEL_UPDATE] = "UPDATE models SET arch = ?2, dataset = ?3, "
	    "sha256 = ?4, ntags = ?5, added_at = ?6 WHERE name = ?1",
	[S_MODEL_TAGS_FORGET] = "DELETE FROM model_tags WHERE model_id = ?1",
	[S_MODEL_TAG_INSERT] = "INSERT INTO model_tags (model_id, idx, name, "
	    "canonical, category) VALUES (?1, ?2, ?3, mtag_canonical(?4, ?3), "
	    "mtag_category(?4, ?3))",
	[S_MODEL_ANALYSES_FORGET] = "DELETE FROM analyses WHERE model_id = ?1",
	[S_QUEUE_MODEL] = "INSERT INTO analyses (track_id, model_id, status, "
	    "error, queued_at) SELECT id, ?1, CASE WHEN error IS NULL THEN "
	    "'pending' ELSE 'failed' END, error, ?2 FROM tracks",

	[S_JOB_NEXT] = "SELECT a.id, a.track_id, t.path FROM analyses a "
	    "JOIN tracks t ON t.id = a.track_id WHERE a.status = 'pending' "
	    "AND a.model_id = ?1 ORDER BY a.id LIMIT 1",
	[S_JOB_START] = "UPDATE analyses SET status = 'running', "
	    "attempts = attempts + 1 WHERE id = ?1",
	[S_JOB_STATE] = "SELECT a.status = 'running', m.ntags FROM analyses a "
	    "JOIN models m ON m.id = a.model_id WHERE a.track_id = ?1 AND "
	    "a.model_id = ?2",
	[S_SCORE_INSERT] = "INSERT INTO scores (model_id, tag_idx, score, "
	    "track_id) VALUES (?1, ?2, ?3, ?4)",
	[S_JOB_DONE] = "UPDATE analyses SET status = 'done', error = NULL, "
	    "analysed_at = ?3, embedding = ?4, nchunks = ?5, "
	    "chunk_starts = ?6, chunk_scores = ?7 WHERE track_id = ?1 AND "
	    "model_id = ?2",
	/* As schema/002_query_index.sql fills them, for one analysis. */
	[S_RANKS_INSERT] = "INSERT INTO tag_ranks (model_id, tag_idx, score, "
	    "track_id, rank) SELECT ?2, tag_idx, score, ?1, rank() OVER "
	    "(ORDER BY score DESC) FROM (SELECT min(t.idx) AS tag_idx, "
	    "max(s.score) AS score FROM scores s JOIN model_tags t ON "
	    "t.model_id = s.model_id AND t.idx = s.tag_idx WHERE "
	    "s.track_id = ?1 AND s.model_id = ?2 GROUP BY t.canonical)",
	[S_VECTOR_INSERT] = "INSERT INTO vectors (model_id, track_id, vector) "
	    "SELECT model_id, track_id, v FROM (SELECT model_id, track_id, "
	    "mtag_unit_vector(embedding) AS v FROM analyses WHERE "
	    "track_id = ?1 AND model_id = ?2) WHERE v IS NOT NULL",
	[S_WRITEBACK_QUEUE] = "INSERT OR IGNORE INTO writeback_queue "
	    "(track_id) VALUES (?1)",
	[S_WRITEBACK_DONE] = "DELETE FROM writeback_queue WHERE track_id = ?1",
	/* The analyses of the tracks left queued: forgotten, then queued
	 * again with queue_track. */
	[S_WRITEBACK_FORGET] = "DELETE FROM analyses WHERE status = 'done' "
	    "AND track_id IN (SELECT track_id FROM writeback_queue)",
	[S_WRITEBACK_REQUEUE] = "INSERT OR IGNORE INTO analyses (track_id, "
	    "model_id, status, queued_at) SELECT q.track_id, m.id, 'pending', "
	    "?1 FROM writeback_queue q, models m",
	[S_JOB_FAILED] = "UPDATE analyses SET status = 'failed', error = ?3, "
	    "analysed_at = ?4 WHERE track_id = ?1 AND model_id = ?2 AND "
	    "status = 'running'",
	[S_JOB_REQUEUE] = "UPDATE analyses SET status = 'pending', "
	    "attempts = max(attempts - 1, 0), error = ?3, queued_at = ?4 "
	    "WHERE track_id = ?1 AND model_id = ?2 AND status = 'running'",
	[S_JOBS_FORGIVE] = "UPDATE analyses SET attempts = max(attempts - 1, "
	    "0) WHERE status = 'running'",
	[S_JOB_CRASHED] = "UPDATE analyses SET attempts = attempts + 1 WHERE "
	    "status = 'running' AND track_id = ?1",
	[S_JOBS_GIVE_UP] = "UPDATE analyses SET status = 'failed', "
	    "error = ?1, analysed_at = ?2 WHERE status = 'running' AND "
	    "attempts >= 2",
	[S_JOBS_RECOVER] = "UPDATE analyses SET status = 'pending' WHERE "
	    "status = 'running'",

	[S_COUNT_TRACKS] = "SELECT count(*) FROM tracks",
	[S_COUNT_ANALYSES] = "SELECT status, count(*) FROM analyses WHERE "
	    "?1 = 0 OR model_id = ?1 GROUP BY status",
};

struct mtag_db {
	sqlite3		*sql;
	char		*path;
	pthread_mutex_t	 lock;		/* serialises every call */
	int		 writeback;	/* mtag_db_writeback_queue */
	sqlite3_stmt	*stmts[NSTMTS];	/* prepared on first use */
};

/* mtag_db_errmsg's message: the last error of the calling thread, and its
 * SQLite result code (SQLITE_OK for errors of this module). */
static _Thread_local char errbuf[1024];
static _Thread_local int errcode;

static int fail(mtag_db *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the thread's error message, naming the database. Returns -1. */
static int
fail(mtag_db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtag_vseterr(errbuf, sizeof(errbuf), db->path, fmt, ap);
	va_end(ap);
	errcode = SQLITE_OK;
	return -1;
}

static int
sqlfail(mtag_db *db)
{
	fail(db, "%s", sqlite3_errmsg(db->sql));
	errcode = sqlite3_errcode(db->sql);
	return -1;
}

static int64_t
now(void)
{
	return time(NULL);
}

static int64_t
mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The cached statement id, with its parameters cleared, or NULL. */
static sqlite3_stmt *
stmt(mtag_db *db, int id)
{
	if (db->stmts[id] == NULL) {
		if (sqlite3_prepare_v3(db->sql, sqls[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->stmts[id], NULL) !=
		    SQLITE_OK) {
			sqlfail(db);
			return NULL;
		}
	} else
		sqlite3_clear_bindings(db->stmts[id]);
	return db->stmts[id];
}

/* Steps s (NULL: stmt failed). Returns 1 for a row, which the caller reads
 * and then resets s; 0 at the end and -1 on error, s reset. */
static int
step(mtag_db *db, sqlite3_stmt *s)
{
	int rc;

	if (s == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		sqlfail(db);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs the statement s (NULL: stmt failed) to completion. Returns the
 * number of rows it changed, or -1. */
static int
run(mtag_db *db, sqlite3_stmt *s)
{
	int rc;

	while ((rc = step(db, s)) == 1)
		;
	return rc == 0 ? sqlite3_changes(db->sql) : -1;
}

/* Reads the first column of the first row of s into *v. Returns 1, 0 when
 * there is no row (*v untouched), or -1. */
static int
one_int(mtag_db *db, sqlite3_stmt *s, int64_t *v)
{
	int rc;

	if ((rc = step(db, s)) == 1) {
		*v = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return rc;
}

/*
 * Binding text and integers with SQLITE_STATIC fails only for an index out
 * of range or a value over SQLITE_MAX_LENGTH (1 GB), neither possible
 * here: those calls are not checked.
 */

/* Binds v, or NULL when it is NULL or empty. */
static void
bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL && *v != '\0')
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Binds v, or NULL when it is not positive (absent). */
static void
bind_pos(sqlite3_stmt *s, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(s, i, v);
}

/* Binds the n floats (width 4) or doubles (width 8) at v as a
 * little-endian blob; leaves NULL when n is 0. */
static int
bind_le(mtag_db *db, sqlite3_stmt *s, int i, const void *v, size_t n,
    size_t width)
{
	const unsigned char *src = v;
	unsigned char *b;
	uint64_t x;
	uint32_t y;
	size_t k, j;

	if (n == 0)
		return 0;
	if ((b = malloc(n * width)) == NULL)
		return fail(db, "out of memory");
	for (k = 0; k < n; k++) {
		if (width == 4) {
			memcpy(&y, src + k * 4, 4);
			x = y;
		} else
			memcpy(&x, src + k * 8, 8);
		for (j = 0; j < width; j++)
			b[k * width + j] = x >> (8 * j);
	}
	if (sqlite3_bind_blob64(s, i, b, n * width, free) != SQLITE_OK)
		return sqlfail(db);
	return 0;
}

/* Binds the track columns of S_TRACK_INSERT and S_TRACK_UPDATE; m may be
 * NULL. */
static void
bind_track(sqlite3_stmt *s, const char *path, const struct stat *st,
    const char *hash, const mtag_meta *m, int64_t gen, const char *error)
{
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, st->st_size);
	sqlite3_bind_int64(s, 3, mtime_ns(st));
	sqlite3_bind_int64(s, 4, (int64_t)st->st_ino);
	sqlite3_bind_int64(s, 5, (int64_t)st->st_dev);
	bind_str(s, 6, hash);
	if (m != NULL) {
		bind_str(s, 7, m->title);
		bind_str(s, 8, m->artist);
		bind_str(s, 9, m->album);
		bind_str(s, 10, m->albumartist);
		bind_str(s, 11, m->genre);
		bind_pos(s, 12, m->year);
		bind_pos(s, 13, m->track);
		bind_pos(s, 14, m->disc);
		if (m->duration > 0)
			sqlite3_bind_double(s, 15, m->duration);
		bind_str(s, 16, m->codec);
		bind_pos(s, 17, m->sample_rate);
		bind_pos(s, 18, m->channels);
		bind_pos(s, 19, m->bitrate);
		bind_str(s, 20, m->mb_trackid);
		bind_str(s, 21, m->mb_albumid);
		bind_str(s, 22, m->mb_artistid);
	}
	sqlite3_bind_int64(s, 23, gen);
	bind_str(s, 24, error);
	sqlite3_bind_int64(s, 25, now());
}

/* Locks db and begins a transaction, IMMEDIATE when it writes. */
static int
begin(mtag_db *db, int write)
{
	pthread_mutex_lock(&db->lock);
	if (run(db, stmt(db, write ? S_BEGIN_WRITE : S_BEGIN_READ)) == -1) {
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	return 0;
}

/* Commits when rc is not negative, else rolls back; unlocks db. Returns
 * rc, or -1 when the commit failed. */
static int
end(mtag_db *db, int rc)
{
	if (rc >= 0 && run(db, stmt(db, S_COMMIT)) == -1)
		rc = -1;
	if (rc < 0 && !sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* mtag_canonical(dataset, tag) and mtag_category(dataset, tag): what the
 * vocabulary says of the tag; an unknown tag is its own canonical name and
 * has no category. */
static void
sql_meaning(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *dataset = (const char *)sqlite3_value_text(argv[0]);
	const char *tag = (const char *)sqlite3_value_text(argv[1]);
	int category = sqlite3_user_data(ctx) != NULL;
	struct mtag_vocabulary_entry e;

	(void)argc;
	if (tag == NULL)
		return;
	if (mtag_vocabulary_find(dataset, tag, &e) == 0)
		sqlite3_result_text(ctx, category ? e.category : e.canonical,
		    -1, SQLITE_STATIC);
	else if (!category)
		sqlite3_result_value(ctx, argv[1]);
}

float
mtag_db_float(const void *p)
{
	const unsigned char *b = p;
	uint32_t u = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* mtag_unit_vector(embedding): the float32 little-endian embedding scaled
 * to unit length and quantised: a float32 little-endian scale s, then for
 * each number x the int8 round(x / s), s making the largest 127. NULL when
 * the embedding is empty, zero or not finite. */
static void
sql_unit_vector(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *b = sqlite3_value_blob(argv[0]);
	int n = sqlite3_value_bytes(argv[0]) / 4, i;
	double norm = 0, max = 0, x;
	unsigned char *out;
	uint32_t u;
	float scale;

	(void)argc;
	for (i = 0; i < n; i++) {
		x = mtag_db_float(b + 4 * i);
		norm += x * x;
		max = fmax(max, fabs(x));
	}
	norm = sqrt(norm);
	if (n == 0 || !(norm > 0) || !isfinite(norm))
		return;
	if ((out = sqlite3_malloc(4 + n)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	scale = max / norm / 127;
	memcpy(&u, &scale, sizeof(u));
	for (i = 0; i < 4; i++)
		out[i] = u >> (8 * i);
	for (i = 0; i < n; i++)
		out[4 + i] = (signed char)lrint(mtag_db_float(b + 4 * i) /
		    norm / scale);
	sqlite3_result_blob(ctx, out, 4 + n, sqlite3_free);
}

/* Defines the SQL functions of schema/002_query_index.sql. */
static int
define_functions(mtag_db *db)
{
	static const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	static int category = 1;

	if (sqlite3_create_function(db->sql, "mtag_canonical", 2, flags, NULL,
	    sql_meaning, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db->sql, "mtag_category", 2, flags,
	    &category, sql_meaning, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db->sql, "mtag_unit_vector", 1, flags,
	    NULL, sql_unit_vector, NULL, NULL) != SQLITE_OK)
		return sqlfail(db);
	return 0;
}

static int
user_version(mtag_db *db, int64_t *v)
{
	return one_int(db, stmt(db, S_USER_VERSION), v) == -1 ? -1 : 0;
}

/* Applies the migrations the database lacks, one transaction each. */
static int
migrate(mtag_db *db)
{
	int64_t v = 0;
	int rc;

	do {
		if (begin(db, 1) == -1)
			return -1;
		if ((rc = user_version(db, &v)) == 0 && v < mtag_nmigrations &&
		    sqlite3_exec(db->sql, mtag_migrations[v], NULL, NULL,
		    NULL) != SQLITE_OK)
			rc = fail(db, "schema migration %d: %s", (int)v + 1,
			    sqlite3_errmsg(db->sql));
		if (end(db, rc) == -1)
			return -1;
	} while (v < mtag_nmigrations);
	return 0;
}

/* Configures the new connection and, unless read-only, the database. */
static int
setup(mtag_db *db, int readonly)
{
	sqlite3_stmt *s;
	const char *mode;
	int64_t v = 0;
	int wal;

	sqlite3_busy_timeout(db->sql, BUSY_TIMEOUT_MS);
	if (define_functions(db) == -1)
		return -1;
	if (!readonly) {
		if (step(db, s = stmt(db, S_JOURNAL_WAL)) == -1)
			return -1;
		mode = (const char *)sqlite3_column_text(s, 0);
		wal = mode != NULL && strcmp(mode, "wal") == 0;
		sqlite3_reset(s);
		if (!wal)
			return fail(db, "cannot use a write-ahead log here");
		if (sqlite3_exec(db->sql, "PRAGMA synchronous = NORMAL; "
		    "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY",
		    NULL, NULL, NULL) != SQLITE_OK)
			return sqlfail(db);
		if (migrate(db) == -1)
			return -1;
	}
	if (user_version(db, &v) == -1)
		return -1;
	if (v > mtag_nmigrations)
		return fail(db, "schema version %lld is newer than this mtag's "
		    "(%d)", (long long)v, mtag_nmigrations);
	if (v < mtag_nmigrations)
		return fail(db, "schema version %lld is older than this mtag's "
		    "(%d): mtagd upgrades it", (long long)v, mtag_nmigrations);
	return 0;
}

mtag_db *
mtag_db_open(const char *path, int flags, char *err, size_t errlen)
{
	int readonly = flags & MTAG_DB_READONLY;
	mtag_db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->path = strdup(path)) == NULL) {
		free(db);
		mtag_seterr(err, errlen, path, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&db->lock, NULL);
	if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_FULLMUTEX |
	    (readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE), NULL) != SQLITE_OK)
		sqlfail(db);
	else if (setup(db, readonly) == 0)
		return db;
	mtag_seterr(err, errlen, NULL, "%s", errbuf);
	mtag_db_close(db);
	return NULL;
}

void
mtag_db_close(mtag_db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < NSTMTS; i++)
		sqlite3_finalize(db->stmts[i]);
	sqlite3_close(db->sql);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
}

int
mtag_db_transient(mtag_db *db)
{
	(void)db;
	return errcode == SQLITE_FULL || errcode == SQLITE_IOERR ||
	    errcode == SQLITE_BUSY;
}

struct sqlite3 *
mtag_db_sqlite(mtag_db *db)
{
	return db->sql;
}

const char *
mtag_db_errmsg(mtag_db *db)
{
	(void)db;
	return errbuf;
}

int
mtag_db_track_unchanged(mtag_db *db, const char *path,
    const struct stat *st, int64_t gen)
{
	sqlite3_stmt *s;
	int64_t one;
	int rc = -1;

	if (begin(db, gen > 0) == -1)
		return -1;
	if ((s = stmt(db, gen > 0 ? S_TRACK_SEEN : S_TRACK_UNCHANGED)) !=
	    NULL) {
		sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, st->st_size);
		sqlite3_bind_int64(s, 3, mtime_ns(st));
		sqlite3_bind_int64(s, 4, (int64_t)st->st_ino);
		if (gen > 0) {
			sqlite3_bind_int64(s, 5, gen);
			rc = run(db, s);
		} else
			rc = one_int(db, s, &one);
	}
	return end(db, rc);
}

/* Finds the track at path: 1 with its *id when its hash is hash, 2 when it
 * differs, 0 when the path is unknown, -1 on error. */
static int
track_at(mtag_db *db, const char *path, const char *hash, int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(db, S_TRACK_BY_PATH)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	bind_str(s, 2, hash);
	if ((rc = step(db, s)) == 1) {
		*id = sqlite3_column_int64(s, 0);
		rc = sqlite3_column_int(s, 1) ? 1 : 2;
		sqlite3_reset(s);
	}
	return rc;
}

/* Finds the tracks with the contents hash: 2 with the *id of one whose
 * file no longer exists (moved), 1 with the oldest's when all exist
 * (copied), 0 when there is none, -1 on error. */
static int
track_like(mtag_db *db, const char *hash, int64_t *id)
{
	sqlite3_stmt *s;
	struct stat sb;
	int rc, found = 0;

	if ((s = stmt(db, S_TRACKS_BY_HASH)) == NULL)
		return -1;
	bind_str(s, 1, hash);
	while ((rc = step(db, s)) == 1) {
		if (stat((const char *)sqlite3_column_text(s, 1), &sb) == -1 &&
		    (errno == ENOENT || errno == ENOTDIR)) {
			*id = sqlite3_column_int64(s, 0);
			sqlite3_reset(s);
			return 2;
		}
		if (!found) {
			*id = sqlite3_column_int64(s, 0);
			found = 1;
		}
	}
	return rc == -1 ? -1 : found;
}

/* Writes the track row: a new one when *id is 0 (*id gets its id), else
 * track *id. */
static int
write_track(mtag_db *db, int64_t *id, const char *path,
    const struct stat *st, const char *hash, const mtag_meta *m, int64_t gen,
    const char *error)
{
	sqlite3_stmt *s;

	if ((s = stmt(db, *id != 0 ? S_TRACK_UPDATE : S_TRACK_INSERT)) == NULL)
		return -1;
	bind_track(s, path, st, hash, m, gen, error);
	if (*id != 0)
		sqlite3_bind_int64(s, 26, *id);
	if (run(db, s) == -1)
		return -1;
	if (*id == 0)
		*id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

/* Creates the analyses track id lacks, pending, or failed with error when
 * it is not NULL. Returns the number created, or -1. */
static int
queue_track(mtag_db *db, int64_t id, const char *error)
{
	sqlite3_stmt *s;

	if ((s = stmt(db, S_QUEUE_TRACK)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, error != NULL ? "failed" : "pending", -1,
	    SQLITE_STATIC);
	bind_str(s, 3, error);
	sqlite3_bind_int64(s, 4, now());
	return run(db, s);
}

/* Forgets the analyses of track id, results included, and queues it anew
 * (see queue_track). */
static int
requeue_track(mtag_db *db, int64_t id, const char *error)
{
	sqlite3_stmt *s;

	if ((s = stmt(db, S_ANALYSES_FORGET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (run(db, s) == -1)
		return -1;
	return queue_track(db, id, error);
}

/* Gives track to the done analyses of track from, with their results. */
static int
copy_analyses(mtag_db *db, int64_t from, int64_t to)
{
	static const int ids[] = { S_COPY_ANALYSES, S_COPY_SCORES,
	    S_COPY_RANKS, S_COPY_VECTORS };
	sqlite3_stmt *s;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if ((s = stmt(db, ids[i])) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, from);
		sqlite3_bind_int64(s, 2, to);
		if (ids[i] == S_COPY_ANALYSES)
			sqlite3_bind_int64(s, 3, now());
		if (run(db, s) == -1)
			return -1;
	}
	return 0;
}

/* mtag_db_track_put's transaction. Returns the number of analyses queued,
 * or -1. */
static int
put_track(mtag_db *db, const char *path, const struct stat *st,
    const char *hash, const mtag_meta *m, int64_t gen, int64_t *id)
{
	int64_t src = 0;
	int rc;

	*id = 0;
	switch (track_at(db, path, hash, id)) {
	case -1:
		return -1;
	case 1:
		return write_track(db, id, path, st, hash, m, gen, NULL);
	case 2:
		if (write_track(db, id, path, st, hash, m, gen, NULL) == -1)
			return -1;
		return requeue_track(db, *id, NULL);
	}
	if ((rc = track_like(db, hash, &src)) == -1)
		return -1;
	if (rc == 2) {
		*id = src;
		return write_track(db, id, path, st, hash, m, gen, NULL);
	}
	if (write_track(db, id, path, st, hash, m, gen, NULL) == -1 ||
	    (rc == 1 && copy_analyses(db, src, *id) == -1))
		return -1;
	return queue_track(db, *id, NULL);
}

int
mtag_db_track_put(mtag_db *db, const char *path, const struct stat *st,
    const char *hash, const mtag_meta *meta, int64_t gen, int64_t *track_id,
    int *queued)
{
	int64_t id = 0;
	int n;

	if (begin(db, 1) == -1)
		return -1;
	if ((n = end(db, put_track(db, path, st, hash, meta, gen, &id))) < 0)
		return -1;
	*track_id = id;
	if (queued != NULL)
		*queued = n;
	return 0;
}

static int
fail_track(mtag_db *db, const char *path, const struct stat *st,
    const char *error, int64_t gen)
{
	int64_t id = 0;

	if (track_at(db, path, NULL, &id) == -1 ||
	    write_track(db, &id, path, st, NULL, NULL, gen, error) == -1)
		return -1;
	return requeue_track(db, id, error);
}

int
mtag_db_track_failed(mtag_db *db, const char *path, const struct stat *st,
    const char *error, int64_t gen)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, fail_track(db, path, st, error, gen)) < 0 ? -1 : 0;
}

/* The length of path without its trailing slashes. */
static int
dirlen(const char *path)
{
	size_t n = strlen(path);

	while (n > 0 && path[n - 1] == '/')
		n--;
	return (int)n;
}

/* Whether the directory a (alen bytes) is b (blen bytes) or under it. */
static int
within(const char *a, int alen, const char *b, int blen)
{
	return alen >= blen && memcmp(a, b, blen) == 0 &&
	    (alen == blen || a[blen] == '/');
}

/* Runs the statement id with ?1 from (flen bytes), ?2 to (tlen bytes)
 * and ?3, if it has one, the time. Returns the number of rows changed, or
 * -1. */
static int
run_move(mtag_db *db, int id, const char *from, int flen, const char *to,
    int tlen)
{
	sqlite3_stmt *s;

	if ((s = stmt(db, id)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, from, flen, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, to, tlen, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(s) == 3)
		sqlite3_bind_int64(s, 3, now());
	return run(db, s);
}

int
mtag_db_move(mtag_db *db, const char *from, const char *to, int is_dir)
{
	int flen = is_dir ? dirlen(from) : (int)strlen(from);
	int tlen = is_dir ? dirlen(to) : (int)strlen(to);
	int rc;

	if (flen == tlen && memcmp(from, to, flen) == 0)
		return 0;
	if (is_dir && (within(from, flen, to, tlen) ||
	    within(to, tlen, from, flen)))
		return fail(db, "cannot move %s into %s", from, to);
	if (begin(db, 1) == -1)
		return -1;
	rc = run_move(db, is_dir ? S_MOVE_DIR_CLEAR : S_MOVE_FILE_CLEAR, from,
	    flen, to, tlen);
	if (rc != -1)
		rc = run_move(db, is_dir ? S_MOVE_DIR : S_MOVE_FILE, from, flen,
		    to, tlen);
	return end(db, rc);
}

int
mtag_db_remove(mtag_db *db, const char *path, int is_dir)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (begin(db, 1) == -1)
		return -1;
	if ((s = stmt(db, is_dir ? S_REMOVE_DIR : S_REMOVE_FILE)) != NULL) {
		sqlite3_bind_text(s, 1, path, is_dir ? dirlen(path) : -1,
		    SQLITE_STATIC);
		rc = run(db, s);
	}
	return end(db, rc);
}

int
mtag_db_scan_begin(mtag_db *db, int64_t *gen)
{
	sqlite3_stmt *s;
	int64_t g = 0;
	int rc = -1;

	if (begin(db, 1) == -1)
		return -1;
	if ((s = stmt(db, S_SCAN_BEGIN)) != NULL) {
		sqlite3_bind_int64(s, 1, now());
		if ((rc = run(db, s)) != -1)
			g = sqlite3_last_insert_rowid(db->sql);
	}
	if (end(db, rc) < 0)
		return -1;
	*gen = g;
	return 0;
}

static int
end_scan(mtag_db *db, const char *root, int64_t gen)
{
	sqlite3_stmt *s;
	int n;

	if ((s = stmt(db, S_FORGET_UNSEEN)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, root, dirlen(root), SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, gen);
	if ((n = run(db, s)) == -1 || (s = stmt(db, S_SCAN_END)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, gen);
	sqlite3_bind_int64(s, 2, now());
	return run(db, s) == -1 ? -1 : n;
}

int
mtag_db_scan_end(mtag_db *db, const char *root, int64_t gen)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, end_scan(db, root, gen));
}

static int
ensure_model(mtag_db *db, const char *name, const char *arch,
    const char *dataset, const char *sha256, char *const *tags, int ntags,
    int64_t *id)
{
	sqlite3_stmt *s;
	int known, same, i;

	if ((s = stmt(db, S_MODEL_BY_NAME)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, sha256, -1, SQLITE_STATIC);
	if ((known = step(db, s)) == -1)
		return -1;
	if (known) {
		*id = sqlite3_column_int64(s, 0);
		same = sqlite3_column_int(s, 1);
		sqlite3_reset(s);
		if (same)
			return 0;
	}

	if ((s = stmt(db, known ? S_MODEL_UPDATE : S_MODEL_INSERT)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, arch, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, dataset, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, ntags);
	sqlite3_bind_int64(s, 6, now());
	if (run(db, s) == -1)
		return -1;
	if (known) {
		/* Another checkpoint: its results replace the old ones. */
		if ((s = stmt(db, S_MODEL_TAGS_FORGET)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, *id);
		if (run(db, s) == -1 ||
		    (s = stmt(db, S_MODEL_ANALYSES_FORGET)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, *id);
		if (run(db, s) == -1)
			return -1;
	} else
		*id = sqlite3_last_insert_rowid(db->sql);

	for (i = 0; i < ntags; i++) {
		if ((s = stmt(db, S_MODEL_TAG_INSERT)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, *id);
		sqlite3_bind_int(s, 2, i);
		sqlite3_bind_text(s, 3, tags[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, dataset, -1, SQLITE_STATIC);
		if (run(db, s) == -1)
			return -1;
	}
	if ((s = stmt(db, S_QUEUE_MODEL)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, *id);
	sqlite3_bind_int64(s, 2, now());
	return run(db, s) == -1 ? -1 : 0;
}

int
mtag_db_model_ensure(mtag_db *db, const char *name, const char *arch,
    const char *dataset, const char *sha256, char *const *tags, int ntags,
    int64_t *model_id)
{
	int64_t id = 0;

	if (ntags <= 0)
		return fail(db, "model %s: no tags", name);
	if (begin(db, 1) == -1)
		return -1;
	if (end(db, ensure_model(db, name, arch, dataset, sha256, tags, ntags,
	    &id)) < 0)
		return -1;
	*model_id = id;
	return 0;
}

static int
claim(mtag_db *db, int64_t model_id, int64_t *track_id, char **path)
{
	sqlite3_stmt *s;
	int64_t job;
	char *p;
	int rc;

	if ((s = stmt(db, S_JOB_NEXT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, model_id);
	if ((rc = step(db, s)) != 1)
		return rc;
	job = sqlite3_column_int64(s, 0);
	*track_id = sqlite3_column_int64(s, 1);
	p = strdup((const char *)sqlite3_column_text(s, 2));
	sqlite3_reset(s);
	if (p == NULL)
		return fail(db, "out of memory");
	if ((s = stmt(db, S_JOB_START)) == NULL) {
		free(p);
		return -1;
	}
	sqlite3_bind_int64(s, 1, job);
	if (run(db, s) == -1) {
		free(p);
		return -1;
	}
	*path = p;
	return 1;
}

int
mtag_db_job_claim(mtag_db *db, int64_t model_id, int64_t *track_id,
    char **path)
{
	char *p = NULL;
	int64_t id = 0;
	int rc;

	if (begin(db, 1) == -1)
		return -1;
	if ((rc = end(db, claim(db, model_id, &id, &p))) != 1) {
		free(p);
		return rc;
	}
	*track_id = id;
	*path = p;
	return 1;
}

static int
store(mtag_db *db, int64_t track_id, int64_t model_id, const float *probs,
    int ntags, const float *emb, int dim, const float *chunk_probs,
    const double *chunk_starts, int nchunks)
{
	sqlite3_stmt *s;
	int rc, running, want, i;

	if ((s = stmt(db, S_JOB_STATE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, track_id);
	sqlite3_bind_int64(s, 2, model_id);
	if ((rc = step(db, s)) != 1)
		return rc;
	running = sqlite3_column_int(s, 0);
	want = sqlite3_column_int(s, 1);
	sqlite3_reset(s);
	if (!running)
		return 0;
	if (ntags != want)
		return fail(db, "track %lld: %d scores for the %d tags of "
		    "model %lld", (long long)track_id, ntags, want,
		    (long long)model_id);

	for (i = 0; i < ntags; i++) {
		if (!isfinite(probs[i]))
			return fail(db, "track %lld: score %d is not a number",
			    (long long)track_id, i);
		if ((s = stmt(db, S_SCORE_INSERT)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, model_id);
		sqlite3_bind_int(s, 2, i);
		sqlite3_bind_double(s, 3, probs[i]);
		sqlite3_bind_int64(s, 4, track_id);
		if (run(db, s) == -1)
			return -1;
	}

	if ((s = stmt(db, S_JOB_DONE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, track_id);
	sqlite3_bind_int64(s, 2, model_id);
	sqlite3_bind_int64(s, 3, now());
	if (nchunks > 0)
		sqlite3_bind_int(s, 5, nchunks);
	if (bind_le(db, s, 4, emb, dim, 4) == -1 ||
	    bind_le(db, s, 6, chunk_starts, nchunks, 8) == -1 ||
	    bind_le(db, s, 7, chunk_probs, (size_t)nchunks * ntags, 4) == -1 ||
	    run(db, s) == -1)
		return -1;

	for (i = 0; i < 2; i++) {
		if ((s = stmt(db, i == 0 ? S_RANKS_INSERT : S_VECTOR_INSERT)) ==
		    NULL)
			return -1;
		sqlite3_bind_int64(s, 1, track_id);
		sqlite3_bind_int64(s, 2, model_id);
		if (run(db, s) == -1)
			return -1;
	}
	if (db->writeback) {
		if ((s = stmt(db, S_WRITEBACK_QUEUE)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, track_id);
		if (run(db, s) == -1)
			return -1;
	}
	return 0;
}

int
mtag_db_job_done(mtag_db *db, int64_t track_id, int64_t model_id,
    const float *probs, int ntags, const float *emb, int dim,
    const float *chunk_probs, const double *chunk_starts, int nchunks)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, store(db, track_id, model_id, probs, ntags, emb, dim,
	    chunk_probs, chunk_starts, nchunks)) < 0 ? -1 : 0;
}

void
mtag_db_writeback_queue(mtag_db *db, int on)
{
	pthread_mutex_lock(&db->lock);
	db->writeback = on;
	pthread_mutex_unlock(&db->lock);
}

int
mtag_db_writeback_done(mtag_db *db, int64_t track_id)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (begin(db, 1) == -1)
		return -1;
	if ((s = stmt(db, S_WRITEBACK_DONE)) != NULL) {
		sqlite3_bind_int64(s, 1, track_id);
		rc = run(db, s);
	}
	return end(db, rc) < 0 ? -1 : 0;
}

static int
writeback_recover(mtag_db *db)
{
	sqlite3_stmt *s;

	if (run(db, stmt(db, S_WRITEBACK_FORGET)) == -1 ||
	    (s = stmt(db, S_WRITEBACK_REQUEUE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now());
	return run(db, s);
}

int
mtag_db_writeback_recover(mtag_db *db)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, writeback_recover(db));
}

/* Runs the statement id on a running job with ?3 error and ?4 the time. */
static int
set_job(mtag_db *db, int id, int64_t track_id, int64_t model_id,
    const char *error)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (begin(db, 1) == -1)
		return -1;
	if ((s = stmt(db, id)) != NULL) {
		sqlite3_bind_int64(s, 1, track_id);
		sqlite3_bind_int64(s, 2, model_id);
		bind_str(s, 3, error);
		sqlite3_bind_int64(s, 4, now());
		rc = run(db, s);
	}
	return end(db, rc) < 0 ? -1 : 0;
}

int
mtag_db_job_failed(mtag_db *db, int64_t track_id, int64_t model_id,
    const char *error)
{
	return set_job(db, S_JOB_FAILED, track_id, model_id, error);
}

int
mtag_db_job_requeue(mtag_db *db, int64_t track_id, int64_t model_id)
{
	return set_job(db, S_JOB_REQUEUE, track_id, model_id, NULL);
}

static int
forgive(mtag_db *db, const int64_t *crashed, int n)
{
	sqlite3_stmt *s;
	int i;

	if (run(db, stmt(db, S_JOBS_FORGIVE)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((s = stmt(db, S_JOB_CRASHED)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, crashed[i]);
		if (run(db, s) == -1)
			return -1;
	}
	return 0;
}

int
mtag_db_jobs_forgive(mtag_db *db, const int64_t *crashed, int n)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, forgive(db, crashed, n));
}

static int
recover(mtag_db *db)
{
	sqlite3_stmt *s;

	if ((s = stmt(db, S_JOBS_GIVE_UP)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, INTERRUPTED, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now());
	if (run(db, s) == -1)
		return -1;
	return run(db, stmt(db, S_JOBS_RECOVER));
}

int
mtag_db_jobs_recover(mtag_db *db)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, recover(db));
}

static int
count(mtag_db *db, int64_t model_id, struct mtag_db_counts *c)
{
	sqlite3_stmt *s;
	const char *status;
	int64_t n;
	int rc;

	if (one_int(db, stmt(db, S_COUNT_TRACKS), &c->tracks) == -1 ||
	    (s = stmt(db, S_COUNT_ANALYSES)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, model_id);
	while ((rc = step(db, s)) == 1) {
		status = (const char *)sqlite3_column_text(s, 0);
		n = sqlite3_column_int64(s, 1);
		if (strcmp(status, "done") == 0)
			c->analysed = n;
		else if (strcmp(status, "pending") == 0)
			c->pending = n;
		else if (strcmp(status, "running") == 0)
			c->running = n;
		else
			c->failed = n;
	}
	return rc;
}

int
mtag_db_counts(mtag_db *db, int64_t model_id, struct mtag_db_counts *c)
{
	struct mtag_db_counts k = { 0 };

	if (begin(db, 0) == -1)
		return -1;
	if (end(db, count(db, model_id, &k)) < 0)
		return -1;
	*c = k;
	return 0;
}

/* --- The writeback journal ------------------------------------------- */

/* The statement sql, prepared for one use (the caller finalizes it), or
 * NULL. */
static sqlite3_stmt *
once(mtag_db *db, const char *sql)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &s, NULL) != SQLITE_OK) {
		sqlfail(db);
		return NULL;
	}
	return s;
}

/* Runs sql once, with the text t1, t2 (when not NULL) and the integers i3,
 * i4 as ?1 to ?4. Returns the number of rows changed, or -1. */
static int
exec_once(mtag_db *db, const char *sql, const char *t1, const char *t2,
    int64_t i3, int64_t i4)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = once(db, sql)) == NULL)
		return -1;
	if (t1 != NULL)
		sqlite3_bind_text(s, 1, t1, -1, SQLITE_STATIC);
	if (t2 != NULL)
		sqlite3_bind_text(s, 2, t2, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, i3);
	sqlite3_bind_int64(s, 4, i4);
	rc = run(db, s);
	sqlite3_finalize(s);
	return rc;
}

int
mtag_db_journal_begin(mtag_db *db, const char *model, int64_t *run_id)
{
	int rc;

	if (begin(db, 1) == -1)
		return -1;
	rc = exec_once(db, "INSERT INTO writeback_runs (model, started_at) "
	    "VALUES (?1, ?3)", model, NULL, now(), 0);
	*run_id = sqlite3_last_insert_rowid(db->sql);
	return end(db, rc) < 0 ? -1 : 0;
}

static int
journal_put(mtag_db *db, int64_t run_id, const char *path, int n,
    const char *const *fields, const char *const *old,
    const char *const *new)
{
	sqlite3_stmt *s;
	int i, rc = 0;

	if (exec_once(db, "INSERT OR REPLACE INTO writeback_files (run_id, "
	    "path) VALUES (?3, ?1)", path, NULL, run_id, 0) == -1 ||
	    (s = once(db, "INSERT INTO writeback_fields (run_id, path, field, "
	    "old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5)")) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		sqlite3_bind_int64(s, 1, run_id);
		sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, fields[i], -1, SQLITE_STATIC);
		if (old[i] != NULL)
			sqlite3_bind_text(s, 4, old[i], -1, SQLITE_STATIC);
		if (new[i] != NULL)
			sqlite3_bind_text(s, 5, new[i], -1, SQLITE_STATIC);
		rc = run(db, s) == -1 ? -1 : 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int
mtag_db_journal_put(mtag_db *db, int64_t run_id, const char *path, int n,
    const char *const *fields, const char *const *old,
    const char *const *new)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, journal_put(db, run_id, path, n, fields, old, new));
}

static int
journal_written(mtag_db *db, int64_t run_id, const char *path,
    const struct stat *st, const char *hash, const char *genre, int undone)
{
	sqlite3_stmt *s;
	int rc;

	if (exec_once(db, "UPDATE writeback_files SET state = ?1 WHERE "
	    "run_id = ?3 AND path = ?2", undone ? "undone" : "written", path,
	    run_id, 0) == -1 ||
	    (s = once(db, "UPDATE tracks SET size = ?2, mtime_ns = ?3, "
	    "inode = ?4, device = ?5, hash = ?6, genre = ?7, updated_at = ?8 "
	    "WHERE path = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, st->st_size);
	sqlite3_bind_int64(s, 3, mtime_ns(st));
	sqlite3_bind_int64(s, 4, st->st_ino);
	sqlite3_bind_int64(s, 5, st->st_dev);
	sqlite3_bind_text(s, 6, hash, -1, SQLITE_STATIC);
	bind_str(s, 7, genre);
	sqlite3_bind_int64(s, 8, now());
	rc = run(db, s);
	sqlite3_finalize(s);
	return rc == -1 ? -1 : 0;
}

int
mtag_db_journal_written(mtag_db *db, int64_t run_id, const char *path,
    const struct stat *st, const char *hash, const char *genre, int undone)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, journal_written(db, run_id, path, st, hash, genre,
	    undone));
}

int
mtag_db_journal_last(mtag_db *db, int64_t *run_id)
{
	sqlite3_stmt *s;
	int rc;

	if (begin(db, 0) == -1)
		return -1;
	if ((s = once(db, "SELECT max(id) FROM writeback_runs WHERE "
	    "undone_at IS NULL")) == NULL)
		return end(db, -1);
	if ((rc = step(db, s)) == 1) {
		rc = sqlite3_column_type(s, 0) != SQLITE_NULL;
		*run_id = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return end(db, rc);
}

int
mtag_db_journal_wrote(mtag_db *db, const char *path)
{
	sqlite3_stmt *s;
	int rc;

	if (begin(db, 0) == -1)
		return -1;
	if ((s = once(db, "SELECT count(*) FROM writeback_files f JOIN "
	    "writeback_runs r ON r.id = f.run_id WHERE f.path = ? AND "
	    "f.state = 'written' AND r.undone_at IS NULL")) == NULL)
		return end(db, -1);
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	if ((rc = step(db, s)) == 1)
		rc = sqlite3_column_int64(s, 0) > 0;
	sqlite3_finalize(s);
	return end(db, rc);
}

static int
journal_read(mtag_db *db, int64_t run_id, int (*fn)(void *, const char *,
    const char *, const char *, const char *), void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = once(db, "SELECT 1 FROM writeback_runs WHERE id = ?1")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	rc = step(db, s);
	sqlite3_finalize(s);
	if (rc == 0)
		return fail(db, "no writeback run %lld", (long long)run_id);
	if (rc == -1 || (s = once(db, "SELECT f.path, f.field, f.old_value, "
	    "f.new_value FROM writeback_fields f JOIN writeback_files w ON "
	    "w.run_id = f.run_id AND w.path = f.path WHERE f.run_id = ?1 AND "
	    "w.state != 'undone' ORDER BY f.path, f.field")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	while ((rc = step(db, s)) == 1 && (rc = fn(arg,
	    (const char *)sqlite3_column_text(s, 0),
	    (const char *)sqlite3_column_text(s, 1),
	    (const char *)sqlite3_column_text(s, 2),
	    (const char *)sqlite3_column_text(s, 3))) == 0)
		;
	sqlite3_finalize(s);
	return rc;
}

int
mtag_db_journal_read(mtag_db *db, int64_t run_id, int (*fn)(void *,
    const char *, const char *, const char *, const char *), void *arg)
{
	int rc;

	if (begin(db, 0) == -1)
		return -1;
	rc = journal_read(db, run_id, fn, arg);
	end(db, rc < 0 ? rc : 0);
	return rc;
}

int
mtag_db_journal_undone(mtag_db *db, int64_t run_id)
{
	if (begin(db, 1) == -1)
		return -1;
	return end(db, exec_once(db, "UPDATE writeback_runs SET undone_at = ?3 "
	    "WHERE id = ?4", NULL, NULL, now(), run_id) < 0 ? -1 : 0);
}

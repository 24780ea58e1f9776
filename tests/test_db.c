/* Tests of indexer/db.c on a real database file in a temporary folder:
 * migrations, recording, moving, copying and removing tracks, scans,
 * models, the job queue, the scores index, and a read-only connection
 * reading while the writer writes. */
#define _XOPEN_SOURCE 700	/* nftw */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "migrations.h"
#include "sha256.h"
#include "testutil.h"

#define NTAGS	3
#define DIM	4
#define NCHUNKS	2

static char dir[] = "/tmp/mtag-test-db.XXXXXX";
static char dbpath[PATH_MAX];
static mtag_db *db;
static sqlite3 *raw;		/* a second connection, for inspection */
static char *tags[NTAGS] = { "rock", "female vocal", "piano" };

/* Runs sql, whose parameters are given by fmt ('i' int64_t, 'd' double,
 * 's' string). Returns the first column of its first row, -1 when there is
 * none. */
static int64_t
q(const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int64_t v = -1;
	int i;

	if (sqlite3_prepare_v2(raw, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(raw));
		test_failures++;
		return -1;
	}
	va_start(ap, fmt);
	for (i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] == 'i')
			sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
		else if (fmt[i] == 'd')
			sqlite3_bind_double(s, i + 1, va_arg(ap, double));
		else
			sqlite3_bind_text(s, i + 1, va_arg(ap, const char *),
			    -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	for (i = 0; sqlite3_step(s) == SQLITE_ROW; i = 1)
		if (i == 0)
			v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int64_t
pending(int64_t model)
{
	return q("SELECT count(*) FROM analyses WHERE model_id = ? AND "
	    "status = 'pending'", "i", model);
}

static int64_t
status_is(int64_t track, int64_t model, const char *status)
{
	return q("SELECT count(*) FROM analyses WHERE track_id = ? AND "
	    "model_id = ? AND status = ?", "iis", track, model, status);
}

static int64_t
track_id(const char *path)
{
	return q("SELECT id FROM tracks WHERE path = ?", "s", path);
}

/* Writes contents to the file dir/rel, creating its folders; its path
 * into path (PATH_MAX bytes). */
static void
write_file(const char *rel, const char *contents, char *path)
{
	char *p;
	FILE *f;

	snprintf(path, PATH_MAX, "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			perror(path);
		*p = '/';
	}
	CHECK((f = fopen(path, "w")) != NULL);
	if (f != NULL) {
		fputs(contents, f);
		fclose(f);
	}
}

/* Records the file at path as the indexer does. Returns the number of
 * analyses queued, or -1. */
static int
put(const char *path, int64_t gen, int64_t *id)
{
	mtag_meta m = { .title = "Song", .artist = "Artist", .codec = "mp3",
	    .year = 1999, .duration = 180.5, .sample_rate = 44100,
	    .channels = 2 };
	struct stat st;
	char hash[65];
	int queued = -1;

	if (stat(path, &st) == -1 || mtag_sha256_file(path, hash) == -1) {
		perror(path);
		return -1;
	}
	if (mtag_db_track_put(db, path, &st, hash, &m, gen, id, &queued) ==
	    -1) {
		fprintf(stderr, "%s\n", mtag_db_errmsg(db));
		return -1;
	}
	return queued;
}

/* Records path, which need not exist, with a hash of its name. */
static int64_t
put_fake(const char *path)
{
	unsigned char digest[MTAG_SHA256_LEN];
	struct stat st = { .st_size = 1, .st_ino = 1 };
	mtag_sha256 s;
	char hash[65];
	int64_t id = -1;

	mtag_sha256_init(&s);
	mtag_sha256_update(&s, path, strlen(path));
	mtag_sha256_final(&s, digest);
	mtag_sha256_hex(digest, hash);
	CHECK(mtag_db_track_put(db, path, &st, hash, NULL, 0, &id, NULL) ==
	    0);
	return id;
}

/* Completes every pending job of model, the score of tag t of track id
 * being (id % 10) / 10 + t / 100. Returns the number done. */
static int
analyse_all(int64_t model)
{
	float probs[NTAGS], emb[DIM], chunks[NCHUNKS * NTAGS];
	double starts[NCHUNKS] = { 0, 3 };
	int64_t id;
	char *path;
	int ntags = q("SELECT ntags FROM models WHERE id = ?", "i", model);
	int n = 0, i;

	while (mtag_db_job_claim(db, model, &id, &path) == 1) {
		free(path);
		for (i = 0; i < NTAGS; i++)
			probs[i] = (id % 10) / 10.0f + i / 100.0f;
		for (i = 0; i < DIM; i++)
			emb[i] = id + i;
		for (i = 0; i < NCHUNKS * NTAGS; i++)
			chunks[i] = i / 8.0f;
		if (mtag_db_job_done(db, id, model, probs, ntags, emb, DIM,
		    chunks, starts, NCHUNKS) == -1) {
			fprintf(stderr, "%s\n", mtag_db_errmsg(db));
			test_failures++;
		}
		n++;
	}
	return n;
}

static void
test_open(void)
{
	char err[512], junk[PATH_MAX];
	sqlite3 *newer;
	mtag_db *ro;
	FILE *f;
	int i;

	snprintf(dbpath, sizeof(dbpath), "%s/library.db", dir);
	db = mtag_db_open(dbpath, 0, err, sizeof(err));
	CHECK(db != NULL);
	if (db == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	mtag_db_close(db);
	db = mtag_db_open(dbpath, 0, err, sizeof(err));	/* idempotent */
	CHECK(db != NULL);
	CHECK(sqlite3_open(dbpath, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL) == SQLITE_OK);
	CHECK(q("PRAGMA user_version", "") == mtag_nmigrations);
	CHECK(q("SELECT count(*) FROM pragma_journal_mode WHERE "
	    "journal_mode = 'wal'", "") == 1);
	CHECK(q("SELECT count(*) FROM sqlite_master WHERE name IN ('tracks', "
	    "'models', 'model_tags', 'analyses', 'scores', 'scans')", "") ==
	    6);

	CHECK((ro = mtag_db_open(dbpath, MTAG_DB_READONLY, err,
	    sizeof(err))) != NULL);
	mtag_db_close(ro);
	mtag_db_close(NULL);

	snprintf(junk, sizeof(junk), "%s/junk.db", dir);
	CHECK((f = fopen(junk, "w")) != NULL);
	for (i = 0; i < 100; i++)
		fputs("This is not an SQLite database but a text file.\n", f);
	fclose(f);
	CHECK(mtag_db_open(junk, 0, err, sizeof(err)) == NULL);
	CHECK(strstr(err, junk) == err && strstr(err, "not a database"));
	CHECK(mtag_db_open(junk, MTAG_DB_READONLY, err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, junk) == err && strstr(err, "not a database"));

	snprintf(junk, sizeof(junk), "%s/newer.db", dir);
	mtag_db_close(mtag_db_open(junk, 0, err, sizeof(err)));
	CHECK(sqlite3_open(junk, &newer) == SQLITE_OK);
	CHECK(sqlite3_exec(newer, "PRAGMA user_version = 1000", NULL, NULL,
	    NULL) == SQLITE_OK);
	sqlite3_close(newer);
	CHECK(mtag_db_open(junk, 0, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "schema version 1000 is newer") != NULL);

	snprintf(junk, sizeof(junk), "%s/absent.db", dir);
	CHECK(mtag_db_open(junk, MTAG_DB_READONLY, err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, junk) == err);
}

static void
test_models(int64_t *m1)
{
	int64_t again;

	CHECK(mtag_db_model_ensure(db, "m1", "musicnn", "mtat",
	    "0123456789abcdef", tags, NTAGS, m1) == 0);
	CHECK(mtag_db_model_ensure(db, "m1", "musicnn", "mtat",
	    "0123456789abcdef", tags, NTAGS, &again) == 0);
	CHECK(again == *m1);
	CHECK(q("SELECT count(*) FROM models", "") == 1);
	CHECK(q("SELECT idx FROM model_tags WHERE model_id = ? AND "
	    "name = 'female vocal'", "i", *m1) == 1);
	CHECK(mtag_db_model_ensure(db, "m0", "fcn", "msd", "00", tags, 0,
	    &again) == -1);
	CHECK(strstr(mtag_db_errmsg(db), "no tags") != NULL);
}

/* Put, unchanged, rescan and changed contents. */
static void
test_tracks(int64_t m1)
{
	char path[PATH_MAX];
	struct stat st;
	int64_t id, id2, gen;
	struct timespec ts[2] = { { 0, 0 }, { 1000000000, 5 } };

	write_file("music/a/one.mp3", "one", path);
	CHECK(stat(path, &st) == 0);
	CHECK(mtag_db_track_unchanged(db, path, &st, 0) == 0);
	CHECK(put(path, 0, &id) == 1);
	CHECK(pending(m1) == 1);
	CHECK(q("SELECT count(*) FROM tracks WHERE id = ? AND title = 'Song' "
	    "AND year = 1999 AND codec = 'mp3' AND disc_no IS NULL AND "
	    "mtime_ns = ? AND error IS NULL", "ii", id,
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) ==
	    1);
	CHECK(mtag_db_track_unchanged(db, path, &st, 0) == 1);

	/* Same contents again: nothing queued. */
	CHECK(put(path, 0, &id2) == 0);
	CHECK(id2 == id && pending(m1) == 1);
	CHECK(analyse_all(m1) == 1);
	CHECK(status_is(id, m1, "done") == 1);
	CHECK(q("SELECT count(*) FROM scores WHERE track_id = ?", "i", id) ==
	    NTAGS);

	/* A new mtime is a change; the same hash keeps the analysis. */
	CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
	CHECK(stat(path, &st) == 0);
	CHECK(mtag_db_track_unchanged(db, path, &st, 0) == 0);
	CHECK(put(path, 0, &id2) == 0);
	CHECK(id2 == id && status_is(id, m1, "done") == 1);

	/* New contents: queued again, old scores gone. */
	write_file("music/a/one.mp3", "one, remastered", path);
	CHECK(put(path, 0, &id2) == 1);
	CHECK(id2 == id && status_is(id, m1, "pending") == 1);
	CHECK(q("SELECT count(*) FROM scores WHERE track_id = ?", "i", id) ==
	    0);
	CHECK(analyse_all(m1) == 1);

	/* A scan forgets what it did not see under its root only. */
	write_file("music/a2/other.mp3", "other", path);
	CHECK(put(path, 0, &id2) == 1);
	write_file("music/a/two.mp3", "two", path);
	CHECK(put(path, 0, &id2) == 1);
	CHECK(analyse_all(m1) == 2);
	CHECK(mtag_db_scan_begin(db, &gen) == 0 && gen > 0);
	CHECK(stat(path, &st) == 0);
	CHECK(mtag_db_track_unchanged(db, path, &st, gen) == 1);
	snprintf(path, sizeof(path), "%s/music/a/", dir);
	CHECK(mtag_db_scan_end(db, path, gen) == 1);	/* one.mp3 */
	CHECK(q("SELECT count(*) FROM tracks", "") == 2);
	CHECK(q("SELECT count(*) FROM analyses WHERE track_id = ?", "i",
	    id) == 0);
	CHECK(q("SELECT count(*) FROM scores WHERE track_id = ?", "i", id) ==
	    0);

	/* The watcher's tracks are seen by the scan in progress. */
	CHECK(mtag_db_scan_begin(db, &gen) == 0);
	write_file("music/a/three.mp3", "three", path);
	CHECK(put(path, 0, &id) == 1);
	snprintf(path, sizeof(path), "%s/music/a", dir);
	CHECK(mtag_db_scan_end(db, path, gen) == 1);	/* two.mp3 */
	CHECK(q("SELECT count(*) FROM tracks", "") == 2);
	CHECK(mtag_db_remove(db, path, 1) == 1);
	snprintf(path, sizeof(path), "%s/music/a2", dir);
	CHECK(mtag_db_remove(db, path, 1) == 1);
}

/* Copies and moves found by hash, and moves told by the watcher. */
static void
test_moves(int64_t m1)
{
	char one[PATH_MAX], copy[PATH_MAX], moved[PATH_MAX], from[PATH_MAX],
	    to[PATH_MAX];
	int64_t id, id2, n;
	int i;

	write_file("music/d/one.mp3", "contents of one", one);
	CHECK(put(one, 0, &id) == 1);
	CHECK(analyse_all(m1) == 1);

	/* Same contents elsewhere, the original still there: a copy. */
	write_file("music/e/copy.mp3", "contents of one", copy);
	CHECK(put(copy, 0, &id2) == 0);
	CHECK(id2 != id && pending(m1) == 0);
	CHECK(status_is(id2, m1, "done") == 1);
	CHECK(q("SELECT count(*) FROM scores s JOIN scores t ON "
	    "t.model_id = s.model_id AND t.tag_idx = s.tag_idx AND "
	    "t.score = s.score WHERE s.track_id = ? AND t.track_id = ?", "ii",
	    id, id2) == NTAGS);
	CHECK(q("SELECT count(*) FROM analyses a JOIN analyses b ON "
	    "a.embedding = b.embedding AND a.chunk_scores = b.chunk_scores "
	    "AND a.chunk_starts = b.chunk_starts AND a.nchunks = b.nchunks "
	    "WHERE a.track_id = ? AND b.track_id = ?", "ii", id, id2) == 1);

	/* The original renamed behind our back: a move, same track. */
	write_file("music/f/one.mp3", "", moved);
	CHECK(rename(one, moved) == 0);
	CHECK(put(moved, 0, &id2) == 0);
	CHECK(id2 == id && track_id(one) == -1);
	CHECK(status_is(id, m1, "done") == 1 && pending(m1) == 0);

	/* The watcher's rename of a file. */
	snprintf(to, sizeof(to), "%s/music/f/renamed.mp3", dir);
	CHECK(mtag_db_move(db, moved, to, 0) == 1);
	CHECK(track_id(to) == id && track_id(moved) == -1);
	CHECK(mtag_db_move(db, moved, to, 0) == 0);
	CHECK(status_is(id, m1, "done") == 1 && pending(m1) == 0);

	/* A file renamed over a known one replaces it. */
	CHECK(mtag_db_move(db, copy, to, 0) == 1);
	CHECK(track_id(to) != id && track_id(copy) == -1);
	CHECK(q("SELECT count(*) FROM analyses WHERE track_id = ?", "i", id) ==
	    0);

	/* Directories, with a sibling sharing the prefix left alone. */
	for (i = 0; i < 5; i++) {
		snprintf(from, sizeof(from), "%s/music/g/sub/%d.mp3", dir, i);
		put_fake(from);
	}
	snprintf(from, sizeof(from), "%s/music/g2/x.mp3", dir);
	id2 = put_fake(from);
	CHECK(analyse_all(m1) == 6);
	n = q("SELECT count(*) FROM tracks", "");
	id = q("SELECT id FROM tracks WHERE path LIKE '%/g/sub/3.mp3'", "");
	snprintf(from, sizeof(from), "%s/music/g/", dir);
	snprintf(to, sizeof(to), "%s/music/h", dir);
	CHECK(mtag_db_move(db, from, to, 1) == 5);
	snprintf(to, sizeof(to), "%s/music/h/sub/3.mp3", dir);
	CHECK(track_id(to) == id);
	CHECK(status_is(id, m1, "done") == 1 && pending(m1) == 0);
	CHECK(q("SELECT count(*) FROM tracks", "") == n);
	CHECK(q("SELECT count(*) FROM tracks WHERE path LIKE '%/music/g/%'",
	    "") == 0);
	snprintf(from, sizeof(from), "%s/music/g2/x.mp3", dir);
	CHECK(track_id(from) == id2);
	snprintf(from, sizeof(from), "%s/music/h", dir);
	snprintf(to, sizeof(to), "%s/music/h/in", dir);
	CHECK(mtag_db_move(db, from, to, 1) == -1);
	CHECK(strstr(mtag_db_errmsg(db), "cannot move") != NULL);
}

/* Paths with LIKE's wildcards in their names, and prefix siblings. */
static void
test_remove(int64_t m1)
{
	static const char *const paths[] = {
		"/lib/a/b/100%_x.mp3", "/lib/a/b/c/x_y.mp3", "/lib/a/b2/z.mp3",
		"/lib/a/b%/w.mp3", "/lib/a/b_/v.mp3", "/lib/a/bc/u.mp3",
		"/lib/a/b", "/lib/a/b.mp3",
	};
	int64_t ids[8], n;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ids[i] = put_fake(paths[i]);
	CHECK(analyse_all(m1) == 8);
	n = q("SELECT count(*) FROM tracks", "");

	CHECK(mtag_db_remove(db, "/lib/a/b", 1) == 2);
	CHECK(track_id(paths[0]) == -1 && track_id(paths[1]) == -1);
	CHECK(q("SELECT count(*) FROM analyses WHERE track_id IN (?, ?)",
	    "ii", ids[0], ids[1]) == 0);
	CHECK(q("SELECT count(*) FROM scores WHERE track_id IN (?, ?)", "ii",
	    ids[0], ids[1]) == 0);
	for (i = 2; i < 8; i++)
		CHECK(track_id(paths[i]) == ids[i]);
	CHECK(mtag_db_remove(db, "/lib/a/b%", 1) == 1);
	CHECK(mtag_db_remove(db, "/lib/a/b_//", 1) == 1);
	CHECK(mtag_db_remove(db, "/lib/a/b", 0) == 1);
	CHECK(mtag_db_remove(db, "/lib/a/b", 0) == 0);
	CHECK(track_id(paths[2]) == ids[2] && track_id(paths[5]) == ids[5] &&
	    track_id(paths[7]) == ids[7]);
	CHECK(q("SELECT count(*) FROM tracks", "") == n - 5);
	CHECK(mtag_db_remove(db, "/lib", 1) == 3);
}

/* Unreadable files, and a new model queueing every track. */
static void
test_failed(int64_t m1)
{
	struct stat st = { .st_size = 2, .st_ino = 2 };
	struct mtag_db_counts c;
	int64_t bad, m2, tracks;
	char path[PATH_MAX];

	CHECK(mtag_db_track_failed(db, "/lib/bad.mp3", &st, "corrupt", 0) ==
	    0);
	bad = track_id("/lib/bad.mp3");
	CHECK(status_is(bad, m1, "failed") == 1);
	CHECK(q("SELECT count(*) FROM tracks WHERE id = ? AND hash IS NULL "
	    "AND error = 'corrupt'", "i", bad) == 1);
	CHECK(mtag_db_track_unchanged(db, "/lib/bad.mp3", &st, 0) == 1);

	tracks = q("SELECT count(*) FROM tracks", "");
	CHECK(mtag_db_model_ensure(db, "m2", "fcn", "msd", "fedcba", tags,
	    NTAGS, &m2) == 0);
	CHECK(m2 != m1 && pending(m2) == tracks - 1);
	CHECK(status_is(bad, m2, "failed") == 1);
	CHECK(mtag_db_counts(db, m2, &c) == 0);
	CHECK(c.tracks == tracks && c.pending == tracks - 1 && c.failed == 1 &&
	    c.analysed == 0 && c.running == 0);
	CHECK(mtag_db_counts(db, 0, &c) == 0);
	CHECK(c.analysed == tracks - 1 && c.failed == 2);

	/* Readable again: queued for both. */
	write_file("bad.mp3", "good now", path);
	CHECK(mtag_db_track_failed(db, path, &st, "corrupt", 0) == 0);
	bad = track_id(path);
	CHECK(put(path, 0, &bad) == 2);
	CHECK(status_is(bad, m1, "pending") == 1);
	CHECK(analyse_all(m1) == 1 && analyse_all(m2) == tracks);

	/* Another checkpoint under the same name: everything queued anew. */
	CHECK(mtag_db_model_ensure(db, "m2", "fcn", "msd", "fedcba2", tags,
	    2, &bad) == 0);
	CHECK(bad == m2 && pending(m2) == tracks);
	CHECK(q("SELECT count(*) FROM scores WHERE model_id = ?", "i", m2) ==
	    0);
	CHECK(q("SELECT count(*) FROM model_tags WHERE model_id = ?", "i",
	    m2) == 2);

	/* Forgetting a model forgets its analyses and scores. */
	CHECK(analyse_all(m2) == tracks);
	CHECK(q("DELETE FROM models WHERE id = ? RETURNING 0", "i", m2) == 0);
	CHECK(q("SELECT count(*) FROM analyses WHERE model_id = ?", "i", m2) ==
	    0);
	CHECK(q("SELECT count(*) FROM scores WHERE model_id = ?", "i", m2) ==
	    0);
}

static void
test_jobs(int64_t m1)
{
	float probs[NTAGS] = { 0.5f, 0.5f, 0.5f };
	char path[PATH_MAX], *p;
	int64_t id, got;

	write_file("music/job.mp3", "job", path);
	CHECK(put(path, 0, &id) == 1);
	CHECK(mtag_db_job_claim(db, m1, &got, &p) == 1);
	CHECK(got == id && strcmp(p, path) == 0);
	free(p);
	CHECK(mtag_db_job_claim(db, m1, &got, &p) == 0);
	CHECK(q("SELECT attempts FROM analyses WHERE track_id = ?", "i",
	    id) == 1);

	/* Shutdown mid-analysis: the attempt does not count. */
	CHECK(mtag_db_job_requeue(db, id, m1) == 0);
	CHECK(status_is(id, m1, "pending") == 1);
	CHECK(q("SELECT attempts FROM analyses WHERE track_id = ?", "i",
	    id) == 0);

	/* A crash: queued again once, then failed. */
	CHECK(mtag_db_job_claim(db, m1, &got, &p) == 1);
	free(p);
	CHECK(mtag_db_jobs_recover(db) == 1);
	CHECK(status_is(id, m1, "pending") == 1);
	CHECK(mtag_db_job_claim(db, m1, &got, &p) == 1);
	free(p);
	CHECK(mtag_db_jobs_recover(db) == 0);
	CHECK(status_is(id, m1, "failed") == 1);
	CHECK(q("SELECT count(*) FROM analyses WHERE track_id = ? AND "
	    "error LIKE 'analysis interrupted twice%'", "i", id) == 1);

	/* Results of a job not running are dropped; bad ones refused. */
	CHECK(mtag_db_job_done(db, id, m1, probs, NTAGS, NULL, 0, NULL, NULL,
	    0) == 0);
	CHECK(status_is(id, m1, "failed") == 1);
	write_file("music/job.mp3", "job, take two", path);
	CHECK(put(path, 0, &id) == 1);
	CHECK(mtag_db_job_claim(db, m1, &got, &p) == 1);
	free(p);
	CHECK(mtag_db_job_done(db, id, m1, probs, 2, NULL, 0, NULL, NULL,
	    0) == -1);
	CHECK(strstr(mtag_db_errmsg(db), dbpath) == mtag_db_errmsg(db));
	CHECK(mtag_db_job_failed(db, id, m1, "cannot decode") == 0);
	CHECK(q("SELECT count(*) FROM analyses WHERE track_id = ? AND "
	    "status = 'failed' AND error = 'cannot decode'", "i", id) == 1);
	CHECK(q("SELECT count(*) FROM scores WHERE track_id = ?", "i", id) ==
	    0);
	CHECK(mtag_db_remove(db, path, 0) == 1);
}

/* Whether the query plan of sql has want and not avoid. */
static int
planned(const char *sql, const char *want, const char *avoid)
{
	char plan[2048] = "", eqp[1024];
	sqlite3_stmt *s;

	snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(raw, eqp, -1, &s, NULL) != SQLITE_OK)
		return 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		strncat(plan, (const char *)sqlite3_column_text(s, 3),
		    sizeof(plan) - strlen(plan) - 2);
		strcat(plan, "\n");
	}
	sqlite3_finalize(s);
	if (strstr(plan, want) != NULL && strstr(plan, avoid) == NULL)
		return 1;
	fprintf(stderr, "%s\nplanned as\n%s", sql, plan);
	return 0;
}

/* "rock AND female vocal" is two range scans of the scores' key; lookups
 * by artist, title and album ignoring case use indexes. */
static void
test_indexes(int64_t m1)
{
	static const char both[] = "SELECT count(*) FROM (SELECT track_id "
	    "FROM scores WHERE model_id = ?1 AND tag_idx = 0 AND score >= ?2 "
	    "INTERSECT SELECT track_id FROM scores WHERE model_id = ?1 AND "
	    "tag_idx = 1 AND score >= ?2)";
	char path[64];
	int64_t i, n;

	for (i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/lib/scores/%lld.mp3",
		    (long long)i);
		put_fake(path);
	}
	CHECK(analyse_all(m1) == 20);

	/* Tracks whose id ends in 9: 0.9 for rock, 0.91 for female vocal. */
	n = q("SELECT count(*) FROM analyses WHERE model_id = ? AND "
	    "status = 'done' AND track_id % 10 = 9", "i", m1);
	CHECK(n >= 2);
	CHECK(q(both, "id", m1, 0.85) == n);
	CHECK(q(both, "id", m1, 0.0) > n);
	CHECK(planned(both, "SEARCH scores USING PRIMARY KEY (model_id=? AND "
	    "tag_idx=? AND score>?)", "SCAN scores"));

	CHECK(planned("SELECT id FROM tracks WHERE artist = 'ABBA' COLLATE "
	    "NOCASE", "USING COVERING INDEX tracks_artist (artist=?)", "SCAN"));
	CHECK(planned("SELECT id FROM tracks WHERE title LIKE 'wat%'",
	    "USING COVERING INDEX tracks_title (title>? AND title<?)",
	    "SCAN"));
	CHECK(planned("SELECT id FROM tracks WHERE album = 'x' COLLATE "
	    "NOCASE", "USING COVERING INDEX tracks_album (album=?)", "SCAN"));
}

static int writing;

static void *
writer(void *arg)
{
	int64_t m1 = *(int64_t *)arg;
	char path[64];
	int i;

	for (i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/lib/busy/%d.mp3", i);
		put_fake(path);
		if (i % 4 == 3)
			analyse_all(m1);
	}
	__atomic_store_n(&writing, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A read-only connection reads while the writer writes. */
static void
test_concurrent(int64_t m1)
{
	struct mtag_db_counts c, last = { 0 };
	struct stat st = { .st_size = 1, .st_ino = 1 };
	char err[512];
	pthread_t t;
	mtag_db *ro;
	int reads = 0, errors = 0;

	CHECK((ro = mtag_db_open(dbpath, MTAG_DB_READONLY, err,
	    sizeof(err))) != NULL);
	if (ro == NULL)
		return;
	writing = 1;
	CHECK(pthread_create(&t, NULL, writer, &m1) == 0);
	while (__atomic_load_n(&writing, __ATOMIC_SEQ_CST)) {
		if (mtag_db_counts(ro, 0, &c) == -1 ||
		    mtag_db_track_unchanged(ro, "/lib/busy/0.mp3", &st, 0) ==
		    -1) {
			if (errors++ == 0)
				fprintf(stderr, "%s\n", mtag_db_errmsg(ro));
			continue;
		}
		CHECK(c.tracks >= last.tracks && c.analysed >= last.analysed);
		last = c;
		reads++;
	}
	pthread_join(t, NULL);
	CHECK(errors == 0 && reads > 0);
	CHECK(mtag_db_counts(ro, 0, &c) == 0 && c.tracks >= 400);
	CHECK(mtag_db_remove(ro, "/lib", 1) == -1);
	CHECK(strstr(mtag_db_errmsg(ro), "readonly") != NULL);
	mtag_db_close(ro);
}

static int
rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	int64_t m1;

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	test_open();
	test_models(&m1);
	test_tracks(m1);
	test_moves(m1);
	test_remove(m1);
	test_failed(m1);
	test_jobs(m1);
	test_indexes(m1);
	test_concurrent(m1);
	CHECK(q("SELECT count(*) FROM pragma_integrity_check WHERE "
	    "integrity_check = 'ok'", "") == 1);
	CHECK(q("SELECT count(*) FROM pragma_foreign_key_check", "") == 0);
	sqlite3_close(raw);
	mtag_db_close(db);
	nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
	return test_failures ? 1 : 0;
}

/* The library database (SQLite): tracks with their metadata, models, tag
 * scores, embeddings and the persistent analysis queue. One process writes
 * (the daemon, from any of its threads: calls are serialised), any number
 * read. */
#ifndef MTAG_DB_H
#define MTAG_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "meta.h"

typedef struct mtag_db mtag_db;

#define MTAG_DB_READONLY	0x1

/* Opens (creating and migrating to the newest schema unless read-only,
 * when it must have it already) the database at path, in WAL mode with
 * foreign keys and a busy timeout. NULL with a message naming the file on
 * failure. */
mtag_db *mtag_db_open(const char *path, int flags, char *err, size_t errlen);
void mtag_db_close(mtag_db *db);

/* The SQLite connection of db, for the caller's own statements: reading
 * only, from one thread, between calls of this module. Its SQL functions
 * include those of schema/002_query_index.sql. */
struct sqlite3 *mtag_db_sqlite(mtag_db *db);

/* The float32 little-endian number at p, as the blobs hold them. */
float mtag_db_float(const void *p);

/* The error message of the last failed call made by the calling thread,
 * on any database: it is kept in thread-local storage. */
const char *mtag_db_errmsg(mtag_db *db);

/* Whether that failure may pass on its own: the disk was full, an I/O
 * error, or another process held the database too long. The data was left
 * as it was before the call; the caller should retry later rather than
 * give up on what it was recording. */
int mtag_db_transient(mtag_db *db);

/* --- Tracks ---------------------------------------------------------- */

/* Every call recording or moving a track also marks it seen by the scan
 * generation begun last, so that a scan in progress does not forget a
 * track the watcher recorded behind it. */

/* Returns 1 when path is known with the size, mtime and inode of st (and
 * marks it seen by scan generation gen when gen > 0), 0 when it is unknown
 * or changed, -1 on error. */
int mtag_db_track_unchanged(mtag_db *db, const char *path,
    const struct stat *st, int64_t gen);

/* Records the file at path: its stat, content hash (hex SHA-256) and
 * metadata, seen by scan generation gen (0: none). A known path keeps its
 * analyses when the hash is unchanged, otherwise they are queued again. A
 * new path whose hash matches a known track takes over that track's
 * analyses: moved when the old file no longer exists, copied otherwise.
 * Other new tracks are queued for every model. *track_id gets the id; *queued
 * (may be NULL) the number of analyses queued. Returns 0 or -1. */
int mtag_db_track_put(mtag_db *db, const char *path, const struct stat *st,
    const char *hash, const mtag_meta *meta, int64_t gen, int64_t *track_id,
    int *queued);

/* Records a file that could not be read (unreadable tags, corrupt): the
 * track is kept, with its analyses marked failed with error. Returns 0 or
 * -1. */
int mtag_db_track_failed(mtag_db *db, const char *path, const struct stat *st,
    const char *error, int64_t gen);

/* Renames a file, or (is_dir) every track under directory from, keeping
 * analyses. As with rename(2), what was known at to is forgotten, unless
 * nothing is known at from. Moving a directory into itself is an error.
 * Returns the number of tracks moved, or -1. */
int mtag_db_move(mtag_db *db, const char *from, const char *to, int is_dir);

/* Forgets a file, or (is_dir) every track under the directory. Returns the
 * number of tracks removed, or -1. */
int mtag_db_remove(mtag_db *db, const char *path, int is_dir);

/* Starts a scan: *gen gets a new generation number. */
int mtag_db_scan_begin(mtag_db *db, int64_t *gen);

/* Ends the scan of root: forgets the tracks under root not seen by gen.
 * Returns the number removed, or -1. */
int mtag_db_scan_end(mtag_db *db, const char *root, int64_t gen);

/* --- Models ---------------------------------------------------------- */

/* Registers a model (name, arch, dataset, checkpoint SHA-256 and its ntags
 * tag names, with their canonical names and categories from the
 * vocabulary) or finds it; a new model queues every track for analysis (an
 * unreadable one as failed). A known name with another checkpoint takes
 * the new arch, dataset and tags, and its analyses are queued anew.
 * Returns 0 with the model's id in *model_id, or -1. */
int mtag_db_model_ensure(mtag_db *db, const char *name, const char *arch,
    const char *dataset, const char *sha256, char *const *tags, int ntags,
    int64_t *model_id);

/* --- The analysis queue ---------------------------------------------- */

/* Claims the next pending analysis for model: marks it running and gives
 * its track id and path (malloc'd, the caller frees). Returns 1 when one
 * was claimed, 0 when none is pending, -1 on error. */
int mtag_db_job_claim(mtag_db *db, int64_t model_id, int64_t *track_id,
    char **path);

/* Stores an analysis: ntags track-level probabilities, the dim-float
 * embedding, and nchunks x ntags chunk probabilities with their start
 * offsets in seconds, with what queries read of them: the track's tags
 * merged by meaning and ranked, its embedding at unit length. Marks the
 * job done. The results of a job no longer
 * running (its file changed or was removed meanwhile) are dropped. Returns
 * 0 or -1. */
int mtag_db_job_done(mtag_db *db, int64_t track_id, int64_t model_id,
    const float *probs, int ntags, const float *emb, int dim,
    const float *chunk_probs, const double *chunk_starts, int nchunks);

/* Whether mtag_db_job_done also queues the track for writing its tags
 * into the file (the daemon's writeback option), until
 * mtag_db_writeback_done. Off when opened. */
void mtag_db_writeback_queue(mtag_db *db, int on);

/* The tags of track_id are written into its file, or need not be: it
 * leaves the writeback queue. Returns 0 or -1. */
int mtag_db_writeback_done(mtag_db *db, int64_t track_id);

/* At start-up: the analyses of the tracks left in the writeback queue by
 * a crash are queued again, for their tags to be written after them.
 * Returns the number queued again, or -1. */
int mtag_db_writeback_recover(mtag_db *db);

/* Marks the running job failed with error (kept for mtagctl show/status). */
int mtag_db_job_failed(mtag_db *db, int64_t track_id, int64_t model_id,
    const char *error);

/* Puts a running job back in the queue (shutdown mid-analysis); the
 * attempt is not counted. */
int mtag_db_job_requeue(mtag_db *db, int64_t track_id, int64_t model_id);

/* At start-up, before mtag_db_jobs_recover: the jobs left running by a
 * process killed from outside (kill -9, a power cut) were not at fault, and
 * their attempt is not counted, except for the n tracks of crashed, whose
 * analysis crashed the process. Returns 0 or -1. */
int mtag_db_jobs_forgive(mtag_db *db, const int64_t *crashed, int n);

/* At start-up: jobs left running by a crash are queued again once; a job
 * that was already retried is marked failed ("analysis interrupted twice;
 * the file may crash the analyser"). Returns the number queued again, or
 * -1. */
int mtag_db_jobs_recover(mtag_db *db);

/* --- Status ---------------------------------------------------------- */

struct mtag_db_counts {
	int64_t tracks, analysed, pending, running, failed;
};

/* Counts tracks and the analyses of model_id (0: all models). */
int mtag_db_counts(mtag_db *db, int64_t model_id, struct mtag_db_counts *c);

/* --- The writeback journal ------------------------------------------- */

/* Field values as the journal keeps them: joined with this separator, NULL
 * for an absent field (schema/003_writeback.sql). */
#define MTAG_DB_JOURNAL_SEP	'\x1f'

/* Starts a writeback run with the tags of model: *run_id gets its number.
 * Returns 0 or -1. */
int mtag_db_journal_begin(mtag_db *db, const char *model, int64_t *run_id);

/* Records, before the file at path is replaced, the old and new values of
 * its n fields, the file being 'pending' in run_id. Returns 0 or -1. */
int mtag_db_journal_put(mtag_db *db, int64_t run_id, const char *path,
    int n, const char *const *fields, const char *const *old,
    const char *const *new);

/* Records, just before the file at path is replaced by one with the stat
 * st, content hash (hex SHA-256) and genre (may be NULL), that it is
 * 'written' (or, when undone, 'undone') in run_id, and updates its track
 * so that the indexer takes it as unchanged, its analyses kept. Returns
 * 0 or -1. */
int mtag_db_journal_written(mtag_db *db, int64_t run_id, const char *path,
    const struct stat *st, const char *hash, const char *genre, int undone);

/* The newest run not undone, into *run_id. Returns 1, 0 when there is
 * none, or -1. */
int mtag_db_journal_last(mtag_db *db, int64_t *run_id);

/* Calls fn for every field of every file of run_id not undone, by path
 * then field, with its old and new values; a non-zero return of fn stops
 * and is returned. Returns 0, fn's return, or -1 with an error when the run
 * is unknown. */
int mtag_db_journal_read(mtag_db *db, int64_t run_id,
    int (*fn)(void *arg, const char *path, const char *field,
    const char *old, const char *new), void *arg);

/* Marks run_id undone. Returns 0 or -1. */
int mtag_db_journal_undone(mtag_db *db, int64_t run_id);

/* Returns 1 when a run not undone wrote the file at path, 0 when none did,
 * or -1. */
int mtag_db_journal_wrote(mtag_db *db, const char *path);

#endif

/* Writing a model's tags back into the music files: which fields, and
 * replacing each file by a verified copy, with an undo journal in the
 * database. */
#ifndef MTAG_WRITEBACK_H
#define MTAG_WRITEBACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

/* What becomes of a file's GENRE: left alone, set when it has none, set,
 * or given the genres it lacks after its own. */
enum { MTAG_GENRE_KEEP, MTAG_GENRE_FILL, MTAG_GENRE_REPLACE,
	MTAG_GENRE_APPEND };

/* When a tag is written: as when a bare tag holds in mtagctl's queries
 * (mtag.conf(5): tag_top_n, tag_min_score, tag_sure_score, tag_threshold). */
struct mtag_writeback_opts {
	int top_n;			/* among the track's top_n tags */
	double min_score;		/* ... scoring at least this */
	double sure_score;		/* or scoring at least this */
	const char *const *threshold_tags;	/* tags with a threshold of */
	const double *threshold_scores;		/* their own */
	int nthresholds;
	int genre;			/* MTAG_GENRE_* */
	int touch;			/* give written files a new mtime */
};

typedef struct mtag_writeback mtag_writeback;

/* A writer of the tags of model (a name of the models table of db) with
 * the options o, copied. NULL with a message in err when the model is
 * unknown or on failure. */
mtag_writeback *mtag_writeback_new(mtag_db *db, const char *model,
    const struct mtag_writeback_opts *o, char *err, size_t errlen);
void mtag_writeback_free(mtag_writeback *wb);

/* The tracks at or under each of the npaths absolute paths (all when npaths
 * is 0) that the model has analysed, by path: *ids and *paths get malloc'd
 * arrays of *n (freed with mtag_writeback_tracks_free). Returns 0 or -1
 * with a message in err. */
int mtag_writeback_tracks(mtag_writeback *wb, char *const *paths,
    int npaths, int64_t **ids, char ***tpaths, size_t *n, char *err,
    size_t errlen);
void mtag_writeback_tracks_free(int64_t *ids, char **paths, size_t n);

/*
 * Writes the model's fields into the file at path, track track_id: GENRE,
 * MOOD, MTAG_TAGS and MTAG_MODEL as they should change. First removes the
 * temporary files that writers killed left in its folder, journals the
 * old values (the first file written starts a run), then copies the file
 * beside it, writes the tags into the copy, checks that it decodes to the
 * same audio as the original and that its tags read back as written,
 * keeps the mode, owner and (unless touch) mtime, records the copy's stat
 * in the track (so that mtagd does not analyse it again) and renames it
 * over the original. With dry_run not NULL, prints the changes there
 * instead ("PATH" then "  FIELD: old → new" lines). Returns 1 when the file
 * was (or would be) written, 0 when it has the fields already, or -1 with
 * a message naming the file in err, the file untouched.
 */
int mtag_writeback_file(mtag_writeback *wb, int64_t track_id,
    const char *path, FILE *dry_run, char *err, size_t errlen);

/* The run the files written so far belong to, 0 before the first. */
int64_t mtag_writeback_run(const mtag_writeback *wb);

/*
 * Restores the fields that writeback run run_id (0: the newest not undone)
 * changed, in the same safe way, in the files whose fields still have the
 * values the run gave them; the others are reported on stderr and left.
 * With dry_run not NULL, prints the changes there instead. Returns the
 * number of files that could not be restored (the run is marked undone
 * when 0), or -1 with a message in err.
 */
int mtag_writeback_undo(mtag_db *db, int64_t run_id, FILE *dry_run,
    char *err, size_t errlen);

/* Removes the temporary files of killed writers from the folder dir (not
 * those a live writer holds). Returns the number removed, or -1 with a
 * message in err. */
int mtag_writeback_cleanup(const char *dir, char *err, size_t errlen);

#endif

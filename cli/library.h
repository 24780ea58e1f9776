/* The library database as mtagctl reads it: read-only, through one model's
 * eyes. The model's tags are merged by meaning into canonical tags (its
 * outputs sharing a canonical name), and a rule says when a tag named alone
 * holds for a track. The module selects the tracks that a tag or a metadata
 * predicate matches, reads tracks, scores and analyses, and finds the
 * tracks nearest to one by their embeddings. */
#ifndef MTAG_LIBRARY_H
#define MTAG_LIBRARY_H

#include <stddef.h>
#include <stdint.h>

#include "trackset.h"

typedef struct mtag_library mtag_library;

/* A tag's own threshold: it holds from that score alone. */
struct mtag_threshold {
	const char *tag;	/* a name mtag_library_lookup knows */
	double score;
};

/* When a tag named alone holds for a track: when it has a threshold of its
 * own, from that score; otherwise when it is among the track's top_n
 * canonical tags with a score of at least min_score, or scores at least
 * sure_score. */
struct mtag_tag_rule {
	int top_n;
	double min_score, sure_score;
	const struct mtag_threshold *thresholds;
	int nthresholds;
};

/* A canonical tag of the model. */
struct mtag_tag {
	char *name;		/* the canonical name */
	char *category;		/* or NULL */
	int idx;		/* its first output, under which its merged
				   score is filed */
	double threshold;	/* its own, or -1 */
	int *outputs;		/* the model outputs it merges, ascending */
	int noutputs;
};

/* A track and what mtagctl shows of it. Absent text is NULL, absent
 * numbers NaN. */
struct mtag_track {
	int64_t id;
	char *path, *title, *artist, *album, *albumartist, *genre, *codec;
	char *ext;		/* the file name's extension, lower case */
	double year, track, disc, duration, bitrate, samplerate, channels;
	double score;		/* set by the caller: rank or similarity */
};

enum mtag_field_kind {
	MTAG_FIELD_TEXT,
	MTAG_FIELD_NUMBER,
	MTAG_FIELD_DURATION,	/* seconds, written M:SS or H:MM:SS */
	MTAG_FIELD_SCORE,	/* from 0 to 1 */
};

/* The fields of a track, by name: in queries, --sort and --format. */
struct mtag_field {
	const char *name;
	enum mtag_field_kind kind;
	size_t off;		/* in struct mtag_track: char * for text,
				   else double */
	const char *column;	/* the SQL expression over tracks, or NULL
				   for the score */
};
extern const struct mtag_field mtag_fields[];
extern const int mtag_nfields;

/* The index in mtag_fields of the field named by the len bytes at name, or
 * -1. */
int mtag_field_find(const char *name, size_t len);

/* Opens the database at path read-only for the model named model, with
 * rule. NULL with a message in err when the database cannot be read or
 * the model has not analysed it. A threshold of rule for a tag the model
 * lacks is ignored, with a warning when no vocabulary knows the tag. */
mtag_library *mtag_library_open(const char *path, const char *model,
    const struct mtag_tag_rule *rule, char *err, size_t errlen);
void mtag_library_close(mtag_library *lib);

const char *mtag_library_model(const mtag_library *lib);
const char *mtag_library_dataset(const mtag_library *lib);
const struct mtag_tag_rule *mtag_library_rule(const mtag_library *lib);

/* The canonical tags, in the order of their first output. */
int mtag_library_ntags(const mtag_library *lib);
const struct mtag_tag *mtag_library_tag(const mtag_library *lib, int i);

/* The model's outputs: their number, and the name of output i. */
int mtag_library_noutputs(const mtag_library *lib);
const char *mtag_library_output(const mtag_library *lib, int i);

/* Looks up a tag name, ignoring ASCII case: a canonical name, an output's
 * name, or a synonym the vocabulary knows of a canonical tag (such as
 * "female vocalists" or "genre---rock"). Returns the canonical tag's index,
 * with *output the output so named when name is an output's own name and
 * not a canonical one, else -1; or returns -1 when name is unknown. */
int mtag_library_lookup(const mtag_library *lib, const char *name,
    int *output);

/* The i-th name that mtag_library_lookup knows, for i from 0, or NULL past
 * the last. */
const char *mtag_library_name(const mtag_library *lib, int i);

/* The most words (separated by single spaces) of a known name. */
int mtag_library_max_words(const mtag_library *lib);

/* Whether canonical tag t, with score and rank among a track's canonical
 * tags, holds by the rule; why (may be NULL) gets the reason or what it
 * lacks, in words. */
int mtag_library_holds(const mtag_library *lib, const struct mtag_tag *t,
    double score, int rank, char *why, size_t len);

/* The tracks analysed by the model have ids below mtag_library_end. */
int64_t mtag_library_end(const mtag_library *lib);

/* Adds every track to set. Returns 0, or -1 with a message in err. */
int mtag_library_all(mtag_library *lib, mtag_trackset *set, char *err,
    size_t errlen);

enum mtag_cmp { MTAG_CMP_HOLDS, MTAG_CMP_LT, MTAG_CMP_LE, MTAG_CMP_GT,
    MTAG_CMP_GE };

/* Adds to set the tracks for which canonical tag tag holds (HOLDS), or
 * whose score compares with value: the tag's merged score, or output
 * output's when it is not -1. When scores is not NULL, scores[id] gets the
 * score of each track added. Tracks not analysed have no scores and are
 * never added. Returns 0, or -1 with a message in err. */
int mtag_library_tag_tracks(mtag_library *lib, int tag, int output,
    enum mtag_cmp cmp, double value, mtag_trackset *set, float *scores,
    char *err, size_t errlen);

/* The score of canonical tag tag (output output, when not -1) for track
 * id into *score, NaN when the track is not analysed. Returns 0, or -1
 * with a message in err. */
int mtag_library_score(mtag_library *lib, int64_t id, int tag, int output,
    double *score, char *err, size_t errlen);

enum mtag_match {
	MTAG_MATCH_SUBSTRING,	/* text contains text, ignoring ASCII case */
	MTAG_MATCH_EXACT,	/* text is text, ignoring ASCII case */
	MTAG_MATCH_REGEX,	/* text matches the extended regex text,
				   ignoring case */
	MTAG_MATCH_GLOB,	/* text matches the glob(7) pattern text */
	MTAG_MATCH_RANGE,	/* a number from lo to hi */
};

struct mtag_predicate {
	int field;		/* in mtag_fields, with a column */
	enum mtag_match match;
	const char *text;
	double lo, hi;
};

/* Checks that re is a valid regex for MTAG_MATCH_REGEX. Returns 0, or -1
 * with the reason in err. */
int mtag_library_regex_check(const char *re, char *err, size_t errlen);

/* Adds to set the tracks that p matches. Returns 0, or -1 with a message
 * in err. */
int mtag_library_field_tracks(mtag_library *lib,
    const struct mtag_predicate *p, mtag_trackset *set, char *err,
    size_t errlen);

/* Finds the track at path, as stored. Returns 1 with its *id, 0 when there
 * is none, or -1 with a message in err. */
int mtag_library_find(mtag_library *lib, const char *path, int64_t *id,
    char *err, size_t errlen);

/* Fills t with track id (its score NaN), to be emptied with
 * mtag_track_clear. Returns 0, or -1 with a message in err. */
int mtag_library_track(mtag_library *lib, int64_t id, struct mtag_track *t,
    char *err, size_t errlen);
void mtag_track_clear(struct mtag_track *t);

/* The model's analysis of a track. */
struct mtag_analysis {
	char status[16];	/* pending, running, done or failed; "" when
				   there is none */
	char error[512];	/* of a failed one */
	int64_t analysed_at;	/* Unix time, 0 when not analysed */
	int nchunks;
};

/* Fills a with the model's analysis of track id and, when it is done and
 * the arrays are not NULL, outputs (mtag_library_noutputs of them) with
 * the output scores, and tags and ranks (mtag_library_ntags of them) with
 * the canonical tags' merged scores and ranks. Returns 0, or -1 with a
 * message in err. */
int mtag_library_analysis(mtag_library *lib, int64_t id,
    struct mtag_analysis *a, double *outputs, double *tags, int *ranks,
    char *err, size_t errlen);

/* A track found, with its score. */
struct mtag_hit {
	int64_t id;
	double score;
};

/* Finds the n tracks nearest to track id by the cosine similarity of the
 * model's embeddings, id excluded, among the tracks of within (NULL: all).
 * *hits gets them (malloc'd), nearest first, with their similarity.
 * Returns their number, or -1 with a message in err (when the track is not
 * analysed, too). */
int mtag_library_similar(mtag_library *lib, int64_t id,
    const mtag_trackset *within, int n, struct mtag_hit **hits, char *err,
    size_t errlen);

#endif

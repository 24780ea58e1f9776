/* The library database as mtagctl reads it. One read transaction spans the
 * connection's life, so that every statement sees the database as it was
 * at the first, however the daemon writes meanwhile. The tables queried
 * are those of schema/NNN_name.sql: tag_ranks holds each track's canonical
 * tags, ranked; vectors its unit embeddings, quantised to int8. */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "db.h"
#include "error.h"
#include "library.h"
#include "log.h"
#include "vocabulary.h"

/* The candidates of similar whose exact similarity is computed, for n
 * asked for: the int8 vectors rank them to about 1e-3. */
#define CANDIDATES(n)	(2 * (n) + 64)

#define F(field)	offsetof(struct mtag_track, field)

const struct mtag_field mtag_fields[] = {
	{ "path", MTAG_FIELD_TEXT, F(path), "path" },
	{ "title", MTAG_FIELD_TEXT, F(title), "title" },
	{ "artist", MTAG_FIELD_TEXT, F(artist), "artist" },
	{ "album", MTAG_FIELD_TEXT, F(album), "album" },
	{ "albumartist", MTAG_FIELD_TEXT, F(albumartist), "albumartist" },
	{ "genre", MTAG_FIELD_TEXT, F(genre), "genre" },
	{ "codec", MTAG_FIELD_TEXT, F(codec), "codec" },
	{ "ext", MTAG_FIELD_TEXT, F(ext), "mtag_ext(path)" },
	{ "year", MTAG_FIELD_NUMBER, F(year), "year" },
	{ "track", MTAG_FIELD_NUMBER, F(track), "track_no" },
	{ "disc", MTAG_FIELD_NUMBER, F(disc), "disc_no" },
	{ "duration", MTAG_FIELD_DURATION, F(duration), "duration" },
	{ "bitrate", MTAG_FIELD_NUMBER, F(bitrate), "bitrate" },
	{ "samplerate", MTAG_FIELD_NUMBER, F(samplerate), "sample_rate" },
	{ "channels", MTAG_FIELD_NUMBER, F(channels), "channels" },
	{ "score", MTAG_FIELD_SCORE, F(score), NULL },
};
const int mtag_nfields = sizeof(mtag_fields) / sizeof(mtag_fields[0]);
#define NFIELDS		(int)(sizeof(mtag_fields) / sizeof(mtag_fields[0]))
#define NMATCHES	(MTAG_MATCH_RANGE + 1)

/* The tracks of a predicate, by match: the field's column is written in at
 * %s. */
static const char *const match_sqls[NMATCHES] = {
	[MTAG_MATCH_SUBSTRING] = "SELECT id FROM tracks WHERE %s LIKE ?1 "
	    "ESCAPE '\\'",
	[MTAG_MATCH_EXACT] = "SELECT id FROM tracks WHERE %s = ?1 "
	    "COLLATE NOCASE",
	[MTAG_MATCH_REGEX] = "SELECT id FROM tracks WHERE %s REGEXP ?1",
	[MTAG_MATCH_GLOB] = "SELECT id FROM tracks WHERE %s GLOB ?1",
	[MTAG_MATCH_RANGE] = "SELECT id FROM tracks WHERE %s BETWEEN ?1 "
	    "AND ?2",
};

/* The tracks whose score of a tag compares with ?3. */
#define CMP(table, op)	"SELECT track_id, score FROM " table " WHERE " \
	"model_id = ?1 AND tag_idx = ?2 AND score " op " ?3"

enum {
	Q_BEGIN, Q_COMMIT, Q_MODEL, Q_MODELS, Q_MODEL_TAGS, Q_END, Q_ALL,
	Q_RANKS_LT, Q_RANKS_LE, Q_RANKS_GT, Q_RANKS_GE,
	Q_SCORES_LT, Q_SCORES_LE, Q_SCORES_GT, Q_SCORES_GE,
	Q_TOP, Q_RANK_OF, Q_SCORE_OF, Q_PATH, Q_TRACK, Q_ANALYSIS, Q_OUTPUTS,
	Q_TAGS_OF, Q_EMBEDDING, Q_VECTORS,
	NQ
};

static const char *const sqls[NQ] = {
	[Q_BEGIN] = "BEGIN",
	[Q_COMMIT] = "COMMIT",
	[Q_MODEL] = "SELECT id, dataset FROM models WHERE name = ?1",
	[Q_MODELS] = "SELECT group_concat(name, ', ') FROM (SELECT name FROM "
	    "models ORDER BY name)",
	[Q_MODEL_TAGS] = "SELECT idx, name, canonical, category FROM "
	    "model_tags WHERE model_id = ?1 ORDER BY idx",
	[Q_END] = "SELECT ifnull(max(id), 0) + 1 FROM tracks",
	[Q_ALL] = "SELECT id FROM tracks",
	[Q_RANKS_LT] = CMP("tag_ranks", "<"),
	[Q_RANKS_LE] = CMP("tag_ranks", "<="),
	[Q_RANKS_GT] = CMP("tag_ranks", ">"),
	[Q_RANKS_GE] = CMP("tag_ranks", ">="),
	[Q_SCORES_LT] = CMP("scores", "<"),
	[Q_SCORES_LE] = CMP("scores", "<="),
	[Q_SCORES_GT] = CMP("scores", ">"),
	[Q_SCORES_GE] = CMP("scores", ">="),
	[Q_TOP] = "SELECT track_id, score FROM tag_ranks INDEXED BY "
	    "tag_ranks_rank WHERE model_id = ?1 AND tag_idx = ?2 AND "
	    "rank <= ?3 AND score >= ?4",
	[Q_RANK_OF] = "SELECT score FROM tag_ranks WHERE track_id = ?1 AND "
	    "model_id = ?2 AND tag_idx = ?3",
	[Q_SCORE_OF] = "SELECT score FROM scores WHERE track_id = ?1 AND "
	    "model_id = ?2 AND tag_idx = ?3",
	[Q_PATH] = "SELECT id FROM tracks WHERE path = ?1",
	[Q_TRACK] = NULL,	/* track_sql() */
	[Q_ANALYSIS] = "SELECT status, error, analysed_at, nchunks FROM "
	    "analyses WHERE track_id = ?1 AND model_id = ?2",
	[Q_OUTPUTS] = "SELECT tag_idx, score FROM scores WHERE track_id = ?1 "
	    "AND model_id = ?2",
	[Q_TAGS_OF] = "SELECT tag_idx, score, rank FROM tag_ranks WHERE "
	    "track_id = ?1 AND model_id = ?2",
	[Q_EMBEDDING] = "SELECT embedding FROM analyses WHERE track_id = ?1 "
	    "AND model_id = ?2 AND status = 'done'",
	[Q_VECTORS] = "SELECT track_id, vector FROM vectors WHERE "
	    "model_id = ?1",
};

/* A name mtag_library_lookup knows. */
struct name {
	char *name;
	int tag, output;
};

struct mtag_library {
	mtag_db *db;
	sqlite3 *sql;
	char *path, *model, *dataset;
	int64_t model_id, end;
	struct mtag_tag_rule rule;	/* without its thresholds */
	struct mtag_tag *tags;
	int ntags;
	char **outputs;
	int *output_tag;		/* output -> canonical tag */
	int noutputs;
	struct name *names;
	int nnames, max_words;
	sqlite3_stmt *stmts[NQ];
	sqlite3_stmt *match_stmts[NFIELDS][NMATCHES];
};

/* The models' scores are float32, stored as doubles: thresholds are
 * compared as float32 too, so that rock>=0.52 holds for a score of 0.52. */
static double
as_score(double v)
{
	return (float)v;
}

int
mtag_field_find(const char *name, size_t len)
{
	int i;

	for (i = 0; i < NFIELDS; i++)
		if (strlen(mtag_fields[i].name) == len &&
		    strncasecmp(mtag_fields[i].name, name, len) == 0)
			return i;
	return -1;
}

static int
sqlfail(mtag_library *lib, char *err, size_t errlen)
{
	return mtag_seterr(err, errlen, lib->path, "%s",
	    sqlite3_errmsg(lib->sql));
}

/* The SELECT of a track's fields, in the order of mtag_fields. */
static char *
track_sql(void)
{
	char *s;
	size_t len;
	FILE *f;
	int i, n = 0;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	fprintf(f, "SELECT ");
	for (i = 0; i < NFIELDS; i++)
		if (mtag_fields[i].column != NULL)
			fprintf(f, "%s%s", n++ ? ", " : "",
			    mtag_fields[i].column);
	fprintf(f, " FROM tracks WHERE id = ?1");
	if (fclose(f) != 0)
		return NULL;
	return s;
}

/* Prepares sql into *s, once; resets it and clears its bindings. */
static sqlite3_stmt *
prepare(mtag_library *lib, sqlite3_stmt **s, const char *sql, char *err,
    size_t errlen)
{
	if (*s == NULL) {
		if (sqlite3_prepare_v3(lib->sql, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK) {
			sqlfail(lib, err, errlen);
			return NULL;
		}
	} else {
		sqlite3_reset(*s);
		sqlite3_clear_bindings(*s);
	}
	return *s;
}

static sqlite3_stmt *
stmt(mtag_library *lib, int id, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char *sql;

	if (id != Q_TRACK || lib->stmts[id] != NULL)
		return prepare(lib, &lib->stmts[id], sqls[id], err, errlen);
	if ((sql = track_sql()) == NULL) {
		mtag_seterr(err, errlen, NULL, "out of memory");
		return NULL;
	}
	s = prepare(lib, &lib->stmts[id], sql, err, errlen);
	free(sql);
	return s;
}

/* Steps s: 1 for a row, 0 at the end, -1 with a message in err. */
static int
step(mtag_library *lib, sqlite3_stmt *s, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sqlfail(lib, err, errlen);
}

/* Compiles re as REGEXP and MTAG_MATCH_REGEX do. */
static int
compile_regex(regex_t *r, const char *re, char *err, size_t errlen)
{
	int rc;

	if ((rc = regcomp(r, re, REG_EXTENDED | REG_ICASE | REG_NOSUB)) == 0)
		return 0;
	regerror(rc, r, err, errlen);
	return -1;
}

int
mtag_library_regex_check(const char *re, char *err, size_t errlen)
{
	regex_t r;

	if (compile_regex(&r, re, err, errlen) == -1)
		return -1;
	regfree(&r);
	return 0;
}

static void
free_regex(void *p)
{
	regfree(p);
	free(p);
}

/* regexp(re, text), which X REGEXP Y calls: whether text matches re. */
static void
sql_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[1]);
	char msg[256];
	regex_t *r;

	(void)argc;
	if (text == NULL)
		return;
	if ((r = sqlite3_get_auxdata(ctx, 0)) == NULL) {
		if ((r = malloc(sizeof(*r))) == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		if (compile_regex(r, (const char *)sqlite3_value_text(argv[0]),
		    msg, sizeof(msg)) == -1) {
			free(r);
			sqlite3_result_error(ctx, msg, -1);
			return;
		}
		sqlite3_set_auxdata(ctx, 0, r, free_regex);
		if ((r = sqlite3_get_auxdata(ctx, 0)) == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	sqlite3_result_int(ctx, regexec(r, text, 0, NULL, 0) == 0);
}

/* mtag_ext(path): the extension of the file name, in lower case, or NULL
 * when it has none. */
static void
sql_ext(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *path = (const char *)sqlite3_value_text(argv[0]);
	const char *base, *dot;
	char *ext, *p;

	(void)argc;
	if (path == NULL)
		return;
	base = (base = strrchr(path, '/')) != NULL ? base + 1 : path;
	if ((dot = strrchr(base, '.')) == NULL || dot == base ||
	    dot[1] == '\0')
		return;
	if ((ext = sqlite3_mprintf("%s", dot + 1)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (p = ext; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	sqlite3_result_text(ctx, ext, -1, sqlite3_free);
}

static int
add_name(mtag_library *lib, const char *name, int tag, int output)
{
	struct name *n;
	const char *p;
	int words = 1;

	if (mtag_library_lookup(lib, name, NULL) != -1)
		return 0;
	if ((n = realloc(lib->names, (lib->nnames + 1) * sizeof(*n))) ==
	    NULL)
		return -1;
	lib->names = n;
	n += lib->nnames;
	if ((n->name = strdup(name)) == NULL)
		return -1;
	n->tag = tag;
	n->output = output;
	lib->nnames++;
	for (p = name; (p = strchr(p, ' ')) != NULL; p++)
		words++;
	if (words > lib->max_words)
		lib->max_words = words;
	return 0;
}

/* The names of the tags: canonical names first, then the outputs' own,
 * then the vocabulary's synonyms of the canonical names. */
static int
name_tags(mtag_library *lib)
{
	struct mtag_vocabulary_entry e;
	int i, t;

	for (i = 0; i < lib->ntags; i++)
		if (add_name(lib, lib->tags[i].name, i, -1) == -1)
			return -1;
	for (i = 0; i < lib->noutputs; i++)
		if (add_name(lib, lib->outputs[i], lib->output_tag[i], i) == -1)
			return -1;
	for (i = 0; mtag_vocabulary_get(i, &e) == 0; i++)
		if ((t = mtag_library_lookup(lib, e.canonical, NULL)) != -1 &&
		    add_name(lib, e.tag, t, -1) == -1)
			return -1;
	return 0;
}

/* Whether some vocabulary knows tag, by a dataset's name or a canonical
 * one. */
static int
known_anywhere(const char *tag)
{
	struct mtag_vocabulary_entry e;
	int i;

	for (i = 0; mtag_vocabulary_get(i, &e) == 0; i++)
		if (strcasecmp(e.tag, tag) == 0 ||
		    strcasecmp(e.canonical, tag) == 0)
			return 1;
	return 0;
}

static void
set_thresholds(mtag_library *lib, const struct mtag_tag_rule *rule)
{
	int i, t;

	for (i = 0; i < lib->ntags; i++)
		lib->tags[i].threshold = -1;
	for (i = 0; i < rule->nthresholds; i++) {
		if ((t = mtag_library_lookup(lib, rule->thresholds[i].tag,
		    NULL)) != -1)
			lib->tags[t].threshold = rule->thresholds[i].score;
		else if (!known_anywhere(rule->thresholds[i].tag))
			log_warnx("tag_threshold: no vocabulary has a tag "
			    "'%s'", rule->thresholds[i].tag);
	}
}

/* Adds output idx, named name, to the canonical tag canonical. */
static int
add_output(mtag_library *lib, int idx, const char *name,
    const char *canonical, const char *category)
{
	struct mtag_tag *t;
	char **names;
	int i, *o;

	if (idx != lib->noutputs)
		return -1;
	for (i = 0; i < lib->ntags; i++)
		if (strcmp(lib->tags[i].name, canonical) == 0)
			break;
	if (i == lib->ntags) {
		if ((t = realloc(lib->tags, (i + 1) * sizeof(*t))) == NULL)
			return -1;
		lib->tags = t;
		t += i;
		memset(t, 0, sizeof(*t));
		lib->ntags++;
		t->idx = idx;
		if ((t->name = strdup(canonical)) == NULL ||
		    (category != NULL &&
		    (t->category = strdup(category)) == NULL))
			return -1;
	}
	t = &lib->tags[i];
	if ((o = realloc(t->outputs, (t->noutputs + 1) * sizeof(*o))) == NULL)
		return -1;
	t->outputs = o;
	o[t->noutputs++] = idx;
	if ((o = realloc(lib->output_tag, (idx + 1) * sizeof(*o))) == NULL)
		return -1;
	lib->output_tag = o;
	o[idx] = i;
	if ((names = realloc(lib->outputs, (idx + 1) * sizeof(*names))) ==
	    NULL)
		return -1;
	lib->outputs = names;
	if ((names[idx] = strdup(name)) == NULL)
		return -1;
	lib->noutputs++;
	return 0;
}

/* Reads the model and its tags. */
static int
load_model(mtag_library *lib, char *err, size_t errlen)
{
	const unsigned char *models;
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(lib, Q_MODEL, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, lib->model, -1, SQLITE_STATIC);
	if ((rc = step(lib, s, err, errlen)) == -1)
		return -1;
	if (rc == 1) {
		lib->model_id = sqlite3_column_int64(s, 0);
		lib->dataset = strdup((const char *)sqlite3_column_text(s, 1));
		if (lib->dataset == NULL)
			return mtag_seterr(err, errlen, NULL, "out of memory");
	} else {
		if ((s = stmt(lib, Q_MODELS, err, errlen)) == NULL ||
		    step(lib, s, err, errlen) == -1)
			return -1;
		if ((models = sqlite3_column_text(s, 0)) == NULL)
			return mtag_seterr(err, errlen, lib->path, "no model "
			    "has analysed the library yet");
		return mtag_seterr(err, errlen, lib->path, "model %s has not "
		    "analysed the library (models: %s)", lib->model, models);
	}

	if ((s = stmt(lib, Q_MODEL_TAGS, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, lib->model_id);
	while ((rc = step(lib, s, err, errlen)) == 1)
		if (add_output(lib, sqlite3_column_int(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)(sqlite3_column_type(s, 2) != SQLITE_NULL ?
		    sqlite3_column_text(s, 2) : sqlite3_column_text(s, 1)),
		    (const char *)sqlite3_column_text(s, 3)) == -1)
			return mtag_seterr(err, errlen, lib->path, "model %s: "
			    "cannot read its tags", lib->model);
	return rc;
}

mtag_library *
mtag_library_open(const char *path, const char *model,
    const struct mtag_tag_rule *rule, char *err, size_t errlen)
{
	static const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	mtag_library *lib;
	sqlite3_stmt *s;

	if ((lib = calloc(1, sizeof(*lib))) == NULL ||
	    (lib->path = strdup(path)) == NULL ||
	    (lib->model = strdup(model)) == NULL) {
		mtag_seterr(err, errlen, NULL, "out of memory");
		mtag_library_close(lib);
		return NULL;
	}
	lib->rule = *rule;
	lib->rule.thresholds = NULL;
	lib->rule.nthresholds = 0;
	if ((lib->db = mtag_db_open(path, MTAG_DB_READONLY, err,
	    errlen)) == NULL) {
		mtag_library_close(lib);
		return NULL;
	}
	lib->sql = mtag_db_sqlite(lib->db);
	if (sqlite3_create_function(lib->sql, "regexp", 2, flags, NULL,
	    sql_regexp, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(lib->sql, "mtag_ext", 1, flags, NULL,
	    sql_ext, NULL, NULL) != SQLITE_OK) {
		sqlfail(lib, err, errlen);
		mtag_library_close(lib);
		return NULL;
	}
	if ((s = stmt(lib, Q_BEGIN, err, errlen)) == NULL ||
	    step(lib, s, err, errlen) == -1 ||
	    load_model(lib, err, errlen) == -1 ||
	    (s = stmt(lib, Q_END, err, errlen)) == NULL ||
	    step(lib, s, err, errlen) == -1) {
		mtag_library_close(lib);
		return NULL;
	}
	lib->end = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (name_tags(lib) == -1) {
		mtag_seterr(err, errlen, NULL, "out of memory");
		mtag_library_close(lib);
		return NULL;
	}
	set_thresholds(lib, rule);
	return lib;
}

void
mtag_library_close(mtag_library *lib)
{
	sqlite3_stmt *s;
	int i, j;

	if (lib == NULL)
		return;
	if (lib->sql != NULL && !sqlite3_get_autocommit(lib->sql) &&
	    (s = stmt(lib, Q_COMMIT, NULL, 0)) != NULL)
		sqlite3_step(s);
	for (i = 0; i < NQ; i++)
		sqlite3_finalize(lib->stmts[i]);
	for (i = 0; i < NFIELDS; i++)
		for (j = 0; j < NMATCHES; j++)
			sqlite3_finalize(lib->match_stmts[i][j]);
	mtag_db_close(lib->db);
	for (i = 0; i < lib->ntags; i++) {
		free(lib->tags[i].name);
		free(lib->tags[i].category);
		free(lib->tags[i].outputs);
	}
	for (i = 0; i < lib->noutputs; i++)
		free(lib->outputs[i]);
	for (i = 0; i < lib->nnames; i++)
		free(lib->names[i].name);
	free(lib->tags);
	free(lib->outputs);
	free(lib->output_tag);
	free(lib->names);
	free(lib->path);
	free(lib->model);
	free(lib->dataset);
	free(lib);
}

const char *
mtag_library_model(const mtag_library *lib)
{
	return lib->model;
}

const char *
mtag_library_dataset(const mtag_library *lib)
{
	return lib->dataset;
}

const struct mtag_tag_rule *
mtag_library_rule(const mtag_library *lib)
{
	return &lib->rule;
}

int
mtag_library_ntags(const mtag_library *lib)
{
	return lib->ntags;
}

const struct mtag_tag *
mtag_library_tag(const mtag_library *lib, int i)
{
	return &lib->tags[i];
}

int
mtag_library_noutputs(const mtag_library *lib)
{
	return lib->noutputs;
}

const char *
mtag_library_output(const mtag_library *lib, int i)
{
	return lib->outputs[i];
}

int
mtag_library_lookup(const mtag_library *lib, const char *name, int *output)
{
	int i;

	for (i = 0; i < lib->nnames; i++)
		if (strcasecmp(lib->names[i].name, name) == 0) {
			if (output != NULL)
				*output = lib->names[i].output;
			return lib->names[i].tag;
		}
	return -1;
}

const char *
mtag_library_name(const mtag_library *lib, int i)
{
	return i < lib->nnames ? lib->names[i].name : NULL;
}

int
mtag_library_max_words(const mtag_library *lib)
{
	return lib->max_words;
}

int
mtag_library_holds(const mtag_library *lib, const struct mtag_tag *t,
    double score, int rank, char *why, size_t len)
{
	const struct mtag_tag_rule *r = &lib->rule;
	char buf[160];
	int holds = isnan(score) ? MTAG_HOLDS_NOT : mtag_tag_holds(score, rank,
	    t->threshold, r->top_n, r->min_score, r->sure_score);

	if (isnan(score))
		snprintf(buf, sizeof(buf), "not analysed");
	else if (t->threshold >= 0)
		snprintf(buf, sizeof(buf), "%s its own threshold %.2f",
		    holds ? "reaches" : "under", t->threshold);
	else if (holds == MTAG_HOLDS_SURE)
		snprintf(buf, sizeof(buf), "scores %.2f or more",
		    r->sure_score);
	else if (holds == MTAG_HOLDS_TOP)
		snprintf(buf, sizeof(buf), "in the top %d, %.2f or more",
		    r->top_n, r->min_score);
	else
		snprintf(buf, sizeof(buf), rank <= r->top_n ?
		    "in the top %d but under %.2f" :
		    "not in the top %d, under %.2f", r->top_n,
		    rank <= r->top_n ? r->min_score : r->sure_score);
	if (why != NULL)
		snprintf(why, len, "%s", buf);
	return holds != MTAG_HOLDS_NOT;
}

int64_t
mtag_library_end(const mtag_library *lib)
{
	return lib->end;
}

int
mtag_library_all(mtag_library *lib, mtag_trackset *set, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(lib, Q_ALL, err, errlen)) == NULL)
		return -1;
	while ((rc = step(lib, s, err, errlen)) == 1)
		mtag_trackset_add(set, sqlite3_column_int64(s, 0));
	return rc;
}

/* Runs s, whose rows are (track_id, score), into set and scores. */
static int
collect(mtag_library *lib, sqlite3_stmt *s, mtag_trackset *set,
    float *scores, char *err, size_t errlen)
{
	int64_t id;
	int rc;

	while ((rc = step(lib, s, err, errlen)) == 1) {
		id = sqlite3_column_int64(s, 0);
		if (id >= lib->end)
			continue;
		mtag_trackset_add(set, id);
		if (scores != NULL)
			scores[id] = sqlite3_column_double(s, 1);
	}
	return rc;
}

/* Adds the tracks whose score of tag idx (in table rank_table, else in
 * scores) compares with value. */
static int
compare(mtag_library *lib, int rank_table, int idx, enum mtag_cmp cmp,
    double value, mtag_trackset *set, float *scores, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;

	if ((s = stmt(lib, (rank_table ? Q_RANKS_LT : Q_SCORES_LT) + cmp -
	    MTAG_CMP_LT, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, lib->model_id);
	sqlite3_bind_int(s, 2, idx);
	sqlite3_bind_double(s, 3, as_score(value));
	return collect(lib, s, set, scores, err, errlen);
}

int
mtag_library_tag_tracks(mtag_library *lib, int tag, int output,
    enum mtag_cmp cmp, double value, mtag_trackset *set, float *scores,
    char *err, size_t errlen)
{
	const struct mtag_tag *t = &lib->tags[tag];
	sqlite3_stmt *s;

	if (cmp != MTAG_CMP_HOLDS)
		return compare(lib, output == -1, output == -1 ? t->idx :
		    output, cmp, value, set, scores, err, errlen);
	if (t->threshold >= 0)
		return compare(lib, 1, t->idx, MTAG_CMP_GE, t->threshold, set,
		    scores, err, errlen);
	if (compare(lib, 1, t->idx, MTAG_CMP_GE, lib->rule.sure_score, set,
	    scores, err, errlen) == -1 ||
	    (s = stmt(lib, Q_TOP, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, lib->model_id);
	sqlite3_bind_int(s, 2, t->idx);
	sqlite3_bind_int(s, 3, lib->rule.top_n);
	sqlite3_bind_double(s, 4, as_score(lib->rule.min_score));
	return collect(lib, s, set, scores, err, errlen);
}

int
mtag_library_score(mtag_library *lib, int64_t id, int tag, int output,
    double *score, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(lib, output == -1 ? Q_RANK_OF : Q_SCORE_OF, err,
	    errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, lib->model_id);
	sqlite3_bind_int(s, 3, output == -1 ? lib->tags[tag].idx : output);
	if ((rc = step(lib, s, err, errlen)) == -1)
		return -1;
	*score = rc == 1 ? sqlite3_column_double(s, 0) : NAN;
	sqlite3_reset(s);
	return 0;
}

/* The LIKE pattern of the substring text: %text%, its wildcards escaped. */
static char *
like_pattern(const char *text)
{
	char *p, *q;

	if ((p = malloc(2 * strlen(text) + 3)) == NULL)
		return NULL;
	q = p;
	*q++ = '%';
	for (; *text != '\0'; text++) {
		if (*text == '%' || *text == '_' || *text == '\\')
			*q++ = '\\';
		*q++ = *text;
	}
	*q++ = '%';
	*q = '\0';
	return p;
}

int
mtag_library_field_tracks(mtag_library *lib,
    const struct mtag_predicate *p, mtag_trackset *set, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;
	char sql[256], *like = NULL;
	int rc;

	snprintf(sql, sizeof(sql), match_sqls[p->match],
	    mtag_fields[p->field].column);
	if ((s = prepare(lib, &lib->match_stmts[p->field][p->match], sql,
	    err, errlen)) == NULL)
		return -1;
	if (p->match == MTAG_MATCH_RANGE) {
		sqlite3_bind_double(s, 1, p->lo);
		sqlite3_bind_double(s, 2, p->hi);
	} else if (p->match == MTAG_MATCH_SUBSTRING) {
		if ((like = like_pattern(p->text)) == NULL)
			return mtag_seterr(err, errlen, NULL, "out of memory");
		sqlite3_bind_text(s, 1, like, -1, free);
	} else
		sqlite3_bind_text(s, 1, p->text, -1, SQLITE_STATIC);
	while ((rc = step(lib, s, err, errlen)) == 1)
		mtag_trackset_add(set, sqlite3_column_int64(s, 0));
	sqlite3_reset(s);
	return rc;
}

int
mtag_library_find(mtag_library *lib, const char *path, int64_t *id,
    char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(lib, Q_PATH, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	if ((rc = step(lib, s, err, errlen)) == 1)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc;
}

int
mtag_library_track(mtag_library *lib, int64_t id, struct mtag_track *t,
    char *err, size_t errlen)
{
	const struct mtag_field *f;
	sqlite3_stmt *s;
	const char *v;
	int i, col = 0, rc;

	memset(t, 0, sizeof(*t));
	t->id = id;
	if ((s = stmt(lib, Q_TRACK, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = step(lib, s, err, errlen)) != 1) {
		if (rc == 0)
			mtag_seterr(err, errlen, lib->path, "no track %lld",
			    (long long)id);
		return -1;
	}
	for (i = 0; i < NFIELDS; i++) {
		f = &mtag_fields[i];
		if (f->kind != MTAG_FIELD_TEXT)
			*(double *)((char *)t + f->off) = NAN;
		if (f->column == NULL)
			continue;
		if (sqlite3_column_type(s, col) == SQLITE_NULL) {
			col++;
			continue;
		}
		if (f->kind != MTAG_FIELD_TEXT) {
			*(double *)((char *)t + f->off) =
			    sqlite3_column_double(s, col++);
			continue;
		}
		v = (const char *)sqlite3_column_text(s, col++);
		if (v != NULL &&
		    (*(char **)((char *)t + f->off) = strdup(v)) == NULL) {
			sqlite3_reset(s);
			mtag_track_clear(t);
			return mtag_seterr(err, errlen, NULL, "out of memory");
		}
	}
	sqlite3_reset(s);
	return 0;
}

void
mtag_track_clear(struct mtag_track *t)
{
	int i;

	for (i = 0; i < NFIELDS; i++)
		if (mtag_fields[i].kind == MTAG_FIELD_TEXT)
			free(*(char **)((char *)t + mtag_fields[i].off));
	memset(t, 0, sizeof(*t));
}

/* Reads the rows (tag_idx, score[, rank]) of s into the arrays. */
static int
read_scores(mtag_library *lib, sqlite3_stmt *s, double *outputs,
    double *tags, int *ranks, char *err, size_t errlen)
{
	int rc, idx;

	while ((rc = step(lib, s, err, errlen)) == 1) {
		if ((idx = sqlite3_column_int(s, 0)) < 0 ||
		    idx >= lib->noutputs)
			continue;
		if (outputs != NULL)
			outputs[idx] = sqlite3_column_double(s, 1);
		if (tags != NULL) {
			tags[lib->output_tag[idx]] =
			    sqlite3_column_double(s, 1);
			ranks[lib->output_tag[idx]] = sqlite3_column_int(s, 2);
		}
	}
	return rc;
}

int
mtag_library_analysis(mtag_library *lib, int64_t id,
    struct mtag_analysis *a, double *outputs, double *tags, int *ranks,
    char *err, size_t errlen)
{
	const char *v;
	sqlite3_stmt *s;
	int i, rc;

	memset(a, 0, sizeof(*a));
	for (i = 0; outputs != NULL && i < lib->noutputs; i++)
		outputs[i] = NAN;
	for (i = 0; tags != NULL && i < lib->ntags; i++) {
		tags[i] = NAN;
		ranks[i] = 0;
	}
	if ((s = stmt(lib, Q_ANALYSIS, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, lib->model_id);
	if ((rc = step(lib, s, err, errlen)) != 1)
		return rc;
	snprintf(a->status, sizeof(a->status), "%s",
	    (const char *)sqlite3_column_text(s, 0));
	if ((v = (const char *)sqlite3_column_text(s, 1)) != NULL)
		snprintf(a->error, sizeof(a->error), "%s", v);
	a->analysed_at = sqlite3_column_int64(s, 2);
	a->nchunks = sqlite3_column_int(s, 3);
	sqlite3_reset(s);
	for (i = 0; i < 2 && strcmp(a->status, "done") == 0; i++) {
		if ((i == 0 ? outputs : tags) == NULL)
			continue;
		if ((s = stmt(lib, i == 0 ? Q_OUTPUTS : Q_TAGS_OF, err,
		    errlen)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, lib->model_id);
		if (read_scores(lib, s, i == 0 ? outputs : NULL,
		    i == 0 ? NULL : tags, ranks, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Track id's embedding scaled to unit length into v (malloc'd); returns
 * its dimension, 0 when it has none, or -1. */
static int
embedding(mtag_library *lib, int64_t id, float **v, char *err,
    size_t errlen)
{
	const unsigned char *b;
	sqlite3_stmt *s;
	double norm = 0;
	int i, n, rc;

	*v = NULL;
	if ((s = stmt(lib, Q_EMBEDDING, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, lib->model_id);
	if ((rc = step(lib, s, err, errlen)) != 1)
		return rc;
	b = sqlite3_column_blob(s, 0);
	n = sqlite3_column_bytes(s, 0) / 4;
	if (n > 0 && (*v = malloc(n * sizeof(**v))) == NULL) {
		sqlite3_reset(s);
		return mtag_seterr(err, errlen, NULL, "out of memory");
	}
	for (i = 0; i < n; i++) {
		(*v)[i] = mtag_db_float(b + 4 * i);
		norm += (double)(*v)[i] * (*v)[i];
	}
	sqlite3_reset(s);
	if (!(norm > 0) || !isfinite(norm)) {
		free(*v);
		*v = NULL;
		return 0;
	}
	for (i = 0, norm = sqrt(norm); i < n; i++)
		(*v)[i] /= norm;
	return n;
}

/* The dot product of q and the n-number vector v of the table vectors. */
static float
dot_vector(const float *q, const unsigned char *v, int n)
{
	const signed char *x = (const signed char *)v + 4;
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i;

	for (i = 0; i + 4 <= n; i += 4) {
		s0 += q[i] * x[i];
		s1 += q[i + 1] * x[i + 1];
		s2 += q[i + 2] * x[i + 2];
		s3 += q[i + 3] * x[i + 3];
	}
	for (; i < n; i++)
		s0 += q[i] * x[i];
	return mtag_db_float(v) * ((s0 + s1) + (s2 + s3));
}

static int
by_score(const void *a, const void *b)
{
	const struct mtag_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Keeps the best k hits in h[0..*nh), a heap whose root is the worst. */
static void
keep(struct mtag_hit *h, int *nh, int k, int64_t id, double score)
{
	int i, c;

	if (*nh < k) {
		for (i = (*nh)++; i > 0 && h[(i - 1) / 2].score > score;
		    i = (i - 1) / 2)
			h[i] = h[(i - 1) / 2];
	} else if (score > h[0].score) {
		for (i = 0; (c = 2 * i + 1) < k; i = c) {
			if (c + 1 < k && h[c + 1].score < h[c].score)
				c++;
			if (h[c].score >= score)
				break;
			h[i] = h[c];
		}
	} else
		return;
	h[i] = (struct mtag_hit){ id, score };
}

/* The candidates nearest to q by the vectors, at most k of them. */
static int
scan_vectors(mtag_library *lib, int64_t seed, const float *q, int dim,
    const mtag_trackset *within, struct mtag_hit *h, int k, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;
	int64_t id;
	int nh = 0, rc;

	if ((s = stmt(lib, Q_VECTORS, err, errlen)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, lib->model_id);
	while ((rc = step(lib, s, err, errlen)) == 1) {
		id = sqlite3_column_int64(s, 0);
		if (id == seed || (within != NULL &&
		    !mtag_trackset_has(within, id)) ||
		    sqlite3_column_bytes(s, 1) != 4 + dim)
			continue;
		keep(h, &nh, k, id, dot_vector(q, sqlite3_column_blob(s, 1),
		    dim));
	}
	sqlite3_reset(s);
	return rc == -1 ? -1 : nh;
}

int
mtag_library_similar(mtag_library *lib, int64_t id,
    const mtag_trackset *within, int n, struct mtag_hit **hits, char *err,
    size_t errlen)
{
	struct mtag_hit *h;
	float *q, *v;
	double dot;
	int64_t k = CANDIDATES((int64_t)n);
	int dim, nh, i, j;

	*hits = NULL;
	if (k > lib->end)
		k = lib->end;
	if ((dim = embedding(lib, id, &q, err, errlen)) <= 0) {
		if (dim == 0)
			mtag_seterr(err, errlen, NULL, "not analysed by model "
			    "%s yet", lib->model);
		return -1;
	}
	if ((h = malloc(k * sizeof(*h))) == NULL) {
		free(q);
		return mtag_seterr(err, errlen, NULL, "out of memory");
	}
	nh = scan_vectors(lib, id, q, dim, within, h, (int)k, err, errlen);
	/* The exact similarity of the candidates, from their embeddings. */
	for (i = 0; i < nh; i++) {
		if (embedding(lib, h[i].id, &v, err, errlen) == -1) {
			nh = -1;
			break;
		}
		for (j = 0, dot = 0; v != NULL && j < dim; j++)
			dot += (double)q[j] * v[j];
		h[i].score = dot;
		free(v);
	}
	free(q);
	if (nh == -1) {
		free(h);
		return -1;
	}
	qsort(h, nh, sizeof(*h), by_score);
	*hits = h;
	return nh < n ? nh : n;
}

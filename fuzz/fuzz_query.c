/* libFuzzer target for the query language (cli/query.c): parses the input
 * as a query against a small library written at the first call, prints
 * the error of a malformed one with its carets, and runs a valid one,
 * checking what the parser and the evaluator promise. */
#include <sys/stat.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "library.h"
#include "query.h"
#include "vocab.h"

#define DIM	2

static const struct track {
	const char *path, *title, *artist, *genre;
	int year;
	double duration;
	int analysed;
	const char *tag;	/* an mtat output scoring 0.6, the others
				   0.01 + their index / 1000 */
} tracks[] = {
	{ "/m/rock/a.mp3", "Loud", "The Rockers", "Rock", 1999, 200, 1,
	    "rock" },
	{ "/m/classical/b.flac", "Symphony", "Orchestra", "Classical", 1972,
	    420, 1, "classical" },
	{ "/m/pop/c (1).m4a", "Summer", "ABBA", "Pop", 1976, 180, 1,
	    "female vocal" },
	{ "/m/jazz/d.ogg", NULL, NULL, NULL, 0, 3600, 1, "piano" },
	{ "/m/x/\xc3\xa9t\xc3\xa9.opus", "\xc3\xa9t\xc3\xa9", "Z", "Techno",
	    2020, 61.5, 1, "techno" },
	{ "/m/pending.wav", "Pending", "Nobody", NULL, 2001, 10, 0, NULL },
};
#define NTRACKS	(int)(sizeof(tracks) / sizeof(tracks[0]))

static char dir[] = "/tmp/mtag-fuzz-query.XXXXXX";
static char dbpath[sizeof(dir) + 16];
static mtag_library *lib;
static FILE *devnull;

static void
fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_query: %s: %s\n", what, err);
	abort();
}

static void
cleanup(void)
{
	char path[sizeof(dbpath) + 8];

	mtag_library_close(lib);
	if (devnull != NULL)
		fclose(devnull);
	unlink(dbpath);
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbpath);
	unlink(path);
	rmdir(dir);
}

/* Writes the library of tracks, analysed by model "m", and opens it. */
static void
setup(void)
{
	static const struct mtag_threshold thr[] = { { "piano", 0.3 } };
	static const struct mtag_tag_rule rule = { 3, 0.1, 0.5, thr, 1 };
	const char *const *mtat = mtag_vocab_builtin("mtat");
	char err[512], *path, *tags[MTAG_VOCAB_SIZE];
	float probs[MTAG_VOCAB_SIZE], emb[DIM];
	struct stat st = { .st_size = 1, .st_ino = 1 };
	const struct track *t;
	int64_t model, id;
	mtag_db *db;
	mtag_meta m;
	int i, j;

	if (mkdtemp(dir) == NULL)
		fail(dir, "cannot create");
	atexit(cleanup);
	snprintf(dbpath, sizeof(dbpath), "%s/library.db", dir);
	if ((db = mtag_db_open(dbpath, 0, err, sizeof(err))) == NULL)
		fail("database", err);
	for (i = 0; i < MTAG_VOCAB_SIZE; i++)
		tags[i] = (char *)mtat[i];
	if (mtag_db_model_ensure(db, "m", "musicnn", "mtat", "00", tags,
	    MTAG_VOCAB_SIZE, &model) == -1)
		fail("model", mtag_db_errmsg(db));
	for (i = 0; i < NTRACKS; i++) {
		t = &tracks[i];
		memset(&m, 0, sizeof(m));
		m.title = (char *)t->title;
		m.artist = (char *)t->artist;
		m.genre = (char *)t->genre;
		m.year = t->year;
		m.duration = t->duration;
		if (mtag_db_track_put(db, t->path, &st, t->path, &m, 0, &id,
		    NULL) == -1)
			fail(t->path, mtag_db_errmsg(db));
	}
	while (mtag_db_job_claim(db, model, &id, &path) == 1) {
		for (t = tracks; strcmp(t->path, path) != 0; t++)
			;
		free(path);
		if (!t->analysed) {
			if (mtag_db_job_failed(db, id, model, "no audio") == -1)
				fail(t->path, mtag_db_errmsg(db));
			continue;
		}
		for (j = 0; j < MTAG_VOCAB_SIZE; j++)
			probs[j] = strcmp(mtat[j], t->tag) == 0 ? 0.6f :
			    0.01f + j / 1000.0f;
		emb[0] = (float)(t - tracks);
		emb[1] = 1;
		if (mtag_db_job_done(db, id, model, probs, MTAG_VOCAB_SIZE,
		    emb, DIM, NULL, NULL, 0) == -1)
			fail(t->path, mtag_db_errmsg(db));
	}
	mtag_db_close(db);
	if ((lib = mtag_library_open(dbpath, "m", &rule, err,
	    sizeof(err))) == NULL)
		fail("library", err);
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		fail("/dev/null", "cannot open");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtag_query_error e;
	struct mtag_hit *hits;
	char *expr, err[512];
	mtag_query *q;
	int64_t n, i;
	int len;

	if (lib == NULL)
		setup();
	if ((expr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	len = strlen(expr);
	if ((q = mtag_query_parse(lib, expr, &e)) == NULL) {
		if (e.msg[0] == '\0' || memchr(e.msg, '\0', sizeof(e.msg)) ==
		    NULL || e.start < 0 || e.start > e.end || e.end > len + 1)
			fail(expr, "bad parse error");
		mtag_query_error_print(devnull, expr, &e);
		free(expr);
		return 0;
	}
	n = mtag_query_run(q, &hits, err, sizeof(err));
	if (n == -1)
		fail(expr, err);
	if (n > NTRACKS)
		fail(expr, "more hits than tracks");
	for (i = 0; i < n; i++)
		if ((i > 0 && hits[i].id <= hits[i - 1].id) ||
		    hits[i].id >= mtag_library_end(lib) ||
		    (!isnan(hits[i].score) && !(hits[i].score >= 0 &&
		    hits[i].score <= 1)) ||
		    (!mtag_query_ranked(q) && !isnan(hits[i].score)))
			fail(expr, "bad hit");
	free(hits);
	mtag_query_free(q);
	free(expr);
	return 0;
}

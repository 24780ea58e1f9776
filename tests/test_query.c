/* Tests of the query engine (cli/query.c, cli/library.c, cli/output.c) on a
 * database written by indexer/db.c with chosen tracks, scores and
 * embeddings: the exact tracks every operator, precedence, synonym,
 * threshold, range and regex selects, the ranking, sorting, similar
 * tracks, the error messages, and the migration that indexes older
 * databases. */
#define _XOPEN_SOURCE 700	/* nftw */

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "library.h"
#include "migrations.h"
#include "output.h"
#include "query.h"
#include "testutil.h"
#include "vocab.h"

#define DIM	4

struct score {
	const char *tag;	/* an mtat output */
	float score;
};

/* The library: every other output scores 0.01. */
static const struct spec {
	const char *path, *title, *artist, *album, *albumartist, *genre;
	int year;
	double duration;
	int analysed;
	float emb[DIM];
	struct score scores[10];
} specs[] = {
	{ "/music/classical/orch.flac", "Symphony No. 5", "Berlin Phil",
	    "Symphonies", NULL, "Classical", 1972, 420, 1, { 1, 0, 0, 0 },
	    { { "classical", .37 }, { "strings", .30 }, { "violin", .20 },
	    { "slow", .15 }, { "cello", .12 }, { "piano", .11 },
	    { "classic", .05 } } },
	{ "/music/techno/t1.mp3", "Pulse", "DJ Test", NULL, NULL, "Techno",
	    1995, 360, 1, { 0, 1, 0, 0 },
	    { { "techno", .45 }, { "beats", .35 }, { "beat", .33 },
	    { "fast", .30 }, { "synth", .28 }, { "electronic", .24 },
	    { "drums", .20 }, { "dance", .15 } } },
	{ "/music/rock/r1.ogg", "Loud Song", "The Rockers", "Rock On",
	    "The Rockers", "Rock", 1999, 200, 1, { 1, 1, 0, 0 },
	    { { "rock", .60 }, { "guitar", .50 }, { "woman", .31 },
	    { "loud", .30 }, { "drums", .25 }, { "female voice", .10 },
	    { "female vocal", .08 }, { "female", .05 }, { "male", .02 } } },
	{ "/music/rock/r2.mp3", "Quiet Ballad", "The Rockers", NULL, NULL,
	    "Rock", 2003, 250, 1, { 1, .1f, 0, 0 },
	    { { "vocal", .40 }, { "male", .35 }, { "soft", .30 },
	    { "guitar", .25 }, { "rock", .20 }, { "piano", .15 },
	    { "female", .05 } } },
	{ "/music/pop/p1.m4a", "Summer Hit", "Popstar", NULL, NULL, "Pop",
	    2010, 180, 1, { -1, 0, 0, 0 },
	    { { "pop", .55 }, { "female voice", .45 }, { "dance", .30 },
	    { "beat", .20 }, { "synth", .15 } } },
	{ "/music/jazz/j1.wav", "Blue Night", "Jazz Trio", "Live, Vol. 1",
	    NULL, "Jazz", 1962, 480, 1, { 1, 0, 1, 0 },
	    { { "piano", .40 }, { "no vocals", .35 }, { "slow", .30 },
	    { "soft", .25 }, { "quiet", .20 }, { "cello", .12 } } },
	{ "/music/ambient/a1.flac", "Drift", "Ambienteer", NULL, NULL,
	    "Ambient", 2015, 600, 1, { .5f, .5f, .5f, .5f },
	    { { "ambient", .09 }, { "slow", .08 }, { "synth", .07 },
	    { "quiet", .06 }, { "new age", .05 } } },
	{ "/music/unanalysed/u1.mp3", "Pending", "Nobody", NULL, NULL, NULL,
	    0, 100, 0, { 0 }, { { NULL, 0 } } },
	{ "/music/rock/r3.flac", "Metal Storm", "Heavy", NULL, NULL, "Metal",
	    1985, 310, 1, { 2, 0, 0, 1 },
	    { { "metal", .70 }, { "loud", .60 }, { "rock", .52 },
	    { "guitar", .45 }, { "drums", .40 }, { "fast", .35 } } },
	{ "/music/Other Dir/weird name (1).mp3", "Weird", "ABBA", "Gold", NULL,
	    "Pop", 1976, 240, 1, { 0, 0, 0, 0 },
	    { { "pop", .30 }, { "dance", .29 }, { "female vocal", .28 },
	    { "vocal", .27 }, { "male voice", .26 }, { "beat", .25 } } },
};
#define NSPECS	(int)(sizeof(specs) / sizeof(specs[0]))

static char dir[] = "/tmp/mtag-test-query.XXXXXX";
static char dbpath[PATH_MAX];
static struct mtag_tag_rule rule = { 5, 0.1, 0.5, NULL, 0 };
static mtag_library *lib;

static const char *
base(const char *path)
{
	return strrchr(path, '/') + 1;
}

static void
put(mtag_db *db, const struct spec *sp, const char *hash)
{
	mtag_meta m = { .title = (char *)sp->title,
	    .artist = (char *)sp->artist, .album = (char *)sp->album,
	    .albumartist = (char *)sp->albumartist, .genre = (char *)sp->genre,
	    .year = sp->year, .duration = sp->duration };
	struct stat st = { .st_size = 1, .st_ino = 1 };
	int64_t id;

	if (mtag_db_track_put(db, sp->path, &st, hash != NULL ? hash :
	    sp->path, &m, 0, &id, NULL) == -1) {
		fprintf(stderr, "%s\n", mtag_db_errmsg(db));
		exit(1);
	}
}

/* Writes the library of specs, analysed by model "m". */
static void
build(void)
{
	char err[512], *path, *tags[MTAG_VOCAB_SIZE];
	const char *const *mtat = mtag_vocab_builtin("mtat");
	float probs[MTAG_VOCAB_SIZE];
	const struct spec *sp;
	int64_t model, id;
	mtag_db *db;
	int i, j, k;

	snprintf(dbpath, sizeof(dbpath), "%s/library.db", dir);
	if ((db = mtag_db_open(dbpath, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (i = 0; i < MTAG_VOCAB_SIZE; i++)
		tags[i] = (char *)mtat[i];
	CHECK(mtag_db_model_ensure(db, "m", "musicnn", "mtat", "00", tags,
	    MTAG_VOCAB_SIZE, &model) == 0);
	for (i = 0; i < NSPECS; i++)
		put(db, &specs[i], NULL);
	while (mtag_db_job_claim(db, model, &id, &path) == 1) {
		for (sp = specs; strcmp(sp->path, path) != 0; sp++)
			;
		free(path);
		if (!sp->analysed) {
			CHECK(mtag_db_job_failed(db, id, model,
			    "cannot decode") == 0);
			continue;
		}
		for (j = 0; j < MTAG_VOCAB_SIZE; j++)
			probs[j] = 0.01f;
		for (k = 0; sp->scores[k].tag != NULL; k++) {
			for (j = 0; strcmp(mtat[j], sp->scores[k].tag) != 0;
			    j++)
				;
			probs[j] = sp->scores[k].score;
		}
		CHECK(mtag_db_job_done(db, id, model, probs, MTAG_VOCAB_SIZE,
		    sp->emb, DIM, NULL, NULL, 0) == 0);
	}
	mtag_db_close(db);
}

static void
open_library(void)
{
	char err[512];

	mtag_library_close(lib);
	if ((lib = mtag_library_open(dbpath, "m", &rule, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs expr: the file names found, sorted and joined by spaces, or
 * "error: MESSAGE [START,END)". */
static const char *
run(const char *expr)
{
	static char out[4096];
	struct mtag_query_error e;
	struct mtag_track t;
	struct mtag_hit *h;
	char err[512], *names[64];
	mtag_query *q;
	int64_t n, i;
	size_t len = 0;

	if ((q = mtag_query_parse(lib, expr, &e)) == NULL) {
		snprintf(out, sizeof(out), "error: %s [%d,%d)", e.msg, e.start,
		    e.end);
		return out;
	}
	if ((n = mtag_query_run(q, &h, err, sizeof(err))) == -1) {
		snprintf(out, sizeof(out), "run: %s", err);
		mtag_query_free(q);
		return out;
	}
	for (i = 0; i < n && i < 64; i++) {
		CHECK(mtag_library_track(lib, h[i].id, &t, err, sizeof(err)) ==
		    0);
		names[i] = strdup(base(t.path));
		mtag_track_clear(&t);
	}
	qsort(names, n, sizeof(names[0]), by_name);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		len += snprintf(out + len, sizeof(out) - len, "%s%s",
		    i ? " " : "", names[i]);
		free(names[i]);
	}
	free(h);
	mtag_query_free(q);
	return out;
}

static void
expect(int line, const char *expr, const char *want)
{
	const char *got = run(expr);

	if (strcmp(got, want) != 0 && (strncmp(want, "error: ", 7) != 0 ||
	    strstr(got, want + 7) == NULL)) {
		fprintf(stderr, "%s:%d: %s\n  got:  %s\n  want: %s\n",
		    __FILE__, line, expr, got, want);
		test_failures++;
	}
}
#define EXPECT(expr, want)	expect(__LINE__, expr, want)

#define ROCK	"r1.ogg r2.mp3 r3.flac"
#define NOT_ROCK \
	"a1.flac j1.wav orch.flac p1.m4a t1.mp3 u1.mp3 weird name (1).mp3"
#define ANALYSED	"a1.flac j1.wav orch.flac p1.m4a " ROCK " t1.mp3 " \
	"weird name (1).mp3"
#define ALL	"a1.flac j1.wav orch.flac p1.m4a " ROCK " t1.mp3 u1.mp3 " \
	"weird name (1).mp3"

static void
test_operators(void)
{
	EXPECT("rock", ROCK);
	EXPECT("female vocal", "p1.m4a r1.ogg weird name (1).mp3");
	EXPECT("rock AND female vocal", "r1.ogg");
	EXPECT("rock female vocal", "r1.ogg");
	EXPECT("female vocal rock", "r1.ogg");
	EXPECT("rock and female vocal", "r1.ogg");
	EXPECT("rock OR pop", "p1.m4a " ROCK " weird name (1).mp3");
	EXPECT("rock Or pop", "p1.m4a " ROCK " weird name (1).mp3");
	EXPECT("NOT rock", NOT_ROCK);
	EXPECT("not rock", NOT_ROCK);
	EXPECT("-rock", NOT_ROCK);
	EXPECT("NOT NOT rock", ROCK);
	EXPECT("- -rock", "error: '-' must be followed by a term");
	EXPECT("--rock", ROCK);

	/* NOT binds tighter than AND, AND than OR. */
	EXPECT("pop OR rock AND guitar", "p1.m4a " ROCK
	    " weird name (1).mp3");
	EXPECT("(pop OR rock) AND guitar", ROCK);
	EXPECT("rock AND guitar OR pop", "p1.m4a " ROCK
	    " weird name (1).mp3");
	EXPECT("NOT rock AND guitar", "");
	EXPECT("NOT (rock AND guitar)", NOT_ROCK);
	EXPECT("-(rock OR pop) -female vocal",
	    "a1.flac j1.wav orch.flac t1.mp3 u1.mp3");
	EXPECT("((rock))", ROCK);
	EXPECT("rock OR pop AND NOT female vocal", ROCK);

	/* Complements combined every way. */
	EXPECT("NOT rock AND NOT pop AND NOT classical",
	    "a1.flac j1.wav t1.mp3 u1.mp3");
	EXPECT("NOT rock OR NOT guitar", NOT_ROCK);
	EXPECT("NOT rock OR guitar", ALL);
	EXPECT("rock OR NOT guitar", ALL);
	EXPECT("NOT guitar AND rock", "");
}

static void
test_tags(void)
{
	/* Synonyms merged by their maximum; an output's own name alone
	 * stands for its canonical tag, compared for its own score. */
	EXPECT("woman", "p1.m4a r1.ogg weird name (1).mp3");
	EXPECT("female vocalists", "p1.m4a r1.ogg weird name (1).mp3");
	EXPECT("\"female voice\"", "p1.m4a r1.ogg weird name (1).mp3");
	EXPECT("woman>0.3", "r1.ogg");
	EXPECT("female voice>0.3", "p1.m4a");
	EXPECT("female vocal>0.3", "p1.m4a r1.ogg");
	EXPECT("female vocal >= 0.28", "p1.m4a r1.ogg weird name (1).mp3");
	EXPECT("female vocal>0.28", "p1.m4a r1.ogg");
	EXPECT("classic", "orch.flac");
	EXPECT("classical", "orch.flac");
	EXPECT("genre---classical", "orch.flac");
	EXPECT("instrumental", "j1.wav");
	EXPECT("no vocals", "j1.wav");
	EXPECT("beat", "p1.m4a t1.mp3");
	EXPECT("beats>0.34", "t1.mp3");
	EXPECT("beat>0.34", "t1.mp3");
	EXPECT("male vocal", "r2.mp3 weird name (1).mp3");
	EXPECT("Mellow", "error: model m has no tag 'Mellow' (the msd "
	    "vocabularies have it)");

	/* The rule: top 5 with 0.1, or 0.5 whatever the rank. */
	EXPECT("piano", "j1.wav");		/* 6th in orch and r2 */
	EXPECT("electronic", "t1.mp3");		/* 5th, 0.24 */
	EXPECT("fast", "t1.mp3");		/* 6th in r3, 0.35 */
	EXPECT("loud", "r1.ogg r3.flac");
	EXPECT("ambient", "");			/* 1st, 0.09 */
	EXPECT("slow", "j1.wav orch.flac");
	EXPECT("metal", "r3.flac");

	/* Comparisons, and tracks not analysed. */
	EXPECT("piano<0.1", "a1.flac p1.m4a r1.ogg r3.flac t1.mp3 "
	    "weird name (1).mp3");
	EXPECT("piano<=0.11", "a1.flac orch.flac p1.m4a r1.ogg r3.flac "
	    "t1.mp3 weird name (1).mp3");
	EXPECT("rock>=0.52", "r1.ogg r3.flac");
	EXPECT("rock>0.52", "r1.ogg");
	EXPECT("rock > 0.7", "");
	EXPECT("rock>0", ANALYSED);
	EXPECT("artist:nobody", "u1.mp3");
	EXPECT("artist:nobody rock", "");
	EXPECT("artist:nobody -rock", "u1.mp3");
}

static void
test_rules(void)
{
	struct mtag_threshold own[] = { { "woman", 0.3 }, { "nosuch", 0.1 },
	    { "AMBIENT", 0.01 } };

	rule.top_n = 1;
	open_library();
	EXPECT("female vocal", "");
	EXPECT("rock", "r1.ogg r3.flac");	/* 1st, or 0.5 */
	rule.top_n = 5;
	rule.min_score = 0.05;
	open_library();
	EXPECT("ambient", "a1.flac");
	EXPECT("synth", "a1.flac p1.m4a t1.mp3");
	rule.min_score = 0.1;
	rule.sure_score = 0.3;
	open_library();
	EXPECT("piano", "j1.wav");
	EXPECT("fast", "r3.flac t1.mp3");
	rule.sure_score = 0.5;

	/* Thresholds of their own, by any of a tag's names. */
	rule.thresholds = own;
	rule.nthresholds = 3;
	open_library();
	EXPECT("female vocal", "p1.m4a r1.ogg");
	EXPECT("woman", "p1.m4a r1.ogg");
	EXPECT("ambient", ANALYSED);
	EXPECT("rock", ROCK);
	rule.thresholds = NULL;
	rule.nthresholds = 0;
	open_library();
}

static void
test_metadata(void)
{
	EXPECT("artist:rock", "r1.ogg r2.mp3");
	EXPECT("artist:ROCKERS", "r1.ogg r2.mp3");
	EXPECT("artist:=the rockers", "error: unknown tag 'rockers'; a value "
	    "with spaces is quoted");
	EXPECT("artist:=\"the rockers\"", "r1.ogg r2.mp3");
	EXPECT("artist:='The Rockers'", "r1.ogg r2.mp3");
	EXPECT("artist:=rockers", "");
	EXPECT("artist:100%", "");
	EXPECT("title:~^(loud|quiet)", "r1.ogg r2.mp3");
	EXPECT("title:~\"^(loud|quiet) \"", "r1.ogg r2.mp3");
	EXPECT("title:~(storm|drift)", "a1.flac r3.flac");
	EXPECT("(title:~(storm|drift))", "a1.flac r3.flac");
	EXPECT("title:~^s.*[0-9]$", "orch.flac");
	EXPECT("path:*/rock/*", ROCK);
	EXPECT("path:/music/rock/r?.*", ROCK);
	EXPECT("path:\"*/weird name (1).mp3\"", "weird name (1).mp3");
	EXPECT("path:rock", "");
	EXPECT("ext:flac", "a1.flac orch.flac r3.flac");
	EXPECT("ext:FLAC", "a1.flac orch.flac r3.flac");
	EXPECT("ext:~^(ogg|wav)$", "j1.wav r1.ogg");
	EXPECT("genre:pop", "p1.m4a weird name (1).mp3");
	EXPECT("genre:=rock", "r1.ogg r2.mp3");
	EXPECT("albumartist:rockers", "r1.ogg");
	EXPECT("album:\"live, vol\"", "j1.wav");
	EXPECT("(artist:abba)", "weird name (1).mp3");
	EXPECT("artist:abba year:1970..1979", "weird name (1).mp3");

	EXPECT("year:1990..1999", "r1.ogg t1.mp3");
	EXPECT("year:2000..", "a1.flac p1.m4a r2.mp3");
	EXPECT("year:..1970", "j1.wav");
	EXPECT("year:1972", "orch.flac");
	EXPECT("year:=1972", "orch.flac");
	EXPECT("year:>2003", "a1.flac p1.m4a");
	EXPECT("year:>=2003", "a1.flac p1.m4a r2.mp3");
	EXPECT("year:<1972", "j1.wav");
	EXPECT("year:<=1972", "j1.wav orch.flac");
	EXPECT("duration:>300", "a1.flac j1.wav orch.flac r3.flac t1.mp3");
	EXPECT("duration:<=3:20", "p1.m4a r1.ogg u1.mp3");
	EXPECT("duration:5:00..6:00", "r3.flac t1.mp3");
	EXPECT("duration:>1:00:00", "");

	EXPECT("rock -artist:rockers", "r3.flac");
	EXPECT("rock OR year:1962", "j1.wav " ROCK);
	EXPECT("genre:rock OR genre:pop AND female vocal",
	    "p1.m4a r1.ogg r2.mp3 weird name (1).mp3");
	EXPECT("(genre:rock OR genre:pop) AND female vocal",
	    "p1.m4a r1.ogg weird name (1).mp3");
}

/* The bounds on a query's size that keep the parser's recursion shallow. */
static void
limits(void)
{
	static char expr[8192];
	size_t n;
	int i;

	for (n = 0, i = 0; i < 100; i++)
		expr[n++] = '(';
	n += snprintf(expr + n, sizeof(expr) - n, "metal");
	for (i = 0; i < 100; i++)
		expr[n++] = ')';
	expr[n] = '\0';
	EXPECT(expr, "r3.flac");
	memmove(expr + 1, expr, n + 1);
	expr[0] = '(';
	EXPECT(expr, "error: the query nests NOT, '-' and parentheses more "
	    "than 100 deep [100,101)");
	for (n = 0, i = 0; i < 101; i++)
		n += snprintf(expr + n, sizeof(expr) - n, "NOT ");
	snprintf(expr + n, sizeof(expr) - n, "rock");
	EXPECT(expr, "error: more than 100 deep [400,403)");
	for (n = 0, i = 0; i < 1000; i++)
		n += snprintf(expr + n, sizeof(expr) - n, "%smetal",
		    i ? " " : "");
	EXPECT(expr, "r3.flac");
	snprintf(expr + n, sizeof(expr) - n, " rock");
	EXPECT(expr, "error: the query has more than 1000 terms [6000,6004)");
}

static void
test_errors(void)
{
	EXPECT("", "error: empty query [0,0)");
	EXPECT("   ", "error: empty query [3,3)");
	EXPECT("rok", "error: unknown tag 'rok' (did you mean 'rock'?) [0,3)");
	EXPECT("rock AND femal vocal", "error: unknown tag 'femal' (did you "
	    "mean 'female'");
	EXPECT("rock AND", "error: expected a term at the end [8,8)");
	EXPECT("rock AND OR pop", "error: expected a term before 'OR' "
	    "[9,11)");
	EXPECT("AND rock", "error: expected a term before 'AND' [0,3)");
	EXPECT("(rock OR pop", "error: this '(' is not closed [0,1)");
	EXPECT("rock) OR pop", "error: this ')' closes no '(' [4,5)");
	EXPECT("rock >", "error: expected a score from 0 to 1 [6,7)");
	EXPECT("rock>2", "error: '2' is not a score from 0 to 1 [5,6)");
	EXPECT("rock>x", "error: 'x' is not a score");
	EXPECT(">0.5", "error: a comparison follows a tag");
	EXPECT("rock:0.5", "error: 'rock' is a tag: compare its score as in "
	    "rock>0.5 [0,5)");
	EXPECT("colour:red", "error: unknown field 'colour' (fields: path, ");
	EXPECT("year:abc", "error: 'abc' is not a number [5,8)");
	EXPECT("year:..", "error: a range needs a bound");
	EXPECT("year:2000..1990", "error: empty range");
	EXPECT("year:~19", "error: year is a number");
	EXPECT("artist:>a", "error: artist is text");
	EXPECT("artist:", "error: missing value after 'artist:' [0,7)");
	EXPECT("title:~\"(\"", "error: bad regex '('");
	EXPECT("\"rock", "error: missing closing \" [0,5)");
	EXPECT("jazz", "error: model m has no tag 'jazz' (the msd, jamendo "
	    "vocabularies have it)");
	EXPECT("rock pop)", "error: this ')' closes no '('");
	EXPECT("elec", "error: unknown tag 'elec' (did you mean ");
	limits();
}

/* The hits of expr in rank order, as file names with scores. */
static const char *
ranked(const char *expr)
{
	static char out[1024];
	struct mtag_query_error e;
	struct mtag_track t[16];
	struct mtag_sort_key key;
	struct mtag_hit *h;
	char err[512];
	mtag_query *q;
	int64_t n, i;
	size_t len = 0;

	if ((q = mtag_query_parse(lib, expr, &e)) == NULL ||
	    (n = mtag_query_run(q, &h, err, sizeof(err))) < 0 || n > 16) {
		mtag_query_free(q);
		return "failed";
	}
	for (i = 0; i < n; i++) {
		CHECK(mtag_library_track(lib, h[i].id, &t[i], err,
		    sizeof(err)) == 0);
		t[i].score = h[i].score;
	}
	CHECK(mtag_sort_parse(mtag_query_ranked(q) ? "score" : "path", &key,
	    err, sizeof(err)) == 1);
	mtag_sort(t, n, &key, 1);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		len += snprintf(out + len, sizeof(out) - len, "%s%s %.3f",
		    i ? ", " : "", base(t[i].path), t[i].score);
		mtag_track_clear(&t[i]);
	}
	free(h);
	mtag_query_free(q);
	return out;
}

static void
test_ranking(void)
{
	static const struct {
		const char *keys, *want;
	} sorts[] = {
		{ "year-", "p1 r2 r1 r3 weird" },
		{ "year+", "weird r3 r1 r2 p1" },
		{ "artist,title", "weird r3 p1 r1 r2" },
		{ "ARTIST-,title-", "r2 r1 p1 r3 weird" },
		{ "album", "weird r1 p1 r2 r3" },
		{ "album-", "r1 weird p1 r2 r3" },
		{ "genre,duration-", "r3 weird p1 r2 r1" },
		{ "path", "weird p1 r1 r2 r3" },
		{ "score", "weird p1 r1 r2 r3" },
	};
	struct mtag_track t[16];
	struct mtag_sort_key keys[MTAG_SORT_MAX];
	struct mtag_query_error e;
	struct mtag_hit *h;
	char err[512], names[512];
	mtag_query *q;
	int64_t n, i;
	size_t len;
	int k;

	CHECK(strcmp(ranked("rock"), "r1.ogg 0.600, r3.flac 0.520, "
	    "r2.mp3 0.200") == 0);
	/* The mean of every positive tag term, met or not. */
	CHECK(strcmp(ranked("rock OR pop"), "r1.ogg 0.305, p1.m4a 0.280, "
	    "r3.flac 0.265, weird name (1).mp3 0.155, r2.mp3 0.105") == 0);
	/* Not the negated terms, nor those asking for a low score. */
	CHECK(strcmp(ranked("rock AND piano<0.1 AND NOT female vocal"),
	    "r3.flac 0.520") == 0);
	CHECK(strcmp(ranked("rock>0.5 guitar"), "r1.ogg 0.550, "
	    "r3.flac 0.485") == 0);
	CHECK(strcmp(ranked("woman>0.01"), "r1.ogg 0.310") == 0);
	CHECK(strcmp(ranked("rock OR artist:nobody"), "r1.ogg 0.600, "
	    "r3.flac 0.520, r2.mp3 0.200, u1.mp3 nan") == 0);
	CHECK(strcmp(ranked("artist:rockers"), "r1.ogg nan, r2.mp3 nan") ==
	    0);

	/* Sorting by fields, absent values last either way. */
	CHECK((q = mtag_query_parse(lib, "rock OR pop", &e)) != NULL);
	CHECK((n = mtag_query_run(q, &h, err, sizeof(err))) == 5);
	for (i = 0; i < n; i++)
		CHECK(mtag_library_track(lib, h[i].id, &t[i], err,
		    sizeof(err)) == 0);
	for (k = 0; k < (int)(sizeof(sorts) / sizeof(sorts[0])); k++) {
		CHECK(mtag_sort_parse(sorts[k].keys, keys, err,
		    sizeof(err)) > 0);
		mtag_sort(t, n, keys, mtag_sort_parse(sorts[k].keys, keys,
		    err, sizeof(err)));
		for (i = 0, len = 0; i < n; i++)
			len += snprintf(names + len, sizeof(names) - len,
			    "%s%.*s", i ? " " : "",
			    (int)strcspn(base(t[i].path), ". "),
			    base(t[i].path));
		if (strcmp(names, sorts[k].want) != 0) {
			fprintf(stderr, "sort %s: got %s, want %s\n",
			    sorts[k].keys, names, sorts[k].want);
			test_failures++;
		}
	}
	for (i = 0; i < n; i++)
		mtag_track_clear(&t[i]);
	free(h);
	mtag_query_free(q);
	CHECK(mtag_sort_parse("colour", keys, err, sizeof(err)) == -1);
	CHECK(strstr(err, "--sort: unknown field 'colour'") != NULL);
	CHECK(mtag_format_check("%artist - %{title}s [%score]\\t%%", err,
	    sizeof(err)) == 0);
	CHECK(mtag_format_check("%colour", err, sizeof(err)) == -1);
	CHECK(strstr(err, "unknown field '%colour'") != NULL);
	CHECK(mtag_format_check("x\\", err, sizeof(err)) == -1);
}

/* Track id of the spec whose file name is name. */
static int64_t
id_of(const char *name)
{
	int64_t id = -1;
	char path[256], err[256];
	int i;

	for (i = 0; i < NSPECS; i++)
		if (strcmp(base(specs[i].path), name) == 0)
			snprintf(path, sizeof(path), "%s", specs[i].path);
	CHECK(mtag_library_find(lib, path, &id, err, sizeof(err)) == 1);
	return id;
}

/* The tracks similar to name, as "name similarity" pairs. */
static const char *
similar(const char *name, int n, const char *where)
{
	static char out[1024];
	struct mtag_query_error e;
	struct mtag_hit *h, *w;
	struct mtag_track t;
	mtag_trackset *within = NULL;
	mtag_query *q;
	char err[512];
	int64_t i, nw;
	size_t len = 0;
	int k;

	if (where != NULL) {
		CHECK((q = mtag_query_parse(lib, where, &e)) != NULL);
		CHECK((nw = mtag_query_run(q, &w, err, sizeof(err))) >= 0);
		within = mtag_trackset_new(mtag_library_end(lib));
		for (i = 0; i < nw; i++)
			mtag_trackset_add(within, w[i].id);
		free(w);
		mtag_query_free(q);
	}
	k = mtag_library_similar(lib, id_of(name), within, n, &h, err,
	    sizeof(err));
	mtag_trackset_free(within);
	if (k == -1) {
		snprintf(out, sizeof(out), "error: %s", err);
		return out;
	}
	out[0] = '\0';
	for (i = 0; i < k; i++) {
		CHECK(mtag_library_track(lib, h[i].id, &t, err, sizeof(err)) ==
		    0);
		len += snprintf(out + len, sizeof(out) - len, "%s%s %.6f",
		    i ? ", " : "", base(t.path), h[i].score);
		mtag_track_clear(&t);
	}
	free(h);
	return out;
}

static void
test_similar(void)
{
	const char *got;

	/* Ties (r1 and j1) by id; the zero embedding has no neighbours. */
	got = similar("orch.flac", 10, NULL);
	if (strcmp(got, "r2.mp3 0.995037, r3.flac 0.894427, r1.ogg 0.707107, "
	    "j1.wav 0.707107, a1.flac 0.500000, t1.mp3 0.000000, "
	    "p1.m4a -1.000000") != 0) {
		fprintf(stderr, "similar: %s\n", got);
		test_failures++;
	}
	CHECK(strcmp(similar("orch.flac", 2, NULL), "r2.mp3 0.995037, "
	    "r3.flac 0.894427") == 0);
	CHECK(strcmp(similar("orch.flac", 10, "rock"), "r2.mp3 0.995037, "
	    "r3.flac 0.894427, r1.ogg 0.707107") == 0);
	CHECK(strcmp(similar("orch.flac", 10, "year:..1960"), "") == 0);
	CHECK(strcmp(similar("a1.flac", 1, NULL), "r1.ogg 0.707107") == 0);
	CHECK(strcmp(similar("u1.mp3", 5, NULL),
	    "error: not analysed by model m yet") == 0);
	CHECK(strcmp(similar("weird name (1).mp3", 5, NULL),
	    "error: not analysed by model m yet") == 0);
}

/* What show reads: the analysis, merged scores, ranks and the reasons. */
static void
test_analysis(void)
{
	double outputs[MTAG_VOCAB_SIZE], tags[MTAG_VOCAB_SIZE];
	int ranks[MTAG_VOCAB_SIZE], t, out;
	struct mtag_analysis a;
	char err[256], why[160];

	CHECK(mtag_library_noutputs(lib) == MTAG_VOCAB_SIZE);
	CHECK(mtag_library_analysis(lib, id_of("r1.ogg"), &a, outputs, tags,
	    ranks, err, sizeof(err)) == 0);
	CHECK(strcmp(a.status, "done") == 0 && a.analysed_at > 0);
	t = mtag_library_lookup(lib, "female vocal", &out);
	CHECK(t != -1 && out == -1);
	CHECK(strcmp(mtag_library_tag(lib, t)->category, "vocal") == 0);
	CHECK(mtag_library_tag(lib, t)->noutputs == 4);
	CHECK(fabs(tags[t] - 0.31) < 1e-6 && ranks[t] == 3);
	CHECK(mtag_library_holds(lib, mtag_library_tag(lib, t), tags[t],
	    ranks[t], why, sizeof(why)) == 1);
	CHECK(strcmp(why, "in the top 5, 0.10 or more") == 0);
	t = mtag_library_lookup(lib, "rock", NULL);
	CHECK(ranks[t] == 1 && mtag_library_holds(lib, mtag_library_tag(lib,
	    t), tags[t], ranks[t], why, sizeof(why)) == 1);
	CHECK(strcmp(why, "scores 0.50 or more") == 0);
	t = mtag_library_lookup(lib, "piano", NULL);
	CHECK(mtag_library_holds(lib, mtag_library_tag(lib, t), tags[t],
	    ranks[t], why, sizeof(why)) == 0);
	CHECK(strcmp(why, "not in the top 5, under 0.50") == 0);
	CHECK(mtag_library_lookup(lib, "woman", &out) == mtag_library_lookup(
	    lib, "female vocal", NULL) && out == 26);
	CHECK(fabs(outputs[26] - 0.31) < 1e-6);
	CHECK(mtag_library_analysis(lib, id_of("u1.mp3"), &a, outputs, tags,
	    ranks, err, sizeof(err)) == 0);
	CHECK(strcmp(a.status, "failed") == 0 && isnan(tags[0]));
	CHECK(strcmp(a.error, "cannot decode") == 0);
}

/* A copy of an analysed file, found by its contents, takes over its index
 * rows. */
static void
test_copy(void)
{
	struct spec orig = specs[2];
	float probs[MTAG_VOCAB_SIZE] = { 0 }, emb[DIM] = { 1, 2, 3, 4 };
	char path[PATH_MAX], copy[PATH_MAX], err[512], *claimed;
	struct mtag_hit *hits_copy;
	int64_t id, model = 1;
	mtag_db *db;
	FILE *f;

	snprintf(path, sizeof(path), "%s/orig.ogg", dir);
	snprintf(copy, sizeof(copy), "%s/copy.ogg", dir);
	CHECK((f = fopen(path, "w")) != NULL && fclose(f) == 0);
	CHECK((f = fopen(copy, "w")) != NULL && fclose(f) == 0);
	orig.path = path;
	probs[7] = 0.9f;	/* rock */
	CHECK((db = mtag_db_open(dbpath, 0, err, sizeof(err))) != NULL);
	put(db, &orig, "same contents");
	CHECK(mtag_db_job_claim(db, model, &id, &claimed) == 1);
	free(claimed);
	CHECK(mtag_db_job_done(db, id, model, probs, MTAG_VOCAB_SIZE, emb,
	    DIM, NULL, NULL, 0) == 0);
	orig.path = copy;
	put(db, &orig, "same contents");
	CHECK(mtag_db_job_claim(db, model, &id, &claimed) == 0);
	mtag_db_close(db);
	open_library();
	EXPECT("rock>0.8", "copy.ogg orig.ogg");
	CHECK(mtag_library_find(lib, path, &id, err, sizeof(err)) == 1);
	CHECK(mtag_library_similar(lib, id, NULL, 1, &hits_copy, err,
	    sizeof(err)) == 1);
	CHECK(fabs(hits_copy[0].score - 1) < 1e-6);
	CHECK(mtag_library_find(lib, copy, &id, err, sizeof(err)) == 1 &&
	    hits_copy[0].id == id);
	free(hits_copy);
}

/* A database of the first schema gets its index from the migration. */
static void
test_migration(void)
{
	static const unsigned char emb[8] = { 0, 0, 0x40, 0x40, 0, 0, 0x80,
	    0x40 };		/* 3 and 4 as float32 LE */
	char path[PATH_MAX], err[512];
	sqlite3 *raw;
	sqlite3_stmt *s;
	mtag_db *db;
	int rows = 0;

	snprintf(path, sizeof(path), "%s/old.db", dir);
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, mtag_migrations[0], NULL, NULL, NULL) ==
	    SQLITE_OK);
	CHECK(sqlite3_exec(raw, "INSERT INTO models VALUES (1, 'old', "
	    "'musicnn', 'mtat', 'ab', 3, 0); INSERT INTO model_tags VALUES "
	    "(1, 0, 'rock'), (1, 1, 'female'), (1, 2, 'woman'); "
	    "INSERT INTO tracks (id, path, size, mtime_ns, inode, device, "
	    "added_at, updated_at) VALUES (7, '/a.mp3', 1, 1, 1, 1, 0, 0); "
	    "INSERT INTO analyses (track_id, model_id, status, queued_at) "
	    "VALUES (7, 1, 'done', 0); INSERT INTO scores VALUES "
	    "(1, 0, 0.25, 7), (1, 1, 0.125, 7), (1, 2, 0.5, 7)", NULL, NULL,
	    NULL) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(raw, "UPDATE analyses SET embedding = ?",
	    -1, &s, NULL) == SQLITE_OK);
	sqlite3_bind_blob(s, 1, emb, sizeof(emb), SQLITE_STATIC);
	CHECK(sqlite3_step(s) == SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(raw);

	CHECK((db = mtag_db_open(path, 0, err, sizeof(err))) != NULL);
	mtag_db_close(db);
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(raw, "SELECT group_concat(x, ' ') FROM "
	    "(SELECT canonical || '/' || category AS x FROM model_tags ORDER "
	    "BY idx) UNION ALL SELECT group_concat(x, ' ') FROM (SELECT "
	    "tag_idx || ':' || score || ':' || rank AS x FROM tag_ranks ORDER "
	    "BY tag_idx) UNION ALL SELECT hex(vector) FROM vectors WHERE "
	    "track_id = 7", -1, &s, NULL) == SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);
		static const char *const want[] = {
			"rock/genre female vocal/vocal female vocal/vocal",
			"0:0.25:2 1:0.5:1",
			/* (0.6, 0.8): a scale of 0.8 / 127, 95, 127 */
			"A069CE3B5F7F",
		};

		if (v == NULL || strcmp(v, want[rows]) != 0) {
			fprintf(stderr, "migration: got %s, want %s\n",
			    v ? v : "NULL", want[rows]);
			test_failures++;
		}
		rows++;
	}
	CHECK(rows == 3);
	sqlite3_finalize(s);
	sqlite3_close(raw);
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
	char err[512];

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	build();
	open_library();
	CHECK(mtag_library_open(dbpath, "nosuch", &rule, err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "model nosuch has not analysed the library "
	    "(models: m)") != NULL);
	test_operators();
	test_tags();
	test_rules();
	test_metadata();
	test_errors();
	test_ranking();
	test_similar();
	test_analysis();
	test_copy();
	mtag_library_close(lib);
	test_migration();
	if (test_failures == 0)
		nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "%d check(s) failed; files left in %s\n",
		    test_failures, dir);
	return test_failures ? 1 : 0;
}

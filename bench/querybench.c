/* querybench: times mtagctl's queries on a large library. Builds a
 * database of synthetic tracks through indexer/db.c, as mtagd would, with
 * scores like the averaged outputs of a real model (the three tags of one
 * of 20 styles and two others between 0.1 and 0.6, the rest under 0.08)
 * and 200-float embeddings around the style's; then times queries and
 * similar-track searches, from parsing to the tracks read and sorted, and
 * prints their medians. */
#include <sys/stat.h>

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "library.h"
#include "log.h"
#include "output.h"
#include "query.h"
#include "vocab.h"

#define DIM		200
#define NCHUNKS		16
#define NSTYLES		20
#define MODEL		"musicnn-mtat"

static const char *const default_queries[] = {
	"rock AND female vocal AND NOT piano",
	"(rock OR pop) AND year:1990..1999",
	"female vocal>0.3 OR artist:~\"^artist 1[0-9]$\"",
	"NOT (electronic OR guitar) -classical",
};

/* A style: the outputs that score high, and an embedding centre. */
struct style {
	int tags[3];
	float centre[DIM];
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double
uniform(double lo, double hi)
{
	return lo + (hi - lo) * (rand() / (RAND_MAX + 1.0));
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(*v), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
make_styles(struct style *st)
{
	int s, i;

	for (s = 0; s < NSTYLES; s++) {
		for (i = 0; i < 3; i++)
			st[s].tags[i] = rand() % MTAG_VOCAB_SIZE;
		for (i = 0; i < DIM; i++)
			st[s].centre[i] = uniform(-1, 1);
	}
}

static void
build(const char *path, int ntracks)
{
	static const char *const genres[] = { "Rock", "Pop", "Jazz",
	    "Classical", "Electronic", "Folk", "Metal", "Ambient" };
	struct style st[NSTYLES];
	char err[512], *tags[MTAG_VOCAB_SIZE], file[128], artist[32],
	    album[32], title[32], *claimed;
	float probs[MTAG_VOCAB_SIZE], emb[DIM], chunks[NCHUNKS *
	    MTAG_VOCAB_SIZE];
	double starts[NCHUNKS], t0 = now();
	struct stat sb = { .st_size = 1, .st_ino = 1 };
	mtag_meta m = { 0 };
	int64_t model, id;
	mtag_db *db;
	int i, j, s;

	if ((db = mtag_db_open(path, 0, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	for (i = 0; i < MTAG_VOCAB_SIZE; i++)
		tags[i] = (char *)mtag_vocab_builtin("mtat")[i];
	if (mtag_db_model_ensure(db, MODEL, "musicnn", "mtat", "querybench",
	    tags, MTAG_VOCAB_SIZE, &model) == -1)
		fatalx("%s", mtag_db_errmsg(db));
	for (i = 0; i < ntracks; i++) {
		snprintf(artist, sizeof(artist), "Artist %d", i % 1000);
		snprintf(album, sizeof(album), "Album %d", i % 9000);
		snprintf(title, sizeof(title), "Track %d", i);
		snprintf(file, sizeof(file), "/bench/%d/%d/%06d.mp3", i % 1000,
		    i % 9000, i);
		m.artist = artist;
		m.album = album;
		m.title = title;
		m.genre = (char *)genres[i % 8];
		m.year = 1960 + rand() % 60;
		m.duration = uniform(60, 600);
		if (mtag_db_track_put(db, file, &sb, file, &m, 0, &id,
		    NULL) == -1)
			fatalx("%s", mtag_db_errmsg(db));
	}
	fprintf(stderr, "querybench: %d tracks recorded in %.0f s\n",
	    ntracks, now() - t0);
	make_styles(st);
	for (i = 0; i < NCHUNKS; i++)
		starts[i] = i * 3.0;
	while (mtag_db_job_claim(db, model, &id, &claimed) == 1) {
		free(claimed);
		s = rand() % NSTYLES;
		for (i = 0; i < MTAG_VOCAB_SIZE; i++)
			probs[i] = uniform(0.001, 0.08);
		for (i = 0; i < 3; i++)
			probs[st[s].tags[i]] = uniform(0.15, 0.6);
		for (i = 0; i < 2; i++)
			probs[rand() % MTAG_VOCAB_SIZE] = uniform(0.1, 0.5);
		for (i = 0; i < DIM; i++)
			emb[i] = st[s].centre[i] + uniform(-0.5, 0.5);
		for (i = 0; i < NCHUNKS; i++)
			for (j = 0; j < MTAG_VOCAB_SIZE; j++)
				chunks[i * MTAG_VOCAB_SIZE + j] = probs[j] *
				    uniform(0.5, 1.5);
		if (mtag_db_job_done(db, id, model, probs, MTAG_VOCAB_SIZE, emb,
		    DIM, chunks, starts, NCHUNKS) == -1)
			fatalx("%s", mtag_db_errmsg(db));
	}
	mtag_db_close(db);
	fprintf(stderr, "querybench: built %s in %.0f s\n", path, now() - t0);
}

/* Times the query expr: parsed, run, its tracks read and sorted. */
static double
time_query(mtag_library *lib, const char *expr, int64_t *found)
{
	struct mtag_query_error e;
	struct mtag_sort_key key;
	struct mtag_track *t;
	struct mtag_hit *h;
	char err[512];
	mtag_query *q;
	double t0 = now();
	int64_t n, i;

	if ((q = mtag_query_parse(lib, expr, &e)) == NULL)
		fatalx("%s: %s", expr, e.msg);
	if ((n = mtag_query_run(q, &h, err, sizeof(err))) == -1)
		fatalx("%s", err);
	if ((t = calloc(n + 1, sizeof(*t))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < n; i++) {
		if (mtag_library_track(lib, h[i].id, &t[i], err,
		    sizeof(err)) == -1)
			fatalx("%s", err);
		t[i].score = h[i].score;
	}
	mtag_sort_parse(mtag_query_ranked(q) ? "score" : "path", &key, err,
	    sizeof(err));
	mtag_sort(t, n, &key, 1);
	t0 = now() - t0;
	for (i = 0; i < n; i++)
		mtag_track_clear(&t[i]);
	free(t);
	free(h);
	mtag_query_free(q);
	*found = n;
	return t0;
}

/* Times the 10 tracks nearest to track id, read. */
static double
time_similar(mtag_library *lib, int64_t id)
{
	struct mtag_track t;
	struct mtag_hit *h;
	char err[512];
	double t0 = now();
	int n, i;

	if ((n = mtag_library_similar(lib, id, NULL, 10, &h, err,
	    sizeof(err))) == -1)
		fatalx("similar: %s", err);
	for (i = 0; i < n; i++) {
		if (mtag_library_track(lib, h[i].id, &t, err, sizeof(err)) ==
		    -1)
			fatalx("%s", err);
		mtag_track_clear(&t);
	}
	free(h);
	return now() - t0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: querybench [-n tracks] [-r runs] "
	    "[-q query]... database\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct mtag_tag_rule rule = { 5, 0.1, 0.5, NULL, 0 };
	const char *queries[16];
	double times[64];
	int ntracks = 100000, runs = 7, nq = 0, ch, i, k;
	char err[512];
	mtag_library *lib;
	int64_t found = 0, end;
	struct stat sb;

	log_init("querybench", MTAG_LOG_INFO);
	while ((ch = getopt(argc, argv, "n:r:q:")) != -1) {
		switch (ch) {
		case 'n':
			ntracks = atoi(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'q':
			if (nq == 16)
				usage();
			queries[nq++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || ntracks < 1 || runs < 1 || runs > 64)
		usage();
	if (nq == 0)
		for (; nq < (int)(sizeof(default_queries) /
		    sizeof(default_queries[0])); nq++)
			queries[nq] = default_queries[nq];
	srand(1);
	if (access(argv[optind], F_OK) != 0)
		build(argv[optind], ntracks);
	if ((lib = mtag_library_open(argv[optind], MODEL, &rule, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	end = mtag_library_end(lib);
	stat(argv[optind], &sb);
	printf("%s: %lld tracks, %.0f MB; median of %d runs\n", argv[optind],
	    (long long)end - 1, sb.st_size / 1e6, runs);
	for (k = 0; k < nq; k++) {
		for (i = 0; i < runs; i++)
			times[i] = time_query(lib, queries[k], &found);
		printf("query %-50s %7.1f ms  (%lld tracks)\n", queries[k],
		    median(times, runs) * 1e3, (long long)found);
	}
	for (i = 0; i < runs; i++)
		times[i] = time_similar(lib, 1 + rand() % (end - 1));
	printf("similar, 10 nearest of a random track %26s %7.1f ms\n", "",
	    median(times, runs) * 1e3);
	mtag_library_close(lib);
	return 0;
}

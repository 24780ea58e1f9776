/* mtagctl bench: the inference time per track of models, on random input,
 * the median of several runs after a warm-up. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "ckpt.h"
#include "commands.h"
#include "log.h"
#include "model.h"
#include "ops.h"
#include "store.h"

#define MAX_MODELS 32
#define MAX_CHUNKS 256

static void
bench_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl bench [--model NAME|FILE]... [--chunks N] "
	    "[--runs N] [--threads N]\n");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
by_value(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* A positive integer option value, or -1 after a message. */
static int
positive(const char *opt, const char *arg, int max)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end != '\0' || v < 1 || v > max) {
		log_warnx("--%s: '%s' is not a number from 1 to %d", opt, arg,
		    max);
		return -1;
	}
	return (int)v;
}

/* Times nchunks chunks of random input through model name: the median of
 * runs runs after a warm-up. Returns 0, or 1 after a message. */
static int
bench_model(const char *name, const char *dataset, int nchunks, int runs)
{
	mtag_store_entry e = { 0 };
	mtag_model *m = NULL;
	mtag_ckpt *ck;
	float *pcm = NULL, *probs = NULL;
	size_t starts[MAX_CHUNKS], len, n, i;
	double times[runs], flop, t;
	char err[512];
	unsigned seed = 1;
	int r, status = 1;

	if (mtag_store_resolve(name, dataset, &e, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	if ((ck = mtag_ckpt_open(e.path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		goto done;
	}
	m = mtag_model_load(ck, e.arch[0] != '\0' ? e.arch : NULL, err,
	    sizeof(err));
	mtag_ckpt_free(ck);
	if (m == NULL) {
		log_warnx("%s", err);
		goto done;
	}
	len = mtag_model_input_length(m);
	n = len * nchunks;
	pcm = malloc(sizeof(float) * n);
	probs = malloc(sizeof(float) * nchunks * mtag_model_ntags(m));
	if (pcm == NULL || probs == NULL) {
		log_warnx("out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		pcm[i] = (float)((double)rand_r(&seed) / RAND_MAX - 0.5);
	for (r = 0; r < nchunks; r++)
		starts[r] = r * len;
	flop = mtag_ops_flop();
	if (mtag_model_run(m, pcm, n, starts, nchunks, probs, NULL) < 0) {
		log_warnx("%s: out of memory", e.name);
		goto done;
	}
	flop = mtag_ops_flop() - flop;
	for (r = 0; r < runs; r++) {
		t = now();
		mtag_model_run(m, pcm, n, starts, nchunks, probs, NULL);
		times[r] = now() - t;
	}
	qsort(times, runs, sizeof(times[0]), by_value);
	t = times[runs / 2];
	printf("model=%s arch=%s chunks=%d s_per_track=%.4f "
	    "gflop_per_track=%.1f gflops=%.1f\n", e.name, mtag_model_arch(m),
	    nchunks, t, flop / 1e9, flop / 1e9 / t);
	fflush(stdout);
	status = 0;
done:
	free(pcm);
	free(probs);
	mtag_model_free(m);
	mtag_store_entry_clear(&e);
	return status;
}

int
cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "chunks", required_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* The vocabulary does not matter here: any dataset will do. */
	const char *models[MAX_MODELS], *dataset = "mtat";
	int ch, i, nmodels = 0, nchunks = MTAG_TRACK_CHUNKS, runs = 5;
	int threads = 0, status = 0;

	while ((ch = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (nmodels == MAX_MODELS) {
				log_warnx("more than %d models", MAX_MODELS);
				return 2;
			}
			models[nmodels++] = optarg;
			break;
		case 'c':
			if ((nchunks = positive("chunks", optarg,
			    MAX_CHUNKS)) < 0)
				return 2;
			break;
		case 'r':
			if ((runs = positive("runs", optarg, 1000)) < 0)
				return 2;
			break;
		case 't':
			if ((threads = positive("threads", optarg, 1024)) < 0)
				return 2;
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		bench_usage(stderr);
		return 2;
	}
	if (nmodels == 0)
		models[nmodels++] = NULL;	/* the default model */
	if (threads > 0)
		openblas_set_num_threads(threads);
	for (i = 0; i < nmodels; i++)
		if (bench_model(models[i], dataset, nchunks, runs) != 0)
			status = 1;
	return status;
}

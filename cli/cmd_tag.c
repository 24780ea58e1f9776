/* mtagctl tag and infer: running a model on audio files or raw PCM, without
 * the daemon or the database. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "commands.h"
#include "json.h"
#include "log.h"
#include "model.h"
#include "npy.h"
#include "store.h"

#define MAX_CHUNK_STARTS 4096

/* Loads the checkpoint of e as arch (NULL: the entry's or detected). */
static mtag_model *
load_model(const mtag_store_entry *e, const char *arch)
{
	char err[512];
	mtag_ckpt *ck;
	mtag_model *m;

	if (arch == NULL && e->arch[0] != '\0')
		arch = e->arch;
	if ((ck = mtag_ckpt_open(e->path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return NULL;
	}
	m = mtag_model_load(ck, arch, err, sizeof(err));
	mtag_ckpt_free(ck);
	if (m == NULL)
		log_warnx("%s", err);
	return m;
}

struct ranked {
	int idx;
	float score;
};

static int
by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->score < y->score) - (x->score > y->score);
}

static void
print_text(const char *file, const mtag_store_entry *e, const float *probs,
    int ntags, int top, int nchunks)
{
	struct ranked r[ntags];
	int i, width = 0;

	for (i = 0; i < ntags; i++) {
		r[i] = (struct ranked){ i, probs[i] };
		if ((int)strlen(e->tags[i]) > width)
			width = strlen(e->tags[i]);
	}
	qsort(r, ntags, sizeof(r[0]), by_score);
	printf("%s (%s, %d chunk%s)\n", file, e->name, nchunks,
	    nchunks == 1 ? "" : "s");
	for (i = 0; i < top && i < ntags; i++)
		printf("  %-*s %.3f\n", width, e->tags[r[i].idx], r[i].score);
}

static void
print_json(const char *file, const mtag_store_entry *e, const mtag_model *m,
    const float *probs, int nchunks, double seconds, int first)
{
	int i;

	printf("%s{\"file\": ", first ? "[\n" : ",\n");
	mtag_json_string(stdout, file);
	printf(", \"model\": ");
	mtag_json_string(stdout, e->name);
	printf(", \"arch\": \"%s\", \"dataset\": ", mtag_model_arch(m));
	mtag_json_string(stdout, e->dataset);
	printf(", \"duration\": %.3f, \"chunks\": %d, \"scores\": {",
	    seconds, nchunks);
	for (i = 0; i < mtag_model_ntags(m); i++) {
		printf("%s", i ? ", " : "");
		mtag_json_string(stdout, e->tags[i]);
		printf(": %.6f", probs[i]);
	}
	printf("}}");
}

/* A file decoded on a thread of its own while the model runs on the one
 * before. */
struct prefetch {
	const mtag_model *m;
	const char *path;
	float *pcm;
	size_t n;
	int rc;
	char err[512];
	pthread_t thread;
	int started;
};

static void *
prefetch_run(void *arg)
{
	struct prefetch *p = arg;

	p->rc = mtag_model_decode(p->m, p->path, &p->pcm, &p->n, p->err,
	    sizeof(p->err));
	return NULL;
}

/* Starts decoding path into p (decoding at once if no thread starts). */
static void
prefetch_start(struct prefetch *p, const mtag_model *m, const char *path)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->path = path;
	if (pthread_create(&p->thread, NULL, prefetch_run, p) == 0)
		p->started = 1;
	else
		prefetch_run(p);
}

/* Waits for the decoding of p; returns its mtag_model_decode result. */
static int
prefetch_wait(struct prefetch *p)
{
	if (p->started)
		pthread_join(p->thread, NULL);
	p->started = 0;
	return p->rc;
}

static void
tag_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl tag [--model NAME|FILE] [--dataset D] "
	    "[--arch A] [--top N] [--json] FILE...\n");
}

int
cmd_tag(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "dataset", required_argument, NULL, 'D' },
		{ "arch", required_argument, NULL, 'a' },
		{ "top", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *dataset = NULL, *arch = NULL;
	mtag_store_entry e = { 0 };
	mtag_model *m = NULL;
	struct prefetch next;
	float *probs = NULL;
	char err[512], *end;
	int ch, i, json = 0, top = 10, status = 0, printed = 0;

	while ((ch = getopt_long(argc, argv, "m:n:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'D':
			dataset = optarg;
			break;
		case 'a':
			arch = optarg;
			break;
		case 'n':
		case 't':
			top = strtol(optarg, &end, 10);
			if (*end != '\0' || top < 1) {
				log_warnx("--top: '%s' is not a positive "
				    "number", optarg);
				return 2;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			tag_usage(stdout);
			return 0;
		default:
			tag_usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		tag_usage(stderr);
		return 2;
	}
	if (mtag_store_resolve(model, dataset, &e, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	if ((m = load_model(&e, arch)) == NULL) {
		status = 1;
		goto done;
	}
	if (e.ntags != mtag_model_ntags(m)) {
		log_warnx("%s: the model has %d outputs but its vocabulary %d "
		    "tags", e.name, mtag_model_ntags(m), e.ntags);
		status = 1;
		goto done;
	}
	if ((probs = malloc(sizeof(float) * e.ntags)) == NULL) {
		log_warnx("out of memory");
		status = 1;
		goto done;
	}
	/* The next file decodes while the model runs on this one. */
	prefetch_start(&next, m, argv[optind]);
	for (i = optind; i < argc; i++) {
		struct prefetch cur;
		int nchunks;

		prefetch_wait(&next);
		cur = next;
		if (i + 1 < argc)
			prefetch_start(&next, m, argv[i + 1]);
		if (cur.rc < 0) {
			log_warnx("%s", cur.err);
			status = 1;
			continue;
		}
		mtag_model_run_track(m, cur.pcm, cur.n, probs, NULL, NULL,
		    NULL, &nchunks);
		if (json) {
			print_json(argv[i], &e, m, probs, nchunks,
			    (double)cur.n / mtag_model_rate(m),
			    printed++ == 0);
		} else {
			print_text(argv[i], &e, probs, e.ntags, top, nchunks);
		}
		free(cur.pcm);
		fflush(stdout);
	}
	if (json)
		printf(printed ? "\n]\n" : "[]\n");
done:
	free(probs);
	mtag_model_free(m);
	mtag_store_entry_clear(&e);
	return status;
}

/* Reads a file of float32 little-endian samples. */
static float *
read_pcm(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	float *buf = NULL;
	long len = 0;

	if (f == NULL) {
		log_warn("%s", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		log_warn("%s", path);
	} else if (len % sizeof(float) != 0) {
		log_warnx("%s: size %ld is not a whole number of float32 "
		    "samples", path, len);
	} else if ((buf = malloc(len ? len : 1)) == NULL) {
		log_warnx("%s: out of memory", path);
	} else if (fread(buf, 1, len, f) != (size_t)len) {
		log_warnx("%s: short read", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*n = len / sizeof(float);
	return buf;
}

/* Parses "N[,N...]" into starts; returns the count or -1. */
static int
parse_starts(const char *s, size_t *starts, int max)
{
	int n = 0;

	while (*s != '\0') {
		char *end;
		unsigned long long v;

		if (*s < '0' || *s > '9' || n == max)
			return -1;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0)
			return -1;
		starts[n++] = v;
		if (*end == ',' && end[1] != '\0')
			end++;
		else if (*end != '\0')
			return -1;
		s = end;
	}
	return n;
}

static void
infer_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl infer --model NAME|FILE [--arch A] "
	    "--pcm-f32 FILE --chunk-starts N[,N...]\n"
	    "                     [--probs OUT.npy] [--embedding OUT.npy]\n");
}

int
cmd_infer(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "arch", required_argument, NULL, 'a' },
		{ "pcm-f32", required_argument, NULL, 'p' },
		{ "chunk-starts", required_argument, NULL, 's' },
		{ "probs", required_argument, NULL, 'P' },
		{ "embedding", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static size_t starts[MAX_CHUNK_STARTS];
	const char *model = NULL, *arch = NULL, *pcm_path = NULL;
	const char *probs_path = NULL, *emb_path = NULL;
	mtag_store_entry e = { 0 };
	mtag_model *m = NULL;
	float *pcm = NULL, *probs = NULL, *emb = NULL;
	size_t n, shape[2];
	char err[512];
	int ch, nstarts = 0, status = 1;

	while ((ch = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'a':
			arch = optarg;
			break;
		case 'p':
			pcm_path = optarg;
			break;
		case 's':
			nstarts = parse_starts(optarg, starts,
			    MAX_CHUNK_STARTS);
			if (nstarts < 1) {
				log_warnx("--chunk-starts: '%s' is not a list "
				    "of sample offsets", optarg);
				return 2;
			}
			break;
		case 'P':
			probs_path = optarg;
			break;
		case 'E':
			emb_path = optarg;
			break;
		case 'h':
			infer_usage(stdout);
			return 0;
		default:
			infer_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || model == NULL || pcm_path == NULL ||
	    nstarts == 0) {
		infer_usage(stderr);
		return 2;
	}
	/* The vocabulary does not matter here: any dataset will do. */
	if (mtag_store_resolve(model, "mtat", &e, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	if ((m = load_model(&e, arch)) == NULL ||
	    (pcm = read_pcm(pcm_path, &n)) == NULL)
		goto done;
	probs = malloc(sizeof(float) * nstarts * mtag_model_ntags(m));
	emb = malloc(sizeof(float) * nstarts * mtag_model_embed_dim(m));
	if (probs == NULL || emb == NULL) {
		log_warnx("out of memory");
		goto done;
	}
	mtag_model_run(m, pcm, n, starts, nstarts, probs, emb);
	shape[0] = nstarts;
	shape[1] = mtag_model_ntags(m);
	if (probs_path != NULL && mtag_npy_write(probs_path, probs, 2,
	    shape) < 0) {
		log_warn("%s", probs_path);
		goto done;
	}
	shape[1] = mtag_model_embed_dim(m);
	if (emb_path != NULL && mtag_npy_write(emb_path, emb, 2, shape) < 0) {
		log_warn("%s", emb_path);
		goto done;
	}
	status = 0;
done:
	free(pcm);
	free(probs);
	free(emb);
	mtag_model_free(m);
	mtag_store_entry_clear(&e);
	return status;
}

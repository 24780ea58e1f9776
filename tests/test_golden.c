/* Runs every golden entry of the shared manifest through the engine and
 * compares with what PyTorch computed: max |dprob| <= 2e-4 and relative
 * embedding error <= 1e-4. Also checks the dB spectrogram of chunk 0 and
 * that no other architecture claims the checkpoint. */
#include <math.h>
#include <string.h>

#include "arch.h"
#include "ckpt.h"
#include "frontend.h"
#include "model.h"
#include "npy.h"
#include "testutil.h"

#define PROB_TOL 2e-4
#define EMB_TOL 1e-4
/* dB, for bins within SPEC_RANGE dB of the loudest: fainter ones are float32
 * FFT rounding noise, in PyTorch's output as in ours. */
#define SPEC_TOL 2e-3
#define SPEC_RANGE 80.0
#define MAX_STARTS 64

static const struct mtag_arch *const archs[] = {
	&mtag_arch_fcn, &mtag_arch_musicnn, &mtag_arch_crnn,
	&mtag_arch_sample, &mtag_arch_se, &mtag_arch_short,
	&mtag_arch_short_res, &mtag_arch_hcnn, &mtag_arch_attention,
	&mtag_arch_transformer,
};

struct entry {
	char model[64], arch[32], checkpoint[256], clip[128];
	char probs[256], embedding[256], spec_db[256];
	int rate;
	size_t starts[MAX_STARTS];
	int nstarts;
};

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The string value of "key" inside obj, or "" for null. */
static void
json_str(const char *obj, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	out[0] = '\0';
	if ((p = strstr(obj, pat)) == NULL)
		return;
	for (p += strlen(pat); *p == ' '; p++)
		;
	if (*p != '"' || (e = strchr(p + 1, '"')) == NULL ||
	    (size_t)(e - p) > len)
		return;
	memcpy(out, p + 1, e - p - 1);
	out[e - p - 1] = '\0';
}

/* The manifest is an array of flat objects; returns how many were read. */
static int
parse_manifest(char *json, struct entry *ents, int max)
{
	char *p = json, *end;
	int n = 0;

	while (n < max && (p = strchr(p, '{')) != NULL) {
		struct entry *e = &ents[n];
		char *s;

		if ((end = strchr(p, '}')) == NULL)
			break;
		*end = '\0';
		json_str(p, "model", e->model, sizeof(e->model));
		json_str(p, "arch", e->arch, sizeof(e->arch));
		json_str(p, "checkpoint", e->checkpoint, sizeof(e->checkpoint));
		json_str(p, "clip", e->clip, sizeof(e->clip));
		json_str(p, "probs", e->probs, sizeof(e->probs));
		json_str(p, "embedding", e->embedding, sizeof(e->embedding));
		json_str(p, "spec_db", e->spec_db, sizeof(e->spec_db));
		s = strstr(p, "\"sample_rate\":");
		e->rate = s ? atoi(s + 14) : 0;
		e->nstarts = 0;
		if ((s = strstr(p, "\"chunk_starts\":")) != NULL &&
		    (s = strchr(s, '[')) != NULL) {
			for (s++; *s && *s != ']' && e->nstarts < MAX_STARTS;) {
				char *q;

				e->starts[e->nstarts++] = strtoull(s, &q, 10);
				s = q;
				while (*s == ',' || *s == ' ' || *s == '\n')
					s++;
			}
		}
		n++;
		p = end + 1;
	}
	return n;
}

/* Reads golden/REL. */
static float *
load_npy(const char *rel, size_t shape[4], int *ndim)
{
	char path[1024], golden[512], err[512];
	float *d;

	snprintf(golden, sizeof(golden), "golden/%s", rel);
	if (mtag_npy_read(SHARED_PATH(path, golden), &d, ndim, shape, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return d;
}

/* Compares the front end's chunk-0 dB spectrogram with spec_db.npy. */
static void
check_spec(const struct entry *e, const mtag_ckpt *ck, const float *pcm,
    size_t n, int input_length)
{
	const mtag_tensor *win = mtag_ckpt_find(ck, "spec.spectrogram.window");
	const mtag_tensor *fb = mtag_ckpt_find(ck, "spec.mel_scale.fb");
	size_t shape[4], i, len = input_length;
	mtag_frontend *fe;
	float *want, *got, *chunk, *work;
	double maxd = 0.0, top = -INFINITY;
	int ndim;

	CHECK(win != NULL && fb != NULL);	/* a mel front end */
	if (win == NULL || fb == NULL)
		return;
	want = load_npy(e->spec_db, shape, &ndim);
	fe = mtag_frontend_new(win->numel, win->numel / 2, input_length,
	    win->data, fb->data, fb->shape[1]);
	CHECK(fe != NULL);
	chunk = calloc(len, sizeof(float));
	memcpy(chunk, pcm + e->starts[0], sizeof(float) *
	    (n - e->starts[0] < len ? n - e->starts[0] : len));
	got = malloc(sizeof(float) * shape[0] * shape[1]);
	CHECK(ndim == 2 && shape[0] == (size_t)fb->shape[1] &&
	    shape[1] == (size_t)mtag_frontend_frames(fe));
	work = malloc(sizeof(float) * mtag_frontend_scratch(fe));
	mtag_frontend_db(fe, chunk, got, work);
	for (i = 0; i < shape[0] * shape[1]; i++)
		top = fmax(top, want[i]);
	for (i = 0; i < shape[0] * shape[1]; i++)
		if (want[i] >= top - SPEC_RANGE)
			maxd = fmax(maxd, fabs(got[i] - want[i]));
	printf("  spec_db max |d| = %.3g dB (bins above %.1f dB)\n", maxd,
	    top - SPEC_RANGE);
	CHECK(maxd <= SPEC_TOL);
	mtag_frontend_free(fe);
	free(work);
	free(chunk);
	free(got);
	free(want);
}

/* Only the entry's architecture recognises its checkpoint. */
static void
check_detect(const struct entry *e, const mtag_ckpt *ck)
{
	size_t i;

	for (i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
		if (archs[i]->detect(ck) != (strcmp(archs[i]->name,
		    e->arch) == 0)) {
			fprintf(stderr, "%s: %s detection wrong\n",
			    e->checkpoint, archs[i]->name);
			test_failures++;
		}
}

static void
run_entry(const struct entry *e)
{
	char path[1024], rel[256], err[512];
	size_t shape[4], eshape[4], n, i;
	mtag_ckpt *ck;
	mtag_model *m;
	float *pcm, *want_p, *want_e, *probs, *emb;
	double maxp = 0.0, de = 0.0, ne = 0.0;
	int ndim, nt, ed;
	char *raw;

	printf("%s %s (%d chunks)\n", e->model, e->clip, e->nstarts);
	if ((ck = mtag_ckpt_open(SHARED_PATH(path, e->checkpoint), err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
		return;
	}
	check_detect(e, ck);
	if ((m = mtag_model_load(ck, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
		mtag_ckpt_free(ck);
		return;
	}
	CHECK(strcmp(mtag_model_arch(m), e->arch) == 0);
	CHECK(mtag_model_rate(m) == e->rate);
	snprintf(rel, sizeof(rel), "golden/clips/%s.%d.f32", e->clip,
	    e->rate);
	raw = slurp(SHARED_PATH(path, rel), &n);
	pcm = (float *)raw;
	n /= sizeof(float);
	if (e->spec_db[0] != '\0')
		check_spec(e, ck, pcm, n, mtag_model_input_length(m));

	want_p = load_npy(e->probs, shape, &ndim);
	want_e = load_npy(e->embedding, eshape, &ndim);
	nt = mtag_model_ntags(m);
	ed = mtag_model_embed_dim(m);
	CHECK(shape[0] == (size_t)e->nstarts && shape[1] == (size_t)nt);
	CHECK(eshape[0] == (size_t)e->nstarts && eshape[1] == (size_t)ed);
	probs = malloc(sizeof(float) * e->nstarts * nt);
	emb = malloc(sizeof(float) * e->nstarts * ed);
	CHECK(mtag_model_run(m, pcm, n, e->starts, e->nstarts, probs,
	    emb) == 0);
	for (i = 0; i < (size_t)e->nstarts * nt; i++)
		maxp = fmax(maxp, fabs(probs[i] - want_p[i]));
	for (i = 0; i < (size_t)e->nstarts * ed; i++) {
		de += (emb[i] - want_e[i]) * (double)(emb[i] - want_e[i]);
		ne += want_e[i] * (double)want_e[i];
	}
	de = sqrt(de / (ne > 0 ? ne : 1));
	printf("  max |dprob| = %.3g, embedding relative error = %.3g\n",
	    maxp, de);
	CHECK(maxp <= PROB_TOL);
	CHECK(de <= EMB_TOL);
	free(probs);
	free(emb);
	free(want_p);
	free(want_e);
	free(raw);
	mtag_model_free(m);
	mtag_ckpt_free(ck);
}

int
main(int argc, char **argv)
{
	static struct entry ents[256];
	char path[1024], *json;
	size_t len;
	int n, i, ran = 0;

	json = slurp(SHARED_PATH(path, "golden/manifest.json"), &len);
	n = parse_manifest(json, ents, 256);
	CHECK(n > 0);
	for (i = 0; i < n; i++) {
		/* Optional filter: only entries whose model name matches. */
		if (argc > 1 && strstr(ents[i].model, argv[1]) == NULL)
			continue;
		run_entry(&ents[i]);
		ran++;
	}
	printf("%d entries run, %d failed checks\n", ran, test_failures);
	CHECK(ran > 0);
	free(json);
	return test_failures ? 1 : 0;
}

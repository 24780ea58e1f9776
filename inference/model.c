/* The tagging models: choosing the architecture of a checkpoint, owning its
 * weight arena and scratch buffer, and running chunks and whole tracks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "arch.h"
#include "decode.h"
#include "error.h"
#include "model.h"
#include "ops.h"

static const struct mtag_arch *const archs[] = {
	&mtag_arch_fcn,
	&mtag_arch_musicnn,
	&mtag_arch_crnn,
	&mtag_arch_sample,
	&mtag_arch_se,
	&mtag_arch_short,
	&mtag_arch_short_res,
	&mtag_arch_hcnn,
	&mtag_arch_attention,
	&mtag_arch_transformer,
};
#define NARCHS (int)(sizeof(archs) / sizeof(archs[0]))

/* Floats of scratch are laid out in multiples of ALIGN (64 bytes). */
#define ALIGN 16

struct mtag_model {
	const struct mtag_arch *arch;
	void *state;
	int ntags, embed_dim;
	float *arena;		/* every weight */
	float *scratch;		/* nctx contexts of ctx_len floats (the chunk,
				   the architecture's scratch), then the
				   chunks' embeddings and probabilities of
				   mtag_model_run_track */
	size_t arch_scratch, ctx_len;
	int nctx;		/* chunks that can run at the same time */
};

/* A share of the chunks of one mtag_model_run: every step-th from first,
 * run in context ctx. */
struct share {
	mtag_model *m;
	const float *pcm;
	size_t n;
	const size_t *starts;
	int nstarts, first, step;
	float *probs, *emb, *ctx;
	const volatile sig_atomic_t *cancel;
	pthread_t thread;
};

static size_t
round_up(size_t n)
{
	return (n + ALIGN - 1) / ALIGN * ALIGN;
}

const char *
mtag_model_detect(const mtag_ckpt *ck)
{
	int i;

	for (i = 0; i < NARCHS; i++)
		if (archs[i]->detect(ck))
			return archs[i]->name;
	return NULL;
}

mtag_model *
mtag_model_load(const mtag_ckpt *ck, const char *arch, char *err,
    size_t errlen)
{
	const struct mtag_arch *a = NULL;
	mtag_weights w;
	mtag_model *m;
	int i;

	if (arch == NULL && (arch = mtag_model_detect(ck)) == NULL) {
		char known[256] = "";

		for (i = 0; i < NARCHS; i++)
			snprintf(known + strlen(known), sizeof(known) -
			    strlen(known), "%s%s", i ? ", " : "",
			    archs[i]->name);
		mtag_seterr(err, errlen, mtag_ckpt_path(ck), "not a checkpoint "
		    "of a known architecture (%s)", known);
		return NULL;
	}
	for (i = 0; i < NARCHS; i++)
		if (strcmp(arch, archs[i]->name) == 0)
			a = archs[i];
	if (a == NULL) {
		mtag_seterr(err, errlen, NULL, "unknown architecture %s", arch);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		mtag_seterr(err, errlen, NULL, "out of memory");
		return NULL;
	}
	m->arch = a;
	if (mtag_weights_init(&w, ck, a->arena_extra, err, errlen) < 0)
		goto fail;
	m->arena = w.arena;
	if ((m->state = a->load(&w, a->input_length, &m->ntags,
	    &m->embed_dim, &m->arch_scratch)) == NULL)
		goto fail;
	/* As many contexts as BLAS threads: the daemon's workers, which ask
	 * for one BLAS thread each, get one. */
	m->nctx = openblas_get_num_threads();
	if (m->nctx < 1)
		m->nctx = 1;
	if (m->nctx > MTAG_TRACK_CHUNKS)
		m->nctx = MTAG_TRACK_CHUNKS;
	m->ctx_len = round_up(a->input_length + m->arch_scratch);
	if (posix_memalign((void **)&m->scratch, sizeof(float) * ALIGN,
	    sizeof(float) * (m->nctx * m->ctx_len + MTAG_TRACK_CHUNKS *
	    (size_t)(m->embed_dim + m->ntags))) != 0) {
		m->scratch = NULL;
		mtag_weights_error(&w, "out of memory");
		goto fail;
	}
	return m;
fail:
	mtag_model_free(m);
	return NULL;
}

void
mtag_model_free(mtag_model *m)
{
	if (m == NULL)
		return;
	if (m->state != NULL)
		m->arch->free(m->state);
	free(m->arena);
	free(m->scratch);
	free(m);
}

const char *
mtag_model_arch(const mtag_model *m)
{
	return m->arch->name;
}

int
mtag_model_rate(const mtag_model *m)
{
	return m->arch->rate;
}

int
mtag_model_input_length(const mtag_model *m)
{
	return m->arch->input_length;
}

int
mtag_model_ntags(const mtag_model *m)
{
	return m->ntags;
}

int
mtag_model_embed_dim(const mtag_model *m)
{
	return m->embed_dim;
}

static void *
run_share(void *arg)
{
	struct share *sh = arg;
	mtag_model *m = sh->m;
	const size_t len = m->arch->input_length;
	float *chunk = sh->ctx, *scratch = chunk + len;
	int i;

	for (i = sh->first; i < sh->nstarts; i += sh->step) {
		size_t s = sh->starts[i], have = s < sh->n ? sh->n - s : 0;
		float *p = sh->probs + (size_t)i * m->ntags;

		if (sh->cancel != NULL && *sh->cancel)
			break;
		if (have > len)
			have = len;
		if (have > 0)
			memcpy(chunk, sh->pcm + s, sizeof(float) * have);
		memset(chunk + have, 0, sizeof(float) * (len - have));
		m->arch->forward(m->state, chunk, scratch,
		    sh->emb + (size_t)i * m->embed_dim, p);
		mtag_sigmoid(p, m->ntags);
	}
	return NULL;
}

/* mtag_model_run with emb required and a cancel flag: the chunks are shared
 * among up to nctx threads, each calling a single-threaded BLAS. Returns 1
 * when cancelled. */
static int
run_chunks(mtag_model *m, const float *pcm, size_t n, const size_t *starts,
    int nstarts, float *probs, float *emb,
    const volatile sig_atomic_t *cancel)
{
	const int blas = openblas_get_num_threads();
	struct share sh[MTAG_TRACK_CHUNKS];
	int i, nthreads = blas < m->nctx ? blas : m->nctx;

	if (nthreads > nstarts)
		nthreads = nstarts;
	if (nthreads < 1)
		nthreads = 1;
	for (i = 0; i < nthreads; i++)
		sh[i] = (struct share){ .m = m, .pcm = pcm, .n = n,
		    .starts = starts, .nstarts = nstarts, .first = i,
		    .step = nthreads, .probs = probs, .emb = emb,
		    .ctx = m->scratch + i * m->ctx_len, .cancel = cancel };
	if (nthreads > 1)
		openblas_set_num_threads(1);
	/* A share whose thread cannot start runs in this one. */
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&sh[i].thread, NULL, run_share,
		    &sh[i]) != 0)
			sh[i].step = 0;
	run_share(&sh[0]);
	for (i = 1; i < nthreads; i++) {
		if (sh[i].step == 0) {
			sh[i].step = nthreads;
			run_share(&sh[i]);
		} else {
			pthread_join(sh[i].thread, NULL);
		}
	}
	if (nthreads > 1)
		openblas_set_num_threads(blas);
	return cancel != NULL && *cancel ? 1 : 0;
}

int
mtag_model_run(mtag_model *m, const float *pcm, size_t n,
    const size_t *starts, int nstarts, float *probs, float *emb)
{
	float *spare = m->scratch + m->nctx * m->ctx_len;
	int i, batch;

	/* Without emb, the embeddings go to the track buffers, a batch at a
	 * time. */
	for (i = 0; i < nstarts; i += batch) {
		batch = emb != NULL ? nstarts - i : MTAG_TRACK_CHUNKS;
		if (batch > nstarts - i)
			batch = nstarts - i;
		run_chunks(m, pcm, n, starts + i, batch,
		    probs + (size_t)i * m->ntags,
		    emb != NULL ? emb + (size_t)i * m->embed_dim : spare, NULL);
	}
	return 0;
}

int
mtag_model_track_chunks(const mtag_model *m, size_t n, size_t *starts)
{
	const size_t len = m->arch->input_length;
	size_t hop;
	int i;

	if (n <= len) {
		starts[0] = 0;
		return 1;
	}
	hop = (n - len) / MTAG_TRACK_CHUNKS;
	for (i = 0; i < MTAG_TRACK_CHUNKS; i++)
		starts[i] = i * hop;
	return MTAG_TRACK_CHUNKS;
}

int
mtag_model_run_track(mtag_model *m, const float *pcm, size_t n,
    float *probs, float *emb, float *chunk_probs,
    const volatile sig_atomic_t *cancel, int *nchunks)
{
	float *cemb = m->scratch + m->nctx * m->ctx_len;
	float *cprobs = cemb + MTAG_TRACK_CHUNKS * (size_t)m->embed_dim;
	size_t starts[MTAG_TRACK_CHUNKS];
	int i, j, count;

	*nchunks = count = mtag_model_track_chunks(m, n, starts);
	if (chunk_probs != NULL)
		cprobs = chunk_probs;
	if (run_chunks(m, pcm, n, starts, count, cprobs, cemb, cancel) == 1)
		return 1;
	memset(probs, 0, sizeof(float) * m->ntags);
	if (emb != NULL)
		memset(emb, 0, sizeof(float) * m->embed_dim);
	for (i = 0; i < count; i++) {
		for (j = 0; j < m->ntags; j++)
			probs[j] += cprobs[(size_t)i * m->ntags + j] / count;
		for (j = 0; emb != NULL && j < m->embed_dim; j++)
			emb[j] += cemb[(size_t)i * m->embed_dim + j] / count;
	}
	return 0;
}

int
mtag_model_decode(const mtag_model *m, const char *path, float **pcm,
    size_t *n, char *err, size_t errlen)
{
	size_t starts[MTAG_TRACK_CHUNKS];
	int count;

	*pcm = NULL;
	if (mtag_decode_length(path, m->arch->rate, n, err, errlen) < 0)
		return -1;
	if (*n == 0)
		return mtag_decode_file(path, m->arch->rate, 0, pcm, n, err,
		    errlen);
	count = mtag_model_track_chunks(m, *n, starts);
	return mtag_decode_windows(path, m->arch->rate, *n, starts, count,
	    m->arch->input_length, pcm, err, errlen);
}

/* The tagging models: choosing the architecture of a checkpoint, owning its
 * weight arena and scratch buffer, and running chunks and whole tracks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
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

struct mtag_model {
	const struct mtag_arch *arch;
	void *state;
	int ntags, embed_dim;
	float *arena;		/* every weight */
	float *scratch;		/* the chunk, the architecture's scratch,
				   one chunk's embedding and logits */
	size_t arch_scratch;
};

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
	m->scratch = malloc(sizeof(float) * (a->input_length +
	    m->arch_scratch + m->embed_dim + m->ntags));
	if (m->scratch == NULL) {
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

int
mtag_model_run(mtag_model *m, const float *pcm, size_t n,
    const size_t *starts, int nstarts, float *probs, float *emb)
{
	const size_t len = m->arch->input_length;
	float *chunk = m->scratch, *scratch = chunk + len;
	float *spare = scratch + m->arch_scratch;
	int i;

	for (i = 0; i < nstarts; i++) {
		size_t s = starts[i], have = s < n ? n - s : 0;
		float *p = probs + (size_t)i * m->ntags;

		if (have > len)
			have = len;
		if (have > 0)
			memcpy(chunk, pcm + s, sizeof(float) * have);
		memset(chunk + have, 0, sizeof(float) * (len - have));
		m->arch->forward(m->state, chunk, scratch,
		    emb ? emb + (size_t)i * m->embed_dim : spare, p);
		mtag_sigmoid(p, m->ntags);
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
	const size_t len = m->arch->input_length;
	float *cemb = m->scratch + len + m->arch_scratch;
	float *cprobs = cemb + m->embed_dim;
	size_t starts[MTAG_TRACK_CHUNKS];
	int i, j, count;

	*nchunks = count = mtag_model_track_chunks(m, n, starts);
	memset(probs, 0, sizeof(float) * m->ntags);
	if (emb != NULL)
		memset(emb, 0, sizeof(float) * m->embed_dim);
	for (i = 0; i < count; i++) {
		if (cancel != NULL && *cancel)
			return 1;
		if (chunk_probs != NULL)
			cprobs = chunk_probs + (size_t)i * m->ntags;
		mtag_model_run(m, pcm, n, &starts[i], 1, cprobs, cemb);
		for (j = 0; j < m->ntags; j++)
			probs[j] += cprobs[j] / count;
		for (j = 0; emb != NULL && j < m->embed_dim; j++)
			emb[j] += cemb[j] / count;
	}
	return 0;
}

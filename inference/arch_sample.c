/* The raw-waveform models of the study: SampleCNN (Lee et al. 2017) and
 * SampleCNN with residual squeeze-and-excitation blocks (Kim et al. 2018). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "ops.h"

#define NBLOCKS 11

struct sample {
	int se;			/* SampleCNN+SE */
	mtag_block block[NBLOCKS];
	int feat;		/* channels of the last block */
	const float *dense1_w, *dense1_b;	/* SE: BatchNorm folded in */
	int embed, ntags;
	const float *out_w, *out_b;
	size_t act;		/* floats of each activation buffer */
};

/* The blocks: a strided convolution of 3 taps, nine of 3 taps with max
 * pooling by 3, and a pointwise one, over chunks of 3^10 samples. */
static int
load_blocks(mtag_weights *w, struct sample *s, int input_length)
{
	char name[32];
	int i, C = 1, H = 1, W = input_length;

	for (i = 0; i < NBLOCKS; i++) {
		mtag_block *b = &s->block[i];
		const int k = i == NBLOCKS - 1 ? 1 : 3;

		b->s1 = (mtag_conv_shape){ .C = C, .H = 1, .W = W, .KH = 1,
		    .KW = k, .SH = 1, .SW = i == 0 ? 3 : 1, .PW = k / 2 };
		b->pool_h = 1;
		b->pool_w = i == 0 || i == NBLOCKS - 1 ? 1 : 3;
		snprintf(name, sizeof(name), "layer%d", i + 1);
		if (mtag_weights_block(w, name, b) < 0)
			return -1;
		mtag_block_out(b, &C, &H, &W);
	}
	if (W != 1)
		return mtag_weights_error(w, "chunks of %d samples leave %d "
		    "steps", input_length, W);
	s->feat = C;
	return 0;
}

static void
sample_free(void *state)
{
	free(state);
}

static void *
sample_load(mtag_weights *w, int se, int input_length, int *ntags,
    int *embed_dim, size_t *scratch)
{
	const char *out = se ? "dense2" : "dense";
	char name[32];
	struct sample *s;
	size_t col;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		mtag_weights_error(w, "out of memory");
		return NULL;
	}
	s->se = se;
	if (load_blocks(w, s, input_length) < 0)
		goto fail;
	s->embed = s->feat;
	if (se) {
		s->embed = (int)mtag_weights_dim(w, "dense1.weight", 0);
		if (mtag_weights_dense_bn(w, "dense1", "bn", s->feat,
		    s->embed, &s->dense1_w, &s->dense1_b) < 0)
			goto fail;
	}
	snprintf(name, sizeof(name), "%s.weight", out);
	s->ntags = (int)mtag_weights_dim(w, name, 0);
	if (mtag_weights_dense(w, out, s->embed, s->ntags, &s->out_w,
	    &s->out_b) < 0)
		goto fail;
	mtag_blocks_scratch(s->block, NBLOCKS, &s->act, &col);
	*ntags = s->ntags;
	*embed_dim = s->embed;
	*scratch = 3 * s->act + col;
	return s;
fail:
	sample_free(s);
	return NULL;
}

static void
sample_forward(void *state, const float *chunk, float *scratch, float *emb,
    float *logits)
{
	struct sample *s = state;
	float *a = scratch, *b = a + s->act, *tmp = b + s->act;
	float *x;

	x = mtag_blocks_run(s->block, NBLOCKS, chunk, a, b, tmp,
	    tmp + s->act);
	if (s->se) {
		mtag_linear(x, 1, s->feat, s->dense1_w, s->dense1_b, s->embed,
		    emb);
		mtag_relu(emb, s->embed);
	} else {
		memcpy(emb, x, sizeof(float) * s->feat);
	}
	mtag_linear(emb, 1, s->embed, s->out_w, s->out_b, s->ntags, logits);
}

static void *
load_sample(mtag_weights *w, int input_length, int *ntags, int *embed_dim,
    size_t *scratch)
{
	return sample_load(w, 0, input_length, ntags, embed_dim, scratch);
}

static void *
load_se(mtag_weights *w, int input_length, int *ntags, int *embed_dim,
    size_t *scratch)
{
	return sample_load(w, 1, input_length, ntags, embed_dim, scratch);
}

static int
is_conv1d(const mtag_ckpt *ck, const char *name)
{
	const mtag_tensor *t = mtag_ckpt_find(ck, name);

	return t != NULL && t->ndim == 3;
}

static int
detect_sample(const mtag_ckpt *ck)
{
	return is_conv1d(ck, "layer1.conv.weight") &&
	    is_conv1d(ck, "layer11.conv.weight") &&
	    mtag_ckpt_find(ck, "dense.weight") != NULL;
}

static int
detect_se(const mtag_ckpt *ck)
{
	return is_conv1d(ck, "layer1.conv_1.weight") &&
	    mtag_ckpt_find(ck, "layer1.dense1.weight") != NULL &&
	    mtag_ckpt_find(ck, "dense2.weight") != NULL;
}

/* Chunks of 3^10 samples (3.69 s at 16 kHz). */
const struct mtag_arch mtag_arch_sample = { "sample", 16000, 59049,
    detect_sample, load_sample, sample_forward, sample_free, 0 };
const struct mtag_arch mtag_arch_se = { "se", 16000, 59049, detect_se,
    load_se, sample_forward, sample_free, 0 };

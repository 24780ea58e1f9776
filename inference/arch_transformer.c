/* The models that summarise time with a transformer encoder over a [CLS]
 * token: CNNSA (Won et al. 2019, "Toward interpretable music tagging with
 * self-attention": seven Res_2d blocks, post-norm BERT layers and a pooler)
 * and the music tagging transformer (Won et al. 2021, "Semi-supervised music
 * tagging transformer": three residual blocks, a linear projection, learned
 * position embedding and pre-norm ViT layers). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "melspec.h"
#include "ops.h"

#define MAX_BLOCKS 7
#define MAX_LAYERS 16
#define HEADS 8
/* CNNSA: mel spectrogram, hidden size (its [CLS] is not stored but drawn
 * from NumPy's generator seeded with 0), LayerNorm epsilon. */
#define CNNSA_N_FFT 512
#define CNNSA_NMELS 128
#define CNNSA_DIM 256
#define CNNSA_SEED 0
#define BERT_EPS 1e-12f
#define VIT_EPS 1e-5f

enum kind { CNNSA, MTT };

/* An encoder layer: attention then feed-forward, each added to its input,
 * with LayerNorm norm1 and norm2 before them (pre-norm) or after the sums
 * (post-norm). */
struct layer {
	const float *norm1_g, *norm1_b, *norm2_g, *norm2_b;
	const float *qkv_w, *qkv_b;	/* queries, keys, values stacked */
	const float *out_w, *out_b;
	const float *ff1_w, *ff1_b, *ff2_w, *ff2_b;
};

struct tfm {
	enum kind kind;
	mtag_melspec *spec;
	mtag_block block[MAX_BLOCKS];
	int nblocks;
	int C, H, T;		/* the last block's output */
	const float *fc_w, *fc_b;	/* MTT: C x H features to dim */
	const float *cls;
	const float *pos;	/* MTT: (T + 1) x dim */
	int dim, inner, ff, nlayers, tokens;
	float eps;
	struct layer layer[MAX_LAYERS];
	const float *pool_w, *pool_b;	/* CNNSA: the pooler */
	const float *head_g, *head_b;	/* MTT: the head's LayerNorm */
	int ntags;
	const float *out_w, *out_b;
	size_t act, col;	/* the blocks' scratch */
};

/* Tensor NAME (a printf format) of rows, or rows x cols when cols is not
 * 0. */
static const float *
tensor(mtag_weights *w, int rows, int cols, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static const float *
tensor(mtag_weights *w, int rows, int cols, const char *fmt, ...)
{
	char name[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (cols == 0)
		return mtag_weights_get(w, name, 1, rows);
	return mtag_weights_get(w, name, 2, rows, cols);
}

/* Dimension d of tensor NAME, or -1. */
static int
dim(const mtag_weights *w, const char *name, int d)
{
	int64_t n = mtag_weights_dim(w, name, d);

	return n > 0 && n < 1 << 24 ? (int)n : -1;
}

/* Counts the layers whose tensor FMT (with %d for the layer) exists. */
static int
count_layers(const mtag_weights *w, const char *fmt)
{
	char name[160];
	int n = 0;

	for (;;) {
		snprintf(name, sizeof(name), fmt, n);
		if (mtag_ckpt_find(w->ck, name) == NULL)
			return n;
		n++;
	}
}

static int
load_bert_layer(mtag_weights *w, struct tfm *m, int i)
{
	const char *p = "encoder.layer";
	struct layer *l = &m->layer[i];
	const int D = m->dim, F = m->ff;
	const float *k, *v, *kb, *vb;

	if ((l->qkv_w = tensor(w, D, D, "%s.%d.attention.self.query.weight",
	    p, i)) == NULL ||
	    (k = tensor(w, D, D, "%s.%d.attention.self.key.weight", p,
	    i)) == NULL ||
	    (v = tensor(w, D, D, "%s.%d.attention.self.value.weight", p,
	    i)) == NULL ||
	    (l->qkv_b = tensor(w, D, 0, "%s.%d.attention.self.query.bias", p,
	    i)) == NULL ||
	    (kb = tensor(w, D, 0, "%s.%d.attention.self.key.bias", p,
	    i)) == NULL ||
	    (vb = tensor(w, D, 0, "%s.%d.attention.self.value.bias", p,
	    i)) == NULL ||
	    (l->out_w = tensor(w, D, D, "%s.%d.attention.output.dense.weight",
	    p, i)) == NULL ||
	    (l->out_b = tensor(w, D, 0, "%s.%d.attention.output.dense.bias",
	    p, i)) == NULL ||
	    (l->norm1_g = tensor(w, D, 0,
	    "%s.%d.attention.output.LayerNorm.weight", p, i)) == NULL ||
	    (l->norm1_b = tensor(w, D, 0,
	    "%s.%d.attention.output.LayerNorm.bias", p, i)) == NULL ||
	    (l->ff1_w = tensor(w, F, D, "%s.%d.intermediate.dense.weight", p,
	    i)) == NULL ||
	    (l->ff1_b = tensor(w, F, 0, "%s.%d.intermediate.dense.bias", p,
	    i)) == NULL ||
	    (l->ff2_w = tensor(w, D, F, "%s.%d.output.dense.weight", p,
	    i)) == NULL ||
	    (l->ff2_b = tensor(w, D, 0, "%s.%d.output.dense.bias", p,
	    i)) == NULL ||
	    (l->norm2_g = tensor(w, D, 0, "%s.%d.output.LayerNorm.weight", p,
	    i)) == NULL ||
	    (l->norm2_b = tensor(w, D, 0, "%s.%d.output.LayerNorm.bias", p,
	    i)) == NULL)
		return -1;
	/* Adjacent copies: one matrix of 3D rows and one bias of 3D. */
	if (k != l->qkv_w + (size_t)D * D || v != k + (size_t)D * D ||
	    kb != l->qkv_b + D || vb != kb + D)
		return mtag_weights_error(w, "cannot stack the attention "
		    "weights of %s.%d", p, i);
	return 0;
}

static int
load_vit_layer(mtag_weights *w, struct tfm *m, int i)
{
	const char *p = "transformer.layers";
	struct layer *l = &m->layer[i];
	const int D = m->dim, I = m->inner, F = m->ff;

	l->qkv_b = NULL;
	if ((l->norm1_g = tensor(w, D, 0, "%s.%d.0.fn.norm.weight", p,
	    i)) == NULL ||
	    (l->norm1_b = tensor(w, D, 0, "%s.%d.0.fn.norm.bias", p,
	    i)) == NULL ||
	    (l->qkv_w = tensor(w, 3 * I, D, "%s.%d.0.fn.fn.to_qkv.weight", p,
	    i)) == NULL ||
	    (l->out_w = tensor(w, D, I, "%s.%d.0.fn.fn.to_out.0.weight", p,
	    i)) == NULL ||
	    (l->out_b = tensor(w, D, 0, "%s.%d.0.fn.fn.to_out.0.bias", p,
	    i)) == NULL ||
	    (l->norm2_g = tensor(w, D, 0, "%s.%d.1.fn.norm.weight", p,
	    i)) == NULL ||
	    (l->norm2_b = tensor(w, D, 0, "%s.%d.1.fn.norm.bias", p,
	    i)) == NULL ||
	    (l->ff1_w = tensor(w, F, D, "%s.%d.1.fn.fn.net.0.weight", p,
	    i)) == NULL ||
	    (l->ff1_b = tensor(w, F, 0, "%s.%d.1.fn.fn.net.0.bias", p,
	    i)) == NULL ||
	    (l->ff2_w = tensor(w, D, F, "%s.%d.1.fn.fn.net.3.weight", p,
	    i)) == NULL ||
	    (l->ff2_b = tensor(w, D, 0, "%s.%d.1.fn.fn.net.3.bias", p,
	    i)) == NULL)
		return -1;
	return 0;
}

/* The convolutional front end: blocks PREFIX1.. of 3 x 3 convolutions with
 * the given strides and pooling over the spectrogram (nmels bands). */
static int
load_blocks(mtag_weights *w, struct tfm *m, const char *prefix, int n,
    const int (*stride)[2], const int (*pool)[2], int nmels)
{
	char name[64];
	int i, C = 1, H = nmels, W = mtag_melspec_frames(m->spec);

	for (i = 0; i < n; i++) {
		mtag_block *b = &m->block[i];

		b->s1 = (mtag_conv_shape){ .C = C, .H = H, .W = W, .KH = 3,
		    .KW = 3, .SH = stride[i][0], .SW = stride[i][1], .PH = 1,
		    .PW = 1 };
		b->pool_h = pool[i][0];
		b->pool_w = pool[i][1];
		snprintf(name, sizeof(name), "%s%d", prefix, i + 1);
		if (mtag_weights_block(w, name, b) < 0)
			return -1;
		mtag_block_out(b, &C, &H, &W);
	}
	m->nblocks = n;
	m->C = C;
	m->H = H;
	m->T = W;
	m->tokens = W + 1;
	return 0;
}

static int
load_cnnsa(mtag_weights *w, struct tfm *m, int input_length)
{
	static const int stride[][2] = { {2, 2}, {2, 2}, {2, 2}, {2, 1},
	    {2, 1}, {2, 1}, {2, 1} };
	static const int pool[][2] = { {1, 1}, {1, 1}, {1, 1}, {1, 1},
	    {1, 1}, {1, 1}, {1, 1} };
	const int D = CNNSA_DIM;
	float *cls;
	int i;

	if ((m->spec = mtag_melspec_load(w, "spec", "spec_bn", CNNSA_N_FFT,
	    CNNSA_NMELS, input_length)) == NULL ||
	    load_blocks(w, m, "layer", 7, stride, pool, CNNSA_NMELS) < 0)
		return -1;
	if (m->H != 1 || m->C != D)
		return mtag_weights_error(w, "layer7 gives %d x %d features, "
		    "not %d x 1", m->C, m->H, D);
	m->dim = m->inner = D;
	m->ff = dim(w, "encoder.layer.0.intermediate.dense.weight", 0);
	m->nlayers = count_layers(w, "encoder.layer.%d.attention.self."
	    "query.weight");
	m->eps = BERT_EPS;
	if (m->nlayers > MAX_LAYERS)
		return mtag_weights_error(w, "more than %d encoder layers",
		    MAX_LAYERS);
	for (i = 0; i < m->nlayers; i++)
		if (load_bert_layer(w, m, i) < 0)
			return -1;
	cls = mtag_weights_alloc(w, D);
	mtag_random_uniform(CNNSA_SEED, cls, D);
	m->cls = cls;
	m->ntags = dim(w, "dense.weight", 0);
	if (mtag_weights_dense(w, "pooler.dense", D, D, &m->pool_w,
	    &m->pool_b) < 0)
		return -1;
	return mtag_weights_dense(w, "dense", D, m->ntags, &m->out_w,
	    &m->out_b);
}

static int
load_mtt(mtag_weights *w, struct tfm *m, int input_length)
{
	static const int stride[][2] = { {1, 1}, {1, 1}, {1, 1} };
	static const int pool[][2] = { {2, 2}, {2, 2}, {2, 1} };
	const int n_fft = dim(w, "spec.spectrogram.window", 0);
	const int nmels = dim(w, "spec.mel_scale.fb", 1);
	int i, D, maxlen;

	if ((m->spec = mtag_melspec_load(w, "spec", "frontend.input_bn",
	    n_fft, nmels, input_length)) == NULL ||
	    load_blocks(w, m, "frontend.layer", 3, stride, pool, nmels) < 0)
		return -1;
	m->dim = D = dim(w, "cls_token", 0);
	m->inner = dim(w, "transformer.layers.0.0.fn.fn.to_qkv.weight", 0) /
	    3;
	m->ff = dim(w, "transformer.layers.0.1.fn.fn.net.0.weight", 0);
	m->nlayers = count_layers(w, "transformer.layers.%d.0.fn.norm.weight");
	m->eps = VIT_EPS;
	maxlen = dim(w, "pos_embedding", 1);
	if (m->inner < HEADS || m->inner % HEADS != 0)
		return mtag_weights_error(w, "attention width %d is not a "
		    "multiple of %d heads", m->inner, HEADS);
	if (m->nlayers > MAX_LAYERS)
		return mtag_weights_error(w, "more than %d transformer layers",
		    MAX_LAYERS);
	if (m->tokens > maxlen)
		return mtag_weights_error(w, "%d tokens, %d positions",
		    m->tokens, maxlen);
	if ((m->cls = tensor(w, D, 0, "cls_token")) == NULL ||
	    (m->pos = mtag_weights_get(w, "pos_embedding", 3, 1, maxlen,
	    D)) == NULL ||
	    mtag_weights_dense(w, "frontend.fc", m->C * m->H, D, &m->fc_w,
	    &m->fc_b) < 0)
		return -1;
	for (i = 0; i < m->nlayers; i++)
		if (load_vit_layer(w, m, i) < 0)
			return -1;
	m->ntags = dim(w, "mlp_head.1.weight", 0);
	if ((m->head_g = tensor(w, D, 0, "mlp_head.0.weight")) == NULL ||
	    (m->head_b = tensor(w, D, 0, "mlp_head.0.bias")) == NULL)
		return -1;
	return mtag_weights_dense(w, "mlp_head.1", D, m->ntags, &m->out_w,
	    &m->out_b);
}

/* Floats of the encoder's buffers: the sequence, its normalised copy,
 * queries, keys and values, the attention's output, the feed-forward's
 * hidden layer and one head's scores. */
static size_t
encoder_scratch(const struct tfm *m)
{
	const size_t S = m->tokens;

	return S * (2 * m->dim + 4 * m->inner + m->ff + S);
}

static void
tfm_free(void *state)
{
	struct tfm *m = state;

	if (m == NULL)
		return;
	mtag_melspec_free(m->spec);
	free(m);
}

static void *
tfm_load(mtag_weights *w, enum kind kind, int input_length, int *ntags,
    int *embed_dim, size_t *scratch)
{
	struct tfm *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		mtag_weights_error(w, "out of memory");
		return NULL;
	}
	m->kind = kind;
	if ((kind == CNNSA ? load_cnnsa(w, m, input_length) :
	    load_mtt(w, m, input_length)) < 0) {
		tfm_free(m);
		return NULL;
	}
	mtag_blocks_scratch(m->block, m->nblocks, &m->act, &m->col);
	if (mtag_melspec_scratch(m->spec) > m->act)
		m->act = mtag_melspec_scratch(m->spec);
	*ntags = m->ntags;
	*embed_dim = m->dim;
	*scratch = 3 * m->act + m->col + encoder_scratch(m);
	return m;
}

/* One encoder layer over x (tokens x dim), with buf of encoder_scratch
 * floats but the sequence's. */
static void
encoder_layer(const struct tfm *m, const struct layer *l, float *x,
    float *buf)
{
	const int S = m->tokens, D = m->dim, I = m->inner, F = m->ff;
	const int pre = m->kind == MTT;
	float *h = buf, *qkv = h + (size_t)S * D;
	float *ctx = qkv + (size_t)S * 3 * I, *hid = ctx + (size_t)S * I;
	float *scores = hid + (size_t)S * F;

	if (pre)
		mtag_layernorm(x, S, D, l->norm1_g, l->norm1_b, m->eps, h);
	mtag_linear(pre ? h : x, S, D, l->qkv_w, l->qkv_b, 3 * I, qkv);
	mtag_attention(qkv, S, I, HEADS, ctx, scores);
	mtag_linear_acc(ctx, S, I, l->out_w, l->out_b, D, x);
	if (pre)
		mtag_layernorm(x, S, D, l->norm2_g, l->norm2_b, m->eps, h);
	else
		mtag_layernorm(x, S, D, l->norm1_g, l->norm1_b, m->eps, x);
	mtag_linear(pre ? h : x, S, D, l->ff1_w, l->ff1_b, F, hid);
	mtag_gelu(hid, (size_t)S * F);
	mtag_linear_acc(hid, S, F, l->ff2_w, l->ff2_b, D, x);
	if (!pre)
		mtag_layernorm(x, S, D, l->norm2_g, l->norm2_b, m->eps, x);
}

static void
tfm_forward(void *state, const float *chunk, float *scratch, float *emb,
    float *logits)
{
	struct tfm *m = state;
	const int D = m->dim, T = m->T;
	float *a = scratch, *b = a + m->act, *tmp = b + m->act;
	float *col = tmp + m->act, *seq = col + m->col;
	float *enc = seq + (size_t)m->tokens * D, *x;
	size_t i;
	int l;

	mtag_melspec_run(m->spec, chunk, a, b);
	x = mtag_blocks_run(m->block, m->nblocks, a, a, b, tmp, col);
	memcpy(seq, m->cls, sizeof(float) * D);
	if (m->kind == CNNSA) {
		mtag_transpose(x, m->C, T, seq + D);
	} else {
		/* Each step's C x H features, projected. */
		mtag_transpose(x, m->C * m->H, T, tmp);
		mtag_linear(tmp, T, m->C * m->H, m->fc_w, m->fc_b, D, seq + D);
		for (i = 0; i < (size_t)m->tokens * D; i++)
			seq[i] += m->pos[i];
	}
	for (l = 0; l < m->nlayers; l++)
		encoder_layer(m, &m->layer[l], seq, enc);
	/* The embedding: the pooler's output, or the [CLS] output after the
	 * head's LayerNorm (the input of the output Linear, as in the golden
	 * outputs). */
	if (m->kind == CNNSA) {
		mtag_linear(seq, 1, D, m->pool_w, m->pool_b, D, emb);
		mtag_tanh(emb, D);
	} else {
		mtag_layernorm(seq, 1, D, m->head_g, m->head_b, m->eps, emb);
	}
	mtag_linear(emb, 1, D, m->out_w, m->out_b, m->ntags, logits);
}

static void *
load_attention(mtag_weights *w, int input_length, int *ntags,
    int *embed_dim, size_t *scratch)
{
	return tfm_load(w, CNNSA, input_length, ntags, embed_dim, scratch);
}

static void *
load_transformer(mtag_weights *w, int input_length, int *ntags,
    int *embed_dim, size_t *scratch)
{
	return tfm_load(w, MTT, input_length, ntags, embed_dim, scratch);
}

static int
detect_attention(const mtag_ckpt *ck)
{
	return mtag_ckpt_find(ck, "spec.mel_scale.fb") != NULL &&
	    mtag_ckpt_find(ck, "layer7.conv_1.weight") != NULL &&
	    mtag_ckpt_find(ck, "encoder.layer.0.attention.self.query."
	    "weight") != NULL &&
	    mtag_ckpt_find(ck, "pooler.dense.weight") != NULL;
}

static int
detect_transformer(const mtag_ckpt *ck)
{
	return mtag_ckpt_find(ck, "cls_token") != NULL &&
	    mtag_ckpt_find(ck, "pos_embedding") != NULL &&
	    mtag_ckpt_find(ck, "transformer.layers.0.0.fn.fn.to_qkv."
	    "weight") != NULL;
}

/* Chunks of 15 s at 16 kHz and 10 s at 22.05 kHz. */
const struct mtag_arch mtag_arch_attention = { "attention", 16000, 240000,
    detect_attention, load_attention, tfm_forward, tfm_free, CNNSA_DIM };
const struct mtag_arch mtag_arch_transformer = { "transformer", 22050,
    220500, detect_transformer, load_transformer, tfm_forward, tfm_free,
    0 };

/* The tagging models of the study: FCN, MusiCNN and CRNN. Weights are copied
 * from the checkpoint into one arena with BatchNorm folded into the layer
 * before it; activations live in one scratch buffer sized at load. */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "frontend.h"
#include "model.h"
#include "ops.h"

#define BN_EPS 1e-5f
#define MAX_CONVS 8
#define MUSICNN_FRONT 5

enum arch { ARCH_FCN, ARCH_MUSICNN, ARCH_CRNN };

static const struct arch_info {
	const char *name;
	int input_length;	/* samples at 16 kHz */
} arch_info[] = {
	[ARCH_FCN] = { "fcn", 464000 },
	[ARCH_MUSICNN] = { "musicnn", 48000 },
	[ARCH_CRNN] = { "crnn", 464000 },
};

/* A convolution with BatchNorm folded in and ReLU, then max pooling. */
struct conv {
	mtag_conv_shape s;
	const float *w, *b;
	int pool_h, pool_w;	/* 1 x 1: none */
};

struct dense {
	int in, out;
	const float *w, *b;
};

struct gru {
	int in, hidden;
	const float *w_ih, *w_hh, *b_ih, *b_hh;
};

struct mtag_model {
	enum arch arch;
	int rate, input_length, ntags, embed_dim;
	int nmels, frames;

	float *arena;		/* every weight */
	size_t arena_cap, arena_used;
	float *scratch;		/* every activation of one chunk */
	size_t scratch_cap;

	mtag_frontend *fe;
	float spec_scale, spec_shift;	/* the folded input BatchNorm */

	struct conv conv[MAX_CONVS];	/* FCN, CRNN: the stack; MusiCNN:
					   front end then back end */
	int nconv;
	struct gru gru[2];
	struct dense dense1, dense2;	/* dense2: the output layer */
	int musicnn_cat;		/* MusiCNN: channels concatenated */

	/* Offsets of the activation buffers in scratch. */
	size_t off_chunk, off_a, off_b, off_col, off_cat, off_vec, off_out;
};

/* Loading state: the checkpoint and where errors go. */
struct loader {
	const mtag_ckpt *ck;
	mtag_model *m;
	char *err;
	size_t errlen;
};

static int
load_error(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtag_vseterr(ld->err, ld->errlen, mtag_ckpt_path(ld->ck), fmt, ap);
	va_end(ap);
	return -1;
}

static float *
arena_alloc(mtag_model *m, size_t n)
{
	float *p;

	assert(m->arena_used + n <= m->arena_cap);
	p = m->arena + m->arena_used;
	m->arena_used += n;
	return p;
}

static void
format_shape(char *buf, size_t len, int ndim, const int64_t *shape)
{
	size_t used = 0;
	int i;

	used += snprintf(buf, len, "(");
	for (i = 0; i < ndim && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%lld",
		    i ? ", " : "", (long long)shape[i]);
	if (used < len)
		snprintf(buf + used, len - used, ")");
}

/* Copies tensor prefix+name, which must have the given shape (ndim values
 * of the variable arguments), into the arena. */
static float *
load_tensor(struct loader *ld, const char *prefix, const char *name,
    int ndim, ...)
{
	char full[160], want[96], got[96];
	const mtag_tensor *t;
	int64_t shape[MTAG_TENSOR_MAXDIM];
	va_list ap;
	float *p;
	int i, ok;

	snprintf(full, sizeof(full), "%s%s", prefix, name);
	va_start(ap, ndim);
	for (i = 0; i < ndim; i++)
		shape[i] = va_arg(ap, int);
	va_end(ap);
	if ((t = mtag_ckpt_find(ld->ck, full)) == NULL) {
		load_error(ld, "tensor %s missing", full);
		return NULL;
	}
	ok = t->data != NULL && t->ndim == ndim;
	for (i = 0; ok && i < ndim; i++)
		ok = t->shape[i] == shape[i];
	if (!ok) {
		format_shape(want, sizeof(want), ndim, shape);
		format_shape(got, sizeof(got), t->ndim, t->shape);
		load_error(ld, "tensor %s has shape %s%s, expected %s", full,
		    got, t->data ? "" : " (integer)", want);
		return NULL;
	}
	p = arena_alloc(ld->m, t->numel);
	memcpy(p, t->data, sizeof(float) * t->numel);
	return p;
}

/* The dimension d of tensor name, or -1 when absent or smaller. */
static int64_t
tensor_dim(const mtag_ckpt *ck, const char *name, int d)
{
	const mtag_tensor *t = mtag_ckpt_find(ck, name);

	return t != NULL && t->ndim > d ? t->shape[d] : -1;
}

/* BatchNorm prefix+"bn" folded into n filters of k weights. */
static int
fold_bn(struct loader *ld, const char *prefix, float *w, float *b, int n,
    int k)
{
	const float *g, *beta, *mean, *var;

	if ((g = load_tensor(ld, prefix, "weight", 1, n)) == NULL ||
	    (beta = load_tensor(ld, prefix, "bias", 1, n)) == NULL ||
	    (mean = load_tensor(ld, prefix, "running_mean", 1, n)) == NULL ||
	    (var = load_tensor(ld, prefix, "running_var", 1, n)) == NULL)
		return -1;
	mtag_fold_bn(w, b, n, k, g, beta, mean, var, BN_EPS);
	ld->m->arena_used -= 4 * (size_t)n;	/* the BN tensors are spent */
	return 0;
}

/* Loads PREFIX.conv and PREFIX.bn into c, whose shape is set. 1-D
 * convolutions (KH == 1) are stored as 3-D tensors. */
static int
load_conv_bn(struct loader *ld, const char *prefix, struct conv *c)
{
	const mtag_conv_shape *s = &c->s;
	char p[64], pb[64];
	float *w, *b;

	snprintf(p, sizeof(p), "%s.conv.", prefix);
	snprintf(pb, sizeof(pb), "%s.bn.", prefix);
	w = s->KH == 1 && s->PH == 0 && s->H == 1 ?
	    load_tensor(ld, p, "weight", 3, s->O, s->C, s->KW) :
	    load_tensor(ld, p, "weight", 4, s->O, s->C, s->KH, s->KW);
	if (w == NULL || (b = load_tensor(ld, p, "bias", 1, s->O)) == NULL)
		return -1;
	if (fold_bn(ld, pb, w, b, s->O, s->C * s->KH * s->KW) < 0)
		return -1;
	c->w = w;
	c->b = b;
	return 0;
}

static int
load_dense(struct loader *ld, const char *prefix, int in, int out,
    struct dense *d)
{
	d->in = in;
	d->out = out;
	if ((d->w = load_tensor(ld, prefix, "weight", 2, out, in)) == NULL ||
	    (d->b = load_tensor(ld, prefix, "bias", 1, out)) == NULL)
		return -1;
	return 0;
}

/* Output size of a dense layer whose input size is known: its rows. */
static int
dense_rows(struct loader *ld, const char *name)
{
	int64_t n = tensor_dim(ld->ck, name, 0);

	if (n < 1 || n > 100000) {
		load_error(ld, "tensor %s missing or malformed", name);
		return -1;
	}
	return (int)n;
}

/* The spectrogram front end: window, mel matrix and the input BatchNorm. */
static int
load_frontend(struct loader *ld, int n_fft, int nmels)
{
	mtag_model *m = ld->m;
	const float *window, *fb, *g, *beta, *mean, *var;

	if ((window = load_tensor(ld, "spec.spectrogram.", "window", 1,
	    n_fft)) == NULL ||
	    (fb = load_tensor(ld, "spec.mel_scale.", "fb", 2, n_fft / 2 + 1,
	    nmels)) == NULL ||
	    (g = load_tensor(ld, "spec_bn.", "weight", 1, 1)) == NULL ||
	    (beta = load_tensor(ld, "spec_bn.", "bias", 1, 1)) == NULL ||
	    (mean = load_tensor(ld, "spec_bn.", "running_mean", 1, 1)) ==
	    NULL ||
	    (var = load_tensor(ld, "spec_bn.", "running_var", 1, 1)) == NULL)
		return -1;
	m->spec_scale = g[0] / sqrtf(var[0] + BN_EPS);
	m->spec_shift = beta[0] - mean[0] * m->spec_scale;
	m->nmels = nmels;
	m->fe = mtag_frontend_new(n_fft, n_fft / 2, m->input_length, window,
	    fb, nmels);
	if (m->fe == NULL)
		return load_error(ld, "out of memory");
	m->frames = mtag_frontend_frames(m->fe);
	return 0;
}

static void
set_conv(struct conv *c, int C, int H, int W, int O, int KH, int KW, int PH,
    int PW, int pool_h, int pool_w)
{
	c->s = (mtag_conv_shape){ .C = C, .H = H, .W = W, .O = O, .KH = KH,
	    .KW = KW, .SH = 1, .SW = 1, .PH = PH, .PW = PW };
	c->pool_h = pool_h;
	c->pool_w = pool_w;
}

/* A stack of Conv_2d blocks (3x3, padding 1, BN, ReLU, max pool) named
 * layer1.. over the nmels x frames spectrogram. Returns the output size. */
static int
load_conv_stack(struct loader *ld, int n, const int *chans,
    const int (*pools)[2], int *C, int *H, int *W)
{
	mtag_model *m = ld->m;
	char name[32];
	int i;

	*C = 1;
	*H = m->nmels;
	*W = m->frames;
	for (i = 0; i < n; i++) {
		struct conv *c = &m->conv[m->nconv++];

		set_conv(c, *C, *H, *W, chans[i], 3, 3, 1, 1, pools[i][0],
		    pools[i][1]);
		snprintf(name, sizeof(name), "layer%d", i + 1);
		if (load_conv_bn(ld, name, c) < 0)
			return -1;
		*C = chans[i];
		*H /= pools[i][0];
		*W /= pools[i][1];
		if (*H < 1 || *W < 1)
			return load_error(ld, "input too short for %s", name);
	}
	return 0;
}

static int
load_fcn(struct loader *ld)
{
	static const int chans[] = { 64, 128, 128, 128, 64 };
	static const int pools[][2] = { {2, 4}, {2, 4}, {2, 4}, {3, 5},
	    {4, 4} };
	mtag_model *m = ld->m;
	int C, H, W, ntags;

	if (load_frontend(ld, 512, 96) < 0 ||
	    load_conv_stack(ld, 5, chans, pools, &C, &H, &W) < 0)
		return -1;
	if ((ntags = dense_rows(ld, "dense.weight")) < 0 ||
	    load_dense(ld, "dense.", C * H * W, ntags, &m->dense2) < 0)
		return -1;
	m->embed_dim = C * H * W;
	return 0;
}

static int
load_crnn(struct loader *ld)
{
	static const int chans[] = { 64, 128, 128, 128 };
	static const int pools[][2] = { {2, 2}, {3, 3}, {4, 4}, {4, 4} };
	mtag_model *m = ld->m;
	int C, H, W, i, ntags, hid;
	char p[32];

	if (load_frontend(ld, 512, 96) < 0 ||
	    load_conv_stack(ld, 4, chans, pools, &C, &H, &W) < 0)
		return -1;
	if (H != 1)
		return load_error(ld, "layer4 leaves %d frequency rows", H);
	if ((hid = dense_rows(ld, "layer5.weight_hh_l0") / 3) < 1)
		return -1;
	for (i = 0; i < 2; i++) {
		struct gru *g = &m->gru[i];
		int in = i == 0 ? C : hid;

		g->in = in;
		g->hidden = hid;
		snprintf(p, sizeof(p), "layer5.");
		if ((g->w_ih = load_tensor(ld, p, i ? "weight_ih_l1" :
		    "weight_ih_l0", 2, 3 * hid, in)) == NULL ||
		    (g->w_hh = load_tensor(ld, p, i ? "weight_hh_l1" :
		    "weight_hh_l0", 2, 3 * hid, hid)) == NULL ||
		    (g->b_ih = load_tensor(ld, p, i ? "bias_ih_l1" :
		    "bias_ih_l0", 1, 3 * hid)) == NULL ||
		    (g->b_hh = load_tensor(ld, p, i ? "bias_hh_l1" :
		    "bias_hh_l0", 1, 3 * hid)) == NULL)
			return -1;
	}
	if ((ntags = dense_rows(ld, "dense.weight")) < 0 ||
	    load_dense(ld, "dense.", hid, ntags, &m->dense2) < 0)
		return -1;
	m->embed_dim = hid;
	return 0;
}

static int
load_musicnn(struct loader *ld)
{
	/* Vertical filters over 70% and 40% of the bands, horizontal ones
	 * of 129, 65 and 33 frames over the band average. */
	static const int vert[] = { 67, 38 }, horiz[] = { 129, 65, 33 };
	mtag_model *m = ld->m;
	int i, T, front = 0, back, dense, ntags;
	char p[32];

	if (load_frontend(ld, 512, 96) < 0)
		return -1;
	T = m->frames;
	for (i = 0; i < MUSICNN_FRONT; i++) {
		struct conv *c = &m->conv[m->nconv++];

		if (i < 2)
			set_conv(c, 1, m->nmels, T, 204, vert[i], 7, 0, 3, 1, 1);
		else
			set_conv(c, 1, 1, T, 51, 1, horiz[i - 2], 0,
			    horiz[i - 2] / 2, 1, 1);
		snprintf(p, sizeof(p), "layers.%d", i);
		if (load_conv_bn(ld, p, c) < 0)
			return -1;
		front += c->s.O;
	}
	if ((back = dense_rows(ld, "layer1.conv.weight")) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		struct conv *c = &m->conv[m->nconv++];

		set_conv(c, i ? back : front, 1, T, back, 1, 7, 0, 3, 1, 1);
		snprintf(p, sizeof(p), "layer%d", i + 1);
		if (load_conv_bn(ld, p, c) < 0)
			return -1;
	}
	m->musicnn_cat = front + 3 * back;
	if ((dense = dense_rows(ld, "dense1.weight")) < 0 ||
	    load_dense(ld, "dense1.", 2 * m->musicnn_cat, dense,
	    &m->dense1) < 0 ||
	    fold_bn(ld, "bn.", (float *)m->dense1.w, (float *)m->dense1.b,
	    dense, 2 * m->musicnn_cat) < 0)
		return -1;
	if ((ntags = dense_rows(ld, "dense2.weight")) < 0 ||
	    load_dense(ld, "dense2.", dense, ntags, &m->dense2) < 0)
		return -1;
	m->embed_dim = dense;
	return 0;
}

/* Sizes the scratch buffer: the chunk, two activation buffers, im2col, and
 * for MusiCNN the concatenated features and pooled vector. */
static void
plan_scratch(mtag_model *m)
{
	size_t act = (size_t)m->nmels * m->frames, col = 0, cat = 0, vec;
	size_t off = 0;
	int i;

	for (i = 0; i < m->nconv; i++) {
		const mtag_conv_shape *s = &m->conv[i].s;
		size_t out = (size_t)s->O * mtag_conv_out_h(s) *
		    mtag_conv_out_w(s);

		if (out > act)
			act = out;
		if (mtag_conv_scratch(s) > col)
			col = mtag_conv_scratch(s);
	}
	vec = 6 * (size_t)m->gru[0].hidden + 2 * (size_t)m->musicnn_cat;
	if (m->arch == ARCH_MUSICNN)
		cat = (size_t)m->musicnn_cat * m->frames;
	if (m->arch == ARCH_CRNN)	/* the two GRU layers' states */
		col += 2 * (size_t)m->frames * m->gru[0].hidden;
	m->off_chunk = off;
	off += m->input_length;
	m->off_a = off;
	off += act;
	m->off_b = off;
	off += act;
	m->off_col = off;
	off += col;
	m->off_cat = off;
	off += cat;
	m->off_vec = off;
	off += vec;
	m->off_out = off;	/* one chunk's embedding and probabilities */
	off += m->embed_dim + m->ntags;
	m->scratch_cap = off;
}

const char *
mtag_model_detect(const mtag_ckpt *ck)
{
	if (mtag_ckpt_find(ck, "spec.mel_scale.fb") == NULL)
		return NULL;
	if (mtag_ckpt_find(ck, "layer5.weight_ih_l0") != NULL)
		return arch_info[ARCH_CRNN].name;
	if (tensor_dim(ck, "layers.0.conv.weight", 3) > 0 &&
	    mtag_ckpt_find(ck, "dense2.weight") != NULL)
		return arch_info[ARCH_MUSICNN].name;
	if (tensor_dim(ck, "layer5.conv.weight", 3) > 0 &&
	    mtag_ckpt_find(ck, "layer6.conv.weight") == NULL &&
	    mtag_ckpt_find(ck, "dense.weight") != NULL)
		return arch_info[ARCH_FCN].name;
	return NULL;
}

mtag_model *
mtag_model_load(const mtag_ckpt *ck, const char *arch, char *err,
    size_t errlen)
{
	struct loader ld = { ck, NULL, err, errlen };
	mtag_model *m;
	size_t total = 0;
	int i, rc;

	if (arch == NULL && (arch = mtag_model_detect(ck)) == NULL) {
		load_error(&ld, "not a checkpoint of a known architecture "
		    "(fcn, musicnn, crnn)");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		load_error(&ld, "out of memory");
		return NULL;
	}
	ld.m = m;
	for (i = 0; i < (int)(sizeof(arch_info) / sizeof(arch_info[0])); i++)
		if (strcmp(arch, arch_info[i].name) == 0)
			break;
	if (i == (int)(sizeof(arch_info) / sizeof(arch_info[0]))) {
		load_error(&ld, "unknown architecture %s", arch);
		goto fail;
	}
	m->arch = i;
	m->rate = 16000;
	m->input_length = arch_info[i].input_length;
	for (i = 0; i < mtag_ckpt_count(ck); i++)
		total += mtag_ckpt_tensor(ck, i)->numel;
	m->arena_cap = total;
	if ((m->arena = malloc(sizeof(float) * (total ? total : 1))) == NULL) {
		load_error(&ld, "out of memory");
		goto fail;
	}
	switch (m->arch) {
	case ARCH_FCN:
		rc = load_fcn(&ld);
		break;
	case ARCH_MUSICNN:
		rc = load_musicnn(&ld);
		break;
	default:
		rc = load_crnn(&ld);
		break;
	}
	if (rc < 0)
		goto fail;
	m->ntags = m->dense2.out;
	plan_scratch(m);
	if ((m->scratch = malloc(sizeof(float) * m->scratch_cap)) == NULL) {
		load_error(&ld, "out of memory");
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
	mtag_frontend_free(m->fe);
	free(m->arena);
	free(m->scratch);
	free(m);
}

const char *
mtag_model_arch(const mtag_model *m)
{
	return arch_info[m->arch].name;
}

int
mtag_model_rate(const mtag_model *m)
{
	return m->rate;
}

int
mtag_model_input_length(const mtag_model *m)
{
	return m->input_length;
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

/* Runs conv c on x into y (ReLU fused), then its max pooling back into x
 * when it has one. Returns the buffer holding the result. */
static float *
conv_block(mtag_model *m, const struct conv *c, float *x, float *y)
{
	const mtag_conv_shape *s = &c->s;

	mtag_conv2d(s, x, c->w, c->b, 1, y, m->scratch + m->off_col);
	if (c->pool_h == 1 && c->pool_w == 1)
		return y;
	mtag_maxpool2d(y, s->O, mtag_conv_out_h(s), mtag_conv_out_w(s),
	    c->pool_h, c->pool_w, x);
	return x;
}

/* FCN and CRNN: the conv stack over the spectrogram in buffer a, each
 * block convolving into b and pooling back into a. */
static float *
forward_stack(mtag_model *m, float *a)
{
	int i;

	for (i = 0; i < m->nconv; i++)
		conv_block(m, &m->conv[i], a, m->scratch + m->off_b);
	return a;
}

static void
forward_fcn(mtag_model *m, float *spec, float *emb)
{
	float *x = forward_stack(m, spec);

	memcpy(emb, x, sizeof(float) * m->embed_dim);
}

static void
forward_crnn(mtag_model *m, float *spec, float *emb)
{
	const struct conv *last = &m->conv[m->nconv - 1];
	const int C = last->s.O, T = mtag_conv_out_w(&last->s) / last->pool_w;
	const int H = m->gru[0].hidden;
	float *x = forward_stack(m, spec), *seq = m->scratch + m->off_b;
	float *h0 = m->scratch + m->off_col, *h1 = h0 + (size_t)T * H;
	float *gates = m->scratch + m->off_vec;
	int c, t;

	for (c = 0; c < C; c++)		/* C x T to T x C */
		for (t = 0; t < T; t++)
			seq[(size_t)t * C + c] = x[(size_t)c * T + t];
	mtag_gru(seq, T, C, H, m->gru[0].w_ih, m->gru[0].w_hh,
	    m->gru[0].b_ih, m->gru[0].b_hh, h0, gates);
	mtag_gru(h0, T, H, H, m->gru[1].w_ih, m->gru[1].w_hh,
	    m->gru[1].b_ih, m->gru[1].b_hh, h1, gates);
	memcpy(emb, h1 + (size_t)(T - 1) * H, sizeof(float) * H);
}

static void
forward_musicnn(mtag_model *m, float *spec, float *emb)
{
	const int T = m->frames, F = m->nmels, cat_c = m->musicnn_cat;
	float *y = m->scratch + m->off_b, *avg = m->scratch + m->off_a +
	    (size_t)F * T;
	float *cat = m->scratch + m->off_cat, *feat = m->scratch + m->off_vec;
	float *out = cat;
	int i, c, h, t, at;

	/* Band average for the horizontal filters (after the spectrogram,
	 * inside buffer a, which is large enough for both). */
	for (t = 0; t < T; t++) {
		double sum = 0.0;

		for (h = 0; h < F; h++)
			sum += spec[(size_t)h * T + t];
		avg[t] = (float)(sum / F);
	}
	for (i = 0; i < MUSICNN_FRONT; i++) {
		const struct conv *cv = &m->conv[i];
		const int O = cv->s.O, OH = mtag_conv_out_h(&cv->s);

		if (OH == 1) {
			conv_block(m, cv, avg, out);
		} else {
			conv_block(m, cv, spec, y);
			for (c = 0; c < O; c++)
				for (t = 0; t < T; t++) {
					float mx = -FLT_MAX;

					for (h = 0; h < OH; h++)
						mx = fmaxf(mx, y[((size_t)c *
						    OH + h) * T + t]);
					out[(size_t)c * T + t] = mx;
				}
		}
		out += (size_t)O * T;
	}
	/* Back end: res1 = layer1(front), res2 = layer2(res1) + res1, ... */
	for (i = MUSICNN_FRONT; i < m->nconv; i++) {
		const struct conv *cv = &m->conv[i];
		const size_t n = (size_t)cv->s.O * T;
		float *in = out - (size_t)cv->s.C * T;

		if (i == MUSICNN_FRONT)
			in = cat;
		conv_block(m, cv, in, out);
		if (i > MUSICNN_FRONT)
			for (at = 0; at < (int)n; at++)
				out[at] += in[at];
		out += n;
	}
	for (c = 0; c < cat_c; c++) {
		const float *row = cat + (size_t)c * T;
		float mx = row[0];
		double sum = 0.0;

		for (t = 0; t < T; t++) {
			mx = fmaxf(mx, row[t]);
			sum += row[t];
		}
		feat[c] = mx;
		feat[cat_c + c] = (float)(sum / T);
	}
	mtag_linear(feat, 1, 2 * cat_c, m->dense1.w, m->dense1.b,
	    m->dense1.out, emb);
	mtag_relu(emb, m->dense1.out);
}

/* One chunk: spectrogram, then the architecture's body, then the output
 * layer. */
static void
forward_chunk(mtag_model *m, const float *chunk, float *probs, float *emb)
{
	float *spec = m->scratch + m->off_a;
	size_t i, n = (size_t)m->nmels * m->frames;

	mtag_frontend_db(m->fe, chunk, spec);
	for (i = 0; i < n; i++)
		spec[i] = spec[i] * m->spec_scale + m->spec_shift;
	switch (m->arch) {
	case ARCH_FCN:
		forward_fcn(m, spec, emb);
		break;
	case ARCH_MUSICNN:
		forward_musicnn(m, spec, emb);
		break;
	case ARCH_CRNN:
		forward_crnn(m, spec, emb);
		break;
	}
	mtag_linear(emb, 1, m->dense2.in, m->dense2.w, m->dense2.b,
	    m->dense2.out, probs);
	mtag_sigmoid(probs, m->ntags);
}

int
mtag_model_run(mtag_model *m, const float *pcm, size_t n,
    const size_t *starts, int nstarts, float *probs, float *emb)
{
	const size_t len = m->input_length;
	float *chunk = m->scratch + m->off_chunk;
	int i;

	for (i = 0; i < nstarts; i++) {
		size_t s = starts[i], have = s < n ? n - s : 0;

		if (have > len)
			have = len;
		if (have > 0)
			memcpy(chunk, pcm + s, sizeof(float) * have);
		memset(chunk + have, 0, sizeof(float) * (len - have));
		forward_chunk(m, chunk, probs + (size_t)i * m->ntags,
		    emb ? emb + (size_t)i * m->embed_dim :
		    m->scratch + m->off_out);
	}
	return 0;
}

int
mtag_model_run_track(mtag_model *m, const float *pcm, size_t n,
    float *probs, float *emb, int *nchunks)
{
	const size_t len = m->input_length;
	float *cemb = m->scratch + m->off_out, *cprobs = cemb + m->embed_dim;
	size_t hop = 0, start;
	int i, j, count = 1;

	if (n > len) {
		count = MTAG_TRACK_CHUNKS;
		hop = (n - len) / MTAG_TRACK_CHUNKS;
	}
	memset(probs, 0, sizeof(float) * m->ntags);
	if (emb != NULL)
		memset(emb, 0, sizeof(float) * m->embed_dim);
	for (i = 0; i < count; i++) {
		start = i * hop;
		mtag_model_run(m, pcm, n, &start, 1, cprobs, cemb);
		for (j = 0; j < m->ntags; j++)
			probs[j] += cprobs[j] / count;
		for (j = 0; emb != NULL && j < m->embed_dim; j++)
			emb[j] += cemb[j] / count;
	}
	*nchunks = count;
	return 0;
}

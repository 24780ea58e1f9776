/* The spectrogram CNNs of the study: FCN (Choi et al. 2016), MusiCNN (Pons
 * et al. 2017, with the study's back end) and CRNN (Choi et al. 2017). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "melspec.h"
#include "ops.h"

#define MAX_CONVS 8
#define MUSICNN_FRONT 5
#define NMELS 96
#define N_FFT 512

enum kind { FCN, MUSICNN, CRNN };

/* A convolution with BatchNorm folded in and ReLU, then max pooling. */
struct conv {
	mtag_conv_shape s;
	const float *w, *b;
	int pool_h, pool_w;	/* 1 x 1: none; pool_h 0: every row */
};

struct gru {
	int in, hidden;
	const float *w_ih, *w_hh, *b_ih, *b_hh;
};

struct dense {
	int in, out;
	const float *w, *b;
};

struct cnn {
	enum kind kind;
	mtag_melspec *spec;
	int frames;
	struct conv conv[MAX_CONVS];	/* FCN, CRNN: the stack; MusiCNN:
					   front end then back end */
	int nconv;
	struct gru gru[2];		/* CRNN */
	struct dense dense1;		/* MusiCNN, BatchNorm folded in */
	struct dense out;
	int cat;			/* MusiCNN: channels concatenated */
	/* Scratch: two activation buffers (a at 0; b also the spectrogram's
	 * work), im2col, MusiCNN's concatenated features, small vectors. */
	size_t off_b, off_col, off_cat, off_vec, total;
};

static void
set_conv(struct conv *c, int C, int H, int W, int O, int KH, int KW, int PH,
    int PW, int pool_h, int pool_w)
{
	c->s = (mtag_conv_shape){ .C = C, .H = H, .W = W, .O = O, .KH = KH,
	    .KW = KW, .SH = 1, .SW = 1, .PH = PH, .PW = PW };
	c->pool_h = pool_h;
	c->pool_w = pool_w;
}

/* Loads PREFIX.conv with PREFIX.bn folded in. */
static int
load_conv_bn(mtag_weights *w, const char *prefix, struct conv *c)
{
	char conv[64], bn[64];

	snprintf(conv, sizeof(conv), "%s.conv", prefix);
	snprintf(bn, sizeof(bn), "%s.bn", prefix);
	return mtag_weights_conv(w, conv, bn, &c->s, &c->w, &c->b);
}

/* Rows of a 2-D tensor, or -1 with an error. */
static int
rows(mtag_weights *w, const char *name)
{
	int64_t n = mtag_weights_dim(w, name, 0);

	if (n < 1 || n > 100000)
		return mtag_weights_error(w, "tensor %s missing or malformed",
		    name);
	return (int)n;
}

static int
load_out(mtag_weights *w, struct cnn *c, const char *prefix, int in)
{
	char name[64];
	int n;

	snprintf(name, sizeof(name), "%s.weight", prefix);
	if ((n = rows(w, name)) < 0)
		return -1;
	c->out.in = in;
	c->out.out = n;
	return mtag_weights_dense(w, prefix, in, n, &c->out.w, &c->out.b);
}

/* A stack of Conv_2d blocks (3x3, padding 1, BatchNorm, ReLU, max pool)
 * named layer1.. over the spectrogram; *C, *H, *W get the output shape. */
static int
load_conv_stack(mtag_weights *w, struct cnn *c, int n, const int *chans,
    const int (*pools)[2], int *C, int *H, int *W)
{
	char name[32];
	int i;

	*C = 1;
	*H = NMELS;
	*W = c->frames;
	for (i = 0; i < n; i++) {
		struct conv *cv = &c->conv[c->nconv++];

		set_conv(cv, *C, *H, *W, chans[i], 3, 3, 1, 1, pools[i][0],
		    pools[i][1]);
		snprintf(name, sizeof(name), "layer%d", i + 1);
		if (load_conv_bn(w, name, cv) < 0)
			return -1;
		*C = chans[i];
		*H /= pools[i][0];
		*W /= pools[i][1];
		if (*H < 1 || *W < 1)
			return mtag_weights_error(w, "input too short for %s",
			    name);
	}
	return 0;
}

static int
load_fcn(mtag_weights *w, struct cnn *c, int *embed_dim)
{
	static const int chans[] = { 64, 128, 128, 128, 64 };
	static const int pools[][2] = { {2, 4}, {2, 4}, {2, 4}, {3, 5},
	    {4, 4} };
	int C, H, W;

	if (load_conv_stack(w, c, 5, chans, pools, &C, &H, &W) < 0)
		return -1;
	*embed_dim = C * H * W;
	return load_out(w, c, "dense", *embed_dim);
}

static int
load_crnn(mtag_weights *w, struct cnn *c, int *embed_dim)
{
	static const int chans[] = { 64, 128, 128, 128 };
	static const int pools[][2] = { {2, 2}, {3, 3}, {4, 4}, {4, 4} };
	char name[64];
	int C, H, W, i, hid;

	if (load_conv_stack(w, c, 4, chans, pools, &C, &H, &W) < 0)
		return -1;
	if (H != 1)
		return mtag_weights_error(w, "layer4 leaves %d frequency "
		    "rows", H);
	if ((hid = rows(w, "layer5.weight_hh_l0") / 3) < 1)
		return -1;
	for (i = 0; i < 2; i++) {
		struct gru *g = &c->gru[i];

		g->in = i == 0 ? C : hid;
		g->hidden = hid;
		snprintf(name, sizeof(name), "layer5.weight_ih_l%d", i);
		if ((g->w_ih = mtag_weights_get(w, name, 2, 3 * hid,
		    g->in)) == NULL)
			return -1;
		snprintf(name, sizeof(name), "layer5.weight_hh_l%d", i);
		if ((g->w_hh = mtag_weights_get(w, name, 2, 3 * hid,
		    hid)) == NULL)
			return -1;
		snprintf(name, sizeof(name), "layer5.bias_ih_l%d", i);
		if ((g->b_ih = mtag_weights_get(w, name, 1, 3 * hid)) == NULL)
			return -1;
		snprintf(name, sizeof(name), "layer5.bias_hh_l%d", i);
		if ((g->b_hh = mtag_weights_get(w, name, 1, 3 * hid)) == NULL)
			return -1;
	}
	*embed_dim = hid;
	return load_out(w, c, "dense", hid);
}

static int
load_musicnn(mtag_weights *w, struct cnn *c, int *embed_dim)
{
	/* Vertical filters over 70% and 40% of the bands; horizontal ones
	 * of 129, 65 and 33 frames over the band average. */
	static const int vert[] = { 67, 38 }, horiz[] = { 129, 65, 33 };
	const int T = c->frames;
	int i, front = 0, back, dense;
	char name[32];
	float *dw, *db;

	for (i = 0; i < MUSICNN_FRONT; i++) {
		struct conv *cv = &c->conv[c->nconv++];

		if (i < 2)	/* max pooled over the remaining bands */
			set_conv(cv, 1, NMELS, T, 204, vert[i], 7, 0, 3, 0, 1);
		else
			set_conv(cv, 1, 1, T, 51, 1, horiz[i - 2], 0,
			    horiz[i - 2] / 2, 1, 1);
		snprintf(name, sizeof(name), "layers.%d", i);
		if (load_conv_bn(w, name, cv) < 0)
			return -1;
		front += cv->s.O;
	}
	if ((back = rows(w, "layer1.conv.weight")) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		struct conv *cv = &c->conv[c->nconv++];

		set_conv(cv, i ? back : front, 1, T, back, 1, 7, 0, 3, 1, 1);
		snprintf(name, sizeof(name), "layer%d", i + 1);
		if (load_conv_bn(w, name, cv) < 0)
			return -1;
	}
	c->cat = front + 3 * back;
	if ((dense = rows(w, "dense1.weight")) < 0 ||
	    mtag_weights_dense(w, "dense1", 2 * c->cat, dense, &c->dense1.w,
	    &c->dense1.b) < 0)
		return -1;
	c->dense1.in = 2 * c->cat;
	c->dense1.out = dense;
	dw = (float *)c->dense1.w;
	db = (float *)c->dense1.b;
	if (mtag_weights_fold_bn(w, "bn", dw, db, dense, 2 * c->cat) < 0)
		return -1;
	*embed_dim = dense;
	return load_out(w, c, "dense2", dense);
}

/* Lays out the scratch buffer. */
static void
plan_scratch(struct cnn *c)
{
	size_t act = (size_t)NMELS * c->frames, col = 0, cat = 0, vec, b;
	int i;

	for (i = 0; i < c->nconv; i++) {
		const struct conv *cv = &c->conv[i];
		const mtag_conv_shape *s = &cv->s;
		size_t out = (size_t)s->O * (cv->pool_h > 0 ?
		    mtag_conv_out_h(s) / cv->pool_h : 1) *
		    (mtag_conv_out_w(s) / cv->pool_w);

		if (out > act)
			act = out;
		if (mtag_conv_scratch(s) > col)
			col = mtag_conv_scratch(s);
	}
	if (c->kind == CRNN)	/* the two GRU layers' states */
		col += 2 * (size_t)c->frames * c->gru[0].hidden;
	if (c->kind == MUSICNN)
		cat = (size_t)c->cat * c->frames;
	vec = 6 * (size_t)c->gru[0].hidden + 2 * (size_t)c->cat;
	b = mtag_melspec_scratch(c->spec) > act ? mtag_melspec_scratch(c->spec) :
	    act;
	c->off_b = act;
	c->off_col = c->off_b + b;
	c->off_cat = c->off_col + col;
	c->off_vec = c->off_cat + cat;
	c->total = c->off_vec + vec;
}

static void
cnn_free(void *state)
{
	struct cnn *c = state;

	if (c == NULL)
		return;
	mtag_melspec_free(c->spec);
	free(c);
}

static void *
cnn_load(mtag_weights *w, enum kind kind, int input_length, int *ntags,
    int *embed_dim, size_t *scratch)
{
	struct cnn *c;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		mtag_weights_error(w, "out of memory");
		return NULL;
	}
	c->kind = kind;
	if ((c->spec = mtag_melspec_load(w, "spec", "spec_bn", N_FFT, NMELS,
	    input_length)) == NULL)
		goto fail;
	c->frames = mtag_melspec_frames(c->spec);
	switch (kind) {
	case FCN:
		rc = load_fcn(w, c, embed_dim);
		break;
	case MUSICNN:
		rc = load_musicnn(w, c, embed_dim);
		break;
	default:
		rc = load_crnn(w, c, embed_dim);
		break;
	}
	if (rc < 0)
		goto fail;
	plan_scratch(c);
	*ntags = c->out.out;
	*scratch = c->total;
	return c;
fail:
	cnn_free(c);
	return NULL;
}

/* Runs conv cv (bias, ReLU and max pooling fused; pool_h 0: over every
 * row) on x into out. */
static void
conv_block(const struct conv *cv, const float *x, float *out, float *col)
{
	const mtag_conv_shape *s = &cv->s;

	if (cv->pool_h == 1 && cv->pool_w == 1)
		mtag_conv2d(s, x, cv->w, cv->b, 1, out, col);
	else
		mtag_conv2d_pool(s, x, cv->w, cv->b, cv->pool_h > 0 ?
		    cv->pool_h : mtag_conv_out_h(s), cv->pool_w, out, col);
}

/* FCN and CRNN: the conv stack over the spectrogram in buffer a, from one
 * activation buffer to the other. Returns the one holding the output. */
static float *
forward_stack(struct cnn *c, float *a, float *scratch)
{
	float *x = a, *y = scratch + c->off_b, *t;
	int i;

	for (i = 0; i < c->nconv; i++) {
		conv_block(&c->conv[i], x, y, scratch + c->off_col);
		t = x;
		x = y;
		y = t;
	}
	return x;
}

/* The GRUs over the conv stack's output x, using seq, the other activation
 * buffer. */
static void
forward_crnn(struct cnn *c, const float *x, float *seq, float *scratch,
    float *emb)
{
	const struct conv *last = &c->conv[c->nconv - 1];
	const int C = last->s.O, T = mtag_conv_out_w(&last->s) / last->pool_w;
	const int H = c->gru[0].hidden;
	float *h0 = scratch + c->off_col;
	float *h1 = h0 + (size_t)T * H, *gates = scratch + c->off_vec;
	int ch, t;

	for (ch = 0; ch < C; ch++)	/* C x T to T x C */
		for (t = 0; t < T; t++)
			seq[(size_t)t * C + ch] = x[(size_t)ch * T + t];
	mtag_gru(seq, T, C, H, c->gru[0].w_ih, c->gru[0].w_hh,
	    c->gru[0].b_ih, c->gru[0].b_hh, h0, gates);
	mtag_gru(h0, T, H, H, c->gru[1].w_ih, c->gru[1].w_hh,
	    c->gru[1].b_ih, c->gru[1].b_hh, h1, gates);
	memcpy(emb, h1 + (size_t)(T - 1) * H, sizeof(float) * H);
}

static void
forward_musicnn(struct cnn *c, float *spec, float *scratch, float *emb)
{
	const int T = c->frames, F = NMELS;
	float *col = scratch + c->off_col;
	float *avg = spec + (size_t)F * T;	/* buffer a has room */
	float *cat = scratch + c->off_cat, *feat = scratch + c->off_vec;
	float *out = cat;
	int i, ch, h, t;
	size_t k;

	for (t = 0; t < T; t++) {	/* band average, for Conv_H */
		double sum = 0.0;

		for (h = 0; h < F; h++)
			sum += spec[(size_t)h * T + t];
		avg[t] = (float)(sum / F);
	}
	for (i = 0; i < MUSICNN_FRONT; i++) {
		const struct conv *cv = &c->conv[i];

		conv_block(cv, cv->s.H == 1 ? avg : spec, out, col);
		out += (size_t)cv->s.O * T;
	}
	/* res1 = layer1(front), res2 = layer2(res1) + res1, res3 likewise. */
	for (i = MUSICNN_FRONT; i < c->nconv; i++) {
		const struct conv *cv = &c->conv[i];
		const size_t n = (size_t)cv->s.O * T;
		float *in = i == MUSICNN_FRONT ? cat :
		    out - (size_t)cv->s.C * T;

		conv_block(cv, in, out, col);
		if (i > MUSICNN_FRONT)
			for (k = 0; k < n; k++)
				out[k] += in[k];
		out += n;
	}
	for (ch = 0; ch < c->cat; ch++) {	/* max and mean over time */
		const float *row = cat + (size_t)ch * T;
		float mx = row[0];
		double sum = 0.0;

		for (t = 0; t < T; t++) {
			mx = fmaxf(mx, row[t]);
			sum += row[t];
		}
		feat[ch] = mx;
		feat[c->cat + ch] = (float)(sum / T);
	}
	mtag_linear(feat, 1, c->dense1.in, c->dense1.w, c->dense1.b,
	    c->dense1.out, emb);
	mtag_relu(emb, c->dense1.out);
}

static void
cnn_forward(void *state, const float *chunk, float *scratch, float *emb,
    float *logits)
{
	struct cnn *c = state;
	float *spec = scratch, *b = scratch + c->off_b, *x;

	mtag_melspec_run(c->spec, chunk, spec, b);
	switch (c->kind) {
	case FCN:
		x = forward_stack(c, spec, scratch);
		memcpy(emb, x, sizeof(float) * c->out.in);
		break;
	case MUSICNN:
		forward_musicnn(c, spec, scratch, emb);
		break;
	case CRNN:
		x = forward_stack(c, spec, scratch);
		forward_crnn(c, x, x == spec ? b : spec, scratch, emb);
		break;
	}
	mtag_linear(emb, 1, c->out.in, c->out.w, c->out.b, c->out.out,
	    logits);
}

static int
detect_fcn(const mtag_ckpt *ck)
{
	const mtag_tensor *t = mtag_ckpt_find(ck, "layer5.conv.weight");

	return mtag_ckpt_find(ck, "spec.mel_scale.fb") != NULL &&
	    t != NULL && t->ndim == 4 &&
	    mtag_ckpt_find(ck, "layer6.conv.weight") == NULL &&
	    mtag_ckpt_find(ck, "dense.weight") != NULL;
}

static int
detect_musicnn(const mtag_ckpt *ck)
{
	return mtag_ckpt_find(ck, "spec.mel_scale.fb") != NULL &&
	    mtag_ckpt_find(ck, "layers.0.conv.weight") != NULL &&
	    mtag_ckpt_find(ck, "dense2.weight") != NULL;
}

static int
detect_crnn(const mtag_ckpt *ck)
{
	return mtag_ckpt_find(ck, "spec.mel_scale.fb") != NULL &&
	    mtag_ckpt_find(ck, "layer5.weight_ih_l0") != NULL;
}

#define CNN_LOADER(fn, kind)						\
	static void *							\
	fn(mtag_weights *w, int input_length, int *ntags, int *embed_dim, \
	    size_t *scratch)						\
	{								\
		return cnn_load(w, kind, input_length, ntags, embed_dim, \
		    scratch);						\
	}

CNN_LOADER(load_fcn_arch, FCN)
CNN_LOADER(load_musicnn_arch, MUSICNN)
CNN_LOADER(load_crnn_arch, CRNN)

/* Input lengths: 29.1 s, 3 s and 29.1 s at 16 kHz. */
const struct mtag_arch mtag_arch_fcn = { "fcn", 16000, 464000, detect_fcn,
    load_fcn_arch, cnn_forward, cnn_free, 0 };
const struct mtag_arch mtag_arch_musicnn = { "musicnn", 16000, 48000,
    detect_musicnn, load_musicnn_arch, cnn_forward, cnn_free, 0 };
const struct mtag_arch mtag_arch_crnn = { "crnn", 16000, 464000,
    detect_crnn, load_crnn_arch, cnn_forward, cnn_free, 0 };

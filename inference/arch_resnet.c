/* The short-chunk CNNs of the study (Won et al. 2020, "Evaluation of
 * CNN-based automatic music tagging models"): the Short-chunk CNN, the
 * Short-chunk ResNet and HarmonicCNN (Won et al. 2020, "Data-driven harmonic
 * filters for audio representation learning"). Seven blocks over a dB mel or
 * harmonic spectrogram, global max pooling over time, then Linear,
 * BatchNorm, ReLU and the output Linear. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch.h"
#include "melspec.h"
#include "ops.h"

#define NBLOCKS 7
#define N_FFT 512
#define NBINS (N_FFT / 2 + 1)
#define NMELS 128
/* HarmonicCNN: 6 harmonics of 128 pitches, half a semitone apart from C1
 * (MIDI 24) to E6 (MIDI 88), at 16 kHz. */
#define HARMONICS 6
#define PITCHES 128
#define LOW_MIDI 24
#define HIGH_MIDI 88
#define HCNN_RATE 16000

enum kind { SHORT, SHORT_RES, HCNN };

/* Each kind's blocks: convolution stride, max pooling. */
static const struct layer {
	int stride, pool_h, pool_w;
} layers[][NBLOCKS] = {
	[SHORT] = { {1, 2, 2}, {1, 2, 2}, {1, 2, 2}, {1, 2, 2}, {1, 2, 2},
	    {1, 2, 2}, {1, 2, 2} },
	[SHORT_RES] = { {2, 1, 1}, {2, 1, 1}, {2, 1, 1}, {2, 1, 1},
	    {2, 1, 1}, {2, 1, 1}, {2, 1, 1} },
	[HCNN] = { {1, 2, 2}, {1, 2, 2}, {1, 2, 2}, {1, 2, 2}, {1, 2, 2},
	    {1, 2, 3}, {1, 2, 3} },
};

struct resnet {
	mtag_melspec *spec;
	mtag_block block[NBLOCKS];
	int C, T;		/* the last block's channels and steps */
	int hidden, ntags;
	const float *dense1_w, *dense1_b;	/* BatchNorm folded in */
	const float *out_w, *out_b;
	size_t act, col;
};

/* fb (NBINS x bands) = HarmonicSTFT's triangular filters for bandwidth
 * factor bw_q, in float as PyTorch computes them. */
static void
harmonic_fb(float bw_q, float *fb)
{
	const int bands = HARMONICS * PITCHES;
	const float bin_hz = (float)(HCNN_RATE / 2) / (NBINS - 1);
	int h, p, j, k;

	for (h = 0; h < HARMONICS; h++)
		for (p = 0; p < PITCHES; p++) {
			double midi = LOW_MIDI + p * (double)(HIGH_MIDI -
			    LOW_MIDI) / PITCHES;
			float f0 = (float)(440.0 * pow(2.0, (midi - 69.0) /
			    12.0) * (h + 1));
			float bw = (0.1079f * f0 + 24.7f) / bw_q;
			float up = 2.0f / bw, down = -2.0f / bw;
			float centre = 2.0f * f0 / bw;

			j = h * PITCHES + p;
			for (k = 0; k < NBINS; k++) {
				float f = k * bin_hz;

				fb[(size_t)k * bands + j] = fmaxf(0.0f,
				    fminf(f * down + 1.0f + centre,
				    f * up + 1.0f - centre));
			}
		}
}

static mtag_melspec *
load_harmonic(mtag_weights *w, int nsamples)
{
	const float *window, *bw_q;
	float *fb;

	if ((window = mtag_weights_get(w, "hstft.spec.window", 1,
	    N_FFT)) == NULL ||
	    (bw_q = mtag_weights_get(w, "hstft.bw_Q", 1, 1)) == NULL)
		return NULL;
	fb = mtag_weights_alloc(w, (size_t)NBINS * HARMONICS * PITCHES);
	harmonic_fb(*bw_q, fb);
	return mtag_melspec_new(w, window, fb, "hstft_bn", HARMONICS, N_FFT,
	    HARMONICS * PITCHES, nsamples);
}

static void
resnet_free(void *state)
{
	struct resnet *r = state;

	if (r == NULL)
		return;
	mtag_melspec_free(r->spec);
	free(r);
}

static void *
resnet_load(mtag_weights *w, enum kind kind, int input_length, int *ntags,
    int *embed_dim, size_t *scratch)
{
	struct resnet *r;
	char name[32];
	int i, C, H, W;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		mtag_weights_error(w, "out of memory");
		return NULL;
	}
	if (kind == HCNN) {
		r->spec = load_harmonic(w, input_length);
		C = HARMONICS;
		H = PITCHES;
	} else {
		r->spec = mtag_melspec_load(w, "spec", "spec_bn", N_FFT, NMELS,
		    input_length);
		C = 1;
		H = NMELS;
	}
	if (r->spec == NULL)
		goto fail;
	W = mtag_melspec_frames(r->spec);
	for (i = 0; i < NBLOCKS; i++) {
		const struct layer *l = &layers[kind][i];
		mtag_block *b = &r->block[i];

		b->s1 = (mtag_conv_shape){ .C = C, .H = H, .W = W, .KH = 3,
		    .KW = 3, .SH = l->stride, .SW = l->stride, .PH = 1,
		    .PW = 1 };
		b->pool_h = l->pool_h;
		b->pool_w = l->pool_w;
		snprintf(name, sizeof(name), "layer%d", i + 1);
		if (mtag_weights_block(w, name, b) < 0)
			goto fail;
		mtag_block_out(b, &C, &H, &W);
	}
	if (H != 1) {
		mtag_weights_error(w, "layer%d leaves %d bands", NBLOCKS, H);
		goto fail;
	}
	r->C = C;
	r->T = W;
	r->hidden = (int)mtag_weights_dim(w, "dense1.weight", 0);
	r->ntags = (int)mtag_weights_dim(w, "dense2.weight", 0);
	if (mtag_weights_dense_bn(w, "dense1", "bn", C, r->hidden,
	    &r->dense1_w, &r->dense1_b) < 0 ||
	    mtag_weights_dense(w, "dense2", r->hidden, r->ntags, &r->out_w,
	    &r->out_b) < 0)
		goto fail;
	mtag_blocks_scratch(r->block, NBLOCKS, &r->act, &r->col);
	if (mtag_melspec_scratch(r->spec) > r->act)
		r->act = mtag_melspec_scratch(r->spec);
	*ntags = r->ntags;
	*embed_dim = r->hidden;
	*scratch = 3 * r->act + r->col + C;
	return r;
fail:
	resnet_free(r);
	return NULL;
}

static void
resnet_forward(void *state, const float *chunk, float *scratch, float *emb,
    float *logits)
{
	struct resnet *r = state;
	float *a = scratch, *b = a + r->act, *tmp = b + r->act;
	float *col = tmp + r->act, *feat = col + r->col;
	float *x;

	mtag_melspec_run(r->spec, chunk, a, b);
	x = mtag_blocks_run(r->block, NBLOCKS, a, a, b, tmp, col);
	mtag_maxpool2d(x, r->C, 1, r->T, 1, r->T, feat);
	mtag_linear(feat, 1, r->C, r->dense1_w, r->dense1_b, r->hidden, emb);
	mtag_relu(emb, r->hidden);
	mtag_linear(emb, 1, r->hidden, r->out_w, r->out_b, r->ntags, logits);
}

#define RESNET_LOADER(fn, kind)						\
	static void *							\
	fn(mtag_weights *w, int input_length, int *ntags, int *embed_dim, \
	    size_t *scratch)						\
	{								\
		return resnet_load(w, kind, input_length, ntags,	\
		    embed_dim, scratch);				\
	}

RESNET_LOADER(load_short, SHORT)
RESNET_LOADER(load_short_res, SHORT_RES)
RESNET_LOADER(load_hcnn, HCNN)

static int
detect_short(const mtag_ckpt *ck)
{
	const mtag_tensor *t = mtag_ckpt_find(ck, "layer7.conv.weight");

	return mtag_ckpt_find(ck, "spec.mel_scale.fb") != NULL &&
	    t != NULL && t->ndim == 4 &&
	    mtag_ckpt_find(ck, "dense2.weight") != NULL;
}

static int
detect_short_res(const mtag_ckpt *ck)
{
	return mtag_ckpt_find(ck, "spec.mel_scale.fb") != NULL &&
	    mtag_ckpt_find(ck, "layer7.conv_1.weight") != NULL &&
	    mtag_ckpt_find(ck, "dense2.weight") != NULL;
}

static int
detect_hcnn(const mtag_ckpt *ck)
{
	return mtag_ckpt_find(ck, "hstft.bw_Q") != NULL &&
	    mtag_ckpt_find(ck, "layer7.conv_1.weight") != NULL &&
	    mtag_ckpt_find(ck, "dense2.weight") != NULL;
}

/* Chunks of 3.69 s (short, short_res) and 5 s (hcnn) at 16 kHz. */
const struct mtag_arch mtag_arch_short = { "short", 16000, 59049,
    detect_short, load_short, resnet_forward, resnet_free, 0 };
const struct mtag_arch mtag_arch_short_res = { "short_res", 16000, 59049,
    detect_short_res, load_short_res, resnet_forward, resnet_free, 0 };
const struct mtag_arch mtag_arch_hcnn = { "hcnn", HCNN_RATE, 80000,
    detect_hcnn, load_hcnn, resnet_forward, resnet_free,
    (size_t)NBINS * HARMONICS * PITCHES };

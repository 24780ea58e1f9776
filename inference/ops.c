/* Tensor operations of the tagging models: convolution as im2col + SGEMM,
 * pooling, dense layers, activations and the GRU. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "ops.h"

int
mtag_conv_out_h(const mtag_conv_shape *s)
{
	return (s->H + 2 * s->PH - s->KH) / s->SH + 1;
}

int
mtag_conv_out_w(const mtag_conv_shape *s)
{
	return (s->W + 2 * s->PW - s->KW) / s->SW + 1;
}

static int
conv_is_pointwise(const mtag_conv_shape *s)
{
	return s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 &&
	    s->PH == 0 && s->PW == 0;
}

size_t
mtag_conv_scratch(const mtag_conv_shape *s)
{
	if (conv_is_pointwise(s))
		return 0;
	return (size_t)s->C * s->KH * s->KW * mtag_conv_out_h(s) *
	    mtag_conv_out_w(s);
}

/* col row (c, kh, kw) holds x[c][oh*SH - PH + kh][ow*SW - PW + kw] for every
 * output position, zero outside the input. */
static void
im2col(const mtag_conv_shape *s, const float *x, float *col)
{
	const int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW;
	const int OH = mtag_conv_out_h(s), OW = mtag_conv_out_w(s);
	int c, kh, kw, oh, ow;

	for (c = 0; c < C; c++)
	for (kh = 0; kh < KH; kh++)
	for (kw = 0; kw < KW; kw++) {
		/* Output columns [lo, hi) read inside the input row. */
		int lo = 0, hi = OW;

		while (lo < OW && lo * s->SW - s->PW + kw < 0)
			lo++;
		while (hi > lo && (hi - 1) * s->SW - s->PW + kw >= W)
			hi--;
		for (oh = 0; oh < OH; oh++) {
			int ih = oh * s->SH - s->PH + kh;
			const float *xr = x + ((size_t)c * H + ih) * W;

			if (ih < 0 || ih >= H) {
				memset(col, 0, sizeof(float) * OW);
				col += OW;
				continue;
			}
			for (ow = 0; ow < lo; ow++)
				*col++ = 0.0f;
			if (s->SW == 1) {
				memcpy(col, xr + lo - s->PW + kw,
				    sizeof(float) * (hi - lo));
				col += hi - lo;
			} else {
				for (ow = lo; ow < hi; ow++)
					*col++ = xr[ow * s->SW - s->PW + kw];
			}
			for (ow = hi; ow < OW; ow++)
				*col++ = 0.0f;
		}
	}
}

void
mtag_conv2d(const mtag_conv_shape *s, const float *x, const float *w,
    const float *b, int relu, float *y, float *col)
{
	const int O = s->O, K = s->C * s->KH * s->KW;
	const int N = mtag_conv_out_h(s) * mtag_conv_out_w(s);
	const float *src = x;
	int o, i;

	assert(s->SH > 0 && s->SW > 0 && N > 0 && K > 0);
	if (!conv_is_pointwise(s)) {
		im2col(s, x, col);
		src = col;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, N, K, 1.0f,
	    w, K, src, N, 0.0f, y, N);
	for (o = 0; o < O; o++) {
		float *yo = y + (size_t)o * N, bo = b[o];

		if (relu) {
			for (i = 0; i < N; i++)
				yo[i] = fmaxf(yo[i] + bo, 0.0f);
		} else {
			for (i = 0; i < N; i++)
				yo[i] += bo;
		}
	}
}

void
mtag_fold_bn(float *w, float *b, int O, int k, const float *gamma,
    const float *beta, const float *mean, const float *var, float eps)
{
	int o, i;

	for (o = 0; o < O; o++) {
		double scale = gamma[o] / sqrt((double)var[o] + eps);

		for (i = 0; i < k; i++)
			w[(size_t)o * k + i] = (float)(w[(size_t)o * k + i] *
			    scale);
		b[o] = (float)((b[o] - mean[o]) * scale + beta[o]);
	}
}

void
mtag_maxpool2d(const float *x, int C, int H, int W, int KH, int KW, float *y)
{
	const int OH = H / KH, OW = W / KW;
	int c, oh, ow, i, j;

	assert(KH > 0 && KW > 0);
	for (c = 0; c < C; c++)
	for (oh = 0; oh < OH; oh++)
	for (ow = 0; ow < OW; ow++) {
		const float *xp = x + ((size_t)c * H + oh * KH) * W + ow * KW;
		float m = xp[0];

		for (i = 0; i < KH; i++)
			for (j = 0; j < KW; j++)
				m = fmaxf(m, xp[(size_t)i * W + j]);
		y[((size_t)c * OH + oh) * OW + ow] = m;
	}
}

void
mtag_linear(const float *x, int N, int IN, const float *w, const float *b,
    int O, float *y)
{
	int n;

	for (n = 0; n < N; n++)
		memcpy(y + (size_t)n * O, b, sizeof(float) * O);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, IN, 1.0f,
	    x, IN, w, IN, 1.0f, y, O);
}

void
mtag_relu(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = fmaxf(x[i], 0.0f);
}

static float
sigmoidf(float v)
{
	return 1.0f / (1.0f + expf(-v));
}

void
mtag_sigmoid(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = sigmoidf(x[i]);
}

void
mtag_gru(const float *x, int T, int IN, int H, const float *w_ih,
    const float *w_hh, const float *b_ih, const float *b_hh, float *h,
    float *gates)
{
	float *gi = gates, *gh = gates + 3 * H;
	int t, j;

	for (t = 0; t < T; t++) {
		const float *prev = t > 0 ? h + (size_t)(t - 1) * H : NULL;
		float *cur = h + (size_t)t * H;

		memcpy(gi, b_ih, sizeof(float) * 3 * H);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, 3 * H, IN, 1.0f, w_ih,
		    IN, x + (size_t)t * IN, 1, 1.0f, gi, 1);
		memcpy(gh, b_hh, sizeof(float) * 3 * H);
		if (prev != NULL)
			cblas_sgemv(CblasRowMajor, CblasNoTrans, 3 * H, H,
			    1.0f, w_hh, H, prev, 1, 1.0f, gh, 1);
		for (j = 0; j < H; j++) {
			float r = sigmoidf(gi[j] + gh[j]);
			float z = sigmoidf(gi[H + j] + gh[H + j]);
			float n = tanhf(gi[2 * H + j] + r * gh[2 * H + j]);

			cur[j] = (1.0f - z) * n + z * (prev ? prev[j] : 0.0f);
		}
	}
}

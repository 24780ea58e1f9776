/* Tensor operations of the tagging models: convolution as im2col + SGEMM,
 * pooling, dense layers, activations, the GRU, the transformers' layer
 * normalisation and attention, and the convolutional blocks. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "ops.h"

/* The larger of a and b, as one instruction (fmaxf is a library call). */
static inline float
max2(float a, float b)
{
	return a > b ? a : b;
}

static _Atomic long long flop_count;

double
mtag_ops_flop(void)
{
	return (double)flop_count;
}

void
mtag_ops_count(double flop)
{
	flop_count += (long long)flop;
}

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

/* Output positions per tile: COL_TILE floats of im2col and of convolution
 * output (when pooled) at most. */
#define COL_TILE (1 << 21)

static int
conv_tile(const mtag_conv_shape *s)
{
	const int K = s->C * s->KH * s->KW;
	const int N = mtag_conv_out_h(s) * mtag_conv_out_w(s);
	int n = COL_TILE / (K + s->O);

	return n < 1 ? 1 : n > N ? N : n;
}

/*
 * One input channel, stride 1 down the rows and large filters (MusiCNN's
 * vertical ones): the input's rows are unfolded once, row (r, kw) of u
 * holding input row r - PH at every output column's tap kw, so that the
 * im2col matrix of output row oh is the KH x KW rows of u from (oh, 0): one
 * SGEMM per output row reads u in place, and copies nothing.
 */
static int
conv_rows_ok(const mtag_conv_shape *s)
{
	return s->C == 1 && s->SH == 1 && s->KH * s->KW >= 64;
}

/* Floats of u, then of a row of output. */
static size_t
conv_rows_scratch(const mtag_conv_shape *s)
{
	const int OW = mtag_conv_out_w(s);

	return (size_t)(s->H + 2 * s->PH) * s->KW * OW + (size_t)s->O * OW;
}

static void
unfold_rows(const mtag_conv_shape *s, const float *x, float *u)
{
	const int OW = mtag_conv_out_w(s);
	int r, kw, ow, c;

	for (r = -s->PH; r < s->H + s->PH; r++)
	for (kw = 0; kw < s->KW; kw++) {
		float *ur = u + ((size_t)(r + s->PH) * s->KW + kw) * OW;

		for (ow = 0; ow < OW; ow++) {
			c = ow * s->SW - s->PW + kw;
			ur[ow] = r >= 0 && r < s->H && c >= 0 && c < s->W ?
			    x[(size_t)r * s->W + c] : 0.0f;
		}
	}
}

/* Output row oh of conv s (O x OW, rows ldc floats apart) from u. */
static void
conv_row(const mtag_conv_shape *s, const float *w, const float *u, int oh,
    float *out, int ldc)
{
	const int OW = mtag_conv_out_w(s), K = s->KH * s->KW;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->O, OW, K,
	    1.0f, w, K, u + (size_t)oh * s->KW * OW, OW, 0.0f, out, ldc);
}

size_t
mtag_conv_scratch(const mtag_conv_shape *s)
{
	size_t n = (size_t)(s->C * s->KH * s->KW + s->O) * conv_tile(s);

	if (conv_rows_ok(s) && conv_rows_scratch(s) > n)
		n = conv_rows_scratch(s);
	return n;
}

static void pool_positions(const float *v, int p0, int n, int OW, int KH,
    int KW, float bias, float *y);

/* col (K x n) row (c, kh, kw) holds x[c][oh*SH - PH + kh][ow*SW - PW + kw]
 * for the output positions oh * OW + ow in [p0, p0 + n), zero outside the
 * input. */
static void
im2col(const mtag_conv_shape *s, const float *x, int p0, int n, float *col)
{
	const int C = s->C, H = s->H, W = s->W, KH = s->KH, KW = s->KW;
	const int OW = mtag_conv_out_w(s), p1 = p0 + n;
	int c, kh, kw, p, ow;

	for (c = 0; c < C; c++)
	for (kh = 0; kh < KH; kh++)
	for (kw = 0; kw < KW; kw++) {
		/* Output columns [lo, hi) read inside the input row. */
		int lo = 0, hi = OW;

		while (lo < OW && lo * s->SW - s->PW + kw < 0)
			lo++;
		while (hi > lo && (hi - 1) * s->SW - s->PW + kw >= W)
			hi--;
		for (p = p0; p < p1;) {
			/* Columns [a, e) of output row oh, [v0, v1) inside. */
			int oh = p / OW, a = p % OW;
			int e = OW - a < p1 - p ? OW : a + p1 - p;
			int ih = oh * s->SH - s->PH + kh;
			int v0 = lo > a ? lo : a, v1 = hi < e ? hi : e;
			const float *xr;

			p += e - a;
			if (ih < 0 || ih >= H || v0 >= v1) {
				memset(col, 0, sizeof(float) * (e - a));
				col += e - a;
				continue;
			}
			xr = x + ((size_t)c * H + ih) * W;
			for (ow = a; ow < v0; ow++)
				*col++ = 0.0f;
			if (s->SW == 1) {
				memcpy(col, xr + v0 - s->PW + kw,
				    sizeof(float) * (v1 - v0));
				col += v1 - v0;
			} else {
				for (ow = v0; ow < v1; ow++)
					*col++ = xr[ow * s->SW - s->PW + kw];
			}
			for (ow = v1; ow < e; ow++)
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
	int o, i, p0, n;

	assert(s->SH > 0 && s->SW > 0 && N > 0 && K > 0);
	mtag_ops_count(2.0 * O * K * N);
	if (conv_is_pointwise(s)) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, N,
		    K, 1.0f, w, K, x, N, 0.0f, y, N);
	} else if (conv_rows_ok(s)) {
		const int OW = mtag_conv_out_w(s);

		unfold_rows(s, x, col);
		for (i = 0; i < N / OW; i++)
			conv_row(s, w, col, i, y + (size_t)i * OW, N);
	} else {
		for (p0 = 0; p0 < N; p0 += n) {
			n = conv_tile(s);
			if (n > N - p0)
				n = N - p0;
			im2col(s, x, p0, n, col);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    O, n, K, 1.0f, w, K, col, n, 0.0f, y + p0, N);
		}
	}
	for (o = 0; o < O; o++) {
		float *yo = y + (size_t)o * N, bo = b[o];

		if (relu) {
			for (i = 0; i < N; i++)
				yo[i] = max2(yo[i] + bo, 0.0f);
		} else {
			for (i = 0; i < N; i++)
				yo[i] += bo;
		}
	}
}

/*
 * Max pools the n output positions from p0 (row-major, OW per row) of one
 * channel's convolution v into that channel's y (OH/KH x OW/KW), positions
 * past the last whole window being left out: each window starts at its top
 * left position and, at its bottom right one, gets bias and ReLU. Positions
 * come in increasing order over the calls, so that every window sees its
 * top left first.
 */
static void
pool_positions(const float *v, int p0, int n, int OW, int KH, int KW,
    float bias, float *y)
{
	const int cols = OW / KW * KW;
	int p, a, e, end, ow, k;

	for (p = p0; p < p0 + n; p += e - a) {
		const float *vr;
		float *yr, *q;
		int oh = p / OW, top = oh % KH == 0;

		a = p % OW;
		e = OW - a < p0 + n - p ? OW : a + p0 + n - p;
		end = e < cols ? e : cols;
		vr = v + (p - p0) - a;	/* vr[ow]: column ow of row oh */
		yr = y + (size_t)(oh / KH) * (OW / KW);
		if (KW == 1 && top) {
			if (end > a)
				memcpy(yr + a, vr + a, sizeof(float) * (end - a));
		} else if (KW == 1) {
			for (ow = a; ow < end; ow++)
				yr[ow] = max2(yr[ow], vr[ow]);
		} else {
			q = yr + a / KW;
			k = a % KW;
			for (ow = a; ow < end; ow++) {
				*q = top && k == 0 ? vr[ow] : max2(*q, vr[ow]);
				if (++k == KW) {
					k = 0;
					q++;
				}
			}
		}
		/* The windows whose bottom right is in this segment. */
		if (oh % KH == KH - 1)
			for (k = a / KW; k < end / KW; k++)
				yr[k] = max2(yr[k] + bias, 0.0f);
	}
}

void
mtag_conv2d_pool(const mtag_conv_shape *s, const float *x, const float *w,
    const float *b, int KH, int KW, float *y, float *col)
{
	const int O = s->O, K = s->C * s->KH * s->KW;
	const int OH = mtag_conv_out_h(s), OW = mtag_conv_out_w(s);
	const int N = OH / KH * KH * OW;
	const size_t plane = (size_t)(OH / KH) * (OW / KW);
	const int tile = conv_tile(s);
	float *out = col + (size_t)K * tile;
	int o, p0, n;

	assert(KH > 0 && KW > 0 && OH >= KH && OW >= KW && K > 0);
	mtag_ops_count(2.0 * O * K * N);
	if (conv_rows_ok(s)) {
		out = col + conv_rows_scratch(s) - (size_t)O * OW;
		unfold_rows(s, x, col);
		for (p0 = 0; p0 < N; p0 += OW) {
			conv_row(s, w, col, p0 / OW, out, OW);
			for (o = 0; o < O; o++)
				pool_positions(out + (size_t)o * OW, p0, OW,
				    OW, KH, KW, b[o], y + o * plane);
		}
		return;
	}
	for (p0 = 0; p0 < N; p0 += n) {
		n = tile < N - p0 ? tile : N - p0;
		im2col(s, x, p0, n, col);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, n,
		    K, 1.0f, w, K, col, n, 0.0f, out, n);
		for (o = 0; o < O; o++)
			pool_positions(out + (size_t)o * n, p0, n, OW, KH, KW,
			    b[o], y + o * plane);
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
	for (oh = 0; oh < OH; oh++) {
		float *yr = y + ((size_t)c * OH + oh) * OW;

		/* Row by row of the window, along the input rows. */
		for (i = 0; i < KH; i++) {
			const float *xr = x + ((size_t)c * H + oh * KH + i) * W;

			for (ow = 0; ow < OW; ow++) {
				float m = i > 0 ? yr[ow] : xr[ow * KW];

				for (j = 0; j < KW; j++)
					m = max2(m, xr[ow * KW + j]);
				yr[ow] = m;
			}
		}
	}
}

void
mtag_linear(const float *x, int N, int IN, const float *w, const float *b,
    int O, float *y)
{
	int n;

	mtag_ops_count(2.0 * N * O * IN);
	for (n = 0; n < N && b != NULL; n++)
		memcpy(y + (size_t)n * O, b, sizeof(float) * O);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, IN, 1.0f,
	    x, IN, w, IN, b != NULL ? 1.0f : 0.0f, y, O);
}

void
mtag_linear_acc(const float *x, int N, int IN, const float *w,
    const float *b, int O, float *y)
{
	int n, o;

	mtag_ops_count(2.0 * N * O * IN);
	for (n = 0; n < N && b != NULL; n++)
		for (o = 0; o < O; o++)
			y[(size_t)n * O + o] += b[o];
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, IN, 1.0f,
	    x, IN, w, IN, 1.0f, y, O);
}

void
mtag_transpose(const float *x, int rows, int cols, float *y)
{
	int r, c;

	for (r = 0; r < rows; r++)
		for (c = 0; c < cols; c++)
			y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
}

void
mtag_relu(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = max2(x[i], 0.0f);
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
mtag_tanh(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = tanhf(x[i]);
}

void
mtag_gelu(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

void
mtag_layernorm(const float *x, int N, int D, const float *gamma,
    const float *beta, float eps, float *y)
{
	int n, i;

	assert(D > 0);
	for (n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * D;
		float *yr = y + (size_t)n * D;
		double mean = 0.0, var = 0.0, inv;

		for (i = 0; i < D; i++)
			mean += xr[i];
		mean /= D;
		for (i = 0; i < D; i++)
			var += (xr[i] - mean) * (xr[i] - mean);
		inv = 1.0 / sqrt(var / D + eps);
		for (i = 0; i < D; i++)
			yr[i] = (float)((xr[i] - mean) * inv) * gamma[i] +
			    beta[i];
	}
}

/* Each row of x (N x D) replaced by its softmax. */
static void
softmax_rows(float *x, int N, int D)
{
	int n, i;

	for (n = 0; n < N; n++) {
		float *xr = x + (size_t)n * D, mx = xr[0];
		double sum = 0.0;
		float inv;

		for (i = 1; i < D; i++)
			mx = max2(mx, xr[i]);
		for (i = 0; i < D; i++) {
			xr[i] = expf(xr[i] - mx);
			sum += xr[i];
		}
		inv = (float)(1.0 / sum);
		for (i = 0; i < D; i++)
			xr[i] *= inv;
	}
}

void
mtag_attention(const float *qkv, int T, int D, int heads, float *out,
    float *scores)
{
	const int dh = D / heads, ld = 3 * D;
	const float scale = (float)(1.0 / sqrt(dh));
	int h;

	assert(heads > 0 && dh * heads == D && T > 0);
	mtag_ops_count(4.0 * T * T * D);
	for (h = 0; h < heads; h++) {
		const float *q = qkv + h * dh, *k = q + D, *v = q + 2 * D;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh,
		    scale, q, ld, k, ld, 0.0f, scores, T);
		softmax_rows(scores, T, T);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh,
		    T, 1.0f, scores, T, v, ld, 0.0f, out + h * dh, D);
	}
}

/* The Mersenne Twister MT19937 (Matsumoto and Nishimura 1998). */
#define MT_N 624
#define MT_M 397

static uint32_t
mt_next(uint32_t *mt, int *pos)
{
	uint32_t y;
	int i;

	if (*pos >= MT_N) {
		for (i = 0; i < MT_N; i++) {
			y = (mt[i] & 0x80000000u) | (mt[(i + 1) % MT_N] &
			    0x7fffffffu);
			mt[i] = mt[(i + MT_M) % MT_N] ^ (y >> 1) ^
			    (y & 1 ? 0x9908b0dfu : 0);
		}
		*pos = 0;
	}
	y = mt[(*pos)++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	return y ^ (y >> 18);
}

void
mtag_random_uniform(unsigned long seed, float *x, size_t n)
{
	uint32_t mt[MT_N];
	int i, pos = MT_N;
	size_t j;

	mt[0] = (uint32_t)seed;
	for (i = 1; i < MT_N; i++)
		mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i;
	for (j = 0; j < n; j++) {
		uint32_t a = mt_next(mt, &pos) >> 5, b = mt_next(mt, &pos) >> 6;

		x[j] = (float)((a * 67108864.0 + b) / 9007199254740992.0);
	}
}

void
mtag_gru(const float *x, int T, int IN, int H, const float *w_ih,
    const float *w_hh, const float *b_ih, const float *b_hh, float *h,
    float *gates)
{
	float *gi = gates, *gh = gates + 3 * H;
	int t, j;

	mtag_ops_count(6.0 * T * H * (IN + H));
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

void
mtag_block_out(const mtag_block *b, int *C, int *H, int *W)
{
	*C = b->s1.O;
	*H = mtag_conv_out_h(&b->s1) / b->pool_h;
	*W = mtag_conv_out_w(&b->s1) / b->pool_w;
}

void
mtag_blocks_scratch(const mtag_block *b, int n, size_t *act, size_t *col)
{
	int i;

	*act = *col = 0;
	for (i = 0; i < n; i++) {
		const mtag_conv_shape *s = &b[i].s1;
		size_t in = (size_t)s->C * s->H * s->W;
		size_t out = (size_t)s->O * mtag_conv_out_h(s) *
		    mtag_conv_out_w(s);
		size_t c = mtag_conv_scratch(s);

		if (b[i].s2.O > 0 && mtag_conv_scratch(&b[i].s2) > c)
			c = mtag_conv_scratch(&b[i].s2);
		if (b[i].se_w1 != NULL && (size_t)s->O + b[i].se_hidden > c)
			c = (size_t)s->O + b[i].se_hidden;
		if (in > *act)
			*act = in;
		if (out > *act)
			*act = out;
		if (c > *col)
			*col = c;
	}
}

/* Scales each of the O rows of x (O x L) by its squeeze-and-excitation gate;
 * vec is scratch of O + se_hidden floats. */
static void
squeeze_excite(const mtag_block *b, float *x, size_t L, float *vec)
{
	const int O = b->s1.O, R = b->se_hidden;
	float *gate = vec, *hid = vec + O;
	size_t i;
	int o;

	for (o = 0; o < O; o++) {
		double sum = 0.0;

		for (i = 0; i < L; i++)
			sum += x[(size_t)o * L + i];
		gate[o] = (float)(sum / L);
	}
	mtag_linear(gate, 1, O, b->se_w1, b->se_b1, R, hid);
	mtag_relu(hid, R);
	mtag_linear(hid, 1, R, b->se_w2, b->se_b2, O, gate);
	mtag_sigmoid(gate, O);
	for (o = 0; o < O; o++)
		for (i = 0; i < L; i++)
			x[(size_t)o * L + i] *= gate[o];
}

/* y = block b of x; tmp holds its output before pooling. */
static void
block_run(const mtag_block *b, const float *x, float *y, float *tmp,
    float *col)
{
	const mtag_conv_shape *s = &b->s1;
	const int OH = mtag_conv_out_h(s), OW = mtag_conv_out_w(s);
	const size_t L = (size_t)OH * OW, n = s->O * L;
	const int pooled = b->pool_h > 1 || b->pool_w > 1;
	float *out = pooled ? tmp : y, *other = pooled ? y : tmp;
	const float *res = x;
	size_t i;

	if (b->s2.O == 0 && pooled) {
		mtag_conv2d_pool(s, x, b->w1, b->b1, b->pool_h, b->pool_w, y,
		    col);
		return;
	}
	if (b->s2.O == 0) {
		mtag_conv2d(s, x, b->w1, b->b1, 1, out, col);
	} else {
		mtag_conv2d(s, x, b->w1, b->b1, 1, other, col);
		mtag_conv2d(&b->s2, other, b->w2, b->b2, 0, out, col);
		if (b->se_w1 != NULL)
			squeeze_excite(b, out, L, col);
		if (b->w3 != NULL) {
			mtag_conv2d(s, x, b->w3, b->b3, 0, other, col);
			res = other;
		} else {
			assert(s->C == s->O && OH == s->H && OW == s->W);
		}
		for (i = 0; i < n; i++)
			out[i] = max2(out[i] + res[i], 0.0f);
	}
	if (pooled)
		mtag_maxpool2d(out, s->O, OH, OW, b->pool_h, b->pool_w, y);
}

float *
mtag_blocks_run(const mtag_block *b, int n, const float *x, float *buf0,
    float *buf1, float *tmp, float *col)
{
	float *y = buf0;
	int i;

	assert(n > 0);
	for (i = 0; i < n; i++) {
		y = x == buf0 ? buf1 : buf0;
		block_run(&b[i], x, y, tmp, col);
		x = y;
	}
	return y;
}

/* Checks every optimised operation against a naive reference on random
 * shapes and values. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "frontend.h"
#include "ops.h"
#include "testutil.h"

static unsigned long long rng_state = 88172645463325252ULL;

static float
frand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f -
	    1.0f;
}

static int
irand(int lo, int hi)
{
	return lo + (int)((frand() + 1.0f) * 0.5f * (hi - lo + 1)) %
	    (hi - lo + 1);
}

static float *
random_array(size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

/* Largest |a - b| relative to max(1, |b|). */
static double
max_err(const float *a, const double *b, size_t n)
{
	double m = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i])));
	return m;
}

/* y (O x OH x OW) = conv(x, w) + b in double, then ReLU when relu is set. */
static void
ref_conv(const mtag_conv_shape *s, const double *x, const float *w,
    const float *b, int relu, double *y)
{
	const int OH = mtag_conv_out_h(s), OW = mtag_conv_out_w(s);
	int o, oh, ow, c, kh, kw;

	for (o = 0; o < s->O; o++)
	for (oh = 0; oh < OH; oh++)
	for (ow = 0; ow < OW; ow++) {
		double acc = b[o];

		for (c = 0; c < s->C; c++)
		for (kh = 0; kh < s->KH; kh++)
		for (kw = 0; kw < s->KW; kw++) {
			int ih = oh * s->SH - s->PH + kh;
			int iw = ow * s->SW - s->PW + kw;

			if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
				continue;
			acc += (double)w[((o * s->C + c) * s->KH + kh) *
			    s->KW + kw] * x[((size_t)c * s->H + ih) * s->W +
			    iw];
		}
		if (relu && acc < 0)
			acc = 0;
		y[((size_t)o * OH + oh) * OW + ow] = acc;
	}
}

static double *
to_double(const float *x, size_t n)
{
	double *d = malloc(sizeof(double) * (n ? n : 1));
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}

static double
max_abs(const double *a, size_t n)
{
	double m = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i]));
	return m;
}

static void
test_conv2d(void)
{
	int trial;

	for (trial = 0; trial < 42; trial++) {
		mtag_conv_shape s;
		int OH, OW, relu = trial & 1;
		float *x, *w, *b, *y, *col;
		double *xd, *ref;
		size_t nx;

		s.C = irand(1, 5);
		s.KH = irand(1, 5);
		s.KW = irand(1, 7);
		s.H = irand(s.KH, 12);
		s.W = irand(s.KW, 30);
		s.O = irand(1, 9);
		s.SH = irand(1, 3);
		s.SW = irand(1, 3);
		s.PH = irand(0, s.KH / 2);
		s.PW = irand(0, s.KW / 2);
		if (trial % 5 == 0)	/* the pointwise path */
			s.KH = s.KW = s.SH = s.SW = 1, s.PH = s.PW = 0;
		if (trial >= 40) {	/* im2col in several tiles */
			s = (mtag_conv_shape){ .C = 64, .H = 80, .W = 53 +
			    trial, .O = 3, .KH = 3, .KW = 3, .SH = 1,
			    .SW = trial - 39, .PH = 1, .PW = 1 };
			CHECK(mtag_conv_scratch(&s) < (size_t)s.C * 9 *
			    mtag_conv_out_h(&s) * mtag_conv_out_w(&s));
		}
		OH = mtag_conv_out_h(&s);
		OW = mtag_conv_out_w(&s);
		nx = (size_t)s.C * s.H * s.W;
		x = random_array(nx);
		w = random_array((size_t)s.O * s.C * s.KH * s.KW);
		b = random_array(s.O);
		y = random_array((size_t)s.O * OH * OW);
		col = random_array(mtag_conv_scratch(&s));
		xd = to_double(x, nx);
		ref = malloc(sizeof(double) * s.O * OH * OW);
		ref_conv(&s, xd, w, b, relu, ref);
		mtag_conv2d(&s, x, w, b, relu, y, col);
		/* Rounding grows with the 576 terms of the tiled cases. */
		CHECK(max_err(y, ref, (size_t)s.O * OH * OW) <
		    (trial >= 40 ? 1e-4 : 1e-5));
		free(x);
		free(w);
		free(b);
		free(y);
		free(col);
		free(xd);
		free(ref);
	}
}

/* Wide convolutions, pooled or not: over many channels (im2col in several
 * tiles), and of one channel with large filters (one SGEMM per output row,
 * stride 1 down, 64 filter taps or more). */
static void
test_conv_paths(void)
{
	static const mtag_conv_shape shapes[] = {
		{ .C = 16, .H = 9, .W = 13, .O = 5, .KH = 3, .KW = 3,
		  .SH = 1, .SW = 1, .PH = 1, .PW = 1 },
		{ .C = 24, .H = 10, .W = 30, .O = 7, .KH = 3, .KW = 3,
		  .SH = 1, .SW = 1, .PH = 0, .PW = 0 },
		{ .C = 40, .H = 96, .W = 301, .O = 33, .KH = 3, .KW = 3,
		  .SH = 1, .SW = 1, .PH = 1, .PW = 1 },
		{ .C = 17, .H = 3, .W = 4, .O = 3, .KH = 3, .KW = 3,
		  .SH = 1, .SW = 1, .PH = 1, .PW = 1 },
		{ .C = 64, .H = 5, .W = 5, .O = 70, .KH = 3, .KW = 3,
		  .SH = 1, .SW = 1, .PH = 0, .PW = 1 },
		{ .C = 256, .H = 40, .W = 700, .O = 20, .KH = 3, .KW = 3,
		  .SH = 1, .SW = 1, .PH = 1, .PW = 1 },
		{ .C = 1, .H = 96, .W = 187, .O = 24, .KH = 67, .KW = 7,
		  .SH = 1, .SW = 1, .PH = 0, .PW = 3 },
		{ .C = 1, .H = 20, .W = 33, .O = 5, .KH = 9, .KW = 8,
		  .SH = 1, .SW = 2, .PH = 2, .PW = 1 },
	};
	size_t i;
	int pooled;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
	for (pooled = 0; pooled < 2; pooled++) {
		const mtag_conv_shape *s = &shapes[i];
		const int OH = mtag_conv_out_h(s), OW = mtag_conv_out_w(s);
		const int KH = pooled ? (OH > 1 ? 2 : 1) : 1, KW = pooled ? 3 : 1;
		const size_t nx = (size_t)s->C * s->H * s->W;
		const size_t ny = (size_t)s->O * (OH / KH) * (OW / KW);
		float *x = random_array(nx), *b = random_array(s->O);
		float *w = random_array((size_t)s->O * s->C * s->KH * s->KW);
		float *y = random_array(ny);
		float *col = random_array(mtag_conv_scratch(s));
		double *xd = to_double(x, nx), *ref;
		int o, r, c, a, e;

		ref = malloc(sizeof(double) * s->O * OH * OW);
		ref_conv(s, xd, w, b, 1, ref);
		for (o = 0; o < s->O && pooled; o++)	/* pool ref in place */
		for (r = 0; r < OH / KH; r++)
		for (c = 0; c < OW / KW; c++) {
			double m = -INFINITY;

			for (a = 0; a < KH; a++)
				for (e = 0; e < KW; e++)
					m = fmax(m, ref[((size_t)o * OH +
					    r * KH + a) * OW + c * KW + e]);
			ref[((size_t)o * (OH / KH) + r) * (OW / KW) + c] = m;
		}
		if (pooled)
			mtag_conv2d_pool(s, x, w, b, KH, KW, y, col);
		else
			mtag_conv2d(s, x, w, b, 1, y, col);
		CHECK(max_err(y, ref, ny) < 2e-4);
		free(x), free(b), free(w), free(y), free(col);
		free(xd), free(ref);
	}
}

/* Convolution with max pooling fused, against the naive convolution then
 * pooling; the last trials take several tiles, whose edges fall inside
 * rows and pooling windows. */
static void
test_conv2d_pool(void)
{
	int trial;

	for (trial = 0; trial < 24; trial++) {
		mtag_conv_shape s;
		int OH, OW, KH, KW, PH, PW, o, i, j, a, bb;
		float *x, *w, *b, *y, *col;
		double *xd, *conv, *ref;
		size_t nx;

		s.C = irand(1, 5);
		s.KH = irand(1, 5);
		s.KW = irand(1, 7);
		s.H = irand(s.KH + 1, 14);
		s.W = irand(s.KW + 1, 30);
		s.O = irand(1, 9);
		s.SH = irand(1, 2);
		s.SW = irand(1, 2);
		s.PH = irand(0, s.KH / 2);
		s.PW = irand(0, s.KW / 2);
		if (trial >= 20)
			s = (mtag_conv_shape){ .C = 64, .H = 60, .W = 150 +
			    trial, .O = 5, .KH = 3, .KW = 3, .SH = 1, .SW = 1,
			    .PH = 1, .PW = 1 };
		OH = mtag_conv_out_h(&s);
		OW = mtag_conv_out_w(&s);
		KH = irand(1, OH);
		KW = irand(1, OW);
		if (trial >= 20)
			KH = 3, KW = 4;
		PH = OH / KH;
		PW = OW / KW;
		nx = (size_t)s.C * s.H * s.W;
		x = random_array(nx);
		w = random_array((size_t)s.O * s.C * s.KH * s.KW);
		b = random_array(s.O);
		y = random_array((size_t)s.O * PH * PW);
		col = random_array(mtag_conv_scratch(&s));
		xd = to_double(x, nx);
		conv = malloc(sizeof(double) * s.O * OH * OW);
		ref = malloc(sizeof(double) * s.O * PH * PW);
		ref_conv(&s, xd, w, b, 1, conv);
		for (o = 0; o < s.O; o++)
		for (i = 0; i < PH; i++)
		for (j = 0; j < PW; j++) {
			double m = -INFINITY;

			for (a = 0; a < KH; a++)
				for (bb = 0; bb < KW; bb++)
					m = fmax(m, conv[((size_t)o * OH +
					    i * KH + a) * OW + j * KW + bb]);
			ref[((size_t)o * PH + i) * PW + j] = m;
		}
		mtag_conv2d_pool(&s, x, w, b, KH, KW, y, col);
		CHECK(max_err(y, ref, (size_t)s.O * PH * PW) <
		    (trial >= 20 ? 1e-4 : 1e-5));
		free(x), free(w), free(b), free(y), free(col);
		free(xd), free(conv), free(ref);
	}
}

static void
test_fold_bn(void)
{
	const int O = 4, K = 6;
	float *w = random_array(O * K), *b = random_array(O);
	float *g = random_array(O), *beta = random_array(O);
	float *mean = random_array(O), *var = random_array(O);
	float *x = random_array(K), w0[O * K], b0[O];
	double ref[O];
	float got[O];
	int o, k;

	for (o = 0; o < O; o++)
		var[o] = fabsf(var[o]) + 0.1f;
	memcpy(w0, w, sizeof(w0));
	memcpy(b0, b, sizeof(b0));
	for (o = 0; o < O; o++) {
		double acc = b0[o];

		for (k = 0; k < K; k++)
			acc += (double)w0[o * K + k] * x[k];
		ref[o] = (acc - mean[o]) / sqrt(var[o] + 1e-5) * g[o] + beta[o];
	}
	mtag_fold_bn(w, b, O, K, g, beta, mean, var, 1e-5f);
	mtag_linear(x, 1, K, w, b, O, got);
	CHECK(max_err(got, ref, O) < 1e-5);
	free(w), free(b), free(g), free(beta), free(mean), free(var), free(x);
}

static void
test_maxpool(void)
{
	int trial;

	for (trial = 0; trial < 20; trial++) {
		int C = irand(1, 4), H = irand(1, 13), W = irand(1, 17);
		int KH = irand(1, H), KW = irand(1, W), OH = H / KH, OW = W / KW;
		float *x = random_array((size_t)C * H * W);
		float *y = random_array((size_t)C * OH * OW);
		double *ref = malloc(sizeof(double) * C * OH * OW);
		int c, i, j, a, bb;

		for (c = 0; c < C; c++)
		for (i = 0; i < OH; i++)
		for (j = 0; j < OW; j++) {
			double m = -INFINITY;

			for (a = 0; a < KH; a++)
				for (bb = 0; bb < KW; bb++)
					m = fmax(m, x[(c * H + i * KH + a) *
					    W + j * KW + bb]);
			ref[(c * OH + i) * OW + j] = m;
		}
		mtag_maxpool2d(x, C, H, W, KH, KW, y);
		CHECK(max_err(y, ref, (size_t)C * OH * OW) == 0.0);
		free(x);
		free(y);
		free(ref);
	}
}

/* Linear with and without bias, and accumulating into y. */
static void
test_linear(void)
{
	int N = 3, IN = 37, O = 11, n, o, i, mode;
	float *x = random_array(N * IN), *w = random_array(O * IN);
	float *b = random_array(O), *y = random_array(N * O);
	double ref[3 * 11];

	for (mode = 0; mode < 3; mode++) {
		const float *bias = mode == 1 ? NULL : b;

		for (n = 0; n < N; n++)
			for (o = 0; o < O; o++) {
				double acc = bias ? bias[o] : 0.0;

				for (i = 0; i < IN; i++)
					acc += (double)x[n * IN + i] *
					    w[o * IN + i];
				ref[n * O + o] = acc + (mode == 2 ?
				    y[n * O + o] : 0.0);
			}
		if (mode == 2)
			mtag_linear_acc(x, N, IN, w, bias, O, y);
		else
			mtag_linear(x, N, IN, w, bias, O, y);
		CHECK(max_err(y, ref, N * O) < 1e-5);
	}
	free(x), free(w), free(b), free(y);
}

static void
test_transpose(void)
{
	int trial, r, c;

	for (trial = 0; trial < 5; trial++) {
		const int R = irand(1, 20), C = irand(1, 20);
		float *x = random_array(R * C), *y = random_array(R * C);
		double *ref = malloc(sizeof(double) * R * C);

		for (r = 0; r < R; r++)
			for (c = 0; c < C; c++)
				ref[c * R + r] = x[r * C + c];
		mtag_transpose(x, R, C, y);
		CHECK(max_err(y, ref, R * C) == 0.0);
		free(x), free(y), free(ref);
	}
}

/* Rows offset and scaled, as a residual stream is. */
static void
test_layernorm(void)
{
	int trial, n, i, inplace;

	for (trial = 0; trial < 5; trial++) {
		const int N = irand(1, 6), D = irand(2, 70);
		float *x = random_array(N * D), *g = random_array(D);
		float *beta = random_array(D), *y = random_array(N * D);
		double *ref = malloc(sizeof(double) * N * D);

		for (i = 0; i < N * D; i++)
			x[i] = x[i] * 10.0f + 3.0f;
		for (n = 0; n < N; n++) {
			double mean = 0, var = 0;

			for (i = 0; i < D; i++)
				mean += x[n * D + i];
			mean /= D;
			for (i = 0; i < D; i++)
				var += (x[n * D + i] - mean) *
				    (x[n * D + i] - mean);
			var /= D;
			for (i = 0; i < D; i++)
				ref[n * D + i] = (x[n * D + i] - mean) /
				    sqrt(var + 1e-5) * g[i] + beta[i];
		}
		for (inplace = 0; inplace < 2; inplace++) {
			mtag_layernorm(x, N, D, g, beta, 1e-5f,
			    inplace ? x : y);
			CHECK(max_err(inplace ? x : y, ref, N * D) < 1e-5);
		}
		free(x), free(g), free(beta), free(y), free(ref);
	}
}

static void
test_attention(void)
{
	int trial, h, i, j, k;

	for (trial = 0; trial < 5; trial++) {
		const int T = irand(1, 12), heads = irand(1, 4);
		const int dh = irand(1, 6), D = heads * dh;
		float *qkv = random_array(T * 3 * D);
		float *out = random_array(T * D), *scores = random_array(T * T);
		double *ref = malloc(sizeof(double) * T * D), p[12];

		for (i = 0; i < T * 3 * D; i++)
			qkv[i] *= 3.0f;
		for (h = 0; h < heads; h++)
		for (i = 0; i < T; i++) {
			double mx = -INFINITY, sum = 0;

			for (j = 0; j < T; j++) {
				p[j] = 0;
				for (k = 0; k < dh; k++)
					p[j] += (double)qkv[i * 3 * D + h *
					    dh + k] * qkv[(j * 3 + 1) * D +
					    h * dh + k];
				p[j] /= sqrt(dh);
				mx = fmax(mx, p[j]);
			}
			for (j = 0; j < T; j++)
				sum += p[j] = exp(p[j] - mx);
			for (k = 0; k < dh; k++) {
				double acc = 0;

				for (j = 0; j < T; j++)
					acc += p[j] / sum * qkv[(j * 3 + 2) *
					    D + h * dh + k];
				ref[i * D + h * dh + k] = acc;
			}
		}
		mtag_attention(qkv, T, D, heads, out, scores);
		CHECK(max_err(out, ref, T * D) < 1e-5);
		free(qkv), free(out), free(scores), free(ref);
	}
}

static double
sigm(double v)
{
	return 1.0 / (1.0 + exp(-v));
}

static void
test_activations(void)
{
	float v[5] = { -100.0f, -1.0f, 0.0f, 2.5f, 100.0f }, r[5];
	double ref[5];
	int i;

	memcpy(r, v, sizeof(r));
	for (i = 0; i < 5; i++)
		ref[i] = sigm(v[i]);
	mtag_sigmoid(v, 5);
	CHECK(max_err(v, ref, 5) < 1e-6);
	for (i = 0; i < 5; i++)
		ref[i] = r[i] > 0 ? r[i] : 0;
	mtag_relu(r, 5);
	CHECK(max_err(r, ref, 5) == 0.0);
}

static void
test_tanh_gelu(void)
{
	float v[7] = { -30.0f, -3.0f, -0.5f, 0.0f, 0.7f, 2.5f, 30.0f }, g[7];
	double ref[7];
	int i;

	memcpy(g, v, sizeof(g));
	for (i = 0; i < 7; i++)
		ref[i] = tanh(v[i]);
	mtag_tanh(v, 7);
	CHECK(max_err(v, ref, 7) < 1e-6);
	for (i = 0; i < 7; i++)
		ref[i] = 0.5 * g[i] * (1.0 + erf(g[i] / sqrt(2.0)));
	mtag_gelu(g, 7);
	CHECK(max_err(g, ref, 7) < 1e-6);
}

/* NumPy: np.random.seed(0); np.random.random(1000)[[0, 1, 2, 3, 4, 999]]
 * (the last after the generator's first refill). */
static void
test_random_uniform(void)
{
	static const double numpy[] = { 0.5488135039273248,
	    0.7151893663724195, 0.6027633760716439, 0.5448831829968969,
	    0.4236547993389047 };
	float x[1000];
	double ref[5];
	int i;

	for (i = 0; i < 5; i++)
		ref[i] = (float)numpy[i];
	mtag_random_uniform(0, x, 1000);
	CHECK(max_err(x, ref, 5) == 0.0);
	ref[0] = (float)0.6771411441114241;
	CHECK(max_err(x + 999, ref, 1) == 0.0);
}

static void
test_gru(void)
{
	const int T = 9, IN = 7, H = 5;
	float *x = random_array(T * IN), *wi = random_array(3 * H * IN);
	float *wh = random_array(3 * H * H), *bi = random_array(3 * H);
	float *bh = random_array(3 * H), *h = random_array(T * H);
	float *gates = random_array(6 * H);
	double ref[9 * 5], prev[5] = { 0 };
	int t, j, k;

	for (t = 0; t < T; t++) {
		for (j = 0; j < H; j++) {
			double g[3], q[3];
			int gate;

			for (gate = 0; gate < 3; gate++) {
				int row = gate * H + j;

				g[gate] = bi[row];
				q[gate] = bh[row];
				for (k = 0; k < IN; k++)
					g[gate] += (double)wi[row * IN + k] *
					    x[t * IN + k];
				for (k = 0; k < H; k++)
					q[gate] += (double)wh[row * H + k] *
					    prev[k];
			}
			{
				double r = sigm(g[0] + q[0]);
				double z = sigm(g[1] + q[1]);
				double n = tanh(g[2] + r * q[2]);

				ref[t * H + j] = (1 - z) * n + z * prev[j];
			}
		}
		memcpy(prev, ref + t * H, sizeof(prev));
	}
	mtag_gru(x, T, IN, H, wi, wh, bi, bh, h, gates);
	CHECK(max_err(h, ref, T * H) < 1e-5);
	free(x), free(wi), free(wh), free(bi), free(bh), free(h), free(gates);
}

/* y = block b of x, in double. */
static void
ref_block(const mtag_block *b, const double *x, double *y)
{
	const mtag_conv_shape *s = &b->s1;
	const int OH = mtag_conv_out_h(s), OW = mtag_conv_out_w(s);
	const size_t L = (size_t)OH * OW, n = s->O * L;
	double *t = malloc(sizeof(double) * n), *u = malloc(sizeof(double) * n);
	size_t i;
	int o, r, oh, ow, a, c;

	if (b->s2.O == 0) {
		ref_conv(s, x, b->w1, b->b1, 1, u);
	} else {
		ref_conv(s, x, b->w1, b->b1, 1, t);
		ref_conv(&b->s2, t, b->w2, b->b2, 0, u);
		if (b->se_w1 != NULL) {
			double mean[32], hid[16], gate;

			assert(s->O <= 32 && b->se_hidden <= 16);
			for (o = 0; o < s->O; o++) {
				mean[o] = 0;
				for (i = 0; i < L; i++)
					mean[o] += u[o * L + i] / L;
			}
			for (r = 0; r < b->se_hidden; r++) {
				hid[r] = b->se_b1[r];
				for (o = 0; o < s->O; o++)
					hid[r] += b->se_w1[r * s->O + o] *
					    mean[o];
				hid[r] = fmax(hid[r], 0);
			}
			for (o = 0; o < s->O; o++) {
				gate = b->se_b2[o];
				for (r = 0; r < b->se_hidden; r++)
					gate += b->se_w2[o * b->se_hidden + r] *
					    hid[r];
				for (i = 0; i < L; i++)
					u[o * L + i] *= sigm(gate);
			}
		}
		if (b->w3 != NULL)
			ref_conv(s, x, b->w3, b->b3, 0, t);
		else
			memcpy(t, x, sizeof(double) * n);
		for (i = 0; i < n; i++)
			u[i] = fmax(u[i] + t[i], 0);
	}
	for (o = 0; o < s->O; o++)
	for (oh = 0; oh < OH / b->pool_h; oh++)
	for (ow = 0; ow < OW / b->pool_w; ow++) {
		double m = -INFINITY;

		for (a = 0; a < b->pool_h; a++)
			for (c = 0; c < b->pool_w; c++)
				m = fmax(m, u[(o * OH + oh * b->pool_h + a) *
				    OW + ow * b->pool_w + c]);
		y[(o * (OH / b->pool_h) + oh) * (OW / b->pool_w) + ow] = m;
	}
	free(t);
	free(u);
}

/* Chains of three random blocks of every kind, 1-D and 2-D. */
static void
test_blocks(void)
{
	int trial, i, k;

	for (trial = 0; trial < 24; trial++) {
		const int oned = trial & 1, n = 3;
		const int wide = trial % 3 == 0;	/* 16 channels or more */
		mtag_block b[3];
		float *wts[3][10], *x, *buf0, *buf1, *tmp, *col, *out;
		double *ref, *next;
		size_t act, ncol, nx;
		int C = wide ? irand(16, 20) : irand(1, 4);
		int H = oned ? 1 : irand(8, 14);
		int W = irand(16, 40), C0 = C, H0 = H, W0 = W;

		memset(b, 0, sizeof(b));
		for (i = 0; i < n; i++) {
			const int kind = irand(0, 4), K = irand(0, 3) ? 3 : 1;
			const int ident = kind == 1 || kind == 4;
			const int stride = ident ? 1 : irand(1, 2);
			const int O = ident ? C : wide ? irand(16, 20) :
			    irand(1, 5);
			mtag_conv_shape *s = &b[i].s1;
			size_t nw = (size_t)O * C * K * (oned ? 1 : K);

			*s = (mtag_conv_shape){ .C = C, .H = H, .W = W, .O = O,
			    .KH = oned ? 1 : K, .KW = K, .SH = oned ? 1 :
			    stride, .SW = stride, .PH = oned ? 0 : K / 2,
			    .PW = K / 2 };
			b[i].pool_h = oned || mtag_conv_out_h(s) < 2 ? 1 :
			    irand(1, 2);
			b[i].pool_w = mtag_conv_out_w(s) < 2 ? 1 : irand(1, 2);
			memset(wts[i], 0, sizeof(wts[i]));
			b[i].w1 = wts[i][0] = random_array(nw);
			b[i].b1 = wts[i][1] = random_array(O);
			if (kind > 0) {
				b[i].s2 = *s;
				b[i].s2.C = O;
				b[i].s2.H = mtag_conv_out_h(s);
				b[i].s2.W = mtag_conv_out_w(s);
				b[i].s2.SH = b[i].s2.SW = 1;
				b[i].w2 = wts[i][2] = random_array(nw / C * O);
				b[i].b2 = wts[i][3] = random_array(O);
			}
			if (kind == 2 || kind == 3) {
				b[i].w3 = wts[i][4] = random_array(nw);
				b[i].b3 = wts[i][5] = random_array(O);
			}
			if (kind >= 3) {
				b[i].se_hidden = irand(1, 5);
				b[i].se_w1 = wts[i][6] = random_array(O *
				    b[i].se_hidden);
				b[i].se_b1 = wts[i][7] = random_array(
				    b[i].se_hidden);
				b[i].se_w2 = wts[i][8] = random_array(O *
				    b[i].se_hidden);
				b[i].se_b2 = wts[i][9] = random_array(O);
			}
			mtag_block_out(&b[i], &C, &H, &W);
		}
		mtag_blocks_scratch(b, n, &act, &ncol);
		nx = (size_t)C0 * H0 * W0;
		CHECK(act >= nx && act >= (size_t)C * H * W);
		buf0 = random_array(act);
		buf1 = random_array(act);
		tmp = random_array(act);
		col = random_array(ncol);
		/* The input in buf0 or apart. */
		x = trial % 4 < 2 ? buf0 : random_array(nx);
		ref = to_double(x, nx);
		for (i = 0; i < n; i++) {
			const mtag_conv_shape *s = &b[i].s1;

			next = malloc(sizeof(double) * s->O *
			    mtag_conv_out_h(s) * mtag_conv_out_w(s));
			ref_block(&b[i], ref, next);
			free(ref);
			ref = next;
		}
		out = mtag_blocks_run(b, n, x, buf0, buf1, tmp, col);
		CHECK(out == buf0 || out == buf1);
		/* Wide chains reach thousands: rounding relative to that. */
		CHECK(max_err(out, ref, (size_t)C * H * W) <
		    fmax(1e-4, 1e-6 * max_abs(ref, (size_t)C * H * W)));
		for (i = 0; i < n; i++)
			for (k = 0; k < 10; k++)
				free(wts[i][k]);
		if (x != buf0)
			free(x);
		free(buf0), free(buf1), free(tmp), free(col), free(ref);
	}
}

/* The front end against a direct DFT with reflect padding. */
static void
test_frontend(void)
{
	const int n_fft = 64, hop = 32, n = 300, bins = n_fft / 2 + 1, bands = 7;
	float *x = random_array(n), *fb = random_array(bins * bands);
	float window[64], *out, *work;
	double *ref, *power;
	mtag_frontend *fe;
	int frames, t, k, f, j;

	for (j = 0; j < bins * bands; j++)
		fb[j] = fabsf(fb[j]);
	for (k = 0; k < n_fft; k++)
		window[k] = 0.5f - 0.5f * cosf(2.0f * (float)M_PI * k / n_fft);
	fe = mtag_frontend_new(n_fft, hop, n, window, fb, bands);
	CHECK(fe != NULL);
	if (fe == NULL)
		return;
	frames = mtag_frontend_frames(fe);
	CHECK(frames == 1 + n / hop);
	out = malloc(sizeof(float) * bands * frames);
	ref = malloc(sizeof(double) * bands * frames);
	power = malloc(sizeof(double) * bins);
	for (t = 0; t < frames; t++) {
		for (f = 0; f < bins; f++) {
			double re = 0, im = 0;

			for (k = 0; k < n_fft; k++) {
				int i = t * hop - n_fft / 2 + k;
				double v;

				if (i < 0)
					i = -i;
				if (i >= n)
					i = 2 * (n - 1) - i;
				v = (double)x[i] * window[k];
				re += v * cos(2 * M_PI * f * k / n_fft);
				im -= v * sin(2 * M_PI * f * k / n_fft);
			}
			power[f] = re * re + im * im;
		}
		for (j = 0; j < bands; j++) {
			double acc = 0;

			for (f = 0; f < bins; f++)
				acc += power[f] * fb[f * bands + j];
			ref[j * frames + t] = 10 * log10(fmax(acc, 1e-10));
		}
	}
	/* A work buffer off the 64-byte boundaries. */
	work = malloc(sizeof(float) * (mtag_frontend_scratch(fe) + 1));
	mtag_frontend_db(fe, x, out, work + 1);
	CHECK(max_err(out, ref, (size_t)bands * frames) < 1e-4);
	mtag_frontend_free(fe);
	CHECK(mtag_frontend_new(64, 32, 32, window, fb, bands) == NULL);
	free(x), free(fb), free(out), free(ref), free(power), free(work);
}

int
main(void)
{
	test_conv2d();
	test_conv2d_pool();
	test_conv_paths();
	test_fold_bn();
	test_maxpool();
	test_linear();
	test_transpose();
	test_activations();
	test_tanh_gelu();
	test_layernorm();
	test_attention();
	test_random_uniform();
	test_gru();
	test_blocks();
	test_frontend();
	mtag_frontend_free(NULL);
	printf("%d failed checks\n", test_failures);
	return test_failures ? 1 : 0;
}

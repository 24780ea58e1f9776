/* Checks every optimised operation against a naive reference on random
 * shapes and values. */
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

static void
test_conv2d(void)
{
	int trial;

	for (trial = 0; trial < 40; trial++) {
		mtag_conv_shape s;
		int oh, ow, o, c, kh, kw, OH, OW, relu = trial & 1;
		float *x, *w, *b, *y, *col;
		double *ref;

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
		OH = mtag_conv_out_h(&s);
		OW = mtag_conv_out_w(&s);
		x = random_array((size_t)s.C * s.H * s.W);
		w = random_array((size_t)s.O * s.C * s.KH * s.KW);
		b = random_array(s.O);
		y = random_array((size_t)s.O * OH * OW);
		col = random_array(mtag_conv_scratch(&s));
		ref = calloc((size_t)s.O * OH * OW, sizeof(double));
		for (o = 0; o < s.O; o++)
		for (oh = 0; oh < OH; oh++)
		for (ow = 0; ow < OW; ow++) {
			double acc = b[o];

			for (c = 0; c < s.C; c++)
			for (kh = 0; kh < s.KH; kh++)
			for (kw = 0; kw < s.KW; kw++) {
				int ih = oh * s.SH - s.PH + kh;
				int iw = ow * s.SW - s.PW + kw;

				if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W)
					continue;
				acc += (double)w[((o * s.C + c) * s.KH + kh) *
				    s.KW + kw] * x[(c * s.H + ih) * s.W + iw];
			}
			if (relu && acc < 0)
				acc = 0;
			ref[(o * OH + oh) * OW + ow] = acc;
		}
		mtag_conv2d(&s, x, w, b, relu, y, col);
		CHECK(max_err(y, ref, (size_t)s.O * OH * OW) < 1e-5);
		free(x);
		free(w);
		free(b);
		free(y);
		free(col);
		free(ref);
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

static void
test_linear(void)
{
	int N = 3, IN = 37, O = 11, n, o, i;
	float *x = random_array(N * IN), *w = random_array(O * IN);
	float *b = random_array(O), *y = random_array(N * O);
	double ref[3 * 11];

	for (n = 0; n < N; n++)
		for (o = 0; o < O; o++) {
			double acc = b[o];

			for (i = 0; i < IN; i++)
				acc += (double)x[n * IN + i] * w[o * IN + i];
			ref[n * O + o] = acc;
		}
	mtag_linear(x, N, IN, w, b, O, y);
	CHECK(max_err(y, ref, N * O) < 1e-5);
	free(x), free(w), free(b), free(y);
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

/* The front end against a direct DFT with reflect padding. */
static void
test_frontend(void)
{
	const int n_fft = 64, hop = 32, n = 300, bins = n_fft / 2 + 1, bands = 7;
	float *x = random_array(n), *fb = random_array(bins * bands);
	float window[64], *out;
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
	mtag_frontend_db(fe, x, out);
	CHECK(max_err(out, ref, (size_t)bands * frames) < 1e-4);
	mtag_frontend_free(fe);
	CHECK(mtag_frontend_new(64, 32, 32, window, fb, bands) == NULL);
	free(x), free(fb), free(out), free(ref), free(power);
}

int
main(void)
{
	test_conv2d();
	test_fold_bn();
	test_maxpool();
	test_linear();
	test_activations();
	test_gru();
	test_frontend();
	mtag_frontend_free(NULL);
	printf("%d failed checks\n", test_failures);
	return test_failures ? 1 : 0;
}

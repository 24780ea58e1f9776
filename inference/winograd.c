/* Winograd (Toom-Cook) convolution: Y = A^T [(G g G^T) . (B^T d B)] A per
 * tile, the element-wise products summed over channels as one SGEMM per
 * transform element. With the polynomial s = g h evaluated at points p_k
 * and at infinity (leading coefficient): G evaluates the filter, A^T is the
 * transposed evaluation of a tile's outputs, B^T the transposed inverse of
 * the evaluation of s. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "winograd.h"

/* Tiles along a row handled together, as one vector (GCC's and Clang's
 * vector extensions); rows hold whole lanes, the tiles past the output
 * being dropped. */
#define LANE 8

typedef float vlane __attribute__((vector_size(LANE * sizeof(float)),
    aligned(sizeof(float)), may_alias));

#define VEC(p) (*(vlane *)(p))	/* the lane at p, at any float alignment */

/* Interpolation points, the smallest magnitudes first (the error grows with
 * them); infinity comes after the n - 1 first. */
static const double points[] = { 0.0, 1.0, -1.0 };

/* Inverts a (n x n, row-major) into inv by Gauss-Jordan elimination with
 * partial pivoting. The matrices here are small and well conditioned. */
static void
invert(double *a, int n, double *inv)
{
	int i, j, k, piv;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			inv[i * n + j] = i == j;
	for (k = 0; k < n; k++) {
		piv = k;
		for (i = k + 1; i < n; i++)
			if (fabs(a[i * n + k]) > fabs(a[piv * n + k]))
				piv = i;
		for (j = 0; j < n; j++) {
			double t = a[k * n + j];

			a[k * n + j] = a[piv * n + j];
			a[piv * n + j] = t;
			t = inv[k * n + j];
			inv[k * n + j] = inv[piv * n + j];
			inv[piv * n + j] = t;
		}
		for (i = 0; i < n; i++) {
			double f;

			if (i == k)
				continue;
			f = a[i * n + k] / a[k * n + k];
			for (j = 0; j < n; j++) {
				a[i * n + j] -= f * a[k * n + j];
				inv[i * n + j] -= f * inv[k * n + j];
			}
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			inv[i * n + j] /= a[i * n + i];
}

/* The transforms of F(m, r), n = m + r - 1 <= MTAG_WINO_MAXN. */
static void
transforms(int m, int r, float *bt, float *at, double *g)
{
	const int n = m + r - 1, nf = n - 1;
	double e[MTAG_WINO_MAXN * MTAG_WINO_MAXN];
	double c[MTAG_WINO_MAXN * MTAG_WINO_MAXN];
	int i, j, k;

	assert(n <= MTAG_WINO_MAXN && nf <= (int)(sizeof(points) /
	    sizeof(points[0])));
	for (k = 0; k < n; k++)		/* evaluation of s, degree n - 1 */
		for (j = 0; j < n; j++)
			e[k * n + j] = k < nf ? pow(points[k], j) : j == n - 1;
	invert(e, n, c);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			bt[i * n + j] = (float)c[j * n + i];
	for (i = 0; i < m; i++)
		for (k = 0; k < n; k++)
			at[i * n + k] = (float)(k < nf ? pow(points[k], i) :
			    i == m - 1);
	for (k = 0; k < n; k++)
		for (j = 0; j < r; j++)
			g[k * r + j] = k < nf ? pow(points[k], j) : j == r - 1;
}

int
mtag_wino_init(mtag_wino *p, const mtag_conv_shape *s)
{
	memset(p, 0, sizeof(*p));
	if (s->SH != 1 || s->SW != 1 || s->KH != 3 || s->KW != 3 ||
	    s->C < 16)
		return -1;
	p->s = *s;
	p->OH = mtag_conv_out_h(s);
	p->OW = mtag_conv_out_w(s);
	p->mh = p->mw = 2;
	p->nh = p->mh + s->KH - 1;
	p->nw = p->mw + s->KW - 1;
	transforms(p->mh, s->KH, p->bth, p->ath, p->gh);
	transforms(p->mw, s->KW, p->btw, p->atw, p->gw);
	p->Q = p->nh * p->nw;
	p->tiles_w = (p->OW + p->mw - 1) / p->mw;	/* whole lanes */
	p->tiles_w = (p->tiles_w + LANE - 1) / LANE * LANE;
	return 0;
}

/* Floats of each phase of a padded input row (see pad_row). */
static int
phase_len(const mtag_wino *p)
{
	return (p->tiles_w + (p->nw + p->mw - 1) / p->mw + LANE - 1) / LANE *
	    LANE;
}

/* Floats of a padded input row: the columns every tile reads. */
static int
row_len(const mtag_wino *p)
{
	return p->mw * phase_len(p);
}

size_t
mtag_wino_filter_size(const mtag_wino *p)
{
	return (size_t)p->Q * p->s.O * p->s.C;
}

/* Tiles of a band of rows output rows. */
static size_t
band_tiles(const mtag_wino *p, int rows)
{
	return (size_t)((rows + p->mh - 1) / p->mh) * p->tiles_w;
}

size_t
mtag_wino_scratch(const mtag_wino *p, int rows)
{
	const size_t P = band_tiles(p, rows);

	/* V (Q x C x P), M (Q x O x P), padded and mixed input rows. */
	return (size_t)p->Q * (p->s.C + p->s.O) * P +
	    (size_t)2 * p->nh * row_len(p);
}

int
mtag_wino_band(const mtag_wino *p, size_t max)
{
	const size_t per = (size_t)p->Q * (p->s.C + p->s.O) * p->tiles_w;
	int tiles = (int)(max / per);
	int rows = tiles * p->mh;

	if (rows < p->mh)
		rows = p->mh;
	if (rows > p->OH)
		rows = (p->OH + p->mh - 1) / p->mh * p->mh;
	return rows;
}

void
mtag_wino_filters(const mtag_wino *p, const float *w, float *u)
{
	const int O = p->s.O, C = p->s.C, KH = p->s.KH, KW = p->s.KW;
	const int nh = p->nh, nw = p->nw;
	const size_t plane = (size_t)O * C;
	double t[MTAG_WINO_MAXN * MTAG_WINO_MAXN];
	int o, c, i, j, a, v;

	for (o = 0; o < O; o++)
	for (c = 0; c < C; c++) {
		const float *g = w + ((size_t)o * C + c) * KH * KW;

		for (a = 0; a < nh; a++)	/* t = G_h g */
			for (j = 0; j < KW; j++) {
				double sum = 0.0;

				for (i = 0; i < KH; i++)
					sum += p->gh[a * KH + i] *
					    g[i * KW + j];
				t[a * KW + j] = sum;
			}
		for (a = 0; a < nh; a++)	/* u = t G_w^T */
			for (v = 0; v < nw; v++) {
				double sum = 0.0;

				for (j = 0; j < KW; j++)
					sum += t[a * KW + j] *
					    p->gw[v * KW + j];
				u[(size_t)(a * nw + v) * plane +
				    (size_t)o * C + c] = (float)sum;
			}
	}
}

/* prow = input row xr (W floats; NULL: zeros outside the input) padded and
 * split in mw phases of phase_len floats: prow[f * phase_len + i] is column
 * i * mw + f - PW, zero outside the input. Tile tw's column b is then
 * prow[(b % mw) * phase_len + tw + b / mw], and a lane of tiles a vector. */
static void
pad_row(const mtag_wino *p, const float *xr, float *prow)
{
	const int L = phase_len(p), mw = p->mw;
	int f, i, j;

	memset(prow, 0, sizeof(float) * row_len(p));
	if (xr == NULL)
		return;
	for (f = 0; f < mw; f++)
		for (i = 0; i < L; i++) {
			j = i * mw + f - p->s.PW;
			if (j >= 0 && j < p->s.W)
				prow[f * L + i] = xr[j];
		}
}

/* dst[v * dstride + tw] = (B_w^T d)[v], d the columns of tile tw in the
 * padded row prow. */
static void
row_transform(const mtag_wino *p, const float *prow, float *dst,
    size_t dstride)
{
	const int nw = p->nw, mw = p->mw, T = p->tiles_w, L = phase_len(p);
	vlane acc;
	int tw, b, v;

	for (v = 0; v < nw; v++) {
		const float *bt = p->btw + v * nw;

		for (tw = 0; tw < T; tw += LANE) {
			acc = (vlane){ 0 };
			for (b = 0; b < nw; b++)
				if (bt[b] != 0.0f)
					acc += bt[b] * VEC(prow +
					    (b % mw) * L + tw + b / mw);
			VEC(dst + v * dstride + tw) = acc;
		}
	}
}

/* V for 2-D tiles: V[a * nw + v][c][th * tiles_w + tw] = (B_h^T d B_w)[a][v]
 * of the nh x nw input tile d at output tile (th, tw) of the band. */
static void
input_tiles(const mtag_wino *p, const float *x, int r0, int n, float *V,
    float *aux)
{
	const int C = p->s.C, H = p->s.H, T = p->tiles_w, len = row_len(p);
	const int nh = p->nh, nw = p->nw, th_n = (n + p->mh - 1) / p->mh;
	const size_t P = (size_t)th_n * T, plane = (size_t)p->s.C * P;
	float *rows = aux, *mix = aux + (size_t)nh * len;
	int c, th, a, i, j;

	for (c = 0; c < C; c++)
	for (th = 0; th < th_n; th++) {
		const int ih0 = r0 + th * p->mh - p->s.PH;

		for (a = 0; a < nh; a++)
			pad_row(p, ih0 + a >= 0 && ih0 + a < H ?
			    x + ((size_t)c * H + ih0 + a) * p->s.W : NULL,
			    rows + (size_t)a * len);
		for (a = 0; a < nh; a++) {	/* mix = B_h^T rows */
			float *m = mix + (size_t)a * len;

			memset(m, 0, sizeof(float) * len);
			for (i = 0; i < nh; i++) {
				const float cf = p->bth[a * nh + i];
				const float *r = rows + (size_t)i * len;

				if (cf == 0.0f)
					continue;
				for (j = 0; j < len; j += LANE)
					VEC(m + j) += cf * VEC(r + j);
			}
			row_transform(p, m, V + (size_t)a * nw * plane +
			    (size_t)c * P + (size_t)th * T, plane);
		}
	}
}

/* out rows [0, n) of each channel (ostride floats apart) = A_h^T M A_w of
 * each tile, plus bias, then ReLU. */
static void
output_tiles(const mtag_wino *p, const float *M, int n, const float *b,
    int relu, float *out, size_t ostride)
{
	const int O = p->s.O, OW = p->OW, T = p->tiles_w;
	const int nh = p->nh, nw = p->nw, mh = p->mh, mw = p->mw;
	const int th_n = (n + mh - 1) / mh;
	const size_t P = (size_t)th_n * T, plane = (size_t)O * P;
	vlane t[MTAG_WINO_MAXN], y[MTAG_WINO_MAXN];
	int o, th, tw, a, v, i, j, k, cn;

	for (o = 0; o < O; o++) {
		const float bias = b != NULL ? b[o] : 0.0f;

		for (th = 0; th < th_n; th++)
		for (tw = 0; tw < T; tw += LANE) {
			const float *mt = M + (size_t)o * P +
			    (size_t)th * T + tw;

			cn = OW - tw * mw < LANE * mw ? OW - tw * mw :
			    LANE * mw;
			for (i = 0; i < mh && th * mh + i < n; i++) {
				float *yr = out + (size_t)o * ostride +
				    (size_t)(th * mh + i) * OW + tw * mw;

				for (v = 0; v < nw; v++) { /* row i of A_h^T m */
					t[v] = (vlane){ 0 };
					for (a = 0; a < nh; a++)
						if (p->ath[i * nh + a] != 0.0f)
							t[v] += p->ath[i * nh +
							    a] * VEC(mt +
							    (size_t)(a * nw +
							    v) * plane);
				}
				for (j = 0; j < mw; j++) {	/* t A_w */
					y[j] = (vlane){ 0 } + bias;
					for (v = 0; v < nw; v++)
						if (p->atw[j * nw + v] != 0.0f)
							y[j] += p->atw[j * nw +
							    v] * t[v];
				}
				for (k = 0; k < LANE; k++)
					for (j = 0; j < mw && k * mw + j < cn;
					    j++)
						yr[k * mw + j] = relu &&
						    y[j][k] < 0.0f ? 0.0f :
						    y[j][k];
			}
		}
	}
}

void
mtag_wino_rows(const mtag_wino *p, const float *u, const float *x, int r0,
    int n, const float *b, int relu, float *out, size_t ostride, float *work)
{
	const int O = p->s.O, K = p->s.C;
	const size_t P = band_tiles(p, n);
	float *V = work, *M = V + (size_t)p->Q * K * P;
	float *aux = M + (size_t)p->Q * O * P;
	int q;

	assert(r0 % p->mh == 0 && n > 0 && r0 + n <= p->OH);
	input_tiles(p, x, r0, n, V, aux);
	for (q = 0; q < p->Q; q++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O,
		    (int)P, K, 1.0f, u + (size_t)q * O * K, K,
		    V + (size_t)q * K * P, (int)P, 0.0f, M + (size_t)q * O * P,
		    (int)P);
	output_tiles(p, M, n, b, relu, out, ostride);
}

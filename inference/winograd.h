/* Convolution by Winograd's minimal filtering algorithm F(2x2, 3x3)
 * (Toom-Cook): 16 multiplications per 2 x 2 outputs and input channel
 * instead of 36, for stride-1 3 x 3 convolutions over enough channels. The
 * transforms are built from their interpolation points; the products,
 * summed over channels, are SGEMMs. The callers are ops.c's convolutions. */
#ifndef MTAG_WINOGRAD_H
#define MTAG_WINOGRAD_H

#include <stddef.h>

#include "ops.h"

#define MTAG_WINO_MAXN 4	/* transform size */

typedef struct mtag_wino {
	mtag_conv_shape s;
	int OH, OW;
	int mh, nh;		/* output rows per tile, transform rows */
	int mw, nw;		/* output columns per tile, transform columns */
	int Q;			/* products: nh x nw */
	int tiles_w;
	float bth[MTAG_WINO_MAXN * MTAG_WINO_MAXN];	/* B^T, nh x nh */
	float ath[MTAG_WINO_MAXN * MTAG_WINO_MAXN];	/* A^T, mh x nh */
	double gh[MTAG_WINO_MAXN * MTAG_WINO_MAXN];	/* G, nh x KH */
	float btw[MTAG_WINO_MAXN * MTAG_WINO_MAXN];	/* B^T, nw x nw */
	float atw[MTAG_WINO_MAXN * MTAG_WINO_MAXN];	/* A^T, mw x nw */
	double gw[MTAG_WINO_MAXN * MTAG_WINO_MAXN];	/* G, nw x KW */
} mtag_wino;

/* Sets up p for convolution s. Returns 0, or -1 when s is not one the
 * algorithm speeds up (then use im2col + SGEMM). */
int mtag_wino_init(mtag_wino *p, const mtag_conv_shape *s);

/* Floats of filters mtag_wino_filters writes. */
size_t mtag_wino_filter_size(const mtag_wino *p);

/* Output rows of the bands to compute at a time so that the scratch of
 * mtag_wino_rows stays near max floats (a multiple of p->mh, at least
 * p->mh). */
int mtag_wino_band(const mtag_wino *p, size_t max);

/* Floats of scratch mtag_wino_rows needs for bands of rows output rows. */
size_t mtag_wino_scratch(const mtag_wino *p, int rows);

/* u = the transformed filters w (O x C x KH x KW). */
void mtag_wino_filters(const mtag_wino *p, const float *w, float *u);

/* Output rows [r0, r0 + n) of the convolution of x by the filters u (from
 * mtag_wino_filters), plus b when b is not NULL, then ReLU when relu is set,
 * into out: n x OW floats per filter, ostride floats apart. r0 is a
 * multiple of p->mh; work is scratch of mtag_wino_scratch(p, n) floats. */
void mtag_wino_rows(const mtag_wino *p, const float *u, const float *x,
    int r0, int n, const float *b, int relu, float *out, size_t ostride,
    float *work);

#endif

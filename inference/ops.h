/* Tensor operations of the tagging models, on plain float arrays in
 * channel-major (C order) layout. Optimised kernels; the tests check each one
 * against a naive reference. */
#ifndef MTAG_OPS_H
#define MTAG_OPS_H

#include <stddef.h>

/* Shape of a 2-D convolution: input C x H x W, O filters of C x KH x KW,
 * stride (SH, SW), zero padding (PH, PW). */
typedef struct mtag_conv_shape {
	int C, H, W;
	int O, KH, KW;
	int SH, SW;
	int PH, PW;
} mtag_conv_shape;

int mtag_conv_out_h(const mtag_conv_shape *s);
int mtag_conv_out_w(const mtag_conv_shape *s);
/* Floats of scratch mtag_conv2d needs (its im2col matrix). */
size_t mtag_conv_scratch(const mtag_conv_shape *s);

/* y (O x OH x OW) = conv(x, w) + b, then ReLU when relu is set. w is
 * O x C x KH x KW, b has O entries. col is scratch of mtag_conv_scratch
 * floats. */
void mtag_conv2d(const mtag_conv_shape *s, const float *x, const float *w,
    const float *b, int relu, float *y, float *col);

/* Folds BatchNorm (gamma, beta, running mean and var, eps) into the O filters
 * of w (each of k weights) and their biases b, in place. */
void mtag_fold_bn(float *w, float *b, int O, int k, const float *gamma,
    const float *beta, const float *mean, const float *var, float eps);

/* Max pooling of x (C x H x W) by non-overlapping KH x KW windows, floor
 * mode: y is C x H/KH x W/KW. */
void mtag_maxpool2d(const float *x, int C, int H, int W, int KH, int KW,
    float *y);

/* y (N x O) = x (N x IN) W^T + b, W being O x IN (PyTorch Linear). */
void mtag_linear(const float *x, int N, int IN, const float *w,
    const float *b, int O, float *y);

void mtag_relu(float *x, size_t n);
void mtag_sigmoid(float *x, size_t n);

/* One GRU layer (PyTorch gate order r, z, n) over T steps of x (T x IN),
 * from a zero state; writes the T hidden states to h (T x H). w_ih is
 * 3H x IN, w_hh 3H x H. gates is scratch of 6H floats. */
void mtag_gru(const float *x, int T, int IN, int H, const float *w_ih,
    const float *w_hh, const float *b_ih, const float *b_hh, float *h,
    float *gates);

#endif

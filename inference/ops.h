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

/* Floating-point operations (two per multiply-add) of the matrix products
 * the process has run, for benchmarks; mtag_ops_count adds flop to it. */
double mtag_ops_flop(void);
void mtag_ops_count(double flop);

int mtag_conv_out_h(const mtag_conv_shape *s);
int mtag_conv_out_w(const mtag_conv_shape *s);
/* Floats of scratch mtag_conv2d needs (its im2col matrix, built a bounded
 * number of output positions at a time). */
size_t mtag_conv_scratch(const mtag_conv_shape *s);

/* y (O x OH x OW) = conv(x, w) + b, then ReLU when relu is set. w is
 * O x C x KH x KW, b has O entries. col is scratch of mtag_conv_scratch
 * floats. */
void mtag_conv2d(const mtag_conv_shape *s, const float *x, const float *w,
    const float *b, int relu, float *y, float *col);

/* y (O x OH/KH x OW/KW) = relu(maxpool(conv(x, w)) + b), the max pooling by
 * non-overlapping KH x KW windows (floor mode; the same values as
 * mtag_conv2d then mtag_maxpool2d, as the maximum commutes with the bias and
 * ReLU), a tile of output positions at a time: the convolution's output is
 * never whole. col is scratch of mtag_conv_scratch
 * floats. */
void mtag_conv2d_pool(const mtag_conv_shape *s, const float *x,
    const float *w, const float *b, int KH, int KW, float *y, float *col);

/* Folds BatchNorm (gamma, beta, running mean and var, eps) into the O filters
 * of w (each of k weights) and their biases b, in place. */
void mtag_fold_bn(float *w, float *b, int O, int k, const float *gamma,
    const float *beta, const float *mean, const float *var, float eps);

/* Max pooling of x (C x H x W) by non-overlapping KH x KW windows, floor
 * mode: y is C x H/KH x W/KW. */
void mtag_maxpool2d(const float *x, int C, int H, int W, int KH, int KW,
    float *y);

/* y (N x O) = x (N x IN) W^T + b, W being O x IN (PyTorch Linear); b may be
 * NULL (no bias). */
void mtag_linear(const float *x, int N, int IN, const float *w,
    const float *b, int O, float *y);
/* y (N x O) += x (N x IN) W^T + b, as mtag_linear: a residual connection. */
void mtag_linear_acc(const float *x, int N, int IN, const float *w,
    const float *b, int O, float *y);

/* y (cols x rows) = x (rows x cols) transposed. */
void mtag_transpose(const float *x, int rows, int cols, float *y);

void mtag_relu(float *x, size_t n);
void mtag_sigmoid(float *x, size_t n);
void mtag_tanh(float *x, size_t n);
/* GELU with the exact (erf) Gaussian CDF: x / 2 (1 + erf(x / sqrt 2)). */
void mtag_gelu(float *x, size_t n);

/* Layer normalisation: y (N x D) = each row of x minus its mean, over the
 * square root of its (biased) variance plus eps, times gamma plus beta. y
 * may be x. */
void mtag_layernorm(const float *x, int N, int D, const float *gamma,
    const float *beta, float eps, float *y);

/* Multi-head scaled dot-product self-attention without mask: each of the T
 * rows of qkv (T x 3D) holds a token's queries, keys and values, D = heads x
 * dh each; per head, out (T x D) gets softmax(q k^T / sqrt(dh)) v. scores is
 * scratch of T x T floats. */
void mtag_attention(const float *qkv, int T, int D, int heads, float *out,
    float *scores);

/* x[0..n) = the first n doubles of NumPy's legacy generator
 * (np.random.seed(seed); np.random.random(n): MT19937 with init_genrand,
 * 53-bit doubles), rounded to float. */
void mtag_random_uniform(unsigned long seed, float *x, size_t n);

/* One GRU layer (PyTorch gate order r, z, n) over T steps of x (T x IN),
 * from a zero state; writes the T hidden states to h (T x H). w_ih is
 * 3H x IN, w_hh 3H x H. gates is scratch of 6H floats. */
void mtag_gru(const float *x, int T, int IN, int H, const float *w_ih,
    const float *w_hh, const float *b_ih, const float *b_hh, float *h,
    float *gates);

/* A convolutional block of the study's models, every BatchNorm folded into
 * the convolution before it:
 * - plain (Conv_1d, Conv_2d): y = pool(relu(conv1(x)));
 * - residual (Res_2d, Res_2d_mp, ResSE_1d, Res2DMaxPoolModule):
 *   y = pool(relu(se(conv2(relu(conv1(x)))) + shortcut(x))), the shortcut
 *   being conv3 (shaped as conv1) or the identity, se the squeeze and
 *   excitation of Hu et al. (channels scaled by sigmoid(W2 relu(W1 mean + b1)
 *   + b2), the mean over positions) or nothing.
 * Pooling is max pooling by non-overlapping windows, floor mode. */
typedef struct mtag_block {
	mtag_conv_shape s1;	/* conv1 */
	mtag_conv_shape s2;	/* conv2 (same padding, stride 1); O is 0 in a
				   plain block */
	const float *w1, *b1, *w2, *b2;
	const float *w3, *b3;	/* NULL: identity shortcut */
	const float *se_w1, *se_b1, *se_w2, *se_b2;	/* NULL: no SE */
	int se_hidden;		/* rows of se_w1 */
	int pool_h, pool_w;	/* 1 x 1: no pooling */
} mtag_block;

/* The output shape of block b. */
void mtag_block_out(const mtag_block *b, int *C, int *H, int *W);

/* The scratch mtag_blocks_run needs for blocks b[0..n): act floats for each
 * of its three activation buffers (which also hold every block's input) and
 * col floats of convolution scratch. */
void mtag_blocks_scratch(const mtag_block *b, int n, size_t *act,
    size_t *col);

/* Runs blocks b[0..n) from x (which is not written, and may be buf0) through
 * the buffers buf0 and buf1, using tmp and col; returns the one holding the
 * output. */
float *mtag_blocks_run(const mtag_block *b, int n, const float *x,
    float *buf0, float *buf1, float *tmp, float *col);

#endif

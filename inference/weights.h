/* Copying a checkpoint's tensors into a model's weight arena: every shape
 * checked, errors naming the tensor, BatchNorm folded into the layer before
 * it. */
#ifndef MTAG_WEIGHTS_H
#define MTAG_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "ops.h"

typedef struct mtag_weights {
	const mtag_ckpt *ck;
	float *arena;		/* owned by the model once loaded */
	size_t used, cap;	/* floats */
	char *err;
	size_t errlen;
} mtag_weights;

/* Prepares w to load from ck, with an arena of extra floats more than the
 * checkpoint's tensors hold. Returns 0, or -1 with a message in err. */
int mtag_weights_init(mtag_weights *w, const mtag_ckpt *ck, size_t extra,
    char *err, size_t errlen);

/* Formats "CHECKPOINT: message" into the error buffer; returns -1. */
int mtag_weights_error(mtag_weights *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* n floats of the arena, for weights computed rather than stored. */
float *mtag_weights_alloc(mtag_weights *w, size_t n);

/* A copy in the arena of tensor name, which must be a float tensor of ndim
 * dimensions, given as int arguments. NULL (and an error) otherwise.
 * Successive copies are adjacent in the arena. */
float *mtag_weights_get(mtag_weights *w, const char *name, int ndim, ...);

/* Dimension d of tensor name, or -1 when it is absent or has fewer. */
int64_t mtag_weights_dim(const mtag_weights *w, const char *name, int d);

/* Folds the BatchNorm PREFIX.{weight,bias,running_mean,running_var} (eps
 * 1e-5) into n filters of k weights wt and their biases b. */
int mtag_weights_fold_bn(mtag_weights *w, const char *prefix, float *wt,
    float *b, int n, int k);

/* Loads convolution CONV.{weight,bias} of shape s (stored as a Conv1d
 * when s->KH is 1 and s->H is 1), with BatchNorm BN folded in when bn is not
 * NULL. */
int mtag_weights_conv(mtag_weights *w, const char *conv, const char *bn,
    const mtag_conv_shape *s, const float **wt, const float **b);

/* Loads Linear PREFIX.{weight,bias} of in inputs and out outputs. */
int mtag_weights_dense(mtag_weights *w, const char *prefix, int in, int out,
    const float **wt, const float **b);

/* Loads Linear DENSE as mtag_weights_dense, with BatchNorm1d BN folded in. */
int mtag_weights_dense_bn(mtag_weights *w, const char *dense, const char *bn,
    int in, int out, const float **wt, const float **b);

/* Loads block PREFIX into b, whose s1 (but for its O) and pooling the caller
 * has set (s1 with KH and H of 1 for a Conv1d): PREFIX.conv with PREFIX.bn
 * for a plain block, else PREFIX.conv_1 and conv_2 with bn_1 and bn_2 and,
 * when present, the shortcut conv_3 with bn_3 and the squeeze and
 * excitation Linears dense1 and dense2. Filters are counted from the
 * tensors. */
int mtag_weights_block(mtag_weights *w, const char *prefix, mtag_block *b);

#endif

/* Copying a checkpoint's tensors into a model's weight arena. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "weights.h"

#define BN_EPS 1e-5f

int
mtag_weights_init(mtag_weights *w, const mtag_ckpt *ck, size_t extra,
    char *err, size_t errlen)
{
	size_t total = extra;
	int i;

	memset(w, 0, sizeof(*w));
	w->ck = ck;
	w->err = err;
	w->errlen = errlen;
	for (i = 0; i < mtag_ckpt_count(ck); i++)
		total += mtag_ckpt_tensor(ck, i)->numel;
	w->cap = total;
	if ((w->arena = malloc(sizeof(float) * (total ? total : 1))) == NULL)
		return mtag_weights_error(w, "out of memory");
	return 0;
}

int
mtag_weights_error(mtag_weights *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtag_vseterr(w->err, w->errlen, mtag_ckpt_path(w->ck), fmt, ap);
	va_end(ap);
	return -1;
}

float *
mtag_weights_alloc(mtag_weights *w, size_t n)
{
	float *p;

	assert(w->used + n <= w->cap);
	p = w->arena + w->used;
	w->used += n;
	return p;
}

static void
format_shape(char *buf, size_t len, int ndim, const int64_t *shape)
{
	size_t used = 0;
	int i;

	used += snprintf(buf, len, "(");
	for (i = 0; i < ndim && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%lld",
		    i ? ", " : "", (long long)shape[i]);
	if (used < len)
		snprintf(buf + used, len - used, ")");
}

float *
mtag_weights_get(mtag_weights *w, const char *name, int ndim, ...)
{
	char want[96], got[96];
	const mtag_tensor *t;
	int64_t shape[MTAG_TENSOR_MAXDIM];
	va_list ap;
	float *p;
	int i, ok;

	assert(ndim <= MTAG_TENSOR_MAXDIM);
	va_start(ap, ndim);
	for (i = 0; i < ndim; i++)
		shape[i] = va_arg(ap, int);
	va_end(ap);
	if ((t = mtag_ckpt_find(w->ck, name)) == NULL) {
		mtag_weights_error(w, "tensor %s missing", name);
		return NULL;
	}
	ok = t->data != NULL && t->ndim == ndim;
	for (i = 0; ok && i < ndim; i++)
		ok = t->shape[i] == shape[i];
	if (!ok) {
		format_shape(want, sizeof(want), ndim, shape);
		format_shape(got, sizeof(got), t->ndim, t->shape);
		mtag_weights_error(w, "tensor %s has shape %s%s, expected %s",
		    name, got, t->data ? "" : " (integer)", want);
		return NULL;
	}
	p = mtag_weights_alloc(w, t->numel);
	memcpy(p, t->data, sizeof(float) * t->numel);
	return p;
}

int64_t
mtag_weights_dim(const mtag_weights *w, const char *name, int d)
{
	const mtag_tensor *t = mtag_ckpt_find(w->ck, name);

	return t != NULL && t->ndim > d ? t->shape[d] : -1;
}

int
mtag_weights_fold_bn(mtag_weights *w, const char *prefix, float *wt,
    float *b, int n, int k)
{
	static const char *const part[] = { "weight", "bias", "running_mean",
	    "running_var" };
	const float *p[4];
	char name[160];
	size_t mark = w->used;
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s.%s", prefix, part[i]);
		if ((p[i] = mtag_weights_get(w, name, 1, n)) == NULL)
			return -1;
	}
	mtag_fold_bn(wt, b, n, k, p[0], p[1], p[2], p[3], BN_EPS);
	w->used = mark;		/* the BatchNorm tensors are spent */
	return 0;
}

int
mtag_weights_conv(mtag_weights *w, const char *conv, const char *bn,
    const mtag_conv_shape *s, const float **wt, const float **b)
{
	char name[160];
	float *pw, *pb;

	snprintf(name, sizeof(name), "%s.weight", conv);
	pw = s->KH == 1 && s->H == 1 ?
	    mtag_weights_get(w, name, 3, s->O, s->C, s->KW) :
	    mtag_weights_get(w, name, 4, s->O, s->C, s->KH, s->KW);
	snprintf(name, sizeof(name), "%s.bias", conv);
	if (pw == NULL || (pb = mtag_weights_get(w, name, 1, s->O)) == NULL)
		return -1;
	if (bn != NULL && mtag_weights_fold_bn(w, bn, pw, pb, s->O,
	    s->C * s->KH * s->KW) < 0)
		return -1;
	*wt = pw;
	*b = pb;
	return 0;
}

int
mtag_weights_dense(mtag_weights *w, const char *prefix, int in, int out,
    const float **wt, const float **b)
{
	char name[160];

	snprintf(name, sizeof(name), "%s.weight", prefix);
	if ((*wt = mtag_weights_get(w, name, 2, out, in)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s.bias", prefix);
	if ((*b = mtag_weights_get(w, name, 1, out)) == NULL)
		return -1;
	return 0;
}

int
mtag_weights_dense_bn(mtag_weights *w, const char *dense, const char *bn,
    int in, int out, const float **wt, const float **b)
{
	if (mtag_weights_dense(w, dense, in, out, wt, b) < 0)
		return -1;
	return mtag_weights_fold_bn(w, bn, (float *)*wt, (float *)*b, out, in);
}

/* Loads PREFIX.convSUFFIX with PREFIX.bnSUFFIX folded in. */
static int
load_conv_bn(mtag_weights *w, const char *prefix, const char *suffix,
    const mtag_conv_shape *s, const float **wt, const float **b)
{
	char conv[128], bn[128];

	snprintf(conv, sizeof(conv), "%s.conv%s", prefix, suffix);
	snprintf(bn, sizeof(bn), "%s.bn%s", prefix, suffix);
	return mtag_weights_conv(w, conv, bn, s, wt, b);
}

/* Whether tensor PREFIX.part exists. */
static int
has(const mtag_weights *w, const char *prefix, const char *part)
{
	char name[160];

	snprintf(name, sizeof(name), "%s.%s", prefix, part);
	return mtag_ckpt_find(w->ck, name) != NULL;
}

int
mtag_weights_block(mtag_weights *w, const char *prefix, mtag_block *b)
{
	const int plain = has(w, prefix, "conv.weight");
	mtag_conv_shape *s = &b->s1;
	char name[128];
	int64_t O;

	snprintf(name, sizeof(name), "%s.%s.weight", prefix, plain ? "conv" :
	    "conv_1");
	if ((O = mtag_weights_dim(w, name, 0)) < 1 || O > 65536)
		return mtag_weights_error(w, "tensor %s missing or malformed",
		    name);
	s->O = (int)O;
	if (mtag_conv_out_h(s) / b->pool_h < 1 ||
	    mtag_conv_out_w(s) / b->pool_w < 1)
		return mtag_weights_error(w, "input too short for %s", prefix);
	memset(&b->s2, 0, sizeof(b->s2));
	b->w3 = b->b3 = NULL;
	b->se_w1 = b->se_b1 = b->se_w2 = b->se_b2 = NULL;
	if (plain)
		return load_conv_bn(w, prefix, "", s, &b->w1, &b->b1);
	b->s2 = (mtag_conv_shape){ .C = s->O, .H = mtag_conv_out_h(s),
	    .W = mtag_conv_out_w(s), .O = s->O, .KH = s->KH, .KW = s->KW,
	    .SH = 1, .SW = 1, .PH = s->PH, .PW = s->PW };
	if (load_conv_bn(w, prefix, "_1", s, &b->w1, &b->b1) < 0 ||
	    load_conv_bn(w, prefix, "_2", &b->s2, &b->w2, &b->b2) < 0)
		return -1;
	if (has(w, prefix, "conv_3.weight")) {
		if (load_conv_bn(w, prefix, "_3", s, &b->w3, &b->b3) < 0)
			return -1;
	} else if (s->C != s->O || b->s2.H != s->H || b->s2.W != s->W) {
		return mtag_weights_error(w, "%s changes shape without a "
		    "shortcut convolution", prefix);
	}
	if (has(w, prefix, "dense1.weight")) {
		snprintf(name, sizeof(name), "%s.dense1.weight", prefix);
		b->se_hidden = (int)mtag_weights_dim(w, name, 0);
		snprintf(name, sizeof(name), "%s.dense1", prefix);
		if (mtag_weights_dense(w, name, s->O, b->se_hidden, &b->se_w1,
		    &b->se_b1) < 0)
			return -1;
		snprintf(name, sizeof(name), "%s.dense2", prefix);
		if (mtag_weights_dense(w, name, b->se_hidden, s->O, &b->se_w2,
		    &b->se_b2) < 0)
			return -1;
	}
	return 0;
}

/* libFuzzer target for the checkpoint reader (inference/ckpt.c): loads the
 * input as a checkpoint, which must either be refused with a message or
 * yield tensors whose shapes, names and values can all be read, so that a
 * wrong bound shows up as a sanitizer report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"

static volatile float sink;

static void
fail(const char *name, const char *why)
{
	fprintf(stderr, "fuzz_ckpt: tensor '%s': %s\n", name, why);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const mtag_tensor *t;
	mtag_ckpt *ck;
	char err[512];
	size_t j, numel;
	int i, d;

	ck = mtag_ckpt_open_mem("input", data, size, err, sizeof(err));
	if (ck == NULL) {
		if (strncmp(err, "input: ", 7) != 0 || err[7] == '\0')
			fail("", "refused without a message");
		return 0;
	}
	for (i = 0; i < mtag_ckpt_count(ck); i++) {
		t = mtag_ckpt_tensor(ck, i);
		if (t->ndim < 0 || t->ndim > MTAG_TENSOR_MAXDIM)
			fail(t->name, "bad dimension count");
		for (d = 0, numel = 1; d < t->ndim; d++) {
			if (t->shape[d] < 0)
				fail(t->name, "negative size");
			numel *= (size_t)t->shape[d];
		}
		if (numel != t->numel)
			fail(t->name, "element count differs from its shape");
		if (mtag_ckpt_find(ck, t->name) != t)
			fail(t->name, "not found by name");
		if (t->data != NULL)
			for (j = 0; j < t->numel; j++)
				sink += t->data[j];
	}
	mtag_ckpt_free(ck);
	return 0;
}

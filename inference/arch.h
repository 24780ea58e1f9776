/* What each architecture (arch_*.c) provides to model.c: recognising its
 * checkpoints, loading its weights, and running one chunk. */
#ifndef MTAG_ARCH_H
#define MTAG_ARCH_H

#include <stddef.h>

#include "ckpt.h"
#include "weights.h"

struct mtag_arch {
	const char *name;
	int rate;		/* samples per second */
	int input_length;	/* samples per chunk */

	/* Whether ck holds this architecture's tensors. */
	int (*detect)(const mtag_ckpt *ck);

	/* Loads the weights into w's arena, which has room for
	 * arena_extra floats more than the checkpoint holds, for chunks of
	 * input_length samples. Returns the architecture's state, with the
	 * number of outputs, the embedding size and the floats of scratch
	 * forward needs, or NULL with an error in w. */
	void *(*load)(mtag_weights *w, int input_length, int *ntags,
	    int *embed_dim, size_t *scratch);

	/* Runs one chunk of input_length samples: writes the embedding (the
	 * input of the output layer) and the logits. */
	void (*forward)(void *state, const float *chunk, float *scratch,
	    float *emb, float *logits);

	void (*free)(void *state);

	size_t arena_extra;	/* floats of weights load computes */
};

extern const struct mtag_arch mtag_arch_fcn;
extern const struct mtag_arch mtag_arch_musicnn;
extern const struct mtag_arch mtag_arch_crnn;
extern const struct mtag_arch mtag_arch_sample;
extern const struct mtag_arch mtag_arch_se;
extern const struct mtag_arch mtag_arch_short;
extern const struct mtag_arch mtag_arch_short_res;
extern const struct mtag_arch mtag_arch_hcnn;
extern const struct mtag_arch mtag_arch_attention;
extern const struct mtag_arch mtag_arch_transformer;

#endif

/* The tagging models: recognising the architecture of a checkpoint, loading
 * its weights into one arena, and running chunks of audio through it. */
#ifndef MTAG_MODEL_H
#define MTAG_MODEL_H

#include <signal.h>
#include <stddef.h>

#include "ckpt.h"

#define MTAG_TRACK_CHUNKS 16

typedef struct mtag_model mtag_model;

/* The architecture name ("fcn", "musicnn", "crnn") the tensors of ck
 * belong to, or NULL when none matches. */
const char *mtag_model_detect(const mtag_ckpt *ck);

/* Builds a model from ck (which may be freed afterwards). arch NULL means
 * detect it. Every tensor's shape is checked; on failure returns NULL with
 * a message naming the tensor in err. */
mtag_model *mtag_model_load(const mtag_ckpt *ck, const char *arch, char *err,
    size_t errlen);
void mtag_model_free(mtag_model *m);

const char *mtag_model_arch(const mtag_model *m);
int mtag_model_rate(const mtag_model *m);		/* samples per second */
int mtag_model_input_length(const mtag_model *m);	/* samples per chunk */
int mtag_model_ntags(const mtag_model *m);
int mtag_model_embed_dim(const mtag_model *m);

/* Runs one chunk per entry of starts (sample offsets into pcm, n samples;
 * samples past the end read as zero). Writes nstarts x ntags probabilities
 * and, when emb is not NULL, nstarts x embed_dim embeddings. Returns 0, or
 * -1 when memory runs out.
 *
 * The chunks are shared among as many threads as OpenBLAS has (but no more
 * than it had when the model was loaded, nor than MTAG_TRACK_CHUNKS), OpenBLAS
 * being set to one thread meanwhile. A program that runs models on several
 * threads at once therefore sets OpenBLAS to one thread before loading them,
 * and each model then runs on its caller's thread. */
int mtag_model_run(mtag_model *m, const float *pcm, size_t n,
    const size_t *starts, int nstarts, float *probs, float *emb);

/* The chunks of the study's evaluation protocol for a track of n samples:
 * MTAG_TRACK_CHUNKS evenly spaced, or one (zero-padded) when the track is
 * shorter than a chunk. Writes their offsets to starts and returns their
 * number. */
int mtag_model_track_chunks(const mtag_model *m, size_t n, size_t *starts);

/* Runs the chunks of mtag_model_track_chunks and averages them: ntags
 * probabilities and, when emb is not NULL, the embedding. When chunk_probs
 * is not NULL it gets each chunk's probabilities (up to MTAG_TRACK_CHUNKS x
 * ntags). *nchunks gets the number of chunks. Returns 0, or 1 when *cancel
 * (checked before each chunk; may be NULL) became non-zero. */
int mtag_model_run_track(mtag_model *m, const float *pcm, size_t n,
    float *probs, float *emb, float *chunk_probs,
    const volatile sig_atomic_t *cancel, int *nchunks);

/* Decodes what mtag_model_run_track reads of the audio file path, at the
 * model's rate: the windows of the chunks (mtag_decode_windows), in a
 * buffer of the track's n samples whose other samples are zero, or the
 * whole track when its length cannot be found that way. Returns 0 with a
 * malloc'd buffer in *pcm (caller frees), or -1 with a message in err. */
int mtag_model_decode(const mtag_model *m, const char *path, float **pcm,
    size_t *n, char *err, size_t errlen);

#endif

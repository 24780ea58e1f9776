/* The input stage of the spectrogram models, loaded from their checkpoint:
 * torchaudio's MelSpectrogram (stored window and mel matrix), AmplitudeToDB,
 * then the 1-channel BatchNorm2d. */
#ifndef MTAG_MELSPEC_H
#define MTAG_MELSPEC_H

#include "weights.h"

typedef struct mtag_melspec mtag_melspec;

/* Loads PREFIX.spectrogram.window, PREFIX.mel_scale.fb and, when bn is not
 * NULL, the BatchNorm BN, for chunks of nsamples samples, frames every
 * n_fft / 2. NULL with an error in w on failure. */
mtag_melspec *mtag_melspec_load(mtag_weights *w, const char *prefix,
    const char *bn, int n_fft, int nmels, int nsamples);
void mtag_melspec_free(mtag_melspec *ms);

int mtag_melspec_frames(const mtag_melspec *ms);

/* out (nmels x frames) = the normalised dB mel spectrogram of x. */
void mtag_melspec_run(mtag_melspec *ms, const float *x, float *out);

#endif

/* The input stage of the spectrogram models, loaded from their checkpoint:
 * torchaudio's MelSpectrogram (stored window and mel matrix), AmplitudeToDB,
 * then the input BatchNorm2d; or the same over a filterbank computed at load
 * (the harmonic filters of HarmonicCNN). */
#ifndef MTAG_MELSPEC_H
#define MTAG_MELSPEC_H

#include "weights.h"

typedef struct mtag_melspec mtag_melspec;

/* Loads PREFIX.spectrogram.window, PREFIX.mel_scale.fb and, when bn is not
 * NULL, the BatchNorm BN, for chunks of nsamples samples, frames every
 * n_fft / 2. NULL with an error in w on failure. */
mtag_melspec *mtag_melspec_load(mtag_weights *w, const char *prefix,
    const char *bn, int n_fft, int nmels, int nsamples);

/* The same with window (n_fft) and filterbank fb (n_fft/2+1 x nbands) given,
 * both in w's arena; BN normalises nchan channels of nbands / nchan bands
 * each. */
mtag_melspec *mtag_melspec_new(mtag_weights *w, const float *window,
    const float *fb, const char *bn, int nchan, int n_fft, int nbands,
    int nsamples);
void mtag_melspec_free(mtag_melspec *ms);

int mtag_melspec_frames(const mtag_melspec *ms);

/* Floats of work buffer mtag_melspec_run needs. */
size_t mtag_melspec_scratch(const mtag_melspec *ms);

/* out (nbands x frames) = the normalised dB spectrogram of x, using work of
 * mtag_melspec_scratch floats; calls with distinct buffers may run at the
 * same time. */
void mtag_melspec_run(const mtag_melspec *ms, const float *x, float *out,
    float *work);

#endif

/* The spectrogram front end of the models: STFT (torchaudio conventions:
 * centred frames, reflect padding, periodic window, power 2), a filterbank
 * and decibels, with FFTW plans made once and the work buffers the caller's,
 * so that one front end serves several threads. */
#ifndef MTAG_FRONTEND_H
#define MTAG_FRONTEND_H

#include <stddef.h>

typedef struct mtag_frontend mtag_frontend;

/* A front end for chunks of nsamples samples (more than n_fft/2): frames of
 * n_fft samples every hop, weighted by window (n_fft values), power spectrum
 * (n_fft/2+1 bins) times fb (bins x nbands, row-major). window and fb are
 * borrowed and must outlive the front end. NULL when memory runs out or the
 * sizes are invalid. */
mtag_frontend *mtag_frontend_new(int n_fft, int hop, int nsamples,
    const float *window, const float *fb, int nbands);
void mtag_frontend_free(mtag_frontend *fe);

/* Frames per chunk: 1 + nsamples / hop. */
int mtag_frontend_frames(const mtag_frontend *fe);

/* Floats of work buffer mtag_frontend_db needs. */
size_t mtag_frontend_scratch(const mtag_frontend *fe);

/* out (nbands x frames) = 10 log10(max(fb^T |STFT(x)|^2, 1e-10)), using
 * work of mtag_frontend_scratch floats (any alignment). Calls with distinct
 * work buffers may run at the same time. */
void mtag_frontend_db(const mtag_frontend *fe, const float *x, float *out,
    float *work);

#endif

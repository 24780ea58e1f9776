/* The spectrogram front end: STFT with FFTW, filterbank by SGEMM, decibels. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>
#include <fftw3.h>

#include "frontend.h"
#include "ops.h"

/* FFTW executes a plan on new arrays of the same alignment as the planned
 * ones: the work buffers start on 64-byte boundaries. */
#define ALIGN 16

struct mtag_frontend {
	int n_fft, hop, nsamples, nbins, nbands, frames;
	const float *window;
	const float *fb;
	size_t frame_len;	/* floats of windowed frames, frames x n_fft */
	size_t spec_len;	/* floats of spectra, frames x nbins complex */
	fftwf_plan plan;
};

/* FFTW's planner is not thread-safe; execution with new arrays is. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t
round_up(size_t n)
{
	return (n + ALIGN - 1) / ALIGN * ALIGN;
}

mtag_frontend *
mtag_frontend_new(int n_fft, int hop, int nsamples, const float *window,
    const float *fb, int nbands)
{
	mtag_frontend *fe;
	float *frame, *spec;

	if (n_fft < 2 || hop < 1 || nsamples <= n_fft / 2 || nbands < 1)
		return NULL;
	if ((fe = calloc(1, sizeof(*fe))) == NULL)
		return NULL;
	fe->n_fft = n_fft;
	fe->hop = hop;
	fe->nsamples = nsamples;
	fe->nbins = n_fft / 2 + 1;
	fe->nbands = nbands;
	fe->frames = 1 + nsamples / hop;
	fe->window = window;
	fe->fb = fb;
	fe->frame_len = round_up((size_t)fe->frames * n_fft);
	fe->spec_len = round_up(2 * (size_t)fe->frames * fe->nbins);
	/* FFTW_ESTIMATE plans without touching the arrays. */
	frame = fftwf_malloc(sizeof(float) * fe->frame_len);
	spec = fftwf_malloc(sizeof(float) * fe->spec_len);
	if (frame != NULL && spec != NULL) {
		pthread_mutex_lock(&planner_lock);
		fe->plan = fftwf_plan_many_dft_r2c(1, &fe->n_fft, fe->frames,
		    frame, NULL, 1, n_fft, (fftwf_complex *)spec, NULL, 1,
		    fe->nbins, FFTW_ESTIMATE);
		pthread_mutex_unlock(&planner_lock);
	}
	fftwf_free(frame);
	fftwf_free(spec);
	if (fe->plan == NULL) {
		mtag_frontend_free(fe);
		return NULL;
	}
	return fe;
}

void
mtag_frontend_free(mtag_frontend *fe)
{
	if (fe == NULL)
		return;
	if (fe->plan != NULL) {
		pthread_mutex_lock(&planner_lock);
		fftwf_destroy_plan(fe->plan);
		pthread_mutex_unlock(&planner_lock);
	}
	free(fe);
}

int
mtag_frontend_frames(const mtag_frontend *fe)
{
	return fe->frames;
}

size_t
mtag_frontend_scratch(const mtag_frontend *fe)
{
	return ALIGN + fe->frame_len + fe->spec_len;
}

/* Sample i of x padded by n_fft/2 reflected samples on both sides. */
static float
reflected(const float *x, int n, int i)
{
	if (i < 0)
		i = -i;
	if (i >= n)
		i = 2 * (n - 1) - i;
	return x[i];
}

void
mtag_frontend_db(const mtag_frontend *fe, const float *x, float *out,
    float *work)
{
	const int n_fft = fe->n_fft, half = n_fft / 2, nbins = fe->nbins;
	const int frames = fe->frames, n = fe->nsamples;
	float *frame = (float *)(((uintptr_t)work + 4 * ALIGN - 1) &
	    ~(uintptr_t)(4 * ALIGN - 1));
	float *spec = frame + fe->frame_len, *power = spec;
	int t, k;

	for (t = 0; t < frames; t++) {
		float *f = frame + (size_t)t * n_fft;
		int start = t * fe->hop - half;

		if (start >= 0 && start + n_fft <= n) {
			for (k = 0; k < n_fft; k++)
				f[k] = x[start + k] * fe->window[k];
		} else {
			for (k = 0; k < n_fft; k++)
				f[k] = reflected(x, n, start + k) *
				    fe->window[k];
		}
	}
	fftwf_execute_dft_r2c(fe->plan, frame, (fftwf_complex *)spec);
	/* In place: power[k] overwrites values already read. */
	for (k = 0; k < frames * nbins; k++) {
		float re = spec[2 * k], im = spec[2 * k + 1];

		power[k] = re * re + im * im;
	}
	/* out (nbands x frames) = fb^T (nbands x nbins) power^T. */
	mtag_ops_count(2.0 * fe->nbands * frames * nbins);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, fe->nbands, frames,
	    nbins, 1.0f, fe->fb, fe->nbands, power, nbins, 0.0f, out,
	    frames);
	for (k = 0; k < fe->nbands * frames; k++)
		out[k] = 10.0f * log10f(fmaxf(out[k], 1e-10f));
}

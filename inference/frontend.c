/* The spectrogram front end: STFT with FFTW, filterbank by SGEMM, decibels. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <fftw3.h>

#include "frontend.h"

struct mtag_frontend {
	int n_fft, hop, nsamples, nbins, nbands, frames;
	const float *window;
	const float *fb;
	float *frame;		/* frames x n_fft windowed samples */
	float *spec;		/* frames x nbins complex (re, im) */
	float *power;		/* frames x nbins */
	fftwf_plan plan;
};

/* FFTW's planner is not thread-safe; execution with new arrays is. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

mtag_frontend *
mtag_frontend_new(int n_fft, int hop, int nsamples, const float *window,
    const float *fb, int nbands)
{
	mtag_frontend *fe;

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
	fe->frame = fftwf_malloc(sizeof(float) * fe->frames * n_fft);
	fe->spec = fftwf_malloc(sizeof(float) * 2 * fe->frames * fe->nbins);
	fe->power = fftwf_malloc(sizeof(float) * fe->frames * fe->nbins);
	if (fe->frame == NULL || fe->spec == NULL || fe->power == NULL) {
		mtag_frontend_free(fe);
		return NULL;
	}
	pthread_mutex_lock(&planner_lock);
	fe->plan = fftwf_plan_many_dft_r2c(1, &fe->n_fft, fe->frames,
	    fe->frame, NULL, 1, n_fft, (fftwf_complex *)fe->spec, NULL, 1,
	    fe->nbins,
	    FFTW_ESTIMATE);
	pthread_mutex_unlock(&planner_lock);
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
	fftwf_free(fe->frame);
	fftwf_free(fe->spec);
	fftwf_free(fe->power);
	free(fe);
}

int
mtag_frontend_frames(const mtag_frontend *fe)
{
	return fe->frames;
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
mtag_frontend_db(mtag_frontend *fe, const float *x, float *out)
{
	const int n_fft = fe->n_fft, half = n_fft / 2, nbins = fe->nbins;
	const int frames = fe->frames, n = fe->nsamples;
	int t, k;

	for (t = 0; t < frames; t++) {
		float *f = fe->frame + (size_t)t * n_fft;
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
	fftwf_execute_dft_r2c(fe->plan, fe->frame,
	    (fftwf_complex *)fe->spec);
	for (k = 0; k < frames * nbins; k++) {
		float re = fe->spec[2 * k], im = fe->spec[2 * k + 1];

		fe->power[k] = re * re + im * im;
	}
	/* out (nbands x frames) = fb^T (nbands x nbins) power^T. */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, fe->nbands, frames,
	    nbins, 1.0f, fe->fb, fe->nbands, fe->power, nbins, 0.0f, out,
	    frames);
	for (k = 0; k < fe->nbands * frames; k++)
		out[k] = 10.0f * log10f(fmaxf(out[k], 1e-10f));
}

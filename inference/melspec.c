/* The spectrogram input stage of the spectrogram models. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend.h"
#include "melspec.h"

struct mtag_melspec {
	mtag_frontend *fe;
	int nbands, nchan, frames;
	const float *scale, *shift;	/* the folded BatchNorm, per channel */
};

mtag_melspec *
mtag_melspec_load(mtag_weights *w, const char *prefix, const char *bn,
    int n_fft, int nmels, int nsamples)
{
	char name[160];
	const float *window, *fb;

	snprintf(name, sizeof(name), "%s.spectrogram.window", prefix);
	if ((window = mtag_weights_get(w, name, 1, n_fft)) == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s.mel_scale.fb", prefix);
	if ((fb = mtag_weights_get(w, name, 2, n_fft / 2 + 1, nmels)) == NULL)
		return NULL;
	return mtag_melspec_new(w, window, fb, bn, 1, n_fft, nmels, nsamples);
}

mtag_melspec *
mtag_melspec_new(mtag_weights *w, const float *window, const float *fb,
    const char *bn, int nchan, int n_fft, int nbands, int nsamples)
{
	mtag_melspec *ms;
	float *scale, *shift;
	int c;

	assert(nchan > 0 && nbands % nchan == 0);
	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		mtag_weights_error(w, "out of memory");
		return NULL;
	}
	/* BatchNorm of channel c: x * scale[c] + shift[c]. */
	scale = mtag_weights_alloc(w, nchan);
	shift = mtag_weights_alloc(w, nchan);
	for (c = 0; c < nchan; c++) {
		scale[c] = 1.0f;
		shift[c] = 0.0f;
	}
	if (bn != NULL && mtag_weights_fold_bn(w, bn, scale, shift, nchan,
	    1) < 0)
		goto fail;
	ms->scale = scale;
	ms->shift = shift;
	ms->nbands = nbands;
	ms->nchan = nchan;
	if ((ms->fe = mtag_frontend_new(n_fft, n_fft / 2, nsamples, window,
	    fb, nbands)) == NULL) {
		mtag_weights_error(w, "cannot set up the spectrogram");
		goto fail;
	}
	ms->frames = mtag_frontend_frames(ms->fe);
	return ms;
fail:
	mtag_melspec_free(ms);
	return NULL;
}

void
mtag_melspec_free(mtag_melspec *ms)
{
	if (ms == NULL)
		return;
	mtag_frontend_free(ms->fe);
	free(ms);
}

int
mtag_melspec_frames(const mtag_melspec *ms)
{
	return ms->frames;
}

size_t
mtag_melspec_scratch(const mtag_melspec *ms)
{
	return mtag_frontend_scratch(ms->fe);
}

void
mtag_melspec_run(const mtag_melspec *ms, const float *x, float *out,
    float *work)
{
	const size_t n = (size_t)ms->nbands / ms->nchan * ms->frames;
	size_t i;
	int c;

	mtag_frontend_db(ms->fe, x, out, work);
	for (c = 0; c < ms->nchan; c++, out += n)
		for (i = 0; i < n; i++)
			out[i] = out[i] * ms->scale[c] + ms->shift[c];
}

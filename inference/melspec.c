/* The mel spectrogram input stage of the spectrogram models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend.h"
#include "melspec.h"

struct mtag_melspec {
	mtag_frontend *fe;
	int nmels, frames;
	float scale, shift;	/* the folded BatchNorm */
};

mtag_melspec *
mtag_melspec_load(mtag_weights *w, const char *prefix, const char *bn,
    int n_fft, int nmels, int nsamples)
{
	char name[160];
	const float *window, *fb;
	mtag_melspec *ms;
	float one = 1.0f, zero = 0.0f;

	snprintf(name, sizeof(name), "%s.spectrogram.window", prefix);
	if ((window = mtag_weights_get(w, name, 1, n_fft)) == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s.mel_scale.fb", prefix);
	if ((fb = mtag_weights_get(w, name, 2, n_fft / 2 + 1, nmels)) == NULL)
		return NULL;
	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		mtag_weights_error(w, "out of memory");
		return NULL;
	}
	/* BatchNorm of one channel: x * scale + shift. */
	if (bn != NULL && mtag_weights_fold_bn(w, bn, &one, &zero, 1, 1) < 0)
		goto fail;
	ms->scale = one;
	ms->shift = zero;
	ms->nmels = nmels;
	if ((ms->fe = mtag_frontend_new(n_fft, n_fft / 2, nsamples, window,
	    fb, nmels)) == NULL) {
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

void
mtag_melspec_run(mtag_melspec *ms, const float *x, float *out)
{
	size_t i, n = (size_t)ms->nmels * ms->frames;

	mtag_frontend_db(ms->fe, x, out);
	for (i = 0; i < n; i++)
		out[i] = out[i] * ms->scale + ms->shift;
}

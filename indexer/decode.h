/* Decoding audio files with FFmpeg to mono float32 at a chosen sample rate. */
#ifndef MTAG_DECODE_H
#define MTAG_DECODE_H

#include <stddef.h>

/* Decodes the first audio stream of path (attached pictures skipped),
 * downmixed to mono and resampled to rate with libswresample, the same
 * samples as `ffmpeg -i path -map 0:a:0 -ac 1 -ar rate -f f32le`. Stops
 * after max_seconds of output when max_seconds > 0. On success returns 0
 * and a malloc'd buffer in *samples (caller frees) of *nsamples samples;
 * on failure returns -1 and a message naming the file and the cause. */
int mtag_decode_file(const char *path, int rate, double max_seconds,
    float **samples, size_t *nsamples, char *err, size_t errlen);

/* The number of samples at rate that mtag_decode_file would give for path,
 * found by decoding the last seconds of the duration the container tells
 * (or the whole file when it is short). *nsamples gets 0 when that fails:
 * the container does not tell the duration, or overstates it by seconds.
 * Returns 0, or -1 with a message in err. */
int mtag_decode_length(const char *path, int rate, size_t *nsamples,
    char *err, size_t errlen);

/* Decodes only the windows [starts[i], starts[i] + len) (starts
 * increasing) of the n samples mtag_decode_file would give for path, into a
 * buffer of n samples whose other samples are zero. Each window is reached
 * by seeking to MTAG_DECODE_PREROLL seconds before it, for the decoder and
 * the resampler to settle, unless it is near enough to decode through.
 * Samples past the end of the audio stay zero. Returns 0 and a malloc'd
 * buffer in *samples (caller frees), or -1 with a message in err. */
int mtag_decode_windows(const char *path, int rate, size_t n,
    const size_t *starts, int nwindows, size_t len, float **samples,
    char *err, size_t errlen);

#define MTAG_DECODE_PREROLL 0.25

#endif

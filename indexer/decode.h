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

#endif

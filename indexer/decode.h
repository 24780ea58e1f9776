/* Decoding audio files with FFmpeg to mono float32 at a chosen sample rate. */
#ifndef MTAG_DECODE_H
#define MTAG_DECODE_H

#include <stddef.h>

/*
 * Any file of a library is decoded, so every decode is bounded:
 * - only regular files are opened (a FIFO, device, socket or directory is
 *   refused, "not a regular file (FIFO)"), through mtag's own reads: no
 *   other file or URL a playlist names is ever opened;
 *   a file that changes while decoded gives the samples read or an error;
 * - format probing reads at most 2 MB and analyses 5 s of the streams;
 * - only the first audio stream that is not an attached picture is
 *   decoded; no picture or video is ever decoded, not even to probe it;
 * - each call fails ("decoding took longer than 60 s") once it has taken
 *   the timeout in wall time from the open of the file;
 * - audio longer than max_seconds is refused ("audio longer than the limit
 *   of 7200 s") by mtag_decode_length and mtag_decode_windows, and by
 *   mtag_decode_file unless it was asked for at most that: the decoded
 *   samples of one call take about 4 * rate * max_seconds bytes at most
 *   (460 MB at 16 kHz; mtag_decode_windows writes only its windows);
 * - input above 768 kHz is refused ("unsupported sample rate").
 */
struct mtag_decode_limits {
	double	timeout;	/* wall seconds per call; 0: every call fails */
	double	max_seconds;	/* longest audio accepted, > 0 */
};

#define MTAG_DECODE_TIMEOUT	60
#define MTAG_DECODE_MAX_SECONDS	7200

/* Sets the limits of the decodes that start afterwards (by default
 * MTAG_DECODE_TIMEOUT and MTAG_DECODE_MAX_SECONDS), before any decoding
 * thread starts. Returns 0, or -1 when a limit is out of range. */
int mtag_decode_set_limits(const struct mtag_decode_limits *limits);

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

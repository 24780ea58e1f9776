/*
 * Decoding of audio files to mono float32 at a chosen sample rate with
 * libavformat, libavcodec and libswresample, giving the same samples as
 * `ffmpeg -i FILE -map 0:a:0 -ac 1 -ar RATE -f f32le`, whole or only in
 * windows reached by seeking. Whatever lands in a library is decoded, so
 * every decode is bounded: regular files only, read through our own I/O
 * callbacks (no other file or URL is ever opened), limited probing, a wall
 * clock deadline, a longest duration, and no picture ever decoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/bprint.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libswresample/swresample.h>

#include "decode.h"
#include "error.h"

struct decoder {
	const char	*path;
	char		*err;
	size_t		 errlen;
	int		 rate;

	int		 fd;
	AVIOContext	*pb;
	/* CLOCK_MONOTONIC seconds past which the decode gives up. */
	double		 deadline;
	double		 timeout;
	int		 expired;
	/* The longest output accepted, in samples at rate. */
	size_t		 limit;

	AVFormatContext	*fmt;
	AVCodecContext	*dec;
	AVPacket	*pkt;
	AVFrame		*frame;
	/* frame holds samples from at not yet resampled. */
	int		 pending;
	int		 at;
	int		 stream;
	/* Failed decode calls and decoded frames, as ffmpeg counts them. */
	long		 nerrors;
	long		 nframes;
	int		 lasterror;

	SwrContext	*swr;
	AVChannelLayout	 in_layout;
	int		 in_format;
	int		 in_rate;

	float		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	/* After a seek: the next frame's timestamp gives its place. */
	int		 resync;
	/* Count the output samples only, converting into the buffer's
	 * start. */
	int		 count_only;
};

/* Bytes libavformat may read to find the format and the streams, and
 * microseconds of the streams it may analyse. */
#define PROBESIZE	2000000
#define ANALYZEDURATION	5000000
/* The largest frame accepted from a decoder, in samples of all channels. */
#define MAX_FRAME	1048576
/* The highest input sample rate accepted, in Hz. */
#define MAX_RATE	768000
/* Output samples per call of the resampler, whatever the rates. */
#define RESAMPLE_BLOCK	65536
#define IO_BUFFER	32768

static struct mtag_decode_limits limits = {
	.timeout = MTAG_DECODE_TIMEOUT,
	.max_seconds = MTAG_DECODE_MAX_SECONDS,
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* The names of FFmpeg's audio decoders, for the decoder whitelist that
 * keeps pictures from being decoded to probe them. */
static char *audio_decoders;

static void
init(void)
{
	const AVCodec *c;
	void *it = NULL;
	AVBPrint names;

	av_log_set_level(AV_LOG_QUIET);
	av_bprint_init(&names, 0, AV_BPRINT_SIZE_UNLIMITED);
	while ((c = av_codec_iterate(&it)) != NULL)
		if (c->type == AVMEDIA_TYPE_AUDIO && av_codec_is_decoder(c))
			av_bprintf(&names, "%s%s", names.len > 0 ? "," : "",
			    c->name);
	if (av_bprint_finalize(&names, &audio_decoders) < 0)
		audio_decoders = NULL;
}

static int
fail(struct decoder *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtag_vseterr(d->err, d->errlen, d->path, fmt, ap);
	va_end(ap);
	return -1;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether the deadline has passed; once it has, everything fails. */
static int
expired(struct decoder *d)
{
	if (!d->expired && now() >= d->deadline)
		d->expired = 1;
	return d->expired;
}

static int
fail_time(struct decoder *d)
{
	return fail(d, "decoding took longer than %g s", d->timeout);
}

/* FFmpeg's failures; all of them once the deadline has passed. */
static int
fail_av(struct decoder *d, const char *what, int code)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	if (d->expired)
		return fail_time(d);
	if (av_strerror(code, msg, sizeof(msg)) < 0)
		snprintf(msg, sizeof(msg), "error %d", code);
	return fail(d, "%s (%s)", what, msg);
}

static int
fail_long(struct decoder *d)
{
	return fail(d, "audio longer than the limit of %g s",
	    (double)d->limit / d->rate);
}

/* Makes room for n samples from at, growing the buffer geometrically up
 * to the limit. */
static int
reserve(struct decoder *d, size_t at, size_t n)
{
	size_t need, cap;
	float *p;

	if (n > SIZE_MAX / sizeof(float) - at)
		return fail(d, "decoded audio too long");
	need = at + n;
	if (need <= d->cap)
		return 0;
	cap = d->cap > 0 ? d->cap : 65536;
	while (cap < need)
		cap = cap > SIZE_MAX / sizeof(float) / 2 ?
		    SIZE_MAX / sizeof(float) : cap * 2;
	/* Output past the limit (and a slice) fails: no room for it. */
	if (cap > d->limit + 2 * RESAMPLE_BLOCK)
		cap = need > d->limit + 2 * RESAMPLE_BLOCK ? need :
		    d->limit + 2 * RESAMPLE_BLOCK;
	if ((p = realloc(d->buf, cap * sizeof(float))) == NULL)
		return fail(d, "out of memory");
	d->buf = p;
	d->cap = cap;
	return 0;
}

/* Converts n input samples, or with in NULL drains the resampler. Fails
 * once the output passes the limit while more than the limit is asked for. */
static int
resample(struct decoder *d, const uint8_t **in, int n)
{
	uint8_t *out;
	size_t at;
	int room, got;

	do {
		if ((room = swr_get_out_samples(d->swr, n)) < 0)
			return fail_av(d, "resampling", room);
		at = d->count_only ? 0 : d->len;
		if (reserve(d, at, (size_t)room + 1) < 0)
			return -1;
		out = (uint8_t *)(d->buf + at);
		if ((got = swr_convert(d->swr, &out, room + 1, in, n)) < 0)
			return fail_av(d, "resampling", got);
		d->len += got;
		if (d->len > d->limit && d->max > d->limit)
			return fail_long(d);
	} while (in == NULL && got > 0);
	return 0;
}

/*
 * Sets up the resampler for the format of frame f; when the format changed
 * mid-stream the old resampler is drained first.
 */
static int
setup_resampler(struct decoder *d, const AVFrame *f)
{
	AVChannelLayout layout = { 0 };
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	int ret;

	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&layout, f->ch_layout.nb_channels);
	else if ((ret = av_channel_layout_copy(&layout, &f->ch_layout)) < 0)
		return fail_av(d, "channel layout", ret);

	if (d->swr != NULL && f->format == d->in_format &&
	    f->sample_rate == d->in_rate &&
	    av_channel_layout_compare(&layout, &d->in_layout) == 0) {
		av_channel_layout_uninit(&layout);
		return 0;
	}
	if (d->swr != NULL && resample(d, NULL, 0) < 0)
		goto fail;
	swr_free(&d->swr);
	av_channel_layout_uninit(&d->in_layout);
	d->in_layout = layout;
	d->in_format = f->format;
	d->in_rate = f->sample_rate;
	layout = (AVChannelLayout){ 0 };

	ret = swr_alloc_set_opts2(&d->swr, &mono, AV_SAMPLE_FMT_FLT, d->rate,
	    &d->in_layout, f->format, f->sample_rate, 0, NULL);
	if (ret < 0 || (ret = swr_init(d->swr)) < 0) {
		fail_av(d, "cannot set up resampler", ret);
		goto fail;
	}
	return 0;
fail:
	av_channel_layout_uninit(&layout);
	return -1;
}

/*
 * The first samples of f to drop after a seek, up to the first one that
 * falls on an output sample, whose index d->len becomes: the resampler then
 * starts in the phase of a decode from the beginning. All of them while f
 * has no timestamp or no such sample.
 */
static int
resync(struct decoder *d, const AVFrame *f)
{
	const AVStream *st = d->fmt->streams[d->stream];
	int64_t pts = f->best_effort_timestamp, in, step, skip;

	if (pts == AV_NOPTS_VALUE)
		return f->nb_samples;
	if (st->start_time != AV_NOPTS_VALUE)
		pts -= st->start_time;
	in = av_rescale_q(pts, st->time_base,
	    (AVRational){ 1, f->sample_rate });
	/* Every step input samples fall on an output sample. */
	step = f->sample_rate / av_gcd(f->sample_rate, d->rate);
	skip = in < 0 ? -in : (step - in % step) % step;
	if (skip >= f->nb_samples)
		return f->nb_samples;
	d->len = (size_t)((in + skip) / step) * (d->rate /
	    av_gcd(f->sample_rate, d->rate));
	d->resync = 0;
	return (int)skip;
}

/* Resamples the rest of the pending frame, in slices of about
 * RESAMPLE_BLOCK output samples whatever the ratio of the rates, until its
 * end or until the output reaches d->max: the rest then stays pending. */
static int
feed(struct decoder *d)
{
	const AVFrame *f = d->frame;
	const int nch = f->ch_layout.nb_channels;
	const int planar = av_sample_fmt_is_planar(f->format);
	const int bytes = av_get_bytes_per_sample(f->format);
	const int64_t slice = 1 + (int64_t)RESAMPLE_BLOCK * f->sample_rate /
	    d->rate;
	const uint8_t *in[planar ? nch : 1];
	int i, n;

	while (d->at < f->nb_samples && d->len < d->max) {
		if (expired(d))
			return fail_time(d);
		n = f->nb_samples - d->at < slice ? f->nb_samples - d->at :
		    (int)slice;
		for (i = 0; i < (planar ? nch : 1); i++)
			in[i] = f->extended_data[i] + (size_t)d->at * bytes *
			    (planar ? 1 : nch);
		if (resample(d, in, n) < 0)
			return -1;
		d->at += n;
	}
	if (d->at == f->nb_samples) {
		av_frame_unref(d->frame);
		d->pending = 0;
	}
	return 0;
}

/* Takes the decoder's frames into the output until it wants a packet or
 * the output reaches d->max. */
static int
receive_frames(struct decoder *d)
{
	int ret;

	while (d->len < d->max) {
		if (d->pending) {
			if (feed(d) < 0)
				return -1;
			continue;
		}
		ret = avcodec_receive_frame(d->dec, d->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret == AVERROR(ENOMEM) || d->expired)
			return fail_av(d, "decoding", ret);
		if (ret < 0) {
			d->nerrors++;
			d->lasterror = ret;
			continue;
		}
		/* Resampling from more would take seconds per frame. */
		if (d->frame->sample_rate > MAX_RATE) {
			fail(d, "unsupported sample rate of %d Hz",
			    d->frame->sample_rate);
			av_frame_unref(d->frame);
			return -1;
		}
		if (d->frame->sample_rate <= 0 ||
		    d->frame->ch_layout.nb_channels <= 0) {
			d->nerrors++;
			d->lasterror = AVERROR_INVALIDDATA;
			av_frame_unref(d->frame);
			continue;
		}
		d->nframes++;
		if (d->frame->nb_samples <= 0) {
			av_frame_unref(d->frame);
			continue;
		}
		if (setup_resampler(d, d->frame) < 0)
			return -1;
		d->at = d->resync ? resync(d, d->frame) : 0;
		d->pending = 1;
	}
	return 0;
}

static int
send_packet(struct decoder *d, const AVPacket *pkt)
{
	int ret;

	ret = avcodec_send_packet(d->dec, pkt);
	if (ret == AVERROR(ENOMEM))
		return fail_av(d, "decoding", ret);
	if (ret < 0 && ret != AVERROR_EOF) {
		d->nerrors++;
		d->lasterror = ret;
	}
	return receive_frames(d);
}

static int
read_packet(void *opaque, uint8_t *buf, int size)
{
	struct decoder *d = opaque;
	ssize_t n;

	if (expired(d))
		return AVERROR_EXIT;
	do
		n = read(d->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return AVERROR(errno);
	return n == 0 ? AVERROR_EOF : (int)n;
}

static int64_t
seek_packet(void *opaque, int64_t offset, int whence)
{
	struct decoder *d = opaque;
	struct stat sb;
	off_t at;

	if (whence & AVSEEK_SIZE)
		return fstat(d->fd, &sb) < 0 ? AVERROR(errno) : sb.st_size;
	if ((at = lseek(d->fd, offset, whence & ~AVSEEK_FORCE)) < 0)
		return AVERROR(errno);
	return at;
}

static int
interrupted(void *opaque)
{
	return expired(opaque);
}

/* Playlists and the like name other files and URLs: none is opened. */
static int
refuse_open(AVFormatContext *s, AVIOContext **pb, const char *url,
    int flags, AVDictionary **options)
{
	(void)s;
	(void)pb;
	(void)url;
	(void)flags;
	(void)options;
	return AVERROR(EPERM);
}

static const char *
file_type(mode_t mode)
{
	if (S_ISDIR(mode))
		return "directory";
	if (S_ISFIFO(mode))
		return "FIFO";
	if (S_ISCHR(mode))
		return "character device";
	if (S_ISBLK(mode))
		return "block device";
	if (S_ISSOCK(mode))
		return "socket";
	return "special file";
}

/*
 * Opens d->path if it is a regular file, without blocking on a FIFO, and
 * sets up reading it through d->pb. The type is checked before the open (no
 * device is ever opened) and again on the open file (it may have been
 * replaced between).
 */
static int
open_file(struct decoder *d)
{
	struct stat sb;
	unsigned char *buf;

	if (stat(d->path, &sb) < 0)
		return fail(d, "cannot open: %s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return fail(d, "not a regular file (%s)", file_type(sb.st_mode));
	if ((d->fd = open(d->path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) < 0)
		return fail(d, "cannot open: %s", strerror(errno));
	if (fstat(d->fd, &sb) < 0)
		return fail(d, "cannot open: %s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return fail(d, "not a regular file (%s)", file_type(sb.st_mode));
	if (sb.st_size == 0)
		return fail(d, "empty file");
	if ((buf = av_malloc(IO_BUFFER)) == NULL)
		return fail(d, "out of memory");
	if ((d->pb = avio_alloc_context(buf, IO_BUFFER, 0, d, read_packet,
	    NULL, seek_packet)) == NULL) {
		av_free(buf);
		return fail(d, "out of memory");
	}
	return 0;
}

static int
open_input(struct decoder *d)
{
	AVDictionary *opts = NULL;
	AVStream *st;
	const AVCodec *codec;
	unsigned i;
	int ret;

	if (open_file(d) < 0)
		return -1;
	if ((d->fmt = avformat_alloc_context()) == NULL)
		return fail(d, "out of memory");
	d->fmt->pb = d->pb;
	d->fmt->interrupt_callback.callback = interrupted;
	d->fmt->interrupt_callback.opaque = d;
	d->fmt->io_open = refuse_open;
	av_dict_set_int(&opts, "probesize", PROBESIZE, 0);
	av_dict_set_int(&opts, "analyzeduration", ANALYZEDURATION, 0);
	ret = avformat_open_input(&d->fmt, d->path, NULL, &opts);
	av_dict_free(&opts);
	if (ret == AVERROR_INVALIDDATA || ret == AVERROR(EINVAL))
		return fail_av(d, "not an audio file", AVERROR_INVALIDDATA);
	if (ret == AVERROR_EOF)
		return fail_av(d, "truncated file", ret);
	if (ret < 0)
		return fail_av(d, "cannot open", ret);
	if (audio_decoders == NULL)
		return fail(d, "out of memory");
	if ((d->fmt->codec_whitelist = av_strdup(audio_decoders)) == NULL)
		return fail(d, "out of memory");
	if ((ret = avformat_find_stream_info(d->fmt, NULL)) < 0)
		return fail_av(d, "cannot read stream info", ret);

	d->stream = -1;
	for (i = 0; i < d->fmt->nb_streams; i++) {
		st = d->fmt->streams[i];
		if (d->stream < 0 &&
		    st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO &&
		    !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			d->stream = i;
		else
			st->discard = AVDISCARD_ALL;
	}
	if (d->stream < 0)
		return fail(d, "no audio stream");

	st = d->fmt->streams[d->stream];
	if ((codec = avcodec_find_decoder(st->codecpar->codec_id)) == NULL)
		return fail(d, "no decoder for audio codec %s",
		    avcodec_get_name(st->codecpar->codec_id));
	if ((d->dec = avcodec_alloc_context3(codec)) == NULL)
		return fail(d, "out of memory");
	if ((ret = avcodec_parameters_to_context(d->dec, st->codecpar)) < 0)
		return fail_av(d, "bad codec parameters", ret);
	d->dec->pkt_timebase = st->time_base;
	d->dec->max_samples = MAX_FRAME;
	if ((ret = avcodec_open2(d->dec, codec, NULL)) < 0)
		return fail_av(d, "cannot open decoder", ret);
	return 0;
}

/* Decodes until the output reaches d->max or the end of the audio (then
 * drained). Returns 1 at the end, 0, or -1. */
static int
decode_to_max(struct decoder *d)
{
	int ret;

	/* What was decoded before the last stop comes first. */
	if (receive_frames(d) < 0)
		return -1;
	while (d->len < d->max) {
		if (expired(d))
			return fail_time(d);
		ret = av_read_frame(d->fmt, d->pkt);
		if (ret == AVERROR_EOF)
			break;
		if (ret < 0)
			return fail_av(d, "read error", ret);
		if (d->pkt->stream_index == d->stream)
			ret = send_packet(d, d->pkt);
		else
			ret = 0;
		av_packet_unref(d->pkt);
		if (ret < 0)
			return -1;
	}
	if (d->len >= d->max)
		return 0;
	if (send_packet(d, NULL) < 0)
		return -1;
	if (d->len < d->max && d->swr != NULL && resample(d, NULL, 0) < 0)
		return -1;
	return 1;
}

static int
decode_all(struct decoder *d)
{
	if (decode_to_max(d) < 0)
		return -1;

	/* Like ffmpeg, give up when over 2/3 of the decode calls failed. */
	if (d->nerrors > 2 * d->nframes)
		return fail_av(d, "cannot decode", d->lasterror);
	if (d->len == 0 && d->nerrors > 0)
		return fail_av(d, "cannot decode", d->lasterror);
	if (d->len == 0)
		return fail(d, "no audio samples decoded");
	return 0;
}

/* Seconds mtag_decode_length decodes at the end, from the container's
 * estimate of the duration. */
#define LENGTH_TAIL 3

int
mtag_decode_set_limits(const struct mtag_decode_limits *l)
{
	if (!(l->timeout >= 0) || !(l->max_seconds > 0))
		return -1;
	limits = *l;
	return 0;
}

/* Opens d->path for decoding at d->rate. */
static int
start(struct decoder *d)
{
	pthread_once(&init_once, init);
	d->fd = -1;
	d->max = SIZE_MAX;
	d->in_format = AV_SAMPLE_FMT_NONE;
	d->timeout = limits.timeout;
	d->deadline = now() + limits.timeout;
	if (d->rate <= 0)
		return fail(d, "invalid output sample rate %d", d->rate);
	d->limit = limits.max_seconds * d->rate < (double)SIZE_MAX / 8 ?
	    (size_t)(limits.max_seconds * d->rate) : SIZE_MAX / 8;
	if ((d->pkt = av_packet_alloc()) == NULL ||
	    (d->frame = av_frame_alloc()) == NULL)
		return fail(d, "out of memory");
	return open_input(d);
}

static void
finish(struct decoder *d)
{
	free(d->buf);
	swr_free(&d->swr);
	av_channel_layout_uninit(&d->in_layout);
	avcodec_free_context(&d->dec);
	avformat_close_input(&d->fmt);
	if (d->pb != NULL)
		av_freep(&d->pb->buffer);
	avio_context_free(&d->pb);
	if (d->fd >= 0)
		close(d->fd);
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
}

int
mtag_decode_file(const char *path, int rate, double max_seconds,
    float **samples, size_t *nsamples, char *err, size_t errlen)
{
	struct decoder d = {
		.path = path, .err = err, .errlen = errlen, .rate = rate,
	};
	float *p;
	int ret = -1;

	*samples = NULL;
	*nsamples = 0;
	if (start(&d) < 0)
		goto done;
	if (max_seconds > 0 && max_seconds * rate < (double)SIZE_MAX / 2)
		d.max = (size_t)(max_seconds * rate + 0.5);
	if (d.max == 0) {
		fail(&d, "limit of %g s is under one sample", max_seconds);
		goto done;
	}
	if (decode_all(&d) < 0)
		goto done;
	if (d.len > d.max)
		d.len = d.max;
	if ((p = realloc(d.buf, d.len * sizeof(float))) != NULL)
		d.buf = p;
	*samples = d.buf;
	*nsamples = d.len;
	d.buf = NULL;
	ret = 0;
done:
	finish(&d);
	return ret;
}

/* Seeks to output sample at, on the grid of a decode from the start. */
static int
seek(struct decoder *d, size_t at)
{
	const AVStream *st = d->fmt->streams[d->stream];
	int64_t ts;
	int ret;

	ts = av_rescale_q((int64_t)at, (AVRational){ 1, d->rate },
	    st->time_base);
	if (st->start_time != AV_NOPTS_VALUE)
		ts += st->start_time;
	if ((ret = av_seek_frame(d->fmt, d->stream, ts,
	    AVSEEK_FLAG_BACKWARD)) < 0)
		return fail_av(d, "cannot seek", ret);
	avcodec_flush_buffers(d->dec);
	/* The pending and buffered samples belong before the seek. */
	av_frame_unref(d->frame);
	d->pending = 0;
	swr_free(&d->swr);
	d->resync = 1;
	return 0;
}

int
mtag_decode_length(const char *path, int rate, size_t *nsamples,
    char *err, size_t errlen)
{
	struct decoder d = {
		.path = path, .err = err, .errlen = errlen, .rate = rate,
	};
	const AVStream *st;
	double seconds = 0;
	size_t est = 0, tail = LENGTH_TAIL * (size_t)rate;
	int ret = -1;

	*nsamples = 0;
	if (start(&d) < 0)
		goto done;
	st = d.fmt->streams[d.stream];
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		seconds = st->duration * av_q2d(st->time_base);
	else if (d.fmt->duration != AV_NOPTS_VALUE && d.fmt->duration > 0)
		seconds = (double)d.fmt->duration / AV_TIME_BASE;
	if (seconds * rate < (double)SIZE_MAX / 2)
		est = (size_t)(seconds * rate + 0.5);
	ret = 0;
	if (est == 0)
		goto done;
	/* The exact length: decode the end of the audio. */
	d.count_only = 1;
	if (est > 2 * tail && seek(&d, est - tail) < 0) {
		/* Unseekable: the caller decodes it all, unless too late. */
		if (d.expired)
			ret = -1;
		goto done;
	}
	if (decode_to_max(&d) < 0) {
		ret = -1;
		goto done;
	}
	if (!d.resync)
		*nsamples = d.len;
done:
	finish(&d);
	return ret;
}

int
mtag_decode_windows(const char *path, int rate, size_t n,
    const size_t *starts, int nwindows, size_t len, float **samples,
    char *err, size_t errlen)
{
	struct decoder d = {
		.path = path, .err = err, .errlen = errlen, .rate = rate,
	};
	size_t pre = (size_t)(MTAG_DECODE_PREROLL * rate), from;
	int i, ret = -1, end = 0;

	*samples = NULL;
	if (start(&d) < 0)
		goto done;
	if (n > d.limit) {
		fail_long(&d);
		goto done;
	}
	if (n == 0 || (d.buf = calloc(n, sizeof(float))) == NULL) {
		fail(&d, n == 0 ? "no audio samples" : "out of memory");
		goto done;
	}
	d.cap = n;
	for (i = 0; i < nwindows && !end; i++) {
		from = starts[i] > pre ? starts[i] - pre : 0;
		d.max = starts[i] + len < n ? starts[i] + len : n;
		if (d.len >= d.max)
			continue;
		/* Gaps under a second are decoded through. */
		if (from > d.len + (size_t)rate && seek(&d, from) < 0)
			goto done;
		if ((end = decode_to_max(&d)) < 0)
			goto done;
	}
	if (d.nframes == 0) {
		fail(&d, d.nerrors > 0 ? "cannot decode" :
		    "no audio samples decoded");
		goto done;
	}
	/* Samples past n may have been decoded into a grown buffer. */
	*samples = d.buf;
	d.buf = NULL;
	ret = 0;
done:
	finish(&d);
	return ret;
}

/*
 * Decoding of audio files to mono float32 at a chosen sample rate with
 * libavformat, libavcodec and libswresample, giving the same samples as
 * `ffmpeg -i FILE -map 0:a:0 -ac 1 -ar RATE -f f32le`, whole or only in
 * windows reached by seeking.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
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

	AVFormatContext	*fmt;
	AVCodecContext	*dec;
	AVPacket	*pkt;
	AVFrame		*frame;
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

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void
quiet_ffmpeg(void)
{
	av_log_set_level(AV_LOG_QUIET);
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

static int
fail_av(struct decoder *d, const char *what, int code)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	if (av_strerror(code, msg, sizeof(msg)) < 0)
		snprintf(msg, sizeof(msg), "error %d", code);
	return fail(d, "%s: %s", what, msg);
}

/* Makes room for n samples from at, growing the buffer geometrically. */
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
	if ((p = realloc(d->buf, cap * sizeof(float))) == NULL)
		return fail(d, "out of memory");
	d->buf = p;
	d->cap = cap;
	return 0;
}

/* Converts n input samples, or with in NULL drains the resampler. */
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

/* Resamples the samples of frame f into the output. */
static int
feed(struct decoder *d, const AVFrame *f)
{
	const int nch = f->ch_layout.nb_channels;
	const int planar = av_sample_fmt_is_planar(f->format);
	const int bytes = av_get_bytes_per_sample(f->format);
	const uint8_t *in[planar ? nch : 1];
	int i, skip = 0;

	if (setup_resampler(d, f) < 0)
		return -1;
	if (d->resync && (skip = resync(d, f)) == f->nb_samples)
		return 0;
	for (i = 0; i < (planar ? nch : 1); i++)
		in[i] = f->extended_data[i] + (size_t)skip * bytes *
		    (planar ? 1 : nch);
	return resample(d, in, f->nb_samples - skip);
}

static int
receive_frames(struct decoder *d)
{
	int ret;

	while (d->len < d->max) {
		ret = avcodec_receive_frame(d->dec, d->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret == AVERROR(ENOMEM))
			return fail_av(d, "decoding", ret);
		if (ret < 0) {
			d->nerrors++;
			d->lasterror = ret;
			continue;
		}
		if (d->frame->sample_rate <= 0 ||
		    d->frame->ch_layout.nb_channels <= 0) {
			d->nerrors++;
			d->lasterror = AVERROR_INVALIDDATA;
			av_frame_unref(d->frame);
			continue;
		}
		d->nframes++;
		if (d->frame->nb_samples > 0 && feed(d, d->frame) < 0) {
			av_frame_unref(d->frame);
			return -1;
		}
		av_frame_unref(d->frame);
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
open_input(struct decoder *d)
{
	AVDictionary *opts = NULL;
	AVStream *st;
	struct stat sb;
	const AVCodec *codec;
	char *url;
	unsigned i;
	int ret;

	if ((url = av_asprintf("file:%s", d->path)) == NULL)
		return fail(d, "out of memory");
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	ret = avformat_open_input(&d->fmt, url, NULL, &opts);
	av_dict_free(&opts);
	av_free(url);
	if (ret == AVERROR_INVALIDDATA || ret == AVERROR(EINVAL)) {
		if (stat(d->path, &sb) == 0 && sb.st_size == 0)
			return fail(d, "empty file");
		return fail(d, "unrecognised or corrupt file");
	}
	if (ret < 0)
		return fail_av(d, "cannot open", ret);
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

	while (d->len < d->max) {
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

/* Opens d->path for decoding at d->rate. */
static int
start(struct decoder *d)
{
	pthread_once(&quiet_once, quiet_ffmpeg);
	d->max = SIZE_MAX;
	d->in_format = AV_SAMPLE_FMT_NONE;
	if (d->rate <= 0)
		return fail(d, "invalid output sample rate %d", d->rate);
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
	/* The buffered samples belong before the seek. */
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
	if (est > 2 * tail && seek(&d, est - tail) < 0)
		goto done;
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

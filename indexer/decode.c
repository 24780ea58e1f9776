/*
 * Decoding of audio files to mono float32 at a chosen sample rate with
 * libavformat, libavcodec and libswresample, giving the same samples as
 * `ffmpeg -i FILE -map 0:a:0 -ac 1 -ar RATE -f f32le`.
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

/* Makes room for n more samples, growing the buffer geometrically. */
static int
reserve(struct decoder *d, size_t n)
{
	size_t need, cap;
	float *p;

	if (n > SIZE_MAX / sizeof(float) - d->len)
		return fail(d, "decoded audio too long");
	need = d->len + n;
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
	int room, got;

	do {
		if ((room = swr_get_out_samples(d->swr, n)) < 0)
			return fail_av(d, "resampling", room);
		if (reserve(d, (size_t)room + 1) < 0)
			return -1;
		out = (uint8_t *)(d->buf + d->len);
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
		if (d->frame->nb_samples > 0 &&
		    (setup_resampler(d, d->frame) < 0 ||
		    resample(d, (const uint8_t **)d->frame->extended_data,
		    d->frame->nb_samples) < 0)) {
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

static int
decode_all(struct decoder *d)
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
	if (d->len < d->max && send_packet(d, NULL) < 0)
		return -1;
	if (d->len < d->max && d->swr != NULL && resample(d, NULL, 0) < 0)
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

int
mtag_decode_file(const char *path, int rate, double max_seconds,
    float **samples, size_t *nsamples, char *err, size_t errlen)
{
	struct decoder d = {
		.path = path, .err = err, .errlen = errlen, .rate = rate,
		.max = SIZE_MAX, .in_format = AV_SAMPLE_FMT_NONE,
	};
	float *p;
	int ret = -1;

	pthread_once(&quiet_once, quiet_ffmpeg);
	*samples = NULL;
	*nsamples = 0;
	if (rate <= 0) {
		fail(&d, "invalid output sample rate %d", rate);
		goto done;
	}
	if (max_seconds > 0 && max_seconds * rate < (double)SIZE_MAX / 2)
		d.max = (size_t)(max_seconds * rate + 0.5);
	if (d.max == 0) {
		fail(&d, "limit of %g s is under one sample", max_seconds);
		goto done;
	}

	if ((d.pkt = av_packet_alloc()) == NULL ||
	    (d.frame = av_frame_alloc()) == NULL) {
		fail(&d, "out of memory");
		goto done;
	}
	if (open_input(&d) < 0 || decode_all(&d) < 0)
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
	free(d.buf);
	swr_free(&d.swr);
	av_channel_layout_uninit(&d.in_layout);
	avcodec_free_context(&d.dec);
	avformat_close_input(&d.fmt);
	av_frame_free(&d.frame);
	av_packet_free(&d.pkt);
	return ret;
}

/*
 * Tests for indexer/decode.c: the decoded samples against the golden clips
 * made by the ffmpeg command line tool, the max_seconds limit, decoding
 * from several threads at once, decoding only a model's chunks, and failing
 * cleanly on bad input.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "decode.h"
#include "model.h"
#include "testutil.h"

struct clip {
	const char	*name;
	const char	*ext;
	double		 max_seconds;
};

static const struct clip clips[] = {
	{ "mtat_joram_solipsism", "mp3", 0 },
	{ "avenger_kills", "mp3", 60 },
	{ "msd_TRABCDE128F111GH11", "wav", 0 },
	{ "synthetic_tone_noise", "wav", 0 },
};

static const int rates[] = { 16000, 22050 };

#define NCLIPS	(sizeof(clips) / sizeof(clips[0]))
#define NRATES	(sizeof(rates) / sizeof(rates[0]))
#define TOL	1e-5

/* A 1x1 grayscale PNG. */
static const unsigned char png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
	0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00,
	0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49,
	0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static void
audio_path(char *buf, size_t len, const struct clip *c)
{
	snprintf(buf, len, "%s/audio/%s.%s", test_shared_dir(), c->name,
	    c->ext);
}

static void *
read_file(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, n, fp) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
	*len = n;
	return buf;
}

static float *
read_golden(const struct clip *c, int rate, size_t *n)
{
	char path[4096];
	size_t len;
	float *g;

	snprintf(path, sizeof(path), "%s/golden/clips/%s.%d.f32",
	    test_shared_dir(), c->name, rate);
	g = read_file(path, &len);
	*n = len / sizeof(float);
	return g;
}

static double
max_diff(const float *a, const float *b, size_t n)
{
	double d, m = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		d = fabs((double)a[i] - b[i]);
		if (!(d <= m))
			m = d;
	}
	return m;
}

static int
decode(const char *path, int rate, double max_seconds, float **s, size_t *n)
{
	char err[512];

	if (mtag_decode_file(path, rate, max_seconds, s, n, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void
test_golden(void)
{
	char path[4096];
	float *s, *g;
	size_t i, j, n, gn;
	double d;

	for (i = 0; i < NCLIPS; i++) {
		audio_path(path, sizeof(path), &clips[i]);
		for (j = 0; j < NRATES; j++) {
			g = read_golden(&clips[i], rates[j], &gn);
			if (decode(path, rates[j], clips[i].max_seconds, &s,
			    &n) < 0) {
				CHECK(!"decoding a golden clip failed");
				free(g);
				continue;
			}
			CHECK(n == gn);
			d = max_diff(s, g, n < gn ? n : gn);
			printf("%s.%d: %zu samples (golden %zu), "
			    "max |diff| %g\n", clips[i].name, rates[j], n, gn,
			    d);
			CHECK(d <= TOL);
			free(s);
			free(g);
		}
	}
}

static void
check_limit(const struct clip *c, int rate, double max_seconds,
    size_t expect)
{
	char path[4096];
	float *s, *g;
	size_t n, gn;

	audio_path(path, sizeof(path), c);
	g = read_golden(c, rate, &gn);
	if (decode(path, rate, max_seconds, &s, &n) < 0) {
		CHECK(!"decoding with max_seconds failed");
		free(g);
		return;
	}
	printf("%s.%d limited to %g s: %zu samples\n", c->name, rate,
	    max_seconds, n);
	CHECK(n == expect);
	CHECK(n <= gn && max_diff(s, g, n) <= TOL);
	free(s);
	free(g);
}

static void
test_max_seconds(void)
{
	check_limit(&clips[3], 16000, 2.5, 40000);
	check_limit(&clips[3], 22050, 0.1, 2205);
	check_limit(&clips[1], 22050, 1, 22050);
	check_limit(&clips[1], 16000, 1.23456, 19753);
	/* A limit beyond the end changes nothing. */
	check_limit(&clips[0], 16000, 1000, 465984);
}

struct job {
	const struct clip	*clip;
	int			 rate;
	int			 ok;
};

static void *
decode_job(void *arg)
{
	struct job *j = arg;
	char path[4096];
	float *s, *g;
	size_t n, gn;

	audio_path(path, sizeof(path), j->clip);
	g = read_golden(j->clip, j->rate, &gn);
	if (decode(path, j->rate, j->clip->max_seconds, &s, &n) == 0) {
		j->ok = n == gn && max_diff(s, g, n) <= TOL;
		free(s);
	}
	free(g);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t tid[2 * NCLIPS];
	struct job jobs[2 * NCLIPS];
	size_t i;

	for (i = 0; i < 2 * NCLIPS; i++) {
		jobs[i] = (struct job){ &clips[i % NCLIPS], rates[i / NCLIPS],
		    0 };
		if (pthread_create(&tid[i], NULL, decode_job, &jobs[i]) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (i = 0; i < 2 * NCLIPS; i++) {
		pthread_join(tid[i], NULL);
		CHECK(jobs[i].ok);
	}
}

/*
 * Decoding only the chunks of MusiCNN (16 windows of 3 s, seeking between
 * them) after finding the track's length gives the chunks' samples of a
 * whole decode (the resampler restarts in phase) and track probabilities
 * within 1e-3.
 */
static void
test_windows(void)
{
	char path[4096], err[512];
	size_t n, wn, starts[MTAG_TRACK_CHUNKS], len, i;
	float *s, *w, probs[2][64];
	double d, maxd = 0, maxp = 0;
	mtag_ckpt *ck;
	mtag_model *m;
	int j, count, nchunks;

	audio_path(path, sizeof(path), &clips[1]);
	ck = mtag_ckpt_open(SHARED_PATH(path,
	    "models/pretrained/mtat/musicnn/best_model.pth"), err,
	    sizeof(err));
	if (ck == NULL || (m = mtag_model_load(ck, NULL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"loading musicnn failed");
		mtag_ckpt_free(ck);
		return;
	}
	mtag_ckpt_free(ck);
	audio_path(path, sizeof(path), &clips[1]);
	CHECK(mtag_decode_length(path, 16000, &wn, err, sizeof(err)) == 0);
	if (decode(path, 16000, 0, &s, &n) < 0) {
		CHECK(!"decoding failed");
		mtag_model_free(m);
		return;
	}
	printf("%s: %zu samples, length %zu\n", path, n, wn);
	CHECK(wn == n);
	len = mtag_model_input_length(m);
	count = mtag_model_track_chunks(m, wn, starts);
	CHECK(count == MTAG_TRACK_CHUNKS && mtag_model_ntags(m) <= 64);
	if (mtag_decode_windows(path, 16000, wn, starts, count, len, &w, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"decoding windows failed");
		free(s);
		mtag_model_free(m);
		return;
	}
	for (j = 0; j < count; j++)
		for (i = starts[j]; i < starts[j] + len && i < n; i++) {
			d = fabs((double)s[i] - w[i]);
			maxd = d > maxd ? d : maxd;
		}
	mtag_model_run_track(m, s, n, probs[0], NULL, NULL, NULL, &nchunks);
	mtag_model_run_track(m, w, wn, probs[1], NULL, NULL, NULL, &nchunks);
	for (j = 0; j < mtag_model_ntags(m); j++) {
		d = fabs(probs[0][j] - probs[1][j]);
		maxp = d > maxp ? d : maxp;
	}
	printf("windows: max |diff| %g in the chunks, %g in probabilities\n",
	    maxd, maxp);
	CHECK(maxd <= 1e-4);
	CHECK(maxp <= 1e-3);
	free(s);
	free(w);
	mtag_model_free(m);
}

/* Writes len bytes of data to a new file under /tmp ending in suffix. */
static char *
make_temp(const char *suffix, const void *data, size_t len)
{
	char *path;
	size_t size;
	int fd;

	size = sizeof("/tmp/mtag-test-XXXXXX") + strlen(suffix);
	if ((path = malloc(size)) == NULL) {
		perror("malloc");
		exit(1);
	}
	snprintf(path, size, "/tmp/mtag-test-XXXXXX%s", suffix);
	if ((fd = mkstemps(path, strlen(suffix))) < 0 ||
	    write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static void
expect_failure(const char *path, int rate, const char *cause)
{
	char err[512] = "";
	float *s = (float *)1;
	size_t n = 1;
	int ret;

	ret = mtag_decode_file(path, rate, 0, &s, &n, err, sizeof(err));
	printf("%s -> %d \"%s\"\n", path, ret, err);
	CHECK(ret == -1);
	CHECK(s == NULL && n == 0);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, cause) != NULL);
	if (ret == 0)
		free(s);
}

static void
expect_failure_data(const char *suffix, const void *data, size_t len,
    const char *cause)
{
	char *path;

	path = make_temp(suffix, data, len);
	expect_failure(path, 16000, cause);
	unlink(path);
	free(path);
}

static void
random_bytes(unsigned char *buf, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		buf[i] = seed >> 24;
	}
}

/*
 * A file cut short decodes to the complete frames it holds. The first 10 KB
 * of the 16 kHz mono MP3 (no resampling) give the golden clip's first
 * samples exactly; those of avenger_kills.mp3 hold only part of its 60 KB
 * ID3 tag (the cover picture) and no audio at all.
 */
static void
test_truncated(void)
{
	char path[4096], *tmp;
	unsigned char *data;
	float *s, *g;
	size_t len, n, gn;

	audio_path(path, sizeof(path), &clips[0]);
	data = read_file(path, &len);
	CHECK(len > 10240);
	tmp = make_temp(".mp3", data, 10240);
	g = read_golden(&clips[0], 16000, &gn);
	if (decode(tmp, 16000, 0, &s, &n) == 0) {
		printf("%s -> %zu samples of %zu\n", tmp, n, gn);
		CHECK(n > 16000 && n < gn);
		CHECK(n <= gn && max_diff(s, g, n) <= TOL);
		free(s);
	} else
		CHECK(!"decoding a truncated mp3 failed");
	unlink(tmp);
	free(tmp);
	free(g);
	free(data);

	audio_path(path, sizeof(path), &clips[1]);
	data = read_file(path, &len);
	CHECK(len > 10240);
	expect_failure_data(".mp3", data, 10240, "not an audio file (Invalid data");
	free(data);
}

static void
test_errors(void)
{
	static const char text[] = "This is a text file, not an MP3.\n";
	unsigned char *noise;
	char missing[64], dir[] = "/tmp/mtag-test-XXXXXX";

	snprintf(missing, sizeof(missing), "/tmp/mtag-test-missing-%ld.mp3",
	    (long)getpid());
	expect_failure(missing, 16000, "No such file or directory");

	expect_failure_data(".mp3", "", 0, "empty file");
	expect_failure_data(".mp3", text, strlen(text),
	    "not an audio file (Invalid data");
	expect_failure_data(".png", png, sizeof(png), "no audio stream");

	/* Too little to probe as MP3; enough to open as MP3 but not decode. */
	if ((noise = malloc(262144)) == NULL) {
		perror("malloc");
		exit(1);
	}
	random_bytes(noise, 262144, 0x9e3779b97f4a7c15ULL);
	expect_failure_data(".mp3", noise, 4096, "not an audio file");
	expect_failure_data(".mp3", noise, 262144, "cannot decode");
	free(noise);

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(1);
	}
	expect_failure(dir, 16000, "not a regular file (directory)");
	rmdir(dir);

	expect_failure(missing, 0, "sample rate");
}

/* All three entry points fail on path with a message naming it and cause. */
static void
expect_all_fail(const char *path, const char *cause)
{
	char err[512] = "";
	size_t n = 1, start = 0;
	float *s = (float *)1;

	expect_failure(path, 16000, cause);
	CHECK(mtag_decode_length(path, 16000, &n, err, sizeof(err)) == -1);
	printf("%s -> length: \"%s\"\n", path, err);
	CHECK(n == 0 && strstr(err, path) != NULL);
	CHECK(strstr(err, cause) != NULL);
	err[0] = '\0';
	CHECK(mtag_decode_windows(path, 16000, 48000, &start, 1, 16000, &s,
	    err, sizeof(err)) == -1);
	printf("%s -> windows: \"%s\"\n", path, err);
	CHECK(s == NULL && strstr(err, path) != NULL);
	CHECK(strstr(err, cause) != NULL);
}

/* FIFOs (which would block an open), devices and sockets are refused by
 * their type, whatever their name. */
static void
test_special_files(void)
{
	char dir[] = "/tmp/mtag-test-XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/fifo.mp3", dir);
	CHECK(mkfifo(path, 0600) == 0);
	expect_all_fail(path, "not a regular file (FIFO)");
	unlink(path);

	snprintf(path, sizeof(path), "%s/zero.mp3", dir);
	CHECK(symlink("/dev/zero", path) == 0);
	expect_all_fail(path, "not a regular file (character device)");
	unlink(path);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket.mp3", dir);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(sa.sun_path);
		exit(1);
	}
	expect_all_fail(sa.sun_path, "not a regular file (socket)");
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

/* An ID3v2 header (10 bytes) claiming size bytes of tag. */
static void
id3_header(unsigned char *h, uint32_t size)
{
	memcpy(h, "ID3\3\0\0", 6);
	h[6] = size >> 21 & 0x7f;
	h[7] = size >> 14 & 0x7f;
	h[8] = size >> 7 & 0x7f;
	h[9] = size & 0x7f;
}

/*
 * An ID3 tag claiming 256 MB hides the whole file: no audio, and no such
 * allocation. A tag holding a picture frame that claims 200 MB (of a few
 * bytes) before the audio: the audio decodes as without it.
 */
static void
test_huge_id3(void)
{
	static const char apic[] = "APIC\x0b\xeb\xc2\0\0\0\0image/png\0\3\0"
	    "\x89PNG\r\n\x1a\n";
	char path[4096], *tmp;
	unsigned char *mp3, *data;
	size_t len, n, gn;
	float *s, *g;

	audio_path(path, sizeof(path), &clips[0]);
	mp3 = read_file(path, &len);
	if ((data = malloc(len + 10 + sizeof(apic))) == NULL) {
		perror("malloc");
		exit(1);
	}
	id3_header(data, 0x0fffffff);
	memcpy(data + 10, mp3, len);
	expect_failure_data(".mp3", data, len + 10, "not an audio file");

	id3_header(data, sizeof(apic) - 1);
	memcpy(data + 10, apic, sizeof(apic) - 1);
	memcpy(data + 10 + sizeof(apic) - 1, mp3, len);
	tmp = make_temp(".mp3", data, len + 10 + sizeof(apic) - 1);
	g = read_golden(&clips[0], 16000, &gn);
	if (decode(tmp, 16000, 0, &s, &n) == 0) {
		printf("%s (200 MB picture claimed) -> %zu samples\n", tmp, n);
		CHECK(n == gn && max_diff(s, g, n) <= TOL);
		free(s);
	} else
		CHECK(!"decoding past a huge picture frame failed");
	unlink(tmp);
	free(tmp);
	free(g);
	free(data);
	free(mp3);
}

/* The deadline and the longest duration, with limits made small. */
static void
test_limits(void)
{
	const struct mtag_decode_limits defaults = {
		MTAG_DECODE_TIMEOUT, MTAG_DECODE_MAX_SECONDS,
	};
	char path[4096], err[512];
	size_t n, start = 0;
	float *s;

	CHECK(mtag_decode_set_limits(&(struct mtag_decode_limits){ -1, 60 })
	    == -1);
	CHECK(mtag_decode_set_limits(&(struct mtag_decode_limits){ 60, 0 })
	    == -1);

	audio_path(path, sizeof(path), &clips[3]);
	CHECK(mtag_decode_set_limits(&(struct mtag_decode_limits){ 0, 60 })
	    == 0);
	expect_all_fail(path, "decoding took longer than 0 s");

	/* The 12 s clip against a limit of 2 s. */
	CHECK(mtag_decode_set_limits(&(struct mtag_decode_limits){ 60, 2 })
	    == 0);
	expect_failure(path, 16000, "audio longer than the limit of 2 s");
	CHECK(mtag_decode_length(path, 16000, &n, err, sizeof(err)) == -1);
	printf("%s -> length: \"%s\"\n", path, err);
	CHECK(strstr(err, "audio longer than the limit of 2 s") != NULL);
	CHECK(mtag_decode_windows(path, 16000, 192000, &start, 1, 16000, &s,
	    err, sizeof(err)) == -1);
	CHECK(strstr(err, "audio longer than the limit of 2 s") != NULL);
	/* Asking for no more than the limit is fine. */
	CHECK(mtag_decode_set_limits(&defaults) == 0);
	check_limit(&clips[3], 16000, 2, 32000);
	CHECK(mtag_decode_set_limits(&(struct mtag_decode_limits){ 60, 2 })
	    == 0);
	if (decode(path, 16000, 2, &s, &n) == 0) {
		CHECK(n == 32000);
		free(s);
	} else
		CHECK(!"decoding up to the limit failed");
	CHECK(mtag_decode_set_limits(&defaults) == 0);
}

/*
 * A file cut to half between finding its length and decoding its windows:
 * the windows in what is left decode as before, those past it stay zero.
 */
static void
test_truncated_between(void)
{
	char path[4096], err[512], *tmp;
	unsigned char *data;
	size_t len, n, gn, i, starts[2];
	float *w, *g;
	double d = 0, z = 0;

	audio_path(path, sizeof(path), &clips[3]);
	data = read_file(path, &len);
	tmp = make_temp(".wav", data, len);
	g = read_golden(&clips[3], 16000, &gn);
	CHECK(mtag_decode_length(tmp, 16000, &n, err, sizeof(err)) == 0);
	CHECK(n == gn && gn == 192000);
	CHECK(truncate(tmp, len / 2) == 0);
	starts[0] = 16000;
	starts[1] = 160000;
	if (mtag_decode_windows(tmp, 16000, gn, starts, 2, 16000, &w, err,
	    sizeof(err)) == 0) {
		d = max_diff(w + starts[0], g + starts[0], 16000);
		for (i = starts[1]; i < starts[1] + 16000; i++)
			z = fabs(w[i]) > z ? fabs(w[i]) : z;
		printf("%s cut to half: max |diff| %g, max past the end %g\n",
		    tmp, d, z);
		CHECK(d <= TOL && z == 0);
		free(w);
	} else {
		fprintf(stderr, "%s\n", err);
		CHECK(!"decoding windows of a truncated file failed");
	}
	unlink(tmp);
	free(tmp);
	free(g);
	free(data);
}

int
main(void)
{
	test_shared_dir();
	test_golden();
	test_max_seconds();
	test_threads();
	test_windows();
	test_truncated();
	test_errors();
	test_special_files();
	test_huge_id3();
	test_limits();
	test_truncated_between();
	if (test_failures > 0) {
		fprintf(stderr, "%d checks failed\n", test_failures);
		return 1;
	}
	return 0;
}

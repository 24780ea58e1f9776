/*
 * Tests for indexer/meta.cc: the tags and audio properties of files made
 * by the ffmpeg command line tool in each format, multi-valued fields, a
 * MusicBrainz UFID frame, a file name that is not UTF-8, broken files,
 * reading from several threads at once, and a real tagged mp3.
 */
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meta.h"
#include "testutil.h"

extern char **environ;

#define TITLE		"T\xc3\xaftle"		/* UTF-8 "Tïtle" */
#define ALBUM		"Alb\xc3\xbcm \xe2\x99\xab"	/* "Albüm ♫" */
#define TRACKID		"0b8ab6b4-9f0c-4a3e-9d53-7d3c1f6d0c11"
#define ALBUMID		"5a2b0f9e-8c11-4c8e-a7e6-2f3b6c1d9e22"
#define ARTISTID	"c3d4e5f6-1a2b-4c3d-8e9f-0a1b2c3d4e33"

/* The tags every file is made with. */
static const char *const tags[] = {
	"-metadata", "title=" TITLE,
	"-metadata", "artist=The Artist",
	"-metadata", "album=" ALBUM,
	"-metadata", "album_artist=Various Artists",
	"-metadata", "genre=Rock",
	"-metadata", "date=2001-05-03",
	"-metadata", "track=3/12",
	"-metadata", "disc=1/2",
	NULL
};

/* MusicBrainz ids as Picard writes them in ID3v2 (TXXX) and Vorbis. */
static const char *const id3_mbids[] = {
	"-metadata", "MusicBrainz Album Id=" ALBUMID,
	"-metadata", "MusicBrainz Artist Id=" ARTISTID,
	NULL
};
static const char *const vorbis_mbids[] = {
	"-metadata", "MUSICBRAINZ_TRACKID=" TRACKID,
	"-metadata", "MUSICBRAINZ_ALBUMID=" ALBUMID,
	"-metadata", "MUSICBRAINZ_ARTISTID=" ARTISTID,
	NULL
};

/* What a format's tags hold beyond title, artist, album, genre, date and
 * track number. */
#define HAS_ALBUMARTIST	0x1	/* album artist and disc number */
#define HAS_TRACKID	0x2
#define HAS_MBIDS	0x4	/* MusicBrainz album and artist ids */

struct format {
	const char		*name;
	const char		*args[5];	/* encoder and muxer options */
	const char *const	*mbids;
	const char		*codec;
	int			 sample_rate;
	int			 has;
};

/*
 * ffmpeg can write MusicBrainz ids neither as MP4 freeform atoms nor in
 * RIFF INFO, which has no album artist or disc number either.
 */
static const struct format formats[] = {
	{ "v23.mp3", { "-id3v2_version", "3" }, id3_mbids, "mp3", 44100,
	    HAS_ALBUMARTIST | HAS_MBIDS },
	{ "v24.mp3", { "-id3v2_version", "4" }, id3_mbids, "mp3", 44100,
	    HAS_ALBUMARTIST | HAS_MBIDS },
	{ "a.flac", { NULL }, vorbis_mbids, "flac", 44100,
	    HAS_ALBUMARTIST | HAS_TRACKID | HAS_MBIDS },
	{ "a.ogg", { "-c:a", "libvorbis" }, vorbis_mbids, "vorbis", 44100,
	    HAS_ALBUMARTIST | HAS_TRACKID | HAS_MBIDS },
	{ "a.opus", { "-c:a", "libopus" }, vorbis_mbids, "opus", 48000,
	    HAS_ALBUMARTIST | HAS_TRACKID | HAS_MBIDS },
	{ "a.m4a", { "-c:a", "aac" }, NULL, "aac", 44100, HAS_ALBUMARTIST },
	{ "alac.m4a", { "-c:a", "alac" }, NULL, "alac", 44100,
	    HAS_ALBUMARTIST },
	{ "a.wav", { NULL }, NULL, "pcm", 44100, 0 },
	{ "a.aiff", { "-write_id3v2", "1", "-id3v2_version", "4" }, id3_mbids,
	    "pcm", 44100, HAS_ALBUMARTIST | HAS_MBIDS },
};

#define NFORMATS	(sizeof(formats) / sizeof(formats[0]))
#define NTHREADS	4

static char dir[] = "/tmp/mtag_test_meta.XXXXXX";

static void
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
append(const char **argv, size_t *argc, const char *const *args)
{
	for (; args != NULL && *args != NULL; args++)
		argv[(*argc)++] = *args;
}

/* Makes dir/name, 3 s of a stereo 440 Hz tone, with ffmpeg; exits on error. */
static void
ffmpeg(const char *name, const char *const *tagargs,
    const char *const *mbids, const char *const *fmtargs)
{
	const char *argv[64] = { "ffmpeg", "-nostdin", "-loglevel", "error",
	    "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-ac", "2" };
	size_t argc = 10;
	char out[4096];
	pid_t pid;
	int e, status;

	tmp_path(out, sizeof(out), name);
	append(argv, &argc, tagargs);
	append(argv, &argc, mbids);
	append(argv, &argc, fmtargs);
	argv[argc++] = "-y";
	argv[argc++] = out;
	argv[argc] = NULL;
	if ((e = posix_spawnp(&pid, "ffmpeg", NULL, NULL, (char **)argv,
	    environ)) != 0) {
		fprintf(stderr, "cannot run ffmpeg: %s\n", strerror(e));
		exit(1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ffmpeg failed making %s\n", out);
		exit(1);
	}
}

static void *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "rb")) == NULL || fseek(fp, 0, SEEK_END) != 0 ||
	    (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0 ||
	    (buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, n, fp) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
	*len = n;
	return buf;
}

static void
spit(const char *path, const void *a, size_t alen, const void *b, size_t blen)
{
	FILE *fp;

	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(a, 1, alen, fp) != alen || fwrite(b, 1, blen, fp) != blen ||
	    fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

/* Overwrites the first from in dir/name with to, of the same length. */
static void
patch(const char *name, const char *from, const char *to, size_t len)
{
	char path[4096], *buf;
	size_t n, i;

	tmp_path(path, sizeof(path), name);
	buf = slurp(path, &n);
	for (i = 0; i + len <= n && memcmp(buf + i, from, len) != 0; i++)
		;
	if (i + len > n) {
		fprintf(stderr, "%s: no %s to patch\n", path, from);
		exit(1);
	}
	memcpy(buf + i, to, len);
	spit(path, buf, n, "", 0);
	free(buf);
}

/* Copies the first len bytes of dir/from to dir/to (all when len is 0). */
static void
copy(const char *from, const char *to, size_t len)
{
	char path[4096], *buf;
	size_t n;

	tmp_path(path, sizeof(path), from);
	buf = slurp(path, &n);
	tmp_path(path, sizeof(path), to);
	spit(path, buf, len != 0 && len < n ? len : n, "", 0);
	free(buf);
}

static void
syncsafe(unsigned char *p, size_t n)
{
	p[0] = n >> 21 & 0x7f;
	p[1] = n >> 14 & 0x7f;
	p[2] = n >> 7 & 0x7f;
	p[3] = n & 0x7f;
}

/*
 * Writes dir/to: an ID3v2.4 tag holding only the UFID frame in which Picard
 * stores the MusicBrainz recording id, then the untagged mp3 dir/from.
 */
static void
ufid_mp3(const char *from, const char *to, const char *id)
{
	static const char owner[] = "http://musicbrainz.org";
	unsigned char tag[128] = { 'I', 'D', '3', 4, 0, 0 };
	size_t flen = sizeof(owner) + strlen(id), n;
	char path[4096], *mp3;

	syncsafe(tag + 6, 10 + flen);
	memcpy(tag + 10, "UFID", 4);
	syncsafe(tag + 14, flen);
	memcpy(tag + 20, owner, sizeof(owner));
	memcpy(tag + 20 + sizeof(owner), id, strlen(id));
	tmp_path(path, sizeof(path), from);
	mp3 = slurp(path, &n);
	tmp_path(path, sizeof(path), to);
	spit(path, tag, 20 + flen, mp3, n);
	free(mp3);
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "(null)";
}

static void
check_str(const char *file, const char *field, const char *got,
    const char *want)
{
	if (want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0)
		return;
	fprintf(stderr, "%s: %s is \"%s\", want \"%s\"\n", file, field,
	    nz(got), nz(want));
	test_failures++;
}

static void
check_int(const char *file, const char *field, int got, int want)
{
	if (got == want)
		return;
	fprintf(stderr, "%s: %s is %d, want %d\n", file, field, got, want);
	test_failures++;
}

static void
print_meta(const char *name, const mtag_meta *m)
{
	printf("%s: title \"%s\" artist \"%s\" album \"%s\" albumartist \"%s\" "
	    "genre \"%s\" year %d track %d disc %d mbids %s %s %s, %s %.3f s "
	    "%d Hz %d ch %d kbit/s\n", name, nz(m->title), nz(m->artist),
	    nz(m->album), nz(m->albumartist), nz(m->genre), m->year, m->track,
	    m->disc, nz(m->mb_trackid), nz(m->mb_albumid), nz(m->mb_artistid),
	    m->codec,
	    m->duration, m->sample_rate, m->channels, m->bitrate);
}

static void
test_format(const struct format *f)
{
	mtag_meta m = { 0 };
	char path[4096], err[4096];
	int ext = (f->has & HAS_ALBUMARTIST) != 0;

	tmp_path(path, sizeof(path), f->name);
	if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
		return;
	}
	print_meta(f->name, &m);
	check_str(f->name, "title", m.title, TITLE);
	check_str(f->name, "artist", m.artist, "The Artist");
	check_str(f->name, "album", m.album, ALBUM);
	check_str(f->name, "albumartist", m.albumartist,
	    ext ? "Various Artists" : NULL);
	check_str(f->name, "genre", m.genre, "Rock");
	check_str(f->name, "mb_trackid", m.mb_trackid,
	    f->has & HAS_TRACKID ? TRACKID : NULL);
	check_str(f->name, "mb_albumid", m.mb_albumid,
	    f->has & HAS_MBIDS ? ALBUMID : NULL);
	check_str(f->name, "mb_artistid", m.mb_artistid,
	    f->has & HAS_MBIDS ? ARTISTID : NULL);
	check_str(f->name, "codec", m.codec, f->codec);
	check_int(f->name, "year", m.year, 2001);
	check_int(f->name, "track", m.track, 3);
	check_int(f->name, "disc", m.disc, ext ? 1 : 0);
	check_int(f->name, "sample rate", m.sample_rate, f->sample_rate);
	check_int(f->name, "channels", m.channels, 2);
	if (fabs(m.duration - 3) > 0.1 || m.bitrate <= 0) {
		fprintf(stderr, "%s: %.3f s, %d kbit/s\n", f->name,
		    m.duration, m.bitrate);
		test_failures++;
	}
	mtag_meta_clear(&m);
	mtag_meta_clear(&m);
	CHECK(m.title == NULL && m.codec[0] == '\0' && m.duration == 0);
}

/* Multi-valued fields come joined with "; ". */
static void
test_multi(void)
{
	static const char *const flac_tags[] = { "-metadata", "ARTIST=First",
	    "-metadata", "XRTIST=Second", NULL };
	static const char *const id3_tags[] = { "-metadata",
	    "artist=First|Second", "-id3v2_version", "4", NULL };
	const char *names[] = { "multi.flac", "multi.mp3" };
	mtag_meta m = { 0 };
	char path[4096], err[4096];
	size_t i;

	ffmpeg(names[0], flac_tags, NULL, NULL);
	patch(names[0], "XRTIST=", "ARTIST=", 7);
	ffmpeg(names[1], id3_tags, NULL, NULL);
	patch(names[1], "First|Second", "First\0Second", 12);
	for (i = 0; i < 2; i++) {
		tmp_path(path, sizeof(path), names[i]);
		if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			test_failures++;
			continue;
		}
		check_str(names[i], "artist", m.artist, "First; Second");
		mtag_meta_clear(&m);
	}
}

static void
test_ufid(void)
{
	static const char *const none[] = { "-id3v2_version", "0", NULL };
	mtag_meta m = { 0 };
	char path[4096], err[4096];

	ffmpeg("untagged.mp3", NULL, NULL, none);
	ufid_mp3("untagged.mp3", "ufid.mp3", TRACKID);
	tmp_path(path, sizeof(path), "ufid.mp3");
	if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
		return;
	}
	check_str("ufid.mp3", "mb_trackid", m.mb_trackid, TRACKID);
	check_str("ufid.mp3", "title", m.title, NULL);
	check_str("ufid.mp3", "codec", m.codec, "mp3");
	mtag_meta_clear(&m);
}

/* Reads path, which must fail with a message naming it and saying why. */
static void
check_fails(const char *path, const char *why)
{
	mtag_meta m = { 0 };
	char err[4096] = "";

	if (mtag_meta_read(path, &m, err, sizeof(err)) != -1) {
		print_meta(path, &m);
		fprintf(stderr, "%s: read, want an error\n", path);
		test_failures++;
		mtag_meta_clear(&m);
		return;
	}
	printf("%s\n", err);
	CHECK(strncmp(err, path, strlen(path)) == 0);
	CHECK(strstr(err, why) != NULL);
	CHECK(m.title == NULL && m.codec[0] == '\0');
}

static void
test_names_and_broken(void)
{
	static const char unreadable[] = "cannot read tags";
	mtag_meta m = { 0 };
	char path[4096], err[4096];
	FILE *fp;

	copy("v24.mp3", "\xe9t\xe9.mp3", 0);
	tmp_path(path, sizeof(path), "\xe9t\xe9.mp3");
	if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
	}
	check_str("\\xe9t\\xe9.mp3", "title", m.title, TITLE);
	check_str("\\xe9t\\xe9.mp3", "codec", m.codec, "mp3");
	mtag_meta_clear(&m);

	tmp_path(path, sizeof(path), "\xff\xfe missing.flac");
	check_fails(path, "No such file or directory");

	tmp_path(path, sizeof(path), "empty.mp3");
	if ((fp = fopen(path, "w")) == NULL || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	check_fails(path, unreadable);

	tmp_path(path, sizeof(path), "text.mp3");
	if ((fp = fopen(path, "w")) == NULL ||
	    fputs("not an mp3 at all\n", fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	check_fails(path, unreadable);

	/* FileRef picks the reader by extension: FLAC named .mp3 fails. */
	copy("a.flac", "flac.mp3", 0);
	tmp_path(path, sizeof(path), "flac.mp3");
	check_fails(path, unreadable);

	tmp_path(path, sizeof(path), "folder.mp3");
	if (mkdir(path, 0700) != 0) {
		perror(path);
		exit(1);
	}
	check_fails(path, unreadable);
	rmdir(path);

	/* Cut inside a FLAC metadata block, or inside the first mp3 frame. */
	copy("a.flac", "cut.flac", 300);
	tmp_path(path, sizeof(path), "cut.flac");
	check_fails(path, unreadable);
	copy("untagged.mp3", "cut.mp3", 100);
	tmp_path(path, sizeof(path), "cut.mp3");
	check_fails(path, unreadable);

	/*
	 * An mp3 cut after its tags keeps them, and its length is the one its
	 * Xing header gives.
	 */
	copy("v24.mp3", "short.mp3", 8000);
	tmp_path(path, sizeof(path), "short.mp3");
	if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
	}
	print_meta("short.mp3", &m);
	check_str("short.mp3", "title", m.title, TITLE);
	check_int("short.mp3", "sample rate", m.sample_rate, 44100);
	CHECK(fabs(m.duration - 3) < 0.1);
	mtag_meta_clear(&m);

	/* An Ogg file cut short is as long as its last whole page. */
	copy("a.ogg", "cut.ogg", 7000);
	tmp_path(path, sizeof(path), "cut.ogg");
	if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
	}
	print_meta("cut.ogg", &m);
	check_str("cut.ogg", "title", m.title, TITLE);
	CHECK(m.duration > 0 && m.duration < 3);
	mtag_meta_clear(&m);
}

/* Reads every format ten times, counting the wrong results in *arg. */
static void *
reader(void *arg)
{
	mtag_meta m = { 0 };
	char path[4096], err[4096];
	size_t i, round, *bad = arg;

	for (round = 0; round < 10; round++) {
		for (i = 0; i < NFORMATS; i++) {
			tmp_path(path, sizeof(path), formats[i].name);
			if (mtag_meta_read(path, &m, err, sizeof(err)) != 0 ||
			    m.title == NULL || strcmp(m.title, TITLE) != 0 ||
			    strcmp(m.codec, formats[i].codec) != 0)
				(*bad)++;
			mtag_meta_clear(&m);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[NTHREADS];
	size_t bad[NTHREADS] = { 0 }, i;

	for (i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&t[i], NULL, reader, &bad[i]) == 0);
	for (i = 0; i < NTHREADS; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK(bad[i] == 0);
	}
}

/* A real file: ID3v2 tags and an embedded cover picture. */
static void
test_shared(void)
{
	mtag_meta m = { 0 };
	char path[4096], err[4096];

	SHARED_PATH(path, "audio/avenger_kills.mp3");
	if (mtag_meta_read(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		test_failures++;
		return;
	}
	print_meta("avenger_kills.mp3", &m);
	CHECK(fabs(m.duration - 139.5) < 0.5);
	check_int("avenger_kills.mp3", "sample rate", m.sample_rate, 44100);
	check_int("avenger_kills.mp3", "channels", m.channels, 2);
	check_str("avenger_kills.mp3", "codec", m.codec, "mp3");
	mtag_meta_clear(&m);
}

static void
cleanup(void)
{
	char path[4096];
	const char *const extra[] = { "multi.flac", "multi.mp3",
	    "untagged.mp3", "ufid.mp3", "\xe9t\xe9.mp3", "empty.mp3",
	    "text.mp3", "flac.mp3", "cut.flac", "cut.mp3", "short.mp3",
	    "cut.ogg" };
	size_t i;

	for (i = 0; i < NFORMATS; i++) {
		tmp_path(path, sizeof(path), formats[i].name);
		unlink(path);
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		tmp_path(path, sizeof(path), extra[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		perror(dir);
}

int
main(void)
{
	size_t i;

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	atexit(cleanup);
	for (i = 0; i < NFORMATS; i++)
		ffmpeg(formats[i].name, tags, formats[i].mbids,
		    formats[i].args);
	for (i = 0; i < NFORMATS; i++)
		test_format(&formats[i]);
	test_multi();
	test_ufid();
	test_names_and_broken();
	test_threads();
	/* Last, for it exits 77 (skipped) when the shared folder is absent. */
	if (test_failures == 0)
		test_shared();
	return test_failures ? 1 : 0;
}

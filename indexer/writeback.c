/*
 * Writing a model's tags back into the music files. The original is never
 * written: a copy beside it gets the tags, must decode to the same audio
 * (its decoded frames hashed like `ffmpeg -f md5`) and read back as
 * written, and is renamed over it, so that a crash leaves either file
 * whole. The old values go to the database's journal first, for undo.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <sqlite3.h>

#include "error.h"
#include "log.h"
#include "meta.h"
#include "sha256.h"
#include "vocabulary.h"
#include "writeback.h"

enum { F_GENRE, F_MOOD, F_TAGS, F_MODEL, NFIELDS };
static const char *const keys[NFIELDS] = {
	"GENRE", "MOOD", "MTAG_TAGS", "MTAG_MODEL"
};

#define MAX_GENRES	3
/* A temporary file: ".NAME" TMP_SUFFIX with six random characters. */
#define TMP_SUFFIX	".mtag-"
#define TMP_RANDOM	6

struct mtag_writeback {
	mtag_db		*db;
	struct mtag_writeback_opts o;
	char		**thr_tags;	/* canonical names of o's thresholds */
	int64_t		 model_id, run_id;
	char		*model, *ident;	/* name; "NAME SHA256" */
	char		 cleaned[PATH_MAX];	/* the folder cleaned last */
};

/* --- String lists ---------------------------------------------------- */

/* Appends a copy of the n bytes of s to f's values. Returns 0 or -1. */
static int
push(mtag_meta_field *f, const char *s, size_t n)
{
	char **v;

	if ((v = realloc(f->values, (f->nvalues + 1) * sizeof(*v))) == NULL)
		return -1;
	f->values = v;
	if ((v[f->nvalues] = strndup(s, n)) == NULL)
		return -1;
	f->nvalues++;
	return 0;
}

static int
has_value(const mtag_meta_field *f, const char *s)
{
	int i;

	for (i = 0; i < f->nvalues; i++)
		if (strcasecmp(f->values[i], s) == 0)
			return 1;
	return 0;
}

/* The values of f joined with sep (malloc'd), or NULL when it has none or
 * on failure (errno ENOMEM). */
static char *
join(const mtag_meta_field *f, const char *sep)
{
	size_t len = 1;
	char *s;
	int i;

	errno = 0;
	if (f->nvalues == 0)
		return NULL;
	for (i = 0; i < f->nvalues; i++)
		len += strlen(f->values[i]) + strlen(sep);
	if ((s = malloc(len)) == NULL)
		return NULL;
	*s = '\0';
	for (i = 0; i < f->nvalues; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, f->values[i]);
	}
	return s;
}

/* Whether a and b have the same values, joined with "; " as ID3v2.3
 * joins them (0 when out of memory). */
static int
same(const mtag_meta_field *a, const mtag_meta_field *b)
{
	char *x = join(a, "; "), *y = join(b, "; ");
	int r;

	r = x == NULL || y == NULL ? x == y && a->nvalues == 0 &&
	    b->nvalues == 0 : strcmp(x, y) == 0;
	free(x);
	free(y);
	return r;
}

/* Fills f with the values of s, as the journal joins them (NULL: none).
 * Returns 0 or -1. */
static int
split(const char *s, mtag_meta_field *f)
{
	const char *e;

	for (; s != NULL; s = *e != '\0' ? e + 1 : NULL) {
		if ((e = strchr(s, MTAG_DB_JOURNAL_SEP)) == NULL)
			e = s + strlen(s);
		if (push(f, s, e - s) == -1)
			return -1;
	}
	return 0;
}

/* The values of f as the journal joins them, in *out (NULL: none).
 * Returns 0, or -1 (errno EINVAL when a value holds the separator). */
static int
journal_value(const mtag_meta_field *f, char **out)
{
	const char sep[2] = { MTAG_DB_JOURNAL_SEP, '\0' };
	int i;

	*out = NULL;
	for (i = 0; i < f->nvalues; i++)
		if (strchr(f->values[i], MTAG_DB_JOURNAL_SEP) != NULL) {
			errno = EINVAL;
			return -1;
		}
	*out = join(f, sep);
	return *out == NULL && errno != 0 ? -1 : 0;
}

/* Appends the values of from joined with "; " to f, as one value unless
 * from has none. Returns 0 or -1. */
static int
push_joined(mtag_meta_field *f, const mtag_meta_field *from)
{
	char *s = join(from, "; ");
	int rc;

	if (s == NULL)
		return errno == 0 ? 0 : -1;
	rc = push(f, s, strlen(s));
	free(s);
	return rc;
}

/* Appends the values of from to f, those f has already too unless unique.
 * Returns 0 or -1. */
static int
add_values(mtag_meta_field *f, const mtag_meta_field *from, int unique)
{
	int i;

	for (i = 0; i < from->nvalues; i++)
		if ((!unique || !has_value(f, from->values[i])) &&
		    push(f, from->values[i], strlen(from->values[i])) == -1)
			return -1;
	return 0;
}

/* --- Decoded audio --------------------------------------------------- */

/*
 * Hashes the audio that FFmpeg decodes from the first audio stream of path
 * (attached pictures skipped), as decoded: sample format, rate, channels
 * and every sample. Returns 0, or -1 with a message naming the file.
 */
static int
audio_digest(const char *path, unsigned char digest[MTAG_SHA256_LEN],
    char *err, size_t errlen)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec = NULL;
	const AVCodec *codec;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *fr = av_frame_alloc();
	mtag_sha256 sha;
	int ret, idx = -1, nframes = 0, flushed = 0, c, head[3];
	unsigned i;

	mtag_sha256_init(&sha);
	if (pkt == NULL || fr == NULL) {
		ret = AVERROR(ENOMEM);
		goto out;
	}
	if ((ret = avformat_open_input(&fmt, path, NULL, NULL)) < 0 ||
	    (ret = avformat_find_stream_info(fmt, NULL)) < 0)
		goto out;
	for (i = 0; i < fmt->nb_streams && idx < 0; i++)
		if (fmt->streams[i]->codecpar->codec_type ==
		    AVMEDIA_TYPE_AUDIO && !(fmt->streams[i]->disposition &
		    AV_DISPOSITION_ATTACHED_PIC))
			idx = i;
	ret = AVERROR_STREAM_NOT_FOUND;
	if (idx < 0 || (codec = avcodec_find_decoder(
	    fmt->streams[idx]->codecpar->codec_id)) == NULL)
		goto out;
	ret = AVERROR(ENOMEM);
	if ((dec = avcodec_alloc_context3(codec)) == NULL ||
	    (ret = avcodec_parameters_to_context(dec,
	    fmt->streams[idx]->codecpar)) < 0)
		goto out;
	dec->pkt_timebase = fmt->streams[idx]->time_base;
	if ((ret = avcodec_open2(dec, codec, NULL)) < 0)
		goto out;
	while (!flushed) {
		if ((ret = av_read_frame(fmt, pkt)) == AVERROR_EOF) {
			flushed = 1;
			ret = avcodec_send_packet(dec, NULL);
		} else if (ret < 0) {
			goto out;
		} else if (pkt->stream_index != idx) {
			av_packet_unref(pkt);
			continue;
		} else {
			ret = avcodec_send_packet(dec, pkt);
			av_packet_unref(pkt);
		}
		if (ret < 0) {	/* corrupt data: the same in both files */
			mtag_sha256_update(&sha, &ret, sizeof(ret));
			continue;
		}
		while ((ret = avcodec_receive_frame(dec, fr)) >= 0) {
			int bps = av_get_bytes_per_sample(fr->format);
			int nch = fr->ch_layout.nb_channels;
			int planar = av_sample_fmt_is_planar(fr->format);

			head[0] = fr->format;
			head[1] = fr->sample_rate;
			head[2] = nch;
			mtag_sha256_update(&sha, head, sizeof(head));
			for (c = 0; c < (planar ? nch : 1); c++)
				mtag_sha256_update(&sha, fr->extended_data[c],
				    (size_t)fr->nb_samples * bps *
				    (planar ? 1 : nch));
			nframes++;
			av_frame_unref(fr);
		}
		if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
			mtag_sha256_update(&sha, &ret, sizeof(ret));
	}
	ret = nframes > 0 ? 0 : AVERROR_INVALIDDATA;
out:
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	av_frame_free(&fr);
	av_packet_free(&pkt);
	if (ret < 0)
		return mtag_seterr(err, errlen, path, "cannot decode the audio: "
		    "%s", av_err2str(ret));
	mtag_sha256_final(&sha, digest);
	return 0;
}

/* --- Replacing a file ------------------------------------------------ */

static int
is_tmp_name(const char *name)
{
	size_t n = strlen(name), s = sizeof(TMP_SUFFIX) - 1 + TMP_RANDOM;

	return name[0] == '.' && n > s + 1 &&
	    memcmp(name + n - s, TMP_SUFFIX, sizeof(TMP_SUFFIX) - 1) == 0;
}

int
mtag_writeback_cleanup(const char *dir, char *err, size_t errlen)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, n = 0;

	if ((d = opendir(dir)) == NULL)
		return mtag_seterr(err, errlen, dir, "%s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (!is_tmp_name(e->d_name) || (fd = openat(dirfd(d),
		    e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		/* A live writer holds its file locked. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    S_ISREG(st.st_mode) && unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
		close(fd);
	}
	closedir(d);
	return n;
}

/* Copies the file open at in to out. Returns 0, or -1 with errno set. */
static int
copy_fd(int in, int out)
{
	char buf[1 << 16];
	ssize_t n, w, off;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		for (off = 0; off < n; off += w)
			if ((w = write(out, buf + off, n - off)) == -1 &&
			    errno != EINTR)
				return -1;
			else if (w == -1)
				w = 0;
	}
	return 0;
}

/* The length of the folder part of path, without the last slash. */
static size_t
dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL ? 0 : (size_t)(slash - path);
}

/* Fsyncs the folder of path. Returns 0, or -1 with errno set. */
static int
sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, rc;

	snprintf(dir, sizeof(dir), "%.*s", (int)dir_len(path), path);
	if ((fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* A verified copy of a file with new tags, beside it. */
struct copy {
	char		 tmp[PATH_MAX];
	int		 fd;		/* tmp's, locked */
	struct stat	 st;		/* tmp's */
	char		 hash[65];	/* of tmp's contents */
};

/* Removes the copy c. */
static void
discard(struct copy *c)
{
	unlink(c->tmp);
	close(c->fd);
}

/*
 * Makes c, a copy of the file at path (whose stat is st) with the n fields
 * f set, checked: it decodes to the same audio and its tags read back as
 * written; it has the file's mode, owner and (unless touch) times.
 * Returns 0, or -1 with a message in err and no copy left.
 */
static int
prepare(struct copy *c, const char *path, const struct stat *st,
    const mtag_meta_field *f, int n, int touch, char *err, size_t errlen)
{
	unsigned char before[MTAG_SHA256_LEN], after[MTAG_SHA256_LEN];
	const char *base = path + dir_len(path) + (strchr(path, '/') != NULL);
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	int in, rc = -1;

	/* No write permission bit: read-only even for root. */
	if ((st->st_mode & 0222) == 0 || access(path, W_OK) != 0)
		return mtag_seterr(err, errlen, path, "%s",
		    (st->st_mode & 0222) == 0 || errno == EACCES ||
		    errno == EROFS ? "the file is read-only: not written" :
		    strerror(errno));
	if (snprintf(c->tmp, sizeof(c->tmp), "%.*s%s.%.200s" TMP_SUFFIX
	    "XXXXXX", (int)dir_len(path), path, base == path ? "" : "/",
	    base) >= (int)sizeof(c->tmp))
		return mtag_seterr(err, errlen, path, "%s",
		    strerror(ENAMETOOLONG));
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	if ((c->fd = mkstemp(c->tmp)) == -1) {
		mtag_seterr(err, errlen, path, "cannot make a copy beside it: "
		    "%s", strerror(errno));
		close(in);
		return -1;
	}
	if (flock(c->fd, LOCK_EX) == -1 || copy_fd(in, c->fd) == -1 ||
	    fsync(c->fd) == -1) {
		mtag_seterr(err, errlen, path, "cannot copy it to %s: %s",
		    c->tmp, strerror(errno));
		goto out;
	}
	if (mtag_meta_set(c->tmp, f, n, err, errlen) == -1 ||
	    audio_digest(path, before, err, errlen) == -1 ||
	    audio_digest(c->tmp, after, err, errlen) == -1)
		goto out;
	if (memcmp(before, after, sizeof(before)) != 0) {
		mtag_seterr(err, errlen, path, "its copy with the new tags "
		    "decodes to other audio: not written");
		goto out;
	}
	if (fstat(c->fd, &c->st) == -1 || ((c->st.st_uid != st->st_uid ||
	    c->st.st_gid != st->st_gid) &&
	    fchown(c->fd, st->st_uid, st->st_gid) == -1) ||
	    fchmod(c->fd, st->st_mode & 07777) == -1 ||
	    (!touch && futimens(c->fd, times) == -1) || fsync(c->fd) == -1 ||
	    fstat(c->fd, &c->st) == -1) {
		mtag_seterr(err, errlen, path, "cannot give %s the file's "
		    "owner, mode and time: %s", c->tmp, strerror(errno));
		goto out;
	}
	if (mtag_sha256_file(c->tmp, c->hash) == -1) {
		mtag_seterr(err, errlen, c->tmp, "%s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(in);
	if (rc == -1)
		discard(c);
	return rc;
}

/*
 * Records the copy c in the database's track of path and in journal run_id
 * (as undone when undone), with genre the file's new genre, then renames
 * it over path. Returns 0, or -1 with a message in err, the copy removed.
 */
static int
commit(struct copy *c, mtag_db *db, int64_t run_id, const char *path,
    const char *genre, int undone, char *err, size_t errlen)
{
	if (mtag_db_journal_written(db, run_id, path, &c->st, c->hash, genre,
	    undone) == -1) {
		mtag_seterr(err, errlen, NULL, "%s", mtag_db_errmsg(db));
		discard(c);
		return -1;
	}
	if (rename(c->tmp, path) == -1) {
		mtag_seterr(err, errlen, path, "cannot replace it: %s",
		    strerror(errno));
		discard(c);
		return -1;
	}
	close(c->fd);
	if (sync_dir(path) == -1)
		return mtag_seterr(err, errlen, path, "written, but its folder "
		    "cannot be synced: %s", strerror(errno));
	return 0;
}

/* --- Planning -------------------------------------------------------- */

mtag_writeback *
mtag_writeback_new(mtag_db *db, const char *model,
    const struct mtag_writeback_opts *o, char *err, size_t errlen)
{
	struct mtag_vocabulary_entry e;
	mtag_writeback *wb;
	sqlite3_stmt *s = NULL;
	const char *dataset, *sha;
	size_t len;
	int i, rc;

	if ((wb = calloc(1, sizeof(*wb))) == NULL ||
	    (o->nthresholds > 0 && (wb->thr_tags = calloc(o->nthresholds,
	    sizeof(*wb->thr_tags))) == NULL))
		goto nomem;
	wb->db = db;
	wb->o = *o;
	if (sqlite3_prepare_v2(mtag_db_sqlite(db), "SELECT id, sha256, "
	    "dataset FROM models WHERE name = ?1", -1, &s, NULL) != SQLITE_OK) {
		mtag_seterr(err, errlen, NULL, "%s",
		    sqlite3_errmsg(mtag_db_sqlite(db)));
		goto fail;
	}
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		mtag_seterr(err, errlen, NULL, rc == SQLITE_DONE ? "model "
		    "'%s' has analysed no track" : "%s", rc == SQLITE_DONE ?
		    model : sqlite3_errmsg(mtag_db_sqlite(db)));
		goto fail;
	}
	wb->model_id = sqlite3_column_int64(s, 0);
	dataset = (const char *)sqlite3_column_text(s, 2);
	sha = (const char *)sqlite3_column_text(s, 1);
	len = strlen(model) + strlen(sha) + 2;
	if ((wb->model = strdup(model)) == NULL ||
	    (wb->ident = malloc(len)) == NULL)
		goto nomem;
	snprintf(wb->ident, len, "%s %s", model, sha);
	for (i = 0; i < o->nthresholds; i++)
		if ((wb->thr_tags[i] = strdup(mtag_vocabulary_find(dataset,
		    o->threshold_tags[i], &e) == 0 ? e.canonical :
		    o->threshold_tags[i])) == NULL)
			goto nomem;
	sqlite3_finalize(s);
	return wb;
nomem:
	mtag_seterr(err, errlen, NULL, "out of memory");
fail:
	sqlite3_finalize(s);
	mtag_writeback_free(wb);
	return NULL;
}

void
mtag_writeback_free(mtag_writeback *wb)
{
	int i;

	if (wb == NULL)
		return;
	for (i = 0; wb->thr_tags != NULL && i < wb->o.nthresholds; i++)
		free(wb->thr_tags[i]);
	free(wb->thr_tags);
	free(wb->model);
	free(wb->ident);
	free(wb);
}

int64_t
mtag_writeback_run(const mtag_writeback *wb)
{
	return wb->run_id;
}

int
mtag_writeback_tracks(mtag_writeback *wb, char *const *paths, int npaths,
    int64_t **ids, char ***tpaths, size_t *n, char *err, size_t errlen)
{
	sqlite3 *sql = mtag_db_sqlite(wb->db);
	sqlite3_stmt *s;
	size_t cap = 0;
	void *p;
	int i = 0, rc;

	*ids = NULL;
	*tpaths = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(sql, "SELECT t.id, t.path FROM tracks t JOIN "
	    "analyses a ON a.track_id = t.id WHERE a.model_id = ?1 AND "
	    "a.status = 'done' AND (?2 IS NULL OR t.path = ?2 OR "
	    "(t.path >= rtrim(?2, '/') || '/' AND "
	    "t.path < rtrim(?2, '/') || '0')) ORDER BY t.path", -1, &s,
	    NULL) != SQLITE_OK)
		return mtag_seterr(err, errlen, NULL, "%s",
		    sqlite3_errmsg(sql));
	do {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, wb->model_id);
		sqlite3_bind_text(s, 2, npaths > 0 ? paths[i] : NULL, -1,
		    SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				if ((p = realloc(*ids, cap * sizeof(**ids))) ==
				    NULL)
					goto nomem;
				*ids = p;
				if ((p = realloc(*tpaths, cap *
				    sizeof(**tpaths))) == NULL)
					goto nomem;
				*tpaths = p;
			}
			(*ids)[*n] = sqlite3_column_int64(s, 0);
			if (((*tpaths)[*n] = strdup((const char *)
			    sqlite3_column_text(s, 1))) == NULL)
				goto nomem;
			++*n;
		}
		if (rc != SQLITE_DONE) {
			mtag_seterr(err, errlen, NULL, "%s",
			    sqlite3_errmsg(sql));
			goto fail;
		}
	} while (++i < npaths);
	sqlite3_finalize(s);
	return 0;
nomem:
	mtag_seterr(err, errlen, NULL, "out of memory");
fail:
	sqlite3_finalize(s);
	mtag_writeback_tracks_free(*ids, *tpaths, *n);
	*ids = NULL;
	*tpaths = NULL;
	*n = 0;
	return -1;
}

void
mtag_writeback_tracks_free(int64_t *ids, char **paths, size_t n)
{
	while (n > 0)
		free(paths[--n]);
	free(paths);
	free(ids);
}

/* Whether a canonical tag of the track holds, as in mtagctl's queries. */
static int
passes(const mtag_writeback *wb, const char *canonical, double score,
    int rank)
{
	int i;

	double threshold = -1;

	for (i = 0; i < wb->o.nthresholds; i++)
		if (strcasecmp(wb->thr_tags[i], canonical) == 0)
			threshold = wb->o.threshold_scores[i];
	return mtag_tag_holds(score, rank, threshold, wb->o.top_n,
	    wb->o.min_score, wb->o.sure_score) != MTAG_HOLDS_NOT;
}

/*
 * Fills next (empty) with the fields the track should have, given those it
 * has (cur): the model's genres and moods, its passing tags with their
 * scores, the model. Returns 0, or -1 with a message in err.
 */
static int
plan(mtag_writeback *wb, int64_t track_id, const mtag_meta_field *cur,
    mtag_meta_field *next, char *err, size_t errlen)
{
	sqlite3 *sql = mtag_db_sqlite(wb->db);
	mtag_meta_field genres = { 0 }, moods = { 0 }, tags = { 0 };
	mtag_meta_field model = { 0 };
	const mtag_meta_field *from;
	const char *canonical, *category;
	sqlite3_stmt *s;
	char item[256];
	double score;
	int rc = SQLITE_DONE, i, fail = 0;

	if (sqlite3_prepare_v2(sql, "SELECT t.canonical, t.category, "
	    "r.score, r.rank FROM tag_ranks r JOIN model_tags t ON "
	    "t.model_id = r.model_id AND t.idx = r.tag_idx WHERE "
	    "r.track_id = ?1 AND r.model_id = ?2 ORDER BY r.score DESC, "
	    "t.canonical", -1, &s, NULL) != SQLITE_OK)
		return mtag_seterr(err, errlen, NULL, "%s",
		    sqlite3_errmsg(sql));
	sqlite3_bind_int64(s, 1, track_id);
	sqlite3_bind_int64(s, 2, wb->model_id);
	while (!fail && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		canonical = (const char *)sqlite3_column_text(s, 0);
		category = (const char *)sqlite3_column_text(s, 1);
		score = sqlite3_column_double(s, 2);
		if (canonical == NULL || !passes(wb, canonical, score,
		    sqlite3_column_int(s, 3)))
			continue;
		snprintf(item, sizeof(item), "%s=%.2f", canonical, score);
		fail = push(&tags, item, strlen(item));
		if (category == NULL)
			continue;
		if (strcmp(category, "genre") == 0 &&
		    genres.nvalues < MAX_GENRES)
			fail |= push(&genres, canonical, strlen(canonical));
		else if (strcmp(category, "mood") == 0)
			fail |= push(&moods, canonical, strlen(canonical));
	}
	if (fail)
		mtag_seterr(err, errlen, NULL, "out of memory");
	else if (rc != SQLITE_DONE)
		fail = mtag_seterr(err, errlen, NULL, "%s",
		    sqlite3_errmsg(sql));
	sqlite3_finalize(s);
	if (!fail)
		fail = push(&model, wb->ident, strlen(wb->ident));
	for (i = 0; i < NFIELDS && !fail; i++) {
		next[i].key = keys[i];
		from = &cur[i];
		if (i == F_GENRE && genres.nvalues > 0 &&
		    (wb->o.genre == MTAG_GENRE_REPLACE ||
		    (wb->o.genre == MTAG_GENRE_FILL && cur[i].nvalues == 0)))
			from = &genres;
		else if (i == F_MOOD && moods.nvalues > 0)
			from = &moods;
		if (i == F_MODEL || i == F_TAGS)
			fail = push_joined(&next[i], i == F_MODEL ?
			    &model : &tags);
		else
			fail = add_values(&next[i], from, 0);
		if (!fail && i == F_GENRE && wb->o.genre == MTAG_GENRE_APPEND)
			fail = add_values(&next[i], &genres, 1);
		if (fail)
			mtag_seterr(err, errlen, NULL, "out of memory");
	}
	if (fail)
		mtag_meta_fields_clear(next, NFIELDS);
	mtag_meta_fields_clear(&genres, 1);
	mtag_meta_fields_clear(&moods, 1);
	mtag_meta_fields_clear(&tags, 1);
	mtag_meta_fields_clear(&model, 1);
	return fail ? -1 : 0;
}

/* --- Writing and undoing --------------------------------------------- */

/* Prints path and the change of each of the n fields from old to new. */
static void
print_changes(FILE *fp, const char *path, const mtag_meta_field *old,
    const mtag_meta_field *new, int n)
{
	char *o, *w;
	int i;

	fprintf(fp, "%s\n", path);
	for (i = 0; i < n; i++) {
		o = join(&old[i], "; ");
		w = join(&new[i], "; ");
		fprintf(fp, "  %s: %s \xe2\x86\x92 %s\n", new[i].key,
		    o != NULL ? o : "(none)", w != NULL ? w : "(none)");
		free(o);
		free(w);
	}
}

/* Stats path, which must be a regular file. Returns 0 or -1. */
static int
regular(const char *path, struct stat *st, char *err, size_t errlen)
{
	if (lstat(path, st) == -1)
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	if (S_ISLNK(st->st_mode))
		return mtag_seterr(err, errlen, path, "a symbolic link: not "
		    "written");
	if (!S_ISREG(st->st_mode))
		return mtag_seterr(err, errlen, path, "not a regular file");
	return 0;
}

/* Removes the dead writers' temporary files from the folder of path,
 * unless it is cleaned, the folder cleaned last, which it then becomes. */
static void
clean_dir(char cleaned[PATH_MAX], const char *path)
{
	char dir[PATH_MAX], err[PATH_MAX + 128];
	int n;

	snprintf(dir, sizeof(dir), "%.*s", (int)dir_len(path), path);
	if (dir[0] == '\0')
		strcpy(dir, "/");
	if (strcmp(dir, cleaned) == 0)
		return;
	if ((n = mtag_writeback_cleanup(dir, err, sizeof(err))) == -1)
		log_warnx("%s", err);
	else if (n > 0)
		log_info("%s: removed %d temporary file%s of an interrupted "
		    "writeback", dir, n, n == 1 ? "" : "s");
	strcpy(cleaned, dir);
}

/* Journals the changes of the n fields from old to new of the file at
 * path in wb's run, starting it. Returns 0 or -1. */
static int
journal(mtag_writeback *wb, const char *path, const mtag_meta_field *old,
    const mtag_meta_field *new, int n, char *err, size_t errlen)
{
	char *jold[NFIELDS] = { 0 }, *jnew[NFIELDS] = { 0 };
	const char *fields[NFIELDS];
	int i, rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		fields[i] = new[i].key;
		if (journal_value(&old[i], &jold[i]) == -1 ||
		    journal_value(&new[i], &jnew[i]) == -1)
			rc = mtag_seterr(err, errlen, path, errno == EINVAL ?
			    "a value of %s holds U+001F, which the journal "
			    "cannot keep: not written" : "out of memory",
			    fields[i]);
	}
	if (rc == 0 && ((wb->run_id == 0 && mtag_db_journal_begin(wb->db,
	    wb->model, &wb->run_id) == -1) || mtag_db_journal_put(wb->db,
	    wb->run_id, path, n, fields, (const char *const *)jold,
	    (const char *const *)jnew) == -1))
		rc = mtag_seterr(err, errlen, NULL, "%s",
		    mtag_db_errmsg(wb->db));
	for (i = 0; i < n; i++) {
		free(jold[i]);
		free(jnew[i]);
	}
	return rc;
}

int
mtag_writeback_file(mtag_writeback *wb, int64_t track_id, const char *path,
    FILE *dry_run, char *err, size_t errlen)
{
	mtag_meta_field cur[NFIELDS] = { 0 }, next[NFIELDS] = { 0 };
	mtag_meta_field old[NFIELDS], new[NFIELDS], got[NFIELDS + 1] = { 0 };
	char *genre = NULL;
	struct copy c;
	struct stat st;
	int i, n = 0, rc = -1;

	if (regular(path, &st, err, errlen) == -1)
		return -1;
	for (i = 0; i < NFIELDS; i++)
		cur[i].key = keys[i];
	if (mtag_meta_get(path, cur, NFIELDS, err, errlen) == -1)
		return -1;
	if (plan(wb, track_id, cur, next, err, errlen) == -1)
		goto out;
	for (i = 0; i < NFIELDS; i++)
		if (!same(&cur[i], &next[i])) {
			old[n] = cur[i];
			new[n++] = next[i];
		}
	if (n == 0 || dry_run != NULL) {
		if (n > 0)
			print_changes(dry_run, path, old, new, n);
		rc = n > 0;
		goto out;
	}
	clean_dir(wb->cleaned, path);
	if (prepare(&c, path, &st, new, n, wb->o.touch, err, errlen) == -1)
		goto out;
	/* Journaled as they read back: ID3v2.3 joins values. */
	for (i = 0; i < n; i++)
		got[i].key = new[i].key;
	got[n].key = keys[F_GENRE];
	if (mtag_meta_get(c.tmp, got, n + 1, err, errlen) == -1 ||
	    journal(wb, path, old, got, n, err, errlen) == -1) {
		discard(&c);
		goto out;
	}
	if ((genre = join(&got[n], "; ")) == NULL && errno != 0) {
		mtag_seterr(err, errlen, NULL, "out of memory");
		discard(&c);
		goto out;
	}
	if (commit(&c, wb->db, wb->run_id, path, genre, 0, err, errlen) == 0)
		rc = 1;
out:
	free(genre);
	mtag_meta_fields_clear(cur, NFIELDS);
	mtag_meta_fields_clear(next, NFIELDS);
	mtag_meta_fields_clear(got, NFIELDS + 1);
	return rc;
}

/* A field of a file in the journal. */
struct entry {
	char *path, *field, *old, *new;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static char *
dup_or_null(const char *s, int *fail)
{
	char *d = NULL;

	if (s != NULL && (d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

/* mtag_db_journal_read's callback: keeps the entry. Returns 0, or 1 when
 * out of memory. */
static int
collect(void *arg, const char *path, const char *field, const char *old,
    const char *new)
{
	struct entries *es = arg;
	struct entry *e;
	int fail = 0;

	if (es->n == es->cap) {
		if ((e = realloc(es->v, (es->cap ? 2 * es->cap : 64) *
		    sizeof(*e))) == NULL)
			return 1;
		es->v = e;
		es->cap = es->cap ? 2 * es->cap : 64;
	}
	e = &es->v[es->n++];
	e->path = dup_or_null(path, &fail);
	e->field = dup_or_null(field, &fail);
	e->old = dup_or_null(old, &fail);
	e->new = dup_or_null(new, &fail);
	return fail;
}

static void
entries_free(struct entries *es)
{
	size_t i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].path);
		free(es->v[i].field);
		free(es->v[i].old);
		free(es->v[i].new);
	}
	free(es->v);
}

/* Whether f has the values v joins as the journal does. */
static int
is(const mtag_meta_field *f, const char *v)
{
	char *j;
	int r;

	if (journal_value(f, &j) == -1)
		return 0;
	r = j == NULL ? v == NULL : v != NULL && strcmp(j, v) == 0;
	free(j);
	return r;
}

/*
 * Restores the n fields of e (of one file) from run run_id when the file
 * has the new values still. Returns 1 when restored (or, dry_run, would
 * be), 0 when the file has the old values already, or -1 with a message
 * in err.
 */
static int
restore(mtag_db *db, int64_t run_id, const struct entry *e, int n,
    FILE *dry_run, char cleaned[PATH_MAX], char *err, size_t errlen)
{
	/* The fields, and last the file's GENRE for the database. */
	mtag_meta_field cur[NFIELDS + 1] = { 0 }, old[NFIELDS] = { 0 };
	const mtag_meta_field *genre = &cur[n];
	int i, at_old = 1, at_new = 1, rc = -1;
	char *g = NULL;
	struct copy c;
	struct stat st;

	if (regular(e->path, &st, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		cur[i].key = old[i].key = e[i].field;
	cur[n].key = "GENRE";
	if (mtag_meta_get(e->path, cur, n + 1, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		at_old &= is(&cur[i], e[i].old);
		at_new &= is(&cur[i], e[i].new);
		if (split(e[i].old, &old[i]) == -1) {
			mtag_seterr(err, errlen, NULL, "out of memory");
			goto out;
		}
		if (strcmp(e[i].field, "GENRE") == 0)
			genre = &old[i];
	}
	if (at_old || !at_new) {
		rc = at_old ? 0 : mtag_seterr(err, errlen, e->path, "its tags "
		    "changed since writeback run %lld: not restored",
		    (long long)run_id);
		goto out;
	}
	if (dry_run != NULL) {
		print_changes(dry_run, e->path, cur, old, n);
		rc = 1;
		goto out;
	}
	clean_dir(cleaned, e->path);
	if ((g = join(genre, "; ")) == NULL && errno != 0)
		mtag_seterr(err, errlen, NULL, "out of memory");
	else if (prepare(&c, e->path, &st, old, n, 0, err, errlen) == 0 &&
	    commit(&c, db, run_id, e->path, g, 1, err, errlen) == 0)
		rc = 1;
out:
	free(g);
	mtag_meta_fields_clear(cur, n + 1);
	mtag_meta_fields_clear(old, n);
	return rc;
}

int
mtag_writeback_undo(mtag_db *db, int64_t run_id, FILE *dry_run, char *err,
    size_t errlen)
{
	struct entries es = { 0 };
	char cleaned[PATH_MAX] = "", ferr[PATH_MAX + 256];
	size_t a, b;
	int rc, failed = 0;

	if (run_id == 0 && (rc = mtag_db_journal_last(db, &run_id)) != 1)
		return mtag_seterr(err, errlen, NULL, "%s", rc == 0 ?
		    "no writeback run to undo" : mtag_db_errmsg(db));
	if ((rc = mtag_db_journal_read(db, run_id, collect, &es)) != 0) {
		entries_free(&es);
		return mtag_seterr(err, errlen, NULL, "%s", rc > 0 ?
		    "out of memory" : mtag_db_errmsg(db));
	}
	for (a = 0; a < es.n; a = b) {
		for (b = a + 1; b < es.n && b - a < NFIELDS &&
		    strcmp(es.v[b].path, es.v[a].path) == 0; b++)
			;
		if (restore(db, run_id, &es.v[a], b - a, dry_run, cleaned,
		    ferr, sizeof(ferr)) == -1) {
			log_warnx("%s", ferr);
			failed++;
		}
	}
	entries_free(&es);
	if (dry_run == NULL && failed == 0 &&
	    mtag_db_journal_undone(db, run_id) == -1)
		return mtag_seterr(err, errlen, NULL, "%s", mtag_db_errmsg(db));
	return failed;
}

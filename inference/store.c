/* The model store: installing checkpoints (published ones, pinned by
 * SHA-256, or local files), listing, removing and resolving them. The
 * layout is described in store.h. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ckpt.h"
#include "error.h"
#include "log.h"
#include "model.h"
#include "sha256.h"
#include "store.h"
#include "vocab.h"

#define PATHLEN		4096
#define UPSTREAM "https://github.com/minzwon/"
#define STUDY "sota-music-tagging-models/raw/master/models/"
#define SEMI "semi-supervised-music-tagging-transformer/raw/master/data/"

/* The checkpoints published with the study and with the music tagging
 * transformer: where they are below UPSTREAM (and below a mirror folder:
 * the same path without the repository part), and their SHA-256 where it is
 * known; the others are recorded as first fetched. */
static const struct pin {
	const char *name, *arch, *dataset, *repo, *path, *sha256;
} pins[] = {
#define STUDY_PIN(arch, dataset, sha)					\
	{ arch "-" dataset, arch, dataset, STUDY,			\
	  dataset "/" arch "/best_model.pth", sha }
	STUDY_PIN("musicnn", "mtat",
	  "690ace3bb5d49d90dd38fe3ec05a1185350b3bc3742bd7ee941f56b649b2c893"),
	STUDY_PIN("fcn", "mtat",
	  "e89d751202d38c3ae69855782bc27010f87051958dbec64f5aa762364dbac271"),
	STUDY_PIN("crnn", "mtat",
	  "cd22fc70cafd06f8f2bfc7dd795abccb1f4b50d5b09094c39ad100baf87475a3"),
	STUDY_PIN("fcn", "msd",
	  "6012aa7eecf864a8081faedca56af054521e8dfb9c5c98659a3dd5d3e1e66f21"),
	STUDY_PIN("crnn", "msd",
	  "ebb99855ed0c83f38845db9cfb383dd6fc70938bc58701dcb66e18af9ee7fbea"),
	STUDY_PIN("musicnn", "jamendo",
	  "66280f4859376377c47f64313c7ac889a3201fdb06a01bf6e94ac6e619081bb5"),
	STUDY_PIN("fcn", "jamendo",
	  "7bce08a66dbc70d096b0a330f44b4cacd9aa25519b83489fbb98f2164a194e2b"),
	STUDY_PIN("crnn", "jamendo",
	  "0a558989c0793f488cb677d188464c91f47c007f7c70473230e55537ca598215"),
	STUDY_PIN("sample", "mtat", NULL), STUDY_PIN("se", "mtat", NULL),
	STUDY_PIN("short", "mtat", NULL), STUDY_PIN("short_res", "mtat", NULL),
	STUDY_PIN("hcnn", "mtat", NULL), STUDY_PIN("attention", "mtat", NULL),
	STUDY_PIN("sample", "msd", NULL), STUDY_PIN("se", "msd", NULL),
	STUDY_PIN("short", "msd", NULL), STUDY_PIN("short_res", "msd", NULL),
	STUDY_PIN("hcnn", "msd", NULL), STUDY_PIN("attention", "msd", NULL),
	STUDY_PIN("sample", "jamendo", NULL), STUDY_PIN("se", "jamendo", NULL),
	STUDY_PIN("short", "jamendo", NULL),
	STUDY_PIN("short_res", "jamendo", NULL),
	STUDY_PIN("hcnn", "jamendo", NULL),
	STUDY_PIN("attention", "jamendo", NULL),
#undef STUDY_PIN
	{ "transformer-msd", "transformer", "msd", SEMI, "teacher.ckpt", NULL },
	{ "transformer_student-msd", "transformer", "msd", SEMI,
	  "compact_student.ckpt", NULL },
};
#define NPINS	(int)(sizeof(pins) / sizeof(pins[0]))

static int pathf(char *buf, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats a path into buf (PATHLEN bytes). Returns 0, or -1 when it does
 * not fit. */
static int
pathf(char *buf, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATHLEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATHLEN)
		return mtag_seterr(err, errlen, NULL, "path too long: %.64s...", buf);
	return 0;
}

int
mtag_store_dir(char *buf, size_t len, char *err, size_t errlen)
{
	const char *v;
	int n;

	if ((v = getenv("MTAG_DATA_DIR")) != NULL && *v != '\0')
		n = snprintf(buf, len, "%s/models", v);
	else if ((v = getenv("XDG_DATA_HOME")) != NULL && *v == '/')
		n = snprintf(buf, len, "%s/mtag/models", v);
	else if ((v = getenv("HOME")) != NULL && *v != '\0')
		n = snprintf(buf, len, "%s/.local/share/mtag/models", v);
	else
		return mtag_seterr(err, errlen, NULL, "cannot locate the model store: "
		    "set MTAG_DATA_DIR, XDG_DATA_HOME or HOME");
	if (n < 0 || (size_t)n >= len)
		return mtag_seterr(err, errlen, NULL, "model store path too long: %s", v);
	return 0;
}

const char *
mtag_store_pinned(int i)
{
	return i >= 0 && i < NPINS ? pins[i].name : NULL;
}

static int
check_name(const char *name, char *err, size_t errlen)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t len = strlen(name);

	if (len == 0 || len >= sizeof(((mtag_store_entry *)0)->name) ||
	    name[0] == '.' || strspn(name, ok) != len)
		return mtag_seterr(err, errlen, NULL, "bad model name \"%s\": use at most "
		    "127 letters, digits, '.', '_' and '-', not starting with "
		    "'.'", name);
	return 0;
}

/* Creates path and its missing parents. */
static int
mkdirs(const char *path, char *err, size_t errlen)
{
	char buf[PATHLEN], c;
	char *p;

	if (pathf(buf, err, errlen, "%s", path) == -1)
		return -1;
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return mtag_seterr(err, errlen, NULL, "cannot create %s: %s", buf,
			    strerror(errno));
		if (c == '\0')
			return 0;
		*p = c;
	}
}

/* Creates an empty hidden folder store/PREFIX-NAME.XXXXXX, its path in
 * tmp (PATHLEN bytes). */
static int
make_tmpdir(const char *store, const char *prefix, const char *name,
    char *tmp, char *err, size_t errlen)
{
	if (pathf(tmp, err, errlen, "%s/%s-%s.XXXXXX", store, prefix,
	    name) == -1)
		return -1;
	if (mkdtemp(tmp) == NULL)
		return mtag_seterr(err, errlen, NULL, "cannot create a folder in %s: %s",
		    store, strerror(errno));
	return 0;
}

/* Deletes the folder dir and the files in it (entries have no
 * subfolders). Returns 0, or -1 with errno set. */
static int
remove_tree(const char *dir)
{
	struct dirent *d;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			unlinkat(dirfd(dp), d->d_name, 0);
	closedir(dp);
	return rmdir(dir);
}

static int
sync_dir(const char *dir, char *err, size_t errlen)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mtag_seterr(err, errlen, NULL, "%s: %s", dir, strerror(errno));
	rc = fsync(fd);
	close(fd);
	if (rc == -1)
		return mtag_seterr(err, errlen, NULL, "cannot sync %s: %s", dir,
		    strerror(errno));
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates the new file path for writing; returns its descriptor or -1. */
static int
create_file(const char *path, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1)
		return mtag_seterr(err, errlen, NULL, "cannot create %s: %s", path,
		    strerror(errno));
	return fd;
}

/* Flushes fd to disk and closes it. */
static int
sync_close(int fd, const char *path, char *err, size_t errlen)
{
	if (fsync(fd) == -1) {
		mtag_seterr(err, errlen, NULL, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return mtag_seterr(err, errlen, NULL, "cannot write %s: %s", path,
		    strerror(errno));
	return 0;
}

/* Writes len bytes of data to the new file path, synced. */
static int
save(const char *path, const void *data, size_t len, char *err,
    size_t errlen)
{
	int fd;

	if ((fd = create_file(path, err, errlen)) == -1)
		return -1;
	if (write_all(fd, data, len) == -1) {
		mtag_seterr(err, errlen, NULL, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return sync_close(fd, path, err, errlen);
}

/* Copies the file src to fd (the file dst). */
static int
copy_file(const char *src, int fd, const char *dst, char *err, size_t errlen)
{
	char buf[65536];
	ssize_t n;
	int in, rc = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return mtag_seterr(err, errlen, NULL, "cannot open %s: %s", src,
		    strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = mtag_seterr(err, errlen, NULL, "cannot read %s: %s", src,
			    strerror(errno));
			break;
		}
		if (write_all(fd, buf, (size_t)n) == -1) {
			rc = mtag_seterr(err, errlen, NULL, "cannot write %s: %s", dst,
			    strerror(errno));
			break;
		}
	}
	close(in);
	return rc;
}

struct xfer {
	int fd;
	int errnum;		/* errno of a failed write, else 0 */
	const char *label;
	int shown;		/* percentage last shown, -1 before */
};

static size_t
xfer_write(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	if (write_all(x->fd, data, size * n) == -1) {
		x->errnum = errno;
		return 0;
	}
	return size * n;
}

static int
xfer_progress(void *arg, curl_off_t total, curl_off_t now, curl_off_t utotal,
    curl_off_t unow)
{
	struct xfer *x = arg;
	int pct;

	(void)utotal;
	(void)unow;
	if (total <= 0)
		return 0;
	pct = (int)(now * 100 / total);
	if (pct != x->shown) {
		fprintf(stderr, "\r%s: %3d%% of %.1f MB", x->label, pct,
		    (double)total / 1e6);
		x->shown = pct;
	}
	return 0;
}

/* Downloads url to fd (the file dst), following redirects and failing on
 * HTTP errors or a stalled transfer. */
static int
download(const char *url, int fd, const char *dst, const char *label,
    char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct xfer x = { fd, 0, label, -1 };
	CURLcode rc;
	CURL *c;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return mtag_seterr(err, errlen, NULL, "cannot initialise libcurl");
	if ((c = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		return mtag_seterr(err, errlen, NULL, "cannot initialise libcurl");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mtag");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	if (isatty(STDERR_FILENO)) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	rc = curl_easy_perform(c);
	if (x.shown >= 0)
		fputc('\n', stderr);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (x.errnum != 0)
		return mtag_seterr(err, errlen, NULL, "cannot write %s: %s", dst,
		    strerror(x.errnum));
	if (rc != CURLE_OK)
		return mtag_seterr(err, errlen, NULL, "cannot download %s: %s", url,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
	return 0;
}

static void
free_tags(mtag_store_entry *e)
{
	int i;

	for (i = 0; i < e->ntags; i++)
		free(e->tags[i]);
	free(e->tags);
	e->tags = NULL;
	e->ntags = 0;
}

void
mtag_store_entry_clear(mtag_store_entry *e)
{
	free_tags(e);
	memset(e, 0, sizeof(*e));
}

static int
add_tag(mtag_store_entry *e, const char *tag, char *err, size_t errlen)
{
	char **tags, *s;

	if ((tags = realloc(e->tags, (e->ntags + 1) * sizeof(*tags))) == NULL)
		return mtag_seterr(err, errlen, NULL, "out of memory");
	e->tags = tags;
	if ((s = strdup(tag)) == NULL)
		return mtag_seterr(err, errlen, NULL, "out of memory");
	e->tags[e->ntags++] = s;
	return 0;
}

/* Appends the lines of the tags file path (trailing blanks removed) to the
 * tags of e. */
static int
read_tags(const char *path, mtag_store_entry *e, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL)
		return mtag_seterr(err, errlen, NULL, "cannot open %s: %s", path,
		    strerror(errno));
	while (rc == 0 && (n = getline(&line, &cap, f)) != -1) {
		lineno++;
		while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
			line[--n] = '\0';
		if (n == 0)
			rc = mtag_seterr(err, errlen, NULL, "%s:%d: empty tag", path, lineno);
		else
			rc = add_tag(e, line, err, errlen);
	}
	if (rc == 0 && ferror(f))
		rc = mtag_seterr(err, errlen, NULL, "cannot read %s: %s", path,
		    strerror(errno));
	if (rc == 0 && e->ntags == 0)
		rc = mtag_seterr(err, errlen, NULL, "%s: no tags", path);
	free(line);
	fclose(f);
	return rc;
}

/* Replaces the vocabulary of e with that of dataset: a built-in dataset's
 * name or a tags file. */
static int
load_vocab(const char *dataset, mtag_store_entry *e, char *err, size_t errlen)
{
	const char *const *v;
	int i;

	free_tags(e);
	if ((v = mtag_vocab_builtin(dataset)) != NULL) {
		snprintf(e->dataset, sizeof(e->dataset), "%s", dataset);
		for (i = 0; i < MTAG_VOCAB_SIZE; i++)
			if (add_tag(e, v[i], err, errlen) == -1)
				return -1;
		return 0;
	}
	if (strchr(dataset, '/') == NULL && access(dataset, F_OK) == -1)
		return mtag_seterr(err, errlen, NULL, "unknown dataset %s: give mtat, msd, "
		    "jamendo or a tags file", dataset);
	snprintf(e->dataset, sizeof(e->dataset), "custom");
	return read_tags(dataset, e, err, errlen);
}

/* Copies to out the last folder in path that names a built-in dataset.
 * Returns 0, or -1 when there is none. */
static int
last_dataset(const char *path, char out[32])
{
	const char *p, *slash;
	char comp[32];
	size_t n;
	int rc = -1;

	for (p = path; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		n = (size_t)(slash - p);
		if (n >= sizeof(comp))
			continue;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mtag_vocab_builtin(comp) != NULL) {
			memcpy(out, comp, n + 1);
			rc = 0;
		}
	}
	return rc;
}

/* The dataset of the checkpoint file, from the folders in its path as
 * given or else in its real path. */
static int
guess_dataset(const char *file, char out[32])
{
	char *real;
	int rc;

	if (last_dataset(file, out) == 0)
		return 0;
	if ((real = realpath(file, NULL)) == NULL)
		return -1;
	rc = last_dataset(real, out);
	free(real);
	return rc;
}

/* Loads the checkpoint path as arch (NULL: the detected architecture) and
 * fills the arch, dataset and tags of e, checking that the model has one
 * output per tag. */
static int
describe(const char *path, const char *arch, const char *dataset,
    mtag_store_entry *e, char *err, size_t errlen)
{
	mtag_model *m;
	mtag_ckpt *ck;
	int ntags;

	if ((ck = mtag_ckpt_open(path, err, errlen)) == NULL)
		return -1;
	if (arch == NULL && (arch = mtag_model_detect(ck)) == NULL) {
		mtag_ckpt_free(ck);
		return mtag_seterr(err, errlen, NULL, "cannot tell the architecture of %s: "
		    "give --arch", path);
	}
	m = mtag_model_load(ck, arch, err, errlen);
	mtag_ckpt_free(ck);
	if (m == NULL)
		return -1;
	snprintf(e->arch, sizeof(e->arch), "%s", mtag_model_arch(m));
	ntags = mtag_model_ntags(m);
	mtag_model_free(m);
	if (load_vocab(dataset, e, err, errlen) == -1)
		return -1;
	if (ntags != e->ntags)
		return mtag_seterr(err, errlen, NULL, "%s has %d outputs but the vocabulary "
		    "%s has %d tags", path, ntags, dataset, e->ntags);
	return 0;
}

/* Closes the memory stream f, whose text is in *buf and *len, and saves the
 * text as the new file dir/name. */
static int
save_stream(FILE *f, char **buf, size_t *len, const char *dir,
    const char *name, char *err, size_t errlen)
{
	char path[PATHLEN];
	int rc;

	if (fclose(f) != 0)
		rc = mtag_seterr(err, errlen, NULL, "out of memory");
	else if ((rc = pathf(path, err, errlen, "%s/%s", dir, name)) == 0)
		rc = save(path, *buf, *len, err, errlen);
	free(*buf);
	return rc;
}

/* Writes tags.txt and info for e into the folder dir. */
static int
save_meta(const char *dir, const mtag_store_entry *e, const char *source,
    char *err, size_t errlen)
{
	char *buf;
	size_t len;
	FILE *f;
	int i;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return mtag_seterr(err, errlen, NULL, "out of memory");
	for (i = 0; i < e->ntags; i++)
		fprintf(f, "%s\n", e->tags[i]);
	if (save_stream(f, &buf, &len, dir, "tags.txt", err, errlen) == -1)
		return -1;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return mtag_seterr(err, errlen, NULL, "out of memory");
	fprintf(f, "name=%s\narch=%s\ndataset=%s\nsha256=%s\nsource=%s\n",
	    e->name, e->arch, e->dataset, e->sha256, source);
	return save_stream(f, &buf, &len, dir, "info", err, errlen);
}

static int
already_installed(const char *name, char *err, size_t errlen)
{
	return mtag_seterr(err, errlen, NULL, "model %s is already installed "
	    "(remove it first: mtagctl model remove %s)", name, name);
}

/* Whether anything is at store/name. */
static int
installed(const char *store, const char *name)
{
	char dir[PATHLEN];
	struct stat st;

	return snprintf(dir, sizeof(dir), "%s/%s", store, name) <
	    (int)sizeof(dir) && lstat(dir, &st) == 0;
}

/* Writes the metadata of e into the folder tmp, which holds its checkpoint,
 * and moves tmp into place as the entry of e->name. */
static int
commit(const char *tmp, const char *store, const mtag_store_entry *e,
    const char *source, char *err, size_t errlen)
{
	char dir[PATHLEN];

	if (save_meta(tmp, e, source, err, errlen) == -1 ||
	    sync_dir(tmp, err, errlen) == -1 ||
	    pathf(dir, err, errlen, "%s/%s", store, e->name) == -1)
		return -1;
	if (rename(tmp, dir) == -1) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			return already_installed(e->name, err, errlen);
		return mtag_seterr(err, errlen, NULL, "cannot rename %s to %s: %s", tmp,
		    dir, strerror(errno));
	}
	return sync_dir(store, err, errlen);
}

/* Writes the checkpoint tmp/model.pth (path gets its name) from the file
 * src, or downloaded from the URL src when is_url is set, and its SHA-256
 * into e->sha256. */
static int
get_model(const char *tmp, const char *src, int is_url, mtag_store_entry *e,
    char *path, char *err, size_t errlen)
{
	int fd, rc;

	if (pathf(path, err, errlen, "%s/model.pth", tmp) == -1 ||
	    (fd = create_file(path, err, errlen)) == -1)
		return -1;
	if (is_url)
		rc = download(src, fd, path, e->name, err, errlen);
	else
		rc = copy_file(src, fd, path, err, errlen);
	if (rc == -1) {
		close(fd);
		return -1;
	}
	if (sync_close(fd, path, err, errlen) == -1)
		return -1;
	if (mtag_sha256_file(path, e->sha256) == -1)
		return mtag_seterr(err, errlen, NULL, "cannot read %s: %s", path,
		    strerror(errno));
	return 0;
}

static const struct pin *
find_pin(const char *name)
{
	int i;

	for (i = 0; i < NPINS; i++)
		if (strcmp(pins[i].name, name) == 0)
			return &pins[i];
	return NULL;
}

/* Reads the installed model name into e (zeroed first). */
static int
read_entry(const char *store, const char *name, mtag_store_entry *e,
    char *err, size_t errlen)
{
	struct {
		const char *key;
		char *buf;
		size_t size;
	} fields[] = {
		{ "arch", e->arch, sizeof(e->arch) },
		{ "dataset", e->dataset, sizeof(e->dataset) },
		{ "sha256", e->sha256, sizeof(e->sha256) },
	};
	char dir[PATHLEN], path[PATHLEN], *line = NULL, *val;
	size_t cap = 0, i;
	struct stat st;
	ssize_t n;
	FILE *f;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	if (check_name(name, err, errlen) == -1 ||
	    pathf(dir, err, errlen, "%s/%s", store, name) == -1)
		return -1;
	if (stat(dir, &st) == -1 && errno == ENOENT)
		return mtag_seterr(err, errlen, NULL, find_pin(name) != NULL ?
		    "model %s is not installed (try: mtagctl model fetch %s)" :
		    "model %s is not installed (try: mtagctl model install "
		    "FILE --name %s)", name, name);
	snprintf(e->name, sizeof(e->name), "%s", name);

	if (pathf(path, err, errlen, "%s/info", dir) == -1)
		return -1;
	if ((f = fopen(path, "r")) == NULL)
		return mtag_seterr(err, errlen, NULL, "model %s is damaged: %s: %s", name,
		    path, strerror(errno));
	while (rc == 0 && (n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if ((val = strchr(line, '=')) == NULL)
			continue;
		*val++ = '\0';
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (strcmp(line, fields[i].key) != 0)
				continue;
			if (strlen(val) >= fields[i].size)
				rc = mtag_seterr(err, errlen, NULL, "model %s is damaged: "
				    "%s: %s too long", name, path, line);
			else
				strcpy(fields[i].buf, val);
		}
	}
	free(line);
	fclose(f);
	if (rc == -1)
		return -1;
	if (e->arch[0] == '\0' || e->dataset[0] == '\0' ||
	    e->sha256[0] == '\0')
		return mtag_seterr(err, errlen, NULL, "model %s is damaged: %s lacks arch, "
		    "dataset or sha256", name, path);

	if (pathf(e->path, err, errlen, "%s/model.pth", dir) == -1)
		return -1;
	if (stat(e->path, &st) == -1)
		return mtag_seterr(err, errlen, NULL, "model %s is damaged: %s: %s", name,
		    e->path, strerror(errno));
	if (pathf(path, err, errlen, "%s/tags.txt", dir) == -1)
		return -1;
	return read_tags(path, e, err, errlen);
}

static int
unknown_model(const char *name, char *err, size_t errlen)
{
	char known[512] = "";
	size_t len = 0;
	int i;

	for (i = 0; i < NPINS && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len,
		    "%s%s", i ? ", " : "", pins[i].name);
	return mtag_seterr(err, errlen, NULL, "unknown model %s; the models "
	    "that can be fetched are: %s (install other checkpoints with: mtagctl model "
	    "install FILE --name NAME)", name, known);
}

int
mtag_store_fetch(const char *name, const char *mirror, char *err,
    size_t errlen)
{
	char store[PATHLEN], tmp[PATHLEN], path[PATHLEN], source[PATHLEN];
	const struct pin *pin;
	mtag_store_entry e;
	int rc;

	if ((pin = find_pin(name)) == NULL)
		return unknown_model(name, err, errlen);
	if (mtag_store_dir(store, sizeof(store), err, errlen) == -1 ||
	    mkdirs(store, err, errlen) == -1)
		return -1;
	if (installed(store, name)) {
		if (read_entry(store, name, &e, err, errlen) == -1)
			rc = -1;
		else if (pin->sha256 == NULL ||
		    strcmp(e.sha256, pin->sha256) == 0)
			rc = 1;
		else
			rc = mtag_seterr(err, errlen, NULL, "model %s is already "
			    "installed from another checkpoint (remove it first: "
			    "mtagctl model remove %s)", name, name);
		mtag_store_entry_clear(&e);
		return rc;
	}

	if (mirror == NULL && (mirror = getenv("MTAG_MODEL_MIRROR")) != NULL &&
	    *mirror == '\0')
		mirror = NULL;
	if (mirror != NULL)
		rc = pathf(source, err, errlen, "%s/%s", mirror, pin->path);
	else
		rc = pathf(source, err, errlen, UPSTREAM "%s%s", pin->repo,
		    pin->path);
	if (rc == -1 || make_tmpdir(store, ".tmp", name, tmp, err, errlen) == -1)
		return -1;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	rc = get_model(tmp, source, mirror == NULL, &e, path, err, errlen);
	if (rc == 0 && pin->sha256 != NULL && strcmp(e.sha256,
	    pin->sha256) != 0)
		rc = mtag_seterr(err, errlen, NULL, "SHA-256 mismatch for %s: "
		    "expected %s, got %s", source, pin->sha256, e.sha256);
	if (rc == 0 && pin->sha256 == NULL)
		log_warnx("%s: no published SHA-256 is known; recorded %s as "
		    "fetched", name, e.sha256);
	if (rc == 0)
		rc = describe(path, pin->arch, pin->dataset, &e, err, errlen);
	if (rc == 0)
		rc = commit(tmp, store, &e, source, err, errlen);
	if (rc == -1)
		remove_tree(tmp);
	mtag_store_entry_clear(&e);
	return rc;
}

int
mtag_store_install(const char *file, const char *name, const char *dataset,
    const char *arch, char *err, size_t errlen)
{
	char store[PATHLEN], tmp[PATHLEN], path[PATHLEN], guessed[32];
	mtag_store_entry e;
	int rc;

	if (check_name(name, err, errlen) == -1)
		return -1;
	if (dataset == NULL) {
		if (guess_dataset(file, guessed) == -1)
			return mtag_seterr(err, errlen, NULL, "cannot tell the tag "
			    "vocabulary of %s: give --dataset", file);
		dataset = guessed;
	}
	if (mtag_store_dir(store, sizeof(store), err, errlen) == -1 ||
	    mkdirs(store, err, errlen) == -1)
		return -1;
	if (installed(store, name))
		return already_installed(name, err, errlen);

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	if (describe(file, arch, dataset, &e, err, errlen) == -1 ||
	    make_tmpdir(store, ".tmp", name, tmp, err, errlen) == -1) {
		mtag_store_entry_clear(&e);
		return -1;
	}
	rc = get_model(tmp, file, 0, &e, path, err, errlen);
	if (rc == 0)
		rc = commit(tmp, store, &e, file, err, errlen);
	if (rc == -1)
		remove_tree(tmp);
	mtag_store_entry_clear(&e);
	return rc;
}

static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int
mtag_store_list(int (*fn)(const mtag_store_entry *e, void *arg), void *arg,
    char *err, size_t errlen)
{
	char store[PATHLEN], msg[1024];
	struct dirent **names;
	mtag_store_entry e;
	int i, n, rc = 0;

	if (mtag_store_dir(store, sizeof(store), err, errlen) == -1)
		return -1;
	if ((n = scandir(store, &names, visible, alphasort)) == -1) {
		if (errno == ENOENT)
			return 0;
		return mtag_seterr(err, errlen, NULL, "cannot read %s: %s", store,
		    strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if (read_entry(store, names[i]->d_name, &e, msg,
			    sizeof(msg)) == -1)
				log_warnx("%s", msg);
			else
				rc = fn(&e, arg);
			mtag_store_entry_clear(&e);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
mtag_store_remove(const char *name, char *err, size_t errlen)
{
	char store[PATHLEN], dir[PATHLEN], tmp[PATHLEN];
	struct stat st;

	if (check_name(name, err, errlen) == -1 ||
	    mtag_store_dir(store, sizeof(store), err, errlen) == -1 ||
	    pathf(dir, err, errlen, "%s/%s", store, name) == -1)
		return -1;
	if (lstat(dir, &st) == -1)
		return mtag_seterr(err, errlen, NULL, errno == ENOENT ? "model %s is not "
		    "installed" : "cannot remove model %s: %s", name,
		    strerror(errno));
	/* Renamed away first, so that it disappears at once. */
	if (make_tmpdir(store, ".rm", name, tmp, err, errlen) == -1)
		return -1;
	if (rename(dir, tmp) == -1) {
		mtag_seterr(err, errlen, NULL, "cannot remove %s: %s", dir, strerror(errno));
		rmdir(tmp);
		return -1;
	}
	if (remove_tree(tmp) == -1)
		log_warn("model %s removed, but cannot delete %s", name, tmp);
	return sync_dir(store, err, errlen);
}

int
mtag_store_resolve(const char *name_or_file, const char *dataset,
    mtag_store_entry *e, char *err, size_t errlen)
{
	const char *arg = name_or_file ? name_or_file : MTAG_STORE_DEFAULT;
	char store[PATHLEN], guessed[32];
	const char *arch;
	struct stat st;
	mtag_ckpt *ck;

	memset(e, 0, sizeof(*e));
	if (strchr(arg, '/') == NULL &&
	    (stat(arg, &st) == -1 || !S_ISREG(st.st_mode))) {
		if (mtag_store_dir(store, sizeof(store), err, errlen) == -1 ||
		    read_entry(store, arg, e, err, errlen) == -1 ||
		    (dataset != NULL &&
		    load_vocab(dataset, e, err, errlen) == -1))
			goto bad;
		return 0;
	}

	snprintf(e->name, sizeof(e->name), "%s", arg);
	if (pathf(e->path, err, errlen, "%s", arg) == -1)
		goto bad;
	if (dataset == NULL) {
		if (guess_dataset(arg, guessed) == -1) {
			mtag_seterr(err, errlen, NULL, "cannot tell the tag vocabulary of "
			    "%s: give --dataset", arg);
			goto bad;
		}
		dataset = guessed;
	}
	if (mtag_sha256_file(arg, e->sha256) == -1) {
		mtag_seterr(err, errlen, NULL, "cannot read %s: %s", arg, strerror(errno));
		goto bad;
	}
	if ((ck = mtag_ckpt_open(arg, err, errlen)) == NULL)
		goto bad;
	if ((arch = mtag_model_detect(ck)) != NULL)
		snprintf(e->arch, sizeof(e->arch), "%s", arch);
	mtag_ckpt_free(ck);
	if (load_vocab(dataset, e, err, errlen) == -1)
		goto bad;
	return 0;
bad:
	mtag_store_entry_clear(e);
	return -1;
}

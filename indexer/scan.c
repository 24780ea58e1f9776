/* Walking a library folder: a stack of directories still to enter, each
 * listed in name order, and the set of (device, inode) pairs already
 * entered, which keeps symlink and bind-mount loops finite. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "scan.h"

static const char *const audio_ext[] = {
	"mp3", "mp2", "flac", "ogg", "oga", "opus", "m4a", "m4b", "mp4",
	"aac", "alac", "wav", "aif", "aiff", "aifc", "wma", "ape", "wv",
	"mpc", "mka", "spx", "tta", "dsf",
};

struct dirid {
	dev_t	dev;
	ino_t	ino;
};

struct walk {
	const struct mtag_scan_opts *o;
	mtag_scan_fn	 fn;
	void		*arg;
	void		*seen;		/* tsearch(3) tree of struct dirid */
	char		**todo;		/* directories to enter, last first */
	size_t		 ntodo, captodo;
	char		**names;	/* entries of the directory being read */
	size_t		 nnames, capnames;
	int		 error;		/* errno of a failure to allocate */
};

int
mtag_scan_is_audio(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot == NULL)
		return 0;
	for (i = 0; i < sizeof(audio_ext) / sizeof(audio_ext[0]); i++)
		if (strcasecmp(dot + 1, audio_ext[i]) == 0)
			return 1;
	return 0;
}

int
mtag_scan_excluded(const struct mtag_scan_opts *o, const char *path)
{
	const char *base = strrchr(path, '/');
	int i;

	base = base != NULL ? base + 1 : path;
	for (i = 0; o != NULL && i < o->nexclude; i++)
		if (fnmatch(o->exclude[i], path, 0) == 0 ||
		    fnmatch(o->exclude[i], base, 0) == 0)
			return 1;
	return 0;
}

static int
cmp_dirid(const void *a, const void *b)
{
	const struct dirid *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
nomem(struct walk *wk)
{
	wk->error = ENOMEM;
	return -1;
}

/* Appends s to the array *v of *n strings with room for *cap. */
static int
push(struct walk *wk, char ***v, size_t *n, size_t *cap, const char *s)
{
	char **nv;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 64;
		if ((nv = realloc(*v, ncap * sizeof(*nv))) == NULL)
			return nomem(wk);
		*v = nv;
		*cap = ncap;
	}
	if (((*v)[*n] = strdup(s)) == NULL)
		return nomem(wk);
	(*n)++;
	return 0;
}

/* Whether the directory is entered for the first time; -1 when out of
 * memory. */
static int
first_visit(struct walk *wk, const struct stat *st)
{
	struct dirid *id, **node;

	if ((id = malloc(sizeof(*id))) == NULL)
		return nomem(wk);
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	if ((node = tsearch(id, &wk->seen, cmp_dirid)) == NULL) {
		free(id);
		return nomem(wk);
	}
	if (*node != id) {
		free(id);
		return 0;
	}
	return 1;
}

/* Whether the directory entry cannot be a directory or audio file to
 * report, judged without a stat when the file system gives its type. */
static int
skippable(const struct walk *wk, const struct dirent *de)
{
	if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
		return 1;
	switch (de->d_type) {
	case DT_UNKNOWN:
	case DT_DIR:
		return 0;
	case DT_REG:
		return !mtag_scan_is_audio(de->d_name);
	case DT_LNK:
		return !wk->o->follow_symlinks;
	default:
		return 1;
	}
}

/* Reads the names of the directory open as dir into wk->names, sorted. */
static int
list(struct walk *wk, DIR *dir, const char *path)
{
	struct dirent *de;

	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL)
			break;
		if (!skippable(wk, de) && push(wk, &wk->names, &wk->nnames,
		    &wk->capnames, de->d_name) == -1)
			return -1;
	}
	if (errno != 0)
		log_warn("%s", path);
	if (wk->nnames > 0)
		qsort(wk->names, wk->nnames, sizeof(*wk->names), cmp_name);
	return 0;
}

/* Reports the directory path open as fd, reports its audio files and
 * queues its subdirectories. Closes fd. Returns 0, fn's non-zero value or
 * -1 with wk->error set. */
static int
enter(struct walk *wk, const char *path, int fd)
{
	char child[PATH_MAX];
	struct stat st;
	DIR *dir;
	size_t i, lo, hi;
	char *t;
	int r, flags = wk->o->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW;

	if (fstat(fd, &st) == -1) {
		log_warn("%s", path);
		close(fd);
		return 0;
	}
	if ((r = first_visit(wk, &st)) <= 0 ||
	    (r = wk->fn(wk->arg, path, &st, 1)) != 0) {
		close(fd);
		return r;
	}
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return nomem(wk);
	}
	r = list(wk, dir, path);
	lo = wk->ntodo;
	for (i = 0; r == 0 && i < wk->nnames; i++) {
		const char *name = wk->names[i];

		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path,
		    name) >= sizeof(child)) {
			errno = ENAMETOOLONG;
			log_warn("%s/%s", path, name);
			continue;
		}
		if (mtag_scan_excluded(wk->o, child))
			continue;
		if (fstatat(dirfd(dir), name, &st, flags) == -1) {
			log_warn("%s", child);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			r = push(wk, &wk->todo, &wk->ntodo, &wk->captodo,
			    child);
		else if (S_ISREG(st.st_mode) && mtag_scan_is_audio(name))
			r = wk->fn(wk->arg, child, &st, 0);
	}
	closedir(dir);
	for (i = 0; i < wk->nnames; i++)
		free(wk->names[i]);
	wk->nnames = 0;
	/* The stack pops last first: reverse to enter in name order. */
	for (hi = wk->ntodo; lo + 1 < hi; lo++, hi--) {
		t = wk->todo[lo];
		wk->todo[lo] = wk->todo[hi - 1];
		wk->todo[hi - 1] = t;
	}
	return r;
}

int
mtag_scan(const char *root, const struct mtag_scan_opts *o, mtag_scan_fn fn,
    void *arg, char *err, size_t errlen)
{
	static const struct mtag_scan_opts defaults;
	struct walk wk = { .o = o != NULL ? o : &defaults, .fn = fn,
	    .arg = arg };
	struct dirid *id;
	char *path;
	size_t len = strlen(root);
	int fd, r, nofollow = wk.o->follow_symlinks ? 0 : O_NOFOLLOW;

	while (len > 1 && root[len - 1] == '/')
		len--;
	if ((path = strndup(root, len)) == NULL)
		return mtag_seterr(err, errlen, root, "%s", strerror(errno));
	if (mtag_scan_excluded(wk.o, path)) {
		free(path);
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		mtag_seterr(err, errlen, root, "%s", strerror(errno));
		free(path);
		return -1;
	}
	r = enter(&wk, path, fd);
	free(path);
	while (r == 0 && wk.ntodo > 0) {
		path = wk.todo[--wk.ntodo];
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
		if (fd == -1)
			log_warn("%s", path);
		else
			r = enter(&wk, path, fd);
		free(path);
	}
	if (wk.error != 0)
		mtag_seterr(err, errlen, root, "%s", strerror(wk.error));
	while (wk.ntodo > 0)
		free(wk.todo[--wk.ntodo]);
	free(wk.todo);
	free(wk.names);
	while (wk.seen != NULL) {
		id = *(struct dirid **)wk.seen;
		tdelete(id, &wk.seen, cmp_dirid);
		free(id);
	}
	return r;
}

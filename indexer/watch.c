/* Watching library folders with inotify: the watched directories in hash
 * tables by watch descriptor and by path, kept current across renames, and
 * the translation of raw events, renames out of a directory being held
 * until their arrival shows up or a grace period ends. */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "watch.h"

#define WATCH_MASK	(IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | \
    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
    IN_ONLYDIR | IN_EXCL_UNLINK)
#define GRACE_MS	100	/* how long a rename out waits for its pair */

enum { BY_WD, BY_PATH };

struct dir {
	struct dir	*next[2];	/* hash chains, BY_WD and BY_PATH */
	size_t		 hash[2];
	int		 wd;
	char		*path;
};

/* A rename out of a watched directory awaiting its arrival. */
struct held {
	uint32_t	 cookie;
	int		 is_dir;
	char		*path;
	long long	 deadline;	/* CLOCK_MONOTONIC, ms */
};

struct mtag_watch {
	int		 fd;
	struct dir	**tab[2];
	size_t		 nbuckets;	/* a power of two */
	int		 count;
	struct held	*held;		/* oldest first */
	size_t		 nheld, capheld;
	int		 lost;		/* events were lost: report it */
	void		(*fn)(void *, const struct mtag_watch_event *);
	void		*arg;
	_Alignas(struct inotify_event) char buf[65536];
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
hash_path(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return (size_t)h;
}

/* The length of path without trailing slashes. */
static size_t
trimmed(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return len;
}

/* Whether path is dir (of length len) or below it. */
static int
under(const char *path, const char *dir, size_t len)
{
	return strncmp(path, dir, len) == 0 &&
	    (path[len] == '\0' || path[len] == '/');
}

static void
link_chain(struct mtag_watch *w, struct dir *d, int k)
{
	struct dir **b = &w->tab[k][d->hash[k] & (w->nbuckets - 1)];

	d->next[k] = *b;
	*b = d;
}

static void
unlink_chain(struct mtag_watch *w, struct dir *d, int k)
{
	struct dir **p = &w->tab[k][d->hash[k] & (w->nbuckets - 1)];

	while (*p != d)
		p = &(*p)->next[k];
	*p = d->next[k];
}

/* Gives d a new path, which it takes. */
static void
set_path(struct mtag_watch *w, struct dir *d, char *path)
{
	unlink_chain(w, d, BY_PATH);
	free(d->path);
	d->path = path;
	d->hash[BY_PATH] = hash_path(path, strlen(path));
	link_chain(w, d, BY_PATH);
}

static struct dir *
find_wd(const struct mtag_watch *w, int wd)
{
	struct dir *d = w->tab[BY_WD][(size_t)wd & (w->nbuckets - 1)];

	while (d != NULL && d->wd != wd)
		d = d->next[BY_WD];
	return d;
}

/* The directory watched as the first len bytes of path. */
static struct dir *
find_path(const struct mtag_watch *w, const char *path, size_t len)
{
	size_t h = hash_path(path, len);
	struct dir *d = w->tab[BY_PATH][h & (w->nbuckets - 1)];

	while (d != NULL && (d->hash[BY_PATH] != h ||
	    strncmp(d->path, path, len) != 0 || d->path[len] != '\0'))
		d = d->next[BY_PATH];
	return d;
}

/* Forgets d, whose watch is gone or removed. */
static void
drop(struct mtag_watch *w, struct dir *d)
{
	unlink_chain(w, d, BY_WD);
	unlink_chain(w, d, BY_PATH);
	free(d->path);
	free(d);
	w->count--;
}

static int
grow(struct mtag_watch *w)
{
	struct dir **old = w->tab[BY_WD], *d, *next;
	size_t i, n = w->nbuckets;
	struct dir **wd, **path;

	wd = calloc(2 * n, sizeof(*wd));
	path = calloc(2 * n, sizeof(*path));
	if (wd == NULL || path == NULL) {
		free(wd);
		free(path);
		return -1;
	}
	free(w->tab[BY_PATH]);
	w->tab[BY_WD] = wd;
	w->tab[BY_PATH] = path;
	w->nbuckets = 2 * n;
	for (i = 0; i < n; i++)
		for (d = old[i]; d != NULL; d = next) {
			next = d->next[BY_WD];
			link_chain(w, d, BY_WD);
			link_chain(w, d, BY_PATH);
		}
	free(old);
	return 0;
}

/* Watches dir with WATCH_MASK and the extra flags. */
static int
add(struct mtag_watch *w, const char *dir, uint32_t extra)
{
	struct dir *d;
	char *path;
	int wd, e;

	if ((path = strndup(dir, trimmed(dir))) == NULL)
		return -1;
	if ((size_t)w->count >= w->nbuckets && grow(w) == -1) {
		free(path);
		return -1;
	}
	if ((wd = inotify_add_watch(w->fd, path, WATCH_MASK | extra)) == -1) {
		e = errno;
		free(path);
		errno = e;
		return -1;
	}
	/* The directory may be watched already under another name. */
	if ((d = find_wd(w, wd)) != NULL) {
		if (strcmp(d->path, path) != 0)
			set_path(w, d, path);
		else
			free(path);
		return 0;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		inotify_rm_watch(w->fd, wd);
		free(path);
		errno = ENOMEM;
		return -1;
	}
	d->wd = wd;
	d->path = path;
	d->hash[BY_WD] = (size_t)wd;
	d->hash[BY_PATH] = hash_path(path, strlen(path));
	link_chain(w, d, BY_WD);
	link_chain(w, d, BY_PATH);
	w->count++;
	return 0;
}

/* Removes the watches of dir and the directories below it. */
static void
remove_under(struct mtag_watch *w, const char *dir)
{
	struct dir *d, *next;
	size_t i, len = trimmed(dir);

	for (i = 0; i < w->nbuckets; i++)
		for (d = w->tab[BY_WD][i]; d != NULL; d = next) {
			next = d->next[BY_WD];
			if (under(d->path, dir, len)) {
				inotify_rm_watch(w->fd, d->wd);
				drop(w, d);
			}
		}
}

/* Renames the watched directories at and below from to be below to. */
static void
rename_under(struct mtag_watch *w, const char *from, const char *to)
{
	struct dir *d;
	char *path;
	size_t i, n, len = strlen(from);

	for (i = 0; i < w->nbuckets; i++)
		for (d = w->tab[BY_WD][i]; d != NULL; d = d->next[BY_WD]) {
			if (!under(d->path, from, len))
				continue;
			n = strlen(to) + strlen(d->path + len) + 1;
			if ((path = malloc(n)) == NULL) {
				w->lost = 1;
				continue;
			}
			snprintf(path, n, "%s%s", to, d->path + len);
			set_path(w, d, path);
		}
}

/* Whether the watched directory d is not below another one. */
static int
is_root(const struct mtag_watch *w, const struct dir *d)
{
	const char *slash = strrchr(d->path, '/');

	return slash == NULL || slash == d->path ||
	    find_path(w, d->path, slash - d->path) == NULL;
}

static void
emit(struct mtag_watch *w, enum mtag_watch_kind kind, int is_dir,
    const char *path, const char *from)
{
	struct mtag_watch_event ev = { kind, is_dir, path, from };

	w->fn(w->arg, &ev);
}

/* Reports the held rename i as a removal. */
static void
release(struct mtag_watch *w, size_t i)
{
	struct held h = w->held[i];

	w->nheld--;
	memmove(&w->held[i], &w->held[i + 1], (w->nheld - i) * sizeof(h));
	emit(w, MTAG_WATCH_REMOVED, h.is_dir, h.path, NULL);
	if (h.is_dir)
		remove_under(w, h.path);
	free(h.path);
}

/* Releases the held renames at, above or below path: events about the
 * same place are reported in order. */
static void
settle(struct mtag_watch *w, const char *path)
{
	size_t i = 0;

	while (i < w->nheld)
		if (under(path, w->held[i].path, strlen(w->held[i].path)) ||
		    under(w->held[i].path, path, strlen(path)))
			release(w, i);
		else
			i++;
}

static void
hold(struct mtag_watch *w, uint32_t cookie, int is_dir, const char *path)
{
	struct held *nh;
	size_t ncap;

	if (w->nheld == w->capheld) {
		ncap = w->capheld ? w->capheld * 2 : 16;
		if ((nh = realloc(w->held, ncap * sizeof(*nh))) == NULL) {
			w->lost = 1;
			return;
		}
		w->held = nh;
		w->capheld = ncap;
	}
	nh = &w->held[w->nheld];
	if ((nh->path = strdup(path)) == NULL) {
		w->lost = 1;
		return;
	}
	nh->cookie = cookie;
	nh->is_dir = is_dir;
	nh->deadline = now_ms() + GRACE_MS;
	w->nheld++;
}

/* A directory appeared: watch it before the caller scans it. */
static void
arrived(struct mtag_watch *w, const char *path)
{
	if (add(w, path, IN_DONT_FOLLOW) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return;		/* gone again: its removal follows */
		if (errno == ENOMEM)
			w->lost = 1;
	}
	emit(w, MTAG_WATCH_DIR_ADDED, 1, path, NULL);
}

static void
moved_to(struct mtag_watch *w, uint32_t cookie, int is_dir, const char *path)
{
	struct dir *d;
	char *from;
	size_t i;

	for (i = 0; i < w->nheld && w->held[i].cookie != cookie; i++)
		;
	if (i == w->nheld) {
		if (is_dir)
			arrived(w, path);
		else
			emit(w, MTAG_WATCH_WRITTEN, 0, path, NULL);
		return;
	}
	from = w->held[i].path;
	w->nheld--;
	memmove(&w->held[i], &w->held[i + 1],
	    (w->nheld - i) * sizeof(*w->held));
	if (is_dir) {
		/* An empty directory renamed over loses its watch. */
		if ((d = find_path(w, path, strlen(path))) != NULL)
			drop(w, d);
		rename_under(w, from, path);
	}
	emit(w, MTAG_WATCH_MOVED, is_dir, path, from);
	free(from);
}

/* Forgets the held renames, whose arrivals may have been lost. */
static void
overflow(struct mtag_watch *w)
{
	while (w->nheld > 0) {
		w->nheld--;
		if (w->held[w->nheld].is_dir)
			remove_under(w, w->held[w->nheld].path);
		free(w->held[w->nheld].path);
	}
	w->lost = 1;
}

static void
process(struct mtag_watch *w, const struct inotify_event *ev)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct dir *d;
	int is_dir = (ev->mask & IN_ISDIR) != 0;

	if (ev->mask & IN_Q_OVERFLOW) {
		overflow(w);
		return;
	}
	if ((d = find_wd(w, ev->wd)) == NULL)
		return;
	if (ev->mask & IN_IGNORED) {
		drop(w, d);
		return;
	}
	if (ev->mask & IN_UNMOUNT) {
		w->lost = 1;
		return;
	}
	if ((size_t)snprintf(path, sizeof(path), ev->len ? "%s/%s" : "%s",
	    d->path, ev->name) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		log_warn("%s/%s", d->path, ev->name);
		return;
	}
	settle(w, path);
	/* Gone with a directory that was moved out. */
	if ((d = find_wd(w, ev->wd)) == NULL)
		return;

	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* Below a watched directory, the parent's event reports it. */
		if (is_root(w, d)) {
			emit(w, MTAG_WATCH_REMOVED, 1, path, NULL);
			remove_under(w, path);
		}
	} else if (ev->mask & IN_CLOSE_WRITE)
		emit(w, MTAG_WATCH_WRITTEN, 0, path, NULL);
	else if (ev->mask & IN_CREATE) {
		if (is_dir)
			arrived(w, path);
	} else if (ev->mask & IN_DELETE) {
		if (is_dir && (d = find_path(w, path, strlen(path))) != NULL)
			drop(w, d);
		emit(w, MTAG_WATCH_REMOVED, is_dir, path, NULL);
	} else if (ev->mask & IN_MOVED_FROM)
		hold(w, ev->cookie, is_dir, path);
	else if (ev->mask & IN_MOVED_TO)
		moved_to(w, ev->cookie, is_dir, path);
}

/* Waits up to timeout_ms for events, then reads and processes all there
 * are. */
static int
drain(struct mtag_watch *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	if (poll(&pfd, 1, timeout_ms) == -1)
		return -1;
	for (;;) {
		if ((n = read(w->fd, w->buf, sizeof(w->buf))) == -1) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (p = w->buf; p < w->buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			process(w, ev);
		}
		if (w->lost) {
			w->lost = 0;
			emit(w, MTAG_WATCH_OVERFLOW, 0, "", NULL);
		}
	}
}

int
mtag_watch_read(mtag_watch *w, int timeout_ms,
    void (*fn)(void *arg, const struct mtag_watch_event *ev), void *arg)
{
	long long left;
	int wait = timeout_ms;

	w->fn = fn;
	w->arg = arg;
	for (;;) {
		if (w->nheld > 0) {
			left = w->held[0].deadline - now_ms();
			if (left < 0)
				left = 0;
			if (wait < 0 || wait > left)
				wait = (int)left;
		}
		if (drain(w, wait) == -1)
			return -1;
		while (w->nheld > 0 && w->held[0].deadline <= now_ms())
			release(w, 0);
		if (w->nheld == 0)
			return 0;
		wait = -1;
	}
}

mtag_watch *
mtag_watch_new(char *err, size_t errlen)
{
	mtag_watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		mtag_seterr(err, errlen, NULL, "%s", strerror(errno));
		return NULL;
	}
	w->nbuckets = 64;
	w->tab[BY_WD] = calloc(w->nbuckets, sizeof(struct dir *));
	w->tab[BY_PATH] = calloc(w->nbuckets, sizeof(struct dir *));
	if (w->tab[BY_WD] == NULL || w->tab[BY_PATH] == NULL) {
		mtag_seterr(err, errlen, NULL, "%s", strerror(errno));
		w->fd = -1;
		mtag_watch_free(w);
		return NULL;
	}
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		mtag_seterr(err, errlen, NULL, "inotify: %s", strerror(errno));
		mtag_watch_free(w);
		return NULL;
	}
	return w;
}

void
mtag_watch_free(mtag_watch *w)
{
	struct dir *d, *next;
	size_t i;

	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	for (i = 0; w->tab[BY_WD] != NULL && i < w->nbuckets; i++)
		for (d = w->tab[BY_WD][i]; d != NULL; d = next) {
			next = d->next[BY_WD];
			free(d->path);
			free(d);
		}
	while (w->nheld > 0)
		free(w->held[--w->nheld].path);
	free(w->held);
	free(w->tab[BY_WD]);
	free(w->tab[BY_PATH]);
	free(w);
}

int
mtag_watch_fd(const mtag_watch *w)
{
	return w->fd;
}

int
mtag_watch_add(mtag_watch *w, const char *dir)
{
	return add(w, dir, 0);
}

void
mtag_watch_remove(mtag_watch *w, const char *dir)
{
	remove_under(w, dir);
}

int
mtag_watch_count(const mtag_watch *w)
{
	return w->count;
}

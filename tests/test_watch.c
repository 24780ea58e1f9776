/* Tests of indexer/watch.c with real files and inotify events, emulating
 * the daemon: each new directory is scanned, which watches its
 * subdirectories and finds the files written before the watch existed.
 * Waits are loops of reads ending when the awaited event arrives; a marker
 * file written last ("sync") bounds the events of what was done before. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan.h"
#include "testutil.h"
#include "watch.h"

#define MARKER	".sync-"
#define NDIRS	200

struct rec {
	enum mtag_watch_kind kind;
	int	 is_dir;
	char	*path, *from;
};

struct ctx {
	mtag_watch	*w;
	const char	*root;
	struct rec	*ev;		/* events but the markers' */
	size_t		 nev, capev;
	char		**found;	/* files written or found by scans */
	size_t		 nfound, capfound;
	int		 marker;	/* number of the marker awaited */
	int		 synced;
	int		 overflows;
};

static char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

static int
found(const struct ctx *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->nfound; i++)
		if (strcmp(c->found[i], path) == 0)
			return 1;
	return 0;
}

static void
add_found(struct ctx *c, const char *path)
{
	if (found(c, path))
		return;
	if (c->nfound == c->capfound) {
		c->capfound = c->capfound ? 2 * c->capfound : 256;
		c->found = realloc(c->found, c->capfound * sizeof(*c->found));
		if (c->found == NULL)
			abort();
	}
	c->found[c->nfound++] = xstrdup(path);
}

static int
on_scanned(void *arg, const char *path, const struct stat *st, int is_dir)
{
	struct ctx *c = arg;

	(void)st;
	if (is_dir)
		CHECK(mtag_watch_add(c->w, path) == 0);
	else
		add_found(c, path);
	return 0;
}

static void
on_event(void *arg, const struct mtag_watch_event *ev)
{
	struct ctx *c = arg;
	const char *base = strrchr(ev->path, '/');
	char err[512];
	int n;

	if (ev->kind == MTAG_WATCH_OVERFLOW) {
		c->overflows++;
		return;
	}
	if (base != NULL && strncmp(base + 1, MARKER, strlen(MARKER)) == 0) {
		if (ev->kind == MTAG_WATCH_WRITTEN &&
		    sscanf(base + 1 + strlen(MARKER), "%d", &n) == 1 &&
		    n == c->marker)
			c->synced = 1;
		return;
	}
	if (c->nev == c->capev) {
		c->capev = c->capev ? 2 * c->capev : 64;
		if ((c->ev = realloc(c->ev, c->capev * sizeof(*c->ev))) == NULL)
			abort();
	}
	c->ev[c->nev].kind = ev->kind;
	c->ev[c->nev].is_dir = ev->is_dir;
	c->ev[c->nev].path = xstrdup(ev->path);
	c->ev[c->nev].from = xstrdup(ev->from);
	c->nev++;
	if (ev->kind == MTAG_WATCH_WRITTEN)
		add_found(c, ev->path);
	else if (ev->kind == MTAG_WATCH_DIR_ADDED &&
	    mtag_scan(ev->path, NULL, on_scanned, c, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
}

static void
clear(struct ctx *c)
{
	while (c->nev > 0) {
		c->nev--;
		free(c->ev[c->nev].path);
		free(c->ev[c->nev].from);
	}
}

/* Reads events until done(c) holds, for up to a generous limit. */
static int
pump(struct ctx *c, int (*done)(const struct ctx *, const void *),
    const void *arg)
{
	time_t end = time(NULL) + 30;

	while (!done(c, arg) && time(NULL) < end)
		CHECK(mtag_watch_read(c->w, 50, on_event, c) == 0);
	return done(c, arg);
}

static int
is_synced(const struct ctx *c, const void *arg)
{
	(void)arg;
	return c->synced;
}

static int
has_events(const struct ctx *c, const void *n)
{
	return c->nev >= *(const size_t *)n;
}

static int
has_count(const struct ctx *c, const void *n)
{
	return mtag_watch_count(c->w) == *(const int *)n;
}

static int
has_overflow(const struct ctx *c, const void *arg)
{
	(void)arg;
	return c->overflows > 0;
}

/* The path of rel below dir, in one of a few rotating buffers. */
static const char *
at(const char *dir, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", dir, rel);
	return buf[i];
}

static void
write_file(const char *path)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, "fLaC", 4) != 4 || write(fd, "data", 4) != 4 ||
	    close(fd) == -1) {
		perror(path);
		exit(1);
	}
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0755) == -1) {
		perror(path);
		exit(1);
	}
}

static void
move(const char *from, const char *to)
{
	if (rename(from, to) == -1) {
		perror(from);
		exit(1);
	}
}

/* Writes a marker in the root and waits for it: the events of what was
 * done before have then been delivered. */
static void
sync_events(struct ctx *c)
{
	char name[32];

	snprintf(name, sizeof(name), "/" MARKER "%d", ++c->marker);
	c->synced = 0;
	write_file(at(c->root, name));
	CHECK(pump(c, is_synced, NULL));
}

/* Checks event i against kind, is_dir and the paths relative to root. */
static void
check_event(const struct ctx *c, size_t i, enum mtag_watch_kind kind,
    int is_dir, const char *path, const char *from)
{
	const struct rec *r;

	if (i >= c->nev) {
		CHECK(i < c->nev);
		return;
	}
	r = &c->ev[i];
	CHECK(r->kind == kind);
	CHECK(r->is_dir == is_dir);
	CHECK(strcmp(r->path, at(c->root, path)) == 0);
	if (from != NULL)
		CHECK(r->from != NULL && strcmp(r->from, at(c->root, from)) == 0);
	else
		CHECK(r->from == NULL);
	if (r->kind != kind || strcmp(r->path, at(c->root, path)) != 0)
		fprintf(stderr, "event %zu: kind %d %s\n", i, r->kind, r->path);
}

static void
test_written(struct ctx *c)
{
	write_file(at(c->root, "/new.flac"));
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_WRITTEN, 0, "/new.flac", NULL);
	clear(c);
}

/* Files written in a new directory before it is watched are found by the
 * scan of the directory. */
static void
test_new_dir(struct ctx *c, int count)
{
	make_dir(at(c->root, "/album"));
	write_file(at(c->root, "/album/1.flac"));
	make_dir(at(c->root, "/album/cd2"));
	write_file(at(c->root, "/album/cd2/2.flac"));
	sync_events(c);
	CHECK(c->nev >= 1);
	check_event(c, 0, MTAG_WATCH_DIR_ADDED, 1, "/album", NULL);
	CHECK(found(c, at(c->root, "/album/1.flac")));
	CHECK(found(c, at(c->root, "/album/cd2/2.flac")));
	CHECK(mtag_watch_count(c->w) == count + 2);
	clear(c);
}

static void
test_renames(struct ctx *c, const char *out, int count)
{
	size_t one = 1;

	move(at(c->root, "/new.flac"), at(c->root, "/album/renamed.flac"));
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_MOVED, 0, "/album/renamed.flac",
	    "/new.flac");
	clear(c);

	/* The watches below a renamed directory follow it. */
	move(at(c->root, "/album"), at(c->root, "/album2"));
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_MOVED, 1, "/album2", "/album");
	clear(c);
	write_file(at(c->root, "/album2/cd2/3.flac"));
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_WRITTEN, 0, "/album2/cd2/3.flac", NULL);
	CHECK(mtag_watch_count(c->w) == count);
	clear(c);

	/* Out of the tree: removed, and what happens there is not reported
	 * though it may be queued before the watches are removed. */
	move(at(c->root, "/album2"), at(out, "/album2"));
	write_file(at(out, "/album2/cd2/4.flac"));
	CHECK(pump(c, has_events, &one));
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_REMOVED, 1, "/album2", NULL);
	CHECK(mtag_watch_count(c->w) == count - 2);
	clear(c);
	write_file(at(out, "/album2/cd2/5.flac"));
	sync_events(c);
	CHECK(c->nev == 0);
	clear(c);

	/* Into the tree: a written file, a new directory. */
	write_file(at(out, "/in.flac"));
	move(at(out, "/in.flac"), at(c->root, "/in.flac"));
	move(at(out, "/album2"), at(c->root, "/back"));
	sync_events(c);
	CHECK(c->nev >= 2);
	check_event(c, 0, MTAG_WATCH_WRITTEN, 0, "/in.flac", NULL);
	check_event(c, 1, MTAG_WATCH_DIR_ADDED, 1, "/back", NULL);
	CHECK(found(c, at(c->root, "/back/cd2/4.flac")));
	CHECK(found(c, at(c->root, "/back/renamed.flac")));
	CHECK(mtag_watch_count(c->w) == count);
	clear(c);

	/* A file moved out is reported once its arrival fails to show. */
	move(at(c->root, "/back/renamed.flac"), at(out, "/renamed.flac"));
	CHECK(pump(c, has_events, &one));
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_REMOVED, 0, "/back/renamed.flac", NULL);
	clear(c);
}

static void
test_removals(struct ctx *c, int count)
{
	CHECK(unlink(at(c->root, "/in.flac")) == 0);
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_REMOVED, 0, "/in.flac", NULL);
	clear(c);

	make_dir(at(c->root, "/empty"));
	sync_events(c);
	CHECK(mtag_watch_count(c->w) == count + 1);
	clear(c);
	CHECK(rmdir(at(c->root, "/empty")) == 0);
	sync_events(c);
	CHECK(c->nev == 1);
	check_event(c, 0, MTAG_WATCH_REMOVED, 1, "/empty", NULL);
	CHECK(mtag_watch_count(c->w) == count);
	clear(c);

	/* Unwatched: no events from below. */
	mtag_watch_remove(c->w, at(c->root, "/back/"));
	CHECK(mtag_watch_count(c->w) == count - 2);
	write_file(at(c->root, "/back/cd2/6.flac"));
	sync_events(c);
	CHECK(c->nev == 0);
	clear(c);
}

/* `mkdir -p dN/b/c && cp x.flac dN/b/c/` NDIRS times while the events are
 * read: every file is found, by its event or by a scan. */
static void
test_mkdir_cp(struct ctx *c, const char *src, int count)
{
	char path[PATH_MAX], n[16];
	size_t i, missing = 0;
	pid_t pid;
	int status, want = count + 3 * NDIRS;

	snprintf(n, sizeof(n), "%d", NDIRS);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (chdir(c->root) == -1)
			_exit(1);
		execl("/bin/sh", "sh", "-c", "i=0; while [ $i -lt $1 ]; do "
		    "i=$((i + 1)); mkdir -p d$i/b/c && cp \"$0\" d$i/b/c/ || "
		    "exit 1; done", src, n, (char *)NULL);
		_exit(127);
	}
	CHECK(pump(c, has_count, &want));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sync_events(c);
	for (i = 1; i <= NDIRS; i++) {
		snprintf(path, sizeof(path), "%s/d%zu/b/c/x.flac", c->root, i);
		if (!found(c, path)) {
			fprintf(stderr, "missed %s\n", path);
			missing++;
		}
	}
	fprintf(stderr, "mkdir -p + cp %d times: %zu files missed, %d "
	    "directories watched\n", NDIRS, missing, mtag_watch_count(c->w));
	CHECK(missing == 0);
	CHECK(mtag_watch_count(c->w) == want);
	clear(c);
}

static void
test_add_errors(struct ctx *c, const char *src)
{
	int count = mtag_watch_count(c->w);

	errno = 0;
	CHECK(mtag_watch_add(c->w, src) == -1 && errno == ENOTDIR);
	CHECK(mtag_watch_add(c->w, at(c->root, "/none")) == -1 &&
	    errno == ENOENT);
	CHECK(mtag_watch_add(c->w, c->root) == 0);
	CHECK(mtag_watch_count(c->w) == count);
}

/* A watched root deleted or moved away is reported once. */
static void
test_root_gone(int moved)
{
	char root[] = "/tmp/mtag-watch-XXXXXX", err[256], cmd[80];
	struct ctx c = { .root = root };
	int zero = 0;
	size_t i, n = 0;

	CHECK(mkdtemp(root) != NULL);
	make_dir(at(root, "/sub"));
	CHECK((c.w = mtag_watch_new(err, sizeof(err))) != NULL);
	CHECK(mtag_scan(root, NULL, on_scanned, &c, err, sizeof(err)) == 0);
	CHECK(mtag_watch_count(c.w) == 2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s%s", root, moved ? ".moved" : "");
	if (moved)
		move(root, at(root, ".moved"));
	else
		CHECK(system(cmd) == 0);
	CHECK(pump(&c, has_count, &zero));
	for (i = 0; i < c.nev; i++)
		if (strcmp(c.ev[i].path, root) == 0) {
			CHECK(c.ev[i].kind == MTAG_WATCH_REMOVED);
			CHECK(c.ev[i].is_dir);
			n++;
		}
	CHECK(n == 1);
	if (moved)
		CHECK(system(cmd) == 0);
	clear(&c);
	free(c.ev);
	mtag_watch_free(c.w);
}

/* More events than the queue holds are reported as an overflow. */
static void
test_overflow(void)
{
	char root[] = "/tmp/mtag-watch-XXXXXX", err[256], cmd[64], name[32];
	struct ctx c = { .root = root };
	long max = 0;
	FILE *f;
	int i;

	if ((f = fopen("/proc/sys/fs/inotify/max_queued_events", "r")) !=
	    NULL) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (max <= 0 || max > 200000) {
		fprintf(stderr, "max_queued_events %ld: overflow not tested\n",
		    max);
		return;
	}
	CHECK(mkdtemp(root) != NULL);
	CHECK((c.w = mtag_watch_new(err, sizeof(err))) != NULL);
	CHECK(mtag_watch_add(c.w, root) == 0);
	/* Each file makes two events: created, closed after writing. */
	for (i = 0; i < max / 2 + 64; i++) {
		snprintf(name, sizeof(name), "/f%d", i);
		write_file(at(root, name));
	}
	CHECK(pump(&c, has_overflow, NULL));
	clear(&c);
	free(c.ev);
	for (i = 0; i < (int)c.nfound; i++)
		free(c.found[i]);
	free(c.found);
	mtag_watch_free(c.w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

int
main(void)
{
	char root[] = "/tmp/mtag-watch-XXXXXX", out[] = "/tmp/mtag-out-XXXXXX";
	char err[256], cmd[80];
	struct ctx c = { .root = root };
	size_t i;
	int count;

	mtag_watch_free(NULL);
	if (mkdtemp(root) == NULL || mkdtemp(out) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	make_dir(at(root, "/pre"));
	make_dir(at(root, "/pre/sub"));
	write_file(at(out, "/x.flac"));
	if ((c.w = mtag_watch_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	CHECK(mtag_watch_fd(c.w) >= 0);
	CHECK(mtag_scan(root, NULL, on_scanned, &c, err, sizeof(err)) == 0);
	CHECK((count = mtag_watch_count(c.w)) == 3);

	test_written(&c);
	test_new_dir(&c, count);
	test_renames(&c, out, count + 2);
	test_removals(&c, count + 2);
	test_mkdir_cp(&c, at(out, "/x.flac"), count);
	test_add_errors(&c, at(out, "/x.flac"));
	test_root_gone(0);
	test_root_gone(1);
	test_overflow();

	clear(&c);
	free(c.ev);
	for (i = 0; i < c.nfound; i++)
		free(c.found[i]);
	free(c.found);
	mtag_watch_free(c.w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, out);
	CHECK(system(cmd) == 0);
	return test_failures ? 1 : 0;
}

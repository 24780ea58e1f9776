/* Tests of indexer/scan.c on a real tree: nested directories, audio and
 * other files, symlink loops and links out of the tree, an unreadable
 * directory, exclude globs, a FIFO, non-UTF-8 and very long names and
 * paths, files vanishing mid-walk, and errors on the root. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"
#include "testutil.h"

struct list {
	char	**v;
	size_t	  n, cap;
};

/* What a scan reported, as "D rel" and "F rel" with rel relative to root
 * ("" for root itself). */
struct seen {
	const char	*root;
	struct list	 got;
	int		 calls, stop_at;
	const char	*unlink_at;	/* when reporting this, remove victims */
	const char	*victims[4];
};

static void
list_add(struct list *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
			abort();
	}
	if ((l->v[l->n++] = strdup(s)) == NULL)
		abort();
}

static int
list_has(const struct list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void
list_free(struct list *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks that got and want hold the same strings, printing the
 * differences. */
static void
check_same(struct list *got, struct list *want)
{
	size_t i;

	qsort(got->v, got->n, sizeof(*got->v), cmp_str);
	qsort(want->v, want->n, sizeof(*want->v), cmp_str);
	for (i = 0; i < got->n; i++)
		if (!list_has(want, got->v[i]))
			fprintf(stderr, "unexpected: %s\n", got->v[i]);
	for (i = 0; i < want->n; i++)
		if (!list_has(got, want->v[i]))
			fprintf(stderr, "missing: %s\n", want->v[i]);
	CHECK(got->n == want->n);
	for (i = 0; i < got->n && i < want->n; i++)
		CHECK(strcmp(got->v[i], want->v[i]) == 0);
}

static int
record(void *arg, const char *path, const struct stat *st, int is_dir)
{
	struct seen *s = arg;
	size_t rootlen = strlen(s->root);
	char entry[PATH_MAX + 2], parent[PATH_MAX + 2], victim[PATH_MAX];
	const char *rel = path + rootlen, *slash;
	int i;

	CHECK(strncmp(path, s->root, rootlen) == 0);
	CHECK(strlen(path) < PATH_MAX);
	CHECK(is_dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode));
	snprintf(entry, sizeof(entry), "%c %s", is_dir ? 'D' : 'F', rel);
	CHECK(!list_has(&s->got, entry));
	/* Directories come before their contents. */
	if ((slash = strrchr(rel, '/')) != NULL) {
		snprintf(parent, sizeof(parent), "D %.*s", (int)(slash - rel),
		    rel);
		CHECK(list_has(&s->got, parent));
	} else
		CHECK(is_dir && *rel == '\0');
	list_add(&s->got, entry);
	if (s->unlink_at != NULL && strcmp(rel, s->unlink_at) == 0)
		for (i = 0; i < 4 && s->victims[i] != NULL; i++) {
			snprintf(victim, sizeof(victim), "%s%s", s->root,
			    s->victims[i]);
			CHECK(remove(victim) == 0);
		}
	return ++s->calls == s->stop_at ? 42 : 0;
}

static void
mkfile(const char *root, const char *rel)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if ((f = fopen(path, "w")) == NULL || fputs("data", f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
mkdirs(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (mkdir(path, 0755) == -1) {
		perror(path);
		exit(1);
	}
}

static void
mklink(const char *target, const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (symlink(target, path) == -1) {
		perror(path);
		exit(1);
	}
}

static void
mkfileat(int dfd, const char *name)
{
	int fd;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1) {
		perror(name);
		exit(1);
	}
	close(fd);
}

static void
mkdirat_or_die(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0755) == -1) {
		perror(name);
		exit(1);
	}
}

/* Builds /long/... down to paths near PATH_MAX: a file whose path is
 * PATH_MAX - 1 bytes long (reported), a file and a directory one byte
 * longer (skipped). Adds what a scan should report to want. */
static void
build_long(const char *root, struct list *want)
{
	char rel[PATH_MAX + 2] = "/long", name[NAME_MAX + 1];
	char entry[PATH_MAX + NAME_MAX + 8];
	size_t rootlen = strlen(root), rem, c, len;
	int fd, sub;

	mkdirs(root, rel);
	list_add(want, "D /long");
	snprintf(entry, sizeof(entry), "%s%s", root, rel);
	if ((fd = open(entry, O_RDONLY | O_DIRECTORY)) == -1) {
		perror(entry);
		exit(1);
	}
	while ((rem = PATH_MAX - rootlen - strlen(rel)) > 250) {
		c = rem - 151 < 200 ? rem - 151 : 200;
		memset(name, 'n', c);
		name[c] = '\0';
		mkdirat_or_die(fd, name);
		if ((sub = openat(fd, name, O_RDONLY | O_DIRECTORY)) == -1) {
			perror(name);
			exit(1);
		}
		close(fd);
		fd = sub;
		len = strlen(rel);
		snprintf(rel + len, sizeof(rel) - len, "/%s", name);
		snprintf(entry, sizeof(entry), "D %s", rel);
		list_add(want, entry);
	}
	/* root + rel + "/" + name is PATH_MAX - 1 bytes for rem - 2. */
	memset(name, 'f', rem - 2);
	memcpy(name + rem - 6, ".mp3", 5);
	mkfileat(fd, name);
	snprintf(entry, sizeof(entry), "F %s/%s", rel, name);
	CHECK(rootlen + strlen(entry) - 2 == PATH_MAX - 1);
	list_add(want, entry);
	memset(name, 'g', rem - 1);
	memcpy(name + rem - 5, ".mp3", 5);
	mkfileat(fd, name);
	memset(name, 'd', rem - 1);
	name[rem - 1] = '\0';
	mkdirat_or_die(fd, name);
	if ((sub = openat(fd, name, O_RDONLY | O_DIRECTORY)) == -1) {
		perror(name);
		exit(1);
	}
	mkfileat(sub, "inside.mp3");
	close(sub);
	close(fd);
}

static const char *const excludes[] = { "excl", "*/sub/deep/skip*",
    "*.bak.*" };

/* The tree of the main tests, with what a scan without following
 * symlinks reports in want and what following them adds in follow. */
static int
build_tree(const char *root, const char *outside, struct list *want,
    struct list *follow)
{
	static const char *const plain[] = {
		"D ", "F /.hidden.ogg", "F /B.FLAC", "F /a.mp3",
		"F /caf\xe9.mp3", "D /sub", "F /sub/c.opus", "D /sub/deep",
		"F /sub/deep/d.m4a", "D /\xff\xfe", "F /\xff\xfe/h.wav",
	};
	char path[PATH_MAX], longname[NAME_MAX + 1];
	size_t i;
	int fd, bypass;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (plain[i][0] == 'D' && plain[i][2] != '\0')
			mkdirs(root, plain[i] + 2);
		else if (plain[i][0] == 'F')
			mkfile(root, plain[i] + 2);
		list_add(want, plain[i]);
	}
	memset(longname, 'L', NAME_MAX - 4);
	memcpy(longname + NAME_MAX - 4, ".mp3", 5);
	CHECK(strlen(longname) == 255);
	snprintf(path, sizeof(path), "F /%s", longname);
	mkfile(root, path + 2);
	list_add(want, path);

	mkfile(root, "/cover.jpg");
	mkfile(root, "/noext");
	mkfile(root, "/song.bak.mp3");
	mkfile(root, "/sub/deep/skip.mp3");
	mkdirs(root, "/excl");
	mkfile(root, "/excl/f.mp3");
	snprintf(path, sizeof(path), "%s/x.mp3", root);
	CHECK(mkfifo(path, 0644) == 0);
	mklink("..", root, "/sub/loop");
	mklink("sub", root, "/twice");
	mklink("a.mp3", root, "/link.mp3");
	mklink("/dev/zero", root, "/zero.mp3");
	mklink("nowhere", root, "/dangling.mp3");
	mklink(outside, root, "/out");
	mkfile(outside, "/e.mp3");
	mklink(root, outside, "/back");
	list_add(follow, "F /link.mp3");
	list_add(follow, "D /out");
	list_add(follow, "F /out/e.mp3");

	build_long(root, want);

	/* Root reads any directory: then the locked one is scanned. */
	mkdirs(root, "/locked");
	mkfile(root, "/locked/g.mp3");
	snprintf(path, sizeof(path), "%s/locked", root);
	CHECK(chmod(path, 0) == 0);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) != -1)
		close(fd);
	if ((bypass = fd != -1)) {
		list_add(want, "D /locked");
		list_add(want, "F /locked/g.mp3");
	}
	return bypass;
}

static void
scan_and_check(const char *root, int follow, struct list *want)
{
	struct mtag_scan_opts o = { follow, (char *const *)excludes, 3 };
	struct seen s = { .root = root };
	char err[256] = "";

	CHECK(mtag_scan(root, &o, record, &s, err, sizeof(err)) == 0);
	CHECK(err[0] == '\0');
	check_same(&s.got, want);
	list_free(&s.got);
}

static void
test_tree(void)
{
	char root[] = "/tmp/mtag-scan-XXXXXX", outside[] = "/tmp/mtag-out-XXXXXX";
	char cmd[128], slashed[64], err[256];
	struct list want = { 0 }, follow = { 0 };
	struct seen s = { .root = root, .stop_at = 3 };
	size_t i;
	int bypass;

	CHECK(mkdtemp(root) != NULL && mkdtemp(outside) != NULL);
	bypass = build_tree(root, outside, &want, &follow);
	fprintf(stderr, "unreadable directories are %s\n",
	    bypass ? "readable here (root): scanned" : "skipped");

	scan_and_check(root, 0, &want);
	for (i = 0; i < follow.n; i++)
		list_add(&want, follow.v[i]);
	scan_and_check(root, 1, &want);

	/* A non-zero return of fn stops the walk. */
	CHECK(mtag_scan(root, NULL, record, &s, err, sizeof(err)) == 42);
	CHECK(s.calls == 3 && s.got.n == 3);
	list_free(&s.got);

	/* Trailing slashes do not double. */
	snprintf(slashed, sizeof(slashed), "%s//", root);
	s.calls = 0;
	s.stop_at = 1;
	CHECK(mtag_scan(slashed, NULL, record, &s, err, sizeof(err)) == 42);
	CHECK(s.got.n == 1 && strcmp(s.got.v[0], "D ") == 0);
	list_free(&s.got);

	snprintf(cmd, sizeof(cmd), "chmod 755 %s/locked; rm -rf %s %s", root,
	    root, outside);
	CHECK(system(cmd) == 0);
	list_free(&want);
	list_free(&follow);
}

static void
test_vanishing(void)
{
	char root[] = "/tmp/mtag-scan-XXXXXX", cmd[64], err[256] = "";
	struct seen s = { .root = root, .unlink_at = "/vanish/a1.mp3",
	    .victims = { "/vanish/a2.mp3", "/vanish2/z.mp3", "/vanish2" } };
	struct list want = { 0 };

	CHECK(mkdtemp(root) != NULL);
	mkdirs(root, "/vanish");
	mkfile(root, "/vanish/a1.mp3");
	mkfile(root, "/vanish/a2.mp3");
	mkdirs(root, "/vanish2");
	mkfile(root, "/vanish2/z.mp3");
	CHECK(mtag_scan(root, NULL, record, &s, err, sizeof(err)) == 0);
	list_add(&want, "D ");
	list_add(&want, "D /vanish");
	list_add(&want, "F /vanish/a1.mp3");
	check_same(&s.got, &want);
	list_free(&s.got);
	list_free(&want);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

static void
test_root_errors(void)
{
	char root[] = "/tmp/mtag-scan-XXXXXX", path[64], err[256];
	char *const ex[] = { "mtag-scan-*" };
	struct mtag_scan_opts o = { 0, ex, 1 };
	struct seen s = { .root = root };
	int fd;

	CHECK(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/missing", root);
	CHECK(mtag_scan(path, NULL, record, &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, path) == err && strstr(err, strerror(ENOENT)));

	snprintf(path, sizeof(path), "%s/file", root);
	mkfile(root, "/file");
	CHECK(mtag_scan(path, NULL, record, &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, path) == err && strstr(err, strerror(ENOTDIR)));

	snprintf(path, sizeof(path), "%s/locked", root);
	mkdirs(root, "/locked");
	CHECK(chmod(path, 0) == 0);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) == -1) {
		CHECK(mtag_scan(path, NULL, record, &s, err, sizeof(err)) == -1);
		CHECK(strstr(err, path) == err &&
		    strstr(err, strerror(EACCES)));
	} else
		close(fd);
	CHECK(s.calls == 0);

	/* An excluded root yields nothing. */
	CHECK(mtag_scan(root, &o, record, &s, err, sizeof(err)) == 0);
	CHECK(s.calls == 0);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	CHECK(system(path) == 0);
}

static void
test_names(void)
{
	static const char *const yes[] = { "a.mp3", "A.MP3", "b.Flac",
	    ".mp3", "x.tar.ogg", "t.opus", "t.m4b", "t.aiff", "t.dsf",
	    "t.WV", "t.mka" };
	static const char *const no[] = { "mp3", "a.", "a.mp3.txt",
	    "a.flac ", "a.jpg", "a", "a.mp33", "" };
	char *const ex[] = { "*.bak", "*/tmp/*", "[.]*" };
	struct mtag_scan_opts o = { 0, ex, 3 };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(mtag_scan_is_audio(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!mtag_scan_is_audio(no[i]));
	CHECK(mtag_scan_excluded(&o, "/m/a.bak"));
	CHECK(mtag_scan_excluded(&o, "/m/tmp/a.mp3"));
	CHECK(mtag_scan_excluded(&o, "/m/x/.hidden"));
	CHECK(!mtag_scan_excluded(&o, "/m/tmpx/a.mp3"));
	CHECK(!mtag_scan_excluded(&o, "/m/a.mp3"));
	CHECK(!mtag_scan_excluded(NULL, "/m/a.bak"));
}

int
main(void)
{
	test_names();
	test_tree();
	test_vanishing();
	test_root_errors();
	return test_failures ? 1 : 0;
}

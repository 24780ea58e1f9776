/* Tests the configuration of mtagd: defaults, the file, the command line,
 * their precedence, validation messages, reload and print. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "log.h"
#include "testutil.h"

static char tmp[PATH_MAX];	/* the test's folder, resolved */
static char err[1024];

static int
vload(struct mtag_conf *c, va_list ap)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = "mtagd";
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	err[0] = '\0';
	return mtag_conf_load(c, argc, argv, err, sizeof(err));
}

/* Loads c from the command line "mtagd ARG...", the ARGs ending with
 * NULL. */
static int
load(struct mtag_conf *c, ...)
{
	va_list ap;
	int r;

	va_start(ap, c);
	r = vload(c, ap);
	va_end(ap);
	if (r == 2)
		fprintf(stderr, "load: %s\n", err);
	return r;
}

/* Checks that loading from the command line fails with expect in the
 * message. */
static void
fails(int line, const char *expect, ...)
{
	struct mtag_conf c;
	va_list ap;
	int r;

	va_start(ap, expect);
	r = vload(&c, ap);
	va_end(ap);
	if (r != 2 || strstr(err, expect) == NULL) {
		fprintf(stderr, "%s:%d: expected \"%s\", got %d \"%s\"\n",
		    __FILE__, line, expect, r, err);
		test_failures++;
	}
	if (r == 0)
		mtag_conf_free(&c);
}
#define FAILS(...) fails(__LINE__, __VA_ARGS__, (char *)NULL)

/* Writes text to the file name under tmp; returns its path (static). */
static char *
write_file(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static char *
tmp_path(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return path;
}

static int
same_list(char **a, int na, char **b, int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int
same_conf(const struct mtag_conf *a, const struct mtag_conf *b)
{
	return same_list(a->libraries, a->nlibraries, b->libraries,
	    b->nlibraries) && same_list(a->exclude, a->nexclude, b->exclude,
	    b->nexclude) && strcmp(a->db_path, b->db_path) == 0 &&
	    strcmp(a->model, b->model) == 0 && a->workers == b->workers &&
	    a->rescan_interval == b->rescan_interval &&
	    a->follow_symlinks == b->follow_symlinks &&
	    a->log_level == b->log_level && a->tag_top_n == b->tag_top_n &&
	    a->tag_min_score == b->tag_min_score &&
	    a->tag_sure_score == b->tag_sure_score &&
	    same_list(a->tag_thresholds, a->ntag_thresholds,
	    b->tag_thresholds, b->ntag_thresholds);
}

static void
test_defaults(void)
{
	struct mtag_conf c;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char path[PATH_MAX + 64];

	if (load(&c, NULL) != 0) {
		test_failures++;
		return;
	}
	CHECK(c.nlibraries == 0 && c.libraries == NULL);
	CHECK(c.nexclude == 0);
	CHECK(strcmp(c.db_path, tmp_path("data/mtag/library.db")) == 0);
	CHECK(strcmp(c.model, "musicnn-mtat") == 0);
	CHECK(c.workers == (ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu));
	CHECK(c.rescan_interval == 86400);
	CHECK(c.follow_symlinks == 0);
	CHECK(c.log_level == MTAG_LOG_INFO);
	CHECK(c.tag_top_n == 5 && c.tag_min_score == 0.1 &&
	    c.tag_sure_score == 0.5 && c.ntag_thresholds == 0);
	CHECK(c.config_path == NULL);
	CHECK(c.foreground == 0 && c.check_only == 0 && c.cmdline == 0);
	mtag_conf_free(&c);
	CHECK(c.db_path == NULL && c.model == NULL);

	/* The default file, read when it exists. */
	mkdir(tmp_path("config"), 0700);
	mkdir(tmp_path("config/mtag"), 0700);
	snprintf(path, sizeof(path), "%s",
	    write_file("config/mtag/mtag.conf", "workers = 3\n"));
	if (load(&c, NULL) == 0) {
		CHECK(c.workers == 3);
		CHECK(c.config_path && strcmp(c.config_path, path) == 0);
		mtag_conf_free(&c);
	}
	unlink(path);

	/* The database in the data folder of the model store. */
	setenv("MTAG_DATA_DIR", tmp_path("store"), 1);
	if (load(&c, NULL) == 0) {
		CHECK(strcmp(c.db_path, tmp_path("store/library.db")) == 0);
		mtag_conf_free(&c);
	}
	setenv("MTAG_DATA_DIR", "relative", 1);
	if (chdir(tmp) == 0 && load(&c, NULL) == 0) {
		CHECK(strcmp(c.db_path, tmp_path("relative/library.db")) == 0);
		mtag_conf_free(&c);
	}
	unsetenv("MTAG_DATA_DIR");
	if (chdir("/") != 0)
		perror("/");
}

static void
test_file(void)
{
	static char *libs[] = { "/srv/music", "/home/a/Music", "/" };
	static char *excl[] = { "*.part", "Pod casts # not a comment" };
	static char *thresholds[] = { "female vocal:0.3", "rock : 1" };
	struct mtag_conf c;
	char *path;

	path = write_file("all.conf",
	    "# every option\n"
	    "   # an indented comment\n"
	    "\n"
	    "library = /srv/music/\n"
	    "library=/home/a/Music\n"
	    "\tlibrary =\t/ \t\n"
	    "database = /var/lib/mtag/x.db\n"
	    "model = fcn-msd\n"
	    "workers = 7\r\n"
	    "exclude = *.part\n"
	    "exclude = Pod casts # not a comment\n"
	    "rescan_interval = 15m\n"
	    "follow_symlinks = yes\n"
	    "tag_top_n = 3\n"
	    "tag_min_score = 0.05\n"
	    "tag_sure_score = .4\n"
	    "tag_threshold = female vocal:0.3\n"
	    "tag_threshold = rock : 1\n"
	    "log_level = debug");
	if (load(&c, "-c", path, NULL) != 0) {
		test_failures++;
		return;
	}
	CHECK(same_list(c.libraries, c.nlibraries, libs, 3));
	CHECK(same_list(c.exclude, c.nexclude, excl, 2));
	CHECK(strcmp(c.db_path, "/var/lib/mtag/x.db") == 0);
	CHECK(strcmp(c.model, "fcn-msd") == 0);
	CHECK(c.workers == 7);
	CHECK(c.rescan_interval == 900);
	CHECK(c.follow_symlinks == 1);
	CHECK(c.log_level == MTAG_LOG_DEBUG);
	CHECK(c.tag_top_n == 3 && c.tag_min_score == 0.05 &&
	    c.tag_sure_score == 0.4);
	CHECK(same_list(c.tag_thresholds, c.ntag_thresholds, thresholds, 2));
	CHECK(strcmp(c.config_path, path) == 0);
	mtag_conf_free(&c);

	path = write_file("model.conf", "model = /models/mine.pth\n");
	if (load(&c, "-c", path, NULL) == 0) {
		CHECK(strcmp(c.model, "/models/mine.pth") == 0);
		mtag_conf_free(&c);
	}
}

static void
test_command_line(void)
{
	char *libs[2], *excl[] = { "*.part", "*.tmp" };
	char *path, m1[PATH_MAX + 64], m2[PATH_MAX + 64];
	struct mtag_conf c;

	mkdir(tmp_path("m1"), 0700);
	mkdir(tmp_path("m2"), 0700);
	path = write_file("cl.conf",
	    "library = /a\nlibrary = /b\nexclude = *.part\nexclude = *.tmp\n"
	    "workers = 3\nmodel = x\ndatabase = /f.db\nlog_level = error\n");

	/* Repeated options replace the file's; the others override it. */
	if (chdir(tmp) != 0)
		perror(tmp);
	if (load(&c, "-c", "cl.conf", "--library", "m1", "--library",
	    "./m2/", "--workers", "5", "--model", "y", "--db", "rel.db",
	    "-fnv", NULL) == 0) {
		snprintf(m1, sizeof(m1), "%s", tmp_path("m1"));
		snprintf(m2, sizeof(m2), "%s", tmp_path("m2"));
		libs[0] = m1;
		libs[1] = m2;
		CHECK(same_list(c.libraries, c.nlibraries, libs, 2));
		CHECK(same_list(c.exclude, c.nexclude, excl, 2));
		CHECK(c.workers == 5);
		CHECK(strcmp(c.model, "y") == 0);
		CHECK(strcmp(c.db_path, tmp_path("rel.db")) == 0);
		CHECK(strcmp(c.config_path, path) == 0);
		CHECK(c.foreground == 1 && c.check_only == 1);
		CHECK(c.log_level == MTAG_LOG_DEBUG);
		mtag_conf_free(&c);
	}
	if (load(&c, "--model", "sub/ckpt.pth", "-v", "-v", NULL) == 0) {
		CHECK(strcmp(c.model, tmp_path("sub/ckpt.pth")) == 0);
		CHECK(c.log_level == MTAG_LOG_DEBUG);
		CHECK(c.foreground == 0 && c.check_only == 0);
		mtag_conf_free(&c);
	}

	FAILS("nosuch: No such file or directory", "--library", "nosuch");
	write_file("plain", "");
	FAILS("plain: Not a directory", "--library", "plain");
	FAILS("nope.conf: No such file or directory", "-c", "nope.conf");
	FAILS(": Is a directory", "-c", tmp);
	FAILS("--workers: '0' is out of range (1..256)", "--workers", "0");
	FAILS("--workers: 'many' is not a number", "--workers", "many");
	FAILS("unknown option '--wokers' (did you mean '--workers'?)",
	    "--wokers", "2");
	FAILS("unknown option '--colour'", "--colour=red");
	FAILS("unknown option '-x'", "-x");
	FAILS("--db: missing value", "--db");
	FAILS("-c: missing value", "-c");
	FAILS("--model: missing value", "--model", "");
	FAILS("--version: takes no value", "--version=2");
	FAILS("unexpected argument 'extra'", "-f", "extra");
	if (chdir("/") != 0)
		perror("/");
}

static void
test_durations(void)
{
	static const struct {
		const char *text;
		int seconds;
	} good[] = {
		{ "30s", 30 }, { "15m", 900 }, { "24h", 86400 },
		{ "2d", 172800 }, { "45", 45 }, { "0", 0 }, { "0d", 0 },
		{ "365d", 365 * 86400 },
	};
	static const char *bad[] = { "5x", "h", "5 m", "1.5h", "5ms", "" };
	static const char *out[] = { "366d", "-1s", "99999999999999999999d",
	    "31536001" };
	struct mtag_conf c;
	char line[64], expect[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "rescan_interval = %s\n",
		    good[i].text);
		if (load(&c, "-c", write_file("d.conf", line), NULL) == 0) {
			CHECK(c.rescan_interval == good[i].seconds);
			mtag_conf_free(&c);
		} else
			test_failures++;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "rescan_interval = %s\n", bad[i]);
		snprintf(expect, sizeof(expect), *bad[i] ?
		    "d.conf:1: rescan_interval: '%s' is not a duration "
		    "(such as 30s, 15m, 24h or 2d)" :
		    "d.conf:1: rescan_interval: missing value", bad[i]);
		FAILS(expect, "-c", write_file("d.conf", line));
	}
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		snprintf(line, sizeof(line), "rescan_interval = %s\n", out[i]);
		snprintf(expect, sizeof(expect), "d.conf:1: rescan_interval: "
		    "'%s' is out of range (0..365d)", out[i]);
		FAILS(expect, "-c", write_file("d.conf", line));
	}
}

static void
test_file_errors(void)
{
	static const struct {
		const char *text, *expect;
	} bad[] = {
		{ "\n\nworkers = 0\n",
		    "t.conf:3: workers: '0' is out of range (1..256)" },
		{ "workers = 257\n",
		    "t.conf:1: workers: '257' is out of range (1..256)" },
		{ "workers = 4x\n", "t.conf:1: workers: '4x' is not a number" },
		{ "workers = 2 # two\n",
		    "t.conf:1: workers: '2 # two' is not a number" },
		{ "library = music\n",
		    "t.conf:1: library: 'music' is not an absolute path" },
		{ "database = x.db\n",
		    "t.conf:1: database: 'x.db' is not an absolute path" },
		{ "model = models/x.pth\n",
		    "t.conf:1: model: 'models/x.pth' is not an absolute path" },
		{ "follow_symlinks = maybe\n",
		    "t.conf:1: follow_symlinks: 'maybe' is not no or yes" },
		{ "log_level = loud\n", "t.conf:1: log_level: 'loud' is not "
		    "error, warn, info or debug" },
		{ "# fine\nworkers\n", "t.conf:2: expected 'option = value'" },
		{ " = 4\n", "t.conf:1: expected 'option = value'" },
		{ "workers =  \n", "t.conf:1: workers: missing value" },
		{ "library = /a\nworkers = 2\nworkers = 3\n",
		    "t.conf:3: workers: already set on line 2" },
		{ "wokers = 2\n",
		    "t.conf:1: unknown option 'wokers' (did you mean 'workers'?)" },
		{ "log-level = info\n", "t.conf:1: unknown option 'log-level' "
		    "(did you mean 'log_level'?)" },
		{ "db = /x.db\n",
		    "t.conf:1: unknown option 'db' (did you mean 'database'?)" },
		{ "Library = /x\n", "t.conf:1: unknown option 'Library' "
		    "(did you mean 'library'?)" },
		{ "tag_top_n = 0\n",
		    "t.conf:1: tag_top_n: '0' is out of range (1..1000)" },
		{ "tag_min_score = 1.5\n", "t.conf:1: tag_min_score: '1.5' is "
		    "not a score from 0 to 1" },
		{ "tag_sure_score = -0.1\n", "t.conf:1: tag_sure_score: "
		    "'-0.1' is not a score from 0 to 1" },
		{ "tag_sure_score = half\n", "t.conf:1: tag_sure_score: 'half' "
		    "is not a score from 0 to 1" },
		{ "tag_threshold = rock\n", "t.conf:1: tag_threshold: "
		    "'rock' is not TAG:SCORE, a tag and a score from 0 to 1" },
		{ "tag_threshold = :0.5\n", "t.conf:1: tag_threshold: "
		    "':0.5' is not TAG:SCORE" },
		{ "tag_threshold = rock:2\n", "t.conf:1: tag_threshold: "
		    "'rock:2' is not TAG:SCORE" },
		{ "tag_threshold = rock:\n", "t.conf:1: tag_threshold: "
		    "'rock:' is not TAG:SCORE" },
		{ "tag_min_scor = 0.1\n", "t.conf:1: unknown option "
		    "'tag_min_scor' (did you mean 'tag_min_score'?)" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		FAILS(bad[i].expect, "-c", write_file("t.conf", bad[i].text));
	/* No suggestion when nothing is near. */
	FAILS("t.conf:1: unknown option 'colour'", "-c",
	    write_file("t.conf", "colour = red\n"));
	CHECK(strstr(err, "did you mean") == NULL);
}

/* Runs a load printing on stdout into the file out; returns its result. */
static int
load_captured(const char *out, const char *arg)
{
	struct mtag_conf c;
	int fd, saved, r;

	fflush(stdout);
	saved = dup(1);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
		perror(out);
		exit(1);
	}
	dup2(fd, 1);
	close(fd);
	r = load(&c, arg, NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	if (r == 0)
		mtag_conf_free(&c);
	return r;
}

static int
file_contains(const char *path, const char *s)
{
	char buf[8192];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, s) != NULL;
}

static void
test_tag_score(void)
{
	char tag[16];
	double score;

	CHECK(mtag_conf_tag_score("female vocal : 0.25", tag, sizeof(tag),
	    &score) == 0);
	CHECK(strcmp(tag, "female vocal") == 0 && score == 0.25);
	CHECK(mtag_conf_tag_score("a:b:1", tag, sizeof(tag), &score) == 0);
	CHECK(strcmp(tag, "a:b") == 0 && score == 1);
	CHECK(mtag_conf_tag_score("rock", tag, sizeof(tag), &score) == -1);
	CHECK(mtag_conf_tag_score("rock:1.1", tag, sizeof(tag), &score) ==
	    -1);
	CHECK(mtag_conf_tag_score("a very long tag name:0.5", tag, sizeof(tag),
	    &score) == -1);
}

static void
test_help(void)
{
	char *out = tmp_path("stdout");

	CHECK(load_captured(out, "--version") == 1);
	CHECK(file_contains(out, "mtagd " PACKAGE_VERSION "\n"));
	CHECK(load_captured(out, "-h") == 1);
	CHECK(file_contains(out, "usage: mtagd [-fnv] [-c file] "
	    "[--library dir]..."));
	CHECK(file_contains(out, "--workers n"));
	CHECK(file_contains(out, "rescan_interval = duration"));
	CHECK(file_contains(out, "(default 24h)"));
	CHECK(file_contains(out, "log_level = error|warn|info|debug"));
	CHECK(file_contains(out, "tag_min_score = score"));
	CHECK(file_contains(out, "(default 0.1)"));
	CHECK(file_contains(out, "tag_threshold = tag:score"));
	CHECK(load_captured(out, "--help") == 1);
}

static void
test_reload(void)
{
	struct mtag_conf c, old, n;
	char *path, *def;

	if (chdir(tmp) != 0)
		perror(tmp);
	path = write_file("r.conf", "workers = 3\nmodel = a\nlibrary = /x\n"
	    "log_level = error\n");
	if (load(&c, "-c", "r.conf", "--workers", "5", "--db", "rel.db",
	    "-v", NULL) != 0) {
		test_failures++;
		return;
	}
	CHECK(c.workers == 5 && strcmp(c.model, "a") == 0);
	/* Command-line paths were resolved: reload works from elsewhere. */
	if (chdir("/") != 0)
		perror("/");
	write_file("r.conf", "workers = 4\nmodel = b\nlibrary = /y\n"
	    "library = /z\nrescan_interval = 1h\n");
	old = c;
	if (mtag_conf_reload(&old, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "reload: %s\n", err);
		test_failures++;
	} else {
		CHECK(c.workers == 5);
		CHECK(strcmp(c.db_path, tmp_path("rel.db")) == 0);
		CHECK(strcmp(c.model, "b") == 0);
		CHECK(c.nlibraries == 2 && strcmp(c.libraries[1], "/z") == 0);
		CHECK(c.rescan_interval == 3600);
		CHECK(c.log_level == MTAG_LOG_DEBUG);
		CHECK(strcmp(c.config_path, path) == 0);
		CHECK(c.cmdline == old.cmdline);
		mtag_conf_free(&old);
	}

	/* A bad file leaves the configuration as it was. */
	write_file("r.conf", "model = c\nworkers = 0\n");
	old = c;
	CHECK(mtag_conf_reload(&c, &c, err, sizeof(err)) == 2);
	CHECK(strstr(err, "r.conf:2: workers: '0' is out of range") != NULL);
	CHECK(memcmp(&old, &c, sizeof(c)) == 0);
	CHECK(strcmp(c.model, "b") == 0);
	unlink(path);
	CHECK(mtag_conf_reload(&c, &c, err, sizeof(err)) == 2);
	CHECK(strstr(err, "r.conf: No such file or directory") != NULL);
	CHECK(memcmp(&old, &c, sizeof(c)) == 0);
	mtag_conf_free(&c);

	/* Without -c, the default file is looked for again. */
	if (load(&c, "--workers", "6", NULL) != 0) {
		test_failures++;
		return;
	}
	CHECK(c.config_path == NULL);
	def = write_file("config/mtag/mtag.conf", "workers = 2\nmodel = d\n");
	if (mtag_conf_reload(&c, &n, err, sizeof(err)) == 0) {
		CHECK(n.workers == 6 && strcmp(n.model, "d") == 0);
		CHECK(n.config_path && strcmp(n.config_path, def) == 0);
		mtag_conf_free(&n);
	} else
		test_failures++;
	unlink(def);
	mtag_conf_free(&c);
}

static void
test_print(void)
{
	struct mtag_conf c, p;
	char *out = tmp_path("printed.conf");
	FILE *f;

	if (load(&c, "-c", write_file("p.conf", "library = /srv/music\n"
	    "library = /home/a/My Music\nexclude = *.part\n"
	    "rescan_interval = 90\nfollow_symlinks = yes\n"
	    "log_level = warn\nmodel = /m/best_model.pth\n"
	    "tag_sure_score = 0.35\ntag_threshold = female vocal:0.3\n"
	    "tag_threshold = piano:0.05\n"), "--workers",
	    "9", NULL) != 0) {
		test_failures++;
		return;
	}
	if ((f = fopen(out, "w")) == NULL) {
		perror(out);
		exit(1);
	}
	mtag_conf_print(&c, f);
	fclose(f);
	CHECK(file_contains(out, "library = /srv/music\n"
	    "library = /home/a/My Music\n"));
	CHECK(file_contains(out, "rescan_interval = 90s\n"));
	CHECK(file_contains(out, "workers = 9\n"));
	CHECK(file_contains(out, "tag_top_n = 5\ntag_min_score = 0.1\n"
	    "tag_sure_score = 0.35\ntag_threshold = female vocal:0.3\n"
	    "tag_threshold = piano:0.05\n"));
	if (load(&p, "-c", out, NULL) == 0) {
		CHECK(same_conf(&c, &p));
		mtag_conf_free(&p);
	} else
		test_failures++;
	mtag_conf_free(&c);

	/* The defaults too. */
	if (load(&c, NULL) != 0) {
		test_failures++;
		return;
	}
	if ((f = fopen(out, "w")) == NULL) {
		perror(out);
		exit(1);
	}
	mtag_conf_print(&c, f);
	fclose(f);
	CHECK(file_contains(out, "rescan_interval = 1d\n"));
	CHECK(file_contains(out, "follow_symlinks = no\n"));
	if (load(&p, "-c", out, NULL) == 0) {
		CHECK(same_conf(&c, &p));
		mtag_conf_free(&p);
	} else
		test_failures++;
	mtag_conf_free(&c);
}

/* The example shipped is valid. Run first, from the build folder. */
static void
test_example(void)
{
	char path[PATH_MAX];
	const char *srcdir = getenv("srcdir");
	struct mtag_conf c;

	snprintf(path, sizeof(path), "%s/etc/mtag.conf.example",
	    srcdir ? srcdir : ".");
	if (load(&c, "-c", path, NULL) == 0) {
		CHECK(c.nlibraries == 2 && c.nexclude == 2);
		mtag_conf_free(&c);
	} else
		test_failures++;
}

int
main(void)
{
	char dir[] = "/tmp/test_config.XXXXXX", cmd[PATH_MAX + 16];

	if (mkdtemp(dir) == NULL || realpath(dir, tmp) == NULL) {
		perror(dir);
		return 1;
	}
	setenv("XDG_CONFIG_HOME", tmp_path("config"), 1);
	setenv("XDG_DATA_HOME", tmp_path("data"), 1);
	unsetenv("MTAG_DATA_DIR");

	test_example();
	test_defaults();
	test_file();
	test_command_line();
	test_durations();
	test_file_errors();
	test_tag_score();
	test_help();
	test_reload();
	test_print();

	if (test_failures != 0) {
		fprintf(stderr, "%d check(s) failed; files left in %s\n",
		    test_failures, tmp);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : 1;
}

/* The configuration of mtagd: the option table, and the configuration file
 * and command-line parsers it drives. */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "distance.h"
#include "error.h"
#include "log.h"
#include "store.h"
#include "writeback.h"

#define F(field)	offsetof(struct mtag_conf, field)
#define DAY		(24 * 3600)
#define LONGBASE	256	/* getopt_long values of long-only options */

/* In the order of --help and the manuals: the command line's short options,
 * its long ones, then the options of the file only. */
enum {
	OPT_CONFIG, OPT_FOREGROUND, OPT_CHECK, OPT_VERBOSE, OPT_HELP,
	OPT_LIBRARY, OPT_DATABASE, OPT_MODEL, OPT_WORKERS, OPT_VERSION,
	OPT_EXCLUDE, OPT_RESCAN, OPT_SYMLINKS, OPT_LOG_LEVEL, OPT_TAG_TOP_N,
	OPT_TAG_MIN, OPT_TAG_SURE, OPT_TAG_THRESHOLD, OPT_WRITEBACK, OPT_GENRE,
	NOPTS
};

static const char *const levels[] = {
	[MTAG_LOG_ERROR] = "error", [MTAG_LOG_WARN] = "warn",
	[MTAG_LOG_INFO] = "info", [MTAG_LOG_DEBUG] = "debug", NULL
};
static const char *const noyes[] = { "no", "yes", NULL };
static const char *const writeback_modes[] = {
	[MTAG_WRITEBACK_OFF] = "off", [MTAG_WRITEBACK_NEW] = "new",
	[MTAG_WRITEBACK_ALL] = "all", NULL
};
static const char *const genre_policies[] = {
	[MTAG_GENRE_KEEP] = "keep", [MTAG_GENRE_FILL] = "fill",
	[MTAG_GENRE_REPLACE] = "replace", [MTAG_GENRE_APPEND] = "append", NULL
};

const struct mtag_conf_opt mtag_conf_opts[NOPTS] = {
	[OPT_CONFIG] = { .shortopt = 'c', .type = MTAG_CONF_FILE,
	    .off = F(config_path), .arg = "file",
	    .help = "read this configuration file",
	    .man = "Read the configuration from\n"
	    ".Ar file ,\n"
	    "which must exist, instead of\n"
	    ".Pa $XDG_CONFIG_HOME/mtag/mtag.conf ." },
	[OPT_FOREGROUND] = { .shortopt = 'f', .type = MTAG_CONF_SET,
	    .off = F(foreground), .min = 1,
	    .help = "stay in the foreground",
	    .man = "Stay in the foreground and log to the standard error." },
	[OPT_CHECK] = { .shortopt = 'n', .type = MTAG_CONF_SET,
	    .off = F(check_only), .min = 1,
	    .help = "check the configuration and exit",
	    .man = "Check the configuration, print\n"
	    ".Dq configuration OK\n"
	    "and exit; with\n"
	    ".Fl v ,\n"
	    "print the configuration first." },
	[OPT_VERBOSE] = { .shortopt = 'v', .type = MTAG_CONF_SET,
	    .off = F(log_level), .min = MTAG_LOG_DEBUG,
	    .help = "log debugging messages (log_level = debug)",
	    .man = "Log debugging messages, as with\n"
	    ".Ic log_level Cm debug ." },
	[OPT_HELP] = { .longopt = "help", .shortopt = 'h',
	    .type = MTAG_CONF_HELP,
	    .help = "print this help and exit",
	    .man = "Print a summary of the options and exit." },
	[OPT_LIBRARY] = { .key = "library", .longopt = "library",
	    .type = MTAG_CONF_DIR, .repeat = 1, .off = F(libraries),
	    .countoff = F(nlibraries), .arg = "dir",
	    .help = "index the audio files below dir (repeatable)",
	    .man = "A library folder: the audio files below it are indexed.\n"
	    "It is scanned at start and every\n"
	    ".Ic rescan_interval ,\n"
	    "and watched for changes in between.\n"
	    "Repeat the option for several folders." },
	[OPT_DATABASE] = { .key = "database", .longopt = "db",
	    .type = MTAG_CONF_PATH, .off = F(db_path), .arg = "file",
	    .help = "the library database",
	    .man = "The SQLite database of the library, created when missing.\n"
	    "The default is\n"
	    ".Pa library.db\n"
	    "in the data folder:\n"
	    ".Pa $MTAG_DATA_DIR ,\n"
	    "else\n"
	    ".Pa $XDG_DATA_HOME/mtag ,\n"
	    "else\n"
	    ".Pa ~/.local/share/mtag ." },
	[OPT_MODEL] = { .key = "model", .longopt = "model",
	    .type = MTAG_CONF_MODEL, .off = F(model), .arg = "name",
	    .def = MTAG_STORE_DEFAULT,
	    .help = "model name or checkpoint file",
	    .man = "The tagging model: the name of a model installed with\n"
	    ".Xr mtagctl 1 ,\n"
	    "or a checkpoint file, as for its\n"
	    ".Fl -model\n"
	    "option." },
	[OPT_WORKERS] = { .key = "workers", .longopt = "workers",
	    .type = MTAG_CONF_INT, .off = F(workers), .min = 1, .max = 256,
	    .arg = "n",
	    .help = "analysis threads (default: one per CPU)",
	    .man = "The number of threads analysing tracks with the model.\n"
	    "The default is the number of processors online." },
	[OPT_VERSION] = { .longopt = "version", .type = MTAG_CONF_VERSION,
	    .help = "print the version and exit",
	    .man = "Print the version and exit." },
	[OPT_EXCLUDE] = { .key = "exclude", .type = MTAG_CONF_GLOB,
	    .repeat = 1, .off = F(exclude), .countoff = F(nexclude),
	    .arg = "glob",
	    .help = "skip files and folders matching glob (repeatable)",
	    .man = "Skip the files and folders whose path or name matches the\n"
	    ".Xr fnmatch 3\n"
	    "pattern\n"
	    ".Ar glob ,\n"
	    "such as\n"
	    ".Ql *.part\n"
	    "or\n"
	    ".Ql Podcasts ;\n"
	    ".Ql *\n"
	    "matches\n"
	    ".Ql /\n"
	    "too.\n"
	    "Repeat the option for several patterns." },
	[OPT_RESCAN] = { .key = "rescan_interval",
	    .type = MTAG_CONF_DURATION, .off = F(rescan_interval),
	    .min = 0, .max = 365 * DAY, .def = "24h", .arg = "duration",
	    .help = "time between rescans, 0: never",
	    .man = "The time between two scans of the library folders, which\n"
	    "catch the changes that watching missed:\n"
	    "a number of seconds, optionally followed by the unit\n"
	    ".Cm s ,\n"
	    ".Cm m ,\n"
	    ".Cm h\n"
	    "or\n"
	    ".Cm d .\n"
	    ".Cm 0\n"
	    "disables rescans." },
	[OPT_SYMLINKS] = { .key = "follow_symlinks", .type = MTAG_CONF_ENUM,
	    .off = F(follow_symlinks), .names = noyes, .def = "no",
	    .help = "follow symbolic links",
	    .man = "Whether to follow symbolic links below the library\n"
	    "folders; a folder is never entered twice." },
	[OPT_LOG_LEVEL] = { .key = "log_level", .type = MTAG_CONF_ENUM,
	    .off = F(log_level), .names = levels, .def = "info",
	    .help = "the most verbose messages logged",
	    .man = "The most verbose messages logged: to the standard error in\n"
	    "the foreground, else to\n"
	    ".Xr syslog 3 ." },
	[OPT_TAG_TOP_N] = { .key = "tag_top_n", .type = MTAG_CONF_INT,
	    .off = F(tag_top_n), .min = 1, .max = 1000, .def = "5",
	    .arg = "n",
	    .help = "a queried tag holds for a track among its n best",
	    .man = "A tag named alone in a query of\n"
	    ".Xr mtagctl 1\n"
	    "holds for a track when it is among the track's\n"
	    ".Ar n\n"
	    "best tags and scores at least\n"
	    ".Ic tag_min_score ,\n"
	    "or when it scores at least\n"
	    ".Ic tag_sure_score .\n"
	    "Synonyms count as one tag, with the best score among them." },
	[OPT_TAG_MIN] = { .key = "tag_min_score", .type = MTAG_CONF_SCORE,
	    .off = F(tag_min_score), .def = "0.1", .arg = "score",
	    .help = "... scoring at least this (0 to 1)",
	    .man = "The score, from 0 to 1, that a tag among a track's\n"
	    ".Ic tag_top_n\n"
	    "best needs to hold." },
	[OPT_TAG_SURE] = { .key = "tag_sure_score", .type = MTAG_CONF_SCORE,
	    .off = F(tag_sure_score), .def = "0.5", .arg = "score",
	    .help = "... or from this score, whatever its rank",
	    .man = "The score, from 0 to 1, from which a tag holds whatever\n"
	    "its rank among the track's tags." },
	[OPT_TAG_THRESHOLD] = { .key = "tag_threshold",
	    .type = MTAG_CONF_TAG_SCORE, .repeat = 1,
	    .off = F(tag_thresholds), .countoff = F(ntag_thresholds),
	    .arg = "tag:score",
	    .help = "the tag holds from this score alone (repeatable)",
	    .man = "Gives\n"
	    ".Ar tag\n"
	    "a threshold of its own: it holds for the tracks where it scores\n"
	    "at least\n"
	    ".Ar score ,\n"
	    "from 0 to 1, whatever its rank, as in\n"
	    ".Ql tag_threshold = female vocal:0.3 .\n"
	    "Repeat the option for several tags." },
	[OPT_WRITEBACK] = { .key = "writeback", .type = MTAG_CONF_ENUM,
	    .off = F(writeback), .names = writeback_modes, .def = "off",
	    .help = "write the tags into the files after analysis",
	    .man = "Whether mtagd writes the tags of each analysis into the\n"
	    "file, as\n"
	    ".Ic mtagctl writeback\n"
	    "does:\n"
	    ".Cm off ,\n"
	    ".Cm new\n"
	    "(files it has not written before) or\n"
	    ".Cm all ." },
	[OPT_GENRE] = { .key = "genre", .type = MTAG_CONF_ENUM,
	    .off = F(genre), .names = genre_policies, .def = "fill",
	    .help = "what tag writing does to a file's genre",
	    .man = "What writing the tags does to a file's genre:\n"
	    ".Cm keep\n"
	    "it,\n"
	    ".Cm fill\n"
	    "it when the file has none,\n"
	    ".Cm replace\n"
	    "it, or\n"
	    ".Cm append\n"
	    "the genres it lacks." },
};
const int mtag_conf_nopts = NOPTS;

static const char units[] = "smhd";
static const int unit_seconds[] = { 1, 60, 3600, DAY };

static char **
strp(const struct mtag_conf *c, const struct mtag_conf_opt *o)
{
	return (char **)((char *)c + o->off);
}

static char ***
listp(const struct mtag_conf *c, const struct mtag_conf_opt *o)
{
	return (char ***)((char *)c + o->off);
}

static int *
intp(const struct mtag_conf *c, size_t off)
{
	return (int *)((char *)c + off);
}

static double *
doublep(const struct mtag_conf *c, const struct mtag_conf_opt *o)
{
	return (double *)((char *)c + o->off);
}

static int
is_string(const struct mtag_conf_opt *o)
{
	return o->type == MTAG_CONF_DIR || o->type == MTAG_CONF_PATH ||
	    o->type == MTAG_CONF_MODEL || o->type == MTAG_CONF_GLOB ||
	    o->type == MTAG_CONF_FILE || o->type == MTAG_CONF_TAG_SCORE;
}

int
mtag_conf_has_arg(const struct mtag_conf_opt *o)
{
	return o->type != MTAG_CONF_SET && o->type != MTAG_CONF_HELP &&
	    o->type != MTAG_CONF_VERSION;
}

void
mtag_conf_format(const struct mtag_conf_opt *o, int v, char *buf,
    size_t len)
{
	int i;

	if (o->type == MTAG_CONF_ENUM) {
		snprintf(buf, len, "%s", o->names[v]);
		return;
	}
	if (o->type == MTAG_CONF_DURATION && v != 0) {
		for (i = sizeof(unit_seconds) / sizeof(unit_seconds[0]) - 1;
		    v % unit_seconds[i] != 0; i--)
			;
		snprintf(buf, len, "%d%c", v / unit_seconds[i], units[i]);
		return;
	}
	snprintf(buf, len, "%d", v);
}

/* Parses a decimal integer, followed by a unit for a duration, into *v,
 * saturating on overflow. Returns 0, or -1 when s is not one. */
static int
parse_int(const char *s, int duration, long long *v)
{
	const char *u;
	char *end;
	long long m;

	*v = strtoll(s, &end, 10);
	if (end == s)
		return -1;
	if (*end == '\0')
		return 0;
	if (!duration || end[1] != '\0' || (u = strchr(units, *end)) == NULL)
		return -1;
	m = unit_seconds[u - units];
	*v = *v > LLONG_MAX / m ? LLONG_MAX : *v < LLONG_MIN / m ? LLONG_MIN :
	    *v * m;
	return 0;
}

/* Parses a score from 0 to 1 into *v. Returns 0, or -1 when s is not
 * one. */
static int
parse_score(const char *s, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return end == s || *end != '\0' || !(*v >= 0 && *v <= 1) ? -1 : 0;
}

int
mtag_conf_tag_score(const char *v, char *tag, size_t len, double *score)
{
	const char *colon = strrchr(v, ':');
	size_t n;

	if (colon == NULL || parse_score(colon + 1, score) == -1)
		return -1;
	for (n = colon - v; n > 0 && isspace((unsigned char)v[n - 1]); n--)
		;
	if (n == 0 || n >= len)
		return -1;
	memcpy(tag, v, n);
	tag[n] = '\0';
	return 0;
}

/* A copy of path, prefixed with the current folder when relative; NULL
 * with errno set on failure. */
static char *
absolute(const char *path)
{
	char *cwd, *s;
	size_t len;

	if (path[0] == '/')
		return strdup(path);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return NULL;
	len = strlen(cwd) + 1 + strlen(path) + 1;
	if ((s = malloc(len)) != NULL)
		snprintf(s, len, "%s/%s", cwd, path);
	free(cwd);
	return s;
}

/* Checks the string value v of o into *out, a copy. Paths must be
 * absolute in the file (where is "FILE:LINE"); on the command line (where
 * is NULL) they are made so, folders resolved with realpath(3). */
static int
string_value(const struct mtag_conf_opt *o, const char *v, const char *where,
    const char *name, char **out, char *err, size_t errlen)
{
	struct stat st;
	char tag[256];
	double score;
	size_t n;

	if (o->type == MTAG_CONF_TAG_SCORE && mtag_conf_tag_score(v, tag,
	    sizeof(tag), &score) == -1)
		return mtag_seterr(err, errlen, where, "%s: '%s' is not "
		    "TAG:SCORE, a tag and a score from 0 to 1", name,
		    v);
	if (o->type == MTAG_CONF_GLOB || o->type == MTAG_CONF_TAG_SCORE ||
	    (o->type == MTAG_CONF_MODEL && strchr(v, '/') == NULL))
		*out = strdup(v);
	else if (where != NULL && v[0] != '/')
		return mtag_seterr(err, errlen, where,
		    "%s: '%s' is not an absolute path", name, v);
	else if (where != NULL && o->type == MTAG_CONF_DIR) {
		if ((*out = strdup(v)) != NULL)
			for (n = strlen(*out); n > 1 && (*out)[n - 1] == '/'; n--)
				(*out)[n - 1] = '\0';
	} else if (o->type == MTAG_CONF_DIR || o->type == MTAG_CONF_FILE) {
		if ((*out = realpath(v, NULL)) == NULL)
			return mtag_seterr(err, errlen, v, "%s",
			    strerror(errno));
		if (o->type == MTAG_CONF_DIR && stat(*out, &st) == 0 &&
		    !S_ISDIR(st.st_mode)) {
			free(*out);
			return mtag_seterr(err, errlen, v, "%s",
			    strerror(ENOTDIR));
		}
	} else
		*out = absolute(v);
	if (*out == NULL)
		return mtag_seterr(err, errlen, v, "%s", strerror(errno));
	return 0;
}

/* The names of the enum o joined into buf: the last after last, the others
 * after sep. */
static const char *
join_names(const struct mtag_conf_opt *o, const char *sep, const char *last,
    char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; o->names[i] != NULL && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i == 0 ? "" :
		    o->names[i + 1] != NULL ? sep : last, o->names[i]);
	return buf;
}

/* Sets the option o of c from the text v, read at where ("FILE:LINE") or
 * on the command line (where NULL) as name. Returns 0, or -1 with a
 * message in err. */
static int
set_value(struct mtag_conf *c, const struct mtag_conf_opt *o, const char *v,
    const char *where, const char *name, char *err, size_t errlen)
{
	char lo[32], hi[32], names[64], **list, *s = NULL;
	long long n;
	int i, *count;

	if (!mtag_conf_has_arg(o)) {
		*intp(c, o->off) = o->min;
		return 0;
	}
	if (*v == '\0')
		return mtag_seterr(err, errlen, where, "%s: missing value",
		    name);
	if (is_string(o)) {
		if (string_value(o, v, where, name, &s, err, errlen) == -1)
			return -1;
		if (!o->repeat) {
			free(*strp(c, o));
			*strp(c, o) = s;
			return 0;
		}
		count = intp(c, o->countoff);
		if ((list = realloc(*listp(c, o),
		    (*count + 1) * sizeof(*list))) == NULL) {
			free(s);
			return mtag_seterr(err, errlen, where, "out of memory");
		}
		list[(*count)++] = s;
		*listp(c, o) = list;
		return 0;
	}
	if (o->type == MTAG_CONF_ENUM) {
		for (i = 0; o->names[i] != NULL; i++)
			if (strcmp(v, o->names[i]) == 0) {
				*intp(c, o->off) = i;
				return 0;
			}
		return mtag_seterr(err, errlen, where, "%s: '%s' is not %s",
		    name, v, join_names(o, ", ", " or ", names, sizeof(names)));
	}
	if (o->type == MTAG_CONF_SCORE) {
		if (parse_score(v, doublep(c, o)) == -1)
			return mtag_seterr(err, errlen, where,
			    "%s: '%s' is not a score from 0 to 1", name, v);
		return 0;
	}
	if (parse_int(v, o->type == MTAG_CONF_DURATION, &n) == -1)
		return mtag_seterr(err, errlen, where, "%s: '%s' is not %s",
		    name, v, o->type == MTAG_CONF_DURATION ?
		    "a duration (such as 30s, 15m, 24h or 2d)" : "a number");
	if (n < o->min || n > o->max) {
		mtag_conf_format(o, o->min, lo, sizeof(lo));
		mtag_conf_format(o, o->max, hi, sizeof(hi));
		return mtag_seterr(err, errlen, where,
		    "%s: '%s' is out of range (%s..%s)", name, v, lo, hi);
	}
	*intp(c, o->off) = n;
	return 0;
}

/* Copies the value of the option o from src into dst. */
static int
copy_value(struct mtag_conf *dst, const struct mtag_conf *src,
    const struct mtag_conf_opt *o, char *err, size_t errlen)
{
	char **from, **to;
	int i, n;

	if (o->type == MTAG_CONF_SCORE) {
		*doublep(dst, o) = *doublep(src, o);
		return 0;
	}
	if (!is_string(o)) {
		*intp(dst, o->off) = *intp(src, o->off);
		return 0;
	}
	if (!o->repeat) {
		free(*strp(dst, o));
		if ((*strp(dst, o) = strdup(*strp(src, o))) == NULL)
			return mtag_seterr(err, errlen, NULL, "out of memory");
		return 0;
	}
	n = *intp(src, o->countoff);
	from = *listp(src, o);
	if ((to = calloc(n, sizeof(*to))) == NULL)
		return mtag_seterr(err, errlen, NULL, "out of memory");
	for (i = 0; i < n; i++)
		if ((to[i] = strdup(from[i])) == NULL) {
			while (i-- > 0)
				free(to[i]);
			free(to);
			return mtag_seterr(err, errlen, NULL, "out of memory");
		}
	for (i = 0; i < *intp(dst, o->countoff); i++)
		free((*listp(dst, o))[i]);
	free(*listp(dst, o));
	*listp(dst, o) = to;
	*intp(dst, o->countoff) = n;
	return 0;
}

/* The file key (or long option, when longopts) closest to word, matching it
 * against keys and long options, or NULL when none is near. */
static const char *
closest(const char *word, int longopts)
{
	const struct mtag_conf_opt *o;
	const char *best = NULL, *name, *cand;
	int i, k, d, bestd = 3;

	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if ((name = longopts ? o->longopt : o->key) == NULL)
			continue;
		for (k = 0; k < 2; k++) {
			if ((cand = k == 0 ? o->key : o->longopt) == NULL)
				continue;
			d = mtag_distance(word, cand);
			if (d < bestd && d < (int)strlen(cand)) {
				bestd = d;
				best = name;
			}
		}
	}
	return best;
}

/* Parses one line of the file at where ("FILE:LINE"); seen[i] is the line
 * number that set option i. */
static int
parse_line(struct mtag_conf *c, char *line, const char *where, int lineno,
    int *seen, char *err, size_t errlen)
{
	const struct mtag_conf_opt *o;
	const char *hint;
	char *key, *eq, *v, *end;
	int i;

	for (key = line; isspace((unsigned char)*key); key++)
		;
	if (*key == '\0' || *key == '#')
		return 0;
	if ((eq = strchr(key, '=')) == NULL || eq == key)
		return mtag_seterr(err, errlen, where,
		    "expected 'option = value'");
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	for (end = v + strlen(v); end > v && isspace((unsigned char)end[-1]);
	    end--)
		;
	*end = '\0';
	for (end = eq; isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	for (i = 0; i < NOPTS; i++)
		if (mtag_conf_opts[i].key != NULL &&
		    strcmp(mtag_conf_opts[i].key, key) == 0)
			break;
	if (i == NOPTS) {
		if ((hint = closest(key, 0)) != NULL)
			return mtag_seterr(err, errlen, where, "unknown option "
			    "'%s' (did you mean '%s'?)", key, hint);
		return mtag_seterr(err, errlen, where, "unknown option '%s'",
		    key);
	}
	o = &mtag_conf_opts[i];
	if (!o->repeat && seen[i] != 0)
		return mtag_seterr(err, errlen, where,
		    "%s: already set on line %d", key, seen[i]);
	seen[i] = lineno;
	return set_value(c, o, v, where, key, err, errlen);
}

/* Reads the configuration file path into c. A missing file is an error
 * only when required. */
static int
read_file(struct mtag_conf *c, const char *path, int required, char *err,
    size_t errlen)
{
	FILE *f;
	char *line = NULL, where[PATH_MAX + 16];
	size_t cap = 0;
	ssize_t n;
	int seen[NOPTS] = { 0 }, lineno = 0, r = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !required)
			return 0;
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	}
	if ((c->config_path = strdup(path)) == NULL)
		r = mtag_seterr(err, errlen, NULL, "out of memory");
	while (r == 0 && (n = getline(&line, &cap, f)) != -1) {
		snprintf(where, sizeof(where), "%s:%d", path, ++lineno);
		if (memchr(line, '\0', n) != NULL)
			r = mtag_seterr(err, errlen, where, "NUL byte in the "
			    "line (not a text file?)");
		else
			r = parse_line(c, line, where, lineno, seen, err,
			    errlen);
	}
	if (r == 0 && ferror(f))
		r = mtag_seterr(err, errlen, path, "%s", strerror(errno));
	free(line);
	fclose(f);
	return r;
}

/* The default configuration file; -1 when there is none. */
static int
default_file(char *buf, size_t len)
{
	const char *v;
	int n;

	if ((v = getenv("XDG_CONFIG_HOME")) != NULL && *v == '/')
		n = snprintf(buf, len, "%s/mtag/mtag.conf", v);
	else if ((v = getenv("HOME")) != NULL && *v != '\0')
		n = snprintf(buf, len, "%s/.config/mtag/mtag.conf", v);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Sets the defaults that depend on the system: the database in the data
 * folder, which holds the model store, and a worker per processor. */
static int
computed_defaults(struct mtag_conf *c, char *err, size_t errlen)
{
	const struct mtag_conf_opt *w = &mtag_conf_opts[OPT_WORKERS];
	char dir[PATH_MAX], path[PATH_MAX + 16];
	long n;

	if (c->workers == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n < w->min ? w->min : n > w->max ? w->max : n;
	}
	if (c->db_path != NULL)
		return 0;
	if (mtag_store_dir(dir, sizeof(dir), NULL, 0) == -1)
		return mtag_seterr(err, errlen, NULL, "database: no default: set "
		    "it, or MTAG_DATA_DIR, XDG_DATA_HOME or HOME");
	*strrchr(dir, '/') = '\0';
	snprintf(path, sizeof(path), "%s/library.db", dir);
	if ((c->db_path = absolute(path)) == NULL)
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	return 0;
}

int
mtag_conf_reload(const struct mtag_conf *old, struct mtag_conf *c,
    char *err, size_t errlen)
{
	const struct mtag_conf_opt *o;
	struct mtag_conf n = { 0 };
	char path[PATH_MAX];
	int i, r = 0;

	for (i = 0; r == 0 && i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (o->def != NULL)
			r = set_value(&n, o, o->def, "default", o->key, err,
			    errlen);
	}
	if (r == 0 && old->cmdline & 1u << OPT_CONFIG)
		r = read_file(&n, old->config_path, 1, err, errlen);
	else if (r == 0 && default_file(path, sizeof(path)) == 0)
		r = read_file(&n, path, 0, err, errlen);
	for (i = 0; r == 0 && i < NOPTS; i++)
		if (old->cmdline & 1u << i && i != OPT_CONFIG)
			r = copy_value(&n, old, &mtag_conf_opts[i], err,
			    errlen);
	if (r == 0)
		r = computed_defaults(&n, err, errlen);
	if (r != 0) {
		mtag_conf_free(&n);
		return 2;
	}
	n.cmdline = old->cmdline;
	*c = n;
	return 0;
}

/* The spelling of option o on the command line into buf. */
static const char *
flag_name(const struct mtag_conf_opt *o, char *buf, size_t len)
{
	if (o->longopt != NULL)
		snprintf(buf, len, "--%s", o->longopt);
	else
		snprintf(buf, len, "-%c", o->shortopt);
	return buf;
}

/* Prints an item of the usage line, wrapping it; returns the column. */
static int
usage_item(int col, const char *item)
{
	if (col + 1 + (int)strlen(item) > 79) {
		printf("\n%12s", "");
		col = 12;
	}
	return col + printf(" %s", item);
}

/* Prints a line of --help: what, then o's help and default. */
static void
help_line(const char *what, const struct mtag_conf_opt *o)
{
	if (strlen(what) > 22)
		printf("  %s\n%25s%s", what, "", o->help);
	else
		printf("  %-22s %s", what, o->help);
	if (o->def != NULL)
		printf(" (default %s)", o->def);
	putchar('\n');
}

static void
usage(void)
{
	const struct mtag_conf_opt *o;
	char item[80], arg[64];
	size_t n = 0;
	int i, col;

	for (i = 0; i < NOPTS; i++)
		if (mtag_conf_opts[i].type == MTAG_CONF_SET)
			item[n++] = mtag_conf_opts[i].shortopt;
	item[n] = '\0';
	col = printf("usage: mtagd [-%s]", item);
	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (!mtag_conf_has_arg(o) ||
		    (o->shortopt == 0 && o->longopt == NULL))
			continue;
		snprintf(item, sizeof(item), "[%s %s]%s",
		    flag_name(o, arg, sizeof(arg)), o->arg,
		    o->repeat ? "..." : "");
		col = usage_item(col, item);
	}
	printf("\n       mtagd");
	for (i = 0, n = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (o->type != MTAG_CONF_HELP && o->type != MTAG_CONF_VERSION)
			continue;
		if (o->shortopt != 0)
			printf("%s -%c", n++ ? " |" : "", o->shortopt);
		if (o->longopt != NULL)
			printf("%s --%s", n++ ? " |" : "", o->longopt);
	}
	printf("\n\noptions:\n");
	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (o->shortopt != 0 && o->longopt != NULL)
			snprintf(item, sizeof(item), "-%c, --%s", o->shortopt,
			    o->longopt);
		else if (o->shortopt != 0 || o->longopt != NULL)
			flag_name(o, item, sizeof(item));
		else
			continue;
		if (mtag_conf_has_arg(o))
			snprintf(item + strlen(item), sizeof(item) -
			    strlen(item), " %s", o->arg);
		help_line(item, o);
	}
	printf("\nconfiguration file options (mtag.conf(5)), overridden by "
	    "the options above:\n");
	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (o->key == NULL)
			continue;
		snprintf(item, sizeof(item), "%s = %s", o->key,
		    o->type == MTAG_CONF_ENUM ?
		    join_names(o, "|", "|", arg, sizeof(arg)) : o->arg);
		help_line(item, o);
	}
}

/* The index of the option getopt_long returned as ch, or -1. */
static int
option_index(int ch)
{
	int i;

	if (ch >= LONGBASE)
		return ch - LONGBASE;
	for (i = 0; i < NOPTS; i++)
		if (ch != 0 && mtag_conf_opts[i].shortopt == ch)
			return i;
	return -1;
}

/* The error of getopt_long returning ch ('?' or ':') at argument arg. */
static int
getopt_error(int ch, const char *arg, char *err, size_t errlen)
{
	char word[64], name[64];
	const char *hint;
	int i = option_index(optopt);

	if (ch == ':')
		return mtag_seterr(err, errlen, NULL, "%s: missing value",
		    flag_name(&mtag_conf_opts[i], name, sizeof(name)));
	if (i >= 0)
		return mtag_seterr(err, errlen, NULL, "%s: takes no value",
		    flag_name(&mtag_conf_opts[i], name, sizeof(name)));
	if (optopt != 0)
		return mtag_seterr(err, errlen, NULL, "unknown option '-%c'",
		    optopt);
	snprintf(word, sizeof(word), "%s", arg + 2);
	word[strcspn(word, "=")] = '\0';
	if ((hint = closest(word, 1)) != NULL)
		return mtag_seterr(err, errlen, NULL, "unknown option '--%s' "
		    "(did you mean '--%s'?)", word, hint);
	return mtag_seterr(err, errlen, NULL, "unknown option '--%s'", word);
}

/* Parses argv into c, setting c->cmdline. Returns 0, 1 when --help or
 * --version was printed, or 2 with a message in err. */
static int
parse_args(struct mtag_conf *c, int argc, char **argv, char *err,
    size_t errlen)
{
	const struct mtag_conf_opt *o;
	struct option longopts[NOPTS + 1] = { 0 };
	char shortopts[2 * NOPTS + 3] = "+:", *s = shortopts + 2, name[64];
	int i, ch, nlong = 0, saved_opterr = opterr, r = 0;

	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (o->shortopt != 0) {
			*s++ = o->shortopt;
			if (mtag_conf_has_arg(o))
				*s++ = ':';
		}
		if (o->longopt != NULL)
			longopts[nlong++] = (struct option){ o->longopt,
			    mtag_conf_has_arg(o) ? required_argument : no_argument,
			    NULL, o->shortopt != 0 ? o->shortopt : LONGBASE + i };
	}
	*s = '\0';
	opterr = 0;
	optind = 0;
	while (r == 0 &&
	    (ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			r = getopt_error(ch, argv[optind - 1], err, errlen);
			continue;
		}
		i = option_index(ch);
		o = &mtag_conf_opts[i];
		c->cmdline |= 1u << i;
		if (o->type == MTAG_CONF_HELP) {
			usage();
			r = 1;
		} else if (o->type == MTAG_CONF_VERSION) {
			printf("mtagd %s\n", PACKAGE_VERSION);
			r = 1;
		} else
			r = set_value(c, o, optarg, NULL,
			    flag_name(o, name, sizeof(name)), err, errlen);
	}
	if (r == 0 && optind < argc)
		r = mtag_seterr(err, errlen, NULL, "unexpected argument '%s'",
		    argv[optind]);
	opterr = saved_opterr;
	return r == -1 ? 2 : r;
}

int
mtag_conf_load(struct mtag_conf *c, int argc, char **argv, char *err,
    size_t errlen)
{
	struct mtag_conf cl = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = parse_args(&cl, argc, argv, err, errlen)) == 0)
		r = mtag_conf_reload(&cl, c, err, errlen);
	mtag_conf_free(&cl);
	return r;
}

void
mtag_conf_print(const struct mtag_conf *c, FILE *f)
{
	const struct mtag_conf_opt *o;
	const char *v;
	char buf[32];
	size_t n;
	int i, j;

	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (o->key == NULL)
			continue;
		if (o->repeat) {
			for (j = 0; j < *intp(c, o->countoff); j++) {
				v = (*listp(c, o))[j];
				/* The file's syntax trims a value: a folder
				 * ending in a blank keeps a '/' after it. */
				n = strlen(v);
				fprintf(f, "%s = %s%s\n", o->key, v,
				    o->type == MTAG_CONF_DIR && n > 0 &&
				    isspace((unsigned char)v[n - 1]) ? "/" : "");
			}
		} else if (is_string(o)) {
			if (*strp(c, o) != NULL)
				fprintf(f, "%s = %s\n", o->key, *strp(c, o));
		} else if (o->type == MTAG_CONF_SCORE) {
			fprintf(f, "%s = %.15g\n", o->key, *doublep(c, o));
		} else {
			mtag_conf_format(o, *intp(c, o->off), buf,
			    sizeof(buf));
			fprintf(f, "%s = %s\n", o->key, buf);
		}
	}
}

void
mtag_conf_free(struct mtag_conf *c)
{
	const struct mtag_conf_opt *o;
	int i, j;

	for (i = 0; i < NOPTS; i++) {
		o = &mtag_conf_opts[i];
		if (!is_string(o))
			continue;
		if (o->repeat) {
			for (j = 0; j < *intp(c, o->countoff); j++)
				free((*listp(c, o))[j]);
			free(*listp(c, o));
		} else
			free(*strp(c, o));
	}
	memset(c, 0, sizeof(*c));
}

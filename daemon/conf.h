/* The configuration of mtagd: one declarative table of options drives the
 * config file parser, the command line, validation, --help and the
 * manuals mtagd(8) and mtag.conf(5). */
#ifndef MTAG_CONF_H
#define MTAG_CONF_H

#include <stddef.h>
#include <stdio.h>

/* What mtagd writes into the files after analysis. */
enum { MTAG_WRITEBACK_OFF, MTAG_WRITEBACK_NEW, MTAG_WRITEBACK_ALL };

struct mtag_conf {
	char **libraries;	/* library roots, absolute */
	int nlibraries;
	char *db_path;		/* absolute */
	char *model;		/* model name, or absolute checkpoint file */
	int workers;		/* analysis threads */
	char **exclude;		/* fnmatch(3) globs */
	int nexclude;
	int rescan_interval;	/* seconds between reconciliation scans, 0:
				   never */
	int follow_symlinks;
	int log_level;		/* MTAG_LOG_* */
	/* When a bare tag holds in mtagctl's queries: see mtag.conf(5). */
	int tag_top_n;
	double tag_min_score, tag_sure_score;
	char **tag_thresholds;	/* "TAG:SCORE" */
	int ntag_thresholds;
	int writeback;		/* MTAG_WRITEBACK_* */
	int genre;		/* MTAG_GENRE_* of writeback.h */

	/* Command line only. */
	char *config_path;	/* the file read (absolute), or NULL when none */
	int foreground;
	int check_only;
	unsigned cmdline;	/* bit i: mtag_conf_opts[i] was given */
};

/* Fills c from the defaults, then the configuration file (-c FILE, else
 * $XDG_CONFIG_HOME/mtag/mtag.conf or ~/.config/mtag/mtag.conf when it
 * exists), then the command line argv, which takes precedence; a
 * repeatable option given on the command line replaces the file's values.
 * Relative paths on the command line are made absolute. Returns 0; 1 when
 * --help or --version was printed on stdout; 2 with a message in err
 * (naming the file and line for file errors) on invalid input. c is to be
 * freed with mtag_conf_free when 0 is returned, and is left empty
 * otherwise. */
int mtag_conf_load(struct mtag_conf *c, int argc, char **argv, char *err,
    size_t errlen);

/* Re-reads the configuration file, for SIGHUP: the -c file of old, else
 * the default file (which may have appeared or vanished since), the
 * command-line values of old taking precedence as they did. Works after a
 * chdir: old holds them resolved. On success fills c, overwriting it
 * without freeing it (c may be old when the caller kept a copy of *old to
 * compare and free). Returns 0, or 2 with a message in err and c
 * unchanged. */
int mtag_conf_reload(const struct mtag_conf *old, struct mtag_conf *c,
    char *err, size_t errlen);

/* Prints the configuration in the config file's syntax: every option of the
 * file, one a line. */
void mtag_conf_print(const struct mtag_conf *c, FILE *f);

/* Frees what c holds and empties it. */
void mtag_conf_free(struct mtag_conf *c);

/* --- The option table, which mkconfman turns into the manuals ------- */

enum mtag_conf_type {
	MTAG_CONF_DIR,		/* an absolute folder */
	MTAG_CONF_PATH,		/* an absolute file */
	MTAG_CONF_MODEL,	/* a model name, or a file when it has a '/' */
	MTAG_CONF_GLOB,		/* any string */
	MTAG_CONF_INT,		/* a number from min to max */
	MTAG_CONF_DURATION,	/* seconds from min to max, written 30s, 15m,
				   24h, 2d or 30 */
	MTAG_CONF_ENUM,		/* one of names, stored as its index */
	MTAG_CONF_SCORE,	/* a number from 0 to 1, stored as a double */
	MTAG_CONF_TAG_SCORE,	/* a string "TAG:SCORE", TAG not empty and
				   SCORE as for MTAG_CONF_SCORE */
	/* Command line only, without an argument unless noted. */
	MTAG_CONF_SET,		/* stores min into its int field */
	MTAG_CONF_FILE,		/* the configuration file, an argument */
	MTAG_CONF_HELP,
	MTAG_CONF_VERSION,
};

struct mtag_conf_opt {
	const char *key;	/* in the file; NULL: command line only */
	const char *longopt;	/* on the command line after "--", or NULL */
	int shortopt;		/* on the command line after "-", or 0 */
	enum mtag_conf_type type;
	int repeat;		/* a list: off is a char ** counted by the int
				   at countoff */
	size_t off, countoff;	/* fields of struct mtag_conf */
	int min, max;		/* the range of INT and DURATION */
	const char *const *names;	/* ENUM: NULL-terminated */
	const char *def;	/* the default in the file's syntax; NULL when
				   none or computed (see man) */
	const char *arg;	/* the value's name in --help and the manuals
				   (ENUM: NULL, its names are shown) */
	const char *help;	/* one line for --help */
	const char *man;	/* mdoc lines for the manuals */
};

/* The options in the order of --help and the manuals. */
extern const struct mtag_conf_opt mtag_conf_opts[];
extern const int mtag_conf_nopts;

/* Whether o takes a value (all but SET, HELP and VERSION do). */
int mtag_conf_has_arg(const struct mtag_conf_opt *o);

/* Splits v, the value of a TAG_SCORE option, into its tag (into tag, len
 * bytes) and *score. Returns 0, or -1 when v is not one or the tag does
 * not fit. */
int mtag_conf_tag_score(const char *v, char *tag, size_t len, double *score);

/* Writes v, the value of an INT, DURATION or ENUM option, in the file's
 * syntax: durations in their largest whole unit. */
void mtag_conf_format(const struct mtag_conf_opt *o, int v, char *buf,
    size_t len);

#endif

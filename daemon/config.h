/* The configuration of mtagd: one declarative table of options drives the
 * config file parser, the command line, validation, --help and the
 * mtag.conf(5) manual. */
#ifndef MTAG_CONFIG_H
#define MTAG_CONFIG_H

#include <stdio.h>

struct mtag_config {
	char **libraries;	/* library roots, absolute */
	int nlibraries;
	char *db_path;
	char *model;		/* model name or checkpoint file */
	int workers;		/* analysis threads */
	char **exclude;		/* fnmatch(3) globs */
	int nexclude;
	int rescan_interval;	/* seconds between reconciliation scans */
	int follow_symlinks;
	int log_level;		/* MTAG_LOG_* */

	/* Command line only. */
	char *config_path;	/* the file read, or NULL when none */
	int foreground;
	int check_only;
};

/* Fills c from the defaults, then the configuration file (-c FILE, else
 * $XDG_CONFIG_HOME/mtag/mtag.conf when it exists), then the command line
 * argv, which take precedence. Returns 0; 1 when --help or --version was
 * printed; 2 with a message in err (naming the file and line for file
 * errors) on invalid input. */
int mtag_config_load(struct mtag_config *c, int argc, char **argv,
    char *err, size_t errlen);

/* Re-reads the configuration file with the same command line, for SIGHUP.
 * On error c is unchanged. Returns 0 or 2 with a message in err. */
int mtag_config_reload(struct mtag_config *c, int argc, char **argv,
    char *err, size_t errlen);

/* Prints the effective configuration in the config file's syntax. */
void mtag_config_print(const struct mtag_config *c, FILE *f);

void mtag_config_free(struct mtag_config *c);

#endif

/* mtagctl: the command line of mtag. Parses the global options and hands
 * the rest to one command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "commands.h"
#include "conf.h"
#include "log.h"

static const char *opt_db, *opt_config;

static const struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *synopsis;
} commands[] = {
	{ "tag", cmd_tag, "tag [--model NAME|FILE] [--dataset D] [--arch A] "
	    "[--top N] [--json] FILE..." },
	{ "infer", cmd_infer, "infer --model NAME|FILE [--arch A] "
	    "--pcm-f32 FILE --chunk-starts N[,N...]\n"
	    "        [--probs OUT.npy] [--embedding OUT.npy]" },
	{ "bench", cmd_bench, "bench [--model NAME|FILE]... [--chunks N] "
	    "[--runs N] [--threads N]" },
	{ "model", cmd_model, "model fetch|install|list|remove ..." },
	{ "query", cmd_query, "query [--model NAME] [--sort FIELD[+|-],...] "
	    "[--limit N] [--count]\n"
	    "        [--format FMT | --json | --m3u] EXPR..." },
	{ "similar", cmd_similar, "similar [--model NAME] [-n N] [--where EXPR] "
	    "[--format FMT | --json | --m3u]\n"
	    "        TRACK" },
	{ "show", cmd_show, "show [--model NAME] [--json] TRACK" },
	{ "tags", cmd_tags, "tags [--model NAME] [--json]" },
	{ "export", cmd_export, "export [--model NAME] [--csv | --json] "
	    "[EXPR...]" },
	{ "writeback", cmd_writeback, "writeback [--model NAME] [--genre POLICY] "
	    "[--touch] [--dry-run] [EXPR]\n"
	    "        | writeback --undo[=RUN] [--dry-run]" },
	{ "status", cmd_status, "status [--json]" },
	{ "scan", cmd_control, "scan" },
	{ "pause", cmd_control, "pause" },
	{ "resume", cmd_control, "resume" },
};

int
mtagctl_option(int ch, const char *arg)
{
	if (ch == 'c')
		opt_config = arg;
	else if (ch == MTAGCTL_OPT_DB)
		opt_db = arg;
	else
		return 0;
	return 1;
}

int
mtagctl_conf(struct mtag_conf *c)
{
	char *argv[6], err[1024];
	int argc = 0, rc;

	argv[argc++] = "mtagctl";
	if (opt_config != NULL) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)opt_config;
	}
	if (opt_db != NULL) {
		argv[argc++] = "--db";
		argv[argc++] = (char *)opt_db;
	}
	argv[argc] = NULL;
	optind = 0;
	if ((rc = mtag_conf_load(c, argc, argv, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		return 1;
	}
	return 0;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mtagctl [--db FILE] [-c FILE] COMMAND [ARGS]\n"
	    "       mtagctl -h | --version\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "\n'mtagctl COMMAND --help' describes a command; "
	    "mtagctl(1) has the details.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		MTAGCTL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	size_t i;
	int ch;

	log_init("mtagctl", MTAG_LOG_INFO);
	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+" MTAGCTL_SHORTOPTS "h", opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mtagctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			optind = 0;	/* GNU getopt: start afresh */
			return commands[i].fn(argc, argv);
		}
	}
	log_warnx("unknown command '%s'", argv[0]);
	usage(stderr);
	return 2;
}

/* mtagctl model: fetching, installing, listing and removing the models of
 * the model store (inference/store.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "store.h"

/* getopt_long values of the subcommands' options, indexing their values. */
enum { OPT_FROM = 1, OPT_NAME, OPT_DATASET, OPT_ARCH, NOPTS };

struct sub {
	const char *name;
	/* Runs with the operands and the option values; returns the exit
	 * status. */
	int (*run)(const struct sub *s, int argc, char **argv, char **opt);
	int minargs, maxargs;	/* operand counts; maxargs -1: no limit */
	struct option opts[NOPTS + 1];
	const char *synopsis;	/* after "mtagctl model " */
	const char *help;
};

static int model_fetch(const struct sub *, int, char **, char **);
static int model_install(const struct sub *, int, char **, char **);
static int model_list(const struct sub *, int, char **, char **);
static int model_remove(const struct sub *, int, char **, char **);

static const struct sub subs[] = {
	{ "fetch", model_fetch, 1, -1, {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "help", no_argument, NULL, 'h' } },
	  "fetch NAME... [--from DIR]",
	  "Installs published models, checking each file against its pinned\n"
	  "SHA-256. The files are downloaded from the study's repository, or\n"
	  "copied from DIR/DATASET/ARCH/best_model.pth when --from DIR or\n"
	  "MTAG_MODEL_MIRROR gives a mirror folder.\n" },
	{ "install", model_install, 1, 1, {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "dataset", required_argument, NULL, OPT_DATASET },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "help", no_argument, NULL, 'h' } },
	  "install FILE --name NAME [--dataset mtat|msd|jamendo|TAGS.txt] "
	  "[--arch ARCH]",
	  "Installs the checkpoint FILE as NAME. --dataset gives its tag\n"
	  "vocabulary: a dataset, or a file of tag names, one a line, in the\n"
	  "model's output order (default: the dataset named by a folder in\n"
	  "the path of FILE). --arch gives its architecture (fcn, musicnn,\n"
	  "crnn; default: detected).\n" },
	{ "list", model_list, 0, 0, {
		{ "help", no_argument, NULL, 'h' } },
	  "list",
	  "Lists the installed models: name, architecture, dataset, the\n"
	  "start of the checkpoint's SHA-256, and which is the default.\n" },
	{ "remove", model_remove, 1, -1, {
		{ "help", no_argument, NULL, 'h' } },
	  "remove NAME...",
	  "Uninstalls models.\n" },
};
#define NSUBS	(sizeof(subs) / sizeof(subs[0]))

static void
print_usage(FILE *f)
{
	size_t i;

	for (i = 0; i < NSUBS; i++)
		fprintf(f, "%s mtagctl model %s\n", i ? "      " : "usage:",
		    subs[i].synopsis);
}

static int
sub_usage(const struct sub *s)
{
	fprintf(stderr, "usage: mtagctl model %s\n", s->synopsis);
	return 2;
}

static void
sub_help(const struct sub *s)
{
	const char *name;
	int i;

	printf("usage: mtagctl model %s\n\n%s", s->synopsis, s->help);
	if (s->run != model_fetch)
		return;
	printf("\nModels:\n");
	for (i = 0; (name = mtag_store_pinned(i)) != NULL; i++)
		printf("  %s%s\n", name,
		    strcmp(name, MTAG_STORE_DEFAULT) == 0 ? " (default)" : "");
}

static int
model_fetch(const struct sub *s, int argc, char **argv, char **opt)
{
	char err[1024];
	int i, rc, status = 0;

	(void)s;
	for (i = 0; i < argc; i++) {
		rc = mtag_store_fetch(argv[i], opt[OPT_FROM], err, sizeof(err));
		if (rc < 0) {
			log_warnx("%s", err);
			status = 1;
		} else if (rc == 1)
			log_info("%s is already installed", argv[i]);
		else
			log_info("installed %s", argv[i]);
	}
	return status;
}

static int
model_install(const struct sub *s, int argc, char **argv, char **opt)
{
	char err[1024];

	(void)argc;
	if (opt[OPT_NAME] == NULL) {
		log_warnx("model install: --name is required");
		return sub_usage(s);
	}
	if (mtag_store_install(argv[0], opt[OPT_NAME], opt[OPT_DATASET],
	    opt[OPT_ARCH], err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	log_info("installed %s", opt[OPT_NAME]);
	return 0;
}

static int
print_entry(const mtag_store_entry *e, void *arg)
{
	int *count = arg;

	printf("%-16s %-8s %-8s %.12s%s\n", e->name, e->arch, e->dataset,
	    e->sha256,
	    strcmp(e->name, MTAG_STORE_DEFAULT) == 0 ? "  (default)" : "");
	(*count)++;
	return 0;
}

static int
model_list(const struct sub *s, int argc, char **argv, char **opt)
{
	char err[1024];
	int count = 0;

	(void)s;
	(void)argc;
	(void)argv;
	(void)opt;
	if (mtag_store_list(print_entry, &count, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	if (count == 0)
		log_info("no models installed (try: mtagctl model fetch %s)",
		    MTAG_STORE_DEFAULT);
	return 0;
}

static int
model_remove(const struct sub *s, int argc, char **argv, char **opt)
{
	char err[1024];
	int i, status = 0;

	(void)s;
	(void)opt;
	for (i = 0; i < argc; i++) {
		if (mtag_store_remove(argv[i], err, sizeof(err)) < 0) {
			log_warnx("%s", err);
			status = 1;
		} else
			log_info("removed %s", argv[i]);
	}
	return status;
}

int
cmd_model(int argc, char **argv)
{
	char *opt[NOPTS] = { NULL }, prog[64];
	const struct sub *s = NULL;
	size_t i;
	int ch, nargs;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		print_usage(stdout);
		return 0;
	}
	for (i = 0; i < NSUBS; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			s = &subs[i];
	if (s == NULL) {
		log_warnx("model: unknown subcommand '%s'", argv[1]);
		print_usage(stderr);
		return 2;
	}

	/* getopt_long names argv[0] in its messages. */
	snprintf(prog, sizeof(prog), "mtagctl: model %s", s->name);
	argc--;
	argv++;
	argv[0] = prog;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", s->opts, NULL)) != -1) {
		if (ch == 'h') {
			sub_help(s);
			return 0;
		}
		if (ch <= 0 || ch >= NOPTS)
			return sub_usage(s);
		opt[ch] = optarg;
	}
	nargs = argc - optind;
	if (nargs < s->minargs || (s->maxargs >= 0 && nargs > s->maxargs))
		return sub_usage(s);
	return s->run(s, nargs, argv + optind, opt);
}

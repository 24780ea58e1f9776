/* mtagctl query, similar, show, tags and export: finding music in the
 * library database by what it sounds like and what its files say. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "conf.h"
#include "json.h"
#include "library.h"
#include "log.h"
#include "output.h"
#include "query.h"

/* Long options without a short one. */
enum {
	OPT_MODEL = 0x200, OPT_SORT, OPT_LIMIT, OPT_COUNT, OPT_FORMAT,
	OPT_JSON, OPT_M3U, OPT_WHERE, OPT_CSV
};

#define BAR_WIDTH	20

/* A library opened with the configured database, model and tag rule. */
struct session {
	struct mtag_conf conf;
	struct mtag_threshold *thresholds;
	char (*tags)[256];
	mtag_library *lib;
};

static void
close_session(struct session *s)
{
	mtag_library_close(s->lib);
	mtag_conf_free(&s->conf);
	free(s->thresholds);
	free(s->tags);
}

/* Opens the library for model (NULL: the configured one). Returns 0, or 1
 * after printing why not. */
static int
open_session(struct session *s, const char *model)
{
	struct mtag_tag_rule rule;
	char err[1024];
	int i, n;

	memset(s, 0, sizeof(*s));
	if (mtagctl_conf(&s->conf) != 0)
		return 1;
	if (access(s->conf.db_path, F_OK) != 0) {
		log_warnx("%s: no library database: mtagd creates it (--db "
		    "FILE names another)", s->conf.db_path);
		close_session(s);
		return 1;
	}
	n = s->conf.ntag_thresholds;
	if ((s->thresholds = calloc(n + 1, sizeof(*s->thresholds))) == NULL ||
	    (s->tags = calloc(n + 1, sizeof(*s->tags))) == NULL) {
		log_warnx("out of memory");
		close_session(s);
		return 1;
	}
	for (i = 0; i < n; i++) {
		/* Checked when the configuration was read. */
		mtag_conf_tag_score(s->conf.tag_thresholds[i], s->tags[i],
		    sizeof(s->tags[i]), &s->thresholds[i].score);
		s->thresholds[i].tag = s->tags[i];
	}
	rule = (struct mtag_tag_rule){ s->conf.tag_top_n,
	    s->conf.tag_min_score, s->conf.tag_sure_score, s->thresholds, n };
	if ((s->lib = mtag_library_open(s->conf.db_path, model != NULL ?
	    model : s->conf.model, &rule, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		close_session(s);
		return 1;
	}
	return 0;
}

/* Joins the arguments into one expression, or NULL. */
static char *
join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* Parses expr; prints where it is wrong. */
static mtag_query *
parse(struct session *s, const char *expr, const char *what)
{
	struct mtag_query_error e;
	mtag_query *q;

	if ((q = mtag_query_parse(s->lib, expr, &e)) == NULL) {
		fprintf(stderr, "mtagctl: %s: ", what);
		mtag_query_error_print(stderr, expr, &e);
	}
	return q;
}

/* Reads the tracks of the n hits into *tracks, their scores set. */
static int
read_tracks(struct session *s, const struct mtag_hit *h, size_t n,
    struct mtag_track **tracks)
{
	struct mtag_track *t;
	char err[1024];
	size_t i;

	if ((t = calloc(n + 1, sizeof(*t))) == NULL) {
		log_warnx("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (mtag_library_track(s->lib, h[i].id, &t[i], err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			while (i-- > 0)
				mtag_track_clear(&t[i]);
			free(t);
			return -1;
		}
		t[i].score = h[i].score;
	}
	*tracks = t;
	return 0;
}

static void
free_tracks(struct mtag_track *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mtag_track_clear(&t[i]);
	free(t);
}

/* Orders hits by score, highest first or (ascending) lowest, NaN last. */
static int
hit_order(const struct mtag_hit *x, const struct mtag_hit *y, int ascending)
{
	if (isnan(x->score) || isnan(y->score))
		return isnan(x->score) - isnan(y->score);
	if (x->score == y->score)
		return 0;
	return (x->score < y->score) == ascending ? -1 : 1;
}

static int
best_first(const void *a, const void *b)
{
	return hit_order(a, b, 0);
}

static int
worst_first(const void *a, const void *b)
{
	return hit_order(a, b, 1);
}

/* How many of the n hits are read to print limit of them sorted by keys:
 * when the score alone sorts, the hits are sorted by it, and those past
 * the limit but tied with the last are read, for the path to decide. */
static size_t
to_read(struct mtag_hit *h, size_t n, const struct mtag_sort_key *keys,
    int nkeys, long limit)
{
	size_t cut = limit;

	if (nkeys != 1 || mtag_fields[keys[0].field].kind != MTAG_FIELD_SCORE ||
	    (unsigned long)limit >= n)
		return n;
	qsort(h, n, sizeof(*h), keys[0].descending ? best_first : worst_first);
	while (cut < n && hit_order(&h[cut - 1], &h[cut], 0) == 0)
		cut++;
	return cut;
}

/* Handles the output options; 1 when ch was one, -1 when misused. */
static int
output_option(int ch, enum mtag_style *style, const char **fmt)
{
	char err[256];
	enum mtag_style want;

	switch (ch) {
	case OPT_FORMAT:
		if (mtag_format_check(optarg, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			return -1;
		}
		*fmt = optarg;
		want = MTAG_STYLE_FORMAT;
		break;
	case OPT_JSON:
		want = MTAG_STYLE_JSON;
		break;
	case OPT_M3U:
		want = MTAG_STYLE_M3U;
		break;
	default:
		return 0;
	}
	if (*style != MTAG_STYLE_PATHS && *style != want) {
		log_warnx("--format, --json and --m3u exclude one another");
		return -1;
	}
	*style = want;
	return 1;
}

/* Parses a positive number argument of option. */
static int
positive(const char *option, const char *arg, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || *v < 1) {
		log_warnx("%s: '%s' is not a positive number", option, arg);
		return -1;
	}
	return 0;
}

static void
query_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl query [--model NAME] "
	    "[--sort FIELD[+|-],...] [--limit N] [--count]\n"
	    "                     [--format FMT | --json | --m3u] EXPR...\n"
	    "Finds tracks by tags and metadata, as in:\n"
	    "  mtagctl query rock AND female vocal\n"
	    "  mtagctl query 'piano<0.1 (jazz OR classical) year:1960..1979'\n"
	    "  mtagctl query --m3u -- -metal artist:~'^the ' > list.m3u\n"
	    "mtagctl(1) describes the query language.\n");
}

int
cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "m3u", no_argument, NULL, OPT_M3U },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mtag_sort_key keys[MTAG_SORT_MAX];
	enum mtag_style style = MTAG_STYLE_PATHS;
	const char *model = NULL, *fmt = NULL;
	struct mtag_track *tracks = NULL;
	struct mtag_hit *hits = NULL;
	struct session s;
	mtag_query *q = NULL;
	char err[1024], *expr;
	long limit = LONG_MAX;
	int ch, r, count = 0, nkeys = -1, status = 1;
	int64_t n;

	while ((ch = getopt_long(argc, argv, "h" MTAGCTL_SHORTOPTS, opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		if ((r = output_option(ch, &style, &fmt)) == -1)
			return 2;
		if (r == 1)
			continue;
		switch (ch) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_SORT:
			if ((nkeys = mtag_sort_parse(optarg, keys, err,
			    sizeof(err))) == -1) {
				log_warnx("%s", err);
				return 2;
			}
			break;
		case OPT_LIMIT:
			if (positive("--limit", optarg, &limit) == -1)
				return 2;
			break;
		case OPT_COUNT:
			count = 1;
			break;
		case 'h':
			query_usage(stdout);
			return 0;
		default:
			query_usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		query_usage(stderr);
		return 2;
	}
	if ((expr = join_args(argc - optind, argv + optind)) == NULL) {
		log_warnx("out of memory");
		return 1;
	}
	if (open_session(&s, model) != 0) {
		free(expr);
		return 1;
	}
	if ((q = parse(&s, expr, "query")) == NULL) {
		status = 2;
		goto done;
	}
	if ((n = mtag_query_run(q, &hits, err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	if (count) {
		printf("%lld\n", (long long)n);
		status = 0;
		goto done;
	}
	if (nkeys == -1)
		nkeys = mtag_query_ranked(q) ? mtag_sort_parse("score", keys,
		    err, sizeof(err)) : 0;
	n = to_read(hits, n, keys, nkeys, limit);
	if (read_tracks(&s, hits, n, &tracks) == -1)
		goto done;
	mtag_sort(tracks, n, keys, nkeys);
	mtag_output(stdout, style, fmt, tracks, n < limit ? n : limit);
	status = 0;
done:
	if (tracks != NULL)
		free_tracks(tracks, n);
	free(hits);
	mtag_query_free(q);
	close_session(&s);
	free(expr);
	return status;
}

/* Finds the track that the argument names: its path, as given or made
 * absolute and resolved. Returns 0, or 1 after printing why not. */
static int
find_track(struct session *s, const char *arg, int64_t *id)
{
	char err[1024], *real, *cwd, *abs;
	size_t len;
	int rc;

	if ((rc = mtag_library_find(s->lib, arg, id, err, sizeof(err))) == 0 &&
	    (real = realpath(arg, NULL)) != NULL) {
		rc = mtag_library_find(s->lib, real, id, err, sizeof(err));
		free(real);
	}
	if (rc == 0 && arg[0] != '/' && (cwd = getcwd(NULL, 0)) != NULL) {
		len = strlen(cwd) + strlen(arg) + 2;
		if ((abs = malloc(len)) != NULL) {
			snprintf(abs, len, "%s/%s", cwd, arg);
			rc = mtag_library_find(s->lib, abs, id, err,
			    sizeof(err));
			free(abs);
		}
		free(cwd);
	}
	if (rc == -1)
		log_warnx("%s", err);
	else if (rc == 0)
		log_warnx("%s: not in the library database %s", arg,
		    s->conf.db_path);
	return rc == 1 ? 0 : 1;
}

static void
similar_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl similar [--model NAME] [-n N] "
	    "[--where EXPR] [--format FMT | --json | --m3u]\n"
	    "                       TRACK\n"
	    "Lists the tracks that sound most like TRACK (10 by default).\n");
}

int
cmd_similar(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "where", required_argument, NULL, OPT_WHERE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "m3u", no_argument, NULL, OPT_M3U },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	enum mtag_style style = MTAG_STYLE_PATHS;
	const char *model = NULL, *fmt = NULL, *where = NULL, *track;
	struct mtag_track *tracks = NULL;
	struct mtag_hit *hits = NULL, *found = NULL;
	mtag_trackset *within = NULL;
	struct session s;
	mtag_query *q = NULL;
	char err[1024];
	long count = 10;
	int64_t id, n = 0, i;
	int ch, r, status = 1;

	while ((ch = getopt_long(argc, argv, "n:h" MTAGCTL_SHORTOPTS, opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		if ((r = output_option(ch, &style, &fmt)) == -1)
			return 2;
		if (r == 1)
			continue;
		switch (ch) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_WHERE:
			where = optarg;
			break;
		case 'n':
			if (positive("-n", optarg, &count) == -1)
				return 2;
			if (count > INT_MAX / 2)
				count = INT_MAX / 2;
			break;
		case 'h':
			similar_usage(stdout);
			return 0;
		default:
			similar_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		similar_usage(stderr);
		return 2;
	}
	track = argv[optind];
	if (open_session(&s, model) != 0)
		return 1;
	if (where != NULL) {
		if ((q = parse(&s, where, "--where")) == NULL) {
			status = 2;
			goto done;
		}
		if ((n = mtag_query_run(q, &found, err, sizeof(err))) == -1 ||
		    (within = mtag_trackset_new(mtag_library_end(s.lib))) ==
		    NULL) {
			log_warnx("%s", n == -1 ? err : "out of memory");
			goto done;
		}
		for (i = 0; i < n; i++)
			mtag_trackset_add(within, found[i].id);
	}
	if (find_track(&s, track, &id) != 0)
		goto done;
	if ((n = mtag_library_similar(s.lib, id, within, count, &hits, err,
	    sizeof(err))) == -1) {
		log_warnx("%s: %s", track, err);
		goto done;
	}
	if (read_tracks(&s, hits, n, &tracks) == -1)
		goto done;
	mtag_output(stdout, style, fmt, tracks, n);
	status = 0;
done:
	if (tracks != NULL)
		free_tracks(tracks, n);
	free(hits);
	free(found);
	mtag_trackset_free(within);
	mtag_query_free(q);
	close_session(&s);
	return status;
}

/* Writes a bar of BAR_WIDTH cells, filled in eighths as far as v of 1. */
static void
bar(double v)
{
	static const char *const eighths[] = { "", "\u258f", "\u258e",
	    "\u258d", "\u258c", "\u258b", "\u258a", "\u2589" };
	int cells = lround(fmin(fmax(v, 0), 1) * BAR_WIDTH * 8), i;

	for (i = 0; i < cells / 8; i++)
		fputs("\u2588", stdout);
	fputs(eighths[cells % 8], stdout);
	printf("%*s", BAR_WIDTH - cells / 8 - (cells % 8 != 0), "");
}

/* The canonical tags of a track, best first. */
struct ranked {
	int tag;
	double score;
	int rank;
};

static int
by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (isnan(x->score) || isnan(y->score))
		return isnan(x->score) - isnan(y->score);
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->tag - y->tag;
}

static void
show_text(struct session *s, const struct mtag_track *t,
    const struct mtag_analysis *a, const struct ranked *r,
    const double *outputs)
{
	const struct mtag_tag_rule *rule = mtag_library_rule(s->lib);
	const struct mtag_tag *tag;
	const char *v;
	char why[160], when[64];
	int i, j, f, width = 0, n = mtag_library_ntags(s->lib);

	printf("%s\n", t->path);
	for (f = 0; f < mtag_nfields; f++) {
		v = (const char *)t + mtag_fields[f].off;
		if (mtag_fields[f].column == NULL ||
		    strcmp(mtag_fields[f].name, "path") == 0 ||
		    (mtag_fields[f].kind == MTAG_FIELD_TEXT ?
		    *(char *const *)v == NULL : isnan(*(const double *)v)))
			continue;
		printf("  %-12s ", mtag_fields[f].name);
		mtag_output_field(stdout, t, f);
		putchar('\n');
	}
	printf("  %-12s ", "analysis");
	if (a->status[0] == '\0')
		printf("none for %s\n", mtag_library_model(s->lib));
	else if (a->analysed_at != 0) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M",
		    localtime(&(time_t){ a->analysed_at }));
		printf("%s by %s on %s", a->status, mtag_library_model(s->lib),
		    when);
		if (a->nchunks > 0)
			printf(", %d chunk%s", a->nchunks, a->nchunks == 1 ?
			    "" : "s");
		printf(a->error[0] != '\0' ? ": %s\n" : "\n", a->error);
	} else
		printf("%s for %s\n", a->status, mtag_library_model(s->lib));
	if (strcmp(a->status, "done") != 0)
		return;

	printf("tags, best first: + holds (in the top %d with %.2f or more, or "
	    "%.2f or more)\n", rule->top_n, rule->min_score, rule->sure_score);
	for (i = 0; i < n; i++)
		if ((int)strlen(mtag_library_tag(s->lib, i)->name) > width)
			width = strlen(mtag_library_tag(s->lib, i)->name);
	for (i = 0; i < n; i++) {
		tag = mtag_library_tag(s->lib, r[i].tag);
		printf("%c %-*s %.3f ", mtag_library_holds(s->lib, tag,
		    r[i].score, r[i].rank, why, sizeof(why)) ? '+' : ' ',
		    width, tag->name, r[i].score);
		bar(r[i].score);
		printf(" %2d  %s", r[i].rank, why);
		for (j = 0; tag->noutputs > 1 && j < tag->noutputs; j++)
			printf("%s%s %.3f%s", j == 0 ? " (" : ", ",
			    mtag_library_output(s->lib, tag->outputs[j]),
			    outputs[tag->outputs[j]],
			    j == tag->noutputs - 1 ? ")" : "");
		putchar('\n');
	}
}

static void
show_json(struct session *s, const struct mtag_track *t,
    const struct mtag_analysis *a, const struct ranked *r,
    const double *outputs)
{
	const struct mtag_tag *tag;
	char why[160];
	int i, j, holds;

	printf("{");
	mtag_output_json_fields(stdout, t);
	printf(", \"model\": ");
	mtag_json_string(stdout, mtag_library_model(s->lib));
	printf(", \"analysis\": ");
	if (a->status[0] == '\0') {
		printf("null");
	} else {
		printf("{\"status\": ");
		mtag_json_string(stdout, a->status);
		printf(", \"error\": ");
		if (a->error[0] != '\0')
			mtag_json_string(stdout, a->error);
		else
			printf("null");
		printf(", \"analysed_at\": %lld, \"chunks\": %d}",
		    (long long)a->analysed_at, a->nchunks);
	}
	printf(", \"tags\": [");
	for (i = 0; strcmp(a->status, "done") == 0 &&
	    i < mtag_library_ntags(s->lib); i++) {
		tag = mtag_library_tag(s->lib, r[i].tag);
		holds = mtag_library_holds(s->lib, tag, r[i].score, r[i].rank,
		    why, sizeof(why));
		printf("%s\n {\"tag\": ", i ? "," : "");
		mtag_json_string(stdout, tag->name);
		printf(", \"category\": ");
		if (tag->category != NULL)
			mtag_json_string(stdout, tag->category);
		else
			printf("null");
		printf(", \"score\": ");
		mtag_json_number(stdout, r[i].score, 6);
		printf(", \"rank\": %d, \"holds\": %s, \"why\": ", r[i].rank,
		    holds ? "true" : "false");
		mtag_json_string(stdout, why);
		printf(", \"outputs\": {");
		for (j = 0; j < tag->noutputs; j++) {
			printf("%s", j ? ", " : "");
			mtag_json_string(stdout, mtag_library_output(s->lib,
			    tag->outputs[j]));
			printf(": ");
			mtag_json_number(stdout, outputs[tag->outputs[j]], 6);
		}
		printf("}}");
	}
	printf("]}\n");
}

static void
show_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl show [--model NAME] [--json] TRACK\n"
	    "Shows a track's metadata, analysis and tags, and which tags "
	    "hold and why.\n");
}

int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mtag_analysis a;
	struct mtag_track t = { 0 };
	struct session s;
	struct ranked *r = NULL;
	const char *model = NULL, *track;
	double *outputs = NULL, *scores = NULL;
	int *ranks = NULL, ch, json = 0, i, n, status = 1;
	char err[1024];
	int64_t id;

	while ((ch = getopt_long(argc, argv, "h" MTAGCTL_SHORTOPTS, opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		switch (ch) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			show_usage(stdout);
			return 0;
		default:
			show_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		show_usage(stderr);
		return 2;
	}
	track = argv[optind];
	if (open_session(&s, model) != 0)
		return 1;
	if (find_track(&s, track, &id) != 0)
		goto done;
	n = mtag_library_ntags(s.lib);
	if ((outputs = calloc(mtag_library_noutputs(s.lib), sizeof(*outputs)))
	    == NULL || (scores = calloc(n, sizeof(*scores))) == NULL ||
	    (ranks = calloc(n, sizeof(*ranks))) == NULL ||
	    (r = calloc(n, sizeof(*r))) == NULL) {
		log_warnx("out of memory");
		goto done;
	}
	if (mtag_library_track(s.lib, id, &t, err, sizeof(err)) == -1 ||
	    mtag_library_analysis(s.lib, id, &a, outputs, scores, ranks, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	t.score = NAN;
	for (i = 0; i < n; i++)
		r[i] = (struct ranked){ i, scores[i], ranks[i] };
	qsort(r, n, sizeof(*r), by_score);
	if (json)
		show_json(&s, &t, &a, r, outputs);
	else
		show_text(&s, &t, &a, r, outputs);
	status = 0;
done:
	mtag_track_clear(&t);
	free(outputs);
	free(scores);
	free(ranks);
	free(r);
	close_session(&s);
	return status;
}

/* How a tag holds, in words, into buf. */
static void
tag_rule(const struct mtag_tag_rule *rule, const struct mtag_tag *t,
    char *buf, size_t len)
{
	if (t->threshold >= 0)
		snprintf(buf, len, "%.2f or more (its own)", t->threshold);
	else
		snprintf(buf, len, "top %d and %.2f, or %.2f", rule->top_n,
		    rule->min_score, rule->sure_score);
}

static int
by_category(const void *a, const void *b)
{
	const struct mtag_tag *x = *(const struct mtag_tag *const *)a;
	const struct mtag_tag *y = *(const struct mtag_tag *const *)b;
	int c;

	if ((x->category == NULL) != (y->category == NULL))
		return x->category == NULL ? 1 : -1;
	if (x->category != NULL && (c = strcmp(x->category, y->category)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

static void
tags_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl tags [--model NAME] [--json]\n"
	    "Lists the model's tags: category, when a tag holds, and for how "
	    "many tracks.\n");
}

int
cmd_tags(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const struct mtag_tag **tags = NULL;
	const struct mtag_tag *t;
	const char *model = NULL;
	mtag_trackset *set;
	struct session s;
	char err[1024], rule[64];
	int64_t count;
	int ch, json = 0, i, j, n, status = 1;

	while ((ch = getopt_long(argc, argv, "h" MTAGCTL_SHORTOPTS, opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		switch (ch) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			tags_usage(stdout);
			return 0;
		default:
			tags_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		tags_usage(stderr);
		return 2;
	}
	if (open_session(&s, model) != 0)
		return 1;
	n = mtag_library_ntags(s.lib);
	if ((tags = calloc(n, sizeof(*tags))) == NULL) {
		log_warnx("out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		tags[i] = mtag_library_tag(s.lib, i);
	qsort(tags, n, sizeof(*tags), by_category);
	if (json)
		printf("[");
	else
		printf("%-20s %-11s %-28s %7s  %s\n", "TAG", "CATEGORY",
		    "HOLDS FROM", "TRACKS", "OUTPUTS");
	for (i = 0; i < n; i++) {
		t = tags[i];
		if ((set = mtag_trackset_new(mtag_library_end(s.lib))) ==
		    NULL) {
			log_warnx("out of memory");
			goto done;
		}
		if (mtag_library_tag_tracks(s.lib, mtag_library_lookup(s.lib,
		    t->name, NULL), -1, MTAG_CMP_HOLDS, 0, set, NULL, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			mtag_trackset_free(set);
			goto done;
		}
		count = mtag_trackset_count(set);
		mtag_trackset_free(set);
		tag_rule(mtag_library_rule(s.lib), t, rule, sizeof(rule));
		if (json) {
			printf("%s\n {\"tag\": ", i ? "," : "");
			mtag_json_string(stdout, t->name);
			printf(", \"category\": ");
			if (t->category != NULL)
				mtag_json_string(stdout, t->category);
			else
				printf("null");
			printf(", \"threshold\": ");
			mtag_json_number(stdout, t->threshold >= 0 ?
			    t->threshold : NAN, 6);
			printf(", \"tracks\": %lld, \"outputs\": [",
			    (long long)count);
		} else
			printf("%-20s %-11s %-28s %7lld  ", t->name,
			    t->category != NULL ? t->category : "-", rule,
			    (long long)count);
		for (j = 0; j < t->noutputs; j++) {
			printf("%s", j ? ", " : "");
			if (json)
				mtag_json_string(stdout, mtag_library_output(
				    s.lib, t->outputs[j]));
			else
				printf("%s", mtag_library_output(s.lib,
				    t->outputs[j]));
		}
		printf(json ? "]}" : "\n");
	}
	if (json)
		printf(n ? "\n]\n" : "]\n");
	status = 0;
done:
	free(tags);
	close_session(&s);
	return status;
}

/* Writes a track and its tag scores as a CSV line or a JSON object. */
static void
export_track(struct session *s, const struct mtag_track *t,
    const struct mtag_analysis *a, const double *scores, int json,
    int first)
{
	int f, i, n = mtag_library_ntags(s->lib);
	int done = strcmp(a->status, "done") == 0;
	const char *v;

	if (json) {
		printf("%s\n {", first ? "" : ",");
		mtag_output_json_fields(stdout, t);
		printf(", \"tags\": ");
		if (!done)
			printf("null");
		for (i = 0; done && i < n; i++) {
			printf(i ? ", " : "{");
			mtag_json_string(stdout, mtag_library_tag(s->lib,
			    i)->name);
			printf(": ");
			mtag_json_number(stdout, scores[i], 6);
		}
		printf(done && n > 0 ? "}}" : "}");
		return;
	}
	for (f = 0, i = 0; f < mtag_nfields; f++) {
		if (mtag_fields[f].column == NULL)
			continue;
		if (i++ > 0)
			putchar(',');
		v = (const char *)t + mtag_fields[f].off;
		if (mtag_fields[f].kind == MTAG_FIELD_TEXT)
			mtag_output_csv(stdout, *(char *const *)v);
		else if (!isnan(*(const double *)v))
			printf("%.15g", *(const double *)v);
	}
	for (i = 0; i < n; i++)
		if (done && !isnan(scores[i]))
			printf(",%.6g", scores[i]);
		else
			putchar(',');
	putchar('\n');
}

static void
export_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl export [--model NAME] [--csv | --json] "
	    "[EXPR...]\n"
	    "Writes the tracks (those EXPR finds) with their metadata and tag "
	    "scores.\n");
}

int
cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mtag_sort_key key;
	struct mtag_analysis a;
	struct mtag_track *tracks = NULL;
	struct mtag_hit *hits = NULL;
	const char *model = NULL;
	mtag_trackset *all = NULL;
	mtag_query *q = NULL;
	struct session s;
	double *scores = NULL;
	int *ranks = NULL;
	char err[1024], *expr = NULL;
	int ch, json = 0, csv = 0, f, i, status = 1;
	int64_t n = 0, id;

	while ((ch = getopt_long(argc, argv, "h" MTAGCTL_SHORTOPTS, opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		switch (ch) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_CSV:
			csv = 1;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			export_usage(stdout);
			return 0;
		default:
			export_usage(stderr);
			return 2;
		}
	}
	if (csv && json) {
		log_warnx("--csv and --json exclude one another");
		return 2;
	}
	if (optind < argc &&
	    (expr = join_args(argc - optind, argv + optind)) == NULL) {
		log_warnx("out of memory");
		return 1;
	}
	if (open_session(&s, model) != 0) {
		free(expr);
		return 1;
	}
	if (expr != NULL) {
		if ((q = parse(&s, expr, "export")) == NULL) {
			status = 2;
			goto done;
		}
		n = mtag_query_run(q, &hits, err, sizeof(err));
	} else if ((all = mtag_trackset_new(mtag_library_end(s.lib))) ==
	    NULL || (hits = calloc(mtag_library_end(s.lib) + 1,
	    sizeof(*hits))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		n = -1;
	} else if ((n = mtag_library_all(s.lib, all, err, sizeof(err))) ==
	    0) {
		for (id = mtag_trackset_next(all, 0); id != -1;
		    id = mtag_trackset_next(all, id + 1))
			hits[n++] = (struct mtag_hit){ id, NAN };
	}
	if (n == -1) {
		log_warnx("%s", err);
		goto done;
	}
	if (read_tracks(&s, hits, n, &tracks) == -1)
		goto done;
	key = (struct mtag_sort_key){ mtag_field_find("path", 4), 0 };
	mtag_sort(tracks, n, &key, 1);
	if ((scores = calloc(mtag_library_ntags(s.lib) + 1,
	    sizeof(*scores))) == NULL || (ranks = calloc(
	    mtag_library_ntags(s.lib) + 1, sizeof(*ranks))) == NULL) {
		log_warnx("out of memory");
		goto done;
	}
	if (json)
		printf("[");
	else {
		for (f = 0, i = 0; f < mtag_nfields; f++)
			if (mtag_fields[f].column != NULL)
				printf("%s%s", i++ ? "," : "",
				    mtag_fields[f].name);
		for (i = 0; i < mtag_library_ntags(s.lib); i++) {
			putchar(',');
			mtag_output_csv(stdout, mtag_library_tag(s.lib,
			    i)->name);
		}
		putchar('\n');
	}
	for (id = 0; id < n; id++) {
		if (mtag_library_analysis(s.lib, tracks[id].id, &a, NULL,
		    scores, ranks, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			goto done;
		}
		export_track(&s, &tracks[id], &a, scores, json, id == 0);
	}
	if (json)
		printf(n ? "\n]\n" : "]\n");
	status = 0;
done:
	if (tracks != NULL)
		free_tracks(tracks, n);
	free(hits);
	free(scores);
	free(ranks);
	free(expr);
	mtag_trackset_free(all);
	mtag_query_free(q);
	close_session(&s);
	return status;
}

/* mtagctl writeback: writing the model's tags into the music files, or
 * undoing a run of it. */
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "conf.h"
#include "db.h"
#include "library.h"
#include "log.h"
#include "query.h"
#include "writeback.h"

static void
writeback_usage(FILE *f)
{
	fprintf(f, "usage: mtagctl writeback [--model NAME] [--genre "
	    "keep|fill|replace|append] [--touch]\n"
	    "        [--dry-run] [EXPR]\n"
	    "       mtagctl writeback --undo[=RUN] [--dry-run]\n");
}

/* The tag rule of c, its thresholds parsed into tags (c->ntag_thresholds
 * strings of 256 bytes) and scores. */
static void
rule(const struct mtag_conf *c, char (*tags)[256], const char **tagp,
    double *scores, struct mtag_threshold *thr, struct mtag_tag_rule *r)
{
	int i;

	for (i = 0; i < c->ntag_thresholds; i++) {
		/* Valid: the configuration was checked when loaded. */
		mtag_conf_tag_score(c->tag_thresholds[i], tags[i],
		    sizeof(tags[i]), &scores[i]);
		tagp[i] = tags[i];
		thr[i] = (struct mtag_threshold){ tags[i], scores[i] };
	}
	*r = (struct mtag_tag_rule){ c->tag_top_n, c->tag_min_score,
	    c->tag_sure_score, thr, c->ntag_thresholds };
}

/* The tracks that expr selects, as mtagctl query finds them, into *ids
 * and *paths (n of them, freed with mtag_writeback_tracks_free). Returns
 * 0, 1 on failure or 2 when expr is malformed, after saying why. */
static int
select_tracks(const struct mtag_conf *c, const char *model,
    const struct mtag_tag_rule *r, const char *expr, int64_t **ids,
    char ***paths, size_t *n)
{
	struct mtag_query_error qe;
	struct mtag_track t = { 0 };
	struct mtag_hit *hits = NULL;
	mtag_library *lib;
	mtag_query *q = NULL;
	char err[1024];
	int64_t nhits = -1, i;
	int rc = 1;

	*ids = NULL;
	*paths = NULL;
	*n = 0;
	if ((lib = mtag_library_open(c->db_path, model, r, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	if ((q = mtag_query_parse(lib, expr, &qe)) == NULL) {
		mtag_query_error_print(stderr, expr, &qe);
		rc = 2;
		goto out;
	}
	if ((nhits = mtag_query_run(q, &hits, err, sizeof(err))) < 0 ||
	    (nhits > 0 && ((*ids = calloc(nhits, sizeof(**ids))) == NULL ||
	    (*paths = calloc(nhits, sizeof(**paths))) == NULL))) {
		log_warnx("%s", nhits < 0 ? err : "out of memory");
		goto out;
	}
	for (i = 0; i < nhits; i++) {
		if (mtag_library_track(lib, hits[i].id, &t, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			goto out;
		}
		(*ids)[*n] = hits[i].id;
		(*paths)[(*n)++] = t.path;
		t.path = NULL;
		mtag_track_clear(&t);
	}
	rc = 0;
out:
	if (rc != 0) {
		mtag_writeback_tracks_free(*ids, *paths, *n);
		*ids = NULL;
		*paths = NULL;
		*n = 0;
	}
	free(hits);
	mtag_query_free(q);
	mtag_library_close(lib);
	return rc;
}

/* Writes the tracks selected (all when expr is NULL). */
static int
write_tracks(const struct mtag_conf *c, mtag_db *db, const char *model,
    const char *expr, int genre, int touch, int dry_run)
{
	char tags[c->ntag_thresholds + 1][256], err[4096];
	const char *tagp[c->ntag_thresholds + 1];
	double scores[c->ntag_thresholds + 1];
	struct mtag_threshold thr[c->ntag_thresholds + 1];
	struct mtag_tag_rule r;
	struct mtag_writeback_opts o;
	mtag_writeback *wb;
	size_t n = 0, i, written = 0, failed = 0;
	int64_t *ids = NULL;
	char **paths = NULL;
	time_t shown = time(NULL);
	int rc;

	rule(c, tags, tagp, scores, thr, &r);
	o = (struct mtag_writeback_opts){ r.top_n, r.min_score, r.sure_score,
	    tagp, scores, r.nthresholds, genre, touch };
	if ((wb = mtag_writeback_new(db, model, &o, err, sizeof(err))) ==
	    NULL) {
		log_warnx("%s", err);
		return 1;
	}
	if (expr != NULL)
		rc = select_tracks(c, model, &r, expr, &ids, &paths, &n);
	else if ((rc = mtag_writeback_tracks(wb, NULL, 0, &ids, &paths, &n,
	    err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		rc = 1;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		switch (mtag_writeback_file(wb, ids[i], paths[i],
		    dry_run ? stdout : NULL, err, sizeof(err))) {
		case -1:
			log_warnx("%s", err);
			failed++;
			break;
		case 1:
			written++;
			break;
		}
		if (isatty(STDERR_FILENO) && time(NULL) != shown) {
			shown = time(NULL);
			fprintf(stderr, "\r%zu/%zu files", i + 1, n);
		}
	}
	if (rc == 0) {
		if (isatty(STDERR_FILENO) && n > 0)
			fprintf(stderr, "\r");
		fprintf(stderr, "%zu file%s %s, %zu unchanged, %zu failed",
		    written, written == 1 ? "" : "s", dry_run ? "to write" :
		    "written", n - written - failed, failed);
		if (mtag_writeback_run(wb) != 0)
			fprintf(stderr, " (run %lld: mtagctl writeback "
			    "--undo=%lld undoes it)",
			    (long long)mtag_writeback_run(wb),
			    (long long)mtag_writeback_run(wb));
		fprintf(stderr, "\n");
		rc = failed > 0;
	}
	mtag_writeback_tracks_free(ids, paths, n);
	mtag_writeback_free(wb);
	return rc;
}

/* The MTAG_GENRE_* policy named name, as the configuration's genre option
 * names them, or -1. */
static int
genre_policy(const char *name)
{
	const char *const *names;
	int i, j;

	for (i = 0; i < mtag_conf_nopts; i++) {
		if (strcmp(mtag_conf_opts[i].key, "genre") != 0)
			continue;
		names = mtag_conf_opts[i].names;
		for (j = 0; names[j] != NULL; j++)
			if (strcmp(names[j], name) == 0)
				return j;
	}
	return -1;
}

int
cmd_writeback(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "genre", required_argument, NULL, 'g' },
		{ "touch", no_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "undo", optional_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mtag_conf c = { 0 };
	const char *model = NULL, *expr;
	int64_t run = 0;
	mtag_db *db;
	char err[1024], *end;
	int ch, undo = 0, dry_run = 0, touch = 0, genre = -1, rc;

	while ((ch = getopt_long(argc, argv, MTAGCTL_SHORTOPTS "nh", opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'g':
			if ((genre = genre_policy(optarg)) < 0) {
				log_warnx("--genre: '%s' is not keep, fill, "
				    "replace or append", optarg);
				return 2;
			}
			break;
		case 't':
			touch = 1;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'u':
			undo = 1;
			if (optarg != NULL && ((run = strtoll(optarg, &end,
			    10)) <= 0 || *end != '\0')) {
				log_warnx("--undo: '%s' is not a run number",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			writeback_usage(stdout);
			return 0;
		default:
			writeback_usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1 || (undo && (argc > optind || model != NULL ||
	    genre >= 0 || touch))) {
		writeback_usage(stderr);
		return 2;
	}
	expr = optind < argc ? argv[optind] : NULL;	/* before mtagctl_conf */
	if (mtagctl_conf(&c) != 0)
		return 1;
	if (access(c.db_path, F_OK) != 0) {
		log_warnx("%s: no database yet: mtagd makes it", c.db_path);
		mtag_conf_free(&c);
		return 1;
	}
	if ((db = mtag_db_open(c.db_path, 0, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		mtag_conf_free(&c);
		return 1;
	}
	if (undo) {
		if ((rc = mtag_writeback_undo(db, run, dry_run ? stdout : NULL,
		    err, sizeof(err))) == -1)
			log_warnx("%s", err);
		else if (rc > 0)
			log_warnx("%d file%s not restored", rc,
			    rc == 1 ? "" : "s");
		rc = rc != 0;
	} else
		rc = write_tracks(&c, db, model != NULL ? model : c.model,
		    expr, genre >= 0 ? genre :
		    c.genre, touch, dry_run);
	mtag_db_close(db);
	mtag_conf_free(&c);
	return rc;
}

/* mtagctl status, scan, pause and resume: talking to a running mtagd over
 * its control socket, or reading the database when none runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "conf.h"
#include "control.h"
#include "db.h"
#include "json.h"
#include "log.h"

#define MAX_LINES 256

/* The daemon's answer: key=value lines. */
struct answer {
	char *buf;
	char *key[MAX_LINES], *val[MAX_LINES];
	int n;
};

/* Sends cmd; returns 0 with the answer, 1 when no daemon runs, -1. */
static int
ask(const char *cmd, struct answer *a)
{
	char path[4096], err[512], *line, *save;
	size_t len;
	FILE *mem;
	int rc;

	memset(a, 0, sizeof(*a));
	if (mtag_control_path(path, sizeof(path)) < 0) {
		log_warnx("the control socket's path is too long");
		return -1;
	}
	if ((mem = open_memstream(&a->buf, &len)) == NULL) {
		log_warn("open_memstream");
		return -1;
	}
	rc = mtag_control_request(path, cmd, mem, err, sizeof(err));
	fclose(mem);
	if (rc < 0)
		log_warnx("%s", err);
	if (rc != 0)
		return rc;
	for (line = strtok_r(a->buf, "\n", &save); line != NULL &&
	    a->n < MAX_LINES; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		a->key[a->n] = line;
		a->val[a->n++] = eq + 1;
	}
	return 0;
}

static const char *
get(const struct answer *a, const char *key)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->key[i], key) == 0)
			return a->val[i];
	return NULL;
}

/* Numbers stay numbers; root and job lines become arrays. */
static void
print_json(const struct answer *a)
{
	static const char *const lists[] = { "root", "job" };
	int i, j, k, first = 1;

	printf("{\"daemon_running\": true");
	for (i = 0; i < a->n; i++) {
		char *end;

		for (k = 0; k < 2 && strcmp(a->key[i], lists[k]) != 0; k++)
			;
		if (k < 2)
			continue;
		printf(", ");
		mtag_json_string(stdout, a->key[i]);
		printf(": ");
		strtod(a->val[i], &end);
		if (*a->val[i] != '\0' && *end == '\0')
			printf("%s", a->val[i]);
		else
			mtag_json_string(stdout, a->val[i]);
	}
	for (k = 0; k < 2; k++) {
		printf(", \"%ss\": [", lists[k]);
		for (j = 0, first = 1; j < a->n; j++) {
			if (strcmp(a->key[j], lists[k]) != 0)
				continue;
			printf("%s", first ? "" : ", ");
			mtag_json_string(stdout, a->val[j]);
			first = 0;
		}
		printf("]");
	}
	printf("}\n");
}

static void
print_text(const struct answer *a)
{
	const char *v;
	int i, first = 1;

	printf("mtagd running (pid %s), model %s\n", get(a, "pid"),
	    get(a, "model"));
	printf("database: %s\n", get(a, "database"));
	for (i = 0; i < a->n; i++)
		if (strcmp(a->key[i], "root") == 0)
			printf("%s %s\n", first++ == 1 ? "library:" :
			    "        ", a->val[i]);
	printf("tracks: %s known, %s analysed, %s pending, %s failed\n",
	    get(a, "tracks"), get(a, "analysed"), get(a, "pending"),
	    get(a, "failed"));
	if ((v = get(a, "rate")) != NULL && atof(v) > 0) {
		printf("throughput: %.2f tracks/s", atof(v));
		if ((v = get(a, "eta_seconds")) != NULL)
			printf(", about %.0f min left", atof(v) / 60);
		printf("\n");
	}
	for (i = 0, first = 1; i < a->n; i++)
		if (strcmp(a->key[i], "job") == 0)
			printf("%s %s\n", first++ == 1 ? "analysing:" :
			    "          ", a->val[i]);
	if (strcmp(get(a, "paused") ? get(a, "paused") : "0", "1") == 0)
		printf("analysis paused\n");
	if (strcmp(get(a, "scanning") ? get(a, "scanning") : "0", "1") == 0)
		printf("scanning the library\n");
	printf("inotify: %s directories watched (limit %s)%s\n",
	    get(a, "watches"), get(a, "watch_limit"),
	    strcmp(get(a, "watch_limited") ? get(a, "watch_limited") : "0",
	    "1") == 0 ? ", limit reached: periodic rescans" : "");
}

/* No daemon: what the database holds. Exit status 3, as for LSB status. */
static int
status_offline(int json)
{
	struct mtag_db_counts c;
	struct mtag_conf conf;
	char err[1024];
	mtag_db *db;

	if (json)
		printf("{\"daemon_running\": false");
	else
		printf("mtagd is not running\n");
	if (mtagctl_conf(&conf) != 0)
		return 1;
	if (access(conf.db_path, F_OK) != 0) {
		if (json)
			printf(", \"database\": null}\n");
		else
			printf("no database yet (%s)\n", conf.db_path);
	} else if ((db = mtag_db_open(conf.db_path, MTAG_DB_READONLY, err,
	    sizeof(err))) == NULL || mtag_db_counts(db, 0, &c) < 0) {
		if (json)
			printf("}\n");
		log_warnx("%s", db ? mtag_db_errmsg(db) : err);
		mtag_db_close(db);
		mtag_conf_free(&conf);
		return 1;
	} else {
		if (json) {
			printf(", \"database\": ");
			mtag_json_string(stdout, conf.db_path);
			printf(", \"tracks\": %lld, \"analysed\": %lld, "
			    "\"pending\": %lld, \"failed\": %lld}\n",
			    (long long)c.tracks, (long long)c.analysed,
			    (long long)c.pending, (long long)c.failed);
		} else {
			printf("database: %s\ntracks: %lld known, %lld "
			    "analysed, %lld pending, %lld failed\n",
			    conf.db_path, (long long)c.tracks,
			    (long long)c.analysed, (long long)c.pending,
			    (long long)c.failed);
		}
		mtag_db_close(db);
	}
	mtag_conf_free(&conf);
	return 3;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		MTAGCTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct answer a;
	int ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, "jh" MTAGCTL_SHORTOPTS, opts,
	    NULL)) != -1) {
		if (mtagctl_option(ch, optarg))
			continue;
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("usage: mtagctl status [--json]\n");
			return 0;
		default:
			fprintf(stderr, "usage: mtagctl status [--json]\n");
			return 2;
		}
	}
	if ((rc = ask("status", &a)) < 0)
		return 1;
	if (rc == 1)
		return status_offline(json);
	if (json)
		print_json(&a);
	else
		print_text(&a);
	free(a.buf);
	return 0;
}

/* scan, pause, resume: one command, one line of answer. */
int
cmd_control(int argc, char **argv)
{
	struct answer a;
	const char *v;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("usage: mtagctl %s\n", argv[0]);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: mtagctl %s\n", argv[0]);
		return 2;
	}
	if ((rc = ask(argv[0], &a)) < 0)
		return 1;
	if (rc == 1) {
		log_warnx("mtagd is not running");
		return 1;
	}
	if ((v = get(&a, "error")) != NULL) {
		log_warnx("mtagd: %s", v);
		rc = 1;
	} else if ((v = get(&a, "ok")) != NULL) {
		printf("%s\n", v);
	}
	free(a.buf);
	return rc;
}

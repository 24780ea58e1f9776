/*
 * Tests for indexer/writeback.c and the database's writeback journal:
 * removing the temporary files of dead writers only, and the journal's
 * round trip. With arguments it is test_writeback.sh's tool instead:
 * "library DB FILE..." records the files in a new database with the same
 * scores for each, as if mtagd had analysed them with musicnn-mtat;
 * "tags FILE..." prints the fields writeback writes, one file a line.
 */
#include <sys/file.h>

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "meta.h"
#include "sha256.h"
#include "testutil.h"
#include "vocab.h"
#include "writeback.h"

#define CHECKSUM	"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"

/* The scores every file gets: the others score 0.01. */
static const struct {
	const char *tag;
	float score;
} profile[] = {
	{ "rock", 0.83f }, { "guitar", 0.71f }, { "electronic", 0.62f },
	{ "soft", 0.60f }, { "pop", 0.55f }, { "dance", 0.52f },
};

static int
library(const char *dbpath, char **files, int nfiles)
{
	const char *const *tags = mtag_vocab_builtin("mtat");
	float probs[MTAG_VOCAB_SIZE], emb[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	double start = 0;
	char err[1024], hash[65], *path;
	mtag_meta meta = { 0 };
	struct stat st;
	int64_t model, id;
	mtag_db *db;
	size_t j;
	int i;

	for (i = 0; i < MTAG_VOCAB_SIZE; i++) {
		probs[i] = 0.01f;
		for (j = 0; j < sizeof(profile) / sizeof(profile[0]); j++)
			if (strcmp(tags[i], profile[j].tag) == 0)
				probs[i] = profile[j].score;
	}
	if ((db = mtag_db_open(dbpath, 0, err, sizeof(err))) == NULL ||
	    mtag_db_model_ensure(db, "musicnn-mtat", "musicnn", "mtat",
	    CHECKSUM, (char *const *)tags, MTAG_VOCAB_SIZE, &model) == -1) {
		fprintf(stderr, "%s\n", db == NULL ? err : mtag_db_errmsg(db));
		return 1;
	}
	for (i = 0; i < nfiles; i++) {
		if (stat(files[i], &st) == -1 ||
		    mtag_sha256_file(files[i], hash) == -1) {
			perror(files[i]);
			return 1;
		}
		if (mtag_meta_read(files[i], &meta, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (mtag_db_track_put(db, files[i], &st, hash, &meta, 0, &id,
		    NULL) == -1) {
			fprintf(stderr, "%s\n", mtag_db_errmsg(db));
			return 1;
		}
		mtag_meta_clear(&meta);
	}
	while (mtag_db_job_claim(db, model, &id, &path) == 1) {
		free(path);
		if (mtag_db_job_done(db, id, model, probs, MTAG_VOCAB_SIZE, emb,
		    8, probs, &start, 1) == -1) {
			fprintf(stderr, "%s\n", mtag_db_errmsg(db));
			return 1;
		}
	}
	mtag_db_close(db);
	return 0;
}

static int
tags(char **files, int nfiles)
{
	mtag_meta_field f[] = { { .key = "GENRE" }, { .key = "MOOD" },
	    { .key = "MTAG_TAGS" }, { .key = "MTAG_MODEL" } };
	const int n = sizeof(f) / sizeof(f[0]);
	char err[1024];
	int i, j, k;

	for (i = 0; i < nfiles; i++) {
		if (mtag_meta_get(files[i], f, n, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s", files[i]);
		for (j = 0; j < n; j++) {
			printf("|%s=", f[j].key);
			for (k = 0; k < f[j].nvalues; k++)
				printf("%s%s", k ? ";" : "", f[j].values[k]);
		}
		printf("\n");
		mtag_meta_fields_clear(f, n);
	}
	return 0;
}

static void
touch(const char *dir, const char *name)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static int
exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Only unlocked files named like a writer's copies go. */
static void
test_cleanup(const char *dir)
{
	char path[PATH_MAX], err[1024];
	int fd;

	touch(dir, ".song.mp3.mtag-AbC123");
	touch(dir, ".held.flac.mtag-XyZ789");
	touch(dir, "song.mp3.mtag-AbC123");
	touch(dir, ".short.mtag-AB");
	touch(dir, "song.mp3");
	snprintf(path, sizeof(path), "%s/.held.flac.mtag-XyZ789", dir);
	if ((fd = open(path, O_RDONLY)) == -1 || flock(fd, LOCK_EX) == -1) {
		perror(path);
		exit(1);
	}
	CHECK(mtag_writeback_cleanup(dir, err, sizeof(err)) == 1);
	CHECK(!exists(dir, ".song.mp3.mtag-AbC123"));
	CHECK(exists(dir, ".held.flac.mtag-XyZ789"));
	CHECK(exists(dir, "song.mp3.mtag-AbC123"));
	CHECK(exists(dir, ".short.mtag-AB"));
	CHECK(exists(dir, "song.mp3"));
	close(fd);
	CHECK(mtag_writeback_cleanup(dir, err, sizeof(err)) == 1);
	CHECK(!exists(dir, ".held.flac.mtag-XyZ789"));
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK(mtag_writeback_cleanup(path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "missing: No such file") != NULL);
}

struct row {
	int n;
	char text[1024];
};

static int
add_row(void *arg, const char *path, const char *field, const char *old,
    const char *new)
{
	struct row *r = arg;
	size_t len = strlen(r->text);

	snprintf(r->text + len, sizeof(r->text) - len, "%s|%s|%s|%s\n",
	    strrchr(path, '/') + 1, field, old != NULL ? old : "(null)",
	    new != NULL ? new : "(null)");
	r->n++;
	return 0;
}

static void
test_journal(const char *dir)
{
	const char *fields[] = { "GENRE", "MTAG_TAGS" };
	const char *old[] = { "Jazz\x1f" "Blues", NULL };
	const char *new[] = { "Jazz\x1f" "Blues\x1frock", "rock=0.83" };
	struct row r = { 0 };
	char path[PATH_MAX], err[1024];
	int64_t run, last = 0;
	mtag_db *db;

	snprintf(path, sizeof(path), "%s/journal.db", dir);
	if ((db = mtag_db_open(path, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	CHECK(mtag_db_journal_last(db, &last) == 0);
	CHECK(mtag_db_journal_begin(db, "musicnn-mtat", &run) == 0);
	CHECK(mtag_db_journal_put(db, run, "/music/b.flac", 2, fields, old,
	    new) == 0);
	CHECK(mtag_db_journal_put(db, run, "/music/a.mp3", 1, fields, old,
	    new) == 0);
	CHECK(mtag_db_journal_last(db, &last) == 1 && last == run);
	CHECK(mtag_db_journal_read(db, run, add_row, &r) == 0);
	CHECK(r.n == 3);
	CHECK(strcmp(r.text, "a.mp3|GENRE|Jazz\x1f" "Blues|Jazz\x1f"
	    "Blues\x1frock\n"
	    "b.flac|GENRE|Jazz\x1f" "Blues|Jazz\x1f" "Blues\x1frock\n"
	    "b.flac|MTAG_TAGS|(null)|rock=0.83\n") == 0);
	CHECK(mtag_db_journal_read(db, run + 1, add_row, &r) == -1);
	CHECK(strstr(mtag_db_errmsg(db), "no writeback run") != NULL);
	CHECK(mtag_db_journal_undone(db, run) == 0);
	CHECK(mtag_db_journal_last(db, &last) == 0);
	CHECK(mtag_writeback_undo(db, 0, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no writeback run to undo") != NULL);
	mtag_db_close(db);
	unlink(path);
	strcat(path, "-wal");
	unlink(path);
	path[strlen(path) - 4] = '\0';
	strcat(path, "-shm");
	unlink(path);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/mtag_test_writeback.XXXXXX", path[PATH_MAX];

	if (argc > 2 && strcmp(argv[1], "library") == 0)
		return library(argv[2], argv + 3, argc - 3);
	if (argc > 1 && strcmp(argv[1], "tags") == 0)
		return tags(argv + 2, argc - 2);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	test_cleanup(dir);
	test_journal(dir);
	snprintf(path, sizeof(path), "%s/song.mp3", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/song.mp3.mtag-AbC123", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.short.mtag-AB", dir);
	unlink(path);
	if (rmdir(dir) != 0)
		perror(dir);
	return test_failures ? 1 : 0;
}

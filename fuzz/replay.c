/* Replays inputs through a fuzz target without libFuzzer: every file named
 * on the command line, and every file of the folders named, is passed to
 * LLVMFuzzerTestOneInput once. Normal builds link it with each target so
 * that make check runs the corpora. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the file at path through the target. Returns 0, or -1 when it
 * cannot be read. */
static int
replay_file(const char *path)
{
	uint8_t *data = NULL, *n;
	size_t size = 0, cap = 0, got;
	FILE *f;
	int r = 0;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (size == cap) {
			cap = cap ? 2 * cap : 65536;
			if ((n = realloc(data, cap)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				r = -1;
				break;
			}
			data = n;
		}
		got = fread(data + size, 1, cap - size, f);
		size += got;
	} while (got > 0);
	if (r == 0 && ferror(f)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		r = -1;
	}
	fclose(f);
	if (r == 0)
		LLVMFuzzerTestOneInput(data, size);
	free(data);
	return r;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the files of the folder dir, in name order. Returns their number,
 * or -1 when one cannot be read. */
static int
replay_dir(const char *dir)
{
	struct dirent *de;
	char **names = NULL, **n, path[4096];
	size_t count = 0, i;
	struct stat st;
	int r = 0, done = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((n = realloc(names, (count + 1) * sizeof(*n))) == NULL ||
		    (n[count] = strdup(de->d_name)) == NULL) {
			fprintf(stderr, "%s: out of memory\n", dir);
			if (n != NULL)
				names = n;
			r = -1;
			break;
		}
		names = n;
		count++;
	}
	closedir(d);
	if (names != NULL)
		qsort(names, count, sizeof(*names), by_name);
	for (i = 0; r == 0 && i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		if ((r = replay_file(path)) == 0)
			done++;
	}
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return r == 0 ? done : -1;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, n, total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file|dir...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(argv[i]) == 0 ? 1 : -1;
		if (n == -1)
			return 1;
		total += n;
	}
	printf("%s: %d inputs replayed\n", argv[0], total);
	return 0;
}

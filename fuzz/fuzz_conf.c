/* libFuzzer target for mtagd's configuration file parser (daemon/conf.c):
 * loads the input as the -c file and, when it is valid, checks that the
 * configuration printed from it reads back the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static char dir[] = "/tmp/mtag-fuzz-conf.XXXXXX";
static char path[sizeof(dir) + 16];

static void
fail(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_conf: %s: %s\n", what, why);
	abort();
}

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

/* Writes size bytes of data to the configuration file. */
static void
put(const void *data, size_t size)
{
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, size, f) != size || fclose(f) != 0)
		fail(path, "cannot write");
}

/* Loads the configuration file into c and prints it into a new string
 * (*text, malloc'd). Returns mtag_conf_load's result. */
static int
load(struct mtag_conf *c, char **text)
{
	char *argv[] = { "mtagd", "-c", path, NULL }, err[1024];
	size_t len;
	FILE *f;
	int r;

	err[0] = '\0';
	*text = NULL;
	if ((r = mtag_conf_load(c, 3, argv, err, sizeof(err))) != 0) {
		if (r != 2 || err[0] == '\0')
			fail(path, "failure without a message");
		return r;
	}
	if ((f = open_memstream(text, &len)) == NULL)
		fail("open_memstream", "out of memory");
	mtag_conf_print(c, f);
	if (fclose(f) != 0)
		fail("open_memstream", "out of memory");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtag_conf c, again;
	char *text, *text2;

	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			fail(dir, "cannot create");
		snprintf(path, sizeof(path), "%s/mtag.conf", dir);
		atexit(cleanup);
		/* The default database goes to the data folder. */
		setenv("MTAG_DATA_DIR", dir, 1);
	}
	put(data, size);
	if (load(&c, &text) != 0)
		return 0;
	put(text, strlen(text));
	if (load(&again, &text2) != 0)
		fail(text, "the printed configuration does not load");
	if (strcmp(text, text2) != 0)
		fail(text, "reads back differently");
	free(text);
	free(text2);
	mtag_conf_free(&c);
	mtag_conf_free(&again);
	return 0;
}

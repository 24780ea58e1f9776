/* Helpers shared by the test programs: locating ../shared and checking. */
#ifndef MTAG_TESTUTIL_H
#define MTAG_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define TEST_SKIP 77

static int test_failures;

#define CHECK(cond) do {                                                \
	if (!(cond)) {                                                  \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,  \
		    __LINE__, #cond);                                   \
		test_failures++;                                        \
	}                                                               \
} while (0)

/* The shared data folder (MTAG_SHARED_DIR), or exits 77 when it is absent. */
static inline const char *
test_shared_dir(void)
{
	const char *d = getenv("MTAG_SHARED_DIR");
	struct stat st;

	if (d == NULL || stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "shared data folder %s absent: skipping\n",
		    d ? d : "(MTAG_SHARED_DIR unset)");
		exit(TEST_SKIP);
	}
	return d;
}

/* Path of a file under the shared folder, in a static buffer per call site. */
#define SHARED_PATH(buf, rel) \
	(snprintf((buf), sizeof(buf), "%s/%s", test_shared_dir(), (rel)), (buf))

#endif

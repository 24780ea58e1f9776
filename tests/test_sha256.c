/* Tests of common/sha256.c: the FIPS 180-4 example messages, hashing in
 * pieces split at odd points, and the published checkpoints' SHA256SUMS. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "testutil.h"

static const struct {
	const char *msg;
	const char *hex;
} vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static const char million_a_hex[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

/* Hashes msg fed in pieces whose sizes cycle through steps. */
static void
hash_pieces(const unsigned char *msg, size_t len, const size_t *steps,
    size_t nsteps, char hex[65])
{
	unsigned char digest[MTAG_SHA256_LEN];
	mtag_sha256 s;
	size_t off = 0, i = 0, n;

	mtag_sha256_init(&s);
	while (off < len) {
		n = steps[i++ % nsteps];
		if (n > len - off)
			n = len - off;
		mtag_sha256_update(&s, msg + off, n);
		off += n;
	}
	mtag_sha256_final(&s, digest);
	mtag_sha256_hex(digest, hex);
}

static void
test_vectors(void)
{
	static const size_t whole[] = { (size_t)-1 };
	static const size_t odd[] = { 1, 3, 7, 13, 55, 63, 64, 65, 127 };
	static unsigned char million[1000000];
	char hex[65];
	size_t i, k;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const unsigned char *m = (const unsigned char *)vectors[i].msg;
		size_t len = strlen(vectors[i].msg);

		hash_pieces(m, len, whole, 1, hex);
		CHECK(strcmp(hex, vectors[i].hex) == 0);
		hash_pieces(m, len, odd, sizeof(odd) / sizeof(odd[0]), hex);
		CHECK(strcmp(hex, vectors[i].hex) == 0);
		/* every split of the message in two */
		for (k = 1; k < len; k++) {
			size_t two[] = { k, len };

			hash_pieces(m, len, two, 2, hex);
			CHECK(strcmp(hex, vectors[i].hex) == 0);
		}
	}

	memset(million, 'a', sizeof(million));
	hash_pieces(million, sizeof(million), whole, 1, hex);
	CHECK(strcmp(hex, million_a_hex) == 0);
	hash_pieces(million, sizeof(million), odd, sizeof(odd) / sizeof(odd[0]),
	    hex);
	CHECK(strcmp(hex, million_a_hex) == 0);
}

/* Checks every line "HEX  DATASET/ARCH/best_model.pth" of SHA256SUMS. */
static void
test_files(void)
{
	char sums[4096], path[4096], line[512], want[65], rel[256], hex[65];
	FILE *f;
	int nfiles = 0;

	f = fopen(SHARED_PATH(sums, "models/pretrained/SHA256SUMS"), "r");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		CHECK(sscanf(line, "%64s %255s", want, rel) == 2);
		snprintf(path, sizeof(path), "%s/models/pretrained/%s",
		    test_shared_dir(), rel);
		CHECK(mtag_sha256_file(path, hex) == 0);
		if (strcmp(hex, want) != 0) {
			fprintf(stderr, "%s: got %s, want %s\n", path, hex, want);
			test_failures++;
		}
		nfiles++;
	}
	fclose(f);
	CHECK(nfiles == 8);

	errno = 0;
	CHECK(mtag_sha256_file(SHARED_PATH(path, "models/absent.pth"), hex) ==
	    -1);
	CHECK(errno == ENOENT);
}

int
main(void)
{
	test_vectors();
	if (test_failures == 0)
		test_files();
	return test_failures ? 1 : 0;
}

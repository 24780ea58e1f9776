/* SHA-256 (FIPS 180-4): hashing byte streams and whole files, used to
 * verify downloaded checkpoints and to identify installed ones. */
#ifndef MTAG_SHA256_H
#define MTAG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MTAG_SHA256_LEN 32

typedef struct mtag_sha256 {
	uint32_t h[8];			/* intermediate hash value */
	uint64_t nbytes;		/* message length so far */
	unsigned char block[64];	/* pending bytes of the current block */
	size_t fill;			/* how many of block are pending */
} mtag_sha256;

/* Starts a new hash. */
void mtag_sha256_init(mtag_sha256 *s);
/* Appends len bytes of data to the message. */
void mtag_sha256_update(mtag_sha256 *s, const void *data, size_t len);
/* Pads the message and writes its digest to out; s must be initialised
 * again before reuse. */
void mtag_sha256_final(mtag_sha256 *s, unsigned char out[MTAG_SHA256_LEN]);
/* Writes digest as 64 lowercase hex digits and a NUL. */
void mtag_sha256_hex(const unsigned char digest[MTAG_SHA256_LEN],
    char hex[65]);
/* Hashes the contents of the file at path into hex (lowercase). Returns 0,
 * or -1 with errno set when the file cannot be opened or read. */
int mtag_sha256_file(const char *path, char hex[65]);

#endif

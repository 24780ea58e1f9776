/*
 * libFuzzer harness for indexer/decode.c: the input bytes become a file (a
 * memfd, opened by its /proc/self/fd path like any file of a library) that
 * is decoded the way the model decodes a track: its exact length, then the
 * windows of evenly spread chunks, or the whole file when the length is
 * unknown. The limits are lower than mtagd's, to keep each run short.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode.h"

#define RATE	16000
#define NCHUNKS	4
#define CHUNK	(3 * RATE)

static int
write_all(int fd, const uint8_t *data, size_t size)
{
	ssize_t n;

	while (size > 0) {
		if ((n = write(fd, data, size)) <= 0)
			return -1;
		data += n;
		size -= n;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	size_t n, starts[NCHUNKS];
	float *pcm = NULL;
	static const struct mtag_decode_limits limits = {
		.timeout = 10, .max_seconds = 600,
	};
	static int init;
	int fd, i;

	if (!init) {
		init = 1;
		if (mtag_decode_set_limits(&limits) < 0)
			abort();
	}
	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		abort();
	}
	if (write_all(fd, data, size) < 0) {
		perror("write");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	if (mtag_decode_length(path, RATE, &n, err, sizeof(err)) == 0) {
		if (n == 0) {
			if (mtag_decode_file(path, RATE, 0, &pcm, &n, err,
			    sizeof(err)) == 0)
				free(pcm);
		} else {
			for (i = 0; i < NCHUNKS; i++)
				starts[i] = n > CHUNK ?
				    (n - CHUNK) / (NCHUNKS - 1) * i : 0;
			if (mtag_decode_windows(path, RATE, n, starts,
			    NCHUNKS, CHUNK, &pcm, err, sizeof(err)) == 0)
				free(pcm);
		}
	}
	close(fd);
	return 0;
}

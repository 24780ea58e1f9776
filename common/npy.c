/* Reading and writing float32 NumPy .npy arrays (format version 1.0). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

static const char npy_magic[] = "\x93NUMPY";

int
mtag_npy_write(const char *path, const float *data, int ndim,
    const size_t *shape)
{
	char hdr[256], dims[160] = "";
	size_t n = 1, len, pad;
	FILE *f;
	int i, ok;

	for (i = 0; i < ndim; i++) {
		size_t used = strlen(dims);

		snprintf(dims + used, sizeof(dims) - used, "%zu%s", shape[i],
		    ndim == 1 || i + 1 < ndim ? ", " : "");
		n *= shape[i];
	}
	len = snprintf(hdr, sizeof(hdr),
	    "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
	/* Magic, version, length and header end on a 64-byte boundary. */
	pad = 64 - (10 + len + 1) % 64;
	if (pad == 64)
		pad = 0;
	memset(hdr + len, ' ', pad);
	len += pad;
	hdr[len++] = '\n';
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(npy_magic, 1, 6, f) == 6 &&
	    fputc(1, f) != EOF && fputc(0, f) != EOF &&
	    fputc(len & 0xff, f) != EOF && fputc(len >> 8, f) != EOF &&
	    fwrite(hdr, 1, len, f) == len &&
	    fwrite(data, sizeof(float), n, f) == n;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int
mtag_npy_read(const char *path, float **data, int *ndim, size_t shape[4],
    char *err, size_t errlen)
{
	unsigned char pre[10];
	char hdr[1024], *p;
	size_t hlen, n = 1;
	FILE *f;
	int nd = 0;

	*data = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, npy_magic, 6) != 0 ||
	    pre[6] != 1) {
		snprintf(err, errlen, "%s: not a version 1 .npy file", path);
		goto fail;
	}
	hlen = pre[8] | (size_t)pre[9] << 8;
	if (hlen >= sizeof(hdr) || fread(hdr, 1, hlen, f) != hlen) {
		snprintf(err, errlen, "%s: bad .npy header", path);
		goto fail;
	}
	hdr[hlen] = '\0';
	if (strstr(hdr, "'<f4'") == NULL ||
	    strstr(hdr, "'fortran_order': False") == NULL ||
	    (p = strstr(hdr, "'shape': (")) == NULL) {
		snprintf(err, errlen, "%s: not a C-order float32 array", path);
		goto fail;
	}
	for (p += 10; *p != ')'; ) {
		char *end;
		unsigned long long d = strtoull(p, &end, 10);

		if (end == p || nd == 4 || d > SIZE_MAX / (n ? n : 1)) {
			snprintf(err, errlen, "%s: bad .npy shape", path);
			goto fail;
		}
		shape[nd++] = d;
		n *= d;
		for (p = end; *p == ',' || *p == ' '; p++)
			;
	}
	*ndim = nd;
	if ((*data = malloc(n ? n * sizeof(float) : 1)) == NULL ||
	    fread(*data, sizeof(float), n, f) != n) {
		snprintf(err, errlen, "%s: truncated .npy data", path);
		free(*data);
		*data = NULL;
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

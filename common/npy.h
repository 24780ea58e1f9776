/* Reading and writing float32 NumPy .npy arrays (format version 1.0). */
#ifndef MTAG_NPY_H
#define MTAG_NPY_H

#include <stddef.h>

/* Writes a C-order '<f4' array of the given shape. Returns 0 or -1 (errno). */
int mtag_npy_write(const char *path, const float *data, int ndim,
    const size_t *shape);

/* Reads a C-order '<f4' array: malloc'd data in *data, up to 4 dimensions
 * in shape, their count in *ndim. Returns 0, or -1 with a message in err. */
int mtag_npy_read(const char *path, float **data, int *ndim, size_t shape[4],
    char *err, size_t errlen);

#endif

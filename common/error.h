/* Error messages returned through a caller's buffer: "PATH: cause". */
#ifndef MTAG_ERROR_H
#define MTAG_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Formats "path: message" (just the message when path is NULL) into err,
 * which may be NULL or empty. Returns -1, for `return mtag_seterr(...)`. */
int mtag_seterr(char *err, size_t errlen, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
int mtag_vseterr(char *err, size_t errlen, const char *path, const char *fmt,
    va_list ap);

#ifdef __cplusplus
}
#endif

#endif

/* Error messages returned through a caller's buffer. */
#include <stdio.h>

#include "error.h"

int
mtag_vseterr(char *err, size_t errlen, const char *path, const char *fmt,
    va_list ap)
{
	int n = 0;

	if (err == NULL || errlen == 0)
		return -1;
	if (path != NULL)
		n = snprintf(err, errlen, "%s: ", path);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	return -1;
}

int
mtag_seterr(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtag_vseterr(err, errlen, path, fmt, ap);
	va_end(ap);
	return -1;
}

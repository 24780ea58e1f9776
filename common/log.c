/* Logging for mtag programs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_prog = "mtag";
static int log_level = MTAG_LOG_INFO;

void
log_init(const char *progname, int level)
{
	log_prog = progname;
	log_level = level;
}

static void
vlog(int level, const char *suffix, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fprintf(stderr, "%s: ", log_prog);
	vfprintf(stderr, fmt, ap);
	if (suffix != NULL)
		fprintf(stderr, ": %s", suffix);
	fputc('\n', stderr);
}

#define LOG_FN(fn, level)                        \
	void fn(const char *fmt, ...)            \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		vlog(level, NULL, fmt, ap);      \
		va_end(ap);                      \
	}

LOG_FN(log_warnx, MTAG_LOG_WARN)
LOG_FN(log_info, MTAG_LOG_INFO)
LOG_FN(log_debug, MTAG_LOG_DEBUG)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(MTAG_LOG_WARN, e, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(MTAG_LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

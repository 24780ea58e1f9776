/* Logging for mtag programs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "mtag";
static int log_level = MTAG_LOG_INFO;
static int log_syslog;

void
log_init(const char *progname, int level)
{
	log_prog = progname;
	log_level = level;
}

void
log_to_syslog(void)
{
	openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

static void
vlog(int level, const char *suffix, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
	    LOG_DEBUG };
	char msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog)
		syslog(prio[level], "%s%s%s", msg, suffix ? ": " : "",
		    suffix ? suffix : "");
	else
		fprintf(stderr, "%s: %s%s%s\n", log_prog, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
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

/* Logging for mtag programs: to stderr (or syslog for the daemon), by level. */
#ifndef MTAG_LOG_H
#define MTAG_LOG_H

enum { MTAG_LOG_ERROR, MTAG_LOG_WARN, MTAG_LOG_INFO, MTAG_LOG_DEBUG };

/* Sets the program name printed before each message and the most verbose
 * level printed (MTAG_LOG_INFO by default). */
void log_init(const char *progname, int level);

/* Sends messages to syslog (the journal) instead of stderr. */
void log_to_syslog(void);

void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at error level and exits with status 1. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif

/* Telling systemd about the daemon's state (the sd_notify protocol), without
 * linking libsystemd. Does nothing when NOTIFY_SOCKET is unset. */
#ifndef MTAG_NOTIFY_H
#define MTAG_NOTIFY_H

#include <stdint.h>

/* Sends one state line such as "READY=1" or "STATUS=..." (printf format). */
void mtag_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval in microseconds (WATCHDOG_USEC when it is meant for
 * this process), or 0 when no watchdog is set. */
uint64_t mtag_notify_watchdog_usec(void);

#endif

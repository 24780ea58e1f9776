/* The control socket between mtagd and mtagctl: a Unix stream socket under
 * $XDG_RUNTIME_DIR/mtag/ (mode 0600). A client sends one command line
 * ("status", "scan", "pause", "resume"); the daemon answers with
 * "key=value" lines, "error=MESSAGE" on failure, and closes. */
#ifndef MTAG_CONTROL_H
#define MTAG_CONTROL_H

#include <stddef.h>
#include <stdio.h>

/* Writes the socket path: $MTAG_CONTROL_SOCKET if set, else
 * $XDG_RUNTIME_DIR/mtag/control, else /tmp/mtag-UID/control. Returns 0, or
 * -1 when it does not fit. */
int mtag_control_path(char *buf, size_t len);

/* Creates the socket's folder (0700) and listens on the socket (0600),
 * replacing a stale one. Returns the descriptor, or -1 with a message in
 * err (another daemon listening is an error). */
int mtag_control_listen(const char *path, char *err, size_t errlen);

/* Sends cmd to the daemon and copies its answer to out. Returns 0, 1 when
 * no daemon listens, or -1 with a message in err. */
int mtag_control_request(const char *path, const char *cmd, FILE *out,
    char *err, size_t errlen);

#endif

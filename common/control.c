/* The control socket between mtagd and mtagctl. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "error.h"

int
mtag_control_path(char *buf, size_t len)
{
	const char *env = getenv("MTAG_CONTROL_SOCKET");
	const char *run = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env != NULL && *env != '\0')
		n = snprintf(buf, len, "%s", env);
	else if (run != NULL && *run != '\0')
		n = snprintf(buf, len, "%s/mtag/control", run);
	else
		n = snprintf(buf, len, "/tmp/mtag-%u/control",
		    (unsigned)getuid());
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
socket_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (socket_addr(path, &sun) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
mtag_control_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)], *slash;
	mode_t old;
	int fd;

	if (socket_addr(path, &sun) < 0)
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return mtag_seterr(err, errlen, dir, "%s",
			    strerror(errno));
	}
	if ((fd = connect_to(path)) >= 0) {
		close(fd);
		return mtag_seterr(err, errlen, path, "another mtagd is "
		    "listening on this control socket");
	}
	unlink(path);	/* stale: nobody listens */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return mtag_seterr(err, errlen, path, "socket: %s",
		    strerror(errno));
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 16) < 0) {
		umask(old);
		mtag_seterr(err, errlen, path, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

int
mtag_control_request(const char *path, const char *cmd, FILE *out,
    char *err, size_t errlen)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = connect_to(path)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return 1;
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	}
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	if (write(fd, buf, strlen(buf)) < 0) {
		mtag_seterr(err, errlen, path, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	close(fd);
	if (n < 0)
		return mtag_seterr(err, errlen, path, "%s", strerror(errno));
	return 0;
}

/*
 * Readiness for the service manager: the sd_notify protocol, one datagram of
 * "KEY=value" lines to the socket named by $NOTIFY_SOCKET, which systemd
 * documents as a stable interface. A few lines here rather than linking
 * libsystemd: no new build dependency or library (and what it pulls in) in a
 * daemon every guest depends on, and the same choice as Xen's own tools
 * (tools/include/xen-sd-notify.h).
 */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len, n = strlen(state);
	ssize_t sent;
	int fd, err;

	if (!name || !*name)
		return 0;
	/* A path or an abstract name; systemd's newer vsock: addresses are not for a dom0 daemon. */
	if (name[0] != '/' && name[0] != '@') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	len = strlen(name);
	if (len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, name, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract: the length below, not a NUL, ends the name */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sent = sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	err = errno;
	close(fd);
	if (sent != (ssize_t)n) {
		errno = sent < 0 ? err : EMSGSIZE;
		return -1;
	}
	return 1;
}

/* Stream transports on a descriptor: the unix socket (found as libxenstore finds it) and a guest's xenbus device. */
#include "xsl_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define XSL_RUNDIR_DEFAULT "/var/run/xenstored"

struct fd_tr {
	struct xsl_transport base;
	int fd;
	bool device;    /* read/write on a device; else send/recv on a socket */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes at once or fails (EAGAIN: the backlog is full, try later). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static ssize_t fd_send(struct xsl_transport *t, const void *buf, size_t len)
{
	struct fd_tr *f = (struct fd_tr *)t;
	ssize_t n;

	do
		n = f->device ? write(f->fd, buf, len) : send(f->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
		return -ECONNRESET;
	return -errno;
}

static ssize_t fd_recv(struct xsl_transport *t, void *buf, size_t len)
{
	struct fd_tr *f = (struct fd_tr *)t;
	ssize_t n;

	do
		n = f->device ? read(f->fd, buf, len) : recv(f->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n == 0 || errno == ECONNRESET || errno == EPIPE)
		return -ECONNRESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return -errno;
}

static int fd_fd(struct xsl_transport *t)
{
	return ((struct fd_tr *)t)->fd;
}

static short fd_poll_events(struct xsl_transport *t, bool output_waiting)
{
	(void)t;
	return (short)(POLLIN | (output_waiting ? POLLOUT : 0));
}

static int fd_reconnect(struct xsl_transport *t)
{
	struct fd_tr *f = (struct fd_tr *)t;
	int fd;

	fd = connect_unix(f->path);
	if (fd < 0)
		return fd;
	close(f->fd);
	f->fd = fd;
	return 0;
}

static void fd_close(struct xsl_transport *t)
{
	struct fd_tr *f = (struct fd_tr *)t;

	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* A descriptor we were given (or a device) cannot be opened again; a socket path can. */
static const struct xsl_transport_ops fd_ops = {
	.send = fd_send,
	.recv = fd_recv,
	.fd = fd_fd,
	.poll_events = fd_poll_events,
	.close = fd_close,
};

static const struct xsl_transport_ops fd_ops_reopen = {
	.send = fd_send,
	.recv = fd_recv,
	.fd = fd_fd,
	.poll_events = fd_poll_events,
	.reconnect = fd_reconnect,
	.close = fd_close,
};

/* Wrap fd (owned from now on, closed on failure). */
static int wrap(int fd, bool device, const char *path, struct xsl_transport **out)
{
	struct fd_tr *f;
	int err = set_nonblock(fd);

	if (err < 0) {
		close(fd);
		return err;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->base.ops = path ? &fd_ops_reopen : &fd_ops;
	/* A socket acts for the store's own domain; the device for the guest it runs in. */
	f->base.caps = device ? XSL_TRCAP_DOMAIN | XSL_TRCAP_KERNEL : 0;
	f->fd = fd;
	f->device = device;
	if (path)
		snprintf(f->path, sizeof(f->path), "%s", path);
	*out = &f->base;
	return 0;
}

int xsl_tr_default_socket(char *buf, size_t size)
{
	const char *p = getenv("XENSTORED_PATH"), *dir;
	int n;

	if (p && *p)
		n = snprintf(buf, size, "%s", p);
	else {
		dir = getenv("XENSTORED_RUNDIR");
		n = snprintf(buf, size, "%s/socket", dir && *dir ? dir : XSL_RUNDIR_DEFAULT);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int xsl_tr_socket_open(const char *path, struct xsl_transport **out)
{
	char def[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd, err;

	if (!path) {
		if ((err = xsl_tr_default_socket(def, sizeof(def))) < 0)
			return err;
		path = def;
	}
	fd = connect_unix(path);
	if (fd < 0)
		return fd;
	return wrap(fd, false, path, out);
}

int xsl_tr_fd_adopt(int fd, struct xsl_transport **out)
{
	if (fd < 0)
		return -EBADF;
	return wrap(fd, false, NULL, out);
}

static const char *default_device(void)
{
	return access("/dev/xen/xenbus", F_OK) == 0 ? "/dev/xen/xenbus" : "/proc/xen/xenbus";
}

int xsl_tr_xenbus_open(const char *path, struct xsl_transport **out)
{
	int fd = open(path ? path : default_device(), O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	return wrap(fd, true, NULL, out);
}

int xsl_tr_xenbus_adopt(int fd, struct xsl_transport **out)
{
	if (fd < 0)
		return -EBADF;
	return wrap(fd, true, NULL, out);
}

/* libxenstore's get_handle: a socket is connected, anything else opened as the device. */
static int open_any(const char *path, struct xsl_transport **out)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	return S_ISSOCK(st.st_mode) ? xsl_tr_socket_open(path, out) : xsl_tr_xenbus_open(path, out);
}

int xsl_tr_auto_open(const char *path, struct xsl_transport **out)
{
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *env = getenv("XENSTORED_PATH");
	int err;

	if (path)
		return open_any(path, out);
	if ((err = xsl_tr_default_socket(sock, sizeof(sock))) == 0 && (err = open_any(sock, out)) == 0)
		return 0;
	/* As xs_domain_dev(): XENSTORED_PATH again if set, else the device. */
	return open_any(env && *env ? env : default_device(), out);
}

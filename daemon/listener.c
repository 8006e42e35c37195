/* The daemon's unix socket (accepting, pausing at the limits) and the one way any unix socket is set up to listen. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "session.h"
#include "log.h"
#include "quota.h"

static int listen_fd = -1;
static struct event *listen_ev, *resume_ev;
static char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int reserve_fds[1024];
static unsigned reserve_held;

void listener_reserve_release(void)
{
	while (reserve_held)
		close(reserve_fds[--reserve_held]);
}

void listener_reserve_restore(void)
{
	while (reserve_held < cfg.fd_reserve && reserve_held < sizeof(reserve_fds) / sizeof(reserve_fds[0])) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			break; /* taken again by the next restore */
		reserve_fds[reserve_held++] = fd;
	}
}

/* Out of descriptors or at the connection limit: stop accepting for a moment, do not spin. */
static void pause_accepting(void)
{
	struct timeval tv = {0, 100000};

	event_del(listen_ev);
	evtimer_add(resume_ev, &tv);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	listener_reserve_restore();
	event_add(listen_ev, NULL);
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (int i = 0; i < 64; i++) {
		int c;

		if (conn_count() >= cfg.conn_max) {
			pause_accepting();
			return;
		}
		c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* A client holding the descriptors must not fill the log too: once a minute. */
				static struct log_limit limit = {.period = 60};
				unsigned long unsaid;

				if (log_limited(&limit, &unsaid))
					log_warn("accept (pausing for 100 ms; %lu times since the last word)", unsaid + 1);
				pause_accepting();
			}
			return;
		}
		/* Out of memory: the emergency reserve is for this (quota.h), and one more try. */
		if (!session_new_socket(c) && !(quota_memory_short() && session_new_socket(c))) {
			log_warnx("out of memory for a new connection");
			close(c);
		}
	}
}

/*
 * Whether path may be bound after removing what is there: nothing, a socket
 * nobody listens on any more (its daemon died), or another file (replaced,
 * as the C daemon does). 0 if so; -1 with EADDRINUSE when a live daemon, ours
 * or another implementation, accepts there.
 */
int listener_stale(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A full backlog (EAGAIN) still means someone listens. */
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	close(fd);
	return 0;
}

int listener_unix(const char *path, mode_t mode, int backlog)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (listener_stale(path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Left by a daemon that died: nobody listens there any more. */
	unlink(path);
	/* chmod before listen: no connection can arrive while the mode is still the umask's. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, backlog) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Serve the listening socket listen_fd, bound at path. */
static int listener_watch(struct event_base *base, const char *path)
{
	strcpy(listen_path, path);
	listen_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST, accept_cb, NULL);
	resume_ev = evtimer_new(base, resume_cb, NULL);
	if (!listen_ev || !resume_ev || event_add(listen_ev, NULL) < 0) {
		log_warnx("cannot watch the listening socket");
		return -1;
	}
	listener_reserve_restore();
	return 0;
}

int listener_open(struct event_base *base, const char *path)
{
	listen_fd = listener_unix(path, 0600, SOMAXCONN);
	if (listen_fd < 0) {
		log_warn("cannot listen on %s", path);
		return -1;
	}
	return listener_watch(base, path);
}

int listener_adopt(struct event_base *base, const char *path, int fd)
{
	int err;

	listen_fd = fd;
	if (evutil_make_socket_nonblocking(fd) < 0) {
		err = errno;
		log_warn("cannot take over the listening socket");
		errno = err;
		return -1;
	}
	return listener_watch(base, path);
}

int listener_fd(void)
{
	return listen_fd;
}

void listener_close(void)
{
	listener_reserve_release();
	if (listen_ev)
		event_free(listen_ev);
	if (resume_ev)
		event_free(resume_ev);
	listen_ev = resume_ev = NULL;
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(listen_path);
	}
	listen_fd = -1;
}

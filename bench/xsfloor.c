/* The benchmark's floor: a server that answers the wire protocol with no store, to measure what the kernel alone costs. */
/*
 * Not a XenStore. It keeps no tree, checks nothing and answers every WRITE,
 * TRANSACTION_START and TRANSACTION_END at once; a WATCH is kept in a list
 * and a plain WRITE sends an event to each watch whose path is the written
 * path or an ancestor of it. What it costs per request is the socket work
 * (epoll, one recv per batch of input, one send per reply or event), so
 * xsbench runs it beside the real daemons. Where each reply or event must
 * go out alone (a serial client, one event per watcher) a daemon making the
 * same calls cannot beat the floor, and a target the floor misses is out of
 * reach here. Pipelined figures are not bounded by it: a daemon may send
 * several messages in one call, which the floor does not.
 *
 * It is started like our daemon (XENSTORED_RUNDIR/socket, -F pidfile; the
 * other options are ignored) and stops at SIGTERM or SIGKILL.
 *
 * XSFLOOR_WORK_NS=N makes it spin N nanoseconds on each request before it
 * answers: a daemon doing exactly that much work per request and nothing
 * else. Run as "ours" beside the plain floor (XST_DAEMON=bench/xsfloor),
 * it shows how much work per request a target set against the floor
 * leaves room for on this machine.
 *
 * XSFLOOR_LIBEVENT=1 runs the same server on a libevent loop, as our daemon
 * is built (an event per socket, the write event added only while output
 * waits): run as "ours" beside the plain floor, it shows what the loop
 * library alone costs of such a target.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "proto/wire.h"

#define FLOOR_IN 65536

struct floor_conn {
	int fd;
	size_t in_len;
	unsigned char in[FLOOR_IN];
	unsigned char *out; /* what the socket would not take yet */
	size_t out_len, out_cap;
	int closing;
	struct event *ev_read, *ev_write; /* XSFLOOR_LIBEVENT only */
};

struct floor_watch {
	struct floor_conn *conn;
	size_t path_len;
	char *path_token; /* path\0token\0, the event's payload but for the path */
	size_t pt_len;
};

static int ep;
static struct event_base *base; /* XSFLOOR_LIBEVENT: the loop is libevent's */
static struct floor_conn **doomed; /* closed after the current batch of events */
static size_t n_doomed, cap_doomed;
static struct floor_watch *watches;
static size_t n_watches, cap_watches;
static unsigned long next_txn = 1;

static void die(const char *what)
{
	fprintf(stderr, "xsfloor: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Gone after this batch: a later event of the batch, or a watch, may still name it. */
static void doom(struct floor_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (n_doomed == cap_doomed) {
		cap_doomed = cap_doomed ? cap_doomed * 2 : 64;
		doomed = realloc(doomed, cap_doomed * sizeof(*doomed));
		if (!doomed)
			die("realloc");
	}
	doomed[n_doomed++] = c;
}

static void queue_out(struct floor_conn *c, const void *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 65536;

		while (cap < c->out_len + len)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (!c->out)
			die("realloc");
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

static void arm(struct floor_conn *c, int want_out)
{
	struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};

	if (base && want_out)
		event_add(c->ev_write, NULL);
	else if (base)
		event_del(c->ev_write);
	else
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* One message: sent now if nothing waits before it, else queued behind. */
static void send_msg(struct floor_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		     const void *p1, size_t l1, const void *p2, size_t l2)
{
	unsigned char msg[XS_MSG_MAX];
	struct xs_header h = {type, req_id, tx_id, (uint32_t)(l1 + l2)};
	size_t len = XS_HEADER_SIZE + l1 + l2;
	ssize_t n = 0;

	if (c->closing || len > sizeof(msg))
		return;
	xs_header_encode(&h, msg);
	memcpy(msg + XS_HEADER_SIZE, p1, l1);
	memcpy(msg + XS_HEADER_SIZE + l1, p2, l2);
	if (c->out_len == 0) {
		n = send(c->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			doom(c);
			return;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return;
		arm(c, 1);
	}
	queue_out(c, msg + n, len - (size_t)n);
}

static void add_watch(struct floor_conn *c, const char *p, size_t len)
{
	size_t path_len = strnlen(p, len);

	if (n_watches == cap_watches) {
		cap_watches = cap_watches ? cap_watches * 2 : 1024;
		watches = realloc(watches, cap_watches * sizeof(*watches));
		if (!watches)
			die("realloc");
	}
	watches[n_watches].conn = c;
	watches[n_watches].path_len = path_len;
	watches[n_watches].path_token = malloc(len);
	if (!watches[n_watches].path_token)
		die("malloc");
	memcpy(watches[n_watches].path_token, p, len);
	watches[n_watches].pt_len = len;
	n_watches++;
}

/* The written path (NUL-terminated within len) fires the watches on it and on its ancestors. */
static void fire(const char *path, size_t path_len)
{
	for (size_t i = 0; i < n_watches; i++) {
		const struct floor_watch *w = &watches[i];

		if (w->path_len > path_len || memcmp(w->path_token, path, w->path_len) != 0)
			continue;
		if (w->path_len != path_len && path[w->path_len] != '/')
			continue;
		send_msg(w->conn, XS_WATCH_EVENT, 0, 0, path, path_len + 1,
			 w->path_token + w->path_len + 1, w->pt_len - w->path_len - 1);
	}
}

static long work_ns; /* XSFLOOR_WORK_NS */

/* Spin work_ns nanoseconds: the stand-in for a daemon's own work on a request. */
static void work(void)
{
	struct timespec t0, t;

	if (work_ns <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < work_ns);
}

static void handle(struct floor_conn *c, const struct xs_header *h, const char *p)
{
	char id[24];
	size_t n;

	work();
	switch (h->type) {
	case XS_WATCH:
		send_msg(c, h->type, h->req_id, h->tx_id, "OK", 3, "", 0);
		add_watch(c, p, h->len);
		/* The event every WATCH gets at once. */
		send_msg(c, XS_WATCH_EVENT, 0, 0, p, h->len, "", 0);
		break;
	case XS_WRITE:
		send_msg(c, h->type, h->req_id, h->tx_id, "OK", 3, "", 0);
		if (h->tx_id == 0)
			fire(p, strnlen(p, h->len));
		break;
	case XS_TRANSACTION_START:
		n = (size_t)snprintf(id, sizeof(id), "%lu", next_txn++);
		send_msg(c, h->type, h->req_id, h->tx_id, id, n + 1, "", 0);
		break;
	case XS_TRANSACTION_END:
		send_msg(c, h->type, h->req_id, h->tx_id, "OK", 3, "", 0);
		break;
	default:
		send_msg(c, XS_ERROR, h->req_id, h->tx_id, "ENOSYS", 7, "", 0);
		break;
	}
}

static void drop(struct floor_conn *c)
{
	size_t k = 0;

	for (size_t i = 0; i < n_watches; i++) {
		if (watches[i].conn == c)
			free(watches[i].path_token);
		else
			watches[k++] = watches[i];
	}
	n_watches = k;
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	close(c->fd);
	free(c->out);
	free(c);
}

static void drop_doomed(void)
{
	for (size_t i = 0; i < n_doomed; i++)
		drop(doomed[i]);
	n_doomed = 0;
}

static void on_input(struct floor_conn *c);
static void on_output(struct floor_conn *c);

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	on_input(arg);
	drop_doomed();
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	on_output(arg);
	drop_doomed();
}

static struct floor_conn *conn_new(int fd)
{
	struct floor_conn *c = calloc(1, sizeof(*c));

	if (!c)
		die("calloc");
	c->fd = fd;
	return c;
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct floor_conn *c;

	(void)what;
	(void)arg;
	if (fd < 0)
		return;
	c = conn_new(fd);
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
	if (!c->ev_read || !c->ev_write || event_add(c->ev_read, NULL) < 0)
		die("event_new");
}

/* XSFLOOR_LIBEVENT: the same server on libevent's loop. */
static int run_libevent(int lfd)
{
	struct event *ev;

	base = event_base_new();
	ev = base ? event_new(base, lfd, EV_READ | EV_PERSIST, accept_cb, NULL) : NULL;
	if (!ev || event_add(ev, NULL) < 0)
		die("libevent");
	return event_base_dispatch(base) < 0;
}

static void on_input(struct floor_conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	size_t off = 0;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		doom(c);
		return;
	}
	c->in_len += (size_t)n;
	while (c->in_len - off >= XS_HEADER_SIZE) {
		struct xs_header h;

		xs_header_decode(c->in + off, &h);
		if (h.len > XS_PAYLOAD_MAX) {
			doom(c);
			return;
		}
		if (c->in_len - off < XS_HEADER_SIZE + h.len)
			break;
		/* A NUL after the payload keeps the string functions inside it. */
		char p[XS_PAYLOAD_MAX + 1];

		memcpy(p, c->in + off + XS_HEADER_SIZE, h.len);
		p[h.len] = '\0';
		handle(c, &h, p);
		off += XS_HEADER_SIZE + h.len;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

static void on_output(struct floor_conn *c)
{
	ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		doom(c);
		return;
	}
	memmove(c->out, c->out + n, c->out_len - (size_t)n);
	c->out_len -= (size_t)n;
	if (c->out_len == 0)
		arm(c, 0);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("XENSTORED_RUNDIR");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int lfd;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("XSFLOOR_WORK_NS"))
		work_ns = strtol(getenv("XSFLOOR_WORK_NS"), NULL, 10);
	if (!dir || snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", dir) >=
			    (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "xsfloor: XENSTORED_RUNDIR unset or too long\n");
		return 1;
	}
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		die("listen");
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-F") == 0) {
			FILE *f = fopen(argv[i + 1], "w");

			if (f) {
				fprintf(f, "%d\n", (int)getpid());
				fclose(f);
			}
		}
	if (getenv("XSFLOOR_LIBEVENT") && atoi(getenv("XSFLOOR_LIBEVENT")))
		return run_libevent(lfd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll");
	for (;;) {
		struct epoll_event evs[64];
		int r = epoll_wait(ep, evs, 64, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("epoll_wait");
		for (int i = 0; i < r; i++) {
			struct floor_conn *c = evs[i].data.ptr;

			if (!c) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				struct epoll_event cev = {.events = EPOLLIN};

				if (fd < 0)
					continue;
				c = conn_new(fd);
				cev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				continue;
			}
			if (c->closing)
				continue;
			if (evs[i].events & EPOLLOUT)
				on_output(c);
			if (!c->closing && evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_input(c);
		}
		drop_doomed();
	}
}

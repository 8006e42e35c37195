/* The handle: one connection shared by threads, its waiting, pumping, callbacks and reconnection. */
#include "xsl_handle.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "xsl_conn.h"
#include "xsl_transport.h"
#include "xsl_watch.h"

/* Callbacks run per xsl_pump: an event loop gets control back between batches. */
#define XSL_PUMP_BATCH 64u
/* Reconnection attempts: first at once, then backing off up to a second. */
#define XSL_RETRY_FIRST_MS 10
#define XSL_RETRY_MAX_MS 1000
#define XSL_RECONNECT_DEFAULT_MS 10000u
/* How long xsl_close waits for a persistent connection (a ring) to answer what is in flight. */
#define XSL_CLOSE_DRAIN_MS 1000

enum hstate {
	H_UP,        /* connected */
	H_RETRY,     /* lost: the next reconnection attempt is due at next_attempt */
	H_HANDSHAKE, /* a ring's reconnection handshake goes on */
	H_DEAD,      /* for good: everything answers -ENOTCONN */
};

/* An asynchronous request: its reply buffer is there from the start, so completing it cannot fail. */
struct async {
	struct async *next;
	struct xsl *h;
	xsl_reply_fn *cb;
	void *arg;
	int err;
	size_t len;
	char data[XS_PAYLOAD_MAX + 1];
};

/* A blocking call's waiter, on its stack. */
struct waiter {
	bool done;
	int err;
	struct xsl_reply *rep;
};

struct xsl {
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* any change a waiter may be waiting for */
	struct xsl_conn *conn;
	enum hstate state;
	unsigned caps;
	unsigned port;
	bool auto_reconnect;
	int timeout_ms;
	unsigned reconnect_ms;
	long long lost_at, next_attempt;
	int backoff_ms;

	bool reader;            /* a thread does the I/O (and polls) for everyone */
	unsigned reader_wanted; /* threads waiting for the reader role for themselves (reconnection) */
	bool dispatching;       /* a thread runs callbacks */
	pthread_t dispatcher;
	struct xsl_watch *running; /* the watch whose callback runs */

	/* The descriptor for event loops: the transport's, readyfd and timerfd, in one epoll set. */
	int epfd;
	int readyfd;            /* readable while callbacks are due (or the handle died) */
	bool ready_set;
	int timerfd;            /* readable when a reconnection attempt is due */
	int kickfd;             /* wakes the reader when what it polls for changed */
	int ep_fd;              /* the transport descriptor in epfd, or -1 */
	uint32_t ep_events;

	struct xsl_watchset ws;
	struct async *done_head, *done_tail; /* completed, callbacks due */
	unsigned async_count;                 /* outstanding and completed */

	bool features_known;
	unsigned features;
	uint64_t reconnects, replay_failures;
	unsigned seed;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds until deadline for poll (-1: none, 0: passed). */
static int ms_left(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static void cond_wait_until(struct xsl *h, long long deadline)
{
	struct timespec ts;

	if (deadline < 0) {
		pthread_cond_wait(&h->cond, &h->lock);
		return;
	}
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	pthread_cond_timedwait(&h->cond, &h->lock, &ts);
}

static void fd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0)
		return; /* saturated: it is readable anyway */
}

static void fd_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: it was not set */
}

static bool work_due(const struct xsl *h)
{
	return h->done_head || xsl_watchset_pending(&h->ws);
}

/* Keep the event loop's descriptor honest: readable exactly when xsl_pump has something to do. */
static void update_ready(struct xsl *h)
{
	bool want = work_due(h) || h->state == H_DEAD;

	if (want && !h->ready_set)
		fd_signal(h->readyfd);
	else if (!want && h->ready_set)
		fd_drain(h->readyfd);
	h->ready_set = want;
}

/* The transport descriptor in the epoll set, with the events the connection needs now. */
static void update_interest(struct xsl *h)
{
	struct xsl_transport *tr = xsl_conn_transport(h->conn);
	int fd = h->state == H_UP || h->state == H_HANDSHAKE ? tr->ops->fd(tr) : -1;
	short pe = fd >= 0 ? tr->ops->poll_events(tr, xsl_conn_output_waiting(h->conn)) : 0;
	uint32_t ev = (pe & POLLIN ? EPOLLIN : 0) | (pe & POLLOUT ? EPOLLOUT : 0);
	struct epoll_event e = {.events = ev, .data.fd = fd};

	if (fd != h->ep_fd) {
		if (h->ep_fd >= 0)
			epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->ep_fd, NULL);
		h->ep_fd = -1;
		if (fd >= 0 && epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &e) == 0) {
			h->ep_fd = fd;
			h->ep_events = ev;
		}
	} else if (fd >= 0 && ev != h->ep_events) {
		if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &e) == 0)
			h->ep_events = ev;
	}
}

static void arm_timer(struct xsl *h, long long at)
{
	struct itimerspec its = {0};
	long long d = at - now_ms();

	if (at >= 0) {
		if (d < 1)
			d = 1;
		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(h->timerfd, 0, &its, NULL);
}

static void go_dead(struct xsl *h)
{
	h->state = H_DEAD;
	xsl_conn_fail(h->conn, -ENOTCONN, false);
	arm_timer(h, -1);
	update_interest(h);
	update_ready(h);
	pthread_cond_broadcast(&h->cond);
}

static void replay_done(void *arg, int err, const struct xsl_msgview *reply)
{
	struct xsl *h = arg;

	(void)reply;
	if (err)
		h->replay_failures++;
}

/* A new connection knows none of our watches: register each again, ahead of anything queued. */
static void replay_watches(struct xsl *h)
{
	for (struct xsl_watch *w = h->ws.tail; w; w = w->prev) {
		unsigned char msg[XS_MSG_MAX];
		char depth[16];
		struct xsl_arg args[3] = {XSL_STR(w->path), XSL_STR(w->token)};
		int len;

		if (w->state != XSL_W_ACTIVE)
			continue;
		if (w->depth_by_store) {
			snprintf(depth, sizeof(depth), "%d", w->depth);
			args[2] = XSL_STR(depth);
		}
		len = xsl_codec_encode(msg, XS_WATCH, 0, 0, args, w->depth_by_store ? 3 : 2);
		if (len < 0 || xsl_conn_submit(h->conn, msg, (size_t)len, 0, true, replay_done, h, NULL) < 0)
			h->replay_failures++;
	}
}

static void try_reconnect(struct xsl *h)
{
	long long now = now_ms();
	int err = xsl_conn_reconnect(h->conn);

	if (err == 0) {
		h->state = H_UP;
		h->reconnects++;
		h->features_known = false;
		arm_timer(h, -1);
		replay_watches(h);
		pthread_cond_broadcast(&h->cond);
		return;
	}
	if (err == -EOPNOTSUPP || now - h->lost_at >= (long long)h->reconnect_ms) {
		go_dead(h);
		return;
	}
	if (err == -EINPROGRESS) {
		/* The store's notification ends it; the deadline is checked on every look. */
		h->state = H_HANDSHAKE;
		h->next_attempt = h->lost_at + h->reconnect_ms;
	} else {
		h->state = H_RETRY;
		h->backoff_ms = h->backoff_ms ? h->backoff_ms * 2 : XSL_RETRY_FIRST_MS;
		if (h->backoff_ms > XSL_RETRY_MAX_MS)
			h->backoff_ms = XSL_RETRY_MAX_MS;
		h->next_attempt = now + h->backoff_ms;
	}
	arm_timer(h, h->next_attempt);
}

static void begin_reconnect(struct xsl *h)
{
	h->state = H_RETRY;
	h->lost_at = now_ms();
	h->next_attempt = h->lost_at;
	h->backoff_ms = 0;
	try_reconnect(h);
}

static void connection_lost(struct xsl *h)
{
	struct xsl_transport *tr = xsl_conn_transport(h->conn);
	bool keep = h->auto_reconnect && tr->ops->reconnect;

	/* What was sent may or may not have been done; what was only queued can wait for the next connection. */
	xsl_conn_fail(h->conn, -ECONNRESET, keep);
	pthread_cond_broadcast(&h->cond);
	if (!keep)
		go_dead(h);
	else
		begin_reconnect(h);
}

/* Everything that can be done now without waiting. Lock and reader role held. */
static void step(struct xsl *h)
{
	if (h->state == H_RETRY || h->state == H_HANDSHAKE) {
		fd_drain(h->timerfd);
		if (h->state == H_HANDSHAKE || now_ms() >= h->next_attempt)
			try_reconnect(h);
	}
	if (h->state == H_UP && xsl_conn_io(h->conn) < 0)
		connection_lost(h);
	update_interest(h);
	update_ready(h);
}

typedef bool satisfied_fn(struct xsl *h, void *arg);

/*
 * One turn of the reader: look, and unless sat is met, poll (without the
 * lock) up to timeout_ms for the transport or a kick, then look again.
 * Lock and reader role held; every waiter is told afterwards.
 */
static void io_turn(struct xsl *h, int timeout_ms, satisfied_fn *sat, void *arg)
{
	struct xsl_transport *tr = xsl_conn_transport(h->conn);
	struct pollfd pfd[2] = {{.fd = h->kickfd, .events = POLLIN}, {.fd = -1}};
	int n;

	step(h);
	if (timeout_ms == 0 || sat(h, arg) || h->state == H_DEAD)
		goto out;
	if (h->state == H_UP || h->state == H_HANDSHAKE) {
		pfd[1].fd = tr->ops->fd(tr);
		pfd[1].events = tr->ops->poll_events(tr, xsl_conn_output_waiting(h->conn));
	}
	if (h->state != H_UP) {
		int until = ms_left(h->next_attempt);

		if (timeout_ms < 0 || until < timeout_ms)
			timeout_ms = until;
	}
	pthread_mutex_unlock(&h->lock);
	do
		n = poll(pfd, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	pthread_mutex_lock(&h->lock);
	if (n > 0 && pfd[0].revents)
		fd_drain(h->kickfd);
	/* Clear the notification before looking, so that one arriving after the look is not lost. */
	if (n > 0 && pfd[1].revents && tr->ops->ack)
		tr->ops->ack(tr);
	step(h);
out:
	pthread_cond_broadcast(&h->cond);
}

/* Be the reader for one turn if nobody is; else wait for the reader's news. */
static void take_turn(struct xsl *h, long long deadline, satisfied_fn *sat, void *arg)
{
	if (!h->reader && !h->reader_wanted) {
		h->reader = true;
		io_turn(h, ms_left(deadline), sat, arg);
		h->reader = false;
		pthread_cond_broadcast(&h->cond);
	} else if (ms_left(deadline) != 0) {
		cond_wait_until(h, deadline);
	}
}

/* Tell a reader polling elsewhere that there is output to send. */
static void kick(struct xsl *h)
{
	if (h->reader)
		fd_signal(h->kickfd);
}

static bool waiter_done(struct xsl *h, void *arg)
{
	(void)h;
	return ((struct waiter *)arg)->done;
}

static void waiter_complete(void *arg, int err, const struct xsl_msgview *reply)
{
	struct waiter *w = arg;

	w->err = err;
	if (!err && w->rep) {
		w->rep->len = reply->hdr.len;
		memcpy(w->rep->data, reply->payload, reply->hdr.len);
		w->rep->data[reply->hdr.len] = '\0';
	}
	w->done = true;
}

static int submit_locked(struct xsl *h, xsl_txn_t t, uint32_t type, const struct xsl_arg *args,
			 unsigned nargs, xsl_done_fn *done, void *arg, uint32_t *req_id)
{
	unsigned char msg[XS_MSG_MAX];
	uint32_t epoch = (uint32_t)(t >> 32);
	int len, err;

	if (h->state == H_DEAD)
		return -ENOTCONN;
	if (t && epoch != xsl_conn_epoch(h->conn))
		return -EAGAIN;
	if ((len = xsl_codec_encode(msg, type, 0, (uint32_t)t, args, nargs)) < 0)
		return len;
	err = xsl_conn_submit(h->conn, msg, (size_t)len, epoch, false, done, arg, req_id);
	if (err)
		return err;
	kick(h);
	return 0;
}

int xsl_call(struct xsl *h, xsl_txn_t t, uint32_t type, const struct xsl_arg *args, unsigned nargs,
	     struct xsl_reply *rep)
{
	struct waiter w = {false, 0, rep};
	long long deadline;
	uint32_t req_id;
	int err;

	pthread_mutex_lock(&h->lock);
	deadline = deadline_of(h->timeout_ms);
	err = submit_locked(h, t, type, args, nargs, waiter_complete, &w, &req_id);
	while (!err && !w.done) {
		take_turn(h, deadline, waiter_done, &w);
		if (!w.done && ms_left(deadline) == 0) {
			xsl_conn_cancel(h->conn, req_id);
			err = -ETIMEDOUT;
		}
	}
	if (!err)
		err = w.err;
	pthread_mutex_unlock(&h->lock);
	return err;
}

static void async_complete(void *arg, int err, const struct xsl_msgview *reply)
{
	struct async *a = arg;
	struct xsl *h = a->h;

	a->err = err;
	a->len = 0;
	if (!err) {
		a->len = reply->hdr.len;
		memcpy(a->data, reply->payload, reply->hdr.len);
	}
	a->data[a->len] = '\0';
	a->next = NULL;
	if (h->done_tail)
		h->done_tail->next = a;
	else
		h->done_head = a;
	h->done_tail = a;
}

int xsl_request_async(struct xsl *h, xsl_txn_t t, unsigned type, const void *payload, size_t len,
		      xsl_reply_fn *cb, void *arg)
{
	struct xsl_arg a1 = {payload, len, false};
	struct async *a;
	int err;

	if (!h || !cb || (len && !payload))
		return -EINVAL;
	if (len > XS_PAYLOAD_MAX)
		return -E2BIG;
	pthread_mutex_lock(&h->lock);
	if (h->async_count >= XSL_ASYNC_MAX) {
		pthread_mutex_unlock(&h->lock);
		return -ENOBUFS;
	}
	if (!(a = malloc(sizeof(*a)))) {
		pthread_mutex_unlock(&h->lock);
		return -ENOMEM;
	}
	a->h = h;
	a->cb = cb;
	a->arg = arg;
	err = submit_locked(h, t, type, &a1, 1, async_complete, a, NULL);
	if (err) {
		free(a);
	} else {
		h->async_count++;
		/* Out at once if nobody else is doing I/O: an event loop may not pump before it waits. */
		if (!h->reader) {
			h->reader = true;
			step(h);
			h->reader = false;
			pthread_cond_broadcast(&h->cond);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

int xsl_request(struct xsl *h, xsl_txn_t t, unsigned type, const void *payload, size_t len,
		char **reply, size_t *reply_len)
{
	struct xsl_arg a1 = {payload, len, false};
	struct xsl_reply *rep;
	int err;

	if (!h || (len && !payload))
		return -EINVAL;
	if (!(rep = malloc(sizeof(*rep))))
		return -ENOMEM;
	err = xsl_call(h, t, type, &a1, 1, rep);
	if (!err && reply) {
		char *copy = malloc(rep->len + 1);

		if (!copy) {
			free(rep);
			return -ENOMEM;
		}
		memcpy(copy, rep->data, rep->len + 1);
		*reply = copy;
		if (reply_len)
			*reply_len = rep->len;
	}
	free(rep);
	return err;
}

static bool pump_satisfied(struct xsl *h, void *arg)
{
	(void)arg;
	return work_due(h) || h->state == H_DEAD;
}

static bool in_callback(const struct xsl *h)
{
	return h->dispatching && pthread_equal(h->dispatcher, pthread_self());
}

/* Run one due callback without the lock: 1 if one ran. */
static int dispatch_one(struct xsl *h)
{
	struct async *a = h->done_head;
	struct xsl_wevent *e;
	struct xsl_watch *w;

	if (a) {
		h->done_head = a->next;
		if (!h->done_head)
			h->done_tail = NULL;
		pthread_mutex_unlock(&h->lock);
		a->cb(h, a->err, a->err ? NULL : a->data, a->len, a->arg);
		free(a);
		pthread_mutex_lock(&h->lock);
		h->async_count--;
		return 1;
	}
	if (!(w = xsl_watchset_next(&h->ws, &e)))
		return 0;
	h->running = w;
	pthread_mutex_unlock(&h->lock);
	{
		struct xsl_event ev = {(e->flags & XSL_EVENT_OVERFLOW) ? w->path : e->path, w->token,
				       e->flags};

		w->cb(h, w, &ev, w->arg);
	}
	free(e);
	pthread_mutex_lock(&h->lock);
	h->running = NULL;
	xsl_watch_put(w);
	pthread_cond_broadcast(&h->cond); /* an unwatch may be waiting for this callback */
	return 1;
}

int xsl_pump(struct xsl *h, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	int ran = 0;

	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (in_callback(h)) {
		/* Nested: I/O only, the callbacks wait for the outer pump. */
		take_turn(h, 0, pump_satisfied, NULL);
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	take_turn(h, 0, pump_satisfied, NULL);
	while (!pump_satisfied(h, NULL) && ms_left(deadline) != 0)
		take_turn(h, deadline, pump_satisfied, NULL);
	if (!h->dispatching) {
		h->dispatching = true;
		h->dispatcher = pthread_self();
		while (ran < (int)XSL_PUMP_BATCH && dispatch_one(h))
			ran++;
		h->dispatching = false;
		pthread_cond_broadcast(&h->cond);
	}
	update_ready(h);
	if (!ran && h->state == H_DEAD)
		ran = -ENOTCONN;
	pthread_mutex_unlock(&h->lock);
	return ran;
}

static bool settled(struct xsl *h, void *arg)
{
	(void)arg;
	return h->state == H_UP || h->state == H_DEAD;
}

int xsl_reconnect(struct xsl *h)
{
	struct xsl_transport *tr;
	unsigned f;
	long long deadline;
	int err;

	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	tr = xsl_conn_transport(h->conn);
	if (h->state == H_DEAD) {
		err = -ENOTCONN;
	} else if (!tr->ops->reconnect ||
		   (tr->ops->features && tr->ops->features(tr, &f) == 0 &&
		    !(f & XS_RING_F_RECONNECTION))) {
		err = -EOPNOTSUPP;
	} else {
		deadline = deadline_of((int)h->reconnect_ms + 1000);
		h->reader_wanted++;
		while (h->reader) {
			kick(h); /* a reader polling for ever gives its turn up */
			cond_wait_until(h, -1);
		}
		h->reader_wanted--;
		h->reader = true;
		xsl_conn_fail(h->conn, -ECONNRESET, true);
		begin_reconnect(h);
		while (!settled(h, NULL) && ms_left(deadline) != 0)
			io_turn(h, ms_left(deadline), settled, NULL);
		h->reader = false;
		pthread_cond_broadcast(&h->cond);
		err = h->state == H_UP ? 0 : h->state == H_DEAD ? -ENOTCONN : -ETIMEDOUT;
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

int xsl_features(struct xsl *h, unsigned *features)
{
	struct xsl_transport *tr;
	struct xsl_reply *rep;
	unsigned long long v;
	int err;

	if (!h || !features)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	tr = xsl_conn_transport(h->conn);
	err = tr->ops->features ? tr->ops->features(tr, features) : -ENOSYS;
	if (err && h->features_known) {
		*features = h->features;
		err = 0;
	}
	pthread_mutex_unlock(&h->lock);
	if (!err)
		return 0;
	/* Ask the store; one that does not know GET_FEATURE offers nothing. */
	if (!(rep = malloc(sizeof(*rep))))
		return -ENOMEM;
	err = xsl_call(h, 0, XS_GET_FEATURE, NULL, 0, rep);
	if (err == -ECONNRESET || err == -ENOTCONN || err == -ETIMEDOUT || err == -ENOMEM) {
		free(rep);
		return err;
	}
	v = 0;
	if (!err && xsl_codec_uint(rep->data, rep->len, 0xffffffffULL, &v) < 0)
		v = 0;
	free(rep);
	pthread_mutex_lock(&h->lock);
	h->features = (unsigned)v;
	h->features_known = true;
	*features = h->features;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void conn_event(void *owner, const char *path, const char *token)
{
	xsl_watchset_event(&((struct xsl *)owner)->ws, path, token);
}

static const struct xsl_conn_ops conn_ops = {conn_event};

static int open_transport(const struct xsl_open_opts *o, struct xsl_transport **tr)
{
	switch (o->transport) {
	case XSL_TR_AUTO:
		return xsl_tr_auto_open(o->path, tr);
	case XSL_TR_SOCKET:
		return xsl_tr_socket_open(o->path, tr);
	case XSL_TR_XENBUS:
		return o->flags & XSL_OPEN_USE_FD ? xsl_tr_xenbus_adopt(o->fd, tr)
						  : xsl_tr_xenbus_open(o->path, tr);
	case XSL_TR_SIMRING:
		return xsl_tr_simring_open(o->simdom, tr);
	case XSL_TR_XENRING:
		return xsl_tr_xenring_open(o->xen_page, o->xen_page_path, o->xen_remote_domid,
					   o->xen_remote_port, tr);
	case XSL_TR_FD:
		return xsl_tr_fd_adopt(o->fd, tr);
	}
	return -EINVAL;
}

static void free_handle(struct xsl *h)
{
	struct async *a;

	if (h->conn) {
		/* Outstanding asynchronous requests complete into the done list; their callbacks never run. */
		xsl_conn_free(h->conn);
	}
	while ((a = h->done_head)) {
		h->done_head = a->next;
		free(a);
	}
	xsl_watchset_clear(&h->ws);
	int fds[] = {h->epfd, h->readyfd, h->timerfd, h->kickfd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int xsl_open(struct xsl **out, const struct xsl_open_opts *opts)
{
	static const struct xsl_open_opts defaults = {.transport = XSL_TR_AUTO};
	const struct xsl_open_opts *o = opts ? opts : &defaults;
	struct xsl_transport *tr;
	pthread_condattr_t ca;
	struct epoll_event e = {.events = EPOLLIN};
	struct timespec ts;
	struct xsl *h;
	int err;

	if (!out || o->max_inflight > XSL_INFLIGHT_MAX)
		return -EINVAL;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	h->ep_fd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->readyfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	h->seed = (unsigned)ts.tv_nsec ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)h;
	xsl_watchset_init(&h->ws, (uint32_t)rand_r(&h->seed));
	if (h->epfd < 0 || h->readyfd < 0 || h->kickfd < 0 || h->timerfd < 0) {
		err = -errno;
		free_handle(h);
		return err;
	}
	e.data.fd = h->readyfd;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->readyfd, &e);
	e.data.fd = h->timerfd;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timerfd, &e);
	if ((err = open_transport(o, &tr)) < 0) {
		free_handle(h);
		return err;
	}
	h->caps = tr->caps;
	h->port = tr->port;
	err = xsl_conn_new(tr, o->max_inflight ? o->max_inflight : XSL_INFLIGHT_DEFAULT, &conn_ops, h,
			   &h->conn);
	if (err < 0) {
		free_handle(h);
		return err;
	}
	h->state = H_UP;
	h->auto_reconnect = o->flags & XSL_OPEN_RECONNECT;
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : -1;
	h->reconnect_ms = o->reconnect_ms ? o->reconnect_ms : XSL_RECONNECT_DEFAULT_MS;
	update_interest(h);
	*out = h;
	return 0;
}

static bool conn_idle(struct xsl *h, void *arg)
{
	(void)arg;
	return xsl_conn_idle(h->conn);
}

int xsl_close(struct xsl *h)
{
	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (in_callback(h)) {
		pthread_mutex_unlock(&h->lock);
		return -EDEADLK;
	}
	/*
	 * A ring outlives us: take our watches off it and wait a little for
	 * what is in flight, so that whoever uses it next starts clean.
	 */
	if ((h->caps & XSL_TRCAP_PERSISTENT) && h->state == H_UP && !h->reader) {
		long long deadline = deadline_of(XSL_CLOSE_DRAIN_MS);

		for (struct xsl_watch *w = h->ws.head; w; w = w->next) {
			struct xsl_arg args[2] = {XSL_STR(w->path), XSL_STR(w->token)};

			if (w->state == XSL_W_ACTIVE)
				submit_locked(h, 0, XS_UNWATCH, args, 2, NULL, NULL, NULL);
		}
		h->reader = true;
		while (h->state == H_UP && !xsl_conn_idle(h->conn) && ms_left(deadline) != 0)
			io_turn(h, ms_left(deadline), conn_idle, NULL);
		h->reader = false;
	}
	pthread_mutex_unlock(&h->lock);
	free_handle(h);
	return 0;
}

void xsl_set_timeout(struct xsl *h, int timeout_ms)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->timeout_ms = timeout_ms > 0 ? timeout_ms : -1;
	pthread_mutex_unlock(&h->lock);
}

int xsl_fileno(struct xsl *h)
{
	return h ? h->epfd : -EINVAL;
}

void xsl_stats(struct xsl *h, struct xsl_stats *st)
{
	struct xsl_conn_stats cs;

	if (!h || !st)
		return;
	pthread_mutex_lock(&h->lock);
	xsl_conn_stats(h->conn, &cs);
	memset(st, 0, sizeof(*st));
	st->requests = cs.requests;
	st->unknown_replies = cs.unknown_replies;
	st->bad_events = cs.bad_events;
	st->stray_events = h->ws.stray;
	st->overflows = h->ws.overflows;
	st->reconnects = h->reconnects;
	st->replay_failures = h->replay_failures;
	st->inflight = cs.inflight;
	st->queued = cs.queued;
	st->watches = h->ws.count;
	pthread_mutex_unlock(&h->lock);
}

unsigned xsl_caps(struct xsl *h)
{
	return h->caps;
}

unsigned xsl_port(struct xsl *h)
{
	return h->port;
}

long long xsl_deadline(int timeout_ms)
{
	return deadline_of(timeout_ms);
}

int xsl_ms_left(long long deadline)
{
	return ms_left(deadline);
}

uint32_t xsl_epoch(struct xsl *h)
{
	uint32_t e;

	pthread_mutex_lock(&h->lock);
	e = xsl_conn_epoch(h->conn);
	pthread_mutex_unlock(&h->lock);
	return e;
}

unsigned xsl_random(struct xsl *h)
{
	unsigned r;

	pthread_mutex_lock(&h->lock);
	r = (unsigned)rand_r(&h->seed);
	pthread_mutex_unlock(&h->lock);
	return r;
}

bool xsl_reconnects(struct xsl *h)
{
	return h->auto_reconnect;
}

int xsl_watch_register(struct xsl *h, const char *path, const struct xsl_watch_opts *opts,
		       bool depth_by_store, xsl_watch_fn *cb, void *arg, struct xsl_watch **out)
{
	int err;

	pthread_mutex_lock(&h->lock);
	err = xsl_watchset_add(&h->ws, path, opts, cb, arg, out);
	if (!err)
		(*out)->depth_by_store = depth_by_store;
	pthread_mutex_unlock(&h->lock);
	return err;
}

void xsl_watch_registered(struct xsl *h, struct xsl_watch *w, int err)
{
	pthread_mutex_lock(&h->lock);
	if (err)
		xsl_watchset_remove(&h->ws, w);
	else if (w->state == XSL_W_REGISTERING)
		w->state = XSL_W_ACTIVE;
	pthread_mutex_unlock(&h->lock);
}

bool xsl_watch_detach(struct xsl *h, struct xsl_watch *w)
{
	bool registered;

	pthread_mutex_lock(&h->lock);
	registered = w->state != XSL_W_REMOVED && h->state != H_DEAD;
	w->refs++;
	xsl_watchset_remove(&h->ws, w);
	pthread_mutex_unlock(&h->lock);
	return registered;
}

void xsl_watch_release(struct xsl *h, struct xsl_watch *w)
{
	pthread_mutex_lock(&h->lock);
	while (h->running == w && !in_callback(h))
		pthread_cond_wait(&h->cond, &h->lock);
	xsl_watch_put(w);
	pthread_mutex_unlock(&h->lock);
}

/* Helpers of the bus tests: the daemon and guest, each end's thread and recording driver, waits, the toolstack. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "client/xsl_transport.h"
#include "proto/ring.h"
#include "proto/simhyp.h"
#include "proto/wire.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bt_settle(void)
{
	struct timespec ts = {0, BT_SETTLE_MS * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void seq_text(const int *s, unsigned n, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "", xsl_xbs_name(s[i]));
}

/* ---- the daemon and the guest ---- */

static struct xsl *open_socket(const char *path)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = path,
				  .flags = XSL_OPEN_RECONNECT, .timeout_ms = BT_WAIT_MS};
	struct xsl *h = NULL;
	int err = xsl_open(&h, &o);

	ck_assert_msg(err == 0, "cannot open %s: %s", path, strerror(-err));
	return h;
}

static void daemon_start(struct bt_world *w, const char *dir)
{
	ck_assert_msg(xst_daemon_start(&w->d, XST_OURS, dir, NULL) == 0, "daemon did not start");
	snprintf(w->simhyp, sizeof(w->simhyp), "%s/%s", w->d.dir, SIMHYP_SOCKET_NAME);
}

/* The hypervisor's side of the guest: its registration (with it the domain exists). */
static void guest_register(struct bt_world *w)
{
	int err = xsl_simdom_create(w->simhyp, BT_GUEST, &w->guest);

	ck_assert_msg(err == 0, "cannot register domain %u: %s", BT_GUEST, strerror(-err));
}

#define OK(call)                                                                   \
	do {                                                                       \
		int err_ = (call);                                                 \
		ck_assert_msg(err_ >= 0, "%s: %s", #call, strerror(-err_));        \
	} while (0)

void bt_up(struct bt_world *w)
{
	struct xsl_perm own = {BT_GUEST, XSL_PERM_NONE};
	char home[64], path[96], v[16];

	memset(w, 0, sizeof(*w));
	daemon_start(w, NULL);
	w->dom0 = open_socket(w->d.socket);
	guest_register(w);
	/* As libxl makes a domain: its home owned by it, domid and store/port in it, then INTRODUCE. */
	snprintf(home, sizeof(home), "/local/domain/%u", BT_GUEST);
	OK(xsl_mkdir(w->dom0, 0, home));
	OK(xsl_set_perms(w->dom0, 0, home, &own, 1));
	snprintf(path, sizeof(path), "%s/domid", home);
	snprintf(v, sizeof(v), "%u", BT_GUEST);
	OK(xsl_write(w->dom0, 0, path, v, strlen(v)));
	snprintf(path, sizeof(path), "%s/store/port", home);
	snprintf(v, sizeof(v), "%u", BT_GUEST_PORT);
	OK(xsl_write(w->dom0, 0, path, v, strlen(v)));
	OK(xsl_introduce(w->dom0, BT_GUEST, 0, BT_GUEST_PORT));
}

void bt_stop_daemon(struct bt_world *w, bool kill_it)
{
	int status;

	/*
	 * The daemon alone: the hypervisor and the guest live on, and the new
	 * daemon takes the guest up as the store kept it (a guest gone with a
	 * hypervisor restarted would be cleaned up as a death, its nodes too).
	 */
	if (kill_it) {
		/* kill -9: nothing saved, the next daemon goes by the store and the ring's marks. */
		ck_assert_int_eq(kill(w->d.pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(w->d.pid, &status, 0), w->d.pid);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "daemon status %d", status);
		w->d.pid = -1;
	} else {
		status = xst_daemon_stop_keep_hyp(&w->d);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d", status);
	}
}

void bt_start_daemon(struct bt_world *w)
{
	char dir[sizeof(w->d.dir)];
	struct xsl_stats before;

	xsl_stats(w->dom0, &before);
	strcpy(dir, w->d.dir);
	daemon_start(w, dir);
	w->d.own_dir = 1; /* still ours to remove */
	/* dom0 finds out on its next look; then it reconnects (watches, if it had any, replayed). */
	for (long long end = now_ms() + BT_WAIT_MS;;) {
		struct xsl_stats st;

		xsl_stats(w->dom0, &st);
		if (st.reconnects > before.reconnects)
			break;
		ck_assert_msg(now_ms() < end, "dom0 did not reconnect");
		ck_assert_int_ge(xsl_pump(w->dom0, 50), 0);
	}
}

void bt_restart_daemon(struct bt_world *w, bool kill_it)
{
	bt_stop_daemon(w, kill_it);
	bt_start_daemon(w);
}

void bt_ring_half_request(struct bt_world *w)
{
	static const char path[] = "data";
	struct xs_header hdr = {XS_WRITE, 77, 0, 12};
	unsigned char half[XS_HEADER_SIZE + sizeof(path) - 1];
	struct xs_ring *r = xsl_simdom_ring(w->guest, NULL, NULL);
	long long end = now_ms() + BT_WAIT_MS;

	/* A WRITE of 12 bytes of payload, of which the guest has written 4. */
	xs_header_encode(&hdr, half);
	memcpy(half + XS_HEADER_SIZE, path, sizeof(path) - 1);
	ck_assert_int_eq(xs_ring_produce(r->req, &r->req_cons, &r->req_prod, half, sizeof(half)),
			 (int)sizeof(half));
	xsl_simdom_notify(w->guest);
	/* The daemon takes what is there, waiting for the rest. */
	while (xs_ring_load(&r->req_cons) != xs_ring_load(&r->req_prod)) {
		ck_assert_msg(now_ms() < end, "the daemon did not take the half request");
		bt_settle();
	}
}

void bt_wait_ring_request(struct bt_world *w)
{
	struct xs_ring *r = xsl_simdom_ring(w->guest, NULL, NULL);
	long long end = now_ms() + BT_WAIT_MS;

	while (xs_ring_load(&r->req_cons) == xs_ring_load(&r->req_prod)) {
		ck_assert_msg(now_ms() < end, "the guest wrote no request");
		bt_settle();
	}
}

bool bt_ring_cut(struct bt_world *w)
{
	struct xs_ring *r = xsl_simdom_ring(w->guest, NULL, NULL);
	uint32_t at = xs_ring_load(&r->rsp_cons), end = xs_ring_load(&r->rsp_prod);

	/* Message by message from what the guest read last (it reads whole replies and events). */
	while (end - at >= XS_HEADER_SIZE) {
		unsigned char raw[XS_HEADER_SIZE];
		struct xs_header h;

		for (unsigned i = 0; i < XS_HEADER_SIZE; i++)
			raw[i] = (unsigned char)r->rsp[(at + i) % XS_RING_SIZE];
		xs_header_decode(raw, &h);
		if (end - at < XS_HEADER_SIZE + h.len)
			return true;
		at += XS_HEADER_SIZE + h.len;
	}
	return at != end;
}

unsigned bt_ring_unread(struct bt_world *w)
{
	struct xs_ring *r = xsl_simdom_ring(w->guest, NULL, NULL);

	return xs_ring_load(&r->rsp_prod) - xs_ring_load(&r->rsp_cons);
}

static void end_fail_check(struct bt_end *e)
{
	pthread_mutex_lock(&e->lock);
	ck_assert_msg(!e->failure[0], "%s end: %s", e->label, e->failure);
	pthread_mutex_unlock(&e->lock);
}

void bt_down(struct bt_world *w)
{
	char cmd[400];
	int status;

	if (w->front.label)
		bt_end_stop(&w->front);
	if (w->back.label)
		bt_end_stop(&w->back);
	xsl_close(w->dom0);
	xsl_simdom_destroy(w->guest);
	status = xst_daemon_stop(&w->d, 0);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		snprintf(cmd, sizeof(cmd), "cat %s/daemon.log >&2", w->d.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "no daemon.log\n");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d", status);
}

/* ---- the recording drivers (they run in the end's thread) ---- */

static void end_failf(struct bt_end *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void end_failf(struct bt_end *e, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&e->lock);
	if (!e->failure[0]) {
		va_start(ap, fmt);
		vsnprintf(e->failure, sizeof(e->failure), fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static struct bt_rec *rec_of(struct xsl_bus_dev *dev)
{
	return xsl_bus_dev_priv(dev);
}

static int last_own(struct bt_end *e, struct bt_rec *r)
{
	int s;

	pthread_mutex_lock(&e->lock);
	s = r->nown ? r->own[r->nown - 1] : -1;
	pthread_mutex_unlock(&e->lock);
	return s;
}

static void record(struct bt_end *e, int *seq, unsigned *n, int s)
{
	pthread_mutex_lock(&e->lock);
	if (*n < BT_SEQ_MAX)
		seq[*n] = s;
	(*n)++;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* Switch and record what was written (an idempotent switch that wrote nothing records nothing). */
static void own_switch(struct xsl_bus_dev *dev, enum xsl_xbs s)
{
	struct bt_end *e = xsl_bus_dev_driver_arg(dev);
	struct bt_rec *r = rec_of(dev);
	int err = xsl_bus_switch_state(dev, XSL_TXN_NONE, s);

	/* -ENOENT: the toolstack removed the device meanwhile; its remove follows. */
	if (err < 0 && err != -ENOENT)
		end_failf(e, "%s: switch to %s: %s", r->nodename, xsl_xbs_name(s), strerror(-err));
	else if (err == 1)
		record(e, r->own, &r->nown, s);
}

static int drv_probe(struct xsl_bus_dev *dev)
{
	struct bt_end *e = xsl_bus_dev_driver_arg(dev);
	struct bt_rec *r;

	pthread_mutex_lock(&e->lock);
	if (e->nrec >= BT_RECS_MAX) {
		pthread_mutex_unlock(&e->lock);
		end_failf(e, "more than %u devices", BT_RECS_MAX);
		return -ENOSPC;
	}
	r = &e->rec[e->nrec++];
	memset(r, 0, sizeof(*r));
	snprintf(r->nodename, sizeof(r->nodename), "%s", xsl_bus_dev_nodename(dev));
	r->probes = 1;
	r->bound = true;
	r->dev = dev;
	r->cb_wait = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	xsl_bus_dev_set_priv(dev, r);
	return 0;
}

static void drv_remove(struct xsl_bus_dev *dev)
{
	struct bt_end *e = xsl_bus_dev_driver_arg(dev);
	struct bt_rec *r = rec_of(dev);

	pthread_mutex_lock(&e->lock);
	r->removes++;
	r->bound = false;
	r->dev = NULL;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* suspend and resume: counted. */
static void count(struct xsl_bus_dev *dev, size_t field)
{
	struct bt_end *e = xsl_bus_dev_driver_arg(dev);

	pthread_mutex_lock(&e->lock);
	(*(unsigned *)((char *)rec_of(dev) + field))++;
	pthread_mutex_unlock(&e->lock);
}

static int drv_suspend(struct xsl_bus_dev *dev)
{
	count(dev, offsetof(struct bt_rec, suspends));
	return 0;
}

static int drv_resume(struct xsl_bus_dev *dev)
{
	count(dev, offsetof(struct bt_rec, resumes));
	return 0;
}

/* The frontend's publication: ring-ref, event-channel and Initialised in one transaction (6.10 step 4). */
struct publish {
	struct xsl_bus_dev *dev;
	unsigned mode;
	int wrote;
};

static int publish_in(struct xsl *h, xsl_txn_t t, void *arg)
{
	struct publish *p = arg;
	struct bt_end *e = xsl_bus_dev_driver_arg(p->dev);
	struct bt_rec *r = rec_of(p->dev);
	const char *dir = xsl_bus_dev_nodename(p->dev);
	int err;

	if (!(p->mode & BT_NO_RING_REF) && (err = xsl_xbs_printf(h, t, dir, "ring-ref", "%u", 8u)) < 0)
		return err;
	pthread_mutex_lock(&e->lock);
	r->publishes++;
	while (e->hold) {
		e->held = true;
		pthread_cond_broadcast(&e->cond);
		pthread_cond_wait(&e->cond, &e->lock);
	}
	e->held = false;
	pthread_mutex_unlock(&e->lock);
	if ((err = xsl_xbs_printf(h, t, dir, "event-channel", "%u", 11u)) < 0)
		return err;
	p->wrote = xsl_bus_switch_state(p->dev, t, XSL_XBS_INITIALISED);
	return p->wrote < 0 ? p->wrote : 0;
}

/* As Linux's blkfront: publish on InitWait, connect on Connected, close on Closing or Closed. */
static void front_changed(struct xsl_bus_dev *dev, enum xsl_xbs s)
{
	struct bt_end *e = xsl_bus_dev_driver_arg(dev);
	struct bt_rec *r = rec_of(dev);
	struct publish p = {dev, e->mode, 0};
	int err;

	record(e, r->seen, &r->nseen, s);
	switch (s) {
	case XSL_XBS_INITWAIT:
		if (last_own(e, r) == XSL_XBS_INITIALISED)
			break;
		err = xsl_txn_run(xsl_bus_dev_handle(dev), publish_in, &p, 0);
		if (err < 0)
			end_failf(e, "%s: publishing: %s", r->nodename, strerror(-err));
		else if (p.wrote == 1)
			record(e, r->own, &r->nown, XSL_XBS_INITIALISED);
		break;
	case XSL_XBS_CONNECTED:
		/* A driver reacts here; it cannot wait here (the callbacks wait for it). */
		err = xsl_bus_wait_otherend(dev, XSL_XBS_BIT(XSL_XBS_CONNECTED), 0);
		pthread_mutex_lock(&e->lock);
		r->cb_wait = err;
		pthread_mutex_unlock(&e->lock);
		own_switch(dev, XSL_XBS_CONNECTED);
		break;
	case XSL_XBS_CLOSING:
	case XSL_XBS_CLOSED:
		own_switch(dev, XSL_XBS_CLOSED);
		break;
	default:
		break;
	}
}

static int back_probe(struct xsl_bus_dev *dev)
{
	int err = drv_probe(dev);

	if (err < 0)
		return err;
	err = xsl_xbs_printf(xsl_bus_dev_handle(dev), XSL_TXN_NONE, xsl_bus_dev_nodename(dev),
			     "feature-flush-cache", "%d", 1);
	if (err < 0)
		return err;
	own_switch(dev, XSL_XBS_INITWAIT);
	return 0;
}

/* As Linux's blkback: connect when the frontend published, follow it closing, start over when it does. */
static void back_changed(struct xsl_bus_dev *dev, enum xsl_xbs s)
{
	struct bt_end *e = xsl_bus_dev_driver_arg(dev);
	struct bt_rec *r = rec_of(dev);
	unsigned ring_ref, evtchn;
	int err;

	record(e, r->seen, &r->nseen, s);
	switch (s) {
	case XSL_XBS_INITIALISING:
		if (last_own(e, r) == XSL_XBS_CLOSED)
			own_switch(dev, XSL_XBS_INITWAIT);
		break;
	case XSL_XBS_INITIALISED:
	case XSL_XBS_CONNECTED:
		if (last_own(e, r) == XSL_XBS_CONNECTED)
			break;
		err = xsl_xbs_gather(xsl_bus_dev_handle(dev), XSL_TXN_NONE, xsl_bus_dev_otherend(dev),
				     "ring-ref", "%u", &ring_ref, "event-channel", "%u", &evtchn, NULL);
		if (err < 0) {
			xsl_bus_dev_fatal(dev, err, "reading ring-ref and event-channel from %s",
					  xsl_bus_dev_otherend(dev));
			record(e, r->own, &r->nown, XSL_XBS_CLOSING);
			break;
		}
		own_switch(dev, XSL_XBS_CONNECTED);
		break;
	case XSL_XBS_CLOSING:
		own_switch(dev, XSL_XBS_CLOSING);
		break;
	case XSL_XBS_CLOSED:
		own_switch(dev, XSL_XBS_CLOSED);
		break;
	default:
		break;
	}
}

static const struct xsl_bus_driver front_driver = {
	.type = BT_TYPE,
	.side = XSL_BUS_FRONTEND,
	.probe = drv_probe,
	.otherend_changed = front_changed,
	.remove = drv_remove,
	.suspend = drv_suspend,
	.resume = drv_resume,
};

static const struct xsl_bus_driver back_driver = {
	.type = BT_TYPE,
	.side = XSL_BUS_BACKEND,
	.probe = back_probe,
	.otherend_changed = back_changed,
	.remove = drv_remove,
	.suspend = drv_suspend,
	.resume = drv_resume,
};

/* ---- an end's thread ---- */

static void end_log(void *arg, int level, const char *line)
{
	struct bt_end *e = arg;

	(void)level;
	if (getenv("BT_VERBOSE"))
		fprintf(stderr, "[%s] %s\n", e->label, line);
	pthread_mutex_lock(&e->lock);
	if (e->nlog < BT_LOG_MAX)
		snprintf(e->log[e->nlog++], sizeof(e->log[0]), "%s", line);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static void kick(struct bt_end *e)
{
	uint64_t one = 1;

	if (write(e->cmdfd, &one, sizeof(one)) < 0)
		return; /* saturated: readable anyway */
}

static void *end_main(void *arg)
{
	struct bt_end *e = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = e->cmdfd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
		int (*cmd)(struct bt_end *, void *) = NULL;
		bool paused;
		uint64_t v;

		pthread_mutex_lock(&e->lock);
		if (e->stop) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		if (!e->cmd_done)
			cmd = e->cmd;
		paused = e->paused;
		pthread_mutex_unlock(&e->lock);
		if (cmd) {
			int r = cmd(e, e->cmd_arg);

			pthread_mutex_lock(&e->lock);
			e->cmd_result = r;
			e->cmd_done = true;
			pthread_cond_broadcast(&e->cond);
			pthread_mutex_unlock(&e->lock);
			continue;
		}
		/* The handle's one descriptor says when xsl_pump has work: no polling loop. */
		if (e->h && !paused)
			p[1].fd = xsl_fileno(e->h);
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents && read(e->cmdfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		if (p[1].revents) {
			int r = xsl_pump(e->h, 0);

			if (r < 0 && r != -ENOTCONN)
				end_failf(e, "xsl_pump: %s", strerror(-r));
		}
	}
	return NULL;
}

/* Wait on the end's condition at most 20 ms (lock held): its news, or a look at the clock. */
static void wait_a_little(struct bt_end *e)
{
	struct timespec abs;
	long long ns;

	clock_gettime(CLOCK_REALTIME, &abs);
	ns = abs.tv_nsec + 20 * 1000000LL;
	abs.tv_sec += (time_t)(ns / 1000000000LL);
	abs.tv_nsec = (long)(ns % 1000000000LL);
	pthread_cond_timedwait(&e->cond, &e->lock, &abs);
}

int bt_do(struct bt_end *e, int (*fn)(struct bt_end *e, void *arg), void *arg)
{
	long long end = now_ms() + BT_WAIT_MS;
	int r;

	pthread_mutex_lock(&e->lock);
	e->cmd = fn;
	e->cmd_arg = arg;
	e->cmd_done = false;
	kick(e);
	while (!e->cmd_done && now_ms() < end)
		wait_a_little(e);
	ck_assert_msg(e->cmd_done, "%s end: a command did not finish", e->label);
	r = e->cmd_result;
	e->cmd = NULL;
	pthread_mutex_unlock(&e->lock);
	return r;
}

static int noop_in(struct bt_end *e, void *arg)
{
	(void)e;
	(void)arg;
	return 0;
}

void bt_pause(struct bt_end *e, bool paused)
{
	pthread_mutex_lock(&e->lock);
	e->paused = paused;
	pthread_mutex_unlock(&e->lock);
	/* Commands run between pumps: once this one ran, no pump runs (or, resumed, one will). */
	bt_do(e, noop_in, NULL);
}

void bt_hold(struct bt_end *e, bool hold)
{
	pthread_mutex_lock(&e->lock);
	e->hold = hold;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static int open_in(struct bt_end *e, void *arg)
{
	struct xsl_bus_opts bo = {.name = "xenbus0", .log = end_log, .log_arg = e};
	char id[16];
	const char *restrict_args[] = {"restrict", id, NULL};
	struct xsl_open_opts o = {.flags = XSL_OPEN_RECONNECT, .timeout_ms = BT_WAIT_MS};
	int err;

	(void)arg;
	snprintf(id, sizeof(id), "%u", BT_GUEST);
	if (e->kind == BT_RING) {
		o.transport = XSL_TR_SIMRING;
		o.simdom = e->w->guest;
	} else {
		o.transport = XSL_TR_SOCKET;
		o.path = e->w->d.socket;
	}
	if ((err = xsl_open(&e->h, &o)) < 0)
		return err;
	/* Acting for the guest: paths, permissions and relative paths its own (until a reconnection). */
	if (e->kind == BT_SOCKET_AS && (err = xsl_control(e->h, restrict_args, NULL, NULL)) < 0)
		return err;
	return xsl_bus_open(e->h, &bo, &e->bus);
}

void bt_end_start(struct bt_world *w, struct bt_end *e, enum xsl_bus_side side, enum bt_kind kind)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->label = side == XSL_BUS_FRONTEND ? "front" : "back";
	e->side = side;
	e->kind = kind;
	e->w = w;
	e->cmd_done = true;
	e->cmdfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(e->cmdfd, 0);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	ck_assert_int_eq(pthread_create(&e->th, NULL, end_main, e), 0);
	err = bt_do(e, open_in, NULL);
	ck_assert_msg(err == 0, "%s end: open: %s", e->label, strerror(-err));
}

static int register_in(struct bt_end *e, void *arg)
{
	(void)arg;
	return xsl_bus_register(e->bus, e->side == XSL_BUS_FRONTEND ? &front_driver : &back_driver, e);
}

void bt_end_register(struct bt_end *e)
{
	int err = bt_do(e, register_in, NULL);

	ck_assert_msg(err == 0, "%s end: register: %s", e->label, strerror(-err));
}

static int close_in(struct bt_end *e, void *arg)
{
	int err;

	(void)arg;
	if ((err = xsl_bus_close(e->bus)) < 0)
		return err;
	e->bus = NULL;
	err = xsl_close(e->h);
	e->h = NULL;
	return err;
}

void bt_end_stop(struct bt_end *e)
{
	int err = bt_do(e, close_in, NULL);

	ck_assert_msg(err == 0, "%s end: close: %s", e->label, strerror(-err));
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	kick(e);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->th, NULL);
	close(e->cmdfd);
	end_fail_check(e);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	e->label = NULL;
}

/* ---- waits and expectations ---- */

typedef bool end_pred(struct bt_end *e, unsigned i, int arg);

static void wait_for(struct bt_end *e, end_pred *pred, unsigned i, int arg, const char *what)
{
	long long end = now_ms() + BT_WAIT_MS;
	bool ok;

	pthread_mutex_lock(&e->lock);
	while (!(ok = pred(e, i, arg)) && !e->failure[0] && now_ms() < end)
		wait_a_little(e);
	pthread_mutex_unlock(&e->lock);
	end_fail_check(e);
	if (!ok) {
		struct bt_rec r = i < BT_RECS_MAX ? e->rec[i] : (struct bt_rec){0};
		char own[256], seen[256];

		seq_text(r.own, r.nown < BT_SEQ_MAX ? r.nown : BT_SEQ_MAX, own, sizeof(own));
		seq_text(r.seen, r.nseen < BT_SEQ_MAX ? r.nseen : BT_SEQ_MAX, seen, sizeof(seen));
		ck_abort_msg("%s end, device %u: no %s within %d ms (wrote: %s; told: %s)", e->label, i,
			     what, BT_WAIT_MS, own, seen);
	}
}

static bool has_own(struct bt_end *e, unsigned i, int s)
{
	return i < e->nrec && e->rec[i].nown && e->rec[i].own[e->rec[i].nown - 1] == s;
}

static bool has_seen(struct bt_end *e, unsigned i, int s)
{
	return i < e->nrec && e->rec[i].nseen && e->rec[i].seen[e->rec[i].nseen - 1] == s;
}

static bool has_nown(struct bt_end *e, unsigned i, int n)
{
	return i < e->nrec && e->rec[i].nown >= (unsigned)n;
}

static bool has_nseen(struct bt_end *e, unsigned i, int n)
{
	return i < e->nrec && e->rec[i].nseen >= (unsigned)n;
}

static bool has_removed(struct bt_end *e, unsigned i, int unused)
{
	(void)unused;
	return i < e->nrec && e->rec[i].removes > 0;
}

static bool has_recs(struct bt_end *e, unsigned n, int unused)
{
	(void)unused;
	return e->nrec >= n;
}

static bool is_held(struct bt_end *e, unsigned unused_i, int unused)
{
	(void)unused_i;
	(void)unused;
	return e->held;
}

void bt_wait_held(struct bt_end *e)
{
	wait_for(e, is_held, 0, 0, "publication held");
}

void bt_wait_own(struct bt_end *e, unsigned i, int state)
{
	char what[64];

	snprintf(what, sizeof(what), "own state %s", xsl_xbs_name(state));
	wait_for(e, has_own, i, state, what);
}

void bt_wait_seen(struct bt_end *e, unsigned i, int state)
{
	char what[64];

	snprintf(what, sizeof(what), "other end's %s", xsl_xbs_name(state));
	wait_for(e, has_seen, i, state, what);
}

void bt_wait_nown(struct bt_end *e, unsigned i, unsigned n)
{
	char what[64];

	snprintf(what, sizeof(what), "%u states written", n);
	wait_for(e, has_nown, i, (int)n, what);
}

void bt_wait_nseen(struct bt_end *e, unsigned i, unsigned n)
{
	char what[64];

	snprintf(what, sizeof(what), "%u states told", n);
	wait_for(e, has_nseen, i, (int)n, what);
}

void bt_wait_removed(struct bt_end *e, unsigned i)
{
	wait_for(e, has_removed, i, 0, "remove");
}

void bt_wait_recs(struct bt_end *e, unsigned n)
{
	wait_for(e, has_recs, n, 0, "probe");
}

static unsigned log_count_locked(struct bt_end *e, const char *text)
{
	unsigned n = 0;

	for (unsigned i = 0; i < e->nlog; i++)
		n += strstr(e->log[i], text) != NULL;
	return n;
}

unsigned bt_log_count(struct bt_end *e, const char *text)
{
	unsigned n;

	pthread_mutex_lock(&e->lock);
	n = log_count_locked(e, text);
	pthread_mutex_unlock(&e->lock);
	return n;
}

void bt_wait_log(struct bt_end *e, const char *text)
{
	long long end = now_ms() + BT_WAIT_MS;

	while (!bt_log_count(e, text)) {
		ck_assert_msg(now_ms() < end, "%s end: no log line with '%s'", e->label, text);
		bt_settle();
	}
}

struct bt_rec bt_rec(struct bt_end *e, unsigned i)
{
	struct bt_rec r;

	pthread_mutex_lock(&e->lock);
	ck_assert_msg(i < e->nrec, "%s end: no device %u (%u probed)", e->label, i, e->nrec);
	r = e->rec[i];
	pthread_mutex_unlock(&e->lock);
	return r;
}

static void expect_seq(struct bt_end *e, unsigned i, const char *what, const int *got, unsigned n,
		       const int *want)
{
	unsigned wn = 0;
	char g[300], w[300];
	bool same;

	while (want[wn] >= 0)
		wn++;
	same = n == wn && (n == 0 || memcmp(got, want, n * sizeof(int)) == 0);
	if (!same) {
		seq_text(got, n < BT_SEQ_MAX ? n : BT_SEQ_MAX, g, sizeof(g));
		seq_text(want, wn, w, sizeof(w));
		ck_abort_msg("%s end, device %u %s: [%s], expected [%s]", e->label, i, what, g, w);
	}
}

void bt_expect_either(struct bt_end *e, unsigned i, const int *own, const int *seen,
		      const int *seen_too)
{
	struct bt_rec r;
	unsigned n = 0;

	bt_settle();
	r = bt_rec(e, i);
	while (seen_too[n] >= 0)
		n++;
	if (r.nseen == n && memcmp(r.seen, seen_too, n * sizeof(int)) == 0)
		seen = seen_too;
	bt_expect(e, i, own, seen);
}

void bt_expect(struct bt_end *e, unsigned i, const int *own, const int *seen)
{
	struct bt_rec r;

	bt_settle();
	end_fail_check(e);
	r = bt_rec(e, i);
	expect_seq(e, i, "wrote", r.own, r.nown, own);
	expect_seq(e, i, "was told", r.seen, r.nseen, seen);
}

/* ---- the toolstack ---- */

struct xsl_bus_attach bt_device(const char *devid)
{
	struct xsl_bus_attach a = {.type = BT_TYPE, .devid = devid, .frontend_id = BT_GUEST,
				   .backend_id = 0};

	return a;
}

void bt_attach(struct bt_world *w, const char *devid)
{
	static const char *const fkeys[] = {"virtual-device", "768", NULL};
	static const char *const bkeys[] = {"params", "/tmp/disk.img", "mode", "w", NULL};
	struct xsl_bus_attach a = bt_device(devid);

	a.frontend_keys = fkeys;
	a.backend_keys = bkeys;
	OK(xsl_bus_toolstack_attach(w->dom0, &a));
}

void bt_front_dir(char *buf, size_t size, const char *devid)
{
	snprintf(buf, size, "/local/domain/%u/device/%s/%s", BT_GUEST, BT_TYPE, devid);
}

void bt_back_dir(char *buf, size_t size, const char *devid)
{
	snprintf(buf, size, "/local/domain/0/backend/%s/%u/%s", BT_TYPE, BT_GUEST, devid);
}

const char *bt_read(struct bt_world *w, const char *path, char *buf, size_t size)
{
	char *v = NULL;
	size_t len;
	int err = xsl_read(w->dom0, 0, path, &v, &len);

	if (err < 0)
		snprintf(buf, size, "(%s)", err == -ENOENT ? "ENOENT" : strerror(-err));
	else
		snprintf(buf, size, "%s", v);
	free(v);
	return buf;
}

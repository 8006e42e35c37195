/* xsbench's watch groups: watch (write->event latency and rate), fanout (one write, many watchers) and watchload (writes under many watches). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_wire.h"

/* WATCH path with token on c; consumes the reply and the initial event. */
static int watch_on(struct xst_wire *c, const char *path, const char *token, struct xst_msg *m)
{
	if (xsb_watch(c, path, token, m, xsb_opt.timeout_ms) < 0) {
		if (errno == EPROTO)
			xsb_fail("WATCH %s -> %s %.60s", path, xsb_type_str(m->hdr.type),
				 m->payload);
		else
			xsb_fail("WATCH %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Receive on c without waiting: 1 got a message, 0 nothing there yet, -1
 * error. xst_wire_recv with timeout 0 takes what one look finds, so the
 * socket is polled again here; once it is readable, the rest of a message
 * part-sent is waited for.
 */
static int recv_now(struct xst_wire *c, struct xst_msg *m, const char *what)
{
	struct pollfd pfd = {xst_wire_fd(c), POLLIN, 0};
	int r;

	if (xst_wire_recv(c, m, 0) == 0)
		return 1;
	if (errno != ETIMEDOUT)
		goto err;
	do
		r = poll(&pfd, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r > 0 && xst_wire_recv(c, m, xsb_opt.timeout_ms) == 0)
		return 1;
err:
	xsb_fail("%s: %s", what, strerror(errno));
	return -1;
}

/*
 * The watched nodes: WATCH_NODES distinct ones, overwritten in turn, so
 * consecutive events differ and none can be coalesced with a queued one.
 */
#define WATCH_NODES 1000
#define WATCH_FMT "/bench/ws/n%04u"

/*
 * Serial: WRITE on w, wait for its event on e (the latency sample), then
 * for the WRITE's reply; the next WRITE only after both.
 */
static int watch_serial(struct xst_wire *w, struct xst_wire *e, struct xst_msg *m, unsigned n,
			double *lat, double *rate_out)
{
	double t0 = xsb_now_s();

	for (unsigned i = 0; i < n; i++) {
		char path[64], buf[128];
		int len;
		double ts;

		snprintf(path, sizeof(path), WATCH_FMT, i % WATCH_NODES);
		len = xsb_build(buf, sizeof(buf), path, XSB_VALUE16, 16);
		ts = xsb_now_s();
		if (xst_wire_send_msg(w, XS_WRITE, 0, 0, buf, (size_t)len) < 0) {
			xsb_fail("WRITE %s: %s", path, strerror(errno));
			return -1;
		}
		if (xst_wire_recv(e, m, xsb_opt.timeout_ms) < 0) {
			xsb_fail("event %u of %u: %s", i + 1, n, strerror(errno));
			return -1;
		}
		lat[i] = xsb_now_s() - ts;
		if (m->hdr.type != XS_WATCH_EVENT || strcmp(m->payload, path) != 0) {
			xsb_fail("watcher got %s %.60s, expected the event for %s",
				 xsb_type_str(m->hdr.type), m->payload, path);
			return -1;
		}
		if (xst_wire_recv(w, m, xsb_opt.timeout_ms) < 0 || m->hdr.type != XS_WRITE) {
			xsb_fail("WRITE %s: %s", path,
				 m->hdr.type == XS_ERROR ? m->payload : "no reply or a wrong one");
			return -1;
		}
		if ((i & 255) == 0 && xsb_over_cap(t0, i, n, "serial watch events"))
			return -1;
	}
	*rate_out = xsb_rate(n, xsb_now_s() - t0);
	return 0;
}

/*
 * Pipelined: WRITEs on w, 32 in flight, while e takes their events in
 * order. The writer stays at most WATCH_LAG writes ahead of the events: no
 * daemon then holds more than that for the watcher (oxenstored bounds a
 * connection's pending events) and, WATCH_LAG being below WATCH_NODES, no
 * two pending events are identical. A lost or coalesced event shows as a
 * wrong path or a timeout, never as a faster rate.
 */
#define WATCH_LAG 256
#define WATCH_WINDOW 32

static int watch_stream(struct xst_wire *w, struct xst_wire *e, struct xst_msg *m, unsigned long n)
{
	static unsigned char out[WATCH_WINDOW * (XS_HEADER_SIZE + 64)];
	unsigned long sent = 0, acked = 0, events = 0;
	double t0 = xsb_now_s();

	while (acked < n || events < n) {
		size_t olen = 0;
		int got, moved = 0;

		while (sent < n && sent - acked < WATCH_WINDOW && sent - events < WATCH_LAG) {
			char path[32], buf[64];
			int len;
			struct xs_header h;

			snprintf(path, sizeof(path), WATCH_FMT, (unsigned)(sent % WATCH_NODES));
			len = xsb_build(buf, sizeof(buf), path, XSB_VALUE16, 16);
			h = (struct xs_header){XS_WRITE, (uint32_t)(sent + 1), 0, (uint32_t)len};
			xs_header_encode(&h, out + olen);
			memcpy(out + olen + XS_HEADER_SIZE, buf, (size_t)len);
			olen += XS_HEADER_SIZE + (size_t)len;
			sent++;
		}
		if (olen && xst_wire_send(w, out, olen) < 0) {
			xsb_fail("send: %s", strerror(errno));
			return -1;
		}
		while ((got = recv_now(w, m, "pipelined WRITE reply")) > 0) {
			if (m->hdr.type != XS_WRITE || acked >= sent) {
				xsb_fail("pipelined WRITE -> %s %.60s", xsb_type_str(m->hdr.type),
					 m->hdr.type == XS_ERROR ? m->payload : "");
				return -1;
			}
			acked++;
			moved = 1;
		}
		if (got < 0)
			return -1;
		while ((got = recv_now(e, m, "watch event")) > 0) {
			char path[32];

			snprintf(path, sizeof(path), WATCH_FMT, (unsigned)(events % WATCH_NODES));
			if (m->hdr.type != XS_WATCH_EVENT || events >= sent ||
			    strcmp(m->payload, path) != 0) {
				xsb_fail("event %lu: got %s %.60s, expected %s", events + 1,
					 xsb_type_str(m->hdr.type), m->payload, path);
				return -1;
			}
			events++;
			moved = 1;
		}
		if (got < 0)
			return -1;
		if (!moved && (acked < sent || events < sent)) {
			struct pollfd pfd[2] = {{xst_wire_fd(w), POLLIN, 0},
						{xst_wire_fd(e), POLLIN, 0}};
			int r = poll(pfd, 2, xsb_opt.timeout_ms);

			if (r == 0) {
				xsb_fail("pipelined watch: %lu replies and %lu events of %lu sent"
					 " after %d s",
					 acked, events, sent, xsb_opt.timeout_ms / 1000);
				return -1;
			}
			if (r < 0 && errno != EINTR) {
				xsb_fail("poll: %s", strerror(errno));
				return -1;
			}
		}
		if (xsb_over_cap(t0, events, n, "pipelined watch events"))
			return -1;
	}
	return 0;
}

/* One writer, one watcher (separate connections): serial latency and pipelined rate. */
int xsb_grp_watch(struct xst_daemon *d, int dk)
{
	unsigned n_lat = xsb_scaled(10000);
	unsigned long n_pipe = xsb_scaled(100000), evs = 0;
	double lr[XSB_MAX_REPS], med[XSB_MAX_REPS], p99[XSB_MAX_REPS], pr[XSB_MAX_REPS];
	double *lat = malloc(sizeof(double) * n_lat);
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *w = xsb_connect(d), *e = w ? xsb_connect(d) : NULL;
	long long ticks = 0;
	int rc = -1;

	if (!w || !e || !m || !lat)
		goto out;
	/* The nodes exist before the watch: every timed write is an overwrite. */
	if (xsb_pipe_run(w, XS_WRITE, WATCH_FMT, 0, 16, 0, WATCH_NODES) < 0 ||
	    watch_on(e, "/bench/ws", "ws", m) < 0)
		goto out;
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		long long k0;
		double t0;

		xsb_pin_phase(1);
		if (watch_serial(w, e, m, n_lat, lat, &lr[rep]) < 0)
			goto out;
		xsb_pin_phase(0);
		med[rep] = xsb_quantile(lat, n_lat, 0.5) * 1e6;
		p99[rep] = xsb_quantile(lat, n_lat, 0.99) * 1e6;
		k0 = xst_daemon_cpu_ticks(d);
		t0 = xsb_now_s();
		if (watch_stream(w, e, m, n_pipe) < 0)
			goto out;
		pr[rep] = xsb_rate((double)n_pipe, xsb_now_s() - t0);
		ticks = k0 < 0 || ticks < 0 ? -1 : ticks + xst_daemon_cpu_ticks(d) - k0;
		evs += n_pipe;
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: serial %.0f ev/s (median %.1f us, p99 %.1f us),"
				     " pipelined %.0f ev/s\n",
				     rep, lr[rep], med[rep], p99[rep], pr[rep]);
	}
	xsb_fig_set(F_WATCH_SERIAL, dk, xsb_median(lr, xsb_opt.reps));
	xsb_fig_set(F_WATCH_LAT_MED, dk, xsb_median(med, xsb_opt.reps));
	xsb_fig_set(F_WATCH_LAT_P99, dk, xsb_median(p99, xsb_opt.reps));
	xsb_fig_set(F_WATCH_PIPE, dk, xsb_median(pr, xsb_opt.reps));
	xsb_cpu_fig(F_CPU_WATCH, dk, ticks, (double)evs, "pipelined write+event");
	rc = 0;
out:
	xst_wire_close(w);
	xst_wire_close(e);
	free(m);
	free(lat);
	return rc;
}

/*
 * Fan-out: one write to a node that many connections watch. The watchers'
 * input is read raw (one recv per ready socket, events counted by header)
 * so that the single client thread stays cheaper than the daemon's sends.
 */
#define FAN_BUF 256
#define FAN_WRITER UINT32_MAX /* epoll tag of the writer's connection */

struct fan_conn {
	struct xst_wire *c;
	unsigned events; /* in the current round */
	size_t len;
	unsigned char buf[FAN_BUF];
};

static int fan_read(struct fan_conn *f)
{
	ssize_t r;
	size_t off = 0;

	do
		r = recv(xst_wire_fd(f->c), f->buf + f->len, sizeof(f->buf) - f->len, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0) {
		xsb_fail("watcher connection: %s",
			 r == 0 ? "closed by the daemon" : strerror(errno));
		return -1;
	}
	f->len += (size_t)r;
	while (f->len - off >= XS_HEADER_SIZE) {
		struct xs_header h;

		xs_header_decode(f->buf + off, &h);
		if (h.type != XS_WATCH_EVENT || h.len > FAN_BUF - XS_HEADER_SIZE) {
			xsb_fail("watcher got %s of %u bytes", xsb_type_str(h.type), h.len);
			return -1;
		}
		if (f->len - off < XS_HEADER_SIZE + h.len)
			break;
		off += XS_HEADER_SIZE + h.len;
		f->events++;
	}
	memmove(f->buf, f->buf + off, f->len - off);
	f->len -= off;
	return 0;
}

/* One WRITE of the watched node; returns when every watcher has its event and the reply is in. */
static int fan_round(struct xst_wire *w, struct fan_conn *fc, unsigned nw, int ep,
		     struct xst_msg *m, unsigned seq, double *lat)
{
	struct epoll_event evs[256];
	char buf[64], val[16];
	unsigned got = 0;
	int replied = 0, len;
	double ts;

	for (unsigned i = 0; i < nw; i++)
		fc[i].events = 0;
	snprintf(val, sizeof(val), "%u", seq);
	len = xsb_build(buf, sizeof(buf), "/bench/fan", val, strlen(val));
	ts = xsb_now_s();
	if (xst_wire_send_msg(w, XS_WRITE, 0, 0, buf, (size_t)len) < 0) {
		xsb_fail("WRITE /bench/fan: %s", strerror(errno));
		return -1;
	}
	while (got < nw || !replied) {
		int r = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])),
				   xsb_opt.timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			xsb_fail("fan-out write %u: %u of %u events%s after %d s", seq, got, nw,
				 replied ? "" : ", no reply", xsb_opt.timeout_ms / 1000);
			return -1;
		}
		for (int k = 0; k < r; k++) {
			uint32_t id = evs[k].data.u32;
			int n;

			if (id == FAN_WRITER) {
				while ((n = recv_now(w, m, "fan-out WRITE reply")) > 0) {
					if (m->hdr.type != XS_WRITE || replied) {
						xsb_fail("fan-out WRITE -> %s %.60s",
							 xsb_type_str(m->hdr.type),
							 m->hdr.type == XS_ERROR ? m->payload : "");
						return -1;
					}
					replied = 1;
				}
				if (n < 0)
					return -1;
				continue;
			}
			unsigned before = fc[id].events;

			if (fan_read(&fc[id]) < 0)
				return -1;
			if (fc[id].events > 1) {
				xsb_fail("watcher %u got %u events for one write", id,
					 fc[id].events);
				return -1;
			}
			got += fc[id].events - before;
			if (got == nw && fc[id].events > before)
				*lat = xsb_now_s() - ts;
		}
	}
	return 0;
}

int xsb_grp_fanout(struct xst_daemon *d, int dk)
{
	unsigned want = xsb_scaled(1000), writes = xsb_scaled(200), nw;
	double med[XSB_MAX_REPS], fr[XSB_MAX_REPS], cli_us = 0;
	double *lat = malloc(sizeof(double) * writes);
	struct fan_conn *fc = calloc(want, sizeof(*fc));
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *w = xsb_connect(d);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	long long ticks = 0;
	int rc = -1;

	if (!w || !m || !fc || !lat || ep < 0)
		goto out_early;
	if (xsb_write(w, "/bench/fan", "0", 1, m) < 0)
		goto out_early;
	/* As many watchers as the daemon accepts, up to `want`; fewer is noted, not an error. */
	for (nw = 0; nw < want; nw++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = nw};
		char tok[16];

		fc[nw].c = xst_wire_socket(d->socket);
		if (!fc[nw].c) {
			xsb_progress("    only %u watcher connections: connect: %s\n", nw,
				     strerror(errno));
			break;
		}
		snprintf(tok, sizeof(tok), "f%u", nw);
		if (watch_on(fc[nw].c, "/bench/fan", tok, m) < 0) {
			xsb_progress("    only %u watcher connections: %s\n", nw, xsb_err);
			xst_wire_close(fc[nw].c);
			fc[nw].c = NULL;
			break;
		}
		if (epoll_ctl(ep, EPOLL_CTL_ADD, xst_wire_fd(fc[nw].c), &ev) < 0) {
			xsb_fail("epoll_ctl: %s", strerror(errno));
			nw++;
			goto out;
		}
	}
	xsb_err[0] = '\0';
	if (nw == 0) {
		xsb_fail("no watcher connection accepted");
		goto out;
	}
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = FAN_WRITER};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, xst_wire_fd(w), &ev) < 0) {
			xsb_fail("epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	xsb_fig_set(F_FAN_WATCHERS, dk, nw);
	/* One untimed round: first-touch allocations in every connection. */
	if (fan_round(w, fc, nw, ep, m, 0, &lat[0]) < 0)
		goto out;
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		long long k0 = xst_daemon_cpu_ticks(d);
		double t0 = xsb_now_s(), c0 = xsb_self_cpu_us();

		for (unsigned i = 0; i < writes; i++) {
			if (fan_round(w, fc, nw, ep, m, 1 + rep * writes + i, &lat[i]) < 0)
				goto out;
			if (xsb_over_cap(t0, i, writes, "fan-out writes"))
				goto out;
		}
		fr[rep] = xsb_rate(writes, xsb_now_s() - t0);
		cli_us += xsb_self_cpu_us() - c0;
		ticks = k0 < 0 || ticks < 0 ? -1 : ticks + xst_daemon_cpu_ticks(d) - k0;
		med[rep] = xsb_quantile(lat, writes, 0.5) * 1e6;
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: %.0f writes/s, all %u events in %.0f us (median),"
				     " max %.0f us\n",
				     rep, fr[rep], nw, med[rep], lat[writes - 1] * 1e6);
	}
	xsb_fig_set(F_FAN_TIME_MED, dk, xsb_median(med, xsb_opt.reps));
	xsb_fig_set(F_FAN_RATE, dk, xsb_median(fr, xsb_opt.reps));
	xsb_cpu_fig(F_CPU_FAN, dk, ticks, (double)writes * xsb_opt.reps * nw, "fan-out events");
	xsb_fig_set(F_CLI_FAN, dk, cli_us / ((double)writes * xsb_opt.reps));
	rc = 0;
out:
	for (unsigned i = 0; i < nw; i++)
		xst_wire_close(fc[i].c);
out_early:
	if (ep >= 0)
		close(ep);
	xst_wire_close(w);
	free(fc);
	free(m);
	free(lat);
	return rc;
}

/*
 * Writes while many unrelated watches are registered: /w/<i>/x, spread
 * over WL_CONNS connections. Several connections because the C daemon looks
 * for a duplicate through the connection's whole watch list on each WATCH,
 * so one connection with 100,000 would make registration quadratic there.
 */
#define WL_CONNS 100
#define WL_FMT "/bench/wl/n%04u"
#define WL_NODES 1000

static int gen_watch(void *vctx, unsigned long i, struct xsb_preq *r)
{
	int pl = snprintf(r->buf, sizeof(r->buf), "/w/%06lu/x", i);

	(void)vctx;
	r->type = XS_WATCH;
	r->expect_len = -1;
	memcpy(r->buf + pl + 1, "t", 2);
	r->len = (size_t)pl + 3;
	return 0;
}

/*
 * Pipelined overwrites in batches until 1 s is timed (small batches: a
 * daemon that is slow under many watches still ends near 1 s); adds the
 * daemon's ticks and writes.
 */
static int wl_rate(struct xst_daemon *d, struct xst_wire *c, double *out, long long *ticks,
		   unsigned long *writes)
{
	const unsigned batch = 1000;
	unsigned long done = 0;
	long long k0 = xst_daemon_cpu_ticks(d);
	double t0 = xsb_now_s(), t;

	do {
		if (xsb_pipe_run(c, XS_WRITE, WL_FMT, WL_NODES, 16, done, batch) < 0)
			return -1;
		done += batch;
		t = xsb_now_s() - t0;
		if (xsb_over_cap(t0, done, done, "writes with watches"))
			return -1;
	} while (t < 1.0);
	*out = xsb_rate((double)done, t);
	*ticks = k0 < 0 || *ticks < 0 ? -1 : *ticks + xst_daemon_cpu_ticks(d) - k0;
	*writes += done;
	return 0;
}

/* Register nwatch watches over nconn fresh connections (wc); their rate into *reg. */
static int wl_register(struct xst_daemon *d, struct xst_wire **wc, unsigned nconn, unsigned nwatch,
		       double *reg)
{
	double t0 = xsb_now_s();

	for (unsigned i = 0; i < nconn; i++) {
		unsigned first = (unsigned)((unsigned long)nwatch * i / nconn);
		unsigned last = (unsigned)((unsigned long)nwatch * (i + 1) / nconn);

		wc[i] = xsb_connect(d);
		if (!wc[i] || xsb_pipeline(wc[i], first, last - first, 32, gen_watch, NULL) < 0)
			return -1;
	}
	*reg = xsb_rate(nwatch, xsb_now_s() - t0);
	return 0;
}

/*
 * Wait until the daemon is idle: its CPU time stops moving (two 100 ms looks
 * alike; 60 s at most). The reference daemons go on working well after
 * 100,000 watches come or go, which would otherwise be charged to the next run.
 */
static void wl_settle(struct xst_daemon *d)
{
	long long before = -1, now = xst_daemon_cpu_ticks(d);

	for (int i = 0; i < 600 && now >= 0 && now != before; i++) {
		xsb_sleep_s(0.1);
		before = now;
		now = xst_daemon_cpu_ticks(d);
	}
}

static void wl_unregister(struct xst_daemon *d, struct xst_wire **wc, unsigned nconn)
{
	for (unsigned i = 0; i < nconn; i++) {
		xst_wire_close(wc[i]);
		wc[i] = NULL;
	}
	wl_settle(d);
}

int xsb_grp_wload(struct xst_daemon *d, int dk)
{
	unsigned nwatch = xsb_scaled(100000), nconn = nwatch < WL_CONNS ? nwatch : WL_CONNS;
	double none[XSB_MAX_REPS], loaded[XSB_MAX_REPS], reg[XSB_MAX_REPS];
	struct xst_wire *wc[WL_CONNS] = {0};
	struct xst_wire *c = xsb_connect(d);
	long long tk_none = 0, tk_loaded = 0;
	unsigned long w_none = 0, w_loaded = 0;
	/*
	 * The watches' cost is small, within the machine's drift over the
	 * group's run: the runs with and without alternate (the
	 * watches registered and dropped each time), at least 5 of each, and
	 * their medians are compared.
	 */
	int reps = xsb_opt.reps < 5 ? 5 : xsb_opt.reps;
	int rc = -1;

	if (!c)
		goto out;
	/* Create the nodes, then a warm-up pass, both untimed. */
	if (xsb_pipe_run(c, XS_WRITE, WL_FMT, 0, 16, 0, WL_NODES) < 0 ||
	    xsb_pipe_run(c, XS_WRITE, WL_FMT, WL_NODES, 16, 0, 2000) < 0)
		goto out;
	for (int rep = 0; rep < reps; rep++) {
		if (wl_rate(d, c, &none[rep], &tk_none, &w_none) < 0 ||
		    wl_register(d, wc, nconn, nwatch, &reg[rep]) < 0)
			goto out;
		wl_settle(d);
		if (wl_rate(d, c, &loaded[rep], &tk_loaded, &w_loaded) < 0)
			goto out;
		wl_unregister(d, wc, nconn);
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: %.0f writes/s without watches, %.0f with\n", rep,
				     none[rep], loaded[rep]);
	}
	xsb_fig_set(F_WL_REGISTER, dk, xsb_median(reg, reps));
	xsb_fig_set(F_WL_NONE, dk, xsb_median(none, reps));
	xsb_fig_set(F_WL_LOADED, dk, xsb_median(loaded, reps));
	xsb_fig_set(F_WL_RATIO, dk, xsb_figs[F_WL_LOADED].v[dk] / xsb_figs[F_WL_NONE].v[dk]);
	xsb_cpu_fig(F_CPU_WL_NONE, dk, tk_none, (double)w_none, "writes without watches");
	xsb_cpu_fig(F_CPU_WL_LOADED, dk, tk_loaded, (double)w_loaded, "writes with watches");
	rc = 0;
out:
	for (unsigned i = 0; i < nconn; i++)
		xst_wire_close(wc[i]);
	xst_wire_close(c);
	return rc;
}

/* xsbench's client side: failures and progress, clocks, statistics, the raw wire client (serial and pipelined) and CPU figures. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_wire.h"

/* ---------------------------------------------------------------- failures, clocks, statistics */

__thread char xsb_err[160];

void __attribute__((format(printf, 1, 2))) xsb_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xsb_err, sizeof(xsb_err), fmt, ap);
	va_end(ap);
}

void __attribute__((format(printf, 1, 2))) xsb_progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

double xsb_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void xsb_sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n <= 2 * XSB_MAX_REPS samples (the watch-load group takes two sets). */
double xsb_median(double *v, int n)
{
	double tmp[2 * XSB_MAX_REPS];

	if (n > 2 * XSB_MAX_REPS)
		n = 2 * XSB_MAX_REPS;
	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* The p-quantile (0..1) of n samples, by rank; sorts v. */
double xsb_quantile(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	k = (size_t)(p * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

/* Rate of a timed loop; guards a zero interval on a coarse clock. */
double xsb_rate(double count, double secs)
{
	return count / (secs > 1e-9 ? secs : 1e-9);
}

/* ---------------------------------------------------------------- serial requests */

const char *xsb_type_str(uint32_t t)
{
	const char *n = xs_type_name(t);

	return n ? n : "?";
}

/* A payload "path\0" (+ value bytes for WRITE); returns the length or -1 if too long. */
int xsb_build(char *buf, size_t size, const char *path, const char *value, size_t vlen)
{
	size_t pl = strlen(path) + 1;

	if (pl + vlen > size)
		return -1;
	memcpy(buf, path, pl);
	if (vlen)
		memcpy(buf + pl, value, vlen);
	return (int)(pl + vlen);
}

int xsb_exchange(struct xst_wire *c, uint32_t type, uint32_t tx, const void *payload, size_t len,
		 struct xst_msg *m, int timeout_ms)
{
	if (xst_wire_send_msg(c, type, 0, tx, payload, len) < 0)
		return -1;
	do
		if (xst_wire_recv(c, m, timeout_ms) < 0)
			return -1;
	while (m->hdr.type == XS_WATCH_EVENT);
	return 0;
}

int xsb_watch(struct xst_wire *c, const char *path, const char *token, struct xst_msg *m,
	      int timeout_ms)
{
	char buf[512];
	int len = xst_payload(buf, sizeof(buf), 0, (const char *const[]){path, token, NULL});
	int replied = 0, fired = 0;

	if (len < 0) {
		errno = E2BIG;
		return -1;
	}
	if (xst_wire_send_msg(c, XS_WATCH, 0, 0, buf, (size_t)len) < 0)
		return -1;
	while (!replied || !fired) {
		if (xst_wire_recv(c, m, timeout_ms) < 0)
			return -1;
		if (m->hdr.type == XS_WATCH_EVENT && !fired && strcmp(m->payload, path) == 0) {
			fired = 1;
		} else if (m->hdr.type == XS_WATCH && !replied) {
			replied = 1;
		} else {
			errno = EPROTO;
			return -1;
		}
	}
	return 0;
}

/* One synchronous request that must succeed with a reply of the same type. */
int xsb_call(struct xst_wire *c, uint32_t type, const char *payload, int len, struct xst_msg *m)
{
	if (len < 0) {
		xsb_fail("%s: payload too long", xsb_type_str(type));
		return -1;
	}
	if (xsb_exchange(c, type, 0, payload, (size_t)len, m, xsb_opt.timeout_ms) < 0) {
		xsb_fail("%s %s: %s", xsb_type_str(type), payload, strerror(errno));
		return -1;
	}
	if (m->hdr.type != type) {
		xsb_fail("%s %s -> %s %s", xsb_type_str(type), payload, xsb_type_str(m->hdr.type),
			 m->hdr.type == XS_ERROR ? m->payload : "");
		return -1;
	}
	return 0;
}

int xsb_write(struct xst_wire *c, const char *path, const char *value, size_t vlen,
	      struct xst_msg *m)
{
	char buf[XS_PAYLOAD_MAX];

	return xsb_call(c, XS_WRITE, buf, xsb_build(buf, sizeof(buf), path, value, vlen), m);
}

unsigned xsb_count_strings(const struct xst_msg *m)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < m->hdr.len; i++)
		n += m->payload[i] == '\0';
	return n;
}

/* A loop that runs past the wall-time cap is reported as an error, not waited for. */
int xsb_over_cap(double t0, unsigned long done, unsigned long total, const char *what)
{
	if (xsb_now_s() - t0 <= xsb_opt.loop_cap_s)
		return 0;
	xsb_fail("%s too slow: %lu of %lu in %.0f s", what, done, total, xsb_opt.loop_cap_s);
	return 1;
}

struct xst_wire *xsb_connect(const struct xst_daemon *d)
{
	struct xst_wire *c = xst_wire_socket(d->socket);

	if (!c)
		xsb_fail("connect %s: %s", d->socket, strerror(errno));
	return c;
}
/* ---------------------------------------------------------------- client threads */

/*
 * It cannot fail in practice; if it does, the barrier the threads meet at
 * would deadlock, so the daemon is killed and the benchmark stops.
 */
void xsb_thread_start(struct xsb_thread *t, void *(*fn)(void *), void *arg,
		      const struct xst_daemon *d)
{
	if (pthread_create(&t->tid, NULL, fn, arg) != 0) {
		fprintf(stderr, "xsbench: pthread_create failed\n");
		kill(d->pid, SIGKILL);
		exit(2);
	}
}

struct xst_wire *xsb_thread_connect(struct xsb_thread *t, struct xst_msg **m)
{
	struct xst_wire *c;

	*m = malloc(sizeof(**m));
	c = xst_wire_socket(t->socket);
	if (!c || !*m) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err), "connect: %s", strerror(errno));
	}
	return c;
}

void xsb_thread_finish(struct xsb_thread *t, struct xst_wire *c, struct xst_msg *m)
{
	pthread_barrier_wait(t->bar);
	xst_wire_close(c);
	free(m);
}

int xsb_threads_join(void *th, size_t size, unsigned count)
{
	int failed = 0;

	for (unsigned i = 0; i < count; i++) {
		struct xsb_thread *t = (struct xsb_thread *)((char *)th + i * size);

		pthread_join(t->tid, NULL);
		if (t->failed && !failed) {
			failed = 1;
			xsb_fail("connection %u: %s", i, t->err);
		}
	}
	return failed ? -1 : 0;
}

/* ---------------------------------------------------------------- pipelining */

/*
 * Up to `window` requests in flight on one connection, matched by req_id as
 * the Linux kernel client does. Requests are generated by index; a request
 * batch is written with one send so the client stays cheap and the daemon,
 * not the client, is the busy side.
 */
#define MAX_WINDOW 64

/* refused NULL: every reply must be of its request's type; else error replies are counted there. */
static int pipeline(struct xst_wire *c, unsigned long start, unsigned long n, unsigned window,
		    xsb_gen_fn gen, void *ctx, unsigned long *refused)
{
	static __thread unsigned char out[MAX_WINDOW * (XS_HEADER_SIZE + XSB_PREQ_MAX)];
	uint32_t id[MAX_WINDOW] = {0}, type[MAX_WINDOW];
	int elen[MAX_WINDOW];
	unsigned used = 0;
	unsigned long sent = 0, done = 0;
	double t0 = xsb_now_s();
	struct xst_msg *m = malloc(sizeof(*m));
	int rc = -1;

	if (!m) {
		xsb_fail("out of memory");
		return -1;
	}
	if (window > MAX_WINDOW)
		window = MAX_WINDOW;
	while (done < n) {
		size_t olen = 0;

		while (used < window && sent < n) {
			struct xsb_preq r;
			struct xs_header h;
			unsigned s = 0;

			r.tx = 0;
			if (gen(ctx, start + sent, &r) < 0)
				goto out;
			/* req_id 0 marks a free slot; ids run 1.. and never repeat within a call. */
			h = (struct xs_header){r.type, (uint32_t)(sent + 1), r.tx, (uint32_t)r.len};
			while (id[s])
				s++;
			id[s] = h.req_id;
			type[s] = r.type;
			elen[s] = r.expect_len;
			xs_header_encode(&h, out + olen);
			memcpy(out + olen + XS_HEADER_SIZE, r.buf, r.len);
			olen += XS_HEADER_SIZE + r.len;
			used++;
			sent++;
		}
		if (olen && xst_wire_send(c, out, olen) < 0) {
			xsb_fail("send: %s", strerror(errno));
			goto out;
		}
		/* Wait for one reply, then take whatever else is already buffered. */
		for (int first = 1;; first = 0) {
			unsigned s;

			if (xst_wire_recv(c, m, first ? xsb_opt.timeout_ms : 0) < 0) {
				if (!first && errno == ETIMEDOUT)
					break;
				xsb_fail("pipelined reply %lu of %lu: %s", done + 1, n,
					 strerror(errno));
				goto out;
			}
			if (m->hdr.type == XS_WATCH_EVENT)
				continue;
			for (s = 0; s < window && id[s] != m->hdr.req_id; s++)
				;
			if (s == window || m->hdr.req_id == 0) {
				xsb_fail("reply with unknown req_id %u", m->hdr.req_id);
				goto out;
			}
			if (refused && m->hdr.type == XS_ERROR) {
				(*refused)++;
			} else if (m->hdr.type != type[s]) {
				xsb_fail("pipelined %s -> %s %s", xsb_type_str(type[s]),
					 xsb_type_str(m->hdr.type),
					 m->hdr.type == XS_ERROR ? m->payload : "");
				goto out;
			} else if (elen[s] >= 0 && m->hdr.len != (uint32_t)elen[s]) {
				xsb_fail("pipelined %s: reply of %u bytes, expected %d",
					 xsb_type_str(type[s]), m->hdr.len, elen[s]);
				goto out;
			}
			id[s] = 0;
			used--;
			done++;
		}
		if (xsb_over_cap(t0, done, n, "pipelined batch"))
			goto out;
	}
	rc = 0;
out:
	free(m);
	return rc;
}

int xsb_pipeline(struct xst_wire *c, unsigned long start, unsigned long n, unsigned window,
		 xsb_gen_fn gen, void *ctx)
{
	return pipeline(c, start, n, window, gen, ctx, NULL);
}

int xsb_pipeline_tolerant(struct xst_wire *c, unsigned long start, unsigned long n, unsigned window,
			  xsb_gen_fn gen, void *ctx, unsigned long *refused)
{
	return pipeline(c, start, n, window, gen, ctx, refused);
}

/* Request generators: a path pattern over `mod` distinct nodes. */
struct gen_ctx {
	uint32_t type;
	const char *fmt;    /* printf pattern taking one unsigned */
	unsigned mod;       /* index i addresses node i % mod (0: i itself) */
	unsigned vlen;      /* value length for WRITE; expected READ length */
};

static int gen_path(void *vctx, unsigned long i, struct xsb_preq *r)
{
	struct gen_ctx *g = vctx;
	unsigned k = (unsigned)(g->mod ? i % g->mod : i);
	int pl = snprintf(r->buf, sizeof(r->buf), g->fmt, k);

	if (pl < 0 || (size_t)pl + 1 + g->vlen > sizeof(r->buf)) {
		xsb_fail("request too long");
		return -1;
	}
	r->type = g->type;
	r->len = (size_t)pl + 1;
	r->expect_len = -1;
	if (g->type == XS_WRITE) {
		/* The value varies with i so every write really changes the node. */
		memset(r->buf + r->len, 'a' + (int)(i % 26), g->vlen);
		r->len += g->vlen;
	} else if (g->type == XS_READ) {
		r->expect_len = (int)g->vlen;
	}
	return 0;
}

int xsb_pipe_run(struct xst_wire *c, uint32_t type, const char *fmt, unsigned mod, unsigned vlen,
		 unsigned long start, unsigned long n)
{
	struct gen_ctx g = {type, fmt, mod, vlen};

	return xsb_pipeline(c, start, n, 32, gen_path, &g);
}

/* WRITE node i of 64 bytes under base: <base>/dNNN/nNN, or <base>/nNNNNNN if not tree. */
int xsb_gen_node64(const char *base, bool tree, unsigned long i, struct xsb_preq *r)
{
	int pl;

	if (tree)
		pl = snprintf(r->buf, sizeof(r->buf), "%s/d%03lu/n%02lu", base, i / 100, i % 100);
	else
		pl = snprintf(r->buf, sizeof(r->buf), "%s/n%06lu", base, i);
	r->type = XS_WRITE;
	r->expect_len = -1;
	r->len = (size_t)pl + 1;
	/* 64 bytes, distinct per node so no daemon can share them. */
	snprintf(r->buf + r->len, 65, "%06lu-%057lu", i, i);
	r->len += 64;
	return 0;
}

/* ---------------------------------------------------------------- CPU measurement */

/* The daemon's CPU in microseconds per unit, from clock ticks. */
static double ticks_us_per(long long ticks, double units)
{
	return (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK) / (units > 0 ? units : 1);
}

/*
 * This process's CPU time (all its threads), in microseconds: the client's
 * own cost, which is the same work whichever daemon answers.
 */
double xsb_self_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A CPU figure read from few 10 ms ticks is coarse: say so rather than hide it. */
void xsb_cpu_fig(enum xsb_fig_id f, int dk, long long ticks, double units, const char *what)
{
	if (ticks < 0) {
		xsb_fig_state(f, dk, ST_ERROR, "cannot read the daemon's /proc stat");
		return;
	}
	/* Zero ticks is "under 10 ms in all", not "free": a 0 would make a ratio of 0. */
	if (ticks == 0) {
		xsb_fig_state(f, dk, ST_NA, "under one clock tick: run at a larger --scale");
		return;
	}
	xsb_fig_set(f, dk, ticks_us_per(ticks, units));
	if (xsb_opt.verbose || ticks < 20)
		xsb_progress("    %s: %.0f units, %lld ticks%s\n", what, units, ticks,
			     ticks < 20 ? " (few ticks: coarse figure)" : "");
}

/*
 * Daemon CPU per request: /proc ticks of the daemon around pipelined
 * batches. Ticks are 10 ms, so batches run until there are both enough
 * requests and enough ticks for a ~1% reading, or a generous tick count
 * alone, or a cap.
 */
int xsb_cpu_per_req_gen(struct xst_daemon *d, struct xst_wire *c, xsb_gen_fn gen, void *ctx,
			const char *what, double *us)
{
	const unsigned long batch = 20000, min_reqs = xsb_scaled(100000);
	const long long min_ticks =
		(long long)(100 * xsb_opt.scale < 10 ? 10 : 100 * xsb_opt.scale);
	const double cap = 30.0;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long reqs = 0;
	long long t0, dt;
	double w0;

	/* Warm up (first-touch allocations, caches) outside the measurement. */
	if (xsb_pipeline(c, 0, 2000, 32, gen, ctx) < 0)
		return -1;
	t0 = xst_daemon_cpu_ticks(d);
	w0 = xsb_now_s();
	for (;;) {
		if (xsb_pipeline(c, reqs, batch, 32, gen, ctx) < 0)
			return -1;
		reqs += batch;
		dt = xst_daemon_cpu_ticks(d) - t0;
		if ((reqs >= min_reqs && dt >= min_ticks) || dt >= 2 * min_ticks ||
		    xsb_now_s() - w0 > cap)
			break;
	}
	if (t0 < 0 || dt < 0) {
		xsb_fail("cannot read /proc/%d/stat", (int)d->pid);
		return -1;
	}
	*us = (double)dt * 1e6 / (double)hz / (double)reqs;
	if (xsb_opt.verbose || dt < 20)
		xsb_progress("    %s: %lu requests, %lld ticks, %.1f s wall%s\n", what, reqs, dt,
			     xsb_now_s() - w0, dt < 20 ? " (few ticks: coarse figure)" : "");
	return 0;
}

int xsb_cpu_per_req(struct xst_daemon *d, struct xst_wire *c, uint32_t type, const char *fmt,
		    unsigned mod, unsigned vlen, double *us)
{
	struct gen_ctx g = {type, fmt, mod, vlen};

	return xsb_cpu_per_req_gen(d, c, gen_path, &g, xsb_type_str(type), us);
}

/* ---------------------------------------------------------------- the dom0 prober */

static void *prober_main(void *arg)
{
	struct xsb_prober *p = arg;
	struct xst_wire *c = xst_wire_socket(p->socket);
	struct xst_msg *m = malloc(sizeof(*m));
	struct timespec next;
	/* The READ's payload, or the WRITE's: the path, then its value. */
	static const char payload[] = XSB_PROBE_PATH "\0" XSB_PROBE_VALUE;
	size_t len = p->type == XS_WRITE ? sizeof(payload) - 1 : sizeof(XSB_PROBE_PATH);

	if (!c || !m) {
		snprintf(p->err, sizeof(p->err), "prober: connect: %s", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		struct timespec now;
		double t;

		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
			next = now;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		t = xsb_now_s();
		if (xsb_exchange(c, p->type, 0, payload, len, m, p->timeout_ms) < 0) {
			snprintf(p->err, sizeof(p->err), "prober %s: %s", xsb_type_str(p->type),
				 strerror(errno));
			break;
		}
		if (m->hdr.type != p->type) {
			snprintf(p->err, sizeof(p->err), "prober %s -> %s %.60s", xsb_type_str(p->type),
				 xsb_type_str(m->hdr.type), m->payload);
			break;
		}
		if (p->n < p->cap)
			p->lat[p->n++] = (xsb_now_s() - t) * 1e6;
	}
out:
	xst_wire_close(c);
	free(m);
	return NULL;
}

static int prober_start(struct xsb_prober *p, const char *socket, int timeout_ms, double max_s,
			uint32_t type)
{
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->socket = socket;
	p->timeout_ms = timeout_ms;
	p->cap = (size_t)(max_s * 1000) + 1000;
	p->lat = malloc(p->cap * sizeof(double));
	if (!p->lat || pthread_create(&p->th, NULL, prober_main, p) != 0) {
		free(p->lat);
		p->lat = NULL;
		return -1;
	}
	p->running = 1;
	return 0;
}

int xsb_prober_start(struct xsb_prober *p, const char *socket, int timeout_ms, double max_s)
{
	return prober_start(p, socket, timeout_ms, max_s, XS_READ);
}

int xsb_prober_start_writes(struct xsb_prober *p, const char *socket, int timeout_ms, double max_s)
{
	return prober_start(p, socket, timeout_ms, max_s, XS_WRITE);
}

void xsb_prober_stop(struct xsb_prober *p)
{
	if (!p->running)
		return;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	pthread_join(p->th, NULL);
	p->running = 0;
}

void xsb_prober_free(struct xsb_prober *p)
{
	xsb_prober_stop(p);
	free(p->lat);
	p->lat = NULL;
}

void xsb_prober_stats(struct xsb_prober *p, double *p50, double *p99, double *max)
{
	double v50 = xsb_quantile(p->lat, p->n, 0.5); /* sorts them */

	if (p50)
		*p50 = v50;
	if (p99)
		*p99 = xsb_quantile(p->lat, p->n, 0.99);
	if (max)
		*max = p->n ? p->lat[p->n - 1] : 0;
}

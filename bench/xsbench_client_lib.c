/* xsbench's client group (issue 10): the xsl_ library's requests in flight over one guest ring and one socket, Debian's libxenstore one at a time, watch callbacks. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "bench/xsbench.h"
#include "client/xenstore_client.h"
#include "proto/simhyp.h"

#ifdef XSB_HAVE_LIBXS
#include <xenstore.h>
#endif

/*
 * Everything here goes through the library as an application would use it
 * (this file does not see the bench's raw client, whose wire definitions
 * would clash with libxenstore's): a dom0 handle on the socket sets up and
 * writes; the measured handle is a second socket handle, or a simulated
 * guest's ring handle (our daemon only: the reference daemons' rings are
 * idle pages). Requests in flight are asynchronous READs of a 16-byte node
 * (xsl_request_async), each completion issuing the next from its callback
 * while the benchmark sits in xsl_pump.
 */

#define CL_DOMID 60
#define CL_INFLIGHT_MAX 19u /* the titles say so */
_Static_assert(XSL_INFLIGHT_MAX == CL_INFLIGHT_MAX, "the library's in-flight cap changed: titles");

static const unsigned depth[3] = {1, 8, 32};
static const enum xsb_fig_id sock_fig[3] = {F_CL_SOCK_1, F_CL_SOCK_8, F_CL_SOCK_32};
static const enum xsb_fig_id ring_fig[3] = {F_CL_RING_1, F_CL_RING_8, F_CL_RING_32};

static int xsl_fail(const char *what, int err)
{
	xsb_fail("%s: %s", what, strerror(-err));
	return -1;
}

/* ---------------------------------------------------------------- requests in flight */

struct flight {
	struct xsl *h;
	const char *path;
	unsigned long issued, done, total;
	int err;
};

static void on_reply(struct xsl *h, int err, const char *reply, size_t len, void *arg);

static void issue(struct flight *f)
{
	int e = xsl_request_async(f->h, XSL_TXN_NONE, XS_READ, f->path, strlen(f->path) + 1,
				  on_reply, f);

	if (e < 0 && !f->err)
		f->err = e;
	else
		f->issued++;
}

static void on_reply(struct xsl *h, int err, const char *reply, size_t len, void *arg)
{
	struct flight *f = arg;

	(void)h;
	(void)reply;
	f->done++;
	if ((err || len != 16) && !f->err)
		f->err = err ? err : -EPROTO;
	if (!f->err && f->issued < f->total)
		issue(f);
}

/* n READs of path with k outstanding at a time: their rate. */
static int inflight_run(struct xsl *h, const char *path, unsigned k, unsigned long n, double *rate)
{
	struct flight f = {h, path, 0, 0, n, 0};
	double t0 = xsb_now_s();

	while (f.issued < k && f.issued < n && !f.err)
		issue(&f);
	while (f.done < f.issued && !f.err) {
		unsigned long before = f.done;
		int r = xsl_pump(h, xsb_opt.timeout_ms);

		if (r < 0)
			return xsl_fail("xsl_pump", r);
		if (r == 0 && f.done == before) {
			xsb_fail("READ %s: no reply in %d ms (%lu of %lu done)", path,
				 xsb_opt.timeout_ms, f.done, n);
			return -1;
		}
		if (xsb_over_cap(t0, f.done, n, "requests in flight"))
			return -1;
	}
	if (f.err) {
		xsb_fail("READ %s with %u in flight: %s", path, k, strerror(-f.err));
		return -1;
	}
	*rate = xsb_rate((double)n, xsb_now_s() - t0);
	return 0;
}

/* 1, 8 and 32 in flight, median of the reps; the daemon's CPU over the 32 runs. */
static int inflight_figs(struct xst_daemon *d, int dk, struct xsl *h, const char *path,
			 const enum xsb_fig_id figs[3], enum xsb_fig_id cpu_fig, const char *what)
{
	unsigned long n = xsb_scaled(20000);
	double r[XSB_MAX_REPS];
	long long ticks = 0;

	for (int i = 0; i < 3; i++) {
		for (int rep = 0; rep < xsb_opt.reps; rep++) {
			long long t0 = xst_daemon_cpu_ticks(d), t1;

			if (inflight_run(h, path, depth[i], n, &r[rep]) < 0)
				return -1;
			t1 = xst_daemon_cpu_ticks(d);
			if (i == 2)
				ticks = t0 < 0 || t1 < 0 || ticks < 0 ? -1 : ticks + t1 - t0;
		}
		xsb_fig_set(figs[i], dk, xsb_median(r, xsb_opt.reps));
		if (xsb_opt.verbose)
			xsb_progress("    %s, %u in flight: %.0f/s\n", what, depth[i],
				     xsb_figs[figs[i]].v[dk]);
	}
	xsb_cpu_fig(cpu_fig, dk, ticks, (double)n * xsb_opt.reps, what);
	return 0;
}

/* ---------------------------------------------------------------- watch callbacks */

struct wstate {
	unsigned long events;
	double t_last;
};

static void on_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct wstate *s = arg;

	(void)h;
	(void)w;
	(void)ev;
	s->t_last = xsb_now_s();
	s->events++;
}

/* Pump h until the watch has seen `want` events. */
static int wait_events(struct xsl *h, struct wstate *s, unsigned long want)
{
	while (s->events < want) {
		int r = xsl_pump(h, xsb_opt.timeout_ms);

		if (r < 0)
			return xsl_fail("xsl_pump", r);
		if (r == 0 && s->events < want) {
			xsb_fail("watch event %lu: none in %d ms", want, xsb_opt.timeout_ms);
			return -1;
		}
	}
	return 0;
}

/*
 * dom0 writes path, h's watch callback runs: from the WRITE sent to the
 * callback, serially, median and p99.
 */
static int watch_figs(int dk, struct xsl *dom0, struct xsl *h, const char *path,
		      enum xsb_fig_id med_fig, enum xsb_fig_id p99_fig)
{
	unsigned n = xsb_scaled(2000);
	double *lat = malloc(n * sizeof(double));
	struct wstate s = {0, 0};
	struct xsl_watch *w = NULL;
	int rc = -1, e;

	if (!lat) {
		xsb_fail("out of memory");
		return -1;
	}
	if ((e = xsl_write(dom0, XSL_TXN_NONE, path, XSB_VALUE16, 16)) < 0 ||
	    (e = xsl_watch(h, path, NULL, on_event, &s, &w)) < 0) {
		xsl_fail(path, e);
		goto out;
	}
	/* The first event comes with the registration. */
	if (wait_events(h, &s, 1) < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		double t0 = xsb_now_s();

		if ((e = xsl_write(dom0, XSL_TXN_NONE, path, XSB_VALUE16, 1 + i % 16)) < 0) {
			xsl_fail("WRITE", e);
			goto out;
		}
		if (wait_events(h, &s, i + 2) < 0)
			goto out;
		lat[i] = (s.t_last - t0) * 1e6;
	}
	xsb_fig_set(med_fig, dk, xsb_quantile(lat, n, 0.5));
	xsb_fig_set(p99_fig, dk, xsb_quantile(lat, n, 0.99));
	rc = 0;
out:
	if (w)
		xsl_unwatch(h, w);
	free(lat);
	return rc;
}

/* ---------------------------------------------------------------- Debian's libxenstore */

/* One READ at a time, as libxenstore does, on the same daemon's socket. */
static int libxs_figs(struct xst_daemon *d, int dk, const char *path)
{
#ifdef XSB_HAVE_LIBXS
	unsigned long n = xsb_scaled(20000);
	double r[XSB_MAX_REPS];
	long long ticks = 0;
	struct xs_handle *h;

	setenv("XENSTORED_PATH", d->socket, 1);
	h = xs_open(0);
	unsetenv("XENSTORED_PATH");
	if (!h) {
		xsb_fail("xs_open %s: %s", d->socket, strerror(errno));
		return -1;
	}
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		long long k0 = xst_daemon_cpu_ticks(d), k1;
		double t0 = xsb_now_s();

		for (unsigned long i = 0; i < n; i++) {
			unsigned int len = 0;
			char *v = xs_read(h, XBT_NULL, path, &len);

			free(v);
			if (!v || len != 16) {
				xsb_fail("libxenstore xs_read %s: %s", path,
					 v ? "wrong length" : strerror(errno));
				xs_close(h);
				return -1;
			}
			if ((i & 255) == 0 && xsb_over_cap(t0, i, n, "libxenstore reads")) {
				xs_close(h);
				return -1;
			}
		}
		r[rep] = xsb_rate((double)n, xsb_now_s() - t0);
		k1 = xst_daemon_cpu_ticks(d);
		ticks = k0 < 0 || k1 < 0 || ticks < 0 ? -1 : ticks + k1 - k0;
	}
	xs_close(h);
	xsb_fig_set(F_CL_LIBXS, dk, xsb_median(r, xsb_opt.reps));
	xsb_cpu_fig(F_CL_CPU_LIBXS, dk, ticks, (double)n * xsb_opt.reps, "libxenstore");
#else
	(void)d;
	(void)path;
	xsb_fig_state(F_CL_LIBXS, dk, ST_MISSING, "libxenstore (pkg-config xenstore) not built in");
	xsb_fig_state(F_CL_CPU_LIBXS, dk, ST_MISSING,
		      "libxenstore (pkg-config xenstore) not built in");
#endif
	return 0;
}

/* ---------------------------------------------------------------- the group */

static int open_socket(struct xst_daemon *d, struct xsl **h)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = d->socket,
				  .max_inflight = XSL_INFLIGHT_MAX, .timeout_ms = xsb_opt.timeout_ms};
	int e = xsl_open(h, &o);

	return e < 0 ? xsl_fail("xsl_open socket", e) : 0;
}

/* Our daemon: a simulated guest introduced by dom0, its ring handle, its 16-byte node. */
static int ring_figs(struct xst_daemon *d, int dk, struct xsl *dom0)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SIMRING, .max_inflight = XSL_INFLIGHT_MAX,
				  .timeout_ms = xsb_opt.timeout_ms};
	struct xsl_perm own = {CL_DOMID, XSL_PERM_NONE};
	struct xsl_simdom *dom = NULL;
	struct xsl *h = NULL;
	char simhyp[320], home[32], node[64], wnode[64];
	int rc = -1, e;

	snprintf(simhyp, sizeof(simhyp), "%s/%s", d->dir, SIMHYP_SOCKET_NAME);
	snprintf(home, sizeof(home), "/local/domain/%u", CL_DOMID);
	snprintf(node, sizeof(node), "%s/x", home);
	snprintf(wnode, sizeof(wnode), "%s/w", home);
	if ((e = xsl_simdom_create(simhyp, CL_DOMID, &dom)) < 0 ||
	    (e = xsl_mkdir(dom0, XSL_TXN_NONE, home)) < 0 ||
	    (e = xsl_set_perms(dom0, XSL_TXN_NONE, home, &own, 1)) < 0 ||
	    (e = xsl_introduce(dom0, CL_DOMID, 0, xsl_simdom_port(dom))) < 0) {
		xsl_fail("guest domain", e);
		goto out;
	}
	o.simdom = dom;
	if ((e = xsl_open(&h, &o)) < 0 || (e = xsl_write(h, XSL_TXN_NONE, node, XSB_VALUE16, 16)) < 0) {
		xsl_fail("guest ring", e);
		goto out;
	}
	if (inflight_figs(d, dk, h, node, ring_fig, F_CL_CPU_RING, "xsl over a ring") < 0 ||
	    watch_figs(dk, dom0, h, wnode, F_CL_WATCH_RING_MED, F_CL_WATCH_RING_P99) < 0)
		goto out;
	rc = 0;
out:
	if (h)
		xsl_close(h);
	xsl_simdom_destroy(dom);
	return rc;
}

static void ratio_fig(enum xsb_fig_id f, int dk, enum xsb_fig_id num, enum xsb_fig_id den)
{
	if (xsb_figs[num].st[dk] == ST_OK && xsb_figs[den].st[dk] == ST_OK && xsb_figs[den].v[dk] > 0)
		xsb_fig_set(f, dk, xsb_figs[num].v[dk] / xsb_figs[den].v[dk]);
	else
		xsb_fig_state(f, dk, ST_NA, "a figure it needs is missing");
}

int xsb_grp_client(struct xst_daemon *d, int dk)
{
	static const char node[] = "/bench/cl/x", wnode[] = "/bench/cl/w";
	struct xsl *dom0 = NULL, *h = NULL;
	int rc = -1, e;

	if (open_socket(d, &dom0) < 0 || open_socket(d, &h) < 0)
		goto out;
	if ((e = xsl_write(dom0, XSL_TXN_NONE, node, XSB_VALUE16, 16)) < 0) {
		xsl_fail(node, e);
		goto out;
	}
	if (inflight_figs(d, dk, h, node, sock_fig, F_CL_CPU_SOCK, "xsl over a socket") < 0 ||
	    libxs_figs(d, dk, node) < 0 ||
	    watch_figs(dk, dom0, h, wnode, F_CL_WATCH_SOCK_MED, F_CL_WATCH_SOCK_P99) < 0)
		goto out;
	if (dk == D_OURS) {
		if (ring_figs(d, dk, dom0) < 0)
			goto out;
		ratio_fig(F_CL_RING_OVER_LIBXS, dk, F_CL_RING_32, F_CL_LIBXS);
		ratio_fig(F_CL_CPU_RING_OVER_SOCK, dk, F_CL_CPU_RING, F_CL_CPU_SOCK);
	} else {
		for (int f = F_CL_SOCK_1; f <= F_CL_WATCH_RING_P99; f++)
			if (xsb_figs[f].st[dk] == ST_UNSET)
				xsb_fig_state(f, dk, ST_NA, "simulated guest rings: our daemon only");
	}
	rc = 0;
out:
	if (h)
		xsl_close(h);
	if (dom0)
		xsl_close(dom0);
	return rc;
}

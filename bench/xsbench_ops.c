/* xsbench's operation groups: serial, pipeline and concurrent READ/WRITE/DIRECTORY rates, and the daemon's CPU per request. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_wire.h"

/* Serial WRITE of distinct nodes, serial READ of them, DIRECTORY of a 100-child node. */
int xsb_grp_serial(struct xst_daemon *d, int dk)
{
	unsigned n = xsb_scaled(10000);
	double w[XSB_MAX_REPS], r[XSB_MAX_REPS], dr[XSB_MAX_REPS];
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *c = xsb_connect(d);
	char path[128];
	int rc = -1;

	if (!c || !m)
		goto out;
	for (unsigned i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/bench/s/d/c%03u", i);
		if (xsb_write(c, path, "", 0, m) < 0)
			goto out;
	}
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		double t0 = xsb_now_s();

		for (unsigned i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/bench/s/r%d/n%05u", rep, i);
			if (xsb_write(c, path, XSB_VALUE16, 16, m) < 0)
				goto out;
			if ((i & 255) == 0 && xsb_over_cap(t0, i, n, "serial write"))
				goto out;
		}
		w[rep] = xsb_rate(n, xsb_now_s() - t0);

		t0 = xsb_now_s();
		for (unsigned i = 0; i < n; i++) {
			char buf[256];

			snprintf(path, sizeof(path), "/bench/s/r%d/n%05u", rep, i);
			if (xsb_call(c, XS_READ, buf, xsb_build(buf, sizeof(buf), path, NULL, 0),
				     m) < 0)
				goto out;
			if (m->hdr.len != 16 || memcmp(m->payload, XSB_VALUE16, 16) != 0) {
				xsb_fail("READ %s: wrong value (%u bytes)", path, m->hdr.len);
				goto out;
			}
			if ((i & 255) == 0 && xsb_over_cap(t0, i, n, "serial read"))
				goto out;
		}
		r[rep] = xsb_rate(n, xsb_now_s() - t0);

		t0 = xsb_now_s();
		for (unsigned i = 0; i < n; i++) {
			static const char dir[] = "/bench/s/d";

			if (xsb_call(c, XS_DIRECTORY, dir, sizeof(dir), m) < 0)
				goto out;
			if (xsb_count_strings(m) != 100) {
				xsb_fail("DIRECTORY %s: %u children, expected 100", dir,
					 xsb_count_strings(m));
				goto out;
			}
			if ((i & 255) == 0 && xsb_over_cap(t0, i, n, "serial directory"))
				goto out;
		}
		dr[rep] = xsb_rate(n, xsb_now_s() - t0);
		/* Remove this rep's nodes so every rep starts from the same store. */
		snprintf(path, sizeof(path), "/bench/s/r%d", rep);
		if (xsb_call(c, XS_RM, path, (int)strlen(path) + 1, m) < 0)
			goto out;
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: write %.0f/s read %.0f/s dir %.0f/s\n", rep,
				     w[rep], r[rep], dr[rep]);
	}
	xsb_fig_set(F_WRITE_SERIAL, dk, xsb_median(w, xsb_opt.reps));
	xsb_fig_set(F_READ_SERIAL, dk, xsb_median(r, xsb_opt.reps));
	xsb_fig_set(F_DIR_SERIAL, dk, xsb_median(dr, xsb_opt.reps));
	rc = 0;
out:
	xst_wire_close(c);
	free(m);
	return rc;
}

#define PIPE_NODES 10000

/* Pipelined READ and WRITE (overwrites) of 10,000 nodes, 32 in flight. */
int xsb_grp_pipe(struct xst_daemon *d, int dk)
{
	unsigned long n = xsb_scaled(100000);
	unsigned nodes = xsb_scaled(PIPE_NODES);
	double r[XSB_MAX_REPS], w[XSB_MAX_REPS];
	struct xst_wire *c = xsb_connect(d);
	int rc = -1;

	if (!c)
		goto out;
	if (xsb_pipe_run(c, XS_WRITE, "/bench/p/n%05u", 0, 16, 0, nodes) < 0)
		goto out;
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		double t0 = xsb_now_s();

		if (xsb_pipe_run(c, XS_READ, "/bench/p/n%05u", nodes, 16, 0, n) < 0)
			goto out;
		r[rep] = xsb_rate((double)n, xsb_now_s() - t0);
		t0 = xsb_now_s();
		if (xsb_pipe_run(c, XS_WRITE, "/bench/p/n%05u", nodes, 16, 0, n) < 0)
			goto out;
		w[rep] = xsb_rate((double)n, xsb_now_s() - t0);
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: read %.0f/s write %.0f/s\n", rep, r[rep], w[rep]);
	}
	xsb_fig_set(F_PIPE_READ, dk, xsb_median(r, xsb_opt.reps));
	xsb_fig_set(F_PIPE_WRITE, dk, xsb_median(w, xsb_opt.reps));
	rc = 0;
out:
	xst_wire_close(c);
	return rc;
}

/* 16 connections, one thread each, serial WRITEs of new nodes then READs of them. */
#define CONC_THREADS 16

struct conc_thread {
	struct xsb_thread w;
	int rep;
};

static void *conc_main(void *arg)
{
	struct conc_thread *ct = arg;
	struct xsb_thread *t = &ct->w;
	struct xst_msg *m;
	struct xst_wire *c = xsb_thread_connect(t, &m);
	char path[128], buf[256];

	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->n && !t->failed; i++) {
		int len;

		snprintf(path, sizeof(path), "/bench/c/r%d/t%02u/n%05u", ct->rep, t->idx, i);
		len = xsb_build(buf, sizeof(buf), path, XSB_VALUE16, 16);
		if (xsb_exchange(c, XS_WRITE, 0, buf, (size_t)len, m, xsb_opt.timeout_ms) < 0) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "WRITE %s: %s", path, strerror(errno));
		} else if (m->hdr.type != XS_WRITE) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "WRITE %s -> %s %.32s", path,
				 xsb_type_str(m->hdr.type),
				 m->hdr.type == XS_ERROR ? m->payload : "");
		}
	}
	pthread_barrier_wait(t->bar);
	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->n && !t->failed; i++) {
		int len;

		snprintf(path, sizeof(path), "/bench/c/r%d/t%02u/n%05u", ct->rep, t->idx, i);
		len = xsb_build(buf, sizeof(buf), path, NULL, 0);
		if (xsb_exchange(c, XS_READ, 0, buf, (size_t)len, m, xsb_opt.timeout_ms) < 0) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "READ %s: %s", path, strerror(errno));
		} else if (m->hdr.type != XS_READ || m->hdr.len != 16) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "READ %s -> %s %.32s (%u bytes)", path,
				 xsb_type_str(m->hdr.type),
				 m->hdr.type == XS_ERROR ? m->payload : "", m->hdr.len);
		}
	}
	xsb_thread_finish(t, c, m);
	return NULL;
}

int xsb_grp_conc(struct xst_daemon *d, int dk)
{
	/* 48,000 operations per phase: shorter phases are dominated by thread start-up. */
	unsigned n = xsb_scaled(3000);
	double w[XSB_MAX_REPS], r[XSB_MAX_REPS];
	struct conc_thread th[CONC_THREADS];
	pthread_barrier_t bar;
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *c = xsb_connect(d);
	int rc = -1;

	if (!c || !m)
		goto out;
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		char path[64];

		double t[4];
		int failed;

		pthread_barrier_init(&bar, NULL, CONC_THREADS + 1);
		for (unsigned i = 0; i < CONC_THREADS; i++) {
			th[i] = (struct conc_thread){
				.w = {.socket = d->socket, .bar = &bar, .idx = i, .n = n}, .rep = rep};
			xsb_thread_start(&th[i].w, conc_main, &th[i], d);
		}
		long long ticks[4];

		for (int k = 0; k < 4; k++) {
			pthread_barrier_wait(&bar);
			t[k] = xsb_now_s();
			ticks[k] = xst_daemon_cpu_ticks(d);
		}
		failed = xsb_threads_join(th, sizeof(th[0]), CONC_THREADS) < 0;
		pthread_barrier_destroy(&bar);
		if (failed)
			goto out;
		w[rep] = xsb_rate((double)n * CONC_THREADS, t[1] - t[0]);
		r[rep] = xsb_rate((double)n * CONC_THREADS, t[3] - t[2]);
		/* Remove this rep's nodes so every rep starts from the same store. */
		snprintf(path, sizeof(path), "/bench/c/r%d", rep);
		if (xsb_call(c, XS_RM, path, (int)strlen(path) + 1, m) < 0)
			goto out;
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: write %.0f/s read %.0f/s"
				     " (daemon CPU %.0f%% / %.0f%%)\n",
				     rep, w[rep], r[rep],
				     100.0 * (double)(ticks[1] - ticks[0]) /
					     (double)sysconf(_SC_CLK_TCK) / (t[1] - t[0]),
				     100.0 * (double)(ticks[3] - ticks[2]) /
					     (double)sysconf(_SC_CLK_TCK) / (t[3] - t[2]));
	}
	xsb_fig_set(F_CONC_WRITE, dk, xsb_median(w, xsb_opt.reps));
	xsb_fig_set(F_CONC_READ, dk, xsb_median(r, xsb_opt.reps));
	rc = 0;
out:
	xst_wire_close(c);
	free(m);
	return rc;
}

int xsb_grp_cpu(struct xst_daemon *d, int dk)
{
	struct xst_wire *c = xsb_connect(d);
	double us;
	int rc = -1;

	if (!c)
		goto out;
	if (xsb_pipe_run(c, XS_WRITE, "/bench/cpu/n%04u", 0, 16, 0, 1000) < 0 ||
	    xsb_pipe_run(c, XS_WRITE, "/bench/cpu/d/c%03u", 0, 0, 0, 100) < 0)
		goto out;
	if (xsb_cpu_per_req(d, c, XS_READ, "/bench/cpu/n%04u", 1000, 16, &us) < 0)
		goto out;
	xsb_fig_set(F_CPU_READ, dk, us);
	if (xsb_cpu_per_req(d, c, XS_WRITE, "/bench/cpu/n%04u", 1000, 16, &us) < 0)
		goto out;
	xsb_fig_set(F_CPU_WRITE, dk, us);
	/* The %u of the pattern is not used: every request lists the same node. */
	if (xsb_cpu_per_req(d, c, XS_DIRECTORY, "/bench/cpu/d%.0u", 1, 0, &us) < 0)
		goto out;
	xsb_fig_set(F_CPU_DIR, dk, us);
	rc = 0;
out:
	xst_wire_close(c);
	return rc;
}

/* xsbench's transaction groups: txn (serial 10-write transactions, small and big store) and txnconc (16 connections committing at once). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/xsbench.h"
#include "tests/lib/xst_wire.h"

#define TXN_WRITES 10
#define TXN_ATTEMPTS 100

/* One request of a transaction, whose reply must be of its type. */
static int txn_step(struct xst_wire *c, struct xst_msg *m, uint32_t type, uint32_t id,
		    const char *buf, size_t len, char *err, size_t errsz)
{
	if (xsb_exchange(c, type, id, buf, len, m, xsb_opt.timeout_ms) < 0) {
		snprintf(err, errsz, "%s %s in transaction: %s", xsb_type_str(type), buf,
			 strerror(errno));
		return -1;
	}
	if (m->hdr.type != type) {
		snprintf(err, errsz, "%s %s in transaction -> %s %.60s", xsb_type_str(type), buf,
			 xsb_type_str(m->hdr.type), m->hdr.type == XS_ERROR ? m->payload : "");
		return -1;
	}
	return 0;
}

int xsb_txn_run(struct xst_wire *c, struct xst_msg *m, const struct xsb_txn_shape *sh,
		unsigned long seq, unsigned long *eagain, char *err, size_t errsz)
{
	char val[32];

	snprintf(val, sizeof(val), "%016lu", seq % 10000000000000000ul);
	for (unsigned attempt = 0; attempt < sh->max_attempts; attempt++) {
		char *end;
		unsigned long id;

		if (xsb_exchange(c, XS_TRANSACTION_START, 0, "", 1, m, xsb_opt.timeout_ms) < 0) {
			snprintf(err, errsz, "TRANSACTION_START: %s", strerror(errno));
			return -1;
		}
		if (m->hdr.type != XS_TRANSACTION_START) {
			snprintf(err, errsz, "TRANSACTION_START -> %s %.60s",
				 xsb_type_str(m->hdr.type),
				 m->hdr.type == XS_ERROR ? m->payload : "");
			return -1;
		}
		id = strtoul(m->payload, &end, 10);
		if (end == m->payload || id == 0 || id > UINT32_MAX) {
			snprintf(err, errsz, "TRANSACTION_START: bad id '%.20s'", m->payload);
			return -1;
		}
		for (unsigned k = 0; k < sh->reads + sh->writes; k++) {
			int rd = k < sh->reads;
			char path[128], buf[256];
			int len;

			snprintf(path, sizeof(path), "%s/k%u", rd ? sh->rbase : sh->wbase,
				 rd ? k : k - sh->reads);
			len = xsb_build(buf, sizeof(buf), path, val, rd ? 0 : 16);
			if (txn_step(c, m, rd ? XS_READ : XS_WRITE, (uint32_t)id, buf, (size_t)len, err,
				     errsz) < 0)
				return -1;
		}
		if (xsb_exchange(c, XS_TRANSACTION_END, (uint32_t)id, "T", 2, m,
			     xsb_opt.timeout_ms) < 0) {
			snprintf(err, errsz, "TRANSACTION_END: %s", strerror(errno));
			return -1;
		}
		if (m->hdr.type == XS_TRANSACTION_END)
			return 0;
		if (m->hdr.type != XS_ERROR || strcmp(m->payload, "EAGAIN") != 0) {
			snprintf(err, errsz, "TRANSACTION_END -> %s %.60s",
				 xsb_type_str(m->hdr.type),
				 m->hdr.type == XS_ERROR ? m->payload : "");
			return -1;
		}
		(*eagain)++;
	}
	return 1;
}

/*
 * TRANSACTION_START, TXN_WRITES overwrites of base/k<j>, commit; a commit
 * answered EAGAIN is retried from the start (and counted) as clients do.
 * Thread-safe: a failure is described in err, not xsb_err.
 */
static int txn10(struct xst_wire *c, struct xst_msg *m, const char *base, unsigned long seq,
		 unsigned long *eagain, char *err, size_t errsz)
{
	const struct xsb_txn_shape sh = {NULL, 0, base, TXN_WRITES, TXN_ATTEMPTS};
	int rc = xsb_txn_run(c, m, &sh, seq, eagain, err, errsz);

	if (rc == 1)
		snprintf(err, errsz, "transaction on %s still EAGAIN after %d attempts", base,
			 TXN_ATTEMPTS);
	return rc == 0 ? 0 : -1;
}

/* n serial transactions on c (sequence numbers from seq0): their rate. */
static int txn_rate(struct xst_wire *c, struct xst_msg *m, unsigned n, unsigned long seq0,
		    unsigned long *eagain, double *rate, const char *what)
{
	char err[256];
	double t0 = xsb_now_s();

	for (unsigned i = 0; i < n; i++) {
		if (txn10(c, m, "/bench/tx", seq0 + i, eagain, err, sizeof(err)) < 0) {
			xsb_fail("%s", err);
			return -1;
		}
		if ((i & 63) == 0 && xsb_over_cap(t0, i, n, what))
			return -1;
	}
	*rate = xsb_rate(n, xsb_now_s() - t0);
	return 0;
}

/*
 * xsb_opt.reps runs of n serial transactions (sequence numbers from seq0); the
 * median rate, the daemon CPU and the client CPU (f_cli, F_COUNT for none)
 * per transaction go to the figures.
 */
static int txn_serial_reps(struct xst_daemon *d, int dk, struct xst_wire *c, struct xst_msg *m,
			   unsigned n, unsigned long seq0, unsigned long *eagain, int f_rate,
			   int f_cpu, int f_cli, const char *what)
{
	double tr[XSB_MAX_REPS], cli_us = 0;
	long long ticks = 0;

	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		long long k0 = xst_daemon_cpu_ticks(d);
		double c0 = xsb_self_cpu_us();

		if (txn_rate(c, m, n, seq0 + (unsigned long)rep * n, eagain, &tr[rep], what) < 0)
			return -1;
		cli_us += xsb_self_cpu_us() - c0;
		ticks = k0 < 0 || ticks < 0 ? -1 : ticks + xst_daemon_cpu_ticks(d) - k0;
		if (xsb_opt.verbose)
			xsb_progress("    %s, rep %d: %.0f transactions/s, %lu EAGAIN so far\n",
				     what, rep, tr[rep], *eagain);
	}
	xsb_fig_set(f_rate, dk, xsb_median(tr, xsb_opt.reps));
	xsb_cpu_fig(f_cpu, dk, ticks, (double)n * xsb_opt.reps, what);
	if (f_cli != F_COUNT)
		xsb_fig_set(f_cli, dk, cli_us / ((double)n * xsb_opt.reps));
	return 0;
}

/*
 * Our daemon against the floor in rounds taken in turn, the floor on our
 * daemon's CPU and served by the same client: PAIRED_ROUNDS of n
 * transactions (per connection) each side, the first side alternating.
 * Each round's ratio compares the two under the same conditions; their
 * median is the figure. Run one after the other, as the groups are, the
 * two rates may come from a host running at different speeds (this one
 * drifts by a third within a minute).
 */
#define PAIRED_ROUNDS 11

/* One side of a paired round: a daemon and the group's connection to it. */
struct side {
	struct xst_daemon *d;
	struct xst_wire *c;
	struct xst_msg *m;
};

/* One round's rate on a side. */
typedef int paired_round_fn(const struct side *s, unsigned n, unsigned long seq0, double *rate);

/*
 * The ratio goes to figure f. With beyond and room (else F_COUNT), also the
 * time per transaction a round of ours took beyond the floor's, and the
 * time beyond it a ratio of 0.9 allows: the target as a budget of work, to
 * set against what a change saves.
 */
static int paired(const struct side *ours, paired_round_fn *round, int (*prepare)(struct xst_wire *c),
		  enum xsb_fig_id f, enum xsb_fig_id beyond, enum xsb_fig_id room, unsigned n,
		  unsigned long seq0)
{
	struct xst_daemon fl;
	struct side side[2] = {*ours, {&fl, NULL, ours->m}};
	double ratio[PAIRED_ROUNDS], over_us[PAIRED_ROUNDS], room_us[PAIRED_ROUNDS];
	int rc = -1;

	if (!xst_kind_available(XST_FLOOR))
		return 0;
	if (xsb_start_floor(&fl) < 0) {
		xsb_fail("the floor did not start");
		return -1;
	}
	if (!(side[1].c = xsb_connect(&fl)) || (prepare && prepare(side[1].c) < 0))
		goto out;
	for (int r = 0; r < PAIRED_ROUNDS; r++) {
		double rate[2];

		for (int k = 0; k < 2; k++) {
			int s = (r + k) % 2;

			if (round(&side[s], n, seq0 + (unsigned long)r * n, &rate[s]) < 0)
				goto out;
		}
		ratio[r] = rate[0] / rate[1];
		over_us[r] = 1e6 / rate[0] - 1e6 / rate[1];
		room_us[r] = 1e6 / (0.9 * rate[1]) - 1e6 / rate[1];
		if (xsb_opt.verbose)
			xsb_progress("    paired round %d: ours %.0f, floor %.0f transactions/s\n", r, rate[0],
				     rate[1]);
	}
	xsb_fig_set(f, D_OURS, xsb_median(ratio, PAIRED_ROUNDS));
	if (beyond != F_COUNT) {
		xsb_fig_set(beyond, D_OURS, xsb_median(over_us, PAIRED_ROUNDS));
		xsb_fig_set(room, D_OURS, xsb_median(room_us, PAIRED_ROUNDS));
	}
	rc = 0;
out:
	xst_wire_close(side[1].c);
	xst_daemon_stop(&fl, 0);
	return rc;
}

static int serial_round(const struct side *s, unsigned n, unsigned long seq0, double *rate)
{
	unsigned long eagain = 0;

	return txn_rate(s->c, s->m, n, seq0, &eagain, rate, "paired transactions");
}

/* WRITE node i of the big store loaded under /bench/big. */
static int gen_big_store(void *vctx, unsigned long i, struct xsb_preq *r)
{
	(void)vctx;
	return xsb_gen_node64("/bench/big", true, i, r);
}

int xsb_grp_txn(struct xst_daemon *d, int dk)
{
	unsigned n = xsb_scaled(2000);
	struct xst_msg *m = malloc(sizeof(*m));
	struct xst_wire *c = xsb_connect(d);
	unsigned long eagain = 0;
	int rc = -1;

	if (!c || !m)
		goto out;
	/* The nodes exist beforehand: each transaction overwrites the same ten. */
	if (xsb_pipe_run(c, XS_WRITE, "/bench/tx/k%u", 0, 16, 0, TXN_WRITES) < 0)
		goto out;
	if (txn_serial_reps(d, dk, c, m, n, 0, &eagain, F_TXN_SERIAL, F_CPU_TXN, F_CLI_TXN,
			    "serial transactions") < 0)
		goto out;
	xsb_fig_set(F_TXN_SERIAL_EAGAIN, dk, (double)eagain);
	if (dk == D_OURS && xsb_opt.use[D_FLOOR]) {
		const struct side ours = {d, c, m};

		if (paired(&ours, serial_round, NULL, F_TXN_FLOOR_PAIRED, F_TXN_FLOOR_BEYOND, F_TXN_FLOOR_ROOM,
			   xsb_scaled(500),
			   (unsigned long)xsb_opt.reps * n * 2) < 0)
			goto out;
	}
	/* The same again once the store holds 100,000 more nodes: a commit should not notice. */
	if (xsb_pipeline(c, 0, xsb_scaled(100000), 32, gen_big_store, NULL) < 0)
		goto out;
	if (txn_serial_reps(d, dk, c, m, n, (unsigned long)xsb_opt.reps * n, &eagain,
			    F_TXN_SERIAL_BIG, F_CPU_TXN_BIG, F_COUNT,
			    "serial transactions, big store") < 0)
		goto out;
	rc = 0;
out:
	xst_wire_close(c);
	free(m);
	return rc;
}

/* 16 connections, one thread each, committing transactions on disjoint subtrees. */
#define TXN_THREADS 16

struct txn_thread {
	struct xsb_thread w;
	unsigned long seq0, eagain;
};

static void *txn_main(void *arg)
{
	struct txn_thread *tt = arg;
	struct xsb_thread *t = &tt->w;
	struct xst_msg *m;
	struct xst_wire *c = xsb_thread_connect(t, &m);
	char base[64];

	snprintf(base, sizeof(base), "/bench/tc/t%02u", t->idx);
	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->n && !t->failed; i++)
		if (txn10(c, m, base, tt->seq0 + i, &tt->eagain, t->err, sizeof(t->err)) < 0)
			t->failed = 1;
	xsb_thread_finish(t, c, m);
	return NULL;
}

/* Each thread's subtree made beforehand on d; no node is shared between threads. */
static int conc_prepare(struct xst_wire *c)
{
	for (unsigned t = 0; t < TXN_THREADS; t++) {
		char fmt[64];

		snprintf(fmt, sizeof(fmt), "/bench/tc/t%02u/k%%u", t);
		if (xsb_pipe_run(c, XS_WRITE, fmt, 0, 16, 0, TXN_WRITES) < 0)
			return -1;
	}
	return 0;
}

/*
 * One round: TXN_THREADS connections to d commit n transactions each, all
 * at once. Its rate, and the daemon's CPU ticks (-1 unknown) and the
 * client's CPU microseconds it took; EAGAIN retries added to *eagain.
 */
static int conc_round(struct xst_daemon *d, unsigned n, unsigned long seq0, double *rate,
		      long long *ticks, double *cli_us, unsigned long *eagain)
{
	struct txn_thread th[TXN_THREADS];
	pthread_barrier_t bar;
	double t[2], cpu[2];
	long long k[2];
	int failed;

	pthread_barrier_init(&bar, NULL, TXN_THREADS + 1);
	for (unsigned i = 0; i < TXN_THREADS; i++) {
		th[i] = (struct txn_thread){.w = {.socket = d->socket, .bar = &bar, .idx = i, .n = n},
					    .seq0 = seq0};
		xsb_thread_start(&th[i].w, txn_main, &th[i], d);
	}
	for (int j = 0; j < 2; j++) {
		pthread_barrier_wait(&bar);
		t[j] = xsb_now_s();
		k[j] = xst_daemon_cpu_ticks(d);
		cpu[j] = xsb_self_cpu_us();
	}
	failed = xsb_threads_join(th, sizeof(th[0]), TXN_THREADS) < 0;
	for (unsigned i = 0; i < TXN_THREADS; i++)
		*eagain += th[i].eagain;
	pthread_barrier_destroy(&bar);
	if (failed)
		return -1;
	*rate = xsb_rate((double)n * TXN_THREADS, t[1] - t[0]);
	*ticks = k[0] < 0 ? -1 : k[1] - k[0];
	*cli_us = cpu[1] - cpu[0];
	return 0;
}

static int conc_paired_round(const struct side *s, unsigned n, unsigned long seq0, double *rate)
{
	unsigned long eagain = 0;
	long long ticks;
	double cli;

	return conc_round(s->d, n, seq0, rate, &ticks, &cli, &eagain);
}

int xsb_grp_txnconc(struct xst_daemon *d, int dk)
{
	unsigned n = xsb_scaled(300);
	double tr[XSB_MAX_REPS], cli_us = 0;
	struct xst_wire *c = xsb_connect(d);
	unsigned long eagain = 0;
	long long ticks = 0;
	int rc = -1;

	if (!c || conc_prepare(c) < 0)
		goto out;
	for (int rep = 0; rep < xsb_opt.reps; rep++) {
		long long k;
		double cli;

		if (conc_round(d, n, (unsigned long)rep * n, &tr[rep], &k, &cli, &eagain) < 0)
			goto out;
		cli_us += cli;
		ticks = k < 0 || ticks < 0 ? -1 : ticks + k;
		if (xsb_opt.verbose)
			xsb_progress("    rep %d: %.0f commits/s, %lu EAGAIN so far\n", rep,
				     tr[rep], eagain);
	}
	xsb_fig_set(F_TXN_CONC, dk, xsb_median(tr, xsb_opt.reps));
	xsb_fig_set(F_TXN_CONC_EAGAIN, dk, (double)eagain);
	xsb_cpu_fig(F_CPU_TXN_CONC, dk, ticks, (double)n * TXN_THREADS * xsb_opt.reps,
		    "concurrent transactions");
	xsb_fig_set(F_CLI_TXN_CONC, dk, cli_us / ((double)n * TXN_THREADS * xsb_opt.reps));
	if (dk == D_OURS && xsb_opt.use[D_FLOOR]) {
		const struct side ours = {d, c, NULL};

		if (paired(&ours, conc_paired_round, conc_prepare, F_TXN_CONC_FLOOR_PAIRED, F_COUNT, F_COUNT,
			   xsb_scaled(100),
			   (unsigned long)xsb_opt.reps * n) < 0)
			goto out;
	}
	rc = 0;
out:
	xst_wire_close(c);
	return rc;
}

/* xsbench's liveupdate group: CONTROL live-update of a daemon holding a million nodes with many guests attached, as a dom0 client sees it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/xsbench.h"
#include "client/xenstore_client.h"
#include "proto/simhyp.h"
#include "tests/lib/xst_wire.h"

/*
 * The store is the recovery group's (xsb_rc_build: a host of many guests,
 * about a million nodes), built by the group's daemon; ours is then
 * stopped cleanly and started again on it, as a daemon that has served it
 * a while (its log checkpointed). The first --domains of its domains
 * (1,000, scaled) are guests: on our daemon each a simulated domain of
 * xs-simhyp, introduced by dom0, speaking over its own ring, with two
 * watches in its home (control/shutdown and memory/target, as a guest's
 * kernel has them).
 *
 * Then the update, --reps times in a row, to the binary running (its
 * /proc/PID/exe), each as xenstore-control drives it: -f <binary>, then
 * -s, timed to its OK, which comes from the new binary once it serves.
 * Meanwhile the dom0 prober (its own socket, one READ a millisecond, each
 * timed) runs, until the walk that rebuilds our daemon's indexes after a
 * start is over (its log line); its longest READ is the figure: what a
 * dom0 client waits at worst. Then as many updates with a second dom0
 * client writing once a millisecond too: a change finishes that walk at
 * once, the daemon serving nothing meanwhile. After each update: the same
 * process, CONTROL check answering OK, every domain still introduced,
 * every guest answering a READ of its own node over its ring, and its
 * watch still there (dom0 writes its control/shutdown: the event comes).
 *
 * The C daemon updates itself the same way under tests/refd's shim, but
 * there a guest's ring is an idle page: every domain of the store is
 * introduced (see liveupdate()), no guest speaks, and its checks are
 * dom0's. It dumps every node to a file and reads them back, so its update
 * takes the store's size in time; building the store takes it longer
 * still, which is why it runs here only at --quick's scale.
 */

#define LU_CAP_MS 600000 /* the longest an update may take: a slow one is a figure, not a hang */
#define LU_TARGET_MS 200.0
#define LU_SETTLE_S 0.05 /* the probers' time before an update and after its walk */
#define LU_TOKEN_SHUTDOWN "lu-shutdown"

struct lu_guest {
	unsigned domid;
	struct xsl_simdom *dom;
	struct xst_wire *c;
};

struct lu {
	struct xst_daemon *d;
	int ours; /* guests over simulated rings */
	unsigned n;
	struct lu_guest *g;
	struct xst_wire *dom0;
	struct xst_msg *m;
	char bin[4096];
};

/* ---------------------------------------------------------------- guests */

/* INTRODUCE domain i + 1 with its store port (a reference daemon's shim takes any). */
static int gen_intro(void *ctx, unsigned long i, struct xsb_preq *r)
{
	const struct lu *l = ctx;
	unsigned port = l->ours ? xsl_simdom_port(l->g[i].dom) : 1;
	char id[16], p[16];

	snprintf(id, sizeof(id), "%u", l->g[i].domid);
	snprintf(p, sizeof(p), "%u", port);
	r->type = XS_INTRODUCE;
	r->expect_len = -1;
	r->len = (size_t)xst_payload(r->buf, sizeof(r->buf), 0, (const char *const[]){id, "0", p, NULL});
	return 0;
}

/* dom0's WRITE of guest i's control/shutdown (the value it holds, ""): its watch fires. */
static int gen_shutdown(void *ctx, unsigned long i, struct xsb_preq *r)
{
	const struct lu *l = ctx;

	r->type = XS_WRITE;
	r->expect_len = -1;
	r->len = (size_t)snprintf(r->buf, sizeof(r->buf), "/local/domain/%u/control/shutdown",
				  l->g[i].domid) + 1;
	return 0;
}

/*
 * Every guest's domain made (ours: in xs-simhyp) and introduced, pipelined
 * on dom0's socket as a busy toolstack would; ours then connect over their
 * rings and watch their homes.
 */
static int guests_up(struct lu *l)
{
	char simhyp[320];
	double t0 = xsb_now_s();

	snprintf(simhyp, sizeof(simhyp), "%s/%s", l->d->dir, SIMHYP_SOCKET_NAME);
	for (unsigned i = 0; i < l->n; i++) {
		int e;

		l->g[i].domid = i + 1;
		if (l->ours && (e = -xsl_simdom_create(simhyp, i + 1, &l->g[i].dom)) != 0) {
			l->g[i].dom = NULL;
			xsb_fail("simulated domain %u: %s", i + 1, strerror(e));
			return -1;
		}
	}
	if (xsb_pipeline(l->dom0, 0, l->n, 32, gen_intro, l) < 0)
		return -1;
	for (unsigned i = 0; l->ours && i < l->n; i++) {
		struct lu_guest *g = &l->g[i];

		if (!(g->c = xst_wire_ring(g->dom))) {
			xsb_fail("guest %u: ring: %s", g->domid, strerror(errno));
			return -1;
		}
		if (xsb_watch(g->c, "control/shutdown", LU_TOKEN_SHUTDOWN, l->m, xsb_opt.timeout_ms) < 0 ||
		    xsb_watch(g->c, "memory/target", "lu-target", l->m, xsb_opt.timeout_ms) < 0) {
			xsb_fail("guest %u: WATCH: %s", g->domid, strerror(errno));
			return -1;
		}
	}
	xsb_progress("    %u domains introduced%s in %.1f s\n", l->n,
		     l->ours ? ", each a guest on its ring with 2 watches" : " (idle rings under the shim)",
		     xsb_now_s() - t0);
	return 0;
}

static void guests_down(struct lu *l)
{
	for (unsigned i = 0; l->g && i < l->n; i++) {
		xst_wire_close(l->g[i].c);
		xsl_simdom_destroy(l->g[i].dom);
	}
	free(l->g);
	l->g = NULL;
}

/* ---------------------------------------------------------------- after an update */

/*
 * What every client holds is still there: the store sound, every domain
 * introduced; ours: every guest answers over its ring, and its watch fires.
 */
static int check_after(struct lu *l)
{
	char buf[64];

	if (xsb_call(l->dom0, XS_CONTROL, buf, xsb_build(buf, sizeof(buf), "check", NULL, 0), l->m) < 0)
		return -1;
	if (strcmp(l->m->payload, "OK") != 0) {
		xsb_fail("CONTROL check after the update: %.100s", l->m->payload);
		return -1;
	}
	for (unsigned i = 0; i < l->n; i++) {
		snprintf(buf, sizeof(buf), "%u", l->g[i].domid);
		if (xsb_call(l->dom0, XS_IS_DOMAIN_INTRODUCED, buf, (int)strlen(buf) + 1, l->m) < 0)
			return -1;
		if (strcmp(l->m->payload, "T") != 0) {
			xsb_fail("domain %u no longer introduced after the update", l->g[i].domid);
			return -1;
		}
	}
	if (!l->ours)
		return 0;
	for (unsigned i = 0; i < l->n; i++) {
		struct lu_guest *g = &l->g[i];
		char want[32];

		snprintf(want, sizeof(want), "guest-%u", g->domid);
		if (xsb_exchange(g->c, XS_READ, 0, "name", sizeof("name"), l->m, xsb_opt.timeout_ms) < 0) {
			xsb_fail("guest %u: READ of its name after the update: %s", g->domid, strerror(errno));
			return -1;
		}
		if (l->m->hdr.type != XS_READ || strcmp(l->m->payload, want) != 0) {
			xsb_fail("guest %u: READ of its name -> %s '%.60s'", g->domid,
				 xsb_type_str(l->m->hdr.type), l->m->payload);
			return -1;
		}
	}
	if (xsb_pipeline(l->dom0, 0, l->n, 32, gen_shutdown, l) < 0)
		return -1;
	for (unsigned i = 0; i < l->n; i++) {
		struct lu_guest *g = &l->g[i];
		size_t pl;

		if (xst_wire_recv(g->c, l->m, xsb_opt.timeout_ms) < 0) {
			xsb_fail("guest %u: no watch event after the update: %s", g->domid, strerror(errno));
			return -1;
		}
		pl = strnlen(l->m->payload, l->m->hdr.len);
		if (l->m->hdr.type != XS_WATCH_EVENT || pl + 1 >= l->m->hdr.len ||
		    strcmp(l->m->payload, "control/shutdown") != 0 ||
		    strcmp(l->m->payload + pl + 1, LU_TOKEN_SHUTDOWN) != 0) {
			xsb_fail("guest %u: after the update, %s '%.60s' instead of its watch event", g->domid,
				 xsb_type_str(l->m->hdr.type), l->m->payload);
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- one update */

/* One step of CONTROL live-update on dom0's socket; its text answer must be OK. */
static int lu_step(struct lu *l, int timeout_ms, const char *const *args)
{
	char buf[XS_PAYLOAD_MAX];
	int len = xst_payload(buf, sizeof(buf), 0, args);

	if (len < 0 || xsb_exchange(l->dom0, XS_CONTROL, 0, buf, (size_t)len, l->m, timeout_ms) < 0) {
		xsb_fail("CONTROL live-update %s: %s", args[1], len < 0 ? "too long" : strerror(errno));
		return -1;
	}
	if (l->m->hdr.type != XS_CONTROL || strcmp(l->m->payload, "OK") != 0) {
		xsb_fail("CONTROL live-update %s -> %s '%.100s'", args[1], xsb_type_str(l->m->hdr.type),
			 l->m->payload);
		return -1;
	}
	return 0;
}

/*
 * Our daemon's log from where it stands, for the line of the walk that
 * tells its indexes the tree after a start: a change waits for it (it is
 * finished at once then), so the update is over for every client only
 * once it is done. The last start's walk is over already: changes came
 * since (the guests' introduction, the last update's checks).
 */
#define WALK_LINE "nodes told to the quota and regions indexes in "

static FILE *log_at_end(const struct xst_daemon *d)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
	if ((f = fopen(path, "r")) && fseek(f, 0, SEEK_END) < 0) {
		fclose(f);
		f = NULL;
	}
	if (!f)
		xsb_fail("%s: %s", path, strerror(errno));
	return f;
}

/* Wait for the walk's line after the start: its time in ms, or -1 with xsb_err. */
static double walk_done(FILE *f)
{
	char line[1024];
	double t0 = xsb_now_s();

	for (;;) {
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, WALK_LINE);

			if (p)
				return strtod(p + strlen(WALK_LINE), NULL);
		}
		clearerr(f);
		if (xsb_now_s() - t0 > LU_CAP_MS / 1000.0) {
			xsb_fail("no '%s' in the log after the update", WALK_LINE);
			return -1;
		}
		xsb_sleep_s(0.002);
	}
}

/* What one update measured, in ms. */
struct lu_round {
	double time;  /* -s sent -> its OK */
	double walk;  /* the walk after it (ours) */
	double read;  /* the dom0 prober's longest READ */
	double write; /* with a writer: its longest WRITE */
};

/* Stop a prober, its longest call (ms) in *max_ms: 0, or -1 with xsb_err. */
static int prober_max(struct xsb_prober *p, double *max_ms)
{
	double us = 0;

	xsb_prober_stop(p);
	if (p->err[0] || p->n == 0) {
		xsb_fail("dom0 prober: %s", p->err[0] ? p->err : "no call answered");
		return -1;
	}
	xsb_prober_stats(p, NULL, NULL, &us);
	*max_ms = us / 1e3;
	return 0;
}

/*
 * One update with the dom0 prober timing READs from before it to after
 * the walk that follows it; writing: with a second dom0 client writing
 * meanwhile (one WRITE a millisecond), timed too.
 */
static int update(struct lu *l, bool writing, struct lu_round *r)
{
	struct xsb_prober pr, pw;
	long long log_b = l->ours ? xsb_rc_log_bytes(l->d->dir) : 0;
	pid_t pid = l->d->pid;
	FILE *log = NULL;
	double t0;
	int rc = -1;

	memset(&pw, 0, sizeof(pw));
	memset(r, 0, sizeof(*r));
	if (lu_step(l, xsb_opt.timeout_ms, (const char *const[]){"live-update", "-f", l->bin, NULL}) < 0)
		return -1;
	if (xsb_prober_start(&pr, l->d->socket, LU_CAP_MS, LU_CAP_MS / 1000.0) < 0) {
		xsb_fail("cannot start the prober");
		return -1;
	}
	if (writing && xsb_prober_start_writes(&pw, l->d->socket, LU_CAP_MS, LU_CAP_MS / 1000.0) < 0) {
		xsb_fail("cannot start the writing prober");
		goto out;
	}
	if (l->ours && !(log = log_at_end(l->d)))
		goto out;
	xsb_sleep_s(LU_SETTLE_S);
	t0 = xsb_now_s();
	if (lu_step(l, LU_CAP_MS, (const char *const[]){"live-update", "-s", "-t", "60", NULL}) < 0)
		goto out;
	r->time = (xsb_now_s() - t0) * 1e3;
	if (log && (r->walk = walk_done(log)) < 0)
		goto out;
	xsb_sleep_s(LU_SETTLE_S);
	if (prober_max(&pr, &r->read) < 0 || (writing && prober_max(&pw, &r->write) < 0))
		goto out;
	if (l->d->pid != pid || kill(pid, 0) < 0 || !xst_daemon_alive(l->d)) {
		xsb_fail("the daemon's process is gone after the update");
		goto out;
	}
	t0 = xsb_now_s();
	if (check_after(l) < 0)
		goto out;
	xsb_progress("    update%s: %.1f ms from -s to OK", writing ? " with a dom0 writer" : "", r->time);
	if (l->ours)
		xsb_progress(" (%lld KiB of log at -s), then %.0f ms of walk", log_b / 1024, r->walk);
	xsb_progress("; longest dom0 READ %.1f ms (of %zu)", r->read, pr.n);
	if (writing)
		xsb_progress(", WRITE %.1f ms (of %zu)", r->write, pw.n);
	xsb_progress("; checked after in %.1f s\n", xsb_now_s() - t0);
	rc = 0;
out:
	if (log)
		fclose(log);
	xsb_prober_free(&pr);
	xsb_prober_free(&pw);
	return rc;
}

/* ---------------------------------------------------------------- the group */

static double worst(const double *v, int n)
{
	double w = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] > w)
			w = v[i];
	return w;
}

/* --reps updates, then as many with a dom0 writer: the medians, and the worst READs. */
static int rounds(struct lu *l, int dk)
{
	double time[XSB_MAX_REPS], walk[XSB_MAX_REPS], read[2][XSB_MAX_REPS], write[XSB_MAX_REPS];
	int reps = xsb_opt.reps;

	for (int writing = 0; writing < 2; writing++)
		for (int i = 0; i < reps; i++) {
			struct lu_round r;

			if (update(l, writing, &r) < 0)
				return -1;
			read[writing][i] = r.read;
			if (writing) {
				write[i] = r.write;
			} else {
				time[i] = r.time;
				walk[i] = r.walk;
			}
		}
	xsb_fig_set(F_LU_TIME, dk, xsb_median(time, reps));
	if (l->ours)
		xsb_fig_set(F_LU_WALK, dk, xsb_median(walk, reps));
	else
		xsb_fig_state(F_LU_WALK, dk, ST_NA, "no store to walk");
	xsb_fig_set(F_LU_READ_MAX, dk, xsb_median(read[0], reps));
	xsb_fig_set(F_LU_READ_WORST, dk, worst(read[0], reps));
	xsb_fig_set(F_LU_W_READ_MAX, dk, xsb_median(read[1], reps));
	xsb_fig_set(F_LU_W_READ_WORST, dk, worst(read[1], reps));
	xsb_fig_set(F_LU_W_WRITE_MAX, dk, xsb_median(write, reps));
	return 0;
}

static int liveupdate(struct lu *l, int dk)
{
	unsigned long nodes;
	unsigned domains;
	char exe[64];
	ssize_t bl;
	int status;

	if (xsb_rc_build(l->d, &domains, &nodes) < 0)
		return -1;
	if (l->ours) {
		/* As a daemon that has served its store a while: its log checkpointed by a clean stop. */
		status = xst_daemon_stop_keep_hyp(l->d);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			xsb_fail("stopping the builder: status 0x%x", status);
			return -1;
		}
		if (xsb_restart_ours(l->d) < 0) {
			xsb_fail("cannot start our daemon again on its store");
			return -1;
		}
	}
	xsb_fig_set(F_LU_NODES, dk, (double)nodes);
	/*
	 * The C daemon's new binary refuses to restore a node owned by a
	 * domain it does not serve (it dies: "write node error restoring
	 * node"): there every domain of the store is introduced.
	 */
	l->n = l->ours ? xsb_scaled(xsb_opt.domains) : domains;
	if (l->n > domains)
		l->n = domains;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)l->d->pid);
	if ((bl = readlink(exe, l->bin, sizeof(l->bin) - 1)) <= 0) {
		xsb_fail("%s: %s", exe, strerror(errno));
		return -1;
	}
	l->bin[bl] = '\0';
	if (!(l->dom0 = xsb_connect(l->d)) || !(l->g = calloc(l->n, sizeof(*l->g))))
		return -1;
	if (l->ours && xsb_raise_nofile(l->n) < 0) {
		xsb_fail("RLIMIT_NOFILE too low for %u domains", l->n);
		return -1;
	}
	if (xsb_write(l->dom0, XSB_PROBE_PATH, XSB_PROBE_VALUE, strlen(XSB_PROBE_VALUE), l->m) < 0 ||
	    guests_up(l) < 0)
		return -1;
	xsb_fig_set(F_LU_GUESTS, dk, l->n);
	return rounds(l, dk);
}

int xsb_grp_liveupdate(struct xst_daemon *d, int dk)
{
	struct lu l = {.d = d, .ours = dk == D_OURS, .m = malloc(sizeof(struct xst_msg))};
	int rc = -1;

	if (l.m)
		rc = liveupdate(&l, dk);
	else
		xsb_fail("out of memory");
	xst_wire_close(l.dom0);
	guests_down(&l);
	free(l.m);
	return rc;
}

/* One target: the figure f under LU_TARGET_MS; C's beside it where it was taken. */
static void target(const char *name, const char *what, enum xsb_fig_id f, enum xsb_fig_id w, int *miss)
{
	const struct xsb_fig *fm = &xsb_figs[f], *fw = &xsb_figs[w];
	char detail[160], ref[64] = "";

	if (fm->st[D_OURS] != ST_OK) {
		xsb_target_result(name, what, "UNKNOWN", "our figure unavailable", miss);
		return;
	}
	if (fm->st[D_C] == ST_OK)
		snprintf(ref, sizeof(ref), "; C %.1f ms", fm->v[D_C]);
	snprintf(detail, sizeof(detail), "ours %.1f ms (median), worst %.1f ms%s", fm->v[D_OURS],
		 fw->v[D_OURS], ref);
	xsb_target_result(name, what, fm->v[D_OURS] < LU_TARGET_MS ? "PASS" : "MISS", detail, miss);
}

/* Issue 13: dom0 waits under 200 ms for a READ while the daemon updates itself. */
void xsb_lu_targets(int *miss)
{
	target("liveupdate_dom0_read", "live update: longest dom0 READ < 200 ms", F_LU_READ_MAX,
	       F_LU_READ_WORST, miss);
	target("liveupdate_dom0_read_writer", "  the same with a dom0 writer (1 WRITE a ms)",
	       F_LU_W_READ_MAX, F_LU_W_READ_WORST, miss);
	if (xsb_figs[F_LU_READ_MAX].st[D_C] != ST_OK)
		printf("  (liveupdate: no reference figure: the C daemon's live update runs here with --quick"
		       " only)\n");
}

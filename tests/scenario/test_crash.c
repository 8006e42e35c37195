/*
 * Crash harness: the daemon made to die (XENSTORED_TEST_CRASH, wal.h) at
 * points spread over each multi-step operation's writes (a commit, a big
 * RM, a domain's clean-up, a checkpoint, the start itself), or with its
 * files unable to grow, and after each restart the tree compared with what
 * its clients were told; CONTROL check after each restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"
#include "sc_util.h"
#include "tests/lib/xst_file.h"

enum { POINTS = 12 }; /* kill points spread over an operation's group, both ends included */

/* Bytes of groups in the daemon's write-ahead log (no checkpoint having happened since it started). */
/* The log's groups: what was written of it past its header (room after them is allocated ahead). */
static long long log_bytes(const struct xst_daemon *d)
{
	char path[320];
	long long end;

	snprintf(path, sizeof(path), "%s/xenstore.wal", d->dir);
	end = xst_file_written_end(path);
	ck_assert_int_ge(end, 0);
	return end < 32 ? 0 : end - 32;
}

/* The log file's size: what is allocated for it. */
static long long log_room(const struct xst_daemon *d)
{
	long long n = sc_file_size(d->dir, "xenstore.wal");

	ck_assert_int_ge(n, 0);
	return n;
}

/* Start (dir NULL: a fresh one) with XENSTORED_TEST_CRASH set to crash, or unset; args as sc_start's. */
static void start_crashing_with(struct xst_daemon *d, const char *dir, const char *crash,
				const char *const *args)
{
	if (crash)
		setenv("XENSTORED_TEST_CRASH", crash, 1);
	int rc = xst_daemon_start(d, XST_OURS, dir, args);

	unsetenv("XENSTORED_TEST_CRASH");
	ck_assert_msg(rc == 0, "daemon did not start");
	if (dir)
		d->own_dir = 1;
}

static void start_crashing(struct xst_daemon *d, const char *dir, const char *crash)
{
	start_crashing_with(d, dir, crash, NULL);
}

/* The daemon ends by itself within ms: its exit status (99 at a crash point), or -1 if it did not. */
static int wait_exit(struct xst_daemon *d, int ms)
{
	for (int i = 0; i < ms; i++) {
		int st;

		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(1000);
	}
	return -1;
}

/* 1 if path reads as value, 0 if it is absent (anything else fails). */
static int has(struct sc_conn *c, const char *path, const char *value)
{
	struct xst_msg m;

	sc_call(c, XS_READ, 0, 0, SC_ARGS(path), &m);
	if (m.hdr.type == XS_ERROR) {
		ck_assert_msg(strcmp(m.payload, "ENOENT") == 0, "%s: %s", path, m.payload);
		return 0;
	}
	ck_assert_msg(m.hdr.type == XS_READ && strcmp(m.payload, value) == 0, "%s holds '%s', not '%s'",
		      path, m.payload, value);
	return 1;
}

/*
 * One operation the harness kills: setup makes the tree (acknowledged
 * requests), op sends the operation (wait: its reply awaited), and
 * state says whether the tree is as before it (0) or after it (1),
 * failing on anything in between. An operation of several groups that
 * a restarted daemon goes on with (resumed) is as before until a point
 * (its first group whole), and as after from there on. args: the
 * daemon's extra arguments.
 */
struct crash_op {
	const char *name;
	void (*setup)(struct xst_daemon *d, struct sc_conn *c);
	void (*op)(struct xst_daemon *d, struct sc_conn *c, bool wait);
	int (*state)(struct sc_conn *c);
	/*
	 * The next start finishes what was cut short (a dead domain's clean-up:
	 * the domain is kept with the store until its clean-up is written): the
	 * tree must be as after it at every point, once a change has run the
	 * queued clean-ups.
	 */
	bool finished_at_start;
	/*
	 * Otherwise, a restarted daemon goes on with what was cut short once
	 * its first group is whole: as before until then, as after from there.
	 */
	bool resumed;
	const char *const *args;
};

/*
 * Measure the operation's group (a run with no crash), then for each kill
 * point spread over it (from before its first byte to its last) run again
 * with the daemon dying there, restart, and require: before the group was
 * whole, the tree as before; once whole, as after.
 */
static void kill_across(const struct crash_op *o)
{
	struct xst_daemon d;
	long long from, to;

	sc_start(&d, o->args);
	struct sc_conn *c = sc_connect_raw(&d);

	o->setup(&d, c);
	from = log_bytes(&d);
	o->op(&d, c, true);
	to = log_bytes(&d);
	ck_assert_int_eq(o->state(c), 1);
	sc_check_ok(c);
	sc_close(c);
	sc_stop(&d);
	ck_assert_msg(to > from, "%s wrote nothing to the log", o->name);

	int before = 0, after = 0;

	for (int k = 0; k <= POINTS; k++) {
		/* From its first byte (the group cut after it) to its last (whole, but not answered). */
		long long at = from + 1 + (to - from - 1) * k / POINTS;
		char spec[48];

		snprintf(spec, sizeof(spec), "log:%lld", at);
		start_crashing_with(&d, NULL, spec, o->args);
		c = sc_connect_raw(&d);
		o->setup(&d, c);
		ck_assert_int_eq(log_bytes(&d), from);
		o->op(&d, c, false);
		ck_assert_msg(wait_exit(&d, 10000) == 99, "%s, %s: the daemon did not die there", o->name,
			      spec);
		sc_close(c);
		sc_restart(&d, o->args);
		c = sc_connect_raw(&d);
		if (o->finished_at_start)
			SC_OK(c, XS_WRITE, 0, 1, "/settled", "1");
		sc_check_ok(c);
		int s = o->state(c);

		if (o->finished_at_start || !o->resumed)
			ck_assert_msg(s == (at == to || o->finished_at_start),
				      "%s killed at byte %lld of %lld..%lld: the tree is %s it", o->name, at, from,
				      to, s ? "after" : "before");
		else
			ck_assert_msg(s ? at > from : !after && at < to,
				      "%s killed at byte %lld of %lld..%lld: the tree is %s it%s", o->name, at,
				      from, to, s ? "after" : "before", after ? " (after it at a kill before)" : "");
		before += !s;
		after += s;
		sc_close(c);
		sc_stop(&d);
	}
	printf("crash: %s, %lld bytes of log, killed at %d points in them: %d times as before,"
	       " %d times as after (%s)\n", o->name, to - from, POINTS + 1, before, after,
	       o->finished_at_start ? "finished by the next start" : o->resumed ? "resumed once begun" : "once whole");
}

/* A commit: removes a directory, creates 300 nodes, changes one. */
static void commit_setup(struct xst_daemon *d, struct sc_conn *c)
{
	char p[64];

	(void)d;
	SC_OK(c, XS_WRITE, 0, 1, "/c/keep", "old");
	for (int i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), "/c/a/n%d", i);
		SC_OK(c, XS_WRITE, 0, 1, p, "a");
	}
}

static void commit_op(struct xst_daemon *d, struct sc_conn *c, bool wait)
{
	static char value[101];
	char p[64];
	xsl_txn_t t = sc_tx_start(c);

	(void)d;
	memset(value, 'b', sizeof(value) - 1);
	SC_OK(c, XS_RM, t, 0, "/c/a");
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/c/b/n%d", i);
		SC_OK(c, XS_WRITE, t, 1, p, value);
	}
	SC_OK(c, XS_WRITE, t, 1, "/c/keep", "new");
	if (wait)
		SC_OK(c, XS_TRANSACTION_END, t, 0, "T");
	else
		ck_assert_int_eq(xst_wire_send_msg(sc_wire(c), XS_TRANSACTION_END, 1, (uint32_t)t, "T", 2), 0);
}

static int commit_state(struct sc_conn *c)
{
	static char value[101];
	struct xst_msg m;
	char p[64];
	int s, a = 0, b = 0;

	memset(value, 'b', sizeof(value) - 1);
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/c/keep"), &m);
	ck_assert_msg(m.hdr.type == XS_READ && (!strcmp(m.payload, "new") || !strcmp(m.payload, "old")),
		      "/c/keep: %s", m.payload);
	s = strcmp(m.payload, "new") == 0;
	for (int i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), "/c/a/n%d", i);
		a += has(c, p, "a");
	}
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/c/b/n%d", i);
		b += has(c, p, value);
	}
	ck_assert_msg(a == (s ? 0 : 200) && b == (s ? 300 : 0), "commit half there: keep %s, %d of /c/a, %d of /c/b",
		      s ? "new" : "old", a, b);
	return s;
}

/* A big RM: 3000 children in chunks, 30 directories of 30 with records of their own. */
enum { RM_FLAT = 3000, RM_DIRS = 30 };

static void rm_setup(struct xst_daemon *d, struct sc_conn *c)
{
	char p[64];
	xsl_txn_t t = sc_tx_start(c);

	(void)d;
	for (int i = 0; i < RM_FLAT; i++) {
		snprintf(p, sizeof(p), "/rm/big/n%04d", i);
		SC_OK(c, XS_WRITE, t, 1, p, "v");
	}
	for (int i = 0; i < RM_DIRS; i++)
		for (int j = 0; j < RM_DIRS; j++) {
			snprintf(p, sizeof(p), "/rm/big/s%02d/c%02d", i, j);
			SC_OK(c, XS_WRITE, t, 1, p, "w");
		}
	SC_OK(c, XS_TRANSACTION_END, t, 0, "T");
	SC_OK(c, XS_WRITE, 0, 1, "/rm/other", "o");
}

static void rm_op(struct xst_daemon *d, struct sc_conn *c, bool wait)
{
	(void)d;
	if (wait)
		SC_OK(c, XS_RM, 0, 0, "/rm/big");
	else
		ck_assert_int_eq(xst_wire_send_msg(sc_wire(c), XS_RM, 1, 0, "/rm/big", 8), 0);
}

static int rm_state(struct sc_conn *c)
{
	char p[64];
	int n = 0, total = 0;

	ck_assert_int_eq(has(c, "/rm/other", "o"), 1);
	for (int i = 0; i < RM_FLAT; i += 7, total++) {
		snprintf(p, sizeof(p), "/rm/big/n%04d", i);
		n += has(c, p, "v");
	}
	for (int i = 0; i < RM_DIRS; i++)
		for (int j = 0; j < RM_DIRS; j += i % 5 ? 29 : 1, total++) {
			snprintf(p, sizeof(p), "/rm/big/s%02d/c%02d", i, j);
			n += has(c, p, "w");
		}
	ck_assert_msg(n == 0 || n == total, "RM half done: %d of %d sampled nodes left", n, total);
	return n == 0;
}

START_TEST(commit_killed_at_each_point)
{
	static const struct crash_op op = {"a commit", commit_setup, commit_op, commit_state, false, false, NULL};

	kill_across(&op);
}
END_TEST

START_TEST(big_rm_killed_at_each_point)
{
	static const struct crash_op op = {"an RM of 3930 nodes", rm_setup, rm_op, rm_state, false, false, NULL};

	kill_across(&op);
}
END_TEST

/*
 * A domain's clean-up: its home and backend directories go, an ACL entry
 * naming it elsewhere is dropped, then @releaseDomain fires. Its groups:
 * the kept domain written as gone, the queue's note saying it is gone, its
 * slices (one here: the slices are made long), the note without it and its
 * kept records. Killed at each point of them, a restart finds it done at
 * every point: a kept domain that is dead (or written gone) is cleaned up
 * by the next start, and a clean-up begun is gone on with. A watcher that
 * heard @releaseDomain must find it all done.
 */
enum { DOM = 7 };
static struct xsl_simdom *sim;
static struct sc_conn *watcher;

static void dom_setup(struct xst_daemon *d, struct sc_conn *c)
{
	char simhyp[320], p[96], id[16];

	snprintf(simhyp, sizeof(simhyp), "%s/simhyp", d->dir);
	ck_assert_int_eq(xsl_simdom_create(simhyp, DOM, &sim), 0);
	/* Introduced as a toolstack does: its home, owned by it, then INTRODUCE (any port will do). */
	snprintf(p, sizeof(p), "/local/domain/%d", DOM);
	snprintf(id, sizeof(id), "n%d", DOM);
	SC_OK(c, XS_MKDIR, 0, 0, p);
	SC_OK(c, XS_SET_PERMS, 0, 0, p, id);
	snprintf(id, sizeof(id), "%d", DOM);
	SC_OK(c, XS_INTRODUCE, 0, 0, id, "0", "1");
	for (int i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "/local/domain/%d/device/vif/%d/state", DOM, i);
		SC_OK(c, XS_WRITE, 0, 1, p, "4");
		snprintf(p, sizeof(p), "/local/domain/0/backend/vif/%d/%d/state", DOM, i);
		SC_OK(c, XS_WRITE, 0, 1, p, "4");
	}
	snprintf(p, sizeof(p), "/local/domain/0/backend/vif/%d", DOM);
	SC_OK(c, XS_SET_PERMS, 0, 0, p, "n7");
	SC_OK(c, XS_WRITE, 0, 1, "/keep/x", "x");
	SC_OK(c, XS_SET_PERMS, 0, 0, "/keep/x", "n0", "r7");
	watcher = sc_connect_raw(d);
	ck_assert_str_eq(sc_watch(watcher, "@releaseDomain", "rel", NULL), "OK");
}

static void dom_op(struct xst_daemon *d, struct sc_conn *c, bool wait)
{
	struct xst_msg m;

	(void)d;
	(void)c;
	xsl_simdom_destroy(sim);
	sim = NULL;
	if (wait) {
		sc_expect_event(watcher, "@releaseDomain", "rel");
	} else {
		/* Killed before it was told: the event never left. */
		ck_assert_int_ne(xst_wire_recv(sc_wire(watcher), &m, 10000), 0);
	}
	sc_close(watcher);
	watcher = NULL;
}

/* Until the clean-ups a restarted daemon goes on with are over (CONTROL stats: cleanups-pending). */
static void wait_cleanups(struct sc_conn *c)
{
	for (int i = 0;; i++) {
		struct xst_msg m;
		const char *at;

		sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("stats"), &m);
		at = strstr(m.payload, "cleanups-pending: ");
		ck_assert_msg(at != NULL, "no cleanups-pending in the stats");
		if (atoi(at + strlen("cleanups-pending: ")) == 0)
			return;
		ck_assert_msg(i < 10000, "clean-ups still pending after 10 s");
		usleep(1000);
	}
}

static int dom_state(struct sc_conn *c)
{
	char home[64], backend[64];
	struct xst_msg m;
	int s;

	wait_cleanups(c);
	snprintf(home, sizeof(home), "/local/domain/%d/device/vif/49/state", DOM);
	snprintf(backend, sizeof(backend), "/local/domain/0/backend/vif/%d/0/state", DOM);
	s = !has(c, home, "4");
	ck_assert_int_eq(has(c, backend, "4"), !s);
	sc_call(c, XS_GET_PERMS, 0, 0, SC_ARGS("/keep/x"), &m);
	if (s)
		SC_EXPECT_STR(&m, XS_GET_PERMS, "n0\0");
	else
		SC_EXPECT_STR(&m, XS_GET_PERMS, "n0\0r7\0");
	return s;
}

START_TEST(domain_cleanup_killed_at_each_point)
{
	struct sc_conf conf;
	const char *const *args = sc_conf_args(&conf, "cleanup-slice-us = 1000000\n");
	const struct crash_op op = {"a domain's clean-up", dom_setup, dom_op, dom_state, true, true, args};

	kill_across(&op);
	unlink(conf.path);
}
END_TEST

/*
 * A clean-up of many slices (cleanup-slice-us at its least), killed in the
 * middle of them: 3,000 entries of dom0's nodes name the domain, and the
 * daemon dies 20,000 bytes into the log after the death (the queue's note
 * is a few dozen, the slices some hundred thousand). The restarted daemon
 * goes on with it (the note), holds the domain meanwhile, and ends it:
 * nothing names the domain, its home is gone, the tree is sound.
 */
START_TEST(cleanup_of_many_slices_killed_goes_on_at_start)
{
	char simhyp[320], dir[sizeof(((struct xst_daemon *)0)->dir)];
	struct sc_conf conf;
	const char *const *args = sc_conf_args(&conf, "cleanup-slice-us = 100\n");
	struct xsl_simdom *dom;
	struct xst_daemon d;
	struct sc_conn *c;
	struct xst_msg m;

	sc_start(&d, args);
	strcpy(dir, d.dir);
	c = sc_connect_raw(&d);
	snprintf(simhyp, sizeof(simhyp), "%s/simhyp", d.dir);
	ck_assert_int_eq(xsl_simdom_create(simhyp, DOM, &dom), 0);
	SC_OK(c, XS_MKDIR, 0, 0, "/local/domain/7");
	SC_OK(c, XS_SET_PERMS, 0, 0, "/local/domain/7", "n7");
	SC_OK(c, XS_WRITE, 0, 1, "/local/domain/7/data/x", "1");
	for (int i = 0; i < 3000; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/shared/d%02d/n%02d", i / 100, i % 100);
		SC_OK(c, XS_WRITE, 0, 1, p, "s");
		SC_OK(c, XS_SET_PERMS, 0, 0, p, "n0", "r7");
	}
	sc_close(c);
	/* Started again to count the log from the death: the domain introduced anew, then destroyed. */
	ck_assert_int_eq(xst_daemon_stop_keep_hyp(&d), 0);
	start_crashing_with(&d, dir, "log:20000", args);
	c = sc_connect_raw(&d);
	SC_OK(c, XS_INTRODUCE, 0, 0, "7", "0", "1");
	xsl_simdom_destroy(dom);
	ck_assert_int_eq(wait_exit(&d, 10000), 99);
	sc_close(c);
	sc_restart(&d, args);
	c = sc_connect_raw(&d);
	ck_assert_int_eq(xst_daemon_log_count(&d, "going on with the clean-up of 1 domains"), 1);
	/* Held until it ends, and then gone. */
	for (int i = 0;; i++) {
		sc_call(c, XS_IS_DOMAIN_INTRODUCED, 0, 0, SC_ARGS("7"), &m);
		if (!strcmp(m.payload, "F"))
			break;
		ck_assert_msg(i < 10000, "domain 7 still held after 10 s");
		usleep(1000);
	}
	ck_assert_int_eq(has(c, "/local/domain/7/data/x", "1"), 0);
	sc_call(c, XS_GET_PERMS, 0, 0, SC_ARGS("/shared/d00/n00"), &m);
	SC_EXPECT_STR(&m, XS_GET_PERMS, "n0\0");
	sc_call(c, XS_GET_PERMS, 0, 0, SC_ARGS("/shared/d29/n99"), &m);
	SC_EXPECT_STR(&m, XS_GET_PERMS, "n0\0");
	sc_check_ok(c);
	sc_close(c);
	sc_stop(&d);
	unlink(conf.path);
}
END_TEST

/* The records of the last checkpoint, as the daemon logged them (0 if none). */
static long checkpoint_records(const struct xst_daemon *d)
{
	return sc_log_number(d, "store: checkpoint ", ": ", 0);
}

enum { CK_WRITES = 600 };

static void ck_writes(struct sc_conn *c, int from, int to)
{
	char p[64], v[32];

	for (int i = from; i < to; i++) {
		snprintf(p, sizeof(p), "/ck/d%02d/n%03d", i % 40, i);
		snprintf(v, sizeof(v), "value %d", i);
		SC_OK(c, XS_WRITE, 0, 1, p, v);
	}
}

static int ck_present(struct sc_conn *c, int n)
{
	char p[64], v[32];
	int k = 0;

	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "/ck/d%02d/n%03d", i % 40, i);
		snprintf(v, sizeof(v), "value %d", i);
		k += has(c, p, v);
	}
	return k;
}

/* A fresh daemon (crashing at crash) given the writes, then told to stop (a checkpoint). */
static void writes_then_stop(struct xst_daemon *d, const char *crash)
{
	start_crashing(d, NULL, crash);
	struct sc_conn *c = sc_connect_raw(d);

	ck_writes(c, 0, CK_WRITES);
	sc_close(c);
	kill(d->pid, SIGTERM);
}

/* Started again (after it died), it serves every write, and is sound. */
static void all_there_after_restart(struct xst_daemon *d)
{
	sc_restart(d, NULL);
	struct sc_conn *c = sc_connect_raw(d);

	sc_check_ok(c);
	ck_assert_int_eq(ck_present(c, CK_WRITES), CK_WRITES);
	sc_close(c);
	sc_stop(d);
}

/*
 * The checkpoint a clean stop makes, killed at each of its steps (every
 * record into tdb, the tdb commit, the log started afresh): whatever
 * the step, the next start serves every acknowledged write.
 */
START_TEST(checkpoint_killed_at_each_step)
{
	struct xst_daemon d;
	long steps;
	int crashed = 0;

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	ck_writes(c, 0, CK_WRITES);
	sc_close(c);
	sc_stop_keep(&d);
	steps = checkpoint_records(&d) + 2;
	ck_assert_int_gt(steps, 10);
	for (int k = 0; k <= POINTS + 2; k++) {
		/* Spread over the records, then the commit and the log's reset. */
		long at = k < POINTS ? 1 + (steps - 3) * k / (POINTS - 1) : steps - (POINTS + 2 - k);
		char spec[48];

		snprintf(spec, sizeof(spec), "ckpt:%ld", at);
		writes_then_stop(&d, spec);
		int st = wait_exit(&d, 10000);

		ck_assert_msg(st == 99 || (st == 0 && at > steps), "stop at %s: exit %d", spec, st);
		crashed += st == 99;
		all_there_after_restart(&d);
	}
	/* And killed at moments through it, tdb's own commit included. */
	for (int us = 0; us <= 8000; us = us ? us * 2 : 250) {
		writes_then_stop(&d, NULL);
		usleep((useconds_t)us);
		sc_crash(&d);
		all_there_after_restart(&d);
	}
	printf("crash: the last checkpoint (%ld steps) killed at %d of them, and at moments through"
	       " it: every acknowledged write served after each\n", steps, crashed);
}
END_TEST

/*
 * Checkpoints while clients write (one every 64 KiB of log), the first
 * killed at each step: every acknowledged write is served after the
 * restart; the one in flight may be there or not.
 */
START_TEST(checkpoint_during_writes_killed)
{
	for (int at = 1; at <= 61; at += 12) {
		struct xst_daemon d;
		char spec[48], p[64], v[32];
		int acked = 0;

		snprintf(spec, sizeof(spec), "ckpt:%d", at);
		setenv("XENSTORED_TEST_CHECKPOINT", "65536", 1);
		start_crashing(&d, NULL, spec);
		unsetenv("XENSTORED_TEST_CHECKPOINT");
		struct sc_conn *c = sc_connect_raw(&d);

		for (int i = 0; i < 5000; i++) {
			struct xst_msg m;

			snprintf(p, sizeof(p), "/ck/d%02d/n%03d", i % 40, i);
			snprintf(v, sizeof(v), "value %d", i);
			char buf[128];
			int len = xst_payload(buf, sizeof(buf), 1, SC_ARGS(p, v));

			if (xst_wire_send_msg(sc_wire(c), XS_WRITE, 0, 0, buf, (size_t)len) != 0 ||
			    xst_wire_recv(sc_wire(c), &m, 10000) != 0)
				break;
			SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
			acked++;
		}
		ck_assert_msg(acked < 5000, "%s: no checkpoint reached that step", spec);
		ck_assert_int_eq(wait_exit(&d, 10000), 99);
		sc_close(c);
		sc_restart(&d, NULL);
		c = sc_connect_raw(&d);
		sc_check_ok(c);
		int present = ck_present(c, acked + 1);

		ck_assert_msg(present == acked || present == acked + 1, "%s: %d acknowledged, %d present", spec,
			      acked, present);
		sc_close(c);
		sc_stop(&d);
	}
}
END_TEST

/*
 * A start is itself killed, at moments through its reading back of a long
 * log; the start after them all serves every acknowledged write.
 */
START_TEST(start_killed_while_reading_the_log)
{
	struct xst_daemon d;
	int delays_us[] = {0, 1000, 3000, 10000, 30000};

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	ck_writes(c, 0, CK_WRITES);
	sc_close(c);
	sc_crash(&d);
	for (size_t i = 0; i < sizeof(delays_us) / sizeof(delays_us[0]); i++) {
		pid_t p = fork();

		ck_assert_int_ge(p, 0);
		if (p == 0) {
			char dir[256];

			snprintf(dir, sizeof(dir), "%s", d.dir);
			setenv("XENSTORED_RUNDIR", dir, 1);
			unsetenv("XENSTORED_PATH");
			execl(XST_DAEMON_BIN, XST_DAEMON_BIN, "-N", (char *)NULL);
			_exit(127);
		}
		usleep((useconds_t)delays_us[i]);
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
	all_there_after_restart(&d);
}
END_TEST

/* Let the daemon's files grow to limit bytes at most (the soft limit; RLIM_INFINITY lifts it). */
static void file_limit(const struct xst_daemon *d, rlim_t limit)
{
	struct rlimit lim = {limit, RLIM_INFINITY};

	ck_assert_int_eq(prlimit(d->pid, RLIMIT_FSIZE, &lim, NULL), 0);
}

/*
 * A full file system: the log's room is allocated ahead, and when it is
 * used up and cannot grow, a WRITE that creates its parents and a big RM
 * are answered ENOSPC with nothing of them done; once the files can grow,
 * the same requests succeed. The checkpoint of a clean stop that cannot
 * grow the store file fails, and the next start reads everything back.
 */
START_TEST(full_file_system_answers_enospc)
{
	static char value[3001];
	struct xst_daemon d;
	struct xst_msg m;
	char p[64];
	int fill = 0;

	memset(value, 'f', sizeof(value) - 1);
	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	rm_setup(&d, c);
	for (int k = 0; k < 3; k++) {
		long long room = log_room(&d);

		file_limit(&d, (rlim_t)room);
		/* Use up the room: big values until one is refused, then the smallest. */
		for (const char *v = value;; v = "") {
			int refused = 0;

			for (int guard = 0; guard < 100000 && !refused; guard++, fill++) {
				snprintf(p, sizeof(p), "/fill/n%d", fill);
				sc_call(c, XS_WRITE, 0, 1, SC_ARGS(p, v), &m);
				refused = m.hdr.type == XS_ERROR;
			}
			SC_EXPECT_STR(&m, XS_ERROR, "ENOSPC\0");
			ck_assert_int_eq(has(c, p, v), 0);
			if (!*v)
				break;
		}
		sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/full/a/b/c", value), &m);
		SC_EXPECT_STR(&m, XS_ERROR, "ENOSPC\0");
		sc_call(c, XS_RM, 0, 0, SC_ARGS("/rm/big"), &m);
		SC_EXPECT_STR(&m, XS_ERROR, "ENOSPC\0");
		ck_assert_int_eq(has(c, "/full", ""), 0);
		ck_assert_int_eq(rm_state(c), 0);
		ck_assert_int_eq(log_room(&d), room);
		file_limit(&d, RLIM_INFINITY);
		/* Something else goes through between: the log is whole after each refusal. */
		snprintf(p, sizeof(p), "/between/n%d", k);
		SC_OK(c, XS_WRITE, 0, 1, p, "ok");
	}
	sc_check_ok(c);
	SC_OK(c, XS_WRITE, 0, 1, "/full/a/b/c", value);
	SC_OK(c, XS_RM, 0, 0, "/rm/big");
	/* More than the store file has room for... */
	for (int k = 0; k < 800; k++) {
		snprintf(p, sizeof(p), "/full/big/n%d", k);
		SC_OK(c, XS_WRITE, 0, 1, p, value);
	}
	sc_close(c);
	/* ...and it cannot grow: the last checkpoint fails, the log keeps it all. */
	{
		char tdb[320];
		struct stat st;

		snprintf(tdb, sizeof(tdb), "%s/xenstore.tdb", d.dir);
		ck_assert_int_eq(stat(tdb, &st), 0);
		file_limit(&d, (rlim_t)st.st_size);
	}
	sc_stop_keep(&d);
	ck_assert_int_ge(sc_log_has(&d, "the last checkpoint failed"), 1);
	sc_restart(&d, NULL);
	c = sc_connect_raw(&d);
	sc_check_ok(c);
	ck_assert_int_eq(has(c, "/full/a/b/c", value), 1);
	ck_assert_int_eq(has(c, "/full/big/n799", value), 1);
	ck_assert_int_eq(rm_state(c), 1);
	for (int k = 0; k < 3; k++) {
		snprintf(p, sizeof(p), "/between/n%d", k);
		ck_assert_int_eq(has(c, p, "ok"), 1);
	}
	sc_close(c);
	sc_stop(&d);
}
END_TEST

/*
 * Compaction. The store it starts from is made once and put back before
 * each run: 30,000 nodes written, 25,000 of them removed, 200 written
 * after, the daemon then killed (the log holds what followed the last
 * checkpoint, which the compaction writes into its file after the copy).
 * Its settings: a store of 4093 hash chains, the thresholds low, slices of
 * 100 us. A run with no crash says how many records the compaction writes
 * after its copy; then it is killed at steps spread over the copy (each
 * hash chain a step), over those records, and at each step of the switch
 * (wal.h). After each kill a start with compaction off serves exactly the
 * tree the clients were told of, CONTROL check sound, the compaction's
 * file removed; from the file as it was if killed before the rename, from
 * the compacted one (its log known as checkpointed already) after it.
 */
enum { CZ_NODES = 30000, CZ_REMOVED = 25000, CZ_LATE = 200, CZ_CHAINS = 4093 };
#define CZ_FMT "/cz/d%03d/n%03d"
#define CZ_LATE_FMT "/czlate/d%03d/n%03d"
#define CZ_VALUE "a value of a hundred bytes, so that 25,000 of them removed leave megabytes free in the file......"
#define CZ_OFF "compact = no\nhash-size = 4093\n"
#define CZ_ON "compact-min-free = 1048576\ncompact-min-percent = 30\ncompact-slice-us = 100\nhash-size = 4093\n"

static void cz_path(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* The store files (xenstore.tdb, xenstore.wal) copied from one directory to another. */
static void cz_copy(const char *from, const char *to)
{
	static const char *const names[] = {"xenstore.tdb", "xenstore.wal"};

	for (int i = 0; i < 2; i++) {
		char a[320], b[320];

		cz_path(a, sizeof(a), from, names[i]);
		cz_path(b, sizeof(b), to, names[i]);
		ck_assert_msg(xst_file_copy(a, b) == 0, "copy %s to %s: %s", a, b, strerror(errno));
	}
}

/* The daemon made the store and was killed; its files are kept in tmpl. */
static void cz_template(struct xst_daemon *d, const char *const *off, const char *tmpl)
{
	char p[64];

	sc_start(d, off);
	struct sc_conn *c = sc_connect_raw(d);

	sc_write_many(c, CZ_FMT, 0, CZ_NODES, CZ_VALUE);
	for (int i = 0; i < CZ_REMOVED / 1000; i++) {
		snprintf(p, sizeof(p), "/cz/d%03d", i);
		SC_OK(c, XS_RM, 0, 0, p);
	}
	sc_write_many(c, CZ_LATE_FMT, 0, CZ_LATE, "late");
	sc_close(c);
	sc_crash(d);
	cz_copy(d->dir, tmpl);
}

/* The template's directory removed. */
static void cz_cleanup(const char *tmpl)
{
	char p[320];

	cz_path(p, sizeof(p), tmpl, "xenstore.tdb");
	unlink(p);
	cz_path(p, sizeof(p), tmpl, "xenstore.wal");
	unlink(p);
	rmdir(tmpl);
}

/* The tree the clients were told of, and sound. */
static void cz_state(struct sc_conn *c)
{
	sc_check_ok(c);
	ck_assert_int_eq(sc_count(c, CZ_FMT, 0, CZ_REMOVED, 89, CZ_VALUE), 0);
	ck_assert_int_eq(sc_count(c, CZ_FMT, CZ_REMOVED, CZ_NODES, 1, CZ_VALUE), CZ_NODES - CZ_REMOVED);
	ck_assert_int_eq(sc_count(c, CZ_LATE_FMT, 0, CZ_LATE, 1, "late"), CZ_LATE);
}

/*
 * The daemon run in d's directory, with args, until it dies at crash point
 * spec on its own (a compaction needs no client: it may die before the
 * socket is waited for). Its exit status (99 there), or -1 if not within ms.
 */
static int run_to_crash(struct xst_daemon *d, const char *spec, const char *const *args, int ms)
{
	char log[320];
	pid_t p;

	snprintf(log, sizeof(log), "%s/daemon.log", d->dir);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		const char *argv[16] = {XST_DAEMON_BIN, "-N"};
		int n = 2, fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		for (; args && *args && n < 15; args++)
			argv[n++] = *args;
		setenv("XENSTORED_RUNDIR", d->dir, 1);
		unsetenv("XENSTORED_PATH");
		setenv("XENSTORED_TEST_CRASH", spec, 1);
		execv(XST_DAEMON_BIN, (char *const *)argv);
		_exit(127);
	}
	d->pid = p;
	int st = wait_exit(d, ms);

	if (st < 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		d->pid = -1;
	}
	return st;
}

/* Until the daemon has compacted its store once. */
static void cz_compacted(struct sc_conn *c)
{
	for (int i = 0; sc_stat(c, "compactions") < 1; i++) {
		ck_assert_msg(i < 3000, "no compaction within 30 s");
		usleep(10000);
	}
}

/* What the daemon's log says of its compaction: the records written after the copy (-1: none done). */
static long cz_written_after(const struct xst_daemon *d)
{
	return sc_log_number(d, "store: compacted ", " records copied, ", -1);
}

START_TEST(compaction_killed_at_each_point)
{
	struct sc_conf off_conf, on_conf;
	const char *const *off = sc_conf_args(&off_conf, CZ_OFF);
	const char *const *on = sc_conf_args(&on_conf, CZ_ON);
	char tmpl[256];
	struct xst_daemon d;
	long long full;
	long after_copy, points[24];
	int npoints = 0, compacted = 0;

	snprintf(tmpl, sizeof(tmpl), "%s/xst-compact.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	cz_template(&d, off, tmpl);
	full = sc_file_size(tmpl, "xenstore.tdb");
	ck_assert_int_gt(full, 1 << 20);
	/* Not killed: how many records it writes after the copy. */
	sc_restart(&d, on);
	struct sc_conn *c = sc_connect_raw(&d);

	cz_compacted(c);
	cz_state(c);
	sc_close(c);
	sc_stop_keep(&d);
	after_copy = cz_written_after(&d);
	ck_assert_int_gt(after_copy, 10);
	for (int k = 0; k < 6; k++)
		points[npoints++] = 1 + (CZ_CHAINS - 1) * k / 5;
	for (int k = 0; k < 6; k++)
		points[npoints++] = CZ_CHAINS + 1 + (after_copy - 1) * k / 5;
	for (int k = 1; k <= 4; k++)
		points[npoints++] = CZ_CHAINS + after_copy + k;
	for (int i = 0; i < npoints; i++) {
		char spec[48];
		long at = points[i];
		bool renamed = at > CZ_CHAINS + after_copy + 2;

		cz_copy(tmpl, d.dir);
		snprintf(spec, sizeof(spec), "compact:%ld", at);
		ck_assert_msg(run_to_crash(&d, spec, on, 30000) == 99, "%s: the daemon did not die there", spec);
		ck_assert_int_eq(sc_file_size(d.dir, "xenstore.tdb.compact") >= 0, !renamed);
		sc_restart(&d, off);
		ck_assert_int_eq(sc_file_size(d.dir, "xenstore.tdb.compact"), -1);
		if (renamed)
			ck_assert_int_lt(sc_file_size(d.dir, "xenstore.tdb"), full / 2);
		else
			ck_assert_int_eq(sc_file_size(d.dir, "xenstore.tdb"), full);
		ck_assert_int_eq(sc_log_has(&d, "the write-ahead log was checkpointed already"), compacted + renamed);
		c = sc_connect_raw(&d);
		cz_state(c);
		sc_close(c);
		sc_stop_keep(&d);
		compacted += renamed;
	}
	/* Killed in the middle of its copy, the next start removes its file and compacts again. */
	cz_copy(tmpl, d.dir);
	ck_assert_int_eq(run_to_crash(&d, "compact:2000", on, 30000), 99);
	int cut = sc_log_has(&d, "left by a compaction cut short");

	sc_restart(&d, on);
	ck_assert_int_eq(sc_log_has(&d, "left by a compaction cut short"), cut + 1);
	c = sc_connect_raw(&d);
	cz_compacted(c);
	cz_state(c);
	sc_close(c);
	sc_stop(&d);
	cz_cleanup(tmpl);
	unlink(off_conf.path);
	unlink(on_conf.path);
	printf("crash: a compaction (%d hash chains, then %ld records) killed at %d points of it: the tree as"
	       " told after each, %d times from the compacted file\n", CZ_CHAINS, after_copy, npoints, compacted);
}
END_TEST

/*
 * The nodes the writer of compaction_with_writes_killed writes in turn, over
 * and over: a bounded set, so that its writes do not take up the space whose
 * freeing made the compaction due (a compaction late to begin, as on a busy
 * machine, would otherwise find it no longer due and never reach the point).
 */
#define CZW_NODES 2000

static void czw_path(char *p, size_t size, int i)
{
	int j = i % CZW_NODES;

	snprintf(p, size, "/czw/d%03d/n%03d", j % 50, j / 50);
}

/*
 * A compaction while a client writes, killed at steps of its copy and of
 * its writing of the overlay after it (the first records of it: how many
 * there are depends on when it began): the nodes are written (a clean stop
 * after, kept and put back before each run), then the client removes most
 * of them, which makes the compaction due, and writes the nodes of a set in
 * turn until the daemon dies. A start after it serves every write that
 * was answered (the one in flight may be there or not), the removals, and
 * a sound tree.
 */
START_TEST(compaction_with_writes_killed)
{
	static const long at[] = {500, 2500, CZ_CHAINS + 1, CZ_CHAINS + 10};
	struct sc_conf off_conf, on_conf;
	const char *const *off = sc_conf_args(&off_conf, CZ_OFF);
	const char *const *on = sc_conf_args(&on_conf, CZ_ON);
	char tmpl[256];
	struct xst_daemon d;

	snprintf(tmpl, sizeof(tmpl), "%s/xst-compact.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	sc_start(&d, off);
	struct sc_conn *c = sc_connect_raw(&d);

	sc_write_many(c, CZ_FMT, 0, CZ_NODES, CZ_VALUE);
	sc_write_many(c, CZ_LATE_FMT, 0, CZ_LATE, "late");
	sc_close(c);
	sc_stop_keep(&d);
	cz_copy(d.dir, tmpl);
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		char spec[48], p[64], v[32];
		int acked = 0;

		cz_copy(tmpl, d.dir);
		snprintf(spec, sizeof(spec), "compact:%ld", at[k]);
		start_crashing_with(&d, d.dir, spec, on);
		c = sc_connect_raw(&d);
		for (int i = 0; i < CZ_REMOVED / 1000; i++) {
			snprintf(p, sizeof(p), "/cz/d%03d", i);
			SC_OK(c, XS_RM, 0, 0, p);
		}
		for (int i = 0; i < 100000; i++) {
			struct xst_msg m;
			char buf[128];
			int len;

			czw_path(p, sizeof(p), i);
			snprintf(v, sizeof(v), "w%d", i);
			len = xst_payload(buf, sizeof(buf), 1, SC_ARGS(p, v));
			if (xst_wire_send_msg(sc_wire(c), XS_WRITE, 0, 0, buf, (size_t)len) != 0 ||
			    xst_wire_recv(sc_wire(c), &m, 10000) != 0)
				break;
			SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
			acked++;
		}
		ck_assert_msg(wait_exit(&d, 10000) == 99, "%s: the daemon did not die there (%d writes)", spec,
			      acked);
		sc_close(c);
		sc_restart(&d, off);
		c = sc_connect_raw(&d);
		cz_state(c);
		/* Each node holds the last write to it answered (the one in flight may be there or not). */
		for (int j = 0; j < CZW_NODES && j < acked; j++) {
			int last = acked - (acked - j) % CZW_NODES;

			if (last == acked)
				continue;
			czw_path(p, sizeof(p), j);
			snprintf(v, sizeof(v), "w%d", last);
			ck_assert_msg(has(c, p, v), "%s: write %d of %d answered, not there", spec, last, acked);
		}
		sc_close(c);
		if (k + 1 < sizeof(at) / sizeof(at[0]))
			sc_stop_keep(&d);
		else
			sc_stop(&d);
		printf("crash: a compaction killed at its step %ld while a client wrote: %d writes answered"
		       " before, all there after\n", at[k], acked);
	}
	cz_cleanup(tmpl);
	unlink(off_conf.path);
	unlink(on_conf.path);
}
END_TEST

/* A store file that is not a store is refused with a clear message, never served as an empty tree. */
START_TEST(garbage_store_is_refused)
{
	struct xst_daemon d;
	char file[320];
	FILE *f;

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	SC_OK(c, XS_WRITE, 0, 1, "/precious", "1");
	sc_close(c);
	sc_stop_keep(&d);
	snprintf(file, sizeof(file), "%s/xenstore.tdb", d.dir);
	f = fopen(file, "r+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs("this header is garbage", f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_ne(xst_daemon_start(&d, XST_OURS, d.dir, NULL), 0);
	ck_assert_int_eq(sc_log_has(&d, "its header is damaged"), 1);
}
END_TEST

Suite *suite_crash(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("points");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, commit_killed_at_each_point);
	tcase_add_test(tc, big_rm_killed_at_each_point);
	tcase_add_test(tc, domain_cleanup_killed_at_each_point);
	tcase_add_test(tc, cleanup_of_many_slices_killed_goes_on_at_start);
	tcase_add_test(tc, checkpoint_killed_at_each_step);
	tcase_add_test(tc, checkpoint_during_writes_killed);
	tcase_add_test(tc, start_killed_while_reading_the_log);
	tcase_add_test(tc, full_file_system_answers_enospc);
	tcase_add_test(tc, garbage_store_is_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("compaction");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, compaction_killed_at_each_point);
	tcase_add_test(tc, compaction_with_writes_killed);
	suite_add_tcase(s, tc);
	return s;
}

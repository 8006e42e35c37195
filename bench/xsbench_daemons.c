/* xsbench's daemons: their kinds, CPU placement, starting and stopping one for each group, and reading its memory. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/xsbench.h"

const enum xst_kind xsb_dk_kind[D_N] = {XST_OURS, XST_REF_C, XST_REF_OX, XST_FLOOR};
const char *const xsb_dk_key[D_N] = {"ours", "c", "ox", "floor"}; /* option and summary names */
const char *const xsb_dk_col[D_N] = {"ours", "C", "oxen", "floor"}; /* table column headers */

/*
 * CPU placement. On a small VM a wakeup across CPUs is costly and varies run
 * to run, which swamps serial round trips; so by default the serial groups
 * (serial, dirpart) run client and daemon on one CPU (a stable figure that
 * includes both sides' CPU cost) and the other groups run them on two
 * different CPUs so that pipelined and concurrent clients overlap the
 * daemon. The serial transactions count as serial; the watch group times its
 * serial latency phase on one CPU and its pipelined phase on two.
 */
static cpu_set_t cpus_all;         /* our affinity at start, restored after each group */
int xsb_cpu_daemon, xsb_cpu_client; /* the last two CPUs we may use (equal if only one) */

static void pin_init(void)
{
	int last = -1, prev = -1;

	CPU_ZERO(&cpus_all);
	if (sched_getaffinity(0, sizeof(cpus_all), &cpus_all) < 0) {
		xsb_opt.pin = PIN_NONE;
		return;
	}
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &cpus_all)) {
			prev = last;
			last = i;
		}
	xsb_cpu_daemon = last;
	xsb_cpu_client = prev >= 0 ? prev : last;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The watch group times its serial latency phase with client and daemon on
 * one CPU (as the serial group does, for a stable figure) and its pipelined
 * phase on two; with an explicit --pin the group keeps that placement.
 */
void xsb_pin_phase(int serial)
{
	if (xsb_opt.pin == PIN_AUTO)
		pin_self(serial ? xsb_cpu_daemon : xsb_cpu_client);
}

/* Memory of *.tdb files in the run directory: allocated bytes (tmpfs pages), in KiB. */
long xsb_tdb_files_kb(const struct xst_daemon *d)
{
	DIR *dir = opendir(d->dir);
	struct dirent *e;
	long kb = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		size_t l = strlen(e->d_name);
		char path[600];
		struct stat sb;

		if (l < 4 || strcmp(e->d_name + l - 4, ".tdb") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->dir, e->d_name);
		if (stat(path, &sb) == 0)
			kb += (long)(sb.st_blocks * 512 / 1024);
	}
	closedir(dir);
	return kb;
}

/* RssAnon from /proc: private memory, without mapped file or shmem pages. */
long xsb_rss_anon_kb(const struct xst_daemon *d)
{
	return xst_daemon_status_kb(d, "RssAnon");
}

/* ---------------------------------------------------------------- running */

/* The daemon running now, so an interrupt does not leave it behind. */
static volatile pid_t g_running_pid = -1;

/* Our daemon (from bin, NULL: the usual one; or the floor) started in dir (NULL: a fresh one), placed as the group's is. */
static int start_placed(struct xst_daemon *d, enum xst_kind kind, const char *bin, const char *dir)
{
	const char *was = getenv("XST_DAEMON");
	char saved[4096];
	cpu_set_t mine;
	int rc, pinned = xsb_opt.pin != PIN_NONE && sched_getaffinity(0, sizeof(mine), &mine) == 0;

	snprintf(saved, sizeof(saved), "%s", was ? was : "");
	/* The daemon inherits our affinity at fork, as in xsb_run_group. */
	if (pinned)
		pin_self(xsb_cpu_daemon);
	if (bin)
		setenv("XST_DAEMON", bin, 1);
	rc = xst_daemon_start(d, kind, dir, NULL);
	if (bin && was)
		setenv("XST_DAEMON", saved, 1);
	else if (bin)
		unsetenv("XST_DAEMON");
	if (pinned)
		sched_setaffinity(0, sizeof(mine), &mine);
	return rc;
}

int xsb_start_other(struct xst_daemon *d, const char *bin)
{
	return start_placed(d, XST_OURS, bin, NULL);
}

int xsb_start_floor(struct xst_daemon *d)
{
	return start_placed(d, XST_FLOOR, NULL, NULL);
}

int xsb_restart_ours(struct xst_daemon *d)
{
	int own = d->own_dir, rc = start_placed(d, XST_OURS, NULL, d->dir);

	/* The group's run directory is still ours to remove. */
	d->own_dir = own;
	if (rc == 0)
		g_running_pid = d->pid;
	return rc;
}

static void on_signal(int sig)
{
	pid_t p = g_running_pid;

	if (p > 0)
		kill(p, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

void xsb_daemons_setup(void)
{
	/* xst_daemon makes its run directories under $TMPDIR. */
	setenv("TMPDIR", xsb_opt.tmpdir, 1);
	/* The floor server is built beside this program. */
	if (!getenv("XST_FLOOR")) {
		char self[4096];
		ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 16);

		if (l > 0) {
			self[l] = '\0';
			char *slash = strrchr(self, '/');

			if (slash) {
				strcpy(slash + 1, "xsfloor");
				setenv("XST_FLOOR", self, 1);
			}
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pin_init();
}

/* Plain files only: socket, pid, log, store. */
void xsb_remove_run_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char f[600];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		unlink(f);
	}
	closedir(dir);
	if (rmdir(path) < 0)
		xsb_progress("    could not remove %s: %s\n", path, strerror(errno));
}

/* Every figure of group g for daemon dk: st, and why. */
static void group_state(enum xsb_grp g, int dk, enum xsb_fst st, const char *note)
{
	for (int f = 0; f < F_COUNT; f++)
		if (xsb_figs[f].grp == g)
			xsb_fig_state(f, dk, st, note);
}

void xsb_run_group(enum xsb_grp g, int dk, xsb_group_fn *fn)
{
	struct xst_daemon d;
	double t0 = xsb_now_s();
	int rc, status;

	if (!xst_kind_available(xsb_dk_kind[dk])) {
		group_state(g, dk, ST_MISSING, dk == D_OURS ? "daemon not built" : "not installed");
		return;
	}
	if (g == G_RECOVERY && dk != D_OURS) {
		group_state(g, dk, ST_NA, "keeps no store: its tree dies with it, no reference figure");
		return;
	}
	if (dk == D_FLOOR && g != G_WATCH && g != G_FANOUT && g != G_TXN && g != G_TXNCONC) {
		group_state(g, dk, ST_NA, "the floor runs the watch, fan-out and txn groups");
		return;
	}
	if (g == G_LIVEUPDATE && dk == D_OX) {
		group_state(g, dk, ST_NA, "its live update is not run here: no reference figure");
		return;
	}
	/* The C daemon builds a big store far too slowly (its writes slow down as it grows). */
	if (g == G_LIVEUPDATE && dk == D_C && xsb_opt.scale > XSB_LU_C_SCALE) {
		group_state(g, dk, ST_NA, "a million nodes take it too long to build: its figure with --quick");
		return;
	}
	if (g == G_DOMSTORM && dk != D_OURS) {
		/* Guests speak over rings, which under their shim are idle pages. */
		group_state(g, dk, ST_NA, "simulated guest rings: our daemon only (see domcreate)");
		return;
	}
	xsb_progress("[%s] %s: ", xsb_grp_name[g], xst_kind_name(xsb_dk_kind[dk]));
	int pin = xsb_opt.pin != PIN_AUTO                               ? xsb_opt.pin
		  : g == G_SERIAL || g == G_DIRPART || g == G_TXN ? PIN_SAME
								  : PIN_SPLIT;

	/* The daemon inherits our affinity at fork; then the client may move away. */
	if (pin != PIN_NONE)
		pin_self(xsb_cpu_daemon);
	/*
	 * The C daemon refuses permissions naming a domain it believes absent
	 * (SET_PERMS answers ENOENT), and its shim reports only dom0 unless told.
	 */
	int all_domains = g == G_DOMCREATE || g == G_ATTACKS || g == G_LIVEUPDATE;

	if (all_domains)
		setenv("XSSHIM_DOMAINS", "all", 1);
	rc = xst_daemon_start(&d, xsb_dk_kind[dk], NULL, NULL);
	if (all_domains)
		unsetenv("XSSHIM_DOMAINS");
	if (pin == PIN_SPLIT)
		pin_self(xsb_cpu_client);
	if (rc < 0) {
		sched_setaffinity(0, sizeof(cpus_all), &cpus_all);
		xsb_progress("failed to start\n");
		group_state(g, dk, ST_ERROR, "failed to start");
		return;
	}
	g_running_pid = d.pid;
	xsb_progress("pid %d\n", (int)d.pid);
	xsb_err[0] = '\0';
	rc = fn(&d, dk);
	if (rc < 0 && !xst_daemon_alive(&d))
		snprintf(xsb_err + strlen(xsb_err), sizeof(xsb_err) - strlen(xsb_err),
			 " (daemon died)");
	/*
	 * Our run directory outlives the stop: if the run failed or the daemon
	 * died at shutdown, its daemon.log explains, so it is kept then.
	 */
	status = xst_daemon_stop(&d, dk == D_OURS || xsb_opt.keep);
	g_running_pid = -1;
	sched_setaffinity(0, sizeof(cpus_all), &cpus_all);
	if (dk == D_OURS && status > 0 && WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
		xsb_progress("    our daemon ended with signal %d\n", WTERMSIG(status));
		if (rc == 0) {
			rc = -1;
			xsb_fail("daemon killed by signal %d", WTERMSIG(status));
		} else {
			size_t l = strlen(xsb_err);

			snprintf(xsb_err + l, sizeof(xsb_err) - l, ", signal %d", WTERMSIG(status));
		}
	}
	int keep = xsb_opt.keep || (dk == D_OURS && rc < 0);

	if (dk == D_OURS && !keep && d.own_dir)
		xsb_remove_run_dir(d.dir);
	if (rc < 0) {
		xsb_progress("    ERROR: %s%s%s\n", xsb_err, keep ? "; run dir kept: " : "",
			     keep ? d.dir : "");
		for (int f = 0; f < F_COUNT; f++)
			if (xsb_figs[f].grp == g && xsb_figs[f].st[dk] == ST_UNSET)
				xsb_fig_state(f, dk, ST_ERROR, xsb_err);
	}
	if (xsb_opt.keep && rc == 0)
		xsb_progress("    run dir kept: %s\n", d.dir);
	xsb_progress("    %.1f s\n", xsb_now_s() - t0);
}

/* Test and benchmark harness: start and stop our daemon or a reference daemon on a private socket. */
#ifndef XST_DAEMON_H
#define XST_DAEMON_H

#include <sys/types.h>

enum xst_kind {
	XST_OURS = 0, /* our xenstored ($XST_DAEMON or the build's daemon/xenstored) */
	XST_REF_C,    /* Debian's C xenstored 4.17, run without Xen by tests/refd/refd.sh */
	XST_REF_OX,   /* Debian's oxenstored 4.17 likewise */
	XST_FLOOR,    /* bench/xsfloor ($XST_FLOOR): answers with no store, the kernel's share alone */
};

struct xst_daemon {
	enum xst_kind kind;
	pid_t pid;
	int own_dir;       /* dir was made by us and is removed at stop */
	char dir[256];     /* run directory */
	char socket[300];  /* dir/socket */
	pid_t simhyp_pid;  /* ours: the simulated hypervisor serving dir/simhyp, or -1 */
};

/* Human name of a kind ("ours", "C xenstored", "oxenstored", "floor"). */
const char *xst_kind_name(enum xst_kind kind);
/*
 * Whether a kind can run here (binary present; for a reference daemon, in
 * $XST_REF_BINDIR, default /usr/lib/xen-4.17/bin, as tests/refd/refd.sh looks).
 */
int xst_kind_available(enum xst_kind kind);
/*
 * Start a daemon in dir (NULL: a fresh mkdtemp directory), waiting until its
 * socket accepts connections. extra_args (NULL-terminated, may be NULL) are
 * appended to its command line. Every kind runs as our child, its output in
 * dir/daemon.log; a reference daemon under tests/refd/refshim.so
 * ($XST_REF_SHIM overrides the build's). 0 on success, -1 on failure
 * (message on stderr: for a reference daemon, not installed or failed to
 * start, with its log).
 */
int xst_daemon_start(struct xst_daemon *d, enum xst_kind kind, const char *dir,
		     const char *const *extra_args);
/*
 * Our daemon comes with a simulated hypervisor (xs-simhyp: $XST_SIMHYP or
 * the build's), started in dir before it (dir/simhyp, its output in
 * dir/simhyp.log, its pid in dir/simhyp.pid) unless one serves there
 * already (left by xst_daemon_stop_keep_hyp): then that one is adopted.
 * xst_daemon_stop stops both.
 *
 * Stop it by PID (SIGTERM, then SIGKILL after 5 s) and reap it. Returns the
 * wait status of our daemon (or 0 for a reference daemon), -1 if not running.
 * keep_dir leaves the run directory in place (for a restart test).
 */
int xst_daemon_stop(struct xst_daemon *d, int keep_dir);
/*
 * Stop the daemon alone (as xst_daemon_stop with keep_dir), its hypervisor
 * left serving with every domain, grant and event channel it holds, for
 * xst_daemon_start in the same directory to take over. Returns the
 * daemon's wait status.
 */
int xst_daemon_stop_keep_hyp(struct xst_daemon *d);
/* The hypervisor of a kept directory stopped by PID (xst_daemon_stop does it for a started daemon). */
void xst_simhyp_stop(struct xst_daemon *d);
/*
 * An xs-simhyp of its own on path (pid file path.pid, output path.log),
 * waited for until it answers: its pid (our child), or -1. xst_simhyp_kill
 * stops it by that pid.
 */
pid_t xst_simhyp_start(const char *path);
void xst_simhyp_kill(pid_t pid);
/* True while the daemon process is alive. */
int xst_daemon_alive(const struct xst_daemon *d);
/* Resident set size in KiB and CPU time (user+system) in clock ticks, from /proc. */
long xst_daemon_rss_kb(const struct xst_daemon *d);
/* Any "Name: N kB" line of /proc/PID/status (e.g. "RssAnon"); -1 if absent. */
long xst_daemon_status_kb(const struct xst_daemon *d, const char *field);
long long xst_daemon_cpu_ticks(const struct xst_daemon *d);
/* How many lines of the daemon's log (dir/daemon.log) contain needle (0: none, or no log). */
int xst_daemon_log_count(const struct xst_daemon *d, const char *needle);
/*
 * In an AddressSanitizer build, make daemons started from now on keep a
 * small quarantine (16 MiB), so that their RSS follows what they hold;
 * elsewhere nothing. Later ASAN_OPTIONS win, so the caller's are kept.
 */
void xst_asan_small_quarantine(void);

#endif

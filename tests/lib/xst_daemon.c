/* Test and benchmark harness: start and stop our daemon or a reference daemon on a private socket. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "xst_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef XST_DAEMON_BIN
#define XST_DAEMON_BIN "daemon/xenstored"
#endif
#ifndef XST_SIMHYP_BIN
#define XST_SIMHYP_BIN "simhyp/xs-simhyp"
#endif
/* The reference daemons' launcher and shim (the Makefile gives their absolute paths). */
#ifndef XST_REFD
#define XST_REFD "tests/refd/refd.sh"
#endif
#ifndef XST_REF_SHIM
#define XST_REF_SHIM "tests/refd/refshim.so"
#endif
/* Where xen-utils-4.17 installs the reference daemons; refd.sh honours the same variable. */
#define XST_REF_BINDIR "/usr/lib/xen-4.17/bin"
/* refd.sh's exit status when the reference daemon is not installed. */
#define REFD_NOT_INSTALLED 3

static const char *our_binary(void)
{
	const char *e = getenv("XST_DAEMON");

	return e && *e ? e : XST_DAEMON_BIN;
}

static const char *simhyp_binary(void)
{
	const char *e = getenv("XST_SIMHYP");

	return e && *e ? e : XST_SIMHYP_BIN;
}

static const char *floor_binary(void)
{
	const char *e = getenv("XST_FLOOR");

	return e && *e ? e : "bench/xsfloor";
}

/* Kinds whose binary we exec ourselves; the reference daemons are exec'd by refd.sh run. */
static int own_child(enum xst_kind kind)
{
	return kind == XST_OURS || kind == XST_FLOOR;
}

static const char *refd_script(void)
{
	const char *e = getenv("XST_REFD");

	return e && *e ? e : XST_REFD;
}

/* The reference binary of a kind, where refd.sh looks for it. */
static const char *ref_binary(enum xst_kind kind, char *buf, size_t size)
{
	const char *e = getenv("XST_REF_BINDIR");

	snprintf(buf, size, "%s/%s", e && *e ? e : XST_REF_BINDIR,
		 kind == XST_REF_C ? "xenstored" : "oxenstored");
	return buf;
}

const char *xst_kind_name(enum xst_kind kind)
{
	switch (kind) {
	case XST_OURS:
		return "ours";
	case XST_REF_C:
		return "C xenstored";
	case XST_REF_OX:
		return "oxenstored";
	case XST_FLOOR:
		return "floor";
	}
	return "?";
}

int xst_kind_available(enum xst_kind kind)
{
	char bin[PATH_MAX];

	if (own_child(kind))
		return access(kind == XST_OURS ? our_binary() : floor_binary(), X_OK) == 0;
	return access(refd_script(), R_OK) == 0 && access(ref_binary(kind, bin, sizeof(bin)), X_OK) == 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int socket_accepts_type(const char *path, int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int socket_accepts(const char *path)
{
	return socket_accepts_type(path, SOCK_STREAM);
}

/* In a child about to exec: output to dir/name; a test that dies (a failed assertion) takes it along. */
static void child_setup(const char *dir, const char *name)
{
	char log[320];
	int fd;

	snprintf(log, sizeof(log), "%s/%s", dir, name);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* Stop a child by PID: SIGTERM, SIGKILL after 5 s; its wait status. */
static int stop_pid(pid_t pid)
{
	int status = 0, done = 0;

	kill(pid, SIGTERM);
	for (int i = 0; i < 500 && !done; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD && kill(pid, 0) < 0))
			done = 1;
		else
			sleep_ms(10);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return status;
}

pid_t xst_simhyp_start(const char *path)
{
	char pidfile[320], log[320];
	const char *slash = strrchr(path, '/');
	pid_t p;

	snprintf(pidfile, sizeof(pidfile), "%s.pid", path);
	snprintf(log, sizeof(log), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	unlink(pidfile);
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		char name[160];

		snprintf(name, sizeof(name), "%s.log", slash ? slash + 1 : path);
		child_setup(log, name);
		execl(simhyp_binary(), "xs-simhyp", "-s", path, "-F", pidfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int st;

		if (access(pidfile, F_OK) == 0 && socket_accepts_type(path, SOCK_SEQPACKET))
			return p;
		if (waitpid(p, &st, WNOHANG) == p) {
			fprintf(stderr, "xst: xs-simhyp (%s) exited at start (status %d), see %s.log\n",
				simhyp_binary(), st, path);
			return -1;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "xst: xs-simhyp did not listen on %s\n", path);
	stop_pid(p);
	return -1;
}

void xst_simhyp_kill(pid_t pid)
{
	if (pid > 0)
		stop_pid(pid);
}

/* The simulated hypervisor for our daemon in d->dir: adopted if one serves there, else started. 0 or -1. */
static int simhyp_start(struct xst_daemon *d)
{
	char sock[320], pidfile[320];

	snprintf(sock, sizeof(sock), "%s/simhyp", d->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/simhyp.pid", d->dir);
	if (socket_accepts_type(sock, SOCK_SEQPACKET)) {
		FILE *f = fopen(pidfile, "r");
		int pid = -1;

		if (f) {
			if (fscanf(f, "%d", &pid) != 1)
				pid = -1;
			fclose(f);
		}
		d->simhyp_pid = pid;
		return 0;
	}
	d->simhyp_pid = xst_simhyp_start(sock);
	return d->simhyp_pid > 0 ? 0 : -1;
}

void xst_simhyp_stop(struct xst_daemon *d)
{
	if (d->simhyp_pid > 0)
		stop_pid(d->simhyp_pid);
	d->simhyp_pid = -1;
}

/* The end of a daemon's log on stderr: the directory goes with the test, and CI keeps only its output. */
static void log_tail(const char *dir, const char *header)
{
	char path[PATH_MAX], buf[2048];
	FILE *f;
	long size;
	size_t n;

	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	if (!(f = fopen(path, "r")))
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "%s%s\n", header, buf);
}

int xst_daemon_start(struct xst_daemon *d, enum xst_kind kind, const char *dir,
		     const char *const *extra_args)
{
	char given[sizeof(d->dir)];

	/* dir may point into *d (a restart in the same directory). */
	if (dir)
		snprintf(given, sizeof(given), "%s", dir);
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->pid = -1;
	d->simhyp_pid = -1;
	if (dir) {
		snprintf(d->dir, sizeof(d->dir), "%s", given);
		mkdir(d->dir, 0700);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(d->dir, sizeof(d->dir), "%s/xst.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(d->dir)) {
			perror("mkdtemp");
			return -1;
		}
		d->own_dir = 1;
	}
	snprintf(d->socket, sizeof(d->socket), "%s/socket", d->dir);

	const char *argv[64];
	unsigned n = 0;
	char pidfile[300], bin[PATH_MAX];

	if (own_child(kind)) {
		snprintf(pidfile, sizeof(pidfile), "%s/pid", d->dir);
		argv[n++] = kind == XST_OURS ? our_binary() : floor_binary();
		argv[n++] = "-N";
		argv[n++] = "-F";
		argv[n++] = pidfile;
	} else {
		/* refd.sh run sets the daemon up in dir and becomes it: its pid is the daemon's. */
		argv[n++] = "/bin/sh";
		argv[n++] = refd_script();
		argv[n++] = "run";
		argv[n++] = kind == XST_REF_C ? "c" : "ox";
		argv[n++] = d->dir;
		if (kind == XST_REF_OX)
			argv[n++] = "--no-access-log";
	}
	for (unsigned i = 0; extra_args && extra_args[i] && n < 63; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;

	/* The hypervisor first: the daemon connects to it as it starts. */
	if (kind == XST_OURS && simhyp_start(d) < 0)
		return -1;

	pid_t p = fork();

	if (p < 0) {
		xst_simhyp_stop(d);
		return -1;
	}
	if (p == 0) {
		child_setup(d->dir, "daemon.log");
		if (own_child(kind)) {
			setenv("XENSTORED_RUNDIR", d->dir, 1);
			unsetenv("XENSTORED_PATH");
			/* The floor as itself is the plain one: only one run as "ours" spins or uses libevent (bench/xsfloor.c). */
			if (kind == XST_FLOOR) {
				unsetenv("XSFLOOR_WORK_NS");
				unsetenv("XSFLOOR_LIBEVENT");
			}
		} else {
			setenv("XST_REF_SHIM", XST_REF_SHIM, 0);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	d->pid = p;
	for (int i = 0; i < 500; i++) {
		int st;

		if (socket_accepts(d->socket))
			return 0;
		if (waitpid(d->pid, &st, WNOHANG) != d->pid) {
			sleep_ms(10);
			continue;
		}
		d->pid = -1;
		if (own_child(kind)) {
			fprintf(stderr, "xst: daemon exited at start (status %d), see %s/daemon.log\n", st,
				d->dir);
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == REFD_NOT_INSTALLED) {
			/* refd.sh's message, all of the log: what is missing and how to get it. */
			log_tail(d->dir, "xst: ");
			xst_simhyp_stop(d);
			return -1;
		} else {
			fprintf(stderr, "xst: the reference %s (%s) is installed but failed to start "
				"(status 0x%x), see %s/daemon.log\n", xst_kind_name(kind),
				ref_binary(kind, bin, sizeof(bin)), st, d->dir);
		}
		log_tail(d->dir, "xst: the log ends:\n");
		xst_simhyp_stop(d);
		return -1;
	}
	fprintf(stderr, "xst: %s did not listen on %s\n", xst_kind_name(kind), d->socket);
	if (!own_child(kind))
		log_tail(d->dir, "xst: the log ends:\n");
	xst_daemon_stop(d, 1);
	return -1;
}

static void remove_dir(const char *dir)
{
	pid_t p = fork();

	if (p == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

static int stop_daemon(struct xst_daemon *d)
{
	int status = stop_pid(d->pid);

	/* How a reference daemon ends on SIGTERM is its own affair. */
	if (!own_child(d->kind))
		status = 0;
	d->pid = -1;
	return status;
}

int xst_daemon_stop_keep_hyp(struct xst_daemon *d)
{
	if (d->pid <= 0)
		return -1;
	return stop_daemon(d);
}

int xst_daemon_stop(struct xst_daemon *d, int keep_dir)
{
	int status = 0;

	if (d->pid <= 0) {
		xst_simhyp_stop(d);
		return -1;
	}
	status = stop_daemon(d);
	xst_simhyp_stop(d);
	/* How a reference daemon ends on SIGTERM is its own affair. */
	if (!own_child(d->kind))
		status = 0;
	d->pid = -1;
	if (d->own_dir && !keep_dir)
		remove_dir(d->dir);
	return status;
}

int xst_daemon_alive(const struct xst_daemon *d)
{
	/* A zombie still answers kill(0): look at its state instead. */
	char path[64], buf[512];
	FILE *f;
	int alive = 0;

	if (d->pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d->pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');

		alive = p && p[1] == ' ' && p[2] != 'Z';
	}
	fclose(f);
	return alive;
}

long xst_daemon_status_kb(const struct xst_daemon *d, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':' &&
		    sscanf(line + flen + 1, "%ld", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

long xst_daemon_rss_kb(const struct xst_daemon *d)
{
	return xst_daemon_status_kb(d, "VmRSS");
}

int xst_daemon_log_count(const struct xst_daemon *d, const char *needle)
{
	char path[320], line[1024];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		found += strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

void xst_asan_small_quarantine(void)
{
#if defined(__SANITIZE_ADDRESS__)
	const char *old = getenv("ASAN_OPTIONS");
	char opts[512];

	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=16", old && *old ? old : "",
		 old && *old ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
}

long long xst_daemon_cpu_ticks(const struct xst_daemon *d)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	/* After ")": state(3) ... utime is field 14, stime 15. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

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
#ifndef XST_REFD
#define XST_REFD "../shared/reference/refd.sh"
#endif

static const char *our_binary(void)
{
	const char *e = getenv("XST_DAEMON");

	return e && *e ? e : XST_DAEMON_BIN;
}

static const char *floor_binary(void)
{
	const char *e = getenv("XST_FLOOR");

	return e && *e ? e : "bench/xsfloor";
}

/* Kinds that run as our child process, started and reaped here. */
static int own_child(enum xst_kind kind)
{
	return kind == XST_OURS || kind == XST_FLOOR;
}

static const char *refd_script(void)
{
	const char *e = getenv("XST_REFD");

	return e && *e ? e : XST_REFD;
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
	if (own_child(kind))
		return access(kind == XST_OURS ? our_binary() : floor_binary(), X_OK) == 0;
	return access(refd_script(), R_OK) == 0 &&
	       access(kind == XST_REF_C ? "/usr/lib/xen-4.17/bin/xenstored"
					: "/usr/lib/xen-4.17/bin/oxenstored",
		      X_OK) == 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int socket_accepts(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static pid_t read_pid_file(const char *dir)
{
	char path[300], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/pid", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? (pid_t)atol(buf) : -1;
}

static int run_refd(const char *const *argv)
{
	pid_t p = fork();
	int st;

	if (p < 0)
		return -1;
	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execv("/bin/bash", (char *const *)argv);
		_exit(127);
	}
	if (waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The end of a daemon's log on stderr: the directory goes with the test, and CI keeps only its output. */
static void log_tail(const char *dir)
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
	fprintf(stderr, "xst: the log ends:\n%s\n", buf);
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

	if (own_child(kind)) {
		const char *argv[64];
		unsigned n = 0;
		char pidfile[300];

		snprintf(pidfile, sizeof(pidfile), "%s/pid", d->dir);
		argv[n++] = kind == XST_OURS ? our_binary() : floor_binary();
		argv[n++] = "-N";
		argv[n++] = "-F";
		argv[n++] = pidfile;
		for (unsigned i = 0; extra_args && extra_args[i] && n < 63; i++)
			argv[n++] = extra_args[i];
		argv[n] = NULL;
		pid_t p = fork();

		if (p < 0)
			return -1;
		if (p == 0) {
			char log[300];
			int fd;

			snprintf(log, sizeof(log), "%s/daemon.log", d->dir);
			fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
			/* A test that dies (a failed assertion) takes its daemon with it. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			setenv("XENSTORED_RUNDIR", d->dir, 1);
			unsetenv("XENSTORED_PATH");
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		d->pid = p;
	} else {
		const char *argv[64];
		unsigned n = 0;

		argv[n++] = "bash";
		argv[n++] = refd_script();
		argv[n++] = "start";
		argv[n++] = kind == XST_REF_C ? "c" : "ox";
		argv[n++] = d->dir;
		if (kind == XST_REF_OX)
			argv[n++] = "--no-access-log";
		for (unsigned i = 0; extra_args && extra_args[i] && n < 63; i++)
			argv[n++] = extra_args[i];
		argv[n] = NULL;
		if (run_refd(argv) < 0) {
			fprintf(stderr, "xst: could not start %s in %s\n", xst_kind_name(kind), d->dir);
			return -1;
		}
		d->pid = read_pid_file(d->dir);
	}
	for (int i = 0; i < 500; i++) {
		if (socket_accepts(d->socket))
			return 0;
		if (own_child(kind)) {
			int st;

			if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
				fprintf(stderr, "xst: daemon exited at start (status %d), see %s/daemon.log\n",
					st, d->dir);
				log_tail(d->dir);
				d->pid = -1;
				return -1;
			}
		}
		sleep_ms(10);
	}
	fprintf(stderr, "xst: %s did not listen on %s\n", xst_kind_name(kind), d->socket);
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

int xst_daemon_stop(struct xst_daemon *d, int keep_dir)
{
	int status = 0;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	if (own_child(d->kind)) {
		int done = 0;

		for (int i = 0; i < 500 && !done; i++) {
			if (waitpid(d->pid, &status, WNOHANG) == d->pid)
				done = 1;
			else
				sleep_ms(10);
		}
		if (!done) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
		}
	} else {
		/* Not our child: init reaps it, so a zombie counts as gone. */
		for (int i = 0; i < 500 && xst_daemon_alive(d); i++)
			sleep_ms(10);
		if (xst_daemon_alive(d))
			kill(d->pid, SIGKILL);
	}
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

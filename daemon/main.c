/* The daemon's life: settings, pid file, daemonising, the event loop, signals and clean shutdown. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "dispatch.h"
#include "domain.h"
#include "listener.h"
#include "log.h"
#include "quota.h"
#include "regions.h"
#include "session.h"
#include "store.h"

static int pid_fd = -1;

/* Write and lock the pid file; false if another instance holds it. */
static bool write_pid_file(const char *path)
{
	char buf[32];
	int n;

	pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pid_fd < 0)
		fatal("pid file %s", path);
	if (lockf(pid_fd, F_TLOCK, 0) < 0) {
		close(pid_fd);
		pid_fd = -1;
		return false;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) < 0 || write(pid_fd, buf, (size_t)n) != n)
		fatal("pid file %s", path);
	return true;
}

static void daemonise(void)
{
	pid_t p = fork();
	int null;

	if (p < 0)
		fatal("fork");
	if (p > 0)
		_exit(0);
	setsid();
	p = fork();
	if (p < 0)
		fatal("fork");
	if (p > 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal("chdir /");
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

static void mkdir_p(const char *dir)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

/* Every domain costs a few descriptors (its event channel, and in the simulation its page): use what we may. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_info("cannot raise the descriptor limit: %s", strerror(errno));
	}
}

static void stop_cb(evutil_socket_t sig, short what, void *base)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(base);
}

/* The store's start-up work, a slice per turn of the loop, requests served in between. */
static void store_cb(evutil_socket_t fd, short what, void *ev)
{
	static const struct timeval next_turn = {0, 0};

	(void)fd;
	(void)what;
	if (store_background())
		evtimer_add(ev, &next_turn);
	else
		event_free(ev);
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (cfg.trace_file[0] && log_trace_open(cfg.trace_file) < 0)
		log_warn("cannot reopen trace file %s", cfg.trace_file);
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct event *ev_term, *ev_int, *ev_hup;
	struct store_options sopt;
	const char *reason = "";
	int rc = config_load(argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 1; /* --help, --version; or a bad setting, already reported */
	/* Until log_init, messages go to stderr: a failure to daemonise is seen by whoever started us. */
	if (!cfg.no_fork)
		daemonise();
	log_init(!cfg.no_fork, cfg.verbose);
	/* Another instance runs: not an error, as in the C daemon. */
	if (cfg.pid_file[0] && !write_pid_file(cfg.pid_file))
		return 0;
	if (cfg.output_pid) {
		printf("%ld\n", (long)getpid());
		fflush(stdout);
	}
	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit makes the write fail (EFBIG) instead of killing the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	raise_fd_limit();

	mkdir_p(cfg.run_dir);
	if (cfg.trace_file[0] && log_trace_open(cfg.trace_file) < 0)
		log_warn("cannot open trace file %s", cfg.trace_file);

	sopt.file = cfg.store_file;
	sopt.hash_size = cfg.hash_size;
	sopt.fresh = cfg.fresh_store;
	sopt.priv_domid = cfg.priv_domid;
	sopt.background = true;
	store_add_hook(&regions_hook, NULL);
	store_add_hook(&quota_store_hook, NULL);
	if (store_open(&sopt, &reason) != XSE_OK)
		fatalx("cannot open the store %s: %s", cfg.store_file, reason);
	base = event_base_new();
	if (!base)
		fatalx("cannot create the event loop");
	conn_init(base);
	conn_set_presend(store_flush); /* nothing is sent before the changes it tells of are in the log */
	store_cb(-1, 0, evtimer_new(base, store_cb, event_self_cbarg()));
	session_init(base, dispatch_request);
	/*
	 * Both log why they fail. The store is closed cleanly before exiting,
	 * so that the next start finds no crash to recover from.
	 */
	if (domain_init(base, (enum domain_hyp_choice)cfg.hypervisor) < 0) {
		store_close();
		return 1;
	}
	if (listener_open(base, cfg.socket_path) < 0) {
		domain_fini();
		store_close();
		return 1;
	}
	ev_term = evsignal_new(base, SIGTERM, stop_cb, base);
	ev_int = evsignal_new(base, SIGINT, stop_cb, base);
	ev_hup = evsignal_new(base, SIGHUP, hup_cb, NULL);
	if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0 || evsignal_add(ev_hup, NULL) < 0)
		fatalx("cannot install signal handlers");
	log_info("listening on %s, store %s", cfg.socket_path, cfg.store_file);

	event_base_dispatch(base);

	listener_close();
	domain_fini();
	conn_close_all();
	session_fini();
	quota_fini();
	store_close();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	log_trace_close();
	if (pid_fd >= 0) {
		unlink(cfg.pid_file);
		close(pid_fd);
	}
	return 0;
}

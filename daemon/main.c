/*
 * The daemon's life: settings, one daemon per run directory and store,
 * start-up, daemonising once ready, readiness, the event loop, signals and
 * clean shutdown.
 *
 * Start-up order: nothing is created or changed before the locks are held,
 * and the caller hears "started" only once the socket listens:
 *   1. settings; signals we do not use are ignored;
 *   2. a pid file locked by a live daemon: it runs already, exit 0 (as the C
 *      xenstored, which init scripts starting it twice rely on);
 *   3. daemon mode: fork at once, but the parent waits on a pipe and exits
 *      with the daemon's verdict: 0 once it serves, 1 if it failed (its
 *      messages went to the same stderr);
 *   4. the run directory's lock (xenstored.lock), and the store directory's
 *      when that is another directory: held by a live daemon, refuse (exit 1)
 *      naming its pid;
 *   5. the store, the event loop, the hypervisor port, the socket (a stale
 *      one replaced, a live one refused), signal handlers, the pid file;
 *   6. ready: -P prints the pid, $NOTIFY_SOCKET gets READY=1, the waiting
 *      parent gets 0 and the daemon detaches (stdio to /dev/null, syslog).
 * A failure anywhere removes what this start created (socket, pid file, lock
 * files, the run directory if it made it) and exits 1.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "dispatch.h"
#include "domain.h"
#include "listener.h"
#include "liveupdate.h"
#include "log.h"
#include "notify.h"
#include "ops.h"
#include "quota.h"
#include "regions.h"
#include "session.h"
#include "store.h"

#define LOCK_NAME "xenstored.lock"

/* A lock file guarding a directory: fcntl-locked while we live, removed (still locked) as we go. */
struct dir_lock {
	int fd;
	char path[sizeof(cfg.run_dir) + sizeof(LOCK_NAME) + 1];
};

static struct dir_lock run_lock = {.fd = -1}, store_lock = {.fd = -1};
static int pid_fd = -1;
static int ready_fd = -1;      /* daemon mode: the pipe to the parent waiting for our verdict */
static bool made_run_dir;      /* this start created the run directory's last component */
static bool serving;           /* start-up is over */
static bool detached;          /* left the terminal: logging to syslog */
/* A live update's new daemon: what the old one handed over through exec (-1: none). */
static struct lu_fds handed = {-1, -1, -1, -1, false};

/* The pid holding a write lock on fd's file (fcntl, as lockf takes), 0 if none or unknown. */
static long lock_holder(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	return (long)fl.l_pid;
}

/* What a lock file says about its holder, for a holder in another pid namespace. */
static long pid_in_file(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static bool write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n;
}

/*
 * Lock dir's lock file. A holder removes the file before it lets go, so a
 * lock won on a file that is no longer at the path is worthless: try again.
 * -1 (logged) if a live daemon holds it or it cannot be made.
 */
static int dir_lock_take(struct dir_lock *l, const char *dir, const char *what, int inherited)
{
	if (inherited >= 0) {
		struct stat held, now;

		/* A live update: the lock the old daemon held, still ours (fcntl locks live through exec). */
		snprintf(l->path, sizeof(l->path), "%s/" LOCK_NAME, dir);
		if (fstat(inherited, &held) == 0 && stat(l->path, &now) == 0 && held.st_dev == now.st_dev &&
		    held.st_ino == now.st_ino) {
			l->fd = inherited;
			return 0;
		}
		close(inherited);
	}
	for (int tries = 0; tries < 10; tries++) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		struct stat held, now;
		long pid;

		snprintf(l->path, sizeof(l->path), "%s/" LOCK_NAME, dir);
		l->fd = open(l->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (l->fd < 0) {
			log_warn("cannot create the lock file %s", l->path);
			return -1;
		}
		if (fcntl(l->fd, F_SETLK, &fl) < 0) {
			if (errno != EACCES && errno != EAGAIN) {
				log_warn("cannot lock %s", l->path);
			} else {
				pid = lock_holder(l->fd);
				if (pid <= 0)
					pid = pid_in_file(l->fd);
				log_warnx("%s %s is in use by another xenstored (pid %ld, lock %s): not starting",
					  what, dir, pid, l->path);
			}
			close(l->fd);
			l->fd = -1;
			return -1;
		}
		if (fstat(l->fd, &held) == 0 && stat(l->path, &now) == 0 && held.st_dev == now.st_dev &&
		    held.st_ino == now.st_ino) {
			if (!write_pid(l->fd))
				log_warn("cannot write %s", l->path);
			return 0;
		}
		close(l->fd);
		l->fd = -1;
	}
	log_warnx("cannot lock %s: it keeps being replaced", dir);
	return -1;
}

static void dir_lock_release(struct dir_lock *l)
{
	if (l->fd < 0)
		return;
	unlink(l->path);
	close(l->fd);
	l->fd = -1;
}

/*
 * One daemon per run directory (its socket, simulated hypervisor, store) and
 * per store directory (the store and its log, wherever store-file puts
 * them). Taken before anything there is touched.
 */
static int lock_dirs(void)
{
	char store_dir[sizeof(cfg.store_file)];
	char *slash;
	struct stat a, b;

	if (dir_lock_take(&run_lock, cfg.run_dir, "run directory", handed.run_lock) < 0)
		return -1;
	snprintf(store_dir, sizeof(store_dir), "%s", cfg.store_file);
	slash = strrchr(store_dir, '/');
	if (!slash)
		snprintf(store_dir, sizeof(store_dir), ".");
	else if (slash == store_dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(store_dir, &a) == 0 && stat(cfg.run_dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	return dir_lock_take(&store_lock, store_dir, "store directory", handed.store_lock);
}

/* The pid of a live daemon holding the pid file, else 0. Creates and changes nothing. */
static long pid_file_holder(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long pid;

	if (fd < 0)
		return 0;
	pid = lock_holder(fd);
	close(fd);
	return pid;
}

/* Write and lock the pid file, the last step before "ready": it names a daemon that serves. */
static int write_pid_file(const char *path)
{
	if (handed.pid >= 0) {
		pid_fd = handed.pid; /* a live update: written and locked by this process before exec */
		return 0;
	}
	pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pid_fd < 0) {
		log_warn("cannot write the pid file %s", path);
		return -1;
	}
	if (lockf(pid_fd, F_TLOCK, 0) < 0) {
		log_warnx("pid file %s is held by pid %ld: not starting", path, lock_holder(pid_fd));
		close(pid_fd);
		pid_fd = -1;
		return -1;
	}
	if (!write_pid(pid_fd)) {
		log_warn("cannot write the pid file %s", path);
		return -1;
	}
	return 0;
}

/*
 * Whatever this daemon put in the file system, except the store: the
 * socket, the pid file, the locks (last), and the run directory if this
 * start made it and it is empty (after a failed start). Runs at every
 * exit: a failed start, a fatal error, a clean stop.
 */
static void remove_files(void)
{
	listener_close();
	if (pid_fd >= 0) {
		unlink(cfg.pid_file);
		close(pid_fd);
		pid_fd = -1;
	}
	dir_lock_release(&store_lock);
	dir_lock_release(&run_lock);
	if (made_run_dir && !serving)
		rmdir(cfg.run_dir);
}

/*
 * Daemon mode, before anything is opened: fork, start a session, fork again
 * (no controlling terminal can come back). The first process waits for the
 * daemon's verdict on a pipe and exits with it; a daemon that dies before
 * ready closes the pipe, which is a failure. Only the daemon returns.
 */
static void daemon_fork(void)
{
	int fds[2];
	pid_t p;
	unsigned char verdict;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		fatal("pipe");
	p = fork();
	if (p < 0)
		fatal("fork");
	if (p > 0) {
		close(fds[1]);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		do
			n = read(fds[0], &verdict, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? verdict : 1);
	}
	close(fds[0]);
	if (setsid() < 0)
		fatal("setsid");
	p = fork();
	if (p < 0)
		fatal("fork");
	if (p > 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal("chdir /");
	ready_fd = fds[1];
}

/* Serving: tell whoever waits, then, in daemon mode, let go of the terminal. */
static void report_ready(void)
{
	char msg[1200];
	unsigned char ok = 0;
	int null;

	serving = true;
	if (cfg.output_pid) {
		printf("%ld\n", (long)getpid());
		fflush(stdout);
	}
	/* MAINPID: in daemon mode the manager started our grandparent. */
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=serving %s", (long)getpid(), cfg.socket_path);
	if (notify_send(msg) < 0)
		log_warn("cannot tell the service manager we are ready ($NOTIFY_SOCKET)");
	if (ready_fd < 0)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	log_init(true, cfg.verbose);
	detached = true;
	if (write(ready_fd, &ok, 1) != 1)
		log_warn("cannot report to the starting process");
	close(ready_fd);
	ready_fd = -1;
}

/* The run directory and its parents; remembers whether the last one is ours, to remove after a failed start. */
static int make_run_dir(const char *dir)
{
	char buf[sizeof(cfg.run_dir)];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, 0755) == 0)
		made_run_dir = true;
	else if (errno != EEXIST) {
		log_warn("cannot create the run directory %s", dir);
		return -1;
	}
	return 0;
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

/*
 * Signals with a meaning: SIGTERM and SIGINT stop, SIGHUP reopens the trace
 * file (handled in the loop). Ignored: SIGPIPE (a client gone), SIGXFSZ (a
 * write past a file-size limit fails with EFBIG instead), SIGUSR1 and SIGUSR2
 * (unused; other xenstoreds give them meanings, so a stray one must not kill
 * the store). Any other keeps its default action.
 */
static void ignore_signals(void)
{
	static const int ignored[] = {SIGPIPE, SIGXFSZ, SIGUSR1, SIGUSR2};

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
}

static void stop_cb(evutil_socket_t sig, short what, void *base)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(base);
}

/* The store's background work (start-up, compaction): a slice per turn of the loop while there is some, else a look each second. */
/*
 * The loop, told not to read the clock at every turn to cache it: nothing
 * here asks the loop for its cached time (every timing decision reads
 * clock.h), and with no timer pending a turn then reads no clock at all.
 */
static struct event_base *loop_new(void)
{
	struct event_config *conf = event_config_new();
	struct event_base *base;

	if (!conf)
		return NULL;
	event_config_set_flag(conf, EVENT_BASE_FLAG_NO_CACHE_TIME);
	base = event_base_new_with_config(conf);
	event_config_free(conf);
	return base;
}

/*
 * The store's work in the background (start-up walk, compaction) goes in
 * turns: one at once after another while there is more (store_cb's own
 * timer), else one a second, from a timerfd (tick_cb). Not from a timer of
 * the loop's: with one pending, every wait for clients would carry a
 * timeout, which the kernel arms and disarms at each request.
 */
static void store_cb(evutil_socket_t fd, short what, void *ev)
{
	static const struct timeval next_turn = {0, 0};

	bool walking = !store_settled(), more;

	(void)fd;
	(void)what;
	more = store_background();
	/* Changes parked behind the start-up walk (dispatch.c) go on once it is over. */
	if (walking && store_settled())
		session_wake_deferred();
	if (more)
		evtimer_add(ev, &next_turn);
}

static void tick_cb(evutil_socket_t fd, short what, void *ev)
{
	uint64_t expirations;

	(void)what;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("the store's one-second timer");
	if (!evtimer_pending(ev, NULL))
		store_cb(-1, 0, ev);
}

/* The one-second tick of store_cb: a timerfd watched by the loop (NULL, logged, if none can be made). */
static struct event *tick_new(struct event_base *base, struct event *ev_store, int *fd)
{
	struct itimerspec every_second = {{1, 0}, {1, 0}};
	struct event *ev;

	*fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (*fd < 0 || timerfd_settime(*fd, 0, &every_second, NULL) < 0 ||
	    !(ev = event_new(base, *fd, EV_READ | EV_PERSIST, tick_cb, ev_store)) || event_add(ev, NULL) < 0)
		fatal("cannot set up the store's one-second timer");
	return ev;
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (cfg.trace_file[0] && log_trace_open(cfg.trace_file) < 0)
		log_warn("cannot reopen trace file %s", cfg.trace_file);
}

/* What a live update keeps of the layers above liveupdate.c: CONTROL stats' request counters. */
static const struct lu_keeper stats_keeper = {op_counts_pack, op_counts_unpack};

int main(int argc, char **argv)
{
	struct event_base *base;
	struct event *ev_term, *ev_int, *ev_hup, *ev_store, *ev_tick;
	int tick_fd;
	struct store_options sopt;
	const char *reason = "";
	long holder;
	int rc = config_load(argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 1; /* --help, --version; or a bad setting, already reported */
	if (cfg.live_update_format) {
		printf("%u\n", lu_format());
		return 0;
	}
	/* Until the daemon is ready, messages go to stderr: whoever started it sees why it failed. */
	log_init(false, cfg.verbose);
	ignore_signals();
	/* A live update: the same process, already started (no fork, no second-daemon check). */
	if (cfg.live_update && lu_load(&handed) && handed.detached) {
		log_init(true, cfg.verbose);
		detached = true;
	}
	if (!cfg.live_update && cfg.pid_file[0] && (holder = pid_file_holder(cfg.pid_file)) > 0) {
		log_info("already running as pid %ld (pid file %s): not starting another", holder, cfg.pid_file);
		return 0;
	}
	if (!cfg.no_fork && !cfg.live_update)
		daemon_fork();
	atexit(remove_files);
	raise_fd_limit();

	if (make_run_dir(cfg.run_dir) < 0 || lock_dirs() < 0)
		return 1;
	/* A socket another implementation listens on (no lock of ours there): refuse before opening the store. */
	if (handed.listen < 0 && listener_stale(cfg.socket_path) < 0) {
		if (errno == EADDRINUSE)
			log_warnx("another daemon serves %s: not starting", cfg.socket_path);
		else
			log_warn("cannot listen on %s", cfg.socket_path);
		return 1;
	}
	if (cfg.trace_file[0] && log_trace_open(cfg.trace_file) < 0)
		log_warn("cannot open trace file %s", cfg.trace_file);

	sopt.file = cfg.store_file;
	sopt.hash_size = cfg.hash_size;
	sopt.fresh = cfg.fresh_store;
	sopt.priv_domid = cfg.priv_domid;
	sopt.background = true;
	sopt.compact = cfg.compact;
	sopt.compact_min_free = cfg.compact_min_free;
	sopt.compact_min_percent = cfg.compact_min_percent;
	sopt.compact_slice_us = cfg.compact_slice_us;
	sopt.walk_slice_nodes = cfg.walk_slice_nodes;
	store_add_hook(&regions_hook, NULL);
	store_add_hook(&quota_store_hook, NULL);
	if (store_open(&sopt, &reason) != XSE_OK) {
		log_warnx("cannot open the store %s: %s", cfg.store_file, reason);
		return 1;
	}
	base = loop_new();
	if (!base)
		fatalx("cannot create the event loop");
	conn_init(base);
	quota_emergency_take(); /* the heap kept back for when allocations fail */
	conn_set_presend(store_flush); /* nothing is sent before the changes it tells of are in the log */
	store_cb(-1, 0, ev_store = evtimer_new(base, store_cb, event_self_cbarg()));
	ev_tick = tick_new(base, ev_store, &tick_fd);
	session_init(base, dispatch_request);
	/*
	 * Both log why they fail. The store is closed cleanly before exiting,
	 * so that the next start finds no crash to recover from.
	 */
	if (domain_init(base, (enum domain_hyp_choice)cfg.hypervisor) < 0) {
		store_close();
		return 1;
	}
	ev_term = evsignal_new(base, SIGTERM, stop_cb, base);
	ev_int = evsignal_new(base, SIGINT, stop_cb, base);
	ev_hup = evsignal_new(base, SIGHUP, hup_cb, NULL);
	if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0 || evsignal_add(ev_hup, NULL) < 0)
		fatalx("cannot install signal handlers");
	if ((handed.listen >= 0 ? listener_adopt(base, cfg.socket_path, handed.listen)
				: listener_open(base, cfg.socket_path)) < 0 ||
	    (cfg.pid_file[0] && write_pid_file(cfg.pid_file) < 0)) {
		listener_close();
		domain_fini();
		store_close();
		return 1;
	}
	lu_init(base, argc, argv, &stats_keeper);
	lu_restore();
	log_info("listening on %s, store %s", cfg.socket_path, cfg.store_file);
	report_ready();

	event_base_dispatch(base);
	while (lu_requested()) {
		struct lu_fds f = {run_lock.fd, store_lock.fd, pid_fd, listener_fd(), detached};

		if (!lu_save(&f)) {
			event_base_dispatch(base); /* the asker was told why: serve on */
			continue;
		}
		/* What a clean stop leaves, for the next binary to take up; the sockets stay open. */
		notify_send("RELOADING=1");
		domain_fini();
		store_close();
		log_trace_close();
		lu_exec();
		/* Neither binary could be started: stop; the domains are kept for the next start. */
		remove_files();
		return 1;
	}

	notify_send("STOPPING=1");
	listener_close();
	domain_fini();
	conn_close_all();
	session_fini();
	quota_fini();
	store_close();
	event_free(ev_store);
	event_free(ev_tick);
	close(tick_fd);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	log_trace_close();
	remove_files();
	return 0;
}

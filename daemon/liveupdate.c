/* Live update: CONTROL live-update's steps, the hand-over file, and the exec of the new binary. */
#include "liveupdate.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pack.h"
#include "quota.h"
#include "session.h"

/*
 * Unlike the C daemon, nothing waits: the store outlives the process, so
 * the hand-over is what a clean stop leaves (rings, their watches and what
 * is in flight on them, kept by domain.c and keep.c) plus what only lives
 * in memory: every socket (its descriptor, identity, watches, bytes in
 * flight), every transaction (a ring's too), the global quotas. The new
 * binary is execed in the same process, so descriptors and the pid stay;
 * it reads the file, takes the domains up as after a clean stop, then the
 * sessions, and answers the asker.
 */
#define LU_FORMAT 1u
#define LU_MAGIC "XSDLIVE"
#define LU_FILE "live-update"
#define LU_RESULT_ENV "XENSTORED_LIVE_UPDATE_RESULT"
/* How long the new binary may take to say which hand-over it reads. */
#define LU_PROBE_MS 5000

extern char **environ;

static struct {
	struct event_base *base;
	int argc;
	char **argv;
	/* A session begun with -f: whose (a connection's id), what to run. */
	bool active;
	uint64_t owner;
	char binary[1024];
	char *cmdline;
	/* -s taken: the loop is left, the asker's request answered by whoever serves next. */
	bool requested;
	uint32_t req_id, tx_id;
	/* The new daemon: the file as read, until lu_restore. */
	unsigned char *loaded;
	size_t loaded_len, sessions_at;
	uint32_t asker_req_id, asker_tx_id;
	const struct lu_keeper *above;
} lu;

unsigned lu_format(void)
{
	return LU_FORMAT;
}

void lu_init(struct event_base *base, int argc, char **argv, const struct lu_keeper *above)
{
	lu.above = above;
	lu.base = base;
	lu.argc = argc;
	lu.argv = argv;
}

static void lu_forget(void)
{
	free(lu.cmdline);
	lu.cmdline = NULL;
	lu.active = lu.requested = false;
	lu.binary[0] = '\0';
}

/*
 * Run the new binary with --live-update-format: it must answer with ours.
 * Catches a wrong path, a binary that cannot run here, an older one that
 * knows no live update, before anything is changed. Waits at most
 * LU_PROBE_MS (the loop with it: a binary that starts slowly is rare).
 */
static const char *probe(const char *binary)
{
	static char why[1200];
	char *argv[] = {(char *)binary, (char *)"--live-update-format", NULL};
	posix_spawn_file_actions_t fa;
	int p[2], status, err;
	pid_t pid;
	char out[32] = "";
	size_t have = 0;
	struct timespec t0, now;

	if (pipe2(p, O_CLOEXEC) < 0)
		return "cannot make a pipe";
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0); /* a binary that does not know the option says so at length */
	err = posix_spawn(&pid, binary, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (err) {
		close(p[0]);
		snprintf(why, sizeof(why), "cannot run %s: %s", binary, strerror(err));
		return why;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		long left;
		ssize_t n;

		int ready;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = LU_PROBE_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			kill(pid, SIGKILL); /* too slow, or poll failed: refused */
			break;
		}
		n = read(p[0], out + have, sizeof(out) - 1 - have);
		if (n <= 0 || (have += (size_t)n) == sizeof(out) - 1)
			break;
	}
	out[have] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strtoul(out, NULL, 10) != LU_FORMAT) {
		snprintf(why, sizeof(why), "%s cannot take over from this daemon (it reads hand-over format %s, this one writes %u)",
			 binary, out[0] ? strtok(out, "\n") : "none", LU_FORMAT);
		return why;
	}
	return NULL;
}

enum xs_err lu_control(struct session *s, uint32_t req_id, uint32_t tx_id, unsigned argc, const char *const *argv,
		       const char **text, bool *later)
{
	static char why[1200];
	const char *fault;

	*later = false;
	*text = "OK";
	if (argc == 0)
		return XSE_EINVAL;
	if (strcmp(argv[0], "-a") == 0 && argc == 1) {
		if (!lu.active)
			*text = "No live-update session active.";
		else if (lu.owner != session_id(s))
			*text = "Live-update session not started by this connection.";
		else
			lu_forget();
		return XSE_OK;
	}
	if (strcmp(argv[0], "-f") == 0 && argc == 2) {
		if (lu.active && lu.owner != session_id(s)) {
			*text = "live-update session already active.";
			return XSE_OK;
		}
		if (access(argv[1], X_OK) < 0 || strlen(argv[1]) >= sizeof(lu.binary)) {
			snprintf(why, sizeof(why), "cannot run %s: %s", argv[1],
				 strlen(argv[1]) >= sizeof(lu.binary) ? "path too long" : strerror(errno));
			*text = why;
			return XSE_OK;
		}
		lu_forget();
		lu.active = true;
		lu.owner = session_id(s);
		strcpy(lu.binary, argv[1]);
		return XSE_OK;
	}
	if (strcmp(argv[0], "-b") == 0 || strcmp(argv[0], "-d") == 0) {
		*text = "Not a stub domain: give the new binary's path (-f).";
		return XSE_OK;
	}
	if (strcmp(argv[0], "-c") == 0) {
		if (argc != 2)
			return XSE_EINVAL;
	} else if (strcmp(argv[0], "-s") == 0) {
		/* -t SECS, -F, -v VERSION: accepted; nothing here waits for transactions to end. */
		for (unsigned i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-F") == 0)
				continue;
			if ((strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "-v") == 0) && i + 1 < argc) {
				i++;
				continue;
			}
			return XSE_EINVAL;
		}
	} else {
		return XSE_EINVAL;
	}
	if (!lu.active || lu.owner != session_id(s)) {
		*text = lu.active ? "Live-update session not started by this connection." : "No live-update session active.";
		return XSE_OK;
	}
	if (argv[0][1] == 'c') {
		char *c = strdup(argv[1]);

		if (!c)
			return XSE_ENOMEM;
		free(lu.cmdline);
		lu.cmdline = c;
		return XSE_OK;
	}
	if ((fault = probe(lu.binary)) != NULL) {
		log_warnx("live update refused: %s", fault);
		*text = fault;
		return XSE_OK;
	}
	lu.requested = true;
	lu.req_id = req_id;
	lu.tx_id = tx_id;
	*later = true;
	log_info("live update to %s asked", lu.binary);
	event_base_loopbreak(lu.base);
	return XSE_OK;
}

bool lu_requested(void)
{
	return lu.requested;
}

static char *file_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/" LU_FILE, cfg.run_dir);
	return buf;
}

/* The asker's answer, by this daemon: the update did not happen. */
static void refuse(const char *why)
{
	struct session *s = session_by_id(lu.owner);

	log_warnx("live update failed: %s", why);
	if (s) {
		session_send(s, XS_CONTROL, lu.req_id, lu.tx_id, why, strlen(why) + 1);
		session_resume_input(s); /* held since -s (dispatch.c) */
	}
	lu_forget();
}

/* The locks', the pid file's and the listening socket's descriptors kept open across exec, or (undone) not. */
static bool held_across_exec(const struct lu_fds *fds, bool keep)
{
	const int held[] = {fds->run_lock, fds->store_lock, fds->pid, fds->listen};
	bool ok = true;

	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		if (held[i] >= 0 && fcntl(held[i], F_SETFD, keep ? 0 : FD_CLOEXEC) < 0) {
			ok = false;
			if (!keep)
				log_warn("live update undone: descriptor %d stays open across exec", held[i]);
		}
	return ok;
}

/* The hand-over could not be made: every descriptor is closed on exec again, as before -s. */
static void close_on_exec_again(const struct lu_fds *fds)
{
	held_across_exec(fds, false);
	session_pack_undone();
}

/*
 * After the sessions, what CONTROL shows and sets that is not the store's:
 * the trace classes, whether the trace file is open (CONTROL log off
 * closes it), and what the layer above keeps (lu_keeper: the request
 * counters of CONTROL stats). A trailer, so that a binary of the same
 * format without it reads the rest as before.
 */
#define LU_TRAILER 0x58534454u /* "TDSX" */

static void pack_trailer(struct pack *b)
{
	pack_u32(b, LU_TRAILER);
	pack_u32(b, log_trace_classes());
	pack_u32(b, log_tracing());
	if (lu.above)
		lu.above->pack(b);
}

static void unpack_trailer(struct unpack *r)
{
	uint32_t classes, tracing;

	if (r->p == r->end || unpack_u32(r) != LU_TRAILER)
		return;
	classes = unpack_u32(r);
	tracing = unpack_u32(r);
	if (r->bad)
		return;
	log_trace_classes_set(classes);
	if (!tracing)
		log_trace_close();
	if (lu.above && !lu.above->unpack(r))
		log_warnx("live update: the hand-over's counters cannot be read; they start again");
}

bool lu_save(const struct lu_fds *fds)
{
	char path[sizeof(cfg.run_dir) + 16], tmp[sizeof(path) + 8];
	struct pack b = {0};
	ssize_t n = 0;
	bool packed;
	int fd;

	pack_bytes(&b, LU_MAGIC, 8);
	pack_u32(&b, LU_FORMAT);
	pack_u32(&b, fds->detached);
	pack_u32(&b, (uint32_t)fds->run_lock);
	pack_u32(&b, (uint32_t)fds->store_lock);
	pack_u32(&b, (uint32_t)fds->pid);
	pack_u32(&b, (uint32_t)fds->listen);
	pack_u32(&b, lu.req_id);
	pack_u32(&b, lu.tx_id);
	pack_u32(&b, QUOTA_COUNT);
	for (unsigned q = 0; q < QUOTA_COUNT; q++)
		pack_u32(&b, quota_hard[q]);
	pack_u32(&b, quota_soft_memory);
	packed = held_across_exec(fds, true) && session_pack_all(&b, lu.owner);
	if (packed)
		pack_trailer(&b);
	if (!packed || b.oom) {
		pack_free(&b);
		close_on_exec_again(fds);
		refuse("out of memory for the hand-over");
		return false;
	}
	file_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		n = write(fd, b.p, b.len);
	if (fd < 0 || n != (ssize_t)b.len || close(fd) < 0 || rename(tmp, path) < 0) {
		static char why[1200];

		snprintf(why, sizeof(why), "cannot write %s: %s", path, n >= 0 ? strerror(errno) : "short write");
		if (fd >= 0)
			unlink(tmp);
		pack_free(&b);
		close_on_exec_again(fds);
		refuse(why);
		return false;
	}
	pack_free(&b);
	return true;
}

/* argv for the new binary: -c's words, else ours; without any -U of ours, then --live-update. */
static char **new_argv(const char *binary)
{
	size_t max = (size_t)lu.argc + 3 + (lu.cmdline ? strlen(lu.cmdline) : 0);
	char **v = calloc(max, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	v[n++] = (char *)binary;
	if (lu.cmdline) {
		for (char *w = strtok(lu.cmdline, " \t"); w; w = strtok(NULL, " \t"))
			v[n++] = w;
	} else {
		for (int i = 1; i < lu.argc; i++)
			if (strcmp(lu.argv[i], "-U") && strcmp(lu.argv[i], "--live-update"))
				v[n++] = lu.argv[i];
	}
	v[n++] = (char *)"--live-update";
	v[n] = NULL;
	return v;
}

void lu_exec(void)
{
	char **v = new_argv(lu.binary);
	char why[1200];

	log_info("live update: handing over to %s", lu.binary);
	/* Tests: XENSTORED_TEST_LU_EXEC_FAIL makes the exec of the new binary fail. */
	if (v && getenv("XENSTORED_TEST_LU_EXEC_FAIL"))
		errno = ENOEXEC;
	else if (v)
		execv(lu.binary, v);
	snprintf(why, sizeof(why), "cannot start %s: %s", lu.binary, v ? strerror(errno) : "out of memory");
	log_warnx("live update: %s; this daemon serves on", why);
	free(v);
	/* The old code takes everything back, as the new would have, and says why to the asker. */
	setenv(LU_RESULT_ENV, why, 1);
	free(lu.cmdline);
	lu.cmdline = NULL;
	v = new_argv("/proc/self/exe");
	if (v)
		execv("/proc/self/exe", v);
	log_warn("live update: cannot start this daemon again either");
	free(v);
}

/* What was read is no hand-over: forgotten, and nothing of it applied; the daemon starts as after a clean stop. */
static bool load_refused(struct lu_fds *fds, const char *path, const char *what)
{
	log_warnx("live update: %s %s: starting as after a clean stop", path, what);
	free(lu.loaded);
	lu.loaded = NULL;
	*fds = (struct lu_fds){-1, -1, -1, -1, false};
	return false;
}

bool lu_load(struct lu_fds *fds)
{
	char path[sizeof(cfg.run_dir) + 16];
	struct unpack r;
	struct stat st;
	int fd = open(file_path(path, sizeof(path)), O_RDONLY | O_CLOEXEC);
	uint32_t nq, hard[QUOTA_COUNT], soft;
	int *held[] = {&fds->run_lock, &fds->store_lock, &fds->pid, &fds->listen};

	*fds = (struct lu_fds){-1, -1, -1, -1, false};
	if (fd < 0 && errno == ENOENT) {
		/* No live update handed over here: -U given by hand, or in the wrong run directory. */
		log_warnx("--live-update: no hand-over at %s (the option is for a live update's new binary): not starting",
			  path);
		exit(1);
	}
	if (fd < 0)
		return load_refused(fds, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !(lu.loaded = malloc((size_t)st.st_size + 1)) ||
	    read(fd, lu.loaded, (size_t)st.st_size) != st.st_size) {
		close(fd);
		return load_refused(fds, path, "cannot be read whole");
	}
	close(fd);
	lu.loaded_len = (size_t)st.st_size;
	r = (struct unpack){lu.loaded, lu.loaded + lu.loaded_len, false};
	if (memcmp(unpack_bytes(&r, 8) ?: "", LU_MAGIC, 8) != 0 || unpack_u32(&r) != LU_FORMAT)
		return load_refused(fds, path, "is not a hand-over of this binary's format");
	fds->detached = unpack_u32(&r) != 0;
	fds->run_lock = (int)unpack_u32(&r);
	fds->store_lock = (int)unpack_u32(&r);
	fds->pid = (int)unpack_u32(&r);
	fds->listen = (int)unpack_u32(&r);
	lu.asker_req_id = unpack_u32(&r);
	lu.asker_tx_id = unpack_u32(&r);
	/* A binary with more quotas keeps its defaults for those the old one did not know. */
	memcpy(hard, quota_hard, sizeof(hard));
	nq = unpack_u32(&r);
	for (uint32_t q = 0; q < nq && !r.bad; q++) {
		uint32_t v = unpack_u32(&r);

		if (q < QUOTA_COUNT)
			hard[q] = v;
	}
	soft = unpack_u32(&r);
	if (r.bad)
		return load_refused(fds, path, "is cut short");
	memcpy(quota_hard, hard, sizeof(hard));
	quota_soft_memory = soft;
	/* Ours again: not handed to anything this daemon starts. */
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		if (*held[i] >= 0 && fcntl(*held[i], F_SETFD, FD_CLOEXEC) < 0)
			*held[i] = -1;
	lu.sessions_at = (size_t)(r.p - lu.loaded);
	return true;
}

void lu_restore(void)
{
	char path[sizeof(cfg.run_dir) + 16];
	const char *result = getenv(LU_RESULT_ENV);
	struct session *asker = NULL;
	struct unpack r;

	if (!lu.loaded)
		return;
	r = (struct unpack){lu.loaded + lu.sessions_at, lu.loaded + lu.loaded_len, false};
	if (!session_unpack_all(&r, &asker))
		log_warnx("live update: the hand-over's sessions are cut short; the rest were taken up");
	else
		unpack_trailer(&r);
	if (!result)
		result = "OK";
	if (asker)
		session_send(asker, XS_CONTROL, lu.asker_req_id, lu.asker_tx_id, result, strlen(result) + 1);
	log_info("live update: %s", strcmp(result, "OK") ? result : "taken over");
	unsetenv(LU_RESULT_ENV);
	unlink(file_path(path, sizeof(path)));
	free(lu.loaded);
	lu.loaded = NULL;
}

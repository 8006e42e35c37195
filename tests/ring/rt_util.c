/* Helpers of the ring and domain tests: failures in any process, daemons, guests, forked guests, raw ring I/O. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/xsl_transport.h"
#include "proto/simhyp.h"
#include "ring.h"

const char *rt_at_file = "?";
int rt_at_line;

/* Set in a forked guest: where its failure message goes. */
static struct rt_child *rt_self;

void rt_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rt_self) {
		snprintf(rt_self->msg, 1024, "guest pid %d: %s:%d (called from %s:%d): %s",
			 (int)getpid(), file, line, rt_at_file, rt_at_line, msg);
		_exit(1);
	}
	fflush(stdout); /* what the test printed so far, with its failure */
	ck_abort_msg("%s:%d (called from %s:%d): %s", file, line, rt_at_file, rt_at_line, msg);
	abort(); /* not reached: the Check test ends above */
}

double rt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void rt_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void rt_start(struct rt_daemon *rd, const char *const *extra_args)
{
	memset(rd, 0, sizeof(*rd));
	RT_CHECK(xst_daemon_start(&rd->d, XST_OURS, NULL, extra_args) == 0, "daemon did not start");
	snprintf(rd->simhyp, sizeof(rd->simhyp), "%s/%s", rd->d.dir, SIMHYP_SOCKET_NAME);
	/* The simulated hypervisor listens before the store socket does. */
	RT_CHECK(access(rd->simhyp, F_OK) == 0, "no simulated hypervisor socket at %s", rd->simhyp);
	rd->dom0 = rt_connect(rd);
}

void rt_start_conf(struct rt_daemon *rd, const char *settings)
{
	char conf[] = "/tmp/xst-ring-conf.XXXXXX";
	size_t len = strlen(settings);
	int fd = mkstemp(conf);

	RT_CHECK(fd >= 0, "mkstemp");
	RT_CHECK(write(fd, settings, len) == (ssize_t)len, "write conf");
	close(fd);
	rt_start(rd, RT_ARGS("-c", conf));
	unlink(conf);
}

/* SIGKILL and reap: 0, or -1. */
static int kill_pid(pid_t pid)
{
	int status;

	if (pid <= 0 || kill(pid, SIGKILL) < 0)
		return -1;
	return waitpid(pid, &status, 0) == pid ? 0 : -1;
}

void rt_restart(struct rt_daemon *rd)
{
	char dir[sizeof(rd->d.dir)];
	int status;

	xst_conn_close(rd->dom0);
	rd->dom0 = NULL;
	status = xst_daemon_stop(&rd->d, 1);
	RT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d", status);
	strcpy(dir, rd->d.dir);
	RT_CHECK(xst_daemon_start(&rd->d, XST_OURS, dir, NULL) == 0, "daemon did not restart");
	rd->d.own_dir = 1; /* still ours to remove */
	rd->dom0 = rt_connect(rd);
}

void rt_restart_keep_hyp_(struct rt_daemon *rd, bool kill)
{
	char dir[sizeof(rd->d.dir)];
	int status;

	xst_conn_close(rd->dom0);
	rd->dom0 = NULL;
	if (kill) {
		RT_CHECK(kill_pid(rd->d.pid) == 0, "cannot kill the daemon");
	} else {
		char cmd[700];

		status = xst_daemon_stop_keep_hyp(&rd->d);
		snprintf(cmd, sizeof(cmd), "cat %s/daemon.log >&2", rd->d.dir);
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && system(cmd) != 0)
			fprintf(stderr, "no daemon.log\n");
		RT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d (see its log above)",
			 status);
	}
	rd->d.pid = -1;
	strcpy(dir, rd->d.dir);
	RT_CHECK(xst_daemon_start(&rd->d, XST_OURS, dir, NULL) == 0, "daemon did not restart");
	rd->d.own_dir = 1; /* still ours to remove */
	rd->dom0 = rt_connect(rd);
}

struct xst_conn *rt_connect(const struct rt_daemon *rd)
{
	struct xst_conn *c = xst_conn_socket(rd->d.socket, RT_CALL_MS);

	RT_CHECK(c != NULL, "cannot connect to %s: %s", rd->d.socket, strerror(errno));
	return c;
}

void rt_stop(struct rt_daemon *rd)
{
	char cmd[700];
	int status, clean;

	xst_conn_close(rd->dom0);
	rd->dom0 = NULL;
	status = xst_daemon_stop(&rd->d, 1);
	clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!clean) {
		snprintf(cmd, sizeof(cmd), "cat %s/daemon.log >&2", rd->d.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "no daemon.log\n");
	}
	if (rd->d.own_dir) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", rd->d.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", rd->d.dir);
	}
	RT_CHECK(clean, "daemon exit status %d (see its log above)", status);
}

const char *rt_status(const struct xst_msg *m)
{
	if (m->hdr.type == XS_ERROR)
		return m->payload;
	if (m->hdr.len == 3 && memcmp(m->payload, "OK", 3) == 0)
		return "OK";
	return xs_type_name(m->hdr.type);
}

void rt_call_(struct xst_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
	      const char *const *args, struct xst_msg *reply)
{
	int err = xst_call(c, tx, type, raw_last, args, reply);

	RT_CHECK(err != -E2BIG, "payload too big");
	/* The library answers -EPROTO to a reply of another type than the request's. */
	RT_CHECK(err == 0, "no reply to %s %s: %s", xs_type_name(type), args[0] ? args[0] : "",
		 strerror(-err));
}

void rt_must_(struct xst_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
	      const char *const *args, const char *status)
{
	struct xst_msg m;

	rt_call_(c, type, tx, raw_last, args, &m);
	RT_CHECK(strcmp(rt_status(&m), status) == 0, "%s %s %s: got %s (payload '%s'), expected %s",
		 xs_type_name(type), args[0] ? args[0] : "", args[0] && args[1] ? args[1] : "",
		 rt_status(&m), m.payload, status);
}

void rt_write_(struct xst_conn *c, xsl_txn_t tx, const char *path, const char *value)
{
	rt_must_(c, XS_WRITE, tx, 1, (const char *const[]){path, value, NULL}, "OK");
}

void rt_read_is_(struct xst_conn *c, xsl_txn_t tx, const char *path, const char *value)
{
	struct xst_msg m;

	rt_call_(c, XS_READ, tx, 0, (const char *const[]){path, NULL}, &m);
	RT_CHECK(m.hdr.type == XS_READ, "READ %s: %s, expected '%s'", path, rt_status(&m), value);
	RT_CHECK(m.hdr.len == strlen(value) && memcmp(m.payload, value, m.hdr.len) == 0,
		 "READ %s: '%s', expected '%s'", path, m.payload, value);
}

void rt_answer_is_(struct xst_conn *c, uint32_t type, const char *arg, const void *bytes,
		   size_t len)
{
	struct xst_msg m;

	rt_call_(c, type, 0, 0, (const char *const[]){arg, NULL}, &m);
	RT_CHECK(m.hdr.type == type, "%s %s: %s", xs_type_name(type), arg, rt_status(&m));
	RT_CHECK(m.hdr.len == len && memcmp(m.payload, bytes, len) == 0,
		 "%s %s: '%.*s' (%u bytes), expected '%.*s'", xs_type_name(type), arg,
		 (int)m.hdr.len, m.payload, m.hdr.len, (int)len, (const char *)bytes);
}

const char *rt_perms_(struct xst_conn *c, const char *path, char *buf, size_t size)
{
	struct xst_msg m;
	size_t o = 0;

	rt_call_(c, XS_GET_PERMS, 0, 0, (const char *const[]){path, NULL}, &m);
	if (m.hdr.type == XS_ERROR) {
		snprintf(buf, size, "%s", m.payload);
		return buf;
	}
	buf[0] = '\0';
	for (uint32_t i = 0; i < m.hdr.len && o + 1 < size; i++) {
		char ch = m.payload[i];

		if (ch == '\0')
			ch = i + 1 < m.hdr.len ? ' ' : '\0';
		buf[o++] = ch;
	}
	buf[o < size ? o : size - 1] = '\0';
	return buf;
}

void rt_perms_are_(struct xst_conn *c, const char *path, const char *expected)
{
	char buf[512];

	rt_perms_(c, path, buf, sizeof(buf));
	RT_CHECK(strcmp(buf, expected) == 0, "GET_PERMS %s: '%s', expected '%s'", path, buf, expected);
}

xsl_txn_t rt_tx_start_(struct xst_conn *c)
{
	xsl_txn_t t;
	int err = xsl_txn_start(xst_conn_xsl(c), &t);

	RT_CHECK(err == 0, "TRANSACTION_START: %s", strerror(-err));
	return t;
}

/* The next event, of the watch named token, for path. */
static void expect_event(const struct xst_event *ev, const char *path, const char *token)
{
	RT_CHECK(!(ev->flags & XSL_EVENT_OVERFLOW), "watch %s overflowed", ev->name);
	RT_CHECK(strcmp(ev->path, path) == 0 && strcmp(ev->name, token) == 0,
		 "event '%s' of watch '%s', expected '%s' '%s'", ev->path, ev->name, path, token);
}

void rt_watch_(struct xst_conn *c, const char *path, const char *token, const char *depth)
{
	struct xst_event ev;
	int err = xst_watch(c, path, token, depth ? atoi(depth) : -1);

	RT_CHECK(err == 0, "WATCH %s %s: %s", path, token, strerror(-err));
	err = xst_event(c, &ev, RT_CALL_MS);
	RT_CHECK(err == 0, "no initial event for %s: %s", path, strerror(-err));
	expect_event(&ev, path, token);
}

void rt_event_(struct xst_conn *c, const char *path, const char *token)
{
	struct xst_event ev;
	int err = xst_event(c, &ev, RT_CALL_MS);

	RT_CHECK(err == 0, "no event %s %s: %s", path, token, strerror(-err));
	expect_event(&ev, path, token);
}

void rt_event_pair_(struct xst_conn *c, const char *path, const char *token1, const char *token2)
{
	struct xst_event ev[2];

	for (int i = 0; i < 2; i++) {
		RT_CHECK(xst_event(c, &ev[i], RT_CALL_MS) == 0, "no event %s (%s, %s)", path,
			 token1, token2);
		RT_CHECK(strcmp(ev[i].path, path) == 0, "event %s, expected %s", ev[i].path, path);
	}
	RT_CHECK((strcmp(ev[0].name, token1) == 0 && strcmp(ev[1].name, token2) == 0) ||
			 (strcmp(ev[0].name, token2) == 0 && strcmp(ev[1].name, token1) == 0),
		 "%s: tokens %s %s, expected %s and %s", path, ev[0].name, ev[1].name, token1,
		 token2);
}

void rt_no_event_(struct xst_conn *c, int ms)
{
	struct xst_event ev;
	int err = xst_event(c, &ev, ms);

	if (err == 0)
		RT_CHECK(0, "unexpected event '%s' of watch '%s'", ev.path, ev.name);
	RT_CHECK(err == -ETIMEDOUT, "waiting for no event: %s", strerror(-err));
}

long rt_stat_(struct xst_conn *priv, const char *name)
{
	struct xst_msg m;
	char key[64];
	const char *p;

	rt_call_(priv, XS_CONTROL, 0, 0, (const char *const[]){"stats", NULL}, &m);
	RT_CHECK(m.hdr.type == XS_CONTROL, "CONTROL stats: %s", rt_status(&m));
	snprintf(key, sizeof(key), "%s: ", name);
	for (p = m.payload; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, key, strlen(key)) == 0)
			return atol(p + strlen(key));
	}
	RT_CHECK(0, "no '%s' in CONTROL stats: %s", name, m.payload);
	return -1;
}

void rt_guest_register_(struct rt_guest *g, const struct rt_daemon *rd, uint32_t domid)
{
	int err;

	memset(g, 0, sizeof(*g));
	g->domid = domid;
	err = xsl_simdom_create(rd->simhyp, domid, &g->dom);
	RT_CHECK(err == 0, "cannot register domain %u: %s", domid, strerror(-err));
	g->ring = xsl_simdom_ring(g->dom, NULL, NULL);
}

void rt_guest_introduce_(struct rt_guest *g, struct xst_conn *priv)
{
	struct xsl *h = xst_conn_xsl(priv);
	struct xsl_perm owner = {g->domid, XSL_PERM_NONE};
	char home[32];
	int err;

	/* As a toolstack does: the home owned by the domain, then INTRODUCE with its store port. */
	snprintf(home, sizeof(home), "/local/domain/%u", g->domid);
	if ((err = xsl_mkdir(h, 0, home)) == 0 && (err = xsl_set_perms(h, 0, home, &owner, 1)) == 0)
		err = xsl_introduce(h, g->domid, 0, xsl_simdom_port(g->dom));
	RT_CHECK(err == 0, "introducing domain %u: %s", g->domid, strerror(-err));
	if (!g->c)
		g->c = xst_conn_ring(g->dom, RT_CALL_MS);
	RT_CHECK(g->c != NULL, "no ring client: %s", strerror(errno));
}

void rt_guest_up_(struct rt_guest *g, const struct rt_daemon *rd, uint32_t domid)
{
	struct xst_conn *priv = xst_conn_socket(rd->d.socket, RT_CALL_MS);

	RT_CHECK(priv != NULL, "cannot connect to the store socket");
	rt_guest_register_(g, rd, domid);
	rt_guest_introduce_(g, priv);
	xst_conn_close(priv);
}

void rt_guest_down(struct rt_guest *g)
{
	xst_conn_close(g->c);
	g->c = NULL;
	xsl_simdom_destroy(g->dom);
	g->dom = NULL;
	g->ring = NULL;
}

void rt_wait_gone_(struct xst_conn *priv, uint32_t domid)
{
	char id[16];
	double end = rt_now_ms() + RT_CALL_MS;
	struct xst_msg m;

	snprintf(id, sizeof(id), "%u", domid);
	for (;;) {
		rt_call_(priv, XS_IS_DOMAIN_INTRODUCED, 0, 0, (const char *const[]){id, NULL}, &m);
		RT_CHECK(m.hdr.type == XS_IS_DOMAIN_INTRODUCED, "IS_DOMAIN_INTRODUCED: %s",
			 rt_status(&m));
		if (strcmp(m.payload, "F") == 0)
			return;
		RT_CHECK(rt_now_ms() < end, "domain %u still introduced", domid);
		rt_sleep_ms(5);
	}
}

/* ---- forked guests ---- */

void rt_child_start(struct rt_child *ch, const struct rt_daemon *rd, rt_child_fn fn, void *arg)
{
	int down[2], up[2];

	memset(ch, 0, sizeof(*ch));
	ch->arg = arg;
	ch->rd = rd;
	ch->msg = mmap(NULL, 1024, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	RT_CHECK(ch->msg != MAP_FAILED, "mmap");
	ch->msg[0] = '\0';
	RT_CHECK(pipe2(down, O_CLOEXEC) == 0 && pipe2(up, O_CLOEXEC) == 0, "pipe");
	fflush(NULL);
	ch->pid = fork();
	RT_CHECK(ch->pid >= 0, "fork");
	if (ch->pid == 0) {
		/* A test that fails takes its guests with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(down[1]);
		close(up[0]);
		ch->in_child = down[0];
		ch->out_child = up[1];
		ch->to_child = ch->from_child = -1;
		rt_self = ch;
		_exit(fn(ch));
	}
	close(down[0]);
	close(up[1]);
	ch->to_child = down[1];
	ch->from_child = up[0];
	ch->in_child = ch->out_child = -1;
}

static void put_byte(int fd, char what)
{
	RT_CHECK(write(fd, &what, 1) == 1, "signal '%c': %s", what, strerror(errno));
}

static void get_byte(int fd, char what, const char *who)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char got;
	int r;

	do
		r = poll(&p, 1, 10000);
	while (r < 0 && errno == EINTR);
	RT_CHECK(r == 1, "no signal '%c' from %s within 10 s", what, who);
	RT_CHECK(read(fd, &got, 1) == 1, "%s went away before signal '%c'", who, what);
	RT_CHECK(got == what, "signal '%c' from %s, expected '%c'", got, who, what);
}

void rt_tell_(struct rt_child *ch, char what)
{
	put_byte(ch->to_child, what);
}

void rt_hear_(struct rt_child *ch, char what)
{
	struct pollfd p = {.fd = ch->from_child, .events = POLLIN};
	char got;
	int r;

	/* A guest that failed exits instead of signalling: report its message. */
	do
		r = poll(&p, 1, 10000);
	while (r < 0 && errno == EINTR);
	RT_CHECK(r == 1, "no signal '%c' from the guest within 10 s", what);
	r = (int)read(ch->from_child, &got, 1);
	RT_CHECK(r == 1, "guest ended before signal '%c': %s", what,
		 ch->msg[0] ? ch->msg : "(no message)");
	RT_CHECK(got == what, "signal '%c' from the guest, expected '%c'", got, what);
}

void rt_child_tell_(struct rt_child *ch, char what)
{
	put_byte(ch->out_child, what);
}

void rt_child_hear_(struct rt_child *ch, char what)
{
	get_byte(ch->in_child, what, "the test");
}

static void child_free(struct rt_child *ch)
{
	if (ch->to_child >= 0)
		close(ch->to_child);
	if (ch->from_child >= 0)
		close(ch->from_child);
	ch->to_child = ch->from_child = -1;
}

void rt_child_join_(struct rt_child *ch)
{
	int status = 0;
	double end = rt_now_ms() + 20000;
	pid_t r;

	while ((r = waitpid(ch->pid, &status, WNOHANG)) == 0 && rt_now_ms() < end)
		rt_sleep_ms(2);
	if (r == 0) {
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, &status, 0);
		RT_CHECK(0, "guest pid %d did not finish within 20 s", (int)ch->pid);
	}
	child_free(ch);
	RT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "guest pid %d: status %d: %s",
		 (int)ch->pid, status, ch->msg[0] ? ch->msg : "(no message)");
	munmap(ch->msg, 1024);
}

void rt_child_kill(struct rt_child *ch)
{
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
	child_free(ch);
	munmap(ch->msg, 1024);
}

/* ---- raw ring ---- */

void rt_raw_notify(struct xsl_simdom *d)
{
	xsl_simdom_notify(d);
}

void rt_raw_put_(struct xsl_simdom *d, const void *buf, size_t len, bool notify)
{
	struct xs_ring *r = xsl_simdom_ring(d, NULL, NULL);
	int n = xs_ring_produce(r->req, &r->req_cons, &r->req_prod, buf, len);

	RT_CHECK(n == (int)len, "only %d of %zu bytes fit in the request ring", n, len);
	if (notify)
		rt_raw_notify(d);
}

void rt_raw_stream_(struct xsl_simdom *d, const void *buf, size_t len)
{
	struct xs_ring *r = xsl_simdom_ring(d, NULL, NULL);
	const char *p = buf;
	double end = rt_now_ms() + RT_CALL_MS;

	while (len > 0) {
		int n = xs_ring_produce(r->req, &r->req_cons, &r->req_prod, p, len);

		RT_CHECK(n >= 0, "request ring indices corrupt");
		if (n > 0) {
			rt_raw_notify(d);
			p += n;
			len -= (size_t)n;
			continue;
		}
		RT_CHECK(rt_now_ms() < end, "the daemon does not take our request");
		rt_sleep_ms(1);
	}
}

void rt_raw_req_tx_(struct xsl_simdom *d, uint32_t type, uint32_t req_id, uint32_t tx_id,
		    const void *payload, size_t len, bool notify)
{
	unsigned char buf[XS_MSG_MAX];
	struct xs_header h = {type, req_id, tx_id, (uint32_t)len};

	xs_header_encode(&h, buf);
	memcpy(buf + XS_HEADER_SIZE, payload, len);
	rt_raw_put_(d, buf, XS_HEADER_SIZE + len, notify);
}

void rt_raw_req_(struct xsl_simdom *d, uint32_t type, uint32_t req_id, const void *payload,
		 size_t len, bool notify)
{
	rt_raw_req_tx_(d, type, req_id, 0, payload, len, notify);
}

/* Wait for the store's notification (up to ms) and clear it: whether one came. */
static bool raw_wait(struct xsl_simdom *d, int ms)
{
	int to_guest;
	uint64_t v;

	xsl_simdom_ring(d, NULL, &to_guest);
	struct pollfd pfd = {.fd = to_guest, .events = POLLIN};

	if (poll(&pfd, 1, ms) != 1)
		return false;
	if (read(to_guest, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return false;
	return true;
}

/* Wait until at least want bytes are pending in the response ring. */
static int wait_rsp(struct xsl_simdom *d, size_t want, double end)
{
	struct xs_ring *r = xsl_simdom_ring(d, NULL, NULL);

	for (;;) {
		int p = xs_ring_pending(&r->rsp_cons, &r->rsp_prod);

		RT_CHECK(p >= 0, "response ring indices corrupt");
		if ((size_t)p >= want)
			return 0;
		if (rt_now_ms() >= end)
			return -1;
		raw_wait(d, 5);
	}
}

int rt_raw_take(struct xsl_simdom *d, struct xst_msg *m, int timeout_ms)
{
	struct xs_ring *r = xsl_simdom_ring(d, NULL, NULL);
	double end = rt_now_ms() + timeout_ms;
	unsigned char hdr[XS_HEADER_SIZE];
	size_t got = 0;

	/* Replies bigger than the ring arrive piece by piece: take and notify as they come. */
	while (got < XS_HEADER_SIZE) {
		if (wait_rsp(d, 1, end) < 0)
			return -1;
		got += (size_t)xs_ring_consume(r->rsp, &r->rsp_cons, &r->rsp_prod, hdr + got,
					       XS_HEADER_SIZE - got);
		rt_raw_notify(d);
	}
	xs_header_decode(hdr, &m->hdr);
	RT_CHECK(m->hdr.len <= XS_PAYLOAD_MAX, "reply len %u", m->hdr.len);
	got = 0;
	while (got < m->hdr.len) {
		if (wait_rsp(d, 1, end) < 0)
			return -1;
		got += (size_t)xs_ring_consume(r->rsp, &r->rsp_cons, &r->rsp_prod, m->payload + got,
					       m->hdr.len - got);
		rt_raw_notify(d);
	}
	m->payload[m->hdr.len] = '\0';
	return 0;
}

int rt_raw_reconnect(struct xsl_simdom *d, int timeout_ms)
{
	struct xs_ring *r = xsl_simdom_ring(d, NULL, NULL);
	double end = rt_now_ms() + timeout_ms;

	xs_ring_store(&r->connection, XS_RING_RECONNECT);
	rt_raw_notify(d);
	while (xs_ring_load(&r->connection) != XS_RING_CONNECTED) {
		double left = end - rt_now_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		raw_wait(d, (int)left);
	}
	return 0;
}

void rt_quiesce_(struct xsl_simdom *d, struct xst_conn *priv)
{
	struct pollfd p = {.events = POLLIN};
	double end = rt_now_ms() + RT_CALL_MS;
	struct xst_msg m;

	xsl_simdom_ring(d, &p.fd, NULL);
	/* Our eventfd counter drops to 0 when the daemon reads it (and then serves the ring). */
	while (poll(&p, 1, 0) == 1) {
		RT_CHECK(rt_now_ms() < end, "the daemon does not take our notifications");
		rt_sleep_ms(1);
	}
	/* The ring is served in the same loop pass; a round trip on another connection follows it. */
	rt_call_(priv, XS_READ, 0, 0, (const char *const[]){"/", NULL}, &m);
	rt_call_(priv, XS_READ, 0, 0, (const char *const[]){"/", NULL}, &m);
}

bool rt_wait_error(struct xsl_simdom *d, uint32_t error, int ms)
{
	struct xs_ring *r = xsl_simdom_ring(d, NULL, NULL);
	double end = rt_now_ms() + ms;

	while (xs_ring_load(&r->error) != error) {
		if (rt_now_ms() >= end)
			return false;
		rt_sleep_ms(1);
	}
	return true;
}

long rt_rss(const struct rt_daemon *rd)
{
	long kb = xst_daemon_rss_kb(&rd->d);

	RT_CHECK(kb > 0, "cannot read the daemon's RSS");
	return kb;
}

double rt_probe_(struct xst_conn *c, const char *base, unsigned i)
{
	char path[256], val[32];
	double worst = 0, t;
	xsl_txn_t tx;

	snprintf(path, sizeof(path), "%s/probe", base);
	snprintf(val, sizeof(val), "%u", i);
	t = rt_now_ms();
	rt_write_(c, 0, path, val);
	worst = rt_now_ms() - t;
	t = rt_now_ms();
	rt_read_is_(c, 0, path, val);
	if (rt_now_ms() - t > worst)
		worst = rt_now_ms() - t;
	t = rt_now_ms();
	tx = rt_tx_start_(c);
	rt_write_(c, tx, path, "t");
	rt_must_(c, XS_TRANSACTION_END, tx, 0, (const char *const[]){"T", NULL}, "OK");
	if (rt_now_ms() - t > worst)
		worst = rt_now_ms() - t;
	return worst;
}

unsigned rt_drain_(struct xst_conn *c, const char *path, int ms)
{
	struct xst_event ev;
	unsigned n = 0;

	while (xst_event(c, &ev, ms) == 0) {
		RT_CHECK(!path || strcmp(ev.path, path) == 0, "unexpected event '%s'", ev.path);
		n++;
	}
	return n;
}

void rt_guest_here_(struct rt_guest *g, struct rt_daemon *rd, uint32_t domid)
{
	rt_guest_register_(g, rd, domid);
	rt_guest_introduce_(g, rd->dom0);
}

int rt_daemon_fds(const struct rt_daemon *rd)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)rd->d.pid);
	dir = opendir(path);
	RT_CHECK(dir != NULL, "cannot list %s", path);
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

int rt_daemon_ring_maps(const struct rt_daemon *rd)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)rd->d.pid);
	f = fopen(path, "r");
	RT_CHECK(f != NULL, "cannot read %s", path);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "simdom-memory")) /* a page of a simulated domain's memory: its ring */
			n++;
	fclose(f);
	return n;
}


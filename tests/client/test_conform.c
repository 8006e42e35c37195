/* Conformance over every transport against our daemon (the socket as dom0, the simulated ring and the fake device as a guest), and over the socket against the C xenstored 4.17. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "proto/simhyp.h"

/* CT_REF: dom0's socket, as CT_SOCKET, to the reference C xenstored (the library is not ours to excuse). */
enum { CT_SOCKET, CT_RING, CT_DEVICE, CT_REF, CT_KINDS };
static const char *const kind_name[CT_KINDS] = {"socket", "ring", "device", "C xenstored socket"};
/* The guest's domain on the ring and the device. */
#define CT_DOMID 7

/* One test's world: a daemon, a privileged helper connection, the handle under test. */
static struct {
	struct xst_daemon d;
	char simhyp[320];
	struct xsl *dom0;
	struct xsl *h;
	int kind;
	unsigned domid;
	char home[64];
	char base[96];
	struct xsl_simdom *dom;
	struct fake_xenbus *fx;
} ct;

#define OK(call) ck_assert_msg((call) == 0, "%s: %s: %s", kind_name[ct.kind], #call, strerror(-(call)))

static char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path(const char *fmt, ...)
{
	static char bufs[8][320];
	static unsigned next;
	char *b = bufs[next++ % 8], rest[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(b, 320, "%s%s", ct.base, rest);
	return b;
}

static struct xsl *open_socket(unsigned flags)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = ct.d.socket, .flags = flags,
				  .timeout_ms = CT_WAIT_MS};
	struct xsl *h;

	OK(xsl_open(&h, &o));
	return h;
}

static void daemon_start(const char *dir)
{
	/* A guest may write 4096-byte payloads here: the node-size quota (2048) off. */
	static const char *const args[] = {"-S", "0", NULL};
	enum xst_kind kind = ct.kind == CT_REF ? XST_REF_C : XST_OURS;

	ck_assert_int_eq(xst_daemon_start(&ct.d, kind, dir, kind == XST_OURS ? args : NULL), 0);
	snprintf(ct.simhyp, sizeof(ct.simhyp), "%s/%s", ct.d.dir, SIMHYP_SOCKET_NAME);
	ct.dom0 = open_socket(0);
}

static void daemon_stop(bool keep)
{
	int status;

	xsl_close(ct.dom0);
	ct.dom0 = NULL;
	status = xst_daemon_stop(&ct.d, keep);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "daemon exit status %d (log in %s)", status, ct.d.dir);
}

/* Whether the handle under test is dom0's socket (to ours or to the reference). */
static bool is_socket(void)
{
	return ct.kind == CT_SOCKET || ct.kind == CT_REF;
}

/* Start a daemon and open the handle of the given kind, acting for its identity. */
static bool up(int kind, unsigned flags, bool old_kernel)
{
	struct xsl_perm own = {CT_DOMID, XSL_PERM_NONE};

	if (kind == CT_REF && !xst_kind_available(XST_REF_C)) {
		const char *req = getenv("XS_REQUIRE_REFERENCE");

		ck_assert_msg(!req || strcmp(req, "1") != 0, "the reference C xenstored is missing");
		fprintf(stderr, "conform: the reference C xenstored is not installed: skipped\n");
		return false;
	}
	memset(&ct, 0, sizeof(ct));
	ct.kind = kind;
	ct.domid = is_socket() ? 0 : CT_DOMID;
	daemon_start(NULL);
	snprintf(ct.home, sizeof(ct.home), "/local/domain/%u", ct.domid);
	snprintf(ct.base, sizeof(ct.base), "%s/ct", ct.home);
	OK(xsl_mkdir(ct.dom0, 0, ct.home));
	if (!is_socket())
		OK(xsl_set_perms(ct.dom0, 0, ct.home, &own, 1));
	switch (kind) {
	case CT_SOCKET:
	case CT_REF:
		ct.h = open_socket(flags);
		break;
	case CT_RING: {
		struct xsl_open_opts o = {.transport = XSL_TR_SIMRING, .flags = flags,
					  .timeout_ms = CT_WAIT_MS};

		OK(xsl_simdom_create(ct.simhyp, CT_DOMID, &ct.dom));
		OK(xsl_introduce(ct.dom0, CT_DOMID, 0, 1));
		o.simdom = ct.dom;
		OK(xsl_open(&ct.h, &o));
		break;
	}
	case CT_DEVICE: {
		struct xsl_open_opts o = {.transport = XSL_TR_XENBUS, .flags = flags | XSL_OPEN_USE_FD,
					  .timeout_ms = CT_WAIT_MS};

		OK(fake_xenbus_start(ct.d.socket, CT_DOMID, old_kernel, &o.fd, &ct.fx));
		OK(xsl_open(&ct.h, &o));
		break;
	}
	}
	OK(xsl_mkdir(ct.h, 0, ct.base));
	return true;
}

static void down(void)
{
	unsigned violations;

	OK(xsl_close(ct.h));
	violations = fake_xenbus_stop(ct.fx);
	ck_assert_uint_eq(violations, 0);
	xsl_simdom_destroy(ct.dom);
	daemon_stop(false);
}

static void must_read(struct xsl *h, xsl_txn_t t, const char *p, const char *want)
{
	char *v = NULL;
	size_t len;
	int err = xsl_read(h, t, p, &v, &len);

	ck_assert_msg(err == 0, "%s: read %s: %s", kind_name[ct.kind], p, strerror(-err));
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(v, want);
	free(v);
}

static void write_str(struct xsl *h, xsl_txn_t t, const char *p, const char *v)
{
	int err = xsl_write(h, t, p, v, strlen(v));

	ck_assert_msg(err == 0, "%s: write %s: %s", kind_name[ct.kind], p, strerror(-err));
}

/* A number from the daemon's CONTROL stats. */
static long stat_of(const char *name)
{
	const char *args[] = {"stats", NULL};
	char *text, *at;
	long v = -1;

	OK(xsl_control(ct.dom0, args, &text, NULL));
	if ((at = strstr(text, name)))
		v = atol(at + strlen(name) + 2);
	free(text);
	return v;
}

/* Every transaction was ended: our daemon counts them (the reference has no stats to ask). */
static void no_transaction_left(void)
{
	if (ct.kind != CT_REF)
		ck_assert_int_eq(stat_of("transactions"), 0);
}

static struct {
	int calls, err;
	char value[32];
} async_rec;

static void async_done(struct xsl *h, int err, const char *reply, size_t len, void *arg)
{
	(void)h;
	(void)arg;
	async_rec.calls++;
	async_rec.err = err;
	if (!err)
		snprintf(async_rec.value, sizeof(async_rec.value), "%.*s", (int)len, reply);
}

START_TEST(nodes)
{
	char *v;
	size_t len;

	if (!up(_i, 0, false))
		return;
	write_str(ct.h, 0, path("/a"), "hello");
	must_read(ct.h, 0, path("/a"), "hello");
	OK(xsl_write(ct.h, 0, path("/empty"), NULL, 0));
	must_read(ct.h, 0, path("/empty"), "");
	OK(xsl_write(ct.h, 0, path("/bin"), "a\0b", 3));
	OK(xsl_read(ct.h, 0, path("/bin"), &v, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(v, "a\0b", 4), 0);
	free(v);
	OK(xsl_mkdir(ct.h, 0, path("/d")));
	OK(xsl_mkdir(ct.h, 0, path("/d")));
	ck_assert_int_eq(xsl_exists(ct.h, 0, path("/d")), 1);
	ck_assert_int_eq(xsl_exists(ct.h, 0, path("/nope")), 0);
	/* Relative to the connection's home. */
	write_str(ct.h, 0, "ct/rel", "r");
	must_read(ct.h, 0, path("/rel"), "r");
	OK(xsl_rm(ct.h, 0, path("/a")));
	ck_assert_int_eq(xsl_read(ct.h, 0, path("/a"), &v, NULL), -ENOENT);
	ck_assert_int_eq(xsl_rm(ct.h, 0, path("/x/y")), -ENOENT);
	ck_assert_int_eq(xsl_read(ct.h, 0, "@releaseDomain", &v, NULL), -EINVAL);
	/* Without waiting: the callback runs from the pump. */
	OK(xsl_request_async(ct.h, 0, XS_READ, path("/rel"), strlen(path("/rel")) + 1, async_done, NULL));
	for (long long end = ct_now_ms() + CT_WAIT_MS; !async_rec.calls && ct_now_ms() < end;)
		ck_assert_int_ge(xsl_pump(ct.h, 100), 0);
	ck_assert_int_eq(async_rec.calls, 1);
	ck_assert_str_eq(async_rec.value, "r");
	down();
}
END_TEST

START_TEST(directory)
{
	char **names;
	unsigned n;

	if (!up(_i, 0, false))
		return;
	OK(xsl_mkdir(ct.h, 0, path("/dir/c")));
	OK(xsl_mkdir(ct.h, 0, path("/dir/a")));
	OK(xsl_mkdir(ct.h, 0, path("/dir/b")));
	OK(xsl_directory(ct.h, 0, path("/dir"), &names, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "c");
	ck_assert_str_eq(names[1], "a");
	ck_assert_str_eq(names[2], "b");
	ck_assert_ptr_null(names[3]);
	free(names);
	OK(xsl_directory(ct.h, 0, path("/dir/a"), &names, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(names[0]);
	free(names);
	ck_assert_int_eq(xsl_directory(ct.h, 0, path("/none"), &names, &n), -ENOENT);
	down();
}
END_TEST

/* Over 4096 bytes of names: read in parts, whole and in order. */
START_TEST(big_directory)
{
	enum { N = 300 };
	char **names, want[32];
	unsigned n;
	xsl_txn_t t;

	if (!up(_i, 0, false))
		return;
	/* Made by dom0: a guest's node-size quota would not let it grow this big. */
	OK(xsl_txn_start(ct.dom0, &t));
	for (int i = 0; i < N; i++)
		OK(xsl_mkdir(ct.dom0, t, path("/big/child-name-%04d", i)));
	OK(xsl_txn_end(ct.dom0, t, 1));
	OK(xsl_directory(ct.h, 0, path("/big"), &names, &n));
	ck_assert_uint_eq(n, N);
	for (int i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "child-name-%04d", i);
		ck_assert_str_eq(names[i], want);
	}
	free(names);
	down();
}
END_TEST

START_TEST(permissions)
{
	struct xsl_perm set[2] = {{ct.domid, XSL_PERM_NONE}, {3, XSL_PERM_READ}}, *got;
	struct xsl_perm priv = {0, XSL_PERM_NONE};
	unsigned n;
	char *v;

	if (!up(_i, 0, false))
		return;
	set[0].domid = ct.domid;
	OK(xsl_get_perms(ct.h, 0, ct.base, &got, &n));
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(got[0].domid, ct.domid);
	free(got);
	OK(xsl_mkdir(ct.h, 0, path("/p")));
	OK(xsl_set_perms(ct.h, 0, path("/p"), set, 2));
	OK(xsl_get_perms(ct.h, 0, path("/p"), &got, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(got[0].domid, ct.domid);
	ck_assert_uint_eq(got[0].access, XSL_PERM_NONE);
	ck_assert_uint_eq(got[1].domid, 3);
	ck_assert_uint_eq(got[1].access, XSL_PERM_READ);
	free(got);
	/* 4.17 gives no permissions of the special nodes (EINVAL); ours does, as Xen's later daemons. */
	if (ct.kind != CT_REF) {
		OK(xsl_get_perms(ct.h, 0, "@releaseDomain", &got, &n));
		free(got);
	}
	/* A node only dom0 may read. */
	write_str(ct.dom0, 0, "/ctpriv", "secret");
	OK(xsl_set_perms(ct.dom0, 0, "/ctpriv", &priv, 1));
	if (is_socket()) {
		must_read(ct.h, 0, "/ctpriv", "secret");
	} else {
		ck_assert_int_eq(xsl_read(ct.h, 0, "/ctpriv", &v, NULL), -EACCES);
		/* A guest may not give its node away. */
		ck_assert_int_eq(xsl_set_perms(ct.h, 0, path("/p"), &priv, 1), -EPERM);
		ck_assert_int_eq(xsl_is_introduced(ct.h, CT_DOMID), -EACCES);
	}
	down();
}
END_TEST

/* Payloads up to 4096 bytes go; one more is refused before sending; the connection carries on. */
START_TEST(payload_limits)
{
	char *p, *value, *v;
	size_t vlen, len;
	char *longp = malloc(XSL_ABS_PATH_MAX + 2);

	if (!up(_i, 0, false))
		return;
	p = path("/big");
	vlen = XSL_PAYLOAD_MAX - strlen(p) - 1;
	value = malloc(vlen + 2);
	for (size_t i = 0; i < vlen + 1; i++)
		value[i] = (char)('a' + i % 26);
	OK(xsl_write(ct.h, 0, p, value, vlen));
	OK(xsl_read(ct.h, 0, p, &v, &len));
	ck_assert_uint_eq(len, vlen);
	ck_assert_int_eq(memcmp(v, value, vlen), 0);
	free(v);
	ck_assert_int_eq(xsl_write(ct.h, 0, p, value, vlen + 1), -E2BIG);
	longp[0] = '/';
	memset(longp + 1, 'x', XSL_ABS_PATH_MAX);
	longp[XSL_ABS_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(xsl_read(ct.h, 0, longp, &v, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(xsl_write(ct.h, 0, "/bad path", "x", 1), -EINVAL);
	ck_assert_int_eq(xsl_exists(ct.h, 0, p), 1); /* still connected */
	free(value);
	free(longp);
	down();
}
END_TEST

START_TEST(transactions)
{
	xsl_txn_t t;
	char *v;

	if (!up(_i, 0, false))
		return;
	OK(xsl_txn_start(ct.h, &t));
	write_str(ct.h, t, path("/t"), "1");
	must_read(ct.h, t, path("/t"), "1");
	ck_assert_int_eq(xsl_read(ct.h, 0, path("/t"), &v, NULL), -ENOENT);
	OK(xsl_txn_end(ct.h, t, 1));
	must_read(ct.h, 0, path("/t"), "1");
	/* Aborted: nothing happened. */
	OK(xsl_txn_start(ct.h, &t));
	write_str(ct.h, t, path("/t2"), "x");
	OK(xsl_txn_end(ct.h, t, 0));
	ck_assert_int_eq(xsl_read(ct.h, 0, path("/t2"), &v, NULL), -ENOENT);
	/* A conflict: read in the transaction, changed outside, commit refused. */
	OK(xsl_txn_start(ct.h, &t));
	must_read(ct.h, t, path("/t"), "1");
	write_str(ct.dom0, 0, path("/t"), "2");
	write_str(ct.h, t, path("/t"), "3");
	ck_assert_int_eq(xsl_txn_end(ct.h, t, 1), -EAGAIN);
	must_read(ct.h, 0, path("/t"), "2");
	no_transaction_left();
	down();
}
END_TEST

struct counter {
	int attempts;
	int fail_with;   /* fn returns this (after its writes) */
	bool interfere;  /* dom0 changes the counter during the first attempt */
};

static int increment(struct xsl *h, xsl_txn_t t, void *arg)
{
	struct counter *c = arg;
	char *v, buf[16];
	int err;

	c->attempts++;
	if ((err = xsl_read(h, t, path("/cnt"), &v, NULL)) < 0)
		return err;
	snprintf(buf, sizeof(buf), "%d", atoi(v) + 1);
	free(v);
	if (c->interfere && c->attempts == 1)
		write_str(ct.dom0, 0, path("/cnt"), "10");
	if ((err = xsl_write(h, t, path("/cnt"), buf, strlen(buf))) < 0)
		return err;
	return c->fail_with;
}

START_TEST(transaction_retry_helper)
{
	struct counter c = {0, 0, true};

	if (!up(_i, 0, false))
		return;
	write_str(ct.h, 0, path("/cnt"), "0");
	/* Conflicted once, committed the second time, on the value dom0 left. */
	OK(xsl_txn_run(ct.h, increment, &c, 0));
	ck_assert_int_eq(c.attempts, 2);
	must_read(ct.h, 0, path("/cnt"), "11");
	/* An error from the body: aborted, returned, nothing left open. */
	c = (struct counter){0, -ENOSPC, false};
	ck_assert_int_eq(xsl_txn_run(ct.h, increment, &c, 0), -ENOSPC);
	ck_assert_int_eq(c.attempts, 1);
	must_read(ct.h, 0, path("/cnt"), "11");
	/* Always EAGAIN: bounded. */
	c = (struct counter){0, -EAGAIN, false};
	ck_assert_int_eq(xsl_txn_run(ct.h, increment, &c, 3), -EAGAIN);
	ck_assert_int_eq(c.attempts, 3);
	must_read(ct.h, 0, path("/cnt"), "11");
	no_transaction_left();
	down();
}
END_TEST

START_TEST(watch_events_and_depth)
{
	struct ct_events e = {0}, d = {0}, r = {0};
	struct xsl_watch_opts depth1 = {.depth = 1};
	struct xsl_watch *w, *wd, *wr;

	if (!up(_i, 0, false))
		return;
	OK(xsl_watch(ct.h, path("/w"), NULL, ct_record, &e, &w));
	ck_assert_ptr_nonnull(xsl_watch_token(w));
	ck_assert_str_eq(xsl_watch_path(w), path("/w"));
	ct_pump_for(ct.h, &e, 1);
	ck_assert_str_eq(e.path[0], path("/w")); /* the initial event */
	write_str(ct.h, 0, path("/w/x"), "1");
	ct_pump_for(ct.h, &e, 2);
	ck_assert_str_eq(e.path[1], path("/w/x"));
	/* Depth 1: the node and its children, not grandchildren (the store's or ours on the device). */
	OK(xsl_watch(ct.h, path("/d"), &depth1, ct_record, &d, &wd));
	ct_pump_for(ct.h, &d, 1);
	write_str(ct.h, 0, path("/d/x/y"), "deep");
	write_str(ct.h, 0, path("/d/z"), "near");
	ct_pump_for(ct.h, &d, 2);
	ck_assert_str_eq(d.path[1], path("/d/z"));
	/* A relative watch gets relative paths. */
	OK(xsl_watch(ct.h, "ct/rw", NULL, ct_record, &r, &wr));
	ct_pump_for(ct.h, &r, 1);
	ck_assert_str_eq(r.path[0], "ct/rw");
	write_str(ct.h, 0, path("/rw/x"), "1");
	ct_pump_for(ct.h, &r, 2);
	ck_assert_str_eq(r.path[1], "ct/rw/x");
	ck_assert_uint_eq(ct_pump_quiet(ct.h, &d, 200), 0);
	ck_assert_uint_eq(d.n, 2);
	OK(xsl_unwatch(ct.h, w));
	OK(xsl_unwatch(ct.h, wd));
	OK(xsl_unwatch(ct.h, wr));
	down();
}
END_TEST

START_TEST(unwatch_purges)
{
	struct ct_events e = {0};
	struct xsl_watch *w;
	struct xsl_stats st;

	if (!up(_i, 0, false))
		return;
	OK(xsl_watch(ct.h, path("/u"), NULL, ct_record, &e, &w));
	ct_pump_for(ct.h, &e, 1);
	/* These events arrive during the writes and wait in the queue: nobody pumps. */
	for (int i = 0; i < 5; i++)
		write_str(ct.h, 0, path("/u/%d", i), "v");
	OK(xsl_unwatch(ct.h, w));
	ck_assert_uint_eq(ct_pump_quiet(ct.h, &e, 300), 0);
	xsl_stats(ct.h, &st);
	ck_assert_uint_eq(st.watches, 0);
	down();
}
END_TEST

START_TEST(overflow_then_reread)
{
	struct xsl_watch_opts small = {.depth = -1, .max_pending = 4};
	struct ct_events e = {0};
	struct xsl_watch *w;
	struct xsl_stats st;
	char **names;
	unsigned n;

	if (!up(_i, 0, false))
		return;
	OK(xsl_watch(ct.h, path("/o"), &small, ct_record, &e, &w));
	ct_pump_for(ct.h, &e, 1);
	for (int i = 0; i < 20; i++)
		write_str(ct.h, 0, path("/o/%d", i), "v");
	ct_pump_for(ct.h, &e, 2);
	ck_assert_uint_eq(ct_pump_quiet(ct.h, &e, 200), 0);
	/* Twenty changes, one event: re-read the subtree. */
	ck_assert_uint_eq(e.n, 2);
	ck_assert_uint_eq(e.flags[1], XSL_EVENT_OVERFLOW);
	ck_assert_str_eq(e.path[1], path("/o"));
	OK(xsl_directory(ct.h, 0, path("/o"), &names, &n));
	ck_assert_uint_eq(n, 20);
	free(names);
	xsl_stats(ct.h, &st);
	ck_assert_uint_eq(st.overflows, 1);
	/* And back to normal. */
	write_str(ct.h, 0, path("/o/new"), "v");
	ct_pump_for(ct.h, &e, 3);
	ck_assert_uint_eq(e.flags[2], 0);
	ck_assert_str_eq(e.path[2], path("/o/new"));
	OK(xsl_unwatch(ct.h, w));
	down();
}
END_TEST

struct cbstate {
	struct ct_events ev;
	char value[32];
	int read_err;
	struct xsl_watch *self;
	bool unwatch_self;
	int unwatch_err;
};

/* A callback that makes blocking calls: a read, and maybe its own unwatch. */
static void reading_cb(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct cbstate *s = arg;
	char *v;

	ct_record(h, w, ev, &s->ev);
	if (strcmp(ev->path, path("/cb/v")) == 0) {
		s->read_err = xsl_read(h, 0, ev->path, &v, NULL);
		if (!s->read_err) {
			snprintf(s->value, sizeof(s->value), "%s", v);
			free(v);
		}
		if (s->unwatch_self)
			s->unwatch_err = xsl_unwatch(h, w);
		ck_assert_int_eq(xsl_close(h), -EDEADLK);
	}
}

START_TEST(callbacks_may_block)
{
	struct cbstate s = {0};

	if (!up(_i, 0, false))
		return;
	s.unwatch_self = true;
	OK(xsl_watch(ct.h, path("/cb"), NULL, reading_cb, &s, &s.self));
	ct_pump_for(ct.h, &s.ev, 1);
	write_str(ct.h, 0, path("/cb/v"), "z");
	ct_pump_for(ct.h, &s.ev, 2);
	ck_assert_int_eq(s.read_err, 0);
	ck_assert_str_eq(s.value, "z");
	ck_assert_int_eq(s.unwatch_err, 0);
	write_str(ct.h, 0, path("/cb/after"), "z");
	ck_assert_uint_eq(ct_pump_quiet(ct.h, &s.ev, 300), 0);
	down();
}
END_TEST

struct slow {
	struct xsl *h;
	volatile int started, finished;
	volatile bool stop;
};

static void slow_cb(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct slow *s = arg;

	(void)h;
	(void)w;
	if (strcmp(ev->path, path("/slow/go")) != 0)
		return;
	__atomic_store_n(&s->started, 1, __ATOMIC_SEQ_CST);
	ct_sleep_ms(400);
	__atomic_store_n(&s->finished, 1, __ATOMIC_SEQ_CST);
}

static void *pump_thread(void *arg)
{
	struct slow *s = arg;

	while (!s->stop)
		xsl_pump(s->h, 50);
	return NULL;
}

/* Unwatch from another thread returns only once the running callback has. */
START_TEST(unwatch_waits_for_callback)
{
	struct slow s = {0};
	struct xsl_watch *w;
	pthread_t t;

	if (!up(_i, 0, false))
		return;
	s.h = ct.h;
	OK(xsl_watch(ct.h, path("/slow"), NULL, slow_cb, &s, &w));
	ck_assert_int_eq(pthread_create(&t, NULL, pump_thread, &s), 0);
	write_str(ct.h, 0, path("/slow/go"), "1");
	for (long long end = ct_now_ms() + CT_WAIT_MS; !__atomic_load_n(&s.started, __ATOMIC_SEQ_CST);)
		ck_assert(ct_now_ms() < end);
	OK(xsl_unwatch(ct.h, w));
	ck_assert_int_eq(__atomic_load_n(&s.finished, __ATOMIC_SEQ_CST), 1);
	s.stop = true;
	pthread_join(t, NULL);
	down();
}
END_TEST

struct worker {
	pthread_t t;
	int id, err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 40 && !w->err; i++) {
		char p[128], v[32], *got;

		snprintf(p, sizeof(p), "%s/th/%d/%d", ct.base, w->id, i);
		snprintf(v, sizeof(v), "%d-%d", w->id, i);
		if ((w->err = xsl_write(ct.h, 0, p, v, strlen(v))) < 0)
			break;
		if ((w->err = xsl_read(ct.h, 0, p, &got, NULL)) < 0)
			break;
		if (strcmp(got, v) != 0)
			w->err = -EBADMSG;
		free(got);
	}
	return NULL;
}

/* Many threads through one handle: requests multiplexed, every answer to its asker. */
START_TEST(threads_share_a_handle)
{
	struct worker w[6];

	if (!up(_i, 0, false))
		return;
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){.id = i};
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(w[i].t, NULL);
		ck_assert_msg(w[i].err == 0, "worker %d: %s", i, strerror(-w[i].err));
	}
	down();
}
END_TEST

/* Watches come back after the connection does: the socket after a daemon restart, the ring by its reconnection feature. */
START_TEST(reconnection_replays_watches)
{
	struct ct_events e = {0};
	struct xsl_watch *w;
	struct xsl_stats st;
	xsl_txn_t t;
	char *v;

	if (!up(_i, XSL_OPEN_RECONNECT, false))
		return;
	write_str(ct.h, 0, path("/r"), "");
	OK(xsl_watch(ct.h, path("/r"), NULL, ct_record, &e, &w));
	ct_pump_for(ct.h, &e, 1);
	OK(xsl_txn_start(ct.h, &t));
	if (ct.kind == CT_DEVICE) {
		/* The kernel owns the device's connection. */
		ck_assert_int_eq(xsl_reconnect(ct.h), -EOPNOTSUPP);
		OK(xsl_txn_end(ct.h, t, 0));
		down();
		return;
	}
	if (is_socket()) {
		char dir[sizeof(ct.d.dir)];

		snprintf(dir, sizeof(dir), "%s", ct.d.dir);
		daemon_stop(true);
		/* The loss is seen; connecting fails while the daemon is away. */
		ck_assert_int_ge(xsl_pump(ct.h, 300), 0);
		daemon_start(dir);
		ct.d.own_dir = 1;
		/* The reference keeps no tree across a restart: dom0 makes the node again. */
		if (ct.kind == CT_REF)
			write_str(ct.dom0, 0, path("/r"), "");
		/* A call made meanwhile waits for the connection and goes through. */
		must_read(ct.h, 0, path("/r"), "");
	} else {
		OK(xsl_reconnect(ct.h));
	}
	xsl_stats(ct.h, &st);
	ck_assert_uint_eq(st.reconnects, 1);
	/* Registered again: its initial event once more, then what changes. */
	ct_pump_for(ct.h, &e, 2);
	ck_assert_str_eq(e.path[1], path("/r"));
	write_str(ct.dom0, 0, path("/r/after"), "1");
	ct_pump_for(ct.h, &e, 3);
	ck_assert_str_eq(e.path[2], path("/r/after"));
	/* The transaction died with the old connection. */
	ck_assert_int_eq(xsl_read(ct.h, t, path("/r"), &v, NULL), -EAGAIN);
	OK(xsl_txn_end(ct.h, t, 0));
	xsl_stats(ct.h, &st);
	ck_assert_uint_eq(st.replay_failures, 0);
	down();
}
END_TEST

struct loop {
	struct event_base *base;
	struct xsl *h;
	struct ct_events e;
	bool wrote;
};

static void loop_cb(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct loop *l = arg;

	ct_record(h, w, ev, &l->e);
	if (!l->wrote) {
		/* A blocking call inside the loop's callback. */
		l->wrote = true;
		write_str(h, 0, path("/le/x"), "1");
	} else if (l->e.n >= 2) {
		event_base_loopbreak(l->base);
	}
}

static void loop_readable(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	(void)what;
	ck_assert_int_ge(xsl_pump(l->h, 0), 0);
}

static void loop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* The event-loop embedding: one descriptor in libevent, the pump on readiness. */
START_TEST(libevent_loop)
{
	struct loop l = {0};
	struct xsl_watch *w;
	struct event *ev, *guard;
	struct timeval limit = {CT_WAIT_MS / 1000, 0};

	if (!up(_i, 0, false))
		return;
	l.h = ct.h;
	l.base = event_base_new();
	ev = event_new(l.base, xsl_fileno(ct.h), EV_READ | EV_PERSIST, loop_readable, &l);
	guard = evtimer_new(l.base, loop_timeout, l.base);
	event_add(ev, NULL);
	event_add(guard, &limit);
	OK(xsl_watch(ct.h, path("/le"), NULL, loop_cb, &l, &w));
	event_base_dispatch(l.base);
	ck_assert_uint_eq(l.e.n, 2);
	ck_assert_str_eq(l.e.path[1], path("/le/x"));
	event_free(ev);
	event_free(guard);
	event_base_free(l.base);
	OK(xsl_unwatch(ct.h, w));
	down();
}
END_TEST

/* Old kernels acknowledge WATCH and UNWATCH with req_id 0. */
START_TEST(device_old_kernel)
{
	struct ct_events e = {0};
	struct xsl_watch *w;

	if (!up(CT_DEVICE, 0, true))
		return;
	OK(xsl_watch(ct.h, path("/ok"), NULL, ct_record, &e, &w));
	ct_pump_for(ct.h, &e, 1);
	write_str(ct.h, 0, path("/ok/x"), "1");
	ct_pump_for(ct.h, &e, 2);
	OK(xsl_unwatch(ct.h, w));
	write_str(ct.h, 0, path("/ok/y"), "1");
	ck_assert_uint_eq(ct_pump_quiet(ct.h, &e, 200), 0);
	down();
}
END_TEST

/* libxenstore's way of finding the store: XENSTORED_PATH, else XENSTORED_RUNDIR/socket. */
START_TEST(socket_from_environment)
{
	struct xsl *h;

	if (!up(CT_SOCKET, 0, false))
		return;
	setenv("XENSTORED_PATH", ct.d.socket, 1);
	OK(xsl_open(&h, NULL));
	must_read(h, 0, ct.base, "");
	xsl_close(h);
	unsetenv("XENSTORED_PATH");
	setenv("XENSTORED_RUNDIR", ct.d.dir, 1);
	OK(xsl_open(&h, NULL));
	must_read(h, 0, ct.base, "");
	xsl_close(h);
	setenv("XENSTORED_RUNDIR", "/nonexistent", 1);
	ck_assert_int_lt(xsl_open(&h, NULL), 0);
	unsetenv("XENSTORED_RUNDIR");
	down();
}
END_TEST

Suite *suite_conform(void)
{
	Suite *s = suite_create("conform");
	TCase *tc = tcase_create("every transport");
	TCase *one = tcase_create("one transport");

	/* Each test starts a daemon; the sanitizer build on a busy machine needs room. */
	tcase_set_timeout(tc, 120);
	tcase_set_timeout(one, 120);
	tcase_add_loop_test(tc, nodes, 0, CT_KINDS);
	tcase_add_loop_test(tc, directory, 0, CT_KINDS);
	tcase_add_loop_test(tc, big_directory, 0, CT_KINDS);
	tcase_add_loop_test(tc, permissions, 0, CT_KINDS);
	tcase_add_loop_test(tc, payload_limits, 0, CT_KINDS);
	tcase_add_loop_test(tc, transactions, 0, CT_KINDS);
	tcase_add_loop_test(tc, transaction_retry_helper, 0, CT_KINDS);
	tcase_add_loop_test(tc, watch_events_and_depth, 0, CT_KINDS);
	tcase_add_loop_test(tc, unwatch_purges, 0, CT_KINDS);
	tcase_add_loop_test(tc, overflow_then_reread, 0, CT_KINDS);
	tcase_add_loop_test(tc, callbacks_may_block, 0, CT_KINDS);
	tcase_add_loop_test(tc, unwatch_waits_for_callback, 0, CT_KINDS);
	tcase_add_loop_test(tc, threads_share_a_handle, 0, CT_KINDS);
	tcase_add_loop_test(tc, reconnection_replays_watches, 0, CT_KINDS);
	tcase_add_loop_test(tc, libevent_loop, 0, CT_KINDS);
	suite_add_tcase(s, tc);
	tcase_add_test(one, device_old_kernel);
	tcase_add_test(one, socket_from_environment);
	suite_add_tcase(s, one);
	return s;
}

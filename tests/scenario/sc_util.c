/* Helpers of the scenario tests: statuses, restricted connections, timing, liveness, RSS bounds, stats, bulk writes, configuration files. */
#include "sc_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *sc_status(const struct xst_msg *m)
{
	if (m->hdr.type == XS_ERROR)
		return m->payload;
	if (m->hdr.len == 3 && memcmp(m->payload, "OK", 3) == 0)
		return "OK";
	return "";
}

const char *sc_try(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
		   const char *const *args, struct xst_msg *reply)
{
	sc_call(c, type, tx, raw_last, args, reply);
	ck_assert_msg(reply->hdr.type == type || reply->hdr.type == XS_ERROR,
		      "reply type %s to %s", xs_type_name(reply->hdr.type), xs_type_name(type));
	if (c->raw)
		ck_assert_uint_eq(reply->hdr.tx_id, tx);
	return sc_status(reply);
}

void sc_must(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last, const char *const *args,
	     const char *status)
{
	struct xst_msg m;
	const char *got = sc_try(c, type, tx, raw_last, args, &m);

	ck_assert_msg(strcmp(got, status) == 0, "%s %s (tx %llu): got '%s', expected %s",
		      xs_type_name(type), args[0] ? args[0] : "", (unsigned long long)tx, m.payload,
		      status);
}

xsl_txn_t sc_tx_start(struct sc_conn *c)
{
	struct xst_msg m;
	char *end;
	unsigned long id;
	xsl_txn_t t;
	int err;

	if (c->lib) {
		err = xsl_txn_start(xst_conn_xsl(c->lib), &t);
		ck_assert_msg(err == 0, "TRANSACTION_START: %s", strerror(-err));
		return t;
	}
	sc_call(c, XS_TRANSACTION_START, 0, 0, SC_ARGS(""), &m);
	ck_assert_msg(m.hdr.type == XS_TRANSACTION_START, "TRANSACTION_START: %s", m.payload);
	id = strtoul(m.payload, &end, 10);
	ck_assert_msg(end != m.payload && *end == '\0' && id > 0 && id <= UINT32_MAX,
		      "bad transaction id '%s'", m.payload);
	return (xsl_txn_t)id;
}

void sc_restrict(struct sc_conn *c, unsigned domid)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", domid);
	sc_must(c, XS_CONTROL, 0, 0, SC_ARGS("restrict", id), "OK");
}

struct sc_conn *sc_restricted(const struct xst_daemon *d, unsigned domid)
{
	struct sc_conn *c = sc_connect(d);

	sc_restrict(c, domid);
	return c;
}

void sc_expect_event(struct sc_conn *c, const char *path, const char *token)
{
	struct xst_msg m;
	size_t pl = strlen(path), tl = strlen(token);

	if (c->lib) {
		struct xst_event ev;
		int err = xst_event(c->lib, &ev, 5000);

		ck_assert_msg(err == 0, "no event %s %s: %s", path, token, strerror(-err));
		ck_assert_msg(!(ev.flags & XSL_EVENT_OVERFLOW), "watch %s overflowed", ev.name);
		ck_assert_msg(strcmp(ev.path, path) == 0 && strcmp(ev.name, token) == 0,
			      "event '%s' of watch '%s', expected '%s' '%s'", ev.path, ev.name,
			      path, token);
		return;
	}
	ck_assert_msg(xst_wire_recv(c->raw, &m, 5000) == 0, "no event %s %s: %s", path, token,
		      strerror(errno));
	ck_assert_msg(m.hdr.type == XS_WATCH_EVENT, "%s '%s' where event %s %s was due",
		      xs_type_name(m.hdr.type), m.payload, path, token);
	ck_assert_uint_eq(m.hdr.req_id, 0);
	ck_assert_uint_eq(m.hdr.tx_id, 0);
	ck_assert_msg(m.hdr.len == pl + tl + 2 && memcmp(m.payload, path, pl + 1) == 0 &&
			      memcmp(m.payload + pl + 1, token, tl + 1) == 0,
		      "event '%s' '%s', expected '%s' '%s'", m.payload, m.payload + strlen(m.payload) + 1,
		      path, token);
}

const char *sc_watch(struct sc_conn *c, const char *path, const char *token, const char *depth)
{
	static char status[32];
	struct xst_msg m;

	if (c->lib) {
		int err = xst_watch(c->lib, path, token, depth ? atoi(depth) : -1);
		enum xs_err e = xs_err_from_errno(-err);

		ck_assert_msg(!err || xs_err_to_errno(e) == -err, "WATCH %s: %s", path,
			      strerror(-err));
		snprintf(status, sizeof(status), "%.31s", err ? xs_err_name(e) : "OK");
	} else {
		if (depth)
			sc_call(c, XS_WATCH, 0, 0, SC_ARGS(path, token, depth), &m);
		else
			sc_call(c, XS_WATCH, 0, 0, SC_ARGS(path, token), &m);
		ck_assert_msg(m.hdr.type == XS_WATCH || m.hdr.type == XS_ERROR, "WATCH reply %s",
			      xs_type_name(m.hdr.type));
		snprintf(status, sizeof(status), "%.31s", sc_status(&m));
	}
	if (strcmp(status, "OK") == 0)
		sc_expect_event(c, path, token);
	return status;
}

void sc_silent(struct sc_conn *c, int ms)
{
	struct xst_msg m;

	if (c->lib) {
		struct xst_event ev;
		int err = xst_event(c->lib, &ev, ms);

		if (err == 0)
			ck_abort_msg("expected silence, got event '%s' of watch '%s'", ev.path,
				     ev.name);
		ck_assert_int_eq(err, -ETIMEDOUT);
		return;
	}
	if (xst_wire_recv(c->raw, &m, ms) == 0)
		ck_abort_msg("expected silence, got %s '%s'", xs_type_name(m.hdr.type), m.payload);
	ck_assert_int_eq(errno, ETIMEDOUT);
}

double sc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One call of the probe, timed. */
static double probe_call(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
			 const char *const *args, const char *want)
{
	struct xst_msg m;
	double t0 = sc_now_ms(), dt;

	sc_call(c, type, tx, raw_last, args, &m);
	dt = sc_now_ms() - t0;
	if (want)
		ck_assert_msg(strcmp(sc_status(&m), want) == 0, "probe %s: '%s'", xs_type_name(type),
			      m.payload);
	ck_assert_msg(dt < SC_LIVE_MS, "probe: %s took %.0f ms", xs_type_name(type), dt);
	return dt;
}

double sc_probe(struct sc_conn *c, const char *tag)
{
	char path[96];
	struct xst_msg m;
	double worst = 0, dt;
	xsl_txn_t tx;

	snprintf(path, sizeof(path), "/probe/%s", tag);
	dt = probe_call(c, XS_WRITE, 0, 1, SC_ARGS(path, tag), "OK");
	worst = dt > worst ? dt : worst;
	dt = sc_now_ms();
	sc_call(c, XS_READ, 0, 0, SC_ARGS(path), &m);
	dt = sc_now_ms() - dt;
	ck_assert_msg(dt < SC_LIVE_MS, "probe: READ took %.0f ms", dt);
	sc_expect(&m, XS_READ, tag, strlen(tag));
	worst = dt > worst ? dt : worst;
	dt = sc_now_ms();
	tx = sc_tx_start(c);
	dt = sc_now_ms() - dt;
	worst = dt > worst ? dt : worst;
	dt = probe_call(c, XS_WRITE, tx, 1, SC_ARGS(path, "t"), "OK");
	worst = dt > worst ? dt : worst;
	dt = probe_call(c, XS_TRANSACTION_END, tx, 0, SC_ARGS("T"), "OK");
	worst = dt > worst ? dt : worst;
	return worst;
}

void sc_rss_friendly_asan(void)
{
	xst_asan_small_quarantine();
}

long sc_rss(const struct xst_daemon *d)
{
	long kb = xst_daemon_rss_kb(d);

	ck_assert_msg(kb > 0, "cannot read the daemon's RSS");
	return kb;
}

int sc_log_has(const struct xst_daemon *d, const char *needle)
{
	return xst_daemon_log_count(d, needle);
}

void sc_log_print(const struct xst_daemon *d, const char *needle)
{
	char path[320], line[4600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			fprintf(stderr, "daemon.log: %s", line);
	fclose(f);
}

long sc_log_number(const struct xst_daemon *d, const char *line_has, const char *after, long none)
{
	char path[320], line[4600];
	long n = none;
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, line_has);

		if (p && (p = strstr(p + strlen(line_has), after)))
			n = atol(p + strlen(after));
	}
	fclose(f);
	return n;
}

void sc_make_home(struct sc_conn *dom0, unsigned domid)
{
	char home[64], perm[16];

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(perm, sizeof(perm), "n%u", domid);
	SC_OK(dom0, XS_MKDIR, 0, 0, home);
	SC_OK(dom0, XS_SET_PERMS, 0, 0, home, perm);
}

void sc_check_ok(struct sc_conn *c)
{
	struct xst_msg m;

	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("check"), &m);
	SC_EXPECT_STR(&m, XS_CONTROL, "OK\0");
}

long long sc_stat(struct sc_conn *c, const char *name)
{
	struct xst_msg m;
	char key[64];
	const char *at;

	snprintf(key, sizeof(key), "\n%s: ", name);
	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("stats"), &m);
	at = strstr(m.payload, key);
	ck_assert_msg(at != NULL, "no %s in the stats", name);
	return atoll(at + strlen(key));
}

void sc_write_many(struct sc_conn *c, const char *fmt, int from, int to, const char *value)
{
	enum { IN_FLIGHT = 64 };
	struct xst_wire *w = sc_wire(c);
	int sent = from, got = from;

	while (got < to) {
		struct xst_msg m;

		for (; sent < to && sent - got < IN_FLIGHT; sent++) {
			char p[128], buf[256];
			int len;

			snprintf(p, sizeof(p), fmt, sent / 1000, sent % 1000);
			len = xst_payload(buf, sizeof(buf), 1, SC_ARGS(p, value));
			ck_assert_int_gt(len, 0);
			ck_assert_int_eq(xst_wire_send_msg(w, XS_WRITE, (uint32_t)sent, 0, buf, (size_t)len), 0);
		}
		ck_assert_int_eq(xst_wire_recv(w, &m, 10000), 0);
		SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
		ck_assert_uint_eq(m.hdr.req_id, (uint32_t)got);
		got++;
	}
}

int sc_count(struct sc_conn *c, const char *fmt, int from, int to, int step, const char *value)
{
	int n = 0;

	for (int i = from; i < to; i += step) {
		char p[128];
		struct xst_msg m;

		snprintf(p, sizeof(p), fmt, i / 1000, i % 1000);
		sc_call(c, XS_READ, 0, 0, SC_ARGS(p), &m);
		if (m.hdr.type == XS_ERROR) {
			ck_assert_msg(strcmp(m.payload, "ENOENT") == 0, "%s: %s", p, m.payload);
			continue;
		}
		ck_assert_msg(m.hdr.type == XS_READ && strcmp(m.payload, value) == 0, "%s holds '%s', not '%s'", p,
			      m.payload, value);
		n++;
	}
	return n;
}

const char *const *sc_conf_args(struct sc_conf *conf, const char *text)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(conf->path, sizeof(conf->path), "%s/xst-conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(conf->path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	conf->args[0] = "-c";
	conf->args[1] = conf->path;
	conf->args[2] = NULL;
	return conf->args;
}

long long sc_file_size(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

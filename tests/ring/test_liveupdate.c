/*
 * Live update (CONTROL live-update, as xenstore-control drives it): the new
 * binary takes over in the same process, and every client goes on as if
 * nothing happened: sockets (their identity, watches, half-sent requests),
 * guests' rings, and transactions of both, open across it, which commit
 * or conflict as they would have. A refused or failed update leaves the
 * old daemon serving, and the asker hears why.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ring.h"

static const char *new_binary(void)
{
	const char *e = getenv("XST_DAEMON");

	return e && *e ? e : XST_DAEMON_BIN;
}

/* One step of CONTROL live-update: its text answer must start with want. */
#define lu_step(c, want, ...) (RT_AT(), lu_step_((c), (want), RT_ARGS("live-update", __VA_ARGS__)))
static void lu_step_(struct xst_conn *c, const char *want, const char *const *args)
{
	struct xst_msg m;

	rt_call_(c, XS_CONTROL, 0, 0, args, &m);
	RT_CHECK(m.hdr.type == XS_CONTROL && strncmp(m.payload, want, strlen(want)) == 0,
		 "live-update %s: got %s '%s', want '%s...'", args[1], xs_type_name(m.hdr.type), m.payload, want);
}

/* The whole update, as xenstore-control drives it: the same process serves on. */
static void live_update(struct rt_daemon *rd, struct xst_conn *c)
{
	lu_step(c, "OK", "-f", new_binary());
	lu_step(c, "OK", "-s", "-t", "60");
	RT_CHECK(kill(rd->d.pid, 0) == 0, "the daemon's process is gone");
}

/* A plain socket client, to send bytes the library would not. */
static int raw_socket(const struct rt_daemon *rd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	RT_CHECK(fd >= 0 && strlen(rd->d.socket) < sizeof(sa.sun_path), "socket");
	memcpy(sa.sun_path, rd->d.socket, strlen(rd->d.socket) + 1);
	RT_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
	return fd;
}

/* The next reply on a raw socket: its header, and its payload in buf (at most size bytes). */
static void raw_reply(int fd, struct xs_header *h, char *buf, size_t size)
{
	unsigned char hdr[XS_HEADER_SIZE];
	size_t have = 0;

	while (have < sizeof(hdr)) {
		ssize_t n = read(fd, hdr + have, sizeof(hdr) - have);

		RT_CHECK(n > 0, "raw socket: %s", n ? strerror(errno) : "closed");
		have += (size_t)n;
	}
	xs_header_decode(hdr, h);
	RT_CHECK(h->len <= size, "raw reply of %u bytes", h->len);
	for (have = 0; have < h->len;) {
		ssize_t n = read(fd, buf + have, h->len - have);

		RT_CHECK(n > 0, "raw socket: %s", n ? strerror(errno) : "closed");
		have += (size_t)n;
	}
}

/* The next reply is to req_id, its payload exactly len bytes of payload. */
static void raw_reply_len(int fd, uint32_t req_id, const char *payload, size_t len)
{
	char buf[256];
	struct xs_header h;

	raw_reply(fd, &h, buf, sizeof(buf));
	RT_CHECK(h.req_id == req_id && h.len == len && memcmp(buf, payload, len) == 0,
		 "raw reply: type %u req %u len %u '%.*s'", h.type, h.req_id, h.len, (int)h.len, buf);
}

static void raw_reply_is(int fd, uint32_t req_id, const char *payload)
{
	raw_reply_len(fd, req_id, payload, strlen(payload));
}

/* A request built from strings (xst_payload), written at once. */
/* A request built from strings (xst_payload) into buf, header first: its length. */
static size_t raw_encode(char *buf, size_t size, uint32_t type, uint32_t req_id, int raw_last,
			 const char *const *args)
{
	struct xs_header h = {type, req_id, 0, 0};
	int len = xst_payload(buf + XS_HEADER_SIZE, size - XS_HEADER_SIZE, raw_last, args);

	RT_CHECK(len >= 0, "payload too long");
	h.len = (uint32_t)len;
	xs_header_encode(&h, (unsigned char *)buf);
	return XS_HEADER_SIZE + (size_t)len;
}

static void raw_send(int fd, uint32_t type, uint32_t req_id, int raw_last, const char *const *args)
{
	char buf[XS_HEADER_SIZE + 512];
	size_t len = raw_encode(buf, sizeof(buf), type, req_id, raw_last, args);

	RT_CHECK(write(fd, buf, len) == (ssize_t)len, "raw write: %s", strerror(errno));
}

/*
 * Everything a client holds goes on, twice in a row (the new binary can
 * hand over again): dom0's transaction and watch, a restricted socket's
 * rights, a request half sent when the update came, a guest's transaction
 * and watch on its ring; a transaction whose reads were overtaken
 * meanwhile still fails.
 */
START_TEST(live_update_keeps_every_client)
{
	struct rt_daemon rd;
	struct rt_guest g;
	struct xst_conn *restricted;

	rt_start(&rd, NULL);
	rt_guest_up(&g, &rd, 7);
	restricted = rt_connect(&rd);
	rt_must(restricted, XS_CONTROL, 0, 0, RT_ARGS("restrict", "9"), "OK");
	rt_write(rd.dom0, 0, "/a", "1");
	rt_watch(rd.dom0, "/a", "w", NULL);
	rt_write(g.c, 0, "data/x", "1");
	rt_watch(g.c, "data", "gw", NULL);
	/* What CONTROL sets and counts goes on too: a trace class switched off, the request counters. */
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("log", "-io"), "OK");
	for (int round = 0; round < 2; round++) {
		static const unsigned char half[] = "/";
		unsigned char hdr[XS_HEADER_SIZE];
		struct xs_header h = {XS_READ, 77, 0, 3};
		xsl_txn_t tx0, tx1, txg;
		char v[8];
		int raw = raw_socket(&rd);

		snprintf(v, sizeof(v), "%d", round);
		tx0 = rt_tx_start(rd.dom0);
		rt_write(rd.dom0, tx0, "/a/t0", v);
		tx1 = rt_tx_start(rd.dom0);
		rt_read_is(rd.dom0, tx1, "/a", round ? "2" : "1");
		rt_write(rd.dom0, tx1, "/a/t1", v);
		txg = rt_tx_start(g.c);
		rt_write(g.c, txg, "data/t", v);
		rt_read_is(g.c, txg, "data/x", "1");
		/* Half a READ of "/a": the header and one byte of three. */
		xs_header_encode(&h, hdr);
		RT_CHECK(write(raw, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && write(raw, half, 1) == 1, "raw write");
		rt_sleep_ms(20);
		long reads = rt_stat(rd.dom0, "requests READ");

		live_update(&rd, rd.dom0);
		RT_CHECK(rt_stat(rd.dom0, "requests READ") >= reads, "the request counters started again");
		{
			struct xst_msg m;

			rt_call(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("log"), &m);
			RT_CHECK(strstr(m.payload, "io      : off") && strstr(m.payload, "obj     : on"),
				 "trace classes not kept: %s", m.payload);
		}

		/* The half-sent request goes on where it stood. */
		RT_CHECK(write(raw, "a", 2) == 2, "raw write");
		raw_reply_is(raw, 77, round ? "2" : "1");
		close(raw);
		/* Transactions: still open with what they did, committing as they would have. */
		rt_read_is(rd.dom0, tx0, "/a/t0", v);
		rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/a/t0"), round ? "READ" : "ENOENT");
		rt_must(rd.dom0, XS_TRANSACTION_END, tx0, 0, RT_ARGS("T"), "OK");
		rt_event(rd.dom0, "/a/t0", "w");
		rt_write(rd.dom0, 0, "/a", "2");
		rt_event(rd.dom0, "/a", "w");
		rt_must(rd.dom0, XS_TRANSACTION_END, tx1, 0, RT_ARGS("T"), "EAGAIN");
		rt_read_is(g.c, txg, "data/t", v);
		rt_must(g.c, XS_TRANSACTION_END, txg, 0, RT_ARGS("T"), "OK");
		rt_event(g.c, "data/t", "gw");
		rt_read_is(rd.dom0, 0, "/local/domain/7/data/t", v);
		/* The restricted socket is still domain 9's. */
		rt_must(restricted, XS_WRITE, 0, 1, RT_ARGS("/a/r", "x"), "EACCES");
		rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
		RT_CHECK(rt_stat(rd.dom0, "transactions") == 0, "transactions left open");
	}
	rt_no_event(rd.dom0, 30);
	xst_conn_close(restricted);
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

/* How many descriptors of process pid are not closed on exec (O_CLOEXEC absent from their fdinfo flags). */
static int open_across_exec(pid_t pid)
{
	char dir[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
	d = opendir(dir);
	RT_CHECK(d != NULL, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[320], line[128];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!(f = fopen(path, "r")))
			continue; /* closed meanwhile */
		while (fgets(line, sizeof(line), f)) {
			unsigned long flags;

			if (sscanf(line, "flags: %lo", &flags) == 1 && !(flags & O_CLOEXEC))
				n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Each step refused as the C daemon refuses it; the daemon serves on with everything. */
START_TEST(live_update_refused)
{
	struct rt_daemon rd;
	struct xst_conn *other;
	xsl_txn_t tx;
	char path[320];
	int inherited;

	rt_start(&rd, NULL);
	other = rt_connect(&rd);
	tx = rt_tx_start(rd.dom0);
	rt_write(rd.dom0, tx, "/t", "v");
	lu_step(rd.dom0, "No live-update session active.", "-s");
	lu_step(rd.dom0, "No live-update session active.", "-a");
	lu_step(rd.dom0, "cannot run /nonexistent", "-f", "/nonexistent");
	lu_step(rd.dom0, "Not a stub domain", "-b", "4096");
	/* A binary that cannot take over: refused at -s, before anything changed. */
	lu_step(rd.dom0, "OK", "-f", "/bin/true");
	lu_step(other, "live-update session already active.", "-f", new_binary());
	lu_step(other, "Live-update session not started by this connection.", "-s");
	lu_step(rd.dom0, "/bin/true cannot take over", "-s");
	lu_step(rd.dom0, "OK", "-a");
	/* The hand-over cannot be written (a directory in its way): refused, every descriptor as it was. */
	snprintf(path, sizeof(path), "%s/live-update.new", rd.d.dir);
	RT_CHECK(mkdir(path, 0700) == 0, "mkdir %s: %s", path, strerror(errno));
	inherited = open_across_exec(rd.d.pid); /* stdio, and whatever the test's parent passed on */
	lu_step(rd.dom0, "OK", "-f", new_binary());
	lu_step(rd.dom0, "cannot write", "-s");
	RT_CHECK(open_across_exec(rd.d.pid) == inherited, "a refused update left descriptors open across exec");
	RT_CHECK(rmdir(path) == 0, "rmdir");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("live-update", "-s", "-x"), "EINVAL");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("live-update"), "EINVAL");
	rt_must(rd.dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "OK");
	rt_read_is(other, 0, "/t", "v");
	xst_conn_close(other);
	rt_stop(&rd);
}
END_TEST

/* The new binary cannot be started: the old one starts again with everything, and says why. */
START_TEST(live_update_exec_fails)
{
	struct rt_daemon rd;
	xsl_txn_t tx;

	setenv("XENSTORED_TEST_LU_EXEC_FAIL", "1", 1);
	rt_start(&rd, NULL);
	unsetenv("XENSTORED_TEST_LU_EXEC_FAIL");
	rt_write(rd.dom0, 0, "/a", "1");
	rt_watch(rd.dom0, "/a", "w", NULL);
	tx = rt_tx_start(rd.dom0);
	rt_write(rd.dom0, tx, "/a/t", "v");
	lu_step(rd.dom0, "OK", "-f", new_binary());
	lu_step(rd.dom0, "cannot start", "-s");
	rt_must(rd.dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "OK");
	rt_event(rd.dom0, "/a/t", "w");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	rt_stop(&rd);
}
END_TEST

/* A guest writing as fast as it can while the daemon is updated: every write answered OK, none lost. */
#define LOAD_WRITES 3000

static int writer(struct rt_child *ch)
{
	struct rt_guest g;
	char v[16];

	rt_guest_up(&g, ch->rd, 8);
	rt_child_tell(ch, 's');
	for (int i = 0; i < LOAD_WRITES; i++) {
		snprintf(v, sizeof(v), "%d", i);
		rt_write(g.c, 0, "data/n", v);
		if (i == LOAD_WRITES / 10)
			rt_child_tell(ch, 'm');
	}
	rt_child_tell(ch, 'd');
	rt_child_hear(ch, 'q');
	return 0;
}

START_TEST(live_update_under_load)
{
	struct rt_daemon rd;
	struct rt_child ch;
	struct xst_conn *c;
	char v[16];

	rt_start(&rd, NULL);
	rt_child_start(&ch, &rd, writer, NULL);
	rt_hear(&ch, 's');
	c = rt_connect(&rd);
	rt_hear(&ch, 'm');
	for (int i = 0; i < 20; i++) {
		snprintf(v, sizeof(v), "%d", i);
		rt_write(c, 0, "/sock", v);
	}
	live_update(&rd, c);
	rt_read_is(c, 0, "/sock", "19");
	rt_hear(&ch, 'd');
	snprintf(v, sizeof(v), "%d", LOAD_WRITES - 1);
	rt_read_is(rd.dom0, 0, "/local/domain/8/data/n", v);
	rt_tell(&ch, 'q');
	rt_child_join(&ch);
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	xst_conn_close(c);
	rt_stop(&rd);
}
END_TEST

/*
 * After an update the new daemon walks the tree again in slices, to count
 * every domain's nodes and find what each owns. A change meanwhile is
 * parked until the walk ends (finishing the walk in one go would stall
 * every client); reads are served meanwhile. A WRITE sent right behind -s
 * on the same connection reaches the new daemon in its first turns, so it
 * always meets the walk (one node a slice here, of more than 20,000).
 */
#define WALK_NODES 20000

START_TEST(live_update_changes_wait_for_the_walk)
{
	struct rt_daemon rd;
	char conf[] = "/tmp/xst-ring-conf.XXXXXX", both[2 * (XS_HEADER_SIZE + 64)];
	static const char settings[] = "walk-slice-nodes = 1\n";
	int fd = mkstemp(conf), raw, sent = 0, got = 0;
	size_t len;
	struct pollfd pf;

	RT_CHECK(fd >= 0 && write(fd, settings, sizeof(settings) - 1) == (ssize_t)sizeof(settings) - 1, "conf");
	close(fd);
	/* The file stays until the end: the new binary reads it again. */
	rt_start(&rd, RT_ARGS("-c", conf));
	raw = raw_socket(&rd);
	while (got < WALK_NODES) {
		for (; sent < WALK_NODES && sent - got < 64; sent++) {
			char p[32];

			snprintf(p, sizeof(p), "/w/%d/%d", sent / 1000, sent % 1000);
			raw_send(raw, XS_WRITE, (uint32_t)sent + 100, 1, RT_ARGS(p, "v"));
		}
		raw_reply_len(raw, (uint32_t)got++ + 100, "OK", 3);
	}
	raw_send(raw, XS_CONTROL, 1, 0, RT_ARGS("live-update", "-f", new_binary()));
	raw_reply_len(raw, 1, "OK", 3);
	/* -s and a WRITE behind it, in one go. */
	len = raw_encode(both, sizeof(both), XS_CONTROL, 2, 0, RT_ARGS("live-update", "-s", "-t", "60"));
	len += raw_encode(both + len, sizeof(both) - len, XS_WRITE, 3, 1, RT_ARGS("/w/new", "x"));
	RT_CHECK(write(raw, both, len) == (ssize_t)len, "raw write");
	raw_reply_len(raw, 2, "OK", 3);
	/* The new daemon answers a READ while the WRITE waits. */
	rt_read_is(rd.dom0, 0, "/w/19/999", "v");
	pf = (struct pollfd){.fd = raw, .events = POLLIN};
	RT_CHECK(poll(&pf, 1, 0) == 0, "the WRITE was answered before a READ sent after it: the walk was not sliced");
	raw_reply_len(raw, 3, "OK", 3);
	rt_read_is(rd.dom0, 0, "/w/new", "x");
	RT_CHECK(rt_stat(rd.dom0, "store-walk-done") == 1, "the walk is not over");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	close(raw);
	rt_stop(&rd);
	unlink(conf);
}
END_TEST

Suite *suite_liveupdate(void)
{
	Suite *s = suite_create("liveupdate");
	TCase *tc = tcase_create("liveupdate");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, live_update_keeps_every_client);
	tcase_add_test(tc, live_update_refused);
	tcase_add_test(tc, live_update_exec_fails);
	tcase_add_test(tc, live_update_under_load);
	tcase_add_test(tc, live_update_changes_wait_for_the_walk);
	suite_add_tcase(s, tc);
	return s;
}

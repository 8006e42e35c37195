/* Scenario: watches under load and abuse (robustness 1.3 F/E42): floods, a reader that never reads, the watch quota, RESET_WATCHES loops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_util.h"

/* Counter from CONTROL stats, or -1 when the daemon has no such command. */
static long long control_stat(struct sc_conn *c, const char *name)
{
	struct xst_msg m;
	char key[64];
	const char *p;

	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("stats"), &m);
	if (m.hdr.type != XS_CONTROL)
		return -1;
	snprintf(key, sizeof(key), "%s: ", name);
	p = strstr(m.payload, key);
	return p ? atoll(p + strlen(key)) : -1;
}

/*
 * Send n WATCH requests in one go, then check n (OK, initial event) pairs.
 * Pipelining keeps 20,000 registrations quick.
 */
static void watch_batch(struct sc_conn *c, const char *fmt_path, const char *fmt_token, int first,
			int n)
{
	static char buf[200 * 1024];
	size_t off = 0;
	char path[128], token[160];
	struct xst_msg m;

	for (int i = first; i < first + n; i++) {
		int len;

		snprintf(path, sizeof(path), fmt_path, i);
		snprintf(token, sizeof(token), fmt_token, i);
		len = xst_payload(buf + off + XS_HEADER_SIZE, sizeof(buf) - off - XS_HEADER_SIZE, 0,
				  SC_ARGS(path, token));
		ck_assert_int_gt(len, 0);
		struct xs_header h = {XS_WATCH, (uint32_t)i, 0, (uint32_t)len};

		xs_header_encode(&h, (unsigned char *)buf + off);
		off += XS_HEADER_SIZE + (size_t)len;
	}
	ck_assert_int_eq(xst_wire_send(sc_wire(c), buf, off), 0);
	for (int i = first; i < first + n; i++) {
		snprintf(path, sizeof(path), fmt_path, i);
		snprintf(token, sizeof(token), fmt_token, i);
		ck_assert_int_eq(xst_wire_recv(sc_wire(c), &m, 5000), 0);
		ck_assert_msg(m.hdr.type == XS_WATCH && m.hdr.req_id == (uint32_t)i &&
				      strcmp(sc_status(&m), "OK") == 0,
			      "WATCH %s: %s '%s'", path, xs_type_name(m.hdr.type), m.payload);
		sc_expect_event(c, path, token);
	}
}

/*
 * 1.3 F43 (flood): 20,000 watches on one privileged connection, and 1,000
 * watches on one node that a writer keeps changing: every event arrives, in
 * registration order, a well-behaved client stays live, RSS stays bounded.
 */
START_TEST(watch_flood)
{
	struct xst_daemon d;
	const long bound_kb = SC_ASAN ? 128 * 1024 : 32 * 1024;
	const int nwatch = 20000, nhot = 1000, nwrites = 60;
	struct xst_msg m;
	double worst = 0;
	long rss0, rss1;
	char token[64];

	sc_rss_friendly_asan();
	sc_start(&d, NULL);
	struct sc_conn *flood = sc_connect_raw(&d), *good = sc_connect(&d),
		       *writer = sc_connect(&d);

	sc_probe(good, "warm");
	rss0 = sc_rss(&d);
	for (int i = 0; i < nwatch; i += 500) {
		/* Tokens of 100 bytes: 2 MB of tokens in all. */
		watch_batch(flood, "/flood/n%d",
			    "%08d-0123456789012345678901234567890123456789012345678901234567890123456789"
			    "012345678901",
			    i, 500);
		if (i % 5000 == 0) {
			double w = sc_probe(good, "flood");

			worst = w > worst ? w : worst;
		}
	}
	for (int i = 0; i < nhot; i += 500)
		watch_batch(flood, "/hot", "h%d", i, 500);
	/* 200 watches with tokens as long as a WATCH payload allows (4096 - "/maxtok/nNNN\0" - NUL). */
	{
		static char longtok[4096];
		char mpath[32];

		for (int i = 0; i < 200; i++) {
			snprintf(mpath, sizeof(mpath), "/maxtok/n%03d", i);
			memset(longtok, 'L', sizeof(longtok));
			longtok[XS_PAYLOAD_MAX - strlen(mpath) - 2] = '\0';
			snprintf(longtok, 5, "%04d", i);
			longtok[4] = 'L';
			ck_assert_str_eq(sc_watch(flood, mpath, longtok, NULL), "OK");
		}
		/* Their events fit exactly; one level deeper would not and is dropped (1.5). */
		SC_OK(writer, XS_WRITE, 0, 1, "/maxtok/n007", "v");
		snprintf(mpath, sizeof(mpath), "/maxtok/n%03d", 7);
		memset(longtok, 'L', sizeof(longtok));
		longtok[XS_PAYLOAD_MAX - strlen(mpath) - 2] = '\0';
		memcpy(longtok, "0007", 4);
		sc_expect_event(flood, mpath, longtok);
		SC_OK(writer, XS_WRITE, 0, 1, "/maxtok/n007/deeper", "v");
		sc_silent(flood, 50);
	}
	rss1 = sc_rss(&d);
	fprintf(stderr, "watch_flood: %d watches, RSS %ld -> %ld KiB (bound +%ld)\n", nwatch + nhot + 200,
		rss0, rss1, bound_kb);
	ck_assert_msg(rss1 - rss0 < bound_kb, "RSS grew by %ld KiB", rss1 - rss0);

	/* The index: a write below one flooded path fires that watch only. */
	SC_OK(writer, XS_WRITE, 0, 1, "/flood/n12345/x", "v");
	snprintf(token, sizeof(token), "%08d-", 12345);
	ck_assert_int_eq(xst_wire_recv(sc_wire(flood), &m, 5000), 0);
	ck_assert_uint_eq(m.hdr.type, XS_WATCH_EVENT);
	ck_assert_str_eq(m.payload, "/flood/n12345/x");
	ck_assert_int_eq(strncmp(m.payload + strlen(m.payload) + 1, token, strlen(token)), 0);
	sc_silent(flood, 50);

	/* Many events: each write of /hot fires the 1,000 /hot watches, in registration order. */
	for (int w = 0; w < nwrites; w++) {
		char val[16];

		snprintf(val, sizeof(val), "%d", w);
		SC_OK(writer, XS_WRITE, 0, 1, "/hot", val);
		for (int i = 0; i < nhot; i++) {
			snprintf(token, sizeof(token), "h%d", i);
			sc_expect_event(flood, "/hot", token);
		}
		if (w % 20 == 0) {
			double p = sc_probe(good, "events");

			worst = p > worst ? p : worst;
		}
	}
	sc_silent(flood, 50);
	/* A RESET_WATCHES of 21,000 watches, then nothing fires. */
	sc_must(flood, XS_RESET_WATCHES, 0, 0, SC_ARGS(""), "OK");
	SC_OK(writer, XS_WRITE, 0, 1, "/hot", "after");
	SC_OK(writer, XS_WRITE, 0, 1, "/flood/n1", "after");
	sc_silent(flood, 100);
	{
		double p = sc_probe(good, "end");

		worst = p > worst ? p : worst;
	}
	fprintf(stderr, "watch_flood: slowest probe %.1f ms\n", worst);
	sc_close(flood);
	sc_close(writer);
	sc_close(good);
	sc_stop(&d);
}
END_TEST

/*
 * 1.3 F44/F49: a client registers watches and never reads while another
 * writes heavily. Its events beyond the output bound are dropped (not
 * queued), the writer keeps its pace, RSS stays bounded; once the client
 * reads again it gets what was queued, then fresh events.
 */
START_TEST(never_reading_watcher)
{
	struct xst_daemon d;
	const int nwatch = 50, nwrites = 20000, window = 2000;
	const long bound_kb = SC_ASAN ? 96 * 1024 : 16 * 1024;
	static char value[1001];
	struct xst_msg m;
	char path[64], token[160];
	double base_ms, t0, slowest = 0;
	long rss0, rss1;
	long long received = 0, bytes = 0;

	sc_rss_friendly_asan();
	sc_start(&d, NULL);
	struct sc_conn *lazy = sc_connect_raw(&d), *writer = sc_connect(&d), *good = sc_connect(&d);

	memset(value, 'v', sizeof(value) - 1);
	/* The writer's pace with nobody watching. */
	t0 = sc_now_ms();
	for (int i = 0; i < window; i++) {
		snprintf(path, sizeof(path), "/busy/k%d", i % 500);
		SC_OK(writer, XS_WRITE, 0, 1, path, value);
	}
	base_ms = sc_now_ms() - t0;
	/* 50 watches with 120-byte tokens: each write then queues ~7 KB of events for lazy. */
	for (int i = 0; i < nwatch; i++) {
		snprintf(token, sizeof(token), "lazy%03d-%0116d", i, i);
		ck_assert_str_eq(sc_watch(lazy, "/busy", token, NULL), "OK");
	}
	sc_probe(good, "warm");
	rss0 = sc_rss(&d);
	/* 20,000 writes (140 MB of events if all were kept), timed per window of 2,000. */
	for (int w = 0; w < nwrites / window; w++) {
		t0 = sc_now_ms();
		for (int i = 0; i < window; i++) {
			double c0 = sc_now_ms(), dt;

			snprintf(path, sizeof(path), "/busy/k%d", (w * window + i) % 500);
			SC_OK(writer, XS_WRITE, 0, 1, path, value);
			dt = sc_now_ms() - c0;
			slowest = dt > slowest ? dt : slowest;
		}
		double took = sc_now_ms() - t0;

		ck_assert_msg(took < 4 * base_ms + 1000,
			      "window %d of writes took %.0f ms, %.0f ms with no watcher", w, took,
			      base_ms);
		sc_probe(good, "busy");
	}
	ck_assert_msg(slowest < SC_LIVE_MS, "a write took %.0f ms", slowest);
	rss1 = sc_rss(&d);
	fprintf(stderr,
		"never_reading_watcher: writes %.0f ms per %d unwatched, slowest %.1f ms; RSS %ld -> %ld KiB (bound +%ld)\n",
		base_ms, window, slowest, rss0, rss1, bound_kb);
	ck_assert_msg(rss1 - rss0 < bound_kb, "RSS grew by %ld KiB", rss1 - rss0);
	ck_assert(xst_daemon_alive(&d));
	{
		long long dropped = control_stat(good, "events-dropped");

		/* CONTROL stats is optional (-1: absent); the log line is not. */
		ck_assert_msg(dropped == -1 || dropped > 0, "stats count no dropped event");
		ck_assert_msg(sc_log_has(&d, "not reading its events, dropping them"),
			      "the drop is not logged");
	}

	/* Now lazy reads: it gets what was queued (bounded), well-formed, nothing else. */
	while (xst_wire_recv(sc_wire(lazy), &m, 300) == 0) {
		ck_assert_uint_eq(m.hdr.type, XS_WATCH_EVENT);
		ck_assert_int_eq(strncmp(m.payload, "/busy/k", 7), 0);
		received++;
		bytes += XS_HEADER_SIZE + m.hdr.len;
	}
	ck_assert_int_eq(errno, ETIMEDOUT);
	fprintf(stderr, "never_reading_watcher: %lld of %d events delivered (%lld bytes)\n", received,
		nwrites * nwatch, bytes);
	ck_assert_msg(received > 0, "nothing was queued at all");
	/* The daemon's bound (1 MiB) plus what the kernel buffers for the socket. */
	ck_assert_msg(bytes < 1024 * 1024 + 8 * 1024 * 1024, "%lld bytes were kept", bytes);
	ck_assert_msg(received < (long long)nwrites * nwatch / 4, "hardly anything was dropped");
	/* Recovered: fresh events and replies flow again, in order. */
	SC_OK(writer, XS_WRITE, 0, 1, "/busy/fresh", "1");
	for (int i = 0; i < nwatch; i++) {
		snprintf(token, sizeof(token), "lazy%03d-%0116d", i, i);
		sc_expect_event(lazy, "/busy/fresh", token);
	}
	sc_call(lazy, XS_READ, 0, 0, SC_ARGS("/busy/fresh"), &m);
	SC_EXPECT_STR(&m, XS_READ, "1");
	sc_close(lazy);
	sc_close(writer);
	sc_probe(good, "end");
	sc_close(good);
	sc_stop(&d);
}
END_TEST

/* Register watches w<first>..w<last> on c; all must succeed. */
static void watch_range(struct sc_conn *c, int first, int last)
{
	char path[32];

	for (int i = first; i <= last; i++) {
		snprintf(path, sizeof(path), "w%d", i);
		ck_assert_msg(strcmp(sc_watch(c, path, "t", NULL), "OK") == 0, "watch %d refused", i);
	}
}

/*
 * 4.1 step 4 / 1.3 F43: a restricted connection may hold quota-1 watches
 * (as HEAD: refused when count + 1 reaches the quota), so with the default
 * 128 exactly the 128th WATCH gets ENOSPC, with no initial event; a duplicate
 * is EEXIST even at the limit; UNWATCH and RESET_WATCHES give room back;
 * the quota follows -Q; the privileged are exempt.
 */
START_TEST(watch_quota_edge)
{
	struct xst_daemon d;

	sc_start(&d, NULL);
	struct sc_conn *dom0 = sc_connect(&d);

	sc_make_home(dom0, 5);
	/* Raw: the same token on several paths, and duplicates of a watch the store holds. */
	struct sc_conn *u = sc_connect_raw(&d);

	sc_restrict(u, 5);

	watch_range(u, 1, 127);
	ck_assert_str_eq(sc_watch(u, "w128", "t", NULL), "ENOSPC");
	ck_assert_str_eq(sc_watch(u, "/elsewhere", "other", NULL), "ENOSPC");
	ck_assert_str_eq(sc_watch(u, "w5", "t", NULL), "EEXIST");
	ck_assert_str_eq(sc_watch(u, "w128", "t", "0"), "ENOSPC");
	sc_silent(u, 50);
	/* The 127 watches all work. */
	SC_OK(dom0, XS_WRITE, 0, 1, "/local/domain/5/w127", "x");
	sc_expect_event(u, "w127", "t");
	SC_OK(dom0, XS_WRITE, 0, 1, "/local/domain/5/w128", "x");
	sc_silent(u, 50);
	/* One out, one in, and the limit holds again. */
	sc_must(u, XS_UNWATCH, 0, 0, SC_ARGS("w1", "t"), "OK");
	ck_assert_str_eq(sc_watch(u, "w128", "t", NULL), "OK");
	ck_assert_str_eq(sc_watch(u, "w129", "t", NULL), "ENOSPC");
	/* A failed UNWATCH frees nothing. */
	sc_must(u, XS_UNWATCH, 0, 0, SC_ARGS("w1", "t"), "ENOENT");
	ck_assert_str_eq(sc_watch(u, "w129", "t", NULL), "ENOSPC");
	/* RESET_WATCHES frees everything. */
	sc_must(u, XS_RESET_WATCHES, 0, 0, SC_ARGS(""), "OK");
	watch_range(u, 1000, 1126);
	ck_assert_str_eq(sc_watch(u, "w1127", "t", NULL), "ENOSPC");
	/* Another domain has its own count. */
	sc_make_home(dom0, 6);
	struct sc_conn *v = sc_connect_raw(&d);

	sc_restrict(v, 6);

	watch_range(v, 1, 127);
	ck_assert_str_eq(sc_watch(v, "w128", "t", NULL), "ENOSPC");
	/* The privileged are exempt. */
	for (int i = 0; i < 500; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/p%d", i);
		ck_assert_str_eq(sc_watch(dom0, path, "t", NULL), "OK");
	}
	sc_probe(dom0, "quota");
	sc_close(u);
	sc_close(v);
	sc_close(dom0);
	sc_stop(&d);

	/* The bound follows the quota setting: -Q watches=4 leaves 3. */
	sc_start(&d, SC_ARGS("-Q", "watches=4"));
	dom0 = sc_connect(&d);
	sc_make_home(dom0, 5);
	u = sc_connect_raw(&d);
	sc_restrict(u, 5);
	watch_range(u, 1, 3);
	ck_assert_str_eq(sc_watch(u, "w4", "t", NULL), "ENOSPC");
	sc_close(u);
	sc_close(dom0);
	sc_stop(&d);
}
END_TEST

/*
 * 1.3 E42/F43 (XSA-330, XSA-484): RESET_WATCHES inside a transaction, and
 * register/reset loops. The transaction goes with nothing applied, events
 * already queued stay queued, the connection keeps working, memory is flat.
 */
START_TEST(reset_watches_in_transaction)
{
	struct xst_daemon d;
	const long flat_kb = SC_ASAN ? 48 * 1024 : 4 * 1024;
	struct xst_msg m;
	char path[64], val[16];
	long rss_a = 0, rss_b;

	sc_rss_friendly_asan();
	sc_start(&d, NULL);
	struct sc_conn *dom0 = sc_connect(&d), *good = sc_connect(&d);

	sc_make_home(dom0, 7);
	/* Raw: RESET_WATCHES behind a client's back, and the reply's tx_id. */
	struct sc_conn *u = sc_connect_raw(&d);

	sc_restrict(u, 7);

	/* An event queued before the reset is delivered all the same, ahead of its reply. */
	ck_assert_str_eq(sc_watch(u, "data", "t", NULL), "OK");
	xsl_txn_t tx = sc_tx_start(u);

	SC_OK(u, XS_WRITE, tx, 1, "data/in-tx", "1");
	SC_OK(dom0, XS_WRITE, 0, 1, "/local/domain/7/data/outside", "1");
	ck_assert_int_eq(xst_wire_send_msg(sc_wire(u), XS_RESET_WATCHES, 0, (uint32_t)tx, "", 1),
			 0);
	sc_expect_event(u, "data/outside", "t");
	ck_assert_int_eq(xst_wire_recv(sc_wire(u), &m, 5000), 0);
	SC_EXPECT_STR(&m, XS_RESET_WATCHES, "OK\0");
	ck_assert_uint_eq(m.hdr.tx_id, tx);
	sc_must(u, XS_TRANSACTION_END, tx, 0, SC_ARGS("T"), "ENOENT");
	sc_must(u, XS_READ, 0, 0, SC_ARGS("data/in-tx"), "ENOENT");
	SC_OK(dom0, XS_WRITE, 0, 1, "/local/domain/7/data/later", "1");
	sc_silent(u, 50);

	/* The loop: a transaction with writes and watches, reset from inside, 3,000 times. */
	for (int i = 0; i < 3000; i++) {
		xsl_txn_t t = sc_tx_start(u);

		snprintf(path, sizeof(path), "loop/n%d", i % 50);
		snprintf(val, sizeof(val), "%d", i);
		SC_OK(u, XS_WRITE, t, 1, path, val);
		for (int k = 0; k < 5; k++) {
			snprintf(path, sizeof(path), "loop/w%d", k);
			ck_assert_str_eq(sc_watch(u, path, "tok", NULL), "OK");
		}
		sc_call(u, XS_RESET_WATCHES, t, 0, SC_ARGS(""), &m);
		SC_EXPECT_STR(&m, XS_RESET_WATCHES, "OK\0");
		sc_must(u, XS_WRITE, t, 1, SC_ARGS("loop/after", "x"), "ENOENT");
		if (i == 300)
			rss_a = sc_rss(&d);
		if (i % 1000 == 0)
			sc_probe(good, "reset");
	}
	/* XSA-330: register 100 watches (quota-1 = 127 allowed), reset, 200 times. */
	for (int i = 0; i < 200; i++) {
		for (int k = 0; k < 100; k++) {
			snprintf(path, sizeof(path), "x/w%d", k);
			ck_assert_str_eq(sc_watch(u, path, "a-longer-token-to-make-it-count", NULL), "OK");
		}
		sc_must(u, XS_RESET_WATCHES, 0, 0, SC_ARGS(""), "OK");
	}
	rss_b = sc_rss(&d);
	fprintf(stderr, "reset_watches_in_transaction: RSS %ld -> %ld KiB (bound +%ld)\n", rss_a, rss_b,
		flat_kb);
	ck_assert_msg(rss_b - rss_a < flat_kb, "RSS grew by %ld KiB", rss_b - rss_a);
	sc_must(u, XS_READ, 0, 0, SC_ARGS("loop/n0"), "ENOENT");
	sc_must(u, XS_DIRECTORY, 0, 0, SC_ARGS("loop"), "ENOENT");
	/* Still a working connection with its full quotas. */
	watch_range(u, 1, 127);
	for (int i = 0; i < 9; i++)
		sc_tx_start(u);
	sc_must(u, XS_TRANSACTION_START, 0, 0, SC_ARGS(""), "ENOSPC");
	sc_probe(good, "end");
	sc_close(u);
	sc_close(good);
	sc_close(dom0);
	sc_stop(&d);
}
END_TEST

Suite *suite_watch(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("abuse");

	tcase_set_timeout(tc, SC_ASAN ? 300 : 120);
	tcase_add_test(tc, watch_flood);
	tcase_add_test(tc, never_reading_watcher);
	tcase_add_test(tc, watch_quota_edge);
	tcase_add_test(tc, reset_watches_in_transaction);
	suite_add_tcase(s, tc);
	return s;
}

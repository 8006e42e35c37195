/* Ring tests: the shared page driven directly: index wrap, split messages, full rings, corruption, oversize, reconnection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/* Put all four indices at base while the daemon is idle (see the report: it resets them to 0 itself). */
static void set_indices(struct rt_guest *g, struct rt_daemon *rd, uint32_t base)
{
	struct xs_ring *r = g->ring;

	rt_quiesce(g->dom, rd->dom0);
	RT_CHECK(r->req_cons == r->req_prod && r->rsp_cons == r->rsp_prod, "ring not idle");
	xs_ring_store(&r->req_cons, base);
	xs_ring_store(&r->req_prod, base);
	xs_ring_store(&r->rsp_cons, base);
	xs_ring_store(&r->rsp_prod, base);
}

START_TEST(indices_wrap_past_2_32)
{
	static const uint32_t bases[] = {0xFFFFFE00u, 0xFFFFFFF8u, 0xFFFFFC01u, 0xFFFFFFFFu};
	struct rt_daemon rd;
	struct rt_guest g;

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	rt_write(g.c, 0, "data/warm", "1");
	for (unsigned b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		struct xs_ring *r = g.ring;
		char path[32], val[200];

		set_indices(&g, &rd, bases[b]);
		for (unsigned i = 0; i < 30; i++) {
			snprintf(path, sizeof(path), "data/k%u", i);
			memset(val, 'a' + (char)(i % 26), sizeof(val));
			val[10 + (i * 5) % 150] = '\0';
			rt_write(g.c, 0, path, val);
			rt_read_is(g.c, 0, path, val);
		}
		/* Both streams went past 2^32 and back to small numbers. */
		RT_CHECK(r->req_prod < 0x10000 && r->rsp_prod < 0x10000 && r->req_cons == r->req_prod,
			 "base %#x: indices %#x %#x %#x %#x", bases[b], r->req_cons, r->req_prod,
			 r->rsp_cons, r->rsp_prod);
		RT_CHECK(r->error == 0, "error %u", r->error);
		rt_read_is(rd.dom0, 0, "/local/domain/7/data/k29", val);
	}
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

/* A guest WRITE of "pad" whose request is exactly len bytes (len >= 20). */
static void pad_request(struct rt_guest *g, size_t len)
{
	char val[1100];

	RT_CHECK(len >= 20 && len - 20 < sizeof(val), "pad %zu", len);
	memset(val, 'p', len - 20);
	val[len - 20] = '\0';
	rt_write(g->c, 0, "pad", val);
}

START_TEST(request_split_at_every_point)
{
	static const char value[] = "0123456789abcdefghij";
	struct rt_daemon rd;
	struct rt_guest g;
	struct xs_ring *r;
	/* WRITE "s/NNN\0" + value: header, 6 bytes of path, the value. */
	const size_t len = XS_HEADER_SIZE + 6 + sizeof(value) - 1;

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	r = g.ring;
	for (size_t k = 0; k <= len; k++) {
		/* Start the request k bytes before the end of the ring. */
		uint32_t want = (uint32_t)((XS_RING_SIZE - k) % XS_RING_SIZE);
		uint32_t fill = (want - r->req_prod) % XS_RING_SIZE;
		char path[16], abs_path[48];

		if (fill && fill < 20)
			fill += XS_RING_SIZE;
		if (fill)
			pad_request(&g, fill);
		RT_CHECK(r->req_prod % XS_RING_SIZE == want, "request starts at %u, wanted %u",
			 r->req_prod % XS_RING_SIZE, want);
		snprintf(path, sizeof(path), "s/%03zu", k);
		rt_write(g.c, 0, path, value);
		snprintf(abs_path, sizeof(abs_path), "/local/domain/7/%s", path);
		rt_read_is(rd.dom0, 0, abs_path, value);
	}
	RT_CHECK(r->error == 0, "error %u", r->error);
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

START_TEST(reply_split_at_every_point)
{
	static const char value[] = "reply-0123456789-abcdefghij-0123456789";
	struct rt_daemon rd;
	struct rt_guest g;
	struct xs_ring *r;
	const size_t len = XS_HEADER_SIZE + sizeof(value) - 1;
	char fill_val[1100];

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	r = g.ring;
	rt_write(rd.dom0, 0, "/local/domain/7/r", value);
	for (size_t k = 0; k <= len; k++) {
		/* The reply to READ r starts k bytes before the end of the response ring. */
		uint32_t want = (uint32_t)((XS_RING_SIZE - k) % XS_RING_SIZE);
		uint32_t fill = (want - r->rsp_prod) % XS_RING_SIZE;

		if (fill && fill < XS_HEADER_SIZE)
			fill += XS_RING_SIZE;
		if (fill) {
			/* A READ whose reply is exactly fill bytes. */
			memset(fill_val, 'f', fill - XS_HEADER_SIZE);
			fill_val[fill - XS_HEADER_SIZE] = '\0';
			rt_write(rd.dom0, 0, "/local/domain/7/fv", fill_val);
			rt_read_is(g.c, 0, "fv", fill_val);
		}
		RT_CHECK(r->rsp_prod % XS_RING_SIZE == want, "reply starts at %u, wanted %u",
			 r->rsp_prod % XS_RING_SIZE, want);
		rt_read_is(g.c, 0, "r", value);
	}
	RT_CHECK(r->error == 0, "error %u", r->error);
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

START_TEST(exactly_full_rings)
{
	struct rt_daemon rd;
	struct rt_guest g;
	struct xs_ring *r;
	struct xst_msg m;
	char payload[1100], big[1100];

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	r = g.ring;
	/* One request of exactly 1024 bytes, produced before the daemon hears of it. */
	rt_quiesce(g.dom, rd.dom0);
	memcpy(payload, "full", 5);
	memset(payload + 5, 'F', XS_RING_SIZE - XS_HEADER_SIZE - 5);
	rt_raw_req(g.dom, XS_WRITE, 41, payload, XS_RING_SIZE - XS_HEADER_SIZE, false);
	RT_CHECK(r->req_prod - r->req_cons == XS_RING_SIZE, "not full: %u", r->req_prod - r->req_cons);
	rt_raw_notify(g.dom);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0, "no reply to the full ring");
	RT_CHECK(m.hdr.type == XS_WRITE && m.hdr.req_id == 41 && strcmp(m.payload, "OK") == 0,
		 "reply %s id %u", rt_status(&m), m.hdr.req_id);
	payload[XS_RING_SIZE - XS_HEADER_SIZE] = '\0';
	rt_read_is(rd.dom0, 0, "/local/domain/7/full", payload + 5);

	/* Sixteen requests of 64 bytes filling it exactly. */
	memset(payload, 'q', 47);
	payload[47] = '\0';
	for (uint32_t i = 0; i < 16; i++)
		rt_raw_req(g.dom, XS_READ, 100 + i, payload, 48, false);
	RT_CHECK(r->req_prod - r->req_cons == XS_RING_SIZE, "not full");
	rt_raw_notify(g.dom);
	for (uint32_t i = 0; i < 16; i++) {
		RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0, "no reply %u", i);
		RT_CHECK(m.hdr.req_id == 100 + i && strcmp(rt_status(&m), "ENOENT") == 0,
			 "reply %u: id %u %s", i, m.hdr.req_id, rt_status(&m));
	}

	/* A reply of exactly 1024 bytes fills the response ring; the next waits for room. */
	memset(big, 'B', XS_RING_SIZE - XS_HEADER_SIZE);
	big[XS_RING_SIZE - XS_HEADER_SIZE] = '\0';
	rt_write(rd.dom0, 0, "/local/domain/7/big", big);
	rt_raw_req(g.dom, XS_READ, 200, "big", 4, true);
	{
		double end = rt_now_ms() + RT_CALL_MS;

		while (r->rsp_prod - r->rsp_cons != XS_RING_SIZE && rt_now_ms() < end)
			rt_sleep_ms(1);
	}
	RT_CHECK(r->rsp_prod - r->rsp_cons == XS_RING_SIZE, "response ring holds %u",
		 r->rsp_prod - r->rsp_cons);
	rt_raw_req(g.dom, XS_READ, 201, "full", 5, true);
	rt_sleep_ms(100);
	RT_CHECK(r->rsp_prod - r->rsp_cons == XS_RING_SIZE && r->error == 0,
		 "response ring overrun: %u pending, error %u", r->rsp_prod - r->rsp_cons, r->error);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0, "no 1024-byte reply");
	RT_CHECK(m.hdr.req_id == 200 && m.hdr.len == XS_RING_SIZE - XS_HEADER_SIZE &&
			 memcmp(m.payload, big, m.hdr.len) == 0,
		 "1024-byte reply wrong: id %u len %u", m.hdr.req_id, m.hdr.len);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0, "no reply after a full ring");
	RT_CHECK(m.hdr.req_id == 201 && m.hdr.type == XS_READ &&
			 m.hdr.len == XS_RING_SIZE - XS_HEADER_SIZE - 5,
		 "reply after a full ring: id %u len %u", m.hdr.req_id, m.hdr.len);
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

/* Daemon CPU ticks spent over ms of idling: a broken ring must not make it spin. */
static long long idle_ticks(const struct rt_daemon *rd, int ms)
{
	long long t0 = xst_daemon_cpu_ticks(&rd->d);

	rt_sleep_ms(ms);
	return xst_daemon_cpu_ticks(&rd->d) - t0;
}

enum corruption { REQ_TOO_FAR, REQ_BEHIND, RSP_CONS_AHEAD };

START_TEST(corrupt_indices_stop_that_ring_only)
{
	static const enum corruption kinds[] = {REQ_TOO_FAR, REQ_BEHIND, RSP_CONS_AHEAD};
	struct rt_daemon rd;
	struct rt_guest good, bad[3];
	struct xst_conn *w;
	struct xst_msg m;

	rt_start(&rd, NULL);
	w = rt_connect(&rd);
	rt_watch(w, "@releaseDomain", "rel", NULL);
	rt_watch(w, "@releaseDomain", "rel1", "1");
	rt_guest_here(&good, &rd, 8);
	for (unsigned i = 0; i < 3; i++) {
		struct xs_ring *r;

		rt_guest_here(&bad[i], &rd, 20 + i);
		r = bad[i].ring;
		rt_write(bad[i].c, 0, "data/x", "1");
		rt_quiesce(bad[i].dom, rd.dom0);
		switch (kinds[i]) {
		case REQ_TOO_FAR:
			xs_ring_store(&r->req_prod, r->req_cons + XS_RING_SIZE + 1);
			break;
		case REQ_BEHIND:
			xs_ring_store(&r->req_prod, r->req_cons - 1);
			break;
		case RSP_CONS_AHEAD:
			/* Our consumer index beyond what the daemon produced: it finds out when it answers. */
			xs_ring_store(&r->rsp_cons, r->rsp_prod + 8);
			rt_raw_req(bad[i].dom, XS_READ, 1, "data/x", 7, false);
			break;
		}
		rt_raw_notify(bad[i].dom);
		RT_CHECK(rt_wait_error(bad[i].dom, XS_RING_ERR_RINGIDX, RT_CALL_MS),
			 "corruption %u: error field %u", i, r->error);
		/* Everyone else is still served. */
		rt_probe(good.c, "data", i);
		rt_probe(rd.dom0, "/probe", i);
		/* It still exists: no @releaseDomain while it runs (robustness 1.3 #39). */
		rt_no_event(w, 30);
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, i == 0 ? "20" : i == 1 ? "21" : "22", "T");
	}
	RT_CHECK(idle_ticks(&rd, 300) <= 10, "the daemon spins after ignoring rings");
	/* Ignored for good: repaired indices and a valid request get no answer. */
	{
		struct xs_ring *r = bad[0].ring;

		xs_ring_store(&r->req_prod, r->req_cons);
		rt_raw_req(bad[0].dom, XS_READ, 2, "data/x", 7, true);
		RT_CHECK(rt_raw_take(bad[0].dom, &m, 200) < 0, "an ignored ring was answered");
		/* Not even a new INTRODUCE revives it (C never recovers either). */
		rt_must(rd.dom0, XS_INTRODUCE, 0, 0, RT_ARGS("20", "0", "1"), "OK");
		RT_CHECK(r->error == XS_RING_ERR_RINGIDX, "error field reset to %u", r->error);
		rt_raw_req(bad[0].dom, XS_READ, 3, "data/x", 7, true);
		RT_CHECK(rt_raw_take(bad[0].dom, &m, 200) < 0, "an ignored ring was answered");
	}
	rt_read_is(rd.dom0, 0, "/local/domain/20/data/x", "1");
	/* Destroyed: exactly one release each. */
	for (unsigned i = 0; i < 3; i++) {
		char name[32];

		rt_guest_down(&bad[i]);
		snprintf(name, sizeof(name), "@releaseDomain/%u", 20 + i);
		rt_event(w, "@releaseDomain", "rel");
		rt_event(w, name, "rel1");
		rt_no_event(w, 30);
	}
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/20"), "ENOENT");
	rt_probe(good.c, "data", 9);
	rt_guest_down(&good);
	xst_conn_close(w);
	rt_stop(&rd);
}
END_TEST

START_TEST(oversize_header_is_a_protocol_error)
{
	static const uint32_t lens[] = {4097, 65536, 0x40000000u, 0x7fffffffu, 0xffffffffu};
	struct rt_daemon rd;
	struct rt_guest good, bad;
	struct xst_msg m;
	long rss0;

	rt_start(&rd, NULL);
	rt_guest_here(&good, &rd, 8);
	rss0 = rt_rss(&rd);
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char hdr[XS_HEADER_SIZE + 8];
		struct xs_header h = {XS_WRITE, 9, 0, lens[i]};

		rt_guest_here(&bad, &rd, 30 + i);
		xs_header_encode(&h, hdr);
		memset(hdr + XS_HEADER_SIZE, 'x', 8);
		rt_raw_put(bad.dom, hdr, sizeof(hdr), true);
		RT_CHECK(rt_wait_error(bad.dom, XS_RING_ERR_PROTO, RT_CALL_MS), "len %#x: error field %u",
			 lens[i], bad.ring->error);
		RT_CHECK(rt_raw_take(bad.dom, &m, 50) < 0, "len %#x: answered", lens[i]);
		rt_probe(good.c, "data", i);
		rt_probe(rd.dom0, "/probe", i);
		rt_guest_down(&bad);
	}
	RT_CHECK(idle_ticks(&rd, 300) <= 10, "the daemon spins after a protocol error");
	RT_CHECK(rt_rss(&rd) - rss0 < 16 * 1024, "RSS grew by %ld KiB", rt_rss(&rd) - rss0);

	/* The largest legal message, 4096 bytes of payload, is a request like any other. */
	{
		char payload[XS_PAYLOAD_MAX];

		memcpy(payload, "big", 4);
		memset(payload + 4, 'v', sizeof(payload) - 4);
		rt_quiesce(good.dom, rd.dom0);
		unsigned char msg[XS_MSG_MAX];
		struct xs_header h = {XS_WRITE, 77, 0, XS_PAYLOAD_MAX};

		xs_header_encode(&h, msg);
		memcpy(msg + XS_HEADER_SIZE, payload, sizeof(payload));
		rt_raw_stream(good.dom, msg, sizeof(msg));
		RT_CHECK(rt_raw_take(good.dom, &m, RT_CALL_MS) == 0, "no reply to a 4096-byte payload");
		RT_CHECK(m.hdr.req_id == 77 && good.ring->error == 0, "reply id %u, error %u",
			 m.hdr.req_id, good.ring->error);
	}
	/* An empty payload gets an immediate answer (robustness 1.3 #4). */
	rt_raw_req(good.dom, XS_READ, 78, "", 0, true);
	RT_CHECK(rt_raw_take(good.dom, &m, RT_CALL_MS) == 0, "no reply to an empty READ");
	RT_CHECK(m.hdr.req_id == 78 && strcmp(rt_status(&m), "EINVAL") == 0, "empty READ: %s",
		 rt_status(&m));
	rt_raw_req(good.dom, XS_TRANSACTION_END, 79, "", 0, true);
	RT_CHECK(rt_raw_take(good.dom, &m, RT_CALL_MS) == 0, "no reply to an empty TRANSACTION_END");
	RT_CHECK(m.hdr.req_id == 79 && m.hdr.type == XS_ERROR, "empty TRANSACTION_END: %s",
		 rt_status(&m));
	rt_probe(good.c, "data", 99);
	rt_guest_down(&good);
	rt_stop(&rd);
}
END_TEST

START_TEST(partial_messages_wait_without_blocking_others)
{
	struct rt_daemon rd;
	struct rt_guest good, slow[4];
	unsigned char msg[XS_HEADER_SIZE + 7];
	struct xs_header h = {XS_READ, 5, 0, 7};
	struct xst_msg m;

	rt_start(&rd, NULL);
	rt_guest_here(&good, &rd, 8);
	xs_header_encode(&h, msg);
	memcpy(msg + XS_HEADER_SIZE, "data/x", 7);
	/* Four guests each send half a header, then fall silent (slowloris). */
	for (unsigned i = 0; i < 4; i++) {
		rt_guest_here(&slow[i], &rd, 40 + i);
		rt_write(slow[i].c, 0, "data/x", "s");
		rt_quiesce(slow[i].dom, rd.dom0);
		rt_raw_put(slow[i].dom, msg, 8, true);
	}
	for (unsigned i = 0; i < 5; i++) {
		RT_CHECK(rt_probe(good.c, "data", i) < RT_LIVE_MS, "guest slowed down");
		RT_CHECK(rt_probe(rd.dom0, "/probe", i) < RT_LIVE_MS, "dom0 slowed down");
	}
	for (unsigned i = 0; i < 4; i++)
		RT_CHECK(rt_raw_take(slow[i].dom, &m, 10) < 0, "half a header answered");
	/* The rest trickles in, a byte at a time: each is then answered once. */
	for (size_t b = 8; b < sizeof(msg); b++) {
		for (unsigned i = 0; i < 4; i++)
			rt_raw_put(slow[i].dom, msg + b, 1, true);
		rt_sleep_ms(2);
	}
	for (unsigned i = 0; i < 4; i++) {
		RT_CHECK(rt_raw_take(slow[i].dom, &m, RT_CALL_MS) == 0, "no reply after the last byte");
		RT_CHECK(m.hdr.req_id == 5 && m.hdr.type == XS_READ && strcmp(m.payload, "s") == 0,
			 "reply %s id %u", rt_status(&m), m.hdr.req_id);
		RT_CHECK(rt_raw_take(slow[i].dom, &m, 20) < 0, "a second reply");
		rt_guest_down(&slow[i]);
	}
	rt_guest_down(&good);
	rt_stop(&rd);
}
END_TEST

START_TEST(reconnection_handshake_discards_everything)
{
	struct rt_daemon rd;
	struct rt_guest g;
	struct xs_ring *r;
	xsl_txn_t tx;
	long watches0;

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	r = g.ring;
	RT_CHECK(r->server_features & XS_RING_F_RECONNECTION, "features %#x", r->server_features);
	watches0 = rt_stat(rd.dom0, "watches");
	rt_watch(g.c, "data", "w", NULL);
	tx = rt_tx_start(g.c);
	rt_write(g.c, tx, "data/intx", "1");
	/* A queued event it has not read, and a request it has produced but not signalled. */
	rt_write(rd.dom0, 0, "/local/domain/7/data/queued", "q");
	rt_quiesce(g.dom, rd.dom0);
	RT_CHECK(xs_ring_pending(&r->rsp_cons, &r->rsp_prod) > 0, "no queued event");
	rt_raw_req(g.dom, XS_WRITE, 3, "data/inflight\0v", 15, false);
	RT_CHECK(rt_raw_reconnect(g.dom, RT_CALL_MS) == 0, "reconnect: %s", strerror(errno));
	RT_CHECK(r->connection == XS_RING_CONNECTED && r->error == 0, "connection %u error %u",
		 r->connection, r->error);
	RT_CHECK(r->req_cons == 0 && r->req_prod == 0 && r->rsp_cons == 0 && r->rsp_prod == 0,
		 "indices after reconnect: %u %u %u %u", r->req_cons, r->req_prod, r->rsp_cons,
		 r->rsp_prod);
	rt_quiesce(g.dom, rd.dom0);
	RT_CHECK(xs_ring_pending(&r->rsp_cons, &r->rsp_prod) == 0, "output survived the reconnect");
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/7/data/inflight"), "ENOENT");
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/7/data/intx"), "ENOENT");
	RT_CHECK(rt_stat(rd.dom0, "watches") == watches0 && rt_stat(rd.dom0, "transactions") == 0,
		 "state survived the reconnect: watches %ld transactions %ld",
		 rt_stat(rd.dom0, "watches"), rt_stat(rd.dom0, "transactions"));
	/* Served again, from scratch. */
	xst_conn_close(g.c);
	g.c = xst_conn_ring(g.dom, RT_CALL_MS);
	rt_must(g.c, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "ENOENT");
	rt_write(rd.dom0, 0, "/local/domain/7/data/after", "a");
	rt_no_event(g.c, 50);
	rt_watch(g.c, "data", "w", NULL);
	rt_write(g.c, 0, "data/y", "y");
	rt_event(g.c, "data/y", "w");
	/* Several times in a row. */
	for (unsigned i = 0; i < 5; i++) {
		RT_CHECK(rt_raw_reconnect(g.dom, RT_CALL_MS) == 0, "reconnect %u", i);
		xst_conn_close(g.c);
		g.c = xst_conn_ring(g.dom, RT_CALL_MS);
		rt_read_is(g.c, 0, "data/y", "y");
	}
	RT_CHECK(rt_stat(rd.dom0, "watches") == watches0, "watches after reconnects");
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

START_TEST(introduce_resets_a_dirty_page)
{
	struct rt_daemon rd;
	struct rt_guest g;
	struct xs_ring *r;

	rt_start(&rd, NULL);
	rt_guest_register(&g, &rd, 9);
	r = g.ring;
	/* Leftovers from an earlier life, and a guest that asked to reconnect before we came. */
	r->req_cons = 77;
	r->req_prod = 12345;
	r->rsp_cons = 5;
	r->rsp_prod = 999999;
	r->connection = XS_RING_RECONNECT;
	memset(r->req, 0xAA, sizeof(r->req));
	rt_guest_introduce(&g, rd.dom0);
	rt_quiesce(g.dom, rd.dom0);
	RT_CHECK(r->req_cons == 0 && r->req_prod == 0 && r->rsp_cons == 0 && r->rsp_prod == 0,
		 "indices %u %u %u %u", r->req_cons, r->req_prod, r->rsp_cons, r->rsp_prod);
	RT_CHECK(r->connection == XS_RING_CONNECTED && r->error == 0, "connection %u error %u",
		 r->connection, r->error);
	RT_CHECK(r->server_features == (XS_RING_F_RECONNECTION | XS_RING_F_ERROR |
					XS_RING_F_WATCHDEPTH | XS_RING_F_DOMID_ANY),
		 "features %#x", r->server_features);
	rt_write(g.c, 0, "data/x", "1");
	rt_read_is(g.c, 0, "data/x", "1");
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

Suite *suite_edges(void)
{
	Suite *s = suite_create("ring-edges");
	TCase *tc = tcase_create("ring-edges");

	tcase_set_timeout(tc, RT_ASAN ? 120 : 60);
	tcase_add_test(tc, indices_wrap_past_2_32);
	tcase_add_test(tc, request_split_at_every_point);
	tcase_add_test(tc, reply_split_at_every_point);
	tcase_add_test(tc, exactly_full_rings);
	tcase_add_test(tc, corrupt_indices_stop_that_ring_only);
	tcase_add_test(tc, oversize_header_is_a_protocol_error);
	tcase_add_test(tc, partial_messages_wait_without_blocking_others);
	tcase_add_test(tc, reconnection_handshake_discards_everything);
	tcase_add_test(tc, introduce_resets_a_dirty_page);
	suite_add_tcase(s, tc);
	return s;
}

/* Scenario: framing on a socket: split headers and payloads, batches, pipelining, oversize, back-pressure. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

static void pause_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

static size_t build(unsigned char *buf, uint32_t type, uint32_t req, uint32_t tx, const void *p,
		    size_t len)
{
	struct xs_header h = {type, req, tx, (uint32_t)len};

	xs_header_encode(&h, buf);
	memcpy(buf + XS_HEADER_SIZE, p, len);
	return XS_HEADER_SIZE + len;
}

START_TEST(split_at_every_byte)
{
	struct xst_daemon d;
	struct xst_msg m;
	unsigned char msg[64];
	size_t len;

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	len = build(msg, XS_WRITE, 7, 0, "/split\0value", 12);
	for (size_t k = 1; k < len; k++) {
		ck_assert_int_eq(xst_wire_send(sc_wire(c), msg, k), 0);
		pause_ms(2); /* let the daemon read the first part on its own */
		ck_assert_int_eq(xst_wire_send(sc_wire(c), msg + k, len - k), 0);
		ck_assert_int_eq(xst_wire_recv(sc_wire(c), &m, 5000), 0);
		ck_assert_uint_eq(m.hdr.req_id, 7);
		SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
	}
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/split"), &m);
	SC_EXPECT_STR(&m, XS_READ, "value");
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(many_requests_in_one_write)
{
	struct xst_daemon d;
	struct xst_msg m;
	static unsigned char buf[200 * 64];
	size_t off = 0;

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/v", "x"), &m);
	/* Alternate good reads and reads in a bogus transaction: every reply echoes its ids. */
	for (uint32_t i = 0; i < 200; i++)
		off += build(buf + off, XS_READ, 1000 + i, i % 2 ? 77 + i : 0, "/v", 3);
	ck_assert_int_eq(xst_wire_send(sc_wire(c), buf, off), 0);
	for (uint32_t i = 0; i < 200; i++) {
		ck_assert_int_eq(xst_wire_recv(sc_wire(c), &m, 5000), 0);
		ck_assert_uint_eq(m.hdr.req_id, 1000 + i);
		ck_assert_uint_eq(m.hdr.tx_id, i % 2 ? 77 + i : 0);
		if (i % 2)
			SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
		else
			SC_EXPECT_STR(&m, XS_READ, "x");
	}
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(pipelined_writes_then_reads)
{
	struct xst_daemon d;
	struct xst_msg m;
	char path[32], payload[64];

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect_raw(&d);

	/* 32 in flight at a time, replies matched by req_id. */
	for (uint32_t i = 0; i < 2048; i++) {
		int n = snprintf(payload, sizeof(payload), "/pipe/n%u%cval%u", i, 0, i);

		ck_assert_int_eq(xst_wire_send_msg(sc_wire(c), XS_WRITE, i, 0, payload, (size_t)n),
				 0);
		if (i >= 31) {
			ck_assert_int_eq(xst_wire_recv(sc_wire(c), &m, 5000), 0);
			ck_assert_uint_eq(m.hdr.req_id, i - 31);
			SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
		}
	}
	for (uint32_t i = 2048 - 31; i < 2048; i++) {
		ck_assert_int_eq(xst_wire_recv(sc_wire(c), &m, 5000), 0);
		ck_assert_uint_eq(m.hdr.req_id, i);
	}
	for (uint32_t i = 0; i < 2048; i += 97) {
		char want[32];

		snprintf(path, sizeof(path), "/pipe/n%u", i);
		snprintf(want, sizeof(want), "val%u", i);
		sc_call(c, XS_READ, 0, 0, SC_ARGS(path), &m);
		sc_expect(&m, XS_READ, want, strlen(want));
	}
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(oversize_drops_only_that_connection)
{
	struct xst_daemon d;
	struct xst_msg m;
	unsigned char hdr[XS_HEADER_SIZE];
	long rss_before, rss_after;

	sc_start(&d, NULL);
	struct sc_conn *good = sc_connect(&d);

	rss_before = xst_daemon_rss_kb(&d);
	for (uint32_t len = XS_PAYLOAD_MAX + 1; len != 0; len = len == 4097 ? 0xffffffffu : 0) {
		struct sc_conn *bad = sc_connect_raw(&d);
		struct xs_header h = {XS_WRITE, 1, 0, len};

		xs_header_encode(&h, hdr);
		ck_assert_int_eq(xst_wire_send(sc_wire(bad), hdr, sizeof(hdr)), 0);
		ck_assert_int_eq(xst_wire_recv(sc_wire(bad), &m, 5000), -1); /* closed, no reply */
		sc_close(bad);
	}
	rss_after = xst_daemon_rss_kb(&d);
	/* The declared size was never allocated. */
	ck_assert_int_lt(rss_after - rss_before, 1024);
	sc_call(good, XS_WRITE, 0, 1, SC_ARGS("/still", "here"), &m);
	SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
	/* Exactly 4096 bytes is legal. */
	{
		static char big[XS_PAYLOAD_MAX];

		memcpy(big, "/big", 5);
		memset(big + 5, 'v', sizeof(big) - 5);
		ck_assert_int_eq(xst_request(good->lib, 0, XS_WRITE, big, sizeof(big), &m), 0);
		SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
		sc_call(good, XS_READ, 0, 0, SC_ARGS("/big"), &m);
		ck_assert_uint_eq(m.hdr.len, XS_PAYLOAD_MAX - 5);
	}
	sc_close(good);
	ck_assert(xst_daemon_alive(&d));
	sc_stop(&d);
}
END_TEST

START_TEST(reader_that_never_reads_is_bounded)
{
	struct xst_daemon d;
	struct xst_msg m;
	static char value[4000];
	unsigned char req[64];
	size_t rlen;
	long rss0, rss1;

	sc_start(&d, NULL);
	struct sc_conn *good = sc_connect(&d);
	struct sc_conn *lazy = sc_connect_raw(&d);

	memset(value, 'z', sizeof(value));
	{
		static char payload[8 + sizeof(value)];

		memcpy(payload, "/fat", 5);
		memcpy(payload + 5, value, sizeof(value));
		ck_assert_int_eq(
			xst_request(good->lib, 0, XS_WRITE, payload, 5 + sizeof(value), &m), 0);
	}
	rss0 = xst_daemon_rss_kb(&d);
	/* 20,000 reads of a 4000-byte value is 80 MB of replies nobody reads. */
	rlen = build(req, XS_READ, 1, 0, "/fat", 5);
	{
		static unsigned char batch[1000 * 21];
		size_t off = 0;

		for (int i = 0; i < 1000; i++) {
			memcpy(batch + off, req, rlen);
			off += rlen;
		}
		for (int i = 0; i < 20; i++) {
			/* The daemon stops reading us, so the socket fills: do not block forever. */
			ssize_t n = send(xst_wire_fd(sc_wire(lazy)), batch, off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0)
				break;
			pause_ms(5);
		}
	}
	pause_ms(200);
	rss1 = xst_daemon_rss_kb(&d);
	/* Bounded by the output limit (1 MiB by default) plus socket buffers, not 80 MB. */
	ck_assert_msg(rss1 - rss0 < 8 * 1024, "daemon grew by %ld KiB", rss1 - rss0);
	/* Others are served meanwhile. */
	for (int i = 0; i < 50; i++) {
		sc_call(good, XS_READ, 0, 0, SC_ARGS("/fat"), &m);
		ck_assert_uint_eq(m.hdr.len, sizeof(value));
	}
	sc_close(lazy);
	sc_close(good);
	ck_assert(xst_daemon_alive(&d));
	sc_stop(&d);
}
END_TEST

/*
 * A reply goes out at once when it is the only thing to send (the daemon's
 * direct way); once the socket is full it must queue the rest behind what
 * went, whole and in order. One READ of 4000 bytes per write, none read
 * until the socket has long filled, then all of them read back.
 */
START_TEST(replies_to_a_full_socket_come_whole_and_in_order)
{
	enum { N = 150 };
	struct xst_daemon d;
	struct xst_msg m;
	static char value[4000];
	static char payload[8 + sizeof(value)];
	unsigned char req[64];

	sc_start(&d, NULL);
	struct sc_conn *good = sc_connect(&d);
	struct sc_conn *lazy = sc_connect_raw(&d);

	memset(value, 'q', sizeof(value));
	memcpy(payload, "/fat", 5);
	memcpy(payload + 5, value, sizeof(value));
	ck_assert_int_eq(xst_request(good->lib, 0, XS_WRITE, payload, 5 + sizeof(value), &m), 0);
	for (uint32_t i = 1; i <= N; i++) {
		size_t rlen = build(req, XS_READ, i, 0, "/fat", 5);

		ck_assert_int_eq(xst_wire_send(sc_wire(lazy), req, rlen), 0);
		pause_ms(1); /* one request per read of the daemon's */
	}
	for (uint32_t i = 1; i <= N; i++) {
		ck_assert_int_eq(xst_wire_recv(sc_wire(lazy), &m, 5000), 0);
		ck_assert_uint_eq(m.hdr.type, XS_READ);
		ck_assert_uint_eq(m.hdr.req_id, i);
		ck_assert_uint_eq(m.hdr.len, sizeof(value));
		ck_assert(memcmp(m.payload, value, sizeof(value)) == 0);
	}
	sc_close(lazy);
	sc_close(good);
	sc_stop(&d);
}
END_TEST

Suite *suite_framing(void)
{
	Suite *s = suite_create("framing");
	TCase *tc = tcase_create("socket");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, split_at_every_byte);
	tcase_add_test(tc, many_requests_in_one_write);
	tcase_add_test(tc, pipelined_writes_then_reads);
	tcase_add_test(tc, oversize_drops_only_that_connection);
	tcase_add_test(tc, reader_that_never_reads_is_bounded);
	tcase_add_test(tc, replies_to_a_full_socket_come_whole_and_in_order);
	suite_add_tcase(s, tc);
	return s;
}

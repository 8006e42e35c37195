/* Ring tests: per-domain features (SET_FEATURE before INTRODUCE, server_features, GET_FEATURE from the guest) and per-domain quota values on a guest's ring. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tests/lib/xst_wire.h"

#define ALL_FEATURES (XS_RING_F_RECONNECTION | XS_RING_F_ERROR | XS_RING_F_WATCHDEPTH | XS_RING_F_DOMID_ANY)

/* GET_FEATURE (of domid, or the caller's own when NULL) must answer the decimal value. */
#define features_are(...) (RT_AT(), features_are_(__VA_ARGS__))
static void features_are_(struct xst_conn *c, const char *domid, unsigned expected)
{
	struct xst_msg m;
	char want[16];

	RT_CHECK(xst_request(c, 0, XS_GET_FEATURE, domid, domid ? strlen(domid) + 1 : 0, &m) == 0,
		 "no reply to GET_FEATURE");
	snprintf(want, sizeof(want), "%u", expected);
	RT_CHECK(m.hdr.type == XS_GET_FEATURE && m.hdr.len == strlen(want) + 1 &&
			 strcmp(m.payload, want) == 0,
		 "GET_FEATURE %s: %s '%s', expected %s", domid ? domid : "(own)", rt_status(&m), m.payload,
		 want);
}

/* A socket restricted to domain domid's rights. */
static struct xst_conn *restricted(const struct rt_daemon *rd, const char *domid)
{
	struct xst_conn *c = rt_connect(rd);

	rt_must(c, XS_CONTROL, 0, 0, RT_ARGS("restrict", domid), "OK");
	return c;
}

/* Watches under the domain's home until one is refused: how many it was allowed. */
static unsigned fill_watches(struct xst_conn *c, const char *prefix, unsigned most)
{
	char path[32];

	for (unsigned i = 0; i < most; i++) {
		int err;

		snprintf(path, sizeof(path), "%s%u", prefix, i);
		err = xst_watch(c, path, "t", -1);
		if (err) {
			RT_CHECK(err == -ENOSPC, "WATCH %s: %s", path, strerror(-err));
			return i;
		}
		rt_event(c, path, "t");
	}
	return most;
}

START_TEST(features_are_set_before_introduce)
{
	struct rt_daemon rd;
	struct rt_guest g7, g8;
	struct xst_conn *u;

	rt_start(&rd, NULL);
	rt_guest_register(&g7, &rd, 7);
	features_are(rd.dom0, "7", ALL_FEATURES);
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "16"), "EINVAL");
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "6"), "OK");
	features_are(rd.dom0, "7", XS_RING_F_ERROR | XS_RING_F_WATCHDEPTH);
	rt_guest_introduce(&g7, rd.dom0);
	/* The ring offers what was set, and the guest's own GET_FEATURE answers it. */
	RT_CHECK(g7.ring->server_features == (XS_RING_F_ERROR | XS_RING_F_WATCHDEPTH),
		 "features %#x", g7.ring->server_features);
	features_are(g7.c, NULL, XS_RING_F_ERROR | XS_RING_F_WATCHDEPTH);
	/* Another domain's, or its own by number, is privileged. */
	rt_must(g7.c, XS_GET_FEATURE, 0, 0, RT_ARGS("7"), "EACCES");
	rt_must(g7.c, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "15"), "EACCES");
	/* Too late once introduced, even to the same value. */
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "6"), "EBUSY");
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "15"), "EBUSY");
	/* A socket restricted to the domain is still a socket: everything. */
	u = restricted(&rd, "7");
	features_are(u, NULL, ALL_FEATURES);
	xst_conn_close(u);
	/* A domain left alone gets the default, and 0 is a valid choice. */
	rt_guest_here(&g8, &rd, 8);
	RT_CHECK(g8.ring->server_features == ALL_FEATURES, "features %#x", g8.ring->server_features);
	features_are(g8.c, NULL, ALL_FEATURES);
	rt_guest_down(&g8);
	rt_wait_gone(rd.dom0, 8);
	rt_guest_register(&g8, &rd, 8);
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("8", "0"), "OK");
	rt_guest_introduce(&g8, rd.dom0);
	RT_CHECK(g8.ring->server_features == 0, "features %#x", g8.ring->server_features);
	features_are(g8.c, NULL, 0);
	rt_write(g8.c, 0, "x", "1");
	/* A dead domain is no domain; one made again with its domid starts from the default. */
	rt_guest_down(&g7);
	rt_wait_gone(rd.dom0, 7);
	rt_must(rd.dom0, XS_GET_FEATURE, 0, 0, RT_ARGS("7"), "ENOENT");
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "2"), "ENOENT");
	rt_guest_here(&g7, &rd, 7);
	features_are(rd.dom0, "7", ALL_FEATURES);
	RT_CHECK(g7.ring->server_features == ALL_FEATURES, "features %#x", g7.ring->server_features);
	rt_guest_down(&g7);
	rt_guest_down(&g8);
	rt_stop(&rd);
}
END_TEST

START_TEST(quota_values_are_per_domain)
{
	struct rt_daemon rd;
	struct rt_guest g7, g8;
	struct xst_conn *u, *v;
	struct xst_msg m;
	unsigned n;
	xsl_txn_t tx;

	rt_start(&rd, NULL);
	/* Set before INTRODUCE, as a toolstack would: the guest comes with it. */
	rt_guest_register(&g7, &rd, 7);
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("7", "watches", "4"), "OK");
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("7", "transactions", "2"), "OK");
	rt_guest_introduce(&g7, rd.dom0);
	rt_guest_here(&g8, &rd, 8);
	RT_ANSWER_STR(rd.dom0, XS_GET_QUOTA, "watches", "128");
	n = fill_watches(g7.c, "w", 200);
	RT_CHECK(n == 3, "domain 7 was allowed %u watches, expected 3", n);
	n = fill_watches(g8.c, "w", 10);
	RT_CHECK(n == 10, "domain 8 was allowed %u watches", n);
	/* A socket restricted to domain 7 shares its values and its count; one restricted to 8, 8's. */
	u = restricted(&rd, "7");
	rt_must(u, XS_WATCH, 0, 0, RT_ARGS("/local/domain/7/u", "t"), "ENOSPC");
	v = restricted(&rd, "8");
	rt_watch(v, "/local/domain/8/v", "t", NULL);
	rt_call(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("quota", "7"), &m);
	RT_CHECK(strstr(m.payload, "\nwatches          :        3 (max        3)\n") != NULL, "quota 7: %s",
		 m.payload);
	/* One transaction of 2; the ring's and the socket's together. */
	tx = rt_tx_start(g7.c);
	rt_must(u, XS_TRANSACTION_START, 0, 0, RT_ARGS(""), "ENOSPC");
	rt_must(g7.c, XS_TRANSACTION_END, tx, 0, RT_ARGS("F"), "OK");
	tx = rt_tx_start(u);
	rt_must(g7.c, XS_TRANSACTION_START, 0, 0, RT_ARGS(""), "ENOSPC");
	rt_must(u, XS_TRANSACTION_END, tx, 0, RT_ARGS("F"), "OK");
	/* Changing one domain's value now applies to it at once, and to no other. */
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("7", "watches", "5"), "OK");
	rt_watch(u, "/local/domain/7/u", "t", NULL);
	rt_must(g7.c, XS_WATCH, 0, 0, RT_ARGS("w9", "t"), "ENOSPC");
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("8", "watches", "12"), "OK");
	rt_must(g8.c, XS_WATCH, 0, 0, RT_ARGS("w10", "t"), "ENOSPC");
	/* The global default is for domains to come: 7 and 8 keep theirs. */
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("watches", "1000"), "OK");
	rt_must(g7.c, XS_WATCH, 0, 0, RT_ARGS("w9", "t"), "ENOSPC");
	rt_call(rd.dom0, XS_GET_QUOTA, 0, 0, RT_ARGS("7", "watches"), &m);
	RT_CHECK(m.hdr.type == XS_GET_QUOTA && strcmp(m.payload, "5") == 0, "GET_QUOTA 7 watches: %s", m.payload);
	/* The guest's maxima reach CONTROL quota max; the privileged socket's never do. */
	rt_call(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("quota", "max"), &m);
	RT_CHECK(strstr(m.payload, "\nwatches          :       11\n") != NULL, "quota max: %s", m.payload);
	xst_conn_close(u);
	xst_conn_close(v);
	/* A dead domain is forgotten: quota <domid> has nothing, and its domid comes back with the defaults. */
	rt_guest_down(&g7);
	rt_wait_gone(rd.dom0, 7);
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("quota", "7"), "ENOENT");
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("7", "watches", "2"), "ENOENT");
	rt_guest_here(&g7, &rd, 7);
	rt_call(rd.dom0, XS_GET_QUOTA, 0, 0, RT_ARGS("7", "watches"), &m);
	RT_CHECK(strcmp(m.payload, "1000") == 0, "GET_QUOTA 7 watches after reuse: %s", m.payload);
	n = fill_watches(g7.c, "w", 20);
	RT_CHECK(n == 20, "domain 7 was allowed %u watches after reuse", n);
	rt_guest_down(&g7);
	rt_guest_down(&g8);
	rt_stop(&rd);
}
END_TEST

/*
 * outstanding: a domain whose replies pile up unsent (its response ring
 * full) gets no more requests read once it holds its quota of them, on any
 * of its connections; as it takes its replies, reading resumes, in order.
 */
START_TEST(outstanding_replies_stop_a_domains_input)
{
	enum { QUOTA = 5, SENT = 12 };
	static char big[1001];
	struct rt_daemon rd;
	struct rt_guest g;
	struct xst_wire *u;
	struct xst_msg m;
	char path[64];
	uint32_t reqlen = 0, base;

	memset(big, 'v', sizeof(big) - 1);
	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("7", "outstanding", "5"), "OK");
	rt_write(g.c, 0, "big", big);
	/* A socket restricted to domain 7, which shares its quota. */
	u = xst_wire_socket(rd.d.socket);
	RT_CHECK(u != NULL, "socket");
	RT_CHECK(xst_wire_send_msg(u, XS_CONTROL, 1, 0, "restrict\0" "7", 11) == 0, "send");
	RT_CHECK(xst_wire_recv(u, &m, 5000) == 0 && m.hdr.type == XS_CONTROL, "restrict: %s",
		 rt_status(&m));
	/* The client library must not take the replies: from here on the ring is driven by hand. */
	rt_quiesce(g.dom, rd.dom0);
	snprintf(path, sizeof(path), "/local/domain/7/big");
	base = g.ring->req_cons;
	for (uint32_t i = 1; i <= SENT; i++) {
		rt_raw_req(g.dom, XS_READ, 1000 + i, path, strlen(path) + 1, i == SENT);
		reqlen += XS_HEADER_SIZE + (uint32_t)strlen(path) + 1;
	}
	rt_quiesce(g.dom, rd.dom0);
	/* One reply (1,016 bytes) fills the response ring; QUOTA more wait in the daemon. */
	RT_CHECK(g.ring->req_cons - base == reqlen / SENT * (1 + QUOTA), "requests read: %u bytes of %u",
		 g.ring->req_cons - base, reqlen);
	rt_call(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("quota", "7"), &m);
	RT_CHECK(strstr(m.payload, "\noutstanding      :        5 (max        0)\n") != NULL, "quota 7: %s",
		 m.payload);
	/* The restricted socket's request waits too. */
	RT_CHECK(xst_wire_send_msg(u, XS_READ, 2, 0, path, strlen(path) + 1) == 0, "send");
	RT_CHECK(xst_wire_recv(u, &m, 300) != 0, "the restricted socket was answered at the quota");
	/* Take every reply, in order: the daemon reads on as they go. */
	for (uint32_t i = 1; i <= SENT; i++) {
		RT_CHECK(rt_raw_take(g.dom, &m, 5000) == 0, "reply %u did not come", i);
		RT_CHECK(m.hdr.type == XS_READ && m.hdr.req_id == 1000 + i && m.hdr.len == sizeof(big) - 1,
			 "reply %u: type %u req %u len %u", i, m.hdr.type, m.hdr.req_id, m.hdr.len);
		rt_raw_notify(g.dom);
	}
	RT_CHECK(xst_wire_recv(u, &m, 5000) == 0 && m.hdr.type == XS_READ && m.hdr.req_id == 2,
		 "the restricted socket's READ: %s", rt_status(&m));
	xst_wire_close(u);
	/* The usage is back to nothing (no maximum is kept, as the C daemon keeps none). */
	rt_call(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("quota", "7"), &m);
	RT_CHECK(strstr(m.payload, "\noutstanding      :        0 (max        0)\n") != NULL, "quota 7: %s",
		 m.payload);
	rt_guest_down(&g);
	rt_stop(&rd);
}
END_TEST

Suite *suite_quota(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("per-domain");

	tcase_set_timeout(tc, RT_ASAN ? 120 : 60);
	tcase_add_test(tc, features_are_set_before_introduce);
	tcase_add_test(tc, quota_values_are_per_domain);
	tcase_add_test(tc, outstanding_replies_stop_a_domains_input);
	suite_add_tcase(s, tc);
	return s;
}

/* Ring tests: writers cannot starve transactions (XSA-206): guests rewriting what a dom0 transaction reads. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

#define HAMMERS 3
#define FIRST_HAMMER 21u

/* A guest rewriting its data/x as fast as the daemon lets it, until told 's'. */
static int guest_hammer(struct rt_child *ch)
{
	uint32_t domid = (uint32_t)(uintptr_t)ch->arg;
	struct pollfd pfd = {.fd = ch->in_child, .events = POLLIN};
	struct rt_guest g;
	char val[32];
	unsigned n = 0;

	rt_guest_up(&g, ch->rd, domid);
	rt_write(g.c, 0, "data/x", "0");
	rt_child_tell(ch, 'r');
	while (poll(&pfd, 1, 0) == 0) {
		snprintf(val, sizeof(val), "%u", ++n);
		rt_write(g.c, 0, "data/x", val);
	}
	rt_child_hear(ch, 's');
	/* Still served once the transactions are over. */
	rt_write(g.c, 0, "data/x", "last");
	rt_read_is(g.c, 0, "data/x", "last");
	rt_child_tell(ch, 'd');
	rt_child_hear(ch, 'e');
	rt_guest_down(&g);
	return 0;
}

/*
 * A toolstack transaction: read every hammered node, think for 20 ms (the
 * guests write meanwhile), write a result, commit. The attempts it took, or
 * max + 1 if none of max committed.
 */
static unsigned attempts_to_commit(struct xst_conn *dom0, unsigned max)
{
	struct xst_msg m;

	for (unsigned a = 1; a <= max; a++) {
		xsl_txn_t tx = rt_tx_start(dom0);
		char path[64];

		for (unsigned i = 0; i < HAMMERS; i++) {
			snprintf(path, sizeof(path), "/local/domain/%u/data/x", FIRST_HAMMER + i);
			rt_call(dom0, XS_READ, tx, 0, RT_ARGS(path), &m);
			RT_CHECK(m.hdr.type == XS_READ, "READ in the transaction: %s", rt_status(&m));
		}
		rt_sleep_ms(20);
		rt_write(dom0, tx, "/tool/result", "r");
		rt_call(dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), &m);
		if (strcmp(rt_status(&m), "OK") == 0)
			return a;
		RT_CHECK(strcmp(rt_status(&m), "EAGAIN") == 0, "commit: %s", rt_status(&m));
	}
	return max + 1;
}

/* Run attempts_to_commit rounds times with HAMMERS guests hammering; the worst attempt count. */
static unsigned worst_under_hammering(struct rt_daemon *rd, unsigned rounds, unsigned max)
{
	struct rt_child ch[HAMMERS];
	unsigned worst = 0;

	for (unsigned i = 0; i < HAMMERS; i++) {
		rt_child_start(&ch[i], rd, guest_hammer, (void *)(uintptr_t)(FIRST_HAMMER + i));
		rt_hear(&ch[i], 'r');
	}
	for (unsigned r = 0; r < rounds; r++) {
		unsigned a = attempts_to_commit(rd->dom0, max);

		worst = a > worst ? a : worst;
	}
	for (unsigned i = 0; i < HAMMERS; i++)
		rt_tell(&ch[i], 's');
	for (unsigned i = 0; i < HAMMERS; i++)
		rt_hear(&ch[i], 'd');
	for (unsigned i = 0; i < HAMMERS; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/local/domain/%u/data/x", FIRST_HAMMER + i);
		rt_read_is(rd->dom0, 0, path, "last");
		rt_tell(&ch[i], 'e');
	}
	for (unsigned i = 0; i < HAMMERS; i++)
		rt_child_join(&ch[i]);
	for (unsigned i = 0; i < HAMMERS; i++)
		rt_wait_gone(rd->dom0, FIRST_HAMMER + i);
	return worst;
}

/* The attack is real: without protection the toolstack's transaction never gets through. */
START_TEST(hammering_guests_starve_an_unprotected_transaction)
{
	struct rt_daemon rd;
	unsigned worst;

	rt_start_conf(&rd, "txn-protect-after = 0\n");
	worst = worst_under_hammering(&rd, 1, 10);
	RT_CHECK(worst == 11, "an unprotected transaction committed at attempt %u", worst);
	rt_stop(&rd);
}
END_TEST

/* With it (the default, 2 conflicts), every transaction commits within 3 attempts. */
START_TEST(hammering_guests_cannot_starve_a_transaction)
{
	struct rt_daemon rd;
	unsigned worst;

	rt_start(&rd, NULL);
	worst = worst_under_hammering(&rd, 5, 10);
	printf("xsa206: worst of 5 dom0 transactions under %u hammering guests: %u attempts\n",
	       HAMMERS, worst);
	RT_CHECK(worst <= 3, "a transaction needed %u attempts", worst);
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	rt_stop(&rd);
}
END_TEST

/* dom0 conflicts twice on x (its own writes): its next transaction is protected. */
static xsl_txn_t protected_txn_on(struct xst_conn *dom0, const char *x)
{
	struct xst_msg m;
	xsl_txn_t tx;

	for (int i = 0; i < 2; i++) {
		tx = rt_tx_start(dom0);
		rt_call(dom0, XS_READ, tx, 0, RT_ARGS(x), &m);
		rt_write(dom0, 0, x, "dom0");
		rt_must(dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "EAGAIN");
	}
	tx = rt_tx_start(dom0);
	rt_call(dom0, XS_READ, tx, 0, RT_ARGS(x), &m);
	return tx;
}

/* A request sent without waiting: whether and how it was answered. */
struct pending {
	bool done;
	int err;
	char reply[8];
};

static void answered(struct xsl *h, int err, const char *reply, size_t len, void *arg)
{
	struct pending *p = arg;

	(void)h;
	p->done = true;
	p->err = err;
	snprintf(p->reply, sizeof(p->reply), "%.*s", (int)len, err ? "" : reply);
}

/* Whether p is answered within ms (the library does the I/O meanwhile). */
static bool answer_within(struct xst_conn *c, struct pending *p, int ms)
{
	double end = rt_now_ms() + ms;

	while (!p->done && rt_now_ms() < end)
		RT_CHECK(xsl_pump(xst_conn_xsl(c), (int)(end - rt_now_ms()) + 1) >= 0, "pump");
	return p->done;
}

/* Send a guest's WRITE and see whether it is answered within ms (p says how, if so or later). */
static bool answered_within(struct xst_conn *c, const char *path, const char *val, int ms,
			    struct pending *p)
{
	char buf[256];
	int len = xst_payload(buf, sizeof(buf), 1, RT_ARGS(path, val));

	memset(p, 0, sizeof(*p));
	RT_CHECK(len > 0 && xsl_request_async(xst_conn_xsl(c), 0, XS_WRITE, buf, (size_t)len,
					      answered, p) == 0,
		 "send");
	return answer_within(c, p, ms);
}

/*
 * The mechanism step by step: a guest's write to what a protected
 * transaction read waits (its later requests too) until the commit, then
 * goes through; a write elsewhere does not wait; a domain dying while its
 * write waits costs nothing.
 */
START_TEST(a_write_waits_for_a_protected_transaction)
{
	struct rt_daemon rd;
	struct rt_guest g, other;
	struct pending p;
	xsl_txn_t tx;

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	rt_guest_here(&other, &rd, 8);
	rt_write(g.c, 0, "data/x", "0");
	tx = protected_txn_on(rd.dom0, "/local/domain/7/data/x");
	/* Elsewhere: no wait. */
	rt_write(g.c, 0, "data/y", "1");
	rt_write(other.c, 0, "data/x", "1");
	/* What the transaction read: parked. */
	RT_CHECK(!answered_within(g.c, "data/x", "guest", 150, &p), "the write did not wait");
	rt_write(rd.dom0, tx, "/tool/result", "r");
	rt_must(rd.dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "OK");
	RT_CHECK(answer_within(g.c, &p, 2000) && p.err == 0 && strcmp(p.reply, "OK") == 0,
		 "the parked write was not answered after the commit");
	rt_read_is(rd.dom0, 0, "/local/domain/7/data/x", "guest");

	/* The protection ends by itself after txn-protect-ms; the transaction may then conflict. */
	tx = protected_txn_on(rd.dom0, "/local/domain/7/data/x");
	RT_CHECK(answered_within(g.c, "data/x", "late", 3000, &p) && p.err == 0 &&
			 strcmp(p.reply, "OK") == 0,
		 "the write waited past the protection");
	rt_must(rd.dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "EAGAIN");

	/* A domain that dies while its write waits. */
	tx = protected_txn_on(rd.dom0, "/local/domain/7/data/x");
	RT_CHECK(!answered_within(g.c, "data/x", "dead", 150, &p), "the write did not wait");
	rt_guest_down(&g);
	rt_wait_gone(rd.dom0, 7);
	/* The domain's nodes went with it, the one the transaction read among them. */
	rt_must(rd.dom0, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "EAGAIN");
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/7/data/x"), "ENOENT");
	rt_read_is(other.c, 0, "data/x", "1");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	rt_guest_down(&other);
	rt_stop(&rd);
}
END_TEST

Suite *suite_starve(void)
{
	Suite *s = suite_create("starve");
	TCase *tc = tcase_create("starve");

	tcase_set_timeout(tc, RT_ASAN ? 120 : 60);
	tcase_add_test(tc, a_write_waits_for_a_protected_transaction);
	tcase_add_test(tc, hammering_guests_cannot_starve_a_transaction);
	tcase_add_test(tc, hammering_guests_starve_an_unprotected_transaction);
	suite_add_tcase(s, tc);
	return s;
}

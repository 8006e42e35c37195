/* Random requests over sockets (tests/lib/xst_fuzz.h): the daemon answers each one and stays whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "sc_util.h"
#include "tests/lib/xst_fuzz.h"

/* Random bytes, sometimes behind a well-formed header: the daemon may drop this connection. */
static struct xst_wire *fuzz_garbage(struct xst_fuzz *f, const struct xst_daemon *d,
				     struct xst_wire *g)
{
	unsigned char buf[512];
	size_t n = 1 + xst_fuzz_pick(f, sizeof(buf));
	struct xst_msg m;

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)xst_fuzz_rand(f);
	if (xst_fuzz_pick(f, 2)) {
		struct xs_header h = {xst_fuzz_pick(f, XS_TYPE_COUNT), xst_fuzz_rand(f), 0,
				      (uint32_t)(n > sizeof(h) ? n - sizeof(h) : 0)};

		if (xst_fuzz_pick(f, 4) == 0)
			h.len = xst_fuzz_rand(f);
		memcpy(buf, &h, n < sizeof(h) ? n : sizeof(h));
	}
	if (xst_wire_send(g, buf, n) < 0 || (xst_wire_recv(g, &m, 0) < 0 && errno != ETIMEDOUT)) {
		xst_wire_close(g);
		g = xst_wire_socket(d->socket);
		ck_assert_ptr_nonnull(g);
	}
	return g;
}

/*
 * From a privileged and a deprivileged connection, each request declaring
 * at most 4096 bytes gets its reply, with its req_id, on a connection that
 * stays open; a third connection sends raw garbage and may be dropped. At
 * the end every connection answers, the tree passes CONTROL check, and the
 * daemon exits cleanly (under the sanitizers too). XST_FUZZ_SEED picks the
 * seed.
 */
START_TEST(random_requests_get_answers)
{
	struct xst_daemon d;
	struct xst_msg *m = malloc(sizeof(*m));
	uint64_t seed = xst_fuzz_env_seed();
	unsigned n = SC_ASAN ? 6000 : 30000;
	struct xst_fuzz f;
	struct xst_fuzz_conn conns[2] = {{0}};
	struct sc_conn *c[2];
	struct xst_wire *garbage;
	char err[256];

	ck_assert_ptr_nonnull(m);
	xst_fuzz_seed(&f, seed);
	sc_start(&d, NULL);
	c[0] = sc_connect_raw(&d);
	c[1] = sc_connect_raw(&d);
	sc_restrict(c[1], 5);
	conns[0].w = sc_wire(c[0]);
	conns[0].privileged = 1;
	conns[1].w = sc_wire(c[1]);
	garbage = xst_wire_socket(d.socket);
	ck_assert_ptr_nonnull(garbage);
	SC_OK(c[0], XS_WRITE, 0, 1, "/f/a/b", "v");
	SC_OK(c[0], XS_SET_PERMS, 0, 0, "/f", "n0", "b5");
	for (unsigned i = 0; i < n; i++) {
		if (xst_fuzz_pick(&f, 20) == 0)
			garbage = fuzz_garbage(&f, &d, garbage);
		else
			ck_assert_msg(xst_fuzz_one(&f, &conns[xst_fuzz_pick(&f, 2)], m, 5000, err,
						   sizeof(err)) == 0,
				      "seed %llu: %s", (unsigned long long)seed, err);
	}
	/* Both still answer (events of their random watches may come first). */
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(xst_wire_send_msg(conns[k].w, XS_READ, 0, 0, "/", 2), 0);
		do
			ck_assert_int_eq(xst_wire_recv(conns[k].w, m, 5000), 0);
		while (m->hdr.type == XS_WATCH_EVENT);
		ck_assert_msg(m->hdr.type == XS_READ || m->hdr.type == XS_ERROR, "type %u",
			      m->hdr.type);
	}
	xst_wire_close(garbage);
	/* A fresh client through the library: the tree passes the check. */
	{
		struct sc_conn *checker = sc_connect(&d);

		xsl_set_timeout(xst_conn_xsl(checker->lib), 30000);
		sc_call(checker, XS_CONTROL, 0, 0, SC_ARGS("check"), m);
		SC_EXPECT_STR(m, XS_CONTROL, "OK\0");
		sc_close(checker);
	}
	printf("fuzz: %u requests from seed %llu answered, %u of them not with an error; %u"
	       " watch events; tree checked\n",
	       f.requests, (unsigned long long)seed, f.accepted, f.events);
	/* Not a test of error paths alone: a fair share must get through. */
	ck_assert_uint_gt(f.accepted, f.requests / 10);
	sc_close(c[0]);
	sc_close(c[1]);
	sc_stop(&d);
	free(m);
}
END_TEST

Suite *suite_fuzz(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("fuzz");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, random_requests_get_answers);
	suite_add_tcase(s, tc);
	return s;
}

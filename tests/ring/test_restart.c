/*
 * Guests survive a restart of the daemon, stopped cleanly or killed: the
 * store keeps the introduced domains (target, features, quotas of their
 * own) and their rings' watches; the new daemon takes up every live one
 * without a new INTRODUCE, cleans up after those that died meanwhile, and
 * asks a guest to reconnect when where its ring's messages stood is
 * unknown, never serving a ring whose framing it lost.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"

static void check_ok(struct rt_daemon *rd)
{
	rt_must(rd->dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
}

/* Domain domid, introduced from here, with a client over its ring that reconnects when asked. */
static void guest_reconnecting(struct rt_guest *g, struct rt_daemon *rd, uint32_t domid)
{
	rt_guest_register(g, rd, domid);
	g->c = xst_conn_ring_reconnecting(g->dom, RT_CALL_MS);
	RT_CHECK(g->c != NULL, "no ring client: %s", strerror(errno));
	rt_guest_introduce(g, rd->dom0);
}

/*
 * What is kept of a domain besides its ring: its features (SET_FEATURE
 * before INTRODUCE), a quota value of its own, the target of a device
 * model, and watches absolute, relative and with a depth. Each restart,
 * clean and killed, brings all of it back, and the watches fire for
 * changes made after it (not again for the restart).
 */
START_TEST(restart_keeps_what_domains_were_given)
{
	struct rt_daemon rd;
	struct rt_guest g7, dm;

	rt_start(&rd, NULL);
	rt_guest_register(&g7, &rd, 7);
	rt_must(rd.dom0, XS_SET_FEATURE, 0, 0, RT_ARGS("7", "3"), "OK");
	rt_guest_introduce(&g7, rd.dom0);
	rt_guest_here(&dm, &rd, 8);
	rt_must(rd.dom0, XS_SET_TARGET, 0, 0, RT_ARGS("8", "7"), "OK");
	rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS("7", "watches", "9"), "OK");
	rt_write(g7.c, 0, "data/x", "1");
	rt_write(g7.c, 0, "rel", "");
	rt_write(g7.c, 0, "deep", "");
	rt_watch(g7.c, "/local/domain/7/data", "abs", NULL);
	rt_watch(g7.c, "rel", "rel", NULL);
	rt_watch(g7.c, "deep", "depth", "1");
	for (int round = 0; round < 2; round++) {
		rt_restart_keep_hyp(&rd, round == 1);
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "7", "T");
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "8", "T");
		RT_ANSWER_STR(rd.dom0, XS_GET_FEATURE, "7", "3");
		RT_CHECK(g7.ring->server_features == 3, "server_features %u", g7.ring->server_features);
		RT_ANSWER_STR(rd.dom0, XS_GET_FEATURE, "8", "15");
		{
			struct xst_msg m;

			rt_call(rd.dom0, XS_GET_QUOTA, 0, 0, RT_ARGS("7", "watches"), &m);
			RT_CHECK(strcmp(m.payload, "9") == 0, "domain 7's watch quota: %s", m.payload);
		}
		/* The device model acts for its target still. */
		rt_read_is(dm.c, 0, "/local/domain/7/data/x", round == 0 ? "1" : "2");
		rt_write(dm.c, 0, "/local/domain/7/data/x", "2");
		rt_event(g7.c, "/local/domain/7/data/x", "abs");
		rt_no_event(g7.c, 30);
		rt_write(rd.dom0, 0, "/local/domain/7/rel/a", "r");
		rt_event(g7.c, "rel/a", "rel");
		rt_write(rd.dom0, 0, "/local/domain/7/deep/a", "d");
		rt_event(g7.c, "deep/a", "depth");
		rt_write(rd.dom0, 0, "/local/domain/7/deep/a/b", "too deep");
		rt_no_event(g7.c, 30);
		rt_must(rd.dom0, XS_RM, 0, 0, RT_ARGS("/local/domain/7/rel/a"), "OK");
		rt_event(g7.c, "rel/a", "rel");
		rt_must(rd.dom0, XS_RM, 0, 0, RT_ARGS("/local/domain/7/deep/a"), "OK");
		rt_event(g7.c, "deep/a", "depth");
		check_ok(&rd);
	}
	/* An UNWATCH after a restart is kept too: the next restart does not bring it back. */
	rt_must(g7.c, XS_UNWATCH, 0, 0, RT_ARGS("rel", xst_watch_token(g7.c, "rel")), "OK");
	rt_restart_keep_hyp(&rd, true);
	check_ok(&rd);
	rt_write(rd.dom0, 0, "/local/domain/7/rel/b", "r");
	rt_no_event(g7.c, 50);
	rt_write(rd.dom0, 0, "/local/domain/7/data/x", "3");
	rt_event(g7.c, "/local/domain/7/data/x", "abs");
	/* The target goes: the device model's rights with it, kept so too. */
	rt_guest_down(&g7);
	rt_wait_gone(rd.dom0, 7);
	check_ok(&rd);
	rt_restart_keep_hyp(&rd, true);
	check_ok(&rd);
	rt_write(dm.c, 0, "data/after", "1");
	rt_guest_down(&dm);
	rt_wait_gone(rd.dom0, 8);
	check_ok(&rd);
	rt_stop(&rd);
}
END_TEST

/*
 * Domains that went while the daemon was down: one destroyed, one released
 * before the stop. The new daemon does not take them up; the dead one is
 * cleaned up as a death: its nodes and the permission entries naming it go,
 * then @releaseDomain fires (heard here by a guest's watch, kept from
 * before). Once cleanly stopped, once killed.
 */
START_TEST(restart_cleans_up_domains_that_died)
{
	for (int round = 0; round < 2; round++) {
		struct rt_daemon rd;
		struct rt_guest g7, g8, g9;
		struct xst_msg m;

		rt_start(&rd, NULL);
		rt_guest_here(&g7, &rd, 7);
		rt_guest_here(&g8, &rd, 8);
		rt_guest_here(&g9, &rd, 9);
		rt_write(g8.c, 0, "data/x", "8");
		rt_write(rd.dom0, 0, "/shared/x", "s");
		rt_must(rd.dom0, XS_SET_PERMS, 0, 0, RT_ARGS("/shared/x", "n0", "r8", "r7"), "OK");
		rt_must(rd.dom0, XS_SET_PERMS, 0, 0, RT_ARGS("@releaseDomain", "n0", "r7"), "OK");
		rt_watch(g7.c, "@releaseDomain", "rel", NULL);
		rt_must(rd.dom0, XS_RELEASE, 0, 0, RT_ARGS("9"), "OK");
		rt_event(g7.c, "@releaseDomain", "rel");
		rt_wait_gone(rd.dom0, 9);
		if (round == 0) {
			RT_CHECK(xst_daemon_stop_keep_hyp(&rd.d) == 0, "daemon exit");
		} else {
			kill(rd.d.pid, SIGKILL);
			waitpid(rd.d.pid, NULL, 0);
			rd.d.pid = -1;
		}
		xst_conn_close(rd.dom0);
		rd.dom0 = NULL;
		rt_guest_down(&g8);
		{
			char dir[sizeof(rd.d.dir)];

			strcpy(dir, rd.d.dir);
			RT_CHECK(xst_daemon_start(&rd.d, XST_OURS, dir, NULL) == 0, "daemon did not restart");
			rd.d.own_dir = 1;
			rd.dom0 = rt_connect(&rd);
		}
		rt_event(g7.c, "@releaseDomain", "rel");
		rt_no_event(g7.c, 30);
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "7", "T");
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "8", "F");
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "9", "F");
		rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/8/data/x"), "ENOENT");
		rt_perms_are(rd.dom0, "/shared/x", "n0 r7");
		/* Released, not dead: its ring is not served again. */
		rt_raw_req(g9.dom, XS_READ, 3, "data", 5, true);
		RT_CHECK(rt_raw_take(g9.dom, &m, 100) < 0, "a released domain's ring was answered");
		rt_read_is(g7.c, 0, "/shared/x", "s");
		check_ok(&rd);
		rt_guest_down(&g9);
		rt_guest_down(&g7);
		rt_wait_gone(rd.dom0, 7);
		rt_stop(&rd);
	}
}
END_TEST

/*
 * A request half taken when the daemon was killed (its header read, its
 * payload not yet written by the guest): where the ring's messages stand is
 * unknown to the next daemon, which never serves such a ring as it is. It
 * asks the guest to reconnect (error field XS_RING_ERR_COMM); the guest's
 * reconnection starts the ring afresh and its calls are answered. A guest
 * whose library reconnects by itself sees at most its calls in flight fail
 * (ECONNRESET); its watches are registered again and fire.
 */
START_TEST(request_in_flight_at_the_kill)
{
	struct rt_daemon rd;
	struct rt_guest raw, lib;
	struct xst_msg m;
	unsigned char half[XS_HEADER_SIZE + 4];
	struct xs_header h = {XS_WRITE, 5, 0, 12};
	struct xsl_stats st;
	unsigned seen = 0;
	struct xst_event ev;

	rt_start(&rd, NULL);
	rt_guest_here(&raw, &rd, 7);
	xst_conn_close(raw.c); /* raw access from here on */
	raw.c = NULL;
	guest_reconnecting(&lib, &rd, 8);
	rt_watch(lib.c, "data", "w", NULL);
	/* A WRITE of 12 bytes of which the guest has written 4: the daemon takes what is there. */
	xs_header_encode(&h, half);
	memcpy(half + XS_HEADER_SIZE, "data", 4);
	rt_raw_put(raw.dom, half, sizeof(half), true);
	rt_quiesce(raw.dom, rd.dom0);
	RT_CHECK(raw.ring->req_cons == sizeof(half), "the daemon took %u bytes", raw.ring->req_cons);
	/* The same under the library's feet, which is idle meanwhile. */
	rt_raw_put(lib.dom, half, sizeof(half), true);
	rt_quiesce(lib.dom, rd.dom0);
	rt_restart_keep_hyp(&rd, true);
	RT_CHECK(rt_wait_error(raw.dom, XS_RING_ERR_COMM, RT_CALL_MS), "error field %u, not COMM", raw.ring->error);
	RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "7", "T");
	/* Nothing more is taken meanwhile, not even the rest of the message. */
	rt_raw_put(raw.dom, "/x\0vvvvvv", 8, true);
	RT_CHECK(rt_raw_take(raw.dom, &m, 100) < 0, "a ring of unknown framing was answered");
	RT_CHECK(raw.ring->req_cons == sizeof(half), "the daemon took bytes: %u", raw.ring->req_cons);
	RT_CHECK(rt_raw_reconnect(raw.dom, RT_CALL_MS) == 0, "no reconnection");
	RT_CHECK(raw.ring->req_cons == 0 && raw.ring->req_prod == 0 && raw.ring->rsp_cons == 0 &&
			 raw.ring->rsp_prod == 0 && raw.ring->error == 0,
		 "ring after reconnection: %u %u %u %u error %u", raw.ring->req_cons, raw.ring->req_prod,
		 raw.ring->rsp_cons, raw.ring->rsp_prod, raw.ring->error);
	rt_raw_req(raw.dom, XS_READ, 9, "/local/domain/7", 16, true);
	RT_CHECK(rt_raw_take(raw.dom, &m, RT_CALL_MS) == 0, "no reply after reconnection");
	RT_CHECK(m.hdr.type == XS_READ && m.hdr.req_id == 9, "reply type %u id %u", m.hdr.type, m.hdr.req_id);
	/* The library reconnects at its next call; the call is answered, or fails once, in flight. */
	RT_CHECK(rt_wait_error(lib.dom, XS_RING_ERR_COMM, RT_CALL_MS), "library ring error %u", lib.ring->error);
	{
		int err = xst_call(lib.c, 0, XS_WRITE, 1, RT_ARGS("data/z", "1"), &m);

		if (err == -ECONNRESET)
			err = xst_call(lib.c, 0, XS_WRITE, 1, RT_ARGS("data/z", "1"), &m);
		RT_CHECK(err == 0 && m.hdr.type == XS_WRITE, "WRITE after the restart: %s",
			 err ? strerror(-err) : m.payload);
	}
	xsl_stats(xst_conn_xsl(lib.c), &st);
	RT_CHECK(st.reconnects == 1 && st.replay_failures == 0, "reconnects %llu, replay failures %llu",
		 (unsigned long long)st.reconnects, (unsigned long long)st.replay_failures);
	/* Its watch was registered again (its initial event), and fires. */
	while (xst_event(lib.c, &ev, 200) == 0) {
		RT_CHECK(strcmp(ev.path, "data") == 0 || strcmp(ev.path, "data/z") == 0, "event %s", ev.path);
		seen |= strcmp(ev.path, "data/z") == 0;
	}
	RT_CHECK(seen, "no event for data/z");
	rt_write(rd.dom0, 0, "/local/domain/8/data/y", "1");
	rt_event(lib.c, "data/y", "w");
	check_ok(&rd);
	rt_guest_down(&lib);
	rt_guest_down(&raw);
	rt_wait_gone(rd.dom0, 7);
	rt_wait_gone(rd.dom0, 8);
	rt_stop(&rd);
}
END_TEST

/* The raw guests' watch, and their READ: a reply of 16 + 112 bytes, so eight fill the response ring exactly. */
static const char raw_watch[] = "/local/domain/7/w\0tok";
#define RAW_READ_LEN 112u

/*
 * Guest 7, raw from here on, with a watch (its reply and initial event
 * taken) and the response ring full of eight whole READ replies (ids 10 to
 * 17) it does not read.
 */
static void fill_response_ring(struct rt_daemon *rd, struct rt_guest *g)
{
	struct xst_msg m;
	char value[RAW_READ_LEN + 1];

	rt_guest_here(g, rd, 7);
	xst_conn_close(g->c);
	g->c = NULL;
	memset(value, 'v', RAW_READ_LEN);
	value[RAW_READ_LEN] = '\0';
	rt_write(rd->dom0, 0, "/local/domain/7/v", value);
	rt_raw_req(g->dom, XS_WATCH, 1, raw_watch, sizeof(raw_watch), true);
	RT_CHECK(rt_raw_take(g->dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_WATCH, "no WATCH reply");
	RT_CHECK(rt_raw_take(g->dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_WATCH_EVENT, "no initial event");
	for (uint32_t id = 10; id < 18; id++)
		rt_raw_req(g->dom, XS_READ, id, "/local/domain/7/v", 18, true);
	rt_quiesce(g->dom, rd->dom0);
	RT_CHECK(g->ring->rsp_prod - g->ring->rsp_cons == XS_RING_SIZE, "response ring holds %u bytes",
		 g->ring->rsp_prod - g->ring->rsp_cons);
}

/* The next message must be the reply to READ id, or the watch's event (id 0). */
static void take_read_or_event(struct rt_guest *g, uint32_t id)
{
	struct xst_msg m;

	RT_CHECK(rt_raw_take(g->dom, &m, RT_CALL_MS) == 0, "no message (READ %u)", id);
	if (id)
		RT_CHECK(m.hdr.type == XS_READ && m.hdr.req_id == id && m.hdr.len == RAW_READ_LEN,
			 "reply %u: type %u id %u", id, m.hdr.type, m.hdr.req_id);
	else
		RT_CHECK(m.hdr.type == XS_WATCH_EVENT && memcmp(m.payload, raw_watch, sizeof(raw_watch)) == 0,
			 "event: type %u '%s'", m.hdr.type, m.payload);
}

/*
 * Requests taken whole and not answered when the daemon was killed, the
 * ring's messages whole (a guest that does not read its replies: the
 * response ring full of whole replies, one more reply and a watch event
 * queued behind): the next daemon goes on from the indices, answers the
 * request it cannot know the outcome of with ERROR EIO, and fires the
 * guest's watch again for the event that was lost. The guest, no
 * reconnection needed, reads all of it in order and goes on.
 */
START_TEST(reply_owed_at_the_kill)
{
	struct rt_daemon rd;
	struct rt_guest g;
	struct xst_msg m;

	rt_start(&rd, NULL);
	fill_response_ring(&rd, &g);
	rt_write(rd.dom0, 0, "/local/domain/7/w", "changed"); /* its event waits */
	rt_raw_req(g.dom, XS_READ, 18, "/local/domain/7/v", 18, true);
	rt_quiesce(g.dom, rd.dom0);
	RT_CHECK(g.ring->req_cons == g.ring->req_prod, "request not taken");
	rt_restart_keep_hyp(&rd, true);
	RT_CHECK(g.ring->error == 0, "ring error %u", g.ring->error);
	for (uint32_t id = 10; id < 18; id++)
		take_read_or_event(&g, id);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0, "no answer to the request owed");
	RT_CHECK(m.hdr.type == XS_ERROR && m.hdr.req_id == 18 && strcmp(m.payload, "EIO") == 0,
		 "answer to the request owed: type %u id %u '%s'", m.hdr.type, m.hdr.req_id, m.payload);
	take_read_or_event(&g, 0); /* the lost event, made up for */
	RT_CHECK(rt_raw_take(g.dom, &m, 50) < 0, "more output: type %u", m.hdr.type);
	rt_raw_req(g.dom, XS_READ, 19, "/local/domain/7/w", 18, true);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_READ && m.hdr.req_id == 19 &&
			 strcmp(m.payload, "changed") == 0,
		 "READ after the restart: type %u '%s'", m.hdr.type, m.payload);
	rt_write(rd.dom0, 0, "/local/domain/7/w", "again");
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_WATCH_EVENT, "no event after");
	check_ok(&rd);
	rt_guest_down(&g);
	rt_wait_gone(rd.dom0, 7);
	rt_stop(&rd);
}
END_TEST

/*
 * A clean stop loses nothing in flight: a guest that does not read its
 * replies (the response ring full, an event and a reply queued behind) and
 * that is half way through writing a request finds, after the restart, all
 * of its replies and the event in order, and the rest of its request read
 * on from where it was.
 */
START_TEST(clean_stop_keeps_what_is_in_flight)
{
	struct rt_daemon rd;
	struct rt_guest g;
	struct xst_msg m;
	unsigned char half[XS_HEADER_SIZE + 4];
	struct xs_header h = {XS_WRITE, 20, 0, 12};

	rt_start(&rd, NULL);
	fill_response_ring(&rd, &g);
	rt_write(rd.dom0, 0, "/local/domain/7/w", "changed");
	rt_raw_req(g.dom, XS_READ, 18, "/local/domain/7/v", 18, true);
	/* WRITE data/h "vvvvv": 12 bytes of payload, of which 4 now. */
	xs_header_encode(&h, half);
	memcpy(half + XS_HEADER_SIZE, "data", 4);
	rt_raw_put(g.dom, half, sizeof(half), true);
	rt_quiesce(g.dom, rd.dom0);
	RT_CHECK(g.ring->req_cons == g.ring->req_prod, "the request was not taken");
	rt_restart_keep_hyp(&rd, false);
	RT_CHECK(g.ring->error == 0, "ring error %u", g.ring->error);
	RT_CHECK(xst_daemon_log_count(&rd.d, "where a clean stop left it") == 1, "not taken up as it was");
	for (uint32_t id = 10; id < 18; id++)
		take_read_or_event(&g, id);
	take_read_or_event(&g, 0);  /* the event queued at the stop */
	take_read_or_event(&g, 18); /* and the reply queued after it */
	RT_CHECK(rt_raw_take(g.dom, &m, 50) < 0, "more output: type %u", m.hdr.type);
	rt_raw_put(g.dom, "/h\0vvvvv", 8, true);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_WRITE && m.hdr.req_id == 20,
		 "the request half written at the stop: type %u id %u '%s'", m.hdr.type, m.hdr.req_id, m.payload);
	rt_read_is(rd.dom0, 0, "/local/domain/7/data/h", "vvvvv");
	rt_raw_req(g.dom, XS_READ, 21, "data/h", 7, true);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_READ && m.hdr.req_id == 21 &&
			 strcmp(m.payload, "vvvvv") == 0,
		 "READ after: type %u '%s'", m.hdr.type, m.payload);
	/* And a kill now finds the ring's marks as they should be. */
	rt_restart_keep_hyp(&rd, true);
	RT_CHECK(g.ring->error == 0, "ring error %u after the kill", g.ring->error);
	rt_raw_req(g.dom, XS_READ, 22, "data/h", 7, true);
	RT_CHECK(rt_raw_take(g.dom, &m, RT_CALL_MS) == 0 && m.hdr.type == XS_READ && m.hdr.req_id == 22,
		 "READ after the kill: type %u '%s'", m.hdr.type, m.payload);
	check_ok(&rd);
	rt_guest_down(&g);
	rt_wait_gone(rd.dom0, 7);
	rt_stop(&rd);
}
END_TEST

/*
 * A transaction open at the restart died with the daemon: the guest's next
 * request in it is answered EAGAIN (start it again), and a transaction
 * started now never gets its id.
 */
START_TEST(transaction_open_across_a_restart)
{
	struct rt_daemon rd;
	struct rt_guest g;
	xsl_txn_t t0, t1;

	rt_start(&rd, NULL);
	rt_guest_here(&g, &rd, 7);
	t0 = rt_tx_start(g.c);
	rt_write(g.c, t0, "data/t", "before");
	rt_restart_keep_hyp(&rd, false);
	rt_must(g.c, XS_READ, t0, 0, RT_ARGS("data/t"), "EAGAIN");
	rt_must(g.c, XS_TRANSACTION_END, t0, 0, RT_ARGS("T"), "EAGAIN");
	t1 = rt_tx_start(g.c);
	RT_CHECK((uint32_t)t1 != (uint32_t)t0, "transaction id %u again", (uint32_t)t1);
	rt_write(g.c, t1, "data/t", "after");
	rt_must(g.c, XS_TRANSACTION_END, t1, 0, RT_ARGS("T"), "OK");
	rt_read_is(g.c, 0, "data/t", "after");
	rt_guest_down(&g);
	rt_wait_gone(rd.dom0, 7);
	rt_stop(&rd);
}
END_TEST

/*
 * Killed under load, three times: a guest in another process keeps
 * writing and reading its nodes through a library that reconnects when
 * asked. A call in flight at the kill may fail (EIO from the next daemon,
 * or ECONNRESET when the library had to reconnect; a write may or may not
 * have been done), never be answered wrongly, and the guest goes on after
 * each restart.
 */
static bool lost_call(int err, const struct xst_msg *m)
{
	return err == -ECONNRESET || (err == 0 && m->hdr.type == XS_ERROR && strcmp(m->payload, "EIO") == 0);
}

static int load_guest(struct rt_child *ch)
{
	struct rt_guest g;
	unsigned failed = 0, since = 0;
	bool stop_heard = false;

	rt_guest_register(&g, ch->rd, 11);
	g.c = xst_conn_ring_reconnecting(g.dom, RT_CALL_MS);
	RT_CHECK(g.c != NULL, "no client");
	{
		struct xst_conn *priv = xst_conn_socket(ch->rd->d.socket, RT_CALL_MS);

		RT_CHECK(priv != NULL, "no dom0 connection");
		rt_guest_introduce(&g, priv);
		xst_conn_close(priv);
	}
	rt_child_tell(ch, 'u');
	/* Until told to stop, then 50 rounds more in a row. */
	for (unsigned i = 0; !stop_heard || since < 50; i++) {
		struct pollfd p = {.fd = ch->in_child, .events = POLLIN};
		char val[32];
		struct xst_msg m;
		int err;

		snprintf(val, sizeof(val), "%u", i);
		err = xst_call(g.c, 0, XS_WRITE, 1, RT_ARGS("data/v", val), &m);
		RT_CHECK(lost_call(err, &m) || (err == 0 && m.hdr.type == XS_WRITE), "WRITE %u: %s", i,
			 err ? strerror(-err) : m.payload);
		if (!lost_call(err, &m)) {
			err = xst_call(g.c, 0, XS_READ, 0, RT_ARGS("data/v"), &m);
			RT_CHECK(lost_call(err, &m) || (err == 0 && m.hdr.type == XS_READ && strcmp(m.payload, val) == 0),
				 "READ after WRITE %s: %s '%s'", val, err ? strerror(-err) : "type", m.payload);
		}
		if (lost_call(err, &m)) {
			RT_CHECK(++failed < 50, "%u calls failed", failed);
			since = 0;
		} else {
			since++;
		}
		if (!stop_heard)
			stop_heard = poll(&p, 1, 0) == 1;
	}
	xst_conn_close(g.c);
	xsl_simdom_destroy(g.dom);
	return 0;
}

START_TEST(killed_under_load)
{
	struct rt_daemon rd;
	struct rt_child ch;

	rt_start(&rd, NULL);
	rt_child_start(&ch, &rd, load_guest, NULL);
	rt_hear(&ch, 'u');
	for (int k = 0; k < 3; k++) {
		rt_sleep_ms(40 + rand() % 80);
		rt_restart_keep_hyp(&rd, true);
		RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "11", "T");
	}
	rt_tell(&ch, 's');
	rt_child_join(&ch);
	printf("killed under load: after 3 kills the guest's ring went on %d times (%d with a request answered"
	       " EIO), was reconnected %d times\n",
	       xst_daemon_log_count(&rd.d, "taken up at its indices"),
	       xst_daemon_log_count(&rd.d, "; 1 requests taken"),
	       xst_daemon_log_count(&rd.d, "asking the guest to reconnect"));
	rt_wait_gone(rd.dom0, 11);
	check_ok(&rd);
	rt_stop(&rd);
}
END_TEST

Suite *suite_restart(void)
{
	Suite *s = suite_create("restart");
	TCase *tc = tcase_create("restart");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, restart_keeps_what_domains_were_given);
	tcase_add_test(tc, restart_cleans_up_domains_that_died);
	tcase_add_test(tc, request_in_flight_at_the_kill);
	tcase_add_test(tc, reply_owed_at_the_kill);
	tcase_add_test(tc, clean_stop_keeps_what_is_in_flight);
	tcase_add_test(tc, transaction_open_across_a_restart);
	tcase_add_test(tc, killed_under_load);
	suite_add_tcase(s, tc);
	return s;
}

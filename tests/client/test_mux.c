/* The connection alone against a scripted transport (replies reordered, missing, unknown, cut, refused), and the watch set alone. */
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "client/xsl_conn.h"
#include "client/xsl_watch.h"

/* A transport whose far end is the test: it reads what the connection sent and queues what it receives. */
struct ftr {
	struct xsl_transport base;
	unsigned char out[256 * 1024];
	size_t out_len, out_seen;
	unsigned char in[256 * 1024];
	size_t in_len, in_off;
	size_t chunk;      /* bytes per recv at most (0: all) */
	bool eof;          /* once in is drained: the peer is gone */
	int send_err;      /* the next send fails with it */
	int reconnects;
	struct xs_framer parse; /* over out: what was sent */
};

static ssize_t ftr_send(struct xsl_transport *t, const void *buf, size_t len)
{
	struct ftr *f = (struct ftr *)t;

	if (f->send_err) {
		int e = f->send_err;

		f->send_err = 0;
		return e;
	}
	ck_assert_uint_le(f->out_len + len, sizeof(f->out));
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
	return (ssize_t)len;
}

static ssize_t ftr_recv(struct xsl_transport *t, void *buf, size_t len)
{
	struct ftr *f = (struct ftr *)t;
	size_t n = f->in_len - f->in_off;

	if (n == 0)
		return f->eof ? -ECONNRESET : 0;
	if (f->chunk && n > f->chunk)
		n = f->chunk;
	if (n > len)
		n = len;
	memcpy(buf, f->in + f->in_off, n);
	f->in_off += n;
	return (ssize_t)n;
}

static int ftr_fd(struct xsl_transport *t)
{
	(void)t;
	return -1;
}

static short ftr_poll(struct xsl_transport *t, bool w)
{
	(void)t;
	return (short)(POLLIN | (w ? POLLOUT : 0));
}

static int ftr_reconnect(struct xsl_transport *t)
{
	struct ftr *f = (struct ftr *)t;

	f->reconnects++;
	f->eof = false;
	f->in_len = f->in_off = 0;
	return 0;
}

static void ftr_close(struct xsl_transport *t)
{
	free(t);
}

static const struct xsl_transport_ops ftr_ops = {
	.send = ftr_send, .recv = ftr_recv, .fd = ftr_fd, .poll_events = ftr_poll,
	.reconnect = ftr_reconnect, .close = ftr_close,
};

/* The next message the connection sent, or false. */
static bool sent(struct ftr *f, struct xs_header *h, char *payload)
{
	while (f->out_seen < f->out_len) {
		size_t used;
		enum xs_framer_state st = xs_framer_feed(&f->parse, f->out + f->out_seen,
							 f->out_len - f->out_seen, &used);

		f->out_seen += used;
		if (st == XS_FRAMER_MESSAGE) {
			*h = f->parse.hdr;
			if (payload)
				memcpy(payload, xs_framer_payload(&f->parse), h->len);
			return true;
		}
	}
	return false;
}

static void queue_msg(struct ftr *f, uint32_t type, uint32_t req_id, const void *p, size_t len)
{
	struct xs_header h = {type, req_id, 0, (uint32_t)len};

	xs_header_encode(&h, f->in + f->in_len);
	memcpy(f->in + f->in_len + XS_HEADER_SIZE, p, len);
	f->in_len += XS_HEADER_SIZE + len;
}

/* Completions, one record per request. */
struct rec {
	int calls;
	int err;
	char payload[64];
};

static void on_done(void *arg, int err, const struct xsl_msgview *m)
{
	struct rec *r = arg;

	r->calls++;
	r->err = err;
	if (!err) {
		size_t n = m->hdr.len < sizeof(r->payload) - 1 ? m->hdr.len : sizeof(r->payload) - 1;

		memcpy(r->payload, m->payload, n);
		r->payload[n] = '\0';
	}
}

static struct { unsigned n; char path[64][64]; char token[64][32]; } events;

static void on_event(void *owner, const char *path, const char *token)
{
	(void)owner;
	if (events.n < 64) {
		strcpy(events.path[events.n], path);
		strcpy(events.token[events.n], token);
	}
	events.n++;
}

static const struct xsl_conn_ops ops = {on_event};

static struct xsl_conn *new_conn(struct ftr **fp, unsigned cap, unsigned caps)
{
	struct ftr *f = calloc(1, sizeof(*f));
	struct xsl_conn *c;

	f->base.ops = &ftr_ops;
	f->base.caps = caps;
	xs_framer_init(&f->parse);
	memset(&events, 0, sizeof(events));
	ck_assert_int_eq(xsl_conn_new(&f->base, cap, &ops, NULL, &c), 0);
	*fp = f;
	return c;
}

static void submit(struct xsl_conn *c, uint32_t type, const char *arg, uint32_t epoch, struct rec *r,
		   uint32_t *id)
{
	unsigned char msg[XS_MSG_MAX];
	struct xsl_arg a = XSL_STR(arg);
	int len = xsl_codec_encode(msg, type, 0, 0, &a, 1);

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(xsl_conn_submit(c, msg, (size_t)len, epoch, false, on_done, r, id), 0);
}

START_TEST(replies_reordered_any_split)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 16, 0);
	struct rec r[5] = {{0}};
	uint32_t ids[5];
	struct xs_header h;
	char p[XS_PAYLOAD_MAX];

	for (int i = 0; i < 5; i++)
		submit(c, XS_READ, "/a", 0, &r[i], &ids[i]);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert(sent(f, &h, p));
		ck_assert_uint_eq(h.req_id, ids[i]);
	}
	/* Answered last to first, one byte per read. */
	for (int i = 4; i >= 0; i--) {
		char v[8];

		snprintf(v, sizeof(v), "v%d", i);
		queue_msg(f, XS_READ, ids[i], v, strlen(v));
	}
	f->chunk = _i ? 7 : 1;
	while (f->in_off < f->in_len)
		ck_assert_int_eq(xsl_conn_io(c), 0);
	for (int i = 0; i < 5; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%d", i);
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(r[i].err, 0);
		ck_assert_str_eq(r[i].payload, v);
	}
	ck_assert(xsl_conn_idle(c));
	xsl_conn_free(c);
}
END_TEST

START_TEST(inflight_cap)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 16, 0);
	struct rec r[40] = {{0}};
	struct xsl_conn_stats st;
	struct xs_header h;
	uint32_t pending[40];
	unsigned npending = 0, nsent = 0, done = 0;

	for (int i = 0; i < 40; i++)
		submit(c, XS_READ, "/a", 0, &r[i], NULL);
	while (done < 40) {
		ck_assert_int_eq(xsl_conn_io(c), 0);
		while (sent(f, &h, NULL)) {
			pending[npending++] = h.req_id;
			nsent++;
		}
		/* Never more than the cap without an answer. */
		ck_assert_uint_le(npending, 16);
		xsl_conn_stats(c, &st);
		ck_assert_uint_eq(st.inflight, npending);
		ck_assert_uint_eq(st.queued, 40 - nsent);
		ck_assert_uint_gt(npending, 0);
		/* Answer up to three, newest first. */
		for (int k = 0; k < 3 && npending; k++)
			queue_msg(f, XS_READ, pending[--npending], "x", 1);
		ck_assert_int_eq(xsl_conn_io(c), 0);
		done = 0;
		for (int i = 0; i < 40; i++)
			done += (unsigned)r[i].calls;
		ck_assert_uint_eq(done, nsent - npending);
	}
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(r[i].calls, 1);
	xsl_conn_free(c);
}
END_TEST

START_TEST(unknown_duplicate_spurious)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 16, 0);
	struct rec r = {0};
	struct xsl_conn_stats st;
	uint32_t id;

	submit(c, XS_READ, "/a", 0, &r, &id);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	queue_msg(f, XS_READ, id + 1000, "stray", 5);        /* an id never used */
	queue_msg(f, XS_WATCH_EVENT, 0, "/w\0t1", 6);          /* interleaved */
	queue_msg(f, XS_WATCH_EVENT, 0, "/w\0t1", 6);          /* duplicated */
	queue_msg(f, XS_WATCH_EVENT, 0, "/w", 3);              /* malformed */
	queue_msg(f, XS_READ, id, "ok", 2);
	queue_msg(f, XS_READ, id, "again", 5);                 /* answered twice */
	queue_msg(f, XS_WATCH_EVENT, 7, "/x\0t2", 6);          /* spurious: no such watch here, still handed up */
	queue_msg(f, XS_DIRECTORY, 0, "", 0);                  /* nobody asked */
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_str_eq(r.payload, "ok");
	ck_assert_uint_eq(events.n, 3);
	ck_assert_str_eq(events.path[0], "/w");
	ck_assert_str_eq(events.token[2], "t2");
	xsl_conn_stats(c, &st);
	ck_assert_uint_eq(st.unknown_replies, 3);
	ck_assert_uint_eq(st.bad_events, 1);
	xsl_conn_free(c);
}
END_TEST

START_TEST(cancelled_and_missing)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 1, 0);
	struct rec a = {0}, b = {0}, d = {0};
	struct xs_header h;
	uint32_t ia, ib, id;

	submit(c, XS_READ, "/a", 0, &a, &ia);
	submit(c, XS_READ, "/b", 0, &b, &ib);
	submit(c, XS_READ, "/d", 0, &d, &id);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert(sent(f, &h, NULL));
	ck_assert(!sent(f, &h, NULL)); /* cap 1 */
	xsl_conn_cancel(c, ia);         /* given up while in flight: still holds the slot */
	xsl_conn_cancel(c, ib);         /* given up while queued: never sent */
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert(!sent(f, &h, NULL));
	queue_msg(f, XS_READ, ia, "late", 4);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(b.calls, 0);
	ck_assert(sent(f, &h, NULL));
	ck_assert_uint_eq(h.req_id, id);
	/* d is never answered: freeing the connection still completes it, once. */
	xsl_conn_free(c);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.err, -ENOTCONN);
}
END_TEST

START_TEST(eof_mid_message)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 4, 0);
	struct rec r[8] = {{0}};
	uint32_t ids[8];

	for (int i = 0; i < 8; i++)
		submit(c, XS_READ, "/a", 0, &r[i], &ids[i]);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	queue_msg(f, XS_READ, ids[0], "first", 5);
	queue_msg(f, XS_READ, ids[1], "second", 6);
	f->in_len -= 3; /* cut inside the second reply */
	f->eof = true;
	ck_assert_int_eq(xsl_conn_io(c), -ECONNRESET);
	ck_assert_int_eq(r[0].calls, 1);
	ck_assert_int_eq(r[1].calls, 0);
	ck_assert_int_eq(xsl_conn_io(c), -ECONNRESET); /* stays lost */
	xsl_conn_fail(c, -ECONNRESET, false);
	for (int i = 1; i < 8; i++) {
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(r[i].err, -ECONNRESET);
	}
	xsl_conn_free(c);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(r[i].calls, 1);
}
END_TEST

START_TEST(oversize_reply)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 4, 0);
	struct xs_header h = {XS_READ, 1, 0, XS_PAYLOAD_MAX + 1};
	struct rec r = {0};

	submit(c, XS_READ, "/a", 0, &r, NULL);
	xs_header_encode(&h, f->in);
	f->in_len = XS_HEADER_SIZE;
	ck_assert_int_eq(xsl_conn_io(c), -EPROTO);
	xsl_conn_fail(c, -ECONNRESET, false);
	ck_assert_int_eq(r.err, -ECONNRESET);
	xsl_conn_free(c);
}
END_TEST

START_TEST(error_replies)
{
	static const char *const names[] = {"ENOSPC", "E2BIG", "EAGAIN", "EQUOTA", "EACCES"};
	static const int errs[] = {-ENOSPC, -E2BIG, -EAGAIN, -EINVAL, -EACCES};
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 16, 0);
	struct rec r[6] = {{0}};
	uint32_t ids[6];

	for (int i = 0; i < 6; i++)
		submit(c, XS_WRITE, "/a", 0, &r[i], &ids[i]);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	for (int i = 0; i < 5; i++)
		queue_msg(f, XS_ERROR, ids[i], names[i], strlen(names[i]) + 1);
	queue_msg(f, XS_READ, ids[5], "OK", 3); /* the wrong type */
	ck_assert_int_eq(xsl_conn_io(c), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(r[i].err, errs[i]);
	ck_assert_int_eq(r[5].err, -EPROTO);
	xsl_conn_free(c);
}
END_TEST

START_TEST(stale_transaction_and_reconnect)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 1, 0);
	struct rec a = {0}, b = {0}, d = {0};
	struct xs_header h;
	uint32_t ia;

	submit(c, XS_READ, "/a", 0, &a, &ia);
	submit(c, XS_READ, "/b", 1, &b, NULL); /* a transaction of this connection (epoch 1) */
	submit(c, XS_READ, "/d", 0, &d, NULL);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	f->eof = true;
	ck_assert_int_eq(xsl_conn_io(c), -ECONNRESET);
	xsl_conn_fail(c, -ECONNRESET, true); /* keep what was only queued */
	ck_assert_int_eq(a.err, -ECONNRESET);
	ck_assert_int_eq(b.calls, 0);
	ck_assert_int_eq(xsl_conn_reconnect(c), 0);
	ck_assert_uint_eq(xsl_conn_epoch(c), 2);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	/* b's transaction died with the first connection: EAGAIN, never sent; d goes out. */
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.err, -EAGAIN);
	ck_assert(sent(f, &h, NULL)); /* a, before the loss */
	ck_assert(sent(f, &h, NULL));
	ck_assert_uint_eq(h.type, XS_READ);
	ck_assert(!sent(f, &h, NULL));
	xsl_conn_free(c);
	ck_assert_int_eq(d.err, -ENOTCONN);
}
END_TEST

START_TEST(kernel_device_quirks)
{
	struct ftr *f;
	struct xsl_conn *c = new_conn(&f, 16, XSL_TRCAP_KERNEL);
	struct rec w1 = {0}, w2 = {0}, bad = {0}, after = {0};

	submit(c, XS_WATCH, "/a", 0, &w1, NULL);
	submit(c, XS_WATCH, "/b", 0, &w2, NULL);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	/* An old kernel acks with req_id 0: the oldest WATCH takes it. */
	queue_msg(f, XS_WATCH, 0, "OK", 3);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert_int_eq(w1.calls, 1);
	ck_assert_int_eq(w2.calls, 0);
	queue_msg(f, XS_WATCH, 0, "OK", 3);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert_int_eq(w2.calls, 1);
	/* A refused write fails that message only. */
	f->send_err = -EINVAL;
	submit(c, XS_WRITE, "/x", 0, &bad, NULL);
	submit(c, XS_READ, "/y", 0, &after, NULL);
	ck_assert_int_eq(xsl_conn_io(c), 0);
	ck_assert_int_eq(bad.err, -EINVAL);
	ck_assert_int_eq(after.calls, 0);
	xsl_conn_free(c);
	ck_assert_int_eq(after.err, -ENOTCONN);
}
END_TEST

/* ---- the watch set ---- */

static struct xsl_watch *add(struct xsl_watchset *ws, const char *path, int depth, unsigned max,
			     unsigned flags)
{
	struct xsl_watch_opts o = {depth, max, flags};
	struct xsl_watch *w;

	ck_assert_int_eq(xsl_watchset_add(ws, path, &o, (xsl_watch_fn *)1, NULL, &w), 0);
	w->state = XSL_W_ACTIVE;
	return w;
}

/* The next event's path (its watch's path for an overflow, marked "!"), or "" if none. */
static const char *next(struct xsl_watchset *ws, char *buf)
{
	struct xsl_wevent *e;
	struct xsl_watch *w = xsl_watchset_next(ws, &e);

	if (!w)
		return "";
	if (e->flags & XSL_EVENT_OVERFLOW)
		snprintf(buf, 128, "!%s", w->path);
	else
		snprintf(buf, 128, "%s", e->path);
	free(e);
	xsl_watch_put(w);
	return buf;
}

START_TEST(watch_overflow_bounded)
{
	struct xsl_watchset ws;
	struct xsl_watch *w;
	char buf[128], p[32];

	xsl_watchset_init(&ws, 1);
	w = add(&ws, "/a", -1, 4, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(p, sizeof(p), "/a/%d", i);
		xsl_watchset_event(&ws, p, w->token);
		ck_assert_uint_le(w->qlen, 4);
	}
	ck_assert_uint_eq(ws.overflows, 1);
	ck_assert_str_eq(next(&ws, buf), "!/a");
	ck_assert_str_eq(next(&ws, buf), "");
	/* Delivered: the queue takes events again. */
	xsl_watchset_event(&ws, "/a/new", w->token);
	ck_assert_str_eq(next(&ws, buf), "/a/new");
	xsl_watchset_clear(&ws);
}
END_TEST

START_TEST(watch_filters)
{
	struct xsl_watchset ws;
	struct xsl_watch *d, *r, *co;
	char buf[128];

	xsl_watchset_init(&ws, 2);
	d = add(&ws, "/a", 1, 0, 0);       /* depth, not taken by the store: filtered here */
	r = add(&ws, "dev", 0, 0, 0);      /* relative, the node only */
	co = add(&ws, "/c", -1, 0, XSL_WATCH_COALESCE);
	xsl_watchset_event(&ws, "/a", d->token);
	xsl_watchset_event(&ws, "/a/x", d->token);
	xsl_watchset_event(&ws, "/a/x/y", d->token);
	xsl_watchset_event(&ws, "dev", r->token);
	xsl_watchset_event(&ws, "dev/vif", r->token);
	xsl_watchset_event(&ws, "/c/1", co->token);
	xsl_watchset_event(&ws, "/c/1", co->token);
	xsl_watchset_event(&ws, "/c/2", co->token);
	xsl_watchset_event(&ws, "/z", "xsl-nobody");
	ck_assert_uint_eq(ws.stray, 1);
	/* Round robin across watches. */
	ck_assert_str_eq(next(&ws, buf), "/a");
	ck_assert_str_eq(next(&ws, buf), "dev");
	ck_assert_str_eq(next(&ws, buf), "/c/1");
	ck_assert_str_eq(next(&ws, buf), "/a/x");
	ck_assert_str_eq(next(&ws, buf), "/c/2");
	ck_assert_str_eq(next(&ws, buf), "");
	xsl_watchset_clear(&ws);
}
END_TEST

START_TEST(watch_remove_purges)
{
	struct xsl_watchset ws;
	struct xsl_watch *a, *b;
	char buf[128];

	xsl_watchset_init(&ws, 3);
	a = add(&ws, "/a", -1, 0, 0);
	b = add(&ws, "/b", -1, 0, 0);
	xsl_watchset_event(&ws, "/a", a->token);
	xsl_watchset_event(&ws, "/b", b->token);
	ck_assert_str_ne(a->token, b->token);
	xsl_watchset_remove(&ws, a);
	ck_assert_str_eq(next(&ws, buf), "/b");
	ck_assert_str_eq(next(&ws, buf), "");
	ck_assert(!xsl_watchset_pending(&ws));
	ck_assert_uint_eq(ws.count, 1);
	xsl_watchset_clear(&ws);
}
END_TEST

Suite *suite_mux(void)
{
	Suite *s = suite_create("mux");
	TCase *tc = tcase_create("connection");
	TCase *tw = tcase_create("watchset");

	tcase_add_loop_test(tc, replies_reordered_any_split, 0, 2);
	tcase_add_test(tc, inflight_cap);
	tcase_add_test(tc, unknown_duplicate_spurious);
	tcase_add_test(tc, cancelled_and_missing);
	tcase_add_test(tc, eof_mid_message);
	tcase_add_test(tc, oversize_reply);
	tcase_add_test(tc, error_replies);
	tcase_add_test(tc, stale_transaction_and_reconnect);
	tcase_add_test(tc, kernel_device_quirks);
	suite_add_tcase(s, tc);
	tcase_add_test(tw, watch_overflow_bounded);
	tcase_add_test(tw, watch_filters);
	tcase_add_test(tw, watch_remove_purges);
	suite_add_tcase(s, tw);
	return s;
}

/* The connection: many requests in flight over one transport, replies routed by req_id, events handed up. */
#include "xsl_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Bytes read per xsl_conn_io: bounds how long the owner's lock is held for one turn. */
#define XSL_IO_BUDGET (64u * 1024u)

struct req {
	struct req *prev, *next;
	uint32_t req_id;
	uint32_t type;
	uint32_t epoch; /* 0, or the epoch its transaction needs */
	xsl_done_fn *done; /* NULL once cancelled */
	void *arg;
	size_t len, sent;
	unsigned char msg[]; /* header and payload */
};

struct list {
	struct req *head, *tail;
	unsigned count;
};

struct xsl_conn {
	struct xsl_transport *tr;
	const struct xsl_conn_ops *ops;
	void *owner;
	unsigned max_inflight;
	uint32_t next_id;
	uint32_t epoch;
	int broken;               /* the error that lost the connection, until reconnected */
	struct list queue;        /* waiting for a slot (or a connection) */
	struct list inflight;     /* taking a slot: being written or waiting for the reply */
	struct req *sending;      /* the in-flight request not yet fully written */
	struct xsl_decoder dec;
	struct xsl_conn_stats st;
	unsigned char inbuf[XS_MSG_MAX];
};

static void list_push(struct list *l, struct req *r, bool front)
{
	r->prev = front ? NULL : l->tail;
	r->next = front ? l->head : NULL;
	if (front) {
		if (l->head)
			l->head->prev = r;
		else
			l->tail = r;
		l->head = r;
	} else {
		if (l->tail)
			l->tail->next = r;
		else
			l->head = r;
		l->tail = r;
	}
	l->count++;
}

static void list_del(struct list *l, struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	l->count--;
}

static struct req *list_find(const struct list *l, uint32_t req_id)
{
	for (struct req *r = l->head; r; r = r->next)
		if (r->req_id == req_id)
			return r;
	return NULL;
}

/* Complete and free a request that is in no list any more. */
static void finish(struct req *r, int err, const struct xsl_msgview *reply)
{
	if (r->done)
		r->done(r->arg, err, reply);
	free(r);
}

int xsl_conn_new(struct xsl_transport *tr, unsigned max_inflight, const struct xsl_conn_ops *ops,
		 void *owner, struct xsl_conn **out)
{
	struct xsl_conn *c = calloc(1, sizeof(*c));
	struct timespec ts;

	if (!c) {
		tr->ops->close(tr);
		return -ENOMEM;
	}
	c->tr = tr;
	c->ops = ops;
	c->owner = owner;
	c->max_inflight = max_inflight ? max_inflight : 1;
	c->epoch = 1;
	/*
	 * Ids start somewhere new for every connection object, so that a late
	 * reply to an earlier user of a ring that outlives handles is unlikely
	 * to match one of ours.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->next_id = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)c;
	xsl_decoder_init(&c->dec);
	*out = c;
	return 0;
}

static uint32_t new_id(struct xsl_conn *c)
{
	for (;;) {
		uint32_t id = c->next_id++;

		/* 0 is what old kernels put on the acks they make up; never ours. */
		if (id != 0 && !list_find(&c->inflight, id) && !list_find(&c->queue, id))
			return id;
	}
}

int xsl_conn_submit(struct xsl_conn *c, const unsigned char *msg, size_t len, uint32_t epoch,
		    bool front, xsl_done_fn *done, void *arg, uint32_t *req_id)
{
	struct xs_header h;
	struct req *r;

	if (len < XS_HEADER_SIZE || len > XS_MSG_MAX)
		return -E2BIG;
	if (!(r = malloc(sizeof(*r) + len)))
		return -ENOMEM;
	memcpy(r->msg, msg, len);
	xs_header_decode(msg, &h);
	r->type = h.type;
	r->req_id = new_id(c);
	xsl_codec_set_req_id(r->msg, r->req_id);
	r->epoch = epoch;
	r->done = done;
	r->arg = arg;
	r->len = len;
	r->sent = 0;
	list_push(&c->queue, r, front);
	if (req_id)
		*req_id = r->req_id;
	return 0;
}

void xsl_conn_cancel(struct xsl_conn *c, uint32_t req_id)
{
	struct req *r = list_find(&c->queue, req_id);

	if (r) {
		list_del(&c->queue, r);
		free(r);
		return;
	}
	/* Sent (or being sent): its bytes still go out and its reply is awaited, silently. */
	if ((r = list_find(&c->inflight, req_id)))
		r->done = NULL;
}

/* Send what the cap and the transport allow: >0 if anything moved, 0 if not, <0 if lost. */
static int flush(struct xsl_conn *c)
{
	int moved = 0;

	for (;;) {
		struct req *r = c->sending;
		ssize_t n;

		if (!r) {
			if (!c->queue.head || c->inflight.count >= c->max_inflight)
				return moved;
			r = c->queue.head;
			list_del(&c->queue, r);
			if (r->epoch && r->epoch != c->epoch) {
				/* Its transaction died with an earlier connection. */
				finish(r, -EAGAIN, NULL);
				moved = 1;
				continue;
			}
			list_push(&c->inflight, r, false);
			c->sending = r;
		}
		n = c->tr->ops->send(c->tr, r->msg + r->sent, r->len - r->sent);
		if (n < 0 && (c->tr->caps & XSL_TRCAP_KERNEL) && n != -ECONNRESET && n != -EPROTO &&
		    r->sent == 0) {
			/* A device refuses one message by failing its write; the stream is intact. */
			list_del(&c->inflight, r);
			c->sending = NULL;
			finish(r, (int)n, NULL);
			moved = 1;
			continue;
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			return moved;
		moved = 1;
		r->sent += (size_t)n;
		if (r->sent == r->len) {
			c->sending = NULL;
			c->st.requests++;
		}
	}
}

/* The request a reply answers: by id, or an old kernel's made-up ack with id 0. */
static struct req *match(struct xsl_conn *c, const struct xs_header *h)
{
	struct req *r = list_find(&c->inflight, h->req_id);

	if (r && r != c->sending)
		return r;
	if (h->req_id != 0 || !(c->tr->caps & XSL_TRCAP_KERNEL) ||
	    (h->type != XS_WATCH && h->type != XS_UNWATCH))
		return NULL;
	for (r = c->inflight.head; r; r = r->next)
		if (r != c->sending && r->type == h->type)
			return r;
	return NULL;
}

static void deliver(struct xsl_conn *c, const struct xsl_msgview *m)
{
	struct req *r;
	int err = 0;

	if (m->hdr.type == XS_WATCH_EVENT) {
		const char *path, *token;

		if (xsl_codec_event(m->payload, m->hdr.len, &path, &token) < 0)
			c->st.bad_events++;
		else
			c->ops->event(c->owner, path, token);
		return;
	}
	if (!(r = match(c, &m->hdr))) {
		c->st.unknown_replies++;
		return;
	}
	list_del(&c->inflight, r);
	if (m->hdr.type == XS_ERROR)
		err = xsl_codec_error(m->payload, m->hdr.len);
	else if (m->hdr.type != r->type)
		err = -EPROTO;
	finish(r, err, err ? NULL : m);
}

/* Read and deliver: >0 if anything came, 0 if not, <0 if lost. */
static int receive(struct xsl_conn *c, size_t *budget)
{
	ssize_t n = c->tr->ops->recv(c->tr, c->inbuf, sizeof(c->inbuf));
	size_t off = 0;

	if (n <= 0)
		return (int)n;
	*budget = (size_t)n < *budget ? *budget - (size_t)n : 0;
	while (off < (size_t)n) {
		struct xsl_msgview m;
		size_t used;
		int r = xsl_decode(&c->dec, c->inbuf + off, (size_t)n - off, &used, &m);

		off += used;
		if (r < 0)
			return r;
		if (r > 0)
			deliver(c, &m);
	}
	return 1;
}

int xsl_conn_io(struct xsl_conn *c)
{
	size_t budget = XSL_IO_BUDGET;
	int sent, got;

	if (c->broken)
		return c->broken;
	do {
		if ((sent = flush(c)) < 0 || (got = receive(c, &budget)) < 0) {
			c->broken = sent < 0 ? sent : got;
			return c->broken;
		}
	} while ((sent || got) && budget);
	return 0;
}

/*
 * What a request lost with its connection is told. A transaction dies with
 * the connection it began on (a socket closed, a ring started afresh), so a
 * request inside one, or a start that may have begun one, is told -EAGAIN,
 * as one sent after the loss would be: xsl_txn_run runs the body again
 * rather than giving up. A commit's outcome is unknown (it may have been
 * applied), as is that of a request outside transactions: the loss's error.
 */
static int lost_err(const struct req *r, int err)
{
	if (err != -ECONNRESET || r->type == XS_TRANSACTION_END)
		return err;
	return r->epoch || r->type == XS_TRANSACTION_START ? -EAGAIN : err;
}

static void fail_list(struct list *l, int err)
{
	struct req *r;

	while ((r = l->head)) {
		list_del(l, r);
		finish(r, lost_err(r, err), NULL);
	}
}

void xsl_conn_fail(struct xsl_conn *c, int err, bool keep_queued)
{
	if (!c->broken)
		c->broken = err;
	c->sending = NULL;
	fail_list(&c->inflight, err);
	if (!keep_queued)
		fail_list(&c->queue, err);
	xsl_decoder_init(&c->dec);
}

int xsl_conn_reconnect(struct xsl_conn *c)
{
	int err;

	if (!c->tr->ops->reconnect)
		return -EOPNOTSUPP;
	if (c->inflight.head)
		xsl_conn_fail(c, -ECONNRESET, true);
	if ((err = c->tr->ops->reconnect(c->tr)) < 0)
		return err;
	c->broken = 0;
	c->epoch++;
	xsl_decoder_init(&c->dec);
	return 0;
}

void xsl_conn_free(struct xsl_conn *c)
{
	if (!c)
		return;
	c->sending = NULL;
	fail_list(&c->inflight, -ENOTCONN);
	fail_list(&c->queue, -ENOTCONN);
	c->tr->ops->close(c->tr);
	free(c);
}

uint32_t xsl_conn_epoch(const struct xsl_conn *c)
{
	return c->epoch;
}

struct xsl_transport *xsl_conn_transport(const struct xsl_conn *c)
{
	return c->tr;
}

bool xsl_conn_output_waiting(const struct xsl_conn *c)
{
	return c->sending || (c->queue.head && c->inflight.count < c->max_inflight);
}

bool xsl_conn_idle(const struct xsl_conn *c)
{
	return !c->queue.head && !c->inflight.head;
}

void xsl_conn_stats(const struct xsl_conn *c, struct xsl_conn_stats *st)
{
	*st = c->st;
	st->inflight = c->inflight.count;
	st->queued = c->queue.count;
}

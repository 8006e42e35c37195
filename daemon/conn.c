/* Client transports: framing, the output queue, back-pressure and the fair turns of rings, over a socket or a ring. */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "../proto/ring.h"
#include "config.h"
#include "hmap.h"
#include "log.h"
#include "pack.h"
#include "quota.h"

/* Bytes taken from one connection per turn: bounds the work one client gets before others. */
#define CONN_READ_CHUNK 16384u
#define CONN_WRITE_IOV 64

struct outmsg;

struct conn {
	struct conn *next, *prev;
	enum conn_kind kind;
	enum conn_state state;
	const struct conn_owner_ops *ops; /* NULL once the owner let go (conn_free) */
	void *owner;
	uint64_t id;
	uint32_t domid; /* whose connection, for logs and the trace (conn_set_domid) */
	const struct ident *who; /* whose quotas its replies count against (conn_set_who); may be NULL */
	unsigned out_counted;    /* replies queued and held against the outstanding quota */
	unsigned out_reserved;   /* replies queued in buffers of the reserve: no input meanwhile */
	bool blocked;            /* in the blocked list: its domain has its outstanding quota of replies */
	struct conn *blocked_next;
	/* Socket transport. */
	int fd;
	struct event *ev_read, *ev_write;
	bool write_armed; /* ev_write is added: asked only when what is to be sent changes from none to some */
	bool send_full;    /* the socket took no more at the last send; until it is writable */
	bool last_of_read; /* the message being handed over is the last whole one the read gave (reply_direct) */
	bool flush_pending; /* a socket with others' events to send */
	struct conn *flush_next;
	/* Ring transport. */
	struct xs_ring *ring;
	uint32_t port;                 /* local event channel */
	void (*notify)(uint32_t port); /* kick the other side */
	bool ready;                    /* in the ready list */
	struct conn *ready_next, *ready_prev;
	struct conn_mark *mark;        /* where its messages stand, for a restarted daemon (or NULL) */
	/* Input. */
	struct xs_framer in;
	unsigned char *stash; /* input read but held back while output is over its limit */
	size_t stash_len;
	bool read_paused;
	/* A message the owner deferred: no input is taken until it is resumed, then it goes first. */
	bool held;
	unsigned char *parked; /* header and payload */
	/* The message being handed to the owner, for conn_defer_message. */
	const struct xs_header *cur_hdr;
	const char *cur_payload;
	/* Output: whole messages, written in order. */
	struct outmsg *out_head, *out_tail;
	size_t out_bytes;
	unsigned out_msgs;          /* queued, not yet wholly sent */
	struct hmap pending_events; /* queued, unsent watch events by "path token" */
	struct event *ev_expire;    /* the earliest deadline of a queued event (-w watch-event=N) */
	uint64_t events_sent;       /* written whole */
	uint64_t events_dropped;    /* refused: the queue was over its limit */
	uint64_t events_coalesced;  /* identical to one still queued */
	uint64_t events_expired;    /* not started within the event timeout */
};

struct outmsg {
	struct outmsg *next;
	size_t len, sent;
	struct hnode pending; /* in pending_events while queued, for a watch event */
	bool is_event;        /* in pending_events (a watch event not on an @ path) */
	bool watch_event;     /* any watch event */
	bool counted;         /* a reply held against the outstanding quota */
	bool reserved;        /* in a buffer of the reply reserve, not of the heap */
	bool pooled;          /* of OUTMSG_POOL_BYTES, given back to the pool */
	uint64_t expires;     /* monotonic ms after which it is dropped unless started; 0: never */
	unsigned char data[];
};

static struct event_base *conn_base;
static struct conn *conn_list;
static unsigned conn_total, conn_rings;
static uint64_t conn_next_id = 1;
/* Counts of connections already gone, so that totals survive them. */
static uint64_t closed_events_sent, closed_events_dropped, closed_events_coalesced, closed_events_expired;
/* Rings with work, served one turn each per pass of the loop. */
static struct conn *ready_head, *ready_tail;
static unsigned ready_count;
static struct event *ready_ev;
/*
 * Connections that stopped taking input because their domain has as many
 * replies unsent as its outstanding quota (the C daemon's rule: a domain
 * that does not read its replies gets no more read), and the event that
 * looks at them again once a reply of some domain went out.
 */
static struct conn *blocked_head;
static struct event *unblock_ev;
/*
 * The reply reserve: buffers for whole replies, allocated at the start, for
 * when the heap has none. A reply is owed once a request was done (a WRITE
 * made, a transaction committed), so failing to queue it would cost an
 * innocent client its connection; instead it goes in a reserve buffer and
 * that connection takes no input until the buffer is sent and given back.
 * Only with the reserve used up too is a connection dropped.
 */
#define RESERVE_BUF (sizeof(struct outmsg) + XS_HEADER_SIZE + XS_PAYLOAD_MAX)
static void **reserve_free;
static unsigned reserve_nfree, reserve_total;
static uint64_t reserve_used_total, reserve_refused_total;
/* Tests: XENSTORED_TEST_REPLY_NOMEM="N:K" makes heap allocations of replies N to N+K-1 fail. */
static uint64_t test_nomem_from, test_nomem_count, test_replies;
/* Sockets with events queued by others' requests, sent once the current callback is done. */
static struct conn *flush_head;
static struct event *flush_ev;

/*
 * A socket is sent to as soon as this many messages wait, even in the middle
 * of a batch of requests: a peer that pipelines gets its first replies (and
 * a watcher its first events) while the rest are worked on, so both sides
 * work at once, at no cost in daemon CPU per request (2 and 8 did worse).
 */
#define CONN_FLUSH_EVERY 4u

static void conn_settle(struct conn *c);
static void outmsg_append(struct conn *c, struct outmsg *m);
static void flush_early(struct conn *c);
static void conn_kick_output(struct conn *c);
static size_t conn_process(struct conn *c, const unsigned char *data, size_t len);
static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);
static void ready_cb(evutil_socket_t fd, short what, void *arg);
static void flush_cb(evutil_socket_t fd, short what, void *arg);
static void expire_cb(evutil_socket_t fd, short what, void *arg);
static void unblock_cb(evutil_socket_t fd, short what, void *arg);
static void trace_message(const struct conn *c, const char *dir, const unsigned char *msg);
static void output_sent(struct conn *c, size_t n);
/* Run before anything is sent (conn_set_presend); false: not yet. */
static bool (*presend)(void);

/* The reserve: cfg.conn_reply_reserve buffers (false if they cannot be had). */
static bool reserve_init(void)
{
	const char *t = getenv("XENSTORED_TEST_REPLY_NOMEM");

	if (t && sscanf(t, "%" SCNu64 ":%" SCNu64, &test_nomem_from, &test_nomem_count) != 2)
		test_nomem_from = test_nomem_count = 0;
	reserve_total = cfg.conn_reply_reserve;
	if (!reserve_total)
		return true;
	reserve_free = calloc(reserve_total, sizeof(*reserve_free));
	if (!reserve_free)
		return false;
	for (; reserve_nfree < reserve_total; reserve_nfree++)
		if (!(reserve_free[reserve_nfree] = malloc(RESERVE_BUF)))
			return false;
	return true;
}

static void reserve_fini(void)
{
	while (reserve_nfree)
		free(reserve_free[--reserve_nfree]);
	free(reserve_free);
	reserve_free = NULL;
	reserve_total = 0;
}

/*
 * Messages of up to OUTMSG_POOL_BYTES (header and payload: most replies)
 * are of one size, and those sent are kept (at most OUTMSG_POOL_MAX) for
 * the next: every request costs one, so the heap is spared a malloc and a
 * free per request.
 */
#define OUTMSG_POOL_BYTES 128u
#define OUTMSG_POOL_MAX 64u
static struct outmsg *outmsg_pool;
static unsigned outmsg_pool_n;

static void outmsg_free(struct conn *c, struct outmsg *m)
{
	if (m->pooled && outmsg_pool_n < OUTMSG_POOL_MAX) {
		m->next = outmsg_pool;
		outmsg_pool = m;
		outmsg_pool_n++;
		return;
	}
	if (!m->reserved) {
		free(m);
		return;
	}
	c->out_reserved--;
	reserve_free[reserve_nfree++] = m;
}

void conn_init(struct event_base *base)
{
	conn_base = base;
	/*
	 * A timer, not event_active: libevent runs an event activated during its
	 * own callback again in the same pass, before polling, so a guest that
	 * keeps its ring full would keep sockets and other event channels from
	 * ever being polled. A due timer waits for the next poll.
	 */
	ready_ev = evtimer_new(base, ready_cb, NULL);
	flush_ev = event_new(base, -1, 0, flush_cb, NULL);
	unblock_ev = event_new(base, -1, 0, unblock_cb, NULL);
	if (!ready_ev || !flush_ev || !unblock_ev)
		log_warnx("cannot create the scheduler events");
	if (!reserve_init())
		fatal("cannot allocate the reply reserve (%u buffers)", cfg.conn_reply_reserve);
}

unsigned conn_count(void)
{
	return conn_total;
}

static struct conn *conn_alloc(enum conn_kind kind, const struct conn_owner_ops *ops, void *owner)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = kind;
	c->state = CONN_OPEN;
	c->ops = ops;
	c->owner = owner;
	c->fd = -1;
	c->id = conn_next_id++;
	xs_framer_init(&c->in);
	return c;
}

enum conn_state conn_state(const struct conn *c)
{
	return c->state;
}

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}

int conn_fd(const struct conn *c)
{
	return c->kind == CONN_SOCKET ? c->fd : -1;
}

static void conn_link(struct conn *c)
{
	c->next = conn_list;
	if (conn_list)
		conn_list->prev = c;
	conn_list = c;
	conn_total++;
	if (c->kind == CONN_RING)
		conn_rings++;
	log_trace_obj("CREATE", "connection", c->id);
}

void conn_set_domid(struct conn *c, uint32_t domid)
{
	c->domid = domid;
}

void conn_set_who(struct conn *c, const struct ident *who)
{
	c->who = who;
}

unsigned conn_outstanding(const struct conn *c)
{
	return c->out_counted;
}

/* Has the connection's domain its outstanding quota of replies unsent? Then it waits in the blocked list. */
static bool outstanding_full(struct conn *c)
{
	if (!c->who || !quota_reached(c->who, QUOTA_OUTSTANDING))
		return false;
	if (!c->blocked) {
		c->blocked = true;
		c->blocked_next = blocked_head;
		blocked_head = c;
	}
	return true;
}

static void blocked_remove(struct conn *c)
{
	struct conn **pp = &blocked_head;

	if (!c->blocked)
		return;
	while (*pp != c)
		pp = &(*pp)->blocked_next;
	*pp = c->blocked_next;
	c->blocked = false;
	c->blocked_next = NULL;
}

/* A reply left the queue (sent whole, or dropped): its domain owes one less. */
static void reply_done(struct conn *c, struct outmsg *m)
{
	if (!m->counted)
		return;
	m->counted = false;
	c->out_counted--;
	quota_release(c->who, QUOTA_OUTSTANDING, 1);
	if (blocked_head && unblock_ev)
		event_active(unblock_ev, EV_TIMEOUT, 0);
}

/* Each blocked connection whose domain is under its quota again takes input again. */
static void unblock_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (;;) {
		struct conn *c = blocked_head;

		while (c && c->who && quota_reached(c->who, QUOTA_OUTSTANDING))
			c = c->blocked_next;
		if (!c)
			break;
		blocked_remove(c);
		if (c->kind == CONN_SOCKET)
			conn_settle(c);
		else
			conn_ring_kick(c);
	}
}

struct conn *conn_new_socket(int fd, const struct conn_owner_ops *ops, void *owner)
{
	struct conn *c = conn_alloc(CONN_SOCKET, ops, owner);

	if (!c)
		return NULL;
	c->fd = fd;
	c->ev_read = event_new(conn_base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(conn_base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	if (!c->ev_read || !c->ev_write || event_add(c->ev_read, NULL) < 0) {
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		free(c);
		return NULL;
	}
	conn_link(c);
	log_debug("conn %llu: new socket connection", (unsigned long long)c->id);
	return c;
}

struct conn *conn_new_ring(struct xs_ring *ring, uint32_t port, void (*notify)(uint32_t),
			   struct conn_mark *mark, const struct conn_owner_ops *ops, void *owner)
{
	struct conn *c = conn_alloc(CONN_RING, ops, owner);

	if (!c)
		return NULL;
	c->ring = ring;
	c->port = port;
	c->notify = notify;
	c->mark = mark; /* left as it is until the ring is started afresh or taken up */
	conn_link(c);
	log_debug("conn %llu: ring, port %u", (unsigned long long)c->id, port);
	return c;
}

/*
 * The mark (conn.h). Each store comes after the ring index store it
 * follows (a release store), so a daemon killed in between leaves a mark
 * that disagrees with the indices: the next one then asks for a
 * reconnection rather than trusting it.
 */
static void mstore(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void mark_invalidate(struct conn *c)
{
	if (c->mark)
		mstore(&c->mark->valid, 0);
}

/* A ring started afresh: indices 0, nothing owed. */
static void mark_reset(struct conn *c)
{
	struct conn_mark *m = c->mark;

	if (!m)
		return;
	mstore(&m->valid, 0);
	mstore(&m->req_at, 0);
	mstore(&m->rsp_at, 0);
	mstore(&m->events, 0);
	mstore(&m->owed_head, 0);
	mstore(&m->owed_tail, 0);
	mstore(&m->overflow, 0);
	mstore(&m->valid, 1);
}

/* A request taken whole (not one handed over again): owed until its reply is written whole. */
static void mark_taken(struct conn *c, const struct xs_header *h)
{
	struct conn_mark *m = c->mark;
	uint32_t t;

	if (!m)
		return;
	t = m->owed_tail;
	if (m->overflow) {
		/* Past counting: the restart asks for a reconnection. */
	} else if (t - m->owed_head >= CONN_MARK_OWED) {
		mstore(&m->overflow, 1);
	} else {
		mstore(&m->owed[t % CONN_MARK_OWED].type, h->type);
		mstore(&m->owed[t % CONN_MARK_OWED].req_id, h->req_id);
		mstore(&m->owed[t % CONN_MARK_OWED].tx_id, h->tx_id);
		mstore(&m->owed_tail, t + 1);
	}
	/* Taken from the stash (a ring is read a message at a time: never), where it ends is not said. */
	if (!c->stash_len)
		mstore(&m->req_at, xs_ring_load(&c->ring->req_cons));
}

/* A message written whole: a reply answers the oldest request owed. */
static void mark_done(struct conn *c, bool event)
{
	struct conn_mark *m = c->mark;

	if (!m)
		return;
	if (event) {
		if (m->events)
			mstore(&m->events, m->events - 1);
	} else if (!m->overflow && m->owed_head != m->owed_tail) {
		mstore(&m->owed_head, m->owed_head + 1);
	}
}

/* After writing: where the last whole message ends (the head of the queue may be half written). */
static void mark_written(struct conn *c)
{
	if (c->mark)
		mstore(&c->mark->rsp_at,
		       xs_ring_load(&c->ring->rsp_prod) - (uint32_t)(c->out_head ? c->out_head->sent : 0));
}

void conn_set_port(struct conn *c, uint32_t port)
{
	c->port = port;
}

static void ready_remove(struct conn *c)
{
	if (!c->ready)
		return;
	if (c->ready_prev)
		c->ready_prev->ready_next = c->ready_next;
	else
		ready_head = c->ready_next;
	if (c->ready_next)
		c->ready_next->ready_prev = c->ready_prev;
	else
		ready_tail = c->ready_prev;
	c->ready = false;
	c->ready_next = c->ready_prev = NULL;
	ready_count--;
}

static void drop_output(struct conn *c)
{
	while (c->out_head) {
		struct outmsg *m = c->out_head;

		c->out_head = m->next;
		reply_done(c, m);
		outmsg_free(c, m);
	}
	c->out_tail = NULL;
	c->out_bytes = 0;
	c->out_msgs = 0;
	hmap_free(&c->pending_events);
}

static void conn_destroy(struct conn *c)
{
	log_debug("conn %llu: closed", (unsigned long long)c->id);
	log_trace_obj("DESTROY", "connection", c->id);
	closed_events_sent += c->events_sent;
	closed_events_dropped += c->events_dropped;
	closed_events_coalesced += c->events_coalesced;
	closed_events_expired += c->events_expired;
	ready_remove(c);
	blocked_remove(c);
	/* Before the owner goes: the replies' charges are against its identity. */
	drop_output(c);
	if (c->flush_pending) {
		struct conn **pp = &flush_head;

		while (*pp != c)
			pp = &(*pp)->flush_next;
		*pp = c->flush_next;
	}
	if (c->ops)
		c->ops->closed(c->owner);
	free(c->parked);
	free(c->stash);
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_expire)
		event_free(c->ev_expire);
	if (c->fd >= 0)
		close(c->fd);
	if (c->kind == CONN_RING)
		conn_rings--;
	if (c->prev)
		c->prev->next = c->next;
	else
		conn_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	conn_total--;
	free(c);
}

void conn_free(struct conn *c)
{
	c->ops = NULL;
	conn_destroy(c);
}

void conn_keep_fd(struct conn *c)
{
	c->fd = -1;
}

/* Forget everything in flight: partial input, queued output, and the owner's watches and transactions. */
static void conn_forget_state(struct conn *c)
{
	if (c->ops)
		c->ops->reset(c->owner);
	drop_output(c);
	free(c->stash);
	c->stash = NULL;
	c->stash_len = 0;
	free(c->parked);
	c->parked = NULL;
	c->held = false;
	xs_framer_init(&c->in);
}

void conn_fail(struct conn *c, unsigned ring_error, const char *why)
{
	if (c->state != CONN_OPEN)
		return;
	log_info("conn %llu (domain %u): dropped: %s", (unsigned long long)c->id, c->domid, why);
	if (c->kind == CONN_SOCKET) {
		c->state = CONN_CLOSING;
		return;
	}
	/* A ring is not closed (the domain still exists) but no longer served. */
	mark_invalidate(c);
	c->state = CONN_BROKEN;
	conn_forget_state(c);
	ready_remove(c);
	xs_ring_store(&c->ring->error, ring_error);
	c->notify(c->port);
}

void conn_ring_reset(struct conn *c)
{
	struct xs_ring *r = c->ring;

	/* A ring that broke the protocol stays ignored: re-INTRODUCE does not revive it. */
	mark_invalidate(c);
	conn_forget_state(c);
	xs_ring_store(&r->req_cons, 0);
	xs_ring_store(&r->req_prod, 0);
	xs_ring_store(&r->rsp_cons, 0);
	xs_ring_store(&r->rsp_prod, 0);
	/* One waiting for the guest to start over (a restart lost its framing) is served again. */
	if (c->state == CONN_RESYNC)
		c->state = CONN_OPEN;
	if (c->state == CONN_OPEN)
		xs_ring_store(&r->error, XS_RING_ERR_NONE);
	if (c->state == CONN_OPEN)
		mark_reset(c);
	if (xs_ring_load(&r->connection) == XS_RING_RECONNECT)
		xs_ring_store(&r->connection, XS_RING_CONNECTED);
	c->notify(c->port);
}

/*
 * What a clean stop saves of a ring, or a live update of any connection
 * (conn_save), host byte order: magic, a ring's req_cons and rsp_prod then
 * (0 for a socket), the framer's bytes of the message half received, the
 * stash, the parked message (length 0: none), then the queued messages:
 * flags (SAVED_EVENT, SAVED_COUNTED), length, bytes already written, the
 * message.
 */
#define SAVED_MAGIC 0x58535249u /* "XSRI" */
#define SAVED_EVENT 1u
#define SAVED_COUNTED 2u

unsigned char *conn_save(const struct conn *c, size_t *len)
{
	struct pack b = {0};
	uint32_t n = 0, plen = 0;
	size_t have = xs_framer_idle(&c->in) ? 0 : c->in.have;
	bool ring = c->kind == CONN_RING;

	*len = 0;
	if (c->state != CONN_OPEN || (ring && !c->mark) ||
	    (!have && !c->stash_len && !c->parked && !c->out_head))
		return NULL;
	if (c->parked) {
		struct xs_header h;

		xs_header_decode(c->parked, &h);
		plen = XS_HEADER_SIZE + h.len;
	}
	pack_u32(&b, SAVED_MAGIC);
	pack_u32(&b, ring ? xs_ring_load(&c->ring->req_cons) : 0);
	pack_u32(&b, ring ? xs_ring_load(&c->ring->rsp_prod) : 0);
	pack_blob(&b, c->in.buf, have);
	pack_blob(&b, c->stash, c->stash_len);
	pack_blob(&b, c->parked, plen);
	for (const struct outmsg *m = c->out_head; m; m = m->next)
		n++;
	pack_u32(&b, n);
	for (const struct outmsg *m = c->out_head; m; m = m->next) {
		pack_u32(&b, (m->watch_event ? SAVED_EVENT : 0) | (m->counted ? SAVED_COUNTED : 0));
		pack_u32(&b, (uint32_t)m->len);
		pack_u32(&b, (uint32_t)m->sent);
		pack_bytes(&b, m->data, m->len);
	}
	if (b.oom) {
		pack_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/*
 * Take back what was saved, if it is of this connection as it is now (a
 * ring's indices as saved): true, with the framer, stash, parked message
 * and output as they were. Checked whole before anything is changed.
 */
static bool saved_take(struct conn *c, const unsigned char *saved, size_t len)
{
	struct unpack r = {saved, saved + len, false};
	const unsigned char *in, *stash, *parked;
	size_t have, stash_len, plen;
	uint32_t n, req_cons, rsp_prod;
	bool ring = c->kind == CONN_RING;

	if (unpack_u32(&r) != SAVED_MAGIC)
		return false;
	req_cons = unpack_u32(&r);
	rsp_prod = unpack_u32(&r);
	if (ring && (req_cons != xs_ring_load(&c->ring->req_cons) || rsp_prod != xs_ring_load(&c->ring->rsp_prod)))
		return false;
	in = unpack_blob(&r, &have);
	stash = unpack_blob(&r, &stash_len);
	parked = unpack_blob(&r, &plen);
	n = unpack_u32(&r);
	if (r.bad || have > XS_MSG_MAX || (plen && plen < XS_HEADER_SIZE) || plen > XS_MSG_MAX)
		return false;
	/* The messages: checked first, then queued. */
	for (uint32_t i = 0, pass = 0; pass < 2; pass++, i = 0) {
		struct unpack q = r;

		for (; i < n; i++) {
			uint32_t flags = unpack_u32(&q), mlen = unpack_u32(&q), sent = unpack_u32(&q);
			const unsigned char *data = unpack_bytes(&q, mlen);
			struct outmsg *m;

			if (q.bad || mlen < XS_HEADER_SIZE || mlen > XS_MSG_MAX || sent >= mlen || (i && sent))
				return false;
			if (!pass)
				continue;
			if (!(m = malloc(sizeof(*m) + mlen)))
				break; /* lost: the restart's answers say so (none here) */
			memset(m, 0, sizeof(*m));
			m->len = mlen;
			m->sent = sent;
			m->watch_event = flags & SAVED_EVENT;
			memcpy(m->data, data, mlen);
			if ((flags & SAVED_COUNTED) && c->who && quota_hold(c->who, QUOTA_OUTSTANDING, 1)) {
				m->counted = true;
				c->out_counted++;
			}
			outmsg_append(c, m);
			c->out_bytes -= sent;
		}
		if (!pass && q.p != q.end)
			return false;
	}
	if (have) {
		size_t used;

		xs_framer_feed(&c->in, in, have, &used); /* less than a message: it only collects */
	}
	if (stash_len && (c->stash = malloc(stash_len))) {
		memcpy(c->stash, stash, stash_len);
		c->stash_len = stash_len;
	}
	if (plen && (c->parked = malloc(plen)))
		memcpy(c->parked, parked, plen); /* handed over at the first turn (not held) */
	return true;
}

bool conn_socket_resume(struct conn *c, const unsigned char *saved, size_t saved_len)
{
	if (c->kind != CONN_SOCKET || (saved_len && !saved_take(c, saved, saved_len)))
		return false;
	conn_kick_output(c); /* a turn soon: output, the parked message, then the rest */
	return true;
}

void conn_ring_resume(struct conn *c, const unsigned char *saved, size_t saved_len, struct conn_resumed *out)
{
	struct xs_ring *r = c->ring;
	struct conn_mark *m = c->mark;
	uint32_t err = xs_ring_load(&r->error);
	uint32_t owed = m ? m->owed_tail - m->owed_head : 0;
	bool marked = m && m->valid && !m->overflow && owed <= CONN_MARK_OWED && err == XS_RING_ERR_NONE &&
		      xs_ring_pending(&r->req_cons, &r->req_prod) >= 0 &&
		      xs_ring_pending(&r->rsp_cons, &r->rsp_prod) >= 0;
	bool known = marked && m->req_at == xs_ring_load(&r->req_cons) && m->rsp_at == xs_ring_load(&r->rsp_prod);

	memset(out, 0, sizeof(*out));
	if (marked && saved && saved_take(c, saved, saved_len)) {
		/* A clean stop: everything in flight taken back. */
		log_info("conn %llu (domain %u): taken up where a clean stop left it (%zu bytes in flight)",
			 (unsigned long long)c->id, c->domid, saved_len);
		out->in_flight = true;
		out->state = CONN_OPEN;
		conn_ring_kick(c);
		return;
	}
	if (err == XS_RING_ERR_RINGIDX || err == XS_RING_ERR_PROTO) {
		/* Stopped by the daemon before for breaking the protocol: it stays so. */
		mark_invalidate(c);
		c->state = CONN_BROKEN;
		log_info("conn %llu (domain %u): taken up stopped, as it was (error %u)", (unsigned long long)c->id,
			 c->domid, err);
		out->state = c->state;
		return;
	}
	if (known) {
		/* What the last daemon owed: an answer to each request it took (outcome unknown), in order. */
		for (uint32_t i = 0; i < owed; i++) {
			uint32_t k = (m->owed_head + i) % CONN_MARK_OWED;
			const char *e = m->owed[k].type == XS_TRANSACTION_END ? "EAGAIN" : "EIO";

			if (conn_queue(c, XS_ERROR, m->owed[k].req_id, m->owed[k].tx_id, e, strlen(e) + 1))
				out->answered++;
		}
		out->events_lost = m->events != 0;
		mstore(&m->events, 0); /* the owner fires every watch again: those count anew */
		log_info("conn %llu (domain %u): taken up at its indices (request %u, response %u); %u requests"
			 " taken and not answered answered now, %s",
			 (unsigned long long)c->id, c->domid, m->req_at, m->rsp_at, out->answered,
			 out->events_lost ? "watch events were lost" : "no watch event lost");
		out->state = CONN_OPEN;
		conn_ring_kick(c); /* the answers, what came meanwhile, a reconnection asked meanwhile */
		return;
	}
	/* Why, said before the mark is invalidated (which would make every reason "no mark"). */
	const char *why = err == XS_RING_ERR_COMM ? "it was asked before"
			  : !m || !m->valid       ? "no mark"
			  : m->overflow           ? "too many requests owed"
						  : "a message half read or half written";

	mark_invalidate(c);
	c->state = CONN_RESYNC;
	xs_ring_store(&r->error, XS_RING_ERR_COMM);
	log_info("conn %llu (domain %u): where its messages stand is unknown (%s): asking the guest to reconnect",
		 (unsigned long long)c->id, c->domid, why);
	c->notify(c->port);
	conn_ring_kick(c); /* a reconnection asked meanwhile */
	out->state = c->state;
}

void conn_totals(struct conn_totals *t)
{
	t->connections = conn_total;
	t->rings = conn_rings;
	t->events_sent = closed_events_sent;
	t->events_dropped = closed_events_dropped;
	t->events_coalesced = closed_events_coalesced;
	t->events_expired = closed_events_expired;
	t->out_bytes = 0;
	t->out_msgs = 0;
	t->reserve_free = reserve_nfree;
	t->reserve_used = reserve_used_total;
	t->reserve_refused = reserve_refused_total;
	for (struct conn *c = conn_list; c; c = c->next) {
		t->events_sent += c->events_sent;
		t->events_dropped += c->events_dropped;
		t->events_coalesced += c->events_coalesced;
		t->events_expired += c->events_expired;
		t->out_bytes += c->out_bytes;
		t->out_msgs += c->out_msgs;
	}
}

void conn_close_all(void)
{
	while (conn_list)
		conn_destroy(conn_list);
	if (ready_ev)
		event_free(ready_ev);
	if (flush_ev)
		event_free(flush_ev);
	if (unblock_ev)
		event_free(unblock_ev);
	ready_ev = flush_ev = unblock_ev = NULL;
	reserve_fini();
}

static struct outmsg *outmsg_new(uint32_t type, uint32_t req_id, uint32_t tx_id,
				 const void *payload, size_t payload_len, size_t extra)
{
	struct xs_header h = {type, req_id, tx_id, (uint32_t)payload_len};
	size_t bytes = XS_HEADER_SIZE + payload_len + extra;
	bool pooled = bytes <= OUTMSG_POOL_BYTES;
	struct outmsg *m;

	if (pooled && outmsg_pool) {
		m = outmsg_pool;
		outmsg_pool = m->next;
		outmsg_pool_n--;
	} else if (!(m = malloc(sizeof(*m) + (pooled ? OUTMSG_POOL_BYTES : bytes)))) {
		return NULL;
	}
	m->pooled = pooled;
	m->next = NULL;
	m->len = XS_HEADER_SIZE + payload_len;
	m->sent = 0;
	m->is_event = false;
	m->watch_event = false;
	m->counted = false;
	m->reserved = false;
	m->expires = 0;
	xs_header_encode(&h, m->data);
	if (payload_len)
		memcpy(m->data + XS_HEADER_SIZE, payload, payload_len);
	return m;
}

static void outmsg_append(struct conn *c, struct outmsg *m)
{
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	c->out_bytes += m->len;
	c->out_msgs++;
}

/*
 * One send of n buffers to a socket, again if interrupted: the bytes taken;
 * 0 if it is full (send_full then set, until it is writable); -1 if the peer
 * is gone. One buffer goes with send, which spares the kernel a message header.
 */
static inline ssize_t socket_send(struct conn *c, const struct iovec *iov, int n)
{
	struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	ssize_t w;

	do
		w = n == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT)
			   : sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->send_full = true;
		return 0;
	}
	if (w >= 0)
		c->send_full = false;
	return w;
}

/*
 * A reply that can go at once, the commonest case of all: to the last whole
 * message a read of a socket gave, with nothing queued before it. It is
 * sent from here, with no queue entry and no hold on the outstanding quota
 * (it never waits), and the connection's settling finds nothing to do. A
 * pipelining peer's replies are not sent one by one (only the last of a
 * read's), and anything else (output waiting, a full socket, the changes
 * not in the log yet, the reply reserve's test) takes the queue. Returns
 * the bytes sent: all, part (the queue sends the rest) or none; a peer gone
 * leaves the connection to be dropped.
 */
static size_t reply_direct(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
			   size_t payload_len)
{
	static unsigned char msg[XS_HEADER_SIZE + XS_PAYLOAD_MAX]; /* as conn_read_cb's buffer: the same lines each time */
	struct xs_header h = {type, req_id, tx_id, (uint32_t)payload_len};
	ssize_t w;

	if (!c->last_of_read || c->out_head || c->send_full || c->state != CONN_OPEN || c->mark ||
	    payload_len > XS_PAYLOAD_MAX || test_nomem_count || (presend && !presend()))
		return 0;
	xs_header_encode(&h, msg);
	if (payload_len)
		memcpy(msg + XS_HEADER_SIZE, payload, payload_len);
	w = socket_send(c, &(struct iovec){msg, XS_HEADER_SIZE + payload_len}, 1);
	if (w < 0) {
		c->state = CONN_CLOSING;
		return 0;
	}
	if ((size_t)w == XS_HEADER_SIZE + payload_len && log_tracing_class(LOG_TRACE_IO))
		trace_message(c, "OUT", msg);
	return (size_t)w;
}

bool conn_queue(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		const void *payload, size_t payload_len)
{
	struct outmsg *m;
	size_t sent;

	if (c->state == CONN_BROKEN || c->state == CONN_RESYNC)
		return true;
	sent = reply_direct(c, type, req_id, tx_id, payload, payload_len);
	/* Sent whole; or the connection is being dropped, and what it queued would never go. */
	if (sent == XS_HEADER_SIZE + payload_len || c->state == CONN_CLOSING)
		return true;
	test_replies++;
	if (test_nomem_count && test_replies >= test_nomem_from &&
	    test_replies < test_nomem_from + test_nomem_count)
		m = NULL;
	else
		m = outmsg_new(type, req_id, tx_id, payload, payload_len, 0);
	if (!m && payload_len <= XS_PAYLOAD_MAX && reserve_nfree) {
		struct xs_header h = {type, req_id, tx_id, (uint32_t)payload_len};

		m = reserve_free[--reserve_nfree];
		memset(m, 0, sizeof(*m));
		m->len = XS_HEADER_SIZE + payload_len;
		m->reserved = true;
		xs_header_encode(&h, m->data);
		if (payload_len)
			memcpy(m->data + XS_HEADER_SIZE, payload, payload_len);
		c->out_reserved++;
		reserve_used_total++;
		log_warnx("conn %llu: no memory for a reply: one of the reserve's %u buffers holds it, "
			  "%u left", (unsigned long long)c->id, reserve_total, reserve_nfree);
	}
	if (!m) {
		reserve_refused_total++;
		return false;
	}
	if (c->who && quota_hold(c->who, QUOTA_OUTSTANDING, 1)) {
		m->counted = true;
		c->out_counted++;
	}
	outmsg_append(c, m);
	/* What reply_direct sent of it: the queue sends the rest. */
	if (sent)
		output_sent(c, sent);
	return true;
}

/*
 * Output is waiting on a connection other than the one being served (a
 * watch event). Sockets are sent to together once the current callback is
 * done: events of one request still coalesce while queued, and a thousand
 * watchers cost a thousand sends, not a thousand changes of epoll interest.
 */
static void conn_kick_output(struct conn *c)
{
	if (c->kind != CONN_SOCKET) {
		conn_ring_kick(c);
		return;
	}
	if (c->flush_pending)
		return;
	c->flush_pending = true;
	c->flush_next = flush_head;
	flush_head = c;
	if (flush_ev)
		event_active(flush_ev, EV_TIMEOUT, 0);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	while (flush_head) {
		struct conn *c = flush_head;

		flush_head = c->flush_next;
		c->flush_pending = false;
		conn_settle(c);
	}
}

/* The event timeout's timer, due at the monotonic millisecond at. */
static void expire_arm(struct conn *c, uint64_t at)
{
	uint64_t now = clock_us() / 1000, wait = at > now ? at - now : 0;
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};

	if (!c->ev_expire)
		c->ev_expire = evtimer_new(conn_base, expire_cb, c);
	if (c->ev_expire)
		evtimer_add(c->ev_expire, &tv);
}

/*
 * -w watch-event=N, as the C daemon: a watch event queued for an
 * unprivileged connection that has not started to go out N seconds later
 * is dropped. Deadlines follow the queue's order, so the walk stops at the
 * first event still in time, and the timer is set again for it.
 */
static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t now = clock_us() / 1000;
	struct outmsg **pp = &c->out_head, *prev = NULL, *m;
	bool dropped = false;

	(void)fd;
	(void)what;
	while ((m = *pp)) {
		if (m->expires && !m->sent) {
			if (m->expires > now) {
				expire_arm(c, m->expires);
				break;
			}
			*pp = m->next;
			if (c->out_tail == m)
				c->out_tail = prev;
			c->out_bytes -= m->len;
			c->out_msgs--;
			if (m->is_event)
				hmap_remove(&c->pending_events, &m->pending);
			c->events_expired++;
			mark_done(c, true);
			if (log_tracing())
				log_trace("watch event path %s for domain %u timed out",
					  (const char *)m->data + XS_HEADER_SIZE, c->domid);
			outmsg_free(c, m);
			dropped = true;
			continue;
		}
		prev = m;
		pp = &m->next;
	}
	if (dropped)
		conn_settle(c); /* room again: held-back input may go on (c may be gone after) */
}

void conn_queue_event(struct conn *c, const char *path, const char *token, bool expires)
{
	size_t plen = strlen(path), tlen = strlen(token);
	size_t len = plen + 1 + tlen + 1;
	struct outmsg *m;
	char *key;

	if (c->state != CONN_OPEN || len > XS_PAYLOAD_MAX)
		return; /* an event that cannot be sent whole is not sent (as the C daemon) */
	if (c->out_bytes + XS_HEADER_SIZE + len > cfg.conn_output_max) {
		if (!c->events_dropped++)
			log_info("conn %llu (domain %u): not reading its events, dropping them",
				 (unsigned long long)c->id, c->domid);
		if (log_tracing())
			log_trace("dropping watch %s %s for domain %u: output queue full", path, token, c->domid);
		return;
	}
	m = outmsg_new(XS_WATCH_EVENT, 0, 0, NULL, 0, len + len);
	if (!m) {
		c->events_dropped++;
		return;
	}
	/* Payload "path\0token\0", then the coalescing key "path token" (paths have no space). */
	key = (char *)m->data + XS_HEADER_SIZE + len;
	memcpy(m->data + XS_HEADER_SIZE, path, plen + 1);
	memcpy(m->data + XS_HEADER_SIZE + plen + 1, token, tlen + 1);
	memcpy(key, path, plen);
	key[plen] = ' ';
	memcpy(key + plen + 1, token, tlen + 1);
	if (path[0] != '@' && hmap_find(&c->pending_events, key)) {
		c->events_coalesced++;
		if (log_tracing())
			log_trace("dropping duplicate watch %s %s for domain %u", path, token, c->domid);
		outmsg_free(c, m);
		return;
	}
	{
		struct xs_header h = {XS_WATCH_EVENT, 0, 0, (uint32_t)len};

		xs_header_encode(&h, m->data);
	}
	m->len = XS_HEADER_SIZE + len;
	m->pending.key = key;
	m->is_event = path[0] != '@' && hmap_insert(&c->pending_events, &m->pending);
	m->watch_event = true;
	if (expires && cfg.watch_event_timeout) {
		m->expires = clock_us() / 1000 + (uint64_t)cfg.watch_event_timeout * 1000;
		if (!c->ev_expire || !evtimer_pending(c->ev_expire, NULL))
			expire_arm(c, m->expires);
	}
	outmsg_append(c, m);
	if (c->mark)
		mstore(&c->mark->events, c->mark->events + 1);
	flush_early(c);
	conn_kick_output(c);
}

/* Account for n bytes of the queue head having gone out. */
static void output_sent(struct conn *c, size_t n)
{
	c->out_bytes -= n;
	while (n > 0) {
		struct outmsg *m = c->out_head;
		size_t left = m->len - m->sent;

		if (n < left) {
			m->sent += n;
			break;
		}
		n -= left;
		c->out_msgs--;
		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = NULL;
		if (m->is_event)
			hmap_remove(&c->pending_events, &m->pending);
		if (m->watch_event)
			c->events_sent++;
		mark_done(c, m->watch_event);
		reply_done(c, m);
		if (log_tracing_class(LOG_TRACE_IO))
			trace_message(c, "OUT", m->data);
		outmsg_free(c, m);
	}
}

void conn_set_presend(bool (*fn)(void))
{
	presend = fn;
}

static bool socket_flush(struct conn *c)
{
	if (c->out_head && presend && !presend())
		return true;
	while (c->out_head) {
		struct iovec iov[CONN_WRITE_IOV];
		int n = 0;

		for (struct outmsg *m = c->out_head; m && n < CONN_WRITE_IOV; m = m->next, n++) {
			iov[n].iov_base = m->data + m->sent;
			iov[n].iov_len = m->len - m->sent;
		}
		ssize_t w = socket_send(c, iov, n);

		if (w < 0)
			return false;
		if (c->send_full)
			break;
		output_sent(c, (size_t)w);
	}
	return true;
}

/*
 * Send now if CONN_FLUSH_EVERY messages wait on a socket; not while it is
 * full (a peer not reading would cost a failed send per message), nor to a
 * connection being dropped.
 */
static void flush_early(struct conn *c)
{
	if (c->kind == CONN_SOCKET && c->state == CONN_OPEN && !c->send_full &&
	    c->out_msgs >= CONN_FLUSH_EVERY && !socket_flush(c))
		c->state = CONN_CLOSING;
}

/* Put what fits into the response ring; the guest notifies us when it has read some. */
static void ring_flush(struct conn *c)
{
	struct xs_ring *r = c->ring;
	bool produced = false;

	if (c->out_head && presend && !presend())
		return;
	while (c->out_head && c->state == CONN_OPEN) {
		struct outmsg *m = c->out_head;
		int n = xs_ring_produce(r->rsp, &r->rsp_cons, &r->rsp_prod, m->data + m->sent,
					m->len - m->sent);

		if (n < 0) {
			conn_fail(c, XS_RING_ERR_RINGIDX, "response ring indices corrupt");
			return;
		}
		if (n == 0)
			break;
		produced = true;
		output_sent(c, (size_t)n);
	}
	if (produced)
		mark_written(c);
	if (produced)
		c->notify(c->port);
}

/* Write what can go now. false if a socket peer is gone. */
static bool conn_flush(struct conn *c)
{
	if (c->kind == CONN_SOCKET)
		return socket_flush(c);
	ring_flush(c);
	return true;
}

/* The trace's line of a whole message: its header, then its payload. */
static void trace_message(const struct conn *c, const char *dir, const unsigned char *msg)
{
	struct xs_header h;
	const char *name;

	xs_header_decode(msg, &h);
	name = xs_type_name(h.type);
	log_trace_io(dir, c->id, c->domid, name ? name : "**UNKNOWN**", msg + XS_HEADER_SIZE, h.len);
}

/* Hand a message to the owner; traced as it arrives (not again when a parked one is handed over again). */
static void deliver(struct conn *c, const struct xs_header *h, const char *payload, bool again)
{
	if (!again && log_tracing_class(LOG_TRACE_IO)) {
		const char *name = xs_type_name(h->type);

		log_trace_io("IN", c->id, c->domid, name ? name : "**UNKNOWN**", payload, h->len);
	}
	if (!again && c->kind == CONN_RING)
		mark_taken(c, h);
	c->cur_hdr = h;
	c->cur_payload = payload;
	c->ops->message(c->owner, h, payload);
	c->cur_hdr = NULL;
	c->cur_payload = NULL;
}

bool conn_defer_message(struct conn *c)
{
	size_t len;
	unsigned char *p;

	if (!c->cur_hdr || c->held)
		return false;
	len = XS_HEADER_SIZE + c->cur_hdr->len;
	p = malloc(len);
	if (!p)
		return false;
	xs_header_encode(c->cur_hdr, p);
	memcpy(p + XS_HEADER_SIZE, c->cur_payload, c->cur_hdr->len);
	/* A redelivered message is parked again: the old copy is the one being delivered. */
	free(c->parked);
	c->parked = p;
	c->held = true;
	return true;
}

void conn_hold(struct conn *c)
{
	c->held = true;
}

void conn_resume(struct conn *c)
{
	if (!c->held)
		return;
	c->held = false;
	conn_kick_output(c); /* a turn soon: the parked message first, then the rest */
}

/* The parked message, once resumed: handed to the owner again (which may park it again). */
static void deliver_parked(struct conn *c)
{
	unsigned char *p = c->parked;
	struct xs_header h;

	c->parked = NULL;
	xs_header_decode(p, &h);
	deliver(c, &h, (const char *)p + XS_HEADER_SIZE, true);
	free(p); /* parked again, it was copied */
}

/*
 * Feed input to the framer and dispatch whole messages, stopping early when
 * replies pile up unread: the rest waits in the stash until output drains.
 * Returns the bytes consumed.
 */
static size_t conn_process(struct conn *c, const unsigned char *data, size_t len)
{
	size_t off = 0;

	while (off < len && c->state == CONN_OPEN && !c->held && c->out_bytes <= cfg.conn_output_max &&
	       !c->out_reserved && !outstanding_full(c)) {
		size_t used;
		struct xs_header h;
		const char *payload;
		enum xs_framer_state st = xs_framer_next(&c->in, data + off, len - off, &used, &h, &payload);

		off += used;
		if (st == XS_FRAMER_OVERSIZE) {
			conn_fail(c, XS_RING_ERR_PROTO, "message length over 4096");
			break;
		}
		if (st == XS_FRAMER_MESSAGE) {
			c->last_of_read = c->kind == CONN_SOCKET && off == len;
			deliver(c, &h, payload, false);
			c->last_of_read = false;
			flush_early(c);
		}
	}
	return off;
}

static void stash_rest(struct conn *c, const unsigned char *data, size_t len)
{
	unsigned char *s = realloc(c->stash, c->stash_len + len);

	if (!s) {
		conn_fail(c, XS_RING_ERR_COMM, "out of memory");
		return;
	}
	memcpy(s + c->stash_len, data, len);
	c->stash = s;
	c->stash_len += len;
}

/*
 * After any I/O: send what can go, then resume held-back input once output
 * has drained to half its limit, and (sockets) arm the events accordingly.
 */
static void conn_settle(struct conn *c)
{
	for (;;) {
		if (c->state != CONN_CLOSING && !conn_flush(c))
			c->state = CONN_CLOSING;
		if (c->state == CONN_CLOSING) {
			conn_destroy(c);
			return;
		}
		if (c->parked && !c->held && c->state == CONN_OPEN) {
			deliver_parked(c);
			continue;
		}
		if (!c->stash_len || c->held || c->out_bytes > cfg.conn_output_max / 2 ||
		    c->state != CONN_OPEN || c->out_reserved || outstanding_full(c))
			break;
		size_t used = conn_process(c, c->stash, c->stash_len);

		c->stash_len -= used;
		memmove(c->stash, c->stash + used, c->stash_len);
		if (!c->stash_len) {
			free(c->stash);
			c->stash = NULL;
		}
	}
	if (c->kind != CONN_SOCKET)
		return;
	if (c->out_head && !c->write_armed)
		c->write_armed = event_add(c->ev_write, NULL) == 0; /* else tried again at the next turn */
	else if (!c->out_head && c->write_armed)
		c->write_armed = event_del(c->ev_write) != 0;
	bool want_read = !c->stash_len && !c->held && c->out_bytes <= cfg.conn_output_max &&
			 !c->out_reserved && !outstanding_full(c);

	if (want_read && c->read_paused) {
		c->read_paused = false;
		event_add(c->ev_read, NULL);
	} else if (!want_read && !c->read_paused) {
		c->read_paused = true;
		event_del(c->ev_read);
	}
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	/*
	 * Not on the stack: a request's frames below it would start 16 KiB
	 * further down, over more pages (callbacks of the loop never nest).
	 */
	static unsigned char buf[CONN_READ_CHUNK];
	ssize_t n;
	size_t used;

	(void)what;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		c->state = CONN_CLOSING;
		conn_settle(c);
		return;
	}
	used = conn_process(c, buf, (size_t)n);
	if (used < (size_t)n && c->state == CONN_OPEN)
		stash_rest(c, buf + used, (size_t)n - used);
	conn_settle(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	c->send_full = false;
	conn_settle(c);
}

/* A pass over the ready rings after the next poll. */
static void ready_arm(void)
{
	static const struct timeval now = {0, 0};

	if (ready_ev && !evtimer_pending(ready_ev, NULL))
		evtimer_add(ready_ev, &now);
}

void conn_ring_kick(struct conn *c)
{
	if (c->ready || (c->state != CONN_OPEN && c->state != CONN_RESYNC) || c->held)
		return;
	c->ready = true;
	c->ready_next = NULL;
	c->ready_prev = ready_tail;
	if (ready_tail)
		ready_tail->ready_next = c;
	else
		ready_head = c;
	ready_tail = c;
	ready_count++;
	ready_arm();
}

/*
 * One turn for a ring: requests until CONN_READ_CHUNK bytes or ring-turn-us
 * of work, whichever comes first, then the other rings and the sockets get
 * theirs. Time is the measure of work: small requests can cost much more
 * than their bytes (a listing, an event to many watchers). The ring is read
 * a message at a time (what the framer wants), so a turn ends on a message
 * boundary with nothing read ahead.
 */
static void ring_serve(struct conn *c)
{
	struct xs_ring *r = c->ring;
	unsigned char buf[XS_RING_SIZE];
	size_t budget = CONN_READ_CHUNK;
	bool consumed = false, turn_over = false;
	uint64_t start = clock_us();

	if (xs_ring_load(&r->connection) == XS_RING_RECONNECT) {
		/* The guest asks to start over (feature RECONNECTION). */
		conn_ring_reset(c);
		return;
	}
	if (c->state != CONN_OPEN)
		return; /* CONN_RESYNC: nothing but a reconnection is served */
	conn_settle(c); /* output first: it may free room and unblock held-back input */
	while (budget && c->state == CONN_OPEN && !c->held && !c->stash_len &&
	       c->out_bytes <= cfg.conn_output_max && !c->out_reserved && !outstanding_full(c)) {
		size_t want = xs_framer_wanted(&c->in);
		int n;
		size_t used;

		if (!want)
			want = XS_HEADER_SIZE; /* the last message is done: a new header */
		want = want < budget ? want : budget;
		want = want < sizeof(buf) ? want : sizeof(buf);
		n = xs_ring_consume(r->req, &r->req_cons, &r->req_prod, buf, want);
		if (n < 0) {
			conn_fail(c, XS_RING_ERR_RINGIDX, "request ring indices corrupt");
			return;
		}
		if (n == 0)
			break;
		consumed = true;
		budget -= (size_t)n;
		used = conn_process(c, buf, (size_t)n);
		if (used < (size_t)n && c->state == CONN_OPEN)
			stash_rest(c, buf + used, (size_t)n - used);
		if (clock_us() - start >= cfg.ring_turn_us) {
			turn_over = true;
			break;
		}
	}
	if (c->state != CONN_OPEN)
		return;
	if (consumed)
		c->notify(c->port); /* the guest may be waiting for room */
	conn_settle(c);
	/* Turn spent with requests still waiting: another turn after the others. */
	if ((!budget || turn_over) && xs_ring_pending(&r->req_cons, &r->req_prod) > 0)
		conn_ring_kick(c);
}

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Serve as many turns as rings were waiting when this pass began; later kicks wait a pass. */
	unsigned turns = ready_count;

	(void)fd;
	(void)what;
	(void)arg;
	while (turns-- && ready_head) {
		struct conn *c = ready_head;

		ready_remove(c);
		ring_serve(c);
	}
	if (ready_head)
		ready_arm();
}

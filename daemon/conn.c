/* Client connections: identity, input framing, the output queue, back-pressure and teardown. */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "txn.h"
#include "watch.h"

/* Bytes read from one connection per wake-up: bounds the work one client gets per turn. */
#define CONN_READ_CHUNK 16384u
#define CONN_WRITE_IOV 64

struct outmsg {
	struct outmsg *next;
	size_t len, sent;
	struct hnode pending; /* in pending_events while queued, for a watch event */
	bool is_event;
	unsigned char data[];
};

static struct event_base *conn_base;
static struct conn *conn_list;
static unsigned conn_total;
static uint64_t conn_next_id = 1;
/* Counts of connections already gone, so that totals survive them. */
static uint64_t closed_events_dropped, closed_events_coalesced;

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_settle(struct conn *c);
static size_t conn_process(struct conn *c, const unsigned char *data, size_t len);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

void conn_init(struct event_base *base)
{
	conn_base = base;
}

unsigned conn_count(void)
{
	return conn_total;
}

static void set_identity(struct conn *c, uint32_t domid, bool priv)
{
	c->domid = domid;
	c->priv = priv;
	snprintf(c->home, sizeof(c->home), "/local/domain/%u", domid);
}

struct conn *conn_new_socket(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->id = conn_next_id++;
	c->target = XS_DOMID_INVALID;
	c->next_tx_id = 1;
	set_identity(c, cfg.master_domid, cfg.master_domid == cfg.priv_domid);
	xs_framer_init(&c->in);
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
	c->next = conn_list;
	if (conn_list)
		conn_list->prev = c;
	conn_list = c;
	conn_total++;
	log_debug("conn %llu: new socket connection", (unsigned long long)c->id);
	return c;
}

void conn_restrict(struct conn *c, uint32_t domid)
{
	set_identity(c, domid, false);
}

static void conn_destroy(struct conn *c)
{
	log_debug("conn %llu: closed", (unsigned long long)c->id);
	closed_events_dropped += c->events_dropped;
	closed_events_coalesced += c->events_coalesced;
	watch_drop_all(c);
	txn_drop_all(c);
	free(c->cursor.path);
	free(c->cursor.next_name);
	free(c->stash);
	while (c->out_head) {
		struct outmsg *m = c->out_head;

		c->out_head = m->next;
		free(m);
	}
	hmap_free(&c->pending_events);
	event_free(c->ev_read);
	event_free(c->ev_write);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		conn_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	conn_total--;
	free(c);
}

void conn_fail(struct conn *c, const char *why)
{
	if (!c->closing)
		log_info("conn %llu (domain %u): dropped: %s", (unsigned long long)c->id, c->domid, why);
	c->closing = true;
}

void conn_totals(struct conn_totals *t)
{
	t->connections = conn_total;
	t->transactions = 0;
	t->events_dropped = closed_events_dropped;
	t->events_coalesced = closed_events_coalesced;
	for (struct conn *c = conn_list; c; c = c->next) {
		t->transactions += c->ntxns;
		t->events_dropped += c->events_dropped;
		t->events_coalesced += c->events_coalesced;
	}
}

void conn_close_all(void)
{
	while (conn_list)
		conn_destroy(conn_list);
}

static struct outmsg *outmsg_new(uint32_t type, uint32_t req_id, uint32_t tx_id,
				 const void *payload, size_t payload_len, size_t extra)
{
	struct xs_header h = {type, req_id, tx_id, (uint32_t)payload_len};
	struct outmsg *m = malloc(sizeof(*m) + XS_HEADER_SIZE + payload_len + extra);

	if (!m)
		return NULL;
	m->next = NULL;
	m->len = XS_HEADER_SIZE + payload_len;
	m->sent = 0;
	m->is_event = false;
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
}

bool conn_queue(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		const void *payload, size_t payload_len)
{
	struct outmsg *m = outmsg_new(type, req_id, tx_id, payload, payload_len, 0);

	if (!m)
		return false;
	outmsg_append(c, m);
	return true;
}

void conn_queue_event(struct conn *c, const char *path, const char *token)
{
	size_t plen = strlen(path), tlen = strlen(token);
	size_t len = plen + 1 + tlen + 1;
	struct outmsg *m;
	char *key;

	if (c->closing || len > XS_PAYLOAD_MAX)
		return; /* an event that cannot be sent whole is not sent (as the C daemon) */
	if (c->out_bytes + XS_HEADER_SIZE + len > cfg.conn_output_max) {
		if (!c->events_dropped++)
			log_info("conn %llu (domain %u): not reading its events, dropping them",
				 (unsigned long long)c->id, c->domid);
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
		free(m);
		return;
	}
	{
		struct xs_header h = {XS_WATCH_EVENT, 0, 0, (uint32_t)len};

		xs_header_encode(&h, m->data);
	}
	m->len = XS_HEADER_SIZE + len;
	m->pending.key = key;
	m->is_event = path[0] != '@' && hmap_insert(&c->pending_events, &m->pending);
	outmsg_append(c, m);
	/* The watcher may be another connection: its write event sends the event. */
	event_add(c->ev_write, NULL);
}

/* Write what the socket takes now. false if the peer is gone. */
static bool conn_flush(struct conn *c)
{
	while (c->out_head) {
		struct iovec iov[CONN_WRITE_IOV];
		int n = 0;

		for (struct outmsg *m = c->out_head; m && n < CONN_WRITE_IOV; m = m->next, n++) {
			iov[n].iov_base = m->data + m->sent;
			iov[n].iov_len = m->len - m->sent;
		}
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		c->out_bytes -= (size_t)w;
		while (w > 0) {
			struct outmsg *m = c->out_head;
			size_t left = m->len - m->sent;

			if ((size_t)w < left) {
				m->sent += (size_t)w;
				break;
			}
			w -= (ssize_t)left;
			c->out_head = m->next;
			if (!c->out_head)
				c->out_tail = NULL;
			if (m->is_event)
				hmap_remove(&c->pending_events, &m->pending);
			free(m);
		}
	}
	return true;
}

/*
 * After any I/O: keep the write event armed while output is pending, and stop
 * reading a client whose replies pile up unread (it gets them once it reads).
 */
static void conn_settle(struct conn *c)
{
	for (;;) {
		if (!c->closing && !conn_flush(c))
			c->closing = true;
		if (c->closing) {
			conn_destroy(c);
			return;
		}
		/* Input held back while output was over the limit, now that it drained. */
		if (!c->stash_len || c->out_bytes > cfg.conn_output_max / 2)
			break;
		size_t used = conn_process(c, c->stash, c->stash_len);

		c->stash_len -= used;
		memmove(c->stash, c->stash + used, c->stash_len);
		if (!c->stash_len) {
			free(c->stash);
			c->stash = NULL;
		}
	}
	if (c->out_head)
		event_add(c->ev_write, NULL);
	else
		event_del(c->ev_write);
	bool want_read = !c->stash_len && c->out_bytes <= cfg.conn_output_max;

	if (want_read && c->read_paused) {
		c->read_paused = false;
		event_add(c->ev_read, NULL);
	} else if (!want_read && !c->read_paused) {
		c->read_paused = true;
		event_del(c->ev_read);
	}
}

/*
 * Feed input to the framer and dispatch whole messages, stopping early when
 * replies pile up unread: the rest waits in the stash until output drains.
 * Returns the bytes consumed.
 */
static size_t conn_process(struct conn *c, const unsigned char *data, size_t len)
{
	size_t off = 0;

	while (off < len && !c->closing && c->out_bytes <= cfg.conn_output_max) {
		size_t used;
		enum xs_framer_state st = xs_framer_feed(&c->in, data + off, len - off, &used);

		off += used;
		if (st == XS_FRAMER_OVERSIZE) {
			conn_fail(c, "message length over 4096");
			break;
		}
		if (st == XS_FRAMER_MESSAGE)
			dispatch_request(c, &c->in.hdr, xs_framer_payload(&c->in));
	}
	return off;
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	unsigned char buf[CONN_READ_CHUNK];
	ssize_t n;
	size_t used;

	(void)what;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		c->closing = true;
		conn_settle(c);
		return;
	}
	used = conn_process(c, buf, (size_t)n);
	if (used < (size_t)n && !c->closing) {
		c->stash = malloc((size_t)n - used);
		if (!c->stash) {
			conn_fail(c, "out of memory");
		} else {
			memcpy(c->stash, buf + used, (size_t)n - used);
			c->stash_len = (size_t)n - used;
		}
	}
	conn_settle(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_settle(arg);
}

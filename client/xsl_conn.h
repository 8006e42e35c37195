/* The connection: many requests in flight over one transport, replies routed by req_id, events handed up. */
#ifndef XSL_CONN_H
#define XSL_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "xsl_codec.h"
#include "xsl_transport.h"

/*
 * Single-threaded: the owner serialises every call (the handle holds its
 * lock). Callbacks run inside xsl_conn_io / xsl_conn_fail and must not call
 * back into the connection.
 */
struct xsl_conn;

/*
 * A request's completion: err 0 with the reply (of the request's type), or
 * a negative errno with reply NULL: the store's error, -EPROTO for a reply
 * of another type, -ECONNRESET when the connection went (-EAGAIN for a request
 * inside a transaction or starting one, but not its commit), -EAGAIN for a
 * transaction of an earlier connection.
 */
typedef void xsl_done_fn(void *arg, int err, const struct xsl_msgview *reply);

struct xsl_conn_ops {
	/* A well-formed watch event (malformed ones are counted and dropped). */
	void (*event)(void *owner, const char *path, const char *token);
};

struct xsl_conn_stats {
	uint64_t requests;
	uint64_t unknown_replies;
	uint64_t bad_events;
	unsigned inflight;
	unsigned queued;
};

/* The connection owns tr from now on (closed by xsl_conn_free, even on failure). */
int xsl_conn_new(struct xsl_transport *tr, unsigned max_inflight, const struct xsl_conn_ops *ops,
		 void *owner, struct xsl_conn **out);
/* Complete everything with -ENOTCONN, close the transport, free. */
void xsl_conn_free(struct xsl_conn *c);

/*
 * Queue an encoded message (its req_id is assigned here and returned in
 * *req_id). epoch: 0, or the connection epoch its transaction belongs to
 * (checked when it is sent). front: ahead of everything queued (replayed
 * watches). Sends at once what the in-flight cap allows.
 */
int xsl_conn_submit(struct xsl_conn *c, const unsigned char *msg, size_t len, uint32_t epoch,
		    bool front, xsl_done_fn *done, void *arg, uint32_t *req_id);
/* The waiter gives up: its done will not be called; a reply still occupies the slot until it comes. */
void xsl_conn_cancel(struct xsl_conn *c, uint32_t req_id);

/*
 * Move bytes without waiting: send what fits, read what is there (a bounded
 * amount) and complete what it answers. 0, or the negative errno of a lost
 * connection (requests are then kept until xsl_conn_fail).
 */
int xsl_conn_io(struct xsl_conn *c);
/* Complete requests in flight with err; queued ones too unless keep_queued. Then broken until reconnected. */
void xsl_conn_fail(struct xsl_conn *c, int err, bool keep_queued);
/* Ask the transport for a new connection (see its reconnect); on 0 the epoch advances and queued requests go out. */
int xsl_conn_reconnect(struct xsl_conn *c);

uint32_t xsl_conn_epoch(const struct xsl_conn *c);
struct xsl_transport *xsl_conn_transport(const struct xsl_conn *c);
bool xsl_conn_output_waiting(const struct xsl_conn *c);
bool xsl_conn_idle(const struct xsl_conn *c);
void xsl_conn_stats(const struct xsl_conn *c, struct xsl_conn_stats *st);

#endif

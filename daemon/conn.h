/* Client transports: a socket or a ring, input framing, the output queue and back-pressure. */
#ifndef XSD_CONN_H
#define XSD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"

struct xs_ring;
struct event_base;
struct conn;

/*
 * What a connection tells its owner (the session above it). conn.c never
 * looks into the owner: messages go up through this table, so that the
 * transport knows nothing of requests, watches or transactions.
 */
struct conn_owner_ops {
	/* One complete message; the payload stays valid until the call returns. */
	void (*message)(void *owner, const struct xs_header *h, const char *payload);
	/* Everything in flight is forgotten (ring reset or broken): drop watches, transactions. */
	void (*reset)(void *owner);
	/* The connection is being destroyed (peer gone or protocol violation); owner must not use it after. */
	void (*closed)(void *owner);
};

enum conn_kind {
	CONN_SOCKET, /* a local client on the unix socket */
	CONN_RING,   /* a domain's shared ring page and event channel */
};

/* Where a connection is in its life; only conn.c changes it. */
enum conn_state {
	CONN_OPEN,    /* served */
	CONN_BROKEN,  /* a ring that broke the protocol: kept (its domain lives), not served */
	CONN_CLOSING, /* a socket being closed once the current callback returns */
};

void conn_init(struct event_base *base);
/*
 * Called before any bytes leave for a client, socket or ring: false holds
 * them back for now (they go at the next chance). main.c installs the
 * store's flush, so that nothing is said before what it says is durable;
 * conn.c knows nothing more of it.
 */
void conn_set_presend(bool (*fn)(void));
/* Wrap an accepted socket. NULL on failure (the caller still owns fd). */
struct conn *conn_new_socket(int fd, const struct conn_owner_ops *ops, void *owner);
/* Serve a domain's mapped ring through its local event channel port. */
struct conn *conn_new_ring(struct xs_ring *ring, uint32_t port, void (*notify)(uint32_t),
			   const struct conn_owner_ops *ops, void *owner);
/* The ring's event channel changed (re-INTRODUCE). */
void conn_set_port(struct conn *c, uint32_t port);
/* The ring's event channel fired: serve it soon (fairly, with the others that have work). */
void conn_ring_kick(struct conn *c);
/*
 * Start the ring afresh (re-INTRODUCE, reconnection): indices to 0, partial
 * input and queued output dropped, the owner told to reset; a waiting
 * RECONNECT is answered.
 */
void conn_ring_reset(struct conn *c);
/* Destroy a connection at its owner's request; the owner is not called back. */
void conn_free(struct conn *c);
/* Leave the socket's descriptor open when it is destroyed: its creator, who failed to set it up, keeps it. */
void conn_keep_fd(struct conn *c);
/* Queue one message (header fields as given, len from payload_len). false on allocation failure. */
bool conn_queue(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		const void *payload, size_t payload_len);
/*
 * Queue a watch event "path\0token\0" unless an identical one is still
 * queued, or the connection's queue is over its limit (then it is dropped
 * and counted: a watcher that does not read cannot make the daemon hold
 * events without bound). With expires (an unprivileged watcher), the event
 * is dropped if it has not started to go out within the event timeout
 * (-w watch-event=N, cfg.watch_event_timeout; 0 keeps it).
 */
void conn_queue_event(struct conn *c, const char *path, const char *token, bool expires);
/*
 * A protocol violation (logged once): a socket is closed; a ring is no longer
 * served and its error field says why (XS_RING_ERR_*).
 */
void conn_fail(struct conn *c, unsigned ring_error, const char *why);
/*
 * From the owner's message callback: keep this message and take no more
 * input until conn_resume, then hand it over again first (input order is
 * kept). false if it cannot be kept (no memory): the owner handles it now.
 */
bool conn_defer_message(struct conn *c);
void conn_resume(struct conn *c);
enum conn_state conn_state(const struct conn *c);
/* Arrival order, unique for the daemon's life: logs, the trace file, and the C daemon's event order. */
uint64_t conn_id(const struct conn *c);
/* Whose connection this is (its domain, or the domain a socket acts as): named in logs and the trace. */
void conn_set_domid(struct conn *c, uint32_t domid);
/*
 * Whose quotas the connection's replies count against (the owner's identity,
 * read as it changes; NULL: none): each reply queued and not yet sent holds
 * one of the domain's outstanding quota, and while the domain holds all of
 * it, none of its connections takes input.
 */
struct ident;
void conn_set_who(struct conn *c, const struct ident *who);
/* Replies of this connection held against the outstanding quota. */
unsigned conn_outstanding(const struct conn *c);
/*
 * Totals over all connections; the event counts include those of
 * connections already closed (for CONTROL stats).
 */
struct conn_totals {
	unsigned connections;
	unsigned rings;            /* of them, domains' rings (the rest are sockets) */
	uint64_t events_sent;      /* written whole */
	uint64_t events_dropped;   /* the watcher's queue was over conn-output-max */
	uint64_t events_coalesced; /* identical to one still queued */
	uint64_t events_expired;   /* not started within the event timeout */
	uint64_t out_bytes;        /* queued now, not yet sent */
	uint64_t out_msgs;
	unsigned reserve_free;     /* reply reserve buffers free now (of reply-reserve) */
	uint64_t reserve_used;     /* replies that went in a reserve buffer, since the start */
	uint64_t reserve_refused;  /* replies with no memory and no reserve left: their connection dropped */
};
void conn_totals(struct conn_totals *t);
/* Close every connection (shutdown); owners are told (closed). */
void conn_close_all(void);
unsigned conn_count(void);

#endif

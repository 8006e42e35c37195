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
	CONN_RESYNC,  /* a ring taken up without knowing where its framing stands: waits for the guest's reconnection */
};

/*
 * Where a ring's messages stand, kept in memory that outlives the daemon (a
 * shared mapping of a file: a daemon killed leaves its last stores in the
 * page cache, as the write-ahead log's), so that a restarted daemon knows
 * whether it may go on from the ring's indices and what the guest lost:
 * where the last whole request taken ends (req_at) and the last whole
 * message written ends (rsp_at), the requests taken whole and not yet
 * answered whole (owed, oldest at owed_head), and how many watch events
 * are queued and not yet written whole. Plain stores, never a system call,
 * each ordered so that a daemon killed between two of them leaves a mark
 * that either agrees with the ring's indices or does not, never one that
 * agrees wrongly.
 */
#define CONN_MARK_OWED 40u
struct conn_mark {
	uint32_t valid;     /* the rest describes the ring (0 while it is set up, or if it broke) */
	uint32_t req_at;
	uint32_t rsp_at;
	uint32_t events;
	uint32_t owed_head, owed_tail;
	uint32_t overflow;  /* more were owed than fit: what was owed is unknown */
	uint32_t reserved;
	struct {
		uint32_t type, req_id, tx_id;
	} owed[CONN_MARK_OWED];
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
/* Serve a domain's mapped ring through its local event channel port; mark (or NULL) is kept up to date. */
struct conn *conn_new_ring(struct xs_ring *ring, uint32_t port, void (*notify)(uint32_t),
			   struct conn_mark *mark, const struct conn_owner_ops *ops, void *owner);
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
/*
 * A restarted daemon takes a ring up as the last one left it, instead of
 * starting it afresh: as the ring's error field and the mark say (read
 * before anything is written to either).
 * - Stopped before for breaking the protocol: it stays stopped (CONN_BROKEN).
 * - Its indices where the mark says whole messages end: it goes on from
 *   them (CONN_OPEN). Requests the last daemon took and did not answer are
 *   answered now, in order, with ERROR EIO (their outcome is unknown; a
 *   TRANSACTION_END gets EAGAIN); if watch events it had queued were lost,
 *   events_lost says so (the owner fires every watch again).
 * - Otherwise where its messages stand is unknown (a message half read or
 *   half written, no mark): its error field says XS_RING_ERR_COMM and
 *   nothing but the guest's reconnection is served, which starts it afresh
 *   (CONN_RESYNC).
 */
struct conn_resumed {
	enum conn_state state;
	unsigned answered;
	bool events_lost;
	bool in_flight; /* what a clean stop saved was taken back: nothing lost */
};
/*
 * saved (or NULL): what conn_save gave the last daemon at its clean
 * stop. If it agrees with the ring and the mark, the ring goes on exactly
 * where that daemon stopped: a request half received goes on being read,
 * a parked one is handled, replies and events are written. Nothing lost.
 */
void conn_ring_resume(struct conn *c, const unsigned char *saved, size_t saved_len, struct conn_resumed *out);
/*
 * What is in flight on a served connection (a request half received or
 * parked, replies and events not yet written whole), as bytes for the next
 * daemon: a ring's at a clean stop (conn_ring_resume), any connection's at
 * a live update (a socket's with conn_socket_resume). NULL (and *len 0)
 * when nothing is, or without memory. malloc'd.
 */
unsigned char *conn_save(const struct conn *c, size_t *len);
/*
 * A live update: a socket the last daemon served, wrapped again
 * (conn_new_socket), takes back what conn_save gave; false if the bytes are
 * not such (nothing taken). Its next turn comes soon (with nothing saved
 * too: what is queued meanwhile goes then).
 */
bool conn_socket_resume(struct conn *c, const unsigned char *saved, size_t saved_len);
/* The socket's descriptor (-1 for a ring). */
int conn_fd(const struct conn *c);
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
/*
 * From the owner's message callback: this message's reply comes later;
 * take no more input until conn_resume, so that replies keep the order of
 * the requests.
 */
void conn_hold(struct conn *c);
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

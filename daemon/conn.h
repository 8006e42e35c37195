/* Client connections: identity, input framing, the output queue, back-pressure and teardown. */
#ifndef XSD_CONN_H
#define XSD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"
#include "hmap.h"

struct xs_ring;

struct event_base;
struct txn;
struct outmsg;

/* Where a DIRECTORY_PART reader left off, so that the next part does not rescan the list. */
struct dir_cursor {
	char *path;      /* malloc'd; NULL when unset */
	uint64_t gen;    /* the directory's generation when the cursor was made */
	uint32_t chunk;  /* the store chunk where the last part stopped ... */
	size_t offset;   /* ... and that chunk's byte offset in the child list */
};

enum conn_kind {
	CONN_SOCKET, /* a local client on the unix socket */
	CONN_RING,   /* a domain's shared ring page and event channel */
};

struct conn {
	struct conn *next, *prev;
	enum conn_kind kind;
	/* Socket transport. */
	int fd;
	struct event *ev_read, *ev_write;
	/* Ring transport. */
	struct xs_ring *ring;
	uint32_t port;                 /* local event channel */
	void (*notify)(uint32_t port); /* kick the other side */
	bool ignored;                  /* broke the protocol: no longer served */
	bool ready;                    /* in the ready list */
	struct conn *ready_next, *ready_prev;
	bool flush_pending;            /* a socket with others' events to send */
	struct conn *flush_next;
	/* Identity. */
	uint32_t domid;  /* whose rights the connection has */
	uint32_t target; /* SET_TARGET or XS_DOMID_INVALID */
	bool priv;
	char home[32];   /* "/local/domain/<domid>", base of relative paths */
	/* Input. */
	struct xs_framer in;
	unsigned char *stash; /* input read but held back while output is over its limit */
	size_t stash_len;
	bool read_paused;
	/* Output: whole messages, written in order. */
	struct outmsg *out_head, *out_tail;
	size_t out_bytes;
	unsigned out_msgs; /* queued, not yet wholly sent */
	bool send_full;    /* the socket took no more at the last send; until it is writable */
	struct hmap pending_events; /* queued, unsent watch events by "path token" */
	uint64_t events_dropped;    /* refused: the queue was over its limit */
	uint64_t events_coalesced;  /* identical to one still queued */
	/* Watches (owned by watch.c). */
	struct watch *watches;
	struct hmap watch_keys;
	unsigned nwatches;
	/* Transactions (owned by txn.c). */
	struct txn *txns;
	unsigned ntxns;
	uint32_t next_tx_id;
	struct dir_cursor cursor;
	bool closing; /* torn down once the current callback returns */
	uint64_t id;  /* for logs */
};

void conn_init(struct event_base *base);
/* Wrap an accepted socket; it acts as the daemon's own domain. NULL on failure. */
struct conn *conn_new_socket(int fd);
/* Serve a domain's mapped ring; priv for the privileged domain's own ring. */
struct conn *conn_new_ring(struct xs_ring *ring, uint32_t port, void (*notify)(uint32_t),
			   uint32_t domid, bool priv);
/* The ring's event channel fired: serve it soon (fairly, with the others that have work). */
void conn_ring_kick(struct conn *c);
/*
 * Start the ring afresh (re-INTRODUCE, reconnection): indices to 0, partial
 * input, queued output, watches and transactions dropped; a waiting
 * RECONNECT is answered.
 */
void conn_ring_reset(struct conn *c);
/* Tear down a ring connection (its domain is released or dead). */
void conn_free(struct conn *c);
/* Act for another domain in permission checks (SET_TARGET). */
void conn_set_target(struct conn *c, uint32_t target);
/* The domain is gone: nobody acts for it any more. */
void conn_clear_target(uint32_t target);
/* Queue one message (header fields as given, len from payload_len). false on allocation failure. */
bool conn_queue(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		const void *payload, size_t payload_len);
/*
 * Queue a watch event "path\0token\0" unless an identical one is still
 * queued, or the connection's queue is over its limit (then it is dropped
 * and counted: a watcher that does not read cannot make the daemon hold
 * events without bound).
 */
void conn_queue_event(struct conn *c, const char *path, const char *token);
/* Drop to the rights of an unprivileged domain, for good. */
void conn_restrict(struct conn *c, uint32_t domid);
/*
 * A protocol violation (logged once): a socket is closed; a ring is no longer
 * served and its error field says why (XS_RING_ERR_*).
 */
void conn_fail(struct conn *c, unsigned ring_error, const char *why);
/* Totals over all connections, including those already closed (for CONTROL stats). */
struct conn_totals {
	unsigned connections;
	unsigned transactions;
	uint64_t events_dropped;
	uint64_t events_coalesced;
};
void conn_totals(struct conn_totals *t);
/* Close every connection (shutdown). */
void conn_close_all(void);
unsigned conn_count(void);

#endif

/* A test's client connection: the client library's handle, requests built from strings, watch events kept under the test's names. */
#ifndef XST_CONN_H
#define XST_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "client/xenstore_client.h"
#include "tests/lib/xst_wire.h"

/*
 * Everything here goes through the library (client/xenstore_client.h):
 * its req_ids, its reply matching, its watch tokens and event routing,
 * its transactions. What it adds is for test code only: a reply as a
 * message the test can compare bytes with, and watches named by the test
 * (the library makes the tokens; xst_watch_token says which).
 */
struct xst_conn;

/* Through the socket at path, or a simulated domain's ring; calls wait timeout_ms at most. */
struct xst_conn *xst_conn_socket(const char *path, int timeout_ms);
struct xst_conn *xst_conn_ring(struct xsl_simdom *d, int timeout_ms);
/* A ring client that reconnects when the store asks (XSL_OPEN_RECONNECT): its watches registered again. */
struct xst_conn *xst_conn_ring_reconnecting(struct xsl_simdom *d, int timeout_ms);
void xst_conn_close(struct xst_conn *c);
struct xsl *xst_conn_xsl(const struct xst_conn *c);

/*
 * A request and its reply. On an answer (the reply, or the store's
 * error) 0, with m->hdr.type the request's type or XS_ERROR and the error's
 * name as the store sends it ("ENOENT\0"); the library keeps req_id and
 * tx_id to itself, so they are 0 in m. Without one, a negative errno:
 * -ETIMEDOUT, -ECONNRESET, -EPROTO (a reply of another type), ...
 */
int xst_request(struct xst_conn *c, xsl_txn_t t, uint32_t type, const void *payload, size_t len,
		struct xst_msg *m);
/* The same with the payload built from strings (xst_payload; raw_last: WRITE's value). */
int xst_call(struct xst_conn *c, xsl_txn_t t, uint32_t type, int raw_last, const char *const *args,
	     struct xst_msg *m);

/*
 * A watch through the library, named name by the test (several may share
 * a name); depth < 0: the whole subtree. Events of up to
 * XSL_WATCH_PENDING_MAX per watch are kept. 0 or the store's -errno.
 */
int xst_watch(struct xst_conn *c, const char *path, const char *name, int depth);
/* The token the library sent for the (first) watch named name, or NULL: for requests naming it. */
const char *xst_watch_token(struct xst_conn *c, const char *name);

struct xst_event {
	char path[XS_PAYLOAD_MAX];
	char name[64]; /* the watch's name, as the test gave it */
	unsigned flags; /* XSL_EVENT_OVERFLOW: the watch overflowed */
};
/* The next watch event as the library delivers them, within timeout_ms: 0 or -errno. */
int xst_event(struct xst_conn *c, struct xst_event *ev, int timeout_ms);

#endif

/* Raw wire access for tests and benchmarks: bytes as given to a store, its messages back as framed, nothing interpreted. */
#ifndef XST_WIRE_H
#define XST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

/*
 * This is not a client: it matches no reply to a request, keeps no watch
 * event aside, knows no transaction. It is for what a client must hide:
 * malformed or split bytes, chosen req_id and tx_id, headers as they come
 * back, many requests written at once, a reader that never reads. Anything
 * a client does goes through the library (tests/lib/xst_conn.h).
 */

/* One message as received; payload is NUL-terminated for convenience (not counted in hdr.len). */
struct xst_msg {
	struct xs_header hdr;
	char payload[XS_PAYLOAD_MAX + 1];
};

/*
 * A payload of NUL-terminated strings from a NULL-terminated list; raw_last:
 * the last goes without its NUL (WRITE's value). The length, or -1 if it
 * does not fit in size.
 */
int xst_payload(char *buf, size_t size, int raw_last, const char *const *args);

struct xst_wire;
struct xsl_simdom;

/* A connection to a store's unix socket; NULL with errno. */
struct xst_wire *xst_wire_socket(const char *path);
/*
 * A simulated domain's ring, driven by hand (the domain is not owned: close
 * this first). Whatever else uses the ring meanwhile competes for its bytes.
 */
struct xst_wire *xst_wire_ring(struct xsl_simdom *d);
void xst_wire_close(struct xst_wire *w);
/* What to poll for input: the socket, or the eventfd the store signals. */
int xst_wire_fd(const struct xst_wire *w);

/* Send bytes verbatim, all of them (a ring: as room appears, 5 s at most). 0, or -1 with errno. */
int xst_wire_send(struct xst_wire *w, const void *buf, size_t len);
/* One message with the header given; len at most XS_PAYLOAD_MAX (E2BIG). */
int xst_wire_send_msg(struct xst_wire *w, uint32_t type, uint32_t req_id, uint32_t tx_id,
		      const void *payload, size_t len);
/*
 * The next message of any kind. timeout_ms < 0 waits for ever, 0 takes only
 * what is there already. 0, or -1 with errno ETIMEDOUT, ECONNRESET (the peer
 * closed; a ring: its error field is set) or EPROTO (a length over 4096).
 */
int xst_wire_recv(struct xst_wire *w, struct xst_msg *m, int timeout_ms);

/* Monotonic milliseconds. */
long long xst_now_ms(void);

#endif

/* A small synchronous XenStore client over a unix socket: requests, replies, queued watch events. */
#ifndef XS_CLIENT_XSC_H
#define XS_CLIENT_XSC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/wire.h"

struct xsc;

/* One received message; payload is NUL-terminated for convenience (not part of len). */
struct xsc_msg {
	struct xs_header hdr;
	char payload[XS_PAYLOAD_MAX + 1];
};

/*
 * How bytes move: a unix socket (xsc_open) or a guest's shared ring
 * (xsc_ring.h). send writes all or fails; recv returns >0 bytes, 0 at end
 * of stream, or -1 with errno (ETIMEDOUT when timeout_ms passes).
 */
struct xsc_transport {
	int (*send)(struct xsc *c, const void *buf, size_t len);
	ssize_t (*recv)(struct xsc *c, void *buf, size_t len, int timeout_ms);
	void (*close)(void *state);
};

/* A client over another transport; state is handed to it (and freed by its close). */
struct xsc *xsc_open_transport(const struct xsc_transport *tr, void *state);
void *xsc_transport_state(const struct xsc *c);
/* Monotonic milliseconds (for deadlines). */
long long xsc_now_ms(void);
/* Milliseconds until deadline for poll(): -1 without one (deadline < 0), 0 once passed. */
int xsc_ms_left(long long deadline);

/* Connect to a daemon's socket. NULL with errno on failure. */
struct xsc *xsc_open(const char *socket_path);
void xsc_close(struct xsc *c);
int xsc_fd(const struct xsc *c);

/* Send bytes verbatim (for framing tests). 0 or -1 with errno. */
int xsc_send_raw(struct xsc *c, const void *buf, size_t len);
/* Send one request without waiting. */
int xsc_send(struct xsc *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
	     size_t len);
/*
 * Receive the next message of any kind. timeout_ms < 0 waits forever; 0
 * takes what has already arrived without waiting.
 * 0 on success; -1 with errno ETIMEDOUT, ECONNRESET (peer closed) or EPROTO.
 */
int xsc_recv(struct xsc *c, struct xsc_msg *out, int timeout_ms);
/*
 * Send a request and wait for its reply (the next non-event message); watch
 * events received meanwhile are queued for xsc_next_event. Uses req_id 0
 * unless xsc_set_req_id was called.
 */
int xsc_call(struct xsc *c, uint32_t type, uint32_t tx_id, const void *payload, size_t len,
	     struct xsc_msg *reply, int timeout_ms);
/* Pop a queued watch event, else wait for one. 0, or -1 with errno as xsc_recv. */
int xsc_next_event(struct xsc *c, struct xsc_msg *out, int timeout_ms);

/*
 * Build a payload of NUL-terminated strings from a NULL-terminated list; if
 * raw_last is set the last string goes without its NUL (WRITE's value).
 * Returns the length, or -1 if it would not fit in size.
 */
int xsc_payload(char *buf, size_t size, int raw_last, const char *const *args);

#endif

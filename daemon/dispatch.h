/* Request dispatch: the message-type table, the generic checks, and reply construction. */
#ifndef XSD_DISPATCH_H
#define XSD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "../proto/path.h"
#include "../proto/wire.h"
#include "arena.h"

struct conn;
struct txn;

/* Most NUL-terminated arguments a request is split into (SET_PERMS reads its payload itself). */
#define REQ_MAX_ARGS 8

/* One request being handled; lives for the duration of dispatch_request. */
struct req {
	struct conn *conn;
	struct xs_header hdr;
	const char *payload;
	size_t len;
	const char *argv[REQ_MAX_ARGS];
	unsigned argc;       /* NUL-terminated strings in the payload (may exceed REQ_MAX_ARGS) */
	struct txn *txn;     /* the transaction named by tx_id, or NULL */
	char path[XS_PATH_BUF]; /* argv[0] canonicalised, for types that take a path */
	size_t prefix_len;   /* length of the home prefix added to a relative path */
	struct arena *arena; /* scratch, released after the reply */
	/* Runs after a successful reply is queued (WATCH's initial event follows its OK). */
	void (*after_reply)(struct req *r);
	char reply[XS_PAYLOAD_MAX];
	size_t reply_len;
	bool reply_overflow;
};

/* Handle one complete message from a connection; queues the reply. */
void dispatch_request(struct conn *c, const struct xs_header *h, const char *payload);

/* Reply builders: overflowing 4096 bytes turns the reply into E2BIG. */
void reply_bytes(struct req *r, const void *p, size_t n);
void reply_string(struct req *r, const char *s); /* with its NUL */
enum xs_err reply_ok(struct req *r);

#endif

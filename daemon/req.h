/* One request being handled: its parsed arguments, its node access context, and the reply being built. */
#ifndef XSD_REQ_H
#define XSD_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "../proto/path.h"
#include "../proto/perms.h"
#include "../proto/wire.h"
#include "access.h"

struct session;

/* Most NUL-terminated arguments a request is split into (SET_PERMS reads its list itself). */
#define REQ_MAX_ARGS 8

/* Lives for the duration of one dispatch_request; dispatch.c fills in everything the table checks. */
struct req {
	struct session *session;
	struct xs_header hdr;
	const char *payload;
	size_t len;
	const char *argv[REQ_MAX_ARGS];
	unsigned argc;          /* NUL-terminated strings in the payload (may exceed REQ_MAX_ARGS) */
	struct acc acc;         /* whose rights, the transaction named by tx_id (or NULL), scratch */
	size_t prefix_len;      /* length of the home prefix added to a relative path */
	struct xs_perm *perms;  /* SET_PERMS: the parsed list (in acc.arena) */
	unsigned nperms;
	int depth;              /* WATCH: the depth asked for, -1 for none */
	bool deferred;          /* must wait (a protected transaction, a clean-up) until wait_until at most */
	uint64_t wait_until;
	bool wait_cleanup;      /* deferred for the clean-up of domain wait_domid (cleanup.h) */
	bool wait_walk;         /* deferred for the store's start-up walk (store_settled) */
	uint32_t wait_domid;
	bool later;             /* answered later: by the daemon a live update hands over to */
	/* Runs after a successful reply is queued (WATCH's initial event follows its OK). */
	void (*after_reply)(struct req *r);
	size_t reply_len;
	bool reply_overflow;
	/* The buffers last: what every request touches stays together, on the fewest lines and pages. */
	char path[XS_PATH_BUF]; /* argv[0] canonicalised, for types that take a path */
	char reply[XS_PAYLOAD_MAX];
};

/* Reply builders: overflowing 4096 bytes turns the reply into E2BIG. */
void reply_bytes(struct req *r, const void *p, size_t n);
void reply_string(struct req *r, const char *s); /* with its NUL */
enum xs_err reply_ok(struct req *r);

#endif

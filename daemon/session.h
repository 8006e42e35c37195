/* Sessions: one client's identity, transactions, watches and directory cursor over its connection, and their teardown. */
#ifndef XSD_SESSION_H
#define XSD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"
#include "conn.h"
#include "ident.h"

struct session;
struct event_base;
struct xs_ring;
struct txn_set;
struct watch_set;

/*
 * Where a DIRECTORY_PART reader left off, so that the next part continues
 * there: (path, generations, offset) -> (chunk, its offset).
 */
struct dir_cursor {
	char *path;      /* malloc'd; NULL when unset */
	uint32_t tx_id;  /* the transaction it was made in, or 0 */
	uint64_t gen;    /* the directory's generation as the request saw it ... */
	uint64_t committed_gen; /* ... and as committed (they differ in a transaction) */
	uint64_t version; /* the transaction's creations and removals (txn_version), or 0 */
	size_t next_offset; /* the offset the next part asks for: where the last one's names ended */
	uint32_t chunk;  /* the store chunk where the last part stopped ... */
	size_t offset;   /* ... and that chunk's byte offset in the child list */
};

/*
 * Who handles a session's requests (dispatch.c, set by main.c): the session
 * layer lies below the request layer, so it is handed the function instead
 * of calling up into it.
 */
typedef void (*session_request_fn)(struct session *s, const struct xs_header *h,
				   const char *payload);
void session_init(struct event_base *base, session_request_fn handler);
/* After every connection is closed (shutdown). */
void session_fini(void);

/* A client on an accepted socket: it acts as the daemon's own domain. NULL on failure (fd left open). */
struct session *session_new_socket(int fd);
/* A domain's ring; priv for the privileged domain; mark: see conn_new_ring. */
struct session *session_new_ring(struct xs_ring *ring, uint32_t port, void (*notify)(uint32_t),
				 struct conn_mark *mark, uint32_t domid, bool priv);
/* Tear a ring's session down (its domain is released or dead): watches first, then the rest. */
void session_free(struct session *s);

/* The ring's event channel fired; a new event channel; start the ring afresh (see conn.h). */
void session_ring_kick(struct session *s);
void session_ring_port(struct session *s, uint32_t port);
void session_ring_reset(struct session *s);
/*
 * A restarted daemon takes the ring up as it was (conn_ring_resume, with
 * what the last daemon's clean stop saved of it, or NULL; its account is
 * given back; if watch events were lost, every watch fires again). Until
 * the ring starts afresh, the session is one from before the restart: its
 * transactions were lost with the old daemon, so it hands out ids the
 * client cannot hold still, and a request naming an id it does not know is
 * answered EAGAIN, not ENOENT (session_restored).
 */
void session_ring_resume(struct session *s, const unsigned char *saved, size_t saved_len,
			 struct conn_resumed *out);
/* A clean stop: what is in flight on the ring (conn_save). */
unsigned char *session_ring_save(const struct session *s, size_t *len);
bool session_restored(const struct session *s);

const struct ident *session_ident(const struct session *s);
struct txn_set *session_txns(struct session *s);
struct watch_set *session_watches(struct session *s);
struct dir_cursor *session_cursor(struct session *s);
uint64_t session_id(const struct session *s);
/* The session with this id (session_id), or NULL: one held by id may have gone meanwhile. */
struct session *session_by_id(uint64_t id);
/* A domain's ring (else a socket client, restricted or not). */
bool session_is_ring(const struct session *s);

/* Drop to the rights of an unprivileged domain, for good (what it holds moves to that domain's quotas). */
void session_restrict(struct session *s, uint32_t domid);
/* Act for another domain in permission checks (SET_TARGET). */
void session_set_target(struct session *s, uint32_t target);
/* The domain is gone: no session acts for it any more. */
void session_clear_target(uint32_t target);
/* Drop watches and transactions (RESET_WATCHES); queued events stay queued. */
void session_reset(struct session *s);
/*
 * WATCH and UNWATCH (watch_add, watch_remove): a ring's watches are kept
 * with the store as well (keep.h), so a restarted daemon has them; a
 * watch that cannot be kept is not registered (the store's error).
 */
enum xs_err session_watch_add(struct session *s, const char *path, size_t prefix_len, const char *token,
			      int depth);
enum xs_err session_watch_remove(struct session *s, const char *path, const char *token);

/* Queue a reply (or any message); false on allocation failure. */
bool session_send(struct session *s, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *payload, size_t len);
/*
 * From the request handler: park the request being handled (it is handed
 * over again, before anything the client sent after it, once woken) until
 * session_wake_deferred or the instant until (txn_now_ms). false if it
 * cannot be parked: handle it now.
 */
bool session_defer(struct session *s, uint64_t until);
/* Hand every parked request over again (what held them may have ended). */
void session_wake_deferred(void);
/*
 * From the request handler: the reply comes later (CONTROL live-update -s);
 * nothing more the client sent is handled until session_resume_input, so
 * that replies keep the order of requests.
 */
void session_hold_input(struct session *s);
void session_resume_input(struct session *s);
/* A protocol violation or a failure to answer: see conn_fail. */
void session_fail(struct session *s, unsigned ring_error, const char *why);
/*
 * A live update: every session packed for the next daemon (sockets'
 * descriptors left open across exec), and, there, taken up again: sockets
 * wrapped again with their watches and what was in flight, and every
 * session's transactions (a ring's go to its session as the domain's
 * take-up made it; those of a domain not taken up are dropped). *asker:
 * the session that asked for the update (asker, its session_id), as taken
 * up (or NULL).
 */
struct pack;
struct unpack;
bool session_pack_all(struct pack *b, uint64_t asker);
/* The update did not happen: sockets' descriptors closed on exec again. */
void session_pack_undone(void);
bool session_unpack_all(struct unpack *r, struct session **asker);

#endif

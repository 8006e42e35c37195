/* Sessions: one client's identity, transactions, watches and directory cursor over its connection, and their teardown. */
#include "session.h"

#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "keep.h"
#include "log.h"
#include "pack.h"
#include "quota.h"
#include "txn.h"
#include "watch.h"

struct session {
	struct session *next, *prev;
	struct ident who;
	struct conn *conn;
	struct txn_set *txns;
	struct watch_set *watches;
	struct dir_cursor cursor;
	/* While a request of it is parked: in the parked list. */
	bool parked;
	struct session *parked_next, *parked_prev;
	bool ring; /* a domain's ring, not a socket */
	bool restored; /* taken up by a restarted daemon, not started afresh since */
};

static session_request_fn session_handler;
static struct session *session_list;
/* Sessions with a parked request, and the timer that wakes them at the earliest deadline. */
static struct session *parked_head;
static struct event *wake_ev;
static uint64_t wake_at;

void session_hold_input(struct session *s)
{
	conn_hold(s->conn);
}

void session_resume_input(struct session *s)
{
	conn_resume(s->conn);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg);

void session_init(struct event_base *base, session_request_fn handler)
{
	session_handler = handler;
	wake_ev = evtimer_new(base, wake_cb, NULL);
	if (!wake_ev)
		log_warnx("cannot create the timer of parked requests");
}

void session_fini(void)
{
	if (wake_ev)
		event_free(wake_ev);
	wake_ev = NULL;
}

static void unpark(struct session *s)
{
	if (!s->parked)
		return;
	if (s->parked_prev)
		s->parked_prev->parked_next = s->parked_next;
	else
		parked_head = s->parked_next;
	if (s->parked_next)
		s->parked_next->parked_prev = s->parked_prev;
	s->parked = false;
	s->parked_next = s->parked_prev = NULL;
}

bool session_defer(struct session *s, uint64_t until)
{
	uint64_t now = txn_now_ms();

	if (!wake_ev || !conn_defer_message(s->conn))
		return false;
	if (!s->parked) {
		s->parked = true;
		s->parked_prev = NULL;
		s->parked_next = parked_head;
		if (parked_head)
			parked_head->parked_prev = s;
		parked_head = s;
	}
	if (!evtimer_pending(wake_ev, NULL) || until < wake_at) {
		struct timeval tv = {0, 0};
		uint64_t wait = until > now ? until - now : 0;

		tv.tv_sec = (time_t)(wait / 1000);
		tv.tv_usec = (suseconds_t)(wait % 1000 * 1000);
		wake_at = until;
		evtimer_add(wake_ev, &tv);
	}
	return true;
}

void session_wake_deferred(void)
{
	while (parked_head) {
		struct session *s = parked_head;

		unpark(s);
		conn_resume(s->conn); /* handed over again at the connection's next turn */
	}
	if (wake_ev)
		evtimer_del(wake_ev);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	session_wake_deferred();
}

static void on_message(void *owner, const struct xs_header *h, const char *payload)
{
	session_handler(owner, h, payload);
}

static void forget(struct session *s)
{
	bool had_txns = txn_set_count(s->txns) != 0;

	/* Watches first: a client going away sees nothing more. */
	watch_set_clear(s->watches);
	txn_set_clear(s->txns);
	free(s->cursor.path);
	s->cursor.path = NULL;
	unpark(s); /* its parked request is the connection's, dropped or destroyed with it */
	if (had_txns && parked_head)
		session_wake_deferred(); /* a protected transaction may have gone */
}

/* A ring's watches went (reset, reconnection, a broken ring): so do those kept. */
static void watches_gone(struct session *s)
{
	if (s->ring && keep_watches_clear(s->who.domid) != XSE_OK)
		log_warnx("domain %u: cannot drop its kept watches: a restart would take them up", s->who.domid);
}

static void on_reset(void *owner)
{
	struct session *s = owner;

	forget(s);
	watches_gone(s);
	s->restored = false;
}

static void destroy(struct session *s)
{
	forget(s);
	watch_set_free(s->watches);
	txn_set_free(s->txns);
	if (s->prev)
		s->prev->next = s->next;
	else
		session_list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static void on_closed(void *owner)
{
	destroy(owner);
}

static const struct conn_owner_ops session_conn_ops = {on_message, on_reset, on_closed};

static void deliver_event(void *owner, const char *path, const char *token)
{
	struct session *s = owner;

	/* An unprivileged watcher's events expire (-w watch-event=N), as the C daemon's. */
	conn_queue_event(s->conn, path, token, !s->who.priv);
}

/* A session without its connection yet; NULL on failure. */
static struct session *session_alloc(uint32_t domid, bool priv)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	ident_set(&s->who, domid, priv);
	s->who.target = XS_DOMID_INVALID;
	s->txns = txn_set_new(&s->who);
	if (!s->txns) {
		free(s);
		return NULL;
	}
	return s;
}

/* Give the session its connection (its id orders the watches); false on failure, s freed. */
static bool session_attach(struct session *s, struct conn *c)
{
	if (c)
		s->watches = watch_set_new(&s->who, conn_id(c), deliver_event, s);
	if (!c || !s->watches) {
		if (c) {
			conn_keep_fd(c); /* the caller's still: it closes it, or tries again */
			conn_free(c);
		}
		txn_set_free(s->txns);
		free(s);
		return false;
	}
	s->conn = c;
	conn_set_domid(c, s->who.domid);
	conn_set_who(c, &s->who);
	s->next = session_list;
	if (session_list)
		session_list->prev = s;
	session_list = s;
	return true;
}

struct session *session_new_socket(int fd)
{
	struct session *s = session_alloc(cfg.master_domid, cfg.master_domid == cfg.priv_domid);

	if (!s)
		return NULL;
	return session_attach(s, conn_new_socket(fd, &session_conn_ops, s)) ? s : NULL;
}

struct session *session_new_ring(struct xs_ring *ring, uint32_t port, void (*notify)(uint32_t),
				 struct conn_mark *mark, uint32_t domid, bool priv)
{
	struct session *s = session_alloc(domid, priv);

	if (!s)
		return NULL;
	s->ring = true;
	return session_attach(s, conn_new_ring(ring, port, notify, mark, &session_conn_ops, s)) ? s : NULL;
}

unsigned char *session_ring_save(const struct session *s, size_t *len)
{
	return conn_save(s->conn, len);
}

void session_ring_resume(struct session *s, const unsigned char *saved, size_t saved_len,
			 struct conn_resumed *out)
{
	uint32_t id = 0;

	s->restored = true;
	/* Far from where the old daemon counted: 2^31 ids before one it gave could come back. */
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint32_t)conn_id(s->conn) * 2654435761u;
	txn_set_next_id(s->txns, id | 1u);
	conn_ring_resume(s->conn, saved, saved_len, out);
	if (out->events_lost)
		watch_set_fire_all(s->watches); /* spurious at worst: each watcher reads again */
}

bool session_restored(const struct session *s)
{
	return s->restored;
}

void session_free(struct session *s)
{
	/* The connection first: the replies it still holds are charged to the session's identity. */
	conn_free(s->conn);
	destroy(s);
}

void session_ring_kick(struct session *s)
{
	conn_ring_kick(s->conn);
}

void session_ring_port(struct session *s, uint32_t port)
{
	conn_set_port(s->conn, port);
}

void session_ring_reset(struct session *s)
{
	conn_ring_reset(s->conn);
}

const struct ident *session_ident(const struct session *s)
{
	return &s->who;
}

struct txn_set *session_txns(struct session *s)
{
	return s->txns;
}

struct watch_set *session_watches(struct session *s)
{
	return s->watches;
}

struct dir_cursor *session_cursor(struct session *s)
{
	return &s->cursor;
}

bool session_is_ring(const struct session *s)
{
	return s->ring;
}

uint64_t session_id(const struct session *s)
{
	return conn_id(s->conn);
}

void session_restrict(struct session *s, uint32_t domid)
{
	unsigned nw = watch_set_count(s->watches), nt = txn_set_count(s->txns);

	quota_transfer(s->who.domid, domid, QUOTA_WATCHES, nw);
	quota_transfer(s->who.domid, domid, QUOTA_TRANSACTIONS, nt);
	quota_transfer(s->who.domid, domid, QUOTA_OUTSTANDING, conn_outstanding(s->conn));
	quota_transfer(s->who.domid, domid, QUOTA_MEMORY,
		       (unsigned)(watch_set_memory(s->watches) + txn_set_memory(s->txns)));
	ident_set(&s->who, domid, false);
	conn_set_domid(s->conn, domid);
	log_info("conn %llu: restricted to domain %u", (unsigned long long)conn_id(s->conn), domid);
}

void session_set_target(struct session *s, uint32_t target)
{
	s->who.target = target;
}

void session_clear_target(uint32_t target)
{
	for (struct session *s = session_list; s; s = s->next)
		if (s->who.target == target)
			s->who.target = XS_DOMID_INVALID;
}

void session_reset(struct session *s)
{
	bool had_txns = txn_set_count(s->txns) != 0;

	watch_set_clear(s->watches);
	watches_gone(s);
	txn_set_clear(s->txns);
	if (had_txns && parked_head)
		session_wake_deferred();
}

enum xs_err session_watch_add(struct session *s, const char *path, size_t prefix_len, const char *token,
			      int depth)
{
	struct keep_watch kw = {path, prefix_len, token, depth};
	enum xs_err err = watch_add(s->watches, path, prefix_len, token, depth);

	if (err || !s->ring)
		return err;
	if ((err = keep_watch_add(s->who.domid, &kw)) != XSE_OK)
		watch_remove(s->watches, path, token);
	return err;
}

enum xs_err session_watch_remove(struct session *s, const char *path, const char *token)
{
	/* The kept one first: an UNWATCH answered with the store's error leaves the watch as it was. */
	enum xs_err err = s->ring ? keep_watch_remove(s->who.domid, path, token) : XSE_OK;

	return err ? err : watch_remove(s->watches, path, token);
}

bool session_send(struct session *s, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *payload, size_t len)
{
	return conn_queue(s->conn, type, req_id, tx_id, payload, len);
}

void session_fail(struct session *s, unsigned ring_error, const char *why)
{
	conn_fail(s->conn, ring_error, why);
}

/*
 * A live update. Each session, in the list's order: its kind; a socket's
 * descriptor (left open across exec) and identity, a ring's domid; whether
 * it asked for the update; a socket's watches (a ring's are kept with the
 * store) and what is in flight on it (a ring's is saved by its clean stop);
 * every session's transactions.
 */
#define PACK_RING 1u
#define PACK_ASKER 2u

static void pack_watch(void *ctx, const char *path, size_t path_len, size_t prefix_len, const char *token,
		       int depth)
{
	struct pack *b = ctx;

	pack_u32(b, (uint32_t)path_len);
	pack_bytes(b, path, path_len);
	pack_u32(b, (uint32_t)prefix_len);
	pack_str(b, token);
	pack_u32(b, (uint32_t)depth);
}

struct session *session_by_id(uint64_t id)
{
	for (struct session *s = session_list; s; s = s->next)
		if (conn_id(s->conn) == id)
			return s;
	return NULL;
}

bool session_pack_all(struct pack *b, uint64_t asker)
{
	unsigned n = 0;

	for (const struct session *s = session_list; s; s = s->next)
		n++;
	pack_u32(b, n);
	for (const struct session *s = session_list; s; s = s->next) {
		pack_u32(b, (s->ring ? PACK_RING : 0) | (conn_id(s->conn) == asker ? PACK_ASKER : 0));
		pack_u32(b, s->who.domid);
		if (!s->ring) {
			unsigned char *saved;
			size_t len;
			int fd = conn_fd(s->conn);

			if (fcntl(fd, F_SETFD, 0) < 0)
				return false;
			pack_u32(b, (uint32_t)fd);
			pack_u32(b, s->who.priv);
			pack_u32(b, s->who.target);
			pack_u32(b, watch_set_count(s->watches));
			watch_set_each(s->watches, pack_watch, b);
			saved = conn_save(s->conn, &len);
			pack_blob(b, saved, len);
			free(saved);
		}
		txn_set_pack(s->txns, b);
	}
	return !b->oom;
}

void session_pack_undone(void)
{
	for (const struct session *s = session_list; s; s = s->next)
		if (!s->ring && fcntl(conn_fd(s->conn), F_SETFD, FD_CLOEXEC) < 0)
			log_warn("live update undone: socket %d stays open across exec", conn_fd(s->conn));
}

/* A socket's session as packed: wrapped again, its watches, what was in flight. NULL if it cannot be. */
static struct session *unpack_socket(struct unpack *r, uint32_t domid)
{
	int fd = (int)unpack_u32(r);
	bool priv = unpack_u32(r) != 0;
	uint32_t target = unpack_u32(r), nwatches = unpack_u32(r);
	struct session *s;

	if (r->bad || fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !(s = session_alloc(domid, priv)))
		return NULL;
	s->who.target = target;
	if (!session_attach(s, conn_new_socket(fd, &session_conn_ops, s))) {
		close(fd);
		return NULL;
	}
	for (uint32_t i = 0; i < nwatches && !r->bad; i++) {
		size_t plen = unpack_u32(r);
		const char *p = unpack_bytes(r, plen);
		size_t prefix_len = unpack_u32(r);
		const char *token = unpack_str(r);
		int depth = (int)unpack_u32(r);
		char path[XS_PATH_BUF];

		if (r->bad || plen >= sizeof(path) || prefix_len > plen)
			break;
		memcpy(path, p, plen);
		path[plen] = '\0';
		if (watch_add(s->watches, path, prefix_len, token, depth) != XSE_OK)
			log_warnx("conn %llu: its watch on %s could not be taken up", (unsigned long long)conn_id(s->conn),
				  path);
	}
	return s;
}

bool session_unpack_all(struct unpack *r, struct session **asker)
{
	uint32_t n = unpack_u32(r);

	*asker = NULL;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		uint32_t flags = unpack_u32(r), domid = unpack_u32(r);
		struct session *s = NULL;
		struct txn_set *lost = NULL;
		size_t len;
		const unsigned char *saved;

		if (!(flags & PACK_RING)) {
			s = unpack_socket(r, domid);
			saved = unpack_blob(r, &len);
			if (s && !conn_socket_resume(s->conn, saved, len))
				log_warnx("conn %llu: what was in flight could not be taken up",
					  (unsigned long long)conn_id(s->conn));
		} else {
			for (s = session_list; s && !(s->ring && s->who.domid == domid); s = s->next)
				;
		}
		if (s) {
			s->restored = false; /* its transactions are here: an unknown id is unknown */
		} else if (!(lost = txn_set_new(&(struct ident){.domid = domid}))) {
			return false;
		}
		if (!txn_set_unpack(s ? s->txns : lost, r))
			log_warnx("domain %u: its transactions could not be taken up", domid);
		txn_set_free(lost);
		if (s && (flags & PACK_ASKER))
			*asker = s;
	}
	return !r->bad;
}

/* Sessions: one client's identity, transactions, watches and directory cursor over its connection, and their teardown. */
#include "session.h"

#include <stdlib.h>

#include "config.h"
#include "conn.h"
#include "log.h"
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
};

static session_request_fn session_handler;
static struct session *session_list;

void session_init(session_request_fn handler)
{
	session_handler = handler;
}

static void on_message(void *owner, const struct xs_header *h, const char *payload)
{
	session_handler(owner, h, payload);
}

static void forget(struct session *s)
{
	/* Watches first: a client going away sees nothing more. */
	watch_set_clear(s->watches);
	txn_set_clear(s->txns);
	free(s->cursor.path);
	s->cursor.path = NULL;
}

static void on_reset(void *owner)
{
	forget(owner);
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

	conn_queue_event(s->conn, path, token);
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
		if (c)
			conn_free(c);
		txn_set_free(s->txns);
		free(s);
		return false;
	}
	s->conn = c;
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
				 uint32_t domid, bool priv)
{
	struct session *s = session_alloc(domid, priv);

	if (!s)
		return NULL;
	return session_attach(s, conn_new_ring(ring, port, notify, &session_conn_ops, s)) ? s : NULL;
}

void session_free(struct session *s)
{
	struct conn *c = s->conn;

	destroy(s);
	conn_free(c);
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

uint64_t session_id(const struct session *s)
{
	return conn_id(s->conn);
}

void session_restrict(struct session *s, uint32_t domid)
{
	unsigned nw = watch_set_count(s->watches), nt = txn_set_count(s->txns);

	quota_transfer(s->who.domid, domid, QUOTA_WATCHES, nw);
	quota_transfer(s->who.domid, domid, QUOTA_TRANSACTIONS, nt);
	ident_set(&s->who, domid, false);
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
	watch_set_clear(s->watches);
	txn_set_clear(s->txns);
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

/* Request dispatch: the message-type table, the generic checks, and reply construction. */
#include "dispatch.h"

#include <stdio.h>
#include <string.h>

#include "../proto/ring.h"
#include "conn.h"
#include "domain.h"
#include "log.h"
#include "ops.h"
#include "quota.h"
#include "txn.h"

enum op_flags {
	OP_PRIV = 1u << 0,      /* privileged connections only (EACCES) */
	OP_IGNORE_TX = 1u << 1, /* tx_id is not looked up */
	OP_PATH = 1u << 2,      /* argv[0] is a path, canonicalised before the handler runs */
	OP_SPECIAL = 1u << 3,   /* ... which may be an @ path */
	/*
	 * Changes the tree or the domains, so it must see every death already
	 * reported finished: the queued domain clean-ups run first. Reads may
	 * overtake a clean-up (as if they came before the death).
	 */
	OP_SETTLED = 1u << 4,
};

enum op_args {
	ARGS_ANY = 0, /* the handler reads the payload itself */
	ARGS_ONE,     /* exactly one string, its NUL the last byte */
	ARGS_MIN1,
	ARGS_MIN2,
	ARGS_MIN3,
	ARGS_EXACT2,
};

struct op {
	enum xs_err (*handler)(struct req *r);
	enum op_args args;
	unsigned flags;
};

/*
 * Every message type in one place. The checks run in the C daemon's order:
 * unknown type (ENOSYS), privilege (EACCES), transaction id (ENOENT), then
 * argument shape and path syntax (EINVAL), then the handler.
 */
static const struct op op_table[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {op_control, ARGS_MIN1, OP_PRIV},
	[XS_DIRECTORY] = {op_directory, ARGS_ONE, OP_PATH},
	[XS_READ] = {op_read, ARGS_ONE, OP_PATH},
	[XS_GET_PERMS] = {op_get_perms, ARGS_ONE, OP_PATH | OP_SPECIAL},
	[XS_TRANSACTION_START] = {op_transaction_start, ARGS_ANY, 0},
	[XS_TRANSACTION_END] = {op_transaction_end, ARGS_ONE, OP_SETTLED},
	[XS_INTRODUCE] = {op_introduce, ARGS_MIN3, OP_PRIV | OP_SETTLED},
	[XS_RELEASE] = {op_release, ARGS_ONE, OP_PRIV | OP_SETTLED},
	[XS_GET_DOMAIN_PATH] = {op_get_domain_path, ARGS_ONE, 0},
	[XS_WRITE] = {op_write, ARGS_MIN1, OP_PATH | OP_SETTLED},
	[XS_MKDIR] = {op_mkdir, ARGS_ONE, OP_PATH | OP_SETTLED},
	[XS_RM] = {op_rm, ARGS_ONE, OP_PATH | OP_SETTLED},
	[XS_SET_PERMS] = {op_set_perms, ARGS_ANY, OP_SETTLED},
	[XS_IS_DOMAIN_INTRODUCED] = {op_is_domain_introduced, ARGS_ONE, OP_PRIV},
	[XS_RESUME] = {op_resume, ARGS_ONE, OP_PRIV | OP_SETTLED},
	[XS_SET_TARGET] = {op_set_target, ARGS_MIN2, OP_PRIV | OP_SETTLED},
	[XS_DIRECTORY_PART] = {op_directory_part, ARGS_EXACT2, OP_PATH},
	[XS_WATCH] = {op_watch, ARGS_ANY, OP_IGNORE_TX},
	[XS_UNWATCH] = {op_unwatch, ARGS_EXACT2, OP_IGNORE_TX | OP_PATH | OP_SPECIAL},
	[XS_RESET_WATCHES] = {op_reset_watches, ARGS_ANY, 0},
};

void reply_bytes(struct req *r, const void *p, size_t n)
{
	if (r->reply_overflow || n > sizeof(r->reply) - r->reply_len) {
		r->reply_overflow = true;
		return;
	}
	memcpy(r->reply + r->reply_len, p, n);
	r->reply_len += n;
}

void reply_string(struct req *r, const char *s)
{
	reply_bytes(r, s, strlen(s) + 1);
}

enum xs_err reply_ok(struct req *r)
{
	reply_string(r, "OK");
	return XSE_OK;
}

static bool args_fit(enum op_args spec, const struct req *r)
{
	switch (spec) {
	case ARGS_ANY:
		return true;
	case ARGS_ONE:
		return xs_is_one_arg(r->payload, r->len);
	case ARGS_MIN1:
		return r->argc >= 1;
	case ARGS_MIN2:
		return r->argc >= 2;
	case ARGS_MIN3:
		return r->argc >= 3;
	case ARGS_EXACT2:
		return r->argc == 2;
	}
	return false;
}

/* The path-max quota: unprivileged connections only, measured below the domain home. */
static bool path_within_quota(const struct req *r)
{
	unsigned max = quota_hard[QUOTA_PATH_MAX];

	return r->conn->priv || !max || xs_path_quota_len(r->path) < max;
}

static enum xs_err dispatch_checked(struct req *r, const struct op *op)
{
	if (!op->handler)
		return XSE_ENOSYS;
	if ((op->flags & OP_PRIV) && !r->conn->priv)
		return XSE_EACCES;
	if (!(op->flags & OP_IGNORE_TX) && r->hdr.tx_id != 0) {
		r->txn = txn_find(r->conn, r->hdr.tx_id);
		if (!r->txn)
			return XSE_ENOENT;
	}
	if (!args_fit(op->args, r))
		return XSE_EINVAL;
	if (op->flags & OP_SETTLED)
		domain_cleanup_flush();
	if (op->flags & OP_PATH) {
		enum xs_err err = xs_path_canonical(r->argv[0], r->conn->home,
						    (op->flags & OP_SPECIAL) != 0, r->path,
						    &r->prefix_len);

		if (err != XSE_OK)
			return err;
		if (!path_within_quota(r))
			return XSE_EINVAL;
	}
	return op->handler(r);
}

void dispatch_request(struct conn *c, const struct xs_header *h, const char *payload)
{
	static struct arena arena;
	static struct req r;
	const struct op *op = h->type < XS_TYPE_COUNT ? &op_table[h->type] : NULL;
	enum xs_err err;

	r.conn = c;
	r.hdr = *h;
	r.payload = payload;
	r.len = h->len;
	r.argc = xs_split_strings(payload, h->len, r.argv, REQ_MAX_ARGS);
	r.txn = NULL;
	r.path[0] = '\0';
	r.prefix_len = 0;
	r.arena = &arena;
	r.reply_len = 0;
	r.reply_overflow = false;
	r.after_reply = NULL;

	err = op ? dispatch_checked(&r, op) : XSE_ENOSYS;
	if (err == XSE_OK && r.reply_overflow)
		err = XSE_E2BIG;
	if (log_tracing())
		log_trace("conn %llu dom %u %s req %u tx %u %s -> %s", (unsigned long long)c->id,
			  c->domid, xs_type_name(h->type) ? xs_type_name(h->type) : "?", h->req_id,
			  h->tx_id, r.path[0] ? r.path : (r.argc ? r.argv[0] : ""),
			  err == XSE_OK ? "OK" : xs_err_name(err));
	if (err == XSE_OK) {
		if (!conn_queue(c, h->type, h->req_id, h->tx_id, r.reply, r.reply_len))
			conn_fail(c, XS_RING_ERR_COMM, "out of memory for a reply");
		else if (r.after_reply)
			r.after_reply(&r);
	} else {
		const char *name = xs_err_name(err);

		if (!conn_queue(c, XS_ERROR, h->req_id, h->tx_id, name, strlen(name) + 1))
			conn_fail(c, XS_RING_ERR_COMM, "out of memory for a reply");
	}
	arena_reset(&arena);
}

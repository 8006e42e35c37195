/* Request dispatch: the message-type table and every generic check, before a handler runs. */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../proto/ring.h"
#include "cleanup.h"
#include "domain.h"
#include "log.h"
#include "ops.h"
#include "quota.h"
#include "session.h"
#include "store.h"
#include "txn.h"

enum op_flags {
	OP_PRIV = 1u << 0,      /* privileged connections only (EACCES) */
	OP_IGNORE_TX = 1u << 1, /* tx_id is not looked up */
	OP_PATH = 1u << 2,      /* argv[0] is a path, canonicalised before the handler runs */
	OP_SPECIAL = 1u << 3,   /* ... which may be an @ path */
	/*
	 * May have to wait for a gone domain's clean-up (cleanup.h): INTRODUCE
	 * of its domid, a SET_PERMS naming it, a change (or a commit) landing
	 * under a node it owns. Parked by its session until the clean-up ends.
	 * Reads, and other changes, may overtake a clean-up (as if they came
	 * before the death).
	 */
	OP_SETTLED = 1u << 4,
	/* An unprivileged change that may have to wait for a protected transaction (txn.c). */
	OP_WAITS = 1u << 5,
	/* May grow the heap or the store: refused (ENOMEM) past the global memory budget. */
	OP_GROWS = 1u << 7,
	/* Privileged only when it has arguments (GET_FEATURE of another domain); checked after tx_id, as C does. */
	OP_PRIV_ARGS = 1u << 6,
	/*
	 * Changes the store, or reads what the start-up walk tells the quota
	 * and regions indexes: parked while that walk goes on in slices, so
	 * that reads are served meanwhile rather than all waiting for a change
	 * to finish the walk in one go (store_settle).
	 */
	OP_INDEXED = 1u << 8,
};

enum op_args {
	ARGS_ANY = 0, /* the handler reads the payload itself */
	ARGS_ONE,     /* exactly one string, its NUL the last byte */
	ARGS_MIN1,
	ARGS_MIN2,
	ARGS_MIN3,
	ARGS_EXACT2,
	ARGS_MAX1,
	ARGS_MAX2,
	ARGS_2TO3,
	ARGS_WATCH, /* path, token, and (the WATCHDEPTH feature) a depth */
	ARGS_PERMS, /* path, then at least one permission, parsed into r->perms */
};

struct op {
	enum xs_err (*handler)(struct req *r);
	enum op_args args;
	unsigned flags;
};

/*
 * Every message type in one place, and every check that is not a handler's
 * own business. The checks run in the C daemon's order: unknown type
 * (ENOSYS), privilege (EACCES), transaction id (ENOENT), privilege that
 * depends on the arguments (EACCES), argument shape
 * (EINVAL; for SET_PERMS the list, with its quota ENOSPC and a first entry
 * naming no domain ENOENT), then path syntax and path-max (EINVAL), then
 * the handler.
 */
static const struct op op_table[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {op_control, ARGS_MIN1, OP_PRIV},
	[XS_DIRECTORY] = {op_directory, ARGS_ONE, OP_PATH},
	[XS_READ] = {op_read, ARGS_ONE, OP_PATH},
	[XS_GET_PERMS] = {op_get_perms, ARGS_ONE, OP_PATH | OP_SPECIAL},
	[XS_TRANSACTION_START] = {op_transaction_start, ARGS_ANY, OP_GROWS},
	[XS_TRANSACTION_END] = {op_transaction_end, ARGS_ONE, OP_SETTLED | OP_WAITS | OP_GROWS | OP_INDEXED},
	[XS_INTRODUCE] = {op_introduce, ARGS_MIN3, OP_PRIV | OP_SETTLED | OP_GROWS | OP_INDEXED},
	[XS_RELEASE] = {op_release, ARGS_ONE, OP_PRIV | OP_INDEXED},
	[XS_GET_DOMAIN_PATH] = {op_get_domain_path, ARGS_ONE, 0},
	[XS_WRITE] = {op_write, ARGS_MIN1, OP_PATH | OP_SETTLED | OP_WAITS | OP_GROWS | OP_INDEXED},
	[XS_MKDIR] = {op_mkdir, ARGS_ONE, OP_PATH | OP_SETTLED | OP_WAITS | OP_GROWS | OP_INDEXED},
	[XS_RM] = {op_rm, ARGS_ONE, OP_PATH | OP_WAITS | OP_INDEXED},
	[XS_SET_PERMS] = {op_set_perms, ARGS_PERMS, OP_PATH | OP_SPECIAL | OP_SETTLED | OP_WAITS | OP_GROWS | OP_INDEXED},
	[XS_IS_DOMAIN_INTRODUCED] = {op_is_domain_introduced, ARGS_ONE, OP_PRIV},
	[XS_RESUME] = {op_resume, ARGS_ONE, OP_PRIV | OP_INDEXED},
	[XS_SET_TARGET] = {op_set_target, ARGS_MIN2, OP_PRIV | OP_INDEXED},
	[XS_DIRECTORY_PART] = {op_directory_part, ARGS_EXACT2, OP_PATH},
	[XS_WATCH] = {op_watch, ARGS_WATCH, OP_IGNORE_TX | OP_PATH | OP_SPECIAL | OP_GROWS | OP_INDEXED},
	[XS_UNWATCH] = {op_unwatch, ARGS_EXACT2, OP_IGNORE_TX | OP_PATH | OP_SPECIAL | OP_INDEXED},
	[XS_RESET_WATCHES] = {op_reset_watches, ARGS_ANY, OP_INDEXED},
	[XS_GET_FEATURE] = {op_get_feature, ARGS_MAX1, OP_PRIV_ARGS},
	[XS_SET_FEATURE] = {op_set_feature, ARGS_EXACT2, OP_PRIV | OP_INDEXED},
	[XS_GET_QUOTA] = {op_get_quota, ARGS_MAX2, OP_PRIV | OP_INDEXED},
	[XS_SET_QUOTA] = {op_set_quota, ARGS_2TO3, OP_PRIV | OP_INDEXED},
};

/* SET_PERMS' list after the path: parsed, within its quota, its owner an existing domain. */
static enum xs_err parse_perms(struct req *r)
{
	const char *p = r->payload + strlen(r->payload) + 1;

	r->nperms = r->argc - 1;
	if (!quota_allows(r->acc.who, QUOTA_NODE_PERMISSIONS, r->nperms))
		return XSE_ENOSPC;
	r->perms = arena_alloc(r->acc.arena, sizeof(*r->perms) * r->nperms);
	if (!r->perms)
		return XSE_ENOMEM;
	for (unsigned i = 0; i < r->nperms; i++) {
		if (xs_perm_parse(p, &r->perms[i]) != XSE_OK)
			return XSE_EINVAL;
		/* Entries naming domains that do not exist are kept but never match. */
		r->perms[i].ignored = r->perms[i].id != XS_DOMID_ANY && !domain_exists(r->perms[i].id);
		p += strlen(p) + 1;
	}
	return r->perms[0].ignored ? XSE_ENOENT : XSE_OK;
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
	case ARGS_MAX1:
		return r->argc <= 1;
	case ARGS_MAX2:
		return r->argc <= 2;
	case ARGS_2TO3:
		return r->argc == 2 || r->argc == 3;
	default:
		return false;
	}
}

static enum xs_err args_check(enum op_args spec, struct req *r)
{
	switch (spec) {
	case ARGS_WATCH:
		if (r->argc != 2 && r->argc != 3)
			return XSE_EINVAL;
		r->depth = r->argc == 3 ? atoi(r->argv[2]) : -1;
		return r->argc == 3 && r->depth < 0 ? XSE_EINVAL : XSE_OK;
	case ARGS_PERMS:
		return r->argc < 2 ? XSE_EINVAL : parse_perms(r);
	default:
		return args_fit(spec, r) ? XSE_OK : XSE_EINVAL;
	}
}

/* How long a change waiting for the start-up walk sleeps before it looks again (the walk's end wakes it first). */
#define WALK_WAIT_MS 50u

/* How long a request waiting for a clean-up sleeps before it looks again (its end wakes it first). */
#define CLEANUP_WAIT_MS 1000u

/*
 * Whether this request must wait for the clean-up of a gone domain (in
 * *domid): what it would do must not meet what the clean-up leaves of that
 * domain's last life, nor the clean-up undo it.
 */
static bool waits_for_cleanup(struct req *r, uint32_t *domid)
{
	unsigned id;

	switch (r->hdr.type) {
	case XS_INTRODUCE:
		if (xs_parse_domid(r->argv[0], &id) < 0)
			return false;
		/* A new life of a domid whose death's notice is still on its way: the old one's clean-up first. */
		domain_notice_death(id);
		if (!cleanup_blocks_domain(id))
			return false;
		*domid = id;
		return true;
	case XS_SET_PERMS:
		for (unsigned i = 0; i < r->nperms; i++)
			if (r->perms[i].id != XS_DOMID_ANY && cleanup_blocks_domain(r->perms[i].id)) {
				*domid = r->perms[i].id;
				return true;
			}
		/* fall through */
	case XS_WRITE:
	case XS_MKDIR:
		/* Inside a transaction nothing reaches the store before the commit, which looks again. */
		return !r->acc.txn && cleanup_blocks_path(r->path, domid);
	case XS_TRANSACTION_END:
		return r->acc.txn && r->argv[0][0] == 'T' && cleanup_blocks_txn(r->acc.txn, domid);
	default:
		return false;
	}
}

/* Whether this change must wait for a protected transaction (r->wait_until: how long at most). */
static bool must_wait(struct req *r)
{
	if (r->acc.who->priv)
		return false;
	if (r->hdr.type == XS_TRANSACTION_END)
		return r->acc.txn && r->argv[0][0] == 'T' && txn_commit_waits(r->acc.txn, &r->wait_until);
	/* Inside a transaction nothing reaches the store before the commit. */
	return !r->acc.txn &&
	       txn_write_waits(r->acc.who, r->path, r->hdr.type == XS_RM, &r->wait_until);
}

static enum xs_err dispatch_checked(struct req *r, const struct op *op)
{
	enum xs_err err;

	if (!op->handler)
		return XSE_ENOSYS;
	if ((op->flags & OP_PRIV) && !r->acc.who->priv)
		return XSE_EACCES;
	if (!(op->flags & OP_IGNORE_TX) && r->hdr.tx_id != 0) {
		r->acc.txn = txn_find(session_txns(r->session), r->hdr.tx_id);
		/* Lost with the daemon before a restart: the client is told to start it again. */
		if (!r->acc.txn && session_restored(r->session) && r->hdr.type != XS_TRANSACTION_START)
			return XSE_EAGAIN;
		if (!r->acc.txn)
			return XSE_ENOENT;
	}
	if ((op->flags & OP_PRIV_ARGS) && r->argc > 0 && !r->acc.who->priv)
		return XSE_EACCES;
	err = args_check(op->args, r);
	if (err)
		return err;
	if (op->flags & OP_PATH) {
		err = xs_path_canonical(r->argv[0], r->acc.who->home, (op->flags & OP_SPECIAL) != 0,
					r->path, &r->prefix_len);
		if (err)
			return err;
		/* path-max is measured below the domain's home. */
		if (!quota_allows(r->acc.who, QUOTA_PATH_MAX, xs_path_quota_len(r->path)))
			return XSE_EINVAL;
	}
	if ((op->flags & OP_GROWS) && !quota_budget_allows(r->acc.who) &&
	    !(r->hdr.type == XS_TRANSACTION_END && r->argv[0][0] != 'T'))
		return XSE_ENOMEM;
	if ((op->flags & OP_INDEXED) && !store_settled()) {
		r->deferred = r->wait_walk = true;
		r->wait_until = txn_now_ms() + WALK_WAIT_MS;
		return XSE_OK;
	}
	if ((op->flags & OP_SETTLED) && waits_for_cleanup(r, &r->wait_domid)) {
		r->deferred = r->wait_cleanup = true;
		r->wait_until = txn_now_ms() + CLEANUP_WAIT_MS;
		return XSE_OK;
	}
	if ((op->flags & OP_WAITS) && must_wait(r)) {
		r->deferred = true;
		return XSE_OK;
	}
	return op->handler(r);
}

/* The scratch memory of requests, kept between them (reset, not freed). */
static struct arena dispatch_arena;

/*
 * A refusal for quota is worth a log line, but a guest can cause one per
 * request: at most one line a second, the next saying how many were not
 * logged.
 */
static void log_quota_refused(const struct req *r)
{
	static struct log_limit limit;
	unsigned long quiet;

	if (!log_limited(&limit, &quiet))
		return;
	if (quiet)
		log_info("domain %u: %s refused: over quota (ENOSPC); %lu more refusals not logged",
			 r->acc.who->domid, xs_type_name(r->hdr.type), quiet);
	else
		log_info("domain %u: %s refused: over quota (ENOSPC)", r->acc.who->domid,
			 xs_type_name(r->hdr.type));
}

/* Count a request as it is answered (CONTROL stats). */
static void count(const struct req *r, enum xs_err err)
{
	unsigned t = r->hdr.type < XS_TYPE_COUNT ? r->hdr.type : XS_TYPE_COUNT;

	op_counts.requests[t]++;
	if (err != XSE_OK) {
		op_counts.errors[t]++;
		if (err == XSE_ENOSPC && !r->acc.who->priv)
			log_quota_refused(r);
	}
}

void dispatch_request(struct session *s, const struct xs_header *h, const char *payload)
{
	const struct op *op = h->type < XS_TYPE_COUNT ? &op_table[h->type] : NULL;
	struct req r;
	enum xs_err err;

	r.session = s;
	r.hdr = *h;
	r.payload = payload;
	r.len = h->len;
	r.argc = xs_split_strings(payload, h->len, r.argv, REQ_MAX_ARGS);
	r.acc.who = session_ident(s);
	r.acc.txn = NULL;
	r.acc.arena = &dispatch_arena;
	r.path[0] = '\0';
	r.prefix_len = 0;
	r.perms = NULL;
	r.nperms = 0;
	r.depth = -1;
	r.reply_len = 0;
	r.reply_overflow = false;
	r.after_reply = NULL;
	r.later = false;
	r.deferred = false;
	r.wait_cleanup = false;
	r.wait_walk = false;
	r.wait_domid = 0;

	err = op ? dispatch_checked(&r, op) : XSE_ENOSYS;
	if (r.deferred) {
		if (session_defer(s, r.wait_until)) {
			if (log_tracing() && r.wait_cleanup)
				log_trace("conn 0x%llx (d%u) %s req %u waits for the clean-up of domain %u",
					  (unsigned long long)session_id(s), r.acc.who->domid,
					  xs_type_name(h->type), h->req_id, r.wait_domid);
			else if (log_tracing() && r.wait_walk)
				log_trace("conn 0x%llx (d%u) %s req %u waits for the store's start-up walk",
					  (unsigned long long)session_id(s), r.acc.who->domid,
					  xs_type_name(h->type), h->req_id);
			else if (log_tracing())
				log_trace("conn 0x%llx (d%u) %s req %u waits for a protected transaction",
					  (unsigned long long)session_id(s), r.acc.who->domid,
					  xs_type_name(h->type), h->req_id);
			arena_reset(&dispatch_arena);
			return;
		}
		/* Cannot be parked: served now, a clean-up (or the walk) it waits for finished first. */
		if (r.wait_cleanup && !cleanup_finish(r.wait_domid))
			err = XSE_ENOMEM;
		else
			err = op->handler(&r);
	}
	if (err == XSE_OK && r.reply_overflow)
		err = XSE_E2BIG;
	/* The message and its reply are traced as they come in and go out (conn.c). */
	count(&r, err);
	if (err == XSE_OK && r.later) {
		/* No reply from here, and nothing after it handled before there is one. */
		session_hold_input(s);
	} else if (err == XSE_OK) {
		if (!session_send(s, h->type, h->req_id, h->tx_id, r.reply, r.reply_len))
			session_fail(s, XS_RING_ERR_COMM, "out of memory for a reply");
		else if (r.after_reply)
			r.after_reply(&r);
	} else {
		const char *name = xs_err_name(err);

		if (!session_send(s, XS_ERROR, h->req_id, h->tx_id, name, strlen(name) + 1))
			session_fail(s, XS_RING_ERR_COMM, "out of memory for a reply");
	}
	arena_reset(&dispatch_arena);
}

/* Node access for handlers: reads and writes through the request's transaction, permission checks, creation with inherited permissions. */
#include "access.h"

#include <string.h>

#include "quota.h"
#include "txn.h"

enum xs_err acc_read(struct acc *r, const char *path, bool with_value, struct store_node *out)
{
	if (r->txn)
		return txn_read(r->txn, r->arena, path, with_value, out);
	return store_read(r->arena, path, with_value, out);
}

unsigned acc_rights(const struct acc *r, const struct store_node *n)
{
	const struct ident *c = r->who;

	return xs_perm_access(n->perms, n->nperms, c->priv, c->domid, c->target);
}

/* Parent path into buf; "@x" has the root as parent, as in the C daemon. */
static void parent_path(char *buf, const char *path)
{
	size_t pl = xs_path_parent_len(path);

	if (xs_path_is_special(path) && !strchr(path, '/')) {
		strcpy(buf, "/");
		return;
	}
	memcpy(buf, path, pl);
	buf[pl] = '\0';
}

static enum xs_err errno_from_ancestors(struct acc *r, const char *path, unsigned need)
{
	char cur[XS_PATH_BUF];
	struct store_node n;

	strcpy(cur, path);
	while (strcmp(cur, "/") != 0) {
		char up[XS_PATH_BUF];
		enum xs_err err;

		parent_path(up, cur);
		strcpy(cur, up);
		err = acc_read(r, cur, false, &n);
		if (err == XSE_OK)
			return (acc_rights(r, &n) & need) == need ? XSE_ENOENT : XSE_EACCES;
		if (err != XSE_ENOENT)
			return err;
	}
	return XSE_ENOENT;
}

enum xs_err acc_get(struct acc *r, const char *path, unsigned need, bool with_value,
		    struct store_node *out)
{
	enum xs_err err = acc_read(r, path, with_value, out);

	if (err == XSE_ENOENT)
		return errno_from_ancestors(r, path, need);
	if (err != XSE_OK)
		return err;
	return (acc_rights(r, out) & need) == need ? XSE_OK : XSE_EACCES;
}

/*
 * The node-size quota measures a node as the C daemon does: a 16-byte
 * header, 8 bytes per permission entry, the value and the child names with
 * their NULs. Checked on every change an unprivileged client makes, the
 * parent's growth by a new child's name included.
 */
static size_t node_size(unsigned nperms, size_t vlen, size_t children_bytes)
{
	return 16 + 8 * (size_t)nperms + vlen + children_bytes;
}

enum xs_err acc_update(struct acc *r, const char *path, const struct store_node *cur,
		       const struct xs_perm *perms, unsigned nperms, const char *value, size_t vlen)
{
	if (!quota_allows(r->who, QUOTA_NODE_SIZE,
			  node_size(perms ? nperms : cur->nperms, value ? vlen : cur->vlen,
				    cur->children_bytes)))
		return XSE_ENOSPC;
	if (r->txn)
		return txn_update(r->txn, path, perms, nperms, value, vlen);
	return store_update(r->arena, path, cur, perms, nperms, value, vlen);
}

struct write_check {
	const struct acc *r;
	size_t vlen;
};

/* A WRITE of w->vlen bytes to a node with these permissions: allowed, or why not. */
static enum xs_err write_allowed(void *ctx, const struct xs_perm *perms, unsigned nperms)
{
	const struct write_check *w = ctx;
	const struct ident *c = w->r->who;

	if (!(xs_perm_access(perms, nperms, c->priv, c->domid, c->target) & XS_PERM_WRITE))
		return XSE_EACCES;
	/* A transaction counts no children in a node's size (as acc_update from its txn_read). */
	if (!quota_allows(c, QUOTA_NODE_SIZE, node_size(nperms, w->vlen, 0)))
		return XSE_ENOSPC;
	return XSE_OK;
}

enum xs_err acc_write(struct acc *r, const char *path, const char *value, size_t vlen)
{
	struct store_node n;
	enum xs_err err;

	if (r->txn) {
		/* The commonest change of all, a node written in a transaction: one look-up of its entry. */
		struct write_check w = {r, vlen};

		err = txn_write(r->txn, path, value, vlen, write_allowed, &w);
		if (err != XSE_ENOENT)
			return err;
		err = errno_from_ancestors(r, path, XS_PERM_WRITE);
	} else {
		err = acc_get(r, path, XS_PERM_WRITE, false, &n);
		if (err == XSE_OK)
			err = acc_update(r, path, &n, NULL, 0, value, vlen);
	}
	if (err == XSE_ENOENT)
		err = acc_create(r, path, value, vlen);
	if (err != XSE_OK)
		return err;
	/* Fires even when the value did not change. */
	acc_notify(r, path, NULL, 0, NULL, 0);
	return XSE_OK;
}

static enum xs_err create_one(struct acc *r, const char *path, const struct xs_perm *perms,
			      unsigned nperms, const char *value, size_t vlen)
{
	if (r->txn)
		return txn_create(r->txn, path, perms, nperms, value, vlen);
	return store_create(r->arena, path, perms, nperms, value, vlen);
}

enum xs_err acc_create(struct acc *r, const char *path, const char *value, size_t vlen)
{
	char cur[XS_PATH_BUF];
	struct store_node anc;
	struct xs_perm *perms;
	size_t len = strlen(path);
	enum xs_err err;

	/* Walk up to the nearest existing ancestor (the root always exists). */
	strcpy(cur, path);
	do {
		cur[xs_path_parent_len(cur)] = '\0';
		if (cur[0] == '\0')
			strcpy(cur, "/");
		err = acc_read(r, cur, false, &anc);
		if (err != XSE_OK && err != XSE_ENOENT)
			return err;
	} while (err == XSE_ENOENT);

	perms = arena_memdup(r->arena, anc.perms, sizeof(*perms) * anc.nperms);
	if (!perms)
		return XSE_ENOMEM;
	/* Unprivileged creators own what they create; the privileged inherit the owner. */
	if (!r->who->priv && anc.nperms)
		perms[0].id = r->who->domid;
	if (!r->who->priv) {
		size_t first = strcmp(cur, "/") == 0 ? 1 : strlen(cur) + 1; /* the new child's name */
		size_t nlen = strcspn(path + first, "/") + 1;

		/*
		 * The domain's nodes as committed, with what this transaction
		 * created and removed so far (one request making several levels
		 * can go a little past, as in the C daemon; a transaction's
		 * commit is judged again); then the sizes of the new node and
		 * of the ancestor that gains a child.
		 */
		if (!quota_nodes_allow(r->who, r->txn ? txn_quota_pending(r->txn) : NULL, 1) ||
		    !quota_allows(r->who, QUOTA_NODE_SIZE, node_size(anc.nperms, vlen, 0)) ||
		    !quota_allows(r->who, QUOTA_NODE_SIZE,
				  node_size(anc.nperms, anc.vlen, anc.children_bytes + nlen)))
			return XSE_ENOSPC;
	}

	/* Create each missing level downwards, the last one with the value: all of them or none. */
	size_t at = strcmp(cur, "/") == 0 ? 0 : strlen(cur);

	if (!r->txn)
		store_group_begin();
	while (at < len && err == XSE_OK) {
		size_t end = at + 1;

		while (end < len && path[end] != '/')
			end++;
		memcpy(cur, path, end);
		cur[end] = '\0';
		err = create_one(r, cur, perms, anc.nperms, end == len ? value : "",
				 end == len ? vlen : 0);
		at = end;
	}
	return r->txn ? err : store_group_end(err);
}

struct removal {
	const char *root;
	struct xs_perm *root_perms;
	unsigned root_nperms;
	struct arena *arena;
};

static void removed_node(void *ctx, const char *path, const struct store_node *n)
{
	struct removal *rm = ctx;

	if (strcmp(path, rm->root) != 0) {
		watch_fire(path, WATCH_EXACT, n->perms, n->nperms, NULL, 0);
		return;
	}
	/* The root's event goes out last, judged by its permissions before removal. */
	rm->root_perms = arena_memdup(rm->arena, n->perms, sizeof(*n->perms) * n->nperms);
	rm->root_nperms = rm->root_perms ? n->nperms : 0;
}

enum xs_err acc_remove(struct acc *r, const char *path)
{
	struct removal rm = {path, NULL, 0, r->arena};
	enum xs_err err;

	if (r->txn)
		return txn_remove(r->txn, path);
	err = store_remove(path, removed_node, &rm);
	if (err == XSE_OK)
		watch_fire(path, WATCH_SUBTREE, rm.root_perms, rm.root_nperms, NULL, 0);
	return err;
}

void acc_notify(struct acc *r, const char *path, const struct xs_perm *perms, unsigned nperms,
		const struct xs_perm *old_perms, unsigned old_nperms)
{
	if (r->txn)
		txn_note_event(r->txn, path, WATCH_SUBTREE);
	else
		watch_fire(path, WATCH_SUBTREE, perms, nperms, old_perms, old_nperms);
}

enum xs_err acc_children(struct acc *r, const char *path, store_child_fn cb, void *ctx)
{
	if (r->txn)
		return txn_children(r->txn, path, cb, ctx);
	return store_children(path, cb, ctx);
}

enum xs_err acc_chunks(struct acc *r, const char *path, uint32_t from, store_chunk_fn cb, void *ctx)
{
	if (r->txn)
		return txn_chunks(r->txn, path, from, cb, ctx);
	return store_chunks(path, from, cb, ctx);
}

uint64_t acc_committed_gen(struct acc *r, const char *path, size_t *children_bytes)
{
	struct store_node n;

	if (store_read(r->arena, path, false, &n) != XSE_OK) {
		*children_bytes = 0;
		return 0;
	}
	*children_bytes = n.children_bytes;
	return n.gen;
}

size_t acc_added_bytes(struct acc *r, const char *path)
{
	return r->txn ? txn_added_bytes(r->txn, path) : 0;
}

enum xs_err acc_chunk_at(struct acc *r, const char *path, size_t off, uint32_t *from, size_t *from_off)
{
	enum xs_err err;

	if (r->txn)
		return txn_chunk_at(r->txn, path, off, from, from_off);
	/* At or past the end no chunk holds off: 0 then, from the first (right, if slow). */
	if ((err = store_chunk_at(path, off, from, from_off)) == XSE_OK && !*from)
		*from_off = 0;
	return err;
}

uint64_t acc_txn_version(const struct acc *r)
{
	return r->txn ? txn_version(r->txn) : 0;
}

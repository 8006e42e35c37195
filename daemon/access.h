/* Node access for handlers: reads and writes through the request's transaction, permission checks, creation with inherited permissions. */
#ifndef XSD_ACCESS_H
#define XSD_ACCESS_H

#include <stdbool.h>

#include "arena.h"
#include "ident.h"
#include "store.h"
#include "watch.h"

struct txn;

/* What node access works with: whose rights, the transaction (or NULL), scratch memory. */
struct acc {
	const struct ident *who;
	struct txn *txn;
	struct arena *arena;
};

/*
 * XSE_OK found, XSE_ENOENT absent, else why it failed (a transaction's
 * quota or memory, a store error); through the transaction if there is one.
 */
enum xs_err acc_read(struct acc *r, const char *path, bool with_value, struct store_node *out);
/* The access bits (XS_PERM_*) the requester has on a node. */
unsigned acc_rights(const struct acc *r, const struct store_node *n);
/*
 * Fetch a node the requester must have `need` rights on. A missing node is
 * ENOENT if its nearest existing ancestor grants `need`, EACCES otherwise
 * (so that absence does not leak through unreadable directories).
 */
enum xs_err acc_get(struct acc *r, const char *path, unsigned need, bool with_value,
		    struct store_node *out);
/* Create path and any missing ancestors, inheriting the nearest ancestor's permissions. */
enum xs_err acc_create(struct acc *r, const char *path, const char *value, size_t vlen);
/*
 * WRITE: path gets value, made (with the ancestors it lacks) if it is not
 * there; write access to it, or for a new node to its nearest ancestor, and
 * the node-size quota. Its event fires, or in a transaction is noted.
 */
enum xs_err acc_write(struct acc *r, const char *path, const char *value, size_t vlen);
/* cur: the node as acc_get gave it in this request. */
enum xs_err acc_update(struct acc *r, const char *path, const struct store_node *cur,
		       const struct xs_perm *perms, unsigned nperms, const char *value, size_t vlen);
/* Remove a subtree; removed descendants fire exact-match events, the node itself a subtree event. */
enum xs_err acc_remove(struct acc *r, const char *path);
/*
 * A change to path that watches should hear of: fired now, or at commit when
 * made in a transaction. perms/old_perms as for watch_fire (NULL: unknown).
 */
void acc_notify(struct acc *r, const char *path, const struct xs_perm *perms, unsigned nperms,
		const struct xs_perm *old_perms, unsigned old_nperms);
/* The child names in order (see store_children); in a transaction as it sees them. XSE_OK or why not. */
enum xs_err acc_children(struct acc *r, const char *path, store_child_fn cb, void *ctx);
/*
 * The child names chunk by chunk (see store_chunks), starting at chunk
 * from; in a transaction as it sees them (txn_chunks). XSE_OK or why not.
 */
enum xs_err acc_chunks(struct acc *r, const char *path, uint32_t from, store_chunk_fn cb, void *ctx);
/*
 * The generation of the node as committed, whatever the transaction did
 * (0: absent), and the bytes of its committed child names.
 */
uint64_t acc_committed_gen(struct acc *r, const char *path, size_t *children_bytes);
/* Bytes of the child names the request's transaction created under path (0 outside one). */
size_t acc_added_bytes(struct acc *r, const char *path);
/*
 * Where byte offset off of path's child list, as the request sees it,
 * falls: *from, to start acc_chunks from (0: the first), and *from_off,
 * that chunk's offset in the list, at most off (store_chunk_at,
 * txn_chunk_at). XSE_OK or why not.
 */
enum xs_err acc_chunk_at(struct acc *r, const char *path, size_t off, uint32_t *from, size_t *from_off);
/* What changes with every creation and removal of the request's transaction (0 outside one). */
uint64_t acc_txn_version(const struct acc *r);

#endif

/* Transactions: a per-transaction overlay of the store, conflict detection and atomic commit. */
#ifndef XSD_TXN_H
#define XSD_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "ident.h"
#include "store.h"

struct txn;
/* The open transactions of one client, whose identity judges their quotas. */
struct txn_set;

struct txn_set *txn_set_new(const struct ident *who);
/* Abort every transaction (close, RESET_WATCHES, a ring reset); the set stays usable. */
void txn_set_clear(struct txn_set *s);
void txn_set_free(struct txn_set *s);
/* Open transactions in the set, and in the whole daemon. */
unsigned txn_set_count(const struct txn_set *s);
/* Bytes of its transactions' overlays charged to the domain's memory quota. */
size_t txn_set_memory(const struct txn_set *s);
unsigned txn_open_count(void);

/* Open a transaction: XSE_ENOSPC over the transactions quota, XSE_ENOMEM. */
enum xs_err txn_start(struct txn_set *s, struct txn **out);
uint32_t txn_id(const struct txn *t);
struct txn *txn_find(struct txn_set *s, uint32_t id);
/*
 * End it: commit (XSE_OK, XSE_EAGAIN on a conflict, XSE_ENOMEM if it failed
 * earlier or the store could not take it) or abort. The transaction is gone
 * after.
 */
enum xs_err txn_end(struct txn *t, bool commit);
/*
 * Writers against protected transactions (XSA-206, see txn.c): whether an
 * unprivileged write of path (subtree: a removal of it) must wait, or the
 * commit of t; *until receives the instant (txn_now_ms) the protection that
 * holds it ends.
 */
bool txn_write_waits(const struct ident *who, const char *path, bool subtree, uint64_t *until);
bool txn_commit_waits(struct txn *t, uint64_t *until);
/* Whether fn says true of a node t's commit would create or change (its path); fn is asked until it does. */
bool txn_any_write(struct txn *t, bool (*fn)(void *ctx, const char *path), void *ctx);
/* Whether t holds unprivileged writers back (its end should wake them). */
bool txn_is_protected(const struct txn *t);
uint64_t txn_now_ms(void);

/*
 * The store operations seen through a transaction (same contracts as
 * store_*). An access that fails returns why, as the transaction recorded
 * it: XSE_ENOSPC (its node or memory quota), XSE_ENOMEM, XSE_EIO.
 */
enum xs_err txn_read(struct txn *t, struct arena *a, const char *path, bool with_value,
		     struct store_node *out);
enum xs_err txn_create(struct txn *t, const char *path, const struct xs_perm *perms,
		       unsigned nperms, const char *value, size_t vlen);
enum xs_err txn_update(struct txn *t, const char *path, const struct xs_perm *perms,
		       unsigned nperms, const char *value, size_t vlen);
/* Remove a subtree; its watch events are queued for the commit. */
enum xs_err txn_remove(struct txn *t, const char *path);
/* Queue a watch event for the commit (the strongest kind per node wins). */
void txn_note_event(struct txn *t, const char *path, int match);
enum xs_err txn_children(struct txn *t, const char *parent, store_child_fn cb, void *ctx);
/*
 * The children as store_chunks gives them, as the transaction sees them:
 * the committed chunks from `from` (its deletions left out), then the names
 * it created as one more chunk with the id TXN_CHUNK_ADDED (from that id:
 * only those).
 */
#define TXN_CHUNK_ADDED UINT32_MAX
/* Bytes of the child names the transaction created under parent. */
size_t txn_added_bytes(struct txn *t, const char *parent);
enum xs_err txn_chunks(struct txn *t, const char *parent, uint32_t from, store_chunk_fn cb, void *ctx);

#endif

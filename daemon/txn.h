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
/* Ids handed out from id on (a restarted daemon's: never one a client may still hold from before). */
void txn_set_next_id(struct txn_set *s, uint32_t id);
/* Abort every transaction (close, RESET_WATCHES, a ring reset); the set stays usable. */
void txn_set_clear(struct txn_set *s);
void txn_set_free(struct txn_set *s);
/*
 * A live update: the set's transactions as they stand, packed for the next
 * daemon, and taken in there into an empty set of the same client; false
 * if the bytes are not such (what was taken stays: txn_set_clear it).
 */
struct pack;
struct unpack;
void txn_set_pack(const struct txn_set *s, struct pack *b);
bool txn_set_unpack(struct txn_set *s, struct unpack *r);
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
 * earlier or the store could not take it, XSE_ENOSPC if it would take an
 * unprivileged client's domain to its nodes quota) or abort. The
 * transaction is gone after: its quotas given back, its memory at the next
 * txn_reap (a caller replying first calls it once the reply is out, so
 * that the freeing does not delay it; the next txn_start or txn_end does it
 * otherwise).
 */
enum xs_err txn_end(struct txn *t, bool commit);
void txn_reap(void);
/*
 * Writers against protected transactions (XSA-206, see txn.c): whether an
 * unprivileged write of path (subtree: a removal of it) must wait, or the
 * commit of t; *until receives the instant (txn_now_ms) the protection that
 * holds it ends.
 */
bool txn_write_waits(const struct ident *who, const char *path, bool subtree, uint64_t *until);
bool txn_commit_waits(struct txn *t, uint64_t *until);
/* The nodes it created and removed so far, per owning domain (quota.h). */
struct quota_pending;
const struct quota_pending *txn_quota_pending(const struct txn *t);
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
/*
 * A WRITE of an existing node in one look-up: its permissions as the
 * transaction sees them judged by allowed (XSE_OK, or the error to give),
 * then its value set (as txn_update) and a subtree event noted (as
 * txn_note_event). XSE_ENOENT, nothing done, if the transaction sees no
 * such node.
 */
enum xs_err txn_write(struct txn *t, const char *path, const char *value, size_t vlen,
		      enum xs_err (*allowed)(void *ctx, const struct xs_perm *perms, unsigned nperms), void *ctx);
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
/*
 * Where byte offset off of the child list as the transaction sees it
 * falls: *chunk, to start txn_chunks from, and *chunk_off, that chunk's
 * offset in the transaction's list (at most off). Through the directory's
 * index (store_chunk_at) and what the transaction hides of it, made once
 * per change of either: a part deep in a directory costs what it returns.
 * When that cannot be had (memory), *chunk 0 and *chunk_off 0: from the
 * first. XSE_OK or why the transaction could not be read.
 */
enum xs_err txn_chunk_at(struct txn *t, const char *parent, size_t off, uint32_t *chunk, size_t *chunk_off);
/* Counts the transaction's creations and removals: a view of it unchanged while this is. */
uint64_t txn_version(const struct txn *t);

#endif

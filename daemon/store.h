/* The persistent tree in a tdb file and its write-ahead log: nodes, children in chunks, generations, groups, a change hook. */
#ifndef XSD_STORE_H
#define XSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/perms.h"
#include "arena.h"

/*
 * A node as read from the store. Strings and arrays live in the arena given
 * to the read. A directory's children are packed into chunk records listed
 * from it (store_format.h gives the layout): creating or deleting a node
 * touches a constant number of records whatever the size of its directory.
 */
struct store_where;

struct store_node {
	uint64_t gen;
	unsigned nperms;
	struct xs_perm *perms;
	size_t vlen;
	const char *value;
	unsigned nchildren;
	size_t children_bytes;  /* sum of (name length + 1): the DIRECTORY reply size */
	uint32_t first_chunk;   /* chunks of children, in order; 0 when there are none */
	uint32_t last_chunk;
	uint32_t next_chunk_id; /* chunk ids are never reused within a directory */
	bool in_chunk;          /* kept inside its parent's chunk (then it has no children) */
	/* Where store_read found a node kept in a chunk (in its arena); NULL otherwise. */
	const struct store_where *where;
};

struct store_options {
	const char *file;   /* tdb file path */
	unsigned hash_size; /* tdb hash buckets (only used when the file is created) */
	bool fresh;         /* discard an existing file */
	uint32_t priv_domid;
	/*
	 * Tell the hooks of the tree after store_open returns, in slices
	 * (store_background), so that a start costs the log it reads back, not
	 * the size of the tree. Otherwise before it returns.
	 */
	bool background;
	unsigned walk_slice_nodes; /* nodes per slice of it (0: the default) */
	/*
	 * Give the room of deleted nodes back to the file system: once the
	 * store file has at least compact_min_free bytes free, and at least
	 * compact_min_percent of it (tdb's recovery area aside), it is
	 * rebuilt into a new file in slices of compact_slice_us of work
	 * (store_background), which then takes its place (rec.h).
	 */
	bool compact;
	uint64_t compact_min_free;
	unsigned compact_min_percent;
	unsigned compact_slice_us;
};

/*
 * Open (or create with the initial tree). A store that cannot be trusted
 * (a file that is not a store, a log of another store) is refused, never
 * replaced by an empty one: XSE_EIO with a message in *reason.
 */
enum xs_err store_open(const struct store_options *opt, const char **reason);
/* Checkpoint (the next start then reads no log back) and close. */
void store_close(void);
/*
 * A slice of the store's background work: the start-up walk
 * (store_options.background), then the measure of the file's free space
 * and a compaction (store_options.compact). True while more remains now;
 * false when nothing is to be done before something changes, though a
 * compaction may become due: the daemon calls it between turns of its loop
 * while it says true, and now and then otherwise. Reads and changes are
 * served between slices. A tree found damaged is repaired; one that cannot
 * be ends the daemon, as it would have refused to start.
 */
bool store_background(void);

/* The store file's space and its compactions (CONTROL stats). */
struct store_space {
	uint64_t free_bytes;  /* free in the store file as last measured, and what deleted records take */
	uint64_t compactions; /* done since the start */
	uint64_t given_back;  /* bytes they gave back to the file system */
	bool compacting;      /* one is under way */
};
void store_space(struct store_space *s);
/*
 * Finish the start-up work now. Every change does first, and so must
 * whoever reads what the hooks keep (regions, node counts).
 */
void store_settle(void);
/* Whether the hooks have been told the whole tree (nothing left for store_background). */
bool store_settled(void);
/*
 * Tell the hooks the whole tree again (reset, then every node), in slices
 * as at start: what they keep was lost (a shortage of memory) and is
 * rebuilt. True while that work is under way.
 */
bool store_retell(void);

/*
 * Every change reaches the file through a group (rec.h): all of it or
 * nothing, across a crash too, and it is written to the write-ahead log
 * before the call that ends it returns. Each changing call below is a
 * group of its own; a caller wanting several calls to be one (a request
 * that creates missing parents, a domain's clean-up) wraps them:
 *
 *     store_group_begin(); ... err = store_group_end(err);
 *
 * store_group_end with an error undoes what was done since its begin and
 * returns that error. The outermost end writes the group: XSE_OK, or
 * XSE_ENOSPC (file system full) or XSE_EIO with all of it undone. The
 * hooks hear of the group's changes once it is written.
 */
void store_group_begin(void);
enum xs_err store_group_end(enum xs_err err);
/*
 * Before anything goes out to a client (conn.c's pre-send hook): what was
 * written is made durable. False while a group is open.
 */
bool store_flush(void);

/*
 * XSE_OK found, XSE_ENOENT absent, XSE_EIO a damaged record, XSE_ENOMEM
 * (no memory to copy it into a: nothing is wrong with the record).
 * with_value=false skips copying the value.
 */
enum xs_err store_read(struct arena *a, const char *path, bool with_value, struct store_node *out);
/*
 * As store_read, for a reader that will not hand the node to store_update
 * (out->where stays NULL), with the path's length and store_path_hash:
 * cheaper. Its permissions and value may be the
 * store's own copies, good until the next call into the store: a reader
 * takes what it keeps before then.
 */
enum xs_err store_read_node(struct arena *a, const char *path, size_t plen, uint32_t hash, bool with_value,
			    struct store_node *out);
/*
 * The hash the store's caches find a path of plen bytes by: a caller that
 * keeps one per path (a transaction's overlay) passes it to store_read_node
 * and store_commit, and the path is not hashed again.
 */
uint32_t store_path_hash(const char *path, size_t plen);
/* Create a node under an existing parent, appended to the parent's children. */
enum xs_err store_create(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen);
/*
 * Replace value and/or permissions (NULL keeps them) and stamp a new
 * generation. cur (or NULL) is the node as store_read gave it for this path
 * through arena a, not reset since: while nothing was written since, the
 * node is not looked for again.
 */
enum xs_err store_update(struct arena *a, const char *path, const struct store_node *cur,
			 const struct xs_perm *perms, unsigned nperms, const char *value, size_t vlen);

/* Called for each node removed, children before their parent. */
typedef void (*store_removed_fn)(void *ctx, const char *path, const struct store_node *node);
/*
 * Remove a node and its subtree (no-op if absent), in one group whatever
 * its size. The root cannot be removed. cb sees each node's generation and
 * permissions (not its value) as it goes, before the group is written: if
 * writing it fails, what cb was told did not happen.
 */
enum xs_err store_remove(const char *path, store_removed_fn cb, void *ctx);
/*
 * Part of a removal, in a group of its own: path's subtree goes deepest
 * first, about max nodes (a chunk of entries goes whole), then path itself
 * once nothing is left under it (*done; also when it is absent). Each call
 * leaves a sound tree; calling again goes on. cb as for store_remove, for
 * what went in this call. XSE_OK, XSE_EINVAL for the root, XSE_EIO,
 * XSE_ENOMEM, XSE_ENOSPC (nothing changed). scratch is used and reset.
 */
enum xs_err store_remove_some(struct arena *scratch, const char *path, size_t max, store_removed_fn cb,
			      void *ctx, bool *done);

/*
 * Visit the children of parent in order until cb returns false. XSE_OK (an
 * absent parent has none), XSE_EIO on a damaged record, XSE_ENOMEM.
 */
typedef bool (*store_child_fn)(void *ctx, const char *name);
enum xs_err store_children(const char *parent, store_child_fn cb, void *ctx);
/*
 * Visit the names of path's siblings kept in the same chunk of their
 * parent as path's entry (path's own among them), until cb returns false:
 * a few dozen nodes whose changes write the same record. The names are
 * copied into arena a first, so cb may change the tree. XSE_OK (nothing
 * if path or its parent is absent, or for the root and @ nodes), XSE_EIO,
 * XSE_ENOMEM.
 */
enum xs_err store_chunk_mates(struct arena *a, const char *path, store_child_fn cb, void *ctx);
/*
 * The children of parent with their nodes (permissions, no value) until cb
 * returns false, each decoded where its chunk holds it: a few hundred
 * nanoseconds a child, not a lookup each. XSE_OK (an absent parent has
 * none), XSE_EIO, XSE_ENOMEM.
 */
typedef bool (*store_child_node_fn)(void *ctx, const char *name, const struct store_node *n);
enum xs_err store_child_nodes(const char *parent, store_child_node_fn cb, void *ctx);
/*
 * The same, one chunk at a time, to go on later: the chunk *chunk (0: the
 * first), *chunk then the next one (0: none left, or cb said stop).
 * XSE_ENOENT: the parent, or that chunk, is gone (start again from 0).
 */
enum xs_err store_chunk_nodes(const char *parent, uint32_t *chunk, store_child_node_fn cb, void *ctx);
/* Whether path has children (one record read; false if it cannot be read). */
bool store_has_children(const char *path);
/*
 * Visit the chunks of parent in order, from chunk `from` (0: the first),
 * until cb returns false: names is len bytes of the chunk's children's
 * names, each NUL-terminated. XSE_OK (an absent parent has none), XSE_EIO
 * if a chunk is missing or damaged, XSE_ENOMEM.
 */
typedef bool (*store_chunk_fn)(void *ctx, uint32_t chunk, const char *names, size_t len);
enum xs_err store_chunks(const char *parent, uint32_t from, store_chunk_fn cb, void *ctx);

/*
 * Where byte offset off of parent's child list (the names store_chunks
 * gives, one after another) falls: *chunk, the chunk holding it, to start
 * store_chunks from, and *chunk_off, that chunk's own offset (at most
 * off); *chunk 0 when off is at or past the end. O(log chunks) through the
 * directory's index (dirindex.h; the first use builds it, reading the
 * chunks once). XSE_OK (an absent parent has no children), else as
 * store_read.
 */
enum xs_err store_chunk_at(const char *parent, size_t off, uint32_t *chunk, size_t *chunk_off);
/*
 * The chunk of parent holding child name, and that chunk's offset in the
 * child list: XSE_OK, XSE_ENOENT (not a child), XSE_ENOMEM (no memory
 * for the index), else as store_read.
 */
enum xs_err store_child_chunk(const char *parent, const char *name, uint32_t *chunk, size_t *chunk_off);

/*
 * Visit root and everything below it in pre-order; visit returns false to
 * skip a node's children. The tree must not change during the walk.
 * XSE_OK (nothing to walk if root cannot be read), XSE_EIO on a damaged
 * record below it, XSE_ENOMEM.
 */
typedef bool (*store_visit_fn)(void *ctx, const char *path, const struct store_node *n);
enum xs_err store_walk(const char *root, store_visit_fn visit, void *ctx);

/*
 * Check the tree's structure: every directory's chunks are linked and
 * parse, counts and sizes agree, every child kept in its own record has
 * one, no other record is left over. NULL if sound, else a description of
 * the first fault (static).
 */
const char *store_check(void);

/*
 * One change of a commit. STORE_SET creates the node (its parent must exist)
 * or, if it exists, replaces its permissions and value (NULL keeps them).
 * STORE_REMOVE removes a subtree if it is there. Both are idempotent, which
 * is what lets a commit cut short by a crash be applied again on start.
 */
enum store_change_kind { STORE_SET, STORE_REMOVE };

struct store_change {
	enum store_change_kind kind;
	const char *path;
	const struct xs_perm *perms;
	unsigned nperms;
	const char *value;
	size_t vlen;
	/*
	 * The node is known to be kept in its parent's chunk with no record of
	 * its own (read so, and nothing written since): the commit need not
	 * look for one. false: it looks.
	 */
	bool in_chunk;
	size_t plen;   /* strlen(path) */
	uint32_t hash; /* store_path_hash(path, plen) */
};

/*
 * Apply changes in order, in one group: all or none, across a crash too.
 * XSE_OK, or an error (XSE_ENOSPC: the file system is full) with nothing
 * changed; *touched is then false (it says whether a failed commit may
 * have changed the store, which no longer happens).
 */
enum xs_err store_commit(const struct store_change *changes, size_t n, bool *touched);

/*
 * The daemon's own records, beside the tree: what a restarted daemon needs
 * that is no node (the introduced domains and their watches, keep.c). The
 * key is a NUL, then "xsd.", then name: no path can name one, so no client
 * sees them, and the tree's check and repair pass them by. Only inside a
 * group (store_group_begin): durable with it, undone with it. Names are at
 * most STORE_AUX_NAME_MAX bytes.
 */
#define STORE_AUX_NAME_MAX 32u
enum xs_err store_aux_put(const void *name, size_t nlen, const void *data, size_t len);
enum xs_err store_aux_del(const void *name, size_t nlen);
/* XSE_OK with fn given the bytes (valid during the call), or XSE_ENOENT. */
typedef void (*store_aux_fn)(void *ctx, const unsigned char *data, size_t len);
enum xs_err store_aux_read(const void *name, size_t nlen, store_aux_fn fn, void *ctx);
/*
 * A note: an aux record (above) under name, put in the open group or a
 * group of its own; len 0 deletes the note. XSE_OK, XSE_ENOMEM, XSE_ENOSPC.
 */
enum xs_err store_note_put(const char *name, const void *bytes, size_t len);
/* The note's bytes copied into arena a: XSE_OK, XSE_ENOENT, XSE_ENOMEM. */
enum xs_err store_note_get(struct arena *a, const char *name, void **bytes, size_t *len);

/* The size of the store file (the global memory budget counts it). */
uint64_t store_file_bytes(void);
/* The generation counter's current value (CONTROL stats). */
uint64_t store_generation(void);
/* Changes to the store so far, of any kind: the same value twice means every read between would read the same. */
uint64_t store_changes(void);

/*
 * What the store reports of nodes' permissions to the observers that keep
 * an index or counts from them (regions.c, quota.c), so that the store
 * need not know them. Called once the group that made the change is
 * written (in order, after all of the group is done: reads then see the
 * group's end); the observer may read the store, never change it. Every
 * member is set.
 */
struct store_hook {
	/* Forget everything: the store is opening (every node is reported added next) or closing. */
	void (*reset)(void *ctx);
	/*
	 * Node path exists with perms: created, or found as the store opens
	 * (parents first). pperms are its parent's: none for the root.
	 */
	void (*added)(void *ctx, const char *path, const struct xs_perm *perms, unsigned nperms,
		      const struct xs_perm *pperms, unsigned npperms);
	/* Node path, which had perms, is gone; children go before their parent. */
	void (*removed)(void *ctx, const char *path, const struct xs_perm *perms, unsigned nperms);
	/* Node path's permissions were set from old to perms (perhaps the same). */
	void (*perms_set)(void *ctx, const char *path, const struct xs_perm *old, unsigned nold,
			  const struct xs_perm *perms, unsigned nperms);
	/* Some nodes could not be reported (the tree could not be read whole): what was told is incomplete. */
	void (*lost)(void *ctx);
};

/* Add an observer, before store_open; false when STORE_HOOKS_MAX are there. */
#define STORE_HOOKS_MAX 4
bool store_add_hook(const struct store_hook *hook, void *ctx);
/* Forget every observer (tests that open stores one after another). */
void store_clear_hooks(void);

#endif

/* Private to the store's files (store_tree.c, store_commit.c, store_open.c): their shared state and helpers. */
#ifndef XSD_STORE_INT_H
#define XSD_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../proto/path.h"
#include "arena.h"
#include "store.h"
#include "rec.h"
#include "store_format.h"

/* A change to tell the hooks once the group that made it is written (store.h). */
enum store_tell_kind { TELL_ADDED, TELL_REMOVED, TELL_PERMS };

struct store_tell {
	enum store_tell_kind kind;
	const char *path;
	const struct xs_perm *perms; /* added, removed: the node's; perms set: the new ones */
	unsigned nperms;
	const struct xs_perm *other; /* added: the parent's; perms set: the old ones */
	unsigned nother;
};

#define STORE_DEPTH_MAX 16

/* What the store keeps between calls; the tree itself is in the records (rec.h). */
struct store_state {
	bool open;
	bool telling;   /* the start-up walk telling the hooks every node is under way */
	uint64_t epoch; /* counts writes: a struct store_where from before the last one is stale */
	uint64_t gen;   /* the generation counter */
	/* The observers of changes (store.h), in the order they were added. */
	struct {
		const struct store_hook *hook;
		void *ctx;
	} hooks[STORE_HOOKS_MAX];
	unsigned nhooks;
	struct arena commit_arena; /* store_commit's scratch, kept between commits (reset, not freed) */
	/* The open group: its depth, and what it will tell the hooks (copies in tell_arena). */
	unsigned depth;
	struct store_tell *tells;
	size_t ntells, cap_tells;
	struct arena tell_arena;
	struct {
		size_t ntells;
		struct arena_mark mark;
	} tell_sp[STORE_DEPTH_MAX];
};

extern struct store_state store_st;

/* A chunk as read: its links, class and entries (a copy in an arena, with room to append one). */
struct chunk {
	uint32_t id, prev, next;
	unsigned cls;
	unsigned char *body;
	size_t len;
};

static inline TDB_DATA key_of(const char *path)
{
	TDB_DATA k = {(unsigned char *)path, strlen(path)};

	return k;
}

/* Build "<parent>/<name>" into buf (XS_PATH_BUF bytes). */
static inline void child_path(char *buf, const char *parent, const char *name)
{
	size_t pl = strlen(parent);

	if (pl == 1 && parent[0] == '/')
		pl = 0;
	memcpy(buf, parent, pl);
	buf[pl] = '/';
	strcpy(buf + pl + 1, name);
}

static inline void parent_of(char *buf, const char *path)
{
	size_t pl = xs_path_parent_len(path);

	memcpy(buf, path, pl);
	buf[pl] = '\0';
}

/* Only nodes below the root have a parent to be kept in; the root and @ nodes have records. */
static inline bool has_parent(const char *path)
{
	return path[0] == '/' && path[1];
}

/* store_tree.c: records and chunks. */

/* The node record of path: XSE_OK read, XSE_ENOENT none, XSE_EIO damaged, XSE_ENOMEM. */
enum xs_err store_record_read(struct arena *a, const char *path, bool with_value, struct store_node *out);
/* A read that found no memory, logged as such (at most a line a second): what, then the path. */
void store_log_nomem(const char *what, const char *path);
/* Write path's node record, encoded in arena a (NULL: by malloc). */
enum xs_err store_record_put(struct arena *a, const char *path, const struct store_node *n);
/* XSE_OK read, XSE_EIO damaged or missing (logged), XSE_ENOMEM. */
enum xs_err store_chunk_read(struct arena *a, const char *dir, uint32_t id, struct chunk *out);
/* Append an encoded entry to directory dir (record dn, updated; the caller writes it). */
enum xs_err store_entry_append(struct arena *a, const char *dir, struct store_node *dn, const char *name,
			       const unsigned char *entry, size_t elen);
/*
 * Changes from c on (n of them) that rewrite nodes kept in one chunk of one
 * directory, applied to one copy of the chunk, which is written once: how
 * many were taken (0: none, the first goes to store_update as ever), and
 * into *err whether the write failed. Inside the caller's group.
 */
size_t store_update_run(struct arena *a, const struct store_change *c, size_t n, enum xs_err *err);
/* store_walk, with where it failed written into fault (XS_PATH_BUF bytes) if it did. */
enum xs_err store_walk_fault(const char *root, store_visit_fn visit, void *ctx, char *fault);

/* A pre-order walk that can stop and go on (store_walk is one done at once). */
struct store_walker {
	store_visit_fn visit;
	void *ctx;
	struct arena scratch, held;
	char cur[XS_PATH_BUF];
	struct store_node n;
	struct chunk ch;   /* the chunk next_chunk names, when have_chunk */
	bool have_chunk;
	uint32_t next_chunk;
	size_t next_off;
	struct {
		uint32_t chunk;
		size_t off;
	} *stack; /* per level above cur: where to go on */
	size_t depth, cap;
	char fault[XS_PATH_BUF + 32];
};

/* Visit root: XSE_OK, or as store_read if it cannot be read (XSE_ENOENT: absent). */
enum xs_err walker_start(struct store_walker *w, const char *root, store_visit_fn visit, void *ctx);
/*
 * Visit up to budget more nodes; *more says whether any remain. XSE_OK, or
 * on a fault (said in w->fault) XSE_EIO, XSE_ENOMEM.
 */
enum xs_err walker_step(struct store_walker *w, size_t budget, bool *more);
void walker_free(struct store_walker *w);

/* Queue a change for the hooks, told when the open group is written (nothing without hooks). */
void store_tell(enum store_tell_kind kind, const char *path, const struct xs_perm *perms, unsigned nperms,
		const struct xs_perm *other, unsigned nother);

/* Tell every hook now (reset, lost: not changes of a group). */
#define STORE_TELL(member, ...)                                                            \
	do {                                                                               \
		for (unsigned i_ = 0; i_ < store_st.nhooks; i_++)                           \
			store_st.hooks[i_].hook->member(store_st.hooks[i_].ctx, ##__VA_ARGS__); \
	} while (0)

static inline void store_tell_added(const char *path, const struct xs_perm *perms, unsigned nperms,
				    const struct xs_perm *pperms, unsigned npperms)
{
	store_tell(TELL_ADDED, path, perms, nperms, pperms, npperms);
}

static inline void store_tell_removed(const char *path, const struct xs_perm *perms, unsigned nperms)
{
	store_tell(TELL_REMOVED, path, perms, nperms, NULL, 0);
}

/* store_open.c: the room a record gets in tdb (rec_options.room). */
size_t store_record_room(const unsigned char *key, size_t klen, const unsigned char *data, size_t len);

#endif

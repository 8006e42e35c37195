/* The persistent tree in a tdb file: node records, insertion-ordered child links, generations. */
#ifndef XSD_STORE_H
#define XSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/perms.h"
#include "arena.h"

/*
 * A node as read from the store. Strings and arrays live in the arena given
 * to the read. Children form a doubly linked list through the child records
 * (first/last in the parent, prev/next in each child) so that creating or
 * deleting a node touches a constant number of records whatever the size of
 * its directory.
 */
struct store_node {
	uint64_t gen;
	unsigned nperms;
	struct xs_perm *perms;
	size_t vlen;
	const char *value;
	unsigned nchildren;
	size_t children_bytes; /* sum of (name length + 1): the DIRECTORY reply size */
	const char *first, *last; /* child names, NULL when there are none */
	const char *prev, *next;  /* sibling names, NULL at either end */
};

struct store_options {
	const char *file;   /* tdb file path */
	unsigned hash_size; /* tdb hash buckets (only used when the file is created) */
	bool fresh;         /* discard an existing file */
	uint32_t priv_domid;
};

/* Open (or create with the initial tree). XSE_OK or XSE_EIO; *reason gets a message. */
enum xs_err store_open(const struct store_options *opt, const char **reason);
/* Record a clean shutdown and close; a later open then trusts the saved generation. */
void store_close(void);

/* 1 found, 0 absent, -1 damaged record. with_value=false skips copying the value. */
int store_read(struct arena *a, const char *path, bool with_value, struct store_node *out);
/* Create a node under an existing parent, appended to the parent's children. */
enum xs_err store_create(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen);
/* Replace value and/or permissions (NULL keeps them) and stamp a new generation. */
enum xs_err store_update(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen);

/* Called for each node removed, children before their parent. */
typedef void (*store_removed_fn)(void *ctx, const char *path, const struct store_node *node);
/* Remove a node and its subtree (no-op if absent). The root cannot be removed. */
enum xs_err store_remove(const char *path, store_removed_fn cb, void *ctx);

/* Visit the children of parent in order until cb returns false. 0, or -1 on a damaged record. */
typedef bool (*store_child_fn)(void *ctx, const char *name);
int store_children(const char *parent, store_child_fn cb, void *ctx);
/* The same, starting at the named child (1 if it exists and the walk ran, 0 if it does not). */
int store_children_from(const char *parent, const char *first, store_child_fn cb, void *ctx);
/* The child of parent after the named one (name NULL: the first). 1 found, 0 end, -1 error. */
int store_next_child(struct arena *a, const char *parent, const char *name, const char **out);

/*
 * Visit root and everything below it in pre-order; visit returns false to
 * skip a node's children. The tree must not change during the walk.
 * 0, or -1 on a damaged record.
 */
typedef bool (*store_visit_fn)(void *ctx, const char *path, const struct store_node *n);
int store_walk(const char *root, store_visit_fn visit, void *ctx);

/* Group several changes so that a crash leaves all or none of them. */
enum xs_err store_batch_begin(void);
enum xs_err store_batch_commit(void);
void store_batch_cancel(void);

/* Number of records and bytes of the tdb file, for reports. */
uint64_t store_generation(void);

#endif

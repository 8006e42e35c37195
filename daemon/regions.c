/* Which subtrees name each domain: the topmost nodes whose permissions name it, for its clean-up. */
#include "regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/path.h"
#include "arena.h"
#include "hmap.h"
#include "store.h"

struct region {
	struct hnode h;
	char path[];
};

struct region_set {
	struct hnode h;
	char key[12]; /* the domid in decimal */
	struct hmap roots;
};

static struct hmap region_sets;
static bool regions_untrusted;
/* regions_defer_children: a node losing a domain, with children, stays its root, the children not looked at. */
static bool defer_children;

static struct region_set *set_get(uint32_t domid, bool create)
{
	char key[12];
	struct region_set *s;

	snprintf(key, sizeof(key), "%u", (unsigned)domid);
	s = (struct region_set *)hmap_find(&region_sets, key);
	if (s || !create)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->key, key, sizeof(key));
	s->h.key = s->key;
	if (!hmap_insert(&region_sets, &s->h)) {
		free(s);
		return NULL;
	}
	return s;
}

static void set_free(struct region_set *s)
{
	for (size_t b = 0; b < s->roots.nbuckets; b++) {
		struct hnode *h = s->roots.buckets[b];

		while (h) {
			struct hnode *next = h->next;

			free(h);
			h = next;
		}
	}
	hmap_free(&s->roots);
	hmap_remove(&region_sets, &s->h);
	free(s);
}

static void regions_add(uint32_t domid, const char *path)
{
	struct region_set *s = set_get(domid, true);
	size_t len = strlen(path);
	struct region *r;

	if (!s) {
		regions_untrusted = true;
		return;
	}
	if (hmap_find(&s->roots, path))
		return;
	r = malloc(sizeof(*r) + len + 1);
	if (!r) {
		regions_untrusted = true;
		return;
	}
	memcpy(r->path, path, len + 1);
	r->h.key = r->path;
	if (!hmap_insert(&s->roots, &r->h)) {
		free(r);
		regions_untrusted = true;
	}
}

static void regions_del(uint32_t domid, const char *path)
{
	struct region_set *s = set_get(domid, false);
	struct hnode *h = s ? hmap_find(&s->roots, path) : NULL;

	if (!h)
		return;
	hmap_remove(&s->roots, h);
	free(h);
	if (!s->roots.count)
		set_free(s);
}

size_t regions_list(uint32_t domid, char ***out)
{
	struct region_set *s;
	size_t n = 0;

	store_settle(); /* complete once the store's start-up walk is */
	s = set_get(domid, false);
	*out = NULL;
	if (!s)
		return 0;
	*out = malloc(s->roots.count * sizeof(char *));
	if (!*out) {
		regions_untrusted = true;
		return 0;
	}
	for (size_t b = 0; b < s->roots.nbuckets; b++)
		for (struct hnode *h = s->roots.buckets[b]; h; h = h->next)
			if (((*out)[n] = strdup(h->key)) != NULL)
				n++;
			else
				regions_untrusted = true;
	return n;
}

bool regions_complete(void)
{
	store_settle();
	return !regions_untrusted;
}

bool regions_trusted(void)
{
	return !regions_untrusted;
}

size_t regions_count(uint32_t domid)
{
	struct region_set *s = set_get(domid, false);

	return s ? s->roots.count : 0;
}

bool regions_is_root(uint32_t domid, const char *path)
{
	struct region_set *s = set_get(domid, false);

	return s && hmap_find(&s->roots, path);
}

size_t regions_root_above(uint32_t domid, const char *path)
{
	struct region_set *s = set_get(domid, false);
	size_t len = strlen(path);
	uint32_t h = HMAP_HASH_INIT;

	if (!s || path[0] != '/')
		return 0;
	/* Each prefix that is a node ("/", "/a", "/a/b", ...), topmost first; its hash on the way. */
	for (size_t i = 1; i <= len; i++) {
		h = hmap_hash_add(h, (unsigned char)path[i - 1]);
		if ((i == 1 || i == len || path[i] == '/') && hmap_find_n(&s->roots, path, i, h))
			return i;
	}
	return 0;
}

/* A cursor is a bucket of the domain's roots and a place in its chain. */
#define CURSOR_CHAIN 256u

const char *regions_next(uint32_t domid, size_t *cursor)
{
	struct region_set *s = set_get(domid, false);
	size_t b = *cursor / CURSOR_CHAIN, pos = *cursor % CURSOR_CHAIN;

	for (; s && b < s->roots.nbuckets; b++, pos = 0) {
		size_t k = 0;

		for (struct hnode *h = s->roots.buckets[b]; h; h = h->next, k++) {
			if (k < pos)
				continue;
			/* A chain longer than the cursor counts waits for the next pass. */
			*cursor = pos + 1 < CURSOR_CHAIN ? b * CURSOR_CHAIN + pos + 1 : (b + 1) * CURSOR_CHAIN;
			return h->key;
		}
	}
	*cursor = 0;
	return NULL;
}

void regions_forget(uint32_t domid, const char *path)
{
	regions_del(domid, path);
}

static void regions_lost(void)
{
	regions_untrusted = true;
}

static void regions_clear(void)
{
	while (region_sets.count) {
		for (size_t b = 0; b < region_sets.nbuckets; b++)
			if (region_sets.buckets[b]) {
				set_free((struct region_set *)region_sets.buckets[b]);
				break;
			}
	}
	hmap_free(&region_sets);
	regions_untrusted = false;
}

/* The store's reports (store.h) keep the index. */

/* Where the reports' own reads go, kept warm: each rewinds to its mark. */
static struct arena regions_scratch;

static bool perms_name(const struct xs_perm *p, unsigned n, uint32_t domid)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i].id == domid)
			return true;
	return false;
}

/*
 * A node's permissions come (add) or go: the node starts a region of each
 * domain it names that its parent, with permissions pperms, does not name.
 */
static void note_regions(const char *path, const struct xs_perm *perms, unsigned nperms,
			 const struct xs_perm *pperms, unsigned npperms, bool add)
{
	for (unsigned i = 0; i < nperms; i++) {
		uint32_t d = perms[i].id;

		if (perms_name(perms, i, d))
			continue;
		if (!add)
			regions_del(d, path);
		else if (!perms_name(pperms, npperms, d))
			regions_add(d, path);
	}
}

static void hook_reset(void *ctx)
{
	(void)ctx;
	regions_clear();
	arena_free(&regions_scratch);
}

static void hook_added(void *ctx, const char *path, const struct xs_perm *perms, unsigned nperms,
		       const struct xs_perm *pperms, unsigned npperms)
{
	(void)ctx;
	note_regions(path, perms, nperms, pperms, npperms, true);
}

static void hook_removed(void *ctx, const char *path, const struct xs_perm *perms, unsigned nperms)
{
	(void)ctx;
	note_regions(path, perms, nperms, NULL, 0, false);
}

struct regions_children {
	const char *parent;
	const struct xs_perm *perms; /* the parent's new permissions */
	unsigned nperms;
	const struct xs_perm *dropped; /* its old ones */
	unsigned ndropped;
};

/*
 * A child naming a domain its parent stopped naming starts a region of it
 * now. Each child's permissions come from its chunk as the walk decodes it
 * (store_child_nodes): a directory of 100,000 costs milliseconds, not a
 * lookup per child.
 */
static bool child_regions(void *ctx, const char *name, const struct store_node *n)
{
	struct regions_children *rc = ctx;
	char path[XS_PATH_BUF];
	size_t pl = strcmp(rc->parent, "/") ? strlen(rc->parent) : 0;
	bool built = false;

	for (unsigned i = 0; i < n->nperms; i++) {
		uint32_t d = n->perms[i].id;

		if (!perms_name(rc->dropped, rc->ndropped, d) || perms_name(rc->perms, rc->nperms, d))
			continue;
		if (!built) {
			memcpy(path, rc->parent, pl);
			path[pl] = '/';
			strcpy(path + pl + 1, name);
			built = true;
		}
		regions_add(d, path);
	}
	return true;
}

/* A node's permissions change from old to new: the index follows, for it and its children. */
static void hook_perms_set(void *ctx, const char *path, const struct xs_perm *old, unsigned nold,
			   const struct xs_perm *perms, unsigned nperms)
{
	struct regions_children rc = {path, perms, nperms, old, nold};
	bool gained = false, lost = false;

	(void)ctx;
	for (unsigned i = 0; i < nperms; i++)
		gained |= !perms_name(old, nold, perms[i].id);
	for (unsigned i = 0; i < nold; i++)
		lost |= !perms_name(perms, nperms, old[i].id);
	/* Special (@) nodes are cleaned up by name, not through regions. */
	if (gained && path[0] == '/') {
		char ppath[XS_PATH_BUF];
		struct arena_mark mark = arena_mark(&regions_scratch);
		struct store_node parent = {0};

		if (strcmp(path, "/") != 0) {
			size_t pl = xs_path_parent_len(path);

			memcpy(ppath, path, pl);
			ppath[pl] = '\0';
			if (store_read(&regions_scratch, ppath, false, &parent) != XSE_OK)
				regions_lost();
		}
		note_regions(path, perms, nperms, parent.perms, parent.nperms, true);
		arena_rewind(&regions_scratch, mark);
	}
	/* Children to look at: it stays a root of those domains, for whoever asked to look (regions_descend). */
	if (lost && defer_children && store_has_children(path)) {
		for (unsigned i = 0; i < nold; i++)
			if (!perms_name(perms, nperms, old[i].id))
				regions_add(old[i].id, path);
		return;
	}
	if (lost) {
		for (unsigned i = 0; i < nold; i++)
			if (!perms_name(perms, nperms, old[i].id))
				regions_del(old[i].id, path);
		if (store_child_nodes(path, child_regions, &rc) != XSE_OK)
			regions_lost();
	}
}

void regions_defer_children(bool defer)
{
	defer_children = defer;
}

struct descend {
	uint32_t domid;
	const char *parent;
};

static bool descend_child(void *ctx, const char *name, const struct store_node *n)
{
	struct descend *ds = ctx;
	char path[XS_PATH_BUF];
	size_t pl = strcmp(ds->parent, "/") ? strlen(ds->parent) : 0;

	if (!perms_name(n->perms, n->nperms, ds->domid))
		return true;
	memcpy(path, ds->parent, pl);
	path[pl] = '/';
	strcpy(path + pl + 1, name);
	regions_add(ds->domid, path);
	return true;
}

enum xs_err regions_descend(uint32_t domid, const char *path, uint32_t *chunk)
{
	struct descend ds = {domid, path};
	enum xs_err err = store_chunk_nodes(path, chunk, descend_child, &ds);

	if (err == XSE_OK && !*chunk)
		regions_del(domid, path); /* every child looked at: its own part is done */
	return err;
}

static void hook_lost(void *ctx)
{
	(void)ctx;
	regions_lost();
}

const struct store_hook regions_hook = {hook_reset, hook_added, hook_removed, hook_perms_set, hook_lost};

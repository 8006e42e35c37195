/* Watches: registration, the index by path, and delivery of events with permission filtering. */
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/path.h"
#include "arena.h"
#include "hmap.h"
#include "quota.h"
#include "store.h"

/*
 * Every watch sits in two places: its set's list (with a map by
 * "path token" for duplicates) and a global map from watched path to the
 * watches on exactly that path. An event on /a/b/c looks up /a/b/c, /a/b,
 * /a and / only: the cost follows the path depth and the watches that
 * match, not the number of watches registered.
 */
struct watch_bucket {
	struct hnode h;
	char *path;
	struct watch *head;
};

struct watch_set {
	const struct ident *who;
	uint64_t order;
	watch_deliver_fn deliver;
	void *owner;
	struct watch *head;
	struct hmap keys; /* "path token" -> watch */
	unsigned n;
	size_t bytes; /* charged to the domain's memory quota: each watch's path and token */
};

struct watch {
	struct hnode by_key;            /* in set->keys */
	struct watch *set_next, *set_prev;
	struct watch *path_next, *path_prev;
	struct watch_bucket *bucket;
	struct watch_set *set;
	char *key;                      /* "path token" */
	const char *token;              /* inside key */
	uint64_t seq;                   /* registration order */
	size_t prefix_len;
	int depth;
};

static struct hmap watch_buckets;
static unsigned watch_total;
static uint64_t watch_next_seq;

unsigned watch_count(void)
{
	return watch_total;
}

struct watch_set *watch_set_new(const struct ident *who, uint64_t order, watch_deliver_fn deliver,
				void *owner)
{
	struct watch_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->who = who;
	s->order = order;
	s->deliver = deliver;
	s->owner = owner;
	return s;
}

static struct watch_bucket *bucket_get(const char *path, bool create)
{
	struct hnode *h = hmap_find(&watch_buckets, path);
	struct watch_bucket *b;

	if (h || !create)
		return (struct watch_bucket *)h;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		return NULL;
	}
	b->h.key = b->path;
	if (!hmap_insert(&watch_buckets, &b->h)) {
		free(b->path);
		free(b);
		return NULL;
	}
	return b;
}

static char *make_key(const char *path, const char *token)
{
	size_t pl = strlen(path), tl = strlen(token);
	char *key = malloc(pl + 1 + tl + 1);

	if (key) {
		memcpy(key, path, pl);
		key[pl] = ' ';
		memcpy(key + pl + 1, token, tl + 1);
	}
	return key;
}

enum xs_err watch_add(struct watch_set *s, const char *path, size_t prefix_len, const char *token,
		      int depth)
{
	char *key = make_key(path, token);
	struct watch_bucket *b;
	struct watch *w;

	if (!key)
		return XSE_ENOMEM;
	if (hmap_find(&s->keys, key)) {
		free(key);
		return XSE_EEXIST;
	}
	if (quota_charge(s->who, QUOTA_WATCHES, 1) != XSE_OK) {
		free(key);
		return XSE_ENOSPC;
	}
	if (quota_charge(s->who, QUOTA_MEMORY, (unsigned)(strlen(key) + 1)) != XSE_OK) {
		quota_release(s->who, QUOTA_WATCHES, 1);
		free(key);
		return XSE_ENOMEM;
	}
	w = calloc(1, sizeof(*w));
	b = w ? bucket_get(path, true) : NULL;
	if (!b) {
		free(w);
		quota_release(s->who, QUOTA_MEMORY, (unsigned)(strlen(key) + 1));
		free(key);
		quota_release(s->who, QUOTA_WATCHES, 1);
		return XSE_ENOMEM;
	}
	w->key = key;
	w->token = key + strlen(path) + 1;
	w->by_key.key = key;
	if (!hmap_insert(&s->keys, &w->by_key)) {
		if (!b->head) {
			hmap_remove(&watch_buckets, &b->h);
			free(b->path);
			free(b);
		}
		free(w);
		quota_release(s->who, QUOTA_MEMORY, (unsigned)(strlen(key) + 1));
		free(key);
		quota_release(s->who, QUOTA_WATCHES, 1);
		return XSE_ENOMEM;
	}
	w->set = s;
	w->seq = ++watch_next_seq;
	w->prefix_len = prefix_len;
	w->depth = depth;
	w->bucket = b;
	w->path_next = b->head;
	if (b->head)
		b->head->path_prev = w;
	b->head = w;
	w->set_next = s->head;
	if (s->head)
		s->head->set_prev = w;
	s->head = w;
	s->n++;
	s->bytes += strlen(key) + 1;
	watch_total++;
	return XSE_OK;
}

void watch_set_each(const struct watch_set *s, watch_each_fn fn, void *ctx)
{
	const struct watch *w = s->head;

	while (w && w->set_next)
		w = w->set_next;
	for (; w; w = w->set_prev)
		fn(ctx, w->key, (size_t)(w->token - w->key - 1), w->prefix_len, w->token, w->depth);
}

static void watch_free(struct watch *w)
{
	struct watch_set *s = w->set;
	struct watch_bucket *b = w->bucket;

	hmap_remove(&s->keys, &w->by_key);
	if (w->set_prev)
		w->set_prev->set_next = w->set_next;
	else
		s->head = w->set_next;
	if (w->set_next)
		w->set_next->set_prev = w->set_prev;
	if (w->path_prev)
		w->path_prev->path_next = w->path_next;
	else
		b->head = w->path_next;
	if (w->path_next)
		w->path_next->path_prev = w->path_prev;
	if (!b->head) {
		hmap_remove(&watch_buckets, &b->h);
		free(b->path);
		free(b);
	}
	s->n--;
	s->bytes -= strlen(w->key) + 1;
	watch_total--;
	quota_release(s->who, QUOTA_WATCHES, 1);
	quota_release(s->who, QUOTA_MEMORY, (unsigned)(strlen(w->key) + 1));
	free(w->key);
	free(w);
}

enum xs_err watch_remove(struct watch_set *s, const char *path, const char *token)
{
	char *key = make_key(path, token);
	struct hnode *h;

	if (!key)
		return XSE_ENOMEM;
	h = hmap_find(&s->keys, key);
	free(key);
	if (!h)
		return XSE_ENOENT;
	watch_free((struct watch *)h);
	return XSE_OK;
}

unsigned watch_set_count(const struct watch_set *s)
{
	return s->n;
}

size_t watch_set_memory(const struct watch_set *s)
{
	return s->bytes;
}

void watch_set_clear(struct watch_set *s)
{
	while (s->head)
		watch_free(s->head);
	hmap_free(&s->keys);
}

void watch_set_free(struct watch_set *s)
{
	if (!s)
		return;
	watch_set_clear(s);
	free(s);
}

void watch_initial_event(struct watch_set *s, const char *path, size_t prefix_len,
			 const char *token)
{
	s->deliver(s->owner, path + prefix_len, token);
}

void watch_set_fire_all(struct watch_set *s)
{
	char path[XS_PATH_BUF];
	struct watch *w = s->head;

	/* The list is newest first: from its end, in the order they were registered. */
	while (w && w->set_next)
		w = w->set_next;
	for (; w; w = w->set_prev) {
		size_t plen = (size_t)(w->token - 1 - w->key);

		memcpy(path, w->key, plen);
		path[plen] = '\0';
		s->deliver(s->owner, path + w->prefix_len, w->token);
	}
}

/* The permissions needed to judge delivery, read once per event and only if needed. */
struct event_ctx {
	const char *path;
	const struct xs_perm *perms, *old_perms;
	unsigned nperms, old_nperms;
	bool perms_known;
	bool parent_read;
	struct store_node parent;
	bool parent_exists;
};

/* Scratch for those reads, kept between events; each event rewinds to where it began. */
static struct arena watch_scratch;

static bool may_see(struct event_ctx *e, const struct ident *c)
{
	if (c->priv)
		return true;
	if (!e->perms_known) {
		struct store_node n;

		e->perms_known = true;
		if (store_read(&watch_scratch, e->path, false, &n) == XSE_OK) {
			e->perms = n.perms;
			e->nperms = n.nperms;
		}
	}
	if (e->perms &&
	    (xs_perm_access(e->perms, e->nperms, false, c->domid, c->target) & XS_PERM_READ))
		return true;
	if (e->old_perms && (xs_perm_access(e->old_perms, e->old_nperms, false, c->domid,
					    c->target) & XS_PERM_READ))
		return true;
	if (e->path[0] == '@')
		return false;
	if (!e->parent_read) {
		char parent[XS_PATH_BUF];
		size_t pl = xs_path_parent_len(e->path);

		e->parent_read = true;
		memcpy(parent, e->path, pl);
		parent[pl] = '\0';
		e->parent_exists = store_read(&watch_scratch, parent, false, &e->parent) == XSE_OK;
	}
	return e->parent_exists && (xs_perm_access(e->parent.perms, e->parent.nperms, false,
						   c->domid, c->target) & XS_PERM_READ);
}

/* The watches an event matched, to be served in the C daemon's order. */
struct matches {
	struct watch **w;
	size_t n, cap;
	struct watch *inline_w[16];
};

/*
 * Which watches of a bucket an event reaches: rule 0 is the depth rule of
 * ordinary events (the event lies at most depth levels below the watch);
 * for special events, -1 takes only watches without a depth, 1 only those
 * with a depth of at least 1, and 2 every watch.
 */
static void collect(struct event_ctx *e, struct matches *m, struct watch_bucket *b,
		    unsigned levels_below, int rule)
{
	for (struct watch *w = b->head; w; w = w->path_next) {
		if (rule == 0 && w->depth >= 0 && levels_below > (unsigned)w->depth)
			continue;
		if ((rule < 0 && w->depth >= 0) || (rule == 1 && w->depth < 1))
			continue;
		if (!may_see(e, w->set->who))
			continue;
		if (m->n == m->cap) {
			size_t cap = m->cap * 2;
			struct watch **nw = malloc(cap * sizeof(*nw));

			if (!nw)
				return; /* out of memory: the rest of this event is lost */
			memcpy(nw, m->w, m->n * sizeof(*nw));
			if (m->w != m->inline_w)
				free(m->w);
			m->w = nw;
			m->cap = cap;
		}
		m->w[m->n++] = w;
	}
}

/* Connections in the order they came, each one's watches in the order they were set. */
static int by_conn_then_watch(const void *a, const void *b)
{
	const struct watch *x = *(struct watch *const *)a, *y = *(struct watch *const *)b;

	if (x->set->order != y->set->order)
		return x->set->order < y->set->order ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Serve collected matches in order, then release them. */
static void send_matches(struct matches *m, const char *path)
{
	if (m->n > 1)
		qsort(m->w, m->n, sizeof(*m->w), by_conn_then_watch);
	for (size_t i = 0; i < m->n; i++)
		m->w[i]->set->deliver(m->w[i]->set->owner, path + m->w[i]->prefix_len, m->w[i]->token);
	if (m->w != m->inline_w)
		free(m->w);
}

/*
 * Special events: `rule` as for collect. One delivery pass over both buckets
 * (the exact path's and base's), so every connection gets its matches in
 * registration order.
 */
static void fire_special(const char *event_path, const char *exact_bucket, int exact_rule,
			 const char *base, int base_rule)
{
	struct event_ctx e = {.path = base};
	struct watch_bucket *b;
	struct matches m = {.cap = 16};
	struct arena_mark mark = arena_mark(&watch_scratch);

	m.w = m.inline_w;
	if (exact_bucket && (b = bucket_get(exact_bucket, false)))
		collect(&e, &m, b, 0, exact_rule);
	if ((b = bucket_get(base, false)))
		collect(&e, &m, b, 0, base_rule);
	send_matches(&m, event_path);
	arena_rewind(&watch_scratch, mark);
}

void watch_fire_special_base(const char *base)
{
	if (watch_total)
		fire_special(base, NULL, 0, base, -1);
}

void watch_fire_special_domain(const char *base, unsigned domid)
{
	char path[64];

	if (!watch_total)
		return;
	snprintf(path, sizeof(path), "%s/%u", base, domid);
	/* Every watch on exactly <base>/<domid>; on base, those with a depth of at least 1. */
	fire_special(path, path, 2, base, 1);
}

void watch_fire(const char *path, enum watch_match match, const struct xs_perm *perms,
		unsigned nperms, const struct xs_perm *old_perms, unsigned old_nperms)
{
	if (!watch_total)
		return;

	struct event_ctx e = {.path = path, .perms = perms, .nperms = nperms,
			      .old_perms = old_perms, .old_nperms = old_nperms,
			      .perms_known = perms != NULL};
	struct watch_bucket *b;
	struct matches m;
	struct arena_mark mark = arena_mark(&watch_scratch);

	m.n = 0;
	m.cap = 16;
	m.w = m.inline_w;
	b = bucket_get(path, false);
	if (b)
		collect(&e, &m, b, 0, 0);
	if (match == WATCH_SUBTREE && path[0] == '/' && path[1]) {
		/*
		 * Ancestors up to the root ("/" watches see every normal path), each
		 * the prefix before a '/', hashed on the way: one pass over the path,
		 * and most probes end in the table's filter. The one before the j-th
		 * '/' has j - 1 components, so the event is depth - j + 1 below it.
		 */
		unsigned depth = 0, j = 0;
		uint32_t h = HMAP_HASH_INIT;

		for (const char *p = path; *p; p++)
			depth += *p == '/';
		for (size_t i = 0; path[i]; i++) {
			if (path[i] == '/' && ++j > 1 &&
			    (b = (struct watch_bucket *)hmap_find_n(&watch_buckets, path, i, h)))
				collect(&e, &m, b, depth - j + 1, 0);
			h = hmap_hash_add(h, (unsigned char)path[i]);
			if (i == 0 && (b = (struct watch_bucket *)hmap_find_n(&watch_buckets, path, 1, h)))
				collect(&e, &m, b, depth, 0);
		}
	}
	send_matches(&m, path);
	arena_rewind(&watch_scratch, mark);
}

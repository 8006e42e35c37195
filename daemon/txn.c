/* Transactions: a per-transaction overlay of the store, conflict detection and atomic commit. */
#include "txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../proto/path.h"
#include "clock.h"
#include "config.h"
#include "grow.h"
#include "hmap.h"
#include "log.h"
#include "pack.h"
#include "quota.h"
#include "watch.h"

/*
 * As in the C daemon there is no snapshot at start: a node's first access
 * copies its committed state into the overlay (repeatable read from then on)
 * and remembers its generation, or its absence. Commit fails with EAGAIN if
 * any remembered node changed since. The overlay holds logical state only
 * (value, perms, existence, children added); the store lays out the
 * directories when the changes are applied, so a commit costs what the
 * transaction touched.
 */
struct tx_entry {
	struct hnode h;
	struct tx_entry *order_next; /* first-access order */
	char *path;
	size_t plen; /* strlen(path) */
	bool seen_exists;
	bool seen_in_chunk; /* first read from its parent's chunk, with no record of its own */
	uint64_t seen_gen;
	bool exists;
	bool modified;  /* value or perms changed */
	bool recreated; /* deleted at some point while it existed before */
	bool perms_set; /* perms are no longer those first read */
	uint64_t create_seq;
	uint64_t gen;
	int event; /* 0, or the watch_match to fire at commit */
	struct xs_perm *perms;
	unsigned nperms;
	char *value;
	size_t vlen;
	/* Children created inside the transaction, in creation order. */
	char **added;
	unsigned nadded;
	size_t added_cap;
	/* perms and value point here when small enough (most nodes), else to allocations of their own. */
	struct xs_perm perms_inl[2];
	char value_inl[32];
	char path_buf[]; /* path points here: one allocation per entry */
};

/*
 * A copy of len bytes at src (which may be old itself) to replace old: in
 * the entry's own room inl (cap bytes) when they fit, else in an allocation
 * of their own; old goes unless it is inl. NULL without memory, old kept.
 */
static void *held_copy(void *old, void *inl, size_t cap, const void *src, size_t len)
{
	void *p = len <= cap ? inl : malloc(len);

	if (!p)
		return NULL;
	if (len)
		memmove(p, src, len);
	if (old && old != inl && old != p)
		free(old);
	return p;
}

/* What a held copy of len bytes costs beyond the entry: nothing when it is in the entry's room of cap. */
static size_t held_bytes(size_t len, size_t cap)
{
	return len <= cap ? 0 : len;
}

/* The entry's permissions become a copy of perms (which may be its own). false: no memory, nothing changed. */
static bool put_perms(struct tx_entry *e, const struct xs_perm *perms, unsigned n)
{
	struct xs_perm *p = held_copy(e->perms, e->perms_inl, sizeof(e->perms_inl), perms, sizeof(*perms) * n);

	if (!p)
		return false;
	e->perms = p;
	e->nperms = n;
	return true;
}

/* As put_perms, for the value. */
static bool put_value(struct tx_entry *e, const char *value, size_t vlen)
{
	char *v = held_copy(e->value, e->value_inl, sizeof(e->value_inl), value, vlen);

	if (!v)
		return false;
	e->value = v;
	e->vlen = vlen;
	return true;
}

/*
 * Entries whose path fits ENTRY_POOL_PATH bytes are of one size, and those
 * freed are kept (at most ENTRY_POOL_MAX) for the next: a transaction makes
 * and frees one per node it touches, more than the heap's per-size cache
 * keeps, so the rest would take its slow path both ways.
 */
#define ENTRY_POOL_PATH 96u
#define ENTRY_POOL_MAX 64u
static struct tx_entry *entry_pool;
static unsigned entry_pool_n;

/* The bytes an entry for a path of pathlen takes. */
static size_t entry_size(size_t pathlen)
{
	return sizeof(struct tx_entry) + (pathlen < ENTRY_POOL_PATH ? ENTRY_POOL_PATH : pathlen + 1);
}

/* An entry for path (len bytes), zeroed but for its path (entry_free frees it); NULL without memory. */
static struct tx_entry *entry_new(const char *path, size_t len)
{
	struct tx_entry *e;

	if (len < ENTRY_POOL_PATH && entry_pool) {
		e = entry_pool;
		entry_pool = e->order_next;
		entry_pool_n--;
	} else if (!(e = malloc(entry_size(len)))) {
		return NULL;
	}
	/* A memset of the fixed part only: calloc would clear the path too, and skips malloc's cache. */
	memset(e, 0, sizeof(*e));
	memcpy(e->path_buf, path, len + 1);
	e->path = e->path_buf;
	e->plen = len;
	return e;
}

struct txn_set {
	const struct ident *who;
	struct txn *head;
	unsigned n;
	uint32_t next_id;
	unsigned conflicts; /* commits that failed with EAGAIN in a row */
};

static unsigned txn_total;
/* Scratch for store reads, kept between calls; users take a mark and rewind to it. */
static struct arena txn_scratch;

struct txn {
	struct txn *next;
	struct txn_set *set;
	/* Protected (see txn_write_waits): in the list of protected ones until this instant. */
	bool protected;
	uint64_t protect_until;
	struct txn *prot_next, *prot_prev;
	uint32_t id;
	bool failed;
	enum xs_err err; /* why the last overlay access failed */
	unsigned nentries;
	size_t charged; /* bytes of overlay charged to the domain's memory quota */
	struct hmap entries;
	struct tx_entry *first, *last;
	struct tx_entry *recent; /* the entry entry_get gave last (entries go only with the transaction) */
	uint64_t create_seq;
	struct quota_pending pending; /* the nodes it created and removed, per owner */
	uint64_t version; /* counts creations and removals: when a view (below) must be made again */
	struct hidden_view *view;
	/*
	 * store_changes() when it began, if this daemon began it: while the
	 * store has not changed since, every node is as the transaction first
	 * read it, and the commit's check needs no reads.
	 */
	bool changes_known;
	uint64_t changes_at_start;
};

/*
 * The committed children of one directory this transaction hides (it
 * removed them, or saw them absent and someone created them since), by
 * the chunks that hold them: what turns an offset of the transaction's
 * child list into one of the committed list (txn_chunk_at), and which
 * chunks need filtering at all. Made for one directory at a time, again
 * when the transaction or the directory as committed changed.
 */
struct hidden_chunk {
	size_t start;  /* the chunk's offset in the committed list */
	uint32_t id;
	size_t bytes;  /* of hidden names in it */
	size_t before; /* of hidden names in the chunks before it */
};

struct hidden_view {
	char *parent;
	uint64_t version, committed_gen;
	size_t committed_bytes, hidden_bytes;
	struct hidden_chunk *chunks; /* by start */
	size_t n, cap;
	uint32_t *ids; /* the chunks' ids, sorted */
};

/*
 * XSA-206: unprivileged writers rewriting what a privileged client's
 * transactions read could make them fail with EAGAIN for ever. After
 * txn-protect-after conflicts in a row, that client's next transaction is
 * protected: for at most txn-protect-ms, an unprivileged write to a node it
 * has touched or below one (a creation changes its parent), or a removal
 * above one, waits (the request is parked by its session, the writer's other
 * requests after it). A protected attempt can then only fail through
 * privileged writers, so a dom0 transaction commits within
 * txn-protect-after + 1 attempts while guests hammer what it reads. Writers
 * that touch nothing it read never wait, unlike a rate limit on all writes.
 */
static struct txn *protected_head;

static void protect(struct txn *t)
{
	t->protected = true;
	t->protect_until = clock_ms() + cfg.txn_protect_ms;
	t->prot_next = protected_head;
	if (protected_head)
		protected_head->prot_prev = t;
	protected_head = t;
}

static void unprotect(struct txn *t)
{
	if (!t->protected)
		return;
	if (t->prot_prev)
		t->prot_prev->prot_next = t->prot_next;
	else
		protected_head = t->prot_next;
	if (t->prot_next)
		t->prot_next->prot_prev = t->prot_prev;
	t->protected = false;
}

static void entry_free(struct tx_entry *e)
{
	for (unsigned i = 0; i < e->nadded; i++)
		free(e->added[i]);
	free(e->added);
	if (e->perms != e->perms_inl)
		free(e->perms);
	if (e->value != e->value_inl)
		free(e->value);
	if (e->plen < ENTRY_POOL_PATH && entry_pool_n < ENTRY_POOL_MAX) {
		e->order_next = entry_pool;
		entry_pool = e;
		entry_pool_n++;
		return;
	}
	free(e);
}

static void view_free(struct hidden_view *v)
{
	if (!v)
		return;
	free(v->parent);
	free(v->chunks);
	free(v->ids);
	free(v);
}

/*
 * Transactions ended, kept (at most TXN_POOL_MAX) with their overlay's
 * table for the next to start: a client making one after another would
 * otherwise cost the heap the transaction and its table each time. Only a
 * small table is kept (TXN_POOL_BUCKETS).
 */
#define TXN_POOL_MAX 4u
#define TXN_POOL_BUCKETS 16u
static struct txn *txn_pool;
static unsigned txn_pool_n;

static void txn_free(struct txn *t)
{
	struct tx_entry *e = t->first;

	while (e) {
		struct tx_entry *next = e->order_next;

		entry_free(e);
		e = next;
	}
	quota_pending_free(&t->pending);
	view_free(t->view);
	if (t->charged)
		quota_release(t->set->who, QUOTA_MEMORY, (unsigned)t->charged);
	if (txn_pool_n < TXN_POOL_MAX && t->entries.nbuckets <= TXN_POOL_BUCKETS) {
		hmap_clear(&t->entries);
		t->next = txn_pool;
		txn_pool = t;
		txn_pool_n++;
		return;
	}
	hmap_free(&t->entries);
	free(t);
}

/* A transaction zeroed but for its empty table (from the pool, or fresh); NULL without memory. */
static struct txn *txn_alloc(void)
{
	struct txn *t = txn_pool;
	struct hmap kept = {0};

	if (t) {
		txn_pool = t->next;
		txn_pool_n--;
		kept = t->entries;
	} else if (!(t = malloc(sizeof(*t)))) {
		return NULL;
	}
	/* malloc and memset: calloc takes the heap's slow path. */
	memset(t, 0, sizeof(*t));
	t->entries = kept;
	return t;
}

struct txn_set *txn_set_new(const struct ident *who)
{
	struct txn_set *s = calloc(1, sizeof(*s));

	if (s) {
		s->who = who;
		s->next_id = 1;
	}
	return s;
}

void txn_set_next_id(struct txn_set *s, uint32_t id)
{
	s->next_id = id;
}

unsigned txn_set_count(const struct txn_set *s)
{
	return s->n;
}

size_t txn_set_memory(const struct txn_set *s)
{
	size_t n = 0;

	for (const struct txn *t = s->head; t; t = t->next)
		n += t->charged;
	return n;
}

unsigned txn_open_count(void)
{
	return txn_total;
}

enum xs_err txn_start(struct txn_set *s, struct txn **out)
{
	struct txn *t;

	/* The last one ended, if its reply did not take it (an error): its entries go back to the pool first. */
	txn_reap();
	if (quota_charge(s->who, QUOTA_TRANSACTIONS, 1) != XSE_OK)
		return XSE_ENOSPC;
	t = txn_alloc();
	if (!t) {
		quota_release(s->who, QUOTA_TRANSACTIONS, 1);
		return XSE_ENOMEM;
	}
	t->err = XSE_OK;
	t->changes_known = true;
	t->changes_at_start = store_changes();
	/* Ids are per client, never 0, never one still in use; they wrap. */
	do {
		t->id = s->next_id++;
	} while (t->id == 0 || txn_find(s, t->id));
	t->set = s;
	t->next = s->head;
	s->head = t;
	s->n++;
	txn_total++;
	if (s->who->priv && cfg.txn_protect_after && s->conflicts >= cfg.txn_protect_after)
		protect(t);
	*out = t;
	return XSE_OK;
}

uint32_t txn_id(const struct txn *t)
{
	return t->id;
}

struct txn *txn_find(struct txn_set *s, uint32_t id)
{
	for (struct txn *t = s->head; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/*
 * Why the last failed access through the transaction failed: what it
 * recorded (its node quota, memory, a store error), else XSE_EIO. What
 * entry_get records stays until the next failure records another: a store
 * failure met later (listing children) is said as that.
 */
static enum xs_err txn_error(const struct txn *t)
{
	return t->err != XSE_OK ? t->err : XSE_EIO;
}

static void txn_unlink(struct txn *t)
{
	struct txn_set *s = t->set;
	struct txn **pp = &s->head;

	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	s->n--;
	txn_total--;
	quota_release(s->who, QUOTA_TRANSACTIONS, 1);
	unprotect(t);
}

void txn_set_clear(struct txn_set *s)
{
	while (s->head) {
		struct txn *t = s->head;

		txn_unlink(t);
		txn_free(t);
	}
}

void txn_set_free(struct txn_set *s)
{
	if (!s)
		return;
	txn_set_clear(s);
	free(s);
}

/*
 * What an entry costs its domain: the entry (what it holds inline included),
 * its path, perms and value held apart. The path as it is, not the room a
 * pooled entry has for it (at most ENTRY_POOL_PATH bytes more, as the heap
 * rounds up too): a client's figures do not depend on the pool.
 */
static size_t entry_bytes(const struct tx_entry *e, size_t pathlen, unsigned nperms, size_t vlen)
{
	return sizeof(*e) + pathlen + 1 + held_bytes(sizeof(struct xs_perm) * nperms, sizeof(e->perms_inl)) +
	       held_bytes(vlen, sizeof(e->value_inl));
}

/*
 * Set an entry's content (NULL perms or value: unchanged), charging the
 * domain's memory quota for what it grows by (released when the transaction
 * goes). false: no memory, or the quota refused (t->err says which).
 */
static bool set_content(struct txn *t, struct tx_entry *e, bool fresh, const struct xs_perm *perms,
			unsigned nperms, const char *value, size_t vlen)
{
	size_t pl = e->plen;
	size_t before = fresh ? 0 : entry_bytes(e, pl, e->nperms, e->vlen);
	size_t after = entry_bytes(e, pl, perms ? nperms : e->nperms, value ? vlen : e->vlen);

	if (after > before) {
		enum xs_err err = quota_charge(t->set->who, QUOTA_MEMORY, (unsigned)(after - before));

		if (err) {
			t->err = err;
			return false;
		}
		t->charged += after - before;
	}
	if (perms) {
		if (!put_perms(e, perms, nperms))
			return false;
		e->perms_set = !fresh;
	}
	return !value || put_value(e, value, vlen);
}

/*
 * The overlay's hash of a path (its map passes it to every look-up and
 * insertion): the store's, which an entry then passes on (store_read_node,
 * store_commit) for the store's cache.
 */
static uint32_t entry_hash(const char *path, size_t len)
{
	return store_path_hash(path, len);
}

/* The entry for path, if the transaction has one. */
static struct tx_entry *entry_find(const struct txn *t, const char *path)
{
	size_t len = strlen(path);

	return (struct tx_entry *)hmap_find_n(&t->entries, path, len, entry_hash(path, len));
}

/* Into the overlay (h: entry_hash of its path), last in first-access order; false (e freed) without memory. */
static bool entry_link(struct txn *t, struct tx_entry *e, uint32_t h)
{
	e->h.key = e->path;
	if (!hmap_insert_h(&t->entries, &e->h, h)) {
		entry_free(e);
		return false;
	}
	if (t->last)
		t->last->order_next = e;
	else
		t->first = e;
	t->last = e;
	t->nentries++;
	return true;
}

/* The overlay entry for a path, made from the committed state on first access. */
static struct tx_entry *entry_get(struct txn *t, const char *path)
{
	struct hnode *h;
	struct tx_entry *e;
	struct store_node n = {0};
	struct arena_mark mark;
	enum xs_err rerr;
	uint32_t hash;
	size_t len;
	bool found;

	/* A request reads, changes, then notes the same node: the last one given is asked first. */
	if (t->recent && strcmp(t->recent->path, path) == 0)
		return t->recent;
	len = strlen(path);
	hash = entry_hash(path, len);
	if ((h = hmap_find_n(&t->entries, path, len, hash)) != NULL)
		return t->recent = (struct tx_entry *)h;
	/* Refused when one more node would reach the quota; the transaction is then doomed. */
	if (!quota_allows(t->set->who, QUOTA_TRANSACTION_NODES, t->nentries + 1)) {
		t->failed = true;
		t->err = XSE_ENOSPC;
		return NULL;
	}
	t->err = XSE_ENOMEM;
	mark = arena_mark(&txn_scratch);
	rerr = store_read_node(&txn_scratch, path, len, hash, true, &n);
	found = rerr == XSE_OK;
	if (rerr == XSE_ENOENT)
		rerr = XSE_OK;
	e = rerr == XSE_OK ? entry_new(path, len) : NULL;
	if (!e) {
		if (rerr != XSE_OK)
			t->err = rerr;
		arena_rewind(&txn_scratch, mark);
		return NULL;
	}
	e->seen_exists = e->exists = found;
	e->seen_in_chunk = found && n.in_chunk;
	if (found)
		e->seen_gen = e->gen = n.gen;
	/* An absent node's entry is charged too: what it costs is its path. */
	if (!set_content(t, e, true, found ? n.perms : NULL, n.nperms, found ? n.value : NULL,
			 n.vlen)) {
		entry_free(e);
		arena_rewind(&txn_scratch, mark);
		return NULL;
	}
	arena_rewind(&txn_scratch, mark);
	return entry_link(t, e, hash) ? (t->recent = e) : NULL;
}

enum xs_err txn_read(struct txn *t, struct arena *a, const char *path, bool with_value,
		     struct store_node *out)
{
	struct tx_entry *e = entry_get(t, path);

	if (!e)
		return txn_error(t);
	if (!e->exists)
		return XSE_ENOENT;
	memset(out, 0, sizeof(*out));
	out->gen = e->gen;
	out->nperms = e->nperms;
	out->perms = arena_memdup(a, e->perms, sizeof(*e->perms) * e->nperms);
	out->vlen = e->vlen;
	if (with_value)
		out->value = arena_memdup(a, e->value, e->vlen);
	if (!out->perms || (with_value && !out->value))
		return txn_error(t);
	return XSE_OK;
}

static bool added_remove(struct tx_entry *parent, const char *name)
{
	for (unsigned i = 0; i < parent->nadded; i++) {
		if (strcmp(parent->added[i], name) == 0) {
			free(parent->added[i]);
			memmove(&parent->added[i], &parent->added[i + 1],
				(parent->nadded - i - 1) * sizeof(char *));
			parent->nadded--;
			return true;
		}
	}
	return false;
}

static bool added_append(struct tx_entry *parent, const char *name)
{
	char *copy;

	if (!GROW(parent->added, parent->added_cap, (size_t)parent->nadded + 1, 4))
		return false;
	copy = strdup(name);
	if (!copy)
		return false;
	parent->added[parent->nadded++] = copy;
	return true;
}

/*
 * A live update: the client's transactions as they stand, for the next
 * daemon (txn_set_unpack). Generations are the store's, which outlives
 * both daemons, so a conflict is found at commit there as here.
 */
#define ENTRY_SEEN 1u
#define ENTRY_EXISTS 2u
#define ENTRY_MODIFIED 4u
#define ENTRY_RECREATED 8u

void txn_set_pack(const struct txn_set *s, struct pack *b)
{
	pack_u32(b, s->next_id);
	pack_u32(b, s->conflicts);
	pack_u32(b, s->n);
	for (const struct txn *t = s->head; t; t = t->next) {
		pack_u32(b, t->id);
		pack_u32(b, t->failed);
		pack_u32(b, (uint32_t)t->err);
		pack_u64(b, t->create_seq);
		pack_u64(b, t->version);
		quota_pending_pack(&t->pending, b);
		pack_u32(b, t->nentries);
		for (const struct tx_entry *e = t->first; e; e = e->order_next) {
			pack_str(b, e->path);
			pack_u32(b, (e->seen_exists ? ENTRY_SEEN : 0) | (e->exists ? ENTRY_EXISTS : 0) |
					    (e->modified ? ENTRY_MODIFIED : 0) | (e->recreated ? ENTRY_RECREATED : 0));
			pack_u64(b, e->seen_gen);
			pack_u64(b, e->create_seq);
			pack_u64(b, e->gen);
			pack_u32(b, (uint32_t)e->event);
			pack_blob(b, e->perms, sizeof(*e->perms) * e->nperms);
			pack_blob(b, e->value, e->vlen);
			pack_u32(b, e->nadded);
			for (unsigned i = 0; i < e->nadded; i++)
				pack_str(b, e->added[i]);
		}
	}
}

/* One entry as packed, into t (charged as when it was made); false if the bytes are not one. */
static bool entry_unpack(struct txn *t, struct unpack *r)
{
	const char *path = unpack_str(r);
	uint32_t flags = unpack_u32(r);
	uint64_t seen_gen = unpack_u64(r), create_seq = unpack_u64(r), gen = unpack_u64(r);
	int event = (int)unpack_u32(r);
	size_t plen, vlen;
	const void *perms = unpack_blob(r, &plen);
	const char *value = unpack_blob(r, &vlen);
	uint32_t nadded = unpack_u32(r);
	struct tx_entry *e;
	size_t bytes;

	if (r->bad || path[0] != '/' || strlen(path) >= XS_PATH_BUF || plen % sizeof(struct xs_perm) || plen / sizeof(struct xs_perm) > 0xffff ||
	    entry_find(t, path) || !(e = entry_new(path, strlen(path))))
		return false;
	e->seen_exists = flags & ENTRY_SEEN;
	e->exists = flags & ENTRY_EXISTS;
	e->modified = flags & ENTRY_MODIFIED;
	e->recreated = flags & ENTRY_RECREATED;
	/* Not handed over: taken as set, so that a commit writes them as the last daemon would have. */
	e->perms_set = true;
	e->seen_gen = seen_gen;
	e->create_seq = create_seq;
	e->gen = gen;
	e->event = event;
	if (!entry_link(t, e, entry_hash(e->path, e->plen)))
		return false;
	/* Charged as made: what the last daemon let it hold, this one lets it keep (never refused). */
	if (!put_perms(e, perms, (unsigned)(plen / sizeof(struct xs_perm))) || !put_value(e, value, vlen))
		return false;
	bytes = entry_bytes(e, e->plen, e->nperms, e->vlen);
	if (!quota_hold(t->set->who, QUOTA_MEMORY, (unsigned)bytes))
		return false;
	t->charged += bytes;
	for (uint32_t i = 0; i < nadded; i++) {
		const char *name = unpack_str(r);

		if (!name || !added_append(e, name))
			return false;
	}
	return true;
}

bool txn_set_unpack(struct txn_set *s, struct unpack *r)
{
	uint32_t next_id = unpack_u32(r), conflicts = unpack_u32(r), n = unpack_u32(r);

	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct txn *t = calloc(1, sizeof(*t));
		uint32_t nentries;

		if (!t)
			return false;
		t->id = unpack_u32(r);
		t->failed = unpack_u32(r) != 0;
		t->err = (enum xs_err)unpack_u32(r);
		t->create_seq = unpack_u64(r);
		t->version = unpack_u64(r);
		t->set = s;
		if (!quota_hold(s->who, QUOTA_TRANSACTIONS, 1)) {
			free(t);
			return false;
		}
		/* Linked at once: whatever fails below, txn_set_clear takes it back. */
		t->next = s->head;
		s->head = t;
		s->n++;
		txn_total++;
		if (!t->id || !quota_pending_unpack(&t->pending, r))
			return false;
		nentries = unpack_u32(r);
		for (uint32_t k = 0; k < nentries; k++)
			if (!entry_unpack(t, r))
				return false;
		for (struct txn *o = t->next; o; o = o->next)
			if (o->id == t->id)
				return false;
	}
	s->next_id = next_id;
	s->conflicts = conflicts;
	return !r->bad;
}

static struct tx_entry *parent_entry(struct txn *t, const char *path)
{
	char ppath[XS_PATH_BUF];
	size_t pl = xs_path_parent_len(path);

	memcpy(ppath, path, pl);
	ppath[pl] = '\0';
	return entry_get(t, ppath);
}

enum xs_err txn_create(struct txn *t, const char *path, const struct xs_perm *perms,
		       unsigned nperms, const char *value, size_t vlen)
{
	struct tx_entry *e = entry_get(t, path), *p = e ? parent_entry(t, path) : NULL;

	if (!e || !p)
		return txn_error(t);
	if (!p->exists || e->exists)
		return XSE_EIO;
	if (!set_content(t, e, false, perms, nperms, value, vlen) ||
	    !added_append(p, xs_path_basename(path)) ||
	    !quota_pending_create(&t->pending, path, e->perms, e->nperms)) {
		t->failed = true;
		return XSE_ENOMEM;
	}
	e->exists = e->modified = true;
	e->create_seq = ++t->create_seq;
	t->version++;
	e->gen = ++p->gen;
	p->gen++;
	return XSE_OK;
}

/* An existing entry's new content (NULL perms or value: unchanged); a failure dooms the transaction. */
static enum xs_err entry_change(struct txn *t, struct tx_entry *e, const struct xs_perm *perms, unsigned nperms,
				const char *value, size_t vlen)
{
	/*
	 * The commonest change, a small value over a small value: nothing to
	 * allocate, nothing to charge (entry_bytes counts neither). Otherwise the
	 * pending quota sees the old permissions before set_content replaces them.
	 */
	if (!perms && value && e->value == e->value_inl && vlen <= sizeof(e->value_inl)) {
		memmove(e->value_inl, value, vlen);
		e->vlen = vlen;
	} else if ((perms && !quota_pending_perms(&t->pending, e->path, e->perms, e->nperms, perms, nperms)) ||
		   !set_content(t, e, false, perms, nperms, value, vlen)) {
		t->failed = true;
		return XSE_ENOMEM;
	}
	e->modified = true;
	e->gen++;
	return XSE_OK;
}

enum xs_err txn_update(struct txn *t, const char *path, const struct xs_perm *perms,
		       unsigned nperms, const char *value, size_t vlen)
{
	struct tx_entry *e = entry_get(t, path);

	if (!e)
		return txn_error(t);
	if (!e->exists)
		return XSE_EIO;
	return entry_change(t, e, perms, nperms, value, vlen);
}

struct child_walk {
	struct txn *t;
	const char *parent;
	store_child_fn cb;
	void *ctx;
	bool stopped;
	bool failed;
};

/* A committed child is visible unless the transaction deleted (or re-created) it. */
static bool committed_visible(struct txn *t, const char *parent, const char *name)
{
	char cpath[XS_PATH_BUF];
	const struct tx_entry *e;

	snprintf(cpath, sizeof(cpath), "%s/%s", strcmp(parent, "/") ? parent : "", name);
	e = entry_find(t, cpath);
	return !e || (e->exists && !e->recreated);
}

static bool visit_committed(void *ctx, const char *name)
{
	struct child_walk *w = ctx;

	if (!committed_visible(w->t, w->parent, name))
		return true;
	if (!w->cb(w->ctx, name)) {
		w->stopped = true;
		return false;
	}
	return true;
}

enum xs_err txn_children(struct txn *t, const char *parent, store_child_fn cb, void *ctx)
{
	struct tx_entry *p = entry_get(t, parent);
	struct child_walk w = {t, parent, cb, ctx, false, false};

	if (!p)
		return txn_error(t);
	if (!p->exists)
		return XSE_OK;
	/* Children the transaction saw committed, unless it created the parent itself. */
	if (p->seen_exists && !p->recreated && store_children(parent, visit_committed, &w) != XSE_OK)
		return txn_error(t);
	for (unsigned i = 0; i < p->nadded && !w.stopped; i++)
		if (!cb(ctx, p->added[i]))
			break;
	return XSE_OK;
}

/* Whether path names a child of parent. */
static bool is_child(const char *parent, const char *path)
{
	size_t pl = strcmp(parent, "/") ? strlen(parent) : 0;

	return strncmp(path, parent, pl) == 0 && path[pl] == '/' && path[pl + 1] &&
	       !strchr(path + pl + 1, '/');
}

static int by_start(const void *a, const void *b)
{
	const struct hidden_chunk *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Which committed children of parent the transaction hides, and where:
 * every entry of a child it removed or saw absent, looked for in the
 * directory's chunks (its index). Costs the transaction's size, once per
 * change of it or of the directory. false if it could not be made.
 */
static bool view_make(struct txn *t, struct hidden_view *v, const char *parent)
{
	size_t m = 0, before = 0;

	for (const struct tx_entry *e = t->first; e; e = e->order_next) {
		const char *name = xs_path_basename(e->path);
		uint32_t id;
		size_t start;
		enum xs_err err;

		if ((e->exists && !e->recreated) || !is_child(parent, e->path))
			continue;
		if ((err = store_child_chunk(parent, name, &id, &start)) == XSE_ENOENT)
			continue;
		if (err != XSE_OK || !GROW(v->chunks, v->cap, v->n + 1, 8))
			return false;
		v->chunks[v->n++] = (struct hidden_chunk){start, id, strlen(name) + 1, 0};
	}
	/* One per chunk, by offset, each knowing what the chunks before it hide. */
	if (v->n)
		qsort(v->chunks, v->n, sizeof(*v->chunks), by_start);
	for (size_t i = 0; i < v->n; i++) {
		if (m && v->chunks[m - 1].start == v->chunks[i].start)
			v->chunks[m - 1].bytes += v->chunks[i].bytes;
		else
			v->chunks[m++] = v->chunks[i];
	}
	v->n = m;
	if (!(v->ids = malloc((m ? m : 1) * sizeof(*v->ids))))
		return false;
	for (size_t i = 0; i < m; i++) {
		v->chunks[i].before = before;
		before += v->chunks[i].bytes;
		v->ids[i] = v->chunks[i].id;
	}
	qsort(v->ids, m, sizeof(*v->ids), by_u32);
	v->hidden_bytes = before;
	return true;
}

/*
 * The transaction's view of parent's committed children, whose record
 * (as committed) is n: kept while neither changes, else made again. NULL
 * if it cannot be: callers then read from the first chunk and filter
 * every name.
 */
static struct hidden_view *view_of(struct txn *t, const char *parent, const struct store_node *n)
{
	struct hidden_view *v = t->view;

	if (v && v->version == t->version && v->committed_gen == n->gen &&
	    v->committed_bytes == n->children_bytes && strcmp(v->parent, parent) == 0)
		return v;
	view_free(v);
	t->view = NULL;
	if (!(v = calloc(1, sizeof(*v))) || !(v->parent = strdup(parent)) || !view_make(t, v, parent)) {
		view_free(v);
		return NULL;
	}
	v->version = t->version;
	v->committed_gen = n->gen;
	v->committed_bytes = n->children_bytes;
	t->view = v;
	return v;
}

/* The view of parent as it is committed now; NULL as view_of, or if parent is not committed. */
static struct hidden_view *current_view(struct txn *t, const char *parent, struct store_node *n)
{
	struct arena_mark mark = arena_mark(&txn_scratch);
	enum xs_err err = store_read(&txn_scratch, parent, false, n);

	arena_rewind(&txn_scratch, mark);
	return err == XSE_OK ? view_of(t, parent, n) : NULL;
}

/* Hidden bytes in the chunks of v that start before the committed offset start. */
static size_t hidden_before(const struct hidden_view *v, size_t start)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->chunks[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? v->chunks[lo - 1].before + v->chunks[lo - 1].bytes : 0;
}

enum xs_err txn_chunk_at(struct txn *t, const char *parent, size_t off, uint32_t *chunk, size_t *chunk_off)
{
	struct tx_entry *p = entry_get(t, parent);
	struct hidden_view *v;
	struct store_node n;
	size_t lo = 0, hi, x, start;

	*chunk = 0; /* from the first: never wrong, only slow */
	*chunk_off = 0;
	if (!p)
		return txn_error(t);
	if (!p->exists)
		return XSE_OK;
	/* Made (again) by the transaction: only the names it created. */
	if (!p->seen_exists || p->recreated) {
		*chunk = TXN_CHUNK_ADDED;
		return XSE_OK;
	}
	if (!(v = current_view(t, parent, &n)))
		return XSE_OK;
	/*
	 * The hidden chunks starting at or before off in the transaction's
	 * list: the names they hide come before off, and no later ones do
	 * until the next hidden chunk, so off is at off + that in the
	 * committed list.
	 */
	for (hi = v->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->chunks[mid].start - v->chunks[mid].before <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	x = off + (lo ? v->chunks[lo - 1].before + v->chunks[lo - 1].bytes : 0);
	if (x >= n.children_bytes) {
		/* Past the committed names: among those the transaction created. */
		*chunk = TXN_CHUNK_ADDED;
		*chunk_off = n.children_bytes - v->hidden_bytes;
		return XSE_OK;
	}
	if (store_chunk_at(parent, x, chunk, &start) != XSE_OK || !*chunk) {
		*chunk = 0;
		return XSE_OK;
	}
	*chunk_off = start - hidden_before(v, start);
	return XSE_OK;
}

struct chunk_walk {
	struct txn *t;
	const char *parent;
	const struct hidden_view *view; /* when known: chunks not in it hide nothing */
	store_chunk_fn cb;
	void *ctx;
	bool stopped;
	bool failed;
};

/* A committed chunk's names as the transaction sees them. */
static bool filter_chunk(void *ctx, uint32_t id, const char *names, size_t len)
{
	struct chunk_walk *w = ctx;
	struct arena_mark mark;
	char *kept;
	size_t klen = 0;

	if (w->view && !bsearch(&id, w->view->ids, w->view->n, sizeof(id), by_u32)) {
		w->stopped = !w->cb(w->ctx, id, names, len);
		return !w->stopped;
	}
	mark = arena_mark(&txn_scratch);
	kept = arena_alloc(&txn_scratch, len ? len : 1);
	if (!kept) {
		w->failed = true;
		return false;
	}
	for (size_t o = 0; o < len; o += strlen(names + o) + 1) {
		size_t nl = strlen(names + o) + 1;

		if (committed_visible(w->t, w->parent, names + o)) {
			memcpy(kept + klen, names + o, nl);
			klen += nl;
		}
	}
	w->stopped = !w->cb(w->ctx, id, kept, klen);
	arena_rewind(&txn_scratch, mark);
	return !w->stopped;
}

enum xs_err txn_chunks(struct txn *t, const char *parent, uint32_t from, store_chunk_fn cb, void *ctx)
{
	struct tx_entry *p = entry_get(t, parent);
	struct chunk_walk w = {t, parent, NULL, cb, ctx, false, false};
	struct store_node n;
	struct arena_mark mark;
	char *added;
	size_t len = 0;

	if (!p)
		return txn_error(t);
	if (!p->exists)
		return XSE_OK;
	if (from != TXN_CHUNK_ADDED && p->seen_exists && !p->recreated) {
		w.view = current_view(t, parent, &n);
		if (store_chunks(parent, from, filter_chunk, &w) != XSE_OK || w.failed)
			return txn_error(t);
	}
	if (w.stopped || !p->nadded)
		return XSE_OK;
	/* The children the transaction created, after the committed ones, as one more chunk. */
	mark = arena_mark(&txn_scratch);
	for (unsigned i = 0; i < p->nadded; i++)
		len += strlen(p->added[i]) + 1;
	added = arena_alloc(&txn_scratch, len);
	if (!added)
		return txn_error(t);
	len = 0;
	for (unsigned i = 0; i < p->nadded; i++) {
		size_t nl = strlen(p->added[i]) + 1;

		memcpy(added + len, p->added[i], nl);
		len += nl;
	}
	cb(ctx, TXN_CHUNK_ADDED, added, len);
	arena_rewind(&txn_scratch, mark);
	return XSE_OK;
}

struct subtree_walk {
	struct txn *t;
	char **paths;
	size_t n, cap;
	size_t cursor; /* breadth-first: index of the node whose children are listed */
	bool oom;
};

static bool collect_child(void *ctx, const char *name)
{
	struct subtree_walk *w = ctx;
	const char *parent = w->paths[w->cursor];
	char cpath[XS_PATH_BUF];

	/* Stop listing once the subtree could not fit the transaction anyway. */
	if (!quota_allows(w->t->set->who, QUOTA_TRANSACTION_NODES, w->t->nentries + w->n)) {
		w->t->err = XSE_ENOSPC;
		w->oom = true;
		return false;
	}
	if (!GROW(w->paths, w->cap, w->n + 1, 16)) {
		w->oom = true;
		return false;
	}
	snprintf(cpath, sizeof(cpath), "%s/%s", strcmp(parent, "/") ? parent : "", name);
	if (!(w->paths[w->n] = strdup(cpath))) {
		w->oom = true;
		return false;
	}
	w->n++;
	return true;
}

void txn_note_event(struct txn *t, const char *path, int match)
{
	struct tx_entry *e = entry_get(t, path);

	if (!e) {
		t->failed = true;
		return;
	}
	/* A subtree event covers an exact one. */
	if (!e->event || match == WATCH_SUBTREE)
		e->event = match;
}

enum xs_err txn_write(struct txn *t, const char *path, const char *value, size_t vlen,
		      enum xs_err (*allowed)(void *ctx, const struct xs_perm *perms, unsigned nperms), void *ctx)
{
	struct tx_entry *e = entry_get(t, path);
	enum xs_err err;

	if (!e)
		return txn_error(t);
	if (!e->exists)
		return XSE_ENOENT;
	if ((err = allowed(ctx, e->perms, e->nperms)) != XSE_OK ||
	    (err = entry_change(t, e, NULL, 0, value, vlen)) != XSE_OK)
		return err;
	e->event = WATCH_SUBTREE; /* covers an exact one */
	return XSE_OK;
}

enum xs_err txn_remove(struct txn *t, const char *path)
{
	struct subtree_walk w = {t, malloc(16 * sizeof(char *)), 1, 16, 0, false};
	struct tx_entry *p = parent_entry(t, path);
	enum xs_err err = XSE_OK;

	if (!p) {
		free(w.paths);
		return txn_error(t);
	}
	/*
	 * The node was seen but its parent is gone from this transaction's view:
	 * the view is no longer consistent (the commit will fail with EAGAIN).
	 * As the C daemon, refuse the removal itself with EINVAL.
	 */
	if (!p->exists) {
		free(w.paths);
		return XSE_EINVAL;
	}
	if (!w.paths || !(w.paths[0] = strdup(path))) {
		free(w.paths);
		t->failed = true;
		return XSE_ENOMEM;
	}
	/* List the subtree breadth-first, then delete it children first. */
	for (w.cursor = 0; w.cursor < w.n && !w.oom; w.cursor++)
		if (txn_children(t, w.paths[w.cursor], collect_child, &w) != XSE_OK)
			w.oom = true;
	if (w.oom)
		err = t->err == XSE_ENOSPC ? XSE_ENOSPC : XSE_ENOMEM;
	/* Even a removal that fails part way may have hidden some nodes. */
	t->version++;
	for (size_t i = w.n; i-- > 0;) {
		struct tx_entry *e = err == XSE_OK ? entry_get(t, w.paths[i]) : NULL;

		if (err == XSE_OK && !e)
			err = txn_error(t);
		if (e && e->exists) {
			if (!quota_pending_remove(&t->pending, e->path, e->perms, e->nperms))
				err = XSE_ENOMEM;
			if (i == 0 || !e->event)
				e->event = i == 0 ? WATCH_SUBTREE : WATCH_EXACT;
			e->exists = false;
			e->modified = false;
			if (e->seen_exists)
				e->recreated = true;
			for (unsigned k = 0; k < e->nadded; k++)
				free(e->added[k]);
			e->nadded = 0;
		}
		free(w.paths[i]);
	}
	free(w.paths);
	if (err != XSE_OK) {
		t->failed = true;
		return err;
	}
	added_remove(p, xs_path_basename(path));
	p->gen++;
	return XSE_OK;
}

static int by_create_seq(const void *a, const void *b)
{
	const struct tx_entry *x = *(struct tx_entry *const *)a, *y = *(struct tx_entry *const *)b;

	return x->create_seq < y->create_seq ? -1 : x->create_seq > y->create_seq;
}

static bool change_add(struct store_change **c, size_t *n, size_t *cap, const struct tx_entry *e,
		       enum store_change_kind kind, bool unchanged)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct store_change *nc = realloc(*c, ncap * sizeof(*nc));

		if (!nc)
			return false;
		*c = nc;
		*cap = ncap;
	}
	/* Permissions first read and never set are the store's still (txn_check): not written again. */
	bool keep_perms = kind == STORE_SET && e->seen_exists && !e->recreated && !e->perms_set;

	/* As first read, if nothing was written since the transaction began. */
	bool in_chunk = kind == STORE_SET && unchanged && e->seen_in_chunk && !e->recreated;

	(*c)[(*n)++] = (struct store_change){kind, e->path, keep_perms ? NULL : e->perms, e->nperms,
					     e->value, e->vlen, in_chunk, e->plen, e->h.hash};
	return true;
}

/*
 * The transaction's effect as store changes, handed to the store in one
 * commit; *touched tells whether the store may have changed (see store_commit).
 */
static enum xs_err txn_apply(struct txn *t, bool *touched)
{
	struct tx_entry **created = NULL;
	struct store_change *changes = NULL;
	size_t ncreated = 0, cap = 0, nchanges = 0, changes_cap = 0;
	enum xs_err err = XSE_OK;
	bool unchanged = t->changes_known && store_changes() == t->changes_at_start;

	/* Deletions first, so that a re-created node starts afresh. */
	for (struct tx_entry *e = t->first; e && err == XSE_OK; e = e->order_next)
		if (e->seen_exists && (e->recreated || !e->exists) &&
		    !change_add(&changes, &nchanges, &changes_cap, e, STORE_REMOVE, unchanged))
			err = XSE_ENOMEM;
	for (struct tx_entry *e = t->first; e && err == XSE_OK; e = e->order_next) {
		if (!e->exists)
			continue;
		if (e->seen_exists && !e->recreated) {
			if (e->modified && !change_add(&changes, &nchanges, &changes_cap, e, STORE_SET, unchanged))
				err = XSE_ENOMEM;
			continue;
		}
		if (!GROW(created, cap, ncreated + 1, 16)) {
			err = XSE_ENOMEM;
			break;
		}
		created[ncreated++] = e;
	}
	/* Creations in the order the transaction made them: parents before children. */
	if (err == XSE_OK && ncreated)
		qsort(created, ncreated, sizeof(*created), by_create_seq);
	for (size_t i = 0; i < ncreated && err == XSE_OK; i++)
		if (!change_add(&changes, &nchanges, &changes_cap, created[i], STORE_SET, unchanged))
			err = XSE_ENOMEM;
	if (err == XSE_OK && nchanges)
		err = store_commit(changes, nchanges, touched);
	free(created);
	free(changes);
	return err;
}

bool txn_any_write(struct txn *t, bool (*fn)(void *ctx, const char *path), void *ctx)
{
	/* As txn_apply: what exists at the end and was created or changed. */
	for (struct tx_entry *e = t->first; e; e = e->order_next)
		if (e->exists && (e->modified || !e->seen_exists || e->recreated) && fn(ctx, e->path))
			return true;
	return false;
}

/* Permissions of the nodes to be changed as committed now, for judging who sees the events. */
struct old_perms {
	struct xs_perm *perms;
	unsigned n;
};

/*
 * Whether every node the transaction looked at is still as it first saw it:
 * XSE_OK yes, XSE_EAGAIN no (a node that cannot be read counts as changed),
 * XSE_ENOMEM. On the way, each node that will fire an event leaves its
 * present permissions in *oldp: delivery is judged by them too. One read
 * per node; everything lives in arena a until the caller rewinds it.
 */
static enum xs_err txn_check(struct txn *t, struct arena *a, struct old_perms **oldp)
{
	size_t count = 0, i = 0;
	struct old_perms *old;
	enum xs_err err = XSE_OK;
	/* Nothing written since it began: each node is as first read, and its entry says how. */
	bool unchanged = t->changes_known && store_changes() == t->changes_at_start;

	for (struct tx_entry *e = t->first; e; e = e->order_next)
		count += e->event != 0;
	old = arena_alloc(a, sizeof(*old) * (count ? count : 1));
	if (!old)
		return XSE_ENOMEM;
	for (struct tx_entry *e = t->first; e && err == XSE_OK; e = e->order_next) {
		struct store_node n;
		enum xs_err rerr;
		bool found;

		if (unchanged && !(e->event && e->seen_exists && e->perms_set)) {
			/* The present permissions are those first read, unless the transaction set others. */
			if (e->event) {
				old[i].perms = e->seen_exists ? e->perms : NULL;
				old[i].n = e->seen_exists ? e->nperms : 0;
				i++;
			}
			continue;
		}
		rerr = store_read_node(a, e->path, e->plen, e->h.hash, false, &n);
		found = rerr == XSE_OK;

		if ((!found && rerr != XSE_ENOENT) || found != e->seen_exists ||
		    (found && n.gen != e->seen_gen)) {
			err = XSE_EAGAIN;
			break;
		}
		if (e->event) {
			old[i].perms = NULL;
			old[i].n = 0;
			if (found && n.nperms) {
				old[i].perms = arena_memdup(a, n.perms, sizeof(*n.perms) * n.nperms);
				old[i].n = n.nperms;
				if (!old[i].perms)
					err = XSE_ENOMEM;
			}
			i++;
		}
	}
	*oldp = old;
	return err;
}

static void fire_events(struct txn *t, const struct old_perms *old)
{
	size_t i = 0;

	for (struct tx_entry *e = t->first; e; e = e->order_next) {
		if (!e->event)
			continue;
		watch_fire(e->path, (enum watch_match)e->event, e->perms, e->nperms,
			   old ? old[i].perms : NULL, old ? old[i].n : 0);
		i++;
	}
}

/* The transaction txn_end ended last, whose memory txn_reap frees: at most one. */
static struct txn *txn_ended;

void txn_reap(void)
{
	struct txn *t = txn_ended;

	txn_ended = NULL;
	if (t)
		txn_free(t);
}

enum xs_err txn_end(struct txn *t, bool commit)
{
	enum xs_err err = XSE_OK;
	struct arena_mark mark = arena_mark(&txn_scratch);
	struct old_perms *old = NULL;
	bool touched = false;

	txn_unlink(t);
	if (commit) {
		/* In the C daemon's order: a failed transaction, the nodes quota, conflicts. */
		err = t->failed ? XSE_ENOMEM : quota_pending_commit(t->set->who, &t->pending);
		if (err == XSE_OK)
			err = txn_check(t, &txn_scratch, &old);
		if (err == XSE_OK && (err = txn_apply(t, &touched)) != XSE_OK) {
			log_warnx("transaction commit failed: %s", xs_err_name(err));
			/* A full file system is said as such; anything else as the C daemon does. */
			if (err != XSE_ENOSPC)
				err = XSE_ENOMEM;
		}
		/* Part of a failed commit may be in the store: a spurious event beats a lost one. */
		if (err == XSE_OK || touched)
			fire_events(t, old);
		if (err == XSE_EAGAIN)
			t->set->conflicts++;
		else if (err == XSE_OK)
			t->set->conflicts = 0;
	}
	arena_rewind(&txn_scratch, mark);
	/* What it was charged goes now; what it holds, once the reply is out. */
	if (t->charged) {
		quota_release(t->set->who, QUOTA_MEMORY, (unsigned)t->charged);
		t->charged = 0;
	}
	txn_reap();
	txn_ended = t;
	return err;
}

/* Whether t touched path, one of its ancestors, or (subtree) a node below it. */
static bool touches(struct txn *t, const char *path, bool subtree)
{
	char p[XS_PATH_BUF];
	size_t len = strlen(path);

	memcpy(p, path, len + 1);
	for (;;) {
		if (entry_find(t, p))
			return true;
		if (len <= 1)
			break;
		len = xs_path_parent_len(p);
		if (!len)
			break;
		p[len] = '\0';
	}
	if (subtree)
		for (struct tx_entry *e = t->first; e; e = e->order_next)
			if (xs_path_is_under(e->path, path))
				return true;
	return false;
}

bool txn_write_waits(const struct ident *who, const char *path, bool subtree, uint64_t *until)
{
	uint64_t now;

	if (!protected_head || who->priv)
		return false;
	now = clock_ms();
	for (struct txn *t = protected_head; t; t = t->prot_next) {
		if (t->protect_until > now && touches(t, path, subtree)) {
			*until = t->protect_until;
			return true;
		}
	}
	return false;
}

bool txn_commit_waits(struct txn *t, uint64_t *until)
{
	if (!protected_head || t->set->who->priv)
		return false;
	for (struct tx_entry *e = t->first; e; e = e->order_next) {
		bool removed = e->seen_exists && !e->exists;

		if ((e->modified || removed || e->nadded) &&
		    txn_write_waits(t->set->who, e->path, removed, until))
			return true;
	}
	return false;
}

size_t txn_added_bytes(struct txn *t, const char *parent)
{
	const struct tx_entry *p = entry_find(t, parent);
	size_t n = 0;

	for (unsigned i = 0; p && i < p->nadded; i++)
		n += strlen(p->added[i]) + 1;
	return n;
}

const struct quota_pending *txn_quota_pending(const struct txn *t)
{
	return &t->pending;
}

bool txn_is_protected(const struct txn *t)
{
	return t->protected;
}

uint64_t txn_now_ms(void)
{
	return clock_ms();
}

uint64_t txn_version(const struct txn *t)
{
	return t->version;
}

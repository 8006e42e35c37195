/* The tree over chunks: node records and chunks in tdb, read, create, update, remove, children, walks. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "dirindex.h"
#include "grow.h"
#include "hmap.h"
#include "log.h"

/*
 * Records are read and written through the record layer (rec.h): a write
 * goes to its overlay and, with the rest of its group, to the write-ahead
 * log; tdb gets it at the next checkpoint. tdb gives a new record a
 * quarter more room than asked and rewrites a record in place while it
 * fits, so a chunk goes to tdb padded to four fifths of its size class's
 * capacity (store_record_room), then grows in place up to the capacity:
 * chunks end up nearly full instead of a quarter empty. A chunk outgrowing
 * its class is written whole under a new id, linked in, and the old one
 * deleted.
 *
 * Chunks form a list in their directory; a new entry goes into the last
 * chunk, or a new one when that is full, so creating or deleting a node
 * rewrites one chunk and its directory's record whatever the size of the
 * directory. A directory of more than one chunk finds a name through its
 * dirindex (memory only).
 */

struct store_state store_st;

void store_tell(enum store_tell_kind kind, const char *path, const struct xs_perm *perms, unsigned nperms,
		const struct xs_perm *other, unsigned nother)
{
	struct arena *a = &store_st.tell_arena;
	struct store_tell *t;

	if (!store_st.nhooks)
		return;
	if (!GROW(store_st.tells, store_st.cap_tells, store_st.ntells + 1, 64)) {
		STORE_TELL(lost);
		return;
	}
	t = &store_st.tells[store_st.ntells];
	t->kind = kind;
	t->path = arena_strdup(a, path);
	t->perms = nperms ? arena_memdup(a, perms, sizeof(*perms) * nperms) : NULL;
	t->nperms = nperms;
	t->other = nother ? arena_memdup(a, other, sizeof(*other) * nother) : NULL;
	t->nother = nother;
	if (!t->path || (nperms && !t->perms) || (nother && !t->other)) {
		STORE_TELL(lost);
		return;
	}
	store_st.ntells++;
}

/* The group was written: the hooks hear of its changes, in order. */
static void tell_group(void)
{
	for (size_t i = 0; i < store_st.ntells; i++) {
		const struct store_tell *t = &store_st.tells[i];

		switch (t->kind) {
		case TELL_ADDED:
			STORE_TELL(added, t->path, t->perms, t->nperms, t->other, t->nother);
			break;
		case TELL_REMOVED:
			STORE_TELL(removed, t->path, t->perms, t->nperms);
			break;
		case TELL_PERMS:
			STORE_TELL(perms_set, t->path, t->other, t->nother, t->perms, t->nperms);
			break;
		}
	}
	store_st.ntells = 0;
	arena_reset(&store_st.tell_arena);
}

void store_group_begin(void)
{
	unsigned d;

	/* The start-up walk never meets a change: it is finished first. */
	if (!store_st.depth && store_st.telling)
		store_settle();
	d = store_st.depth++;

	if (d >= STORE_DEPTH_MAX)
		fatalx("store: groups nested too deep");
	store_st.tell_sp[d].ntells = store_st.ntells;
	store_st.tell_sp[d].mark = arena_mark(&store_st.tell_arena);
	rec_begin();
}

/* Forget what the group did since level d began: nothing read since may be trusted. */
static void group_undone(unsigned d)
{
	store_st.ntells = store_st.tell_sp[d].ntells;
	arena_rewind(&store_st.tell_arena, store_st.tell_sp[d].mark);
	/* Its chunks may have moved back: the indexes are rebuilt on use. */
	dirindex_clear();
	store_st.epoch++;
}

enum xs_err store_group_end(enum xs_err err)
{
	unsigned d = --store_st.depth;

	if (err != XSE_OK) {
		rec_end(false, 0);
		group_undone(d);
		return err;
	}
	if ((err = rec_end(true, store_st.gen)) != XSE_OK) {
		group_undone(d);
		return err;
	}
	if (d)
		return XSE_OK;
	tell_group();
	rec_checkpoint(false);
	return XSE_OK;
}

bool store_flush(void)
{
	return !store_st.open || rec_flush();
}

bool store_add_hook(const struct store_hook *hook, void *ctx)
{
	if (store_st.nhooks == STORE_HOOKS_MAX)
		return false;
	store_st.hooks[store_st.nhooks].hook = hook;
	store_st.hooks[store_st.nhooks++].ctx = ctx;
	return true;
}

void store_clear_hooks(void)
{
	store_st.nhooks = 0;
}

uint64_t store_generation(void)
{
	return store_st.gen;
}

uint64_t store_changes(void)
{
	return rec_changes();
}

struct parse_ctx {
	struct arena *a;
	struct store_node *out;
	bool with_value;
	bool ok;
};

static int parse_record(TDB_DATA key, TDB_DATA data, void *private_data)
{
	struct parse_ctx *c = private_data;

	(void)key;
	c->ok = fmt_record_decode(c->a, data.dptr, data.dsize, c->with_value, c->out);
	return 0;
}

void store_log_nomem(const char *what, const char *path)
{
	static struct log_limit limit;
	unsigned long unsaid;

	/* A shortage fails many reads at once. */
	if (!log_limited(&limit, &unsaid))
		return;
	if (unsaid)
		log_warnx("store: out of memory reading %s %s (and %lu more reads since the last line)", what,
			  path, unsaid);
	else
		log_warnx("store: out of memory reading %s %s", what, path);
}

/* A read that failed, as a change's cause: a shortage of memory stays one, anything else is damage. */
static enum xs_err as_damage(enum xs_err err)
{
	return err == XSE_ENOMEM ? XSE_ENOMEM : XSE_EIO;
}

/* The node of an entry kept in a chunk, decoded into a: XSE_OK, XSE_ENOMEM, or XSE_EIO (damaged). */
static enum xs_err entry_node(struct arena *a, const struct fmt_entry *e, bool with_value,
			      struct store_node *out)
{
	unsigned long failures = a->failures;

	if (fmt_entry_node(a, e, with_value, out))
		return XSE_OK;
	return a->failures != failures ? XSE_ENOMEM : XSE_EIO;
}

enum xs_err store_record_read(struct arena *a, const char *path, bool with_value, struct store_node *out)
{
	struct parse_ctx c = {a, out, with_value, false};
	unsigned long failures = a->failures;

	if (rec_parse(key_of(path), parse_record, &c) != 0)
		return XSE_ENOENT;
	if (!c.ok && a->failures != failures) {
		/* The decoder's copy found no memory: nothing is wrong with the record. */
		store_log_nomem("the record of", path);
		return XSE_ENOMEM;
	}
	if (!c.ok) {
		log_warnx("store: damaged record for %s", path);
		return XSE_EIO;
	}
	return XSE_OK;
}

enum xs_err store_record_put(struct arena *a, const char *path, const struct store_node *n)
{
	struct fmt_buf b = {.arena = a};
	enum xs_err err = XSE_OK;

	if (!fmt_record_encode(&b, n)) {
		fmt_buf_free(&b);
		return XSE_ENOMEM;
	}
	TDB_DATA d = {b.p, b.len};

	store_st.epoch++;
	err = rec_put(key_of(path), &d, 1);
	fmt_buf_free(&b);
	return err;
}

static TDB_DATA chunk_key(unsigned char *buf, const char *dir, uint32_t id)
{
	TDB_DATA k = {buf, fmt_chunk_key(buf, dir, id)};

	return k;
}

struct chunk_parse {
	struct arena *a;
	struct chunk *out;
	bool bad;
	bool oom;
};

static int parse_chunk(TDB_DATA key, TDB_DATA data, void *private_data)
{
	struct chunk_parse *c = private_data;
	struct fmt_chunk fc;

	(void)key;
	if (!fmt_chunk_decode(data.dptr, data.dsize, &fc)) {
		c->bad = true;
		return 0;
	}
	c->out->prev = fc.prev;
	c->out->next = fc.next;
	c->out->cls = fc.cls;
	c->out->len = fc.len;
	/* Room for one more entry's worth, so that appending needs no second copy. */
	c->out->body = arena_alloc(c->a, fc.len + ENTRY_INLINE_MAX + 16);
	if (!c->out->body)
		c->oom = true;
	else
		memcpy(c->out->body, fc.body, fc.len);
	return 0;
}

/* XSE_OK read, XSE_EIO damaged or missing (logged unless quiet and missing), XSE_ENOMEM. */
static enum xs_err read_chunk_q(struct arena *a, const char *dir, uint32_t id, struct chunk *out,
				bool quiet)
{
	unsigned char kb[XS_PATH_BUF + 8];
	struct chunk_parse c = {a, out, false, false};

	out->id = id;
	if (rec_parse(chunk_key(kb, dir, id), parse_chunk, &c) != 0) {
		if (!quiet)
			log_warnx("store: chunk %u of %s missing", id, dir);
		return XSE_EIO;
	}
	if (c.bad) {
		log_warnx("store: chunk %u of %s damaged", id, dir);
		return XSE_EIO;
	}
	return c.oom ? XSE_ENOMEM : XSE_OK;
}

enum xs_err store_chunk_read(struct arena *a, const char *dir, uint32_t id, struct chunk *out)
{
	return read_chunk_q(a, dir, id, out, false);
}

/*
 * Write chunk ch with its body spliced: the first head bytes, then mid,
 * then the body from tail on. Given to the record layer in parts, so that
 * nothing is copied on the way but into the record.
 */
static enum xs_err put_chunk_spliced(const char *dir, struct chunk *ch, size_t head,
				     const unsigned char *mid, size_t mid_len, size_t tail)
{
	unsigned char kb[XS_PATH_BUF + 8], hdr[CHUNK_HEADER];
	size_t len = head + mid_len + (ch->len - tail), total = CHUNK_HEADER + len;

	if (ch->cls >= CHUNK_CLASSES || total > chunk_class_cap[ch->cls]) {
		/* New (or, never by design, outgrown): the class tdb's room is made for. */
		ch->cls = 0;
		while (ch->cls + 1 < CHUNK_CLASSES && chunk_class_cap[ch->cls] < total)
			ch->cls++;
	}
	fmt_chunk_header(hdr, ch->prev, ch->next, ch->cls, len);
	TDB_DATA parts[4] = {{hdr, sizeof(hdr)},
			     {ch->body, head},
			     {(unsigned char *)mid, mid_len},
			     {ch->body + tail, ch->len - tail}};

	store_st.epoch++;
	return rec_put(chunk_key(kb, dir, ch->id), parts, 4);
}

static enum xs_err put_chunk(const char *dir, struct chunk *ch)
{
	/* No middle part, but a real pointer, as for any part. */
	return put_chunk_spliced(dir, ch, ch->len, ch->body, 0, ch->len);
}

static enum xs_err delete_chunk(const char *dir, uint32_t id)
{
	unsigned char kb[XS_PATH_BUF + 8];

	store_st.epoch++;
	return rec_del(chunk_key(kb, dir, id));
}

/* Change the previous/next link of chunk id (0: nothing to do). */
static enum xs_err relink_chunk(struct arena *a, const char *dir, uint32_t id, bool set_prev,
				uint32_t to)
{
	struct chunk ch;

	enum xs_err err;

	if (!id)
		return XSE_OK;
	if ((err = store_chunk_read(a, dir, id, &ch)) != XSE_OK)
		return err;
	if (set_prev)
		ch.prev = to;
	else
		ch.next = to;
	return put_chunk(dir, &ch);
}

/* Whether a chunk grown by `more` bytes still fits the space tdb gave it. */
static bool chunk_fits(const struct chunk *ch, size_t more)
{
	return ch->cls < CHUNK_CLASSES && CHUNK_HEADER + ch->len + more <= chunk_class_cap[ch->cls];
}

/*
 * Add (or, with add false, delete) every entry of ch as held by chunk id
 * in index x; false if memory ran out. *name_bytes (if given) receives the
 * bytes of the entries' names, a NUL each.
 */
static bool index_chunk(struct dirindex *x, const struct chunk *ch, uint32_t id, bool add,
			size_t *name_bytes)
{
	struct fmt_entry e;
	size_t bytes = 0;

	for (size_t off = 0; off < ch->len && fmt_entry_at(ch->body, ch->len, off, &e); off += e.len) {
		uint32_t h = dirindex_hash(e.name, e.nlen);

		bytes += e.nlen + 1;
		if (!add)
			dirindex_del(x, h, id);
		else if (!dirindex_add(x, h, id))
			return false;
	}
	if (name_bytes)
		*name_bytes = bytes;
	return true;
}

/* The index of a directory of several chunks, built from them if missing; NULL if it cannot be. */
static struct dirindex *index_of(struct arena *a, const char *dir, const struct store_node *dn)
{
	struct dirindex *x = dirindex_get(dir);
	struct chunk ch;
	size_t bytes;

	if (x)
		return x;
	if (!(x = dirindex_new(dir)))
		return NULL;
	/* In list order: the chunk list (dirindex.h) is built as it goes. */
	for (uint32_t id = dn->first_chunk; id; id = ch.next) {
		if (store_chunk_read(a, dir, id, &ch) != XSE_OK || !index_chunk(x, &ch, id, true, &bytes) ||
		    !dirindex_chunk_append(x, id, bytes)) {
			dirindex_drop(dir);
			return NULL;
		}
	}
	return x;
}

/*
 * The index of directory dir (record dn) with its chunk list known and
 * agreeing with dn, built again if it is not; NULL if it cannot be (no
 * memory, a damaged chunk).
 */
static struct dirindex *sized_index_of(struct arena *a, const char *dir, const struct store_node *dn)
{
	struct dirindex *x = dirindex_get(dir);

	if (x && dirindex_sized(x) && dirindex_bytes_total(x) == dn->children_bytes)
		return x;
	/* Sizes lost to a change they could not follow, or (a fault) not what the record says: again. */
	if (x && dirindex_sized(x))
		log_warnx("store: the chunk sizes of %s disagree with its record; indexing it again", dir);
	dirindex_drop(dir);
	if (!(x = index_of(a, dir, dn)))
		return NULL;
	if (dirindex_bytes_total(x) != dn->children_bytes) {
		log_warnx("store: the chunks of %s hold %zu bytes of names, its record says %zu", dir,
			  dirindex_bytes_total(x), dn->children_bytes);
		dirindex_drop(dir);
		return NULL;
	}
	return x;
}

static int chunk_find(const struct chunk *ch, const char *name, size_t nlen, struct fmt_entry *e)
{
	return fmt_entry_find(ch->body, ch->len, name, nlen, e);
}

/*
 * Find name among the children of directory dir (its record dn): its chunk
 * (*ch, a copy) and entry (*e). XSE_OK found, XSE_ENOENT absent, XSE_EIO
 * damaged, XSE_ENOMEM.
 */
static enum xs_err find_child(struct arena *a, const char *dir, const struct store_node *dn,
			      const char *name, struct chunk *ch, struct fmt_entry *e)
{
	size_t nlen = strlen(name);
	struct dirindex *x;
	enum xs_err err;

	if (!dn->first_chunk)
		return XSE_ENOENT;
	if (dn->first_chunk == dn->last_chunk || !(x = index_of(a, dir, dn))) {
		/* One chunk, or no memory for an index: read them all. */
		for (uint32_t id = dn->first_chunk; id; id = ch->next) {
			if ((err = store_chunk_read(a, dir, id, ch)) != XSE_OK)
				return err;
			if (chunk_find(ch, name, nlen, e))
				return XSE_OK;
		}
		return XSE_ENOENT;
	}
	uint32_t h = dirindex_hash(name, nlen), id;
	size_t pos = 0;

	while ((id = dirindex_next(x, h, &pos)) != 0) {
		/* The index may name a chunk gone since (it never misses one). */
		if (read_chunk_q(a, dir, id, ch, true) == XSE_OK && chunk_find(ch, name, nlen, e))
			return XSE_OK;
	}
	return XSE_ENOENT;
}

/* Where a node kept in a chunk was found: what store_update needs to rewrite it. */
struct store_where {
	uint64_t epoch;     /* store_st.epoch then */
	uint32_t path_hash; /* of the path read, so that no other node's place is taken */
	struct store_node parent;
	struct chunk ch; /* its body in the reading arena */
	struct fmt_entry e;
};

/* w (its chunk and entry filled in) says that path was found under dn, as the store is now. */
static void where_found(struct store_where *w, const char *path, const struct store_node *dn)
{
	w->epoch = store_st.epoch;
	w->path_hash = dirindex_hash(path, strlen(path));
	w->parent = *dn;
}

/*
 * The node kept in a chunk of directory ppath (record dn): XSE_OK found,
 * XSE_ENOENT absent, XSE_EIO damaged, XSE_ENOMEM.
 */
static enum xs_err read_in_chunk(struct arena *a, const char *path, const char *ppath,
				 const struct store_node *dn, bool with_value, struct store_node *out,
				 struct store_where *w)
{
	enum xs_err err = find_child(a, ppath, dn, xs_path_basename(path), &w->ch, &w->e);

	if (err != XSE_OK)
		return err;
	if (w->e.flags & ENTRY_OWN_RECORD) {
		log_warnx("store: %s is listed but its record is missing", path);
		return XSE_EIO;
	}
	if ((err = entry_node(a, &w->e, with_value, out)) != XSE_OK) {
		if (err == XSE_ENOMEM)
			store_log_nomem("the entry of", path);
		else
			log_warnx("store: damaged entry for %s", path);
		return err;
	}
	where_found(w, path, dn);
	return XSE_OK;
}

/*
 * The chunk store_read last found a node in, with its directory's record,
 * kept while no record has changed (rec_changes) and the store is the same
 * (its epoch): siblings read one after another, as a transaction's writes
 * read them, decode their parent and find their chunk once.
 */
static struct {
	uint64_t changes, epoch;
	bool valid;
	char dir[XS_PATH_BUF];
	struct store_node dn; /* its chunk list only (perms are not kept) */
	struct chunk ch;
	unsigned char body[CHUNK_MAX];
} last_chunk;

/* Whether the kept chunk is dir's and still as the store has it. */
static bool last_chunk_is(const char *dir)
{
	return last_chunk.valid && last_chunk.changes == rec_changes() && last_chunk.epoch == store_st.epoch &&
	       strcmp(last_chunk.dir, dir) == 0;
}

/* Keep ch, a chunk of dir (record dn), as the store has it now. */
static void last_chunk_set(const char *dir, const struct store_node *dn, const struct chunk *ch)
{
	last_chunk.valid = false;
	if (strlen(dir) >= sizeof(last_chunk.dir) || ch->len > sizeof(last_chunk.body))
		return;
	strcpy(last_chunk.dir, dir);
	last_chunk.changes = rec_changes();
	last_chunk.epoch = store_st.epoch;
	last_chunk.dn = *dn;
	last_chunk.dn.perms = NULL;
	last_chunk.dn.nperms = 0;
	last_chunk.dn.value = "";
	last_chunk.dn.where = NULL;
	last_chunk.ch = *ch;
	memmove(last_chunk.body, ch->body, ch->len);
	last_chunk.ch.body = last_chunk.body;
	last_chunk.valid = true;
}

static void last_chunk_keep(const char *dir, const struct store_node *dn, const struct chunk *ch)
{
	bool again = last_chunk.changes == rec_changes() && last_chunk.epoch == store_st.epoch &&
		     strcmp(last_chunk.dir, dir) == 0;

	/* Copied only at the second read in a row of the directory: one read between changes (a clean-up's) costs no copy. */
	if (again) {
		last_chunk_set(dir, dn, ch);
		return;
	}
	last_chunk.valid = false;
	if (strlen(dir) >= sizeof(last_chunk.dir))
		return;
	last_chunk.changes = rec_changes();
	last_chunk.epoch = store_st.epoch;
	strcpy(last_chunk.dir, dir);
}

/*
 * Nodes kept in a chunk, as last read or committed: a transaction touches
 * the same nodes again and again (a device's state, a counter), and each
 * first touch would otherwise look for a record of its own, decode the
 * parent's chunk and search it. A slot is good while no record has changed
 * since it was filled (rec_changes, and the store's epoch): any write
 * anywhere spoils every slot, except those the commit that made the write
 * brings up to date itself (node_cache_advance). Small nodes only: a path
 * of fewer than NODE_CACHE_PATH bytes, at most two permissions, a value of
 * at most NODE_CACHE_VALUE bytes.
 */
#define NODE_CACHE_SLOTS 256u
#define NODE_CACHE_PATH 64u
#define NODE_CACHE_VALUE 48u
#define NODE_AT_UNKNOWN UINT32_MAX

struct node_slot {
	uint64_t changes, epoch; /* when it was good; 0 changes: never filled */
	uint64_t gen;
	/* Where its entry starts in which chunk, as good as the rest (NODE_AT_UNKNOWN: not known). */
	uint32_t chunk, at;
	uint32_t hash;
	uint8_t plen, nperms;
	uint16_t vlen;
	struct xs_perm perms[2];
	char path[NODE_CACHE_PATH];
	char value[NODE_CACHE_VALUE];
};

static struct node_slot node_cache[NODE_CACHE_SLOTS];

uint32_t store_path_hash(const char *path, size_t plen)
{
	return hmap_hash_words(path, plen);
}

/* The slot a path of hash h goes in; it may hold another path. */
static struct node_slot *node_cache_place(uint32_t h)
{
	return &node_cache[h & (NODE_CACHE_SLOTS - 1)];
}

/* path's slot (len bytes, store_path_hash h), if it holds path (good or not). */
static struct node_slot *node_cache_slot(const char *path, size_t len, uint32_t h)
{
	struct node_slot *s = node_cache_place(h);

	if (len >= NODE_CACHE_PATH || s->hash != h || s->plen != len || memcmp(s->path, path, len) != 0)
		return NULL;
	return s;
}

static bool node_slot_good(const struct node_slot *s)
{
	return s->changes == rec_changes() && s->epoch == store_st.epoch;
}

/* The node from its slot, as read_in_chunk would give it; perms and value are the slot's (see store_read_node). */
static void node_cache_read(struct node_slot *s, bool with_value, struct store_node *out)
{
	memset(out, 0, sizeof(*out));
	out->in_chunk = true;
	out->gen = s->gen;
	out->nperms = s->nperms;
	out->perms = s->perms;
	out->vlen = s->vlen;
	out->value = with_value ? s->value : "";
}

/* A node just read whole from its chunk (n, with its value; its entry at offset at of chunk id) is kept, if small enough. */
static void node_cache_fill(const char *path, const struct store_node *n, uint32_t chunk, size_t at)
{
	size_t plen;
	uint32_t h;
	struct node_slot *s;

	if (!n->in_chunk || n->nperms > 2 || n->vlen > NODE_CACHE_VALUE)
		return;
	plen = strlen(path);
	if (plen >= NODE_CACHE_PATH)
		return;
	h = store_path_hash(path, plen);
	s = node_cache_place(h);
	s->changes = rec_changes();
	s->epoch = store_st.epoch;
	s->gen = n->gen;
	s->chunk = chunk;
	s->at = (uint32_t)at;
	s->hash = h;
	s->plen = (uint8_t)plen;
	memcpy(s->path, path, plen);
	s->nperms = (uint8_t)n->nperms;
	if (n->nperms)
		memcpy(s->perms, n->perms, sizeof(s->perms[0]) * n->nperms);
	s->vlen = (uint16_t)n->vlen;
	if (n->vlen)
		memcpy(s->value, n->value, n->vlen);
}

/*
 * A commit run wrote x as generation gen, its entry at offset at (or
 * NODE_AT_UNKNOWN) of the chunk, into a chunk that was as the store had it
 * when s (x's slot, good then, or NULL) was: s becomes good now, with what
 * x changed.
 */
static void node_cache_advance(struct node_slot *s, const struct store_change *x, uint64_t gen, uint32_t at)
{
	if (!s)
		return;
	if ((x->value && x->vlen > NODE_CACHE_VALUE) || (x->perms && x->nperms > 2)) {
		s->changes = 0;
		return;
	}
	if (x->value) {
		s->vlen = (uint16_t)x->vlen;
		if (x->vlen)
			memcpy(s->value, x->value, x->vlen);
	}
	if (x->perms) {
		s->nperms = (uint8_t)x->nperms;
		if (x->nperms)
			memcpy(s->perms, x->perms, sizeof(s->perms[0]) * x->nperms);
	}
	s->gen = gen;
	s->at = at;
	s->changes = rec_changes();
	s->epoch = store_st.epoch;
}

/*
 * path read from the kept chunk, if it is its directory's and lists it:
 * XSE_OK, else XSE_ENOENT (look the usual way). Where it was found goes
 * into w, unless w is NULL.
 */
static enum xs_err read_in_last_chunk(struct arena *a, const char *path, const char *ppath, bool with_value,
				      struct store_node *out, struct store_where *w, size_t *at)
{
	const char *name = xs_path_basename(path);
	struct fmt_entry e;

	if (!last_chunk_is(ppath) || !chunk_find(&last_chunk.ch, name, strlen(name), &e) ||
	    (e.flags & ENTRY_OWN_RECORD))
		return XSE_ENOENT;
	*at = e.off;
	if (!w)
		return entry_node(a, &e, with_value, out) == XSE_OK ? XSE_OK : XSE_ENOENT;
	w->e = e;
	/* The caller gets a copy of its own, as from store_chunk_read (room to append included). */
	w->ch = last_chunk.ch;
	if (!(w->ch.body = arena_alloc(a, last_chunk.ch.len + ENTRY_INLINE_MAX + 16)))
		return XSE_ENOMEM;
	memcpy(w->ch.body, last_chunk.body, last_chunk.ch.len);
	w->e.name = (const char *)w->ch.body + (w->e.name - (const char *)last_chunk.body);
	w->e.rest = w->ch.body + (w->e.rest - last_chunk.body);
	if (entry_node(a, &w->e, with_value, out) != XSE_OK)
		return XSE_ENOENT;
	where_found(w, path, &last_chunk.dn);
	return XSE_OK;
}

/* store_read, and where a node kept in a chunk was found (out->where) if want_where. */
static enum xs_err read_node(struct arena *a, const char *path, bool with_value, struct store_node *out,
			     bool want_where)
{
	char ppath[XS_PATH_BUF];
	struct store_node dn;
	struct store_where *w;
	enum xs_err err;
	size_t at;

	if ((err = store_record_read(a, path, with_value, out)) != XSE_ENOENT || !has_parent(path))
		return err;
	parent_of(ppath, path);
	if (!want_where && read_in_last_chunk(a, path, ppath, with_value, out, NULL, &at) == XSE_OK) {
		if (with_value)
			node_cache_fill(path, out, last_chunk.ch.id, at);
		return XSE_OK;
	}
	if (!(w = arena_alloc(a, sizeof(*w))))
		return XSE_ENOMEM;
	if (want_where && (err = read_in_last_chunk(a, path, ppath, with_value, out, w, &at)) != XSE_ENOENT) {
		if (err == XSE_OK)
			out->where = w;
		return err;
	}
	/* A parent without a record of its own is kept in a chunk and has no children. */
	if ((err = store_record_read(a, ppath, false, &dn)) != XSE_OK)
		return err;
	if ((err = read_in_chunk(a, path, ppath, &dn, with_value, out, w)) == XSE_OK) {
		out->where = want_where ? w : NULL;
		last_chunk_keep(ppath, &dn, &w->ch);
		if (with_value)
			node_cache_fill(path, out, w->ch.id, w->e.off);
	}
	return err;
}

enum xs_err store_read(struct arena *a, const char *path, bool with_value, struct store_node *out)
{
	return read_node(a, path, with_value, out, true);
}

enum xs_err store_read_node(struct arena *a, const char *path, size_t plen, uint32_t hash, bool with_value,
			    struct store_node *out)
{
	struct node_slot *s = node_cache_slot(path, plen, hash);

	/* Here, not in read_node: a hit does not enter its frame (a path buffer, a page of stack). */
	if (s && node_slot_good(s)) {
		node_cache_read(s, with_value, out);
		return XSE_OK;
	}
	return read_node(a, path, with_value, out, false);
}

/*
 * Replace the entry e of chunk ch of directory dir (record dn) with the
 * nlen bytes at repl (none: the entry goes). A chunk left empty goes too,
 * and dn's chunk list follows (the caller writes dn).
 */
static enum xs_err replace_entry(struct arena *a, const char *dir, struct store_node *dn,
				 struct chunk *ch, const struct fmt_entry *e, const unsigned char *repl,
				 size_t nlen)
{
	uint32_t h = dirindex_hash(e->name, e->nlen);
	struct dirindex *x = dirindex_get(dir);
	enum xs_err err;

	if (ch->len - e->len + nlen) {
		/* The body keeps its old length in ch: the caller is done with ch. */
		err = put_chunk_spliced(dir, ch, e->off, nlen ? repl : ch->body, nlen, e->off + e->len);
	} else {
		if ((err = relink_chunk(a, dir, ch->prev, false, ch->next)) != XSE_OK ||
		    (err = relink_chunk(a, dir, ch->next, true, ch->prev)) != XSE_OK)
			return err;
		if (dn->first_chunk == ch->id)
			dn->first_chunk = ch->next;
		if (dn->last_chunk == ch->id)
			dn->last_chunk = ch->prev;
		err = delete_chunk(dir, ch->id);
	}
	if (err == XSE_OK && !nlen && x) {
		dirindex_del(x, h, ch->id);
		dirindex_chunk_shrink(x, ch->id, e->nlen + 1);
	}
	return err;
}

/*
 * Write chunk ch (grown past its class) under a new id of directory dir
 * (record dn, updated), link it in place of the old one, delete that.
 */
static enum xs_err move_chunk(struct arena *a, const char *dir, struct store_node *dn, struct chunk *ch)
{
	struct dirindex *x = dirindex_get(dir);
	uint32_t old = ch->id;
	enum xs_err err;

	ch->id = dn->next_chunk_id ? dn->next_chunk_id : 1;
	ch->cls = CHUNK_CLASSES;
	dn->next_chunk_id = ch->id + 1;
	if (x && (!index_chunk(x, ch, ch->id, true, NULL) || !dirindex_chunk_rename(x, old, ch->id))) {
		dirindex_drop(dir);
		x = NULL;
	}
	if ((err = put_chunk(dir, ch)) != XSE_OK ||
	    (err = relink_chunk(a, dir, ch->prev, false, ch->id)) != XSE_OK ||
	    (err = relink_chunk(a, dir, ch->next, true, ch->id)) != XSE_OK)
		return err;
	if (dn->first_chunk == old)
		dn->first_chunk = ch->id;
	if (dn->last_chunk == old)
		dn->last_chunk = ch->id;
	if ((err = delete_chunk(dir, old)) != XSE_OK)
		return err;
	if (x)
		index_chunk(x, ch, old, false, NULL);
	return XSE_OK;
}

enum xs_err store_entry_append(struct arena *a, const char *dir, struct store_node *dn, const char *name,
			       const unsigned char *entry_bytes, size_t elen)
{
	struct dirindex *x = dirindex_get(dir);
	struct chunk last, fresh = {0};
	unsigned char *entry = arena_memdup(a, entry_bytes, elen);
	size_t name_bytes = strlen(name) + 1;
	enum xs_err err;

	if (!entry)
		return XSE_ENOMEM;
	if (dn->last_chunk) {
		if ((err = store_chunk_read(a, dir, dn->last_chunk, &last)) != XSE_OK)
			return err;
		if (last.len + elen <= CHUNK_MAX) {
			/* store_chunk_read left room for an entry kept in a chunk, not always for a long name. */
			if (elen > ENTRY_INLINE_MAX + 16) {
				unsigned char *body = arena_alloc(a, last.len + elen);

				if (!body)
					return XSE_ENOMEM;
				memcpy(body, last.body, last.len);
				last.body = body;
			}
			bool fits = chunk_fits(&last, elen);

			memcpy(last.body + last.len, entry, elen);
			last.len += elen;
			if (x)
				dirindex_chunk_grow(x, last.id, name_bytes);
			if (!fits)
				return move_chunk(a, dir, dn, &last);
			if (x && !dirindex_add(x, dirindex_hash(name, strlen(name)), last.id))
				dirindex_drop(dir);
			return put_chunk(dir, &last);
		}
	}
	/* A new chunk at the end of the list, not written yet. */
	fresh.cls = CHUNK_CLASSES;
	fresh.id = dn->next_chunk_id ? dn->next_chunk_id : 1;
	fresh.prev = dn->last_chunk;
	fresh.body = entry;
	fresh.len = elen;
	dn->next_chunk_id = fresh.id + 1;
	if (x && (!dirindex_add(x, dirindex_hash(name, strlen(name)), fresh.id) ||
		  !dirindex_chunk_append(x, fresh.id, name_bytes)))
		dirindex_drop(dir);
	if ((err = put_chunk(dir, &fresh)) != XSE_OK)
		return err;
	if (dn->last_chunk) {
		last.next = fresh.id;
		if ((err = put_chunk(dir, &last)) != XSE_OK)
			return err;
	} else {
		dn->first_chunk = fresh.id;
	}
	dn->last_chunk = fresh.id;
	return XSE_OK;
}

/* The stand-in entry of a node kept in a record of its own: only its name. */
static bool encode_stand_in(struct fmt_buf *b, const char *path)
{
	return fmt_entry_encode(b, xs_path_basename(path), true, 0, NULL, 0, NULL, 0);
}

/*
 * Give node path (n, read from its parent's chunk) a record of its own and
 * leave only its name in the chunk. The record comes first: a crash in
 * between leaves both, and the record wins.
 */
static enum xs_err own_record(struct arena *a, const char *path, struct store_node *n)
{
	char gpath[XS_PATH_BUF];
	struct store_node gn;
	struct chunk ch;
	struct fmt_entry e;
	struct fmt_buf b = {.arena = a};
	enum xs_err err;

	n->in_chunk = false;
	if ((err = store_record_put(a, path, n)) != XSE_OK)
		return err;
	parent_of(gpath, path);
	if ((err = store_record_read(a, gpath, false, &gn)) != XSE_OK ||
	    (err = find_child(a, gpath, &gn, xs_path_basename(path), &ch, &e)) != XSE_OK)
		return as_damage(err);
	if (!encode_stand_in(&b, path))
		err = XSE_ENOMEM;
	else
		err = replace_entry(a, gpath, &gn, &ch, &e, b.p, b.len);
	fmt_buf_free(&b);
	return err;
}

/*
 * The directory record of the parent of path, turning the parent into a
 * record of its own first if it is kept in a chunk (it is getting a child).
 */
static enum xs_err parent_dir(struct arena *a, const char *path, char *ppath, struct store_node *pn)
{
	enum xs_err err;

	parent_of(ppath, path);
	if ((err = store_read(a, ppath, true, pn)) != XSE_OK)
		return as_damage(err);
	if (!pn->in_chunk)
		return XSE_OK;
	return own_record(a, ppath, pn);
}

/* The node's entry into b (emptied first): the node itself if small enough, else a stand-in. */
static bool encode_node_entry(struct fmt_buf *b, const char *path, const struct store_node *n, bool *own)
{
	b->len = 0;
	*own = false;
	if (!fmt_entry_encode(b, xs_path_basename(path), false, n->gen, n->perms, n->nperms, n->value,
			      n->vlen))
		return false;
	if (b->len <= ENTRY_INLINE_MAX)
		return true;
	b->len = 0;
	*own = true;
	return encode_stand_in(b, path);
}

static enum xs_err create_in(struct arena *a, const char *path, struct store_node *node,
			     struct fmt_buf *entry)
{
	char ppath[XS_PATH_BUF];
	const char *name = xs_path_basename(path);
	struct store_node parent;
	enum xs_err err;
	bool own;

	if ((err = parent_dir(a, path, ppath, &parent)) != XSE_OK)
		return err;
	node->gen = ++store_st.gen;
	if (!encode_node_entry(entry, path, node, &own))
		return XSE_ENOMEM;
	if (own && (err = store_record_put(a, path, node)) != XSE_OK)
		return err;
	if ((err = store_entry_append(a, ppath, &parent, name, entry->p, entry->len)) != XSE_OK)
		return err;
	parent.nchildren++;
	parent.children_bytes += strlen(name) + 1;
	parent.gen = ++store_st.gen;
	store_tell_added(path, node->perms, node->nperms, parent.perms, parent.nperms);
	return store_record_put(a, ppath, &parent);
}

enum xs_err store_create(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	struct store_node node = {0};
	struct fmt_buf entry = {.arena = a};
	enum xs_err err;

	node.perms = (struct xs_perm *)perms;
	node.nperms = nperms;
	node.value = value;
	node.vlen = vlen;
	store_group_begin();
	err = create_in(a, path, &node, &entry);
	fmt_buf_free(&entry);
	return store_group_end(err);
}

/*
 * Rewrite the entry e (in chunk ch of directory ppath, record pn) of node
 * path with n, or give the node a record if it outgrew the chunk.
 */
static enum xs_err rewrite_entry(struct arena *a, const char *path, struct store_node *n,
				 const char *ppath, struct store_node *pn, struct chunk *ch,
				 const struct fmt_entry *e)
{
	struct chunk c = *ch;
	struct fmt_buf b = {.arena = a};
	enum xs_err err;
	bool own;

	if (!encode_node_entry(&b, path, n, &own))
		err = XSE_ENOMEM;
	/* Grown past the chunk's space: its own record, and a shorter entry in the chunk. */
	else if (own || (b.len > e->len && !chunk_fits(&c, b.len - e->len)))
		err = own_record(a, path, n);
	else
		err = replace_entry(a, ppath, pn, &c, e, b.p, b.len);
	fmt_buf_free(&b);
	return err;
}

enum xs_err store_update(struct arena *a, const char *path, const struct store_node *cur,
			 const struct xs_perm *perms, unsigned nperms, const char *value, size_t vlen)
{
	char ppath[XS_PATH_BUF];
	struct store_node n;
	struct store_where w;
	const struct xs_perm *old;
	unsigned nold;
	enum xs_err err;

	/* !value below: the old value is read only when it is kept. */
	if (cur && cur->where && cur->where->epoch == store_st.epoch &&
	    cur->where->path_hash == dirindex_hash(path, strlen(path)) &&
	    strcmp(cur->where->e.name, xs_path_basename(path)) == 0) {
		/* Found by this request's read, and nothing written since. */
		w = *cur->where;
		parent_of(ppath, path);
		err = entry_node(a, &w.e, !value, &n);
	} else if ((err = store_record_read(a, path, !value, &n)) == XSE_ENOENT && has_parent(path)) {
		/* Kept in a chunk: found there once, read and rewritten from the same copy. */
		enum xs_err perr;

		parent_of(ppath, path);
		if ((perr = store_record_read(a, ppath, false, &w.parent)) == XSE_OK)
			err = read_in_chunk(a, path, ppath, &w.parent, !value, &n, &w);
		else if (perr == XSE_ENOMEM)
			err = perr;
	}
	if (err != XSE_OK)
		return as_damage(err);
	old = n.perms;
	nold = n.nperms;
	if (perms) {
		n.perms = (struct xs_perm *)perms;
		n.nperms = nperms;
	}
	if (value) {
		n.value = value;
		n.vlen = vlen;
	}
	n.gen = ++store_st.gen;
	store_group_begin();
	err = n.in_chunk ? rewrite_entry(a, path, &n, ppath, &w.parent, &w.ch, &w.e)
			 : store_record_put(a, path, &n);
	if (err == XSE_OK && perms)
		store_tell(TELL_PERMS, path, perms, nperms, old, nold);
	return store_group_end(err);
}

/* path's name (*nlen bytes) if its parent is the directory ppath (plen bytes), else NULL: one pass. */
static const char *child_name(const char *path, size_t len, const char *ppath, size_t plen, size_t *nlen)
{
	const char *name;

	/* The root keeps its slash: its children's names start right after it. */
	if (len <= plen || memcmp(path, ppath, plen) != 0 || (plen > 1 && path[plen] != '/'))
		return NULL;
	name = path + (plen > 1 ? plen + 1 : plen);
	*nlen = len - (size_t)(name - path);
	return *nlen && !memchr(name, '/', *nlen) ? name : NULL;
}

/*
 * A commit run over one chunk of directory dir (dlen bytes): the store as
 * it was when the run began (a node cache slot good then knows where its
 * entry starts, unless a splice before it moved it since), and per change
 * done, its slot and where its entry now starts.
 */
struct run {
	const char *dir;
	size_t dlen;
	uint32_t chunk;
	uint64_t changes, epoch;
	size_t moved_from; /* the first offset a splice of another length moved: entries from there on moved */
	struct run_note {
		struct node_slot *slot;
		uint32_t at;
	} *notes;
};

/*
 * The next change of a run (x, the done-th) into the copy body (*len bytes
 * of at most cap): false, the copy untouched, if it is not a change to a
 * node kept in this chunk or does not fit; then store_update takes it.
 */
static bool run_step(struct arena *a, struct run *run, size_t done, const struct store_change *x,
		     unsigned char *body, size_t *len, size_t cap)
{
	size_t nlen;
	const char *name = child_name(x->path, x->plen, run->dir, run->dlen, &nlen);
	unsigned char fresh[ENTRY_INLINE_MAX];
	struct fmt_buf b = {.arena = a};
	const unsigned char *repl;
	const struct xs_perm *old = NULL;
	unsigned nold = 0;
	struct store_node n;
	struct fmt_entry e;
	struct node_slot *s;
	size_t rlen;

	if (x->kind == STORE_REMOVE || !name)
		return false;
	/* Its slot, if it was good when the run began, says where its entry starts (if nothing moved it). */
	s = node_cache_slot(x->path, x->plen, x->hash);
	if (s && (s->changes != run->changes || s->epoch != run->epoch))
		s = NULL;
	if (!(s && s->chunk == run->chunk && s->at < run->moved_from &&
	      fmt_entry_named_at(body, *len, s->at, name, nlen, &e)) &&
	    !fmt_entry_find(body, *len, name, nlen, &e))
		return false;
	if (e.flags & ENTRY_OWN_RECORD)
		return false;
	/* Its own record, left beside the entry by a crash, wins (see own_record): store_update reads it. */
	if (!x->in_chunk && rec_exists(key_of(x->path)))
		return false;
	run->notes[done] = (struct run_note){s, (uint32_t)e.off};
	if (!x->perms && x->value && fmt_entry_repatch(body, &e, store_st.gen + 1, x->value, x->vlen)) {
		/* The commonest change of all, a value as long as the last: written where it lies. */
		store_st.gen++;
		return true;
	}
	if (!x->perms && x->value) {
		/* A value alone: the entry's permissions are copied, not decoded. */
		rlen = fmt_entry_revalue(&e, store_st.gen + 1, x->value, x->vlen, fresh, sizeof(fresh));
		repl = fresh;
	} else {
		bool own;

		if (!fmt_entry_node(a, &e, !x->value, &n))
			return false;
		old = n.perms;
		nold = n.nperms;
		if (x->perms) {
			n.perms = (struct xs_perm *)x->perms;
			n.nperms = x->nperms;
		}
		if (x->value) {
			n.value = x->value;
			n.vlen = x->vlen;
		}
		n.gen = store_st.gen + 1;
		rlen = encode_node_entry(&b, x->path, &n, &own) && !own ? b.len : 0;
		repl = b.p;
	}
	/* 0: an entry that does not parse, or a node that now needs a record of its own. */
	if (!rlen || *len - e.len + rlen > cap) {
		fmt_buf_free(&b);
		return false;
	}
	/* A value of the same length leaves the rest of the chunk in place. */
	if (rlen != e.len) {
		memmove(body + e.off + rlen, body + e.off + e.len, *len - e.off - e.len);
		if (e.off + 1 < run->moved_from)
			run->moved_from = e.off + 1; /* this entry's start stays; those after it moved */
	}
	memcpy(body + e.off, repl, rlen);
	*len = *len - e.len + rlen;
	store_st.gen++;
	fmt_buf_free(&b);
	if (x->perms)
		store_tell(TELL_PERMS, x->path, x->perms, x->nperms, old, nold);
	return true;
}

size_t store_update_run(struct arena *a, const struct store_change *c, size_t n, enum xs_err *err)
{
	char ppath[XS_PATH_BUF];
	struct store_node dn;
	struct chunk ch;
	struct fmt_entry e;
	unsigned char *body;
	const char *name;
	size_t cap, most, nlen, done = 0;
	uint64_t gen;
	struct run run;

	*err = XSE_OK;
	run.changes = rec_changes();
	run.epoch = store_st.epoch;
	gen = store_st.gen;
	if (n < 2 || c[0].kind == STORE_REMOVE || !has_parent(c[0].path) ||
	    !child_name(c[1].path, c[1].plen, c[0].path, xs_path_parent_len(c[0].path), &nlen))
		return 0;
	parent_of(ppath, c[0].path);
	name = xs_path_basename(c[0].path);
	/* The transaction's reads most often left the chunk kept (last_chunk). */
	if (last_chunk_is(ppath) && chunk_find(&last_chunk.ch, name, strlen(name), &e)) {
		dn = last_chunk.dn;
		ch = last_chunk.ch;
	} else if (store_record_read(a, ppath, false, &dn) != XSE_OK ||
		   find_child(a, ppath, &dn, name, &ch, &e) != XSE_OK) {
		return 0;
	}
	if (ch.cls >= CHUNK_CLASSES)
		return 0;
	cap = chunk_class_cap[ch.cls] - CHUNK_HEADER;
	run.dir = ppath;
	run.dlen = strlen(ppath);
	run.chunk = ch.id;
	run.moved_from = SIZE_MAX;
	/* A chunk holds at most cap / 4 entries (length, a name, its NUL, flags): no run is longer. */
	most = n < cap / 4 ? n : cap / 4;
	if (ch.len > cap || !(body = arena_alloc(a, cap)) || !(run.notes = arena_alloc(a, sizeof(*run.notes) * most)))
		return 0;
	memcpy(body, ch.body, ch.len);
	while (done < most && run_step(a, &run, done, &c[done], body, &ch.len, cap))
		done++;
	if (!done)
		return 0;
	ch.body = body;
	if ((*err = put_chunk(ppath, &ch)) != XSE_OK)
		return done;
	/* As now written: the next transaction on these nodes reads them from here. */
	last_chunk_set(ppath, &dn, &ch);
	for (size_t i = 0; i < done; i++)
		node_cache_advance(run.notes[i].slot, &c[i], gen + 1 + i,
				   run.notes[i].at < run.moved_from ? run.notes[i].at : NODE_AT_UNKNOWN);
	return done;
}

/* The names of a chunk's entries, NUL-terminated one after another, in arena a. */
static char *chunk_names(struct arena *a, const struct chunk *ch, size_t *len);

/*
 * Take path's entry out of its parent's list, looking only in the
 * parent's first chunk if first_only (a removal empties a directory from
 * there); the parent's counts follow. *listed false if the parent does
 * not list it (a removal cut short, being done again).
 */
static enum xs_err unlist(struct arena *a, const char *path, bool first_only, bool *listed)
{
	char ppath[XS_PATH_BUF];
	const char *name = xs_path_basename(path);
	struct store_node pn;
	struct chunk ch;
	struct fmt_entry e;
	enum xs_err err;

	*listed = false;
	parent_of(ppath, path);
	if ((err = store_record_read(a, ppath, true, &pn)) != XSE_OK)
		return err == XSE_ENOENT ? XSE_OK : as_damage(err);
	if (first_only) {
		if (!pn.first_chunk)
			return XSE_EIO;
		if ((err = store_chunk_read(a, ppath, pn.first_chunk, &ch)) != XSE_OK)
			return err;
		err = chunk_find(&ch, name, strlen(name), &e) ? XSE_OK : XSE_ENOENT;
	} else {
		err = find_child(a, ppath, &pn, name, &ch, &e);
	}
	if (err != XSE_OK)
		return err == XSE_ENOENT ? XSE_OK : as_damage(err);
	*listed = true;
	if ((err = replace_entry(a, ppath, &pn, &ch, &e, NULL, 0)) != XSE_OK)
		return err;
	pn.nchildren--;
	pn.children_bytes -= strlen(name) + 1;
	pn.gen = ++store_st.gen;
	return store_record_put(a, ppath, &pn);
}

/*
 * Report and delete the entries of dir's first chunk, all kept in it (none
 * has a record): the chunk goes and dir (record dn) is rewritten without it.
 * *count gets the number of entries.
 */
static enum xs_err drop_first_chunk(struct arena *a, const char *dir, struct store_node *dn,
				    struct chunk *ch, store_removed_fn cb, void *ctx, size_t *count)
{
	char cpath[XS_PATH_BUF];
	struct fmt_entry e;
	enum xs_err err;

	*count = 0;
	for (size_t off = 0; off < ch->len && fmt_entry_at(ch->body, ch->len, off, &e); off += e.len) {
		struct store_node child;

		if ((err = entry_node(a, &e, true, &child)) != XSE_OK)
			return err;
		(*count)++;
		child_path(cpath, dir, e.name);
		if (cb)
			cb(ctx, cpath, &child);
		store_tell_removed(cpath, child.perms, child.nperms);
		dn->nchildren--;
		dn->children_bytes -= e.nlen + 1;
	}
	if ((err = delete_chunk(dir, ch->id)) != XSE_OK ||
	    (err = relink_chunk(a, dir, ch->next, true, 0)) != XSE_OK)
		return err;
	dn->first_chunk = ch->next;
	if (!ch->next)
		dn->last_chunk = 0;
	return store_record_put(a, dir, dn);
}

/*
 * Remove the subtree under path, a node with a record of its own, in an
 * iterative post-order walk: descend into the first child that has a
 * record of its own, else drop the first chunk whole; a node without
 * children goes and leaves its parent's first chunk. Depth is
 * guest-controlled, so no recursion. Each step leaves a sound tree, so
 * the walk may stop between two: once *budget nodes went (a chunk
 * dropped whole counts its entries; *budget is lowered by what went).
 * *done once path itself went (its parent's list is the caller's).
 */
static enum xs_err remove_records(struct arena *scratch, const char *path, store_removed_fn cb, void *ctx,
				  size_t *budget, bool *done)
{
	char cur[XS_PATH_BUF];
	struct store_node n;
	enum xs_err err = XSE_OK;
	bool listed;

	*done = false;
	strcpy(cur, path);
	while (err == XSE_OK) {
		if (!*budget)
			return XSE_OK;
		arena_reset(scratch);
		if ((err = store_record_read(scratch, cur, true, &n)) != XSE_OK)
			return as_damage(err);
		dirindex_drop(cur);
		if (n.first_chunk) {
			struct chunk ch;
			struct fmt_entry e;
			size_t off, count;

			if ((err = store_chunk_read(scratch, cur, n.first_chunk, &ch)) != XSE_OK)
				return err;
			for (off = 0; off < ch.len && fmt_entry_at(ch.body, ch.len, off, &e); off += e.len)
				if (e.flags & ENTRY_OWN_RECORD)
					break;
			if (off < ch.len) {
				char sub[XS_PATH_BUF];

				child_path(sub, cur, e.name);
				strcpy(cur, sub);
				continue;
			}
			err = drop_first_chunk(scratch, cur, &n, &ch, cb, ctx, &count);
			*budget -= count < *budget ? count : *budget;
			continue;
		}
		if (cb)
			cb(ctx, cur, &n);
		store_st.epoch++;
		if ((err = rec_del(key_of(cur))) != XSE_OK)
			return err;
		store_tell_removed(cur, n.perms, n.nperms);
		(*budget)--;
		if (strcmp(cur, path) == 0) {
			*done = true;
			break;
		}
		err = unlist(scratch, cur, true, &listed);
		cur[xs_path_parent_len(cur)] = '\0';
	}
	return err;
}

enum xs_err store_remove(const char *path, store_removed_fn cb, void *ctx)
{
	struct arena scratch = {0};
	struct store_node n;
	enum xs_err err;
	bool listed = true;

	if (strcmp(path, "/") == 0)
		return XSE_EINVAL;
	err = store_read(&scratch, path, true, &n);
	if (err != XSE_OK) {
		arena_free(&scratch);
		return err == XSE_ENOENT ? XSE_OK : as_damage(err);
	}
	store_group_begin();
	if (has_parent(path))
		err = unlist(&scratch, path, false, &listed);
	if (n.in_chunk) {
		if (err == XSE_OK) {
			if (cb)
				cb(ctx, path, &n);
			store_tell_removed(path, n.perms, n.nperms);
		}
	} else {
		size_t budget = SIZE_MAX;
		bool done;

		if (err == XSE_OK && !listed)
			log_warnx("store: removing %s, which its parent no longer lists", path);
		if (err == XSE_OK)
			err = remove_records(&scratch, path, cb, ctx, &budget, &done);
	}
	arena_free(&scratch);
	return store_group_end(err);
}

enum xs_err store_remove_some(struct arena *scratch, const char *path, size_t max, store_removed_fn cb,
			      void *ctx, bool *done)
{
	struct store_node n;
	enum xs_err err;
	bool listed;

	*done = false;
	if (strcmp(path, "/") == 0)
		return XSE_EINVAL;
	err = store_read(scratch, path, true, &n);
	if (err != XSE_OK) {
		*done = err == XSE_ENOENT;
		return err == XSE_ENOENT ? XSE_OK : as_damage(err);
	}
	store_group_begin();
	if (n.in_chunk) {
		/* No subtree: it leaves its parent's chunk, and that is all. */
		err = unlist(scratch, path, false, &listed);
		if (err == XSE_OK) {
			if (cb)
				cb(ctx, path, &n);
			store_tell_removed(path, n.perms, n.nperms);
			*done = true;
		}
	} else {
		size_t budget = max ? max : 1;

		/* Its parent lists it until it goes itself: every step leaves a tree whole. */
		err = remove_records(scratch, path, cb, ctx, &budget, done);
		if (err == XSE_OK && *done && has_parent(path))
			err = unlist(scratch, path, false, &listed);
	}
	err = store_group_end(err);
	if (err != XSE_OK)
		*done = false;
	return err;
}

enum xs_err store_chunk_mates(struct arena *a, const char *path, store_child_fn cb, void *ctx)
{
	char ppath[XS_PATH_BUF];
	struct store_node dn;
	struct chunk ch;
	struct fmt_entry e;
	const char *names;
	size_t len;
	enum xs_err err;

	if (!has_parent(path))
		return XSE_OK;
	parent_of(ppath, path);
	if ((err = store_record_read(a, ppath, false, &dn)) != XSE_OK)
		return err == XSE_ENOENT ? XSE_OK : err;
	if ((err = find_child(a, ppath, &dn, xs_path_basename(path), &ch, &e)) != XSE_OK)
		return err == XSE_ENOENT ? XSE_OK : err;
	/* The names are copied first: cb may change the chunk. */
	if (!(names = chunk_names(a, &ch, &len)))
		return XSE_ENOMEM;
	for (size_t off = 0; off < len; off += strlen(names + off) + 1)
		if (!cb(ctx, names + off))
			break;
	return XSE_OK;
}

static char *chunk_names(struct arena *a, const struct chunk *ch, size_t *len)
{
	char *names = arena_alloc(a, ch->len + 1);
	struct fmt_entry e;
	size_t n = 0;

	if (!names)
		return NULL;
	for (size_t off = 0; off < ch->len && fmt_entry_at(ch->body, ch->len, off, &e); off += e.len) {
		memcpy(names + n, e.name, e.nlen + 1);
		n += e.nlen + 1;
	}
	*len = n;
	return names;
}

enum xs_err store_chunks(const char *parent, uint32_t from, store_chunk_fn cb, void *ctx)
{
	struct arena scratch = {0};
	struct store_node n;
	struct chunk ch;
	uint32_t id = from;
	enum xs_err err = XSE_OK;

	if (!id) {
		err = store_record_read(&scratch, parent, false, &n);
		if (err != XSE_OK) {
			arena_free(&scratch);
			return err == XSE_ENOENT ? XSE_OK : err; /* no record: no children */
		}
		id = n.first_chunk;
	}
	while (id) {
		const char *names;
		size_t len;

		arena_reset(&scratch);
		if ((err = store_chunk_read(&scratch, parent, id, &ch)) != XSE_OK)
			break;
		if (!(names = chunk_names(&scratch, &ch, &len))) {
			err = XSE_ENOMEM;
			break;
		}
		if (!cb(ctx, id, names, len))
			break;
		id = ch.next;
	}
	arena_free(&scratch);
	return err;
}

enum xs_err store_chunk_at(const char *parent, size_t off, uint32_t *chunk, size_t *chunk_off)
{
	struct arena scratch = {0};
	struct store_node n;
	struct dirindex *x;
	enum xs_err err = store_record_read(&scratch, parent, false, &n);

	*chunk = 0;
	*chunk_off = 0;
	if (err == XSE_ENOENT)
		err = XSE_OK; /* no record: no children */
	else if (err == XSE_OK && off < n.children_bytes) {
		*chunk = n.first_chunk;
		/* Without memory for the index: from the first chunk, as good an answer if a slow one. */
		if (off && n.first_chunk != n.last_chunk && (x = sized_index_of(&scratch, parent, &n)) != NULL)
			*chunk = dirindex_chunk_at(x, off, chunk_off);
	}
	arena_free(&scratch);
	return err;
}

enum xs_err store_child_chunk(const char *parent, const char *name, uint32_t *chunk, size_t *chunk_off)
{
	struct arena scratch = {0};
	struct store_node n;
	struct chunk ch;
	struct fmt_entry e;
	struct dirindex *x;
	enum xs_err err = store_record_read(&scratch, parent, false, &n);

	*chunk = 0;
	*chunk_off = 0;
	if (err == XSE_OK)
		err = find_child(&scratch, parent, &n, name, &ch, &e);
	if (err == XSE_OK) {
		*chunk = ch.id;
		if (ch.id != n.first_chunk &&
		    (!(x = sized_index_of(&scratch, parent, &n)) || !dirindex_chunk_offset(x, ch.id, chunk_off)))
			err = XSE_ENOMEM;
	}
	arena_free(&scratch);
	return err;
}


enum xs_err store_chunk_nodes(const char *parent, uint32_t *chunk, store_child_node_fn cb, void *ctx)
{
	struct arena scratch = {0};
	struct store_node n;
	struct chunk ch;
	struct fmt_entry e;
	uint32_t id = *chunk;
	enum xs_err err = XSE_OK;
	bool more = true;

	*chunk = 0;
	if (!id) {
		if ((err = store_record_read(&scratch, parent, false, &n)) != XSE_OK || !(id = n.first_chunk)) {
			arena_free(&scratch);
			return err;
		}
	}
	/* Quiet: a chunk gone since the caller was told its id is no damage. */
	if ((err = read_chunk_q(&scratch, parent, id, &ch, true)) != XSE_OK) {
		unsigned char kb[XS_PATH_BUF + 8];

		arena_free(&scratch);
		return err == XSE_EIO && !rec_exists(chunk_key(kb, parent, id)) ? XSE_ENOENT : err;
	}
	for (size_t off = 0; more && off < ch.len && fmt_entry_at(ch.body, ch.len, off, &e); off += e.len) {
		struct arena_mark m = arena_mark(&scratch);
		char cpath[XS_PATH_BUF];
		struct store_node child;

		/* Kept in the chunk: decoded where it is, no lookup; else its record. */
		if (!(e.flags & ENTRY_OWN_RECORD)) {
			err = entry_node(&scratch, &e, false, &child);
		} else {
			child_path(cpath, parent, e.name);
			if ((err = store_record_read(&scratch, cpath, false, &child)) == XSE_ENOENT)
				err = XSE_EIO; /* the record the chunk stands for is missing */
		}
		if (err != XSE_OK)
			break;
		more = cb(ctx, e.name, &child);
		arena_rewind(&scratch, m);
	}
	if (err == XSE_OK && more)
		*chunk = ch.next;
	arena_free(&scratch);
	return err;
}

bool store_has_children(const char *path)
{
	struct arena scratch = {0};
	struct store_node n;
	/* A node with children has a record of its own. */
	bool has = store_record_read(&scratch, path, false, &n) == XSE_OK && n.first_chunk;

	arena_free(&scratch);
	return has;
}

enum xs_err store_child_nodes(const char *parent, store_child_node_fn cb, void *ctx)
{
	uint32_t chunk = 0;
	enum xs_err err = store_chunk_nodes(parent, &chunk, cb, ctx);

	if (err == XSE_ENOENT)
		return XSE_OK; /* no record: no children */
	while (err == XSE_OK && chunk)
		if ((err = store_chunk_nodes(parent, &chunk, cb, ctx)) == XSE_ENOENT)
			err = XSE_EIO; /* a chunk its chain names is missing */
	return err;
}

struct names_walk {
	store_child_fn cb;
	void *ctx;
};

static bool visit_names(void *ctx, uint32_t id, const char *names, size_t len)
{
	struct names_walk *w = ctx;

	(void)id;
	for (size_t off = 0; off < len; off += strlen(names + off) + 1)
		if (!w->cb(w->ctx, names + off))
			return false;
	return true;
}

enum xs_err store_children(const char *parent, store_child_fn cb, void *ctx)
{
	struct names_walk w = {cb, ctx};

	return store_chunks(parent, 0, visit_names, &w);
}

enum xs_err walker_start(struct store_walker *w, const char *root, store_visit_fn visit, void *ctx)
{
	enum xs_err err;

	memset(w, 0, sizeof(*w));
	w->visit = visit;
	w->ctx = ctx;
	strcpy(w->cur, root);
	if ((err = store_read(&w->scratch, w->cur, true, &w->n)) != XSE_OK)
		return err;
	/* Iterative: depth is guest-controlled. The frame stack grows with the tree's depth. */
	w->next_chunk = visit(ctx, w->cur, &w->n) ? w->n.first_chunk : 0;
	return XSE_OK;
}

/* A fault at what: err, with it said in w->fault. */
static enum xs_err walk_fault(struct store_walker *w, enum xs_err err, const char *what, uint32_t chunk)
{
	if (chunk)
		snprintf(w->fault, sizeof(w->fault), "%s: chunk %u", what, chunk);
	else
		snprintf(w->fault, sizeof(w->fault), "%s", what);
	return err;
}

enum xs_err walker_step(struct store_walker *w, size_t budget, bool *more)
{
	enum xs_err err;

	*more = false;
	while (budget) {
		struct fmt_entry e;

		/* Find the next entry at this level, moving to the next chunk or up as needed. */
		while (w->next_chunk) {
			if (!w->have_chunk) {
				arena_reset(&w->held);
				if ((err = store_chunk_read(&w->held, w->cur, w->next_chunk, &w->ch)) != XSE_OK)
					return walk_fault(w, err, w->cur, w->next_chunk);
				w->have_chunk = true;
			}
			if (w->next_off < w->ch.len)
				break;
			w->next_chunk = w->ch.next;
			w->next_off = 0;
			w->have_chunk = false;
		}
		if (!w->next_chunk) {
			if (!w->depth)
				return XSE_OK;
			w->depth--;
			w->cur[xs_path_parent_len(w->cur) ? xs_path_parent_len(w->cur) : 1] = '\0';
			w->next_chunk = w->stack[w->depth].chunk;
			w->next_off = w->stack[w->depth].off;
			w->have_chunk = false;
			continue;
		}
		if (!fmt_entry_at(w->ch.body, w->ch.len, w->next_off, &e))
			return walk_fault(w, XSE_EIO, w->cur, w->next_chunk);
		char sub[XS_PATH_BUF];

		child_path(sub, w->cur, e.name);
		w->next_off += e.len;
		arena_reset(&w->scratch);
		budget--;
		if (!(e.flags & ENTRY_OWN_RECORD)) {
			if ((err = entry_node(&w->scratch, &e, true, &w->n)) != XSE_OK)
				return walk_fault(w, err, sub, 0);
			w->visit(w->ctx, sub, &w->n);
			continue;
		}
		if ((err = store_record_read(&w->scratch, sub, true, &w->n)) != XSE_OK) {
			if (err == XSE_ENOMEM)
				return walk_fault(w, err, sub, 0);
			log_warnx("store: %s is listed but its record is missing", sub);
			return walk_fault(w, XSE_EIO, sub, 0);
		}
		if (!w->visit(w->ctx, sub, &w->n) || !w->n.first_chunk)
			continue;
		if (!GROW(w->stack, w->cap, w->depth + 1, 16))
			return walk_fault(w, XSE_ENOMEM, "no memory", 0);
		w->stack[w->depth].chunk = w->next_chunk;
		w->stack[w->depth].off = w->next_off;
		w->depth++;
		strcpy(w->cur, sub);
		w->next_chunk = w->n.first_chunk;
		w->next_off = 0;
		w->have_chunk = false;
	}
	*more = true;
	return XSE_OK;
}

void walker_free(struct store_walker *w)
{
	free(w->stack);
	w->stack = NULL;
	arena_free(&w->scratch);
	arena_free(&w->held);
}

enum xs_err store_walk_fault(const char *root, store_visit_fn visit, void *ctx, char *fault)
{
	struct store_walker *w = malloc(sizeof(*w));
	enum xs_err err = XSE_OK;
	bool more;

	if (!w) {
		snprintf(fault, XS_PATH_BUF, "no memory");
		return XSE_ENOMEM;
	}
	/* A root that cannot be read leaves nothing to walk. */
	if (walker_start(w, root, visit, ctx) == XSE_OK && (err = walker_step(w, SIZE_MAX, &more)) != XSE_OK)
		snprintf(fault, XS_PATH_BUF, "%.*s", XS_PATH_BUF - 1, w->fault);
	walker_free(w);
	free(w);
	return err;
}

enum xs_err store_walk(const char *root, store_visit_fn visit, void *ctx)
{
	char fault[XS_PATH_BUF];

	return store_walk_fault(root, visit, ctx, fault);
}

/* Notes are the store's own records (store_aux_*) put in a group of their own when none is open. */
enum xs_err store_note_put(const char *name, const void *bytes, size_t len)
{
	size_t nl = strlen(name);

	store_group_begin();
	return store_group_end(len ? store_aux_put(name, nl, bytes, len) : store_aux_del(name, nl));
}

struct note_read {
	struct arena *a;
	void *bytes;
	size_t len;
};

static void take_note(void *p, const unsigned char *data, size_t len)
{
	struct note_read *r = p;

	r->len = len;
	r->bytes = arena_memdup(r->a, data, len);
}

enum xs_err store_note_get(struct arena *a, const char *name, void **bytes, size_t *len)
{
	struct note_read r = {a, NULL, 0};
	enum xs_err err = store_aux_read(name, strlen(name), take_note, &r);

	if (err != XSE_OK)
		return err;
	if (!r.bytes)
		return XSE_ENOMEM;
	*bytes = r.bytes;
	*len = r.len;
	return XSE_OK;
}

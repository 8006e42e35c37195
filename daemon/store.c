/* The persistent tree in a tdb file: node records, insertion-ordered child links, generations, commits. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "../proto/path.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"
#include "regions.h"

/*
 * Two kinds of records.
 *
 * A node, keyed by its path (no NUL): u8 flags, varint gen, varint nperms,
 * nperms x (u8 access|ignored<<7, varint id), then by flag: the value
 * (varint len, bytes); the children (varint count, varint byte size of the
 * child list, varint first and last chunk ids, varint next chunk id); the
 * id of the parent's chunk that holds this node's name.
 *
 * A chunk of a directory's child names, keyed by "<parent path>\0<varint
 * id>": varint previous and next chunk ids (0: none), varint length, the
 * names, each NUL-terminated, in insertion order, then room to grow.
 * Chunks form a list in the parent; a new name goes into the last chunk,
 * or a new one when that is full, so
 * creating or deleting a node rewrites one chunk, its parent and itself,
 * whatever the size of the directory; listing reads the names in chunk-sized
 * pieces rather than one record per child.
 *
 * Beside them, one meta record (key "\0xenstored-meta"): magic, clean-stop
 * flag, generation counter, and the last journal entry applied (store_commit).
 */
#define REC_CHILDREN 0x01u
#define REC_CHUNK 0x02u
#define REC_VALUE 0x08u
#define REC_FLAGS_KNOWN 0x0bu
#define CHUNK_BYTES 1024u /* names per chunk, in bytes (one longer name may exceed it alone) */
#define STORE_META_KEY "\0xenstored-meta"
#define STORE_META_MAGIC 0x58534434u /* "XSD4" */

struct store_meta {
	uint32_t magic;
	uint32_t clean;
	uint64_t gen;
	uint64_t applied; /* absent from stores written before the journal: 0 */
};
#define STORE_META_OLD_SIZE 16u

static struct tdb_context *store_tdb;
static uint64_t store_gen;
static uint64_t store_applied;     /* the last journal entry applied to the store */
static uint64_t store_journal_seq; /* the last journal entry written */
static bool store_sync;            /* not on tmpfs: sync before the journal moves on */

/* Encoding buffer, reused: a record is at most a few payloads big. */
static unsigned char *enc_buf;
static size_t enc_len, enc_cap;

static bool enc_reserve(size_t more)
{
	if (enc_len + more <= enc_cap)
		return true;
	size_t cap = enc_cap ? enc_cap : 1024;

	while (cap < enc_len + more)
		cap *= 2;
	unsigned char *nb = realloc(enc_buf, cap);

	if (!nb)
		return false;
	enc_buf = nb;
	enc_cap = cap;
	return true;
}

static void enc_varint(uint64_t v)
{
	while (v >= 0x80) {
		enc_buf[enc_len++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	enc_buf[enc_len++] = (unsigned char)v;
}

static void enc_bytes(const void *p, size_t n)
{
	if (!n)
		return;
	memcpy(enc_buf + enc_len, p, n);
	enc_len += n;
}

static bool encode(const struct store_node *n)
{
	size_t need = 1 + 10 + 5 + (size_t)n->nperms * 6 + 5 + n->vlen + 5 * 10 + 5;
	unsigned flags = (n->first_chunk ? REC_CHILDREN : 0) | (n->chunk ? REC_CHUNK : 0) |
			 (n->vlen ? REC_VALUE : 0);

	enc_len = 0;
	if (!enc_reserve(need))
		return false;
	enc_buf[enc_len++] = (unsigned char)flags;
	enc_varint(n->gen);
	enc_varint(n->nperms);
	for (unsigned i = 0; i < n->nperms; i++) {
		enc_buf[enc_len++] = (unsigned char)(n->perms[i].access | (n->perms[i].ignored ? 0x80 : 0));
		enc_varint(n->perms[i].id);
	}
	if (flags & REC_VALUE) {
		enc_varint(n->vlen);
		enc_bytes(n->value, n->vlen);
	}
	if (flags & REC_CHILDREN) {
		enc_varint(n->nchildren);
		enc_varint(n->children_bytes);
		enc_varint(n->first_chunk);
		enc_varint(n->last_chunk);
		enc_varint(n->next_chunk_id);
	} else if (n->next_chunk_id) {
		/* Keep the id counter of an emptied directory: ids are never reused. */
		flags |= REC_CHILDREN;
		enc_buf[0] = (unsigned char)flags;
		enc_varint(0);
		enc_varint(0);
		enc_varint(0);
		enc_varint(0);
		enc_varint(n->next_chunk_id);
	}
	if (flags & REC_CHUNK)
		enc_varint(n->chunk);
	return true;
}

struct dec {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t dec_varint(struct dec *d)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (d->p >= d->end) {
			d->bad = true;
			return 0;
		}
		unsigned char b = *d->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	d->bad = true;
	return 0;
}

static const unsigned char *dec_take(struct dec *d, uint64_t n)
{
	const unsigned char *p = d->p;

	if ((uint64_t)(d->end - d->p) < n) {
		d->bad = true;
		return NULL;
	}
	d->p += n;
	return p;
}

struct parse_ctx {
	struct arena *a;
	struct store_node *out;
	bool with_value;
	bool bad;
};

static int parse_record(TDB_DATA key, TDB_DATA data, void *private_data)
{
	struct parse_ctx *c = private_data;
	struct store_node *n = c->out;
	struct dec d = {data.dptr, data.dptr + data.dsize, false};
	unsigned flags;

	(void)key;
	memset(n, 0, sizeof(*n));
	if (data.dsize < 1 || (*d.p & ~REC_FLAGS_KNOWN)) {
		c->bad = true;
		return 0;
	}
	flags = *d.p++;
	n->gen = dec_varint(&d);
	uint64_t np = dec_varint(&d);

	if (np > XS_PERMS_MAX)
		d.bad = true;
	n->nperms = d.bad ? 0 : (unsigned)np;
	n->perms = arena_alloc(c->a, sizeof(*n->perms) * (n->nperms ? n->nperms : 1));
	if (!n->perms)
		d.bad = true;
	for (unsigned i = 0; i < n->nperms && !d.bad; i++) {
		const unsigned char *b = dec_take(&d, 1);

		if (!b)
			break;
		n->perms[i].access = *b & 0x3;
		n->perms[i].ignored = (*b & 0x80) != 0;
		n->perms[i].id = (uint32_t)dec_varint(&d);
	}
	n->value = "";
	if (flags & REC_VALUE) {
		uint64_t vlen = dec_varint(&d);
		const unsigned char *v = dec_take(&d, vlen);

		n->vlen = (size_t)vlen;
		if (v && c->with_value) {
			n->value = arena_memdup(c->a, v, n->vlen);
			if (!n->value)
				d.bad = true;
		}
	}
	if (flags & REC_CHILDREN) {
		n->nchildren = (unsigned)dec_varint(&d);
		n->children_bytes = (size_t)dec_varint(&d);
		n->first_chunk = (uint32_t)dec_varint(&d);
		n->last_chunk = (uint32_t)dec_varint(&d);
		n->next_chunk_id = (uint32_t)dec_varint(&d);
	}
	if (flags & REC_CHUNK)
		n->chunk = (uint32_t)dec_varint(&d);
	c->bad = d.bad;
	return 0;
}

static TDB_DATA key_of(const char *path)
{
	TDB_DATA k = {(unsigned char *)path, strlen(path)};

	return k;
}

int store_read(struct arena *a, const char *path, bool with_value, struct store_node *out)
{
	struct parse_ctx c = {a, out, with_value, false};

	if (tdb_parse_record(store_tdb, key_of(path), parse_record, &c) != 0)
		return 0;
	if (c.bad) {
		log_error("store: damaged record for %s", path);
		return -1;
	}
	return 1;
}

static enum xs_err put(const char *path, const struct store_node *n)
{
	if (!encode(n))
		return XSE_ENOMEM;
	TDB_DATA d = {enc_buf, enc_len};

	if (tdb_store(store_tdb, key_of(path), d, TDB_REPLACE) != 0) {
		log_error("store: writing %s: %s", path, tdb_errorstr(store_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

/* Build "<parent>/<name>" into buf (XS_PATH_BUF bytes). */
static void child_path(char *buf, const char *parent, const char *name)
{
	size_t pl = strlen(parent);

	if (pl == 1 && parent[0] == '/')
		pl = 0;
	memcpy(buf, parent, pl);
	buf[pl] = '/';
	strcpy(buf + pl + 1, name);
}

static void parent_of(char *buf, const char *path)
{
	size_t pl = xs_path_parent_len(path);

	memcpy(buf, path, pl);
	buf[pl] = '\0';
}

/* A chunk of child names as read: its neighbours and its names (in an arena). */
struct chunk {
	uint32_t prev, next;
	char *names;
	size_t len;
};

/* Key "<parent>\0<varint id>" in buf (XS_PATH_BUF + 8 bytes). */
static TDB_DATA chunk_key(unsigned char *buf, const char *parent, uint32_t id)
{
	size_t pl = strlen(parent);
	TDB_DATA k;

	memcpy(buf, parent, pl);
	buf[pl++] = '\0';
	do {
		buf[pl++] = (unsigned char)(id | (id >= 0x80 ? 0x80 : 0));
		id >>= 7;
	} while (id);
	k.dptr = buf;
	k.dsize = pl;
	return k;
}

struct chunk_parse {
	struct arena *a;
	struct chunk *out;
	bool bad;
};

static int parse_chunk(TDB_DATA key, TDB_DATA data, void *private_data)
{
	struct chunk_parse *c = private_data;
	struct dec d = {data.dptr, data.dptr + data.dsize, false};

	(void)key;
	c->out->prev = (uint32_t)dec_varint(&d);
	c->out->next = (uint32_t)dec_varint(&d);
	uint64_t len = dec_varint(&d);
	const unsigned char *names = dec_take(&d, len);

	c->out->len = (size_t)len;
	c->out->names = names ? arena_memdup(c->a, names, c->out->len) : NULL;
	c->bad = d.bad || !c->out->names || (c->out->len && names[len - 1] != '\0');
	return 0;
}

static int read_chunk(struct arena *a, const char *parent, uint32_t id, struct chunk *out)
{
	unsigned char kb[XS_PATH_BUF + 8];
	struct chunk_parse c = {a, out, false};

	if (tdb_parse_record(store_tdb, chunk_key(kb, parent, id), parse_chunk, &c) != 0 || c.bad) {
		log_error("store: chunk %u of %s missing or damaged", id, parent);
		return -1;
	}
	return 0;
}

static enum xs_err put_chunk(const char *parent, uint32_t id, const struct chunk *ch)
{
	unsigned char kb[XS_PATH_BUF + 8];

	/*
	 * Room to grow, in powers of two: a chunk filling up one name at a time
	 * is then moved by tdb a handful of times rather than at every few
	 * appends (each move is a search of tdb's free list).
	 */
	size_t room = 64;

	while (room < ch->len)
		room *= 2;
	enc_len = 0;
	if (!enc_reserve(15 + room))
		return XSE_ENOMEM;
	enc_varint(ch->prev);
	enc_varint(ch->next);
	enc_varint(ch->len);
	enc_bytes(ch->names, ch->len);
	memset(enc_buf + enc_len, 0, room - ch->len);
	enc_len += room - ch->len;
	TDB_DATA d = {enc_buf, enc_len};

	if (tdb_store(store_tdb, chunk_key(kb, parent, id), d, TDB_REPLACE) != 0) {
		log_error("store: writing a chunk of %s: %s", parent, tdb_errorstr(store_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

static enum xs_err delete_chunk(const char *parent, uint32_t id)
{
	unsigned char kb[XS_PATH_BUF + 8];

	return tdb_delete(store_tdb, chunk_key(kb, parent, id)) == 0 ? XSE_OK : XSE_EIO;
}

/* Change the previous/next link of chunk id (0: nothing to do). */
static enum xs_err relink_chunk(struct arena *a, const char *parent, uint32_t id, bool set_prev,
				uint32_t to)
{
	struct chunk ch;

	if (!id)
		return XSE_OK;
	if (read_chunk(a, parent, id, &ch) < 0)
		return XSE_EIO;
	if (set_prev)
		ch.prev = to;
	else
		ch.next = to;
	return put_chunk(parent, id, &ch);
}

/* Append a name to the parent's list; *chunk_id gets the chunk that holds it. */
static enum xs_err chunk_append(struct arena *a, const char *ppath, struct store_node *parent,
				const char *name, uint32_t *chunk_id)
{
	size_t nlen = strlen(name) + 1;
	struct chunk ch;
	enum xs_err err;

	if (parent->last_chunk) {
		if (read_chunk(a, ppath, parent->last_chunk, &ch) < 0)
			return XSE_EIO;
		if (ch.len + nlen <= CHUNK_BYTES) {
			char *names = arena_alloc(a, ch.len + nlen);

			if (!names)
				return XSE_ENOMEM;
			memcpy(names, ch.names, ch.len);
			memcpy(names + ch.len, name, nlen);
			ch.names = names;
			ch.len += nlen;
			*chunk_id = parent->last_chunk;
			return put_chunk(ppath, parent->last_chunk, &ch);
		}
	}
	/* A new chunk at the end of the list. */
	uint32_t id = parent->next_chunk_id ? parent->next_chunk_id : 1;
	struct chunk fresh = {parent->last_chunk, 0, (char *)name, nlen};

	parent->next_chunk_id = id + 1;
	if ((err = put_chunk(ppath, id, &fresh)) != XSE_OK)
		return err;
	if (parent->last_chunk) {
		ch.next = id;
		if ((err = put_chunk(ppath, parent->last_chunk, &ch)) != XSE_OK)
			return err;
	} else {
		parent->first_chunk = id;
	}
	parent->last_chunk = id;
	*chunk_id = id;
	return XSE_OK;
}

/* Take a name out of its chunk, dropping the chunk when it empties. */
static enum xs_err chunk_remove(struct arena *a, const char *ppath, struct store_node *parent,
				uint32_t id, const char *name)
{
	size_t nlen = strlen(name) + 1;
	struct chunk ch;
	enum xs_err err;

	if (read_chunk(a, ppath, id, &ch) < 0)
		return XSE_EIO;
	for (size_t off = 0; off < ch.len; off += strlen(ch.names + off) + 1) {
		if (strcmp(ch.names + off, name) != 0)
			continue;
		memmove(ch.names + off, ch.names + off + nlen, ch.len - off - nlen);
		ch.len -= nlen;
		if (ch.len)
			return put_chunk(ppath, id, &ch);
		if ((err = relink_chunk(a, ppath, ch.prev, false, ch.next)) != XSE_OK ||
		    (err = relink_chunk(a, ppath, ch.next, true, ch.prev)) != XSE_OK)
			return err;
		if (parent->first_chunk == id)
			parent->first_chunk = ch.next;
		if (parent->last_chunk == id)
			parent->last_chunk = ch.prev;
		return delete_chunk(ppath, id);
	}
	log_error("store: %s not in chunk %u of %s", name, id, ppath);
	return XSE_EIO;
}

static bool perms_name(const struct xs_perm *p, unsigned n, uint32_t domid)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i].id == domid)
			return true;
	return false;
}

/*
 * Keep the regions index (regions.h) as a node's permissions come (add) or
 * go: the node starts a region of each domain it names that its parent,
 * with permissions pperms, does not name.
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

struct regions_children {
	const char *parent;
	const struct xs_perm *perms; /* the parent's new permissions */
	unsigned nperms;
	const struct xs_perm *dropped; /* its old ones */
	unsigned ndropped;
};

/* A child naming a domain its parent stopped naming starts a region of it now. */
static bool child_regions(void *ctx, const char *name)
{
	struct regions_children *rc = ctx;
	struct arena a = {0};
	struct store_node n;
	char path[XS_PATH_BUF];

	child_path(path, rc->parent, name);
	if (store_read(&a, path, false, &n) != 1)
		regions_lost();
	else {
		for (unsigned i = 0; i < n.nperms; i++) {
			uint32_t d = n.perms[i].id;

			if (perms_name(rc->dropped, rc->ndropped, d) &&
			    !perms_name(rc->perms, rc->nperms, d))
				regions_add(d, path);
		}
	}
	arena_free(&a);
	return true;
}

/* A node's permissions change from old to new: the index follows, for it and its children. */
static void regions_perms_changed(struct arena *a, const char *path, const struct xs_perm *old,
				  unsigned nold, const struct xs_perm *perms, unsigned nperms)
{
	struct regions_children rc = {path, perms, nperms, old, nold};
	bool gained = false, lost = false;

	for (unsigned i = 0; i < nperms; i++)
		gained |= !perms_name(old, nold, perms[i].id);
	for (unsigned i = 0; i < nold; i++)
		lost |= !perms_name(perms, nperms, old[i].id);
	/* Special (@) nodes are cleaned up by name, not through regions. */
	if (gained && path[0] == '/') {
		char ppath[XS_PATH_BUF];
		struct store_node parent = {0};

		if (strcmp(path, "/") != 0) {
			parent_of(ppath, path);
			if (store_read(a, ppath, false, &parent) != 1)
				regions_lost();
		}
		note_regions(path, perms, nperms, parent.perms, parent.nperms, true);
	}
	if (lost) {
		for (unsigned i = 0; i < nold; i++)
			if (!perms_name(perms, nperms, old[i].id))
				regions_del(old[i].id, path);
		if (store_children(path, child_regions, &rc) < 0)
			regions_lost();
	}
}

enum xs_err store_create(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	char ppath[XS_PATH_BUF];
	struct store_node parent, node = {0};
	enum xs_err err;

	parent_of(ppath, path);
	if (store_read(a, ppath, true, &parent) != 1)
		return XSE_EIO;
	node.perms = (struct xs_perm *)perms;
	node.nperms = nperms;
	node.value = value;
	node.vlen = vlen;
	err = chunk_append(a, ppath, &parent, xs_path_basename(path), &node.chunk);
	if (err != XSE_OK)
		return err;
	node.gen = ++store_gen;
	parent.nchildren++;
	parent.children_bytes += strlen(xs_path_basename(path)) + 1;
	parent.gen = ++store_gen;
	if ((err = put(path, &node)) != XSE_OK)
		return err;
	note_regions(path, perms, nperms, parent.perms, parent.nperms, true);
	return put(ppath, &parent);
}

enum xs_err store_update(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	struct store_node n;

	const struct xs_perm *old;
	unsigned nold;
	enum xs_err err;

	if (store_read(a, path, true, &n) != 1)
		return XSE_EIO;
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
	n.gen = ++store_gen;
	err = put(path, &n);
	if (err == XSE_OK && perms)
		regions_perms_changed(a, path, old, nold, perms, nperms);
	return err;
}

/* Take a node out of its parent's child list (the node record itself stays). */
static enum xs_err unlink_child(struct arena *a, const char *path, const struct store_node *n)
{
	char ppath[XS_PATH_BUF];
	struct store_node parent;
	enum xs_err err;

	parent_of(ppath, path);
	if (store_read(a, ppath, true, &parent) != 1)
		return XSE_EIO;
	err = chunk_remove(a, ppath, &parent, n->chunk, xs_path_basename(path));
	if (err != XSE_OK)
		return err;
	parent.nchildren--;
	parent.children_bytes -= strlen(xs_path_basename(path)) + 1;
	parent.gen = ++store_gen;
	return put(ppath, &parent);
}

/* The first child's name of a node with children (arena), NULL if none. */
static const char *first_child(struct arena *a, const char *path, const struct store_node *n)
{
	struct chunk ch;

	if (!n->first_chunk || read_chunk(a, path, n->first_chunk, &ch) < 0 || !ch.len)
		return NULL;
	return ch.names;
}

enum xs_err store_remove(const char *path, store_removed_fn cb, void *ctx)
{
	struct arena scratch = {0};
	char cur[XS_PATH_BUF];
	struct store_node n;
	enum xs_err err = XSE_OK;
	int r;

	if (strcmp(path, "/") == 0)
		return XSE_EINVAL;
	r = store_read(&scratch, path, false, &n);
	if (r <= 0) {
		arena_free(&scratch);
		return r == 0 ? XSE_OK : XSE_EIO;
	}
	err = unlink_child(&scratch, path, &n);
	if (err != XSE_OK) {
		/* Not listed any more: a removal cut short by a crash, being done again. */
		log_error("store: removing %s, which its parent no longer lists", path);
		err = XSE_OK;
	}
	strcpy(cur, path);
	/*
	 * Iterative post-order walk: always descend into the first child; a
	 * leaf is deleted and taken out of its parent's first chunk. Depth is
	 * guest-controlled, so no recursion.
	 */
	while (err == XSE_OK) {
		arena_reset(&scratch);
		if (store_read(&scratch, cur, true, &n) != 1) {
			err = XSE_EIO;
			break;
		}
		if (n.first_chunk) {
			const char *first = first_child(&scratch, cur, &n);
			char sub[XS_PATH_BUF];

			if (!first) {
				err = XSE_EIO;
				break;
			}
			child_path(sub, cur, first);
			strcpy(cur, sub);
			continue;
		}
		if (cb)
			cb(ctx, cur, &n);
		if (tdb_delete(store_tdb, key_of(cur)) != 0) {
			err = XSE_EIO;
			break;
		}
		note_regions(cur, n.perms, n.nperms, NULL, 0, false);
		if (strcmp(cur, path) == 0)
			break;
		err = unlink_child(&scratch, cur, &n);
		cur[xs_path_parent_len(cur)] = '\0';
	}
	arena_free(&scratch);
	return err;
}

int store_chunks(const char *parent, uint32_t from, store_chunk_fn cb, void *ctx)
{
	struct arena scratch = {0};
	struct store_node n;
	struct chunk ch;
	uint32_t id = from;
	int rc = 0;

	if (!id) {
		int r = store_read(&scratch, parent, false, &n);

		if (r != 1) {
			arena_free(&scratch);
			return r; /* an absent node has no children */
		}
		id = n.first_chunk;
	}
	while (id) {
		arena_reset(&scratch);
		if (read_chunk(&scratch, parent, id, &ch) < 0) {
			rc = -1;
			break;
		}
		if (!cb(ctx, id, ch.names, ch.len))
			break;
		id = ch.next;
	}
	arena_free(&scratch);
	return rc;
}

struct names_walk {
	store_child_fn cb;
	void *ctx;
};

static bool chunk_names(void *ctx, uint32_t id, const char *names, size_t len)
{
	struct names_walk *w = ctx;

	(void)id;
	for (size_t off = 0; off < len; off += strlen(names + off) + 1)
		if (!w->cb(w->ctx, names + off))
			return false;
	return true;
}

int store_children(const char *parent, store_child_fn cb, void *ctx)
{
	struct names_walk w = {cb, ctx};

	return store_chunks(parent, 0, chunk_names, &w);
}

/* A pre-order walk's position at one level: which chunk, and which name in it. */
struct walk_frame {
	uint32_t chunk;
	size_t off;
};

int store_walk(const char *root, store_visit_fn visit, void *ctx)
{
	struct arena scratch = {0};
	char cur[XS_PATH_BUF];
	struct walk_frame *stack = NULL;
	size_t depth = 0, cap = 0;
	struct store_node n;
	int rc = 0;

	strcpy(cur, root);
	if (store_read(&scratch, cur, true, &n) != 1) {
		arena_free(&scratch);
		return 0;
	}
	/* Iterative: depth is guest-controlled. The frame stack grows with the tree's depth. */
	bool descend = visit(ctx, cur, &n);
	uint32_t next_chunk = descend ? n.first_chunk : 0;
	size_t next_off = 0;

	for (;;) {
		struct chunk ch;

		/* Find the next name at this level, moving to the next chunk or up as needed. */
		while (next_chunk) {
			arena_reset(&scratch);
			if (read_chunk(&scratch, cur, next_chunk, &ch) < 0) {
				rc = -1;
				goto out;
			}
			if (next_off < ch.len)
				break;
			next_chunk = ch.next;
			next_off = 0;
		}
		if (!next_chunk) {
			if (!depth)
				break;
			depth--;
			cur[xs_path_parent_len(cur) ? xs_path_parent_len(cur) : 1] = '\0';
			next_chunk = stack[depth].chunk;
			next_off = stack[depth].off;
			continue;
		}
		const char *name = ch.names + next_off;
		char sub[XS_PATH_BUF];

		if (depth == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct walk_frame *ns = realloc(stack, nc * sizeof(*ns));

			if (!ns) {
				rc = -1;
				goto out;
			}
			stack = ns;
			cap = nc;
		}
		stack[depth].chunk = next_chunk;
		stack[depth].off = next_off + strlen(name) + 1;
		depth++;
		child_path(sub, cur, name);
		strcpy(cur, sub);
		arena_reset(&scratch);
		if (store_read(&scratch, cur, true, &n) != 1) {
			rc = -1;
			goto out;
		}
		descend = visit(ctx, cur, &n);
		next_chunk = descend ? n.first_chunk : 0;
		next_off = 0;
	}
out:
	free(stack);
	arena_free(&scratch);
	return rc;
}

struct check_ctx {
	size_t reached; /* nodes the walk from "/" visited */
	char fault[XS_PATH_BUF + 128];
};

static bool check_visit(void *ctx, const char *path, const struct store_node *n)
{
	struct check_ctx *c = ctx;
	struct arena a = {0};
	unsigned count = 0;
	size_t bytes = 0;
	uint32_t id = n->first_chunk, prev = 0;
	char cpath[XS_PATH_BUF];

	c->reached++;
	while (id && !c->fault[0]) {
		struct chunk ch;

		arena_reset(&a);
		if (read_chunk(&a, path, id, &ch) < 0) {
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u missing", path, id);
			break;
		}
		if (ch.prev != prev || !ch.len)
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u badly linked", path, id);
		for (size_t off = 0; off < ch.len && !c->fault[0]; off += strlen(ch.names + off) + 1) {
			struct store_node child;

			child_path(cpath, path, ch.names + off);
			if (store_read(&a, cpath, false, &child) != 1 || child.chunk != id)
				snprintf(c->fault, sizeof(c->fault), "%s: listed but %s", cpath,
					 child.chunk != id ? "in another chunk" : "missing");
			count++;
			bytes += strlen(ch.names + off) + 1;
		}
		if (!ch.next && id != n->last_chunk)
			snprintf(c->fault, sizeof(c->fault), "%s: last chunk is not %u", path, id);
		prev = id;
		id = ch.next;
	}
	if (!c->fault[0] && (count != n->nchildren || bytes != n->children_bytes))
		snprintf(c->fault, sizeof(c->fault), "%s: %u children of %zu bytes listed, %u of %zu recorded",
			 path, count, bytes, n->nchildren, n->children_bytes);
	arena_free(&a);
	return !c->fault[0];
}

static int count_tree_records(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	(void)tdb;
	(void)data;
	/* Node records of the tree: their key is a path, with no NUL (chunks and meta have one). */
	if (key.dsize && key.dptr[0] == '/' && !memchr(key.dptr, '\0', key.dsize))
		(*(size_t *)p)++;
	return 0;
}

const char *store_check(void)
{
	static struct check_ctx c;
	size_t records = 0;

	c.fault[0] = '\0';
	c.reached = 0;
	if (store_walk("/", check_visit, &c) < 0 && !c.fault[0])
		snprintf(c.fault, sizeof(c.fault), "a record could not be read");
	/* A removal cut short leaves records that no list reaches any more. */
	if (!c.fault[0] && tdb_traverse_read(store_tdb, count_tree_records, &records) >= 0 &&
	    records != c.reached)
		snprintf(c.fault, sizeof(c.fault), "%zu node records, %zu reachable from /", records,
			 c.reached);
	return c.fault[0] ? c.fault : NULL;
}

/* A tdb transaction on the store itself: only for repairs, whose cost does not matter. */
static enum xs_err batch_begin(void)
{
	return tdb_transaction_start(store_tdb) == 0 ? XSE_OK : XSE_EIO;
}

static enum xs_err batch_commit(void)
{
	if (tdb_transaction_commit(store_tdb) != 0) {
		log_error("store: commit failed: %s", tdb_errorstr(store_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

uint64_t store_generation(void)
{
	return store_gen;
}

static enum xs_err write_meta(bool clean)
{
	struct store_meta m = {STORE_META_MAGIC, clean ? 1u : 0u, store_gen, store_applied};
	TDB_DATA k = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	TDB_DATA d = {(unsigned char *)&m, sizeof(m)};

	return tdb_store(store_tdb, k, d, TDB_REPLACE) == 0 ? XSE_OK : XSE_EIO;
}

/*
 * A commit's changes as the journal keeps them: per change u8 kind, varint
 * path length, the path; for STORE_SET u8 flags (1: permissions, 2: value),
 * then varint count and the permissions as in node records, then varint
 * length and the value.
 */
#define CHANGE_PERMS 0x01u
#define CHANGE_VALUE 0x02u

static bool encode_changes(const struct store_change *c, size_t n)
{
	enc_len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(c[i].path);

		if (!enc_reserve(1 + 10 + plen + 1 + 10 + (size_t)c[i].nperms * 6 + 10 + c[i].vlen))
			return false;
		enc_buf[enc_len++] = (unsigned char)c[i].kind;
		enc_varint(plen);
		enc_bytes(c[i].path, plen);
		if (c[i].kind != STORE_SET)
			continue;
		enc_buf[enc_len++] = (unsigned char)((c[i].perms ? CHANGE_PERMS : 0) |
						     (c[i].value ? CHANGE_VALUE : 0));
		if (c[i].perms) {
			enc_varint(c[i].nperms);
			for (unsigned k = 0; k < c[i].nperms; k++) {
				enc_buf[enc_len++] = (unsigned char)(c[i].perms[k].access |
								     (c[i].perms[k].ignored ? 0x80 : 0));
				enc_varint(c[i].perms[k].id);
			}
		}
		if (c[i].value) {
			enc_varint(c[i].vlen);
			enc_bytes(c[i].value, c[i].vlen);
		}
	}
	return true;
}

/* The changes of a journal entry, in arena a; false if it does not parse. */
static bool decode_changes(struct arena *a, const unsigned char *p, size_t len,
			   struct store_change **out, size_t *n_out)
{
	struct dec d = {p, p + len, false};
	size_t n = 0, cap = 0;
	struct store_change *c = NULL;

	while (d.p < d.end && !d.bad) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct store_change *nc = arena_alloc(a, ncap * sizeof(*nc));

			if (!nc)
				return false;
			if (n)
				memcpy(nc, c, n * sizeof(*nc));
			c = nc;
			cap = ncap;
		}
		struct store_change *ch = &c[n++];
		const unsigned char *kind = dec_take(&d, 1);
		uint64_t plen = dec_varint(&d);
		const unsigned char *path = dec_take(&d, plen);
		char *pcopy = path && plen < XS_PATH_BUF ? arena_alloc(a, plen + 1) : NULL;

		memset(ch, 0, sizeof(*ch));
		if (!kind || !pcopy || (*kind != STORE_SET && *kind != STORE_REMOVE))
			return false;
		memcpy(pcopy, path, plen);
		pcopy[plen] = '\0';
		ch->kind = *kind;
		ch->path = pcopy;
		if (ch->kind != STORE_SET)
			continue;
		const unsigned char *flags = dec_take(&d, 1);

		if (!flags)
			return false;
		if (*flags & CHANGE_PERMS) {
			uint64_t np = dec_varint(&d);
			struct xs_perm *perms = np <= XS_PAYLOAD_MAX ? arena_alloc(a, (np ? np : 1) * sizeof(*perms)) : NULL;

			if (!perms)
				return false;
			for (uint64_t k = 0; k < np && !d.bad; k++) {
				const unsigned char *b = dec_take(&d, 1);

				perms[k].access = b ? (*b & 0x7f) : 0;
				perms[k].ignored = b && (*b & 0x80);
				perms[k].id = (uint32_t)dec_varint(&d);
			}
			ch->perms = perms;
			ch->nperms = (unsigned)np;
		}
		if (*flags & CHANGE_VALUE) {
			uint64_t vlen = dec_varint(&d);
			const unsigned char *v = dec_take(&d, vlen);
			char *vcopy = v ? arena_alloc(a, vlen + 1) : NULL;

			if (!vcopy)
				return false;
			memcpy(vcopy, v, vlen);
			vcopy[vlen] = '\0';
			ch->value = vcopy;
			ch->vlen = vlen;
		}
	}
	*out = c;
	*n_out = n;
	return !d.bad;
}

static enum xs_err apply_changes(const struct store_change *c, size_t n)
{
	struct arena a = {0};
	enum xs_err err = XSE_OK;

	for (size_t i = 0; i < n && err == XSE_OK; i++) {
		struct store_node node;
		int r;

		if (c[i].kind == STORE_REMOVE) {
			err = store_remove(c[i].path, NULL, NULL);
			continue;
		}
		r = store_read(&a, c[i].path, false, &node);
		if (r == 1)
			err = store_update(&a, c[i].path, c[i].perms, c[i].nperms, c[i].value, c[i].vlen);
		else if (r == 0 && c[i].perms)
			err = store_create(&a, c[i].path, c[i].perms, c[i].nperms,
					   c[i].value ? c[i].value : "", c[i].vlen);
		else
			err = XSE_EIO;
		arena_reset(&a);
	}
	arena_free(&a);
	return err;
}

/*
 * Apply the journal's entry if the store has not recorded it applied: on
 * start after a crash, and before a new commit when the last one failed
 * part way (a new entry would replace it). Applied, it is recorded so.
 */
static enum xs_err apply_pending(const char *why)
{
	uint64_t seq;
	void *data;
	size_t len, n;
	struct store_change *c;
	struct arena a = {0};
	enum xs_err err = XSE_OK;
	int r = journal_get(&seq, &data, &len);

	if (r <= 0)
		return r < 0 ? XSE_EIO : XSE_OK;
	if (seq > store_journal_seq)
		store_journal_seq = seq;
	if (seq > store_applied) {
		if (!decode_changes(&a, data, len, &c, &n)) {
			log_error("store: journal entry %llu does not parse", (unsigned long long)seq);
			err = XSE_EIO;
		} else {
			err = apply_changes(c, n);
			log_info("store: commit %llu %s; applied its %zu changes again: %s",
				 (unsigned long long)seq, why, n, xs_err_name(err));
		}
		if (err == XSE_OK) {
			store_applied = seq;
			err = write_meta(false);
		}
	}
	free(data);
	arena_free(&a);
	return err;
}

enum xs_err store_commit(const struct store_change *changes, size_t n, bool *touched)
{
	enum xs_err err;

	*touched = false;
	if (store_journal_seq > store_applied && apply_pending("failed part way") != XSE_OK)
		return XSE_EIO;
	if (!encode_changes(changes, n))
		return XSE_ENOMEM;
	/*
	 * The journal keeps one entry: where a power cut matters (not tmpfs),
	 * what earlier commits and plain requests wrote must be on disk before
	 * it is replaced.
	 */
	if (store_sync && fdatasync(tdb_fd(store_tdb)) != 0)
		return XSE_EIO;
	err = journal_put(store_applied + 1, enc_buf, enc_len);
	if (err != XSE_OK)
		return err;
	store_journal_seq = store_applied + 1;
	*touched = true;
	err = apply_changes(changes, n);
	if (err != XSE_OK) {
		/* Still in the journal: the next commit, or the next start, completes it. */
		log_error("store: commit %llu failed part way (%s); it will be applied again",
			  (unsigned long long)store_journal_seq, xs_err_name(err));
		return err;
	}
	store_applied = store_journal_seq;
	if (write_meta(false) != XSE_OK)
		log_error("store: cannot record commit %llu applied", (unsigned long long)store_applied);
	return XSE_OK;
}

/*
 * Rebuilding the child lists after a crash cut a plain (non-transactional)
 * change short: the node records are the truth, the chunks an index of
 * them. Nodes whose parent is gone are dropped; every directory's list is
 * rewritten with the children that exist, in their old order as far as it
 * can still be read, the others after them.
 */
struct repair_dir {
	struct hnode h;
	char *path;
	char **names;
	size_t n, cap;
};

struct repair {
	struct hmap dirs;       /* parent path -> its children found */
	char **nodes;           /* every node path */
	size_t nnodes, cap_nodes;
	TDB_DATA *chunks;       /* every chunk key */
	size_t nchunks, cap_chunks;
	bool oom;
};

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 64;
	void *na = realloc(*arr, c * size);

	if (!na)
		return false;
	*arr = na;
	*cap = c;
	return true;
}

static int repair_collect(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct repair *r = p;

	(void)tdb;
	(void)data;
	if (!key.dsize || key.dptr[0] == '\0')
		return 0; /* the meta record */
	if (memchr(key.dptr, '\0', key.dsize)) {
		TDB_DATA k = {malloc(key.dsize), key.dsize};

		if (!k.dptr || !grow((void **)&r->chunks, &r->cap_chunks, r->nchunks, sizeof(k))) {
			free(k.dptr);
			r->oom = true;
			return -1;
		}
		memcpy(k.dptr, key.dptr, key.dsize);
		r->chunks[r->nchunks++] = k;
		return 0;
	}
	char *path = strndup((const char *)key.dptr, key.dsize);

	if (!path || !grow((void **)&r->nodes, &r->cap_nodes, r->nnodes, sizeof(char *))) {
		free(path);
		r->oom = true;
		return -1;
	}
	r->nodes[r->nnodes++] = path;
	return 0;
}

static int by_depth(const void *a, const void *b)
{
	unsigned x = xs_path_depth(*(char *const *)a), y = xs_path_depth(*(char *const *)b);

	return x < y ? -1 : x > y;
}

static struct repair_dir *repair_dir_get(struct repair *r, const char *path, bool create)
{
	struct hnode *h = hmap_find(&r->dirs, path);
	struct repair_dir *d;

	if (h || !create)
		return (struct repair_dir *)h;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return NULL;
	}
	d->h.key = d->path;
	if (!hmap_insert(&r->dirs, &d->h)) {
		free(d->path);
		free(d);
		return NULL;
	}
	return d;
}

/* Rewrite d's child list: the children that exist, in their old order first. */
static enum xs_err repair_one(struct repair_dir *d, struct arena *a)
{
	struct store_node dir, child;
	char cpath[XS_PATH_BUF];
	char **order = NULL;
	size_t norder = 0, cap = 0;
	uint8_t *taken = calloc(d->n + 1, 1);
	enum xs_err err = XSE_OK;
	const char *dpath = d->path;

	if (!taken || store_read(a, dpath, true, &dir) != 1) {
		free(taken);
		return XSE_EIO;
	}
	/* The old order, as far as the chain can be followed. */
	uint32_t id = dir.first_chunk, steps = 0;

	while (id && steps++ < 1000000) {
		struct chunk ch;

		if (read_chunk(a, dpath, id, &ch) < 0)
			break;
		for (size_t off = 0; off < ch.len; off += strlen(ch.names + off) + 1) {
			for (size_t i = 0; i < d->n; i++) {
				if (!taken[i] && strcmp(d->names[i], ch.names + off) == 0) {
					taken[i] = 1;
					if (!grow((void **)&order, &cap, norder, sizeof(char *))) {
						err = XSE_ENOMEM;
						break;
					}
					order[norder++] = d->names[i];
					break;
				}
			}
		}
		id = ch.next;
	}
	for (size_t i = 0; i < d->n && err == XSE_OK; i++) {
		if (taken[i])
			continue;
		if (!grow((void **)&order, &cap, norder, sizeof(char *))) {
			err = XSE_ENOMEM;
			break;
		}
		order[norder++] = d->names[i];
	}
	/* Write the list afresh. */
	dir.first_chunk = dir.last_chunk = 0;
	dir.next_chunk_id = 1;
	dir.nchildren = 0;
	dir.children_bytes = 0;
	for (size_t i = 0; i < norder && err == XSE_OK; i++) {
		uint32_t cid;

		err = chunk_append(a, dpath, &dir, order[i], &cid);
		if (err != XSE_OK)
			break;
		child_path(cpath, dpath, order[i]);
		if (store_read(a, cpath, true, &child) != 1) {
			err = XSE_EIO;
			break;
		}
		child.chunk = cid;
		err = put(cpath, &child);
		dir.nchildren++;
		dir.children_bytes += strlen(order[i]) + 1;
	}
	if (err == XSE_OK)
		err = put(dpath, &dir);
	free(order);
	free(taken);
	return err;
}

static enum xs_err store_repair(void)
{
	struct repair r = {0};
	struct arena a = {0};
	enum xs_err err = XSE_OK;
	size_t kept = 0;

	if (tdb_traverse_read(store_tdb, repair_collect, &r) < 0 || r.oom)
		err = XSE_ENOMEM;
	if (err == XSE_OK)
		err = batch_begin();
	if (err == XSE_OK) {
		/* Parents before children: a node is kept only if its parent was. */
		qsort(r.nodes, r.nnodes, sizeof(char *), by_depth);
		if (!repair_dir_get(&r, "/", true))
			err = XSE_ENOMEM;
		for (size_t i = 0; i < r.nnodes && err == XSE_OK; i++) {
			char *p = r.nodes[i], parent[XS_PATH_BUF];
			struct repair_dir *pd;

			if (p[0] != '/' || strcmp(p, "/") == 0)
				continue;
			parent_of(parent, p);
			pd = repair_dir_get(&r, parent, false);
			if (!pd) {
				log_error("store repair: %s has no parent, dropped", p);
				if (tdb_delete(store_tdb, key_of(p)) != 0)
					err = XSE_EIO;
				continue;
			}
			if (!grow((void **)&pd->names, &pd->cap, pd->n, sizeof(char *)) ||
			    !repair_dir_get(&r, p, true)) {
				err = XSE_ENOMEM;
				break;
			}
			pd->names[pd->n++] = (char *)xs_path_basename(p);
			kept++;
		}
		/* Old chunks go; each directory's list is written anew. */
		for (size_t i = 0; i < r.nchunks && err == XSE_OK; i++)
			if (tdb_delete(store_tdb, r.chunks[i]) != 0)
				err = XSE_EIO;
		for (size_t b = 0; b < r.dirs.nbuckets && err == XSE_OK; b++) {
			for (struct hnode *h = r.dirs.buckets[b]; h && err == XSE_OK; h = h->next) {
				arena_reset(&a);
				err = repair_one((struct repair_dir *)h, &a);
			}
		}
		if (err == XSE_OK)
			err = batch_commit();
		else
			tdb_transaction_cancel(store_tdb);
	}
	log_info("store repair: %zu nodes kept, child lists rebuilt: %s", kept,
		 err == XSE_OK ? "done" : xs_err_name(err));
	for (size_t b = 0; b < r.dirs.nbuckets; b++) {
		struct hnode *h = r.dirs.buckets[b];

		while (h) {
			struct repair_dir *d = (struct repair_dir *)h;

			h = h->next;
			free(d->names);
			free(d->path);
			free(d);
		}
	}
	hmap_free(&r.dirs);
	for (size_t i = 0; i < r.nnodes; i++)
		free(r.nodes[i]);
	free(r.nodes);
	for (size_t i = 0; i < r.nchunks; i++)
		free(r.chunks[i].dptr);
	free(r.chunks);
	arena_free(&a);
	return err;
}

static int max_gen_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct arena a = {0};
	struct store_node n;
	struct parse_ctx c = {&a, &n, false, false};
	uint64_t *max = p;

	(void)tdb;
	/* Node records only: the meta record and chunk records have a NUL in their key. */
	if (key.dsize && !memchr(key.dptr, '\0', key.dsize)) {
		parse_record(key, data, &c);
		if (!c.bad && n.gen > *max)
			*max = n.gen;
	}
	arena_free(&a);
	return 0;
}

static enum xs_err create_initial_tree(uint32_t priv)
{
	struct xs_perm owner = {priv, XS_PERM_NONE, 0};
	struct xs_perm release[2] = {{priv, XS_PERM_NONE, 0}, {XS_DOMID_ANY, XS_PERM_READ, 0}};
	struct store_node root = {0}, special = {0};
	struct arena a = {0};
	enum xs_err err;

	root.gen = ++store_gen;
	root.perms = &owner;
	root.nperms = 1;
	root.value = "";
	if ((err = put("/", &root)) != XSE_OK)
		return err;
	err = store_create(&a, "/tool", &owner, 1, "", 0);
	if (err == XSE_OK)
		err = store_create(&a, "/tool/xenstored", &owner, 1, "", 0);
	arena_free(&a);
	special.gen = ++store_gen;
	special.value = "";
	special.perms = &owner;
	special.nperms = 1;
	if (err == XSE_OK)
		err = put("@introduceDomain", &special);
	special.perms = release;
	special.nperms = 2;
	if (err == XSE_OK)
		err = put("@releaseDomain", &special);
	return err;
}

/*
 * Rebuilding the regions index: each node starts the regions its parent's
 * permissions do not cover. The walk is pre-order, so siblings follow one
 * another and the parent's permissions are read once for all of them.
 */
struct build_ctx {
	struct arena arena;
	char parent[XS_PATH_BUF];
	struct store_node pnode;
	bool have_parent;
};

static bool build_regions(void *ctx, const char *path, const struct store_node *n)
{
	struct build_ctx *b = ctx;
	char ppath[XS_PATH_BUF];

	if (strcmp(path, "/") == 0) {
		note_regions(path, n->perms, n->nperms, NULL, 0, true);
		return true;
	}
	parent_of(ppath, path);
	if (!b->have_parent || strcmp(ppath, b->parent) != 0) {
		arena_reset(&b->arena);
		b->have_parent = store_read(&b->arena, ppath, false, &b->pnode) == 1;
		strcpy(b->parent, ppath);
	}
	if (b->have_parent)
		note_regions(path, n->perms, n->nperms, b->pnode.perms, b->pnode.nperms, true);
	else
		regions_lost();
	return true;
}

enum xs_err store_open(const struct store_options *opt, const char **reason)
{
	int flags = TDB_NOLOCK | TDB_INCOMPATIBLE_HASH;
	TDB_DATA mk = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	struct store_meta meta;
	TDB_DATA md;

	if (opt->fresh)
		unlink(opt->file);
	store_tdb = tdb_open(opt->file, (int)opt->hash_size, flags, O_RDWR | O_CREAT, 0600);
	if (!store_tdb) {
		*reason = strerror(errno);
		return XSE_EIO;
	}
	/*
	 * Records that moved or went stay in their hash chain as dead space for
	 * the next record there, instead of going through tdb's free list,
	 * whose best-fit search grows with its length.
	 */
	tdb_set_max_dead(store_tdb, 8);
	md = tdb_fetch(store_tdb, mk);
	store_applied = store_journal_seq = 0;
	/* A new store starts with a new journal: an old entry would be applied to the wrong tree. */
	if (journal_open(opt->file, opt->fresh || !md.dptr, reason) != XSE_OK)
		return XSE_EIO;
	store_sync = journal_syncs();
	if (!md.dptr) {
		store_gen = 0;
		if (create_initial_tree(opt->priv_domid) != XSE_OK) {
			*reason = "cannot write the initial tree";
			return XSE_EIO;
		}
	} else {
		bool ok = md.dsize == sizeof(meta) || md.dsize == STORE_META_OLD_SIZE;

		memset(&meta, 0, sizeof(meta));
		if (ok)
			memcpy(&meta, md.dptr, md.dsize);
		free(md.dptr);
		if (!ok || meta.magic != STORE_META_MAGIC) {
			*reason = "not a store of this daemon (use --fresh-store)";
			return XSE_EIO;
		}
		store_gen = meta.gen;
		store_applied = meta.applied;
		store_journal_seq = meta.applied;
		if (!meta.clean) {
			/*
			 * Not shut down cleanly. tdb has already rolled back a commit cut
			 * short (its recovery area); generations may have moved past the
			 * saved one, and the tree's own structure must still hold.
			 */
			uint64_t max = 0;
			const char *fault;

			log_info("store: previous run did not stop cleanly; checking %s", opt->file);
			tdb_traverse_read(store_tdb, max_gen_cb, &max);
			store_gen = max > store_gen ? max : store_gen;
			fault = store_check();
			if (fault) {
				/* A plain change (one request's few records) was cut short. */
				log_error("store: %s; rebuilding the child lists", fault);
				if (store_repair() != XSE_OK || (fault = store_check()) != NULL) {
					*reason = "store damaged beyond repair (use --fresh-store)";
					return XSE_EIO;
				}
			}
		}
	}
	if (apply_pending("was cut short") != XSE_OK) {
		/*
		 * Serve anyway: a store that cannot start helps nobody. The commit
		 * may be partly in the store; the next start tries again.
		 */
		log_error("store: the commit journal could not be applied; the last commit may be"
			  " partly in the store");
		/* Given up, or every later commit would try it first and fail. */
		store_applied = store_journal_seq;
	}
	if (write_meta(false) != XSE_OK) {
		*reason = "cannot write the store header";
		return XSE_EIO;
	}
	static struct build_ctx b;

	regions_clear();
	b.have_parent = false;
	if (store_walk("/", build_regions, &b) < 0) {
		/* Serve anyway (CONTROL check reports the damage); clean-ups walk everything. */
		log_error("store: the tree could not be read whole; domain clean-ups will walk all of it");
		regions_lost();
	}
	arena_free(&b.arena);
	return XSE_OK;
}

void store_close(void)
{
	if (!store_tdb)
		return;
	write_meta(true);
	tdb_close(store_tdb);
	journal_close();
	regions_clear();
	store_tdb = NULL;
	free(enc_buf);
	enc_buf = NULL;
	enc_cap = enc_len = 0;
}

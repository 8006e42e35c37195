/* The persistent tree in a tdb file: directory records, chunks of packed children, generations, commits. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "../proto/path.h"
#include "dirindex.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"
#include "regions.h"

/*
 * Most nodes have no record of their own: they are entries packed into
 * chunks of their parent, so a node costs its name, its value and a few
 * bytes, not a tdb record with its header and its whole path as key.
 *
 * A node record, keyed by its path (no NUL), holds the root, the special
 * @ nodes, every node that has (or had) children, and nodes too big for a
 * chunk: u8 flags, varint gen, varint nperms, nperms x (u8
 * access|ignored<<7, varint id), then by flag: the value (varint len,
 * bytes); the children (varint count, varint byte size of the name list,
 * varint first and last chunk ids, varint next chunk id).
 *
 * A chunk, keyed by "<directory path>\0<varint id>": u32 previous and next
 * chunk ids (0: none), u8 size class, u16 length of the entries, then the
 * entries in insertion order,
 * then possibly zero bytes. An entry is varint length of the rest, the
 * name, NUL, u8 flags; then, unless ENTRY_OWN_RECORD says the node is in a
 * record of its own, varint gen, varint nperms, the permissions as above,
 * and the value (the bytes left). Chunks form a list in the directory; a
 * new entry goes into the last chunk, or a new one when that is full, so
 * creating or deleting a node rewrites one chunk and its directory's
 * record whatever the size of the directory. A directory of more than one
 * chunk finds a name through its dirindex (memory only).
 *
 * tdb gives a new record a quarter more room than asked and rewrites a
 * record in place while it fits. A chunk is therefore written padded to
 * four fifths of its size class's capacity, then grows in place up to the
 * capacity: chunks end up nearly full instead of a quarter empty. A chunk
 * outgrowing its class is written whole under a new id, then linked in,
 * then the old one deleted: tdb moving a record deletes it first, which a
 * crash at that moment would make a loss. The links are fixed-width, so
 * relinking a neighbour rewrites it in place.
 *
 * Beside them, one meta record (key "\0xenstored-meta"): magic, clean-stop
 * flag, generation counter, and the last journal entry applied (store_commit).
 */
#define REC_CHILDREN 0x01u
#define REC_VALUE 0x08u
#define REC_FLAGS_KNOWN 0x09u
#define ENTRY_OWN_RECORD 0x01u
#define ENTRY_FLAGS_KNOWN 0x01u
/*
 * Bytes of entries a chunk holds at most. A lookup scans half a chunk and
 * an update copies one: 2 KiB rather than 4 made pipelined writes in a big
 * directory about 5% faster and cost no memory (tdb's headers are still a
 * fiftieth of a chunk).
 */
#define CHUNK_MAX 2048u
#define ENTRY_INLINE_MAX 1024u /* a bigger node gets a record of its own */
#define CHUNK_HEADER 11u       /* two u32 ids, the class, the entries' length */
#define STORE_META_KEY "\0xenstored-meta"
#define STORE_META_MAGIC 0x58534436u /* "XSD6" */

/* Capacities (header and entries) of the chunk size classes: steps of half, to CHUNK_MAX. */
static const unsigned chunk_class_cap[] = {128, 192, 288, 432, 648, 976, 1464,
					   CHUNK_MAX + CHUNK_HEADER};
#define CHUNK_CLASSES (sizeof(chunk_class_cap) / sizeof(chunk_class_cap[0]))

struct store_meta {
	uint32_t magic;
	uint32_t clean;
	uint64_t gen;
	uint64_t applied;
};

static struct tdb_context *store_tdb;
/* Counts the store's writes: a struct store_where from before the last one is stale. */
static uint64_t store_epoch;
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

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void enc_perms(const struct xs_perm *perms, unsigned n)
{
	enc_varint(n);
	for (unsigned i = 0; i < n; i++) {
		enc_buf[enc_len++] = (unsigned char)(perms[i].access | (perms[i].ignored ? 0x80 : 0));
		enc_varint(perms[i].id);
	}
}

/* A node record, into enc_buf. */
static bool encode(const struct store_node *n)
{
	size_t need = 1 + 10 + 5 + (size_t)n->nperms * 6 + 5 + n->vlen + 5 * 10;
	unsigned flags = (n->first_chunk || n->next_chunk_id ? REC_CHILDREN : 0) |
			 (n->vlen ? REC_VALUE : 0);

	enc_len = 0;
	if (!enc_reserve(need))
		return false;
	enc_buf[enc_len++] = (unsigned char)flags;
	enc_varint(n->gen);
	enc_perms(n->perms, n->nperms);
	if (flags & REC_VALUE) {
		enc_varint(n->vlen);
		enc_bytes(n->value, n->vlen);
	}
	if (flags & REC_CHILDREN) {
		/* An emptied directory keeps its id counter: ids are never reused. */
		enc_varint(n->nchildren);
		enc_varint(n->children_bytes);
		enc_varint(n->first_chunk);
		enc_varint(n->last_chunk);
		enc_varint(n->next_chunk_id);
	}
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

/* Generation and permissions, as node records and entries both hold them. */
static void dec_gen_perms(struct dec *d, struct arena *a, struct store_node *n)
{
	n->gen = dec_varint(d);
	uint64_t np = dec_varint(d);

	if (np > XS_PERMS_MAX)
		d->bad = true;
	n->nperms = d->bad ? 0 : (unsigned)np;
	n->perms = arena_alloc(a, sizeof(*n->perms) * (n->nperms ? n->nperms : 1));
	if (!n->perms)
		d->bad = true;
	for (unsigned i = 0; i < n->nperms && !d->bad; i++) {
		const unsigned char *b = dec_take(d, 1);

		if (!b)
			break;
		n->perms[i].access = *b & 0x3;
		n->perms[i].ignored = (*b & 0x80) != 0;
		n->perms[i].id = (uint32_t)dec_varint(d);
	}
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
	dec_gen_perms(&d, c->a, n);
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
	c->bad = d.bad;
	return 0;
}

static TDB_DATA key_of(const char *path)
{
	TDB_DATA k = {(unsigned char *)path, strlen(path)};

	return k;
}

/* The node record of path: 1 read, 0 none, -1 damaged. */
static int read_record(struct arena *a, const char *path, bool with_value, struct store_node *out)
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

	store_epoch++;
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

/* Only nodes below the root have a parent to be kept in; the root and @ nodes have records. */
static bool has_parent(const char *path)
{
	return path[0] == '/' && path[1];
}

/* An entry of a chunk, as found: where it is and what it says. */
struct entry {
	size_t off, len;   /* in the chunk's body: where it starts, its whole length */
	const char *name;  /* NUL-terminated, inside the body */
	size_t nlen;
	unsigned flags;
	const unsigned char *rest; /* gen, perms, value (unless ENTRY_OWN_RECORD) */
	size_t rest_len;
};

/* The entry at body[off], false if it does not parse (or off is the end). */
static bool entry_at(const unsigned char *body, size_t blen, size_t off, struct entry *e)
{
	struct dec d = {body + off, body + blen, false};
	uint64_t rlen = dec_varint(&d);
	const unsigned char *r = dec_take(&d, rlen);
	const unsigned char *nul;

	if (!r || rlen < 3 || !(nul = memchr(r, '\0', rlen - 1)) || nul == r)
		return false;
	e->off = off;
	e->len = (size_t)(d.p - (body + off));
	e->name = (const char *)r;
	e->nlen = (size_t)(nul - r);
	e->flags = nul[1];
	e->rest = nul + 2;
	e->rest_len = (size_t)(r + rlen - e->rest);
	return !(e->flags & ~ENTRY_FLAGS_KNOWN);
}

/* The node an entry holds (not ENTRY_OWN_RECORD), in arena a. */
static bool entry_node(struct arena *a, const struct entry *e, bool with_value, struct store_node *n)
{
	struct dec d = {e->rest, e->rest + e->rest_len, false};

	memset(n, 0, sizeof(*n));
	n->in_chunk = true;
	dec_gen_perms(&d, a, n);
	n->vlen = d.bad ? 0 : (size_t)(d.end - d.p);
	n->value = "";
	if (!d.bad && with_value && n->vlen && !(n->value = arena_memdup(a, d.p, n->vlen)))
		d.bad = true;
	return !d.bad;
}

/*
 * An entry into enc_buf from enc_len on: the node itself, or (own_record)
 * only its name, standing for its record.
 */
static bool encode_entry(const char *name, bool own_record, uint64_t gen, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	size_t nlen = strlen(name);
	size_t rest = nlen + 2;

	if (!own_record)
		rest += varint_len(gen) + varint_len(nperms) + vlen;
	for (unsigned i = 0; !own_record && i < nperms; i++)
		rest += 1 + varint_len(perms[i].id);
	if (!enc_reserve(10 + rest))
		return false;
	enc_varint(rest);
	enc_bytes(name, nlen + 1);
	enc_buf[enc_len++] = own_record ? ENTRY_OWN_RECORD : 0;
	if (own_record)
		return true;
	enc_varint(gen);
	enc_perms(perms, nperms);
	enc_bytes(value, vlen);
	return true;
}

/* A chunk as read: its links, class and entries (a copy in an arena). */
struct chunk {
	uint32_t id, prev, next;
	unsigned cls;
	unsigned char *body;
	size_t len;
};

/* Key "<dir>\0<varint id>" in buf (XS_PATH_BUF + 8 bytes). */
static TDB_DATA chunk_key(unsigned char *buf, const char *dir, uint32_t id)
{
	size_t pl = strlen(dir);
	TDB_DATA k;

	memcpy(buf, dir, pl);
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

/* A chunk's header and body; the body ends where the entries do (padding follows). */
static bool parse_chunk_data(const unsigned char *p, size_t len, struct chunk *out, size_t *body_off)
{
	uint16_t blen;

	if (len < CHUNK_HEADER || p[8] >= CHUNK_CLASSES)
		return false;
	memcpy(&out->prev, p, 4);
	memcpy(&out->next, p + 4, 4);
	out->cls = p[8];
	memcpy(&blen, p + 9, 2);
	*body_off = CHUNK_HEADER;
	/* Entries are checked as they are read (entry_at), and whole by store_check. */
	out->len = blen;
	return blen <= len - CHUNK_HEADER;
}

static int parse_chunk(TDB_DATA key, TDB_DATA data, void *private_data)
{
	struct chunk_parse *c = private_data;
	size_t body_off;

	(void)key;
	if (!parse_chunk_data(data.dptr, data.dsize, c->out, &body_off)) {
		c->bad = true;
		return 0;
	}
	/* Room for one more entry's worth, so that appending needs no second copy. */
	c->out->body = arena_alloc(c->a, c->out->len + ENTRY_INLINE_MAX + 16);
	if (!c->out->body)
		c->bad = true;
	else
		memcpy(c->out->body, data.dptr + body_off, c->out->len);
	return 0;
}

/* 0 read, -1 damaged or missing (logged unless quiet and missing). */
static int read_chunk_q(struct arena *a, const char *dir, uint32_t id, struct chunk *out, bool quiet)
{
	unsigned char kb[XS_PATH_BUF + 8];
	struct chunk_parse c = {a, out, false};

	out->id = id;
	if (tdb_parse_record(store_tdb, chunk_key(kb, dir, id), parse_chunk, &c) != 0) {
		if (!quiet)
			log_error("store: chunk %u of %s missing", id, dir);
		return -1;
	}
	if (c.bad) {
		log_error("store: chunk %u of %s damaged", id, dir);
		return -1;
	}
	return 0;
}

static int read_chunk(struct arena *a, const char *dir, uint32_t id, struct chunk *out)
{
	return read_chunk_q(a, dir, id, out, false);
}

/*
 * Write chunk ch with its body spliced: the first head bytes, then mid,
 * then the body from tail on. Given to tdb in parts, so that nothing is
 * copied on the way but into the file.
 */
static enum xs_err put_chunk_spliced(const char *dir, struct chunk *ch, size_t head,
				     const unsigned char *mid, size_t mid_len, size_t tail)
{
	static const unsigned char zeros[CHUNK_MAX];
	unsigned char kb[XS_PATH_BUF + 8], hdr[CHUNK_HEADER];
	size_t len = head + mid_len + (ch->len - tail), total = CHUNK_HEADER + len, pad = 0;

	if (ch->cls >= CHUNK_CLASSES || total > chunk_class_cap[ch->cls]) {
		/* New (or, never by design, outgrown): padded so that tdb's quarter more room makes the class's capacity. */
		ch->cls = 0;
		while (ch->cls + 1 < CHUNK_CLASSES && chunk_class_cap[ch->cls] < total)
			ch->cls++;
		size_t want = chunk_class_cap[ch->cls] * 4 / 5;

		pad = want > total ? want - total : 0;
		if (pad > sizeof(zeros))
			pad = sizeof(zeros);
	}
	uint16_t blen = (uint16_t)len;

	memcpy(hdr, &ch->prev, 4);
	memcpy(hdr + 4, &ch->next, 4);
	hdr[8] = (unsigned char)ch->cls;
	memcpy(hdr + 9, &blen, 2);
	TDB_DATA parts[5] = {{hdr, sizeof(hdr)},
			     {ch->body, head},
			     {(unsigned char *)mid, mid_len},
			     {ch->body + tail, ch->len - tail},
			     {(unsigned char *)zeros, pad}};

	store_epoch++;
	if (tdb_storev(store_tdb, chunk_key(kb, dir, ch->id), parts, 5, TDB_REPLACE) != 0) {
		log_error("store: writing a chunk of %s: %s", dir, tdb_errorstr(store_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

static enum xs_err put_chunk(const char *dir, struct chunk *ch)
{
	/* No middle part, but a real pointer: tdb compares even empty parts. */
	return put_chunk_spliced(dir, ch, ch->len, ch->body, 0, ch->len);
}

static enum xs_err delete_chunk(const char *dir, uint32_t id)
{
	unsigned char kb[XS_PATH_BUF + 8];

	store_epoch++;
	return tdb_delete(store_tdb, chunk_key(kb, dir, id)) == 0 ? XSE_OK : XSE_EIO;
}

/* Change the previous/next link of chunk id (0: nothing to do). */
static enum xs_err relink_chunk(struct arena *a, const char *dir, uint32_t id, bool set_prev,
				uint32_t to)
{
	struct chunk ch;

	if (!id)
		return XSE_OK;
	if (read_chunk(a, dir, id, &ch) < 0)
		return XSE_EIO;
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
 * The entry named name in a chunk: 1 found (*e), 0 not there. Only the
 * match is parsed whole; the others are skipped by their length. This loop
 * is most of a lookup's cost in a big directory, hence the one-byte length
 * taken without a call.
 */
static int chunk_find(const struct chunk *ch, const char *name, size_t nlen, struct entry *e)
{
	const unsigned char *b = ch->body, *p = b, *end = b + ch->len;
	unsigned char last;

	if (nlen == 0)
		return 0;
	last = (unsigned char)name[nlen - 1];
	while (p < end) {
		const unsigned char *r;
		uint64_t rlen;

		if (*p < 0x80) {
			rlen = *p;
			r = p + 1;
		} else {
			struct dec d = {p, end, false};

			rlen = dec_varint(&d);
			if (d.bad)
				return 0;
			r = d.p;
		}
		if (rlen > (uint64_t)(end - r))
			return 0;
		/*
		 * The last character first: siblings are often numbered alike
		 * (n0001, n0002), so it settles most mismatches without a call.
		 */
		if (rlen > nlen + 1 && r[nlen] == '\0' && r[nlen - 1] == last &&
		    memcmp(r, name, nlen - 1) == 0)
			return entry_at(b, ch->len, (size_t)(p - b), e) ? 1 : 0;
		p = r + rlen;
	}
	return 0;
}

/* The index of a directory of several chunks, built from them if missing; NULL if it cannot be. */
static struct dirindex *index_of(struct arena *a, const char *dir, const struct store_node *dn)
{
	struct dirindex *x = dirindex_get(dir);
	struct chunk ch;

	if (x)
		return x;
	if (!(x = dirindex_new(dir)))
		return NULL;
	for (uint32_t id = dn->first_chunk; id; id = ch.next) {
		struct entry e;

		if (read_chunk(a, dir, id, &ch) < 0) {
			dirindex_drop(dir);
			return NULL;
		}
		for (size_t off = 0; off < ch.len && entry_at(ch.body, ch.len, off, &e); off += e.len) {
			if (!dirindex_add(x, dirindex_hash(e.name, e.nlen), id)) {
				dirindex_drop(dir);
				return NULL;
			}
		}
	}
	return x;
}

/*
 * Find name among the children of directory dir (its record dn): its chunk
 * (*ch, a copy) and entry (*e). 1 found, 0 absent, -1 damaged.
 */
static int find_child(struct arena *a, const char *dir, const struct store_node *dn, const char *name,
		      struct chunk *ch, struct entry *e)
{
	size_t nlen = strlen(name);
	struct dirindex *x;

	if (!dn->first_chunk)
		return 0;
	if (dn->first_chunk == dn->last_chunk || !(x = index_of(a, dir, dn))) {
		/* One chunk, or no memory for an index: read them all. */
		for (uint32_t id = dn->first_chunk; id; id = ch->next) {
			if (read_chunk(a, dir, id, ch) < 0)
				return -1;
			if (chunk_find(ch, name, nlen, e))
				return 1;
		}
		return 0;
	}
	uint32_t h = dirindex_hash(name, nlen), id;
	size_t pos = 0;

	while ((id = dirindex_next(x, h, &pos)) != 0) {
		/* The index may name a chunk gone since (it never misses one). */
		if (read_chunk_q(a, dir, id, ch, true) == 0 && chunk_find(ch, name, nlen, e))
			return 1;
	}
	return 0;
}

/* Where a node kept in a chunk was found: what store_update needs to rewrite it. */
struct store_where {
	uint64_t epoch;     /* store_epoch then */
	uint32_t path_hash; /* of the path read, so that no other node's place is taken */
	struct store_node parent;
	struct chunk ch; /* its body in the reading arena */
	struct entry e;
};

/* The node kept in a chunk of directory ppath (record dn): 1 found, 0 absent, -1 damaged. */
static int read_in_chunk(struct arena *a, const char *path, const char *ppath,
			 const struct store_node *dn, bool with_value, struct store_node *out,
			 struct store_where *w)
{
	int r = find_child(a, ppath, dn, xs_path_basename(path), &w->ch, &w->e);

	if (r <= 0)
		return r;
	if (w->e.flags & ENTRY_OWN_RECORD) {
		log_error("store: %s is listed but its record is missing", path);
		return -1;
	}
	if (!entry_node(a, &w->e, with_value, out)) {
		log_error("store: damaged entry for %s", path);
		return -1;
	}
	w->epoch = store_epoch;
	w->path_hash = dirindex_hash(path, strlen(path));
	w->parent = *dn;
	return 1;
}

int store_read(struct arena *a, const char *path, bool with_value, struct store_node *out)
{
	char ppath[XS_PATH_BUF];
	struct store_node dn;
	struct store_where *w;
	int r = read_record(a, path, with_value, out);

	if (r != 0 || !has_parent(path))
		return r;
	parent_of(ppath, path);
	/* A parent without a record of its own is kept in a chunk and has no children. */
	if ((r = read_record(a, ppath, false, &dn)) <= 0)
		return r;
	if (!(w = arena_alloc(a, sizeof(*w))))
		return -1;
	if ((r = read_in_chunk(a, path, ppath, &dn, with_value, out, w)) == 1)
		out->where = w;
	return r;
}

/*
 * Replace the entry e of chunk ch of directory dir (record dn) with the
 * enc_buf bytes from `from` on (none: the entry goes). A chunk left empty
 * goes too, and dn's chunk list follows (the caller writes dn).
 */
static enum xs_err replace_entry(struct arena *a, const char *dir, struct store_node *dn,
				 struct chunk *ch, const struct entry *e, size_t from)
{
	size_t nlen = enc_len - from;
	uint32_t h = dirindex_hash(e->name, e->nlen);
	struct dirindex *x = dirindex_get(dir);
	enum xs_err err;

	if (ch->len - e->len + nlen) {
		/* The body keeps its old length in ch: the caller is done with ch. */
		err = put_chunk_spliced(dir, ch, e->off, enc_buf + from, nlen, e->off + e->len);
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
	if (err == XSE_OK && !nlen && x)
		dirindex_del(x, h, ch->id);
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
	struct entry e;
	enum xs_err err;

	ch->id = dn->next_chunk_id ? dn->next_chunk_id : 1;
	ch->cls = CHUNK_CLASSES;
	dn->next_chunk_id = ch->id + 1;
	for (size_t off = 0; x && off < ch->len && entry_at(ch->body, ch->len, off, &e); off += e.len)
		if (!dirindex_add(x, dirindex_hash(e.name, e.nlen), ch->id)) {
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
	for (size_t off = 0; x && off < ch->len && entry_at(ch->body, ch->len, off, &e); off += e.len)
		dirindex_del(x, dirindex_hash(e.name, e.nlen), old);
	return XSE_OK;
}

/* Append the enc_buf bytes from `from` on as a new entry of directory dir (record dn, updated). */
static enum xs_err append_entry(struct arena *a, const char *dir, struct store_node *dn,
				const char *name, size_t from)
{
	size_t elen = enc_len - from;
	struct dirindex *x = dirindex_get(dir);
	struct chunk last, fresh = {0};
	unsigned char *entry = arena_memdup(a, enc_buf + from, elen);
	enum xs_err err;

	if (!entry)
		return XSE_ENOMEM;
	if (dn->last_chunk) {
		if (read_chunk(a, dir, dn->last_chunk, &last) < 0)
			return XSE_EIO;
		if (last.len + elen <= CHUNK_MAX) {
			/* read_chunk left room for an entry kept in a chunk, not always for a long name. */
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
	if (x && !dirindex_add(x, dirindex_hash(name, strlen(name)), fresh.id))
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
	struct entry e;
	enum xs_err err;
	size_t from;

	n->in_chunk = false;
	if ((err = put(path, n)) != XSE_OK)
		return err;
	parent_of(gpath, path);
	if (read_record(a, gpath, false, &gn) != 1 ||
	    find_child(a, gpath, &gn, xs_path_basename(path), &ch, &e) != 1)
		return XSE_EIO;
	enc_len = from = 0;
	if (!encode_entry(xs_path_basename(path), true, 0, NULL, 0, NULL, 0))
		return XSE_ENOMEM;
	return replace_entry(a, gpath, &gn, &ch, &e, from);
}

/*
 * The directory record of the parent of path, turning the parent into a
 * record of its own first if it is kept in a chunk (it is getting a child).
 */
static enum xs_err parent_dir(struct arena *a, const char *path, char *ppath, struct store_node *pn)
{
	parent_of(ppath, path);
	if (store_read(a, ppath, true, pn) != 1)
		return XSE_EIO;
	if (!pn->in_chunk)
		return XSE_OK;
	return own_record(a, ppath, pn);
}

/* The node's entry into enc_buf from *from on: the node itself if small enough, else a stand-in. */
static bool encode_node_entry(const char *path, const struct store_node *n, bool *own, size_t *from)
{
	const char *name = xs_path_basename(path);

	*from = enc_len;
	*own = false;
	if (!encode_entry(name, false, n->gen, n->perms, n->nperms, n->value, n->vlen))
		return false;
	if (enc_len - *from <= ENTRY_INLINE_MAX)
		return true;
	enc_len = *from;
	*own = true;
	return encode_entry(name, true, 0, NULL, 0, NULL, 0);
}

enum xs_err store_create(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	char ppath[XS_PATH_BUF];
	struct store_node parent, node = {0};
	enum xs_err err;
	size_t from;
	bool own;

	if ((err = parent_dir(a, path, ppath, &parent)) != XSE_OK)
		return err;
	node.perms = (struct xs_perm *)perms;
	node.nperms = nperms;
	node.value = value;
	node.vlen = vlen;
	node.gen = ++store_gen;
	enc_len = 0;
	if (!encode_node_entry(path, &node, &own, &from))
		return XSE_ENOMEM;
	if (own) {
		/* put() reuses enc_buf: keep the stand-in entry aside. */
		unsigned char stub[XS_PATH_BUF + 16];
		size_t slen = enc_len - from;

		memcpy(stub, enc_buf + from, slen);
		if ((err = put(path, &node)) != XSE_OK)
			return err;
		enc_len = 0;
		enc_bytes(stub, slen);
		from = 0;
	}
	if ((err = append_entry(a, ppath, &parent, xs_path_basename(path), from)) != XSE_OK)
		return err;
	parent.nchildren++;
	parent.children_bytes += strlen(xs_path_basename(path)) + 1;
	parent.gen = ++store_gen;
	note_regions(path, perms, nperms, parent.perms, parent.nperms, true);
	return put(ppath, &parent);
}

/*
 * Rewrite the entry e (in chunk ch of directory ppath, record pn) of node
 * path with n, or give the node a record if it outgrew the chunk.
 */
static enum xs_err rewrite_entry(struct arena *a, const char *path, struct store_node *n,
				 const char *ppath, struct store_node *pn, struct chunk *ch,
				 const struct entry *e)
{
	struct chunk c = *ch;
	size_t from;
	bool own;

	enc_len = 0;
	if (!encode_node_entry(path, n, &own, &from))
		return XSE_ENOMEM;
	/* Grown past the chunk's space: its own record, and a shorter entry in the chunk. */
	if (own || (enc_len - from > e->len && !chunk_fits(&c, enc_len - from - e->len)))
		return own_record(a, path, n);
	return replace_entry(a, ppath, pn, &c, e, from);
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
	int r;

	/* !value below: the old value is read only when it is kept. */
	if (cur && cur->where && cur->where->epoch == store_epoch &&
	    cur->where->path_hash == dirindex_hash(path, strlen(path)) &&
	    strcmp(cur->where->e.name, xs_path_basename(path)) == 0) {
		/* Found by this request's read, and nothing written since. */
		w = *cur->where;
		parent_of(ppath, path);
		r = entry_node(a, &w.e, !value, &n) ? 1 : -1;
	} else if ((r = read_record(a, path, !value, &n)) == 0 && has_parent(path)) {
		/* Kept in a chunk: found there once, read and rewritten from the same copy. */
		parent_of(ppath, path);
		if (read_record(a, ppath, false, &w.parent) == 1)
			r = read_in_chunk(a, path, ppath, &w.parent, !value, &n, &w);
	}
	if (r != 1)
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
	err = n.in_chunk ? rewrite_entry(a, path, &n, ppath, &w.parent, &w.ch, &w.e) : put(path, &n);
	if (err == XSE_OK && perms)
		regions_perms_changed(a, path, old, nold, perms, nperms);
	return err;
}

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
	struct entry e;
	enum xs_err err;
	int r;

	*listed = false;
	parent_of(ppath, path);
	if ((r = read_record(a, ppath, true, &pn)) <= 0)
		return r == 0 ? XSE_OK : XSE_EIO;
	if (first_only) {
		if (!pn.first_chunk || read_chunk(a, ppath, pn.first_chunk, &ch) < 0)
			return XSE_EIO;
		r = chunk_find(&ch, name, strlen(name), &e);
	} else {
		r = find_child(a, ppath, &pn, name, &ch, &e);
	}
	if (r <= 0)
		return r == 0 ? XSE_OK : XSE_EIO;
	*listed = true;
	enc_len = 0;
	if ((err = replace_entry(a, ppath, &pn, &ch, &e, 0)) != XSE_OK)
		return err;
	pn.nchildren--;
	pn.children_bytes -= strlen(name) + 1;
	pn.gen = ++store_gen;
	return put(ppath, &pn);
}

/*
 * Report and delete the entries of dir's first chunk, all kept in it (none
 * has a record): the chunk goes and dir (record dn) is rewritten without it.
 */
static enum xs_err drop_first_chunk(struct arena *a, const char *dir, struct store_node *dn,
				    struct chunk *ch, store_removed_fn cb, void *ctx)
{
	char cpath[XS_PATH_BUF];
	struct entry e;
	enum xs_err err;

	for (size_t off = 0; off < ch->len && entry_at(ch->body, ch->len, off, &e); off += e.len) {
		struct store_node child;

		if (!entry_node(a, &e, true, &child))
			return XSE_EIO;
		child_path(cpath, dir, e.name);
		if (cb)
			cb(ctx, cpath, &child);
		note_regions(cpath, child.perms, child.nperms, NULL, 0, false);
		dn->nchildren--;
		dn->children_bytes -= e.nlen + 1;
	}
	if ((err = delete_chunk(dir, ch->id)) != XSE_OK ||
	    (err = relink_chunk(a, dir, ch->next, true, 0)) != XSE_OK)
		return err;
	dn->first_chunk = ch->next;
	if (!ch->next)
		dn->last_chunk = 0;
	return put(dir, dn);
}

enum xs_err store_remove(const char *path, store_removed_fn cb, void *ctx)
{
	struct arena scratch = {0};
	char cur[XS_PATH_BUF];
	struct store_node n;
	enum xs_err err = XSE_OK;
	bool listed;
	int r;

	if (strcmp(path, "/") == 0)
		return XSE_EINVAL;
	r = store_read(&scratch, path, true, &n);
	if (r <= 0) {
		arena_free(&scratch);
		return r == 0 ? XSE_OK : XSE_EIO;
	}
	err = has_parent(path) ? unlist(&scratch, path, false, &listed) : XSE_OK;
	if (n.in_chunk) {
		if (err == XSE_OK) {
			if (cb)
				cb(ctx, path, &n);
			note_regions(path, n.perms, n.nperms, NULL, 0, false);
		}
		arena_free(&scratch);
		return err;
	}
	if (err == XSE_OK && has_parent(path) && !listed)
		log_error("store: removing %s, which its parent no longer lists", path);
	strcpy(cur, path);
	/*
	 * Iterative post-order walk: descend into the first child that has a
	 * record of its own, else drop the first chunk whole; a node without
	 * children goes and leaves its parent's first chunk. Depth is
	 * guest-controlled, so no recursion.
	 */
	while (err == XSE_OK) {
		arena_reset(&scratch);
		if (read_record(&scratch, cur, true, &n) != 1) {
			err = XSE_EIO;
			break;
		}
		dirindex_drop(cur);
		if (n.first_chunk) {
			struct chunk ch;
			struct entry e;
			size_t off;

			if (read_chunk(&scratch, cur, n.first_chunk, &ch) < 0) {
				err = XSE_EIO;
				break;
			}
			for (off = 0; off < ch.len && entry_at(ch.body, ch.len, off, &e); off += e.len)
				if (e.flags & ENTRY_OWN_RECORD)
					break;
			if (off < ch.len) {
				char sub[XS_PATH_BUF];

				child_path(sub, cur, e.name);
				strcpy(cur, sub);
				continue;
			}
			err = drop_first_chunk(&scratch, cur, &n, &ch, cb, ctx);
			continue;
		}
		if (cb)
			cb(ctx, cur, &n);
		store_epoch++;
		if (tdb_delete(store_tdb, key_of(cur)) != 0) {
			err = XSE_EIO;
			break;
		}
		note_regions(cur, n.perms, n.nperms, NULL, 0, false);
		if (strcmp(cur, path) == 0)
			break;
		err = unlist(&scratch, cur, true, &listed);
		cur[xs_path_parent_len(cur)] = '\0';
	}
	arena_free(&scratch);
	return err;
}

/* The names of a chunk's entries, NUL-terminated one after another, in arena a. */
static char *chunk_names(struct arena *a, const struct chunk *ch, size_t *len)
{
	char *names = arena_alloc(a, ch->len + 1);
	struct entry e;
	size_t n = 0;

	if (!names)
		return NULL;
	for (size_t off = 0; off < ch->len && entry_at(ch->body, ch->len, off, &e); off += e.len) {
		memcpy(names + n, e.name, e.nlen + 1);
		n += e.nlen + 1;
	}
	*len = n;
	return names;
}

int store_chunks(const char *parent, uint32_t from, store_chunk_fn cb, void *ctx)
{
	struct arena scratch = {0};
	struct store_node n;
	struct chunk ch;
	uint32_t id = from;
	int rc = 0;

	if (!id) {
		int r = read_record(&scratch, parent, false, &n);

		if (r != 1) {
			arena_free(&scratch);
			return r; /* no record: no children */
		}
		id = n.first_chunk;
	}
	while (id) {
		const char *names;
		size_t len;

		arena_reset(&scratch);
		if (read_chunk(&scratch, parent, id, &ch) < 0 || !(names = chunk_names(&scratch, &ch, &len))) {
			rc = -1;
			break;
		}
		if (!cb(ctx, id, names, len))
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

static bool visit_names(void *ctx, uint32_t id, const char *names, size_t len)
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

	return store_chunks(parent, 0, visit_names, &w);
}

/* Where the last walk that failed stopped: the record or directory it could not read. */
static char walk_fault[XS_PATH_BUF];

/* A pre-order walk's position at one level: which chunk, and where in it. */
struct walk_frame {
	uint32_t chunk;
	size_t off;
};

int store_walk(const char *root, store_visit_fn visit, void *ctx)
{
	struct arena scratch = {0}, held = {0};
	char cur[XS_PATH_BUF];
	struct walk_frame *stack = NULL;
	size_t depth = 0, cap = 0;
	struct store_node n;
	struct chunk ch = {0};
	bool have_chunk = false; /* ch is the chunk next_chunk names */
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
		struct entry e;

		/* Find the next entry at this level, moving to the next chunk or up as needed. */
		while (next_chunk) {
			if (!have_chunk) {
				arena_reset(&held);
				if (read_chunk(&held, cur, next_chunk, &ch) < 0) {
					snprintf(walk_fault, sizeof(walk_fault), "%s: chunk %u", cur, next_chunk);
					rc = -1;
					goto out;
				}
				have_chunk = true;
			}
			if (next_off < ch.len)
				break;
			next_chunk = ch.next;
			next_off = 0;
			have_chunk = false;
		}
		if (!next_chunk) {
			if (!depth)
				break;
			depth--;
			cur[xs_path_parent_len(cur) ? xs_path_parent_len(cur) : 1] = '\0';
			next_chunk = stack[depth].chunk;
			next_off = stack[depth].off;
			have_chunk = false;
			continue;
		}
		if (!entry_at(ch.body, ch.len, next_off, &e)) {
			snprintf(walk_fault, sizeof(walk_fault), "%s: chunk %u", cur, next_chunk);
			rc = -1;
			goto out;
		}
		char sub[XS_PATH_BUF];

		child_path(sub, cur, e.name);
		next_off += e.len;
		arena_reset(&scratch);
		if (!(e.flags & ENTRY_OWN_RECORD)) {
			if (!entry_node(&scratch, &e, true, &n)) {
				snprintf(walk_fault, sizeof(walk_fault), "%s", sub);
				rc = -1;
				goto out;
			}
			visit(ctx, sub, &n);
			continue;
		}
		if (read_record(&scratch, sub, true, &n) != 1) {
			log_error("store: %s is listed but its record is missing", sub);
			snprintf(walk_fault, sizeof(walk_fault), "%s", sub);
			rc = -1;
			goto out;
		}
		descend = visit(ctx, sub, &n);
		if (!descend || !n.first_chunk)
			continue;
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
		stack[depth].off = next_off;
		depth++;
		strcpy(cur, sub);
		next_chunk = n.first_chunk;
		next_off = 0;
		have_chunk = false;
	}
out:
	free(stack);
	arena_free(&scratch);
	arena_free(&held);
	return rc;
}

struct check_ctx {
	size_t records; /* node records the walk from "/" reached */
	size_t chunks;  /* chunks it reached */
	char fault[XS_PATH_BUF + 128];
};

static bool check_visit(void *ctx, const char *path, const struct store_node *n)
{
	struct check_ctx *c = ctx;
	struct arena a = {0};
	unsigned count = 0;
	size_t bytes = 0;
	uint32_t id = n->first_chunk, prev = 0;

	if (n->in_chunk) {
		/* A record beside the entry: a move to a record of its own was cut short. */
		if (tdb_exists(store_tdb, key_of(path)))
			snprintf(c->fault, sizeof(c->fault), "%s: both in a chunk and in a record", path);
		return !c->fault[0];
	}
	c->records++;
	while (id && !c->fault[0]) {
		struct chunk ch;
		struct entry e;
		size_t off;

		arena_reset(&a);
		if (read_chunk(&a, path, id, &ch) < 0) {
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u missing or damaged", path, id);
			break;
		}
		c->chunks++;
		if (ch.prev != prev || !ch.len)
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u badly linked", path, id);
		for (off = 0; off < ch.len && entry_at(ch.body, ch.len, off, &e); off += e.len) {
			count++;
			bytes += e.nlen + 1;
		}
		if (off != ch.len)
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u has a damaged entry", path, id);
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

struct record_count {
	size_t records, chunks;
};

static int count_tree_records(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct record_count *rc = p;

	(void)tdb;
	(void)data;
	/* Records of the tree: a path, and for chunks a NUL and an id after it. */
	if (!key.dsize || key.dptr[0] != '/')
		return 0;
	if (memchr(key.dptr, '\0', key.dsize))
		rc->chunks++;
	else
		rc->records++;
	return 0;
}

const char *store_check(void)
{
	static struct check_ctx c;
	struct record_count rc = {0, 0};

	c.fault[0] = '\0';
	c.records = c.chunks = 0;
	if (store_walk("/", check_visit, &c) < 0 && !c.fault[0])
		snprintf(c.fault, sizeof(c.fault), "%s: missing or damaged", walk_fault);
	/* A removal cut short leaves records that no list reaches any more. */
	if (!c.fault[0] && tdb_traverse_read(store_tdb, count_tree_records, &rc) >= 0 &&
	    (rc.records != c.records || rc.chunks != c.chunks))
		snprintf(c.fault, sizeof(c.fault),
			 "%zu node records and %zu chunks, %zu and %zu reachable from /", rc.records,
			 rc.chunks, c.records, c.chunks);
	return c.fault[0] ? c.fault : NULL;
}
/* A tdb transaction on the store itself: only for repairs, whose cost does not matter. */
static enum xs_err batch_begin(void)
{
	store_epoch++;
	return tdb_transaction_start(store_tdb) == 0 ? XSE_OK : XSE_EIO;
}

static enum xs_err batch_commit(void)
{
	store_epoch++;
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
			err = store_update(&a, c[i].path, &node, c[i].perms, c[i].nperms, c[i].value,
					   c[i].vlen);
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
 * Rebuilding after a crash cut a plain (non-transactional) change short.
 * Every node record and every entry of every chunk is a candidate. A node
 * record is kept if it is the root or an @ node, or its parent's record is
 * kept; an entry is kept if its directory's record is (an entry standing
 * for a record only if that record is kept). Each kept directory's chunks
 * are written anew: its children in their old order as far as its chain
 * can be followed, the others after them, each name once.
 */
struct repair_chunk {
	uint32_t id, next;
	uint64_t order; /* position in the chain, or past it by id */
	unsigned char *body;
	size_t len;
};

struct repair_dir {
	struct hnode h;
	char *path;
	struct repair_chunk *chunks;
	size_t nchunks, cap_chunks;
	char **records; /* names of kept children that have records */
	size_t nrecords, cap_records;
};

struct repair_name {
	struct hnode h;
	char *path;
};

struct repair {
	struct hmap dirs;   /* directory path -> its chunks and child records */
	struct hmap kept;   /* kept record paths */
	struct hmap placed; /* child paths already written */
	char **records;     /* every record path */
	size_t nrecords, cap_records;
	TDB_DATA *chunk_keys;
	size_t nkeys, cap_keys;
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

static struct repair_dir *repair_dir_get(struct repair *r, const char *path)
{
	struct hnode *h = hmap_find(&r->dirs, path);
	struct repair_dir *d;

	if (h)
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

static bool repair_name_add(struct hmap *m, const char *path)
{
	struct repair_name *n = calloc(1, sizeof(*n));

	if (!n || !(n->path = strdup(path))) {
		free(n);
		return false;
	}
	n->h.key = n->path;
	if (!hmap_insert(m, &n->h)) {
		free(n->path);
		free(n);
		return false;
	}
	return true;
}

static void repair_names_free(struct hmap *m)
{
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct hnode *h = m->buckets[b];

		while (h) {
			struct repair_name *n = (struct repair_name *)h;

			h = h->next;
			free(n->path);
			free(n);
		}
	}
	hmap_free(m);
}

static int repair_collect(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct repair *r = p;
	const unsigned char *nul;

	(void)tdb;
	if (!key.dsize || key.dptr[0] == '\0')
		return 0; /* the meta record */
	nul = memchr(key.dptr, '\0', key.dsize);
	if (!nul) {
		char *path = strndup((const char *)key.dptr, key.dsize);

		if (!path || !grow((void **)&r->records, &r->cap_records, r->nrecords, sizeof(char *))) {
			free(path);
			r->oom = true;
			return -1;
		}
		r->records[r->nrecords++] = path;
		return 0;
	}
	/* A chunk: keep its key (it goes) and, if it parses, its entries. */
	TDB_DATA k = {malloc(key.dsize), key.dsize};
	char dir[XS_PATH_BUF];
	struct dec d = {nul + 1, key.dptr + key.dsize, false};
	uint32_t id = (uint32_t)dec_varint(&d);
	struct chunk ch;
	size_t body_off, dlen = (size_t)(nul - key.dptr);
	struct repair_dir *rd;

	if (!k.dptr || !grow((void **)&r->chunk_keys, &r->cap_keys, r->nkeys, sizeof(k))) {
		free(k.dptr);
		r->oom = true;
		return -1;
	}
	memcpy(k.dptr, key.dptr, key.dsize);
	r->chunk_keys[r->nkeys++] = k;
	if (d.bad || dlen >= sizeof(dir) || !parse_chunk_data(data.dptr, data.dsize, &ch, &body_off))
		return 0;
	memcpy(dir, key.dptr, dlen);
	dir[dlen] = '\0';
	if (!(rd = repair_dir_get(r, dir)) ||
	    !grow((void **)&rd->chunks, &rd->cap_chunks, rd->nchunks, sizeof(*rd->chunks))) {
		r->oom = true;
		return -1;
	}
	struct repair_chunk *rc = &rd->chunks[rd->nchunks];

	rc->id = id;
	rc->next = ch.next;
	rc->len = ch.len;
	rc->order = UINT64_MAX;
	if (!(rc->body = malloc(ch.len ? ch.len : 1))) {
		r->oom = true;
		return -1;
	}
	memcpy(rc->body, data.dptr + body_off, ch.len);
	rd->nchunks++;
	return 0;
}

static int by_depth(const void *a, const void *b)
{
	unsigned x = xs_path_depth(*(char *const *)a), y = xs_path_depth(*(char *const *)b);

	return x < y ? -1 : x > y;
}

static int by_id(const void *a, const void *b)
{
	const struct repair_chunk *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_order(const void *a, const void *b)
{
	const struct repair_chunk *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* Put d's chunks in order: its chain from first, then the rest by id. */
static void repair_order(struct repair_dir *d, uint32_t first)
{
	uint64_t pos = 0;

	qsort(d->chunks, d->nchunks, sizeof(*d->chunks), by_id);
	for (uint32_t id = first; id;) {
		struct repair_chunk key = {.id = id}, *c;

		c = bsearch(&key, d->chunks, d->nchunks, sizeof(*d->chunks), by_id);
		if (!c || c->order != UINT64_MAX)
			break; /* missing, or a loop */
		c->order = pos++;
		id = c->next;
	}
	for (size_t i = 0; i < d->nchunks; i++)
		if (d->chunks[i].order == UINT64_MAX)
			d->chunks[i].order = ((uint64_t)1 << 32) + d->chunks[i].id;
	qsort(d->chunks, d->nchunks, sizeof(*d->chunks), by_order);
}

/* Append one child to the directory being rewritten, unless it is there already. */
static enum xs_err repair_place(struct repair *r, struct arena *a, const char *dir, struct store_node *dn,
				const char *name, const unsigned char *entry, size_t elen)
{
	char cpath[XS_PATH_BUF];
	enum xs_err err;

	child_path(cpath, dir, name);
	if (hmap_find(&r->placed, cpath))
		return XSE_OK;
	if (hmap_find(&r->kept, cpath)) {
		enc_len = 0;
		if (!encode_entry(name, true, 0, NULL, 0, NULL, 0))
			return XSE_ENOMEM;
	} else if (entry) {
		enc_len = 0;
		if (!enc_reserve(elen))
			return XSE_ENOMEM;
		enc_bytes(entry, elen);
	} else {
		return XSE_OK; /* stands for a record that is gone */
	}
	if (!repair_name_add(&r->placed, cpath))
		return XSE_ENOMEM;
	if ((err = append_entry(a, dir, dn, name, 0)) != XSE_OK)
		return err;
	dn->nchildren++;
	dn->children_bytes += strlen(name) + 1;
	return XSE_OK;
}

/* Write directory path's chunks anew from what was found. */
static enum xs_err repair_dir_write(struct repair *r, struct arena *a, const char *path)
{
	struct repair_dir *d = (struct repair_dir *)hmap_find(&r->dirs, path);
	struct store_node dn;
	enum xs_err err = XSE_OK;

	if (read_record(a, path, true, &dn) != 1)
		return XSE_EIO;
	if (d)
		repair_order(d, dn.first_chunk);
	dn.first_chunk = dn.last_chunk = 0;
	dn.next_chunk_id = 1;
	dn.nchildren = 0;
	dn.children_bytes = 0;
	for (size_t i = 0; d && i < d->nchunks && err == XSE_OK; i++) {
		struct repair_chunk *c = &d->chunks[i];
		struct entry e;

		for (size_t off = 0; off < c->len && err == XSE_OK && entry_at(c->body, c->len, off, &e);
		     off += e.len) {
			bool own = e.flags & ENTRY_OWN_RECORD;

			err = repair_place(r, a, path, &dn, e.name, own ? NULL : c->body + off, e.len);
		}
	}
	for (size_t i = 0; d && i < d->nrecords && err == XSE_OK; i++)
		err = repair_place(r, a, path, &dn, d->records[i], NULL, 0);
	return err == XSE_OK ? put(path, &dn) : err;
}

static void repair_free(struct repair *r)
{
	for (size_t b = 0; b < r->dirs.nbuckets; b++) {
		struct hnode *h = r->dirs.buckets[b];

		while (h) {
			struct repair_dir *d = (struct repair_dir *)h;

			h = h->next;
			for (size_t i = 0; i < d->nchunks; i++)
				free(d->chunks[i].body);
			free(d->chunks);
			free(d->records);
			free(d->path);
			free(d);
		}
	}
	hmap_free(&r->dirs);
	repair_names_free(&r->kept);
	repair_names_free(&r->placed);
	for (size_t i = 0; i < r->nrecords; i++)
		free(r->records[i]);
	free(r->records);
	for (size_t i = 0; i < r->nkeys; i++)
		free(r->chunk_keys[i].dptr);
	free(r->chunk_keys);
}

static enum xs_err store_repair(void)
{
	struct repair r = {0};
	struct arena a = {0};
	enum xs_err err = XSE_OK;
	size_t kept = 0, dropped = 0;

	dirindex_clear();
	if (tdb_traverse_read(store_tdb, repair_collect, &r) < 0 || r.oom)
		err = XSE_ENOMEM;
	if (err == XSE_OK)
		err = batch_begin();
	if (err == XSE_OK) {
		/* Parents before children: a record is kept only if its parent's was. */
		qsort(r.records, r.nrecords, sizeof(char *), by_depth);
		for (size_t i = 0; i < r.nrecords && err == XSE_OK; i++) {
			char *p = r.records[i], parent[XS_PATH_BUF];
			struct repair_dir *pd = NULL;

			if (has_parent(p)) {
				parent_of(parent, p);
				if (!hmap_find(&r.kept, parent)) {
					log_error("store repair: %s has no parent, dropped", p);
					dropped++;
					if (tdb_delete(store_tdb, key_of(p)) != 0)
						err = XSE_EIO;
					continue;
				}
				if (!(pd = repair_dir_get(&r, parent)) ||
				    !grow((void **)&pd->records, &pd->cap_records, pd->nrecords, sizeof(char *))) {
					err = XSE_ENOMEM;
					break;
				}
				pd->records[pd->nrecords++] = (char *)xs_path_basename(p);
			}
			if (!repair_name_add(&r.kept, p))
				err = XSE_ENOMEM;
			kept++;
		}
		/* Old chunks go; each kept directory's are written anew. */
		for (size_t i = 0; i < r.nkeys && err == XSE_OK; i++)
			if (tdb_delete(store_tdb, r.chunk_keys[i]) != 0)
				err = XSE_EIO;
		for (size_t i = 0; i < r.nrecords && err == XSE_OK; i++) {
			if (r.records[i][0] != '/' || !hmap_find(&r.kept, r.records[i]))
				continue;
			arena_reset(&a);
			err = repair_dir_write(&r, &a, r.records[i]);
		}
		if (err == XSE_OK)
			err = batch_commit();
		else
			tdb_transaction_cancel(store_tdb);
	}
	log_info("store repair: %zu records kept, %zu dropped, chunks rebuilt: %s", kept, dropped,
		 err == XSE_OK ? "done" : xs_err_name(err));
	repair_free(&r);
	arena_free(&a);
	dirindex_clear();
	return err;
}

static int max_gen_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct arena a = {0};
	struct store_node n;
	uint64_t *max = p;
	const unsigned char *nul = memchr(key.dptr, '\0', key.dsize);

	(void)tdb;
	if (!key.dsize || key.dptr[0] == '\0') {
		/* the meta record */
	} else if (!nul) {
		struct parse_ctx c = {&a, &n, false, false};

		parse_record(key, data, &c);
		if (!c.bad && n.gen > *max)
			*max = n.gen;
	} else {
		struct chunk ch;
		struct entry e;
		size_t body_off;

		if (parse_chunk_data(data.dptr, data.dsize, &ch, &body_off)) {
			const unsigned char *body = data.dptr + body_off;

			for (size_t off = 0; off < ch.len && entry_at(body, ch.len, off, &e); off += e.len) {
				if (!(e.flags & ENTRY_OWN_RECORD) && entry_node(&a, &e, false, &n) &&
				    n.gen > *max)
					*max = n.gen;
				arena_reset(&a);
			}
		}
	}
	arena_free(&a);
	return 0;
}

static int copy_record(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *to)
{
	(void)tdb;
	return tdb_store(to, key, data, TDB_REPLACE) == 0 ? 0 : -1;
}

/*
 * tdb is crash-safe only inside its transactions: a daemon killed inside a
 * tdb_store can leave tdb's free list inconsistent, which tdb_check finds
 * and later allocations trip over. The records stay reachable through the
 * hash chains: they are copied into a fresh file, which replaces the old.
 */
static bool rebuild_file(const char *file, unsigned hash_size, int flags)
{
	char tmp[XS_PATH_BUF];
	struct tdb_context *fresh;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s.rebuild", file);
	unlink(tmp);
	fresh = tdb_open(tmp, (int)hash_size, flags, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (!fresh)
		return false;
	ok = tdb_traverse_read(store_tdb, copy_record, fresh) >= 0 &&
	     (!store_sync || fdatasync(tdb_fd(fresh)) == 0);
	tdb_close(fresh);
	if (!ok || rename(tmp, file) != 0) {
		unlink(tmp);
		return false;
	}
	tdb_close(store_tdb);
	store_tdb = tdb_open(file, 0, flags, O_RDWR, 0600);
	if (store_tdb)
		tdb_set_max_dead(store_tdb, 0);
	return store_tdb != NULL;
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
	 * Deleted records go straight to tdb's free list: a chunk outgrowing
	 * its class moves to a new key, and a dead record kept in the old
	 * key's hash chain would only serve that chain (the file grew to three
	 * times its size that way).
	 */
	tdb_set_max_dead(store_tdb, 0);
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
		bool ok = md.dsize == sizeof(meta);

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
			if (tdb_check(store_tdb, NULL, NULL) != 0) {
				log_error("store: tdb's own structure is damaged; copying the records to a fresh file");
				if (!rebuild_file(opt->file, opt->hash_size, flags)) {
					*reason = "store damaged beyond repair (use --fresh-store)";
					return XSE_EIO;
				}
			}
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
	dirindex_clear();
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
	dirindex_clear();
	store_tdb = NULL;
	free(enc_buf);
	enc_buf = NULL;
	enc_cap = enc_len = 0;
}

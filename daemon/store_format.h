/* The store's bytes: varints, node records, chunks and their entries, the meta record. */
#ifndef XSD_STORE_FORMAT_H
#define XSD_STORE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "store.h"

/*
 * Pure code: no tdb, no globals, no I/O. Encoders append to a buffer the
 * caller owns (struct fmt_buf); decoders take bytes and their length,
 * trust no length inside them, and fail on anything malformed, so that a
 * fuzzer can hand them arbitrary input.
 *
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
 * entries in insertion order, then possibly zero bytes. An entry is varint
 * length of the rest, the name, NUL, u8 flags; then, unless
 * ENTRY_OWN_RECORD says the node is in a record of its own, varint gen,
 * varint nperms, the permissions as above, and the value (the bytes left).
 * The links are fixed-width, so relinking a neighbour rewrites it in place.
 *
 * One meta record (key STORE_META_KEY), written when the store is made:
 * magic, 4 bytes reserved, the generation counter then, 8 bytes reserved,
 * in host byte order. The previous format (magic STORE_META_MAGIC_OLD, a
 * commit journal beside it) has the same records and is converted.
 */
#define REC_CHILDREN 0x01u
#define REC_VALUE 0x08u
#define REC_FLAGS_KNOWN 0x09u
#define ENTRY_OWN_RECORD 0x01u
#define ENTRY_FLAGS_KNOWN 0x01u
/*
 * Bytes of entries a chunk holds at most. A lookup scans half a chunk and
 * an update copies one, so smaller is faster; tdb's record headers are
 * still a fiftieth of a chunk.
 */
#define CHUNK_MAX 2048u
#define ENTRY_INLINE_MAX 1024u /* a bigger node gets a record of its own */
#define CHUNK_HEADER 11u       /* two u32 ids, the class, the entries' length */
#define CHUNK_CLASSES 8u
#define CHUNK_KEY_MAX 6u       /* the NUL and a varint u32 after the directory's path */
#define STORE_META_KEY "\0xenstored-meta"
#define STORE_META_MAGIC 0x58534437u     /* "XSD7" */
#define STORE_META_MAGIC_OLD 0x58534436u /* "XSD6" */
#define STORE_META_SIZE 24u

/* Capacities (header and entries) of the chunk size classes: steps of half, to CHUNK_MAX. */
extern const unsigned chunk_class_cap[CHUNK_CLASSES];

/* LEB128, the daemon's one varint: 7 bits a byte, low first, high bit set on all but the last. */
#define VARINT_MAX 10u

static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Write v at p (room for varint_len(v) bytes); the end of what was written. */
static inline unsigned char *varint_put(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/*
 * Read a varint at *p, before end, and move *p past it. False, with *v
 * 0, if it runs past end or past ten bytes.
 */
static inline bool varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	const unsigned char *q = *p;
	uint64_t x = 0;

	/* One byte, the common case for lengths, costs no loop. */
	if (q < end && *q < 0x80) {
		*v = *q;
		*p = q + 1;
		return true;
	}
	for (unsigned shift = 0; shift < 64 && q < end; shift += 7) {
		unsigned char b = *q++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			*p = q;
			return true;
		}
	}
	*v = 0;
	return false;
}

/*
 * An encoder's output, owned by the caller: it grows in arena (which then
 * owns it) or, with arena NULL, by malloc (fmt_buf_free releases it).
 */
struct fmt_buf {
	unsigned char *p;
	size_t len, cap;
	struct arena *arena;
};

bool fmt_reserve(struct fmt_buf *b, size_t more);
void fmt_buf_free(struct fmt_buf *b);

/* Node records. Decoding copies permissions (and the value if with_value) into arena a. */
bool fmt_record_encode(struct fmt_buf *b, const struct store_node *n);
bool fmt_record_decode(struct arena *a, const unsigned char *p, size_t len, bool with_value,
		       struct store_node *out);

/* A chunk's header; its entries are body[0..len). */
struct fmt_chunk {
	uint32_t prev, next;
	unsigned cls;
	const unsigned char *body; /* inside the bytes decoded; padding may follow len */
	size_t len;
};

void fmt_chunk_header(unsigned char hdr[CHUNK_HEADER], uint32_t prev, uint32_t next, unsigned cls,
		      size_t len);
bool fmt_chunk_decode(const unsigned char *p, size_t len, struct fmt_chunk *out);

/* Chunk keys: "<dir>\0<varint id>" into buf (strlen(dir) + CHUNK_KEY_MAX bytes); its length. */
size_t fmt_chunk_key(unsigned char *buf, const char *dir, uint32_t id);

/* What a record's key says it is. For a chunk, the directory's path length and the chunk id. */
enum fmt_key { FMT_KEY_META, FMT_KEY_RECORD, FMT_KEY_CHUNK, FMT_KEY_BAD };
enum fmt_key fmt_key_kind(const unsigned char *key, size_t len, size_t *dir_len, uint32_t *id);

/* An entry of a chunk, as found: where it is and what it says. */
struct fmt_entry {
	size_t off, len;  /* in the chunk's body: where it starts, its whole length */
	const char *name; /* NUL-terminated, inside the body */
	size_t nlen;
	unsigned flags;
	const unsigned char *rest; /* gen, perms, value (unless ENTRY_OWN_RECORD) */
	size_t rest_len;
};

/* The entry at body[off], false if it does not parse (or off is the end). */
bool fmt_entry_at(const unsigned char *body, size_t blen, size_t off, struct fmt_entry *e);
/* The entry named name (nlen bytes) among the entries in body: 1 found (*e), 0 not. */
int fmt_entry_find(const unsigned char *body, size_t blen, const char *name, size_t nlen,
		   struct fmt_entry *e);
/*
 * The entry starting at body[off], if it is named name (nlen bytes): 1
 * (*e), else 0. off must be where an entry starts (a remembered place):
 * bytes inside one could look like an entry of that name.
 */
int fmt_entry_named_at(const unsigned char *body, size_t blen, size_t off, const char *name, size_t nlen,
		       struct fmt_entry *e);
/* The node an entry holds (not ENTRY_OWN_RECORD), permissions and value in arena a. */
bool fmt_entry_node(struct arena *a, const struct fmt_entry *e, bool with_value, struct store_node *n);
/*
 * The entry e (not ENTRY_OWN_RECORD) with generation gen and the value's
 * vlen bytes, its name and permissions as they are, written to out: its
 * length, or 0 if e does not parse or the new entry would take more than
 * cap bytes. A change of value alone costs no decoding of permissions.
 */
size_t fmt_entry_revalue(const struct fmt_entry *e, uint64_t gen, const char *value, size_t vlen,
			 unsigned char *out, size_t cap);
/*
 * The same change made where e lies in body, when it takes no more or
 * fewer bytes (a generation of as many bytes, a value as long): true if
 * done, false (body untouched) if not or if e does not parse.
 */
bool fmt_entry_repatch(unsigned char *body, const struct fmt_entry *e, uint64_t gen, const char *value,
		       size_t vlen);
/* An entry: the node itself, or (own_record) only its name, standing for its record. */
bool fmt_entry_encode(struct fmt_buf *b, const char *name, bool own_record, uint64_t gen,
		      const struct xs_perm *perms, unsigned nperms, const char *value, size_t vlen);

struct fmt_meta {
	uint64_t gen;
};

enum { FMT_META_OLD = 6, FMT_META_CURRENT = 7 };

void fmt_meta_encode(unsigned char out[STORE_META_SIZE], const struct fmt_meta *m);
/* The format version len bytes are a meta record of (FMT_META_*), 0 if none of this daemon's. */
int fmt_meta_decode(const unsigned char *p, size_t len, struct fmt_meta *m);

#endif

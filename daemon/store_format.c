/* The store's bytes: encoding and bounds-checked decoding of records, chunks, entries and meta. */
#include "store_format.h"

#include <string.h>

#include "../proto/path.h"
#include "grow.h"

const unsigned chunk_class_cap[CHUNK_CLASSES] = {128, 192, 288, 432, 648, 976, 1464,
						 CHUNK_MAX + CHUNK_HEADER};

bool fmt_reserve(struct fmt_buf *b, size_t more)
{
	size_t cap;
	unsigned char *np;

	if (more > SIZE_MAX - b->len)
		return false;
	if (!b->arena)
		return GROW(b->p, b->cap, b->len + more, 1024);
	if (b->len + more <= b->cap)
		return true;
	if (!(cap = grow_cap(b->cap, b->len + more, 1024)) || !(np = arena_alloc(b->arena, cap)))
		return false;
	if (b->len)
		memcpy(np, b->p, b->len);
	b->p = np;
	b->cap = cap;
	return true;
}

void fmt_buf_free(struct fmt_buf *b)
{
	if (!b->arena)
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Appenders: the caller reserved the room. */
static void put_varint(struct fmt_buf *b, uint64_t v)
{
	b->len = (size_t)(varint_put(b->p + b->len, v) - b->p);
}

static void put_byte(struct fmt_buf *b, unsigned v)
{
	b->p[b->len++] = (unsigned char)v;
}

static void put_bytes(struct fmt_buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Room for the permissions as put_perms writes them. */
static size_t perms_room(unsigned n)
{
	return VARINT_MAX + (size_t)n * 6;
}

static void put_perms(struct fmt_buf *b, const struct xs_perm *perms, unsigned n)
{
	put_varint(b, n);
	for (unsigned i = 0; i < n; i++) {
		put_byte(b, perms[i].access | (perms[i].ignored ? 0x80u : 0));
		put_varint(b, perms[i].id);
	}
}

/* A decoder's position: any read past end marks it bad, and reads nothing. */
struct dec {
	const unsigned char *p, *end;
	bool bad;
};

static inline uint64_t get_varint(struct dec *d)
{
	uint64_t v;

	if (d->p < d->end && *d->p < 0x80)
		return *d->p++;
	if (!varint_get(&d->p, d->end, &v))
		d->bad = true;
	return v;
}

static const unsigned char *get_bytes(struct dec *d, uint64_t n)
{
	const unsigned char *p = d->p;

	if (d->bad || (uint64_t)(d->end - d->p) < n) {
		d->bad = true;
		return NULL;
	}
	d->p += n;
	return p;
}

/* Permissions as put_perms wrote them, into arena a (never NULL unless bad). */
static struct xs_perm *get_perms(struct dec *d, struct arena *a, unsigned *n)
{
	uint64_t np = get_varint(d);
	struct xs_perm *perms;

	if (np > XS_PERMS_MAX)
		d->bad = true;
	*n = d->bad ? 0 : (unsigned)np;
	perms = arena_alloc(a, sizeof(*perms) * (*n ? *n : 1));
	if (!perms)
		d->bad = true;
	for (unsigned i = 0; i < *n && !d->bad; i++) {
		const unsigned char *b = get_bytes(d, 1);

		if (!b)
			break;
		perms[i].access = *b & 0x3;
		perms[i].ignored = (*b & 0x80) != 0;
		perms[i].id = (uint32_t)get_varint(d);
	}
	return perms;
}

bool fmt_record_encode(struct fmt_buf *b, const struct store_node *n)
{
	unsigned flags = (n->first_chunk || n->next_chunk_id ? REC_CHILDREN : 0) | (n->vlen ? REC_VALUE : 0);

	if (!fmt_reserve(b, 1 + 2 * VARINT_MAX + perms_room(n->nperms) + n->vlen + 5 * VARINT_MAX))
		return false;
	put_byte(b, flags);
	put_varint(b, n->gen);
	put_perms(b, n->perms, n->nperms);
	if (flags & REC_VALUE) {
		put_varint(b, n->vlen);
		put_bytes(b, n->value, n->vlen);
	}
	if (flags & REC_CHILDREN) {
		/* An emptied directory keeps its id counter: ids are never reused. */
		put_varint(b, n->nchildren);
		put_varint(b, n->children_bytes);
		put_varint(b, n->first_chunk);
		put_varint(b, n->last_chunk);
		put_varint(b, n->next_chunk_id);
	}
	return true;
}

bool fmt_record_decode(struct arena *a, const unsigned char *p, size_t len, bool with_value,
		       struct store_node *n)
{
	struct dec d;
	unsigned flags;

	memset(n, 0, sizeof(*n));
	if (len < 1 || (*p & ~REC_FLAGS_KNOWN))
		return false;
	d = (struct dec){p + 1, p + len, false};
	flags = *p;
	n->gen = get_varint(&d);
	n->perms = get_perms(&d, a, &n->nperms);
	n->value = "";
	if (flags & REC_VALUE) {
		uint64_t vlen = get_varint(&d);
		const unsigned char *v = get_bytes(&d, vlen);

		n->vlen = (size_t)vlen;
		if (v && with_value && !(n->value = arena_memdup(a, v, n->vlen)))
			d.bad = true;
	}
	if (flags & REC_CHILDREN) {
		n->nchildren = (unsigned)get_varint(&d);
		n->children_bytes = (size_t)get_varint(&d);
		n->first_chunk = (uint32_t)get_varint(&d);
		n->last_chunk = (uint32_t)get_varint(&d);
		n->next_chunk_id = (uint32_t)get_varint(&d);
	}
	return !d.bad;
}

void fmt_chunk_header(unsigned char hdr[CHUNK_HEADER], uint32_t prev, uint32_t next, unsigned cls,
		      size_t len)
{
	uint16_t blen = (uint16_t)len;

	memcpy(hdr, &prev, 4);
	memcpy(hdr + 4, &next, 4);
	hdr[8] = (unsigned char)cls;
	memcpy(hdr + 9, &blen, 2);
}

bool fmt_chunk_decode(const unsigned char *p, size_t len, struct fmt_chunk *out)
{
	uint16_t blen;

	if (len < CHUNK_HEADER || p[8] >= CHUNK_CLASSES)
		return false;
	memcpy(&out->prev, p, 4);
	memcpy(&out->next, p + 4, 4);
	out->cls = p[8];
	memcpy(&blen, p + 9, 2);
	/* Entries are checked as they are read (fmt_entry_at), and whole by store_check. */
	out->body = p + CHUNK_HEADER;
	out->len = blen;
	return blen <= len - CHUNK_HEADER;
}

size_t fmt_chunk_key(unsigned char *buf, const char *dir, uint32_t id)
{
	size_t pl = strlen(dir);

	memcpy(buf, dir, pl);
	buf[pl++] = '\0';
	return (size_t)(varint_put(buf + pl, id) - buf);
}

enum fmt_key fmt_key_kind(const unsigned char *key, size_t len, size_t *dir_len, uint32_t *id)
{
	const unsigned char *nul, *p;
	uint64_t v;

	if (!len || key[0] == '\0')
		return FMT_KEY_META;
	if (!(nul = memchr(key, '\0', len)))
		return FMT_KEY_RECORD;
	*dir_len = (size_t)(nul - key);
	p = nul + 1;
	if (!varint_get(&p, key + len, &v))
		return FMT_KEY_BAD;
	*id = (uint32_t)v;
	return FMT_KEY_CHUNK;
}

bool fmt_entry_at(const unsigned char *body, size_t blen, size_t off, struct fmt_entry *e)
{
	struct dec d;
	uint64_t rlen;
	const unsigned char *r, *nul;

	if (off >= blen)
		return false;
	d = (struct dec){body + off, body + blen, false};
	rlen = get_varint(&d);
	r = get_bytes(&d, rlen);
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

/*
 * The entry at p (its name of nlen bytes, no NUL in it, at r, rlen bytes
 * from r on) as fmt_entry_at would find it: the name ends at r[nlen], the
 * flags follow. 1, or 0 for flags this daemon does not know.
 */
static int entry_fill(const unsigned char *body, const unsigned char *p, const unsigned char *r, uint64_t rlen,
		      size_t nlen, struct fmt_entry *e)
{
	e->off = (size_t)(p - body);
	e->len = (size_t)(r + rlen - p);
	e->name = (const char *)r;
	e->nlen = nlen;
	e->flags = r[nlen + 1];
	e->rest = r + nlen + 2;
	e->rest_len = (size_t)(rlen - nlen - 2);
	return !(e->flags & ~ENTRY_FLAGS_KNOWN);
}

int fmt_entry_named_at(const unsigned char *body, size_t blen, size_t off, const char *name, size_t nlen,
		       struct fmt_entry *e)
{
	const unsigned char *p = body + off, *r = p, *end = body + blen;
	uint64_t rlen;

	if (nlen == 0 || off >= blen || !varint_get(&r, end, &rlen) || rlen > (uint64_t)(end - r))
		return 0;
	if (rlen > nlen + 1 && r[nlen] == '\0' && memcmp(r, name, nlen) == 0)
		return entry_fill(body, p, r, rlen, nlen, e);
	return 0;
}

/*
 * Only the match is parsed whole; the others are skipped by their length.
 * This loop is most of a lookup's cost in a big directory.
 */
int fmt_entry_find(const unsigned char *body, size_t blen, const char *name, size_t nlen,
		   struct fmt_entry *e)
{
	const unsigned char *p, *end;
	unsigned char last;

	if (nlen == 0 || blen == 0)
		return 0;
	p = body;
	end = body + blen;
	last = (unsigned char)name[nlen - 1];
	while (p < end) {
		const unsigned char *r = p;
		uint64_t rlen;

		/* An entry's length is most often one byte: taken without the loop. */
		if (*p < 0x80) {
			rlen = *p;
			r = p + 1;
		} else if (!varint_get(&r, end, &rlen)) {
			return 0;
		}
		if (rlen > (uint64_t)(end - r))
			return 0;
		/*
		 * The last character first: siblings are often numbered alike
		 * (n0001, n0002), so it settles most mismatches without a call.
		 */
		if (rlen > nlen + 1 && r[nlen] == '\0' && r[nlen - 1] == last &&
		    memcmp(r, name, nlen - 1) == 0)
			return entry_fill(body, p, r, rlen, nlen, e);
		p = r + rlen;
	}
	return 0;
}

bool fmt_entry_node(struct arena *a, const struct fmt_entry *e, bool with_value, struct store_node *n)
{
	struct dec d = {e->rest, e->rest + e->rest_len, false};

	memset(n, 0, sizeof(*n));
	n->in_chunk = true;
	n->gen = get_varint(&d);
	n->perms = get_perms(&d, a, &n->nperms);
	n->vlen = d.bad ? 0 : (size_t)(d.end - d.p);
	n->value = "";
	if (!d.bad && with_value && n->vlen && !(n->value = arena_memdup(a, d.p, n->vlen)))
		d.bad = true;
	return !d.bad;
}

/*
 * Where the parts of entry e (not ENTRY_OWN_RECORD) lie after its name:
 * its generation's bytes (*gen_len from e->rest), then its permissions
 * (*plen bytes at *perms), then its value, to the end. false if it does
 * not parse.
 */
static bool entry_layout(const struct fmt_entry *e, size_t *gen_len, const unsigned char **perms, size_t *plen)
{
	struct dec d = {e->rest, e->rest + e->rest_len, false};
	uint64_t np;

	if (e->flags & ENTRY_OWN_RECORD)
		return false;
	get_varint(&d);
	*gen_len = (size_t)(d.p - e->rest);
	*perms = d.p;
	np = get_varint(&d);
	if (np > XS_PERMS_MAX)
		return false;
	for (uint64_t i = 0; i < np && !d.bad; i++) {
		get_bytes(&d, 1);
		get_varint(&d);
	}
	*plen = (size_t)(d.p - *perms);
	return !d.bad;
}

size_t fmt_entry_revalue(const struct fmt_entry *e, uint64_t gen, const char *value, size_t vlen,
			 unsigned char *out, size_t cap)
{
	const unsigned char *perms;
	size_t gen_len, plen, rest;
	unsigned char *p;

	/* The permissions are copied as they are, not decoded. */
	if (!entry_layout(e, &gen_len, &perms, &plen))
		return 0;
	rest = e->nlen + 2 + varint_len(gen) + plen + vlen;
	if (varint_len(rest) + rest > cap)
		return 0;
	p = varint_put(out, rest);
	memcpy(p, e->name, e->nlen + 1);
	p += e->nlen + 1;
	*p++ = 0;
	p = varint_put(p, gen);
	memcpy(p, perms, plen);
	p += plen;
	if (vlen)
		memcpy(p, value, vlen);
	return (size_t)(p + vlen - out);
}

bool fmt_entry_repatch(unsigned char *body, const struct fmt_entry *e, uint64_t gen, const char *value,
		       size_t vlen)
{
	const unsigned char *perms;
	size_t gen_len, plen, at;

	if (!entry_layout(e, &gen_len, &perms, &plen) || varint_len(gen) != gen_len ||
	    e->rest_len - gen_len - plen != vlen)
		return false;
	at = (size_t)(e->rest - body);
	varint_put(body + at, gen);
	if (vlen)
		memcpy(body + at + gen_len + plen, value, vlen);
	return true;
}

bool fmt_entry_encode(struct fmt_buf *b, const char *name, bool own_record, uint64_t gen,
		      const struct xs_perm *perms, unsigned nperms, const char *value, size_t vlen)
{
	size_t nlen = strlen(name);
	size_t rest = nlen + 2;

	if (!own_record)
		rest += varint_len(gen) + varint_len(nperms) + vlen;
	for (unsigned i = 0; !own_record && i < nperms; i++)
		rest += 1 + varint_len(perms[i].id);
	if (!fmt_reserve(b, VARINT_MAX + rest))
		return false;
	put_varint(b, rest);
	put_bytes(b, name, nlen + 1);
	put_byte(b, own_record ? ENTRY_OWN_RECORD : 0);
	if (own_record)
		return true;
	put_varint(b, gen);
	put_perms(b, perms, nperms);
	put_bytes(b, value, vlen);
	return true;
}

void fmt_meta_encode(unsigned char out[STORE_META_SIZE], const struct fmt_meta *m)
{
	uint32_t magic = STORE_META_MAGIC;

	memset(out, 0, STORE_META_SIZE);
	memcpy(out, &magic, 4);
	memcpy(out + 8, &m->gen, 8);
}

int fmt_meta_decode(const unsigned char *p, size_t len, struct fmt_meta *m)
{
	uint32_t magic;

	memset(m, 0, sizeof(*m));
	if (len != STORE_META_SIZE)
		return 0;
	memcpy(&magic, p, 4);
	memcpy(&m->gen, p + 8, 8);
	return magic == STORE_META_MAGIC ? FMT_META_CURRENT : magic == STORE_META_MAGIC_OLD ? FMT_META_OLD : 0;
}

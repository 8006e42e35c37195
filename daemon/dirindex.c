/* Per-directory indexes, kept in memory only: name hashes to chunks (open addressing), and the chunks' byte sizes in list order. */
#include "dirindex.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "hmap.h"

/* Open addressing over (key, value) pairs, value 0 marking an empty slot. */
struct pairs {
	uint32_t *slots; /* cap pairs: key, value */
	size_t cap, used;
};

/*
 * The chunk list: position i (from 1) holds chunk ids[i] with bytes[i]
 * bytes of names; a chunk gone leaves a hole (id 0, no bytes) until the
 * holes outnumber the chunks. fen is a Fenwick tree over the sizes:
 * fen[i] sums bytes over positions (i - lowbit(i), i], so that a prefix
 * sum, a change and the search for an offset each cost O(log n). pos maps
 * a chunk id to its position.
 */
struct sizes {
	bool known;
	uint32_t *ids, *bytes;
	size_t *fen;
	size_t n, cap, live;
	struct pairs pos;
};

struct dirindex {
	struct hnode h; /* key: the directory's path, owned */
	struct pairs names; /* hash of a name, chunk */
	struct sizes s;
};

static struct hmap indexes;
static size_t index_bytes;

uint32_t dirindex_hash(const char *name, size_t len)
{
	uint32_t h = HMAP_HASH_INIT;

	for (size_t i = 0; i < len; i++)
		h = hmap_hash_add(h, (unsigned char)name[i]);
	return h;
}

/* FNV's high bits mix poorly; the slot comes from a finalised hash, scaled to cap without a division. */
static size_t home(uint32_t hash, size_t cap)
{
	hash ^= hash >> 16;
	hash *= 0x85ebca6bu;
	hash ^= hash >> 13;
	hash *= 0xc2b2ae35u;
	hash ^= hash >> 16;
	return (size_t)(((uint64_t)hash * cap) >> 32);
}

static void place(uint32_t *slots, size_t cap, uint32_t key, uint32_t value)
{
	size_t i = home(key, cap);

	while (slots[2 * i + 1])
		i = i + 1 == cap ? 0 : i + 1;
	slots[2 * i] = key;
	slots[2 * i + 1] = value;
}

static bool pairs_add(struct pairs *p, uint32_t key, uint32_t value)
{
	/* Linear probing stays short below 85% full; growth by half keeps the average near 70%. */
	if ((p->used + 1) * 20 > p->cap * 17) {
		size_t ncap = p->cap < 16 ? 16 : p->cap + p->cap / 2;
		uint32_t *ns = calloc(ncap, 2 * sizeof(uint32_t));

		if (!ns)
			return false;
		for (size_t i = 0; i < p->cap; i++)
			if (p->slots[2 * i + 1])
				place(ns, ncap, p->slots[2 * i], p->slots[2 * i + 1]);
		index_bytes += (ncap - p->cap) * 2 * sizeof(uint32_t);
		free(p->slots);
		p->slots = ns;
		p->cap = ncap;
	}
	place(p->slots, p->cap, key, value);
	p->used++;
	return true;
}

static void pairs_del(struct pairs *p, uint32_t key, uint32_t value)
{
	size_t i;

	if (!p->cap)
		return;
	for (i = home(key, p->cap); p->slots[2 * i + 1]; i = i + 1 == p->cap ? 0 : i + 1)
		if (p->slots[2 * i] == key && p->slots[2 * i + 1] == value)
			break;
	if (!p->slots[2 * i + 1])
		return;
	p->used--;
	/* Backward shift: later pairs of the run move up unless that would put them before their home. */
	for (size_t j = i + 1 == p->cap ? 0 : i + 1; p->slots[2 * j + 1];
	     j = j + 1 == p->cap ? 0 : j + 1) {
		size_t h = home(p->slots[2 * j], p->cap);
		bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);

		if (!movable)
			continue;
		p->slots[2 * i] = p->slots[2 * j];
		p->slots[2 * i + 1] = p->slots[2 * j + 1];
		i = j;
	}
	p->slots[2 * i] = 0;
	p->slots[2 * i + 1] = 0;
}

static uint32_t pairs_next(const struct pairs *p, uint32_t key, size_t *pos)
{
	size_t i, steps;

	if (!p->cap)
		return 0;
	/* *pos counts the slots already probed from the home slot. */
	for (steps = *pos, i = (home(key, p->cap) + steps) % p->cap; steps < p->cap && p->slots[2 * i + 1];
	     steps++, i = i + 1 == p->cap ? 0 : i + 1) {
		if (p->slots[2 * i] == key) {
			*pos = steps + 1;
			return p->slots[2 * i + 1];
		}
	}
	*pos = p->cap;
	return 0;
}

static void pairs_free(struct pairs *p)
{
	index_bytes -= p->cap * 2 * sizeof(uint32_t);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}

static void sizes_free(struct sizes *s)
{
	pairs_free(&s->pos);
	index_bytes -= s->cap * (2 * sizeof(uint32_t) + sizeof(size_t));
	free(s->ids);
	free(s->bytes);
	free(s->fen);
	memset(s, 0, sizeof(*s));
}

struct dirindex *dirindex_get(const char *dir)
{
	return (struct dirindex *)hmap_find(&indexes, dir);
}

static void index_free(struct dirindex *x)
{
	hmap_remove(&indexes, &x->h);
	pairs_free(&x->names);
	sizes_free(&x->s);
	free((char *)x->h.key);
	free(x);
}

void dirindex_drop(const char *dir)
{
	struct dirindex *x = dirindex_get(dir);

	if (x)
		index_free(x);
}

struct dirindex *dirindex_new(const char *dir)
{
	struct dirindex *x = calloc(1, sizeof(*x));
	char *key = strdup(dir);

	dirindex_drop(dir);
	if (x)
		x->h.key = key;
	if (!x || !key || !hmap_insert(&indexes, &x->h)) {
		free(x);
		free(key);
		return NULL;
	}
	x->s.known = true;
	return x;
}

bool dirindex_add(struct dirindex *x, uint32_t hash, uint32_t chunk)
{
	return pairs_add(&x->names, hash, chunk);
}

void dirindex_del(struct dirindex *x, uint32_t hash, uint32_t chunk)
{
	pairs_del(&x->names, hash, chunk);
}

uint32_t dirindex_next(const struct dirindex *x, uint32_t hash, size_t *pos)
{
	return pairs_next(&x->names, hash, pos);
}

/* ---------------------------------------------------------------- the chunk list */

static size_t lowbit(size_t i)
{
	return i & (~i + 1);
}

/* Bytes of names at positions 1 to i. */
static size_t prefix(const struct sizes *s, size_t i)
{
	size_t sum = 0;

	for (; i; i -= lowbit(i))
		sum += s->fen[i];
	return sum;
}

/* Add delta (modulo: a decrease is a wrapped-around increase) to position i's size. */
static void fen_add(struct sizes *s, size_t i, size_t delta)
{
	for (; i <= s->n; i += lowbit(i))
		s->fen[i] += delta;
}

/* The position of a listed chunk, 0 if it is not listed. */
static size_t position(const struct sizes *s, uint32_t chunk)
{
	size_t pos = 0;

	return chunk ? pairs_next(&s->pos, chunk, &pos) : 0;
}

/* The sizes are no longer known: the store rebuilds the index when it needs them. */
static void forget(struct sizes *s)
{
	sizes_free(s);
}

/* Room for position n + 1 (the arrays count from 1). */
static bool room(struct sizes *s)
{
	size_t old = s->cap, cap = s->cap;
	uint32_t *ids = s->ids, *bytes = s->bytes;
	size_t *fen = s->fen;

	if (s->n + 2 <= s->cap)
		return true;
	cap = grow_cap(old, s->n + 2, 16);
	if (!cap || cap > SIZE_MAX / sizeof(size_t))
		return false;
	if ((ids = realloc(s->ids, cap * sizeof(*ids))) != NULL)
		s->ids = ids;
	if ((bytes = realloc(s->bytes, cap * sizeof(*bytes))) != NULL)
		s->bytes = bytes;
	if ((fen = realloc(s->fen, cap * sizeof(*fen))) != NULL)
		s->fen = fen;
	if (!ids || !bytes || !fen)
		return false;
	s->cap = cap;
	index_bytes += (cap - old) * (2 * sizeof(uint32_t) + sizeof(size_t));
	return true;
}

/* Position n + 1: the chunk and its size; false if memory ran out. */
static bool push(struct sizes *s, uint32_t chunk, uint32_t bytes)
{
	size_t i;

	if (!room(s))
		return false;
	i = ++s->n;
	s->ids[i] = chunk;
	s->bytes[i] = bytes;
	/* Its range (i - lowbit(i), i]: the sizes before it in the range, then its own. */
	s->fen[i] = prefix(s, i - 1) - prefix(s, i - lowbit(i)) + bytes;
	if (!chunk)
		return true;
	s->live++;
	return pairs_add(&s->pos, chunk, (uint32_t)i);
}

/* The list again without its holes, the positions renumbered; false if memory ran out. */
static bool compact(struct sizes *s)
{
	struct sizes c = {.known = true};
	bool ok = true;

	for (size_t i = 1; i <= s->n && ok; i++)
		if (s->ids[i])
			ok = push(&c, s->ids[i], s->bytes[i]);
	sizes_free(s);
	if (ok)
		*s = c;
	else
		sizes_free(&c);
	return ok;
}

bool dirindex_sized(const struct dirindex *x)
{
	return x->s.known;
}

bool dirindex_chunk_append(struct dirindex *x, uint32_t chunk, size_t bytes)
{
	if (!x->s.known)
		return true;
	if (chunk && bytes && bytes <= UINT32_MAX && !position(&x->s, chunk) &&
	    push(&x->s, chunk, (uint32_t)bytes))
		return true;
	forget(&x->s);
	return false;
}

/* Position i's size becomes bytes; none: the chunk is gone, its place a hole. */
static void resize(struct sizes *s, size_t i, size_t bytes)
{
	fen_add(s, i, bytes - s->bytes[i]);
	s->bytes[i] = (uint32_t)bytes;
	if (bytes)
		return;
	pairs_del(&s->pos, s->ids[i], (uint32_t)i);
	s->ids[i] = 0;
	s->live--;
	if (s->n > 16 && s->n > 2 * s->live && !compact(s))
		forget(s);
}

void dirindex_chunk_grow(struct dirindex *x, uint32_t chunk, size_t bytes)
{
	struct sizes *s = &x->s;
	size_t i = s->known ? position(s, chunk) : 0;

	if (i && bytes <= UINT32_MAX - s->bytes[i])
		resize(s, i, s->bytes[i] + bytes);
	else
		forget(s);
}

void dirindex_chunk_shrink(struct dirindex *x, uint32_t chunk, size_t bytes)
{
	struct sizes *s = &x->s;
	size_t i = s->known ? position(s, chunk) : 0;

	if (i && bytes <= s->bytes[i])
		resize(s, i, s->bytes[i] - bytes);
	else
		forget(s);
}

bool dirindex_chunk_rename(struct dirindex *x, uint32_t old, uint32_t chunk)
{
	struct sizes *s = &x->s;
	size_t i;

	if (!s->known)
		return true;
	if ((i = position(s, old)) != 0 && chunk && !position(s, chunk)) {
		pairs_del(&s->pos, old, (uint32_t)i);
		s->ids[i] = chunk;
		if (pairs_add(&s->pos, chunk, (uint32_t)i))
			return true;
	}
	forget(s);
	return false;
}

size_t dirindex_bytes_total(const struct dirindex *x)
{
	return x->s.known ? prefix(&x->s, x->s.n) : 0;
}

uint32_t dirindex_chunk_at(const struct dirindex *x, size_t off, size_t *chunk_off)
{
	const struct sizes *s = &x->s;
	size_t i = 0, left = off, step = 1;

	if (!s->known)
		return 0;
	while (step <= s->n / 2)
		step *= 2;
	/* The most positions whose sizes add up to no more than off; the next one holds it. */
	for (; s->n && step; step /= 2) {
		if (i + step <= s->n && s->fen[i + step] <= left) {
			i += step;
			left -= s->fen[i];
		}
	}
	if (i >= s->n)
		return 0;
	*chunk_off = off - left;
	return s->ids[i + 1];
}

bool dirindex_chunk_offset(const struct dirindex *x, uint32_t chunk, size_t *off)
{
	size_t i = x->s.known ? position(&x->s, chunk) : 0;

	if (!i)
		return false;
	*off = prefix(&x->s, i - 1);
	return true;
}

void dirindex_clear(void)
{
	for (size_t b = 0; b < indexes.nbuckets; b++)
		while (indexes.buckets && indexes.buckets[b])
			index_free((struct dirindex *)indexes.buckets[b]);
	hmap_free(&indexes);
	memset(&indexes, 0, sizeof(indexes));
	index_bytes = 0;
}

size_t dirindex_bytes(void)
{
	return index_bytes;
}

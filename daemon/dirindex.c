/* Per-directory name-to-chunk indexes: open addressing over (hash, chunk) pairs, kept in memory only. */
#include "dirindex.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"

struct dirindex {
	struct hnode h; /* key: the directory's path, owned */
	uint32_t *slots; /* cap pairs: hash, chunk (0: empty) */
	size_t cap, used;
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

struct dirindex *dirindex_get(const char *dir)
{
	return (struct dirindex *)hmap_find(&indexes, dir);
}

static void index_free(struct dirindex *x)
{
	hmap_remove(&indexes, &x->h);
	index_bytes -= x->cap * 2 * sizeof(uint32_t);
	free(x->slots);
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
	return x;
}

static void place(uint32_t *slots, size_t cap, uint32_t hash, uint32_t chunk)
{
	size_t i = home(hash, cap);

	while (slots[2 * i + 1])
		i = i + 1 == cap ? 0 : i + 1;
	slots[2 * i] = hash;
	slots[2 * i + 1] = chunk;
}

bool dirindex_add(struct dirindex *x, uint32_t hash, uint32_t chunk)
{
	/* Linear probing stays short below 85% full; growth by half keeps the average near 70%. */
	if ((x->used + 1) * 20 > x->cap * 17) {
		size_t ncap = x->cap < 16 ? 16 : x->cap + x->cap / 2;
		uint32_t *ns = calloc(ncap, 2 * sizeof(uint32_t));

		if (!ns)
			return false;
		for (size_t i = 0; i < x->cap; i++)
			if (x->slots[2 * i + 1])
				place(ns, ncap, x->slots[2 * i], x->slots[2 * i + 1]);
		index_bytes += (ncap - x->cap) * 2 * sizeof(uint32_t);
		free(x->slots);
		x->slots = ns;
		x->cap = ncap;
	}
	place(x->slots, x->cap, hash, chunk);
	x->used++;
	return true;
}

void dirindex_del(struct dirindex *x, uint32_t hash, uint32_t chunk)
{
	size_t i;

	if (!x->cap)
		return;
	for (i = home(hash, x->cap); x->slots[2 * i + 1]; i = i + 1 == x->cap ? 0 : i + 1)
		if (x->slots[2 * i] == hash && x->slots[2 * i + 1] == chunk)
			break;
	if (!x->slots[2 * i + 1])
		return;
	x->used--;
	/* Backward shift: later pairs of the run move up unless that would put them before their home. */
	for (size_t j = i + 1 == x->cap ? 0 : i + 1; x->slots[2 * j + 1];
	     j = j + 1 == x->cap ? 0 : j + 1) {
		size_t h = home(x->slots[2 * j], x->cap);
		bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);

		if (!movable)
			continue;
		x->slots[2 * i] = x->slots[2 * j];
		x->slots[2 * i + 1] = x->slots[2 * j + 1];
		i = j;
	}
	x->slots[2 * i] = 0;
	x->slots[2 * i + 1] = 0;
}

uint32_t dirindex_next(const struct dirindex *x, uint32_t hash, size_t *pos)
{
	size_t i, steps;

	if (!x->cap)
		return 0;
	/* *pos counts the slots already probed from the home slot. */
	for (steps = *pos, i = (home(hash, x->cap) + steps) % x->cap; steps < x->cap && x->slots[2 * i + 1];
	     steps++, i = i + 1 == x->cap ? 0 : i + 1) {
		if (x->slots[2 * i] == hash) {
			*pos = steps + 1;
			return x->slots[2 * i + 1];
		}
	}
	*pos = x->cap;
	return 0;
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

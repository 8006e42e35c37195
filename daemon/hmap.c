/* A string-keyed hash table with nodes embedded in their owners (no allocation per entry). */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

uint32_t hmap_hash(const char *key)
{
	/* Short keys, good enough spread, no allocation. */
	uint32_t h = HMAP_HASH_INIT;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = hmap_hash_add(h, *p);
	return h;
}

/*
 * The last len (1 to 7) bytes before end as a word, as a memcpy of them into
 * a zeroed word would give (on a big-endian machine, for keys of 8 bytes or
 * more; shorter ones count every byte too), without a copy of variable
 * length (a byte loop): a whole word ending at end when the key has one
 * (shifted to drop what precedes), else overlapping loads.
 */
static uint64_t tail_word(const unsigned char *end, size_t len, size_t keylen)
{
	const unsigned char *t = end - len;
	uint64_t w;
	uint32_t a, b;

	if (keylen >= 8) {
		memcpy(&w, end - 8, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		return w << (8 * (8 - len));
#else
		return w >> (8 * (8 - len));
#endif
	}
	if (len >= 4) {
		memcpy(&a, t, 4);
		memcpy(&b, end - 4, 4);
		return a | (uint64_t)b << (8 * (len - 4));
	}
	return (uint64_t)t[0] | (uint64_t)t[len / 2] << (8 * (len / 2)) | (uint64_t)t[len - 1] << (8 * (len - 1));
}

uint64_t hmap_hash64(const void *key, size_t len)
{
	const unsigned char *k = key, *end = k + len;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	size_t keylen = len;

	for (; len >= 8; len -= 8, k += 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (len)
		h = (h ^ tail_word(end, len, keylen)) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

uint32_t hmap_hash_words(const char *key, size_t len)
{
	/* Mixed once more, so that every bit of the key reaches the low bits a table indexes by. */
	uint64_t h = hmap_hash64(key, len) * 0xff51afd7ed558ccdull;

	return (uint32_t)(h ^ (h >> 32));
}

static size_t filter_bit(const struct hmap *m, uint32_t h)
{
	return h & (8 * m->nbuckets - 1);
}

static void filter_set(struct hmap *m, uint32_t h)
{
	size_t b = filter_bit(m, h);

	m->filter[b >> 3] |= (uint8_t)(1u << (b & 7));
}

struct hnode *hmap_find_n(const struct hmap *m, const char *key, size_t len, uint32_t h)
{
	size_t b;

	if (!m->nbuckets)
		return NULL;
	b = filter_bit(m, h);
	if (!(m->filter[b >> 3] & (1u << (b & 7))))
		return NULL;
	for (struct hnode *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->next)
		if (n->hash == h && strncmp(n->key, key, len) == 0 && n->key[len] == '\0')
			return n;
	return NULL;
}

struct hnode *hmap_find(const struct hmap *m, const char *key)
{
	return hmap_find_n(m, key, strlen(key), hmap_hash(key));
}

static bool grow(struct hmap *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
	/* malloc and memset: calloc takes the heap's slow path, and a transaction's table is made for each. */
	struct hnode **b = malloc(nb * sizeof(*b));
	uint8_t *f = malloc(nb);

	if (!b || !f) {
		free(b);
		free(f);
		return false;
	}
	memset(b, 0, nb * sizeof(*b));
	memset(f, 0, nb);
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct hnode *n = m->buckets[i];

		while (n) {
			struct hnode *next = n->next;

			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(m->buckets);
	free(m->filter);
	m->buckets = b;
	m->filter = f;
	m->nbuckets = nb;
	for (size_t i = 0; i < nb; i++)
		for (struct hnode *n = b[i]; n; n = n->next)
			filter_set(m, n->hash);
	return true;
}

bool hmap_insert(struct hmap *m, struct hnode *n)
{
	return hmap_insert_h(m, n, hmap_hash(n->key));
}

bool hmap_insert_h(struct hmap *m, struct hnode *n, uint32_t h)
{
	if (m->count >= m->nbuckets && !grow(m))
		return false;
	n->hash = h;
	n->next = m->buckets[n->hash & (m->nbuckets - 1)];
	m->buckets[n->hash & (m->nbuckets - 1)] = n;
	filter_set(m, n->hash);
	m->count++;
	return true;
}

void hmap_remove(struct hmap *m, struct hnode *n)
{
	struct hnode **pp = &m->buckets[n->hash & (m->nbuckets - 1)];
	size_t b = filter_bit(m, n->hash);

	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	*pp = n->next;
	m->count--;
	/* Entries sharing the filter bit share the bucket too: clear it if none is left. */
	for (struct hnode *o = m->buckets[n->hash & (m->nbuckets - 1)]; o; o = o->next)
		if (filter_bit(m, o->hash) == b)
			return;
	m->filter[b >> 3] &= (uint8_t)~(1u << (b & 7));
}

void hmap_free(struct hmap *m)
{
	free(m->buckets);
	free(m->filter);
	m->buckets = NULL;
	m->filter = NULL;
	m->nbuckets = m->count = 0;
}

void hmap_clear(struct hmap *m)
{
	if (m->nbuckets) {
		memset(m->buckets, 0, m->nbuckets * sizeof(*m->buckets));
		memset(m->filter, 0, m->nbuckets);
	}
	m->count = 0;
}

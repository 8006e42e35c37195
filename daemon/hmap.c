/* A string-keyed hash table with nodes embedded in their owners (no allocation per entry). */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

uint32_t hmap_hash(const char *key)
{
	/* FNV-1a: short keys, good enough spread, no allocation. */
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

struct hnode *hmap_find(const struct hmap *m, const char *key)
{
	uint32_t h;

	if (!m->nbuckets)
		return NULL;
	h = hmap_hash(key);
	for (struct hnode *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->next)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

static int grow(struct hmap *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return 0;
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
	m->buckets = b;
	m->nbuckets = nb;
	return 1;
}

int hmap_insert(struct hmap *m, struct hnode *n)
{
	if (m->count >= m->nbuckets && !grow(m))
		return 0;
	n->hash = hmap_hash(n->key);
	n->next = m->buckets[n->hash & (m->nbuckets - 1)];
	m->buckets[n->hash & (m->nbuckets - 1)] = n;
	m->count++;
	return 1;
}

void hmap_remove(struct hmap *m, struct hnode *n)
{
	struct hnode **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = n->next;
		m->count--;
	}
}

void hmap_free(struct hmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

/* A string-keyed hash table with nodes embedded in their owners (no allocation per entry). */
#ifndef XSD_HMAP_H
#define XSD_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint32_t hash;
	const char *key; /* owned by the embedding object */
};

struct hmap {
	struct hnode **buckets;
	size_t nbuckets; /* power of two, or 0 before the first insert */
	size_t count;
	/*
	 * 8 x nbuckets bits, one per value of the hash's low bits, set while an
	 * entry has them: most lookups of absent keys stop here, in a table an
	 * eighth the size of the bucket array, without touching a bucket.
	 */
	uint8_t *filter;
};

/* FNV-1a, a byte at a time: the hash of a prefix is a step on the way to the whole key's. */
#define HMAP_HASH_INIT 2166136261u
static inline uint32_t hmap_hash_add(uint32_t h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}

uint32_t hmap_hash(const char *key);
/*
 * Another hash of a key of len bytes, eight at a time: for a map whose
 * every look-up and insertion passes it (hmap_find_n, hmap_insert_h),
 * where keys are long and no prefix's hash is wanted.
 */
uint32_t hmap_hash_words(const char *key, size_t len);
/* The 64 bits hmap_hash_words is made from, for tables of their own (rec.c's overlay and misses). */
uint64_t hmap_hash64(const void *key, size_t len);
struct hnode *hmap_find(const struct hmap *m, const char *key);
/* Find the key made of the len bytes at key, whose hash the caller computed. */
struct hnode *hmap_find_n(const struct hmap *m, const char *key, size_t len, uint32_t h);
/* Insert a node whose key is set; false on allocation failure (when growing). */
bool hmap_insert(struct hmap *m, struct hnode *n);
/* The same, with the key's hash (hmap_hash) the caller computed for a lookup just before. */
bool hmap_insert_h(struct hmap *m, struct hnode *n, uint32_t h);
void hmap_remove(struct hmap *m, struct hnode *n);
/* Free the bucket array; the nodes belong to their owners. */
void hmap_free(struct hmap *m);
/* Empty the map, keeping its bucket array for the next use; the nodes belong to their owners. */
void hmap_clear(struct hmap *m);

#endif

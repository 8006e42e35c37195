/* A string-keyed hash table with nodes embedded in their owners (no allocation per entry). */
#ifndef XSD_HMAP_H
#define XSD_HMAP_H

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
};

uint32_t hmap_hash(const char *key);
struct hnode *hmap_find(const struct hmap *m, const char *key);
/* Insert a node whose key is set; false on allocation failure (when growing). */
int hmap_insert(struct hmap *m, struct hnode *n);
void hmap_remove(struct hmap *m, struct hnode *n);
/* Free the bucket array; the nodes belong to their owners. */
void hmap_free(struct hmap *m);

#endif

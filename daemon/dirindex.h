/* Which chunk of a large directory holds a child's name: a memory-only cache the store rebuilds when missing. */
#ifndef XSD_DIRINDEX_H
#define XSD_DIRINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One directory's index: a multiset of (hash of a child's name, chunk id)
 * pairs. It may hold pairs that are no longer true (the store checks the
 * chunk), never miss a true one: the store adds a pair before writing the
 * chunk and deletes it after. The store builds an index only for
 * directories of more than one chunk, from their chunks, on first use.
 */
struct dirindex;

uint32_t dirindex_hash(const char *name, size_t len);
/* The index of dir, NULL if none is built. */
struct dirindex *dirindex_get(const char *dir);
/* A new empty index for dir, replacing any; NULL if memory ran out. */
struct dirindex *dirindex_new(const char *dir);
/* False if memory ran out: the index is then incomplete and must be dropped. */
bool dirindex_add(struct dirindex *x, uint32_t hash, uint32_t chunk);
/* Remove one instance of the pair, if present. */
void dirindex_del(struct dirindex *x, uint32_t hash, uint32_t chunk);
/* The chunks that may hold a name of this hash: *pos = 0 first; returns 0 when done. */
uint32_t dirindex_next(const struct dirindex *x, uint32_t hash, size_t *pos);
void dirindex_drop(const char *dir);
void dirindex_clear(void);
/* Memory held by all indexes (CONTROL stats). */
size_t dirindex_bytes(void);

#endif

/* Which chunk of a large directory holds a child's name, and which a byte offset of its child list: a memory-only cache the store rebuilds when missing. */
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

/*
 * The chunk list beside the pairs: the directory's chunks in list order,
 * each with the bytes of its children's names (a NUL each), so that a
 * byte offset of the child list (DIRECTORY_PART) finds its chunk in
 * O(log chunks). Unlike the pairs it is exact: the store builds it with
 * the index, chunk by chunk in order, and tells it every change of a
 * chunk's names and of the list. A change it cannot follow (memory ran
 * out, a chunk it does not list) leaves the sizes unknown, the pairs
 * intact; the store then builds the index again when it needs them.
 */
bool dirindex_sized(const struct dirindex *x);
/* A chunk added at the end of the list with this many bytes of names; false if the sizes are lost. */
bool dirindex_chunk_append(struct dirindex *x, uint32_t chunk, size_t bytes);
/* A listed chunk's names grew or shrank by bytes; shrunk to nothing, it leaves the list. */
void dirindex_chunk_grow(struct dirindex *x, uint32_t chunk, size_t bytes);
void dirindex_chunk_shrink(struct dirindex *x, uint32_t chunk, size_t bytes);
/* Chunk old took the id chunk, in the same place; false if the sizes are lost. */
bool dirindex_chunk_rename(struct dirindex *x, uint32_t old, uint32_t chunk);
/* The bytes of names of every listed chunk: the directory's children_bytes while the sizes are known. */
size_t dirindex_bytes_total(const struct dirindex *x);
/* The chunk holding byte offset off of the child list, and its own offset in *chunk_off; 0 at or past the end. */
uint32_t dirindex_chunk_at(const struct dirindex *x, size_t off, size_t *chunk_off);
/* The byte offset of a listed chunk in the child list; false if it is not listed. */
bool dirindex_chunk_offset(const struct dirindex *x, uint32_t chunk, size_t *off);

void dirindex_drop(const char *dir);
void dirindex_clear(void);
/* Memory held by all indexes (CONTROL stats). */
size_t dirindex_bytes(void);

#endif

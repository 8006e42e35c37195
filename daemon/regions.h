/* Which subtrees name each domain: the topmost nodes whose permissions name it, for its clean-up. */
#ifndef XSD_REGIONS_H
#define XSD_REGIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A region of domain D is a node whose permissions name D (as owner or in
 * an entry) while its parent's do not. Every node naming D lies in one, so
 * a gone domain's clean-up walks its regions instead of the whole tree.
 * The store keeps the index as nodes change (store.c); an entry may be
 * stale (the clean-up checks each node it reaches), never missing, unless
 * memory ran out, which regions_complete() then reports.
 */
void regions_add(uint32_t domid, const char *path);
void regions_del(uint32_t domid, const char *path);
/* The region roots of domid, strdup'd into a malloc'd array (*out); their count. */
size_t regions_list(uint32_t domid, char ***out);
/* False once an addition failed for lack of memory, or regions_lost(): the index cannot be trusted. */
bool regions_complete(void);
/* The index could not be built (a damaged tree): clean-ups walk the whole tree instead. */
void regions_lost(void);
/* Forget everything (the store rebuilds the index when it opens). */
void regions_clear(void);

#endif

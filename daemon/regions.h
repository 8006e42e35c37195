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
 * The index follows the store's reports through regions_hook (store.h),
 * which the daemon registers before it opens the store, and is rebuilt
 * when the store opens. An entry may be stale (the clean-up checks each
 * node it reaches), never missing, unless memory ran out or the tree could
 * not be read whole, which regions_complete() then reports.
 */
struct store_hook;
extern const struct store_hook regions_hook;

/* The region roots of domid, strdup'd into a malloc'd array (*out); their count. */
size_t regions_list(uint32_t domid, char ***out);
/* False once the index cannot be trusted: clean-ups then walk the whole tree. */
bool regions_complete(void);

#endif

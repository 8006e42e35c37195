/* Which subtrees name each domain: the topmost nodes whose permissions name it, for its clean-up. */
#ifndef XSD_REGIONS_H
#define XSD_REGIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"

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
/* False once the index cannot be trusted (store_retell rebuilds it). */
bool regions_complete(void);

/*
 * What a clean-up in slices asks, the store's start-up walk being done
 * (store_settled): none of these finishes it.
 */
/* regions_complete, without finishing the store's walk first. */
bool regions_trusted(void);
/* How many roots domid's regions have. */
size_t regions_count(uint32_t domid);
/* Whether path is a root of domid's regions. */
bool regions_is_root(uint32_t domid, const char *path);
/* The length of the topmost prefix of path (path itself included) that is a root of domid's; 0 if none. */
size_t regions_root_above(uint32_t domid, const char *path);
/*
 * domid's roots one after another, without copying them: the next from
 * *cursor (0 to begin) and *cursor moved past it; NULL at the end (*cursor
 * back at 0). The string lasts until the index next changes (a group of
 * the store ends, regions_forget). A pass may miss a root the index gained
 * or moved meanwhile: the clean-up makes passes until none is left.
 */
const char *regions_next(uint32_t domid, size_t *cursor);
/* Drop a root that names domid no more, or cannot be read (a damaged node). */
void regions_forget(uint32_t domid, const char *path);
/*
 * While on (a clean-up's slice ends with it on), a node with children that
 * stops naming a domain stays a root of it instead of its children being
 * looked at there and then (all of them at once: a directory of 100,000
 * would take as long): a root naming the domain no more, and with
 * children, is then for regions_descend.
 */
void regions_defer_children(bool defer);
/*
 * One chunk of path's children (*chunk: 0 for the first; then the next,
 * 0 when none is left): those naming domid become roots of its regions;
 * after the last, path is no root of it any more. XSE_OK, XSE_ENOENT (path
 * or that chunk is gone: start again from 0), XSE_EIO, XSE_ENOMEM.
 */
enum xs_err regions_descend(uint32_t domid, const char *path, uint32_t *chunk);

#endif

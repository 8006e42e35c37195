/* Clean-up after gone domains: their nodes and permission entries removed in slices between other clients' requests, then @releaseDomain. */
#ifndef XSD_CLEANUP_H
#define XSD_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct txn;

/* 0, or -1 if the queue's timer cannot be made. Goes on with what the store says a previous run left. */
int cleanup_init(struct event_base *base);
/* Let the queue go (shutdown); what is left stays noted in the store for the next start. */
void cleanup_fini(void);
/*
 * These domains are gone (their sessions already closed): queue the removal
 * of what they owned, every permission entry naming them, and their
 * @releaseDomain events, which fire once that is done. Noted in the store
 * at once; the work goes in slices of cleanup-slice-us, a turn of the loop
 * each. Never given up: a shortage of memory or room is tried again later.
 */
void cleanup_domains_gone(const uint32_t *ids, size_t n);

/*
 * Until its clean-up ends a domid is not to be reused: what a request
 * must wait for (dispatch.c parks it; the domain's clean-up then goes
 * first). Each says the domain in *domid, where it takes one.
 */
/* domid's clean-up is not finished (INTRODUCE of it, SET_PERMS naming it); it goes first now. */
bool cleanup_blocks_domain(uint32_t domid);
/*
 * A change of path (a write, a creation, new permissions) would land in
 * what a clean-up removes: path or a node above it is owned by a domain
 * being cleaned up (never with --keep-orphans, where nothing is removed).
 */
bool cleanup_blocks_path(const char *path, uint32_t *domid);
/* The same, for any node t's commit would create or change. */
bool cleanup_blocks_txn(struct txn *t, uint32_t *domid);
/* Finish domid's clean-up now, whole (a waiting request that cannot be parked); false if it could not. */
bool cleanup_finish(uint32_t domid);

/* Whether domid's clean-up is queued or under way (IS_DOMAIN_INTRODUCED answers T until it ends). */
bool cleanup_pending(uint32_t domid);

/* For CONTROL stats: domains waiting for their clean-up to end, and the slices run since the start. */
struct cleanup_stats {
	size_t pending;
	uint64_t slices;
};
void cleanup_stats(struct cleanup_stats *s);

#endif

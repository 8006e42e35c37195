/* Clean-up after gone domains: their nodes and permission entries removed, then @releaseDomain, a few domains per turn. */
#ifndef XSD_CLEANUP_H
#define XSD_CLEANUP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* 0, or -1 if the queue's timer cannot be made. */
int cleanup_init(struct event_base *base);
/* Run every queued clean-up, then let the queue go (shutdown). */
void cleanup_fini(void);
/*
 * These domains are gone (their sessions already closed): queue the removal
 * of what they owned, every permission entry naming them, and their
 * @releaseDomain events (run at once when there is no queue or no room).
 */
void cleanup_domains_gone(const uint32_t *ids, size_t n);
/* Run every queued clean-up now: a request that changes the tree or domains must see them done. */
void cleanup_flush(void);

#endif

/* Quotas: the one table of limits, and the one accounting authority that charges and releases them per domain. */
#ifndef XSD_QUOTA_H
#define XSD_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"
#include "ident.h"

/* Order is the C daemon's GET_QUOTA listing order. */
enum quota_id {
	QUOTA_NODES,
	QUOTA_WATCHES,
	QUOTA_OUTSTANDING,
	QUOTA_MEMORY,
	QUOTA_TRANSACTIONS,
	QUOTA_TRANSACTION_NODES,
	QUOTA_NODE_PERMISSIONS,
	QUOTA_PATH_MAX,
	QUOTA_NODE_SIZE,
	QUOTA_COUNT,
};

/* Current global hard values (0 = unlimited) and the soft memory quota. */
extern unsigned quota_hard[QUOTA_COUNT];
extern unsigned quota_soft_memory;

const char *quota_name(enum quota_id q);
const char *quota_description(enum quota_id q);
/* Look up a quota by its C-daemon name; -1 if unknown. */
int quota_lookup(const char *name);
/* Set by name from a decimal string; false on an unknown name or bad number. */
bool quota_set(const char *name, const char *value, bool soft);

/*
 * Every quota has one boundary, the C daemon's (as at Xen HEAD): a count or
 * size that would reach the hard value is refused, so a domain holds at most
 * value - 1. 0 means unlimited. Privileged clients are never refused, but
 * are counted.
 */

/* Per-item limits (node-permissions, path-max, node-size, transaction-nodes): may an item be this big? */
bool quota_allows(const struct ident *who, enum quota_id q, size_t value);
/*
 * Counted resources of a domain (watches, transactions, ...): take n more
 * for who's domain, or XSE_ENOSPC and nothing taken. Every charge is
 * released by whoever took it, with the same ident's domain.
 */
enum xs_err quota_charge(const struct ident *who, enum quota_id q, unsigned n);
void quota_release(const struct ident *who, enum quota_id q, unsigned n);
/* Move n of what one domain holds to another (a connection restricted to another domain's rights). */
void quota_transfer(uint32_t from, uint32_t to, enum quota_id q, unsigned n);
/* What a domain holds now. */
unsigned quota_used(uint32_t domid, enum quota_id q);
/* Forget all accounting (shutdown). */
void quota_fini(void);

#endif

/* Quotas: the values (global defaults and each domain's own), and the one accounting authority that charges and releases them per domain. */
#ifndef XSD_QUOTA_H
#define XSD_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/perms.h"
#include "../proto/wire.h"
#include "ident.h"

/* Order is the C daemon's listing order (CONTROL quota, GET_QUOTA). */
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

/*
 * The global values (0 = unlimited): the defaults a domain copies when it
 * comes into being. Only memory has a soft value (a warning level).
 */
extern unsigned quota_hard[QUOTA_COUNT];
extern unsigned quota_soft_memory;

const char *quota_name(enum quota_id q);
const char *quota_description(enum quota_id q);
/* Look up a hard quota by its C-daemon name; -1 if unknown. */
int quota_lookup(const char *name);
/* Does the quota have a soft value ("soft-<name>")? Memory only. */
bool quota_has_soft(enum quota_id q);
/* A value's wire name: "name", or "soft-name" (GET_QUOTA, SET_QUOTA); false if there is none. */
bool quota_parse_name(const char *name, enum quota_id *q, bool *soft);
/* A decimal value, digits only, at most max; false otherwise. */
bool quota_parse_value(const char *s, unsigned max, unsigned *v);
/* Set a global value by name from a decimal string (options, file); false on an unknown name or bad number. */
bool quota_set(const char *name, const char *value, bool soft);

/*
 * Values by domain. QUOTA_GLOBAL names the global defaults. A domain's own
 * values are a copy of the global ones made when it comes into being: its
 * INTRODUCE, the daemon's start for its own domain, or the first time
 * anything charges it or names it; they are forgotten when it goes.
 */
#define QUOTA_GLOBAL UINT32_MAX
/* The domain comes into being now (no effect if it already has its values); false on ENOMEM. */
bool quota_domain_new(uint32_t domid);
/* The domain is gone: its values and maxima are forgotten (what is still charged stays charged). */
void quota_domain_gone(uint32_t domid);
/* Does the domain have its values (has it come into being and not gone)? */
bool quota_domain_known(uint32_t domid);
unsigned quota_value(uint32_t domid, enum quota_id q, bool soft);
/* false on ENOMEM (a domain's first values). */
bool quota_set_value(uint32_t domid, enum quota_id q, bool soft, unsigned v);

/*
 * Every quota has one boundary, the C daemon's (as at Xen HEAD): a count or
 * size that would reach the domain's hard value is refused, so a domain holds
 * at most value - 1. 0 means unlimited. Privileged clients are never refused,
 * but their counts are kept.
 */

/* Per-item limits (node-permissions, path-max, node-size, transaction-nodes): may an item be this big? */
bool quota_allows(const struct ident *who, enum quota_id q, size_t value);
/*
 * Counted resources of a domain (watches, transactions, memory ...): take n
 * more for who's domain, or XSE_ENOSPC (memory: XSE_ENOMEM, with a warning
 * logged when it passes the soft value) and nothing taken. Every charge is
 * released by whoever took it, with the same ident's domain.
 */
enum xs_err quota_charge(const struct ident *who, enum quota_id q, unsigned n);
void quota_release(const struct ident *who, enum quota_id q, unsigned n);
/*
 * What the daemon owes and cannot refuse (a reply queued: outstanding) is
 * counted, never refused: false only if the domain's values could not be
 * made (ENOMEM), and then nothing is held. Released with quota_release.
 */
bool quota_hold(const struct ident *who, enum quota_id q, unsigned n);
/* Has who's domain reached its value of q (an unprivileged client, a value set)? */
bool quota_reached(const struct ident *who, enum quota_id q);
/* Move n of what one domain holds to another, unprivileged one (a connection restricted to its rights). */
void quota_transfer(uint32_t from, uint32_t to, enum quota_id q, unsigned n);
/* What a domain holds now. */
unsigned quota_used(uint32_t domid, enum quota_id q);
/*
 * The highest usage seen: of one domain since it came into being (counts,
 * and the biggest item it was allowed), or with QUOTA_GLOBAL over all
 * unprivileged domains.
 */
unsigned quota_max(uint32_t domid, enum quota_id q);
/*
 * Nodes a transaction creates and removes, per owning domain: what its
 * commit will add to each domain's count of nodes (nodes, as the store's
 * hook counts them: the first permission entry's domain, special nodes
 * left out). The transaction keeps it as it changes its overlay, so a
 * check costs a lookup, never a walk; the store's hook counts the nodes
 * only once they are committed. Zeroed is empty.
 */
struct quota_pending {
	struct quota_pending_dom *dom; /* sorted by domid */
	size_t n, cap;
	bool created; /* a node was created (the commit is then judged) */
};
/*
 * Inside the transaction, node path with perms is created, removed, or its
 * permissions set from old to perms (the owner may change); false on
 * ENOMEM (the transaction must then fail).
 */
bool quota_pending_create(struct quota_pending *p, const char *path, const struct xs_perm *perms,
			  unsigned nperms);
bool quota_pending_remove(struct quota_pending *p, const char *path, const struct xs_perm *perms,
			  unsigned nperms);
bool quota_pending_perms(struct quota_pending *p, const char *path, const struct xs_perm *old,
			 unsigned nold, const struct xs_perm *perms, unsigned nperms);
void quota_pending_free(struct quota_pending *p);
/* A live update hands a transaction's counts to the next daemon; unpack: false if they are not such. */
struct pack;
struct unpack;
void quota_pending_pack(const struct quota_pending *p, struct pack *b);
bool quota_pending_unpack(struct quota_pending *p, struct unpack *r);
/*
 * The nodes quota, the C daemon's way: may who create n more nodes, its
 * domain holding the nodes committed plus what p (its transaction's, or
 * NULL outside one) adds? Judged before a request creates anything, so
 * one request making several levels can go a little past.
 */
bool quota_nodes_allow(const struct ident *who, const struct quota_pending *p, unsigned n);
/*
 * May a transaction of who's with these changes commit: XSE_OK, or
 * XSE_ENOSPC if it created nodes and would take who's (unprivileged)
 * domain to its nodes quota, counting what has been committed since,
 * other transactions' commits included.
 */
enum xs_err quota_pending_commit(const struct ident *who, const struct quota_pending *p);
/* The first domain at or after from that has its values (quota_domain_known); QUOTA_GLOBAL if none. */
uint32_t quota_next_domain(uint32_t from);
/* Start the maxima afresh: the global ones at 0, each domain's at what it holds now. */
void quota_max_reset(void);
/*
 * The global memory budget (memory-budget): may this client's request grow
 * the daemon's heap or store? The privileged may use the memory-reserve the
 * others leave. quota_budget_used: heap + store file bytes as last measured
 * (fresh: measured now); heap and store (either may be NULL) get the parts.
 */
extern size_t quota_budget, quota_budget_reserve; /* bytes; a budget of 0: none */
bool quota_budget_allows(const struct ident *who);
uint64_t quota_budget_used(bool fresh, uint64_t *heap, uint64_t *store);
/*
 * Allocation failures (malloc itself, not the budget): memory-emergency
 * bytes held from the start (quota_emergency_take; again once memory is
 * back). Privileged work that meets a failure calls quota_memory_short:
 * the reserve is given back (true: worth trying again at once) and, until
 * the heap is well below where it was then, quota_budget_allows refuses
 * every unprivileged client, budget or none.
 */
extern size_t quota_emergency; /* bytes; 0: none */
void quota_emergency_take(void);
bool quota_memory_short(void);
bool quota_memory_is_short(void);
/* The store's changes, for the nodes each domain owns (register with store_add_hook). */
struct store_hook;
extern const struct store_hook quota_store_hook;
/* Forget all accounting (shutdown). */
void quota_fini(void);

#endif

/* Introduced domains and their watches kept with the store, so that a restarted daemon serves them on. */
#ifndef XSD_KEEP_H
#define XSD_KEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"

/*
 * What a restarted daemon needs of each domain it served: records of the
 * store's own (store_aux_*), never nodes, written through its groups like
 * any change, so durable before the reply that tells of them. They are
 * written only when a domain's life changes (INTRODUCE, RELEASE, death,
 * SET_TARGET, a quota of its own) and when its ring's watches do (WATCH,
 * UNWATCH, their reset): never for other requests. keep_open reads them all
 * at start; domain.c takes the domains up again from them.
 *
 * Records: "domains" lists the domids kept; "dom/<domid>" holds a domain;
 * "watch/<domid>/<slot>" one watch of its ring (a slot is reused once
 * free; the domain record says how many slots to look at).
 */

/* One of the domain's quota values: QUOTA_* id, or KEEP_QUOTA_SOFT | id for a soft one. */
#define KEEP_QUOTA_SOFT 0x80u
#define KEEP_QUOTAS_MAX 24u

struct keep_domain {
	uint32_t domid;
	uint32_t port;        /* the domain's end of its store event channel */
	uint64_t incarnation; /* the hypervisor's name for this life of the domain; 0: unknown */
	uint32_t target;      /* SET_TARGET's, or XS_DOMID_INVALID */
	uint8_t features;     /* domain.c's feature byte (0: the defaults) */
	bool own;             /* the daemon's own domain's ring (never introduced) */
	bool gone;            /* released or dead: its clean-up is all that remains */
	unsigned nquotas; /* its values (a copy of the global ones when it came into being, or its own) */
	struct {
		uint8_t id;
		uint32_t value;
	} quotas[KEEP_QUOTAS_MAX];
};

/* A watch as registered: canonical path, the home prefix's length (relative), token, depth (-1: none). */
struct keep_watch {
	const char *path;
	size_t prefix_len;
	const char *token;
	int depth;
};

/* Read every kept record into memory (after store_open): XSE_OK, or XSE_EIO/XSE_ENOMEM (logged). */
enum xs_err keep_open(void);
void keep_close(void);

/* The domids kept (ascending); *ids malloc'd (free it). */
size_t keep_list(uint32_t **ids);
/* The domain as kept: false if it is not. */
bool keep_domain_get(uint32_t domid, struct keep_domain *out);
/* Its watches in the order they were registered; fn's false drops one (its record goes). */
typedef bool (*keep_watch_fn)(void *ctx, const struct keep_watch *w);
void keep_watches_each(uint32_t domid, keep_watch_fn fn, void *ctx);
unsigned keep_watch_count(uint32_t domid);

/*
 * Keep a domain (INTRODUCE, or any change of what is kept of it): fresh
 * drops every watch kept before under its domid. Its own group: XSE_OK or
 * the store's error (nothing kept then).
 */
enum xs_err keep_domain_put(const struct keep_domain *d, bool fresh);
/* Released or dead: the records say so (its watches go) until its clean-up is written. */
enum xs_err keep_domains_gone(const uint32_t *ids, size_t n);
/* Inside the group of their clean-up: the domains' records go. */
void keep_domains_cleaned(const uint32_t *ids, size_t n);

/* The watches of a kept domain's ring (no-op, XSE_OK, for a domain not kept). */
enum xs_err keep_watch_add(uint32_t domid, const struct keep_watch *w);
enum xs_err keep_watch_remove(uint32_t domid, const char *path, const char *token);
enum xs_err keep_watches_clear(uint32_t domid);

/* CONTROL check: the records read again agree with what is kept in memory. NULL, or the first fault (static). */
const char *keep_check(void);

#endif

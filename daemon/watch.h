/* Watches: registration, the index by path, and delivery of events with permission filtering. */
#ifndef XSD_WATCH_H
#define XSD_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "../proto/perms.h"
#include "../proto/wire.h"
#include "ident.h"

/*
 * The watches of one client. Events leave through deliver(owner, path,
 * token), so watch.c knows nothing of connections; who gives the identity
 * that judges which events the client may see and whose watch quota it
 * uses, and order its place in the C daemon's delivery order (arrival of
 * its connection).
 */
struct watch_set;
typedef void (*watch_deliver_fn)(void *owner, const char *path, const char *token);
struct watch_set *watch_set_new(const struct ident *who, uint64_t order, watch_deliver_fn deliver,
				void *owner);
unsigned watch_set_count(const struct watch_set *s);
/* Bytes charged to the domain's memory quota for them. */
size_t watch_set_memory(const struct watch_set *s);
/* Remove every watch; the set stays usable. */
void watch_set_clear(struct watch_set *s);
void watch_set_free(struct watch_set *s);

/* How an event matches watches. */
enum watch_match {
	WATCH_SUBTREE = 1, /* watches on the path or any ancestor (WRITE, SET_PERMS, RM root) */
	WATCH_EXACT = 2,   /* watches on exactly this path (removed descendants) */
};

/*
 * Register a watch. path is canonical, prefix_len the length of the home
 * prefix of a relative registration (stripped from its events), depth -1
 * for none. XSE_EEXIST for a duplicate (path, token) on this connection,
 * XSE_ENOSPC over the watch quota, XSE_ENOMEM.
 */
enum xs_err watch_add(struct watch_set *s, const char *path, size_t prefix_len, const char *token,
		      int depth);
/* Queue the initial event of a just-registered watch (after its OK). */
void watch_initial_event(struct watch_set *s, const char *path, size_t prefix_len,
			 const char *token);
enum xs_err watch_remove(struct watch_set *s, const char *path, const char *token);
/* Each watch of the set in the order registered: its canonical path (path_len bytes, not NUL-ended), as watch_add took it. */
typedef void (*watch_each_fn)(void *ctx, const char *path, size_t path_len, size_t prefix_len, const char *token,
			      int depth);
void watch_set_each(const struct watch_set *s, watch_each_fn fn, void *ctx);
/* An event for every watch of the set, as when each was registered (events it was owed were lost). */
void watch_set_fire_all(struct watch_set *s);

/*
 * Fire an event for a node change. perms/nperms are the node's permissions
 * when the event happens (NULL: read them from the store if needed);
 * old_perms the previous ones for a permission change (or NULL). A watcher
 * gets the event if it may read the node under either, or may read its parent.
 */
void watch_fire(const char *path, enum watch_match match, const struct xs_perm *perms,
		unsigned nperms, const struct xs_perm *old_perms, unsigned old_nperms);

/*
 * Domain events on a special path (base "@introduceDomain" or
 * "@releaseDomain"): watch_fire_special_base sends base itself to the watches
 * on exactly base without a depth; watch_fire_special_domain sends
 * "<base>/<domid>" to the watches on exactly that path and to those on base
 * with a depth above 0. Delivery is judged by the special node's permissions.
 */
void watch_fire_special_base(const char *base);
void watch_fire_special_domain(const char *base, unsigned domid);

/* Number of watches registered, for reports. */
unsigned watch_count(void);

#endif

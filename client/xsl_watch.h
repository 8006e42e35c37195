/* The watch set: watches by token, their bounded event queues, and the order callbacks run in. */
#ifndef XSL_WATCH_H
#define XSL_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "xenstore_client.h"

/* Single-threaded: the handle calls everything here with its lock held. */

enum xsl_watch_state {
	XSL_W_REGISTERING, /* WATCH sent, no answer yet: events already route here */
	XSL_W_ACTIVE,      /* registered: replayed after a reconnection */
	XSL_W_REMOVED,     /* out of the set; freed when the last reference goes */
};

struct xsl_wevent {
	struct xsl_wevent *next;
	unsigned flags;
	char path[];
};

struct xsl_watch {
	struct xsl_watch *prev, *next; /* the set, in registration order */
	struct xsl_watch *ready_next;  /* the ready list: watches with events to deliver */
	bool ready;
	enum xsl_watch_state state;
	unsigned refs;                 /* the set's, and one per callback running */
	char *path;
	char token[40];
	int depth;                     /* < 0: none */
	bool depth_by_store;           /* sent with the WATCH; else filtered here */
	unsigned max_pending;
	unsigned flags;
	xsl_watch_fn *cb;
	void *arg;
	struct xsl_wevent *qhead, *qtail;
	unsigned qlen;
	bool overflowed;               /* the queue holds the one overflow event */
};

struct xsl_watchset {
	struct xsl_watch *head, *tail;
	unsigned count;
	struct xsl_watch *ready_head, *ready_tail;
	uint32_t nonce;
	uint64_t seq;
	uint64_t stray, overflows;
};

void xsl_watchset_init(struct xsl_watchset *ws, uint32_t nonce);
/* A new watch, REGISTERING, in the set (so its events route): 0 or -errno. */
int xsl_watchset_add(struct xsl_watchset *ws, const char *path, const struct xsl_watch_opts *opts,
		     xsl_watch_fn *cb, void *arg, struct xsl_watch **out);
/* Take it out: no more events, queued ones dropped. The set's reference is dropped. */
void xsl_watchset_remove(struct xsl_watchset *ws, struct xsl_watch *w);
/* Route an event by its token (filtered by depth, coalesced, bounded). */
void xsl_watchset_event(struct xsl_watchset *ws, const char *path, const char *token);
/* The next event to deliver, round robin across watches: its watch gets a reference. NULL if none. */
struct xsl_watch *xsl_watchset_next(struct xsl_watchset *ws, struct xsl_wevent **ev);
bool xsl_watchset_pending(const struct xsl_watchset *ws);
/* Drop a reference; the last one frees a removed watch. */
void xsl_watch_put(struct xsl_watch *w);
/* Free every watch (the handle is closing; no callback runs). */
void xsl_watchset_clear(struct xsl_watchset *ws);

#endif

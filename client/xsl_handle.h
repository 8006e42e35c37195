/* The handle: one connection shared by threads, its waiting, pumping, callbacks and reconnection. */
#ifndef XSL_HANDLE_H
#define XSL_HANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "xenstore_client.h"
#include "xsl_codec.h"

/* A blocking call's reply: the payload, and a NUL after it for convenience. */
struct xsl_reply {
	size_t len;
	char data[XS_PAYLOAD_MAX + 1];
};

/*
 * Send a request and wait for its reply (rep may be NULL): 0 or -errno, as
 * the public calls answer. t: the transaction (its connection is checked).
 */
int xsl_call(struct xsl *h, xsl_txn_t t, uint32_t type, const struct xsl_arg *args, unsigned nargs,
	     struct xsl_reply *rep);
/* Transport capabilities (XSL_TRCAP_*). */
unsigned xsl_caps(struct xsl *h);
/* The transport's event channel port (0: none with a number). */
unsigned xsl_port(struct xsl *h);
/* The handle's clock for layers above: a deadline timeout_ms from now (< 0: none), what is left of it (-1: for ever). */
long long xsl_deadline(int timeout_ms);
int xsl_ms_left(long long deadline);
/* The current connection's epoch (transactions carry it). */
uint32_t xsl_epoch(struct xsl *h);
/* A pseudo-random number (backoff jitter). */
unsigned xsl_random(struct xsl *h);
/* Whether the handle may reconnect after losing its connection. */
bool xsl_reconnects(struct xsl *h);

/* Watches (xsl_subscribe.c on top of the watch set the handle owns). */
struct xsl_watch_opts;
int xsl_watch_register(struct xsl *h, const char *path, const struct xsl_watch_opts *opts,
		       bool depth_by_store, xsl_watch_fn *cb, void *arg, struct xsl_watch **out);
/* The WATCH answered: 0 marks the watch active, an error takes it out. */
void xsl_watch_registered(struct xsl *h, struct xsl_watch *w, int err);
/*
 * Take a watch out and hold a reference for the caller; returns whether
 * the store may have it (so UNWATCH should be sent).
 */
bool xsl_watch_detach(struct xsl *h, struct xsl_watch *w);
/* Wait until no callback of w runs (unless it is the caller's own), then drop the reference. */
void xsl_watch_release(struct xsl *h, struct xsl_watch *w);

#endif

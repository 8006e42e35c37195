/* The guest side of a store ring: a simulated domain's page and event channel, and the client over them. */
#ifndef XS_CLIENT_XSC_RING_H
#define XS_CLIENT_XSC_RING_H

#include <stdint.h>

#include "../proto/ring.h"
#include "xsc.h"

/* A simulated domain as its "hypervisor" sees it: the ring page, the event channel, its life. */
struct xsc_simdom {
	uint32_t domid;
	struct xs_ring *ring; /* our mapping of the page the store maps too */
	int to_store;         /* eventfd we signal */
	int to_guest;         /* eventfd the store signals */
	int reg_fd;           /* registration with the simulated hypervisor: the domain's life */
};

/*
 * Create domain `domid` in the simulated hypervisor listening at
 * simhyp_socket (the daemon's <rundir>/simhyp): make its ring page and
 * event channel and register them. The domain exists until
 * xsc_simdom_destroy (or this process's death). NULL with errno on failure
 * (EEXIST if that domain is registered already).
 */
struct xsc_simdom *xsc_simdom_create(const char *simhyp_socket, uint32_t domid);
/* Report the domain as shut down (it still exists). 0 or -1. */
int xsc_simdom_shutdown(struct xsc_simdom *d);
/* Destroy the domain (the store sees it die) and free everything. */
void xsc_simdom_destroy(struct xsc_simdom *d);

/*
 * A client speaking through the domain's ring, as a guest kernel does. The
 * domain must have been introduced for the store to answer. The client
 * does not own the domain: destroy the client first, the domain after.
 */
struct xsc *xsc_open_ring(struct xsc_simdom *d);
/* Signal the event channel (as after producing or consuming). */
void xsc_simdom_notify(struct xsc_simdom *d);
/*
 * The reconnection handshake (feature 1): ask the store to start over and
 * wait until it has. 0, or -1 with errno (ETIMEDOUT).
 */
int xsc_ring_reconnect(struct xsc_simdom *d, int timeout_ms);

/*
 * Introduce the domain through a privileged connection, as a toolstack does
 * first: its home /local/domain/<domid> owned by it, then INTRODUCE.
 * Returns 0, or the error name's errno.
 */
int xsc_introduce(struct xsc *priv, uint32_t domid);

#endif

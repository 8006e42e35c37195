/* The transport interface: how bytes move between the connection and a store, and the transports there are. */
#ifndef XSL_TRANSPORT_H
#define XSL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../proto/ring.h"

/* Capabilities (xsl_transport.caps). */
#define XSL_TRCAP_DOMAIN 1u      /* the peer is a domain's connection: relative paths under its home */
#define XSL_TRCAP_KERNEL 2u      /* a kernel's device: watches handled by the kernel (no depth), */
				 /* WATCH/UNWATCH acks possibly with req_id 0, a write error rejects one message */
#define XSL_TRCAP_PERSISTENT 4u  /* the connection outlives the handle (a ring): tidy up at close */

struct xsl_transport;

/*
 * Every call is non-blocking. Negative results are -errno; -ECONNRESET
 * means the peer is gone.
 */
struct xsl_transport_ops {
	/* Send bytes of one message (never of two: a device takes one per write). Bytes taken, 0 if none fit now. */
	ssize_t (*send)(struct xsl_transport *t, const void *buf, size_t len);
	/* Bytes received (> 0), 0 if none are there now. */
	ssize_t (*recv)(struct xsl_transport *t, void *buf, size_t len);
	/* The descriptor to poll, and for which events (output waiting or not). */
	int (*fd)(struct xsl_transport *t);
	short (*poll_events)(struct xsl_transport *t, bool output_waiting);
	/* After the descriptor polled ready: clear a notification before looking again (may be NULL). */
	void (*ack)(struct xsl_transport *t);
	/*
	 * Start over with a fresh connection: 0 when connected, -EINPROGRESS
	 * while a handshake goes on (call again when the descriptor is ready),
	 * -EOPNOTSUPP if impossible, another -errno to try again later. NULL:
	 * never possible.
	 */
	int (*reconnect)(struct xsl_transport *t);
	/* The store's feature bits if the transport knows them (a ring's page), else -ENOSYS. */
	int (*features)(struct xsl_transport *t, unsigned *features);
	void (*close)(struct xsl_transport *t);
};

/* Each transport embeds this first. */
struct xsl_transport {
	const struct xsl_transport_ops *ops;
	unsigned caps;
	unsigned port; /* the event channel's local port; 0: none, or one without a number (simulated) */
};

/* Unix socket: path given or the default places ($XENSTORED_PATH, $XENSTORED_RUNDIR/socket). */
int xsl_tr_socket_open(const char *path, struct xsl_transport **out);
/* An already connected stream socket (owned from now on): no reconnection. */
int xsl_tr_fd_adopt(int fd, struct xsl_transport **out);
/* A xenbus device: path given or the usual places (/dev/xen/xenbus, /proc/xen/xenbus). */
int xsl_tr_xenbus_open(const char *path, struct xsl_transport **out);
/* A xenbus device already open (owned from now on). */
int xsl_tr_xenbus_adopt(int fd, struct xsl_transport **out);
/* What libxenstore's xs_open does: the socket path, else the device; a socket or not decided by stat. */
int xsl_tr_auto_open(const char *path, struct xsl_transport **out);
/* The socket path libxenstore would use (into buf). */
int xsl_tr_default_socket(char *buf, size_t size);

/*
 * A ring page with its event channel. The event channel's operations come
 * from whoever binds it (simulated or Xen); the ring engine does the rest.
 */
struct xsl_evtchn {
	int fd;                            /* readable when the store notified us */
	unsigned port;                     /* its local port number; 0 if it has none */
	void (*notify)(struct xsl_evtchn *e); /* tell the store */
	void (*ack)(struct xsl_evtchn *e);    /* clear what made fd readable */
	void (*close)(struct xsl_evtchn *e);  /* unbind; NULL if the owner keeps it */
};
int xsl_tr_ring_open(struct xs_ring *page, struct xsl_evtchn *ev, void (*unmap)(struct xs_ring *),
		     struct xsl_transport **out);

/* A simulated domain's ring (xsl_simdom.c). */
struct xsl_simdom;
int xsl_tr_simring_open(struct xsl_simdom *d, struct xsl_transport **out);
/*
 * Not part of the API: the domain's ring page, the eventfd of the store's
 * port as of now (-1 while unbound; the store reads it) and the one the
 * store signals, for tests and benchmarks that drive a ring by hand
 * (malformed bytes, exact index positions). xsl_simdom_notify notifies the
 * store as the ring transport does.
 */
struct xs_ring *xsl_simdom_ring(struct xsl_simdom *d, int *to_store, int *to_guest);
void xsl_simdom_notify(struct xsl_simdom *d);
/* A Xen ring: page mapped by the caller (or from page_path), port bound with libxenevtchn. */
int xsl_tr_xenring_open(void *page, const char *page_path, unsigned remote_domid,
			unsigned remote_port, struct xsl_transport **out);

#endif

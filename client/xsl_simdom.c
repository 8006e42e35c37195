/*
 * Simulated domains: a domain of xs-simhyp made by this process, its store
 * ring a page of its own memory granted to dom0 (reference 1), its store
 * event channel a port left unbound for dom0 (port 1 of a fresh domain).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/sched.h>

#include "../simhyp/simhyp_call.h"
#include "xsl_hyp.h"
#include "xsl_transport.h"

struct xsl_simdom {
	uint32_t domid;
	char *path;           /* the hypervisor's socket, for handles acting for the domain */
	struct xsl_hyp *h;    /* the CREATE connection: the domain's life */
	struct xs_ring *ring; /* a page of its memory */
	uint32_t port;        /* its store event channel */
	struct xsl_evtchn ev; /* ev.fd: the port's eventfd */
};

static struct xsl_simdom *of_ev(struct xsl_evtchn *e)
{
	return (struct xsl_simdom *)(void *)((char *)e - offsetof(struct xsl_simdom, ev));
}

static void sim_notify(struct xsl_evtchn *e)
{
	struct xsl_simdom *d = of_ev(e);

	xsl_evt_notify(d->h, d->port);
}

static void sim_ack(struct xsl_evtchn *e)
{
	struct xsl_simdom *d = of_ev(e);

	xsl_evt_ack(d->h, d->port);
}

int xsl_simdom_create(const char *simhyp_path, unsigned domid, struct xsl_simdom **out)
{
	char def[108];
	struct xsl_simdom *d;
	int err, fd;

	if (!out || domid == 0 || domid > SIMHYP_DOMID_MAX)
		return -EINVAL;
	if (!simhyp_path) {
		if (simhyp_default_path(def, sizeof(def)) < 0)
			return -ENAMETOOLONG;
		simhyp_path = def;
	}
	if (!(d = calloc(1, sizeof(*d))) || !(d->path = strdup(simhyp_path))) {
		free(d);
		return -ENOMEM;
	}
	d->domid = domid;
	/* The domain and its store port, left unbound for dom0, in one call. */
	err = xsl_hyp_sim_create(d->path, domid, 0, &d->port, &d->h);
	if (!err && !(d->ring = xsl_gnt_alloc(d->h, 1)))
		err = -ENOMEM;
	/* As the toolstack does for a guest: the store's ring at its reserved reference, for dom0. */
	if (!err)
		err = xsl_hyp_sim_grant_ref(d->h, GNTTAB_RESERVED_XENSTORE, 0, d->ring, 0);
	if (!err && !d->port)
		err = xsl_evt_alloc_unbound(d->h, 0, &d->port);
	if (!err && (fd = xsl_evt_fd(d->h, d->port)) < 0)
		err = fd;
	if (err) {
		xsl_hyp_close(d->h);
		free(d->path);
		free(d);
		return err;
	}
	d->ev.fd = fd;
	d->ev.notify = sim_notify;
	d->ev.ack = sim_ack;
	d->ev.close = NULL; /* the domain keeps its event channel across handles */
	*out = d;
	return 0;
}

unsigned xsl_simdom_port(const struct xsl_simdom *d)
{
	return d ? d->port : 0;
}

int xsl_simdom_shutdown(struct xsl_simdom *d)
{
	return xsl_hyp_sim_shutdown(d->h, SHUTDOWN_poweroff);
}

void xsl_simdom_destroy(struct xsl_simdom *d)
{
	if (!d)
		return;
	/* The connection closes: the domain is destroyed, its port closed (dom0's goes back to unbound). */
	xsl_hyp_close(d->h);
	free(d->path);
	free(d);
}

int xsl_simdom_hyp(struct xsl_simdom *d, struct xsl_hyp **out)
{
	return xsl_hyp_sim_attach(d->path, d->domid, xsl_hyp_sim_mem(d->h), out);
}

int xsl_tr_simring_open(struct xsl_simdom *d, struct xsl_transport **out)
{
	if (!d)
		return -EINVAL;
	return xsl_tr_ring_open(d->ring, &d->ev, NULL, out);
}

struct xs_ring *xsl_simdom_ring(struct xsl_simdom *d, int *to_store, int *to_guest)
{
	if (to_store)
		*to_store = xsl_hyp_sim_peer_fd(d->h, d->port);
	if (to_guest)
		*to_guest = d->ev.fd;
	return d->ring;
}

void xsl_simdom_notify(struct xsl_simdom *d)
{
	xsl_evt_notify(d->h, d->port);
}

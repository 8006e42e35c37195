/* The ring transport: proto's ring algorithm on a shared page, an event channel, and the reconnection handshake. */
#include "xsl_transport.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

struct ring_tr {
	struct xsl_transport base;
	struct xs_ring *r;
	struct xsl_evtchn *ev;
	void (*unmap)(struct xs_ring *);
	/* connection = RECONNECT is set: nothing but that field may be touched until the store clears it. */
	bool reconnecting;
};

/* While a handshake goes on, the indices belong to the store. */
static bool handshake_pending(struct ring_tr *t)
{
	if (t->reconnecting && xs_ring_load(&t->r->connection) == XS_RING_CONNECTED)
		t->reconnecting = false;
	return t->reconnecting;
}

static ssize_t ring_send(struct xsl_transport *base, const void *buf, size_t len)
{
	struct ring_tr *t = (struct ring_tr *)base;
	int n;

	if (handshake_pending(t))
		return 0;
	if (xs_ring_load(&t->r->error) != XS_RING_ERR_NONE)
		return -ECONNRESET; /* the store stopped serving this ring */
	n = xs_ring_produce(t->r->req, &t->r->req_cons, &t->r->req_prod, buf, len);
	if (n < 0)
		return -EPROTO;
	if (n > 0)
		t->ev->notify(t->ev);
	return n;
}

static ssize_t ring_recv(struct xsl_transport *base, void *buf, size_t len)
{
	struct ring_tr *t = (struct ring_tr *)base;
	int n;

	if (handshake_pending(t))
		return 0;
	n = xs_ring_consume(t->r->rsp, &t->r->rsp_cons, &t->r->rsp_prod, buf, len);
	if (n < 0)
		return -EPROTO;
	if (n > 0) {
		t->ev->notify(t->ev); /* room for more replies */
		return n;
	}
	if (xs_ring_load(&t->r->error) != XS_RING_ERR_NONE)
		return -ECONNRESET;
	return 0;
}

static int ring_fd(struct xsl_transport *base)
{
	return ((struct ring_tr *)base)->ev->fd;
}

static short ring_poll_events(struct xsl_transport *base, bool output_waiting)
{
	/* A full request ring frees up with a notification, like everything else. */
	(void)base;
	(void)output_waiting;
	return POLLIN;
}

static void ring_ack(struct xsl_transport *base)
{
	struct ring_tr *t = (struct ring_tr *)base;

	t->ev->ack(t->ev);
}

static int ring_reconnect(struct xsl_transport *base)
{
	struct ring_tr *t = (struct ring_tr *)base;

	if (!(xs_ring_load(&t->r->server_features) & XS_RING_F_RECONNECTION))
		return -EOPNOTSUPP;
	if (!t->reconnecting) {
		/* Only we set RECONNECT, only the store clears it (and the indices with it). */
		t->reconnecting = true;
		xs_ring_store(&t->r->connection, XS_RING_RECONNECT);
		t->ev->notify(t->ev);
		return -EINPROGRESS;
	}
	return handshake_pending(t) ? -EINPROGRESS : 0;
}

static int ring_features(struct xsl_transport *base, unsigned *features)
{
	*features = xs_ring_load(&((struct ring_tr *)base)->r->server_features);
	return 0;
}

static void ring_close(struct xsl_transport *base)
{
	struct ring_tr *t = (struct ring_tr *)base;

	if (t->ev->close)
		t->ev->close(t->ev);
	if (t->unmap)
		t->unmap(t->r);
	free(t);
}

static const struct xsl_transport_ops ring_ops = {
	.send = ring_send,
	.recv = ring_recv,
	.fd = ring_fd,
	.poll_events = ring_poll_events,
	.ack = ring_ack,
	.reconnect = ring_reconnect,
	.features = ring_features,
	.close = ring_close,
};

int xsl_tr_ring_open(struct xs_ring *page, struct xsl_evtchn *ev, void (*unmap)(struct xs_ring *),
		     struct xsl_transport **out)
{
	struct ring_tr *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->base.ops = &ring_ops;
	t->base.caps = XSL_TRCAP_DOMAIN | XSL_TRCAP_PERSISTENT;
	t->base.port = ev->port;
	t->r = page;
	t->ev = ev;
	t->unmap = unmap;
	/* A ring found mid-handshake (a dom0less start) is waited for like our own. */
	t->reconnecting = xs_ring_load(&page->connection) == XS_RING_RECONNECT;
	*out = &t->base;
	return 0;
}

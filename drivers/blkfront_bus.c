/* The block frontend on a guest's bus: each vbd device's ring made, published and connected as the backend's state says. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/blk.h"

struct blkfront_dev {
	struct blkfront_guest *g;
	struct xsl_bus_dev *dev;
	struct blkfront_dev *next;
	char id[24];
	struct blkfront_ring ring;
	int ring_up;
	struct blkfront_info info;
};

/* A ring the backend still maps after its device closed: given back once it lets go. */
struct zombie {
	struct zombie *next;
	struct blkfront_ring ring;
};

struct blkfront_guest {
	struct xsl *h;
	struct xsl_hyp *hyp;
	struct xsl_bus *bus;
	unsigned domid, ring_order, pool_pages;
	int persistent;
	void (*log)(void *arg, const char *line);
	void *log_arg;
	struct blkfront_dev *devs;
	struct zombie *zombies;
};

static void __attribute__((format(printf, 2, 3))) logf_(struct blkfront_guest *g, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (g->log)
		g->log(g->log_arg, line);
}

/* The bus's own lines ("xenbus0: ...") go where the guest's go, if it has a place for them. */
static void bus_log(void *arg, int level, const char *line)
{
	struct blkfront_guest *g = arg;

	(void)level;
	g->log(g->log_arg, line);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void switch_state(struct blkfront_dev *d, xsl_txn_t t, enum xsl_xbs st)
{
	int err = xsl_bus_switch_state(d->dev, t, st);

	if (err > 0 && t == XSL_TXN_NONE)
		logf_(d->g, "vbd %s: frontend %s", d->id, xsl_xbs_name(st));
	if (err >= 0 && t == XSL_TXN_NONE)
		d->info.state = (int)st;
}

/* ---------------------------------------------------------------- the ring's life */

static void reap_zombies(struct blkfront_guest *g)
{
	for (struct zombie **p = &g->zombies; *p;) {
		struct zombie *z = *p;

		if (blkfront_ring_teardown(&z->ring) == 0) {
			*p = z->next;
			free(z);
		} else {
			p = &z->next;
		}
	}
}

static void ring_down(struct blkfront_dev *d)
{
	struct zombie *z;

	if (!d->ring_up)
		return;
	d->ring_up = 0;
	d->info.connected = 0;
	if (blkfront_ring_teardown(&d->ring) == 0)
		return;
	/* The backend has not unmapped it yet: keep it until it has. */
	if (!(z = malloc(sizeof(*z)))) {
		blkfront_ring_forget(&d->ring);
		return;
	}
	z->ring = d->ring;
	z->next = d->g->zombies;
	d->g->zombies = z;
}

/* Ring pages, event channel, protocol and Initialised, in one transaction. */
static int publish(struct xsl *h, xsl_txn_t t, void *arg)
{
	struct blkfront_dev *d = arg;
	const char *dir = xsl_bus_dev_nodename(d->dev);
	int err;

	if (d->ring.order == 0) {
		err = xsl_xbs_printf(h, t, dir, "ring-ref", "%" PRIu32, d->ring.refs[0]);
	} else {
		err = xsl_xbs_printf(h, t, dir, "ring-page-order", "%u", d->ring.order);
		for (unsigned i = 0; !err && i < d->ring.npages; i++) {
			char key[24];

			snprintf(key, sizeof(key), "ring-ref%u", i);
			err = xsl_xbs_printf(h, t, dir, key, "%" PRIu32, d->ring.refs[i]);
		}
	}
	if (!err)
		err = xsl_xbs_printf(h, t, dir, "event-channel", "%" PRIu32, d->ring.port);
	if (!err)
		err = xsl_xbs_printf(h, t, dir, "protocol", "%s", XEN_IO_PROTO_ABI_NATIVE);
	if (!err && d->ring.persistent)
		err = xsl_xbs_printf(h, t, dir, "feature-persistent", "%u", 1u);
	if (!err)
		err = xsl_bus_switch_state(d->dev, t, XSL_XBS_INITIALISED);
	return err < 0 ? err : 0;
}

/* The backend waits: make the ring (as many pages as both offer) and publish it. */
static void talk_to_backend(struct blkfront_dev *d)
{
	struct blkfront_guest *g = d->g;
	const char *be = xsl_bus_dev_otherend(d->dev);
	unsigned order = 0;
	int err;

	unsigned persistent = 0;

	if (xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "max-ring-page-order", "%u", &order) != 1)
		order = 0;
	if (order > g->ring_order)
		order = g->ring_order;
	if (!g->persistent ||
	    xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "feature-persistent", "%u", &persistent) != 1)
		persistent = 0;
	err = blkfront_ring_setup(&d->ring, g->hyp, xsl_bus_dev_otherend_id(d->dev), order,
				  g->pool_pages, persistent ? BLKFRONT_PERSISTENT : 0);
	if (err < 0) {
		xsl_bus_dev_fatal(d->dev, -err, "setting up the ring");
		return;
	}
	d->ring_up = 1;
	d->info.ring_pages = d->ring.npages;
	d->info.persistent = d->ring.persistent;
	if ((err = xsl_txn_run(g->h, publish, d, 0)) < 0) {
		xsl_bus_dev_fatal(d->dev, -err, "publishing the ring");
		ring_down(d);
		return;
	}
	d->info.state = XSL_XBS_INITIALISED;
	logf_(g, "vbd %s: frontend Initialised (ring of %u page%s, event channel %" PRIu32 "%s)", d->id,
	      d->ring.npages, d->ring.npages > 1 ? "s" : "", d->ring.port,
	      d->ring.persistent ? ", persistent grants" : "");
}

/* The backend is connected: the disk as it describes it. */
static void connect_disk(struct blkfront_dev *d)
{
	struct blkfront_guest *g = d->g;
	const char *be = xsl_bus_dev_otherend(d->dev);
	struct blkfront_info *in = &d->info;
	unsigned v;

	if (xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "sectors", "%" SCNu64, &in->sectors) != 1 ||
	    xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "info", "%u", &in->info) != 1) {
		xsl_bus_dev_fatal(d->dev, EINVAL, "reading sectors and info at %s", be);
		return;
	}
	if (xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "sector-size", "%u", &in->sector_size) != 1)
		in->sector_size = BLK_SECT;
	in->flush = xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "feature-flush-cache", "%u", &v) == 1 && v;
	in->discard = xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "feature-discard", "%u", &v) == 1 && v;
	if (xsl_xbs_scanf(g->h, XSL_TXN_NONE, be, "feature-max-indirect-segments", "%u", &v) != 1)
		v = 0;
	blkfront_ring_set_indirect(&d->ring, v);
	in->max_indirect = v;
	in->connected = 1;
	switch_state(d, XSL_TXN_NONE, XSL_XBS_CONNECTED);
}

/* ---------------------------------------------------------------- the bus's callbacks */

static int fe_probe(struct xsl_bus_dev *dev)
{
	struct blkfront_guest *g = xsl_bus_dev_driver_arg(dev);
	struct blkfront_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->g = g;
	d->dev = dev;
	d->ring.evt_fd = -1;
	d->info.state = XSL_XBS_INITIALISING;
	snprintf(d->id, sizeof(d->id), "%s", xsl_bus_dev_id(dev));
	d->next = g->devs;
	g->devs = d;
	xsl_bus_dev_set_priv(dev, d);
	logf_(g, "vbd %s: frontend Initialising (backend %s, domain %u)", d->id,
	      xsl_bus_dev_otherend(dev), xsl_bus_dev_otherend_id(dev));
	return 0;
}

static void fe_otherend_changed(struct xsl_bus_dev *dev, enum xsl_xbs st)
{
	struct blkfront_dev *d = xsl_bus_dev_priv(dev);

	if (!d)
		return;
	logf_(d->g, "vbd %s: backend %s", d->id, xsl_xbs_name(st));
	switch (st) {
	case XSL_XBS_INITWAIT:
		if (!d->ring_up && d->info.state == XSL_XBS_INITIALISING)
			talk_to_backend(d);
		break;
	case XSL_XBS_CONNECTED:
		if (d->ring_up && !d->info.connected)
			connect_disk(d);
		break;
	case XSL_XBS_CLOSING:
	case XSL_XBS_CLOSED:
		/*
		 * As Linux's blkfront_closing: requests in flight fail, Closing,
		 * then Closed; never back from Closed (the backend follows us:
		 * that would go round for ever).
		 */
		ring_down(d);
		if (xsl_xbs_read(d->g->h, XSL_TXN_NONE, xsl_bus_dev_nodename(dev)) == XSL_XBS_CLOSED)
			break;
		switch_state(d, XSL_TXN_NONE, XSL_XBS_CLOSING);
		switch_state(d, XSL_TXN_NONE, XSL_XBS_CLOSED);
		break;
	default:
		break;
	}
}

static void fe_remove(struct xsl_bus_dev *dev)
{
	struct blkfront_dev *d = xsl_bus_dev_priv(dev);

	if (!d)
		return;
	logf_(d->g, "vbd %s: removed", d->id);
	ring_down(d);
	for (struct blkfront_dev **p = &d->g->devs; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	xsl_bus_dev_set_priv(dev, NULL);
	free(d);
}

/* ---------------------------------------------------------------- the guest */

int blkfront_guest_open(struct blkfront_guest **out, const struct blkfront_guest_opts *opts)
{
	struct xsl_bus_driver drv = {
		.type = "vbd",
		.side = XSL_BUS_FRONTEND,
		.probe = fe_probe,
		.otherend_changed = fe_otherend_changed,
		.remove = fe_remove,
	};
	struct xsl_bus_opts bo = {.flags = XSL_BUS_DOMID, .domid = opts->domid};
	struct blkfront_guest *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	g->h = opts->h;
	g->hyp = opts->hyp;
	g->domid = opts->domid;
	g->ring_order = opts->ring_order > BLK_MAX_RING_ORDER ? BLK_MAX_RING_ORDER : opts->ring_order;
	g->pool_pages = opts->pool_pages;
	g->persistent = opts->persistent;
	g->log = opts->log;
	g->log_arg = opts->log_arg;
	if (g->log) {
		bo.log = bus_log;
		bo.log_arg = g;
	}
	if ((err = xsl_bus_open(g->h, &bo, &g->bus)) < 0) {
		free(g);
		return err;
	}
	if ((err = xsl_bus_register(g->bus, &drv, g)) < 0) {
		xsl_bus_close(g->bus);
		free(g);
		return err;
	}
	*out = g;
	return 0;
}

void blkfront_guest_close(struct blkfront_guest *g)
{
	if (!g)
		return;
	xsl_bus_close(g->bus);
	reap_zombies(g);
	while (g->zombies) { /* the backend never let go: the pages stay with it */
		struct zombie *z = g->zombies;

		g->zombies = z->next;
		blkfront_ring_forget(&z->ring);
		free(z);
	}
	free(g);
}

int blkfront_guest_pump(struct blkfront_guest *g, int timeout_ms)
{
	int n = xsl_pump(g->h, timeout_ms);

	if (g->zombies)
		reap_zombies(g);
	return n;
}

struct blkfront_dev *blkfront_guest_dev(struct blkfront_guest *g, const char *id)
{
	for (struct blkfront_dev *d = g->devs; d; d = d->next)
		if (strcmp(d->id, id) == 0)
			return d;
	return NULL;
}

int blkfront_guest_wait_connected(struct blkfront_guest *g, const char *id, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	int seen = 0;

	for (;;) {
		struct blkfront_dev *d = blkfront_guest_dev(g, id);
		long long left = end - now_ms();
		int err;

		if (d && d->info.connected)
			return 0;
		if (d)
			seen = 1;
		if (seen && (!d || d->info.state >= XSL_XBS_CLOSING))
			return -ENODEV;
		if (timeout_ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		err = blkfront_guest_pump(g, timeout_ms < 0 ? 1000 : (int)(left < 1000 ? left : 1000));
		if (err < 0)
			return err;
	}
}

void blkfront_dev_info(struct blkfront_dev *d, struct blkfront_info *info)
{
	*info = d->info;
}

struct blkfront_ring *blkfront_dev_ring(struct blkfront_dev *d)
{
	return d->info.connected ? &d->ring : NULL;
}

int blkfront_dev_io(struct blkfront_dev *d, int op, uint64_t sector, unsigned nsect, void *buf,
		    int timeout_ms)
{
	if (!d->info.connected)
		return -ENOTCONN;
	return blkfront_ring_io(&d->ring, op, sector, nsect, buf, timeout_ms);
}

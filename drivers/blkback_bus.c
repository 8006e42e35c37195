/* The block backend on the bus: each vbd device's image, features and state, its frontend's ring connected and served from one loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "drivers/blk.h"

/* A frontend connecting this often within the window is flooding: disconnected. */
#define FLOOD_CONNECTS 64
#define FLOOD_WINDOW_MS 10000
/* Batches one ring gets per turn before the others (and the store) get theirs. */
#define TURN_PASSES 4

struct blkback_dev {
	struct blkback_server *s;
	struct xsl_bus_dev *dev;
	struct blkback_dev *next, *prev;     /* every device */
	struct blkback_dev *ready_next;      /* rings with requests waiting */
	int ready;
	struct blk_disk disk;
	struct blkback_ring ring;
	int connected;
	char name[48];                       /* "vbd 5/51712" */
	unsigned connects;
	long long window_start;
};

struct blkback_server {
	struct xsl *h;
	struct xsl_hyp *hyp;
	struct xsl_bus *bus;
	int epfd;
	int verbose;
	void (*log)(void *arg, const char *line);
	void *log_arg;
	struct blkback_dev *devs;
	struct blkback_dev *ready;
	unsigned ndevs, nconnected;
	struct blkback_stats gone;           /* of devices removed */
};

static const char xsl_mark; /* the store's descriptor in the epoll set */
static const char stop_mark;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 2, 3))) logf_(struct blkback_server *s, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->log)
		s->log(s->log_arg, line);
	else
		fprintf(stderr, "blkback: %s\n", line);
}

/* The bus's own lines ("xenbus0: ...") go where the server's go, if it has a place for them. */
static void bus_log(void *arg, int level, const char *line)
{
	struct blkback_server *s = arg;

	(void)level;
	s->log(s->log_arg, line);
}

static void stats_add(struct blkback_stats *to, const struct blkback_stats *from)
{
	uint64_t *t = (uint64_t *)to;
	const uint64_t *f = (const uint64_t *)from;

	for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
}

/* ---------------------------------------------------------------- the ring */

static void ready_remove(struct blkback_dev *d)
{
	struct blkback_dev **p;

	if (!d->ready)
		return;
	for (p = &d->s->ready; *p; p = &(*p)->ready_next)
		if (*p == d) {
			*p = d->ready_next;
			break;
		}
	d->ready = 0;
}

static void ready_add(struct blkback_dev *d)
{
	if (d->ready)
		return;
	d->ready = 1;
	d->ready_next = d->s->ready;
	d->s->ready = d;
}

static void disconnect(struct blkback_dev *d)
{
	if (!d->connected)
		return;
	ready_remove(d);
	epoll_ctl(d->s->epfd, EPOLL_CTL_DEL, d->ring.evt_fd, NULL);
	stats_add(&d->s->gone, &d->ring.st);
	blkback_ring_disconnect(&d->ring);
	memset(&d->ring.st, 0, sizeof(d->ring.st));
	d->connected = 0;
	d->s->nconnected--;
}

/* What the frontend published: ring-ref (or ring-page-order and ring-ref0..), event-channel, protocol. */
static int connect_ring(struct blkback_dev *d)
{
	struct xsl *h = d->s->h;
	const char *fe = xsl_bus_dev_otherend(d->dev);
	uint32_t refs[BLK_MAX_RING_PAGES];
	unsigned order = 0, port, npages, persistent = 0;
	char *proto = NULL;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = d};
	int err;

	if (xsl_xbs_scanf(h, XSL_TXN_NONE, fe, "ring-page-order", "%u", &order) < 0)
		order = 0;
	if (order > BLK_MAX_RING_ORDER)
		return xsl_bus_dev_fatal(d->dev, EINVAL, "ring-page-order %u over %u", order,
					 BLK_MAX_RING_ORDER), -EINVAL;
	npages = 1u << order;
	if (order == 0 && xsl_xbs_scanf(h, XSL_TXN_NONE, fe, "ring-ref", "%" SCNu32, &refs[0]) != 1 &&
	    xsl_xbs_scanf(h, XSL_TXN_NONE, fe, "ring-ref0", "%" SCNu32, &refs[0]) != 1)
		return xsl_bus_dev_fatal(d->dev, ENOENT, "reading %s/ring-ref", fe), -ENOENT;
	for (unsigned i = order ? 0 : 1; i < npages; i++) {
		char key[24];

		snprintf(key, sizeof(key), "ring-ref%u", i);
		if (xsl_xbs_scanf(h, XSL_TXN_NONE, fe, key, "%" SCNu32, &refs[i]) != 1)
			return xsl_bus_dev_fatal(d->dev, ENOENT, "reading %s/%s", fe, key), -ENOENT;
	}
	if (xsl_xbs_scanf(h, XSL_TXN_NONE, fe, "event-channel", "%u", &port) != 1)
		return xsl_bus_dev_fatal(d->dev, ENOENT, "reading %s/event-channel", fe), -ENOENT;
	if (xsl_xbs_gather(h, XSL_TXN_NONE, fe, "protocol", NULL, &proto, NULL) == 0 &&
	    strcmp(proto, XEN_IO_PROTO_ABI_NATIVE) != 0) {
		xsl_bus_dev_fatal(d->dev, ENOSYS, "unsupported protocol %.40s (%s only)", proto,
				  XEN_IO_PROTO_ABI_NATIVE);
		free(proto);
		return -ENOSYS;
	}
	free(proto);
	err = blkback_ring_connect(&d->ring, d->s->hyp, &d->disk, xsl_bus_dev_otherend_id(d->dev), refs,
				   npages, port);
	if (err < 0)
		return xsl_bus_dev_fatal(d->dev, -err, "%s", d->ring.why), err;
	/* Persistent grants if the frontend says it uses them (it shares its pages once). */
	if (xsl_xbs_scanf(h, XSL_TXN_NONE, fe, "feature-persistent", "%u", &persistent) == 1 &&
	    persistent && (err = blkback_ring_set_persistent(&d->ring, BLK_PERSISTENT_MAX)) < 0) {
		blkback_ring_disconnect(&d->ring);
		return xsl_bus_dev_fatal(d->dev, -err, "persistent grants"), err;
	}
	if (epoll_ctl(d->s->epfd, EPOLL_CTL_ADD, d->ring.evt_fd, &ev) < 0) {
		err = -errno;
		blkback_ring_disconnect(&d->ring);
		return xsl_bus_dev_fatal(d->dev, -err, "watching the event channel"), err;
	}
	d->connected = 1;
	d->s->nconnected++;
	/* Requests may be there already (a frontend that notified before we bound). */
	ready_add(d);
	return 0;
}

/* ---------------------------------------------------------------- the bus's callbacks */

static void switch_state(struct blkback_dev *d, enum xsl_xbs st)
{
	int err = xsl_bus_switch_state(d->dev, XSL_TXN_NONE, st);

	if (d->s->verbose && err > 0)
		logf_(d->s, "%s: backend %s", d->name, xsl_xbs_name(st));
}

/* Everything the frontend reads before it connects, and InitWait, in one transaction. */
static int publish(struct xsl *h, xsl_txn_t t, void *arg)
{
	struct blkback_dev *d = arg;
	const char *dir = xsl_bus_dev_nodename(d->dev);
	const struct blk_disk *k = &d->disk;
	int err;

	/*
	 * The frontend's state that sent us here may be old: the toolstack can
	 * have removed the device since. Writing into it would bring it back.
	 */
	if ((err = xsl_exists(h, t, dir)) <= 0)
		return err < 0 ? err : -ENOENT;
	err = 0;
#define P(node, fmt, ...)                                                                  \
	do {                                                                               \
		if (!err)                                                                  \
			err = xsl_xbs_printf(h, t, dir, node, fmt, __VA_ARGS__);           \
	} while (0)
	P("sectors", "%" PRIu64, k->sectors);
	P("sector-size", "%u", k->sector_size);
	P("physical-sector-size", "%u", k->phys_sector_size);
	P("info", "%u", k->readonly ? VDISK_READONLY : 0u);
	P("feature-flush-cache", "%u", 1u);
	P("feature-discard", "%u", k->readonly ? 0u : 1u);
	P("discard-granularity", "%u", BLK_PAGE);
	P("discard-alignment", "%u", 0u);
	P("discard-secure", "%u", 0u);
	P("feature-max-indirect-segments", "%u", BLK_MAX_INDIRECT_SEGS);
	P("max-ring-page-order", "%u", BLK_MAX_RING_ORDER);
	P("feature-persistent", "%u", 1u);
#undef P
	if (err)
		return err;
	err = xsl_bus_switch_state(d->dev, t, XSL_XBS_INITWAIT);
	return err < 0 ? err : 0;
}

static int be_probe(struct xsl_bus_dev *dev)
{
	struct blkback_server *s = xsl_bus_dev_driver_arg(dev);
	struct xsl *h = s->h;
	const char *dir = xsl_bus_dev_nodename(dev);
	struct blkback_dev *d = calloc(1, sizeof(*d));
	char *params = NULL, *mode = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	d->s = s;
	d->dev = dev;
	d->disk.fd = -1;
	snprintf(d->name, sizeof(d->name), "vbd %u/%s", xsl_bus_dev_otherend_id(dev), xsl_bus_dev_id(dev));
	err = xsl_xbs_gather(h, XSL_TXN_NONE, dir, "params", NULL, &params, "mode", NULL, &mode, NULL);
	if (err < 0) {
		xsl_bus_dev_fatal(dev, -err, "reading params and mode");
		free(d);
		return err;
	}
	err = blk_disk_open(&d->disk, params, mode[0] != 'w');
	if (err < 0) {
		xsl_bus_dev_fatal(dev, -err, "opening %.200s", params);
		free(params);
		free(mode);
		free(d);
		return err;
	}
	free(params);
	free(mode);
	xsl_bus_dev_set_priv(dev, d);
	d->next = s->devs;
	if (s->devs)
		s->devs->prev = d;
	s->devs = d;
	s->ndevs++;
	err = xsl_txn_run(h, publish, d, 0);
	if (err < 0) {
		xsl_bus_dev_fatal(dev, -err, "publishing the features");
		return 0; /* bound, closing: its remove will free it */
	}
	if (s->verbose)
		logf_(s, "%s: backend InitWait (%" PRIu64 " sectors)", d->name, d->disk.sectors);
	return 0;
}

/* Too many connections in too short a time: a frontend flooding us with state changes. */
static int flooding(struct blkback_dev *d)
{
	long long now = now_ms();

	if (now - d->window_start > FLOOD_WINDOW_MS) {
		d->window_start = now;
		d->connects = 0;
	}
	return ++d->connects > FLOOD_CONNECTS;
}

static void be_otherend_changed(struct xsl_bus_dev *dev, enum xsl_xbs st)
{
	struct blkback_dev *d = xsl_bus_dev_priv(dev);
	int mine;

	if (!d)
		return;
	/* Our own state (the toolstack may have changed it): read where it decides something. */
	mine = d->s->verbose || st <= XSL_XBS_CONNECTED
		       ? xsl_xbs_read(d->s->h, XSL_TXN_NONE, xsl_bus_dev_nodename(dev))
		       : -1;
	if (d->s->verbose)
		logf_(d->s, "%s: frontend %s (backend %s)", d->name, xsl_xbs_name(st),
		      mine < 0 ? "gone" : xsl_xbs_name(mine));
	switch (st) {
	case XSL_XBS_INITIALISING:
		/* A frontend starting again after we closed: offer the device anew. */
		if (mine == XSL_XBS_CLOSED && !d->connected && xsl_txn_run(d->s->h, publish, d, 0) == 0 &&
		    d->s->verbose)
			logf_(d->s, "%s: backend InitWait", d->name);
		break;
	case XSL_XBS_INITIALISED:
	case XSL_XBS_CONNECTED:
		if (d->connected || mine != XSL_XBS_INITWAIT)
			break;
		if (flooding(d)) {
			xsl_bus_dev_fatal(dev, EBUSY, "frontend reconnected %u times in %d ms",
					  d->connects - 1, FLOOD_WINDOW_MS);
			break;
		}
		if (connect_ring(d) == 0)
			switch_state(d, XSL_XBS_CONNECTED);
		break;
	case XSL_XBS_CLOSING:
		disconnect(d);
		switch_state(d, XSL_XBS_CLOSING);
		break;
	case XSL_XBS_CLOSED:
		disconnect(d);
		switch_state(d, XSL_XBS_CLOSED);
		break;
	default:
		break;
	}
}

static void be_remove(struct xsl_bus_dev *dev)
{
	struct blkback_dev *d = xsl_bus_dev_priv(dev);

	if (!d)
		return;
	if (d->s->verbose)
		logf_(d->s, "%s: removed", d->name);
	disconnect(d);
	blk_disk_close(&d->disk);
	if (d->prev)
		d->prev->next = d->next;
	else
		d->s->devs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->s->ndevs--;
	xsl_bus_dev_set_priv(dev, NULL);
	free(d);
}

/* ---------------------------------------------------------------- the server */

int blkback_server_open(struct blkback_server **out, const struct blkback_server_opts *opts)
{
	struct xsl_bus_driver drv = {
		.type = "vbd",
		.side = XSL_BUS_BACKEND,
		.probe = be_probe,
		.otherend_changed = be_otherend_changed,
		.remove = be_remove,
	};
	struct xsl_bus_opts bo = {.flags = XSL_BUS_DOMID, .domid = xsl_hyp_domid(opts->hyp)};
	struct blkback_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)&xsl_mark};
	int err;

	if (!s)
		return -ENOMEM;
	s->h = opts->h;
	s->hyp = opts->hyp;
	s->verbose = opts->verbose;
	s->log = opts->log;
	s->log_arg = opts->log_arg;
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, xsl_fileno(s->h), &ev) < 0) {
		err = -errno;
		goto fail;
	}
	if (s->log) {
		bo.log = bus_log;
		bo.log_arg = s;
	}
	if ((err = xsl_bus_open(s->h, &bo, &s->bus)) < 0)
		goto fail;
	if ((err = xsl_bus_register(s->bus, &drv, s)) < 0) {
		xsl_bus_close(s->bus);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
	return err;
}

static void serve_ready(struct blkback_server *s)
{
	struct blkback_dev *d = s->ready, *next;

	s->ready = NULL;
	for (; d; d = next) {
		int rc;

		next = d->ready_next;
		d->ready = 0;
		rc = blkback_ring_service(&d->ring, TURN_PASSES);
		if (rc == 1) {
			ready_add(d);
		} else if (rc < 0) {
			xsl_bus_dev_fatal(d->dev, EPROTO, "%s", d->ring.why);
			disconnect(d);
		}
	}
}

int blkback_server_run(struct blkback_server *s, int stop_fd, int timeout_ms)
{
	struct epoll_event evs[64], sev = {.events = EPOLLIN, .data.ptr = (void *)&stop_mark};
	long long end = now_ms() + timeout_ms;
	int err = 0;

	if (stop_fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, stop_fd, &sev) < 0)
		return -errno;
	for (;;) {
		long long left = timeout_ms < 0 ? -1 : end - now_ms();
		int n, pump = 0, stop = 0;

		if (timeout_ms >= 0 && left < 0)
			left = 0;
		n = epoll_wait(s->epfd, evs, 64, s->ready ? 0 : (int)left);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &xsl_mark)
				pump = 1;
			else if (evs[i].data.ptr == &stop_mark)
				stop = 1;
			else
				ready_add(evs[i].data.ptr);
		}
		if (stop)
			break;
		if (pump && (err = xsl_pump(s->h, 0)) < 0 && err != -EDEADLK)
			break;
		err = 0;
		serve_ready(s);
		if (timeout_ms >= 0 && now_ms() >= end && !s->ready)
			break;
	}
	if (stop_fd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
	return err;
}

void blkback_server_stats(struct blkback_server *s, struct blkback_stats *st)
{
	*st = s->gone;
	for (struct blkback_dev *d = s->devs; d; d = d->next)
		stats_add(st, &d->ring.st);
}

void blkback_server_counts(struct blkback_server *s, unsigned *devices, unsigned *connected)
{
	*devices = s->ndevs;
	*connected = s->nconnected;
}

void blkback_server_close(struct blkback_server *s)
{
	if (!s)
		return;
	xsl_bus_close(s->bus); /* every device's remove */
	close(s->epfd);
	free(s);
}

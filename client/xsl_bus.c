/* The bus: drivers by type and side, devices found by listings and watches, their other end and its state, suspend and resume. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/wire.h"
#include "xsl_bus.h"
#include "xsl_codec.h"
#include "xsl_handle.h"
#include "xsl_transport.h"

/* Devices a bus keeps (bound, waiting for Initialising, or failed): memory stays bounded whatever is written. */
#define BUS_DEVICES_MAX 65536u
/* Events queued on a type's watch before it overflows into one "list it all again". */
#define BUS_TYPE_PENDING 64u
/* Domain ids at and above this are reserved (DOMID_FIRST_RESERVED): never a device's end. */
#define BUS_DOMID_LIMIT 0x7FF0u

enum dev_phase {
	DEV_WAITING, /* found, not probed: its state is not Initialising (yet) */
	DEV_RESET,   /* a frontend found in another state, walked back in step with its backend */
	DEV_BOUND,   /* probed: the driver has it */
	DEV_FAILED,  /* its other end or its probe failed: left alone until its directory goes */
};

struct bus_driver;

struct xsl_bus_dev {
	struct xsl_bus_dev *next;
	struct bus_driver *drv;
	enum dev_phase phase;
	char *nodename;             /* absolute */
	const char *id;             /* its last component */
	char *otherend;             /* absolute, once read */
	unsigned otherend_id;
	struct xsl_watch *oe_watch; /* <otherend>/state, one event pending at most */
	int oe_state;               /* last told (the driver, or the reset walk); -1: none since probe/resume */
	bool oe_unusable;           /* a run of unusable state values was logged */
	bool reset_init;            /* reset: Initialising written, waiting for the backend's InitWait */
	bool resume_due;            /* bound (or resetting) when the bus was suspended */
	bool seen;                  /* mark of a listing */
	void *priv;
};

struct bus_driver {
	struct bus_driver *next;
	struct xsl_bus *bus;
	struct xsl_bus_driver d;
	char *type;
	void *arg;
	char *dir; /* <home>/device/<type> or <home>/backend/<type> */
	size_t dir_len;
	struct xsl_watch *w;
	struct xsl_bus_dev *devs;
};

struct xsl_bus {
	struct xsl *h;
	char name[32];
	unsigned domid;
	char home[32];
	xsl_bus_log_fn *log;
	void *log_arg;
	struct bus_driver *drivers;
	unsigned ndevs;
	bool suspended;
};

static void bus_log(struct xsl_bus *bus, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bus_log(struct xsl_bus *bus, int level, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: ", bus->name);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (bus->log)
		bus->log(bus->log_arg, level, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* A domid as a device path names it: canonical decimal, below the reserved ids. */
static bool parse_domid(const char *s, unsigned *out)
{
	unsigned id;

	if (xs_parse_domid(s, &id) < 0 || id >= BUS_DOMID_LIMIT || (s[0] == '0' && s[1]))
		return false;
	*out = id;
	return true;
}

/* ---- devices ---- */

static struct xsl_bus_dev *dev_find(struct bus_driver *drv, const char *nodename)
{
	for (struct xsl_bus_dev *d = drv->devs; d; d = d->next)
		if (strcmp(d->nodename, nodename) == 0)
			return d;
	return NULL;
}

static struct xsl_bus_dev *dev_new(struct bus_driver *drv, const char *nodename)
{
	struct xsl_bus *bus = drv->bus;
	struct xsl_bus_dev *dev;

	if (bus->ndevs >= BUS_DEVICES_MAX) {
		bus_log(bus, XSL_BUS_LOG_ERR, "%s: more than %u devices: ignored", nodename,
			BUS_DEVICES_MAX);
		return NULL;
	}
	if (!(dev = calloc(1, sizeof(*dev))) || !(dev->nodename = strdup(nodename))) {
		free(dev);
		bus_log(bus, XSL_BUS_LOG_ERR, "%s: out of memory", nodename);
		return NULL;
	}
	dev->drv = drv;
	dev->id = strrchr(dev->nodename, '/') + 1;
	dev->oe_state = -1;
	dev->next = drv->devs;
	drv->devs = dev;
	bus->ndevs++;
	return dev;
}

static void dev_call_remove(struct xsl_bus_dev *dev)
{
	if (dev->phase == DEV_BOUND && dev->drv->d.remove)
		dev->drv->d.remove(dev);
}

static void dev_unwatch(struct xsl_bus_dev *dev)
{
	if (dev->oe_watch)
		xsl_unwatch(dev->drv->bus->h, dev->oe_watch);
	dev->oe_watch = NULL;
}

/* Its directory went (or the bus closes): the driver lets go, the watch goes, the memory goes. */
static void dev_remove(struct xsl_bus_dev *dev)
{
	struct bus_driver *drv = dev->drv;
	struct xsl_bus_dev **p = &drv->devs;

	while (*p != dev)
		p = &(*p)->next;
	*p = dev->next;
	dev_unwatch(dev);
	dev_call_remove(dev);
	drv->bus->ndevs--;
	free(dev->otherend);
	free(dev->nodename);
	free(dev);
}

/* Log it and write it to the device's error node; fatal also switches the device to Closing. */
static int dev_report(struct xsl_bus_dev *dev, int err, bool fatal, const char *fmt, va_list ap)
{
	struct xsl_bus *bus = dev->drv->bus;
	char msg[1024];
	int r;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	bus_log(bus, XSL_BUS_LOG_ERR, "%s: error %d: %s%s", dev->nodename, err < 0 ? -err : err, msg,
		fatal ? " (closing)" : "");
	if ((r = xbs_error_at(bus->h, bus->home, dev->nodename, err, msg)) < 0)
		bus_log(bus, XSL_BUS_LOG_WARN, "%s: cannot write the error node: %s", dev->nodename,
			strerror(-r));
	if (!fatal)
		return 0;
	r = xsl_xbs_switch(bus->h, XSL_TXN_NONE, dev->nodename, XSL_XBS_CLOSING);
	return r < 0 ? r : 0;
}

int xsl_bus_dev_error(struct xsl_bus_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!dev || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	r = dev_report(dev, err, false, fmt, ap);
	va_end(ap);
	return r;
}

int xsl_bus_dev_fatal(struct xsl_bus_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!dev || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	r = dev_report(dev, err, true, fmt, ap);
	va_end(ap);
	return r;
}

/* A device's state: checked with what the device's path says (frontend-id of a backend). */
static int otherend_check(struct xsl_bus_dev *dev, const char *path, const char *idstr,
			  unsigned *id, const char **why)
{
	char prefix[40];
	unsigned fe;

	if (!parse_domid(idstr, id)) {
		*why = "its domain id is not a domain id";
		return -EINVAL;
	}
	/* The other end lives in the home of the domain it names. */
	snprintf(prefix, sizeof(prefix), "/local/domain/%u/", *id);
	if (path[0] != '/' || xsl_codec_check_path(path, false) < 0 ||
	    strncmp(path, prefix, strlen(prefix)) != 0 || !path[strlen(prefix)]) {
		*why = "its path is not a directory of the domain it names";
		return -EINVAL;
	}
	if (dev->drv->d.side == XSL_BUS_BACKEND) {
		/* backend/<type>/<fe>/<id>: the component before the id. */
		const char *end = dev->id - 1, *start = end;

		while (start > dev->nodename && start[-1] != '/')
			start--;
		if (sscanf(start, "%u", &fe) != 1 || fe != *id) {
			*why = "frontend-id is not the domain the backend directory is for";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Read and check the other end (backend/backend-id or frontend/frontend-id)
 * into the device: 0, or -errno with the device unchanged and *why said.
 */
static int otherend_read(struct xsl_bus_dev *dev, const char **why)
{
	struct xsl_bus *bus = dev->drv->bus;
	bool front = dev->drv->d.side == XSL_BUS_FRONTEND;
	char *path = NULL, *idstr = NULL;
	unsigned id;
	int err;

	err = xsl_xbs_gather(bus->h, XSL_TXN_NONE, dev->nodename, front ? "backend" : "frontend",
			     NULL, &path, front ? "backend-id" : "frontend-id", NULL, &idstr, NULL);
	if (err < 0) {
		*why = "cannot read the other end's path and domain id";
		return err;
	}
	err = otherend_check(dev, path, idstr, &id, why);
	if (!err) {
		/* As Linux: missing or inaccessible (what an unprivileged domain is told of a missing one) is ENOENT. */
		err = xsl_exists(bus->h, XSL_TXN_NONE, path);
		err = err == 1 ? 0 : err == 0 || err == -EACCES ? -ENOENT : err;
		if (err)
			*why = "the other end is missing or not readable";
	}
	if (!err) {
		if (dev->otherend && strcmp(dev->otherend, path) != 0)
			bus_log(bus, XSL_BUS_LOG_INFO, "%s: other end moved from %s to %s",
				dev->nodename, dev->otherend, path);
		free(dev->otherend);
		dev->otherend = path;
		dev->otherend_id = id;
		path = NULL;
	}
	free(path);
	free(idstr);
	return err;
}

static void otherend_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev,
			   void *arg);

/* Watch <otherend>/state with one event pending at most (XSA-349): a flood of writes costs one read. */
static int otherend_watch(struct xsl_bus_dev *dev)
{
	struct xsl_watch_opts o = {.depth = 0, .max_pending = 1, .flags = XSL_WATCH_COALESCE};
	char path[XSL_ABS_PATH_MAX];
	int err;

	dev_unwatch(dev);
	if ((err = xbs_join(path, sizeof(path), dev->otherend, "state")) < 0)
		return err;
	return xsl_watch(dev->drv->bus->h, path, &o, otherend_event, dev, &dev->oe_watch);
}

/* The driver takes the device: 0, or the probe failed (reported) and the device is left alone. */
static int dev_bind(struct xsl_bus_dev *dev)
{
	int err = 0;

	dev->phase = DEV_BOUND;
	if (dev->drv->d.probe)
		err = dev->drv->d.probe(dev);
	if (err < 0) {
		dev->phase = DEV_FAILED;
		xsl_bus_dev_error(dev, err, "probing %s", dev->nodename);
	}
	return err;
}

/* Stop using a device whose other end cannot be used; the driver lets go. */
static void dev_fail(struct xsl_bus_dev *dev, int err, const char *what, const char *why)
{
	xsl_bus_dev_fatal(dev, err, "%s %s: %s", what, dev->nodename, why);
	dev_unwatch(dev);
	dev_call_remove(dev);
	dev->phase = DEV_FAILED;
}

/* A device in Initialising (or a frontend to walk back first): other end, probe, its watch. */
static void dev_probe(struct xsl_bus_dev *dev, bool reset)
{
	struct xsl_bus *bus = dev->drv->bus;
	const char *why = "";
	int err;

	if ((err = otherend_read(dev, &why)) < 0) {
		dev_fail(dev, err, "reading other end details from", why);
		return;
	}
	if (reset) {
		bus_log(bus, XSL_BUS_LOG_INFO, "%s: found in use: walking it back to Initialising",
			dev->nodename);
		dev->phase = DEV_RESET;
		dev->reset_init = false;
	} else if (dev_bind(dev) < 0) {
		return;
	}
	dev->oe_state = -1;
	/* Its first event tells the driver (or the walk) where the other end is now. */
	if ((err = otherend_watch(dev)) < 0)
		dev_fail(dev, err, "watching the other end of", strerror(-err));
}

/*
 * A directory that may be a device (nodename), known (dev) or not: a new
 * one is kept; one in Initialising is probed; a frontend in a later state
 * is walked back; one whose directory is gone is removed.
 */
static void dev_examine(struct bus_driver *drv, const char *nodename, struct xsl_bus_dev *dev)
{
	struct xsl *h = drv->bus->h;
	int s = xsl_xbs_read(h, XSL_TXN_NONE, nodename);

	if (s == -ENOENT && xsl_exists(h, XSL_TXN_NONE, nodename) == 0) {
		if (dev)
			dev_remove(dev);
		return;
	}
	/* A connection error: the watch's replay after reconnection brings us back. */
	if (s < 0 && s != -ENOENT && s != -EINVAL)
		return;
	if (!dev && !(dev = dev_new(drv, nodename)))
		return;
	dev->seen = true;
	if (dev->phase != DEV_WAITING)
		return;
	if (s == XSL_XBS_INITIALISING)
		dev_probe(dev, false);
	else if (s > XSL_XBS_INITIALISING && drv->d.side == XSL_BUS_FRONTEND)
		dev_probe(dev, true);
	/* Unknown, junk, no state yet: its state's event brings us back. */
}

/* ---- the other end's state ---- */

static void otherend_tell(struct xsl_bus_dev *dev, int s);

/* The reset walk of a frontend found in use (Linux's xenbus_reset_frontend), one step per backend state. */
static void reset_step(struct xsl_bus_dev *dev, int be)
{
	struct xsl_bus *bus = dev->drv->bus;
	enum xsl_xbs to;
	int err;

	switch (be) {
	case XSL_XBS_CLOSED:
		to = XSL_XBS_INITIALISING;
		dev->reset_init = true;
		break;
	case XSL_XBS_CLOSING:
		to = XSL_XBS_CLOSED;
		break;
	case XSL_XBS_INITWAIT:
		if (dev->reset_init) {
			bus_log(bus, XSL_BUS_LOG_INFO, "%s: walked back, backend in InitWait",
				dev->nodename);
			dev->oe_state = -1;
			if (dev_bind(dev) == 0)
				otherend_tell(dev, be);
			else
				dev_unwatch(dev); /* left alone, as a failed probe is */
			return;
		}
		to = XSL_XBS_CLOSING;
		break;
	case XSL_XBS_INITIALISING:
		if (dev->reset_init)
			return; /* a backend starting again: its InitWait comes */
		to = XSL_XBS_CLOSING;
		break;
	default:
		dev->reset_init = false;
		to = XSL_XBS_CLOSING;
		break;
	}
	if ((err = xsl_xbs_switch(bus->h, XSL_TXN_NONE, dev->nodename, to)) < 0)
		bus_log(bus, XSL_BUS_LOG_WARN, "%s: walking back to %s: %s", dev->nodename,
			xsl_xbs_name(to), strerror(-err));
}

static void otherend_tell(struct xsl_bus_dev *dev, int s)
{
	if (s == dev->oe_state)
		return;
	dev->oe_state = s;
	if (dev->phase == DEV_RESET)
		reset_step(dev, s);
	else if (dev->phase == DEV_BOUND && dev->drv->d.otherend_changed)
		dev->drv->d.otherend_changed(dev, (enum xsl_xbs)s);
}

/* Read the other end's state and tell it if it is one; unusable values are logged once per run. */
static void otherend_look(struct xsl_bus_dev *dev)
{
	struct xsl_bus *bus = dev->drv->bus;
	enum xbs_why why;
	char raw[40];
	int s = xbs_read_why(bus->h, XSL_TXN_NONE, dev->otherend, &why, raw, sizeof(raw));

	/* Both directories gone (the toolstack removed the device): the device goes, nothing to tell. */
	if (why == XBS_GONE && xsl_exists(bus->h, XSL_TXN_NONE, dev->nodename) == 0) {
		dev_remove(dev);
		return;
	}
	switch (why) {
	case XBS_VALUE:
	case XBS_GONE:
		if (why == XBS_GONE && dev->oe_state != s)
			bus_log(bus, XSL_BUS_LOG_INFO, "%s: gone: taken as Closed", dev->otherend);
		else if (dev->oe_unusable)
			bus_log(bus, XSL_BUS_LOG_INFO, "%s/state: %s again", dev->otherend,
				xsl_xbs_name(s));
		dev->oe_unusable = false;
		otherend_tell(dev, s);
		return;
	case XBS_ERROR:
		/* -EACCES says something about the other end; a connection error does not (replay follows). */
		if (s != -EACCES)
			return;
		break;
	default:
		break;
	}
	if (dev->oe_unusable)
		return;
	dev->oe_unusable = true;
	if (why == XBS_JUNK)
		bus_log(bus, XSL_BUS_LOG_WARN, "%s/state: junk value '%s' ignored", dev->otherend, raw);
	else if (why == XBS_ZERO)
		bus_log(bus, XSL_BUS_LOG_WARN, "%s/state: Unknown (0) ignored", dev->otherend);
	else if (why == XBS_NOSTATE)
		bus_log(bus, XSL_BUS_LOG_WARN, "%s/state: missing, directory there: ignored",
			dev->otherend);
	else
		bus_log(bus, XSL_BUS_LOG_WARN, "%s/state: not readable: ignored", dev->otherend);
}

static void otherend_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev,
			   void *arg)
{
	struct xsl_bus_dev *dev = arg;
	size_t n;

	(void)h;
	/* Only the current other end's state: anything else is from a watch or other end gone stale. */
	if (w != dev->oe_watch || dev->drv->bus->suspended || !dev->otherend)
		return;
	n = strlen(dev->otherend);
	if (strncmp(ev->path, dev->otherend, n) != 0 || strcmp(ev->path + n, "/state") != 0)
		return;
	xbs_depth++;
	otherend_look(dev); /* may remove (free) dev */
	xbs_depth--;
}

/* ---- listings and the type's watch ---- */

static bool in_scope(const struct bus_driver *drv, const struct xsl_bus_dev *dev, const char *fe)
{
	size_t n;

	if (!fe)
		return true;
	n = strlen(fe);
	return strncmp(dev->nodename + drv->dir_len + 1, fe, n) == 0 &&
	       dev->nodename[drv->dir_len + 1 + n] == '/';
}

/* Every device directory below base (device ids): examined, marked seen. */
static int scan_ids(struct bus_driver *drv, const char *base)
{
	char path[XSL_ABS_PATH_MAX];
	char **names;
	unsigned count;
	int err = xsl_directory(drv->bus->h, XSL_TXN_NONE, base, &names, &count);

	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	for (unsigned i = 0; i < count; i++) {
		struct xsl_bus_dev *dev;

		if (xbs_join(path, sizeof(path), base, names[i]) < 0)
			continue;
		if ((dev = dev_find(drv, path)))
			dev->seen = true;
		else
			dev_examine(drv, path, NULL);
	}
	free(names);
	return 0;
}

/* A backend's frontend-domain level: canonical domids only. */
static int scan_frontends(struct bus_driver *drv)
{
	char path[XSL_ABS_PATH_MAX];
	char **names;
	unsigned count, fe;
	int err = xsl_directory(drv->bus->h, XSL_TXN_NONE, drv->dir, &names, &count);

	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	for (unsigned i = 0; i < count && !err; i++)
		if (parse_domid(names[i], &fe) && xbs_join(path, sizeof(path), drv->dir, names[i]) == 0)
			err = scan_ids(drv, path);
	free(names);
	return err;
}

/*
 * List the type's devices (those of frontend domain fe only, if not NULL):
 * new ones examined, vanished ones removed. Nothing is removed when the
 * listing failed half way (a connection error): the replay lists again.
 */
static void scan(struct bus_driver *drv, const char *fe)
{
	char path[XSL_ABS_PATH_MAX];
	struct xsl_bus_dev *dev, *next;
	int err;

	for (dev = drv->devs; dev; dev = dev->next)
		if (in_scope(drv, dev, fe))
			dev->seen = false;
	if (drv->d.side == XSL_BUS_FRONTEND)
		err = scan_ids(drv, drv->dir);
	else if (fe)
		err = xbs_join(path, sizeof(path), drv->dir, fe) < 0 ? -ENAMETOOLONG : scan_ids(drv, path);
	else
		err = scan_frontends(drv);
	if (err < 0) {
		bus_log(drv->bus, XSL_BUS_LOG_WARN, "listing %s: %s", drv->dir, strerror(-err));
		return;
	}
	for (dev = drv->devs; dev; dev = next) {
		next = dev->next;
		if (in_scope(drv, dev, fe) && !dev->seen)
			dev_remove(dev);
	}
}

/* An event below the type's directory: which device, and whether it came, went or changed state. */
static void type_path(struct bus_driver *drv, const char *p)
{
	char root[XSL_ABS_PATH_MAX], fe[16];
	const char *rest, *slash, *key;
	struct xsl_bus_dev *dev;
	size_t root_len;
	unsigned id;

	if (strncmp(p, drv->dir, drv->dir_len) != 0 || (p[drv->dir_len] && p[drv->dir_len] != '/'))
		return;
	if (!p[drv->dir_len]) {
		scan(drv, NULL);
		return;
	}
	rest = p + drv->dir_len + 1;
	if (drv->d.side == XSL_BUS_BACKEND) {
		slash = strchr(rest, '/');
		if ((size_t)((slash ? slash : rest + strlen(rest)) - rest) >= sizeof(fe))
			return;
		snprintf(fe, sizeof(fe), "%.*s", (int)((slash ? slash : rest + strlen(rest)) - rest), rest);
		if (!parse_domid(fe, &id))
			return;
		if (!slash) {
			scan(drv, fe);
			return;
		}
		rest = slash + 1;
	}
	slash = strchr(rest, '/');
	root_len = (size_t)((slash ? slash : rest + strlen(rest)) - p);
	if (root_len >= sizeof(root))
		return;
	memcpy(root, p, root_len);
	root[root_len] = '\0';
	key = slash ? slash + 1 : "";
	dev = dev_find(drv, root);
	if (!*key) {
		/* The directory itself: made, or removed. */
		if (dev && dev->phase != DEV_WAITING) {
			if (xsl_exists(drv->bus->h, XSL_TXN_NONE, root) == 0)
				dev_remove(dev);
			return;
		}
		dev_examine(drv, root, dev);
	} else if (strcmp(key, "state") == 0 && (!dev || dev->phase == DEV_WAITING)) {
		dev_examine(drv, root, dev);
	}
}

static void type_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct bus_driver *drv = arg;

	(void)h;
	(void)w;
	/* Resume lists everything again. */
	if (drv->bus->suspended)
		return;
	xbs_depth++;
	if (ev->flags & XSL_EVENT_OVERFLOW)
		scan(drv, NULL);
	else
		type_path(drv, ev->path);
	xbs_depth--;
}

/* ---- the bus ---- */

/* "xenbus0: using event channel N": the transport's port, else ~/store/port, else none (a socket). */
static void log_attach(struct xsl_bus *bus)
{
	char path[64];
	unsigned port = xsl_port(bus->h);

	if (!port && (xsl_caps(bus->h) & XSL_TRCAP_DOMAIN)) {
		snprintf(path, sizeof(path), "%s/store/port", bus->home);
		if (xsl_xbs_scanf(bus->h, XSL_TXN_NONE, path, "", "%u", &port) != 1)
			port = 0;
	}
	if (port)
		bus_log(bus, XSL_BUS_LOG_INFO, "using event channel %u", port);
	else if (xsl_caps(bus->h) & XSL_TRCAP_DOMAIN)
		bus_log(bus, XSL_BUS_LOG_INFO,
			"using event channel ? (the ring's has no number; no ~/store/port)");
	else
		bus_log(bus, XSL_BUS_LOG_INFO, "using the store's socket (no event channel)");
}

/* The bus's domain: given, else ~/domid (libxl and xen-init-dom0 write it), else 0 on a socket. */
static int find_domid(struct xsl_bus *bus, const struct xsl_bus_opts *o)
{
	char *v = NULL;
	size_t len;
	int err;

	if (o && (o->flags & XSL_BUS_DOMID)) {
		if (o->domid >= BUS_DOMID_LIMIT)
			return -EINVAL;
		bus->domid = o->domid;
		return 0;
	}
	err = xsl_read(bus->h, XSL_TXN_NONE, "domid", &v, &len);
	if (!err) {
		err = strlen(v) == len && parse_domid(v, &bus->domid) ? 0 : -EINVAL;
		free(v);
	} else if (err == -ENOENT && !(xsl_caps(bus->h) & XSL_TRCAP_DOMAIN)) {
		bus->domid = 0; /* a socket speaks for the store's own domain */
		err = 0;
	}
	if (err < 0)
		bus_log(bus, XSL_BUS_LOG_ERR, "cannot tell this domain's id from ~/domid: %s",
			strerror(-err));
	return err;
}

int xsl_bus_open(struct xsl *h, const struct xsl_bus_opts *opts, struct xsl_bus **out)
{
	struct xsl_bus *bus;
	int err;

	if (!h || !out)
		return -EINVAL;
	if (!(bus = calloc(1, sizeof(*bus))))
		return -ENOMEM;
	bus->h = h;
	snprintf(bus->name, sizeof(bus->name), "%s", opts && opts->name ? opts->name : "xenbus0");
	bus->log = opts ? opts->log : NULL;
	bus->log_arg = opts ? opts->log_arg : NULL;
	if ((err = find_domid(bus, opts)) < 0) {
		free(bus);
		return err;
	}
	snprintf(bus->home, sizeof(bus->home), "/local/domain/%u", bus->domid);
	log_attach(bus);
	*out = bus;
	return 0;
}

unsigned xsl_bus_domid(const struct xsl_bus *bus)
{
	return bus ? bus->domid : 0;
}

static void driver_free(struct bus_driver *drv)
{
	if (drv->w)
		xsl_unwatch(drv->bus->h, drv->w);
	while (drv->devs)
		dev_remove(drv->devs);
	free(drv->type);
	free(drv->dir);
	free(drv);
}

int xsl_bus_close(struct xsl_bus *bus)
{
	struct bus_driver *drv;

	if (!bus)
		return 0;
	if (xbs_depth)
		return -EDEADLK;
	xbs_depth++;
	while ((drv = bus->drivers)) {
		bus->drivers = drv->next;
		driver_free(drv);
	}
	xbs_depth--;
	free(bus);
	return 0;
}

/* A type is one path component. */
static bool type_ok(const char *type)
{
	if (!type || !*type || strlen(type) > 64)
		return false;
	for (const char *p = type; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_'))
			return false;
	return true;
}

int xsl_bus_register(struct xsl_bus *bus, const struct xsl_bus_driver *d, void *arg)
{
	/* device/<type>/<id>/state and backend/<type>/<fe>/<id>/state: what a device's coming, going and state say. */
	struct xsl_watch_opts o = {.max_pending = BUS_TYPE_PENDING, .flags = XSL_WATCH_COALESCE};
	struct bus_driver *drv;
	size_t n;
	int err;

	if (!bus || !d || !type_ok(d->type) ||
	    (d->side != XSL_BUS_FRONTEND && d->side != XSL_BUS_BACKEND))
		return -EINVAL;
	if (xbs_depth)
		return -EDEADLK;
	for (drv = bus->drivers; drv; drv = drv->next)
		if (drv->d.side == d->side && strcmp(drv->type, d->type) == 0)
			return -EEXIST;
	if (!(drv = calloc(1, sizeof(*drv))))
		return -ENOMEM;
	n = strlen(bus->home) + strlen(d->type) + 16;
	drv->bus = bus;
	drv->d = *d;
	drv->arg = arg;
	drv->type = strdup(d->type);
	drv->dir = malloc(n);
	if (!drv->type || !drv->dir) {
		driver_free(drv);
		return -ENOMEM;
	}
	snprintf(drv->dir, n, "%s/%s/%s", bus->home,
		 d->side == XSL_BUS_FRONTEND ? "device" : "backend", d->type);
	drv->d.type = drv->type;
	drv->dir_len = strlen(drv->dir);
	o.depth = d->side == XSL_BUS_FRONTEND ? 2 : 3;
	/* The watch first: what changes while we list is not missed. */
	if ((err = xsl_watch(bus->h, drv->dir, &o, type_event, drv, &drv->w)) < 0) {
		driver_free(drv);
		return err;
	}
	drv->next = bus->drivers;
	bus->drivers = drv;
	xbs_depth++;
	scan(drv, NULL);
	xbs_depth--;
	return 0;
}

int xsl_bus_suspend(struct xsl_bus *bus)
{
	int first = 0;

	if (!bus)
		return -EINVAL;
	if (xbs_depth)
		return -EDEADLK;
	if (bus->suspended)
		return 0;
	xbs_depth++;
	bus->suspended = true;
	for (struct bus_driver *drv = bus->drivers; drv; drv = drv->next) {
		for (struct xsl_bus_dev *dev = drv->devs; dev; dev = dev->next) {
			int err = 0;

			dev->resume_due = dev->phase == DEV_BOUND || dev->phase == DEV_RESET;
			if (dev->phase == DEV_BOUND && drv->d.suspend)
				err = drv->d.suspend(dev);
			if (err < 0) {
				bus_log(bus, XSL_BUS_LOG_WARN, "%s: suspend failed: %s", dev->nodename,
					strerror(-err));
				if (!first)
					first = err;
			}
		}
	}
	xbs_depth--;
	return first;
}

/* One device after a suspend (Linux's xenbus_dev_resume): the other end again, Initialising, resume, its state again. */
static void dev_resume(struct xsl_bus_dev *dev)
{
	struct xsl_bus *bus = dev->drv->bus;
	const char *why = "";
	int err;

	dev->resume_due = false;
	if ((err = otherend_read(dev, &why)) < 0) {
		dev_fail(dev, err, "reading other end details from", why);
		return;
	}
	/* A new host's toolstack made the directory afresh in Initialising; else it tells the backend to start over. */
	if (dev->drv->d.side == XSL_BUS_FRONTEND && dev->phase == DEV_BOUND &&
	    (err = xsl_xbs_switch(bus->h, XSL_TXN_NONE, dev->nodename, XSL_XBS_INITIALISING)) < 0)
		bus_log(bus, XSL_BUS_LOG_WARN, "%s: back to Initialising: %s", dev->nodename,
			strerror(-err));
	dev->oe_state = -1;
	dev->oe_unusable = false;
	dev->reset_init = false;
	if (dev->phase == DEV_BOUND && dev->drv->d.resume &&
	    (err = dev->drv->d.resume(dev)) < 0)
		xsl_bus_dev_error(dev, err, "resuming %s", dev->nodename);
	/* A new watch: the old one's queued events (perhaps of an other end since moved) go with it. */
	if ((err = otherend_watch(dev)) < 0)
		dev_fail(dev, err, "watching the other end of", strerror(-err));
}

int xsl_bus_resume(struct xsl_bus *bus)
{
	if (!bus)
		return -EINVAL;
	if (xbs_depth)
		return -EDEADLK;
	if (!bus->suspended)
		return -EINVAL;
	xbs_depth++;
	for (struct bus_driver *drv = bus->drivers; drv; drv = drv->next) {
		/* Devices gone meanwhile go first (their remove runs); new ones are probed afresh. */
		scan(drv, NULL);
		for (struct xsl_bus_dev *dev = drv->devs; dev; dev = dev->next)
			if (dev->resume_due)
				dev_resume(dev);
	}
	bus->suspended = false;
	xbs_depth--;
	return 0;
}

/* ---- device accessors ---- */

struct xsl *xsl_bus_dev_handle(const struct xsl_bus_dev *dev)
{
	return dev->drv->bus->h;
}

enum xsl_bus_side xsl_bus_dev_side(const struct xsl_bus_dev *dev)
{
	return dev->drv->d.side;
}

const char *xsl_bus_dev_type(const struct xsl_bus_dev *dev)
{
	return dev->drv->type;
}

const char *xsl_bus_dev_id(const struct xsl_bus_dev *dev)
{
	return dev->id;
}

const char *xsl_bus_dev_nodename(const struct xsl_bus_dev *dev)
{
	return dev->nodename;
}

const char *xsl_bus_dev_otherend(const struct xsl_bus_dev *dev)
{
	return dev->otherend;
}

unsigned xsl_bus_dev_otherend_id(const struct xsl_bus_dev *dev)
{
	return dev->otherend_id;
}

enum xsl_xbs xsl_bus_dev_otherend_state(const struct xsl_bus_dev *dev)
{
	return dev->oe_state < 0 ? XSL_XBS_UNKNOWN : (enum xsl_xbs)dev->oe_state;
}

void *xsl_bus_dev_driver_arg(const struct xsl_bus_dev *dev)
{
	return dev->drv->arg;
}

void xsl_bus_dev_set_priv(struct xsl_bus_dev *dev, void *priv)
{
	dev->priv = priv;
}

void *xsl_bus_dev_priv(const struct xsl_bus_dev *dev)
{
	return dev->priv;
}

int xsl_bus_switch_state(struct xsl_bus_dev *dev, xsl_txn_t t, enum xsl_xbs state)
{
	if (!dev)
		return -EINVAL;
	return xsl_xbs_switch(dev->drv->bus->h, t, dev->nodename, state);
}

int xsl_bus_wait_otherend(struct xsl_bus_dev *dev, unsigned states, int timeout_ms)
{
	if (!dev || !dev->otherend)
		return -EINVAL;
	return xsl_xbs_wait(dev->drv->bus->h, dev->otherend, states, timeout_ms);
}

/* XenbusState on any directory: names, strict reads, the idempotent switch, waits, error nodes, scanf/printf/gather. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsl_bus.h"
#include "xsl_handle.h"

__thread unsigned xbs_depth;

static const char *const state_names[XSL_XBS_MAX + 1] = {
	"Unknown",   "Initialising", "InitWait",      "Initialised", "Connected",
	"Closing",   "Closed",       "Reconfiguring", "Reconfigured",
};

const char *xsl_xbs_name(int state)
{
	return state >= 0 && state <= XSL_XBS_MAX ? state_names[state] : "Invalid";
}

int xsl_xbs_parse(const char *value, size_t len)
{
	/* One digit and nothing else: whatever else a peer wrote is not a state it is in. */
	if (!value || len != 1 || value[0] < '0' || value[0] > '0' + XSL_XBS_MAX)
		return -EINVAL;
	return value[0] - '0';
}

int xbs_join(char *buf, size_t size, const char *dir, const char *node)
{
	int n;

	if (!node)
		return -EINVAL;
	if (!dir)
		n = snprintf(buf, size, "%s", node);
	else
		n = snprintf(buf, size, "%s%s%s", dir, *node ? "/" : "", node);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A value of a peer fit for a log line: at most 32 bytes, unprintable ones as '?'. */
static void printable(const char *v, size_t len, char *out, size_t size)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	if (n > 32)
		n = 32;
	for (i = 0; i < n; i++)
		out[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	out[i] = '\0';
}

int xbs_read_why(struct xsl *h, xsl_txn_t t, const char *dir, enum xbs_why *why, char *raw,
		 size_t raw_size)
{
	char path[XSL_ABS_PATH_MAX];
	char *v = NULL;
	size_t len = 0;
	int err, s;

	*why = XBS_ERROR;
	if (raw && raw_size)
		raw[0] = '\0';
	if ((err = xbs_join(path, sizeof(path), dir, "state")) < 0)
		return err;
	err = xsl_read(h, t, path, &v, &len);
	if (err == -ENOENT || err == -EACCES) {
		/*
		 * No state we may read: the directory gone for good (an unprivileged
		 * reader is told EACCES for it when its parent is not readable), or
		 * one not yet filled in, or a state node kept from us.
		 */
		int e = xsl_exists(h, t, dir);

		if (e == 0 || e == -EACCES) {
			*why = XBS_GONE;
			return XSL_XBS_CLOSED;
		}
		if (e < 0)
			return e;
		*why = err == -ENOENT ? XBS_NOSTATE : XBS_ERROR;
		return err == -ENOENT ? -EINVAL : err;
	}
	if (err < 0)
		return err;
	s = xsl_xbs_parse(v, len);
	if (raw && raw_size)
		printable(v, len, raw, raw_size);
	free(v);
	*why = s < 0 ? XBS_JUNK : s == XSL_XBS_UNKNOWN ? XBS_ZERO : XBS_VALUE;
	return s <= 0 ? -EINVAL : s;
}

int xsl_xbs_read(struct xsl *h, xsl_txn_t t, const char *dir)
{
	char path[XSL_ABS_PATH_MAX];
	char *v = NULL;
	size_t len = 0;
	int err;

	if (!h || !dir)
		return -EINVAL;
	if ((err = xbs_join(path, sizeof(path), dir, "state")) < 0 ||
	    (err = xsl_read(h, t, path, &v, &len)) < 0)
		return err;
	err = xsl_xbs_parse(v, len);
	free(v);
	return err;
}

int xsl_xbs_read_bus(struct xsl *h, xsl_txn_t t, const char *dir)
{
	enum xbs_why why;

	if (!h || !dir)
		return -EINVAL;
	return xbs_read_why(h, t, dir, &why, NULL, 0);
}

struct switch_ctx {
	const char *dir;
	char path[XSL_ABS_PATH_MAX];
	enum xsl_xbs state;
	int wrote;
};

static int switch_in(struct xsl *h, xsl_txn_t t, void *arg)
{
	struct switch_ctx *c = arg;
	int cur = xsl_xbs_read(h, t, c->dir), e;
	char v = (char)('0' + c->state);

	c->wrote = 0;
	if (cur == -ENOENT) {
		/* Never bring a removed device back to life with a lone state node. */
		if ((e = xsl_exists(h, t, c->dir)) <= 0)
			return e < 0 ? e : -ENOENT;
	} else if (cur < 0 && cur != -EINVAL) {
		return cur;
	} else if (cur == (int)c->state) {
		return 0;
	}
	if ((e = xsl_write(h, t, c->path, &v, 1)) < 0)
		return e;
	c->wrote = 1;
	return 0;
}

int xsl_xbs_switch(struct xsl *h, xsl_txn_t t, const char *dir, enum xsl_xbs state)
{
	struct switch_ctx c = {.dir = dir, .state = state};
	int err;

	if (!h || !dir || (unsigned)state > XSL_XBS_MAX)
		return -EINVAL;
	if ((err = xbs_join(c.path, sizeof(c.path), dir, "state")) < 0)
		return err;
	err = t != XSL_TXN_NONE ? switch_in(h, t, &c) : xsl_txn_run(h, switch_in, &c, 0);
	return err < 0 ? err : c.wrote;
}

static void wait_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	(void)h;
	(void)w;
	(void)ev;
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

int xsl_xbs_wait(struct xsl *h, const char *dir, unsigned states, int timeout_ms)
{
	struct xsl_watch_opts o = {.depth = 0, .max_pending = 1, .flags = XSL_WATCH_COALESCE};
	long long deadline = xsl_deadline(timeout_ms);
	char path[XSL_ABS_PATH_MAX];
	struct xsl_watch *w;
	int changed = 0, s, n;

	if (!h || !dir)
		return -EINVAL;
	if (xbs_depth)
		return -EDEADLK;
	if ((s = xbs_join(path, sizeof(path), dir, "state")) < 0 ||
	    (s = xsl_watch(h, path, &o, wait_event, &changed, &w)) < 0)
		return s;
	/* The watch first, then the read: a change between the two still wakes us. */
	for (;;) {
		__atomic_store_n(&changed, 0, __ATOMIC_RELEASE);
		s = xsl_xbs_read_bus(h, 0, dir);
		if (s >= 0 && (states & XSL_XBS_BIT(s)))
			break;
		/* A lost connection comes back with the watch's replayed event; a dead one does not. */
		if (s == -ENOTCONN || s == -ENOMEM)
			break;
		while (!__atomic_load_n(&changed, __ATOMIC_ACQUIRE)) {
			int left = xsl_ms_left(deadline);

			if (left == 0) {
				s = -ETIMEDOUT;
				goto out;
			}
			n = xsl_pump(h, left);
			if (n < 0) {
				s = n;
				goto out;
			}
			/*
			 * xsl_pump returns early with nothing run only when it may not
			 * run callbacks here (nested in one, or another thread runs
			 * them): waiting on would spin.
			 */
			if (n == 0 && !__atomic_load_n(&changed, __ATOMIC_ACQUIRE) &&
			    xsl_ms_left(deadline) != 0) {
				s = -EDEADLK;
				goto out;
			}
		}
	}
out:
	xsl_unwatch(h, w);
	return s;
}

/* <dir>/<node>'s value (malloc'd, NUL-terminated): 0 or -errno. */
static int read_at(struct xsl *h, xsl_txn_t t, const char *dir, const char *node, char **v)
{
	char path[XSL_ABS_PATH_MAX];
	size_t len;
	int err;

	if ((err = xbs_join(path, sizeof(path), dir, node)) < 0)
		return err;
	return xsl_read(h, t, path, v, &len);
}

static int vscanf_at(struct xsl *h, xsl_txn_t t, const char *dir, const char *node,
		     const char *fmt, va_list ap)
{
	char *v = NULL;
	int err;

	if ((err = read_at(h, t, dir, node, &v)) < 0)
		return err;
	err = vsscanf(v, fmt, ap);
	free(v);
	return err <= 0 ? -EINVAL : err;
}

int xsl_xbs_scanf(struct xsl *h, xsl_txn_t t, const char *dir, const char *node, const char *fmt,
		  ...)
{
	va_list ap;
	int n;

	if (!h || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	n = vscanf_at(h, t, dir, node, fmt, ap);
	va_end(ap);
	return n;
}

int xsl_xbs_printf(struct xsl *h, xsl_txn_t t, const char *dir, const char *node, const char *fmt,
		   ...)
{
	char path[XSL_ABS_PATH_MAX], value[XSL_PAYLOAD_MAX + 1];
	va_list ap;
	int n, err;

	if (!h || !fmt)
		return -EINVAL;
	if ((err = xbs_join(path, sizeof(path), dir, node)) < 0)
		return err;
	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > XSL_PAYLOAD_MAX)
		return -E2BIG;
	return xsl_write(h, t, path, value, (size_t)n);
}

/* One triple of a gather: a string (fmt NULL) or one scanf conversion. */
static int gather_one(struct xsl *h, xsl_txn_t t, const char *dir, const char *name,
		      const char *fmt, void *ptr)
{
	char *v = NULL;
	int err;

	if ((err = read_at(h, t, dir, name, &v)) < 0)
		return err;
	if (!fmt) {
		*(char **)ptr = v;
		return 0;
	}
	err = sscanf(v, fmt, ptr) == 1 ? 0 : -EINVAL;
	free(v);
	return err;
}

int xsl_xbs_gather(struct xsl *h, xsl_txn_t t, const char *dir, ...)
{
	va_list ap, again;
	const char *name;
	unsigned done = 0;
	int err = 0;

	if (!h)
		return -EINVAL;
	va_start(ap, dir);
	va_copy(again, ap);
	while ((name = va_arg(ap, const char *))) {
		const char *fmt = va_arg(ap, const char *);
		void *ptr = va_arg(ap, void *);

		if (!ptr || (err = gather_one(h, t, dir, name, fmt, ptr)) < 0)
			break;
		done++;
	}
	if (!err && name)
		err = -EINVAL; /* a NULL pointer */
	/* Failed: what this call allocated goes, so that a caller's error path has nothing to free. */
	for (; err && done; done--) {
		const char *fmt;
		void *ptr;

		va_arg(again, const char *);
		fmt = va_arg(again, const char *);
		ptr = va_arg(again, void *);
		if (!fmt) {
			free(*(char **)ptr);
			*(char **)ptr = NULL;
		}
	}
	va_end(again);
	va_end(ap);
	return err;
}

int xbs_error_at(struct xsl *h, const char *home, const char *nodename, int err, const char *msg)
{
	size_t hl = strlen(home);
	const char *rel = nodename;
	char path[XSL_ABS_PATH_MAX], value[XSL_PAYLOAD_MAX + 1];
	int n;

	/* Linux's nodename is relative to the home: error/device/vbd/768/error. */
	if (strncmp(nodename, home, hl) == 0 && nodename[hl] == '/')
		rel = nodename + hl + 1;
	else if (rel[0] == '/')
		rel++;
	n = snprintf(path, sizeof(path), "%s/error/%s/error", home, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	n = snprintf(value, sizeof(value), "%d %s", err < 0 ? -err : err, msg);
	if (n < 0)
		return -EINVAL;
	/* A message too long for one value is cut, as Linux cuts at its buffer. */
	return xsl_write(h, XSL_TXN_NONE, path, value,
			 (size_t)n > XSL_PAYLOAD_MAX ? XSL_PAYLOAD_MAX : (size_t)n);
}

/* The watch calls: register with the store (depth where it offers it), unwatch with purge and wait. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../proto/ring.h"
#include "xsl_handle.h"
#include "xsl_transport.h"
#include "xsl_watch.h"

/* Times a registration is sent again when the connection was lost under it (with reconnection on). */
#define XSL_WATCH_RETRIES 3

int xsl_watch(struct xsl *h, const char *path, const struct xsl_watch_opts *opts, xsl_watch_fn *cb,
	      void *arg, struct xsl_watch **out)
{
	bool by_store = false;
	struct xsl_watch *w;
	char depth[16];
	int err, tries = 0;

	if (!h || !cb || !out || (opts && opts->max_pending > XSL_WATCH_PENDING_MAX))
		return -EINVAL;
	if ((err = xsl_codec_check_path(path, true)) < 0)
		return err;
	/* A kernel's device registers watches itself, without depth: filtered here then. */
	if (opts && opts->depth >= 0 && !(xsl_caps(h) & XSL_TRCAP_KERNEL)) {
		unsigned f;

		if ((err = xsl_features(h, &f)) < 0)
			return err;
		by_store = f & XS_RING_F_WATCHDEPTH;
	}
	if ((err = xsl_watch_register(h, path, opts, by_store, cb, arg, &w)) < 0)
		return err;
	snprintf(depth, sizeof(depth), "%d", by_store ? opts->depth : 0);
	do {
		struct xsl_arg args[3] = {XSL_STR(path), XSL_STR(xsl_watch_token(w)), XSL_STR(depth)};

		err = xsl_call(h, 0, XS_WATCH, args, by_store ? 3 : 2, NULL);
	} while (err == -ECONNRESET && xsl_reconnects(h) && ++tries < XSL_WATCH_RETRIES);
	xsl_watch_registered(h, w, err);
	if (err)
		return err;
	*out = w;
	return 0;
}

int xsl_unwatch(struct xsl *h, struct xsl_watch *w)
{
	int err = 0;

	if (!h || !w)
		return -EINVAL;
	if (xsl_watch_detach(h, w)) {
		struct xsl_arg args[2] = {XSL_STR(w->path), XSL_STR(w->token)};

		err = xsl_call(h, 0, XS_UNWATCH, args, 2, NULL);
		/* Gone already (a new connection, a dead one): what the caller wanted. */
		if (err == -ENOENT || err == -ECONNRESET || err == -ENOTCONN)
			err = 0;
	}
	xsl_watch_release(h, w);
	return err;
}

const char *xsl_watch_path(const struct xsl_watch *w)
{
	return w->path;
}

const char *xsl_watch_token(const struct xsl_watch *w)
{
	return w->token;
}

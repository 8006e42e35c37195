/* Handlers of WATCH, UNWATCH and RESET_WATCHES. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ops.h"
#include "txn.h"
#include "watch.h"

static void initial_event(struct req *r)
{
	watch_initial_event(r->conn, r->path, r->prefix_len, r->argv[1]);
}

enum xs_err op_watch(struct req *r)
{
	int depth = -1;
	enum xs_err err;

	/* path, token, and (the WATCHDEPTH feature, which sockets have) a depth. */
	if (r->argc != 2 && r->argc != 3)
		return XSE_EINVAL;
	if (r->argc == 3) {
		depth = atoi(r->argv[2]);
		if (depth < 0)
			return XSE_EINVAL;
	}
	err = xs_path_canonical(r->argv[0], r->conn->home, true, r->path, &r->prefix_len);
	if (err != XSE_OK)
		return err;
	err = watch_add(r->conn, r->path, r->prefix_len, r->argv[1], depth);
	if (err != XSE_OK)
		return err;
	/* The OK goes first, then one event, whether or not the node exists. */
	r->after_reply = initial_event;
	return reply_ok(r);
}

enum xs_err op_unwatch(struct req *r)
{
	enum xs_err err = watch_remove(r->conn, r->path, r->argv[1]);

	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_reset_watches(struct req *r)
{
	/* Watches and transactions go; events already queued stay queued. */
	watch_drop_all(r->conn);
	txn_drop_all(r->conn);
	return reply_ok(r);
}

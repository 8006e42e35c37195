/* Handlers of WATCH, UNWATCH and RESET_WATCHES. */
#include "ops.h"
#include "session.h"
#include "watch.h"

static void initial_event(struct req *r)
{
	watch_initial_event(session_watches(r->session), r->path, r->prefix_len, r->argv[1]);
}

enum xs_err op_watch(struct req *r)
{
	enum xs_err err = session_watch_add(r->session, r->path, r->prefix_len, r->argv[1], r->depth);

	if (err)
		return err;
	/* The OK goes first, then one event, whether or not the node exists. */
	r->after_reply = initial_event;
	return reply_ok(r);
}

enum xs_err op_unwatch(struct req *r)
{
	enum xs_err err = session_watch_remove(r->session, r->path, r->argv[1]);

	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_reset_watches(struct req *r)
{
	/* Watches and transactions go; events already queued stay queued. */
	session_reset(r->session);
	return reply_ok(r);
}

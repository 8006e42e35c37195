/* A test's client connection: the client library's handle, requests built from strings, watch events kept under the test's names. */
#include "xst_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xst_cwatch {
	struct xst_cwatch *next;
	struct xst_conn *c;
	struct xsl_watch *w;
	char name[64];
};

struct xst_qevent {
	struct xst_qevent *next;
	struct xst_event ev;
};

struct xst_conn {
	struct xsl *h;
	struct xst_cwatch *watches;
	struct xst_qevent *head, *tail;
};

static struct xst_conn *conn_open(struct xsl_open_opts *o)
{
	struct xst_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	if ((err = xsl_open(&c->h, o)) < 0) {
		free(c);
		errno = -err;
		return NULL;
	}
	return c;
}

struct xst_conn *xst_conn_socket(const char *path, int timeout_ms)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = path,
				  .timeout_ms = timeout_ms};

	return conn_open(&o);
}

struct xst_conn *xst_conn_ring(struct xsl_simdom *d, int timeout_ms)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SIMRING, .simdom = d,
				  .timeout_ms = timeout_ms};

	return conn_open(&o);
}

struct xst_conn *xst_conn_ring_reconnecting(struct xsl_simdom *d, int timeout_ms)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SIMRING, .simdom = d, .flags = XSL_OPEN_RECONNECT,
				  .timeout_ms = timeout_ms};

	return conn_open(&o);
}

void xst_conn_close(struct xst_conn *c)
{
	if (!c)
		return;
	xsl_close(c->h);
	while (c->watches) {
		struct xst_cwatch *w = c->watches;

		c->watches = w->next;
		free(w);
	}
	while (c->head) {
		struct xst_qevent *e = c->head;

		c->head = e->next;
		free(e);
	}
	free(c);
}

struct xsl *xst_conn_xsl(const struct xst_conn *c)
{
	return c->h;
}

/* The store's error names are exactly the errnos that map to one and back. */
static const char *store_error_name(int err)
{
	enum xs_err e = xs_err_from_errno(err);

	return xs_err_to_errno(e) == err ? xs_err_name(e) : NULL;
}

int xst_request(struct xst_conn *c, xsl_txn_t t, uint32_t type, const void *payload, size_t len,
		struct xst_msg *m)
{
	char *reply = NULL;
	size_t rlen = 0;
	int err = xsl_request(c->h, t, type, payload, len, &reply, &rlen);
	const char *name;

	memset(&m->hdr, 0, sizeof(m->hdr));
	m->payload[0] = '\0';
	if (err < 0) {
		if (!(name = store_error_name(-err)))
			return err;
		m->hdr.type = XS_ERROR;
		m->hdr.len = (uint32_t)strlen(name) + 1;
		memcpy(m->payload, name, m->hdr.len);
		return 0;
	}
	m->hdr.type = type;
	m->hdr.len = (uint32_t)rlen;
	memcpy(m->payload, reply, rlen);
	m->payload[rlen] = '\0';
	free(reply);
	return 0;
}

int xst_call(struct xst_conn *c, xsl_txn_t t, uint32_t type, int raw_last, const char *const *args,
	     struct xst_msg *m)
{
	char buf[XS_PAYLOAD_MAX];
	int len = xst_payload(buf, sizeof(buf), raw_last, args);

	if (len < 0)
		return -E2BIG;
	return xst_request(c, t, type, buf, (size_t)len, m);
}

static void on_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct xst_cwatch *cw = arg;
	struct xst_conn *c = cw->c;
	struct xst_qevent *e = calloc(1, sizeof(*e));

	(void)h;
	(void)w;
	if (!e)
		abort(); /* a test process out of memory */
	snprintf(e->ev.path, sizeof(e->ev.path), "%s", ev->path);
	snprintf(e->ev.name, sizeof(e->ev.name), "%s", cw->name);
	e->ev.flags = ev->flags;
	if (c->tail)
		c->tail->next = e;
	else
		c->head = e;
	c->tail = e;
}

int xst_watch(struct xst_conn *c, const char *path, const char *name, int depth)
{
	struct xsl_watch_opts o = {.depth = depth, .max_pending = XSL_WATCH_PENDING_MAX};
	struct xst_cwatch *cw = calloc(1, sizeof(*cw)), **tail = &c->watches;
	int err;

	if (!cw)
		return -ENOMEM;
	cw->c = c;
	snprintf(cw->name, sizeof(cw->name), "%s", name);
	if ((err = xsl_watch(c->h, path, &o, on_event, cw, &cw->w)) < 0) {
		free(cw);
		return err;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = cw;
	return 0;
}

const char *xst_watch_token(struct xst_conn *c, const char *name)
{
	for (struct xst_cwatch *w = c->watches; w; w = w->next)
		if (strcmp(w->name, name) == 0)
			return xsl_watch_token(w->w);
	return NULL;
}

int xst_event(struct xst_conn *c, struct xst_event *ev, int timeout_ms)
{
	long long deadline = xst_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		struct xst_qevent *e = c->head;
		long long left;
		int r;

		if (e) {
			c->head = e->next;
			if (!c->head)
				c->tail = NULL;
			*ev = e->ev;
			free(e);
			return 0;
		}
		left = deadline - xst_now_ms();
		r = xsl_pump(c->h, left > 0 ? (int)left : 0);
		if (r < 0)
			return r;
		if (r == 0 && left <= 0)
			return -ETIMEDOUT;
	}
}

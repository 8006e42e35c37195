/* The watch set: watches by token, their bounded event queues, and the order callbacks run in. */
#include "xsl_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xsl_watchset_init(struct xsl_watchset *ws, uint32_t nonce)
{
	memset(ws, 0, sizeof(*ws));
	ws->nonce = nonce;
}

int xsl_watchset_add(struct xsl_watchset *ws, const char *path, const struct xsl_watch_opts *opts,
		     xsl_watch_fn *cb, void *arg, struct xsl_watch **out)
{
	struct xsl_watch *w;

	if (opts && opts->max_pending > XSL_WATCH_PENDING_MAX)
		return -EINVAL;
	if (!(w = calloc(1, sizeof(*w))) || !(w->path = strdup(path))) {
		free(w);
		return -ENOMEM;
	}
	/* Never a pointer: a token names the watch on this handle only, and survives reconnections. */
	snprintf(w->token, sizeof(w->token), "xsl-%08x-%llu", ws->nonce,
		 (unsigned long long)++ws->seq);
	w->depth = opts ? opts->depth : -1;
	w->max_pending = opts && opts->max_pending ? opts->max_pending : XSL_WATCH_PENDING_DEFAULT;
	w->flags = opts ? opts->flags : 0;
	w->cb = cb;
	w->arg = arg;
	w->state = XSL_W_REGISTERING;
	w->refs = 1;
	w->prev = ws->tail;
	if (ws->tail)
		ws->tail->next = w;
	else
		ws->head = w;
	ws->tail = w;
	ws->count++;
	*out = w;
	return 0;
}

static void purge(struct xsl_watch *w)
{
	struct xsl_wevent *e;

	while ((e = w->qhead)) {
		w->qhead = e->next;
		free(e);
	}
	w->qtail = NULL;
	w->qlen = 0;
	w->overflowed = false;
}

static void ready_remove(struct xsl_watchset *ws, struct xsl_watch *w)
{
	struct xsl_watch **p = &ws->ready_head, *prev = NULL;

	if (!w->ready)
		return;
	while (*p != w) {
		prev = *p;
		p = &(*p)->ready_next;
	}
	*p = w->ready_next;
	if (ws->ready_tail == w)
		ws->ready_tail = prev;
	w->ready_next = NULL;
	w->ready = false;
}

static void ready_push(struct xsl_watchset *ws, struct xsl_watch *w)
{
	if (w->ready)
		return;
	w->ready = true;
	w->ready_next = NULL;
	if (ws->ready_tail)
		ws->ready_tail->ready_next = w;
	else
		ws->ready_head = w;
	ws->ready_tail = w;
}

void xsl_watch_put(struct xsl_watch *w)
{
	if (--w->refs)
		return;
	purge(w);
	free(w->path);
	free(w);
}

void xsl_watchset_remove(struct xsl_watchset *ws, struct xsl_watch *w)
{
	if (w->state == XSL_W_REMOVED)
		return;
	ready_remove(ws, w);
	purge(w);
	if (w->prev)
		w->prev->next = w->next;
	else
		ws->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		ws->tail = w->prev;
	w->prev = w->next = NULL;
	ws->count--;
	w->state = XSL_W_REMOVED;
	xsl_watch_put(w);
}

/* Levels of a path, counted the same way for absolute, relative and special paths. */
static unsigned levels(const char *path)
{
	unsigned n = 0;

	if (strcmp(path, "/") == 0)
		return 0;
	for (; *path; path++)
		n += *path == '/';
	return n;
}

/* Client-side depth, for a store (or a kernel) that does not take it. */
static bool too_deep(const struct xsl_watch *w, const char *path)
{
	unsigned ev = levels(path), base = levels(w->path);

	return w->depth >= 0 && !w->depth_by_store && ev > base && ev - base > (unsigned)w->depth;
}

static bool queued(const struct xsl_watch *w, const char *path)
{
	for (const struct xsl_wevent *e = w->qhead; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return true;
	return false;
}

static void enqueue(struct xsl_watch *w, const char *path, unsigned flags)
{
	size_t len = strlen(path) + 1;
	struct xsl_wevent *e = malloc(sizeof(*e) + len);

	if (!e) {
		/* Out of memory is an overflow too: the one event says re-read. */
		purge(w);
		w->overflowed = true;
		return;
	}
	e->next = NULL;
	e->flags = flags;
	memcpy(e->path, path, len);
	if (w->qtail)
		w->qtail->next = e;
	else
		w->qhead = e;
	w->qtail = e;
	w->qlen++;
}

void xsl_watchset_event(struct xsl_watchset *ws, const char *path, const char *token)
{
	struct xsl_watch *w;

	for (w = ws->head; w; w = w->next)
		if (strcmp(w->token, token) == 0)
			break;
	if (!w) {
		ws->stray++;
		return;
	}
	if (too_deep(w, path))
		return;
	/* A pending "re-read everything" covers whatever comes before it is delivered. */
	if (w->overflowed)
		return;
	if ((w->flags & XSL_WATCH_COALESCE) && queued(w, path))
		return;
	if (w->qlen >= w->max_pending) {
		ws->overflows++;
		purge(w);
		enqueue(w, w->path, XSL_EVENT_OVERFLOW);
		w->overflowed = true;
	} else {
		enqueue(w, path, 0);
	}
	ready_push(ws, w);
}

struct xsl_watch *xsl_watchset_next(struct xsl_watchset *ws, struct xsl_wevent **ev)
{
	struct xsl_watch *w = ws->ready_head;
	struct xsl_wevent *e;

	while (w && !w->qhead && !w->overflowed) {
		ready_remove(ws, w);
		w = ws->ready_head;
	}
	if (!w)
		return NULL;
	ready_remove(ws, w);
	if (!(e = w->qhead)) {
		/* The queue was lost to an allocation failure: deliver the overflow on its own. */
		if (!(e = malloc(sizeof(*e) + 1))) {
			ready_push(ws, w);
			return NULL;
		}
		e->next = NULL;
		e->path[0] = '\0';
		e->flags = XSL_EVENT_OVERFLOW;
	} else {
		w->qhead = e->next;
		if (!w->qhead)
			w->qtail = NULL;
		w->qlen--;
	}
	if (e->flags & XSL_EVENT_OVERFLOW)
		w->overflowed = false;
	if (w->qhead)
		ready_push(ws, w); /* behind the others: round robin */
	w->refs++;
	*ev = e;
	return w;
}

bool xsl_watchset_pending(const struct xsl_watchset *ws)
{
	for (const struct xsl_watch *w = ws->ready_head; w; w = w->ready_next)
		if (w->qhead || w->overflowed)
			return true;
	return false;
}

void xsl_watchset_clear(struct xsl_watchset *ws)
{
	while (ws->head)
		xsl_watchset_remove(ws, ws->head);
	ws->ready_head = ws->ready_tail = NULL;
}

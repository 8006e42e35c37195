/* Example: the client library in a libevent loop: watch a path, print each event and the value, stop after N. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/xenstore_client.h"

struct app {
	struct event_base *base;
	struct xsl *h;
	long left;
};

/* Runs from xsl_pump, no library lock held: a blocking read here is fine. */
static void on_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct app *app = arg;
	char *value = NULL;
	size_t len;
	int err = xsl_read(h, XSL_TXN_NONE, ev->path, &value, &len);

	(void)w;
	printf("%s%s = %s\n", ev->path, ev->flags & XSL_EVENT_OVERFLOW ? " (overflow)" : "",
	       err ? strerror(-err) : value);
	fflush(stdout);
	free(value);
	if (app->left > 0 && --app->left == 0)
		event_base_loopbreak(app->base);
}

/* The handle's one descriptor is readable whenever it has work: pump without waiting. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;

	(void)fd;
	(void)what;
	if (xsl_pump(app->h, 0) == -ENOTCONN) {
		fprintf(stderr, "connection lost\n");
		event_base_loopbreak(app->base);
	}
}

int main(int argc, char **argv)
{
	struct xsl_open_opts opts = {.transport = XSL_TR_AUTO, .flags = XSL_OPEN_RECONNECT};
	struct app app = {0};
	struct xsl_watch *w;
	struct event *ev;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH [COUNT]\n", argv[0]);
		return 2;
	}
	app.left = argc > 2 ? atol(argv[2]) : 0;
	if ((err = xsl_open(&app.h, &opts)) < 0) {
		fprintf(stderr, "xsl_open: %s\n", strerror(-err));
		return 1;
	}
	app.base = event_base_new();
	ev = event_new(app.base, xsl_fileno(app.h), EV_READ | EV_PERSIST, on_readable, &app);
	event_add(ev, NULL);
	if ((err = xsl_watch(app.h, argv[1], NULL, on_event, &app, &w)) < 0) {
		fprintf(stderr, "xsl_watch: %s\n", strerror(-err));
		return 1;
	}
	event_base_dispatch(app.base);
	xsl_unwatch(app.h, w);
	event_free(ev);
	event_base_free(app.base);
	xsl_close(app.h);
	return 0;
}

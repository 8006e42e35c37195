/* A program built only from the installed header and pkg-config: write, read, a watch, a transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore_client.h>

static int events;

static void on_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	(void)h;
	(void)w;
	(void)ev;
	(void)arg;
	events++;
}

static int body(struct xsl *h, xsl_txn_t t, void *arg)
{
	(void)arg;
	return xsl_write(h, t, "/smoke/t", "1", 1);
}

int main(void)
{
	struct xsl *h;
	struct xsl_watch *w;
	char *v = NULL;
	size_t len;
	int err;

	if ((err = xsl_open(&h, NULL)) < 0 || (err = xsl_write(h, XSL_TXN_NONE, "/smoke/a", "ok", 2)) < 0 ||
	    (err = xsl_read(h, XSL_TXN_NONE, "/smoke/a", &v, &len)) < 0 ||
	    (err = xsl_watch(h, "/smoke", NULL, on_event, NULL, &w)) < 0 ||
	    (err = xsl_txn_run(h, body, NULL, 0)) < 0) {
		fprintf(stderr, "smoke: %s\n", strerror(-err));
		return 1;
	}
	while (events < 1)
		if ((err = xsl_pump(h, 10000)) <= 0) {
			fprintf(stderr, "smoke: no event (%d)\n", err);
			return 1;
		}
	if (len != 2 || strcmp(v, "ok") != 0)
		return 1;
	free(v);
	xsl_unwatch(h, w);
	xsl_close(h);
	return 0;
}

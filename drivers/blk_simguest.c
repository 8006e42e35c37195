/* A simulated guest with its block frontend: the domain, its store handle over its ring, its hypervisor handle, the bus. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "drivers/blk.h"

int blk_simguest_create(struct blk_simguest *g, const char *simhyp, unsigned domid, int timeout_ms)
{
	struct xsl_open_opts oo = {.transport = XSL_TR_SIMRING, .timeout_ms = timeout_ms};
	struct xsl_hyp_opts ho = {.kind = XSL_HYP_SIM, .simhyp_path = simhyp};
	int err;

	memset(g, 0, sizeof(*g));
	g->domid = domid;
	g->timeout_ms = timeout_ms;
	if ((err = xsl_simdom_create(simhyp, domid, &g->dom)) < 0)
		return err;
	oo.simdom = g->dom;
	ho.simdom = g->dom;
	if ((err = xsl_open(&g->h, &oo)) < 0 || (err = xsl_hyp_open(&g->hyp, &ho)) < 0) {
		blk_simguest_destroy(g);
		return err;
	}
	return 0;
}

int blk_simguest_introduced(struct blk_simguest *g)
{
	unsigned features = 0;

	return xsl_features(g->h, &features) == 0 && features != 0;
}

int blk_simguest_start(struct blk_simguest *g, const struct blkfront_guest_opts *opts)
{
	struct blkfront_guest_opts o = *opts;

	for (int waited = 0; !blk_simguest_introduced(g); waited += 20) {
		if (g->timeout_ms > 0 && waited >= g->timeout_ms)
			return -ETIMEDOUT;
		usleep(20000);
	}
	o.h = g->h;
	o.hyp = g->hyp;
	o.domid = g->domid;
	return blkfront_guest_open(&g->fe, &o);
}

void blk_simguest_destroy(struct blk_simguest *g)
{
	blkfront_guest_close(g->fe);
	if (g->hyp)
		xsl_hyp_close(g->hyp);
	if (g->h)
		xsl_close(g->h);
	if (g->dom)
		xsl_simdom_destroy(g->dom);
	memset(g, 0, sizeof(*g));
}

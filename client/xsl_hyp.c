/* The hypervisor handle: which implementation, and the calls passed to it. */
#include "xsl_hyp.h"

#include <errno.h>
#include <stddef.h>

int xsl_hyp_open(struct xsl_hyp **out, const struct xsl_hyp_opts *opts)
{
	struct xsl_hyp_opts def = {0};

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		opts = &def;
	switch (opts->kind) {
	case XSL_HYP_AUTO:
		if (!opts->simdom && !opts->simhyp_path && xsl_hyp_xen_present())
			return xsl_hyp_xen_open(out, opts);
		return xsl_hyp_sim_open(out, opts);
	case XSL_HYP_XEN:
		return xsl_hyp_xen_open(out, opts);
	case XSL_HYP_SIM:
		return xsl_hyp_sim_open(out, opts);
	}
	return -EINVAL;
}

void xsl_hyp_close(struct xsl_hyp *h)
{
	if (h)
		h->ops->close(h);
}

unsigned xsl_hyp_domid(const struct xsl_hyp *h)
{
	return h->domid;
}

void *xsl_gnt_share(struct xsl_hyp *h, unsigned domid, unsigned count, int writable, uint32_t *refs)
{
	int err;

	if (!h || !count || !refs)
		return NULL;
	return h->ops->gnt_share(h, domid, count, writable, refs, &err);
}

int xsl_gnt_unshare(struct xsl_hyp *h, void *area, unsigned count)
{
	return h && area && count ? h->ops->gnt_unshare(h, area, count) : -EINVAL;
}

void *xsl_gnt_alloc(struct xsl_hyp *h, unsigned count)
{
	int err;

	return h && count ? h->ops->gnt_alloc(h, count, &err) : NULL;
}

void xsl_gnt_free(struct xsl_hyp *h, void *area, unsigned count)
{
	if (h && area && count)
		h->ops->gnt_free(h, area, count);
}

int xsl_gnt_grant(struct xsl_hyp *h, unsigned domid, void *page, int readonly, uint32_t *ref)
{
	return h && page && ref ? h->ops->gnt_grant(h, domid, page, readonly, ref) : -EINVAL;
}

int xsl_gnt_end(struct xsl_hyp *h, uint32_t ref)
{
	return h ? h->ops->gnt_end(h, ref) : -EINVAL;
}

void *xsl_gnt_map(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs, int writable,
		  int *err)
{
	int e;

	if (!err)
		err = &e;
	if (!h || !count || !refs) {
		*err = -EINVAL;
		return NULL;
	}
	*err = 0;
	return h->ops->gnt_map(h, domid, count, refs, writable, err);
}

int xsl_gnt_unmap(struct xsl_hyp *h, void *area, unsigned count)
{
	return h && area && count ? h->ops->gnt_unmap(h, area, count) : -EINVAL;
}

struct xsl_gnt_pages *xsl_gnt_map_pages(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs,
					int writable, void **pages, int *err)
{
	int e;

	if (!err)
		err = &e;
	if (!h || !count || !refs || !pages) {
		*err = -EINVAL;
		return NULL;
	}
	*err = 0;
	return h->ops->gnt_map_pages(h, domid, count, refs, writable, pages, err);
}

int xsl_gnt_unmap_pages(struct xsl_hyp *h, struct xsl_gnt_pages *m)
{
	return h && m ? h->ops->gnt_unmap_pages(h, m) : -EINVAL;
}

int xsl_evt_alloc_unbound(struct xsl_hyp *h, unsigned remote_domid, uint32_t *port)
{
	return h && port ? h->ops->evt_alloc_unbound(h, remote_domid, port) : -EINVAL;
}

int xsl_evt_bind(struct xsl_hyp *h, unsigned remote_domid, uint32_t remote_port, uint32_t *local_port)
{
	return h && local_port ? h->ops->evt_bind(h, remote_domid, remote_port, local_port) : -EINVAL;
}

int xsl_evt_notify(struct xsl_hyp *h, uint32_t port)
{
	return h ? h->ops->evt_notify(h, port) : -EINVAL;
}

int xsl_evt_fd(struct xsl_hyp *h, uint32_t port)
{
	return h ? h->ops->evt_fd(h, port) : -EINVAL;
}

void xsl_evt_ack(struct xsl_hyp *h, uint32_t port)
{
	if (h)
		h->ops->evt_ack(h, port);
}

int xsl_evt_close(struct xsl_hyp *h, uint32_t port)
{
	return h ? h->ops->evt_close(h, port) : -EINVAL;
}

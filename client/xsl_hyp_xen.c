/*
 * Xen's side of the hypervisor handle: libxengnttab (mapping), libxengntshr
 * (sharing), libxenevtchn with a handle of its own per port, so that each
 * port has its own descriptor. Compiled and linked always, chosen at run
 * time; without Xen's devices it opens nothing (-ENOENT).
 */
#include "xsl_hyp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenevtchn.h>
#include <xengnttab.h>

/* Grants are of 4 KiB pages, whatever the mapper's page size. */
#define XEN_GNT_PAGE 4096u

struct xen_port {
	struct xen_port *next;
	xenevtchn_handle *xce;
	evtchn_port_t port;
};

struct xen_hyp {
	struct xsl_hyp base;
	xengnttab_handle *gt;
	xengntshr_handle *gs; /* NULL where sharing is not offered */
	struct xen_port *ports;
};

static const struct xsl_hyp_ops xen_ops;

static struct xen_hyp *X(struct xsl_hyp *h)
{
	return (struct xen_hyp *)h;
}

int xsl_hyp_xen_present(void)
{
	int fd = open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int xsl_hyp_xen_open(struct xsl_hyp **out, const struct xsl_hyp_opts *opts)
{
	struct xen_hyp *x;

	if (!xsl_hyp_xen_present())
		return -ENOENT;
	if (!(x = calloc(1, sizeof(*x))))
		return -ENOMEM;
	x->base.ops = &xen_ops;
	x->base.domid = opts->domid;
	if (!(x->gt = xengnttab_open(NULL, 0))) {
		int e = errno ? errno : ENOSYS;

		free(x);
		return -e;
	}
	x->gs = xengntshr_open(NULL, 0);
	*out = &x->base;
	return 0;
}

static void xen_close(struct xsl_hyp *h)
{
	struct xen_hyp *x = X(h);

	while (x->ports) {
		struct xen_port *p = x->ports;

		x->ports = p->next;
		xenevtchn_unbind(p->xce, p->port);
		xenevtchn_close(p->xce);
		free(p);
	}
	if (x->gs)
		xengntshr_close(x->gs);
	xengnttab_close(x->gt);
	free(x);
}

static void *xen_share(struct xsl_hyp *h, unsigned domid, unsigned count, int writable, uint32_t *refs,
		       int *err)
{
	void *p;

	if (!X(h)->gs) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	p = xengntshr_share_pages(X(h)->gs, domid, (int)count, refs, writable);
	*err = p ? 0 : (errno ? -errno : -ENOMEM);
	return p;
}

static int xen_unshare(struct xsl_hyp *h, void *area, unsigned count)
{
	if (!X(h)->gs)
		return -EOPNOTSUPP;
	return xengntshr_unshare(X(h)->gs, area, count) < 0 ? (errno ? -errno : -EINVAL) : 0;
}

/* Single pages of ordinary memory cannot be granted from user space on Xen: shared areas only. */
static void *xen_alloc(struct xsl_hyp *h, unsigned count, int *err)
{
	(void)h;
	(void)count;
	*err = -EOPNOTSUPP;
	return NULL;
}

static void xen_free(struct xsl_hyp *h, void *area, unsigned count)
{
	(void)h;
	(void)area;
	(void)count;
}

static int xen_grant(struct xsl_hyp *h, unsigned domid, void *page, int readonly, uint32_t *ref)
{
	(void)h;
	(void)domid;
	(void)page;
	(void)readonly;
	(void)ref;
	return -EOPNOTSUPP;
}

static int xen_end(struct xsl_hyp *h, uint32_t ref)
{
	(void)h;
	(void)ref;
	return -EOPNOTSUPP;
}

static void *xen_map(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs, int writable,
		     int *err)
{
	void *p = xengnttab_map_domain_grant_refs(X(h)->gt, count, domid, (uint32_t *)refs,
						  PROT_READ | (writable ? PROT_WRITE : 0));

	*err = p ? 0 : (errno ? -errno : -EPERM);
	return p;
}

static int xen_unmap(struct xsl_hyp *h, void *area, unsigned count)
{
	return xengnttab_unmap(X(h)->gt, area, count) < 0 ? (errno ? -errno : -EINVAL) : 0;
}

/* libxengnttab maps one area; its pages are handed out one by one. */
struct xsl_gnt_pages {
	void *area;
	unsigned count;
};

static struct xsl_gnt_pages *xen_map_pages(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs,
					   int writable, void **pages, int *err)
{
	struct xsl_gnt_pages *m = malloc(sizeof(*m));

	if (!m) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!(m->area = xen_map(h, domid, count, refs, writable, err))) {
		free(m);
		return NULL;
	}
	m->count = count;
	for (unsigned i = 0; i < count; i++)
		pages[i] = (char *)m->area + (size_t)i * XEN_GNT_PAGE;
	return m;
}

static int xen_unmap_pages(struct xsl_hyp *h, struct xsl_gnt_pages *m)
{
	int rc = xen_unmap(h, m->area, m->count);

	if (rc == 0)
		free(m);
	return rc;
}

static struct xen_port *port_find(struct xen_hyp *x, uint32_t port, struct xen_port ***pp)
{
	struct xen_port **q;

	for (q = &x->ports; *q; q = &(*q)->next)
		if ((*q)->port == port) {
			if (pp)
				*pp = q;
			return *q;
		}
	return NULL;
}

/* A handle of its own for each port: its descriptor fires for that port only. */
static int port_new(struct xen_hyp *x, unsigned remote, uint32_t remote_port, bool bind, uint32_t *out)
{
	struct xen_port *p = calloc(1, sizeof(*p));
	xenevtchn_port_or_error_t r;

	if (!p)
		return -ENOMEM;
	if (!(p->xce = xenevtchn_open(NULL, 0))) {
		int e = errno ? errno : ENOENT;

		free(p);
		return -e;
	}
	r = bind ? xenevtchn_bind_interdomain(p->xce, remote, remote_port)
		 : xenevtchn_bind_unbound_port(p->xce, remote);
	if (r < 0) {
		int e = errno ? errno : EINVAL;

		xenevtchn_close(p->xce);
		free(p);
		return -e;
	}
	p->port = (evtchn_port_t)r;
	p->next = x->ports;
	x->ports = p;
	*out = p->port;
	return 0;
}

static int xen_alloc_unbound(struct xsl_hyp *h, unsigned remote_domid, uint32_t *port)
{
	return port_new(X(h), remote_domid, 0, false, port);
}

static int xen_bind(struct xsl_hyp *h, unsigned remote_domid, uint32_t remote_port, uint32_t *local_port)
{
	return port_new(X(h), remote_domid, remote_port, true, local_port);
}

static int xen_notify(struct xsl_hyp *h, uint32_t port)
{
	struct xen_port *p = port_find(X(h), port, NULL);

	if (!p)
		return -EINVAL;
	return xenevtchn_notify(p->xce, port) < 0 ? (errno ? -errno : -EINVAL) : 0;
}

static int xen_evt_fd(struct xsl_hyp *h, uint32_t port)
{
	struct xen_port *p = port_find(X(h), port, NULL);

	return p ? xenevtchn_fd(p->xce) : -EINVAL;
}

static void xen_ack(struct xsl_hyp *h, uint32_t port)
{
	struct xen_port *p = port_find(X(h), port, NULL);
	xenevtchn_port_or_error_t r;

	/* The port stays masked until unmasked: what fires meanwhile waits, it is not lost. */
	if (p && (r = xenevtchn_pending(p->xce)) >= 0)
		xenevtchn_unmask(p->xce, (evtchn_port_t)r);
}

static int xen_evt_close(struct xsl_hyp *h, uint32_t port)
{
	struct xen_port **pp, *p = port_find(X(h), port, &pp);

	if (!p)
		return -EINVAL;
	*pp = p->next;
	xenevtchn_unbind(p->xce, port);
	xenevtchn_close(p->xce);
	free(p);
	return 0;
}

static const struct xsl_hyp_ops xen_ops = {
	.close = xen_close,
	.gnt_share = xen_share,
	.gnt_unshare = xen_unshare,
	.gnt_alloc = xen_alloc,
	.gnt_free = xen_free,
	.gnt_grant = xen_grant,
	.gnt_end = xen_end,
	.gnt_map = xen_map,
	.gnt_unmap = xen_unmap,
	.gnt_map_pages = xen_map_pages,
	.gnt_unmap_pages = xen_unmap_pages,
	.evt_alloc_unbound = xen_alloc_unbound,
	.evt_bind = xen_bind,
	.evt_notify = xen_notify,
	.evt_fd = xen_evt_fd,
	.evt_ack = xen_ack,
	.evt_close = xen_evt_close,
};

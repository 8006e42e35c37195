/* The Xen ring transport: a mapped ring page and an inter-domain event channel bound with libxenevtchn. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenevtchn.h>

#include "xsl_transport.h"

struct xen_evtchn {
	struct xsl_evtchn ev; /* first: the ring transport hands this back */
	xenevtchn_handle *xce;
	evtchn_port_t local;
};

static void xen_notify(struct xsl_evtchn *e)
{
	struct xen_evtchn *x = (struct xen_evtchn *)e;

	xenevtchn_notify(x->xce, x->local);
}

static void xen_ack(struct xsl_evtchn *e)
{
	struct xen_evtchn *x = (struct xen_evtchn *)e;
	xenevtchn_port_or_error_t p = xenevtchn_pending(x->xce);

	/* The port is masked until unmasked: what fires meanwhile waits, it is not lost. */
	if (p >= 0)
		xenevtchn_unmask(x->xce, (evtchn_port_t)p);
}

static void xen_close(struct xsl_evtchn *e)
{
	struct xen_evtchn *x = (struct xen_evtchn *)e;

	xenevtchn_unbind(x->xce, x->local);
	xenevtchn_close(x->xce);
	free(x);
}

static void unmap_page(struct xs_ring *r)
{
	munmap(r, XS_RING_PAGE);
}

int xsl_tr_xenring_open(void *page, const char *page_path, unsigned remote_domid,
			unsigned remote_port, struct xsl_transport **out)
{
	struct xen_evtchn *x;
	xenevtchn_port_or_error_t local;
	bool mapped = false;
	int err;

	if (!page) {
		int fd;

		if (!page_path)
			return -EINVAL;
		if ((fd = open(page_path, O_RDWR | O_CLOEXEC)) < 0)
			return -errno;
		page = mmap(NULL, XS_RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		err = errno;
		close(fd);
		if (page == MAP_FAILED)
			return -err;
		mapped = true;
	}
	err = -ENOMEM;
	if (!(x = calloc(1, sizeof(*x))))
		goto fail;
	if (!(x->xce = xenevtchn_open(NULL, 0))) {
		err = errno ? -errno : -ENODEV;
		goto fail;
	}
	if ((local = xenevtchn_bind_interdomain(x->xce, remote_domid, remote_port)) < 0) {
		err = errno ? -errno : -EIO;
		goto fail;
	}
	x->local = (evtchn_port_t)local;
	x->ev.port = x->local;
	x->ev.fd = xenevtchn_fd(x->xce);
	x->ev.notify = xen_notify;
	x->ev.ack = xen_ack;
	x->ev.close = xen_close;
	if ((err = xsl_tr_ring_open(page, &x->ev, mapped ? unmap_page : NULL, out)) < 0) {
		xen_close(&x->ev);
		x = NULL;
		goto fail;
	}
	return 0;
fail:
	if (x) {
		if (x->xce)
			xenevtchn_close(x->xce);
		free(x);
	}
	if (mapped)
		munmap(page, XS_RING_PAGE);
	return err;
}

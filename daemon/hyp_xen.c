/* The Xen hypervisor port: grant-mapped ring pages, event channels, domain state from libxenctrl. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "../proto/ring.h"
#include "hyp.h"
#include "log.h"

/* xen/grant_table.h: the grant every domain reserves for its store ring. */
#define XS_GRANT_REF 1

static xenevtchn_handle *xen_evtchn;
static xengnttab_handle *xen_gnttab;
static xc_interface *xen_ctrl;
static struct event *xen_ev;
static int xen_virq_port = -1;
static struct hyp_callbacks xen_cb;

bool hyp_xen_present(void)
{
	return access("/proc/xen/capabilities", R_OK) == 0 &&
	       (access("/dev/xen/evtchn", R_OK) == 0 || access("/proc/xen/evtchn", R_OK) == 0);
}

static void xen_evtchn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* Take every pending port; unmask before serving so that no notification is lost. */
	for (;;) {
		xenevtchn_port_or_error_t port = xenevtchn_pending(xen_evtchn);

		if (port < 0)
			return;
		xenevtchn_unmask(xen_evtchn, (evtchn_port_t)port);
		if (port == xen_virq_port)
			xen_cb.domains_changed();
		else
			xen_cb.port_ready((uint32_t)port);
	}
}

static void xen_close(void)
{
	if (xen_ev)
		event_free(xen_ev);
	xen_ev = NULL;
	if (xen_evtchn)
		xenevtchn_close(xen_evtchn);
	if (xen_gnttab)
		xengnttab_close(xen_gnttab);
	if (xen_ctrl)
		xc_interface_close(xen_ctrl);
	xen_evtchn = NULL;
	xen_gnttab = NULL;
	xen_ctrl = NULL;
}

static int xen_open(struct event_base *base, const struct hyp_callbacks *cb)
{
	xen_cb = *cb;
	xen_evtchn = xenevtchn_open(NULL, 0);
	xen_gnttab = xengnttab_open(NULL, 0);
	xen_ctrl = xc_interface_open(NULL, NULL, 0);
	if (!xen_evtchn || !xen_gnttab || !xen_ctrl)
		goto fail;
	xen_virq_port = xenevtchn_bind_virq(xen_evtchn, VIRQ_DOM_EXC);
	if (xen_virq_port < 0)
		goto fail;
	xen_ev = event_new(base, xenevtchn_fd(xen_evtchn), EV_READ | EV_PERSIST, xen_evtchn_cb, NULL);
	if (!xen_ev || event_add(xen_ev, NULL) < 0)
		goto fail;
	return 0;
fail:
	{
		int e = errno;

		xen_close();
		errno = e ? e : ENODEV;
	}
	return -1;
}

static struct xs_ring *xen_map_ring(uint32_t domid)
{
	return xengnttab_map_grant_ref(xen_gnttab, domid, XS_GRANT_REF, PROT_READ | PROT_WRITE);
}

static void xen_unmap_ring(uint32_t domid, struct xs_ring *ring)
{
	(void)domid;
	xengnttab_unmap(xen_gnttab, ring, 1);
}

static int xen_bind(uint32_t domid, uint32_t remote_port, uint32_t *local_port)
{
	xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(xen_evtchn, domid, remote_port);

	if (p < 0)
		return -1;
	*local_port = (uint32_t)p;
	return 0;
}

static void xen_unbind(uint32_t local_port)
{
	xenevtchn_unbind(xen_evtchn, local_port);
}

static void xen_notify(uint32_t local_port)
{
	xenevtchn_notify(xen_evtchn, local_port);
}

static enum hyp_domain_state xen_domain_state(uint32_t domid)
{
	xc_domaininfo_t info;

	if (xc_domain_getinfolist(xen_ctrl, domid, 1, &info) != 1 || info.domain != domid)
		return HYP_DOM_NONE;
	if (info.flags & XEN_DOMINF_dying)
		return HYP_DOM_DYING;
	if (info.flags & XEN_DOMINF_shutdown)
		return HYP_DOM_SHUTDOWN;
	return HYP_DOM_RUNNING;
}

/*
 * A domain's life: Xen has no number for it that a domid reused would not
 * repeat, so it is made of this boot's id (a domid of a boot before is
 * another domain) and the domain's handle (its UUID), FNV-1a hashed.
 */
static int xen_identify(uint32_t domid, uint64_t *incarnation)
{
	static char boot[64];
	xc_domaininfo_t info;
	uint64_t h = 14695981039346656037u;

	if (xc_domain_getinfolist(xen_ctrl, domid, 1, &info) != 1 || info.domain != domid ||
	    (info.flags & XEN_DOMINF_dying)) {
		errno = ENOENT;
		return -1;
	}
	if (!boot[0]) {
		int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, boot, sizeof(boot) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n <= 0)
			snprintf(boot, sizeof(boot), "unknown");
	}
	for (const char *p = boot; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	for (size_t i = 0; i < sizeof(info.handle); i++)
		h = (h ^ info.handle[i]) * 1099511628211u;
	*incarnation = h ? h : 1;
	return 0;
}

/* Linux dom0 offers its own store ring and port through /proc/xen. */
static int xen_own_ring(struct xs_ring **ring, uint32_t *port)
{
	char buf[32];
	int fd = open("/proc/xen/xsd_port", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	void *p;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*port = (uint32_t)strtoul(buf, NULL, 10);
	fd = open("/proc/xen/xsd_kva", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	p = mmap(NULL, XS_RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	*ring = p;
	return 0;
}

const struct hyp_ops hyp_xen = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.map_ring = xen_map_ring,
	.unmap_ring = xen_unmap_ring,
	.bind = xen_bind,
	.unbind = xen_unbind,
	.notify = xen_notify,
	.domain_state = xen_domain_state,
	.identify = xen_identify,
	.own_ring = xen_own_ring,
};

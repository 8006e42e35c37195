/* Domains: the hypervisor port in use, introduced domains and their rings, release and death. */
#include "domain.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../proto/path.h"
#include "../proto/ring.h"
#include "cleanup.h"
#include "config.h"
#include "grow.h"
#include "hyp.h"
#include "listener.h"
#include "log.h"
#include "quota.h"
#include "session.h"
#include "watch.h"

/* What the daemon supports, and offers a ring (server_features) unless SET_FEATURE said less. */
#define DOMAIN_FEATURES \
	(XS_RING_F_RECONNECTION | XS_RING_F_ERROR | XS_RING_F_WATCHDEPTH | XS_RING_F_DOMID_ANY)
/* A domain's features, set before its INTRODUCE and kept until it goes: FEATURES_SET | bits, or 0 for the default. */
#define FEATURES_SET 0x80u

struct domain {
	uint32_t domid;
	struct domain *next, *prev; /* introduced domains */
	struct session *session;
	struct xs_ring *ring;
	bool own_ring;              /* mapped from /proc/xen/xsd_kva, not a grant */
	uint32_t local_port;
	bool shutdown_reported;
};

static const struct hyp_ops *hyp;
static struct domain *domain_table[XS_DOMID_MAX + 1];
static struct domain *domain_list;
static unsigned domain_total;
static uint8_t domain_feature_table[XS_DOMID_MAX + 1];
/* Event channel -> domain, for the port callbacks. */
static struct domain **port_table;
static size_t port_table_size;

const char *domain_hyp_name(void)
{
	return hyp ? hyp->name : "none";
}

unsigned domain_count(void)
{
	return domain_total;
}

bool domain_exists(uint32_t domid)
{
	if (domid == cfg.priv_domid || domid == cfg.master_domid)
		return true;
	if (domid >= XS_DOMID_SELF)
		return false;
	if (domain_table[domid])
		return true;
	/* Without any hypervisor port every ordinary domid is taken to exist. */
	return hyp ? hyp->domain_state(domid) != HYP_DOM_NONE : true;
}

bool domain_is_introduced(uint32_t domid)
{
	/* The daemon's own domain is served from the start, ring or not (as in the C daemon). */
	return domid == cfg.master_domid || (domid <= XS_DOMID_MAX && domain_table[domid] != NULL);
}

unsigned domain_features_supported(void)
{
	return DOMAIN_FEATURES;
}

unsigned domain_features(uint32_t domid)
{
	uint8_t f = domid <= XS_DOMID_MAX ? domain_feature_table[domid] : 0;

	return f & FEATURES_SET ? f & ~FEATURES_SET : DOMAIN_FEATURES;
}

enum xs_err domain_set_features(uint32_t domid, unsigned features)
{
	if (!domain_exists(domid))
		return XSE_ENOENT;
	if (domain_is_introduced(domid))
		return XSE_EBUSY;
	if (features & ~DOMAIN_FEATURES)
		return XSE_EINVAL;
	domain_feature_table[domid] = (uint8_t)(FEATURES_SET | features);
	return XSE_OK;
}

static bool port_set(uint32_t port, struct domain *d)
{
	if (port >= port_table_size) {
		size_t old = port_table_size;

		if (!GROW(port_table, port_table_size, (size_t)port + 1, 64))
			return false;
		memset(port_table + old, 0, (port_table_size - old) * sizeof(*port_table));
	}
	port_table[port] = d;
	return true;
}

static void port_ready(uint32_t port)
{
	struct domain *d = port < port_table_size ? port_table[port] : NULL;

	if (d && d->session)
		session_ring_kick(d->session);
}

/* Ring notifications go through the port in use (a static adaptor for the ring's connection). */
static void notify_port(uint32_t port)
{
	hyp->notify(port);
}

static void unbind_port(struct domain *d)
{
	if (!d->local_port)
		return;
	if (d->local_port < port_table_size)
		port_table[d->local_port] = NULL;
	hyp->unbind(d->local_port);
	d->local_port = 0;
}

/* Bind remote_port of the domain (local: already bound to it, or 0). */
static enum xs_err bind_port(struct domain *d, uint32_t remote_port, uint32_t local)
{
	if (!local && hyp->bind(d->domid, remote_port, &local) < 0)
		return xs_err_from_errno(errno);
	if (!port_set(local, d)) {
		hyp->unbind(local);
		return XSE_ENOMEM;
	}
	d->local_port = local;
	if (d->session)
		session_ring_port(d->session, local);
	return XSE_OK;
}

static void domain_unmap(struct domain *d)
{
	if (!d->ring)
		return;
	if (d->own_ring)
		munmap(d->ring, XS_RING_PAGE);
	else
		hyp->unmap_ring(d->domid, d->ring);
	d->ring = NULL;
}

static void domain_free(struct domain *d)
{
	if (d->session)
		session_free(d->session);
	d->session = NULL;
	unbind_port(d);
	domain_unmap(d);
	if (d->prev)
		d->prev->next = d->next;
	else
		domain_list = d->next;
	if (d->next)
		d->next->prev = d->prev;
	domain_table[d->domid] = NULL;
	domain_total--;
	free(d);
}

/* bound: the local port already bound to the domain's port (0: bind it here). */
static enum xs_err domain_start(uint32_t domid, struct xs_ring *ring, bool own, uint32_t port, uint32_t bound)
{
	struct domain *d = calloc(1, sizeof(*d));
	enum xs_err err;

	if (!d || !quota_domain_new(domid)) {
		if (bound)
			hyp->unbind(bound);
		if (own)
			munmap(ring, XS_RING_PAGE);
		else
			hyp->unmap_ring(domid, ring);
		free(d);
		return XSE_ENOMEM;
	}
	d->domid = domid;
	d->ring = ring;
	d->own_ring = own;
	/* A port the hypervisor wrote into the page (dom0less) wins over the one given. */
	if (xs_ring_load(&ring->evtchn_port) && xs_ring_load(&ring->evtchn_port) != port) {
		port = xs_ring_load(&ring->evtchn_port);
		if (bound)
			hyp->unbind(bound);
		bound = 0;
	}
	err = bind_port(d, port, bound);
	if (err != XSE_OK) {
		domain_unmap(d);
		free(d);
		return err;
	}
	d->session = session_new_ring(ring, d->local_port, notify_port, domid, domid == cfg.priv_domid);
	if (!d->session) {
		unbind_port(d);
		domain_unmap(d);
		free(d);
		return XSE_ENOMEM;
	}
	domain_table[domid] = d;
	d->next = domain_list;
	if (domain_list)
		domain_list->prev = d;
	domain_list = d;
	domain_total++;
	xs_ring_store(&ring->server_features, domain_features(domid));
	session_ring_reset(d->session);
	log_info("domain %u introduced (port %u)", domid, d->local_port);
	return XSE_OK;
}

enum xs_err domain_introduce(uint32_t domid, uint32_t port)
{
	struct domain *d = domain_table[domid];
	struct xs_ring *ring;
	uint32_t local;
	enum xs_err err;
	int e;

	if (!hyp)
		return XSE_EINVAL; /* no hypervisor: no ring can be mapped */
	/* What the ring and event channel need: socket clients cannot have taken it. */
	listener_reserve_release();
	if (d) {
		/* Again: a new event channel, and the ring starts over. */
		unbind_port(d);
		err = bind_port(d, port, 0);
		listener_reserve_restore();
		if (err != XSE_OK)
			return err;
		session_ring_reset(d->session);
		return XSE_OK;
	}
	if (hyp->map_and_bind) {
		ring = hyp->map_and_bind(domid, port, &local);
	} else {
		ring = hyp->map_ring(domid);
		local = 0;
	}
	e = errno;
	listener_reserve_restore();
	if (!ring)
		return xs_err_from_errno(e);
	err = domain_start(domid, ring, false, port, local);
	if (err == XSE_OK && domid != cfg.priv_domid) {
		watch_fire_special_base("@introduceDomain");
		watch_fire_special_domain("@introduceDomain", domid);
	}
	return err;
}

/*
 * A domain is gone (released or dead): its connection goes at once, so
 * that it sees no more events; its nodes and @releaseDomain follow in the
 * clean-up queue (cleanup.h), which needs no memory to take it.
 */
static void domain_gone(struct domain *d)
{
	uint32_t id = d->domid;

	domain_free(d); /* its session's watches go first */
	/* A domain made again with this domid starts from the defaults (XSA-483). */
	quota_domain_gone(id);
	domain_feature_table[id] = 0;
	/* A device model acting for this domain loses those rights with it. */
	session_clear_target(id);
	cleanup_domains_gone(&id, 1);
}

enum xs_err domain_release(uint32_t domid)
{
	struct domain *d = domain_table[domid];

	if (!d)
		return XSE_ENOENT;
	if (!d->session)
		return XSE_EINVAL;
	domain_gone(d);
	return XSE_OK;
}

enum xs_err domain_resume(uint32_t domid)
{
	struct domain *d = domain_table[domid];

	if (!d)
		return XSE_ENOENT;
	if (!d->session)
		return XSE_EINVAL;
	d->shutdown_reported = false;
	return XSE_OK;
}

enum xs_err domain_set_target(uint32_t domid, uint32_t target)
{
	struct domain *d = domain_table[domid], *t = domain_table[target];

	if (!d || !t)
		return XSE_ENOENT;
	if (!d->session || !t->session)
		return XSE_EINVAL;
	session_set_target(d->session, target);
	return XSE_OK;
}

/* VIRQ_DOM_EXC: find the introduced domains that shut down or died. */
static void domains_changed(void)
{
	bool shutdown_seen = false;

	for (struct domain *d = domain_list, *next; d; d = next) {
		enum hyp_domain_state st = d->domid == cfg.master_domid
						   ? HYP_DOM_RUNNING
						   : hyp->domain_state(d->domid);

		next = d->next;
		if (st == HYP_DOM_NONE || st == HYP_DOM_DYING) {
			domain_gone(d); /* only d leaves the list */
		} else if (st == HYP_DOM_SHUTDOWN && !d->shutdown_reported) {
			d->shutdown_reported = true;
			shutdown_seen = true;
			watch_fire_special_domain("@releaseDomain", d->domid);
		}
	}
	if (shutdown_seen)
		watch_fire_special_base("@releaseDomain");
}

int domain_init(struct event_base *base, enum domain_hyp_choice choice)
{
	static const struct hyp_callbacks cb = {port_ready, domains_changed};
	struct xs_ring *ring;
	uint32_t port;

	if (cleanup_init(base) < 0)
		return -1;
	/* The daemon's own domain takes its quota values now (options and file applied). */
	if (!quota_domain_new(cfg.master_domid)) {
		log_warnx("out of memory for the quotas of domain %u", cfg.master_domid);
		return -1;
	}
	if (choice == DOMAIN_HYP_NONE)
		return 0;
	if (choice == DOMAIN_HYP_XEN || (choice == DOMAIN_HYP_AUTO && hyp_xen_present()))
		hyp = &hyp_xen;
	else
		hyp = &hyp_sim;
	if (hyp->open(base, &cb) < 0) {
		log_warnx("cannot open the %s hypervisor port: %s", hyp->name, strerror(errno));
		hyp = NULL;
		return -1;
	}
	log_info("hypervisor port: %s", hyp->name);
	/* The daemon's own domain talks to it through a ring too, where the system offers one. */
	if (hyp->own_ring(&ring, &port) == 0 &&
	    domain_start(cfg.master_domid, ring, true, port, 0) != XSE_OK)
		log_warnx("cannot serve the ring of domain %u", cfg.master_domid);
	return 0;
}

void domain_fini(void)
{
	cleanup_fini();
	while (domain_list)
		domain_free(domain_list);
	if (hyp)
		hyp->close();
	hyp = NULL;
	free(port_table);
	port_table = NULL;
	port_table_size = 0;
	memset(domain_feature_table, 0, sizeof(domain_feature_table));
}

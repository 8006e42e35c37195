/*
 * The simulated hypervisor port: the daemon as one client of xs-simhyp
 * (docs/SIMHYP.md), acting for dom0 as the store domain. A ring is grant
 * reference 1 of its domain, mapped; an event channel is bound to the port
 * the domain left unbound for us; notifications go straight into the peer's
 * eventfd; domain states come from a subscription, kept in a table here.
 */
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../proto/ring.h"
#include "../proto/wire.h"
#include "../simhyp/simhyp_call.h"
#include "config.h"
#include "grow.h"
#include "hyp.h"
#include "log.h"

/* What the subscription said of a domain. */
enum { DS_UNKNOWN = 0, DS_NONE, DS_RUNNING, DS_SHUTDOWN };

/* A mapped store ring: which incarnation of its domain, the hypervisor's handle. */
struct sim_ring {
	void *page;
	uint64_t inc;
	uint32_t handle;
};

struct sim_port {
	int efd;          /* readable when notified */
	struct event *ev;
	int peer_fd;      /* the guest's port's eventfd as of gen; -1 unbound */
	uint32_t gen;
	bool known;
	unsigned world;   /* the hypervisor connection it was bound on */
};

static struct event_base *sim_base;
static struct hyp_callbacks sim_cb;
static int call_fd = -1, sub_fd = -1;
static struct event *sub_ev;
/* Replies to requests nobody waits for, still to come on call_fd (call_async). */
static unsigned discard_pending;
static struct event *discard_ev;
static void discard_cb(evutil_socket_t fd, short what, void *arg);
/* Changes are reported once per pass of the loop, after what it read: VIRQ_DOM_EXC's coalescing. */
static struct event *virq_ev;
static uint32_t *shinfo;
static size_t shinfo_size;
static uint32_t ports_max;
static unsigned world; /* counts connections to a hypervisor */
static bool warned_absent;
/* The subscription's table, per domid, and the rings mapped. */
static uint8_t *dstate;
static uint64_t *dinc;
static struct sim_ring **rings;
static struct sim_port *ports;
static size_t nports;

static void sim_disconnect(const char *why)
{
	if (call_fd < 0)
		return;
	log_warnx("simulated hypervisor %s: %s; rings already served go on, new ones wait for it",
		  cfg.simhyp_path, why);
	if (sub_ev)
		event_free(sub_ev);
	sub_ev = NULL;
	if (discard_ev)
		event_free(discard_ev);
	discard_ev = NULL;
	discard_pending = 0;
	close(call_fd);
	if (sub_fd >= 0)
		close(sub_fd);
	call_fd = sub_fd = -1;
	/* As without a hypervisor: every domain is taken to exist. */
	memset(dstate, 0, (size_t)SIMHYP_DOMID_MAX + 1);
}

/*
 * Take a notice into the table: -1 if it is no notice; 1 if it tells of a
 * domain shutting down or gone, or of one whose ring we map (VIRQ_DOM_EXC
 * fires for those), else 0.
 */
static int take_notice(const unsigned char *buf, ssize_t n, bool *synced)
{
	const struct simhyp_notice *m = (const void *)buf;
	const struct simhyp_domstate *e = (const void *)(m + 1);
	int news = 0;

	if (n < (ssize_t)sizeof(*m) || m->h.magic != SIMHYP_MAGIC || m->h.op != SIMHYP_NOTICE ||
	    m->count > SIMHYP_NOTICE_ENTRIES_MAX || (size_t)n != sizeof(*m) + m->count * sizeof(*e))
		return -1;
	for (uint32_t i = 0; i < m->count; i++) {
		if (e[i].domid > SIMHYP_DOMID_MAX)
			continue;
		dstate[e[i].domid] = e[i].state == SIMHYP_DOM_RUNNING	 ? DS_RUNNING
				     : e[i].state == SIMHYP_DOM_SHUTDOWN ? DS_SHUTDOWN
									 : DS_NONE;
		dinc[e[i].domid] = e[i].incarnation;
		if (e[i].state != SIMHYP_DOM_RUNNING || rings[e[i].domid])
			news = 1;
	}
	if (synced && (m->flags & SIMHYP_NOTICE_SYNCED))
		*synced = true;
	return news;
}

/* Take the notices waiting on the subscription (no waiting): whether any was news (see take_notice). */
static bool sub_drain(void)
{
	static unsigned char buf[sizeof(struct simhyp_notice) +
				 SIMHYP_NOTICE_ENTRIES_MAX * sizeof(struct simhyp_domstate)];
	bool changed = false;

	for (int i = 0; i < 64 && sub_fd >= 0; i++) {
		ssize_t n = simhyp_recv_notice(sub_fd, buf, sizeof(buf));

		if (n == -EAGAIN)
			break;
		int news = n > 0 ? take_notice(buf, n, NULL) : -1;

		if (news < 0) {
			sim_disconnect(n == 0 ? "gone" : "sent garbage");
			news = 1;
		}
		changed |= news > 0;
	}
	/* Like VIRQ_DOM_EXC: every domain of interest is looked at, once this pass of the loop is done. */
	if (changed)
		event_active(virq_ev, EV_TIMEOUT, 0);
	return changed;
}

static void sub_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sub_drain();
}

static void virq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sim_cb.domains_changed();
}

/* Connect (calls and the subscription) if not connected: 0, or -1 with errno. */
static int sim_connect(void)
{
	struct simhyp_attach at = {.domid = 0};
	struct simhyp_domain_reply r;
	struct simhyp_hdr sub;
	struct simhyp_reply_hdr sr;
	int rfds[SIMHYP_FDS_MAX], rc, fd;
	unsigned nfds = SIMHYP_FDS_MAX;
	bool synced = false;
	void *p;

	if (call_fd >= 0)
		return 0;
	if ((fd = simhyp_connect(cfg.simhyp_path)) < 0) {
		if (!warned_absent)
			log_info("no simulated hypervisor at %s (%s): socket only until one is there",
				 cfg.simhyp_path, strerror(-fd));
		warned_absent = true;
		errno = -fd == ENOENT || -fd == ECONNREFUSED ? ENOENT : -fd;
		return -1;
	}
	rc = simhyp_call(fd, SIMHYP_ATTACH, &at, sizeof(at), NULL, 0, &r, sizeof(r), rfds, &nfds);
	if (rc != (int)sizeof(r) || nfds != 1) {
		for (unsigned i = 0; rc >= 0 && i < nfds; i++)
			close(rfds[i]);
		close(fd);
		errno = rc < 0 ? -rc : EPROTO;
		return -1;
	}
	p = mmap(NULL, r.shinfo_size, PROT_READ, MAP_SHARED, rfds[0], 0);
	close(rfds[0]);
	if (p == MAP_FAILED || r.shinfo_size < (size_t)r.ports_max * sizeof(uint32_t)) {
		if (p != MAP_FAILED)
			munmap(p, r.shinfo_size);
		close(fd);
		errno = EPROTO;
		return -1;
	}
	/* The shared info of a hypervisor before stays mapped: ports bound there still read it. */
	shinfo = p;
	shinfo_size = r.shinfo_size;
	ports_max = r.ports_max;
	call_fd = fd;
	world++;
	discard_ev = event_new(sim_base, call_fd, EV_READ | EV_PERSIST, discard_cb, NULL);
	if (!discard_ev) {
		sim_disconnect("no memory");
		errno = ENOMEM;
		return -1;
	}
	/* The subscription: a snapshot of every domain, waited for, then notices as they come. */
	if ((sub_fd = simhyp_connect(cfg.simhyp_path)) < 0 ||
	    simhyp_call(sub_fd, SIMHYP_ATTACH, &at, sizeof(at), NULL, 0, &r, sizeof(r), NULL, NULL) < 0 ||
	    simhyp_call(sub_fd, SIMHYP_SUBSCRIBE, &sub, sizeof(sub), NULL, 0, &sr, sizeof(sr), NULL, NULL) < 0) {
		sim_disconnect("refused the subscription");
		errno = EPROTO;
		return -1;
	}
	while (!synced) {
		static unsigned char buf[sizeof(struct simhyp_notice) +
					 SIMHYP_NOTICE_ENTRIES_MAX * sizeof(struct simhyp_domstate)];
		struct pollfd pf = {.fd = sub_fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pf, 1, SIMHYP_CALL_TIMEOUT_MS) != 1 ||
		    (n = simhyp_recv_notice(sub_fd, buf, sizeof(buf))) <= 0 || take_notice(buf, n, &synced) < 0) {
			sim_disconnect("sent no snapshot of the domains");
			errno = EPROTO;
			return -1;
		}
	}
	sub_ev = event_new(sim_base, sub_fd, EV_READ | EV_PERSIST, sub_cb, NULL);
	if (!sub_ev || event_add(sub_ev, NULL) < 0) {
		sim_disconnect("no memory");
		errno = ENOMEM;
		return -1;
	}
	warned_absent = false;
	log_info("simulated hypervisor: %s", cfg.simhyp_path);
	return 0;
}

static int sim_open(struct event_base *base, const struct hyp_callbacks *cb)
{
	sim_base = base;
	sim_cb = *cb;
	dstate = calloc((size_t)SIMHYP_DOMID_MAX + 1, 1);
	dinc = calloc((size_t)SIMHYP_DOMID_MAX + 1, sizeof(*dinc));
	rings = calloc((size_t)SIMHYP_DOMID_MAX + 1, sizeof(*rings));
	virq_ev = event_new(base, -1, 0, virq_cb, NULL);
	if (!dstate || !dinc || !rings || !virq_ev)
		return -1;
	/* None there yet is no failure: the daemon serves its socket and connects on the first INTRODUCE. */
	if (sim_connect() < 0 && errno != ENOENT)
		log_warnx("simulated hypervisor %s: %s", cfg.simhyp_path, strerror(errno));
	return 0;
}

static void sim_close(void)
{
	for (size_t p = 0; p < nports; p++)
		if (ports[p].ev) {
			event_free(ports[p].ev);
			close(ports[p].efd);
			if (ports[p].peer_fd >= 0)
				close(ports[p].peer_fd);
		}
	free(ports);
	ports = NULL;
	nports = 0;
	for (uint32_t d = 0; rings && d <= SIMHYP_DOMID_MAX; d++)
		if (rings[d]) {
			munmap(rings[d]->page, XS_RING_PAGE);
			free(rings[d]);
		}
	if (sub_ev)
		event_free(sub_ev);
	sub_ev = NULL;
	if (discard_ev)
		event_free(discard_ev);
	discard_ev = NULL;
	if (virq_ev)
		event_free(virq_ev);
	virq_ev = NULL;
	if (call_fd >= 0)
		close(call_fd);
	if (sub_fd >= 0)
		close(sub_fd);
	call_fd = sub_fd = -1;
	if (shinfo)
		munmap(shinfo, shinfo_size);
	shinfo = NULL;
	free(dstate);
	free(dinc);
	free(rings);
	dstate = NULL;
	dinc = NULL;
	rings = NULL;
}

/* A call's result looked at: a hypervisor gone (or not answering, or garbled) is let go. */
static int checked(int rc)
{
	if (rc == -ECONNRESET || rc == -EPIPE || rc == -ETIMEDOUT || rc == -EPROTO) {
		sim_disconnect(rc == -ETIMEDOUT ? "does not answer" : "gone");
		event_active(virq_ev, EV_TIMEOUT, 0);
	}
	return rc;
}

/*
 * Requests whose replies nobody waits for (a port closed, a mapping given
 * back: they cannot fail in a way that matters), sent at once and their
 * replies read later, in order: by the loop when they come, or before the
 * next call that waits. Bounded, so that neither side's socket ever fills.
 */
#define DISCARD_MAX 64

/* Read replies to discard: all of them (waiting), or those there now. */
static void discard_replies(bool wait)
{
	while (discard_pending && call_fd >= 0) {
		int n = simhyp_recv_discard(call_fd, wait);

		if (n == -EAGAIN)
			break;
		if (n < 0) {
			checked(n == -ETIMEDOUT ? n : -ECONNRESET);
			break;
		}
		discard_pending--;
	}
	if (!discard_pending && discard_ev)
		event_del(discard_ev);
}

static void discard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	discard_replies(false);
}

static void call_async(uint16_t op, void *req, size_t len)
{
	if (call_fd < 0)
		return;
	if (discard_pending >= DISCARD_MAX)
		discard_replies(true);
	if (call_fd >= 0 && checked(simhyp_send_req(call_fd, op, req, len, NULL, 0)) == 0 && !discard_pending++ &&
	    discard_ev)
		event_add(discard_ev, NULL);
}

static int call(uint16_t op, void *req, size_t len, void *rep, size_t replen, int *fds, unsigned *nfds)
{
	discard_replies(true);
	if (call_fd < 0)
		return -ECONNRESET;
	return checked(simhyp_call(call_fd, op, req, len, NULL, 0, rep, replen, fds, nfds));
}

static void unmap_handle(uint32_t domid, uint64_t inc, uint32_t handle)
{
	union {
		unsigned char b[sizeof(struct simhyp_unmap) + sizeof(uint32_t)];
		struct simhyp_unmap u;
	} req;

	memset(&req, 0, sizeof(req));
	req.u.domid = domid;
	req.u.count = 1;
	req.u.flags = SIMHYP_UNMAP_FORGET;
	req.u.incarnation = inc;
	memcpy(req.b + sizeof(req.u), &handle, sizeof(handle));
	if (call_fd >= 0)
		call_async(SIMHYP_UNMAP, &req, sizeof(req.b));
}

/* MAP of reference 1 (GNTTAB_RESERVED_XENSTORE), writable. */
struct map_req {
	struct simhyp_map m;
	uint32_t ref;
};
struct map_rep {
	struct simhyp_map_reply r;
	struct simhyp_map_entry e;
};
_Static_assert(sizeof(struct map_req) == sizeof(struct simhyp_map) + sizeof(uint32_t), "MAP request packed");

static void map_req_init(struct map_req *q, uint32_t domid)
{
	memset(q, 0, sizeof(*q));
	q->m.domid = domid;
	q->m.count = 1;
	q->m.flags = SIMHYP_MAP_WRITABLE;
	q->ref = 1;
}

/* 0, or -1 with errno: the domid is one we may map now, and the hypervisor is there. */
static int ring_mappable(uint32_t domid)
{
	if (domid == 0 || domid > SIMHYP_DOMID_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (sim_connect() < 0)
		return -1;
	if (rings[domid]) {
		errno = EBUSY;
		return -1;
	}
	return 0;
}

/*
 * A MAP's reply taken: the ring page mapped (the granter's memory came with
 * the reply; we never keep it past an unmap), or NULL with errno. Without
 * the memory (the hypervisor thinks we hold it) the handle is given back
 * with FORGET and MAP asked once more.
 */
static struct xs_ring *map_take(uint32_t domid, int rc, struct map_rep *rep, int *fds, unsigned nfds, bool retry)
{
	struct sim_ring *sr;
	void *p;

	if (rc >= 0 && (rc != (int)sizeof(*rep) || rep->r.count != 1)) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		rc = -EPROTO;
	} else if (rc >= 0 && nfds != 1) {
		unmap_handle(domid, rep->r.incarnation, rep->e.handle);
		if (retry && call_fd >= 0) {
			struct map_req q;

			map_req_init(&q, domid);
			nfds = SIMHYP_FDS_MAX;
			rc = call(SIMHYP_MAP, &q, sizeof(q), rep, sizeof(*rep), fds, &nfds);
			return map_take(domid, rc, rep, fds, nfds, false);
		}
		rc = -EPROTO;
	}
	if (rc < 0) {
		/* No such domain (never made, or gone): nothing to map. */
		errno = rc == -ESRCH ? ENOENT : -rc;
		return NULL;
	}
	p = mmap(NULL, XS_RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], (off_t)rep->e.frame * SIMHYP_PAGE);
	close(fds[0]);
	if (p == MAP_FAILED || !(sr = calloc(1, sizeof(*sr)))) {
		int e = p == MAP_FAILED ? errno : ENOMEM;

		if (p != MAP_FAILED)
			munmap(p, XS_RING_PAGE);
		unmap_handle(domid, rep->r.incarnation, rep->e.handle);
		errno = e;
		return NULL;
	}
	sr->page = p;
	sr->inc = rep->r.incarnation;
	sr->handle = rep->e.handle;
	rings[domid] = sr;
	return p;
}

static struct xs_ring *sim_map_ring(uint32_t domid)
{
	struct map_req q;
	struct map_rep rep;
	int fds[SIMHYP_FDS_MAX], rc;
	unsigned nfds = SIMHYP_FDS_MAX;

	if (ring_mappable(domid) < 0)
		return NULL;
	map_req_init(&q, domid);
	rc = call(SIMHYP_MAP, &q, sizeof(q), &rep, sizeof(rep), fds, &nfds);
	return map_take(domid, rc, &rep, fds, nfds, true);
}

static void sim_unmap_ring(uint32_t domid, struct xs_ring *ring)
{
	struct sim_ring *sr = domid <= SIMHYP_DOMID_MAX ? rings[domid] : NULL;

	munmap(ring, XS_RING_PAGE);
	if (!sr)
		return;
	rings[domid] = NULL;
	unmap_handle(domid, sr->inc, sr->handle);
	free(sr);
}

static void sim_port_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	/* Reading the counter takes every pending notification at once: they coalesce. */
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	sim_cb.port_ready((uint32_t)(uintptr_t)arg);
}

/* A BIND's reply taken: 0 and the local port (watched, its peer's eventfd kept), or -1 with errno. */
static int bind_take(int rc, struct simhyp_port_reply *r, int *fds, unsigned nfds, uint32_t *local_port)
{
	struct simhyp_port_req cl;
	struct sim_port *p;

	if (rc < 0) {
		/* ESRCH: no such domain; EINVAL: no port of it left unbound for us. */
		errno = rc == -ESRCH ? ENOENT : -rc;
		return -1;
	}
	if (rc != (int)sizeof(*r) || nfds != 2 || r->port == 0 || r->port >= ports_max) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		errno = EPROTO;
		return -1;
	}
	if (r->port >= nports) {
		size_t old = nports;

		if (!GROW(ports, nports, (size_t)r->port + 1, 64))
			goto fail;
		memset(ports + old, 0, (nports - old) * sizeof(*ports));
	}
	p = &ports[r->port];
	if (p->ev) {
		/* A port we think we hold: an older hypervisor's, gone with it. */
		event_free(p->ev);
		close(p->efd);
		if (p->peer_fd >= 0)
			close(p->peer_fd);
	}
	/* The guest's port's eventfd came with the reply: the first notification needs no round trip. */
	*p = (struct sim_port){.efd = fds[0], .peer_fd = fds[1], .gen = r->gen, .known = true, .world = world};
	p->ev = event_new(sim_base, p->efd, EV_READ | EV_PERSIST, sim_port_cb, (void *)(uintptr_t)r->port);
	if (!p->ev || event_add(p->ev, NULL) < 0) {
		if (p->ev)
			event_free(p->ev);
		*p = (struct sim_port){.efd = -1, .peer_fd = -1};
		goto fail;
	}
	*local_port = r->port;
	return 0;
fail:
	close(fds[0]);
	close(fds[1]);
	cl = (struct simhyp_port_req){.port = r->port};
	call_async(SIMHYP_EVT_CLOSE, &cl, sizeof(cl));
	errno = ENOMEM;
	return -1;
}

static int sim_bind(uint32_t domid, uint32_t remote_port, uint32_t *local_port)
{
	struct simhyp_evt_bind req = {.remote_domid = domid, .remote_port = remote_port};
	struct simhyp_port_reply r;
	int fds[SIMHYP_FDS_MAX], rc;
	unsigned nfds = SIMHYP_FDS_MAX;

	if (sim_connect() < 0)
		return -1;
	rc = call(SIMHYP_EVT_BIND, &req, sizeof(req), &r, sizeof(r), fds, &nfds);
	return bind_take(rc, &r, fds, nfds, local_port);
}

static void sim_unbind(uint32_t local_port);

/* INTRODUCE's MAP and BIND on their way together: one wait for the hypervisor instead of two. */
static struct xs_ring *sim_map_and_bind(uint32_t domid, uint32_t remote_port, uint32_t *local_port)
{
	struct map_req mq;
	struct map_rep mrep;
	struct simhyp_evt_bind bq = {.remote_domid = domid, .remote_port = remote_port};
	struct simhyp_port_reply brep;
	int mfds[SIMHYP_FDS_MAX], bfds[SIMHYP_FDS_MAX], mrc, brc = -ECONNRESET, b, e;
	unsigned mn = SIMHYP_FDS_MAX, bn = SIMHYP_FDS_MAX;
	struct xs_ring *ring;

	if (ring_mappable(domid) < 0)
		return NULL;
	map_req_init(&mq, domid);
	discard_replies(true);
	if (call_fd < 0) {
		errno = ENOENT;
		return NULL;
	}
	mrc = checked(simhyp_send_req(call_fd, SIMHYP_MAP, &mq, sizeof(mq), NULL, 0));
	if (mrc == 0 && (brc = checked(simhyp_send_req(call_fd, SIMHYP_EVT_BIND, &bq, sizeof(bq), NULL, 0))) == 0) {
		mrc = checked(simhyp_recv_reply(call_fd, &mq, &mrep, sizeof(mrep), mfds, &mn));
		brc = call_fd >= 0 ? checked(simhyp_recv_reply(call_fd, &bq, &brep, sizeof(brep), bfds, &bn))
				   : -ECONNRESET;
	} else {
		mrc = mrc ? mrc : brc;
		mn = 0;
	}
	if (brc < 0)
		bn = 0;
	/* Both replies are in: a MAP asked again (map_take) meets no reply of BIND's. */
	ring = map_take(domid, mrc, &mrep, mfds, mn, true);
	e = errno;
	b = bind_take(brc, &brep, bfds, bn, local_port);
	if (!ring) {
		if (b == 0)
			sim_unbind(*local_port);
		errno = e;
		return NULL;
	}
	if (b < 0) {
		e = errno;
		sim_unmap_ring(domid, ring);
		errno = e;
		return NULL;
	}
	return ring;
}

static void sim_unbind(uint32_t local_port)
{
	struct sim_port *p = local_port < nports ? &ports[local_port] : NULL;
	struct simhyp_port_req req = {.port = local_port};

	if (!p || !p->ev)
		return;
	/* The guest's port goes back to unbound for us: a later INTRODUCE binds it again. */
	if (p->world == world && call_fd >= 0)
		call_async(SIMHYP_EVT_CLOSE, &req, sizeof(req));
	event_free(p->ev);
	close(p->efd);
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	*p = (struct sim_port){.efd = -1, .peer_fd = -1};
}

static void sim_notify(uint32_t local_port)
{
	struct sim_port *p = local_port < nports ? &ports[local_port] : NULL;
	uint64_t one = 1;

	if (!p || !p->ev)
		return;
	/* One load: has the peer changed since we asked? Only then the hypervisor is asked again. */
	if (p->world == world && call_fd >= 0 &&
	    (!p->known || __atomic_load_n(&shinfo[local_port], __ATOMIC_ACQUIRE) != p->gen)) {
		struct simhyp_port_req req = {.port = local_port};
		struct simhyp_peer_reply r;
		int fds[SIMHYP_FDS_MAX];
		unsigned nfds = SIMHYP_FDS_MAX;

		if (call(SIMHYP_EVT_PEER, &req, sizeof(req), &r, sizeof(r), fds, &nfds) == (int)sizeof(r)) {
			if (p->peer_fd >= 0)
				close(p->peer_fd);
			p->peer_fd = nfds == 1 ? fds[0] : -1;
			p->gen = r.gen;
			p->known = true;
		}
	}
	if (p->peer_fd >= 0 && write(p->peer_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("simhyp: notify port %u: %s", local_port, strerror(errno));
}

static enum hyp_domain_state sim_domain_state(uint32_t domid)
{
	const struct sim_ring *r;

	if (domid > SIMHYP_DOMID_MAX)
		return HYP_DOM_NONE;
	/*
	 * Dead, as last told: made again since? The hypervisor sends its notice
	 * before it answers whoever made the domain, so a toolstack naming it
	 * now finds the notice waiting here.
	 */
	if (dstate[domid] == DS_NONE)
		sub_drain();
	r = rings[domid];
	/*
	 * A domain whose ring we map is the incarnation we mapped: gone when the
	 * hypervisor says that one died (NONE names the last one there was) or
	 * a later one runs under its domid.
	 */
	if (r && dstate[domid] != DS_UNKNOWN) {
		if (dinc[domid] > r->inc || (dstate[domid] == DS_NONE && dinc[domid] >= r->inc))
			return HYP_DOM_NONE;
		if (dinc[domid] < r->inc)
			return HYP_DOM_RUNNING; /* its creation's notice is still on its way */
	}
	switch (dstate[domid]) {
	case DS_NONE:
		return HYP_DOM_NONE;
	case DS_SHUTDOWN:
		return HYP_DOM_SHUTDOWN;
	case DS_RUNNING:
		return HYP_DOM_RUNNING;
	default:
		/*
		 * A domain the hypervisor never told of is taken to exist, so that a
		 * toolstack on a machine without Xen can name any domain in
		 * permissions (as the reference does under XSSHIM_DOMAINS=all); one
		 * that died does not.
		 */
		return HYP_DOM_RUNNING;
	}
}

static int sim_identify(uint32_t domid, uint64_t *incarnation)
{
	if (domid > SIMHYP_DOMID_MAX) {
		errno = ENOENT;
		return -1;
	}
	if (sim_connect() < 0) {
		errno = ENOTCONN;
		return -1;
	}
	sub_drain();
	/* The subscription's snapshot names every domain there is or was: one it never named never was. */
	if (dstate[domid] != DS_RUNNING && dstate[domid] != DS_SHUTDOWN) {
		errno = ENOENT;
		return -1;
	}
	*incarnation = dinc[domid];
	return 0;
}

static int sim_own_ring(struct xs_ring **ring, uint32_t *port)
{
	(void)ring;
	(void)port;
	return -1;
}

const struct hyp_ops hyp_sim = {
	.name = "simulated",
	.open = sim_open,
	.close = sim_close,
	.map_ring = sim_map_ring,
	.unmap_ring = sim_unmap_ring,
	.bind = sim_bind,
	.unbind = sim_unbind,
	.map_and_bind = sim_map_and_bind,
	.notify = sim_notify,
	.domain_state = sim_domain_state,
	.identify = sim_identify,
	.own_ring = sim_own_ring,
};

/*
 * xs-simhyp: the simulated hypervisor, a process of its own (docs/SIMHYP.md).
 * Domains, their memory and grant tables, event channels and domain-state
 * notices, served to every simulated domain and to dom0's processes (the
 * store among them) over one SOCK_SEQPACKET socket. Single-threaded, one
 * libevent loop; every request is answered at once, nothing waits on a
 * client.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "../proto/simhyp.h"
#include "simhyp_call.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* The limits in force (options); each at most the protocol's. */
static struct {
	unsigned domains;    /* live domains besides dom0 */
	unsigned ports;      /* ports of a domain other than dom0 are 1 .. ports - 1 (dom0: SIMHYP_PORTS_MAX) */
	unsigned gnt_frames; /* grant-table pages of a domain */
	unsigned mem_pages;  /* memory pages of a domain */
	unsigned maps;       /* grant mappings held by one connection */
	unsigned maps_total; /* by all connections together */
	unsigned conns;      /* connections */
	bool verbose;
} lim = {4096, 1024, SIMHYP_GNT_FRAMES_MAX, SIMHYP_MEM_PAGES_MAX, 65536, 1u << 20, 16384, false};

enum port_state { PORT_FREE = 0, PORT_UNBOUND, PORT_INTERDOMAIN };

struct port {
	uint8_t state;
	uint32_t rdom;  /* UNBOUND: who may bind; INTERDOMAIN: the peer's domain */
	uint32_t rport; /* INTERDOMAIN: the peer's port */
	int efd;        /* the receive side: an eventfd, readable while a notification is pending */
	/*
	 * A port made unbound: the eventfd its binder will receive on, made with
	 * it and kept for its life (each binder in turn gets it). Its owner
	 * notifies into it, bound or not: the binder finds what was sent before,
	 * as on Xen, and the owner never asks again who its peer is. -1: none
	 * (a port left unbound by its peer's close; its next binder gets a fresh
	 * one and its owner asks again).
	 */
	int resv_efd;
	struct conn *owner;
};

struct dom {
	uint32_t domid;
	uint64_t inc;
	uint32_t state; /* SIMHYP_DOM_* */
	struct conn *owner;      /* the CREATE connection: the domain's life (dom0: its memory's) */
	int mem_fd;              /* -1: no memory */
	uint32_t mem_pages;
	struct grant_entry_v1 *gt;
	uint32_t nr_grefs;
	size_t gt_size;
	uint32_t *rcount, *wcount; /* mappings of each reference, all and writable */
	int shinfo_fd;
	uint32_t *shinfo;          /* a generation per port */
	size_t shinfo_size;
	struct port *ports;
	uint32_t ports_max; /* its limit */
	uint32_t ports_cap, ports_used, port_hint;
};

struct mapping {
	uint32_t domid, ref;
	uint64_t inc;
	uint8_t used, writable;
	uint8_t marked; /* named by the UNMAP being checked (a handle twice in one batch) */
	uint32_t next_free;
};

struct memsent {
	uint32_t domid;
	uint64_t inc;
};

struct conn {
	int fd;
	struct event *ev;
	struct conn *next, *prev;
	struct dom *dom;         /* the domain it acts for (NULL before CREATE or ATTACH) */
	uint64_t dom_inc;
	bool owner, subscriber, dead;
	struct mapping *maps;
	uint32_t maps_cap, maps_used, maps_free; /* free list: index + 1, 0 ends */
	struct memsent *sent;
	size_t nsent, sent_cap;
	/* One reply that found the socket full: nothing more is read until it is gone. */
	unsigned char *pend;
	size_t pend_len;
	int pend_fds[SIMHYP_FDS_MAX];
	unsigned pend_nfds;
	/* A subscriber: domains whose state it has yet to hear. */
	uint8_t *dirty;
	bool any_dirty, synced;
};

static struct event_base *base;
static struct dom *doms[SIMHYP_DOMID_MAX + 1];
static unsigned ndoms; /* besides dom0 */
/* The incarnation each domid last had, once destroyed: notices of its death name it. */
static uint64_t last_inc[SIMHYP_DOMID_MAX + 1];
static uint64_t next_inc; /* from the clock at start: another run's incarnations are older */
static struct conn *conns;
static unsigned nconns;
static struct event *flush_ev;
static unsigned maps_total; /* mappings held by every connection */
static int listen_fd = -1;
static struct event *listen_ev, *resume_ev;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void logmsg(bool debug, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(bool debug, const char *fmt, ...)
{
	va_list ap;

	if (debug && !lim.verbose)
		return;
	va_start(ap, fmt);
	fputs("xs-simhyp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- domains ---- */

static void gen_bump(struct dom *d, uint32_t port)
{
	if (d->shinfo && port < d->ports_max)
		__atomic_add_fetch(&d->shinfo[port], 1, __ATOMIC_SEQ_CST);
}

static void flush_subscriber(struct conn *c);

/*
 * Tell the subscribers, at once: a notice is in the store's socket before
 * the reply that made the change is, so whoever acts on that reply (a
 * toolstack introducing the domain it made) finds the store able to know.
 */
static void mark_dirty(uint32_t domid)
{
	for (struct conn *c = conns; c; c = c->next)
		if (c->subscriber && c->dirty) {
			c->dirty[domid / 8] |= (uint8_t)(1u << (domid % 8));
			c->any_dirty = true;
			flush_subscriber(c);
			if (c->dead)
				event_active(flush_ev, EV_TIMEOUT, 0);
		}
}

static struct dom *dom_new(uint32_t domid)
{
	struct dom *d = calloc(1, sizeof(*d));
	uint32_t ports = domid == 0 ? SIMHYP_PORTS_MAX : lim.ports;
	size_t sz = ((size_t)ports * sizeof(uint32_t) + SIMHYP_PAGE - 1) & ~(size_t)(SIMHYP_PAGE - 1);

	if (!d)
		return NULL;
	d->domid = domid;
	d->ports_max = ports;
	d->mem_fd = -1;
	d->state = SIMHYP_DOM_RUNNING;
	d->inc = next_inc++;
	d->shinfo_fd = memfd_create("simhyp-shared-info", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (d->shinfo_fd < 0 || ftruncate(d->shinfo_fd, (off_t)sz) < 0)
		goto fail;
	d->shinfo = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, d->shinfo_fd, 0);
	if (d->shinfo == MAP_FAILED) {
		d->shinfo = NULL;
		goto fail;
	}
	d->shinfo_size = sz;
	/* Fixed in size, and from now on writable only through our mapping: domains map it read-only. */
	if (fcntl(d->shinfo_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) < 0 &&
	    fcntl(d->shinfo_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		goto fail;
	return d;
fail:
	if (d->shinfo)
		munmap(d->shinfo, sz);
	if (d->shinfo_fd >= 0)
		close(d->shinfo_fd);
	free(d);
	return NULL;
}

static void dom_drop_memory(struct dom *d)
{
	if (d->gt)
		munmap(d->gt, d->gt_size);
	d->gt = NULL;
	d->nr_grefs = 0;
	free(d->rcount);
	free(d->wcount);
	d->rcount = d->wcount = NULL;
	if (d->mem_fd >= 0)
		close(d->mem_fd);
	d->mem_fd = -1;
	d->mem_pages = 0;
}

/*
 * A file a domain gives as memory or grant table: a memfd, sealed against
 * shrinking here (a mapping of it must never fault), writable, at least
 * pages long. 0 or an errno.
 */
static int take_file(int fd, uint32_t pages)
{
	struct stat st;
	int seals;

	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return EINVAL; /* not a memfd, or sealed against sealing */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return EINVAL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)pages * SIMHYP_PAGE)
		return EINVAL;
	return 0;
}

static int dom_set_memory(struct dom *d, int mem_fd, int gt_fd, uint32_t mem_pages, uint32_t frames)
{
	int err;
	void *gt;

	if (!mem_pages || mem_pages > lim.mem_pages || !frames || frames > lim.gnt_frames)
		return EINVAL;
	if ((err = take_file(mem_fd, mem_pages)) || (err = take_file(gt_fd, frames)))
		return err;
	gt = mmap(NULL, (size_t)frames * SIMHYP_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, gt_fd, 0);
	if (gt == MAP_FAILED)
		return EINVAL;
	d->nr_grefs = frames * (SIMHYP_PAGE / sizeof(struct grant_entry_v1));
	d->rcount = calloc(d->nr_grefs, sizeof(uint32_t));
	d->wcount = calloc(d->nr_grefs, sizeof(uint32_t));
	if (!d->rcount || !d->wcount) {
		munmap(gt, (size_t)frames * SIMHYP_PAGE);
		free(d->rcount);
		free(d->wcount);
		d->rcount = d->wcount = NULL;
		d->nr_grefs = 0;
		return ENOMEM;
	}
	d->gt = gt;
	d->gt_size = (size_t)frames * SIMHYP_PAGE;
	d->mem_fd = mem_fd;
	d->mem_pages = mem_pages;
	close(gt_fd);
	return 0;
}

static void conn_free(struct conn *c);
static void port_close(struct dom *d, uint32_t p);

/* The domain is destroyed: its ports close (peers go back to unbound), its connections go. */
static void dom_destroy(struct dom *d)
{
	logmsg(true, "domain %u destroyed", d->domid);
	doms[d->domid] = NULL;
	last_inc[d->domid] = d->inc;
	ndoms--;
	for (uint32_t p = 1; p < d->ports_cap; p++)
		if (d->ports[p].state != PORT_FREE)
			port_close(d, p);
	free(d->ports);
	for (struct conn *c = conns, *n; c; c = n) {
		n = c->next;
		if (c->dom == d && !c->owner)
			c->dead = true; /* closed after this request */
		if (c->dom == d)
			c->dom = NULL;
	}
	dom_drop_memory(d);
	munmap(d->shinfo, d->shinfo_size);
	close(d->shinfo_fd);
	mark_dirty(d->domid);
	free(d);
}

/* ---- event channels ---- */

static struct port *port_get(struct dom *d, uint32_t p)
{
	return p > 0 && p < d->ports_cap && d->ports[p].state != PORT_FREE ? &d->ports[p] : NULL;
}

/* A free port (the lowest), its eventfd made (or efd given): the number or 0 with errno set. */
static uint32_t port_alloc(struct dom *d, struct conn *owner, int efd)
{
	uint32_t p;

	for (p = d->port_hint ? d->port_hint : 1; p < d->ports_cap; p++)
		if (d->ports[p].state == PORT_FREE)
			break;
	if (p >= d->ports_cap) {
		uint32_t cap = d->ports_cap ? d->ports_cap * 2 : 8;
		struct port *n;

		if (cap > d->ports_max)
			cap = d->ports_max;
		if (d->ports_cap >= cap) {
			errno = ENOSPC;
			return 0;
		}
		n = realloc(d->ports, cap * sizeof(*n));
		if (!n) {
			errno = ENOMEM;
			return 0;
		}
		memset(n + d->ports_cap, 0, (cap - d->ports_cap) * sizeof(*n));
		p = d->ports_cap ? d->ports_cap : 1;
		d->ports = n;
		d->ports_cap = cap;
	}
	if (efd < 0 && (efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return 0;
	d->ports[p] = (struct port){.state = PORT_UNBOUND, .efd = efd, .resv_efd = -1, .owner = owner};
	d->ports_used++;
	d->port_hint = p + 1;
	gen_bump(d, p);
	return p;
}

/* A port made unbound for rdom, with its binder's eventfd reserved: the number or 0 with errno set. */
static uint32_t port_unbound(struct dom *d, struct conn *owner, uint32_t rdom)
{
	int resv = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint32_t p;

	if (resv < 0)
		return 0;
	if (!(p = port_alloc(d, owner, -1))) {
		int e = errno;

		close(resv);
		errno = e;
		return 0;
	}
	d->ports[p].rdom = rdom;
	d->ports[p].resv_efd = resv;
	return p;
}

static void port_close(struct dom *d, uint32_t p)
{
	struct port *pt = &d->ports[p];

	if (pt->state == PORT_INTERDOMAIN) {
		struct dom *rd = pt->rdom <= SIMHYP_DOMID_MAX ? doms[pt->rdom] : NULL;
		struct port *rp = rd ? port_get(rd, pt->rport) : NULL;

		/*
		 * The peer's port goes back to unbound, for us (Xen's evtchn_close).
		 * One with its binder's eventfd reserved keeps notifying into it for
		 * the next binder: nothing changes for it. Else it has no peer now.
		 */
		if (rp && rp->state == PORT_INTERDOMAIN && rp->rdom == d->domid && rp->rport == p) {
			rp->state = PORT_UNBOUND;
			rp->rport = 0;
			if (rp->resv_efd < 0)
				gen_bump(rd, pt->rport);
		}
	}
	close(pt->efd);
	if (pt->resv_efd >= 0)
		close(pt->resv_efd);
	*pt = (struct port){0};
	d->ports_used--;
	if (!d->port_hint || p < d->port_hint)
		d->port_hint = p;
	gen_bump(d, p);
}

/* ---- grants ---- */

#define GT_WORD(e) ((uint32_t *)(void *)(e)) /* flags (low half) and domid: one 32-bit word, as Xen's cmpxchg */

static void gnt_put(struct dom *g, uint32_t ref, bool writable)
{
	struct grant_entry_v1 *e = &g->gt[ref];
	uint16_t clear = 0;

	if (writable && --g->wcount[ref] == 0)
		clear |= GTF_writing;
	if (--g->rcount[ref] == 0)
		clear |= GTF_reading;
	if (clear)
		__atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_SEQ_CST);
}

/* Pin one reference for mapper domain md: 0 and its frame, or an errno. */
static int gnt_get(struct dom *g, uint32_t ref, uint32_t md, bool writable, uint32_t *frame)
{
	struct grant_entry_v1 *e;
	uint32_t old, nw;

	if (ref >= g->nr_grefs)
		return EINVAL;
	e = &g->gt[ref];
	old = __atomic_load_n(GT_WORD(e), __ATOMIC_SEQ_CST);
	do {
		uint16_t flags = (uint16_t)(old & 0xffff), domid = (uint16_t)(old >> 16);

		if ((flags & GTF_type_mask) != GTF_permit_access || domid != md)
			return EPERM;
		if (writable && (flags & GTF_readonly))
			return EPERM;
		nw = old | GTF_reading | (writable ? GTF_writing : 0);
	} while (!__atomic_compare_exchange_n(GT_WORD(e), &old, nw, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	g->rcount[ref]++;
	if (writable)
		g->wcount[ref]++;
	/* The frame is read once the entry is pinned: the granter cannot change it now. */
	*frame = __atomic_load_n(&e->frame, __ATOMIC_SEQ_CST);
	if (*frame >= g->mem_pages) {
		gnt_put(g, ref, writable);
		return EINVAL;
	}
	return 0;
}

static void mapping_release(struct conn *c, uint32_t i)
{
	struct mapping *m = &c->maps[i];
	struct dom *g = m->domid <= SIMHYP_DOMID_MAX ? doms[m->domid] : NULL;

	if (g && g->inc == m->inc && g->gt && m->ref < g->nr_grefs)
		gnt_put(g, m->ref, m->writable);
	m->used = 0;
	m->marked = 0;
	m->next_free = c->maps_free;
	c->maps_free = i + 1;
	c->maps_used--;
	maps_total--;
}

/* ---- connections and replies ---- */

static void conn_event(struct conn *c, short what);
static void conn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	conn_event(arg, what);
}

static void conn_free(struct conn *c)
{
	for (uint32_t i = 0; i < c->maps_cap; i++)
		if (c->maps[i].used)
			mapping_release(c, i);
	free(c->maps);
	free(c->sent);
	/* Its ports close (they are all of its domain); a domain it created is destroyed with it. */
	if (c->dom)
		for (uint32_t p = 1; p < c->dom->ports_cap; p++)
			if (c->dom->ports[p].state != PORT_FREE && c->dom->ports[p].owner == c)
				port_close(c->dom, p);
	if (c->owner && c->dom) {
		if (c->dom->domid == 0) {
			dom_drop_memory(c->dom);
			c->dom->owner = NULL;
		} else {
			dom_destroy(c->dom);
		}
	}
	for (unsigned i = 0; i < c->pend_nfds; i++)
		close(c->pend_fds[i]);
	free(c->pend);
	free(c->dirty);
	event_free(c->ev);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nconns--;
	free(c);
}

static void send_msg(struct conn *c, void *msg, size_t len, const int *fds, unsigned nfds)
{
	ssize_t n;

	((struct simhyp_hdr *)msg)->len = (uint32_t)len;
	/* The socket does not block (accept4 made it so). */
	n = simhyp_send_raw(c->fd, msg, len, fds, nfds);
	if (n < 0) {
		errno = (int)-n;
		n = -1;
	}
	if (n == (ssize_t)len)
		return;
	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && !c->pend) {
		/* Full: keep this one reply (its descriptors dup'd), read nothing more until it leaves. */
		c->pend = malloc(len);
		if (c->pend) {
			memcpy(c->pend, msg, len);
			c->pend_len = len;
			c->pend_nfds = 0;
			for (unsigned i = 0; i < nfds; i++) {
				int f = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);

				if (f >= 0)
					c->pend_fds[c->pend_nfds++] = f;
			}
			event_del(c->ev);
			event_assign(c->ev, base, c->fd, EV_WRITE | EV_PERSIST, conn_cb, c);
			event_add(c->ev, NULL);
			return;
		}
	}
	c->dead = true; /* gone, or not reading its replies at all */
}

static void reply(struct conn *c, const struct simhyp_hdr *req, void *rep, size_t len, int status,
		  const int *fds, unsigned nfds)
{
	struct simhyp_reply_hdr *r = rep;

	r->h.magic = SIMHYP_MAGIC;
	r->h.version = SIMHYP_VERSION;
	r->h.op = (uint16_t)(req->op | SIMHYP_REPLY);
	r->h.seq = req->seq;
	r->status = status;
	r->pad = 0;
	send_msg(c, rep, status ? sizeof(*r) : len, status ? NULL : fds, status ? 0 : nfds);
}

static void reply_status(struct conn *c, const struct simhyp_hdr *req, int status)
{
	struct simhyp_reply_hdr r;

	memset(&r, 0, sizeof(r));
	reply(c, req, &r, sizeof(r), status, NULL, 0);
}

/* ---- subscribers ---- */

static void flush_subscriber(struct conn *c)
{
	unsigned char buf[sizeof(struct simhyp_notice) + SIMHYP_NOTICE_ENTRIES_MAX * sizeof(struct simhyp_domstate)];
	struct simhyp_notice *n = (struct simhyp_notice *)buf;
	struct simhyp_domstate *e = (struct simhyp_domstate *)(n + 1);

	while (c->any_dirty && !c->pend && !c->dead) {
		uint32_t count = 0;

		memset(n, 0, sizeof(*n));
		for (uint32_t id = 0; id <= SIMHYP_DOMID_MAX && count < SIMHYP_NOTICE_ENTRIES_MAX; id++) {
			struct dom *d;

			if (!c->dirty[id / 8]) {
				id |= 7;
				continue;
			}
			if (!(c->dirty[id / 8] & (1u << (id % 8))))
				continue;
			c->dirty[id / 8] &= (uint8_t) ~(1u << (id % 8));
			d = doms[id];
			e[count].domid = id;
			e[count].state = d ? d->state : SIMHYP_DOM_NONE;
			e[count].incarnation = d ? d->inc : last_inc[id];
			count++;
		}
		if (count < SIMHYP_NOTICE_ENTRIES_MAX)
			c->any_dirty = false;
		if (!c->any_dirty && !c->synced) {
			n->flags = SIMHYP_NOTICE_SYNCED;
			c->synced = true;
		}
		if (!count && !n->flags)
			break;
		n->h.magic = SIMHYP_MAGIC;
		n->h.version = SIMHYP_VERSION;
		n->h.op = SIMHYP_NOTICE;
		n->h.seq = 0;
		n->count = count;
		send_msg(c, buf, sizeof(*n) + count * sizeof(*e), NULL, 0);
	}
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (struct conn *c = conns, *n; c; c = n) {
		n = c->next;
		if (c->subscriber)
			flush_subscriber(c);
		if (c->dead)
			conn_free(c);
	}
}

/* ---- requests ---- */

static bool body_ok(const struct simhyp_hdr *h, size_t len, size_t want)
{
	return len == want && h->len == want;
}

static void op_create(struct conn *c, const struct simhyp_hdr *h, size_t len, int *fds, unsigned nfds)
{
	const struct simhyp_create *m = (const void *)h;
	struct simhyp_domain_reply r;
	struct dom *d;
	int err;

	if (!body_ok(h, len, sizeof(*m)) || nfds != 2 || (m->flags & ~SIMHYP_CREATE_STORE_PORT) ||
	    (m->domid == 0 && m->flags))
		return reply_status(c, h, EINVAL);
	if (c->dom)
		return reply_status(c, h, EISCONN);
	if (m->domid > SIMHYP_DOMID_MAX)
		return reply_status(c, h, EINVAL);
	if (m->domid == 0) {
		d = doms[0];
		if (d->mem_fd >= 0)
			return reply_status(c, h, EEXIST);
	} else {
		if (doms[m->domid])
			return reply_status(c, h, EEXIST);
		if (ndoms >= lim.domains)
			return reply_status(c, h, ENOSPC);
		if (!(d = dom_new(m->domid)))
			return reply_status(c, h, ENOMEM);
	}
	err = dom_set_memory(d, fds[0], fds[1], m->mem_pages, m->gnt_frames);
	if (err) {
		if (m->domid) {
			munmap(d->shinfo, d->shinfo_size);
			close(d->shinfo_fd);
			free(d);
		}
		return reply_status(c, h, err);
	}
	fds[0] = fds[1] = -1; /* taken */
	if (m->domid) {
		doms[m->domid] = d;
		ndoms++;
		mark_dirty(m->domid);
	} else {
		d->inc = next_inc++;
	}
	d->owner = c;
	c->dom = d;
	c->dom_inc = d->inc;
	c->owner = true;
	logmsg(true, "domain %u created (%u pages, %u grant references)", d->domid, d->mem_pages, d->nr_grefs);
	memset(&r, 0, sizeof(r));
	/* As a toolstack building a guest: its store port, left unbound for dom0 (the first: 1). */
	if ((m->flags & SIMHYP_CREATE_STORE_PORT) && (r.store_port = port_unbound(d, c, 0)) != 0)
		r.store_gen = __atomic_load_n(&d->shinfo[r.store_port], __ATOMIC_SEQ_CST);
	r.incarnation = d->inc;
	r.ports_max = d->ports_max;
	r.shinfo_size = (uint32_t)d->shinfo_size;
	{
		int out[3] = {d->shinfo_fd, r.store_port ? d->ports[r.store_port].efd : -1,
			      r.store_port ? d->ports[r.store_port].resv_efd : -1};

		reply(c, h, &r, sizeof(r), 0, out, r.store_port ? 3 : 1);
	}
}

static void op_attach(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	const struct simhyp_attach *m = (const void *)h;
	struct simhyp_domain_reply r;
	struct dom *d;

	if (!body_ok(h, len, sizeof(*m)))
		return reply_status(c, h, EINVAL);
	if (c->dom)
		return reply_status(c, h, EISCONN);
	if (m->domid > SIMHYP_DOMID_MAX)
		return reply_status(c, h, EINVAL);
	if (!(d = doms[m->domid]))
		return reply_status(c, h, ESRCH);
	c->dom = d;
	c->dom_inc = d->inc;
	memset(&r, 0, sizeof(r));
	r.incarnation = d->inc;
	r.ports_max = d->ports_max;
	r.shinfo_size = (uint32_t)d->shinfo_size;
	reply(c, h, &r, sizeof(r), 0, &d->shinfo_fd, 1);
}

static void op_shutdown(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	if (!body_ok(h, len, sizeof(struct simhyp_shutdown)))
		return reply_status(c, h, EINVAL);
	if (c->dom->domid == 0)
		return reply_status(c, h, EPERM);
	c->dom->state = SIMHYP_DOM_SHUTDOWN;
	mark_dirty(c->dom->domid);
	reply_status(c, h, 0);
}

static void op_subscribe(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	if (!body_ok(h, len, sizeof(struct simhyp_hdr)))
		return reply_status(c, h, EINVAL);
	if (c->dom->domid != 0)
		return reply_status(c, h, EPERM);
	if (c->subscriber)
		return reply_status(c, h, EALREADY);
	c->dirty = calloc((SIMHYP_DOMID_MAX + 8) / 8, 1);
	if (!c->dirty)
		return reply_status(c, h, ENOMEM);
	/* The snapshot: every domain there is or was, then SYNCED. */
	for (uint32_t id = 0; id <= SIMHYP_DOMID_MAX; id++)
		if (doms[id] || last_inc[id])
			c->dirty[id / 8] |= (uint8_t)(1u << (id % 8));
	c->any_dirty = true;
	c->subscriber = true;
	reply_status(c, h, 0);
	event_active(flush_ev, EV_TIMEOUT, 0);
}

static bool mem_sent(struct conn *c, uint32_t domid, uint64_t inc)
{
	for (size_t i = 0; i < c->nsent; i++)
		if (c->sent[i].domid == domid && c->sent[i].inc == inc)
			return true;
	return false;
}

static void op_map(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	const struct simhyp_map *m = (const void *)h;
	const uint32_t *refs = (const uint32_t *)(m + 1);
	unsigned char buf[sizeof(struct simhyp_map_reply) + SIMHYP_BATCH_MAX * sizeof(struct simhyp_map_entry)];
	struct simhyp_map_reply *r = (struct simhyp_map_reply *)buf;
	struct simhyp_map_entry *e = (struct simhyp_map_entry *)(r + 1);
	bool writable;
	struct dom *g;
	uint32_t i;
	int err = 0;
	unsigned nfds = 0;

	if (len < sizeof(*m) || m->count == 0 || m->count > SIMHYP_BATCH_MAX ||
	    !body_ok(h, len, sizeof(*m) + (size_t)m->count * sizeof(uint32_t)) ||
	    (m->flags & ~SIMHYP_MAP_WRITABLE))
		return reply_status(c, h, EINVAL);
	writable = m->flags & SIMHYP_MAP_WRITABLE;
	if (m->domid > SIMHYP_DOMID_MAX || !(g = doms[m->domid]) || !g->gt)
		return reply_status(c, h, ESRCH);
	if (c->maps_used + m->count > lim.maps || maps_total + m->count > lim.maps_total)
		return reply_status(c, h, ENOSPC);
	if (c->maps_cap < c->maps_used + m->count) {
		uint32_t cap = c->maps_cap ? c->maps_cap : 16;
		struct mapping *n;

		while (cap < c->maps_used + m->count)
			cap *= 2;
		if (cap > lim.maps)
			cap = lim.maps;
		n = realloc(c->maps, cap * sizeof(*n));
		if (!n)
			return reply_status(c, h, ENOMEM);
		memset(n + c->maps_cap, 0, (cap - c->maps_cap) * sizeof(*n));
		/* The new slots join the free list. */
		for (uint32_t k = cap; k > c->maps_cap; k--) {
			n[k - 1].next_free = c->maps_free;
			c->maps_free = k;
		}
		c->maps = n;
		c->maps_cap = cap;
	}
	if (!mem_sent(c, g->domid, g->inc)) {
		struct memsent *s = c->sent;

		if (c->nsent == c->sent_cap) {
			size_t cap = c->sent_cap ? c->sent_cap * 2 : 8;

			if (!(s = realloc(c->sent, cap * sizeof(*s))))
				return reply_status(c, h, ENOMEM);
			c->sent = s;
			c->sent_cap = cap;
		}
		nfds = 1;
	}
	/* All or nothing: each reference pinned in turn, the pinned ones let go on a failure. */
	for (i = 0; i < m->count; i++) {
		err = gnt_get(g, refs[i], c->dom->domid, writable, &e[i].frame);
		if (err)
			break;
	}
	if (err) {
		while (i-- > 0)
			gnt_put(g, refs[i], writable);
		return reply_status(c, h, err);
	}
	for (i = 0; i < m->count; i++) {
		uint32_t slot = c->maps_free - 1;
		struct mapping *mp = &c->maps[slot];

		c->maps_free = mp->next_free;
		*mp = (struct mapping){.domid = g->domid, .ref = refs[i], .inc = g->inc, .used = 1,
				       .writable = writable};
		c->maps_used++;
		maps_total++;
		e[i].handle = slot + 1;
	}
	if (nfds)
		c->sent[c->nsent++] = (struct memsent){g->domid, g->inc};
	memset(r, 0, sizeof(*r));
	r->incarnation = g->inc;
	r->mem_pages = g->mem_pages;
	r->flags = nfds ? SIMHYP_MAP_MEMFD : 0;
	r->count = m->count;
	reply(c, h, r, sizeof(*r) + m->count * sizeof(*e), 0, &g->mem_fd, nfds);
}

static void op_unmap(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	const struct simhyp_unmap *m = (const void *)h;
	const uint32_t *handles = (const uint32_t *)(m + 1);

	if (len < sizeof(*m) || m->count > SIMHYP_BATCH_MAX ||
	    !body_ok(h, len, sizeof(*m) + (size_t)m->count * sizeof(uint32_t)) ||
	    (m->flags & ~SIMHYP_UNMAP_FORGET))
		return reply_status(c, h, EINVAL);
	/* Each handle checked and marked, so that one named twice is seen in one pass; refused whole. */
	for (uint32_t i = 0; i < m->count; i++) {
		uint32_t k = handles[i];

		if (k == 0 || k > c->maps_cap || !c->maps[k - 1].used || c->maps[k - 1].marked ||
		    c->maps[k - 1].domid != m->domid || c->maps[k - 1].inc != m->incarnation) {
			while (i-- > 0)
				c->maps[handles[i] - 1].marked = 0;
			return reply_status(c, h, EINVAL);
		}
		c->maps[k - 1].marked = 1;
	}
	for (uint32_t i = 0; i < m->count; i++)
		mapping_release(c, handles[i] - 1);
	if (m->flags & SIMHYP_UNMAP_FORGET)
		for (size_t i = 0; i < c->nsent; i++)
			if (c->sent[i].domid == m->domid && c->sent[i].inc == m->incarnation) {
				c->sent[i] = c->sent[--c->nsent];
				break;
			}
	reply_status(c, h, 0);
}

/* A port made: its number and generation; its eventfd, and the one it notifies into. */
static void port_reply(struct conn *c, const struct simhyp_hdr *h, struct dom *d, uint32_t p, int peer_efd)
{
	struct simhyp_port_reply r;
	int out[2] = {d->ports[p].efd, peer_efd};

	memset(&r, 0, sizeof(r));
	r.port = p;
	r.gen = __atomic_load_n(&d->shinfo[p], __ATOMIC_SEQ_CST);
	reply(c, h, &r, sizeof(r), 0, out, 2);
}

static void op_unbound(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	const struct simhyp_evt_unbound *m = (const void *)h;
	struct dom *d = c->dom;
	uint32_t p;

	if (!body_ok(h, len, sizeof(*m)) || m->remote_domid > SIMHYP_DOMID_MAX)
		return reply_status(c, h, EINVAL);
	if (!(p = port_unbound(d, c, m->remote_domid)))
		return reply_status(c, h, errno);
	port_reply(c, h, d, p, d->ports[p].resv_efd);
}

static void op_bind(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	const struct simhyp_evt_bind *m = (const void *)h;
	struct dom *d = c->dom, *rd;
	struct port *rp;
	uint32_t p;
	uint64_t one = 1;

	if (!body_ok(h, len, sizeof(*m)) || m->remote_domid > SIMHYP_DOMID_MAX)
		return reply_status(c, h, EINVAL);
	if (!(rd = doms[m->remote_domid]))
		return reply_status(c, h, ESRCH);
	rp = port_get(rd, m->remote_port);
	/* Only a port left unbound for us. */
	if (!rp || rp->state != PORT_UNBOUND || rp->rdom != d->domid)
		return reply_status(c, h, EINVAL);
	/* The binder receives on the eventfd reserved for it (its owner notifies into it already). */
	{
		int efd = rp->resv_efd >= 0 ? fcntl(rp->resv_efd, F_DUPFD_CLOEXEC, 0) : -1;

		if (rp->resv_efd >= 0 && efd < 0)
			return reply_status(c, h, errno);
		if (!(p = port_alloc(d, c, efd))) {
			int e = errno;

			if (efd >= 0)
				close(efd);
			return reply_status(c, h, e);
		}
	}
	rp = &rd->ports[m->remote_port]; /* the table may have moved (a domain binding to itself) */
	d->ports[p].state = PORT_INTERDOMAIN;
	d->ports[p].rdom = rd->domid;
	d->ports[p].rport = m->remote_port;
	rp->state = PORT_INTERDOMAIN;
	rp->rport = p;
	if (rp->resv_efd < 0)
		gen_bump(rd, m->remote_port); /* its owner must ask for its new peer */
	gen_bump(d, p);
	/* As Xen: notifications sent to the unbound port may be lost, so the binder finds one pending. */
	if (write(d->ports[p].efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		logmsg(false, "eventfd write: %s", strerror(errno));
	logmsg(true, "domain %u port %u bound to domain %u port %u", d->domid, p, rd->domid, m->remote_port);
	/* The peer's eventfd comes along: the binder's first notification needs no EVT_PEER. */
	port_reply(c, h, d, p, rd->ports[m->remote_port].efd);
}

static struct port *own_port(struct conn *c, const struct simhyp_hdr *h, size_t len, uint32_t *p)
{
	const struct simhyp_port_req *m = (const void *)h;
	struct port *pt;

	if (!body_ok(h, len, sizeof(*m)))
		return reply_status(c, h, EINVAL), NULL;
	pt = port_get(c->dom, m->port);
	if (!pt || pt->owner != c)
		return reply_status(c, h, EINVAL), NULL;
	*p = m->port;
	return pt;
}

static void op_close(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	uint32_t p;

	if (!own_port(c, h, len, &p))
		return;
	port_close(c->dom, p);
	reply_status(c, h, 0);
}

static void op_peer(struct conn *c, const struct simhyp_hdr *h, size_t len)
{
	struct simhyp_peer_reply r;
	struct port *pt;
	struct dom *rd;
	uint32_t p;

	if (!(pt = own_port(c, h, len, &p)))
		return;
	memset(&r, 0, sizeof(r));
	r.gen = __atomic_load_n(&c->dom->shinfo[p], __ATOMIC_SEQ_CST);
	r.state = pt->state == PORT_INTERDOMAIN ? SIMHYP_PORT_INTERDOMAIN : SIMHYP_PORT_UNBOUND;
	r.remote_domid = pt->rdom;
	r.remote_port = pt->rport;
	if (pt->state == PORT_INTERDOMAIN && (rd = doms[pt->rdom]) && port_get(rd, pt->rport))
		return reply(c, h, &r, sizeof(r), 0, &rd->ports[pt->rport].efd, 1);
	r.state = SIMHYP_PORT_UNBOUND;
	/* Unbound with its binder's eventfd reserved: notifications go there, for the next binder. */
	reply(c, h, &r, sizeof(r), 0, &pt->resv_efd, pt->resv_efd >= 0 ? 1 : 0);
}

static void handle(struct conn *c, unsigned char *buf, size_t len, int *fds, unsigned nfds, bool trunc)
{
	struct simhyp_hdr *h = (struct simhyp_hdr *)buf;

	if (len < sizeof(*h) || h->magic != SIMHYP_MAGIC) {
		c->dead = true; /* not speaking this protocol at all */
		return;
	}
	if (h->version != SIMHYP_VERSION)
		return reply_status(c, h, EPROTONOSUPPORT);
	if (trunc)
		return reply_status(c, h, len >= SIMHYP_MSG_MAX ? EMSGSIZE : E2BIG);
	if (h->op == 0 || h->op > SIMHYP_OP_MAX)
		return reply_status(c, h, ENOSYS);
	if (c->subscriber)
		return reply_status(c, h, EBUSY);
	if (h->op != SIMHYP_CREATE && nfds)
		return reply_status(c, h, EINVAL);
	if (!c->dom && h->op != SIMHYP_CREATE && h->op != SIMHYP_ATTACH)
		return reply_status(c, h, c->dom_inc ? ESRCH : ENOTCONN);
	switch (h->op) {
	case SIMHYP_CREATE:
		return op_create(c, h, len, fds, nfds);
	case SIMHYP_ATTACH:
		return op_attach(c, h, len);
	case SIMHYP_SHUTDOWN:
		return op_shutdown(c, h, len);
	case SIMHYP_SUBSCRIBE:
		return op_subscribe(c, h, len);
	case SIMHYP_MAP:
		return op_map(c, h, len);
	case SIMHYP_UNMAP:
		return op_unmap(c, h, len);
	case SIMHYP_EVT_UNBOUND:
		return op_unbound(c, h, len);
	case SIMHYP_EVT_BIND:
		return op_bind(c, h, len);
	case SIMHYP_EVT_CLOSE:
		return op_close(c, h, len);
	case SIMHYP_EVT_PEER:
		return op_peer(c, h, len);
	default:
		return reply_status(c, h, ENOSYS);
	}
}

static void conn_read(struct conn *c)
{
	/* A few messages a turn, so that one busy connection never holds the others up. */
	for (int turn = 0; turn < 16 && !c->dead && !c->pend; turn++) {
		static union {
			unsigned char b[SIMHYP_MSG_MAX];
			uint64_t align;
		} in;
		int fds[SIMHYP_FDS_MAX];
		unsigned nfds = SIMHYP_FDS_MAX;
		bool trunc;
		ssize_t n = simhyp_recv_raw(c->fd, in.b, sizeof(in.b), fds, &nfds, &trunc);

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			c->dead = true;
			return;
		}
		/* Too long, or descriptors past the limit (dropped): refused whole. */
		if (trunc) {
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
			nfds = 0;
		}
		handle(c, in.b, (size_t)n, fds, nfds, trunc);
		for (unsigned i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
}

static void conn_event(struct conn *c, short what)
{
	if (what & EV_WRITE) {
		unsigned char *p = c->pend;
		int fds[SIMHYP_FDS_MAX];
		unsigned nfds = c->pend_nfds;

		memcpy(fds, c->pend_fds, sizeof(fds));
		c->pend = NULL;
		c->pend_nfds = 0;
		event_del(c->ev);
		event_assign(c->ev, base, c->fd, EV_READ | EV_PERSIST, conn_cb, c);
		event_add(c->ev, NULL);
		if (p)
			send_msg(c, p, c->pend_len, fds, nfds);
		free(p);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (c->subscriber)
			flush_subscriber(c);
	}
	if ((what & EV_READ) && !c->pend)
		conn_read(c);
	if (c->dead) {
		conn_free(c);
		/* Connections of a domain destroyed meanwhile go too. */
		event_active(flush_ev, EV_TIMEOUT, 0);
	}
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			/* Out of descriptors: stop accepting for a moment rather than spin. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				static const struct timeval pause = {0, 100000};

				logmsg(false, "accept: %s (pausing for 100 ms)", strerror(errno));
				event_del(listen_ev);
				evtimer_add(resume_ev, &pause);
			}
			return;
		}
		if (nconns >= lim.conns || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ev = event_new(base, fd, EV_READ | EV_PERSIST, conn_cb, c);
		if (!c->ev || event_add(c->ev, NULL) < 0) {
			if (c->ev)
				event_free(c->ev);
			free(c);
			close(fd);
			continue;
		}
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		nconns++;
	}
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_add(listen_ev, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	logmsg(true, "signal %d: stopping", (int)sig);
	event_base_loopbreak(base);
}

/* 0, or -1: a live hypervisor answers there. */
static int socket_stale(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0 ? -1 : 0;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logmsg(false, "socket path too long: %s", path);
		return -1;
	}
	if (socket_stale(path) < 0) {
		logmsg(false, "another hypervisor serves %s", path);
		return -1;
	}
	unlink(path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
		logmsg(false, "cannot listen on %s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xs-simhyp [-s PATH] [-F PIDFILE] [-v] [limits]\n"
		"The simulated hypervisor: domains, grants, event channels (docs/SIMHYP.md).\n"
		"  -s PATH      the socket (default $XENSTORED_RUNDIR/simhyp, else /var/run/xenstored/simhyp)\n"
		"  -F PIDFILE   write the process id there once the socket listens\n"
		"  -v           log every domain's creation, destruction and binding\n"
		"limits:\n"
		"  -d N  live domains besides dom0 (default 4096)\n"
		"  -p N  event channels of a domain but dom0: ports 1 .. N-1 (default 1024, at most %u;\n"
		"        dom0's: %u)\n"
		"  -g N  grant-table pages of a domain (default and at most %u)\n"
		"  -m N  memory pages of a domain (default and at most %u)\n"
		"  -M N  grant mappings one connection holds (default 65536)\n"
		"  -T N  grant mappings all connections hold together (default 1048576)\n"
		"  -c N  connections (default 16384)\n",
		SIMHYP_PORTS_MAX, SIMHYP_PORTS_MAX, SIMHYP_GNT_FRAMES_MAX, SIMHYP_MEM_PAGES_MAX);
}

static bool number(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *pidfile = NULL;
	char def[sizeof(sock_path)];
	struct event *sigs[3];
	struct rlimit rl;
	int o;

	while ((o = getopt(argc, argv, "s:F:vd:p:g:m:M:T:c:h")) != -1) {
		bool ok = true;

		switch (o) {
		case 's': path = optarg; break;
		case 'F': pidfile = optarg; break;
		case 'v': lim.verbose = true; break;
		case 'd': ok = number(optarg, 1, SIMHYP_DOMID_MAX, &lim.domains); break;
		case 'p': ok = number(optarg, 2, SIMHYP_PORTS_MAX, &lim.ports); break;
		case 'g': ok = number(optarg, 1, SIMHYP_GNT_FRAMES_MAX, &lim.gnt_frames); break;
		case 'm': ok = number(optarg, 1, SIMHYP_MEM_PAGES_MAX, &lim.mem_pages); break;
		case 'M': ok = number(optarg, 1, 1u << 24, &lim.maps); break;
		case 'T': ok = number(optarg, 1, 1u << 26, &lim.maps_total); break;
		case 'c': ok = number(optarg, 1, 1u << 20, &lim.conns); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (!ok) {
			fprintf(stderr, "xs-simhyp: -%c %s: out of range\n", o, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!path) {
		const char *dir = getenv("XENSTORED_RUNDIR");

		snprintf(def, sizeof(def), "%s/%s", dir && *dir ? dir : "/var/run/xenstored", SIMHYP_SOCKET_NAME);
		path = def;
	}
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	/* Every domain costs a few descriptors: take all we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		next_inc = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	base = event_base_new();
	if (!base)
		return 1;
	doms[0] = dom_new(0);
	flush_ev = event_new(base, -1, 0, flush_cb, NULL);
	if (!doms[0] || !flush_ev)
		return 1;
	listen_fd = listen_on(sock_path);
	if (listen_fd < 0)
		return 1;
	listen_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST, accept_cb, NULL);
	resume_ev = evtimer_new(base, resume_cb, NULL);
	sigs[0] = evsignal_new(base, SIGTERM, signal_cb, NULL);
	sigs[1] = evsignal_new(base, SIGINT, signal_cb, NULL);
	sigs[2] = evsignal_new(base, SIGQUIT, signal_cb, NULL);
	signal(SIGHUP, SIG_IGN);
	if (!listen_ev || !resume_ev || event_add(listen_ev, NULL) < 0)
		return 1;
	for (int i = 0; i < 3; i++)
		if (!sigs[i] || event_add(sigs[i], NULL) < 0)
			return 1;
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
			logmsg(false, "cannot write %s", pidfile);
			unlink(sock_path);
			return 1;
		}
	}
	logmsg(true, "listening on %s", sock_path);
	event_base_dispatch(base);
	/*
	 * A hypervisor stopping takes its world with it at once: nobody is told
	 * of domains destroyed or ports closed (the store sees its connection
	 * end); the kernel closes every connection and descriptor.
	 */
	unlink(sock_path);
	if (pidfile)
		unlink(pidfile);
	return 0;
}

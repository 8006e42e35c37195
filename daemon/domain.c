/* Domains: the hypervisor port in use, introduced domains and their rings, release and death. */
#include "domain.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../proto/path.h"
#include "../proto/ring.h"
#include "cleanup.h"
#include "config.h"
#include "grow.h"
#include "hyp.h"
#include "keep.h"
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
	uint32_t remote_port;       /* the domain's end, as bound */
	uint64_t incarnation;       /* the hypervisor's name for this life of it (hyp identify), 0 unknown */
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
/*
 * Each ring's mark (conn.h), by domid, in a file of the run directory
 * mapped shared: what a daemon killed leaves for the next one to know
 * whether a ring may go on from its indices. NULL if it cannot be had.
 */
#define MARKS_FILE "ring-marks"
static struct conn_mark *marks;
static size_t marks_bytes;
/*
 * What a clean stop leaves of each ring in flight (session_ring_save), in
 * a file of the run directory the next start reads and removes at once:
 * records of u32 domid, u32 length, the bytes. Held from then until the
 * domains are taken up.
 */
#define INFLIGHT_FILE "ring-inflight"
static unsigned char *inflight;
static size_t inflight_len;

/* What the last clean stop left in flight: read, and the file removed (so it is never taken twice). */
static void inflight_read(void)
{
	char path[sizeof(cfg.run_dir) + sizeof(INFLIGHT_FILE) + 1];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/" INFLIGHT_FILE, cfg.run_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (inflight = malloc((size_t)st.st_size)) &&
	    read(fd, inflight, (size_t)st.st_size) == st.st_size) {
		inflight_len = (size_t)st.st_size;
	} else {
		free(inflight);
		inflight = NULL;
		log_warn("cannot read %s: rings in flight at the last stop are asked to reconnect", path);
	}
	close(fd);
	unlink(path);
}

/* A clean stop: what is in flight on each ring, for the next start (inflight_read). */
static void inflight_write(void)
{
	char final[sizeof(cfg.run_dir) + sizeof(INFLIGHT_FILE) + 1], path[sizeof(final) + 4];
	size_t n = 0;
	int fd = -1;
	bool ok = true;

	snprintf(final, sizeof(final), "%s/" INFLIGHT_FILE, cfg.run_dir);
	snprintf(path, sizeof(path), "%s.new", final);
	for (struct domain *d = domain_list; d && ok; d = d->next) {
		size_t len = 0;
		unsigned char *bytes = d->session ? session_ring_save(d->session, &len) : NULL;
		uint32_t hdr[2] = {d->domid, (uint32_t)len};

		if (!bytes)
			continue;
		if (fd < 0 && (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
			ok = false;
		ok = ok && write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && write(fd, bytes, len) == (ssize_t)len;
		free(bytes);
		n++;
	}
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!n)
		return;
	if (!ok || rename(path, final) < 0) {
		log_warn("cannot write %s: rings in flight will be asked to reconnect", final);
		unlink(path);
		return;
	}
	log_info("stop: %zu rings had messages in flight; kept in %s for the next start", n, final);
}

/* Kept and not taken up (no hypervisor then, or its ring could not be mapped): left as kept. */
static uint8_t dormant[((size_t)XS_DOMID_MAX + 1) / 8];

static void dormant_set(uint32_t domid, bool on)
{
	if (on)
		dormant[domid / 8] |= (uint8_t)(1u << (domid % 8));
	else
		dormant[domid / 8] &= (uint8_t)~(1u << (domid % 8));
}

static bool is_dormant(uint32_t domid)
{
	return dormant[domid / 8] & (1u << (domid % 8));
}

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
	d->remote_port = remote_port;
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

static void domain_take_up(struct domain *d, const struct keep_domain *k);

/*
 * bound: the local port already bound to the domain's port (0: bind it
 * here). kept: NULL to start the ring afresh; else a restarted daemon takes
 * the domain up as kept (domain_take_up).
 */
static enum xs_err domain_start(uint32_t domid, struct xs_ring *ring, bool own, uint32_t port, uint32_t bound,
				const struct keep_domain *kept)
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
	d->session = session_new_ring(ring, d->local_port, notify_port, marks ? &marks[domid] : NULL, domid,
				      domid == cfg.priv_domid);
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
	if (kept) {
		xs_ring_store(&ring->server_features, domain_features(domid));
		domain_take_up(d, kept);
		return XSE_OK;
	}
	session_ring_reset(d->session);
	/*
	 * Offered only once the ring is reset: a guest that waits for the
	 * features to talk would otherwise have its first request wiped.
	 */
	xs_ring_store(&ring->server_features, domain_features(domid));
	log_info("domain %u introduced (port %u)", domid, d->local_port);
	return XSE_OK;
}

/* What is kept of a domain, as it is now. */
static void keep_fill(const struct domain *d, struct keep_domain *k)
{
	memset(k, 0, sizeof(*k));
	k->domid = d->domid;
	k->port = d->remote_port;
	k->incarnation = d->incarnation;
	k->target = session_ident(d->session)->target;
	k->features = domain_feature_table[d->domid];
	k->own = d->own_ring;
	/*
	 * Its quota values, all of them: a copy of the global ones taken when
	 * it came into being (or set for it since), which a restart does not
	 * change.
	 */
	for (int q = 0; q < QUOTA_COUNT; q++) {
		for (int soft = 0; soft <= (int)quota_has_soft(q) && k->nquotas < KEEP_QUOTAS_MAX; soft++) {
			k->quotas[k->nquotas].id = (uint8_t)(q | (soft ? KEEP_QUOTA_SOFT : 0));
			k->quotas[k->nquotas++].value = quota_value(d->domid, q, soft);
		}
	}
}

/* Write what is kept of d (fresh: a new introduction, nothing of before kept). */
static enum xs_err domain_keep(const struct domain *d, bool fresh)
{
	struct keep_domain k;

	keep_fill(d, &k);
	return keep_domain_put(&k, fresh);
}

enum xs_err domain_kept_changed(uint32_t domid)
{
	struct domain *d = domid <= XS_DOMID_MAX ? domain_table[domid] : NULL;

	return d && d->session ? domain_keep(d, false) : XSE_OK;
}

/* A kept watch registered again, without its event (a client that had it saw it fire then). */
static bool take_up_watch(void *ctx, const struct keep_watch *w)
{
	struct domain *d = ctx;
	enum xs_err err = watch_add(session_watches(d->session), w->path, w->prefix_len, w->token, w->depth);

	if (err)
		log_warnx("domain %u: its watch on %s cannot be registered again: %s", d->domid, w->path,
			  xs_err_name(err));
	return err == XSE_OK;
}

/*
 * A restarted daemon's domain, as kept: its quota values, its watches
 * (registered again, not fired), then its ring as the last daemon left it
 * (session_ring_resume). Its target is set once every domain is back.
 */
static void domain_take_up(struct domain *d, const struct keep_domain *k)
{
	struct conn_resumed res;

	d->incarnation = k->incarnation;
	for (unsigned i = 0; i < k->nquotas; i++) {
		unsigned q = k->quotas[i].id & ~KEEP_QUOTA_SOFT;

		if (q < QUOTA_COUNT && !quota_set_value(d->domid, q, k->quotas[i].id & KEEP_QUOTA_SOFT, k->quotas[i].value))
			log_warnx("domain %u: no memory for its quota values", d->domid);
	}
	keep_watches_each(d->domid, take_up_watch, d);
	{
		const unsigned char *saved = NULL;
		size_t saved_len = 0;

		/* What the last daemon's clean stop saved of this ring, if anything. */
		for (size_t off = 0; off + 8 <= inflight_len;) {
			uint32_t id, len;

			memcpy(&id, inflight + off, 4);
			memcpy(&len, inflight + off + 4, 4);
			if (len > inflight_len - off - 8)
				break;
			if (id == d->domid) {
				saved = inflight + off + 8;
				saved_len = len;
				break;
			}
			off += 8 + (size_t)len;
		}
		session_ring_resume(d->session, saved, saved_len, &res);
	}
	log_info("domain %u taken up (port %u, %u watches): %s", d->domid, d->local_port,
		 watch_set_count(session_watches(d->session)),
		 res.state == CONN_OPEN && res.in_flight ? "its ring goes on with what was in flight"
		 : res.state == CONN_OPEN		 ? "its ring goes on"
		 : res.state == CONN_RESYNC		 ? "its ring waits for the guest to reconnect"
							 : "its ring stays stopped");
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
		/* Its watches went with the ring; the port may be another. */
		return domain_keep(d, false);
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
	dormant_set(domid, false);
	err = domain_start(domid, ring, false, port, local, NULL);
	if (err == XSE_OK) {
		/* Kept, so that a restarted daemon serves it on; not introduced unless kept. */
		uint64_t inc = 0;

		d = domain_table[domid];
		if (hyp->identify && hyp->identify(domid, &inc) == 0)
			d->incarnation = inc;
		if ((err = domain_keep(d, true)) != XSE_OK)
			domain_free(d);
	}
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

	/* Written before anything is said: a restart must not take it up again. */
	if (keep_domains_gone(&id, 1) != XSE_OK)
		log_warnx("cannot write that domain %u is gone: a restart may take it up", id);
	domain_free(d); /* its session's watches go first */
	/* A domain made again with this domid starts from the defaults (XSA-483). */
	quota_domain_gone(id);
	domain_feature_table[id] = 0;
	/* A device model acting for this domain loses those rights with it. */
	session_clear_target(id);
	/* The domains that acted for it lost that: kept so too. */
	for (struct domain *o = domain_list; o; o = o->next) {
		struct keep_domain k;

		if (o->session && keep_domain_get(o->domid, &k) && k.target == id && domain_keep(o, false) != XSE_OK)
			log_warnx("domain %u: cannot write that its target went", o->domid);
	}
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
	uint32_t before;
	enum xs_err err;

	if (!d || !t)
		return XSE_ENOENT;
	if (!d->session || !t->session)
		return XSE_EINVAL;
	before = session_ident(d->session)->target;
	session_set_target(d->session, target);
	if ((err = domain_keep(d, false)) != XSE_OK)
		session_set_target(d->session, before);
	return err;
}

/* What the hypervisor says now of the life of d we serve (ours always runs). */
static enum hyp_domain_state domain_hyp_state(const struct domain *d)
{
	return d->domid == cfg.master_domid ? HYP_DOM_RUNNING : hyp->domain_state(d->domid);
}

void domain_notice_death(uint32_t domid)
{
	struct domain *d = domid <= XS_DOMID_MAX ? domain_table[domid] : NULL;
	enum hyp_domain_state st;

	if (!d || !d->session || !hyp)
		return;
	st = domain_hyp_state(d);
	if (st == HYP_DOM_NONE || st == HYP_DOM_DYING)
		domain_gone(d);
}

/* VIRQ_DOM_EXC: find the introduced domains that shut down or died. */
static void domains_changed(void)
{
	bool shutdown_seen = false;

	for (struct domain *d = domain_list, *next; d; d = next) {
		enum hyp_domain_state st = domain_hyp_state(d);

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

/* The marks' file, made or found as the last daemon left it (marks NULL if it cannot be had). */
static void marks_open(void)
{
	char path[sizeof(cfg.run_dir) + sizeof(MARKS_FILE) + 1];
	size_t bytes = ((size_t)XS_DOMID_MAX + 1) * sizeof(*marks);
	int fd;
	void *p;

	snprintf(path, sizeof(path), "%s/" MARKS_FILE, cfg.run_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0 ||
	    (p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		log_warn("cannot map %s: a restart will ask every guest busy at the time to reconnect", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	marks = p;
	marks_bytes = bytes;
}

/*
 * A restarted daemon takes up the domains the store keeps (keep.h): each
 * the hypervisor still has, as the same life, gets its ring mapped and its
 * event channel bound again (the port it had) and goes on (domain_take_up);
 * each that died meanwhile, or was released, is cleaned up as a death
 * (its nodes and permission entries, then @releaseDomain).
 */
static void domains_take_up(void)
{
	uint32_t *ids = NULL, *dead;
	size_t n = keep_list(&ids), ndead = 0, nback = 0;

	if (!n || !(dead = malloc(n * sizeof(*dead)))) {
		free(ids);
		return;
	}
	/*
	 * What the rings and event channels need, given back once for them all:
	 * no socket is accepted meanwhile, and taking the reserve again around
	 * each domain cost two system calls a domain per descriptor of it.
	 */
	listener_reserve_release();
	for (size_t i = 0; i < n; i++) {
		uint32_t domid = ids[i], local = 0;
		struct keep_domain k;
		struct xs_ring *ring;
		uint64_t inc = 0;
		int there;

		if (!keep_domain_get(domid, &k) || domain_table[domid])
			continue;
		if (k.own && !k.gone) {
			log_warnx("domain %u's own ring is kept, but the system offers none now: left as it is", domid);
			dormant_set(domid, true);
			continue;
		}
		there = k.gone ? -1 : hyp->identify(domid, &inc);
		if (there < 0 && !k.gone && errno == ENOTCONN) {
			log_warnx("domain %u is kept, but no hypervisor can be asked about it: left as it is", domid);
			dormant_set(domid, true);
			continue;
		}
		/* Gone, not there, or another life under its domid: it died meanwhile. */
		if (there < 0 || (k.incarnation && inc && k.incarnation != inc)) {
			dead[ndead++] = domid;
			continue;
		}
		domain_feature_table[domid] = k.features;
		ring = hyp->map_and_bind ? hyp->map_and_bind(domid, k.port, &local) : hyp->map_ring(domid);
		if (!ring) {
			if (errno == ENOENT) {
				dead[ndead++] = domid;
			} else {
				log_warn("domain %u is kept, but its ring cannot be mapped again: left as it is", domid);
				dormant_set(domid, true);
			}
			domain_feature_table[domid] = 0;
			continue;
		}
		if (domain_start(domid, ring, false, k.port, local, &k) != XSE_OK) {
			log_warnx("domain %u is kept, but cannot be served again: left as it is", domid);
			domain_feature_table[domid] = 0;
			dormant_set(domid, true);
			continue;
		}
		nback++;
	}
	listener_reserve_restore();
	/* Targets once all are back: a device model's target is served again only if it is. */
	for (size_t i = 0; i < n; i++) {
		struct domain *d = domain_table[ids[i]], *t;
		struct keep_domain k;

		if (!d || !keep_domain_get(ids[i], &k) || k.target == XS_DOMID_INVALID)
			continue;
		t = k.target <= XS_DOMID_MAX ? domain_table[k.target] : NULL;
		if (t && t->session)
			session_set_target(d->session, k.target);
		else if (domain_keep(d, false) != XSE_OK) /* its target went meanwhile: so do its rights */
			log_warnx("domain %u: cannot write that its target went", d->domid);
	}
	if (nback || ndead)
		log_info("restart: %zu domains taken up, %zu died or were released meanwhile", nback, ndead);
	if (ndead)
		cleanup_domains_gone(dead, ndead);
	free(dead);
	free(ids);
	/* Shut down or died meanwhile among those taken up: reported as VIRQ_DOM_EXC would have. */
	if (nback)
		domains_changed();
}

int domain_init(struct event_base *base, enum domain_hyp_choice choice)
{
	static const struct hyp_callbacks cb = {port_ready, domains_changed};
	struct xs_ring *ring;
	struct keep_domain k;
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
	marks_open();
	inflight_read();
	if (keep_open() != XSE_OK)
		log_warnx("the kept domains cannot be read: none is taken up");
	/* The daemon's own domain talks to it through a ring too, where the system offers one. */
	if (hyp->own_ring(&ring, &port) == 0) {
		bool kept = keep_domain_get(cfg.master_domid, &k) && k.own && !k.gone;

		if (domain_start(cfg.master_domid, ring, true, port, 0, kept ? &k : NULL) != XSE_OK)
			log_warnx("cannot serve the ring of domain %u", cfg.master_domid);
		else if (!kept && domain_keep(domain_table[cfg.master_domid], true) != XSE_OK)
			log_warnx("cannot keep the ring of domain %u: a restart will start it afresh",
				  cfg.master_domid);
	}
	domains_take_up();
	free(inflight);
	inflight = NULL;
	inflight_len = 0;
	return 0;
}

const char *domain_check(void)
{
	static char fault[160];
	const char *f = keep_check();
	size_t kept_live = 0, served = 0;
	uint32_t *ids = NULL;
	size_t n;

	if (f || !hyp)
		return f;
	for (struct domain *d = domain_list; d; d = d->next) {
		struct keep_domain k, now;

		if (!d->session)
			continue;
		served++;
		keep_fill(d, &now);
		if (!keep_domain_get(d->domid, &k) || k.gone) {
			snprintf(fault, sizeof(fault), "domain %u: served, not kept", d->domid);
			return fault;
		}
		if (k.port != now.port || k.target != now.target || k.features != now.features || k.own != now.own ||
		    k.nquotas != now.nquotas || memcmp(k.quotas, now.quotas, k.nquotas * sizeof(k.quotas[0])) != 0) {
			snprintf(fault, sizeof(fault), "domain %u: kept otherwise than it is", d->domid);
			return fault;
		}
		if (keep_watch_count(d->domid) != watch_set_count(session_watches(d->session))) {
			snprintf(fault, sizeof(fault), "domain %u: %u watches, %u kept", d->domid,
				 watch_set_count(session_watches(d->session)), keep_watch_count(d->domid));
			return fault;
		}
	}
	n = keep_list(&ids);
	for (size_t i = 0; i < n; i++) {
		struct keep_domain k;

		if (keep_domain_get(ids[i], &k) && !k.gone && !is_dormant(ids[i]))
			kept_live++;
	}
	free(ids);
	if (kept_live != served) {
		snprintf(fault, sizeof(fault), "%zu domains served, %zu kept", served, kept_live);
		return fault;
	}
	return NULL;
}

void domain_fini(void)
{
	cleanup_fini();
	/* Their rings and event channels are let go; what is kept of them stays for the next start. */
	if (hyp)
		inflight_write();
	while (domain_list)
		domain_free(domain_list);
	keep_close();
	if (marks)
		munmap(marks, marks_bytes);
	marks = NULL;
	memset(dormant, 0, sizeof(dormant));
	if (hyp)
		hyp->close();
	hyp = NULL;
	free(port_table);
	port_table = NULL;
	port_table_size = 0;
	memset(domain_feature_table, 0, sizeof(domain_feature_table));
}

/* Domains: the hypervisor port in use, introduced domains and their rings, release and death. */
#include "domain.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../proto/path.h"
#include "../proto/ring.h"
#include "arena.h"
#include "config.h"
#include "conn.h"
#include "hmap.h"
#include "hyp.h"
#include "log.h"
#include "regions.h"
#include "store.h"
#include "watch.h"

/* What the daemon offers every ring (server_features). */
#define DOMAIN_FEATURES \
	(XS_RING_F_RECONNECTION | XS_RING_F_ERROR | XS_RING_F_WATCHDEPTH | XS_RING_F_DOMID_ANY)

struct domain {
	uint32_t domid;
	struct domain *next, *prev; /* introduced domains */
	struct conn *conn;
	struct xs_ring *ring;
	bool own_ring;              /* mapped from /proc/xen/xsd_kva, not a grant */
	uint32_t local_port;
	bool shutdown_reported;
};

static const struct hyp_ops *hyp;
static struct domain *domain_table[XS_DOMID_MAX + 1];
static struct domain *domain_list;
static unsigned domain_total;
/* Event channel -> domain, for the port callbacks. */
static struct domain **port_table;
static uint32_t port_table_size;

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

static bool port_set(uint32_t port, struct domain *d)
{
	if (port >= port_table_size) {
		uint32_t n = port_table_size ? port_table_size : 64;

		while (n <= port)
			n *= 2;
		struct domain **nt = realloc(port_table, n * sizeof(*nt));

		if (!nt)
			return false;
		memset(nt + port_table_size, 0, (n - port_table_size) * sizeof(*nt));
		port_table = nt;
		port_table_size = n;
	}
	port_table[port] = d;
	return true;
}

static void port_ready(uint32_t port)
{
	struct domain *d = port < port_table_size ? port_table[port] : NULL;

	if (d && d->conn)
		conn_ring_kick(d->conn);
}

/* Ring notifications go through the port in use (a static adaptor for conn.c). */
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

static enum xs_err bind_port(struct domain *d, uint32_t remote_port)
{
	uint32_t local;

	if (hyp->bind(d->domid, remote_port, &local) < 0)
		return xs_err_from_errno(errno);
	if (!port_set(local, d)) {
		hyp->unbind(local);
		return XSE_ENOMEM;
	}
	d->local_port = local;
	if (d->conn)
		d->conn->port = local;
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
	if (d->conn)
		conn_free(d->conn);
	d->conn = NULL;
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

static enum xs_err domain_start(uint32_t domid, struct xs_ring *ring, bool own, uint32_t port)
{
	struct domain *d = calloc(1, sizeof(*d));
	enum xs_err err;

	if (!d)
		return XSE_ENOMEM;
	d->domid = domid;
	d->ring = ring;
	d->own_ring = own;
	/* A port the hypervisor wrote into the page (dom0less) wins over the one given. */
	if (xs_ring_load(&ring->evtchn_port))
		port = xs_ring_load(&ring->evtchn_port);
	err = bind_port(d, port);
	if (err != XSE_OK) {
		domain_unmap(d);
		free(d);
		return err;
	}
	d->conn = conn_new_ring(ring, d->local_port, notify_port, domid, domid == cfg.priv_domid);
	if (!d->conn) {
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
	xs_ring_store(&ring->server_features, DOMAIN_FEATURES);
	conn_ring_reset(d->conn);
	log_info("domain %u introduced (port %u)", domid, d->local_port);
	return XSE_OK;
}

enum xs_err domain_introduce(uint32_t domid, uint32_t port)
{
	struct domain *d = domain_table[domid];
	struct xs_ring *ring;
	enum xs_err err;

	if (!hyp)
		return XSE_EINVAL; /* no hypervisor: no ring can be mapped */
	if (d) {
		/* Again: a new event channel, and the ring starts over. */
		unbind_port(d);
		err = bind_port(d, port);
		if (err != XSE_OK)
			return err;
		conn_ring_reset(d->conn);
		return XSE_OK;
	}
	ring = hyp->map_ring(domid);
	if (!ring)
		return xs_err_from_errno(errno);
	err = domain_start(domid, ring, false, port);
	if (err == XSE_OK && domid != cfg.priv_domid) {
		watch_fire_special_base("@introduceDomain");
		watch_fire_special_domain("@introduceDomain", domid);
	}
	return err;
}

/*
 * What gone domains leave behind: nodes they own go (with their subtrees,
 * or pass to the privileged domain with --keep-orphans) and permission
 * entries naming them are removed everywhere, so that a later domain with
 * the same id inherits nothing. The nodes are found through each domain's
 * regions (regions.h).
 */
struct cleanup {
	uint8_t gone[(XS_DOMID_MAX + 1) / 8]; /* the domids being cleaned up */
	char **remove;
	size_t nremove, cap_remove;
	char **scrub;
	size_t nscrub, cap_scrub;
	bool oom;
};

static bool is_gone(const struct cleanup *c, uint32_t domid)
{
	return domid <= XS_DOMID_MAX && (c->gone[domid / 8] & (1u << (domid % 8)));
}

static bool list_add(char ***list, size_t *n, size_t *cap, const char *path)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		char **nl = realloc(*list, c * sizeof(char *));

		if (!nl)
			return false;
		*list = nl;
		*cap = c;
	}
	if (!((*list)[*n] = strdup(path)))
		return false;
	(*n)++;
	return true;
}

static bool names_gone(const struct cleanup *c, const struct store_node *n)
{
	for (unsigned i = 1; i < n->nperms; i++)
		if (is_gone(c, n->perms[i].id))
			return true;
	return false;
}

static bool cleanup_visit(void *ctx, const char *path, const struct store_node *n)
{
	struct cleanup *c = ctx;

	if (c->oom)
		return false;
	if (n->nperms && is_gone(c, n->perms[0].id) && strcmp(path, "/") != 0) {
		if (!list_add(&c->remove, &c->nremove, &c->cap_remove, path))
			c->oom = true;
		return cfg.keep_orphans; /* removed with its subtree, or handed over */
	}
	if (names_gone(c, n) && !list_add(&c->scrub, &c->nscrub, &c->cap_scrub, path))
		c->oom = true;
	return true;
}

/* Drop entries naming gone domains; a gone owner is replaced by the privileged domain. */
static void scrub_node(const struct cleanup *c, const char *path)
{
	struct arena a = {0};
	struct store_node n;
	unsigned k = 0;

	if (store_read(&a, path, false, &n) != 1) {
		arena_free(&a);
		return;
	}
	for (unsigned i = 0; i < n.nperms; i++) {
		if (i == 0 && is_gone(c, n.perms[0].id)) {
			n.perms[k] = n.perms[0];
			n.perms[k++].id = cfg.priv_domid;
			continue;
		}
		if (i > 0 && is_gone(c, n.perms[i].id))
			continue;
		n.perms[k++] = n.perms[i];
	}
	store_update(&a, path, &n, n.perms, k, NULL, 0);
	arena_free(&a);
}

static void removed_cb(void *ctx, const char *path, const struct store_node *n)
{
	const char *root = ctx;

	if (strcmp(path, root) != 0)
		watch_fire(path, WATCH_EXACT, n->perms, n->nperms, NULL, 0);
}

static unsigned path_depth(const char *p)
{
	unsigned d = 0;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

static int by_depth(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	unsigned dx = path_depth(x), dy = path_depth(y);

	return dx != dy ? (dx < dy ? -1 : 1) : strcmp(x, y);
}

/* Whether path or one of its ancestors is in the set. */
static bool under_any(const struct hmap *set, const char *path)
{
	char p[XS_PATH_BUF];
	size_t len = strlen(path);

	memcpy(p, path, len + 1);
	for (;;) {
		if (hmap_find(set, p))
			return true;
		if (len <= 1)
			return false;
		len = xs_path_parent_len(p);
		p[len ? len : 1] = '\0';
		len = len ? len : 1;
	}
}

/*
 * Visit every node naming a gone domain: the regions of those domains
 * (regions.h), parents first, each subtree once. Costs what the domains
 * left behind, not the size of the tree; the whole tree only if the index
 * was lost to a shortage of memory.
 */
static int walk_gone_regions(struct cleanup *c, const uint32_t *ids, size_t n)
{
	char **roots = NULL;
	size_t nroots = 0, cap = 0;
	struct hnode *marks = NULL;
	struct hmap walked = {0};
	int rc = 0;

	for (size_t i = 0; i < n && regions_complete(); i++) {
		char **list;
		size_t k = regions_list(ids[i], &list);

		if (nroots + k > cap) {
			size_t ncap = (nroots + k) * 2;
			char **nr = realloc(roots, ncap * sizeof(*nr));

			if (!nr) {
				for (size_t j = 0; j < k; j++)
					free(list[j]);
				free(list);
				c->oom = true;
				break;
			}
			roots = nr;
			cap = ncap;
		}
		if (k)
			memcpy(roots + nroots, list, k * sizeof(*list));
		nroots += k;
		free(list);
	}
	if (!regions_complete() || c->oom || !(marks = calloc(nroots ? nroots : 1, sizeof(*marks)))) {
		c->oom = false;
		rc = store_walk("/", cleanup_visit, c);
	} else {
		if (nroots > 1)
			qsort(roots, nroots, sizeof(*roots), by_depth);
		for (size_t i = 0; i < nroots && rc == 0 && !c->oom; i++) {
			if (under_any(&walked, roots[i]))
				continue;
			rc = store_walk(roots[i], cleanup_visit, c);
			marks[i].key = roots[i];
			if (!hmap_insert(&walked, &marks[i]))
				c->oom = true;
		}
	}
	hmap_free(&walked);
	free(marks);
	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	return rc;
}

static void cleanup_nodes(struct cleanup *c, const uint32_t *ids, size_t n)
{
	if (walk_gone_regions(c, ids, n) < 0 || c->oom)
		log_error("cleaning up the nodes of gone domains failed part way");
	for (size_t i = 0; i < c->nremove; i++) {
		if (cfg.keep_orphans)
			scrub_node(c, c->remove[i]);
		else if (store_remove(c->remove[i], removed_cb, c->remove[i]) == XSE_OK)
			watch_fire(c->remove[i], WATCH_SUBTREE, NULL, 0, NULL, 0);
		free(c->remove[i]);
	}
	for (size_t i = 0; i < c->nscrub; i++) {
		scrub_node(c, c->scrub[i]);
		free(c->scrub[i]);
	}
	/* The special nodes always stay: an owner that died hands them back to the privileged domain. */
	scrub_node(c, "@introduceDomain");
	scrub_node(c, "@releaseDomain");
	free(c->remove);
	free(c->scrub);
}

/* Clean up after these domains, then fire @releaseDomain for each. */
static void cleanup_domains(const uint32_t *ids, size_t n)
{
	struct cleanup *c = calloc(1, sizeof(*c));

	if (!c) {
		log_error("out of memory cleaning up after %zu domains", n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		c->gone[ids[i] / 8] |= (uint8_t)(1u << (ids[i] % 8));
	cleanup_nodes(c, ids, n);
	for (size_t i = 0; i < n; i++) {
		watch_fire_special_base("@releaseDomain");
		watch_fire_special_domain("@releaseDomain", ids[i]);
		log_info("domain %u released", ids[i]);
	}
	free(c);
}

/*
 * Clean-ups wait in a queue and run a few domains per turn of the loop, so
 * that when many die at once (a host shutting down) reads are served in
 * between instead of waiting for all of them. A request that changes the
 * tree or the domains runs them all first (dispatch.c, OP_SETTLED): what a
 * toolstack writes for a domid's next life must not be taken for its last.
 */
#define CLEANUP_PER_TURN 8

static struct {
	uint32_t *ids;
	size_t head, n, cap;
	struct event *ev;
} pending;

/* The next few queued domains: cleaned up, out of the queue. */
static void cleanup_batch(void)
{
	uint32_t ids[CLEANUP_PER_TURN];
	size_t n = pending.n < CLEANUP_PER_TURN ? pending.n : CLEANUP_PER_TURN;

	for (size_t i = 0; i < n; i++)
		ids[i] = pending.ids[pending.head++];
	pending.n -= n;
	if (!pending.n)
		pending.head = 0;
	cleanup_domains(ids, n);
}

/* A turn after the next poll of the loop. */
static void cleanup_arm(void)
{
	static const struct timeval now = {0, 0};

	if (!evtimer_pending(pending.ev, NULL))
		evtimer_add(pending.ev, &now);
}

static void cleanup_turn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!pending.n)
		return; /* a request ran the queue meanwhile */
	cleanup_batch();
	if (pending.n)
		cleanup_arm();
}

void domain_cleanup_flush(void)
{
	while (pending.n)
		cleanup_batch();
}

/* Queue the clean-up of these domains; false if there is no queue or no room for them. */
static bool cleanup_queue(const uint32_t *ids, size_t n)
{
	if (!pending.ev)
		return false;
	if (pending.head + pending.n + n > pending.cap) {
		size_t cap = (pending.n + n) * 2;
		uint32_t *nq = malloc(cap * sizeof(*nq));

		if (!nq)
			return false;
		if (pending.n)
			memcpy(nq, pending.ids + pending.head, pending.n * sizeof(*nq));
		free(pending.ids);
		pending.ids = nq;
		pending.head = 0;
		pending.cap = cap;
	}
	memcpy(pending.ids + pending.head + pending.n, ids, n * sizeof(*ids));
	pending.n += n;
	cleanup_arm();
	return true;
}

/*
 * Domains are gone (released or dead): their connections go at once, so
 * that they see no more events; their nodes and @releaseDomain follow in
 * the clean-up queue. Without the queue (no memory, or no loop yet) they are
 * cleaned up here.
 */
static void domains_gone(struct domain **gone, size_t n)
{
	uint32_t *ids = malloc(sizeof(*ids) * (n ? n : 1));

	if (!ids) {
		log_error("out of memory cleaning up after %zu domains", n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = gone[i]->domid;
		if (gone[i]->conn)
			watch_drop_all(gone[i]->conn);
		domain_free(gone[i]);
		/* A device model acting for this domain loses those rights with it. */
		conn_clear_target(ids[i]);
	}
	if (!cleanup_queue(ids, n)) {
		/* In order: the ones queued before these go first. */
		domain_cleanup_flush();
		cleanup_domains(ids, n);
	}
	free(ids);
}

enum xs_err domain_release(uint32_t domid)
{
	struct domain *d = domain_table[domid];

	if (!d)
		return XSE_ENOENT;
	if (!d->conn)
		return XSE_EINVAL;
	domains_gone(&d, 1);
	return XSE_OK;
}

enum xs_err domain_resume(uint32_t domid)
{
	struct domain *d = domain_table[domid];

	if (!d)
		return XSE_ENOENT;
	if (!d->conn)
		return XSE_EINVAL;
	d->shutdown_reported = false;
	return XSE_OK;
}

enum xs_err domain_set_target(uint32_t domid, uint32_t target)
{
	struct domain *d = domain_table[domid], *t = domain_table[target];

	if (!d || !t)
		return XSE_ENOENT;
	if (!d->conn || !t->conn)
		return XSE_EINVAL;
	conn_set_target(d->conn, target);
	return XSE_OK;
}

/* VIRQ_DOM_EXC: find the introduced domains that shut down or died. */
static void domains_changed(void)
{
	struct domain **gone = NULL;
	size_t ngone = 0, cap = 0;
	bool shutdown_seen = false;

	for (struct domain *d = domain_list; d; d = d->next) {
		enum hyp_domain_state st = d->domid == cfg.master_domid
						   ? HYP_DOM_RUNNING
						   : hyp->domain_state(d->domid);

		if (st == HYP_DOM_NONE || st == HYP_DOM_DYING) {
			if (ngone == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct domain **ng = realloc(gone, nc * sizeof(*ng));

				if (!ng)
					break; /* the rest are found at the next change */
				gone = ng;
				cap = nc;
			}
			gone[ngone++] = d;
		} else if (st == HYP_DOM_SHUTDOWN && !d->shutdown_reported) {
			d->shutdown_reported = true;
			shutdown_seen = true;
			watch_fire_special_domain("@releaseDomain", d->domid);
		}
	}
	if (shutdown_seen)
		watch_fire_special_base("@releaseDomain");
	if (ngone)
		domains_gone(gone, ngone);
	free(gone);
}

int domain_init(struct event_base *base, enum domain_hyp_choice choice)
{
	static const struct hyp_callbacks cb = {port_ready, domains_changed};
	struct xs_ring *ring;
	uint32_t port;

	pending.ev = evtimer_new(base, cleanup_turn, NULL);
	if (!pending.ev)
		return -1;
	if (choice == DOMAIN_HYP_NONE)
		return 0;
	if (choice == DOMAIN_HYP_XEN || (choice == DOMAIN_HYP_AUTO && hyp_xen_present()))
		hyp = &hyp_xen;
	else
		hyp = &hyp_sim;
	if (hyp->open(base, &cb) < 0) {
		log_error("cannot open the %s hypervisor port: %s", hyp->name, strerror(errno));
		hyp = NULL;
		return -1;
	}
	log_info("hypervisor port: %s", hyp->name);
	/* The daemon's own domain talks to it through a ring too, where the system offers one. */
	if (hyp->own_ring(&ring, &port) == 0 &&
	    domain_start(cfg.master_domid, ring, true, port) != XSE_OK)
		log_error("cannot serve the ring of domain %u", cfg.master_domid);
	return 0;
}

void domain_fini(void)
{
	domain_cleanup_flush();
	if (pending.ev)
		event_free(pending.ev);
	pending.ev = NULL;
	free(pending.ids);
	pending.ids = NULL;
	pending.cap = 0;
	while (domain_list)
		domain_free(domain_list);
	if (hyp)
		hyp->close();
	hyp = NULL;
	free(port_table);
	port_table = NULL;
	port_table_size = 0;
}

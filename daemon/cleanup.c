/* Clean-up after gone domains: their nodes and permission entries removed, then @releaseDomain, a few domains per turn. */
#include "cleanup.h"

#include <event2/event.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/path.h"
#include "arena.h"
#include "config.h"
#include "grow.h"
#include "hmap.h"
#include "keep.h"
#include "log.h"
#include "regions.h"
#include "store.h"
#include "watch.h"

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
	if (!GROW(*list, *cap, *n + 1, 16) || !((*list)[*n] = strdup(path)))
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
	static struct arena a; /* kept between nodes; reset after each */
	struct store_node n;
	unsigned k = 0;

	if (store_read(&a, path, false, &n) != XSE_OK) {
		arena_reset(&a);
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
	arena_reset(&a);
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
 * was lost to a shortage of memory. XSE_OK, or the walk's error.
 */
static enum xs_err walk_gone_regions(struct cleanup *c, const uint32_t *ids, size_t n)
{
	char **roots = NULL;
	size_t nroots = 0, cap = 0;
	struct hnode *marks = NULL;
	struct hmap walked = {0};
	enum xs_err err = XSE_OK;

	for (size_t i = 0; i < n && regions_complete(); i++) {
		char **list;
		size_t k = regions_list(ids[i], &list);

		if (!GROW(roots, cap, nroots + k, 16)) {
			for (size_t j = 0; j < k; j++)
				free(list[j]);
			free(list);
			c->oom = true;
			break;
		}
		if (k)
			memcpy(roots + nroots, list, k * sizeof(*list));
		nroots += k;
		free(list);
	}
	if (!regions_complete() || c->oom || !(marks = calloc(nroots ? nroots : 1, sizeof(*marks)))) {
		c->oom = false;
		err = store_walk("/", cleanup_visit, c);
	} else {
		if (nroots > 1)
			qsort(roots, nroots, sizeof(*roots), by_depth);
		for (size_t i = 0; i < nroots && err == XSE_OK && !c->oom; i++) {
			if (under_any(&walked, roots[i]))
				continue;
			err = store_walk(roots[i], cleanup_visit, c);
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
	return err;
}

/* One group of the store: a clean-up cut short by a crash leaves all of the domains' nodes or none. */
static void cleanup_nodes(struct cleanup *c, const uint32_t *ids, size_t n)
{
	store_group_begin();
	if (walk_gone_regions(c, ids, n) != XSE_OK || c->oom)
		log_warnx("cleaning up the nodes of gone domains failed part way");
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
	/* What was kept of them for a restart goes in the same group: a crash before it redoes it all. */
	keep_domains_cleaned(ids, n);
	if (store_group_end(XSE_OK) != XSE_OK)
		log_warnx("cleaning up the nodes of gone domains: the store could not write it; they stay");
	free(c->remove);
	free(c->scrub);
}

/* Clean up after these domains, then fire @releaseDomain for each. */
static void cleanup_domains(const uint32_t *ids, size_t n)
{
	struct cleanup *c = calloc(1, sizeof(*c));

	if (!c) {
		log_warnx("out of memory cleaning up after %zu domains", n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		c->gone[ids[i] / 8] |= (uint8_t)(1u << (ids[i] % 8));
	cleanup_nodes(c, ids, n);
	/* What they held goes back to the system, not only to malloc's free lists. */
	malloc_trim(0);
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
 * tree or the domains runs them all first (the dispatch table's OP_SETTLED): what a
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

void cleanup_flush(void)
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

void cleanup_domains_gone(const uint32_t *ids, size_t n)
{
	if (!cleanup_queue(ids, n)) {
		/* In order: the ones queued before these go first. */
		cleanup_flush();
		cleanup_domains(ids, n);
	}
}

int cleanup_init(struct event_base *base)
{
	pending.ev = evtimer_new(base, cleanup_turn, NULL);
	return pending.ev ? 0 : -1;
}

void cleanup_fini(void)
{
	cleanup_flush();
	if (pending.ev)
		event_free(pending.ev);
	pending.ev = NULL;
	free(pending.ids);
	pending.ids = NULL;
	pending.cap = 0;
}

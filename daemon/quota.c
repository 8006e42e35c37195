/* Quotas: the values (global defaults and each domain's own), and the one accounting authority that charges and releases them per domain. */
#include "quota.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "grow.h"
#include "log.h"
#include "pack.h"
#include "store.h"

/* Names and descriptions are the C daemon's (HEAD), as CONTROL quota shows them. */
static const struct {
	const char *name;
	const char *descr;
} quota_table[QUOTA_COUNT] = {
	[QUOTA_NODES] = {"nodes", "Nodes per domain"},
	[QUOTA_WATCHES] = {"watches", "Watches per domain"},
	[QUOTA_OUTSTANDING] = {"outstanding", "Outstanding requests per domain"},
	[QUOTA_MEMORY] = {"memory", "Total Xenstore memory per domain"},
	[QUOTA_TRANSACTIONS] = {"transactions", "Active transactions per domain"},
	[QUOTA_TRANSACTION_NODES] = {"transaction-nodes", "Max. number of accessed nodes per transaction"},
	[QUOTA_NODE_PERMISSIONS] = {"node-permissions", "Max. number of permissions per node"},
	[QUOTA_PATH_MAX] = {"path-max", "Max. length of a node path"},
	[QUOTA_NODE_SIZE] = {"node-size", "Max. size of a node"},
};

#define SOFT_PREFIX "soft-"

unsigned quota_hard[QUOTA_COUNT] = {
	[QUOTA_NODES] = 1000,
	[QUOTA_WATCHES] = 128,
	[QUOTA_OUTSTANDING] = 20,
	[QUOTA_MEMORY] = 2560 * 1024,
	[QUOTA_TRANSACTIONS] = 10,
	[QUOTA_TRANSACTION_NODES] = 1024,
	[QUOTA_NODE_PERMISSIONS] = 5,
	[QUOTA_PATH_MAX] = XS_REL_PATH_MAX,
	[QUOTA_NODE_SIZE] = 2048,
};
unsigned quota_soft_memory = 2048 * 1024;

/* The highest usage seen over unprivileged domains (CONTROL quota max). */
static unsigned quota_max_global[QUOTA_COUNT];

const char *quota_name(enum quota_id q)
{
	return quota_table[q].name;
}

const char *quota_description(enum quota_id q)
{
	return quota_table[q].descr;
}

int quota_lookup(const char *name)
{
	for (int i = 0; i < QUOTA_COUNT; i++)
		if (strcmp(quota_table[i].name, name) == 0)
			return i;
	return -1;
}

bool quota_has_soft(enum quota_id q)
{
	return q == QUOTA_MEMORY;
}

bool quota_parse_name(const char *name, enum quota_id *q, bool *soft)
{
	int i;

	*soft = strncmp(name, SOFT_PREFIX, strlen(SOFT_PREFIX)) == 0;
	i = quota_lookup(*soft ? name + strlen(SOFT_PREFIX) : name);
	if (i < 0 || (*soft && !quota_has_soft(i)))
		return false;
	*q = i;
	return true;
}

bool quota_parse_value(const char *s, unsigned max, unsigned *v)
{
	unsigned long n = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return false;
	}
	*v = (unsigned)n;
	return true;
}

bool quota_set(const char *name, const char *value, bool soft)
{
	unsigned v;
	int q = quota_lookup(name);

	if (q < 0 || !quota_parse_value(value, 0x7fffffffu, &v))
		return false;
	if (soft) {
		if (!quota_has_soft(q))
			return false;
		quota_soft_memory = v;
		return true;
	}
	/* -M's rule: path-max cannot exceed what the protocol allows for relative paths. */
	if (q == QUOTA_PATH_MAX && (v == 0 || v > XS_REL_PATH_MAX))
		v = XS_REL_PATH_MAX;
	quota_hard[q] = v;
	return true;
}

/*
 * Per domain id, in pages of 256 domains allocated on first use: a lookup
 * is two indexings, and a host with few domains pays a few pages.
 */
struct quota_dom {
	unsigned used[QUOTA_COUNT];
	unsigned max[QUOTA_COUNT];
	unsigned hard[QUOTA_COUNT]; /* its own values, valid when known */
	unsigned soft_memory;
	bool known;
};
#define QUOTA_PAGE 256u
struct quota_page {
	struct quota_dom dom[QUOTA_PAGE];
};
static struct quota_page *quota_pages[(XS_DOMID_MAX + 1) / QUOTA_PAGE];

static struct quota_dom *slot(uint32_t domid, bool create)
{
	struct quota_page **pg;

	if (domid > XS_DOMID_MAX)
		return NULL;
	pg = &quota_pages[domid / QUOTA_PAGE];
	if (!*pg && create)
		*pg = calloc(1, sizeof(**pg));
	return *pg ? &(*pg)->dom[domid % QUOTA_PAGE] : NULL;
}

/* The domain's record with its values, copied from the global ones if it has none yet; NULL on ENOMEM. */
static struct quota_dom *known(uint32_t domid)
{
	struct quota_dom *d = slot(domid, true);

	if (d && !d->known) {
		memcpy(d->hard, quota_hard, sizeof(d->hard));
		d->soft_memory = quota_soft_memory;
		d->known = true;
	}
	return d;
}

static void note_max(struct quota_dom *d, enum quota_id q, unsigned v, bool unpriv)
{
	if (v > d->max[q])
		d->max[q] = v;
	if (unpriv && v > quota_max_global[q])
		quota_max_global[q] = v;
}

bool quota_domain_new(uint32_t domid)
{
	return known(domid) != NULL;
}

void quota_domain_gone(uint32_t domid)
{
	struct quota_dom *d = slot(domid, false);

	if (!d)
		return;
	d->known = false;
	memcpy(d->max, d->used, sizeof(d->max));
}

bool quota_domain_known(uint32_t domid)
{
	struct quota_dom *d = slot(domid, false);

	return d && d->known;
}

unsigned quota_value(uint32_t domid, enum quota_id q, bool soft)
{
	struct quota_dom *d = domid == QUOTA_GLOBAL ? NULL : known(domid);

	if (soft)
		return d ? d->soft_memory : quota_soft_memory;
	return d ? d->hard[q] : quota_hard[q];
}

bool quota_set_value(uint32_t domid, enum quota_id q, bool soft, unsigned v)
{
	struct quota_dom *d = NULL;

	if (domid != QUOTA_GLOBAL) {
		d = known(domid);
		if (!d)
			return false;
	}
	if (soft)
		*(d ? &d->soft_memory : &quota_soft_memory) = v;
	else
		*(d ? &d->hard[q] : &quota_hard[q]) = v;
	return true;
}

bool quota_allows(const struct ident *who, enum quota_id q, size_t value)
{
	struct quota_dom *d;
	unsigned limit;

	if (who->priv)
		return true;
	d = known(who->domid);
	limit = d ? d->hard[q] : quota_hard[q];
	if (limit && value >= limit)
		return false;
	if (d)
		note_max(d, q, (unsigned)value, true); /* below limit, or a path or list length */
	return true;
}

enum xs_err quota_charge(const struct ident *who, enum quota_id q, unsigned n)
{
	struct quota_dom *d = known(who->domid);
	unsigned have = d ? d->used[q] : 0;
	unsigned limit = d ? d->hard[q] : quota_hard[q];

	/* Memory answers ENOMEM, as the C daemon's memory quota does; counts ENOSPC. */
	if (!who->priv && limit && (uint64_t)have + n >= limit)
		return q == QUOTA_MEMORY ? XSE_ENOMEM : XSE_ENOSPC;
	if (!d)
		return who->priv ? XSE_OK : XSE_ENOMEM;
	d->used[q] += n;
	note_max(d, q, d->used[q], !who->priv);
	if (q == QUOTA_MEMORY && !who->priv && d->soft_memory && d->used[q] >= d->soft_memory &&
	    d->used[q] - n < d->soft_memory)
		log_warnx("domain %u: memory %u bytes, past its soft quota of %u", who->domid,
			  d->used[q], d->soft_memory);
	return XSE_OK;
}

bool quota_hold(const struct ident *who, enum quota_id q, unsigned n)
{
	struct quota_dom *d = known(who->domid);

	if (!d)
		return false;
	/* No maximum is kept, as the C daemon keeps none for outstanding: `quota max` shows 0. */
	d->used[q] += n;
	return true;
}

bool quota_reached(const struct ident *who, enum quota_id q)
{
	struct quota_dom *d;

	if (who->priv)
		return false;
	d = slot(who->domid, false);
	return d && d->known && d->hard[q] && d->used[q] >= d->hard[q];
}

void quota_release(const struct ident *who, enum quota_id q, unsigned n)
{
	struct quota_dom *d = slot(who->domid, false);

	if (!d)
		return; /* a privileged charge made while memory was short */
	if (d->used[q] < n) {
		log_warnx("quota %s of domain %u released below zero", quota_name(q), who->domid);
		n = d->used[q];
	}
	d->used[q] -= n;
}

void quota_transfer(uint32_t from, uint32_t to, enum quota_id q, unsigned n)
{
	struct quota_dom *f = slot(from, false), *t = known(to);

	if (f)
		f->used[q] -= n < f->used[q] ? n : f->used[q];
	if (t) {
		t->used[q] += n;
		note_max(t, q, t->used[q], true);
	}
}

unsigned quota_used(uint32_t domid, enum quota_id q)
{
	struct quota_dom *d;

	/* Node counts come from the store's hook: complete once its start-up walk is. */
	if (q == QUOTA_NODES)
		store_settle();
	d = slot(domid, false);
	return d ? d->used[q] : 0;
}

unsigned quota_max(uint32_t domid, enum quota_id q)
{
	struct quota_dom *d;

	if (q == QUOTA_NODES)
		store_settle();
	if (domid == QUOTA_GLOBAL)
		return quota_max_global[q];
	d = slot(domid, false);
	return d ? d->max[q] : 0;
}

uint32_t quota_next_domain(uint32_t from)
{
	uint32_t id = from;

	while (id <= XS_DOMID_MAX) {
		const struct quota_page *pg = quota_pages[id / QUOTA_PAGE];

		if (!pg)
			id = (id / QUOTA_PAGE + 1) * QUOTA_PAGE;
		else if (pg->dom[id % QUOTA_PAGE].known)
			return id;
		else
			id++;
	}
	return QUOTA_GLOBAL;
}

void quota_max_reset(void)
{
	memset(quota_max_global, 0, sizeof(quota_max_global));
	for (size_t i = 0; i < sizeof(quota_pages) / sizeof(quota_pages[0]); i++)
		for (unsigned j = 0; quota_pages[i] && j < QUOTA_PAGE; j++)
			memcpy(quota_pages[i]->dom[j].max, quota_pages[i]->dom[j].used,
			       sizeof(quota_pages[i]->dom[j].max));
}

/*
 * Nodes owned per domain (the first permission entry's domain), kept as the
 * store reports its changes: counted once at open, then by each change, so
 * a check costs a lookup. Special nodes are not counted.
 */
static void nodes_account(const struct xs_perm *perms, unsigned n, int delta)
{
	struct quota_dom *d = n ? slot(perms[0].id, true) : NULL;

	if (!d)
		return;
	if (delta < 0 && !d->used[QUOTA_NODES])
		return;
	d->used[QUOTA_NODES] += (unsigned)delta;
	if (d->used[QUOTA_NODES] > d->max[QUOTA_NODES])
		d->max[QUOTA_NODES] = d->used[QUOTA_NODES];
}

static void nodes_reset(void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(quota_pages) / sizeof(quota_pages[0]); i++)
		for (unsigned j = 0; quota_pages[i] && j < QUOTA_PAGE; j++)
			quota_pages[i]->dom[j].used[QUOTA_NODES] = 0;
}

static void nodes_added(void *ctx, const char *path, const struct xs_perm *perms, unsigned n,
			const struct xs_perm *pperms, unsigned np)
{
	(void)ctx;
	(void)pperms;
	(void)np;
	if (path[0] == '/')
		nodes_account(perms, n, 1);
}

static void nodes_removed(void *ctx, const char *path, const struct xs_perm *perms, unsigned n)
{
	(void)ctx;
	if (path[0] == '/')
		nodes_account(perms, n, -1);
}

static void nodes_perms_set(void *ctx, const char *path, const struct xs_perm *old, unsigned nold,
			    const struct xs_perm *perms, unsigned n)
{
	(void)ctx;
	if (path[0] != '/' || (nold && n && old[0].id == perms[0].id))
		return;
	nodes_account(old, nold, -1);
	nodes_account(perms, n, 1);
}

static void nodes_lost(void *ctx)
{
	(void)ctx;
	log_warnx("quota: some nodes could not be counted; node counts may be low");
}

const struct store_hook quota_store_hook = {nodes_reset, nodes_added, nodes_removed,
					    nodes_perms_set, nodes_lost};

/*
 * A transaction's own changes to the node counts, per domain, in a sorted
 * array: a transaction touches few domains (an unprivileged one at most
 * its transaction-nodes quota), so a lookup is a binary search.
 */
struct quota_pending_dom {
	uint32_t domid;
	int64_t nodes;
};

/* Where domid is in p, or would go. */
static size_t pending_find(const struct quota_pending *p, uint32_t domid)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->dom[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int64_t pending_of(const struct quota_pending *p, uint32_t domid)
{
	size_t i;

	if (!p)
		return 0;
	i = pending_find(p, domid);
	return i < p->n && p->dom[i].domid == domid ? p->dom[i].nodes : 0;
}

/* As nodes_account, into the transaction's counts. */
static bool pending_account(struct quota_pending *p, const char *path, const struct xs_perm *perms,
			    unsigned n, int delta)
{
	size_t i;

	if (path[0] != '/' || !n)
		return true;
	i = pending_find(p, perms[0].id);
	if (i == p->n || p->dom[i].domid != perms[0].id) {
		if (!GROW(p->dom, p->cap, p->n + 1, 4))
			return false;
		memmove(&p->dom[i + 1], &p->dom[i], (p->n - i) * sizeof(*p->dom));
		p->dom[i] = (struct quota_pending_dom){perms[0].id, 0};
		p->n++;
	}
	p->dom[i].nodes += delta;
	return true;
}

bool quota_pending_create(struct quota_pending *p, const char *path, const struct xs_perm *perms,
			  unsigned nperms)
{
	p->created = true;
	return pending_account(p, path, perms, nperms, 1);
}

bool quota_pending_remove(struct quota_pending *p, const char *path, const struct xs_perm *perms,
			  unsigned nperms)
{
	return pending_account(p, path, perms, nperms, -1);
}

bool quota_pending_perms(struct quota_pending *p, const char *path, const struct xs_perm *old,
			 unsigned nold, const struct xs_perm *perms, unsigned nperms)
{
	if (nold && nperms && old[0].id == perms[0].id)
		return true;
	return pending_account(p, path, old, nold, -1) && pending_account(p, path, perms, nperms, 1);
}

void quota_pending_pack(const struct quota_pending *p, struct pack *b)
{
	pack_u32(b, p->created);
	pack_u32(b, (uint32_t)p->n);
	for (size_t i = 0; i < p->n; i++) {
		pack_u32(b, p->dom[i].domid);
		pack_u64(b, (uint64_t)p->dom[i].nodes);
	}
}

bool quota_pending_unpack(struct quota_pending *p, struct unpack *r)
{
	uint32_t n;

	quota_pending_free(p);
	p->created = unpack_u32(r) != 0;
	n = unpack_u32(r);
	if (r->bad || n > (size_t)(r->end - r->p) / 12 || (n && !GROW(p->dom, p->cap, n, 4)))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		p->dom[i].domid = unpack_u32(r);
		p->dom[i].nodes = (int64_t)unpack_u64(r);
		if (i && p->dom[i].domid <= p->dom[i - 1].domid)
			r->bad = true;
	}
	p->n = n;
	return !r->bad;
}

void quota_pending_free(struct quota_pending *p)
{
	free(p->dom);
	memset(p, 0, sizeof(*p));
}

bool quota_nodes_allow(const struct ident *who, const struct quota_pending *p, unsigned n)
{
	int64_t v;

	if (who->priv)
		return true;
	/* A transaction that removed more than it created may have a negative balance. */
	v = (int64_t)quota_used(who->domid, QUOTA_NODES) + pending_of(p, who->domid) + n;
	return quota_allows(who, QUOTA_NODES, v > 0 ? (size_t)v : 0);
}

enum xs_err quota_pending_commit(const struct ident *who, const struct quota_pending *p)
{
	struct quota_dom *d;
	unsigned limit;
	int64_t delta;

	/*
	 * Only the committing client's domain: an unprivileged client owns
	 * what it creates and gives no node away, so no other domain's count
	 * grows by its commit. As the C daemon, a commit that lowers the
	 * count passes.
	 */
	if (who->priv || !p->created)
		return XSE_OK;
	delta = pending_of(p, who->domid);
	if (delta < 0)
		return XSE_OK;
	d = known(who->domid);
	limit = d ? d->hard[QUOTA_NODES] : quota_hard[QUOTA_NODES];
	if (limit && (int64_t)quota_used(who->domid, QUOTA_NODES) + delta >= limit)
		return XSE_ENOSPC;
	return XSE_OK;
}

static void emergency_free(void);

void quota_fini(void)
{
	for (size_t i = 0; i < sizeof(quota_pages) / sizeof(quota_pages[0]); i++) {
		free(quota_pages[i]);
		quota_pages[i] = NULL;
	}
	memset(quota_max_global, 0, sizeof(quota_max_global));
	emergency_free();
}

/*
 * The global budget: the daemon's heap and its store file together. Measured
 * at most every BUDGET_MEASURE_MS (a heap census walks malloc's bins), which
 * the check allows for by its reserve.
 */
#define BUDGET_MEASURE_MS 50u

static struct {
	uint64_t heap, store, at_ms;
	bool measured;
} budget;

static void budget_measure(void)
{
	struct mallinfo2 mi = mallinfo2();

	budget.heap = mi.uordblks + mi.hblkhd;
	budget.store = store_file_bytes();
	budget.at_ms = clock_coarse_ms();
	budget.measured = true;
}

/* Heap and store now, measured again if fresh or due; inline in the check each growing request makes. */
static inline uint64_t budget_now(bool fresh)
{
	if (fresh || !budget.measured || clock_coarse_ms() - budget.at_ms >= BUDGET_MEASURE_MS)
		budget_measure();
	return budget.heap + budget.store;
}

uint64_t quota_budget_used(bool fresh, uint64_t *heap, uint64_t *store)
{
	budget_now(fresh);
	if (heap)
		*heap = budget.heap;
	if (store)
		*store = budget.store;
	return budget.heap + budget.store;
}

size_t quota_budget = 512u << 20;
size_t quota_budget_reserve = 32u << 20;
size_t quota_emergency = 1u << 20;

/*
 * When malloc itself fails (the system's limits, not the budget, were
 * met), the emergency reserve, a block held since the start and never
 * touched, is given back for the privileged work that met the failure,
 * and unprivileged growth is refused as past the budget until the heap is
 * well below where it was then: what the reserve gave is not taken by the
 * guests that used up the rest.
 */
static struct {
	void *block;    /* the reserve, while held */
	bool short_of;  /* released: unprivileged growth refused until memory is back */
	uint64_t level; /* heap in use just after the release */
} emergency;

static void emergency_free(void)
{
	free(emergency.block);
	memset(&emergency, 0, sizeof(emergency));
}

void quota_emergency_take(void)
{
	if (!emergency.block && quota_emergency)
		emergency.block = malloc(quota_emergency);
}

bool quota_memory_short(void)
{
	bool freed = emergency.block != NULL;
	uint64_t heap;

	free(emergency.block);
	emergency.block = NULL;
	quota_budget_used(true, &heap, NULL);
	emergency.level = heap;
	if (!emergency.short_of)
		log_warnx("memory is short: %s; requests of unprivileged domains that would grow the daemon get"
			  " ENOMEM until it is back",
			  freed ? "the emergency reserve is given back" : "no emergency reserve is left");
	emergency.short_of = true;
	return freed;
}

bool quota_memory_is_short(void)
{
	return emergency.short_of;
}

/*
 * Short of memory: back once the heap went down by the reserve and as much
 * again (1 MiB at least), or (the system's limit moved, or what failed was
 * one big request) that much can be had again, tried every 100 ms; the
 * reserve is then taken again.
 */
static void memory_back(void)
{
	static uint64_t tried_ms;
	uint64_t heap, margin = quota_emergency > (1u << 20) ? quota_emergency : (1u << 20);

	quota_budget_used(false, &heap, NULL);
	if (heap + margin > emergency.level) {
		void *trial;

		if (clock_ms() - tried_ms < 100)
			return;
		tried_ms = clock_ms();
		if (!(trial = malloc(margin + quota_emergency)))
			return;
		free(trial);
	}
	quota_emergency_take();
	if (quota_emergency && !emergency.block)
		return;
	emergency.short_of = false;
	log_info("memory is back: unprivileged requests may grow the daemon again");
}

bool quota_budget_allows(const struct ident *who)
{
	uint64_t used, limit = quota_budget;

	if (emergency.short_of)
		memory_back();
	if (emergency.short_of && !who->priv)
		return false;
	if (!limit)
		return true;
	used = budget_now(false);
	if (!who->priv)
		limit = limit > quota_budget_reserve ? limit - quota_budget_reserve : 0;
	return used < limit;
}

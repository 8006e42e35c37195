/*
 * The simulated hypervisor's side of the hypervisor handle: calls to
 * xs-simhyp (simhyp/simhyp_call.c), the domain's memory and grant table in
 * memfds this process shares with it, notifications written straight into
 * the peer port's eventfd.
 */
#include "xsl_hyp.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "../simhyp/simhyp_call.h"

#define PAGE SIMHYP_PAGE
#define DEFAULT_MEM_PAGES 4096u
#define GNT_FRAMES 4u /* 2048 references */

/*
 * A domain's memory and grant table, mapped here: shared by the handles
 * acting for the domain in this process (a simulated domain and the
 * handles opened on it), which allocate pages and references from it.
 */
struct sim_mem {
	pthread_mutex_t lock;
	unsigned refs;
	uint8_t *base;
	uint32_t pages;
	struct grant_entry_v1 *gt;
	uint32_t nr_grefs;
	uint8_t *page_used; /* a byte per page */
	uint8_t *ref_used;  /* a byte per grant reference */
	uint32_t *ref_free; /* the free references, a stack: the lowest on top at first */
	uint32_t ref_nfree;
	struct share *shares;
};

/* One xsl_gnt_share: its pages and references, for unshare. */
struct share {
	struct share *next;
	void *area;
	unsigned count;
	uint32_t refs[];
};

struct sim_port {
	bool used, known;
	int efd;      /* ours: readable while notified */
	int peer_fd;  /* the peer port's eventfd, as of gen; -1: unbound */
	uint32_t gen;
};

/* A granter's memory as mapped here (one incarnation of a domain). */
struct granter {
	struct granter *next;
	uint32_t domid;
	uint64_t inc;
	int fd;        /* its memory file, kept for areas of their own */
	uint8_t *base;
	uint8_t *ro;   /* the same memory read-only, once a read-only page was handed out */
	uint32_t pages;
	unsigned areas;
};

/* One xsl_gnt_map or xsl_gnt_map_pages. */
struct area {
	struct area *next;
	uint8_t *addr;    /* xsl_gnt_map's; NULL: pages handed out one by one (xsl_gnt_map_pages) */
	unsigned count;
	bool own_mapping; /* pages remapped into an area of its own (not a pointer into the granter's memory) */
	struct granter *g;
	uint32_t handles[];
};

struct sim_hyp {
	struct xsl_hyp base;
	pthread_mutex_t lock;
	int fd;
	struct sim_mem *mem;
	uint32_t *shinfo;
	size_t shinfo_size;
	uint32_t ports_max;
	struct sim_port *ports;
	uint32_t ports_cap;
	struct granter *granters;
	struct area *areas;
};

static const struct xsl_hyp_ops sim_ops;

static struct sim_hyp *S(struct xsl_hyp *h)
{
	return (struct sim_hyp *)h;
}

/* ---- memory ---- */

static void mem_put(struct sim_mem *m)
{
	bool last;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	last = --m->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (!last)
		return;
	while (m->shares) {
		struct share *s = m->shares;

		m->shares = s->next;
		free(s);
	}
	munmap(m->base, (size_t)m->pages * PAGE);
	munmap(m->gt, (size_t)GNT_FRAMES * PAGE);
	free(m->page_used);
	free(m->ref_used);
	free(m->ref_free);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Memory and a grant table in two fresh memfds (both returned to be handed to the hypervisor). */
static int mem_new(uint32_t pages, struct sim_mem **out, int *mem_fd, int *gt_fd)
{
	struct sim_mem *m = calloc(1, sizeof(*m));
	int err = 0;

	*mem_fd = *gt_fd = -1;
	if (!m)
		return -ENOMEM;
	m->refs = 1;
	m->base = MAP_FAILED;
	m->gt = MAP_FAILED;
	pthread_mutex_init(&m->lock, NULL);
	m->pages = pages;
	m->nr_grefs = GNT_FRAMES * (PAGE / sizeof(struct grant_entry_v1));
	*mem_fd = memfd_create("simdom-memory", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	*gt_fd = memfd_create("simdom-grant-table", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*mem_fd < 0 || *gt_fd < 0 || ftruncate(*mem_fd, (off_t)pages * PAGE) < 0 ||
	    ftruncate(*gt_fd, (off_t)GNT_FRAMES * PAGE) < 0)
		err = -errno;
	if (!err) {
		m->base = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, *mem_fd, 0);
		m->gt = mmap(NULL, (size_t)GNT_FRAMES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, *gt_fd, 0);
		if (m->base == MAP_FAILED || m->gt == MAP_FAILED)
			err = -errno;
	}
	if (!err) {
		m->page_used = calloc(pages, 1);
		m->ref_used = calloc(m->nr_grefs, 1);
		m->ref_free = calloc(m->nr_grefs, sizeof(uint32_t));
		if (!m->page_used || !m->ref_used || !m->ref_free)
			err = -ENOMEM;
	}
	if (err) {
		if (m->base != MAP_FAILED)
			munmap(m->base, (size_t)pages * PAGE);
		if (m->gt != MAP_FAILED)
			munmap(m->gt, (size_t)GNT_FRAMES * PAGE);
		free(m->page_used);
		free(m->ref_used);
		free(m->ref_free);
		free(m);
		if (*mem_fd >= 0)
			close(*mem_fd);
		if (*gt_fd >= 0)
			close(*gt_fd);
		*mem_fd = *gt_fd = -1;
		return err;
	}
	/* Xen reserves the first references (console, store): handed out only by number. */
	for (uint32_t r = 0; r < GNTTAB_NR_RESERVED_ENTRIES; r++)
		m->ref_used[r] = 1;
	for (uint32_t r = m->nr_grefs; r-- > GNTTAB_NR_RESERVED_ENTRIES;)
		m->ref_free[m->ref_nfree++] = r;
	*out = m;
	return 0;
}

static void *mem_alloc(struct sim_mem *m, unsigned count)
{
	uint32_t run = 0;

	pthread_mutex_lock(&m->lock);
	for (uint32_t p = 0; p < m->pages; p++) {
		run = m->page_used[p] ? 0 : run + 1;
		if (run == count) {
			uint32_t first = p + 1 - count;

			memset(m->page_used + first, 1, count);
			pthread_mutex_unlock(&m->lock);
			memset(m->base + (size_t)first * PAGE, 0, (size_t)count * PAGE);
			return m->base + (size_t)first * PAGE;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* The first page's frame if [area, area + count pages) is memory of m, else -1. */
static long mem_frame(struct sim_mem *m, const void *area, unsigned count)
{
	uintptr_t a = (uintptr_t)area, b = (uintptr_t)m->base;

	if (a < b || (a - b) % PAGE || (a - b) / PAGE + count > m->pages)
		return -1;
	return (long)((a - b) / PAGE);
}

static void mem_free(struct sim_mem *m, void *area, unsigned count)
{
	long f = mem_frame(m, area, count);

	if (f < 0)
		return;
	/* The pages' memory goes back to the system; whoever still maps them reads zeros. */
	madvise(area, (size_t)count * PAGE, MADV_REMOVE);
	pthread_mutex_lock(&m->lock);
	memset(m->page_used + f, 0, count);
	pthread_mutex_unlock(&m->lock);
}

/* Write a grant entry as a guest kernel does: frame and domid, a barrier, then the flags. */
static void entry_write(struct sim_mem *m, uint32_t ref, unsigned domid, uint32_t frame, int readonly)
{
	struct grant_entry_v1 *e = &m->gt[ref];

	__atomic_store_n(&e->frame, frame, __ATOMIC_RELAXED);
	__atomic_store_n(&e->domid, (domid_t)domid, __ATOMIC_RELAXED);
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

/* End a grant unless it is mapped (Linux's gnttab_end_foreign_access_ref): 0 or -EBUSY. */
static int entry_end(struct sim_mem *m, uint32_t ref)
{
	uint16_t flags = __atomic_load_n(&m->gt[ref].flags, __ATOMIC_SEQ_CST);

	do {
		if (flags & (GTF_reading | GTF_writing))
			return -EBUSY;
	} while (!__atomic_compare_exchange_n(&m->gt[ref].flags, &flags, 0, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	return 0;
}

static int ref_alloc(struct sim_mem *m, uint32_t *ref)
{
	int err = -ENOSPC;

	pthread_mutex_lock(&m->lock);
	if (m->ref_nfree) {
		*ref = m->ref_free[--m->ref_nfree];
		m->ref_used[*ref] = 1;
		err = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* Back on the free stack, once (a reference never handed out, or reserved, is left alone). Called locked. */
static void ref_free_locked(struct sim_mem *m, uint32_t ref)
{
	if (ref < GNTTAB_NR_RESERVED_ENTRIES || !m->ref_used[ref])
		return;
	m->ref_used[ref] = 0;
	m->ref_free[m->ref_nfree++] = ref;
}

static void ref_free(struct sim_mem *m, uint32_t ref)
{
	pthread_mutex_lock(&m->lock);
	ref_free_locked(m, ref);
	pthread_mutex_unlock(&m->lock);
}

/* ---- the handle ---- */

static int hyp_new(int fd, unsigned domid, struct sim_hyp **out, const struct simhyp_domain_reply *r,
		   int shinfo_fd)
{
	struct sim_hyp *s = calloc(1, sizeof(*s));
	void *p;

	if (!s) {
		close(shinfo_fd);
		return -ENOMEM;
	}
	p = mmap(NULL, r->shinfo_size, PROT_READ, MAP_SHARED, shinfo_fd, 0);
	close(shinfo_fd);
	if (p == MAP_FAILED || r->shinfo_size < r->ports_max * sizeof(uint32_t)) {
		if (p != MAP_FAILED)
			munmap(p, r->shinfo_size);
		free(s);
		return -EPROTO;
	}
	s->base.ops = &sim_ops;
	s->base.domid = domid;
	s->fd = fd;
	s->shinfo = p;
	s->shinfo_size = r->shinfo_size;
	s->ports_max = r->ports_max;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

/* CREATE or ATTACH: the shared info's descriptor, and the store port's two if one was made. */
static int domain_call(int fd, uint16_t op, void *req, size_t len, const int *fds, unsigned nfds,
		       struct simhyp_domain_reply *r, int *shinfo_fd, int *port_fd)
{
	int rfds[SIMHYP_FDS_MAX];
	unsigned n = SIMHYP_FDS_MAX;
	int rc = simhyp_call(fd, op, req, len, fds, nfds, r, sizeof(*r), rfds, &n);

	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(*r) || n != (r->store_port ? 3u : 1u) || (r->store_port && !port_fd)) {
		for (unsigned i = 0; i < n; i++)
			close(rfds[i]);
		return -EPROTO;
	}
	*shinfo_fd = rfds[0];
	if (port_fd) {
		port_fd[0] = r->store_port ? rfds[1] : -1;
		port_fd[1] = r->store_port ? rfds[2] : -1;
	}
	return 0;
}

/* A port the hypervisor made for us into the table (the descriptors owned from now on). Called locked. */
static int port_insert(struct sim_hyp *s, uint32_t port, int efd, int peer, uint32_t gen)
{
	if (port == 0 || port >= s->ports_max)
		return -EPROTO;
	if (port >= s->ports_cap) {
		uint32_t cap = s->ports_cap ? s->ports_cap : 8;
		struct sim_port *n;

		while (cap <= port)
			cap *= 2;
		if (!(n = realloc(s->ports, cap * sizeof(*n))))
			return -ENOMEM;
		memset(n + s->ports_cap, 0, (cap - s->ports_cap) * sizeof(*n));
		s->ports = n;
		s->ports_cap = cap;
	}
	s->ports[port] = (struct sim_port){.used = true, .efd = efd, .peer_fd = peer, .gen = gen,
					   .known = peer >= 0};
	return 0;
}

int xsl_hyp_sim_create(const char *path, unsigned domid, unsigned mem_pages, uint32_t *store_port,
		       struct xsl_hyp **out)
{
	struct simhyp_create req = {.domid = domid, .mem_pages = mem_pages ? mem_pages : DEFAULT_MEM_PAGES,
				    .gnt_frames = GNT_FRAMES,
				    .flags = store_port ? SIMHYP_CREATE_STORE_PORT : 0};
	struct simhyp_domain_reply r;
	struct sim_mem *m = NULL;
	struct sim_hyp *s = NULL;
	int fds[2], fd, shinfo = -1, port_fd[2] = {-1, -1}, err;

	if (domid > SIMHYP_DOMID_MAX || req.mem_pages > SIMHYP_MEM_PAGES_MAX)
		return -EINVAL;
	if ((fd = simhyp_connect(path)) < 0)
		return fd;
	if ((err = mem_new(req.mem_pages, &m, &fds[0], &fds[1])) < 0) {
		close(fd);
		return err;
	}
	err = domain_call(fd, SIMHYP_CREATE, &req, sizeof(req), fds, 2, &r, &shinfo, port_fd);
	close(fds[0]);
	close(fds[1]);
	if (!err)
		err = hyp_new(fd, domid, &s, &r, shinfo);
	if (!err && store_port) {
		*store_port = r.store_port;
		if (port_fd[0] >= 0 &&
		    (err = port_insert(s, r.store_port, port_fd[0], port_fd[1], r.store_gen)) == 0)
			port_fd[0] = port_fd[1] = -1;
		if (err)
			sim_ops.close(&s->base);
	}
	for (int i = 0; i < 2; i++)
		if (port_fd[i] >= 0)
			close(port_fd[i]);
	if (err) {
		if (!s)
			close(fd);
		mem_put(m);
		return err;
	}
	s->mem = m;
	*out = &s->base;
	return 0;
}

int xsl_hyp_sim_attach(const char *path, unsigned domid, struct sim_mem *mem, struct xsl_hyp **out)
{
	struct simhyp_attach req = {.domid = domid};
	struct simhyp_domain_reply r;
	struct sim_hyp *s = NULL;
	int fd, shinfo = -1, err;

	if (domid > SIMHYP_DOMID_MAX)
		return -EINVAL;
	if ((fd = simhyp_connect(path)) < 0)
		return fd;
	err = domain_call(fd, SIMHYP_ATTACH, &req, sizeof(req), NULL, 0, &r, &shinfo, NULL);
	if (!err)
		err = hyp_new(fd, domid, &s, &r, shinfo);
	if (err) {
		close(fd);
		return err;
	}
	if (mem) {
		pthread_mutex_lock(&mem->lock);
		mem->refs++;
		pthread_mutex_unlock(&mem->lock);
		s->mem = mem;
	}
	*out = &s->base;
	return 0;
}

int xsl_hyp_sim_open(struct xsl_hyp **out, const struct xsl_hyp_opts *o)
{
	int err;

	if (o->simdom)
		return xsl_simdom_hyp(o->simdom, out);
	/* dom0 exists: attached to (given memory if asked); another domain is made, or attached to if it exists. */
	if (o->domid == 0 && !o->mem_pages)
		return xsl_hyp_sim_attach(o->simhyp_path, 0, NULL, out);
	err = xsl_hyp_sim_create(o->simhyp_path, o->domid, o->mem_pages, NULL, out);
	if (err == -EEXIST && o->domid != 0)
		err = xsl_hyp_sim_attach(o->simhyp_path, o->domid, NULL, out);
	return err;
}

struct sim_mem *xsl_hyp_sim_mem(struct xsl_hyp *h)
{
	return S(h)->mem;
}

int xsl_hyp_sim_shutdown(struct xsl_hyp *h, unsigned reason)
{
	struct simhyp_shutdown req = {.reason = reason};
	struct simhyp_reply_hdr r;
	int rc;

	pthread_mutex_lock(&S(h)->lock);
	rc = simhyp_call(S(h)->fd, SIMHYP_SHUTDOWN, &req, sizeof(req), NULL, 0, &r, sizeof(r), NULL, NULL);
	pthread_mutex_unlock(&S(h)->lock);
	return rc < 0 ? rc : 0;
}

int xsl_hyp_sim_grant_ref(struct xsl_hyp *h, uint32_t ref, unsigned domid, void *page, int readonly)
{
	struct sim_mem *m = S(h)->mem;
	long f;

	if (!m)
		return -EOPNOTSUPP;
	if (ref >= m->nr_grefs || (f = mem_frame(m, page, 1)) < 0)
		return -EINVAL;
	entry_write(m, ref, domid, (uint32_t)f, readonly);
	return 0;
}

/* ---- granting ---- */

static int sim_grant(struct xsl_hyp *h, unsigned domid, void *page, int readonly, uint32_t *ref)
{
	struct sim_mem *m = S(h)->mem;
	long f;
	int err;

	if (!m)
		return -EOPNOTSUPP;
	if (domid > SIMHYP_DOMID_MAX || (f = mem_frame(m, page, 1)) < 0)
		return -EINVAL;
	if ((err = ref_alloc(m, ref)) < 0)
		return err;
	entry_write(m, *ref, domid, (uint32_t)f, readonly);
	return 0;
}

static int sim_end(struct xsl_hyp *h, uint32_t ref)
{
	struct sim_mem *m = S(h)->mem;
	int err;

	if (!m)
		return -EOPNOTSUPP;
	if (ref >= m->nr_grefs)
		return -EINVAL;
	if ((err = entry_end(m, ref)) < 0)
		return err;
	ref_free(m, ref);
	return 0;
}

static void *sim_alloc(struct xsl_hyp *h, unsigned count, int *err)
{
	void *p;

	if (!S(h)->mem) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	p = mem_alloc(S(h)->mem, count);
	*err = p ? 0 : -ENOMEM;
	return p;
}

static void sim_free(struct xsl_hyp *h, void *area, unsigned count)
{
	if (S(h)->mem)
		mem_free(S(h)->mem, area, count);
}

static void *sim_share(struct xsl_hyp *h, unsigned domid, unsigned count, int writable, uint32_t *refs,
		       int *err)
{
	struct sim_mem *m = S(h)->mem;
	struct share *s;
	uint8_t *area;
	unsigned i;

	if (!m || domid > SIMHYP_DOMID_MAX) {
		*err = m ? -EINVAL : -EOPNOTSUPP;
		return NULL;
	}
	if (!(s = malloc(sizeof(*s) + count * sizeof(uint32_t))) || !(area = sim_alloc(h, count, err))) {
		free(s);
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < count; i++) {
		if ((*err = ref_alloc(m, &refs[i])) < 0)
			break;
		entry_write(m, refs[i], domid, (uint32_t)mem_frame(m, area + (size_t)i * PAGE, 1), !writable);
	}
	if (i < count) {
		while (i-- > 0) {
			entry_end(m, refs[i]);
			ref_free(m, refs[i]);
		}
		mem_free(m, area, count);
		free(s);
		return NULL;
	}
	s->area = area;
	s->count = count;
	memcpy(s->refs, refs, count * sizeof(uint32_t));
	pthread_mutex_lock(&m->lock);
	s->next = m->shares;
	m->shares = s;
	pthread_mutex_unlock(&m->lock);
	return area;
}

static int sim_unshare(struct xsl_hyp *h, void *area, unsigned count)
{
	struct sim_mem *m = S(h)->mem;
	struct share **pp, *s;
	unsigned i;

	if (!m)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&m->lock);
	for (pp = &m->shares; (s = *pp); pp = &s->next)
		if (s->area == area && s->count == count)
			break;
	if (!s) {
		pthread_mutex_unlock(&m->lock);
		return -EINVAL;
	}
	for (i = 0; i < count; i++)
		if (entry_end(m, s->refs[i]) < 0)
			break;
	if (i < count) {
		/* One is still mapped: the grants ended so far are made again, nothing changes. */
		uint16_t ro = m->gt[s->refs[i]].flags & GTF_readonly;

		while (i-- > 0)
			entry_write(m, s->refs[i], m->gt[s->refs[i]].domid, m->gt[s->refs[i]].frame, ro);
		pthread_mutex_unlock(&m->lock);
		return -EBUSY;
	}
	*pp = s->next;
	for (i = 0; i < count; i++)
		ref_free_locked(m, s->refs[i]);
	pthread_mutex_unlock(&m->lock);
	free(s);
	mem_free(m, area, count);
	return 0;
}

/* ---- mapping ---- */

static struct granter *granter_find(struct sim_hyp *s, uint32_t domid, uint64_t inc)
{
	for (struct granter *g = s->granters; g; g = g->next)
		if (g->domid == domid && g->inc == inc)
			return g;
	return NULL;
}

static int unmap_call(struct sim_hyp *s, uint32_t domid, uint64_t inc, const uint32_t *handles, unsigned count,
		      bool forget)
{
	unsigned char buf[sizeof(struct simhyp_unmap) + SIMHYP_BATCH_MAX * sizeof(uint32_t)];
	struct simhyp_unmap *u = (struct simhyp_unmap *)buf;
	struct simhyp_reply_hdr r;
	int rc;

	memset(u, 0, sizeof(*u));
	u->domid = domid;
	u->incarnation = inc;
	u->count = count;
	u->flags = forget ? SIMHYP_UNMAP_FORGET : 0;
	memcpy(u + 1, handles, count * sizeof(uint32_t));
	rc = simhyp_call(s->fd, SIMHYP_UNMAP, u, sizeof(*u) + count * sizeof(uint32_t), NULL, 0, &r, sizeof(r),
			 NULL, NULL);
	return rc < 0 ? rc : 0;
}

static void granter_drop(struct sim_hyp *s, struct granter *g)
{
	struct granter **pp;

	for (pp = &s->granters; *pp != g; pp = &(*pp)->next)
		;
	*pp = g->next;
	munmap(g->base, (size_t)g->pages * PAGE);
	if (g->ro)
		munmap(g->ro, (size_t)g->pages * PAGE);
	close(g->fd);
	free(g);
}

/* The granter's memory as a read-only view, made the first time a read-only page is handed out. */
static uint8_t *granter_ro(struct granter *g)
{
	void *p;

	if (!g->ro && (p = mmap(NULL, (size_t)g->pages * PAGE, PROT_READ, MAP_SHARED, g->fd, 0)) != MAP_FAILED)
		g->ro = p;
	return g->ro;
}

/* The memory file a MAP's reply came with: the granter's record made (NULL: out of memory). Called locked. */
static struct granter *granter_add(struct sim_hyp *s, uint32_t domid, const struct simhyp_map_reply *r, int fd)
{
	struct granter *g = calloc(1, sizeof(*g));
	void *base = g ? mmap(NULL, (size_t)r->mem_pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
		       : MAP_FAILED;

	if (base == MAP_FAILED) {
		free(g);
		close(fd);
		return NULL;
	}
	g->domid = domid;
	g->inc = r->incarnation;
	g->fd = fd;
	g->base = base;
	g->pages = r->mem_pages;
	g->next = s->granters;
	s->granters = g;
	return g;
}

/*
 * A MAP given back at once (UNMAP of its handles), with the granter's
 * memory file if no mapping of it is left here (g NULL: never mapped
 * here). Called locked.
 */
static void map_undo(struct sim_hyp *s, struct granter *g, uint32_t domid, uint64_t inc,
		     const struct simhyp_map_entry *e, unsigned count)
{
	uint32_t handles[SIMHYP_BATCH_MAX];

	for (unsigned i = 0; i < count; i++)
		handles[i] = e[i].handle;
	unmap_call(s, domid, inc, handles, count, !g || !g->areas);
	if (g && !g->areas)
		granter_drop(s, g);
}

/*
 * MAP, one round trip for the whole batch: every reference approved and
 * pinned by the hypervisor (all or nothing), e[i] its frame and handle,
 * the granter's memory mapped here (*gp). 0, or -errno with nothing left
 * pinned. Called locked.
 */
static int map_call(struct sim_hyp *s, unsigned domid, unsigned count, const uint32_t *refs, int writable,
		    struct simhyp_map_entry *e, struct granter **gp)
{
	unsigned char req[sizeof(struct simhyp_map) + SIMHYP_BATCH_MAX * sizeof(uint32_t)];
	unsigned char rep[sizeof(struct simhyp_map_reply) + SIMHYP_BATCH_MAX * sizeof(struct simhyp_map_entry)];
	struct simhyp_map *m = (struct simhyp_map *)req;
	struct simhyp_map_reply *r = (struct simhyp_map_reply *)rep;
	struct granter *g;
	int fds[SIMHYP_FDS_MAX], rc, err = 0;
	unsigned nfds = SIMHYP_FDS_MAX;

	if (count > SIMHYP_BATCH_MAX || domid > SIMHYP_DOMID_MAX)
		return count > SIMHYP_BATCH_MAX ? -E2BIG : -EINVAL;
	memset(m, 0, sizeof(*m));
	m->domid = domid;
	m->count = count;
	m->flags = writable ? SIMHYP_MAP_WRITABLE : 0;
	memcpy(m + 1, refs, count * sizeof(uint32_t));
	rc = simhyp_call(s->fd, SIMHYP_MAP, m, sizeof(*m) + count * sizeof(uint32_t), NULL, 0, r, sizeof(rep),
			 fds, &nfds);
	if (rc < 0)
		return rc;
	if ((size_t)rc != sizeof(*r) + count * sizeof(*e) || r->count != count ||
	    nfds != ((r->flags & SIMHYP_MAP_MEMFD) ? 1u : 0u)) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO; /* handles unknown: left to the connection's close */
	}
	memcpy(e, r + 1, count * sizeof(*e));
	g = granter_find(s, domid, r->incarnation);
	if (nfds && g)
		close(fds[0]); /* already mapped here: the hypervisor forgot we have it */
	else if (nfds)
		g = granter_add(s, domid, r, fds[0]);
	if (!g)
		err = -ENOMEM;
	for (unsigned i = 0; g && i < count; i++)
		if (e[i].frame >= g->pages)
			err = -EPROTO;
	if (err) {
		map_undo(s, g, domid, r->incarnation, e, count);
		return err;
	}
	*gp = g;
	return 0;
}

/* A mapping's record, kept until it is unmapped (or the handle closes). Called locked. */
static struct area *area_add(struct sim_hyp *s, struct granter *g, const struct simhyp_map_entry *e,
			     unsigned count, uint8_t *addr, bool own_mapping)
{
	struct area *a = calloc(1, sizeof(*a) + count * sizeof(uint32_t));

	if (!a)
		return NULL;
	for (unsigned i = 0; i < count; i++)
		a->handles[i] = e[i].handle;
	a->count = count;
	a->g = g;
	a->addr = addr;
	a->own_mapping = own_mapping;
	g->areas++;
	a->next = s->areas;
	s->areas = a;
	return a;
}

/* A record unlinked and given back: its area unmapped here, its handles to the hypervisor. Called locked. */
static int area_release(struct sim_hyp *s, struct area **pp)
{
	struct area *a = *pp;
	bool forget;
	int rc;

	*pp = a->next;
	forget = --a->g->areas == 0;
	if (a->own_mapping)
		munmap(a->addr, (size_t)a->count * PAGE);
	rc = unmap_call(s, a->g->domid, a->g->inc, a->handles, a->count, forget);
	if (forget)
		granter_drop(s, a->g);
	free(a);
	/* A hypervisor gone took the mappings with it. */
	return rc == -ECONNRESET || rc == -EPIPE ? 0 : rc;
}

/*
 * An area of its own for approved frames not in a row (or read-only): a
 * range reserved, then each run of consecutive frames mapped over it from
 * the granter's memory file in one call, read-only where so granted, its
 * page tables filled at once (the caller is about to touch the pages). As
 * gntdev's mmap, the pages are there until the area is unmapped, and no
 * longer.
 */
static uint8_t *own_area(const struct granter *g, const struct simhyp_map_entry *e, unsigned count, int writable)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	uint8_t *p = mmap(NULL, (size_t)count * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned i, j;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < count; i = j) {
		for (j = i + 1; j < count && e[j].frame == e[j - 1].frame + 1; j++)
			;
		if (mmap(p + (size_t)i * PAGE, (size_t)(j - i) * PAGE, prot, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
			 g->fd, (off_t)e[i].frame * PAGE) == MAP_FAILED) {
			munmap(p, (size_t)count * PAGE);
			return NULL;
		}
	}
	return p;
}

static void *sim_map(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs, int writable,
		     int *err)
{
	struct sim_hyp *s = S(h);
	struct simhyp_map_entry e[SIMHYP_BATCH_MAX];
	struct granter *g;
	bool contiguous = true;
	uint8_t *addr;

	pthread_mutex_lock(&s->lock);
	if ((*err = map_call(s, domid, count, refs, writable, e, &g)) < 0) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	for (unsigned i = 1; i < count; i++)
		if (e[i].frame != e[0].frame + i)
			contiguous = false;
	/* In a row and writable: the approved pages are where they are in the granter's memory. */
	addr = contiguous && writable ? g->base + (size_t)e[0].frame * PAGE : own_area(g, e, count, writable);
	if (!addr || !area_add(s, g, e, count, addr, !(contiguous && writable))) {
		if (addr && !(contiguous && writable))
			munmap(addr, (size_t)count * PAGE);
		map_undo(s, g, g->domid, g->inc, e, count);
		pthread_mutex_unlock(&s->lock);
		*err = -ENOMEM;
		return NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return addr;
}

static int sim_unmap(struct xsl_hyp *h, void *area, unsigned count)
{
	struct sim_hyp *s = S(h);
	struct area **pp;
	int rc = -EINVAL;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->areas; *pp; pp = &(*pp)->next)
		if ((*pp)->addr && (*pp)->addr == area && (*pp)->count == count) {
			rc = area_release(s, pp);
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/*
 * The pages handed out where they are, in the granter's memory (read-only
 * ones in its read-only view): no area built, nothing to unmap here.
 */
static struct xsl_gnt_pages *sim_map_pages(struct xsl_hyp *h, unsigned domid, unsigned count,
					   const uint32_t *refs, int writable, void **pages, int *err)
{
	struct sim_hyp *s = S(h);
	struct simhyp_map_entry e[SIMHYP_BATCH_MAX];
	struct granter *g;
	struct area *a;
	uint8_t *view;

	pthread_mutex_lock(&s->lock);
	if ((*err = map_call(s, domid, count, refs, writable, e, &g)) < 0) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	view = writable ? g->base : granter_ro(g);
	if (!view || !(a = area_add(s, g, e, count, NULL, false))) {
		map_undo(s, g, g->domid, g->inc, e, count);
		pthread_mutex_unlock(&s->lock);
		*err = -ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < count; i++)
		pages[i] = view + (size_t)e[i].frame * PAGE;
	pthread_mutex_unlock(&s->lock);
	return (struct xsl_gnt_pages *)(void *)a;
}

static int sim_unmap_pages(struct xsl_hyp *h, struct xsl_gnt_pages *m)
{
	struct sim_hyp *s = S(h);
	struct area **pp;
	int rc = -EINVAL;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->areas; *pp; pp = &(*pp)->next)
		if ((void *)*pp == (void *)m && !(*pp)->addr) {
			rc = area_release(s, pp);
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- event channels ---- */

static struct sim_port *port_of(struct sim_hyp *s, uint32_t port)
{
	return port < s->ports_cap && s->ports[port].used ? &s->ports[port] : NULL;
}

/*
 * EVT_UNBOUND or EVT_BIND: the port, its eventfd and the one it notifies
 * into (the binder's, reserved for it, or the peer's). Called locked.
 */
static int port_add(struct sim_hyp *s, uint16_t op, void *req, size_t len, uint32_t *port)
{
	struct simhyp_port_reply r;
	int fds[SIMHYP_FDS_MAX], err;
	unsigned nfds = SIMHYP_FDS_MAX;
	int rc = simhyp_call(s->fd, op, req, len, NULL, 0, &r, sizeof(r), fds, &nfds);

	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(r) || nfds != 2)
		err = -EPROTO;
	else
		err = port_insert(s, r.port, fds[0], fds[1], r.gen);
	if (err) {
		struct simhyp_port_req c = {.port = r.port};
		struct simhyp_reply_hdr cr;

		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (rc == (int)sizeof(r))
			simhyp_call(s->fd, SIMHYP_EVT_CLOSE, &c, sizeof(c), NULL, 0, &cr, sizeof(cr), NULL, NULL);
		return err;
	}
	*port = r.port;
	return 0;
}

static int sim_alloc_unbound(struct xsl_hyp *h, unsigned remote_domid, uint32_t *port)
{
	struct simhyp_evt_unbound req = {.remote_domid = remote_domid};
	int rc;

	pthread_mutex_lock(&S(h)->lock);
	rc = port_add(S(h), SIMHYP_EVT_UNBOUND, &req, sizeof(req), port);
	pthread_mutex_unlock(&S(h)->lock);
	return rc;
}

static int sim_bind(struct xsl_hyp *h, unsigned remote_domid, uint32_t remote_port, uint32_t *local_port)
{
	struct simhyp_evt_bind req = {.remote_domid = remote_domid, .remote_port = remote_port};
	int rc;

	pthread_mutex_lock(&S(h)->lock);
	rc = port_add(S(h), SIMHYP_EVT_BIND, &req, sizeof(req), local_port);
	pthread_mutex_unlock(&S(h)->lock);
	return rc;
}

/* The peer's eventfd, asked again only when the port's generation moved. Called locked. */
static int peer_fd(struct sim_hyp *s, uint32_t port, struct sim_port *p)
{
	uint32_t gen = __atomic_load_n(&s->shinfo[port], __ATOMIC_ACQUIRE);
	struct simhyp_port_req req = {.port = port};
	struct simhyp_peer_reply r;
	int fds[SIMHYP_FDS_MAX], rc;
	unsigned nfds = SIMHYP_FDS_MAX;

	if (p->known && gen == p->gen)
		return p->peer_fd;
	rc = simhyp_call(s->fd, SIMHYP_EVT_PEER, &req, sizeof(req), NULL, 0, &r, sizeof(r), fds, &nfds);
	if (rc < 0)
		return p->peer_fd; /* no hypervisor: the peer as last known */
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	/* Bound: the peer's; unbound: the one reserved for its binder, if any. */
	p->peer_fd = nfds == 1 ? fds[0] : -1;
	p->gen = r.gen;
	p->known = true;
	return p->peer_fd;
}

int xsl_hyp_sim_peer_fd(struct xsl_hyp *h, uint32_t port)
{
	struct sim_hyp *s = S(h);
	struct sim_port *p;
	int fd = -1;

	pthread_mutex_lock(&s->lock);
	if ((p = port_of(s, port)))
		fd = peer_fd(s, port, p);
	pthread_mutex_unlock(&s->lock);
	return fd;
}

static int sim_notify(struct xsl_hyp *h, uint32_t port)
{
	struct sim_hyp *s = S(h);
	struct sim_port *p;
	uint64_t one = 1;
	int fd, rc = 0;

	pthread_mutex_lock(&s->lock);
	if (!(p = port_of(s, port)))
		rc = -EINVAL;
	/* Straight to the peer: the hypervisor is not on this path. EAGAIN: saturated, it will look anyway. */
	else if ((fd = peer_fd(s, port, p)) >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rc = -errno;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sim_evt_fd(struct xsl_hyp *h, uint32_t port)
{
	struct sim_hyp *s = S(h);
	struct sim_port *p;
	int fd;

	pthread_mutex_lock(&s->lock);
	p = port_of(s, port);
	fd = p ? p->efd : -EINVAL;
	pthread_mutex_unlock(&s->lock);
	return fd;
}

static void sim_ack(struct xsl_hyp *h, uint32_t port)
{
	int fd = sim_evt_fd(h, port);
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing was pending */
}

static int sim_evt_close(struct xsl_hyp *h, uint32_t port)
{
	struct sim_hyp *s = S(h);
	struct simhyp_port_req req = {.port = port};
	struct simhyp_reply_hdr r;
	struct sim_port *p;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (!(p = port_of(s, port))) {
		pthread_mutex_unlock(&s->lock);
		return -EINVAL;
	}
	rc = simhyp_call(s->fd, SIMHYP_EVT_CLOSE, &req, sizeof(req), NULL, 0, &r, sizeof(r), NULL, NULL);
	close(p->efd);
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	*p = (struct sim_port){0};
	pthread_mutex_unlock(&s->lock);
	return rc < 0 && rc != -ECONNRESET ? rc : 0;
}

static void sim_close(struct xsl_hyp *h)
{
	struct sim_hyp *s = S(h);

	/* Closing the connection releases every mapping and port it holds (and a domain it created). */
	close(s->fd);
	while (s->areas) {
		struct area *a = s->areas;

		s->areas = a->next;
		if (a->own_mapping)
			munmap(a->addr, (size_t)a->count * PAGE);
		free(a);
	}
	while (s->granters)
		granter_drop(s, s->granters);
	for (uint32_t p = 0; p < s->ports_cap; p++)
		if (s->ports[p].used) {
			close(s->ports[p].efd);
			if (s->ports[p].peer_fd >= 0)
				close(s->ports[p].peer_fd);
		}
	free(s->ports);
	munmap(s->shinfo, s->shinfo_size);
	mem_put(s->mem);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct xsl_hyp_ops sim_ops = {
	.close = sim_close,
	.gnt_share = sim_share,
	.gnt_unshare = sim_unshare,
	.gnt_alloc = sim_alloc,
	.gnt_free = sim_free,
	.gnt_grant = sim_grant,
	.gnt_end = sim_end,
	.gnt_map = sim_map,
	.gnt_unmap = sim_unmap,
	.gnt_map_pages = sim_map_pages,
	.gnt_unmap_pages = sim_unmap_pages,
	.evt_alloc_unbound = sim_alloc_unbound,
	.evt_bind = sim_bind,
	.evt_notify = sim_notify,
	.evt_fd = sim_evt_fd,
	.evt_ack = sim_ack,
	.evt_close = sim_evt_close,
};

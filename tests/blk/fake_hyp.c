/*
 * A hypervisor in one process, for the block pair's data-path tests: the
 * xsl_hyp/xsl_gnt/xsl_evt calls of client/xenstore_client.h with Xen's rules
 * (a page maps only into the domain it was granted to, read-only grants map
 * read-only, a grant in use does not end, a port binds only to a port left
 * unbound for the binder), kept in tables of this process. Its memory is
 * memfd pages, mapped at another address on a map as a real mapping is.
 * Linked instead of the client library's implementation into
 * tests/blk/blk_unit only; the pair's other tests use the real one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client/xenstore_client.h"
#include "tests/blk/fake_hyp.h"

#define PG 4096u
#define MAX_REGIONS 256
#define MAX_GNT 65536
#define MAX_MAPS 4096
#define MAX_PORTS 256

struct xsl_hyp {
	unsigned domid;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct region {
	int fd;
	char *base;
	unsigned pages;
	unsigned owner;
} regions[MAX_REGIONS];

static struct gnt {
	int used;
	unsigned owner, grantee;
	int region;
	unsigned page;
	int readonly;
	unsigned maps;
} gnts[MAX_GNT];

static struct mapping {
	char *area;
	unsigned count;
	uint32_t refs[1024];
} maps[MAX_MAPS];

static struct port {
	int used;
	unsigned domid, remote;
	int peer; /* 0: unbound */
	int fd;
} ports[MAX_PORTS];

unsigned long fake_hyp_maps_outstanding(void)
{
	unsigned long n = 0;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_MAPS; i++)
		n += maps[i].area != NULL;
	pthread_mutex_unlock(&lock);
	return n;
}

int fake_hyp_corrupt_grant(uint32_t ref)
{
	if (ref >= MAX_GNT)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	gnts[ref].grantee = 0x7ff0;
	pthread_mutex_unlock(&lock);
	return 0;
}

int xsl_hyp_open(struct xsl_hyp **out, const struct xsl_hyp_opts *opts)
{
	struct xsl_hyp *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->domid = opts ? opts->domid : 0;
	*out = h;
	return 0;
}

void xsl_hyp_close(struct xsl_hyp *h)
{
	free(h);
}

unsigned xsl_hyp_domid(const struct xsl_hyp *h)
{
	return h->domid;
}

void *xsl_gnt_alloc(struct xsl_hyp *h, unsigned count)
{
	void *p = NULL;
	int fd;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_REGIONS; i++) {
		if (regions[i].base)
			continue;
		fd = memfd_create("fakehyp", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)count * PG) < 0 ||
		    (p = mmap(NULL, (size_t)count * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
			    MAP_FAILED) {
			if (fd >= 0)
				close(fd);
			p = NULL;
			break;
		}
		regions[i] = (struct region){fd, p, count, h->domid};
		break;
	}
	pthread_mutex_unlock(&lock);
	return p;
}

void xsl_gnt_free(struct xsl_hyp *h, void *area, unsigned count)
{
	(void)h;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_REGIONS; i++)
		if (regions[i].base == area) {
			munmap(area, (size_t)count * PG);
			close(regions[i].fd);
			regions[i].base = NULL;
		}
	pthread_mutex_unlock(&lock);
}

int xsl_gnt_grant(struct xsl_hyp *h, unsigned domid, void *page, int readonly, uint32_t *ref)
{
	int err = -EINVAL;

	pthread_mutex_lock(&lock);
	for (int r = 0; r < MAX_REGIONS; r++) {
		struct region *g = &regions[r];

		if (!g->base || g->owner != h->domid || (char *)page < g->base ||
		    (char *)page >= g->base + (size_t)g->pages * PG)
			continue;
		err = -ENOSPC;
		for (uint32_t i = 8; i < MAX_GNT; i++) /* the first few are reserved, as Xen's */
			if (!gnts[i].used) {
				gnts[i] = (struct gnt){1, h->domid, domid, r,
						       (unsigned)(((char *)page - g->base) / PG), readonly, 0};
				*ref = i;
				err = 0;
				break;
			}
		break;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

int xsl_gnt_end(struct xsl_hyp *h, uint32_t ref)
{
	int err = 0;

	pthread_mutex_lock(&lock);
	if (ref >= MAX_GNT || !gnts[ref].used || gnts[ref].owner != h->domid)
		err = -EINVAL;
	else if (gnts[ref].maps)
		err = -EBUSY;
	else
		gnts[ref].used = 0;
	pthread_mutex_unlock(&lock);
	return err;
}

void *xsl_gnt_share(struct xsl_hyp *h, unsigned domid, unsigned count, int writable, uint32_t *refs)
{
	char *p = xsl_gnt_alloc(h, count);

	if (!p)
		return NULL;
	for (unsigned i = 0; i < count; i++)
		if (xsl_gnt_grant(h, domid, p + (size_t)i * PG, !writable, &refs[i]) < 0) {
			while (i--)
				xsl_gnt_end(h, refs[i]);
			xsl_gnt_free(h, p, count);
			return NULL;
		}
	return p;
}

int xsl_gnt_unshare(struct xsl_hyp *h, void *area, unsigned count)
{
	int busy = 0;

	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < MAX_GNT; i++) {
		struct region *g;

		if (!gnts[i].used || gnts[i].owner != h->domid)
			continue;
		g = &regions[gnts[i].region];
		if (g->base == area)
			busy |= gnts[i].maps != 0;
	}
	if (!busy)
		for (uint32_t i = 0; i < MAX_GNT; i++)
			if (gnts[i].used && gnts[i].owner == h->domid && regions[gnts[i].region].base == area)
				gnts[i].used = 0;
	pthread_mutex_unlock(&lock);
	if (busy)
		return -EBUSY;
	xsl_gnt_free(h, area, count);
	return 0;
}

void *xsl_gnt_map(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs,
		  int writable, int *err)
{
	char *area;
	int slot = -1;

	if (count == 0 || count > 1024) {
		*err = -EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < count; i++) {
		struct gnt *g = refs[i] < MAX_GNT ? &gnts[refs[i]] : NULL;

		if (!g || !g->used) {
			*err = -EINVAL;
			goto out_null;
		}
		if (g->owner != domid || g->grantee != h->domid || (writable && g->readonly)) {
			*err = -EPERM;
			goto out_null;
		}
	}
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].area) {
			slot = i;
			break;
		}
	if (slot < 0) {
		*err = -ENOMEM;
		goto out_null;
	}
	area = mmap(NULL, (size_t)count * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		*err = -ENOMEM;
		goto out_null;
	}
	for (unsigned i = 0; i < count; i++) {
		struct gnt *g = &gnts[refs[i]];

		if (mmap(area + (size_t)i * PG, PG, PROT_READ | (writable ? PROT_WRITE : 0),
			 MAP_SHARED | MAP_FIXED, regions[g->region].fd, (off_t)g->page * PG) == MAP_FAILED) {
			munmap(area, (size_t)count * PG);
			*err = -ENOMEM;
			goto out_null;
		}
		g->maps++;
		maps[slot].refs[i] = refs[i];
	}
	maps[slot].area = area;
	maps[slot].count = count;
	pthread_mutex_unlock(&lock);
	return area;
out_null:
	pthread_mutex_unlock(&lock);
	return NULL;
}

int xsl_gnt_unmap(struct xsl_hyp *h, void *area, unsigned count)
{
	(void)h;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_MAPS; i++) {
		if (maps[i].area != area || maps[i].count != count)
			continue;
		for (unsigned k = 0; k < count; k++)
			gnts[maps[i].refs[k]].maps--;
		munmap(area, (size_t)count * PG);
		maps[i].area = NULL;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	pthread_mutex_unlock(&lock);
	return -EINVAL;
}

/*
 * Pages one by one: here each reference is a one-page mapping of its own,
 * so that pages of one call are never in a row and a caller counting on
 * it would be caught. All or nothing, as the real ones.
 */
struct xsl_gnt_pages {
	unsigned count;
	void *page[];
};

struct xsl_gnt_pages *xsl_gnt_map_pages(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs,
					int writable, void **pages, int *err)
{
	struct xsl_gnt_pages *m = count <= 1024 ? malloc(sizeof(*m) + count * sizeof(void *)) : NULL;
	unsigned i;

	if (!m) {
		*err = count <= 1024 ? -ENOMEM : -EINVAL;
		return NULL;
	}
	for (i = 0; i < count && (m->page[i] = xsl_gnt_map(h, domid, 1, &refs[i], writable, err)); i++)
		pages[i] = m->page[i];
	if (i < count) {
		while (i-- > 0)
			xsl_gnt_unmap(h, m->page[i], 1);
		free(m);
		return NULL;
	}
	m->count = count;
	return m;
}

int xsl_gnt_unmap_pages(struct xsl_hyp *h, struct xsl_gnt_pages *m)
{
	for (unsigned i = 0; i < m->count; i++)
		xsl_gnt_unmap(h, m->page[i], 1);
	free(m);
	return 0;
}

static int new_port(unsigned domid, unsigned remote)
{
	for (int i = 1; i < MAX_PORTS; i++)
		if (!ports[i].used) {
			int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

			if (fd < 0)
				return -errno;
			ports[i] = (struct port){1, domid, remote, 0, fd};
			return i;
		}
	return -ENOSPC;
}

int xsl_evt_alloc_unbound(struct xsl_hyp *h, unsigned remote_domid, uint32_t *port)
{
	int p;

	pthread_mutex_lock(&lock);
	p = new_port(h->domid, remote_domid);
	pthread_mutex_unlock(&lock);
	if (p < 0)
		return p;
	*port = (uint32_t)p;
	return 0;
}

int xsl_evt_bind(struct xsl_hyp *h, unsigned remote_domid, uint32_t remote_port,
		 uint32_t *local_port)
{
	int p, err = 0;

	pthread_mutex_lock(&lock);
	if (remote_port == 0 || remote_port >= MAX_PORTS || !ports[remote_port].used ||
	    ports[remote_port].domid != remote_domid || ports[remote_port].remote != h->domid ||
	    ports[remote_port].peer)
		err = -EINVAL;
	else if ((p = new_port(h->domid, remote_domid)) < 0)
		err = p;
	else {
		ports[p].peer = (int)remote_port;
		ports[remote_port].peer = p;
		*local_port = (uint32_t)p;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

int xsl_evt_notify(struct xsl_hyp *h, uint32_t port)
{
	uint64_t one = 1;
	int fd = -1;

	(void)h;
	pthread_mutex_lock(&lock);
	if (port < MAX_PORTS && ports[port].used && ports[port].peer)
		fd = ports[ports[port].peer].fd;
	pthread_mutex_unlock(&lock);
	if (fd < 0)
		return -ENOTCONN;
	return write(fd, &one, sizeof(one)) < 0 ? -errno : 0;
}

int xsl_evt_fd(struct xsl_hyp *h, uint32_t port)
{
	(void)h;
	return port < MAX_PORTS && ports[port].used ? ports[port].fd : -EINVAL;
}

void xsl_evt_ack(struct xsl_hyp *h, uint32_t port)
{
	uint64_t v;

	(void)h;
	if (port < MAX_PORTS && ports[port].used && read(ports[port].fd, &v, sizeof(v)) < 0)
		return;
}

int xsl_evt_close(struct xsl_hyp *h, uint32_t port)
{
	(void)h;
	pthread_mutex_lock(&lock);
	if (port < MAX_PORTS && ports[port].used) {
		if (ports[port].peer)
			ports[ports[port].peer].peer = 0;
		close(ports[port].fd);
		ports[port].used = 0;
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

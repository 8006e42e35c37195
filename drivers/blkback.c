/* The block backend's data path: a frontend's blkif ring served from a disk image, a batch of requests at a time. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "drivers/blk.h"

/* ---------------------------------------------------------------- the disk image */

int blk_disk_open(struct blk_disk *d, const char *path, int readonly)
{
	struct stat sb;

	memset(d, 0, sizeof(*d));
	d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	if (fstat(d->fd, &sb) < 0 || !(S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode))) {
		int err = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;

		close(d->fd);
		d->fd = -1;
		return err;
	}
	if (S_ISBLK(sb.st_mode)) {
		off_t end = lseek(d->fd, 0, SEEK_END);

		sb.st_size = end < 0 ? 0 : end;
	}
	d->sectors = (uint64_t)sb.st_size / BLK_SECT;
	d->sector_size = BLK_SECT;
	d->phys_sector_size = d->sectors % BLK_SECTS_PER_PAGE == 0 ? BLK_PAGE : BLK_SECT;
	d->readonly = readonly;
	return 0;
}

void blk_disk_close(struct blk_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* ---------------------------------------------------------------- one batch */

/* A request as copied off the ring and checked: its segments local, its status decided or pending. */
struct blkback_req {
	uint64_t id;
	uint8_t operation;   /* as the frontend sent it (echoed in the response) */
	uint8_t op;          /* what to do: READ, WRITE, FLUSH_DISKCACHE (data first if any), DISCARD */
	int status;          /* BLKIF_RSP_*; 1 while still to be done */
	uint64_t sector;
	uint64_t nsect;      /* READ/WRITE: sum of the segments; DISCARD: the range */
	unsigned nseg;
	unsigned nind;       /* indirect pages */
	uint32_t ind_refs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct blkif_request_segment seg[BLK_MAX_SEGS];
	unsigned at;         /* its first page in the batch's mapping */
	struct xsl_gnt_pages *own; /* a mapping of its own (fallback after a batch map failed) */
	int cached;          /* every segment's page is a persistent grant already mapped */
	void *segp[BLK_MAX_SEGS]; /* each segment's page, where it is mapped */
};

/*
 * Persistent grants (feature-persistent): references the frontend keeps
 * granted for the connection's life, mapped once (writable) and kept, found
 * by reference. A table of at most max entries, open addressing; the areas
 * mapped, unmapped at disconnect.
 */
struct pent {
	uint32_t ref;
	int used;
	char *page;
};

struct blkback_pcache {
	unsigned max, count, size; /* size: slots, a power of two >= 2 * max */
	struct pent *tab;
	struct xsl_gnt_pages **maps;
	unsigned nmaps;
};

struct blkback_batch {
	unsigned n;
	struct blkback_req req[BLK_BATCH];
	uint32_t refs[BLK_PASS_PAGES];
	uint32_t miss[BLK_PASS_PAGES];
	void *pages[BLK_PASS_PAGES]; /* where a batch mapping put each reference's page */
	struct iovec iov[BLK_MAX_SEGS];
};

static int broken(struct blkback_ring *r, const char *fmt, unsigned a, unsigned b, unsigned c)
{
	r->broken = 1;
	snprintf(r->why, sizeof(r->why), fmt, a, b, c);
	return -EPROTO;
}

/* ---------------------------------------------------------------- connect */

int blkback_ring_connect(struct blkback_ring *r, struct xsl_hyp *hyp, struct blk_disk *disk,
			 unsigned domid, const uint32_t *refs, unsigned npages, uint32_t remote_port)
{
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->evt_fd = -1;
	r->hyp = hyp;
	r->disk = disk;
	r->domid = domid;
	if (npages == 0 || npages > BLK_MAX_RING_PAGES || (npages & (npages - 1))) {
		snprintf(r->why, sizeof(r->why), "%u ring pages (a power of two up to %u)", npages,
			 BLK_MAX_RING_PAGES);
		return -EINVAL;
	}
	if (!(r->batch = malloc(sizeof(*r->batch)))) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		return -ENOMEM;
	}
	r->area = xsl_gnt_map(hyp, domid, npages, refs, 1, &err);
	if (!r->area) {
		snprintf(r->why, sizeof(r->why), "mapping ring-ref %u%s: %s", refs[0],
			 npages > 1 ? " and the others" : "", strerror(err < 0 ? -err : EINVAL));
		free(r->batch);
		r->batch = NULL;
		return err < 0 ? err : -EINVAL;
	}
	r->npages = npages;
	BACK_RING_INIT(&r->ring, (blkif_sring_t *)r->area, (size_t)npages * BLK_PAGE);
	err = xsl_evt_bind(hyp, domid, remote_port, &r->port);
	if (err == 0 && (r->evt_fd = xsl_evt_fd(hyp, r->port)) < 0) {
		err = r->evt_fd;
		xsl_evt_close(hyp, r->port);
	}
	if (err < 0) {
		snprintf(r->why, sizeof(r->why), "binding event-channel %u: %s", remote_port,
			 strerror(-err));
		r->evt_fd = -1;
		xsl_gnt_unmap(hyp, r->area, npages);
		r->area = NULL;
		free(r->batch);
		r->batch = NULL;
		return err;
	}
	return 0;
}

static void persistent_free(struct blkback_ring *r);

void blkback_ring_disconnect(struct blkback_ring *r)
{
	persistent_free(r);
	if (r->evt_fd >= 0)
		xsl_evt_close(r->hyp, r->port);
	r->evt_fd = -1;
	if (r->area)
		xsl_gnt_unmap(r->hyp, r->area, r->npages);
	r->area = NULL;
	free(r->batch);
	r->batch = NULL;
}

/* ---------------------------------------------------------------- checking requests */

static void fail_req(struct blkback_ring *r, struct blkback_req *q, int status)
{
	q->status = status;
	if (status == BLKIF_RSP_EOPNOTSUPP)
		r->st.unsupported++;
	else
		r->st.bad_req++;
}

/* Sectors on the disk: [sector, sector + nsect) inside it, without overflow. */
static int in_disk(const struct blkback_ring *r, uint64_t sector, uint64_t nsect)
{
	return sector <= r->disk->sectors && nsect <= r->disk->sectors - sector;
}

/* The segments (already local): each inside its page, the sum inside the disk. */
static void check_segments(struct blkback_ring *r, struct blkback_req *q)
{
	uint64_t nsect = 0;

	for (unsigned i = 0; i < q->nseg; i++) {
		const struct blkif_request_segment *s = &q->seg[i];

		if (s->first_sect > s->last_sect || s->last_sect >= BLK_SECTS_PER_PAGE) {
			fail_req(r, q, BLKIF_RSP_ERROR);
			return;
		}
		nsect += (uint64_t)(s->last_sect - s->first_sect + 1);
	}
	q->nsect = nsect;
	if (!in_disk(r, q->sector, nsect))
		fail_req(r, q, BLKIF_RSP_ERROR);
	else if (q->op != BLKIF_OP_READ && q->nseg && r->disk->readonly)
		fail_req(r, q, BLKIF_RSP_ERROR);
}

/* A request as the frontend wrote it (a local copy): what it asks, and whether it can be. */
static void decode(struct blkback_ring *r, const blkif_request_t *in, struct blkback_req *q)
{
	memset(q, 0, offsetof(struct blkback_req, seg));
	q->own = NULL;
	q->cached = 0;
	q->id = in->id;
	q->operation = in->operation;
	q->op = in->operation;
	q->status = 1;
	switch (in->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_FLUSH_DISKCACHE:
		q->sector = in->sector_number;
		q->nseg = in->nr_segments;
		if (q->nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST ||
		    (q->nseg == 0 && in->operation != BLKIF_OP_FLUSH_DISKCACHE)) {
			fail_req(r, q, BLKIF_RSP_ERROR);
			return;
		}
		memcpy(q->seg, in->seg, q->nseg * sizeof(q->seg[0]));
		if (q->nseg)
			check_segments(r, q);
		return;
	case BLKIF_OP_DISCARD: {
		const blkif_request_discard_t *d = (const blkif_request_discard_t *)in;

		q->sector = d->sector_number;
		q->nsect = d->nr_sectors;
		if (r->disk->readonly || !in_disk(r, q->sector, q->nsect))
			fail_req(r, q, BLKIF_RSP_ERROR);
		return;
	}
	case BLKIF_OP_INDIRECT: {
		const blkif_request_indirect_t *ind = (const blkif_request_indirect_t *)in;

		q->op = ind->indirect_op;
		q->sector = ind->sector_number;
		q->nseg = ind->nr_segments;
		if ((q->op != BLKIF_OP_READ && q->op != BLKIF_OP_WRITE) || q->nseg == 0 ||
		    q->nseg > BLK_MAX_INDIRECT_SEGS) {
			fail_req(r, q, BLKIF_RSP_ERROR);
			return;
		}
		q->nind = (q->nseg + BLK_PAGE / sizeof(struct blkif_request_segment) - 1) /
			  (BLK_PAGE / sizeof(struct blkif_request_segment));
		memcpy(q->ind_refs, ind->indirect_grefs, q->nind * sizeof(q->ind_refs[0]));
		r->st.indirect_req++;
		return; /* the segments are checked once read from the indirect pages */
	}
	default:
		fail_req(r, q, BLKIF_RSP_EOPNOTSUPP);
		return;
	}
}

/* ---------------------------------------------------------------- mapping */

/*
 * Map refs[0..n) read-write or read-only in one call, each page where it
 * falls (pages[i]: refs[i]'s): the I/O goes page by page, so no contiguous
 * area is built. The mapping, or NULL.
 */
static struct xsl_gnt_pages *map_refs(struct blkback_ring *r, const uint32_t *refs, unsigned n, int writable,
				      void **pages)
{
	int err = 0;

	r->st.map_calls++;
	return xsl_gnt_map_pages(r->hyp, r->domid, n, refs, writable, pages, &err);
}

static void pcache_fill(struct blkback_ring *r, const uint32_t *refs, unsigned n);
static char *pcache_page(struct blkback_ring *r, uint32_t ref);

/* The segments out of a request's indirect pages, copied once: the frontend may change them while we look. */
static void copy_indirect(struct blkback_req *q, void *const *pages)
{
	const unsigned per_page = BLK_PAGE / sizeof(struct blkif_request_segment);

	for (unsigned k = 0, done = 0; done < q->nseg; k++) {
		unsigned n = q->nseg - done < per_page ? q->nseg - done : per_page;

		memcpy(&q->seg[done], pages[k], n * sizeof(q->seg[0]));
		done += n;
	}
}

/*
 * The indirect requests' segment pages: mapped read-only in one call, the
 * segments copied out, unmapped, then checked as a direct request's are. A
 * page that will not map fails its request alone (mapped one by one).
 */
static void load_indirect(struct blkback_ring *r, struct blkback_batch *b)
{
	struct xsl_gnt_pages *m = NULL;
	unsigned n = 0, at = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct blkback_req *q = &b->req[i];

		if (q->operation == BLKIF_OP_INDIRECT && q->status == 1) {
			memcpy(&b->refs[n], q->ind_refs, q->nind * sizeof(uint32_t));
			n += q->nind;
		}
	}
	if (n == 0)
		return;
	/* Persistent grants: the indirect pages are among them too. */
	if (r->pc)
		pcache_fill(r, b->refs, n);
	else
		m = map_refs(r, b->refs, n, 0, b->pages);
	for (unsigned i = 0; i < b->n; i++) {
		struct blkback_req *q = &b->req[i];
		struct xsl_gnt_pages *own = NULL;
		void *one[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
		void *const *pages = NULL;
		unsigned k = 0;

		if (q->operation != BLKIF_OP_INDIRECT || q->status != 1)
			continue;
		if (m)
			pages = &b->pages[at];
		at += q->nind;
		if (!pages && r->pc) {
			for (k = 0; k < q->nind && (one[k] = pcache_page(r, q->ind_refs[k])); k++)
				;
			pages = k == q->nind ? one : NULL;
		}
		if (!pages && (own = map_refs(r, q->ind_refs, q->nind, 0, one)))
			pages = one;
		if (!pages) {
			r->st.bad_grant++;
			q->status = BLKIF_RSP_ERROR;
			continue;
		}
		copy_indirect(q, pages);
		if (own)
			xsl_gnt_unmap_pages(r->hyp, own);
		check_segments(r, q);
	}
	if (m)
		xsl_gnt_unmap_pages(r->hyp, m);
}

/*
 * The data pages of every request still to do that has segments, in one
 * call for those the backend writes into (reads) and one for those it only
 * reads (writes, mapped read-only as they were granted). When a call fails
 * (one bad reference fails the whole call), each of its requests is
 * mapped alone and only those whose own references fail are answered
 * with an error.
 */
static struct xsl_gnt_pages *map_data(struct blkback_ring *r, struct blkback_batch *b, int reads)
{
	struct xsl_gnt_pages *m;
	unsigned n = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct blkback_req *q = &b->req[i];

		if (q->status != 1 || q->nseg == 0 || q->cached || (q->op == BLKIF_OP_READ) != reads)
			continue;
		for (unsigned s = 0; s < q->nseg; s++)
			b->refs[n + s] = q->seg[s].gref;
		q->at = n;
		n += q->nseg;
	}
	if (n == 0)
		return NULL;
	m = map_refs(r, b->refs, n, reads, b->pages);
	for (unsigned i = 0; i < b->n; i++) {
		struct blkback_req *q = &b->req[i];

		if (q->status != 1 || q->nseg == 0 || q->cached || (q->op == BLKIF_OP_READ) != reads)
			continue;
		if (m) {
			memcpy(q->segp, &b->pages[q->at], q->nseg * sizeof(q->segp[0]));
			continue;
		}
		for (unsigned s = 0; s < q->nseg; s++)
			b->refs[s] = q->seg[s].gref;
		if (!(q->own = map_refs(r, b->refs, q->nseg, reads, q->segp))) {
			r->st.bad_grant++;
			q->status = BLKIF_RSP_ERROR;
		}
	}
	return m;
}

/* ---------------------------------------------------------------- persistent grants */

static struct pent *pfind(struct blkback_pcache *pc, uint32_t ref, int insert)
{
	unsigned i = (ref * 2654435761u) & (pc->size - 1);

	for (;; i = (i + 1) & (pc->size - 1)) {
		struct pent *e = &pc->tab[i];

		if (e->used && e->ref == ref)
			return e;
		if (!e->used) {
			if (!insert)
				return NULL;
			e->used = 1;
			e->ref = ref;
			e->page = NULL;
			pc->count++;
			return e;
		}
	}
}

/* Take back the entries a failed map left without a page (the table has no tombstones: rebuilt). */
static void pdrop_unmapped(struct blkback_pcache *pc)
{
	struct pent *old = pc->tab;
	unsigned size = pc->size;

	if (!(pc->tab = calloc(size, sizeof(*pc->tab)))) {
		pc->tab = old; /* keep them: they map nothing and are looked up as misses again */
		return;
	}
	pc->count = 0;
	for (unsigned i = 0; i < size; i++)
		if (old[i].used && old[i].page)
			*pfind(pc, old[i].ref, 1) = old[i];
	free(old);
}

/*
 * refs (n, repeats allowed) among the persistent grants: those not yet
 * there mapped in one call (writable: persistent grants are) and kept, as
 * many as the table takes. A call that fails keeps nothing: the pages are
 * then mapped the ordinary way, and a bad reference fails its request there.
 */
static void pcache_fill(struct blkback_ring *r, const uint32_t *refs, unsigned n)
{
	struct blkback_pcache *pc = r->pc;
	uint32_t *miss = r->batch->miss;
	void **pages = r->batch->pages;
	unsigned nmiss = 0;
	struct xsl_gnt_pages *m, **nm;

	for (unsigned i = 0; i < n && pc->count < pc->max; i++)
		if (!pfind(pc, refs[i], 0)) {
			pfind(pc, refs[i], 1);
			miss[nmiss++] = refs[i];
		}
	if (nmiss == 0)
		return;
	m = map_refs(r, miss, nmiss, 1, pages);
	if (m && !(nm = realloc(pc->maps, (pc->nmaps + 1) * sizeof(*nm)))) {
		xsl_gnt_unmap_pages(r->hyp, m);
		m = NULL;
	}
	if (!m) {
		pdrop_unmapped(pc);
		return;
	}
	pc->maps = nm;
	pc->maps[pc->nmaps++] = m;
	for (unsigned k = 0; k < nmiss; k++)
		pfind(pc, miss[k], 0)->page = pages[k];
}

static char *pcache_page(struct blkback_ring *r, uint32_t ref)
{
	struct pent *e = pfind(r->pc, ref, 0);

	return e ? e->page : NULL;
}

/* The pass's data pages among the persistent grants; a request whose pages all are is served from them. */
static void resolve_persistent(struct blkback_ring *r, struct blkback_batch *b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct blkback_req *q = &b->req[i];

		if (q->status == 1)
			for (unsigned s = 0; s < q->nseg; s++)
				b->refs[n++] = q->seg[s].gref;
	}
	pcache_fill(r, b->refs, n);
	for (unsigned i = 0; i < b->n; i++) {
		struct blkback_req *q = &b->req[i];
		unsigned s;

		if (q->status != 1 || q->nseg == 0)
			continue;
		for (s = 0; s < q->nseg && (q->segp[s] = pcache_page(r, q->seg[s].gref)); s++)
			;
		q->cached = s == q->nseg;
	}
}

int blkback_ring_set_persistent(struct blkback_ring *r, unsigned max_pages)
{
	struct blkback_pcache *pc;
	unsigned size = 16;

	if (max_pages == 0 || max_pages > (1u << 20))
		return -EINVAL;
	while (size < 2 * max_pages)
		size *= 2;
	if (!(pc = calloc(1, sizeof(*pc))) || !(pc->tab = calloc(size, sizeof(*pc->tab)))) {
		free(pc);
		return -ENOMEM;
	}
	pc->max = max_pages;
	pc->size = size;
	r->pc = pc;
	return 0;
}

static void persistent_free(struct blkback_ring *r)
{
	struct blkback_pcache *pc = r->pc;

	if (!pc)
		return;
	for (unsigned i = 0; i < pc->nmaps; i++)
		xsl_gnt_unmap_pages(r->hyp, pc->maps[i]);
	free(pc->maps);
	free(pc->tab);
	free(pc);
	r->pc = NULL;
}

unsigned blkback_ring_persistent_count(const struct blkback_ring *r, unsigned *mappings)
{
	if (mappings)
		*mappings = r->pc ? r->pc->nmaps : 0;
	return r->pc ? r->pc->count : 0;
}

/* ---------------------------------------------------------------- the I/O */

/* All of a preadv/pwritev, however short each call comes back. */
static int rw_all(int fd, struct iovec *iov, int cnt, off_t off, int write)
{
	while (cnt > 0) {
		ssize_t n = write ? pwritev(fd, iov, cnt, off) : preadv(fd, iov, cnt, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int do_flush(struct blkback_ring *r)
{
	r->st.fdatasyncs++;
	return fdatasync(r->disk->fd) < 0 ? -errno : 0;
}

static int do_discard(struct blkback_ring *r, const struct blkback_req *q)
{
	if (q->nsect == 0)
		return 0;
	if (fallocate(r->disk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(q->sector * BLK_SECT), (off_t)(q->nsect * BLK_SECT)) == 0)
		return 0;
	return -errno;
}

static void do_request(struct blkback_ring *r, struct blkback_batch *b, struct blkback_req *q)
{
	int err = 0;

	if (q->status != 1)
		return;
	if (q->op == BLKIF_OP_DISCARD) {
		r->st.discard_req++;
		err = do_discard(r, q);
		if (err == -EOPNOTSUPP) {
			q->status = BLKIF_RSP_EOPNOTSUPP;
			r->st.unsupported++;
			return;
		}
	} else if (q->nseg) {
		int write = q->op != BLKIF_OP_READ;

		for (unsigned s = 0; s < q->nseg; s++) {
			b->iov[s].iov_base = (char *)q->segp[s] + q->seg[s].first_sect * BLK_SECT;
			b->iov[s].iov_len = (size_t)(q->seg[s].last_sect - q->seg[s].first_sect + 1) * BLK_SECT;
		}
		err = rw_all(r->disk->fd, b->iov, (int)q->nseg, (off_t)(q->sector * BLK_SECT), write);
		if (write) {
			r->st.wr_req++;
			r->st.wr_sect += q->nsect;
		} else {
			r->st.rd_req++;
			r->st.rd_sect += q->nsect;
		}
	}
	if (!err && q->op == BLKIF_OP_FLUSH_DISKCACHE) {
		r->st.flush_req++;
		err = do_flush(r);
	}
	if (err)
		r->st.io_err++;
	q->status = err ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
}

/* ---------------------------------------------------------------- the ring */

static void respond(struct blkback_ring *r, const struct blkback_req *q)
{
	blkif_response_t *rsp = RING_GET_RESPONSE(&r->ring, r->ring.rsp_prod_pvt);

	rsp->id = q->id;
	rsp->operation = q->operation;
	rsp->status = (int16_t)q->status;
	r->ring.rsp_prod_pvt++;
	if (q->status == BLKIF_RSP_ERROR)
		r->st.err_req++;
}

/* The data pages a request as copied says it carries (checked later: junk counts as what it says). */
static unsigned req_pages(const blkif_request_t *in)
{
	switch (in->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_FLUSH_DISKCACHE:
		return in->nr_segments;
	case BLKIF_OP_INDIRECT:
		return ((const blkif_request_indirect_t *)in)->nr_segments;
	default:
		return 0;
	}
}

/*
 * Copy up to BLK_BATCH requests, BLK_PASS_PAGES data pages, off the ring
 * (the first one whatever it says): how many, or -EPROTO for impossible
 * indices. A request past the pages is left on the ring for the next pass.
 */
static int take(struct blkback_ring *r, struct blkback_batch *b)
{
	RING_IDX rp = r->ring.sring->req_prod, rc = r->ring.req_cons;
	unsigned pages = 0;

	xen_rmb(); /* the requests after the index that announces them */
	if (RING_REQUEST_PROD_OVERFLOW(&r->ring, rp))
		return broken(r, "req_prod %u is more than a ring (%u) past rsp_prod %u", rp,
			      RING_SIZE(&r->ring), r->ring.rsp_prod_pvt);
	b->n = 0;
	while (rc != rp && b->n < BLK_BATCH && !RING_REQUEST_CONS_OVERFLOW(&r->ring, rc)) {
		blkif_request_t in;

		RING_COPY_REQUEST(&r->ring, rc, &in);
		pages += req_pages(&in);
		if (b->n > 0 && pages > BLK_PASS_PAGES)
			break;
		r->ring.req_cons = ++rc;
		decode(r, &in, &b->req[b->n++]);
	}
	return (int)b->n;
}

/* One pass: take, check, map, do, unmap, answer. */
static void pass(struct blkback_ring *r, struct blkback_batch *b)
{
	struct xsl_gnt_pages *rm, *wm;
	int notify;

	r->st.passes++;
	load_indirect(r, b);
	if (r->pc)
		resolve_persistent(r, b);
	rm = map_data(r, b, 1);
	wm = map_data(r, b, 0);
	for (unsigned i = 0; i < b->n; i++)
		do_request(r, b, &b->req[i]);
	/* Unmapped before any response: the frontend ends its grants as the responses come. */
	for (unsigned i = 0; i < b->n; i++)
		if (b->req[i].own)
			xsl_gnt_unmap_pages(r->hyp, b->req[i].own);
	if (rm)
		xsl_gnt_unmap_pages(r->hyp, rm);
	if (wm)
		xsl_gnt_unmap_pages(r->hyp, wm);
	for (unsigned i = 0; i < b->n; i++)
		respond(r, &b->req[i]);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->ring, notify);
	if (notify) {
		r->st.notifies++;
		xsl_evt_notify(r->hyp, r->port);
	}
}

int blkback_ring_service(struct blkback_ring *r, unsigned max_passes)
{
	unsigned passes = 0;

	if (r->broken)
		return -EPROTO;
	if (!r->area)
		return 0;
	xsl_evt_ack(r->hyp, r->port);
	for (;;) {
		int more, n = take(r, r->batch);

		if (n < 0)
			return n;
		if (n > 0)
			pass(r, r->batch);
		if (RING_HAS_UNCONSUMED_REQUESTS(&r->ring)) {
			if (max_passes && ++passes >= max_passes)
				return 1;
			continue;
		}
		/* Ask to be notified of the next request, then look once more (no lost wake-up). */
		RING_FINAL_CHECK_FOR_REQUESTS(&r->ring, more);
		if (!more)
			return 0;
		if (max_passes && ++passes >= max_passes)
			return 1;
	}
}

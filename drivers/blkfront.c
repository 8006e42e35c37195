/* The block frontend's ring: requests queued with their data pages granted to the backend, responses taken back. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/blk.h"

struct blkfront_slot {
	unsigned next;       /* free list */
	int busy;
	void *tag;
	uint8_t op;
	char *buf;           /* the caller's buffer */
	size_t len;
	int bounced;         /* data in pool pages (copied out after a read) */
	unsigned npool;
	uint32_t pool[BLK_MAX_SEGS + 1];  /* pool pages it holds: data, then the indirect page */
	unsigned ngr;
	uint32_t gr[BLK_MAX_SEGS + 1];    /* grants to end when the response comes */
};

static char *pool_page(const struct blkfront_ring *f, uint32_t i)
{
	return f->pool + (size_t)i * BLK_PAGE;
}

/* ---------------------------------------------------------------- set-up */

int blkfront_ring_setup(struct blkfront_ring *f, struct xsl_hyp *hyp, unsigned be_domid,
			unsigned order, unsigned pool_pages, unsigned flags)
{
	uint32_t probe;
	int err;

	memset(f, 0, sizeof(*f));
	f->evt_fd = -1;
	f->hyp = hyp;
	f->be_domid = be_domid;
	f->max_segs = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	if (order > BLK_MAX_RING_ORDER)
		return -EINVAL;
	f->order = order;
	f->npages = 1u << order;
	f->pool_pages = pool_pages ? pool_pages : BLKFRONT_POOL_DEFAULT;
	if (!(f->area = xsl_gnt_share(hyp, be_domid, f->npages, 1, f->refs)))
		return -ENOMEM;
	SHARED_RING_INIT((blkif_sring_t *)f->area);
	FRONT_RING_INIT(&f->ring, (blkif_sring_t *)f->area, (size_t)f->npages * BLK_PAGE);
	f->nslots = RING_SIZE(&f->ring);
	err = xsl_evt_alloc_unbound(hyp, be_domid, &f->port);
	if (err == 0 && (f->evt_fd = xsl_evt_fd(hyp, f->port)) < 0) {
		err = f->evt_fd;
		f->evt_fd = -1;
		xsl_evt_close(hyp, f->port);
	}
	if (err < 0)
		goto fail_ring;
	err = -ENOMEM;
	f->slots = calloc(f->nslots, sizeof(*f->slots));
	f->pool_free = calloc(f->pool_pages, sizeof(uint32_t));
	if (!f->slots || !f->pool_free)
		goto fail;
	/*
	 * Per-request grants where the hypervisor has them, else a pool shared
	 * once (and always so for persistent grants).
	 */
	f->persistent = !!(flags & BLKFRONT_PERSISTENT);
	if (!f->persistent && (f->pool = xsl_gnt_alloc(hyp, f->pool_pages))) {
		err = xsl_gnt_grant(hyp, be_domid, f->pool, 0, &probe);
		if (err == 0) {
			xsl_gnt_end(hyp, probe);
			f->per_request = 1;
		} else {
			xsl_gnt_free(hyp, f->pool, f->pool_pages);
			f->pool = NULL;
		}
	}
	if (!f->per_request) {
		err = -ENOMEM;
		if (!(f->pool_refs = calloc(f->pool_pages, sizeof(uint32_t))) ||
		    !(f->pool = xsl_gnt_share(hyp, be_domid, f->pool_pages, 1, f->pool_refs)))
			goto fail;
	}
	for (unsigned i = 0; i < f->pool_pages; i++)
		f->pool_free[i] = f->pool_pages - 1 - i;
	f->pool_nfree = f->pool_pages;
	for (unsigned i = 0; i < f->nslots; i++)
		f->slots[i].next = i + 1;
	f->free_slot = 0;
	return 0;
fail:
	free(f->pool_refs);
	free(f->pool_free);
	free(f->slots);
	f->pool_refs = NULL;
	f->pool_free = NULL;
	f->slots = NULL;
	f->pool = NULL;
	xsl_evt_close(hyp, f->port);
	f->evt_fd = -1;
fail_ring:
	xsl_gnt_unshare(hyp, f->area, f->npages);
	f->area = NULL;
	return err;
}

void blkfront_ring_set_indirect(struct blkfront_ring *f, unsigned max_indirect)
{
	f->max_segs = max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST
			      ? (max_indirect < BLK_MAX_SEGS ? max_indirect : BLK_MAX_SEGS)
			      : BLKIF_MAX_SEGMENTS_PER_REQUEST;
}

void *blkfront_ring_buffers(struct blkfront_ring *f, size_t pages)
{
	if (f->zc || pages == 0 || pages > 1u << 20)
		return NULL;
	if (f->per_request) {
		f->zc = xsl_gnt_alloc(f->hyp, (unsigned)pages);
	} else {
		if (!(f->zc_refs = calloc(pages, sizeof(uint32_t))))
			return NULL;
		f->zc = xsl_gnt_share(f->hyp, f->be_domid, (unsigned)pages, 1, f->zc_refs);
		if (!f->zc) {
			free(f->zc_refs);
			f->zc_refs = NULL;
		}
	}
	if (f->zc)
		f->zc_pages = (unsigned)pages;
	return f->zc;
}

/* ---------------------------------------------------------------- requests */

/* Give up what a slot holds: its grants ended (a page whose grant will not end is never reused), its pages. */
static void slot_release(struct blkfront_ring *f, struct blkfront_slot *s)
{
	int stuck = 0;

	for (unsigned i = 0; i < s->ngr; i++)
		if (xsl_gnt_end(f->hyp, s->gr[i]) < 0)
			stuck = 1;
	if (stuck)
		f->leaked += s->npool;
	else
		for (unsigned i = 0; i < s->npool; i++)
			f->pool_free[f->pool_nfree++] = s->pool[i];
	s->ngr = s->npool = 0;
	s->busy = 0;
	s->next = f->free_slot;
	f->free_slot = (unsigned)(s - f->slots);
	f->inflight--;
}

/* A reference for page (pool page pi, or a zero-copy page zi), granted now if per request. */
static int page_ref(struct blkfront_ring *f, struct blkfront_slot *s, char *page, int pi, int zi,
		    int readonly, uint32_t *ref)
{
	int err;

	if (!f->per_request) {
		*ref = pi >= 0 ? f->pool_refs[pi] : f->zc_refs[zi];
		return 0;
	}
	if ((err = xsl_gnt_grant(f->hyp, f->be_domid, page, readonly, ref)) < 0)
		return err;
	s->gr[s->ngr++] = *ref;
	f->grants++;
	return 0;
}

int blkfront_ring_queue(struct blkfront_ring *f, int op, uint64_t sector, unsigned nsect,
			void *buf, void *tag)
{
	unsigned npg = (nsect + BLK_SECTS_PER_PAGE - 1) / BLK_SECTS_PER_PAGE, need, idx;
	int zc = 0, indirect, err, readonly = op != BLKIF_OP_READ;
	struct blkif_request_segment segs[BLK_MAX_SEGS];
	struct blkfront_slot *s;
	blkif_request_t *req;

	if (f->broken)
		return -EPIPE;
	if (op == BLKIF_OP_DISCARD)
		npg = 0;
	else if (op != BLKIF_OP_READ && op != BLKIF_OP_WRITE && op != BLKIF_OP_FLUSH_DISKCACHE)
		return -EINVAL;
	if (npg > f->max_segs || (npg == 0 && (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE)))
		return -EINVAL;
	indirect = npg > BLKIF_MAX_SEGMENTS_PER_REQUEST;
	if (npg && f->zc && (char *)buf >= f->zc &&
	    (char *)buf + (size_t)npg * BLK_PAGE <= f->zc + (size_t)f->zc_pages * BLK_PAGE &&
	    ((size_t)((char *)buf - f->zc) % BLK_PAGE) == 0)
		zc = 1;
	need = (zc ? 0 : npg) + (indirect ? 1 : 0);
	if (f->free_slot >= f->nslots || RING_FULL(&f->ring) || f->pool_nfree < need)
		return -EBUSY;
	idx = f->free_slot;
	s = &f->slots[idx];
	f->free_slot = s->next;
	f->inflight++;
	s->busy = 1;
	s->tag = tag;
	s->op = (uint8_t)op;
	s->buf = buf;
	s->len = (size_t)nsect * BLK_SECT;
	s->bounced = !zc && npg;
	s->ngr = s->npool = 0;
	for (unsigned i = 0; i < need; i++)
		s->pool[s->npool++] = f->pool_free[--f->pool_nfree];
	for (unsigned i = 0; i < npg; i++) {
		unsigned first = i * BLK_SECTS_PER_PAGE;
		unsigned n = nsect - first < BLK_SECTS_PER_PAGE ? nsect - first : BLK_SECTS_PER_PAGE;
		char *page;
		int pi = -1, zi = -1;

		if (zc) {
			zi = (int)(((char *)buf - f->zc) / BLK_PAGE + i);
			page = f->zc + (size_t)zi * BLK_PAGE;
		} else {
			pi = (int)s->pool[i];
			page = pool_page(f, s->pool[i]);
			if (op != BLKIF_OP_READ)
				memcpy(page, (char *)buf + (size_t)first * BLK_SECT, (size_t)n * BLK_SECT);
		}
		if ((err = page_ref(f, s, page, pi, zi, readonly, &segs[i].gref)) < 0)
			goto fail;
		segs[i].first_sect = 0;
		segs[i].last_sect = (uint8_t)(n - 1);
	}
	req = RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt);
	if (indirect) {
		blkif_request_indirect_t *ind = (blkif_request_indirect_t *)req;
		uint32_t ipage = s->pool[s->npool - 1];

		memcpy(pool_page(f, ipage), segs, npg * sizeof(segs[0]));
		memset(ind, 0, sizeof(*ind));
		if ((err = page_ref(f, s, pool_page(f, ipage), (int)ipage, -1, 1,
				    &ind->indirect_grefs[0])) < 0)
			goto fail;
		ind->operation = BLKIF_OP_INDIRECT;
		ind->indirect_op = (uint8_t)op;
		ind->nr_segments = (uint16_t)npg;
		ind->id = idx;
		ind->sector_number = sector;
	} else if (op == BLKIF_OP_DISCARD) {
		blkif_request_discard_t *d = (blkif_request_discard_t *)req;

		memset(d, 0, sizeof(*d));
		d->operation = BLKIF_OP_DISCARD;
		d->id = idx;
		d->sector_number = sector;
		d->nr_sectors = nsect;
	} else {
		req->operation = (uint8_t)op;
		req->nr_segments = (uint8_t)npg;
		req->handle = 0;
		req->id = idx;
		req->sector_number = sector;
		memcpy(req->seg, segs, npg * sizeof(segs[0]));
	}
	f->ring.req_prod_pvt++;
	return 0;
fail:
	slot_release(f, s);
	return err;
}

void blkfront_ring_kick(struct blkfront_ring *f)
{
	int notify;

	if (f->ring.req_prod_pvt == f->ring.sring->req_prod)
		return;
	f->pushes++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
	if (notify) {
		f->notifies++;
		xsl_evt_notify(f->hyp, f->port);
	}
}

int blkfront_ring_complete(struct blkfront_ring *f, blkfront_done_fn *done, void *arg)
{
	int count = 0, more;

	if (f->broken)
		return -EPIPE;
	do {
		RING_IDX rp = f->ring.sring->rsp_prod, rc = f->ring.rsp_cons;

		xen_rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&f->ring, rp)) {
			f->broken = 1;
			return -EPIPE;
		}
		for (; rc != rp; rc++) {
			blkif_response_t rsp;
			struct blkfront_slot *s;
			int status;

			RING_COPY_RESPONSE(&f->ring, rc, &rsp);
			if (rsp.id >= f->nslots || !f->slots[rsp.id].busy) {
				f->bad_responses++;
				continue;
			}
			s = &f->slots[rsp.id];
			status = rsp.status;
			if (status == BLKIF_RSP_OKAY && s->op == BLKIF_OP_READ && s->bounced)
				for (size_t off = 0, i = 0; off < s->len; off += BLK_PAGE, i++)
					memcpy(s->buf + off, pool_page(f, s->pool[i]),
					       s->len - off < BLK_PAGE ? s->len - off : BLK_PAGE);
			void *tag = s->tag;

			slot_release(f, s);
			count++;
			if (done)
				done(tag, status, arg);
		}
		f->ring.rsp_cons = rc;
		RING_FINAL_CHECK_FOR_RESPONSES(&f->ring, more);
	} while (more);
	return count;
}

int blkfront_ring_wait(struct blkfront_ring *f, int timeout_ms)
{
	struct pollfd p = {.fd = f->evt_fd, .events = POLLIN};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	xsl_evt_ack(f->hyp, f->port);
	return 1;
}

struct sync_wait {
	void *tag;
	int status;
	int done;
};

static void sync_done(void *tag, int status, void *arg)
{
	struct sync_wait *w = arg;

	if (tag == w->tag) {
		w->status = status;
		w->done = 1;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int blkfront_ring_io(struct blkfront_ring *f, int op, uint64_t sector, unsigned nsect, void *buf,
		     int timeout_ms)
{
	struct sync_wait w = {.tag = &w};
	long long end = now_ms() + timeout_ms;
	int err = blkfront_ring_queue(f, op, sector, nsect, buf, &w);

	if (err < 0)
		return err;
	blkfront_ring_kick(f);
	for (;;) {
		long long left = end - now_ms();

		if ((err = blkfront_ring_complete(f, sync_done, &w)) < 0)
			return err;
		if (w.done)
			break;
		if (timeout_ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		if ((err = blkfront_ring_wait(f, timeout_ms < 0 ? -1 : (int)left)) < 0)
			return err;
	}
	return w.status == BLKIF_RSP_OKAY ? 0 : w.status == BLKIF_RSP_EOPNOTSUPP ? -EOPNOTSUPP : -EIO;
}

void blkfront_ring_forget(struct blkfront_ring *f)
{
	free(f->pool_refs);
	free(f->pool_free);
	free(f->zc_refs);
	free(f->slots);
	memset(f, 0, sizeof(*f));
	f->evt_fd = -1;
}

int blkfront_ring_teardown(struct blkfront_ring *f)
{
	if (f->slots)
		for (unsigned i = 0; i < f->nslots; i++)
			if (f->slots[i].busy)
				slot_release(f, &f->slots[i]);
	if (f->evt_fd >= 0)
		xsl_evt_close(f->hyp, f->port);
	f->evt_fd = -1;
	/* Still mapped by the backend: everything kept until it lets go (call again). */
	if (f->area && xsl_gnt_unshare(f->hyp, f->area, f->npages) < 0)
		return -EBUSY;
	f->area = NULL;
	if (f->pool) {
		if (f->per_request)
			xsl_gnt_free(f->hyp, f->pool, f->pool_pages);
		else
			xsl_gnt_unshare(f->hyp, f->pool, f->pool_pages);
	}
	if (f->zc) {
		if (f->per_request)
			xsl_gnt_free(f->hyp, f->zc, f->zc_pages);
		else
			xsl_gnt_unshare(f->hyp, f->zc, f->zc_pages);
	}
	f->pool = f->zc = NULL;
	free(f->pool_refs);
	free(f->pool_free);
	free(f->zc_refs);
	free(f->slots);
	f->pool_refs = f->pool_free = f->zc_refs = NULL;
	f->slots = NULL;
	return 0;
}

/*
 * The block pair's data path in one process, step by step: a frontend ring
 * (domain 5) and the backend serving it (dom0) from an image file, over the
 * one-process hypervisor of fake_hyp.c. The backend runs when the test says,
 * so every case is deterministic: what lands in the image, full rings,
 * indirect requests, flushes, and a hostile frontend writing the ring by hand.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/blk.h"
#include "tests/blk/fake_hyp.h"

#define FE 5u
#define BE 0u
#define DISK_SECTS 2048u /* 1 MiB */

static struct {
	char dir[64], img[96];
	struct xsl_hyp *fe, *be;
	struct blk_disk disk;
	struct blkfront_ring f;
	struct blkback_ring b;
} w;

static void image_fill(void)
{
	int fd = open(w.img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char sect[BLK_SECT];

	ck_assert_int_ge(fd, 0);
	for (unsigned s = 0; s < DISK_SECTS; s++) {
		memset(sect, 0, sizeof(sect));
		snprintf(sect, sizeof(sect), "dom0 sector %u", s);
		ck_assert_int_eq(pwrite(fd, sect, sizeof(sect), (off_t)s * BLK_SECT), (ssize_t)sizeof(sect));
	}
	close(fd);
}

static void image_read(uint64_t sector, void *buf, size_t len)
{
	int fd = open(w.img, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)(sector * BLK_SECT)), (ssize_t)len);
	close(fd);
}

static void connect_flags(unsigned order, int readonly, unsigned persistent_max);

static void connect_order(unsigned order, int readonly)
{
	connect_flags(order, readonly, 0);
}

/* persistent_max: persistent grants, the backend keeping at most that many (0: grants per request). */
static void connect_flags(unsigned order, int readonly, unsigned persistent_max)
{
	struct xsl_hyp_opts fo = {.kind = XSL_HYP_SIM, .domid = FE}, bo = {.kind = XSL_HYP_SIM};

	ck_assert_int_eq(xsl_hyp_open(&w.fe, &fo), 0);
	ck_assert_int_eq(xsl_hyp_open(&w.be, &bo), 0);
	ck_assert_int_eq(blk_disk_open(&w.disk, w.img, readonly), 0);
	ck_assert_int_eq(w.disk.sectors, DISK_SECTS);
	ck_assert_int_eq(blkfront_ring_setup(&w.f, w.fe, BE, order, 0,
					     persistent_max ? BLKFRONT_PERSISTENT : 0), 0);
	ck_assert_int_eq(blkback_ring_connect(&w.b, w.be, &w.disk, FE, w.f.refs, w.f.npages, w.f.port),
			 0);
	if (persistent_max)
		ck_assert_int_eq(blkback_ring_set_persistent(&w.b, persistent_max), 0);
	blkfront_ring_set_indirect(&w.f, BLK_MAX_INDIRECT_SEGS);
}

static void setup(void)
{
	snprintf(w.dir, sizeof(w.dir), "/tmp/blkdp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(w.dir));
	snprintf(w.img, sizeof(w.img), "%s/disk.img", w.dir);
	image_fill();
}

static void teardown(void)
{
	blkback_ring_disconnect(&w.b);
	blkfront_ring_teardown(&w.f);
	blk_disk_close(&w.disk);
	xsl_hyp_close(w.fe);
	xsl_hyp_close(w.be);
	unlink(w.img);
	rmdir(w.dir);
	memset(&w, 0, sizeof(w));
}

/* Run the backend until the ring is idle; the frontend's responses taken. */
static int serve(void)
{
	int rc = blkback_ring_service(&w.b, 0);

	/* Nothing left mapped but the ring itself and the persistent grants (here a mapping a page). */
	ck_assert_int_eq(fake_hyp_maps_outstanding(), 1 + (w.b.pc ? blkback_ring_persistent_count(&w.b, NULL) : 0));
	return rc;
}

struct done_log {
	unsigned n;
	int status[1024];
	void *tag[1024];
};

static void log_done(void *tag, int status, void *arg)
{
	struct done_log *l = arg;

	l->tag[l->n] = tag;
	l->status[l->n++] = status;
}

static int one(int op, uint64_t sector, unsigned nsect, void *buf)
{
	struct done_log l = {0};

	ck_assert_int_eq(blkfront_ring_queue(&w.f, op, sector, nsect, buf, buf), 0);
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(blkfront_ring_complete(&w.f, log_done, &l), 1);
	return l.status[0];
}

START_TEST(guest_write_lands_in_image)
{
	char buf[3 * BLK_PAGE], got[sizeof(buf)];

	connect_order(0, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 1);
	/* 20 sectors from sector 100: three pages, the last one partly. */
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 100, 20, buf), BLKIF_RSP_OKAY);
	image_read(100, got, 20 * BLK_SECT);
	ck_assert_mem_eq(got, buf, 20 * BLK_SECT);
	image_read(120, got, BLK_SECT);
	ck_assert_str_eq(got, "dom0 sector 120");
	ck_assert_int_eq(w.b.st.wr_req, 1);
	ck_assert_int_eq(w.b.st.wr_sect, 20);
}
END_TEST

START_TEST(dom0_write_read_by_guest)
{
	char buf[11 * BLK_PAGE];

	connect_order(0, 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(one(BLKIF_OP_READ, 7, 88, buf), BLKIF_RSP_OKAY);
	for (unsigned s = 0; s < 88; s++) {
		char want[32];

		snprintf(want, sizeof(want), "dom0 sector %u", 7 + s);
		ck_assert_str_eq(buf + s * BLK_SECT, want);
	}
	ck_assert_int_eq(w.b.st.rd_sect, 88);
}
END_TEST

/* The ring full of requests, each a different sector, all answered in order of the batches. */
START_TEST(full_ring_multipage)
{
	struct done_log *l = calloc(1, sizeof(*l));
	char *bufs;
	unsigned n;

	connect_order(_i, 0);
	n = w.f.nslots;
	ck_assert_int_eq(n, _i == 0 ? 32 : 32u << _i);
	bufs = calloc(n, BLK_SECT);
	for (unsigned k = 0; k < n; k++) {
		memset(bufs + k * BLK_SECT, 'a' + k % 26, BLK_SECT);
		ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, k, 1, bufs + k * BLK_SECT, NULL),
				 0);
	}
	ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 0, 1, bufs, NULL), -EBUSY);
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(blkfront_ring_complete(&w.f, log_done, l), (int)n);
	for (unsigned k = 0; k < n; k++)
		ck_assert_int_eq(l->status[k], BLKIF_RSP_OKAY);
	ck_assert_uint_ge(w.b.st.passes, n / BLK_BATCH);
	for (unsigned k = 0; k < n; k++) {
		char got[BLK_SECT];

		image_read(k, got, BLK_SECT);
		ck_assert_mem_eq(got, bufs + k * BLK_SECT, BLK_SECT);
	}
	/* Every grant ended: the pool whole again. */
	ck_assert_int_eq(w.f.inflight, 0);
	ck_assert_int_eq(w.f.pool_nfree, w.f.pool_pages);
	free(bufs);
	free(l);
}
END_TEST

/* 64 KiB in one indirect request, and zero-copy buffers. */
START_TEST(indirect_64k_zero_copy)
{
	char *zc;
	char got[64 * 1024];

	connect_order(0, 0);
	zc = blkfront_ring_buffers(&w.f, 32);
	ck_assert_ptr_nonnull(zc);
	for (size_t i = 0; i < 64 * 1024; i++)
		zc[i] = (char)(i ^ (i >> 9));
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 256, 128, zc), BLKIF_RSP_OKAY);
	ck_assert_int_eq(w.b.st.indirect_req, 1);
	image_read(256, got, sizeof(got));
	ck_assert_mem_eq(got, zc, sizeof(got));
	memset(zc + 64 * 1024, 0, 64 * 1024);
	ck_assert_int_eq(one(BLKIF_OP_READ, 256, 128, zc + 64 * 1024), BLKIF_RSP_OKAY);
	ck_assert_mem_eq(zc + 64 * 1024, got, sizeof(got));
	ck_assert_int_eq(w.f.pool_nfree, w.f.pool_pages);
}
END_TEST

/*
 * 64 reads of 32 pages (2048 data pages) at once: the passes stop at what
 * one mapping call takes (1024 references), so each pass maps its indirect
 * pages in one call and its data pages in one, none falling back to a call
 * per request (this hypervisor refuses a call over 1024 references).
 */
START_TEST(pass_pages_fit_one_map_call)
{
	struct done_log *l = calloc(1, sizeof(*l));
	char *zc;

	connect_order(1, 0);
	ck_assert_uint_ge(w.f.nslots, 64);
	zc = blkfront_ring_buffers(&w.f, 32);
	ck_assert_ptr_nonnull(zc);
	for (unsigned k = 0; k < 64; k++)
		ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_READ, (k % 8) * 256, 256, zc, NULL), 0);
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(blkfront_ring_complete(&w.f, log_done, l), 64);
	for (unsigned k = 0; k < 64; k++)
		ck_assert_int_eq(l->status[k], BLKIF_RSP_OKAY);
	ck_assert_uint_eq(w.b.st.rd_sect, 64 * 256);
	ck_assert_uint_eq(w.b.st.passes, 2);
	ck_assert_uint_eq(w.b.st.map_calls, 4);
	ck_assert_uint_eq(w.b.st.bad_grant, 0);
	free(l);
}
END_TEST

START_TEST(flush_is_fdatasync)
{
	char buf[BLK_SECT] = "flushed";

	connect_order(0, 0);
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 3, 1, buf), BLKIF_RSP_OKAY);
	ck_assert_int_eq(w.b.st.fdatasyncs, 0);
	ck_assert_int_eq(one(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, NULL), BLKIF_RSP_OKAY);
	ck_assert_int_eq(w.b.st.fdatasyncs, 1);
	ck_assert_int_eq(w.b.st.flush_req, 1);
	/* A flush carrying data: written, then synced. */
	ck_assert_int_eq(one(BLKIF_OP_FLUSH_DISKCACHE, 4, 1, buf), BLKIF_RSP_OKAY);
	ck_assert_int_eq(w.b.st.fdatasyncs, 2);
	image_read(4, buf, BLK_SECT);
	ck_assert_str_eq(buf, "flushed");
}
END_TEST

START_TEST(discard_zeroes)
{
	char buf[BLK_PAGE];

	connect_order(0, 0);
	ck_assert_int_eq(one(BLKIF_OP_DISCARD, 8, 8, NULL), BLKIF_RSP_OKAY);
	image_read(8, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0);
	ck_assert_int_eq(one(BLKIF_OP_DISCARD, DISK_SECTS - 4, 8, NULL), BLKIF_RSP_ERROR);
}
END_TEST

START_TEST(readonly_disk_refuses_writes)
{
	char buf[BLK_SECT] = "nope", got[BLK_SECT];

	connect_order(0, 1);
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 1, 1, buf), BLKIF_RSP_ERROR);
	ck_assert_int_eq(one(BLKIF_OP_READ, 1, 1, got), BLKIF_RSP_OKAY);
	ck_assert_str_eq(got, "dom0 sector 1");
}
END_TEST

/* Persistent grants: the pages mapped once, then served from the mapping; data right both ways. */
START_TEST(persistent_grants_map_once)
{
	char *zc, got[64 * 1024];
	uint64_t calls;

	connect_flags(0, 0, BLK_PERSISTENT_MAX);
	ck_assert_int_eq(w.f.per_request, 0);
	zc = blkfront_ring_buffers(&w.f, 32);
	ck_assert_ptr_nonnull(zc);
	for (size_t i = 0; i < 64 * 1024; i++)
		zc[i] = (char)(i * 11 + 3);
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 300, 128, zc), BLKIF_RSP_OKAY);
	image_read(300, got, sizeof(got));
	ck_assert_mem_eq(got, zc, sizeof(got));
	calls = w.b.st.map_calls;
	/* The same buffers again, then read back into them: no new mapping. */
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 300, 128, zc), BLKIF_RSP_OKAY);
	memset(zc, 0, 64 * 1024);
	ck_assert_int_eq(one(BLKIF_OP_READ, 300, 128, zc), BLKIF_RSP_OKAY);
	ck_assert_mem_eq(zc, got, sizeof(got));
	ck_assert_uint_eq(w.b.st.map_calls, calls);
	ck_assert_uint_eq(blkback_ring_persistent_count(&w.b, NULL), 17); /* 16 data pages, 1 indirect */
	/* Through the bounce pool (not zero-copy): copied, still right. */
	memset(got, 'q', BLK_SECT);
	ck_assert_int_eq(one(BLKIF_OP_WRITE, 5, 1, got), BLKIF_RSP_OKAY);
	image_read(5, got + BLK_SECT, BLK_SECT);
	ck_assert_mem_eq(got, got + BLK_SECT, BLK_SECT);
}
END_TEST

/* A table smaller than the pages in use: the rest mapped per pass, the data still right. */
START_TEST(persistent_grants_table_full)
{
	struct done_log *l = calloc(1, sizeof(*l));
	char *bufs = calloc(32, BLK_PAGE);

	connect_flags(0, 0, 4);
	for (unsigned k = 0; k < 32; k++) {
		memset(bufs + k * BLK_PAGE, 'A' + k % 26, BLK_PAGE);
		ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 8 * k, 8, bufs + k * BLK_PAGE, NULL), 0);
	}
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(blkfront_ring_complete(&w.f, log_done, l), 32);
	for (unsigned k = 0; k < 32; k++) {
		char got[BLK_PAGE];

		ck_assert_int_eq(l->status[k], BLKIF_RSP_OKAY);
		image_read(8 * k, got, sizeof(got));
		ck_assert_mem_eq(got, bufs + k * BLK_PAGE, sizeof(got));
	}
	ck_assert_uint_eq(blkback_ring_persistent_count(&w.b, NULL), 4);
	free(bufs);
	free(l);
}
END_TEST

/* A bad reference among persistent ones fails its request only, and is not kept. */
START_TEST(persistent_grants_bad_reference)
{
	char b0[BLK_SECT] = "zero", b1[BLK_SECT] = "one";
	struct done_log l = {0};

	connect_flags(0, 0, BLK_PERSISTENT_MAX);
	ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 10, 1, b0, b0), 0);
	ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 11, 1, b1, b1), 0);
	RING_GET_REQUEST(&w.f.ring, 1)->seg[0].gref = 60001;
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(blkfront_ring_complete(&w.f, log_done, &l), 2);
	ck_assert_int_eq(l.status[0], BLKIF_RSP_OKAY);
	ck_assert_int_eq(l.status[1], BLKIF_RSP_ERROR);
	ck_assert_uint_eq(blkback_ring_persistent_count(&w.b, NULL), 0);
	image_read(10, b0, BLK_SECT);
	ck_assert_str_eq(b0, "zero");
}
END_TEST

/* ---------------------------------------------------------------- a hostile frontend */

/* A request written into the ring by hand, its data page granted (for the backend to read). */
static blkif_request_t *raw_req(uint8_t op, uint64_t id)
{
	blkif_request_t *r = RING_GET_REQUEST(&w.f.ring, w.f.ring.req_prod_pvt);

	memset(r, 0, sizeof(*r));
	r->operation = op;
	r->id = id;
	w.f.ring.req_prod_pvt++;
	return r;
}

static uint32_t grant_page(void *page, int readonly)
{
	uint32_t ref;

	ck_assert_int_eq(xsl_gnt_grant(w.fe, BE, page, readonly, &ref), 0);
	return ref;
}

/* Take every response: statuses by id. */
static void responses(int *status, unsigned n)
{
	RING_IDX rp = w.f.ring.sring->rsp_prod;

	ck_assert_int_eq(rp - w.f.ring.rsp_cons, n);
	for (RING_IDX i = w.f.ring.rsp_cons; i != rp; i++) {
		blkif_response_t *r = RING_GET_RESPONSE(&w.f.ring, i);

		ck_assert_uint_lt(r->id, n);
		status[r->id] = r->status;
	}
	w.f.ring.rsp_cons = rp;
}

START_TEST(hostile_bad_requests_get_errors)
{
	char *page;
	char before[DISK_SECTS * BLK_SECT / 4], after[sizeof(before)];
	int status[16];
	uint32_t ref, roref;
	blkif_request_t *r;

	connect_order(0, 0);
	page = blkfront_ring_buffers(&w.f, 1);
	memset(page, 'X', BLK_PAGE);
	ref = grant_page(page, 0);
	roref = grant_page(page, 1);
	image_read(0, before, sizeof(before));
	/* 0: first_sect > last_sect */
	r = raw_req(BLKIF_OP_WRITE, 0);
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){ref, 5, 2};
	/* 1: last_sect past the page */
	r = raw_req(BLKIF_OP_WRITE, 1);
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 8};
	/* 2: too many segments */
	r = raw_req(BLKIF_OP_WRITE, 2);
	r->nr_segments = 12;
	/* 3: no segment */
	r = raw_req(BLKIF_OP_READ, 3);
	/* 4: past the disk's end */
	r = raw_req(BLKIF_OP_WRITE, 4);
	r->nr_segments = 1;
	r->sector_number = DISK_SECTS - 1;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 1};
	/* 5: a sector number that wraps */
	r = raw_req(BLKIF_OP_WRITE, 5);
	r->nr_segments = 1;
	r->sector_number = ~0ull;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 0};
	/* 6: a reference that does not exist */
	r = raw_req(BLKIF_OP_WRITE, 6);
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){60000, 0, 0};
	/* 7: a read into a read-only grant */
	r = raw_req(BLKIF_OP_READ, 7);
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){roref, 0, 0};
	/* 8: an operation that does not exist */
	raw_req(99, 8);
	/* 9: barrier writes are not offered */
	r = raw_req(BLKIF_OP_WRITE_BARRIER, 9);
	/* 10: an indirect request with too many segments */
	r = raw_req(BLKIF_OP_INDIRECT, 10);
	((blkif_request_indirect_t *)r)->indirect_op = BLKIF_OP_WRITE;
	((blkif_request_indirect_t *)r)->nr_segments = 4096;
	/* 11: an indirect request whose indirect page is not granted */
	r = raw_req(BLKIF_OP_INDIRECT, 11);
	((blkif_request_indirect_t *)r)->indirect_op = BLKIF_OP_WRITE;
	((blkif_request_indirect_t *)r)->nr_segments = 12;
	((blkif_request_indirect_t *)r)->indirect_grefs[0] = 59999;
	/* 12: a good write among them: done */
	r = raw_req(BLKIF_OP_WRITE, 12);
	r->nr_segments = 1;
	r->sector_number = 1000;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 0};
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	responses(status, 13);
	for (int i = 0; i < 12; i++)
		ck_assert_msg(status[i] == (i == 8 || i == 9 ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR),
			      "request %d answered %d", i, status[i]);
	ck_assert_int_eq(status[12], BLKIF_RSP_OKAY);
	ck_assert_int_eq(w.b.st.bad_grant, 3);
	/* Nothing but sector 1000 changed. */
	image_read(0, after, sizeof(after));
	ck_assert_mem_eq(after, before, sizeof(before));
	image_read(1000, after, BLK_SECT);
	ck_assert_int_eq(after[0], 'X');
	xsl_gnt_end(w.fe, ref);
	xsl_gnt_end(w.fe, roref);
}
END_TEST

/* Junk ring indices: the ring is declared broken, nothing read, the image untouched. */
START_TEST(hostile_junk_indices)
{
	char before[64 * BLK_SECT], after[sizeof(before)];

	connect_order(0, 0);
	image_read(0, before, sizeof(before));
	w.f.ring.sring->req_prod = w.f.ring.sring->rsp_prod + 1000000;
	xsl_evt_notify(w.fe, w.f.port);
	ck_assert_int_eq(serve(), -EPROTO);
	ck_assert_int_eq(w.b.broken, 1);
	ck_assert_ptr_nonnull(strstr(w.b.why, "req_prod"));
	ck_assert_int_eq(w.b.st.rd_req + w.b.st.wr_req, 0);
	/* Again: still refused, no work done. */
	ck_assert_int_eq(blkback_ring_service(&w.b, 0), -EPROTO);
	image_read(0, before, sizeof(before));
	image_read(0, after, sizeof(after));
	ck_assert_mem_eq(after, before, sizeof(before));
}
END_TEST

/* A producer index that went backwards is as junk. */
START_TEST(hostile_index_backwards)
{
	char buf[BLK_SECT];

	connect_order(0, 0);
	ck_assert_int_eq(one(BLKIF_OP_READ, 0, 1, buf), BLKIF_RSP_OKAY);
	w.f.ring.sring->req_prod -= 5;
	ck_assert_int_eq(serve(), -EPROTO);
}
END_TEST

/* A grant withdrawn in the middle of a batch fails that request only. */
START_TEST(hostile_grant_revoked_in_batch)
{
	char b0[BLK_SECT] = "zero", b1[BLK_SECT] = "one", b2[BLK_SECT] = "two";
	struct done_log l = {0};

	connect_order(0, 0);
	ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 10, 1, b0, b0), 0);
	ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 11, 1, b1, b1), 0);
	ck_assert_int_eq(blkfront_ring_queue(&w.f, BLKIF_OP_WRITE, 12, 1, b2, b2), 0);
	fake_hyp_corrupt_grant(RING_GET_REQUEST(&w.f.ring, 1)->seg[0].gref);
	blkfront_ring_kick(&w.f);
	ck_assert_int_eq(serve(), 0);
	ck_assert_int_eq(blkfront_ring_complete(&w.f, log_done, &l), 3);
	ck_assert_int_eq(l.status[0], BLKIF_RSP_OKAY);
	ck_assert_int_eq(l.status[1], BLKIF_RSP_ERROR);
	ck_assert_int_eq(l.status[2], BLKIF_RSP_OKAY);
	image_read(11, b1, BLK_SECT);
	ck_assert_str_eq(b1, "dom0 sector 11");
	image_read(12, b2, BLK_SECT);
	ck_assert_str_eq(b2, "two");
}
END_TEST

/* A hostile backend: responses for no request and junk indices do not hurt the frontend. */
START_TEST(frontend_survives_bad_responses)
{
	blkif_response_t *r;

	connect_order(0, 0);
	r = RING_GET_RESPONSE(&w.b.ring, 0);
	r->id = 12345;
	w.f.ring.sring->rsp_prod = 1;
	ck_assert_int_eq(blkfront_ring_complete(&w.f, NULL, NULL), 0);
	ck_assert_int_eq(w.f.bad_responses, 1);
	w.f.ring.sring->rsp_prod = 900;
	ck_assert_int_eq(blkfront_ring_complete(&w.f, NULL, NULL), -EPIPE);
}
END_TEST

static Suite *suite_datapath(void)
{
	Suite *s = suite_create("blk-datapath");
	TCase *tc = tcase_create("ring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, guest_write_lands_in_image);
	tcase_add_test(tc, dom0_write_read_by_guest);
	tcase_add_loop_test(tc, full_ring_multipage, 0, BLK_MAX_RING_ORDER + 1);
	tcase_add_test(tc, indirect_64k_zero_copy);
	tcase_add_test(tc, pass_pages_fit_one_map_call);
	tcase_add_test(tc, flush_is_fdatasync);
	tcase_add_test(tc, discard_zeroes);
	tcase_add_test(tc, readonly_disk_refuses_writes);
	tcase_add_test(tc, persistent_grants_map_once);
	tcase_add_test(tc, persistent_grants_table_full);
	tcase_add_test(tc, persistent_grants_bad_reference);
	tcase_add_test(tc, hostile_bad_requests_get_errors);
	tcase_add_test(tc, hostile_junk_indices);
	tcase_add_test(tc, hostile_index_backwards);
	tcase_add_test(tc, hostile_grant_revoked_in_batch);
	tcase_add_test(tc, frontend_survives_bad_responses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite_datapath());
	int failed, run;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	return run == 0 || failed ? 1 : 0;
}

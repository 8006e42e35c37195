/*
 * The block pair end to end: our daemon and the simulated hypervisor
 * (xs-simhyp) started by tests/lib/xst_daemon, the backend server on a
 * dom0 connection in a thread of this process, a guest (a simulated
 * domain with its own ring to the store) with the frontend on its bus, the
 * toolstack's part done as xs-block does it. And hostile frontends written
 * by hand against the same backend.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drivers/blk.h"
#include "proto/simhyp.h"
#include "tests/lib/xst_daemon.h"

#define WAIT_MS 20000
#define FE 5u
#define DEVID 51712u
#define DEVID_S "51712"
#define DISK_SECTS 8192u /* 4 MiB */
#define BE_DIR "/local/domain/0/backend/vbd/5/51712"
#define FE_DIR "/local/domain/5/device/vbd/51712"

/* Log lines of either end, kept for the state sequences. */
#define LOG_MAX 256
struct log {
	pthread_mutex_t lock;
	unsigned n;
	char line[LOG_MAX][160];
};

static struct {
	struct xst_daemon d;
	char simhyp[320];
	char img[320];
	struct xsl *dom0;
	/* the backend, in a thread */
	struct xsl *be_h;
	struct xsl_hyp *be_hyp;
	struct blkback_server *srv;
	pthread_t be_th;
	int be_stop;
	int be_running;
	struct blkback_stats st; /* as it stopped */
	/* the guest */
	struct blk_simguest g;
	struct log fe_log, be_log;
} w;

static void log_add(void *arg, const char *line)
{
	struct log *l = arg;

	if (getenv("BLK_TEST_LOG")) /* to see both ends as they go */
		fprintf(stderr, "%s: %s\n", l == &w.fe_log ? "front" : "back", line);
	pthread_mutex_lock(&l->lock);
	if (l->n < LOG_MAX)
		snprintf(l->line[l->n++], sizeof(l->line[0]), "%s", line);
	pthread_mutex_unlock(&l->lock);
}

/* The states one end switched to, from its log ("... frontend Connected"), as "A B C". */
static void states(struct log *l, const char *who, char *out, size_t size)
{
	size_t n = 0;

	out[0] = 0;
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->n; i++) {
		const char *p = strstr(l->line[i], who);
		char st[32];

		if (!p || sscanf(p + strlen(who), " %31s", st) != 1)
			continue;
		n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "", st);
	}
	pthread_mutex_unlock(&l->lock);
}

static void image_make(void)
{
	int fd = open(w.img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char sect[512];

	ck_assert_int_ge(fd, 0);
	for (unsigned s = 0; s < DISK_SECTS; s++) {
		memset(sect, 0, sizeof(sect));
		snprintf(sect, sizeof(sect), "dom0 sector %u", s);
		ck_assert_int_eq(pwrite(fd, sect, sizeof(sect), (off_t)s * 512), 512);
	}
	close(fd);
}

static void image_read(uint64_t sector, void *buf, size_t len)
{
	int fd = open(w.img, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)(sector * 512)), (ssize_t)len);
	close(fd);
}

static void image_write(uint64_t sector, const void *buf, size_t len)
{
	int fd = open(w.img, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)(sector * 512)), (ssize_t)len);
	close(fd);
}

/* ---------------------------------------------------------------- the backend thread */

static void *backend_main(void *arg)
{
	(void)arg;
	blkback_server_run(w.srv, w.be_stop, -1);
	return NULL;
}

static void backend_start(void)
{
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .path = w.d.socket, .timeout_ms = WAIT_MS};
	struct xsl_hyp_opts ho = {.kind = XSL_HYP_SIM, .simhyp_path = w.simhyp};
	struct blkback_server_opts so = {.verbose = 1, .log = log_add, .log_arg = &w.be_log};

	ck_assert_int_eq(xsl_open(&w.be_h, &oo), 0);
	ck_assert_int_eq(xsl_hyp_open(&w.be_hyp, &ho), 0);
	so.h = w.be_h;
	so.hyp = w.be_hyp;
	ck_assert_int_eq(blkback_server_open(&w.srv, &so), 0);
	w.be_stop = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(w.be_stop, 0);
	ck_assert_int_eq(pthread_create(&w.be_th, NULL, backend_main, NULL), 0);
	w.be_running = 1;
}

static void backend_stop(void)
{
	uint64_t one = 1;

	if (!w.be_running)
		return;
	ck_assert_int_eq(write(w.be_stop, &one, sizeof(one)), 8);
	pthread_join(w.be_th, NULL);
	blkback_server_stats(w.srv, &w.st);
	blkback_server_close(w.srv);
	xsl_hyp_close(w.be_hyp);
	xsl_close(w.be_h);
	close(w.be_stop);
	w.be_running = 0;
}

/* ---------------------------------------------------------------- fixture */

static void setup(void)
{
	static const char *const args[] = {"-S", "0", NULL};
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .timeout_ms = WAIT_MS};

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.fe_log.lock, NULL);
	pthread_mutex_init(&w.be_log.lock, NULL);
	ck_assert_int_eq(xst_daemon_start(&w.d, XST_OURS, NULL, args), 0);
	snprintf(w.simhyp, sizeof(w.simhyp), "%s/%s", w.d.dir, SIMHYP_SOCKET_NAME);
	snprintf(w.img, sizeof(w.img), "%s/disk.img", w.d.dir);
	oo.path = w.d.socket;
	ck_assert_int_eq(xsl_open(&w.dom0, &oo), 0);
	image_make();
	backend_start();
}

static void teardown(void)
{
	int status;

	if (w.g.dom)
		blk_simguest_destroy(&w.g);
	backend_stop();
	xsl_close(w.dom0);
	status = xst_daemon_stop(&w.d, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d", status);
}

/* Both ends' logs on stderr: what a failed wait for Connected leaves to go on. */
static void logs_dump(void)
{
	struct log *logs[] = {&w.fe_log, &w.be_log};

	for (size_t k = 0; k < 2; k++) {
		pthread_mutex_lock(&logs[k]->lock);
		for (unsigned i = 0; i < logs[k]->n; i++)
			fprintf(stderr, "%s: %s\n", k ? "backend" : "frontend", logs[k]->line[i]);
		pthread_mutex_unlock(&logs[k]->lock);
	}
}

/* The frontend's device devid Connected within WAIT_MS, or the logs shown and the test failed. */
static void wait_connected(const char *devid)
{
	if (blkfront_guest_wait_connected(w.g.fe, devid, WAIT_MS) == 0)
		return;
	logs_dump();
	ck_abort_msg("device %s not Connected within %d ms", devid, WAIT_MS);
}

/* The guest, introduced, its vbd attached, the frontend on its bus, Connected. */
static void guest_up_opts(unsigned order, int persistent)
{
	struct blkfront_guest_opts go = {.ring_order = order, .persistent = persistent, .log = log_add,
					 .log_arg = &w.fe_log};

	ck_assert_int_eq(blk_simguest_create(&w.g, w.simhyp, FE, WAIT_MS), 0);
	ck_assert_int_eq(blk_ts_introduce(w.dom0, FE, xsl_simdom_port(w.g.dom)), 0);
	ck_assert_int_eq(blk_ts_attach(w.dom0, 0, FE, DEVID, w.img, 0), 0);
	ck_assert_int_eq(blk_simguest_start(&w.g, &go), 0);
	wait_connected(DEVID_S);
}

static void guest_up(unsigned order)
{
	guest_up_opts(order, 0);
}

static struct blkfront_dev *dev(void)
{
	struct blkfront_dev *d = blkfront_guest_dev(w.g.fe, DEVID_S);

	ck_assert_ptr_nonnull(d);
	return d;
}

static char *rd(struct xsl *h, const char *path)
{
	static char buf[4][256];
	static unsigned k;
	char *v, *b = buf[k++ % 4];
	size_t len;

	if (xsl_read(h, XSL_TXN_NONE, path, &v, &len) < 0)
		return NULL;
	snprintf(b, 256, "%s", v);
	free(v);
	return b;
}

/* Pump the guest until cond holds or the time runs out. */
#define PUMP_UNTIL(cond)                                                                   \
	do {                                                                               \
		for (int i_ = 0; i_ < WAIT_MS / 10 && !(cond); i_++)                       \
			blkfront_guest_pump(w.g.fe, 10);                                   \
		ck_assert_msg((cond), "timed out waiting for %s", #cond);                  \
	} while (0)

/*
 * The states who logged are want (its leading "Initialising " aside if
 * optional_init): a side logs a switch just after making it, so what the
 * store shows may be ahead of the log for a moment. Pumped until so, or
 * WAIT_MS.
 */
static void states_are(struct log *l, const char *who, const char *want, int optional_init)
{
	char seq[512];
	const char *got = seq;

	for (int i = 0; i <= WAIT_MS / 10; i++) {
		states(l, who, seq, sizeof(seq));
		got = optional_init && strncmp(seq, "Initialising ", 13) == 0 ? seq + 13 : seq;
		if (strcmp(got, want) == 0)
			return;
		blkfront_guest_pump(w.g.fe, 10);
	}
	ck_assert_str_eq(got, want);
}

/* ---------------------------------------------------------------- the pair */

START_TEST(connect_negotiates_through_the_store)
{
	struct blkfront_info in;

	guest_up(_i);
	blkfront_dev_info(dev(), &in);
	ck_assert_int_eq(in.sectors, DISK_SECTS);
	ck_assert_int_eq(in.sector_size, 512);
	ck_assert(in.flush);
	ck_assert_int_eq(in.ring_pages, 1u << _i);
	ck_assert_int_eq(in.max_indirect, BLK_MAX_INDIRECT_SEGS);
	/* The keys real drivers use, on both sides. */
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/sectors"), "8192");
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/sector-size"), "512");
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/feature-flush-cache"), "1");
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/max-ring-page-order"), "4");
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/info"), "0");
	ck_assert_str_eq(rd(w.dom0, FE_DIR "/protocol"), "x86_64-abi");
	ck_assert_ptr_nonnull(rd(w.dom0, FE_DIR "/event-channel"));
	if (_i == 0) {
		ck_assert_ptr_nonnull(rd(w.dom0, FE_DIR "/ring-ref"));
	} else {
		ck_assert_str_eq(rd(w.dom0, FE_DIR "/ring-page-order"), _i == 2 ? "2" : "4");
		ck_assert_ptr_nonnull(rd(w.dom0, FE_DIR "/ring-ref0"));
	}
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/state"), "4");
	ck_assert_str_eq(rd(w.dom0, FE_DIR "/state"), "4");
	/* Both ends' sequences, as each switched. */
	states_are(&w.fe_log, "vbd " DEVID_S ": frontend", "Initialising Initialised Connected", 0);
	/* What the frontend saw: Initialising too if it looked before the backend's InitWait. */
	states_are(&w.fe_log, "vbd " DEVID_S ": backend", "InitWait Connected", 1);
	states_are(&w.be_log, "vbd 5/" DEVID_S ": backend", "InitWait Connected", 0);
}
END_TEST

START_TEST(guest_writes_reach_the_image)
{
	char buf[40 * 512], got[sizeof(buf)];

	guest_up(0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 13 + 5);
	/* 40 sectors: 5 pages, a direct request. */
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_WRITE, 1000, 40, buf, WAIT_MS), 0);
	image_read(1000, got, sizeof(got));
	ck_assert_mem_eq(got, buf, sizeof(got));
	image_read(1040, got, 512);
	ck_assert_str_eq(got, "dom0 sector 1040");
}
END_TEST

START_TEST(dom0_writes_read_by_the_guest)
{
	char buf[128 * 512], got[sizeof(buf)];

	guest_up(0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 3 + 1);
	image_write(4000, buf, sizeof(buf));
	/* 64 KiB: 16 pages, an indirect request. */
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_READ, 4000, 128, got, WAIT_MS), 0);
	ck_assert_mem_eq(got, buf, sizeof(buf));
}
END_TEST

struct done_log {
	unsigned n, bad;
};

static void count_done(void *tag, int status, void *arg)
{
	struct done_log *l = arg;

	(void)tag;
	l->n++;
	if (status != BLKIF_RSP_OKAY)
		l->bad++;
}

/* The ring full of writes at once (512 requests with a 16-page ring), every one in the image. */
START_TEST(full_ring_of_concurrent_requests)
{
	struct blkfront_ring *r;
	struct done_log l = {0};
	unsigned n = 0;
	char *bufs;

	guest_up(BLK_MAX_RING_ORDER);
	r = blkfront_dev_ring(dev());
	ck_assert_ptr_nonnull(r);
	bufs = malloc((size_t)(r->nslots + 1) * 1024); /* one more: the request the full ring refuses */
	for (;; n++) {
		char *b = bufs + (size_t)n * 1024;

		memset(b, 'A' + n % 26, 1024);
		snprintf(b, 1024, "request %u", n);
		if (blkfront_ring_queue(r, BLKIF_OP_WRITE, 2 * n, 2, b, NULL) < 0)
			break;
	}
	ck_assert_uint_eq(n, r->nslots);
	blkfront_ring_kick(r);
	while (l.n < n) {
		if (blkfront_ring_complete(r, count_done, &l) == 0)
			ck_assert_int_eq(blkfront_ring_wait(r, WAIT_MS), 1);
	}
	ck_assert_int_eq(l.bad, 0);
	for (unsigned k = 0; k < n; k++) {
		char got[1024];

		image_read(2 * k, got, sizeof(got));
		ck_assert_mem_eq(got, bufs + (size_t)k * 1024, sizeof(got));
	}
	free(bufs);
	backend_stop();
	ck_assert_uint_eq(w.st.wr_req, n);
	/* Batched: far fewer map calls than requests. */
	ck_assert_uint_lt(w.st.map_calls, n / 4);
}
END_TEST

/*
 * Zero-copy buffers, grants per request: 64 KiB writes and reads queued
 * together, their pages taken out of order, so that one pass maps both
 * directions' pages in one call each, not in a row; every byte lands.
 */
START_TEST(mixed_batch_of_zero_copy_pages)
{
	enum { REQS = 24, PAGES = 16 };
	struct blkfront_ring *r;
	struct done_log l = {0};
	char *zc, want[PAGES * 4096];

	guest_up(BLK_MAX_RING_ORDER);
	r = blkfront_dev_ring(dev());
	ck_assert_ptr_nonnull(r);
	zc = blkfront_ring_buffers(r, (size_t)REQS * PAGES);
	ck_assert_ptr_nonnull(zc);
	for (unsigned k = 0; k < REQS; k++) {
		/* Request k uses the buffer slot (k * 7) % REQS: neighbours on the ring are not in memory. */
		char *b = zc + (size_t)((k * 7) % REQS) * PAGES * 4096;

		if (k % 2 == 0) {
			memset(b, 'a' + k, PAGES * 4096);
			ck_assert_int_eq(blkfront_ring_queue(r, BLKIF_OP_WRITE, 256 * k, 128, b, NULL), 0);
		} else {
			memset(want, 'A' + k, sizeof(want));
			image_write(256 * k, want, sizeof(want));
			memset(b, 0, PAGES * 4096);
			ck_assert_int_eq(blkfront_ring_queue(r, BLKIF_OP_READ, 256 * k, 128, b, NULL), 0);
		}
	}
	blkfront_ring_kick(r);
	while (l.n < REQS)
		if (blkfront_ring_complete(r, count_done, &l) == 0)
			ck_assert_int_eq(blkfront_ring_wait(r, WAIT_MS), 1);
	ck_assert_int_eq(l.bad, 0);
	ck_assert_uint_eq(r->leaked, 0);
	for (unsigned k = 0; k < REQS; k++) {
		char got[PAGES * 4096];

		memset(want, k % 2 ? 'A' + k : 'a' + k, sizeof(want));
		if (k % 2 == 0)
			image_read(256 * k, got, sizeof(got));
		else
			memcpy(got, zc + (size_t)((k * 7) % REQS) * PAGES * 4096, sizeof(got));
		ck_assert_mem_eq(got, want, sizeof(want));
	}
	backend_stop();
	ck_assert_uint_eq(w.st.wr_req + w.st.rd_req, REQS);
	ck_assert_uint_eq(w.st.bad_grant, 0);
}
END_TEST

START_TEST(flush_is_honoured_with_fdatasync)
{
	char buf[512] = "durable";

	guest_up(0);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_WRITE, 7, 1, buf, WAIT_MS), 0);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_FLUSH_DISKCACHE, 0, 0, NULL, WAIT_MS), 0);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_FLUSH_DISKCACHE, 0, 0, NULL, WAIT_MS), 0);
	backend_stop();
	ck_assert_uint_eq(w.st.flush_req, 2);
	ck_assert_uint_eq(w.st.fdatasyncs, 2);
	ck_assert_uint_eq(w.st.wr_req, 1);
}
END_TEST

struct detach_arg {
	volatile int *done;
	int rc;
};

/* The toolstack's detach from another thread, on a connection of its own. */
static void *detach_main(void *arg)
{
	struct detach_arg *a = arg;
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .path = w.d.socket, .timeout_ms = WAIT_MS};
	struct xsl *h;

	a->rc = xsl_open(&h, &oo);
	if (a->rc == 0) {
		a->rc = blk_ts_detach(h, 0, FE, DEVID, WAIT_MS, 0);
		xsl_close(h);
	}
	*a->done = 1;
	return NULL;
}

/* Detach: the backend to Closing, both ends Closed, the nodes gone; attached again, the data is there. */
START_TEST(detach_and_reattach)
{
	char buf[512] = "before detach", got[512];

	guest_up(0);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_WRITE, 42, 1, buf, WAIT_MS), 0);
	/* The toolstack's detach waits for both ends: the guest runs meanwhile. */
	{
		pthread_t th;
		volatile int done = 0;
		int rc;

		struct detach_arg a = {.done = &done};

		ck_assert_int_eq(pthread_create(&th, NULL, detach_main, &a), 0);
		for (int i = 0; i < WAIT_MS / 10 && !done; i++)
			blkfront_guest_pump(w.g.fe, 10);
		pthread_join(th, NULL);
		rc = a.rc;
		ck_assert_msg(rc == 0, "detach: %s", strerror(-rc));
	}
	PUMP_UNTIL(blkfront_guest_dev(w.g.fe, DEVID_S) == NULL);
	ck_assert_int_eq(xsl_exists(w.dom0, XSL_TXN_NONE, BE_DIR), 0);
	ck_assert_int_eq(xsl_exists(w.dom0, XSL_TXN_NONE, FE_DIR), 0);
	states_are(&w.fe_log, "vbd " DEVID_S ": frontend", "Initialising Initialised Connected Closing Closed", 0);
	states_are(&w.be_log, "vbd 5/" DEVID_S ": backend", "InitWait Connected Closed", 0);
	/* Again, the same image. */
	ck_assert_int_eq(blk_ts_attach(w.dom0, 0, FE, DEVID, w.img, 0), 0);
	wait_connected(DEVID_S);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_READ, 42, 1, got, WAIT_MS), 0);
	ck_assert_str_eq(got, "before detach");
}
END_TEST

/* Persistent grants negotiated (feature-persistent on both sides): the data both ways, direct and indirect. */
START_TEST(persistent_grants)
{
	char buf[128 * 512], got[sizeof(buf)];
	struct blkfront_info in;

	guest_up_opts(BLK_MAX_RING_ORDER, 1);
	blkfront_dev_info(dev(), &in);
	ck_assert_int_eq(in.persistent, 1);
	ck_assert_str_eq(rd(w.dom0, BE_DIR "/feature-persistent"), "1");
	ck_assert_str_eq(rd(w.dom0, FE_DIR "/feature-persistent"), "1");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 5 + 2);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_WRITE, 2000, 128, buf, WAIT_MS), 0);
	image_read(2000, got, sizeof(got));
	ck_assert_mem_eq(got, buf, sizeof(buf));
	image_write(3000, buf, 40 * 512);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_READ, 3000, 40, got, WAIT_MS), 0);
	ck_assert_mem_eq(got, buf, 40 * 512);
}
END_TEST

START_TEST(readonly_attach)
{
	char buf[512] = "no", got[512];
	struct blkfront_info in;

	ck_assert_int_eq(blk_simguest_create(&w.g, w.simhyp, FE, WAIT_MS), 0);
	ck_assert_int_eq(blk_ts_introduce(w.dom0, FE, xsl_simdom_port(w.g.dom)), 0);
	ck_assert_int_eq(blk_ts_attach(w.dom0, 0, FE, DEVID, w.img, 1), 0);
	{
		struct blkfront_guest_opts go = {.log = log_add, .log_arg = &w.fe_log};

		ck_assert_int_eq(blk_simguest_start(&w.g, &go), 0);
	}
	wait_connected(DEVID_S);
	blkfront_dev_info(dev(), &in);
	ck_assert_uint_eq(in.info & VDISK_READONLY, VDISK_READONLY);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_WRITE, 1, 1, buf, WAIT_MS), -EIO);
	ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_READ, 1, 1, got, WAIT_MS), 0);
	ck_assert_str_eq(got, "dom0 sector 1");
}
END_TEST

/* ---------------------------------------------------------------- hostile frontends */

/*
 * A frontend written by hand: the guest's domain and handles, no bus; the
 * device attached; the ring made with the library's ring code, published
 * as the test says.
 */
static struct blkfront_ring hr;

static void hostile_publish(const char *protocol, int bad_ref)
{
	ck_assert_int_eq(blk_simguest_create(&w.g, w.simhyp, FE, WAIT_MS), 0);
	ck_assert_int_eq(blk_ts_introduce(w.dom0, FE, xsl_simdom_port(w.g.dom)), 0);
	ck_assert_int_eq(blk_ts_attach(w.dom0, 0, FE, DEVID, w.img, 0), 0);
	ck_assert_int_eq(xsl_xbs_wait(w.g.h, BE_DIR, XSL_XBS_BIT(XSL_XBS_INITWAIT), WAIT_MS),
			 XSL_XBS_INITWAIT);
	ck_assert_int_eq(blkfront_ring_setup(&hr, w.g.hyp, 0, 0, 64, 0), 0);
	ck_assert_int_eq(xsl_xbs_printf(w.g.h, XSL_TXN_NONE, FE_DIR, "ring-ref", "%u",
					bad_ref ? 0x7fffffu : hr.refs[0]), 0);
	ck_assert_int_eq(xsl_xbs_printf(w.g.h, XSL_TXN_NONE, FE_DIR, "event-channel", "%u", hr.port), 0);
	ck_assert_int_eq(xsl_xbs_printf(w.g.h, XSL_TXN_NONE, FE_DIR, "protocol", "%s", protocol), 0);
	ck_assert_int_ge(xsl_xbs_switch(w.g.h, XSL_TXN_NONE, FE_DIR, XSL_XBS_INITIALISED), 0);
}

static void hostile_end(void)
{
	backend_stop(); /* it unmaps the ring */
	ck_assert_int_eq(blkfront_ring_teardown(&hr), 0);
}

/* The backend refused the frontend: Closing, and why in the error node. */
static void assert_disconnected(const char *why)
{
	char *err;

	ck_assert_int_eq(xsl_xbs_wait(w.dom0, BE_DIR, XSL_XBS_BIT(XSL_XBS_CLOSING), WAIT_MS), XSL_XBS_CLOSING);
	err = rd(w.dom0, "/local/domain/0/error/backend/vbd/5/51712/error");
	ck_assert_msg(err && strstr(err, why), "error node: %s", err ? err : "(none)");
}

START_TEST(hostile_junk_ring_indices)
{
	char before[256 * 512], after[sizeof(before)];

	image_read(0, before, sizeof(before));
	hostile_publish("x86_64-abi", 0);
	ck_assert_int_eq(xsl_xbs_wait(w.dom0, BE_DIR, XSL_XBS_BIT(XSL_XBS_CONNECTED), WAIT_MS),
			 XSL_XBS_CONNECTED);
	hr.ring.sring->req_prod = 0x7fff0000u;
	xsl_evt_notify(w.g.hyp, hr.port);
	assert_disconnected("req_prod");
	image_read(0, after, sizeof(after));
	ck_assert_mem_eq(after, before, sizeof(before));
	hostile_end();
	ck_assert_uint_eq(w.st.rd_req + w.st.wr_req, 0);
}
END_TEST

START_TEST(hostile_bad_requests)
{
	char before[DISK_SECTS * 512 / 8], after[sizeof(before)], *page;
	uint32_t ref;
	int status[8] = {9, 9, 9, 9, 9, 9, 9, 9};
	blkif_request_t *r;

	image_read(0, before, sizeof(before));
	hostile_publish("x86_64-abi", 0);
	ck_assert_int_eq(xsl_xbs_wait(w.dom0, BE_DIR, XSL_XBS_BIT(XSL_XBS_CONNECTED), WAIT_MS),
			 XSL_XBS_CONNECTED);
	page = blkfront_ring_buffers(&hr, 1);
	memset(page, 'X', 4096);
	ck_assert_int_eq(xsl_gnt_grant(w.g.hyp, 0, page, 1, &ref), 0);
#define REQ(op_, id_)                                                                      \
	do {                                                                               \
		r = RING_GET_REQUEST(&hr.ring, hr.ring.req_prod_pvt++);                    \
		memset(r, 0, sizeof(*r));                                                  \
		r->operation = (op_);                                                      \
		r->id = (id_);                                                             \
	} while (0)
	REQ(BLKIF_OP_WRITE, 0); /* a reference never granted */
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){0x7ffffu, 0, 7};
	REQ(BLKIF_OP_WRITE, 1); /* first_sect > last_sect */
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){ref, 6, 1};
	REQ(BLKIF_OP_WRITE, 2); /* last_sect past the page */
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 9};
	REQ(BLKIF_OP_WRITE, 3); /* too many segments */
	r->nr_segments = 200;
	REQ(BLKIF_OP_WRITE, 4); /* past the disk's end */
	r->nr_segments = 1;
	r->sector_number = DISK_SECTS - 2;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 7};
	REQ(BLKIF_OP_READ, 5); /* a read into a read-only grant */
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 0};
	REQ(BLKIF_OP_WRITE, 6); /* a good one: done */
	r->nr_segments = 1;
	r->sector_number = DISK_SECTS / 8 + 3;
	r->seg[0] = (struct blkif_request_segment){ref, 0, 0};
#undef REQ
	blkfront_ring_kick(&hr);
	for (int i = 0; i < WAIT_MS / 10 && hr.ring.sring->rsp_prod != 7; i++)
		blkfront_ring_wait(&hr, 10);
	ck_assert_int_eq(hr.ring.sring->rsp_prod, 7);
	for (RING_IDX i = 0; i < 7; i++) {
		blkif_response_t *rsp = RING_GET_RESPONSE(&hr.ring, i);

		ck_assert_uint_lt(rsp->id, 7);
		status[rsp->id] = rsp->status;
	}
	for (int i = 0; i < 6; i++)
		ck_assert_msg(status[i] == BLKIF_RSP_ERROR, "request %d: %d", i, status[i]);
	ck_assert_int_eq(status[6], BLKIF_RSP_OKAY);
	/* Still connected, nothing written but the good one. */
	ck_assert_int_eq(xsl_xbs_read(w.dom0, XSL_TXN_NONE, BE_DIR), XSL_XBS_CONNECTED);
	image_read(0, after, sizeof(after));
	ck_assert_mem_eq(after, before, sizeof(before));
	image_read(DISK_SECTS / 8 + 3, after, 512);
	ck_assert_int_eq(after[0], 'X');
	hr.ring.rsp_cons = 7;
	hostile_end();
	ck_assert_uint_eq(w.st.bad_grant, 2);
	xsl_gnt_end(w.g.hyp, ref);
}
END_TEST

START_TEST(hostile_bad_ring_reference)
{
	hostile_publish("x86_64-abi", 1);
	assert_disconnected("ring-ref");
	hostile_end();
}
END_TEST

START_TEST(hostile_other_protocol)
{
	hostile_publish("x86_32-abi", 0);
	assert_disconnected("protocol");
	hostile_end();
}
END_TEST

/* A state flood: the backend follows what it can, stays up, and serves the next guest. */
START_TEST(hostile_state_flood)
{
	static const char *const junk[] = {"1", "3", "4", "5", "6", "3", "junk", "", "99", "-1", "4"};

	hostile_publish("x86_64-abi", 0);
	for (int i = 0; i < 3000; i++) {
		const char *v = junk[i % (sizeof(junk) / sizeof(junk[0]))];

		ck_assert_int_eq(xsl_write(w.g.h, XSL_TXN_NONE, FE_DIR "/state", v, strlen(v)), 0);
	}
	/* Settled: the frontend says Closed, the backend follows. */
	ck_assert_int_eq(xsl_write(w.g.h, XSL_TXN_NONE, FE_DIR "/state", "6", 1), 0);
	ck_assert_int_eq(xsl_xbs_wait(w.dom0, BE_DIR, XSL_XBS_BIT(XSL_XBS_CLOSED), WAIT_MS), XSL_XBS_CLOSED);
	ck_assert_int_eq(blk_ts_detach(w.dom0, 0, FE, DEVID, WAIT_MS, 0), 0);
	ck_assert_int_eq(blkfront_ring_teardown(&hr), 0);
	blk_simguest_destroy(&w.g);
	/* The backend still serves a well-behaved guest. */
	guest_up(0);
	{
		char got[512];

		ck_assert_int_eq(blkfront_dev_io(dev(), BLKIF_OP_READ, 9, 1, got, WAIT_MS), 0);
		ck_assert_str_eq(got, "dom0 sector 9");
	}
}
END_TEST

static Suite *suite_pair(void)
{
	Suite *s = suite_create("blk-pair");
	TCase *tc = tcase_create("pair");
	TCase *th = tcase_create("hostile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, connect_negotiates_through_the_store, 0, 1);
	tcase_add_loop_test(tc, connect_negotiates_through_the_store, 2, 3);
	tcase_add_loop_test(tc, connect_negotiates_through_the_store, 4, 5);
	tcase_add_test(tc, guest_writes_reach_the_image);
	tcase_add_test(tc, dom0_writes_read_by_the_guest);
	tcase_add_test(tc, full_ring_of_concurrent_requests);
	tcase_add_test(tc, mixed_batch_of_zero_copy_pages);
	tcase_add_test(tc, flush_is_honoured_with_fdatasync);
	tcase_add_test(tc, detach_and_reattach);
	tcase_add_test(tc, readonly_attach);
	tcase_add_test(tc, persistent_grants);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(th, setup, teardown);
	tcase_set_timeout(th, 120);
	tcase_add_test(th, hostile_junk_ring_indices);
	tcase_add_test(th, hostile_bad_requests);
	tcase_add_test(th, hostile_bad_ring_reference);
	tcase_add_test(th, hostile_other_protocol);
	tcase_add_test(th, hostile_state_flood);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite_pair());
	int failed, run;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	return run == 0 || failed ? 1 : 0;
}

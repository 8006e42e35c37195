/*
 * xsbench_blk: the block device pair measured. (1) Throughput of a guest's
 * frontend against xs-blkback serving an image on tmpfs, the ring kept
 * full, at 4 KiB and 64 KiB requests, beside the limit: pread/pwrite of the
 * same image in one process, same sizes, same bytes. (2) N simulated guests
 * (1,000) each bringing one vbd up through the bus: the time until all are
 * Connected, and a dom0 client's READ latency meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drivers/blk.h"
#include "proto/simhyp.h"
#include "tests/lib/xst_daemon.h"

#ifndef XSB_BLKBACK_BIN
#define XSB_BLKBACK_BIN "drivers/xs-blkback"
#endif

#define IMG_MB 64u
#define DEVID "51712"
#define WAIT_MS 60000

static struct {
	double secs;      /* per throughput figure */
	unsigned guests;  /* of the bring-up */
	int only_tp, only_up;
	char tmpdir[200];
} opt = {.secs = 2.0, .guests = 1000};

static struct {
	char dir[220];
	struct xst_daemon d;
	char simhyp[320];
	char img[300];
	pid_t backend;
	struct xsl *dom0;
} w;

static int misses;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void figure(const char *key, const char *unit, double v, const char *title)
{
	printf("  %-52s %12.2f %s\n", title, v, unit);
	printf("XSBENCH figure=%s unit=%s value=%.3f\n", key, unit, v);
}

static void target(const char *name, const char *what, int pass, const char *detail)
{
	if (!pass)
		misses++;
	printf("  %-7s %-58s %s\n", pass ? "PASS" : "MISS", what, detail);
	printf("XSBENCH-TARGET target=%s result=%s\n", name, pass ? "PASS" : "MISS");
}

/* ---------------------------------------------------------------- the world */

static int world_start(void)
{
	static const char *const args[] = {"-S", "0", NULL};
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .timeout_ms = WAIT_MS};
	char buf[1 << 16];
	int fd, err;

	/* The run directory on tmpfs, as /var/run is: the store's log is not synced there. */
	snprintf(w.dir, sizeof(w.dir), "%s/xsbench-blk.XXXXXX", opt.tmpdir);
	if (!mkdtemp(w.dir)) {
		w.dir[0] = 0;
		return -1;
	}
	if (xst_daemon_start(&w.d, XST_OURS, w.dir, args) < 0)
		return -1;
	snprintf(w.simhyp, sizeof(w.simhyp), "%s/%s", w.d.dir, SIMHYP_SOCKET_NAME);
	oo.path = w.d.socket;
	if ((err = xsl_open(&w.dom0, &oo)) < 0) {
		fprintf(stderr, "xsbench_blk: dom0: %s\n", strerror(-err));
		return -1;
	}
	snprintf(w.img, sizeof(w.img), "%s/disk.img", w.dir);
	if ((fd = open(w.img, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	memset(buf, 0xa5, sizeof(buf));
	for (unsigned i = 0; i < IMG_MB * 16; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	close(fd);
	w.backend = fork();
	if (w.backend == 0) {
		execl(XSB_BLKBACK_BIN, "xs-blkback", getenv("XSB_BLK_VERBOSE") ? "-v" : "-q", "-s", w.d.socket, "-H", w.simhyp, (char *)NULL);
		_exit(127);
	}
	return w.backend > 0 ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void world_stop(void)
{
	if (w.backend > 0) {
		kill(w.backend, SIGTERM);
		waitpid(w.backend, NULL, 0);
	}
	if (w.dom0)
		xsl_close(w.dom0);
	if (w.d.pid > 0)
		xst_daemon_stop(&w.d, 0);
	if (w.dir[0])
		nftw(w.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A guest with one vbd of the image, Connected. */
static int guest_up(struct blk_simguest *g, unsigned domid, unsigned order, unsigned pool,
		    int persistent)
{
	struct blkfront_guest_opts go = {.ring_order = order, .pool_pages = pool, .persistent = persistent};
	int err;

	if ((err = blk_simguest_create(g, w.simhyp, domid, WAIT_MS)) < 0 ||
	    (err = blk_ts_introduce(w.dom0, domid, xsl_simdom_port(g->dom))) < 0 ||
	    (err = blk_ts_attach(w.dom0, 0, domid, 51712, w.img, 0)) < 0 ||
	    (err = blk_simguest_start(g, &go)) < 0)
		return err;
	return 0;
}

/* ---------------------------------------------------------------- throughput */

#define BUF_SLOTS 4u

struct tp {
	uint64_t done_bytes;
	unsigned errors;
	size_t size;
};

static void tp_done(void *tag, int status, void *arg)
{
	struct tp *t = arg;

	(void)tag;
	if (status != BLKIF_RSP_OKAY)
		t->errors++;
	else
		t->done_bytes += t->size;
}

/* The ring kept full for secs: bytes per second, or -1. */
static double pair_rate(struct blkfront_ring *r, char *buf, int op, size_t size, double secs)
{
	uint64_t sectors = (uint64_t)IMG_MB << 11, next = 0;
	unsigned nsect = (unsigned)(size / BLK_SECT), k = 0;
	struct tp t = {.size = size};
	double t0 = now_s(), t1;

	for (;;) {
		int queued = 0;

		while (blkfront_ring_queue(r, op, next, nsect, buf + (k++ % BUF_SLOTS) * size, NULL) == 0) {
			next = (next + nsect) % sectors;
			queued = 1;
		}
		if (queued)
			blkfront_ring_kick(r);
		if (blkfront_ring_complete(r, tp_done, &t) == 0 && blkfront_ring_wait(r, 5000) <= 0)
			return -1;
		if ((t1 = now_s()) - t0 >= secs)
			break;
	}
	while (r->inflight > 0) {
		if (blkfront_ring_complete(r, tp_done, &t) == 0 && blkfront_ring_wait(r, 5000) <= 0)
			return -1;
	}
	t1 = now_s();
	return t.errors ? -1 : t.done_bytes / (t1 - t0);
}

/* The limit: pread/pwrite of the image in this process, the same bytes. */
static double plain_rate(char *buf, int op, size_t size, double secs)
{
	int fd = open(w.img, O_RDWR);
	uint64_t bytes = 0, off = 0, end = (uint64_t)IMG_MB << 20;
	double t0 = now_s(), t1;
	unsigned k = 0;

	if (fd < 0)
		return -1;
	do {
		for (int i = 0; i < 64; i++) {
			ssize_t n = op == BLKIF_OP_READ ? pread(fd, buf + (k++ % BUF_SLOTS) * size, size, (off_t)off)
							 : pwrite(fd, buf + (k++ % BUF_SLOTS) * size, size, (off_t)off);

			if (n != (ssize_t)size) {
				close(fd);
				return -1;
			}
			bytes += size;
			off = (off + size) % end;
		}
	} while ((t1 = now_s()) - t0 < secs);
	close(fd);
	return bytes / (t1 - t0);
}

/*
 * One guest's device, its ring full, each operation and size beside the
 * limit: with grants per request (the default) or persistent grants
 * (feature-persistent: the buffers shared once, mapped once by the
 * backend). The worst 64 KiB ratio, or -1.
 */
static double throughput_mode(unsigned domid, int persistent)
{
	static const size_t sizes[] = {4096, 65536};
	const char *mode = persistent ? "persistent" : "per-request";
	struct blk_simguest g;
	struct blkfront_dev *dev;
	struct blkfront_ring *r;
	struct blkfront_info in;
	char *zc, *plain;
	double ratio64 = 1e9;
	int err;

	printf("block pair throughput, %s grants (image %u MiB on %s, ring full, %.1f s each):\n", mode,
	       IMG_MB, opt.tmpdir, opt.secs);
	if ((err = guest_up(&g, domid, BLK_MAX_RING_ORDER, 0, persistent)) < 0 ||
	    (err = blkfront_guest_wait_connected(g.fe, DEVID, WAIT_MS)) < 0) {
		fprintf(stderr, "xsbench_blk: guest %u: %s\n", domid, strerror(-err));
		blk_simguest_destroy(&g);
		return -1;
	}
	dev = blkfront_guest_dev(g.fe, DEVID);
	blkfront_dev_info(dev, &in);
	r = blkfront_dev_ring(dev);
	zc = blkfront_ring_buffers(r, BUF_SLOTS * 16);
	plain = aligned_alloc(BLK_PAGE, BUF_SLOTS * 65536);
	if (!zc || !plain || in.persistent != persistent) {
		fprintf(stderr, "xsbench_blk: no buffers, or persistent grants not as asked\n");
		blk_simguest_destroy(&g);
		free(plain);
		return -1;
	}
	memset(plain, 0x5a, BUF_SLOTS * 65536);
	memset(zc, 0x5a, BUF_SLOTS * 65536);
	for (int op = BLKIF_OP_READ; op <= BLKIF_OP_WRITE; op++) {
		for (unsigned s = 0; s < 2; s++) {
			const char *opn = op == BLKIF_OP_READ ? "read" : "write";
			const char *pfx = persistent ? "blk_pers" : "blk";
			double pair = pair_rate(r, zc, op, sizes[s], opt.secs);
			double lim = plain_rate(plain, op, sizes[s], opt.secs);
			char key[64], title[96];

			if (pair < 0 || lim <= 0) {
				fprintf(stderr, "xsbench_blk: %s %zu: failed\n", opn, sizes[s]);
				misses++;
				continue;
			}
			snprintf(key, sizeof(key), "%s_%s_%zuk", pfx, opn, sizes[s] / 1024);
			snprintf(title, sizeof(title), "pair %s, %zu KiB requests", opn, sizes[s] / 1024);
			figure(key, "MiB/s", pair / (1 << 20), title);
			snprintf(key, sizeof(key), "%s_plain_%s_%zuk", pfx, opn, sizes[s] / 1024);
			snprintf(title, sizeof(title), "limit: p%s in one process, %zu KiB", opn, sizes[s] / 1024);
			figure(key, "MiB/s", lim / (1 << 20), title);
			snprintf(key, sizeof(key), "%s_ratio_%s_%zuk", pfx, opn, sizes[s] / 1024);
			snprintf(title, sizeof(title), "ratio pair / limit, %s %zu KiB", opn, sizes[s] / 1024);
			figure(key, "x", pair / lim, title);
			if (sizes[s] == 65536 && pair / lim < ratio64)
				ratio64 = pair / lim;
		}
	}
	free(plain);
	blk_simguest_destroy(&g);
	{
		char p[64];

		snprintf(p, sizeof(p), "/local/domain/0/backend/vbd/%u", domid);
		xsl_rm(w.dom0, XSL_TXN_NONE, p);
		xsl_release(w.dom0, domid);
	}
	return ratio64 < 1e9 ? ratio64 : -1;
}

static int throughput(void)
{
	double per = throughput_mode(5, 0), pers = throughput_mode(6, 1);
	char d1[64], d2[64];

	snprintf(d1, sizeof(d1), "worst %.2f", per);
	snprintf(d2, sizeof(d2), "worst %.2f", pers);
	target("blk_ratio_64k", "block pair at 64 KiB >= 0.5 of pread/pwrite (grants per request)",
	       per >= 0.5, d1);
	target("blk_ratio_64k_persistent", "the same with persistent grants (feature-persistent)",
	       pers >= 0.5, d2);
	return per < 0 || pers < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- bring-up of many guests */

struct prober {
	pthread_t th;
	const char *socket;
	volatile int stop;
	double *lat;
	size_t n, cap;
	char err[120];
};

static void *probe_main(void *arg)
{
	struct prober *p = arg;
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .path = p->socket, .timeout_ms = 10000};
	struct xsl *h;
	double next = now_s();

	if (xsl_open(&h, &oo) < 0) {
		snprintf(p->err, sizeof(p->err), "prober: no connection");
		return NULL;
	}
	while (!p->stop && p->n < p->cap) {
		double t0 = now_s(), sl;
		char *v;
		size_t len;

		if (xsl_read(h, XSL_TXN_NONE, "/local/domain/0/bench-probe", &v, &len) < 0) {
			snprintf(p->err, sizeof(p->err), "prober: READ failed");
			break;
		}
		free(v);
		p->lat[p->n++] = (now_s() - t0) * 1e3;
		next += 0.001;
		if ((sl = next - now_s()) > 0) {
			struct timespec ts = {0, (long)(sl * 1e9)};

			nanosleep(&ts, NULL);
		} else {
			next = now_s();
		}
	}
	xsl_close(h);
	return NULL;
}

/* CPU seconds of a process so far (user + system), from /proc. */
static double cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The toolstack and the guests in BRING_THREADS threads, each with its own
 * dom0 connection and its share of the guests: each guest introduced and
 * attached, its bus started, then every guest of the thread pumped until
 * Connected, the earlier ones pumped between the later ones' set-up.
 */
#define BRING_THREADS 4

struct bring {
	pthread_t th;
	unsigned first, step, n; /* guests first, first + step, ... (n of them) */
	struct blk_simguest *g;
	pthread_barrier_t *bar;
	double t_ts, t_all;      /* this thread's toolstack done, all its guests connected */
	unsigned long requests;  /* sent by its toolstack connection and its guests */
	char err[160];
};

static void quiet(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

static unsigned pump_some(int epfd, struct blk_simguest *g, unsigned char *up, int timeout_ms)
{
	struct epoll_event evs[64];
	unsigned connected = 0;
	int k = epoll_wait(epfd, evs, 64, timeout_ms);

	for (int j = 0; j < k; j++) {
		unsigned i = evs[j].data.u32;
		struct blkfront_dev *d;
		struct blkfront_info in;

		blkfront_guest_pump(g[i].fe, 0);
		if (up[i] || !(d = blkfront_guest_dev(g[i].fe, DEVID)))
			continue;
		blkfront_dev_info(d, &in);
		if (in.connected) {
			up[i] = 1;
			connected++;
		}
	}
	return connected;
}

static void *bring_main(void *arg)
{
	struct bring *b = arg;
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .path = w.d.socket, .timeout_ms = WAIT_MS};
	struct blkfront_guest_opts go = {.ring_order = 0, .pool_pages = 16, .log = quiet};
	int epfd = epoll_create1(EPOLL_CLOEXEC), err;
	unsigned char *up = calloc(opt.guests, 1);
	unsigned connected = 0;
	struct xsl *ts = NULL;
	double t0;

	if (epfd < 0 || !up || xsl_open(&ts, &oo) < 0)
		snprintf(b->err, sizeof(b->err), "no connection");
	pthread_barrier_wait(b->bar);
	t0 = now_s();
	for (unsigned k = 0; k < b->n && !b->err[0]; k++) {
		unsigned i = b->first + k * b->step, domid = 100 + i;
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		if ((err = blk_ts_introduce(ts, domid, xsl_simdom_port(b->g[i].dom))) < 0 ||
		    (err = blk_ts_attach(ts, 0, domid, 51712, w.img, 0)) < 0 ||
		    (err = blk_simguest_start(&b->g[i], &go)) < 0) {
			snprintf(b->err, sizeof(b->err), "guest %u: %s", domid, strerror(-err));
			break;
		}
		epoll_ctl(epfd, EPOLL_CTL_ADD, xsl_fileno(b->g[i].h), &ev);
		connected += pump_some(epfd, b->g, up, 0);
	}
	b->t_ts = now_s();
	while (!b->err[0] && connected < b->n) {
		connected += pump_some(epfd, b->g, up, 1000);
		if (now_s() - t0 > WAIT_MS / 1000.0)
			snprintf(b->err, sizeof(b->err), "%u of %u connected after %d s", connected, b->n,
				 WAIT_MS / 1000);
	}
	b->t_all = now_s();
	if (ts) {
		struct xsl_stats st;

		xsl_stats(ts, &st);
		b->requests += st.requests;
		xsl_close(ts);
	}
	for (unsigned k = 0; k < b->n; k++) {
		struct xsl_stats st;
		unsigned i = b->first + k * b->step;

		if (b->g[i].h) {
			xsl_stats(b->g[i].h, &st);
			b->requests += st.requests;
		}
	}
	if (epfd >= 0)
		close(epfd);
	free(up);
	return NULL;
}

static int bringup(void)
{
	unsigned n = opt.guests, nth = n < BRING_THREADS ? n : BRING_THREADS;
	struct blk_simguest *g = calloc(n, sizeof(*g));
	struct bring th[BRING_THREADS];
	struct prober pr = {.socket = w.d.socket, .cap = 600000};
	pthread_barrier_t bar;
	double t0, t_ts = 0, t_all = 0, p50, p99, mx, c_d, c_b, c_s, c_g;
	unsigned long requests = 0;
	int err = 0, rc = -1;

	printf("%u guests bringing up one vbd each (ring of 1 page; toolstack and guests in %u threads):\n",
	       n, nth);
	pr.lat = calloc(pr.cap, sizeof(double));
	if (!g || !pr.lat)
		goto out;
	xsl_write(w.dom0, XSL_TXN_NONE, "/local/domain/0/bench-probe", "x", 1);
	/* The domains are built first (the hypervisor's part, not timed). */
	for (unsigned i = 0; i < n; i++)
		if ((err = blk_simguest_create(&g[i], w.simhyp, 100 + i, WAIT_MS)) < 0) {
			fprintf(stderr, "xsbench_blk: domain %u: %s\n", 100 + i, strerror(-err));
			goto out;
		}
	pthread_barrier_init(&bar, NULL, nth + 1);
	memset(th, 0, sizeof(th));
	for (unsigned t = 0; t < nth; t++) {
		th[t] = (struct bring){.first = t, .step = nth, .n = (n - t + nth - 1) / nth, .g = g, .bar = &bar};
		pthread_create(&th[t].th, NULL, bring_main, &th[t]);
	}
	pthread_create(&pr.th, NULL, probe_main, &pr);
	pthread_barrier_wait(&bar);
	t0 = now_s();
	c_d = cpu_s(w.d.pid);
	c_b = cpu_s(w.backend);
	c_s = cpu_s(w.d.simhyp_pid);
	c_g = cpu_s(getpid());
	rc = 0;
	for (unsigned t = 0; t < nth; t++) {
		pthread_join(th[t].th, NULL);
		if (th[t].err[0]) {
			fprintf(stderr, "xsbench_blk: %s\n", th[t].err);
			rc = -1;
		}
		t_ts = th[t].t_ts > t_ts ? th[t].t_ts : t_ts;
		t_all = th[t].t_all > t_all ? th[t].t_all : t_all;
		requests += th[t].requests;
	}
	c_d = cpu_s(w.d.pid) - c_d;
	c_b = cpu_s(w.backend) - c_b;
	c_s = cpu_s(w.d.simhyp_pid) - c_s;
	c_g = cpu_s(getpid()) - c_g;
	pr.stop = 1;
	pthread_join(pr.th, NULL);
	pthread_barrier_destroy(&bar);
	if (rc == 0) {
		qsort(pr.lat, pr.n, sizeof(double), cmp_double);
		p50 = pr.n ? pr.lat[pr.n / 2] : 0;
		p99 = pr.n ? pr.lat[(size_t)(pr.n * 0.99)] : 0;
		mx = pr.n ? pr.lat[pr.n - 1] : 0;
		figure("blk_up_toolstack_s", "s", t_ts - t0, "toolstack done (introduce, attach, bus)");
		figure("blk_up_all_s", "s", t_all - t0, "first attach -> all Connected");
		figure("blk_up_read_p50_ms", "ms", p50, "dom0 READ p50 meanwhile");
		figure("blk_up_read_p99_ms", "ms", p99, "dom0 READ p99 meanwhile");
		figure("blk_up_read_max_ms", "ms", mx, "dom0 READ max meanwhile");
		figure("blk_up_requests_per_guest", "requests", (double)requests / n,
		       "store requests per guest: toolstack + guest");
		figure("blk_up_cpu_daemon_s", "s", c_d, "CPU meanwhile: xenstored");
		figure("blk_up_cpu_backend_s", "s", c_b, "CPU meanwhile: xs-blkback");
		figure("blk_up_cpu_simhyp_s", "s", c_s, "CPU meanwhile: xs-simhyp");
		figure("blk_up_cpu_guests_s", "s", c_g, "CPU meanwhile: the guests and toolstack (here)");
		{
			char d1[64], d2[64];

			snprintf(d1, sizeof(d1), "%.2f s", t_all - t0);
			snprintf(d2, sizeof(d2), "%.2f ms (%zu samples)", p99, pr.n);
			target("blk_up_time", "all guests' vbd Connected < 3 s", t_all - t0 < 3.0, d1);
			target("blk_up_read_p99", "dom0 READ p99 meanwhile < 5 ms", p99 < 5.0, d2);
		}
		fflush(stdout);
		kill(w.backend, SIGUSR1); /* its counters, on its standard error */
		usleep(200000);
	}
out:
	for (unsigned i = 0; g && i < n; i++)
		if (g[i].dom)
			blk_simguest_destroy(&g[i]);
	/* The toolstack's clean-up: the devices' directories and the domains. */
	for (unsigned i = 0; i < n; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/local/domain/0/backend/vbd/%u", 100 + i);
		xsl_rm(w.dom0, XSL_TXN_NONE, p);
		xsl_release(w.dom0, 100 + i);
	}
	free(pr.lat);
	free(g);
	return rc;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	struct rlimit rl;
	int rc = 0;

	snprintf(opt.tmpdir, sizeof(opt.tmpdir), "%s",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp"));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			opt.secs = 0.5;
			opt.guests = 100;
		} else if (strncmp(argv[i], "--guests=", 9) == 0) {
			opt.guests = (unsigned)atoi(argv[i] + 9);
		} else if (strncmp(argv[i], "--secs=", 7) == 0) {
			opt.secs = atof(argv[i] + 7);
		} else if (strcmp(argv[i], "--throughput") == 0) {
			opt.only_tp = 1;
		} else if (strcmp(argv[i], "--bringup") == 0) {
			opt.only_up = 1;
		} else {
			fprintf(stderr,
				"usage: xsbench_blk [--quick] [--guests=N] [--secs=S] [--throughput|--bringup]\n");
			return 2;
		}
	}
	if (opt.guests < 1 || opt.guests > 5000 || opt.secs <= 0)
		return 2;
	/* Each guest holds some ten descriptors here. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if (world_start() < 0) {
		fprintf(stderr, "xsbench_blk: could not start the daemon, the hypervisor or the backend\n");
		world_stop();
		return 1;
	}
	if (!opt.only_up && throughput() < 0)
		rc = 1;
	if (!opt.only_tp && bringup() < 0)
		rc = 1;
	world_stop();
	printf("xsbench_blk: %d target%s missed\n", misses, misses == 1 ? "" : "s");
	return rc;
}

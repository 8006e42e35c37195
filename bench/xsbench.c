/* xsbench: drives our xenstored and the reference C xenstored and oxenstored through their sockets, side by side. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/xsbench.h"
#include "client/xsc.h"
#include "tests/lib/xst_daemon.h"

/* ---------------------------------------------------------------- daemons */

/*
 * The floor is not a XenStore: bench/xsfloor answers with no store (see its
 * header), so its figures are what the sockets alone allow on this host.
 */
enum dk { D_OURS, D_C, D_OX, D_FLOOR, D_N };

static const enum xst_kind dk_kind[D_N] = {XST_OURS, XST_REF_C, XST_REF_OX, XST_FLOOR};
static const char *const dk_key[D_N] = {"ours", "c", "ox", "floor"}; /* option and summary names */
static const char *const dk_col[D_N] = {"ours", "C", "oxen", "floor"}; /* table column headers */

/* ---------------------------------------------------------------- options */

#define MAX_REPS 9

static struct {
	double scale;       /* multiplies every count (--quick: 0.1) */
	int reps;           /* repetitions of the short workloads; the median is reported */
	int use[D_N];       /* daemons selected */
	unsigned groups;    /* bitmask of workload groups selected */
	char tmpdir[200];   /* where run directories go (tmpfs by default, like a real /var/run) */
	int timeout_ms;     /* per-reply timeout: a hung daemon becomes an error, not a hang */
	double loop_cap_s;  /* wall-time cap of any one timed loop */
	int mem_tree;       /* memory nodes as /bench/mem/dNNN/nNN instead of one flat directory */
	int pin;            /* PIN_*: CPU placement of client and daemon */
	int keep;           /* keep every run directory (store files, logs) for inspection */
	int verbose;
	unsigned domains;   /* domains of the domain groups, before scaling */
} opt = {
	.scale = 1.0,
	.reps = 3,
	.use = {1, 1, 1, 1},
	.groups = ~0u,
	.timeout_ms = 20000,
	.loop_cap_s = 120.0,
	.domains = 1000,
};

static unsigned scaled(unsigned n)
{
	double v = n * opt.scale;

	return v < 1 ? 1 : (unsigned)v;
}

/*
 * CPU placement. On a small VM a wakeup across CPUs is costly and varies run
 * to run, which swamps serial round trips; so by default the serial groups
 * (serial, dirpart) run client and daemon on one CPU (a stable figure that
 * includes both sides' CPU cost) and the other groups run them on two
 * different CPUs so that pipelined and concurrent clients overlap the
 * daemon. The serial transactions count as serial; the watch group times its
 * serial latency phase on one CPU and its pipelined phase on two.
 */
enum { PIN_AUTO, PIN_NONE, PIN_SAME, PIN_SPLIT };
static const char *const pin_name[] = {"auto", "none", "same", "split"};

static cpu_set_t cpus_all;          /* our affinity at start, restored after each group */
static int cpu_daemon, cpu_client;  /* the last two CPUs we may use (equal if only one) */

static void pin_init(void)
{
	int last = -1, prev = -1;

	CPU_ZERO(&cpus_all);
	if (sched_getaffinity(0, sizeof(cpus_all), &cpus_all) < 0) {
		opt.pin = PIN_NONE;
		return;
	}
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &cpus_all)) {
			prev = last;
			last = i;
		}
	cpu_daemon = last;
	cpu_client = prev >= 0 ? prev : last;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---------------------------------------------------------------- figures */

enum grp {
	G_SERIAL,
	G_DIRPART,
	G_BIGDIR,
	G_PIPE,
	G_CONC,
	G_CPU,
	G_MEM,
	G_WATCH,
	G_FANOUT,
	G_WLOAD,
	G_TXN,
	G_TXNCONC,
	G_DOMSTORM,
	G_DOMCREATE,
	G_COUNT
};
static const char *const grp_name[G_COUNT] = {
	"serial", "dirpart", "bigdir", "pipeline", "concurrent", "cpu",
	"memory", "watch",   "fanout", "watchload", "txn",       "txnconc",
	"domstorm", "domcreate"};
/* Names for several groups at once in --only. */
static const struct {
	const char *name;
	unsigned mask;
} grp_alias[] = {
	{"watches", 1u << G_WATCH | 1u << G_FANOUT | 1u << G_WLOAD},
	{"txns", 1u << G_TXN | 1u << G_TXNCONC},
	{"domains", 1u << G_DOMSTORM | 1u << G_DOMCREATE},
};

enum fig_id {
	F_WRITE_SERIAL,
	F_READ_SERIAL,
	F_DIR_SERIAL,
	F_DIRPART,
	F_CREATE_EMPTY,
	F_CREATE_BIG,
	F_CREATE_RATIO,
	F_PIPE_READ,
	F_PIPE_WRITE,
	F_CONC_WRITE,
	F_CONC_READ,
	F_CPU_READ,
	F_CPU_WRITE,
	F_CPU_DIR,
	F_MEM_RSS_BEFORE,
	F_MEM_RSS_AFTER,
	F_MEM_FILE,
	F_MEM_DELTA,
	F_MEM_PER_NODE,
	F_MEM_ANON_PER_NODE,
	F_WATCH_SERIAL,
	F_WATCH_LAT_MED,
	F_WATCH_LAT_P99,
	F_WATCH_PIPE,
	F_CPU_WATCH,
	F_FAN_WATCHERS,
	F_FAN_TIME_MED,
	F_FAN_RATE,
	F_CPU_FAN,
	F_CLI_FAN,
	F_WL_REGISTER,
	F_WL_NONE,
	F_WL_LOADED,
	F_WL_RATIO,
	F_CPU_WL_NONE,
	F_CPU_WL_LOADED,
	F_TXN_SERIAL,
	F_TXN_SERIAL_BIG,
	F_CPU_TXN_BIG,
	F_TXN_SERIAL_EAGAIN,
	F_CPU_TXN,
	F_CLI_TXN,
	F_TXN_CONC,
	F_TXN_CONC_EAGAIN,
	F_CPU_TXN_CONC,
	F_CLI_TXN_CONC,
	F_DS_CREATE,
	F_DS_STORM,
	F_DS_TOOLSTACK,
	F_DS_HS_P50,
	F_DS_HS_P99,
	F_DS_LAT_IDLE,
	F_DS_LAT_P50,
	F_DS_LAT_P99,
	F_DS_LAT_MAX,
	F_DS_CPU,
	F_DS_CPU_REQ,
	F_DS_MEM,
	F_DS_MEM_ANON,
	F_DS_DESTROY_ONE,
	F_DS_DESTROY,
	F_DS_DESTROY_P99,
	F_DS_LEAK,
	F_DC_TIME,
	F_DC_CPU,
	F_DC_LAT_P99,
	F_DC_MEM,
	F_COUNT
};

enum fst { ST_UNSET, ST_OK, ST_NA, ST_MISSING, ST_ERROR };

struct fig {
	const char *key;
	const char *unit;
	int lower_better; /* cost figures (CPU, memory); rates are higher-better */
	enum grp grp;
	char title[64];
	double v[D_N];
	enum fst st[D_N];
	char note[D_N][96];
};

static struct fig figs[F_COUNT] = {
	[F_WRITE_SERIAL] = {"write_serial", "op/s", 0, G_SERIAL, "", {0}, {0}, {{0}}},
	[F_READ_SERIAL] = {"read_serial", "op/s", 0, G_SERIAL, "", {0}, {0}, {{0}}},
	[F_DIR_SERIAL] = {"dir100_serial", "op/s", 0, G_SERIAL, "", {0}, {0}, {{0}}},
	[F_DIRPART] = {"dirpart_list", "list/s", 0, G_DIRPART, "", {0}, {0}, {{0}}},
	[F_CREATE_EMPTY] = {"create_empty_dir", "op/s", 0, G_BIGDIR, "", {0}, {0}, {{0}}},
	[F_CREATE_BIG] = {"create_big_dir", "op/s", 0, G_BIGDIR, "", {0}, {0}, {{0}}},
	[F_CREATE_RATIO] = {"create_big_over_empty", "ratio", 0, G_BIGDIR, "", {0}, {0}, {{0}}},
	[F_PIPE_READ] = {"pipe32_read", "op/s", 0, G_PIPE, "", {0}, {0}, {{0}}},
	[F_PIPE_WRITE] = {"pipe32_write", "op/s", 0, G_PIPE, "", {0}, {0}, {{0}}},
	[F_CONC_WRITE] = {"conc16_write", "op/s", 0, G_CONC, "", {0}, {0}, {{0}}},
	[F_CONC_READ] = {"conc16_read", "op/s", 0, G_CONC, "", {0}, {0}, {{0}}},
	[F_CPU_READ] = {"cpu_read", "us/req", 1, G_CPU, "", {0}, {0}, {{0}}},
	[F_CPU_WRITE] = {"cpu_write", "us/req", 1, G_CPU, "", {0}, {0}, {{0}}},
	[F_CPU_DIR] = {"cpu_dir100", "us/req", 1, G_CPU, "", {0}, {0}, {{0}}},
	[F_MEM_RSS_BEFORE] = {"mem_rss_before", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_RSS_AFTER] = {"mem_rss_after", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_FILE] = {"mem_tdb_file", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_DELTA] = {"mem_delta_rss_plus_file", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_PER_NODE] = {"mem_per_node", "B/node", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_ANON_PER_NODE] = {"mem_anon_plus_file_per_node", "B/node", 1, G_MEM, "", {0}, {0},
				 {{0}}},
	[F_WATCH_SERIAL] = {"watch_serial", "ev/s", 0, G_WATCH, "", {0}, {0}, {{0}}},
	[F_WATCH_LAT_MED] = {"watch_latency_median", "us", 1, G_WATCH, "", {0}, {0}, {{0}}},
	[F_WATCH_LAT_P99] = {"watch_latency_p99", "us", 1, G_WATCH, "", {0}, {0}, {{0}}},
	[F_WATCH_PIPE] = {"watch_pipe_events", "ev/s", 0, G_WATCH, "", {0}, {0}, {{0}}},
	[F_CPU_WATCH] = {"cpu_write_event", "us/ev", 1, G_WATCH, "", {0}, {0}, {{0}}},
	[F_FAN_WATCHERS] = {"fanout_watchers", "conns", 0, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_FAN_TIME_MED] = {"fanout_time_median", "us", 1, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_FAN_RATE] = {"fanout_writes", "write/s", 0, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_CPU_FAN] = {"cpu_fanout_event", "us/ev", 1, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_CLI_FAN] = {"client_cpu_fanout_write", "us/wr", 1, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_WL_REGISTER] = {"watch_register", "watch/s", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_WL_NONE] = {"write_no_watches", "op/s", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_WL_LOADED] = {"write_many_watches", "op/s", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_WL_RATIO] = {"write_many_over_none", "ratio", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_CPU_WL_NONE] = {"cpu_write_no_watches", "us/req", 1, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_CPU_WL_LOADED] = {"cpu_write_many_watches", "us/req", 1, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_TXN_SERIAL] = {"txn10_serial", "txn/s", 0, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_SERIAL_BIG] = {"txn10_serial_big_store", "txn/s", 0, G_TXN, "", {0}, {0}, {{0}}},
	[F_CPU_TXN_BIG] = {"cpu_txn10_big_store", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_SERIAL_EAGAIN] = {"txn10_serial_eagain", "count", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_CPU_TXN] = {"cpu_txn10", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_CLI_TXN] = {"client_cpu_txn10", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_CONC] = {"txn10_conc16", "txn/s", 0, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_TXN_CONC_EAGAIN] = {"txn10_conc16_eagain", "count", 1, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_CPU_TXN_CONC] = {"cpu_txn10_conc16", "us/txn", 1, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_CLI_TXN_CONC] = {"client_cpu_txn10_conc16", "us/txn", 1, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_DS_CREATE] = {"domstorm_register", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_STORM] = {"domstorm_time", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_TOOLSTACK] = {"domstorm_toolstack_time", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_HS_P50] = {"domstorm_handshake_p50", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_HS_P99] = {"domstorm_handshake_p99", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_IDLE] = {"domstorm_dom0_read_idle_p50", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_P50] = {"domstorm_dom0_read_p50", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_P99] = {"domstorm_dom0_read_p99", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_MAX] = {"domstorm_dom0_read_max", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_CPU] = {"domstorm_cpu_per_domain", "us/dom", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_CPU_REQ] = {"domstorm_cpu_per_request", "us/req", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_MEM] = {"domstorm_mem_per_domain", "KiB/dom", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_MEM_ANON] = {"domstorm_anon_mem_per_domain", "KiB/dom", 1, G_DOMSTORM, "", {0}, {0},
			   {{0}}},
	[F_DS_DESTROY_ONE] = {"domstorm_destroy_one", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_DESTROY] = {"domstorm_destroy", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_DESTROY_P99] = {"domstorm_destroy_dom0_read_p99", "us", 1, G_DOMSTORM, "", {0}, {0},
			      {{0}}},
	[F_DS_LEAK] = {"domstorm_nodes_leaked", "count", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DC_TIME] = {"domcreate_time", "ms", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	[F_DC_CPU] = {"domcreate_cpu_per_domain", "us/dom", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	[F_DC_LAT_P99] = {"domcreate_dom0_read_p99", "us", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	[F_DC_MEM] = {"domcreate_mem_per_domain", "KiB/dom", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
};

static void fig_set(enum fig_id f, int dk, double v)
{
	figs[f].v[dk] = v;
	figs[f].st[dk] = ST_OK;
}

static void fig_state(enum fig_id f, int dk, enum fst st, const char *note)
{
	size_t n = note ? strnlen(note, sizeof(figs[f].note[dk]) - 1) : 0;

	figs[f].st[dk] = st;
	/* Notes are shown in a table: a long one is cut. */
	memcpy(figs[f].note[dk], note ? note : "", n);
	figs[f].note[dk][n] = '\0';
}

/* ---------------------------------------------------------------- small helpers */

/* The last failure of the running workload, shown next to its figures. */
static char g_err[160];

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_err, sizeof(g_err), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* Monotonic time in seconds, and a sleep of s seconds (both bench files use them). */
double xsb_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void xsb_sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n <= 2 * MAX_REPS samples (the watch-load group takes two sets). */
static double median(double *v, int n)
{
	double tmp[2 * MAX_REPS];

	if (n > 2 * MAX_REPS)
		n = 2 * MAX_REPS;
	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Rate of a timed loop; guards a zero interval on a coarse clock. */
static double rate(double count, double secs)
{
	return count / (secs > 1e-9 ? secs : 1e-9);
}

static const char *type_str(uint32_t t)
{
	const char *n = xs_type_name(t);

	return n ? n : "?";
}

/* A payload "path\0" (+ value bytes for WRITE); returns the length or -1 if too long. */
static int build(char *buf, size_t size, const char *path, const char *value, size_t vlen)
{
	size_t pl = strlen(path) + 1;

	if (pl + vlen > size)
		return -1;
	memcpy(buf, path, pl);
	if (vlen)
		memcpy(buf + pl, value, vlen);
	return (int)(pl + vlen);
}

/* One synchronous request that must succeed with a reply of the same type. */
static int call(struct xsc *c, uint32_t type, const char *payload, int len, struct xsc_msg *m)
{
	if (len < 0) {
		fail("%s: payload too long", type_str(type));
		return -1;
	}
	if (xsc_call(c, type, 0, payload, (size_t)len, m, opt.timeout_ms) < 0) {
		fail("%s %s: %s", type_str(type), payload, strerror(errno));
		return -1;
	}
	if (m->hdr.type != type) {
		fail("%s %s -> %s %s", type_str(type), payload, type_str(m->hdr.type),
		     m->hdr.type == XS_ERROR ? m->payload : "");
		return -1;
	}
	return 0;
}

static int do_write(struct xsc *c, const char *path, const char *value, size_t vlen,
		    struct xsc_msg *m)
{
	char buf[XS_PAYLOAD_MAX];

	return call(c, XS_WRITE, buf, build(buf, sizeof(buf), path, value, vlen), m);
}

static unsigned count_strings(const struct xsc_msg *m)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < m->hdr.len; i++)
		n += m->payload[i] == '\0';
	return n;
}

/* A loop that runs past the wall-time cap is reported as an error, not waited for. */
static int over_cap(double t0, unsigned long done, unsigned long total, const char *what)
{
	if (xsb_now_s() - t0 <= opt.loop_cap_s)
		return 0;
	fail("%s too slow: %lu of %lu in %.0f s", what, done, total, opt.loop_cap_s);
	return 1;
}

static struct xsc *connect_to(const struct xst_daemon *d)
{
	struct xsc *c = xsc_open(d->socket);

	if (!c)
		fail("connect %s: %s", d->socket, strerror(errno));
	return c;
}

/* ---------------------------------------------------------------- pipelining */

/*
 * Up to `window` requests in flight on one connection, matched by req_id as
 * the Linux kernel client does. Requests are generated by index; a request
 * batch is written with one send so the client stays cheap and the daemon,
 * not the client, is the busy side.
 */
#define MAX_WINDOW 64
#define PREQ_MAX 256

struct preq {
	uint32_t type;
	int expect_len; /* a READ reply's length to check, or -1 */
	size_t len;
	char buf[PREQ_MAX];
};

typedef int (*gen_fn)(void *ctx, unsigned long i, struct preq *r);

static int pipeline(struct xsc *c, unsigned long start, unsigned long n, unsigned window,
		    gen_fn gen, void *ctx)
{
	static __thread unsigned char out[MAX_WINDOW * (XS_HEADER_SIZE + PREQ_MAX)];
	uint32_t id[MAX_WINDOW] = {0}, type[MAX_WINDOW];
	int elen[MAX_WINDOW];
	unsigned used = 0;
	unsigned long sent = 0, done = 0;
	double t0 = xsb_now_s();
	struct xsc_msg *m = malloc(sizeof(*m));
	int rc = -1;

	if (!m) {
		fail("out of memory");
		return -1;
	}
	if (window > MAX_WINDOW)
		window = MAX_WINDOW;
	while (done < n) {
		size_t olen = 0;

		while (used < window && sent < n) {
			struct preq r;
			struct xs_header h;
			unsigned s = 0;

			if (gen(ctx, start + sent, &r) < 0)
				goto out;
			/* req_id 0 marks a free slot; ids run 1.. and never repeat within a call. */
			h = (struct xs_header){r.type, (uint32_t)(sent + 1), 0, (uint32_t)r.len};
			while (id[s])
				s++;
			id[s] = h.req_id;
			type[s] = r.type;
			elen[s] = r.expect_len;
			xs_header_encode(&h, out + olen);
			memcpy(out + olen + XS_HEADER_SIZE, r.buf, r.len);
			olen += XS_HEADER_SIZE + r.len;
			used++;
			sent++;
		}
		if (olen && xsc_send_raw(c, out, olen) < 0) {
			fail("send: %s", strerror(errno));
			goto out;
		}
		/* Wait for one reply, then take whatever else is already buffered. */
		for (int first = 1;; first = 0) {
			unsigned s;

			if (xsc_recv(c, m, first ? opt.timeout_ms : 0) < 0) {
				if (!first && errno == ETIMEDOUT)
					break;
				fail("pipelined reply %lu of %lu: %s", done + 1, n, strerror(errno));
				goto out;
			}
			if (m->hdr.type == XS_WATCH_EVENT)
				continue;
			for (s = 0; s < window && id[s] != m->hdr.req_id; s++)
				;
			if (s == window || m->hdr.req_id == 0) {
				fail("reply with unknown req_id %u", m->hdr.req_id);
				goto out;
			}
			if (m->hdr.type != type[s]) {
				fail("pipelined %s -> %s %s", type_str(type[s]), type_str(m->hdr.type),
				     m->hdr.type == XS_ERROR ? m->payload : "");
				goto out;
			}
			if (elen[s] >= 0 && m->hdr.len != (uint32_t)elen[s]) {
				fail("pipelined %s: reply of %u bytes, expected %d", type_str(type[s]),
				     m->hdr.len, elen[s]);
				goto out;
			}
			id[s] = 0;
			used--;
			done++;
		}
		if (over_cap(t0, done, n, "pipelined batch"))
			goto out;
	}
	rc = 0;
out:
	free(m);
	return rc;
}

/* Request generators: a path pattern over `mod` distinct nodes. */
struct gen_ctx {
	uint32_t type;
	const char *fmt;    /* printf pattern taking one unsigned */
	unsigned mod;       /* index i addresses node i % mod (0: i itself) */
	unsigned vlen;      /* value length for WRITE; expected READ length */
};

static int gen_path(void *vctx, unsigned long i, struct preq *r)
{
	struct gen_ctx *g = vctx;
	unsigned k = (unsigned)(g->mod ? i % g->mod : i);
	int pl = snprintf(r->buf, sizeof(r->buf), g->fmt, k);

	if (pl < 0 || (size_t)pl + 1 + g->vlen > sizeof(r->buf)) {
		fail("request too long");
		return -1;
	}
	r->type = g->type;
	r->len = (size_t)pl + 1;
	r->expect_len = -1;
	if (g->type == XS_WRITE) {
		/* The value varies with i so every write really changes the node. */
		memset(r->buf + r->len, 'a' + (int)(i % 26), g->vlen);
		r->len += g->vlen;
	} else if (g->type == XS_READ) {
		r->expect_len = (int)g->vlen;
	}
	return 0;
}

static int pipe_run(struct xsc *c, uint32_t type, const char *fmt, unsigned mod, unsigned vlen,
		    unsigned long start, unsigned long n)
{
	struct gen_ctx g = {type, fmt, mod, vlen};

	return pipeline(c, start, n, 32, gen_path, &g);
}

/* ---------------------------------------------------------------- workloads */

#define VALUE16 "0123456789abcdef"

/* Serial WRITE of distinct nodes, serial READ of them, DIRECTORY of a 100-child node. */
static int grp_serial(struct xst_daemon *d, int dk)
{
	unsigned n = scaled(10000);
	double w[MAX_REPS], r[MAX_REPS], dr[MAX_REPS];
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = connect_to(d);
	char path[128];
	int rc = -1;

	if (!c || !m)
		goto out;
	for (unsigned i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/bench/s/d/c%03u", i);
		if (do_write(c, path, "", 0, m) < 0)
			goto out;
	}
	for (int rep = 0; rep < opt.reps; rep++) {
		double t0 = xsb_now_s();

		for (unsigned i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/bench/s/r%d/n%05u", rep, i);
			if (do_write(c, path, VALUE16, 16, m) < 0)
				goto out;
			if ((i & 255) == 0 && over_cap(t0, i, n, "serial write"))
				goto out;
		}
		w[rep] = rate(n, xsb_now_s() - t0);

		t0 = xsb_now_s();
		for (unsigned i = 0; i < n; i++) {
			char buf[256];

			snprintf(path, sizeof(path), "/bench/s/r%d/n%05u", rep, i);
			if (call(c, XS_READ, buf, build(buf, sizeof(buf), path, NULL, 0), m) < 0)
				goto out;
			if (m->hdr.len != 16 || memcmp(m->payload, VALUE16, 16) != 0) {
				fail("READ %s: wrong value (%u bytes)", path, m->hdr.len);
				goto out;
			}
			if ((i & 255) == 0 && over_cap(t0, i, n, "serial read"))
				goto out;
		}
		r[rep] = rate(n, xsb_now_s() - t0);

		t0 = xsb_now_s();
		for (unsigned i = 0; i < n; i++) {
			static const char dir[] = "/bench/s/d";

			if (call(c, XS_DIRECTORY, dir, sizeof(dir), m) < 0)
				goto out;
			if (count_strings(m) != 100) {
				fail("DIRECTORY %s: %u children, expected 100", dir, count_strings(m));
				goto out;
			}
			if ((i & 255) == 0 && over_cap(t0, i, n, "serial directory"))
				goto out;
		}
		dr[rep] = rate(n, xsb_now_s() - t0);
		/* Remove this rep's nodes so every rep starts from the same store. */
		snprintf(path, sizeof(path), "/bench/s/r%d", rep);
		if (call(c, XS_RM, path, (int)strlen(path) + 1, m) < 0)
			goto out;
		if (opt.verbose)
			progress("    rep %d: write %.0f/s read %.0f/s dir %.0f/s\n", rep, w[rep],
				 r[rep], dr[rep]);
	}
	fig_set(F_WRITE_SERIAL, dk, median(w, opt.reps));
	fig_set(F_READ_SERIAL, dk, median(r, opt.reps));
	fig_set(F_DIR_SERIAL, dk, median(dr, opt.reps));
	rc = 0;
out:
	xsc_close(c);
	free(m);
	return rc;
}

/* Fill a directory with `n` children named c00000.. (empty values), pipelined. */
static int fill_dir(struct xsc *c, const char *dir, unsigned n)
{
	char fmt[160];

	snprintf(fmt, sizeof(fmt), "%s/c%%05u", dir);
	return pipe_run(c, XS_WRITE, fmt, 0, 0, 0, n);
}

/*
 * Read a whole directory with DIRECTORY_PART the way libxenstore does: chunks
 * from offset 0, next offset = bytes gathered so far, stop when the data ends
 * in an empty string, restart from 0 if the generation changes. Returns the
 * number of children, -2 if the daemon does not implement DIRECTORY_PART
 * (g_err says how it answered), -1 on error. *nreq counts requests.
 */
static long dirpart_list(struct xsc *c, const char *path, struct xsc_msg *m, char **acc,
			 size_t *cap, unsigned *nreq)
{
	char gen[32] = "";
	size_t off = 0;
	int restarts = 0;

	for (;;) {
		char buf[256];
		int pl = snprintf(buf, sizeof(buf), "%s%c%zu", path, '\0', off);

		if (pl < 0 || (size_t)pl + 1 > sizeof(buf)) {
			fail("DIRECTORY_PART: path too long");
			return -1;
		}
		if (xsc_call(c, XS_DIRECTORY_PART, 0, buf, (size_t)pl + 1, m, opt.timeout_ms) < 0) {
			fail("DIRECTORY_PART %s: %s", path, strerror(errno));
			return -1;
		}
		(*nreq)++;
		if (m->hdr.type == XS_ERROR) {
			fail("DIRECTORY_PART -> %s", m->payload);
			return off == 0 ? -2 : -1;
		}
		if (m->hdr.type != XS_DIRECTORY_PART) {
			fail("DIRECTORY_PART -> %s", type_str(m->hdr.type));
			return -1;
		}
		size_t glen = strnlen(m->payload, m->hdr.len);

		if (glen >= m->hdr.len || glen >= sizeof(gen)) {
			fail("DIRECTORY_PART: malformed generation");
			return -1;
		}
		if (off == 0) {
			memcpy(gen, m->payload, glen + 1);
		} else if (strcmp(gen, m->payload) != 0) {
			if (++restarts > 10) {
				fail("DIRECTORY_PART: generation keeps changing");
				return -1;
			}
			off = 0;
			continue;
		}
		size_t clen = m->hdr.len - glen - 1;

		if (off + clen > *cap) {
			size_t ncap = (off + clen) * 2;
			char *p = realloc(*acc, ncap);

			if (!p) {
				fail("out of memory");
				return -1;
			}
			*acc = p;
			*cap = ncap;
		}
		memcpy(*acc + off, m->payload + glen + 1, clen);
		off += clen;
		if (off <= 1 || (*acc)[off - 2] == '\0')
			break;
		if (clen == 0) {
			fail("DIRECTORY_PART: empty chunk before the end");
			return -1;
		}
	}
	/* Drop the terminating empty string, then count the names. */
	long count = 0;

	if (off > 1)
		off--;
	for (size_t i = 0; i < off; i++)
		count += (*acc)[i] == '\0';
	return count;
}

/* A 10,000-entry directory read fully with DIRECTORY_PART, repeatedly. */
static int grp_dirpart(struct xst_daemon *d, int dk)
{
	unsigned big = scaled(10000);
	double lr[MAX_REPS];
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = connect_to(d);
	char *acc = NULL;
	size_t cap = 0;
	int rc = -1;

	if (!c || !m)
		goto out;
	if (fill_dir(c, "/bench/big", big) < 0)
		goto out;
	for (int rep = 0; rep < opt.reps; rep++) {
		/* One listing is short: repeat for at least 0.5 s to time it well. */
		double t0 = xsb_now_s(), t;
		unsigned lists = 0, nreq = 0;

		do {
			long got = dirpart_list(c, "/bench/big", m, &acc, &cap, &nreq);

			if (got == -2) {
				fig_state(F_DIRPART, dk, ST_NA, g_err);
				rc = 0;
				goto out;
			}
			if (got < 0)
				goto out;
			if (got != (long)big) {
				fail("DIRECTORY_PART listing has %ld entries, expected %u", got, big);
				goto out;
			}
			lists++;
			t = xsb_now_s() - t0;
			if (over_cap(t0, lists, lists, "DIRECTORY_PART listing"))
				goto out;
		} while (t < 0.5 || lists < 5);
		lr[rep] = rate(lists, t);
		if (opt.verbose)
			progress("    rep %d: %.1f listings/s, %u requests per listing\n", rep, lr[rep],
				 nreq / lists);
	}
	fig_set(F_DIRPART, dk, median(lr, opt.reps));
	rc = 0;
out:
	free(acc);
	xsc_close(c);
	free(m);
	return rc;
}

/*
 * Rate of pipelined creates of `n` new nodes (pattern fmt) into a directory,
 * in rounds that each remove what they created (untimed) so the directory
 * keeps its size: rounds repeat until 0.5 s of creating has been timed.
 */
static int create_rounds(struct xsc *c, const char *fmt, const char *rm_dir, unsigned n,
			 double *out)
{
	double busy = 0, t0 = xsb_now_s();
	unsigned long made = 0;

	do {
		double t = xsb_now_s();

		if (pipe_run(c, XS_WRITE, fmt, 0, 16, 0, n) < 0)
			return -1;
		busy += xsb_now_s() - t;
		made += n;
		/* rm_dir: the whole directory goes in one RM; else each new node. */
		if (rm_dir ? pipe_run(c, XS_RM, rm_dir, 1, 0, 0, 1) < 0
			   : pipe_run(c, XS_RM, fmt, 0, 0, 0, n) < 0)
			return -1;
		if (over_cap(t0, made, made, "creates"))
			return -1;
	} while (busy < 0.5);
	*out = rate((double)made, busy);
	return 0;
}

/* Creates into a directory holding 10,000 children versus into an empty one. */
static int grp_bigdir(struct xst_daemon *d, int dk)
{
	unsigned big = scaled(10000), n = scaled(1000);
	double e[MAX_REPS], b[MAX_REPS];
	struct xsc *c = connect_to(d);
	/* A ratio judged within 5%: at least 5 runs each way, as for the watch load. */
	int reps = opt.reps < 5 ? 5 : opt.reps;
	int rc = -1;

	if (!c)
		goto out;
	if (fill_dir(c, "/bench/big", big) < 0)
		goto out;
	for (int rep = 0; rep < reps; rep++) {
		/* Alternate the order so a drift over the run does not favour one side. */
		for (int k = 0; k < 2; k++) {
			int into_big = (k + rep) % 2;

			/* The %.0u prints nothing: the RM pattern names the directory itself. */
			if (into_big ? create_rounds(c, "/bench/big/new%05u", NULL, n, &b[rep]) < 0
				     : create_rounds(c, "/bench/empty/new%05u", "/bench/empty%.0u", n,
						     &e[rep]) < 0)
				goto out;
		}
		if (opt.verbose)
			progress("    rep %d: empty %.0f/s big %.0f/s\n", rep, e[rep], b[rep]);
	}
	fig_set(F_CREATE_EMPTY, dk, median(e, reps));
	fig_set(F_CREATE_BIG, dk, median(b, reps));
	fig_set(F_CREATE_RATIO, dk, figs[F_CREATE_BIG].v[dk] / figs[F_CREATE_EMPTY].v[dk]);
	rc = 0;
out:
	xsc_close(c);
	return rc;
}

#define PIPE_NODES 10000

/* Pipelined READ and WRITE (overwrites) of 10,000 nodes, 32 in flight. */
static int grp_pipe(struct xst_daemon *d, int dk)
{
	unsigned long n = scaled(100000);
	unsigned nodes = scaled(PIPE_NODES);
	double r[MAX_REPS], w[MAX_REPS];
	struct xsc *c = connect_to(d);
	int rc = -1;

	if (!c)
		goto out;
	if (pipe_run(c, XS_WRITE, "/bench/p/n%05u", 0, 16, 0, nodes) < 0)
		goto out;
	for (int rep = 0; rep < opt.reps; rep++) {
		double t0 = xsb_now_s();

		if (pipe_run(c, XS_READ, "/bench/p/n%05u", nodes, 16, 0, n) < 0)
			goto out;
		r[rep] = rate((double)n, xsb_now_s() - t0);
		t0 = xsb_now_s();
		if (pipe_run(c, XS_WRITE, "/bench/p/n%05u", nodes, 16, 0, n) < 0)
			goto out;
		w[rep] = rate((double)n, xsb_now_s() - t0);
		if (opt.verbose)
			progress("    rep %d: read %.0f/s write %.0f/s\n", rep, r[rep], w[rep]);
	}
	fig_set(F_PIPE_READ, dk, median(r, opt.reps));
	fig_set(F_PIPE_WRITE, dk, median(w, opt.reps));
	rc = 0;
out:
	xsc_close(c);
	return rc;
}

/* 16 connections, one thread each, serial WRITEs of new nodes then READs of them. */
#define CONC_THREADS 16

struct conc_thread {
	pthread_t tid;
	const char *socket;
	pthread_barrier_t *bar;
	int rep;
	unsigned idx, n;
	int failed;
	char err[256];
};

static void *conc_main(void *arg)
{
	struct conc_thread *t = arg;
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = xsc_open(t->socket);
	char path[128], buf[256];

	if (!c || !m) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err), "connect: %s", strerror(errno));
	}
	/* Every thread passes every barrier, failed or not, so nobody waits forever. */
	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->n && !t->failed; i++) {
		int len;

		snprintf(path, sizeof(path), "/bench/c/r%d/t%02u/n%05u", t->rep, t->idx, i);
		len = build(buf, sizeof(buf), path, VALUE16, 16);
		if (xsc_call(c, XS_WRITE, 0, buf, (size_t)len, m, opt.timeout_ms) < 0) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "WRITE %s: %s", path, strerror(errno));
		} else if (m->hdr.type != XS_WRITE) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "WRITE %s -> %s %.32s", path,
				 type_str(m->hdr.type), m->hdr.type == XS_ERROR ? m->payload : "");
		}
	}
	pthread_barrier_wait(t->bar);
	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->n && !t->failed; i++) {
		int len;

		snprintf(path, sizeof(path), "/bench/c/r%d/t%02u/n%05u", t->rep, t->idx, i);
		len = build(buf, sizeof(buf), path, NULL, 0);
		if (xsc_call(c, XS_READ, 0, buf, (size_t)len, m, opt.timeout_ms) < 0) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "READ %s: %s", path, strerror(errno));
		} else if (m->hdr.type != XS_READ || m->hdr.len != 16) {
			t->failed = 1;
			snprintf(t->err, sizeof(t->err), "READ %s -> %s %.32s (%u bytes)", path,
				 type_str(m->hdr.type), m->hdr.type == XS_ERROR ? m->payload : "",
				 m->hdr.len);
		}
	}
	pthread_barrier_wait(t->bar);
	xsc_close(c);
	free(m);
	return NULL;
}

static int grp_conc(struct xst_daemon *d, int dk)
{
	/* 48,000 operations per phase: shorter phases are dominated by thread start-up. */
	unsigned n = scaled(3000);
	double w[MAX_REPS], r[MAX_REPS];
	struct conc_thread th[CONC_THREADS];
	pthread_barrier_t bar;
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = connect_to(d);
	int rc = -1;

	if (!c || !m)
		goto out;
	for (int rep = 0; rep < opt.reps; rep++) {
		char path[64];

		double t[4];
		int failed = 0;

		pthread_barrier_init(&bar, NULL, CONC_THREADS + 1);
		for (unsigned i = 0; i < CONC_THREADS; i++) {
			th[i] = (struct conc_thread){.socket = d->socket, .bar = &bar, .rep = rep,
						     .idx = i, .n = n};
			if (pthread_create(&th[i].tid, NULL, conc_main, &th[i]) != 0) {
				/* Cannot happen in practice; the barrier would deadlock, so stop. */
				fprintf(stderr, "xsbench: pthread_create failed\n");
				kill(d->pid, SIGKILL);
				exit(2);
			}
		}
		long long ticks[4];

		for (int k = 0; k < 4; k++) {
			pthread_barrier_wait(&bar);
			t[k] = xsb_now_s();
			ticks[k] = xst_daemon_cpu_ticks(d);
		}
		for (unsigned i = 0; i < CONC_THREADS; i++) {
			pthread_join(th[i].tid, NULL);
			if (th[i].failed && !failed) {
				failed = 1;
				fail("connection %u: %s", i, th[i].err);
			}
		}
		pthread_barrier_destroy(&bar);
		if (failed)
			goto out;
		w[rep] = rate((double)n * CONC_THREADS, t[1] - t[0]);
		r[rep] = rate((double)n * CONC_THREADS, t[3] - t[2]);
		/* Remove this rep's nodes so every rep starts from the same store. */
		snprintf(path, sizeof(path), "/bench/c/r%d", rep);
		if (call(c, XS_RM, path, (int)strlen(path) + 1, m) < 0)
			goto out;
		if (opt.verbose)
			progress("    rep %d: write %.0f/s read %.0f/s (daemon CPU %.0f%% / %.0f%%)\n",
				 rep, w[rep], r[rep],
				 100.0 * (double)(ticks[1] - ticks[0]) / (double)sysconf(_SC_CLK_TCK) /
					 (t[1] - t[0]),
				 100.0 * (double)(ticks[3] - ticks[2]) / (double)sysconf(_SC_CLK_TCK) /
					 (t[3] - t[2]));
	}
	fig_set(F_CONC_WRITE, dk, median(w, opt.reps));
	fig_set(F_CONC_READ, dk, median(r, opt.reps));
	rc = 0;
out:
	xsc_close(c);
	free(m);
	return rc;
}

/*
 * Daemon CPU per request: /proc ticks of the daemon around a pipelined batch.
 * Ticks are 10 ms, so the batch runs until it has both enough requests and
 * enough ticks for a ~1% reading, or a generous tick count alone, or a cap.
 */
static int cpu_per_req(struct xst_daemon *d, struct xsc *c, uint32_t type, const char *fmt,
		       unsigned mod, unsigned vlen, double *us)
{
	const unsigned long batch = 20000, min_reqs = scaled(100000);
	const long long min_ticks = (long long)(100 * opt.scale < 10 ? 10 : 100 * opt.scale);
	const double cap = 30.0;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long reqs = 0;
	long long t0, dt;
	double w0;

	/* Warm up (first-touch allocations, caches) outside the measurement. */
	if (pipe_run(c, type, fmt, mod, vlen, 0, 2000) < 0)
		return -1;
	t0 = xst_daemon_cpu_ticks(d);
	w0 = xsb_now_s();
	for (;;) {
		if (pipe_run(c, type, fmt, mod, vlen, reqs, batch) < 0)
			return -1;
		reqs += batch;
		dt = xst_daemon_cpu_ticks(d) - t0;
		if ((reqs >= min_reqs && dt >= min_ticks) || dt >= 2 * min_ticks ||
		    xsb_now_s() - w0 > cap)
			break;
	}
	if (t0 < 0 || dt < 0) {
		fail("cannot read /proc/%d/stat", (int)d->pid);
		return -1;
	}
	*us = (double)dt * 1e6 / (double)hz / (double)reqs;
	if (opt.verbose || dt < 20)
		progress("    %s: %lu requests, %lld ticks, %.1f s wall%s\n", type_str(type), reqs,
			 dt, xsb_now_s() - w0, dt < 20 ? " (few ticks: coarse figure)" : "");
	return 0;
}

static int grp_cpu(struct xst_daemon *d, int dk)
{
	struct xsc *c = connect_to(d);
	double us;
	int rc = -1;

	if (!c)
		goto out;
	if (pipe_run(c, XS_WRITE, "/bench/cpu/n%04u", 0, 16, 0, 1000) < 0 ||
	    pipe_run(c, XS_WRITE, "/bench/cpu/d/c%03u", 0, 0, 0, 100) < 0)
		goto out;
	if (cpu_per_req(d, c, XS_READ, "/bench/cpu/n%04u", 1000, 16, &us) < 0)
		goto out;
	fig_set(F_CPU_READ, dk, us);
	if (cpu_per_req(d, c, XS_WRITE, "/bench/cpu/n%04u", 1000, 16, &us) < 0)
		goto out;
	fig_set(F_CPU_WRITE, dk, us);
	/* The %u of the pattern is not used: every request lists the same node. */
	if (cpu_per_req(d, c, XS_DIRECTORY, "/bench/cpu/d%.0u", 1, 0, &us) < 0)
		goto out;
	fig_set(F_CPU_DIR, dk, us);
	rc = 0;
out:
	xsc_close(c);
	return rc;
}

/* Memory of *.tdb files in the run directory: allocated bytes (tmpfs pages), in KiB. */
long xsb_tdb_files_kb(const struct xst_daemon *d)
{
	DIR *dir = opendir(d->dir);
	struct dirent *e;
	long kb = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		size_t l = strlen(e->d_name);
		char path[600];
		struct stat sb;

		if (l < 4 || strcmp(e->d_name + l - 4, ".tdb") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->dir, e->d_name);
		if (stat(path, &sb) == 0)
			kb += (long)(sb.st_blocks * 512 / 1024);
	}
	closedir(dir);
	return kb;
}

/* RssAnon from /proc: private memory, without mapped file or shmem pages. */
long xsb_rss_anon_kb(const struct xst_daemon *d)
{
	return xst_daemon_status_kb(d, "RssAnon");
}

/* WRITE node i of 64 bytes under the base path vctx: <base>/dNNN/nNN, or <base>/nNNNNNN if flat. */
static int gen_node64(const char *base, bool tree, unsigned long i, struct preq *r)
{
	int pl;

	if (tree)
		pl = snprintf(r->buf, sizeof(r->buf), "%s/d%03lu/n%02lu", base, i / 100, i % 100);
	else
		pl = snprintf(r->buf, sizeof(r->buf), "%s/n%06lu", base, i);
	r->type = XS_WRITE;
	r->expect_len = -1;
	r->len = (size_t)pl + 1;
	/* 64 bytes, distinct per node so no daemon can share them. */
	snprintf(r->buf + r->len, 65, "%06lu-%057lu", i, i);
	r->len += 64;
	return 0;
}

static int gen_mem(void *vctx, unsigned long i, struct preq *r)
{
	(void)vctx;
	return gen_node64("/bench/mem", opt.mem_tree, i, r);
}

static int gen_big_store(void *vctx, unsigned long i, struct preq *r)
{
	(void)vctx;
	return gen_node64("/bench/big", true, i, r);
}

/* Resident memory before and after loading 100,000 nodes of 64-byte values. */
static int grp_mem(struct xst_daemon *d, int dk)
{
	unsigned long n = scaled(100000);
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = connect_to(d);
	long rss0, rss1, anon0, anon1, file0, file1;
	int rc = -1;

	if (!c || !m)
		goto out;
	/* One request first so lazily set-up state is in the "before" figure. */
	if (do_write(c, "/bench/mem-warmup", "x", 1, m) < 0)
		goto out;
	xsb_sleep_s(0.2);
	rss0 = xst_daemon_rss_kb(d);
	anon0 = xsb_rss_anon_kb(d);
	file0 = xsb_tdb_files_kb(d);
	/*
	 * The C daemon rewrites the whole parent record per create, so a flat
	 * load is quadratic there: allow it more than other loops.
	 */
	double cap = opt.loop_cap_s;

	opt.loop_cap_s = 3 * cap;
	rc = pipeline(c, 0, n, 32, gen_mem, NULL);
	opt.loop_cap_s = cap;
	if (rc < 0)
		goto out;
	rc = -1;
	/* A READ round trip: every write has been processed before we look. */
	{
		char buf[256];
		int len = build(buf, sizeof(buf),
				opt.mem_tree ? "/bench/mem/d000/n00" : "/bench/mem/n000000", NULL, 0);

		if (call(c, XS_READ, buf, len, m) < 0)
			goto out;
		if (m->hdr.len != 64) {
			fail("READ after memory load: %u bytes, expected 64", m->hdr.len);
			goto out;
		}
	}
	xsb_sleep_s(0.5);
	rss1 = xst_daemon_rss_kb(d);
	anon1 = xsb_rss_anon_kb(d);
	file1 = xsb_tdb_files_kb(d);
	if (rss0 < 0 || rss1 < 0) {
		fail("cannot read /proc/%d/status", (int)d->pid);
		goto out;
	}
	if (opt.verbose)
		progress("    RSS %ld -> %ld KiB, anon %ld -> %ld KiB, tdb %ld -> %ld KiB\n", rss0,
			 rss1, anon0, anon1, file0, file1);
	fig_set(F_MEM_RSS_BEFORE, dk, (double)rss0);
	fig_set(F_MEM_RSS_AFTER, dk, (double)rss1);
	if (file1 > 0 || file0 > 0)
		fig_set(F_MEM_FILE, dk, (double)file1);
	else
		fig_state(F_MEM_FILE, dk, ST_NA, "no *.tdb in run dir");
	fig_set(F_MEM_DELTA, dk, (double)((rss1 + file1) - (rss0 + file0)));
	fig_set(F_MEM_PER_NODE, dk, (double)((rss1 + file1) - (rss0 + file0)) * 1024.0 / (double)n);
	if (anon0 >= 0 && anon1 >= 0)
		fig_set(F_MEM_ANON_PER_NODE, dk,
			(double)((anon1 + file1) - (anon0 + file0)) * 1024.0 / (double)n);
	rc = 0;
out:
	xsc_close(c);
	free(m);
	return rc;
}

/* ---------------------------------------------------------------- watches */

/* The p-quantile (0..1) of n samples, by rank; sorts v. */
static double quantile(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	k = (size_t)(p * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

/* The daemon's CPU in microseconds per unit, from clock ticks. */
static double ticks_us_per(long long ticks, double units)
{
	return (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK) / (units > 0 ? units : 1);
}

/* A CPU figure read from few 10 ms ticks is coarse: say so rather than hide it. */
/*
 * This process's CPU time (all its threads), in microseconds: the client's
 * own cost, which is the same work whichever daemon answers.
 */
static double self_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void cpu_fig(enum fig_id f, int dk, long long ticks, double units, const char *what)
{
	if (ticks < 0) {
		fig_state(f, dk, ST_ERROR, "cannot read the daemon's /proc stat");
		return;
	}
	/* Zero ticks is "under 10 ms in all", not "free": a 0 would make a ratio of 0. */
	if (ticks == 0) {
		fig_state(f, dk, ST_NA, "under one clock tick: run at a larger --scale");
		return;
	}
	fig_set(f, dk, ticks_us_per(ticks, units));
	if (opt.verbose || ticks < 20)
		progress("    %s: %.0f units, %lld ticks%s\n", what, units, ticks,
			 ticks < 20 ? " (few ticks: coarse figure)" : "");
}

/*
 * The watch group times its serial latency phase with client and daemon on
 * one CPU (as the serial group does, for a stable figure) and its pipelined
 * phase on two; with an explicit --pin the group keeps that placement.
 */
static void pin_phase(int serial)
{
	if (opt.pin == PIN_AUTO)
		pin_self(serial ? cpu_daemon : cpu_client);
}

/* WATCH path with token on c; consumes the reply and the initial event. */
static int watch_on(struct xsc *c, const char *path, const char *token, struct xsc_msg *m)
{
	char buf[256];

	if (call(c, XS_WATCH, buf, build(buf, sizeof(buf), path, token, strlen(token) + 1), m) < 0)
		return -1;
	if (xsc_next_event(c, m, opt.timeout_ms) < 0) {
		fail("initial event of WATCH %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Receive on c without waiting: 1 got a message, 0 nothing there yet, -1
 * error. xsc_recv with timeout 0 only hands out messages already buffered
 * (its deadline passes before it polls), so the socket is polled here; once
 * it is readable, the rest of a message part-sent is waited for.
 */
static int recv_now(struct xsc *c, struct xsc_msg *m, const char *what)
{
	struct pollfd pfd = {xsc_fd(c), POLLIN, 0};
	int r;

	if (xsc_recv(c, m, 0) == 0)
		return 1;
	if (errno != ETIMEDOUT)
		goto err;
	do
		r = poll(&pfd, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r > 0 && xsc_recv(c, m, opt.timeout_ms) == 0)
		return 1;
err:
	fail("%s: %s", what, strerror(errno));
	return -1;
}

/*
 * The watched nodes: WATCH_NODES distinct ones, overwritten in turn, so
 * consecutive events differ and none can be coalesced with a queued one.
 */
#define WATCH_NODES 1000
#define WATCH_FMT "/bench/ws/n%04u"

/*
 * Serial: WRITE on w, wait for its event on e (the latency sample), then
 * for the WRITE's reply; the next WRITE only after both.
 */
static int watch_serial(struct xsc *w, struct xsc *e, struct xsc_msg *m, unsigned n, double *lat,
			double *rate_out)
{
	double t0 = xsb_now_s();

	for (unsigned i = 0; i < n; i++) {
		char path[64], buf[128];
		int len;
		double ts;

		snprintf(path, sizeof(path), WATCH_FMT, i % WATCH_NODES);
		len = build(buf, sizeof(buf), path, VALUE16, 16);
		ts = xsb_now_s();
		if (xsc_send(w, XS_WRITE, 0, 0, buf, (size_t)len) < 0) {
			fail("WRITE %s: %s", path, strerror(errno));
			return -1;
		}
		if (xsc_recv(e, m, opt.timeout_ms) < 0) {
			fail("event %u of %u: %s", i + 1, n, strerror(errno));
			return -1;
		}
		lat[i] = xsb_now_s() - ts;
		if (m->hdr.type != XS_WATCH_EVENT || strcmp(m->payload, path) != 0) {
			fail("watcher got %s %.60s, expected the event for %s", type_str(m->hdr.type),
			     m->payload, path);
			return -1;
		}
		if (xsc_recv(w, m, opt.timeout_ms) < 0 || m->hdr.type != XS_WRITE) {
			fail("WRITE %s: %s", path,
			     m->hdr.type == XS_ERROR ? m->payload : "no reply or a wrong one");
			return -1;
		}
		if ((i & 255) == 0 && over_cap(t0, i, n, "serial watch events"))
			return -1;
	}
	*rate_out = rate(n, xsb_now_s() - t0);
	return 0;
}

/*
 * Pipelined: WRITEs on w, 32 in flight, while e takes their events in
 * order. The writer stays at most WATCH_LAG writes ahead of the events: no
 * daemon then holds more than that for the watcher (oxenstored bounds a
 * connection's pending events) and, WATCH_LAG being below WATCH_NODES, no
 * two pending events are identical. A lost or coalesced event shows as a
 * wrong path or a timeout, never as a faster rate.
 */
#define WATCH_LAG 256
#define WATCH_WINDOW 32

static int watch_stream(struct xsc *w, struct xsc *e, struct xsc_msg *m, unsigned long n)
{
	static unsigned char out[WATCH_WINDOW * (XS_HEADER_SIZE + 64)];
	unsigned long sent = 0, acked = 0, events = 0;
	double t0 = xsb_now_s();

	while (acked < n || events < n) {
		size_t olen = 0;
		int got, moved = 0;

		while (sent < n && sent - acked < WATCH_WINDOW && sent - events < WATCH_LAG) {
			char path[32], buf[64];
			int len;
			struct xs_header h;

			snprintf(path, sizeof(path), WATCH_FMT, (unsigned)(sent % WATCH_NODES));
			len = build(buf, sizeof(buf), path, VALUE16, 16);
			h = (struct xs_header){XS_WRITE, (uint32_t)(sent + 1), 0, (uint32_t)len};
			xs_header_encode(&h, out + olen);
			memcpy(out + olen + XS_HEADER_SIZE, buf, (size_t)len);
			olen += XS_HEADER_SIZE + (size_t)len;
			sent++;
		}
		if (olen && xsc_send_raw(w, out, olen) < 0) {
			fail("send: %s", strerror(errno));
			return -1;
		}
		while ((got = recv_now(w, m, "pipelined WRITE reply")) > 0) {
			if (m->hdr.type != XS_WRITE || acked >= sent) {
				fail("pipelined WRITE -> %s %.60s", type_str(m->hdr.type),
				     m->hdr.type == XS_ERROR ? m->payload : "");
				return -1;
			}
			acked++;
			moved = 1;
		}
		if (got < 0)
			return -1;
		while ((got = recv_now(e, m, "watch event")) > 0) {
			char path[32];

			snprintf(path, sizeof(path), WATCH_FMT, (unsigned)(events % WATCH_NODES));
			if (m->hdr.type != XS_WATCH_EVENT || events >= sent ||
			    strcmp(m->payload, path) != 0) {
				fail("event %lu: got %s %.60s, expected %s", events + 1,
				     type_str(m->hdr.type), m->payload, path);
				return -1;
			}
			events++;
			moved = 1;
		}
		if (got < 0)
			return -1;
		if (!moved && (acked < sent || events < sent)) {
			struct pollfd pfd[2] = {{xsc_fd(w), POLLIN, 0}, {xsc_fd(e), POLLIN, 0}};
			int r = poll(pfd, 2, opt.timeout_ms);

			if (r == 0) {
				fail("pipelined watch: %lu replies and %lu events of %lu sent after %d s",
				     acked, events, sent, opt.timeout_ms / 1000);
				return -1;
			}
			if (r < 0 && errno != EINTR) {
				fail("poll: %s", strerror(errno));
				return -1;
			}
		}
		if (over_cap(t0, events, n, "pipelined watch events"))
			return -1;
	}
	return 0;
}

/* One writer, one watcher (separate connections): serial latency and pipelined rate. */
static int grp_watch(struct xst_daemon *d, int dk)
{
	unsigned n_lat = scaled(10000);
	unsigned long n_pipe = scaled(100000), evs = 0;
	double lr[MAX_REPS], med[MAX_REPS], p99[MAX_REPS], pr[MAX_REPS];
	double *lat = malloc(sizeof(double) * n_lat);
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *w = connect_to(d), *e = w ? connect_to(d) : NULL;
	long long ticks = 0;
	int rc = -1;

	if (!w || !e || !m || !lat)
		goto out;
	/* The nodes exist before the watch: every timed write is an overwrite. */
	if (pipe_run(w, XS_WRITE, WATCH_FMT, 0, 16, 0, WATCH_NODES) < 0 ||
	    watch_on(e, "/bench/ws", "ws", m) < 0)
		goto out;
	for (int rep = 0; rep < opt.reps; rep++) {
		long long k0;
		double t0;

		pin_phase(1);
		if (watch_serial(w, e, m, n_lat, lat, &lr[rep]) < 0)
			goto out;
		pin_phase(0);
		med[rep] = quantile(lat, n_lat, 0.5) * 1e6;
		p99[rep] = quantile(lat, n_lat, 0.99) * 1e6;
		k0 = xst_daemon_cpu_ticks(d);
		t0 = xsb_now_s();
		if (watch_stream(w, e, m, n_pipe) < 0)
			goto out;
		pr[rep] = rate((double)n_pipe, xsb_now_s() - t0);
		ticks = k0 < 0 || ticks < 0 ? -1 : ticks + xst_daemon_cpu_ticks(d) - k0;
		evs += n_pipe;
		if (opt.verbose)
			progress("    rep %d: serial %.0f ev/s (median %.1f us, p99 %.1f us),"
				 " pipelined %.0f ev/s\n",
				 rep, lr[rep], med[rep], p99[rep], pr[rep]);
	}
	fig_set(F_WATCH_SERIAL, dk, median(lr, opt.reps));
	fig_set(F_WATCH_LAT_MED, dk, median(med, opt.reps));
	fig_set(F_WATCH_LAT_P99, dk, median(p99, opt.reps));
	fig_set(F_WATCH_PIPE, dk, median(pr, opt.reps));
	cpu_fig(F_CPU_WATCH, dk, ticks, (double)evs, "pipelined write+event");
	rc = 0;
out:
	xsc_close(w);
	xsc_close(e);
	free(m);
	free(lat);
	return rc;
}

/*
 * Fan-out: one write to a node that many connections watch. The watchers'
 * input is read raw (one recv per ready socket, events counted by header)
 * so that the single client thread stays cheaper than the daemon's sends.
 */
#define FAN_BUF 256
#define FAN_WRITER UINT32_MAX /* epoll tag of the writer's connection */

struct fan_conn {
	struct xsc *c;
	unsigned events; /* in the current round */
	size_t len;
	unsigned char buf[FAN_BUF];
};

static int fan_read(struct fan_conn *f)
{
	ssize_t r;
	size_t off = 0;

	do
		r = recv(xsc_fd(f->c), f->buf + f->len, sizeof(f->buf) - f->len, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0) {
		fail("watcher connection: %s", r == 0 ? "closed by the daemon" : strerror(errno));
		return -1;
	}
	f->len += (size_t)r;
	while (f->len - off >= XS_HEADER_SIZE) {
		struct xs_header h;

		xs_header_decode(f->buf + off, &h);
		if (h.type != XS_WATCH_EVENT || h.len > FAN_BUF - XS_HEADER_SIZE) {
			fail("watcher got %s of %u bytes", type_str(h.type), h.len);
			return -1;
		}
		if (f->len - off < XS_HEADER_SIZE + h.len)
			break;
		off += XS_HEADER_SIZE + h.len;
		f->events++;
	}
	memmove(f->buf, f->buf + off, f->len - off);
	f->len -= off;
	return 0;
}

/* One WRITE of the watched node; returns when every watcher has its event and the reply is in. */
static int fan_round(struct xsc *w, struct fan_conn *fc, unsigned nw, int ep, struct xsc_msg *m,
		     unsigned seq, double *lat)
{
	struct epoll_event evs[256];
	char buf[64], val[16];
	unsigned got = 0;
	int replied = 0, len;
	double ts;

	for (unsigned i = 0; i < nw; i++)
		fc[i].events = 0;
	snprintf(val, sizeof(val), "%u", seq);
	len = build(buf, sizeof(buf), "/bench/fan", val, strlen(val));
	ts = xsb_now_s();
	if (xsc_send(w, XS_WRITE, 0, 0, buf, (size_t)len) < 0) {
		fail("WRITE /bench/fan: %s", strerror(errno));
		return -1;
	}
	while (got < nw || !replied) {
		int r = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), opt.timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail("fan-out write %u: %u of %u events%s after %d s", seq, got, nw,
			     replied ? "" : ", no reply", opt.timeout_ms / 1000);
			return -1;
		}
		for (int k = 0; k < r; k++) {
			uint32_t id = evs[k].data.u32;
			int n;

			if (id == FAN_WRITER) {
				while ((n = recv_now(w, m, "fan-out WRITE reply")) > 0) {
					if (m->hdr.type != XS_WRITE || replied) {
						fail("fan-out WRITE -> %s %.60s", type_str(m->hdr.type),
						     m->hdr.type == XS_ERROR ? m->payload : "");
						return -1;
					}
					replied = 1;
				}
				if (n < 0)
					return -1;
				continue;
			}
			unsigned before = fc[id].events;

			if (fan_read(&fc[id]) < 0)
				return -1;
			if (fc[id].events > 1) {
				fail("watcher %u got %u events for one write", id, fc[id].events);
				return -1;
			}
			got += fc[id].events - before;
			if (got == nw && fc[id].events > before)
				*lat = xsb_now_s() - ts;
		}
	}
	return 0;
}

static int grp_fanout(struct xst_daemon *d, int dk)
{
	unsigned want = scaled(1000), writes = scaled(200), nw;
	double med[MAX_REPS], fr[MAX_REPS], cli_us = 0;
	double *lat = malloc(sizeof(double) * writes);
	struct fan_conn *fc = calloc(want, sizeof(*fc));
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *w = connect_to(d);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	long long ticks = 0;
	int rc = -1;

	if (!w || !m || !fc || !lat || ep < 0)
		goto out_early;
	if (do_write(w, "/bench/fan", "0", 1, m) < 0)
		goto out_early;
	/* As many watchers as the daemon accepts, up to `want`; fewer is noted, not an error. */
	for (nw = 0; nw < want; nw++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = nw};
		char tok[16];

		fc[nw].c = xsc_open(d->socket);
		if (!fc[nw].c) {
			progress("    only %u watcher connections: connect: %s\n", nw, strerror(errno));
			break;
		}
		snprintf(tok, sizeof(tok), "f%u", nw);
		if (watch_on(fc[nw].c, "/bench/fan", tok, m) < 0) {
			progress("    only %u watcher connections: %s\n", nw, g_err);
			xsc_close(fc[nw].c);
			fc[nw].c = NULL;
			break;
		}
		if (epoll_ctl(ep, EPOLL_CTL_ADD, xsc_fd(fc[nw].c), &ev) < 0) {
			fail("epoll_ctl: %s", strerror(errno));
			nw++;
			goto out;
		}
	}
	g_err[0] = '\0';
	if (nw == 0) {
		fail("no watcher connection accepted");
		goto out;
	}
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = FAN_WRITER};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, xsc_fd(w), &ev) < 0) {
			fail("epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	fig_set(F_FAN_WATCHERS, dk, nw);
	/* One untimed round: first-touch allocations in every connection. */
	if (fan_round(w, fc, nw, ep, m, 0, &lat[0]) < 0)
		goto out;
	for (int rep = 0; rep < opt.reps; rep++) {
		long long k0 = xst_daemon_cpu_ticks(d);
		double t0 = xsb_now_s(), c0 = self_cpu_us();

		for (unsigned i = 0; i < writes; i++) {
			if (fan_round(w, fc, nw, ep, m, 1 + rep * writes + i, &lat[i]) < 0)
				goto out;
			if (over_cap(t0, i, writes, "fan-out writes"))
				goto out;
		}
		fr[rep] = rate(writes, xsb_now_s() - t0);
		cli_us += self_cpu_us() - c0;
		ticks = k0 < 0 || ticks < 0 ? -1 : ticks + xst_daemon_cpu_ticks(d) - k0;
		med[rep] = quantile(lat, writes, 0.5) * 1e6;
		if (opt.verbose)
			progress("    rep %d: %.0f writes/s, all %u events in %.0f us (median),"
				 " max %.0f us\n",
				 rep, fr[rep], nw, med[rep], lat[writes - 1] * 1e6);
	}
	fig_set(F_FAN_TIME_MED, dk, median(med, opt.reps));
	fig_set(F_FAN_RATE, dk, median(fr, opt.reps));
	cpu_fig(F_CPU_FAN, dk, ticks, (double)writes * opt.reps * nw, "fan-out events");
	fig_set(F_CLI_FAN, dk, cli_us / ((double)writes * opt.reps));
	rc = 0;
out:
	for (unsigned i = 0; i < nw; i++)
		xsc_close(fc[i].c);
out_early:
	if (ep >= 0)
		close(ep);
	xsc_close(w);
	free(fc);
	free(m);
	free(lat);
	return rc;
}

/*
 * Writes while many unrelated watches are registered: /w/<i>/x, spread
 * over WL_CONNS connections. Several connections because the C daemon looks
 * for a duplicate through the connection's whole watch list on each WATCH,
 * so one connection with 100,000 would make registration quadratic there.
 */
#define WL_CONNS 100
#define WL_FMT "/bench/wl/n%04u"
#define WL_NODES 1000

static int gen_watch(void *vctx, unsigned long i, struct preq *r)
{
	int pl = snprintf(r->buf, sizeof(r->buf), "/w/%06lu/x", i);

	(void)vctx;
	r->type = XS_WATCH;
	r->expect_len = -1;
	memcpy(r->buf + pl + 1, "t", 2);
	r->len = (size_t)pl + 3;
	return 0;
}

/*
 * Pipelined overwrites in batches until 1 s is timed (small batches: a
 * daemon that is slow under many watches still ends near 1 s); adds the
 * daemon's ticks and writes.
 */
static int wl_rate(struct xst_daemon *d, struct xsc *c, double *out, long long *ticks,
		   unsigned long *writes)
{
	const unsigned batch = 1000;
	unsigned long done = 0;
	long long k0 = xst_daemon_cpu_ticks(d);
	double t0 = xsb_now_s(), t;

	do {
		if (pipe_run(c, XS_WRITE, WL_FMT, WL_NODES, 16, done, batch) < 0)
			return -1;
		done += batch;
		t = xsb_now_s() - t0;
		if (over_cap(t0, done, done, "writes with watches"))
			return -1;
	} while (t < 1.0);
	*out = rate((double)done, t);
	*ticks = k0 < 0 || *ticks < 0 ? -1 : *ticks + xst_daemon_cpu_ticks(d) - k0;
	*writes += done;
	return 0;
}

/* Register nwatch watches over nconn fresh connections (wc); their rate into *reg. */
static int wl_register(struct xst_daemon *d, struct xsc **wc, unsigned nconn, unsigned nwatch,
		       double *reg)
{
	double t0 = xsb_now_s();

	for (unsigned i = 0; i < nconn; i++) {
		unsigned first = (unsigned)((unsigned long)nwatch * i / nconn);
		unsigned last = (unsigned)((unsigned long)nwatch * (i + 1) / nconn);

		wc[i] = connect_to(d);
		if (!wc[i] || pipeline(wc[i], first, last - first, 32, gen_watch, NULL) < 0)
			return -1;
	}
	*reg = rate(nwatch, xsb_now_s() - t0);
	return 0;
}

/*
 * Wait until the daemon is idle: its CPU time stops moving (two 100 ms looks
 * alike; 60 s at most). The reference daemons go on working well after
 * 100,000 watches come or go, which would otherwise be charged to the next run.
 */
static void wl_settle(struct xst_daemon *d)
{
	long long before = -1, now = xst_daemon_cpu_ticks(d);

	for (int i = 0; i < 600 && now >= 0 && now != before; i++) {
		xsb_sleep_s(0.1);
		before = now;
		now = xst_daemon_cpu_ticks(d);
	}
}

static void wl_unregister(struct xst_daemon *d, struct xsc **wc, unsigned nconn)
{
	for (unsigned i = 0; i < nconn; i++) {
		xsc_close(wc[i]);
		wc[i] = NULL;
	}
	wl_settle(d);
}

static int grp_wload(struct xst_daemon *d, int dk)
{
	unsigned nwatch = scaled(100000), nconn = nwatch < WL_CONNS ? nwatch : WL_CONNS;
	double none[MAX_REPS], loaded[MAX_REPS], reg[MAX_REPS];
	struct xsc *wc[WL_CONNS] = {0};
	struct xsc *c = connect_to(d);
	long long tk_none = 0, tk_loaded = 0;
	unsigned long w_none = 0, w_loaded = 0;
	/*
	 * The watches' cost is small, within the machine's drift over the
	 * group's run: the runs with and without alternate (the
	 * watches registered and dropped each time), at least 5 of each, and
	 * their medians are compared.
	 */
	int reps = opt.reps < 5 ? 5 : opt.reps;
	int rc = -1;

	if (!c)
		goto out;
	/* Create the nodes, then a warm-up pass, both untimed. */
	if (pipe_run(c, XS_WRITE, WL_FMT, 0, 16, 0, WL_NODES) < 0 ||
	    pipe_run(c, XS_WRITE, WL_FMT, WL_NODES, 16, 0, 2000) < 0)
		goto out;
	for (int rep = 0; rep < reps; rep++) {
		if (wl_rate(d, c, &none[rep], &tk_none, &w_none) < 0 ||
		    wl_register(d, wc, nconn, nwatch, &reg[rep]) < 0)
			goto out;
		wl_settle(d);
		if (wl_rate(d, c, &loaded[rep], &tk_loaded, &w_loaded) < 0)
			goto out;
		wl_unregister(d, wc, nconn);
		if (opt.verbose)
			progress("    rep %d: %.0f writes/s without watches, %.0f with\n", rep,
				 none[rep], loaded[rep]);
	}
	fig_set(F_WL_REGISTER, dk, median(reg, reps));
	fig_set(F_WL_NONE, dk, median(none, reps));
	fig_set(F_WL_LOADED, dk, median(loaded, reps));
	fig_set(F_WL_RATIO, dk, figs[F_WL_LOADED].v[dk] / figs[F_WL_NONE].v[dk]);
	cpu_fig(F_CPU_WL_NONE, dk, tk_none, (double)w_none, "writes without watches");
	cpu_fig(F_CPU_WL_LOADED, dk, tk_loaded, (double)w_loaded, "writes with watches");
	rc = 0;
out:
	for (unsigned i = 0; i < nconn; i++)
		xsc_close(wc[i]);
	xsc_close(c);
	return rc;
}

/* ---------------------------------------------------------------- transactions */

#define TXN_WRITES 10
#define TXN_ATTEMPTS 100

/*
 * TRANSACTION_START, TXN_WRITES overwrites of base/k<j>, commit; a commit
 * answered EAGAIN is retried from the start (and counted) as clients do.
 * Thread-safe: a failure is described in err, not g_err.
 */
static int txn10(struct xsc *c, struct xsc_msg *m, const char *base, unsigned long seq,
		 unsigned long *eagain, char *err, size_t errsz)
{
	char val[32];

	snprintf(val, sizeof(val), "%016lu", seq % 10000000000000000ul);
	for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
		char *end;
		unsigned long id;

		if (xsc_call(c, XS_TRANSACTION_START, 0, "", 1, m, opt.timeout_ms) < 0) {
			snprintf(err, errsz, "TRANSACTION_START: %s", strerror(errno));
			return -1;
		}
		if (m->hdr.type != XS_TRANSACTION_START) {
			snprintf(err, errsz, "TRANSACTION_START -> %s %.60s", type_str(m->hdr.type),
				 m->hdr.type == XS_ERROR ? m->payload : "");
			return -1;
		}
		id = strtoul(m->payload, &end, 10);
		if (end == m->payload || id == 0 || id > UINT32_MAX) {
			snprintf(err, errsz, "TRANSACTION_START: bad id '%.20s'", m->payload);
			return -1;
		}
		for (unsigned k = 0; k < TXN_WRITES; k++) {
			char path[128], buf[256];
			int len;

			snprintf(path, sizeof(path), "%s/k%u", base, k);
			len = build(buf, sizeof(buf), path, val, 16);
			if (xsc_call(c, XS_WRITE, (uint32_t)id, buf, (size_t)len, m, opt.timeout_ms) < 0) {
				snprintf(err, errsz, "WRITE %s in transaction: %s", path, strerror(errno));
				return -1;
			}
			if (m->hdr.type != XS_WRITE) {
				snprintf(err, errsz, "WRITE %s in transaction -> %s %.60s", path,
					 type_str(m->hdr.type), m->hdr.type == XS_ERROR ? m->payload : "");
				return -1;
			}
		}
		if (xsc_call(c, XS_TRANSACTION_END, (uint32_t)id, "T", 2, m, opt.timeout_ms) < 0) {
			snprintf(err, errsz, "TRANSACTION_END: %s", strerror(errno));
			return -1;
		}
		if (m->hdr.type == XS_TRANSACTION_END)
			return 0;
		if (m->hdr.type != XS_ERROR || strcmp(m->payload, "EAGAIN") != 0) {
			snprintf(err, errsz, "TRANSACTION_END -> %s %.60s", type_str(m->hdr.type),
				 m->hdr.type == XS_ERROR ? m->payload : "");
			return -1;
		}
		(*eagain)++;
	}
	snprintf(err, errsz, "transaction on %s still EAGAIN after %d attempts", base, TXN_ATTEMPTS);
	return -1;
}

/* Serial transactions on one connection. */
/*
 * opt.reps runs of n serial transactions (sequence numbers from seq0); the
 * median rate, the daemon CPU and the client CPU (f_cli, F_COUNT for none)
 * per transaction go to the figures.
 */
static int txn_serial_reps(struct xst_daemon *d, int dk, struct xsc *c, struct xsc_msg *m,
			   unsigned n, unsigned long seq0, unsigned long *eagain, int f_rate,
			   int f_cpu, int f_cli, const char *what)
{
	double tr[MAX_REPS], cli_us = 0;
	long long ticks = 0;
	char err[256];

	for (int rep = 0; rep < opt.reps; rep++) {
		long long k0 = xst_daemon_cpu_ticks(d);
		double t0 = xsb_now_s(), c0 = self_cpu_us();

		for (unsigned i = 0; i < n; i++) {
			if (txn10(c, m, "/bench/tx", seq0 + (unsigned long)rep * n + i, eagain, err,
				  sizeof(err)) < 0) {
				fail("%s", err);
				return -1;
			}
			if ((i & 63) == 0 && over_cap(t0, i, n, what))
				return -1;
		}
		tr[rep] = rate(n, xsb_now_s() - t0);
		cli_us += self_cpu_us() - c0;
		ticks = k0 < 0 || ticks < 0 ? -1 : ticks + xst_daemon_cpu_ticks(d) - k0;
		if (opt.verbose)
			progress("    %s, rep %d: %.0f transactions/s, %lu EAGAIN so far\n", what, rep,
				 tr[rep], *eagain);
	}
	fig_set(f_rate, dk, median(tr, opt.reps));
	cpu_fig(f_cpu, dk, ticks, (double)n * opt.reps, what);
	if (f_cli != F_COUNT)
		fig_set(f_cli, dk, cli_us / ((double)n * opt.reps));
	return 0;
}

static int grp_txn(struct xst_daemon *d, int dk)
{
	unsigned n = scaled(2000);
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = connect_to(d);
	unsigned long eagain = 0;
	int rc = -1;

	if (!c || !m)
		goto out;
	/* The nodes exist beforehand: each transaction overwrites the same ten. */
	if (pipe_run(c, XS_WRITE, "/bench/tx/k%u", 0, 16, 0, TXN_WRITES) < 0)
		goto out;
	if (txn_serial_reps(d, dk, c, m, n, 0, &eagain, F_TXN_SERIAL, F_CPU_TXN, F_CLI_TXN,
			    "serial transactions") < 0)
		goto out;
	fig_set(F_TXN_SERIAL_EAGAIN, dk, (double)eagain);
	/* The same again once the store holds 100,000 more nodes: a commit should not notice. */
	if (pipeline(c, 0, scaled(100000), 32, gen_big_store, NULL) < 0)
		goto out;
	if (txn_serial_reps(d, dk, c, m, n, (unsigned long)opt.reps * n, &eagain, F_TXN_SERIAL_BIG,
			    F_CPU_TXN_BIG, F_COUNT, "serial transactions, big store") < 0)
		goto out;
	rc = 0;
out:
	xsc_close(c);
	free(m);
	return rc;
}

/* 16 connections, one thread each, committing transactions on disjoint subtrees. */
#define TXN_THREADS 16

struct txn_thread {
	pthread_t tid;
	const char *socket;
	pthread_barrier_t *bar;
	unsigned idx, n;
	unsigned long seq0, eagain;
	int failed;
	char err[256];
};

static void *txn_main(void *arg)
{
	struct txn_thread *t = arg;
	struct xsc_msg *m = malloc(sizeof(*m));
	struct xsc *c = xsc_open(t->socket);
	char base[64];

	if (!c || !m) {
		t->failed = 1;
		snprintf(t->err, sizeof(t->err), "connect: %s", strerror(errno));
	}
	snprintf(base, sizeof(base), "/bench/tc/t%02u", t->idx);
	/* Every thread passes both barriers, failed or not, so nobody waits forever. */
	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->n && !t->failed; i++)
		if (txn10(c, m, base, t->seq0 + i, &t->eagain, t->err, sizeof(t->err)) < 0)
			t->failed = 1;
	pthread_barrier_wait(t->bar);
	xsc_close(c);
	free(m);
	return NULL;
}

static int grp_txnconc(struct xst_daemon *d, int dk)
{
	unsigned n = scaled(300);
	double tr[MAX_REPS], cli_us = 0, cpu[2];
	struct txn_thread th[TXN_THREADS];
	pthread_barrier_t bar;
	struct xsc *c = connect_to(d);
	unsigned long eagain = 0;
	long long ticks = 0;
	int rc = -1;

	if (!c)
		goto out;
	/* Each thread's subtree exists beforehand; no node is shared between threads. */
	for (unsigned t = 0; t < TXN_THREADS; t++) {
		char fmt[64];

		snprintf(fmt, sizeof(fmt), "/bench/tc/t%02u/k%%u", t);
		if (pipe_run(c, XS_WRITE, fmt, 0, 16, 0, TXN_WRITES) < 0)
			goto out;
	}
	for (int rep = 0; rep < opt.reps; rep++) {
		double t[2];
		long long k[2];
		int failed = 0;

		pthread_barrier_init(&bar, NULL, TXN_THREADS + 1);
		for (unsigned i = 0; i < TXN_THREADS; i++) {
			th[i] = (struct txn_thread){.socket = d->socket, .bar = &bar, .idx = i, .n = n,
						    .seq0 = (unsigned long)rep * n};
			if (pthread_create(&th[i].tid, NULL, txn_main, &th[i]) != 0) {
				/* Cannot happen in practice; the barrier would deadlock, so stop. */
				fprintf(stderr, "xsbench: pthread_create failed\n");
				kill(d->pid, SIGKILL);
				exit(2);
			}
		}
		for (int j = 0; j < 2; j++) {
			pthread_barrier_wait(&bar);
			t[j] = xsb_now_s();
			k[j] = xst_daemon_cpu_ticks(d);
			cpu[j] = self_cpu_us();
		}
		for (unsigned i = 0; i < TXN_THREADS; i++) {
			pthread_join(th[i].tid, NULL);
			eagain += th[i].eagain;
			if (th[i].failed && !failed) {
				failed = 1;
				fail("connection %u: %s", i, th[i].err);
			}
		}
		pthread_barrier_destroy(&bar);
		if (failed)
			goto out;
		tr[rep] = rate((double)n * TXN_THREADS, t[1] - t[0]);
		cli_us += cpu[1] - cpu[0];
		ticks = k[0] < 0 || ticks < 0 ? -1 : ticks + k[1] - k[0];
		if (opt.verbose)
			progress("    rep %d: %.0f commits/s, %lu EAGAIN so far\n", rep, tr[rep], eagain);
	}
	fig_set(F_TXN_CONC, dk, median(tr, opt.reps));
	fig_set(F_TXN_CONC_EAGAIN, dk, (double)eagain);
	cpu_fig(F_CPU_TXN_CONC, dk, ticks, (double)n * TXN_THREADS * opt.reps,
		"concurrent transactions");
	fig_set(F_CLI_TXN_CONC, dk, cli_us / ((double)n * TXN_THREADS * opt.reps));
	rc = 0;
out:
	xsc_close(c);
	return rc;
}

/* ---------------------------------------------------------------- domains */

/*
 * Issue 4's scale workload (xsbench_domains.c): scaled(--domains) simulated
 * guests introduced at once, each bringing up a vif with a dom0 backend, a
 * dom0 prober timing one READ per millisecond meanwhile; then all destroyed
 * at once. Any failure of a handshake is an error: this is a large host's
 * normal load. Our daemon only: the reference daemons' rings are idle pages.
 */
static int grp_domstorm(struct xst_daemon *d, int dk)
{
	struct xsb_dom_cfg cfg = {d, scaled(opt.domains), 1, 1, opt.timeout_ms, opt.loop_cap_s,
				  opt.verbose};
	struct xsb_dom_res *r = calloc(1, sizeof(*r));
	double n = cfg.ndomains;
	int rc = -1;

	if (!r) {
		fail("out of memory");
		return -1;
	}
	if (xsb_domains_run(&cfg, r) < 0) {
		fail("%s", r->err);
		goto out;
	}
	progress("    %u domains: %lu requests, %lu events, %u commit EAGAIN; client loop CPU"
		 " %.2f s of %.2f s; dom0 READs sampled %u\n",
		 cfg.ndomains, r->requests, r->events, r->txn_eagain, r->client_cpu_s, r->storm_s,
		 r->lat_n);
	progress("    RSS %ld -> %ld KiB (anon %ld -> %ld), tdb %ld -> %ld KiB; after destroy and"
		 " clean-up RSS %ld KiB (anon %ld); %u @releaseDomain events; backend clean-up %.0f ms\n",
		 r->rss0, r->rss1, r->anon0, r->anon1, r->file0, r->file1, r->rss2, r->anon2,
		 r->release_events, r->cleanup_s * 1e3);
	fig_set(F_DS_CREATE, dk, r->create_s * 1e3);
	fig_set(F_DS_STORM, dk, r->storm_s * 1e3);
	fig_set(F_DS_TOOLSTACK, dk, r->toolstack_s * 1e3);
	fig_set(F_DS_HS_P50, dk, r->hs_p50_ms);
	fig_set(F_DS_HS_P99, dk, r->hs_p99_ms);
	fig_set(F_DS_LAT_IDLE, dk, r->idle_p50_us);
	fig_set(F_DS_LAT_P50, dk, r->lat_p50_us);
	fig_set(F_DS_LAT_P99, dk, r->lat_p99_us);
	fig_set(F_DS_LAT_MAX, dk, r->lat_max_us);
	cpu_fig(F_DS_CPU, dk, r->storm_ticks, n, "domain storm");
	cpu_fig(F_DS_CPU_REQ, dk, r->storm_ticks, (double)r->requests, "domain storm requests");
	fig_set(F_DS_MEM, dk, (double)((r->rss1 + r->file1) - (r->rss0 + r->file0)) / n);
	if (r->anon0 >= 0 && r->anon1 >= 0)
		fig_set(F_DS_MEM_ANON, dk, (double)((r->anon1 + r->file1) - (r->anon0 + r->file0)) / n);
	fig_set(F_DS_DESTROY_ONE, dk, r->destroy_one_ms);
	fig_set(F_DS_DESTROY, dk, r->destroy_s * 1e3);
	fig_set(F_DS_DESTROY_P99, dk, r->destroy_lat_p99_us);
	fig_set(F_DS_LEAK, dk, (double)(r->nodes_after - r->nodes_before));
	if (r->nodes_after != r->nodes_before) {
		char note[96];

		snprintf(note, sizeof(note), "%ld nodes before the storm, %ld after the clean-up",
			 r->nodes_before, r->nodes_after);
		fig_state(F_DS_LEAK, dk, ST_ERROR, note);
		fail("%s", note);
		goto out;
	}
	rc = 0;
out:
	free(r);
	return rc;
}

/*
 * The dom0 side of the same creations, which every daemon can serve over
 * its socket: the toolstack's transactions and INTRODUCEs and the backend
 * up to waiting for its frontend. Our daemon introduces only domains that
 * exist, so there they are registered first, untimed; on the reference
 * daemons INTRODUCE maps an idle page (their shim).
 */
static int grp_domcreate(struct xst_daemon *d, int dk)
{
	struct xsb_dom_cfg cfg = {d, scaled(opt.domains), 0, dk == D_OURS, opt.timeout_ms,
				  opt.loop_cap_s, opt.verbose};
	struct xsb_dom_res *r = calloc(1, sizeof(*r));
	double n = cfg.ndomains;
	int rc = -1;

	if (!r) {
		fail("out of memory");
		return -1;
	}
	if (xsb_domains_run(&cfg, r) < 0) {
		/*
		 * A reference daemon that cannot do it under its shim (oxenstored
		 * stops answering INTRODUCE once enough domains exist) is reported,
		 * not counted as an error of the run; ours failing is one.
		 */
		if (dk != D_OURS) {
			for (int f = 0; f < F_COUNT; f++)
				if (figs[f].grp == G_DOMCREATE)
					fig_state(f, dk, ST_NA, r->err);
			progress("    %s\n", r->err);
			rc = 0;
			goto out;
		}
		fail("%s", r->err);
		goto out;
	}
	progress("    %u domains: %lu requests, %lu events, %u commit EAGAIN; RSS %ld -> %ld KiB,"
		 " tdb %ld -> %ld KiB\n",
		 cfg.ndomains, r->requests, r->events, r->txn_eagain, r->rss0, r->rss1, r->file0,
		 r->file1);
	fig_set(F_DC_TIME, dk, r->storm_s * 1e3);
	cpu_fig(F_DC_CPU, dk, r->storm_ticks, n, "dom0 side of domain creation");
	fig_set(F_DC_LAT_P99, dk, r->lat_p99_us);
	fig_set(F_DC_MEM, dk, (double)((r->rss1 + r->file1) - (r->rss0 + r->file0)) / n);
	rc = 0;
out:
	free(r);
	return rc;
}

static int (*const grp_fn[G_COUNT])(struct xst_daemon *, int) = {
	grp_serial, grp_dirpart, grp_bigdir, grp_pipe,  grp_conc,    grp_cpu,
	grp_mem,    grp_watch,   grp_fanout, grp_wload, grp_txn, grp_txnconc,
	grp_domstorm, grp_domcreate,
};

/* ---------------------------------------------------------------- running */

/* The daemon running now, so an interrupt does not leave it behind. */
static volatile pid_t g_running_pid = -1;

static void on_signal(int sig)
{
	pid_t p = g_running_pid;

	if (p > 0)
		kill(p, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Remove a run directory of our daemon: plain files only (socket, pid, log, store). */
static void remove_flat_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char f[600];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		unlink(f);
	}
	closedir(dir);
	if (rmdir(path) < 0)
		progress("    could not remove %s: %s\n", path, strerror(errno));
}

static void run_group(enum grp g, int dk)
{
	struct xst_daemon d;
	double t0 = xsb_now_s();
	int rc, status;

	if (!xst_kind_available(dk_kind[dk])) {
		for (int f = 0; f < F_COUNT; f++)
			if (figs[f].grp == g)
				fig_state(f, dk, ST_MISSING,
					  dk == D_OURS ? "daemon not built" : "not installed");
		return;
	}
	if (dk == D_FLOOR && g != G_WATCH && g != G_FANOUT && g != G_TXN && g != G_TXNCONC) {
		for (int f = 0; f < F_COUNT; f++)
			if (figs[f].grp == g)
				fig_state(f, dk, ST_NA, "the floor runs the watch, fan-out and txn groups");
		return;
	}
	if (g == G_DOMSTORM && dk != D_OURS) {
		/* Guests speak over rings, which under their shim are idle pages. */
		for (int f = 0; f < F_COUNT; f++)
			if (figs[f].grp == g)
				fig_state(f, dk, ST_NA,
					  "simulated guest rings: our daemon only (see domcreate)");
		return;
	}
	progress("[%s] %s: ", grp_name[g], xst_kind_name(dk_kind[dk]));
	int pin = opt.pin != PIN_AUTO                                   ? opt.pin
		  : g == G_SERIAL || g == G_DIRPART || g == G_TXN ? PIN_SAME
								  : PIN_SPLIT;

	/* The daemon inherits our affinity at fork; then the client may move away. */
	if (pin != PIN_NONE)
		pin_self(cpu_daemon);
	/*
	 * The C daemon refuses permissions naming a domain it believes absent
	 * (SET_PERMS answers ENOENT), and its shim reports only dom0 unless told.
	 */
	if (g == G_DOMCREATE)
		setenv("XSSHIM_DOMAINS", "all", 1);
	rc = xst_daemon_start(&d, dk_kind[dk], NULL, NULL);
	if (g == G_DOMCREATE)
		unsetenv("XSSHIM_DOMAINS");
	if (pin == PIN_SPLIT)
		pin_self(cpu_client);
	if (rc < 0) {
		sched_setaffinity(0, sizeof(cpus_all), &cpus_all);
		progress("failed to start\n");
		for (int f = 0; f < F_COUNT; f++)
			if (figs[f].grp == g)
				fig_state(f, dk, ST_ERROR, "failed to start");
		return;
	}
	g_running_pid = d.pid;
	progress("pid %d\n", (int)d.pid);
	g_err[0] = '\0';
	rc = grp_fn[g](&d, dk);
	if (rc < 0 && !xst_daemon_alive(&d))
		snprintf(g_err + strlen(g_err), sizeof(g_err) - strlen(g_err), " (daemon died)");
	/*
	 * Our run directory outlives the stop: if the run failed or the daemon
	 * died at shutdown, its daemon.log explains, so it is kept then.
	 */
	status = xst_daemon_stop(&d, dk == D_OURS || opt.keep);
	g_running_pid = -1;
	sched_setaffinity(0, sizeof(cpus_all), &cpus_all);
	if (dk == D_OURS && status > 0 && WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
		progress("    our daemon ended with signal %d\n", WTERMSIG(status));
		if (rc == 0) {
			rc = -1;
			fail("daemon killed by signal %d", WTERMSIG(status));
		} else {
			size_t l = strlen(g_err);

			snprintf(g_err + l, sizeof(g_err) - l, ", signal %d", WTERMSIG(status));
		}
	}
	int keep = opt.keep || (dk == D_OURS && rc < 0);

	if (dk == D_OURS && !keep && d.own_dir)
		remove_flat_dir(d.dir);
	if (rc < 0) {
		progress("    ERROR: %s%s%s\n", g_err, keep ? "; run dir kept: " : "",
			 keep ? d.dir : "");
		for (int f = 0; f < F_COUNT; f++)
			if (figs[f].grp == g && figs[f].st[dk] == ST_UNSET)
				fig_state(f, dk, ST_ERROR, g_err);
	}
	if (opt.keep && rc == 0)
		progress("    run dir kept: %s\n", d.dir);
	progress("    %.1f s\n", xsb_now_s() - t0);
}

/* ---------------------------------------------------------------- report */

static void fmt_val(char *buf, size_t size, const struct fig *f, int dk)
{
	switch (f->st[dk]) {
	case ST_OK:
		if (f->v[dk] >= 1000 || strcmp(f->unit, "KiB") == 0 ||
		    strcmp(f->unit, "count") == 0 || strcmp(f->unit, "conns") == 0)
			snprintf(buf, size, "%.0f", f->v[dk]);
		else if (f->v[dk] >= 10)
			snprintf(buf, size, "%.1f", f->v[dk]);
		else if (f->v[dk] > 0 && f->v[dk] < 0.1)
			snprintf(buf, size, "%.2g", f->v[dk]); /* a tiny value, not "0.00" */
		else
			snprintf(buf, size, "%.2f", f->v[dk]);
		break;
	case ST_NA:
		snprintf(buf, size, "n/a");
		break;
	case ST_MISSING:
		snprintf(buf, size, "missing");
		break;
	case ST_ERROR:
		snprintf(buf, size, "error");
		break;
	case ST_UNSET:
		snprintf(buf, size, "-");
		break;
	}
}

static int ratio_of(const struct fig *f, int dk, int ref, double *r)
{
	if (f->st[dk] != ST_OK || f->st[ref] != ST_OK || f->v[ref] == 0)
		return 0;
	*r = f->v[dk] / f->v[ref];
	return 1;
}

static int ratio(const struct fig *f, int ref, double *r)
{
	return ratio_of(f, D_OURS, ref, r);
}

static void print_table(void)
{
	int show_ratio_c = opt.use[D_OURS] && opt.use[D_C];
	int show_ratio_ox = opt.use[D_OURS] && opt.use[D_OX];
	int show_floor = opt.use[D_FLOOR] && opt.use[D_C];

	printf("\n%-46s %-7s %-2s", "workload", "unit", "");
	for (int k = 0; k < D_N; k++)
		if (opt.use[k])
			printf(" %10s", dk_col[k]);
	if (show_ratio_c)
		printf(" %8s", "ours/C");
	if (show_ratio_ox)
		printf(" %8s", "ours/ox");
	if (show_floor)
		printf(" %8s", "floor/C");
	printf("\n");
	for (int i = 0; i < F_COUNT; i++) {
		const struct fig *f = &figs[i];
		char b[32];
		double r = 0;
		int any = 0;

		for (int k = 0; k < D_N; k++)
			any |= opt.use[k] && f->st[k] != ST_UNSET;
		if (!any)
			continue;
		printf("%-46s %-7s %-2s", f->title, f->unit, f->lower_better ? "lo" : "hi");
		for (int k = 0; k < D_N; k++)
			if (opt.use[k]) {
				fmt_val(b, sizeof(b), f, k);
				printf(" %10s", b);
			}
		if (show_ratio_c) {
			if (ratio(f, D_C, &r))
				printf(" %8.2f", r);
			else
				printf(" %8s", "-");
		}
		if (show_ratio_ox) {
			if (ratio(f, D_OX, &r))
				printf(" %8.2f", r);
			else
				printf(" %8s", "-");
		}
		if (show_floor) {
			if (ratio_of(f, D_FLOOR, D_C, &r))
				printf(" %8.2f", r);
			else
				printf(" %8s", "-");
		}
		printf("\n");
	}
	printf("(hi: higher is better, lo: lower is better; ours/X = our figure divided by X's)\n");
	if (opt.use[D_FLOOR])
		printf("(floor: bench/xsfloor, which answers with no store: the sockets' cost alone)\n");

	/* Why a cell is not a number. */
	int header = 0;

	for (int i = 0; i < F_COUNT; i++)
		for (int k = 0; k < D_N; k++) {
			const struct fig *f = &figs[i];

			if (!opt.use[k] || f->st[k] == ST_OK || f->st[k] == ST_UNSET || !f->note[k][0])
				continue;
			/* One note per group and daemon is enough. */
			int dup = 0;

			for (int j = 0; j < i; j++)
				dup |= figs[j].grp == f->grp && figs[j].st[k] == f->st[k] &&
				       strcmp(figs[j].note[k], f->note[k]) == 0;
			if (dup)
				continue;
			if (!header++)
				printf("notes:\n");
			printf("  %s, %s: %s\n", grp_name[f->grp], dk_col[k], f->note[k]);
		}
}

static void summary_value(char *buf, size_t size, const struct fig *f, int dk)
{
	if (f->st[dk] == ST_OK)
		snprintf(buf, size, "%.6g", f->v[dk]);
	else
		fmt_val(buf, size, f, dk);
}

static void print_summary(void)
{
	printf("\n");
	for (int i = 0; i < F_COUNT; i++) {
		const struct fig *f = &figs[i];
		char b[32];
		double r = 0;
		int any = 0;

		for (int k = 0; k < D_N; k++)
			any |= opt.use[k] && f->st[k] != ST_UNSET;
		if (!any)
			continue;
		printf("XSBENCH figure=%s unit=%s better=%s", f->key, f->unit,
		       f->lower_better ? "lower" : "higher");
		for (int k = 0; k < D_N; k++)
			if (opt.use[k]) {
				summary_value(b, sizeof(b), f, k);
				printf(" %s=%s", dk_key[k], b);
			}
		if (opt.use[D_OURS] && opt.use[D_C]) {
			if (ratio(f, D_C, &r))
				printf(" ours_over_c=%.4g", r);
			else
				printf(" ours_over_c=-");
		}
		if (opt.use[D_OURS] && opt.use[D_OX]) {
			if (ratio(f, D_OX, &r))
				printf(" ours_over_ox=%.4g", r);
			else
				printf(" ours_over_ox=-");
		}
		if (opt.use[D_FLOOR] && opt.use[D_C] && ratio_of(f, D_FLOOR, D_C, &r))
			printf(" floor_over_c=%.4g", r);
		printf("\n");
	}
}

/* A target that cannot be judged from the figures of this run. */
static void target_unknown(const char *name, const char *what, const char *why, int *miss)
{
	(*miss)++;
	printf("  %-7s %-58s %s\n", "UNKNOWN", what, why);
	printf("XSBENCH-TARGET target=%s result=UNKNOWN\n", name);
}

/*
 * The client's own CPU per unit bounds the rate: in these groups, pinned,
 * all its threads run on one CPU, so a daemon costing nothing would allow
 * about 1e6 / (client us) a second. The least client CPU of any daemon's run
 * is taken; it moves a little with how the daemon batches its sends, so the
 * figure is an estimate, not a proof. Not shown unpinned (--pin=none).
 */
static void client_ceiling(enum fig_id rate_f, enum fig_id cli_f, double factor)
{
	const struct fig *fr = &figs[rate_f], *fc = &figs[cli_f];
	double least = 0;

	for (int k = 0; k < D_N; k++)
		if (opt.use[k] && fc->st[k] == ST_OK && fc->v[k] > 0 && (!least || fc->v[k] < least))
			least = fc->v[k];
	if (opt.pin == PIN_NONE || !least || fr->st[D_C] != ST_OK || fr->v[D_C] <= 0)
		return;
	double ceiling = 1e6 / least, r = ceiling / fr->v[D_C];

	printf("  %-7s %-58s client alone %.1f %s: a free daemon allows about %.0f %s = %.2fx C"
	       "%s\n",
	       "", "", least, fc->unit, ceiling, fr->unit, r,
	       r >= factor ? "" : ": out of reach");
}

/*
 * PASS/MISS of one target against C: "ours <= factor * C" for a cost figure,
 * "ours >= factor * C" for a rate; a negative factor is an absolute lower
 * bound on our own figure (the creates ratio). floor_bounds: the floor's
 * figure bounds any daemon's; cli (F_COUNT: none): the client's CPU per unit
 * bounds the rate (client_ceiling).
 */
static void target(const char *name, const char *what, enum fig_id f, double factor,
		   bool floor_bounds, enum fig_id cli, int *miss)
{
	const struct fig *fg = &figs[f];
	const char *res;
	char detail[160];

	if (fg->st[D_OURS] != ST_OK) {
		res = "UNKNOWN";
		snprintf(detail, sizeof(detail), "our figure unavailable");
	} else if (factor < 0) {
		/* Absolute lower bound on our own figure. */
		double min = -factor;

		res = fg->v[D_OURS] >= min ? "PASS" : "MISS";
		snprintf(detail, sizeof(detail), "ours %.2f, need >= %.2f", fg->v[D_OURS], min);
	} else if (fg->st[D_C] != ST_OK) {
		res = "UNKNOWN";
		snprintf(detail, sizeof(detail), "C xenstored figure unavailable");
	} else {
		double limit = fg->v[D_C] * factor;

		if (fg->lower_better)
			res = fg->v[D_OURS] <= limit ? "PASS" : "MISS";
		else
			res = fg->v[D_OURS] >= limit ? "PASS" : "MISS";
		snprintf(detail, sizeof(detail), "ours %.2f, C %.2f, %s %.2f %s", fg->v[D_OURS],
			 fg->v[D_C], fg->lower_better ? "limit" : "need >=", limit, fg->unit);
	}
	if (strcmp(res, "PASS") != 0)
		(*miss)++;
	printf("  %-7s %-58s %s\n", res, what, detail);
	/*
	 * Where the floor ran, and each reply or event must go out alone (serial
	 * clients, one event per watcher), what it reached says whether a daemon
	 * with the same socket calls could: a target the floor misses is out of
	 * reach on this host. Pipelined figures are not bounded by it (a daemon
	 * may send several messages at once; the floor does not).
	 */
	double fr;

	if (factor > 0 && floor_bounds && opt.use[D_FLOOR] && ratio_of(fg, D_FLOOR, D_C, &fr))
		printf("  %-7s %-58s floor %.2f = %.2fx C: %s\n", "", "", fg->v[D_FLOOR], fr,
		       (fg->lower_better ? fr <= factor : fr >= factor)
			       ? "within reach of a daemon"
			       : "the sockets alone miss it here");
	if (factor > 0 && cli != F_COUNT)
		client_ceiling(f, cli, factor);
	printf("XSBENCH-TARGET target=%s result=%s\n", name, res);
}

static void print_targets(void)
{
	int miss = 0;

	if (!opt.use[D_OURS])
		return;
	printf("\ntargets:\n");
	if (opt.groups & (1u << G_CPU)) {
		target("cpu_read", "daemon CPU per READ <= 1/3 of C xenstored's", F_CPU_READ, 1.0 / 3,
		       false, F_COUNT, &miss);
		target("cpu_write", "daemon CPU per WRITE <= 1/3 of C xenstored's", F_CPU_WRITE,
		       1.0 / 3, false, F_COUNT, &miss);
		target("cpu_dir", "daemon CPU per DIRECTORY <= 1/3 of C xenstored's", F_CPU_DIR,
		       1.0 / 3, false, F_COUNT, &miss);
	}
	if (opt.groups & (1u << G_MEM)) {
		/*
		 * The tdb pages our daemon has mapped are in its RSS and in the file
		 * both, so RSS+tdb counts them twice; anon+tdb is the memory really
		 * used, RSS+tdb an upper bound. Both are shown.
		 */
		target("mem", "memory per node (anon RSS+tdb growth) <= 0.7x C's",
		       F_MEM_ANON_PER_NODE, 0.7, false, F_COUNT, &miss);
		target("mem_upper", "memory per node (RSS+tdb growth, upper bound) <= 0.7x C's",
		       F_MEM_PER_NODE, 0.7, false, F_COUNT, &miss);
	}
	if (opt.groups & (1u << G_BIGDIR))
		/* 5% allowance: two medians of short pipelined runs differ by that much at rest. */
		target("create_big_dir", "creates in the big dir no slower than in an empty dir",
		       F_CREATE_RATIO, -0.95, false, F_COUNT, &miss);
	/* Issue 3: watches and transactions, each at least 3 times the C daemon's rate. */
	if (opt.groups & (1u << G_WATCH))
		/* Pipelined: a serial client's round trip caps the serial figure below 3x C. */
		target("watch_events", "pipelined write->event rate >= 3x C xenstored's",
		       F_WATCH_PIPE, 3, false, F_COUNT, &miss);
	if (opt.groups & (1u << G_FANOUT)) {
		const struct fig *fw = &figs[F_FAN_WATCHERS];

		/* Only the same number of watchers makes the two rates comparable. */
		if (fw->st[D_OURS] == ST_OK && fw->st[D_C] == ST_OK && fw->v[D_OURS] != fw->v[D_C])
			target_unknown("fanout", "fan-out writes/s (all events in) >= 3x C's",
				       "different watcher counts", &miss);
		else
			target("fanout", "fan-out writes/s (all events in) >= 3x C's", F_FAN_RATE, 3,
			       true, F_CLI_FAN, &miss);
	}
	if (opt.groups & (1u << G_WLOAD)) {
		target("write_many_watches", "writes/s with 100k unrelated watches >= 3x C's",
		       F_WL_LOADED, 3, false, F_COUNT, &miss);
		/* The same 5% allowance as the creates ratio: the two rates are medians of short runs. */
		target("write_many_watches_flat", "writes/s with 100k watches >= 0.95x without",
		       F_WL_RATIO, -0.95, false, F_COUNT, &miss);
	}
	/*
	 * The serial group's client shares its CPU with the daemon, so its own
	 * CPU bounds nothing there; the floor's figure does.
	 */
	if (opt.groups & (1u << G_TXN))
		target("txn_serial", "serial 10-write transactions/s >= 3x C's", F_TXN_SERIAL, 3,
		       true, F_COUNT, &miss);
	if (opt.groups & (1u << G_TXNCONC))
		target("txn_conc16", "16-connection 10-write commits/s >= 3x C's", F_TXN_CONC, 3,
		       true, F_CLI_TXN_CONC, &miss);
	printf("%d target(s) not passed\n", miss);
}

static void set_titles(void)
{
	static const struct {
		enum fig_id f;
		const char *fmt;
		unsigned n;
	} t[] = {
		{F_WRITE_SERIAL, "serial WRITE of %u new nodes", 10000},
		{F_READ_SERIAL, "serial READ of %u nodes", 10000},
		{F_DIR_SERIAL, "serial DIRECTORY, 100 children (x%u)", 10000},
		{F_DIRPART, "DIRECTORY_PART full listing of %u entries", 10000},
		{F_CREATE_EMPTY, "creates into an empty dir (%u per round)", 1000},
		{F_CREATE_BIG, "creates into a %u-entry dir (pipelined)", 10000},
		{F_CREATE_RATIO, "creates: big-dir rate / empty-dir rate", 0},
		{F_PIPE_READ, "pipelined READ, 32 in flight (x%u)", 100000},
		{F_PIPE_WRITE, "pipelined WRITE, 32 in flight (x%u)", 100000},
		{F_CONC_WRITE, "16 connections, WRITEs (x%u)", 48000},
		{F_CONC_READ, "16 connections, READs (x%u)", 48000},
		{F_CPU_READ, "daemon CPU per READ", 0},
		{F_CPU_WRITE, "daemon CPU per WRITE (overwrite)", 0},
		{F_CPU_DIR, "daemon CPU per DIRECTORY (100 children)", 0},
		{F_MEM_RSS_BEFORE, "RSS before loading %u nodes (64 B values)", 100000},
		{F_MEM_RSS_AFTER, "  RSS after loading them", 0},
		{F_MEM_FILE, "  tdb file in run dir after loading", 0},
		{F_MEM_DELTA, "  RSS+tdb growth for the nodes", 0},
		{F_MEM_PER_NODE, "  RSS+tdb growth per node", 0},
		{F_MEM_ANON_PER_NODE, "  anon RSS+tdb growth per node", 0},
		{F_WATCH_SERIAL, "watch: serial write->event (x%u)", 10000},
		{F_WATCH_LAT_MED, "  write sent -> event received, median", 0},
		{F_WATCH_LAT_P99, "  write sent -> event received, p99", 0},
		{F_WATCH_PIPE, "watch: pipelined write->event (x%u)", 100000},
		{F_CPU_WATCH, "  daemon CPU per pipelined write+event", 0},
		{F_FAN_WATCHERS, "fan-out: watcher connections (of %u)", 1000},
		{F_FAN_TIME_MED, "  one write -> all events in, median", 0},
		{F_FAN_RATE, "  serial fan-out writes (x%u)", 200},
		{F_CPU_FAN, "  daemon CPU per delivered event", 0},
		{F_CLI_FAN, "  client CPU per fan-out write", 0},
		{F_WL_REGISTER, "register %u watches on 100 conns", 100000},
		{F_WL_NONE, "pipelined WRITE, no watches", 0},
		{F_WL_LOADED, "pipelined WRITE, %u unrelated watches", 100000},
		{F_WL_RATIO, "  rate with watches / rate without", 0},
		{F_CPU_WL_NONE, "daemon CPU per WRITE, no watches", 0},
		{F_CPU_WL_LOADED, "daemon CPU per WRITE, %u watches", 100000},
		{F_TXN_SERIAL, "serial transactions of 10 WRITEs (x%u)", 2000},
		{F_TXN_SERIAL_EAGAIN, "  EAGAIN retries, all reps", 0},
		{F_CPU_TXN, "  daemon CPU per transaction", 0},
		{F_CLI_TXN, "  client CPU per transaction", 0},
		{F_TXN_SERIAL_BIG, "  the same with 100000 more nodes stored", 0},
		{F_CPU_TXN_BIG, "  daemon CPU per transaction, 100000 more nodes", 0},
		{F_TXN_CONC, "16 conns, 10-WRITE transactions (x%u)", 4800},
		{F_TXN_CONC_EAGAIN, "  EAGAIN retries, all reps", 0},
		{F_CPU_TXN_CONC, "  daemon CPU per transaction", 0},
		{F_CLI_TXN_CONC, "  client CPU per transaction (all 16)", 0},
		{F_DS_CREATE, "sim. hypervisor: create %u domains", 1000},
		{F_DS_STORM, "storm: %u domains introduced + vif up", 1000},
		{F_DS_TOOLSTACK, "  of which toolstack (last INTRODUCE)", 0},
		{F_DS_HS_P50, "  per domain INTRODUCE -> connected, p50", 0},
		{F_DS_HS_P99, "  per domain INTRODUCE -> connected, p99", 0},
		{F_DS_LAT_IDLE, "  dom0 READ every 1 ms, no storm, p50", 0},
		{F_DS_LAT_P50, "  dom0 READ every 1 ms in the storm, p50", 0},
		{F_DS_LAT_P99, "  dom0 READ every 1 ms in the storm, p99", 0},
		{F_DS_LAT_MAX, "  dom0 READ every 1 ms in the storm, max", 0},
		{F_DS_CPU, "  daemon CPU per domain (storm)", 0},
		{F_DS_CPU_REQ, "  daemon CPU per request (storm)", 0},
		{F_DS_MEM, "  RSS+tdb growth per live domain", 0},
		{F_DS_MEM_ANON, "  anon RSS+tdb growth per live domain", 0},
		{F_DS_DESTROY_ONE, "destroy one of them: death -> @releaseDomain", 0},
		{F_DS_DESTROY, "destroy the others (/local/domain as before)", 1000},
		{F_DS_DESTROY_P99, "  dom0 READ every 1 ms meanwhile, p99", 0},
		{F_DS_LEAK, "  nodes left after backend clean-up", 0},
		{F_DC_TIME, "dom0 side of %u creations (socket)", 1000},
		{F_DC_CPU, "  daemon CPU per domain", 0},
		{F_DC_LAT_P99, "  dom0 READ every 1 ms meanwhile, p99", 0},
		{F_DC_MEM, "  RSS+tdb growth per introduced domain", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* The domain groups count --domains, not their own constant. */
		unsigned n = t[i].f >= F_DS_CREATE ? opt.domains : t[i].n;

		snprintf(figs[t[i].f].title, sizeof(figs[t[i].f].title), t[i].fmt, scaled(n));
	}
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: xsbench [--quick] [--scale=F] [--reps=N] [--daemons=ours,c,ox,floor]\n"
		"               [--only=GROUP,...] [--tmpdir=DIR] [--timeout=SEC]\n"
		"               [--mem-layout=flat|tree] [--pin=auto|none|same|split] [--keep] [-v]\n"
		"               [--domains=N]\n"
		"Runs every workload group on a fresh daemon of each kind and prints a table,\n"
		"one 'XSBENCH figure=...' line per figure and the PASS/MISS targets.\n"
		"  --quick         counts x0.1 (a smoke run of a few seconds per daemon)\n"
		"  --scale=F       multiply every count by F\n"
		"  --reps=N        repetitions of the short workloads, median reported (default 3)\n"
		"  --daemons=LIST  ours, c (C xenstored), ox (oxenstored), floor (bench/xsfloor:\n"
		"                  answers with no store, for the watch, fan-out and txn groups,\n"
		"                  to show what the sockets alone allow); default all four\n"
		"  --only=LIST     groups: serial dirpart bigdir pipeline concurrent cpu memory\n"
		"                  watch fanout watchload txn txnconc domstorm domcreate;\n"
		"                  watches = the three watch groups, txns = the two\n"
		"                  transaction groups, domains = domstorm and domcreate\n"
		"  --domains=N     domains of the domain groups (default 1000, scaled too)\n"
		"  --tmpdir=DIR    run directories (default /dev/shm, a tmpfs like /var/run)\n"
		"  --mem-layout    flat: /bench/mem/nNNNNNN (default); tree: /bench/mem/dNNN/nNN\n"
		"  --keep          keep the run directories (store file, daemon.log) afterwards\n"
		"  --pin=MODE      CPU placement: same (client and daemon on one CPU), split (two\n"
		"                  CPUs), none, auto (default: same for serial, dirpart, txn and\n"
		"                  the watch group's latency phase, split otherwise)\n"
		"Our daemon is $XST_DAEMON or the build's daemon/xenstored.\n");
}

static int parse_list(const char *arg, const char *const *names, int count, unsigned *mask)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	*mask = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k < count && strcmp(tok, names[k]) != 0; k++)
			;
		if (k == count) {
			fprintf(stderr, "xsbench: unknown name '%s'\n", tok);
			return -1;
		}
		*mask |= 1u << k;
	}
	return 0;
}

/* --only: group names and the aliases for several groups. */
static int parse_groups(const char *arg, unsigned *mask)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	*mask = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned one;
		size_t k;

		for (k = 0; k < sizeof(grp_alias) / sizeof(grp_alias[0]); k++)
			if (strcmp(tok, grp_alias[k].name) == 0)
				break;
		if (k < sizeof(grp_alias) / sizeof(grp_alias[0])) {
			*mask |= grp_alias[k].mask;
			continue;
		}
		if (parse_list(tok, grp_name, G_COUNT, &one) < 0)
			return -1;
		*mask |= one;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(opt.tmpdir, sizeof(opt.tmpdir), "%s",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp"));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		unsigned mask;

		if (strcmp(a, "--quick") == 0) {
			opt.scale = 0.1;
		} else if (strncmp(a, "--scale=", 8) == 0) {
			opt.scale = atof(a + 8);
			if (opt.scale <= 0 || opt.scale > 10) {
				fprintf(stderr, "xsbench: --scale must be in (0, 10]\n");
				return 2;
			}
		} else if (strncmp(a, "--reps=", 7) == 0) {
			opt.reps = atoi(a + 7);
			if (opt.reps < 1 || opt.reps > MAX_REPS) {
				fprintf(stderr, "xsbench: --reps must be 1..%d\n", MAX_REPS);
				return 2;
			}
		} else if (strncmp(a, "--daemons=", 10) == 0) {
			if (parse_list(a + 10, dk_key, D_N, &mask) < 0)
				return 2;
			for (int k = 0; k < D_N; k++)
				opt.use[k] = !!(mask & (1u << k));
		} else if (strncmp(a, "--only=", 7) == 0) {
			if (parse_groups(a + 7, &opt.groups) < 0)
				return 2;
		} else if (strncmp(a, "--tmpdir=", 9) == 0) {
			snprintf(opt.tmpdir, sizeof(opt.tmpdir), "%s", a + 9);
		} else if (strncmp(a, "--timeout=", 10) == 0) {
			opt.timeout_ms = atoi(a + 10) * 1000;
			if (opt.timeout_ms <= 0) {
				fprintf(stderr, "xsbench: bad --timeout\n");
				return 2;
			}
		} else if (strncmp(a, "--mem-layout=", 13) == 0) {
			if (strcmp(a + 13, "tree") != 0 && strcmp(a + 13, "flat") != 0) {
				fprintf(stderr, "xsbench: --mem-layout is flat or tree\n");
				return 2;
			}
			opt.mem_tree = strcmp(a + 13, "tree") == 0;
		} else if (strncmp(a, "--pin=", 6) == 0) {
			unsigned k;

			for (k = 0; k < 4 && strcmp(a + 6, pin_name[k]) != 0; k++)
				;
			if (k == 4) {
				fprintf(stderr, "xsbench: --pin is auto, none, same or split\n");
				return 2;
			}
			opt.pin = (int)k;
		} else if (strncmp(a, "--domains=", 10) == 0) {
			opt.domains = (unsigned)atoi(a + 10);
			if (opt.domains < 1 || opt.domains > 30000) {
				fprintf(stderr, "xsbench: --domains must be 1..30000\n");
				return 2;
			}
		} else if (strcmp(a, "--keep") == 0) {
			opt.keep = 1;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			opt.verbose = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/*
	 * The fan-out group holds 1,000 watcher sockets; the daemons, started
	 * by us, inherit the limit too. Raised within the hard limit only.
	 */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
			rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	/* xst_daemon makes its run directories under $TMPDIR. */
	setenv("TMPDIR", opt.tmpdir, 1);
	/* The floor server is built beside this program. */
	if (!getenv("XST_FLOOR")) {
		char self[4096];
		ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 16);

		if (l > 0) {
			self[l] = '\0';
			char *slash = strrchr(self, '/');

			if (slash) {
				strcpy(slash + 1, "xsfloor");
				setenv("XST_FLOOR", self, 1);
			}
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	set_titles();
	pin_init();

	double t0 = xsb_now_s();

	progress("xsbench: scale %g, %d reps, run dirs in %s, pin %s (daemon CPU %d, client CPU %d),"
		 " daemons:", opt.scale, opt.reps, opt.tmpdir, pin_name[opt.pin], cpu_daemon,
		 cpu_client);
	for (int k = 0; k < D_N; k++)
		if (opt.use[k])
			progress(" %s%s", xst_kind_name(dk_kind[k]),
				 xst_kind_available(dk_kind[k]) ? "" : " (missing)");
	progress("\n");
	for (int g = 0; g < G_COUNT; g++) {
		if (!(opt.groups & (1u << g)))
			continue;
		for (int k = 0; k < D_N; k++)
			if (opt.use[k])
				run_group(g, k);
	}
	progress("xsbench: %.0f s in all\n", xsb_now_s() - t0);
	print_table();
	print_summary();
	print_targets();
	/* A daemon failing under load fails the run; missed targets and missing daemons do not. */
	int errors = 0;

	for (int f = 0; f < F_COUNT; f++)
		for (int k = 0; k < D_N; k++)
			errors += opt.use[k] && figs[f].st[k] == ST_ERROR;
	if (errors)
		printf("xsbench: %d figure(s) in error, see the notes above\n", errors);
	return errors ? 1 : 0;
}

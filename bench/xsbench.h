/* What xsbench's parts share: options, daemon kinds, the figures, the wire client and the workload groups. */
#ifndef XS_BENCH_XSBENCH_H
#define XS_BENCH_XSBENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/xst_daemon.h"

struct xst_wire;
struct xst_msg;

/* ---------------------------------------------------------------- daemons (xsbench_daemons.c) */

/*
 * The floor is not a XenStore: bench/xsfloor answers with no store (see its
 * header), so its figures are what the sockets alone allow on this host.
 */
enum xsb_dk { D_OURS, D_C, D_OX, D_FLOOR, D_N };

extern const enum xst_kind xsb_dk_kind[D_N];
extern const char *const xsb_dk_key[D_N]; /* option and summary names */
extern const char *const xsb_dk_col[D_N]; /* table column headers */

/* ---------------------------------------------------------------- options (xsbench.c) */

#define XSB_MAX_REPS 9

/* CPU placement of client and daemon (--pin; see xsbench_daemons.c). */
enum { PIN_AUTO, PIN_NONE, PIN_SAME, PIN_SPLIT };

struct xsb_opts {
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
	char baseline[256]; /* attacks group: our daemon built before accounting (--baseline), or "" */
};

extern struct xsb_opts xsb_opt;

/* A workload count multiplied by --scale (at least 1). */
unsigned xsb_scaled(unsigned n);

/* ---------------------------------------------------------------- groups and figures */

/* The groups --only names (xsbench.c); the figures each measures (xsbench_report.c). */

enum xsb_grp {
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
	G_ATTACKS,
	G_CLIENT,
	G_RECOVERY,
	G_LIVEUPDATE,
	G_COUNT
};

extern const char *const xsb_grp_name[G_COUNT];

/*
 * The attacks (xsbench_attacks.c): idle, then each attack, each with the same
 * figures: dom0 READ latency p50, p99, max, and the daemon's anon RSS before,
 * during (the highest seen) and after.
 */
#define XSB_ATK_N 9
enum { XSB_AF_P50, XSB_AF_P99, XSB_AF_MAX, XSB_AF_ANON0, XSB_AF_ANON1, XSB_AF_ANON2, XSB_ATK_FIGS };
#define XSB_ATK_FIG(attack, k) ((enum xsb_fig_id)(F_ATK_FIRST + (attack) * XSB_ATK_FIGS + (k)))

/*
 * The recovery group (xsbench_recovery.c): per case (clean stop, kill -9
 * under load, kill -9 amid a big RM at two points) the same figures.
 */
#define XSB_RC_CASES 4
enum { XSB_RF_READ, XSB_RF_WRITE, XSB_RF_LOG, XSB_RF_STEADY, XSB_RF_PEAK, XSB_RF_RATIO, XSB_RC_FIGS };
#define XSB_RC_FIG(c, k) ((enum xsb_fig_id)(F_RC_FIRST + (c) * XSB_RC_FIGS + (k)))

enum xsb_fig_id {
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
	F_TXN_FLOOR_PAIRED,
	F_TXN_FLOOR_BEYOND,
	F_TXN_FLOOR_ROOM,
	F_TXN_CONC,
	F_TXN_CONC_FLOOR_PAIRED,
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
	/* The attacks group: XSB_ATK_FIGS figures per attack, set up by xsb_atk_figs_init. */
	F_ATK_FIRST,
	F_ATK_LAST = F_ATK_FIRST + XSB_ATK_N * XSB_ATK_FIGS - 1,
	F_ATK_TRIES_MED,
	F_ATK_TRIES_MAX,
	F_ATK_CPU,
	F_ATK_CPU_BEFORE,
	F_ATK_CPU_RATIO,
	/* The client-library group. */
	F_CL_SOCK_1,
	F_CL_SOCK_8,
	F_CL_SOCK_32,
	F_CL_RING_1,
	F_CL_RING_8,
	F_CL_RING_32,
	F_CL_LIBXS,
	F_CL_RING_OVER_LIBXS,
	F_CL_CPU_SOCK,
	F_CL_CPU_RING,
	F_CL_CPU_LIBXS,
	F_CL_CPU_RING_OVER_SOCK,
	F_CL_WATCH_SOCK_MED,
	F_CL_WATCH_SOCK_P99,
	F_CL_WATCH_RING_MED,
	F_CL_WATCH_RING_P99,
	/* The recovery group: the store, then XSB_RC_FIGS figures per case (xsb_rc_figs_init). */
	F_RC_NODES,
	F_RC_BUILD,
	F_RC_FILE,
	F_RC_RM,
	F_RC_RM_HWM,
	F_RC_FIRST,
	F_RC_LAST = F_RC_FIRST + XSB_RC_CASES * XSB_RC_FIGS - 1,
	/* The live update group. */
	F_LU_NODES,
	F_LU_GUESTS,
	F_LU_TIME,
	F_LU_WALK,
	F_LU_READ_MAX,
	F_LU_READ_WORST,
	F_LU_W_READ_MAX,
	F_LU_W_READ_WORST,
	F_LU_W_WRITE_MAX,
	F_COUNT
};

enum xsb_fst { ST_UNSET, ST_OK, ST_NA, ST_MISSING, ST_ERROR };

struct xsb_fig {
	const char *key;
	const char *unit;
	int lower_better; /* cost figures (CPU, memory); rates are higher-better */
	enum xsb_grp grp;
	char title[64];
	double v[D_N];
	enum xsb_fst st[D_N];
	char note[D_N][96];
};

extern struct xsb_fig xsb_figs[F_COUNT];

void xsb_fig_set(enum xsb_fig_id f, int dk, double v);
void xsb_fig_state(enum xsb_fig_id f, int dk, enum xsb_fst st, const char *note);
/* Titles carry the scaled counts: set once the options are known. */
void xsb_set_titles(void);
void xsb_print_table(void);
void xsb_print_summary(void);
void xsb_print_targets(void);
/* Prints and returns the number of figures in error. */
int xsb_print_errors(void);
/* One target's verdict (PASS, MISS, UNKNOWN) in the targets' format; anything but PASS counts in *miss. */
void xsb_target_result(const char *name, const char *what, const char *res, const char *detail,
		       int *miss);

/* ---------------------------------------------------------------- running (xsbench_daemons.c) */

/* One workload group against one running daemon: 0, or -1 with xsb_err set. */
typedef int xsb_group_fn(struct xst_daemon *d, int dk);

/* Before any daemon starts: run directories, the floor's path, signals, CPU placement. */
void xsb_daemons_setup(void);
/* The CPUs daemon and client are placed on. */
extern int xsb_cpu_daemon, xsb_cpu_client;
/* Within a group: place the client for its serial (1) or pipelined (0) phase. */
void xsb_pin_phase(int serial);
/* Run group g on a fresh daemon of kind dk with fn, recording its figures or why there are none. */
void xsb_run_group(enum xsb_grp g, int dk, xsb_group_fn *fn);
/* Remove a run directory of our daemon (plain files only). */
void xsb_remove_run_dir(const char *path);
/* Allocated size of the *.tdb files in the daemon's run directory, KiB. */
long xsb_tdb_files_kb(const struct xst_daemon *d);
/* RssAnon of the daemon, KiB, or -1. */
long xsb_rss_anon_kb(const struct xst_daemon *d);
/* Within a group: start our daemon from another binary, placed as the group's daemon is. */
int xsb_start_other(struct xst_daemon *d, const char *bin);
/* The floor beside our daemon, on our daemon's CPU (the paired transaction rounds). */
int xsb_start_floor(struct xst_daemon *d);
/* Within a group: our daemon, stopped by xst_daemon_stop_keep_hyp, started again in its run directory. */
int xsb_restart_ours(struct xst_daemon *d);
/* RLIMIT_NOFILE raised for n simulated domains (3 descriptors each, and some): 0, or -1 with errno. */
int xsb_raise_nofile(unsigned n);

/* ---------------------------------------------------------------- the client (xsbench_client.c) */

/* The last failure of the running workload (of this thread), shown next to its figures. */
extern __thread char xsb_err[160];
void __attribute__((format(printf, 1, 2))) xsb_fail(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) xsb_progress(const char *fmt, ...);

/* Monotonic time in seconds; sleep for s seconds. */
double xsb_now_s(void);
void xsb_sleep_s(double s);

double xsb_median(double *v, int n);
double xsb_quantile(double *v, size_t n, double p);
double xsb_rate(double count, double secs);

const char *xsb_type_str(uint32_t t);
int xsb_build(char *buf, size_t size, const char *path, const char *value, size_t vlen);
/*
 * The client is the raw wire (tests/lib/xst_wire.h): the benchmarks measure
 * daemons, with their own bytes and a kernel client's pipelining, and no
 * library in between. A request and its reply: the next message that is
 * not a watch event (events met are dropped); 0, or -1 with errno.
 */
int xsb_exchange(struct xst_wire *c, uint32_t type, uint32_t tx, const void *payload, size_t len,
		 struct xst_msg *m, int timeout_ms);
/*
 * WATCH path token, then its reply and its initial event, in either order
 * (oxenstored fires the event before it answers). 0, or -1 with errno
 * (EPROTO: anything else came, in m).
 */
int xsb_watch(struct xst_wire *c, const char *path, const char *token, struct xst_msg *m,
	      int timeout_ms);
int xsb_call(struct xst_wire *c, uint32_t type, const char *payload, int len, struct xst_msg *m);
int xsb_write(struct xst_wire *c, const char *path, const char *value, size_t vlen,
	      struct xst_msg *m);
unsigned xsb_count_strings(const struct xst_msg *m);
int xsb_over_cap(double t0, unsigned long done, unsigned long total, const char *what);
struct xst_wire *xsb_connect(const struct xst_daemon *d);

/*
 * A client thread of the concurrent groups, the first member of the group's
 * own thread struct. Each thread has its own connection and passes every
 * barrier even after a failure, so that none waits forever.
 */
struct xsb_thread {
	pthread_t tid;
	const char *socket;
	pthread_barrier_t *bar;
	unsigned idx, n;
	int failed;
	char err[256];
};

void xsb_thread_start(struct xsb_thread *t, void *(*fn)(void *), void *arg,
		      const struct xst_daemon *d);
/* In the thread: its connection and *m, a message buffer; failed and err set if either is missing. */
struct xst_wire *xsb_thread_connect(struct xsb_thread *t, struct xst_msg **m);
/* In the thread, at its end: the last barrier, then its connection and buffer freed. */
void xsb_thread_finish(struct xsb_thread *t, struct xst_wire *c, struct xst_msg *m);
/* Join count threads, each `size` bytes from th on; the first failure goes to xsb_err; 0 or -1. */
int xsb_threads_join(void *th, size_t size, unsigned count);

/* Pipelined requests, generated by index: any payload up to the protocol's 4096 bytes. */
#define XSB_PREQ_MAX 4096

struct xsb_preq {
	uint32_t type;
	uint32_t tx;    /* transaction id (0 unless the generator sets it) */
	int expect_len; /* a READ reply's length to check, or -1 */
	size_t len;
	char buf[XSB_PREQ_MAX];
};

typedef int (*xsb_gen_fn)(void *ctx, unsigned long i, struct xsb_preq *r);

int xsb_pipeline(struct xst_wire *c, unsigned long start, unsigned long n, unsigned window,
		 xsb_gen_fn gen, void *ctx);
/* The same, with error replies counted in *refused instead of failing (an attacker's stream). */
int xsb_pipeline_tolerant(struct xst_wire *c, unsigned long start, unsigned long n, unsigned window,
			  xsb_gen_fn gen, void *ctx, unsigned long *refused);
int xsb_pipe_run(struct xst_wire *c, uint32_t type, const char *fmt, unsigned mod, unsigned vlen,
		 unsigned long start, unsigned long n);
int xsb_gen_node64(const char *base, bool tree, unsigned long i, struct xsb_preq *r);

double xsb_self_cpu_us(void);
void xsb_cpu_fig(enum xsb_fig_id f, int dk, long long ticks, double units, const char *what);
/*
 * Daemon CPU per request (us) of pipelined requests from gen (32 in flight),
 * run until enough requests and clock ticks are in for a ~1% reading.
 */
int xsb_cpu_per_req_gen(struct xst_daemon *d, struct xst_wire *c, xsb_gen_fn gen, void *ctx,
			const char *what, double *us);
/* The same for one request type over a path pattern, as xsb_pipe_run makes them. */
int xsb_cpu_per_req(struct xst_daemon *d, struct xst_wire *c, uint32_t type, const char *fmt,
		    unsigned mod, unsigned vlen, double *us);

/*
 * A dom0 client that is not part of the workload: one READ of XSB_PROBE_PATH
 * every millisecond (on an absolute schedule, without catching up after a
 * slow one), timed, in a thread of its own. The node must exist. Its
 * writing form WRITEs XSB_PROBE_VALUE there instead.
 */
#define XSB_PROBE_PATH "/bench/probe"
#define XSB_PROBE_VALUE "probe"

struct xsb_prober {
	pthread_t th;
	int running;
	const char *socket;
	int timeout_ms;
	uint32_t type; /* XS_READ or XS_WRITE */
	int stop;
	double *lat; /* us, in the order taken (sorted by xsb_prober_stats) */
	size_t n, cap;
	char err[120];
};

/* Start it for at most max_s seconds of samples: 0, or -1 (nothing to free). */
int xsb_prober_start(struct xsb_prober *p, const char *socket, int timeout_ms, double max_s);
/* The same, writing. */
int xsb_prober_start_writes(struct xsb_prober *p, const char *socket, int timeout_ms, double max_s);
/* Stop and join; the samples stay in p->lat. */
void xsb_prober_stop(struct xsb_prober *p);
/* Stop if running, and free the samples. */
void xsb_prober_free(struct xsb_prober *p);
/* p50, p99 and max of the samples (any may be NULL); sorts them. */
void xsb_prober_stats(struct xsb_prober *p, double *p50, double *p99, double *max);

/*
 * One transaction as clients run it: READs of rbase/k<j> (j < reads), WRITEs
 * of wbase/k<j> (j < writes) with a value made from seq, commit; a commit
 * answered EAGAIN is retried from the start, each retry counted in *eagain.
 * 0 committed, 1 still EAGAIN after max_attempts, -1 an error described in
 * err (thread-safe: not xsb_err).
 */
struct xsb_txn_shape {
	const char *rbase;
	unsigned reads;
	const char *wbase;
	unsigned writes;
	unsigned max_attempts;
};
int xsb_txn_run(struct xst_wire *c, struct xst_msg *m, const struct xsb_txn_shape *s,
		unsigned long seq, unsigned long *eagain, char *err, size_t errsz);

/* ---------------------------------------------------------------- workload groups */

#define XSB_VALUE16 "0123456789abcdef"

/* xsbench_ops.c */
int xsb_grp_serial(struct xst_daemon *d, int dk);
int xsb_grp_pipe(struct xst_daemon *d, int dk);
int xsb_grp_conc(struct xst_daemon *d, int dk);
int xsb_grp_cpu(struct xst_daemon *d, int dk);
/* xsbench_dirs.c */
int xsb_grp_dirpart(struct xst_daemon *d, int dk);
int xsb_grp_bigdir(struct xst_daemon *d, int dk);
/* xsbench_memory.c */
int xsb_grp_mem(struct xst_daemon *d, int dk);
/* xsbench_watches.c */
int xsb_grp_watch(struct xst_daemon *d, int dk);
int xsb_grp_fanout(struct xst_daemon *d, int dk);
int xsb_grp_wload(struct xst_daemon *d, int dk);
/* xsbench_txn.c */
int xsb_grp_txn(struct xst_daemon *d, int dk);
int xsb_grp_txnconc(struct xst_daemon *d, int dk);
/* xsbench_domains.c */
int xsb_grp_domstorm(struct xst_daemon *d, int dk);
int xsb_grp_domcreate(struct xst_daemon *d, int dk);
/* xsbench_attacks.c: the group, its figures' names and titles, its targets */
int xsb_grp_attacks(struct xst_daemon *d, int dk);
void xsb_atk_figs_init(void);
void xsb_atk_targets(int *miss);
/* xsbench_client_lib.c */
int xsb_grp_client(struct xst_daemon *d, int dk);
/* xsbench_recovery.c: the group, its figures' names and titles, its targets */
int xsb_grp_recovery(struct xst_daemon *d, int dk);
void xsb_rc_figs_init(void);
void xsb_rc_targets(int *miss);
/*
 * The recovery group's store, built by d itself: ~1,000,000 nodes scaled, of
 * which *domains domains' (1..*domains; each d's home /local/domain/<d>,
 * owned by d, with name = guest-<d>), *nodes in all. 0, or -1 with xsb_err.
 */
int xsb_rc_build(struct xst_daemon *d, unsigned *domains, unsigned long *nodes);
/* Bytes of change groups in the write-ahead log of our daemon in dir. */
long long xsb_rc_log_bytes(const char *dir);
/* xsbench_liveupdate.c: the group and its target; the C daemon's only up to this --scale */
#define XSB_LU_C_SCALE 0.1
int xsb_grp_liveupdate(struct xst_daemon *d, int dk);
void xsb_lu_targets(int *miss);

/* ---------------------------------------------------------------- domain storm (xsbench_domains.c) */

/*
 * The domain workload: N domains created and introduced by a dom0 toolstack,
 * each brought up with a vif handshake between its frontend (the guest,
 * over its ring) and a dom0 backend, all at once.
 */
struct xsb_dom_cfg {
	const struct xst_daemon *d;
	unsigned ndomains;
	/*
	 * 1: the whole storm, guests over simulated rings (our daemon only),
	 * then their destruction. 0: the dom0 side only (toolstack and backend
	 * over sockets, up to the backend waiting for its frontend), which any
	 * daemon can serve; with sim set, domains are registered first
	 * (untimed) because our daemon introduces only domains that exist.
	 */
	int guests;
	int sim;
	int timeout_ms; /* no progress for this long is an error */
	double cap_s;   /* wall-time cap of the storm and of the destruction */
	int verbose;
};

struct xsb_dom_res {
	double create_s;             /* simulated hypervisor: register every domain */
	double storm_s;              /* first toolstack request -> last handshake (or InitWait) */
	double toolstack_s;          /* first toolstack request -> last INTRODUCE answered */
	double hs_p50_ms, hs_p99_ms; /* per domain: INTRODUCE answered -> handshake done */
	double idle_p50_us, idle_p99_us;
	double lat_p50_us, lat_p99_us, lat_max_us; /* the dom0 prober during the storm */
	unsigned lat_n;
	long long storm_ticks;     /* daemon CPU over the storm, clock ticks */
	double client_cpu_s;       /* the benchmark's loop thread over the storm */
	unsigned long requests;    /* sent in the storm by toolstack, guests and backend */
	unsigned long events;      /* watch events received in the storm */
	unsigned txn_eagain;       /* transaction commits answered EAGAIN (retried) */
	long rss0, anon0, file0;   /* before any domain */
	long rss1, anon1, file1;   /* after the storm, every domain alive */
	double destroy_one_ms;     /* one domain destroyed among the others -> its @releaseDomain */
	double destroy_s;          /* every domain destroyed -> /local/domain as before */
	double destroy_lat_p99_us; /* the dom0 prober during the destruction */
	unsigned release_events;   /* @releaseDomain events seen meanwhile */
	double cleanup_s;          /* then the toolstack removing the backend directories */
	long nodes_before, nodes_after; /* whole tree, before the storm and after the clean-up */
	long rss2, anon2;          /* after the clean-up */
	char err[160];
};

/* 0, or -1 with res->err set. Leaves no domain or thread behind either way. */
int xsb_domains_run(const struct xsb_dom_cfg *cfg, struct xsb_dom_res *res);

#endif

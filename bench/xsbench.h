/* What xsbench's parts share: daemon measurements, and the domain storm of xsbench_domains.c. */
#ifndef XS_BENCH_XSBENCH_H
#define XS_BENCH_XSBENCH_H

#include "tests/lib/xst_daemon.h"

/* Allocated size of the *.tdb files in the daemon's run directory, KiB. */
long xsb_tdb_files_kb(const struct xst_daemon *d);
/* RssAnon of the daemon, KiB, or -1. */
long xsb_rss_anon_kb(const struct xst_daemon *d);
/* Monotonic time in seconds; sleep for s seconds. */
double xsb_now_s(void);
void xsb_sleep_s(double s);

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

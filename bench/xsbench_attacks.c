/* xsbench's attacks group (issue 12): a dom0 client's READ latency and the daemon's memory while hostile guests attack, and what accounting costs. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/xsbench.h"
#include "client/xenstore_client.h"
#include "proto/simhyp.h"
#include "tests/lib/xst_wire.h"

/*
 * Each attack runs on the group's daemon, one after the other, with the
 * dom0 prober (one READ a millisecond on its own socket) timing meanwhile
 * and a sampler taking the daemon's anon RSS every 50 ms. Before each, the
 * daemon is idle; after each, the attacking guests are gone (our daemon:
 * their domains destroyed, their clean-up done; a reference daemon: their
 * connections closed and their homes removed) and the RSS is read again.
 *
 * Guests: on our daemon, simulated domains over their rings, introduced as
 * a toolstack does, with the default quotas. The reference daemons cannot
 * serve simulated rings (their shim's pages stay idle), so there each guest
 * is a privileged socket doing the same; where that makes an attack
 * unbounded (no quota applies to dom0) it is bounded as our quotas bound it,
 * and the progress line says so.
 */

enum atk_id {
	A_IDLE,
	A_CREATE,
	A_BIGVAL,
	A_TXNS,
	A_FLOOD,
	A_PERMS,
	A_XSA206,
	A_DIRPART,
	A_DIRPART_TXN,
};

#define MAX_GUESTS 10
#define WINDOW 16      /* a guest's requests in flight: below the store's 20 per domain */
#define CHUNK 256      /* a stream's requests between two looks at the stop flag */
#define NODE_QUOTA 1000 /* the default quota-nodes: where the reference's creates wrap */
#define TXNS 9         /* transactions a guest may hold (quota-transactions 10, less one) */
#define TXN_VALUE 1900 /* a big value that fits the default node-size quota (2048) */
#define SHARED_NODES 10
#define XSA_WRITERS 3
#define TRIES_CAP 100  /* a dom0 transaction still failing after this many attempts is counted so */
#define ACCT_DOMID 50
#define ACCT_NODES 500
/*
 * Many nodes of a guest go 100 to a directory: a directory's child names
 * count in its size, which the node-size quota (2048) bounds.
 */
#define SPREAD "d%03lu/n%02lu"

struct atk;

struct guest {
	pthread_t tid;
	int started;
	struct atk *a;
	unsigned domid;
	struct xsl_simdom *dom; /* our daemon: its simulated domain */
	struct xst_wire *c;          /* its ring, or a privileged socket */
	struct xst_msg *m;
	int (*body)(struct guest *g);
	unsigned long reqs, refused;
	uint32_t tx[TXNS];
	unsigned ntx;
	int failed;
	char err[200];
};

struct atk {
	struct xst_daemon *d;
	int dk;
	int ours; /* guests over rings */
	char simhyp[320];
	struct xst_wire *dom0;
	struct xst_msg *m;
	double dur; /* how long a continuous attack runs */
	int stop;   /* guests stop streaming (atomic) */
	struct guest g[MAX_GUESTS];
	unsigned ng;
	unsigned big;     /* children of the big directory, once made */
	unsigned per_txn; /* writes per held transaction */
	/* The anon RSS sampler. */
	pthread_t sampler;
	int sampling;
	long anon_peak;
	/* XSA-206: the dom0 transactions' attempts. */
	double tries_med, tries_max;
	unsigned tries_capped;
};

/* ---------------------------------------------------------------- figures */

static const struct {
	const char *key;
	const char *title; /* %u: the big directory's children */
} atk_info[XSB_ATK_N] = {
	[A_IDLE] = {"idle", "idle (no attack)"},
	[A_CREATE] = {"create", "guest creating to quota"},
	[A_BIGVAL] = {"bigval", "guest writing 4000 B values"},
	[A_TXNS] = {"txns", "10 guests holding big txns"},
	[A_FLOOD] = {"flood", "guest flooding small READs"},
	[A_PERMS] = {"perms", "perms naming a dying domain"},
	[A_XSA206] = {"xsa206", "XSA-206: 3 guests rewrite"},
	[A_DIRPART] = {"dirpart", "DIR_PART past end of %u"},
	[A_DIRPART_TXN] = {"dirpart_txn", "DIR_PART past end, in txn"},
};

static const struct {
	const char *key, *unit, *title;
} fig_info[XSB_ATK_FIGS] = {
	[XSB_AF_P50] = {"read_p50", "us", "%s: dom0 READ p50"},
	[XSB_AF_P99] = {"read_p99", "us", "  dom0 READ every 1 ms, p99"},
	[XSB_AF_MAX] = {"read_max", "us", "  dom0 READ every 1 ms, max"},
	[XSB_AF_ANON0] = {"anon_before", "KiB", "  daemon anon RSS before"},
	[XSB_AF_ANON1] = {"anon_during", "KiB", "  daemon anon RSS during (peak)"},
	[XSB_AF_ANON2] = {"anon_after", "KiB", "  daemon anon RSS after"},
};

void xsb_atk_figs_init(void)
{
	static char keys[XSB_ATK_N][XSB_ATK_FIGS][48];

	for (int a = 0; a < XSB_ATK_N; a++)
		for (int k = 0; k < XSB_ATK_FIGS; k++) {
			struct xsb_fig *f = &xsb_figs[XSB_ATK_FIG(a, k)];
			char name[48];

			snprintf(keys[a][k], sizeof(keys[a][k]), "atk_%s_%s", atk_info[a].key,
				 fig_info[k].key);
			f->key = keys[a][k];
			f->unit = fig_info[k].unit;
			f->lower_better = 1;
			f->grp = G_ATTACKS;
			snprintf(name, sizeof(name), atk_info[a].title, xsb_scaled(100000));
			snprintf(f->title, sizeof(f->title), fig_info[k].title, name);
		}
}

static void atk_figs_state(enum atk_id id, int dk, enum xsb_fst st, const char *note)
{
	for (int k = 0; k < XSB_ATK_FIGS; k++)
		xsb_fig_state(XSB_ATK_FIG(id, k), dk, st, note);
}

/* ---------------------------------------------------------------- requests */

static int stopped(struct atk *a)
{
	return __atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);
}

/* A synchronous request whose reply must be of its type (tx 0). */
static int callv(struct xst_wire *c, uint32_t type, int raw_last, const char *const *args,
		 struct xst_msg *m)
{
	char buf[XS_PAYLOAD_MAX];

	return xsb_call(c, type, buf, xst_payload(buf, sizeof(buf), raw_last, args), m);
}

#define CALL(c, m, type, ...) callv(c, type, 0, (const char *const[]){__VA_ARGS__, NULL}, m)

/*
 * Introduce domid as a toolstack does, through the library on the store's
 * socket: its home owned by it, then INTRODUCE (the store maps grant 1 and
 * binds port, the guest's store port; a reference daemon takes any). 0 or an
 * errno.
 */
static int introduce(const char *socket, unsigned domid, unsigned port)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = socket,
				  .timeout_ms = xsb_opt.timeout_ms};
	struct xsl_perm owner = {domid, XSL_PERM_NONE};
	struct xsl *h;
	char home[32];
	int err;

	if ((err = xsl_open(&h, &o)) < 0)
		return -err;
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if ((err = xsl_mkdir(h, 0, home)) == 0 && (err = xsl_set_perms(h, 0, home, &owner, 1)) == 0)
		err = xsl_introduce(h, domid, 0, port);
	xsl_close(h);
	return -err;
}

/* TRANSACTION_START on c: 1 with *tx, 0 if refused (a quota), -1 on error. */
static int txn_start(struct xst_wire *c, struct xst_msg *m, uint32_t *tx)
{
	if (xsb_exchange(c, XS_TRANSACTION_START, 0, "", 1, m, xsb_opt.timeout_ms) < 0) {
		xsb_fail("TRANSACTION_START: %s", strerror(errno));
		return -1;
	}
	if (m->hdr.type == XS_ERROR)
		return 0;
	if (m->hdr.type != XS_TRANSACTION_START) {
		xsb_fail("TRANSACTION_START -> %s", xsb_type_str(m->hdr.type));
		return -1;
	}
	*tx = (uint32_t)strtoul(m->payload, NULL, 10);
	return 1;
}

/* A request of path (printf pattern) and value bytes of `fill`. */
static int gen_req(struct xsb_preq *r, uint32_t type, uint32_t tx, size_t vlen, int fill,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int gen_req(struct xsb_preq *r, uint32_t type, uint32_t tx, size_t vlen, int fill,
		   const char *fmt, ...)
{
	va_list ap;
	int pl;

	va_start(ap, fmt);
	pl = vsnprintf(r->buf, sizeof(r->buf), fmt, ap);
	va_end(ap);
	if (pl < 0 || (size_t)pl + 1 + vlen > sizeof(r->buf)) {
		xsb_fail("request too long");
		return -1;
	}
	r->type = type;
	r->tx = tx;
	r->expect_len = -1;
	r->len = (size_t)pl + 1;
	memset(r->buf + r->len, fill, vlen);
	r->len += vlen;
	return 0;
}

/* ---------------------------------------------------------------- guests */

static void *guest_main(void *arg)
{
	struct guest *g = arg;

	if (g->body(g) < 0) {
		g->failed = 1;
		snprintf(g->err, sizeof(g->err), "guest %u: %s", g->domid, xsb_err);
	}
	return NULL;
}

/* Bring a guest up: our daemon, a simulated domain introduced; else its home, and a socket. */
static struct guest *guest_up(struct atk *a, unsigned domid, int (*body)(struct guest *g))
{
	struct guest *g = &a->g[a->ng];
	char home[32];

	memset(g, 0, sizeof(*g));
	g->a = a;
	g->domid = domid;
	g->body = body;
	a->ng++;
	if (!(g->m = malloc(sizeof(*g->m)))) {
		xsb_fail("out of memory");
		return NULL;
	}
	if (a->ours) {
		int e;

		if ((e = -xsl_simdom_create(a->simhyp, domid, &g->dom)) != 0) {
			xsb_fail("simulated domain %u: %s", domid, strerror(e));
			return NULL;
		}
		if ((e = introduce(a->d->socket, domid, xsl_simdom_port(g->dom))) != 0) {
			xsb_fail("introduce domain %u: %s", domid, strerror(e));
			return NULL;
		}
		g->c = xst_wire_ring(g->dom);
	} else {
		snprintf(home, sizeof(home), "/local/domain/%u", domid);
		if (CALL(a->dom0, a->m, XS_MKDIR, home) < 0)
			return NULL;
		g->c = xst_wire_socket(a->d->socket);
	}
	if (!g->c) {
		xsb_fail("guest %u: connect: %s", domid, strerror(errno));
		return NULL;
	}
	return g;
}

static int guest_start(struct guest *g)
{
	if (pthread_create(&g->tid, NULL, guest_main, g) != 0) {
		xsb_fail("pthread_create failed");
		return -1;
	}
	g->started = 1;
	return 0;
}

/* Join a guest's thread: 0, or -1 with its failure in xsb_err. */
static int guest_join(struct guest *g)
{
	if (!g->started)
		return 0;
	pthread_join(g->tid, NULL);
	g->started = 0;
	if (g->failed) {
		xsb_fail("%s", g->err);
		return -1;
	}
	return 0;
}

/* Is domain domid still introduced? 1, 0, or -1. */
static int introduced(struct atk *a, unsigned domid)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", domid);
	if (CALL(a->dom0, a->m, XS_IS_DOMAIN_INTRODUCED, id) < 0)
		return -1;
	return a->m->payload[0] == 'T';
}

/*
 * Every guest gone: threads stopped and joined, then on our daemon the
 * domains destroyed and their clean-up waited for (a WRITE runs the queued
 * clean-up first); on a reference daemon the sockets closed and the homes
 * removed. 0, or -1 with the first failure in xsb_err.
 */
static int guests_down(struct atk *a)
{
	int rc = 0;

	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < a->ng; i++)
		if (guest_join(&a->g[i]) < 0 && rc == 0)
			rc = -1;
	for (unsigned i = 0; i < a->ng; i++) {
		struct guest *g = &a->g[i];

		xst_wire_close(g->c);
		g->c = NULL;
		xsl_simdom_destroy(g->dom);
		g->dom = NULL;
		free(g->m);
		g->m = NULL;
	}
	for (unsigned i = 0; i < a->ng && rc == 0; i++) {
		char home[32];
		double t0 = xsb_now_s();
		int in;

		if (!a->ours) {
			snprintf(home, sizeof(home), "/local/domain/%u", a->g[i].domid);
			if (xsb_exchange(a->dom0, XS_RM, 0, home, strlen(home) + 1, a->m,
				     xsb_opt.timeout_ms) < 0) {
				xsb_fail("RM %s: %s", home, strerror(errno));
				rc = -1;
			}
			continue;
		}
		while ((in = introduced(a, a->g[i].domid)) == 1) {
			if (xsb_now_s() - t0 > xsb_opt.timeout_ms / 1000.0) {
				xsb_fail("domain %u still introduced after its death", a->g[i].domid);
				in = -1;
				break;
			}
			xsb_sleep_s(0.01);
		}
		if (in < 0)
			rc = -1;
	}
	if (rc == 0 && a->ours && CALL(a->dom0, a->m, XS_WRITE, "/bench/atk/settled", "") < 0)
		rc = -1;
	a->ng = 0;
	__atomic_store_n(&a->stop, 0, __ATOMIC_RELEASE);
	return rc;
}

/* Pipelined requests from gen until the attack stops; errors answered are counted, not failures. */
static int stream(struct guest *g, xsb_gen_fn gen)
{
	while (!stopped(g->a)) {
		if (xsb_pipeline_tolerant(g->c, g->reqs, CHUNK, WINDOW, gen, g, &g->refused) < 0)
			return -1;
		g->reqs += CHUNK;
	}
	return 0;
}

static void idle_until_stopped(struct atk *a)
{
	while (!stopped(a))
		xsb_sleep_s(0.01);
}

/* Start every guest, let them run for the attack's time (less if one fails), stop them. */
static int run_guests(struct atk *a)
{
	double t0 = xsb_now_s();
	int failed = 0;

	for (unsigned i = 0; i < a->ng; i++)
		if (guest_start(&a->g[i]) < 0)
			return -1;
	while (xsb_now_s() - t0 < a->dur && !failed) {
		xsb_sleep_s(0.05);
		for (unsigned i = 0; i < a->ng; i++)
			failed |= __atomic_load_n(&a->g[i].failed, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < a->ng; i++)
		if (guest_join(&a->g[i]) < 0)
			return -1;
	return 0;
}

static void guests_summary(struct atk *a, const char *what)
{
	unsigned long reqs = 0, refused = 0;

	for (unsigned i = 0; i < a->ng; i++) {
		reqs += a->g[i].reqs;
		refused += a->g[i].refused;
	}
	xsb_progress("    %s: %lu requests from %u guest(s) over %s, %lu refused\n", what, reqs,
		     a->ng, a->ours ? "rings" : "privileged sockets", refused);
}

/* ---------------------------------------------------------------- the attacks */

/* Nodes as fast as the guest can, new ones until its quota refuses; the reference's wrap there. */
static int gen_create(void *ctx, unsigned long i, struct xsb_preq *r)
{
	struct guest *g = ctx;

	unsigned long k = g->a->ours ? i : i % NODE_QUOTA;

	return gen_req(r, XS_WRITE, 0, 16, 'c', "/local/domain/%u/atk/" SPREAD, g->domid,
		       k / 100, k % 100);
}

static int body_create(struct guest *g)
{
	return stream(g, gen_create);
}

static int gen_bigval(void *ctx, unsigned long i, struct xsb_preq *r)
{
	struct guest *g = ctx;

	return gen_req(r, XS_WRITE, 0, 4000, 'v', "/local/domain/%u/atk/v%02lu", g->domid, i % 64);
}

static int body_bigval(struct guest *g)
{
	return stream(g, gen_bigval);
}

static int gen_flood(void *ctx, unsigned long i, struct xsb_preq *r)
{
	struct guest *g = ctx;
	int rc = gen_req(r, XS_READ, 0, 0, 0, "/local/domain/%u/atk/x", g->domid);

	(void)i;
	r->expect_len = 16;
	return rc;
}

static int body_flood(struct guest *g)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u/atk/x", g->domid);
	if (callv(g->c, XS_WRITE, 1, (const char *const[]){path, XSB_VALUE16, NULL}, g->m) < 0)
		return -1;
	return stream(g, gen_flood);
}

/* Transactions held open, each filled with per_txn big values (until a quota refuses). */
static int gen_txfill(void *ctx, unsigned long i, struct xsb_preq *r)
{
	struct guest *g = ctx;
	unsigned per = g->a->per_txn, t = (unsigned)(i / per);

	return gen_req(r, XS_WRITE, g->tx[t], TXN_VALUE, 't', "/local/domain/%u/atk/t%u/" SPREAD,
		       g->domid, t, i % per / 100, i % 100);
}

static int body_txns(struct guest *g)
{
	for (g->ntx = 0; g->ntx < TXNS; g->ntx++) {
		int r = txn_start(g->c, g->m, &g->tx[g->ntx]);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		g->reqs++;
	}
	if (xsb_pipeline_tolerant(g->c, 0, (unsigned long)g->ntx * g->a->per_txn, WINDOW,
				  gen_txfill, g, &g->refused) < 0)
		return -1;
	g->reqs += (unsigned long)g->ntx * g->a->per_txn;
	idle_until_stopped(g->a);
	return 0;
}

static int gen_xsa(void *ctx, unsigned long i, struct xsb_preq *r)
{
	(void)ctx;
	return gen_req(r, XS_WRITE, 0, 16, 'a' + (int)(i % 26), "/bench/atk/shared/k%lu",
		       i % SHARED_NODES);
}

static int body_xsa(struct guest *g)
{
	return stream(g, gen_xsa);
}

/* Offsets far past the end: a daemon that walks the listing to find them pays for it. */
static int gen_dirpart(void *ctx, unsigned long i, struct xsb_preq *r)
{
	struct guest *g = ctx;
	static const char payload[] = "/bench/atk/big\0" "1000000000";

	(void)i;
	memcpy(r->buf, payload, sizeof(payload));
	r->type = XS_DIRECTORY_PART;
	r->tx = g->ntx ? g->tx[0] : 0;
	r->expect_len = -1;
	r->len = sizeof(payload);
	return 0;
}

static int body_dirpart(struct guest *g)
{
	return stream(g, gen_dirpart);
}

static int body_dirpart_txn(struct guest *g)
{
	int r = txn_start(g->c, g->m, &g->tx[0]);

	if (r <= 0) {
		if (r == 0)
			xsb_fail("TRANSACTION_START -> %s", g->m->payload);
		return -1;
	}
	g->ntx = 1;
	return stream(g, gen_dirpart);
}

/* The attacker of the permissions attack: its nodes, then entries naming the victim on each. */
static unsigned perm_nodes, perm_victim;

static int gen_perms(void *ctx, unsigned long i, struct xsb_preq *r)
{
	struct guest *g = ctx;
	char own[16], other[16];
	int rc;

	if (i < perm_nodes)
		return gen_req(r, XS_WRITE, 0, 1, 'p', "/local/domain/%u/atk/" SPREAD, g->domid,
			       i / 100, i % 100);
	snprintf(own, sizeof(own), "n%u", g->domid);
	snprintf(other, sizeof(other), "r%u", perm_victim);
	rc = gen_req(r, XS_SET_PERMS, 0, 0, 0, "/local/domain/%u/atk/" SPREAD, g->domid,
		     (i - perm_nodes) / 100, (i - perm_nodes) % 100);
	if (rc == 0) {
		size_t ol = strlen(own) + 1, tl = strlen(other) + 1;

		memcpy(r->buf + r->len, own, ol);
		memcpy(r->buf + r->len + ol, other, tl);
		r->len += ol + tl;
	}
	return rc;
}

static int body_perms(struct guest *g)
{
	if (xsb_pipeline_tolerant(g->c, 0, 2ul * perm_nodes, WINDOW, gen_perms, g, &g->refused) < 0)
		return -1;
	g->reqs = 2ul * perm_nodes;
	return 0;
}

/* ---------------------------------------------------------------- set-up and runs of each attack */

static int run_idle(struct atk *a)
{
	xsb_sleep_s(a->dur);
	return 0;
}

static int setup_one(struct atk *a, unsigned domid, int (*body)(struct guest *g))
{
	return guest_up(a, domid, body) ? 0 : -1;
}

static int setup_create(struct atk *a)
{
	return setup_one(a, 21, body_create);
}

static int setup_bigval(struct atk *a)
{
	return setup_one(a, 22, body_bigval);
}

static int setup_flood(struct atk *a)
{
	return setup_one(a, 30, body_flood);
}

static int setup_txns(struct atk *a)
{
	a->per_txn = xsb_scaled(1000);
	for (unsigned i = 0; i < 10; i++)
		if (setup_one(a, 31 + i, body_txns) < 0)
			return -1;
	return 0;
}

/* The big directory, made once for both DIRECTORY_PART attacks: readable by every domain. */
static int setup_dirpart_dir(struct atk *a)
{
	double cap = xsb_opt.loop_cap_s, t0 = xsb_now_s();
	int rc;

	if (a->big)
		return 0;
	a->big = xsb_scaled(100000);
	if (CALL(a->dom0, a->m, XS_MKDIR, "/bench/atk/big") < 0 ||
	    CALL(a->dom0, a->m, XS_SET_PERMS, "/bench/atk/big", "r0") < 0)
		return -1;
	/* The C daemon rewrites the whole parent per create: as the memory group, more time. */
	xsb_opt.loop_cap_s = 3 * cap;
	rc = xsb_pipe_run(a->dom0, XS_WRITE, "/bench/atk/big/c%06u", 0, 0, 0, a->big);
	xsb_opt.loop_cap_s = cap;
	if (rc < 0)
		return -1;
	xsb_progress("    %u-child directory made in %.1f s\n", a->big, xsb_now_s() - t0);
	/* What a request past the end is answered, once, for the record. */
	{
		struct xsb_preq r;
		struct guest g = {.a = a};

		gen_dirpart(&g, 0, &r);
		if (xsb_exchange(a->dom0, r.type, 0, r.buf, r.len, a->m, xsb_opt.timeout_ms) < 0) {
			xsb_fail("DIRECTORY_PART: %s", strerror(errno));
			return -1;
		}
		xsb_progress("    DIRECTORY_PART past the end -> %s, %u bytes\n",
			     xsb_type_str(a->m->hdr.type), a->m->hdr.len);
	}
	return 0;
}

static int setup_dirpart(struct atk *a)
{
	return setup_dirpart_dir(a) < 0 ? -1 : setup_one(a, 23, body_dirpart);
}

static int setup_dirpart_txn(struct atk *a)
{
	return setup_dirpart_dir(a) < 0 ? -1 : setup_one(a, 24, body_dirpart_txn);
}

/* Nodes every domain may write, which the dom0 transactions read. */
static int setup_xsa206(struct atk *a)
{
	if (CALL(a->dom0, a->m, XS_MKDIR, "/bench/atk/shared") < 0 ||
	    CALL(a->dom0, a->m, XS_SET_PERMS, "/bench/atk/shared", "b0") < 0)
		return -1;
	for (unsigned k = 0; k < SHARED_NODES; k++) {
		char path[64];

		snprintf(path, sizeof(path), "/bench/atk/shared/k%u", k);
		if (callv(a->dom0, XS_WRITE, 1, (const char *const[]){path, XSB_VALUE16, NULL},
			  a->m) < 0 ||
		    CALL(a->dom0, a->m, XS_SET_PERMS, path, "b0") < 0)
			return -1;
	}
	for (unsigned i = 0; i < XSA_WRITERS; i++)
		if (setup_one(a, 27 + i, body_xsa) < 0)
			return -1;
	return 0;
}

/* The guests rewrite while dom0 runs its transactions: read every shared node, write one, commit. */
static int run_xsa206(struct atk *a)
{
	const struct xsb_txn_shape sh = {"/bench/atk/shared", SHARED_NODES, "/bench/atk/dom0", 1,
					 TRIES_CAP};
	unsigned n = xsb_scaled(200), done = 0;
	double *tries = malloc(n * sizeof(double)), t0;
	char err[160];
	int rc = -1;

	if (!tries) {
		xsb_fail("out of memory");
		return -1;
	}
	for (unsigned i = 0; i < a->ng; i++)
		if (guest_start(&a->g[i]) < 0)
			goto out;
	/* The writers at full speed first. */
	xsb_sleep_s(0.1);
	t0 = xsb_now_s();
	a->tries_capped = 0;
	for (; done < n; done++) {
		unsigned long eagain = 0;
		int r = xsb_txn_run(a->dom0, a->m, &sh, done, &eagain, err, sizeof(err));

		if (r < 0) {
			xsb_fail("dom0 %s", err);
			goto out;
		}
		a->tries_capped += r == 1;
		tries[done] = r == 1 ? TRIES_CAP : (double)eagain + 1;
		if (xsb_over_cap(t0, done, n, "dom0 transactions under XSA-206 writers"))
			goto out;
	}
	rc = 0;
out:
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < a->ng; i++)
		if (guest_join(&a->g[i]) < 0)
			rc = -1;
	if (done) {
		a->tries_med = xsb_quantile(tries, done, 0.5);
		a->tries_max = tries[done - 1];
	}
	if (rc == 0) {
		xsb_fig_set(F_ATK_TRIES_MED, a->dk, a->tries_med);
		xsb_fig_set(F_ATK_TRIES_MAX, a->dk, a->tries_max);
	}
	xsb_progress("    %u dom0 transactions, attempts median %.0f max %.0f%s\n", done,
		     a->tries_med, a->tries_max,
		     a->tries_capped ? " (some still failing at the cap)" : "");
	free(tries);
	return rc;
}

static int setup_perms(struct atk *a)
{
	perm_nodes = xsb_scaled(900);
	perm_victim = 26;
	if (setup_one(a, 25, body_perms) < 0)
		return -1;
	if (a->ours)
		return setup_one(a, perm_victim, NULL);
	/* A reference daemon releases a domain its toolstack introduced. */
	{
		int e = introduce(a->d->socket, perm_victim, 1);

		if (e) {
			xsb_fail("introduce domain %u: %s", perm_victim, strerror(e));
			return -1;
		}
	}
	return 0;
}

/*
 * The attacker names the victim on each of its nodes; then the victim dies
 * (our daemon: its simulated domain destroyed; a reference daemon: its
 * toolstack's RELEASE) and the daemon removes those entries; the attack ends
 * at @releaseDomain, with 0.2 s more of probing.
 */
static int run_perms(struct atk *a)
{
	struct xst_wire *w = xsb_connect(a->d);
	struct xst_msg *m = malloc(sizeof(*m));
	struct guest *victim = a->ours ? &a->g[1] : NULL;
	int rc = -1;
	double t0;

	if (!w || !m)
		goto out;
	if (xsb_watch(w, "@releaseDomain", "rel", m, xsb_opt.timeout_ms) < 0) {
		xsb_fail("WATCH @releaseDomain and its first event: %s", strerror(errno));
		goto out;
	}
	if (guest_start(&a->g[0]) < 0 || guest_join(&a->g[0]) < 0)
		goto out;
	t0 = xsb_now_s();
	if (victim) {
		xst_wire_close(victim->c);
		victim->c = NULL;
		xsl_simdom_destroy(victim->dom);
		victim->dom = NULL;
	} else {
		char id[16];

		snprintf(id, sizeof(id), "%u", perm_victim);
		if (CALL(a->dom0, a->m, XS_RELEASE, id) < 0)
			goto out;
	}
	if (xst_wire_recv(w, m, xsb_opt.timeout_ms) < 0) {
		xsb_fail("@releaseDomain after the death: %s", strerror(errno));
		goto out;
	}
	if (m->hdr.type != XS_WATCH_EVENT) {
		xsb_fail("@releaseDomain after the death: got %s", xsb_type_str(m->hdr.type));
		goto out;
	}
	xsb_progress("    %u nodes naming domain %u; its death -> @releaseDomain %.1f ms\n",
		     perm_nodes, perm_victim, (xsb_now_s() - t0) * 1e3);
	xsb_sleep_s(0.2);
	rc = 0;
out:
	if (!a->ours && rc == 0) {
		char home[32];

		snprintf(home, sizeof(home), "/local/domain/%u", perm_victim);
		rc = CALL(a->dom0, a->m, XS_RM, home);
	}
	xst_wire_close(w);
	free(m);
	return rc;
}

static const struct atk_def {
	enum atk_id id;
	int (*setup)(struct atk *a);
	int (*run)(struct atk *a);
	const char *bounded; /* on a reference daemon: how the attack is bounded there */
} atk_defs[] = {
	{A_IDLE, NULL, run_idle, NULL},
	{A_CREATE, setup_create, run_guests, "creates wrap at 1000 nodes"},
	{A_BIGVAL, setup_bigval, run_guests, "64 nodes rewritten"},
	{A_TXNS, setup_txns, run_guests, "9 transactions each, as our quota allows"},
	{A_FLOOD, setup_flood, run_guests, NULL},
	{A_PERMS, setup_perms, run_perms, "the victim released by its toolstack"},
	{A_XSA206, setup_xsa206, run_xsa206, NULL},
	/* Last: the big directory stays. */
	{A_DIRPART, setup_dirpart, run_guests, NULL},
	{A_DIRPART_TXN, setup_dirpart_txn, run_guests, NULL},
};

/* ---------------------------------------------------------------- the harness */

static void *sampler_main(void *arg)
{
	struct atk *a = arg;

	while (__atomic_load_n(&a->sampling, __ATOMIC_ACQUIRE)) {
		long kb = xsb_rss_anon_kb(a->d);

		if (kb > a->anon_peak)
			a->anon_peak = kb;
		xsb_sleep_s(0.05);
	}
	return NULL;
}

/* Wait until the daemon has served everything sent so far, then a little more. */
static int quiet(struct atk *a, double s)
{
	if (CALL(a->dom0, a->m, XS_READ, XSB_PROBE_PATH) < 0)
		return -1;
	xsb_sleep_s(s);
	return 0;
}

/* One attack: set-up, before, the attack under the prober and sampler, tear-down, after. */
static int run_attack(struct atk *a, const struct atk_def *def)
{
	struct xsb_prober pr;
	int rc = -1, prob = -1, sampler = 0;
	double p50 = 0, p99 = 0, max = 0;
	long anon0 = -1, anon2 = -1;

	xsb_err[0] = '\0';
	xsb_progress("  attack %s%s%s\n", atk_info[def->id].key,
		     !a->ours && def->bounded ? ": " : "", !a->ours && def->bounded ? def->bounded : "");
	if ((def->setup && def->setup(a) < 0) || quiet(a, 0.2) < 0)
		goto out;
	anon0 = xsb_rss_anon_kb(a->d);
	a->anon_peak = anon0;
	a->sampling = 1;
	if (pthread_create(&a->sampler, NULL, sampler_main, a) != 0) {
		xsb_fail("pthread_create failed");
		goto out;
	}
	sampler = 1;
	if ((prob = xsb_prober_start(&pr, a->d->socket, xsb_opt.timeout_ms,
				     a->dur + xsb_opt.loop_cap_s)) < 0) {
		xsb_fail("prober: %s", strerror(errno));
		goto out;
	}
	rc = def->run(a);
	xsb_prober_stop(&pr);
	if (pr.err[0] && rc == 0) {
		xsb_fail("%s", pr.err);
		rc = -1;
	}
	xsb_prober_stats(&pr, &p50, &p99, &max);
	if (a->ng)
		guests_summary(a, atk_info[def->id].key);
out:
	if (prob == 0)
		xsb_prober_free(&pr);
	if (sampler) {
		__atomic_store_n(&a->sampling, 0, __ATOMIC_RELEASE);
		pthread_join(a->sampler, NULL);
	}
	/* Always: nothing of this attack may stay behind for the next. */
	{
		char keep[sizeof(xsb_err)];

		snprintf(keep, sizeof(keep), "%s", xsb_err);
		if (guests_down(a) < 0 && rc == 0)
			rc = -1;
		else if (rc < 0)
			snprintf(xsb_err, sizeof(xsb_err), "%s", keep);
	}
	if (rc == 0 && quiet(a, 0.3) < 0)
		rc = -1;
	if (rc < 0)
		return -1;
	anon2 = xsb_rss_anon_kb(a->d);
	xsb_progress("    dom0 READ p50 %.0f p99 %.0f max %.0f us; anon RSS %ld -> %ld (peak) -> %ld KiB\n",
		     p50, p99, max, anon0, a->anon_peak, anon2);
	xsb_fig_set(XSB_ATK_FIG(def->id, XSB_AF_P50), a->dk, p50);
	xsb_fig_set(XSB_ATK_FIG(def->id, XSB_AF_P99), a->dk, p99);
	xsb_fig_set(XSB_ATK_FIG(def->id, XSB_AF_MAX), a->dk, max);
	xsb_fig_set(XSB_ATK_FIG(def->id, XSB_AF_ANON0), a->dk, (double)anon0);
	xsb_fig_set(XSB_ATK_FIG(def->id, XSB_AF_ANON1), a->dk, (double)a->anon_peak);
	xsb_fig_set(XSB_ATK_FIG(def->id, XSB_AF_ANON2), a->dk, (double)anon2);
	return 0;
}

/* ---------------------------------------------------------------- the cost of accounting */

/* Over ACCT_NODES nodes of the domain's: create, read, overwrite, remove, round after round. */
static int gen_acct(void *ctx, unsigned long i, struct xsb_preq *r)
{
	static const uint32_t types[4] = {XS_WRITE, XS_READ, XS_WRITE, XS_RM};
	unsigned phase = (unsigned)(i / ACCT_NODES) % 4;
	int rc = gen_req(r, types[phase], 0, types[phase] == XS_WRITE ? 16 : 0, 'a' + (int)phase,
			 "/local/domain/%u/acct/" SPREAD, ACCT_DOMID, i % ACCT_NODES / 100,
			 i % 100);

	(void)ctx;
	r->expect_len = types[phase] == XS_READ ? 16 : -1;
	return rc;
}

/*
 * Daemon CPU per request of a guest's ordinary work: on our daemons from a
 * socket restricted to the guest's domain (every request accounted and
 * checked against its quotas); on a reference daemon from a privileged one.
 */
static int acct_cpu(struct xst_daemon *d, int ours, double *us)
{
	struct xst_wire *c = xsb_connect(d), *dom0 = xsb_connect(d);
	struct xst_msg *m = malloc(sizeof(*m));
	struct xsl_simdom *dom = NULL;
	char simhyp[320], id[16];
	int rc = -1, e;

	snprintf(id, sizeof(id), "%u", ACCT_DOMID);
	if (!c || !dom0 || !m)
		goto out;
	if (ours) {
		/* Our daemon names only domains that exist: this one does, idle. */
		snprintf(simhyp, sizeof(simhyp), "%s/%s", d->dir, SIMHYP_SOCKET_NAME);
		if ((e = -xsl_simdom_create(simhyp, ACCT_DOMID, &dom)) != 0) {
			xsb_fail("simulated domain %u: %s", ACCT_DOMID, strerror(e));
			goto out;
		}
		if ((e = introduce(d->socket, ACCT_DOMID, xsl_simdom_port(dom))) != 0) {
			xsb_fail("introduce domain %u: %s", ACCT_DOMID, strerror(e));
			goto out;
		}
		if (CALL(c, m, XS_CONTROL, "restrict", id) < 0)
			goto out;
	}
	if (xsb_cpu_per_req_gen(d, c, gen_acct, NULL,
				ours ? "accounted requests, restricted socket"
				     : "the same requests, privileged socket",
				us) < 0)
		goto out;
	rc = 0;
out:
	xst_wire_close(c);
	xst_wire_close(dom0);
	xsl_simdom_destroy(dom);
	free(m);
	return rc;
}

/* Ours, then the same on --baseline (our daemon built before accounting), and the ratio. */
static int acct_figs(struct xst_daemon *d, int dk)
{
	struct xst_daemon base;
	double us, before;
	int rc;

	if (acct_cpu(d, dk == D_OURS, &us) < 0)
		return -1;
	xsb_fig_set(F_ATK_CPU, dk, us);
	if (dk != D_OURS) {
		xsb_fig_state(F_ATK_CPU_BEFORE, dk, ST_NA, "our daemons only");
		xsb_fig_state(F_ATK_CPU_RATIO, dk, ST_NA, "our daemons only");
		return 0;
	}
	if (!xsb_opt.baseline[0]) {
		xsb_fig_state(F_ATK_CPU_BEFORE, dk, ST_NA, "no --baseline daemon given");
		xsb_fig_state(F_ATK_CPU_RATIO, dk, ST_NA, "no --baseline daemon given");
		return 0;
	}
	if (xsb_start_other(&base, xsb_opt.baseline) < 0) {
		xsb_fig_state(F_ATK_CPU_BEFORE, dk, ST_NA, "the --baseline daemon did not start");
		xsb_fig_state(F_ATK_CPU_RATIO, dk, ST_NA, "the --baseline daemon did not start");
		return 0;
	}
	rc = acct_cpu(&base, 1, &before);
	xst_daemon_stop(&base, xsb_opt.keep);
	if (rc < 0) {
		/* The baseline is the user's binary: what it cannot do is reported, not an error. */
		xsb_progress("    --baseline: %s\n", xsb_err);
		xsb_fig_state(F_ATK_CPU_BEFORE, dk, ST_NA, xsb_err);
		xsb_fig_state(F_ATK_CPU_RATIO, dk, ST_NA, xsb_err);
		return 0;
	}
	xsb_fig_set(F_ATK_CPU_BEFORE, dk, before);
	xsb_fig_set(F_ATK_CPU_RATIO, dk, us / before);
	return 0;
}

/* ---------------------------------------------------------------- the group */

int xsb_grp_attacks(struct xst_daemon *d, int dk)
{
	struct atk *a = calloc(1, sizeof(*a));
	char first[sizeof(xsb_err) + 32] = "";
	int rc = -1;

	if (!a) {
		xsb_fail("out of memory");
		return -1;
	}
	a->d = d;
	a->dk = dk;
	a->ours = dk == D_OURS;
	a->dur = 4.0 * xsb_opt.scale < 1.0 ? 1.0 : 4.0 * xsb_opt.scale;
	snprintf(a->simhyp, sizeof(a->simhyp), "%s/%s", d->dir, SIMHYP_SOCKET_NAME);
	a->m = malloc(sizeof(*a->m));
	a->dom0 = xsb_connect(d);
	if (!a->m || !a->dom0)
		goto out;
	if (callv(a->dom0, XS_WRITE, 1, (const char *const[]){XSB_PROBE_PATH, "probe", NULL}, a->m) <
	    0)
		goto out;
	if (acct_figs(d, dk) < 0) {
		xsb_progress("    accounting: %s: %s\n", a->ours ? "ERROR" : "not measured", xsb_err);
		if (a->ours)
			snprintf(first, sizeof(first), "accounting: %s", xsb_err);
		for (int f = F_ATK_CPU; f <= F_ATK_CPU_RATIO; f++)
			if (xsb_figs[f].st[dk] == ST_UNSET)
				xsb_fig_state(f, dk, a->ours ? ST_ERROR : ST_NA, xsb_err);
	}
	for (size_t i = 0; i < sizeof(atk_defs) / sizeof(atk_defs[0]); i++) {
		const struct atk_def *def = &atk_defs[i];

		if (run_attack(a, def) == 0)
			continue;
		/*
		 * Ours failing is an error of the run; a reference daemon that cannot
		 * do it over its socket is reported, and the next attack runs.
		 */
		xsb_progress("    %s: %s\n", a->ours ? "ERROR" : "not measured", xsb_err);
		atk_figs_state(def->id, dk, a->ours ? ST_ERROR : ST_NA, xsb_err);
		if (def->id == A_XSA206) {
			xsb_fig_state(F_ATK_TRIES_MED, dk, a->ours ? ST_ERROR : ST_NA, xsb_err);
			xsb_fig_state(F_ATK_TRIES_MAX, dk, a->ours ? ST_ERROR : ST_NA, xsb_err);
		}
		if (a->ours && !first[0])
			snprintf(first, sizeof(first), "%s: %s", atk_info[def->id].key, xsb_err);
		if (!xst_daemon_alive(d))
			break;
	}
	rc = 0;
	if (first[0]) {
		xsb_fail("%s", first);
		rc = -1;
	}
out:
	xst_wire_close(a->dom0);
	free(a->m);
	free(a);
	return rc;
}

/* ---------------------------------------------------------------- targets */

/*
 * The worst of our figure k over every attack (idle excluded) against an
 * upper bound; UNKNOWN if any is missing.
 */
static void worst_target(const char *name, const char *what, int k, double bound, int *miss)
{
	char detail[160];
	double worst = -1;
	int at = -1;

	for (int i = A_CREATE; i < XSB_ATK_N; i++) {
		const struct xsb_fig *f = &xsb_figs[XSB_ATK_FIG(i, k)];

		if (f->st[D_OURS] != ST_OK) {
			snprintf(detail, sizeof(detail), "attack %s: no figure", atk_info[i].key);
			xsb_target_result(name, what, "UNKNOWN", detail, miss);
			return;
		}
		if (f->v[D_OURS] > worst) {
			worst = f->v[D_OURS];
			at = i;
		}
	}
	snprintf(detail, sizeof(detail), "worst %s %.0f us, limit %.0f us", atk_info[at].key, worst,
		 bound);
	xsb_target_result(name, what, worst < bound ? "PASS" : "MISS", detail, miss);
}

void xsb_atk_targets(int *miss)
{
	char detail[160];
	const char *res = "PASS";
	double excess = 0;
	int at = -1;

	worst_target("atk_p99", "under every attack, dom0 READ p99 < 5 ms", XSB_AF_P99, 5000, miss);
	worst_target("atk_max", "under every attack, dom0 READ max < 50 ms", XSB_AF_MAX, 50000, miss);
	/*
	 * Memory comes back (robustness.md's oracle M): once the attackers are
	 * gone, within 10% (and 1 MiB) of what it was before. Memory kept but
	 * not grown by a repeat (an allocator's retention) misses this too.
	 */
	for (int i = A_CREATE; i < XSB_ATK_N; i++) {
		const struct xsb_fig *f0 = &xsb_figs[XSB_ATK_FIG(i, XSB_AF_ANON0)],
				     *f2 = &xsb_figs[XSB_ATK_FIG(i, XSB_AF_ANON2)];
		double over;

		if (f0->st[D_OURS] != ST_OK || f2->st[D_OURS] != ST_OK) {
			res = "UNKNOWN";
			snprintf(detail, sizeof(detail), "attack %s: no figure", atk_info[i].key);
			break;
		}
		over = f2->v[D_OURS] - (f0->v[D_OURS] * 1.1 + 1024);
		if (at < 0 || over > excess) {
			excess = over;
			at = i;
		}
	}
	if (strcmp(res, "PASS") == 0) {
		const struct xsb_fig *f0 = &xsb_figs[XSB_ATK_FIG(at, XSB_AF_ANON0)],
				     *f2 = &xsb_figs[XSB_ATK_FIG(at, XSB_AF_ANON2)];

		res = excess <= 0 ? "PASS" : "MISS";
		snprintf(detail, sizeof(detail), "worst %s: %.0f -> %.0f KiB", atk_info[at].key,
			 f0->v[D_OURS], f2->v[D_OURS]);
	}
	xsb_target_result("atk_mem", "anon RSS back to before (x1.1 + 1 MiB) after each", res,
			  detail, miss);
	/* The cost of accounting, against our daemon built before it. */
	{
		const struct xsb_fig *f = &xsb_figs[F_ATK_CPU_RATIO];

		if (f->st[D_OURS] != ST_OK) {
			snprintf(detail, sizeof(detail), "%s",
				 xsb_opt.baseline[0] ? "figure unavailable"
						     : "needs --baseline=<our daemon before accounting>");
			res = "UNKNOWN";
		} else {
			snprintf(detail, sizeof(detail), "ours %.2f us, before %.2f us: %.3fx",
				 xsb_figs[F_ATK_CPU].v[D_OURS], xsb_figs[F_ATK_CPU_BEFORE].v[D_OURS],
				 f->v[D_OURS]);
			res = f->v[D_OURS] <= 1.10 ? "PASS" : "MISS";
		}
		xsb_target_result("atk_cpu", "daemon CPU per request with accounting <= 1.1x before",
				  res, detail, miss);
	}
}

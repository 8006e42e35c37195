/*
 * Ring tests: issue 12's attacks as scenarios (robustness.md 1.3, oracles L
 * and M), and the other resource abuses of robustness.md 1.3 that had no
 * test. Each attack runs from guests in forked processes against a daemon
 * given small quotas or budget; each test checks that the daemon's memory
 * stays under a bound its configuration sets, that a dom0 client, a guest
 * and fresh dom0 connections are served while it runs (RT_LIVE_MS), and
 * that the attack's requests get the documented errors at the edge.
 * Attacks that showed a daemon bug, now fixed, are at the end, each
 * saying what it found.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ring.h"

/* ---------------------------------------------------------------- replies by status */

static const char *const statuses[] = {"OK",     "ENOSPC", "ENOMEM", "E2BIG", "EACCES",
				       "EINVAL", "ENOENT", "EAGAIN", "other"};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

struct tally {
	unsigned long n[NSTATUS];
};

/* A reply's status: OK for any reply that is not an error. */
static unsigned status_of(const struct xst_msg *m)
{
	if (m->hdr.type != XS_ERROR)
		return 0;
	for (unsigned i = 1; i < NSTATUS - 1; i++)
		if (strcmp(m->payload, statuses[i]) == 0)
			return i;
	return NSTATUS - 1;
}

static unsigned long tally_of(const struct tally *t, const char *status)
{
	for (unsigned i = 0; i < NSTATUS; i++)
		if (strcmp(statuses[i], status) == 0)
			return t->n[i];
	return 0;
}

/* "OK 399 ENOSPC 801" */
static const char *tally_str(const struct tally *t, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < NSTATUS && o < size; i++)
		if (t->n[i])
			o += (size_t)snprintf(buf + o, size - o, "%s%s %lu", o ? " " : "", statuses[i],
					      t->n[i]);
	return buf;
}

/*
 * What the daemon's RSS may grow by when an attack may make it hold
 * data_kb: that, and 4 MiB of its own working memory; under the sanitizer,
 * three times that (redzones, shadow) and 48 MiB (its quarantine,
 * xst_asan_small_quarantine's 16 MiB, and its allocator's caches).
 */
#define RSS_BOUND_KB(data_kb) \
	((long)(data_kb) * (RT_ASAN ? 3 : 1) + (RT_ASAN ? 48 * 1024 : 4 * 1024))

/* ---------------------------------------------------------------- attacking guests */

/* What an attacking guest sends: its i-th request, and the phase of the attack it counts in. */
struct areq {
	uint32_t type, tx;
	unsigned phase;
	size_t len;
	char buf[XS_PAYLOAD_MAX];
};

#define PHASES 3

/* A WRITE of the path already in r->buf (plen bytes with its NUL) and vlen bytes of fill. */
static void areq_write(struct areq *r, uint32_t tx, size_t plen, int fill, size_t vlen)
{
	r->type = XS_WRITE;
	r->tx = tx;
	memset(r->buf + plen, fill, vlen);
	r->len = plen + vlen;
}

/* What an attacking guest (a forked process) tells the test. */
struct attack_result {
	struct tally t[PHASES]; /* its replies, by phase and status */
	volatile unsigned long answered;
	long note;      /* what its set-up found */
};

/* One attacking guest: what it does is set before it is forked. */
struct attacker {
	uint32_t domid;
	void (*setup)(struct attacker *a, struct xst_wire *w); /* before 'r' (may be NULL) */
	void (*gen)(struct attacker *a, unsigned long i, struct areq *r);
	unsigned long n;  /* requests to send; 0: until the test says 's' */
	unsigned window;  /* in flight */
	size_t vlen;      /* values' length */
	uint32_t tx[10];  /* the transactions it holds (its own copy) */
	unsigned ntx;
	char arg[64];     /* a path or a number the generator uses */
	struct attack_result *res; /* shared */
	struct rt_child ch;
};

static struct attacker *attacker_new(uint32_t domid)
{
	struct attacker *a = calloc(1, sizeof(*a));

	RT_CHECK(a != NULL, "out of memory");
	a->res = mmap(NULL, sizeof(*a->res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	RT_CHECK(a->res != MAP_FAILED, "mmap");
	memset(a->res, 0, sizeof(*a->res));
	a->domid = domid;
	a->window = 16; /* below the outstanding quota (20): it never stalls on it */
	return a;
}

static void attacker_free(struct attacker *a)
{
	munmap(a->res, sizeof(*a->res));
	free(a);
}

/* Whether the other side has sent a signal byte (without waiting). */
static bool signalled(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

/* One request and its reply, in order (watch events skipped). */
static void wire_call(struct xst_wire *w, uint32_t type, uint32_t tx, const void *payload,
		      size_t len, struct xst_msg *m)
{
	RT_CHECK(xst_wire_send_msg(w, type, 0xffff0000u, tx, payload, len) == 0, "send: %s",
		 strerror(errno));
	do
		RT_CHECK(xst_wire_recv(w, m, RT_CALL_MS) == 0, "no reply to %s: %s",
			 xs_type_name(type), strerror(errno));
	while (m->hdr.type == XS_WATCH_EVENT);
	RT_CHECK(m->hdr.req_id == 0xffff0000u, "reply id %u", m->hdr.req_id);
}

/*
 * Requests from the generator, window of them in flight, each reply taken
 * in order and tallied: n of them, or (n = 0) until the test says 's'
 * (ch may then not be NULL).
 */
static void pipe_run(struct attacker *a, struct xst_wire *w, struct rt_child *ch)
{
	struct xst_msg *m = malloc(sizeof(*m));
	struct areq *r = malloc(sizeof(*r));
	unsigned char phase[64]; /* of the requests in flight, by number */
	unsigned long sent = 0, got = 0;
	bool stop = false;

	RT_CHECK(m && r && a->window <= sizeof(phase), "out of memory");
	while (!stop || got < sent) {
		while (!stop && sent - got < a->window && (!a->n || sent < a->n)) {
			r->phase = 0;
			a->gen(a, sent, r);
			phase[sent % sizeof(phase)] = (unsigned char)r->phase;
			RT_CHECK(xst_wire_send_msg(w, r->type, (uint32_t)sent, r->tx, r->buf, r->len) ==
					 0,
				 "domain %u: send %lu: %s", a->domid, sent, strerror(errno));
			sent++;
		}
		if (a->n && sent == a->n)
			stop = true;
		if (!stop && !a->n && signalled(ch->in_child)) {
			rt_child_hear(ch, 's');
			stop = true;
		}
		if (got == sent)
			break;
		RT_CHECK(xst_wire_recv(w, m, RT_CALL_MS) == 0, "domain %u: reply %lu of %lu: %s",
			 a->domid, got, sent, strerror(errno));
		if (m->hdr.type == XS_WATCH_EVENT)
			continue;
		RT_CHECK(m->hdr.req_id == (uint32_t)got, "domain %u: reply id %u, expected %lu",
			 a->domid, m->hdr.req_id, got);
		a->res->t[phase[got % sizeof(phase)]].n[status_of(m)]++;
		a->res->answered = ++got;
	}
	free(m);
	free(r);
}

/* The guest: up, set up, 'r'; on 'g' it attacks, 'd'; on 'e' it goes down (its domain dies). */
static int attacker_main(struct rt_child *ch)
{
	struct attacker *a = ch->arg;
	struct rt_guest g;
	struct xst_wire *w;

	rt_guest_up(&g, ch->rd, a->domid);
	/* Raw from here on: the library's client stays idle. */
	xst_conn_close(g.c);
	g.c = NULL;
	w = xst_wire_ring(g.dom);
	RT_CHECK(w != NULL, "ring wire");
	if (a->setup)
		a->setup(a, w);
	rt_child_tell(ch, 'r');
	rt_child_hear(ch, 'g');
	pipe_run(a, w, ch);
	rt_child_tell(ch, 'd');
	rt_child_hear(ch, 'e');
	RT_CHECK(g.ring->error == 0, "the attacker's ring broke");
	xst_wire_close(w);
	rt_guest_down(&g);
	return 0;
}

static void attacker_start(struct attacker *a, const struct rt_daemon *rd)
{
	rt_child_start(&a->ch, rd, attacker_main, a);
	rt_hear(&a->ch, 'r');
}

/* Its end: it takes its domain down, and the daemon cleans up after it. */
static void attacker_end(struct attacker *a, struct xst_conn *dom0)
{
	rt_tell(&a->ch, 'e');
	rt_child_join(&a->ch);
	rt_wait_gone(dom0, a->domid);
}

/* ---------------------------------------------------------------- the innocents */

/*
 * A dom0 client (the daemon's), a guest of domain 2, and fresh dom0
 * connections, each doing a round of ordinary work while an attack runs
 * (robustness.md 1.3's oracle L), and the daemon's RSS at each round.
 */
struct innocents {
	struct rt_daemon *rd;
	struct rt_guest g;
	unsigned rounds;
	bool guest_may_enomem; /* the global budget is spent: its writes may be refused */
	double dom0_ms, guest_ms, connect_ms;
	long rss0, rss_peak;
};

static void innocents_up(struct innocents *in, struct rt_daemon *rd)
{
	memset(in, 0, sizeof(*in));
	in->rd = rd;
	rt_guest_here(&in->g, rd, 2);
	rt_write(in->g.c, 0, "data/probe", "0");
	rt_write(rd->dom0, 0, "/probe/probe", "0");
	rt_quiesce(in->g.dom, rd->dom0);
	in->rss0 = in->rss_peak = rt_rss(rd);
}

static void worst(double *w, double t0)
{
	double dt = rt_now_ms() - t0;

	if (dt > *w)
		*w = dt;
}

/* The guest's round when its writes may be refused: a write (OK or ENOMEM), a read. */
static double guest_round_short_of_memory(struct xst_conn *c)
{
	struct xst_msg m;
	double t0 = rt_now_ms(), w = 0;

	rt_call(c, XS_WRITE, 0, 1, RT_ARGS("data/probe", "x"), &m);
	RT_CHECK(!strcmp(rt_status(&m), "OK") || !strcmp(rt_status(&m), "ENOMEM"),
		 "innocent guest's WRITE: %s", rt_status(&m));
	worst(&w, t0);
	t0 = rt_now_ms();
	rt_call(c, XS_READ, 0, 0, RT_ARGS("data/probe"), &m);
	RT_CHECK(m.hdr.type == XS_READ, "innocent guest's READ: %s", rt_status(&m));
	worst(&w, t0);
	return w;
}

static void innocents_round(struct innocents *in)
{
	struct xst_conn *c;
	struct xst_msg m;
	double t0, dt;
	long rss;

	dt = rt_probe(in->rd->dom0, "/probe", in->rounds);
	in->dom0_ms = dt > in->dom0_ms ? dt : in->dom0_ms;
	dt = in->guest_may_enomem ? guest_round_short_of_memory(in->g.c)
				  : rt_probe(in->g.c, "data", in->rounds);
	in->guest_ms = dt > in->guest_ms ? dt : in->guest_ms;
	t0 = rt_now_ms();
	c = rt_connect(in->rd);
	rt_call(c, XS_READ, 0, 0, RT_ARGS("/probe/probe"), &m);
	RT_CHECK(m.hdr.type == XS_READ, "a new dom0 connection's READ: %s", rt_status(&m));
	xst_conn_close(c);
	worst(&in->connect_ms, t0);
	/* Its ring is never marked broken (robustness.md 1.3: an innocent connection). */
	RT_CHECK(in->g.ring->error == 0, "the innocent guest's ring has error %u", in->g.ring->error);
	rss = rt_rss(in->rd);
	in->rss_peak = rss > in->rss_peak ? rss : in->rss_peak;
	in->rounds++;
}

/*
 * The attackers go ('g'): rounds of the innocents for at least ms, and
 * until each attacker sending a number of requests has sent them all and
 * said 'd'; then the streams (n = 0) are told to stop.
 */
#define ATTACK_MAX_MS (RT_ASAN ? 240000 : 90000)

static void innocents_during(struct innocents *in, struct attacker **as, unsigned n, int ms)
{
	double t0 = rt_now_ms();
	bool done[16] = {false};
	unsigned left = 0;

	RT_CHECK(n <= 16, "too many attackers");
	for (unsigned i = 0; i < n; i++) {
		rt_tell(&as[i]->ch, 'g');
		left += as[i]->n != 0;
	}
	do {
		innocents_round(in);
		for (unsigned i = 0; i < n; i++)
			if (!done[i] && as[i]->n && signalled(as[i]->ch.from_child)) {
				rt_hear(&as[i]->ch, 'd');
				done[i] = true;
				left--;
			}
		/* A guard against a hang, not a bound: 200,000 requests from four guests take 11-15 s here. */
		RT_CHECK(rt_now_ms() - t0 < ATTACK_MAX_MS, "the attack did not end within %d s", ATTACK_MAX_MS / 1000);
	} while (left || rt_now_ms() - t0 < ms);
	for (unsigned i = 0; i < n; i++)
		if (!as[i]->n) {
			rt_tell(&as[i]->ch, 's');
			rt_hear(&as[i]->ch, 'd');
		}
	innocents_round(in);
}

/* The innocents were served: every call of theirs under RT_LIVE_MS. */
static void innocents_served(const struct innocents *in, const char *attack)
{
	printf("%s: %u rounds of the innocents; slowest call: dom0 %.1f ms, guest %.1f ms, new dom0"
	       " connection %.1f ms (bound %.0f)\n",
	       attack, in->rounds, in->dom0_ms, in->guest_ms, in->connect_ms, RT_LIVE_MS);
	RT_CHECK(in->dom0_ms < RT_LIVE_MS && in->guest_ms < RT_LIVE_MS &&
			 in->connect_ms < RT_LIVE_MS,
		 "%s: slowest call: dom0 %.1f ms, guest %.1f ms, new connection %.1f ms", attack,
		 in->dom0_ms, in->guest_ms, in->connect_ms);
}

static void innocents_down(struct innocents *in)
{
	rt_guest_down(&in->g);
	rt_wait_gone(in->rd->dom0, 2);
}

/* The daemon's RSS grew by less than bound_kb over the attack. */
#define rss_bounded(...) (RT_AT(), rss_bounded_(__VA_ARGS__))
static void rss_bounded_(const struct innocents *in, const char *attack, long bound_kb)
{
	printf("%s: daemon RSS %ld KiB before, %ld at the peak: +%ld KiB (bound +%ld)\n", attack,
	       in->rss0, in->rss_peak, in->rss_peak - in->rss0, bound_kb);
	RT_CHECK(in->rss_peak - in->rss0 < bound_kb, "%s: RSS grew by %ld KiB (bound %ld)", attack,
		 in->rss_peak - in->rss0, bound_kb);
}

/* ---------------------------------------------------------------- 1. node flood */

/* New nodes under the guest's home, one name each (XSA-272: a quota never exceeded). */
static void gen_create(struct attacker *a, unsigned long i, struct areq *r)
{
	int pl = snprintf(r->buf, sizeof(r->buf), "n%05lu", i) + 1;

	areq_write(r, 0, (size_t)pl, 'v', a->vlen);
}

/* A value one byte too big for the node-size quota first: ENOSPC. */
static void setup_too_big(struct attacker *a, struct xst_wire *w)
{
	static char buf[XS_PAYLOAD_MAX];
	struct xst_msg m;
	/* 16 + 8 (one permission entry) + the value reaches node-size 4096. */
	size_t vlen = 4096 - 16 - 8;

	memcpy(buf, "big", 4);
	memset(buf + 4, 'v', vlen);
	wire_call(w, XS_WRITE, 0, buf, 4 + vlen, &m);
	RT_CHECK(strcmp(rt_status(&m), "ENOSPC") == 0, "a %zu-byte value: %s", vlen, rt_status(&m));
	wire_call(w, XS_WRITE, 0, buf, 4 + vlen - 1, &m);
	RT_CHECK(strcmp(rt_status(&m), "OK") == 0, "a %zu-byte value: %s", vlen - 1, rt_status(&m));
	a->res->note = 1; /* one node more than gen_create makes */
}

#define FLOOD_NODES 400 /* quota-nodes: a domain holds 399, its home among them */
#define FLOOD_ROUNDS 3

/*
 * One round of the flood: domain 7 makes small nodes, domain 8 big ones,
 * five times as many as they may own (new names each time: XSA-272); then
 * they die, and what they made goes with them.
 */
static void flood_round(struct rt_daemon *rd, struct innocents *in)
{
	struct attacker *small = attacker_new(7), *big = attacker_new(8);
	struct attacker *as[2] = {small, big};
	char buf[160];

	small->gen = big->gen = gen_create;
	small->n = big->n = 5 * FLOOD_NODES;
	small->vlen = 16;
	big->vlen = 4000;
	big->setup = setup_too_big;
	attacker_start(small, rd);
	attacker_start(big, rd);
	innocents_during(in, as, 2, 100);
	for (unsigned i = 0; i < 2; i++) {
		/* Its home and what it made: one less than the quota; the rest refused. */
		unsigned long made = FLOOD_NODES - 2 - (unsigned long)as[i]->res->note;

		printf("node flood: domain %u's %lu creates of %zu bytes: %s\n", as[i]->domid,
		       as[i]->n, as[i]->vlen, tally_str(&as[i]->res->t[0], buf, sizeof(buf)));
		RT_CHECK(tally_of(&as[i]->res->t[0], "OK") == made &&
				 tally_of(&as[i]->res->t[0], "ENOSPC") == as[i]->n - made,
			 "domain %u: %s, expected OK %lu and the rest ENOSPC", as[i]->domid,
			 tally_str(&as[i]->res->t[0], buf, sizeof(buf)), made);
	}
	innocents_served(in, "node flood");
	for (unsigned i = 0; i < 2; i++) {
		attacker_end(as[i], rd->dom0);
		attacker_free(as[i]);
	}
	/* Nothing of theirs stays: not their nodes, not their quota values. */
	rt_must(rd->dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/7"), "ENOENT");
	rt_must(rd->dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/8"), "ENOENT");
	rt_must(rd->dom0, XS_CONTROL, 0, 0, RT_ARGS("quota", "8"), "ENOENT");
}

/*
 * Issue 12: a guest creating nodes until its quotas refuse (nodes,
 * node-size), small ones and 4000-byte ones; then it dies. While it lasts
 * the daemon holds what the quotas allow; once it is gone its heap is given
 * back and the store file's room is reused: flood after flood, neither
 * grows.
 */
START_TEST(node_flood_is_refused_at_the_quotas_and_given_back)
{
	/* What the two domains may store: their nodes at the node-size quota. */
	const long data_kb = 2L * (FLOOD_NODES - 1) * 4096 / 1024;
	long rss[FLOOD_ROUNDS + 1], anon[FLOOD_ROUNDS + 1], store[FLOOD_ROUNDS + 1];
	struct rt_daemon rd;
	struct innocents in;

	xst_asan_small_quarantine();
	/* A checkpoint every MiB of log: the nodes reach the store file within a round. */
	setenv("XENSTORED_TEST_CHECKPOINT", "1048576", 1);
	rt_start_conf(&rd, "quota-nodes = 400\n"
			   "quota-node-size = 4096\n");
	unsetenv("XENSTORED_TEST_CHECKPOINT");
	innocents_up(&in, &rd);
	for (int r = 0; r <= FLOOD_ROUNDS; r++) {
		if (r)
			flood_round(&rd, &in);
		rss[r] = rt_rss(&rd);
		anon[r] = xst_daemon_status_kb(&rd.d, "RssAnon");
		store[r] = rt_stat(rd.dom0, "store-bytes");
		printf("node flood: %s round %d: RSS %ld KiB (anon %ld), heap %ld bytes, store file %ld"
		       " bytes\n",
		       r ? "after" : "before", r, rss[r], anon[r], rt_stat(rd.dom0, "heap-bytes"),
		       store[r]);
	}
	/*
	 * While it lasts: what the quotas allow, up to three times over (the
	 * store file can hold two rounds: a checkpoint applies one's deletions
	 * and the next one's creations together), and a checkpoint's MiB in
	 * the log and in its overlay.
	 */
	rss_bounded(&in, "node flood", RSS_BOUND_KB(3 * data_kb + 2048));
	/* After: the heap given back (the sanitizer's quarantine keeps it), the store's room reused. */
	for (int r = 1; r <= FLOOD_ROUNDS && !RT_ASAN; r++)
		RT_CHECK(anon[r] - anon[0] < 1024, "anon RSS %ld KiB after round %d, %ld before",
			 anon[r], r, anon[0]);
	RT_CHECK(store[FLOOD_ROUNDS] - store[FLOOD_ROUNDS - 1] < data_kb * 1024 / 4 &&
			 anon[FLOOD_ROUNDS] - anon[FLOOD_ROUNDS - 1] < data_kb / 2 + (RT_ASAN ? 16384 : 0),
		 "a repeated flood grew the store file from %ld to %ld bytes, the anon RSS from %ld to"
		 " %ld KiB",
		 store[FLOOD_ROUNDS - 1], store[FLOOD_ROUNDS], anon[FLOOD_ROUNDS - 1],
		 anon[FLOOD_ROUNDS]);
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* ---------------------------------------------------------------- 2. big transactions held open */

/* Transactions opened first (until the quota or the budget refuses one). */
static void setup_transactions(struct attacker *a, struct xst_wire *w)
{
	struct xst_msg m;

	for (a->ntx = 0; a->ntx < 9; a->ntx++) {
		wire_call(w, XS_TRANSACTION_START, 0, "", 1, &m);
		if (m.hdr.type != XS_TRANSACTION_START)
			break;
		a->tx[a->ntx] = (uint32_t)strtoul(m.payload, NULL, 10);
	}
	a->res->note = a->ntx;
	RT_CHECK(a->ntx > 0, "domain %u: no transaction: %s", a->domid, rt_status(&m));
}

/* Big values into each transaction in turn. */
static void gen_txn_fill(struct attacker *a, unsigned long i, struct areq *r)
{
	int pl = snprintf(r->buf, sizeof(r->buf), "t/n%05lu", i) + 1;

	areq_write(r, a->tx[i % a->ntx], (size_t)pl, 't', a->vlen);
}

/* USED of "domain N WHAT: USED/LIMIT" in CONTROL stats domains (what: nodes, memory ...). */
static unsigned long domain_usage(struct xst_conn *dom0, uint32_t domid, const char *what)
{
	struct xst_msg m;
	char key[48];
	const char *at;

	rt_call(dom0, XS_CONTROL, 0, 0, RT_ARGS("stats", "domains"), &m);
	snprintf(key, sizeof(key), "domain %u %s: ", domid, what);
	at = strstr(m.payload, key);
	RT_CHECK(at != NULL, "no '%s' in stats domains: %s", key, m.payload);
	return strtoul(at + strlen(key), NULL, 10);
}

#define TXN_GUESTS 10
#define TXN_MEMORY (2560 * 1024) /* quota-memory (the default) */
#define TXN_MEMORY_SMALL (16 * 1024) /* half of the guests' own: reached in four writes, before the budget can be */

/*
 * Ten guests hold transactions full of 4000-byte values. Each domain's
 * memory quota bounds it (half have a small one of their own); together
 * they would pass the global budget, which stops them first: requests that
 * would grow the daemon get ENOMEM past it, except the privileged domain's,
 * out of its reserve. Nothing breaks an innocent connection.
 */
START_TEST(guests_holding_big_transactions_meet_their_quota_and_the_budget)
{
	static char big[4001];
	struct rt_daemon rd;
	struct innocents in;
	struct attacker *as[TXN_GUESTS];
	char conf[512], buf[160], id[16], q[16];
	unsigned long budget, reserve, used, base, by_quota = 0, by_budget = 0;
	long heap0, store0;

	xst_asan_small_quarantine();
	/*
	 * The budget: what the daemon holds at the start, 2 MiB for the guests,
	 * and a reserve for dom0. The budget is measured every 50 ms, so the
	 * guests may pass their part by what the daemon takes in meanwhile: the
	 * reserve must be bigger than that (a few MiB here).
	 */
	rt_start(&rd, NULL);
	heap0 = rt_stat(rd.dom0, "heap-bytes");
	store0 = rt_stat(rd.dom0, "store-bytes");
	rt_stop(&rd);
	reserve = 8 << 20;
	budget = (unsigned long)(heap0 + store0) + (2 << 20) + reserve;
	snprintf(conf, sizeof(conf),
		 "quota-memory = %u\nquota-node-size = 4096\nmemory-budget = %lu\n"
		 "memory-reserve = %lu\n",
		 TXN_MEMORY, budget, reserve);
	rt_start_conf(&rd, conf);
	innocents_up(&in, &rd);
	base = (unsigned long)(rt_stat(rd.dom0, "heap-bytes") + rt_stat(rd.dom0, "store-bytes"));
	snprintf(q, sizeof(q), "%u", TXN_MEMORY_SMALL);
	for (unsigned i = 0; i < TXN_GUESTS; i++) {
		as[i] = attacker_new(31 + i);
		as[i]->setup = setup_transactions;
		as[i]->gen = gen_txn_fill;
		as[i]->vlen = 4000;
		/* What the memory quota holds: the budget stops most of them before. */
		as[i]->n = TXN_MEMORY / 4000;
		attacker_start(as[i], &rd);
		snprintf(id, sizeof(id), "%u", as[i]->domid);
		if (i % 2)
			rt_must(rd.dom0, XS_SET_QUOTA, 0, 0, RT_ARGS(id, "memory", q), "OK");
	}
	in.guest_may_enomem = true;
	innocents_during(&in, as, TXN_GUESTS, 200);
	used = (unsigned long)(rt_stat(rd.dom0, "heap-bytes") + rt_stat(rd.dom0, "store-bytes"));
	/* Each was refused with ENOMEM: at its quota, or before it at the budget. */
	for (unsigned i = 0; i < TXN_GUESTS; i++) {
		unsigned long mem = domain_usage(rd.dom0, as[i]->domid, "memory");
		unsigned quota = i % 2 ? TXN_MEMORY_SMALL : TXN_MEMORY;

		printf("big transactions: domain %u, %ld transactions, %lu writes of 4000 bytes: %s;"
		       " memory %lu of %u\n",
		       as[i]->domid, as[i]->res->note, as[i]->n,
		       tally_str(&as[i]->res->t[0], buf, sizeof(buf)), mem, quota);
		RT_CHECK(tally_of(&as[i]->res->t[0], "ENOMEM") > 0 &&
				 tally_of(&as[i]->res->t[0], "OK") + tally_of(&as[i]->res->t[0], "ENOMEM") ==
					 as[i]->n,
			 "domain %u: %s", as[i]->domid, tally_str(&as[i]->res->t[0], buf, sizeof(buf)));
		RT_CHECK(mem < quota, "domain %u holds %lu bytes", as[i]->domid, mem);
		/* Two more values would have fitted its quota: the budget stopped it. */
		if (mem + 2 * 4100 < quota)
			by_budget++;
		else
			by_quota++;
	}
	printf("big transactions: %lu guests stopped by their quota, %lu by the budget; heap and store"
	       " %lu bytes (%lu at the start), budget %lu with a reserve of %lu: the guests passed"
	       " their part by %ld bytes\n",
	       by_quota, by_budget, used, base, budget, reserve, (long)used - (long)(budget - reserve));
	/*
	 * The budget is measured every 50 ms: the guests may pass their part by
	 * what they write meanwhile, which the reserve allows for, not the whole
	 * budget. (The sanitizer's allocator hides the heap from the measure.)
	 */
	if (!RT_ASAN)
		RT_CHECK(by_quota > 0 && by_budget > 0 && used < budget,
			 "%lu guests stopped by their quota, %lu by the budget; %lu bytes of %lu",
			 by_quota, by_budget, used, budget);
	/* dom0 still writes, big values too, out of its reserve. */
	memset(big, 'd', sizeof(big) - 1);
	for (unsigned i = 0; i < 16; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/tool/big%u", i);
		rt_write(rd.dom0, 0, path, big);
	}
	innocents_round(&in);
	innocents_served(&in, "big transactions");
	/* What the budget lets them hold (the sanitizer's heap escapes it: their quotas, then). */
	rss_bounded(&in, "big transactions",
		    RSS_BOUND_KB(RT_ASAN ? TXN_GUESTS / 2 * (TXN_MEMORY + TXN_MEMORY_SMALL) / 1024
					 : (long)(budget - base) / 1024));
	for (unsigned i = 0; i < TXN_GUESTS; i++) {
		attacker_end(as[i], rd.dom0);
		attacker_free(as[i]);
	}
	/*
	 * Once they are gone, what they held is given back and the innocent
	 * guest writes again (after the budget's next measure).
	 */
	rt_sleep_ms(100);
	used = (unsigned long)(rt_stat(rd.dom0, "heap-bytes") + rt_stat(rd.dom0, "store-bytes"));
	printf("big transactions: heap and store once the guests are gone: %lu bytes\n", used);
	if (!RT_ASAN)
		RT_CHECK(used < base + 256 * 1024, "%lu bytes held, %lu at the start", used, base);
	in.guest_may_enomem = false;
	innocents_round(&in);
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* ---------------------------------------------------------------- 3. requests that cost the store's size */

#define BIG_CHILDREN 20000

/* dom0 makes /big's children, pipelined over its own socket. */
static void gen_big_child(struct attacker *a, unsigned long i, struct areq *r)
{
	(void)a;
	r->type = XS_WRITE;
	r->tx = 0;
	r->len = (size_t)snprintf(r->buf, sizeof(r->buf), "/big/c%06lu", i) + 1;
}

static void make_big_directory(struct rt_daemon *rd, const char *const *perms)
{
	struct attacker *maker = attacker_new(0);
	struct xst_wire *w = xst_wire_socket(rd->d.socket);
	double t0 = rt_now_ms();

	RT_CHECK(w != NULL, "socket");
	rt_must(rd->dom0, XS_MKDIR, 0, 0, RT_ARGS("/big"), "OK");
	maker->gen = gen_big_child;
	maker->n = BIG_CHILDREN;
	maker->window = 64;
	pipe_run(maker, w, NULL);
	RT_CHECK(tally_of(&maker->res->t[0], "OK") == BIG_CHILDREN, "making /big");
	xst_wire_close(w);
	attacker_free(maker);
	rt_must(rd->dom0, XS_SET_PERMS, 0, 0, perms, "OK");
	printf("a directory of %u children made in %.0f ms\n", BIG_CHILDREN, rt_now_ms() - t0);
}

/* DIRECTORY_PART of /big at offset arg (in its first transaction, if it holds one). */
static void gen_dirpart(struct attacker *a, unsigned long i, struct areq *r)
{
	(void)i;
	r->type = XS_DIRECTORY_PART;
	r->tx = a->ntx ? a->tx[0] : 0;
	r->len = (size_t)snprintf(r->buf, sizeof(r->buf), "/big%c%s", 0, a->arg) + 1;
}

static void setup_one_transaction(struct attacker *a, struct xst_wire *w)
{
	struct xst_msg m;

	wire_call(w, XS_TRANSACTION_START, 0, "", 1, &m);
	RT_CHECK(m.hdr.type == XS_TRANSACTION_START, "TRANSACTION_START: %s", rt_status(&m));
	a->tx[0] = (uint32_t)strtoul(m.payload, NULL, 10);
	a->ntx = 1;
}

/*
 * The cost of one DIRECTORY_PART at this offset of /big (in a transaction
 * or not): a guest sends them pipelined for ms while the innocents are
 * served; the average time the daemon took for one, in ms. All must be
 * answered with a part (an offset past the end: an empty one).
 */
static double dirpart_cost(struct rt_daemon *rd, struct innocents *in, const char *offset,
			   bool in_txn, int ms)
{
	struct attacker *a = attacker_new(8);
	char buf[160];
	double t0, per;

	a->gen = gen_dirpart;
	snprintf(a->arg, sizeof(a->arg), "%s", offset);
	if (in_txn)
		a->setup = setup_one_transaction;
	attacker_start(a, rd);
	t0 = rt_now_ms();
	innocents_during(in, &a, 1, ms);
	per = (rt_now_ms() - t0) / (double)a->res->answered;
	printf("DIRECTORY_PART at %s of %u children%s: %s in %.0f ms, %.3f ms each\n", offset,
	       BIG_CHILDREN, in_txn ? ", in a transaction" : "",
	       tally_str(&a->res->t[0], buf, sizeof(buf)), rt_now_ms() - t0, per);
	RT_CHECK(a->res->answered > 0 && tally_of(&a->res->t[0], "OK") == a->res->answered,
		 "DIRECTORY_PART at %s: %s", offset, tally_str(&a->res->t[0], buf, sizeof(buf)));
	attacker_end(a, rd->dom0);
	attacker_free(a);
	return per;
}

/*
 * A part's cost follows what it returns, not the directory's size (an
 * offset past the end returns nothing). A directory walk per request
 * would cost some 3 ms here in a transaction; the bound leaves room for a
 * loaded machine and the sanitizer.
 */
#define DIRPART_MS (RT_ASAN ? 0.5 : 0.2)

/* RM of /big in one of the transactions it holds. */
static void gen_rm_in_txn(struct attacker *a, unsigned long i, struct areq *r)
{
	r->type = XS_RM;
	r->tx = a->tx[i % a->ntx];
	r->len = sizeof("/big");
	memcpy(r->buf, "/big", sizeof("/big"));
}

#define WATCHERS 4

/*
 * dom0 removes /big while guests watch it and many of its children, as
 * many as their watch quota allows (robustness 1.3 #21): each watch fires
 * once, no more; the RM takes what 20,000 nodes take, not that times the
 * watches.
 */
static void big_directory_removed_under_watches(struct rt_daemon *rd, struct innocents *in)
{
	struct rt_guest w[WATCHERS];
	struct xst_event ev;
	char path[32], tok[16];
	double t0, rm_ms;

	for (unsigned i = 0; i < WATCHERS; i++) {
		rt_guest_here(&w[i], rd, 41 + i);
		rt_watch(w[i].c, "/big", "big", NULL);
		for (unsigned k = 0; k < 126; k++) {
			snprintf(path, sizeof(path), "/big/c%06u", k * 157 + i);
			snprintf(tok, sizeof(tok), "c%u", k);
			rt_watch(w[i].c, path, tok, NULL);
		}
		rt_must(w[i].c, XS_WATCH, 0, 0, RT_ARGS("/big/c000000", "over"), "ENOSPC");
	}
	t0 = rt_now_ms();
	rt_must(rd->dom0, XS_RM, 0, 0, RT_ARGS("/big"), "OK");
	rm_ms = rt_now_ms() - t0;
	innocents_round(in);
	for (unsigned i = 0; i < WATCHERS; i++) {
		unsigned got = 0;
		bool seen[127] = {false};

		while (xst_event(w[i].c, &ev, got < 127 ? RT_CALL_MS : 50) == 0) {
			unsigned k = ev.name[0] == 'c' ? (unsigned)atoi(ev.name + 1) : 126;

			RT_CHECK(k < 127 && !seen[k], "domain %u: event %s %s again", w[i].domid, ev.path,
				 ev.name);
			seen[k] = true;
			got++;
		}
		RT_CHECK(got == 127, "domain %u: %u events for its 127 watches", w[i].domid, got);
		rt_guest_down(&w[i]);
		rt_wait_gone(rd->dom0, w[i].domid);
	}
	printf("RM of %u children under %u x 127 watches: %.1f ms, each watch fired once\n",
	       BIG_CHILDREN, WATCHERS, rm_ms);
	RT_CHECK(rm_ms < RT_LIVE_MS, "the RM took %.1f ms", rm_ms);
}

/*
 * Requests whose cost once grew with the store (the issue: DIRECTORY_PART
 * past the end of a 100,000-child directory, 14-17 ms each in a
 * transaction, kept a dom0 READ waiting over 10 s; RM in a transaction
 * listed the whole subtree first), sent pipelined by guests against a
 * 20,000-child directory that every domain may read and domain 7 write:
 * - DIRECTORY_PART with an offset past the end, outside and inside a
 *   transaction, costs next to nothing;
 * - RM of it in a transaction stops at the transaction-nodes quota
 *   (ENOSPC) for domain 7, and is refused first (EACCES) for domain 8;
 * and dom0 and a guest are served meanwhile. Then dom0 removes it while
 * guests watch it at many levels.
 */
START_TEST(requests_against_a_big_directory_cost_their_reply)
{
	struct rt_daemon rd;
	struct innocents in;
	struct attacker *as[2];
	char buf[160];
	double out, tx, t0;

	xst_asan_small_quarantine();
	rt_start(&rd, NULL);
	make_big_directory(&rd, RT_ARGS("/big", "r0", "b7"));
	innocents_up(&in, &rd);
	out = dirpart_cost(&rd, &in, "1000000000", false, 300);
	tx = dirpart_cost(&rd, &in, "1000000000", true, 300);
	RT_CHECK(out < DIRPART_MS && tx < DIRPART_MS, "a part past the end cost %.3f ms (%.3f in a"
		 " transaction), bound %.1f", out, tx, DIRPART_MS);
	for (unsigned i = 0; i < 2; i++) {
		as[i] = attacker_new(7 + i);
		as[i]->setup = setup_transactions;
		as[i]->gen = gen_rm_in_txn;
		attacker_start(as[i], &rd);
	}
	t0 = rt_now_ms();
	innocents_during(&in, as, 2, 300);
	for (unsigned i = 0; i < 2; i++) {
		const char *want = i ? "EACCES" : "ENOSPC";

		printf("RM /big in a transaction, domain %u: %s in %.0f ms\n", as[i]->domid,
		       tally_str(&as[i]->res->t[0], buf, sizeof(buf)), rt_now_ms() - t0);
		RT_CHECK(as[i]->res->answered > 0 &&
				 tally_of(&as[i]->res->t[0], want) == as[i]->res->answered,
			 "domain %u: %s, expected all %s", as[i]->domid,
			 tally_str(&as[i]->res->t[0], buf, sizeof(buf)), want);
		attacker_end(as[i], rd.dom0);
		attacker_free(as[i]);
	}
	/* Nothing was removed. */
	rt_read_is(rd.dom0, 0, "/big/c019999", "");
	big_directory_removed_under_watches(&rd, &in);
	innocents_served(&in, "requests against a big directory");
	rss_bounded(&in, "requests against a big directory", RSS_BOUND_KB(0));
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* ---------------------------------------------------------------- 4. a domain named everywhere dies */

/* Nodes d<k>/n<j> under its home, 100 to a directory (node-size), then each names domain arg. */
static void gen_name_victim(struct attacker *a, unsigned long i, struct areq *r)
{
	unsigned long k = i < a->n / 2 ? i : i - a->n / 2;
	int pl = snprintf(r->buf, sizeof(r->buf), "d%02lu/n%02lu", k / 100, k % 100) + 1;

	r->tx = 0;
	if (i < a->n / 2) {
		r->type = XS_WRITE;
		r->len = (size_t)pl;
		return;
	}
	r->type = XS_SET_PERMS;
	r->len = (size_t)pl;
	r->len += (size_t)snprintf(r->buf + r->len, sizeof(r->buf) - r->len, "n%u", a->domid) + 1;
	r->len += (size_t)snprintf(r->buf + r->len, sizeof(r->buf) - r->len, "r%s", a->arg) + 1;
}

/*
 * Attackers name the victim in the permissions of nodes (as many as a
 * quota allows each), then the victim dies: the daemon removes every entry
 * naming it. The innocents' calls during the clean-up, and the time from
 * the death to @releaseDomain. Returns that time in ms.
 */
static double victim_named_dies(struct rt_daemon *rd, struct innocents *in, unsigned attackers,
				unsigned long nodes)
{
	struct attacker *as[16];
	struct rt_guest victim;
	struct xst_conn *w = rt_connect(rd);
	struct xst_event ev;
	char buf[160];
	double t0, took = -1;

	RT_CHECK(attackers <= 16, "too many attackers");
	for (unsigned i = 0; i < attackers; i++) {
		as[i] = attacker_new(11 + i);
		as[i]->gen = gen_name_victim;
		as[i]->n = 2 * nodes;
		snprintf(as[i]->arg, sizeof(as[i]->arg), "9");
		attacker_start(as[i], rd);
	}
	/* After the forks: a guest process holding its registration would keep it alive. */
	rt_guest_here(&victim, rd, 9);
	rt_watch(w, "@releaseDomain/9", "rel", "0");
	innocents_during(in, as, attackers, 0);
	for (unsigned i = 0; i < attackers; i++)
		RT_CHECK(tally_of(&as[i]->res->t[0], "OK") == as[i]->n, "domain %u: %s", as[i]->domid,
			 tally_str(&as[i]->res->t[0], buf, sizeof(buf)));
	rt_perms_are(rd->dom0, "/local/domain/11/d00/n00", "n11 r9");
	/*
	 * The victim dies: the innocents go on until @releaseDomain/9 says its
	 * clean-up is done; their slowest calls are counted from here.
	 */
	in->dom0_ms = in->guest_ms = in->connect_ms = 0;
	rt_guest_down(&victim);
	t0 = rt_now_ms();
	while (rt_now_ms() - t0 < 20000) {
		innocents_round(in);
		if (took < 0 && xst_event(w, &ev, 0) == 0)
			took = rt_now_ms() - t0;
		if (took >= 0 && rt_now_ms() - t0 > took + 50)
			break;
	}
	RT_CHECK(took >= 0, "no @releaseDomain/9 within 20 s");
	printf("a domain named on %u x %lu nodes died: @releaseDomain after %.1f ms\n", attackers, nodes,
	       took);
	/* Nothing names it any more; the attackers' nodes stay. */
	rt_perms_are(rd->dom0, "/local/domain/11/d00/n00", "n11");
	rt_must(rd->dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	for (unsigned i = 0; i < attackers; i++) {
		attacker_end(as[i], rd->dom0);
		attacker_free(as[i]);
	}
	xst_conn_close(w);
	return took;
}

/*
 * A guest names another domain on each node it may own (the issue: 600,000
 * nodes stalled the daemon 5.7 s at that domain's death); with the node
 * quota, three guests of 2,000 nodes each. dom0 and a guest are served
 * during the clean-up.
 */
START_TEST(death_of_a_domain_named_in_many_permissions)
{
	struct rt_daemon rd;
	struct innocents in;

	xst_asan_small_quarantine();
	rt_start_conf(&rd, "quota-nodes = 2000\n");
	innocents_up(&in, &rd);
	/* Home, 19 directories and 1,900 nodes: 1,920 of the 1,999 a domain may own. */
	victim_named_dies(&rd, &in, 3, 1900);
	innocents_served(&in, "a named domain's death");
	/* Small nodes: a KiB each is more than their records, index and log take. */
	rss_bounded(&in, "a named domain's death", RSS_BOUND_KB(3 * 2000));
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* ---------------------------------------------------------------- 5. every quota of a domain at once */

#define EQ_NODES 200  /* quota-nodes */
#define EQ_WATCHES 128 /* quota-watches (the default) */
#define EQ_MEMORY (512 * 1024)
#define EQ_TOKEN 2000 /* a watch token's length */

/*
 * path-max (2048) for WATCH and SET_PERMS, as for every request (issue 12:
 * they once skipped it, so a guest could register a watch it could never
 * remove): a path below the home of 2047 bytes goes, 2048 does not.
 */
static void path_max_edge(struct xst_wire *w)
{
	static char buf[2 * 2048 + 16];
	struct xst_msg m;
	size_t at;

	for (size_t len = 2047; len <= 2048; len++) {
		const char *want = len < 2048 ? "OK" : "EINVAL";

		memset(buf, 'p', len);
		buf[len] = '\0';
		at = len + 1;
		memcpy(buf + at, "t", 2);
		wire_call(w, XS_WATCH, 0, buf, at + 2, &m);
		RT_CHECK(strcmp(rt_status(&m), want) == 0, "WATCH of %zu bytes: %s", len,
			 rt_status(&m));
		wire_call(w, XS_UNWATCH, 0, buf, at + 2, &m);
		RT_CHECK(strcmp(rt_status(&m), len < 2048 ? "OK" : "EINVAL") == 0,
			 "UNWATCH of %zu bytes: %s", len, rt_status(&m));
		memcpy(buf + at, "n7", 3);
		wire_call(w, XS_SET_PERMS, 0, buf, at + 3, &m);
		/* The shorter one is not there: ENOENT, past the path's checks. */
		RT_CHECK(strcmp(rt_status(&m), len < 2048 ? "ENOENT" : "EINVAL") == 0,
			 "SET_PERMS of %zu bytes: %s", len, rt_status(&m));
	}
}

/* Its transactions, then a tenth refused (quota-transactions 10); path-max's edge. */
static void setup_every_quota(struct attacker *a, struct xst_wire *w)
{
	struct xst_msg m;

	path_max_edge(w);
	setup_transactions(a, w);
	RT_CHECK(a->ntx == 9, "domain %u opened %u transactions", a->domid, a->ntx);
	wire_call(w, XS_TRANSACTION_START, 0, "", 1, &m);
	RT_CHECK(strcmp(rt_status(&m), "ENOSPC") == 0, "a tenth transaction: %s", rt_status(&m));
}

/*
 * Phase 0: nodes of 4000 bytes (250, for 198 allowed); 1: watches with
 * 2000-byte tokens (150, for 127); 2: 4000-byte values for those nodes in
 * its transactions (300, until the memory quota, which the watches share).
 */
static void gen_every_quota(struct attacker *a, unsigned long i, struct areq *r)
{
	int pl;

	if (i < 250) {
		pl = snprintf(r->buf, sizeof(r->buf), "n%03lu", i) + 1;
		areq_write(r, 0, (size_t)pl, 'v', 4000);
		return;
	}
	if (i < 400) {
		r->phase = 1;
		r->type = XS_WATCH;
		r->tx = 0;
		pl = snprintf(r->buf, sizeof(r->buf), "n%03lu", i - 250) + 1;
		memset(r->buf + pl, 'w', EQ_TOKEN);
		r->len = (size_t)pl + EQ_TOKEN;
		r->len += (size_t)snprintf(r->buf + r->len, sizeof(r->buf) - r->len, "%lu", i) + 1;
		return;
	}
	/* Its nodes again (it may own no more), in each transaction in turn. */
	r->phase = 2;
	pl = snprintf(r->buf, sizeof(r->buf), "n%03lu", (i - 400) / a->ntx) + 1;
	areq_write(r, a->tx[(i - 400) % a->ntx], (size_t)pl, 't', 4000);
}

/*
 * One guest takes all its quotas allow at once (CVE-2022-42315, robustness
 * 1.3 #32): the biggest nodes, as many as it may own, the most watches
 * with long tokens, the most transactions, full of big values. Each is
 * refused at its edge; what it holds stays under its memory quota; the
 * soft quota's warning is logged once.
 */
START_TEST(one_guest_at_every_quota_at_once)
{
	struct rt_daemon rd;
	struct innocents in;
	struct attacker *a;
	char conf[256], buf[160];
	unsigned long mem;

	xst_asan_small_quarantine();
	snprintf(conf, sizeof(conf),
		 "quota-nodes = %u\nquota-node-size = 4096\nquota-memory = %u\n"
		 "quota-soft-memory = %u\n",
		 EQ_NODES, EQ_MEMORY, EQ_MEMORY * 3 / 4);
	rt_start_conf(&rd, conf);
	innocents_up(&in, &rd);
	a = attacker_new(7);
	a->setup = setup_every_quota;
	a->gen = gen_every_quota;
	a->n = 700;
	attacker_start(a, &rd);
	innocents_during(&in, &a, 1, 100);
	mem = domain_usage(rd.dom0, 7, "memory");
	for (unsigned ph = 0; ph < 3; ph++)
		printf("every quota: phase %u: %s\n", ph, tally_str(&a->res->t[ph], buf, sizeof(buf)));
	printf("every quota: memory %lu of %u\n", mem, EQ_MEMORY);
	RT_CHECK(tally_of(&a->res->t[0], "OK") == EQ_NODES - 2 &&
			 tally_of(&a->res->t[0], "ENOSPC") == 250 - (EQ_NODES - 2),
		 "nodes: %s", tally_str(&a->res->t[0], buf, sizeof(buf)));
	RT_CHECK(tally_of(&a->res->t[1], "OK") == EQ_WATCHES - 1 &&
			 tally_of(&a->res->t[1], "ENOSPC") == 150 - (EQ_WATCHES - 1),
		 "watches: %s", tally_str(&a->res->t[1], buf, sizeof(buf)));
	RT_CHECK(tally_of(&a->res->t[2], "OK") > 0 &&
			 tally_of(&a->res->t[2], "OK") + tally_of(&a->res->t[2], "ENOMEM") == 300,
		 "transactions' values: %s", tally_str(&a->res->t[2], buf, sizeof(buf)));
	RT_CHECK(mem < EQ_MEMORY && mem > EQ_MEMORY - 2 * 4100, "memory %lu of %u", mem, EQ_MEMORY);
	RT_CHECK(xst_daemon_log_count(&rd.d, "past its soft quota") == 1,
		 "%d soft-quota warnings logged", xst_daemon_log_count(&rd.d, "past its soft quota"));
	innocents_served(&in, "every quota");
	rss_bounded(&in, "every quota", RSS_BOUND_KB((EQ_NODES * 4096 + EQ_MEMORY) / 1024));
	attacker_end(a, rd.dom0);
	attacker_free(a);
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* ---------------------------------------------------------------- 6. more of robustness.md 1.3 */

#define CHAIN_LEVELS 1024 /* "a/a/.../a": 2047 bytes, the longest path-max (2048) allows */

/*
 * The deepest chain a guest can make (robustness 1.3 #18, XSA-418: a
 * recursive walk of one exhausted the C daemon's stack), in one request:
 * read, listed, checked, removed, made again and left behind by the guest's
 * death, with the daemon's stack limited to 256 KiB. The node quota is
 * checked before the request, as the C daemon does, so one request making
 * many levels passes it, once: by at most the levels a path holds. Its
 * keys are some 1 MiB (each level's path); the request that makes them all
 * takes several times that while it runs (the overlay's records, the log,
 * its scratch, which the daemon keeps for the next requests): 14 MiB of
 * RSS here.
 */
START_TEST(deepest_chain_a_guest_can_make)
{
	static char path[2 * CHAIN_LEVELS];
	struct rlimit old, small;
	struct rt_daemon rd;
	struct innocents in;
	struct rt_guest g;
	unsigned long nodes;
	double t0;

	for (unsigned i = 0; i < CHAIN_LEVELS; i++)
		memcpy(path + 2 * i, "a/", 2);
	path[2 * CHAIN_LEVELS - 1] = '\0';
	xst_asan_small_quarantine();
	RT_CHECK(getrlimit(RLIMIT_STACK, &old) == 0, "getrlimit");
	small = old;
	small.rlim_cur = (RT_ASAN ? 1024 : 256) * 1024;
	RT_CHECK(setrlimit(RLIMIT_STACK, &small) == 0, "setrlimit");
	rt_start_conf(&rd, "quota-nodes = 100\n");
	RT_CHECK(setrlimit(RLIMIT_STACK, &old) == 0, "setrlimit");
	innocents_up(&in, &rd);
	rt_guest_here(&g, &rd, 7);
	t0 = rt_now_ms();
	rt_write(g.c, 0, path, "deep");
	nodes = domain_usage(rd.dom0, 7, "nodes");
	printf("deepest chain: %u levels made in %.1f ms; domain 7 owns %lu nodes (quota 100)\n",
	       CHAIN_LEVELS, rt_now_ms() - t0, nodes);
	RT_CHECK(nodes == 1 + CHAIN_LEVELS, "domain 7 owns %lu nodes", nodes);
	rt_must(g.c, XS_WRITE, 0, 1, RT_ARGS("b", "v"), "ENOSPC");
	rt_must(g.c, XS_MKDIR, 0, 0, RT_ARGS(path), "OK");
	rt_read_is(g.c, 0, path, "deep");
	path[2 * CHAIN_LEVELS - 3] = '\0';
	RT_ANSWER_STR(g.c, XS_DIRECTORY, path, "a");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	innocents_round(&in);
	t0 = rt_now_ms();
	rt_must(g.c, XS_RM, 0, 0, RT_ARGS("a"), "OK");
	printf("deepest chain: removed in %.1f ms\n", rt_now_ms() - t0);
	RT_CHECK(domain_usage(rd.dom0, 7, "nodes") == 1, "domain 7 owns %lu nodes after the RM",
		 domain_usage(rd.dom0, 7, "nodes"));
	innocents_round(&in);
	/* Again, and the guest dies with it: its clean-up walks it. */
	path[2 * CHAIN_LEVELS - 3] = '/';
	rt_write(g.c, 0, path, "deep");
	rt_guest_down(&g);
	rt_wait_gone(rd.dom0, 7);
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/7"), "ENOENT");
	rt_must(rd.dom0, XS_CONTROL, 0, 0, RT_ARGS("check"), "OK");
	innocents_round(&in);
	innocents_served(&in, "deepest chain");
	rss_bounded(&in, "deepest chain", RSS_BOUND_KB(16 * 1024));
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* The backend's nodes, readable by its frontend (domain arg), before it floods them. */
static void setup_backend(struct attacker *a, struct xst_wire *w)
{
	static const char perms[] = "data\0n21\0r22";
	struct xst_msg m;

	(void)a;
	wire_call(w, XS_WRITE, 0, "data", 5, &m);
	RT_CHECK(strcmp(rt_status(&m), "OK") == 0, "WRITE data: %s", rt_status(&m));
	wire_call(w, XS_SET_PERMS, 0, perms, sizeof(perms), &m);
	RT_CHECK(strcmp(rt_status(&m), "OK") == 0, "SET_PERMS data: %s", rt_status(&m));
}

/*
 * Its nodes rewritten round after round, 400 of them (800 with their
 * parents, of its 1,000): data/k<n>/<a 1,900-byte name>, so that each
 * event is another (the same event still queued is coalesced) and big.
 */
static void gen_backend(struct attacker *a, unsigned long i, struct areq *r)
{
	int pl = snprintf(r->buf, sizeof(r->buf), "data/k%03lu/", i % 400);

	(void)a;
	memset(r->buf + pl, 'n', 1900);
	pl += 1900;
	r->buf[pl++] = '\0';
	areq_write(r, 0, (size_t)pl, 'b', 100);
}

/*
 * A guest (a backend) rewrites its nodes as fast as it can while another
 * (its frontend) watches them and never reads its ring (robustness 1.3
 * #52, #44 with a guest writing): the watcher's queue stays under
 * conn-output-max (the events past it dropped and counted), the writer is
 * neither refused nor stopped, dom0 and a guest are served; the watcher,
 * reading at last, gets what was kept and is served.
 */
START_TEST(backend_flooding_a_deaf_frontends_watch)
{
	struct rt_daemon rd;
	struct innocents in;
	struct attacker *a;
	struct rt_guest deaf;
	struct xst_event ev;
	char buf[160];
	unsigned got = 0;
	long dropped;

	xst_asan_small_quarantine();
	rt_start_conf(&rd, "conn-output-max = 65536\n");
	innocents_up(&in, &rd);
	a = attacker_new(21);
	a->setup = setup_backend;
	a->gen = gen_backend;
	attacker_start(a, &rd);
	/* After the fork, as always for a guest that dies first. */
	rt_guest_here(&deaf, &rd, 22);
	rt_watch(deaf.c, "/local/domain/21/data", "w", NULL);
	innocents_during(&in, &a, 1, 500);
	dropped = rt_stat(rd.dom0, "events-dropped");
	printf("backend flood: %s; events dropped %ld\n", tally_str(&a->res->t[0], buf, sizeof(buf)),
	       dropped);
	RT_CHECK(tally_of(&a->res->t[0], "OK") == a->res->answered && a->res->answered >= 100,
		 "the backend's writes: %s", tally_str(&a->res->t[0], buf, sizeof(buf)));
	RT_CHECK(dropped > 0, "no event dropped: the queue bound was never reached");
	innocents_served(&in, "backend flood");
	/* Its nodes (some 2 KiB each, twice: records and log) and the watcher's queue. */
	rss_bounded(&in, "backend flood", RSS_BOUND_KB(2 * 400 * 2 + 64));
	attacker_end(a, rd.dom0);
	attacker_free(a);
	while (xst_event(deaf.c, &ev, 100) == 0) {
		RT_CHECK(strncmp(ev.path, "/local/domain/21/data", 21) == 0, "event %s", ev.path);
		got++;
	}
	/* What was kept: the queue's bound, in events of some 1,950 bytes. */
	RT_CHECK(got > 0 && got * 1900 < 2 * 65536, "%u events kept for the deaf frontend", got);
	rt_write(deaf.c, 0, "data/x", "1");
	rt_read_is(deaf.c, 0, "data/x", "1");
	rt_guest_down(&deaf);
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* A socket connected without waiting to be accepted; -1 if the listen queue is full. */
static int connect_nowait(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	RT_CHECK(fd >= 0 && strlen(path) < sizeof(sa.sun_path), "socket %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		RT_CHECK(errno == EAGAIN, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

#define FD_ROOM 24   /* descriptors the daemon may open beyond those it has */
#define FD_CONNS 48  /* connections the clients open */

/*
 * Socket clients open connections until the daemon has no descriptor left
 * (its limit lowered to what it has open and 24 more; robustness 1.3 #66):
 * it stops accepting for a moment instead of failing or spinning, the
 * connections it has and the guests' rings are served, a domain introduced
 * meanwhile gets an answer; once some close, every waiting one is served.
 */
START_TEST(socket_clients_exhausting_the_daemons_descriptors)
{
	static const unsigned char read_root[] = {XS_READ, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, '/', 0};
	struct rt_daemon rd;
	struct innocents in;
	struct rlimit lim;
	struct rt_guest late;
	int fds[FD_CONNS], nfd0, answered = 0;

	rt_start(&rd, NULL);
	innocents_up(&in, &rd);
	/*
	 * A domain to introduce once the daemon is out of descriptors: its home,
	 * and its registration with the simulated hypervisor (a socket of the
	 * daemon's, which could not accept it then), made first.
	 */
	rt_guest_register(&late, &rd, 23);
	rt_must(rd.dom0, XS_MKDIR, 0, 0, RT_ARGS("/local/domain/23"), "OK");
	rt_must(rd.dom0, XS_SET_PERMS, 0, 0, RT_ARGS("/local/domain/23", "n23"), "OK");
	nfd0 = rt_daemon_fds(&rd);
	lim.rlim_cur = lim.rlim_max = (rlim_t)(nfd0 + FD_ROOM);
	RT_CHECK(prlimit(rd.d.pid, RLIMIT_NOFILE, &lim, NULL) == 0, "prlimit: %s", strerror(errno));
	for (unsigned i = 0; i < FD_CONNS; i++) {
		fds[i] = connect_nowait(rd.d.socket);
		RT_CHECK(fds[i] >= 0, "connection %u: the listen queue is full", i);
		RT_CHECK(write(fds[i], read_root, sizeof(read_root)) == (ssize_t)sizeof(read_root),
			 "send");
	}
	/* Served meanwhile: dom0 and the guest over what they have. */
	for (unsigned i = 0; i < 10; i++) {
		double d = rt_probe(rd.dom0, "/probe", i), g = rt_probe(in.g.c, "data", i);

		long rss = rt_rss(&rd);

		in.dom0_ms = d > in.dom0_ms ? d : in.dom0_ms;
		in.guest_ms = g > in.guest_ms ? g : in.guest_ms;
		in.rss_peak = rss > in.rss_peak ? rss : in.rss_peak;
		rt_sleep_ms(10);
	}
	/* It ran out, and said so once: the log line is rate-limited. */
	RT_CHECK(xst_daemon_log_count(&rd.d, "accept (pausing for 100 ms") == 1,
		 "the daemon said %d times it ran out of descriptors (%d open), not once",
		 xst_daemon_log_count(&rd.d, "accept (pausing for 100 ms"), rt_daemon_fds(&rd));
	/* The domain introduced now: it works at once, on the descriptors kept back (fd-reserve). */
	{
		char port[16];

		snprintf(port, sizeof(port), "%u", xsl_simdom_port(late.dom));
		rt_must(rd.dom0, XS_INTRODUCE, 0, 0, RT_ARGS("23", "0", port), "OK");
	}
	/* Half go away: the others are accepted and answered. */
	for (unsigned i = 0; i < FD_CONNS / 2; i++)
		close(fds[i]);
	for (unsigned i = FD_CONNS / 2; i < FD_CONNS; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};
		unsigned char hdr[XS_HEADER_SIZE];

		RT_CHECK(poll(&p, 1, RT_CALL_MS) == 1, "connection %u not answered", i);
		RT_CHECK(read(fds[i], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && hdr[0] == XS_READ &&
				 hdr[4] == 7,
			 "connection %u: a bad answer", i);
		answered++;
		close(fds[i]);
	}
	printf("descriptors: the daemon's limit %d (%d open before); of %d connections, %d answered"
	       " once half of them closed\n",
	       nfd0 + FD_ROOM, nfd0, FD_CONNS, answered);
	late.c = xst_conn_ring(late.dom, RT_CALL_MS);
	RT_CHECK(late.c != NULL, "domain 23's ring");
	rt_write(late.c, 0, "data/x", "1");
	rt_read_is(late.c, 0, "data/x", "1");
	innocents_round(&in);
	innocents_served(&in, "descriptors");
	rss_bounded(&in, "descriptors", RSS_BOUND_KB(0));
	rt_guest_down(&late);
	innocents_down(&in);
	rt_stop(&rd);
}
END_TEST

/* ---------------------------------------------------------------- once known bugs, now fixed */

/*
 * Nodes made in transactions count against the nodes quota (protocol.md 5.1
 * and 7.1: ENOSPC on node creation, and at commit). A creation inside a
 * transaction counts the nodes the domain owns as committed and what the
 * transaction itself created so far; the commit is judged again against
 * what is committed by then. A guest with a quota of 100 nodes creates 95
 * in each of nine transactions, under directories of its own (so that they
 * do not conflict), and commits them all: each transaction gets as far as
 * the quota allows it alone, the first commit takes the domain to 99 nodes
 * (a domain holds value - 1), and every other commit is refused with
 * ENOSPC. (It used to own 865, and with the defaults could own up to
 * 1,000 + 9 x 1,023 nodes, its open transactions times transaction-nodes.)
 */
START_TEST(nodes_made_in_transactions_count_against_the_quota)
{
	struct rt_daemon rd;
	struct rt_guest g;
	xsl_txn_t tx[9];
	struct xst_msg m;
	char path[64], wbuf[160], cbuf[160];
	struct tally writes = {{0}}, commits = {{0}};
	unsigned long base, nodes, room;

	rt_start_conf(&rd, "quota-nodes = 100\n");
	rt_guest_here(&g, &rd, 7);
	for (unsigned t = 0; t < 9; t++) {
		snprintf(path, sizeof(path), "t%u", t);
		rt_must(g.c, XS_MKDIR, 0, 0, RT_ARGS(path), "OK");
	}
	base = domain_usage(rd.dom0, 7, "nodes");
	for (unsigned t = 0; t < 9; t++) {
		tx[t] = rt_tx_start(g.c);
		for (unsigned i = 0; i < 95; i++) {
			snprintf(path, sizeof(path), "t%u/n%02u", t, i);
			rt_call(g.c, XS_WRITE, tx[t], 1, RT_ARGS(path, "v"), &m);
			writes.n[status_of(&m)]++;
		}
	}
	for (unsigned t = 0; t < 9; t++) {
		rt_call(g.c, XS_TRANSACTION_END, tx[t], 0, RT_ARGS("T"), &m);
		commits.n[status_of(&m)]++;
	}
	nodes = domain_usage(rd.dom0, 7, "nodes");
	printf("nodes in transactions: domain 7 owned %lu; writes %s; commits %s; it owns %lu nodes,"
	       " quota 100\n",
	       base, tally_str(&writes, wbuf, sizeof(wbuf)), tally_str(&commits, cbuf, sizeof(cbuf)),
	       nodes);
	rt_guest_down(&g);
	rt_stop(&rd);
	RT_CHECK(base < 99 - 9, "domain 7 owned %lu nodes before its transactions", base);
	room = 99 - base;
	RT_CHECK(nodes == 99, "domain 7 owns %lu nodes with a quota of 100 (commits: %s)", nodes,
		 cbuf);
	/* Each transaction alone: as many nodes as the quota leaves, then ENOSPC. */
	RT_CHECK(tally_of(&writes, "OK") == 9 * room && tally_of(&writes, "ENOSPC") == 9 * (95 - room),
		 "writes: %s, expected OK %lu ENOSPC %lu", wbuf, 9 * room, 9 * (95 - room));
	RT_CHECK(tally_of(&commits, "OK") == 1 && tally_of(&commits, "ENOSPC") == 8,
		 "commits: %s, expected OK 1 ENOSPC 8", cbuf);
}
END_TEST

#define VICTIMS 4

/*
 * When memory really runs out (here: no budget, the daemon's data segment
 * limited to what it has and 6 MiB more, while ten guests keep filling
 * transactions), a domain that dies then is still cleaned up: an
 * allocation failure releases the emergency reserve (memory-emergency),
 * unprivileged growth gets ENOMEM until memory is back, and a clean-up
 * that fails is tried again later, never given up; @releaseDomain once it
 * is done. Its nodes are not left for the next domain given that domid
 * (XSA-322/419's class). Meanwhile new dom0 connections are served, and an
 * allocation failure reading a record is ENOMEM, not a "damaged record".
 * (Once a known bug: cleanup.c gave up, and dom0's new connections were
 * dropped at accept.) Not run under the sanitizer (its allocator does not
 * live with the limit).
 */
START_TEST(a_domain_dying_while_memory_is_short_is_still_cleaned_up)
{
	struct rt_daemon rd;
	struct attacker *as[TXN_GUESTS];
	struct rt_guest v[VICTIMS];
	struct rlimit lim;
	struct xst_conn *w;
	struct xst_event ev;
	char buf[160], path[48];
	unsigned left = 0, released = 0;
	int fresh;

	if (RT_ASAN)
		return;
	rt_start_conf(&rd, "memory-budget = 0\nquota-node-size = 4096\n");
	for (unsigned i = 0; i < TXN_GUESTS; i++) {
		as[i] = attacker_new(31 + i);
		as[i]->setup = setup_transactions;
		as[i]->gen = gen_txn_fill;
		as[i]->vlen = 4000;
		attacker_start(as[i], &rd);
	}
	/* The victims, after the forks; each with a node of its own. */
	w = rt_connect(&rd);
	for (unsigned i = 0; i < VICTIMS; i++) {
		rt_guest_here(&v[i], &rd, 51 + i);
		rt_write(v[i].c, 0, "secret", "s");
		snprintf(path, sizeof(path), "@releaseDomain/%u", 51 + i);
		rt_watch(w, path, "rel", "0");
	}
	lim.rlim_cur = lim.rlim_max =
		(rlim_t)(xst_daemon_status_kb(&rd.d, "VmData") + 6 * 1024) * 1024;
	RT_CHECK(prlimit(rd.d.pid, RLIMIT_DATA, &lim, NULL) == 0, "prlimit: %s", strerror(errno));
	/* The guests fill the daemon, and go on taking whatever is freed. */
	for (unsigned i = 0; i < TXN_GUESTS; i++)
		rt_tell(&as[i]->ch, 'g');
	rt_sleep_ms(300);
	for (unsigned i = 0; i < VICTIMS; i++) {
		rt_guest_down(&v[i]);
		rt_wait_gone(rd.dom0, 51 + i);
	}
	rt_sleep_ms(100);
	/* A new dom0 connection meanwhile. */
	{
		struct xst_conn *c = rt_connect(&rd);
		struct xst_msg m;

		fresh = xst_call(c, 0, XS_READ, 0, RT_ARGS("/"), &m);
		xst_conn_close(c);
	}
	for (unsigned i = 0; i < TXN_GUESTS; i++) {
		rt_tell(&as[i]->ch, 's');
		rt_hear(&as[i]->ch, 'd');
		printf("short of memory: domain %u: %s\n", as[i]->domid,
		       tally_str(&as[i]->res->t[0], buf, sizeof(buf)));
		attacker_end(as[i], rd.dom0);
		attacker_free(as[i]);
	}
	/* Memory is back: every dead victim's nodes must be gone, and its release told. */
	while (xst_event(w, &ev, 300) == 0)
		released++;
	for (unsigned i = 0; i < VICTIMS; i++) {
		struct xst_msg m;

		snprintf(path, sizeof(path), "/local/domain/%u/secret", 51 + i);
		rt_call(rd.dom0, XS_READ, 0, 0, RT_ARGS(path), &m);
		left += m.hdr.type == XS_READ;
	}
	printf("short of memory: %u of %u dead domains' nodes left, %u @releaseDomain events; %d"
	       " clean-ups given up, %d records said damaged; a new dom0 connection: %s\n",
	       left, VICTIMS, released, xst_daemon_log_count(&rd.d, "cleaning up"),
	       xst_daemon_log_count(&rd.d, "damaged record"), fresh ? strerror(-fresh) : "served");
	/* The next domain 51 (as a toolstack makes it): does it find its predecessor's node? */
	{
		struct xst_msg m;

		rt_guest_here(&v[0], &rd, 51);
		rt_call(v[0].c, XS_READ, 0, 0, RT_ARGS("secret"), &m);
		printf("short of memory: the next domain 51 reads its predecessor's node: %s\n",
		       rt_status(&m));
		rt_guest_down(&v[0]);
	}
	xst_conn_close(w);
	rt_stop(&rd);
	RT_CHECK(left == 0 && released == VICTIMS && !fresh,
		 "%u dead domains' nodes left behind, %u of %u releases told; a new dom0 connection:"
		 " %s", left, released, VICTIMS, fresh ? strerror(-fresh) : "served");
}
END_TEST

/*
 * A part at an offset inside the directory that does not continue this
 * client's previous part (its cursor) starts at the chunk holding the
 * offset, found through the directory's index of chunk sizes (in a
 * transaction, with what it hides): a guest asking again and again for
 * the last bytes, or for the middle, of a large directory pays for its
 * reply, as for the first 4 KiB, not for the directory (which cost about
 * 0.6 ms outside a transaction and 4 ms inside one at 20,000 children,
 * 3 and 18 ms at 100,000), and so cannot delay dom0 by that much per turn
 * of the ring. The bound: DIRPART_MS, or three times what the first 4 KiB
 * cost here and now if the machine is slower than that (the walk this
 * replaced cost 4 to 30 times as much).
 */
START_TEST(directory_part_inside_costs_its_reply_only)
{
	static const char *const offsets[] = {"159990", "80000", "80003"};
	struct rt_daemon rd;
	struct innocents in;
	double worst = 0, first = 0;

	xst_asan_small_quarantine();
	rt_start(&rd, NULL);
	make_big_directory(&rd, RT_ARGS("/big", "r0"));
	innocents_up(&in, &rd);
	for (unsigned tx = 0; tx < 2; tx++) {
		double base = dirpart_cost(&rd, &in, "0", tx, 300);

		first = base > first ? base : first;
		for (unsigned i = 0; i < 3; i++) {
			/* The better of two runs: a stall of the machine's is no cost of the request's. */
			double per = dirpart_cost(&rd, &in, offsets[i], tx, 300);
			double again = dirpart_cost(&rd, &in, offsets[i], tx, 300);

			per = again < per ? again : per;
			worst = per > worst ? per : worst;
		}
	}
	innocents_served(&in, "DIRECTORY_PART inside the directory");
	innocents_down(&in);
	rt_stop(&rd);
	RT_CHECK(worst < DIRPART_MS || worst < 3 * first,
		 "a part inside the directory cost up to %.3f ms, the first 4 KiB %.3f, bound %.1f",
		 worst, first, DIRPART_MS);
}
END_TEST

/*
 * A dead domain's clean-up goes in slices of cleanup-slice-us between
 * other clients' requests (issue 12): here four guests of 25,000 nodes
 * each name the victim, and dom0 is served within the bench's target, a
 * call under 50 ms, while the 100,000 entries go. (Once a known bug: the
 * clean-up ran whole in one turn of the loop, some 4 us a node, and
 * stalled dom0 0.4 to 1 s; the issue saw 5.7 s at 600,000.)
 */
START_TEST(death_of_a_domain_named_everywhere_is_cleaned_up_in_slices)
{
	struct rt_daemon rd;
	struct innocents in;
	double took;

	xst_asan_small_quarantine();
	rt_start_conf(&rd, "quota-nodes = 25500\n");
	innocents_up(&in, &rd);
	took = victim_named_dies(&rd, &in, 4, 25000);
	printf("a domain named on 100,000 nodes died: dom0's slowest call %.1f ms, clean-up %.1f ms\n",
	       in.dom0_ms, took);
	innocents_down(&in);
	rt_stop(&rd);
	RT_CHECK(in.dom0_ms < 50 * (RT_ASAN ? 2 : 1),
		 "dom0 waited %.1f ms during a clean-up of %.1f ms", in.dom0_ms, took);
}
END_TEST

Suite *suite_attacks(void)
{
	Suite *s = suite_create("attacks");
	TCase *tc = tcase_create("attacks");

	/* Each test's attack may take ATTACK_MAX_MS before it is called a hang. */
	tcase_set_timeout(tc, RT_ASAN ? 360 : 180);
	tcase_add_test(tc, node_flood_is_refused_at_the_quotas_and_given_back);
	tcase_add_test(tc, guests_holding_big_transactions_meet_their_quota_and_the_budget);
	tcase_add_test(tc, requests_against_a_big_directory_cost_their_reply);
	tcase_add_test(tc, death_of_a_domain_named_in_many_permissions);
	tcase_add_test(tc, one_guest_at_every_quota_at_once);
	tcase_add_test(tc, deepest_chain_a_guest_can_make);
	tcase_add_test(tc, backend_flooding_a_deaf_frontends_watch);
	tcase_add_test(tc, socket_clients_exhausting_the_daemons_descriptors);
	tcase_add_test(tc, nodes_made_in_transactions_count_against_the_quota);
	tcase_add_test(tc, directory_part_inside_costs_its_reply_only);
	tcase_add_test(tc, a_domain_dying_while_memory_is_short_is_still_cleaned_up);
	tcase_add_test(tc, death_of_a_domain_named_everywhere_is_cleaned_up_in_slices);
	suite_add_tcase(s, tc);
	return s;
}

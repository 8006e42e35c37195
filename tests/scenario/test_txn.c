/* Scenario: transactions racing each other, a randomized run against a model, and abuse (huge and many transactions). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_util.h"

static const char *end_tx(struct sc_conn *c, xsl_txn_t tx, const char *how)
{
	static char status[32];
	struct xst_msg m;

	snprintf(status, sizeof(status), "%.31s",
		 sc_try(c, XS_TRANSACTION_END, tx, 0, SC_ARGS(how), &m));
	return status;
}

static void expect_value(struct sc_conn *c, const char *path, const char *value)
{
	struct xst_msg m;

	sc_call(c, XS_READ, 0, 0, SC_ARGS(path), &m);
	if (value)
		sc_expect(&m, XS_READ, value, strlen(value));
	else
		SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
}

/* TRANSACTION_END T on two raw connections back to back, then both statuses (sa, sb: 32 bytes). */
static void end_both(struct sc_conn *a, xsl_txn_t ta, struct sc_conn *b, xsl_txn_t tb, char *sa,
		     char *sb)
{
	struct xst_msg m;

	ck_assert_int_eq(xst_wire_send_msg(sc_wire(a), XS_TRANSACTION_END, 1, (uint32_t)ta, "T", 2),
			 0);
	ck_assert_int_eq(xst_wire_send_msg(sc_wire(b), XS_TRANSACTION_END, 2, (uint32_t)tb, "T", 2),
			 0);
	ck_assert_int_eq(xst_wire_recv(sc_wire(a), &m, 5000), 0);
	ck_assert_uint_eq(m.hdr.tx_id, ta);
	snprintf(sa, 32, "%.31s", sc_status(&m));
	ck_assert_int_eq(xst_wire_recv(sc_wire(b), &m, 5000), 0);
	ck_assert_uint_eq(m.hdr.tx_id, tb);
	snprintf(sb, 32, "%.31s", sc_status(&m));
}

/* Commit ta on a and tb on b in the given order; return the two statuses. */
static void end_in_order(struct sc_conn *a, xsl_txn_t ta, struct sc_conn *b, xsl_txn_t tb,
			 int a_first, char *sa, char *sb)
{
	if (a_first) {
		strcpy(sa, end_tx(a, ta, "T"));
		strcpy(sb, end_tx(b, tb, "T"));
	} else {
		strcpy(sb, end_tx(b, tb, "T"));
		strcpy(sa, end_tx(a, ta, "T"));
	}
}

/* READ in a transaction must answer value (and, raw, carry its tx_id: the library keeps ids). */
static void read_in(struct sc_conn *c, xsl_txn_t tx, const char *path, const char *value)
{
	struct xst_msg m;

	sc_call(c, XS_READ, tx, 0, SC_ARGS(path), &m);
	sc_expect(&m, XS_READ, value, strlen(value));
	if (c->raw)
		ck_assert_uint_eq(m.hdr.tx_id, tx);
}

/*
 * 5.3: two (and three) connections racing transactions. Whatever order the
 * commits come in, the first to commit wins and exactly the later
 * conflicting ones fail with EAGAIN, leaving nothing behind; disjoint
 * transactions never fail. The last part sends both commits at once and
 * lets the daemon pick the order: exactly one wins, and the store holds its
 * value.
 */
START_TEST(racing_transactions)
{
	struct xst_daemon d;
	char va[32], vb[32], vc[32], x[32], y[32], sa[32], sb[32], sc[32], path[64];
	int a_won = 0, b_won = 0;

	sc_start(&d, NULL);
	/* a and b raw: their commits are sent at once, and every reply's tx_id is checked. */
	struct sc_conn *a = sc_connect_raw(&d), *b = sc_connect_raw(&d), *c = sc_connect(&d);

	SC_OK(a, XS_WRITE, 0, 1, "/race/x", "0");
	SC_OK(a, XS_WRITE, 0, 1, "/race/y", "0");
	SC_OK(a, XS_MKDIR, 0, 0, "/race/p");
	SC_OK(a, XS_MKDIR, 0, 0, "/race/q");
	strcpy(x, "0");
	strcpy(y, "0");
	for (int r = 0; r < 100; r++) {
		int a_first = r % 2 == 0;
		xsl_txn_t ta, tb, tc;

		snprintf(va, sizeof(va), "a%d", r);
		snprintf(vb, sizeof(vb), "b%d", r);
		snprintf(vc, sizeof(vc), "c%d", r);

		/* (1) One node, read then written by both: the later commit fails. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		read_in(a, ta, "/race/x", x);
		read_in(b, tb, "/race/x", x);
		SC_OK(a, XS_WRITE, ta, 1, "/race/x", va);
		SC_OK(b, XS_WRITE, tb, 1, "/race/x", vb);
		end_in_order(a, ta, b, tb, a_first, sa, sb);
		ck_assert_str_eq(a_first ? sa : sb, "OK");
		ck_assert_str_eq(a_first ? sb : sa, "EAGAIN");
		strcpy(x, a_first ? va : vb);
		expect_value(c, "/race/x", x);

		/* (2) Disjoint existing nodes: both commit, in either order. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		read_in(a, ta, "/race/x", x);
		read_in(b, tb, "/race/y", y);
		SC_OK(a, XS_WRITE, ta, 1, "/race/x", va);
		SC_OK(b, XS_WRITE, tb, 1, "/race/y", vb);
		end_in_order(a, ta, b, tb, a_first, sa, sb);
		ck_assert_str_eq(sa, "OK");
		ck_assert_str_eq(sb, "OK");
		strcpy(x, va);
		strcpy(y, vb);

		/* (3) New children of one parent: the parent changes, the later commit fails (C). */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		snprintf(path, sizeof(path), "/race/p/a%d", r);
		SC_OK(a, XS_WRITE, ta, 1, path, "1");
		snprintf(path, sizeof(path), "/race/p/b%d", r);
		SC_OK(b, XS_WRITE, tb, 1, path, "1");
		end_in_order(a, ta, b, tb, a_first, sa, sb);
		ck_assert_str_eq(a_first ? sa : sb, "OK");
		ck_assert_str_eq(a_first ? sb : sa, "EAGAIN");
		snprintf(path, sizeof(path), "/race/p/%s%d", a_first ? "b" : "a", r);
		expect_value(c, path, NULL);

		/* (4) New children of different parents: both commit. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		snprintf(path, sizeof(path), "/race/p/c%d", r);
		SC_OK(a, XS_WRITE, ta, 1, path, "1");
		snprintf(path, sizeof(path), "/race/q/c%d", r);
		SC_OK(b, XS_WRITE, tb, 1, path, "1");
		end_in_order(a, ta, b, tb, a_first, sa, sb);
		ck_assert_str_eq(sa, "OK");
		ck_assert_str_eq(sb, "OK");

		/* (5) Write skew: a reads x, writes y; b reads y, writes x. The later one fails. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		read_in(a, ta, "/race/x", x);
		read_in(b, tb, "/race/y", y);
		SC_OK(a, XS_WRITE, ta, 1, "/race/y", va);
		SC_OK(b, XS_WRITE, tb, 1, "/race/x", vb);
		end_in_order(a, ta, b, tb, a_first, sa, sb);
		ck_assert_str_eq(a_first ? sa : sb, "OK");
		ck_assert_str_eq(a_first ? sb : sa, "EAGAIN");
		if (a_first)
			strcpy(y, va);
		else
			strcpy(x, vb);
		expect_value(c, "/race/x", x);
		expect_value(c, "/race/y", y);

		/* (6) A reader and a writer of x: the reader fails only if it commits second. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		read_in(a, ta, "/race/x", x);
		read_in(b, tb, "/race/x", x);
		SC_OK(b, XS_WRITE, tb, 1, "/race/x", vb);
		end_in_order(a, ta, b, tb, a_first, sa, sb);
		ck_assert_str_eq(sb, "OK");
		ck_assert_str_eq(sa, a_first ? "OK" : "EAGAIN");
		strcpy(x, vb);

		/* (7) Three on one node, committing in a rotating order: only the first wins. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		tc = sc_tx_start(c);
		SC_OK(a, XS_WRITE, ta, 1, "/race/x", va);
		SC_OK(b, XS_WRITE, tb, 1, "/race/x", vb);
		SC_OK(c, XS_WRITE, tc, 1, "/race/x", vc);
		{
			struct sc_conn *who[3] = {a, b, c};
			xsl_txn_t ids[3] = {ta, tb, tc};
			char *st[3] = {sa, sb, sc};
			int first = r % 3;

			for (int k = 0; k < 3; k++) {
				int i = (first + k) % 3;

				strcpy(st[i], end_tx(who[i], ids[i], "T"));
				ck_assert_str_eq(st[i], k == 0 ? "OK" : "EAGAIN");
			}
			strcpy(x, first == 0 ? va : first == 1 ? vb : vc);
		}
		expect_value(a, "/race/x", x);

		/* (8) Both commits sent at once: the daemon picks; exactly one wins. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		read_in(a, ta, "/race/x", x);
		read_in(b, tb, "/race/x", x);
		SC_OK(a, XS_WRITE, ta, 1, "/race/x", va);
		SC_OK(b, XS_WRITE, tb, 1, "/race/x", vb);
		end_both(a, ta, b, tb, sa, sb);
		ck_assert_msg((!strcmp(sa, "OK") && !strcmp(sb, "EAGAIN")) ||
				      (!strcmp(sa, "EAGAIN") && !strcmp(sb, "OK")),
			      "simultaneous commits: %s and %s", sa, sb);
		a_won += !strcmp(sa, "OK");
		b_won += !strcmp(sb, "OK");
		strcpy(x, !strcmp(sa, "OK") ? va : vb);
		expect_value(c, "/race/x", x);
		/* ...and disjoint ones both commit. */
		ta = sc_tx_start(a);
		tb = sc_tx_start(b);
		SC_OK(a, XS_WRITE, ta, 1, "/race/x", va);
		SC_OK(b, XS_WRITE, tb, 1, "/race/y", vb);
		end_both(a, ta, b, tb, sa, sb);
		ck_assert_str_eq(sa, "OK");
		ck_assert_str_eq(sb, "OK");
		strcpy(x, va);
		strcpy(y, vb);
		expect_value(c, "/race/x", x);
		expect_value(c, "/race/y", y);
	}
	fprintf(stderr, "racing_transactions: simultaneous commits won by a %d, by b %d\n", a_won,
		b_won);
	sc_close(a);
	sc_close(b);
	sc_close(c);
	sc_stop(&d);
}
END_TEST

/* ---------- the randomized run against a model ---------- */

/*
 * The node space: /rnd, /rnd/{a,b,c}, /rnd/{a,b,c}/{x,y,z},
 * /rnd/{a,b,c}/{x,y,z}/{1,2}: 31 paths, small enough for frequent conflicts.
 */
#define NP 31

struct mnode {
	bool exists;
	char value[24];
	unsigned version; /* bumped whenever the daemon must change the node's generation */
};

struct mpath {
	char path[32];
	const char *name;
	int parent;
};

static struct mpath P[NP];

static void build_paths(void)
{
	static const char *l1[] = {"a", "b", "c"}, *l2[] = {"x", "y", "z"}, *l3[] = {"1", "2"};
	int n = 1;

	strcpy(P[0].path, "/rnd");
	P[0].name = "rnd";
	P[0].parent = -1;
	for (int i = 0; i < 3; i++) {
		int pi = n++;

		snprintf(P[pi].path, sizeof(P[pi].path), "/rnd/%s", l1[i]);
		P[pi].name = l1[i];
		P[pi].parent = 0;
		for (int j = 0; j < 3; j++) {
			int pj = n++;

			snprintf(P[pj].path, sizeof(P[pj].path), "/rnd/%s/%s", l1[i], l2[j]);
			P[pj].name = l2[j];
			P[pj].parent = pi;
			for (int k = 0; k < 2; k++) {
				int pk = n++;

				snprintf(P[pk].path, sizeof(P[pk].path), "/rnd/%s/%s/%s", l1[i], l2[j],
					 l3[k]);
				P[pk].name = l3[k];
				P[pk].parent = pj;
			}
		}
	}
	ck_assert_int_eq(n, NP);
}

static int is_below(int d, int p)
{
	for (int i = P[d].parent; i >= 0; i = P[i].parent)
		if (i == p)
			return 1;
	return 0;
}

/* A deferred check: what a read inside a transaction answered, and what it must have. */
struct deferred {
	char want[128], got[128];
	int step;
};

struct mclient {
	struct sc_conn *c;
	xsl_txn_t tx;             /* 0: none open */
	unsigned long start_changes;
	bool mod[NP];             /* the transaction changed this node */
	struct mnode ov[NP];      /* ...to this */
	bool acc[NP];             /* explicitly accessed, with the state first seen: */
	bool acc_exists[NP];
	unsigned acc_version[NP];
	struct deferred checks[64];
	int nchecks;
};

static struct mnode G[NP];
static unsigned long global_changes;
static int reads_checked_at_commit;
static int commits_forced_ok, commits_forced_fail; /* outcomes the model could predict */

static uint64_t rng_state;
/* XST_TRACE=1: print the randomized run as an .xst script (to replay it with xsscript). */
static int trace;
static struct mclient *trace_base;

static void trace_line(const struct mclient *k, xsl_txn_t tx, const char *what, const char *path,
		       const char *value, int step)
{
	int n = (int)(k - trace_base);

	if (!trace)
		return;
	if (tx)
		fprintf(stderr, "c%d %s tx=$t%d_%u %s %s -> any # step %d\n", n, what, n,
			(unsigned)tx, path, value ? value : "", step);
	else
		fprintf(stderr, "c%d %s %s %s -> any # step %d\n", n, what, path, value ? value : "",
			step);
}

static unsigned rnd(unsigned n)
{
	/* xorshift64*: reproducible across platforms. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* The node as client k sees it: its transaction's change, else the store now. */
static const struct mnode *view(const struct mclient *k, int p)
{
	return k && k->tx && k->mod[p] ? &k->ov[p] : &G[p];
}

static void touch(struct mclient *k, int p)
{
	if (!k || !k->tx || k->acc[p])
		return;
	k->acc[p] = true;
	k->acc_exists[p] = G[p].exists;
	k->acc_version[p] = G[p].version;
}

/* Set node p (in the store, or in k's transaction) and account for the generation changes. */
static void mset(struct mclient *k, int p, bool exists, const char *value)
{
	if (k && k->tx) {
		k->mod[p] = true;
		k->ov[p].exists = exists;
		snprintf(k->ov[p].value, sizeof(k->ov[p].value), "%s", value);
		return;
	}
	if (G[p].exists != exists && P[p].parent >= 0)
		G[P[p].parent].version++;
	G[p].exists = exists;
	snprintf(G[p].value, sizeof(G[p].value), "%s", value);
	G[p].version++;
	global_changes++;
}

static void model_write(struct mclient *k, int p, const char *value)
{
	int chain[8], n = 0;

	for (int i = P[p].parent; i >= 0; i = P[i].parent)
		chain[n++] = i;
	while (n--)
		if (!view(k, chain[n])->exists)
			mset(k, chain[n], true, "");
	mset(k, p, true, value);
}

/* Expected reply status of RM; applies it. */
static const char *model_rm(struct mclient *k, int p)
{
	if (!view(k, p)->exists)
		return view(k, P[p].parent)->exists ? "OK" : "ENOENT";
	/* Deepest first, as the daemon removes them. */
	for (int d = NP - 1; d > p; d--)
		if (is_below(d, p) && view(k, d)->exists)
			mset(k, d, false, "");
	mset(k, p, false, "");
	return "OK";
}

/* Expected READ reply: the value, or ENOENT. */
static void model_read(const struct mclient *k, int p, char *out, size_t size)
{
	const struct mnode *n = view(k, p);

	snprintf(out, size, "%s", n->exists ? n->value : "<ENOENT>");
}

/* Expected DIRECTORY reply, names sorted and '|'-separated, or ENOENT. */
static void model_dir(const struct mclient *k, int p, char *out, size_t size)
{
	size_t o = 0;

	if (!view(k, p)->exists) {
		snprintf(out, size, "<ENOENT>");
		return;
	}
	out[0] = '\0';
	for (int c = 0; c < NP; c++)
		if (P[c].parent == p && view(k, c)->exists)
			o += (size_t)snprintf(out + o, size - o, "%s|", P[c].name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The daemon's answer in the same form as model_read/model_dir. */
static void describe_reply(const struct xst_msg *m, int is_dir, char *out, size_t size)
{
	if (m->hdr.type == XS_ERROR) {
		snprintf(out, size, "<%.60s>", m->payload);
		return;
	}
	if (!is_dir) {
		snprintf(out, size, "%.*s", (int)(m->hdr.len < 100 ? m->hdr.len : 100), m->payload);
		return;
	}
	const char *names[NP + 1];
	int n = 0;
	size_t o = 0;

	for (size_t i = 0; i < m->hdr.len && n < NP; i += strlen(m->payload + i) + 1)
		names[n++] = m->payload + i;
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, size - o, "%s|", names[i]);
}

static void tx_reset(struct mclient *k)
{
	k->tx = 0;
	memset(k->mod, 0, sizeof(k->mod));
	memset(k->acc, 0, sizeof(k->acc));
	k->nchecks = 0;
}

/*
 * Commit or abort k's transaction and check the outcome against the model:
 * nothing changed in the store since it started -> the commit must succeed;
 * a node it used explicitly was changed (or appeared/disappeared) -> it must
 * fail. Implicit conflicts (parents, ancestors) may fail it beyond that. On
 * success its changes go into the model and its reads are checked.
 */
static const char *model_end(struct mclient *k, int commit, int step, int *conflicts)
{
	const char *st = end_tx(k->c, k->tx, commit ? "T" : "F");
	int must_fail = 0;

	trace_line(k, k->tx, "TRANSACTION_END", commit ? "T" : "F", NULL, step);

	if (!commit) {
		ck_assert_str_eq(st, "OK");
		tx_reset(k);
		return st;
	}
	for (int p = 0; p < NP; p++)
		if (k->acc[p] && (k->acc_exists[p] != G[p].exists ||
				  (G[p].exists && k->acc_version[p] != G[p].version)))
			must_fail = 1;
	commits_forced_ok += global_changes == k->start_changes;
	commits_forced_fail += must_fail;
	if (global_changes == k->start_changes)
		ck_assert_msg(!strcmp(st, "OK"), "step %d: commit %s with nothing changed meanwhile",
			      step, st);
	if (must_fail)
		ck_assert_msg(!strcmp(st, "EAGAIN"), "step %d: commit %s despite a conflict", step, st);
	else
		ck_assert_msg(!strcmp(st, "OK") || !strcmp(st, "EAGAIN"), "step %d: commit %s", step,
			      st);
	if (!strcmp(st, "OK")) {
		/* Every read it made stands: nothing it used changed until now. */
		for (int i = 0; i < k->nchecks; i++)
			ck_assert_msg(!strcmp(k->checks[i].want, k->checks[i].got),
				      "step %d (in transaction, committed): got '%s', model '%s'",
				      k->checks[i].step, k->checks[i].got, k->checks[i].want);
		reads_checked_at_commit += k->nchecks;
		k->tx = 0;
		for (int p = 0; p < NP; p++)
			if (k->mod[p])
				mset(NULL, p, k->ov[p].exists, k->ov[p].value);
	} else {
		(*conflicts)++;
	}
	tx_reset(k);
	return st;
}

/*
 * Inside a transaction the daemon answers from the node as first seen, the
 * model from the store now: they can only differ if a node the transaction
 * used changed, and then its commit must fail. So what a transaction was
 * told is checked when it commits OK.
 */
static void defer(struct mclient *k, const char *want, const char *got, int step)
{
	struct deferred *dc;

	if (k->nchecks == 64)
		return;
	dc = &k->checks[k->nchecks++];
	snprintf(dc->want, sizeof(dc->want), "%s", want);
	snprintf(dc->got, sizeof(dc->got), "%s", got);
	dc->step = step;
}

static void random_value(char *v, size_t size)
{
	snprintf(v, size, "v%u", rnd(1000000));
}

/* One random request of client k (inside its transaction if it has one and in_tx). */
static void random_op(struct mclient *k, int in_tx, int step)
{
	struct mclient *mk = in_tx ? k : NULL;
	xsl_txn_t tx = in_tx ? k->tx : 0;
	int p = 1 + (int)rnd(NP - 1), op = (int)rnd(100);
	char v[24], want[128], got[128];
	struct xst_msg m;


	if (op < 40) {
		random_value(v, sizeof(v));
		touch(mk, p);
		trace_line(k, tx, "WRITE", P[p].path, v, step);
		ck_assert_str_eq(sc_try(k->c, XS_WRITE, tx, 1, SC_ARGS(P[p].path, v), &m), "OK");
		model_write(mk, p, v);
	} else if (op < 55) {
		const char *st;

		touch(mk, p);
		trace_line(k, tx, "RM", P[p].path, NULL, step);
		st = sc_try(k->c, XS_RM, tx, 0, SC_ARGS(P[p].path), &m);
		snprintf(want, sizeof(want), "%s", model_rm(mk, p));
		if (!in_tx)
			ck_assert_msg(!strcmp(st, want), "step %d: RM %s: %s, model %s", step,
				      P[p].path, st, want);
		else
			defer(k, want, st, step);
	} else if (op < 65) {
		touch(mk, p);
		trace_line(k, tx, "MKDIR", P[p].path, NULL, step);
		ck_assert_str_eq(sc_try(k->c, XS_MKDIR, tx, 0, SC_ARGS(P[p].path), &m), "OK");
		if (!view(mk, p)->exists)
			model_write(mk, p, "");
	} else {
		int is_dir = op >= 88;

		touch(mk, p);
		trace_line(k, tx, is_dir ? "DIRECTORY" : "READ", P[p].path, NULL, step);
		sc_call(k->c, is_dir ? XS_DIRECTORY : XS_READ, tx, 0, SC_ARGS(P[p].path), &m);
		if (k->c->raw)
			ck_assert_uint_eq(m.hdr.tx_id, tx);
		describe_reply(&m, is_dir, got, sizeof(got));
		if (is_dir)
			model_dir(mk, p, want, sizeof(want));
		else
			model_read(mk, p, want, sizeof(want));
		if (!in_tx) {
			ck_assert_msg(!strcmp(want, got), "step %d: %s %s: got '%s', model '%s'", step,
				      is_dir ? "DIRECTORY" : "READ", P[p].path, got, want);
		} else {
			defer(k, want, got, step);
		}
	}
}

/* Compare the daemon's /rnd subtree with the model, node by node. */
static void check_store(struct sc_conn *c)
{
	struct xst_msg m;
	char want[128], got[128];

	for (int p = 0; p < NP; p++) {
		sc_call(c, XS_READ, 0, 0, SC_ARGS(P[p].path), &m);
		describe_reply(&m, 0, got, sizeof(got));
		model_read(NULL, p, want, sizeof(want));
		ck_assert_msg(!strcmp(want, got), "final READ %s: got '%s', model '%s'", P[p].path, got,
			      want);
		sc_call(c, XS_DIRECTORY, 0, 0, SC_ARGS(P[p].path), &m);
		describe_reply(&m, 1, got, sizeof(got));
		model_dir(NULL, p, want, sizeof(want));
		ck_assert_msg(!strcmp(want, got), "final DIRECTORY %s: got '%s', model '%s'",
			      P[p].path, got, want);
	}
}

/*
 * Several clients doing mixed transactional and plain operations at random
 * (one request in flight at a time, so the daemon's order is the order the
 * replies arrive in). The model applies each plain operation at its reply
 * and a transaction's changes only when its commit answers OK; every plain
 * read is checked at once, reads inside a transaction when it commits, and
 * the whole store at the end. XST_SEED=N replays another seed.
 */
START_TEST(randomized_against_model)
{
	enum { NCLIENTS = 4, STEPS = 6000 };
	struct xst_daemon d;
	static struct mclient cl[NCLIENTS];
	const char *env = getenv("XST_SEED");
	unsigned long long seed = env && *env ? strtoull(env, NULL, 0) : 20240611ULL;
	int commits = 0, conflicts = 0, aborts = 0;

	fprintf(stderr, "randomized_against_model: seed %llu (XST_SEED=%llu to replay)\n", seed,
		seed);
	rng_state = seed * 2654435761ULL + 1;
	trace = getenv("XST_TRACE") && atoi(getenv("XST_TRACE"));
	trace_base = cl;
	build_paths();
	memset(G, 0, sizeof(G));
	global_changes = 0;
	reads_checked_at_commit = 0;
	commits_forced_ok = commits_forced_fail = 0;
	sc_start(&d, NULL);
	for (int i = 0; i < NCLIENTS; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		/* Half of them raw (every reply's tx_id checked), half through the library. */
		cl[i].c = i % 2 ? sc_connect_raw(&d) : sc_connect(&d);
	}
	SC_OK(cl[0].c, XS_MKDIR, 0, 0, "/rnd");
	mset(NULL, 0, true, "");
	for (int step = 0; step < STEPS; step++) {
		struct mclient *k = &cl[rnd(NCLIENTS)];
		unsigned r = rnd(100);

		if (!k->tx) {
			if (r < 25) {
				k->tx = sc_tx_start(k->c);
				if (trace)
					fprintf(stderr, "c%d TRANSACTION_START \"\" -> $t%d_%u\n",
						(int)(k - cl), (int)(k - cl), (unsigned)k->tx);
				k->start_changes = global_changes;
			} else {
				random_op(k, 0, step);
			}
		} else if (r < 12) {
			int commit = rnd(5) != 0;

			if (!strcmp(model_end(k, commit, step, &conflicts), "OK"))
				commits += commit;
			aborts += !commit;
		} else {
			random_op(k, r >= 20, step);
		}
	}
	for (int i = 0; i < NCLIENTS; i++)
		if (cl[i].tx)
			model_end(&cl[i], 1, STEPS, &conflicts);
	check_store(cl[0].c);
	fprintf(stderr,
		"randomized_against_model: %d commits, %d conflicts, %d aborts, %d reads checked at commit; "
		"outcome predicted by the model: %d must-commit, %d must-conflict\n",
		commits, conflicts, aborts, reads_checked_at_commit, commits_forced_ok,
		commits_forced_fail);
	/* Not vacuous: both outcomes and the deferred checks were exercised. */
	ck_assert_int_gt(commits, 50);
	ck_assert_int_gt(conflicts, 10);
	ck_assert_int_gt(reads_checked_at_commit, 50);
	ck_assert_int_gt(commits_forced_ok, 10);
	ck_assert_int_gt(commits_forced_fail, 10);
	for (int i = 0; i < NCLIENTS; i++)
		sc_close(cl[i].c);
	sc_stop(&d);
}
END_TEST

/* ---------- abuse ---------- */

/*
 * 1.3 G54 and "huge transactions": 4,000 nodes of 3,000 bytes in one
 * privileged transaction (12 MB), invisible until the commit, which fires
 * one event per node and keeps others live; aborted huge transactions leave
 * memory flat; RM of the whole subtree in a transaction; an unprivileged
 * transaction is cut off by the transaction-nodes quota (ENOSPC, then
 * ENOMEM at commit, nothing applied).
 */
START_TEST(huge_transactions)
{
	struct xst_daemon d;
	enum { N = 4000 };
	static char big[3001];
	const long bound_kb = SC_ASAN ? 512 * 1024 : 64 * 1024;
	const long flat_kb = SC_ASAN ? 64 * 1024 : 16 * 1024;
	char path[64];
	struct xst_msg m;
	long rss0, rss1, rss_a = 0, rss_b;
	double t0, commit_ms;
	xsl_txn_t t;

	memset(big, 'h', sizeof(big) - 1);
	sc_rss_friendly_asan();
	sc_start(&d, NULL);
	struct sc_conn *dom0 = sc_connect(&d), *watcher = sc_connect(&d), *good = sc_connect(&d);

	SC_OK(dom0, XS_MKDIR, 0, 0, "/huge");
	ck_assert_str_eq(sc_watch(watcher, "/huge", "w", NULL), "OK");
	sc_probe(good, "warm");
	rss0 = sc_rss(&d);
	t = sc_tx_start(dom0);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/huge/n%05d", i);
		memcpy(big, path + 7, 5);
		SC_OK(dom0, XS_WRITE, t, 1, path, big);
		if (i % 1000 == 0) {
			sc_probe(good, "huge");
			expect_value(good, path, NULL);
		}
	}
	sc_silent(watcher, 50);
	memcpy(big, "01234", 5);
	read_in(dom0, t, "/huge/n01234", big);
	t0 = sc_now_ms();
	ck_assert_str_eq(end_tx(dom0, t, "T"), "OK");
	commit_ms = sc_now_ms() - t0;
	sc_probe(good, "after");
	/* One event per node, in the order the transaction first touched them. */
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/huge/n%05d", i);
		sc_expect_event(watcher, path, "w");
	}
	sc_silent(watcher, 50);
	for (int i = 0; i < N; i += 397) {
		snprintf(path, sizeof(path), "/huge/n%05d", i);
		memcpy(big, path + 7, 5);
		expect_value(good, path, big);
	}
	rss1 = sc_rss(&d);
	fprintf(stderr, "huge_transactions: commit of %d nodes %.0f ms; RSS %ld -> %ld KiB (bound +%ld)\n",
		N, commit_ms, rss0, rss1, bound_kb);
	ck_assert_msg(rss1 - rss0 < bound_kb, "RSS grew by %ld KiB", rss1 - rss0);

	/* Aborted huge transactions: memory comes back. */
	for (int round = 0; round < 4; round++) {
		t = sc_tx_start(dom0);
		for (int i = 0; i < N; i++) {
			snprintf(path, sizeof(path), "/huge/a%d/n%05d", round % 2, i);
			SC_OK(dom0, XS_WRITE, t, 1, path, big);
		}
		ck_assert_str_eq(end_tx(dom0, t, "F"), "OK");
		if (round == 1)
			rss_a = sc_rss(&d);
	}
	rss_b = sc_rss(&d);
	fprintf(stderr, "huge_transactions: aborted rounds, RSS %ld -> %ld KiB (bound +%ld)\n", rss_a,
		rss_b, flat_kb);
	ck_assert_msg(rss_b - rss_a < flat_kb, "RSS grew by %ld KiB", rss_b - rss_a);
	sc_silent(watcher, 50);
	expect_value(good, "/huge/a0/n00000", NULL);

	/* The whole subtree removed in one transaction: one event for the root. */
	t = sc_tx_start(dom0);
	SC_OK(dom0, XS_RM, t, 0, "/huge");
	ck_assert_str_eq(end_tx(dom0, t, "T"), "OK");
	sc_expect_event(watcher, "/huge", "w");
	sc_silent(watcher, 50);
	expect_value(good, "/huge", NULL);

	/*
	 * Unprivileged: the transaction-nodes quota (1024) stops it; its nodes
	 * quota (1000 by default) would first, nodes made in a transaction
	 * counting from their creation, so it is raised.
	 */
	sc_make_home(dom0, 8);
	SC_OK(dom0, XS_SET_QUOTA, 0, 0, "8", "nodes", "2000");
	struct sc_conn *u = sc_restricted(&d, 8);
	int refused_at = -1;

	t = sc_tx_start(u);
	for (int i = 0; i < 1100 && refused_at < 0; i++) {
		snprintf(path, sizeof(path), "h%d", i);
		const char *st = sc_try(u, XS_WRITE, t, 1, SC_ARGS(path, big + 1000), &m);

		if (strcmp(st, "OK") != 0) {
			ck_assert_str_eq(st, "ENOSPC");
			refused_at = i;
		}
	}
	fprintf(stderr, "huge_transactions: unprivileged write %d refused\n", refused_at);
	ck_assert_msg(refused_at >= 1000 && refused_at < 1024, "refused at write %d", refused_at);
	ck_assert_str_eq(end_tx(u, t, "T"), "ENOMEM");
	expect_value(good, "/local/domain/8/h0", NULL);
	sc_probe(good, "end");
	sc_close(u);
	sc_close(watcher);
	sc_close(good);
	sc_close(dom0);
	sc_stop(&d);
}
END_TEST

/*
 * 5.5 / 1.3 G53: many open transactions. A restricted connection gets
 * exactly 9 (the 10th TRANSACTION_START is ENOSPC, as HEAD); the privileged
 * may hold thousands, each usable, with exactly the ones whose node changed
 * outside failing at commit; connections closed with thousands of open
 * transactions leave memory flat.
 */
START_TEST(many_open_transactions)
{
	struct xst_daemon d;
	enum { N = 3000 };
	static xsl_txn_t ids[N];
	const long bound_kb = SC_ASAN ? 64 * 1024 : 16 * 1024;
	const long flat_kb = SC_ASAN ? 32 * 1024 : 8 * 1024;
	char path[64], val[16];
	long rss0, rss1, rss_a = 0, rss_b;

	sc_rss_friendly_asan();
	sc_start(&d, NULL);
	struct sc_conn *dom0 = sc_connect(&d), *good = sc_connect(&d);

	sc_make_home(dom0, 9);
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/local/domain/9/s%d", i);
		SC_OK(dom0, XS_WRITE, 0, 1, path, "0");
	}
	struct sc_conn *u = sc_restricted(&d, 9);

	for (int i = 0; i < 9; i++) {
		ids[i] = sc_tx_start(u);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(ids[i], ids[j]);
	}
	sc_must(u, XS_TRANSACTION_START, 0, 0, SC_ARGS(""), "ENOSPC");
	sc_must(u, XS_TRANSACTION_START, 0, 0, SC_ARGS(""), "ENOSPC");
	ck_assert_str_eq(end_tx(u, ids[4], "F"), "OK");
	ids[4] = sc_tx_start(u);
	sc_must(u, XS_TRANSACTION_START, 0, 0, SC_ARGS(""), "ENOSPC");
	/* All nine work, on disjoint nodes, and all commit. */
	for (int i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "s%d", i);
		snprintf(val, sizeof(val), "t%d", i);
		SC_OK(u, XS_WRITE, ids[i], 1, path, val);
	}
	for (int i = 0; i < 9; i++)
		ck_assert_str_eq(end_tx(u, ids[i], "T"), "OK");
	expect_value(good, "/local/domain/9/s8", "t8");
	/* A failed start did not leak a slot. */
	for (int i = 0; i < 9; i++)
		ids[i] = sc_tx_start(u);
	sc_must(u, XS_TRANSACTION_START, 0, 0, SC_ARGS(""), "ENOSPC");
	sc_close(u);

	/* Privileged: 3,000 open at once. */
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/many/n%d", i);
		SC_OK(dom0, XS_WRITE, 0, 1, path, "0");
	}
	sc_probe(good, "warm");
	rss0 = sc_rss(&d);
	for (int i = 0; i < N; i++) {
		ids[i] = sc_tx_start(dom0);
		snprintf(path, sizeof(path), "/many/n%d", i);
		SC_OK(dom0, XS_WRITE, ids[i], 1, path, "t");
		if (i % 1000 == 0)
			sc_probe(good, "many");
	}
	rss1 = sc_rss(&d);
	fprintf(stderr, "many_open_transactions: %d open, RSS %ld -> %ld KiB (bound +%ld)\n", N, rss0,
		rss1, bound_kb);
	ck_assert_msg(rss1 - rss0 < bound_kb, "RSS grew by %ld KiB", rss1 - rss0);
	for (int i = 0; i < N; i += 100) {
		snprintf(path, sizeof(path), "/many/n%d", i);
		SC_OK(good, XS_WRITE, 0, 1, path, "outside");
	}
	for (int i = 0; i < N; i++)
		ck_assert_str_eq(end_tx(dom0, ids[i], "T"), i % 100 == 0 ? "EAGAIN" : "OK");
	expect_value(good, "/many/n0", "outside");
	expect_value(good, "/many/n1", "t");

	/* Closed with thousands open: nothing applied, memory flat across rounds. */
	for (int round = 0; round < 4; round++) {
		struct sc_conn *c = sc_connect(&d);

		for (int i = 0; i < 2000; i++) {
			xsl_txn_t t = sc_tx_start(c);

			snprintf(path, sizeof(path), "/many/n%d", i);
			SC_OK(c, XS_WRITE, t, 1, path, "closed");
		}
		sc_close(c);
		sc_probe(good, "closed");
		if (round == 1)
			rss_a = sc_rss(&d);
	}
	rss_b = sc_rss(&d);
	fprintf(stderr, "many_open_transactions: closed rounds, RSS %ld -> %ld KiB (bound +%ld)\n", rss_a,
		rss_b, flat_kb);
	ck_assert_msg(rss_b - rss_a < flat_kb, "RSS grew by %ld KiB", rss_b - rss_a);
	expect_value(good, "/many/n1", "t");
	sc_close(good);
	sc_close(dom0);
	sc_stop(&d);
}
END_TEST

Suite *suite_txn(void)
{
	Suite *s = suite_create("txn");
	TCase *tc = tcase_create("race");

	tcase_set_timeout(tc, SC_ASAN ? 300 : 120);
	tcase_add_test(tc, racing_transactions);
	tcase_add_test(tc, randomized_against_model);
	suite_add_tcase(s, tc);
	tc = tcase_create("abuse");
	tcase_set_timeout(tc, SC_ASAN ? 300 : 120);
	tcase_add_test(tc, huge_transactions);
	tcase_add_test(tc, many_open_transactions);
	suite_add_tcase(s, tc);
	return s;
}

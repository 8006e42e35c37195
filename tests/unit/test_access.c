/* daemon/access.c in process: ENOENT vs EACCES, creation with inherited permissions, removal events, directly and through a transaction. */
#include <stdio.h>
#include <string.h>

#include "daemon/access.h"
#include "daemon/quota.h"
#include "daemon/txn.h"
#include "daemon/watch.h"
#include "unit.h"

enum { GUEST = 5 };

static struct ident dom0, guest;
static struct arena arena;
static struct txn_set *gtxns, *ptxns;
static struct watch_set *pw, *gw;

/*
 * /a readable by the guest, /b not, /c the guest's, /h writable by it, and
 * /r/a (readable) with a subtree to remove. Watchers: P privileged, G the guest.
 */
static void setup(void)
{
	xst_module_setup();
	xst_ident(&dom0, 0, true);
	xst_ident(&guest, GUEST, false);
	xst_nodes("/a n0 r5; /b n0; /c b5; /h n0 w5; /r n0; /r/a n0 r5; /r/a/b n0; /r/a/b/c n0; "
		  "/r/a/d n0");
	gtxns = txn_set_new(&guest);
	ptxns = txn_set_new(&dom0);
	pw = watch_set_new(&dom0, 1, xst_events_deliver, "P");
	gw = watch_set_new(&guest, 2, xst_events_deliver, "G");
	ck_assert(gtxns && ptxns && pw && gw);
}

static void teardown(void)
{
	store_clear_hooks();
	watch_set_free(pw);
	watch_set_free(gw);
	txn_set_free(gtxns);
	txn_set_free(ptxns);
	arena_free(&arena);
	xst_module_teardown();
}

/* Access as who, through a new transaction of its own if in_txn. */
static struct acc acc_as(const struct ident *who, bool in_txn)
{
	struct acc r = {who, NULL, &arena};

	if (in_txn)
		ck_assert_int_eq(txn_start(who->priv ? ptxns : gtxns, &r.txn), XSE_OK);
	return r;
}

static void expect_get(struct acc *r, const char *path, unsigned need, enum xs_err want)
{
	struct store_node n;
	enum xs_err err = acc_get(r, path, need, true, &n);

	ck_assert_msg(err == want, "acc_get %s need %u as %u: %s, not %s", path, need,
		      r->who->domid, err ? xs_err_name(err) : "OK",
		      want ? xs_err_name(want) : "OK");
}

enum { R = XS_PERM_READ, W = XS_PERM_WRITE };

/*
 * Present: the node's rights decide. Missing: ENOENT when the nearest
 * existing ancestor grants what is asked, else EACCES (a special path's
 * parent is the root). The privileged always get ENOENT.
 */
static const struct {
	bool priv;
	const char *path;
	unsigned need;
	enum xs_err want;
} get_cases[] = {
	{false, "/a", R, XSE_OK},
	{false, "/a", W, XSE_EACCES},
	{false, "/a/m", R, XSE_ENOENT},
	{false, "/a/m/n", R, XSE_ENOENT},
	{false, "/a/m", W, XSE_EACCES},
	{false, "/b", R, XSE_EACCES},
	{false, "/b/m/n", R, XSE_EACCES},
	{false, "/c/m/n", R | W, XSE_ENOENT},
	{false, "/h/m", W, XSE_ENOENT},
	{false, "/h/m", R, XSE_EACCES},
	{false, "/zz", R, XSE_EACCES},
	{false, "@none", R, XSE_EACCES},
	{false, "@releaseDomain", R, XSE_OK},
	{true, "/b/m/n", R, XSE_ENOENT},
	{true, "/zz", W, XSE_ENOENT},
	{true, "@none", R, XSE_ENOENT},
};

static void expect_missing_errors(struct acc *g, struct acc *p)
{
	for (unsigned i = 0; i < sizeof(get_cases) / sizeof(get_cases[0]); i++)
		expect_get(get_cases[i].priv ? p : g, get_cases[i].path, get_cases[i].need,
			   get_cases[i].want);
}

START_TEST(get_enoent_or_eacces)
{
	struct acc g = acc_as(&guest, false), p = acc_as(&dom0, false);

	expect_missing_errors(&g, &p);
}
END_TEST

START_TEST(get_enoent_or_eacces_in_txn)
{
	struct acc g = acc_as(&guest, true), p = acc_as(&dom0, true);

	expect_missing_errors(&g, &p);
	/* What the transaction created counts as an ancestor; the store does not have it yet. */
	ck_assert_int_eq(acc_create(&g, "/h/x", "", 0), XSE_OK);
	expect_get(&g, "/h/x/y", XS_PERM_WRITE, XSE_ENOENT);
	xst_expect_node("/h/x", NULL);
	ck_assert_int_eq(txn_end(g.txn, false), XSE_OK);
	ck_assert_int_eq(txn_end(p.txn, false), XSE_OK);
}
END_TEST

/* Create through r (in its transaction, committed, if any) and check what the store holds. */
static void create_and_check(struct acc *r, const char *path, const char *value)
{
	ck_assert_int_eq(acc_create(r, path, value, strlen(value)), XSE_OK);
	if (r->txn) {
		xst_expect_node(path, NULL);
		ck_assert_int_eq(txn_end(r->txn, true), XSE_OK);
	}
	xst_expect_node(path, value);
}

static void expect_created_tree(void)
{
	/* The guest owns what it creates, missing ancestors included; the rest is inherited. */
	xst_expect_node("/h/x", "");
	xst_expect_perms("/h/x", "n5 w5");
	xst_expect_perms("/h/x/y", "n5 w5");
	/* The privileged keep the owner. */
	xst_expect_node("/h/p", "");
	xst_expect_perms("/h/p", "n0 w5");
	xst_expect_perms("/h/p/q", "n0 w5");
	xst_expect_perms("/top/level", "n0");
	ck_assert_ptr_null(store_check());
}

static void create_tree(bool in_txn)
{
	struct acc g = acc_as(&guest, in_txn), p = acc_as(&dom0, in_txn);

	create_and_check(&g, "/h/x/y", "v");
	create_and_check(&p, "/h/p/q", "w");
	p = acc_as(&dom0, in_txn);
	create_and_check(&p, "/top/level", "t");
	expect_created_tree();
}

START_TEST(create_inherits_permissions)
{
	create_tree(false);
}
END_TEST

START_TEST(create_inherits_permissions_in_txn)
{
	create_tree(true);
}
END_TEST

/* Watches on every level of /r/a's subtree and around it; the guest's on the root. */
static void watch_removal(void)
{
	static const char *const w[][2] = {
		{"/r", "r"}, {"/r/a", "ra"}, {"/r/a/b", "rab"}, {"/r/a/b/c", "rabc"},
		{"/", "root"}, {"/r/a/d/e", "below"},
	};

	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		ck_assert_int_eq(watch_add(pw, w[i][0], 0, w[i][1], -1), XSE_OK);
	ck_assert_int_eq(watch_add(gw, "/", 0, "g", -1), XSE_OK);
}

static void expect_removed(void)
{
	xst_expect_node("/r", "");
	xst_expect_node("/r/a", NULL);
	xst_expect_node("/r/a/b", NULL);
	xst_expect_node("/r/a/b/c", NULL);
	xst_expect_node("/r/a/d", NULL);
	ck_assert_ptr_null(store_check());
}

START_TEST(remove_fires_exact_then_subtree)
{
	struct acc p = acc_as(&dom0, false);

	watch_removal();
	ck_assert_int_eq(acc_remove(&p, "/r/a"), XSE_OK);
	expect_removed();
	/*
	 * Each removed descendant fires an exact event (only the watches on
	 * exactly that node), children first; then the root a subtree event
	 * (its ancestors' watches hear it, and the guest: it could read the node).
	 */
	xst_expect_events("P:/r/a/b/c:rabc P:/r/a/b:rab P:/r/a:r P:/r/a:ra P:/r/a:root G:/r/a:g");
}
END_TEST

START_TEST(remove_in_txn_fires_at_commit)
{
	struct acc p = acc_as(&dom0, true);

	watch_removal();
	ck_assert_int_eq(acc_remove(&p, "/r/a"), XSE_OK);
	expect_get(&p, "/r/a/b", XS_PERM_READ, XSE_ENOENT);
	xst_expect_node("/r/a/b/c", "");
	ck_assert_int_eq(txn_end(p.txn, false), XSE_OK);
	xst_expect_events("");
	xst_expect_node("/r/a/b/c", "");

	p = acc_as(&dom0, true);
	ck_assert_int_eq(acc_remove(&p, "/r/a"), XSE_OK);
	xst_expect_events("");
	ck_assert_int_eq(txn_end(p.txn, true), XSE_OK);
	expect_removed();
	/* At commit, in the order the transaction first touched the nodes (breadth first). */
	xst_expect_events("P:/r/a:r P:/r/a:ra P:/r/a:root G:/r/a:g P:/r/a/b:rab P:/r/a/b/c:rabc");
}
END_TEST

START_TEST(notify_now_or_at_commit)
{
	struct acc p = acc_as(&dom0, false), t = acc_as(&dom0, true);

	ck_assert_int_eq(watch_add(pw, "/a", 0, "a", -1), XSE_OK);
	acc_notify(&p, "/a/x", NULL, 0, NULL, 0);
	xst_expect_events("P:/a/x:a");
	acc_notify(&t, "/a/y", NULL, 0, NULL, 0);
	xst_expect_events("");
	ck_assert_int_eq(txn_end(t.txn, true), XSE_OK);
	xst_expect_events("P:/a/y:a");
}
END_TEST

/*
 * The nodes quota, as main.c counts it (the store's hook, from here on: the
 * nodes made before are not counted), at value 5: a domain holds at most 4
 * nodes. The guest's directories /c/1, /c/2 and /c/3 are made first, so
 * that its transactions can create nodes side by side without conflicts.
 */
#define NODES_QUOTA 5
static void count_nodes(void)
{
	struct acc g = acc_as(&guest, false);

	/* Before the guest's first request: its domain then copies the value. */
	quota_hard[QUOTA_NODES] = NODES_QUOTA;
	for (unsigned i = 1; i <= 3; i++) {
		char path[16];

		snprintf(path, sizeof(path), "/c/%u", i);
		ck_assert_int_eq(acc_create(&g, path, "", 0), XSE_OK);
	}
	ck_assert(store_add_hook(&quota_store_hook, NULL));
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), 0);
}

/* n nodes <dir>/<i> created through r, each answered want. */
static void create_n(struct acc *r, const char *dir, unsigned n, enum xs_err want)
{
	for (unsigned i = 0; i < n; i++) {
		char path[32];

		snprintf(path, sizeof(path), "%s/%u", dir, i);
		ck_assert_msg(acc_create(r, path, "", 0) == want, "creating %s", path);
	}
}

/*
 * Inside a transaction a creation counts the nodes the domain owns as
 * committed and what the transaction created and removed so far: the 4th
 * node is made, the 5th refused (ENOSPC), and the transaction still commits
 * what it made. A removal in a transaction makes room for one more.
 */
START_TEST(nodes_quota_counts_a_transactions_own_nodes)
{
	struct acc g;

	count_nodes();
	g = acc_as(&guest, true);
	create_n(&g, "/c/1", NODES_QUOTA - 1, XSE_OK);
	ck_assert_int_eq(acc_create(&g, "/c/1/one-more", "", 0), XSE_ENOSPC);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), 0);
	ck_assert_int_eq(txn_end(g.txn, true), XSE_OK);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), NODES_QUOTA - 1);
	xst_expect_node("/c/1/3", "");
	xst_expect_node("/c/1/one-more", NULL);

	/* At the quota: refused at once, in a transaction as outside one. */
	g = acc_as(&guest, true);
	ck_assert_int_eq(acc_create(&g, "/c/1/b", "", 0), XSE_ENOSPC);
	/* A node removed in the transaction leaves room for one, not two. */
	ck_assert_int_eq(acc_remove(&g, "/c/1/0"), XSE_OK);
	ck_assert_int_eq(acc_create(&g, "/c/1/b", "", 0), XSE_OK);
	ck_assert_int_eq(acc_create(&g, "/c/1/b2", "", 0), XSE_ENOSPC);
	ck_assert_int_eq(txn_end(g.txn, true), XSE_OK);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), NODES_QUOTA - 1);
	xst_expect_node("/c/1/0", NULL);
	xst_expect_node("/c/1/b", "");
	g = acc_as(&guest, false);
	ck_assert_int_eq(acc_create(&g, "/c/1/b2", "", 0), XSE_ENOSPC);
}
END_TEST

/*
 * The commit is judged against the nodes committed by then: of concurrent
 * transactions each within the quota alone, the one whose commit would take
 * the domain to the quota fails with ENOSPC and leaves nothing (nor fires
 * anything); one that still fits commits. A request making several levels
 * is judged once, before it makes any, so it can create past the quota in
 * a transaction; its commit cannot. The privileged are never judged.
 */
START_TEST(nodes_quota_judged_again_at_commit)
{
	struct acc t1, t2, t3, p;

	count_nodes();
	ck_assert_int_eq(watch_add(pw, "/c", 0, "c", -1), XSE_OK);
	t1 = acc_as(&guest, true);
	t2 = acc_as(&guest, true);
	t3 = acc_as(&guest, true);
	create_n(&t1, "/c/1", 3, XSE_OK);
	create_n(&t2, "/c/2", 2, XSE_OK);
	create_n(&t3, "/c/3", 1, XSE_OK);
	ck_assert_int_eq(txn_end(t1.txn, true), XSE_OK);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), 3);
	xst_events_take();
	/* 3 + 2 would reach 5. */
	ck_assert_int_eq(txn_end(t2.txn, true), XSE_ENOSPC);
	xst_expect_node("/c/2/0", NULL);
	xst_expect_events("");
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), 3);
	/* 3 + 1 is 4: the last node the domain may hold. */
	ck_assert_int_eq(txn_end(t3.txn, true), XSE_OK);
	xst_expect_node("/c/3/0", "");
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), NODES_QUOTA - 1);

	/* Levels: its 4 nodes removed, 4 levels made by one request commit, 5 do not. */
	for (unsigned levels = 5; levels >= 4; levels--) {
		t1 = acc_as(&guest, true);
		ck_assert_int_eq(acc_remove(&t1, "/c/1/0"), XSE_OK);
		ck_assert_int_eq(acc_remove(&t1, "/c/1/1"), XSE_OK);
		ck_assert_int_eq(acc_remove(&t1, "/c/1/2"), XSE_OK);
		ck_assert_int_eq(acc_remove(&t1, "/c/3/0"), XSE_OK);
		ck_assert_int_eq(acc_create(&t1, levels == 5 ? "/c/l/l/l/l/l" : "/c/l/l/l/l", "", 0),
				 XSE_OK);
		ck_assert_int_eq(txn_end(t1.txn, true), levels == 5 ? XSE_ENOSPC : XSE_OK);
		xst_expect_node("/c/1/0", levels == 5 ? "" : NULL);
	}
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), NODES_QUOTA - 1);
	xst_expect_node("/c/l/l/l/l", "");

	/* The privileged make nodes the guest owns (they keep the owner), past its quota. */
	p = acc_as(&dom0, true);
	create_n(&p, "/c/2", 3, XSE_OK);
	ck_assert_int_eq(txn_end(p.txn, true), XSE_OK);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_NODES), NODES_QUOTA + 2);
	xst_expect_perms("/c/2/2", "b5");
}
END_TEST

Suite *xst_access_suite(void)
{
	return XST_SUITE("access", setup, teardown, get_enoent_or_eacces,
			 get_enoent_or_eacces_in_txn, create_inherits_permissions,
			 create_inherits_permissions_in_txn, remove_fires_exact_then_subtree,
			 remove_in_txn_fires_at_commit, notify_now_or_at_commit,
			 nodes_quota_counts_a_transactions_own_nodes, nodes_quota_judged_again_at_commit);
}

/* daemon/txn.c in process: ids, the transaction quotas, repeatable reads, the overlay, commit conflicts, abort, and events at commit. */
#include <stdint.h>
#include <string.h>

#include "daemon/arena.h"
#include "daemon/quota.h"
#include "daemon/txn.h"
#include "daemon/watch.h"
#include "unit.h"

enum { UNPRIV = 7 };

static struct ident guest, dom0;
static struct txn_set *gset, *pset;

static void setup(void)
{
	xst_module_setup();
	xst_ident(&guest, UNPRIV, false);
	xst_ident(&dom0, 0, true);
	ck_assert_ptr_nonnull(gset = txn_set_new(&guest));
	ck_assert_ptr_nonnull(pset = txn_set_new(&dom0));
	xst_node("/a", "n0", "a0");
	xst_node("/b", "n0", "b0");
	xst_node("/c", "n0", "c0");
	xst_node("/c/d", "n0", "d0");
}

static void teardown(void)
{
	txn_set_free(gset);
	txn_set_free(pset);
	ck_assert_uint_eq(txn_open_count(), 0);
	xst_module_teardown();
}

static struct txn *start(struct txn_set *s)
{
	struct txn *t = NULL;

	ck_assert_int_eq(txn_start(s, &t), XSE_OK);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Read through t: the value, or NULL when the transaction sees no node. */
static void expect_txn_value(struct txn *t, const char *path, const char *value)
{
	struct arena a = {0};
	struct store_node n;
	ck_assert_int_eq(txn_read(t, &a, path, true, &n), value ? XSE_OK : XSE_ENOENT);
	if (value) {
		ck_assert_uint_eq(n.vlen, strlen(value));
		ck_assert_mem_eq(n.value, value, n.vlen);
	}
	arena_free(&a);
}

static void store_write(const char *path, const char *value)
{
	struct arena a = {0};

	ck_assert_int_eq(store_update(&a, path, NULL, NULL, 0, value, strlen(value)), XSE_OK);
	arena_free(&a);
}

START_TEST(ids_unique_nonzero_and_found)
{
	struct txn *t[4];

	for (unsigned i = 0; i < 4; i++) {
		t[i] = start(pset);
		ck_assert_uint_ne(txn_id(t[i]), 0);
		for (unsigned j = 0; j < i; j++)
			ck_assert_uint_ne(txn_id(t[i]), txn_id(t[j]));
	}
	for (unsigned i = 0; i < 4; i++)
		ck_assert_ptr_eq(txn_find(pset, txn_id(t[i])), t[i]);
	ck_assert_ptr_null(txn_find(pset, 0));
	/* Ids are per client: the other set knows none of them. */
	ck_assert_ptr_null(txn_find(gset, txn_id(t[0])));
	ck_assert_uint_eq(txn_set_count(pset), 4);
	ck_assert_uint_eq(txn_open_count(), 4);
	uint32_t gone = txn_id(t[1]);

	ck_assert_int_eq(txn_end(t[1], false), XSE_OK);
	ck_assert_ptr_null(txn_find(pset, gone));
	ck_assert_uint_eq(txn_set_count(pset), 3);
}
END_TEST

/*
 * txn_set's layout as txn.c has it: reaching the wrap through the interface
 * takes 2^32 starts, so the test moves next_id itself, after checking the
 * copy against what the interface says.
 */
struct txn_set_view {
	const struct ident *who;
	struct txn *head;
	unsigned n;
	uint32_t next_id;
};

START_TEST(ids_wrap_past_zero_and_skip_ids_in_use)
{
	struct txn *one = start(pset), *two = start(pset);
	struct txn_set_view *v = (struct txn_set_view *)pset;
	uint32_t want[] = {UINT32_MAX - 1, UINT32_MAX, 3};

	ck_assert_uint_eq(txn_id(one), 1);
	ck_assert_uint_eq(txn_id(two), 2);
	ck_assert_msg(v->who == &dom0 && v->head == two && v->n == txn_set_count(pset) &&
			      v->next_id == 3,
		      "struct txn_set no longer has the layout this test knows");
	v->next_id = UINT32_MAX - 1;
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(txn_id(start(pset)), want[i]);
}
END_TEST

START_TEST(transactions_quota_boundary)
{
	struct txn *first, *extra = NULL;

	quota_hard[QUOTA_TRANSACTIONS] = 3;
	first = start(gset);
	start(gset);
	ck_assert_int_eq(txn_start(gset, &extra), XSE_ENOSPC);
	ck_assert_uint_eq(txn_set_count(gset), 2);
	ck_assert_uint_eq(quota_used(UNPRIV, QUOTA_TRANSACTIONS), 2);
	/* The quota is the domain's: another client of the same domain is refused too. */
	struct txn_set *other = txn_set_new(&guest);

	ck_assert_int_eq(txn_start(other, &extra), XSE_ENOSPC);
	txn_set_free(other);
	/* Ending one makes room for one. */
	ck_assert_int_eq(txn_end(first, false), XSE_OK);
	ck_assert_uint_eq(quota_used(UNPRIV, QUOTA_TRANSACTIONS), 1);
	start(gset);
	ck_assert_int_eq(txn_start(gset, &extra), XSE_ENOSPC);
	/* The privileged are never refused. */
	for (unsigned i = 0; i < 10; i++)
		start(pset);
	ck_assert_uint_eq(txn_set_count(pset), 10);
}
END_TEST

START_TEST(set_clear_releases_the_quota)
{
	quota_hard[QUOTA_TRANSACTIONS] = 3;
	start(gset);
	start(gset);
	start(pset);
	ck_assert_uint_eq(quota_used(UNPRIV, QUOTA_TRANSACTIONS), 2);
	ck_assert_uint_eq(txn_open_count(), 3);
	txn_set_clear(gset);
	ck_assert_uint_eq(quota_used(UNPRIV, QUOTA_TRANSACTIONS), 0);
	ck_assert_uint_eq(txn_set_count(gset), 0);
	ck_assert_uint_eq(txn_open_count(), 1);
	/* The set stays usable, with the whole quota again. */
	start(gset);
	start(gset);
	txn_set_clear(pset);
	ck_assert_uint_eq(quota_used(0, QUOTA_TRANSACTIONS), 0);
}
END_TEST

static const char *const seed_paths[] = {"/a", "/b", "/c", "/c/d", "/e"};
static const char *const seed_values[] = {"a0", "b0", "c0", "d0", NULL};

/* A transaction in s that reads the first n seed nodes, then commits. */
static enum xs_err touch_and_commit(struct txn_set *s, unsigned n)
{
	struct txn *t = start(s);

	for (unsigned i = 0; i < n; i++)
		expect_txn_value(t, seed_paths[i], seed_values[i]);
	return txn_end(t, true);
}

START_TEST(transaction_nodes_boundary)
{
	struct arena a = {0};
	struct store_node n;
	struct txn *t;

	quota_hard[QUOTA_TRANSACTION_NODES] = 3;
	ck_assert_int_eq(touch_and_commit(gset, 2), XSE_OK);
	ck_assert_int_eq(touch_and_commit(pset, 5), XSE_OK);
	t = start(gset);
	expect_txn_value(t, "/a", "a0");
	expect_txn_value(t, "/b", "b0");
	ck_assert_int_eq(txn_read(t, &a, "/c", true, &n), XSE_ENOSPC);
	/* Nodes already in the overlay stay readable; the transaction is doomed all the same. */
	expect_txn_value(t, "/a", "a0");
	ck_assert_int_eq(txn_update(t, "/a", NULL, 0, "a1", 2), XSE_OK);
	ck_assert_int_eq(txn_create(t, "/a/new", NULL, 0, "x", 1), XSE_ENOSPC);
	ck_assert_int_eq(txn_end(t, true), XSE_ENOMEM);
	xst_expect_node("/a", "a0");
	ck_assert_uint_eq(quota_used(UNPRIV, QUOTA_TRANSACTIONS), 0);
	arena_free(&a);
}
END_TEST

START_TEST(repeatable_reads)
{
	struct txn *t = start(gset), *u = start(gset);

	expect_txn_value(t, "/a", "a0");
	expect_txn_value(t, "/e", NULL);
	store_write("/a", "a1");
	xst_node("/e", "n0", "e0");
	/* What t saw first it sees again; u looks only now. */
	expect_txn_value(t, "/a", "a0");
	expect_txn_value(t, "/e", NULL);
	expect_txn_value(u, "/a", "a1");
	expect_txn_value(u, "/e", "e0");
	ck_assert_int_eq(txn_end(u, true), XSE_OK);
	ck_assert_int_eq(txn_end(t, false), XSE_OK);
}
END_TEST

/* Create /a/n, update /b, remove /c (and /c/d) through t. */
static void change_overlay(struct txn *t)
{
	struct xs_perm p[2];
	unsigned np = xst_perms("n0 r5", p, 2);

	ck_assert_int_eq(txn_create(t, "/a/n", p, np, "new", 3), XSE_OK);
	ck_assert_int_eq(txn_update(t, "/b", NULL, 0, "b1", 2), XSE_OK);
	ck_assert_int_eq(txn_remove(t, "/c"), XSE_OK);
	expect_txn_value(t, "/a/n", "new");
	expect_txn_value(t, "/b", "b1");
	expect_txn_value(t, "/c", NULL);
	expect_txn_value(t, "/c/d", NULL);
}

static void expect_store_unchanged(void)
{
	xst_expect_node("/a/n", NULL);
	xst_expect_node("/b", "b0");
	xst_expect_node("/c", "c0");
	xst_expect_node("/c/d", "d0");
}

START_TEST(overlay_visible_only_after_commit)
{
	struct txn *t = start(gset);

	change_overlay(t);
	expect_store_unchanged();
	ck_assert_int_eq(txn_end(t, true), XSE_OK);
	xst_expect_node("/a/n", "new");
	xst_expect_perms("/a/n", "n0 r5");
	xst_expect_node("/b", "b1");
	xst_expect_node("/c", NULL);
	xst_expect_node("/c/d", NULL);
	ck_assert_ptr_null(store_check());
}
END_TEST

START_TEST(abort_leaves_the_store_untouched)
{
	struct txn *t = start(gset);

	change_overlay(t);
	ck_assert_int_eq(txn_end(t, false), XSE_OK);
	expect_store_unchanged();
	ck_assert_uint_eq(quota_used(UNPRIV, QUOTA_TRANSACTIONS), 0);
}
END_TEST

/* A transaction that read `seen` and changed /b: the store then changes under it. */
static struct txn *reader_writer(const char *seen)
{
	struct txn *t = start(gset);

	for (unsigned i = 0; i < 5; i++)
		if (strcmp(seed_paths[i], seen) == 0)
			expect_txn_value(t, seen, seed_values[i]);
	ck_assert_int_eq(txn_update(t, "/b", NULL, 0, "b1", 2), XSE_OK);
	return t;
}

START_TEST(commit_conflict_eagain)
{
	struct txn *t = reader_writer("/b");

	/* A node it changed was changed. */
	store_write("/b", "z");
	ck_assert_int_eq(txn_end(t, true), XSE_EAGAIN);
	xst_expect_node("/b", "z");
	/* A node it saw absent appeared. */
	t = reader_writer("/e");
	xst_node("/e", "n0", "e0");
	ck_assert_int_eq(txn_end(t, true), XSE_EAGAIN);
	/* A node it read went away. */
	t = reader_writer("/c/d");
	ck_assert_int_eq(store_remove("/c/d", NULL, NULL), XSE_OK);
	ck_assert_int_eq(txn_end(t, true), XSE_EAGAIN);
	xst_expect_node("/b", "z");
	/* A change to a node it never looked at is no conflict. */
	t = reader_writer("/a");
	store_write("/c", "c1");
	ck_assert_int_eq(txn_end(t, true), XSE_OK);
	xst_expect_node("/b", "b1");
}
END_TEST

START_TEST(events_at_commit_never_on_abort)
{
	struct watch_set *w = watch_set_new(&dom0, 1, xst_events_deliver, "W");
	struct txn *t;

	ck_assert_int_eq(watch_add(w, "/a", 0, "a", -1), XSE_OK);
	ck_assert_int_eq(watch_add(w, "/c", 0, "c", -1), XSE_OK);
	ck_assert_int_eq(watch_add(w, "/c/d", 0, "cd", -1), XSE_OK);
	for (int commit = 0; commit < 2; commit++) {
		t = start(gset);
		change_overlay(t);
		txn_note_event(t, "/a/n", WATCH_SUBTREE);
		txn_note_event(t, "/b", WATCH_SUBTREE);
		xst_expect_events("");
		ck_assert_int_eq(txn_end(t, commit), XSE_OK);
		/* Each node once, in the order the transaction first touched it. */
		xst_expect_events(commit ? "W:/a/n:a W:/c:c W:/c/d:cd" : "");
	}
	/* A failed commit fires nothing either. */
	xst_node("/c", "n0", "again");
	t = start(gset);
	expect_txn_value(t, "/c", "again");
	txn_note_event(t, "/c", WATCH_SUBTREE);
	store_write("/c", "changed");
	ck_assert_int_eq(txn_end(t, true), XSE_EAGAIN);
	xst_expect_events("");
	watch_set_free(w);
}
END_TEST

Suite *xst_txn_suite(void)
{
	return XST_SUITE("txn", setup, teardown, ids_unique_nonzero_and_found,
			 ids_wrap_past_zero_and_skip_ids_in_use, transactions_quota_boundary,
			 set_clear_releases_the_quota, transaction_nodes_boundary, repeatable_reads,
			 overlay_visible_only_after_commit, abort_leaves_the_store_untouched,
			 commit_conflict_eagain, events_at_commit_never_on_abort);
}

/* daemon/watch.c in process: registration, the watches quota, matching and depth, relative paths, permission filtering, special events, delivery order. */
#include <stdio.h>
#include <string.h>

#include "daemon/quota.h"
#include "daemon/watch.h"
#include "unit.h"

enum { GUEST = 5 };

static struct ident dom0, guest;

/* Up to four sets, labelled A..D in their events, freed by the teardown. */
static struct watch_set *sets[4];
static unsigned nsets;

static void setup(void)
{
	xst_module_setup();
	xst_ident(&dom0, 0, true);
	xst_ident(&guest, GUEST, false);
	nsets = 0;
}

static void teardown(void)
{
	for (unsigned i = 0; i < nsets; i++)
		watch_set_free(sets[i]);
	ck_assert_uint_eq(watch_count(), 0);
	xst_module_teardown();
}

static struct watch_set *new_set(const struct ident *who, uint64_t order)
{
	static const char *const labels[] = {"A", "B", "C", "D"};
	struct watch_set *s;

	ck_assert_uint_lt(nsets, 4);
	s = watch_set_new(who, order, xst_events_deliver, (void *)labels[nsets]);
	ck_assert_ptr_nonnull(s);
	sets[nsets++] = s;
	return s;
}

/* Absolute watches, each "path token" or "path token depth", separated by ';'. */
static void add_watches(struct watch_set *s, const char *list)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, ";", &save); w; w = strtok_r(NULL, ";", &save)) {
		char path[128], token[64];
		int depth = -1;

		ck_assert_int_ge(sscanf(w, " %127s %63s %d", path, token, &depth), 2);
		ck_assert_msg(watch_add(s, path, 0, token, depth) == XSE_OK, "watch %s", w);
	}
}

static void fire(const char *path, enum watch_match match)
{
	watch_fire(path, match, NULL, 0, NULL, 0);
}

START_TEST(add_remove_duplicate_unknown)
{
	struct watch_set *s = new_set(&guest, 1);

	xst_node("/a", "b5", "");
	ck_assert_int_eq(watch_add(s, "/a", 0, "t", -1), XSE_OK);
	ck_assert_int_eq(watch_add(s, "/a", 0, "t", -1), XSE_EEXIST);
	ck_assert_int_eq(watch_add(s, "/a", 0, "t", 3), XSE_EEXIST);
	ck_assert_int_eq(watch_add(s, "/a", 0, "u", -1), XSE_OK);
	ck_assert_int_eq(watch_add(s, "/a/b", 0, "t", -1), XSE_OK);
	ck_assert_uint_eq(watch_set_count(s), 3);
	ck_assert_uint_eq(watch_count(), 3);
	/* Another client may watch the same path with the same token. */
	ck_assert_int_eq(watch_add(new_set(&dom0, 2), "/a", 0, "t", -1), XSE_OK);
	ck_assert_int_eq(watch_remove(s, "/a", "v"), XSE_ENOENT);
	ck_assert_int_eq(watch_remove(s, "/x", "t"), XSE_ENOENT);
	ck_assert_int_eq(watch_remove(s, "/a", "t"), XSE_OK);
	ck_assert_int_eq(watch_remove(s, "/a", "t"), XSE_ENOENT);
	ck_assert_uint_eq(watch_set_count(s), 2);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_WATCHES), 2);
	/* The removed watch hears nothing; the other set's on the same path still does. */
	fire("/a", WATCH_SUBTREE);
	xst_expect_events("A:/a:u B:/a:t");
}
END_TEST

START_TEST(quota_per_domain)
{
	struct watch_set *a = new_set(&guest, 1), *b = new_set(&guest, 2), *p = new_set(&dom0, 3);
	char token[16];

	quota_hard[QUOTA_WATCHES] = 3;
	ck_assert_int_eq(watch_add(a, "/a", 0, "1", -1), XSE_OK);
	ck_assert_int_eq(watch_add(b, "/a", 0, "2", -1), XSE_OK);
	/* Two clients of one domain share its quota: value - 1 in all. */
	ck_assert_int_eq(watch_add(a, "/a", 0, "3", -1), XSE_ENOSPC);
	ck_assert_int_eq(watch_add(b, "/b", 0, "3", -1), XSE_ENOSPC);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_WATCHES), 2);
	ck_assert_uint_eq(watch_set_count(a) + watch_set_count(b), 2);
	ck_assert_int_eq(watch_remove(a, "/a", "1"), XSE_OK);
	ck_assert_int_eq(watch_add(b, "/b", 0, "3", -1), XSE_OK);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(token, sizeof(token), "%u", i);
		ck_assert_int_eq(watch_add(p, "/a", 0, token, -1), XSE_OK);
	}
	ck_assert_uint_eq(watch_set_count(p), 10);
}
END_TEST

START_TEST(clear_releases_the_quota)
{
	struct watch_set *s = new_set(&guest, 1);

	quota_hard[QUOTA_WATCHES] = 3;
	xst_nodes("/a b5; /b b5");
	add_watches(s, "/a 1; /b 2");
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_WATCHES), 2);
	watch_set_clear(s);
	ck_assert_uint_eq(quota_used(GUEST, QUOTA_WATCHES), 0);
	ck_assert_uint_eq(watch_set_count(s), 0);
	ck_assert_uint_eq(watch_count(), 0);
	fire("/a", WATCH_SUBTREE);
	xst_expect_events("");
	/* Still usable, with the whole quota. */
	add_watches(s, "/a 1; /b 2");
	fire("/b", WATCH_SUBTREE);
	xst_expect_events("A:/b:2");
}
END_TEST

START_TEST(subtree_and_exact_matches)
{
	struct watch_set *s = new_set(&dom0, 1);

	add_watches(s, "/ root; /a a; /a/b ab; /a/b/c abc; /a/b/c/d abcd; /a/bc abc2; /x x");
	fire("/a/b/c", WATCH_SUBTREE);
	/* The node and every ancestor up to the root; not below, not beside. */
	xst_expect_events("A:/a/b/c:root A:/a/b/c:a A:/a/b/c:ab A:/a/b/c:abc");
	fire("/a/b/c", WATCH_EXACT);
	xst_expect_events("A:/a/b/c:abc");
	fire("/a/bc", WATCH_SUBTREE);
	xst_expect_events("A:/a/bc:root A:/a/bc:a A:/a/bc:abc2");
	fire("/", WATCH_SUBTREE);
	xst_expect_events("A:/:root");
	fire("/y", WATCH_EXACT);
	xst_expect_events("");
}
END_TEST

START_TEST(depth_rules)
{
	struct watch_set *s = new_set(&dom0, 1);

	add_watches(s, "/ r0 0; / r1 1; /a a0 0; /a a1 1; /a a2 2; /a any");
	fire("/", WATCH_SUBTREE);
	xst_expect_events("A:/:r0 A:/:r1");
	fire("/a", WATCH_SUBTREE);
	xst_expect_events("A:/a:r1 A:/a:a0 A:/a:a1 A:/a:a2 A:/a:any");
	fire("/a/b", WATCH_SUBTREE);
	xst_expect_events("A:/a/b:a1 A:/a/b:a2 A:/a/b:any");
	fire("/a/b/c", WATCH_SUBTREE);
	xst_expect_events("A:/a/b/c:a2 A:/a/b/c:any");
	fire("/a/b/c/d", WATCH_SUBTREE);
	xst_expect_events("A:/a/b/c/d:any");
}
END_TEST

START_TEST(relative_registration_strips_the_prefix)
{
	static const char home[] = "/local/domain/5/";
	size_t pl = strlen(home);
	struct watch_set *s = new_set(&dom0, 1);

	ck_assert_int_eq(watch_add(s, "/local/domain/5/dev", pl, "rel", -1), XSE_OK);
	ck_assert_int_eq(watch_add(s, "/local/domain/5/dev", 0, "abs", -1), XSE_OK);
	fire("/local/domain/5/dev/x", WATCH_SUBTREE);
	xst_expect_events("A:dev/x:rel A:/local/domain/5/dev/x:abs");
	watch_initial_event(s, "/local/domain/5/dev", pl, "rel");
	xst_expect_events("A:dev:rel");
}
END_TEST

/* For guest 5: /p unreadable, /p/q readable, /r its own, /u readable with an unreadable child. */
static void permission_tree(void)
{
	xst_nodes("/p n0; /p/q n0 r5; /p/q/z n0; /r b5; /u n0 r5; /u/v n0; /w n0; /w/y n0");
}

START_TEST(permission_filtering)
{
	struct watch_set *g = new_set(&guest, 1), *p = new_set(&dom0, 2);
	struct xs_perm readable[2], hidden[1];

	xst_perms("n0 r5", readable, 2);
	xst_perms("n0", hidden, 1);
	permission_tree();
	add_watches(g, "/ g");
	add_watches(p, "/ p");
	/* Unreadable node, unreadable parent (the root): only the privileged hear it. */
	fire("/p", WATCH_SUBTREE);
	xst_expect_events("B:/p:p");
	fire("/w/y", WATCH_SUBTREE);
	xst_expect_events("B:/w/y:p");
	/* Readable node, or its own. */
	fire("/p/q", WATCH_SUBTREE);
	xst_expect_events("A:/p/q:g B:/p/q:p");
	fire("/r", WATCH_SUBTREE);
	xst_expect_events("A:/r:g B:/r:p");
	/* Unreadable node, readable parent; likewise a node that is gone. */
	fire("/u/v", WATCH_SUBTREE);
	xst_expect_events("A:/u/v:g B:/u/v:p");
	fire("/p/q/gone", WATCH_SUBTREE);
	xst_expect_events("A:/p/q/gone:g B:/p/q/gone:p");
	fire("/p/gone", WATCH_SUBTREE);
	xst_expect_events("B:/p/gone:p");
	/* Permissions given with the event are used instead of the store's; old ones count too. */
	watch_fire("/p", WATCH_SUBTREE, readable, 2, NULL, 0);
	xst_expect_events("A:/p:g B:/p:p");
	watch_fire("/p", WATCH_SUBTREE, hidden, 1, readable, 2);
	xst_expect_events("A:/p:g B:/p:p");
	watch_fire("/r", WATCH_SUBTREE, hidden, 1, hidden, 1);
	xst_expect_events("B:/r:p");
}
END_TEST

START_TEST(special_events)
{
	struct watch_set *p = new_set(&dom0, 1), *g = new_set(&guest, 2);

	add_watches(p, "@introduceDomain i; @introduceDomain i1 1; @releaseDomain r; "
		       "@releaseDomain r0 0; @releaseDomain r1 1; @releaseDomain r2 2; "
		       "@releaseDomain/7 r7; @releaseDomain/7 r70 0; @releaseDomain/8 r8; / root");
	add_watches(g, "@introduceDomain gi; @introduceDomain gi1 1; @releaseDomain gr; "
		       "@releaseDomain gr1 1; @releaseDomain/7 gr7");
	/* The base event: watches on base without a depth; a guest cannot read @introduceDomain. */
	watch_fire_special_base("@introduceDomain");
	xst_expect_events("A:@introduceDomain:i");
	watch_fire_special_base("@releaseDomain");
	xst_expect_events("A:@releaseDomain:r B:@releaseDomain:gr");
	/* Per domain: any watch on exactly <base>/<domid>, and those on base with a depth >= 1. */
	watch_fire_special_domain("@releaseDomain", 7);
	xst_expect_events("A:@releaseDomain/7:r1 A:@releaseDomain/7:r2 A:@releaseDomain/7:r7 "
			  "A:@releaseDomain/7:r70 B:@releaseDomain/7:gr1 B:@releaseDomain/7:gr7");
	watch_fire_special_domain("@introduceDomain", 9);
	xst_expect_events("A:@introduceDomain/9:i1");
	/* Special events never reached "/" above; ordinary ones never reach @ watches. */
	fire("/", WATCH_SUBTREE);
	xst_expect_events("A:/:root");
}
END_TEST

START_TEST(delivery_order)
{
	/* Registered in the order A, B, C; served by set order, then registration. */
	struct watch_set *a = new_set(&dom0, 30), *b = new_set(&dom0, 10), *c = new_set(&dom0, 20);

	add_watches(a, "/a/b a1; / a2");
	add_watches(b, "/a b1");
	add_watches(c, "/a/b c1");
	add_watches(a, "/a a3");
	add_watches(b, "/a/b b2; / b3");
	fire("/a/b", WATCH_SUBTREE);
	xst_expect_events("B:/a/b:b1 B:/a/b:b2 B:/a/b:b3 C:/a/b:c1 A:/a/b:a1 A:/a/b:a2 A:/a/b:a3");
	/* Re-registering puts a watch last in its set. */
	ck_assert_int_eq(watch_remove(b, "/a", "b1"), XSE_OK);
	add_watches(b, "/a b1");
	fire("/a/b", WATCH_SUBTREE);
	xst_expect_events("B:/a/b:b2 B:/a/b:b3 B:/a/b:b1 C:/a/b:c1 A:/a/b:a1 A:/a/b:a2 A:/a/b:a3");
}
END_TEST

Suite *xst_watch_suite(void)
{
	return XST_SUITE("watch", setup, teardown, add_remove_duplicate_unknown, quota_per_domain,
			 clear_releases_the_quota, subtree_and_exact_matches, depth_rules,
			 relative_registration_strips_the_prefix, permission_filtering,
			 special_events, delivery_order);
}

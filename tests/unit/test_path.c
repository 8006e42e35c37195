/* Unit tests for proto/path.c against protocol.md section 2 and the 4.17 reference. */
#include <stdlib.h>
#include <string.h>

#include "proto/path.h"
#include "unit.h"

#define HOME7 "/local/domain/7"

/* Exactly XS_PATH_BUF bytes on the heap, so ASan sees any overrun. */
static char *out;

static void setup(void)
{
	out = malloc(XS_PATH_BUF);
	ck_assert_ptr_nonnull(out);
	memset(out, 'Q', XS_PATH_BUF);
}

static void teardown(void)
{
	free(out);
	out = NULL;
}

static void expect_ok(const char *in, bool special, const char *want, size_t want_prefix)
{
	size_t prefix = 999;
	enum xs_err e = xs_path_canonical(in, HOME7, special, out, &prefix);

	ck_assert_msg(e == XSE_OK, "'%s' rejected (%d)", in, e);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(prefix, want_prefix);
	/* NULL prefix_len is allowed and gives the same path. */
	memset(out, 'Q', XS_PATH_BUF);
	ck_assert_int_eq(xs_path_canonical(in, HOME7, special, out, NULL), XSE_OK);
	ck_assert_str_eq(out, want);
}

static void expect_einval(const char *in, bool special)
{
	ck_assert_msg(xs_path_canonical(in, HOME7, special, out, NULL) == XSE_EINVAL,
		      "'%s' (special %d) accepted", in, special);
}

START_TEST(canonical_absolute)
{
	expect_ok("/", false, "/", 0);
	expect_ok("/a", false, "/a", 0);
	expect_ok("/a/b/c", false, "/a/b/c", 0);
	expect_ok("/AZaz09-_@/x", false, "/AZaz09-_@/x", 0);
	expect_ok("/a/@b", false, "/a/@b", 0);
	expect_ok("/a/a/a", false, "/a/a/a", 0);
	/* Case is significant: nothing is folded. */
	expect_ok("/Tool", false, "/Tool", 0);
}
END_TEST

START_TEST(canonical_rejects)
{
	static const char *const bad[] = {
		"/a/", "//a", "/a//b", "a/", "", "/a b", "/a.b", "/..", "/a/.", "/a:b",
		"/a+b", "/a\tb", "/a\nb", "/a\x01", "/a\x7f", "/\xc3\xa9", "//", "/a/b/",
		"a//b", "/a\\b", "/a%b", "/a,b", "/a~b", "/a*b", "/a?b",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_einval(bad[i], false);
		expect_einval(bad[i], true);
	}
}
END_TEST

START_TEST(canonical_relative)
{
	expect_ok("foo/bar", false, HOME7 "/foo/bar", strlen(HOME7) + 1);
	expect_ok("x", false, HOME7 "/x", 16);
	/* '@' after the first byte keeps a path relative, not special. */
	expect_ok("a@b", false, HOME7 "/a@b", 16);
	expect_ok("a@b", true, HOME7 "/a@b", 16);

	/* A socket's home is dom0's. */
	ck_assert_int_eq(xs_path_canonical("data", "/local/domain/0", false, out, NULL), XSE_OK);
	ck_assert_str_eq(out, "/local/domain/0/data");
}
END_TEST

START_TEST(canonical_empty_becomes_home_slash)
{
	/* "" resolves to "<home>/", which fails the trailing-slash rule. */
	expect_einval("", false);
	expect_einval("", true);
	expect_einval("a/", false);
	expect_einval("a b", false);
}
END_TEST

START_TEST(canonical_special)
{
	expect_ok("@introduceDomain", true, "@introduceDomain", 0);
	expect_ok("@releaseDomain", true, "@releaseDomain", 0);
	expect_ok("@releaseDomain/5", true, "@releaseDomain/5", 0);
	expect_ok("@foo", true, "@foo", 0);
	expect_ok("@", true, "@", 0);
	/* Not allowed: rejected, never turned into "<home>/@introduceDomain". */
	expect_einval("@introduceDomain", false);
	expect_einval("@releaseDomain", false);
	expect_einval("@", false);
	/* Special paths obey the same syntax rules (HEAD; 4.17 WATCH did not check). */
	expect_einval("@a b", true);
	expect_einval("@a.b", true);
	expect_einval("@foo/", true);
	expect_einval("@a//b", true);
}
END_TEST

START_TEST(canonical_long)
{
	char *in = malloc(XS_PATH_BUF + 16);
	size_t n;

	ck_assert_ptr_nonnull(in);
	/* The longest path: with its NUL it fits in XENSTORE_ABS_PATH_MAX bytes. */
	in[0] = '/';
	memset(in + 1, 'a', XS_ABS_PATH_MAX - 2);
	in[XS_ABS_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(xs_path_canonical(in, HOME7, false, out, NULL), XSE_OK);
	ck_assert_uint_eq(strlen(out), XS_ABS_PATH_MAX - 1);
	/* One more byte is refused, for everyone. */
	in[XS_ABS_PATH_MAX - 1] = 'a';
	in[XS_ABS_PATH_MAX] = '\0';
	ck_assert_int_eq(xs_path_canonical(in, HOME7, false, out, NULL), XSE_EINVAL);

	/* Relative: the limit counts the home prefix too. */
	n = XS_ABS_PATH_MAX - 1 - 16;
	memset(in, 'b', n);
	in[n] = '\0';
	ck_assert_int_eq(xs_path_canonical(in, HOME7, false, out, NULL), XSE_OK);
	ck_assert_uint_eq(strlen(out), XS_ABS_PATH_MAX - 1);
	in[n] = 'b';
	in[n + 1] = '\0';
	ck_assert_int_eq(xs_path_canonical(in, HOME7, false, out, NULL), XSE_EINVAL);

	/* The longest payload-sized path is refused, not overrun. */
	n = XS_PATH_BUF - 16;
	memset(in, 'c', n);
	in[n] = '\0';
	ck_assert_int_eq(xs_path_canonical(in, HOME7, false, out, NULL), XSE_EINVAL);
	free(in);
}
END_TEST

START_TEST(is_under)
{
	ck_assert(xs_path_is_under("/a", "/a"));
	ck_assert(xs_path_is_under("/a/b", "/a"));
	ck_assert(xs_path_is_under("/a/b/c", "/a"));
	ck_assert(xs_path_is_under("/a/b/c", "/a/b"));
	ck_assert(!xs_path_is_under("/ab", "/a"));
	ck_assert(!xs_path_is_under("/a", "/a/b"));
	ck_assert(!xs_path_is_under("/b", "/a"));
	ck_assert(!xs_path_is_under("/a/bc", "/a/b"));
	ck_assert(xs_path_is_under("/a", "/"));
	ck_assert(xs_path_is_under("/a/b", "/"));
	ck_assert(xs_path_is_under("/", "/"));
	ck_assert(!xs_path_is_under("/", "/a"));
	ck_assert(!xs_path_is_under("@foo", "/"));
	ck_assert(xs_path_is_under("@foo", "@foo"));
	ck_assert(xs_path_is_under("@foo/5", "@foo"));
	ck_assert(!xs_path_is_under("@foobar", "@foo"));
	ck_assert(!xs_path_is_under("/a", "@foo"));
}
END_TEST

START_TEST(parent_len)
{
	ck_assert_uint_eq(xs_path_parent_len("/a/b"), 2);
	ck_assert_uint_eq(xs_path_parent_len("/a"), 1);
	ck_assert_uint_eq(xs_path_parent_len("/"), 0);
	ck_assert_uint_eq(xs_path_parent_len("/abc/de/f"), 7);
	ck_assert_uint_eq(xs_path_parent_len("/local/domain/7"), 13);
}
END_TEST

START_TEST(path_basename)
{
	ck_assert_str_eq(xs_path_basename("/a/b"), "b");
	ck_assert_str_eq(xs_path_basename("/a"), "a");
	ck_assert_str_eq(xs_path_basename("/"), "");
	ck_assert_str_eq(xs_path_basename("/local/domain/7"), "7");
	ck_assert_str_eq(xs_path_basename("@foo"), "@foo");
}
END_TEST

START_TEST(path_depth)
{
	ck_assert_uint_eq(xs_path_depth("/"), 0);
	ck_assert_uint_eq(xs_path_depth("/a"), 1);
	ck_assert_uint_eq(xs_path_depth("/a/b"), 2);
	ck_assert_uint_eq(xs_path_depth("/local/domain/7/x"), 4);
}
END_TEST

START_TEST(quota_len)
{
	/* Each expectation below was checked against 4.17's 2048 limit. */
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/7/foo"), 3);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/0/x"), 1);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/12345/ab"), 2);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/00000/ab"), 2);
	/* Six digits is not a domid prefix: the whole path counts. */
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/123456/ab"), 23);
	/* sscanf %5u takes a sign inside its width. */
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/-1/abc"), 3);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/-1234/ab"), 2);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/-12345/ab"), 23);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/-/ab"), 18);
	/* No slash after the number, or no number: whole path. */
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/7"), 15);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/7x/a"), 18);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain//a"), 16);
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/x/a"), 17);
	ck_assert_uint_eq(xs_path_quota_len("/local/domainx/7/a"), 18);
	ck_assert_uint_eq(xs_path_quota_len("/local/domai"), 12);
	ck_assert_uint_eq(xs_path_quota_len("/a/b"), 4);
	ck_assert_uint_eq(xs_path_quota_len("/"), 1);
	ck_assert_uint_eq(xs_path_quota_len("@releaseDomain"), 14);
	/* The prefix is stripped once, from the front only. */
	ck_assert_uint_eq(xs_path_quota_len("/local/domain/7/local/domain/8/a"), 16);
	ck_assert_uint_eq(xs_path_quota_len("/x/local/domain/8/a"), 19);
}
END_TEST

START_TEST(home)
{
	char buf[32];

	ck_assert_int_eq(xs_path_home(7, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, HOME7);
	ck_assert_int_eq(xs_path_home(0, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "/local/domain/0");
	ck_assert_int_eq(xs_path_home(65535, buf, sizeof(buf)), 19);
	ck_assert_str_eq(buf, "/local/domain/65535");
	/* Truncates safely and still reports the full length. */
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(xs_path_home(65535, buf, 8), 19);
	ck_assert_str_eq(buf, "/local/");
}
END_TEST

Suite *xst_path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *t = tcase_create("canonical");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, canonical_absolute);
	tcase_add_test(t, canonical_rejects);
	tcase_add_test(t, canonical_relative);
	tcase_add_test(t, canonical_empty_becomes_home_slash);
	tcase_add_test(t, canonical_special);
	tcase_add_test(t, canonical_long);
	suite_add_tcase(s, t);

	t = tcase_create("shape");
	tcase_add_test(t, is_under);
	tcase_add_test(t, parent_len);
	tcase_add_test(t, path_basename);
	tcase_add_test(t, path_depth);
	tcase_add_test(t, quota_len);
	tcase_add_test(t, home);
	suite_add_tcase(s, t);
	return s;
}

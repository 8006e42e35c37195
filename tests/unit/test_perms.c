/* Unit tests for proto/perms.c: entry parsing and printing as 4.17 does it, and the access rule. */
#include <limits.h>
#include <string.h>

#include "proto/perms.h"
#include "unit.h"

/*
 * Accepted entries and what the reference prints back for them in
 * GET_PERMS (each pair was checked with SET_PERMS/GET_PERMS on 4.17).
 */
static const struct {
	const char *in;
	unsigned access;
	uint32_t id;
	const char *printed;
} good[] = {
	{"n0", XS_PERM_NONE, 0, "n0"},
	{"r5", XS_PERM_READ, 5, "r5"},
	{"w5", XS_PERM_WRITE, 5, "w5"},
	{"b5", XS_PERM_BOTH, 5, "b5"},
	{"b65535", XS_PERM_BOTH, 65535, "b65535"},
	{"r32757", XS_PERM_READ, XS_DOMID_ANY, "r32757"},
	{"r0x10", XS_PERM_READ, 16, "r16"},
	{"r0X1f", XS_PERM_READ, 31, "r31"},
	{"r010", XS_PERM_READ, 8, "r8"},
	{"r00", XS_PERM_READ, 0, "r0"},
	{"r-0", XS_PERM_READ, 0, "r0"},
	{"r-1", XS_PERM_READ, 0xFFFFFFFFu, "r-1"},
	{"r 5", XS_PERM_READ, 5, "r5"},
	{"r \t5", XS_PERM_READ, 5, "r5"},
	{"r+5", XS_PERM_READ, 5, "r5"},
	{"r 0x10", XS_PERM_READ, 16, "r16"},
	{"r-0x10", XS_PERM_READ, 0xFFFFFFF0u, "r-16"},
	{"r99999", XS_PERM_READ, 99999, "r99999"},
	{"r0x7fffffff", XS_PERM_READ, 0x7FFFFFFFu, "r2147483647"},
	{"r4294967295", XS_PERM_READ, 0xFFFFFFFFu, "r-1"},
	/* The reference prints these two cut to 11 bytes ("r-214748364"): see perms.c. */
	{"r2147483648", XS_PERM_READ, 0x80000000u, "r-2147483648"},
	{"r3000000000", XS_PERM_READ, 3000000000u, "r-1294967296"},
#if LONG_MAX > 0x7fffffffL
	/* 64-bit long: truncation to 32 bits, and strtol's saturation. */
	{"r4294967296", XS_PERM_READ, 0, "r0"},
	{"r9223372036854775807", XS_PERM_READ, 0xFFFFFFFFu, "r-1"},
	{"r9223372036854775808", XS_PERM_READ, 0xFFFFFFFFu, "r-1"},
	{"r99999999999999999999", XS_PERM_READ, 0xFFFFFFFFu, "r-1"},
	{"r-9223372036854775808", XS_PERM_READ, 0, "r0"},
	{"r-9223372036854775809", XS_PERM_READ, 0, "r0"},
	{"r-99999999999999999999", XS_PERM_READ, 0, "r0"},
#endif
};

/* Rejected with EINVAL by the reference. */
static const char *const bad[] = {
	"r",   "r5x", "x5",  "R5",   "",      "r0x", "r-",   "r+",  "r ",   "r08",
	"r0b1", "n5 ", "r5 ", "rr5", "r0x10g", "r 0x", "-5",  "5",   "r5\n", "r--1",
	"r+-1", "r0x-1", "b5.0", "r1e3",
};

START_TEST(parse_good)
{
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct xs_perm p = {.id = 0xABCD, .access = 0xEE, .ignored = 1};

		ck_assert_msg(xs_perm_parse(good[i].in, &p) == XSE_OK, "'%s' rejected",
			      good[i].in);
		ck_assert_msg(p.id == good[i].id, "'%s' -> id %u, want %u", good[i].in, p.id,
			      good[i].id);
		ck_assert_uint_eq(p.access, good[i].access);
		ck_assert_uint_eq(p.ignored, 0);
	}
}
END_TEST

START_TEST(parse_bad)
{
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xs_perm p;

		ck_assert_msg(xs_perm_parse(bad[i], &p) == XSE_EINVAL, "'%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(format_as_reference)
{
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct xs_perm p;
		char buf[16];
		size_t n;

		ck_assert_int_eq(xs_perm_parse(good[i].in, &p), XSE_OK);
		n = xs_perm_format(&p, buf, sizeof(buf));
		ck_assert_str_eq(buf, good[i].printed);
		ck_assert_uint_eq(n, strlen(good[i].printed));
	}
}
END_TEST

START_TEST(format_parse_round_trip)
{
	static const uint32_t ids[] = {0,          1,          5,          XS_DOMID_ANY,
				       65535,      0x7FFFFFFF, 0x80000000, 0xFFFFFFFE,
				       0xFFFFFFFF, 99999};
	static const unsigned acc[] = {XS_PERM_NONE, XS_PERM_READ, XS_PERM_WRITE, XS_PERM_BOTH};

	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		for (unsigned a = 0; a < 4; a++) {
			struct xs_perm p = {.id = ids[i], .access = (uint8_t)acc[a]}, q;
			char buf[16];

			xs_perm_format(&p, buf, sizeof(buf));
			ck_assert_msg(xs_perm_parse(buf, &q) == XSE_OK, "'%s' rejected", buf);
			ck_assert_uint_eq(q.id, p.id);
			ck_assert_uint_eq(q.access, p.access);
		}
}
END_TEST

START_TEST(format_small_buffer)
{
	struct xs_perm p = {.id = 16, .access = XS_PERM_READ};
	char buf[8];

	memset(buf, 'Z', sizeof(buf));
	ck_assert_uint_eq(xs_perm_format(&p, buf, 3), 3);
	ck_assert_str_eq(buf, "r1");
	ck_assert_uint_eq(buf[3], 'Z');
	ck_assert_uint_eq(xs_perm_format(&p, buf, 4), 3);
	ck_assert_str_eq(buf, "r16");
	/* The longest entry: 12 characters. */
	p.id = 0x80000000u;
	ck_assert_uint_eq(xs_perm_format(&p, NULL, 0), 12);
}
END_TEST

START_TEST(letter)
{
	ck_assert_int_eq(xs_perm_letter(XS_PERM_NONE), 'n');
	ck_assert_int_eq(xs_perm_letter(XS_PERM_READ), 'r');
	ck_assert_int_eq(xs_perm_letter(XS_PERM_WRITE), 'w');
	ck_assert_int_eq(xs_perm_letter(XS_PERM_BOTH), 'b');
	/* OWNER is derived and has no letter of its own. */
	ck_assert_int_eq(xs_perm_letter(XS_PERM_BOTH | XS_PERM_OWNER), 'b');
	ck_assert_int_eq(xs_perm_letter(XS_PERM_READ | XS_PERM_OWNER), 'r');
}
END_TEST

/* ---- access rule ---- */

#define ALL (XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER)
#define NOTARGET XS_DOMID_INVALID

/* Build a list from "n0 r5 b7"-style words; a trailing '!' marks an entry ignored. */
static unsigned mk(struct xs_perm *out, const char *spec)
{
	char words[128], *save = NULL;
	unsigned n = 0;

	ck_assert_uint_lt(strlen(spec), sizeof(words));
	strcpy(words, spec);
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(w);
		bool ign = len > 0 && w[len - 1] == '!';

		if (ign)
			w[len - 1] = '\0';
		ck_assert_int_eq(xs_perm_parse(w, &out[n]), XSE_OK);
		out[n].ignored = ign;
		n++;
	}
	return n;
}

static unsigned acc(const char *spec, bool priv, uint32_t domid, uint32_t target)
{
	struct xs_perm p[16];
	unsigned n = mk(p, spec);

	return xs_perm_access(p, n, priv, domid, target);
}

START_TEST(access_basic)
{
	/* protocol.md 3.7 example. */
	ck_assert_uint_eq(acc("n0 r5 b7", false, 0, NOTARGET), ALL);
	ck_assert_uint_eq(acc("n0 r5 b7", false, 5, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 r5 b7", false, 7, NOTARGET), XS_PERM_BOTH);
	ck_assert_uint_eq(acc("n0 r5 w8", false, 8, NOTARGET), XS_PERM_WRITE);
	ck_assert_uint_eq(acc("n0 r5 b7", false, 9, NOTARGET), XS_PERM_NONE);
	/* The owner's letter is everybody else's default... */
	ck_assert_uint_eq(acc("r0", false, 9, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("b3 r5", false, 9, NOTARGET), XS_PERM_BOTH);
	/* ...but not the owner's own: an owner always gets everything. */
	ck_assert_uint_eq(acc("n3", false, 3, NOTARGET), ALL);
	/* A later entry can take rights away. */
	ck_assert_uint_eq(acc("b0 n5", false, 5, NOTARGET), XS_PERM_NONE);
}
END_TEST

START_TEST(access_first_match_wins)
{
	ck_assert_uint_eq(acc("n0 r32757 n5", false, 5, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 r32757 n5", false, 9, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 n5 r32757", false, 5, NOTARGET), XS_PERM_NONE);
	ck_assert_uint_eq(acc("n0 n5 r32757", false, 9, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 r5 b5", false, 5, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 b5 r5", false, 5, NOTARGET), XS_PERM_BOTH);
}
END_TEST

START_TEST(access_target)
{
	/* A domain acting for its target (a device model) gets the target's rights. */
	ck_assert_uint_eq(acc("n3 r5", false, 9, 3), ALL);
	ck_assert_uint_eq(acc("n0 b3", false, 9, 3), XS_PERM_BOTH);
	ck_assert_uint_eq(acc("n0 b3", false, 9, NOTARGET), XS_PERM_NONE);
	/* Its own entry comes first if listed first, and vice versa. */
	ck_assert_uint_eq(acc("n0 r9 b3", false, 9, 3), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 b3 r9", false, 9, 3), XS_PERM_BOTH);
	/* "No target" must not match an entry naming DOMID_INVALID. */
	ck_assert_uint_eq(acc("n0 r32756", false, 9, NOTARGET), XS_PERM_NONE);
	ck_assert_uint_eq(acc("n32756", false, 9, NOTARGET), XS_PERM_NONE);
}
END_TEST

START_TEST(access_domid_any)
{
	ck_assert_uint_eq(acc("n32757", false, 9, NOTARGET), ALL);
	ck_assert_uint_eq(acc("n32757", false, 0, NOTARGET), ALL);
	ck_assert_uint_eq(acc("n0 r32757", false, 9, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 b32757", false, 65534, 3), XS_PERM_BOTH);
}
END_TEST

START_TEST(access_ignored)
{
	ck_assert_uint_eq(acc("n0 r5!", false, 5, NOTARGET), XS_PERM_NONE);
	ck_assert_uint_eq(acc("n0 r5! b5", false, 5, NOTARGET), XS_PERM_BOTH);
	ck_assert_uint_eq(acc("r0 n5!", false, 5, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 r32757!", false, 9, NOTARGET), XS_PERM_NONE);
	ck_assert_uint_eq(acc("n0 r3!", false, 9, 3), XS_PERM_NONE);
	/* Control: the same lists without the marks do match. */
	ck_assert_uint_eq(acc("n0 r5", false, 5, NOTARGET), XS_PERM_READ);
	ck_assert_uint_eq(acc("n0 r32757", false, 9, NOTARGET), XS_PERM_READ);
	/* As in C, the owner entry's mark is not consulted. */
	ck_assert_uint_eq(acc("n5!", false, 5, NOTARGET), ALL);
}
END_TEST

START_TEST(access_priv)
{
	ck_assert_uint_eq(acc("n5", true, 0, NOTARGET), ALL);
	ck_assert_uint_eq(acc("n5 n0", true, 0, NOTARGET), ALL);
	ck_assert_uint_eq(acc("n5", true, 7, NOTARGET), ALL);
	ck_assert_uint_eq(acc("n5", false, 0, NOTARGET), XS_PERM_NONE);
}
END_TEST

START_TEST(access_empty)
{
	struct xs_perm p = {.id = 9, .access = XS_PERM_BOTH};

	ck_assert_uint_eq(xs_perm_access(&p, 0, false, 9, NOTARGET), XS_PERM_NONE);
	ck_assert_uint_eq(xs_perm_access(&p, 1, false, 9, NOTARGET), ALL);
}
END_TEST

Suite *xst_perms_suite(void)
{
	Suite *s = suite_create("perms");
	TCase *t = tcase_create("string");

	tcase_add_test(t, parse_good);
	tcase_add_test(t, parse_bad);
	tcase_add_test(t, format_as_reference);
	tcase_add_test(t, format_parse_round_trip);
	tcase_add_test(t, format_small_buffer);
	tcase_add_test(t, letter);
	suite_add_tcase(s, t);

	t = tcase_create("access");
	tcase_add_test(t, access_basic);
	tcase_add_test(t, access_first_match_wins);
	tcase_add_test(t, access_target);
	tcase_add_test(t, access_domid_any);
	tcase_add_test(t, access_ignored);
	tcase_add_test(t, access_priv);
	tcase_add_test(t, access_empty);
	suite_add_tcase(s, t);
	return s;
}

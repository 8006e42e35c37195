/* The store's name-to-chunk index: after any mix of additions and deletions it never misses a pair it holds; its chunk list finds every offset. */
#include <stdlib.h>

#include "daemon/dirindex.h"
#include "unit.h"

enum { PAIRS = 30000 };

struct pair {
	uint32_t hash, chunk;
	int count; /* instances in the index */
};

/* How many times the index yields chunk for hash. */
static int yields(const struct dirindex *x, uint32_t hash, uint32_t chunk)
{
	size_t pos = 0;
	uint32_t c;
	int n = 0;

	while ((c = dirindex_next(x, hash, &pos)) != 0)
		n += c == chunk;
	return n;
}

/*
 * A model of a multiset against the index, with few distinct hashes so that
 * runs are long and collide: every deletion's backward shift must keep each
 * later pair reachable from its home slot, across growth too.
 */
START_TEST(random_additions_and_deletions_match_a_model)
{
	struct pair *p = calloc(PAIRS, sizeof(*p));
	struct dirindex *x = dirindex_new("/d");
	unsigned seed = 20261125;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(x);
	/* Distinct pairs, 6 per hash. */
	for (int i = 0; i < PAIRS; i++) {
		p[i].hash = (uint32_t)(i % 5000) * 2654435761u;
		p[i].chunk = (uint32_t)(1 + i / 5000);
	}
	for (int step = 0; step < 4 * PAIRS; step++) {
		struct pair *q = &p[rand_r(&seed) % PAIRS];

		if (q->count && rand_r(&seed) % 3 == 0) {
			dirindex_del(x, q->hash, q->chunk);
			q->count--;
		} else if (q->count < 2) {
			ck_assert(dirindex_add(x, q->hash, q->chunk));
			q->count++;
		}
	}
	for (int i = 0; i < PAIRS; i++)
		ck_assert_int_eq(yields(x, p[i].hash, p[i].chunk), p[i].count);
	ck_assert_ptr_eq(dirindex_get("/d"), x);
	dirindex_drop("/d");
	ck_assert_ptr_null(dirindex_get("/d"));
	ck_assert_uint_eq(dirindex_bytes(), 0);
	free(p);
}
END_TEST

START_TEST(absent_hash_yields_nothing_and_clear_frees)
{
	struct dirindex *a = dirindex_new("/a"), *b = dirindex_new("/b");

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(yields(a, 7, 1), 0);
	ck_assert(dirindex_add(a, dirindex_hash("x", 1), 3));
	ck_assert(dirindex_add(b, dirindex_hash("x", 1), 4));
	ck_assert_int_eq(yields(a, dirindex_hash("x", 1), 3), 1);
	ck_assert_int_eq(yields(a, dirindex_hash("x", 1), 4), 0);
	ck_assert_int_eq(yields(a, dirindex_hash("y", 1), 3), 0);
	ck_assert_uint_gt(dirindex_bytes(), 0);
	dirindex_clear();
	ck_assert_ptr_null(dirindex_get("/a"));
	ck_assert_ptr_null(dirindex_get("/b"));
	ck_assert_uint_eq(dirindex_bytes(), 0);
}
END_TEST

enum { CHUNKS = 3000 };

/* The chunk list's model: ids in list order with their sizes; gone chunks have size 0. */
struct model {
	uint32_t id[CHUNKS];
	size_t bytes[CHUNKS];
	size_t n;
};

/* The index answers what the model says, at every chunk's first and last byte and past the end. */
static void expect_model(const struct dirindex *x, const struct model *m)
{
	size_t start = 0, off;

	ck_assert(dirindex_sized(x));
	for (size_t i = 0; i < m->n; i++) {
		if (!m->bytes[i]) {
			ck_assert(!dirindex_chunk_offset(x, m->id[i], &off));
			continue;
		}
		ck_assert(dirindex_chunk_offset(x, m->id[i], &off));
		ck_assert_uint_eq(off, start);
		ck_assert_uint_eq(dirindex_chunk_at(x, start, &off), m->id[i]);
		ck_assert_uint_eq(off, start);
		ck_assert_uint_eq(dirindex_chunk_at(x, start + m->bytes[i] - 1, &off), m->id[i]);
		ck_assert_uint_eq(off, start);
		start += m->bytes[i];
	}
	ck_assert_uint_eq(dirindex_bytes_total(x), start);
	ck_assert_uint_eq(dirindex_chunk_at(x, start, &off), 0);
	ck_assert_uint_eq(dirindex_chunk_at(x, start + 100, &off), 0);
}

/*
 * The chunk list against a model through what the store does to a
 * directory: chunks appended, grown and shrunk, emptied anywhere (holes,
 * then compaction), renamed in place; the sums stay exact throughout.
 */
START_TEST(chunk_list_follows_appends_resizes_renames_and_holes)
{
	static struct model m;
	struct dirindex *x = dirindex_new("/d");
	unsigned seed = 20260107;
	uint32_t next_id = 1;

	ck_assert_ptr_nonnull(x);
	m.n = 0;
	expect_model(x, &m);
	for (int step = 0; step < 40000; step++) {
		unsigned op = (unsigned)rand_r(&seed) % 10;
		size_t i = m.n ? (size_t)rand_r(&seed) % m.n : 0;
		size_t b = 2 + (size_t)rand_r(&seed) % 40;

		if ((op < 3 || !m.n) && m.n < CHUNKS) {
			m.id[m.n] = next_id++;
			m.bytes[m.n++] = b;
			ck_assert(dirindex_chunk_append(x, m.id[m.n - 1], b));
		} else if (!m.bytes[i]) {
			continue;
		} else if (op < 5) {
			dirindex_chunk_grow(x, m.id[i], b);
			m.bytes[i] += b;
		} else if (op < 8) {
			/* Mostly by a name, at times the whole chunk: it goes. */
			b = op == 7 ? m.bytes[i] : (b < m.bytes[i] ? b : m.bytes[i]);
			dirindex_chunk_shrink(x, m.id[i], b);
			m.bytes[i] -= b;
		} else {
			ck_assert(dirindex_chunk_rename(x, m.id[i], next_id));
			m.id[i] = next_id++;
		}
		if (step % 4000 == 0)
			expect_model(x, &m);
	}
	expect_model(x, &m);
	/* What it cannot follow leaves the sizes unknown, the pairs alone. */
	ck_assert(dirindex_add(x, 7, 1));
	dirindex_chunk_grow(x, next_id + 5, 3);
	ck_assert(!dirindex_sized(x));
	ck_assert_uint_eq(yields(x, 7, 1), 1);
	dirindex_drop("/d");
	ck_assert_uint_eq(dirindex_bytes(), 0);
}
END_TEST

Suite *xst_dirindex_suite(void)
{
	Suite *s = suite_create("dirindex");
	TCase *tc = tcase_create("index");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, random_additions_and_deletions_match_a_model);
	tcase_add_test(tc, absent_hash_yields_nothing_and_clear_frees);
	tcase_add_test(tc, chunk_list_follows_appends_resizes_renames_and_holes);
	suite_add_tcase(s, tc);
	return s;
}

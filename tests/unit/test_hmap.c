/* The daemon's string-keyed hash table: lookups stay right as entries come and go (filter included). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hmap.h"
#include "unit.h"

enum { N = 20000 };

struct item {
	struct hnode h;
	char key[24];
};

static struct item *items_make(struct hmap *m)
{
	struct item *it = calloc(N, sizeof(*it));

	ck_assert_ptr_nonnull(it);
	for (int i = 0; i < N; i++) {
		snprintf(it[i].key, sizeof(it[i].key), "/k/%d", i);
		it[i].h.key = it[i].key;
		ck_assert(hmap_insert(m, &it[i].h));
	}
	return it;
}

/* Removing entries clears filter bits only when no other entry needs them. */
START_TEST(find_after_inserts_and_removals)
{
	struct hmap m = {0};
	struct item *it = items_make(&m);
	char key[24];

	ck_assert_uint_eq(m.count, N);
	for (int i = 0; i < N; i += 2)
		hmap_remove(&m, &it[i].h);
	for (int i = 0; i < N; i++) {
		struct hnode *h = hmap_find(&m, it[i].key);

		if (i % 2)
			ck_assert_ptr_eq(h, &it[i].h);
		else
			ck_assert_ptr_null(h);
	}
	for (int i = N; i < 2 * N; i++) {
		snprintf(key, sizeof(key), "/k/%d", i);
		ck_assert_ptr_null(hmap_find(&m, key));
	}
	/* Put them back: found again, and removing everything leaves nothing to find. */
	for (int i = 0; i < N; i += 2)
		ck_assert(hmap_insert(&m, &it[i].h));
	for (int i = 0; i < N; i++)
		ck_assert_ptr_eq(hmap_find(&m, it[i].key), &it[i].h);
	for (int i = 0; i < N; i++)
		hmap_remove(&m, &it[i].h);
	ck_assert_uint_eq(m.count, 0);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_null(hmap_find(&m, it[i].key));
	for (size_t b = 0; b < m.nbuckets; b++)
		ck_assert_uint_eq(m.filter[b], 0);
	hmap_free(&m);
	free(it);
}
END_TEST

/* A key given as a prefix of a longer string, with the hash computed a byte at a time. */
START_TEST(find_by_prefix_and_running_hash)
{
	struct hmap m = {0};
	struct item a = {.key = "/local"}, b = {.key = "/local/domain"};
	const char *path = "/local/domain/7/device";
	uint32_t h = HMAP_HASH_INIT;

	a.h.key = a.key;
	b.h.key = b.key;
	ck_assert(hmap_insert(&m, &a.h));
	ck_assert(hmap_insert(&m, &b.h));
	for (size_t i = 0; path[i]; i++) {
		struct hnode *found = hmap_find_n(&m, path, i, h);

		if (i == strlen(a.key))
			ck_assert_ptr_eq(found, &a.h);
		else if (i == strlen(b.key))
			ck_assert_ptr_eq(found, &b.h);
		else
			ck_assert_ptr_null(found);
		h = hmap_hash_add(h, (unsigned char)path[i]);
	}
	ck_assert_uint_eq(h, hmap_hash(path));
	hmap_free(&m);
}
END_TEST

/*
 * hmap_hash64 reads its key's last bytes as whole words where it can: the
 * hash must depend on the key's bytes alone (not on what lies around it, nor
 * on where it starts), and on every one of them.
 */
START_TEST(hash64_sees_the_key_only_and_all_of_it)
{
	unsigned char a[64], b[64];

	for (size_t len = 0; len <= 40; len++) {
		for (size_t at = 0; at < 8; at++) {
			uint64_t h;

			memset(a, 0x00, sizeof(a));
			memset(b, 0xff, sizeof(b));
			for (size_t i = 0; i < len; i++)
				a[at + i] = b[16 + at / 2 + i] = (unsigned char)('a' + (i * 7 + len) % 26);
			h = hmap_hash64(a + at, len);
			ck_assert_msg(h == hmap_hash64(b + 16 + at / 2, len), "len %zu at %zu", len, at);
			for (size_t i = 0; i < len; i++) {
				a[at + i] ^= 0x20;
				ck_assert_msg(hmap_hash64(a + at, len) != h, "len %zu: byte %zu unseen", len, i);
				a[at + i] ^= 0x20;
			}
		}
	}
	/* The length counts too: a key is not its own prefix padded with NULs. */
	memset(a, 0, sizeof(a));
	for (size_t len = 0; len < 40; len++)
		ck_assert(hmap_hash64(a, len) != hmap_hash64(a, len + 1));
}
END_TEST

Suite *xst_hmap_suite(void)
{
	Suite *s = suite_create("hmap");
	TCase *tc = tcase_create("hmap");

	tcase_add_test(tc, find_after_inserts_and_removals);
	tcase_add_test(tc, find_by_prefix_and_running_hash);
	tcase_add_test(tc, hash64_sees_the_key_only_and_all_of_it);
	suite_add_tcase(s, tc);
	return s;
}

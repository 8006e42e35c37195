/* The store's format module: round trips, and decoders that refuse every truncation instead of reading past it. */
#include <stdlib.h>
#include <string.h>

#include "daemon/arena.h"
#include "daemon/store_format.h"
#include "unit.h"

static const struct xs_perm perms3[] = {{0, XS_PERM_NONE, 0}, {5, XS_PERM_READ, 1}, {70000, XS_PERM_BOTH, 0}};

/* Bytes copied to a buffer of exactly their size, so that ASan sees a read past them. */
static unsigned char *exact(const unsigned char *p, size_t len)
{
	unsigned char *q = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(q);
	memcpy(q, p, len);
	return q;
}

START_TEST(varints_round_trip_and_refuse_truncation)
{
	static const uint64_t vals[] = {0, 1, 0x7f, 0x80, 0x3fff, 0x4000, UINT32_MAX, UINT64_MAX};
	unsigned char buf[VARINT_MAX];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = (size_t)(varint_put(buf, vals[i]) - buf);
		const unsigned char *p = buf;
		uint64_t v;

		ck_assert_uint_eq(n, varint_len(vals[i]));
		ck_assert(varint_get(&p, buf + n, &v));
		ck_assert(v == vals[i]);
		ck_assert_ptr_eq(p, buf + n);
		for (size_t cut = 0; cut < n; cut++) {
			p = buf;
			ck_assert(!varint_get(&p, buf + cut, &v));
			ck_assert_ptr_eq(p, buf);
		}
	}
	/* Eleven continuation bytes: more than 64 bits. */
	unsigned char long_one[11];

	memset(long_one, 0x80, sizeof(long_one));
	const unsigned char *p = long_one;
	uint64_t v;

	ck_assert(!varint_get(&p, long_one + sizeof(long_one), &v));
}
END_TEST

START_TEST(records_round_trip)
{
	struct store_node n = {0}, back;
	struct fmt_buf b = {0};
	struct arena a = {0};

	n.gen = 123456789;
	n.perms = (struct xs_perm *)perms3;
	n.nperms = 3;
	n.value = "hello";
	n.vlen = 5;
	n.nchildren = 300;
	n.children_bytes = 4000;
	n.first_chunk = 2;
	n.last_chunk = 200;
	n.next_chunk_id = 201;
	ck_assert(fmt_record_encode(&b, &n));
	ck_assert(fmt_record_decode(&a, b.p, b.len, true, &back));
	ck_assert(back.gen == n.gen);
	ck_assert_uint_eq(back.nperms, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(back.perms[i].id, perms3[i].id);
		ck_assert_uint_eq(back.perms[i].access, perms3[i].access);
		ck_assert_uint_eq(back.perms[i].ignored, perms3[i].ignored);
	}
	ck_assert_uint_eq(back.vlen, 5);
	ck_assert_mem_eq(back.value, "hello", 5);
	ck_assert_uint_eq(back.nchildren, 300);
	ck_assert_uint_eq(back.children_bytes, 4000);
	ck_assert_uint_eq(back.first_chunk, 2);
	ck_assert_uint_eq(back.last_chunk, 200);
	ck_assert_uint_eq(back.next_chunk_id, 201);
	ck_assert(!back.in_chunk);
	for (size_t cut = 0; cut < b.len; cut++) {
		unsigned char *q = exact(b.p, cut);

		ck_assert_msg(!fmt_record_decode(&a, q, cut, true, &back), "cut at %zu", cut);
		free(q);
	}
	/* An unknown flag is damage, not something to skip. */
	b.p[0] |= 0x40;
	ck_assert(!fmt_record_decode(&a, b.p, b.len, true, &back));
	fmt_buf_free(&b);
	arena_free(&a);
}
END_TEST

/* Two entries in a chunk body: found by name, decoded, and the chunk header read back. */
START_TEST(entries_and_chunks)
{
	struct fmt_buf b = {0};
	struct arena a = {0};
	struct fmt_entry e;
	struct store_node n;
	unsigned char hdr[CHUNK_HEADER], *rec;
	struct fmt_chunk ch;
	size_t first;

	ck_assert(fmt_entry_encode(&b, "n0001", false, 77, perms3, 3, "v1", 2));
	first = b.len;
	ck_assert(fmt_entry_encode(&b, "n0002", true, 0, NULL, 0, NULL, 0));
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0002", 5, &e), 1);
	ck_assert_uint_eq(e.off, first);
	ck_assert_uint_eq(e.flags, ENTRY_OWN_RECORD);
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0003", 5, &e), 0);
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n000", 4, &e), 0);
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0001", 5, &e), 1);
	ck_assert_str_eq(e.name, "n0001");
	ck_assert(fmt_entry_node(&a, &e, true, &n));
	ck_assert(n.in_chunk && n.gen == 77 && n.nperms == 3 && n.vlen == 2);
	ck_assert_mem_eq(n.value, "v1", 2);
	ck_assert(fmt_entry_at(b.p, b.len, e.len, &e));
	ck_assert(!fmt_entry_at(b.p, b.len, b.len, &e));
	for (size_t cut = 1; cut < first; cut++) {
		unsigned char *q = exact(b.p, cut);

		ck_assert(!fmt_entry_at(q, cut, 0, &e));
		ck_assert_int_eq(fmt_entry_find(q, cut, "n0001", 5, &e), 0);
		free(q);
	}

	fmt_chunk_header(hdr, 3, 9, 2, b.len);
	rec = malloc(CHUNK_HEADER + b.len);
	memcpy(rec, hdr, CHUNK_HEADER);
	memcpy(rec + CHUNK_HEADER, b.p, b.len);
	ck_assert(fmt_chunk_decode(rec, CHUNK_HEADER + b.len, &ch));
	ck_assert(ch.prev == 3 && ch.next == 9 && ch.cls == 2 && ch.len == b.len);
	ck_assert_ptr_eq(ch.body, rec + CHUNK_HEADER);
	ck_assert(!fmt_chunk_decode(rec, CHUNK_HEADER + b.len - 1, &ch)); /* entries longer than the record */
	ck_assert(!fmt_chunk_decode(rec, CHUNK_HEADER - 1, &ch));
	rec[8] = CHUNK_CLASSES;
	ck_assert(!fmt_chunk_decode(rec, CHUNK_HEADER + b.len, &ch));
	free(rec);
	fmt_buf_free(&b);
	arena_free(&a);
}
END_TEST

/* A value changed alone: spliced anew (revalue) or, as long as before, written where it lies (repatch); both decode alike. */
START_TEST(entries_change_their_value)
{
	struct fmt_buf b = {0};
	struct arena a = {0};
	struct fmt_entry e;
	struct store_node n;
	unsigned char out[ENTRY_INLINE_MAX], before[256];
	size_t len;

	ck_assert(fmt_entry_encode(&b, "n0001", false, 77, perms3, 3, "v1", 2));
	ck_assert(fmt_entry_encode(&b, "n0002", false, 5, perms3, 1, "tail", 4));
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0001", 5, &e), 1);
	/* Revalued: a longer value, a generation of two bytes, the permissions as they were. */
	len = fmt_entry_revalue(&e, 300, "longer", 6, out, sizeof(out));
	ck_assert_uint_gt(len, e.len);
	ck_assert(fmt_entry_at(out, len, 0, &e));
	ck_assert(fmt_entry_node(&a, &e, true, &n));
	ck_assert(n.gen == 300 && n.nperms == 3 && n.vlen == 6 && memcmp(n.value, "longer", 6) == 0);
	ck_assert(n.perms[2].id == perms3[2].id && n.perms[2].access == perms3[2].access);
	ck_assert_uint_eq(fmt_entry_revalue(&e, 300, "x", 1, out, len - 6), 0); /* too big for cap */
	/* Repatched in place: as long, and a generation of as many bytes; the neighbour untouched. */
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0001", 5, &e), 1);
	ck_assert(fmt_entry_repatch(b.p, &e, 99, "v2", 2));
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0001", 5, &e), 1);
	ck_assert(fmt_entry_node(&a, &e, true, &n));
	ck_assert(n.gen == 99 && n.nperms == 3 && n.vlen == 2 && memcmp(n.value, "v2", 2) == 0);
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0002", 5, &e), 1);
	ck_assert(fmt_entry_node(&a, &e, true, &n));
	ck_assert(n.gen == 5 && n.vlen == 4 && memcmp(n.value, "tail", 4) == 0);
	/* Not in place, body untouched: another length, or a generation that needs another byte. */
	ck_assert_int_eq(fmt_entry_find(b.p, b.len, "n0001", 5, &e), 1);
	memcpy(before, b.p, b.len);
	ck_assert(!fmt_entry_repatch(b.p, &e, 100, "v22", 3));
	ck_assert(!fmt_entry_repatch(b.p, &e, 128, "v3", 2));
	ck_assert_mem_eq(before, b.p, b.len);
	fmt_buf_free(&b);
	arena_free(&a);
}
END_TEST

START_TEST(keys_say_what_they_are)
{
	unsigned char k[64];
	size_t klen = fmt_chunk_key(k, "/a/b", 300), dlen = 0;
	uint32_t id = 0;

	ck_assert_uint_eq(klen, 4 + 1 + 2);
	ck_assert_int_eq(fmt_key_kind(k, klen, &dlen, &id), FMT_KEY_CHUNK);
	ck_assert_uint_eq(dlen, 4);
	ck_assert_uint_eq(id, 300);
	ck_assert_int_eq(fmt_key_kind(k, klen - 1, &dlen, &id), FMT_KEY_BAD);
	ck_assert_int_eq(fmt_key_kind((const unsigned char *)"/a/b", 4, &dlen, &id), FMT_KEY_RECORD);
	ck_assert_int_eq(fmt_key_kind((const unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1,
				      &dlen, &id),
			 FMT_KEY_META);
	ck_assert_int_eq(fmt_key_kind(k, 0, &dlen, &id), FMT_KEY_META);
}
END_TEST

START_TEST(meta_round_trips)
{
	struct fmt_meta m = {42}, back;
	unsigned char buf[STORE_META_SIZE];
	uint32_t old = STORE_META_MAGIC_OLD;

	fmt_meta_encode(buf, &m);
	ck_assert_int_eq(fmt_meta_decode(buf, sizeof(buf), &back), FMT_META_CURRENT);
	ck_assert(back.gen == 42);
	ck_assert_int_eq(fmt_meta_decode(buf, sizeof(buf) - 1, &back), 0);
	/* The previous format's header: its generation where it was. */
	memcpy(buf, &old, 4);
	ck_assert_int_eq(fmt_meta_decode(buf, sizeof(buf), &back), FMT_META_OLD);
	ck_assert(back.gen == 42);
	buf[3] ^= 0x40;
	ck_assert_int_eq(fmt_meta_decode(buf, sizeof(buf), &back), 0);
}
END_TEST

/* A buffer growing in an arena keeps what it held. */
START_TEST(buffers_grow_in_an_arena)
{
	struct arena a = {0};
	struct fmt_buf b = {.arena = &a};

	for (unsigned i = 0; i < 5000; i++) {
		ck_assert(fmt_reserve(&b, 1));
		b.p[b.len++] = (unsigned char)i;
	}
	for (unsigned i = 0; i < 5000; i++)
		ck_assert_uint_eq(b.p[i], (unsigned char)i);
	fmt_buf_free(&b);
	arena_free(&a);
}
END_TEST

Suite *xst_store_format_suite(void)
{
	Suite *s = suite_create("store_format");
	TCase *tc = tcase_create("codecs");

	tcase_add_test(tc, varints_round_trip_and_refuse_truncation);
	tcase_add_test(tc, records_round_trip);
	tcase_add_test(tc, entries_and_chunks);
	tcase_add_test(tc, entries_change_their_value);
	tcase_add_test(tc, keys_say_what_they_are);
	tcase_add_test(tc, meta_round_trips);
	tcase_add_test(tc, buffers_grow_in_an_arena);
	suite_add_tcase(s, tc);
	return s;
}

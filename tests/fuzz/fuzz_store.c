/* Fuzz harness for the store format decoders that read disk and log bytes at start-up (daemon/store_format.c, daemon/wal.h). */
/* fuzz-sources: daemon/store_format.c daemon/arena.c proto/perms.c proto/path.c */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "daemon/arena.h"
#include "proto/path.h"
#include "daemon/store_format.h"
#include "daemon/wal.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a selector byte, then the bytes as the file or the log would
 * hold them. Every decoder must refuse what does not parse without reading
 * outside the input, and what it accepts must survive its encoder and come
 * back the same.
 */

static struct arena arena;

static bool same_perms(const struct store_node *a, const struct store_node *b)
{
	if (a->nperms != b->nperms)
		return false;
	for (unsigned i = 0; i < a->nperms; i++)
		if (a->perms[i].id != b->perms[i].id || a->perms[i].access != b->perms[i].access ||
		    a->perms[i].ignored != b->perms[i].ignored)
			return false;
	return true;
}

/* A node record: decoded, encoded again, decoded to the same node. */
static void record(const uint8_t *p, size_t len)
{
	struct store_node n, again;
	struct fmt_buf b = {NULL, 0, 0, &arena};

	if (!fmt_record_decode(&arena, p, len, true, &n))
		return;
	FUZZ_CHECK(n.vlen <= len);
	FUZZ_CHECK(fmt_record_encode(&b, &n));
	FUZZ_CHECK(fmt_record_decode(&arena, b.p, b.len, true, &again));
	FUZZ_CHECK(again.gen == n.gen && again.vlen == n.vlen && same_perms(&n, &again));
	FUZZ_CHECK(!n.vlen || memcmp(again.value, n.value, n.vlen) == 0);
	/* Child counts travel with chunk ids only (CONTROL check judges a record without them). */
	if (n.first_chunk || n.next_chunk_id) {
		FUZZ_CHECK(again.nchildren == n.nchildren && again.children_bytes == n.children_bytes);
		FUZZ_CHECK(again.first_chunk == n.first_chunk && again.last_chunk == n.last_chunk);
	}
	/* Without the value: the same node, no value copied. */
	FUZZ_CHECK(fmt_record_decode(&arena, p, len, false, &again));
	FUZZ_CHECK(again.gen == n.gen && again.vlen == n.vlen && same_perms(&n, &again));
}

/* A chunk: its body inside the input; every entry inside the body, in order, found by name. */
static void chunk(const uint8_t *p, size_t len)
{
	struct fmt_chunk ch;
	struct fmt_entry e, f;
	size_t off = 0;

	if (!fmt_chunk_decode(p, len, &ch))
		return;
	FUZZ_CHECK(ch.body >= p && ch.body + ch.len <= p + len);
	while (off < ch.len && fmt_entry_at(ch.body, ch.len, off, &e)) {
		struct store_node n;

		FUZZ_CHECK(e.off == off && e.len > 0 && off + e.len <= ch.len);
		FUZZ_CHECK((const unsigned char *)e.name >= ch.body &&
			   (const unsigned char *)e.name + e.nlen < ch.body + ch.len);
		FUZZ_CHECK(strlen(e.name) == e.nlen);
		FUZZ_CHECK(e.rest >= ch.body && e.rest + e.rest_len <= ch.body + off + e.len);
		/* The first entry of that name from the start is this one or an earlier one. */
		FUZZ_CHECK(fmt_entry_find(ch.body, ch.len, e.name, e.nlen, &f) == 1 && f.off <= off);
		if (fmt_entry_node(&arena, &e, true, &n))
			FUZZ_CHECK(n.vlen <= e.rest_len);
		off += e.len;
	}
}

/* A group's body as the write-ahead log keeps it: every record decoded is within the input, the walk ends. */
static void group(const uint8_t *p, size_t len)
{
	size_t pos = 0, prev;
	unsigned op;
	const unsigned char *key, *data;
	uint32_t klen, dlen;
	int r;

	do {
		prev = pos;
		r = wal_record_next(p, len, &pos, &op, &key, &klen, &data, &dlen);
		if (r == 1) {
			FUZZ_CHECK(pos > prev && pos <= len);
			FUZZ_CHECK(key >= p && key + klen <= p + len);
			FUZZ_CHECK(op == WAL_PUT ? data >= key + klen && data + dlen <= p + len : !data && !dlen);
		}
	} while (r == 1);
	FUZZ_CHECK(r < 0 || pos == len);
}

/* The meta record, and what keys say they are. */
static void meta_and_key(const uint8_t *p, size_t len)
{
	struct fmt_meta m, again;
	unsigned char out[STORE_META_SIZE];
	size_t dir_len = 0;
	uint32_t id = 0;

	if (fmt_meta_decode(p, len, &m)) {
		fmt_meta_encode(out, &m);
		FUZZ_CHECK(fmt_meta_decode(out, sizeof(out), &again) == FMT_META_CURRENT);
		FUZZ_CHECK(again.gen == m.gen);
	}
	if (fmt_key_kind(p, len, &dir_len, &id) == FMT_KEY_CHUNK) {
		unsigned char key[XS_PATH_BUF + CHUNK_KEY_MAX];
		char dir[XS_PATH_BUF];

		FUZZ_CHECK(dir_len < len);
		if (dir_len < sizeof(dir) && !memchr(p, '\0', dir_len)) {
			memcpy(dir, p, dir_len);
			dir[dir_len] = '\0';
			/* The key made for that directory and id reads back the same. */
			size_t klen = fmt_chunk_key(key, dir, id);
			size_t dl2 = 0;
			uint32_t id2 = 0;

			FUZZ_CHECK(fmt_key_kind(key, klen, &dl2, &id2) == FMT_KEY_CHUNK);
			FUZZ_CHECK(dl2 == dir_len && id2 == id);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		record(data + 1, size - 1);
		break;
	case 1:
		chunk(data + 1, size - 1);
		break;
	case 2:
		group(data + 1, size - 1);
		break;
	default:
		meta_and_key(data + 1, size - 1);
		break;
	}
	arena_reset(&arena);
	return 0;
}

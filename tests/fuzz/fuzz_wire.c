/* Fuzz harness for the framer and the payload argument helpers (proto/wire.c). */
/* fuzz-sources: proto/wire.c */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: one byte choosing the uneven split sizes, then the byte stream a
 * peer sends. The stream is fed whole, a byte at a time and in uneven
 * pieces; every way must yield the messages the protocol defines, checked
 * against model_next below, and each message's payload goes through the
 * argument helpers the dispatcher uses.
 */

#define ARGS_MAX 8 /* how many arguments the checks look at; the count is checked whole */

/*
 * The protocol's own definition of a stream, over the bytes s[0..end): the
 * next event at *pos, a 16-byte header then len bytes; a length over 4096
 * ends the stream. *pos moves past a message or an oversize header only.
 */
static enum xs_framer_state model_next(const uint8_t *s, size_t end, size_t *pos,
				       struct xs_header *h)
{
	if (end - *pos < XS_HEADER_SIZE)
		return XS_FRAMER_NEED_MORE;
	memcpy(h, s + *pos, sizeof(*h));
	if (h->len > XS_PAYLOAD_MAX) {
		*pos += XS_HEADER_SIZE;
		return XS_FRAMER_OVERSIZE;
	}
	if (end - *pos - XS_HEADER_SIZE < h->len)
		return XS_FRAMER_NEED_MORE;
	*pos += XS_HEADER_SIZE + h->len;
	return XS_FRAMER_MESSAGE;
}

/* xs_parse_domid against strtoul: nonempty decimal digits only, at most XS_DOMID_MAX. */
static void check_domid(const char *arg)
{
	unsigned got = 0;
	int rc = xs_parse_domid(arg, &got);
	bool digits = arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg);
	unsigned long want = 0;

	if (digits) {
		errno = 0;
		want = strtoul(arg, NULL, 10);
		digits = errno == 0 && want <= XS_DOMID_MAX;
	}
	FUZZ_CHECK((rc == 0) == digits);
	FUZZ_CHECK(rc != 0 || got == want);
}

/* What the dispatcher does with a payload: split it, test its shape, parse arguments. */
static void check_payload(const char *payload, size_t len)
{
	/* An exact-size copy, so that a helper reading past len is caught by ASan. */
	char *p = malloc(len ? len : 1);
	const char *argv[ARGS_MAX];
	unsigned n, i;
	const char *next = p, *end = p + len;

	memcpy(p, payload, len);
	n = xs_split_strings(p, len, argv, ARGS_MAX);
	FUZZ_CHECK(n == xs_count_strings(p, len));
	FUZZ_CHECK(xs_split_strings(p, len, argv, 1) == n);
	/* Strings follow each other, each ends with a NUL inside the payload. */
	for (i = 0; i < n && i < ARGS_MAX; i++) {
		size_t alen;

		FUZZ_CHECK(argv[i] == next);
		alen = strnlen(argv[i], (size_t)(end - argv[i]));
		FUZZ_CHECK(argv[i] + alen < end);
		next = argv[i] + alen + 1;
		check_domid(argv[i]);
		/* An error reply's name: known names map back to themselves. */
		{
			enum xs_err e = xs_err_from_name(argv[i], alen);

			/* An error, never success (XSE_OK sits below every error). */
			FUZZ_CHECK(e > XSE_OK && e < XSE_COUNT && xs_err_name(e));
			FUZZ_CHECK(e == XSE_EINVAL || strcmp(xs_err_name(e), argv[i]) == 0);
		}
	}
	/* After the last string, no NUL: those bytes are no argument. */
	if (n <= ARGS_MAX)
		FUZZ_CHECK(memchr(next, '\0', (size_t)(end - next)) == NULL);
	FUZZ_CHECK(xs_is_one_arg(p, len) == (n == 1 && len > 0 && p[len - 1] == '\0'));
	free(p);
}

/* One message the framer delivered, against the model's next one. */
static void check_message(const struct xs_framer *f, const uint8_t *s, size_t start)
{
	unsigned char hdr[XS_HEADER_SIZE];
	const char *name = xs_type_name(f->hdr.type);

	xs_header_encode(&f->hdr, hdr);
	FUZZ_CHECK(memcmp(hdr, s + start, XS_HEADER_SIZE) == 0);
	FUZZ_CHECK(f->hdr.len <= XS_PAYLOAD_MAX);
	FUZZ_CHECK(memcmp(xs_framer_payload(f), s + start + XS_HEADER_SIZE, f->hdr.len) == 0);
	FUZZ_CHECK(!name || xs_type_from_name(name) == (int)f->hdr.type);
	check_payload(xs_framer_payload(f), f->hdr.len);
}

/* Size of the next piece handed to the framer: the whole rest, one byte, or uneven. */
static size_t piece_len(unsigned way, uint8_t key, const uint8_t *s, size_t done, size_t left)
{
	size_t len;

	if (way == 0)
		return left;
	if (way == 1)
		return 1;
	/* Mostly short pieces (splitting headers anywhere), now and then a long one. */
	len = 1 + ((size_t)s[done] * 7u + key) % 37u;
	if ((s[done] ^ key) % 16u == 0)
		len = 1 + (size_t)s[done] * 24u;
	return len < left ? len : left;
}

static void feed_stream(unsigned way, uint8_t key, const uint8_t *s, size_t n)
{
	static struct xs_framer f;
	size_t done = 0, mpos = 0; /* bytes the framer took; where the model stands */
	struct xs_header h;

	xs_framer_init(&f);
	while (done < n) {
		size_t len = piece_len(way, key, s, done, n - done), off = 0;
		uint8_t *piece = malloc(len);

		memcpy(piece, s + done, len);
		while (off < len) {
			size_t used = (size_t)-1, start = mpos;
			enum xs_framer_state st = xs_framer_feed(&f, piece + off, len - off, &used);

			/* The daemon loops on what is left: each call must make progress. */
			FUZZ_CHECK(used > 0 && used <= len - off);
			off += used;
			done += used;
			if (st == XS_FRAMER_NEED_MORE) {
				FUZZ_CHECK(off == len);
				FUZZ_CHECK(model_next(s, done, &mpos, &h) == XS_FRAMER_NEED_MORE);
				continue;
			}
			FUZZ_CHECK(st == model_next(s, done, &mpos, &h) && mpos == done);
			if (st == XS_FRAMER_OVERSIZE) {
				/* The daemon drops the peer: nothing after this counts. */
				FUZZ_CHECK(f.hdr.len == h.len);
				free(piece);
				return;
			}
			FUZZ_CHECK(st == XS_FRAMER_MESSAGE);
			check_message(&f, s, start);
		}
		free(piece);
	}
	/* What the framer still wants is exactly what completes the pending message. */
	if (mpos < n || n == 0) {
		size_t have = n - mpos;
		size_t want = have < XS_HEADER_SIZE ? XS_HEADER_SIZE - have
						    : XS_HEADER_SIZE + f.hdr.len - have;

		FUZZ_CHECK(xs_framer_wanted(&f) == want);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	for (unsigned way = 0; way < 3; way++)
		feed_stream(way, data[0], data + 1, size - 1);
	return 0;
}

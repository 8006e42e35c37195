/* Fuzz harness for the shared ring's copy algorithm (proto/ring.c) under a hostile peer. */
/* fuzz-sources: proto/ring.c */
#include <stdbool.h>
#include <string.h>

#include "proto/ring.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a run of operations on one ring page. The peer (a guest, for the
 * daemon) owns the page as much as we do, so it may set any index of either
 * half, even the ones only we should write, and scribble on the data; our
 * side consumes and produces. Every call is checked against the protocol's
 * arithmetic: free-running 32-bit indices, more than XS_RING_SIZE in flight
 * means corrupt (-1, which the daemon takes as fatal: it stops the ring
 * with XS_RING_ERR_RINGIDX), else min(len, what is there) bytes move at
 * index & (XS_RING_SIZE - 1), and nothing else of the page changes.
 */

#define LEN_MAX (2 * XS_RING_SIZE) /* asked lengths go past a whole ring */
#define OPS_MAX 4096

struct input {
	const uint8_t *d;
	size_t n, i;
};

static uint8_t take8(struct input *in)
{
	return in->i < in->n ? in->d[in->i++] : 0;
}

static uint32_t take32(struct input *in)
{
	uint32_t v = 0;

	for (int k = 0; k < 4; k++)
		v = v << 8 | take8(in);
	return v;
}

/* One half of the page: its data and the two indices. */
struct half {
	char *buf;
	uint32_t *cons, *prod;
};

static struct half half_of(struct xs_ring *r, bool rsp)
{
	if (rsp)
		return (struct half){r->rsp, &r->rsp_cons, &r->rsp_prod};
	return (struct half){r->req, &r->req_cons, &r->req_prod};
}

/* Same half in another copy of the page (the expected one). */
static struct half same_half(struct xs_ring *r, const struct xs_ring *base, struct half h)
{
	return half_of(r, h.buf != base->req);
}

/* In flight per the protocol, or -1 when the indices are corrupt. */
static long in_flight(uint32_t cons, uint32_t prod)
{
	uint32_t n = prod - cons;

	return n > XS_RING_SIZE ? -1 : (long)n;
}

static void check_counts(struct half h)
{
	long n = in_flight(*h.cons, *h.prod);

	FUZZ_CHECK(xs_ring_pending(h.cons, h.prod) == n);
	FUZZ_CHECK(xs_ring_space(h.cons, h.prod) == (n < 0 ? -1 : (long)XS_RING_SIZE - n));
}

static void check_consume(struct xs_ring *r, struct half h, size_t len)
{
	static struct xs_ring want;
	struct half w = same_half(&want, r, h);
	/* Exact size, so that a copy past len is caught; filled to see what was written. */
	unsigned char *out = malloc(len ? len : 1);
	long avail = in_flight(*h.cons, *h.prod);
	uint32_t c0 = *h.cons;
	int rc;

	memset(out, 0xa5, len);
	want = *r;
	rc = xs_ring_consume(h.buf, h.cons, h.prod, out, len);
	if (avail < 0) {
		FUZZ_CHECK(rc == -1);
	} else {
		FUZZ_CHECK(rc >= 0 && (size_t)rc == ((size_t)avail < len ? (size_t)avail : len));
		for (int i = 0; i < rc; i++)
			FUZZ_CHECK(out[i] == (unsigned char)h.buf[(c0 + (uint32_t)i) & (XS_RING_SIZE - 1)]);
		*w.cons = c0 + (uint32_t)rc;
	}
	for (size_t i = rc > 0 ? (size_t)rc : 0; i < len; i++)
		FUZZ_CHECK(out[i] == 0xa5);
	FUZZ_CHECK(memcmp(&want, r, sizeof(want)) == 0);
	free(out);
}

static void check_produce(struct xs_ring *r, struct half h, const unsigned char *in, size_t len)
{
	static struct xs_ring want;
	struct half w = same_half(&want, r, h);
	long used = in_flight(*h.cons, *h.prod);
	uint32_t p0 = *h.prod;
	int rc;

	want = *r;
	rc = xs_ring_produce(h.buf, h.cons, h.prod, in, len);
	if (used < 0) {
		FUZZ_CHECK(rc == -1);
	} else {
		size_t room = XS_RING_SIZE - (size_t)used;

		FUZZ_CHECK(rc >= 0 && (size_t)rc == (room < len ? room : len));
		for (int i = 0; i < rc; i++)
			w.buf[(p0 + (uint32_t)i) & (XS_RING_SIZE - 1)] = (char)in[i];
		*w.prod = p0 + (uint32_t)rc;
	}
	FUZZ_CHECK(memcmp(&want, r, sizeof(want)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	/* Heap, exact size: an access outside the page is caught by ASan. */
	struct xs_ring *r = calloc(1, sizeof(*r));

	for (unsigned i = 0; i < sizeof(r->req); i++) {
		r->req[i] = (char)(i * 7u + 1u);
		r->rsp[i] = (char)(i * 13u + 5u);
	}
	for (unsigned ops = 0; in.i < in.n && ops < OPS_MAX; ops++) {
		uint8_t op = take8(&in);
		struct half h = half_of(r, op & 8);

		switch (op & 7) {
		case 0: /* the peer sets any index */
			*h.prod = take32(&in);
			break;
		case 1:
			*h.cons = take32(&in);
			break;
		case 2: /* the peer produces without our help, or the indices step around */
			*h.prod += take8(&in);
			break;
		case 3: { /* the peer writes data anywhere in the half */
			size_t off = take8(&in) * 4u, n = take8(&in);

			for (size_t k = 0; k < n; k++)
				h.buf[(off + k) & (XS_RING_SIZE - 1)] = (char)take8(&in);
			break;
		}
		case 4:
			check_consume(r, h, (take32(&in) & 0xffff) % (LEN_MAX + 1));
			break;
		case 5: {
			size_t len = (take32(&in) & 0xffff) % (LEN_MAX + 1);
			unsigned char *src = malloc(len ? len : 1);

			for (size_t k = 0; k < len; k++)
				src[k] = (unsigned char)(take8(&in) ^ k);
			check_produce(r, h, src, len);
			free(src);
			break;
		}
		case 6: /* both indices near the 32-bit wrap */
			*h.cons = 0xffffff00u + take8(&in);
			*h.prod = *h.cons + take8(&in) * 8u;
			break;
		default:
			break;
		}
		check_counts(h);
	}
	free(r);
	return 0;
}

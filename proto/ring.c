/* The shared ring page: its layout, index rules and the copy algorithm both sides use. */
#include "ring.h"

#include <string.h>

_Static_assert(sizeof(struct xs_ring) == 2080, "ring page layout");

int xs_ring_pending(const uint32_t *cons, const uint32_t *prod)
{
	uint32_t n = xs_ring_load(prod) - xs_ring_load(cons);

	return n > XS_RING_SIZE ? -1 : (int)n;
}

int xs_ring_space(const uint32_t *cons, const uint32_t *prod)
{
	int n = xs_ring_pending(cons, prod);

	return n < 0 ? -1 : (int)XS_RING_SIZE - n;
}

int xs_ring_consume(const char *buf, uint32_t *cons, const uint32_t *prod, void *out, size_t len)
{
	uint32_t c = *cons; /* ours: nobody else writes it */
	uint32_t p = xs_ring_load(prod);
	uint32_t avail = p - c;
	size_t done = 0;

	if (avail > XS_RING_SIZE)
		return -1;
	/* prod was loaded with acquire: the bytes before it are visible now. */
	while (done < len && avail > 0) {
		uint32_t off = c & (XS_RING_SIZE - 1);
		size_t chunk = XS_RING_SIZE - off;

		if (chunk > avail)
			chunk = avail;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((char *)out + done, buf + off, chunk);
		done += chunk;
		c += (uint32_t)chunk;
		avail -= (uint32_t)chunk;
	}
	if (done) {
		/* Our reads of the data complete before the peer may overwrite it. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		xs_ring_store(cons, c);
	}
	return (int)done;
}

int xs_ring_produce(char *buf, const uint32_t *cons, uint32_t *prod, const void *in, size_t len)
{
	uint32_t p = *prod;
	uint32_t c = xs_ring_load(cons);
	uint32_t used = p - c;
	size_t done = 0;

	if (used > XS_RING_SIZE)
		return -1;
	/* The consumer's reads of the space we reuse are done before we write. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	while (done < len && used < XS_RING_SIZE) {
		uint32_t off = p & (XS_RING_SIZE - 1);
		size_t chunk = XS_RING_SIZE - off;

		if (chunk > XS_RING_SIZE - used)
			chunk = XS_RING_SIZE - used;
		if (chunk > len - done)
			chunk = len - done;
		memcpy(buf + off, (const char *)in + done, chunk);
		done += chunk;
		p += (uint32_t)chunk;
		used += (uint32_t)chunk;
	}
	if (done)
		xs_ring_store(prod, p); /* release: the data is visible before the index */
	return (int)done;
}

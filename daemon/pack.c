/* Packing state into bytes and reading it back: the buffer and its reader (pack.h). */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

void pack_bytes(struct pack *b, const void *data, size_t len)
{
	if (b->oom || !len)
		return;
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *np;

		while (cap - b->len < len)
			cap *= 2;
		if (!(np = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void pack_u32(struct pack *b, uint32_t v)
{
	pack_bytes(b, &v, sizeof(v));
}

void pack_u64(struct pack *b, uint64_t v)
{
	pack_bytes(b, &v, sizeof(v));
}

void pack_blob(struct pack *b, const void *data, size_t len)
{
	pack_u32(b, (uint32_t)len);
	pack_bytes(b, data, len);
}

void pack_str(struct pack *b, const char *s)
{
	pack_blob(b, s, strlen(s) + 1);
}

void pack_free(struct pack *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

const void *unpack_bytes(struct unpack *r, size_t len)
{
	const unsigned char *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < len) {
		r->bad = true;
		return NULL;
	}
	r->p += len;
	return p;
}

uint32_t unpack_u32(struct unpack *r)
{
	const void *p = unpack_bytes(r, sizeof(uint32_t));
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t unpack_u64(struct unpack *r)
{
	const void *p = unpack_bytes(r, sizeof(uint64_t));
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

const void *unpack_blob(struct unpack *r, size_t *len)
{
	*len = unpack_u32(r);
	return r->bad ? NULL : unpack_bytes(r, *len);
}

const char *unpack_str(struct unpack *r)
{
	size_t len;
	const char *s = unpack_blob(r, &len);

	if (s && (!len || s[len - 1] != '\0' || memchr(s, '\0', len) != s + len - 1)) {
		r->bad = true;
		return NULL;
	}
	return s;
}

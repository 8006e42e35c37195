/* Per-request scratch memory: bump allocation, released all at once when the request is done. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 16384u

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	max_align_t data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + 7u) & ~(size_t)7u;
	if (!a->head || a->used + size > a->head->size) {
		size_t csize = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		struct arena_chunk *c = malloc(sizeof(*c) + csize);

		if (!c) {
			a->failures++;
			return NULL;
		}
		c->size = csize;
		c->next = a->head;
		a->head = c;
		a->used = 0;
	}
	void *p = (char *)a->head->data + a->used;

	a->used += size;
	a->total += size;
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t size)
{
	void *q = arena_alloc(a, size ? size : 1);

	if (q && size)
		memcpy(q, p, size);
	return q;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *q = arena_alloc(a, len + 1);

	if (q) {
		memcpy(q, s, len);
		q[len] = '\0';
	}
	return q;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

struct arena_mark arena_mark(const struct arena *a)
{
	struct arena_mark m = {a->head, a->used, a->total};

	return m;
}

void arena_rewind(struct arena *a, struct arena_mark m)
{
	/* Back to empty: as a reset, which keeps a chunk for the next user rather than a malloc each time. */
	if (!m.head) {
		arena_reset(a);
		return;
	}
	while (a->head != m.head) {
		struct arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
	a->used = m.used;
	a->total = m.total;
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *c = a->head;

	if (!c)
		return;
	/* Keep the oldest chunk of ordinary size; large one-off chunks go back. */
	while (c->next) {
		struct arena_chunk *next = c->next;

		free(c);
		c = next;
	}
	if (c->size > ARENA_CHUNK) {
		free(c);
		c = NULL;
	}
	a->head = c;
	a->used = 0;
	a->total = 0;
}

void arena_free(struct arena *a)
{
	arena_reset(a);
	free(a->head);
	a->head = NULL;
}

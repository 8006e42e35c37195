/* Per-request scratch memory: bump allocation, released all at once when the request is done. */
#ifndef XSD_ARENA_H
#define XSD_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* newest chunk first */
	size_t used;              /* bytes used in head */
	size_t total;             /* bytes handed out since the last reset */
	unsigned long failures;   /* allocations refused (malloc failed), ever: a decoder's NULL told apart from damage */
};

/* NULL only if malloc fails. Allocations are 8-byte aligned. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_memdup(struct arena *a, const void *p, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/*
 * A point to go back to: scratch work inside a longer-lived arena (a
 * module's own, kept between calls) takes a mark and rewinds to it, so it
 * costs no malloc once the arena is warm, and nested users cannot free
 * each other's memory.
 */
struct arena_mark {
	struct arena_chunk *head;
	size_t used, total;
};
struct arena_mark arena_mark(const struct arena *a);
/* Release everything allocated since the mark (chunks made since go back to the heap). */
void arena_rewind(struct arena *a, struct arena_mark m);
/* Free everything but the first chunk, which is kept for the next request. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif

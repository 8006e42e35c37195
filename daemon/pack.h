/* Packing state into bytes and reading it back (host byte order): what one daemon hands the next. */
#ifndef XSD_PACK_H
#define XSD_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A growing buffer; an allocation failure is remembered (oom) and makes
 * every later call a no-op, so a writer checks once at the end.
 */
struct pack {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

void pack_bytes(struct pack *b, const void *data, size_t len);
void pack_u32(struct pack *b, uint32_t v);
void pack_u64(struct pack *b, uint64_t v);
/* A length (u32) and the bytes. */
void pack_blob(struct pack *b, const void *data, size_t len);
/* A string: a blob with its NUL. */
void pack_str(struct pack *b, const char *s);
void pack_free(struct pack *b);

/* Reading: past the end (or a string without its NUL) sets bad, and gives 0 or NULL from then on. */
struct unpack {
	const unsigned char *p, *end;
	bool bad;
};

uint32_t unpack_u32(struct unpack *r);
uint64_t unpack_u64(struct unpack *r);
const void *unpack_bytes(struct unpack *r, size_t len);
const void *unpack_blob(struct unpack *r, size_t *len);
const char *unpack_str(struct unpack *r);

#endif

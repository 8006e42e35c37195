/* Permission entries: the "r5" string form both ways and the access rule. */
#ifndef XS_PROTO_PERMS_H
#define XS_PROTO_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Access bits. OWNER is derived, never stored. */
#define XS_PERM_NONE 0x0u
#define XS_PERM_READ 0x1u
#define XS_PERM_WRITE 0x2u
#define XS_PERM_BOTH (XS_PERM_READ | XS_PERM_WRITE)
#define XS_PERM_OWNER 0x8u

/* Most entries a node can carry (a payload of "n0\0" entries bounds it anyway). */
#define XS_PERMS_MAX 1366u

/* One ACL entry. The first entry of a list names the owner and the default access. */
struct xs_perm {
	uint32_t id;      /* domid; kept 32-bit because the C daemon parses with strtol */
	uint8_t access;   /* XS_PERM_READ | XS_PERM_WRITE */
	uint8_t ignored;  /* names a domain that does not exist: listed, never matched */
};

/*
 * Parse one entry ("b5", "r0x10"): letter n/r/w/b, then a number parsed like
 * strtol base 0 (so octal and hex are accepted, as in the C daemon). The
 * whole string must be used. Returns XSE_OK or XSE_EINVAL.
 */
enum xs_err xs_perm_parse(const char *s, struct xs_perm *out);

/*
 * Format one entry as the C daemon does ("%c%i"); returns the length of the
 * full text (no NUL), like snprintf, so a result >= size means truncation.
 */
size_t xs_perm_format(const struct xs_perm *p, char *buf, size_t size);

/* The letter for an access mask ('n', 'r', 'w', 'b'). */
char xs_perm_letter(unsigned access);

/*
 * Access a requester has to a node with these entries (C perm_for_conn):
 * priv gets everything; an owner match (domid, its target, or DOMID_ANY)
 * gets read, write and owner; otherwise the first non-ignored later entry
 * that matches decides; otherwise the owner entry's letter.
 * target is XS_DOMID_INVALID when the requester has none.
 */
unsigned xs_perm_access(const struct xs_perm *perms, unsigned n, bool priv, uint32_t domid,
			uint32_t target);

#endif

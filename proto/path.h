/* XenStore path syntax: validation, relative-path resolution, ancestry tests. */
#ifndef XS_PROTO_PATH_H
#define XS_PROTO_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

/* Longest canonical path we ever build: a payload-sized path plus a home prefix. */
#define XS_PATH_BUF (XS_PAYLOAD_MAX + 32)

/* True for `@...` special paths (watch targets such as @introduceDomain). */
static inline bool xs_path_is_special(const char *path)
{
	return path[0] == '@';
}

/*
 * Canonicalise a path argument as the C daemon does: allowed bytes are
 * [A-Za-z0-9_/@-]; a relative path is prefixed with "<home>/"; no trailing
 * '/' except for the root, no "//", special paths only if allow_special.
 * out must hold XS_PATH_BUF bytes. *prefix_len (may be NULL) receives the
 * length of "<home>/" added to a relative path, 0 otherwise.
 * Returns XSE_OK or XSE_EINVAL.
 */
enum xs_err xs_path_canonical(const char *in, const char *home, bool allow_special, char *out,
			      size_t *prefix_len);

/* True if path equals ancestor or lies below it ("/" is above every normal path). */
bool xs_path_is_under(const char *path, const char *ancestor);

/* Length of the parent's path ("/a/b" -> 2, "/a" -> 1 for "/"); 0 for "/" itself. */
size_t xs_path_parent_len(const char *path);

/* Last component ("/a/b" -> "b"; "/" -> ""). */
const char *xs_path_basename(const char *path);

/* Number of components below the root ("/" -> 0, "/a/b" -> 2). */
unsigned xs_path_depth(const char *path);

/*
 * Length of a path as counted by the path-max quota: the part after a
 * leading "/local/domain/<n>/" (n up to 5 digits), else the whole path.
 */
size_t xs_path_quota_len(const char *path);

/* Write the home path of a domain ("/local/domain/<domid>") into buf. */
int xs_path_home(unsigned domid, char *buf, size_t size);

#endif

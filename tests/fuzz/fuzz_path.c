/* Fuzz harness for path canonicalisation, the path-max length and path structure (proto/path.c). */
/* fuzz-sources: proto/path.c */
#include <stdbool.h>
#include <string.h>

#include "proto/path.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a flags byte (bit 0: special paths allowed; bit 1: a 32-bit domid
 * for the home, else 16 bits), the domid, then the path argument up to its
 * first NUL, as the dispatcher hands argv[0] over.
 */

#define PATH_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@"

/* The syntax rule on the whole prefixed path, which with its NUL fits XENSTORE_ABS_PATH_MAX. */
static bool model_valid(const char *in, const char *full, bool allow_special)
{
	size_t len = strlen(full);

	if (in[0] == '@' && !allow_special)
		return false;
	return len < XS_ABS_PATH_MAX && !(len > 1 && full[len - 1] == '/') && !strstr(full, "//") &&
	       strspn(full, PATH_CHARS) == len;
}

/* Depth, parent, basename and ancestry of a canonical path under "/". */
static void check_structure(const char *path, const char *home)
{
	size_t len = strlen(path), plen = xs_path_parent_len(path);
	unsigned depth = 0;
	const char *base = xs_path_basename(path);

	for (size_t i = 0; i < len && len > 1; i++)
		depth += path[i] == '/';
	FUZZ_CHECK(xs_path_depth(path) == depth);
	FUZZ_CHECK(xs_path_is_under(path, "/") && xs_path_is_under(path, path));
	if (depth == 0) {
		FUZZ_CHECK(plen == 0 && *base == '\0');
		return;
	}
	/* "/a" -> "/" and "a"; "/a/b" -> "/a" and "b". */
	FUZZ_CHECK(plen >= 1 && plen < len && base == path + plen + (plen > 1));
	FUZZ_CHECK(*base != '\0' && !strchr(base, '/'));
	{
		char *parent = strndup(path, plen);
		char *canon = malloc(XS_PATH_BUF);

		FUZZ_CHECK(xs_path_canonical(parent, home, false, canon, NULL) == XSE_OK);
		FUZZ_CHECK(strcmp(canon, parent) == 0 && xs_path_depth(parent) == depth - 1);
		FUZZ_CHECK(xs_path_is_under(path, parent) && !xs_path_is_under(parent, path));
		free(canon);
		free(parent);
	}
}

/* The path-max length against what the C daemon computes with sscanf. */
static void check_quota_len(const char *path)
{
	unsigned domid;
	int off = 0;

	if (sscanf(path, "/local/domain/%5u/%n", &domid, &off) != 1)
		off = 0;
	FUZZ_CHECK(xs_path_quota_len(path) == strlen(path) - (size_t)off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags = size ? data[0] : 0;
	bool allow_special = flags & 1;
	size_t hdr = flags & 2 ? 5 : 3, inlen, homelen, pre;
	unsigned domid = 0;
	char home[32], *in, *full, *out, *again;
	bool relative;
	enum xs_err rc;

	if (size < hdr)
		return 0;
	for (size_t i = 1; i < hdr; i++)
		domid = domid << 8 | data[i];
	FUZZ_CHECK(xs_path_home(domid, home, sizeof(home)) == (int)strlen(home));
	homelen = strlen(home);

	inlen = strnlen((const char *)data + hdr, size - hdr);
	in = strndup((const char *)data + hdr, inlen);
	relative = in[0] != '/' && in[0] != '@';
	pre = relative ? homelen + 1 : 0;
	full = malloc(pre + inlen + 1);
	snprintf(full, pre + inlen + 1, "%s%s%s", relative ? home : "", relative ? "/" : "", in);

	/* Exact XS_PATH_BUF, as callers provide: a write past it is caught by ASan. */
	out = malloc(XS_PATH_BUF);
	again = malloc(XS_PATH_BUF);
	{
		size_t got_pre = 12345;

		rc = xs_path_canonical(in, home, allow_special, out, &got_pre);
		FUZZ_CHECK(rc == XSE_OK || rc == XSE_EINVAL);
		FUZZ_CHECK((rc == XSE_OK) == model_valid(in, full, allow_special));
		FUZZ_CHECK(got_pre == (rc == XSE_OK ? pre : 0));
	}
	if (rc == XSE_OK) {
		size_t againpre = 1;

		FUZZ_CHECK(strcmp(out, full) == 0);
		/* Idempotent, and a canonical path no longer depends on the home. */
		FUZZ_CHECK(xs_path_canonical(out, "/local/domain/7", allow_special, again,
					     &againpre) == XSE_OK);
		FUZZ_CHECK(strcmp(again, out) == 0 && againpre == 0);
		FUZZ_CHECK(xs_path_is_special(out) == (in[0] == '@'));
		check_quota_len(out);
		/* The quota counts what the domain wrote, whatever its home (domids of 5 digits). */
		if (relative && domid <= 99999)
			FUZZ_CHECK(xs_path_quota_len(out) == inlen);
		if (out[0] == '/')
			check_structure(out, home);
		else
			FUZZ_CHECK(!xs_path_is_under(out, "/"));
	}
	free(again);
	free(out);
	free(full);
	free(in);
	return 0;
}

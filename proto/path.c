/* XenStore path syntax: canonicalisation, ancestry and the path-max quota length. */
#include "path.h"

#include <stdio.h>
#include <string.h>

/* The path characters, [A-Za-z0-9_/@-]: a table, since every request's path is checked a byte at a time. */
static const unsigned char path_chars[256] = {
	['-'] = 1, ['/'] = 1, ['_'] = 1, ['@'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

enum xs_err xs_path_canonical(const char *in, const char *home, bool allow_special, char *out,
			      size_t *prefix_len)
{
	size_t pre = 0, inlen = strlen(in), len;

	if (prefix_len)
		*prefix_len = 0;

	/*
	 * '@' paths are never made relative, even where they are not allowed:
	 * the C daemon rejects "@x" on READ instead of reading "<home>/@x".
	 */
	if (in[0] == '@') {
		if (!allow_special)
			return XSE_EINVAL;
	} else if (in[0] != '/') {
		pre = strlen(home) + 1;
	}

	if (pre + inlen >= XS_PATH_BUF)
		return XSE_EINVAL;
	if (pre) {
		memcpy(out, home, pre - 1);
		out[pre - 1] = '/';
	}
	memcpy(out + pre, in, inlen + 1);
	len = pre + inlen;

	/*
	 * Every path, with its NUL, fits in XENSTORE_ABS_PATH_MAX bytes: the
	 * bound of xs_wire.h, which 4.17 enforced (tighter) for everyone and HEAD
	 * left to the payload size. It bounds what a path can cost the daemon.
	 */
	if (len >= XS_ABS_PATH_MAX)
		return XSE_EINVAL;
	/* Checked after prefixing, so "" becomes "<home>/" and fails here. */
	if (len > 1 && out[len - 1] == '/')
		return XSE_EINVAL;
	/* One pass: every character a path character, and no "//". */
	for (size_t i = 0; i < len; i++)
		if (!path_chars[(unsigned char)out[i]] || (out[i] == '/' && out[i + 1] == '/'))
			return XSE_EINVAL;

	if (prefix_len)
		*prefix_len = pre;
	return XSE_OK;
}

bool xs_path_is_under(const char *path, const char *ancestor)
{
	size_t alen = strlen(ancestor);

	/* "/" would otherwise need a "//" to match; special paths have no root. */
	if (strcmp(ancestor, "/") == 0)
		return path[0] == '/';
	if (strncmp(path, ancestor, alen) != 0)
		return false;
	return path[alen] == '\0' || path[alen] == '/';
}

size_t xs_path_parent_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || strcmp(path, "/") == 0)
		return 0;
	/* The parent of a top-level node is the root, which keeps its slash. */
	if (slash == path)
		return 1;
	return (size_t)(slash - path);
}

const char *xs_path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

unsigned xs_path_depth(const char *path)
{
	unsigned n = 0;

	if (strcmp(path, "/") == 0)
		return 0;
	for (; *path; path++)
		if (*path == '/')
			n++;
	return n;
}

size_t xs_path_quota_len(const char *path)
{
	static const char lead[] = "/local/domain/";
	const size_t leadlen = sizeof(lead) - 1;
	size_t i = leadlen, width = 0, digits = 0;

	/* The second byte settles most paths outside /local/domain/ without a call. */
	if (path[0] != '/' || path[1] != 'l' || strncmp(path, lead, leadlen) != 0)
		return strlen(path);

	/*
	 * Mirror sscanf("%5u/"): the 5-character field includes an optional
	 * sign, so "/local/domain/-1/x" matches too ('-' is a path character).
	 */
	if (path[i] == '-' || path[i] == '+') {
		i++;
		width++;
	}
	while (width < 5 && path[i] >= '0' && path[i] <= '9') {
		i++;
		width++;
		digits++;
	}
	if (digits == 0 || path[i] != '/')
		return strlen(path);
	return strlen(path + i + 1);
}

int xs_path_home(unsigned domid, char *buf, size_t size)
{
	return snprintf(buf, size, "/local/domain/%u", domid);
}

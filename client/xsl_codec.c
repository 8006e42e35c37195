/* The client's codec: requests built and checked before sending, replies and events parsed without trusting a length. */
#include "xsl_codec.h"

#include <errno.h>

#include "../proto/path.h"
#include "../proto/perms.h"

int xsl_codec_check_path(const char *path, bool allow_special)
{
	char canon[XS_PATH_BUF];
	size_t len;

	if (!path || !*path)
		return -EINVAL;
	len = strlen(path);
	/* With its NUL a path fits in XS_ABS_PATH_MAX bytes; a relative one below path-max. */
	if (len >= (path[0] == '/' || path[0] == '@' ? XS_ABS_PATH_MAX : XS_REL_PATH_MAX))
		return -ENAMETOOLONG;
	if (path[0] == '@' && !allow_special)
		return -EINVAL;
	/* The store's own syntax rules; any home will do to check a relative path. */
	if (xs_path_canonical(path, "/h", allow_special, canon, NULL) != XSE_OK)
		return -EINVAL;
	return 0;
}

int xsl_codec_encode(unsigned char *buf, uint32_t type, uint32_t req_id, uint32_t tx_id,
		     const struct xsl_arg *args, unsigned nargs)
{
	struct xs_header h = {type, req_id, tx_id, 0};
	size_t len = 0;

	for (unsigned i = 0; i < nargs; i++) {
		size_t n = args[i].len + (args[i].nul ? 1 : 0);

		if (n > XS_PAYLOAD_MAX - len)
			return -E2BIG;
		if (args[i].len)
			memcpy(buf + XS_HEADER_SIZE + len, args[i].data, args[i].len);
		if (args[i].nul)
			buf[XS_HEADER_SIZE + len + args[i].len] = '\0';
		len += n;
	}
	h.len = (uint32_t)len;
	xs_header_encode(&h, buf);
	return (int)(XS_HEADER_SIZE + len);
}

void xsl_codec_set_req_id(unsigned char *msg, uint32_t req_id)
{
	struct xs_header h;

	xs_header_decode(msg, &h);
	h.req_id = req_id;
	xs_header_encode(&h, msg);
}

void xsl_decoder_init(struct xsl_decoder *d)
{
	xs_framer_init(&d->framer);
}

int xsl_decode(struct xsl_decoder *d, const void *buf, size_t len, size_t *used,
	       struct xsl_msgview *m)
{
	switch (xs_framer_feed(&d->framer, buf, len, used)) {
	case XS_FRAMER_MESSAGE:
		m->hdr = d->framer.hdr;
		m->payload = xs_framer_payload(&d->framer);
		return 1;
	case XS_FRAMER_OVERSIZE:
		return -EPROTO;
	default:
		return 0;
	}
}

int xsl_codec_error(const char *p, size_t len)
{
	const char *nul = memchr(p, '\0', len);
	int e = xs_err_to_errno(xs_err_from_name(p, nul ? (size_t)(nul - p) : len));

	return e ? -e : -EINVAL;
}

int xsl_codec_event(const char *p, size_t len, const char **path, const char **token)
{
	const char *nul;

	if (len < 3 || p[len - 1] != '\0' || xs_count_strings(p, len) != 2 || p[0] == '\0')
		return -EPROTO;
	nul = memchr(p, '\0', len);
	*path = p;
	*token = nul + 1;
	return 0;
}

int xsl_codec_uint(const char *p, size_t len, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (len < 2 || p[len - 1] != '\0')
		return -EPROTO;
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EPROTO;
		if (v > (max - (unsigned)(p[i] - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return 0;
}

int xsl_codec_bool(const char *p, size_t len)
{
	if (len == 2 && p[1] == '\0' && (p[0] == 'T' || p[0] == 'F'))
		return p[0] == 'T';
	return -EPROTO;
}

int xsl_codec_names(const char *p, size_t len, unsigned *count)
{
	if (len && p[len - 1] != '\0')
		return -EPROTO;
	*count = xs_count_strings(p, len);
	return 0;
}

int xsl_codec_perms(const char *p, size_t len, struct xsl_perm *out, unsigned max, unsigned *count)
{
	unsigned n = 0;

	if (len == 0 || p[len - 1] != '\0')
		return -EPROTO;
	for (size_t off = 0; off < len; off += strlen(p + off) + 1) {
		struct xs_perm perm;

		if (n == max || xs_perm_parse(p + off, &perm) != XSE_OK)
			return -EPROTO;
		out[n].domid = perm.id;
		out[n].access = perm.access & XS_PERM_BOTH;
		n++;
	}
	*count = n;
	return 0;
}

int xsl_codec_format_perms(const struct xsl_perm *perms, unsigned count, char *buf, size_t size)
{
	size_t len = 0;

	if (count == 0)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++) {
		struct xs_perm perm = {perms[i].domid, (uint8_t)perms[i].access, 0};
		size_t n;

		if (perms[i].access > XSL_PERM_BOTH)
			return -EINVAL;
		n = xs_perm_format(&perm, buf + len, size - len);
		if (n + 1 >= size - len)
			return -E2BIG;
		len += n + 1; /* snprintf wrote the NUL that separates entries */
	}
	return (int)len;
}

int xsl_codec_dir_part(const char *p, size_t len, struct xsl_dir_part *out)
{
	const char *nul = memchr(p, '\0', len);
	size_t rest;

	/* The generation: a non-empty string of digits. */
	if (!nul || nul == p)
		return -EPROTO;
	for (const char *c = p; c < nul; c++)
		if (*c < '0' || *c > '9')
			return -EPROTO;
	out->gen = p;
	out->names = nul + 1;
	rest = len - (size_t)(nul + 1 - p);
	/* Whole names only, and the list's end marked by an empty name. */
	if (rest == 0 || out->names[rest - 1] != '\0')
		return -EPROTO;
	out->last = rest == 1 || (rest >= 2 && out->names[rest - 2] == '\0');
	out->names_len = out->last ? rest - 1 : rest;
	return 0;
}

/* The XenStore wire format: type and error name tables, header codec, stream framing. */
#include "wire.h"

#include <errno.h>
#include <string.h>

static const char *const type_names[XS_TYPE_COUNT] = {
	[XS_CONTROL] = "CONTROL",
	[XS_DIRECTORY] = "DIRECTORY",
	[XS_READ] = "READ",
	[XS_GET_PERMS] = "GET_PERMS",
	[XS_WATCH] = "WATCH",
	[XS_UNWATCH] = "UNWATCH",
	[XS_TRANSACTION_START] = "TRANSACTION_START",
	[XS_TRANSACTION_END] = "TRANSACTION_END",
	[XS_INTRODUCE] = "INTRODUCE",
	[XS_RELEASE] = "RELEASE",
	[XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
	[XS_WRITE] = "WRITE",
	[XS_MKDIR] = "MKDIR",
	[XS_RM] = "RM",
	[XS_SET_PERMS] = "SET_PERMS",
	[XS_WATCH_EVENT] = "WATCH_EVENT",
	[XS_ERROR] = "ERROR",
	[XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
	[XS_RESUME] = "RESUME",
	[XS_SET_TARGET] = "SET_TARGET",
	[XS_RESET_WATCHES] = "RESET_WATCHES",
	[XS_DIRECTORY_PART] = "DIRECTORY_PART",
	[XS_GET_FEATURE] = "GET_FEATURE",
	[XS_SET_FEATURE] = "SET_FEATURE",
	[XS_GET_QUOTA] = "GET_QUOTA",
	[XS_SET_QUOTA] = "SET_QUOTA",
};

static const struct {
	const char *name;
	int host_errno;
} err_table[XSE_COUNT] = {
	[XSE_EINVAL] = {"EINVAL", EINVAL},
	[XSE_EACCES] = {"EACCES", EACCES},
	[XSE_EEXIST] = {"EEXIST", EEXIST},
	[XSE_EISDIR] = {"EISDIR", EISDIR},
	[XSE_ENOENT] = {"ENOENT", ENOENT},
	[XSE_ENOMEM] = {"ENOMEM", ENOMEM},
	[XSE_ENOSPC] = {"ENOSPC", ENOSPC},
	[XSE_EIO] = {"EIO", EIO},
	[XSE_ENOTEMPTY] = {"ENOTEMPTY", ENOTEMPTY},
	[XSE_ENOSYS] = {"ENOSYS", ENOSYS},
	[XSE_EROFS] = {"EROFS", EROFS},
	[XSE_EBUSY] = {"EBUSY", EBUSY},
	[XSE_EAGAIN] = {"EAGAIN", EAGAIN},
	[XSE_EISCONN] = {"EISCONN", EISCONN},
	[XSE_E2BIG] = {"E2BIG", E2BIG},
	[XSE_EPERM] = {"EPERM", EPERM},
};

const char *xs_err_name(enum xs_err err)
{
	if (err <= XSE_OK || err >= XSE_COUNT)
		return NULL;
	return err_table[err].name;
}

enum xs_err xs_err_from_name(const char *name, size_t len)
{
	for (int i = XSE_OK + 1; i < XSE_COUNT; i++)
		if (strlen(err_table[i].name) == len && memcmp(err_table[i].name, name, len) == 0)
			return (enum xs_err)i;
	return XSE_EINVAL;
}

int xs_err_to_errno(enum xs_err err)
{
	if (err <= XSE_OK || err >= XSE_COUNT)
		return 0;
	return err_table[err].host_errno;
}

enum xs_err xs_err_from_errno(int e)
{
	for (int i = XSE_OK + 1; i < XSE_COUNT; i++)
		if (err_table[i].host_errno == e)
			return (enum xs_err)i;
	return XSE_EINVAL;
}

const char *xs_type_name(uint32_t type)
{
	return type < XS_TYPE_COUNT ? type_names[type] : NULL;
}

int xs_type_from_name(const char *name)
{
	for (int i = 0; i < XS_TYPE_COUNT; i++)
		if (type_names[i] && strcmp(type_names[i], name) == 0)
			return i;
	return -1;
}

void xs_header_encode(const struct xs_header *h, unsigned char *buf)
{
	memcpy(buf, h, XS_HEADER_SIZE);
}

void xs_header_decode(const unsigned char *buf, struct xs_header *h)
{
	memcpy(h, buf, XS_HEADER_SIZE);
}

void xs_framer_init(struct xs_framer *f)
{
	f->have = 0;
	memset(&f->hdr, 0, sizeof(f->hdr));
}

size_t xs_framer_wanted(const struct xs_framer *f)
{
	if (f->have < XS_HEADER_SIZE)
		return XS_HEADER_SIZE - f->have;
	return XS_HEADER_SIZE + f->hdr.len - f->have;
}

enum xs_framer_state xs_framer_feed(struct xs_framer *f, const void *data, size_t len,
				    size_t *used)
{
	const unsigned char *in = data;
	size_t taken = 0;

	/* A message delivered by the previous call is finished now. */
	if (f->have >= XS_HEADER_SIZE && f->have == XS_HEADER_SIZE + f->hdr.len)
		f->have = 0;

	while (taken < len) {
		size_t want = xs_framer_wanted(f);
		size_t n = len - taken < want ? len - taken : want;

		memcpy(f->buf + f->have, in + taken, n);
		f->have += n;
		taken += n;
		if (f->have == XS_HEADER_SIZE && n == want) {
			xs_header_decode(f->buf, &f->hdr);
			if (f->hdr.len > XS_PAYLOAD_MAX) {
				*used = taken;
				return XS_FRAMER_OVERSIZE;
			}
		}
		if (f->have >= XS_HEADER_SIZE && f->have == XS_HEADER_SIZE + f->hdr.len) {
			*used = taken;
			return XS_FRAMER_MESSAGE;
		}
	}
	*used = taken;
	return XS_FRAMER_NEED_MORE;
}

enum xs_framer_state xs_framer_next(struct xs_framer *f, const void *data, size_t len, size_t *used,
				    struct xs_header *h, const char **payload)
{
	enum xs_framer_state st;

	if (xs_framer_idle(f) && len >= XS_HEADER_SIZE) {
		xs_header_decode(data, h);
		if (h->len <= XS_PAYLOAD_MAX && len - XS_HEADER_SIZE >= h->len) {
			f->have = 0;
			*used = XS_HEADER_SIZE + h->len;
			*payload = (const char *)data + XS_HEADER_SIZE;
			return XS_FRAMER_MESSAGE;
		}
	}
	st = xs_framer_feed(f, data, len, used);
	*h = f->hdr;
	*payload = xs_framer_payload(f);
	return st;
}

unsigned xs_count_strings(const char *payload, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		if (payload[i] == '\0')
			n++;
	return n;
}

unsigned xs_split_strings(const char *payload, size_t len, const char **out, unsigned max)
{
	const char *p = payload, *end = payload + len, *nul;
	unsigned n = 0;

	while (p < end && (nul = memchr(p, '\0', (size_t)(end - p)))) {
		if (n < max)
			out[n] = p;
		n++;
		p = nul + 1;
	}
	return n;
}

int xs_is_one_arg(const char *payload, size_t len)
{
	return len > 0 && memchr(payload, '\0', len) == payload + len - 1;
}

int xs_parse_domid(const char *s, unsigned *domid)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > XS_DOMID_MAX)
			return -1;
	}
	*domid = (unsigned)v;
	return 0;
}

char *xs_utoa(char *buf, uint32_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return buf;
}

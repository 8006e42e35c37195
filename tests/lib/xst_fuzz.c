/* Random requests built from the protocol's pieces, for the fuzz tests over sockets and rings. */
#include "tests/lib/xst_fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

uint64_t xst_fuzz_env_seed(void)
{
	const char *s = getenv("XST_FUZZ_SEED");

	return s ? strtoull(s, NULL, 0) : 20261125u;
}

void xst_fuzz_seed(struct xst_fuzz *f, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->state = seed ? seed : 1;
}

uint32_t xst_fuzz_rand(struct xst_fuzz *f)
{
	/* xorshift64* */
	f->state ^= f->state >> 12;
	f->state ^= f->state << 25;
	f->state ^= f->state >> 27;
	return (uint32_t)((f->state * 2685821657736338717ull) >> 32);
}

unsigned xst_fuzz_pick(struct xst_fuzz *f, unsigned n)
{
	return xst_fuzz_rand(f) % n;
}

static const char *const fuzz_paths[] = {
	"/", "/f", "/f/a", "/f/a/b", "/f/b", "/f/a/b/c/d", "f", "f/a", "", "@introduceDomain",
	"@releaseDomain", "@releaseDomain/5", "@other", "//", "/f/", "/f//a", "/f/a\x01",
	"/local/domain/5", "/local/domain/5/x", "/local/domain/0", "x/y", "/tool/xenstored",
	"/f/\xff\xfe", "/f/a b", "/.", "/..", "/f/-_@",
};
static const char *const fuzz_words[] = {
	"n0", "r5", "w5", "b5", "n5", "r0", "x1", "n", "r", "b-1", "n4294967296", "0", "1", "-1",
	"5", "7", "32753", "4294967295", "18446744073709551616", "abc", "T", "F", "tok", "t2",
	"check", "stats", "help", "quota", "quota-set", "print", "restrict", "memreport", "2",
	"nodes", "watches", "transactions", "0x10", "+5", " 5",
};

/* One random argument into buf (size > 4200); its length. */
static size_t fuzz_arg(struct xst_fuzz *f, char *buf)
{
	unsigned k = xst_fuzz_pick(f, 100);

	if (k < 40) {
		strcpy(buf, fuzz_paths[xst_fuzz_pick(f, COUNT(fuzz_paths))]);
		/* Sometimes one more component. */
		if (xst_fuzz_pick(f, 4) == 0)
			sprintf(buf + strlen(buf), "/n%u", xst_fuzz_pick(f, 50));
		return strlen(buf);
	}
	if (k < 80) {
		strcpy(buf, fuzz_words[xst_fuzz_pick(f, COUNT(fuzz_words))]);
		return strlen(buf);
	}
	if (k < 92) {
		size_t n = xst_fuzz_pick(f, 40);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)xst_fuzz_rand(f);
		return n;
	}
	/* Long: past path-max, past the payload. */
	size_t n = 3000 + xst_fuzz_pick(f, 1200);

	buf[0] = '/';
	memset(buf + 1, 'a' + (int)xst_fuzz_pick(f, 26), n - 1);
	return n;
}

/* A payload of up to four arguments (truncated at 4096); its length. */
static size_t fuzz_payload(struct xst_fuzz *f, char *out)
{
	char arg[4300];
	size_t len = 0;
	unsigned argc = xst_fuzz_pick(f, 5);

	for (unsigned i = 0; i < argc; i++) {
		size_t n = fuzz_arg(f, arg);

		if (len + n + 1 > XS_PAYLOAD_MAX)
			n = XS_PAYLOAD_MAX - len - 1;
		memcpy(out + len, arg, n);
		len += n;
		out[len++] = '\0';
		if (len >= XS_PAYLOAD_MAX)
			break;
	}
	/* WRITE's value and a sloppy client both go without the last NUL. */
	if (len && xst_fuzz_pick(f, 3) == 0)
		len--;
	return len;
}

static uint32_t fuzz_type(struct xst_fuzz *f)
{
	static const uint32_t common[] = {XS_READ,	XS_WRITE,	  XS_MKDIR,	  XS_RM,
					  XS_DIRECTORY, XS_GET_PERMS, XS_SET_PERMS, XS_WATCH,
					  XS_UNWATCH,	XS_TRANSACTION_START,	  XS_TRANSACTION_END,
					  XS_DIRECTORY_PART};
	unsigned k = xst_fuzz_pick(f, 100);

	if (k < 60)
		return common[xst_fuzz_pick(f, COUNT(common))];
	if (k < 90)
		return xst_fuzz_pick(f, XS_TYPE_COUNT + 2);
	return xst_fuzz_rand(f);
}

/* A valid path under /f (or a relative one) of up to five levels. */
static size_t fuzz_good_path(struct xst_fuzz *f, char *buf)
{
	size_t len = (size_t)sprintf(buf, xst_fuzz_pick(f, 5) ? "/f" : "f");

	for (unsigned i = 0, depth = xst_fuzz_pick(f, 5); i < depth; i++)
		len += (size_t)sprintf(buf + len, "/%c", 'a' + (int)xst_fuzz_pick(f, 4));
	return len;
}

/* A request shaped as its type expects, so that it gets past the checks into the handlers. */
static size_t fuzz_shaped(struct xst_fuzz *f, char *out, uint32_t *type)
{
	static const char *const perms[] = {"n0", "r5", "w5", "b5", "n5", "r0", "w7", "b0"};
	size_t len;

	switch (xst_fuzz_pick(f, 9)) {
	case 0:
		*type = XS_WRITE;
		len = fuzz_good_path(f, out) + 1;
		return len + (size_t)sprintf(out + len, "v%u", xst_fuzz_pick(f, 1000));
	case 1:
		*type = xst_fuzz_pick(f, 2) ? XS_MKDIR : XS_RM;
		return fuzz_good_path(f, out) + 1;
	case 2:
		*type = XS_SET_PERMS;
		len = fuzz_good_path(f, out) + 1;
		for (unsigned i = 0, np = 1 + xst_fuzz_pick(f, 3); i < np; i++)
			len += (size_t)sprintf(out + len, "%s", perms[xst_fuzz_pick(f, COUNT(perms))]) + 1;
		return len;
	case 3:
		*type = xst_fuzz_pick(f, 2) ? XS_WATCH : XS_UNWATCH;
		len = fuzz_good_path(f, out) + 1;
		return len + (size_t)sprintf(out + len, "t%u", xst_fuzz_pick(f, 4)) + 1;
	case 4:
		*type = XS_TRANSACTION_START;
		out[0] = '\0';
		return 1;
	case 5:
		*type = XS_TRANSACTION_END;
		return (size_t)sprintf(out, xst_fuzz_pick(f, 3) ? "T" : "F") + 1;
	case 6:
		*type = XS_DIRECTORY_PART;
		len = fuzz_good_path(f, out) + 1;
		return len + (size_t)sprintf(out + len, "%u", xst_fuzz_pick(f, 8)) + 1;
	default:
		*type = xst_fuzz_pick(f, 3) ? XS_READ : xst_fuzz_pick(f, 2) ? XS_DIRECTORY : XS_GET_PERMS;
		return fuzz_good_path(f, out) + 1;
	}
}

static uint32_t fuzz_tx(struct xst_fuzz *f, struct xst_fuzz_conn *fc)
{
	unsigned k = xst_fuzz_pick(f, 10);

	if (k < 6 || !fc->ntx)
		return k == 9 ? xst_fuzz_rand(f) : 0;
	return fc->tx[xst_fuzz_pick(f, fc->ntx)];
}

int xst_fuzz_one(struct xst_fuzz *f, struct xst_fuzz_conn *fc, struct xst_msg *m, int timeout_ms,
		 char *err, size_t errlen)
{
	char payload[XS_PAYLOAD_MAX + 8];
	uint32_t type = fuzz_type(f), req = xst_fuzz_rand(f);
	bool shaped = xst_fuzz_pick(f, 2);
	uint32_t tx = shaped && xst_fuzz_pick(f, 5) ? 0 : fuzz_tx(f, fc);
	size_t len = shaped ? fuzz_shaped(f, payload, &type) : fuzz_payload(f, payload);
	unsigned n = f->requests++;

	if (shaped && type == XS_TRANSACTION_END && fc->ntx)
		tx = fc->tx[xst_fuzz_pick(f, fc->ntx)];
	/*
	 * Not at the host's files (CONTROL logfile names a file the daemon
	 * opens), and a privileged connection stays privileged.
	 */
	if (type == XS_CONTROL && ((len >= 7 && memcmp(payload, "logfile", 7) == 0) ||
				   (fc->privileged && len >= 8 && memcmp(payload, "restrict", 8) == 0)))
		type = XS_READ;
	if (xst_wire_send_msg(fc->w, type, req, tx, payload, len) < 0) {
		snprintf(err, errlen, "request %u (type %u): send: %s", n, type, strerror(errno));
		return -1;
	}
	for (;;) {
		if (xst_wire_recv(fc->w, m, timeout_ms) < 0) {
			snprintf(err, errlen, "request %u (type %u, %zu bytes): no reply: %s", n, type,
				 len, strerror(errno));
			return -1;
		}
		if (m->hdr.type != XS_WATCH_EVENT)
			break;
		f->events++;
	}
	if (m->hdr.req_id != req) {
		snprintf(err, errlen, "request %u: reply for req_id %u, sent %u", n, m->hdr.req_id,
			 req);
		return -1;
	}
	f->accepted += m->hdr.type != XS_ERROR;
	if (m->hdr.type == XS_TRANSACTION_START && type == XS_TRANSACTION_START &&
	    fc->ntx < COUNT(fc->tx))
		fc->tx[fc->ntx++] = (uint32_t)strtoul(m->payload, NULL, 10);
	/* An ended transaction (committed, aborted or failed) is gone. */
	for (unsigned i = 0; type == XS_TRANSACTION_END && i < fc->ntx; i++)
		if (fc->tx[i] == tx)
			fc->tx[i] = fc->tx[--fc->ntx];
	return 0;
}

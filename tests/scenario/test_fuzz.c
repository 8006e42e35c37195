/* Random requests built from the protocol's pieces: the daemon answers each one and stays whole. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "sc_util.h"

/*
 * Half the requests are shaped as their type expects (valid paths under
 * /f, permission lists, tokens), so that they reach the handlers; the others
 * are made of types (valid ones mostly), transaction ids (0, open
 * ones, garbage) and arguments drawn from paths, permission strings,
 * numbers and words the handlers look for, plus random bytes and strings
 * too long for any limit, with or without the final NUL. They go from a
 * privileged and a deprivileged connection. Every request declaring at most
 * 4096 bytes must get its reply, with its req_id, on a connection that stays
 * open; a third connection sends raw garbage and may be dropped. At the end
 * every connection answers, the tree passes CONTROL check, and the daemon
 * exits cleanly (under the sanitizers too). XST_FUZZ_SEED picks the seed.
 */
static uint64_t fuzz_state;

static uint32_t fuzz_rand(void)
{
	/* xorshift64* */
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return (uint32_t)((fuzz_state * 2685821657736338717ull) >> 32);
}

static unsigned fuzz_pick(unsigned n)
{
	return fuzz_rand() % n;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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
static size_t fuzz_arg(char *buf)
{
	unsigned k = fuzz_pick(100);

	if (k < 40) {
		const char *p = fuzz_paths[fuzz_pick(COUNT(fuzz_paths))];

		strcpy(buf, p);
		/* Sometimes one more component, sometimes a deep one. */
		if (fuzz_pick(4) == 0)
			sprintf(buf + strlen(buf), "/n%u", fuzz_pick(50));
		return strlen(buf);
	}
	if (k < 80) {
		strcpy(buf, fuzz_words[fuzz_pick(COUNT(fuzz_words))]);
		return strlen(buf);
	}
	if (k < 92) {
		size_t n = fuzz_pick(40);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)fuzz_rand();
		return n;
	}
	/* Long: past path-max, past the payload. */
	size_t n = 3000 + fuzz_pick(1200);

	buf[0] = '/';
	memset(buf + 1, 'a' + (int)fuzz_pick(26), n - 1);
	return n;
}

/* A payload of up to four arguments (truncated at 4096); its length. */
static size_t fuzz_payload(char *out)
{
	char arg[4300];
	size_t len = 0;
	unsigned argc = fuzz_pick(5);

	for (unsigned i = 0; i < argc; i++) {
		size_t n = fuzz_arg(arg);

		if (len + n + 1 > XS_PAYLOAD_MAX)
			n = XS_PAYLOAD_MAX - len - 1;
		memcpy(out + len, arg, n);
		len += n;
		out[len++] = '\0';
		if (len >= XS_PAYLOAD_MAX)
			break;
	}
	/* WRITE's value and a sloppy client both go without the last NUL. */
	if (len && fuzz_pick(3) == 0)
		len--;
	return len;
}

static uint32_t fuzz_type(void)
{
	static const uint32_t common[] = {XS_READ,	XS_WRITE,	  XS_MKDIR,	  XS_RM,
					  XS_DIRECTORY, XS_GET_PERMS, XS_SET_PERMS, XS_WATCH,
					  XS_UNWATCH,	XS_TRANSACTION_START,	  XS_TRANSACTION_END,
					  XS_DIRECTORY_PART};
	unsigned k = fuzz_pick(100);

	if (k < 60)
		return common[fuzz_pick(COUNT(common))];
	if (k < 90)
		return fuzz_pick(XS_TYPE_COUNT + 2);
	return fuzz_rand();
}

/* Replies that were not errors: the requests reached past the checks. */
static unsigned fuzz_accepted, fuzz_events;

struct fuzz_conn {
	struct xsc *c;
	uint32_t tx[8]; /* transaction ids seen opened */
	unsigned ntx;
};

static uint32_t fuzz_tx(struct fuzz_conn *fc)
{
	unsigned k = fuzz_pick(10);

	if (k < 6 || !fc->ntx)
		return k == 9 ? fuzz_rand() : 0;
	return fc->tx[fuzz_pick(fc->ntx)];
}

/* A valid path under /f (or a relative one) of up to five levels. */
static size_t fuzz_good_path(char *buf)
{
	size_t len = (size_t)sprintf(buf, fuzz_pick(5) ? "/f" : "f");

	for (unsigned i = 0, depth = fuzz_pick(5); i < depth; i++)
		len += (size_t)sprintf(buf + len, "/%c", 'a' + (int)fuzz_pick(4));
	return len;
}

/* A request shaped as its type expects, so that it gets past the checks into the handlers. */
static size_t fuzz_shaped(char *out, uint32_t *type)
{
	static const char *const perms[] = {"n0", "r5", "w5", "b5", "n5", "r0", "w7", "b0"};
	size_t len;

	switch (fuzz_pick(9)) {
	case 0:
		*type = XS_WRITE;
		len = fuzz_good_path(out) + 1;
		return len + (size_t)sprintf(out + len, "v%u", fuzz_pick(1000));
	case 1:
		*type = fuzz_pick(2) ? XS_MKDIR : XS_RM;
		return fuzz_good_path(out) + 1;
	case 2:
		*type = XS_SET_PERMS;
		len = fuzz_good_path(out) + 1;
		for (unsigned i = 0, np = 1 + fuzz_pick(3); i < np; i++)
			len += (size_t)sprintf(out + len, "%s", perms[fuzz_pick(COUNT(perms))]) + 1;
		return len;
	case 3:
		*type = fuzz_pick(2) ? XS_WATCH : XS_UNWATCH;
		len = fuzz_good_path(out) + 1;
		return len + (size_t)sprintf(out + len, "t%u", fuzz_pick(4)) + 1;
	case 4:
		*type = XS_TRANSACTION_START;
		out[0] = '\0';
		return 1;
	case 5:
		*type = XS_TRANSACTION_END;
		return (size_t)sprintf(out, fuzz_pick(3) ? "T" : "F") + 1;
	case 6:
		*type = XS_DIRECTORY_PART;
		len = fuzz_good_path(out) + 1;
		return len + (size_t)sprintf(out + len, "%u", fuzz_pick(8)) + 1;
	default:
		*type = fuzz_pick(3) ? XS_READ : fuzz_pick(2) ? XS_DIRECTORY : XS_GET_PERMS;
		return fuzz_good_path(out) + 1;
	}
}

/* Send one request and take its reply, skipping watch events. */
static void fuzz_one(struct fuzz_conn *fc, unsigned n, struct xsc_msg *m)
{
	char payload[XS_PAYLOAD_MAX + 8];
	uint32_t type = fuzz_type(), req = fuzz_rand();
	bool shaped = fuzz_pick(2);
	uint32_t tx = shaped && fuzz_pick(5) ? 0 : fuzz_tx(fc);
	size_t len = shaped ? fuzz_shaped(payload, &type) : fuzz_payload(payload);

	if (shaped && type == XS_TRANSACTION_END && fc->ntx)
		tx = fc->tx[fuzz_pick(fc->ntx)];

	/*
	 * Not at the host's files (CONTROL logfile names a file the daemon
	 * opens), and the privileged connection stays privileged.
	 */
	if (type == XS_CONTROL && ((len >= 7 && memcmp(payload, "logfile", 7) == 0) ||
				   (len >= 8 && memcmp(payload, "restrict", 8) == 0)))
		type = XS_READ;
	ck_assert_int_eq(xsc_send(fc->c, type, req, tx, payload, len), 0);
	for (;;) {
		int r = xsc_recv(fc->c, m, 5000);

		ck_assert_msg(r == 0, "request %u (type %u, %zu bytes): no reply: %s", n, type, len,
			      strerror(errno));
		if (m->hdr.type == XS_WATCH_EVENT) {
			fuzz_events++;
			continue;
		}
		break;
	}
	ck_assert_msg(m->hdr.req_id == req, "request %u: reply for req_id %u, sent %u", n,
		      m->hdr.req_id, req);
	fuzz_accepted += m->hdr.type != XS_ERROR;
	if (m->hdr.type == XS_TRANSACTION_START && m->hdr.type == type && fc->ntx < COUNT(fc->tx))
		fc->tx[fc->ntx++] = (uint32_t)strtoul(m->payload, NULL, 10);
	/* An ended transaction (committed, aborted or failed) is gone. */
	for (unsigned i = 0; type == XS_TRANSACTION_END && i < fc->ntx; i++)
		if (fc->tx[i] == tx)
			fc->tx[i] = fc->tx[--fc->ntx];
}

/* Random bytes, sometimes a well-formed header first: the daemon may drop this connection. */
static struct xsc *fuzz_garbage(const struct xst_daemon *d, struct xsc *g)
{
	unsigned char buf[512];
	size_t n = 1 + fuzz_pick(sizeof(buf));
	struct xsc_msg m;

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)fuzz_rand();
	if (fuzz_pick(2)) {
		struct xs_header h = {fuzz_pick(XS_TYPE_COUNT), fuzz_rand(), 0,
				      (uint32_t)(n > sizeof(h) ? n - sizeof(h) : 0)};

		if (fuzz_pick(4) == 0)
			h.len = fuzz_rand();
		memcpy(buf, &h, n < sizeof(h) ? n : sizeof(h));
	}
	if (xsc_send_raw(g, buf, n) < 0 || (xsc_recv(g, &m, 0) < 0 && errno != ETIMEDOUT)) {
		xsc_close(g);
		g = sc_connect(d);
	}
	return g;
}

START_TEST(random_requests_get_answers)
{
	struct xst_daemon d;
	struct xsc_msg *m = malloc(sizeof(*m));
	const char *seed_env = getenv("XST_FUZZ_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 20261125u;
	unsigned n = SC_ASAN ? 6000 : 30000;
	struct fuzz_conn conns[2] = {{0}};
	struct xsc *garbage;

	ck_assert_ptr_nonnull(m);
	fuzz_state = seed ? seed : 1;
	sc_start(&d, NULL);
	conns[0].c = sc_connect(&d);
	conns[1].c = sc_restricted(&d, 5);
	garbage = sc_connect(&d);
	SC_OK(conns[0].c, XS_WRITE, 0, 1, "/f/a/b", "v");
	SC_OK(conns[0].c, XS_SET_PERMS, 0, 0, "/f", "n0", "b5");
	for (unsigned i = 0; i < n; i++) {
		if (fuzz_pick(20) == 0)
			garbage = fuzz_garbage(&d, garbage);
		else
			fuzz_one(&conns[fuzz_pick(2)], i, m);
	}
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(xsc_call(conns[k].c, XS_READ, 0, "/", 2, m, 5000), 0);
		ck_assert_msg(m->hdr.type == XS_READ || m->hdr.type == XS_ERROR, "type %u",
			      m->hdr.type);
	}
	xsc_close(garbage);
	garbage = sc_connect(&d);
	ck_assert_int_eq(xsc_call(garbage, XS_CONTROL, 0, "check", 6, m, 30000), 0);
	SC_EXPECT_STR(m, XS_CONTROL, "OK\0");
	printf("fuzz: %u requests from seed %llu answered, %u of them not with an error; %u"
	       " watch events; tree checked\n",
	       n, (unsigned long long)seed, fuzz_accepted, fuzz_events);
	/* Not a test of error paths alone: a fair share must get through. */
	ck_assert_uint_gt(fuzz_accepted, n / 10);
	xsc_close(garbage);
	xsc_close(conns[0].c);
	xsc_close(conns[1].c);
	sc_stop(&d);
	free(m);
}
END_TEST

Suite *suite_fuzz(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("fuzz");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, random_requests_get_answers);
	suite_add_tcase(s, tc);
	return s;
}

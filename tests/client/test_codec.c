/* Codec tests: path checks, request encoding at the limits, the stream decoder at any split, every reply parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "client/xsl_codec.h"

static char *repeat(char c, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	char *s = malloc(p + n + 1);

	memcpy(s, prefix, p);
	memset(s + p, c, n);
	s[p + n] = '\0';
	return s;
}

START_TEST(paths)
{
	char *s;

	ck_assert_int_eq(xsl_codec_check_path("/", false), 0);
	ck_assert_int_eq(xsl_codec_check_path("/a/b-c_d@e", false), 0);
	ck_assert_int_eq(xsl_codec_check_path("device/vif/0", false), 0);
	ck_assert_int_eq(xsl_codec_check_path("@releaseDomain", true), 0);
	ck_assert_int_eq(xsl_codec_check_path("@releaseDomain", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path(NULL, false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("/a/", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("a/", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("//a", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("/a//b", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("/a b", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("/a.b", false), -EINVAL);
	ck_assert_int_eq(xsl_codec_check_path("/a\n", false), -EINVAL);
	s = repeat('x', XSL_ABS_PATH_MAX - 2, "/");
	ck_assert_int_eq(xsl_codec_check_path(s, false), 0);
	free(s);
	s = repeat('x', XSL_ABS_PATH_MAX - 1, "/");
	ck_assert_int_eq(xsl_codec_check_path(s, false), -ENAMETOOLONG);
	free(s);
	s = repeat('x', XSL_REL_PATH_MAX - 1, "");
	ck_assert_int_eq(xsl_codec_check_path(s, false), 0);
	free(s);
	s = repeat('x', XSL_REL_PATH_MAX, "");
	ck_assert_int_eq(xsl_codec_check_path(s, false), -ENAMETOOLONG);
	free(s);
}
END_TEST

START_TEST(encode_limits)
{
	static unsigned char buf[XS_MSG_MAX];
	char *big = repeat('v', XS_PAYLOAD_MAX - 3, "");
	struct xsl_arg args[2] = {XSL_STR("/a"), {big, strlen(big), false}};
	struct xs_header h;

	/* "/a\0" + 4093 bytes: exactly 4096. */
	ck_assert_int_eq(xsl_codec_encode(buf, XS_WRITE, 7, 9, args, 2), XS_HEADER_SIZE + XS_PAYLOAD_MAX);
	xs_header_decode(buf, &h);
	ck_assert_uint_eq(h.type, XS_WRITE);
	ck_assert_uint_eq(h.req_id, 7);
	ck_assert_uint_eq(h.tx_id, 9);
	ck_assert_uint_eq(h.len, XS_PAYLOAD_MAX);
	ck_assert_int_eq(memcmp(buf + XS_HEADER_SIZE, "/a\0vvv", 6), 0);
	args[1].len++;
	ck_assert_int_eq(xsl_codec_encode(buf, XS_WRITE, 7, 9, args, 2), -E2BIG);
	xsl_codec_set_req_id(buf, 42);
	xs_header_decode(buf, &h);
	ck_assert_uint_eq(h.req_id, 42);
	ck_assert_int_eq(xsl_codec_encode(buf, XS_TRANSACTION_START, 1, 0, NULL, 0), XS_HEADER_SIZE);
	free(big);
}
END_TEST

/* A stream of messages of every size, fed to the decoder in random pieces (1 byte up to 9000). */
START_TEST(decode_any_split)
{
	enum { N = 300 };
	static unsigned char stream[N * XS_MSG_MAX];
	static uint32_t lens[N];
	size_t total = 0, off = 0;
	unsigned seed = 12345u + (unsigned)_i, got = 0;
	struct xsl_decoder d;

	for (unsigned i = 0; i < N; i++) {
		struct xs_header h = {XS_READ, i, i * 3, 0};
		unsigned r = (unsigned)rand_r(&seed);

		h.len = i % 7 == 0 ? 0 : i % 11 == 0 ? XS_PAYLOAD_MAX : r % 1500;
		lens[i] = h.len;
		xs_header_encode(&h, stream + total);
		for (uint32_t k = 0; k < h.len; k++)
			stream[total + XS_HEADER_SIZE + k] = (unsigned char)(i + k);
		total += XS_HEADER_SIZE + h.len;
	}
	xsl_decoder_init(&d);
	while (off < total) {
		unsigned r = (unsigned)rand_r(&seed);
		size_t piece = _i == 0 ? 1 : r % 4 == 0 ? r % 17 + 1 : r % 9000 + 1;
		size_t left;

		if (piece > total - off)
			piece = total - off;
		left = piece;
		while (left) {
			struct xsl_msgview m;
			size_t used;
			int res = xsl_decode(&d, stream + off + (piece - left), left, &used, &m);

			ck_assert_int_ge(res, 0);
			ck_assert_uint_le(used, left);
			left -= used;
			if (res == 1) {
				ck_assert_uint_eq(m.hdr.req_id, got);
				ck_assert_uint_eq(m.hdr.tx_id, got * 3);
				ck_assert_uint_eq(m.hdr.len, lens[got]);
				for (uint32_t k = 0; k < m.hdr.len; k++)
					ck_assert_uint_eq((unsigned char)m.payload[k], (unsigned char)(got + k));
				got++;
			} else {
				ck_assert_uint_eq(left, 0);
			}
		}
		off += piece;
	}
	ck_assert_uint_eq(got, N);
}
END_TEST

START_TEST(decode_oversize)
{
	unsigned char hdr[XS_HEADER_SIZE];
	struct xs_header h = {XS_READ, 1, 0, XS_PAYLOAD_MAX + 1};
	struct xsl_decoder d;
	struct xsl_msgview m;
	size_t used;

	xs_header_encode(&h, hdr);
	xsl_decoder_init(&d);
	/* Refused on the header's last byte, before any payload is awaited. */
	ck_assert_int_eq(xsl_decode(&d, hdr, XS_HEADER_SIZE - 1, &used, &m), 0);
	ck_assert_int_eq(xsl_decode(&d, hdr + XS_HEADER_SIZE - 1, 1, &used, &m), -EPROTO);
	h.len = 0xffffffffu;
	xs_header_encode(&h, hdr);
	xsl_decoder_init(&d);
	ck_assert_int_eq(xsl_decode(&d, hdr, XS_HEADER_SIZE, &used, &m), -EPROTO);
}
END_TEST

START_TEST(parse_errors_events)
{
	const char *p, *t;

	ck_assert_int_eq(xsl_codec_error("ENOENT", 7), -ENOENT);
	ck_assert_int_eq(xsl_codec_error("EAGAIN", 6), -EAGAIN); /* no NUL */
	ck_assert_int_eq(xsl_codec_error("EQUOTA", 7), -EINVAL);
	ck_assert_int_eq(xsl_codec_error("", 0), -EINVAL);
	ck_assert_int_eq(xsl_codec_event("/a\0tok", 7, &p, &t), 0);
	ck_assert_str_eq(p, "/a");
	ck_assert_str_eq(t, "tok");
	ck_assert_int_eq(xsl_codec_event("/a\0", 3, &p, &t), -EPROTO);
	ck_assert_int_eq(xsl_codec_event("/a\0t\0x", 7, &p, &t), -EPROTO);
	ck_assert_int_eq(xsl_codec_event("/a\0tok", 6, &p, &t), -EPROTO);
	ck_assert_int_eq(xsl_codec_event("\0tok", 5, &p, &t), -EPROTO);
	ck_assert_int_eq(xsl_codec_event("", 0, &p, &t), -EPROTO);
}
END_TEST

START_TEST(parse_values)
{
	unsigned long long v;
	unsigned n;

	ck_assert_int_eq(xsl_codec_uint("123", 4, 1000, &v), 0);
	ck_assert_uint_eq(v, 123);
	ck_assert_int_eq(xsl_codec_uint("1001", 5, 1000, &v), -EPROTO);
	ck_assert_int_eq(xsl_codec_uint("4294967296", 11, 0xffffffffULL, &v), -EPROTO);
	ck_assert_int_eq(xsl_codec_uint("12a", 4, 1000, &v), -EPROTO);
	ck_assert_int_eq(xsl_codec_uint("12", 2, 1000, &v), -EPROTO);
	ck_assert_int_eq(xsl_codec_uint("", 1, 1000, &v), -EPROTO);
	ck_assert_int_eq(xsl_codec_bool("T", 2), 1);
	ck_assert_int_eq(xsl_codec_bool("F", 2), 0);
	ck_assert_int_eq(xsl_codec_bool("T", 1), -EPROTO);
	ck_assert_int_eq(xsl_codec_bool("X", 2), -EPROTO);
	ck_assert_int_eq(xsl_codec_names("a\0bc", 5, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(xsl_codec_names("", 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(xsl_codec_names("a\0b", 3, &n), -EPROTO);
}
END_TEST

START_TEST(parse_perms)
{
	struct xsl_perm p[4], in[3] = {{5, XSL_PERM_NONE}, {0, XSL_PERM_READ}, {7, XSL_PERM_BOTH}};
	char buf[64];
	unsigned n;

	ck_assert_int_eq(xsl_codec_perms("n5\0r0\0b7", 9, p, 4, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(p[0].domid, 5);
	ck_assert_uint_eq(p[0].access, XSL_PERM_NONE);
	ck_assert_uint_eq(p[2].domid, 7);
	ck_assert_uint_eq(p[2].access, XSL_PERM_BOTH);
	ck_assert_int_eq(xsl_codec_perms("n5\0x0", 6, p, 4, &n), -EPROTO);
	ck_assert_int_eq(xsl_codec_perms("n5", 2, p, 4, &n), -EPROTO);
	ck_assert_int_eq(xsl_codec_perms("", 0, p, 4, &n), -EPROTO);
	ck_assert_int_eq(xsl_codec_perms("n1\0n2\0n3\0", 9, p, 2, &n), -EPROTO);
	ck_assert_int_eq(xsl_codec_format_perms(in, 3, buf, sizeof(buf)), 9);
	ck_assert_int_eq(memcmp(buf, "n5\0r0\0b7", 9), 0);
	ck_assert_int_eq(xsl_codec_format_perms(in, 3, buf, 7), -E2BIG);
	ck_assert_int_eq(xsl_codec_format_perms(in, 0, buf, sizeof(buf)), -EINVAL);
	in[1].access = 9;
	ck_assert_int_eq(xsl_codec_format_perms(in, 3, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(parse_dir_part)
{
	struct xsl_dir_part d;

	ck_assert_int_eq(xsl_codec_dir_part("17\0a\0bb\0", 8, &d), 0);
	ck_assert_str_eq(d.gen, "17");
	ck_assert(!d.last);
	ck_assert_uint_eq(d.names_len, 5);
	ck_assert_int_eq(xsl_codec_dir_part("17\0a\0\0", 6, &d), 0);
	ck_assert(d.last);
	ck_assert_uint_eq(d.names_len, 2);
	ck_assert_int_eq(xsl_codec_dir_part("17\0\0", 4, &d), 0);
	ck_assert(d.last);
	ck_assert_uint_eq(d.names_len, 0);
	/* No progress and no end would loop for ever: refused. */
	ck_assert_int_eq(xsl_codec_dir_part("17\0", 3, &d), -EPROTO);
	ck_assert_int_eq(xsl_codec_dir_part("17\0ab", 5, &d), -EPROTO);
	ck_assert_int_eq(xsl_codec_dir_part("\0a\0\0", 4, &d), -EPROTO);
	ck_assert_int_eq(xsl_codec_dir_part("1x\0a\0\0", 6, &d), -EPROTO);
	ck_assert_int_eq(xsl_codec_dir_part("17", 2, &d), -EPROTO);
}
END_TEST

Suite *suite_codec(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, paths);
	tcase_add_test(tc, encode_limits);
	tcase_add_loop_test(tc, decode_any_split, 0, 4);
	tcase_add_test(tc, decode_oversize);
	tcase_add_test(tc, parse_errors_events);
	tcase_add_test(tc, parse_values);
	tcase_add_test(tc, parse_perms);
	tcase_add_test(tc, parse_dir_part);
	suite_add_tcase(s, tc);
	return s;
}

/* Unit tests for proto/wire.c: error and type tables, header codec, framer, argument helpers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/wire.h"
#include "unit.h"

/* The wire table, written out independently of wire.c so a reordering shows up. */
static const struct {
	const char *name;
	int host_errno;
} expected_errs[] = {
	{"EINVAL", EINVAL},   {"EACCES", EACCES}, {"EEXIST", EEXIST}, {"EISDIR", EISDIR},
	{"ENOENT", ENOENT},   {"ENOMEM", ENOMEM}, {"ENOSPC", ENOSPC}, {"EIO", EIO},
	{"ENOTEMPTY", ENOTEMPTY}, {"ENOSYS", ENOSYS}, {"EROFS", EROFS}, {"EBUSY", EBUSY},
	{"EAGAIN", EAGAIN},   {"EISCONN", EISCONN}, {"E2BIG", E2BIG}, {"EPERM", EPERM},
};
#define N_ERRS (sizeof(expected_errs) / sizeof(expected_errs[0]))

START_TEST(err_table_size)
{
	ck_assert_uint_eq(XSE_COUNT, N_ERRS + 1);
	ck_assert_int_eq(XSE_OK, 0);
	ck_assert_uint_eq(N_ERRS, 16);
}
END_TEST

START_TEST(err_name_both_ways)
{
	for (unsigned i = 0; i < N_ERRS; i++) {
		const char *name = xs_err_name((enum xs_err)(i + 1));

		ck_assert_ptr_nonnull(name);
		ck_assert_str_eq(name, expected_errs[i].name);
		ck_assert_int_eq(xs_err_from_name(name, strlen(name)), (int)(i + 1));
	}
}
END_TEST

START_TEST(err_name_out_of_range)
{
	ck_assert_ptr_null(xs_err_name(XSE_OK));
	ck_assert_ptr_null(xs_err_name(XSE_COUNT));
	ck_assert_ptr_null(xs_err_name((enum xs_err)1000));
}
END_TEST

START_TEST(err_unknown_name_is_einval)
{
	static const char *const unknown[] = {"EQUOTA", "", "enoent", "ENOEN", "ENOENTX",
					      "EINTR", "OK", " ENOENT"};

	for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		ck_assert_msg(xs_err_from_name(unknown[i], strlen(unknown[i])) == XSE_EINVAL,
			      "'%s' should map to EINVAL", unknown[i]);
	/* Sanity: the test above would be vacuous if every name mapped to EINVAL. */
	ck_assert_int_eq(xs_err_from_name("EQUOTA", 6), XSE_EINVAL);
	ck_assert_int_eq(xs_err_from_name("EPERM", 5), XSE_EPERM);
}
END_TEST

START_TEST(err_name_is_length_delimited)
{
	/* Payloads are not NUL-terminated strings: only len bytes count. */
	const char buf[] = {'E', 'N', 'O', 'E', 'N', 'T', 'X', 'Y'};

	ck_assert_int_eq(xs_err_from_name(buf, 6), XSE_ENOENT);
	ck_assert_int_eq(xs_err_from_name(buf, 7), XSE_EINVAL);
	ck_assert_int_eq(xs_err_from_name(buf, 5), XSE_EINVAL);
	ck_assert_int_eq(xs_err_from_name("ENOENT\0", 7), XSE_EINVAL);
}
END_TEST

START_TEST(err_errno_mapping)
{
	for (unsigned i = 0; i < N_ERRS; i++) {
		ck_assert_int_eq(xs_err_to_errno((enum xs_err)(i + 1)), expected_errs[i].host_errno);
		ck_assert_int_eq(xs_err_from_errno(expected_errs[i].host_errno), (int)(i + 1));
	}
	ck_assert_int_eq(xs_err_from_errno(EBADF), XSE_EINVAL);
	ck_assert_int_eq(xs_err_from_errno(0), XSE_EINVAL);
	ck_assert_int_eq(xs_err_from_errno(ENOENT), XSE_ENOENT);
	ck_assert_int_eq(xs_err_to_errno(XSE_OK), 0);
	ck_assert_int_eq(xs_err_to_errno(XSE_COUNT), 0);
}
END_TEST

static const struct {
	uint32_t type;
	const char *name;
} expected_types[] = {
	{0, "CONTROL"},
	{1, "DIRECTORY"},
	{2, "READ"},
	{3, "GET_PERMS"},
	{4, "WATCH"},
	{5, "UNWATCH"},
	{6, "TRANSACTION_START"},
	{7, "TRANSACTION_END"},
	{8, "INTRODUCE"},
	{9, "RELEASE"},
	{10, "GET_DOMAIN_PATH"},
	{11, "WRITE"},
	{12, "MKDIR"},
	{13, "RM"},
	{14, "SET_PERMS"},
	{15, "WATCH_EVENT"},
	{16, "ERROR"},
	{17, "IS_DOMAIN_INTRODUCED"},
	{18, "RESUME"},
	{19, "SET_TARGET"},
	{21, "RESET_WATCHES"},
	{22, "DIRECTORY_PART"},
	{23, "GET_FEATURE"},
	{24, "SET_FEATURE"},
	{25, "GET_QUOTA"},
	{26, "SET_QUOTA"},
};

START_TEST(type_names_both_ways)
{
	unsigned n = sizeof(expected_types) / sizeof(expected_types[0]);

	ck_assert_uint_eq(n, 26);
	for (unsigned i = 0; i < n; i++) {
		const char *name = xs_type_name(expected_types[i].type);

		ck_assert_ptr_nonnull(name);
		ck_assert_str_eq(name, expected_types[i].name);
		ck_assert_int_eq(xs_type_from_name(expected_types[i].name),
				 (int)expected_types[i].type);
	}
}
END_TEST

START_TEST(type_names_invalid)
{
	ck_assert_int_eq(XS_TYPE_COUNT, 27);
	ck_assert_int_eq(XS_INVALID, 0xffff);
	ck_assert_ptr_null(xs_type_name(20));
	ck_assert_ptr_null(xs_type_name(27));
	ck_assert_ptr_null(xs_type_name(1000));
	ck_assert_ptr_null(xs_type_name(XS_INVALID));
	ck_assert_ptr_null(xs_type_name(UINT32_MAX));
	ck_assert_int_eq(xs_type_from_name("RESTRICT"), -1);
	ck_assert_int_eq(xs_type_from_name("read"), -1);
	ck_assert_int_eq(xs_type_from_name(""), -1);
	ck_assert_int_eq(xs_type_from_name("READX"), -1);
}
END_TEST

START_TEST(header_codec)
{
	struct xs_header h = {.type = XS_WRITE, .req_id = 0xdeadbeef, .tx_id = 7, .len = 4096};
	struct xs_header back;
	unsigned char buf[XS_HEADER_SIZE + 1];
	uint32_t field;

	memset(buf, 0xAA, sizeof(buf));
	xs_header_encode(&h, buf);
	ck_assert_uint_eq(buf[XS_HEADER_SIZE], 0xAA); /* wrote exactly 16 bytes */
	/* Native order, fields at offsets 0, 4, 8, 12. */
	memcpy(&field, buf + 0, 4);
	ck_assert_uint_eq(field, XS_WRITE);
	memcpy(&field, buf + 4, 4);
	ck_assert_uint_eq(field, 0xdeadbeef);
	memcpy(&field, buf + 8, 4);
	ck_assert_uint_eq(field, 7);
	memcpy(&field, buf + 12, 4);
	ck_assert_uint_eq(field, 4096);

	memset(&back, 0, sizeof(back));
	xs_header_decode(buf, &back);
	ck_assert_uint_eq(back.type, h.type);
	ck_assert_uint_eq(back.req_id, h.req_id);
	ck_assert_uint_eq(back.tx_id, h.tx_id);
	ck_assert_uint_eq(back.len, h.len);
}
END_TEST

/* ---- framer ---- */

struct msg {
	struct xs_header hdr;
	unsigned char payload[XS_PAYLOAD_MAX];
};

#define MAX_MSGS 8

struct collected {
	unsigned n;
	struct msg m[MAX_MSGS];
};

static size_t put_msg(unsigned char *out, uint32_t type, uint32_t req, uint32_t tx,
		      const void *payload, uint32_t len)
{
	struct xs_header h = {.type = type, .req_id = req, .tx_id = tx, .len = len};

	xs_header_encode(&h, out);
	if (len)
		memcpy(out + XS_HEADER_SIZE, payload, len);
	return XS_HEADER_SIZE + len;
}

/*
 * Feed one chunk completely, recording every message it completes: with
 * xs_framer_feed, or (in_place not NULL) xs_framer_next, counting the
 * messages it handed out where they lay in data.
 */
static void take_chunk(struct xs_framer *f, const unsigned char *data, size_t len, struct collected *c,
		       unsigned *in_place)
{
	while (len) {
		size_t used = (size_t)-1;
		struct xs_header h;
		const char *payload = NULL;
		enum xs_framer_state st = in_place ? xs_framer_next(f, data, len, &used, &h, &payload)
						   : xs_framer_feed(f, data, len, &used);

		ck_assert_uint_le(used, len);
		if (st == XS_FRAMER_NEED_MORE) {
			ck_assert_uint_eq(used, len);
			return;
		}
		ck_assert_int_eq(st, XS_FRAMER_MESSAGE);
		ck_assert_uint_lt(c->n, MAX_MSGS);
		if (!in_place) {
			h = f->hdr;
			payload = xs_framer_payload(f);
		} else if (payload == (const char *)data + XS_HEADER_SIZE) {
			(*in_place)++;
		} else {
			ck_assert_ptr_eq(payload, xs_framer_payload(f));
		}
		c->m[c->n].hdr = h;
		memcpy(c->m[c->n].payload, payload, h.len);
		c->n++;
		data += used;
		len -= used;
	}
}

static void feed_chunk(struct xs_framer *f, const unsigned char *data, size_t len, struct collected *c)
{
	/* An empty chunk still finishes the message delivered last. */
	if (!len) {
		size_t used;

		ck_assert_int_eq(xs_framer_feed(f, data, 0, &used), XS_FRAMER_NEED_MORE);
		return;
	}
	take_chunk(f, data, len, c, NULL);
}

static unsigned char stream[3 * XS_MSG_MAX];
static unsigned char big[XS_PAYLOAD_MAX];

/* READ "/a", an empty WRITE, a full-size DIRECTORY, another READ: 4 messages. */
static size_t build_stream(void)
{
	size_t n = 0;

	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	n += put_msg(stream + n, XS_READ, 1, 0, "/a", 3);
	n += put_msg(stream + n, XS_WRITE, 2, 5, NULL, 0);
	n += put_msg(stream + n, XS_DIRECTORY, 3, 0, big, sizeof(big));
	n += put_msg(stream + n, XS_READ, 0xffffffff, 0xfffffffe, "x", 2);
	return n;
}

static void check_stream(const struct collected *c)
{
	ck_assert_uint_eq(c->n, 4);
	ck_assert_uint_eq(c->m[0].hdr.type, XS_READ);
	ck_assert_uint_eq(c->m[0].hdr.req_id, 1);
	ck_assert_uint_eq(c->m[0].hdr.len, 3);
	ck_assert_mem_eq(c->m[0].payload, "/a", 3);
	ck_assert_uint_eq(c->m[1].hdr.type, XS_WRITE);
	ck_assert_uint_eq(c->m[1].hdr.req_id, 2);
	ck_assert_uint_eq(c->m[1].hdr.tx_id, 5);
	ck_assert_uint_eq(c->m[1].hdr.len, 0);
	ck_assert_uint_eq(c->m[2].hdr.type, XS_DIRECTORY);
	ck_assert_uint_eq(c->m[2].hdr.len, XS_PAYLOAD_MAX);
	ck_assert_mem_eq(c->m[2].payload, big, XS_PAYLOAD_MAX);
	ck_assert_uint_eq(c->m[3].hdr.req_id, 0xffffffff);
	ck_assert_uint_eq(c->m[3].hdr.tx_id, 0xfffffffe);
	ck_assert_mem_eq(c->m[3].payload, "x", 2);
}

static struct collected coll;
static struct xs_framer framer;

START_TEST(framer_split_every_offset)
{
	size_t total = build_stream();

	for (size_t cut = 0; cut <= total; cut++) {
		memset(&coll, 0, sizeof(coll));
		xs_framer_init(&framer);
		feed_chunk(&framer, stream, cut, &coll);
		feed_chunk(&framer, stream + cut, total - cut, &coll);
		check_stream(&coll);
		/* Nothing is left half-read: the framer is back at a header boundary. */
		feed_chunk(&framer, stream, 0, &coll);
		ck_assert_uint_eq(xs_framer_wanted(&framer), XS_HEADER_SIZE);
		ck_assert_uint_eq(coll.n, 4);
	}
}
END_TEST

/* The same messages as xs_framer_feed at every split, those lying whole in a chunk not copied. */
START_TEST(framer_next_in_place)
{
	size_t total = build_stream();
	unsigned in_place = 0;

	for (size_t cut = 0; cut <= total; cut++) {
		memset(&coll, 0, sizeof(coll));
		xs_framer_init(&framer);
		in_place = 0;
		take_chunk(&framer, stream, cut, &coll, &in_place);
		take_chunk(&framer, stream + cut, total - cut, &coll, &in_place);
		check_stream(&coll);
		ck_assert(xs_framer_idle(&framer));
		/* Only the message the cut falls inside is copied. */
		ck_assert_uint_ge(in_place, 3);
	}
	/* Byte by byte nothing is whole: all copied, the same messages. */
	memset(&coll, 0, sizeof(coll));
	xs_framer_init(&framer);
	in_place = 0;
	for (size_t i = 0; i < total; i++)
		take_chunk(&framer, stream + i, 1, &coll, &in_place);
	check_stream(&coll);
	ck_assert_uint_le(in_place, 1); /* the empty WRITE's header alone is whole */
	/* A declared length over 4096 is still refused with the header. */
	{
		struct xs_header h = {.type = XS_WRITE, .req_id = 1, .len = XS_PAYLOAD_MAX + 1}, out;
		static unsigned char buf[XS_MSG_MAX + 8];
		const char *payload;
		size_t used = 0;

		xs_header_encode(&h, buf);
		xs_framer_init(&framer);
		ck_assert_int_eq(xs_framer_next(&framer, buf, sizeof(buf), &used, &out, &payload),
				 XS_FRAMER_OVERSIZE);
		ck_assert_uint_eq(used, XS_HEADER_SIZE);
	}
}
END_TEST

START_TEST(framer_byte_at_a_time)
{
	size_t total = build_stream();

	memset(&coll, 0, sizeof(coll));
	xs_framer_init(&framer);
	for (size_t i = 0; i < total; i++)
		feed_chunk(&framer, stream + i, 1, &coll);
	check_stream(&coll);
}
END_TEST

START_TEST(framer_many_in_one_buffer)
{
	size_t total = build_stream(), used = 0;
	enum xs_framer_state st;

	xs_framer_init(&framer);
	st = xs_framer_feed(&framer, stream, total, &used);
	/* Stops right after the first message and leaves the rest. */
	ck_assert_int_eq(st, XS_FRAMER_MESSAGE);
	ck_assert_uint_eq(used, XS_HEADER_SIZE + 3);
	ck_assert_str_eq(xs_framer_payload(&framer), "/a");

	memset(&coll, 0, sizeof(coll));
	xs_framer_init(&framer);
	feed_chunk(&framer, stream, total, &coll);
	check_stream(&coll);
}
END_TEST

START_TEST(framer_zero_length)
{
	unsigned char buf[XS_HEADER_SIZE];
	size_t used = 0;

	put_msg(buf, XS_GET_FEATURE, 9, 0, NULL, 0);
	xs_framer_init(&framer);
	ck_assert_uint_eq(xs_framer_wanted(&framer), XS_HEADER_SIZE);
	ck_assert_int_eq(xs_framer_feed(&framer, buf, 15, &used), XS_FRAMER_NEED_MORE);
	ck_assert_uint_eq(used, 15);
	ck_assert_uint_eq(xs_framer_wanted(&framer), 1);
	ck_assert_int_eq(xs_framer_feed(&framer, buf + 15, 1, &used), XS_FRAMER_MESSAGE);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(framer.hdr.type, XS_GET_FEATURE);
	ck_assert_uint_eq(framer.hdr.req_id, 9);
	ck_assert_uint_eq(framer.hdr.len, 0);
	/* The framer starts a fresh message on the next call. */
	ck_assert_int_eq(xs_framer_feed(&framer, buf, 4, &used), XS_FRAMER_NEED_MORE);
	ck_assert_uint_eq(xs_framer_wanted(&framer), XS_HEADER_SIZE - 4);
}
END_TEST

START_TEST(framer_max_payload)
{
	size_t total, used = 0;

	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(255 - i);
	total = put_msg(stream, XS_WRITE, 1, 0, big, XS_PAYLOAD_MAX);
	xs_framer_init(&framer);
	ck_assert_int_eq(xs_framer_feed(&framer, stream, XS_HEADER_SIZE, &used),
			 XS_FRAMER_NEED_MORE);
	ck_assert_uint_eq(xs_framer_wanted(&framer), XS_PAYLOAD_MAX);
	ck_assert_int_eq(xs_framer_feed(&framer, stream + XS_HEADER_SIZE,
					total - XS_HEADER_SIZE, &used),
			 XS_FRAMER_MESSAGE);
	ck_assert_uint_eq(used, XS_PAYLOAD_MAX);
	ck_assert_uint_eq(framer.hdr.len, XS_PAYLOAD_MAX);
	ck_assert_mem_eq(xs_framer_payload(&framer), big, XS_PAYLOAD_MAX);
}
END_TEST

START_TEST(framer_oversize)
{
	static const uint32_t lens[] = {XS_PAYLOAD_MAX + 1, 65536, UINT32_MAX};

	for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct xs_header h = {.type = XS_WRITE, .req_id = 1, .len = lens[k]};
		unsigned char buf[XS_HEADER_SIZE + 100];
		size_t used = 0;

		memset(buf, 'z', sizeof(buf));
		xs_header_encode(&h, buf);
		/* All at once: reported as soon as the header is in, no payload taken. */
		xs_framer_init(&framer);
		ck_assert_int_eq(xs_framer_feed(&framer, buf, sizeof(buf), &used),
				 XS_FRAMER_OVERSIZE);
		ck_assert_uint_eq(used, XS_HEADER_SIZE);
		ck_assert_uint_eq(framer.hdr.len, lens[k]);

		/* Byte by byte: nothing until the 16th header byte. */
		xs_framer_init(&framer);
		for (unsigned i = 0; i < XS_HEADER_SIZE - 1; i++)
			ck_assert_int_eq(xs_framer_feed(&framer, buf + i, 1, &used),
					 XS_FRAMER_NEED_MORE);
		ck_assert_int_eq(xs_framer_feed(&framer, buf + XS_HEADER_SIZE - 1, 50, &used),
				 XS_FRAMER_OVERSIZE);
		ck_assert_uint_eq(used, 1);
	}
}
END_TEST

/* ---- payload argument helpers ---- */

START_TEST(count_strings)
{
	ck_assert_uint_eq(xs_count_strings("", 0), 0);
	ck_assert_uint_eq(xs_count_strings("a", 1), 0);
	ck_assert_uint_eq(xs_count_strings("a\0", 2), 1);
	ck_assert_uint_eq(xs_count_strings("\0", 1), 1);
	ck_assert_uint_eq(xs_count_strings("\0\0", 2), 2);
	ck_assert_uint_eq(xs_count_strings("a\0b", 3), 1);
	ck_assert_uint_eq(xs_count_strings("a\0bc\0", 5), 2);
	/* Only len bytes are looked at. */
	ck_assert_uint_eq(xs_count_strings("a\0b\0", 3), 1);
}
END_TEST

START_TEST(split_strings)
{
	const char *out[3] = {NULL, NULL, NULL};
	const char *sentinel = "untouched";
	const char p[] = "a\0bc\0\0tail";

	ck_assert_uint_eq(xs_split_strings(p, sizeof(p) - 1, out, 3), 3);
	ck_assert_str_eq(out[0], "a");
	ck_assert_str_eq(out[1], "bc");
	ck_assert_str_eq(out[2], "");
	ck_assert_ptr_eq(out[0], p);
	ck_assert_ptr_eq(out[1], p + 2);

	/* More strings than room: count them all, store only max. */
	out[0] = out[1] = out[2] = sentinel;
	ck_assert_uint_eq(xs_split_strings(p, sizeof(p) - 1, out, 1), 3);
	ck_assert_str_eq(out[0], "a");
	ck_assert_ptr_eq(out[1], sentinel);
	ck_assert_uint_eq(xs_split_strings(p, sizeof(p) - 1, NULL, 0), 3);

	out[0] = sentinel;
	ck_assert_uint_eq(xs_split_strings("", 0, out, 3), 0);
	ck_assert_uint_eq(xs_split_strings("abc", 3, out, 3), 0);
	ck_assert_ptr_eq(out[0], sentinel);
	ck_assert_uint_eq(xs_split_strings("\0", 1, out, 3), 1);
	ck_assert_str_eq(out[0], "");
}
END_TEST

START_TEST(is_one_arg)
{
	ck_assert(xs_is_one_arg("a\0", 2));
	ck_assert(xs_is_one_arg("/local/domain/0\0", 16));
	ck_assert(xs_is_one_arg("\0", 1));
	ck_assert(!xs_is_one_arg("", 0));
	ck_assert(!xs_is_one_arg("a", 1));
	ck_assert(!xs_is_one_arg("a\0b", 3));
	ck_assert(!xs_is_one_arg("a\0\0", 3));
	ck_assert(!xs_is_one_arg("a\0b\0", 4));
}
END_TEST

START_TEST(parse_domid)
{
	static const struct {
		const char *s;
		int ok;
		unsigned v;
	} cases[] = {
		{"0", 1, 0},       {"7", 1, 7},       {"65535", 1, 65535}, {"007", 1, 7},
		{"32757", 1, 32757}, {"65536", 0, 0},   {"", 0, 0},          {"-1", 0, 0},
		{"1a", 0, 0},      {"+1", 0, 0},      {" 1", 0, 0},        {"1 ", 0, 0},
		{"0x10", 0, 0},    {"99999999999999999999", 0, 0},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned d = 12345;
		int rc = xs_parse_domid(cases[i].s, &d);

		if (cases[i].ok) {
			ck_assert_msg(rc == 0, "'%s' should parse", cases[i].s);
			ck_assert_uint_eq(d, cases[i].v);
		} else {
			ck_assert_msg(rc != 0, "'%s' should be rejected", cases[i].s);
			ck_assert_msg(d == 12345, "'%s' changed the output on failure", cases[i].s);
		}
	}
}
END_TEST

START_TEST(utoa_as_printf)
{
	static const uint32_t cases[] = {0, 1, 9, 10, 99, 100, 4294967295u, 1000000000u, 123456789u};
	char buf[11], want[16];

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "%u", cases[i]);
		ck_assert_str_eq(xs_utoa(buf, cases[i]), want);
	}
}
END_TEST

Suite *xst_wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *t = tcase_create("tables");

	tcase_add_test(t, err_table_size);
	tcase_add_test(t, err_name_both_ways);
	tcase_add_test(t, err_name_out_of_range);
	tcase_add_test(t, err_unknown_name_is_einval);
	tcase_add_test(t, err_name_is_length_delimited);
	tcase_add_test(t, err_errno_mapping);
	tcase_add_test(t, type_names_both_ways);
	tcase_add_test(t, type_names_invalid);
	tcase_add_test(t, header_codec);
	suite_add_tcase(s, t);

	t = tcase_create("framer");
	tcase_add_test(t, framer_split_every_offset);
	tcase_add_test(t, framer_byte_at_a_time);
	tcase_add_test(t, framer_next_in_place);
	tcase_add_test(t, framer_many_in_one_buffer);
	tcase_add_test(t, framer_zero_length);
	tcase_add_test(t, framer_max_payload);
	tcase_add_test(t, framer_oversize);
	suite_add_tcase(s, t);

	t = tcase_create("args");
	tcase_add_test(t, count_strings);
	tcase_add_test(t, split_strings);
	tcase_add_test(t, is_one_arg);
	tcase_add_test(t, parse_domid);
	tcase_add_test(t, utoa_as_printf);
	suite_add_tcase(s, t);
	return s;
}

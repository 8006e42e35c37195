/* daemon/dispatch.c in process over a socketpair: each generic check, their order, E2BIG, and the ids a reply carries. */
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/conn.h"
#include "daemon/dispatch.h"
#include "daemon/domain.h"
#include "daemon/quota.h"
#include "daemon/session.h"
#include "unit.h"

static struct config saved_cfg;
static struct event_base *base;
static int peer = -1; /* the client's end */
static struct xs_framer in;
/* Watch events that came before a reply, and those drained after it: "path:token ...". */
static char events[1024];
static uint32_t next_req_id;

static void setup(void)
{
	int sv[2];

	xst_quota_save();
	/* What the daemon's start-up would set: socket clients act as domain 0, privileged. */
	saved_cfg = cfg;
	cfg.master_domid = cfg.priv_domid = 0;
	cfg.conn_output_max = 1024 * 1024;
	xst_store_open();
	ck_assert_ptr_nonnull(base = event_base_new());
	conn_init(base);
	session_init(base, dispatch_request);
	ck_assert_int_eq(domain_init(base, DOMAIN_HYP_NONE), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_ptr_nonnull(session_new_socket(sv[0]));
	peer = sv[1];
	xs_framer_init(&in);
	events[0] = '\0';
	next_req_id = 1;
}

static void teardown(void)
{
	domain_fini();
	conn_close_all();
	session_fini();
	event_base_free(base);
	close(peer);
	xst_store_close();
	xst_quota_restore();
	cfg = saved_cfg;
}

struct msg {
	struct xs_header h;
	char payload[XS_PAYLOAD_MAX + 1]; /* NUL-terminated for string comparisons */
};

/* The next message from the daemon, running its loop until one comes (false: none in wait_ms). */
static bool next_msg(struct msg *m, int wait_ms)
{
	for (int waited = 0; waited <= wait_ms;) {
		unsigned char buf[XS_MSG_MAX];
		struct pollfd p = {peer, POLLIN, 0};
		ssize_t n;
		size_t used;

		event_base_loop(base, EVLOOP_NONBLOCK);
		n = recv(peer, buf, xs_framer_wanted(&in), MSG_DONTWAIT);
		if (n > 0) {
			if (xs_framer_feed(&in, buf, (size_t)n, &used) != XS_FRAMER_MESSAGE)
				continue;
			m->h = in.hdr;
			memcpy(m->payload, xs_framer_payload(&in), in.hdr.len);
			m->payload[in.hdr.len] = '\0';
			xs_framer_init(&in);
			return true;
		}
		ck_assert_msg(n < 0, "the daemon closed the connection");
		waited += poll(&p, 1, 1) == 0;
	}
	return false;
}

static void note_event(const struct msg *m)
{
	size_t len = strlen(events);

	snprintf(events + len, sizeof(events) - len, "%s%.200s:%.200s", len ? " " : "", m->payload,
		 m->payload + strlen(m->payload) + 1);
}

/* Send a request, return its reply (which must carry its ids); note watch events before it. */
static const struct msg *rpc_id(uint32_t type, uint32_t req_id, uint32_t tx_id,
				const char *payload, size_t len)
{
	static struct msg m;
	unsigned char buf[XS_MSG_MAX];
	struct xs_header h = {type, req_id, tx_id, (uint32_t)len};

	ck_assert_uint_le(len, XS_PAYLOAD_MAX);
	xs_header_encode(&h, buf);
	memcpy(buf + XS_HEADER_SIZE, payload, len);
	ck_assert_int_eq(send(peer, buf, XS_HEADER_SIZE + len, MSG_NOSIGNAL), XS_HEADER_SIZE + len);
	for (;;) {
		ck_assert_msg(next_msg(&m, 2000), "no reply to type %u", type);
		if (m.h.type != XS_WATCH_EVENT)
			break;
		note_event(&m);
	}
	ck_assert_uint_eq(m.h.req_id, req_id);
	ck_assert_uint_eq(m.h.tx_id, tx_id);
	return &m;
}

static const struct msg *rpc(uint32_t type, uint32_t tx_id, const char *payload, size_t len)
{
	return rpc_id(type, next_req_id++, tx_id, payload, len);
}

/* The reply's payload as a string: an error's name, or the first string of a reply. */
static const char *answer(uint32_t type, uint32_t tx_id, const char *payload, size_t len)
{
	const struct msg *m = rpc(type, tx_id, payload, len);

	return m->h.type == XS_ERROR ? m->payload : m->h.type == type ? m->payload : "(bad type)";
}

/* A request with a literal payload (its NULs written out), in no transaction or in tx. */
#define ANSWER(type, lit) answer(type, 0, lit, sizeof(lit) - 1)
#define ANSWER_TX(type, tx, lit) answer(type, tx, lit, sizeof(lit) - 1)
#define EXPECT(type, lit, want) ck_assert_str_eq(ANSWER(type, lit), want)
#define EXPECT_TX(type, tx, lit, want) ck_assert_str_eq(ANSWER_TX(type, tx, lit), want)

/* Every watch event the daemon sends within a moment, as "path:token ...", then forgotten. */
static const char *drain_events(void)
{
	static char taken[sizeof(events)];
	struct msg m;

	while (next_msg(&m, 20)) {
		ck_assert_uint_eq(m.h.type, XS_WATCH_EVENT);
		note_event(&m);
	}
	memcpy(taken, events, sizeof(taken));
	events[0] = '\0';
	return taken;
}

static uint32_t start_txn(void)
{
	unsigned id = 0;

	ck_assert_int_eq(sscanf(ANSWER(XS_TRANSACTION_START, ""), "%u", &id), 1);
	ck_assert_uint_ne(id, 0);
	return id;
}

/* The home of domain 5, owned by it, then this connection dropped to its rights. */
static void restrict_to_5(void)
{
	EXPECT(XS_WRITE, "/local/domain/5\0", "OK");
	EXPECT(XS_SET_PERMS, "/local/domain/5\0n5\0", "OK");
	EXPECT(XS_CONTROL, "restrict\0" "5\0", "OK");
}

START_TEST(unknown_type_enosys)
{
	/* XS_RESTRICT's old number, replies as requests, numbers past the table. */
	static const uint32_t types[] = {20,   XS_WATCH_EVENT, XS_ERROR,
					 1000, XS_INVALID,     0xffffffffu};

	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ck_assert_str_eq(answer(types[i], 0, "/\0", 2), "ENOSYS");
	EXPECT(XS_READ, "/\0", "");
}
END_TEST

START_TEST(privilege_eacces_after_restrict)
{
	EXPECT(XS_IS_DOMAIN_INTRODUCED, "0\0", "T");
	restrict_to_5();
	EXPECT(XS_IS_DOMAIN_INTRODUCED, "0\0", "EACCES");
	EXPECT(XS_CONTROL, "restrict\0" "6\0", "EACCES");
	EXPECT(XS_INTRODUCE, "6\0" "1\0" "2\0", "EACCES");
	EXPECT(XS_RELEASE, "6\0", "EACCES");
	EXPECT(XS_RESUME, "6\0", "EACCES");
	EXPECT(XS_SET_TARGET, "6\0" "7\0", "EACCES");
	/* What any domain may do still works, as domain 5. */
	EXPECT(XS_GET_DOMAIN_PATH, "6\0", "/local/domain/6");
	EXPECT(XS_WRITE, "x\0v", "OK");
	EXPECT(XS_READ, "/local/domain/5/x\0", "v");
	EXPECT(XS_READ, "/tool\0", "EACCES");
}
END_TEST

START_TEST(unknown_transaction_enoent)
{
	uint32_t tx = start_txn();

	EXPECT_TX(XS_WRITE, tx, "/t\0v", "OK");
	EXPECT_TX(XS_READ, tx, "/t\0", "v");
	EXPECT_TX(XS_READ, tx + 1, "/\0", "ENOENT");
	EXPECT_TX(XS_TRANSACTION_END, tx + 1, "T\0", "ENOENT");
	EXPECT_TX(XS_TRANSACTION_END, tx, "T\0", "OK");
	EXPECT(XS_READ, "/t\0", "v");
	EXPECT_TX(XS_READ, tx, "/t\0", "ENOENT");
	EXPECT(XS_TRANSACTION_END, "T\0", "ENOENT");
	/* WATCH and UNWATCH do not look the id up. */
	EXPECT_TX(XS_WATCH, 77, "/t\0tok\0", "OK");
	EXPECT_TX(XS_UNWATCH, 77, "/t\0tok\0", "OK");
}
END_TEST

START_TEST(argument_shape_einval)
{
	EXPECT(XS_READ, "", "EINVAL");
	EXPECT(XS_READ, "/", "EINVAL");
	EXPECT(XS_READ, "/\0/\0", "EINVAL");
	EXPECT(XS_WRITE, "", "EINVAL");
	EXPECT(XS_DIRECTORY_PART, "/\0", "EINVAL");
	EXPECT(XS_DIRECTORY_PART, "/\0" "0\0x\0", "EINVAL");
	EXPECT(XS_SET_TARGET, "1\0", "EINVAL");
	EXPECT(XS_INTRODUCE, "1\0" "2\0", "EINVAL");
	EXPECT(XS_UNWATCH, "/\0", "EINVAL");
	EXPECT(XS_WATCH, "/\0", "EINVAL");
	EXPECT(XS_WATCH, "/\0t\0" "1\0x\0", "EINVAL");
	EXPECT(XS_WATCH, "/\0t\0-1\0", "EINVAL");
	EXPECT(XS_SET_PERMS, "/\0", "EINVAL");
	/* The same shapes done right. */
	EXPECT(XS_WATCH, "/\0t\0" "1\0", "OK");
	ck_assert_uint_eq(rpc(XS_DIRECTORY_PART, 0, "/\0" "0\0", 4)->h.type, XS_DIRECTORY_PART);
}
END_TEST

START_TEST(path_syntax_einval)
{
	static const char *const bad[] = {"/a//b", "/a/", "/a b", "/a\xff", "@x"};
	char buf[64];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "%s", bad[i]) + 1;

		ck_assert_str_eq(answer(XS_READ, 0, buf, (size_t)n), "EINVAL");
		memcpy(buf + n, "t", 2);
		ck_assert_str_eq(answer(XS_WATCH, 0, buf, (size_t)n + 2), i < 4 ? "EINVAL" : "OK");
		memcpy(buf + n, "n0", 3);
		ck_assert_str_eq(answer(XS_SET_PERMS, 0, buf, (size_t)n + 3),
				 i < 4 ? "EINVAL" : "ENOENT");
	}
	/* @ paths only where the table allows them. */
	EXPECT(XS_GET_PERMS, "@releaseDomain\0", "n0");
	EXPECT(XS_WRITE, "@releaseDomain\0x", "EINVAL");
}
END_TEST

/*
 * WRITE, SET_PERMS and WATCH on a path of len characters: relative ("rrr",
 * below the client's home; watch token R), and absolute below domain 5's
 * home ("/local/domain/5/aaa", token A).
 */
static void expect_below_home(size_t len, const char *write, const char *perms, const char *watch)
{
	char buf[128];
	size_t n;

	for (int absolute = 0; absolute < 2; absolute++) {
		n = (size_t)snprintf(buf, sizeof(buf), "%s", absolute ? "/local/domain/5/" : "");
		memset(buf + n, absolute ? 'a' : 'r', len);
		n += len;
		buf[n++] = '\0';
		memcpy(buf + n, "v", 1);
		ck_assert_str_eq(answer(XS_WRITE, 0, buf, n + 1), write);
		memcpy(buf + n, "b5\0", 3);
		ck_assert_str_eq(answer(XS_SET_PERMS, 0, buf, n + 3), perms);
		memcpy(buf + n, absolute ? "A\0" : "R\0", 2);
		ck_assert_str_eq(answer(XS_WATCH, 0, buf, n + 2), watch);
	}
}

START_TEST(path_max_below_the_home)
{
	quota_hard[QUOTA_PATH_MAX] = 8;
	/* The privileged are not limited. */
	expect_below_home(8, "OK", "OK", "OK");
	EXPECT(XS_WRITE, "/abcdefgh\0", "OK");
	/* The initial events, the relative watch's without the home. */
	ck_assert_str_eq(drain_events(), "rrrrrrrr:R /local/domain/5/aaaaaaaa:A");
	EXPECT(XS_RESET_WATCHES, "", "OK");
	restrict_to_5();
	/* path-max is 8: a domain may use 7 characters below its home. */
	expect_below_home(7, "OK", "OK", "OK");
	ck_assert_str_eq(drain_events(), "rrrrrrr:R /local/domain/5/aaaaaaa:A");
	expect_below_home(8, "EINVAL", "EINVAL", "EINVAL");
	ck_assert_str_eq(drain_events(), "");
	/* Elsewhere the whole path counts. */
	EXPECT(XS_READ, "/abcdefg\0", "EINVAL");
	EXPECT(XS_READ, "/abcdef\0", "EACCES");
}
END_TEST

START_TEST(set_perms_list_errors)
{
	quota_hard[QUOTA_NODE_PERMISSIONS] = 3;
	EXPECT(XS_WRITE, "/p\0", "OK");
	EXPECT(XS_SET_PERMS, "/p\0n0\0r1\0r2\0r3\0r4\0", "OK");
	restrict_to_5();
	EXPECT(XS_WRITE, "p\0", "OK");
	/* node-permissions is 3: two entries pass, three are ENOSPC. */
	EXPECT(XS_SET_PERMS, "p\0n5\0r6\0", "OK");
	EXPECT(XS_SET_PERMS, "p\0n5\0r6\0r7\0", "ENOSPC");
	EXPECT(XS_SET_PERMS, "p\0x5\0", "EINVAL");
	EXPECT(XS_SET_PERMS, "p\0n5\0r\0", "EINVAL");
	EXPECT(XS_SET_PERMS, "p\0n5\0r6x\0", "EINVAL");
	/* Without a hypervisor only ids from DOMID_SELF up name no domain. */
	EXPECT(XS_SET_PERMS, "p\0n32752\0", "ENOENT");
	EXPECT(XS_SET_PERMS, "p\0n5\0r32752\0", "OK");
	ck_assert_mem_eq(rpc(XS_GET_PERMS, 0, "p\0", 2)->payload, "n5\0r32752\0", 10);
	/* DOMID_ANY names no domain yet is no ENOENT: the handler answers (not its node to give). */
	EXPECT(XS_SET_PERMS, "p\0n32757\0", "EPERM");
}
END_TEST

/* When several checks fail, the first in the table's order answers. */
START_TEST(order_of_the_checks)
{
	quota_hard[QUOTA_NODE_PERMISSIONS] = 3;
	quota_hard[QUOTA_PATH_MAX] = 8;
	restrict_to_5();
	/* Type before privilege and transaction. */
	EXPECT_TX(20, 99, "", "ENOSYS");
	EXPECT_TX(1000, 99, "", "ENOSYS");
	/* Privilege before transaction and arguments. */
	EXPECT_TX(XS_INTRODUCE, 99, "", "EACCES");
	/* Transaction before arguments and path. */
	EXPECT_TX(XS_READ, 99, "/\0/\0", "ENOENT");
	EXPECT_TX(XS_READ, 99, "a//b\0", "ENOENT");
	EXPECT_TX(XS_SET_PERMS, 99, "a//b\0n5\0r6\0r7\0", "ENOENT");
	/* Arguments (the permission list and its quota) before the path. */
	EXPECT(XS_SET_PERMS, "a//b\0n5\0r6\0r7\0", "ENOSPC");
	EXPECT(XS_SET_PERMS, "pppppppp\0n32752\0", "ENOENT");
	/* In the list: its size first, then every entry's syntax, then the owner's existence. */
	EXPECT(XS_SET_PERMS, "p\0n5\0r6\0bad\0", "ENOSPC");
	EXPECT(XS_SET_PERMS, "p\0n32752\0bad\0", "EINVAL");
	/* WATCH ignores the transaction: the path is checked. */
	EXPECT_TX(XS_WATCH, 99, "pppppppp\0t\0", "EINVAL");
	/* The path before the handler (which would say EACCES or ENOENT). */
	EXPECT(XS_READ, "/abcdefgh\0", "EINVAL");
	EXPECT(XS_RM, "pppppppp\0", "EINVAL");
	EXPECT(XS_RM, "pppp/q\0", "ENOENT");
}
END_TEST

/* A directory whose DIRECTORY reply is exactly 4096 bytes: 64 names of 63 characters. */
static void full_directory(void)
{
	char path[80];

	xst_node("/big", "n0", "");
	for (unsigned i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/big/%02u%061u", i, 0u);
		xst_node(path, "n0", "");
	}
}

static void expect_directory_size(uint32_t tx, size_t size)
{
	const struct msg *m = rpc(XS_DIRECTORY, tx, "/big\0", 5);

	ck_assert_uint_eq(m->h.type, XS_DIRECTORY);
	ck_assert_uint_eq(m->h.len, size);
}

/* 340 entries "r2147483648" fit a SET_PERMS request; GET_PERMS prints each as "r-2147483648". */
static void perms_longer_in_print(void)
{
	char buf[XS_PAYLOAD_MAX];
	size_t n = 6;

	memcpy(buf, "/p\0n0\0", n);
	for (unsigned i = 0; i < 340; i++, n += 12)
		memcpy(buf + n, "r2147483648", 12);
	EXPECT(XS_WRITE, "/p\0", "OK");
	ck_assert_str_eq(answer(XS_SET_PERMS, 0, buf, n), "OK");
}

START_TEST(oversized_reply_e2big)
{
	uint32_t tx;

	full_directory();
	expect_directory_size(0, XS_PAYLOAD_MAX);
	tx = start_txn();
	expect_directory_size(tx, XS_PAYLOAD_MAX);
	EXPECT_TX(XS_TRANSACTION_END, tx, "F\0", "OK");
	xst_node("/big/x", "n0", "");
	EXPECT(XS_DIRECTORY, "/big\0", "E2BIG");
	/* In a transaction the reply builder finds it too big. */
	tx = start_txn();
	EXPECT_TX(XS_DIRECTORY, tx, "/big\0", "E2BIG");
	EXPECT_TX(XS_WRITE, tx, "/big/y\0", "OK");
	EXPECT_TX(XS_TRANSACTION_END, tx, "T\0", "OK");
	/* Outside a transaction too, when a handler's reply outgrows its buffer. */
	perms_longer_in_print();
	EXPECT(XS_GET_PERMS, "/p\0", "E2BIG");
	/* The connection goes on. */
	EXPECT(XS_READ, "/big/x\0", "");
}
END_TEST

START_TEST(reply_carries_req_and_tx_ids)
{
	static const uint32_t req_ids[] = {0, 1, 0x7fffffffu, 0xffffffffu};
	uint32_t tx = start_txn();
	struct msg m;

	for (unsigned i = 0; i < sizeof(req_ids) / sizeof(req_ids[0]); i++) {
		/* A reply, errors of a check and a handler, ENOSYS: rpc_id checks the ids. */
		ck_assert_uint_eq(rpc_id(XS_READ, req_ids[i], tx, "/\0", 2)->h.type, XS_READ);
		ck_assert_uint_eq(rpc_id(XS_READ, req_ids[i], tx, "/a b\0", 5)->h.type, XS_ERROR);
		ck_assert_uint_eq(rpc_id(XS_READ, req_ids[i], tx, "/none\0", 6)->h.type, XS_ERROR);
		ck_assert_uint_eq(rpc_id(XS_READ, req_ids[i], 12345, "/\0", 2)->h.type, XS_ERROR);
		ck_assert_uint_eq(rpc_id(99, req_ids[i], 0xffffffffu, "", 0)->h.type, XS_ERROR);
	}
	/* A watch event (here WATCH's initial one, after its OK) carries zeros. */
	EXPECT(XS_WATCH, "/\0w\0", "OK");
	ck_assert(next_msg(&m, 2000));
	ck_assert_uint_eq(m.h.type, XS_WATCH_EVENT);
	ck_assert_mem_eq(m.payload, "/\0w\0", 4);
	ck_assert_uint_eq(m.h.req_id, 0);
	ck_assert_uint_eq(m.h.tx_id, 0);
}
END_TEST

/*
 * The global memory budget: past it, what would grow the heap or the store
 * is refused with ENOMEM, the privileged domain keeping a reserve; reads,
 * removals and aborts still go.
 */
START_TEST(memory_budget_and_its_reserve)
{
	uint64_t used = quota_budget_used(true, NULL, NULL);
	uint32_t tx;

	EXPECT(XS_WRITE, "/keep\0v", "OK");
	tx = start_txn();
	/* The others' part is spent; the privileged one's reserve is not. */
	quota_budget = used + (64u << 20);
	quota_budget_reserve = 128u << 20;
	EXPECT(XS_WRITE, "/a\0v", "OK");
	EXPECT_TX(XS_TRANSACTION_END, tx, "F\0", "OK");
	restrict_to_5();
	EXPECT(XS_WRITE, "/local/domain/5/x\0v", "ENOMEM");
	EXPECT(XS_MKDIR, "/local/domain/5/y\0", "ENOMEM");
	EXPECT(XS_WATCH, "/local/domain/5\0t\0", "ENOMEM");
	EXPECT(XS_TRANSACTION_START, "", "ENOMEM");
	EXPECT(XS_READ, "/local/domain/5\0", "");
	/* With room again, the same requests go. */
	quota_budget_reserve = 0;
	EXPECT(XS_WRITE, "/local/domain/5/x\0v", "OK");
	tx = start_txn();
	EXPECT_TX(XS_TRANSACTION_END, tx, "F\0", "OK");
	/* The whole budget spent: the privileged are refused too (and reads still go). */
	quota_budget = 1;
	EXPECT(XS_READ, "/local/domain/5/x\0", "v");
	EXPECT(XS_RM, "/local/domain/5/x\0", "OK");
	quota_budget = 0;
	EXPECT(XS_WRITE, "/local/domain/5/z\0v", "OK");
}
END_TEST

Suite *xst_dispatch_suite(void)
{
	return XST_SUITE("dispatch", setup, teardown, unknown_type_enosys,
			 privilege_eacces_after_restrict, unknown_transaction_enoent,
			 argument_shape_einval, path_syntax_einval, path_max_below_the_home,
			 set_perms_list_errors, order_of_the_checks, oversized_reply_e2big,
			 reply_carries_req_and_tx_ids, memory_budget_and_its_reserve);
}

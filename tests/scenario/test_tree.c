/* Scenario: the tree through the wire: big directories, DIRECTORY_PART, deprivileged permission rules, transactions. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <tdb.h>
#include <time.h>

#include "scenario.h"
#include "sc_util.h"

static struct xst_daemon daemon_;
static struct sc_conn *dom0;

static void setup(void)
{
	sc_start(&daemon_, NULL);
	dom0 = sc_connect(&daemon_);
}

static void teardown(void)
{
	sc_close(dom0);
	sc_stop(&daemon_);
}

/* A connection with the rights of domain `domid`. */
static struct sc_conn *as_domain(const char *domid)
{
	struct sc_conn *c = sc_connect(&daemon_);
	struct xst_msg m;

	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("restrict", domid), &m);
	SC_EXPECT_STR(&m, XS_CONTROL, "OK\0");
	return c;
}

/* Read the whole child list with DIRECTORY_PART as libxenstore does (in transaction tx, or 0). */
static size_t read_dir_in_parts(struct sc_conn *c, xsl_txn_t tx, const char *path, char *out,
				size_t size)
{
	size_t have = 0;
	char gen0[32] = "";

	for (;;) {
		struct xst_msg m;
		char off[24];

		snprintf(off, sizeof(off), "%zu", have);
		sc_call(c, XS_DIRECTORY_PART, tx, 0, SC_ARGS(path, off), &m);
		ck_assert_uint_eq(m.hdr.type, XS_DIRECTORY_PART);
		size_t glen = strlen(m.payload) + 1;

		if (!gen0[0])
			strcpy(gen0, m.payload);
		ck_assert_str_eq(gen0, m.payload);
		ck_assert_uint_le(m.hdr.len, XS_PAYLOAD_MAX);
		ck_assert_uint_le(have + m.hdr.len - glen, size);
		memcpy(out + have, m.payload + glen, m.hdr.len - glen);
		have += m.hdr.len - glen;
		if (have >= 2 && out[have - 1] == '\0' && out[have - 2] == '\0')
			return have - 1;
		if (have == 1 && out[0] == '\0')
			return 0;
	}
}

START_TEST(big_directory_order_and_parts)
{
	struct xst_msg m;
	static char list[200000], expect[200000];
	size_t elen = 0, got;
	char path[64];

	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "/big/child%05d", (i * 7919) % 3000);
		sc_call(dom0, XS_WRITE, 0, 1, SC_ARGS(path, ""), &m);
		SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
	}
	/* Delete every third; re-create one, which moves to the end. */
	for (int i = 0; i < 3000; i += 3) {
		snprintf(path, sizeof(path), "/big/child%05d", (i * 7919) % 3000);
		sc_call(dom0, XS_RM, 0, 0, SC_ARGS(path), &m);
		SC_EXPECT_STR(&m, XS_RM, "OK\0");
	}
	sc_call(dom0, XS_WRITE, 0, 1, SC_ARGS("/big/child00000", "back"), &m);
	for (int i = 0; i < 3000; i++) {
		if (i % 3 == 0)
			continue;
		elen += (size_t)sprintf(expect + elen, "child%05d", (i * 7919) % 3000) + 1;
	}
	elen += (size_t)sprintf(expect + elen, "child00000") + 1;

	sc_call(dom0, XS_DIRECTORY, 0, 0, SC_ARGS("/big"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "E2BIG\0");
	got = read_dir_in_parts(dom0, 0, "/big", list, sizeof(list));
	ck_assert_uint_eq(got, elen);
	ck_assert(memcmp(list, expect, elen) == 0);
	/* An offset inside a name starts mid-name, as in the C daemon; past the end is empty. */
	sc_call(dom0, XS_DIRECTORY_PART, 0, 0, SC_ARGS("/big", "2"), &m);
	ck_assert_str_eq(m.payload + strlen(m.payload) + 1, expect + 2);
	sc_call(dom0, XS_DIRECTORY_PART, 0, 0, SC_ARGS("/big", "999999"), &m);
	ck_assert_uint_eq(m.hdr.len, strlen(m.payload) + 2);
	ck_assert_int_eq(m.payload[m.hdr.len - 1], '\0');
}
END_TEST

/*
 * DIRECTORY_PART inside a transaction: the committed children less those the
 * transaction removed, then those it created, read part by part from where
 * the last part ended; the same as outside once committed.
 */
START_TEST(directory_parts_in_a_transaction)
{
	static char list[200000], expect[200000];
	struct xst_msg m;
	size_t elen = 0, got;
	char path[64];
	xsl_txn_t tx;

	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/big/c%05d", i);
		sc_must(dom0, XS_WRITE, 0, 1, SC_ARGS(path, ""), "OK");
	}
	tx = sc_tx_start(dom0);
	for (int i = 0; i < 2000; i += 5) {
		snprintf(path, sizeof(path), "/big/c%05d", i);
		sc_must(dom0, XS_RM, tx, 0, SC_ARGS(path), "OK");
	}
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/big/new%04d", i);
		sc_must(dom0, XS_WRITE, tx, 1, SC_ARGS(path, ""), "OK");
	}
	for (int i = 0; i < 2000; i++)
		if (i % 5)
			elen += (size_t)sprintf(expect + elen, "c%05d", i) + 1;
	for (int i = 0; i < 300; i++)
		elen += (size_t)sprintf(expect + elen, "new%04d", i) + 1;
	got = read_dir_in_parts(dom0, tx, "/big", list, sizeof(list));
	ck_assert_uint_eq(got, elen);
	ck_assert(memcmp(list, expect, elen) == 0);
	/* Past the end, and mid-way after the committed part: what the offsets say. */
	sc_call(dom0, XS_DIRECTORY_PART, tx, 0, SC_ARGS("/big", "999999"), &m);
	ck_assert_uint_eq(m.hdr.len, strlen(m.payload) + 2);
	sc_must(dom0, XS_TRANSACTION_END, tx, 0, SC_ARGS("T"), "OK");
	got = read_dir_in_parts(dom0, 0, "/big", list, sizeof(list));
	ck_assert_uint_eq(got, elen);
	ck_assert(memcmp(list, expect, elen) == 0);
}
END_TEST

/* A child list as a model: names in order, and their concatenation, a NUL each. */
struct dir_model {
	char names[1000][40];
	size_t n;
	char list[40000];
	size_t len;
};

static void model_add(struct dir_model *d, const char *name)
{
	ck_assert_uint_lt(d->n, 1000);
	snprintf(d->names[d->n++], sizeof(d->names[0]), "%s", name);
}

static void model_remove(struct dir_model *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->names[i], name) == 0) {
			memmove(d->names[i], d->names[i + 1], (d->n - i - 1) * sizeof(d->names[0]));
			d->n--;
			return;
		}
	ck_abort_msg("%s is not in the model", name);
}

static void model_list(struct dir_model *d)
{
	d->len = 0;
	for (size_t i = 0; i < d->n; i++)
		d->len += (size_t)sprintf(d->list + d->len, "%s", d->names[i]) + 1;
}

/* The name of child i of the tests below: lengths vary, so that chunk boundaries fall anywhere. */
static void dp_name(char *buf, size_t size, const char *prefix, unsigned i)
{
	snprintf(buf, size, "%s%04u%.*s", prefix, i, (int)(i * 7 % 23), "xxxxxxxxxxxxxxxxxxxxxxx");
}

/*
 * The C daemon's DIRECTORY_PART answer for list (len bytes) at off after
 * generation gen (tools/xenstored/core.c, send_directory_part): as many
 * whole names from off as fit (the first entered in its middle if off is),
 * and an empty name after the last.
 */
static size_t part_reference(const char *list, size_t len, size_t off, const char *gen, char *out)
{
	size_t genlen = strlen(gen) + 1, n = 0, maxlen = XS_PAYLOAD_MAX - genlen - 1;
	const char *child = list + off;

	memcpy(out, gen, genlen);
	if (off >= len) {
		out[genlen] = '\0';
		return genlen + 1;
	}
	while (n + strlen(child) < maxlen) {
		n += strlen(child) + 1;
		child += strlen(child) + 1;
		if (off + n == len)
			break;
	}
	memcpy(out + genlen, list + off, n);
	if (off + n == len)
		out[genlen + n++] = '\0';
	return genlen + n;
}

/* DIRECTORY_PART of /big at off (in tx) answers as the C daemon would for the model, with generation gen (set if empty). */
static void expect_part(struct sc_conn *c, xsl_txn_t tx, size_t off, const struct dir_model *d, char *gen)
{
	static char want[XS_PAYLOAD_MAX + 64];
	struct xst_msg m;
	char offs[24];
	size_t wl;

	snprintf(offs, sizeof(offs), "%zu", off);
	sc_call(c, XS_DIRECTORY_PART, tx, 0, SC_ARGS("/big", offs), &m);
	ck_assert_msg(m.hdr.type == XS_DIRECTORY_PART, "offset %zu: %s", off, m.payload);
	if (!gen[0])
		strcpy(gen, m.payload);
	ck_assert_str_eq(m.payload, gen);
	wl = part_reference(d->list, d->len, off, gen, want);
	ck_assert_msg(m.hdr.len == wl && memcmp(m.payload, want, wl) == 0,
		      "offset %zu of %zu: %u bytes, expected %zu", off, d->len, m.hdr.len, wl);
}

/* Every offset, in an order no cursor follows (odd ones descending, even ones ascending), then past the end. */
static void expect_every_offset(struct sc_conn *c, xsl_txn_t tx, const struct dir_model *d, char *gen)
{
	for (size_t off = d->len | 1; off <= d->len + 1; off -= 2)
		expect_part(c, tx, off, d, gen);
	for (size_t off = 0; off <= d->len + 1; off += 2)
		expect_part(c, tx, off, d, gen);
	expect_part(c, tx, 999999, d, gen);
}

/* Create (or with rm, remove) child prefix+i of /big through c, in tx, and the same in the model d if given. */
static void dp_change(struct sc_conn *c, xsl_txn_t tx, struct dir_model *d, bool rm, const char *prefix,
		      unsigned i)
{
	char path[64], name[40];

	dp_name(name, sizeof(name), prefix, i);
	snprintf(path, sizeof(path), "/big/%s", name);
	if (rm)
		sc_must(c, XS_RM, tx, 0, SC_ARGS(path), "OK");
	else
		sc_must(c, XS_WRITE, tx, 1, SC_ARGS(path, ""), "OK");
	if (d && rm)
		model_remove(d, name);
	else if (d)
		model_add(d, name);
}

/* /big with n children, c0000 on, and d its model. */
static void dp_fill(struct dir_model *d, unsigned n)
{
	d->n = 0;
	for (unsigned i = 0; i < n; i++)
		dp_change(dom0, 0, d, false, "c", i);
	model_list(d);
}

/* The offset that continues the part of /big at off (in tx): off and the bytes of names it returned. */
static size_t dp_next(struct sc_conn *c, xsl_txn_t tx, size_t off)
{
	struct xst_msg m;
	char offs[24];

	snprintf(offs, sizeof(offs), "%zu", off);
	sc_call(c, XS_DIRECTORY_PART, tx, 0, SC_ARGS("/big", offs), &m);
	ck_assert_uint_eq(m.hdr.type, XS_DIRECTORY_PART);
	return off + m.hdr.len - strlen(m.payload) - 1;
}

/*
 * DIRECTORY_PART at every offset of a directory of many chunks (so at
 * every chunk boundary, the first and the last byte of the list, the end
 * and past it) answers what the C daemon would, found through the
 * directory's index rather than a walk; again after whole chunks of
 * children were removed from its middle and others appended.
 */
START_TEST(directory_part_at_every_offset)
{
	static struct dir_model d;
	char gen[32] = "", gen2[32] = "";

	dp_fill(&d, 700);
	expect_every_offset(dom0, 0, &d, gen);
	/* Whole chunks from the middle, a name here and there, then new names at the end. */
	for (unsigned i = 0; i < 700; i++)
		if ((i >= 200 && i < 400) || i % 9 == 4)
			dp_change(dom0, 0, &d, true, "c", i);
	for (unsigned i = 0; i < 60; i++)
		dp_change(dom0, 0, &d, false, "n", i);
	model_list(&d);
	expect_every_offset(dom0, 0, &d, gen2);
	ck_assert_str_ne(gen, gen2);
}
END_TEST

/*
 * The directory changes between two parts (the second continuing the
 * first): the second answers from the directory as it is now, with its new
 * generation, whoever changed it.
 */
START_TEST(directory_part_after_a_change_between_parts)
{
	static struct dir_model d;
	struct sc_conn *other = sc_connect(&daemon_);
	char gen[32] = "", gen2[32] = "", gen3[32] = "";
	size_t next;

	dp_fill(&d, 600);
	expect_part(dom0, 0, 0, &d, gen);
	next = dp_next(dom0, 0, 0);
	/* Another client removes the first child and adds one: the names shift back. */
	dp_change(other, 0, &d, true, "c", 0);
	dp_change(other, 0, &d, false, "other", 0);
	model_list(&d);
	expect_part(dom0, 0, next, &d, gen2);
	ck_assert_str_ne(gen, gen2);
	/* The same client changes it between its parts. */
	next = dp_next(dom0, 0, 4000);
	dp_change(dom0, 0, &d, true, "c", 300);
	model_list(&d);
	expect_part(dom0, 0, next, &d, gen3);
	ck_assert_str_ne(gen2, gen3);
	expect_every_offset(dom0, 0, &d, gen3);
	sc_close(other);
}
END_TEST

/*
 * In a transaction that removed children (whole chunks of them among
 * others), read some that are not there, created its own (one it had
 * removed among them: it moves to the end): every offset answers from
 * the transaction's list, where the committed list is untouched; and
 * after its own changes between parts.
 */
START_TEST(directory_part_in_a_transaction_at_every_offset)
{
	static struct dir_model d, tx_d;
	char path[64], gen[32] = "", tgen[32] = "", tgen2[32] = "";
	struct xst_msg m;
	xsl_txn_t tx;
	size_t next;

	dp_fill(&d, 700);
	tx_d = d;
	tx = sc_tx_start(dom0);
	/* Read first, at an offset deep inside: the transaction's view before any change. */
	expect_part(dom0, tx, 5000, &d, tgen);
	for (unsigned i = 0; i < 700; i++)
		if ((i >= 300 && i < 450) || i % 7 == 3 || i == 0 || i == 699)
			dp_change(dom0, tx, &tx_d, true, "c", i);
	for (unsigned i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/big/absent%u", i);
		sc_call(dom0, XS_READ, tx, 0, SC_ARGS(path), &m);
		SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
	}
	for (unsigned i = 0; i < 40; i++)
		dp_change(dom0, tx, &tx_d, false, "t", i);
	dp_change(dom0, tx, &tx_d, false, "c", 3);
	model_list(&tx_d);
	tgen[0] = '\0';
	expect_every_offset(dom0, tx, &tx_d, tgen);
	/* Outside the transaction, the committed list. */
	expect_part(dom0, 0, 0, &d, gen);
	expect_part(dom0, 0, d.len - 10, &d, gen);
	expect_part(dom0, 0, d.len, &d, gen);
	/* The transaction's own changes between two parts: the second sees them. */
	next = dp_next(dom0, tx, 2000);
	dp_change(dom0, tx, &tx_d, true, "c", 200);
	dp_change(dom0, tx, &tx_d, false, "last", 0);
	model_list(&tx_d);
	expect_part(dom0, tx, next, &tx_d, tgen2);
	ck_assert_str_ne(tgen, tgen2);
	expect_every_offset(dom0, tx, &tx_d, tgen2);
	sc_must(dom0, XS_TRANSACTION_END, tx, 0, SC_ARGS("T"), "OK");
	/* Committed: the same list outside. */
	gen[0] = '\0';
	expect_every_offset(dom0, 0, &tx_d, gen);
}
END_TEST

/*
 * Another client commits a change to the directory while a transaction
 * that removed some of its children reads it in parts: each part, wherever
 * it starts, agrees with the transaction's list read again from offset 0.
 */
START_TEST(directory_part_in_a_transaction_after_a_commit_beside_it)
{
	static struct dir_model tx_d;
	static char whole[40000];
	struct sc_conn *other = sc_connect(&daemon_);
	char tgen[32] = "";
	xsl_txn_t tx;

	dp_fill(&tx_d, 500);
	tx = sc_tx_start(dom0);
	for (unsigned i = 100; i < 200; i++)
		dp_change(dom0, tx, NULL, true, "c", i);
	dp_change(dom0, tx, NULL, false, "mine", 0);
	/* Chunks move and go under the transaction: removals at the front, appends at the end. */
	for (unsigned i = 0; i < 60; i++) {
		dp_change(other, 0, NULL, true, "c", i);
		dp_change(other, 0, NULL, false, "o", i);
	}
	tx_d.len = read_dir_in_parts(dom0, tx, "/big", whole, sizeof(whole));
	memcpy(tx_d.list, whole, tx_d.len);
	expect_every_offset(dom0, tx, &tx_d, tgen);
	sc_must(dom0, XS_TRANSACTION_END, tx, 0, SC_ARGS("F"), "OK");
	sc_close(other);
}
END_TEST

START_TEST(unprivileged_rules)
{
	struct xst_msg m;
	struct sc_conn *d5, *d6;

	sc_call(dom0, XS_WRITE, 0, 1, SC_ARGS("/local/domain/5/data", "x"), &m);
	sc_call(dom0, XS_SET_PERMS, 0, 0, SC_ARGS("/local/domain/5", "n5"), &m);
	SC_EXPECT_STR(&m, XS_SET_PERMS, "OK\0");
	sc_call(dom0, XS_WRITE, 0, 1, SC_ARGS("/secret", "s"), &m);
	d5 = as_domain("5");
	d6 = as_domain("6");

	/* Relative paths land in the home; created nodes belong to the creator. */
	sc_call(d5, XS_WRITE, 0, 1, SC_ARGS("mine/x", "1"), &m);
	SC_EXPECT_STR(&m, XS_WRITE, "OK\0");
	sc_call(dom0, XS_GET_PERMS, 0, 0, SC_ARGS("/local/domain/5/mine/x"), &m);
	SC_EXPECT_STR(&m, XS_GET_PERMS, "n5\0");
	/* Missing under an unreadable parent is EACCES; under a readable one ENOENT. */
	sc_call(d5, XS_READ, 0, 0, SC_ARGS("/nonexistent"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	sc_call(d5, XS_READ, 0, 0, SC_ARGS("nothing"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
	sc_call(d5, XS_READ, 0, 0, SC_ARGS("/secret"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	sc_call(d6, XS_READ, 0, 0, SC_ARGS("/local/domain/5/mine/x"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	/* Grant read to 6 through an ACL; first match wins. */
	sc_call(d5, XS_SET_PERMS, 0, 0, SC_ARGS("mine/x", "n5", "r6"), &m);
	SC_EXPECT_STR(&m, XS_SET_PERMS, "OK\0");
	sc_call(d6, XS_READ, 0, 0, SC_ARGS("/local/domain/5/mine/x"), &m);
	SC_EXPECT_STR(&m, XS_READ, "1");
	sc_call(d6, XS_WRITE, 0, 1, SC_ARGS("/local/domain/5/mine/x", "2"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	/* Owner change by the unprivileged is EPERM; an ACL grant is not ownership. */
	sc_call(d5, XS_SET_PERMS, 0, 0, SC_ARGS("mine/x", "n6"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EPERM\0");
	sc_call(d5, XS_SET_PERMS, 0, 0, SC_ARGS("mine/x", "n5", "b6"), &m);
	sc_call(d6, XS_SET_PERMS, 0, 0, SC_ARGS("/local/domain/5/mine/x", "n5"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	/* Too many entries from the unprivileged (quota 5 means at most 4). */
	sc_call(d5, XS_SET_PERMS, 0, 0, SC_ARGS("mine/x", "n5", "r1", "r2", "r3", "r4"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOSPC\0");
	/* Privileged-only operations. */
	sc_call(d5, XS_INTRODUCE, 0, 0, SC_ARGS("7", "1", "1"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	sc_call(d5, XS_CONTROL, 0, 0, SC_ARGS("restrict", "0"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EACCES\0");
	/* RM needs write on the node only and removes the whole subtree. */
	sc_call(dom0, XS_WRITE, 0, 1, SC_ARGS("/local/domain/5/mine/x/deep", "d"), &m);
	sc_call(d5, XS_RM, 0, 0, SC_ARGS("mine"), &m);
	SC_EXPECT_STR(&m, XS_RM, "OK\0");
	sc_call(dom0, XS_READ, 0, 0, SC_ARGS("/local/domain/5/mine/x/deep"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
	sc_close(d5);
	sc_close(d6);
}
END_TEST

START_TEST(transactions_basic)
{
	struct xst_msg m;
	xsl_txn_t t1, t2;
	/* Raw: the transaction's id on the wire, a nested start, a bad end, an ended id again. */
	struct sc_conn *raw = sc_connect_raw(&daemon_);

	sc_call(raw, XS_WRITE, 0, 1, SC_ARGS("/tx/a", "1"), &m);
	t1 = sc_tx_start(raw);
	ck_assert_uint_ne(t1, 0);
	sc_call(raw, XS_WRITE, t1, 1, SC_ARGS("/tx/a", "2"), &m);
	sc_call(raw, XS_WRITE, t1, 1, SC_ARGS("/tx/new/deep", "n"), &m);
	sc_call(raw, XS_READ, t1, 0, SC_ARGS("/tx/a"), &m);
	SC_EXPECT_STR(&m, XS_READ, "2");
	ck_assert_uint_eq(m.hdr.tx_id, t1);
	sc_call(raw, XS_READ, 0, 0, SC_ARGS("/tx/a"), &m);
	SC_EXPECT_STR(&m, XS_READ, "1");
	sc_call(raw, XS_DIRECTORY, t1, 0, SC_ARGS("/tx"), &m);
	SC_EXPECT_STR(&m, XS_DIRECTORY, "a\0new\0");
	sc_call(raw, XS_TRANSACTION_START, t1, 0, SC_ARGS(""), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EBUSY\0");
	sc_call(raw, XS_TRANSACTION_END, t1, 0, SC_ARGS("X"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EINVAL\0");
	sc_call(raw, XS_TRANSACTION_END, t1, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_TRANSACTION_END, "OK\0");
	sc_call(raw, XS_READ, 0, 0, SC_ARGS("/tx/new/deep"), &m);
	SC_EXPECT_STR(&m, XS_READ, "n");
	sc_call(raw, XS_TRANSACTION_END, t1, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
	sc_close(raw);

	/* Two transactions creating children of one parent: the second commit conflicts. */
	struct sc_conn *other = sc_connect(&daemon_);

	t1 = sc_tx_start(dom0);
	t2 = sc_tx_start(other);
	sc_call(dom0, XS_WRITE, t1, 1, SC_ARGS("/tx/p/c1", "1"), &m);
	sc_call(other, XS_WRITE, t2, 1, SC_ARGS("/tx/p/c2", "2"), &m);
	sc_call(dom0, XS_TRANSACTION_END, t1, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_TRANSACTION_END, "OK\0");
	sc_call(other, XS_TRANSACTION_END, t2, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "EAGAIN\0");
	/* Disjoint subtrees both commit; a remove and re-create inside one is applied. */
	sc_call(dom0, XS_WRITE, 0, 1, SC_ARGS("/tx/q/old", "o"), &m);
	t1 = sc_tx_start(dom0);
	t2 = sc_tx_start(other);
	sc_call(dom0, XS_RM, t1, 0, SC_ARGS("/tx/q"), &m);
	sc_call(dom0, XS_WRITE, t1, 1, SC_ARGS("/tx/q/fresh", "f"), &m);
	sc_call(other, XS_WRITE, t2, 1, SC_ARGS("/tx/p/c1", "changed"), &m);
	sc_call(dom0, XS_TRANSACTION_END, t1, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_TRANSACTION_END, "OK\0");
	sc_call(other, XS_TRANSACTION_END, t2, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_TRANSACTION_END, "OK\0");
	sc_call(dom0, XS_DIRECTORY, 0, 0, SC_ARGS("/tx/q"), &m);
	SC_EXPECT_STR(&m, XS_DIRECTORY, "fresh\0");
	sc_call(dom0, XS_READ, 0, 0, SC_ARGS("/tx/p/c1"), &m);
	SC_EXPECT_STR(&m, XS_READ, "changed");
	/* Abort applies nothing. */
	t1 = sc_tx_start(dom0);
	sc_call(dom0, XS_RM, t1, 0, SC_ARGS("/tx"), &m);
	sc_call(dom0, XS_TRANSACTION_END, t1, 0, SC_ARGS("F"), &m);
	SC_EXPECT_STR(&m, XS_TRANSACTION_END, "OK\0");
	sc_call(dom0, XS_READ, 0, 0, SC_ARGS("/tx/a"), &m);
	SC_EXPECT_STR(&m, XS_READ, "2");
	sc_close(other);
}
END_TEST

START_TEST(transaction_nodes_quota)
{
	struct xst_daemon d;
	struct xst_msg m;
	char path[64];
	xsl_txn_t t;

	sc_start(&d, SC_ARGS("-Q", "transaction-nodes=5"));
	struct sc_conn *c0 = sc_connect(&d);

	for (int i = 1; i <= 6; i++) {
		snprintf(path, sizeof(path), "/local/domain/5/n%d", i);
		sc_call(c0, XS_WRITE, 0, 1, SC_ARGS(path, "v"), &m);
	}
	sc_call(c0, XS_SET_PERMS, 0, 0, SC_ARGS("/local/domain/5", "n5"), &m);
	for (int i = 1; i <= 6; i++) {
		snprintf(path, sizeof(path), "/local/domain/5/n%d", i);
		sc_call(c0, XS_SET_PERMS, 0, 0, SC_ARGS(path, "n5"), &m);
	}
	struct sc_conn *c5 = sc_connect(&d);

	sc_call(c5, XS_CONTROL, 0, 0, SC_ARGS("restrict", "5"), &m);
	t = sc_tx_start(c5);
	/* Four distinct nodes fit (a fifth would reach the quota of 5)... */
	for (int i = 1; i <= 4; i++) {
		snprintf(path, sizeof(path), "n%d", i);
		sc_call(c5, XS_READ, t, 0, SC_ARGS(path), &m);
		SC_EXPECT_STR(&m, XS_READ, "v");
	}
	/* ...a node already touched costs nothing more, the fifth distinct is refused... */
	sc_call(c5, XS_READ, t, 0, SC_ARGS("n1"), &m);
	SC_EXPECT_STR(&m, XS_READ, "v");
	sc_call(c5, XS_READ, t, 0, SC_ARGS("n5"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOSPC\0");
	/* ...and the transaction is doomed: its commit answers ENOMEM. */
	sc_call(c5, XS_TRANSACTION_END, t, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOMEM\0");
	/* The privileged are exempt. */
	t = sc_tx_start(c0);
	for (int i = 1; i <= 6; i++) {
		snprintf(path, sizeof(path), "/local/domain/5/n%d", i);
		sc_call(c0, XS_READ, t, 0, SC_ARGS(path), &m);
		SC_EXPECT_STR(&m, XS_READ, "v");
	}
	sc_call(c0, XS_TRANSACTION_END, t, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_TRANSACTION_END, "OK\0");
	sc_close(c5);
	sc_close(c0);
	sc_stop(&d);
}
END_TEST

static void control_check_ok(struct sc_conn *c)
{
	struct xst_msg m;

	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("check"), &m);
	SC_EXPECT_STR(&m, XS_CONTROL, "OK\0");
}

/*
 * A commit killed part way leaves all of the transaction or none of it:
 * the daemon is killed at different moments of a large commit, and on each
 * restart the store is structurally sound and holds 0 or all the nodes.
 */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

enum { CRASH_NODES = 2000 };

/* The commit's reply, when the library hands it over. */
struct commit_reply {
	int done, err;
	char payload[8];
	size_t len;
};

static void commit_answered(struct xsl *h, int err, const char *reply, size_t len, void *arg)
{
	struct commit_reply *r = arg;

	(void)h;
	r->done = 1;
	r->err = err;
	r->len = len;
	if (!err)
		memcpy(r->payload, reply, len < sizeof(r->payload) ? len : sizeof(r->payload));
}

/*
 * Open a transaction and send its commit without waiting for the reply
 * (r says when it comes): creating CRASH_NODES nodes under
 * /crash/d0../crash/d16, or (removal) removing those 17 directories once
 * the nodes exist.
 */
static void big_commit_sent(struct sc_conn *c, bool removal, struct commit_reply *r)
{
	static char value[512];
	struct xst_msg m;
	char path[64];
	xsl_txn_t t;

	memset(value, 'v', sizeof(value) - 1);
	memset(r, 0, sizeof(*r));
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/crash/keep", "k"), &m);
	for (int i = 0; removal && i < CRASH_NODES; i++) {
		snprintf(path, sizeof(path), "/crash/d%d/n%d", i % 17, i);
		sc_call(c, XS_WRITE, 0, 1, SC_ARGS(path, value), &m);
	}
	t = sc_tx_start(c);
	for (int i = 0; removal && i < 17; i++) {
		snprintf(path, sizeof(path), "/crash/d%d", i);
		sc_call(c, XS_RM, t, 0, SC_ARGS(path), &m);
	}
	for (int i = 0; !removal && i < CRASH_NODES; i++) {
		snprintf(path, sizeof(path), "/crash/d%d/n%d", i % 17, i);
		sc_call(c, XS_WRITE, t, 1, SC_ARGS(path, value), &m);
	}
	ck_assert_int_eq(xsl_request_async(xst_conn_xsl(c->lib), t, XS_TRANSACTION_END, "T", 2,
					   commit_answered, r),
			 0);
}

/*
 * A commit killed part way leaves all of the transaction or none of it:
 * the daemon is killed at moments spread over a large commit (its length
 * measured first), and on each restart the store is sound and holds none
 * or all of the nodes. Run for a commit that creates the nodes and one
 * that removes them. (tests/scenario/test_crash.c kills at chosen points
 * of the log's writes instead of at moments.)
 */
static void kill_commits(bool removal)
{
	int seen_none = 0, seen_all = 0;
	long long commit_us;

	{
		struct xst_daemon d;
		struct commit_reply r;
		long long t0;

		sc_start(&d, NULL);
		struct sc_conn *c = sc_connect(&d);

		big_commit_sent(c, removal, &r);
		t0 = now_us();
		while (!r.done && now_us() - t0 < 10000000)
			ck_assert_int_ge(xsl_pump(xst_conn_xsl(c->lib), 100), 0);
		commit_us = now_us() - t0;
		ck_assert_msg(r.done && r.err == 0, "commit: %s",
			      r.done ? strerror(-r.err) : "no reply");
		ck_assert(r.len == 3 && memcmp(r.payload, "OK", 3) == 0);
		sc_close(c);
		sc_stop(&d);
	}
	for (int round = 0; round < 10; round++) {
		struct xst_daemon d;
		struct xst_msg m;
		struct commit_reply r;
		char path[64];
		/* From just after sending to a little past the measured end of the commit. */
		long long delay = commit_us * round / 8;

		sc_start(&d, NULL);
		struct sc_conn *c = sc_connect(&d);

		big_commit_sent(c, removal, &r);
		if (delay) {
			struct timespec ts = {(time_t)(delay / 1000000), (long)(delay % 1000000) * 1000};

			nanosleep(&ts, NULL);
		}
		sc_crash(&d);
		sc_close(c);
		sc_restart(&d, NULL);
		c = sc_connect(&d);
		control_check_ok(c);
		sc_call(c, XS_READ, 0, 0, SC_ARGS("/crash/keep"), &m);
		SC_EXPECT_STR(&m, XS_READ, "k");
		int present = 0;

		for (int i = 0; i < CRASH_NODES; i++) {
			snprintf(path, sizeof(path), "/crash/d%d/n%d", i % 17, i);
			sc_call(c, XS_READ, 0, 0, SC_ARGS(path), &m);
			present += m.hdr.type == XS_READ;
		}
		ck_assert_msg(present == 0 || present == CRASH_NODES, "%s, round %d: %d of %d nodes",
			      removal ? "removal" : "creation", round, present, CRASH_NODES);
		seen_none += present == 0;
		seen_all += present == CRASH_NODES;
		sc_close(c);
		sc_stop(&d);
	}
	printf("%s commit of %d nodes takes %lld us; killed during it: %d times none kept, %d"
	       " times all\n",
	       removal ? "removing" : "creating", CRASH_NODES, commit_us, seen_none, seen_all);
}

START_TEST(commit_killed_midway_is_all_or_nothing)
{
	kill_commits(false);
	kill_commits(true);
}
END_TEST

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	ck_assert_msg(in && out, "cannot copy %s to %s", from, to);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/*
 * What a kill right after a commit leaves behind, made exactly: the
 * write-ahead log holds the commit, the store file is from before it (the
 * last checkpoint). Every start reads it back (removal, update, creations
 * with parents); and a store file from before, put back beside a newer
 * log, is refused, not served with the log's changes lost or misapplied.
 */
START_TEST(log_replays_a_commit_the_store_missed)
{
	struct xst_daemon d;
	struct xst_msg m;
	char store[300], before[300];
	xsl_txn_t t;

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect(&d);

	SC_OK(c, XS_WRITE, 0, 1, "/jr/old", "o");
	SC_OK(c, XS_WRITE, 0, 1, "/jr/kept", "k");
	sc_close(c);
	sc_stop_keep(&d);
	snprintf(store, sizeof(store), "%s/xenstore.tdb", d.dir);
	snprintf(before, sizeof(before), "%s/before.copy", d.dir);
	copy_file(store, before);

	sc_restart(&d, NULL);
	c = sc_connect(&d);
	t = sc_tx_start(c);
	SC_OK(c, XS_RM, t, 0, "/jr/old");
	SC_OK(c, XS_WRITE, t, 1, "/jr/kept", "changed");
	SC_OK(c, XS_WRITE, t, 1, "/jr/new/a/b", "deep");
	SC_OK(c, XS_TRANSACTION_END, t, 0, "T");
	sc_close(c);
	sc_crash(&d);

	for (int start = 0; start < 2; start++) {
		sc_restart(&d, NULL);
		c = sc_connect(&d);
		control_check_ok(c);
		sc_call(c, XS_READ, 0, 0, SC_ARGS("/jr/old"), &m);
		SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
		sc_call(c, XS_READ, 0, 0, SC_ARGS("/jr/kept"), &m);
		SC_EXPECT_STR(&m, XS_READ, "changed");
		sc_call(c, XS_READ, 0, 0, SC_ARGS("/jr/new/a/b"), &m);
		SC_EXPECT_STR(&m, XS_READ, "deep");
		sc_call(c, XS_DIRECTORY, 0, 0, SC_ARGS("/jr"), &m);
		SC_EXPECT_STR(&m, XS_DIRECTORY, "kept\0new\0");
		ck_assert_int_eq(sc_log_has(&d, "read back from the write-ahead log"), start + 1);
		sc_close(c);
		if (start == 0)
			sc_crash(&d);
		else
			sc_stop_keep(&d);
	}
	copy_file(before, store); /* an older store beside a newer log */
	ck_assert_int_ne(xst_daemon_start(&d, XST_OURS, d.dir, NULL), 0);
	ck_assert_int_eq(sc_log_has(&d, "they are not of the same store"), 1);
}
END_TEST

/*
 * A commit whose group cannot be written to the log (here a file size
 * limit put on the daemon, a little above the store's size, which the log
 * is bigger than) fails with ENOSPC and nothing of it in the store, and
 * the daemon commits again once the files can grow.
 */
START_TEST(commit_the_log_cannot_take_changes_nothing)
{
	enum { BASE = 3000, TXN = 1500 };
	static char value[3001];
	struct xst_daemon d;
	struct xst_msg m;
	char path[64], store[300];
	struct stat st;
	xsl_txn_t t;
	int present = 0;

	memset(value, 'v', sizeof(value) - 1);
	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect(&d);

	for (int i = 0; i < BASE; i++) {
		snprintf(path, sizeof(path), "/full/base/n%d", i);
		sc_call(c, XS_WRITE, 0, 1, SC_ARGS(path, "b"), &m);
	}
	snprintf(store, sizeof(store), "%s/xenstore.tdb", d.dir);
	ck_assert_int_eq(stat(store, &st), 0);
	/* The soft limit only, so that it can be lifted again without privilege. */
	struct rlimit lim = {(rlim_t)st.st_size + 65536, RLIM_INFINITY};

	ck_assert_int_eq(prlimit(d.pid, RLIMIT_FSIZE, &lim, NULL), 0);
	t = sc_tx_start(c);
	for (int i = 0; i < TXN; i++) {
		snprintf(path, sizeof(path), "/full/txn/n%d", i);
		sc_call(c, XS_WRITE, t, 1, SC_ARGS(path, value), &m);
	}
	sc_call(c, XS_TRANSACTION_END, t, 0, SC_ARGS("T"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOSPC\0");
	ck_assert_int_eq(sc_log_has(&d, "cannot append"), 1);

	lim.rlim_cur = RLIM_INFINITY;
	ck_assert_int_eq(prlimit(d.pid, RLIMIT_FSIZE, &lim, NULL), 0);
	t = sc_tx_start(c);
	SC_OK(c, XS_WRITE, t, 1, "/full/after", "a");
	SC_OK(c, XS_TRANSACTION_END, t, 0, "T");
	for (int i = 0; i < TXN; i++) {
		snprintf(path, sizeof(path), "/full/txn/n%d", i);
		sc_call(c, XS_READ, 0, 0, SC_ARGS(path), &m);
		present += m.hdr.type == XS_READ;
	}
	ck_assert_int_eq(present, 0);
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/full/after"), &m);
	SC_EXPECT_STR(&m, XS_READ, "a");
	control_check_ok(c);
	sc_close(c);
	sc_stop(&d);
}
END_TEST

/*
 * The check is real: a store damaged behind the daemon's back (a record
 * left that no directory lists, which the start's walk does not meet) is
 * reported, not passed.
 */
START_TEST(check_finds_a_damaged_store)
{
	struct xst_daemon d;
	struct xst_msg m;
	char file[300];

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect(&d);

	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/dmg/a", "1"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/dmg/b/c", "2"), &m);
	control_check_ok(c);
	sc_close(c);
	sc_stop_keep(&d);
	snprintf(file, sizeof(file), "%s/xenstore.tdb", d.dir);
	struct tdb_context *tdb = tdb_open(file, 0, TDB_NOLOCK | TDB_INCOMPATIBLE_HASH, O_RDWR, 0);
	TDB_DATA b = {(unsigned char *)"/dmg/b", 6}, orphan = {(unsigned char *)"/dmg/zz", 7};

	ck_assert_ptr_nonnull(tdb);
	TDB_DATA rec = tdb_fetch(tdb, b);

	ck_assert_ptr_nonnull(rec.dptr);
	ck_assert_int_eq(tdb_store(tdb, orphan, rec, TDB_INSERT), 0);
	free(rec.dptr);
	tdb_close(tdb);
	sc_restart(&d, NULL);
	c = sc_connect(&d);
	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("check"), &m);
	ck_assert_uint_eq(m.hdr.type, XS_CONTROL);
	ck_assert_msg(strstr(m.payload, "reachable") != NULL, "check said '%s'", m.payload);
	sc_close(c);
	sc_stop(&d);
}
END_TEST

/*
 * A store damaged after a clean stop (a listed child without its record, a
 * record without its parent) is found by the start's walk and rebuilt from
 * what is there, never served as it is nor replaced by an empty tree.
 */
START_TEST(unclean_start_repairs_child_lists)
{
	struct xst_daemon d;
	struct xst_msg m;
	char file[300];

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect(&d);

	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/rep/a", "1"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/rep/b", "2"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/rep/b/x", "has a record"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/rep/c", "3"), &m);
	sc_close(c);
	sc_stop_keep(&d);
	snprintf(file, sizeof(file), "%s/xenstore.tdb", d.dir);
	struct tdb_context *tdb = tdb_open(file, 0, TDB_NOLOCK | TDB_INCOMPATIBLE_HASH, O_RDWR, 0);
	TDB_DATA b = {(unsigned char *)"/rep/b", 6}, a = {(unsigned char *)"/rep", 4};
	TDB_DATA orphan = {(unsigned char *)"/gone/x", 7};

	ck_assert_ptr_nonnull(tdb);
	ck_assert_int_eq(tdb_delete(tdb, b), 0);
	TDB_DATA rec = tdb_fetch(tdb, a);

	ck_assert_ptr_nonnull(rec.dptr);
	ck_assert_int_eq(tdb_store(tdb, orphan, rec, TDB_INSERT), 0);
	free(rec.dptr);
	tdb_close(tdb);
	sc_restart(&d, NULL);
	c = sc_connect(&d);
	control_check_ok(c);
	ck_assert_int_eq(sc_log_has(&d, "/rep/b is missing or damaged); repairing it"), 1);
	sc_call(c, XS_DIRECTORY, 0, 0, SC_ARGS("/rep"), &m);
	SC_EXPECT_STR(&m, XS_DIRECTORY, "a\0c\0");
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/rep/c"), &m);
	SC_EXPECT_STR(&m, XS_READ, "3");
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/gone/x"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
	/* And it keeps working: the rebuilt lists take new children. */
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/rep/d", "4"), &m);
	sc_call(c, XS_DIRECTORY, 0, 0, SC_ARGS("/rep"), &m);
	SC_EXPECT_STR(&m, XS_DIRECTORY, "a\0c\0d\0");
	control_check_ok(c);
	sc_close(c);
	sc_stop(&d);
}
END_TEST

/*
 * tdb is written only inside transactions (checkpoints), so a crash no
 * longer breaks its free list; a damaged disk still may. Made here by
 * pointing the free list past the end of the file after a clean stop: the
 * daemon serves on from its log, and the checkpoint that meets the damage
 * copies the records to a fresh file and completes.
 */
START_TEST(broken_free_list_is_rebuilt)
{
	struct xst_daemon d;
	struct xst_msg m;
	char file[300], path[64];
	uint32_t bogus = 0x7fffff00;

	sc_start(&d, NULL);
	struct sc_conn *c = sc_connect(&d);

	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/fl/n%d", i);
		SC_OK(c, XS_WRITE, 0, 1, path, "before");
	}
	sc_close(c);
	sc_stop_keep(&d);
	snprintf(file, sizeof(file), "%s/xenstore.tdb", d.dir);
	int fd = open(file, O_RDWR);

	ck_assert_int_ge(fd, 0);
	/* The free list's head follows tdb's 168-byte header. */
	ck_assert_int_eq(pwrite(fd, &bogus, sizeof(bogus), 168), (ssize_t)sizeof(bogus));
	close(fd);
	sc_restart(&d, NULL);
	c = sc_connect(&d);
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/fl/new/n%d", i);
		SC_OK(c, XS_WRITE, 0, 1, path, "after the rebuild, space is found");
	}
	sc_close(c);
	sc_stop_keep(&d);
	ck_assert_int_eq(sc_log_has(&d, "copying the records to a fresh file"), 1);
	sc_restart(&d, NULL);
	c = sc_connect(&d);
	control_check_ok(c);
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/fl/n199"), &m);
	SC_EXPECT_STR(&m, XS_READ, "before");
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/fl/new/n1999"), &m);
	SC_EXPECT_STR(&m, XS_READ, "after the rebuild, space is found");
	sc_close(c);
	sc_stop(&d);
}
END_TEST

Suite *suite_tree(void)
{
	Suite *s = suite_create("tree");
	TCase *tc = tcase_create("wire");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, big_directory_order_and_parts);
	tcase_add_test(tc, directory_parts_in_a_transaction);
	tcase_add_test(tc, directory_part_at_every_offset);
	tcase_add_test(tc, directory_part_after_a_change_between_parts);
	tcase_add_test(tc, directory_part_in_a_transaction_at_every_offset);
	tcase_add_test(tc, directory_part_in_a_transaction_after_a_commit_beside_it);
	tcase_add_test(tc, unprivileged_rules);
	tcase_add_test(tc, transactions_basic);
	suite_add_tcase(s, tc);
	tc = tcase_create("quota");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, transaction_nodes_quota);
	suite_add_tcase(s, tc);
	tc = tcase_create("crash");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, commit_killed_midway_is_all_or_nothing);
	tcase_add_test(tc, log_replays_a_commit_the_store_missed);
	tcase_add_test(tc, commit_the_log_cannot_take_changes_nothing);
	tcase_add_test(tc, check_finds_a_damaged_store);
	tcase_add_test(tc, unclean_start_repairs_child_lists);
	tcase_add_test(tc, broken_free_list_is_rebuilt);
	suite_add_tcase(s, tc);
	return s;
}

/* Ring tests: several guests in separate processes: reads, writes, watches, transactions, isolation between domains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/* The other guest of a pair of domains 5 and 6. */
static uint32_t peer_of(uint32_t domid)
{
	return domid == 5 ? 6 : 5;
}

/* Each guest works in its own home through relative paths, then finds the other's closed. */
static int guest_home_and_isolation(struct rt_child *ch)
{
	uint32_t domid = (uint32_t)(uintptr_t)ch->arg, peer = peer_of(domid);
	struct rt_guest g;
	char val[16], abs_path[64], other[64], other_missing[64], home[32], id[8], perm[8];
	struct xst_msg m;

	rt_guest_up(&g, ch->rd, domid);
	snprintf(val, sizeof(val), "v%u", domid);
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(abs_path, sizeof(abs_path), "%s/data/x", home);
	snprintf(id, sizeof(id), "%u", domid);
	snprintf(perm, sizeof(perm), "n%u", domid);

	rt_write(g.c, 0, "data/x", val);
	rt_read_is(g.c, 0, "data/x", val);
	rt_read_is(g.c, 0, abs_path, val);
	/* An unprivileged creator owns what it creates, including the implicit parent. */
	rt_perms_are(g.c, "data/x", perm);
	rt_perms_are(g.c, "data", perm);
	rt_call(g.c, XS_GET_DOMAIN_PATH, 0, 0, RT_ARGS(id), &m);
	RT_CHECK(strcmp(m.payload, home) == 0, "GET_DOMAIN_PATH %s: %s", id, m.payload);
	rt_must(g.c, XS_MKDIR, 0, 0, RT_ARGS("m/a/b"), "OK");
	RT_ANSWER_STR(g.c, XS_DIRECTORY, "m/a", "b");
	rt_must(g.c, XS_RM, 0, 0, RT_ARGS("m"), "OK");
	rt_must(g.c, XS_READ, 0, 0, RT_ARGS("m/a"), "ENOENT");
	rt_child_tell(ch, 'w');

	/* Both have written: now each tries the other's nodes. */
	rt_child_hear(ch, 'g');
	snprintf(other, sizeof(other), "/local/domain/%u/data/x", peer);
	snprintf(other_missing, sizeof(other_missing), "/local/domain/%u/data/nothing", peer);
	rt_must(g.c, XS_READ, 0, 0, RT_ARGS(other), "EACCES");
	rt_must(g.c, XS_WRITE, 0, 1, RT_ARGS(other, "stolen"), "EACCES");
	rt_must(g.c, XS_MKDIR, 0, 0, RT_ARGS(other_missing), "EACCES");
	/* A missing node under a parent we cannot read is EACCES, not ENOENT. */
	rt_must(g.c, XS_READ, 0, 0, RT_ARGS(other_missing), "EACCES");
	rt_must(g.c, XS_RM, 0, 0, RT_ARGS(other), "EACCES");
	rt_must(g.c, XS_GET_PERMS, 0, 0, RT_ARGS(other), "EACCES");
	rt_must(g.c, XS_SET_PERMS, 0, 0, RT_ARGS(other, perm), "EACCES");
	snprintf(other, sizeof(other), "/local/domain/%u", peer);
	rt_must(g.c, XS_DIRECTORY, 0, 0, RT_ARGS(other), "EACCES");
	/* dom0's part of the tree too. */
	rt_must(g.c, XS_WRITE, 0, 1, RT_ARGS("/tool/x", "1"), "EACCES");
	rt_must(g.c, XS_RM, 0, 0, RT_ARGS("/tool"), "EACCES");
	rt_must(g.c, XS_SET_PERMS, 0, 0, RT_ARGS("/", perm), "EACCES");
	/* Our own node is untouched by the other's attempts. */
	rt_read_is(g.c, 0, "data/x", val);
	rt_child_tell(ch, 'd');
	rt_child_hear(ch, 'e');
	rt_guest_down(&g);
	return 0;
}

START_TEST(two_guests_homes_and_isolation)
{
	struct rt_daemon rd;
	struct rt_child a, b;

	rt_start(&rd, NULL);
	rt_child_start(&a, &rd, guest_home_and_isolation, (void *)(uintptr_t)5);
	rt_child_start(&b, &rd, guest_home_and_isolation, (void *)(uintptr_t)6);
	rt_hear(&a, 'w');
	rt_hear(&b, 'w');
	rt_read_is(rd.dom0, 0, "/local/domain/5/data/x", "v5");
	rt_read_is(rd.dom0, 0, "/local/domain/6/data/x", "v6");
	RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "5", "T");
	RT_ANSWER_STR(rd.dom0, XS_IS_DOMAIN_INTRODUCED, "6", "T");
	rt_tell(&a, 'g');
	rt_tell(&b, 'g');
	rt_hear(&a, 'd');
	rt_hear(&b, 'd');
	rt_read_is(rd.dom0, 0, "/local/domain/5/data/x", "v5");
	rt_read_is(rd.dom0, 0, "/local/domain/6/data/x", "v6");
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/6/data/nothing"), "ENOENT");
	rt_tell(&a, 'e');
	rt_tell(&b, 'e');
	rt_child_join(&a);
	rt_child_join(&b);
	/* Their processes are gone, so are their domains and homes. */
	rt_wait_gone(rd.dom0, 5);
	rt_wait_gone(rd.dom0, 6);
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/5"), "ENOENT");
	rt_must(rd.dom0, XS_READ, 0, 0, RT_ARGS("/local/domain/6"), "ENOENT");
	rt_stop(&rd);
}
END_TEST

/* Domain 6: writes a private node, later grants domain 5 read access and writes again. */
static int guest_writer(struct rt_child *ch)
{
	struct rt_guest g;

	rt_guest_up(&g, ch->rd, 6);
	rt_child_tell(ch, 'r');
	rt_child_hear(ch, 'p');
	rt_write(g.c, 0, "data/secret", "s1");
	rt_child_tell(ch, 'x');
	rt_child_hear(ch, 'q');
	rt_must(g.c, XS_SET_PERMS, 0, 0, RT_ARGS("data/secret", "n6", "r5"), "OK");
	rt_write(g.c, 0, "data/secret", "s2");
	rt_child_tell(ch, 'y');
	rt_child_hear(ch, 'z');
	rt_guest_down(&g);
	return 0;
}

/* Domain 5: watches everything and domain 6's data; must hear only what it may read. */
static int guest_watcher(struct rt_child *ch)
{
	struct rt_guest g;

	rt_guest_up(&g, ch->rd, 5);
	rt_watch(g.c, "/", "root", NULL);
	rt_watch(g.c, "/local/domain/6/data", "peer", NULL);
	rt_child_tell(ch, 'r');
	rt_child_hear(ch, 'm');
	/*
	 * Domain 6 wrote its private node before dom0 made /pub/marker readable
	 * to us: had its event been delivered it would come first.
	 */
	rt_event(g.c, "/pub/marker", "root");
	rt_no_event(g.c, 50);
	rt_must(g.c, XS_READ, 0, 0, RT_ARGS("/local/domain/6/data/secret"), "EACCES");
	rt_child_tell(ch, 'a');
	rt_child_hear(ch, 'n');
	/* Granted: the SET_PERMS event and the later write reach both our watches. */
	rt_event(g.c, "/local/domain/6/data/secret", "root");
	rt_event(g.c, "/local/domain/6/data/secret", "peer");
	rt_event(g.c, "/local/domain/6/data/secret", "root");
	rt_event(g.c, "/local/domain/6/data/secret", "peer");
	rt_read_is(g.c, 0, "/local/domain/6/data/secret", "s2");
	rt_must(g.c, XS_WRITE, 0, 1, RT_ARGS("/local/domain/6/data/secret", "x"), "EACCES");
	rt_no_event(g.c, 50);
	rt_child_tell(ch, 'b');
	rt_child_hear(ch, 'c');
	rt_guest_down(&g);
	return 0;
}

START_TEST(watch_events_respect_other_domains_permissions)
{
	struct rt_daemon rd;
	struct rt_child w, a;

	rt_start(&rd, NULL);
	rt_child_start(&w, &rd, guest_writer, NULL);
	rt_hear(&w, 'r');
	rt_child_start(&a, &rd, guest_watcher, NULL);
	rt_hear(&a, 'r');
	rt_tell(&w, 'p');
	rt_hear(&w, 'x');
	rt_write(rd.dom0, 0, "/pub/marker", "m");
	rt_must(rd.dom0, XS_SET_PERMS, 0, 0, RT_ARGS("/pub/marker", "n0", "r5"), "OK");
	rt_tell(&a, 'm');
	rt_hear(&a, 'a');
	rt_tell(&w, 'q');
	rt_hear(&w, 'y');
	rt_tell(&a, 'n');
	rt_hear(&a, 'b');
	rt_tell(&w, 'z');
	rt_tell(&a, 'c');
	rt_child_join(&w);
	rt_child_join(&a);
	rt_stop(&rd);
}
END_TEST

struct tx_plan {
	uint32_t domid;
	const char *commit_status; /* what the first commit must answer */
};

/* Both guests read-modify-write /shared/ctr in transactions; the test orders the commits. */
static int guest_txn(struct rt_child *ch)
{
	const struct tx_plan *p = ch->arg;
	struct rt_guest g;
	char val[16];
	xsl_txn_t tx;

	rt_guest_up(&g, ch->rd, p->domid);
	snprintf(val, sizeof(val), "%u", p->domid);
	tx = rt_tx_start(g.c);
	rt_read_is(g.c, tx, "/shared/ctr", "0");
	/* Relative paths resolve in our home inside a transaction too; invisible outside until commit. */
	rt_write(g.c, tx, "data/t", val);
	rt_read_is(g.c, tx, "data/t", val);
	rt_must(g.c, XS_READ, 0, 0, RT_ARGS("data/t"), "ENOENT");
	rt_child_tell(ch, 'r');
	rt_child_hear(ch, 'w');
	rt_write(g.c, tx, "/shared/ctr", val);
	rt_child_tell(ch, 'x');
	rt_child_hear(ch, 'c');
	rt_must(g.c, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), p->commit_status);
	if (strcmp(p->commit_status, "OK") != 0) {
		/* The loser retries and now sees the winner's value. */
		rt_must(g.c, XS_READ, 0, 0, RT_ARGS("data/t"), "ENOENT");
		tx = rt_tx_start(g.c);
		rt_read_is(g.c, tx, "/shared/ctr", "5");
		rt_write(g.c, tx, "/shared/ctr", val);
		rt_write(g.c, tx, "data/t", val);
		rt_must(g.c, XS_TRANSACTION_END, tx, 0, RT_ARGS("T"), "OK");
	}
	rt_read_is(g.c, 0, "data/t", val);
	/* An ended transaction is gone. */
	rt_must(g.c, XS_READ, tx, 0, RT_ARGS("data/t"), "ENOENT");
	rt_child_tell(ch, 'd');
	rt_child_hear(ch, 'e');
	rt_guest_down(&g);
	return 0;
}

START_TEST(transactions_conflict_between_guests)
{
	static const struct tx_plan p5 = {5, "OK"}, p6 = {6, "EAGAIN"};
	struct rt_daemon rd;
	struct rt_child a, b;

	rt_start(&rd, NULL);
	rt_write(rd.dom0, 0, "/shared/ctr", "0");
	rt_must(rd.dom0, XS_SET_PERMS, 0, 0, RT_ARGS("/shared", "n0", "r5", "r6"), "OK");
	rt_must(rd.dom0, XS_SET_PERMS, 0, 0, RT_ARGS("/shared/ctr", "n0", "b5", "b6"), "OK");
	rt_child_start(&a, &rd, guest_txn, (void *)&p5);
	rt_child_start(&b, &rd, guest_txn, (void *)&p6);
	rt_hear(&a, 'r');
	rt_hear(&b, 'r');
	RT_CHECK(rt_stat(rd.dom0, "transactions") == 2, "transactions: %ld", rt_stat(rd.dom0, "transactions"));
	rt_tell(&a, 'w');
	rt_tell(&b, 'w');
	rt_hear(&a, 'x');
	rt_hear(&b, 'x');
	rt_read_is(rd.dom0, 0, "/shared/ctr", "0");
	rt_tell(&a, 'c');
	rt_hear(&a, 'd');
	rt_read_is(rd.dom0, 0, "/shared/ctr", "5");
	rt_tell(&b, 'c');
	rt_hear(&b, 'd');
	rt_read_is(rd.dom0, 0, "/shared/ctr", "6");
	rt_read_is(rd.dom0, 0, "/local/domain/5/data/t", "5");
	rt_read_is(rd.dom0, 0, "/local/domain/6/data/t", "6");
	RT_CHECK(rt_stat(rd.dom0, "transactions") == 0, "transactions left open");
	rt_tell(&a, 'e');
	rt_tell(&b, 'e');
	rt_child_join(&a);
	rt_child_join(&b);
	rt_stop(&rd);
}
END_TEST

START_TEST(watches_over_a_ring)
{
	struct rt_daemon rd;
	struct rt_guest g;

	rt_start(&rd, NULL);
	rt_guest_register(&g, &rd, 5);
	rt_guest_introduce(&g, rd.dom0);
	rt_watch(g.c, "data", "rel", NULL);
	rt_watch(g.c, "/local/domain/5/data", "abs", NULL);
	rt_watch(g.c, "data", "d1", "1");
	/* Our own write: the events come before the reply (C order), relative stays relative. */
	rt_write(g.c, 0, "data/a", "1");
	rt_event(g.c, "data/a", "rel");
	rt_event(g.c, "/local/domain/5/data/a", "abs");
	rt_event(g.c, "data/a", "d1");
	/* dom0's write in our home. */
	rt_write(rd.dom0, 0, "/local/domain/5/data/b", "2");
	rt_event(g.c, "data/b", "rel");
	rt_event(g.c, "/local/domain/5/data/b", "abs");
	rt_event(g.c, "data/b", "d1");
	/* Two levels down: the depth-1 watch stays quiet. */
	rt_write(g.c, 0, "data/x/y", "3");
	rt_event(g.c, "data/x/y", "rel");
	rt_event(g.c, "/local/domain/5/data/x/y", "abs");
	rt_no_event(g.c, 50);
	/* The store's own checks, with the token the library registered "rel" under. */
	{
		const char *rel = xst_watch_token(g.c, "rel");

		rt_must(g.c, XS_WATCH, 0, 0, RT_ARGS("data", rel), "EEXIST");
		rt_must(g.c, XS_WATCH, 0, 0, RT_ARGS("/local/domain/5/data", rel), "EEXIST");
		rt_must(g.c, XS_UNWATCH, 0, 0, RT_ARGS("data", rel), "OK");
		rt_must(g.c, XS_UNWATCH, 0, 0, RT_ARGS("data", rel), "ENOENT");
	}
	rt_write(g.c, 0, "data/c", "4");
	rt_event(g.c, "/local/domain/5/data/c", "abs");
	rt_event(g.c, "data/c", "d1");
	RT_CHECK(rt_stat(rd.dom0, "watches") == 2, "watches: %ld", rt_stat(rd.dom0, "watches"));
	rt_must(g.c, XS_RESET_WATCHES, 0, 0, RT_ARGS(""), "OK");
	RT_CHECK(rt_stat(rd.dom0, "watches") == 0, "watches after RESET_WATCHES");
	rt_write(g.c, 0, "data/d", "5");
	rt_no_event(g.c, 50);
	/* A big value both ways (several ring fills each way). */
	{
		char big[2001];

		memset(big, 'b', 2000);
		big[2000] = '\0';
		rt_write(g.c, 0, "data/big", big);
		rt_read_is(g.c, 0, "data/big", big);
		rt_read_is(rd.dom0, 0, "/local/domain/5/data/big", big);
	}
	rt_guest_down(&g);
	rt_wait_gone(rd.dom0, 5);
	rt_stop(&rd);
}
END_TEST

#define LOAD_ROUNDS 150

/* A busy guest: writes and reads its own nodes, watching / and checking it hears only its own. */
static int guest_busy(struct rt_child *ch)
{
	uint32_t domid = (uint32_t)(uintptr_t)ch->arg;
	struct rt_guest g;
	char home[32], path[64], val[32];
	struct xst_event ev;
	unsigned events = 0;

	rt_guest_up(&g, ch->rd, domid);
	snprintf(home, sizeof(home), "/local/domain/%u/", domid);
	rt_watch(g.c, "/", "all", NULL);
	rt_child_tell(ch, 'r');
	rt_child_hear(ch, 'g');
	for (unsigned i = 0; i < LOAD_ROUNDS; i++) {
		snprintf(path, sizeof(path), "load/n%u", i % 7);
		snprintf(val, sizeof(val), "%u-%u", domid, i);
		rt_write(g.c, 0, path, val);
		rt_read_is(g.c, 0, path, val);
	}
	/* Every event is for our own home (a write each round; identical pending ones may coalesce). */
	while (xst_event(g.c, &ev, 100) == 0) {
		RT_CHECK(strncmp(ev.path, home, strlen(home)) == 0 && !ev.flags,
			 "domain %u heard '%s'", domid, ev.path);
		events++;
	}
	RT_CHECK(events >= 1 && events <= LOAD_ROUNDS, "domain %u: %u events", domid, events);
	rt_child_tell(ch, 'd');
	rt_child_hear(ch, 'e');
	rt_guest_down(&g);
	return 0;
}

START_TEST(three_guests_at_once)
{
	struct rt_daemon rd;
	struct rt_child ch[3];

	rt_start(&rd, NULL);
	for (unsigned i = 0; i < 3; i++) {
		rt_child_start(&ch[i], &rd, guest_busy, (void *)(uintptr_t)(11 + i));
		rt_hear(&ch[i], 'r');
	}
	RT_CHECK(rt_stat(rd.dom0, "domains") == 3, "domains: %ld", rt_stat(rd.dom0, "domains"));
	for (unsigned i = 0; i < 3; i++)
		rt_tell(&ch[i], 'g');
	for (unsigned i = 0; i < 3; i++)
		rt_hear(&ch[i], 'd');
	for (unsigned i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/local/domain/%u/load/n%u", 11 + i, (LOAD_ROUNDS - 1) % 7);
		char val[32];

		snprintf(val, sizeof(val), "%u-%u", 11 + i, LOAD_ROUNDS - 1);
		rt_read_is(rd.dom0, 0, path, val);
		rt_tell(&ch[i], 'e');
	}
	for (unsigned i = 0; i < 3; i++)
		rt_child_join(&ch[i]);
	for (unsigned i = 0; i < 3; i++)
		rt_wait_gone(rd.dom0, 11 + i);
	RT_CHECK(rt_stat(rd.dom0, "domains") == 0, "domains left");
	RT_CHECK(rt_stat(rd.dom0, "watches") == 0, "watches left");
	rt_stop(&rd);
}
END_TEST

Suite *suite_guests(void)
{
	Suite *s = suite_create("guests");
	TCase *tc = tcase_create("guests");

	tcase_set_timeout(tc, RT_ASAN ? 120 : 60);
	tcase_add_test(tc, two_guests_homes_and_isolation);
	tcase_add_test(tc, watch_events_respect_other_domains_permissions);
	tcase_add_test(tc, transactions_conflict_between_guests);
	tcase_add_test(tc, watches_over_a_ring);
	tcase_add_test(tc, three_guests_at_once);
	suite_add_tcase(s, tc);
	return s;
}

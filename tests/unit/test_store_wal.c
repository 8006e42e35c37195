/* The store's record layer in process: groups undone whole or in part, the log read back after a kill, a torn or full log, compaction. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/arena.h"
#include "daemon/rec.h"
#include "daemon/regions.h"
#include "daemon/store.h"
#include "tests/lib/xst_file.h"
#include "unit.h"

static const struct xs_perm owner0[] = {{0, XS_PERM_NONE, false}};
static const struct xs_perm owner5[] = {{5, XS_PERM_NONE, false}};

static char dir[64], file[96], log_file[96];

static void dir_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xst-wal.XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
	snprintf(file, sizeof(file), "%s/store.tdb", dir);
	snprintf(log_file, sizeof(log_file), "%s/store.wal", dir);
}

static void dir_remove(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void open_store(bool fresh)
{
	struct store_options o = {.file = file, .hash_size = 1021, .fresh = fresh};
	const char *why = NULL;

	ck_assert_msg(store_open(&o, &why) == XSE_OK, "store_open: %s", why ? why : "?");
}

static enum xs_err create(const char *path, const struct xs_perm *perms, const char *value)
{
	struct arena a = {0};
	enum xs_err err = store_create(&a, path, perms, 1, value, strlen(value));

	arena_free(&a);
	return err;
}

/* The value at path, "" if absent ("?" if damaged). */
static const char *value_of(const char *path)
{
	static char buf[XS_PAYLOAD_MAX + 1];
	struct arena a = {0};
	struct store_node n;
	enum xs_err err = store_read(&a, path, true, &n);

	snprintf(buf, sizeof(buf), "%.*s", err == XSE_OK ? (int)n.vlen : 0, err == XSE_OK ? n.value : "");
	if (err != XSE_OK && err != XSE_ENOENT)
		strcpy(buf, "?");
	arena_free(&a);
	return buf;
}

static long long file_size(const char *f)
{
	struct stat st;

	return stat(f, &st) == 0 ? (long long)st.st_size : -1;
}

/* An inner group that fails is undone alone; an outer one that fails, whole. */
START_TEST(groups_undo_whole_or_in_part)
{
	struct arena a = {0};

	open_store(true);
	store_group_begin();
	ck_assert_int_eq(create("/a", owner0, "1"), XSE_OK);
	store_group_begin();
	ck_assert_int_eq(create("/a/b", owner0, "2"), XSE_OK);
	ck_assert_str_eq(value_of("/a/b"), "2");
	ck_assert_int_eq(store_group_end(XSE_EIO), XSE_EIO);
	ck_assert_str_eq(value_of("/a/b"), "");
	ck_assert_str_eq(value_of("/a"), "1");
	/* Nothing is sent while a group is open. */
	ck_assert(!store_flush());
	ck_assert_int_eq(store_group_end(XSE_OK), XSE_OK);
	ck_assert(store_flush());
	ck_assert_str_eq(value_of("/a"), "1");

	store_group_begin();
	ck_assert_int_eq(create("/x", owner0, "x"), XSE_OK);
	ck_assert_int_eq(store_update(&a, "/a", NULL, NULL, 0, "changed", 7), XSE_OK);
	ck_assert_int_eq(store_remove("/tool", NULL, NULL), XSE_OK);
	ck_assert_int_eq(store_group_end(XSE_EINVAL), XSE_EINVAL);
	ck_assert_str_eq(value_of("/x"), "");
	ck_assert_str_eq(value_of("/a"), "1");
	ck_assert_str_eq(value_of("/tool/xenstored"), "");
	ck_assert_ptr_null(store_check());
	arena_free(&a);
	store_close();
}
END_TEST

/* Open the store in a child that writes and dies without closing: what a kill leaves. */
static void killed_writer(int from, int to)
{
	pid_t p = fork();

	ck_assert_int_ge(p, 0);
	if (p == 0) {
		char path[64], v[32];

		open_store(false);
		if (!from && create("/k", owner0, "") != XSE_OK)
			_exit(2);
		for (int i = from; i < to; i++) {
			snprintf(path, sizeof(path), "/k/n%d", i);
			snprintf(v, sizeof(v), "v%d", i);
			if (create(path, owner0, v) != XSE_OK)
				_exit(2);
		}
		_exit(0);
	}
	int st;

	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int count_k(int n)
{
	char path[64], v[32];
	int k = 0;

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/k/n%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		if (strcmp(value_of(path), v) == 0)
			k++;
	}
	return k;
}

/*
 * After a kill the log is read back; a group torn at its end (any cut) is
 * dropped and the file cut there, everything before it kept; a log of
 * another checkpoint is refused.
 */
START_TEST(the_log_is_read_back_and_a_torn_group_dropped)
{
	unsigned char junk[64];
	long long whole;
	int fd;

	open_store(true);
	store_close();
	killed_writer(0, 100);
	ck_assert_int_gt(file_size(log_file), 32);
	/* Killed again: that start read the log back, and added to it. */
	killed_writer(100, 150);
	open_store(false);
	ck_assert_int_eq(count_k(150), 150);
	ck_assert_ptr_null(store_check());
	store_close();
	ck_assert_int_eq(file_size(log_file), 32); /* the close checkpointed */
	open_store(false);
	ck_assert_int_eq(count_k(150), 150);
	store_close();

	/* A torn group: the first bytes of one after the last whole one, and junk. */
	killed_writer(150, 160);
	whole = xst_file_written_end(log_file);
	ck_assert_int_gt(whole, 32);
	memset(junk, 0xab, sizeof(junk));
	fd = open(log_file, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "XSDG", 4, whole), 4);
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), whole + 4), (ssize_t)sizeof(junk));
	close(fd);
	open_store(false);
	ck_assert_int_eq(file_size(log_file), whole);
	ck_assert_int_eq(count_k(160), 160);
	ck_assert_ptr_null(store_check());
	store_close();
}
END_TEST

/* Let this process's files grow to limit bytes (RLIM_INFINITY lifts it again). */
static void file_limit(rlim_t limit)
{
	struct rlimit lim = {limit, RLIM_INFINITY};

	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

/*
 * The log cannot grow (its room is allocated ahead, and the disk gives no
 * more): the change that needs more is refused ENOSPC with nothing of it in
 * the store, and the hooks never hear of it; once it can, it goes through.
 */
START_TEST(a_full_log_refuses_with_enospc)
{
	char big[3000], path[32], refused_big[32] = "", **list;
	enum xs_err created = XSE_OK, small = XSE_OK, removed;
	long long size;
	int n, m;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	store_add_hook(&regions_hook, NULL);
	open_store(true);
	ck_assert_int_eq(create("/d", owner0, ""), XSE_OK);
	size = file_size(log_file);
	/* No assertion until the limit is lifted: Check writes its own file. */
	file_limit((rlim_t)size);
	for (n = 0; n < 100000 && created == XSE_OK; n++) {
		snprintf(path, sizeof(path), "/d/e%d", n);
		created = create(path, owner5, big);
	}
	snprintf(refused_big, sizeof(refused_big), "%s", path);
	/* Then small ones, until not even the shortest group fits. */
	for (m = 0; m < 100000 && small == XSE_OK; m++) {
		snprintf(path, sizeof(path), "/d/s%d", m);
		small = create(path, owner0, "");
	}
	removed = store_remove("/d", NULL, NULL);
	file_limit(RLIM_INFINITY);
	ck_assert_int_eq(created, XSE_ENOSPC);
	ck_assert_int_eq(small, XSE_ENOSPC);
	ck_assert_int_eq(removed, XSE_ENOSPC);
	ck_assert_int_gt(n, 1);
	ck_assert_int_eq(file_size(log_file), size);
	ck_assert_str_eq(value_of(refused_big), "");
	ck_assert_str_eq(value_of(path), "");
	ck_assert_ptr_null(store_check());
	/* The big nodes that went in, each a region of domain 5; the refused one none. */
	ck_assert_uint_eq(regions_list(5, &list), (unsigned)(n - 1));
	for (int i = 0; i < n - 1; i++)
		free(list[i]);
	free(list);

	ck_assert_int_eq(create(refused_big, owner5, big), XSE_OK);
	ck_assert_int_gt(file_size(log_file), size);
	ck_assert_uint_eq(regions_list(5, &list), (unsigned)n);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	store_close();
	store_clear_hooks();
	/* Read back as written. */
	open_store(false);
	ck_assert_str_eq(value_of(refused_big), big);
	store_close();
}
END_TEST

/* A checkpoint empties the overlay and the log; what was there is read from tdb the same. */
START_TEST(a_checkpoint_moves_the_overlay_into_tdb)
{
	struct rec_stats st;
	char path[64];

	open_store(true);
	ck_assert_int_eq(create("/c", owner0, ""), XSE_OK);
	for (int i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "/c/d%d", i);
		ck_assert_int_eq(create(path, owner0, ""), XSE_OK);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/c/d%d/n%d", i % 7, i);
		ck_assert_int_eq(create(path, owner0, "value"), XSE_OK);
	}
	ck_assert_int_eq(store_remove("/c/d3", NULL, NULL), XSE_OK);
	rec_stats(&st);
	ck_assert_uint_gt(st.overlay_records, 0);
	ck_assert_int_eq(rec_checkpoint(true), XSE_OK);
	rec_stats(&st);
	ck_assert_uint_eq(st.overlay_records, 0);
	ck_assert_uint_eq(st.log_bytes, 0);
	ck_assert_int_eq(file_size(log_file), 32);
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/c/d%d/n%d", i % 7, i);
		ck_assert_str_eq(value_of(path), i % 7 == 3 ? "" : "value");
	}
	ck_assert_ptr_null(store_check());
	store_close();
}
END_TEST

/* What is not a store, or a log of another, is refused, never opened empty. */
START_TEST(what_is_not_this_store_is_refused)
{
	struct store_options o = {.file = file, .hash_size = 1021};
	const char *why = NULL;
	FILE *f;

	open_store(true);
	ck_assert_int_eq(create("/precious", owner0, "1"), XSE_OK);
	store_close();
	f = fopen(file, "r+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs("garbage", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(store_open(&o, &why), XSE_EIO);
	ck_assert_ptr_nonnull(strstr(why, "header is damaged"));
}
END_TEST

/* Open the store with compaction on: its thresholds, and slices of slice_us. */
static void open_compacting(uint64_t min_free, unsigned min_percent, unsigned slice_us)
{
	struct store_options o = {.file = file,
				 .hash_size = 1021,
				 .compact = true,
				 .compact_min_free = min_free,
				 .compact_min_percent = min_percent,
				 .compact_slice_us = slice_us};
	const char *why = NULL;

	ck_assert_msg(store_open(&o, &why) == XSE_OK, "store_open: %s", why ? why : "?");
}

/* The background work run until it has nothing left to do now. */
static void background_done(void)
{
	for (int i = 0; store_background(); i++)
		ck_assert_int_lt(i, 10000000);
}

/* A store of 20 directories of 300 nodes, 17 of them removed, kept closed (checkpointed) in a copy. */
static void make_spacious_store(void)
{
	char path[64], saved[128];

	open_store(true);
	ck_assert_int_eq(create("/s", owner0, ""), XSE_OK);
	for (int i = 0; i < 6000; i++) {
		if (i % 300 == 0) {
			snprintf(path, sizeof(path), "/s/d%02d", i / 300);
			ck_assert_int_eq(create(path, owner0, ""), XSE_OK);
		}
		snprintf(path, sizeof(path), "/s/d%02d/n%03d", i / 300, i % 300);
		ck_assert_int_eq(create(path, owner0, "a value of forty bytes, give or take one"), XSE_OK);
	}
	for (int i = 0; i < 17; i++) {
		snprintf(path, sizeof(path), "/s/d%02d", i);
		ck_assert_int_eq(store_remove(path, NULL, NULL), XSE_OK);
	}
	store_close();
	snprintf(saved, sizeof(saved), "%s.saved", file);
	ck_assert_int_eq(xst_file_copy(file, saved), 0);
}

static void restore_spacious_store(void)
{
	char saved[128];

	snprintf(saved, sizeof(saved), "%s.saved", file);
	ck_assert_int_eq(xst_file_copy(saved, file), 0);
	unlink(log_file);
}

/* The nodes make_spacious_store left, and nothing of what it removed. */
static void spacious_store_is_whole(void)
{
	char path[64];

	for (int i = 0; i < 6000; i += 7) {
		snprintf(path, sizeof(path), "/s/d%02d/n%03d", i / 300, i % 300);
		ck_assert_str_eq(value_of(path), i < 17 * 300 ? "" : "a value of forty bytes, give or take one");
	}
	const char *fault = store_check();

	ck_assert_msg(fault == NULL, "%s", fault);
}

/*
 * The thresholds at their edges: free bytes at least compact_min_free and
 * at least compact_min_percent of the file (its recovery area aside). The
 * free space is measured as the store opens (nothing is in the log then);
 * one byte or one percent more than it is, no compaction; exactly it, one.
 */
START_TEST(compaction_starts_at_its_thresholds_edges)
{
	struct rec_space sp;
	uint64_t free_bytes, room;
	unsigned pct;
	long long before;

	make_spacious_store();
	/* Measured, never compacted (a file of more bytes than it has asks for nothing). */
	open_compacting(1, 99, 2000);
	background_done();
	rec_space(&sp);
	ck_assert(sp.measured);
	ck_assert_uint_eq(sp.file_bytes, (uint64_t)file_size(file));
	free_bytes = sp.free_bytes;
	room = sp.file_bytes - sp.recovery_bytes;
	pct = (unsigned)(free_bytes * 100 / room);
	ck_assert_uint_gt(free_bytes, 100000);
	ck_assert_uint_gt(pct, 1);
	ck_assert_uint_lt(pct, 99);
	store_close();
	before = file_size(file);
	/* One byte short, one percent short, a file smaller than asked for: nothing. */
	const struct {
		uint64_t min_free;
		unsigned pct;
	} short_of[] = {{free_bytes + 1, pct}, {free_bytes, pct + 1}, {sp.file_bytes + 1, 1}};

	for (size_t i = 0; i < sizeof(short_of) / sizeof(short_of[0]); i++) {
		uint64_t done = sp.compactions;

		open_compacting(short_of[i].min_free, short_of[i].pct, 2000);
		background_done();
		rec_space(&sp);
		ck_assert_msg(sp.compactions == done && !sp.compacting, "compacted with %llu bytes, %u%%",
			      (unsigned long long)short_of[i].min_free, short_of[i].pct);
		ck_assert_int_eq(sp.measured, i < 2);
		store_close();
		ck_assert_int_eq(file_size(file), before);
	}
	/* Exactly at both edges: compacted, the tree the same. */
	uint64_t done = sp.compactions;

	open_compacting(free_bytes, pct, 2000);
	background_done();
	rec_space(&sp);
	ck_assert_uint_eq(sp.compactions, done + 1);
	ck_assert_int_lt(file_size(file), before);
	ck_assert_uint_ge(sp.given_back, (uint64_t)(before - file_size(file)));
	spacious_store_is_whole();
	store_close();
	open_store(false);
	spacious_store_is_whole();
	store_close();
}
END_TEST

/*
 * Changes made while a compaction runs, between its slices, reach its
 * file: during the copy and while it writes the overlay after it, nodes
 * created, changed and removed, groups undone (records the overlay made
 * and then forgot, records it restored). After the switch and after a
 * reopen, the tree is what the changes left.
 */
START_TEST(changes_during_a_compaction_reach_its_file)
{
	struct rec_space sp;
	char path[64], value[32];
	struct arena a = {0};
	int calls = 0, made = 0;

	make_spacious_store();
	restore_spacious_store();
	open_compacting(1, 1, 1);
	for (bool more = true; more; calls++) {
		more = store_background();
		rec_space(&sp);
		if (!sp.compacting || calls % 4)
			continue;
		snprintf(path, sizeof(path), "/during/n%d", made);
		snprintf(value, sizeof(value), "v%d", made);
		ck_assert_int_eq(create(made ? path : "/during", owner0, made ? value : ""), XSE_OK);
		if (!made++)
			continue;
		/* Changed, then changed again in a group undone. */
		ck_assert_int_eq(store_update(&a, "/s/d19/n000", NULL, NULL, 0, value, strlen(value)), XSE_OK);
		store_group_begin();
		ck_assert_int_eq(store_update(&a, "/s/d19/n000", NULL, NULL, 0, "undone", 6), XSE_OK);
		ck_assert_int_eq(create("/undone", owner0, "x"), XSE_OK);
		ck_assert_int_eq(store_group_end(XSE_EINVAL), XSE_EINVAL);
		/* One of the nodes removed. */
		if (made % 3 == 0) {
			snprintf(path, sizeof(path), "/during/n%d", made - 2);
			ck_assert_int_eq(store_remove(path, NULL, NULL), XSE_OK);
		}
		arena_reset(&a);
	}
	rec_space(&sp);
	ck_assert_uint_eq(sp.compactions, 1);
	ck_assert_int_gt(made, 10);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 1; i < made; i++) {
			snprintf(path, sizeof(path), "/during/n%d", i);
			snprintf(value, sizeof(value), "v%d", i);
			ck_assert_str_eq(value_of(path), (i + 2) % 3 == 0 && i + 2 <= made ? "" : value);
		}
		snprintf(value, sizeof(value), "v%d", made - 1);
		ck_assert_str_eq(value_of("/s/d19/n000"), value);
		ck_assert_str_eq(value_of("/undone"), "");
		spacious_store_is_whole();
		store_close();
		if (!pass)
			open_store(false);
	}
	arena_free(&a);
	printf("compaction: %d calls of its slices, %d changes between them\n", calls, made);
}
END_TEST

Suite *xst_store_wal_suite(void)
{
	Suite *s = suite_create("store_wal");
	TCase *tc = tcase_create("records");

	/* Made and removed by the parent process: a failing test leaves nothing behind. */
	tcase_add_unchecked_fixture(tc, dir_make, dir_remove);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, groups_undo_whole_or_in_part);
	tcase_add_test(tc, the_log_is_read_back_and_a_torn_group_dropped);
	tcase_add_test(tc, a_full_log_refuses_with_enospc);
	tcase_add_test(tc, a_checkpoint_moves_the_overlay_into_tdb);
	tcase_add_test(tc, what_is_not_this_store_is_refused);
	tcase_add_test(tc, compaction_starts_at_its_thresholds_edges);
	tcase_add_test(tc, changes_during_a_compaction_reach_its_file);
	suite_add_tcase(s, tc);
	return s;
}

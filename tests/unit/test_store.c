/* The store on a real tdb file: updates find a read node again only when they must; offsets find their chunks; regions follow its hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/arena.h"
#include "daemon/dirindex.h"
#include "daemon/regions.h"
#include "daemon/store.h"
#include "daemon/rec.h"
#include "daemon/store_int.h"
#include "unit.h"

enum { CHILDREN = 300 }; /* several chunks: the directory gets an index */

static const struct xs_perm owner0[] = {{0, XS_PERM_NONE, false}};

/* A STORE_SET of path, with its length and hash as a transaction gives them. */
static struct store_change change_of(const char *path, const struct xs_perm *perms, unsigned nperms,
				     const char *value, size_t vlen)
{
	size_t len = strlen(path);

	return (struct store_change){STORE_SET, path, perms, nperms, value, vlen, false, len,
				     store_path_hash(path, len)};
}

/* store_read_node as a transaction calls it. */
static enum xs_err read_node(struct arena *a, const char *path, bool with_value, struct store_node *out)
{
	return store_read_node(a, path, strlen(path), store_path_hash(path, strlen(path)), with_value, out);
}

static void child(char *buf, size_t size, unsigned i)
{
	snprintf(buf, size, "/d/c%04u", i);
}

/* Value of every child as the model says, and a sound tree. */
static void check_all(char vals[][32])
{
	struct arena a = {0};

	for (unsigned i = 0; i < CHILDREN; i++) {
		char p[32];
		struct store_node n;

		arena_reset(&a);
		child(p, sizeof(p), i);
		if (!vals[i][0]) {
			ck_assert_int_eq(store_read(&a, p, true, &n), XSE_ENOENT);
			continue;
		}
		ck_assert_int_eq(store_read(&a, p, true, &n), XSE_OK);
		ck_assert_uint_eq(n.vlen, strlen(vals[i]));
		ck_assert_msg(memcmp(n.value, vals[i], n.vlen) == 0, "%s holds '%.*s', not '%s'", p,
			      (int)n.vlen, n.value, vals[i]);
	}
	arena_free(&a);
	ck_assert_msg(store_check() == NULL, "store_check: %s", store_check());
}

static void fill(char vals[][32])
{
	struct arena a = {0};

	ck_assert_int_eq(store_create(&a, "/d", owner0, 1, "", 0), XSE_OK);
	for (unsigned i = 0; i < CHILDREN; i++) {
		char p[32];

		arena_reset(&a);
		child(p, sizeof(p), i);
		snprintf(vals[i], 32, "v%u", i);
		ck_assert_int_eq(store_create(&a, p, owner0, 1, vals[i], strlen(vals[i])), XSE_OK);
	}
	arena_free(&a);
}

/* What happens between a read and the update that is handed the read's node. */
typedef void (*between_fn)(struct arena *a, unsigned i, char vals[][32]);

/*
 * For every step-th child i+1: read it, run between, then update it with
 * the node read. The update must write where the node is now, not where
 * the read found it.
 */
static void stale_updates(unsigned step, between_fn between, const char *tag)
{
	static char vals[CHILDREN][32];
	struct arena a = {0};
	struct store_node n;
	char p[32];

	xst_store_open();
	fill(vals);
	for (unsigned i = 0; i + 1 < CHILDREN; i += step) {
		arena_reset(&a);
		child(p, sizeof(p), i + 1);
		ck_assert_int_eq(store_read(&a, p, false, &n), XSE_OK);
		ck_assert_ptr_nonnull(n.where);
		between(&a, i, vals);
		snprintf(vals[i + 1], 32, "%s-%u", tag, i + 1);
		ck_assert_int_eq(store_update(&a, p, &n, NULL, 0, vals[i + 1], strlen(vals[i + 1])),
				 XSE_OK);
	}
	arena_free(&a);
	check_all(vals);
	xst_store_close();
}

/* The sibling before it grows: every entry after that one moves. */
static void grow_sibling(struct arena *a, unsigned i, char vals[][32])
{
	char q[32];

	child(q, sizeof(q), i);
	snprintf(vals[i], 32, "longer-value-%u-xxxxxxxxxx", i);
	ck_assert_int_eq(store_update(a, q, NULL, NULL, 0, vals[i], strlen(vals[i])), XSE_OK);
}

/* A sibling created (appended, perhaps to the same chunk). */
static void create_sibling(struct arena *a, unsigned i, char vals[][32])
{
	char q[32];

	(void)vals;
	snprintf(q, sizeof(q), "/d/new%04u", i);
	ck_assert_int_eq(store_create(a, q, owner0, 1, "n", 1), XSE_OK);
}

/* The sibling before it removed: the entries after it move back. */
static void remove_sibling(struct arena *a, unsigned i, char vals[][32])
{
	char q[32];

	(void)a;
	child(q, sizeof(q), i);
	ck_assert_int_eq(store_remove(q, NULL, NULL), XSE_OK);
	vals[i][0] = '\0'; /* gone: check_all skips it */
}

START_TEST(update_after_a_write_finds_the_node_again)
{
	stale_updates(7, grow_sibling, "grown");
	stale_updates(11, create_sibling, "created");
	stale_updates(13, remove_sibling, "removed");
}
END_TEST

/* With nothing written in between, the read's place is used, values and permissions alike. */
START_TEST(update_right_after_its_read)
{
	static char vals[CHILDREN][32];
	static const struct xs_perm two[] = {{0, XS_PERM_NONE, false}, {5, XS_PERM_READ, false}};
	struct arena a = {0};
	struct store_node n;
	char p[32];

	xst_store_open();
	fill(vals);
	for (unsigned i = 0; i < CHILDREN; i += 3) {
		arena_reset(&a);
		child(p, sizeof(p), i);
		ck_assert_int_eq(store_read(&a, p, false, &n), XSE_OK);
		/* Sizes change both ways: entries after it move. */
		snprintf(vals[i], 32, i % 2 ? "%u" : "a-longer-value-%u", i);
		ck_assert_int_eq(store_update(&a, p, &n, NULL, 0, vals[i], strlen(vals[i])), XSE_OK);
		arena_reset(&a);
		ck_assert_int_eq(store_read(&a, p, false, &n), XSE_OK);
		ck_assert_int_eq(store_update(&a, p, &n, two, 2, NULL, 0), XSE_OK);
		arena_reset(&a);
		ck_assert_int_eq(store_read(&a, p, true, &n), XSE_OK);
		ck_assert_uint_eq(n.nperms, 2);
		ck_assert_uint_eq(n.perms[1].id, 5);
	}
	arena_free(&a);
	check_all(vals);
	xst_store_close();
}
END_TEST

static int by_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The region roots of domid, sorted, joined by spaces. */
static const char *roots_of(uint32_t domid)
{
	static char out[256];
	char **list;
	size_t n = regions_list(domid, &list);

	out[0] = '\0';
	if (n)
		qsort(list, n, sizeof(*list), by_name);
	for (size_t i = 0; i < n; i++) {
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "", list[i]);
		free(list[i]);
	}
	free(list);
	return out;
}

static void set_perms(const char *path, const struct xs_perm *perms, unsigned n)
{
	struct arena a = {0};

	ck_assert_int_eq(store_update(&a, path, NULL, perms, n, NULL, 0), XSE_OK);
	arena_free(&a);
}

/* The hook test's directory, made and removed by the parent process: a failing test leaves none. */
static char hook_dir[64];

static void hook_dir_make(void)
{
	snprintf(hook_dir, sizeof(hook_dir), "/tmp/xst-hook.XXXXXX");
	if (!mkdtemp(hook_dir))
		hook_dir[0] = '\0';
}

static void hook_dir_remove(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", hook_dir);
	if (hook_dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", hook_dir);
}

static void open_at(const char *file, bool fresh)
{
	struct store_options o = {.file = file, .hash_size = 1021, .fresh = fresh};
	const char *why = NULL;

	ck_assert_msg(store_open(&o, &why) == XSE_OK, "store_open: %s", why ? why : "?");
}

/* What the store reports through its hook keeps the regions index, and opening rebuilds it. */
START_TEST(regions_follow_the_store)
{
	static const struct xs_perm dom5[] = {{5, XS_PERM_NONE, false}};
	static const struct xs_perm read5[] = {{0, XS_PERM_NONE, false}, {5, XS_PERM_READ, false}};
	struct arena a = {0};
	char file[96];

	ck_assert(hook_dir[0]);
	snprintf(file, sizeof(file), "%s/store.tdb", hook_dir);
	store_add_hook(&regions_hook, NULL);
	open_at(file, true);
	ck_assert_str_eq(roots_of(0), "/");
	ck_assert_int_eq(store_create(&a, "/d", owner0, 1, "", 0), XSE_OK);
	ck_assert_int_eq(store_create(&a, "/d/a", dom5, 1, "", 0), XSE_OK);
	ck_assert_int_eq(store_create(&a, "/d/a/b", dom5, 1, "", 0), XSE_OK);
	ck_assert_int_eq(store_create(&a, "/d/x", read5, 2, "", 0), XSE_OK);
	ck_assert_str_eq(roots_of(5), "/d/a /d/x");
	/* /d now names 5: it starts a region; its children's stay (stale entries are allowed). */
	set_perms("/d", read5, 2);
	ck_assert_str_eq(roots_of(5), "/d /d/a /d/x");
	/* No longer: its children naming 5 start regions again. */
	set_perms("/d", owner0, 1);
	ck_assert_str_eq(roots_of(5), "/d/a /d/x");
	ck_assert_int_eq(store_remove("/d/x", NULL, NULL), XSE_OK);
	ck_assert_str_eq(roots_of(5), "/d/a");
	set_perms("/d/a", owner0, 1);
	ck_assert_str_eq(roots_of(5), "/d/a/b");
	ck_assert(regions_complete());
	arena_free(&a);

	/* Reopened: rebuilt from the tree alone. */
	store_close();
	ck_assert_str_eq(roots_of(5), "");
	open_at(file, false);
	ck_assert_str_eq(roots_of(5), "/d/a/b");
	ck_assert_str_eq(roots_of(0), "/");
	ck_assert_int_eq(store_remove("/d", NULL, NULL), XSE_OK);
	ck_assert_str_eq(roots_of(5), "");
	store_close();
	store_clear_hooks();
}
END_TEST

/*
 * A commit's changes to chunk mates are applied to one copy of their chunk
 * (store_update_run): runs that stop where an entry would outgrow the
 * chunk, where a node has a record of its own, at a removal, a creation,
 * another chunk or directory; values and permissions alike, read back and
 * after a reopen, with the permission changes told to the hook (regions).
 */
START_TEST(commit_runs_of_chunk_mates)
{
	static const struct xs_perm dom5[] = {{5, XS_PERM_NONE, false}};
	static char vals[CHILDREN][32];
	static char big[1500];
	static struct store_change ch[CHILDREN + 8];
	struct arena a = {0};
	struct store_node n;
	char file[96], paths[CHILDREN + 8][32];
	bool touched;
	size_t k = 0;

	ck_assert(hook_dir[0]);
	snprintf(file, sizeof(file), "%s/runs.tdb", hook_dir);
	store_add_hook(&regions_hook, NULL);
	open_at(file, true);
	fill(vals);
	memset(big, 'B', sizeof(big) - 1);
	/* Every child in order, sizes up and down; some grow past their chunk, 57 past any entry. */
	for (unsigned i = 0; i < CHILDREN; i++, k++) {
		child(paths[k], sizeof(paths[k]), i);
		ch[k] = change_of(paths[k], NULL, 0, NULL, 0);
		if (i == 57) {
			ch[k].value = big;
			ch[k].vlen = sizeof(big) - 1;
			snprintf(vals[i], 32, "%s", "(big)");
			continue;
		}
		snprintf(vals[i], 32, i % 3 ? "r%u" : "a-longer-value-%u", i);
		ch[k].value = vals[i];
		ch[k].vlen = strlen(vals[i]);
		if (i % 5 == 1) {
			ch[k].perms = dom5;
			ch[k].nperms = 1;
		}
		if (i == 100)
			ch[k].kind = STORE_REMOVE;
	}
	/* 200 as a crash in own_record leaves it: a record of its own beside its entry, the record winning. */
	struct store_node stale = {.perms = (struct xs_perm *)owner0, .nperms = 1, .value = "stale", .vlen = 5};

	store_group_begin();
	ck_assert_int_eq(store_group_end(store_record_put(&a, "/d/c0200", &stale)), XSE_OK);
	ck_assert_int_eq(store_read(&a, "/d/c0200", true, &n), XSE_OK);
	ck_assert(n.vlen == 5 && memcmp(n.value, "stale", 5) == 0);
	/* A creation and a change of permissions alone, mid-list. */
	snprintf(paths[k], sizeof(paths[k]), "/d/zz-new");
	ch[k] = change_of(paths[k], owner0, 1, "new", 3);
	k++;
	child(paths[k], sizeof(paths[k]), 3);
	ch[k] = change_of(paths[k], dom5, 1, NULL, 0);
	k++;
	child(paths[k], sizeof(paths[k]), 4);
	ch[k] = change_of(paths[k], dom5, 1, NULL, 0);
	k++;
	ck_assert_int_eq(store_commit(ch, k, &touched), XSE_OK);
	vals[100][0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < CHILDREN; i++) {
			char p[32];

			arena_reset(&a);
			child(p, sizeof(p), i);
			if (i == 100) {
				ck_assert_int_eq(store_read(&a, p, true, &n), XSE_ENOENT);
				continue;
			}
			ck_assert_int_eq(store_read(&a, p, true, &n), XSE_OK);
			if (i == 57) {
				ck_assert_uint_eq(n.vlen, sizeof(big) - 1);
				ck_assert(memcmp(n.value, big, n.vlen) == 0);
			} else {
				ck_assert_msg(n.vlen == strlen(vals[i]) && memcmp(n.value, vals[i], n.vlen) == 0,
					      "%s holds '%.*s', not '%s'", p, (int)n.vlen, n.value, vals[i]);
			}
			ck_assert_uint_eq(n.nperms, 1);
			ck_assert_uint_eq(n.perms[0].id, i % 5 == 1 || i == 3 || i == 4 ? 5 : 0);
		}
		arena_reset(&a);
		ck_assert_int_eq(store_read(&a, "/d/zz-new", true, &n), XSE_OK);
		ck_assert_uint_eq(n.vlen, 3);
		/* Sound but for what the crash left (the record still wins; the removal below clears both). */
		const char *fault = store_check();

		ck_assert_msg(fault && strcmp(fault, "/d/c0200: both in a chunk and in a record") == 0,
			      "store_check: %s", fault ? fault : "sound");
		/* Regions: every child naming 5 starts one (the hook heard of each change). */
		const char *r = roots_of(5);

		char **list;
		size_t nroots = regions_list(5, &list);

		ck_assert_msg(strstr(r, "/d/c0001 /d/c0003 /d/c0004 /d/c0006") == r, "regions of 5: %s", r);
		for (size_t i = 0; i < nroots; i++)
			free(list[i]);
		free(list);
		ck_assert_uint_eq(nroots, CHILDREN / 5 + 2);
		if (!pass) {
			store_close();
			open_at(file, false);
		}
	}
	/* A second commit over the rewritten chunks: the grown ones shrink back. */
	for (unsigned i = 0; i < CHILDREN; i++) {
		if (i == 100)
			continue;
		snprintf(vals[i], 32, "s%u", i);
		ch[i] = change_of(paths[i], NULL, 0, vals[i], strlen(vals[i]));
	}
	ch[100] = ch[99];
	ck_assert_int_eq(store_commit(ch, CHILDREN, &touched), XSE_OK);
	vals[100][0] = '\0';
	ck_assert_int_eq(store_remove("/d/c0200", NULL, NULL), XSE_OK);
	vals[200][0] = '\0';
	arena_free(&a);
	check_all(vals);
	store_close();
	store_clear_hooks();
}
END_TEST

/*
 * A read that tdb answered "not here" is remembered (rec.c), never past a
 * change of tdb: not past the node's creation and checkpoint, not past
 * opening another file that holds it.
 */
START_TEST(misses_do_not_outlive_the_file)
{
	static char big[1500];
	struct arena a = {0};
	struct store_node n;
	char fa[96], fb[96];

	ck_assert(hook_dir[0]);
	snprintf(fa, sizeof(fa), "%s/miss-a.tdb", hook_dir);
	snprintf(fb, sizeof(fb), "%s/miss-b.tdb", hook_dir);
	memset(big, 'b', sizeof(big) - 1);
	/* B holds /k (a record of its own: big) in tdb itself once closed. */
	open_at(fb, true);
	ck_assert_int_eq(store_create(&a, "/k", owner0, 1, big, sizeof(big) - 1), XSE_OK);
	store_close();
	/* A: /k and /m missed in tdb, twice each (the second from memory); then /m made and checkpointed. */
	open_at(fa, true);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(store_read(&a, "/k", true, &n), XSE_ENOENT);
		ck_assert_int_eq(store_read(&a, "/m", true, &n), XSE_ENOENT);
	}
	ck_assert_int_eq(store_create(&a, "/m", owner0, 1, big, sizeof(big) - 1), XSE_OK);
	ck_assert_int_eq(rec_checkpoint(true), XSE_OK);
	arena_reset(&a);
	ck_assert_int_eq(store_read(&a, "/m", true, &n), XSE_OK);
	ck_assert_uint_eq(n.vlen, sizeof(big) - 1);
	store_close();
	open_at(fb, false);
	arena_reset(&a);
	ck_assert_int_eq(store_read(&a, "/k", true, &n), XSE_OK);
	ck_assert_uint_eq(n.vlen, sizeof(big) - 1);
	store_close();
	arena_free(&a);
}
END_TEST

enum { WALK_MAX = 4096 };

/* The chunks of a directory as store_chunks walks them. */
struct chunk_walk {
	uint32_t id[WALK_MAX];
	size_t start[WALK_MAX], len[WALK_MAX];
	size_t n, total;
};

static bool walk_chunk(void *ctx, uint32_t id, const char *names, size_t len)
{
	struct chunk_walk *w = ctx;

	(void)names;
	ck_assert_uint_lt(w->n, WALK_MAX);
	w->id[w->n] = id;
	w->start[w->n] = w->total;
	w->len[w->n++] = len;
	w->total += len;
	return true;
}

/*
 * /d's index followed every change (its chunk list known and exact, not
 * built again), and store_chunk_at finds each chunk at its first, second
 * and last byte; store_child_chunk finds a child's.
 */
static void expect_offsets_found(void)
{
	static struct chunk_walk w;
	struct dirindex *x = dirindex_get("/d");
	uint32_t id;
	size_t off;

	w.n = w.total = 0;
	ck_assert_int_eq(store_chunks("/d", 0, walk_chunk, &w), XSE_OK);
	ck_assert_uint_gt(w.n, 4);
	ck_assert_ptr_nonnull(x);
	ck_assert(dirindex_sized(x));
	ck_assert_uint_eq(dirindex_bytes_total(x), w.total);
	for (size_t i = 0; i < w.n; i++) {
		size_t at[3] = {w.start[i], w.start[i] + 1, w.start[i] + w.len[i] - 1};

		ck_assert_uint_eq(dirindex_chunk_at(x, at[2], &off), w.id[i]);
		for (unsigned k = 0; k < 3; k++) {
			ck_assert_int_eq(store_chunk_at("/d", at[k], &id, &off), XSE_OK);
			ck_assert_msg(id == w.id[i] && off == w.start[i],
				      "offset %zu: chunk %u at %zu, not %u at %zu", at[k], id, off, w.id[i],
				      w.start[i]);
		}
	}
	ck_assert_int_eq(store_chunk_at("/d", w.total, &id, &off), XSE_OK);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(store_chunk_at("/d", w.total + 1000, &id, &off), XSE_OK);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(store_child_chunk("/d", "none", &id, &off), XSE_ENOENT);
	ck_assert_ptr_eq(dirindex_get("/d"), x);
}

/* The chunk of a child, as store_child_chunk says, holds it. */
static void expect_child_found(const char *name)
{
	static struct chunk_walk w;
	uint32_t id;
	size_t off;

	w.n = w.total = 0;
	ck_assert_int_eq(store_chunks("/d", 0, walk_chunk, &w), XSE_OK);
	ck_assert_int_eq(store_child_chunk("/d", name, &id, &off), XSE_OK);
	for (size_t i = 0; i < w.n; i++)
		if (w.id[i] == id) {
			ck_assert_uint_eq(off, w.start[i]);
			return;
		}
	ck_abort_msg("%s: chunk %u is not one of /d's", name, id);
}

/*
 * The chunk list of a directory's index through everything that changes
 * chunks: appends (chunks outgrowing their class move to a new id), names
 * removed anywhere (whole chunks emptied among them), children given
 * records of their own by a long value, a child with children removed.
 */
START_TEST(offsets_find_their_chunks_through_every_change)
{
	struct arena a = {0};
	struct store_node n;
	unsigned seed = 7;
	char p[64], v[1200];
	uint32_t id;
	size_t off;

	xst_store_open();
	memset(v, 'v', sizeof(v));
	ck_assert_int_eq(store_create(&a, "/d", owner0, 1, "", 0), XSE_OK);
	for (unsigned i = 0; i < 600; i++) {
		arena_reset(&a);
		snprintf(p, sizeof(p), "/d/c%04u%.*s", i, (int)(i * 7 % 23), "xxxxxxxxxxxxxxxxxxxxxxx");
		ck_assert_int_eq(store_create(&a, p, owner0, 1, "", 0), XSE_OK);
	}
	/* The first use builds the index; from then on it follows. */
	ck_assert_int_eq(store_chunk_at("/d", 1, &id, &off), XSE_OK);
	expect_offsets_found();
	for (unsigned round = 0; round < 6; round++) {
		for (unsigned k = 0; k < 120; k++) {
			unsigned i = (unsigned)rand_r(&seed) % 600;

			arena_reset(&a);
			snprintf(p, sizeof(p), "/d/c%04u%.*s", i, (int)(i * 7 % 23), "xxxxxxxxxxxxxxxxxxxxxxx");
			switch (rand_r(&seed) % 4) {
			case 0:
				ck_assert_int_eq(store_remove(p, NULL, NULL), XSE_OK);
				break;
			case 1:
				if (store_read(&a, p, false, &n) == XSE_ENOENT)
					ck_assert_int_eq(store_create(&a, p, owner0, 1, "", 0), XSE_OK);
				break;
			case 2:
				/* A value too long for a chunk: a record of its own, a stand-in in the chunk. */
				if (store_read(&a, p, false, &n) == XSE_OK)
					ck_assert_int_eq(store_update(&a, p, NULL, NULL, 0, v, 1100 + i % 50), XSE_OK);
				break;
			default:
				snprintf(p, sizeof(p), "/d/n%u-%u", round, k);
				ck_assert_int_eq(store_create(&a, p, owner0, 1, "n", 1), XSE_OK);
			}
		}
		/* A block of consecutive children: whole chunks go. */
		for (unsigned i = 100 * round; i < 100 * round + 60; i++) {
			snprintf(p, sizeof(p), "/d/c%04u%.*s", i, (int)(i * 7 % 23), "xxxxxxxxxxxxxxxxxxxxxxx");
			ck_assert_int_eq(store_remove(p, NULL, NULL), XSE_OK);
		}
		/* A child with children of its own goes. */
		arena_reset(&a);
		snprintf(p, sizeof(p), "/d/sub%u", round);
		ck_assert_int_eq(store_create(&a, p, owner0, 1, "", 0), XSE_OK);
		strcat(p, "/a");
		ck_assert_int_eq(store_create(&a, p, owner0, 1, "", 0), XSE_OK);
		strcat(p, "/b");
		ck_assert_int_eq(store_create(&a, p, owner0, 1, "", 0), XSE_OK);
		if (round % 2)
			ck_assert_int_eq(store_remove(p, NULL, NULL), XSE_OK);
		p[strlen("/d/sub") + 1] = '\0';
		ck_assert_int_eq(store_remove(p, NULL, NULL), XSE_OK);
		expect_offsets_found();
	}
	expect_child_found("n5-3");
	arena_free(&a);
	ck_assert_msg(store_check() == NULL, "store_check: %s", store_check());
	xst_store_close();
}
END_TEST

/*
 * A clean-up's scrub of a directory leaves its children to be looked at
 * later (regions_defer_children): the directory stays a root of the
 * domain it no longer names; regions_descend then makes the children
 * naming it roots, a chunk at a time, and drops the directory.
 */
START_TEST(regions_descend_a_chunk_at_a_time)
{
	static const struct xs_perm read5[] = {{0, XS_PERM_NONE, false}, {5, XS_PERM_READ, false}};
	struct arena a = {0};
	char file[96], p[32];
	uint32_t chunk = 0;
	unsigned steps = 0;

	ck_assert(hook_dir[0]);
	snprintf(file, sizeof(file), "%s/descend.tdb", hook_dir);
	store_add_hook(&regions_hook, NULL);
	open_at(file, true);
	ck_assert_int_eq(store_create(&a, "/d", read5, 2, "", 0), XSE_OK);
	for (unsigned i = 0; i < CHILDREN; i++) {
		arena_reset(&a);
		snprintf(p, sizeof(p), "/d/c%04u", i);
		ck_assert_int_eq(store_create(&a, p, i % 2 ? owner0 : read5, i % 2 ? 1 : 2, "", 0), XSE_OK);
	}
	ck_assert_str_eq(roots_of(5), "/d");
	regions_defer_children(true);
	set_perms("/d", owner0, 1);
	regions_defer_children(false);
	ck_assert_str_eq(roots_of(5), "/d");
	do {
		ck_assert_int_eq(regions_descend(5, "/d", &chunk), XSE_OK);
		steps++;
	} while (chunk);
	ck_assert_uint_gt(steps, 1);
	ck_assert_uint_eq(regions_count(5), CHILDREN / 2);
	ck_assert(regions_is_root(5, "/d/c0000") && !regions_is_root(5, "/d/c0001") && !regions_is_root(5, "/d"));
	/* A leaf that stops naming it is no root at once, deferred or not. */
	regions_defer_children(true);
	set_perms("/d/c0000", owner0, 1);
	regions_defer_children(false);
	ck_assert(!regions_is_root(5, "/d/c0000"));
	ck_assert_int_eq(regions_descend(5, "/nowhere", &chunk), XSE_ENOENT);
	store_close();
	store_clear_hooks();
	arena_free(&a);
}
END_TEST

struct removed_count {
	unsigned n;
};

static void count_removed(void *ctx, const char *path, const struct store_node *n)
{
	struct removed_count *c = ctx;

	(void)path;
	(void)n;
	c->n++;
}

static bool collect_name(void *ctx, const char *name)
{
	char *out = ctx;

	snprintf(out + strlen(out), 4096 - strlen(out), "%s%s", out[0] ? " " : "", name);
	return true;
}

/*
 * A removal in parts (a clean-up's): each call a sound tree, about max
 * nodes gone, the root last; the names sharing a node's chunk; notes kept
 * beside the tree across a reopen, deleted with no bytes.
 */
START_TEST(removal_in_parts_chunk_mates_and_notes)
{
	static char mates[4096];
	struct removed_count removed = {0};
	struct arena a = {0}, scratch = {0};
	char file[96], p[64];
	unsigned calls = 0;
	bool done = false;
	void *bytes;
	size_t len;

	ck_assert(hook_dir[0]);
	snprintf(file, sizeof(file), "%s/parts.tdb", hook_dir);
	open_at(file, true);
	ck_assert_int_eq(store_create(&a, "/r", owner0, 1, "", 0), XSE_OK);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "/r/d%u", i);
		ck_assert_int_eq(store_create(&a, p, owner0, 1, "", 0), XSE_OK);
		for (unsigned k = 0; k < 50; k++) {
			arena_reset(&a);
			snprintf(p, sizeof(p), "/r/d%u/n%02u", i, k);
			ck_assert_int_eq(store_create(&a, p, owner0, 1, "v", 1), XSE_OK);
		}
	}
	/* The leaves of d3 share one chunk; d3 and its siblings another, of /r. */
	ck_assert_int_eq(store_chunk_mates(&scratch, "/r/d3/n07", collect_name, mates), XSE_OK);
	ck_assert_uint_eq(strlen(mates), 50 * 4 - 1);
	mates[0] = '\0';
	ck_assert_int_eq(store_chunk_mates(&scratch, "/r/d3", collect_name, mates), XSE_OK);
	ck_assert_str_eq(mates, "d0 d1 d2 d3 d4 d5 d6 d7 d8 d9");
	mates[0] = '\0';
	ck_assert_int_eq(store_chunk_mates(&scratch, "/r/absent", collect_name, mates), XSE_OK);
	ck_assert_str_eq(mates, "");
	while (!done) {
		ck_assert_int_eq(store_remove_some(&scratch, "/r", 20, count_removed, &removed, &done), XSE_OK);
		calls++;
		ck_assert_msg(store_check() == NULL, "after call %u: %s", calls, store_check());
		ck_assert_int_eq(store_read(&a, "/r", false, &(struct store_node){0}), done ? XSE_ENOENT : XSE_OK);
	}
	ck_assert_uint_eq(removed.n, 511);
	ck_assert_uint_ge(calls, 10);
	/* Absent: done at once; the root is refused. */
	ck_assert_int_eq(store_remove_some(&scratch, "/r", 20, NULL, NULL, &done), XSE_OK);
	ck_assert(done);
	ck_assert_int_eq(store_remove_some(&scratch, "/", 20, NULL, NULL, &done), XSE_EINVAL);

	ck_assert_int_eq(store_note_get(&a, "test", &bytes, &len), XSE_ENOENT);
	ck_assert_int_eq(store_note_put("test", "abc", 3), XSE_OK);
	ck_assert_msg(store_check() == NULL, "a note is no node: %s", store_check());
	store_close();
	open_at(file, false);
	ck_assert_int_eq(store_note_get(&a, "test", &bytes, &len), XSE_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(bytes, "abc", 3) == 0);
	ck_assert_int_eq(store_note_put("test", NULL, 0), XSE_OK);
	ck_assert_int_eq(store_note_get(&a, "test", &bytes, &len), XSE_ENOENT);
	store_close();
	arena_free(&a);
	arena_free(&scratch);
}
END_TEST

/* The same node from store_read_node (which may answer from its cache) as from store_read (which never does). */
static void same_through_both(const char *p)
{
	struct arena a = {0}, b = {0};
	struct store_node x, y;
	enum xs_err ex = read_node(&a, p, true, &x), ey = store_read(&b, p, true, &y);

	ck_assert_msg(ex == ey, "%s: %s from store_read_node, %s from store_read", p, xs_err_name(ex),
		      xs_err_name(ey));
	if (ex == XSE_OK) {
		ck_assert_msg(x.gen == y.gen, "%s: generation %llu, not %llu", p, (unsigned long long)x.gen,
			      (unsigned long long)y.gen);
		ck_assert_msg(x.vlen == y.vlen && memcmp(x.value, y.value, x.vlen) == 0, "%s: '%.*s', not '%.*s'", p,
			      (int)x.vlen, x.value, (int)y.vlen, y.value);
		ck_assert_uint_eq(x.nperms, y.nperms);
		for (unsigned i = 0; i < x.nperms; i++)
			ck_assert(x.perms[i].id == y.perms[i].id && x.perms[i].access == y.perms[i].access &&
				  x.perms[i].ignored == y.perms[i].ignored);
		ck_assert_int_eq(x.in_chunk, y.in_chunk);
	}
	arena_free(&a);
	arena_free(&b);
}

/*
 * Random changes to a directory's children, through commit runs (values,
 * permissions, removals, creations), single updates and records left
 * beside entries as a crash leaves them; after each, every child reads the
 * same through the node cache as without it.
 */
START_TEST(node_cache_agrees_with_the_store)
{
	enum { KIDS = 40, STEPS = 1500 };
	static const struct xs_perm one_a[] = {{0, XS_PERM_NONE, false}};
	static const struct xs_perm one_b[] = {{9, XS_PERM_READ, false}};
	static const struct xs_perm two[] = {{0, XS_PERM_READ, false}, {7, XS_PERM_WRITE, true}};
	static const struct xs_perm three[] = {{3, XS_PERM_NONE, false}, {4, XS_PERM_READ, false}, {5, XS_PERM_WRITE, false}};
	static char vals[KIDS][80];
	char paths[KIDS][32];
	bool exists[KIDS];
	struct arena a = {0};
	unsigned seed = 12345;

	xst_store_open();
	ck_assert_int_eq(store_create(&a, "/d", owner0, 1, "", 0), XSE_OK);
	for (unsigned i = 0; i < KIDS; i++) {
		arena_reset(&a);
		child(paths[i], sizeof(paths[i]), i);
		ck_assert_int_eq(store_create(&a, paths[i], owner0, 1, "v", 1), XSE_OK);
		exists[i] = true;
	}
	for (unsigned step = 0; step < STEPS; step++) {
		unsigned op = (seed = seed * 1103515245u + 12345u) >> 16;
		unsigned i = (op >> 4) % KIDS;

		arena_reset(&a);
		if (op % 4 == 0) {
			/* A commit of a run of neighbours: new values (some too big to cache), some permissions. */
			struct store_change ch[6];
			unsigned k = 1 + (op >> 10) % 6, n = 0;
			bool touched;

			for (unsigned j = 0; j < k && i + j < KIDS; j++) {
				unsigned v = (seed = seed * 1103515245u + 12345u) >> 16, x = i + j;
				size_t len = v % 7 == 0 ? 70 : v % 30;

				memset(vals[x], 'a' + (char)(v % 26), len);
				ch[n] = change_of(paths[x], NULL, 0, vals[x], len);
				if (v % 3 == 0 || !exists[x]) {
					/* A creation names its permissions; some lists are too long to cache. */
					static const struct xs_perm *const lists[] = {one_a, one_b, two, three};
					static const unsigned lens[] = {1, 1, 2, 3};

					ch[n].perms = lists[(v >> 3) % 4];
					ch[n].nperms = lens[(v >> 3) % 4];
				}
				if (v % 11 == 0 && exists[x])
					ch[n].kind = STORE_REMOVE;
				exists[x] = ch[n].kind == STORE_SET;
				n++;
			}
			ck_assert_int_eq(store_commit(ch, n, &touched), XSE_OK);
		} else if (op % 4 == 1 && exists[i]) {
			/* A single update, as a write outside a transaction. */
			struct store_node cur;

			ck_assert_int_eq(store_read(&a, paths[i], true, &cur), XSE_OK);
			ck_assert_int_eq(store_update(&a, paths[i], &cur, NULL, 0, "single", 6), XSE_OK);
		} else if (op % 16 == 2 && exists[i]) {
			/* A record of its own beside its entry, as a crash in own_record leaves it: the record wins. */
			struct store_node stale = {.perms = (struct xs_perm *)owner0, .nperms = 1, .value = "rec", .vlen = 3};

			store_group_begin();
			ck_assert_int_eq(store_group_end(store_record_put(&a, paths[i], &stale)), XSE_OK);
		} else {
			/* Reads only: they fill the cache. */
			struct store_node n;

			(void)read_node(&a, paths[i], true, &n);
		}
		for (unsigned j = 0; j < KIDS; j++)
			same_through_both(paths[j]);
	}
	arena_free(&a);
	xst_store_close();
}
END_TEST

/*
 * A commit run finds a node's entry where its cache slot says it starts,
 * unless a change before it in the same chunk moved it: here the first
 * node grows, and the bytes now where the second's entry started spell an
 * entry of the second's name (inside the first's value). The second's
 * change must find its real entry.
 */
START_TEST(commit_runs_do_not_trust_moved_places)
{
	/* "/d/a" is the chunk's first entry: length, "a\0", flags, generation (one byte), one permission (3 bytes), "x": 9 bytes. */
	static const char fake_entry[] = "\x10k1\0\0\x05\x01\x00\x00" "AAAAAAAA";
	char grown[64];
	struct store_change ch[2];
	struct arena a = {0};
	struct store_node n;
	bool touched;

	xst_store_open();
	ck_assert_int_eq(store_create(&a, "/d", owner0, 1, "", 0), XSE_OK);
	ck_assert_int_eq(store_create(&a, "/d/a", owner0, 1, "x", 1), XSE_OK);
	ck_assert_int_eq(store_create(&a, "/d/k1", owner0, 1, "12345678", 8), XSE_OK);
	ck_assert_uint_lt(store_generation(), 120);
	/* Both read: their slots know where their entries start. */
	ck_assert_int_eq(read_node(&a, "/d/a", true, &n), XSE_OK);
	ck_assert_int_eq(read_node(&a, "/d/k1", true, &n), XSE_OK);
	ck_assert_int_eq(read_node(&a, "/d/a", true, &n), XSE_OK);
	ck_assert_int_eq(read_node(&a, "/d/k1", true, &n), XSE_OK);
	/* a's new value starts at byte 8 of the chunk: "P", then the look-alike at byte 9, where k1 started. */
	grown[0] = 'P';
	memcpy(grown + 1, fake_entry, sizeof(fake_entry) - 1);
	ch[0] = change_of("/d/a", NULL, 0, grown, sizeof(fake_entry));
	ch[1] = change_of("/d/k1", NULL, 0, "87654321", 8);
	ck_assert_int_eq(store_commit(ch, 2, &touched), XSE_OK);
	arena_reset(&a);
	ck_assert_int_eq(store_read(&a, "/d/a", true, &n), XSE_OK);
	ck_assert_uint_eq(n.vlen, sizeof(fake_entry));
	ck_assert_mem_eq(n.value, grown, sizeof(fake_entry));
	ck_assert_int_eq(store_read(&a, "/d/k1", true, &n), XSE_OK);
	ck_assert_uint_eq(n.vlen, 8);
	ck_assert_mem_eq(n.value, "87654321", 8);
	same_through_both("/d/a");
	same_through_both("/d/k1");
	arena_free(&a);
	xst_store_close();
}
END_TEST

Suite *xst_store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("where");
	TCase *hook = tcase_create("hook");

	tcase_add_unchecked_fixture(tc, xst_tmp_make, xst_tmp_remove);
	tcase_add_test(tc, update_after_a_write_finds_the_node_again);
	tcase_add_test(tc, update_right_after_its_read);
	tcase_add_test(tc, offsets_find_their_chunks_through_every_change);
	tcase_add_test(tc, node_cache_agrees_with_the_store);
	tcase_add_test(tc, commit_runs_do_not_trust_moved_places);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(hook, hook_dir_make, hook_dir_remove);
	tcase_add_test(hook, regions_follow_the_store);
	tcase_add_test(hook, removal_in_parts_chunk_mates_and_notes);
	tcase_add_test(hook, regions_descend_a_chunk_at_a_time);
	tcase_add_test(hook, commit_runs_of_chunk_mates);
	tcase_add_test(hook, misses_do_not_outlive_the_file);
	suite_add_tcase(s, hook);
	return s;
}

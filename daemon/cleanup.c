/* Clean-up after gone domains: their nodes and permission entries removed in slices between other clients' requests, then @releaseDomain. */
#include "cleanup.h"

#include <event2/event.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../proto/path.h"
#include "clock.h"
#include "arena.h"
#include "config.h"
#include "keep.h"
#include "log.h"
#include "quota.h"
#include "regions.h"
#include "session.h"
#include "store.h"
#include "txn.h"
#include "watch.h"

/*
 * What a gone domain leaves behind: nodes it owns go (with their subtrees,
 * or pass to the privileged domain with --keep-orphans) and permission
 * entries naming it are removed everywhere, so that a later domain with the
 * same id inherits nothing. The nodes are found through its regions
 * (regions.h): a root of them that it owns is removed, any other has the
 * entries naming it dropped; those of its children that name it become
 * roots in turn, looked at a chunk at a time by later slices (descend), not
 * by the index as the slice ends. Roots sharing a chunk of their directory
 * are done together, so that the chunk is written once.
 *
 * The work goes in slices of cleanup-slice-us, one per turn of the loop,
 * other clients served in between; each slice is one group of the store,
 * so a crash leaves the tree as a slice left it. The queue is a note in the
 * store (store_note_put), written when domains go and when one's clean-up
 * ends, before @releaseDomain: a daemon started after a crash goes on with
 * the domains it lists, their regions found anew from the tree.
 *
 * Until its clean-up ends, a domid is not reused: INTRODUCE of it, or a
 * change that names it (SET_PERMS) or lands under a node it owns, waits
 * (cleanup_blocks_*; dispatch.c parks the request). Changes elsewhere,
 * and reads, go on: one inside its regions is done over as the clean-up
 * reaches it, as if it had come first.
 */

#define QUEUE_CAP (XS_DOMID_MAX + 1u)
/* Nodes a removal takes between two looks at the clock. */
#define REMOVE_STEP 64u
/* After a failure (memory, a full disk): the first wait before trying again, and the longest. */
#define RETRY_FIRST_MS 10u
#define RETRY_MAX_MS 1000u
/* The store note that lists the queue: a magic, then each domid as u16, in order. */
#define NOTE_NAME "cleanup"
#define NOTE_MAGIC 0x55435358u /* "XSCU" */

static struct {
	uint16_t ids[QUEUE_CAP]; /* the queue: a ring, from head, n of them */
	size_t head, n;
	uint8_t pending[QUEUE_CAP / 8];  /* the domids in it */
	uint8_t specials[QUEUE_CAP / 8]; /* the special nodes were scrubbed for it */
	bool noted;                      /* the store's note lists the queue as it is */
	bool retold;                     /* the index was being told again: still lost means no memory */
	size_t cursor;                   /* the front domain's place in its regions */
	char scan_path[XS_PATH_BUF];     /* a root of them naming it no more, its children being looked at */
	uint32_t scan_chunk;             /* the next chunk of them (regions_descend) */
	unsigned retry_ms;               /* after a failure: the wait before the next try (0: none) */
	struct event *ev;
	struct arena scratch, rm;
	uint64_t slices;
} q;

static bool bit(const uint8_t *set, uint32_t d)
{
	return d < QUEUE_CAP && (set[d / 8] & (1u << (d % 8)));
}

static void bit_set(uint8_t *set, uint32_t d, bool on)
{
	if (on)
		set[d / 8] |= (uint8_t)(1u << (d % 8));
	else
		set[d / 8] &= (uint8_t)~(1u << (d % 8));
}

static uint32_t at(size_t i)
{
	return q.ids[(q.head + i) % QUEUE_CAP];
}

static void push(uint32_t d)
{
	if (d >= QUEUE_CAP || bit(q.pending, d))
		return;
	q.ids[(q.head + q.n) % QUEUE_CAP] = (uint16_t)d;
	q.n++;
	bit_set(q.pending, d, true);
	bit_set(q.specials, d, false);
}

static void pop_front(void)
{
	bit_set(q.pending, at(0), false);
	q.head = (q.head + 1) % QUEUE_CAP;
	q.n--;
	q.cursor = 0;
	q.scan_path[0] = '\0';
}

/* d goes first: a request waits for it. The note keeps its order (it is a set to whoever reads it). */
static void promote(uint32_t d)
{
	size_t i = 0;

	while (i < q.n && at(i) != d)
		i++;
	if (i == 0 || i == q.n)
		return;
	for (; i > 0; i--)
		q.ids[(q.head + i) % QUEUE_CAP] = (uint16_t)at(i - 1);
	q.ids[q.head] = (uint16_t)d;
	q.cursor = 0;
	q.scan_path[0] = '\0';
}

/* Keep the scratch arena's first chunk: marks taken on it rewind without freeing it (no malloc per node). */
static void warm(void)
{
	if (!q.scratch.head)
		(void)arena_alloc(&q.scratch, 1);
}

/* The queue, but its first skip domains, as the store's note (in a group of its own, or the open one). */
static enum xs_err note_write(size_t skip)
{
	struct arena_mark m = arena_mark(&q.scratch);
	size_t n = q.n - skip, len = 4 + 2 * n;
	unsigned char *b;
	uint32_t magic = NOTE_MAGIC;
	enum xs_err err;

	if (!n)
		return store_note_put(NOTE_NAME, NULL, 0);
	if (!(b = arena_alloc(&q.scratch, len)))
		return XSE_ENOMEM;
	memcpy(b, &magic, 4);
	for (size_t i = 0; i < n; i++) {
		uint16_t d = (uint16_t)at(skip + i);

		memcpy(b + 4 + 2 * i, &d, 2);
	}
	err = store_note_put(NOTE_NAME, b, len);
	arena_rewind(&q.scratch, m);
	return err;
}

/* A daemon starting: the domains whose clean-up a previous run did not finish. */
static void note_read(void)
{
	void *p;
	size_t len;
	uint32_t magic;
	enum xs_err err = store_note_get(&q.scratch, NOTE_NAME, &p, &len);

	if (err == XSE_ENOENT)
		return;
	if (err != XSE_OK || len < 4 || (len - 4) % 2 || (memcpy(&magic, p, 4), magic != NOTE_MAGIC)) {
		log_warnx("the store's list of unfinished clean-ups cannot be read (%s)",
			  err != XSE_OK ? xs_err_name(err) : "damaged");
		arena_reset(&q.scratch);
		return;
	}
	for (size_t i = 0; i < (len - 4) / 2; i++) {
		uint16_t d;

		memcpy(&d, (const unsigned char *)p + 4 + 2 * i, 2);
		push(d);
	}
	arena_reset(&q.scratch);
	q.noted = true;
	if (q.n)
		log_info("going on with the clean-up of %zu domains a previous run left unfinished", q.n);
}

static bool names(const struct store_node *n, uint32_t d)
{
	for (unsigned i = 0; i < n->nperms; i++)
		if (n->perms[i].id == d)
			return true;
	return false;
}

/* Drop entries naming d; a d owner is replaced by the privileged domain. n as read through q.scratch. */
static enum xs_err scrub(uint32_t d, const char *path, struct store_node *n)
{
	struct xs_perm *perms = arena_alloc(&q.scratch, sizeof(*perms) * (n->nperms ? n->nperms : 1));
	unsigned k = 0;

	if (!perms)
		return XSE_ENOMEM;
	for (unsigned i = 0; i < n->nperms; i++) {
		if (i == 0 && n->perms[0].id == d) {
			perms[k] = n->perms[0];
			perms[k++].id = cfg.priv_domid;
		} else if (i == 0 || n->perms[i].id != d) {
			perms[k++] = n->perms[i];
		}
	}
	return store_update(&q.scratch, path, n, perms, k, NULL, 0);
}

/*
 * A root naming d no more, with children (its entries were dropped by a
 * slice, which left the children for now): those naming d become roots, a
 * chunk of them at a time until the deadline, going on where the last
 * slice stopped; then it is no root any more.
 */
static enum xs_err descend(uint32_t d, const char *path, uint64_t deadline)
{
	enum xs_err err;

	if (strcmp(q.scan_path, path) != 0) {
		snprintf(q.scan_path, sizeof(q.scan_path), "%s", path);
		q.scan_chunk = 0;
	}
	do {
		bool from_first = !q.scan_chunk;

		err = regions_descend(d, path, &q.scan_chunk);
		/* A chunk gone meanwhile (moved, emptied): again from the first; the first gone is damage. */
		if (err == XSE_ENOENT)
			err = from_first ? XSE_EIO : XSE_OK;
	} while (err == XSE_OK && q.scan_chunk && clock_us() < deadline);
	if (err != XSE_OK || !q.scan_chunk)
		q.scan_path[0] = '\0';
	return err;
}

static void removed_cb(void *ctx, const char *path, const struct store_node *n)
{
	const char *root = ctx;

	if (strcmp(path, root) != 0)
		watch_fire(path, WATCH_EXACT, n->perms, n->nperms, NULL, 0);
}

/*
 * One node naming d, or named as a root of its regions: removed with its
 * subtree if d owns it (as far as the deadline lets a big subtree go; the
 * root stays in the index until it is gone), else scrubbed. A node that
 * is gone, names d no more, or cannot be read is done with. XSE_OK, or
 * what stops the slice: XSE_ENOMEM, XSE_ENOSPC.
 */
static enum xs_err handle(uint32_t d, const char *path, uint64_t deadline)
{
	struct arena_mark m = arena_mark(&q.scratch);
	struct store_node n;
	enum xs_err err = store_read(&q.scratch, path, false, &n);

	if (err == XSE_ENOENT) {
		/* Gone (with an ancestor in this slice, or a root its domain had left before it went). */
		regions_forget(d, path);
		err = XSE_OK;
	} else if (err == XSE_EIO) {
		log_warnx("cleaning up domain %u: %s cannot be read; left as it is", d, path);
		regions_forget(d, path);
		err = XSE_OK;
	} else if (err != XSE_OK) {
		/* XSE_ENOMEM: tried again later. */
	} else if (!names(&n, d)) {
		if (n.first_chunk)
			err = descend(d, path, deadline);
		else
			regions_forget(d, path);
	} else if (n.nperms && n.perms[0].id == d && !cfg.keep_orphans && strcmp(path, "/") != 0) {
		bool done = false;

		while (!done && err == XSE_OK) {
			err = store_remove_some(&q.rm, path, REMOVE_STEP, removed_cb, (void *)path, &done);
			if (!done && clock_us() >= deadline)
				break;
		}
		if (done)
			watch_fire(path, WATCH_SUBTREE, NULL, 0, NULL, 0);
	} else {
		err = scrub(d, path, &n);
	}
	if (err == XSE_EIO || err == XSE_EINVAL) {
		log_warnx("cleaning up domain %u: %s could not be changed (%s); left as it is", d, path,
			  xs_err_name(err));
		regions_forget(d, path);
		err = XSE_OK;
	}
	arena_rewind(&q.scratch, m);
	return err;
}

struct mates {
	uint32_t d;
	const char *root;
	char dir[XS_PATH_BUF];
	size_t dlen;
	uint64_t deadline;
	bool saw_root;
	enum xs_err err;
};

/* A mate of the root in its chunk (the root among them) that is a root too: done now, the chunk written once. */
static bool mate(void *ctx, const char *name)
{
	struct mates *m = ctx;
	char path[XS_PATH_BUF];
	size_t nl = strlen(name);

	if (m->dlen + 1 + nl >= sizeof(path))
		return true;
	memcpy(path, m->dir, m->dlen);
	path[m->dlen] = '/';
	memcpy(path + m->dlen + 1, name, nl + 1);
	if (!strcmp(path, m->root))
		m->saw_root = true;
	else if (!regions_is_root(m->d, path))
		return true;
	m->err = handle(m->d, path, m->deadline);
	return m->err == XSE_OK && clock_us() < m->deadline;
}

/*
 * A root of d's regions, with those sharing its chunk: their names are
 * taken before any goes (a removed one's chunk cannot be found again).
 */
static enum xs_err process_root(uint32_t d, const char *root, uint64_t deadline)
{
	struct mates m = {d, root, "", 0, deadline, false, XSE_OK};
	struct arena_mark mark;
	enum xs_err err;

	if (root[0] != '/' || !root[1])
		return handle(d, root, deadline);
	m.dlen = xs_path_parent_len(root);
	memcpy(m.dir, root, m.dlen);
	m.dir[m.dlen] = '\0';
	if (m.dlen == 1)
		m.dlen = 0; /* children of the root: "/" + name */
	mark = arena_mark(&q.scratch);
	err = store_chunk_mates(&q.scratch, root, mate, &m);
	arena_rewind(&q.scratch, mark);
	if (err == XSE_ENOMEM || m.err != XSE_OK)
		return err == XSE_ENOMEM ? err : m.err;
	/* Not found among them (its parent's list is damaged, or it is gone): on its own. */
	if (!m.saw_root && clock_us() < deadline)
		return handle(d, root, deadline);
	return XSE_OK;
}

/* The special nodes are cleaned up by name: an owner that died hands them back to the privileged domain. */
static enum xs_err scrub_specials(uint32_t d)
{
	static const char *const specials[] = {"@introduceDomain", "@releaseDomain"};
	enum xs_err err = XSE_OK;

	for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]) && err == XSE_OK; i++) {
		struct arena_mark m = arena_mark(&q.scratch);
		struct store_node n;

		err = store_read(&q.scratch, specials[i], false, &n);
		if (err == XSE_OK && names(&n, d))
			err = scrub(d, specials[i], &n);
		if (err == XSE_ENOENT || err == XSE_EIO)
			err = XSE_OK;
		arena_rewind(&q.scratch, m);
	}
	return err;
}

/*
 * A slice of the front domain's clean-up, in one group: the queue's note
 * if it is not written yet, its special nodes the first time, then roots
 * of its regions until the deadline or the end of a pass. What was done
 * is kept whatever stops the slice. XSE_OK, or why it stopped.
 */
static enum xs_err domain_slice(uint32_t d, uint64_t deadline)
{
	bool note = !q.noted, specials = !bit(q.specials, d);
	enum xs_err err = XSE_OK, gerr;

	warm();
	store_group_begin();
	if (note)
		err = note_write(0);
	if (err == XSE_OK && specials)
		err = scrub_specials(d);
	while (err == XSE_OK) {
		const char *next = regions_next(d, &q.cursor);
		char root[XS_PATH_BUF];
		size_t len;

		if (!next)
			break; /* the pass is over: the next one sees the index as this slice leaves it */
		len = strlen(next);
		if (len >= sizeof(root)) {
			regions_forget(d, next);
			continue;
		}
		memcpy(root, next, len + 1);
		err = process_root(d, root, deadline);
		if (clock_us() >= deadline)
			break;
	}
	/* A directory it scrubbed is for a later slice to look into, not for the index to read now. */
	regions_defer_children(true);
	gerr = store_group_end(note && err != XSE_OK ? err : XSE_OK);
	regions_defer_children(false);
	q.slices++;
	if (gerr == XSE_OK) {
		q.noted = true;
		if (specials && err == XSE_OK)
			bit_set(q.specials, d, true);
	}
	return err != XSE_OK ? err : gerr;
}

/* The front domain is clean: off the note (durably, before anyone hears of it), then @releaseDomain. */
static enum xs_err complete(void)
{
	uint32_t d = at(0);
	enum xs_err err;

	store_group_begin();
	/* What was kept of it for a restart goes in the same group: a crash before it redoes the end. */
	keep_domains_cleaned(&d, 1);
	err = store_group_end(note_write(1));
	if (err != XSE_OK)
		return err;
	pop_front();
	watch_fire_special_base("@releaseDomain");
	watch_fire_special_domain("@releaseDomain", d);
	log_info("domain %u released", d);
	/* Requests waiting for it go on (dispatch.c parked them). */
	session_wake_deferred();
	/* What they held goes back to the system, not only to malloc's free lists. */
	if (!q.n)
		malloc_trim(0);
	return XSE_OK;
}

/* The index can be used: the store told it the tree, and nothing was lost since (else told again). */
static enum xs_err index_ready(bool *ready)
{
	*ready = false;
	if (!store_settled()) {
		store_background();
		return XSE_OK;
	}
	if (regions_trusted()) {
		q.retold = false;
		*ready = true;
		return XSE_OK;
	}
	if (q.retold) {
		/* Told again, and lost again: memory is short. */
		q.retold = false;
		return XSE_ENOMEM;
	}
	q.retold = store_retell();
	return XSE_OK;
}

/* A slice until deadline, and the front domain's end if it is clean. */
static enum xs_err run_slice(uint64_t deadline)
{
	uint32_t d = at(0);
	enum xs_err err;
	bool ready;

	if ((err = index_ready(&ready)) != XSE_OK || !ready)
		return err;
	if ((err = domain_slice(d, deadline)) != XSE_OK)
		return err;
	if (regions_trusted() && !regions_count(d))
		return complete();
	return XSE_OK;
}

/* A turn of the loop from now, or after ms. */
static void arm(unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	if (!q.ev)
		return;
	if (ms || !evtimer_pending(q.ev, NULL))
		evtimer_add(q.ev, &tv);
}

/* Memory or room ran out: never given up, tried again a little later (at once if the reserve freed some). */
static void failed(enum xs_err err)
{
	bool freed = err == XSE_ENOMEM && quota_memory_short();

	if (!q.retry_ms)
		log_warnx("the clean-up of domain %u waits: %s; tried again until it goes through", at(0),
			  err == XSE_ENOMEM ? "out of memory" : err == XSE_ENOSPC ? "the store's disk is full"
										 : xs_err_name(err));
	q.retry_ms = freed ? 1 : !q.retry_ms ? RETRY_FIRST_MS : q.retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
											 : q.retry_ms * 2;
	arm(q.retry_ms);
}

static void cleanup_turn(evutil_socket_t fd, short what, void *arg)
{
	enum xs_err err;

	(void)fd;
	(void)what;
	(void)arg;
	if (!q.n)
		return;
	err = run_slice(clock_us() + cfg.cleanup_slice_us);
	if (err != XSE_OK) {
		failed(err);
		return;
	}
	if (q.retry_ms)
		log_info("the clean-up tried again went through");
	q.retry_ms = 0;
	if (q.n)
		arm(0);
}

bool cleanup_finish(uint32_t domid)
{
	unsigned failures = 0;

	promote(domid);
	while (bit(q.pending, domid)) {
		enum xs_err err;

		store_settle();
		err = run_slice(UINT64_MAX);
		if (err != XSE_OK && ++failures > 3) {
			failed(err);
			return false;
		}
	}
	return true;
}

bool cleanup_pending(uint32_t domid)
{
	return bit(q.pending, domid);
}

bool cleanup_blocks_domain(uint32_t domid)
{
	if (!bit(q.pending, domid))
		return false;
	promote(domid);
	return true;
}

/* Whether a node from path's prefix of length from down to path itself exists and is owned by d. */
static bool owned_on_the_way(uint32_t d, const char *path, size_t from)
{
	size_t len = strlen(path);
	bool owned = false;

	for (size_t i = from; i <= len && !owned; i++) {
		char prefix[XS_PATH_BUF];
		struct arena_mark m;
		struct store_node n;
		enum xs_err err;

		if (i < len && path[i] != '/')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		m = arena_mark(&q.scratch);
		err = store_read(&q.scratch, prefix, false, &n);
		/* A node that cannot be read: wait, rather than risk a write the clean-up removes. */
		owned = err != XSE_OK || (n.nperms && n.perms[0].id == d);
		arena_rewind(&q.scratch, m);
		if (err == XSE_ENOENT)
			return false; /* nor anything under it */
	}
	return owned;
}

bool cleanup_blocks_path(const char *path, uint32_t *domid)
{
	if (!q.n || cfg.keep_orphans || path[0] != '/')
		return false;
	store_settle(); /* as any change does */
	warm();
	for (size_t i = 0; i < q.n; i++) {
		uint32_t d = at(i);
		size_t from;

		/* Without a trusted index, any node may be in a region: wait for the front domain. */
		if (!regions_trusted() || ((from = regions_root_above(d, path)) && owned_on_the_way(d, path, from))) {
			if (regions_trusted())
				promote(d);
			*domid = regions_trusted() ? d : at(0);
			return true;
		}
	}
	return false;
}

struct txn_block {
	uint32_t domid;
};

static bool txn_path_blocks(void *ctx, const char *path)
{
	struct txn_block *b = ctx;

	return cleanup_blocks_path(path, &b->domid);
}

bool cleanup_blocks_txn(struct txn *t, uint32_t *domid)
{
	struct txn_block b = {0};

	if (!q.n || cfg.keep_orphans || !txn_any_write(t, txn_path_blocks, &b))
		return false;
	*domid = b.domid;
	return true;
}

void cleanup_stats(struct cleanup_stats *s)
{
	s->pending = q.n;
	s->slices = q.slices;
}

void cleanup_domains_gone(const uint32_t *ids, size_t n)
{
	enum xs_err err;

	for (size_t i = 0; i < n; i++)
		push(ids[i]);
	/* Noted at once: a RELEASE answered is a clean-up that a crash does not lose. */
	q.noted = false;
	store_group_begin();
	err = store_group_end(note_write(0));
	if (err == XSE_OK)
		q.noted = true;
	arm(0);
}

int cleanup_init(struct event_base *base)
{
	q.ev = evtimer_new(base, cleanup_turn, NULL);
	if (!q.ev)
		return -1;
	note_read();
	if (q.n)
		arm(0);
	return 0;
}

void cleanup_fini(void)
{
	/* What is left is in the note, for the next start to go on with. */
	if (q.n && !q.noted) {
		store_group_begin();
		if (store_group_end(note_write(0)) != XSE_OK)
			log_warnx("the clean-up of %zu domains is left unfinished, and unnoted", q.n);
	}
	if (q.ev)
		event_free(q.ev);
	arena_free(&q.scratch);
	arena_free(&q.rm);
	memset(&q, 0, sizeof(q));
}

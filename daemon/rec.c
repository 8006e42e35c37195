/* The record layer: overlay over tdb, groups of changes into the write-ahead log, checkpoints into tdb, recovery. */
#include "rec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "grow.h"
#include "hmap.h"
#include "log.h"
#include "wal.h"

/*
 * A checkpoint is due once the log or the overlay holds this much: it
 * bounds what a start reads back and what the overlay keeps in memory,
 * and spreads the cost of a tdb transaction (its hash table copy, its
 * syncs) over many changes, each record once however often it changed.
 */
#define CKPT_BYTES (8u << 20)
#define DEPTH_MAX 16

/* The record where tdb keeps the number of the last checkpoint and the generation then. */
#define CKPT_KEY "\0xenstored-checkpoint"
#define CKPT_MAGIC 0x43445358u /* "XSDC" */
#define CKPT_SIZE 24u

enum ov_state { OV_ABSENT, OV_LIVE, OV_DELETED };

/* A record changed since the last checkpoint: its bytes now, or its deletion. */
struct ov {
	struct ov *next; /* in its bucket */
	uint64_t hash;
	unsigned char *data;
	uint32_t len, klen;
	uint8_t state;
	int32_t undo;     /* its newest undo record in the open group, -1 if none */
	int32_t dirty;    /* where a compaction lists it as still to be written, -1 if it does not */
	uint32_t tdb_len; /* what its record takes in the store file, when that is counted (cmp.track) */
	unsigned char key[];
};

/* What a record was before the open group (or one of its nested levels) first changed it. */
struct undo {
	struct ov *e;
	unsigned char *data;
	uint32_t len;
	uint8_t state; /* OV_ABSENT: it was not in the overlay */
	int32_t prev;  /* the record's undo record of an outer level, -1 if none */
};

static struct {
	struct tdb_context *tdb;
	char file[4096];
	unsigned hash_size;
	int tdb_flags;
	size_t (*room)(const unsigned char *key, size_t klen, const unsigned char *data, size_t len);
	uint64_t ckpt; /* the last checkpoint: tdb holds it, the log follows it */
	uint64_t gen;
	bool log_stale;   /* the log could not be started afresh after a checkpoint: appends wait */
	uint64_t ckpt_bytes;    /* the threshold */
	uint64_t ckpt_retry_at; /* the size of the log or overlay at which the next checkpoint is due */
	/* The overlay. */
	struct ov **buckets;
	size_t nbuckets, count, bytes;
	/* The open group. */
	struct undo *undo;
	size_t nundo, cap_undo;
	size_t sp[DEPTH_MAX];
	unsigned depth;
	unsigned char *gbuf;
	size_t gcap;
	uint64_t changes; /* every put, delete and undo counted (rec_changes) */
	uint64_t tdb_epoch; /* every write into tdb, and every tdb opened, counted: the misses below hold within one */
} rec;

/*
 * Keys tdb was found not to hold, so that a node kept in its parent's chunk
 * (whose own record is looked for first) costs no hash-chain walk in tdb
 * each time it is read. A slot holds while rec.tdb_epoch is what it was
 * (tdb unchanged); a key put into the overlay leaves its slot at once.
 * Fixed size, exact keys: a long key is never held, a collision evicts.
 */
#define MISS_SLOTS 1024u
#define MISS_KEY_MAX 80u

static struct miss_slot {
	uint64_t hash, epoch; /* epoch 0: empty (rec.tdb_epoch is never 0 once a tdb is open) */
	uint32_t klen;
	unsigned char key[MISS_KEY_MAX];
} misses[MISS_SLOTS];

/* The measure of the store file's free space and a compaction under way (rec.h, rec_background). */
static struct {
	/* Settings. */
	bool on;
	uint64_t min_free;
	unsigned min_percent;
	unsigned slice_us;
	/* The measure: as of the last checkpoint, its walk of tdb's free list in slices. */
	bool measuring, measured, walk_begun;
	bool odd_told; /* a measure that could not be made was logged */
	uint64_t file_bytes, recovery_bytes, free_bytes;
	uint32_t walk_at; /* the next free record */
	uint64_t walk_sum, walk_n;
	/* While the file is big enough to matter: what the records the overlay deletes take in it. */
	bool track;
	uint64_t pending;
	/* The compaction. */
	bool active;
	bool lost;       /* a change could not be listed: the new file would miss it */
	bool copy_failed; /* a record could not be written into the new file */
	struct tdb_context *to;
	char tmp[sizeof(rec.file) + 16];
	uint32_t chain, nchains; /* the next hash chain to copy, of how many */
	struct ov **dirty;       /* records to write into the new file once the copy is done; NULL: gone */
	size_t ndirty, cap_dirty, next_dirty;
	size_t copied, applied;
	uint64_t began_us;
	uint64_t not_before_us, backoff_us; /* after one was given up */
	/* Totals since the start. */
	uint64_t done, given_back;
} cmp;

/* Checkpoints wait for a compaction until the log or the overlay holds this many times their threshold. */
#define COMPACT_CKPT_WAIT 4u
/* When a compaction given up is tried again (compact_abort). */
#define COMPACT_FAILED_US (60ull * 1000000u)
#define COMPACT_BUSY_US 1000000ull
#define COMPACT_BACKOFF_MAX_US (3600ull * 1000000u)

/*
 * What the measure reads of tdb's own file format (its version
 * 0x26011967 + 6, unchanged since tdb 1.2; native byte order, which is how
 * this daemon creates its stores): the header's version and recovery area,
 * the free list's head (the bucket before the hash table), and per record
 * a header of u32 next, u32 length, u32 key length, u32 data length, u32
 * hash, u32 magic, followed by its length of bytes (key, data, room, a u32
 * tailer). Anything else found there stops the measure: no compaction.
 */
#define TDBF_VERSION 0x2601196du
#define TDBF_VERSION_AT 32u
#define TDBF_RECOVERY_AT 44u
#define TDBF_FREELIST_AT 168u
#define TDBF_REC_HEAD 24u
#define TDBF_REC_TAIL 4u
#define TDBF_FREE_MAGIC 0xd9fee666u

static struct ov *ov_find(const unsigned char *key, size_t klen, uint64_t h)
{
	for (struct ov *e = rec.buckets[h & (rec.nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

static bool ov_grow(void)
{
	size_t n = rec.nbuckets ? rec.nbuckets * 2 : 1024;
	struct ov **b = calloc(n, sizeof(*b));

	if (!b)
		return false;
	for (size_t i = 0; i < rec.nbuckets; i++) {
		struct ov *e = rec.buckets[i];

		while (e) {
			struct ov *next = e->next;

			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(rec.buckets);
	rec.buckets = b;
	rec.nbuckets = n;
	return true;
}

/* A new entry for key, in the table (state OV_ABSENT, no data); NULL if memory ran out. */
static struct ov *ov_insert(const unsigned char *key, size_t klen, uint64_t h)
{
	struct ov *e;

	if (rec.count >= rec.nbuckets && !ov_grow() && !rec.nbuckets)
		return NULL;
	if (!(e = malloc(sizeof(*e) + klen)))
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->klen = (uint32_t)klen;
	e->undo = -1;
	e->dirty = -1;
	memcpy(e->key, key, klen);
	e->next = rec.buckets[h & (rec.nbuckets - 1)];
	rec.buckets[h & (rec.nbuckets - 1)] = e;
	rec.count++;
	rec.bytes += sizeof(*e) + klen;
	return e;
}

static void ov_unlink(struct ov *e)
{
	struct ov **pp = &rec.buckets[e->hash & (rec.nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	if (e->state == OV_DELETED)
		cmp.pending -= e->tdb_len;
	if (e->dirty >= 0)
		cmp.dirty[e->dirty] = NULL;
	rec.count--;
	rec.bytes -= sizeof(*e) + e->klen + e->len;
	free(e->data);
	free(e);
}

static void ov_clear(void)
{
	for (size_t i = 0; i < rec.nbuckets; i++) {
		struct ov *e = rec.buckets[i];

		while (e) {
			struct ov *next = e->next;

			free(e->data);
			free(e);
			e = next;
		}
		rec.buckets[i] = NULL;
	}
	rec.count = rec.bytes = 0;
	cmp.pending = 0;
}

/* tdb is about to change, or is another file: what it was found not to hold may no longer be so. */
static void tdb_changing(void)
{
	rec.tdb_epoch++;
}

static struct miss_slot *miss_slot(uint64_t h)
{
	return &misses[(h ^ (h >> 32)) & (MISS_SLOTS - 1)];
}

static bool miss_known(TDB_DATA key, uint64_t h)
{
	const struct miss_slot *m = miss_slot(h);

	return m->epoch == rec.tdb_epoch && m->hash == h && m->klen == key.dsize &&
	       memcmp(m->key, key.dptr, key.dsize) == 0;
}

/* tdb answered that it does not hold key (and nothing else went wrong). */
static void miss_note(TDB_DATA key, uint64_t h)
{
	struct miss_slot *m;

	if (key.dsize > MISS_KEY_MAX || tdb_error(rec.tdb) != TDB_ERR_NOEXIST)
		return;
	m = miss_slot(h);
	m->hash = h;
	m->epoch = rec.tdb_epoch;
	m->klen = (uint32_t)key.dsize;
	memcpy(m->key, key.dptr, key.dsize);
}

static void miss_forget(uint64_t h)
{
	struct miss_slot *m = miss_slot(h);

	if (m->hash == h)
		m->epoch = 0;
}

static int parse_nothing(TDB_DATA key, TDB_DATA data, void *ctx)
{
	(void)key;
	(void)data;
	(void)ctx;
	return 0;
}

int rec_parse(TDB_DATA key, rec_parser_fn fn, void *ctx)
{
	uint64_t h = hmap_hash64(key.dptr, key.dsize);

	if (rec.count) {
		struct ov *e = ov_find(key.dptr, key.dsize, h);

		if (e) {
			if (e->state != OV_LIVE)
				return -1;
			fn(key, (TDB_DATA){e->data, e->len}, ctx);
			return 0;
		}
	}
	if (miss_known(key, h))
		return -1;
	if (tdb_parse_record(rec.tdb, key, fn, ctx) == 0)
		return 0;
	miss_note(key, h);
	return -1;
}

bool rec_exists(TDB_DATA key)
{
	uint64_t h = hmap_hash64(key.dptr, key.dsize);

	if (rec.count) {
		struct ov *e = ov_find(key.dptr, key.dsize, h);

		if (e)
			return e->state == OV_LIVE;
	}
	if (miss_known(key, h))
		return false;
	if (tdb_parse_record(rec.tdb, key, parse_nothing, NULL) == 0)
		return true;
	miss_note(key, h);
	return false;
}

static bool is_ckpt_key(TDB_DATA key)
{
	return key.dsize == sizeof(CKPT_KEY) - 1 && memcmp(key.dptr, CKPT_KEY, key.dsize) == 0;
}

struct traverse_ctx {
	rec_parser_fn fn;
	void *ctx;
	int stopped;
};

static int traverse_tdb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct traverse_ctx *t = p;

	(void)tdb;
	/* Records the overlay changed are visited from it, after. */
	if (is_ckpt_key(key) || (rec.count && ov_find(key.dptr, key.dsize, hmap_hash64(key.dptr, key.dsize))))
		return 0;
	return (t->stopped = t->fn(key, data, t->ctx)) != 0;
}

int rec_traverse(rec_parser_fn fn, void *ctx)
{
	struct traverse_ctx t = {fn, ctx, 0};
	int n = tdb_traverse_read(rec.tdb, traverse_tdb, &t);

	if (n < 0 && !t.stopped)
		return -1;
	for (size_t i = 0; i < rec.nbuckets && !t.stopped; i++)
		for (struct ov *e = rec.buckets[i]; e && !t.stopped; e = e->next)
			if (e->state == OV_LIVE) {
				n++;
				t.stopped = fn((TDB_DATA){e->key, e->klen}, (TDB_DATA){e->data, e->len}, ctx);
			}
	return n;
}

bool rec_in_group(void)
{
	return rec.depth > 0;
}

void rec_begin(void)
{
	if (rec.depth == DEPTH_MAX)
		fatalx("store: groups nested too deep");
	rec.sp[rec.depth++] = rec.nundo;
}

/* e's state becomes st; what the records the overlay deletes take follows. */
static void ov_state_set(struct ov *e, uint8_t st)
{
	if (e->state == OV_DELETED)
		cmp.pending -= e->tdb_len;
	if (st == OV_DELETED)
		cmp.pending += e->tdb_len;
	e->state = st;
}

static int data_len_of(TDB_DATA key, TDB_DATA data, void *p)
{
	(void)key;
	*(size_t *)p = data.dsize;
	return 0;
}

/* What key's record takes in the store file (its header, key, data and tailer); 0 if it has none. */
static uint32_t tdb_footprint(TDB_DATA key)
{
	size_t dlen;

	if (tdb_parse_record(rec.tdb, key, data_len_of, &dlen) != 0)
		return 0;
	return (uint32_t)(TDBF_REC_HEAD + key.dsize + dlen + TDBF_REC_TAIL);
}

/* A compaction under way writes e into its new file once its copy is done. */
static void dirty_add(struct ov *e)
{
	if (!GROW(cmp.dirty, cmp.cap_dirty, cmp.ndirty + 1, 1024)) {
		cmp.lost = true;
		return;
	}
	e->dirty = (int32_t)cmp.ndirty;
	cmp.dirty[cmp.ndirty++] = e;
}

/*
 * Give key the bytes data (owned from now on) or (deleted) no bytes,
 * keeping what it held before in an undo record unless this level of the
 * group already did.
 */
static enum xs_err ov_set(TDB_DATA key, unsigned char *data, size_t len, enum ov_state state)
{
	uint64_t h = hmap_hash64(key.dptr, key.dsize);
	struct ov *e = rec.nbuckets ? ov_find(key.dptr, key.dsize, h) : NULL;
	bool fresh = !e;

	rec.changes++;
	miss_forget(h);

	if (!rec.depth) {
		free(data);
		log_warnx("store: a record written outside a group");
		return XSE_EIO;
	}
	if ((fresh || e->undo < (int32_t)rec.sp[rec.depth - 1]) &&
	    !GROW(rec.undo, rec.cap_undo, rec.nundo + 1, 256)) {
		free(data);
		return XSE_ENOMEM;
	}
	if (fresh && !(e = ov_insert(key.dptr, key.dsize, h))) {
		free(data);
		return XSE_ENOMEM;
	}
	if (fresh && cmp.track)
		e->tdb_len = tdb_footprint(key);
	if (fresh || e->undo < (int32_t)rec.sp[rec.depth - 1]) {
		rec.undo[rec.nundo] = (struct undo){e, fresh ? NULL : e->data, fresh ? 0 : e->len,
						    fresh ? OV_ABSENT : e->state, e->undo};
		e->undo = (int32_t)rec.nundo++;
	} else {
		free(e->data);
	}
	rec.bytes = rec.bytes - (fresh ? 0 : e->len) + len;
	e->data = data;
	e->len = (uint32_t)len;
	ov_state_set(e, (uint8_t)state);
	if (cmp.active && e->dirty < 0)
		dirty_add(e);
	return XSE_OK;
}

enum xs_err rec_put(TDB_DATA key, const TDB_DATA *parts, int nparts)
{
	size_t len = 0;
	unsigned char *data;

	for (int i = 0; i < nparts; i++)
		len += parts[i].dsize;
	if (!(data = malloc(len ? len : 1)))
		return XSE_ENOMEM;
	len = 0;
	for (int i = 0; i < nparts; i++) {
		if (parts[i].dsize)
			memcpy(data + len, parts[i].dptr, parts[i].dsize);
		len += parts[i].dsize;
	}
	return ov_set(key, data, len, OV_LIVE);
}

enum xs_err rec_del(TDB_DATA key)
{
	return ov_set(key, NULL, 0, OV_DELETED);
}

/* Undo everything since undo record `to`, newest first. */
static void rollback(size_t to)
{
	rec.changes++;
	while (rec.nundo > to) {
		struct undo *u = &rec.undo[--rec.nundo];
		struct ov *e = u->e;

		if (u->state == OV_ABSENT) {
			ov_unlink(e);
			continue;
		}
		rec.bytes = rec.bytes - e->len + u->len;
		free(e->data);
		e->data = u->data;
		e->len = u->len;
		ov_state_set(e, u->state);
		e->undo = u->prev;
	}
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The open group's records as they are now, framed for the log in rec.gbuf: its length, 0 if no memory. */
static size_t group_encode(uint64_t gen)
{
	size_t len = WAL_GROUP_HEAD + WAL_GROUP_TAIL;

	for (size_t i = 0; i < rec.nundo; i++)
		if (rec.undo[i].prev < 0)
			len += 9 + rec.undo[i].e->klen + rec.undo[i].e->len;
	if (!GROW(rec.gbuf, rec.gcap, len, 4096))
		return 0;
	unsigned char *p = rec.gbuf + WAL_GROUP_HEAD;

	for (size_t i = 0; i < rec.nundo; i++) {
		struct ov *e = rec.undo[i].e;

		/* Each record once, as the group leaves it: the first undo record of each is at the top level. */
		if (rec.undo[i].prev >= 0)
			continue;
		*p++ = e->state == OV_LIVE ? WAL_PUT : WAL_DEL;
		put32(p, e->klen);
		memcpy(p + 4, e->key, e->klen);
		p += 4 + e->klen;
		if (e->state == OV_LIVE) {
			put32(p, e->len);
			if (e->len)
				memcpy(p + 4, e->data, e->len);
			p += 4 + e->len;
		}
	}
	return wal_frame(rec.gbuf, (size_t)(p - rec.gbuf) - WAL_GROUP_HEAD, gen);
}

static enum xs_err err_of(int e)
{
	return e == ENOSPC || e == EFBIG || e == EDQUOT ? XSE_ENOSPC : e == ENOMEM ? XSE_ENOMEM : XSE_EIO;
}

/* Append the open group to the log: 0 or an errno. */
static int group_append(uint64_t gen)
{
	size_t len;
	int err;

	if (rec.log_stale) {
		if ((err = wal_reset(rec.ckpt)) != 0)
			return err;
		rec.log_stale = false;
		log_info("store: write-ahead log started afresh at last");
	}
	if (!(len = group_encode(gen)))
		return ENOMEM;
	if ((err = wal_append(rec.gbuf, len)) != 0) {
		log_warnx("store: cannot append %zu bytes to the write-ahead log: %s", len, strerror(err));
		return err;
	}
	return 0;
}

enum xs_err rec_end(bool ok, uint64_t gen)
{
	size_t sp;
	int err;

	if (!rec.depth)
		return XSE_EIO;
	sp = rec.sp[--rec.depth];
	if (!ok) {
		rollback(sp);
		return XSE_OK;
	}
	if (rec.depth)
		return XSE_OK;
	if (!rec.nundo)
		return XSE_OK;
	if ((err = group_append(gen)) != 0) {
		rollback(0);
		return err_of(err);
	}
	rec.gen = gen;
	/* Written: what was before is forgotten. */
	for (size_t i = 0; i < rec.nundo; i++) {
		free(rec.undo[i].data);
		rec.undo[i].e->undo = -1;
	}
	rec.nundo = 0;
	return XSE_OK;
}

bool rec_flush(void)
{
	int err;

	if (rec.depth)
		return false;
	if ((err = wal_sync()) != 0) {
		errno = err;
		fatal("store: cannot sync the write-ahead log");
	}
	return true;
}

static void ckpt_encode(unsigned char out[CKPT_SIZE], uint64_t ckpt, uint64_t gen)
{
	memset(out, 0, CKPT_SIZE);
	put32(out, CKPT_MAGIC);
	for (int i = 0; i < 8; i++) {
		out[8 + i] = (unsigned char)(ckpt >> (8 * i));
		out[16 + i] = (unsigned char)(gen >> (8 * i));
	}
}

/* 1 read, 0 absent, -1 not a checkpoint record. */
static int ckpt_read(struct tdb_context *tdb, uint64_t *ckpt, uint64_t *gen)
{
	TDB_DATA k = {(unsigned char *)CKPT_KEY, sizeof(CKPT_KEY) - 1};
	TDB_DATA d = tdb_fetch(tdb, k);
	int r = 1;

	*ckpt = *gen = 0;
	if (!d.dptr)
		return 0;
	if (d.dsize != CKPT_SIZE || get32(d.dptr) != CKPT_MAGIC)
		r = -1;
	for (int i = 0; r > 0 && i < 8; i++) {
		*ckpt |= (uint64_t)d.dptr[8 + i] << (8 * i);
		*gen |= (uint64_t)d.dptr[16 + i] << (8 * i);
	}
	free(d.dptr);
	return r;
}

static int ckpt_write(struct tdb_context *tdb, uint64_t ckpt, uint64_t gen)
{
	unsigned char buf[CKPT_SIZE];
	TDB_DATA k = {(unsigned char *)CKPT_KEY, sizeof(CKPT_KEY) - 1}, d = {buf, sizeof(buf)};

	ckpt_encode(buf, ckpt, gen);
	return tdb_store(tdb, k, d, TDB_REPLACE);
}

/* A record of the overlay into tdb, with room to grow: 0, or -1. */
static int ov_write(struct tdb_context *tdb, const struct ov *e)
{
	static const unsigned char zeros[4096];
	TDB_DATA k = {(unsigned char *)e->key, e->klen};

	if (e->state == OV_DELETED)
		return tdb_delete(tdb, k) != 0 && tdb_error(tdb) != TDB_ERR_NOEXIST ? -1 : 0;
	size_t room = rec.room ? rec.room(e->key, e->klen, e->data, e->len) : e->len;
	size_t pad = room > e->len ? room - e->len : 0;
	TDB_DATA parts[2] = {{e->data, e->len}, {(unsigned char *)zeros, pad < sizeof(zeros) ? pad : sizeof(zeros)}};

	return tdb_storev(tdb, k, parts, 2, TDB_REPLACE) != 0 ? -1 : 0;
}

/* Every record of the overlay into tdb, and the checkpoint record: -1 on the first failure. */
static int ckpt_apply(uint64_t ckpt)
{
	for (size_t i = 0; i < rec.nbuckets; i++) {
		for (struct ov *e = rec.buckets[i]; e; e = e->next) {
			wal_crash_point_ckpt();
			if (ov_write(rec.tdb, e) != 0)
				return -1;
		}
	}
	return ckpt_write(rec.tdb, ckpt, rec.gen);
}

static int copy_record(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *to)
{
	(void)tdb;
	return tdb_store(to, key, data, TDB_REPLACE) == 0 ? 0 : -1;
}

/*
 * tdb's own structure is damaged (a free list pointing nowhere, say: not
 * something a crash does now that tdb is written only in transactions, but
 * a damaged disk may). The records stay reachable through the hash
 * chains: they are copied into a fresh file, which replaces the old.
 */
static bool rebuild_file(void)
{
	char tmp[sizeof(rec.file) + 16];
	struct tdb_context *fresh;
	bool ok;

	log_warnx("store: tdb's own structure is damaged; copying the records to a fresh file");
	snprintf(tmp, sizeof(tmp), "%s.rebuild", rec.file);
	unlink(tmp);
	fresh = tdb_open(tmp, (int)rec.hash_size, rec.tdb_flags, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (!fresh)
		return false;
	ok = tdb_traverse_read(rec.tdb, copy_record, fresh) >= 0 &&
	     (!wal_syncs() || fdatasync(tdb_fd(fresh)) == 0);
	tdb_close(fresh);
	if (!ok || rename(tmp, rec.file) != 0) {
		unlink(tmp);
		return false;
	}
	tdb_changing();
	tdb_close(rec.tdb);
	rec.tdb = tdb_open(rec.file, 0, rec.tdb_flags, O_RDWR, 0600);
	if (!rec.tdb)
		fatal("store: cannot open the rebuilt %s", rec.file);
	tdb_set_max_dead(rec.tdb, 0);
	return true;
}

/* One try: 0, or the errno of the failure (the transaction cancelled, tdb as it was). */
static int ckpt_once(void)
{
	int err;

	tdb_changing();
	if (tdb_transaction_start(rec.tdb) != 0)
		return errno ? errno : EIO;
	errno = 0;
	if (ckpt_apply(rec.ckpt + 1) != 0) {
		err = errno ? errno : EIO;
		log_warnx("store: checkpoint: %s (%s)", tdb_errorstr(rec.tdb), strerror(err));
		tdb_transaction_cancel(rec.tdb);
		return err;
	}
	wal_crash_point_ckpt();
	errno = 0;
	if (tdb_transaction_commit(rec.tdb) != 0) {
		err = errno ? errno : EIO;
		log_warnx("store: checkpoint commit: %s (%s)", tdb_errorstr(rec.tdb), strerror(err));
		if (tdb_transaction_active(rec.tdb))
			tdb_transaction_cancel(rec.tdb);
		return err;
	}
	return 0;
}

/* The store file's free space is measured afresh (after a checkpoint, a compaction, at open). */
static void measure_begin(void)
{
	struct stat st;

	cmp.measuring = cmp.measured = cmp.track = false;
	if (!cmp.on || !rec.tdb || fstat(tdb_fd(rec.tdb), &st) != 0)
		return;
	cmp.file_bytes = (uint64_t)st.st_size;
	/* A file smaller than the free space asked for cannot have that much to give back. */
	if (cmp.file_bytes < cmp.min_free)
		return;
	cmp.track = true;
	cmp.measuring = true;
	cmp.walk_begun = false;
	cmp.walk_sum = cmp.walk_n = 0;
	cmp.recovery_bytes = 0;
}

/*
 * The store file holds the overlay now (a checkpoint, a compaction): the
 * overlay goes and the log starts afresh (crash_point before it). Until
 * the log names the new checkpoint, its old groups must not be followed
 * by new ones: appends wait for it (log_stale).
 */
static void overlay_written(void (*crash_point)(void))
{
	int err;

	ov_clear();
	rec.ckpt_retry_at = rec.ckpt_bytes;
	crash_point();
	if ((err = wal_reset(rec.ckpt)) != 0) {
		log_warnx("store: cannot start the write-ahead log afresh: %s", strerror(err));
		rec.log_stale = true;
	}
	measure_begin();
}

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* A slice of the measure: false once it is over (cmp.measured says whether it was whole). */
static bool measure_step(uint64_t deadline)
{
	int fd = tdb_fd(rec.tdb);
	uint32_t h[TDBF_REC_HEAD / 4];

	if (!cmp.walk_begun) {
		uint32_t version = 0, recovery = 0;

		cmp.walk_begun = true;
		if (!read_at(fd, &version, 4, TDBF_VERSION_AT) || version != TDBF_VERSION ||
		    !read_at(fd, &recovery, 4, TDBF_RECOVERY_AT) || !read_at(fd, &cmp.walk_at, 4, TDBF_FREELIST_AT))
			goto odd;
		if (recovery && read_at(fd, h, sizeof(h), recovery) &&
		    recovery + (uint64_t)TDBF_REC_HEAD + h[1] <= cmp.file_bytes)
			cmp.recovery_bytes = TDBF_REC_HEAD + (uint64_t)h[1];
	}
	for (unsigned n = 1; cmp.walk_at; n++) {
		if (n % 64 == 0 && clock_us() >= deadline)
			return true;
		/* Bounds, its magic, and no loop: a list of more records than fit in the file is not one. */
		if (cmp.walk_at < TDBF_FREELIST_AT || cmp.walk_at + (uint64_t)TDBF_REC_HEAD > cmp.file_bytes ||
		    !read_at(fd, h, sizeof(h), cmp.walk_at) || h[5] != TDBF_FREE_MAGIC ||
		    cmp.walk_at + (uint64_t)TDBF_REC_HEAD + h[1] > cmp.file_bytes ||
		    ++cmp.walk_n > cmp.file_bytes / TDBF_REC_HEAD)
			goto odd;
		cmp.walk_sum += TDBF_REC_HEAD + (uint64_t)h[1];
		cmp.walk_at = h[0];
	}
	cmp.free_bytes = cmp.walk_sum;
	cmp.measuring = false;
	cmp.measured = true;
	return false;
odd:
	if (!cmp.odd_told)
		log_warnx("store: the free space of %s cannot be measured (tdb's free list is not as this"
			  " daemon reads it, at %u); it is not compacted", rec.file, (unsigned)cmp.walk_at);
	cmp.odd_told = true;
	cmp.measuring = false;
	return false;
}

/* Whether the free space measured, and what the overlay deletes, ask for a compaction now. */
static bool compact_due(void)
{
	uint64_t free_bytes = cmp.free_bytes + cmp.pending;
	uint64_t file = cmp.file_bytes > cmp.recovery_bytes ? cmp.file_bytes - cmp.recovery_bytes : 0;

	return cmp.measured && !cmp.active && !rec.depth && !rec.log_stale && clock_us() >= cmp.not_before_us &&
	       free_bytes >= cmp.min_free && free_bytes * 100 >= (uint64_t)cmp.min_percent * file;
}

/* The compaction is over: the list of records still to be written goes (each told it is off it). */
static void compact_end(void)
{
	for (size_t i = cmp.next_dirty; i < cmp.ndirty; i++)
		if (cmp.dirty[i])
			cmp.dirty[i]->dirty = -1;
	free(cmp.dirty);
	cmp.dirty = NULL;
	cmp.ndirty = cmp.next_dirty = cmp.cap_dirty = 0;
	cmp.active = false;
}

/* The compaction stops: its file goes, the store is as it was. */
static void compact_drop(void)
{
	compact_end();
	if (cmp.to)
		tdb_close(cmp.to);
	cmp.to = NULL;
	unlink(cmp.tmp);
}

/*
 * Give the compaction up, or do not begin it. One that failed is tried
 * again after a minute, then twice as long each time up to an hour; one
 * that gave way to writers after a second: what it cost is less than a
 * copy of the store per four checkpoints' worth of their writes.
 */
static void compact_abort(const char *why, bool failed)
{
	uint64_t wait_us = COMPACT_BUSY_US;

	compact_drop();
	if (failed) {
		cmp.backoff_us = cmp.backoff_us ? cmp.backoff_us * 2 : COMPACT_FAILED_US;
		if (cmp.backoff_us > COMPACT_BACKOFF_MAX_US)
			cmp.backoff_us = COMPACT_BACKOFF_MAX_US;
		wait_us = cmp.backoff_us;
	}
	cmp.not_before_us = clock_us() + wait_us;
	if (failed)
		log_warnx("store: compaction given up (%s); tried again in %llu s at the earliest", why,
			  (unsigned long long)(wait_us / 1000000u));
	else
		log_info("store: compaction given up (%s); tried again in a second at the earliest", why);
}

/*
 * The new file takes about what is not free in the old one; the log must
 * still find room for its groups meanwhile, so that clients' writes are
 * not refused for want of it: a checkpoint's worth of log beside it.
 */
static bool room_for_copy(void)
{
	uint64_t free_bytes = cmp.free_bytes + cmp.pending;
	uint64_t live = cmp.file_bytes > free_bytes ? cmp.file_bytes - free_bytes : 0;

	return wal_dir_avail() >= live + rec.ckpt_bytes;
}

static void compact_begin(void)
{
	snprintf(cmp.tmp, sizeof(cmp.tmp), "%s.compact", rec.file);
	unlink(cmp.tmp);
	cmp.active = true;
	cmp.lost = cmp.copy_failed = false;
	cmp.chain = 0;
	cmp.copied = cmp.applied = 0;
	cmp.ndirty = cmp.next_dirty = 0;
	cmp.began_us = clock_us();
	if (!room_for_copy()) {
		compact_abort("not enough room in the file system for a copy of the store", true);
		return;
	}
	cmp.nchains = (uint32_t)tdb_hash_size(rec.tdb);
	cmp.to = tdb_open(cmp.tmp, (int)cmp.nchains, rec.tdb_flags, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (!cmp.to) {
		compact_abort(strerror(errno), true);
		return;
	}
	tdb_set_max_dead(cmp.to, 0);
	/* What the overlay holds is written after the copy, over what tdb held. */
	for (size_t i = 0; i < rec.nbuckets; i++)
		for (struct ov *e = rec.buckets[i]; e; e = e->next)
			dirty_add(e);
	log_info("store: compacting %s: %llu of its %llu bytes are free", rec.file,
		 (unsigned long long)(cmp.free_bytes + cmp.pending), (unsigned long long)cmp.file_bytes);
}

/* A record of the old file into the new one, unless the overlay has it (written after the copy). */
static int copy_record_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	(void)tdb;
	(void)p;
	if (is_ckpt_key(key) || (rec.count && ov_find(key.dptr, key.dsize, hmap_hash64(key.dptr, key.dsize))))
		return 0;
	if (tdb_store(cmp.to, key, data, TDB_REPLACE) != 0) {
		cmp.copy_failed = true;
		return -1;
	}
	cmp.copied++;
	return 0;
}

/*
 * The new file takes the store's place: a checkpoint's number, synced,
 * renamed over it, the directory synced; then the overlay is cleared and
 * the log started afresh, as after a checkpoint.
 */
static void compact_switch(void)
{
	struct tdb_context *old = rec.tdb;
	struct stat st;
	uint64_t after;

	wal_crash_point_compact();
	errno = 0;
	if (ckpt_write(cmp.to, rec.ckpt + 1, rec.gen) != 0 || (wal_syncs() && fdatasync(tdb_fd(cmp.to)) != 0)) {
		compact_abort(errno ? strerror(errno) : tdb_errorstr(cmp.to), true);
		return;
	}
	wal_crash_point_compact();
	if (rename(cmp.tmp, rec.file) != 0) {
		compact_abort(strerror(errno), true);
		return;
	}
	/* From here the store is the new file: the log's groups are in it, one checkpoint on. */
	if (wal_sync_dir() != 0)
		fatal("store: cannot sync the directory of %s after its compaction", rec.file);
	wal_crash_point_compact();
	tdb_changing();
	rec.tdb = cmp.to;
	cmp.to = NULL;
	compact_end();
	tdb_close(old);
	rec.ckpt++;
	after = fstat(tdb_fd(rec.tdb), &st) == 0 ? (uint64_t)st.st_size : 0;
	cmp.done++;
	cmp.given_back += cmp.file_bytes > after ? cmp.file_bytes - after : 0;
	cmp.backoff_us = 0;
	log_info("store: compacted %s from %llu to %llu bytes (%zu records copied, %zu written after them)"
		 " in %llu ms", rec.file, (unsigned long long)cmp.file_bytes, (unsigned long long)after,
		 cmp.copied, cmp.applied, (unsigned long long)((clock_us() - cmp.began_us) / 1000u));
	overlay_written(wal_crash_point_compact);
}

/*
 * A slice of the compaction: the copy, chain by chain, then the overlay's
 * records; at the end, the switch. Each slice goes at least one step on.
 */
static bool compact_step(uint64_t deadline)
{
	bool first = true;

	if (cmp.lost) {
		compact_abort("no memory to list the changes made meanwhile", true);
		return false;
	}
	for (; cmp.chain < cmp.nchains; cmp.chain++, first = false) {
		if (!first && clock_us() >= deadline)
			goto more;
		wal_crash_point_compact();
		errno = 0;
		if (tdb_traverse_chain(rec.tdb, cmp.chain, copy_record_cb, NULL) < 0 || cmp.copy_failed) {
			compact_abort(errno ? strerror(errno) : tdb_errorstr(cmp.to), true);
			return false;
		}
	}
	while (cmp.next_dirty < cmp.ndirty) {
		struct ov *e = cmp.dirty[cmp.next_dirty];

		if (e && !first && clock_us() >= deadline)
			goto more;
		cmp.next_dirty++;
		if (!e)
			continue;
		first = false;
		e->dirty = -1;
		wal_crash_point_compact();
		errno = 0;
		if (ov_write(cmp.to, e) != 0) {
			compact_abort(errno ? strerror(errno) : tdb_errorstr(cmp.to), true);
			return false;
		}
		cmp.applied++;
	}
	cmp.ndirty = cmp.next_dirty = 0;
	/* The switch in a slice of its own: it syncs. */
	if (clock_us() >= deadline)
		goto more;
	compact_switch();
	return false;
more:
	/* The copy's pages start to go to the disk now, so that the last sync has little left to wait for. */
	if (wal_syncs())
		sync_file_range(tdb_fd(cmp.to), 0, 0, SYNC_FILE_RANGE_WRITE);
	return true;
}

bool rec_background(void)
{
	uint64_t deadline = clock_us() + cmp.slice_us;

	if (!rec.tdb || rec.depth)
		return false;
	if (cmp.active)
		return compact_step(deadline);
	if (cmp.measuring && measure_step(deadline))
		return true;
	if (!compact_due())
		return false;
	compact_begin();
	return cmp.active;
}

void rec_space(struct rec_space *s)
{
	s->measured = cmp.measured;
	s->compacting = cmp.active;
	s->file_bytes = cmp.file_bytes;
	s->recovery_bytes = cmp.recovery_bytes;
	s->free_bytes = cmp.free_bytes + cmp.pending;
	s->compactions = cmp.done;
	s->given_back = cmp.given_back;
}

enum xs_err rec_checkpoint(bool force)
{
	struct timespec t0, t1;
	int err;

	if (rec.depth || !rec.tdb)
		return XSE_OK;
	uint64_t used = wal_bytes() > rec.bytes ? wal_bytes() : rec.bytes;

	if (!force && used < rec.ckpt_retry_at)
		return XSE_OK;
	if (!rec.count && !wal_bytes() && !rec.log_stale)
		return XSE_OK;
	if (cmp.active) {
		/* A compaction under way writes the overlay into its file: the checkpoint waits for it, up to a point. */
		if (!force && used < COMPACT_CKPT_WAIT * rec.ckpt_bytes)
			return XSE_OK;
		compact_abort(force ? "a checkpoint could not wait" : "the write-ahead log grew too long meanwhile",
			      false);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = ckpt_once();
	if (err && err != ENOSPC && err != EFBIG && err != EDQUOT && err != ENOMEM &&
	    tdb_check(rec.tdb, NULL, NULL) != 0 && rebuild_file())
		err = ckpt_once();
	if (err) {
		/* The log keeps everything; try again once it has grown as much again. */
		rec.ckpt_retry_at = used + rec.ckpt_bytes;
		return err_of(err);
	}
	rec.ckpt++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("store: checkpoint %llu: %zu records into the store file, %llu bytes of log done with,"
		 " in %lld ms", (unsigned long long)rec.ckpt, rec.count, (unsigned long long)wal_bytes(),
		 (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	overlay_written(wal_crash_point_ckpt);
	return XSE_OK;
}

/* A group read back from the log: its records into the overlay, as written. */
static int replay_group(void *ctx, const unsigned char *body, size_t len, uint64_t gen)
{
	size_t pos = 0;
	unsigned op;
	const unsigned char *key, *data;
	uint32_t klen, dlen;
	int r;

	(void)ctx;
	rec_begin();
	while ((r = wal_record_next(body, len, &pos, &op, &key, &klen, &data, &dlen)) == 1) {
		TDB_DATA k = {(unsigned char *)key, klen}, d = {(unsigned char *)data, dlen};

		if ((op == WAL_PUT ? rec_put(k, &d, 1) : rec_del(k)) != XSE_OK)
			break;
	}
	if (r != 0) {
		rec_end(false, 0);
		log_warnx("store: a group of the write-ahead log does not parse");
		return -1;
	}
	/* Kept as committed: nothing to append again. */
	rec.depth--;
	for (size_t i = 0; i < rec.nundo; i++) {
		free(rec.undo[i].data);
		rec.undo[i].e->undo = -1;
	}
	rec.nundo = 0;
	rec.gen = gen;
	return 0;
}

/* A new, empty store file, made whole under another name and then put in place. */
static int create_file(void)
{
	char tmp[sizeof(rec.file) + 8];
	struct tdb_context *t;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.new", rec.file);
	unlink(tmp);
	t = tdb_open(tmp, (int)rec.hash_size, rec.tdb_flags, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (!t)
		return -1;
	ok = tdb_transaction_start(t) == 0 && ckpt_write(t, 0, 0) == 0 && tdb_transaction_commit(t) == 0;
	tdb_close(t);
	if (!ok || rename(tmp, rec.file) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

enum xs_err rec_open(const struct rec_options *o, struct rec_opened *out, const char **reason)
{
	static char why[4400 + 256];
	struct stat st;
	uint64_t log_ckpt;
	const char *env = getenv("XENSTORED_TEST_CHECKPOINT");

	memset(out, 0, sizeof(*out));
	if (snprintf(rec.file, sizeof(rec.file), "%s", o->file) >= (int)sizeof(rec.file)) {
		*reason = "store path too long";
		return XSE_EIO;
	}
	rec.hash_size = o->hash_size;
	rec.room = o->room;
	rec.tdb_flags = TDB_NOLOCK | TDB_INCOMPATIBLE_HASH;
	rec.ckpt_bytes = env && atoll(env) > 0 ? (uint64_t)atoll(env) : CKPT_BYTES;
	rec.ckpt_retry_at = rec.ckpt_bytes;
	rec.log_stale = false;
	cmp.on = o->compact;
	cmp.min_free = o->compact_min_free;
	cmp.min_percent = o->compact_min_percent;
	cmp.slice_us = o->compact_slice_us;
	cmp.not_before_us = cmp.backoff_us = 0;
	/* A compaction cut short: its file was never the store. */
	snprintf(cmp.tmp, sizeof(cmp.tmp), "%s.compact", o->file);
	if (unlink(cmp.tmp) == 0)
		log_info("store: removed %s, left by a compaction cut short", cmp.tmp);
	if (o->fresh)
		unlink(o->file);
	if (stat(o->file, &st) != 0) {
		if (errno != ENOENT || create_file() != 0) {
			snprintf(why, sizeof(why), "cannot create %s: %s", o->file, strerror(errno));
			*reason = why;
			return XSE_EIO;
		}
		out->created = true;
	}
	/*
	 * Never O_CREAT here: tdb would make a file whose header is not its
	 * own into an empty store, and the tree would be lost without a word.
	 * tdb_open also rolls back a checkpoint cut short (its recovery area).
	 */
	tdb_changing();
	rec.tdb = tdb_open(o->file, 0, rec.tdb_flags, O_RDWR, 0600);
	if (!rec.tdb) {
		snprintf(why, sizeof(why),
			 "cannot open %s: %s (not a tdb file, or its header is damaged; move it away to"
			 " start afresh, or use --fresh-store)", o->file, strerror(errno));
		*reason = why;
		return XSE_EIO;
	}
	/*
	 * Deleted records go straight to tdb's free list: a chunk outgrowing
	 * its class moves to a new key, and a dead record kept in the old key's
	 * hash chain would only serve that chain.
	 */
	tdb_set_max_dead(rec.tdb, 0);
	if (ckpt_read(rec.tdb, &rec.ckpt, &rec.gen) < 0) {
		snprintf(why, sizeof(why), "%s: its checkpoint record is damaged (use --fresh-store)", o->file);
		*reason = why;
		goto fail;
	}
	/* Before the log is read back: what the records it deletes take in the file counts as free. */
	measure_begin();
	if (wal_open(o->file, o->fresh || out->created, rec.ckpt, &log_ckpt, reason) != 0)
		goto fail;
	if (log_ckpt + 1 == rec.ckpt) {
		/* A checkpoint ended before its log was started afresh: the log's groups are in tdb. */
		log_info("store: the write-ahead log was checkpointed already; starting it afresh");
		if (wal_reset(rec.ckpt) != 0) {
			*reason = "cannot start the write-ahead log afresh";
			goto fail;
		}
	} else if (log_ckpt != rec.ckpt) {
		snprintf(why, sizeof(why),
			 "the write-ahead log beside %s follows checkpoint %llu, the store is at %llu: they"
			 " are not of the same store (move the log away to start from the store's last"
			 " checkpoint, or use --fresh-store)", o->file, (unsigned long long)log_ckpt,
			 (unsigned long long)rec.ckpt);
		*reason = why;
		goto fail;
	} else if (wal_replay(replay_group, NULL, &out->groups, &out->cut) != 0) {
		snprintf(why, sizeof(why), "the write-ahead log beside %s cannot be read back (use --fresh-store)",
			 o->file);
		*reason = why;
		goto fail;
	}
	out->gen = rec.gen;
	return XSE_OK;
fail:
	wal_close();
	ov_clear();
	tdb_close(rec.tdb);
	rec.tdb = NULL;
	return XSE_EIO;
}

uint64_t rec_changes(void)
{
	return rec.changes;
}

void rec_close(void)
{
	rec.changes++;
	if (!rec.tdb)
		return;
	if (rec.depth) {
		rec.depth = 1;
		rec_end(false, 0);
		rec.depth = 0;
	}
	if (cmp.active) {
		log_info("store: the compaction under way stops with the store");
		compact_drop();
	}
	if (rec_checkpoint(true) != XSE_OK)
		log_warnx("store: the last checkpoint failed; the next start reads the write-ahead log back");
	wal_close();
	tdb_changing();
	tdb_close(rec.tdb);
	rec.tdb = NULL;
	ov_clear();
	free(rec.buckets);
	rec.buckets = NULL;
	rec.nbuckets = 0;
	free(rec.undo);
	rec.undo = NULL;
	rec.cap_undo = 0;
	free(rec.gbuf);
	rec.gbuf = NULL;
	rec.gcap = 0;
	cmp.measuring = cmp.measured = cmp.track = false;
}

void rec_stats(struct rec_stats *s)
{
	s->overlay_records = rec.count;
	s->overlay_bytes = rec.bytes;
	s->log_bytes = rec.tdb ? wal_bytes() : 0;
	s->checkpoints = rec.ckpt;
}

uint64_t rec_file_bytes(void)
{
	struct stat st;

	if (!rec.tdb || fstat(tdb_fd(rec.tdb), &st) != 0)
		return 0;
	return (uint64_t)st.st_size + wal_bytes();
}

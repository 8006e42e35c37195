/* Opening and closing the store: the initial tree, the structural check, and recovery after a crash. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirindex.h"
#include "grow.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"

struct check_ctx {
	size_t records; /* node records the walk from "/" reached */
	size_t chunks;  /* chunks it reached */
	char fault[XS_PATH_BUF + 128];
};

static bool check_visit(void *ctx, const char *path, const struct store_node *n)
{
	struct check_ctx *c = ctx;
	struct arena a = {0};
	unsigned count = 0;
	size_t bytes = 0;
	uint32_t id = n->first_chunk, prev = 0;

	if (n->in_chunk) {
		/* A record beside the entry: a move to a record of its own was cut short. */
		if (tdb_exists(store_st.tdb, key_of(path)))
			snprintf(c->fault, sizeof(c->fault), "%s: both in a chunk and in a record", path);
		return !c->fault[0];
	}
	c->records++;
	while (id && !c->fault[0]) {
		struct chunk ch;
		struct fmt_entry e;
		size_t off;

		arena_reset(&a);
		if (store_chunk_read(&a, path, id, &ch) < 0) {
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u missing or damaged", path, id);
			break;
		}
		c->chunks++;
		if (ch.prev != prev || !ch.len)
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u badly linked", path, id);
		for (off = 0; off < ch.len && fmt_entry_at(ch.body, ch.len, off, &e); off += e.len) {
			count++;
			bytes += e.nlen + 1;
		}
		if (off != ch.len)
			snprintf(c->fault, sizeof(c->fault), "%s: chunk %u has a damaged entry", path, id);
		if (!ch.next && id != n->last_chunk)
			snprintf(c->fault, sizeof(c->fault), "%s: last chunk is not %u", path, id);
		prev = id;
		id = ch.next;
	}
	if (!c->fault[0] && (count != n->nchildren || bytes != n->children_bytes))
		snprintf(c->fault, sizeof(c->fault), "%s: %u children of %zu bytes listed, %u of %zu recorded",
			 path, count, bytes, n->nchildren, n->children_bytes);
	arena_free(&a);
	return !c->fault[0];
}

struct record_count {
	size_t records, chunks;
};

static int count_tree_records(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct record_count *rc = p;

	(void)tdb;
	(void)data;
	/* Records of the tree: a path, and for chunks a NUL and an id after it. */
	if (!key.dsize || key.dptr[0] != '/')
		return 0;
	if (memchr(key.dptr, '\0', key.dsize))
		rc->chunks++;
	else
		rc->records++;
	return 0;
}

const char *store_check(void)
{
	static struct check_ctx c;
	struct record_count rc = {0, 0};
	char walk_fault[XS_PATH_BUF];

	c.fault[0] = '\0';
	c.records = c.chunks = 0;
	if (store_walk_fault("/", check_visit, &c, walk_fault) < 0 && !c.fault[0])
		snprintf(c.fault, sizeof(c.fault), "%s: missing or damaged", walk_fault);
	/* A removal cut short leaves records that no list reaches any more. */
	if (!c.fault[0] && tdb_traverse_read(store_st.tdb, count_tree_records, &rc) >= 0 &&
	    (rc.records != c.records || rc.chunks != c.chunks))
		snprintf(c.fault, sizeof(c.fault),
			 "%zu node records and %zu chunks, %zu and %zu reachable from /", rc.records,
			 rc.chunks, c.records, c.chunks);
	return c.fault[0] ? c.fault : NULL;
}

/* A tdb transaction on the store itself: only for repairs, whose cost does not matter. */
static enum xs_err batch_begin(void)
{
	store_st.epoch++;
	return tdb_transaction_start(store_st.tdb) == 0 ? XSE_OK : XSE_EIO;
}

static enum xs_err batch_commit(void)
{
	store_st.epoch++;
	if (tdb_transaction_commit(store_st.tdb) != 0) {
		log_error("store: commit failed: %s", tdb_errorstr(store_st.tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

/*
 * Rebuilding after a crash cut a plain (non-transactional) change short.
 * Every node record and every entry of every chunk is a candidate. A node
 * record is kept if it is the root or an @ node, or its parent's record is
 * kept; an entry is kept if its directory's record is (an entry standing
 * for a record only if that record is kept). Each kept directory's chunks
 * are written anew: its children in their old order as far as its chain
 * can be followed, the others after them, each name once.
 */
struct repair_chunk {
	uint32_t id, next;
	uint64_t order; /* position in the chain, or past it by id */
	unsigned char *body;
	size_t len;
};

struct repair_dir {
	struct hnode h;
	char *path;
	struct repair_chunk *chunks;
	size_t nchunks, cap_chunks;
	char **records; /* names of kept children that have records */
	size_t nrecords, cap_records;
};

struct repair_name {
	struct hnode h;
	char *path;
};

struct repair {
	struct hmap dirs;   /* directory path -> its chunks and child records */
	struct hmap kept;   /* kept record paths */
	struct hmap placed; /* child paths already written */
	char **records;     /* every record path */
	size_t nrecords, cap_records;
	TDB_DATA *chunk_keys;
	size_t nkeys, cap_keys;
	bool oom;
};

static struct repair_dir *repair_dir_get(struct repair *r, const char *path)
{
	struct hnode *h = hmap_find(&r->dirs, path);
	struct repair_dir *d;

	if (h)
		return (struct repair_dir *)h;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return NULL;
	}
	d->h.key = d->path;
	if (!hmap_insert(&r->dirs, &d->h)) {
		free(d->path);
		free(d);
		return NULL;
	}
	return d;
}

static bool repair_name_add(struct hmap *m, const char *path)
{
	struct repair_name *n = calloc(1, sizeof(*n));

	if (!n || !(n->path = strdup(path))) {
		free(n);
		return false;
	}
	n->h.key = n->path;
	if (!hmap_insert(m, &n->h)) {
		free(n->path);
		free(n);
		return false;
	}
	return true;
}

static void repair_names_free(struct hmap *m)
{
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct hnode *h = m->buckets[b];

		while (h) {
			struct repair_name *n = (struct repair_name *)h;

			h = h->next;
			free(n->path);
			free(n);
		}
	}
	hmap_free(m);
}

static int repair_collect(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct repair *r = p;
	size_t dlen = 0;
	uint32_t id = 0;
	enum fmt_key kind = fmt_key_kind(key.dptr, key.dsize, &dlen, &id);

	(void)tdb;
	if (kind == FMT_KEY_META)
		return 0;
	if (kind == FMT_KEY_RECORD) {
		char *path = strndup((const char *)key.dptr, key.dsize);

		if (!path || !GROW(r->records, r->cap_records, r->nrecords + 1, 64)) {
			free(path);
			r->oom = true;
			return -1;
		}
		r->records[r->nrecords++] = path;
		return 0;
	}
	/* A chunk: keep its key (it goes) and, if it parses, its entries. */
	TDB_DATA k = {malloc(key.dsize), key.dsize};
	char dir[XS_PATH_BUF];
	struct fmt_chunk ch;
	struct repair_dir *rd;

	if (!k.dptr || !GROW(r->chunk_keys, r->cap_keys, r->nkeys + 1, 64)) {
		free(k.dptr);
		r->oom = true;
		return -1;
	}
	memcpy(k.dptr, key.dptr, key.dsize);
	r->chunk_keys[r->nkeys++] = k;
	if (kind != FMT_KEY_CHUNK || dlen >= sizeof(dir) || !fmt_chunk_decode(data.dptr, data.dsize, &ch))
		return 0;
	memcpy(dir, key.dptr, dlen);
	dir[dlen] = '\0';
	if (!(rd = repair_dir_get(r, dir)) || !GROW(rd->chunks, rd->cap_chunks, rd->nchunks + 1, 64)) {
		r->oom = true;
		return -1;
	}
	struct repair_chunk *rc = &rd->chunks[rd->nchunks];

	rc->id = id;
	rc->next = ch.next;
	rc->len = ch.len;
	rc->order = UINT64_MAX;
	if (!(rc->body = malloc(ch.len ? ch.len : 1))) {
		r->oom = true;
		return -1;
	}
	memcpy(rc->body, ch.body, ch.len);
	rd->nchunks++;
	return 0;
}

static int by_depth(const void *a, const void *b)
{
	unsigned x = xs_path_depth(*(char *const *)a), y = xs_path_depth(*(char *const *)b);

	return x < y ? -1 : x > y;
}

static int by_id(const void *a, const void *b)
{
	const struct repair_chunk *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_order(const void *a, const void *b)
{
	const struct repair_chunk *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* Put d's chunks in order: its chain from first, then the rest by id. */
static void repair_order(struct repair_dir *d, uint32_t first)
{
	uint64_t pos = 0;

	qsort(d->chunks, d->nchunks, sizeof(*d->chunks), by_id);
	for (uint32_t id = first; id;) {
		struct repair_chunk key = {.id = id}, *c;

		c = bsearch(&key, d->chunks, d->nchunks, sizeof(*d->chunks), by_id);
		if (!c || c->order != UINT64_MAX)
			break; /* missing, or a loop */
		c->order = pos++;
		id = c->next;
	}
	for (size_t i = 0; i < d->nchunks; i++)
		if (d->chunks[i].order == UINT64_MAX)
			d->chunks[i].order = ((uint64_t)1 << 32) + d->chunks[i].id;
	qsort(d->chunks, d->nchunks, sizeof(*d->chunks), by_order);
}

/*
 * Append one child to the directory being rewritten, unless it is there
 * already: entry is its old entry (NULL if it stood for a record).
 */
static enum xs_err repair_place(struct repair *r, struct arena *a, const char *dir, struct store_node *dn,
				const char *name, const unsigned char *entry, size_t elen)
{
	char cpath[XS_PATH_BUF];
	struct fmt_buf stand_in = {.arena = a};
	enum xs_err err;

	child_path(cpath, dir, name);
	if (hmap_find(&r->placed, cpath))
		return XSE_OK;
	if (hmap_find(&r->kept, cpath)) {
		if (!fmt_entry_encode(&stand_in, name, true, 0, NULL, 0, NULL, 0))
			return XSE_ENOMEM;
		entry = stand_in.p;
		elen = stand_in.len;
	} else if (!entry) {
		return XSE_OK; /* stands for a record that is gone */
	}
	if (!repair_name_add(&r->placed, cpath))
		err = XSE_ENOMEM;
	else
		err = store_entry_append(a, dir, dn, name, entry, elen);
	fmt_buf_free(&stand_in);
	if (err != XSE_OK)
		return err;
	dn->nchildren++;
	dn->children_bytes += strlen(name) + 1;
	return XSE_OK;
}

/* Write directory path's chunks anew from what was found. */
static enum xs_err repair_dir_write(struct repair *r, struct arena *a, const char *path)
{
	struct repair_dir *d = (struct repair_dir *)hmap_find(&r->dirs, path);
	struct store_node dn;
	enum xs_err err = XSE_OK;

	if (store_record_read(a, path, true, &dn) != 1)
		return XSE_EIO;
	if (d)
		repair_order(d, dn.first_chunk);
	dn.first_chunk = dn.last_chunk = 0;
	dn.next_chunk_id = 1;
	dn.nchildren = 0;
	dn.children_bytes = 0;
	for (size_t i = 0; d && i < d->nchunks && err == XSE_OK; i++) {
		struct repair_chunk *c = &d->chunks[i];
		struct fmt_entry e;

		for (size_t off = 0; off < c->len && err == XSE_OK && fmt_entry_at(c->body, c->len, off, &e);
		     off += e.len) {
			bool own = e.flags & ENTRY_OWN_RECORD;

			err = repair_place(r, a, path, &dn, e.name, own ? NULL : c->body + off, e.len);
		}
	}
	for (size_t i = 0; d && i < d->nrecords && err == XSE_OK; i++)
		err = repair_place(r, a, path, &dn, d->records[i], NULL, 0);
	return err == XSE_OK ? store_record_put(a, path, &dn) : err;
}

static void repair_free(struct repair *r)
{
	for (size_t b = 0; b < r->dirs.nbuckets; b++) {
		struct hnode *h = r->dirs.buckets[b];

		while (h) {
			struct repair_dir *d = (struct repair_dir *)h;

			h = h->next;
			for (size_t i = 0; i < d->nchunks; i++)
				free(d->chunks[i].body);
			free(d->chunks);
			free(d->records);
			free(d->path);
			free(d);
		}
	}
	hmap_free(&r->dirs);
	repair_names_free(&r->kept);
	repair_names_free(&r->placed);
	for (size_t i = 0; i < r->nrecords; i++)
		free(r->records[i]);
	free(r->records);
	for (size_t i = 0; i < r->nkeys; i++)
		free(r->chunk_keys[i].dptr);
	free(r->chunk_keys);
}

/* Keep or drop each record, parents first (r->records sorted by depth), and list kept children. */
static enum xs_err repair_keep(struct repair *r, size_t *kept, size_t *dropped)
{
	for (size_t i = 0; i < r->nrecords; i++) {
		char *p = r->records[i], parent[XS_PATH_BUF];
		struct repair_dir *pd;

		if (has_parent(p)) {
			parent_of(parent, p);
			if (!hmap_find(&r->kept, parent)) {
				log_error("store repair: %s has no parent, dropped", p);
				(*dropped)++;
				if (tdb_delete(store_st.tdb, key_of(p)) != 0)
					return XSE_EIO;
				continue;
			}
			if (!(pd = repair_dir_get(r, parent)) ||
			    !GROW(pd->records, pd->cap_records, pd->nrecords + 1, 64))
				return XSE_ENOMEM;
			pd->records[pd->nrecords++] = (char *)xs_path_basename(p);
		}
		if (!repair_name_add(&r->kept, p))
			return XSE_ENOMEM;
		(*kept)++;
	}
	return XSE_OK;
}

static enum xs_err store_repair(void)
{
	struct repair r = {0};
	struct arena a = {0};
	enum xs_err err = XSE_OK;
	size_t kept = 0, dropped = 0;

	dirindex_clear();
	if (tdb_traverse_read(store_st.tdb, repair_collect, &r) < 0 || r.oom)
		err = XSE_ENOMEM;
	if (err == XSE_OK)
		err = batch_begin();
	if (err == XSE_OK) {
		qsort(r.records, r.nrecords, sizeof(char *), by_depth);
		err = repair_keep(&r, &kept, &dropped);
		/* Old chunks go; each kept directory's are written anew. */
		for (size_t i = 0; i < r.nkeys && err == XSE_OK; i++)
			if (tdb_delete(store_st.tdb, r.chunk_keys[i]) != 0)
				err = XSE_EIO;
		for (size_t i = 0; i < r.nrecords && err == XSE_OK; i++) {
			if (r.records[i][0] != '/' || !hmap_find(&r.kept, r.records[i]))
				continue;
			arena_reset(&a);
			err = repair_dir_write(&r, &a, r.records[i]);
		}
		if (err == XSE_OK)
			err = batch_commit();
		else
			tdb_transaction_cancel(store_st.tdb);
	}
	log_info("store repair: %zu records kept, %zu dropped, chunks rebuilt: %s", kept, dropped,
		 err == XSE_OK ? "done" : xs_err_name(err));
	repair_free(&r);
	arena_free(&a);
	dirindex_clear();
	return err;
}

static int max_gen_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct arena a = {0};
	struct store_node n;
	struct fmt_chunk ch;
	struct fmt_entry e;
	uint64_t *max = p;
	size_t dlen;
	uint32_t id;

	(void)tdb;
	switch (fmt_key_kind(key.dptr, key.dsize, &dlen, &id)) {
	case FMT_KEY_META:
		break;
	case FMT_KEY_RECORD:
		if (fmt_record_decode(&a, data.dptr, data.dsize, false, &n) && n.gen > *max)
			*max = n.gen;
		break;
	case FMT_KEY_CHUNK:
	case FMT_KEY_BAD:
		if (!fmt_chunk_decode(data.dptr, data.dsize, &ch))
			break;
		for (size_t off = 0; off < ch.len && fmt_entry_at(ch.body, ch.len, off, &e); off += e.len) {
			if (!(e.flags & ENTRY_OWN_RECORD) && fmt_entry_node(&a, &e, false, &n) && n.gen > *max)
				*max = n.gen;
			arena_reset(&a);
		}
		break;
	}
	arena_free(&a);
	return 0;
}

static int copy_record(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *to)
{
	(void)tdb;
	return tdb_store(to, key, data, TDB_REPLACE) == 0 ? 0 : -1;
}

/*
 * tdb is crash-safe only inside its transactions: a daemon killed inside a
 * tdb_store can leave tdb's free list inconsistent, which tdb_check finds
 * and later allocations trip over. The records stay reachable through the
 * hash chains: they are copied into a fresh file, which replaces the old.
 */
static bool rebuild_file(const char *file, unsigned hash_size, int flags)
{
	char tmp[XS_PATH_BUF];
	struct tdb_context *fresh;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s.rebuild", file);
	unlink(tmp);
	fresh = tdb_open(tmp, (int)hash_size, flags, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (!fresh)
		return false;
	ok = tdb_traverse_read(store_st.tdb, copy_record, fresh) >= 0 &&
	     (!store_st.sync || fdatasync(tdb_fd(fresh)) == 0);
	tdb_close(fresh);
	if (!ok || rename(tmp, file) != 0) {
		unlink(tmp);
		return false;
	}
	tdb_close(store_st.tdb);
	store_st.tdb = tdb_open(file, 0, flags, O_RDWR, 0600);
	if (store_st.tdb)
		tdb_set_max_dead(store_st.tdb, 0);
	return store_st.tdb != NULL;
}

static enum xs_err create_initial_tree(uint32_t priv)
{
	struct xs_perm owner = {priv, XS_PERM_NONE, 0};
	struct xs_perm release[2] = {{priv, XS_PERM_NONE, 0}, {XS_DOMID_ANY, XS_PERM_READ, 0}};
	struct store_node root = {0}, special = {0};
	struct arena a = {0};
	enum xs_err err;

	root.gen = ++store_st.gen;
	root.perms = &owner;
	root.nperms = 1;
	root.value = "";
	if ((err = store_record_put(&a, "/", &root)) != XSE_OK) {
		arena_free(&a);
		return err;
	}
	err = store_create(&a, "/tool", &owner, 1, "", 0);
	if (err == XSE_OK)
		err = store_create(&a, "/tool/xenstored", &owner, 1, "", 0);
	special.gen = ++store_st.gen;
	special.value = "";
	special.perms = &owner;
	special.nperms = 1;
	if (err == XSE_OK)
		err = store_record_put(&a, "@introduceDomain", &special);
	special.perms = release;
	special.nperms = 2;
	if (err == XSE_OK)
		err = store_record_put(&a, "@releaseDomain", &special);
	arena_free(&a);
	return err;
}

/*
 * Not shut down cleanly. tdb has already rolled back a commit cut short
 * (its recovery area); generations may have moved past the saved one, and
 * the tree's own structure must still hold. NULL, or why it cannot be used.
 */
static const char *recover(const struct store_options *opt, int flags)
{
	uint64_t max = 0;
	const char *fault;

	log_info("store: previous run did not stop cleanly; checking %s", opt->file);
	if (tdb_check(store_st.tdb, NULL, NULL) != 0) {
		log_error("store: tdb's own structure is damaged; copying the records to a fresh file");
		if (!rebuild_file(opt->file, opt->hash_size, flags))
			return "store damaged beyond repair (use --fresh-store)";
	}
	tdb_traverse_read(store_st.tdb, max_gen_cb, &max);
	store_st.gen = max > store_st.gen ? max : store_st.gen;
	fault = store_check();
	if (fault) {
		/* A plain change (one request's few records) was cut short. */
		log_error("store: %s; rebuilding the child lists", fault);
		if (store_repair() != XSE_OK || store_check() != NULL)
			return "store damaged beyond repair (use --fresh-store)";
	}
	return NULL;
}

/*
 * Every node told to the hook as added, with its parent's permissions. The
 * walk is pre-order, so siblings follow one another and the parent's
 * permissions are read once for all of them.
 */
struct tell_ctx {
	struct arena arena;
	char parent[XS_PATH_BUF];
	struct store_node pnode;
	bool have_parent;
};

static bool tell_node(void *ctx, const char *path, const struct store_node *n)
{
	struct tell_ctx *t = ctx;
	char ppath[XS_PATH_BUF];

	if (strcmp(path, "/") == 0) {
		store_tell_added(path, n->perms, n->nperms, NULL, 0);
		return true;
	}
	parent_of(ppath, path);
	if (!t->have_parent || strcmp(ppath, t->parent) != 0) {
		arena_reset(&t->arena);
		t->have_parent = store_read(&t->arena, ppath, false, &t->pnode) == 1;
		strcpy(t->parent, ppath);
	}
	if (t->have_parent)
		store_tell_added(path, n->perms, n->nperms, t->pnode.perms, t->pnode.nperms);
	else
		STORE_TELL(lost);
	return true;
}

static void tell_all(void)
{
	struct tell_ctx *t;

	if (!store_st.nhooks)
		return;
	STORE_TELL(reset);
	if (!(t = calloc(1, sizeof(*t))) || store_walk("/", tell_node, t) < 0) {
		/* Serve anyway (CONTROL check reports the damage); clean-ups walk everything. */
		log_error("store: the tree could not be read whole; domain clean-ups will walk all of it");
		STORE_TELL(lost);
	}
	if (t)
		arena_free(&t->arena);
	free(t);
}

enum xs_err store_open(const struct store_options *opt, const char **reason)
{
	int flags = TDB_NOLOCK | TDB_INCOMPATIBLE_HASH;
	TDB_DATA mk = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	struct fmt_meta meta;
	TDB_DATA md;

	if (opt->fresh)
		unlink(opt->file);
	store_st.tdb = tdb_open(opt->file, (int)opt->hash_size, flags, O_RDWR | O_CREAT, 0600);
	if (!store_st.tdb) {
		*reason = strerror(errno);
		return XSE_EIO;
	}
	/*
	 * Deleted records go straight to tdb's free list: a chunk outgrowing
	 * its class moves to a new key, and a dead record kept in the old
	 * key's hash chain would only serve that chain (the file grew to three
	 * times its size that way).
	 */
	tdb_set_max_dead(store_st.tdb, 0);
	md = tdb_fetch(store_st.tdb, mk);
	store_st.applied = store_st.journal_seq = 0;
	/* A new store starts with a new journal: an old entry would be applied to the wrong tree. */
	if (journal_open(opt->file, opt->fresh || !md.dptr, reason) != XSE_OK)
		return XSE_EIO;
	store_st.sync = journal_syncs();
	if (!md.dptr) {
		store_st.gen = 0;
		if (create_initial_tree(opt->priv_domid) != XSE_OK) {
			*reason = "cannot write the initial tree";
			return XSE_EIO;
		}
	} else {
		bool ok = fmt_meta_decode(md.dptr, md.dsize, &meta);

		free(md.dptr);
		if (!ok) {
			*reason = "not a store of this daemon (use --fresh-store)";
			return XSE_EIO;
		}
		store_st.gen = meta.gen;
		store_st.applied = meta.applied;
		store_st.journal_seq = meta.applied;
		if (!meta.clean && (*reason = recover(opt, flags)) != NULL)
			return XSE_EIO;
	}
	if (store_replay("was cut short") != XSE_OK) {
		/*
		 * Serve anyway: a store that cannot start helps nobody. The commit
		 * may be partly in the store; the next start tries again.
		 */
		log_error("store: the commit journal could not be applied; the last commit may be"
			  " partly in the store");
		/* Given up, or every later commit would try it first and fail. */
		store_st.applied = store_st.journal_seq;
	}
	if (store_meta_write(false) != XSE_OK) {
		*reason = "cannot write the store header";
		return XSE_EIO;
	}
	dirindex_clear();
	tell_all();
	return XSE_OK;
}

void store_close(void)
{
	if (!store_st.tdb)
		return;
	store_meta_write(true);
	tdb_close(store_st.tdb);
	journal_close();
	STORE_TELL(reset);
	dirindex_clear();
	store_st.tdb = NULL;
}

uint64_t store_file_bytes(void)
{
	struct stat st;

	return store_st.tdb && fstat(tdb_fd(store_st.tdb), &st) == 0 ? (uint64_t)st.st_size : 0;
}

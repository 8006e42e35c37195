/* Opening and closing the store: the initial tree, telling the hooks, the structural check, and repair. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dirindex.h"
#include "grow.h"
#include "hmap.h"
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
		if (rec_exists(key_of(path)))
			snprintf(c->fault, sizeof(c->fault), "%s: both in a chunk and in a record", path);
		return !c->fault[0];
	}
	c->records++;
	while (id && !c->fault[0]) {
		struct chunk ch;
		struct fmt_entry e;
		size_t off;

		arena_reset(&a);
		if (store_chunk_read(&a, path, id, &ch) != XSE_OK) {
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

static int count_tree_records(TDB_DATA key, TDB_DATA data, void *p)
{
	struct record_count *rc = p;

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

	store_settle();
	c.fault[0] = '\0';
	c.records = c.chunks = 0;
	if (store_walk_fault("/", check_visit, &c, walk_fault) != XSE_OK && !c.fault[0])
		snprintf(c.fault, sizeof(c.fault), "%s: missing or damaged", walk_fault);
	/* A removal cut short leaves records that no list reaches any more. */
	if (!c.fault[0] && rec_traverse(count_tree_records, &rc) >= 0 &&
	    (rc.records != c.records || rc.chunks != c.chunks))
		snprintf(c.fault, sizeof(c.fault),
			 "%zu node records and %zu chunks, %zu and %zu reachable from /", rc.records,
			 rc.chunks, c.records, c.chunks);
	return c.fault[0] ? c.fault : NULL;
}

/*
 * Rebuilding a damaged tree (a crash no longer leaves one: every change is
 * a group of the log; but a disk may). Every node record and every entry
 * of every chunk is a candidate. A node
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

static int repair_collect(TDB_DATA key, TDB_DATA data, void *p)
{
	struct repair *r = p;
	size_t dlen = 0;
	uint32_t id = 0;
	enum fmt_key kind = fmt_key_kind(key.dptr, key.dsize, &dlen, &id);

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

	if (store_record_read(a, path, true, &dn) != XSE_OK)
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
				log_warnx("store repair: %s has no parent, dropped", p);
				(*dropped)++;
				if (rec_del(key_of(p)) != XSE_OK)
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
	if (rec_traverse(repair_collect, &r) < 0 || r.oom)
		err = XSE_ENOMEM;
	if (err == XSE_OK) {
		/* One group: the repair is whole or not at all, and goes to tdb at once. */
		store_group_begin();
		qsort(r.records, r.nrecords, sizeof(char *), by_depth);
		err = repair_keep(&r, &kept, &dropped);
		/* Old chunks go; each kept directory's are written anew. */
		for (size_t i = 0; i < r.nkeys && err == XSE_OK; i++)
			err = rec_del(r.chunk_keys[i]);
		for (size_t i = 0; i < r.nrecords && err == XSE_OK; i++) {
			if (r.records[i][0] != '/' || !hmap_find(&r.kept, r.records[i]))
				continue;
			arena_reset(&a);
			err = repair_dir_write(&r, &a, r.records[i]);
		}
		err = store_group_end(err);
		if (err == XSE_OK)
			err = rec_checkpoint(true);
	}
	log_info("store repair: %zu records kept, %zu dropped, chunks rebuilt: %s", kept, dropped,
		 err == XSE_OK ? "done" : xs_err_name(err));
	repair_free(&r);
	arena_free(&a);
	dirindex_clear();
	store_st.epoch++; /* whatever was read before is stale */
	return err;
}

static enum xs_err meta_put(void);

static enum xs_err create_initial_tree(uint32_t priv)
{
	struct xs_perm owner = {priv, XS_PERM_NONE, 0};
	struct xs_perm release[2] = {{priv, XS_PERM_NONE, 0}, {XS_DOMID_ANY, XS_PERM_READ, 0}};
	struct store_node root = {0}, special = {0};
	struct arena a = {0};
	enum xs_err err;

	store_group_begin();
	err = meta_put();
	root.gen = ++store_st.gen;
	root.perms = &owner;
	root.nperms = 1;
	root.value = "";
	if (err == XSE_OK)
		err = store_record_put(&a, "/", &root);
	if (err == XSE_OK)
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
	return store_group_end(err);
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
	size_t nodes;
};

static bool tell_node(void *ctx, const char *path, const struct store_node *n)
{
	struct tell_ctx *t = ctx;
	char ppath[XS_PATH_BUF];

	t->nodes++;
	if (strcmp(path, "/") == 0) {
		STORE_TELL(added, path, n->perms, n->nperms, NULL, 0);
		return true;
	}
	parent_of(ppath, path);
	if (!t->have_parent || strcmp(ppath, t->parent) != 0) {
		arena_reset(&t->arena);
		t->have_parent = store_read(&t->arena, ppath, false, &t->pnode) == XSE_OK;
		strcpy(t->parent, ppath);
	}
	if (t->have_parent)
		STORE_TELL(added, path, n->perms, n->nperms, t->pnode.perms, t->pnode.nperms);
	else
		STORE_TELL(lost);
	return true;
}

/*
 * The walk that tells the hooks every node: the one walk of the whole tree
 * at start, and a check on the way. With store_options.background it runs
 * in slices (store_background) while requests are served; a change, or a
 * reader of what the hooks keep, finishes it first (store_settle), so that
 * it never meets a change half told.
 */
#define TELL_SLICE 4096 /* nodes per slice by default: a few milliseconds */

static struct {
	bool active;
	bool repaired; /* a repair was made for this start already */
	size_t slice;  /* nodes per slice */
	struct timespec began;
	struct store_walker w;
	struct tell_ctx t;
} telling;

static void tell_end(void)
{
	walker_free(&telling.w);
	arena_free(&telling.t.arena);
	telling.active = store_st.telling = false;
}

static void tell_begin(void)
{
	if (!store_st.nhooks)
		return;
	STORE_TELL(reset);
	clock_gettime(CLOCK_MONOTONIC, &telling.began);
	memset(&telling.t, 0, sizeof(telling.t));
	telling.active = store_st.telling = true;
	/* A root that cannot be read leaves nothing to tell. */
	if (walker_start(&telling.w, "/", tell_node, &telling.t) != XSE_OK)
		tell_end();
}

/*
 * One slice of at most budget nodes; *more says whether more remains.
 * XSE_OK, or XSE_EIO if the tree is damaged and could not be repaired
 * (*fault says where). A damaged tree is rebuilt from what is found (one
 * group), and told again.
 */
static enum xs_err tell_step(size_t budget, bool *more, const char **fault)
{
	static char where[XS_PATH_BUF + 64];
	enum xs_err err = walker_step(&telling.w, budget, more);

	if (err == XSE_OK && *more)
		return XSE_OK;
	if (err == XSE_OK) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		log_info("store: all %zu nodes told to the quota and regions indexes in %lld ms",
			 telling.t.nodes,
			 (long long)(now.tv_sec - telling.began.tv_sec) * 1000 +
				 (now.tv_nsec - telling.began.tv_nsec) / 1000000);
		tell_end();
		return XSE_OK;
	}
	if (err == XSE_ENOMEM) {
		/* Nothing is damaged: what is not told yet is lost to the hooks (store_retell tells it again). */
		log_warnx("store: out of memory telling the indexes the tree (at %s); they are incomplete",
			  telling.w.fault);
		STORE_TELL(lost);
		tell_end();
		*more = false;
		return XSE_OK;
	}
	snprintf(where, sizeof(where), "%s", telling.w.fault);
	tell_end();
	*fault = where;
	log_warnx("store: the tree cannot be read whole (%s is missing or damaged); repairing it", where);
	if (telling.repaired || store_repair() != XSE_OK || (*fault = store_check()) != NULL)
		return XSE_EIO;
	telling.repaired = true;
	tell_begin();
	*more = telling.active;
	return XSE_OK;
}

bool store_settled(void)
{
	return !telling.active;
}

bool store_retell(void)
{
	if (!store_st.open || telling.active || !store_st.nhooks)
		return telling.active;
	log_info("store: telling the indexes the tree again");
	telling.repaired = false;
	tell_begin();
	return telling.active;
}

bool store_background(void)
{
	const char *fault = "";
	bool more;

	if (!store_st.open)
		return false;
	if (!telling.active)
		return rec_background();
	/* Refused, as at start: a store that cannot be trusted is not served on. */
	if (tell_step(telling.slice, &more, &fault) != XSE_OK)
		fatalx("store: damaged beyond repair (%s; use --fresh-store)", fault);
	/* More of it, or once it is over the measure's turn. */
	return true;
}

void store_settle(void)
{
	const char *fault = "";
	bool more;

	while (telling.active)
		if (tell_step(SIZE_MAX, &more, &fault) != XSE_OK)
			fatalx("store: damaged beyond repair (%s; use --fresh-store)", fault);
}

size_t store_record_room(const unsigned char *key, size_t klen, const unsigned char *data, size_t len)
{
	size_t dlen, want;
	uint32_t id;
	struct fmt_chunk ch;

	if (fmt_key_kind(key, klen, &dlen, &id) != FMT_KEY_CHUNK || !fmt_chunk_decode(data, len, &ch))
		return len;
	want = chunk_class_cap[ch.cls] * 4 / 5;
	return want > len ? want : len;
}

/* The store's own header record: which daemon's format the records are in. */
static enum xs_err meta_put(void)
{
	struct fmt_meta m = {store_st.gen};
	unsigned char buf[STORE_META_SIZE];
	TDB_DATA k = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	TDB_DATA d = {buf, sizeof(buf)};

	fmt_meta_encode(buf, &m);
	return rec_put(k, &d, 1);
}

struct meta_read {
	int version;
	struct fmt_meta m;
};

static int parse_meta(TDB_DATA key, TDB_DATA data, void *p)
{
	struct meta_read *r = p;

	(void)key;
	r->version = fmt_meta_decode(data.dptr, data.dsize, &r->m);
	return 0;
}

static int count_one(TDB_DATA key, TDB_DATA data, void *p)
{
	(void)key;
	(void)data;
	(void)p;
	return 1; /* one is enough */
}

/* The header record: read, or written for a new store. NULL, or why the store cannot be used. */
static const char *open_meta(const struct store_options *opt, const struct rec_opened *ro)
{
	TDB_DATA mk = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	struct meta_read mr = {0, {0}};

	if (rec_parse(mk, parse_meta, &mr) != 0) {
		/* A store file made but not yet given its tree (a crash right after) is new. */
		if (!ro->created && rec_traverse(count_one, NULL) != 0)
			return "it has records but no header record: not a store of this daemon, or damaged"
			       " (move it away, or use --fresh-store)";
		return create_initial_tree(opt->priv_domid) == XSE_OK ? NULL : "cannot write the initial tree";
	}
	if (!mr.version)
		return "its header record is not this daemon's (move it away, or use --fresh-store)";
	if (mr.m.gen > store_st.gen)
		store_st.gen = mr.m.gen;
	if (mr.version == FMT_META_OLD) {
		enum xs_err err;

		/* The previous format's records are the same; its commit journal is not read. */
		log_info("store: %s was written by an older daemon; converting its header", opt->file);
		store_group_begin();
		err = store_group_end(meta_put());
		if (err != XSE_OK)
			return "cannot convert the header record";
	}
	return NULL;
}

enum xs_err store_open(const struct store_options *opt, const char **reason)
{
	struct rec_options ro = {opt->file,
				 opt->hash_size,
				 opt->fresh,
				 store_record_room,
				 opt->compact,
				 opt->compact_min_free,
				 opt->compact_min_percent,
				 opt->compact_slice_us};
	struct rec_opened op;
	static char why[XS_PATH_BUF + 256];
	const char *fault;

	if (rec_open(&ro, &op, reason) != XSE_OK)
		return XSE_EIO;
	if (op.groups || op.cut)
		log_info("store: previous run did not stop cleanly: %zu groups of changes read back from the"
			 " write-ahead log, %llu bytes of an unfinished one dropped", op.groups,
			 (unsigned long long)op.cut);
	store_st.gen = op.gen;
	store_st.epoch++;
	store_st.open = true;
	dirindex_clear();
	if ((fault = open_meta(opt, &op)) != NULL) {
		snprintf(why, sizeof(why), "%s: %s", opt->file, fault);
		*reason = why;
		store_close();
		return XSE_EIO;
	}
	telling.repaired = false;
	tell_begin();
	telling.slice = opt->walk_slice_nodes ? opt->walk_slice_nodes : TELL_SLICE;
	if (opt->background)
		return XSE_OK;
	/* Damage: rebuilt from what is found, or refused. Never served silently, never emptied. */
	while (telling.active) {
		bool more;

		if (tell_step(SIZE_MAX, &more, &fault) != XSE_OK) {
			snprintf(why, sizeof(why), "%s: damaged beyond repair (%s; use --fresh-store)", opt->file,
				 fault ? fault : "repair failed");
			*reason = why;
			store_close();
			return XSE_EIO;
		}
	}
	return XSE_OK;
}

void store_close(void)
{
	if (!store_st.open)
		return;
	if (telling.active)
		tell_end();
	rec_close();
	STORE_TELL(reset);
	dirindex_clear();
	free(store_st.tells);
	store_st.tells = NULL;
	store_st.ntells = store_st.cap_tells = 0;
	arena_free(&store_st.tell_arena);
	arena_free(&store_st.commit_arena);
	store_st.open = false;
}

uint64_t store_file_bytes(void)
{
	return store_st.open ? rec_file_bytes() : 0;
}

void store_space(struct store_space *s)
{
	struct rec_space r;

	rec_space(&r);
	s->free_bytes = r.measured ? r.free_bytes : 0;
	s->compactions = r.compactions;
	s->given_back = r.given_back;
	s->compacting = r.compacting;
}

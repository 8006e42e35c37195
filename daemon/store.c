/* The persistent tree in a tdb file: node records, insertion-ordered child links, generations. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "../proto/path.h"
#include "log.h"

/*
 * Record layout (value of the tdb record keyed by the path, no NUL):
 *   u8 flags, varint gen, varint nperms, nperms x (u8 access|ignored<<7,
 *   varint id), then by flag: the value (varint len, bytes); the children
 *   (varint count, varint byte size, first and last names as varint len +
 *   bytes); the previous and next siblings, each as (varint length of the
 *   prefix shared with this node's own name, varint suffix length, suffix).
 * Sibling names in one directory usually share most of their bytes, so the
 * links cost a few bytes each. (tdb itself allocates a quarter more than a
 * record needs, so most later growth, such as linking a next sibling, is
 * done in place.)
 */
#define REC_CHILDREN 0x01u
#define REC_PREV 0x02u
#define REC_NEXT 0x04u
#define REC_VALUE 0x08u
#define REC_FLAGS_KNOWN 0x0fu
#define STORE_META_KEY "\0xenstored-meta"
#define STORE_META_MAGIC 0x58534432u /* "XSD2" */

struct store_meta {
	uint32_t magic;
	uint32_t clean;
	uint64_t gen;
};

static struct tdb_context *store_tdb;
static uint64_t store_gen;
static bool store_in_batch;

/* Encoding buffer, reused: a record is at most a few payloads big. */
static unsigned char *enc_buf;
static size_t enc_len, enc_cap;

static bool enc_reserve(size_t more)
{
	if (enc_len + more <= enc_cap)
		return true;
	size_t cap = enc_cap ? enc_cap : 1024;

	while (cap < enc_len + more)
		cap *= 2;
	unsigned char *nb = realloc(enc_buf, cap);

	if (!nb)
		return false;
	enc_buf = nb;
	enc_cap = cap;
	return true;
}

static void enc_varint(uint64_t v)
{
	while (v >= 0x80) {
		enc_buf[enc_len++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	enc_buf[enc_len++] = (unsigned char)v;
}

static void enc_bytes(const void *p, size_t n)
{
	if (!n)
		return;
	memcpy(enc_buf + enc_len, p, n);
	enc_len += n;
}

static void enc_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	enc_varint(n);
	enc_bytes(s, n);
}

/* A sibling name as the length of the prefix it shares with `own`, then the rest. */
static void enc_link(const char *own, const char *sib)
{
	size_t shared = 0, n = strlen(sib);

	while (own[shared] && own[shared] == sib[shared])
		shared++;
	enc_varint(shared);
	enc_varint(n - shared);
	enc_bytes(sib + shared, n - shared);
}

static size_t name_size(const char *s)
{
	return 10 + (s ? strlen(s) : 0);
}

static bool encode(const char *path, const struct store_node *n)
{
	const char *own = xs_path_basename(path);
	size_t need = 1 + 10 + 5 + (size_t)n->nperms * 6 + 5 + n->vlen + 10 + 10 + name_size(n->first) +
		      name_size(n->last) + name_size(n->prev) + name_size(n->next);
	unsigned flags = (n->first ? REC_CHILDREN : 0) | (n->prev ? REC_PREV : 0) |
			 (n->next ? REC_NEXT : 0) | (n->vlen ? REC_VALUE : 0);

	enc_len = 0;
	if (!enc_reserve(need))
		return false;
	enc_buf[enc_len++] = (unsigned char)flags;
	enc_varint(n->gen);
	enc_varint(n->nperms);
	for (unsigned i = 0; i < n->nperms; i++) {
		enc_buf[enc_len++] = (unsigned char)(n->perms[i].access | (n->perms[i].ignored ? 0x80 : 0));
		enc_varint(n->perms[i].id);
	}
	if (flags & REC_VALUE) {
		enc_varint(n->vlen);
		enc_bytes(n->value, n->vlen);
	}
	if (flags & REC_CHILDREN) {
		enc_varint(n->nchildren);
		enc_varint(n->children_bytes);
		enc_name(n->first);
		enc_name(n->last);
	}
	if (flags & REC_PREV)
		enc_link(own, n->prev);
	if (flags & REC_NEXT)
		enc_link(own, n->next);
	return true;
}

struct dec {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t dec_varint(struct dec *d)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (d->p >= d->end) {
			d->bad = true;
			return 0;
		}
		unsigned char b = *d->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	d->bad = true;
	return 0;
}

static const unsigned char *dec_take(struct dec *d, uint64_t n)
{
	const unsigned char *p = d->p;

	if ((uint64_t)(d->end - d->p) < n) {
		d->bad = true;
		return NULL;
	}
	d->p += n;
	return p;
}

static const char *dec_name(struct dec *d, struct arena *a)
{
	uint64_t n = dec_varint(d);
	const unsigned char *p = dec_take(d, n);

	if (!p || n == 0) {
		d->bad = true;
		return NULL;
	}
	const char *s = arena_strndup(a, (const char *)p, (size_t)n);

	if (!s)
		d->bad = true;
	return s;
}

static const char *dec_link(struct dec *d, struct arena *a, const char *own, size_t own_len)
{
	uint64_t shared = dec_varint(d), n = dec_varint(d);
	const unsigned char *p = dec_take(d, n);
	char *s;

	if (!p || shared > own_len || shared + n == 0) {
		d->bad = true;
		return NULL;
	}
	s = arena_alloc(a, (size_t)(shared + n) + 1);
	if (!s) {
		d->bad = true;
		return NULL;
	}
	memcpy(s, own, (size_t)shared);
	memcpy(s + shared, p, (size_t)n);
	s[shared + n] = '\0';
	return s;
}

struct parse_ctx {
	struct arena *a;
	struct store_node *out;
	bool with_value;
	bool bad;
};

static int parse_record(TDB_DATA key, TDB_DATA data, void *private_data)
{
	struct parse_ctx *c = private_data;
	struct store_node *n = c->out;
	struct dec d = {data.dptr, data.dptr + data.dsize, false};
	const char *own = (const char *)key.dptr;
	size_t own_len = key.dsize;
	unsigned flags;

	/* Our own name is the key's last component: sibling links are relative to it. */
	for (size_t i = key.dsize; i > 0; i--) {
		if (key.dptr[i - 1] == '/') {
			own = (const char *)key.dptr + i;
			own_len = key.dsize - i;
			break;
		}
	}
	memset(n, 0, sizeof(*n));
	if (data.dsize < 1 || (*d.p & ~REC_FLAGS_KNOWN)) {
		c->bad = true;
		return 0;
	}
	flags = *d.p++;
	n->gen = dec_varint(&d);
	uint64_t np = dec_varint(&d);

	if (np > XS_PERMS_MAX)
		d.bad = true;
	n->nperms = d.bad ? 0 : (unsigned)np;
	n->perms = arena_alloc(c->a, sizeof(*n->perms) * (n->nperms ? n->nperms : 1));
	if (!n->perms)
		d.bad = true;
	for (unsigned i = 0; i < n->nperms && !d.bad; i++) {
		const unsigned char *b = dec_take(&d, 1);

		if (!b)
			break;
		n->perms[i].access = *b & 0x3;
		n->perms[i].ignored = (*b & 0x80) != 0;
		n->perms[i].id = (uint32_t)dec_varint(&d);
	}
	n->value = "";
	if (flags & REC_VALUE) {
		uint64_t vlen = dec_varint(&d);
		const unsigned char *v = dec_take(&d, vlen);

		n->vlen = (size_t)vlen;
		if (v && c->with_value) {
			n->value = arena_memdup(c->a, v, n->vlen);
			if (!n->value)
				d.bad = true;
		}
	}
	if (flags & REC_CHILDREN) {
		n->nchildren = (unsigned)dec_varint(&d);
		n->children_bytes = (size_t)dec_varint(&d);
		n->first = dec_name(&d, c->a);
		n->last = dec_name(&d, c->a);
	}
	if (flags & REC_PREV)
		n->prev = dec_link(&d, c->a, own, own_len);
	if (flags & REC_NEXT)
		n->next = dec_link(&d, c->a, own, own_len);
	c->bad = d.bad;
	return 0;
}

static TDB_DATA key_of(const char *path)
{
	TDB_DATA k = {(unsigned char *)path, strlen(path)};

	return k;
}

int store_read(struct arena *a, const char *path, bool with_value, struct store_node *out)
{
	struct parse_ctx c = {a, out, with_value, false};

	if (tdb_parse_record(store_tdb, key_of(path), parse_record, &c) != 0)
		return 0;
	if (c.bad) {
		log_error("store: damaged record for %s", path);
		return -1;
	}
	return 1;
}

static enum xs_err put(const char *path, const struct store_node *n)
{
	if (!encode(path, n))
		return XSE_ENOMEM;
	TDB_DATA d = {enc_buf, enc_len};

	if (tdb_store(store_tdb, key_of(path), d, TDB_REPLACE) != 0) {
		log_error("store: writing %s: %s", path, tdb_errorstr(store_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

/* Build "<parent>/<name>" into buf (XS_PATH_BUF bytes). */
static void child_path(char *buf, const char *parent, const char *name)
{
	size_t pl = strlen(parent);

	if (pl == 1 && parent[0] == '/')
		pl = 0;
	memcpy(buf, parent, pl);
	buf[pl] = '/';
	strcpy(buf + pl + 1, name);
}

static void parent_of(char *buf, const char *path)
{
	size_t pl = xs_path_parent_len(path);

	memcpy(buf, path, pl);
	buf[pl] = '\0';
}

enum xs_err store_create(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	char ppath[XS_PATH_BUF], spath[XS_PATH_BUF];
	struct store_node parent, node = {0}, sib;
	const char *name = xs_path_basename(path);
	enum xs_err err;

	parent_of(ppath, path);
	if (store_read(a, ppath, true, &parent) != 1)
		return XSE_EIO;
	node.gen = ++store_gen;
	node.perms = (struct xs_perm *)perms;
	node.nperms = nperms;
	node.value = value;
	node.vlen = vlen;
	node.prev = parent.last;
	if (parent.last) {
		child_path(spath, ppath, parent.last);
		if (store_read(a, spath, true, &sib) != 1)
			return XSE_EIO;
		sib.next = name;
		err = put(spath, &sib);
		if (err != XSE_OK)
			return err;
	} else {
		parent.first = name;
	}
	parent.last = name;
	parent.nchildren++;
	parent.children_bytes += strlen(name) + 1;
	parent.gen = ++store_gen;
	err = put(path, &node);
	if (err == XSE_OK)
		err = put(ppath, &parent);
	return err;
}

enum xs_err store_update(struct arena *a, const char *path, const struct xs_perm *perms,
			 unsigned nperms, const char *value, size_t vlen)
{
	struct store_node n;

	if (store_read(a, path, true, &n) != 1)
		return XSE_EIO;
	if (perms) {
		n.perms = (struct xs_perm *)perms;
		n.nperms = nperms;
	}
	if (value) {
		n.value = value;
		n.vlen = vlen;
	}
	n.gen = ++store_gen;
	return put(path, &n);
}

/* Take a node out of its parent's child list (the node record itself stays). */
static enum xs_err unlink_child(struct arena *a, const char *path, const struct store_node *n)
{
	char ppath[XS_PATH_BUF], spath[XS_PATH_BUF];
	struct store_node parent, sib;
	enum xs_err err;

	parent_of(ppath, path);
	if (store_read(a, ppath, true, &parent) != 1)
		return XSE_EIO;
	if (n->prev) {
		child_path(spath, ppath, n->prev);
		if (store_read(a, spath, true, &sib) != 1)
			return XSE_EIO;
		sib.next = n->next;
		if ((err = put(spath, &sib)) != XSE_OK)
			return err;
	} else {
		parent.first = n->next;
	}
	if (n->next) {
		child_path(spath, ppath, n->next);
		if (store_read(a, spath, true, &sib) != 1)
			return XSE_EIO;
		sib.prev = n->prev;
		if ((err = put(spath, &sib)) != XSE_OK)
			return err;
	} else {
		parent.last = n->prev;
	}
	parent.nchildren--;
	parent.children_bytes -= strlen(xs_path_basename(path)) + 1;
	parent.gen = ++store_gen;
	return put(ppath, &parent);
}

enum xs_err store_remove(const char *path, store_removed_fn cb, void *ctx)
{
	struct arena scratch = {0};
	char cur[XS_PATH_BUF];
	struct store_node n;
	enum xs_err err = XSE_OK;
	int r;

	if (strcmp(path, "/") == 0)
		return XSE_EINVAL;
	r = store_read(&scratch, path, false, &n);
	if (r <= 0) {
		arena_free(&scratch);
		return r == 0 ? XSE_OK : XSE_EIO;
	}
	err = unlink_child(&scratch, path, &n);
	strcpy(cur, path);
	/*
	 * Iterative post-order walk: always descend into the first child; a
	 * leaf is deleted and its parent's first pointer moves on. Depth is
	 * guest-controlled, so no recursion.
	 */
	while (err == XSE_OK) {
		arena_reset(&scratch);
		if (store_read(&scratch, cur, true, &n) != 1) {
			err = XSE_EIO;
			break;
		}
		if (n.first) {
			char sub[XS_PATH_BUF];

			child_path(sub, cur, n.first);
			strcpy(cur, sub);
			continue;
		}
		if (cb)
			cb(ctx, cur, &n);
		if (tdb_delete(store_tdb, key_of(cur)) != 0) {
			err = XSE_EIO;
			break;
		}
		if (strcmp(cur, path) == 0)
			break;
		const char *next = n.next ? arena_strdup(&scratch, n.next) : NULL;
		size_t name_len = strlen(xs_path_basename(cur));
		struct store_node parent;

		cur[xs_path_parent_len(cur)] = '\0';
		if (store_read(&scratch, cur, true, &parent) != 1) {
			err = XSE_EIO;
			break;
		}
		parent.first = next;
		if (!next)
			parent.last = NULL;
		parent.nchildren--;
		parent.children_bytes -= name_len + 1;
		err = put(cur, &parent);
	}
	arena_free(&scratch);
	return err;
}

int store_next_child(struct arena *a, const char *parent, const char *name, const char **out)
{
	struct store_node n;
	char cpath[XS_PATH_BUF];
	int r;

	if (!name) {
		r = store_read(a, parent, false, &n);
		if (r <= 0)
			return r;
		*out = n.first;
		return n.first != NULL;
	}
	child_path(cpath, parent, name);
	r = store_read(a, cpath, false, &n);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	*out = n.next;
	return n.next != NULL;
}

int store_children_from(const char *parent, const char *first, store_child_fn cb, void *ctx)
{
	struct arena scratch = {0};
	char name[XS_PATH_BUF];
	const char *next = first;
	int r = 1, found = 0;

	if (!first) {
		r = store_next_child(&scratch, parent, NULL, &next);
	} else {
		struct store_node n;

		child_path(name, parent, first);
		r = store_read(&scratch, name, false, &n);
		found = r == 1;
	}
	while (r == 1) {
		strcpy(name, next);
		arena_reset(&scratch);
		if (!cb(ctx, name))
			break;
		r = store_next_child(&scratch, parent, name, &next);
	}
	arena_free(&scratch);
	if (r < 0)
		return -1;
	return found;
}

int store_children(const char *parent, store_child_fn cb, void *ctx)
{
	return store_children_from(parent, NULL, cb, ctx) < 0 ? -1 : 0;
}

/* cur (a path in an XS_PATH_BUF buffer) becomes its child name. */
static void descend_to(char *cur, const char *name)
{
	size_t len = strlen(cur);

	if (len == 1)
		len = 0; /* the root */
	cur[len] = '/';
	strcpy(cur + len + 1, name);
}

int store_walk(const char *root, store_visit_fn visit, void *ctx)
{
	struct arena scratch = {0};
	char cur[XS_PATH_BUF], name[XS_PATH_BUF];
	struct store_node n;
	bool descend;
	int rc = 0;

	strcpy(cur, root);
	if (store_read(&scratch, cur, true, &n) != 1) {
		arena_free(&scratch);
		return 0;
	}
	descend = visit(ctx, cur, &n);
	/* Iterative: depth is guest-controlled. Each step re-reads what it needs. */
	for (;;) {
		if (descend && n.first) {
			strcpy(name, n.first);
			descend_to(cur, name);
			arena_reset(&scratch);
			if (store_read(&scratch, cur, true, &n) != 1) {
				rc = -1;
				break;
			}
			descend = visit(ctx, cur, &n);
			continue;
		}
		/* The next node in pre-order: a next sibling here or of the nearest ancestor. */
		bool moved = false;

		while (!moved && strcmp(cur, root) != 0) {
			if (n.next) {
				strcpy(name, n.next);
				size_t pl = xs_path_parent_len(cur);

				cur[pl ? pl : 1] = '\0';
				descend_to(cur, name);
				arena_reset(&scratch);
				if (store_read(&scratch, cur, true, &n) != 1) {
					rc = -1;
					break;
				}
				descend = visit(ctx, cur, &n);
				moved = true;
				break;
			}
			size_t pl = xs_path_parent_len(cur);

			cur[pl ? pl : 1] = '\0';
			arena_reset(&scratch);
			if (store_read(&scratch, cur, true, &n) != 1) {
				rc = -1;
				break;
			}
		}
		if (!moved || rc < 0)
			break;
	}
	arena_free(&scratch);
	return rc;
}

enum xs_err store_batch_begin(void)
{
	if (tdb_transaction_start(store_tdb) != 0)
		return XSE_EIO;
	store_in_batch = true;
	return XSE_OK;
}

enum xs_err store_batch_commit(void)
{
	store_in_batch = false;
	if (tdb_transaction_commit(store_tdb) != 0) {
		log_error("store: commit failed: %s", tdb_errorstr(store_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

void store_batch_cancel(void)
{
	store_in_batch = false;
	tdb_transaction_cancel(store_tdb);
}

uint64_t store_generation(void)
{
	return store_gen;
}

static enum xs_err write_meta(bool clean)
{
	struct store_meta m = {STORE_META_MAGIC, clean ? 1u : 0u, store_gen};
	TDB_DATA k = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	TDB_DATA d = {(unsigned char *)&m, sizeof(m)};

	return tdb_store(store_tdb, k, d, TDB_REPLACE) == 0 ? XSE_OK : XSE_EIO;
}

static int max_gen_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *p)
{
	struct arena a = {0};
	struct store_node n;
	struct parse_ctx c = {&a, &n, false, false};
	uint64_t *max = p;

	(void)tdb;
	if (key.dsize && key.dptr[0] != '\0') {
		parse_record(key, data, &c);
		if (!c.bad && n.gen > *max)
			*max = n.gen;
	}
	arena_free(&a);
	return 0;
}

static enum xs_err create_initial_tree(uint32_t priv)
{
	struct xs_perm owner = {priv, XS_PERM_NONE, 0};
	struct xs_perm release[2] = {{priv, XS_PERM_NONE, 0}, {XS_DOMID_ANY, XS_PERM_READ, 0}};
	struct store_node root = {0}, special = {0};
	struct arena a = {0};
	enum xs_err err;

	root.gen = ++store_gen;
	root.perms = &owner;
	root.nperms = 1;
	root.value = "";
	if ((err = put("/", &root)) != XSE_OK)
		return err;
	err = store_create(&a, "/tool", &owner, 1, "", 0);
	if (err == XSE_OK)
		err = store_create(&a, "/tool/xenstored", &owner, 1, "", 0);
	arena_free(&a);
	special.gen = ++store_gen;
	special.value = "";
	special.perms = &owner;
	special.nperms = 1;
	if (err == XSE_OK)
		err = put("@introduceDomain", &special);
	special.perms = release;
	special.nperms = 2;
	if (err == XSE_OK)
		err = put("@releaseDomain", &special);
	return err;
}

enum xs_err store_open(const struct store_options *opt, const char **reason)
{
	int flags = TDB_NOLOCK | TDB_NOSYNC | TDB_INCOMPATIBLE_HASH;
	TDB_DATA mk = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	struct store_meta meta;
	TDB_DATA md;

	if (opt->fresh)
		unlink(opt->file);
	store_tdb = tdb_open(opt->file, (int)opt->hash_size, flags, O_RDWR | O_CREAT, 0600);
	if (!store_tdb) {
		*reason = strerror(errno);
		return XSE_EIO;
	}
	md = tdb_fetch(store_tdb, mk);
	if (!md.dptr) {
		store_gen = 0;
		if (create_initial_tree(opt->priv_domid) != XSE_OK) {
			*reason = "cannot write the initial tree";
			return XSE_EIO;
		}
	} else {
		bool ok = md.dsize == sizeof(meta);

		if (ok)
			memcpy(&meta, md.dptr, sizeof(meta));
		free(md.dptr);
		if (!ok || meta.magic != STORE_META_MAGIC) {
			*reason = "not a store of this daemon (use --fresh-store)";
			return XSE_EIO;
		}
		store_gen = meta.gen;
		if (!meta.clean) {
			/* Not shut down cleanly: generations may have moved past the saved one. */
			uint64_t max = 0;

			log_info("store: previous run did not stop cleanly; checking %s", opt->file);
			if (tdb_check(store_tdb, NULL, NULL) != 0) {
				*reason = "store file damaged (use --fresh-store)";
				return XSE_EIO;
			}
			tdb_traverse_read(store_tdb, max_gen_cb, &max);
			store_gen = max > store_gen ? max : store_gen;
		}
	}
	if (write_meta(false) != XSE_OK) {
		*reason = "cannot write the store header";
		return XSE_EIO;
	}
	return XSE_OK;
}

void store_close(void)
{
	if (!store_tdb)
		return;
	if (store_in_batch)
		store_batch_cancel();
	write_meta(true);
	tdb_close(store_tdb);
	store_tdb = NULL;
	free(enc_buf);
	enc_buf = NULL;
	enc_cap = enc_len = 0;
}

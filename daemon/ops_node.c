/* Handlers of the tree operations: READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS, SET_PERMS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "ops.h"
#include "session.h"

enum xs_err op_read(struct req *r)
{
	struct store_node n;
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_READ, true, &n);

	if (err == XSE_OK)
		reply_bytes(r, n.value, n.vlen);
	return err;
}

enum xs_err op_write(struct req *r)
{
	size_t off = strlen(r->argv[0]) + 1;
	enum xs_err err = acc_write(&r->acc, r->path, r->payload + off, r->len - off);

	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_mkdir(struct req *r)
{
	struct store_node n;
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_WRITE, false, &n);

	/* An existing node is left alone (and fires nothing), but needed write access. */
	if (err == XSE_ENOENT) {
		err = acc_create(&r->acc, r->path, "", 0);
		if (err == XSE_OK)
			acc_notify(&r->acc, r->path, NULL, 0, NULL, 0);
	}
	return err == XSE_OK ? reply_ok(r) : err;
}

enum xs_err op_rm(struct req *r)
{
	struct store_node n;
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_WRITE, false, &n);

	if (err == XSE_ENOENT) {
		/* Removing what is not there is fine if its parent is. */
		char parent[XS_PATH_BUF];
		size_t pl = xs_path_parent_len(r->path);

		memcpy(parent, r->path, pl);
		parent[pl] = '\0';
		err = acc_read(&r->acc, parent, false, &n);
		return err == XSE_OK ? reply_ok(r) : err;
	}
	if (err != XSE_OK)
		return err;
	if (strcmp(r->path, "/") == 0)
		return XSE_EINVAL;
	err = acc_remove(&r->acc, r->path);
	return err == XSE_OK ? reply_ok(r) : err;
}

static bool append_child(void *ctx, const char *name)
{
	struct req *r = ctx;

	reply_string(r, name);
	return !r->reply_overflow;
}

static bool append_chunk(void *ctx, uint32_t chunk, const char *names, size_t len)
{
	struct req *r = ctx;

	(void)chunk;
	reply_bytes(r, names, len);
	return !r->reply_overflow;
}

enum xs_err op_directory(struct req *r)
{
	struct store_node n;
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_READ, false, &n);

	if (err != XSE_OK)
		return err;
	if (r->acc.txn)
		return acc_children(&r->acc, r->path, append_child, r);
	/* Outside a transaction the stored size answers E2BIG without reading the list. */
	if (n.children_bytes > XS_PAYLOAD_MAX)
		return XSE_E2BIG;
	return acc_chunks(&r->acc, r->path, 0, append_chunk, r);
}

/*
 * DIRECTORY_PART: byte offsets into the concatenated child list, read
 * chunk by chunk from the chunk that holds the offset: where this
 * client's previous part of the same unchanged directory ended (its
 * cursor; in a transaction too: unchanged means neither the transaction
 * nor anyone else changed its children), else the first chunk for offset
 * 0, else the chunk the directory's index finds (acc_chunk_at). So a part
 * costs what it returns wherever it starts, not the size of the
 * directory, and reading a directory in parts costs its size.
 */
struct dirpart {
	struct req *r;
	size_t pos;           /* byte offset of the entry (or chunk) being visited */
	size_t off;           /* requested offset */
	size_t max;           /* bytes of entries that fit */
	size_t len;           /* bytes of entries taken */
	bool ended_early;     /* stopped before the end of the list */
	uint32_t stop_chunk;  /* the chunk where it stopped ... */
	size_t stop_chunk_pos; /* ... and that chunk's offset in the list */
};

/* One entry; false once the reply is full. */
static bool dirpart_visit(void *ctx, const char *name)
{
	struct dirpart *d = ctx;
	size_t nlen = strlen(name) + 1;

	if (d->pos + nlen <= d->off) {
		d->pos += nlen;
		return true;
	}
	/* The first entry may be entered in its middle, as the C daemon allows. */
	const char *piece = d->pos < d->off ? name + (d->off - d->pos) : name;
	size_t plen = strlen(piece) + 1;

	if (d->len + plen > d->max) {
		d->ended_early = true;
		return false;
	}
	reply_bytes(d->r, piece, plen);
	d->len += plen;
	d->pos += nlen;
	return true;
}

static bool dirpart_chunk(void *ctx, uint32_t chunk, const char *names, size_t len)
{
	struct dirpart *d = ctx;
	size_t start = d->pos;

	if (d->pos + len <= d->off) {
		d->pos += len; /* wholly before the offset */
		return true;
	}
	for (size_t o = 0; o < len; o += strlen(names + o) + 1) {
		if (!dirpart_visit(d, names + o)) {
			d->stop_chunk = chunk;
			d->stop_chunk_pos = start;
			return false;
		}
	}
	return true;
}

static void cursor_forget(struct dir_cursor *cur)
{
	free(cur->path);
	cur->path = NULL;
}

enum xs_err op_directory_part(struct req *r)
{
	struct store_node n;
	struct dir_cursor *cur = session_cursor(r->session);
	char gen[24];
	long off = atol(r->argv[1]);
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_READ, false, &n);

	if (err != XSE_OK)
		return err;
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)n.gen);
	reply_string(r, gen);

	struct dirpart d = {r, 0, off < 0 ? (size_t)-1 : (size_t)off,
			    XS_PAYLOAD_MAX - strlen(gen) - 2, 0, false, 0, 0};

	uint32_t tx_id = r->acc.txn ? r->hdr.tx_id : 0;
	uint64_t version = acc_txn_version(&r->acc);
	size_t committed_bytes = n.children_bytes;
	uint64_t committed = r->acc.txn ? acc_committed_gen(&r->acc, r->path, &committed_bytes) : n.gen;
	uint32_t from = 0;

	/* At or past the end (the committed names and any the transaction added): nothing to read. */
	if (d.off >= committed_bytes + acc_added_bytes(&r->acc, r->path)) {
		reply_bytes(r, "", 1);
		return XSE_OK;
	}

	/* The generations change with any child: a matching cursor's chunk is still there. */
	if (cur->path && cur->tx_id == tx_id && cur->gen == n.gen && cur->committed_gen == committed &&
	    cur->version == version && cur->next_offset == d.off && strcmp(cur->path, r->path) == 0) {
		from = cur->chunk;
		d.pos = cur->offset;
	} else if (d.off && (err = acc_chunk_at(&r->acc, r->path, d.off, &from, &d.pos)) != XSE_OK) {
		return err;
	}
	if ((err = acc_chunks(&r->acc, r->path, from, dirpart_chunk, &d)) != XSE_OK)
		return err;
	if (!d.ended_early)
		reply_bytes(r, "", 1);
	cursor_forget(cur);
	if (d.ended_early) {
		cur->path = strdup(r->path);
		cur->tx_id = tx_id;
		cur->gen = n.gen;
		cur->committed_gen = committed;
		cur->version = version;
		cur->next_offset = d.off + d.len;
		cur->chunk = d.stop_chunk;
		cur->offset = d.stop_chunk_pos;
	}
	return XSE_OK;
}

enum xs_err op_get_perms(struct req *r)
{
	struct store_node n;
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_READ, false, &n);

	if (err != XSE_OK)
		return err;
	for (unsigned i = 0; i < n.nperms; i++) {
		char buf[16];
		size_t len = xs_perm_format(&n.perms[i], buf, sizeof(buf));

		reply_bytes(r, buf, len + 1);
	}
	return XSE_OK;
}

enum xs_err op_set_perms(struct req *r)
{
	struct store_node n;
	enum xs_err err = acc_get(&r->acc, r->path, XS_PERM_WRITE | XS_PERM_OWNER, false, &n);

	if (err)
		return err;
	/* Only the privileged may give a node away. */
	if (!r->acc.who->priv && n.nperms && r->perms[0].id != n.perms[0].id)
		return XSE_EPERM;
	err = acc_update(&r->acc, r->path, &n, r->perms, r->nperms, NULL, 0);
	if (err)
		return err;
	/* Watchers that could read the node before or after the change hear of it. */
	acc_notify(&r->acc, r->path, r->perms, r->nperms, n.perms, n.nperms);
	return reply_ok(r);
}

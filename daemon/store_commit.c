/* Commits: a transaction's change list applied in one group, all of it or nothing; the daemon's own records beside the tree. */
#include "store_int.h"

/* One change; a in the caller's hands, reset after. */
static enum xs_err apply_change(struct arena *a, const struct store_change *c)
{
	struct store_node node;
	enum xs_err err;

	if (c->kind == STORE_REMOVE)
		return store_remove(c->path, NULL, NULL);
	err = store_read(a, c->path, false, &node);
	if (err == XSE_OK)
		return store_update(a, c->path, &node, c->perms, c->nperms, c->value, c->vlen);
	if (err == XSE_ENOENT && c->perms)
		return store_create(a, c->path, c->perms, c->nperms, c->value ? c->value : "", c->vlen);
	return XSE_EIO;
}

enum xs_err store_commit(const struct store_change *changes, size_t n, bool *touched)
{
	enum xs_err err = XSE_OK;

	*touched = false;
	store_group_begin();
	for (size_t i = 0; i < n && err == XSE_OK;) {
		/* Siblings kept in one chunk are rewritten together: one copy of it, one write. */
		size_t run = store_update_run(&store_st.commit_arena, &changes[i], n - i, &err);

		if (!run) {
			err = apply_change(&store_st.commit_arena, &changes[i]);
			run = 1;
		}
		i += run;
		arena_reset(&store_st.commit_arena);
	}
	return store_group_end(err);
}

/* "\0xsd." name: the key of an aux record, into buf (room for STORE_AUX_NAME_MAX + 5 bytes). */
#define AUX_PREFIX "\0xsd."
#define AUX_PREFIX_LEN (sizeof(AUX_PREFIX) - 1)

static bool aux_key(unsigned char *buf, const void *name, size_t nlen, TDB_DATA *key)
{
	if (nlen > STORE_AUX_NAME_MAX)
		return false;
	memcpy(buf, AUX_PREFIX, AUX_PREFIX_LEN);
	memcpy(buf + AUX_PREFIX_LEN, name, nlen);
	*key = (TDB_DATA){buf, AUX_PREFIX_LEN + nlen};
	return true;
}

enum xs_err store_aux_put(const void *name, size_t nlen, const void *data, size_t len)
{
	unsigned char buf[AUX_PREFIX_LEN + STORE_AUX_NAME_MAX];
	TDB_DATA key, part = {(unsigned char *)data, len};

	if (!aux_key(buf, name, nlen, &key))
		return XSE_EINVAL;
	return rec_put(key, &part, 1);
}

enum xs_err store_aux_del(const void *name, size_t nlen)
{
	unsigned char buf[AUX_PREFIX_LEN + STORE_AUX_NAME_MAX];
	TDB_DATA key;

	if (!aux_key(buf, name, nlen, &key))
		return XSE_EINVAL;
	return rec_del(key);
}

struct aux_read {
	store_aux_fn fn;
	void *ctx;
};

static int aux_parse(TDB_DATA key, TDB_DATA data, void *p)
{
	struct aux_read *r = p;

	(void)key;
	r->fn(r->ctx, data.dptr, data.dsize);
	return 0;
}

enum xs_err store_aux_read(const void *name, size_t nlen, store_aux_fn fn, void *ctx)
{
	unsigned char buf[AUX_PREFIX_LEN + STORE_AUX_NAME_MAX];
	struct aux_read r = {fn, ctx};
	TDB_DATA key;

	if (!aux_key(buf, name, nlen, &key))
		return XSE_EINVAL;
	return rec_parse(key, aux_parse, &r) == 0 ? XSE_OK : XSE_ENOENT;
}

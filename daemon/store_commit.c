/* Commits: a transaction's change list applied in one group, all of it or nothing. */
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
	struct arena a = {0};
	enum xs_err err = XSE_OK;

	*touched = false;
	store_group_begin();
	for (size_t i = 0; i < n && err == XSE_OK; i++) {
		err = apply_change(&a, &changes[i]);
		arena_reset(&a);
	}
	arena_free(&a);
	return store_group_end(err);
}

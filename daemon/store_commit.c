/* Journalled commits: a change list goes to the journal, then into the tree; replayed if cut short. */
#include "store_int.h"

#include <stdlib.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

enum xs_err store_meta_write(bool clean)
{
	struct fmt_meta m = {clean, store_st.gen, store_st.applied};
	unsigned char buf[STORE_META_SIZE];
	TDB_DATA k = {(unsigned char *)STORE_META_KEY, sizeof(STORE_META_KEY) - 1};
	TDB_DATA d = {buf, sizeof(buf)};

	fmt_meta_encode(buf, &m);
	return tdb_store(store_st.tdb, k, d, TDB_REPLACE) == 0 ? XSE_OK : XSE_EIO;
}

/* One change; a in the caller's hands, reset after. */
static enum xs_err apply_change(struct arena *a, const struct store_change *c)
{
	struct store_node node;
	int r;

	if (c->kind == STORE_REMOVE)
		return store_remove(c->path, NULL, NULL);
	r = store_read(a, c->path, false, &node);
	if (r == 1)
		return store_update(a, c->path, &node, c->perms, c->nperms, c->value, c->vlen);
	if (r == 0 && c->perms)
		return store_create(a, c->path, c->perms, c->nperms, c->value ? c->value : "", c->vlen);
	return XSE_EIO;
}

static enum xs_err apply_changes(const struct store_change *c, size_t n)
{
	struct arena a = {0};
	enum xs_err err = XSE_OK;

	for (size_t i = 0; i < n && err == XSE_OK; i++) {
		err = apply_change(&a, &c[i]);
		arena_reset(&a);
	}
	arena_free(&a);
	return err;
}

/*
 * The changes of a journal entry, applied in order once the whole entry is
 * known to parse (*n counts them); *parsed false, with nothing applied, if
 * it does not.
 */
static enum xs_err apply_entry(const unsigned char *p, size_t len, size_t *n, bool *parsed)
{
	struct arena a = {0}, work = {0};
	struct store_change c;
	enum xs_err err = XSE_OK;
	size_t pos = 0;
	int r;

	*n = 0;
	while ((r = fmt_change_next(&a, p, len, &pos, &c)) > 0) {
		(*n)++;
		arena_reset(&a);
	}
	*parsed = r == 0;
	for (pos = 0; *parsed && err == XSE_OK && fmt_change_next(&a, p, len, &pos, &c) > 0;) {
		err = apply_change(&work, &c);
		arena_reset(&work);
		arena_reset(&a);
	}
	arena_free(&a);
	arena_free(&work);
	return *parsed ? err : XSE_EIO;
}

enum xs_err store_replay(const char *why)
{
	uint64_t seq;
	void *data;
	size_t len, n;
	bool parsed;
	enum xs_err err = XSE_OK;
	int r = journal_get(&seq, &data, &len);

	if (r <= 0)
		return r < 0 ? XSE_EIO : XSE_OK;
	if (seq > store_st.journal_seq)
		store_st.journal_seq = seq;
	if (seq > store_st.applied) {
		err = apply_entry(data, len, &n, &parsed);
		if (!parsed) {
			log_error("store: journal entry %llu does not parse", (unsigned long long)seq);
		} else {
			log_info("store: commit %llu %s; applied its %zu changes again: %s",
				 (unsigned long long)seq, why, n, xs_err_name(err));
		}
		if (err == XSE_OK) {
			store_st.applied = seq;
			err = store_meta_write(false);
		}
	}
	free(data);
	return err;
}

enum xs_err store_commit(const struct store_change *changes, size_t n, bool *touched)
{
	struct fmt_buf b = {0};
	enum xs_err err;

	*touched = false;
	if (store_st.journal_seq > store_st.applied && store_replay("failed part way") != XSE_OK)
		return XSE_EIO;
	if (!fmt_changes_encode(&b, changes, n)) {
		fmt_buf_free(&b);
		return XSE_ENOMEM;
	}
	/*
	 * The journal keeps one entry: where a power cut matters (not tmpfs),
	 * what earlier commits and plain requests wrote must be on disk before
	 * it is replaced.
	 */
	if (store_st.sync && fdatasync(tdb_fd(store_st.tdb)) != 0)
		err = XSE_EIO;
	else
		err = journal_put(store_st.applied + 1, b.p, b.len);
	fmt_buf_free(&b);
	if (err != XSE_OK)
		return err;
	store_st.journal_seq = store_st.applied + 1;
	*touched = true;
	err = apply_changes(changes, n);
	if (err != XSE_OK) {
		/* Still in the journal: the next commit, or the next start, completes it. */
		log_error("store: commit %llu failed part way (%s); it will be applied again",
			  (unsigned long long)store_st.journal_seq, xs_err_name(err));
		return err;
	}
	store_st.applied = store_st.journal_seq;
	if (store_meta_write(false) != XSE_OK)
		log_error("store: cannot record commit %llu applied", (unsigned long long)store_st.applied);
	return XSE_OK;
}

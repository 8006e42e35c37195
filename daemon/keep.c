/* Introduced domains and their watches kept with the store, so that a restarted daemon serves them on. */
#include "keep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "hmap.h"
#include "log.h"
#include "store.h"
#include "store_format.h"

#define KEEP_VERSION 1u
#define KEEP_F_OWN 0x01u
#define KEEP_F_GONE 0x02u
#define KEEP_F_KNOWN 0x03u

/* A watch kept: its record's slot, and what restores it. */
struct kwatch {
	struct hnode h; /* in kdom.keys, by key */
	char *key;      /* "path token" (paths have no space) */
	size_t plen;    /* the path's length in key */
	size_t prefix_len;
	int depth;
	uint64_t seq;   /* registration order */
	uint32_t slot;
};

struct kdom {
	struct keep_domain rec;
	uint32_t nslots;       /* as recorded: watch records 0..nslots-1 may exist */
	struct kwatch **slots; /* by slot, NULL when free */
	size_t cap;
	uint32_t first_free;   /* no free slot below it */
	unsigned nwatches;
	struct hmap keys;
	uint64_t next_seq;
};

static struct kdom **kept; /* by domid, XS_DOMID_MAX + 1 of them while open */
static size_t nkept;

/* ---- names and bytes ---- */

static size_t name_dom(unsigned char *buf, uint32_t domid)
{
	memcpy(buf, "dom/", 4);
	return (size_t)(varint_put(buf + 4, domid) - buf);
}

static size_t name_watch(unsigned char *buf, uint32_t domid, uint32_t slot)
{
	unsigned char *p;

	memcpy(buf, "watch/", 6);
	p = varint_put(buf + 6, domid);
	return (size_t)(varint_put(p, slot) - buf);
}

#define NAME_INDEX "domains"

static bool dom_encode(struct fmt_buf *b, const struct keep_domain *d, uint32_t nslots)
{
	unsigned char *p;

	if (!fmt_reserve(b, 8 + 6 * VARINT_MAX + d->nquotas * (1 + VARINT_MAX)))
		return false;
	p = b->p + b->len;
	*p++ = KEEP_VERSION;
	*p++ = (unsigned char)((d->own ? KEEP_F_OWN : 0) | (d->gone ? KEEP_F_GONE : 0));
	p = varint_put(p, d->port);
	p = varint_put(p, d->incarnation);
	p = varint_put(p, d->target);
	*p++ = d->features;
	p = varint_put(p, nslots);
	p = varint_put(p, d->nquotas);
	for (unsigned i = 0; i < d->nquotas; i++) {
		*p++ = d->quotas[i].id;
		p = varint_put(p, d->quotas[i].value);
	}
	b->len = (size_t)(p - b->p);
	return true;
}

static bool dom_decode(const unsigned char *p, size_t len, uint32_t domid, struct keep_domain *d,
		       uint32_t *nslots)
{
	const unsigned char *end = p + len;
	uint64_t port, inc, target, ns, nq, v;

	memset(d, 0, sizeof(*d));
	if (len < 2 || p[0] != KEEP_VERSION || (p[1] & ~KEEP_F_KNOWN))
		return false;
	d->domid = domid;
	d->own = p[1] & KEEP_F_OWN;
	d->gone = p[1] & KEEP_F_GONE;
	p += 2;
	if (!varint_get(&p, end, &port) || !varint_get(&p, end, &inc) || !varint_get(&p, end, &target) ||
	    p == end || port > UINT32_MAX || target > UINT32_MAX)
		return false;
	d->port = (uint32_t)port;
	d->incarnation = inc;
	d->target = (uint32_t)target;
	d->features = *p++;
	if (!varint_get(&p, end, &ns) || !varint_get(&p, end, &nq) || ns > UINT32_MAX || nq > KEEP_QUOTAS_MAX)
		return false;
	*nslots = (uint32_t)ns;
	d->nquotas = (unsigned)nq;
	for (unsigned i = 0; i < d->nquotas; i++) {
		if (p == end)
			return false;
		d->quotas[i].id = *p++;
		if (!varint_get(&p, end, &v) || v > UINT32_MAX)
			return false;
		d->quotas[i].value = (uint32_t)v;
	}
	return p == end;
}

static bool watch_encode(struct fmt_buf *b, const struct kwatch *w)
{
	size_t klen = strlen(w->key);
	unsigned char *p;

	if (!fmt_reserve(b, 1 + 4 * VARINT_MAX + klen))
		return false;
	p = b->p + b->len;
	*p++ = KEEP_VERSION;
	p = varint_put(p, w->seq);
	p = varint_put(p, w->prefix_len);
	p = varint_put(p, (uint64_t)(w->depth + 1));
	p = varint_put(p, w->plen);
	memcpy(p, w->key, w->plen);
	p += w->plen;
	memcpy(p, w->key + w->plen + 1, klen - w->plen - 1);
	p += klen - w->plen - 1;
	b->len = (size_t)(p - b->p);
	return true;
}

/* A watch record into a new kwatch (slot not set), NULL if it does not decode (or no memory). */
static struct kwatch *watch_decode(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	uint64_t seq, prefix, depth, plen;
	struct kwatch *w;
	size_t tlen;

	if (len < 1 || p[0] != KEEP_VERSION)
		return NULL;
	p++;
	if (!varint_get(&p, end, &seq) || !varint_get(&p, end, &prefix) || !varint_get(&p, end, &depth) ||
	    !varint_get(&p, end, &plen) || plen == 0 || plen > (uint64_t)(end - p) || prefix > plen ||
	    depth > INT32_MAX)
		return NULL;
	tlen = (size_t)(end - p) - (size_t)plen;
	if (memchr(p, ' ', (size_t)plen) || memchr(p, '\0', (size_t)plen) || memchr(p + plen, '\0', tlen) ||
	    !(w = calloc(1, sizeof(*w))))
		return NULL;
	if (!(w->key = malloc((size_t)plen + 1 + tlen + 1))) {
		free(w);
		return NULL;
	}
	memcpy(w->key, p, (size_t)plen);
	w->key[plen] = ' ';
	memcpy(w->key + plen + 1, p + plen, tlen);
	w->key[plen + 1 + tlen] = '\0';
	w->plen = (size_t)plen;
	w->prefix_len = (size_t)prefix;
	w->depth = (int)depth - 1;
	w->seq = seq;
	return w;
}

/* ---- reading ---- */

struct bytes {
	unsigned char *p;
	size_t len;
	bool ok;
};

static void take_bytes(void *ctx, const unsigned char *data, size_t len)
{
	struct bytes *b = ctx;

	b->p = malloc(len ? len : 1);
	b->ok = b->p != NULL;
	if (b->ok && len)
		memcpy(b->p, data, len);
	b->len = len;
}

/* A record's bytes (malloc'd in b): XSE_OK, XSE_ENOENT, XSE_ENOMEM. */
static enum xs_err read_bytes(const unsigned char *name, size_t nlen, struct bytes *b)
{
	enum xs_err err;

	memset(b, 0, sizeof(*b));
	err = store_aux_read(name, nlen, take_bytes, b);
	if (err == XSE_OK && !b->ok)
		err = XSE_ENOMEM;
	return err;
}

static void kwatch_free(struct kwatch *w)
{
	free(w->key);
	free(w);
}

static void kdom_free(struct kdom *k)
{
	for (size_t s = 0; s < k->cap; s++)
		if (k->slots[s])
			kwatch_free(k->slots[s]);
	free(k->slots);
	hmap_free(&k->keys);
	free(k);
}

/* Drop every watch of k from memory. */
static void kdom_clear(struct kdom *k)
{
	for (size_t s = 0; s < k->cap; s++)
		if (k->slots[s]) {
			hmap_remove(&k->keys, &k->slots[s]->h);
			kwatch_free(k->slots[s]);
			k->slots[s] = NULL;
		}
	k->nwatches = 0;
	k->first_free = 0;
}

/* Put w in slot (free, below cap). */
static bool kdom_attach(struct kdom *k, struct kwatch *w, uint32_t slot)
{
	w->slot = slot;
	w->h.key = w->key;
	if (hmap_find(&k->keys, w->key) || !hmap_insert(&k->keys, &w->h))
		return false;
	k->slots[slot] = w;
	k->nwatches++;
	if (w->seq >= k->next_seq)
		k->next_seq = w->seq + 1;
	return true;
}

static void kdom_detach(struct kdom *k, struct kwatch *w)
{
	hmap_remove(&k->keys, &w->h);
	k->slots[w->slot] = NULL;
	k->nwatches--;
	if (w->slot < k->first_free)
		k->first_free = w->slot;
	kwatch_free(w);
}

static bool kdom_room(struct kdom *k, size_t need)
{
	size_t old = k->cap;

	if (need <= k->cap)
		return true;
	if (!GROW(k->slots, k->cap, need, 16))
		return false;
	memset(k->slots + old, 0, (k->cap - old) * sizeof(*k->slots));
	return true;
}

/* A domain's record and its watches' records into memory: NULL if it cannot be read (logged). */
static struct kdom *load_domain(uint32_t domid)
{
	unsigned char name[STORE_AUX_NAME_MAX];
	struct bytes b;
	struct kdom *k;
	enum xs_err err = read_bytes(name, name_dom(name, domid), &b);

	if (err != XSE_OK) {
		log_warnx("store: kept domain %u: %s", domid, err == XSE_ENOENT ? "no record" : "no memory");
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k || !dom_decode(b.p, b.len, domid, &k->rec, &k->nslots) || !kdom_room(k, k->nslots)) {
		log_warnx("store: kept domain %u: its record is damaged or there is no memory", domid);
		free(b.p);
		if (k)
			kdom_free(k);
		return NULL;
	}
	free(b.p);
	for (uint32_t s = 0; s < k->nslots; s++) {
		struct kwatch *w;

		if (read_bytes(name, name_watch(name, domid, s), &b) != XSE_OK)
			continue;
		w = watch_decode(b.p, b.len);
		free(b.p);
		if (!w || !kdom_attach(k, w, s)) {
			log_warnx("store: kept domain %u: watch record %u is damaged; dropped", domid, s);
			if (w)
				kwatch_free(w);
		}
	}
	return k;
}

/* The index record: domids kept, ascending. */
static bool index_decode(const unsigned char *p, size_t len, uint32_t **ids, size_t *n)
{
	const unsigned char *end = p + len;
	uint64_t count, v;

	*ids = NULL;
	*n = 0;
	if (!varint_get(&p, end, &count) || count > XS_DOMID_MAX + 1u)
		return false;
	if (!(*ids = malloc((count ? count : 1) * sizeof(**ids))))
		return false;
	for (uint64_t i = 0; i < count; i++) {
		if (!varint_get(&p, end, &v) || v > XS_DOMID_MAX) {
			free(*ids);
			*ids = NULL;
			return false;
		}
		(*ids)[(*n)++] = (uint32_t)v;
	}
	return p == end;
}

enum xs_err keep_open(void)
{
	struct bytes b;
	uint32_t *ids = NULL;
	size_t n = 0;
	enum xs_err err;

	kept = calloc((size_t)XS_DOMID_MAX + 1, sizeof(*kept));
	if (!kept)
		return XSE_ENOMEM;
	nkept = 0;
	err = read_bytes((const unsigned char *)NAME_INDEX, sizeof(NAME_INDEX) - 1, &b);
	if (err == XSE_ENOENT)
		return XSE_OK;
	if (err != XSE_OK)
		return err;
	if (!index_decode(b.p, b.len, &ids, &n)) {
		free(b.p);
		log_warnx("store: the record of kept domains is damaged: no domain is taken up again");
		return XSE_EIO;
	}
	free(b.p);
	for (size_t i = 0; i < n; i++) {
		if (kept[ids[i]])
			continue;
		if ((kept[ids[i]] = load_domain(ids[i])))
			nkept++;
	}
	free(ids);
	return XSE_OK;
}

void keep_close(void)
{
	if (!kept)
		return;
	for (size_t d = 0; d <= XS_DOMID_MAX; d++)
		if (kept[d])
			kdom_free(kept[d]);
	free(kept);
	kept = NULL;
	nkept = 0;
}

size_t keep_list(uint32_t **ids)
{
	size_t n = 0;

	*ids = malloc((nkept ? nkept : 1) * sizeof(**ids));
	if (!*ids)
		return 0;
	for (uint32_t d = 0; kept && d <= XS_DOMID_MAX && n < nkept; d++)
		if (kept[d])
			(*ids)[n++] = d;
	return n;
}

bool keep_domain_get(uint32_t domid, struct keep_domain *out)
{
	if (!kept || domid > XS_DOMID_MAX || !kept[domid])
		return false;
	*out = kept[domid]->rec;
	return true;
}

unsigned keep_watch_count(uint32_t domid)
{
	return kept && domid <= XS_DOMID_MAX && kept[domid] ? kept[domid]->nwatches : 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct kwatch *x = *(struct kwatch *const *)a, *y = *(struct kwatch *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void keep_watches_each(uint32_t domid, keep_watch_fn fn, void *ctx)
{
	struct kdom *k = kept && domid <= XS_DOMID_MAX ? kept[domid] : NULL;
	struct kwatch **list;
	size_t n = 0;

	if (!k || !k->nwatches)
		return;
	if (!(list = malloc(k->nwatches * sizeof(*list)))) {
		log_warnx("out of memory taking up the watches of domain %u", domid);
		return;
	}
	for (size_t s = 0; s < k->cap; s++)
		if (k->slots[s])
			list[n++] = k->slots[s];
	qsort(list, n, sizeof(*list), by_seq);
	for (size_t i = 0; i < n; i++) {
		struct kwatch *w = list[i];
		char *path = strndup(w->key, w->plen);
		struct keep_watch kw = {path, w->prefix_len, w->key + w->plen + 1, w->depth};

		if (path && fn(ctx, &kw)) {
			free(path);
			continue;
		}
		free(path);
		/* Not registered again: not kept either. */
		keep_watch_remove(domid, NULL, w->key);
	}
	free(list);
}

/* ---- writing ---- */

static enum xs_err put_domain(const struct keep_domain *d, uint32_t nslots)
{
	unsigned char name[STORE_AUX_NAME_MAX];
	struct fmt_buf b = {0};
	enum xs_err err;

	if (!dom_encode(&b, d, nslots))
		return XSE_ENOMEM;
	err = store_aux_put(name, name_dom(name, d->domid), b.p, b.len);
	fmt_buf_free(&b);
	return err;
}

/* The index as it will be: every kept domain, with add (or XS_DOMID_MAX + 1: none) and without drop[]. */
static enum xs_err put_index(uint32_t add, const uint32_t *drop, size_t ndrop)
{
	struct fmt_buf b = {0};
	uint8_t *gone = NULL;
	size_t n = 0;
	enum xs_err err;

	if (ndrop && !(gone = calloc(((size_t)XS_DOMID_MAX + 1) / 8, 1)))
		return XSE_ENOMEM;
	for (size_t i = 0; i < ndrop; i++)
		gone[drop[i] / 8] |= (uint8_t)(1u << (drop[i] % 8));
	if (!fmt_reserve(&b, (nkept + 2) * VARINT_MAX)) {
		free(gone);
		return XSE_ENOMEM;
	}
	/* The count first, then the domids. */
	for (uint32_t d = 0; d <= XS_DOMID_MAX; d++)
		if ((d == add || kept[d]) && !(gone && (gone[d / 8] & (1u << (d % 8)))))
			n++;
	b.len = (size_t)(varint_put(b.p, n) - b.p);
	for (uint32_t d = 0; d <= XS_DOMID_MAX; d++)
		if ((d == add || kept[d]) && !(gone && (gone[d / 8] & (1u << (d % 8)))))
			b.len = (size_t)(varint_put(b.p + b.len, d) - b.p);
	free(gone);
	err = n ? store_aux_put(NAME_INDEX, sizeof(NAME_INDEX) - 1, b.p, b.len)
		: store_aux_del(NAME_INDEX, sizeof(NAME_INDEX) - 1);
	fmt_buf_free(&b);
	return err;
}

static enum xs_err del_watch_records(const struct kdom *k)
{
	unsigned char name[STORE_AUX_NAME_MAX];
	enum xs_err err = XSE_OK;

	for (size_t s = 0; s < k->cap && err == XSE_OK; s++)
		if (k->slots[s])
			err = store_aux_del(name, name_watch(name, k->rec.domid, (uint32_t)s));
	return err;
}

enum xs_err keep_domain_put(const struct keep_domain *d, bool fresh)
{
	struct kdom *k;
	bool is_new;
	enum xs_err err = XSE_OK;

	if (!kept || d->domid > XS_DOMID_MAX)
		return XSE_OK;
	k = kept[d->domid];
	is_new = !k;
	if (is_new && !(k = calloc(1, sizeof(*k))))
		return XSE_ENOMEM;
	if (is_new)
		k->rec.domid = d->domid;
	store_group_begin();
	if (fresh)
		err = del_watch_records(k);
	if (err == XSE_OK)
		err = put_domain(d, fresh ? 0 : k->nslots);
	if (err == XSE_OK && is_new)
		err = put_index(d->domid, NULL, 0);
	err = store_group_end(err);
	if (err != XSE_OK) {
		if (is_new)
			kdom_free(k);
		return err;
	}
	if (fresh) {
		kdom_clear(k);
		k->nslots = 0;
	}
	k->rec = *d;
	if (is_new) {
		kept[d->domid] = k;
		nkept++;
	}
	return XSE_OK;
}

enum xs_err keep_domains_gone(const uint32_t *ids, size_t n)
{
	enum xs_err err = XSE_OK;

	if (!kept)
		return XSE_OK;
	store_group_begin();
	for (size_t i = 0; i < n && err == XSE_OK; i++) {
		struct kdom *k = ids[i] <= XS_DOMID_MAX ? kept[ids[i]] : NULL;
		struct keep_domain d;

		if (!k)
			continue;
		d = k->rec;
		d.gone = true;
		err = del_watch_records(k);
		if (err == XSE_OK)
			err = put_domain(&d, 0);
	}
	err = store_group_end(err);
	if (err != XSE_OK)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct kdom *k = ids[i] <= XS_DOMID_MAX ? kept[ids[i]] : NULL;

		if (!k)
			continue;
		kdom_clear(k);
		k->nslots = 0;
		k->rec.gone = true;
	}
	return XSE_OK;
}

void keep_domains_cleaned(const uint32_t *ids, size_t n)
{
	unsigned char name[STORE_AUX_NAME_MAX];
	uint32_t *drop;
	size_t ndrop = 0;

	if (!kept || !n || !(drop = malloc(n * sizeof(*drop))))
		return;
	for (size_t i = 0; i < n; i++) {
		struct kdom *k = ids[i] <= XS_DOMID_MAX ? kept[ids[i]] : NULL;

		if (!k)
			continue;
		/* A watch kept since the domain went cannot be; its slots were dropped then. */
		if (del_watch_records(k) != XSE_OK || store_aux_del(name, name_dom(name, ids[i])) != XSE_OK)
			log_warnx("store: cannot drop the record of domain %u", ids[i]);
		drop[ndrop++] = ids[i];
	}
	if (ndrop && put_index(XS_DOMID_MAX + 1, drop, ndrop) != XSE_OK)
		log_warnx("store: cannot write the record of kept domains");
	for (size_t i = 0; i < ndrop; i++) {
		kdom_free(kept[drop[i]]);
		kept[drop[i]] = NULL;
		nkept--;
	}
	free(drop);
}

enum xs_err keep_watch_add(uint32_t domid, const struct keep_watch *kw)
{
	struct kdom *k = kept && domid <= XS_DOMID_MAX ? kept[domid] : NULL;
	unsigned char name[STORE_AUX_NAME_MAX];
	struct fmt_buf b = {0};
	size_t plen = strlen(kw->path), tlen = strlen(kw->token);
	struct kwatch *w;
	uint32_t slot;
	enum xs_err err;

	if (!k || k->rec.gone)
		return XSE_OK;
	for (slot = k->first_free; slot < k->cap && k->slots[slot]; slot++)
		;
	k->first_free = slot;
	if (!kdom_room(k, (size_t)slot + 1) || !(w = calloc(1, sizeof(*w))))
		return XSE_ENOMEM;
	if (!(w->key = malloc(plen + 1 + tlen + 1))) {
		free(w);
		return XSE_ENOMEM;
	}
	memcpy(w->key, kw->path, plen);
	w->key[plen] = ' ';
	memcpy(w->key + plen + 1, kw->token, tlen + 1);
	w->plen = plen;
	w->prefix_len = kw->prefix_len;
	w->depth = kw->depth;
	w->seq = k->next_seq;
	if (hmap_find(&k->keys, w->key)) {
		kwatch_free(w);
		return XSE_OK; /* kept already (taken up at start) */
	}
	if (!watch_encode(&b, w)) {
		kwatch_free(w);
		return XSE_ENOMEM;
	}
	store_group_begin();
	err = store_aux_put(name, name_watch(name, domid, slot), b.p, b.len);
	if (err == XSE_OK && slot >= k->nslots)
		err = put_domain(&k->rec, slot + 1);
	err = store_group_end(err);
	fmt_buf_free(&b);
	if (err == XSE_OK && !kdom_attach(k, w, slot))
		err = XSE_ENOMEM; /* the record stays: a spare slot, overwritten when reused */
	if (err != XSE_OK) {
		kwatch_free(w);
		return err;
	}
	if (slot >= k->nslots)
		k->nslots = slot + 1;
	return XSE_OK;
}

/* path NULL: token is the whole key ("path token"). */
enum xs_err keep_watch_remove(uint32_t domid, const char *path, const char *token)
{
	struct kdom *k = kept && domid <= XS_DOMID_MAX ? kept[domid] : NULL;
	unsigned char name[STORE_AUX_NAME_MAX];
	struct hnode *h;
	char *key;
	enum xs_err err;

	if (!k || !k->nwatches)
		return XSE_OK;
	if (path) {
		size_t pl = strlen(path), tl = strlen(token);

		if (!(key = malloc(pl + 1 + tl + 1)))
			return XSE_ENOMEM;
		memcpy(key, path, pl);
		key[pl] = ' ';
		memcpy(key + pl + 1, token, tl + 1);
	} else if (!(key = strdup(token))) {
		return XSE_ENOMEM;
	}
	h = hmap_find(&k->keys, key);
	free(key);
	if (!h)
		return XSE_OK;
	store_group_begin();
	err = store_aux_del(name, name_watch(name, domid, ((struct kwatch *)h)->slot));
	err = store_group_end(err);
	if (err == XSE_OK)
		kdom_detach(k, (struct kwatch *)h);
	return err;
}

enum xs_err keep_watches_clear(uint32_t domid)
{
	struct kdom *k = kept && domid <= XS_DOMID_MAX ? kept[domid] : NULL;
	enum xs_err err;

	if (!k || (!k->nwatches && !k->nslots))
		return XSE_OK;
	store_group_begin();
	err = del_watch_records(k);
	if (err == XSE_OK)
		err = put_domain(&k->rec, 0);
	err = store_group_end(err);
	if (err != XSE_OK)
		return err;
	kdom_clear(k);
	k->nslots = 0;
	return XSE_OK;
}

/* ---- the check ---- */

const char *keep_check(void)
{
	static char fault[160];
	unsigned char name[STORE_AUX_NAME_MAX];
	struct bytes b;
	uint32_t *ids = NULL;
	size_t n = 0, listed = 0;
	enum xs_err err;

	if (!kept)
		return NULL;
	fault[0] = '\0';
	err = read_bytes((const unsigned char *)NAME_INDEX, sizeof(NAME_INDEX) - 1, &b);
	if (err == XSE_OK) {
		bool ok = index_decode(b.p, b.len, &ids, &n);

		free(b.p);
		if (!ok) {
			snprintf(fault, sizeof(fault), "kept domains: the index record is damaged");
			return fault;
		}
	} else if (err != XSE_ENOENT) {
		snprintf(fault, sizeof(fault), "kept domains: the index record cannot be read");
		return fault;
	}
	for (size_t i = 0; i < n && !fault[0]; i++) {
		struct kdom *k = kept[ids[i]];
		struct keep_domain d;
		uint32_t ns;

		if (!k) {
			snprintf(fault, sizeof(fault), "kept domain %u: listed, not kept", ids[i]);
			break;
		}
		listed++;
		if (read_bytes(name, name_dom(name, ids[i]), &b) != XSE_OK) {
			snprintf(fault, sizeof(fault), "kept domain %u: no record", ids[i]);
			break;
		}
		if (!dom_decode(b.p, b.len, ids[i], &d, &ns) || ns != k->nslots || d.port != k->rec.port ||
		    d.incarnation != k->rec.incarnation || d.target != k->rec.target ||
		    d.features != k->rec.features || d.own != k->rec.own || d.gone != k->rec.gone ||
		    d.nquotas != k->rec.nquotas ||
		    memcmp(d.quotas, k->rec.quotas, d.nquotas * sizeof(d.quotas[0])) != 0)
			snprintf(fault, sizeof(fault), "kept domain %u: its record is damaged or stale", ids[i]);
		free(b.p);
		for (uint32_t s = 0; s < k->nslots && !fault[0]; s++) {
			struct kwatch *have = s < k->cap ? k->slots[s] : NULL, *w = NULL;

			err = read_bytes(name, name_watch(name, ids[i], s), &b);
			if (err == XSE_OK) {
				w = watch_decode(b.p, b.len);
				free(b.p);
			}
			if ((err == XSE_OK) != (have != NULL) || (have && !w) ||
			    (have && (strcmp(w->key, have->key) != 0 || w->prefix_len != have->prefix_len ||
				      w->depth != have->depth)))
				snprintf(fault, sizeof(fault), "kept domain %u: watch record %u is %s", ids[i], s,
					 have && err == XSE_OK ? "damaged or stale" : have ? "missing" : "left over");
			if (w)
				kwatch_free(w);
		}
	}
	free(ids);
	if (!fault[0] && listed != nkept)
		snprintf(fault, sizeof(fault), "kept domains: %zu in memory, %zu listed", nkept, listed);
	return fault[0] ? fault : NULL;
}

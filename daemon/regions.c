/* Which subtrees name each domain: the topmost nodes whose permissions name it, for its clean-up. */
#include "regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

struct region {
	struct hnode h;
	char path[];
};

struct region_set {
	struct hnode h;
	char key[12]; /* the domid in decimal */
	struct hmap roots;
};

static struct hmap region_sets;
static bool regions_untrusted;

static struct region_set *set_get(uint32_t domid, bool create)
{
	char key[12];
	struct region_set *s;

	snprintf(key, sizeof(key), "%u", (unsigned)domid);
	s = (struct region_set *)hmap_find(&region_sets, key);
	if (s || !create)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->key, key, sizeof(key));
	s->h.key = s->key;
	if (!hmap_insert(&region_sets, &s->h)) {
		free(s);
		return NULL;
	}
	return s;
}

static void set_free(struct region_set *s)
{
	for (size_t b = 0; b < s->roots.nbuckets; b++) {
		struct hnode *h = s->roots.buckets[b];

		while (h) {
			struct hnode *next = h->next;

			free(h);
			h = next;
		}
	}
	hmap_free(&s->roots);
	hmap_remove(&region_sets, &s->h);
	free(s);
}

void regions_add(uint32_t domid, const char *path)
{
	struct region_set *s = set_get(domid, true);
	size_t len = strlen(path);
	struct region *r;

	if (!s) {
		regions_untrusted = true;
		return;
	}
	if (hmap_find(&s->roots, path))
		return;
	r = malloc(sizeof(*r) + len + 1);
	if (!r) {
		regions_untrusted = true;
		return;
	}
	memcpy(r->path, path, len + 1);
	r->h.key = r->path;
	if (!hmap_insert(&s->roots, &r->h)) {
		free(r);
		regions_untrusted = true;
	}
}

void regions_del(uint32_t domid, const char *path)
{
	struct region_set *s = set_get(domid, false);
	struct hnode *h = s ? hmap_find(&s->roots, path) : NULL;

	if (!h)
		return;
	hmap_remove(&s->roots, h);
	free(h);
	if (!s->roots.count)
		set_free(s);
}

size_t regions_list(uint32_t domid, char ***out)
{
	struct region_set *s = set_get(domid, false);
	size_t n = 0;

	*out = NULL;
	if (!s)
		return 0;
	*out = malloc(s->roots.count * sizeof(char *));
	if (!*out) {
		regions_untrusted = true;
		return 0;
	}
	for (size_t b = 0; b < s->roots.nbuckets; b++)
		for (struct hnode *h = s->roots.buckets[b]; h; h = h->next)
			if (((*out)[n] = strdup(h->key)) != NULL)
				n++;
			else
				regions_untrusted = true;
	return n;
}

bool regions_complete(void)
{
	return !regions_untrusted;
}

void regions_lost(void)
{
	regions_untrusted = true;
}

void regions_clear(void)
{
	while (region_sets.count) {
		for (size_t b = 0; b < region_sets.nbuckets; b++)
			if (region_sets.buckets[b]) {
				set_free((struct region_set *)region_sets.buckets[b]);
				break;
			}
	}
	hmap_free(&region_sets);
	regions_untrusted = false;
}

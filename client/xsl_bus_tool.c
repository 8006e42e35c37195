/* The toolstack's part of a device: both directories with their permissions (xl block-attach), close, removal, detach. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsl_bus.h"

/* Both directories of a device, and the error directories its drivers may have written. */
struct dev_paths {
	char fe[XSL_ABS_PATH_MAX];
	char be[XSL_ABS_PATH_MAX];
	char be_parent[XSL_ABS_PATH_MAX]; /* backend/<type>/<fe>: made for it, removed when empty */
	char fe_err[XSL_ABS_PATH_MAX];
	char be_err[XSL_ABS_PATH_MAX];
};

static bool component_ok(const char *s)
{
	return s && *s && !strchr(s, '/') && strlen(s) < 256;
}

static int make_paths(const struct xsl_bus_attach *a, struct dev_paths *p)
{
	int n[5];

	if (!a || !component_ok(a->type) || !component_ok(a->devid) || a->frontend_id >= 0x7FF0 ||
	    a->backend_id >= 0x7FF0)
		return -EINVAL;
	n[0] = snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/%s/%s", a->frontend_id,
			a->type, a->devid);
	n[1] = snprintf(p->be_parent, sizeof(p->be_parent), "/local/domain/%u/backend/%s/%u",
			a->backend_id, a->type, a->frontend_id);
	n[2] = snprintf(p->be, sizeof(p->be), "/local/domain/%u/backend/%s/%u/%s", a->backend_id,
			a->type, a->frontend_id, a->devid);
	n[3] = snprintf(p->fe_err, sizeof(p->fe_err), "/local/domain/%u/error/device/%s/%s",
			a->frontend_id, a->type, a->devid);
	n[4] = snprintf(p->be_err, sizeof(p->be_err), "/local/domain/%u/error/backend/%s/%u/%s",
			a->backend_id, a->type, a->frontend_id, a->devid);
	/* Components are short (checked above): no path comes near the limit. */
	for (int i = 0; i < 5; i++)
		if (n[i] < 0 || n[i] >= (int)XSL_ABS_PATH_MAX)
			return -ENAMETOOLONG;
	return 0;
}

/* A device as the toolstack's transactions see it. */
struct attach_ctx {
	const struct xsl_bus_attach *a;
	struct dev_paths p;
};

static int write_keys(struct xsl *h, xsl_txn_t t, const char *dir, const char *const *kv)
{
	char path[XSL_ABS_PATH_MAX];
	int err;

	for (; kv && kv[0]; kv += 2) {
		if (!kv[1])
			return -EINVAL;
		if ((err = xbs_join(path, sizeof(path), dir, kv[0])) < 0 ||
		    (err = xsl_write(h, t, path, kv[1], strlen(kv[1]))) < 0)
			return err;
	}
	return 0;
}

/* One end's directory: owner with nothing for others but read for the peer; its keys inherit that. */
static int make_dir(struct xsl *h, xsl_txn_t t, const char *dir, unsigned owner, unsigned peer)
{
	struct xsl_perm perms[2] = {{owner, XSL_PERM_NONE}, {peer, XSL_PERM_READ}};
	int err;

	if ((err = xsl_mkdir(h, t, dir)) < 0)
		return err;
	return xsl_set_perms(h, t, dir, perms, owner == peer ? 1 : 2);
}

static int attach_in(struct xsl *h, xsl_txn_t t, void *arg)
{
	struct attach_ctx *c = arg;
	const struct xsl_bus_attach *a = c->a;
	char fe_id[16], be_id[16];
	const char *fe_keys[] = {"backend", c->p.be, "backend-id", be_id, "state", "1", NULL};
	const char *be_keys[] = {"frontend", c->p.fe, "frontend-id", fe_id, "online", "1",
				 "state", "1", NULL};
	int err;

	if ((err = xsl_exists(h, t, c->p.fe)) != 0 || (err = xsl_exists(h, t, c->p.be)) != 0)
		return err < 0 ? err : -EEXIST;
	snprintf(fe_id, sizeof(fe_id), "%u", a->frontend_id);
	snprintf(be_id, sizeof(be_id), "%u", a->backend_id);
	if ((err = make_dir(h, t, c->p.fe, a->frontend_id, a->backend_id)) < 0 ||
	    (err = make_dir(h, t, c->p.be, a->backend_id, a->frontend_id)) < 0 ||
	    (err = write_keys(h, t, c->p.fe, a->frontend_keys)) < 0 ||
	    (err = write_keys(h, t, c->p.be, a->backend_keys)) < 0 ||
	    (err = write_keys(h, t, c->p.fe, fe_keys)) < 0)
		return err;
	/* One transaction: a driver never finds a directory half made. */
	return write_keys(h, t, c->p.be, be_keys);
}

/* One of the toolstack's transactions on a device's paths. */
static int run_on_paths(struct xsl *h, const struct xsl_bus_attach *a, xsl_txn_fn *fn)
{
	struct attach_ctx c = {.a = a};
	int err;

	if (!h)
		return -EINVAL;
	if ((err = make_paths(a, &c.p)) < 0)
		return err;
	return xsl_txn_run(h, fn, &c, 0);
}

int xsl_bus_toolstack_attach(struct xsl *h, const struct xsl_bus_attach *a)
{
	return run_on_paths(h, a, attach_in);
}

static int close_in(struct xsl *h, xsl_txn_t t, void *arg)
{
	const struct dev_paths *p = &((struct attach_ctx *)arg)->p;
	static const char *const keys[] = {"online", "0", "state", "5", NULL};
	int err;

	/* Writing into a directory already gone would make a stray one. */
	if ((err = xsl_exists(h, t, p->be)) <= 0)
		return err < 0 ? err : -ENOENT;
	return write_keys(h, t, p->be, keys);
}

int xsl_bus_toolstack_close(struct xsl *h, const struct xsl_bus_attach *a)
{
	return run_on_paths(h, a, close_in);
}

static int rm_gone_ok(struct xsl *h, xsl_txn_t t, const char *path)
{
	int err = xsl_rm(h, t, path);

	return err == -ENOENT ? 0 : err;
}

static int remove_in(struct xsl *h, xsl_txn_t t, void *arg)
{
	const struct dev_paths *p = &((struct attach_ctx *)arg)->p;
	char **names;
	unsigned count;
	int err;

	if ((err = rm_gone_ok(h, t, p->fe)) < 0 || (err = rm_gone_ok(h, t, p->be)) < 0 ||
	    (err = rm_gone_ok(h, t, p->fe_err)) < 0 || (err = rm_gone_ok(h, t, p->be_err)) < 0)
		return err;
	/* The frontend domain's level under backend/<type> was made for its devices: it goes with the last. */
	err = xsl_directory(h, t, p->be_parent, &names, &count);
	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	free(names);
	return count ? 0 : rm_gone_ok(h, t, p->be_parent);
}

int xsl_bus_toolstack_remove(struct xsl *h, const struct xsl_bus_attach *a)
{
	return run_on_paths(h, a, remove_in);
}

int xsl_bus_toolstack_detach(struct xsl *h, const struct xsl_bus_attach *a, int timeout_ms)
{
	struct dev_paths p;
	int err, waited = 0;

	if (!h)
		return -EINVAL;
	if ((err = make_paths(a, &p)) < 0)
		return err;
	if (xbs_depth)
		return -EDEADLK;
	err = xsl_bus_toolstack_close(h, a);
	if (err == 0) {
		/* As libxl: the backend gets its time to close, then the directories go regardless. */
		waited = xsl_xbs_wait(h, p.be, XSL_XBS_BIT(XSL_XBS_CLOSED), timeout_ms);
		if (waited < 0 && waited != -ETIMEDOUT)
			return waited;
	} else if (err != -ENOENT) {
		return err;
	}
	err = xsl_bus_toolstack_remove(h, a);
	return err < 0 ? err : waited == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* The toolstack's part of the block pair: a simulated guest introduced, a vbd attached and detached as xl does. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/blk.h"

#define XVD_MAJOR 202u
#define XVD_EXT (1u << 28)

int blk_vdev_parse(const char *name, unsigned *devid)
{
	unsigned disk = 0, part = 0;
	const char *p;
	char *end;

	if (name[0] >= '0' && name[0] <= '9') {
		unsigned long v = strtoul(name, &end, 10);

		if (*end || v > INT_MAX)
			return -EINVAL;
		*devid = (unsigned)v;
		return 0;
	}
	if (strncmp(name, "xvd", 3) != 0)
		return -EINVAL;
	for (p = name + 3; *p >= 'a' && *p <= 'z'; p++) {
		disk = disk * 26 + (unsigned)(*p - 'a') + 1;
		if (disk > 1u << 20)
			return -EINVAL;
	}
	if (p == name + 3)
		return -EINVAL;
	disk--;
	if (*p) {
		unsigned long v = strtoul(p, &end, 10);

		if (*end || v > 255 || *p < '1' || *p > '9')
			return -EINVAL;
		part = (unsigned)v;
	}
	if (disk < 16 && part < 16)
		*devid = XVD_MAJOR << 8 | disk << 4 | part;
	else if (disk < (1u << 20))
		*devid = XVD_EXT | disk << 8 | part;
	else
		return -EINVAL;
	return 0;
}

void blk_vdev_name(unsigned devid, char *buf, size_t size)
{
	unsigned disk, part;
	char letters[8];
	int n = 0;

	if ((devid >> 8) == XVD_MAJOR) {
		disk = (devid >> 4) & 15;
		part = devid & 15;
	} else if (devid & XVD_EXT) {
		disk = (devid >> 8) & 0xfffff;
		part = devid & 255;
	} else {
		snprintf(buf, size, "%u", devid);
		return;
	}
	/* Letters as a bijective base 26: a..z, aa.. */
	for (unsigned d = disk + 1; d && n < 7; d = (d - 1) / 26)
		letters[n++] = (char)('a' + (d - 1) % 26);
	snprintf(buf, size, "xvd");
	for (size_t len = strlen(buf); n > 0 && len + 1 < size; len++)
		buf[len] = letters[--n], buf[len + 1] = 0;
	if (part)
		snprintf(buf + strlen(buf), size - strlen(buf), "%u", part);
}

int blk_ts_introduce(struct xsl *h, unsigned domid, unsigned port)
{
	struct xsl_perm owner = {domid, XSL_PERM_NONE};
	char home[32];
	int err;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if ((err = xsl_mkdir(h, XSL_TXN_NONE, home)) < 0 ||
	    (err = xsl_set_perms(h, XSL_TXN_NONE, home, &owner, 1)) < 0)
		return err;
	/* As libxl records them: the guest's bus reports its store event channel from here. */
	if ((err = xsl_xbs_printf(h, XSL_TXN_NONE, home, "store/port", "%u", port)) < 0 ||
	    (err = xsl_xbs_printf(h, XSL_TXN_NONE, home, "store/ring-ref", "%u", 1u)) < 0)
		return err;
	return xsl_introduce(h, domid, 0, port);
}

static void bus_attach(struct xsl_bus_attach *a, char *devid_s, size_t size, unsigned be_domid,
		       unsigned fe_domid, unsigned devid)
{
	snprintf(devid_s, size, "%u", devid);
	memset(a, 0, sizeof(*a));
	a->type = "vbd";
	a->devid = devid_s;
	a->frontend_id = fe_domid;
	a->backend_id = be_domid;
}

int blk_ts_attach(struct xsl *h, unsigned be_domid, unsigned fe_domid, unsigned devid,
		  const char *image, int readonly)
{
	char devid_s[16], name[32], *abs = realpath(image, NULL);
	struct xsl_bus_attach a;
	int err;

	if (!abs)
		return -errno;
	blk_vdev_name(devid, name, sizeof(name));
	{
		const char *const fe_keys[] = {"virtual-device", devid_s, "device-type", "disk", NULL};
		const char *const be_keys[] = {"params", abs, "mode", readonly ? "r" : "w",
					       "type", "file", "dev", name, "device-type", "disk",
					       "removable", "0", "bootable", "1", NULL};

		bus_attach(&a, devid_s, sizeof(devid_s), be_domid, fe_domid, devid);
		a.frontend_keys = fe_keys;
		a.backend_keys = be_keys;
		/* Its transaction retries conflicts itself; a store very busy with others may still refuse. */
		for (int tries = 0; tries < 8; tries++)
			if ((err = xsl_bus_toolstack_attach(h, &a)) != -EAGAIN)
				break;
	}
	free(abs);
	return err;
}

int blk_ts_detach(struct xsl *h, unsigned be_domid, unsigned fe_domid, unsigned devid,
		  int timeout_ms, int force)
{
	char devid_s[16], be[96], fe[96];
	const unsigned closed = XSL_XBS_BIT(XSL_XBS_CLOSED);
	struct xsl_bus_attach a;
	int err;

	bus_attach(&a, devid_s, sizeof(devid_s), be_domid, fe_domid, devid);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vbd/%u/%u", be_domid, fe_domid, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", fe_domid, devid);
	if ((err = xsl_exists(h, XSL_TXN_NONE, be)) <= 0)
		return err == 0 ? -ENOENT : err;
	/*
	 * A frontend already Closed (or gone) will not move again, and a
	 * backend follows only its frontend: nothing to wait for.
	 */
	err = xsl_xbs_read_bus(h, XSL_TXN_NONE, fe);
	if (err == XSL_XBS_CLOSED)
		return xsl_bus_toolstack_remove(h, &a);
	if ((err = xsl_bus_toolstack_close(h, &a)) < 0)
		return err;
	/* Both ends: the frontend follows the backend to Closed, then the backend closes. */
	err = xsl_xbs_wait(h, fe, closed, timeout_ms);
	if (err >= 0)
		err = xsl_xbs_wait(h, be, closed, timeout_ms);
	if (err < 0 && !force)
		return err;
	{
		int rm = xsl_bus_toolstack_remove(h, &a);

		return err < 0 ? err : rm;
	}
}

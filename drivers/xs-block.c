/* xs-block: the toolstack's part of the block pair in dom0 (as xl block-attach, block-detach, block-list), and introducing a simulated guest. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/blk.h"

#define DOMID_GUEST_MAX 0x7FEFu

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: xs-block [OPTION]... COMMAND [ARG]...\n"
		"The toolstack's part of block devices, over the store's socket (privileged):\n"
		"\n"
		"  introduce DOMID [PORT]      a simulated guest's home /local/domain/DOMID, owned by\n"
		"                              it, then INTRODUCE with its store event channel PORT\n"
		"                              (default 1, a fresh simulated domain's) and its ring\n"
		"                              at grant reference 1 (once xs-blkfront -d DOMID runs)\n"
		"  attach DOMID IMAGE [VDEV]   both device directories, as xl block-attach writes\n"
		"                              them: backend/vbd/DOMID/DEVID in the backend's domain\n"
		"                              (params, mode, frontend, frontend-id, online, state 1;\n"
		"                              owned by it, read for the guest) and device/vbd/DEVID\n"
		"                              in the guest's (backend, backend-id, state 1,\n"
		"                              virtual-device, device-type; owned by the guest, read\n"
		"                              for the backend). VDEV: xvda (default), xvdb, ... or\n"
		"                              a number\n"
		"  detach DOMID VDEV           the backend to Closing (online 0), both ends waited for\n"
		"                              until Closed, both directories removed\n"
		"  list [DOMID]                the vbd devices: domain, device, both states, image\n"
		"  release DOMID               RELEASE: the store forgets the domain\n"
		"\n"
		"Options:\n"
		"  -s, --store PATH     the store's socket (default $XENSTORED_PATH, else\n"
		"                       $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket)\n"
		"  -b, --backend DOMID  the backend's domain (default 0)\n"
		"  -r, --readonly       attach read-only (mode r)\n"
		"  -t, --timeout MS     how long detach waits for both ends (default 10000)\n"
		"  -f, --force          detach: remove the directories even if the ends did not close\n"
		"  -h, --help\n");
}

static int parse_domid(const char *s, unsigned *domid)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > DOMID_GUEST_MAX)
		return -1;
	*domid = (unsigned)v;
	return 0;
}

static const char *state_name(struct xsl *h, const char *dir)
{
	int st = xsl_xbs_read(h, XSL_TXN_NONE, dir);

	return st == -ENOENT ? "-" : st < 0 ? "?" : xsl_xbs_name(st);
}

static int list(struct xsl *h, unsigned be_domid, int only, unsigned only_domid)
{
	char base[64], **doms;
	unsigned ndoms;
	int err;

	snprintf(base, sizeof(base), "/local/domain/%u/backend/vbd", be_domid);
	err = xsl_directory(h, XSL_TXN_NONE, base, &doms, &ndoms);
	if (err == -ENOENT)
		ndoms = 0, doms = NULL;
	else if (err < 0)
		return err;
	printf("%-6s %-8s %-8s %-12s %-12s %s\n", "Domain", "Vdev", "DevId", "Backend", "Frontend",
	       "Image");
	for (unsigned i = 0; i < ndoms; i++) {
		char dir[128], **devs;
		unsigned ndevs, fe;

		if (parse_domid(doms[i], &fe) < 0 || (only && fe != only_domid))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, doms[i]);
		if (xsl_directory(h, XSL_TXN_NONE, dir, &devs, &ndevs) < 0)
			continue;
		for (unsigned k = 0; k < ndevs; k++) {
			char be[192], fedir[128], name[32], *params = NULL;

			snprintf(be, sizeof(be), "%s/%s", dir, devs[k]);
			snprintf(fedir, sizeof(fedir), "/local/domain/%u/device/vbd/%s", fe, devs[k]);
			blk_vdev_name((unsigned)strtoul(devs[k], NULL, 10), name, sizeof(name));
			xsl_xbs_gather(h, XSL_TXN_NONE, be, "params", NULL, &params, NULL);
			printf("%-6u %-8s %-8s %-12s %-12s %s\n", fe, name, devs[k], state_name(h, be),
			       state_name(h, fedir), params ? params : "-");
			free(params);
		}
		free(devs);
	}
	free(doms);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 's'},   {"backend", required_argument, NULL, 'b'},
		{"readonly", no_argument, NULL, 'r'},      {"timeout", required_argument, NULL, 't'},
		{"force", no_argument, NULL, 'f'},         {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct xsl_open_opts oo = {.transport = XSL_TR_SOCKET, .timeout_ms = 10000};
	unsigned be_domid = 0, domid = 0, devid = 51712;
	int opt, readonly = 0, force = 0, timeout_ms = 10000, err;
	const char *cmd;
	struct xsl *h;
	char **args;
	int nargs;

	while ((opt = getopt_long(argc, argv, "s:b:rt:fh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': oo.path = optarg; break;
		case 'b':
			if (parse_domid(optarg, &be_domid) < 0) {
				fprintf(stderr, "xs-block: %s: not a domain id\n", optarg);
				return 2;
			}
			break;
		case 'r': readonly = 1; break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;
	if (strcmp(cmd, "list") != 0 && (nargs < 1 || parse_domid(args[0], &domid) < 0)) {
		usage(stderr);
		return 2;
	}
	if ((strcmp(cmd, "attach") == 0 && (nargs < 2 || nargs > 3)) ||
	    (strcmp(cmd, "detach") == 0 && nargs != 2) ||
	    (strcmp(cmd, "introduce") == 0 && nargs != 1 && nargs != 2) ||
	    (strcmp(cmd, "release") == 0 && nargs != 1) ||
	    (strcmp(cmd, "list") == 0 && (nargs > 1 || (nargs == 1 && parse_domid(args[0], &domid) < 0)))) {
		usage(stderr);
		return 2;
	}
	{
		const char *vdev = strcmp(cmd, "attach") == 0 ? (nargs == 3 ? args[2] : NULL)
				   : strcmp(cmd, "detach") == 0 ? args[1] : NULL;

		if (vdev && blk_vdev_parse(vdev, &devid) < 0) {
			fprintf(stderr, "xs-block: %s: not a device name (xvda, xvdb, ..., or a number)\n",
				vdev);
			return 2;
		}
	}
	if ((err = xsl_open(&h, &oo)) < 0) {
		fprintf(stderr, "xs-block: the store: %s\n", strerror(-err));
		return 1;
	}
	if (strcmp(cmd, "introduce") == 0) {
		char *end;
		unsigned long port = nargs == 2 ? strtoul(args[1], &end, 10) : 1;

		if (nargs == 2 && (!*args[1] || *end || port == 0 || port > 0xffff)) {
			fprintf(stderr, "xs-block: %s: not a port\n", args[1]);
			xsl_close(h);
			return 2;
		}
		err = blk_ts_introduce(h, domid, (unsigned)port);
	} else if (strcmp(cmd, "release") == 0) {
		err = xsl_release(h, domid);
	} else if (strcmp(cmd, "attach") == 0) {
		err = blk_ts_attach(h, be_domid, domid, devid, args[1], readonly);
		if (err == 0) {
			char name[32];

			blk_vdev_name(devid, name, sizeof(name));
			printf("domain %u: %s (%u) -> %s\n", domid, name, devid, args[1]);
		}
	} else if (strcmp(cmd, "detach") == 0) {
		err = blk_ts_detach(h, be_domid, domid, devid, timeout_ms, force);
		if (err == -ETIMEDOUT)
			fprintf(stderr, "xs-block: detach: the ends did not reach Closed in %d ms%s\n",
				timeout_ms, force ? " (removed anyway)" : " (-f removes anyway)");
	} else if (strcmp(cmd, "list") == 0) {
		err = list(h, be_domid, nargs == 1, domid);
	} else {
		usage(stderr);
		xsl_close(h);
		return 2;
	}
	if (err < 0 && err != -ETIMEDOUT)
		fprintf(stderr, "xs-block: %s: %s\n", cmd, strerror(-err));
	xsl_close(h);
	return err < 0 ? 1 : 0;
}

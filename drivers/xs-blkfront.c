/* xs-blkfront: a simulated guest with a block frontend (as NetBSD's xbd), and the commands that read and write its disks by hand. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "drivers/blk.h"
#include "proto/simhyp.h"

#define ARGS_MAX 8
/* Domain ids a guest can have: 0 is dom0, 0x7FF0 and above are reserved. */
#define DOMID_GUEST_MAX 0x7FEFu
#define PAYLOAD_MAX (16u << 20)
#define IO_TIMEOUT_MS 30000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: xs-blkfront [OPTION]... -d DOMID run\n"
		"       xs-blkfront [OPTION]... -d DOMID COMMAND [ARG]...\n"
		"'run' is the guest: it creates domain DOMID in the simulated hypervisor, waits to\n"
		"be introduced (xs-block introduce DOMID), then its frontend takes every vbd device\n"
		"the toolstack gives it (xs-block attach), logging each state change on standard\n"
		"error, until SIGTERM, SIGINT or 'stop'. The commands go to that running guest\n"
		"(through its control socket) and run in it:\n"
		"\n"
		"  info                       each device: state, size, features, ring\n"
		"  write SECTOR FILE          FILE's bytes from SECTOR (512 bytes each; the last\n"
		"                             sector padded with zeros); FILE - is standard input\n"
		"  read SECTOR COUNT [FILE]   COUNT sectors from SECTOR: a hex dump, or raw to FILE\n"
		"  flush                      the backend syncs the image (feature-flush-cache)\n"
		"  discard SECTOR COUNT\n"
		"  wait [MS]                  until the device is Connected (default 10000)\n"
		"  stop                       the guest ends (its domain goes)\n"
		"\n"
		"Options:\n"
		"  -d, --domid DOMID       the guest's domain (1 to 32751)\n"
		"  -v, --vdev VDEV         the device (xvda, 51712, ...; default: the first)\n"
		"  -s, --store PATH        the store's socket (default $XENSTORED_PATH, else\n"
		"                          $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket)\n"
		"  -H, --simhyp PATH       the simulated hypervisor (default: beside the store's)\n"
		"  -c, --control PATH      the control socket (default: blkfront-DOMID beside the\n"
		"                          store's socket)\n"
		"  -o, --ring-order N      ring pages asked for: 2^N, at most 4 (default 4)\n"
		"  -B, --background        run: return once the domain exists, the guest going on\n"
		"                          in the background (its log still on standard error)\n"
		"  -p, --persistent        run: persistent grants where the backend offers them\n"
		"                          (pages shared once; default: granted per request)\n"
		"  -h, --help\n");
}

static char store_path[PATH_MAX], simhyp_path[PATH_MAX], ctl_path[108];

/* Beside the store's socket: its directory + name. */
static void beside_store(char *buf, size_t size, const char *name)
{
	const char *slash = strrchr(store_path, '/');

	if (slash)
		snprintf(buf, size, "%.*s/%s", (int)(slash - store_path), store_path, name);
	else
		snprintf(buf, size, "%s", name);
}

static void default_store(void)
{
	const char *p = getenv("XENSTORED_PATH"), *dir = getenv("XENSTORED_RUNDIR");

	if (store_path[0])
		return;
	if (p && *p)
		snprintf(store_path, sizeof(store_path), "%s", p);
	else
		snprintf(store_path, sizeof(store_path), "%s/socket",
			 dir && *dir ? dir : "/var/run/xenstored");
}

/* ---------------------------------------------------------------- the guest */

struct guest {
	unsigned domid;
	struct xsl *h;
	struct blkfront_guest *fe;
	int stop;
};

static void log_line(void *arg, const char *line)
{
	fprintf(stderr, "xs-blkfront[%u]: %s\n", *(unsigned *)arg, line);
}

/* The device named by vdev ("" the first). */
static struct blkfront_dev *pick(struct guest *g, const char *vdev, char *err, size_t errsz)
{
	unsigned devid;
	char id[16];
	struct blkfront_dev *d;

	if (!vdev[0]) {
		char **names, dir[64];
		unsigned n;

		snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd", g->domid);
		if (xsl_directory(g->h, XSL_TXN_NONE, dir, &names, &n) < 0)
			n = 0, names = NULL;
		d = NULL;
		for (unsigned i = 0; i < n && !d; i++)
			d = blkfront_guest_dev(g->fe, names[i]);
		free(names);
		if (!d)
			snprintf(err, errsz, n ? "the device is not probed yet" : "no vbd device");
		return d;
	}
	if (blk_vdev_parse(vdev, &devid) < 0) {
		snprintf(err, errsz, "%s: not a device name", vdev);
		return NULL;
	}
	snprintf(id, sizeof(id), "%u", devid);
	if (!(d = blkfront_guest_dev(g->fe, id)))
		snprintf(err, errsz, "%s: no such device", vdev);
	return d;
}

/* A reply: "<status> <message>\n" then the data. */
static void reply(int fd, int status, const void *data, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void reply(int fd, int status, const void *data, size_t len, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%d ", status);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (write(fd, line, strlen(line)) < 0)
		return;
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w <= 0)
			return;
		data = (const char *)data + w;
		len -= (size_t)w;
	}
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return *end || errno ? -1 : 0;
}

/* Requests of at most the ring's largest, one after another. */
static int rw(struct blkfront_dev *d, int op, uint64_t sector, char *buf, uint64_t nsect)
{
	struct blkfront_ring *r = blkfront_dev_ring(d);
	unsigned max = r ? r->max_segs * BLK_SECTS_PER_PAGE : 0;

	if (!r)
		return -ENOTCONN;
	while (nsect > 0) {
		unsigned n = nsect < max ? (unsigned)nsect : max;
		int err = blkfront_dev_io(d, op, sector, n, buf, IO_TIMEOUT_MS);

		if (err < 0)
			return err;
		sector += n;
		nsect -= n;
		buf += (size_t)n * BLK_SECT;
	}
	return 0;
}

static void cmd_info(struct guest *g, int fd)
{
	char out[4096];
	size_t n = 0;
	char dir[64], **names;
	unsigned count;

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd", g->domid);
	if (xsl_directory(g->h, XSL_TXN_NONE, dir, &names, &count) < 0)
		count = 0, names = NULL;
	out[0] = 0;
	for (unsigned i = 0; i < count && n < sizeof(out) - 256; i++) {
		struct blkfront_dev *d = blkfront_guest_dev(g->fe, names[i]);
		struct blkfront_info in;
		char name[32];

		blk_vdev_name((unsigned)strtoul(names[i], NULL, 10), name, sizeof(name));
		if (!d) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s (%s): not probed\n", name, names[i]);
			continue;
		}
		blkfront_dev_info(d, &in);
		if (!in.connected) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s (%s): %s\n", name, names[i],
					      xsl_xbs_name(in.state));
			continue;
		}
		n += (size_t)snprintf(out + n, sizeof(out) - n,
				      "%s (%s): %s, %" PRIu64 " sectors of %u bytes (%" PRIu64
				      " MiB)%s%s%s, ring %u page%s, indirect %u%s\n",
				      name, names[i], xsl_xbs_name(in.state), in.sectors, in.sector_size,
				      in.sectors * in.sector_size >> 20,
				      in.info & VDISK_READONLY ? ", read-only" : "",
				      in.flush ? ", flush" : "", in.discard ? ", discard" : "",
				      in.ring_pages, in.ring_pages == 1 ? "" : "s", in.max_indirect,
				      in.persistent ? ", persistent grants" : "");
	}
	free(names);
	reply(fd, 0, out, n, "%u device%s", count, count == 1 ? "" : "s");
}

/* Control connections waiting for a device to connect. */
#define WAITERS_MAX 16
static struct waiter {
	int fd;
	char vdev[32];
	long long deadline;
} waiters[WAITERS_MAX];
static unsigned nwaiters;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int add_waiter(struct guest *g, int fd, const char *vdev, long ms)
{
	(void)g;
	if (nwaiters == WAITERS_MAX)
		return -1;
	waiters[nwaiters].fd = fd;
	snprintf(waiters[nwaiters].vdev, sizeof(waiters[0].vdev), "%s", vdev);
	waiters[nwaiters].deadline = mono_ms() + (ms < 0 ? 0 : ms);
	nwaiters++;
	return 0;
}

/* Answer the waiters whose device connected, closed or whose time ran out. */
static void check_waiters(struct guest *g)
{
	for (unsigned i = 0; i < nwaiters;) {
		struct waiter *w = &waiters[i];
		char err[200];
		struct blkfront_dev *d = pick(g, w->vdev, err, sizeof(err));
		struct blkfront_info in = {0};

		if (d)
			blkfront_dev_info(d, &in);
		if (in.connected)
			reply(w->fd, 0, NULL, 0, "connected");
		else if (d && in.state >= XSL_XBS_CLOSING)
			reply(w->fd, ENODEV, NULL, 0, "%s", xsl_xbs_name(in.state));
		else if (mono_ms() >= w->deadline)
			reply(w->fd, ETIMEDOUT, NULL, 0, "not connected: %s", d ? xsl_xbs_name(in.state) : err);
		else {
			i++;
			continue;
		}
		close(w->fd);
		*w = waiters[--nwaiters];
	}
}

/* One command from a control connection: args, then the payload (write's data). */
static int command(struct guest *g, int fd, char **args, unsigned nargs, char *payload, size_t plen)
{
	const char *vdev = args[0], *cmd = args[1];
	struct blkfront_dev *d;
	char err[200];
	uint64_t sector = 0, count = 0;
	int rc;

	if (strcmp(cmd, "stop") == 0) {
		g->stop = 1;
		reply(fd, 0, NULL, 0, "stopping");
		return 0;
	}
	if (strcmp(cmd, "info") == 0) {
		cmd_info(g, fd);
		return 0;
	}
	if (strcmp(cmd, "wait") == 0) {
		long ms = nargs > 2 ? strtol(args[2], NULL, 10) : 10000;

		if (add_waiter(g, fd, vdev, ms) < 0)
			reply(fd, ENOMEM, NULL, 0, "too many waiting");
		return 1;
	}
	if (!(d = pick(g, vdev, err, sizeof(err)))) {
		reply(fd, ENODEV, NULL, 0, "%s", err);
		return 0;
	}
	if (strcmp(cmd, "flush") == 0) {
		rc = blkfront_dev_io(d, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, NULL, IO_TIMEOUT_MS);
		reply(fd, -rc, NULL, 0, "%s", rc ? strerror(-rc) : "flushed");
		return 0;
	}
	if ((strcmp(cmd, "read") == 0 || strcmp(cmd, "discard") == 0) &&
	    (nargs < 4 || parse_u64(args[2], &sector) < 0 || parse_u64(args[3], &count) < 0 ||
	     count == 0 || count > PAYLOAD_MAX / BLK_SECT)) {
		reply(fd, EINVAL, NULL, 0, "%s SECTOR COUNT (COUNT 1 to %u)", cmd, PAYLOAD_MAX / BLK_SECT);
		return 0;
	}
	if (strcmp(cmd, "discard") == 0) {
		rc = blkfront_dev_io(d, BLKIF_OP_DISCARD, sector, (unsigned)count, NULL, IO_TIMEOUT_MS);
		reply(fd, -rc, NULL, 0, "%s", rc ? strerror(-rc) : "discarded");
		return 0;
	}
	if (strcmp(cmd, "read") == 0) {
		char *buf = calloc(count, BLK_SECT);

		if (!buf) {
			reply(fd, ENOMEM, NULL, 0, "out of memory");
			return 0;
		}
		rc = rw(d, BLKIF_OP_READ, sector, buf, count);
		if (rc)
			reply(fd, -rc, NULL, 0, "%s", strerror(-rc));
		else
			reply(fd, 0, buf, count * BLK_SECT, "%" PRIu64 " sectors from %" PRIu64, count, sector);
		free(buf);
		return 0;
	}
	if (strcmp(cmd, "write") == 0) {
		char *buf;

		if (nargs < 3 || parse_u64(args[2], &sector) < 0) {
			reply(fd, EINVAL, NULL, 0, "write SECTOR FILE");
			return 0;
		}
		count = (plen + BLK_SECT - 1) / BLK_SECT;
		if (count == 0) {
			reply(fd, EINVAL, NULL, 0, "nothing to write");
			return 0;
		}
		if (!(buf = calloc(count, BLK_SECT))) {
			reply(fd, ENOMEM, NULL, 0, "out of memory");
			return 0;
		}
		memcpy(buf, payload, plen);
		rc = rw(d, BLKIF_OP_WRITE, sector, buf, count);
		free(buf);
		if (rc)
			reply(fd, -rc, NULL, 0, "%s", strerror(-rc));
		else
			reply(fd, 0, NULL, 0, "%" PRIu64 " sectors written from %" PRIu64, count, sector);
		return 0;
	}
	reply(fd, EINVAL, NULL, 0, "%s: no such command", cmd);
	return 0;
}

/* ---------------------------------------------------------------- the control socket */

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* All of a connection's request (it shuts its side when done), bounded. */
static char *read_request(int fd, size_t *len, int timeout_s)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	struct timeval tv = {timeout_s, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (buf) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap >= PAYLOAD_MAX + 4096 ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

/* "<u32 nargs><arg>\0...<payload>": the arguments (vdev, command, ...) and the payload. */
static void serve_control(struct guest *g, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	char *args[ARGS_MAX], *buf, *p;
	uint32_t nargs;
	size_t len;

	if (fd < 0)
		return;
	if (!(buf = read_request(fd, &len, 5)) || len < 4) {
		free(buf);
		close(fd);
		return;
	}
	memcpy(&nargs, buf, 4);
	p = buf + 4;
	if (nargs < 2 || nargs > ARGS_MAX) {
		reply(fd, EINVAL, NULL, 0, "malformed request");
		goto out;
	}
	for (unsigned i = 0; i < nargs; i++) {
		char *nul = memchr(p, 0, (size_t)(buf + len - p));

		if (!nul) {
			reply(fd, EINVAL, NULL, 0, "malformed request");
			goto out;
		}
		args[i] = p;
		p = nul + 1;
	}
	if (command(g, fd, args, nargs, p, (size_t)(buf + len - p))) {
		free(buf);
		return; /* kept: a waiter */
	}
out:
	free(buf);
	close(fd);
}

/*
 * -B: the parent waits for the child's word that the domain exists (one
 * byte: 0 or an errno), so that the toolstack may introduce it at once.
 */
static int ready_fd = -1;

static void go_background(void)
{
	int p[2];
	pid_t pid;
	unsigned char st = EIO;

	if (pipe(p) < 0 || (pid = fork()) < 0) {
		perror("xs-blkfront: background");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = EIO;
		if (st == 0)
			printf("%d\n", (int)pid);
		exit(st ? 1 : 0);
	}
	close(p[0]);
	ready_fd = p[1];
	/* Standard output is the caller's (a $(...) waits for it to close): not ours to keep. */
	{
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
}

static void tell_ready(int err)
{
	unsigned char st = (unsigned char)(err < 0 ? -err : 0);

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &st, 1) < 0)
		st = 0;
	close(ready_fd);
	ready_fd = -1;
}

static int run(unsigned domid, unsigned order, int persistent)
{
	struct blkfront_guest_opts go = {.ring_order = order, .persistent = persistent, .log = log_line};
	struct blk_simguest sg;
	struct guest g = {.domid = domid};
	sigset_t mask;
	int err, sfd, lfd = -1;

	go.log_arg = &g.domid;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		perror("xs-blkfront: signalfd");
		return 1;
	}
	/* Calls wait for ever until the toolstack introduces the domain. */
	if ((err = blk_simguest_create(&sg, simhyp_path, domid, 0)) < 0) {
		fprintf(stderr, "xs-blkfront: creating domain %u at %s: %s\n", domid, simhyp_path,
			strerror(-err));
		tell_ready(err);
		close(sfd);
		return 1;
	}
	fprintf(stderr, "xs-blkfront[%u]: domain %u created; waiting to be introduced\n", domid, domid);
	tell_ready(0);
	/* Until the toolstack introduces it; a signal ends the wait too. */
	while (!blk_simguest_introduced(&sg)) {
		struct pollfd p = {sfd, POLLIN, 0};

		if (poll(&p, 1, 20) > 0) {
			fprintf(stderr, "xs-blkfront[%u]: stopped before it was introduced\n", domid);
			blk_simguest_destroy(&sg);
			close(sfd);
			return 0;
		}
	}
	if ((err = blk_simguest_start(&sg, &go)) < 0) {
		fprintf(stderr, "xs-blkfront: the bus: %s\n", strerror(-err));
		goto out;
	}
	g.h = sg.h;
	g.fe = sg.fe;
	xsl_set_timeout(g.h, 10000);
	if ((lfd = listen_on(ctl_path)) < 0) {
		err = lfd;
		fprintf(stderr, "xs-blkfront: %s: %s\n", ctl_path, strerror(-err));
		goto out;
	}
	fprintf(stderr, "xs-blkfront[%u]: introduced; commands at %s\n", domid, ctl_path);
	while (!g.stop) {
		struct pollfd p[3] = {{xsl_fileno(g.h), POLLIN, 0}, {lfd, POLLIN, 0}, {sfd, POLLIN, 0}};

		if (poll(p, 3, 100) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if ((err = blkfront_guest_pump(g.fe, 0)) < 0) {
			fprintf(stderr, "xs-blkfront[%u]: the store: %s\n", domid, strerror(-err));
			break;
		}
		if (p[1].revents)
			serve_control(&g, lfd);
		check_waiters(&g);
	}
	err = 0;
	fprintf(stderr, "xs-blkfront[%u]: stopping\n", domid);
out:
	for (unsigned i = 0; i < nwaiters; i++)
		close(waiters[i].fd);
	if (lfd >= 0) {
		close(lfd);
		unlink(ctl_path);
	}
	blk_simguest_destroy(&sg);
	close(sfd);
	return err < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- the commands' side */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, n = 0;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t r;

		if (n == cap) {
			char *nb = cap > PAYLOAD_MAX ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static void hexdump(const unsigned char *p, size_t len, uint64_t base)
{
	int starred = 0;

	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		if (off >= 16 && n == 16 && memcmp(p + off, p + off - 16, 16) == 0 && off + 16 < len) {
			if (!starred)
				puts("*");
			starred = 1;
			continue;
		}
		starred = 0;
		printf("%08" PRIx64 "  ", base + off);
		for (size_t i = 0; i < 16; i++)
			printf(i < n ? "%02x " : "   ", i < n ? p[off + i] : 0);
		printf(" |");
		for (size_t i = 0; i < n; i++)
			putchar(isprint(p[off + i]) ? p[off + i] : '.');
		puts("|");
	}
}

static int client(int argc, char **argv, const char *vdev)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *payload = NULL, *resp, *nl;
	size_t plen = 0, rlen, hlen = 4;
	uint32_t nargs = (uint32_t)argc + 1;
	const char *cmd = argv[0];
	int fd = -1, status;

	if (strcmp(cmd, "write") == 0) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		if (!(payload = slurp(argv[2], &plen))) {
			fprintf(stderr, "xs-blkfront: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		nargs = 3; /* the file's bytes go as the payload */
	}
	if (nargs > ARGS_MAX) {
		usage(stderr);
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl_path);
	/* The guest may still be starting: its socket comes once it is introduced. */
	for (int tries = 0; tries < 100; tries++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			break;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(fd);
		fd = -1;
		if (errno != ENOENT && errno != ECONNREFUSED)
			break;
		usleep(50000);
	}
	if (fd < 0) {
		fprintf(stderr, "xs-blkfront: the guest's control socket %s: %s\n", ctl_path, strerror(errno));
		free(payload);
		return 1;
	}
	{
		FILE *out = fdopen(dup(fd), "w");

		fwrite(&nargs, 4, 1, out);
		fwrite(vdev, 1, strlen(vdev) + 1, out);
		for (uint32_t i = 0; i + 1 < nargs; i++)
			fwrite(argv[i], 1, strlen(argv[i]) + 1, out);
		if (plen)
			fwrite(payload, 1, plen, out);
		fclose(out);
	}
	free(payload);
	shutdown(fd, SHUT_WR);
	/* A wait takes as long as it was told; an I/O up to its own time-out. */
	resp = read_request(fd, &rlen,
			    strcmp(cmd, "wait") == 0 && argc > 1 ? atoi(argv[1]) / 1000 + 5 : IO_TIMEOUT_MS / 1000 + 5);
	close(fd);
	if (!resp || !(nl = memchr(resp, '\n', rlen))) {
		fprintf(stderr, "xs-blkfront: no answer from the guest\n");
		free(resp);
		return 1;
	}
	*nl = 0;
	hlen = (size_t)(nl - resp) + 1;
	status = atoi(resp);
	if (status) {
		fprintf(stderr, "xs-blkfront: %s: %s\n", cmd, strchr(resp, ' ') ? strchr(resp, ' ') + 1 : resp);
	} else if (strcmp(cmd, "read") == 0 && argc >= 4) {
		FILE *f = fopen(argv[3], "wb");

		if (!f || fwrite(resp + hlen, 1, rlen - hlen, f) != rlen - hlen || fclose(f) != 0) {
			fprintf(stderr, "xs-blkfront: %s: %s\n", argv[3], strerror(errno));
			status = 1;
		}
	} else if (strcmp(cmd, "read") == 0) {
		uint64_t sector = strtoull(argv[1], NULL, 0);

		hexdump((unsigned char *)resp + hlen, rlen - hlen, sector * BLK_SECT);
	} else if (strcmp(cmd, "info") == 0) {
		fwrite(resp + hlen, 1, rlen - hlen, stdout);
	} else {
		printf("%s\n", strchr(resp, ' ') ? strchr(resp, ' ') + 1 : resp);
	}
	free(resp);
	return status ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"domid", required_argument, NULL, 'd'},   {"vdev", required_argument, NULL, 'v'},
		{"store", required_argument, NULL, 's'},   {"simhyp", required_argument, NULL, 'H'},
		{"control", required_argument, NULL, 'c'}, {"ring-order", required_argument, NULL, 'o'},
		{"persistent", no_argument, NULL, 'p'},    {"background", no_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *vdev = "";
	int persistent = 0, background = 0;
	long domid = -1, order = BLK_MAX_RING_ORDER;
	int opt;

	while ((opt = getopt_long(argc, argv, "+d:v:s:H:c:o:pBh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': domid = strtol(optarg, NULL, 10); break;
		case 'v': vdev = optarg; break;
		case 's': snprintf(store_path, sizeof(store_path), "%s", optarg); break;
		case 'H': snprintf(simhyp_path, sizeof(simhyp_path), "%s", optarg); break;
		case 'c': snprintf(ctl_path, sizeof(ctl_path), "%s", optarg); break;
		case 'o': order = strtol(optarg, NULL, 10); break;
		case 'p': persistent = 1; break;
		case 'B': background = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (domid < 1 || domid > DOMID_GUEST_MAX || optind >= argc || order < 0 ||
	    order > (long)BLK_MAX_RING_ORDER) {
		usage(stderr);
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	default_store();
	if (!simhyp_path[0])
		beside_store(simhyp_path, sizeof(simhyp_path), SIMHYP_SOCKET_NAME);
	if (!ctl_path[0]) {
		char name[32];

		snprintf(name, sizeof(name), "blkfront-%ld", domid);
		beside_store(ctl_path, sizeof(ctl_path), name);
	}
	if (strcmp(argv[optind], "run") == 0) {
		if (optind + 1 != argc) {
			usage(stderr);
			return 2;
		}
		if (background)
			go_background();
		return run((unsigned)domid, (unsigned)order, persistent);
	}
	return client(argc - optind, argv + optind, vdev);
}

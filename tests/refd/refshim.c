/* tests/refd/refshim.c: the LD_PRELOAD shim that lets Xen's own xenstored/oxenstored (and our --hypervisor=xen port) run without Xen. */
/*
 * Debian's xen-utils-4.17 daemons open the hypervisor at start-up and give up
 * when there is none. Preloaded (tests/refd/refd.sh does it), this library
 * answers those calls itself, so that a daemon serves its unix socket on any
 * Linux host. It fakes only what the two daemons and our daemon's Xen port
 * call (nm -D of the 4.17 binaries, daemon/hyp_xen.c) and changes nothing
 * else; no Xen code is in it. The prototypes come from Xen's own headers, so
 * the compiler checks every replacement against the library it stands in for.
 *
 * What a daemon sees:
 *
 *   libxenctrl    xc_interface_open     a handle of our own (never NULL)
 *                 xc_interface_close    0
 *                 xc_domain_getinfo     the existing domains (XSSHIM_DOMAINS)
 *                 xc_domain_getinfolist from first_domid on, as Xen lists
 *                                       them: running, not dying, not shut down
 *                 xc_map_foreign_range  a private zeroed page per call
 *                 xc_get_last_error     "no error" (the handle is ours, so
 *                                       the real one must never see it)
 *   libxenevtchn  xenevtchn_open/fdopen a handle on an eventfd nobody signals:
 *                                       it never polls readable, so no event
 *                                       (guest notification, VIRQ_DOM_EXC) comes
 *                 xenevtchn_fd          that eventfd
 *                 xenevtchn_bind_*      the next free local port (1, 2, ...)
 *                 xenevtchn_pending     -1, errno EAGAIN (nothing pending)
 *                 notify/unbind/unmask  0
 *                 xenevtchn_close       0, the eventfd closed
 *   libxengnttab  xengnttab_open        a handle of our own
 *                 set_max_grants/close  0
 *                 map_grant_ref         a private zeroed page: INTRODUCE of a
 *                                       guest succeeds and its ring stays idle
 *                 xengnttab_unmap       munmap of the pages
 *   libc          open/open64           /proc/xen/xsd_port: a memfd holding
 *                                       "1" (dom0's store event channel);
 *                                       /proc/xen/xsd_kva: a zeroed 4 KiB memfd
 *                                       (dom0's ring page, mmapped by the C
 *                                       daemon's dom0 set-up); other paths are
 *                                       opened as asked, after redirection
 *                 open/open64, unlink,  a path under /var/run/xenstored or
 *                 mkdir, bind (AF_UNIX) /run/xenstored moves to XSSHIM_RUNDIR
 *                                       when that is set: oxenstored hard-codes
 *                                       its socket there
 *                 setrlimit             RLIMIT_NOFILE above the hard limit
 *                                       without CAP_SYS_RESOURCE (containers):
 *                                       clamped to the hard limit instead of
 *                                       EPERM, which oxenstored dies of
 *
 * Environment (the tests set these names; the launcher passes them on):
 *   XSSHIM_DOMAINS  which domids exist: unset or "0" only dom0, "all" every
 *                   domid below DOMID_FIRST_RESERVED, or a list "0,3,7".
 *                   The C daemon answers ENOENT to permissions naming a
 *                   domain that does not exist, so tests that name guests
 *                   set "all".
 *   XSSHIM_RUNDIR   where /var/run/xenstored moves to (unset: nowhere).
 *   XSSHIM_DEBUG=1  one line on stderr per faked call.
 *
 * Built by tests/refd/rules.mk without sanitizers: it is preloaded into
 * daemons that are not built with them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define XC_WANT_COMPAT_MAP_FOREIGN_API
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define PAGE 4096
/* What /proc/xen/xsd_port holds: the store's event channel in dom0. */
#define XSD_PORT "1"

/* The handles are opaque in Xen's headers; these are ours. */
struct xc_interface_core {
	int unused;
};
struct xenevtchn_handle {
	int fd;
	evtchn_port_t next_port;
};
struct xengntdev_handle {
	int unused;
};

static struct xc_interface_core the_xc;
static struct xengntdev_handle the_gnttab;

/* All of s on stderr, through write(2): nothing of ours waits in a stdio buffer of the daemon's. */
static void put(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	const char *d = getenv("XSSHIM_DEBUG");
	char line[512];
	va_list ap;
	int n;

	if (!d || strcmp(d, "1") != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	put("refshim: ", 9);
	put(line, (size_t)n);
}

/* The real libc function behind one we replace. */
#define REAL(fn) ((__typeof__(fn) *)real_symbol(#fn))
static void *real_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		static const char msg[] = "refshim: no libc function behind a replaced one\n";

		put(msg, sizeof(msg) - 1);
		abort();
	}
	return p;
}

/* ---------------------------------------------------------------- domains */

/* Whether XSSHIM_DOMAINS names domid (read at each call: it is the process's environment, fixed). */
static bool domain_exists(uint32_t domid)
{
	const char *e = getenv("XSSHIM_DOMAINS");

	if (domid >= DOMID_FIRST_RESERVED)
		return false;
	if (!e || !*e)
		return domid == 0;
	if (strcmp(e, "all") == 0)
		return true;
	while (*e) {
		char *end;
		unsigned long v = strtoul(e, &end, 10);

		if (end == e)
			return false;
		if (v == domid)
			return true;
		e = *end == ',' ? end + 1 : end;
	}
	return false;
}

/* The first existing domid at or after *next, advancing *next past it; false at the end. */
static bool next_domain(uint32_t *next, uint32_t *domid)
{
	for (uint32_t d = *next; d < DOMID_FIRST_RESERVED; d++) {
		if (domain_exists(d)) {
			*domid = d;
			*next = d + 1;
			return true;
		}
	}
	*next = DOMID_FIRST_RESERVED;
	return false;
}

static void *zeroed_pages(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------- libxenctrl */

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
				unsigned open_flags)
{
	(void)logger;
	(void)dombuild_logger;
	(void)open_flags;
	say("xc_interface_open");
	return &the_xc;
}

int xc_interface_close(xc_interface *xch)
{
	(void)xch;
	return 0;
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
		      xc_dominfo_t *info)
{
	uint32_t next = first_domid, domid;
	unsigned int n = 0;

	(void)xch;
	while (n < max_doms && next_domain(&next, &domid)) {
		memset(&info[n], 0, sizeof(info[n]));
		info[n].domid = domid;
		info[n].running = 1;
		info[n].nr_online_vcpus = 1;
		n++;
	}
	say("xc_domain_getinfo(%u, %u) -> %u", first_domid, max_doms, n);
	return (int)n;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
			  xc_domaininfo_t *info)
{
	uint32_t next = first_domain, domid;
	unsigned int n = 0;

	(void)xch;
	while (n < max_domains && next_domain(&next, &domid)) {
		memset(&info[n], 0, sizeof(info[n]));
		info[n].domain = (domid_t)domid;
		info[n].flags = XEN_DOMINF_running;
		info[n].nr_online_vcpus = 1;
		n++;
	}
	say("xc_domain_getinfolist(%u, %u) -> %u", first_domain, max_domains, n);
	return (int)n;
}

void *xc_map_foreign_range(xc_interface *xch, uint32_t dom, int size, int prot, unsigned long mfn)
{
	void *p = size > 0 ? zeroed_pages((size_t)size) : NULL;

	(void)xch;
	(void)prot;
	say("xc_map_foreign_range(dom %u, mfn %lu) -> %p", dom, mfn, p);
	if (!p)
		errno = ENOMEM;
	return p;
}

const xc_error *xc_get_last_error(xc_interface *handle)
{
	static const xc_error none = {.code = XC_ERROR_NONE, .message = ""};

	(void)handle;
	return &none;
}

/* ----------------------------------------------------------- libxenevtchn */

static xenevtchn_handle *evtchn_handle(int fd)
{
	xenevtchn_handle *h;

	if (fd < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return NULL;
	}
	h->fd = fd;
	h->next_port = 1;
	return h;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	int fd = eventfd(0, EFD_NONBLOCK | ((flags & XENEVTCHN_NO_CLOEXEC) ? 0 : EFD_CLOEXEC));

	(void)logger;
	say("xenevtchn_open -> fd %d", fd);
	return evtchn_handle(fd);
}

/* After a live update the C daemon reopens the fd it inherited: keep it as it is. */
xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned int flags)
{
	(void)logger;
	(void)flags;
	say("xenevtchn_fdopen(%d)", fd);
	return evtchn_handle(fd);
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	if (xce) {
		close(xce->fd);
		free(xce);
	}
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xce->fd;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	(void)port;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
	say("xenevtchn_bind_unbound_port(dom %u) -> %u", domid, xce->next_port);
	return (xenevtchn_port_or_error_t)xce->next_port++;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
						     evtchn_port_t remote_port)
{
	say("xenevtchn_bind_interdomain(dom %u, port %u) -> %u", domid, remote_port,
	    xce->next_port);
	return (xenevtchn_port_or_error_t)xce->next_port++;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
	say("xenevtchn_bind_virq(%u) -> %u", virq, xce->next_port);
	return (xenevtchn_port_or_error_t)xce->next_port++;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	(void)port;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	(void)xce;
	errno = EAGAIN;
	return -1;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	(void)port;
	return 0;
}

/* ----------------------------------------------------------- libxengnttab */

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger;
	(void)open_flags;
	say("xengnttab_open");
	return &the_gnttab;
}

int xengnttab_close(xengnttab_handle *xgt)
{
	(void)xgt;
	return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
	(void)xgt;
	(void)nr_grants;
	return 0;
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
	void *p = zeroed_pages(PAGE);

	(void)xgt;
	(void)prot;
	say("xengnttab_map_grant_ref(dom %u, ref %u) -> %p", domid, ref, p);
	if (!p)
		errno = ENOMEM;
	return p;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	(void)xgt;
	return munmap(start_address, (size_t)count * PAGE);
}

/* ------------------------------------------------------------------- libc */

/* /proc/xen/xsd_port or xsd_kva as a memfd with its content; -1 with errno on failure. */
static int proc_xen(const char *path)
{
	int fd;

	if (strcmp(path, "/proc/xen/xsd_port") == 0) {
		fd = memfd_create("xsd_port", MFD_CLOEXEC);
		if (fd >= 0 && (write(fd, XSD_PORT, strlen(XSD_PORT)) < 0 || lseek(fd, 0, SEEK_SET) < 0)) {
			close(fd);
			fd = -1;
		}
	} else {
		fd = memfd_create("xsd_kva", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, PAGE) < 0) {
			close(fd);
			fd = -1;
		}
	}
	say("open %s -> memfd %d", path, fd);
	return fd;
}

static bool is_proc_xen(const char *path)
{
	return strcmp(path, "/proc/xen/xsd_port") == 0 || strcmp(path, "/proc/xen/xsd_kva") == 0;
}

/* path, or its image under XSSHIM_RUNDIR (in buf) if it lies under the store's run directory. */
static const char *moved(const char *path, char *buf, size_t size)
{
	static const char *const rundirs[] = {"/var/run/xenstored", "/run/xenstored"};
	const char *to = getenv("XSSHIM_RUNDIR");

	if (!to || !*to || !path)
		return path;
	for (size_t i = 0; i < sizeof(rundirs) / sizeof(rundirs[0]); i++) {
		size_t n = strlen(rundirs[i]);

		if (strncmp(path, rundirs[i], n) == 0 && (path[n] == '\0' || path[n] == '/')) {
			if ((size_t)snprintf(buf, size, "%s%s", to, path + n) >= size)
				return path;
			say("%s -> %s", path, buf);
			return buf;
		}
	}
	return path;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* open or open64 (real) of path, unless the shim answers for it. */
static int open_as(int (*real)(const char *, int, ...), const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX];

	if (is_proc_xen(path))
		return proc_xen(path);
	return real(moved(path, buf, sizeof(buf)), flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return open_as(REAL(open), path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return open_as(REAL(open64), path, flags, mode);
}

int unlink(const char *path)
{
	char buf[PATH_MAX];

	return REAL(unlink)(moved(path, buf, sizeof(buf)));
}

int mkdir(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	return REAL(mkdir)(moved(path, buf, sizeof(buf)), mode);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	struct sockaddr_un su;
	char path[sizeof(su.sun_path) + 1], buf[PATH_MAX];
	const char *to;
	size_t n;

	if (!addr || addr->sa_family != AF_UNIX || len <= off)
		return REAL(bind)(fd, addr, len);
	n = len - off < sizeof(su.sun_path) ? len - off : sizeof(su.sun_path);
	memcpy(path, ((const struct sockaddr_un *)addr)->sun_path, n);
	path[n] = '\0';
	to = moved(path, buf, sizeof(buf));
	if (to == path)
		return REAL(bind)(fd, addr, len);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	if (strlen(to) >= sizeof(su.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(su.sun_path, to, strlen(to) + 1);
	return REAL(bind)(fd, (const struct sockaddr *)&su, sizeof(su));
}

int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
	struct rlimit hard, clamped;
	int rc = REAL(setrlimit)(resource, rlim);

	if (rc == 0 || errno != EPERM || resource != RLIMIT_NOFILE || getrlimit(RLIMIT_NOFILE, &hard) < 0)
		return rc;
	clamped = *rlim;
	if (clamped.rlim_max > hard.rlim_max)
		clamped.rlim_max = hard.rlim_max;
	if (clamped.rlim_cur > clamped.rlim_max)
		clamped.rlim_cur = clamped.rlim_max;
	say("setrlimit(NOFILE, %llu): EPERM, clamped to %llu", (unsigned long long)rlim->rlim_max,
	    (unsigned long long)clamped.rlim_max);
	return REAL(setrlimit)(resource, &clamped);
}

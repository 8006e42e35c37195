/*
 * The simulated hypervisor (xs-simhyp) and the client library's hypervisor
 * API over it, between separate processes: grants mapped only where they
 * were granted, read-only kept read-only, grants ending only once unmapped,
 * batches mapped whole or not at all (as one area or page by page), an
 * unmapped area gone from the mapper, UNMAP batches refused whole,
 * event channels bound, notified, closed and bound again, domain deaths
 * told to subscribers, hostile messages refused, limits at their edges.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "client/xenstore_client.h"
#include "simhyp/simhyp_call.h"

#ifndef XST_SIMHYP_BIN
#define XST_SIMHYP_BIN "simhyp/xs-simhyp"
#endif

#define PAGE 4096u
#define WAIT_MS 5000

struct hyp {
	pid_t pid;
	char dir[64];
	char path[128];
};

/* Descriptors the next hypervisor started may have (0: as inherited). */
static rlim_t hyp_nofile;

/* A fresh xs-simhyp in a temporary directory, with extra limit options. */
static void hyp_start(struct hyp *h, ...)
{
	const char *argv[24] = {"xs-simhyp", "-s", h->path};
	unsigned n = 3;
	va_list ap;

	snprintf(h->dir, sizeof(h->dir), "/tmp/xst-simhyp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/simhyp", h->dir);
	va_start(ap, h);
	for (const char *a; n < 22 && (a = va_arg(ap, const char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	h->pid = fork();
	ck_assert_int_ge(h->pid, 0);
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (hyp_nofile) {
			struct rlimit rl = {hyp_nofile, hyp_nofile};

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execv(getenv("XST_SIMHYP") ? getenv("XST_SIMHYP") : XST_SIMHYP_BIN, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int fd = simhyp_connect(h->path);

		if (fd >= 0) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	ck_abort_msg("xs-simhyp did not listen on %s", h->path);
}

/* Stopped by pid: it must still be there (never crashed) and exit cleanly. */
static void hyp_stop(struct hyp *h)
{
	int st;

	ck_assert_int_eq(waitpid(h->pid, &st, WNOHANG), 0);
	kill(h->pid, SIGTERM);
	ck_assert_int_eq(waitpid(h->pid, &st, 0), h->pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "xs-simhyp exit status 0x%x", st);
	ck_assert_int_ne(access(h->path, F_OK), 0); /* its socket removed */
	rmdir(h->dir);
}

static struct xsl_hyp *domm(const struct hyp *h, unsigned domid, unsigned pages)
{
	struct xsl_hyp_opts o = {.kind = XSL_HYP_SIM, .simhyp_path = h->path, .domid = domid, .mem_pages = pages};
	struct xsl_hyp *x = NULL;
	int err = xsl_hyp_open(&x, &o);

	ck_assert_msg(err == 0, "domain %u: %s", domid, strerror(-err));
	return x;
}

static struct xsl_hyp *dom(const struct hyp *h, unsigned domid)
{
	return domm(h, domid, 0);
}

/* Whether fd becomes readable within ms; readable events are then taken. */
static int wait_fd(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

/* ---- processes ---- */

/* A child running fn; its exit status 0 means every check in it passed. */
static pid_t child(int (*fn)(void *), void *arg)
{
	pid_t p = fork();

	ck_assert_int_ge(p, 0);
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	return p;
}

static int reap(pid_t p)
{
	int st;

	ck_assert_int_eq(waitpid(p, &st, 0), p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

#define CHILD_CHECK(cond, code)                                                                   \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
			return code;                                                              \
		}                                                                                 \
	} while (0)

/* Pipes carry numbers (references, ports) between the processes. */
static void put(int fd, uint32_t v)
{
	ck_assert_int_eq(write(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
}

static int get(int fd, uint32_t *v)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, WAIT_MS) == 1 && read(fd, v, sizeof(*v)) == (ssize_t)sizeof(*v) ? 0 : -1;
}

struct ctx {
	struct hyp *h;
	unsigned domid, granter;
	uint32_t ref, port;
	int to_parent, from_parent;
	int writable;
};

/* A child's domain (made, or attached to if it exists). */
static struct xsl_hyp *child_dom(const struct ctx *c)
{
	struct xsl_hyp_opts o = {.kind = XSL_HYP_SIM, .simhyp_path = c->h->path, .domid = c->domid};
	struct xsl_hyp *x;

	return xsl_hyp_open(&x, &o) == 0 ? x : NULL;
}

/* ---- grants ---- */

/* The mapper: a domain of its own, mapping ref of granter; the page must hold "hello". */
static int map_child(void *arg)
{
	struct ctx *c = arg;
	struct xsl_hyp *x;
	int err;
	char *p;

	CHILD_CHECK((x = child_dom(c)) != NULL, 10);
	p = xsl_gnt_map(x, c->granter, 1, &c->ref, c->writable, &err);
	if (!p) {
		xsl_hyp_close(x);
		return err == -EPERM ? 3 : err == -EINVAL ? 4 : err == -ESRCH ? 5 : 11;
	}
	CHILD_CHECK(memcmp(p, "hello", 6) == 0, 12);
	if (c->writable)
		memcpy(p, "HELLO", 6);
	CHILD_CHECK(xsl_gnt_unmap(x, p, 1) == 0, 13);
	xsl_hyp_close(x);
	return 0;
}

START_TEST(grant_maps_only_in_the_grantee)
{
	struct hyp h;
	struct xsl_hyp *a, *d0;
	struct ctx c;
	uint32_t ref;
	char *page;
	int err;

	hyp_start(&h, NULL);
	a = dom(&h, 5);
	page = xsl_gnt_share(a, 7, 1, 1, &ref);
	ck_assert_ptr_nonnull(page);
	memcpy(page, "hello", 6);
	c = (struct ctx){.h = &h, .domid = 7, .granter = 5, .ref = ref, .writable = 1};
	/* Domain 7, in another process: maps it, reads, writes. */
	ck_assert_int_eq(reap(child(map_child, &c)), 0);
	ck_assert_str_eq(page, "HELLO");
	memcpy(page, "hello", 6);
	/* Domain 8 and dom0: not theirs. */
	c.domid = 8;
	ck_assert_int_eq(reap(child(map_child, &c)), 3);
	d0 = dom(&h, 0);
	ck_assert_ptr_null(xsl_gnt_map(d0, 5, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -EPERM);
	/* A granter that does not exist. */
	ck_assert_ptr_null(xsl_gnt_map(d0, 77, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -ESRCH);
	/* Ended: nobody maps it any more. */
	ck_assert_int_eq(xsl_gnt_unshare(a, page, 1), 0);
	c.domid = 7;
	ck_assert_int_eq(reap(child(map_child, &c)), 3);
	xsl_hyp_close(d0);
	xsl_hyp_close(a);
	hyp_stop(&h);
}
END_TEST

static int write_ro_child(void *arg)
{
	struct ctx *c = arg;
	struct xsl_hyp *x;
	int err;
	char *p;

	CHILD_CHECK((x = child_dom(c)) != NULL, 10);
	CHILD_CHECK(!xsl_gnt_map(x, c->granter, 1, &c->ref, 1, &err) && err == -EPERM, 11);
	p = xsl_gnt_map(x, c->granter, 1, &c->ref, 0, &err);
	CHILD_CHECK(p && memcmp(p, "hello", 6) == 0, 12);
	/* Read-only in this address space too: the write faults (the default action, sanitizer or not). */
	signal(SIGSEGV, SIG_DFL);
	p[0] = 'X';
	return 0;
}

/* A mapper that died is seen by the hypervisor as its connection closes: a moment later. */
static int unshare_eventually(struct xsl_hyp *a, void *area, unsigned count)
{
	int err;

	for (int i = 0; i < 400 && (err = xsl_gnt_unshare(a, area, count)) == -EBUSY; i++)
		usleep(5000);
	return err;
}

START_TEST(read_only_stays_read_only)
{
	struct hyp h;
	struct xsl_hyp *a;
	struct ctx c;
	uint32_t ref;
	char *page;

	hyp_start(&h, NULL);
	a = dom(&h, 5);
	page = xsl_gnt_share(a, 7, 1, 0, &ref);
	ck_assert_ptr_nonnull(page);
	memcpy(page, "hello", 6);
	c = (struct ctx){.h = &h, .domid = 7, .granter = 5, .ref = ref};
	ck_assert_int_eq(reap(child(write_ro_child, &c)), 128 + SIGSEGV);
	ck_assert_str_eq(page, "hello");
	/* The mapper died holding the map: its connection's close released it. */
	ck_assert_int_eq(unshare_eventually(a, page, 1), 0);
	xsl_hyp_close(a);
	hyp_stop(&h);
}
END_TEST

/*
 * A domain made by hand (raw calls), so that its grant table can be
 * written with anything: what a hostile guest kernel could do.
 */
struct raw_dom {
	int fd;
	struct grant_entry_v1 *gt;
	unsigned char *mem;
};

static int raw_create(const char *path, unsigned domid, unsigned pages, struct raw_dom *r)
{
	struct simhyp_create req = {.domid = domid, .mem_pages = pages, .gnt_frames = 1};
	struct simhyp_domain_reply rep;
	int fds[2], rfds[SIMHYP_FDS_MAX], rc;
	unsigned n = SIMHYP_FDS_MAX;

	r->fd = simhyp_connect(path);
	ck_assert_int_ge(r->fd, 0);
	fds[0] = memfd_create("raw-mem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	fds[1] = memfd_create("raw-gt", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_eq(ftruncate(fds[0], (off_t)pages * PAGE), 0);
	ck_assert_int_eq(ftruncate(fds[1], PAGE), 0);
	r->mem = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	r->gt = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	ck_assert(r->mem != MAP_FAILED && r->gt != MAP_FAILED);
	rc = simhyp_call(r->fd, SIMHYP_CREATE, &req, sizeof(req), fds, 2, &rep, sizeof(rep), rfds, &n);
	close(fds[0]);
	close(fds[1]);
	for (unsigned i = 0; rc >= 0 && i < n; i++)
		close(rfds[i]);
	return rc < 0 ? rc : 0;
}

START_TEST(junk_grant_entries_are_refused)
{
	struct hyp h;
	struct raw_dom r;
	struct xsl_hyp *m;
	uint32_t ref;
	int err;
	void *p;

	hyp_start(&h, NULL);
	ck_assert_int_eq(raw_create(h.path, 5, 4, &r), 0);
	m = dom(&h, 7);
	/* A reference past the table, one never granted. */
	ref = 512;
	ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -EINVAL);
	ref = 9;
	ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -EPERM);
	/* A frame past the domain's memory. */
	r.gt[9] = (struct grant_entry_v1){.flags = GTF_permit_access, .domid = 7, .frame = 4};
	ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_int_eq(r.gt[9].flags, GTF_permit_access); /* nothing left pinned */
	/* Another type of grant, another domain, junk flags. */
	r.gt[9] = (struct grant_entry_v1){.flags = GTF_transitive, .domid = 7, .frame = 1};
	ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -EPERM);
	r.gt[9] = (struct grant_entry_v1){.flags = GTF_permit_access, .domid = 8, .frame = 1};
	ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &ref, 0, &err));
	ck_assert_int_eq(err, -EPERM);
	r.gt[9] = (struct grant_entry_v1){.flags = 0xffff, .domid = 7, .frame = 0xffffffff};
	ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &ref, 1, &err));
	/* A batch with one bad reference maps nothing and pins nothing. */
	r.gt[9] = (struct grant_entry_v1){.flags = GTF_permit_access, .domid = 7, .frame = 1};
	r.gt[10] = (struct grant_entry_v1){.flags = GTF_permit_access, .domid = 7, .frame = 99};
	{
		uint32_t refs[2] = {9, 10};

		ck_assert_ptr_null(xsl_gnt_map(m, 5, 2, refs, 1, &err));
		ck_assert_int_eq(err, -EINVAL);
		ck_assert_int_eq(r.gt[9].flags, GTF_permit_access);
	}
	/* A good one maps: Xen's flags show it, and go when it is unmapped. */
	memcpy(r.mem + PAGE, "page1", 6);
	p = xsl_gnt_map(m, 5, 1, &ref, 1, &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "page1");
	ck_assert_int_eq(r.gt[9].flags, GTF_permit_access | GTF_reading | GTF_writing);
	ck_assert_int_eq(xsl_gnt_unmap(m, p, 1), 0);
	ck_assert_int_eq(r.gt[9].flags, GTF_permit_access);
	xsl_hyp_close(m);
	close(r.fd);
	hyp_stop(&h);
}
END_TEST

/* Maps a batch of references and holds it until told, then exits without unmapping. */
static int hold_child(void *arg)
{
	struct ctx *c = arg;
	struct xsl_hyp *x;
	uint32_t refs[3], v;
	int err;
	char *p;

	CHILD_CHECK((x = child_dom(c)) != NULL, 10);
	for (int i = 0; i < 3; i++)
		CHILD_CHECK(get(c->from_parent, &refs[i]) == 0, 11);
	/* Pages 0 and 2 of the share, and a page granted alone: one call, one area. */
	p = xsl_gnt_map(x, c->granter, 3, refs, 1, &err);
	CHILD_CHECK(p != NULL, 12);
	CHILD_CHECK(memcmp(p, "p0", 3) == 0 && memcmp(p + PAGE, "p2", 3) == 0 &&
			    memcmp(p + 2 * PAGE, "solo", 5) == 0, 13);
	put(c->to_parent, 1);
	CHILD_CHECK(get(c->from_parent, &v) == 0, 14);
	if (v == 1) {
		CHILD_CHECK(xsl_gnt_unmap(x, p, 3) == 0, 15);
		put(c->to_parent, 2);
		CHILD_CHECK(get(c->from_parent, &v) == 0, 16);
	}
	return 0; /* exits holding whatever it still maps */
}

START_TEST(end_access_busy_while_mapped)
{
	struct hyp h;
	struct xsl_hyp *a;
	struct ctx c;
	int up[2], down[2];
	uint32_t refs[3], solo_ref, v;
	char *area, *solo;
	pid_t p;

	hyp_start(&h, NULL);
	a = dom(&h, 5);
	area = xsl_gnt_share(a, 7, 3, 1, refs);
	ck_assert_ptr_nonnull(area);
	memcpy(area, "p0", 3);
	memcpy(area + 2 * PAGE, "p2", 3);
	solo = xsl_gnt_alloc(a, 1);
	ck_assert_ptr_nonnull(solo);
	memcpy(solo, "solo", 5);
	ck_assert_int_eq(xsl_gnt_grant(a, 7, solo, 0, &solo_ref), 0);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	for (int round = 0; round < 2; round++) {
		c = (struct ctx){.h = &h, .domid = 7, .granter = 5, .to_parent = up[1], .from_parent = down[0]};
		p = child(hold_child, &c);
		put(down[1], refs[0]);
		put(down[1], refs[2]);
		put(down[1], solo_ref);
		ck_assert_int_eq(get(up[0], &v), 0);
		/* Mapped: neither the single grant nor the share can end. */
		ck_assert_int_eq(xsl_gnt_end(a, solo_ref), -EBUSY);
		ck_assert_int_eq(xsl_gnt_unshare(a, area, 3), -EBUSY);
		if (round == 0) {
			/* Unmapped by the mapper: both may end (and are granted again for round 1). */
			put(down[1], 1);
			ck_assert_int_eq(get(up[0], &v), 0);
			ck_assert_int_eq(xsl_gnt_end(a, solo_ref), 0);
			ck_assert_int_eq(xsl_gnt_grant(a, 7, solo, 0, &solo_ref), 0);
			put(down[1], 0);
			ck_assert_int_eq(reap(p), 0);
		} else {
			/* The mapper exits holding them: its connection's close releases them. */
			put(down[1], 0);
			ck_assert_int_eq(reap(p), 0);
			ck_assert_int_eq(unshare_eventually(a, area, 3), 0);
			ck_assert_int_eq(xsl_gnt_end(a, solo_ref), 0);
		}
	}
	xsl_gnt_free(a, solo, 1);
	xsl_hyp_close(a);
	hyp_stop(&h);
}
END_TEST

/*
 * Frames of domain 5's memory (8 pages, each holding "page<N>"), granted by
 * hand: refs 8..13 read-write to domain 7, at frames not in a row; ref 14
 * read-only to 7; ref 15 to domain 8, not the mapper.
 */
static const uint32_t scatter_frame[8] = {3, 4, 1, 6, 0, 2, 5, 7};

static void scatter_grants(struct raw_dom *r)
{
	for (uint32_t i = 0; i < 8; i++)
		snprintf((char *)r->mem + (size_t)i * PAGE, 8, "page%u", i);
	for (uint32_t i = 0; i < 6; i++)
		r->gt[8 + i] =
			(struct grant_entry_v1){.flags = GTF_permit_access, .domid = 7, .frame = scatter_frame[i]};
	r->gt[14] = (struct grant_entry_v1){.flags = GTF_permit_access | GTF_readonly, .domid = 7, .frame = 5};
	r->gt[15] = (struct grant_entry_v1){.flags = GTF_permit_access, .domid = 8, .frame = 7};
}

/* Whether none of refs[0..n) is pinned (what a failed or given-back map must leave). */
static bool none_pinned(const struct raw_dom *r, const uint32_t *refs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (r->gt[refs[i]].flags & (GTF_reading | GTF_writing))
			return false;
	return true;
}

START_TEST(pages_mapped_in_one_call)
{
	struct hyp h;
	struct raw_dom r;
	struct xsl_hyp *m;
	struct xsl_gnt_pages *mp, *full;
	uint32_t refs[8] = {8, 9, 10, 11, 12, 13, 14, 8};
	void *pages[8];
	int err;

	/* At most 8 mappings on a connection: a failed batch that leaked one would show. */
	hyp_start(&h, "-M", "8", NULL);
	ck_assert_int_eq(raw_create(h.path, 5, 8, &r), 0);
	scatter_grants(&r);
	m = dom(&h, 7);
	/* Six pages in one call, each where it falls; written through, seen by the granter. */
	mp = xsl_gnt_map_pages(m, 5, 6, refs, 1, pages, &err);
	ck_assert_ptr_nonnull(mp);
	for (unsigned i = 0; i < 6; i++) {
		char want[8];

		snprintf(want, sizeof(want), "page%u", scatter_frame[i]);
		ck_assert_str_eq(pages[i], want);
		ck_assert_int_eq(r.gt[refs[i]].flags, GTF_permit_access | GTF_reading | GTF_writing);
	}
	memcpy(pages[2], "PAGE1", 6);
	ck_assert_str_eq((char *)r.mem + PAGE, "PAGE1");
	ck_assert_int_eq(xsl_gnt_unmap_pages(m, mp), 0);
	ck_assert(none_pinned(&r, refs, 6));
	/* One reference not granted to the mapper, or read-only when writable is asked: the whole batch fails. */
	for (int round = 0; round < 20; round++) {
		uint32_t other[3] = {8, 15, 9}, ro[2] = {9, 14};

		ck_assert_ptr_null(xsl_gnt_map_pages(m, 5, 3, other, round & 1, pages, &err));
		ck_assert_int_eq(err, -EPERM);
		ck_assert_ptr_null(xsl_gnt_map_pages(m, 5, 2, ro, 1, pages, &err));
		ck_assert_int_eq(err, -EPERM);
		ck_assert(none_pinned(&r, refs, 7));
	}
	/* Nothing leaked: the connection's 8 mappings are all there (one reference twice, read-only). */
	full = xsl_gnt_map_pages(m, 5, 8, refs, 0, pages, &err);
	ck_assert_ptr_nonnull(full);
	ck_assert_str_eq(pages[6], "page5");
	ck_assert_str_eq(pages[7], "page3");
	ck_assert_ptr_null(xsl_gnt_map_pages(m, 5, 1, refs, 0, pages, &err));
	ck_assert_int_eq(err, -ENOSPC);
	ck_assert_int_eq(xsl_gnt_unmap_pages(m, full), 0);
	ck_assert(none_pinned(&r, refs, 8));
	xsl_hyp_close(m);
	close(r.fd);
	hyp_stop(&h);
}
END_TEST

/* Maps pages read-only (one call, or one area), then writes to one: the write must fault. */
static int write_ro_pages_child(void *arg)
{
	struct ctx *c = arg;
	uint32_t refs[3] = {8, 10, 14};
	struct xsl_hyp *x;
	void *pages[3];
	char *p;
	int err;

	CHILD_CHECK((x = child_dom(c)) != NULL, 10);
	if (c->writable) {
		p = xsl_gnt_map(x, c->granter, 3, refs, 0, &err);
		CHILD_CHECK(p && strcmp(p + PAGE, "page1") == 0, 11);
	} else {
		CHILD_CHECK(xsl_gnt_map_pages(x, c->granter, 3, refs, 0, pages, &err) != NULL, 12);
		CHILD_CHECK(strcmp(pages[1], "page1") == 0, 13);
		p = pages[1];
	}
	signal(SIGSEGV, SIG_DFL);
	p[0] = 'X';
	return 0;
}

/* Maps an area whose frames are not in a row, checks it, unmaps it, then touches it: the touch must fault. */
static int touch_after_unmap_child(void *arg)
{
	struct ctx *c = arg;
	uint32_t refs[6] = {8, 9, 10, 11, 12, 13};
	struct xsl_hyp *x;
	volatile char *p;
	int err;

	CHILD_CHECK((x = child_dom(c)) != NULL, 10);
	p = xsl_gnt_map(x, c->granter, 6, refs, 1, &err);
	CHILD_CHECK(p != NULL, 11);
	for (unsigned i = 0; i < 6; i++) {
		char want[8];

		snprintf(want, sizeof(want), "page%u", scatter_frame[i]);
		CHILD_CHECK(strcmp((const char *)p + (size_t)i * PAGE, want) == 0, 12);
	}
	p[5 * PAGE] = 'P'; /* frame 2 */
	CHILD_CHECK(xsl_gnt_unmap(x, (void *)p, 6) == 0, 13);
	signal(SIGSEGV, SIG_DFL);
	return p[0] == 'p' ? 14 : 15;
}

START_TEST(read_only_and_unmapped_pages_fault)
{
	struct hyp h;
	struct raw_dom r;
	struct ctx c;
	uint32_t refs[7] = {8, 9, 10, 11, 12, 13, 14};

	hyp_start(&h, NULL);
	ck_assert_int_eq(raw_create(h.path, 5, 8, &r), 0);
	scatter_grants(&r);
	/* Domain 7 exists as long as this handle does; the children act for it. */
	{
		struct xsl_hyp *m = dom(&h, 7);

		c = (struct ctx){.h = &h, .domid = 7, .granter = 5};
		ck_assert_int_eq(reap(child(write_ro_pages_child, &c)), 128 + SIGSEGV);
		c.writable = 1;
		ck_assert_int_eq(reap(child(write_ro_pages_child, &c)), 128 + SIGSEGV);
		ck_assert_str_eq((char *)r.mem + PAGE, "page1");
		ck_assert_int_eq(reap(child(touch_after_unmap_child, &c)), 128 + SIGSEGV);
		ck_assert_str_eq((char *)r.mem + 2 * PAGE, "Page2");
		xsl_hyp_close(m);
	}
	/* The children's connections closed: nothing of theirs stays pinned. */
	for (int i = 0; i < 400 && !none_pinned(&r, refs, 7); i++)
		usleep(5000);
	ck_assert(none_pinned(&r, refs, 7));
	close(r.fd);
	hyp_stop(&h);
}
END_TEST

/* UNMAP of raw handles on conn: the reply's status. */
static int raw_unmap(int conn, uint64_t inc, const uint32_t *handles, unsigned n)
{
	unsigned char buf[sizeof(struct simhyp_unmap) + 8 * sizeof(uint32_t)];
	struct simhyp_unmap *u = (struct simhyp_unmap *)buf;
	struct simhyp_reply_hdr rep;

	*u = (struct simhyp_unmap){.domid = 5, .count = n, .incarnation = inc};
	memcpy(u + 1, handles, n * sizeof(uint32_t));
	return simhyp_call(conn, SIMHYP_UNMAP, u, sizeof(*u) + n * sizeof(uint32_t), NULL, 0, &rep, sizeof(rep),
			   NULL, NULL);
}

START_TEST(unmap_batch_is_all_or_nothing)
{
	struct hyp h;
	struct raw_dom r;
	struct xsl_hyp *m;
	unsigned char buf[sizeof(struct simhyp_map) + 2 * sizeof(uint32_t)];
	unsigned char rep[sizeof(struct simhyp_map_reply) + 2 * sizeof(struct simhyp_map_entry)];
	struct simhyp_map *mq = (struct simhyp_map *)buf;
	struct simhyp_map_reply *mr = (struct simhyp_map_reply *)rep;
	struct simhyp_map_entry *e = (struct simhyp_map_entry *)(mr + 1);
	struct simhyp_attach at = {.domid = 7};
	struct simhyp_domain_reply ar;
	uint32_t refs[2] = {8, 9}, hs[3];
	int conn, fds[SIMHYP_FDS_MAX];
	unsigned nfds = SIMHYP_FDS_MAX;

	hyp_start(&h, NULL);
	ck_assert_int_eq(raw_create(h.path, 5, 8, &r), 0);
	scatter_grants(&r);
	m = dom(&h, 7);
	/* A connection acting for domain 7 by hand: two references mapped, two handles. */
	conn = simhyp_connect(h.path);
	ck_assert_int_ge(conn, 0);
	ck_assert_int_ge(simhyp_call(conn, SIMHYP_ATTACH, &at, sizeof(at), NULL, 0, &ar, sizeof(ar), fds, &nfds), 0);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	*mq = (struct simhyp_map){.domid = 5, .count = 2, .flags = SIMHYP_MAP_WRITABLE};
	memcpy(mq + 1, refs, sizeof(refs));
	nfds = SIMHYP_FDS_MAX;
	ck_assert_int_eq(simhyp_call(conn, SIMHYP_MAP, mq, sizeof(buf), NULL, 0, mr, sizeof(rep), fds, &nfds),
			 (int)sizeof(rep));
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	/* A handle twice, or one that is no handle: refused whole, both still mapped. */
	hs[0] = e[0].handle, hs[1] = e[1].handle, hs[2] = e[0].handle;
	ck_assert_int_eq(raw_unmap(conn, mr->incarnation, hs, 3), -EINVAL);
	hs[2] = 999;
	ck_assert_int_eq(raw_unmap(conn, mr->incarnation, hs, 3), -EINVAL);
	ck_assert(!none_pinned(&r, &refs[0], 1) && !none_pinned(&r, &refs[1], 1));
	/* The same two once each: given back (what the refused ones checked left no trace). */
	ck_assert_int_eq(raw_unmap(conn, mr->incarnation, hs, 2), (int)sizeof(struct simhyp_reply_hdr));
	ck_assert(none_pinned(&r, refs, 2));
	ck_assert_int_eq(raw_unmap(conn, mr->incarnation, hs, 1), -EINVAL);
	close(conn);
	xsl_hyp_close(m);
	close(r.fd);
	hyp_stop(&h);
}
END_TEST

/* ---- event channels ---- */

/* Binds to the parent's port, reports its own, echoes every notification back until told to stop. */
static int echo_child(void *arg)
{
	struct ctx *c = arg;
	struct xsl_hyp *x;
	uint32_t local, v;
	int fd;

	CHILD_CHECK((x = child_dom(c)) != NULL, 10);
	CHILD_CHECK(xsl_evt_bind(x, c->granter, c->port, &local) == 0, 11);
	fd = xsl_evt_fd(x, local);
	/* Bound: one notification pending at once (Xen's conservative rule), taken. */
	CHILD_CHECK(wait_fd(fd, WAIT_MS), 12);
	xsl_evt_ack(x, local);
	put(c->to_parent, local);
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = c->from_parent, .events = POLLIN}};

		CHILD_CHECK(poll(p, 2, WAIT_MS) > 0, 13);
		if (p[1].revents) {
			CHILD_CHECK(read(c->from_parent, &v, sizeof(v)) == sizeof(v), 14);
			if (v == 0)
				break;
		}
		if (p[0].revents) {
			xsl_evt_ack(x, local);
			CHILD_CHECK(xsl_evt_notify(x, local) == 0, 15);
		}
	}
	if (c->writable) /* close it first (else the exit does) */
		CHILD_CHECK(xsl_evt_close(x, local) == 0, 16);
	xsl_hyp_close(x);
	return 0;
}

START_TEST(event_channels_between_processes)
{
	struct hyp h;
	struct xsl_hyp *a, *other;
	struct ctx c;
	uint32_t port, remote, bad;
	int up[2], down[2], fd;
	pid_t p;

	hyp_start(&h, NULL);
	a = dom(&h, 5);
	/* A fresh domain's first port is 1. */
	ck_assert_int_eq(xsl_evt_alloc_unbound(a, 7, &port), 0);
	ck_assert_uint_eq(port, 1);
	fd = xsl_evt_fd(a, port);
	ck_assert_int_ge(fd, 0);
	/* Unbound: notifying goes nowhere, and is no error. */
	ck_assert_int_eq(xsl_evt_notify(a, port), 0);
	/* Only domain 7 may bind it; nobody binds a domain that does not exist. */
	other = dom(&h, 8);
	ck_assert_int_eq(xsl_evt_bind(other, 5, port, &bad), -EINVAL);
	ck_assert_int_eq(xsl_evt_bind(other, 5, 99, &bad), -EINVAL);
	ck_assert_int_eq(xsl_evt_bind(other, 66, 1, &bad), -ESRCH);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	/* Three binders in turn: each gets the notifications once bound, the generation tells us. */
	for (int round = 0; round < 3; round++) {
		c = (struct ctx){.h = &h, .domid = 7, .granter = 5, .port = port, .to_parent = up[1],
				 .from_parent = down[0], .writable = round == 1};
		p = child(echo_child, &c);
		ck_assert_int_eq(get(up[0], &remote), 0);
		for (int i = 0; i < 20; i++) {
			ck_assert_int_eq(xsl_evt_notify(a, port), 0);
			ck_assert_msg(wait_fd(fd, WAIT_MS), "round %d: no echo %d", round, i);
			xsl_evt_ack(a, port);
		}
		put(down[1], 0);
		ck_assert_int_eq(reap(p), 0);
		/* Closed (or its process gone): our port is unbound for domain 7 again. */
		ck_assert_int_eq(xsl_evt_notify(a, port), 0);
		ck_assert(!wait_fd(fd, 20));
	}
	/* Closing ours: domain 7 has nothing to bind any more. */
	ck_assert_int_eq(xsl_evt_close(a, port), 0);
	ck_assert_int_eq(xsl_evt_fd(a, port), -EINVAL);
	xsl_hyp_close(other);
	xsl_hyp_close(a);
	hyp_stop(&h);
}
END_TEST

START_TEST(simulated_domain_store_port_and_handle)
{
	struct hyp h;
	struct xsl_simdom *d;
	struct xsl_hyp_opts o = {.kind = XSL_HYP_SIM};
	struct xsl_hyp *g, *d0;
	uint32_t ref = 1, port, local;
	int err;
	char *ring, *page;

	hyp_start(&h, NULL);
	ck_assert_int_eq(xsl_simdom_create(h.path, 9, &d), 0);
	ck_assert_uint_eq(xsl_simdom_port(d), 1);
	/* dom0 maps its store ring (reference 1) and binds its store port, as the store does. */
	d0 = dom(&h, 0);
	ring = xsl_gnt_map(d0, 9, 1, &ref, 1, &err);
	ck_assert_ptr_nonnull(ring);
	ck_assert_int_eq(xsl_evt_bind(d0, 9, 1, &local), 0);
	/* A handle acting for the domain grants from its memory; ports continue from 2. */
	o.simdom = d;
	ck_assert_int_eq(xsl_hyp_open(&g, &o), 0);
	ck_assert_uint_eq(xsl_hyp_domid(g), 9);
	page = xsl_gnt_share(g, 0, 1, 1, &ref);
	ck_assert_ptr_nonnull(page);
	ck_assert_uint_ge(ref, 8); /* past the reserved references */
	strcpy(page, "from 9");
	{
		char *m = xsl_gnt_map(d0, 9, 1, &ref, 0, &err);

		ck_assert_ptr_nonnull(m);
		ck_assert_str_eq(m, "from 9");
		ck_assert_int_eq(xsl_gnt_unmap(d0, m, 1), 0);
	}
	ck_assert_int_eq(xsl_evt_alloc_unbound(g, 0, &port), 0);
	ck_assert_uint_eq(port, 2);
	ck_assert_int_eq(xsl_gnt_unshare(g, page, 1), 0);
	xsl_hyp_close(g);
	/* Shut down, then destroyed: dom0's port goes back to nothing. */
	ck_assert_int_eq(xsl_simdom_shutdown(d), 0);
	xsl_simdom_destroy(d);
	ck_assert_int_eq(xsl_gnt_unmap(d0, ring, 1), 0);
	ck_assert_int_eq(xsl_evt_notify(d0, local), 0);
	xsl_hyp_close(d0);
	hyp_stop(&h);
}
END_TEST

/* ---- domain state ---- */

static int subscribe(const char *path)
{
	struct simhyp_attach at = {.domid = 0};
	struct simhyp_domain_reply r;
	struct simhyp_hdr sub;
	struct simhyp_reply_hdr sr;
	int fd = simhyp_connect(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(simhyp_call(fd, SIMHYP_ATTACH, &at, sizeof(at), NULL, 0, &r, sizeof(r), NULL, NULL), 0);
	ck_assert_int_ge(simhyp_call(fd, SIMHYP_SUBSCRIBE, &sub, sizeof(sub), NULL, 0, &sr, sizeof(sr), NULL, NULL),
			 0);
	return fd;
}

/* The next state of domid the subscription tells (other domains' skipped); -1 if none comes. */
static int next_state(int fd, unsigned domid, bool *synced)
{
	union {
		unsigned char b[SIMHYP_MSG_MAX];
		struct simhyp_notice n;
	} m;
	const struct simhyp_domstate *e = (const void *)(&m.n + 1);

	for (;;) {
		ssize_t n;
		int st = -2;

		if (!wait_fd(fd, WAIT_MS))
			return -1;
		n = simhyp_recv_notice(fd, m.b, sizeof(m.b));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(m.n.h.op, SIMHYP_NOTICE);
		if (synced && (m.n.flags & SIMHYP_NOTICE_SYNCED))
			*synced = true;
		for (uint32_t i = 0; i < m.n.count; i++)
			if (e[i].domid == domid)
				st = (int)e[i].state;
		if (st != -2)
			return st;
		if (synced && *synced)
			return -3; /* the snapshot ended without it */
	}
}

static int live_child(void *arg)
{
	struct ctx *c = arg;
	struct xsl_simdom *d;
	uint32_t v;

	CHILD_CHECK(xsl_simdom_create(c->h->path, c->domid, &d) == 0, 10);
	put(c->to_parent, 1);
	CHILD_CHECK(get(c->from_parent, &v) == 0, 11);
	CHILD_CHECK(xsl_simdom_shutdown(d) == 0, 12);
	put(c->to_parent, 2);
	CHILD_CHECK(get(c->from_parent, &v) == 0, 13);
	return 0; /* dies: the domain with it */
}

START_TEST(domain_death_seen_by_a_subscriber)
{
	struct hyp h;
	struct ctx c;
	int up[2], down[2], s1, s2;
	bool synced = false;
	uint32_t v;
	pid_t p;

	hyp_start(&h, NULL);
	s1 = subscribe(h.path);
	/* The first snapshot: dom0 only, then SYNCED. */
	ck_assert_int_eq(next_state(s1, 0, &synced), SIMHYP_DOM_RUNNING);
	ck_assert(synced);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	c = (struct ctx){.h = &h, .domid = 12, .to_parent = up[1], .from_parent = down[0]};
	p = child(live_child, &c);
	ck_assert_int_eq(get(up[0], &v), 0);
	ck_assert_int_eq(next_state(s1, 12, NULL), SIMHYP_DOM_RUNNING);
	put(down[1], 1);
	ck_assert_int_eq(get(up[0], &v), 0);
	ck_assert_int_eq(next_state(s1, 12, NULL), SIMHYP_DOM_SHUTDOWN);
	/* A subscriber arriving now finds it in the snapshot. */
	synced = false;
	s2 = subscribe(h.path);
	ck_assert_int_eq(next_state(s2, 12, &synced), SIMHYP_DOM_SHUTDOWN);
	put(down[1], 1);
	ck_assert_int_eq(reap(p), 0);
	ck_assert_int_eq(next_state(s1, 12, NULL), SIMHYP_DOM_NONE);
	ck_assert_int_eq(next_state(s2, 12, NULL), SIMHYP_DOM_NONE);
	close(s1);
	close(s2);
	hyp_stop(&h);
}
END_TEST

/* ---- hostile input ---- */

/* A raw message on a fresh connection: the reply's status, or -1 if the connection was closed. */
static int raw_status(const char *path, const void *msg, size_t len, const int *fds, unsigned nfds)
{
	struct simhyp_reply_hdr r;
	int fd = simhyp_connect(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(simhyp_send_raw(fd, msg, len, fds, nfds), (ssize_t)len);
	ck_assert(wait_fd(fd, WAIT_MS));
	n = recv(fd, &r, sizeof(r), 0);
	close(fd);
	if (n == 0)
		return -1;
	ck_assert_int_eq(n, (ssize_t)sizeof(r));
	return r.status;
}

static struct simhyp_hdr hdr(uint16_t op, uint32_t len)
{
	return (struct simhyp_hdr){.magic = SIMHYP_MAGIC, .version = SIMHYP_VERSION, .op = op, .len = len, .seq = 7};
}

START_TEST(hostile_messages_are_refused)
{
	struct hyp h;
	struct xsl_hyp *a, *b;
	uint32_t port;
	int fds[6];

	hyp_start(&h, NULL);
	/* A client connected and served all along. */
	a = dom(&h, 0);
	{
		char shortmsg[3] = "ab";
		struct simhyp_hdr m = hdr(SIMHYP_ATTACH, sizeof(m));

		ck_assert_int_eq(raw_status(h.path, shortmsg, 2, NULL, 0), -1);
		m.magic = 0x12345678;
		ck_assert_int_eq(raw_status(h.path, &m, sizeof(m), NULL, 0), -1);
		m = hdr(SIMHYP_ATTACH, sizeof(m));
		m.version = 1;
		ck_assert_int_eq(raw_status(h.path, &m, sizeof(m), NULL, 0), EPROTONOSUPPORT);
		m = hdr(0x777, sizeof(m));
		ck_assert_int_eq(raw_status(h.path, &m, sizeof(m), NULL, 0), ENOSYS);
		/* Before CREATE or ATTACH nothing else is allowed. */
		m = hdr(SIMHYP_EVT_UNBOUND, sizeof(m));
		ck_assert_int_eq(raw_status(h.path, &m, sizeof(m), NULL, 0), ENOTCONN);
		/* Wrong lengths: the header's and the datagram's. */
		struct simhyp_attach at = {.h = hdr(SIMHYP_ATTACH, sizeof(at) + 4)};

		ck_assert_int_eq(raw_status(h.path, &at, sizeof(at), NULL, 0), EINVAL);
		at.h.len = sizeof(at);
		ck_assert_int_eq(raw_status(h.path, &at, sizeof(at) - 4, NULL, 0), EINVAL);
		at.domid = 0x7ff0;
		ck_assert_int_eq(raw_status(h.path, &at, sizeof(at), NULL, 0), EINVAL);
		at.domid = 4321;
		ck_assert_int_eq(raw_status(h.path, &at, sizeof(at), NULL, 0), ESRCH);
	}
	{
		/* An oversized message; descriptors where none belong; a flood of descriptors. */
		static unsigned char big[SIMHYP_MSG_MAX + 100];
		struct simhyp_hdr m = hdr(SIMHYP_ATTACH, sizeof(big));

		memcpy(big, &m, sizeof(m));
		ck_assert_int_eq(raw_status(h.path, big, sizeof(big), NULL, 0), EMSGSIZE);
		for (int i = 0; i < 6; i++)
			fds[i] = eventfd(0, EFD_CLOEXEC);
		struct simhyp_attach at = {.h = hdr(SIMHYP_ATTACH, sizeof(at))};

		ck_assert_int_eq(raw_status(h.path, &at, sizeof(at), fds, 1), EINVAL);
		ck_assert_int_eq(raw_status(h.path, &at, sizeof(at), fds, 6), E2BIG);
		for (int i = 0; i < 6; i++)
			close(fds[i]);
	}
	{
		/* CREATE with files that are no memory to seal: unsealable memfds, a pipe, too small. */
		struct simhyp_create cr = {.h = hdr(SIMHYP_CREATE, sizeof(cr)), .domid = 20, .mem_pages = 1,
					   .gnt_frames = 1};
		int good = memfd_create("g", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		int unsealable = memfd_create("u", MFD_CLOEXEC);
		int small = memfd_create("s", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		int pf[2], f[2];

		ck_assert_int_eq(ftruncate(good, PAGE), 0);
		ck_assert_int_eq(ftruncate(unsealable, PAGE), 0);
		ck_assert_int_eq(pipe(pf), 0);
		f[0] = unsealable, f[1] = good;
		ck_assert_int_eq(raw_status(h.path, &cr, sizeof(cr), f, 2), EINVAL);
		f[0] = pf[0];
		ck_assert_int_eq(raw_status(h.path, &cr, sizeof(cr), f, 2), EINVAL);
		f[0] = small;
		ck_assert_int_eq(raw_status(h.path, &cr, sizeof(cr), f, 2), EINVAL);
		f[0] = good;
		ck_assert_int_eq(raw_status(h.path, &cr, sizeof(cr), f, 1), EINVAL);
		/* A memory file already sealed against writing: refused too. */
		{
			int ro = memfd_create("ro", MFD_CLOEXEC | MFD_ALLOW_SEALING);

			ck_assert_int_eq(ftruncate(ro, PAGE), 0);
			ck_assert_int_eq(fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE), 0);
			f[0] = ro;
			f[1] = good;
			ck_assert_int_eq(raw_status(h.path, &cr, sizeof(cr), f, 2), EINVAL);
			close(ro);
		}
		close(good);
		close(unsealable);
		close(small);
		close(pf[0]);
		close(pf[1]);
	}
	{
		/* A client sending without ever reading its replies is read no more, never waited for. */
		struct simhyp_attach at = {.h = hdr(SIMHYP_ATTACH, sizeof(at))};
		struct simhyp_hdr peer = hdr(SIMHYP_EVT_PEER, sizeof(struct simhyp_port_req));
		struct simhyp_port_req pr = {.h = peer, .port = 1};
		int fd = simhyp_connect(h.path);
		int sent = 0;

		ck_assert_int_eq(simhyp_send_raw(fd, &at, sizeof(at), NULL, 0), (ssize_t)sizeof(at));
		fcntl(fd, F_SETFL, O_NONBLOCK);
		for (int i = 0; i < 100000; i++) {
			if (send(fd, &pr, sizeof(pr), MSG_NOSIGNAL) < 0)
				break;
			sent++;
		}
		ck_assert_int_gt(sent, 0);
		/* Meanwhile everyone else is served. */
		ck_assert_int_eq(xsl_evt_alloc_unbound(a, 3, &port), 0);
		close(fd);
	}
	/* Still serving, new clients too. */
	b = dom(&h, 30);
	ck_assert_int_eq(xsl_evt_alloc_unbound(b, 0, &port), 0);
	ck_assert_uint_eq(port, 1);
	xsl_hyp_close(b);
	xsl_hyp_close(a);
	hyp_stop(&h);
}
END_TEST

START_TEST(limits_at_their_edges)
{
	struct hyp h;
	struct xsl_hyp *a, *b, *c, *m;
	uint32_t port, refs[SIMHYP_BATCH_MAX + 1];
	struct raw_dom r;
	void *maps[4];
	int err;

	/* Two domains, ports 1 to 3, three mappings a connection and four in all, 8 pages of memory. */
	hyp_start(&h, "-d", "2", "-p", "4", "-M", "3", "-T", "4", "-m", "8", NULL);
	a = domm(&h, 5, 8);
	ck_assert_int_eq(raw_create(h.path, 6, 9, &r), -EINVAL); /* 9 pages: past the limit */
	close(r.fd);
	b = domm(&h, 6, 8);
	{
		struct xsl_hyp_opts o = {.kind = XSL_HYP_SIM, .simhyp_path = h.path, .domid = 7, .mem_pages = 8};

		ck_assert_int_eq(xsl_hyp_open(&c, &o), -ENOSPC);
	}
	for (uint32_t i = 1; i <= 3; i++) {
		ck_assert_int_eq(xsl_evt_alloc_unbound(a, 0, &port), 0);
		ck_assert_uint_eq(port, i);
	}
	ck_assert_int_eq(xsl_evt_alloc_unbound(a, 0, &port), -ENOSPC);
	ck_assert_int_eq(xsl_evt_close(a, 2), 0);
	ck_assert_int_eq(xsl_evt_alloc_unbound(a, 0, &port), 0);
	ck_assert_uint_eq(port, 2); /* the lowest free */
	/* dom0's ports are not a guest's: it serves every guest. */
	{
		struct xsl_hyp *d0 = dom(&h, 0);

		for (uint32_t i = 1; i <= 10; i++)
			ck_assert_int_eq(xsl_evt_alloc_unbound(d0, 5, &port), 0);
		ck_assert_uint_eq(port, 10);
		xsl_hyp_close(d0);
	}
	/* Domain 5 again, made by hand: its grant table written directly. */
	xsl_hyp_close(a);
	ck_assert_int_eq(raw_create(h.path, 5, 8, &r), 0);
	for (uint32_t i = 0; i < 5; i++) {
		r.gt[8 + i] = (struct grant_entry_v1){.flags = GTF_permit_access, .domid = 6, .frame = i};
		refs[i] = 8 + i;
	}
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(maps[i] = xsl_gnt_map(b, 5, 1, &refs[i], 1, &err));
	ck_assert_ptr_null(xsl_gnt_map(b, 5, 1, &refs[3], 1, &err));
	ck_assert_int_eq(err, -ENOSPC);
	ck_assert_int_eq(xsl_gnt_unmap(b, maps[2], 1), 0);
	ck_assert_ptr_nonnull(maps[3] = xsl_gnt_map(b, 5, 1, &refs[3], 1, &err));
	/* A batch past the protocol's limit never leaves. */
	ck_assert_ptr_null(xsl_gnt_map(b, 5, SIMHYP_BATCH_MAX + 1, refs, 1, &err));
	ck_assert_int_eq(err, -E2BIG);
	/* Another connection of the same domain has mappings of its own. */
	{
		struct xsl_hyp_opts o = {.kind = XSL_HYP_SIM, .simhyp_path = h.path, .domid = 6};

		ck_assert_int_eq(xsl_hyp_open(&m, &o), 0); /* 6 exists: attached */
		ck_assert_ptr_nonnull(maps[2] = xsl_gnt_map(m, 5, 1, &refs[4], 0, &err));
		/* ... up to the limit of all connections together (3 + 1). */
		ck_assert_ptr_null(xsl_gnt_map(m, 5, 1, &refs[4], 0, &err));
		ck_assert_int_eq(err, -ENOSPC);
		xsl_hyp_close(m);
	}
	xsl_hyp_close(b);
	close(r.fd);
	hyp_stop(&h);
}
END_TEST

/* Out of descriptors: errors, a pause in accepting, never a crash or a spin; served again once some are back. */
START_TEST(descriptor_exhaustion_is_survived)
{
	struct hyp h;
	struct xsl_hyp *a;
	uint32_t port, first = 0, last = 0;
	int err = 0, fds[64], nfd = 0;

	hyp_nofile = 48;
	hyp_start(&h, "-p", "1024", NULL);
	hyp_nofile = 0;
	a = dom(&h, 0);
	/* Each port is an eventfd in the hypervisor: they run out. */
	for (int i = 0; i < 100 && (err = xsl_evt_alloc_unbound(a, 5, &port)) == 0; i++)
		last = port, first = first ? first : port;
	ck_assert_int_eq(err, -EMFILE);
	/* Connections beyond what it can accept wait, or are closed; none makes it spin or fail. */
	for (; nfd < 64; nfd++)
		if ((fds[nfd] = simhyp_connect(h.path)) < 0)
			break;
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	/* Some back: served again. */
	for (uint32_t p = first; p <= last; p++)
		ck_assert_int_eq(xsl_evt_close(a, p), 0);
	ck_assert_int_eq(xsl_evt_alloc_unbound(a, 5, &port), 0);
	ck_assert_uint_eq(port, first);
	xsl_hyp_close(a);
	/* New connections too (accepting resumes within 100 ms). */
	usleep(150000);
	a = dom(&h, 0);
	xsl_hyp_close(a);
	hyp_stop(&h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("simhyp");
	TCase *tc = tcase_create("simhyp");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, grant_maps_only_in_the_grantee);
	tcase_add_test(tc, read_only_stays_read_only);
	tcase_add_test(tc, junk_grant_entries_are_refused);
	tcase_add_test(tc, end_access_busy_while_mapped);
	tcase_add_test(tc, pages_mapped_in_one_call);
	tcase_add_test(tc, read_only_and_unmapped_pages_fault);
	tcase_add_test(tc, unmap_batch_is_all_or_nothing);
	tcase_add_test(tc, event_channels_between_processes);
	tcase_add_test(tc, simulated_domain_store_port_and_handle);
	tcase_add_test(tc, domain_death_seen_by_a_subscriber);
	tcase_add_test(tc, hostile_messages_are_refused);
	tcase_add_test(tc, limits_at_their_edges);
	tcase_add_test(tc, descriptor_exhaustion_is_survived);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

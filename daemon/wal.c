/* The write-ahead log file: its header, appending framed groups, syncing, reading them back, starting afresh. */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"

#define WAL_MAGIC "XSDWAL1\n"
#define WAL_HEADER 32u
#define WAL_GROUP_MAGIC 0x47445358u /* "XSDG" */

/*
 * Groups are copied into a shared mapping of the file, not written with a
 * system call each: once copied they are in the page cache, which a killed
 * daemon does not take with it, and a sync writes them to the disk like
 * written ones. The file is allocated ahead in extents (fallocate), so that
 * a full disk shows as ENOSPC when a group asks for room, never as SIGBUS
 * when the mapping is touched; the mapping is a window over the file's tail,
 * so the log's pages do not pile up in the daemon's memory.
 */
#define WAL_EXTENT (1u << 20)

static struct {
	int fd;
	char path[4096];
	unsigned char *win; /* the window: file bytes [win_off, win_off + win_len) */
	uint64_t win_off;
	size_t win_len;
	uint64_t alloc;     /* the file's size: allocated, zeros past end */
	bool sync;
	bool unsynced;      /* appended since the last sync */
	uint64_t ckpt;      /* the checkpoint the header names */
	uint64_t next_seq;  /* the next group's number */
	uint64_t end;       /* where the next group goes */
	uint64_t appended;  /* bytes appended since the start (tests' crash point) */
	/* XENSTORED_TEST_CRASH */
	uint64_t crash_log; /* 0: none */
	uint64_t crash_ckpt;
	uint64_t ckpt_steps;
	uint64_t crash_compact;
	uint64_t compact_steps;
} wal = {.fd = -1};

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* CRC-32C: the SSE 4.2 instruction where there is one (8 bytes a step), else a table. */
static uint32_t crc_table[256];

static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
	if (!crc_table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			crc_table[i] = c;
		}
	}
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	for (; len; len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t wal_crc32c(uint32_t crc, const void *p, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	static int hw = -1;

	if (hw < 0) {
		__builtin_cpu_init();
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	}
	if (hw)
		return ~crc32c_hw(crc, p, len);
#endif
	return ~crc32c_soft(crc, p, len);
}

/* The directory of path, with its slash ("." if none). */
static void dir_of(char *dir, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');

	snprintf(dir, size, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
}

/*
 * On tmpfs or ramfs (a run directory on a real host) power takes the
 * files anyway: appends need no sync. Elsewhere a group is synced before
 * anything it caused is sent.
 */
static bool on_volatile_fs(const char *path)
{
	char dir[4096];
	struct statfs sf;

	dir_of(dir, sizeof(dir), path);
	return statfs(dir, &sf) == 0 && ((unsigned long)sf.f_type == 0x01021994ul /* TMPFS_MAGIC */ ||
					 (unsigned long)sf.f_type == 0x858458f6ul /* RAMFS_MAGIC */);
}

int wal_sync_dir(void)
{
	char dir[sizeof(wal.path)];
	int fd, r;

	if (!wal.sync)
		return 0;
	dir_of(dir, sizeof(dir), wal.path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

uint64_t wal_dir_avail(void)
{
	char dir[sizeof(wal.path)];
	struct statvfs sv;

	dir_of(dir, sizeof(dir), wal.path);
	return statvfs(dir, &sv) == 0 ? (uint64_t)sv.f_bavail * sv.f_frsize : 0;
}

static void crash_setup(void)
{
	const char *s = getenv("XENSTORED_TEST_CRASH");

	wal.crash_log = wal.crash_ckpt = wal.crash_compact = 0;
	if (!s)
		return;
	if (strncmp(s, "log:", 4) == 0)
		wal.crash_log = strtoull(s + 4, NULL, 10);
	else if (strncmp(s, "ckpt:", 5) == 0)
		wal.crash_ckpt = strtoull(s + 5, NULL, 10);
	else if (strncmp(s, "compact:", 8) == 0)
		wal.crash_compact = strtoull(s + 8, NULL, 10);
	if (wal.crash_log || wal.crash_ckpt || wal.crash_compact)
		log_info("test crash point %s set", s);
}

/* A crash point counting steps: the process ends before step at (0: never). */
static void crash_step(uint64_t at, uint64_t *steps, const char *what)
{
	if (at && ++*steps == at) {
		log_info("test crash point reached: %s step %llu", what, (unsigned long long)*steps);
		_exit(99);
	}
}

void wal_crash_point_ckpt(void)
{
	crash_step(wal.crash_ckpt, &wal.ckpt_steps, "checkpoint");
}

void wal_crash_point_compact(void)
{
	crash_step(wal.crash_compact, &wal.compact_steps, "compaction");
}

/* The crash point inside an append: what falls before it is written, then the process ends. */
static void crash_point_log(const unsigned char *buf, size_t len)
{
	uint64_t room;

	if (!wal.crash_log || wal.crash_log <= wal.appended || wal.crash_log > wal.appended + len)
		return;
	room = wal.crash_log - wal.appended;
	memcpy(wal.win + (wal.end - wal.win_off), buf, (size_t)room);
	log_info("test crash point reached: %llu bytes appended", (unsigned long long)wal.crash_log);
	_exit(99);
}

static void unmap_window(void)
{
	if (wal.win)
		munmap(wal.win, wal.win_len);
	wal.win = NULL;
	wal.win_off = 0;
	wal.win_len = 0;
}

static int write_header(uint64_t ckpt)
{
	unsigned char h[WAL_HEADER] = {0};

	memcpy(h, WAL_MAGIC, 8);
	put64(h + 8, ckpt);
	put32(h + 28, wal_crc32c(0, h, 28));
	if (pwrite(wal.fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return errno ? errno : EIO;
	return 0;
}

int wal_open(const char *store_file, bool fresh, uint64_t new_ckpt, uint64_t *ckpt, const char **reason)
{
	static char why[4400];
	size_t l = strlen(store_file);
	unsigned char h[WAL_HEADER];
	struct stat st;
	int n;

	if (l > 4 && strcmp(store_file + l - 4, ".tdb") == 0)
		n = snprintf(wal.path, sizeof(wal.path), "%.*s.wal", (int)(l - 4), store_file);
	else
		n = snprintf(wal.path, sizeof(wal.path), "%s.wal", store_file);
	if (n < 0 || (size_t)n >= sizeof(wal.path)) {
		*reason = "log path too long";
		return -1;
	}
	crash_setup();
	if (fresh)
		unlink(wal.path);
	wal.sync = !on_volatile_fs(wal.path);
	wal.fd = open(wal.path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (wal.fd < 0 || fstat(wal.fd, &st) != 0) {
		snprintf(why, sizeof(why), "write-ahead log %s: %s", wal.path, strerror(errno));
		*reason = why;
		return -1;
	}
	wal.unsynced = false;
	wal.next_seq = 1;
	wal.end = WAL_HEADER;
	if (st.st_size < (off_t)WAL_HEADER) {
		/* New, or its creation cut short: nothing was ever appended to it. */
		int err = write_header(new_ckpt);

		if (err || ftruncate(wal.fd, WAL_HEADER) != 0 || (wal.sync && fdatasync(wal.fd) != 0)) {
			snprintf(why, sizeof(why), "write-ahead log %s: %s", wal.path,
				 strerror(err ? err : errno));
			*reason = why;
			return -1;
		}
		wal.alloc = WAL_HEADER;
		wal.ckpt = *ckpt = new_ckpt;
		return 0;
	}
	wal.alloc = (uint64_t)st.st_size;
	if (pread(wal.fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, WAL_MAGIC, 8) != 0 ||
	    get32(h + 28) != wal_crc32c(0, h, 28)) {
		snprintf(why, sizeof(why),
			 "write-ahead log %s: damaged header (what it held since the last checkpoint"
			 " cannot be trusted: move the file away to start from the checkpoint, or"
			 " use --fresh-store)", wal.path);
		*reason = why;
		return -1;
	}
	wal.ckpt = *ckpt = get64(h + 8);
	return 0;
}

void wal_close(void)
{
	unmap_window();
	if (wal.fd >= 0)
		close(wal.fd);
	wal.fd = -1;
}

bool wal_syncs(void)
{
	return wal.sync;
}

uint64_t wal_bytes(void)
{
	return wal.end - WAL_HEADER;
}

size_t wal_frame(unsigned char *buf, size_t body_len, uint64_t gen)
{
	size_t len = WAL_GROUP_HEAD + body_len;

	put32(buf, WAL_GROUP_MAGIC);
	put32(buf + 4, (uint32_t)body_len);
	put64(buf + 8, wal.ckpt);
	put64(buf + 16, wal.next_seq);
	put64(buf + 24, gen);
	put32(buf + len, wal_crc32c(0, buf, len));
	return len + WAL_GROUP_TAIL;
}

/* Room for len bytes at the end, allocated and in the window: 0 or an errno, the file as it was. */
static int make_room(size_t len)
{
	uint64_t need = wal.end + len, off, top;
	long page;
	void *m;
	int err;

	if (wal.win && need <= wal.win_off + wal.win_len)
		return 0;
	page = sysconf(_SC_PAGESIZE);
	off = wal.end & ~(uint64_t)(page - 1);
	top = (need + WAL_EXTENT - 1) & ~(uint64_t)(WAL_EXTENT - 1);
	if (top < off + WAL_EXTENT)
		top = off + WAL_EXTENT;
	if (top > wal.alloc) {
		/* posix_fallocate returns the error; a part it allocated is given back. */
		if ((err = posix_fallocate(wal.fd, (off_t)wal.alloc, (off_t)(top - wal.alloc))) != 0) {
			if (ftruncate(wal.fd, (off_t)wal.alloc) != 0)
				log_warnx("write-ahead log: cannot give back a failed allocation: %s",
					  strerror(errno));
			return err;
		}
		wal.alloc = top;
	}
	unmap_window();
	m = mmap(NULL, (size_t)(top - off), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, wal.fd,
		 (off_t)off);
	if (m == MAP_FAILED)
		return errno;
	wal.win = m;
	wal.win_off = off;
	wal.win_len = (size_t)(top - off);
	return 0;
}

int wal_append(const unsigned char *buf, size_t len)
{
	int err;

	if ((err = make_room(len)) != 0)
		return err;
	crash_point_log(buf, len);
	memcpy(wal.win + (wal.end - wal.win_off), buf, len);
	wal.end += len;
	wal.appended += len;
	wal.next_seq++;
	wal.unsynced = true;
	return 0;
}

int wal_sync(void)
{
	if (!wal.unsynced)
		return 0;
	if (wal.sync && fdatasync(wal.fd) != 0)
		return errno;
	wal.unsynced = false;
	return 0;
}

int wal_reset(uint64_t ckpt)
{
	/*
	 * The header first, in place (no new space needed): from then on the
	 * groups after it name an older checkpoint and are not read.
	 */
	int err = write_header(ckpt);

	if (err)
		return err;
	unmap_window();
	if (ftruncate(wal.fd, WAL_HEADER) != 0 || (wal.sync && fdatasync(wal.fd) != 0))
		return errno;
	wal.alloc = WAL_HEADER;
	wal.ckpt = ckpt;
	wal.next_seq = 1;
	wal.end = WAL_HEADER;
	wal.unsynced = false;
	return 0;
}

/* The end of what was written in [pos, size): past its last byte that is not zero. */
static uint64_t written_past(uint64_t pos, uint64_t size)
{
	unsigned char b[65536];
	uint64_t last = pos, at = pos;

	while (at < size) {
		size_t want = size - at < sizeof(b) ? (size_t)(size - at) : sizeof(b);
		ssize_t n = pread(wal.fd, b, want, (off_t)at);

		if (n <= 0)
			return size;
		for (ssize_t i = 0; i < n; i++)
			if (b[i])
				last = at + (uint64_t)i + 1;
		at += (uint64_t)n;
	}
	return last;
}

int wal_replay(wal_group_fn fn, void *ctx, size_t *groups, uint64_t *cut)
{
	struct stat st;
	uint64_t pos = WAL_HEADER, size;
	unsigned char *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	*groups = 0;
	*cut = 0;
	if (fstat(wal.fd, &st) != 0)
		return -1;
	size = (uint64_t)st.st_size;
	while (pos + WAL_GROUP_HEAD + WAL_GROUP_TAIL <= size) {
		unsigned char h[WAL_GROUP_HEAD];
		uint64_t len;

		if (pread(wal.fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h) ||
		    get32(h) != WAL_GROUP_MAGIC || get64(h + 8) != wal.ckpt || get64(h + 16) != wal.next_seq)
			break;
		len = WAL_GROUP_HEAD + (uint64_t)get32(h + 4) + WAL_GROUP_TAIL;
		if (pos + len > size)
			break;
		if (len > cap) {
			unsigned char *nb = realloc(buf, (size_t)len);

			if (!nb) {
				rc = -1;
				break;
			}
			buf = nb;
			cap = (size_t)len;
		}
		if (pread(wal.fd, buf, (size_t)len, (off_t)pos) != (ssize_t)len ||
		    get32(buf + len - WAL_GROUP_TAIL) != wal_crc32c(0, buf, (size_t)len - WAL_GROUP_TAIL))
			break;
		if ((rc = fn(ctx, buf + WAL_GROUP_HEAD, (size_t)len - WAL_GROUP_HEAD - WAL_GROUP_TAIL,
			     get64(h + 24))) != 0)
			break;
		pos += len;
		wal.next_seq++;
		(*groups)++;
	}
	free(buf);
	if (rc == 0 && pos < size) {
		/*
		 * Never acknowledged: its reply waited for the whole group to be
		 * written. What was allocated ahead is zeros; the cut is what
		 * was written of a group, up to its last byte that is not zero.
		 */
		*cut = written_past(pos, size) - pos;
		if (ftruncate(wal.fd, (off_t)pos) != 0)
			rc = -1;
		wal.alloc = pos;
	}
	wal.end = pos;
	return rc;
}

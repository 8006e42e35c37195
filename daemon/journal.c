/* The commit journal: the last commit's changes, made durable in a small tdb before the store changes. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <tdb.h>
#include <unistd.h>

#include "log.h"

/*
 * Why a separate file: a tdb transaction on the store itself remaps the
 * whole store file and copies its hash table, so its cost grows with the
 * store and every later lookup faults its pages back in. A transaction on this file of one
 * record costs the same whatever the store holds. The store applies a
 * commit only after its changes are here, and replays them on start if it
 * did not record them applied (store_commit.c), so a crash leaves all or none.
 */
#define JOURNAL_KEY "commit"

static struct tdb_context *journal_tdb;
static bool journal_sync;

static int journal_path(char *buf, size_t size, const char *store_file)
{
	size_t l = strlen(store_file);
	int n;

	if (l > 4 && strcmp(store_file + l - 4, ".tdb") == 0)
		n = snprintf(buf, size, "%.*s-journal.tdb", (int)(l - 4), store_file);
	else
		n = snprintf(buf, size, "%s-journal.tdb", store_file);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/*
 * On tmpfs or ramfs (a run directory on a real host) power takes the files
 * anyway, so the store need not be synced before the journal moves on;
 * elsewhere it must be, for power loss.
 */
static bool on_volatile_fs(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct statfs sf;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	return statfs(dir, &sf) == 0 && ((unsigned long)sf.f_type == 0x01021994ul /* TMPFS_MAGIC */ ||
					 (unsigned long)sf.f_type == 0x858458f6ul /* RAMFS_MAGIC */);
}

enum xs_err journal_open(const char *store_file, bool fresh, const char **reason)
{
	char path[4096];

	if (journal_path(path, sizeof(path), store_file) < 0) {
		*reason = "journal path too long";
		return XSE_EIO;
	}
	if (fresh)
		unlink(path);
	/*
	 * tdb_open rolls back a journal transaction cut short. Never TDB_NOSYNC,
	 * even on tmpfs: with it tdb writes no recovery area, so a kill in the
	 * middle of a commit's writes would leave the entry torn. Not mapped:
	 * a mapped tdb unmaps and maps its file again at every transaction
	 * start, which with the refaults costs more than the few preads and
	 * pwrites of one small record.
	 */
	journal_sync = !on_volatile_fs(path);
	journal_tdb = tdb_open(path, 7, TDB_NOLOCK | TDB_INCOMPATIBLE_HASH | TDB_NOMMAP,
			       O_RDWR | O_CREAT, 0600);
	if (!journal_tdb) {
		static char why[4200];

		snprintf(why, sizeof(why), "commit journal %s: %s (--fresh-store starts afresh)", path,
			 strerror(errno));
		*reason = why;
		return XSE_EIO;
	}
	return XSE_OK;
}

bool journal_syncs(void)
{
	return journal_sync;
}

void journal_close(void)
{
	if (journal_tdb)
		tdb_close(journal_tdb);
	journal_tdb = NULL;
}

static TDB_DATA journal_key(void)
{
	return (TDB_DATA){(unsigned char *)JOURNAL_KEY, sizeof(JOURNAL_KEY) - 1};
}

enum xs_err journal_put(uint64_t seq, const void *data, size_t len)
{
	unsigned char head[8];
	TDB_DATA parts[2] = {{head, sizeof(head)}, {(unsigned char *)data, len}};

	for (int i = 0; i < 8; i++)
		head[i] = (unsigned char)(seq >> (8 * i));
	if (tdb_transaction_start(journal_tdb) != 0)
		return XSE_EIO;
	if (tdb_storev(journal_tdb, journal_key(), parts, 2, TDB_REPLACE) != 0) {
		log_error("journal: write failed: %s", tdb_errorstr(journal_tdb));
		tdb_transaction_cancel(journal_tdb);
		return XSE_EIO;
	}
	if (tdb_transaction_commit(journal_tdb) != 0) {
		log_error("journal: commit failed: %s", tdb_errorstr(journal_tdb));
		return XSE_EIO;
	}
	return XSE_OK;
}

int journal_get(uint64_t *seq, void **data, size_t *len)
{
	TDB_DATA d = tdb_fetch(journal_tdb, journal_key());

	if (!d.dptr)
		return tdb_error(journal_tdb) == TDB_ERR_NOEXIST ? 0 : -1;
	if (d.dsize < 8) {
		free(d.dptr);
		return -1;
	}
	*seq = 0;
	for (int i = 0; i < 8; i++)
		*seq |= (uint64_t)d.dptr[i] << (8 * i);
	*len = d.dsize - 8;
	memmove(d.dptr, d.dptr + 8, *len);
	*data = d.dptr;
	return 1;
}

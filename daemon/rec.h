/* The store's records: every tdb record read and write goes through here, changes by groups into the write-ahead log. */
#ifndef XSD_REC_H
#define XSD_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* tdb.h needs mode_t */
#include <tdb.h>

#include "../proto/wire.h"

/*
 * Writes never go to the tdb file directly. A change is a whole record's
 * new bytes, or its deletion, kept in an overlay in memory that reads
 * consult first; the changes of one group (begun and ended by the store
 * around each request's changes) are appended to the write-ahead log
 * (wal.h) in one write when the group ends, before anything the group
 * caused is sent (rec_flush). From time to time a checkpoint applies the
 * overlay to tdb in one tdb transaction and starts the log afresh. After a
 * crash, tdb opens as of the last checkpoint (tdb rolls back a checkpoint
 * cut short) and the log's whole groups are read back into the overlay:
 * nothing else is walked.
 */

struct rec_options {
	const char *file;   /* the tdb file */
	unsigned hash_size; /* tdb hash buckets, for a new file */
	bool fresh;         /* discard an existing store and its log */
	/*
	 * The size a record is given when written to tdb, at least len (the
	 * rest zeros, up to 4096 more): room for it to grow in place. NULL: len.
	 */
	size_t (*room)(const unsigned char *key, size_t klen, const unsigned char *data, size_t len);
	/* Compaction (rec_background): off unless compact; its thresholds and slice. */
	bool compact;
	uint64_t compact_min_free;    /* bytes free in the store file, at least */
	unsigned compact_min_percent; /* and at least this much of it (its recovery area aside) */
	unsigned compact_slice_us;    /* work per slice */
};

/* What opening found. */
struct rec_opened {
	bool created;  /* the store file is new (or was empty) */
	size_t groups; /* groups read back from the log */
	uint64_t cut;  /* bytes of a last group that was not whole, dropped */
	uint64_t gen;  /* the generation recorded by the last checkpoint or group */
};

/* XSE_OK, or XSE_EIO with *reason (static): the store is then not opened. */
enum xs_err rec_open(const struct rec_options *o, struct rec_opened *out, const char **reason);
/* Checkpoint (so that the next start reads no log) and close. */
void rec_close(void);

typedef int (*rec_parser_fn)(TDB_DATA key, TDB_DATA data, void *ctx);
/* Hand the record's bytes to fn (as tdb_parse_record): 0 if found, -1 if absent. */
int rec_parse(TDB_DATA key, rec_parser_fn fn, void *ctx);
bool rec_exists(TDB_DATA key);
/* Every record: fn returns non-zero to stop. The number visited, or -1. No writes meanwhile. */
int rec_traverse(rec_parser_fn fn, void *ctx);

/*
 * Groups nest: each begin is a point an end with ok false goes back to
 * (everything since undone); the outermost end with ok true appends the
 * group to the log, recording gen, the store's generation. XSE_OK, or
 * XSE_ENOSPC (the file system is full, or a file size limit is reached)
 * or XSE_EIO, with the whole group undone.
 */
void rec_begin(void);
enum xs_err rec_end(bool ok, uint64_t gen);
/* Inside a group only. The record becomes the parts' bytes, one after another. */
enum xs_err rec_put(TDB_DATA key, const TDB_DATA *parts, int nparts);
enum xs_err rec_del(TDB_DATA key);
/* Whether a group is open. */
bool rec_in_group(void);
/*
 * A count of every change to the records (puts, deletes, undone groups,
 * a close): the same value twice means nothing was written in between.
 */
uint64_t rec_changes(void);

/*
 * Before anything is sent to a client: what groups were appended is made
 * durable (synced, unless on tmpfs). False while a group is open (then
 * nothing may be sent yet). A sync that fails ends the daemon: what was
 * acknowledged could not be made to last.
 */
bool rec_flush(void);
/* Apply the overlay to tdb and start the log afresh, when it has grown enough (or always, with force). */
enum xs_err rec_checkpoint(bool force);

/*
 * Compaction. tdb reuses the room of deleted records but never gives it
 * back. After each checkpoint (and at open) the store file's free space is
 * measured, in slices: tdb's free list, walked; records the overlay
 * deletes count too. Once it is at least compact_min_free bytes and
 * compact_min_percent of the file (tdb's recovery area, sized for its
 * largest transaction, aside), the store is copied into a new file
 * "<file>.compact" in slices: tdb's records as of the last checkpoint,
 * hash chain by hash chain (those the overlay changed passed by), then
 * every record of the overlay, and those changed meanwhile, until none is
 * left; meanwhile checkpoints wait (up to four times their threshold, or
 * the compaction is given up). Then, in one slice: the new file gets the
 * next checkpoint's number, is synced and renamed over the store, the
 * directory synced, the old file closed (its room goes back to the file
 * system), the overlay cleared and the log started afresh, as a checkpoint
 * does. Killed before the rename, the old file and the log are as they
 * were (the next start removes the new file); after it, the new file is
 * one checkpoint ahead of the log, which the start then knows was
 * checkpointed already. One slice of that work, or of the measure, or the
 * test whether one is due: true while more remains now. The daemon calls
 * it between turns of its loop, and now and then when idle.
 */
bool rec_background(void);

struct rec_space {
	bool measured;           /* the measure is whole (the numbers below are of it) */
	bool compacting;         /* a compaction is under way */
	uint64_t file_bytes;     /* the store file */
	uint64_t recovery_bytes; /* tdb's recovery area in it */
	uint64_t free_bytes;     /* free in it, and what the records the overlay deletes take */
	uint64_t compactions;    /* done since the start */
	uint64_t given_back;     /* bytes they gave back */
};
void rec_space(struct rec_space *s);

/* Sizes, for statistics: bytes held by the overlay, in the log, and the last checkpoint's number. */
struct rec_stats {
	size_t overlay_records, overlay_bytes;
	uint64_t log_bytes, checkpoints;
};
void rec_stats(struct rec_stats *s);
/* Bytes the store takes in files: tdb's and the log's (on tmpfs, memory). */
uint64_t rec_file_bytes(void);

#endif

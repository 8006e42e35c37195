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
 * Before anything is sent to a client: what groups were appended is made
 * durable (synced, unless on tmpfs). False while a group is open (then
 * nothing may be sent yet). A sync that fails ends the daemon: what was
 * acknowledged could not be made to last.
 */
bool rec_flush(void);
/* Apply the overlay to tdb and start the log afresh, when it has grown enough (or always, with force). */
enum xs_err rec_checkpoint(bool force);

/* Sizes, for statistics: bytes held by the overlay, in the log, and the last checkpoint's number. */
struct rec_stats {
	size_t overlay_records, overlay_bytes;
	uint64_t log_bytes, checkpoints;
};
void rec_stats(struct rec_stats *s);
/* Bytes the store takes in files: tdb's and the log's (on tmpfs, memory). */
uint64_t rec_file_bytes(void);

#endif

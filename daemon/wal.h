/* The write-ahead log: an append-only file of groups of record images, each ended by a checksum. */
#ifndef XSD_WAL_H
#define XSD_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The file "<store without .tdb>.wal" beside the store. It starts with a
 * header naming the checkpoint it follows (the number the store's tdb
 * records at each checkpoint); then groups, each:
 *
 *   u32 magic WAL_GROUP_MAGIC, u32 body length, u64 checkpoint, u64 group
 *   number (1, 2, ... since the checkpoint), u64 the store's generation
 *   after the group; the body; u32 CRC-32C of all that.
 *
 * The body is the group's records as they are after it: per record u8
 * WAL_PUT or WAL_DEL, u32 key length, the key, and for WAL_PUT u32 length
 * and the bytes. Integers are little-endian.
 *
 * A group is copied into the file at once (see wal.c); one that is not whole (a kill in
 * the middle of it), fails its checksum or does not follow the one before
 * was never acknowledged: reading stops there and the file is cut.
 */
#define WAL_PUT 1u
#define WAL_DEL 2u
#define WAL_GROUP_HEAD 32u
#define WAL_GROUP_TAIL 4u

/*
 * Open or create the log of store_file. *ckpt is the checkpoint its header
 * names (a new or empty log is given new_ckpt). 0, or -1 with *reason.
 */
int wal_open(const char *store_file, bool fresh, uint64_t new_ckpt, uint64_t *ckpt,
	     const char **reason);
void wal_close(void);
/* Whether appends must be synced before they count (not on tmpfs or ramfs, which power takes anyway). */
bool wal_syncs(void);
/* Bytes of groups in the file (0 after a reset). */
uint64_t wal_bytes(void);

/*
 * Frame a group in buf, whose first WAL_GROUP_HEAD bytes were left for the
 * header and whose body follows; WAL_GROUP_TAIL bytes of room must follow
 * the body. Returns the whole length.
 */
size_t wal_frame(unsigned char *buf, size_t body_len, uint64_t gen);
/*
 * Append a framed group: 0, or an errno with the file as it was (nothing
 * of the group stays). Not synced: wal_sync does that.
 */
int wal_append(const unsigned char *buf, size_t len);
/* fdatasync what was appended, where it matters; 0 or an errno. */
int wal_sync(void);
/* Start afresh after checkpoint ckpt: only a header naming it stays. 0 or an errno. */
int wal_reset(uint64_t ckpt);
/* fsync the directory of the log and the store (a rename there made durable), where it matters: 0, or -1 with errno. */
int wal_sync_dir(void);
/* Bytes free for the daemon in that directory's file system (0 if unknown). */
uint64_t wal_dir_avail(void);

/*
 * Read the groups back in order: fn gets each whole group's body and the
 * generation it recorded; a non-zero return stops the reading (returned).
 * What follows the last whole group is cut off (*cut bytes of it).
 */
typedef int (*wal_group_fn)(void *ctx, const unsigned char *body, size_t len, uint64_t gen);
int wal_replay(wal_group_fn fn, void *ctx, size_t *groups, uint64_t *cut);

/*
 * The record at *pos of a group's body of len bytes: 1, with its op, its
 * key and (WAL_PUT) its bytes pointing into body and *pos moved past it;
 * 0 at the end; -1 if malformed. Pure: reads nothing outside body.
 */
static inline int wal_record_next(const unsigned char *body, size_t len, size_t *pos, unsigned *op,
				  const unsigned char **key, uint32_t *klen, const unsigned char **data,
				  uint32_t *dlen)
{
	const unsigned char *p = body + *pos, *end = body + len;

	if (*pos >= len)
		return 0;
	if (end - p < 5 || (*p != WAL_PUT && *p != WAL_DEL))
		return -1;
	*op = *p;
	*klen = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
	p += 5;
	if ((size_t)(end - p) < *klen)
		return -1;
	*key = p;
	p += *klen;
	*data = NULL;
	*dlen = 0;
	if (*op == WAL_PUT) {
		if (end - p < 4)
			return -1;
		*dlen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		p += 4;
		if ((size_t)(end - p) < *dlen)
			return -1;
		*data = p;
		p += *dlen;
	}
	*pos = (size_t)(p - body);
	return 1;
}

/* CRC-32C (Castagnoli), continuing from crc (0 to start). */
uint32_t wal_crc32c(uint32_t crc, const void *p, size_t len);

/*
 * Tests only: the environment variable XENSTORED_TEST_CRASH makes the
 * daemon _exit(99) at a chosen point of its writes, as a kill would:
 * "log:N" once the Nth byte appended to the log since the start is
 * written (the group holding it is cut after it), "ckpt:N" before the Nth step of
 * checkpoints (each record written or deleted in tdb, the tdb commit,
 * and the reset of the log are steps), "compact:N" before the Nth step of
 * compactions (rec.h: each hash chain copied, each record of the overlay
 * written, then the checkpoint record and sync, the rename, the clearing
 * of the overlay, and the reset of the log).
 */
void wal_crash_point_ckpt(void);
void wal_crash_point_compact(void);

#endif

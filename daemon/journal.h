/* The commit journal: the last commit's changes, made durable in a small tdb before the store changes. */
#ifndef XSD_JOURNAL_H
#define XSD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/wire.h"

/*
 * The journal file beside the store file: "<store without .tdb>-journal.tdb".
 * fresh discards an existing one. XSE_OK or XSE_EIO with *reason.
 */
enum xs_err journal_open(const char *store_file, bool fresh, const char **reason);
void journal_close(void);
/* Whether commits sync to disk: not on tmpfs or ramfs, where a power cut takes the file anyway. */
bool journal_syncs(void);
/* Replace the journal's entry with (seq, data) in one tdb transaction. */
enum xs_err journal_put(uint64_t seq, const void *data, size_t len);
/* 1 with the entry (*data malloc'd, the caller frees), 0 if there is none, -1 if unreadable. */
int journal_get(uint64_t *seq, void **data, size_t *len);

#endif

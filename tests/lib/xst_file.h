/* Tests' look at files the daemon writes. */
#ifndef XST_FILE_H
#define XST_FILE_H

/*
 * Where what was written to a file ends: past its last byte that is not
 * zero (the write-ahead log allocates room ahead, zeros, so its size says
 * nothing). -1 if it cannot be read.
 */
long long xst_file_written_end(const char *path);

#endif

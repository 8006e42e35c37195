/* Tests' look at files the daemon writes, and copies of them. */
#ifndef XST_FILE_H
#define XST_FILE_H

/*
 * Where what was written to a file ends: past its last byte that is not
 * zero (the write-ahead log allocates room ahead, zeros, so its size says
 * nothing). -1 if it cannot be read.
 */
long long xst_file_written_end(const char *path);
/* Copy file from over to (made or emptied first): 0, or -1 with errno. */
int xst_file_copy(const char *from, const char *to);

#endif

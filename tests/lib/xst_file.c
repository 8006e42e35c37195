/* Tests' look at files the daemon writes: where their writing ends. */
#include "xst_file.h"

#include <fcntl.h>
#include <unistd.h>

long long xst_file_written_end(const char *path)
{
	unsigned char b[4096];
	long long at = 0, last = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (b[i])
				last = at + i + 1;
		at += n;
	}
	close(fd);
	return n < 0 ? -1 : last;
}

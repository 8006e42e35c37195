/* Tests' look at files the daemon writes: where their writing ends; copies of them. */
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

int xst_file_copy(const char *from, const char *to)
{
	char b[65536];
	ssize_t n = 0;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, b, sizeof(b))) > 0)
		if (write(out, b, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	return close(out) != 0 || n < 0 ? -1 : 0;
}

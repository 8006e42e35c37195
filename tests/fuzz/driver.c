/* A stand-in for libFuzzer's main, so make check runs every harness with gcc alone: replay, then mutate. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "tests/lib/xst_fuzz.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

/*
 *   fuzz_NAME [-runs=N] [-max_len=N] DIR|FILE...
 * runs the harness on every file given and every file of every directory
 * given (in name order), then on N mutants of them: each a copy of one of
 * them, or of the last mutant, changed 1 to 8 times, at most max_len bytes
 * long (flags named as libFuzzer's, so that make passes both the same). The mutants come from
 * XST_FUZZ_SEED (a fixed seed without it), printed on the summary line, so
 * a failure is reproducible; the failing input is also saved as
 * <program>.failed, and `fuzz_NAME <program>.failed` replays it (so does
 * the libFuzzer build).
 */

struct input {
	uint8_t *data;
	size_t size;
};

static struct input *pool;
static size_t npool;
static size_t max_len = 4096; /* libFuzzer's default */

/* The input being run, and where it goes if the run dies (set up before any run). */
static const uint8_t *current;
static size_t current_size;
static char saved_path[PATH_MAX];
static char saved_msg[PATH_MAX * 2 + 64];

/* Only async-signal-safe calls: it runs from a signal handler or a sanitizer's death. */
static void save_current(void)
{
	int fd = open(saved_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, current, current_size) < 0)
			saved_msg[0] = '\0';
		close(fd);
	}
	if (write(STDERR_FILENO, saved_msg, strlen(saved_msg)) < 0)
		return;
}

static void on_fatal(int sig)
{
	save_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_failures(const char *prog)
{
	snprintf(saved_path, sizeof(saved_path), "%s.failed", prog);
	snprintf(saved_msg, sizeof(saved_msg), "failing input saved; replay: %s %s\n", prog,
		 saved_path);
	signal(SIGABRT, on_fatal); /* FUZZ_CHECK */
#ifdef __SANITIZE_ADDRESS__
	/* The sanitizers report memory errors themselves, then call this. */
	__sanitizer_set_death_callback(save_current);
#else
	signal(SIGSEGV, on_fatal);
	signal(SIGBUS, on_fatal);
	signal(SIGFPE, on_fatal);
#endif
}

static void run(const uint8_t *data, size_t size)
{
	/* Exact size, like libFuzzer: a harness reading past the input is caught by ASan. */
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	current = copy;
	current_size = size;
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
}

static void add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	struct input *in;

	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	pool = realloc(pool, (npool + 1) * sizeof(*pool));
	in = &pool[npool++];
	in->size = (size_t)st.st_size;
	in->data = malloc(in->size ? in->size : 1);
	if (fread(in->data, 1, in->size, f) != in->size) {
		fprintf(stderr, "%s: short read\n", path);
		exit(2);
	}
	fclose(f);
}

static void add_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char file[PATH_MAX];

		snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(file, &st) == 0 && S_ISREG(st.st_mode))
			add_file(file);
		free(names[i]);
	}
	free(names);
}

/* Values at the protocol's edges: lengths around 16, 1024, 4096, signs, ends of ranges. */
static const uint32_t edge_words[] = {
	0, 1, 15, 16, 17, 1023, 1024, 1025, 4095, 4096, 4097, 4112,
	0x7fff, 0xffff, 0x7fffffff, 0x80000000u, 0xfffffc00u, 0xffffffffu,
};
static const uint8_t edge_bytes[] = {0, 0xff, 0x7f, 0x80, '/', '@', '-', '+', ' ', '0',
				     '9', 'x', 'n', 'r', 'w', 'b', 'a', '_'};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Make room for n bytes at off (n fits: callers clamp to max_len). */
static void open_gap(uint8_t *buf, size_t *size, size_t off, size_t n)
{
	memmove(buf + off + n, buf + off, *size - off);
	*size += n;
}

static void mutate_once(struct xst_fuzz *r, uint8_t *buf, size_t *size)
{
	size_t off = *size ? xst_fuzz_pick(r, (unsigned)*size) : 0;
	size_t room = max_len - *size, n;
	const struct input *other;

	switch (xst_fuzz_pick(r, 8)) {
	case 0: /* flip a bit */
		if (*size)
			buf[off] ^= (uint8_t)(1u << xst_fuzz_pick(r, 8));
		break;
	case 1: /* any byte, or one at an edge */
		if (*size)
			buf[off] = xst_fuzz_pick(r, 2) ? (uint8_t)xst_fuzz_rand(r)
						       : edge_bytes[xst_fuzz_pick(r, COUNT(edge_bytes))];
		break;
	case 2: /* an edge word, as a header field or a ring index would hold it */
		if (*size >= 4) {
			uint32_t w = edge_words[xst_fuzz_pick(r, COUNT(edge_words))];

			off = xst_fuzz_pick(r, 2) ? off & ~(size_t)3 : off;
			if (off > *size - 4)
				off = *size - 4;
			memcpy(buf + off, &w, 4);
		}
		break;
	case 3: /* a run of one byte, short or long enough to cross a limit */
		n = 1 + xst_fuzz_pick(r, xst_fuzz_pick(r, 4) ? 16 : 4200);
		n = n < room ? n : room;
		open_gap(buf, size, off, n);
		memset(buf + off, xst_fuzz_pick(r, 2) ? edge_bytes[xst_fuzz_pick(r, COUNT(edge_bytes))]
						      : (uint8_t)xst_fuzz_rand(r),
		       n);
		break;
	case 4: /* cut a piece out */
		if (*size) {
			n = 1 + xst_fuzz_pick(r, (unsigned)(*size - off));
			memmove(buf + off, buf + off + n, *size - off - n);
			*size -= n;
		}
		break;
	case 5: /* repeat a piece of itself elsewhere */
		if (*size) {
			size_t from = xst_fuzz_pick(r, (unsigned)*size);

			n = 1 + xst_fuzz_pick(r, (unsigned)(*size - from));
			n = n < room ? n : room;
			open_gap(buf, size, off, n);
			memmove(buf + off, buf + from + (from >= off ? n : 0), n);
		}
		break;
	default: /* splice in a piece of another input */
		other = &pool[xst_fuzz_pick(r, (unsigned)npool)];
		if (other->size) {
			size_t from = xst_fuzz_pick(r, (unsigned)other->size);

			n = 1 + xst_fuzz_pick(r, (unsigned)(other->size - from));
			n = n < room ? n : room;
			if (xst_fuzz_pick(r, 2))
				open_gap(buf, size, off, n);
			else if (off + n > *size)
				*size = off + n;
			memcpy(buf + off, other->data + from, n);
		}
		break;
	}
}

int main(int argc, char **argv)
{
	uint8_t *buf;
	unsigned long runs = 0;
	uint64_t seed = xst_fuzz_env_seed();
	struct xst_fuzz r;
	struct timespec t0, t1;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	size_t size = 0, ninputs;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-runs=", 6) == 0)
			runs = strtoul(argv[i] + 6, NULL, 10);
		else if (strncmp(argv[i], "-max_len=", 9) == 0)
			max_len = strtoul(argv[i] + 9, NULL, 10);
		else if (argv[i][0] == '-')
			fprintf(stderr, "%s: %s ignored (only -runs and -max_len here)\n", name, argv[i]);
		else
			add_path(argv[i]);
	}
	ninputs = npool;
	if (!npool) {
		/* Nothing to start from: mutate the empty input. */
		pool = calloc(1, sizeof(*pool));
		pool->data = malloc(1);
		npool = 1;
	}
	buf = malloc(max_len ? max_len : 1);
	catch_failures(argv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < ninputs; i++)
		run(pool[i].data, pool[i].size);

	xst_fuzz_seed(&r, seed);
	for (unsigned long i = 0; i < runs; i++) {
		/* Mostly a fresh copy of an input; sometimes the last mutant again, to go deeper. */
		if (i == 0 || xst_fuzz_pick(&r, 4) != 0) {
			const struct input *in = &pool[xst_fuzz_pick(&r, (unsigned)npool)];

			size = in->size < max_len ? in->size : max_len;
			memcpy(buf, in->data, size);
		}
		for (unsigned k = 1 + xst_fuzz_pick(&r, 8); k > 0; k--)
			mutate_once(&r, buf, &size);
		run(buf, size);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(buf);
	printf("%s: %zu inputs replayed, %lu mutants run (seed %llu; XST_FUZZ_SEED=N for another), "
	       "%.2f s: ok\n",
	       name, ninputs, runs, (unsigned long long)seed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

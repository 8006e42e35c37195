/*
 * Helper of the operations tests.
 *
 *   opsprobe ask SOCKET
 *       One DIRECTORY "/" request on the daemon's socket: exit 0 if it is
 *       answered within 5 s.
 *   opsprobe notify [-d] NAME SOCKET CMD [ARG...]
 *       A service manager's side of sd_notify: bind a datagram socket NAME
 *       (a path, or @name for an abstract one), run CMD with NOTIFY_SOCKET
 *       set, and when READY=1 arrives ask SOCKET at once: it must answer. The
 *       message's MAINPID must be CMD's pid (-d: daemon mode, CMD exits 0 and
 *       MAINPID is the daemon it left). Then SIGTERM to MAINPID must bring
 *       STOPPING=1 and the daemon's end. Prints what it sees; exit 0 if all held.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XS_DIRECTORY 1

static int fail(const char *what)
{
	fprintf(stderr, "opsprobe: %s\n", what);
	return 1;
}

static int ask(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	uint32_t hdr[4] = {XS_DIRECTORY, 7, 0, 2};
	char buf[16 + 4096];
	size_t got = 0;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail("socket path too long");
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "opsprobe: connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + 16, "/", 2);
	if (write(fd, buf, 18) != 18)
		return fail("cannot send the request");
	while (got < 16) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n <= 0)
			return fail("no answer on the socket");
		got += (size_t)n;
	}
	memcpy(hdr, buf, sizeof(hdr));
	close(fd);
	if (hdr[0] != XS_DIRECTORY || hdr[1] != 7)
		return fail("unexpected answer");
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The next datagram within the deadline, NUL-terminated; -1 on timeout. */
static int next_message(int fd, char *buf, size_t size, double deadline)
{
	while (now() < deadline) {
		struct timeval tv = {0, 100000};
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, size - 1, 0);
		if (n >= 0) {
			buf[n] = '\0';
			return 0;
		}
	}
	return -1;
}

static long field(const char *msg, const char *key)
{
	const char *p = strstr(msg, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int notify(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int daemon_mode = 0, fd, st, rc = 0;
	const char *name, *sock;
	char msg[4096];
	pid_t child, main_pid;
	socklen_t len;
	double deadline;

	if (argc > 0 && !strcmp(argv[0], "-d")) {
		daemon_mode = 1;
		argc--;
		argv++;
	}
	if (argc < 3)
		return fail("usage: opsprobe notify [-d] NAME SOCKET CMD [ARG...]");
	name = argv[0];
	sock = argv[1];
	if (strlen(name) >= sizeof(sa.sun_path))
		return fail("notify socket name too long");
	strcpy(sa.sun_path, name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		unlink(name);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
		return fail("cannot bind the notify socket");
	setenv("NOTIFY_SOCKET", name, 1);
	child = fork();
	if (child == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	deadline = now() + 30;
	for (;;) {
		if (next_message(fd, msg, sizeof(msg), deadline) < 0) {
			kill(child, SIGKILL);
			return fail("no READY=1 within 30 s");
		}
		if (strstr(msg, "READY=1"))
			break;
	}
	/* Ready means serving: the socket must answer now, not a moment later. */
	if (ask(sock) != 0) {
		printf("READY=1 but the socket does not answer\n");
		rc = 1;
	} else {
		printf("READY=1: the socket answers\n");
	}
	main_pid = (pid_t)field(msg, "MAINPID=");
	if (daemon_mode) {
		if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("the starting process did not exit 0\n");
			rc = 1;
		}
		if (main_pid <= 0 || main_pid == child || kill(main_pid, 0) < 0) {
			printf("MAINPID %ld is not the live daemon\n", (long)main_pid);
			return 1;
		}
		printf("daemon mode: the starter exited 0, MAINPID is the daemon\n");
	} else if (main_pid != child) {
		printf("MAINPID %ld is not the daemon's pid %ld\n", (long)main_pid, (long)child);
		rc = 1;
	} else {
		printf("MAINPID is the daemon\n");
	}
	kill(main_pid > 0 ? main_pid : child, SIGTERM);
	deadline = now() + 10;
	for (;;) {
		if (next_message(fd, msg, sizeof(msg), deadline) < 0) {
			printf("no STOPPING=1 after SIGTERM\n");
			rc = 1;
			break;
		}
		if (strstr(msg, "STOPPING=1")) {
			printf("STOPPING=1 on SIGTERM\n");
			break;
		}
	}
	if (!daemon_mode) {
		if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("the daemon did not exit 0\n");
			rc = 1;
		}
	} else {
		for (int i = 0; i < 100 && kill(main_pid, 0) == 0; i++)
			usleep(50000);
		if (kill(main_pid, 0) == 0) {
			kill(main_pid, SIGKILL);
			printf("the daemon did not stop\n");
			rc = 1;
		}
	}
	if (name[0] != '@')
		unlink(name);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "ask"))
		return ask(argv[2]);
	if (argc > 2 && !strcmp(argv[1], "notify"))
		return notify(argc - 2, argv + 2);
	return fail("usage: opsprobe ask SOCKET | opsprobe notify [-d] NAME SOCKET CMD [ARG...]");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/tools/notify_listen.c - stand-in for systemd's notification socket.
 *
 *   notify_listen SOCKET [TIMEOUT_S]
 *
 * Binds an AF_UNIX datagram socket at SOCKET and prints every assignment of
 * every datagram received ("READY=1", "STATUS=...") on its own line, flushed.
 * Exits 0 after STOPPING=1 has been received (and a short grace period for a
 * trailing message), or 1 when TIMEOUT_S (default 30) passes first.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa;
	long long deadline, stop_at = -1;
	int fd, rc = 1;

	if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify_listen SOCKET [TIMEOUT_S]\n");
		return 2;
	}
	deadline = now_ms() + (argc > 2 ? atoll(argv[2]) : 30) * 1000;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("bind");
		return 2;
	}
	for (;;) {
		long long now = now_ms(), until = stop_at >= 0 ? stop_at : deadline;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char buf[4096];
		ssize_t n;

		if (now >= until) {
			rc = stop_at >= 0 ? 0 : 1;
			break;
		}
		if (poll(&p, 1, (int)(until - now)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("recv");
			break;
		}
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			printf("%s\n", line);
			if (strcmp(line, "STOPPING=1") == 0 && stop_at < 0)
				stop_at = now_ms() + 200;
		}
		fflush(stdout);
	}
	close(fd);
	unlink(argv[1]);
	return rc;
}

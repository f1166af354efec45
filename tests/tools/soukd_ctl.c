/*
 * tests/tools/soukd_ctl.c - minimal control-socket client for tests.
 *
 *   soukd_ctl [options] SOCKET COMMAND [ARGS...]
 *     -g KEY     print only the value of KEY (dotted for nested objects,
 *                e.g. last_reload.result); strings unquoted
 *     -t SEC     timeout for connect + answer (default 10)
 *     -L BYTES   send a request of BYTES 'x' characters instead (no newline
 *                until the end) to test the size bound
 *     -H N       first open N idle connections and keep them open
 *
 * Prints the reply line. Exit 0 when the reply says "ok": true, 1 when it
 * says false, 2 on connection or protocol trouble.
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

#include <jansson.h>

static int connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *key = NULL;
	int timeout_s = 10, hold = 0, c, fd, *held = NULL;
	long big = -1;
	char *req = NULL, reply[65536];
	size_t rlen = 0, have = 0;

	while ((c = getopt(argc, argv, "g:t:L:H:")) != -1) {
		switch (c) {
		case 'g': key = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'L': big = atol(optarg); break;
		case 'H': hold = atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind < 1 || (big < 0 && argc - optind < 2)) {
		fprintf(stderr, "usage: soukd_ctl [-g KEY] [-t SEC] [-L BYTES] [-H N] SOCKET "
				"COMMAND [ARGS...]\n");
		return 2;
	}
	held = calloc((size_t)hold + 1, sizeof(int));
	for (int i = 0; i < hold; i++)
		if ((held[i] = connect_to(argv[optind])) < 0) {
			perror("connect");
			return 2;
		}
	if (hold > 0)
		usleep(200000); /* let the daemon accept them */
	fd = connect_to(argv[optind]);
	if (fd < 0) {
		perror("connect");
		return 2;
	}
	if (big >= 0) {
		req = malloc((size_t)big + 2);
		memset(req, 'x', (size_t)big);
		req[big] = '\n';
		rlen = (size_t)big + 1;
	} else {
		size_t cap = 1;
		for (int i = optind + 1; i < argc; i++)
			cap += strlen(argv[i]) + 1;
		req = calloc(1, cap + 1);
		for (int i = optind + 1; i < argc; i++) {
			strcat(req, argv[i]);
			strcat(req, i + 1 < argc ? " " : "\n");
		}
		rlen = strlen(req);
	}
	/* a request over the limit may be cut off by the server mid-send */
	send_all(fd, req, rlen);

	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (have < sizeof(reply) - 1 && memchr(reply, '\n', have) == NULL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_s * 1000L -
		       ((t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "soukd_ctl, no answer in %d s\n", timeout_s);
			return 2;
		}
		ssize_t n = recv(fd, reply + have, sizeof(reply) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	reply[have] = '\0';
	char *nl = strchr(reply, '\n');
	if (nl == NULL) {
		fprintf(stderr, "soukd_ctl, incomplete answer '%s'\n", reply);
		return 2;
	}
	*nl = '\0';

	json_error_t jerr;
	json_t *root = json_loads(reply, 0, &jerr), *v;
	if (root == NULL) {
		fprintf(stderr, "soukd_ctl, answer is not JSON: %s\n", reply);
		return 2;
	}
	int ok = json_is_true(json_object_get(root, "ok"));
	if (key == NULL) {
		printf("%s\n", reply);
	} else {
		/* walk nested objects; a key may itself contain dots
		 * (items.fcgi.threads): the longest existing key wins */
		char *k = strdup(key), *rest = k;
		v = root;
		while (v != NULL && rest != NULL) {
			json_t *whole = json_object_get(v, rest);
			char *dot;
			if (whole != NULL) {
				v = whole;
				break;
			}
			dot = strchr(rest, '.');
			if (dot == NULL) {
				v = NULL;
				break;
			}
			*dot = '\0';
			v = json_object_get(v, rest);
			rest = dot + 1;
		}
		if (v == NULL) {
			fprintf(stderr, "soukd_ctl, no '%s' in %s\n", key, reply);
			return 2;
		}
		if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else {
			char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			printf("%s\n", s);
			free(s);
		}
		free(k);
	}
	json_decref(root);
	close(fd);
	for (int i = 0; i < hold; i++)
		close(held[i]);
	free(held);
	free(req);
	return ok ? 0 : 1;
}

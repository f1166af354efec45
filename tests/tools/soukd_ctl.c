/* SPDX-License-Identifier: Apache-2.0 */
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
 * says false, 2 on connection or protocol trouble. Connects, sends and reads
 * through daemon/ctl_client.h, the client soukctl uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/ctl_client.h"

int main(int argc, char **argv)
{
	const char *key = NULL;
	int timeout_s = 10, hold = 0, c, fd, *held = NULL;
	long big = -1;
	char *req = NULL, reply[65536];
	size_t rlen = 0, have = 0;
	int rc;

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
		if ((rc = ctl_client_connect(argv[optind], (uint64_t)timeout_s * 1000, &held[i])) !=
		    0) {
			fprintf(stderr, "soukd_ctl, connect: %s\n", ctl_client_strerror(rc));
			return 2;
		}
	if (hold > 0)
		usleep(200000); /* let the daemon accept them */
	if ((rc = ctl_client_connect(argv[optind], (uint64_t)timeout_s * 1000, &fd)) != 0) {
		fprintf(stderr, "soukd_ctl, connect: %s\n", ctl_client_strerror(rc));
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
	ctl_client_send(fd, req, rlen);
	rc = ctl_client_read_line(fd, (uint64_t)timeout_s * 1000, reply, sizeof(reply), &have);
	if (rc != 0) {
		fprintf(stderr, "soukd_ctl, no answer (%s, timeout %d s)\n",
			ctl_client_strerror(rc), timeout_s);
		return 2;
	}

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

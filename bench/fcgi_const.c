/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_const - the FastCGI ceiling for benchmarks: a libfcgi responder with
 * the same thread model as souk-fcgi (FCGX_Accept_r per thread on one
 * socket) that answers every request with a constant JSON body of a given
 * size. Whatever souk-fcgi does beyond this is the cost of souk itself.
 *
 *   fcgi_const --listen unix:/path|127.0.0.1:PORT [--threads N] [--size BYTES]
 *
 * Without --listen it serves the socket on fd 0 (spawn-fcgi). SIGTERM or
 * SIGINT ends it (exit 0): the request threads start with both blocked (no
 * signal mask change per request, like souk-fcgi), the main thread waits for
 * them with sigwait() and exits; a benchmark ceiling has no requests worth
 * draining, and threads blocked in accept() or on a kept connection would
 * not notice FCGX_ShutdownPending().
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

static int listen_fd;
static char *head;
static size_t head_len;
static char *body;
static size_t body_len;

static void *serve(void *arg)
{
	FCGX_Request rq;
	(void)arg;
	if (FCGX_InitRequest(&rq, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&rq) >= 0) {
		/* drain any request body so a kept connection stays in sync */
		char sink[4096];
		while (FCGX_GetStr(sink, sizeof(sink), rq.in) > 0)
			;
		FCGX_PutStr(head, (int)head_len, rq.out);
		FCGX_PutStr(body, (int)body_len, rq.out);
		FCGX_Finish_r(&rq);
	}
	FCGX_Free(&rq, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_addr = NULL;
	long threads = 8, size = 512;
	int c;
	while ((c = getopt_long(argc, argv, "l:t:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_addr = optarg; break;
		case 't': threads = strtol(optarg, NULL, 10); break;
		case 's': size = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: fcgi_const [--listen unix:/path|127.0.0.1:PORT] "
					"[--threads N] [--size BYTES]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (threads < 1 || threads > 1024 || size < 2 || size > (64L << 20)) {
		fprintf(stderr, "fcgi_const, --threads must be 1..1024 and --size 2..64M\n");
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	if (listen_addr != NULL) {
		const char *p = strncmp(listen_addr, "unix:", 5) == 0 ? listen_addr + 5 : listen_addr;
		if (p != listen_addr)
			unlink(p);
		listen_fd = FCGX_OpenSocket(p, 1024);
		if (listen_fd < 0) {
			fprintf(stderr, "fcgi_const, cannot listen on '%s' (%s)\n", listen_addr,
				strerror(errno));
			return 1;
		}
	}
	/* a JSON string of the requested size: "xxxx...x" */
	body = malloc((size_t)size);
	head = malloc(256);
	if (body == NULL || head == NULL)
		return 1;
	memset(body, 'x', (size_t)size);
	body[0] = '"';
	body[size - 1] = '"';
	body_len = (size_t)size;
	head_len = (size_t)snprintf(head, 256,
				    "Status: 200 OK\r\nContent-Type: application/json\r\n"
				    "Content-Length: %zu\r\n\r\n",
				    body_len);
	signal(SIGPIPE, SIG_IGN);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* inherited by the threads */
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	if (t == NULL)
		return 1;
	for (long i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, serve, NULL) != 0)
			return 1;
	int sig = 0;
	if (sigwait(&stop, &sig) != 0)
		return 1;
	if (listen_addr != NULL && strncmp(listen_addr, "unix:", 5) == 0)
		unlink(listen_addr + 5);
	_exit(0); /* threads may sit in accept() or read(): do not join them */
}

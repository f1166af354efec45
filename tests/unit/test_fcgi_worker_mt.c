/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_fcgi_worker_mt.c - the libfcgi request loop (worker_run)
 * on a real UNIX socket, spoken to by a minimal FastCGI client the way nginx
 * does with fastcgi_keep_conn: many requests on one connection, socket
 * timeouts for stuck clients (also on a connection that reuses the fd
 * number of a closed kept one), and SIGTERM stopping idle threads. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcgiapp.h>

#include "common/util.h"
#include "fcgi/api.h"
#include "fcgi/worker.h"
#include "shm/shm.h"
#include "store/store.h"

#define SECRET "0123456789abcdef-secret"
#define WAIT_MS 10000 /* bound on any wait for the worker; never a speed assert */

/* libfcgi's shutdown flag (FCGX_ShutdownPending) cannot be cleared, so every
 * test runs worker_run in a child process of its own; the child checks
 * with CHECK (message, exit 1) and the test asserts it exited 0. */
#define CHECK(x)                                                                       \
	do {                                                                           \
		if (!(x)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#x);                                                   \
			_exit(1);                                                      \
		}                                                                      \
	} while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_NN(p) CHECK((p) != NULL)

typedef struct {
	char dir[64], db[96], inst[64], sock[128];
	store_t *s;
	shm_ctl_t *ctl;
	api_t api;
	worker_opts_t wo;
	pthread_t runner;
	int run_rc;
	bool running;
} fix_t;

static void *runner_main(void *arg)
{
	fix_t *f = arg;
	f->run_rc = worker_run(&f->api, &f->wo);
	return NULL;
}

/* start worker_run with `threads` threads in a thread of its own */
static fix_t *start(unsigned threads, uint64_t timeout_ms)
{
	static unsigned counter;
	uint32_t rnd = 0;
	fix_t *f = calloc(1, sizeof(*f));
	CHECK_NN(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/souk-worker-XXXXXX");
	CHECK_NN(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/db", f->dir);
	snprintf(f->sock, sizeof(f->sock), "%s/fcgi.sock", f->dir);
	store_opts_t o = { .map_size = 64u << 20 };
	CHECK_EQ(store_open(f->db, &o, &f->s), 0);
	souk_random(&rnd, sizeof(rnd));
	snprintf(f->inst, sizeof(f->inst), "souktest-wk-%d-%u-%08x", (int)getpid(), counter++, rnd);
	CHECK_EQ(shm_ctl_create(f->inst, 8, &f->ctl), 0);
	api_opts_t ao = { .instance = f->inst, .notify_path = "", .max_body = 4096,
			  .max_json_depth = 8, .min_seq_wait_ms = 50, .max_batch = 16 };
	CHECK_EQ(api_init(&f->api, &ao, f->s, SECRET, strlen(SECRET)), 0);
	CHECK_EQ(FCGX_Init(), 0);
	int lfd = FCGX_OpenSocket(f->sock, 16);
	CHECK(lfd >= 0);
	f->wo = (worker_opts_t){ .listen_fd = lfd, .threads = threads,
				 .request_timeout_ms = timeout_ms };
	/* the stop signals go to worker_run's sigtimedwait only */
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	sigaddset(&m, SIGINT);
	sigaddset(&m, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	CHECK_EQ(pthread_create(&f->runner, NULL, runner_main, f), 0);
	f->running = true;
	return f;
}

/* SIGTERM to worker_run; its return code */
static int stop(fix_t *f)
{
	CHECK_EQ(pthread_kill(f->runner, SIGTERM), 0);
	pthread_join(f->runner, NULL);
	f->running = false;
	return f->run_rc;
}

static void finish(fix_t *f)
{
	if (f->running)
		CHECK_EQ(stop(f), 0);
	close(f->wo.listen_fd);
	api_deinit(&f->api);
	shm_ctl_free(&f->ctl);
	shm_ctl_unlink(f->inst);
	store_close(&f->s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	CHECK_EQ(system(cmd), 0);
	free(f);
}

static int conn(const fix_t *f)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, f->sock, strlen(f->sock));
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		CHECK(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

/* read exactly n bytes; false on EOF/error; fails the test after WAIT_MS */
static bool recv_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		CHECK_EQ(poll(&pf, 1, WAIT_MS), 1);
		ssize_t r = recv(fd, c, n, 0);
		if (r <= 0)
			return false;
		c += r;
		n -= (size_t)r;
	}
	return true;
}

static size_t record(unsigned char *out, int type, const void *content, size_t len)
{
	out[0] = 1;
	out[1] = (unsigned char)type;
	out[2] = 0;
	out[3] = 1; /* request id 1 */
	out[4] = (unsigned char)(len >> 8);
	out[5] = (unsigned char)len;
	out[6] = 0;
	out[7] = 0;
	if (len > 0)
		memcpy(out + 8, content, len);
	return 8 + len;
}

static size_t param(unsigned char *p, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	p[0] = (unsigned char)nl;
	p[1] = (unsigned char)vl;
	memcpy(p + 2, name, nl);
	memcpy(p + 2 + nl, value, vl);
	return 2 + nl + vl;
}

/* send a request's records; with body_len > body bytes given, the rest is
 * never sent (a stuck client) */
static void send_request(int fd, const char *method, const char *uri, const char *body,
			 size_t sent_len, size_t body_len)
{
	unsigned char buf[4096], params[1024];
	unsigned char begin[8] = { 0, 1 /* responder */, 1 /* keep conn */, 0, 0, 0, 0, 0 };
	char cl[32];
	size_t n = 0, pl = 0;
	snprintf(cl, sizeof(cl), "%zu", body_len);
	pl += param(params + pl, "REQUEST_METHOD", method);
	pl += param(params + pl, "REQUEST_URI", uri);
	pl += param(params + pl, "CONTENT_LENGTH", cl);
	if (body_len > 0)
		pl += param(params + pl, "CONTENT_TYPE", "application/json");
	n += record(buf + n, 1, begin, sizeof(begin));
	n += record(buf + n, 4, params, pl);
	n += record(buf + n, 4, NULL, 0);
	if (sent_len > 0)
		n += record(buf + n, 5, body, sent_len);
	if (sent_len == body_len)
		n += record(buf + n, 5, NULL, 0);
	send_all(fd, buf, n);
}

typedef struct {
	char out[65536];
	size_t out_len;
	unsigned stdout_records; /* non-empty FCGI_STDOUT records */
	bool ended;              /* FCGI_END_REQUEST seen */
} answer_t;

/* read records up to FCGI_END_REQUEST; false when the connection ends first */
static bool read_answer(int fd, answer_t *a)
{
	memset(a, 0, sizeof(*a));
	for (;;) {
		unsigned char h[8], content[65536 + 256];
		if (!recv_all(fd, h, 8))
			return false;
		size_t len = ((size_t)h[4] << 8) | h[5], pad = h[6];
		if (!recv_all(fd, content, len + pad))
			return false;
		if (h[1] == 6 && len > 0) {
			CHECK(a->out_len + len <= sizeof(a->out));
			memcpy(a->out + a->out_len, content, len);
			a->out_len += len;
			a->stdout_records++;
		}
		if (h[1] == 3) {
			a->ended = true;
			return true;
		}
	}
}

/* a complete CGI answer: status line, headers, and a body of Content-Length */
static void assert_complete(const answer_t *a, const char *status)
{
	CHECK(a->ended);
	CHECK(a->out_len > 0);
	char *text = strndup(a->out, a->out_len);
	CHECK_NN(text);
	CHECK_NN(strstr(text, status));
	char *end = strstr(text, "\r\n\r\n");
	CHECK_NN(end);
	char *cl = strstr(text, "Content-Length: ");
	CHECK_NN(cl);
	CHECK(cl < end);
	size_t want = strtoul(cl + 16, NULL, 10);
	CHECK_EQ(a->out_len - (size_t)(end + 4 - text), want);
	free(text);
}

static void scenario_fcgi_worker_kept_connection_answers_each_request_in_one_record(void)
{
	fix_t *f = start(2, 5000);
	int fd = conn(f);
	answer_t *a = malloc(sizeof(*a));
	CHECK_NN(a);
	for (int i = 0; i < 5; i++) {
		send_request(fd, "GET", "/api/v1/products/no-such-id", NULL, 0, 0);
		CHECK(read_answer(fd, a));
		assert_complete(a, "Status: ");
		/* headers and body of a small answer go out together */
		CHECK_EQ(a->stdout_records, 1);
	}
	close(fd);
	free(a);
	finish(f);
}

static void scenario_fcgi_worker_stuck_client_times_out_and_frees_the_thread(void)
{
	fix_t *f = start(1, 200);
	answer_t *a = malloc(sizeof(*a));
	CHECK_NN(a);
	/* a kept connection serves a request and is closed by the client; the
	 * next connection likely gets the same fd number in the worker */
	int fd = conn(f);
	send_request(fd, "GET", "/api/v1/products/no-such-id", NULL, 0, 0);
	CHECK(read_answer(fd, a));
	close(fd);
	for (int round = 0; round < 2; round++) {
		/* a client that stops half way through its body: the only thread
		 * must give up on it (socket timeout) and close the connection */
		int stuck = conn(f);
		send_request(stuck, "POST", "/api/v1/products", "{\"sku\":", 7, 100);
		/* ...and serve the next client (without the timeout this waits
		 * for the stuck one forever and recv_all fails the test) */
		int next = conn(f);
		send_request(next, "GET", "/api/v1/products/no-such-id", NULL, 0, 0);
		CHECK(read_answer(next, a));
		assert_complete(a, "Status: ");
		close(next);
		close(stuck);
	}
	free(a);
	finish(f);
}

static void scenario_fcgi_worker_sigterm_wakes_idle_threads_and_returns_0(void)
{
	fix_t *f = start(4, 30000);
	answer_t *a = malloc(sizeof(*a));
	CHECK_NN(a);
	/* two idle kept connections, two threads idle in accept() */
	int k1 = conn(f), k2 = conn(f);
	send_request(k1, "GET", "/api/v1/products/no-such-id", NULL, 0, 0);
	CHECK(read_answer(k1, a));
	send_request(k2, "GET", "/api/v1/products/no-such-id", NULL, 0, 0);
	CHECK(read_answer(k2, a));
	/* returns well before the 30 s request timeout would free them */
	CHECK_EQ(stop(f), 0);
	/* the kept connections were closed by the worker */
	char c;
	struct pollfd pf = { .fd = k1, .events = POLLIN };
	CHECK_EQ(poll(&pf, 1, WAIT_MS), 1);
	CHECK(recv(k1, &c, 1, 0) <= 0);
	close(k1);
	close(k2);
	free(a);
	finish(f);
}

static void in_child(void (*scenario)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		scenario();
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_fcgi_worker_kept_connection_answers_each_request_in_one_record(void **state)
{
	(void)state;
	in_child(scenario_fcgi_worker_kept_connection_answers_each_request_in_one_record);
}

static void test_fcgi_worker_stuck_client_times_out_and_frees_the_thread(void **state)
{
	(void)state;
	in_child(scenario_fcgi_worker_stuck_client_times_out_and_frees_the_thread);
}

static void test_fcgi_worker_sigterm_wakes_idle_threads_and_returns_0(void **state)
{
	(void)state;
	in_child(scenario_fcgi_worker_sigterm_wakes_idle_threads_and_returns_0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fcgi_worker_kept_connection_answers_each_request_in_one_record),
		cmocka_unit_test(test_fcgi_worker_stuck_client_times_out_and_frees_the_thread),
		cmocka_unit_test(test_fcgi_worker_sigterm_wakes_idle_threads_and_returns_0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

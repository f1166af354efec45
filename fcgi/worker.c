#include "fcgi/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "fcgi/metrics.h"

#define WAKE_SIGNAL SIGUSR1

typedef struct {
	pthread_t thread;
	const worker_opts_t *opts;
	api_t *api;
	atomic_int idle;     /* 1 while waiting in FCGX_Accept_r */
	atomic_int finished; /* thread left its loop */
	bool started;
} wthread_t;

static atomic_int stop_flag;

static void on_wake(int sig)
{
	(void)sig; /* interrupts a blocking accept()/read() of an idle thread */
}

static void set_timeouts(int fd, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void clear_rcv_timeout(int fd)
{
	struct timeval tv = { 0, 0 };
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Read CONTENT_LENGTH bytes (at most max). *too_large when the body is
 * longer; the rest is drained so the connection stays usable. */
static int read_body(FCGX_Request *rq, arena_t *arena, uint64_t max, char **out, size_t *len,
		     bool *too_large)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", rq->envp);
	uint64_t want = 0;
	*out = NULL;
	*len = 0;
	*too_large = false;
	if (cl != NULL && cl[0] != '\0' && souk_parse_u64(cl, 0, UINT64_MAX, &want) != 0)
		return SOUK_EINVAL;
	if (want == 0)
		return 0;
	if (want > max) {
		char sink[16384];
		uint64_t left = want;
		*too_large = true;
		while (left > 0) {
			int n = FCGX_GetStr(sink, left > sizeof(sink) ? (int)sizeof(sink) : (int)left,
					    rq->in);
			if (n <= 0)
				break;
			left -= (uint64_t)n;
		}
		return 0;
	}
	char *buf = arena_alloc(arena, (size_t)want + 1);
	if (buf == NULL)
		return SOUK_ENOMEM;
	size_t got = 0;
	while (got < want) {
		int n = FCGX_GetStr(buf + got, (int)(want - got), rq->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != want)
		return -EIO;
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static int write_resp(FCGX_Request *rq, const api_resp_t *resp)
{
	/* libfcgi's own printf knows no %zu: format here, write with PutStr */
	char head[512];
	int n;
	FCGX_Stream *o = rq->out;
	if (resp->status != 204 && resp->content_type != NULL)
		n = snprintf(head, sizeof(head),
			     "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			     "Cache-Control: no-store\r\n",
			     resp->status, api_reason(resp->status), resp->content_type,
			     resp->body_len);
	else
		n = snprintf(head, sizeof(head), "Status: %d %s\r\nCache-Control: no-store\r\n",
			     resp->status, api_reason(resp->status));
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EIO;
	if (FCGX_PutStr(head, n, o) < 0)
		return -EIO;
	if (resp->headers.len > 0 && FCGX_PutStr(resp->headers.data, (int)resp->headers.len, o) < 0)
		return -EIO;
	if (FCGX_PutStr("\r\n", 2, o) < 0)
		return -EIO;
	if (!resp->head && resp->status != 204 && resp->body_len > 0 &&
	    FCGX_PutStr(resp->body, (int)resp->body_len, o) < 0)
		return -EIO;
	return 0;
}

static void serve(api_thread_t *th, FCGX_Request *rq)
{
	api_t *api = th->api;
	api_req_t req;
	api_resp_t resp;
	char **env = rq->envp;
	uint64_t t0 = souk_now_mono_ns();
	memset(&req, 0, sizeof(req));
	req.method = FCGX_GetParam("REQUEST_METHOD", env);
	req.uri = FCGX_GetParam("REQUEST_URI", env);
	if (req.uri == NULL) /* servers without REQUEST_URI */
		req.uri = FCGX_GetParam("SCRIPT_NAME", env);
	req.content_type = FCGX_GetParam("CONTENT_TYPE", env);
	req.if_match = FCGX_GetParam("HTTP_IF_MATCH", env);
	req.idem_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", env);
	req.authorization = FCGX_GetParam("HTTP_AUTHORIZATION", env);
	req.min_seq = FCGX_GetParam("HTTP_SOUK_MIN_SEQ", env);
	req.accept_language = FCGX_GetParam("HTTP_ACCEPT_LANGUAGE", env);
	req.reason = FCGX_GetParam("HTTP_X_SOUK_REASON", env);
	if (req.content_type != NULL && req.content_type[0] == '\0')
		req.content_type = NULL;

	char *body = NULL;
	int rc = read_body(rq, th->arena, api->opts.max_body, &body, &req.body_len,
			   &req.body_too_large);
	if (rc != 0) {
		shm_slot_t *slot = atomic_load(&api->slot);
		if (slot != NULL)
			shm_slot_count(slot, MET_REQ_ERRORS, 1);
		if (rc == -EIO) {
			api_finish(th); /* the client went away or timed out */
			return;
		}
	}
	req.body = body;
	api_handle(th, &req, &resp);
	if (write_resp(rq, &resp) != 0) {
		shm_slot_t *slot = atomic_load(&api->slot);
		if (slot != NULL)
			shm_slot_count(slot, MET_REQ_ERRORS, 1);
	}
	FCGX_FFlush(rq->out);
	api_finish(th);
	metrics_request(atomic_load(&api->slot), resp.route, resp.status,
			(souk_now_mono_ns() - t0) / 1000);
}

static void *thread_main(void *arg)
{
	wthread_t *w = arg;
	FCGX_Request rq;
	api_thread_t th;
	sigset_t wake;
	log_ratelimit_t rl = LOG_RATELIMIT_INIT(60, 5);
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIGNAL);

	if (FCGX_InitRequest(&rq, w->opts->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0 ||
	    api_thread_init(&th, w->api) != 0) {
		log_fcgi_err("cannot set up a request thread (out of memory)");
		atomic_store(&w->finished, 1);
		return NULL;
	}
	for (;;) {
		/* the wake signal may interrupt us only while idle */
		atomic_store(&w->idle, 1);
		pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
		if (atomic_load(&stop_flag)) {
			pthread_sigmask(SIG_BLOCK, &wake, NULL);
			break;
		}
		int rc = FCGX_Accept_r(&rq);
		pthread_sigmask(SIG_BLOCK, &wake, NULL);
		atomic_store(&w->idle, 0);
		if (rc < 0) {
			if (atomic_load(&stop_flag))
				break;
			uint32_t sup = 0;
			if (rc != -EINTR && log_ratelimit_ok(&rl, &sup))
				log_fcgi_warn("accept failed (%s)", souk_strerror(rc));
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		set_timeouts(rq.ipcFd, w->opts->request_timeout_ms);
		serve(&th, &rq);
		clear_rcv_timeout(rq.ipcFd);
		FCGX_Finish_r(&rq);
	}
	FCGX_Free(&rq, 1);
	api_thread_deinit(&th);
	atomic_store(&w->finished, 1);
	return NULL;
}

int worker_run(api_t *api, const worker_opts_t *opts)
{
	sigset_t mask, old;
	struct sigaction sa;
	int rc = 0;
	wthread_t *ws = calloc(opts->threads, sizeof(*ws));
	if (ws == NULL)
		return SOUK_ENOMEM;
	atomic_store(&stop_flag, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake; /* no SA_RESTART: blocking calls return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(WAKE_SIGNAL, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* threads start with the stop signals and the wake signal blocked */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &mask, &old);

	for (unsigned i = 0; i < opts->threads; i++) {
		ws[i].opts = opts;
		ws[i].api = api;
		int e = pthread_create(&ws[i].thread, NULL, thread_main, &ws[i]);
		if (e != 0) {
			log_fcgi_err("cannot start request thread %u (%s)", i, strerror(e));
			rc = -e;
			break;
		}
		ws[i].started = true;
	}

	sigset_t waitset;
	sigemptyset(&waitset);
	sigaddset(&waitset, SIGTERM);
	sigaddset(&waitset, SIGINT);
	sigaddset(&waitset, SIGHUP);
	while (rc == 0) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(&waitset, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			log_fcgi_info("SIGHUP ignored (settings need a restart)");
		api_housekeeping(api);
	}

	/* stop: no new requests, finish those in flight, wake idle threads */
	log_fcgi_info("stopping (finishing requests in flight)");
	atomic_store(&stop_flag, 1);
	FCGX_ShutdownPending();
	uint64_t deadline = souk_now_mono_ms() + opts->request_timeout_ms + 1000;
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < opts->threads; i++) {
			if (!ws[i].started || atomic_load(&ws[i].finished))
				continue;
			all = false;
			if (atomic_load(&ws[i].idle))
				pthread_kill(ws[i].thread, WAKE_SIGNAL);
		}
		if (all)
			break;
		if (souk_now_mono_ms() > deadline) {
			log_fcgi_warn("requests still running after the request timeout, "
				      "exiting anyway");
			/* threads still use ws and the api: the caller must exit
			 * without tearing them down */
			return SOUK_ETIMEOUT;
		}
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	for (unsigned i = 0; i < opts->threads; i++)
		if (ws[i].started)
			pthread_join(ws[i].thread, NULL);
	free(ws);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

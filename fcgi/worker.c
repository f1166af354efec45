/* SPDX-License-Identifier: Apache-2.0 */
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

/*
 * Waking idle threads without a signal mask change per request: the wake
 * signal stays unblocked in request threads for their whole life, and the
 * stopping thread sends it only to a thread that is idle (waiting in
 * FCGX_Accept_r), under the thread's mutex. A thread leaving FCGX_Accept_r
 * clears `idle` under the same mutex and then waits until every signal sent
 * to it has been delivered, so no wake signal can interrupt a request that
 * is being served (mutex operations are uncontended: no system call).
 */
typedef struct {
	pthread_t thread;
	const worker_opts_t *opts;
	api_t *api;
	pthread_mutex_t mu;
	bool idle;	       /* under mu: waiting in FCGX_Accept_r */
	unsigned sent;	       /* under mu: wake signals sent to the thread */
	atomic_uint delivered; /* wake signals its handler has run for */
	atomic_int finished;   /* thread left its loop */
	bool started;
} wthread_t;

static atomic_int stop_flag;
static _Atomic uint64_t longest_timeout_ms; /* any connection got, for the stop */
static _Thread_local wthread_t *tl_self;

static void on_wake(int sig)
{
	/* interrupts a blocking accept()/read() of an idle thread */
	(void)sig;
	if (tl_self != NULL)
		atomic_fetch_add(&tl_self->delivered, 1);
}

static void set_timeouts(int fd, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	static _Thread_local log_ratelimit_t rl = LOG_RATELIMIT_INIT(60, 5);
	uint32_t sup = 0;
	if (fd < 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
		return;
	/* a request without its timeout could pin this thread: end it */
	int e = errno;
	shutdown(fd, SHUT_RDWR);
	if (log_ratelimit_ok(&rl, &sup))
		log_fcgi_err("cannot set the request timeout, connection closed (%s; %u more "
			     "suppressed)",
			     strerror(e), sup);
}

static void set_idle(wthread_t *w, bool idle)
{
	unsigned sent;
	pthread_mutex_lock(&w->mu);
	w->idle = idle;
	sent = w->sent;
	pthread_mutex_unlock(&w->mu);
	if (idle)
		return;
	/* a wake signal sent just before `idle` was cleared must land now, not
	 * in the middle of the request */
	while (atomic_load(&w->delivered) != sent) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

/* Stopping thread: interrupt w if it is idle and has no signal pending. */
static void wake_if_idle(wthread_t *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->idle && atomic_load(&w->delivered) == w->sent &&
	    pthread_kill(w->thread, WAKE_SIGNAL) == 0)
		w->sent++;
	pthread_mutex_unlock(&w->mu);
}

/* Read CONTENT_LENGTH bytes (at most max). *too_large when the body is
 * longer; the rest is drained so the connection stays usable. */
static int read_body(FCGX_Request *rq, const char *cl, arena_t *arena, uint64_t max, char **out,
		     size_t *len, bool *too_large)
{
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
			int n = FCGX_GetStr(
			    sink, left > sizeof(sink) ? (int)sizeof(sink) : (int)left, rq->in);
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

/* Append s (len bytes) to head at *n if it fits; false when it does not. */
static bool head_add(char *head, size_t cap, size_t *n, const char *s, size_t len)
{
	if (len > cap - *n)
		return false;
	memcpy(head + *n, s, len);
	*n += len;
	return true;
}

static int write_resp(FCGX_Request *rq, const api_resp_t *resp)
{
	/* the status lines are assembled by hand: every request pays for them */
	char head[512], num[SOUK_U64_DEC_MAX];
	const char *reason = api_reason(resp->status);
	size_t n = 0, k;
	bool ok;
	FCGX_Stream *o = rq->out;
	k = souk_u64_dec(resp->status > 0 ? (uint64_t)resp->status : 500u, num);
	ok = head_add(head, sizeof(head), &n, "Status: ", 8) &&
	     head_add(head, sizeof(head), &n, num, k) && head_add(head, sizeof(head), &n, " ", 1) &&
	     head_add(head, sizeof(head), &n, reason, strlen(reason)) &&
	     head_add(head, sizeof(head), &n, "\r\n", 2);
	if (ok && resp->status != 204 && resp->content_type != NULL) {
		k = souk_u64_dec(resp->body_len, num);
		ok = head_add(head, sizeof(head), &n, "Content-Type: ", 14) &&
		     head_add(head, sizeof(head), &n, resp->content_type,
			      strlen(resp->content_type)) &&
		     head_add(head, sizeof(head), &n, "\r\nContent-Length: ", 18) &&
		     head_add(head, sizeof(head), &n, num, k) &&
		     head_add(head, sizeof(head), &n, "\r\n", 2);
	}
	const char *cc = resp->cache_control != NULL ? resp->cache_control : "no-store";
	static const char nosniff[] = "\r\nX-Content-Type-Options: nosniff\r\n",
			  vary[] = "\r\nVary: Accept-Language, X-Souk-Channel\r\n";
	ok = ok && head_add(head, sizeof(head), &n, "Cache-Control: ", 15) &&
	     head_add(head, sizeof(head), &n, cc, strlen(cc)) &&
	     head_add(head, sizeof(head), &n, nosniff, sizeof(nosniff) - 1);
	if (ok && resp->etag != NULL) /* the locale may come from Accept-Language */
		ok = head_add(head, sizeof(head), &n, "ETag: ", 6) &&
		     head_add(head, sizeof(head), &n, resp->etag, strlen(resp->etag)) &&
		     head_add(head, sizeof(head), &n, vary, sizeof(vary) - 1);
	if (!ok)
		return -EIO;
	if (FCGX_PutStr(head, (int)n, o) < 0)
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

/* The parameters a request needs, in one pass over the environment
 * (FCGX_GetParam scans it once per name, and most names are absent). The
 * first of duplicate names wins, as with FCGX_GetParam. */
static void read_params(char **env, api_req_t *req, const char **script_name,
			const char **content_length)
{
#define P(name, dst)                                                                               \
	{                                                                                          \
		name, sizeof(name) - 1, dst                                                        \
	}
	struct {
		const char *name;
		size_t len;
		const char **dst;
	} want[] = {
	    P("REQUEST_METHOD", &req->method),
	    P("REQUEST_URI", &req->uri),
	    P("CONTENT_LENGTH", content_length),
	    P("CONTENT_TYPE", &req->content_type),
	    P("HTTP_ACCEPT_LANGUAGE", &req->accept_language),
	    P("HTTP_HOST", &req->host),
	    P("HTTP_X_SOUK_CHANNEL", &req->channel),
	    P("HTTP_X_SOUK_CUSTOMER_GROUP", &req->customer_group),
	    P("HTTP_AUTHORIZATION", &req->authorization),
	    P("HTTP_IF_MATCH", &req->if_match),
	    P("HTTP_IF_NONE_MATCH", &req->if_none_match),
	    P("HTTP_IDEMPOTENCY_KEY", &req->idem_key),
	    P("HTTP_SOUK_MIN_SEQ", &req->min_seq),
	    P("HTTP_X_SOUK_REASON", &req->reason),
	    P("SCRIPT_NAME", script_name),
	};
#undef P
	for (; env != NULL && *env != NULL; env++) {
		const char *e = *env, *eq = strchr(e, '=');
		if (eq == NULL)
			continue;
		size_t n = (size_t)(eq - e);
		for (size_t i = 0; i < SOUK_ARRAY_LEN(want); i++)
			if (n == want[i].len && *want[i].dst == NULL &&
			    memcmp(e, want[i].name, n) == 0) {
				*want[i].dst = eq + 1;
				break;
			}
	}
}

static void serve(api_thread_t *th, FCGX_Request *rq)
{
	api_t *api = th->api;
	api_req_t req;
	api_resp_t resp;
	const char *script_name = NULL, *content_length = NULL;
	uint64_t t0 = souk_now_mono_ns();
	memset(&req, 0, sizeof(req));
	read_params(rq->envp, &req, &script_name, &content_length);
	if (req.uri == NULL) /* servers without REQUEST_URI */
		req.uri = script_name;
	if (req.content_type != NULL && req.content_type[0] == '\0')
		req.content_type = NULL;

	char *body = NULL;
	int rc = read_body(rq, content_length, th->arena, api->opts.max_body, &body, &req.body_len,
			   &req.body_too_large);
	if (rc != 0) {
		shm_slot_count(api_thread_slot(th), MET_REQ_ERRORS, 1);
		if (rc == -EIO) {
			api_finish(th); /* the client went away or timed out */
			return;
		}
	}
	req.body = body;
	api_handle(th, &req, &resp);
	if (write_resp(rq, &resp) != 0) {
		shm_slot_count(api_thread_slot(th), MET_REQ_ERRORS, 1);
	}
	/* no flush here: FCGX_Finish_r sends the buffered answer and the end of
	 * the request in one write when they fit libfcgi's buffer */
	api_finish(th);
	metrics_request(api_thread_slot(th), resp.route, resp.status,
			(souk_now_mono_ns() - t0) / 1000);
}

static void *thread_main(void *arg)
{
	wthread_t *w = arg;
	FCGX_Request rq;
	api_thread_t th;
	sigset_t wake;
	log_ratelimit_t rl = LOG_RATELIMIT_INIT(60, 5);
	int listen_fd = w->opts->listen_fd;

	/* once per thread: the wake signal may interrupt us from now on, but it
	 * is only sent while we are idle (wake_if_idle) */
	tl_self = w;
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);

	if (FCGX_InitRequest(&rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0 ||
	    api_thread_init(&th, w->api) != 0) {
		log_fcgi_err("cannot set up a request thread (out of memory)");
		atomic_store(&w->finished, 1);
		return NULL;
	}
	for (;;) {
		set_idle(w, true);
		if (atomic_load(&stop_flag))
			break;
		/* On a kept connection (nginx fastcgi_keep_conn) libfcgi would
		 * accept a new connection by itself when the old one ends, and the
		 * new one could reuse the fd number. Without a listening socket it
		 * returns instead, so every new connection is seen here and gets
		 * its socket timeouts exactly once. */
		bool kept = rq.ipcFd >= 0;
		rq.listen_sock = kept ? -1 : listen_fd;
		int rc = FCGX_Accept_r(&rq);
		set_idle(w, false);
		if (rc < 0) {
			if (atomic_load(&stop_flag))
				break;
			if (kept)
				continue; /* the kept connection ended: accept the next */
			uint32_t sup = 0;
			if (rc != -EINTR && log_ratelimit_ok(&rl, &sup))
				log_fcgi_warn("accept failed (%s)", souk_strerror(rc));
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
			continue;
		}
		/* a stuck client or upstream times out instead of pinning the
		 * thread; an idle kept connection is closed after the timeout */
		if (!kept) {
			/* soukd's published value once it changed (a reload),
			 * for the connections accepted from then on */
			api_limits_t lim;
			api_thread_limits(&th, &lim);
			uint64_t ms = lim.request_timeout_ms ? lim.request_timeout_ms
							     : w->opts->request_timeout_ms;
			uint64_t longest = atomic_load(&longest_timeout_ms);
			while (ms > longest &&
			       !atomic_compare_exchange_weak(&longest_timeout_ms, &longest, ms))
				;
			set_timeouts(rq.ipcFd, ms);
		}
		serve(&th, &rq);
		FCGX_Finish_r(&rq);
	}
	rq.listen_sock = listen_fd;
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
	atomic_store(&longest_timeout_ms, opts->request_timeout_ms);
	api_set_threads(api, opts->threads);

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

	for (unsigned i = 0; i < opts->threads; i++)
		pthread_mutex_init(&ws[i].mu, NULL);
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
		struct timespec ts = {1, 0};
		int sig = sigtimedwait(&waitset, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			log_fcgi_info("SIGHUP ignored (the settings a reload changes come "
				      "from soukd's image; the others need a restart)");
		api_housekeeping(api);
		/* a dead store needs a new process: exit non-zero so that the
		 * service manager restarts the worker (the socket keeps the
		 * connections that arrive meanwhile) */
		if ((rc = store_status(api->store)) != 0)
			log_fcgi_err("store unusable (%s), exiting to be restarted", souk_strerror(rc));
	}

	/* stop: no new requests, finish those in flight, wake idle threads */
	log_fcgi_info("stopping (finishing requests in flight)");
	atomic_store(&stop_flag, 1);
	FCGX_ShutdownPending();
	uint64_t deadline = souk_now_mono_ms() + atomic_load(&longest_timeout_ms) + 1000;
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < opts->threads; i++) {
			if (!ws[i].started || atomic_load(&ws[i].finished))
				continue;
			all = false;
			wake_if_idle(&ws[i]);
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
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	for (unsigned i = 0; i < opts->threads; i++)
		if (ws[i].started)
			pthread_join(ws[i].thread, NULL);
	for (unsigned i = 0; i < opts->threads; i++)
		pthread_mutex_destroy(&ws[i].mu);
	free(ws);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

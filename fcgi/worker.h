/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/worker.h - the libfcgi request loop: a pool of threads, each with its
 * own FCGX_Request, calling FCGX_Accept_r on one listening socket.
 *
 * Keep-alive: behind nginx with `fastcgi_keep_conn on`, a thread stays bound
 * to one upstream connection until nginx closes it, so a process serves at
 * most `threads` kept connections at once; size threads x processes to at
 * least nginx's worker_processes x upstream `keepalive` (docs/souk-fcgi.md).
 *
 * Timeouts: SO_RCVTIMEO/SO_SNDTIMEO (the request timeout) are set once per
 * accepted connection, so a stuck client or upstream cannot pin a thread;
 * an idle kept connection is closed after the same time. The timeout is
 * the one soukd published in the current image's worker settings (it
 * follows a reload for the connections accepted after it), else
 * worker_opts_t.request_timeout_ms.
 *
 * Per request the loop makes the system calls a bare libfcgi responder
 * makes: one read, one write (answer and end of request together when they
 * fit libfcgi's 8 KiB buffer); no signal mask change, no timeout change.
 *
 * Shutdown (SIGTERM/SIGINT, taken by sigtimedwait in the calling thread):
 * stop accepting (FCGX_ShutdownPending), let in-flight requests finish
 * (bounded by the longest request timeout given), wake idle threads with SIGUSR1 (no
 * SA_RESTART, FCGI_FAIL_ACCEPT_ON_INTR; sent only to idle threads, never
 * into a request), exit 0. The listening socket is left alone: it may be
 * shared with other workers (spawn-fcgi) or held by systemd.
 */
#include <stdint.h>

#include "fcgi/api.h"

typedef struct {
	int listen_fd;
	unsigned threads;
	uint64_t request_timeout_ms; /* start-up value, see above */
} worker_opts_t;

/* Run until SIGTERM/SIGINT (0 on a clean stop) or until the store is dead
 * (its error: exit non-zero to be restarted). SOUK_ETIMEOUT when requests
 * were still running after the timeout: exit at once, tear nothing down. */
int worker_run(api_t *api, const worker_opts_t *opts);

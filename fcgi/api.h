/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/api.h - the REST API, independent of the FastCGI transport.
 *
 * The transport (fcgi/worker.c) fills an api_req_t from the FastCGI params
 * and body, calls api_handle(), writes the api_resp_t, then api_finish().
 * Reads are served from the current shared-memory image (one acquire per
 * request, released in api_finish, so a response body may point into the
 * image); writes go through the group committer into LMDB.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "fcgi/arena.h"
#include "fcgi/commit.h"
#include "fcgi/router.h"
#include "model/perm.h"
#include "shm/shm.h"
#include "store/store.h"

#define API_HEADER_MAX 8192 /* longest request header value or URI accepted */

typedef struct {
	const char *instance;      /* shared-memory instance */
	const char *notify_path;   /* soukd's publish.sock ("" = none) */
	uint64_t max_body;         /* bytes */
	unsigned max_json_depth;
	uint64_t min_seq_wait_ms;  /* Souk-Min-Seq bound */
	uint32_t max_batch;        /* group-commit batch ceiling */
	unsigned max_waiters;      /* reads waiting for Souk-Min-Seq at once (0: 1;
				    * worker_run makes it half the threads) */
} api_opts_t;

/* One attached control segment and this process's slot in it. The api holds
 * a reference while it is the current one, each request thread while its
 * reader and counters use it; the last reference frees it, unmapping its
 * images (so tmpfs gets back the files soukd unlinked). References are
 * taken and dropped under api_t.attach_lock. */
typedef struct {
	shm_ctl_t *ctl;
	shm_slot_t *slot;          /* NULL: no slot (metrics not counted) */
	unsigned refs;
	unsigned catalog_view;     /* view slots registered on ctl at attach */
	unsigned settings_view;
	unsigned channel_view;
	unsigned pricing_view;
	unsigned category_view;
	unsigned collection_view;
} api_seg_t;

/* Figures of the segments this process followed (for /metrics). */
typedef struct {
	uint64_t reattaches;       /* moves to a re-created segment */
	uint64_t attach_failures;  /* attach attempts that failed (not "absent") */
	unsigned retired;          /* replaced segments still mapped (idle threads) */
	bool removed;              /* the current one was removed, none newer yet */
} api_seg_stats_t;

typedef struct api {
	api_opts_t opts;
	store_t *store;
	commit_t *commit;
	char *secret;              /* admin bearer secret (NULL: writes refused) */
	size_t secret_len;
	int notify_fd;
	pthread_mutex_t attach_lock;
	_Atomic(api_seg_t *) seg;  /* current; NULL until soukd created one */
	api_seg_stats_t seg_stats; /* under attach_lock */
	log_ratelimit_t attach_rl; /* under attach_lock */
	unsigned max_waiters;      /* Souk-Min-Seq waits allowed at once */
	atomic_uint waiters;       /* reads waiting now */
	_Atomic uint64_t committed_seq; /* highest sequence this process committed */
} api_t;

/* The limits one request is served with: the start-up values (api_opts_t,
 * from the command line or YAML), or those soukd published in the current
 * image's worker settings (shm/settings.h), so that they follow a reload. */
typedef struct {
	uint64_t max_body;           /* never above api_opts_t.max_body: the
				      * arenas were sized for it at start */
	unsigned max_json_depth;
	uint64_t min_seq_wait_ms;
	uint64_t request_timeout_ms; /* 0: none published, the transport's own */
} api_limits_t;

/* Per request thread. */
typedef struct api_thread {
	api_t *api;
	arena_t *arena;
	api_seg_t *seg;            /* segment this thread follows (one reference),
				    * moved to the current one at each request */
	shm_reader_t *reader;      /* on seg->ctl */
	bool acquired;
	principal_t principal;     /* who makes the current request: the audit
				    * actor and the idempotency scope */
	api_limits_t limits;       /* of the current request, once read */
	bool limits_read;
	/* the limits last read from an image, kept while the control segment
	 * announces the same settings generation (shm_ctl_settings_gen) */
	api_limits_t limits_cache;
	uint64_t limits_gen;       /* 0: nothing cached */
	const api_seg_t *limits_seg;
} api_thread_t;

typedef struct api_req {
	const char *method;
	const char *uri;           /* REQUEST_URI (path + query) */
	const char *content_type;
	const char *if_match;
	const char *if_none_match;
	const char *idem_key;
	const char *authorization;
	const char *min_seq;
	const char *accept_language;
	const char *host;          /* Host (HTTP_HOST) */
	const char *channel;       /* X-Souk-Channel */
	const char *customer_group; /* X-Souk-Customer-Group (staff only) */
	const char *reason;        /* X-Souk-Reason: why, for the history */
	const char *body;
	size_t body_len;
	bool body_too_large;       /* transport saw more than api_opts_t.max_body */
} api_req_t;

typedef struct api_resp {
	int status;
	const char *content_type;
	sbuf_t headers;            /* extra "Name: value\r\n" lines */
	const char *cache_control; /* NULL: no-store (personal and admin answers) */
	const char *etag;          /* public reads: quoted ETag, sent with
				    * Vary: Accept-Language (problems drop it) */
	const char *body;
	size_t body_len;
	bool head;                 /* HEAD: send headers only */
	route_id_t route;
} api_resp_t;

/* store and secret are owned by the caller; the api starts the committer. */
int api_init(api_t *api, const api_opts_t *opts, store_t *store, const char *secret,
	     size_t secret_len);
void api_deinit(api_t *api);
/* Housekeeping (once a second from one thread): attach/re-attach to the
 * control segment. A replaced segment is retired: each thread drops it at
 * its next request, the last one frees it. */
void api_housekeeping(api_t *api);
/* Threads allowed to wait for Souk-Min-Seq at once (>= 1), unless
 * api_opts_t.max_waiters set it; call before requests are served. */
void api_set_threads(api_t *api, unsigned threads);
void api_seg_stats(api_t *api, api_seg_stats_t *out);

int api_thread_init(api_thread_t *th, api_t *api);
void api_thread_deinit(api_thread_t *th);

/* Handle one request; resp is always filled (errors become problems). */
void api_handle(api_thread_t *th, const api_req_t *req, api_resp_t *resp);
/* After the response is written: release the image, reset the arena. */
void api_finish(api_thread_t *th);
/* Between requests (the transport, e.g. for a new connection's timeout):
 * the limits of the current image, or the start-up ones. */
void api_thread_limits(api_thread_t *th, api_limits_t *out);
/* The slot this thread counts into (NULL: none). */
shm_slot_t *api_thread_slot(const api_thread_t *th);

/* Reason phrase for a status code. */
const char *api_reason(int status);

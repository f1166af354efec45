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

#include "fcgi/arena.h"
#include "fcgi/commit.h"
#include "fcgi/router.h"
#include "shm/shm.h"
#include "store/store.h"

#define API_HEADER_MAX 8192 /* longest request header value or URI accepted */
#define API_RETIRED_MAX 16

typedef struct {
	const char *instance;      /* shared-memory instance */
	const char *notify_path;   /* soukd's publish.sock ("" = none) */
	uint64_t max_body;         /* bytes */
	unsigned max_json_depth;
	uint64_t min_seq_wait_ms;  /* Souk-Min-Seq bound */
	uint32_t max_batch;        /* group-commit batch ceiling */
} api_opts_t;

typedef struct api {
	api_opts_t opts;
	store_t *store;
	commit_t *commit;
	char *secret;              /* admin bearer secret (NULL: writes refused) */
	size_t secret_len;
	int notify_fd;
	pthread_mutex_t attach_lock;
	_Atomic(shm_ctl_t *) ctl;  /* NULL until soukd created the segment */
	_Atomic(shm_slot_t *) slot;
	uint64_t next_attach_ms;
	shm_ctl_t *retired[API_RETIRED_MAX]; /* replaced segments, freed at exit */
	shm_slot_t *retired_slot[API_RETIRED_MAX];
	unsigned nretired;
} api_t;

/* Per request thread. */
typedef struct {
	api_t *api;
	arena_t *arena;
	shm_reader_t *reader;
	shm_ctl_t *reader_ctl;     /* ctl the reader belongs to */
	bool acquired;
} api_thread_t;

typedef struct {
	const char *method;
	const char *uri;           /* REQUEST_URI (path + query) */
	const char *content_type;
	const char *if_match;
	const char *idem_key;
	const char *authorization;
	const char *min_seq;
	const char *accept_language;
	const char *reason;        /* X-Souk-Reason: why, for the history */
	const char *body;
	size_t body_len;
	bool body_too_large;       /* transport saw more than max_body */
} api_req_t;

typedef struct {
	int status;
	const char *content_type;
	sbuf_t headers;            /* extra "Name: value\r\n" lines */
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
 * control segment. */
void api_housekeeping(api_t *api);

int api_thread_init(api_thread_t *th, api_t *api);
void api_thread_deinit(api_thread_t *th);

/* Handle one request; resp is always filled (errors become problems). */
void api_handle(api_thread_t *th, const api_req_t *req, api_resp_t *resp);
/* After the response is written: release the image, reset the arena. */
void api_finish(api_thread_t *th);

/* Reason phrase for a status code. */
const char *api_reason(int status);

/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/api.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/error.h"
#include "common/locale.h"
#include "common/log.h"
#include "common/text.h"
#include "common/time.h"
#include "common/util.h"
#include "daemon/publisher.h"
#include "fcgi/h_counter.h"
#include "fcgi/metrics.h"
#include "common/problem.h"
#include "domain/catalog/product.h"
#include "model/model.h"
#include "shm/catalog.h"
#include "shm/settings.h"

#define API_LIST_DEFAULT 50
#define API_LIST_MAX	 200
#define API_REASON_MAX	 255 /* bytes of X-Souk-Reason (store_rec_t.reason) */
/* public catalog reads: shared caches may keep them briefly */
#define API_PUBLIC_CACHE "public, max-age=5"

const char *api_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* ---- committer glue ------------------------------------------------------ */

static int apply_batch(void *arg, store_mut_t *muts, size_t n)
{
	api_t *api = arg;
	return store_apply(api->store, muts, n);
}

static int apply_work(void *arg, store_work_t *w, size_t n)
{
	api_t *api = arg;
	return store_apply_work(api->store, w, n);
}

/* Count into the current segment's slot; the lock keeps it mapped meanwhile
 * (the committer thread holds no segment reference of its own). */
static void count_current(api_t *api, unsigned i, uint64_t delta)
{
	pthread_mutex_lock(&api->attach_lock);
	api_seg_t *seg = atomic_load_explicit(&api->seg, memory_order_relaxed);
	if (seg != NULL)
		shm_slot_count(seg->slot, i, delta);
	pthread_mutex_unlock(&api->attach_lock);
}

static void after_batch(void *arg, const store_mut_t *muts, size_t n, int rc)
{
	api_t *api = arg;
	uint64_t max_seq = 0;
	count_current(api, MET_COMMIT_BATCHES, 1);
	count_current(api, MET_COMMIT_MUTATIONS, n);
	if (rc != 0) {
		count_current(api, MET_COMMIT_FAILURES, 1);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (muts[i].result == 0 && !muts[i].replayed && muts[i].seq > max_seq)
			max_seq = muts[i].seq;
	/* one committer thread: only it writes committed_seq */
	if (max_seq > atomic_load_explicit(&api->committed_seq, memory_order_relaxed))
		atomic_store_explicit(&api->committed_seq, max_seq, memory_order_relaxed);
	if (max_seq == 0 || api->notify_fd < 0 || api->opts.notify_path[0] == '\0')
		return;
	/* fire and forget: soukd's poll catches up when it is down */
	if (publisher_notify(api->notify_fd, api->opts.notify_path, max_seq) != 0)
		count_current(api, MET_NOTIFY_FAILURES, 1);
}

int api_init(api_t *api, const api_opts_t *opts, store_t *store, const char *secret,
	     size_t secret_len)
{
	int rc;
	memset(api, 0, sizeof(*api));
	api->opts = *opts;
	api->store = store;
	api->notify_fd = -1;
	api->max_waiters = opts->max_waiters ? opts->max_waiters : 1;
	api->attach_rl = (log_ratelimit_t)LOG_RATELIMIT_INIT(60, 3);
	pthread_mutex_init(&api->attach_lock, NULL);
	if (secret != NULL) {
		api->secret = malloc(secret_len + 1);
		if (api->secret == NULL) {
			rc = SOUK_ENOMEM;
			goto fail;
		}
		memcpy(api->secret, secret, secret_len);
		api->secret[secret_len] = '\0';
		api->secret_len = secret_len;
	}
	if (api->opts.notify_path != NULL && api->opts.notify_path[0] != '\0') {
		rc = publisher_notify_open();
		if (rc < 0)
			goto fail;
		api->notify_fd = rc;
	} else {
		api->opts.notify_path = "";
	}
	rc = commit_new(apply_batch, after_batch, api, opts->max_batch ? opts->max_batch : 256,
			&api->commit);
	if (rc != 0)
		goto fail;
	commit_set_work(api->commit, apply_work);
	api_housekeeping(api);
	return 0;
fail:
	api_deinit(api);
	return rc;
}

void api_set_threads(api_t *api, unsigned threads)
{
	if (api->opts.max_waiters == 0)
		api->max_waiters = threads >= 2 ? threads / 2 : 1;
}

/* Drop one reference (attach_lock held); the last frees the segment. */
static void seg_unref(api_t *api, api_seg_t *seg)
{
	if (seg == NULL || --seg->refs > 0)
		return;
	if (seg != atomic_load_explicit(&api->seg, memory_order_relaxed) &&
	    api->seg_stats.retired > 0)
		api->seg_stats.retired--;
	shm_slot_release(seg->ctl, &seg->slot);
	shm_ctl_free(&seg->ctl);
	free(seg);
}

void api_deinit(api_t *api)
{
	commit_free(&api->commit);
	pthread_mutex_lock(&api->attach_lock);
	api_seg_t *seg = atomic_exchange(&api->seg, NULL);
	seg_unref(api, seg); /* threads were deinited first: the last reference */
	pthread_mutex_unlock(&api->attach_lock);
	if (api->notify_fd >= 0)
		close(api->notify_fd);
	api->notify_fd = -1;
	if (api->secret != NULL) {
		explicit_bzero(api->secret, api->secret_len);
		free(api->secret);
		api->secret = NULL;
	}
	pthread_mutex_destroy(&api->attach_lock);
}

/* A new segment of the instance with one reference (the api's); 0,
 * SOUK_ENOENT while soukd has not created it, or another error. */
static int attach(api_t *api, api_seg_t **out)
{
	api_seg_t *seg = calloc(1, sizeof(*seg));
	*out = NULL;
	if (seg == NULL)
		return SOUK_ENOMEM;
	int rc = shm_ctl_attach(api->opts.instance, &seg->ctl);
	if (rc != 0) {
		free(seg);
		return rc;
	}
	/* bound once per image, before this process maps any of the new
	 * segment's images */
	if ((rc = shm_ctl_add_view(seg->ctl, &catalog_view_def, &seg->catalog_view)) != 0 ||
	    (rc = shm_ctl_add_view(seg->ctl, &settings_view_def, &seg->settings_view)) != 0) {
		shm_ctl_free(&seg->ctl);
		free(seg);
		return rc;
	}
	rc = shm_slot_claim(seg->ctl, &seg->slot);
	if (rc != 0)
		log_fcgi_warn("no worker slot in instance '%s' (%s), metrics of this process are "
			      "not counted",
			      api->opts.instance, souk_strerror(rc));
	seg->refs = 1;
	*out = seg;
	return 0;
}

/* attach() with its failures counted and logged (rate-limited); under
 * attach_lock. An absent segment is not a failure (soukd not up yet). */
static int attach_logged(api_t *api, api_seg_t **out)
{
	uint32_t suppressed = 0;
	int rc = attach(api, out);
	if (rc == 0 || rc == SOUK_ENOENT)
		return rc;
	api->seg_stats.attach_failures++;
	if (log_ratelimit_ok(&api->attach_rl, &suppressed))
		log_fcgi_err("cannot attach the control segment of instance '%s' (%s), "
			     "retrying every second%s",
			     api->opts.instance, souk_strerror(rc),
			     suppressed > 0 ? ", earlier messages suppressed" : "");
	return rc;
}

void api_housekeeping(api_t *api)
{
	api_seg_t *seg = NULL;
	pthread_mutex_lock(&api->attach_lock);
	api_seg_t *cur = atomic_load_explicit(&api->seg, memory_order_relaxed);
	if (cur == NULL) {
		if (attach_logged(api, &seg) == 0)
			atomic_store_explicit(&api->seg, seg, memory_order_release);
	} else if (shm_ctl_replaced(cur->ctl) == 1) {
		/* soukd removed the segment (clean stop): keep serving the mapped
		 * image until a new segment exists, then move to it; threads
		 * still reading the old one drop it at their next request */
		int rc = attach_logged(api, &seg);
		api->seg_stats.removed = rc == SOUK_ENOENT;
		if (rc == 0) {
			atomic_store_explicit(&api->seg, seg, memory_order_release);
			api->seg_stats.reattaches++;
			api->seg_stats.retired++;
			shm_ctl_forget_images(cur->ctl); /* idle threads keep only their own */
			seg_unref(api, cur);
			log_fcgi_info("control segment of instance '%s' was re-created, following "
				      "it",
				      api->opts.instance);
		}
	}
	pthread_mutex_unlock(&api->attach_lock);
}

void api_seg_stats(api_t *api, api_seg_stats_t *out)
{
	pthread_mutex_lock(&api->attach_lock);
	*out = api->seg_stats;
	pthread_mutex_unlock(&api->attach_lock);
}

/* Move the thread to the current segment (between requests: nothing of
 * the old one is held). No lock when it did not change. */
static void thread_follow(api_thread_t *th)
{
	api_t *api = th->api;
	/* th->seg is referenced, so no new segment can have its address */
	if (atomic_load_explicit(&api->seg, memory_order_acquire) == th->seg)
		return;
	pthread_mutex_lock(&api->attach_lock);
	api_seg_t *cur = atomic_load_explicit(&api->seg, memory_order_relaxed), *old = th->seg;
	if (cur != old) {
		if (th->acquired)
			shm_reader_release(th->reader);
		th->acquired = false;
		shm_reader_free(&th->reader);
		if (cur != NULL)
			cur->refs++;
		th->seg = cur;
		seg_unref(api, old);
	}
	pthread_mutex_unlock(&api->attach_lock);
}

shm_slot_t *api_thread_slot(const api_thread_t *th)
{
	return th->seg != NULL ? th->seg->slot : NULL;
}

int api_thread_init(api_thread_t *th, api_t *api)
{
	memset(th, 0, sizeof(*th));
	th->api = api;
	/* room for the largest body plus what the handlers build from it */
	return arena_new(64 * 1024, (64u << 20) + 2 * api->opts.max_body, &th->arena);
}

void api_thread_deinit(api_thread_t *th)
{
	if (th->acquired)
		shm_reader_release(th->reader);
	th->acquired = false;
	shm_reader_free(&th->reader);
	if (th->seg != NULL) {
		pthread_mutex_lock(&th->api->attach_lock);
		seg_unref(th->api, th->seg);
		pthread_mutex_unlock(&th->api->attach_lock);
		th->seg = NULL;
	}
	arena_free(&th->arena);
}

void api_finish(api_thread_t *th)
{
	if (th->acquired)
		shm_reader_release(th->reader);
	th->acquired = false;
	th->limits_read = false;
	arena_reset(th->arena);
}

/* ---- responses ----------------------------------------------------------- */

static void resp_header(api_thread_t *th, api_resp_t *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void resp_header(api_thread_t *th, api_resp_t *resp, const char *name, const char *fmt, ...)
{
	char val[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	sbuf_printf(&resp->headers, "%s: %s\r\n", name, val);
}

/* "Name: v" or "Name: \"v\"" (an ETag) without printf: the read path's headers. */
static void resp_header_u64(api_resp_t *resp, const char *name, uint64_t v, bool quoted)
{
	char num[SOUK_U64_DEC_MAX];
	size_t n = souk_u64_dec(v, num);
	sbuf_adds(&resp->headers, name);
	sbuf_add(&resp->headers, quoted ? ": \"" : ": ", quoted ? 3 : 2);
	sbuf_add(&resp->headers, num, n);
	sbuf_add(&resp->headers, quoted ? "\"\r\n" : "\r\n", quoted ? 3 : 2);
}

static void resp_problem(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const problem_t *p)
{
	char *s = problem_render(p, NULL);
	resp->status = p->status ? p->status : 500;
	resp->etag = NULL; /* problems are not cached */
	resp->cache_control = NULL;
	resp->content_type = "application/problem+json";
	if (s == NULL) {
		resp->body = "{\"type\":\"" PROBLEM_TYPE_BASE PROBLEM_INTERNAL
			     "\",\"title\":\"Internal error\",\"status\":500}";
		resp->body_len = strlen(resp->body);
		resp->status = 500;
		return;
	}
	size_t len = strlen(s);
	resp->body = arena_strndup(th->arena, s, len);
	resp->body_len = resp->body ? len : 0;
	free(s);
}

static void fail(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int status,
		 const char *slug, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void fail(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int status,
		 const char *slug, const char *title, const char *fmt, ...)
{
	problem_t p;
	va_list ap;
	problem_init(&p);
	p.status = status;
	p.slug = slug;
	p.title = title;
	va_start(ap, fmt);
	vsnprintf(p.detail, sizeof(p.detail), fmt, ap);
	va_end(ap);
	resp_problem(th, req, resp, &p);
}

static void unavailable(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			const char *detail);

static void internal(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc)
{
	if (rc == SOUK_EPANIC) { /* a dead store: the restarted worker serves it */
		unavailable(th, req, resp, "the store is unavailable; retry shortly");
		return;
	}
	fail(th, req, resp, 500, PROBLEM_INTERNAL, "Internal error", "%s", souk_strerror(rc));
}

static void unavailable(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			const char *detail)
{
	resp_header(th, resp, "Retry-After", "1");
	fail(th, req, resp, 503, PROBLEM_UNAVAILABLE, "Service unavailable", "%s", detail);
}

static void resp_json(api_resp_t *resp, int status, const char *body, size_t len)
{
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = body;
	resp->body_len = len;
}

/* ---- request helpers ----------------------------------------------------- */

/* The locales the request prefers, as the catalog's priority list ("de,fr"):
 * ?locale= (one tag), else Accept-Language by q-value; NULL = default */
static const char *req_locale(api_thread_t *th, const api_req_t *req, const char *query,
			      size_t query_len)
{
	char buf[40], list[256];
	size_t n = 0;
	if (query_get(query, query_len, "locale", buf, sizeof(buf), &n) == 0 &&
	    souk_locale_shape_ok(buf, n))
		return arena_strndup(th->arena, buf, n);
	const char *al = req->accept_language;
	if (al == NULL)
		return NULL;
	n = souk_accept_language(al, strlen(al), list, sizeof(list));
	return n > 0 ? arena_strndup(th->arena, list, n) : NULL;
}

/* Count a 401 in /metrics (souk_auth_failures_total). */
static void count_auth_failure(api_thread_t *th)
{
	shm_slot_t *slot = api_thread_slot(th);
	if (slot != NULL)
		shm_slot_count(slot, MET_AUTH_FAILURES, 1);
}

/* Who makes the request, into th->principal: the bootstrap admin for the
 * configured bearer secret (compared in constant time), else anonymous.
 * Returns false after answering 401 when the route needs more than
 * PERM_PUBLIC and the credentials are missing or wrong; a public route
 * with a wrong token is served as anonymous. */
static bool authenticate(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 perm_id_t need)
{
	api_t *api = th->api;
	const char *h = req->authorization;
	principal_anonymous(&th->principal);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		if (need == PERM_PUBLIC)
			return true;
		count_auth_failure(th);
		resp_header(th, resp, "WWW-Authenticate", "Bearer realm=\"souk\"");
		fail(th, req, resp, 401, PROBLEM_UNAUTHORIZED, "Unauthorized",
		     "this request needs an Authorization: Bearer token");
		return false;
	}
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	size_t len = strlen(tok);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	if (api->secret != NULL && souk_ct_equal(tok, len, api->secret, api->secret_len)) {
		principal_admin(&th->principal);
		return true;
	}
	if (need == PERM_PUBLIC)
		return true;
	count_auth_failure(th);
	resp_header(th, resp, "WWW-Authenticate", "Bearer realm=\"souk\", error=\"invalid_token\"");
	fail(th, req, resp, 401, PROBLEM_UNAUTHORIZED, "Unauthorized",
	     "the bearer token is not valid");
	return false;
}

/* The one permission check of a request: authenticate, then ask
 * perm_allowed() for the route's permission (403 when the principal is
 * known but lacks it). */
static bool authorize(api_thread_t *th, const api_req_t *req, api_resp_t *resp, perm_id_t need)
{
	if (!authenticate(th, req, resp, need))
		return false;
	if (perm_allowed(&th->principal, need, NULL))
		return true;
	fail(th, req, resp, 403, PROBLEM_FORBIDDEN, "Forbidden",
	     "this request needs the permission '%s'", perm_name(need));
	return false;
}

/* If-Match: "N" or N. 0 = absent, 1 = parsed, 2 = "*" (any current
 * version), 3 = a weak tag (W/"N": If-Match compares strongly, RFC 9110
 * 13.1.1, so it never matches), -1 = malformed */
static int parse_if_match(const char *h, uint64_t *version)
{
	char buf[32];
	if (h == NULL)
		return 0;
	while (*h == ' ')
		h++;
	if (h[0] == '*' && h[1 + strspn(h + 1, " ")] == '\0') {
		*version = 0;
		return 2;
	}
	if (strncmp(h, "W/", 2) == 0)
		return 3;
	size_t len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	if (len >= 2 && h[0] == '"' && h[len - 1] == '"') {
		h++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return souk_parse_u64(buf, 1, UINT64_MAX, version) == 0 ? 1 : -1;
}

/* The version an update, delete or revert names in If-Match; false once a
 * problem is sent: 400 malformed, 412 weak tag, 428 absent or "*". */
static bool required_version(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			     uint64_t *want)
{
	switch (parse_if_match(req->if_match, want)) {
	case 1: return true;
	case 3:
		fail(th, req, resp, 412, PROBLEM_PRECONDITION, "Precondition failed",
		     "If-Match needs the strong ETag of the version read, such as \"3\"; a weak "
		     "tag never matches");
		return false;
	case 0:
	case 2:
		fail(th, req, resp, 428, PROBLEM_PRECONDITION_REQUIRED, "Precondition required",
		     "send If-Match with the version (ETag) you read");
		return false;
	default:
		fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "If-Match must be a version such as \"3\"");
		return false;
	}
}

/* Does the If-None-Match list h name etag (quoted)? "*" names any; weak
 * comparison (RFC 9110 13.1.2), so a W/ prefix does not matter. */
static bool none_match(const char *h, const char *etag, size_t etag_len)
{
	for (int i = 0; h != NULL && i < 64; i++) {
		h += strspn(h, " \t,");
		if (*h == '\0')
			return false;
		if (*h == '*')
			return true;
		if (strncmp(h, "W/", 2) == 0)
			h += 2;
		const char *end = *h == '"' ? strchr(h + 1, '"') : NULL;
		if (end == NULL)
			return false; /* malformed: no match, the full answer goes out */
		if ((size_t)(end + 1 - h) == etag_len && memcmp(h, etag, etag_len) == 0)
			return true;
		h = end + 1;
	}
	return false;
}

/* A public catalog read: ETag, a short public max-age, Vary (the locale
 * may come from Accept-Language). true when If-None-Match names the tag:
 * then the answer is a 304 without a body. */
static bool public_read(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			const char *etag, size_t etag_len)
{
	resp->etag = arena_strndup(th->arena, etag, etag_len);
	resp->cache_control = resp->etag != NULL ? API_PUBLIC_CACHE : NULL;
	if (!none_match(req->if_none_match, etag, etag_len))
		return false;
	resp->status = 304;
	return true;
}

/* The list's ETag: the image's change sequence and creation time (a
 * soukd restart may reuse generation numbers, never both of these). */
static bool list_not_modified(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			      const catalog_view_t *view)
{
	char etag[64];
	int n = snprintf(etag, sizeof(etag), "\"%" PRIu64 ".%" PRIu64 "\"", view->seq,
			 shm_image_created_ms(view->img));
	if (!public_read(th, req, resp, etag, (size_t)n))
		return false;
	resp_header_u64(resp, "Souk-Seq", view->seq, false);
	return true;
}

/* X-Souk-Reason is text like the document's: UTF-8, no control characters,
 * at most API_REASON_MAX bytes; false once a 422 naming it is sent. */
static bool reason_ok(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	size_t len = req->reason != NULL ? strlen(req->reason) : 0, count;
	const char *why = len > API_REASON_MAX
			      ? "must be at most 255 bytes"
			      : souk_text_problem((const uint8_t *)req->reason, len, false, &count);
	if (why == NULL)
		return true;
	problem_t p;
	problem_init(&p);
	problem_field(&p, "X-Souk-Reason", "%s", why);
	resp_problem(th, req, resp, &p);
	return false;
}

/* The entity id in the route; false once a 404 problem is sent. */
static bool route_entity_id(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			     const route_t *rt, store_id_t *id)
{
	if (store_id_parse(rt->product_id, id) != 0) {
		fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such %s",
		     rt->kind ? rt->kind->name : "resource");
		return false;
	}
	return true;
}

/* The thread's reader on its segment, made at first use. */
static int thread_reader(api_thread_t *th)
{
	if (th->reader != NULL)
		return 0;
	int rc = shm_reader_new(th->seg->ctl, &th->reader);
	if (rc != 0)
		return rc;
	shm_reader_set_slot(th->reader, th->seg->slot);
	return 0;
}

/* The current image's limits (its worker settings view, bound once per
 * image) over the start-up ones; an acquire of its own, nested when the
 * request holds the image already. Published zeros (never valid for these
 * items) leave the start-up value. */
static void limits_of_image(api_thread_t *th, api_limits_t *out)
{
	const api_opts_t *o = &th->api->opts;
	const shm_image_t *img = NULL;
	const void *v = NULL;
	*out = (api_limits_t){.max_body = o->max_body,
			      .max_json_depth = o->max_json_depth,
			      .min_seq_wait_ms = o->min_seq_wait_ms};
	if (th->seg == NULL || thread_reader(th) != 0 || shm_reader_acquire(th->reader, &img) != 0)
		return;
	if (shm_image_view(img, th->seg->settings_view, &v) == 0) {
		const shm_settings_t *set = v;
		if (set->max_body != 0 && set->max_body < out->max_body)
			out->max_body = set->max_body;
		if (set->max_json_depth != 0 && set->max_json_depth <= UINT_MAX)
			out->max_json_depth = (unsigned)set->max_json_depth;
		out->min_seq_wait_ms = set->min_seq_wait_ms;
		out->request_timeout_ms = set->request_timeout_ms;
	}
	shm_reader_release(th->reader);
}

/* The limits of the current request, read at first use. */
static const api_limits_t *req_limits(api_thread_t *th)
{
	if (!th->limits_read) {
		limits_of_image(th, &th->limits);
		th->limits_read = true;
	}
	return &th->limits;
}

void api_thread_limits(api_thread_t *th, api_limits_t *out)
{
	thread_follow(th); /* between requests: nothing is held */
	limits_of_image(th, out);
}

/* Is min_seq beyond the last committed change? The image's sequence and
 * this process's commits answer most cases; the store's meta (a read
 * transaction) the rest, e.g. a write made through another worker. */
static bool min_seq_ahead(api_t *api, shm_ctl_t *ctl, uint64_t min_seq)
{
	if (min_seq <= shm_ctl_seq(ctl) ||
	    min_seq <= atomic_load_explicit(&api->committed_seq, memory_order_relaxed))
		return false;
	uint64_t last = 0;
	/* an unreadable store: wait (bounded) rather than refuse */
	if (store_last_seq(api->store, &last) != 0)
		return false;
	return min_seq > last;
}

/* Acquire the current image, waiting (bounded) for Souk-Min-Seq. A
 * sequence not committed yet is refused at once; at most max_waiters
 * threads wait, the others are answered 503. */
static int get_view(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		    const catalog_view_t **view)
{
	api_t *api = th->api;
	uint64_t min_seq = 0;
	const shm_image_t *img = NULL;
	bool waiting = false;
	int rc;
	if (req->min_seq != NULL && souk_parse_u64(req->min_seq, 0, UINT64_MAX, &min_seq) != 0) {
		fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "Souk-Min-Seq must be a non-negative integer");
		return SOUK_EINVAL;
	}
	/* only a read that waits for its write needs the bound */
	uint64_t deadline = min_seq == 0 ? 0 : souk_now_mono_ms() + req_limits(th)->min_seq_wait_ms;
	for (;;) {
		if (th->seg == NULL) {
			unavailable(th, req, resp, "no catalog image has been published yet");
			rc = SOUK_ENOENT;
			goto out;
		}
		rc = thread_reader(th);
		if (rc != 0) {
			unavailable(th, req, resp, "cannot read the shared-memory images");
			goto out;
		}
		/* no image: none published yet, or the segment was replaced and
		 * its images removed (soukd restarting); a read that waits for
		 * its write waits for the new segment's image too */
		bool no_image = shm_reader_acquire(th->reader, &img) != 0;
		if (no_image && min_seq == 0) {
			unavailable(th, req, resp, "no catalog image has been published yet");
			rc = SOUK_ENOENT;
			goto out;
		}
		if (!no_image) {
			th->acquired = true;
			const void *v = NULL;
			rc = shm_image_view(img, th->seg->catalog_view, &v);
			if (rc != 0) {
				unavailable(th, req, resp, "the current image has no usable catalog");
				goto out;
			}
			*view = v;
			if ((*view)->seq >= min_seq)
				goto out;
			shm_reader_release(th->reader);
			th->acquired = false;
		}
		if (!waiting) {
			if (min_seq_ahead(api, th->seg->ctl, min_seq)) {
				fail(th, req, resp, 400, PROBLEM_MIN_SEQ_AHEAD, "Sequence not committed",
				     "Souk-Min-Seq names a change that has not been made; send the "
				     "Souk-Seq of a write");
				rc = SOUK_EINVAL;
				goto out;
			}
			if (atomic_fetch_add(&api->waiters, 1) >= api->max_waiters) {
				atomic_fetch_sub(&api->waiters, 1);
				shm_slot_count(api_thread_slot(th), MET_MIN_SEQ_BUSY, 1);
				unavailable(th, req, resp,
					    "too many reads are waiting for their writes; retry");
				rc = SOUK_EBUSY;
				goto out;
			}
			waiting = true;
		}
		if (souk_now_mono_ms() >= deadline)
			break;
		/* wait for a newer image, or a new segment (soukd restarted):
		 * poll the control segment every ~1 ms (at least once when there
		 * was no image to read) */
		while ((no_image || shm_ctl_seq(th->seg->ctl) < min_seq) &&
		       atomic_load_explicit(&api->seg, memory_order_relaxed) == th->seg &&
		       souk_now_mono_ms() < deadline) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
			no_image = false;
		}
		thread_follow(th);
	}
	shm_slot_count(api_thread_slot(th), MET_MIN_SEQ_TIMEOUTS, 1);
	resp_header(th, resp, "Retry-After", "1");
	fail(th, req, resp, 503, PROBLEM_NOT_VISIBLE, "Not yet visible",
	     "the catalog does not include change %" PRIu64 " yet", min_seq);
	rc = SOUK_ETIMEOUT;
out:
	if (waiting)
		atomic_fetch_sub(&api->waiters, 1);
	return rc;
}

/* ---- reads from the image ----------------------------------------------- */

static void h_get(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt,
		  const char *query, size_t query_len)
{
	const catalog_view_t *view;
	store_id_t id;
	const char *json = NULL;
	size_t len = 0;
	uint64_t version = 0;
	int rc;
	if (get_view(th, req, resp, &view) != 0)
		return;
	const char *locale = req_locale(th, req, query, query_len);
	if (rt->id == ROUTE_PRODUCT_BY_SKU) {
		rc = catalog_get_by_sku(view, rt->sku, rt->sku_len, locale, &json, &len, &version);
	} else {
		if (!route_entity_id(th, req, resp, rt, &id))
			return;
		rc = catalog_get(view, &id, locale, &json, &len, &version);
	}
	if (rc == SOUK_ENOENT) {
		fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such product");
		return;
	}
	if (rc != 0) {
		internal(th, req, resp, rc);
		return;
	}
	char etag[SOUK_U64_DEC_MAX + 2];
	size_t n = souk_u64_dec(version, etag + 1);
	etag[0] = etag[n + 1] = '"';
	bool same = public_read(th, req, resp, etag, n + 2);
	resp_header_u64(resp, "Souk-Seq", view->seq, false);
	if (!same)
		resp_json(resp, 200, json, len);
}

typedef struct {
	sbuf_t *b;
	unsigned n;
} list_ctx_t;

static int list_cb(const char *json, size_t len, void *arg)
{
	list_ctx_t *l = arg;
	if (l->n++ > 0)
		sbuf_add(l->b, ",", 1);
	sbuf_add(l->b, json, len);
	return l->b->failed ? SOUK_ENOMEM : 0;
}

/* ?limit= of a page: 1..API_LIST_MAX, else a field error in p */
static void query_limit(const char *query, size_t query_len, uint64_t *limit, problem_t *p)
{
	char s[24];
	size_t n;
	int rc = query_get(query, query_len, "limit", s, sizeof(s), &n);
	if ((rc == 0 && souk_parse_u64(s, 1, API_LIST_MAX, limit) != 0) ||
	    (rc != 0 && rc != SOUK_ENOENT))
		problem_field(p, "limit", "must be an integer from 1 to 200");
}

/* 400 with the query parameters p names */
static void bad_query(api_thread_t *th, const api_req_t *req, api_resp_t *resp, problem_t *p)
{
	p->status = 400;
	p->slug = PROBLEM_MALFORMED;
	p->title = "Malformed request";
	snprintf(p->detail, sizeof(p->detail), "invalid query parameters");
	resp_problem(th, req, resp, p);
}

static void h_list(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const char *query,
		   size_t query_len)
{
	char category[PRODUCT_NAME_MAX + 1], cursor[CATALOG_CURSOR_MAX];
	size_t n;
	uint64_t limit = API_LIST_DEFAULT;
	problem_t p;
	const catalog_view_t *view;
	problem_init(&p);
	bool have_cat = false, have_cursor = false;
	int rc = query_get(query, query_len, "category", category, sizeof(category), &n);
	if (rc == 0) {
		if (!product_name_valid(category, n, PRODUCT_NAME_MAX))
			problem_field(&p, "category", "is not a category name");
		have_cat = true;
	} else if (rc != SOUK_ENOENT) {
		problem_field(&p, "category", "is not a category name");
	}
	query_limit(query, query_len, &limit, &p);
	rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	if (rc == 0 && n > 0) {
		have_cursor = true; /* catalog_list checks its form */
	} else if (rc != 0 && rc != SOUK_ENOENT) {
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	}
	if (p.status != 0) {
		bad_query(th, req, resp, &p);
		return;
	}
	if (get_view(th, req, resp, &view) != 0 || list_not_modified(th, req, resp, view))
		return;
	const char *locale = req_locale(th, req, query, query_len);
	sbuf_t b;
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	list_ctx_t l = {.b = &b, .n = 0};
	char next[CATALOG_CURSOR_MAX] = "";
	rc = catalog_list(view, have_cat ? category : NULL, have_cursor ? cursor : NULL,
			  (uint32_t)limit, locale, list_cb, &l, next);
	if (rc == SOUK_ENOENT || rc == SOUK_EINVAL) {
		problem_field(&p, "cursor",
			      rc == SOUK_EINVAL ? "is not a cursor returned by this API"
						: "names a product no longer in the catalog; start "
						  "again without it");
		bad_query(th, req, resp, &p);
		return;
	}
	if (rc != 0 || b.failed) {
		internal(th, req, resp, rc ? rc : SOUK_ENOMEM);
		return;
	}
	sbuf_adds(&b, "],\"next_cursor\":");
	if (next[0])
		sbuf_printf(&b, "\"%s\"", next);
	else
		sbuf_adds(&b, "null");
	sbuf_printf(&b, ",\"seq\":%" PRIu64 "}", view->seq);
	if (b.failed) {
		internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	resp_header_u64(resp, "Souk-Seq", view->seq, false);
	resp_json(resp, 200, b.data, b.len);
}

/* ---- records from LMDB --------------------------------------------------- */

/* {"id","version","seq","updated_at","archived","actor"[,"reason"], stored
 * fields...}: one version in a history */
static json_t *record_json(const store_rec_t *rec)
{
	char hex[33], when[32];
	json_error_t je;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &je);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		return NULL;
	}
	json_t *out = json_object();
	if (out == NULL) {
		json_decref(doc);
		return NULL;
	}
	store_id_hex(&rec->id, hex);
	(void)souk_rfc3339(rec->time_ms, when);
	json_object_set_new(out, "id", json_string(hex));
	json_object_set_new(out, "version", json_integer((json_int_t)rec->version));
	json_object_set_new(out, "seq", json_integer((json_int_t)rec->seq));
	json_object_set_new(out, "updated_at", json_string(when));
	json_object_set_new(out, "archived", json_boolean(rec->archived));
	json_object_set_new(out, "actor", json_string(rec->actor));
	if (rec->reason[0])
		json_object_set_new(out, "reason", json_string(rec->reason));
	json_object_update(out, doc);
	json_decref(doc);
	return out;
}

/* The body of a written or read version: {"id","version","seq","updated_at",
 * "archived", stored fields...}, made by splicing. The stored document is
 * the compact JSON object the API or the import wrote from validated
 * product fields (none of which is a record field), so its members follow
 * the record's. false when the document is not an object or memory ran
 * out. */
static bool record_body(api_thread_t *th, api_resp_t *resp, const store_id_t *id,
			uint64_t version, uint64_t seq, uint64_t time_ms, bool archived,
			const char *doc, size_t doc_len)
{
	char hex[33], when[32];
	sbuf_t b;
	if (doc_len < 2 || doc[0] != '{' || doc[doc_len - 1] != '}')
		return false;
	store_id_hex(id, hex);
	(void)souk_rfc3339(time_ms, when);
	sbuf_init(&b, th->arena);
	sbuf_printf(&b, "{\"id\":\"%s\",\"version\":%" PRIu64 ",\"seq\":%" PRIu64
		    ",\"updated_at\":\"%s\",\"archived\":%s",
		    hex, version, seq, when, archived ? "true" : "false");
	if (doc_len > 2)
		sbuf_add(&b, ",", 1);
	sbuf_add(&b, doc + 1, doc_len - 1);
	if (b.failed)
		return false;
	resp->body = b.data;
	resp->body_len = b.len;
	resp->content_type = "application/json";
	return true;
}

static void respond_record(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			   const model_kind_t *k, const store_id_t *id, uint64_t version, int status)
{
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	int rc = store_get_version(th->api->store, k->name, id, version, &rec);
	if (rc != 0) {
		internal(th, req, resp, rc);
		return;
	}
	bool ok = record_body(th, resp, &rec.id, rec.version, rec.seq, rec.time_ms, rec.archived,
			      rec.doc, rec.doc_len);
	store_rec_deinit(&rec);
	if (!ok) {
		internal(th, req, resp, SOUK_ECORRUPT);
		return;
	}
	resp->status = status;
}

/* The version m just wrote from doc, answered without reading it back; a
 * replayed Idempotency-Key answers with the version it wrote then. */
static void respond_written(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			    const model_kind_t *k, const store_mut_t *m, const char *doc, int status)
{
	if (m->replayed) {
		respond_record(th, req, resp, k, &m->id, m->version, status);
		return;
	}
	if (!record_body(th, resp, &m->id, m->version, m->seq, m->time_ms, false, doc,
			 strlen(doc))) {
		internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	resp->status = status;
}

/* One version as history JSON appended to b (',' first unless first). */
static int hist_add(sbuf_t *b, const store_rec_t *rec, bool first)
{
	json_t *j = record_json(rec);
	if (j == NULL)
		return SOUK_ECORRUPT;
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return SOUK_ENOMEM;
	if (!first)
		sbuf_add(b, ",", 1);
	sbuf_adds(b, s);
	free(s);
	return b->failed ? SOUK_ENOMEM : 0;
}

/* History cursor: "v<N>", the newest version the next page starts at. */
static int hist_cursor(const char *s, uint64_t *version)
{
	if (s[0] != 'v' || souk_parse_u64(s + 1, 1, UINT64_MAX, version) != 0)
		return SOUK_EINVAL;
	return 0;
}

/* The current version of the route's entity into rec (the caller deinits
 * it); live_only: an archived one is not found. false once a problem has
 * been sent. */
static bool load_record(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			const route_t *rt, const store_id_t *id, bool live_only, store_rec_t *rec)
{
	memset(rec, 0, sizeof(*rec));
	int rc = store_get(th->api->store, rt->kind->name, id, rec);
	if (rc == SOUK_ENOENT || (rc == 0 && live_only && rec->archived)) {
		store_rec_deinit(rec);
		fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such %s",
		     rt->kind->name);
		return false;
	}
	if (rc != 0) {
		internal(th, req, resp, rc);
		return false;
	}
	return true;
}

/* GET /{plural}/{id}/history: staff only (it holds drafts, archived versions,
 * actors and reasons), newest first, ?limit= versions a page from ?cursor=. */
static void h_history(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt,
		      const char *query, size_t query_len)
{
	store_id_t id;
	store_rec_t rec;
	sbuf_t b;
	char cursor[24];
	size_t n;
	uint64_t limit = API_LIST_DEFAULT, from = UINT64_MAX;
	problem_t p;
	if (!route_entity_id(th, req, resp, rt, &id))
		return;
	problem_init(&p);
	query_limit(query, query_len, &limit, &p);
	int rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	if ((rc == 0 && n > 0 && hist_cursor(cursor, &from) != 0) ||
	    (rc != 0 && rc != SOUK_ENOENT))
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	if (p.status != 0) {
		bad_query(th, req, resp, &p);
		return;
	}
	if (!load_record(th, req, resp, rt, &id, false, &rec))
		return;
	uint64_t v = rec.version < from ? rec.version : from;
	store_rec_deinit(&rec);
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	for (uint64_t k = 0; k < limit && v >= 1; k++, v--) {
		memset(&rec, 0, sizeof(rec));
		rc = store_get_version(th->api->store, rt->kind->name, &id, v, &rec);
		if (rc == 0)
			rc = hist_add(&b, &rec, k == 0);
		store_rec_deinit(&rec);
		if (rc != 0) {
			internal(th, req, resp, rc);
			return;
		}
	}
	if (v >= 1)
		sbuf_printf(&b, "],\"next_cursor\":\"v%" PRIu64 "\"}", v);
	else
		sbuf_adds(&b, "],\"next_cursor\":null}");
	if (b.failed) {
		internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	resp_json(resp, 200, b.data, b.len);
}

/* ---- kinds read from LMDB (staff; not in the image) ------------------------- */

/* GET /{plural}/{id}: the current version, archived ones included. */
static void h_entity_get(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const route_t *rt)
{
	store_id_t id;
	store_rec_t rec;
	if (!route_entity_id(th, req, resp, rt, &id) ||
	    !load_record(th, req, resp, rt, &id, false, &rec))
		return;
	bool ok = record_body(th, resp, &rec.id, rec.version, rec.seq, rec.time_ms, rec.archived,
			      rec.doc, rec.doc_len);
	uint64_t version = rec.version;
	store_rec_deinit(&rec);
	if (!ok) {
		internal(th, req, resp, SOUK_ECORRUPT);
		return;
	}
	resp_header_u64(resp, "ETag", version, true);
	resp->status = 200;
}

typedef struct {
	sbuf_t *b;
	store_id_t after;
	bool have_after;
	uint64_t limit, n;
	store_id_t last;
	bool more;
	int rc;
} entity_page_t;

static int entity_page_cb(const store_rec_t *rec, void *arg)
{
	entity_page_t *pg = arg;
	if (rec->archived)
		return 0;
	if (pg->n == pg->limit) {
		pg->more = true;
		return 1;
	}
	if ((pg->rc = hist_add(pg->b, rec, pg->n == 0)) != 0)
		return 1;
	pg->last = rec->id;
	pg->n++;
	return 0;
}

/* GET /{plural}: live records in id order, ?limit= a page from ?cursor= (the
 * last id of the previous page). */
static void h_entity_list(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			  const route_t *rt, const char *query, size_t query_len)
{
	sbuf_t b;
	char cursor[40];
	size_t n;
	problem_t p;
	entity_page_t pg = { .b = &b, .limit = API_LIST_DEFAULT };
	problem_init(&p);
	query_limit(query, query_len, &pg.limit, &p);
	int rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	if (rc == 0 && n > 0) {
		if (n != 32 || store_id_parse(cursor, &pg.after) != 0)
			problem_field(&p, "cursor", "is not a cursor returned by this API");
		pg.have_after = true;
	} else if (rc != 0 && rc != SOUK_ENOENT) {
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	}
	if (p.status != 0) {
		bad_query(th, req, resp, &p);
		return;
	}
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	rc = store_scan_after(th->api->store, rt->kind->name, pg.have_after ? &pg.after : NULL,
			      entity_page_cb, &pg);
	if (pg.rc != 0 || (rc != 0 && rc != 1)) {
		internal(th, req, resp, pg.rc ? pg.rc : rc);
		return;
	}
	if (pg.more) {
		char hex[33];
		store_id_hex(&pg.last, hex);
		sbuf_printf(&b, "],\"next_cursor\":\"%s\"}", hex);
	} else {
		sbuf_adds(&b, "],\"next_cursor\":null}");
	}
	if (b.failed) {
		internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	resp_json(resp, 200, b.data, b.len);
}

/* ---- writes ---------------------------------------------------------------- */

static bool json_content(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	const char *ct = req->content_type;
	if (ct == NULL || ct[0] == '\0')
		return true;
	size_t n = strcspn(ct, "; ");
	if ((n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	    (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0))
		return true;
	fail(th, req, resp, 415, PROBLEM_MEDIA_TYPE, "Unsupported media type",
	     "send the body as application/json");
	return false;
}

static json_t *read_body(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	problem_t p;
	json_t *doc = NULL;
	if (!json_content(th, req, resp))
		return NULL;
	problem_init(&p);
	if (model_parse_body(req->body, req->body_len, req_limits(th)->max_json_depth, &doc, &p) !=
	    0) {
		resp_problem(th, req, resp, &p);
		return NULL;
	}
	return doc;
}

static void idem_reused(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	problem_t p;
	problem_init(&p);
	problem_set(&p, 422, PROBLEM_IDEM_REUSED, "Idempotency-Key reused",
		    "this Idempotency-Key was sent with another request body; use a new key "
		    "for a new request");
	problem_field(&p, "Idempotency-Key", "already used for a different request");
	resp_problem(th, req, resp, &p);
}

void api_problem(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const problem_t *p)
{
	resp_problem(th, req, resp, p);
}

json_t *api_read_body(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	return read_body(th, req, resp);
}

void api_unavailable(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc)
{
	if (rc == SOUK_EPANIC)
		internal(th, req, resp, rc);
	else
		unavailable(th, req, resp,
			    "the write could not be committed and may not have been stored");
}

/* Submit one mutation; maps store results to problems. true when committed. */
static bool submit(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		   const model_kind_t *k, store_mut_t *m)
{
	int rc = commit_submit(th->api->commit, m);
	if (rc != 0) {
		/* a failed commit may still have reached the disk (LMDB cannot
		 * tell after a failed meta-page write) */
		unavailable(th, req, resp,
			    "the write could not be committed and may not have been stored; "
			    "retry with the same Idempotency-Key");
		return false;
	}
	switch (m->result) {
	case 0:
		resp_header_u64(resp, "Souk-Seq", m->seq, false);
		if (m->replayed)
			resp_header(th, resp, "Idempotent-Replayed", "true");
		return true;
	case SOUK_ECONFLICT:
		fail(th, req, resp, 412, PROBLEM_PRECONDITION, "Precondition failed",
		     "the %s changed since the version in If-Match; read it again", k->name);
		return false;
	case SOUK_EEXIST:
		fail(th, req, resp, 409, PROBLEM_CONFLICT, "Conflict", "another %s already uses this %s",
		     k->name, k->nkeys > 0 ? k->keys[0].name : "key");
		return false;
	case SOUK_ENOENT:
		fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such %s (or version)",
		     k->name);
		return false;
	case SOUK_EINVAL:
	case SOUK_ETOOBIG:
		fail(th, req, resp, 422, PROBLEM_VALIDATION, "Validation failed", "%s",
		     souk_strerror(m->result));
		return false;
	case SOUK_EREUSED: idem_reused(th, req, resp); return false;
	default: internal(th, req, resp, m->result); return false;
	}
}


/*
 * The Idempotency-Key of a create, checked before the body is read, so that
 * a retried request gets the first response even when its body would not
 * validate any more: 0 when there is none or it is new (fp then holds the
 * request's fingerprint), 1 when it replays a recorded create (m filled as
 * store_apply() fills a replay), -1 once a problem has been sent (422 when
 * the key came with another body). Keys are scoped by the principal (the
 * admin bearer's actor).
 */
static int idem_ok(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		   const model_kind_t *k, uint8_t fp[32], store_mut_t *m)
{
	char route[80]; /* what a replay is compared with: the route and its body as sent */
	const char *key = req->idem_key;
	store_idem_t r;
	if (key == NULL)
		return 0;
	size_t n = strlen(key);
	bool ok = n > 0 && n <= STORE_IDEM_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)key[i] >= 0x21 && (unsigned char)key[i] < 0x7f;
	if (!ok) {
		fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "Idempotency-Key must be 1 to 255 visible ASCII characters");
		return -1;
	}
	snprintf(route, sizeof(route), "/api/v1/%s", k->plural);
	int rc = store_idem_fingerprint("POST", route, req->body, req->body_len, fp);
	if (rc == 0)
		rc = store_idem_get(th->api->store, k->name, th->principal.id, key, n, fp, &r);
	if (rc == SOUK_ENOENT)
		return 0;
	if (rc == SOUK_EREUSED)
		idem_reused(th, req, resp);
	else if (rc != 0)
		internal(th, req, resp, rc);
	if (rc != 0)
		return -1;
	memset(m, 0, sizeof(*m));
	store_idem_replay(&r, m);
	return 1;
}

/* validated document -> serialized doc + the keys it holds */
typedef struct {
	char *doc;
	model_keys_t keys;
} prepared_t;

static bool prepare(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		    const model_kind_t *k, json_t *norm, prepared_t *out)
{
	const char *status = json_string_value(json_object_get(norm, "status"));
	if ((k->flags & MODEL_K_STATUS) && status != NULL && strcmp(status, "archived") == 0) {
		problem_t p;
		problem_init(&p);
		problem_field(&p, "status", "use DELETE to archive a %s", k->name);
		resp_problem(th, req, resp, &p);
		return false;
	}
	int rc = model_keys(k, norm, &out->keys);
	if (rc != 0) {
		internal(th, req, resp, rc);
		return false;
	}
	char *s = json_dumps(norm, JSON_COMPACT);
	if (s == NULL) {
		internal(th, req, resp, SOUK_ENOMEM);
		return false;
	}
	out->doc = arena_strndup(th->arena, s, strlen(s));
	free(s);
	if (out->doc == NULL) {
		internal(th, req, resp, SOUK_ENOMEM);
		return false;
	}
	return true;
}

static void mut_init(const api_thread_t *th, const api_req_t *req, const model_kind_t *k,
		     store_mut_t *m, store_op_t op)
{
	memset(m, 0, sizeof(*m));
	m->op = op;
	m->kind = k->name;
	m->actor = th->principal.id;
	m->reason = req->reason;
}

/* doc validated as a whole document of kind k into *norm, prepared into pr,
 * and the store mutation op of it in m; false once a problem has been sent. */
static bool entity_mut(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		       const model_kind_t *k, const json_t *doc, store_op_t op, json_t **norm,
		       prepared_t *pr, store_mut_t *m)
{
	problem_t p;
	problem_init(&p);
	if (model_validate(k, NULL, doc, false, norm, &p) != 0) {
		resp_problem(th, req, resp, &p);
		return false;
	}
	if (!prepare(th, req, resp, k, *norm, pr))
		return false;
	mut_init(th, req, k, m, op);
	m->doc = pr->doc;
	m->doc_len = strlen(pr->doc);
	m->doc_is_json_object = true; /* json_dumps of a validated object */
	m->keys = pr->keys.unique;
	m->key_lens = pr->keys.unique_len;
	m->nkeys = pr->keys.nunique;
	m->index_keys = pr->keys.index;
	m->index_key_lens = pr->keys.index_len;
	m->nindex = pr->keys.nindex;
	return true;
}

static void h_create(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt)
{
	const model_kind_t *k = rt->kind;
	json_t *in = NULL, *norm = NULL;
	prepared_t pr = {.doc = NULL};
	store_mut_t m;
	uint8_t fp[32];
	int idem = idem_ok(th, req, resp, k, fp, &m);
	if (idem < 0)
		return;
	if (idem == 1) { /* a retry of a recorded create: its first answer */
		resp_header_u64(resp, "Souk-Seq", m.seq, false);
		resp_header(th, resp, "Idempotent-Replayed", "true");
	} else {
		if ((in = read_body(th, req, resp)) == NULL)
			return;
		if (!entity_mut(th, req, resp, k, in, STORE_OP_CREATE, &norm, &pr, &m))
			goto out;
		m.idem_key = req->idem_key;
		m.idem_key_len = req->idem_key ? strlen(req->idem_key) : 0;
		m.idem_fp = req->idem_key ? fp : NULL;
		if (!submit(th, req, resp, k, &m))
			goto out;
	}
	char hex[33];
	store_id_hex(&m.id, hex);
	resp_header(th, resp, "Location", "/api/v1/%s/%s", k->plural, hex);
	resp_header_u64(resp, "ETag", m.version, true);
	respond_written(th, req, resp, k, &m, pr.doc, 201);
out:
	json_decref(norm);
	json_decref(in);
}

static bool current(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt,
		    store_id_t *id, store_rec_t *rec)
{
	memset(rec, 0, sizeof(*rec));
	return route_entity_id(th, req, resp, rt, id) &&
	       load_record(th, req, resp, rt, id, true, rec);
}

static void h_update(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt)
{
	uint64_t want = 0;
	store_id_t id;
	store_rec_t rec;
	json_t *patch = NULL, *cur = NULL, *merged = NULL, *norm = NULL;
	prepared_t pr;
	store_mut_t m;
	if (!required_version(th, req, resp, &want))
		return;
	if ((patch = read_body(th, req, resp)) == NULL)
		return;
	if (!current(th, req, resp, rt, &id, &rec))
		goto out;
	if (rec.version != want) {
		resp_header_u64(resp, "ETag", rec.version, true);
		fail(th, req, resp, 412, PROBLEM_PRECONDITION, "Precondition failed",
		     "the %s is at version %" PRIu64 ", not %" PRIu64, rt->kind->name, rec.version,
		     want);
		store_rec_deinit(&rec);
		goto out;
	}
	json_error_t je;
	cur = json_loadb(rec.doc, rec.doc_len, 0, &je);
	store_rec_deinit(&rec);
	if (cur == NULL || (merged = model_merge_patch(cur, patch)) == NULL) {
		internal(th, req, resp, SOUK_ECORRUPT);
		goto out;
	}
	if (!entity_mut(th, req, resp, rt->kind, merged, STORE_OP_UPDATE, &norm, &pr, &m))
		goto out;
	m.id = id;
	m.expect_version = want;
	if (!submit(th, req, resp, rt->kind, &m))
		goto out;
	resp_header_u64(resp, "ETag", m.version, true);
	respond_written(th, req, resp, rt->kind, &m, pr.doc, 200);
out:
	json_decref(norm);
	json_decref(merged);
	json_decref(cur);
	json_decref(patch);
}

static void h_delete(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt)
{
	uint64_t want = 0;
	store_id_t id;
	store_mut_t m;
	if (!required_version(th, req, resp, &want))
		return;
	if (!route_entity_id(th, req, resp, rt, &id))
		return;
	mut_init(th, req, rt->kind, &m, STORE_OP_DELETE);
	m.id = id;
	m.expect_version = want;
	if (!submit(th, req, resp, rt->kind, &m))
		return;
	resp->status = 204;
}

static void h_revert(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt)
{
	uint64_t want = 0;
	store_id_t id;
	store_mut_t m;
	json_t *in = NULL;
	if (!required_version(th, req, resp, &want))
		return;
	if (!route_entity_id(th, req, resp, rt, &id))
		return;
	if ((in = read_body(th, req, resp)) == NULL)
		return;
	json_t *v = json_object_get(in, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_object_size(in) != 1) {
		problem_t p;
		problem_init(&p);
		problem_field(&p, "version",
			      "the body must be {\"version\": N} with N an existing version >= 1");
		resp_problem(th, req, resp, &p);
		json_decref(in);
		return;
	}
	mut_init(th, req, rt->kind, &m, STORE_OP_REVERT);
	m.id = id;
	m.expect_version = want;
	m.revert_to = (uint64_t)json_integer_value(v);
	json_decref(in);
	if (!submit(th, req, resp, rt->kind, &m))
		return;
	resp_header_u64(resp, "ETag", m.version, true);
	respond_record(th, req, resp, rt->kind, &m.id, m.version, 200);
}

/* ---- health and metrics -------------------------------------------------- */

static bool soukd_reachable(const api_t *api)
{
	struct sockaddr_un sa;
	const char *path = api->opts.notify_path;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return false;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	/* connect() on a datagram socket succeeds only when someone is bound */
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void h_healthz(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	api_t *api = th->api;
	sbuf_t b;
	store_info_t si;
	bool have_image = false;
	uint64_t gen = 0, age = 0, seq = 0, count = 0;
	shm_ctl_t *ctl = th->seg != NULL ? th->seg->ctl : NULL;
	if (ctl != NULL) {
		const shm_image_t *img = NULL;
		if (thread_reader(th) == 0 && shm_reader_acquire(th->reader, &img) == 0) {
			th->acquired = true;
			gen = shm_image_generation(img);
			uint64_t now = souk_now_real_ms(), created = shm_image_created_ms(img);
			age = now > created ? now - created : 0;
			const void *v = NULL;
			if (shm_image_view(img, th->seg->catalog_view, &v) == 0) {
				const catalog_view_t *view = v;
				have_image = true;
				seq = view->seq;
				count = view->count;
			}
		}
	}
	bool store_ok = store_info(api->store, &si) == 0;
	bool soukd = soukd_reachable(api);
	bool healthy = have_image && store_ok; /* a dead store cannot take writes */
	sbuf_init(&b, th->arena);
	sbuf_printf(&b, "{\"status\":\"%s\"", healthy ? "ok" : "unavailable");
	if (have_image)
		sbuf_printf(&b,
			    ",\"image\":{\"generation\":%" PRIu64 ",\"age_ms\":%" PRIu64
			    ",\"seq\":%" PRIu64 ",\"products\":%" PRIu64 "}",
			    gen, age, seq, count);
	else
		sbuf_adds(&b, ",\"image\":null");
	sbuf_printf(&b, ",\"store\":{\"ok\":%s", store_ok ? "true" : "false");
	if (store_ok)
		sbuf_printf(&b, ",\"last_seq\":%" PRIu64 ",\"readers\":%u", si.last_seq,
			    si.readers_used);
	sbuf_printf(&b, "},\"soukd\":{\"reachable\":%s}}", soukd ? "true" : "false");
	if (b.failed) {
		internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	if (!healthy)
		resp_header(th, resp, "Retry-After", "1");
	resp_json(resp, healthy ? 200 : 503, b.data, b.len);
}

static void h_metrics(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	sbuf_t b;
	sbuf_init(&b, th->arena);
	api_seg_stats_t ss;
	api_seg_stats(th->api, &ss);
	metrics_render(&b, th->seg != NULL ? th->seg->ctl : NULL, th->api->store, &ss);
	if (b.failed) {
		internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->body = b.data ? b.data : "";
	resp->body_len = b.len;
}

/* ---- dispatch -------------------------------------------------------------- */

void api_handle(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	const char *path, *query;
	size_t path_len, query_len;
	route_t rt;
	memset(resp, 0, sizeof(*resp));
	sbuf_init(&resp->headers, th->arena);
	resp->route = ROUTE_NONE;
	principal_anonymous(&th->principal);
	th->limits_read = false;
	thread_follow(th);
	if (req->method == NULL || req->uri == NULL) {
		fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "the web server sent no REQUEST_METHOD/REQUEST_URI");
		return;
	}
	if (strlen(req->uri) > API_HEADER_MAX) {
		fail(th, req, resp, 414, PROBLEM_HEADER_TOO_LARGE, "URI too long",
		     "the request URI is longer than %d bytes", API_HEADER_MAX);
		return;
	}
	const char *hdrs[] = {req->content_type,  req->if_match,	      req->idem_key,
			      req->authorization, req->min_seq,	      req->accept_language,
			      req->reason,	  req->if_none_match};
	for (size_t i = 0; i < SOUK_ARRAY_LEN(hdrs); i++) {
		if (hdrs[i] != NULL && strlen(hdrs[i]) > API_HEADER_MAX) {
			fail(th, req, resp, 431, PROBLEM_HEADER_TOO_LARGE,
			     "Request header too large", "a request header is longer than %d bytes",
			     API_HEADER_MAX);
			return;
		}
	}
	uri_split(req->uri, &path, &path_len, &query, &query_len);
	router_match(req->method, path, path_len, &rt);
	resp->route = rt.id;
	resp->head = rt.head;
	if (rt.status == 404) {
		fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such resource");
		return;
	}
	if (rt.status == 405) {
		resp_header(th, resp, "Allow", "%s", rt.allow);
		fail(th, req, resp, 405, PROBLEM_METHOD, "Method not allowed",
		     "%s is not allowed here (allowed: %s)", req->method, rt.allow);
		return;
	}
	if (!authorize(th, req, resp, rt.perm))
		return;
	if (rt.write) {
		uint64_t max_body = req_limits(th)->max_body;
		if (req->body_too_large || req->body_len > max_body) {
			fail(th, req, resp, 413, PROBLEM_TOO_LARGE, "Content too large",
			     "the request body is larger than %" PRIu64 " bytes", max_body);
			return;
		}
		if (!reason_ok(th, req, resp))
			return;
	}
	switch (rt.id) {
	case ROUTE_PRODUCT_GET:
	case ROUTE_PRODUCT_BY_SKU: h_get(th, req, resp, &rt, query, query_len); break;
	case ROUTE_PRODUCT_LIST: h_list(th, req, resp, query, query_len); break;
	case ROUTE_WAREHOUSE_HISTORY:
	case ROUTE_PRODUCT_HISTORY: h_history(th, req, resp, &rt, query, query_len); break;
	case ROUTE_WAREHOUSE_CREATE:
	case ROUTE_PRODUCT_CREATE: h_create(th, req, resp, &rt); break;
	case ROUTE_WAREHOUSE_UPDATE:
	case ROUTE_PRODUCT_UPDATE: h_update(th, req, resp, &rt); break;
	case ROUTE_WAREHOUSE_DELETE:
	case ROUTE_PRODUCT_DELETE: h_delete(th, req, resp, &rt); break;
	case ROUTE_PRODUCT_REVERT:
	case ROUTE_WAREHOUSE_REVERT: h_revert(th, req, resp, &rt); break;
	case ROUTE_WAREHOUSE_LIST: h_entity_list(th, req, resp, &rt, query, query_len); break;
	case ROUTE_WAREHOUSE_GET: h_entity_get(th, req, resp, &rt); break;
	case ROUTE_HEALTHZ: h_healthz(th, req, resp); break;
	case ROUTE_METRICS: h_metrics(th, req, resp); break;
	case ROUTE_COUNTER_GET: h_counter_get(th, req, resp, &rt); break;
	case ROUTE_COUNTER_ADD: h_counter_add(th, req, resp, &rt); break;
	case ROUTE_BATCH: h_batch(th, req, resp); break;
	default:
		fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such resource");
		break;
	}
	if (resp->status == 0)
		internal(th, req, resp, SOUK_EINVAL);
}

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
#include "fcgi/api_int.h"
#include "fcgi/handlers.h"
#include "fcgi/metrics.h"
#include "common/problem.h"
#include "model/model.h"
#include "domain/catalog/collection_image.h"
#include "domain/catalog/sections.h"
#include "shm/settings.h"

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
	    (rc = shm_ctl_add_view(seg->ctl, &settings_view_def, &seg->settings_view)) != 0 ||
	    (rc = shm_ctl_add_view(seg->ctl, &channel_view_def, &seg->channel_view)) != 0 ||
	    (rc = shm_ctl_add_view(seg->ctl, &pricing_view_def, &seg->pricing_view)) != 0 ||
	    (rc = shm_ctl_add_view(seg->ctl, &ctg_view_def, &seg->category_view)) != 0 ||
	    (rc = shm_ctl_add_view(seg->ctl, &col_view_def, &seg->collection_view)) != 0) {
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

void api_resp_header(api_thread_t *th, api_resp_t *resp, const char *name, const char *fmt, ...)
{
	char val[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	sbuf_printf(&resp->headers, "%s: %s\r\n", name, val);
}

/* "Name: v" or "Name: \"v\"" (an ETag) without printf: the read path's headers. */
void api_resp_header_u64(api_resp_t *resp, const char *name, uint64_t v, bool quoted)
{
	char num[SOUK_U64_DEC_MAX];
	size_t n = souk_u64_dec(v, num);
	sbuf_adds(&resp->headers, name);
	sbuf_add(&resp->headers, quoted ? ": \"" : ": ", quoted ? 3 : 2);
	sbuf_add(&resp->headers, num, n);
	sbuf_add(&resp->headers, quoted ? "\"\r\n" : "\r\n", quoted ? 3 : 2);
}

void api_problem(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
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

void api_fail(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int status,
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
	api_problem(th, req, resp, &p);
}

void api_internal(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc)
{
	if (rc == SOUK_EPANIC) { /* a dead store: the restarted worker serves it */
		api_unavailable_why(th, req, resp, "the store is unavailable; retry shortly");
		return;
	}
	api_fail(th, req, resp, 500, PROBLEM_INTERNAL, "Internal error", "%s", souk_strerror(rc));
}

void api_unavailable_why(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			const char *detail)
{
	api_resp_header(th, resp, "Retry-After", "1");
	api_fail(th, req, resp, 503, PROBLEM_UNAVAILABLE, "Service unavailable", "%s", detail);
}

void api_resp_json(api_resp_t *resp, int status, const char *body, size_t len)
{
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = body;
	resp->body_len = len;
}

/* ---- request helpers ----------------------------------------------------- */

/* The locales the request prefers, as the catalog's priority list ("de,fr"):
 * ?locale= (one tag), else Accept-Language by q-value; NULL = default */
int api_req_channel(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		    const shm_image_t *img, const channel_rec_t **out)
{
	const void *v = NULL;
	*out = NULL;
	if (shm_image_view(img, th->seg->channel_view, &v) != 0) {
		api_unavailable_why(th, req, resp, "the current image has no usable channel table");
		return SOUK_ECORRUPT;
	}
	switch (channel_resolve(v, req->channel, req->host, out)) {
	case CHANNEL_FOUND:
		/* a channel code is a name: nothing to escape in a header */
		sbuf_adds(&resp->headers, "Souk-Channel: ");
		sbuf_add(&resp->headers, (*out)->code, strnlen((*out)->code, CHANNEL_CODE_MAX));
		sbuf_add(&resp->headers, "\r\n", 2);
		return 0;
	case CHANNEL_NONE:
		return 0;
	case CHANNEL_UNKNOWN:
		api_fail(th, req, resp, 404, PROBLEM_CHANNEL_UNKNOWN, "Unknown channel",
			 "X-Souk-Channel names no active channel");
		return SOUK_ENOENT;
	case CHANNEL_NO_MATCH:
		break;
	}
	api_fail(th, req, resp, 404, PROBLEM_CHANNEL_UNKNOWN, "Unknown channel",
		 "this host is none of a channel's hostnames and no default channel is "
		 "configured; name one with X-Souk-Channel");
	return SOUK_ENOENT;
}

const char *api_channel_locale(api_thread_t *th, const channel_rec_t *c, const char *list,
			       const char **picked)
{
	if (picked)
		*picked = NULL;
	if (c == NULL)
		return list;
	size_t i = channel_pick_locale(c, list, list ? strlen(list) : 0);
	if (picked)
		*picked = c->locales[i];
	size_t n = strlen(c->locales[i]);
	char *out = arena_alloc(th->arena, n + 1 + c->locale_list_len + 1);
	if (out == NULL)
		return c->locale_list;
	memcpy(out, c->locales[i], n);
	out[n] = ',';
	memcpy(out + n + 1, c->locale_list, c->locale_list_len + 1);
	return out;
}

const char *api_req_locale(api_thread_t *th, const api_req_t *req, const char *query,
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
		api_resp_header(th, resp, "WWW-Authenticate", "Bearer realm=\"souk\"");
		api_fail(th, req, resp, 401, PROBLEM_UNAUTHORIZED, "Unauthorized",
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
	api_resp_header(th, resp, "WWW-Authenticate", "Bearer realm=\"souk\", error=\"invalid_token\"");
	api_fail(th, req, resp, 401, PROBLEM_UNAUTHORIZED, "Unauthorized",
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
	api_fail(th, req, resp, 403, PROBLEM_FORBIDDEN, "Forbidden",
	     "this request needs the permission '%s'", perm_name(need));
	return false;
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
bool api_public_read(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
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
bool api_list_not_modified(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			      const catalog_view_t *view)
{
	char etag[64];
	int n = snprintf(etag, sizeof(etag), "\"%" PRIu64 ".%" PRIu64 "\"", view->seq,
			 shm_image_created_ms(view->img));
	if (!api_public_read(th, req, resp, etag, (size_t)n))
		return false;
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
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
	api_problem(th, req, resp, &p);
	return false;
}

/* The entity id in the route; false once a 404 problem is sent. */
bool api_route_entity_id(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			     const route_t *rt, store_id_t *id)
{
	if (store_id_parse(rt->entity_id, id) != 0) {
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such %s",
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
	if (th->seg == NULL)
		return;
	/* unchanged settings: no image to acquire (writes would otherwise map
	 * every new generation just to read four numbers) */
	uint64_t gen = shm_ctl_settings_gen(th->seg->ctl);
	if (gen != 0 && gen == th->limits_gen && th->seg == th->limits_seg) {
		*out = th->limits_cache;
		return;
	}
	th->limits_gen = 0;
	if (thread_reader(th) != 0 || shm_reader_acquire(th->reader, &img) != 0)
		return;
	if (shm_image_view(img, th->seg->settings_view, &v) == 0) {
		const shm_settings_t *set = v;
		if (set->max_body != 0 && set->max_body < out->max_body)
			out->max_body = set->max_body;
		if (set->max_json_depth != 0 && set->max_json_depth <= UINT_MAX)
			out->max_json_depth = (unsigned)set->max_json_depth;
		out->min_seq_wait_ms = set->min_seq_wait_ms;
		out->request_timeout_ms = set->request_timeout_ms;
		/* gen was loaded before the image: a newer announcement is
		 * seen at the next request */
		th->limits_cache = *out;
		th->limits_gen = gen;
		th->limits_seg = th->seg;
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
int api_get_view(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		    const catalog_view_t **view)
{
	api_t *api = th->api;
	uint64_t min_seq = 0;
	const shm_image_t *img = NULL;
	bool waiting = false;
	int rc;
	if (req->min_seq != NULL && souk_parse_u64(req->min_seq, 0, UINT64_MAX, &min_seq) != 0) {
		api_fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "Souk-Min-Seq must be a non-negative integer");
		return SOUK_EINVAL;
	}
	/* only a read that waits for its write needs the bound */
	uint64_t deadline = min_seq == 0 ? 0 : souk_now_mono_ms() + req_limits(th)->min_seq_wait_ms;
	for (;;) {
		if (th->seg == NULL) {
			api_unavailable_why(th, req, resp, "no catalog image has been published yet");
			rc = SOUK_ENOENT;
			goto out;
		}
		rc = thread_reader(th);
		if (rc != 0) {
			api_unavailable_why(th, req, resp, "cannot read the shared-memory images");
			goto out;
		}
		/* no image: none published yet, or the segment was replaced and
		 * its images removed (soukd restarting); a read that waits for
		 * its write waits for the new segment's image too */
		bool no_image = shm_reader_acquire(th->reader, &img) != 0;
		if (no_image && min_seq == 0) {
			api_unavailable_why(th, req, resp, "no catalog image has been published yet");
			rc = SOUK_ENOENT;
			goto out;
		}
		if (!no_image) {
			th->acquired = true;
			const void *v = NULL;
			rc = shm_image_view(img, th->seg->catalog_view, &v);
			if (rc != 0) {
				api_unavailable_why(th, req, resp, "the current image has no usable catalog");
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
				api_fail(th, req, resp, 400, PROBLEM_MIN_SEQ_AHEAD, "Sequence not committed",
				     "Souk-Min-Seq names a change that has not been made; send the "
				     "Souk-Seq of a write");
				rc = SOUK_EINVAL;
				goto out;
			}
			if (atomic_fetch_add(&api->waiters, 1) >= api->max_waiters) {
				atomic_fetch_sub(&api->waiters, 1);
				shm_slot_count(api_thread_slot(th), MET_MIN_SEQ_BUSY, 1);
				api_unavailable_why(th, req, resp,
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
	api_resp_header(th, resp, "Retry-After", "1");
	api_fail(th, req, resp, 503, PROBLEM_NOT_VISIBLE, "Not yet visible",
	     "the catalog does not include change %" PRIu64 " yet", min_seq);
	rc = SOUK_ETIMEOUT;
out:
	if (waiting)
		atomic_fetch_sub(&api->waiters, 1);
	return rc;
}

/* ---- reads from the image ----------------------------------------------- */


/* ?limit= of a page: 1..API_LIST_MAX, else a field error in p */
void api_query_limit(const char *query, size_t query_len, uint64_t *limit, problem_t *p)
{
	char s[24];
	size_t n;
	int rc = query_get(query, query_len, "limit", s, sizeof(s), &n);
	if ((rc == 0 && souk_parse_u64(s, 1, API_LIST_MAX, limit) != 0) ||
	    (rc != 0 && rc != SOUK_ENOENT))
		problem_field(p, "limit", "must be an integer from 1 to 200");
}

/* 400 with the query parameters p names */
void api_bad_query(api_thread_t *th, const api_req_t *req, api_resp_t *resp, problem_t *p)
{
	p->status = 400;
	p->slug = PROBLEM_MALFORMED;
	p->title = "Malformed request";
	snprintf(p->detail, sizeof(p->detail), "invalid query parameters");
	api_problem(th, req, resp, p);
}


/* ---- records from LMDB --------------------------------------------------- */


/* ---- kinds read from LMDB (staff; not in the image) ------------------------- */



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
	api_fail(th, req, resp, 415, PROBLEM_MEDIA_TYPE, "Unsupported media type",
	     "send the body as application/json");
	return false;
}

json_t *api_read_body(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	problem_t p;
	json_t *doc = NULL;
	if (!json_content(th, req, resp))
		return NULL;
	problem_init(&p);
	if (model_parse_body(req->body, req->body_len, req_limits(th)->max_json_depth, &doc, &p) !=
	    0) {
		api_problem(th, req, resp, &p);
		return NULL;
	}
	return doc;
}

void api_idem_reused(api_thread_t *th, const api_req_t *req, api_resp_t *resp)
{
	problem_t p;
	problem_init(&p);
	problem_set(&p, 422, PROBLEM_IDEM_REUSED, "Idempotency-Key reused",
		    "this Idempotency-Key was sent with another request body; use a new key "
		    "for a new request");
	problem_field(&p, "Idempotency-Key", "already used for a different request");
	api_problem(th, req, resp, &p);
}

void api_unavailable(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc)
{
	if (rc == SOUK_EPANIC)
		api_internal(th, req, resp, rc);
	else
		api_unavailable_why(th, req, resp,
			    "the write could not be committed and may not have been stored");
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

API_HANDLER(h_healthz)
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
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	if (!healthy)
		api_resp_header(th, resp, "Retry-After", "1");
	api_resp_json(resp, healthy ? 200 : 503, b.data, b.len);
}

API_HANDLER(h_metrics)
{
	sbuf_t b;
	sbuf_init(&b, th->arena);
	api_seg_stats_t ss;
	api_seg_stats(th->api, &ss);
	metrics_render(&b, th->seg != NULL ? th->seg->ctl : NULL, th->api->store, &ss);
	if (b.failed) {
		api_internal(th, req, resp, SOUK_ENOMEM);
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
		api_fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "the web server sent no REQUEST_METHOD/REQUEST_URI");
		return;
	}
	if (strlen(req->uri) > API_HEADER_MAX) {
		api_fail(th, req, resp, 414, PROBLEM_HEADER_TOO_LARGE, "URI too long",
		     "the request URI is longer than %d bytes", API_HEADER_MAX);
		return;
	}
	const char *hdrs[] = {req->content_type,  req->if_match,	      req->idem_key,
			      req->authorization, req->min_seq,	      req->accept_language,
			      req->reason,	  req->if_none_match};
	for (size_t i = 0; i < SOUK_ARRAY_LEN(hdrs); i++) {
		if (hdrs[i] != NULL && strlen(hdrs[i]) > API_HEADER_MAX) {
			api_fail(th, req, resp, 431, PROBLEM_HEADER_TOO_LARGE,
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
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such resource");
		return;
	}
	if (rt.status == 405) {
		api_resp_header(th, resp, "Allow", "%s", rt.allow);
		api_fail(th, req, resp, 405, PROBLEM_METHOD, "Method not allowed",
		     "%s is not allowed here (allowed: %s)", req->method, rt.allow);
		return;
	}
	if (!authorize(th, req, resp, rt.perm))
		return;
	if (rt.write) {
		uint64_t max_body = req_limits(th)->max_body;
		if (req->body_too_large || req->body_len > max_body) {
			api_fail(th, req, resp, 413, PROBLEM_TOO_LARGE, "Content too large",
			     "the request body is larger than %" PRIu64 " bytes", max_body);
			return;
		}
		if (!reason_ok(th, req, resp))
			return;
	}
	if (rt.handler == NULL) {
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such resource");
		return;
	}
	rt.handler(th, req, resp, &rt, query, query_len);
	if (resp->status == 0)
		api_internal(th, req, resp, SOUK_EINVAL);
}

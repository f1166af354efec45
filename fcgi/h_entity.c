/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi/h_entity.c - the REST handlers every kind of the registry shares,
 * parameterised by the route's kind (model/model.h): create (201, Location,
 * Idempotency-Key), update (RFC 7396 merge patch, If-Match required), delete
 * (archive), revert to an earlier version, history, and staff get and list
 * from LMDB. Documents are validated by the kind's table (model_validate,
 * a 422 naming every bad field) and claim the unique and secondary keys it
 * declares (model_keys). A kind that needs no logic of its own gets these
 * by its rows in fcgi/routes.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/problem.h"
#include "common/time.h"
#include "common/util.h"
#include "fcgi/api_int.h"
#include "fcgi/handlers.h"
#include "model/model.h"
#include "fcgi/commit.h"
#include "store/store.h"

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
		api_fail(th, req, resp, 412, PROBLEM_PRECONDITION, "Precondition failed",
		     "If-Match needs the strong ETag of the version read, such as \"3\"; a weak "
		     "tag never matches");
		return false;
	case 0:
	case 2:
		api_fail(th, req, resp, 428, PROBLEM_PRECONDITION_REQUIRED, "Precondition required",
		     "send If-Match with the version (ETag) you read");
		return false;
	default:
		api_fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
		     "If-Match must be a version such as \"3\"");
		return false;
	}
}

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
		api_internal(th, req, resp, rc);
		return;
	}
	bool ok = record_body(th, resp, &rec.id, rec.version, rec.seq, rec.time_ms, rec.archived,
			      rec.doc, rec.doc_len);
	store_rec_deinit(&rec);
	if (!ok) {
		api_internal(th, req, resp, SOUK_ECORRUPT);
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
		api_internal(th, req, resp, SOUK_ENOMEM);
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
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such %s",
		     rt->kind->name);
		return false;
	}
	if (rc != 0) {
		api_internal(th, req, resp, rc);
		return false;
	}
	return true;
}

/* GET /{plural}/{id}/history: staff only (it holds drafts, archived versions,
 * actors and reasons), newest first, ?limit= versions a page from ?cursor=. */
API_HANDLER(h_entity_history)
{
	store_id_t id;
	store_rec_t rec;
	sbuf_t b;
	char cursor[24];
	size_t n;
	uint64_t limit = API_LIST_DEFAULT, from = UINT64_MAX;
	problem_t p;
	if (!api_route_entity_id(th, req, resp, rt, &id))
		return;
	problem_init(&p);
	api_query_limit(query, query_len, &limit, &p);
	int rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	if ((rc == 0 && n > 0 && hist_cursor(cursor, &from) != 0) ||
	    (rc != 0 && rc != SOUK_ENOENT))
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
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
			api_internal(th, req, resp, rc);
			return;
		}
	}
	if (v >= 1)
		sbuf_printf(&b, "],\"next_cursor\":\"v%" PRIu64 "\"}", v);
	else
		sbuf_adds(&b, "],\"next_cursor\":null}");
	if (b.failed) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	api_resp_json(resp, 200, b.data, b.len);
}

/* GET /{plural}/{id}: the current version, archived ones included. */
API_HANDLER(h_entity_get)
{
	store_id_t id;
	store_rec_t rec;
	if (!api_route_entity_id(th, req, resp, rt, &id) ||
	    !load_record(th, req, resp, rt, &id, false, &rec))
		return;
	bool ok = record_body(th, resp, &rec.id, rec.version, rec.seq, rec.time_ms, rec.archived,
			      rec.doc, rec.doc_len);
	uint64_t version = rec.version;
	store_rec_deinit(&rec);
	if (!ok) {
		api_internal(th, req, resp, SOUK_ECORRUPT);
		return;
	}
	api_resp_header_u64(resp, "ETag", version, true);
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
API_HANDLER(h_entity_list)
{
	sbuf_t b;
	char cursor[40];
	size_t n;
	problem_t p;
	entity_page_t pg = { .b = &b, .limit = API_LIST_DEFAULT };
	problem_init(&p);
	api_query_limit(query, query_len, &pg.limit, &p);
	int rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	if (rc == 0 && n > 0) {
		if (n != 32 || store_id_parse(cursor, &pg.after) != 0)
			problem_field(&p, "cursor", "is not a cursor returned by this API");
		pg.have_after = true;
	} else if (rc != 0 && rc != SOUK_ENOENT) {
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	}
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return;
	}
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	rc = store_scan_after(th->api->store, rt->kind->name, pg.have_after ? &pg.after : NULL,
			      entity_page_cb, &pg);
	if (pg.rc != 0 || (rc != 0 && rc != 1)) {
		api_internal(th, req, resp, pg.rc ? pg.rc : rc);
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
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	api_resp_json(resp, 200, b.data, b.len);
}

/* Submit one mutation; maps store results to problems. true when committed. */
/* A write of a kind with checks against other entities: the checks and
 * the put in one unit of the group commit, so nothing changes between
 * them. The unit may run more than once: it starts afresh each time. */
typedef struct {
	const model_kind_t *k;
	store_mut_t *m;
	problem_t p;
} checked_t;

static int checked_unit(store_txn_t *t, void *arg)
{
	checked_t *a = arg;
	json_error_t je;
	problem_init(&a->p);
	json_t *doc = a->m->doc ? json_loadb(a->m->doc, a->m->doc_len, 0, &je) : NULL;
	if (a->m->doc && !doc)
		return SOUK_ENOMEM;
	int rc = a->k->check_txn(a->k, t, doc, a->m->op != STORE_OP_CREATE ? &a->m->id : NULL,
				 &a->p);
	json_decref(doc);
	if (rc == 0 && a->p.status != 0)
		rc = SOUK_EINVAL;
	if (rc == 0)
		rc = store_txn_put(t, a->m);
	return rc;
}

static bool submit(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		   const model_kind_t *k, store_mut_t *m)
{
	int rc;
	if (k->check_txn && ((m->doc && (m->op == STORE_OP_CREATE || m->op == STORE_OP_UPDATE)) ||
			     m->op == STORE_OP_DELETE)) {
		checked_t *a = arena_alloc(th->arena, sizeof(*a));
		int result = 0;
		if (!a) {
			api_internal(th, req, resp, SOUK_ENOMEM);
			return false;
		}
		a->k = k;
		a->m = m;
		rc = commit_submit_unit(th->api->commit, checked_unit, a, m->actor, &result);
		if (rc == 0 && result == SOUK_EINVAL && a->p.status != 0) {
			api_problem(th, req, resp, &a->p);
			return false;
		}
		if (rc == 0 && result != 0 && m->result == 0)
			m->result = result; /* the unit stopped before its put */
	} else {
		rc = commit_submit(th->api->commit, m);
	}
	if (rc != 0) {
		/* a failed commit may still have reached the disk (LMDB cannot
		 * tell after a failed meta-page write) */
		api_unavailable_why(th, req, resp,
			    "the write could not be committed and may not have been stored; "
			    "retry with the same Idempotency-Key");
		return false;
	}
	switch (m->result) {
	case 0:
		api_resp_header_u64(resp, "Souk-Seq", m->seq, false);
		if (m->replayed)
			api_resp_header(th, resp, "Idempotent-Replayed", "true");
		return true;
	case SOUK_ECONFLICT:
		api_fail(th, req, resp, 412, PROBLEM_PRECONDITION, "Precondition failed",
		     "the %s changed since the version in If-Match; read it again", k->name);
		return false;
	case SOUK_EEXIST:
		api_fail(th, req, resp, 409, PROBLEM_CONFLICT, "Conflict", "another %s already uses this %s",
		     k->name, k->nkeys > 0 ? k->keys[0].name : "key");
		return false;
	case SOUK_ENOENT:
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such %s (or version)",
		     k->name);
		return false;
	case SOUK_EINVAL:
	case SOUK_ETOOBIG:
		api_fail(th, req, resp, 422, PROBLEM_VALIDATION, "Validation failed", "%s",
		     souk_strerror(m->result));
		return false;
	case SOUK_EREUSED: api_idem_reused(th, req, resp); return false;
	default: api_internal(th, req, resp, m->result); return false;
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
		api_fail(th, req, resp, 400, PROBLEM_MALFORMED, "Malformed request",
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
		api_idem_reused(th, req, resp);
	else if (rc != 0)
		api_internal(th, req, resp, rc);
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
		api_problem(th, req, resp, &p);
		return false;
	}
	int rc = model_keys(k, norm, &out->keys);
	if (rc != 0) {
		api_internal(th, req, resp, rc);
		return false;
	}
	char *s = json_dumps(norm, JSON_COMPACT);
	if (s == NULL) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return false;
	}
	out->doc = arena_strndup(th->arena, s, strlen(s));
	free(s);
	if (out->doc == NULL) {
		api_internal(th, req, resp, SOUK_ENOMEM);
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
		api_problem(th, req, resp, &p);
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

API_HANDLER(h_entity_create)
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
		api_resp_header_u64(resp, "Souk-Seq", m.seq, false);
		api_resp_header(th, resp, "Idempotent-Replayed", "true");
	} else {
		if ((in = api_read_body(th, req, resp)) == NULL)
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
	api_resp_header(th, resp, "Location", "/api/v1/%s/%s", k->plural, hex);
	api_resp_header_u64(resp, "ETag", m.version, true);
	respond_written(th, req, resp, k, &m, pr.doc, 201);
out:
	json_decref(norm);
	json_decref(in);
}

static bool current(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt,
		    store_id_t *id, store_rec_t *rec)
{
	memset(rec, 0, sizeof(*rec));
	return api_route_entity_id(th, req, resp, rt, id) &&
	       load_record(th, req, resp, rt, id, true, rec);
}

API_HANDLER(h_entity_update)
{
	uint64_t want = 0;
	store_id_t id;
	store_rec_t rec;
	json_t *patch = NULL, *cur = NULL, *merged = NULL, *norm = NULL;
	prepared_t pr;
	store_mut_t m;
	if (!required_version(th, req, resp, &want))
		return;
	if ((patch = api_read_body(th, req, resp)) == NULL)
		return;
	if (!current(th, req, resp, rt, &id, &rec))
		goto out;
	if (rec.version != want) {
		api_resp_header_u64(resp, "ETag", rec.version, true);
		api_fail(th, req, resp, 412, PROBLEM_PRECONDITION, "Precondition failed",
		     "the %s is at version %" PRIu64 ", not %" PRIu64, rt->kind->name, rec.version,
		     want);
		store_rec_deinit(&rec);
		goto out;
	}
	json_error_t je;
	cur = json_loadb(rec.doc, rec.doc_len, 0, &je);
	store_rec_deinit(&rec);
	if (cur == NULL || (merged = model_merge_patch(cur, patch)) == NULL) {
		api_internal(th, req, resp, SOUK_ECORRUPT);
		goto out;
	}
	if (!entity_mut(th, req, resp, rt->kind, merged, STORE_OP_UPDATE, &norm, &pr, &m))
		goto out;
	m.id = id;
	m.expect_version = want;
	if (!submit(th, req, resp, rt->kind, &m))
		goto out;
	api_resp_header_u64(resp, "ETag", m.version, true);
	respond_written(th, req, resp, rt->kind, &m, pr.doc, 200);
out:
	json_decref(norm);
	json_decref(merged);
	json_decref(cur);
	json_decref(patch);
}

API_HANDLER(h_entity_delete)
{
	uint64_t want = 0;
	store_id_t id;
	store_mut_t m;
	if (!required_version(th, req, resp, &want))
		return;
	if (!api_route_entity_id(th, req, resp, rt, &id))
		return;
	mut_init(th, req, rt->kind, &m, STORE_OP_DELETE);
	m.id = id;
	m.expect_version = want;
	if (!submit(th, req, resp, rt->kind, &m))
		return;
	resp->status = 204;
}

API_HANDLER(h_entity_revert)
{
	uint64_t want = 0;
	store_id_t id;
	store_mut_t m;
	json_t *in = NULL;
	if (!required_version(th, req, resp, &want))
		return;
	if (!api_route_entity_id(th, req, resp, rt, &id))
		return;
	if ((in = api_read_body(th, req, resp)) == NULL)
		return;
	json_t *v = json_object_get(in, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_object_size(in) != 1) {
		problem_t p;
		problem_init(&p);
		problem_field(&p, "version",
			      "the body must be {\"version\": N} with N an existing version >= 1");
		api_problem(th, req, resp, &p);
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
	api_resp_header_u64(resp, "ETag", m.version, true);
	respond_record(th, req, resp, rt->kind, &m.id, m.version, 200);
}

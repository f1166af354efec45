/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi/h_batch.c - POST /api/v1/batch: a list of operations run as ONE unit
 * of work in the group commit, all or nothing.
 *
 *   {"operations":[
 *     {"op":"create","kind":"product","doc":{...}},
 *     {"op":"update","kind":"warehouse","id":"...","version":3,"doc":{...}},
 *     {"op":"delete","kind":"product","id":"...","version":4},
 *     {"op":"counter_add","name":"stock:x","delta":-1,"floor":0,"ceiling":9}]}
 *
 * Any kind of the registry (model_kinds[]) may be written; each operation
 * needs the permission its single route needs (the kind's write permission,
 * counter.write for counters) besides batch.write, checked before anything
 * runs (403 naming the operation). Documents are validated by the kind's
 * table as the single-entity routes validate them, and claim the same
 * unique and secondary keys (update replaces the whole document; "version"
 * is the optional If-Match). Inside the unit the operations run in order; the
 * first failure drops every write of the batch and is answered as the
 * problem the single route would give, naming the operation. On success the
 * answer lists each operation's result, after the commit is durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "fcgi/arena.h"
#include "fcgi/commit.h"
#include "fcgi/api_int.h"
#include "fcgi/handlers.h"
#include "model/model.h"
#include "store/store.h"

#define BATCH_OPS_MAX 16

typedef struct {
	bool counter;
	store_mut_t tpl;   /* the mutation as prepared (id zero for a create) */
	store_mut_t done;  /* as the unit ran it */
	const model_kind_t *kind;
	/* the keys the document claims (copied into the arena) */
	const char *keys[MODEL_KEY_VALUES_MAX], *index[MODEL_KEY_VALUES_MAX];
	size_t key_lens[MODEL_KEY_VALUES_MAX], index_lens[MODEL_KEY_VALUES_MAX];
	const char *name;  /* counter */
	size_t name_len;
	int64_t delta, floor, ceiling, value;
} batch_op_t;

typedef struct {
	batch_op_t ops[BATCH_OPS_MAX];
	size_t n;
	size_t failed_at;
	problem_t checks; /* field errors of a kind's checks in the transaction */
} batch_t;

/* The kind's checks against other entities, as the entity routes run them
 * (model_kind_t.check_txn), on the batch's state so far. */
static int op_checks(store_txn_t *t, batch_t *b, const batch_op_t *o)
{
	bool write = o->tpl.doc && (o->tpl.op == STORE_OP_CREATE || o->tpl.op == STORE_OP_UPDATE);
	if (!o->kind || !o->kind->check_txn || (!write && o->tpl.op != STORE_OP_DELETE))
		return 0;
	json_error_t je;
	json_t *doc = write ? json_loadb(o->tpl.doc, o->tpl.doc_len, 0, &je) : NULL;
	if (write && !doc)
		return SOUK_ENOMEM;
	int rc = o->kind->check_txn(o->kind, t, doc,
				    o->tpl.op != STORE_OP_CREATE ? &o->tpl.id : NULL, &b->checks);
	json_decref(doc);
	return rc ? rc : b->checks.status ? SOUK_EINVAL : 0;
}

static int batch_unit(store_txn_t *t, void *arg)
{
	batch_t *b = arg;
	int rc = 0;
	problem_init(&b->checks);
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		batch_op_t *o = &b->ops[i];
		b->failed_at = i;
		if (o->counter) {
			rc = store_counter_add(t, o->name, o->name_len, o->delta, o->floor, o->ceiling,
					       &o->value);
			continue;
		}
		if ((rc = op_checks(t, b, o)) != 0)
			break;
		o->done = o->tpl; /* a unit may run again: from the template */
		rc = store_txn_put(t, &o->done);
	}
	return rc;
}

static bool op_int(json_t *op, const char *name, int64_t *out, bool required, problem_t *p,
		   size_t i)
{
	json_t *v = json_object_get(op, name);
	if (v == NULL && !required)
		return true;
	if (!json_is_integer(v)) {
		problem_field(p, "operations", "operation %zu: %s must be an integer", i, name);
		return false;
	}
	*out = (int64_t)json_integer_value(v);
	return true;
}

/* "product, warehouse": the kinds a batch may write, for the error. */
static const char *kind_names(char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < model_nkinds && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", model_kinds[i]->name);
	return buf;
}

/* Copy len bytes into the arena (the request body and model_keys_t are
 * gone before the unit runs). */
static const char *arena_copy(api_thread_t *th, const char *s, size_t len)
{
	char *d = arena_alloc(th->arena, len ? len : 1);
	if (d != NULL && len)
		memcpy(d, s, len);
	return d;
}

/* The normalised document of o and the keys it claims, into the arena. */
static bool prepare_doc(api_thread_t *th, const model_kind_t *k, const json_t *norm,
			batch_op_t *o, size_t i, problem_t *p)
{
	const char *status = json_string_value(json_object_get(norm, "status"));
	model_keys_t *keys = arena_alloc(th->arena, sizeof(*keys));
	store_mut_t *m = &o->tpl;
	if ((k->flags & MODEL_K_STATUS) && status != NULL && strcmp(status, "archived") == 0) {
		problem_field(p, "operations", "operation %zu: use delete to archive a %s", i,
			      k->name);
		return false;
	}
	if (keys == NULL || model_keys(k, norm, keys) != 0) {
		problem_field(p, "operations", "operation %zu: a key of the document is too long",
			      i);
		return false;
	}
	char *s = json_dumps(norm, JSON_COMPACT);
	bool ok = s != NULL;
	if (ok) {
		m->doc_len = strlen(s);
		m->doc = arena_copy(th, s, m->doc_len);
		m->doc_is_json_object = true;
		ok = m->doc != NULL;
	}
	free(s);
	for (size_t j = 0; ok && j < keys->nunique; j++) {
		o->key_lens[j] = keys->unique_len[j];
		ok = (o->keys[j] = arena_copy(th, keys->unique[j], keys->unique_len[j])) != NULL;
	}
	for (size_t j = 0; ok && j < keys->nindex; j++) {
		o->index_lens[j] = keys->index_len[j];
		ok = (o->index[j] = arena_copy(th, keys->index[j], keys->index_len[j])) != NULL;
	}
	if (!ok) {
		problem_field(p, "operations", "operation %zu: out of memory", i);
		return false;
	}
	m->keys = o->keys;
	m->key_lens = o->key_lens;
	m->nkeys = keys->nunique;
	m->index_keys = o->index;
	m->index_key_lens = o->index_lens;
	m->nindex = keys->nindex;
	return true;
}

/* One operation of the body into o; false with a field error in p. */
static bool op_prepare(api_thread_t *th, const api_req_t *req, json_t *op, size_t i,
		       batch_op_t *o, problem_t *p)
{
	const char *kind_s = json_string_value(json_object_get(op, "op"));
	memset(o, 0, sizeof(*o));
	if (kind_s == NULL) {
		problem_field(p, "operations", "operation %zu: \"op\" is required", i);
		return false;
	}
	if (strcmp(kind_s, "counter_add") == 0) {
		const char *name = json_string_value(json_object_get(op, "name"));
		o->counter = true;
		o->floor = INT64_MIN;
		o->ceiling = INT64_MAX;
		if (name == NULL || !store_counter_name_ok(name, strlen(name))) {
			problem_field(p, "operations", "operation %zu: a counter name is required", i);
			return false;
		}
		/* the body is freed before the unit runs */
		o->name_len = strlen(name);
		if ((o->name = arena_strndup(th->arena, name, o->name_len)) == NULL) {
			problem_field(p, "operations", "operation %zu: out of memory", i);
			return false;
		}
		return op_int(op, "delta", &o->delta, true, p, i) &&
		       op_int(op, "floor", &o->floor, false, p, i) &&
		       op_int(op, "ceiling", &o->ceiling, false, p, i);
	}
	store_op_t sop = strcmp(kind_s, "create") == 0 ? STORE_OP_CREATE
			 : strcmp(kind_s, "update") == 0 ? STORE_OP_UPDATE
			 : strcmp(kind_s, "delete") == 0 ? STORE_OP_DELETE
							 : 0;
	const char *kind = json_string_value(json_object_get(op, "kind"));
	const model_kind_t *k = kind ? model_kind_find(kind) : NULL;
	if (sop == 0 || k == NULL) {
		char names[256];
		problem_field(p, "operations",
			      "operation %zu: op is create, update, delete (with a kind: %s) or "
			      "counter_add",
			      i, kind_names(names, sizeof(names)));
		return false;
	}
	store_mut_t *m = &o->tpl;
	o->kind = k;
	m->op = sop;
	m->kind = k->name;
	m->actor = th->principal.id;
	m->reason = req->reason;
	int64_t ver = 0;
	if (!op_int(op, "version", &ver, false, p, i))
		return false;
	m->expect_version = ver > 0 ? (uint64_t)ver : 0;
	if (sop != STORE_OP_CREATE) {
		const char *id = json_string_value(json_object_get(op, "id"));
		if (id == NULL || store_id_parse(id, &m->id) != 0) {
			problem_field(p, "operations", "operation %zu: a 32-hex-digit id is required", i);
			return false;
		}
	}
	if (sop == STORE_OP_DELETE)
		return true;
	json_t *norm = NULL;
	problem_t vp;
	problem_init(&vp);
	if (model_validate(k, NULL, json_object_get(op, "doc"), false, &norm, &vp) != 0) {
		for (size_t e = 0; e < vp.nerrors; e++)
			problem_field(p, "operations", "operation %zu: %s: %s", i, vp.errors[e].field,
				      vp.errors[e].detail);
		if (vp.nerrors == 0)
			problem_field(p, "operations", "operation %zu: doc: %s", i, vp.detail);
		return false;
	}
	bool ok = prepare_doc(th, k, norm, o, i, p);
	json_decref(norm);
	return ok;
}

static void batch_failed(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const batch_t *b, int rc)
{
	problem_t p;
	problem_init(&p);
	const char *what = souk_strerror(rc);
	size_t i = b->failed_at;
	if (rc == SOUK_EINVAL && b->checks.status != 0 && b->checks.status != 422) {
		/* a refusal with its own status (an archive that would orphan) */
		problem_set(&p, b->checks.status, b->checks.slug, b->checks.title,
			    "operation %zu: %s; nothing in the batch was changed", i,
			    b->checks.detail);
		api_problem(th, req, resp, &p);
		return;
	}
	if (rc == SOUK_EINVAL && b->checks.status != 0) {
		/* the kind's own field errors, under the operation that made them */
		problem_set(&p, 422, PROBLEM_VALIDATION, "Validation failed",
			    "operation %zu: %s; nothing in the batch was changed", i,
			    "it does not fit the entities it names");
		for (size_t e = 0; e < b->checks.nerrors; e++)
			problem_field(&p, "operations", "operation %zu: %s %s", i,
				      b->checks.errors[e].field, b->checks.errors[e].detail);
		api_problem(th, req, resp, &p);
		return;
	}
	switch (rc) {
	case SOUK_ELIMIT:
		problem_set(&p, 409, PROBLEM_COUNTER_LIMIT, "Counter limit",
			    "operation %zu: %s; nothing in the batch was changed", i, what);
		break;
	case SOUK_ECONFLICT:
		problem_set(&p, 412, PROBLEM_PRECONDITION, "Precondition failed",
			    "operation %zu: the entity changed since the version given; nothing in "
			    "the batch was changed", i);
		break;
	case SOUK_EEXIST:
		problem_set(&p, 409, PROBLEM_CONFLICT, "Conflict",
			    "operation %zu: another %s already uses this %s; nothing in the batch "
			    "was changed",
			    i, b->ops[i].kind ? b->ops[i].kind->name : "entity",
			    b->ops[i].kind && b->ops[i].kind->nkeys ? b->ops[i].kind->keys[0].name
								    : "key");
		break;
	case SOUK_ENOENT:
		problem_set(&p, 404, PROBLEM_NOT_FOUND, "Not found",
			    "operation %zu: no such entity; nothing in the batch was changed", i);
		break;
	case SOUK_EINVAL:
	case SOUK_ETOOBIG:
		problem_set(&p, 422, PROBLEM_VALIDATION, "Validation failed",
			    "operation %zu: %s; nothing in the batch was changed", i, what);
		break;
	default: api_unavailable(th, req, resp, rc); return;
	}
	api_problem(th, req, resp, &p);
}

API_HANDLER(h_batch)
{
	batch_t *b = arena_alloc(th->arena, sizeof(*b));
	problem_t p;
	json_t *doc = api_read_body(th, req, resp);
	if (doc == NULL)
		return;
	problem_init(&p);
	json_t *ops = json_object_get(doc, "operations");
	if (b == NULL) {
		api_unavailable(th, req, resp, SOUK_ENOMEM);
		json_decref(doc);
		return;
	}
	memset(b, 0, sizeof(*b));
	if (!json_is_array(ops) || json_array_size(ops) == 0 ||
	    json_array_size(ops) > BATCH_OPS_MAX) {
		problem_field(&p, "operations", "a list of 1 to %d operations is required",
			      BATCH_OPS_MAX);
	} else {
		b->n = json_array_size(ops);
		for (size_t i = 0; i < b->n; i++)
			op_prepare(th, req, json_array_get(ops, i), i, &b->ops[i], &p);
	}
	json_decref(doc);
	if (p.status != 0) {
		api_problem(th, req, resp, &p);
		return;
	}
	/* every operation needs what its own route needs */
	for (size_t i = 0; i < b->n; i++) {
		perm_id_t need = b->ops[i].counter ? PERM_COUNTER_WRITE : b->ops[i].kind->perm_write;
		if (!perm_allowed(&th->principal, need, NULL)) {
			problem_set(&p, 403, PROBLEM_FORBIDDEN, "Forbidden",
				    "operation %zu needs the permission '%s'", i, perm_name(need));
			api_problem(th, req, resp, &p);
			return;
		}
	}
	int result = 0;
	int rc = commit_submit_unit(th->api->commit, batch_unit, b, th->principal.id, &result);
	if (rc != 0 || result != 0) {
		batch_failed(th, req, resp, b, rc != 0 ? rc : result);
		return;
	}
	sbuf_t out;
	uint64_t seq = 0;
	sbuf_init(&out, th->arena);
	sbuf_adds(&out, "{\"results\":[");
	for (size_t i = 0; i < b->n; i++) {
		const batch_op_t *o = &b->ops[i];
		if (i)
			sbuf_adds(&out, ",");
		if (o->counter) {
			sbuf_adds(&out, "{\"op\":\"counter_add\",\"name\":");
			sbuf_add_json_str(&out, o->name, o->name_len);
			sbuf_printf(&out, ",\"value\":%" PRId64 "}", o->value);
			continue;
		}
		char hex[33];
		store_id_hex(&o->done.id, hex);
		static const char *const names[] = { "", "create", "update", "delete", "revert" };
		sbuf_printf(&out, "{\"op\":\"%s\",\"id\":\"%s\",\"version\":%" PRIu64 ",\"seq\":%" PRIu64 "}",
			    names[o->done.op], hex, o->done.version, o->done.seq);
		if (o->done.seq > seq)
			seq = o->done.seq;
	}
	sbuf_adds(&out, "]}");
	if (seq)
		sbuf_printf(&resp->headers, "Souk-Seq: %" PRIu64 "\r\n", seq);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = out.data;
	resp->body_len = out.failed ? 0 : out.len;
}

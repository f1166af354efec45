/* SPDX-License-Identifier: Apache-2.0 */
/* daemon/migrate.c - stored documents to their kind's current shape
 * (migrate.h). */
#include "daemon/migrate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"

/* One document to write: its new form and the keys it holds. */
typedef struct {
	store_mut_t mut;
	char *doc;
	model_keys_t keys;
} move_t;

typedef struct {
	const model_kind_t *k;
	uint32_t from;
	move_t *moves;
	size_t n;
	size_t seen;	   /* records handed to the callback this page */
	store_id_t last;   /* last id of the page */
	migrate_stats_t *st;
	char reason[96];
	int err;
} page_t;

static void moves_clear(page_t *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->moves[i].doc);
	p->n = 0;
}

/* The document's current shape: NULL when it is refused (p->st counts). */
static json_t *moved(page_t *p, const store_rec_t *rec)
{
	json_error_t je;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &je), *norm = NULL;
	problem_t err;
	char hex[33];
	problem_init(&err);
	if (doc && p->k->migrate && p->k->migrate(doc, p->from) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	if (!doc || model_validate(p->k, NULL, doc, false, &norm, &err) != 0) {
		store_id_hex(&rec->id, hex);
		log_daemon_warn("migrate, %s '%s' version %" PRIu64
				" does not fit version %u of its kind (%s), keeping it as stored",
				p->k->name, hex, rec->version, p->k->version,
				err.nerrors ? err.errors[0].field : "not a JSON object");
		p->st->refused++;
		json_decref(doc);
		return NULL;
	}
	json_decref(doc);
	return norm;
}

static int page_cb(const store_rec_t *rec, void *arg)
{
	page_t *p = arg;
	p->seen++;
	p->last = rec->id;
	if (rec->archived)
		return p->seen >= MIGRATE_BATCH;
	json_t *norm = moved(p, rec);
	if (!norm)
		return p->seen >= MIGRATE_BATCH;
	char *text = json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER);
	move_t *m = &p->moves[p->n];
	memset(m, 0, sizeof(*m));
	int rc = text ? model_keys(p->k, norm, &m->keys) : SOUK_ENOMEM;
	json_decref(norm);
	if (rc) {
		free(text);
		p->err = rc;
		return 1;
	}
	if (strlen(text) == rec->doc_len && memcmp(text, rec->doc, rec->doc_len) == 0) {
		free(text);
		p->st->unchanged++;
		return p->seen >= MIGRATE_BATCH;
	}
	m->doc = text;
	m->mut = (store_mut_t){
		.op = STORE_OP_UPDATE,
		.kind = p->k->name,
		.id = rec->id,
		.expect_version = rec->version,
		.doc = text,
		.doc_len = strlen(text),
		.keys = m->keys.unique,
		.key_lens = m->keys.unique_len,
		.nkeys = m->keys.nunique,
		.index_keys = m->keys.index,
		.index_key_lens = m->keys.index_len,
		.nindex = m->keys.nindex,
		.actor = MIGRATE_ACTOR,
		.reason = p->reason,
	};
	p->n++;
	return p->seen >= MIGRATE_BATCH;
}

typedef struct {
	const char *kind;
	uint32_t version;
} mark_t;

static int mark_unit(store_txn_t *t, void *arg)
{
	const mark_t *m = arg;
	return store_txn_set_kind_version(t, m->kind, m->version);
}

/* Write the page's moves in one durable batch. */
static int page_write(store_t *s, page_t *p)
{
	store_work_t w[MIGRATE_BATCH];
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		w[n++] = (store_work_t){.mut = &p->moves[i].mut};
	if (n == 0)
		return 0;
	int rc = store_apply_work(s, w, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->n; i++) {
		int r = p->moves[i].mut.result;
		if (r == 0)
			p->st->changed++;
		else if (r == SOUK_ECONFLICT || r == SOUK_ENOENT)
			p->st->conflicts++;
		else
			return r;
	}
	return 0;
}

int migrate_kind(store_t *s, const model_kind_t *k, migrate_stats_t *st)
{
	uint32_t want = k->version ? k->version : 1, have;
	int rc = store_kind_version(s, k->name, &have);
	if (rc)
		return rc;
	have = have ? have : 1;
	if (have > want) {
		log_daemon_err("migrate, the stored %s documents are version %u, newer than this "
			       "program's %u",
			       k->name, have, want);
		return SOUK_EVERSION;
	}
	if (have == want)
		return 0;
	page_t p = {.k = k, .from = have, .st = st};
	uint64_t conflicts = st->conflicts;
	snprintf(p.reason, sizeof(p.reason), "%s documents from version %u to %u", k->name, have,
		 want);
	if (!(p.moves = calloc(MIGRATE_BATCH, sizeof(*p.moves))))
		return SOUK_ENOMEM;
	bool first = true;
	for (;;) {
		p.seen = 0;
		rc = store_scan_after(s, k->name, first ? NULL : &p.last, page_cb, &p);
		first = false;
		if (p.err || (rc != 0 && rc != 1)) {
			rc = p.err ? p.err : rc;
			break;
		}
		bool last = p.seen < MIGRATE_BATCH;
		rc = page_write(s, &p);
		moves_clear(&p);
		if (rc || last)
			break;
	}
	/* recorded once every document is in the new shape; a conflict leaves
	 * the old version recorded, so the next start looks at them again (a
	 * crash before this point too: moved documents are unchanged then) */
	if (rc == 0 && st->conflicts == conflicts) {
		mark_t mark = {k->name, want};
		store_work_t w = {.fn = mark_unit, .arg = &mark, .actor = MIGRATE_ACTOR};
		rc = store_apply_work(s, &w, 1);
		rc = rc ? rc : w.result;
		if (rc == 0) {
			st->kinds++;
			log_daemon_info("migrate, %s documents are version %u now", k->name, want);
		}
	} else if (rc == 0) {
		log_daemon_warn("migrate, %s: %" PRIu64 " documents changed meanwhile, looked at "
				"again at the next start",
				k->name, st->conflicts - conflicts);
	}
	moves_clear(&p);
	free(p.moves);
	return rc;
}

int migrate_all(store_t *s, migrate_stats_t *st)
{
	for (size_t i = 0; i < model_nkinds; i++) {
		int rc = migrate_kind(s, model_kinds[i], st);
		if (rc)
			return rc;
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * model/model.h - the kind registry.
 *
 * Every entity kind is one const model_kind_t: its fields (type, bounds,
 * required, read-only, personal data, default), its unique and secondary
 * keys, its document limit, the permissions that read, write and see its
 * history, and its image provider when it has one. Everything generic walks
 * the table: validation (model_validate, a 422 naming every bad field),
 * the keys a write claims (model_keys), the REST handlers (fcgi/h_entity.c),
 * imports (CSV and NDJSON, daemon/import.c), and the OpenAPI check.
 *
 * A kind's table sits with its domain (domain/catalog/product.c,
 * domain/inventory/warehouse.c); domain/kinds.c lists them all
 * (model_kinds[]).
 *
 * Where this stands: perm.c, json.c and validate.c are implemented and
 * used (products validate through their table); the registry lookups and
 * keys below are declared for the kinds that move onto them next.
 *
 * Stored documents are JSON objects with the fields in table order (the
 * normalised form model_validate returns); the API adds the read-only
 * record fields "id", "version", "seq", "updated_at" (and "archived") when
 * it renders a record, and refuses them in writes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/problem.h"
#include "model/perm.h"

#define MODEL_MAGIC 0x4b494e44u /* "KIND" */

typedef enum {
	MODEL_TEXT = 1,   /* string, NFC; min..max code points (max 0: no bound
			   * beyond the document limit) */
	MODEL_NAME,       /* identifier: 1..max of [A-Za-z0-9._-] (with
			   * MODEL_F_INNER_SPACE also single inner spaces) */
	MODEL_LOCALE_MAP, /* {BCP 47 tag: text}: locale tags canonicalised,
			   * up to max_items locales, each text 1..max code
			   * points (min 0 with MODEL_F_EMPTY_OK) */
	MODEL_MONEY,      /* {"amount": integer minor units, "currency": ISO 4217} */
	MODEL_PRICE_MAP,  /* {ISO 4217: integer minor units 0..max}, up to
			   * max_items currencies, currency codes checked
			   * with ICU */
	MODEL_INTEGER,    /* integer min..max */
	MODEL_BOOL,
	MODEL_ENUM,       /* string, one of values[] */
	MODEL_TIMESTAMP,  /* RFC 3339 string, normalised to UTC with ms */
	MODEL_REF,        /* reference to an entity of kind `ref`: its 32-hex id */
	MODEL_LIST,       /* array of `item`, min..max elements (max_items) */
	MODEL_OBJECT,     /* object with `fields` (nfields), unknown keys refused */
	MODEL_MAP,        /* object with free keys (1..max_key bytes, no
			   * control characters, no '/') whose values are
			   * `item` (NULL: strings of at most max code points,
			   * numbers, booleans, or arrays of up to
			   * MODEL_MAP_ARRAY_MAX of those), up to max_items keys */
} model_type_t;

#define MODEL_MAP_ARRAY_MAX 32

/* field flags */
#define MODEL_F_REQUIRED 0x01u    /* a full document must have it (no default) */
#define MODEL_F_READONLY 0x02u    /* set by the server; writes refuse it */
#define MODEL_F_PII 0x04u         /* personal data (the privacy issue's data map) */
#define MODEL_F_REMOVABLE 0x08u   /* a merge patch may remove it with null */
#define MODEL_F_INNER_SPACE 0x10u /* MODEL_NAME: single inner spaces allowed */
#define MODEL_F_EMPTY_OK 0x20u    /* MODEL_TEXT/LOCALE_MAP: "" allowed */
#define MODEL_F_DEFAULT_LOCALE 0x40u /* MODEL_LOCALE_MAP: must hold the
				      * configured default locale */
#define MODEL_F_MULTILINE 0x80u   /* MODEL_TEXT/LOCALE_MAP/MAP text: line
				   * breaks and tabs allowed */

typedef struct model_field model_field_t;
struct model_field {
	const char *name;              /* JSON member name */
	model_type_t type;
	unsigned flags;                /* MODEL_F_* */
	int64_t min, max;              /* integer bounds; text length in code points */
	uint32_t max_items;            /* LIST/MAP/LOCALE_MAP/PRICE_MAP entries */
	uint32_t max_key;              /* MAP key bytes */
	const char *const *values;     /* ENUM: NULL-terminated */
	const char *const *aliases;    /* ENUM: former values and what they are
					* now, in pairs, NULL-terminated
					* ("active", "published"): taken and
					* stored as the new value */
	const char *ref;               /* REF: kind name */
	const model_field_t *item;     /* LIST/MAP element */
	const model_field_t *fields;   /* OBJECT members */
	size_t nfields;
	const char *def;               /* default, as JSON text ("\"active\"", "0");
					* applied to full documents only */
	const char *help;              /* one line for docs and OpenAPI */
	/* PII category and retention class (the privacy issue), "" when none */
	const char *pii_category;
};

/* A key of a kind: the value of one top-level field (MODEL_NAME, MODEL_TEXT,
 * MODEL_ENUM, MODEL_REF, MODEL_INTEGER, MODEL_BOOL), or each element of a
 * MODEL_LIST of those (a channel's hostnames: no two live channels answer
 * one host), encoded for the store as name \0 value ("sku\0ABC"). Unique keys are claimed by one live entity of
 * the kind at a time (SOUK_EEXIST -> 409); secondary keys are non-unique
 * indexes maintained in the same transaction (store_index_scan). A document
 * without the field has no such key.
 *
 * A composite key (`also` set) is taken from several top-level fields: the
 * value of `field`, then of each field in `also`, joined by
 * MODEL_KEY_SEPARATOR ("tier\0uk-2026\x1fA-1\x1f10" for a price's list, sku
 * and min_qty). A part may be a scalar as above, or a MODEL_OBJECT or
 * MODEL_MAP (a variant's options {"size":"M","colour":"red"}), which
 * contributes its canonical form: compact JSON with members sorted by key
 * at every depth, so two documents with the same combination in any member
 * order claim the same key. No part is a list. A document lacking any part
 * holds no such key (as a missing single field). The separator cannot occur
 * in a part: validation refuses control characters in text and names, and
 * canonical JSON escapes them. MODEL_KEY_LOOKUP is for single-field keys
 * only. A kind whose key parts could together pass STORE_KEY_MAX bounds
 * them in its check hook (model_keys answers SOUK_ETOOBIG). */
#define MODEL_KEY_UNIQUE 0x01u
#define MODEL_KEY_LOOKUP 0x02u /* served at GET /api/v1/{plural}/by-{name}/{value} */
#define MODEL_KEY_SEPARATOR '\x1f' /* between the parts of a composite key */
#define MODEL_KEY_PARTS_MAX 8       /* fields of one composite key */
typedef struct {
	const char *name;  /* key name, also the store encoding's prefix */
	const char *field; /* top-level field it is taken from (the first part) */
	unsigned flags;    /* MODEL_KEY_* */
	/* further top-level fields of a composite key, NULL-terminated; NULL:
	 * a single-field key */
	const char *const *also;
} model_key_t;

/* kind flags */
#define MODEL_K_PUBLIC_READ 0x01u /* anonymous reads from the image (catalog) */
#define MODEL_K_STATUS 0x02u      /* has a "status" enum with "draft" hidden
				   * from public reads */

struct provider_ops; /* model/provider.h: the section provider of a kind in the image */
struct store_txn;    /* store/store.h: a unit's view of the write transaction */

typedef struct model_kind model_kind_t;
struct model_kind {
	uint32_t magic;                 /* MODEL_MAGIC */
	const char *name;               /* "product": [a-z0-9_]{1,32}, the store kind */
	const char *plural;             /* "products": the URL segment, [a-z0-9_-] */
	const char *title;              /* "Product": for problems and docs */
	const model_field_t *fields;
	size_t nfields;
	const model_key_t *keys;
	size_t nkeys;
	size_t doc_max;                 /* bytes of the stored document: the one
					 * limit every layer derives from */
	perm_id_t perm_read;            /* staff reads (LMDB, drafts) */
	perm_id_t perm_write;
	perm_id_t perm_history;
	unsigned flags;                 /* MODEL_K_* */
	const struct provider_ops *image; /* its section provider; NULL: not in the image */
	/* Checks beyond the field table on a normalised full document (cross-
	 * field rules, render limits); record field errors in err. May be NULL. */
	void (*check)(const model_kind_t *k, const json_t *doc, problem_t *err);
	/* Import column aliases and create defaults (model/import.h); NULL:
	 * the field table alone maps the kind's files. */
	const struct model_import *import;
	/* The shape of its stored documents (0 = 1). When it rises, soukd
	 * moves every stored document to it at start (daemon/migrate.c):
	 * migrate (NULL: nothing beyond the table) turns a document of an
	 * older version into the current shape in place, then it is
	 * normalised through the table (new defaults, enum aliases) and
	 * written as a new version with history and an audit leaf. */
	uint32_t version;
	int (*migrate)(json_t *doc, uint32_t from_version);
	/* Checks against other entities, inside the write transaction of a
	 * create, update or archive (API writes, batches and imports):
	 * references that must exist, trees that must stay trees. t reads the
	 * batch's state (store.h "inside a unit"); id is the entity's on an
	 * update or archive, NULL on a create; doc is NULL on an archive (a
	 * DELETE). Record field errors in err (a 422 when any; an archive's
	 * refusal sets its own status, such as 409), or return a store error.
	 * May be NULL. */
	int (*check_txn)(const model_kind_t *k, struct store_txn *t, const json_t *doc,
			 const void *id, problem_t *err);
};

/* ---- the registry (domain/kinds.c) ---- */
extern const model_kind_t *const model_kinds[];
extern const size_t model_nkinds;
/* By store name or by URL plural; NULL when unknown. */
const model_kind_t *model_kind_find(const char *name);
const model_kind_t *model_kind_by_plural(const char *plural, size_t len);
/* Check a table for mistakes (bad names, bounds, enum without values, keys
 * naming missing fields, unset permissions): 0 or SOUK_EINVAL with the
 * reason in why. Run over every kind by the unit tests and at start-up. */
int model_kind_check(const model_kind_t *k, char *why, size_t why_len);

/* ---- validation (model/validate.c) ---- */
typedef struct {
	const char *default_locale; /* for MODEL_F_DEFAULT_LOCALE; NULL = "en" */
} model_opts_t;
/* Validate `in` against k. partial: a merge-patch fragment (every field
 * optional, no defaults, null only for MODEL_F_REMOVABLE fields). Returns 0
 * and a new reference in *normalized (fields in table order, text NFC,
 * defaults applied to full documents), or SOUK_EINVAL with every field error
 * in err (422, field paths like "price/GBP", "title/en"), or SOUK_ENOMEM.
 * Unknown fields and read-only fields are refused by name. */
int model_validate(const model_kind_t *k, const model_opts_t *o, const json_t *in, bool partial,
		   json_t **normalized, problem_t *err);

/* Identifier-like names (MODEL_NAME): 1..max of [A-Za-z0-9._-], with
 * inner_space also single inner spaces. */
bool model_name_valid(const char *s, size_t len, size_t max, bool inner_space);
/* Bytes of v as json_dumps(v, JSON_COMPACT) writes it. */
size_t model_dumped_len(const json_t *v);
/* Bytes of the object doc as dumped; *biggest names its largest member
 * (NULL for an empty object). */
size_t model_doc_size(const json_t *doc, const char **biggest);

/* ---- keys (model/keys.c) ---- */
#define MODEL_KEYS_MAX 16	/* keys a kind declares */
#define MODEL_KEY_VALUES_MAX 40 /* key values a document holds: a key on a list
				 * of scalars holds one per element, so a
				 * kind's keys over lists count their
				 * max_items (model_kind_check) */
typedef struct {
	/* unique keys then secondary keys, each name \0 value */
	char buf[MODEL_KEY_VALUES_MAX][400];
	const char *unique[MODEL_KEY_VALUES_MAX];
	size_t unique_len[MODEL_KEY_VALUES_MAX];
	size_t nunique;
	const char *index[MODEL_KEY_VALUES_MAX];
	size_t index_len[MODEL_KEY_VALUES_MAX];
	size_t nindex;
} model_keys_t;
/* The keys a normalised document of k holds. SOUK_ETOOBIG when a value
 * does not fit a store key. */
int model_keys(const model_kind_t *k, const json_t *doc, model_keys_t *out);
/* Encode one key (name \0 value) into buf (cap bytes): its length, or a
 * negative SOUK_* code. */
int model_key_encode(const char *name, const char *value, size_t value_len, char *buf,
		     size_t cap);

/* ---- JSON helpers (model/json.c) ---- */
/* RFC 7396 JSON merge patch: a new document (target not modified). */
json_t *model_merge_patch(const json_t *target, const json_t *patch);
/* Parse a request body: a JSON object, nesting at most max_depth, UTF-8,
 * no duplicate keys. 0 and a new reference, or SOUK_EINVAL with a 400
 * problem (type malformed-request or invalid-utf8). */
int model_parse_body(const char *body, size_t len, unsigned max_depth, json_t **out,
		     problem_t *err);

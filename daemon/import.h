/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/import.h - import and export of any kind (CSV and JSON Lines).
 *
 * One pipeline for every kind (model/model.h): a CSV record or a JSON line
 * becomes a document, the document is checked and normalised by the kind's
 * table (model_validate: the same validation as API writes, then the
 * kind's document limit), its keys come from model_keys, and it goes
 * through store_apply in batches (one durable transaction per batch). The
 * import is idempotent: an entity that exists is updated only when the
 * file changes it, otherwise counted as unchanged. A bad line is reported
 * with its line number and every bad field (a CSV line with a bad cell
 * also names the bad values among its other cells), and skipped; the
 * import goes on. opts->kind NULL is the product kind (IMPORT_KIND_DEFAULT).
 *
 * Matching: a record with an "id" (32 hex) that names a stored entity of
 * the kind updates it; otherwise the kind's first MODEL_KEY_UNIQUE key
 * (product: sku, warehouse: code) finds it; otherwise it is created (with
 * the given id, if any). A kind with neither only creates. Archived
 * entities are left alone (skipped).
 *
 * CSV: a header line names the columns (case-insensitive, any order), from
 * the kind's field table:
 *   <field>              a top-level field: text (white space runs collapsed
 *                        into one space), MODEL_INTEGER as a number,
 *                        MODEL_BOOL as true/false/yes/no/1/0; MODEL_LIST,
 *                        MODEL_MAP, MODEL_MONEY (and a whole MODEL_OBJECT)
 *                        as a JSON text; a MODEL_LOCALE_MAP as its default
 *                        locale ("en")
 *   <field>_<locale>     a MODEL_LOCALE_MAP entry ("title_fr")
 *   <field>_<CUR>        a MODEL_PRICE_MAP entry from an exact decimal in
 *                        major units ("0.85" -> 85 minor units, in the
 *                        currency's ISO 4217 minor digits; a code that is no
 *                        currency is an error)
 *   <field>.<member>     a member of a MODEL_OBJECT, recursively
 *                        ("address.city")
 *   id                   the entity's id
 * plus the aliases the kind declares (model/import.h; products:
 * domain/catalog/product_import.c). An unknown column, a read-only field or
 * a column given twice is a header error: nothing is imported. An empty
 * cell sets nothing. A new entity gets the kind's create defaults where
 * the file says nothing; an existing one gets only what the file has
 * (locale maps, price maps and objects are merged entry by entry, so
 * other locales and currencies are kept).
 *
 * JSON Lines: one document per line (an optional "id"), replacing the
 * stored one; a line without a field that has a create default keeps the
 * stored value (a new entity gets the default).
 *
 * Export writes every current (not archived) entity of a kind in id order:
 * JSON Lines as the stored document plus "id"; CSV with the columns above
 * in table order (a locale or price column for each locale or currency in
 * use, sorted; JSON-text columns only when some entity has the field), no
 * id column. Products export as sku,status,seller,category,title_<loc>...,
 * description_<loc>...,price_<CUR>...,stock(,attributes).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "model/model.h"
#include "store/store.h"

typedef enum {
	IMPORT_FMT_AUTO = 0, /* from the file name: .csv, else JSON Lines */
	IMPORT_FMT_CSV,
	IMPORT_FMT_JSONL,
} import_format_t;

typedef void (*import_error_fn)(void *arg, uint64_t line, const char *msg);

typedef struct {
	const model_kind_t *kind;  /* NULL = the product kind (IMPORT_KIND_DEFAULT) */
	import_format_t format;
	size_t batch;              /* mutations per transaction; 0 = 500 */
	const char *actor;         /* NULL = "import" */
	const char *reason;        /* NULL = "import" */
	uint64_t default_stock;    /* the create default flagged
				    * MODEL_IMPORT_D_COUNT (products: the stock
				    * of new CSV products without one) */
	const char *seller;        /* the create default flagged
				    * MODEL_IMPORT_D_SELLER (products: the
				    * seller of new ones); NULL = the kind's */
	bool dry_run;              /* check and count, write nothing */
	import_error_fn on_error;  /* per-line errors; NULL = log them */
	void *error_arg;
} import_opts_t;

typedef struct {
	uint64_t records;   /* data records read */
	uint64_t created;
	uint64_t updated;
	uint64_t unchanged;
	uint64_t skipped;   /* archived entities left alone */
	uint64_t failed;    /* bad lines and refused mutations */
} import_stats_t;

#define IMPORT_BATCH_DEFAULT 500
#define IMPORT_KIND_DEFAULT "product" /* the kind of opts->kind NULL and of soukctl */
/* Import reads whatever the API accepts and export writes, for any kind:
 * the store's ceiling bounds every kind's doc_max. A JSON line is the
 * document plus its "id"; a CSV record at most doubles text by quoting. */
#define IMPORT_DOC_MAX STORE_DOC_MAX
#define IMPORT_RECORD_MAX (2 * STORE_DOC_MAX + 4096) /* one CSV record or JSON line */

/* A kind by its store name (model_kind_find) or NULL; with a NULL name the
 * default kind. import_kind_names writes the registered names, comma
 * separated, for messages. */
const model_kind_t *import_kind(const char *name);
void import_kind_names(char *buf, size_t cap);

/* Import a file ("-" = stdin). Returns 0 when the file was read to the end
 * (bad lines are in stats->failed), or an error that stopped the import
 * (unreadable file, bad CSV header, failed commit, SOUK_EINVAL for a kind
 * that is not registered). */
int import_file(store_t *s, const char *path, const import_opts_t *opts,
		import_stats_t *stats);
int import_mem(store_t *s, const char *data, size_t len, const import_opts_t *opts,
	       import_stats_t *stats);

/* Export every current (not archived) entity of kind k (NULL = the default
 * kind), in id order. "-" = stdout. */
int export_kind_file(store_t *s, const model_kind_t *k, const char *path, import_format_t format,
		     uint64_t *count);
int export_kind_stream(store_t *s, const model_kind_t *k, FILE *f, import_format_t format,
		       uint64_t *count);
/* The same for the default kind (products). */
int export_file(store_t *s, const char *path, import_format_t format, uint64_t *count);
int export_stream(store_t *s, FILE *f, import_format_t format, uint64_t *count);

/* ---- pieces, exposed for tests and the fuzzer ------------------------------ */

/* RFC 4180 reader over a buffer: quoted fields, "" escapes, CRLF or LF,
 * newlines inside quotes; a leading UTF-8 BOM is skipped, empty lines too. */
typedef struct {
	const char *p, *end;
	uint64_t line;       /* next physical line */
	char *buf;           /* fields of the current record, NUL-terminated */
	size_t buf_len, buf_cap;
	size_t *off;         /* field i at buf + off[i] */
	size_t *len;
	size_t nfields, fields_cap;
} import_csv_t;

void import_csv_init(import_csv_t *r, const char *data, size_t len);
void import_csv_deinit(import_csv_t *r);
/* 1 = a record (fields in r, starting at *line), 0 = end of input,
 * SOUK_EINVAL = a malformed record (skipped; *err says why, *line where). */
int import_csv_next(import_csv_t *r, uint64_t *line, const char **err);

/* "0.85" -> 85 with exp 2; exact, no floats. SOUK_EINVAL when malformed,
 * negative, with more significant decimals than exp, or above 10^15. */
int import_parse_decimal(const char *s, size_t len, unsigned exp, uint64_t *out);
/* Check and normalise a document of kind k (NULL = the default kind) as
 * the API does (model_validate, then k->doc_max): 0 and a new reference in
 * *normalized, or SOUK_EINVAL with a message naming every bad field. */
int import_validate(const model_kind_t *k, const json_t *doc, json_t **normalized, char *err,
		    size_t err_len);

/* Map a CSV file to documents of opts->kind without a store (the fuzzer
 * uses it): cb gets each line's fields to set (an "id" member when the file
 * has an id column) and what a new entity gets besides (create defaults and
 * create-only columns), or an error. */
typedef void (*import_csv_doc_fn)(void *arg, uint64_t line, json_t *set, json_t *create,
				  const char *err);
int import_csv_docs(const char *data, size_t len, const import_opts_t *opts,
		    import_csv_doc_fn cb, void *arg);

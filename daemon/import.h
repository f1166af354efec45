/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/import.h - catalog import and export (CSV and JSON Lines).
 *
 * Import goes through store_apply in batches (one durable transaction per
 * batch), keyed by SKU (unique key "sku\0<sku>" of kind "product"), and is
 * idempotent: a product that exists is updated only when the file changes
 * it, otherwise counted as unchanged. A bad line is reported with its line
 * number and skipped; the import goes on.
 *
 * CSV: a header line names the columns (case-insensitive, any order):
 *   sku | StockCode              -> "sku" (required)
 *   title | title_<locale>       -> "title".<locale> (default locale "en")
 *   description | description_<locale> -> "description".<locale>; when the
 *                                   file has no title column, "description"
 *                                   is the title (the demo catalog's layout)
 *   price_<CUR> | MedianUnitPriceGBP -> "price".<CUR> from a decimal ("0.85"
 *                                   -> 85 minor units, parsed exactly)
 *   stock                        -> "stock"
 *   Lines                        -> "stock" of a new product only
 *   category, status, seller     -> same-named fields
 * A new product gets "status":"active", the category IMPORT_CATEGORY_DEFAULT
 * and the default stock unless the file says otherwise (the demo catalog
 * carries its categories as a column). An existing product gets only the fields the file has (other
 * locales and currencies are kept).
 * JSON Lines: one product document per line, replacing the stored one; a
 * line without "status", "seller" or "category" keeps the stored ones (a new
 * product gets "active", the default seller and IMPORT_CATEGORY_DEFAULT); an optional "id" (32 hex)
 * is used when the product is created (export writes it).
 * Every document is checked and normalised by the product kind's table
 * (model_validate, domain/catalog/product.c), as API writes are; new products without a seller get
 * opts->seller (default IMPORT_SELLER_DEFAULT).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "domain/catalog/product.h"
#include "store/store.h"

typedef enum {
	IMPORT_FMT_AUTO = 0, /* from the file name: .csv, else JSON Lines */
	IMPORT_FMT_CSV,
	IMPORT_FMT_JSONL,
} import_format_t;

typedef void (*import_error_fn)(void *arg, uint64_t line, const char *msg);

typedef struct {
	import_format_t format;
	size_t batch;              /* mutations per transaction; 0 = 500 */
	const char *actor;         /* NULL = "import" */
	const char *reason;        /* NULL = "catalog import" */
	uint64_t default_stock;    /* stock of new CSV products without one */
	const char *seller;        /* seller of new products without one; NULL =
				    * IMPORT_SELLER_DEFAULT */
	bool dry_run;              /* check and count, write nothing */
	import_error_fn on_error;  /* per-line errors; NULL = log them */
	void *error_arg;
} import_opts_t;

typedef struct {
	uint64_t records;   /* data records read */
	uint64_t created;
	uint64_t updated;
	uint64_t unchanged;
	uint64_t skipped;   /* archived products left alone */
	uint64_t failed;    /* bad lines and refused mutations */
} import_stats_t;

#define IMPORT_BATCH_DEFAULT 500
#define IMPORT_SELLER_DEFAULT "house"
#define IMPORT_CATEGORY_DEFAULT "other" /* category of new products without one */
/* From the one product limit (fcgi/product.h): import reads whatever the API
 * accepts and export writes. A JSON line is the document plus its "id"; a
 * CSV record at most doubles text by quoting. */
#define IMPORT_DOC_MAX PRODUCT_DOC_MAX /* one stored product document */
#define IMPORT_RECORD_MAX (2 * PRODUCT_DOC_MAX + 4096) /* one CSV record or JSON line */

/* Import a file ("-" = stdin). Returns 0 when the file was read to the end
 * (bad lines are in stats->failed), or an error that stopped the import
 * (unreadable file, bad CSV header, failed commit). */
int import_file(store_t *s, const char *path, const import_opts_t *opts,
		import_stats_t *stats);
int import_mem(store_t *s, const char *data, size_t len, const import_opts_t *opts,
	       import_stats_t *stats);

/* Export every current (not archived) product, in id order. "-" = stdout.
 * CSV columns: sku,status,seller,category,title_<loc>...,description_<loc>...,
 * price_<CUR>...,stock (attributes are only in JSON Lines). */
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
/* Check and normalise a product document (product_validate): 0 and a new
 * reference in *normalized, or SOUK_EINVAL with a message naming the fields. */
int import_product_validate(json_t *doc, json_t **normalized, char *err, size_t err_len);

/* Map a CSV file to product documents without a store (the fuzzer uses it):
 * cb gets each line's fields to set and the create-only defaults, or an error. */
typedef void (*import_csv_doc_fn)(void *arg, uint64_t line, json_t *set, json_t *create,
				  const char *err);
int import_csv_docs(const char *data, size_t len, const import_opts_t *opts,
		    import_csv_doc_fn cb, void *arg);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * model/import.h - what a kind adds to the generic import (daemon/import.c)
 * beyond its field table, pointed to by model_kind_t.import.
 *
 * The field table alone maps CSV columns (a column per top-level field,
 * `<field>_<locale>`, `<field>_<CUR>`, `<field>.<member>`) and keys the
 * records (the kind's first unique key, or "id"). A kind whose files come
 * in other shapes declares them here as data:
 * - aliases: another name for a generic column ("StockCode" for "sku"),
 *   optionally only when no other column fills a field (a "Description"
 *   that is the title when the file has no title column), or used only
 *   when the entity is created (a count that must not reset stock);
 * - create defaults: values a new entity gets when the file does not give
 *   them (beyond the field table's own defaults, which apply to every
 *   write). A JSON line that lacks such a field keeps the stored value.
 */
#include <stddef.h>

#define MODEL_IMPORT_CREATE_ONLY 0x01u /* alias: the value is used only when the
					* entity is created */
typedef struct {
	const char *column; /* header name, compared case-insensitively */
	const char *as;     /* the generic column it stands for: "sku", "price_GBP" */
	unsigned flags;     /* MODEL_IMPORT_* */
	const char *unless; /* a top-level field: the alias holds only when no
			     * other column fills it; NULL = always */
} model_import_alias_t;

/* create-default flags */
#define MODEL_IMPORT_D_CSV 0x01u    /* CSV records only (a JSON line is a whole
				     * document: it gets the table's defaults) */
#define MODEL_IMPORT_D_SELLER 0x02u /* import_opts_t.seller replaces the value
				     * when set */
#define MODEL_IMPORT_D_COUNT 0x04u  /* import_opts_t.default_stock replaces it */
typedef struct {
	const char *field; /* top-level field */
	const char *json;  /* its value as JSON text ("\"active\"", "0") */
	unsigned flags;    /* MODEL_IMPORT_D_* */
} model_import_default_t;

struct model_import {
	const model_import_alias_t *aliases;
	size_t naliases;
	const model_import_default_t *defaults;
	size_t ndefaults;
};
typedef struct model_import model_import_t;

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/collection_image.h - collections inside a published image:
 * soukd's collection provider (domain/catalog/collection_provider.h) writes
 * every active collection with its members, workers read a collection by
 * code, walk its products in order and test membership with one hash
 * lookup (the product list's ?collection= filter).
 *
 * One section, COLLECTION_SECTION:
 *   header, records sorted by code (kind, names, first member and count),
 *   (locale, name, direction) triples, the members (16-byte product ids;
 *   a collection's run is contiguous), a hash index (collection index,
 *   product id) -> member index (open addressing, one uint32_t a slot,
 *   at most half full), and the strings.
 * Member order: a manual collection's is its "products" list as written;
 * a rule collection's is ascending product id (the products that matched
 * its rule when the image was built), so a cursor over it resumes exactly
 * after the last product delivered however membership changed meanwhile.
 * Members are stored whatever their status or channel listings: readers
 * skip what the request's channel does not serve (catalog_get_in).
 * Offsets only; every offset and index is checked at bind.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"
#include "store/store.h"

struct json_t;

#define COLLECTION_SECTION   "col.set"
#define COLLECTION_SEC_MAGIC 0x314c4f43u /* "COL1" */
#define COL_IMG_NONE	     UINT32_MAX
#define COL_KIND_MANUAL	     0u
#define COL_KIND_RULE	     1u

typedef struct {
	uint32_t code_off, code_len;  /* strings */
	uint32_t kind;		      /* COL_KIND_* */
	uint32_t names_first, nnames; /* its (locale, name) triples */
	uint32_t members_first, nmembers;
	uint32_t pad;
} col_rec_t;

typedef struct {
	uint32_t locale_off, name_off;
	uint32_t rtl; /* 1: the locale is written right to left */
	uint32_t pad;
} col_name_t;

typedef struct {
	const struct col_hdr *hdr; /* NULL: the image has no collections */
	const col_rec_t *recs;
	const col_name_t *names;
	const store_id_t *members;
	const uint32_t *slots; /* the membership index */
	uint32_t nslots;
	const char *str;
	uint32_t n, nnames, nmembers;
	size_t str_len;
	uint64_t seq;
} col_view_t;

/* A collection as the builder takes it. */
typedef struct {
	const char *code;
	const struct json_t *name; /* {locale: text} */
	uint32_t kind;		   /* COL_KIND_* */
	const store_id_t *members; /* in order (ascending for rule collections) */
	size_t nmembers;
} col_src_t;

/* The section for n collections (any order; codes unique) into heap
 * memory (free with free()): 0, SOUK_EEXIST for a code twice or a product
 * twice in one collection, SOUK_ENOMEM. Loads ICU data (directions). */
int col_build_mem(const col_src_t *c, size_t n, uint64_t seq, void **sec, size_t *len);

int col_view_init_mem(const void *sec, size_t len, col_view_t *out);
/* Bound once per image; an image without the section binds an empty view. */
extern const shm_view_def_t col_view_def;

/* The collection of code (len bytes), COL_IMG_NONE when none. */
uint32_t col_find(const col_view_t *v, const char *code, size_t len);
static inline const char *col_code(const col_view_t *v, uint32_t i)
{
	return v->str + v->recs[i].code_off;
}
/* Collection i's name for a priority list of locales (souk_accept_language
 * form, RFC 4647 lookup), else its first name, else its code; *locale and
 * *rtl (may be NULL) get the locale served ("" for the code). */
const char *col_name(const col_view_t *v, uint32_t i, const char *list, size_t list_len,
		     const char **locale, bool *rtl);
/* The member index (into v->members) of product id in collection i,
 * COL_IMG_NONE when it is not a member. One hash lookup. */
uint32_t col_member(const col_view_t *v, uint32_t i, const store_id_t *id);
/* Where a page of collection i resumes after the product id that was at
 * position pos (0-based within the collection) when the previous page was
 * read: after id where it is now; for a rule collection it left, at the
 * first member above it; for a manual one, at pos. A member index. */
uint32_t col_resume(const col_view_t *v, uint32_t i, uint32_t pos, const store_id_t *id);

/* The cursor of a collection page: "<position>.<product id>" of the last
 * product delivered (position within the collection from 0, decimal; the
 * id in 32 lowercase hex), for col_resume. */
#define COL_CURSOR_MAX 44 /* 10 digits, '.', 32 hex and the NUL */
void col_cursor_make(uint32_t pos, const store_id_t *id, char out[COL_CURSOR_MAX]);
/* Parse n bytes of s: 0, or SOUK_EINVAL for anything col_cursor_make does
 * not write (any case of hex is taken). */
int col_cursor_parse(const char *s, size_t n, uint32_t *pos, store_id_t *id);

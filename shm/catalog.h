#pragma once
/*
 * shm/catalog.h - the product catalog inside a published image.
 *
 * soukd (daemon/publisher.c) builds the catalog sections from LMDB; souk-fcgi
 * reads them lock-free. A product GET is a lookup and a copy of JSON that was
 * rendered at publish time, once per locale the product has.
 *
 * Stored product document (LMDB, kind "product", written by souk-fcgi and
 * soukctl import, validated by fcgi/product.c):
 *   {"sku":"85123A","status":"active"|"draft"|"archived","seller":"s1",
 *    "category":"home","title":{"en":"..."},"description":{"en":"..."},
 *    "price":{"GBP":255,"EUR":299},  (integer minor units, ISO 4217 keys)
 *    "stock":12, "attributes":{...}}
 * Rendered (what GET returns, per locale): the stored fields plus
 *   "id" (32 hex), "version", "seq", "updated_at" (RFC 3339 UTC),
 *   "locale" (the one rendered), "title"/"description" as the string for
 *   that locale (falling back to the default locale, then to any), and
 *   "titles"/"descriptions" with every locale.
 * Archived (deleted) products are not served by GET or lists.
 *
 * Sections (all offsets, no pointers): "cat.meta", "cat.rec" (records),
 * "cat.id" (hash index id -> record), "cat.sku" (hash index sku -> record),
 * "cat.order" (record offsets sorted by category then id, for cursor lists).
 */
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"
#include "store/store.h"

typedef struct {
	const shm_image_t *img;
	const void *meta, *rec, *id_idx, *sku_idx, *order;
	size_t meta_len, rec_len, id_idx_len, sku_idx_len, order_len;
	uint64_t count;      /* products served */
	uint64_t seq;        /* change-log sequence this image includes */
} catalog_view_t;

/* Bind a view to an image; SOUK_ENOENT when the image has no catalog. */
int catalog_view_init(const shm_image_t *img, catalog_view_t *out);

/* Rendered JSON of one product for a locale (NULL or unknown locale = the
 * default one). *json points into the image (valid until release). */
int catalog_get(const catalog_view_t *v, const store_id_t *id, const char *locale,
		const char **json, size_t *len, uint64_t *version);
int catalog_get_by_sku(const catalog_view_t *v, const char *sku, size_t sku_len,
		       const char *locale, const char **json, size_t *len,
		       uint64_t *version);

/* Cursor pagination in stable order (category, id). category NULL = all.
 * cursor NULL = from the start; next_cursor (33 bytes) is "" at the end.
 * cb gets each rendered JSON; returns non-zero to stop. */
typedef int (*catalog_list_cb)(const char *json, size_t len, void *arg);
int catalog_list(const catalog_view_t *v, const char *category, const char *cursor,
		 uint32_t limit, const char *locale, catalog_list_cb cb, void *arg,
		 char next_cursor[33]);

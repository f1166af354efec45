/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/sections.h - the product catalog inside a published image.
 *
 * soukd (daemon/publisher.c) builds the catalog sections from LMDB; souk-fcgi
 * reads them lock-free. A product GET is a lookup and a copy of JSON that was
 * rendered at publish time, once per locale the product has.
 *
 * Stored product document (LMDB, kind "product", written by souk-fcgi and
 * soukctl import, validated by fcgi/product.c):
 *   {"sku":"85123A","status":"published"|"draft"|"archived","seller":"s1",
 *    "category":"home","title":{"en":"..."},"description":{"en":"..."},
 *    "price":{"GBP":255,"EUR":299},  (integer minor units, ISO 4217 keys)
 *    "stock":12, "attributes":{...}}
 * Rendered (what GET returns, per locale): the stored fields plus
 *   "id" (32 hex), "version", "seq", "updated_at" (RFC 3339 UTC),
 *   "locale" (the one rendered), "title"/"description" as the string for
 *   that locale (falling back to the default locale, then to any), and
 *   "titles"/"descriptions" with every locale.
 * Archived (deleted) and draft products are not served by GET or lists:
 * the publisher builds them into the image as hidden tombstones (the image
 * holds only what public, cacheable reads may answer; staff read drafts
 * from LMDB, e.g. their history).
 *
 * Sections (all offsets, no pointers): "cat.meta", "cat.rec" (records),
 * "cat.id" (hash index id -> record), "cat.sku" (hash index sku -> record),
 * "cat.order" (record offsets sorted by category then id, for cursor lists),
 * "cat.attr" (the attributes product types declare filterable: for each
 * attribute code, the product types where it is and its type there).
 *
 * Attribute values for list filters: each record carries its product's type
 * (a hash of the type code) and the values of every attribute of the
 * product and of its published variants (their options and attributes) in
 * a form reads test without JSON: a sorted set of 64-bit hashes of (code,
 * value) for text, bool, enum, multi_enum (one per element), date and
 * reference values, and sorted (code hash, fixed-point number) pairs for
 * numbers. Whether an attribute may be filtered on is decided at request
 * time from "cat.attr", so a product type that makes an attribute
 * filterable (or no longer) takes effect in the next image without
 * rendering its products again.
 *
 * Base and delta (see shm/image.h): a full image holds every product. A
 * delta image holds the same sections over only the products changed
 * since its base: new renderings, tombstones for archived products (kept in
 * its order list so cursors naming them resolve) and "gone" tombstones for
 * products no longer in the catalog at all (id index only). Reads look in
 * the delta first (a tombstone hides the base's record), then in the base;
 * a base record whose id the delta holds is stale and never served, also
 * not by its old SKU. Lists merge the delta's order list with the base's
 * (skipping stale base entries), so cursor pagination stays exact and
 * stable: every served product once, in (category, id) order.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"
#include "store/store.h"

#define CATALOG_DEFAULT_LOCALE "en"
#define CATALOG_LOCALE_MAX 40   /* locale tag incl. NUL (BCP 47 tags up to 35) */
#define CATALOG_LOCALES_MAX 64  /* renderings per product */
#define CATALOG_KEY_MAX 255     /* sku and category bytes */
#define CATALOG_REC_MAX (64u << 20) /* one record: the renderings of one product */

/* ---- building (soukd) ----------------------------------------------------- */
/* One rendering of a product: JSON for one locale. */
typedef struct {
	char locale[CATALOG_LOCALE_MAX];
	const char *json;
	size_t json_len;
	uint32_t var_at; /* with variants: offset of the '[' of its "variants" */
} catalog_loc_t;

/* A product's listing in one channel (the product's "channels" map): times
 * are epoch ms, 0 = no bound. */
#define CATALOG_CHANNEL_MAX 40 /* a channel code and its NUL, padded */
#define CATALOG_LISTINGS_MAX 32
typedef struct {
	char channel[CATALOG_CHANNEL_MAX];
	uint8_t published;
	uint8_t listed;
	uint8_t pad[6];
	int64_t published_at_ms;
	int64_t purchasable_from_ms;
	int64_t purchasable_until_ms;
} catalog_listing_t;

/* One of a product's own prices (its "price" map). */
#define CATALOG_PRICES_MAX 32
typedef struct {
	char currency[4];
	uint32_t pad;
	int64_t amount;
} catalog_price_t;

/* Attribute values in the record (see above). Numbers are fixed-point in
 * 1/CATALOG_NUM_SCALE of the attribute's unit. */
#define CATALOG_NUM_DECIMALS 4
#define CATALOG_NUM_SCALE    10000
typedef struct {
	uint64_t code;	/* catalog_attr_code_hash */
	int64_t value;	/* x CATALOG_NUM_SCALE */
} catalog_num_t;

/* The hashes the record and the filters share: of a product type's code,
 * of an attribute code, and of one value of that attribute (its text:
 * "red", "true", "2027-01-31"). Never 0. */
uint64_t catalog_type_hash(const char *code, size_t len);
uint64_t catalog_attr_code_hash(const char *code, size_t len);
uint64_t catalog_attr_value_hash(uint64_t code_hash, const char *value, size_t len);

/* One of a product's published variants, in the order its renderings list
 * them: its SKU (in the SKU index beside the product's), its own prices,
 * and where its object ends in every rendering (the same bytes in every
 * locale): its closing '}' is at var_at + end, so a read in a channel can
 * splice the variant's price into it without parsing the rendering. */
#define CATALOG_VARIANTS_MAX 256 /* = VARIANT_PER_PRODUCT_MAX */
#define CATALOG_VAR_SKU_MAX  64	 /* = PRODUCT_SKU_MAX */
typedef struct {
	const char *sku;
	size_t sku_len;
	const catalog_price_t *prices;
	uint32_t nprices;
	uint32_t end;
} catalog_var_t;

/* A product ready for the image. Archived products have no renderings; they
 * stay in the image as hidden tombstones so that a list cursor naming one
 * still resumes at the right place. */
typedef struct {
	store_id_t id;
	uint64_t version;
	uint64_t seq;
	bool archived;
	const char *sku;
	size_t sku_len;
	const char *category;
	size_t category_len;
	const catalog_loc_t *locs;
	uint32_t nloc;
	uint32_t default_loc;  /* index into locs of the default-locale rendering */
	/* channel listings: with has_listings, served only in the channels
	 * listed (nlistings may be 0: in none); without, in every channel */
	bool has_listings;
	const catalog_listing_t *listings;
	uint32_t nlistings;
	int64_t stock; /* the document's stock (list filters) */
	const catalog_price_t *prices; /* its own prices, read with the price lists */
	uint32_t nprices;
	/* attribute values (list filters): type_hash 0 = no product type;
	 * attr_vals sorted and distinct, attr_nums sorted by (code, value) */
	uint64_t type_hash;
	const uint64_t *attr_vals;
	uint32_t nattr_vals;
	const catalog_num_t *attr_nums;
	uint32_t nattr_nums;
	const catalog_var_t *vars; /* its published variants (nvars 0: none) */
	uint32_t nvars;
} catalog_product_t;

/* Attribute types (product_type.h) as "cat.attr" holds them. */
enum {
	CATALOG_ATTR_TEXT = 1,
	CATALOG_ATTR_NUMBER,
	CATALOG_ATTR_BOOL,
	CATALOG_ATTR_ENUM,
	CATALOG_ATTR_MULTI_ENUM,
	CATALOG_ATTR_DATE,
	CATALOG_ATTR_REFERENCE,
};
/* The attribute type named s ("multi_enum"), 0 when unknown. */
int catalog_attr_kind(const char *s);

/* One filterable attribute of one product type. */
typedef struct {
	const char *code; /* attribute code, 1..CATALOG_ATTR_CODE_MAX bytes */
	size_t code_len;
	uint64_t type_hash; /* catalog_type_hash of the product type's code */
	int kind;	    /* CATALOG_ATTR_* */
} catalog_attr_decl_t;
#define CATALOG_ATTR_CODE_MAX 64

/* The "cat.attr" section for n declarations (any order; a (code, type)
 * twice keeps the first) into a new heap buffer *out of *len bytes, which
 * catalog_build_with and catalog_build_delta_with copy into the image. */
int catalog_attrs_encode(const catalog_attr_decl_t *d, size_t n, void **out, size_t *len);

/* Add the "cat.*" sections for n products (any order) to b; seq is the last
 * change-log sequence they include; *bytes (may be NULL) gets the sections'
 * total size. SOUK_EINVAL for an oversized key or an inconsistent product;
 * a duplicate SKU among served products keeps the one with the higher seq
 * (logged). */
int catalog_build(shm_builder_t *b, const catalog_product_t *const *products,
		  size_t n, uint64_t seq, size_t *bytes);
/* The same with a "cat.attr" section from catalog_attrs_encode (attrs NULL:
 * no attribute is filterable). */
int catalog_build_with(shm_builder_t *b, const catalog_product_t *const *products, size_t n,
		       const void *attrs, size_t attrs_len, uint64_t seq, size_t *bytes);

/* The same sections in plain heap memory (tests, tools): sec[i]/len[i] for
 * "cat.meta", "cat.rec", "cat.id", "cat.sku", "cat.order", "cat.attr" in
 * that order. Free each with free(). */
#define CATALOG_NSECTIONS 6
extern const char *const catalog_section_names[CATALOG_NSECTIONS];
int catalog_build_mem(const catalog_product_t *const *products, size_t n, uint64_t seq,
		      void *sec[CATALOG_NSECTIONS], size_t len[CATALOG_NSECTIONS]);
int catalog_build_mem_with(const catalog_product_t *const *products, size_t n,
			   const void *attrs, size_t attrs_len, uint64_t seq,
			   void *sec[CATALOG_NSECTIONS], size_t len[CATALOG_NSECTIONS]);

/* Delta: the "cat.*" sections of a delta image (the builder from
 * shm_builder_new_delta) over a base holding a full catalog: the n products
 * changed since the base (rendered, or archived tombstones) and the ngone ids
 * of products no longer in the catalog. count is the number of products
 * served by base + delta together (what the view reports). An id both
 * changed and gone, or twice, is SOUK_EINVAL. */
int catalog_build_delta(shm_builder_t *b, const catalog_product_t *const *changed, size_t n,
			const store_id_t *gone, size_t ngone, uint64_t count, uint64_t seq,
			size_t *bytes);
int catalog_build_delta_with(shm_builder_t *b, const catalog_product_t *const *changed, size_t n,
			     const store_id_t *gone, size_t ngone, const void *attrs,
			     size_t attrs_len, uint64_t count, uint64_t seq, size_t *bytes);
int catalog_build_delta_mem(const catalog_product_t *const *changed, size_t n,
			    const store_id_t *gone, size_t ngone, uint64_t count, uint64_t seq,
			    void *sec[CATALOG_NSECTIONS], size_t len[CATALOG_NSECTIONS]);

/* ---- reading (workers) ---------------------------------------------------- */
/* The sections of one image (process-local pointers into it). */
typedef struct {
	const void *meta, *rec, *id_idx, *sku_idx, *order, *attr;
	size_t meta_len, rec_len, id_idx_len, sku_idx_len, order_len, attr_len;
	bool delta;          /* sections of a delta image */
} catalog_part_t;

typedef struct {
	const shm_image_t *img;
	catalog_part_t top;  /* the image's own sections (a delta's changes) */
	catalog_part_t base; /* the base's sections when has_base */
	bool has_base;
	uint64_t count;      /* products served */
	uint64_t seq;        /* change-log sequence this image includes */
} catalog_view_t;

/* Bind a view to an image (a delta with its base, see shm_image_base);
 * SOUK_ENOENT when the image has no catalog, SOUK_ECORRUPT when its sections
 * are malformed, only some of the six are there, or a delta's catalog does
 * not fit its base. A delta without any "cat.*" section (published for
 * another provider's change) serves its base's catalog as the base does,
 * with the delta's sequence as the view's seq (img stays the delta). */
int catalog_view_init(const shm_image_t *img, catalog_view_t *out);
/* catalog_view_init as a view bound once per image (shm_ctl_add_view): the
 * view is a catalog_view_t, valid while the image is held. */
extern const shm_view_def_t catalog_view_def;
/* Bind a view to sections in memory (see catalog_build_mem). */
int catalog_view_init_mem(void *const sec[CATALOG_NSECTIONS],
			  const size_t len[CATALOG_NSECTIONS], catalog_view_t *out);
/* The same for a delta over a base, both in memory (tests, tools). */
int catalog_view_init_mem_delta(void *const base_sec[CATALOG_NSECTIONS],
				const size_t base_len[CATALOG_NSECTIONS],
				void *const delta_sec[CATALOG_NSECTIONS],
				const size_t delta_len[CATALOG_NSECTIONS], catalog_view_t *out);

/* Every read checks offsets against the section lengths: a damaged image gives
 * SOUK_ECORRUPT, never a crash. The locale argument is a priority list
 * ("de,fr", from souk_accept_language), matched by souk_locale_lookup
 * (RFC 4647 lookup, ASCII case-insensitive, "de-CH" -> "de"), else the
 * default locale.
 * Archived products give SOUK_ENOENT. */

/* Rendered JSON of one product for a locale (NULL or unknown locale = the
 * default one). *json points into the image (valid until release). */
int catalog_get(const catalog_view_t *v, const store_id_t *id, const char *locale,
		const char **json, size_t *len, uint64_t *version);
int catalog_get_by_sku(const catalog_view_t *v, const char *sku, size_t sku_len,
		       const char *locale, const char **json, size_t *len,
		       uint64_t *version);

/* The channel a read is made in, and when. channel NULL: no channel rules
 * (a mall without channels): every served product, always purchasable. */
typedef struct {
	const char *channel;
	int64_t now_ms;
} catalog_scope_t;

/* What a read in a channel finds (pointers into the image). */
typedef struct {
	const char *json;
	size_t len;
	uint64_t version;
	bool purchasable; /* now inside its purchase window in the channel */
	bool listed;      /* visible in the channel's lists (listed: true) */
	const char *sku;  /* not NUL-terminated */
	size_t sku_len;
	const char *category; /* not NUL-terminated */
	size_t category_len;
	int64_t stock;	  /* the product's stock figure */
	const uint8_t *prices; /* nprices catalog_price_t, maybe unaligned */
	uint32_t nprices;
	uint64_t type_hash;	   /* attribute values, as catalog_product_t */
	const uint8_t *attr_vals;  /* nattr_vals uint64_t, maybe unaligned */
	uint32_t nattr_vals;
	const uint8_t *attr_nums;  /* nattr_nums catalog_num_t */
	uint32_t nattr_nums;
	/* variants (catalog_hit_variant): how many, and the one a read by a
	 * variant's SKU selected (-1: none, the product's own SKU) */
	uint32_t nvars;
	int32_t variant;
	const uint8_t *vars;
	const uint8_t *vprices;
	uint32_t nvprices;
	uint32_t var_at;
} catalog_hit_t;

/* Variant i of a hit: its SKU, its own prices (catalog_price_t, maybe
 * unaligned) and the offset in h->json of its object's closing '}'. */
typedef struct {
	const char *sku; /* not NUL-terminated */
	size_t sku_len;
	const uint8_t *prices;
	uint32_t nprices;
	size_t end;
} catalog_variant_t;
/* 0, or SOUK_ECORRUPT when the record does not hold together. */
int catalog_hit_variant(const catalog_hit_t *h, uint32_t i, catalog_variant_t *out);
/* A variant's own price in currency: true and *amount, else false. */
bool catalog_variant_price(const catalog_variant_t *v, const char *currency, int64_t *amount);
/* The product's own price in currency: true and *amount, else false. */
bool catalog_hit_price(const catalog_hit_t *h, const char *currency, int64_t *amount);

/* catalog_get / catalog_get_by_sku in a channel: SOUK_ENOENT also for a
 * product not published in it (not listed there, published: false, or
 * published_at still ahead). By SKU, a published variant's SKU finds its
 * product with out->variant naming the variant (a product's own SKU wins
 * over a variant's that is the same). */
int catalog_get_in(const catalog_view_t *v, const catalog_scope_t *scope, const store_id_t *id,
		   const char *locale, catalog_hit_t *out);
int catalog_get_by_sku_in(const catalog_view_t *v, const catalog_scope_t *scope, const char *sku,
			  size_t sku_len, const char *locale, catalog_hit_t *out);

/* Cursor pagination in stable order (category, id). category NULL = all.
 * cursor NULL or "" = from the start; next_cursor is "" at the end, else an
 * opaque key (category, id) of the last delivered product (see catalog.c;
 * 110 characters of [A-Za-z0-9_-] for categories of up to 64 bytes): the
 * next page starts after that key, so products that move between pages are
 * neither skipped nor repeated by the others. The older cursor form, a
 * product id (32 hex), is still taken (resolved to where the product is
 * now; SOUK_ENOENT when the image does not hold it). A malformed cursor is
 * SOUK_EINVAL. cb gets each rendered JSON; returns non-zero to stop: that
 * item counts as not delivered, next_cursor resumes at it and catalog_list
 * returns the callback's value. limit is 1..CATALOG_LIST_MAX (else
 * SOUK_EINVAL). */
#define CATALOG_LIST_MAX 1000
/* Products one page's walk examines at most (served or not, filtered or
 * not): a filter that matches few ends a short page, maybe empty, with a
 * next_cursor where the walk stopped, so no page takes long; a client reads
 * on until next_cursor is "". */
#define CATALOG_SCAN_MAX 10000
#define CATALOG_CURSOR_MAX 368 /* next_cursor bytes, NUL included */
typedef int (*catalog_list_cb)(const char *json, size_t len, void *arg);
int catalog_list(const catalog_view_t *v, const char *category, const char *cursor,
		 uint32_t limit, const char *locale, catalog_list_cb cb, void *arg,
		 char next_cursor[CATALOG_CURSOR_MAX]);
/* catalog_list in a channel: only products published there and listed
 * (visible in lists); cursors stay stable as products come and go. cb gets
 * each product as a read finds it; it returns 0 (delivered), CATALOG_SKIP
 * (filtered out: not counted, the walk goes on past it) or another value
 * that stops the walk as in catalog_list. */
#define CATALOG_SKIP 1
typedef int (*catalog_item_cb)(const catalog_hit_t *hit, void *arg);
int catalog_list_in(const catalog_view_t *v, const catalog_scope_t *scope, const char *category,
		    const char *cursor, uint32_t limit, const char *locale, catalog_item_cb cb,
		    void *arg, char next_cursor[CATALOG_CURSOR_MAX]);
/* catalog_list_in over several categories (a category and its
 * descendants), cats[i] of cat_lens[i] bytes in byte order of the codes
 * (cats[0] NULL with ncat 1: all): one walk of the (category, id) order, so
 * cursors work as for one category. */
int catalog_list_cats(const catalog_view_t *v, const catalog_scope_t *scope,
		      const char *const *cats, const size_t *cat_lens, size_t ncat,
		      const char *cursor, uint32_t limit, const char *locale, catalog_item_cb cb,
		      void *arg, char next_cursor[CATALOG_CURSOR_MAX]);

/* ---- attribute filters of lists -------------------------------------------
 * ?attr.<code>=v1,v2 holds a product when it or one of its published
 * variants has one of the values for <code> (a multi_enum: any of its
 * elements); ?attr.<code>_min= / _max= bound a number attribute (in its
 * unit, at most CATALOG_NUM_DECIMALS decimals, a leading '-' allowed); a
 * number's values are compared as numbers ("2.50" is 2.5). Filters on
 * several codes must all hold. <code> must be filterable in some product
 * type ("cat.attr"); a product matches only when its own type declares the
 * code filterable. */
#define CATALOG_FILTERS_MAX	  8  /* attribute codes per request */
#define CATALOG_FILTER_VALUES_MAX 16 /* values per attribute code */
typedef struct {
	uint64_t code;
	const uint8_t *types; /* the code's "cat.attr" entries (type hash, kind) */
	uint32_t ntypes;
	uint32_t kinds;	      /* bit (1 << kind) for each type it has */
	uint32_t nvals, nnums;
	uint64_t vals[CATALOG_FILTER_VALUES_MAX]; /* value hashes */
	int64_t nums[CATALOG_FILTER_VALUES_MAX];  /* the values as numbers */
	bool have_min, have_max;
	int64_t min, max;
} catalog_attr_filter_t;
typedef struct {
	uint32_t n;
	catalog_attr_filter_t f[CATALOG_FILTERS_MAX];
} catalog_filters_t;

/* Add the query parameter attr.<name>=value (name without "attr.", value
 * decoded) to fs: 0, or SOUK_EINVAL with *why saying what is wrong with the
 * parameter (an unknown or not filterable code, too many codes or values,
 * an empty value, not a number for a number attribute, _min/_max of an
 * attribute that is no number anywhere). Parses outside input: fuzzed by
 * tests/fuzz/fuzz_catalog_filter.c. */
int catalog_filter_add(const catalog_view_t *v, catalog_filters_t *fs, const char *name,
		       size_t name_len, const char *value, size_t value_len, const char **why);
/* Does the product of h hold every filter of fs? */
bool catalog_filters_match(const catalog_filters_t *fs, const catalog_hit_t *h);
/* A decimal of at most CATALOG_NUM_DECIMALS decimals ("-2.5") as fixed
 * point: 0 or SOUK_EINVAL. */
int catalog_num_parse(const char *s, size_t len, int64_t *out);

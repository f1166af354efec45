/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_shm_image.c - arbitrary bytes as an image: validation,
 * section lookup, hash index and sorted-array lookups over every section.
 *
 * The first input byte selects repairs applied before validation so the
 * fuzzer gets past the header: bit 0 recomputes the checksum, bit 1 sets the
 * size field to the input size, bit 2 sets magic, ABI and header size, bit 3
 * makes it a delta over generation 1 (flags and base fields). Catalog
 * sections found in a valid image are read as a full catalog and as a delta
 * over a fixed base catalog built in memory (lookups by id and SKU, lists
 * with cursors). Nothing may read outside the buffer whatever the contents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "domain/catalog/sections.h"
#include "shm/image.h"
#include "shm/shm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_u32(const void *key, const void *rec, void *arg)
{
	uint32_t k = *(const uint32_t *)key, r;
	(void)arg;
	memcpy(&r, rec, sizeof(r));
	return k < r ? -1 : k > r;
}

static void probe_blob(const void *p, size_t len, const uint8_t *key, size_t klen)
{
	uint64_t v;
	const void *rec;
	size_t at;
	uint32_t k32 = 0;

	shm_hidx_lookup(p, len, key, (uint32_t)klen, &v);
	shm_hidx_lookup(p, len, "k1", 2, &v);
	shm_hidx_count(p, len);
	memcpy(&k32, key, klen < 4 ? klen : 4);
	shm_sorted_kv_lookup(p, len, k32, &v);
	shm_sorted_find(p, len, 12, &k32, cmp_u32, NULL, &rec);
	shm_sorted_lower_bound(p, len, 4, &k32, cmp_u32, NULL, &at);
}

/* The base catalog deltas are read over: 8 products, one archived. */
static void *base_sec[CATALOG_NSECTIONS];
static size_t base_len[CATALOG_NSECTIONS];
static int base_ready;

static void base_init(void)
{
	static const char json[] = "{\"sku\":\"x\"}";
	static catalog_loc_t loc = { "en", json, sizeof(json) - 1 };
	static const char *cats[] = { "home", "toys" };
	static char skus[8][8];
	catalog_product_t prods[8];
	const catalog_product_t *arr[8];
	memset(prods, 0, sizeof(prods));
	for (int i = 0; i < 8; i++) {
		prods[i].id.b[0] = (uint8_t)(i * 37);
		prods[i].id.b[15] = (uint8_t)i;
		prods[i].version = 1;
		prods[i].seq = (uint64_t)i + 1;
		prods[i].archived = i == 5;
		memcpy(skus[i], "S0", 3);
		skus[i][1] = (char)('0' + i);
		prods[i].sku = skus[i];
		prods[i].sku_len = 2;
		prods[i].category = cats[i % 2];
		prods[i].category_len = 4;
		prods[i].locs = &loc;
		prods[i].nloc = 1;
		arr[i] = &prods[i];
	}
	base_ready = catalog_build_mem(arr, 8, 8, base_sec, base_len) == 0 ? 1 : -1;
}

static int list_cb(const char *json, size_t len, void *arg)
{
	(void)json;
	(void)len;
	return ++*(int *)arg > 50;
}

static void probe_catalog(const catalog_view_t *v, const uint8_t *key, size_t klen)
{
	store_id_t id;
	const char *json;
	size_t len;
	char next[CATALOG_CURSOR_MAX], cursor[CATALOG_CURSOR_MAX];
	int n = 0;
	memset(&id, 0, sizeof(id));
	memcpy(id.b, key, klen < 16 ? klen : 16);
	catalog_get(v, &id, "fr", &json, &len, NULL);
	for (int i = 0; i < 8; i++) {
		char sku[3] = { 'S', (char)('0' + i), 0 };
		memset(&id, 0, sizeof(id));
		id.b[0] = (uint8_t)(i * 37);
		id.b[15] = (uint8_t)i;
		catalog_get(v, &id, NULL, &json, &len, NULL);
		catalog_get_by_sku(v, sku, 2, "en", &json, &len, NULL);
	}
	catalog_get_by_sku(v, (const char *)key, klen, NULL, &json, &len, NULL);
	/* a hit's variants and attribute filters read only what the record holds */
	catalog_hit_t hit;
	if (catalog_get_by_sku_in(v, NULL, (const char *)key, klen, NULL, &hit) == 0 ||
	    catalog_get_by_sku_in(v, NULL, "S0", 2, NULL, &hit) == 0) {
		catalog_variant_t var;
		catalog_filters_t fs = {0};
		const char *why;
		int64_t amount;
		for (uint32_t i = 0; i < hit.nvars && i < 300; i++)
			if (catalog_hit_variant(&hit, i, &var) == 0)
				(void)catalog_variant_price(&var, "GBP", &amount);
		if (catalog_filter_add(v, &fs, (const char *)key, klen, "a,1", 3, &why) == 0)
			(void)catalog_filters_match(&fs, &hit);
	}
	if (catalog_list(v, NULL, NULL, 3, NULL, list_cb, &n, next) == 0 && next[0]) {
		memcpy(cursor, next, sizeof(cursor));
		catalog_list(v, NULL, cursor, 100, NULL, list_cb, &n, next);
	}
	n = 0;
	catalog_list(v, "toys", NULL, 100, "en", list_cb, &n, next);
}

static void probe_catalog_image(const shm_image_t *img, const uint8_t *key, size_t klen)
{
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	for (int i = 0; i < CATALOG_NSECTIONS; i++) {
		const void *p;
		if (shm_image_section(img, catalog_section_names[i], &p, &len[i]) != 0)
			return;
		sec[i] = (void *)p;
	}
	if (catalog_view_init_mem(sec, len, &v) == 0)
		probe_catalog(&v, key, klen);
	if (!base_ready)
		base_init();
	if (base_ready > 0 && catalog_view_init_mem_delta(base_sec, base_len, sec, len, &v) == 0)
		probe_catalog(&v, key, klen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shm_image_t img;
	const char *why;
	uint8_t fix, *buf;
	size_t klen;

	if (size < 1)
		return 0;
	fix = data[0];
	data++;
	size--;
	buf = malloc(size + 8); /* malloc: 8-aligned like a mapping */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(shm_img_hdr_t)) {
		shm_img_hdr_t *h = (shm_img_hdr_t *)buf;
		if (fix & 4) {
			h->magic = SHM_IMG_MAGIC;
			h->abi = SHM_ABI_VERSION;
			h->hdr_size = sizeof(*h);
		}
		if (fix & 8) {
			h->flags = SHM_IMG_DELTA;
			h->base_gen = 1;
			if (h->generation < 2)
				h->generation = 2;
			if (h->base_size < sizeof(*h))
				h->base_size = sizeof(*h);
		}
		if (fix & 2)
			h->size = size;
		if (fix & 1)
			h->checksum = shm_image_checksum(buf, size);
	}
	klen = size < 16 ? size : 16;
	/* the raw bytes as an index blob too */
	probe_blob(buf, size, data, klen);
	if (shm_image_check(buf, size, 0, 0, &img, &why) == 0) {
		const shm_sect_t *sect = img.sect;
		for (uint32_t i = 0; i < img.hdr->nsect; i++) {
			const void *p;
			size_t len;
			if (shm_image_section(&img, sect[i].name, &p, &len) != 0)
				abort(); /* a validated section must be found */
			probe_blob(p, len, data, klen);
		}
		probe_catalog_image(&img, data, klen);
		shm_image_generation(&img);
		shm_image_seq(&img);
		shm_image_size(&img);
	}
	free(buf);
	return 0;
}

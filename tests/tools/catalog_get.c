/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/tools/catalog_get.c - read the catalog of a published image.
 *
 *   catalog_get INSTANCE info              "generation G seq S count N base B"
 *                                          (B = G for a full image)
 *   catalog_get INSTANCE sku SKU [LOCALE]   the rendered JSON of a product
 *   catalog_get INSTANCE list [CATEGORY]    every product id, page by page
 *
 * Exit 0 found, 1 not found, 2 trouble.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "domain/catalog/sections.h"
#include "shm/shm.h"

static int print_id(const char *json, size_t len, void *arg)
{
	const char *p = strstr(json, "\"id\":\"");
	(void)len;
	(*(unsigned long *)arg)++;
	if (p)
		printf("%.32s\n", p + 6);
	return 0;
}

int main(int argc, char **argv)
{
	shm_ctl_t *ctl = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	catalog_view_t v;
	int rc, ret = 2;

	if (argc < 3) {
		fprintf(stderr, "usage: catalog_get INSTANCE info|sku SKU [LOCALE]|list [CATEGORY]\n");
		return 2;
	}
	log_init("catalog_get", LOG_TARGET_STDERR);
	if ((rc = shm_ctl_attach(argv[1], &ctl)) != 0 || (rc = shm_reader_new(ctl, &r)) != 0 ||
	    (rc = shm_reader_acquire(r, &img)) != 0) {
		fprintf(stderr, "catalog_get, no image for '%s' (%s)\n", argv[1], souk_strerror(rc));
		goto out;
	}
	rc = catalog_view_init(img, &v);
	if (rc) {
		fprintf(stderr, "catalog_get, no catalog (%s)\n", souk_strerror(rc));
		goto release;
	}
	if (strcmp(argv[2], "info") == 0) {
		const shm_image_t *bi = shm_image_base(img);
		printf("generation %llu seq %llu count %llu base %llu\n",
		       (unsigned long long)shm_image_generation(img), (unsigned long long)v.seq,
		       (unsigned long long)v.count,
		       (unsigned long long)(bi ? shm_image_generation(bi) : shm_image_generation(img)));
		ret = 0;
	} else if (strcmp(argv[2], "sku") == 0 && argc >= 4) {
		const char *json;
		size_t len;
		rc = catalog_get_by_sku(&v, argv[3], strlen(argv[3]), argc > 4 ? argv[4] : NULL, &json,
					&len, NULL);
		if (rc == 0) {
			printf("%.*s\n", (int)len, json);
			ret = 0;
		} else {
			ret = rc == SOUK_ENOENT ? 1 : 2;
		}
	} else if (strcmp(argv[2], "list") == 0) {
		char cursor[CATALOG_CURSOR_MAX] = "", next[CATALOG_CURSOR_MAX];
		unsigned long n = 0;
		do {
			rc = catalog_list(&v, argc > 3 ? argv[3] : NULL, cursor, 100, NULL, print_id, &n,
					  next);
			if (rc)
				break;
			memcpy(cursor, next, sizeof(next));
		} while (cursor[0]);
		ret = rc ? 2 : 0;
	} else {
		fprintf(stderr, "catalog_get, unknown command '%s'\n", argv[2]);
	}
release:
	shm_reader_release(r);
out:
	shm_reader_free(&r);
	shm_ctl_free(&ctl);
	return ret;
}

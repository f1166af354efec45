/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/provider.h - the catalog's section provider: products
 * rendered per locale (domain/catalog/render.h) in an in-memory table by id, built
 * into the "cat.*" sections of domain/catalog/sections.h: all of them into a base, the
 * products changed since the base (and tombstones of those gone) into a
 * delta. Products replaced while a base is built from a snapshot are freed
 * once the snapshot is (the snapshot points to them).
 */
#include "model/provider.h"
#include "shm/shm.h"

typedef struct {
	const char *default_locale; /* NULL = CATALOG_DEFAULT_LOCALE */
	shm_ctl_t *ctl;		    /* render failures are counted there (may be NULL) */
} catalog_provider_opts_t;

/* Its operations: the product kind's image provider (product_kind.image). */
extern const provider_ops_t catalog_provider_ops;

int catalog_provider_new(const catalog_provider_opts_t *o, provider_t *out);

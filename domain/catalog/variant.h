/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/variant.h - variants of a product (the variant kind).
 *
 * A variant is one buyable form of a product: its own SKU, its values for
 * the product's options ({"colour": "red", "size": "M"}), its own prices,
 * stock, attributes and media. The combination of option values is a
 * unique composite key with the product, so two live variants of one
 * product never share it, whatever the order of the members, also when
 * both are created at once (the store claims the key in the write
 * transaction). Product reads render a product's variants with it
 * (domain/catalog/render.h).
 */
#include "model/model.h"

#define VARIANT_OPTIONS_MAX 8     /* options of one variant */
#define VARIANT_OPTION_MAX 64     /* an option code or value */
#define VARIANT_MEDIA_MAX 16
#define VARIANT_PER_PRODUCT_MAX 256 /* variants a product read renders */
#define VARIANT_DOC_MAX (64u << 10)

extern const model_kind_t variant_kind;

/* SPDX-License-Identifier: Apache-2.0 */
/* domain/kinds.c - every kind the mall knows (model/model.h). A new kind is
 * its table in its domain and one line here. */
#include "domain/catalog/category.h"
#include "domain/catalog/collection.h"
#include "domain/catalog/product.h"
#include "domain/catalog/variant.h"
#include "domain/catalog/product_type.h"
#include "domain/channel/channel.h"
#include "domain/inventory/warehouse.h"
#include "domain/market/seller.h"
#include "domain/pricing/price.h"
#include "domain/pricing/price_list.h"
#include "model/model.h"

const model_kind_t *const model_kinds[] = {
    &product_kind,
    &warehouse_kind,
    &channel_kind,
    &seller_kind,
    &price_list_kind,
    &price_kind,
    &variant_kind,
    &product_type_kind,
    &category_kind,
    &collection_kind,
};
const size_t model_nkinds = sizeof(model_kinds) / sizeof(model_kinds[0]);

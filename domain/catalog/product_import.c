/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/product_import.c - what product files carry beyond the
 * product table (model/import.h): the demo catalog's column names (an
 * online retailer's export: StockCode, Description, MedianUnitPriceGBP,
 * Lines) and what a new product gets when the file leaves it out. The
 * generic importer (daemon/import.c) reads these tables. */
#include "domain/catalog/product.h"
#include "model/import.h"

static const model_import_alias_t product_aliases[] = {
    {.column = "stockcode", .as = "sku"},
    /* the demo catalog has no title: its description is one */
    {.column = "description", .as = "title", .unless = "title"},
    {.column = "medianunitpricegbp", .as = "price_GBP"},
    {.column = "unitprice", .as = "price_GBP"},
    /* invoice lines: a starting stock, never a correction of it */
    {.column = "lines", .as = "stock", .flags = MODEL_IMPORT_CREATE_ONLY},
};

static const model_import_default_t product_defaults[] = {
    {.field = "status", .json = "\"published\""},
    {.field = "seller", .json = "\"" PRODUCT_SELLER_DEFAULT "\"", .flags = MODEL_IMPORT_D_SELLER},
    {.field = "category", .json = "\"" PRODUCT_CATEGORY_DEFAULT "\""},
    {.field = "stock", .json = "0", .flags = MODEL_IMPORT_D_CSV | MODEL_IMPORT_D_COUNT},
};

const model_import_t product_import = {
    .aliases = product_aliases,
    .naliases = sizeof(product_aliases) / sizeof(product_aliases[0]),
    .defaults = product_defaults,
    .ndefaults = sizeof(product_defaults) / sizeof(product_defaults[0]),
};

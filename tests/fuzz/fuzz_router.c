/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: REQUEST_URI splitting, routing, percent-decoding and
 * query parameters. Input: method byte, then the URI. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "fcgi/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "" };
	const char *path, *query;
	size_t path_len, query_len;
	route_t r;
	char val[256];
	size_t n;
	if (size == 0)
		return 0;
	const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	char *uri = malloc(size);
	if (uri == NULL)
		return 0;
	memcpy(uri, data + 1, size - 1);
	uri[size - 1] = '\0'; /* FastCGI params are C strings */
	uri_split(uri, &path, &path_len, &query, &query_len);
	if (path_len > strlen(uri) || (query && query + query_len > uri + strlen(uri)))
		abort();
	router_match(method, path, path_len, &r);
	if (r.status == 0 && (r.id <= ROUTE_NONE || r.id >= ROUTE__COUNT))
		abort();
	if (r.status == 405 && r.allow == NULL)
		abort();
	if (r.id == ROUTE_PRODUCT_BY_SKU && (r.sku_len > ROUTE_SKU_MAX || strlen(r.sku) != r.sku_len))
		abort();
	if ((r.id == ROUTE_PRODUCT_GET || r.id == ROUTE_PRODUCT_UPDATE) && strlen(r.entity_id) != 32)
		abort();
	(void)router_name(r.id);
	static const char *const names[] = { "category", "limit", "cursor", "locale" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int rc = query_get(query, query_len, names[i], val, sizeof(val), &n);
		if (rc == 0 && (n >= sizeof(val) || strlen(val) != n))
			abort();
	}
	free(uri);
	return 0;
}

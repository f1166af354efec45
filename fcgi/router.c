/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/router.h"

#include <string.h>

#include "common/error.h"
#include "common/util.h"

static const char *const route_names[ROUTE__COUNT] = {
	[ROUTE_NONE] = "other",
	[ROUTE_PRODUCT_LIST] = "product_list",
	[ROUTE_PRODUCT_CREATE] = "product_create",
	[ROUTE_PRODUCT_GET] = "product_get",
	[ROUTE_PRODUCT_UPDATE] = "product_update",
	[ROUTE_PRODUCT_DELETE] = "product_delete",
	[ROUTE_PRODUCT_HISTORY] = "product_history",
	[ROUTE_PRODUCT_REVERT] = "product_revert",
	[ROUTE_PRODUCT_BY_SKU] = "product_by_sku",
	[ROUTE_HEALTHZ] = "healthz",
	[ROUTE_METRICS] = "metrics",
};

const char *router_name(route_id_t id)
{
	if ((unsigned)id >= ROUTE__COUNT)
		return "other";
	return route_names[id];
}

int url_decode(const char *s, size_t len, bool form, char *out, size_t out_size,
	       size_t *out_len)
{
	size_t o = 0;
	if (out_size == 0)
		return SOUK_ETOOBIG;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return SOUK_EINVAL;
			int hi = souk_hexval(s[i + 1]), lo = souk_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return SOUK_EINVAL;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return SOUK_EINVAL;
			i += 2;
		} else if (c == '+' && form) {
			c = ' ';
		} else if (c == '\0') {
			return SOUK_EINVAL;
		}
		if (o + 1 >= out_size)
			return SOUK_ETOOBIG;
		out[o++] = c;
	}
	out[o] = '\0';
	if (out_len != NULL)
		*out_len = o;
	return 0;
}

int query_get(const char *query, size_t query_len, const char *name, char *out,
	      size_t out_size, size_t *out_len)
{
	size_t nlen = strlen(name), i = 0;
	char key[64];
	size_t klen;
	if (query == NULL)
		return SOUK_ENOENT;
	while (i < query_len) {
		size_t start = i, eq = (size_t)-1;
		while (i < query_len && query[i] != '&' && query[i] != ';') {
			if (query[i] == '=' && eq == (size_t)-1)
				eq = i;
			i++;
		}
		size_t end = i;
		i++; /* skip separator */
		size_t kend = eq == (size_t)-1 ? end : eq;
		if (kend == start)
			continue;
		if (url_decode(query + start, kend - start, true, key, sizeof(key), &klen) != 0)
			continue; /* a key we cannot decode is not the one asked for */
		if (klen != nlen || memcmp(key, name, nlen) != 0)
			continue;
		if (eq == (size_t)-1) {
			if (out_size == 0)
				return SOUK_ETOOBIG;
			out[0] = '\0';
			if (out_len)
				*out_len = 0;
			return 0;
		}
		return url_decode(query + eq + 1, end - eq - 1, true, out, out_size, out_len);
	}
	return SOUK_ENOENT;
}

void uri_split(const char *uri, const char **path, size_t *path_len, const char **query,
	       size_t *query_len)
{
	const char *q = strchr(uri, '?');
	const char *h = strchr(uri, '#');
	size_t total = h ? (size_t)(h - uri) : strlen(uri);
	*path = uri;
	if (q != NULL && (size_t)(q - uri) < total) {
		*path_len = (size_t)(q - uri);
		*query = q + 1;
		*query_len = total - *path_len - 1;
	} else {
		*path_len = total;
		*query = NULL;
		*query_len = 0;
	}
}

static bool seg_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static bool parse_id(const char *s, size_t len, char out[33])
{
	char dec[40];
	size_t dlen;
	if (url_decode(s, len, false, dec, sizeof(dec), &dlen) != 0 || dlen != 32)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int v = souk_hexval(dec[i]);
		if (v < 0)
			return false;
		out[i] = "0123456789abcdef"[v];
	}
	out[32] = '\0';
	return true;
}

/* method sets */
enum { M_GET = 1, M_POST = 2, M_PATCH = 4, M_DELETE = 8 };

static int method_bit(const char *m, bool *head)
{
	*head = false;
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "HEAD") == 0) {
		*head = true;
		return M_GET;
	}
	if (strcmp(m, "POST") == 0)
		return M_POST;
	if (strcmp(m, "PATCH") == 0)
		return M_PATCH;
	if (strcmp(m, "DELETE") == 0)
		return M_DELETE;
	return 0;
}

static void allow(route_t *r, int have, int allowed, const char *allow_hdr)
{
	if ((have & allowed) == 0) {
		r->id = ROUTE_NONE;
		r->status = 405;
		r->allow = allow_hdr;
	}
}

void router_match(const char *method, const char *path, size_t path_len, route_t *out)
{
	const char *seg[6];
	size_t seglen[6];
	size_t nseg = 0, i = 0;
	memset(out, 0, sizeof(*out));
	out->status = 404;
	out->perm = PERM_PUBLIC; /* reads; writes and history say theirs */
	int m = method_bit(method ? method : "", &out->head);

	/* split into segments; empty segments (// or trailing /) never match */
	if (path_len == 0 || path[0] != '/')
		return;
	i = 1;
	while (i <= path_len) {
		size_t start = i;
		while (i < path_len && path[i] != '/')
			i++;
		if (nseg == 6)
			return;
		seg[nseg] = path + start;
		seglen[nseg] = i - start;
		if (seglen[nseg] == 0)
			return;
		nseg++;
		i++;
	}
	if (nseg == 1 && seg_eq(seg[0], seglen[0], "healthz")) {
		out->id = ROUTE_HEALTHZ;
		out->status = 0;
		allow(out, m, M_GET, "GET, HEAD");
		return;
	}
	if (nseg == 1 && seg_eq(seg[0], seglen[0], "metrics")) {
		out->id = ROUTE_METRICS;
		out->status = 0;
		allow(out, m, M_GET, "GET, HEAD");
		return;
	}
	if (nseg < 3 || !seg_eq(seg[0], seglen[0], "api") || !seg_eq(seg[1], seglen[1], "v1") ||
	    !seg_eq(seg[2], seglen[2], "products"))
		return;
	if (nseg == 3) {
		out->status = 0;
		if (m == M_POST) {
			out->id = ROUTE_PRODUCT_CREATE;
			out->write = true;
			out->perm = PERM_CATALOG_WRITE;
		} else {
			out->id = ROUTE_PRODUCT_LIST;
			allow(out, m, M_GET, "GET, HEAD, POST");
		}
		return;
	}
	if (nseg == 5 && seg_eq(seg[3], seglen[3], "by-sku")) {
		size_t n;
		if (url_decode(seg[4], seglen[4], false, out->sku, sizeof(out->sku), &n) != 0)
			return;
		out->sku_len = n;
		out->id = ROUTE_PRODUCT_BY_SKU;
		out->status = 0;
		allow(out, m, M_GET, "GET, HEAD");
		return;
	}
	if (!parse_id(seg[3], seglen[3], out->product_id))
		return;
	if (nseg == 4) {
		out->status = 0;
		if (m == M_PATCH) {
			out->id = ROUTE_PRODUCT_UPDATE;
			out->write = true;
			out->perm = PERM_CATALOG_WRITE;
		} else if (m == M_DELETE) {
			out->id = ROUTE_PRODUCT_DELETE;
			out->write = true;
			out->perm = PERM_CATALOG_WRITE;
		} else {
			out->id = ROUTE_PRODUCT_GET;
			allow(out, m, M_GET, "GET, HEAD, PATCH, DELETE");
		}
		return;
	}
	if (nseg == 5 && seg_eq(seg[4], seglen[4], "history")) {
		out->id = ROUTE_PRODUCT_HISTORY;
		out->status = 0;
		out->perm = PERM_CATALOG_HISTORY;
		allow(out, m, M_GET, "GET, HEAD");
		return;
	}
	if (nseg == 5 && seg_eq(seg[4], seglen[4], "revert")) {
		out->id = ROUTE_PRODUCT_REVERT;
		out->status = 0;
		out->write = true;
		out->perm = PERM_CATALOG_WRITE;
		allow(out, m, M_POST, "POST");
		return;
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/router.h"

#include <stdio.h>

#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "fcgi/routes.h"

const char *router_name(route_id_t id)
{
	const route_def_t *d = route_def(id);
	return d != NULL ? d->name : "other";
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

static unsigned method_bit(const char *m, bool *head)
{
	*head = false;
	if (strcmp(m, "GET") == 0)
		return ROUTE_M_GET;
	if (strcmp(m, "HEAD") == 0) {
		*head = true;
		return ROUTE_M_GET;
	}
	if (strcmp(m, "POST") == 0)
		return ROUTE_M_POST;
	if (strcmp(m, "PATCH") == 0)
		return ROUTE_M_PATCH;
	if (strcmp(m, "DELETE") == 0)
		return ROUTE_M_DELETE;
	return 0;
}

/* Does the pattern match the path's segments? Captures go to out. */
static bool pattern_match(const char *pat, const char *const *seg, const size_t *seglen,
			  size_t nseg, route_t *out)
{
	size_t k = 0;
	const char *p = pat;
	while (*p == '/') {
		const char *start = ++p;
		while (*p != '\0' && *p != '/')
			p++;
		size_t plen = (size_t)(p - start);
		if (k == nseg)
			return false;
		if (plen == 4 && memcmp(start, "{id}", 4) == 0) {
			if (!parse_id(seg[k], seglen[k], out->entity_id))
				return false;
		} else if ((plen == 5 && memcmp(start, "{sku}", 5) == 0) ||
			   (plen == 6 && memcmp(start, "{name}", 6) == 0) ||
			   (plen == 6 && memcmp(start, "{code}", 6) == 0)) {
			/* {name} (a counter's) and {code} (a collection's) share
			 * the sku slot */
			size_t n;
			if (url_decode(seg[k], seglen[k], false, out->sku, sizeof(out->sku), &n) != 0)
				return false;
			out->sku_len = n;
		} else if (seglen[k] != plen || memcmp(seg[k], start, plen) != 0) {
			return false;
		}
		k++;
	}
	return k == nseg;
}

void router_match(const char *method, const char *path, size_t path_len, route_t *out)
{
	const char *seg[ROUTE_SEGMENTS_MAX];
	size_t seglen[ROUTE_SEGMENTS_MAX];
	size_t nseg = 0, i = 0;
	unsigned allowed = 0;
	memset(out, 0, sizeof(*out));
	out->status = 404;
	unsigned m = method_bit(method ? method : "", &out->head);

	/* split into segments; empty segments (// or trailing /) never match */
	if (path_len == 0 || path[0] != '/')
		return;
	i = 1;
	while (i <= path_len) {
		size_t start = i;
		while (i < path_len && path[i] != '/')
			i++;
		if (nseg == ROUTE_SEGMENTS_MAX)
			return;
		seg[nseg] = path + start;
		seglen[nseg] = i - start;
		if (seglen[nseg] == 0)
			return;
		nseg++;
		i++;
	}
	for (size_t r = 0; r < route_table_len; r++) {
		const route_def_t *d = &route_table[r];
		if ((allowed & d->method) != 0 && d->method != m)
			continue; /* this method is known to be allowed here already */
		if (!pattern_match(d->pattern, seg, seglen, nseg, out))
			continue;
		allowed |= d->method;
		if (d->method == m) {
			out->id = d->id;
			out->status = 0;
			out->perm = d->perm;
			out->kind = d->kind;
			out->handler = d->handler;
			out->write = (d->flags & ROUTE_F_WRITE) != 0;
			return;
		}
	}
	if (allowed == 0)
		return;
	/* the path exists, the method does not: 405 with Allow */
	snprintf(out->allow_buf, sizeof(out->allow_buf), "%s%s%s%s",
		 (allowed & ROUTE_M_GET) ? "GET, HEAD, " : "",
		 (allowed & ROUTE_M_POST) ? "POST, " : "", (allowed & ROUTE_M_PATCH) ? "PATCH, " : "",
		 (allowed & ROUTE_M_DELETE) ? "DELETE, " : "");
	out->allow_buf[strlen(out->allow_buf) - 2] = '\0';
	out->allow = out->allow_buf;
	out->status = 405;
}

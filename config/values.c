/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config/values.c - parsing, formatting, comparing and copying item values.
 */
#include "config/values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/util.h"

static void *field(cfg_t *cfg, const cfg_item_t *it)
{
	return (char *)cfg + it->offset;
}

static const void *cfield(const cfg_t *cfg, const cfg_item_t *it)
{
	return (const char *)cfg + it->offset;
}

/* Leading decimal digits into *v; returns chars used, 0 when none, -1 on overflow. */
static int scan_u64(const char *s, uint64_t *v)
{
	int n = 0;
	*v = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		unsigned d = (unsigned)(s[n] - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
		n++;
		if (n > 40)
			return -1;
	}
	return n;
}

static const struct {
	const char *name;
	uint64_t mult;
} g_size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ull << 10},
    {"kb", 1ull << 10},
    {"kib", 1ull << 10},
    {"m", 1ull << 20},
    {"mb", 1ull << 20},
    {"mib", 1ull << 20},
    {"g", 1ull << 30},
    {"gb", 1ull << 30},
    {"gib", 1ull << 30},
    {"t", 1ull << 40},
    {"tb", 1ull << 40},
    {"tib", 1ull << 40},
};

int cfg_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	int n = scan_u64(s, &v);
	if (n <= 0)
		return SOUK_EINVAL;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(g_size_units); i++) {
		if (strcasecmp(s + n, g_size_units[i].name) != 0)
			continue;
		if (v > UINT64_MAX / g_size_units[i].mult)
			return SOUK_EINVAL;
		*out = v * g_size_units[i].mult;
		return 0;
	}
	return SOUK_EINVAL;
}

static const struct {
	const char *name;
	uint64_t ms;
} g_dur_units[] = {
    {"d", 86400000ull}, {"h", 3600000ull}, {"m", 60000ull}, {"s", 1000ull}, {"ms", 1},
};

int cfg_parse_duration(const char *s, uint64_t *out)
{
	uint64_t total = 0;
	const char *p = s;

	if (*p == '\0')
		return SOUK_EINVAL;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*p) {
		uint64_t v, mult = 0;
		size_t ulen = 0;
		int n = scan_u64(p, &v);
		if (n <= 0)
			return SOUK_EINVAL;
		p += n;
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		for (size_t i = 0; i < SOUK_ARRAY_LEN(g_dur_units); i++)
			if (strlen(g_dur_units[i].name) == ulen &&
			    strncmp(p, g_dur_units[i].name, ulen) == 0)
				mult = g_dur_units[i].ms;
		if (mult == 0)
			return SOUK_EINVAL;
		p += ulen;
		if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult)
			return SOUK_EINVAL;
		total += v * mult;
	}
	*out = total;
	return 0;
}

void cfg_format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	if (v == 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (int i = 0; i < 4; i++) {
		uint64_t m = 1ull << (10 * (4 - i));
		if (v % m == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(v / m), units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

void cfg_format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < SOUK_ARRAY_LEN(g_dur_units); i++) {
		if (ms % g_dur_units[i].ms == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ms / g_dur_units[i].ms),
				 g_dur_units[i].name);
			return;
		}
	}
}

int cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return SOUK_EINVAL;
}

int cfg_parse_listen(const char *s, cfg_listen_t *out)
{
	cfg_listen_t l;
	const char *colon;
	uint64_t port;
	unsigned char addr[16];

	memset(&l, 0, sizeof(l));
	if (strlen(s) >= sizeof(l.text))
		return SOUK_EINVAL;
	snprintf(l.text, sizeof(l.text), "%s", s);
	if (strncmp(s, "unix:", 5) == 0) {
		const char *path = s + 5;
		if (path[0] != '/' || strlen(path) >= sizeof(l.path))
			return SOUK_EINVAL;
		l.kind = CFG_LISTEN_UNIX;
		snprintf(l.path, sizeof(l.path), "%s", path);
		goto done;
	}
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		size_t hlen;
		if (end == NULL || end[1] != ':')
			return SOUK_EINVAL;
		hlen = (size_t)(end - s - 1);
		if (hlen == 0 || hlen >= sizeof(l.host))
			return SOUK_EINVAL;
		memcpy(l.host, s + 1, hlen);
		if (inet_pton(AF_INET6, l.host, addr) != 1)
			return SOUK_EINVAL;
		l.kind = CFG_LISTEN_TCP6;
		colon = end + 1;
	} else {
		size_t hlen;
		colon = strrchr(s, ':');
		if (colon == NULL)
			return SOUK_EINVAL;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(l.host))
			return SOUK_EINVAL;
		memcpy(l.host, s, hlen);
		if (inet_pton(AF_INET, l.host, addr) != 1)
			return SOUK_EINVAL;
		l.kind = CFG_LISTEN_TCP4;
	}
	if (souk_parse_u64(colon + 1, 1, 65535, &port) != 0)
		return SOUK_EINVAL;
	l.port = (uint16_t)port;
done:
	*out = l;
	return 0;
}

static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

static uint64_t load_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

static int64_t load_int(const void *p, size_t size)
{
	return size == 4 ? *(const int32_t *)p : *(const int64_t *)p;
}

/* "must be 1..1024" in the item's own units */
void cfg_format_range(const cfg_item_t *it, char *buf, size_t len)
{
	char lo[32], hi[32];
	switch (it->type) {
	case CFG_T_INT:
		snprintf(buf, len, "must be %lld..%lld", (long long)it->min, (long long)it->max);
		return;
	case CFG_T_SIZE:
		cfg_format_size(it->umin, lo, sizeof(lo));
		cfg_format_size(it->umax, hi, sizeof(hi));
		break;
	case CFG_T_DURATION:
		cfg_format_duration(it->umin, lo, sizeof(lo));
		cfg_format_duration(it->umax, hi, sizeof(hi));
		break;
	default:
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)it->umin);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)it->umax);
		break;
	}
	snprintf(buf, len, "must be %s..%s", lo, hi);
}

/* The text of an unsigned item (integer, size or duration) into *u; -1 with
 * *expected naming the accepted form when it is not one. */
static int parse_unsigned(cfg_type_t type, const char *s, uint64_t *u, const char **expected)
{
	int n;
	switch (type) {
	case CFG_T_SIZE:
		*expected = "a size such as 512K, 64M or 1G";
		return cfg_parse_size(s, u) == 0 ? 0 : -1;
	case CFG_T_DURATION:
		*expected = "a duration such as 500ms, 5s, 1m or 24h";
		return cfg_parse_duration(s, u) == 0 ? 0 : -1;
	default:
		*expected = "a non-negative integer";
		n = scan_u64(s, u);
		return n > 0 && s[n] == '\0' ? 0 : -1;
	}
}

static int set_text(char **slot, const char *s)
{
	char *copy = strdup(s);
	if (copy == NULL)
		return SOUK_ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

/* The end of a string or path item: its length, no control characters, the
 * item's own check, then the copy into p. */
static int set_text_item(const cfg_item_t *it, void *p, const char *s, size_t slen, char *why,
			 size_t why_len)
{
	int ret;
	if (slen > it->umax) {
		snprintf(why, why_len, "longer than %llu characters", (unsigned long long)it->umax);
		return SOUK_EINVAL;
	}
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(why, why_len, "contains a control character");
			return SOUK_EINVAL;
		}
	if (it->check && (ret = it->check(it, &s, why, why_len)) != 0)
		return ret;
	return set_text(p, s);
}

int cfg_item_parse(cfg_t *cfg, const cfg_item_t *it, const char *s, size_t slen, char *why,
		   size_t why_len)
{
	void *p = field(cfg, it);
	uint64_t u;
	int ret = 0;

	why[0] = '\0';
	if (strlen(s) != slen) {
		snprintf(why, why_len, "contains a NUL character");
		return SOUK_EINVAL;
	}
	switch (it->type) {
	case CFG_T_INT: {
		bool neg = s[0] == '-';
		int n = scan_u64(s + neg, &u);
		if (n <= 0 || s[neg + n] != '\0' || u > (uint64_t)INT64_MAX) {
			snprintf(why, why_len, "expected an integer");
			return SOUK_EINVAL;
		}
		int64_t v = neg ? -(int64_t)u : (int64_t)u;
		if (v < it->min || v > it->max)
			goto range;
		if (it->size == 4)
			*(int32_t *)p = (int32_t)v;
		else
			*(int64_t *)p = v;
		break;
	}
	case CFG_T_UINT:
	case CFG_T_SIZE:
	case CFG_T_DURATION: {
		const char *expected;
		if (parse_unsigned(it->type, s, &u, &expected) != 0) {
			snprintf(why, why_len, "expected %s", expected);
			return SOUK_EINVAL;
		}
		if (u < it->umin || u > it->umax)
			goto range;
		store_uint(p, it->size, u);
		break;
	}
	case CFG_T_BOOL: {
		bool b;
		if (cfg_parse_bool(s, &b) != 0) {
			snprintf(why, why_len, "expected true or false");
			return SOUK_EINVAL;
		}
		*(bool *)p = b;
		break;
	}
	case CFG_T_ENUM: {
		const cfg_enum_t *e;
		for (e = it->enums; e->name; e++)
			if (strcmp(e->name, s) == 0)
				break;
		if (e->name == NULL) {
			size_t off = (size_t)snprintf(why, why_len, "must be one of:");
			for (e = it->enums; e->name && off < why_len; e++)
				off += (size_t)snprintf(why + off, why_len - off, "%s %s",
							e == it->enums ? "" : ",", e->name);
			return SOUK_EINVAL;
		}
		*(int *)p = e->value;
		break;
	}
	case CFG_T_STRING:
		if (*s == '\0' && !(it->flags & CFG_F_EMPTY_OK)) {
			snprintf(why, why_len, "must not be empty");
			return SOUK_EINVAL;
		}
		return set_text_item(it, p, s, slen, why, why_len);
	case CFG_T_PATH:
		if (*s == '\0') {
			if (!(it->flags & CFG_F_EMPTY_OK)) {
				snprintf(why, why_len, "must be an absolute path");
				return SOUK_EINVAL;
			}
		} else if (s[0] != '/') {
			snprintf(why, why_len, "must be an absolute path");
			return SOUK_EINVAL;
		}
		return set_text_item(it, p, s, slen, why, why_len);
	case CFG_T_LISTEN: {
		cfg_listen_t l;
		if (cfg_parse_listen(s, &l) != 0) {
			snprintf(why, why_len,
				 "expected unix:/absolute/path, 127.0.0.1:9000 or [::1]:9000");
			return SOUK_EINVAL;
		}
		*(cfg_listen_t *)p = l;
		break;
	}
	}
	if (it->check && (ret = it->check(it, p, why, why_len)) != 0)
		return ret;
	return 0;
range:
	cfg_format_range(it, why, why_len);
	return SOUK_EINVAL;
}

int cfg_item_format(const cfg_t *cfg, const cfg_item_t *it, char *buf, size_t len)
{
	const void *p = cfield(cfg, it);
	switch (it->type) {
	case CFG_T_INT: snprintf(buf, len, "%lld", (long long)load_int(p, it->size)); break;
	case CFG_T_UINT:
		snprintf(buf, len, "%llu", (unsigned long long)load_uint(p, it->size));
		break;
	case CFG_T_SIZE: cfg_format_size(load_uint(p, it->size), buf, len); break;
	case CFG_T_DURATION: cfg_format_duration(load_uint(p, it->size), buf, len); break;
	case CFG_T_BOOL: snprintf(buf, len, "%s", *(const bool *)p ? "true" : "false"); break;
	case CFG_T_ENUM: {
		const char *name = "?";
		for (const cfg_enum_t *e = it->enums; e->name; e++)
			if (e->value == *(const int *)p)
				name = e->name;
		snprintf(buf, len, "%s", name);
		break;
	}
	case CFG_T_STRING:
	case CFG_T_PATH: {
		const char *s = *(char *const *)p;
		snprintf(buf, len, "%s", s ? s : "");
		break;
	}
	case CFG_T_LISTEN: snprintf(buf, len, "%s", ((const cfg_listen_t *)p)->text); break;
	default: return SOUK_EINVAL;
	}
	return 0;
}

bool cfg_item_equal(const cfg_t *a, const cfg_t *b, const cfg_item_t *it)
{
	const void *pa = cfield(a, it), *pb = cfield(b, it);
	switch (it->type) {
	case CFG_T_STRING:
	case CFG_T_PATH: {
		const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
		return strcmp(sa ? sa : "", sb ? sb : "") == 0;
	}
	case CFG_T_LISTEN:
		return strcmp(((const cfg_listen_t *)pa)->text, ((const cfg_listen_t *)pb)->text) ==
		       0;
	case CFG_T_BOOL: return *(const bool *)pa == *(const bool *)pb;
	case CFG_T_ENUM: return *(const int *)pa == *(const int *)pb;
	case CFG_T_INT: return load_int(pa, it->size) == load_int(pb, it->size);
	default: return load_uint(pa, it->size) == load_uint(pb, it->size);
	}
}

int cfg_item_copy(cfg_t *dst, const cfg_t *src, const cfg_item_t *it)
{
	if (it->type == CFG_T_STRING || it->type == CFG_T_PATH) {
		const char *s = *(char *const *)cfield(src, it);
		return set_text(field(dst, it), s ? s : "");
	}
	memcpy(field(dst, it), cfield(src, it), it->size);
	return 0;
}

void cfg_diff(const cfg_t *old_cfg, const cfg_t *new_cfg, cfg_diff_t *out)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (cfg_item_equal(old_cfg, new_cfg, &schema[i]))
			continue;
		out->items[out->count++] = &schema[i];
		if (schema[i].flags & CFG_F_RESTART)
			out->restart = true;
	}
}

bool cfg_diff_has(const cfg_diff_t *diff, const char *name)
{
	for (unsigned i = 0; i < diff->count; i++)
		if (strcmp(diff->items[i]->name, name) == 0)
			return true;
	return false;
}

static void free_strings(cfg_t *cfg)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	for (size_t i = 0; i < n; i++)
		if (schema[i].type == CFG_T_STRING || schema[i].type == CFG_T_PATH)
			souk_free((char **)field(cfg, &schema[i]));
	souk_free(&cfg->file);
}

void cfg_free(cfg_t **cfg)
{
	if (cfg == NULL || *cfg == NULL)
		return;
	free_strings(*cfg);
	(*cfg)->magic = 0;
	free(*cfg);
	*cfg = NULL;
}

int cfg_new_defaults(const char *file, cfg_t **out)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	char why[256];
	cfg_t *cfg = calloc(1, sizeof(*cfg));
	int ret;

	if (cfg == NULL)
		return SOUK_ENOMEM;
	cfg->magic = CFG_MAGIC;
	cfg->file = strdup(file ? file : "");
	if (cfg->file == NULL) {
		ret = SOUK_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		ret = cfg_item_parse(cfg, &schema[i], schema[i].def, strlen(schema[i].def), why,
				     sizeof(why));
		if (ret == SOUK_EPERM) /* a default secret file exists but is not private */
			ret = cfg_item_parse_unchecked(cfg, &schema[i], schema[i].def);
		if (ret != 0)
			goto fail;
	}
	*out = cfg;
	return 0;
fail:
	cfg_free(&cfg);
	return ret < 0 ? ret : SOUK_ECONFIG;
}

int cfg_item_parse_unchecked(cfg_t *cfg, const cfg_item_t *it, const char *s)
{
	if (it->type == CFG_T_STRING || it->type == CFG_T_PATH)
		return set_text(field(cfg, it), s);
	return SOUK_EINVAL;
}

int cfg_defaults(cfg_t **out)
{
	return cfg_new_defaults("", out);
}

int cfg_dup(const cfg_t *src, cfg_t **out)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	cfg_t *cfg = malloc(sizeof(*cfg));
	int ret = SOUK_ENOMEM;

	if (cfg == NULL)
		return SOUK_ENOMEM;
	memcpy(cfg, src, sizeof(*cfg));
	cfg->file = NULL;
	for (size_t i = 0; i < n; i++)
		if (schema[i].type == CFG_T_STRING || schema[i].type == CFG_T_PATH)
			*(char **)field(cfg, &schema[i]) = NULL;
	cfg->file = strdup(src->file ? src->file : "");
	if (cfg->file == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((ret = cfg_item_copy(cfg, src, &schema[i])) != 0)
			goto fail;
	*out = cfg;
	return 0;
fail:
	cfg_free(&cfg);
	return ret;
}

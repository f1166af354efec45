/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

#define ARENA_MAGIC 0x41524e41u /* "ARNA" */
#define ARENA_ALIGN 16

typedef struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
} chunk_t;

struct arena {
	uint32_t magic;
	size_t chunk_size, max, total, handed;
	chunk_t *head; /* current chunk; the first (kept) one is at the tail */
};

static chunk_t *chunk_new(size_t size)
{
	chunk_t *c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

int arena_new(size_t chunk, size_t max, arena_t **out)
{
	arena_t *a = NULL;
	if (chunk < 256 || max < chunk)
		return SOUK_EINVAL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return SOUK_ENOMEM;
	a->magic = ARENA_MAGIC;
	a->chunk_size = chunk;
	a->max = max;
	a->head = chunk_new(chunk);
	if (a->head == NULL) {
		free(a);
		return SOUK_ENOMEM;
	}
	a->total = chunk;
	*out = a;
	return 0;
}

void arena_reset(arena_t *a)
{
	while (a->head->next != NULL) {
		chunk_t *c = a->head;
		a->head = c->next;
		a->total -= c->size;
		free(c);
	}
	a->head->used = 0;
	a->handed = 0;
}

void arena_free(arena_t **pa)
{
	arena_t *a = *pa;
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->head);
	a->magic = 0;
	free(a);
	*pa = NULL;
}

void *arena_alloc(arena_t *a, size_t n)
{
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	chunk_t *c = a->head;
	if (n == 0)
		need = ARENA_ALIGN;
	if (need < n)
		return NULL;
	if (c->size - c->used < need) {
		size_t size = a->chunk_size;
		while (size < need)
			size *= 2;
		if (size > a->max || a->total + size > a->max)
			return NULL;
		c = chunk_new(size);
		if (c == NULL)
			return NULL;
		c->next = a->head;
		a->head = c;
		a->total += size;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->handed += need;
	return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(small))
		return arena_strndup(a, small, (size_t)n);
	char *p = arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

size_t arena_used(const arena_t *a)
{
	return a->handed;
}

void sbuf_init(sbuf_t *b, arena_t *a)
{
	b->arena = a;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = 0;
}

static int sbuf_reserve(sbuf_t *b, size_t extra)
{
	if (b->failed)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			b->failed = 1;
			return -1;
		}
		cap *= 2;
	}
	char *p = arena_alloc(b->arena, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	if (b->len)
		memcpy(p, b->data, b->len);
	p[b->len] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

void sbuf_add(sbuf_t *b, const void *data, size_t len)
{
	if (sbuf_reserve(b, len) != 0)
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void sbuf_adds(sbuf_t *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_add_u64(sbuf_t *b, uint64_t v)
{
	char num[SOUK_U64_DEC_MAX];
	sbuf_add(b, num, souk_u64_dec(v, num));
}

void sbuf_add_i64(sbuf_t *b, int64_t v)
{
	if (v < 0)
		sbuf_add(b, "-", 1);
	/* the magnitude in unsigned arithmetic: INT64_MIN has no positive twin */
	sbuf_add_u64(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

void sbuf_printf(sbuf_t *b, const char *fmt, ...)
{
	va_list ap;
	char small[512];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, (size_t)n);
		return;
	}
	if (sbuf_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_add_json_str(sbuf_t *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	sbuf_add(b, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sbuf_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': sbuf_add(b, "\\\"", 2); break;
		case '\\': sbuf_add(b, "\\\\", 2); break;
		case '\n': sbuf_add(b, "\\n", 2); break;
		case '\r': sbuf_add(b, "\\r", 2); break;
		case '\t': sbuf_add(b, "\\t", 2); break;
		default: {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			sbuf_add(b, esc, 6);
		}
		}
	}
	sbuf_add(b, s + start, len - start);
	sbuf_add(b, "\"", 1);
}

/*
 * store/json.c - a fast check that a document is a JSON object.
 *
 * store_apply() accepts a document only when jansson parses it as an object
 * with JSON_REJECT_DUPLICATES. Building jansson's tree costs far more than
 * the rest of a mutation, so this scanner runs first. It is one-sided: it
 * answers "sure" only for documents jansson accepts, and "unsure" for
 * anything outside a plain subset, which then goes to jansson. The subset:
 * RFC 8259 grammar with jansson's whitespace, depth <= 64, strictly valid
 * UTF-8, no control characters in strings, no \u0000 or \u surrogate escapes,
 * integers of at most 18 digits (jansson refuses what overflows long long),
 * reals that cannot overflow a double, object keys without escapes, at most
 * 64 keys per object and 512 in open objects, and no duplicate key.
 */
#include "store/internal.h"

#include <string.h>

#define JF_DEPTH 64
#define JF_KEYS_PER_OBJ 64
#define JF_KEYS 512

typedef struct {
	uint32_t off, len, hash;
} jf_key_t;

typedef struct {
	const unsigned char *p, *end;
	jf_key_t keys[JF_KEYS];
	size_t nkeys;
} jf_t;

static void jf_ws(jf_t *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static int jf_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One strictly valid UTF-8 sequence starting at p (a byte >= 0x80):
 * its length, or 0. */
static size_t jf_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* beyond U+10FFFF */
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* A string at j->p (the opening quote). *plain: no escapes. */
static bool jf_string(jf_t *j, bool *plain)
{
	const unsigned char *p = j->p + 1, *end = j->end;
	*plain = true;
	while (p < end) {
		unsigned char c = *p;
		if (c == '"') {
			j->p = p + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			*plain = false;
			if (end - p < 2)
				return false;
			c = p[1];
			if (c == 'u') {
				if (end - p < 6)
					return false;
				int cp = 0;
				for (int i = 2; i < 6; i++) {
					int h = jf_hex(p[i]);
					if (h < 0)
						return false;
					cp = cp << 4 | h;
				}
				if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
					return false;
				p += 6;
			} else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
				   c == 'r' || c == 't') {
				p += 2;
			} else {
				return false;
			}
		} else if (c >= 0x80) {
			size_t n = jf_utf8(p, end);
			if (!n)
				return false;
			p += n;
		} else {
			p++;
		}
	}
	return false;
}

static bool jf_number(jf_t *j)
{
	const unsigned char *p = j->p, *end = j->end;
	size_t idigits = 0;
	bool real = false;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0') {
		p++;
		idigits = 1;
	} else if (p < end && *p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++, idigits++;
	} else {
		return false;
	}
	if (p < end && *p == '.') {
		real = true;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	long exp = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool neg = false;
		size_t edigits = 0;
		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			neg = *p++ == '-';
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9') {
			if (++edigits > 4)
				return false;
			exp = exp * 10 + (*p++ - '0');
		}
		if (neg)
			exp = -exp;
	}
	/* integers must fit long long; reals below 10^300 cannot overflow */
	if (!real ? idigits > 18 : (long)idigits + exp > 300)
		return false;
	j->p = p;
	return true;
}

static bool jf_lit(jf_t *j, const char *lit, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static uint32_t jf_hash(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

bool store_json_object_fast(const char *data, size_t len)
{
	jf_t j;
	/* per open container: is it an object, and where its keys begin */
	bool obj[JF_DEPTH];
	size_t kbase[JF_DEPTH];
	int depth = 0;
	const unsigned char *start = (const unsigned char *)data;

	j.p = start;
	j.end = start + len;
	j.nkeys = 0;
	jf_ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return false;

	/* a value is expected at j.p (after whitespace) */
	for (;;) {
		jf_ws(&j);
		if (j.p >= j.end)
			return false;
		unsigned char c = *j.p;
		bool plain;
		if (c == '{' || c == '[') {
			if (depth == JF_DEPTH)
				return false;
			obj[depth] = c == '{';
			kbase[depth] = j.nkeys;
			depth++;
			j.p++;
			jf_ws(&j);
			if (j.p < j.end && *j.p == (c == '{' ? '}' : ']')) {
				j.p++;
				depth--;
				goto after_value;
			}
			if (c == '[')
				continue;
			goto key;
		}
		if (c == '"') {
			if (!jf_string(&j, &plain))
				return false;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			if (!jf_number(&j))
				return false;
		} else if (c == 't') {
			if (!jf_lit(&j, "true", 4))
				return false;
		} else if (c == 'f') {
			if (!jf_lit(&j, "false", 5))
				return false;
		} else if (c == 'n') {
			if (!jf_lit(&j, "null", 4))
				return false;
		} else {
			return false;
		}
after_value:
		if (depth == 0) {
			jf_ws(&j);
			return j.p == j.end;
		}
		jf_ws(&j);
		if (j.p >= j.end)
			return false;
		c = *j.p++;
		if (c == ',') {
			if (!obj[depth - 1])
				continue;
			jf_ws(&j);
			goto key;
		}
		if (c != (obj[depth - 1] ? '}' : ']'))
			return false;
		depth--;
		j.nkeys = depth >= 0 ? kbase[depth] : 0;
		goto after_value;
key:
		/* an object key at j.p, then ':' */
		if (j.p >= j.end || *j.p != '"')
			return false;
		{
			const unsigned char *ks = j.p + 1;
			if (!jf_string(&j, &plain) || !plain)
				return false;
			size_t kl = (size_t)(j.p - 1 - ks);
			uint32_t h = jf_hash(ks, kl);
			size_t base = kbase[depth - 1];
			if (j.nkeys - base >= JF_KEYS_PER_OBJ || j.nkeys >= JF_KEYS)
				return false;
			for (size_t i = base; i < j.nkeys; i++)
				if (j.keys[i].hash == h && j.keys[i].len == kl &&
				    memcmp(start + j.keys[i].off, ks, kl) == 0)
					return false; /* duplicate */
			j.keys[j.nkeys++] = (jf_key_t){ (uint32_t)(ks - start), (uint32_t)kl, h };
		}
		jf_ws(&j);
		if (j.p >= j.end || *j.p != ':')
			return false;
		j.p++;
	}
}

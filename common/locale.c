/* SPDX-License-Identifier: Apache-2.0 */
#include "common/locale.h"

#include <stdint.h>
#include <string.h>

#include <unicode/uloc.h>

#include "common/error.h"

#define RANGES_MAX 16

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool souk_locale_shape_ok(const char *s, size_t len)
{
	size_t n = 0;
	if (len == 0 || len >= SOUK_LOCALE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-') {
			if (n == 0)
				return false;
			n = 0;
		} else if (is_alpha(s[i]) || (is_digit(s[i]) && i != n)) {
			/* digits only past the first subtag */
			if (++n > 8)
				return false;
		} else {
			return false;
		}
	}
	return n > 0;
}

int souk_locale_canon(const char *s, size_t len, char out[SOUK_LOCALE_MAX])
{
	char tag[SOUK_LOCALE_MAX], id[ULOC_FULLNAME_CAPACITY], back[SOUK_LOCALE_MAX + 1];
	int32_t parsed = 0, n;
	UErrorCode e = U_ZERO_ERROR;

	size_t lang = 0;

	if (!souk_locale_shape_ok(s, len))
		return SOUK_EINVAL;
	while (lang < len && s[lang] != '-')
		lang++;
	if (lang < 2 || lang > 3)
		return SOUK_EINVAL; /* ISO 639: 5-8 letters are well-formed, none is registered */
	memcpy(tag, s, len);
	tag[len] = '\0';
	uloc_forLanguageTag(tag, id, (int32_t)sizeof(id), &parsed, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING || parsed != (int32_t)len)
		return SOUK_EINVAL;
	n = uloc_toLanguageTag(id, back, (int32_t)sizeof(back), true, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING || n <= 0 ||
	    n >= SOUK_LOCALE_MAX || (size_t)n != len)
		return SOUK_EINVAL;
	/* ICU may also rewrite the tag (deprecated codes); keep what was given,
	 * in ICU's case */
	for (size_t i = 0; i < len; i++)
		if (lower(back[i]) != lower(s[i]))
			return SOUK_EINVAL;
	memcpy(out, back, len + 1);
	return 0;
}

/* q-value (RFC 9110 12.4.2) as 0..1000; -1 when malformed. */
static int parse_q(const char *s, size_t len)
{
	int q = 0, scale = 1000;
	if (len == 0 || len > 5 || (s[0] != '0' && s[0] != '1'))
		return -1;
	if (len > 1 && s[1] != '.')
		return -1;
	for (size_t i = 2; i < len; i++) {
		if (!is_digit(s[i]) || (s[0] == '1' && s[i] != '0'))
			return -1;
		scale /= 10;
		q += (s[i] - '0') * scale;
	}
	return s[0] == '1' ? 1000 : q;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..len) without optional white space around it */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_ows(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_ows((*s)[*len - 1]))
		(*len)--;
}

/* one "range;q=x" item; false when malformed or q=0 */
static bool parse_item(const char *s, size_t len, const char **range, size_t *rlen, int *q)
{
	const char *semi = memchr(s, ';', len);
	*range = s;
	*rlen = semi ? (size_t)(semi - s) : len;
	*q = 1000;
	trim(range, rlen);
	if (!(*rlen == 1 && **range == '*') && !souk_locale_shape_ok(*range, *rlen))
		return false;
	if (semi != NULL) {
		const char *p = semi + 1;
		size_t plen = len - (size_t)(p - s);
		trim(&p, &plen);
		if (plen < 2 || lower(p[0]) != 'q' || p[1] != '=')
			return false;
		p += 2;
		plen -= 2;
		trim(&p, &plen);
		*q = parse_q(p, plen);
	}
	return *q > 0;
}

size_t souk_accept_language(const char *header, size_t len, char *out, size_t out_len)
{
	struct {
		const char *s;
		size_t len;
		int q;
	} r[RANGES_MAX];
	size_t nr = 0, o = 0, i = 0;

	if (out_len == 0)
		return 0;
	while (i < len && nr < RANGES_MAX) {
		const char *item = header + i, *comma = memchr(item, ',', len - i);
		size_t ilen = comma ? (size_t)(comma - item) : len - i;
		const char *rs;
		size_t rl, k;
		int q;
		i += ilen + 1;
		if (!parse_item(item, ilen, &rs, &rl, &q))
			continue;
		/* insertion keeps equal q in header order */
		for (k = nr++; k > 0 && r[k - 1].q < q; k--)
			r[k] = r[k - 1];
		r[k].s = rs;
		r[k].len = rl;
		r[k].q = q;
	}
	for (size_t k = 0; k < nr; k++) {
		if (o + (o > 0) + r[k].len + 1 > out_len)
			break;
		if (o > 0)
			out[o++] = ',';
		for (size_t j = 0; j < r[k].len; j++)
			out[o++] = lower(r[k].s[j]);
	}
	out[o] = '\0';
	return o;
}

static bool tag_eq(const char *a, size_t alen, const char *b)
{
	size_t i = 0;
	for (; i < alen; i++)
		if (b[i] == '\0' || lower(a[i]) != lower(b[i]))
			return false;
	return b[i] == '\0';
}

int souk_locale_lookup(const char *list, size_t list_len, size_t n, souk_locale_at_fn at,
		       const void *arg, size_t *found)
{
	char tag[SOUK_LOCALE_MAX];
	size_t i = 0;
	int rc;

	while (i < list_len) {
		const char *range = list + i, *comma = memchr(range, ',', list_len - i);
		size_t rlen = comma ? (size_t)(comma - range) : list_len - i;
		i += rlen + 1;
		if (rlen == 1 && range[0] == '*')
			break;
		while (rlen > 0) {
			for (size_t k = 0; k < n; k++) {
				if ((rc = at(arg, k, tag)) != 0)
					return rc;
				if (tag_eq(range, rlen, tag)) {
					*found = k;
					return 0;
				}
			}
			/* drop the last subtag, and a single-letter one before it */
			while (rlen > 0 && range[rlen - 1] != '-')
				rlen--;
			if (rlen > 0)
				rlen--;
			if (rlen >= 2 && range[rlen - 2] == '-')
				rlen -= 2;
		}
	}
	/* beyond RFC 4647: the first range's language in any region or script
	 * ("sr" finds "sr-Latn-RS") before the default */
	size_t plen = strcspn(list, ",-");
	if (plen == 0 || plen > list_len || (plen == 1 && list[0] == '*'))
		return SOUK_ENOENT;
	for (size_t k = 0; k < n; k++) {
		if ((rc = at(arg, k, tag)) != 0)
			return rc;
		if (strlen(tag) > plen && tag[plen] == '-') {
			tag[plen] = '\0';
			if (tag_eq(list, plen, tag)) {
				*found = k;
				return 0;
			}
		}
	}
	return SOUK_ENOENT;
}

bool souk_country_valid(const char *code)
{
	if (code == NULL || !(code[0] >= 'A' && code[0] <= 'Z') ||
	    !(code[1] >= 'A' && code[1] <= 'Z') || code[2] != '\0')
		return false;
	for (const char *const *c = uloc_getISOCountries(); c != NULL && *c != NULL; c++)
		if (strcmp(*c, code) == 0)
			return true;
	return false;
}

const char *souk_locale_direction(const char *tag)
{
	static const char rtl_langs[][4] = { "ar", "fa", "he", "iw", "ur" };
	char id[ULOC_FULLNAME_CAPACITY], script[ULOC_SCRIPT_CAPACITY];
	int32_t parsed = 0;
	UErrorCode e = U_ZERO_ERROR;
	size_t len = tag != NULL ? strlen(tag) : 0, lang = 0;

	if (!souk_locale_shape_ok(tag, len))
		return "ltr";
	while (lang < len && tag[lang] != '-')
		lang++;
	uloc_forLanguageTag(tag, id, (int32_t)sizeof(id), &parsed, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING || parsed != (int32_t)len)
		return "ltr";
	/* without a script the language decides: the four the catalog names
	 * need no ICU data, and for the rest ICU adds the likely script */
	uloc_getScript(id, script, (int32_t)sizeof(script), &e);
	if (U_SUCCESS(e) && script[0] == '\0')
		for (size_t i = 0; i < sizeof(rtl_langs) / sizeof(rtl_langs[0]); i++)
			if (lang == strlen(rtl_langs[i]) &&
			    lower(tag[0]) == rtl_langs[i][0] && lower(tag[1]) == rtl_langs[i][1])
				return "rtl";
	return uloc_isRightToLeft(id) ? "rtl" : "ltr";
}

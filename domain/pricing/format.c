/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/format.c - currency format templates (format.h). */
#include "domain/pricing/format.h"

#include <stdio.h>
#include <string.h>

#include <unicode/unum.h>
#include <unicode/ustring.h>

#include "common/currency.h"
#include "common/error.h"

#define PROBE_MAX 160

/* ICU's answer for the decimal number text dec, in UTF-8. */
static int icu_format(UNumberFormat *nf, const char *dec, char *out, size_t cap)
{
	UChar u[PROBE_MAX];
	UErrorCode st = U_ZERO_ERROR;
	int32_t n = unum_formatDecimal(nf, dec, (int32_t)strlen(dec), u, PROBE_MAX, NULL, &st);
	if (U_FAILURE(st) || n >= PROBE_MAX)
		return SOUK_EINVAL;
	int32_t len = 0;
	u_strToUTF8(out, (int32_t)cap, &len, u, n, &st);
	if (U_FAILURE(st) || (size_t)len >= cap)
		return SOUK_EINVAL;
	out[len] = '\0';
	return 0;
}

static int symbol(UNumberFormat *nf, UNumberFormatSymbol which, char *out, size_t cap)
{
	UChar u[16];
	UErrorCode st = U_ZERO_ERROR;
	int32_t n = unum_getSymbol(nf, which, u, 16, &st), len = 0;
	if (U_FAILURE(st) || n >= 16)
		return SOUK_EINVAL;
	u_strToUTF8(out, (int32_t)cap, &len, u, n, &st);
	if (U_FAILURE(st) || (size_t)len >= cap)
		return SOUK_EINVAL;
	out[len] = '\0';
	return 0;
}

/* The locale digit at s, its value, and its length in *len; -1 if none. */
static int digit_at(const money_fmt_t *f, const char *s, size_t *len)
{
	for (int d = 0; d < 10; d++) {
		size_t n = strlen(f->digit[d]);
		if (n && strncmp(s, f->digit[d], n) == 0) {
			*len = n;
			return d;
		}
	}
	return -1;
}

/* Where the digits of a formatted number start and end. */
static int digit_span(const money_fmt_t *f, const char *s, size_t *first, size_t *end)
{
	size_t n, i;
	bool found = false;
	for (i = 0; s[i];) {
		if (digit_at(f, s + i, &n) >= 0) {
			if (!found)
				*first = i;
			found = true;
			*end = i + n;
			i += n;
		} else {
			i++;
		}
	}
	return found ? 0 : SOUK_EINVAL;
}

static int copy_affix(char *dst, const char *s, size_t n)
{
	if (n >= MONEY_AFFIX_MAX)
		return SOUK_EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* "1234" with frac zeros: the decimal text of an integer of n nines. */
static void probe_text(char *buf, size_t cap, int digits, int frac, bool neg)
{
	size_t o = 0;
	if (neg)
		buf[o++] = '-';
	for (int i = 0; i < digits && o + 1 < cap; i++)
		buf[o++] = (char)('1' + i % 9);
	if (frac > 0) {
		buf[o++] = '.';
		for (int i = 0; i < frac && o + 1 < cap; i++)
			buf[o++] = (char)('1' + i % 9);
	}
	buf[o] = '\0';
}

/* Does the formatted integer part (between first and end, before the
 * decimal separator) hold a grouping separator? */
static bool has_group(const money_fmt_t *f, const char *s, size_t first, size_t end)
{
	size_t gl = strlen(f->group);
	for (size_t i = first; gl && i + gl <= end; i++)
		if (strncmp(s + i, f->group, gl) == 0)
			return true; /* a group separator is never in the fraction */
	return false;
}

/* Group sizes from a long integer's formatting: the lengths of its last
 * two groups. */
static void group_sizes(money_fmt_t *f, const char *s, size_t first, size_t end)
{
	int sizes[32], ng = 0, cur = 0;
	size_t n, gl = strlen(f->group), dl = strlen(f->decimal);
	for (size_t i = first; i < end && ng < 31;) {
		if (digit_at(f, s + i, &n) >= 0) {
			cur++;
			i += n;
		} else if (gl && strncmp(s + i, f->group, gl) == 0) {
			sizes[ng++] = cur;
			cur = 0;
			i += gl;
		} else if (dl && strncmp(s + i, f->decimal, dl) == 0) {
			break;
		} else {
			i++;
		}
	}
	sizes[ng++] = cur;
	f->group1 = ng >= 2 ? (uint8_t)sizes[ng - 1] : 0;
	f->group2 = ng >= 3 ? (uint8_t)sizes[ng - 2] : f->group1;
}

int money_fmt_make(const char *locale, const char *currency, money_fmt_t *out)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar ucur[4];
	char s[PROBE_MAX * 3], dec[64];
	size_t first = 0, end = 0;
	int exp = souk_currency_exponent(currency);
	memset(out, 0, sizeof(*out));
	if (exp < 0 || strlen(currency) != 3)
		return SOUK_EINVAL;
	UNumberFormat *nf = unum_open(UNUM_CURRENCY, NULL, 0, locale, NULL, &st);
	if (U_FAILURE(st))
		return SOUK_EINVAL;
	u_charsToUChars(currency, ucur, 4);
	unum_setTextAttribute(nf, UNUM_CURRENCY_CODE, ucur, 3, &st);
	/* ISO 4217 minor units, not CLDR's display digits */
	unum_setAttribute(nf, UNUM_MIN_FRACTION_DIGITS, exp);
	unum_setAttribute(nf, UNUM_MAX_FRACTION_DIGITS, exp);
	int rc = U_FAILURE(st) ? SOUK_EINVAL : 0;
	static const UNumberFormatSymbol digits[10] = {
		UNUM_ZERO_DIGIT_SYMBOL,	 UNUM_ONE_DIGIT_SYMBOL,	  UNUM_TWO_DIGIT_SYMBOL,
		UNUM_THREE_DIGIT_SYMBOL, UNUM_FOUR_DIGIT_SYMBOL,  UNUM_FIVE_DIGIT_SYMBOL,
		UNUM_SIX_DIGIT_SYMBOL,	 UNUM_SEVEN_DIGIT_SYMBOL, UNUM_EIGHT_DIGIT_SYMBOL,
		UNUM_NINE_DIGIT_SYMBOL,
	};
	for (int d = 0; rc == 0 && d < 10; d++)
		rc = symbol(nf, digits[d], out->digit[d], MONEY_SYMBOL_MAX);
	if (rc == 0)
		rc = symbol(nf, UNUM_MONETARY_SEPARATOR_SYMBOL, out->decimal, MONEY_SYMBOL_MAX);
	if (rc == 0)
		rc = symbol(nf, UNUM_MONETARY_GROUPING_SEPARATOR_SYMBOL, out->group,
			    MONEY_SYMBOL_MAX);
	out->frac = (uint8_t)exp;
	/* affixes and grouping, read off ICU's own output for probes */
	if (rc == 0) {
		probe_text(dec, sizeof(dec), 13, exp, false);
		rc = icu_format(nf, dec, s, sizeof(s));
	}
	if (rc == 0 && (rc = digit_span(out, s, &first, &end)) == 0) {
		rc = copy_affix(out->pos_prefix, s, first);
		if (rc == 0)
			rc = copy_affix(out->pos_suffix, s + end, strlen(s + end));
		if (unum_getAttribute(nf, UNUM_GROUPING_USED))
			group_sizes(out, s, first, end);
	}
	if (rc == 0) {
		probe_text(dec, sizeof(dec), 1, exp, true);
		rc = icu_format(nf, dec, s, sizeof(s));
	}
	if (rc == 0 && (rc = digit_span(out, s, &first, &end)) == 0) {
		rc = copy_affix(out->neg_prefix, s, first);
		if (rc == 0)
			rc = copy_affix(out->neg_suffix, s + end, strlen(s + end));
	}
	/* the smallest integer that is grouped (CLDR's minimum grouping
	 * digits: "1234 €" but "12 345 €" in Spanish) */
	out->min_grouping = out->group1 ? (uint8_t)(out->group1 + 1) : 0;
	for (int n = out->group1 + 1; rc == 0 && out->group1 && n <= out->group1 + 4; n++) {
		probe_text(dec, sizeof(dec), n, exp, false);
		if ((rc = icu_format(nf, dec, s, sizeof(s))) != 0 ||
		    (rc = digit_span(out, s, &first, &end)) != 0)
			break;
		if (has_group(out, s, first, end)) {
			out->min_grouping = (uint8_t)n;
			break;
		}
	}
	unum_close(nf);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

static bool put(char *buf, size_t cap, size_t *o, const char *s)
{
	size_t n = strlen(s);
	if (*o + n >= cap)
		return false;
	memcpy(buf + *o, s, n);
	*o += n;
	return true;
}

size_t money_fmt_apply(const money_fmt_t *f, int64_t amount, char *buf, size_t cap)
{
	char d[24];
	size_t o = 0, n = 0;
	bool neg = amount < 0, ok;
	uint64_t v = neg ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
	if (cap == 0)
		return 0;
	/* the digits, at least frac + 1 of them */
	do {
		d[n++] = (char)(v % 10u);
		v /= 10u;
	} while (v != 0 || n <= f->frac);
	size_t nint = n - f->frac; /* integer digits, d[] holds them reversed */
	ok = put(buf, cap, &o, neg ? f->neg_prefix : f->pos_prefix);
	bool grouped = f->group1 && nint >= f->min_grouping;
	for (size_t i = 0; ok && i < nint; i++) {
		size_t left = nint - i; /* integer digits from this one on */
		ok = put(buf, cap, &o, f->digit[(int)d[n - 1 - i]]);
		if (!ok || !grouped || left == 1)
			continue;
		size_t after = left - 1; /* digits after this one */
		bool sep = after == f->group1 ||
			   (after > f->group1 && f->group2 && (after - f->group1) % f->group2 == 0);
		if (sep)
			ok = put(buf, cap, &o, f->group);
	}
	if (ok && f->frac)
		ok = put(buf, cap, &o, f->decimal);
	for (size_t i = 0; ok && i < f->frac; i++)
		ok = put(buf, cap, &o, f->digit[(int)d[f->frac - 1 - i]]);
	if (ok)
		ok = put(buf, cap, &o, neg ? f->neg_suffix : f->pos_suffix);
	if (!ok) {
		buf[0] = '\0';
		return 0;
	}
	buf[o] = '\0';
	return o;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Formatted amounts from a template match ICU's own formatting, byte for
 * byte, for random amounts (zero, negatives and the int64 edges included)
 * in locales with other separators, grouping (Indian, Spanish minimum
 * grouping), digits (Arabic-Indic, Persian, Devanagari) and affixes, and
 * currencies with 0, 2, 3 and 4 minor digits; and the shapes a shopper
 * sees: "19,99 €", "¥1,999", KWD with three decimals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>
#include "common/currency.h"
#include "domain/pricing/format.h"

/* ICU's formatting of amount minor units with the ISO exponent. */
static void icu(const char *locale, const char *currency, int64_t amount, char *out, size_t cap)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar ucur[4], u[256];
	char dec[48];
	int e = souk_currency_exponent(currency);
	UNumberFormat *nf = unum_open(UNUM_CURRENCY, NULL, 0, locale, NULL, &st);
	u_charsToUChars(currency, ucur, 4);
	unum_setTextAttribute(nf, UNUM_CURRENCY_CODE, ucur, 3, &st);
	unum_setAttribute(nf, UNUM_MIN_FRACTION_DIGITS, e);
	unum_setAttribute(nf, UNUM_MAX_FRACTION_DIGITS, e);
	/* the decimal text of amount / 10^e, exactly */
	uint64_t v = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount, p = 1;
	for (int i = 0; i < e; i++)
		p *= 10;
	if (e)
		snprintf(dec, sizeof(dec), "%s%llu.%0*llu", amount < 0 ? "-" : "",
			 (unsigned long long)(v / p), e, (unsigned long long)(v % p));
	else
		snprintf(dec, sizeof(dec), "%s%llu", amount < 0 ? "-" : "", (unsigned long long)v);
	int32_t n = unum_formatDecimal(nf, dec, (int32_t)strlen(dec), u, 256, NULL, &st), len = 0;
	u_strToUTF8(out, (int32_t)cap, &len, u, n, &st);
	assert_false(U_FAILURE(st));
	out[len] = '\0';
	unum_close(nf);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_format_matches_icu(void **state)
{
	static const char *const locales[] = {
	    "en", "en-GB", "en-IN", "de", "de-CH", "fr", "fr-CH", "it", "es", "nl", "sv", "pl",
	    "ru", "pt-BR", "tr", "ja", "zh", "ko", "ar", "ar-EG", "ar-KW", "fa", "he", "ur", "hi",
	    "bn", "th"};
	static const char *const currencies[] = {"EUR", "GBP", "USD", "JPY", "KWD", "CHF",
						 "INR", "BHD", "CLF", "SEK"};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char want[256], got[MONEY_FORMAT_MAX];
	size_t checked = 0;
	(void)state;
	for (size_t l = 0; l < sizeof(locales) / sizeof(locales[0]); l++)
		for (size_t c = 0; c < sizeof(currencies) / sizeof(currencies[0]); c++) {
			money_fmt_t f;
			assert_int_equal(money_fmt_make(locales[l], currencies[c], &f), 0);
			for (int i = 0; i < 60; i++) {
				int64_t a;
				switch (i) {
				case 0: a = 0; break;
				case 1: a = 1; break;
				case 2: a = -1; break;
				case 3: a = INT64_MAX; break;
				case 4: a = INT64_MIN + 1; break;
				case 5: a = 1999; break;
				case 6: a = 123456789; break;
				default: {
					/* every magnitude, both signs */
					uint64_t r = rnd(&seed);
					int digits = 1 + (int)(r % 18);
					int64_t m = 1;
					for (int k = 0; k < digits; k++)
						m *= 10;
					a = (int64_t)(rnd(&seed) % (uint64_t)m);
					if (r & 0x100000)
						a = -a;
				}
				}
				icu(locales[l], currencies[c], a, want, sizeof(want));
				size_t n = money_fmt_apply(&f, a, got, sizeof(got));
				if (n == 0 || strcmp(got, want) != 0)
					fail_msg("%s %s %lld: '%s', ICU '%s'", locales[l], currencies[c],
						 (long long)a, got, want);
				checked++;
			}
		}
	assert_true(checked > 10000);
}

static void test_format_shapes_a_shopper_sees(void **state)
{
	money_fmt_t f;
	char out[MONEY_FORMAT_MAX];
	(void)state;
	assert_int_equal(money_fmt_make("de", "EUR", &f), 0);
	money_fmt_apply(&f, 1999, out, sizeof(out));
	assert_string_equal(out, "19,99\u00a0€");
	money_fmt_apply(&f, 123456789, out, sizeof(out));
	assert_string_equal(out, "1.234.567,89\u00a0€");
	assert_int_equal(money_fmt_make("ja", "JPY", &f), 0);
	money_fmt_apply(&f, 1999, out, sizeof(out));
	assert_string_equal(out, "￥1,999");
	assert_int_equal(money_fmt_make("en", "JPY", &f), 0);
	money_fmt_apply(&f, 1999, out, sizeof(out));
	assert_string_equal(out, "¥1,999");
	/* three decimals for KWD whatever CLDR displays */
	assert_int_equal(money_fmt_make("en", "KWD", &f), 0);
	money_fmt_apply(&f, 1999000, out, sizeof(out));
	assert_string_equal(out, "KWD\u00a01,999.000");
	assert_int_equal(money_fmt_make("en-IN", "INR", &f), 0);
	money_fmt_apply(&f, 1234567890, out, sizeof(out));
	assert_string_equal(out, "₹1,23,45,678.90");
	/* too small a buffer: nothing, never a cut amount */
	assert_int_equal(money_fmt_apply(&f, 1234567890, out, 5), 0);
	assert_string_equal(out, "");
	assert_int_not_equal(money_fmt_make("en", "QQQ", &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_matches_icu),
	    cmocka_unit_test(test_format_shapes_a_shopper_sees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

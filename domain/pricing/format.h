/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/format.h - formatted amounts for shoppers ("19,99 €",
 * "¥1,999", "1.999,000 د.ك.") without ICU on the request path.
 *
 * soukd asks ICU once per (locale, currency) at publish time for the
 * locale's currency format and keeps what it needs as a template: the
 * affixes of positive and negative amounts (currency symbol, signs, spaces,
 * bidi marks), the monetary decimal and grouping separators, the grouping
 * sizes (primary, secondary, and the minimum digits before grouping
 * starts), the locale's digits (Arabic-Indic, Devanagari, ...), and the
 * currency's ISO 4217 minor digits (not CLDR's display digits: KWD shows 3).
 * Workers apply a template to an integer amount in minor units with integer
 * arithmetic only. The output is ICU's own for every amount (checked by
 * the unit test against ICU over random amounts in many locales).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MONEY_AFFIX_MAX 32 /* bytes of one affix (UTF-8) and its NUL */
#define MONEY_SYMBOL_MAX 8 /* a separator or digit (UTF-8) and its NUL */
#define MONEY_FORMAT_MAX 96 /* a formatted amount and its NUL */

typedef struct {
	char pos_prefix[MONEY_AFFIX_MAX], pos_suffix[MONEY_AFFIX_MAX];
	char neg_prefix[MONEY_AFFIX_MAX], neg_suffix[MONEY_AFFIX_MAX];
	char decimal[MONEY_SYMBOL_MAX], group[MONEY_SYMBOL_MAX];
	char digit[10][MONEY_SYMBOL_MAX];
	uint8_t frac;	       /* minor digits shown: the ISO 4217 exponent */
	uint8_t group1;	       /* primary grouping size, 0: no grouping */
	uint8_t group2;	       /* secondary grouping size (Indian: 2), else group1 */
	uint8_t min_grouping;  /* integer digits needed before grouping applies - 1 */
	uint8_t pad[4];
} money_fmt_t;

/* The template of currency (ISO 4217) in locale (BCP 47), with ICU: 0,
 * SOUK_EINVAL for an unknown currency or a format the template cannot
 * hold (an affix or symbol too long), or SOUK_ECRYPTO-like ICU failure as
 * SOUK_EINVAL. */
int money_fmt_make(const char *locale, const char *currency, money_fmt_t *out);
/* amount (minor units) formatted into buf: its length, or 0 when cap is
 * too small (buf then holds ""). No allocation, no ICU. */
size_t money_fmt_apply(const money_fmt_t *f, int64_t amount, char *buf, size_t cap);

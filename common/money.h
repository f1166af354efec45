/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/money.h - exact money: integer minor units, rounding, tax,
 * allocation, decimal text and locale formatting.
 *
 * An amount is an int64_t count of a currency's ISO 4217 minor units (GBP
 * pence, JPY yen, KWD fils: 1999 is 19.99 GBP, 1999 JPY, 1.999 KWD) beside
 * its three-letter code; the exponent comes from souk_currency_exponent().
 * Binary fractions cannot hold 0.10 exactly, so nothing here uses them:
 * every product is formed in 128 bits (__int128) and every quotient is
 * rounded once, by a mode the channel names. A result that does not fit
 * int64_t is refused with -ERANGE, never wrapped or saturated, because a
 * wrong total that looks plausible is worse than an error. Division by zero
 * and negative rates are SOUK_EINVAL. Outputs are written only on success.
 *
 * Rates (tax, discount, exchange margins) are integers in parts per million:
 * 20% VAT is 200000, 7.25% is 72500, 100% is 1000000. A percentage of an
 * amount is the same operation as a tax rate applied to it
 * (souk_money_rate).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* parts per million in one whole: a rate of SOUK_PPM is 100% */
#define SOUK_PPM 1000000

/* A rate above 1000% is refused (SOUK_EINVAL): no tax or discount is that
 * large, so such a value is a unit mistake (a percent typed as ppm x 100). */
#define SOUK_RATE_PPM_MAX (10 * SOUK_PPM)

/*
 * Rounding of a quotient to whole minor units. The names are the values of
 * a channel's tax.rounding ("half_even", ...); the meanings are those of
 * Java's RoundingMode, which peers (commercetools, Adyen) document against:
 * modes are symmetric around zero, so a refund rounds like its sale.
 */
typedef enum {
	SOUK_ROUND_HALF_EVEN = 0, /* default; halves to the even neighbour: 0.5->0, 1.5->2, 2.5->2 */
	SOUK_ROUND_HALF_UP,       /* halves away from zero: 0.5->1, -0.5->-1 (commercial rounding) */
	SOUK_ROUND_HALF_DOWN,     /* halves toward zero: 0.5->0, 0.6->1 */
	SOUK_ROUND_UP,            /* any fraction away from zero: 0.1->1, -0.1->-1 */
	SOUK_ROUND_DOWN,          /* any fraction toward zero (truncation): 0.9->0, -0.9->0 */
} souk_round_t;

/* The mode named s (exactly one of the names above); SOUK_EINVAL otherwise. */
int souk_money_round_parse(const char *s, souk_round_t *out);

/* The name of a mode ("half_even"); NULL for a value outside the enum. */
const char *souk_money_round_name(souk_round_t mode);

/*
 * a * b / d rounded by mode into *out: the one rounding primitive every other
 * calculation here goes through, so a rational amount (a price per 100 g
 * times grams, an exchange rate num/den) is rounded exactly once. The
 * product is exact in 128 bits; SOUK_EINVAL when d is 0, -ERANGE when the
 * rounded result leaves int64_t.
 */
int souk_money_muldiv(int64_t a, int64_t b, int64_t d, souk_round_t mode, int64_t *out);

/* amount * quantity, exact; -ERANGE when it leaves int64_t. */
int souk_money_mul(int64_t amount, int64_t quantity, int64_t *out);

/* a + b, exact; -ERANGE when it leaves int64_t (totals of many lines). */
int souk_money_add(int64_t a, int64_t b, int64_t *out);

/*
 * amount * rate_ppm / 1000000 rounded by mode: a tax-exclusive tax, a
 * percentage discount (10% off is 100000), a commission. rate_ppm must be
 * 0..SOUK_RATE_PPM_MAX (SOUK_EINVAL otherwise).
 */
int souk_money_rate(int64_t amount, int64_t rate_ppm, souk_round_t mode, int64_t *out);

/*
 * A rate written as a percentage ("20", "19.6", "7.25", "0.0001": at most
 * four decimals, the precision of ppm) into ppm. Plain ASCII digits with an
 * optional '.' and at least one digit either side; no sign, exponent, '%'
 * or white space. SOUK_EINVAL when malformed or above SOUK_RATE_PPM_MAX.
 * Parses outside input (config, imports): fuzzed by tests/fuzz/fuzz_money.c.
 */
int souk_money_rate_parse(const char *s, size_t len, int64_t *out_ppm);

/* ---- tax of one line ---------------------------------------------------- */

/* Where the rounding happens (the channel's tax.calculation). */
typedef enum {
	SOUK_TAX_LINE = 0, /* "line": tax over the line total, rounded once (default) */
	SOUK_TAX_UNIT,     /* "unit": each unit's tax rounded, then times quantity */
} souk_tax_level_t;

/* The level named s ("line" or "unit"); SOUK_EINVAL otherwise. */
int souk_tax_level_parse(const char *s, souk_tax_level_t *out);

/* A channel's tax settings for one rate. */
typedef struct {
	int64_t rate_ppm;        /* 0..SOUK_RATE_PPM_MAX; 20% = 200000 */
	bool prices_include_tax; /* prices are gross (B2C in the EU) or net (US, B2B) */
	souk_tax_level_t level;
	souk_round_t rounding;
} souk_tax_rule_t;

/* One line's amounts; net + tax == gross always, to the minor unit. */
typedef struct {
	int64_t net, tax, gross;
} souk_tax_line_t;

/*
 * Net, tax and gross of quantity units at unit_price (minor units) under
 * rule. The price side is exact (unit_price * quantity is the line's gross
 * when prices include tax, its net otherwise); only the tax is rounded, and
 * the third figure is derived from the other two, so the line always adds
 * up. Inclusive prices take tax = price * rate / (1000000 + rate).
 *
 * Per unit and per line differ by design and both are what merchants ask
 * for: 10 x 38.23 GBP inclusive at 20% is tax 63.72 per line
 * (382.30 / 6 = 63.716..) but 10 x 6.37 = 63.70 per unit (38.23 / 6 =
 * 6.371..); the gross is 382.30 either way. Negative prices or quantities
 * (returns) round symmetrically. A line whose total is already known (after
 * an allocated discount) is quantity 1 at that total.
 *
 * SOUK_EINVAL for a rate out of range or an unknown mode or level, -ERANGE
 * when any figure leaves int64_t.
 */
int souk_tax_line(int64_t unit_price, int64_t quantity, const souk_tax_rule_t *rule,
		  souk_tax_line_t *out);

/* ---- allocation ----------------------------------------------------------- */

/*
 * Split total across n parts in proportion to weights (the lines' amounts)
 * so that the parts add up to total exactly: each part is its quota rounded
 * toward zero, and the units left over go one each to the parts with the
 * largest remainders (Hamilton's method), ties to the larger weight, then to
 * the lower index, so the same input always splits the same way. A 10%
 * order discount of 1000 over lines of 1, 1, 1 is 334, 333, 333.
 *
 * A negative total (a discount written as negative) splits like its
 * magnitude and every part is negative or 0. A zero weight gets 0. Weights
 * must be >= 0 (SOUK_EINVAL otherwise); when they are all 0 (or n is 0) only
 * a total of 0 can be split. SOUK_ENOMEM when the n-entry scratch array
 * cannot be allocated. parts is written only on success.
 */
int souk_money_allocate(int64_t total, const int64_t *weights, size_t n, int64_t *parts);

/* ---- decimal text ----------------------------------------------------------- */

/* Longest plain decimal: '-', 19 digits, '.', "0." padding, NUL. */
#define SOUK_MONEY_PLAIN_MAX 26

/*
 * A decimal amount ("19.99", "1999", "0.5", "1.999") of len bytes into minor
 * units of a currency with exponent decimal places (0..4): at most exponent
 * decimals ("19.990" is refused for EUR rather than silently read), fewer are
 * padded ("19.9" is 1990). Only ASCII digits and one '.' with a digit on both
 * sides: no sign (prices are never negative; a credit is its own kind), no
 * exponent, grouping, currency sign or white space. SOUK_EINVAL when
 * malformed, -ERANGE when above INT64_MAX minor units. Parses outside input:
 * fuzzed by tests/fuzz/fuzz_money.c.
 */
int souk_money_parse_exp(const char *s, size_t len, int exponent, int64_t *out);

/* souk_money_parse_exp with the exponent of ISO 4217 code currency;
 * SOUK_EINVAL for an unknown code. */
int souk_money_parse(const char *s, size_t len, const char *currency, int64_t *out);

/*
 * minor as a plain decimal with exactly exponent (0..4) decimals, '.' as the
 * separator and '-' for negatives: "19.99", "-0.05", "1999" (JPY), "1.999"
 * (KWD). The form souk_money_parse_exp reads back (for amounts >= 0), and the
 * one JSON carries beside the formatted text. SOUK_ETOOBIG when out_len is
 * short (SOUK_MONEY_PLAIN_MAX always fits), SOUK_EINVAL for a bad exponent.
 */
int souk_money_plain_exp(int64_t minor, int exponent, char *out, size_t out_len);

/* souk_money_plain_exp with the exponent of ISO 4217 code currency. */
int souk_money_plain(int64_t minor, const char *currency, char *out, size_t out_len);

/* ---- locale formatting (ICU) ---------------------------------------------- */

/*
 * A currency formatter for one locale and currency: ICU's UNUM_CURRENCY
 * pattern for the locale with the currency's symbol, fed the exact decimal
 * from souk_money_plain (ICU's decimal entry point, never a binary number),
 * with exactly the ISO 4217 decimals (KWD 3, JPY 0, CLF 4), where CLDR's
 * display digits would differ (IQD). Opening one loads locale data, so the
 * image builder keeps one per (locale, currency) while it renders; a
 * formatter is used by one thread at a time.
 */
typedef struct souk_money_fmt souk_money_fmt_t;

/*
 * locale is a BCP 47 tag ("de", "ar-TN", "ar-u-nu-latn" for Latin digits);
 * one ICU has no data for gets the root locale's pattern ("€ 19.99").
 * SOUK_EINVAL for a malformed tag or an unknown currency, SOUK_ENOMEM, or
 * SOUK_EINVAL when ICU cannot open the formatter.
 */
int souk_money_fmt_new(const char *locale, const char *currency, souk_money_fmt_t **out);
void souk_money_fmt_free(souk_money_fmt_t **f);

/*
 * minor formatted as UTF-8 into out (NUL-terminated): "19,99 €" (de, EUR
 * 1999), "¥1,999" (en, JPY 1999), "\u200f1.999,000 د.ك.\u200f" (ar-TN, KWD
 * 1999000). The bytes are ICU's, no-break spaces (U+00A0, U+202F) and bidi
 * marks (U+200F) included: show them as they are. SOUK_ETOOBIG when out is
 * short (128 bytes always fits).
 */
int souk_money_fmt_format(souk_money_fmt_t *f, int64_t minor, char *out, size_t out_len);

/* One-shot souk_money_fmt_new + format + free, for a single amount. */
int souk_money_format(int64_t minor, const char *currency, const char *locale, char *out,
		      size_t out_len);

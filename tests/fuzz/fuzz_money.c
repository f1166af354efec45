/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_money - common/money.c on outside input: decimal amounts and
 * percentage rates as text, and raw int64 figures for tax lines and
 * allocation.
 *
 * Input: byte 0 picks the exponent (bits 0-2, taken mod 5); the rest is
 * both the text for souk_money_parse_exp() and souk_money_rate_parse(), and,
 * read as little-endian int64 words, a unit price, quantity, rate and rule
 * for souk_tax_line() and a total with up to 8 weights for
 * souk_money_allocate(). What must hold: an accepted amount is >= 0, came
 * from digits with at most one '.' and no more decimals than the exponent,
 * and goes back to the same text shape and value (and formats with ICU); an
 * accepted rate is within 0..SOUK_RATE_PPM_MAX; every tax line adds up; every
 * allocation sums to its total; errors are only the documented ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t word(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* what the parser may accept: digits, then optionally '.' and 1..exp digits */
static bool shape_ok(const char *s, size_t len, int exp)
{
	size_t i = 0, dec = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0)
		return false;
	if (i == len)
		return true;
	if (s[i++] != '.')
		return false;
	for (; i < len; i++, dec++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return dec >= 1 && dec <= (size_t)exp;
}

static void check_text(const char *s, size_t len, int exp)
{
	static souk_money_fmt_t *fmt[5];
	static const char *const cur[5] = { "JPY", "EUR", "GBP", "KWD", "CLF" };
	char plain[SOUK_MONEY_PLAIN_MAX], shown[128];
	int64_t v, back, ppm;
	int rc = souk_money_parse_exp(s, len, exp, &v);

	if (rc == 0) {
		if (v < 0 || !shape_ok(s, len, exp))
			abort();
		if (souk_money_plain_exp(v, exp, plain, sizeof(plain)) != 0 ||
		    souk_money_parse_exp(plain, strlen(plain), exp, &back) != 0 || back != v)
			abort();
		if (fmt[exp] == NULL && souk_money_fmt_new("de", cur[exp], &fmt[exp]) != 0)
			abort();
		if (souk_money_fmt_format(fmt[exp], v, shown, sizeof(shown)) != 0)
			abort();
	} else if (rc != SOUK_EINVAL && rc != -ERANGE) {
		abort();
	} else if (rc == -ERANGE && !shape_ok(s, len, exp)) {
		abort();
	}
	rc = souk_money_rate_parse(s, len, &ppm);
	if (rc == 0 ? ppm < 0 || ppm > SOUK_RATE_PPM_MAX || !shape_ok(s, len, 4)
		    : rc != SOUK_EINVAL)
		abort();
}

static void check_figures(const uint8_t *d, size_t size)
{
	int64_t w[8], parts[8], total;
	size_t nw = 0;
	souk_tax_line_t l;
	int rc;

	if (size < 32)
		return;
	souk_tax_rule_t r = {
		/* mostly valid rates, sometimes any word */
		.rate_ppm = d[24] & 1 ? word(d + 16) : (int64_t)((uint64_t)word(d + 16) % (SOUK_RATE_PPM_MAX + 1)),
		.prices_include_tax = d[24] & 2,
		.level = (souk_tax_level_t)((d[24] >> 2) % 3),
		.rounding = (souk_round_t)((d[24] >> 4) % 6),
	};
	rc = souk_tax_line(word(d), word(d + 8), &r, &l);
	if (rc == 0 ? (__int128)l.net + l.tax != l.gross : rc != SOUK_EINVAL && rc != -ERANGE)
		abort();

	if (size < 40)
		return;
	total = word(d + 32);
	for (size_t off = 40; off + 8 <= size && nw < 8; off += 8)
		w[nw++] = d[25] & 1 ? word(d + off) : (int64_t)((uint64_t)word(d + off) >> 1);
	rc = souk_money_allocate(total, w, nw, parts);
	if (rc == 0) {
		__int128 sum = 0;
		for (size_t i = 0; i < nw; i++) {
			if (total >= 0 ? parts[i] < 0 : parts[i] > 0)
				abort();
			sum += parts[i];
		}
		if (sum != total)
			abort();
	} else if (rc != SOUK_EINVAL && rc != SOUK_ENOMEM) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	check_text((const char *)data + 1, size - 1, (data[0] & 7) % 5);
	check_figures(data + 1, size - 1);
	return 0;
}

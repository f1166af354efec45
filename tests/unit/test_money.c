/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_money.c - common/money.{h,c}: rounding modes, 128-bit
 * products and overflow refusal, tax lines that add up, largest-remainder
 * allocation, decimal text, ICU formatting, the direction of a locale, and a
 * scan of the money sources for binary-fraction types.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/money.h"

#define NMODES 5
static const souk_round_t modes[NMODES] = { SOUK_ROUND_HALF_EVEN, SOUK_ROUND_HALF_UP,
					    SOUK_ROUND_HALF_DOWN, SOUK_ROUND_UP,
					    SOUK_ROUND_DOWN };

/* ---- rounding ------------------------------------------------------------ */

static void test_round_names_parse_both_ways(void **state)
{
	static const char *const names[NMODES] = { "half_even", "half_up", "half_down", "up",
						    "down" };
	souk_round_t m = SOUK_ROUND_DOWN;
	(void)state;
	for (int i = 0; i < NMODES; i++) {
		assert_int_equal(souk_money_round_parse(names[i], &m), 0);
		assert_int_equal(m, modes[i]);
		assert_string_equal(souk_money_round_name(modes[i]), names[i]);
	}
	/* the default of a zeroed rule is the channel's default */
	assert_int_equal(SOUK_ROUND_HALF_EVEN, 0);
	m = SOUK_ROUND_UP;
	assert_int_equal(souk_money_round_parse("HALF_EVEN", &m), SOUK_EINVAL);
	assert_int_equal(souk_money_round_parse("half-even", &m), SOUK_EINVAL);
	assert_int_equal(souk_money_round_parse("", &m), SOUK_EINVAL);
	assert_int_equal(souk_money_round_parse(NULL, &m), SOUK_EINVAL);
	assert_int_equal(m, SOUK_ROUND_UP);
	assert_null(souk_money_round_name((souk_round_t)NMODES));

	souk_tax_level_t l = SOUK_TAX_UNIT;
	assert_int_equal(souk_tax_level_parse("line", &l), 0);
	assert_int_equal(l, SOUK_TAX_LINE);
	assert_int_equal(souk_tax_level_parse("unit", &l), 0);
	assert_int_equal(l, SOUK_TAX_UNIT);
	assert_int_equal(souk_tax_level_parse("Line", &l), SOUK_EINVAL);
	assert_int_equal(souk_tax_level_parse("order", &l), SOUK_EINVAL);
}

/* tenths rounded to units by each mode: exact halves, either side of them,
 * whole numbers, and the same values negated */
static void test_round_every_mode_on_halves_and_signs(void **state)
{
	static const struct {
		int64_t tenths;
		int64_t want[NMODES]; /* half_even, half_up, half_down, up, down */
	} cases[] = {
		{ 25, { 2, 3, 2, 3, 2 } },      { 15, { 2, 2, 1, 2, 1 } },
		{ 5, { 0, 1, 0, 1, 0 } },       { 14, { 1, 1, 1, 2, 1 } },
		{ 16, { 2, 2, 2, 2, 1 } },      { 1, { 0, 0, 0, 1, 0 } },
		{ 30, { 3, 3, 3, 3, 3 } },      { 0, { 0, 0, 0, 0, 0 } },
		{ -5, { 0, -1, 0, -1, 0 } },    { -15, { -2, -2, -1, -2, -1 } },
		{ -25, { -2, -3, -2, -3, -2 } }, { -14, { -1, -1, -1, -2, -1 } },
		{ -16, { -2, -2, -2, -2, -1 } }, { -1, { 0, 0, 0, -1, 0 } },
		{ -30, { -3, -3, -3, -3, -3 } },
	};
	int64_t v;
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (int m = 0; m < NMODES; m++) {
			assert_int_equal(souk_money_muldiv(cases[c].tenths, 1, 10, modes[m], &v), 0);
			if (v != cases[c].want[m])
				fail_msg("%lld/10 by %s: %lld, want %lld", (long long)cases[c].tenths,
					 souk_money_round_name(modes[m]), (long long)v,
					 (long long)cases[c].want[m]);
			/* a negative divisor is the same quotient */
			assert_int_equal(souk_money_muldiv(-cases[c].tenths, 1, -10, modes[m], &v), 0);
			assert_int_equal(v, cases[c].want[m]);
		}
	/* a half far from zero, where a binary fraction would already be off:
	 * 2^53 + 0.5 */
	assert_int_equal(souk_money_muldiv(18014398509481985, 1, 2, SOUK_ROUND_HALF_EVEN, &v), 0);
	assert_int_equal(v, 9007199254740992);
	assert_int_equal(souk_money_muldiv(18014398509481985, 1, 2, SOUK_ROUND_HALF_UP, &v), 0);
	assert_int_equal(v, 9007199254740993);
}

static void test_overflow_refused_at_int64_edges(void **state)
{
	int64_t v = 42;
	(void)state;
	/* the intermediate product is 128 bits wide: only the result must fit */
	assert_int_equal(souk_money_muldiv(INT64_MAX, INT64_MAX, INT64_MAX, SOUK_ROUND_DOWN, &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(souk_money_muldiv(INT64_MIN, 3, 3, SOUK_ROUND_DOWN, &v), 0);
	assert_int_equal(v, INT64_MIN);
	v = 42;
	assert_int_equal(souk_money_muldiv(INT64_MAX, 2, 1, SOUK_ROUND_DOWN, &v), -ERANGE);
	assert_int_equal(souk_money_muldiv(INT64_MIN, 1, -1, SOUK_ROUND_DOWN, &v), -ERANGE);
	assert_int_equal(souk_money_muldiv(INT64_MIN, -1, 1, SOUK_ROUND_DOWN, &v), -ERANGE);
	/* rounding up past the edge is refused too */
	assert_int_equal(souk_money_muldiv(INT64_MAX, 10, 10, SOUK_ROUND_UP, &v), 0);
	v = 42;
	assert_int_equal(souk_money_muldiv(INT64_MAX, 11, 10, SOUK_ROUND_UP, &v), -ERANGE);
	assert_int_equal(souk_money_muldiv(1, 1, 0, SOUK_ROUND_DOWN, &v), SOUK_EINVAL);
	assert_int_equal(souk_money_muldiv(1, 1, 1, (souk_round_t)NMODES, &v), SOUK_EINVAL);
	assert_int_equal(v, 42);

	assert_int_equal(souk_money_mul(INT64_MAX, 1, &v), 0);
	assert_int_equal(souk_money_mul(INT64_MIN, 1, &v), 0);
	assert_int_equal(v, INT64_MIN);
	v = 42;
	assert_int_equal(souk_money_mul(INT64_MAX, 2, &v), -ERANGE);
	assert_int_equal(souk_money_mul(INT64_MIN, -1, &v), -ERANGE);
	assert_int_equal(souk_money_mul(-1, INT64_MIN, &v), -ERANGE);
	assert_int_equal(souk_money_mul(4294967296, 2147483648, &v), -ERANGE); /* 2^63 */
	assert_int_equal(v, 42);
	assert_int_equal(souk_money_mul(4294967296, -2147483648, &v), 0); /* -2^63 */
	assert_int_equal(v, INT64_MIN);

	assert_int_equal(souk_money_add(INT64_MAX, 0, &v), 0);
	v = 42;
	assert_int_equal(souk_money_add(INT64_MAX, 1, &v), -ERANGE);
	assert_int_equal(souk_money_add(INT64_MIN, -1, &v), -ERANGE);
	assert_int_equal(v, 42);

	assert_int_equal(souk_money_rate(INT64_MAX, SOUK_PPM, SOUK_ROUND_HALF_EVEN, &v), 0);
	assert_int_equal(v, INT64_MAX);
	v = 42;
	assert_int_equal(souk_money_rate(INT64_MAX, SOUK_PPM + 1, SOUK_ROUND_HALF_EVEN, &v), -ERANGE);
	assert_int_equal(souk_money_rate(INT64_MIN, SOUK_RATE_PPM_MAX, SOUK_ROUND_DOWN, &v), -ERANGE);
	assert_int_equal(souk_money_rate(100, -1, SOUK_ROUND_DOWN, &v), SOUK_EINVAL);
	assert_int_equal(souk_money_rate(100, SOUK_RATE_PPM_MAX + 1, SOUK_ROUND_DOWN, &v), SOUK_EINVAL);
	assert_int_equal(v, 42);
}

static void test_rate_of_an_amount(void **state)
{
	int64_t v;
	(void)state;
	/* 10% off 19.99: 1.999 -> 2.00 */
	assert_int_equal(souk_money_rate(1999, 100000, SOUK_ROUND_HALF_EVEN, &v), 0);
	assert_int_equal(v, 200);
	/* 12.5% of 0.20 = 0.025: the half goes to the even 0.02, or up to 0.03 */
	assert_int_equal(souk_money_rate(20, 125000, SOUK_ROUND_HALF_EVEN, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(souk_money_rate(20, 125000, SOUK_ROUND_HALF_UP, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(souk_money_rate(-20, 125000, SOUK_ROUND_HALF_UP, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(souk_money_rate(1999, 0, SOUK_ROUND_UP, &v), 0);
	assert_int_equal(v, 0);
}

static void test_rate_parse_percentages(void **state)
{
	static const struct {
		const char *s;
		int64_t ppm;
	} ok[] = {
		{ "20", 200000 }, { "19.6", 196000 }, { "7.25", 72500 }, { "0.0001", 1 },
		{ "0", 0 },       { "100", 1000000 }, { "1000", 10000000 }, { "05.5", 55000 },
	};
	static const char *const bad[] = { "", ".", "5.", ".5", "-5", "+5", "20%", " 20", "20 ",
					   "0.00001", "1000.0001", "1e2", "2,5", "99999999999999999999" };
	int64_t v = 42;
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(souk_money_rate_parse(ok[i].s, strlen(ok[i].s), &v), 0);
		assert_int_equal(v, ok[i].ppm);
	}
	v = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (souk_money_rate_parse(bad[i], strlen(bad[i]), &v) != SOUK_EINVAL)
			fail_msg("rate '%s' accepted", bad[i]);
	assert_int_equal(v, 42);
}

/* ---- tax ------------------------------------------------------------------ */

static souk_tax_line_t tax(int64_t unit, int64_t qty, int64_t rate, bool incl,
			   souk_tax_level_t level, souk_round_t mode)
{
	souk_tax_rule_t r = { .rate_ppm = rate, .prices_include_tax = incl, .level = level,
			      .rounding = mode };
	souk_tax_line_t l = { 0 };
	int rc = souk_tax_line(unit, qty, &r, &l);
	if (rc != 0)
		fail_msg("tax line %lld x %lld: %s", (long long)unit, (long long)qty,
			 souk_strerror(rc));
	assert_int_equal(l.net + l.tax, l.gross);
	return l;
}

/*
 * The issue's case: 10 x 38.23 GBP, prices include 20% VAT.
 * Per line: tax = 38230 * 200000 / 1200000 = 6371.67 -> 6372, net 31858.
 * Per unit: 3823 * 200000 / 1200000 = 637.17 -> 637 per unit, x 10 = 6370,
 * net 31860. The gross is what the shopper was shown, 382.30, either way.
 *
 * commercetools' example: 3 x 1.08 net at 19%.
 * Per line: 324 * 0.19 = 61.56 -> 62, gross 3.24 + 0.62 = 3.86.
 * Per unit: 108 * 0.19 = 20.52 -> 21, x 3 = 63, gross 3.24 + 0.63 = 3.87.
 * The net is the price list's 3.24 in both; the shopper pays a cent more when
 * the channel rounds per unit.
 */
static void test_tax_issue_cases_per_line_and_per_unit(void **state)
{
	static const struct {
		const char *what;
		int64_t unit, qty, rate;
		bool incl;
		souk_tax_level_t level;
		souk_round_t mode;
		int64_t net, tax, gross;
	} cases[] = {
		{ "10 x 38.23 incl 20% per line", 3823, 10, 200000, true, SOUK_TAX_LINE,
		  SOUK_ROUND_HALF_EVEN, 31858, 6372, 38230 },
		{ "10 x 38.23 incl 20% per unit", 3823, 10, 200000, true, SOUK_TAX_UNIT,
		  SOUK_ROUND_HALF_EVEN, 31860, 6370, 38230 },
		/* truncation takes the 0.67 away from the tax, not from the gross */
		{ "10 x 38.23 incl 20% per line, down", 3823, 10, 200000, true, SOUK_TAX_LINE,
		  SOUK_ROUND_DOWN, 31859, 6371, 38230 },
		/* a return of the same line is its mirror image */
		{ "-10 x 38.23 incl 20% per line", 3823, -10, 200000, true, SOUK_TAX_LINE,
		  SOUK_ROUND_HALF_EVEN, -31858, -6372, -38230 },
		{ "3 x 1.08 excl 19% per line", 108, 3, 190000, false, SOUK_TAX_LINE,
		  SOUK_ROUND_HALF_EVEN, 324, 62, 386 },
		{ "3 x 1.08 excl 19% per unit", 108, 3, 190000, false, SOUK_TAX_UNIT,
		  SOUK_ROUND_HALF_EVEN, 324, 63, 387 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		souk_tax_line_t l = tax(cases[i].unit, cases[i].qty, cases[i].rate, cases[i].incl,
					cases[i].level, cases[i].mode);
		print_message("%-36s net %lld  tax %lld  gross %lld\n", cases[i].what,
			      (long long)l.net, (long long)l.tax, (long long)l.gross);
		if (l.net != cases[i].net || l.tax != cases[i].tax || l.gross != cases[i].gross)
			fail_msg("%s: want net %lld tax %lld gross %lld", cases[i].what,
				 (long long)cases[i].net, (long long)cases[i].tax,
				 (long long)cases[i].gross);
	}
}

/* 3 x 0.15 net at 10%: the unit tax is exactly 1.5 cents, the line's 4.5 */
static void test_tax_modes_on_exact_halves(void **state)
{
	static const int64_t line_tax[NMODES] = { 4, 5, 4, 5, 4 };
	static const int64_t unit_tax[NMODES] = { 6, 6, 3, 6, 3 };
	(void)state;
	for (int m = 0; m < NMODES; m++) {
		souk_tax_line_t l = tax(15, 3, 100000, false, SOUK_TAX_LINE, modes[m]);
		assert_int_equal(l.tax, line_tax[m]);
		assert_int_equal(l.net, 45);
		l = tax(15, 3, 100000, false, SOUK_TAX_UNIT, modes[m]);
		assert_int_equal(l.tax, unit_tax[m]);
		l = tax(-15, 3, 100000, false, SOUK_TAX_UNIT, modes[m]);
		assert_int_equal(l.tax, -unit_tax[m]);
	}
}

static void test_tax_overflow_and_bad_rules_refused(void **state)
{
	souk_tax_rule_t r = { .rate_ppm = 200000, .prices_include_tax = true };
	souk_tax_line_t l = { 1, 2, 3 };
	(void)state;
	assert_int_equal(souk_tax_line(INT64_MAX, 2, &r, &l), -ERANGE);
	/* the whole range is usable when the gross is the price */
	assert_int_equal(souk_tax_line(INT64_MAX, 1, &r, &l), 0);
	assert_int_equal(l.gross, INT64_MAX);
	assert_int_equal(l.net + l.tax, INT64_MAX);
	assert_int_equal(souk_tax_line(INT64_MIN, 1, &r, &l), 0);
	assert_int_equal(l.net + l.tax, INT64_MIN);
	/* net prices: the tax on top is what leaves the range */
	l = (souk_tax_line_t){ 1, 2, 3 };
	r.prices_include_tax = false;
	assert_int_equal(souk_tax_line(INT64_MAX, 1, &r, &l), -ERANGE);
	r.level = SOUK_TAX_UNIT;
	r.rate_ppm = SOUK_RATE_PPM_MAX;
	assert_int_equal(souk_tax_line(INT64_MAX / 8, 1, &r, &l), -ERANGE);
	r.rate_ppm = -1;
	assert_int_equal(souk_tax_line(100, 1, &r, &l), SOUK_EINVAL);
	r.rate_ppm = 0;
	r.level = (souk_tax_level_t)2;
	assert_int_equal(souk_tax_line(100, 1, &r, &l), SOUK_EINVAL);
	r.level = SOUK_TAX_LINE;
	r.rounding = (souk_round_t)NMODES;
	assert_int_equal(souk_tax_line(100, 1, &r, &l), SOUK_EINVAL);
	assert_int_equal(l.net, 1);
	assert_int_equal(l.tax, 2);
	assert_int_equal(l.gross, 3);
}

/* ---- allocation ------------------------------------------------------------- */

static void alloc_ok(int64_t total, const int64_t *w, size_t n, const int64_t *want)
{
	int64_t parts[8];
	assert_true(n <= 8);
	assert_int_equal(souk_money_allocate(total, w, n, parts), 0);
	for (size_t i = 0; i < n; i++)
		if (parts[i] != want[i])
			fail_msg("allocate %lld: part %zu is %lld, want %lld", (long long)total, i,
				 (long long)parts[i], (long long)want[i]);
}

static void test_allocate_sums_exactly_with_deterministic_ties(void **state)
{
	(void)state;
	/* a 10% discount (550) over lines of 19.99, 5.00 and 30.01: quotas 199.9,
	 * 50 and 300.1; the one unit left goes to the largest remainder */
	alloc_ok(550, (int64_t[]){ 1999, 500, 3001 }, 3, (int64_t[]){ 200, 50, 300 });
	alloc_ok(-550, (int64_t[]){ 1999, 500, 3001 }, 3, (int64_t[]){ -200, -50, -300 });
	/* equal remainders and weights: the lower index first */
	alloc_ok(1000, (int64_t[]){ 1, 1, 1 }, 3, (int64_t[]){ 334, 333, 333 });
	alloc_ok(2, (int64_t[]){ 1, 1, 1 }, 3, (int64_t[]){ 1, 1, 0 });
	alloc_ok(-2, (int64_t[]){ 1, 1, 1 }, 3, (int64_t[]){ -1, -1, 0 });
	/* equal remainders (0.5 and 1.5): the larger weight first, wherever it is */
	alloc_ok(2, (int64_t[]){ 1, 3 }, 2, (int64_t[]){ 0, 2 });
	alloc_ok(2, (int64_t[]){ 3, 1 }, 2, (int64_t[]){ 2, 0 });
	/* zero weights get nothing, whatever is left over */
	alloc_ok(101, (int64_t[]){ 0, 1, 0, 1 }, 4, (int64_t[]){ 0, 51, 0, 50 });
	alloc_ok(0, (int64_t[]){ 5, 7 }, 2, (int64_t[]){ 0, 0 });
	alloc_ok(0, (int64_t[]){ 0, 0 }, 2, (int64_t[]){ 0, 0 });
	/* the edges of int64_t, with weights whose sum does not fit it */
	alloc_ok(INT64_MIN, (int64_t[]){ 1, 1 }, 2, (int64_t[]){ INT64_MIN / 2, INT64_MIN / 2 });
	alloc_ok(INT64_MAX, (int64_t[]){ INT64_MAX, INT64_MAX, 0 }, 3,
		 (int64_t[]){ INT64_MAX / 2 + 1, INT64_MAX / 2, 0 });
	assert_int_equal(souk_money_allocate(0, NULL, 0, NULL), 0);
}

static void test_allocate_refuses_what_cannot_be_split(void **state)
{
	int64_t parts[2] = { 42, 42 };
	(void)state;
	assert_int_equal(souk_money_allocate(5, (int64_t[]){ 0, 0 }, 2, parts), SOUK_EINVAL);
	assert_int_equal(souk_money_allocate(5, (int64_t[]){ 3, -1 }, 2, parts), SOUK_EINVAL);
	assert_int_equal(souk_money_allocate(1, NULL, 0, parts), SOUK_EINVAL);
	assert_int_equal(parts[0], 42);
	assert_int_equal(parts[1], 42);
}

/* ---- properties over many pseudo-random cases -------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	/* xorshift64*: fixed seed, so a failure repeats */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static int64_t rng_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

/*
 * The rounded quotient q of n / d obeys its mode, checked from the outside:
 * |q*d - n| < d (within one unit), halves within half a unit, up never
 * smaller and down never larger in magnitude, exact halves of half_even land
 * on an even q.
 */
static void check_rounded(__int128 n, __int128 d, int64_t q, souk_round_t mode)
{
	__int128 err = (__int128)q * d - n, aerr = err < 0 ? -err : err;
	__int128 an = n < 0 ? -n : n, aq = (__int128)q * d < 0 ? -((__int128)q * d) : (__int128)q * d;
	bool ok = aerr < d;
	switch (mode) {
	case SOUK_ROUND_HALF_EVEN:
		ok = ok && 2 * aerr <= d && (2 * aerr != d || q % 2 == 0);
		break;
	case SOUK_ROUND_HALF_UP:
		ok = ok && 2 * aerr <= d && (2 * aerr != d || aq > an);
		break;
	case SOUK_ROUND_HALF_DOWN:
		ok = ok && 2 * aerr <= d && (2 * aerr != d || aq < an);
		break;
	case SOUK_ROUND_UP:
		ok = ok && aq >= an;
		break;
	case SOUK_ROUND_DOWN:
		ok = ok && aq <= an;
		break;
	}
	if (!ok)
		fail_msg("%lld rounds %lld / %lld wrongly by %s", (long long)q, (long long)n,
			 (long long)d, souk_money_round_name(mode));
}

#define PROPERTY_ROUNDS 200000

static void test_property_tax_adds_up_and_allocation_is_exact(void **state)
{
	static const int64_t rates[] = { 0, 50000, 70000, 77000, 100000, 190000, 200000, 210000, 255000 };
	(void)state;
	for (int round = 0; round < PROPERTY_ROUNDS; round++) {
		int64_t unit, qty, rate, mag;
		souk_tax_rule_t r;
		souk_tax_line_t l;

		/* amounts of every size, a few negative (returns) */
		mag = (int64_t[]){ 1000, 100000, 100000000, 1000000000000 }[rng() % 4];
		unit = rng_range(-mag / 10, mag);
		qty = rng_range(-3, 1000);
		rate = rng() % 2 ? rates[rng() % (sizeof(rates) / sizeof(rates[0]))]
				 : rng_range(0, SOUK_PPM);
		r = (souk_tax_rule_t){ .rate_ppm = rate, .prices_include_tax = rng() % 2,
				       .level = (souk_tax_level_t)(rng() % 2),
				       .rounding = modes[rng() % NMODES] };
		assert_int_equal(souk_tax_line(unit, qty, &r, &l), 0);
		if (l.net + l.tax != l.gross)
			fail_msg("%lld x %lld at %lld ppm: %lld + %lld != %lld", (long long)unit,
				 (long long)qty, (long long)rate, (long long)l.net,
				 (long long)l.tax, (long long)l.gross);
		assert_int_equal(r.prices_include_tax ? l.gross : l.net, unit * qty);
		__int128 d = r.prices_include_tax ? SOUK_PPM + rate : SOUK_PPM;
		if (r.level == SOUK_TAX_LINE) {
			check_rounded((__int128)unit * qty * rate, d, l.tax, r.rounding);
		} else if (qty != 0) {
			assert_int_equal(l.tax % qty, 0);
			check_rounded((__int128)unit * rate, d, l.tax / qty, r.rounding);
		} else {
			assert_int_equal(l.tax, 0);
		}

		/* allocation over up to 8 lines, some of them free */
		int64_t w[8], parts[8], total, sum = 0;
		size_t n = 1 + rng() % 8;
		__int128 wsum = 0;
		for (size_t i = 0; i < n; i++) {
			w[i] = rng() % 5 == 0 ? 0 : rng_range(1, mag);
			wsum += w[i];
		}
		if (wsum == 0)
			w[0] = wsum = 1;
		total = rng_range(-mag, mag);
		assert_int_equal(souk_money_allocate(total, w, n, parts), 0);
		for (size_t i = 0; i < n; i++) {
			__int128 quota_err = (__int128)parts[i] * wsum - (__int128)total * w[i];
			if (quota_err <= -wsum || quota_err >= wsum || (w[i] == 0 && parts[i] != 0) ||
			    (total >= 0 ? parts[i] < 0 : parts[i] > 0))
				fail_msg("allocate %lld: part %zu = %lld is off its quota",
					 (long long)total, i, (long long)parts[i]);
			sum += parts[i];
		}
		if (sum != total)
			fail_msg("allocate %lld over %zu parts sums to %lld", (long long)total, n,
				 (long long)sum);
	}
}

/* ---- decimal text ---------------------------------------------------------------- */

static void test_parse_amounts_for_each_exponent(void **state)
{
	static const struct {
		const char *s, *cur;
		int64_t want;
	} ok[] = {
		{ "19.99", "EUR", 1999 },
		{ "19.9", "EUR", 1990 },
		{ "19", "EUR", 1900 },
		{ "0.05", "GBP", 5 },
		{ "0", "GBP", 0 },
		{ "007", "EUR", 700 },
		{ "1999", "JPY", 1999 },
		{ "1.999", "KWD", 1999 },
		{ "1.2", "KWD", 1200 },
		{ "1.2345", "CLF", 12345 },
		{ "92233720368547758.07", "EUR", INT64_MAX },
		{ "9223372036854775807", "JPY", INT64_MAX },
		{ "00000000000000000000000001", "JPY", 1 },
		{ "1.000", "IQD", 1000 }, /* ISO's 3 decimals, not CLDR's 0 */
	};
	static const struct {
		const char *s, *cur;
		int rc;
	} bad[] = {
		{ "", "EUR", SOUK_EINVAL },
		{ ".", "EUR", SOUK_EINVAL },
		{ "1.", "EUR", SOUK_EINVAL },
		{ ".5", "EUR", SOUK_EINVAL },
		{ "-1", "EUR", SOUK_EINVAL },
		{ "+1", "EUR", SOUK_EINVAL },
		{ "1e3", "EUR", SOUK_EINVAL },
		{ "1E3", "JPY", SOUK_EINVAL },
		{ " 1", "EUR", SOUK_EINVAL },
		{ "1 ", "EUR", SOUK_EINVAL },
		{ "1,00", "EUR", SOUK_EINVAL },
		{ "1,000", "JPY", SOUK_EINVAL },
		{ "1..0", "EUR", SOUK_EINVAL },
		{ "1.0.", "EUR", SOUK_EINVAL },
		{ "0x10", "EUR", SOUK_EINVAL },
		{ "19.999", "EUR", SOUK_EINVAL },
		{ "19.990", "EUR", SOUK_EINVAL },
		{ "1.0", "JPY", SOUK_EINVAL },
		{ "1.2345", "KWD", SOUK_EINVAL },
		{ "\xd9\xa1", "EUR", SOUK_EINVAL }, /* an Arabic-Indic one */
		{ "1", "XYZ", SOUK_EINVAL },
		{ "1", "eur", SOUK_EINVAL },
		{ "92233720368547758.08", "EUR", -ERANGE },
		{ "9223372036854775808", "JPY", -ERANGE },
		{ "99999999999999999999", "JPY", -ERANGE },
		{ "99999999999999999999.5", "EUR", -ERANGE },
		/* too long and malformed is malformed */
		{ "99999999999999999999x", "JPY", SOUK_EINVAL },
		{ "99999999999999999999.123", "EUR", SOUK_EINVAL },
		{ "99999999999999999999.5.5", "EUR", SOUK_EINVAL },
		{ "922337203685477.5808", "CLF", -ERANGE },
	};
	int64_t v;
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 42;
		int rc = souk_money_parse(ok[i].s, strlen(ok[i].s), ok[i].cur, &v);
		if (rc != 0 || v != ok[i].want)
			fail_msg("'%s' %s: %s, %lld", ok[i].s, ok[i].cur, souk_strerror(rc),
				 (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		int rc = souk_money_parse(bad[i].s, strlen(bad[i].s), bad[i].cur, &v);
		if (rc != bad[i].rc || v != 42)
			fail_msg("'%s' %s: %s, want %s", bad[i].s, bad[i].cur, souk_strerror(rc),
				 souk_strerror(bad[i].rc));
	}
	/* the length is the input's: a NUL inside is a bad character, and what
	 * follows the given length is not read */
	assert_int_equal(souk_money_parse("1\0002", 3, "JPY", &v), SOUK_EINVAL);
	assert_int_equal(souk_money_parse("12.345", 4, "EUR", &v), 0);
	assert_int_equal(v, 1230);
	assert_int_equal(souk_money_parse_exp("1", 1, 5, &v), SOUK_EINVAL);
	assert_int_equal(souk_money_parse_exp("1", 1, -1, &v), SOUK_EINVAL);
}

static void test_plain_decimal_text(void **state)
{
	static const struct {
		int64_t minor;
		int exp;
		const char *want;
	} cases[] = {
		{ 1999, 2, "19.99" },
		{ -5, 2, "-0.05" },
		{ 1999, 0, "1999" },
		{ 1999, 3, "1.999" },
		{ 0, 2, "0.00" },
		{ 0, 0, "0" },
		{ 5, 4, "0.0005" },
		{ -1, 0, "-1" },
		{ INT64_MAX, 2, "92233720368547758.07" },
		{ INT64_MIN, 4, "-922337203685477.5808" },
		{ INT64_MIN, 0, "-9223372036854775808" },
	};
	char buf[SOUK_MONEY_PLAIN_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(souk_money_plain_exp(cases[i].minor, cases[i].exp, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].want);
	}
	assert_int_equal(souk_money_plain(1999, "KWD", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1.999");
	assert_int_equal(souk_money_plain(1999, "JPY", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1999");
	assert_int_equal(souk_money_plain(1999, "XYZ", buf, sizeof(buf)), SOUK_EINVAL);
	assert_int_equal(souk_money_plain_exp(1999, 5, buf, sizeof(buf)), SOUK_EINVAL);
	/* "19.99" and its NUL need 6 bytes */
	assert_int_equal(souk_money_plain_exp(1999, 2, buf, 5), SOUK_ETOOBIG);
	assert_int_equal(souk_money_plain_exp(1999, 2, buf, 6), 0);
	assert_string_equal(buf, "19.99");
}

static void test_parse_and_plain_round_trip(void **state)
{
	char buf[SOUK_MONEY_PLAIN_MAX];
	int64_t v;
	(void)state;
	for (int exp = 0; exp <= 4; exp++)
		for (int i = 0; i < 20000; i++) {
			int64_t m = i == 0 ? 0 : i == 1 ? INT64_MAX
						     : (int64_t)(rng() >> (rng() % 64)) & INT64_MAX;
			assert_int_equal(souk_money_plain_exp(m, exp, buf, sizeof(buf)), 0);
			assert_int_equal(souk_money_parse_exp(buf, strlen(buf), exp, &v), 0);
			if (v != m)
				fail_msg("%lld -> '%s' -> %lld (exponent %d)", (long long)m, buf,
					 (long long)v, exp);
		}
}

/* ---- ICU formatting ---------------------------------------------------------------- */

#define NBSP "\xc2\xa0"       /* U+00A0 */
#define NNBSP "\xe2\x80\xaf"  /* U+202F narrow no-break space */
#define RLM "\xe2\x80\x8f"    /* U+200F right-to-left mark */

static void test_format_for_locales_exact_bytes(void **state)
{
	static const struct {
		const char *locale, *cur;
		int64_t minor;
		const char *want;
	} cases[] = {
		{ "de", "EUR", 1999, "19,99" NBSP "\xe2\x82\xac" },
		{ "de-DE", "EUR", -1999, "-19,99" NBSP "\xe2\x82\xac" },
		{ "en", "JPY", 1999, "\xc2\xa5" "1,999" },
		{ "ja", "JPY", 1999, "\xef\xbf\xa5" "1,999" }, /* ja's full-width yen sign */
		{ "de", "JPY", 1999, "1.999" NBSP "\xc2\xa5" },
		{ "en-GB", "GBP", -5, "-\xc2\xa3" "0.05" },
		{ "fr", "EUR", 123456789, "1" NNBSP "234" NNBSP "567,89" NBSP "\xe2\x82\xac" },
		/* the issue's 1.999,000 KWD: Maghreb Arabic groups like de */
		{ "ar-TN", "KWD", 1999000, RLM "1.999,000" NBSP "\xd8\xaf.\xd9\x83." RLM },
		{ "ar-u-nu-latn", "KWD", 1999000, RLM "1,999.000" NBSP "\xd8\xaf.\xd9\x83." RLM },
		/* Kuwait itself writes Arabic-Indic digits */
		{ "ar-KW", "KWD", 1999000,
		  RLM "\xd9\xa1\xd9\xac\xd9\xa9\xd9\xa9\xd9\xa9\xd9\xab\xd9\xa0\xd9\xa0\xd9\xa0" NBSP
		      "\xd8\xaf.\xd9\x83." RLM },
		{ "en", "CLF", 12345, "CLF" NBSP "1.2345" },
		/* ISO's 3 decimals where CLDR shows none */
		{ "en", "IQD", 1000, "IQD" NBSP "1.000" },
		{ "xx", "EUR", 1999, "\xe2\x82\xac" NBSP "19.99" }, /* no data: root's pattern */
	};
	char out[128];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = souk_money_format(cases[i].minor, cases[i].cur, cases[i].locale, out,
					   sizeof(out));
		if (rc != 0 || strcmp(out, cases[i].want) != 0)
			fail_msg("%s %s %lld: %s '%s', want '%s'", cases[i].locale, cases[i].cur,
				 (long long)cases[i].minor, souk_strerror(rc), rc == 0 ? out : "",
				 cases[i].want);
	}
}

/* the digits after en's '.' are the ISO 4217 minor units of each currency */
static void test_format_shows_iso_decimals(void **state)
{
	static const char *const curs[] = { "JPY", "KRW", "EUR", "GBP", "KWD", "BHD", "IQD", "CLF" };
	char out[128];
	(void)state;
	for (size_t i = 0; i < sizeof(curs) / sizeof(curs[0]); i++) {
		int exp = souk_currency_exponent(curs[i]);
		assert_int_equal(souk_money_format(123456789, curs[i], "en", out, sizeof(out)), 0);
		const char *dot = strchr(out, '.');
		size_t digits = 0;
		if (dot != NULL)
			while (dot[1 + digits] >= '0' && dot[1 + digits] <= '9')
				digits++;
		if ((int)digits != exp)
			fail_msg("%s in en is '%s': %zu decimals, ISO says %d", curs[i], out, digits,
				 exp);
	}
}

static void test_formatter_object_and_errors(void **state)
{
	souk_money_fmt_t *f = NULL;
	char out[128];
	(void)state;
	assert_int_equal(souk_money_fmt_new("de", "EUR", &f), 0);
	assert_int_equal(souk_money_fmt_format(f, 5, out, sizeof(out)), 0);
	assert_string_equal(out, "0,05" NBSP "\xe2\x82\xac");
	assert_int_equal(souk_money_fmt_format(f, 100000000, out, sizeof(out)), 0);
	assert_string_equal(out, "1.000.000,00" NBSP "\xe2\x82\xac");
	/* "0,05 €" is 9 bytes and a NUL */
	assert_int_equal(souk_money_fmt_format(f, 5, out, 9), SOUK_ETOOBIG);
	assert_int_equal(souk_money_fmt_format(f, 5, out, 10), 0);
	souk_money_fmt_free(&f);
	assert_null(f);
	souk_money_fmt_free(&f);

	/* the longest amount in the widest digits fits 128 bytes */
	assert_int_equal(souk_money_format(INT64_MIN, "KWD", "ar-KW", out, sizeof(out)), 0);
	assert_true(strlen(out) > 60);

	assert_int_equal(souk_money_fmt_new("de", "eur", &f), SOUK_EINVAL);
	assert_int_equal(souk_money_fmt_new("de", "XYZ", &f), SOUK_EINVAL);
	assert_int_equal(souk_money_fmt_new("not a tag", "EUR", &f), SOUK_EINVAL);
	assert_int_equal(souk_money_fmt_new("", "EUR", &f), SOUK_EINVAL);
	assert_int_equal(souk_money_fmt_new("de_DE", "EUR", &f), SOUK_EINVAL);
	assert_null(f);
}

static void test_locale_direction(void **state)
{
	static const char *const rtl[] = { "ar", "ar-EG", "AR", "he", "iw", "fa", "fa-IR", "ur",
					   "ur-PK", "ps", "sd", "yi", "az-Arab" };
	static const char *const ltr[] = { "en", "de-DE", "ja", "zh-Hant-TW", "tr", "ar-Latn",
					   "ur-Latn", "", "not a tag", "e" };
	(void)state;
	for (size_t i = 0; i < sizeof(rtl) / sizeof(rtl[0]); i++)
		if (strcmp(souk_locale_direction(rtl[i]), "rtl") != 0)
			fail_msg("'%s' is written right to left", rtl[i]);
	for (size_t i = 0; i < sizeof(ltr) / sizeof(ltr[0]); i++)
		if (strcmp(souk_locale_direction(ltr[i]), "ltr") != 0)
			fail_msg("'%s' is not written right to left", ltr[i]);
	assert_string_equal(souk_locale_direction(NULL), "ltr");
}

/* ---- no binary fractions in money ------------------------------------------------ */

/*
 * Money code must not hold amounts in binary floating point, where 0.10 is
 * not 0.10. The scan is deliberately blunt: these words anywhere in the
 * money sources, comments included, fail the test with file and line.
 * Unit tests run from the repository root (tests/run-tests.sh cds there).
 */
static void test_money_sources_use_no_binary_fractions(void **state)
{
	static const char *const files[] = { "common/money.c", "common/money.h" };
	static const char *const banned[] = { "float", "double", "atof", "strtod", "strtof",
					      "strtold", "%f", "%g" };
	char line[1024];
	int found = 0;
	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		FILE *fp = fopen(files[f], "r");
		int n = 0;
		if (fp == NULL)
			fail_msg("%s: cannot open (run from the repository root)", files[f]);
		while (fgets(line, sizeof(line), fp) != NULL) {
			n++;
			for (size_t b = 0; b < sizeof(banned) / sizeof(banned[0]); b++)
				if (strcasestr(line, banned[b]) != NULL) {
					print_error("%s:%d: '%s' in money code: %s", files[f], n,
						    banned[b], line);
					found++;
				}
		}
		fclose(fp);
		assert_true(n > 20); /* the file was read, not an empty stand-in */
	}
	assert_int_equal(found, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_names_parse_both_ways),
		cmocka_unit_test(test_round_every_mode_on_halves_and_signs),
		cmocka_unit_test(test_overflow_refused_at_int64_edges),
		cmocka_unit_test(test_rate_of_an_amount),
		cmocka_unit_test(test_rate_parse_percentages),
		cmocka_unit_test(test_tax_issue_cases_per_line_and_per_unit),
		cmocka_unit_test(test_tax_modes_on_exact_halves),
		cmocka_unit_test(test_tax_overflow_and_bad_rules_refused),
		cmocka_unit_test(test_allocate_sums_exactly_with_deterministic_ties),
		cmocka_unit_test(test_allocate_refuses_what_cannot_be_split),
		cmocka_unit_test(test_property_tax_adds_up_and_allocation_is_exact),
		cmocka_unit_test(test_parse_amounts_for_each_exponent),
		cmocka_unit_test(test_plain_decimal_text),
		cmocka_unit_test(test_parse_and_plain_round_trip),
		cmocka_unit_test(test_format_for_locales_exact_bytes),
		cmocka_unit_test(test_format_shows_iso_decimals),
		cmocka_unit_test(test_formatter_object_and_errors),
		cmocka_unit_test(test_locale_direction),
		cmocka_unit_test(test_money_sources_use_no_binary_fractions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

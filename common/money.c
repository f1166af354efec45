/* SPDX-License-Identifier: Apache-2.0 */
#include "common/money.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uloc.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/util.h"

typedef __int128 i128;

#define EXP_MAX 4

static const char *const round_names[] = {
	[SOUK_ROUND_HALF_EVEN] = "half_even", [SOUK_ROUND_HALF_UP] = "half_up",
	[SOUK_ROUND_HALF_DOWN] = "half_down", [SOUK_ROUND_UP] = "up",
	[SOUK_ROUND_DOWN] = "down",
};

static const char *const level_names[] = {
	[SOUK_TAX_LINE] = "line",
	[SOUK_TAX_UNIT] = "unit",
};


int souk_money_round_parse(const char *s, souk_round_t *out)
{
	for (size_t i = 0; s != NULL && i < SOUK_ARRAY_LEN(round_names); i++)
		if (strcmp(s, round_names[i]) == 0) {
			*out = (souk_round_t)i;
			return 0;
		}
	return SOUK_EINVAL;
}

const char *souk_money_round_name(souk_round_t mode)
{
	return (unsigned)mode < SOUK_ARRAY_LEN(round_names) ? round_names[mode] : NULL;
}

int souk_tax_level_parse(const char *s, souk_tax_level_t *out)
{
	for (size_t i = 0; s != NULL && i < SOUK_ARRAY_LEN(level_names); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (souk_tax_level_t)i;
			return 0;
		}
	return SOUK_EINVAL;
}

static bool fits(i128 v)
{
	return v >= INT64_MIN && v <= INT64_MAX;
}

/*
 * n / d rounded by mode. C's '/' truncates toward zero and '%' takes the
 * dividend's sign, so q is the "down" answer and |r| decides the rest: the
 * fraction is exactly a half when 2|r| == |d|. Callers keep |n| below 2^126
 * and |d| below 2^125, so 2|r| cannot overflow.
 */
static int div_round(i128 n, i128 d, souk_round_t mode, int64_t *out)
{
	i128 q, r, twice;
	int step;

	if (d == 0 || (unsigned)mode >= SOUK_ARRAY_LEN(round_names))
		return SOUK_EINVAL;
	if (d < 0) {
		n = -n;
		d = -d;
	}
	q = n / d;
	r = n % d;
	step = n < 0 ? -1 : 1;
	if (r != 0) {
		twice = 2 * (r < 0 ? -r : r);
		switch (mode) {
		case SOUK_ROUND_DOWN:
			break;
		case SOUK_ROUND_UP:
			q += step;
			break;
		case SOUK_ROUND_HALF_UP:
			if (twice >= d)
				q += step;
			break;
		case SOUK_ROUND_HALF_DOWN:
			if (twice > d)
				q += step;
			break;
		case SOUK_ROUND_HALF_EVEN:
			if (twice > d || (twice == d && (q & 1) != 0))
				q += step;
			break;
		}
	}
	if (!fits(q))
		return -ERANGE;
	*out = (int64_t)q;
	return 0;
}

int souk_money_muldiv(int64_t a, int64_t b, int64_t d, souk_round_t mode, int64_t *out)
{
	return div_round((i128)a * b, d, mode, out);
}

int souk_money_mul(int64_t amount, int64_t quantity, int64_t *out)
{
	i128 v = (i128)amount * quantity;
	if (!fits(v))
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

int souk_money_add(int64_t a, int64_t b, int64_t *out)
{
	i128 v = (i128)a + b;
	if (!fits(v))
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

static bool rate_ok(int64_t rate_ppm)
{
	return rate_ppm >= 0 && rate_ppm <= SOUK_RATE_PPM_MAX;
}

int souk_money_rate(int64_t amount, int64_t rate_ppm, souk_round_t mode, int64_t *out)
{
	if (!rate_ok(rate_ppm))
		return SOUK_EINVAL;
	return div_round((i128)amount * rate_ppm, SOUK_PPM, mode, out);
}

/*
 * Digits with at most max_dec decimals after an optional '.', as an integer
 * scaled by 10^max_dec. Nineteen integer digits and four decimals stay below
 * 10^23, far inside 128 bits, so the value is checked once at the end; more
 * significant digits than that are -ERANGE, but only once the whole text is
 * known to be well-formed (malformed text is SOUK_EINVAL whatever its length).
 */
static int parse_scaled(const char *s, size_t len, int max_dec, i128 *out)
{
	i128 v = 0;
	size_t i = 0, int_digits = 0, dec = 0;

	if (s == NULL || max_dec < 0 || max_dec > EXP_MAX)
		return SOUK_EINVAL;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		/* leading zeros carry no value; only significant digits count */
		if (v != 0 || s[i] != '0')
			int_digits++;
		if (int_digits <= 19)
			v = v * 10 + (s[i] - '0');
	}
	if (i == 0)
		return SOUK_EINVAL;
	if (i < len) {
		if (s[i] != '.' || i + 1 == len)
			return SOUK_EINVAL;
		for (i++; i < len; i++, dec++) {
			if (s[i] < '0' || s[i] > '9' || dec == (size_t)max_dec)
				return SOUK_EINVAL;
			v = v * 10 + (s[i] - '0');
		}
	}
	if (int_digits > 19)
		return -ERANGE;
	for (; dec < (size_t)max_dec; dec++)
		v *= 10;
	*out = v;
	return 0;
}

int souk_money_rate_parse(const char *s, size_t len, int64_t *out_ppm)
{
	i128 v;
	/* a percentage with 4 decimals is parts per million */
	int rc = parse_scaled(s, len, 4, &v);
	if (rc == -ERANGE || (rc == 0 && v > SOUK_RATE_PPM_MAX))
		return SOUK_EINVAL;
	if (rc != 0)
		return rc;
	*out_ppm = (int64_t)v;
	return 0;
}

int souk_money_parse_exp(const char *s, size_t len, int exponent, int64_t *out)
{
	i128 v;
	int rc = parse_scaled(s, len, exponent, &v);
	if (rc != 0)
		return rc;
	if (v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

int souk_money_parse(const char *s, size_t len, const char *currency, int64_t *out)
{
	int e = souk_currency_exponent(currency);
	return e < 0 ? e : souk_money_parse_exp(s, len, e, out);
}

int souk_money_plain_exp(int64_t minor, int exponent, char *out, size_t out_len)
{
	char tmp[SOUK_MONEY_PLAIN_MAX];
	/* the magnitude as unsigned: -INT64_MIN does not fit int64_t */
	uint64_t m = minor < 0 ? 0 - (uint64_t)minor : (uint64_t)minor;
	size_t p = sizeof(tmp), n;
	int d = 0;

	if (exponent < 0 || exponent > EXP_MAX)
		return SOUK_EINVAL;
	tmp[--p] = '\0';
	/* digits from the right; at least one before the separator */
	do {
		if (d == exponent && exponent > 0)
			tmp[--p] = '.';
		tmp[--p] = (char)('0' + m % 10);
		m /= 10;
		d++;
	} while (m != 0 || d <= exponent);
	if (minor < 0)
		tmp[--p] = '-';
	n = sizeof(tmp) - p;
	if (out == NULL || n > out_len)
		return SOUK_ETOOBIG;
	memcpy(out, tmp + p, n);
	return 0;
}

int souk_money_plain(int64_t minor, const char *currency, char *out, size_t out_len)
{
	int e = souk_currency_exponent(currency);
	return e < 0 ? e : souk_money_plain_exp(minor, e, out, out_len);
}

/* ---- tax ------------------------------------------------------------------ */

/* The tax inside a gross amount: gross * rate / (1 + rate), in ppm. */
static int tax_inside(int64_t gross, int64_t rate_ppm, souk_round_t mode, int64_t *out)
{
	return div_round((i128)gross * rate_ppm, (i128)SOUK_PPM + rate_ppm, mode, out);
}

int souk_tax_line(int64_t unit_price, int64_t quantity, const souk_tax_rule_t *rule,
		  souk_tax_line_t *out)
{
	int64_t price, unit_tax, tax;
	i128 other;
	int rc;

	if (!rate_ok(rule->rate_ppm) || (unsigned)rule->level >= SOUK_ARRAY_LEN(level_names) ||
	    souk_money_round_name(rule->rounding) == NULL)
		return SOUK_EINVAL;
	/* the prices as given are exact; only the tax is rounded */
	if ((rc = souk_money_mul(unit_price, quantity, &price)) != 0)
		return rc;
	if (rule->level == SOUK_TAX_UNIT) {
		rc = rule->prices_include_tax
			     ? tax_inside(unit_price, rule->rate_ppm, rule->rounding, &unit_tax)
			     : souk_money_rate(unit_price, rule->rate_ppm, rule->rounding, &unit_tax);
		if (rc == 0)
			rc = souk_money_mul(unit_tax, quantity, &tax);
	} else {
		rc = rule->prices_include_tax
			     ? tax_inside(price, rule->rate_ppm, rule->rounding, &tax)
			     : souk_money_rate(price, rule->rate_ppm, rule->rounding, &tax);
	}
	if (rc != 0)
		return rc;
	/* the third figure is derived, so the line adds up by construction */
	other = rule->prices_include_tax ? (i128)price - tax : (i128)price + tax;
	if (!fits(other))
		return -ERANGE;
	if (rule->prices_include_tax)
		*out = (souk_tax_line_t){ .net = (int64_t)other, .tax = tax, .gross = price };
	else
		*out = (souk_tax_line_t){ .net = price, .tax = tax, .gross = (int64_t)other };
	return 0;
}

/* ---- allocation ------------------------------------------------------------ */

typedef struct {
	i128 rem;
	int64_t weight;
	size_t index;
} alloc_t;

/* largest remainder first, then the larger weight, then the lower index */
static int alloc_cmp(const void *pa, const void *pb)
{
	const alloc_t *a = pa, *b = pb;
	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

int souk_money_allocate(int64_t total, const int64_t *weights, size_t n, int64_t *parts)
{
	/* magnitudes: |total| <= 2^63, sum < n * 2^63, product < 2^126 for any
	 * n a process can hold in memory */
	i128 mag = total < 0 ? -(i128)total : total, sum = 0, given = 0;
	int sign = total < 0 ? -1 : 1;
	alloc_t *a;

	for (size_t i = 0; i < n; i++) {
		if (weights[i] < 0)
			return SOUK_EINVAL;
		sum += weights[i];
	}
	if (sum == 0) {
		if (total != 0)
			return SOUK_EINVAL;
		for (size_t i = 0; i < n; i++)
			parts[i] = 0;
		return 0;
	}
	if ((a = malloc(n * sizeof(*a))) == NULL)
		return SOUK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		i128 p = mag * weights[i];
		a[i] = (alloc_t){ .rem = p % sum, .weight = weights[i], .index = i };
		given += p / sum;
	}
	qsort(a, n, sizeof(*a), alloc_cmp);
	/* the quotas' fractions add up to mag - given < n; each is below one, so
	 * the units left over all go to parts with a non-zero remainder */
	for (size_t k = 0; k < n; k++) {
		size_t i = a[k].index;
		i128 p = mag * weights[i] / sum + (given < mag && k < (size_t)(mag - given));
		parts[i] = (int64_t)(sign * p);
	}
	free(a);
	return 0;
}

/* ---- ICU formatting ---------------------------------------------------------- */

#define FMT_MAGIC 0x534d4f4eu /* "SMON" */
#define FMT_UCHARS 96

struct souk_money_fmt {
	uint32_t magic;
	int exponent;
	UNumberFormat *nf;
};

int souk_money_fmt_new(const char *locale, const char *currency, souk_money_fmt_t **out)
{
	char id[ULOC_FULLNAME_CAPACITY];
	UChar ucode[4];
	UErrorCode e = U_ZERO_ERROR;
	int32_t parsed = 0;
	souk_money_fmt_t *f;
	int exponent = souk_currency_exponent(currency);

	if (exponent < 0 || locale == NULL || !souk_locale_shape_ok(locale, strlen(locale)))
		return SOUK_EINVAL;
	uloc_forLanguageTag(locale, id, (int32_t)sizeof(id), &parsed, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING || parsed != (int32_t)strlen(locale))
		return SOUK_EINVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return SOUK_ENOMEM;
	f->magic = FMT_MAGIC;
	f->exponent = exponent;
	f->nf = unum_open(UNUM_CURRENCY, NULL, 0, id, NULL, &e);
	u_charsToUChars(currency, ucode, 4);
	if (U_SUCCESS(e))
		unum_setTextAttribute(f->nf, UNUM_CURRENCY_CODE, ucode, 3, &e);
	if (U_FAILURE(e)) {
		souk_money_fmt_free(&f);
		return SOUK_EINVAL;
	}
	/* after the currency, which resets the digits to CLDR's */
	unum_setAttribute(f->nf, UNUM_MIN_FRACTION_DIGITS, exponent);
	unum_setAttribute(f->nf, UNUM_MAX_FRACTION_DIGITS, exponent);
	*out = f;
	return 0;
}

void souk_money_fmt_free(souk_money_fmt_t **f)
{
	if (f == NULL || *f == NULL)
		return;
	if ((*f)->nf != NULL)
		unum_close((*f)->nf);
	(*f)->magic = 0;
	free(*f);
	*f = NULL;
}

int souk_money_fmt_format(souk_money_fmt_t *f, int64_t minor, char *out, size_t out_len)
{
	char dec[SOUK_MONEY_PLAIN_MAX];
	UChar u[FMT_UCHARS];
	UErrorCode e = U_ZERO_ERROR;
	int32_t n, n8 = 0;
	int rc;

	if (f == NULL || f->magic != FMT_MAGIC || out == NULL || out_len == 0)
		return SOUK_EINVAL;
	if ((rc = souk_money_plain_exp(minor, f->exponent, dec, sizeof(dec))) != 0)
		return rc;
	n = unum_formatDecimal(f->nf, dec, (int32_t)strlen(dec), u, FMT_UCHARS, NULL, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING)
		return e == U_BUFFER_OVERFLOW_ERROR ? SOUK_ETOOBIG : SOUK_EINVAL;
	u_strToUTF8(out, out_len > INT32_MAX ? INT32_MAX : (int32_t)out_len, &n8, u, n, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING) {
		out[0] = '\0';
		return e == U_BUFFER_OVERFLOW_ERROR || e == U_STRING_NOT_TERMINATED_WARNING
			       ? SOUK_ETOOBIG
			       : SOUK_EINVAL;
	}
	return 0;
}

int souk_money_format(int64_t minor, const char *currency, const char *locale, char *out,
		      size_t out_len)
{
	souk_money_fmt_t *f = NULL;
	int rc = souk_money_fmt_new(locale, currency, &f);
	if (rc == 0)
		rc = souk_money_fmt_format(f, minor, out, out_len);
	souk_money_fmt_free(&f);
	return rc;
}

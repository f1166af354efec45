/* SPDX-License-Identifier: Apache-2.0 */
#include "common/currency.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucurr.h>
#include <unicode/uenum.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

/* ISO 4217 minor units where CLDR's display digits (what ICU reports) say
 * otherwise. */
static const struct {
	char code[4];
	int exponent;
} iso_minor_units[] = {
	{ "AFN", 2 }, { "ALL", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "KPW", 2 },
	{ "LAK", 2 }, { "LBP", 2 }, { "MGA", 2 }, { "MMK", 2 }, { "RSD", 2 },
	{ "SLL", 2 }, { "SOS", 2 }, { "SYP", 2 }, { "YER", 2 },
};

/* Codes ISO 4217 added that ICU 72's list of common codes lacks. */
static const struct {
	char code[4];
	int exponent;
} iso_added[] = {
	{ "VED", 2 }, /* Venezuela, 2021, beside VES */
	{ "XCG", 2 }, /* Caribbean guilder, 2025, replaces ANG */
	{ "ZWG", 2 }, /* Zimbabwe Gold, 2024, replaces ZWL */
};

/* Codes ICU 72 still lists as common that are no longer legal tender. */
static const char iso_withdrawn[][4] = {
	"ANG", /* 2025, XCG */
	"CUC", /* 2021 */
	"HRK", /* 2023, EUR */
	"SLL", /* 2024, SLE */
	"VEF", /* 2018, VES */
	"ZWL", /* 2024, ZWG */
};

#define CURRENCY_MAX 512

typedef struct {
	char code[4];
	signed char exponent;
	bool current;
} currency_t;

static currency_t g_cur[CURRENCY_MAX];
static size_t g_ncur;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int cur_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 3);
}

static bool code_shape_ok(const char *code)
{
	if (code == NULL || strlen(code) != 3)
		return false;
	for (int i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return false;
	return true;
}

static currency_t *find(const char *code)
{
	if (!code_shape_ok(code))
		return NULL;
	return bsearch(code, g_cur, g_ncur, sizeof(g_cur[0]), cur_cmp);
}

static void add(const char *code, int exponent, bool current)
{
	if (g_ncur == CURRENCY_MAX || !code_shape_ok(code))
		return;
	memcpy(g_cur[g_ncur].code, code, 4);
	g_cur[g_ncur].exponent = (signed char)exponent;
	g_cur[g_ncur].current = current;
	g_ncur++;
}

/* Every code ICU knows, with its digits; current when flags list it too. */
static int add_icu(uint32_t flags, bool current)
{
	UErrorCode e = U_ZERO_ERROR;
	UEnumeration *en = ucurr_openISOCurrencies(flags, &e);
	const char *c;
	int32_t n;

	if (U_FAILURE(e))
		return SOUK_EINVAL;
	while ((c = uenum_next(en, &n, &e)) != NULL && U_SUCCESS(e)) {
		UChar u[4] = { (UChar)c[0], (UChar)c[1], (UChar)c[2], 0 };
		UErrorCode e2 = U_ZERO_ERROR;
		int32_t digits = ucurr_getDefaultFractionDigits(u, &e2);
		currency_t *have = find(c);
		if (have != NULL) {
			have->current = have->current || current;
			continue;
		}
		if (n == 3 && U_SUCCESS(e2))
			add(c, digits, current);
		qsort(g_cur, g_ncur, sizeof(g_cur[0]), cur_cmp);
	}
	uenum_close(en);
	return U_FAILURE(e) ? SOUK_EINVAL : 0;
}

static void build(void)
{
	currency_t *c;

	if (add_icu(UCURR_ALL, false) != 0 ||
	    add_icu(UCURR_COMMON | UCURR_NON_DEPRECATED, true) != 0)
		log_err("currency, ICU's ISO 4217 list could not be read (%zu codes known)", g_ncur);
	for (size_t i = 0; i < SOUK_ARRAY_LEN(iso_added); i++) {
		if ((c = find(iso_added[i].code)) != NULL)
			c->current = true;
		else
			add(iso_added[i].code, iso_added[i].exponent, true);
		qsort(g_cur, g_ncur, sizeof(g_cur[0]), cur_cmp);
	}
	for (size_t i = 0; i < SOUK_ARRAY_LEN(iso_minor_units); i++)
		if ((c = find(iso_minor_units[i].code)) != NULL)
			c->exponent = (signed char)iso_minor_units[i].exponent;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(iso_withdrawn); i++)
		if ((c = find(iso_withdrawn[i])) != NULL)
			c->current = false;
}

bool souk_currency_current(const char *code)
{
	currency_t *c;
	pthread_once(&g_once, build);
	c = find(code);
	return c != NULL && c->current;
}

int souk_currency_exponent(const char *code)
{
	currency_t *c;
	pthread_once(&g_once, build);
	c = find(code);
	return c != NULL ? c->exponent : SOUK_EINVAL;
}

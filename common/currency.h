/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/currency.h - ISO 4217 currency codes and their minor units.
 *
 * The codes come from ICU (its CLDR currency data); ICU's "digits" are
 * CLDR's display digits, which differ from ISO 4217's minor units for a
 * dozen currencies (IQD: CLDR 0, ISO 3), and the system's ICU may predate
 * the latest ISO amendments (ZWG, 2024; XCG, 2025). common/currency.c keeps
 * those ISO facts beside the ICU calls. Prices are stored in ISO minor units.
 */
#include <stdbool.h>

/* True when code is three upper-case letters naming a currency in use now,
 * the ones a new price may be given in: not withdrawn (HRK, ZWL), not a fund,
 * precious metal or test code (UYI, XAU, XTS). */
bool souk_currency_current(const char *code);

/* ISO 4217 minor-unit digits (0..4) of any currency ICU knows, withdrawn ones
 * included so that stored prices keep their meaning; SOUK_EINVAL when code is
 * not one. */
int souk_currency_exponent(const char *code);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/ctl_print.h - soukctl's plain output: one "key: value" line per
 * value, for people and for scripts (grep '^store.last_seq:', cut -d' ' -f2-).
 *
 * A JSON value is flattened: object members join their names with '.',
 * array elements use their index ("errors.0"), strings are printed as they
 * are (control characters escaped as \n, \t, \xNN so a value never spans two
 * lines), true/false as such, null as an empty value. Empty objects and
 * arrays print nothing. Member order is kept.
 */
#include <stdio.h>

#include <jansson.h>

/* Print v under prefix (NULL or "" for none). */
void ctl_print_flat(FILE *f, const char *prefix, const json_t *v);

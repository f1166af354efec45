/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/locale.h - BCP 47 locale tags and Accept-Language (RFC 4647 lookup).
 *
 * Writes validate a tag with ICU and store it in canonical case
 * (souk_locale_canon, "EN-gb" -> "en-GB"). Reads never call ICU: a request's
 * Accept-Language becomes a priority list ("de,fr", best first) once per
 * request (souk_accept_language), and each product's renderings are looked up
 * in it (souk_locale_lookup) without allocating.
 */
#include <stdbool.h>
#include <stddef.h>

/* A tag and its NUL: BCP 47 tags are kept to 35 characters. */
#define SOUK_LOCALE_MAX 36

/*
 * A well-formed BCP 47 tag (ICU's uloc_forLanguageTag reads all of s) of at
 * most 35 characters, into out in canonical case: language lower, script
 * Title, region upper ("zh-hant-tw" -> "zh-Hant-TW"). 0 or SOUK_EINVAL.
 */
int souk_locale_canon(const char *s, size_t len, char out[SOUK_LOCALE_MAX]);

/* Cheap shape check (no ICU): 1-35 characters, subtags of 1-8 ASCII letters
 * or digits separated by '-', the first letters only. For tags that were
 * validated when written. */
bool souk_locale_shape_ok(const char *s, size_t len);

/*
 * Accept-Language (RFC 9110 12.5.4) as a priority list into out: the ranges
 * by descending q, equal q in header order, q=0 left out, "*" kept, each
 * range lower-cased, ',' between them ("fr;q=0.1, de" -> "de,fr"). Malformed
 * items are skipped, never fatal; at most 16 ranges. Returns the length of
 * out (0: no preference).
 */
size_t souk_accept_language(const char *header, size_t len, char *out, size_t out_len);

/* The tag of rendering i into out; 0, or an error that stops the lookup. */
typedef int (*souk_locale_at_fn)(const void *arg, size_t i, char out[SOUK_LOCALE_MAX]);

/*
 * RFC 4647 3.4 lookup of a priority list over n available tags: for each
 * range in order, the tag equal to it (ASCII case ignored), else to it cut
 * at its last subtag, and so on ("de-CH-1996", "de-CH", "de"); "*" ends the
 * search. Past the list, a tag in the first range's language with more
 * subtags ("sr" finds "sr-Latn-RS"). 0 with *found, SOUK_ENOENT when nothing
 * matched (use the default), or at()'s error.
 */
int souk_locale_lookup(const char *list, size_t list_len, size_t n, souk_locale_at_fn at,
		       const void *arg, size_t *found);

/* True when code is two upper-case letters naming a current ISO 3166-1
 * alpha-2 region (ICU's uloc_getISOCountries: "GB", "DE"; not withdrawn
 * codes like "YU"). For writes, not the hot path. */
bool souk_country_valid(const char *code);
/*
 * The writing direction of a BCP 47 tag, for the "dir" a rendering carries:
 * "rtl" for Arabic, Hebrew (also its old code "iw"), Persian and Urdu, and
 * for any tag ICU's likely-script data says is written right to left
 * ("ps", "sd", "az-Arab"); an explicit script decides ("ar-Latn" is "ltr").
 * "ltr" otherwise, malformed tags included. Loads ICU data: call it while
 * building an image, not per request.
 */
const char *souk_locale_direction(const char *tag);

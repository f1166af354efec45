/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * config/values.h - value parsing and formatting shared by the loader, the
 * schema export and the tests (not needed by other subsystems).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* "64M" -> bytes (binary units K, M, G, T; optional B or iB). */
int cfg_parse_size(const char *s, uint64_t *out);
/* "500ms", "5s", "1m30s", "24h", "7d" -> milliseconds; "0" allowed. */
int cfg_parse_duration(const char *s, uint64_t *out);
int cfg_parse_bool(const char *s, bool *out);
int cfg_parse_listen(const char *s, cfg_listen_t *out);
/* Largest exact unit: 1073741824 -> "1G", 1500 -> "1500ms". */
void cfg_format_size(uint64_t v, char *buf, size_t len);
void cfg_format_duration(uint64_t ms, char *buf, size_t len);
/* "must be 1..1024", "must be 1M..16T" */
void cfg_format_range(const cfg_item_t *it, char *buf, size_t len);

/* Parse text s (slen bytes) into the item's field; why says what is wrong. */
int cfg_item_parse(cfg_t *cfg, const cfg_item_t *it, const char *s, size_t slen, char *why,
		   size_t why_len);
/* Set a string/path item without its check callback (defaults only). */
int cfg_item_parse_unchecked(cfg_t *cfg, const cfg_item_t *it, const char *s);
/* A config holding every default, cfg->file set to file. */
int cfg_new_defaults(const char *file, cfg_t **out);

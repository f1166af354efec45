/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/time.h - timestamps as shown to clients.
 */
#include <stddef.h>
#include <stdint.h>

/* "2026-11-26T11:22:47.123Z" and its NUL, with room to spare. */
#define SOUK_RFC3339_MAX 32

/*
 * RFC 3339 UTC with milliseconds of ms after the epoch into out. 0, or
 * SOUK_EINVAL for a time past 9999-12-31T23:59:59.999Z or one gmtime_r
 * refuses; out then holds the epoch, "1970-01-01T00:00:00.000Z", so that it
 * is always a valid timestamp.
 */
int souk_rfc3339(uint64_t ms, char out[SOUK_RFC3339_MAX]);
/* RFC 3339 date-time (fractions to milliseconds, Z or +hh:mm, from 1970 on)
 * -> ms since the epoch; -1 when it is not one. */
int64_t souk_rfc3339_parse_ms(const char *s, size_t len);

/* SPDX-License-Identifier: Apache-2.0 */
#include "common/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

/* 9999-12-31T23:59:59.999Z: the last time with a four-digit year */
#define RFC3339_LAST_MS 253402300799999ull

int souk_rfc3339(uint64_t ms, char out[SOUK_RFC3339_MAX])
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	size_t n;

	if (ms > RFC3339_LAST_MS || gmtime_r(&t, &tm) == NULL)
		goto fail;
	n = strftime(out, SOUK_RFC3339_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n != 19)
		goto fail;
	snprintf(out + n, SOUK_RFC3339_MAX - n, ".%03uZ", (unsigned)(ms % 1000u));
	return 0;
fail:
	memcpy(out, "1970-01-01T00:00:00.000Z", 25);
	return SOUK_EINVAL;
}

static int digits(const char *s, size_t n, int *out)
{
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*out = x;
	return 0;
}

int64_t souk_rfc3339_parse_ms(const char *s, size_t len)
{
	int y, mo, d, h, mi, se, ms = 0, oh = 0, om = 0, sign = 0;
	if (len < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
		return -1;
	size_t i = 19;
	if (s[i] == '.') {
		size_t n = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
			if (n < 3)
				ms = ms * 10 + (s[i] - '0');
		if (n == 0)
			return -1;
		for (; n < 3; n++)
			ms *= 10;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && !digits(s + i + 1, 2, &oh) &&
		   s[i + 3] == ':' && !digits(s + i + 4, 2, &om) && oh < 24 && om < 60) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return -1;
	}
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 60)
		return -1;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = se > 59 ? 59 : se};
	int64_t t = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	return t < 0 ? -1 : t * 1000 + ms;
}

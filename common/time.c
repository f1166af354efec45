/* SPDX-License-Identifier: Apache-2.0 */
#include "common/time.h"

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

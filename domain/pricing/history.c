/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/history.c - price histories (history.h). */
#include "domain/pricing/history.h"

#include <string.h>

static int64_t lower(int64_t a, int64_t b)
{
	if (a == PRICE_GONE)
		return b;
	if (b == PRICE_GONE)
		return a;
	return a < b ? a : b;
}

void price_points_add(price_point_t *p, size_t *n, int64_t from_ms, int64_t amount)
{
	if (*n > 0) {
		price_point_t *last = &p[*n - 1];
		if (last->amount == amount)
			return;
		if (from_ms <= last->from_ms) {
			/* the same instant (or a clock step back): the newer wins */
			last->amount = amount;
			if (*n > 1 && p[*n - 2].amount == amount)
				(*n)--;
			return;
		}
	}
	if (*n == PRICE_HIST_MAX) {
		/* merge the oldest two: from the older's time, the lower amount */
		p[0].amount = lower(p[0].amount, p[1].amount);
		memmove(&p[1], &p[2], (PRICE_HIST_MAX - 2) * sizeof(*p));
		(*n)--;
	}
	p[*n].from_ms = from_ms;
	p[*n].amount = amount;
	(*n)++;
}

void price_points_prune(price_point_t *p, size_t *n, int64_t since_ms)
{
	size_t keep = 0; /* index of the point in force at since_ms */
	for (size_t i = 0; i < *n; i++)
		if (p[i].from_ms <= since_ms)
			keep = i;
	if (keep == 0)
		return;
	memmove(p, p + keep, (*n - keep) * sizeof(*p));
	*n -= keep;
}

bool price_points_lowest(const price_point_t *p, size_t n, int64_t from_ms, int64_t until_ms,
			 int64_t *lowest)
{
	int64_t best = PRICE_GONE;
	for (size_t i = 0; i < n; i++) {
		int64_t start = p[i].from_ms, end = i + 1 < n ? p[i + 1].from_ms : INT64_MAX;
		if (end <= from_ms || start >= until_ms)
			continue; /* not in force in the window */
		best = lower(best, p[i].amount);
	}
	if (best == PRICE_GONE)
		return false;
	*lowest = best;
	return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/history.h - what a price was over the last 30 days, for
 * the lowest prior price that EU law (Directive 98/6/EC art. 6a, the
 * "Omnibus" rule) requires beside any announced reduction.
 *
 * A price's history is a short list of points, oldest first: from from_ms
 * on, the amount was amount (PRICE_GONE: not on offer). soukd builds it from
 * the versions the store keeps (every version has its time), keeps only
 * what the last 30 days need (the point in force 30 days ago and the
 * changes since), and ships it in the image; reads take the lowest amount
 * over any window with integer comparisons. When more changes than a
 * history holds fall into the window, the oldest two are merged into one
 * with the lower amount: the lowest prior price may then be understated,
 * never overstated (a reduction never looks larger than it is).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRICE_HIST_MAX 8
#define PRICE_GONE INT64_MIN
#define PRICE_OMNIBUS_MS (30LL * 86400 * 1000)

typedef struct {
	int64_t from_ms;
	int64_t amount; /* PRICE_GONE: not on offer from then on */
} price_point_t;

/* Add that the amount is amount from from_ms on (a time before the last
 * point's is taken as the last point's): nothing when it does not change. */
void price_points_add(price_point_t *p, size_t *n, int64_t from_ms, int64_t amount);
/* Drop the points before the one in force at since_ms. */
void price_points_prune(price_point_t *p, size_t *n, int64_t since_ms);
/* The lowest amount on offer at any time in [from_ms, until_ms): true and
 * *lowest, false when it was not on offer then. */
bool price_points_lowest(const price_point_t *p, size_t n, int64_t from_ms, int64_t until_ms,
			 int64_t *lowest);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/metrics.h - meaning of the worker slot counters and /metrics output.
 *
 * Every souk-fcgi process counts into its own slot of the control segment
 * (relaxed atomic adds, no locks); /metrics sums the counters of every live
 * slot (shm_ctl_counter_sum), so any worker answers for all of them.
 */
#include <stdint.h>

#include "fcgi/api.h"
#include "fcgi/arena.h"
#include "fcgi/router.h"
#include "shm/shm.h"
#include "store/store.h"

/* status classes */
enum { MET_CLASS_2XX = 0, MET_CLASS_4XX, MET_CLASS_5XX, MET_NCLASS };
/* latency histogram upper bounds in microseconds (+Inf is the count) */
#define MET_NBUCKETS 10
extern const uint64_t metrics_bucket_us[MET_NBUCKETS];

/* counter indexes into the slot: process-wide counters first, then one
 * counter per route (the route table's ids) and status class, sized from
 * the table; SHM_SLOT_COUNTERS leaves room for ~150 routes */
#define MET_LAT_BUCKET(i) (0u + (unsigned)(i)) /* 0..9 */
#define MET_LAT_SUM_US 10u
#define MET_LAT_COUNT 11u
#define MET_COMMIT_BATCHES 12u
#define MET_COMMIT_MUTATIONS 13u
#define MET_COMMIT_FAILURES 14u
#define MET_NOTIFY_FAILURES 15u
#define MET_MIN_SEQ_TIMEOUTS 16u
#define MET_REQ_ERRORS 17u /* requests that failed mid-way (client gone) */
#define MET_AUTH_FAILURES 18u /* admin requests answered 401 */
#define MET_MIN_SEQ_BUSY 19u /* reads refused: too many Souk-Min-Seq waits */
#define MET_ROUTE_BASE 64u /* 20..63 free for new process-wide counters */
#define MET_REQ(route, cls) (MET_ROUTE_BASE + (unsigned)(route) * MET_NCLASS + (unsigned)(cls))
#define MET_LAST MET_REQ(ROUTE__COUNT, 0)

_Static_assert(MET_LAT_BUCKET(MET_NBUCKETS - 1) < MET_LAT_SUM_US, "counter layout");
_Static_assert(MET_MIN_SEQ_BUSY < MET_ROUTE_BASE, "counter layout");
_Static_assert(MET_LAST <= SHM_SLOT_COUNTERS, "slot counters: routes outgrew the slot");

/* Count one answered request. */
void metrics_request(shm_slot_t *slot, route_id_t route, int status, uint64_t elapsed_us);
/* Prometheus text exposition of the summed counters, the image, the store,
 * and (seg, may be NULL) the segments this process followed. */
void metrics_render(sbuf_t *out, const shm_ctl_t *ctl, store_t *store,
		    const api_seg_stats_t *seg);

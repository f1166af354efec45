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

/* counter indexes into the slot */
#define MET_REQ(route, cls) ((unsigned)(route) * MET_NCLASS + (unsigned)(cls)) /* 0..32 */
#define MET_LAT_BUCKET(i) (33u + (unsigned)(i))                                /* 33..42 */
#define MET_LAT_SUM_US 43u
#define MET_LAT_COUNT 44u
#define MET_COMMIT_BATCHES 45u
#define MET_COMMIT_MUTATIONS 46u
#define MET_COMMIT_FAILURES 47u
#define MET_NOTIFY_FAILURES 48u
#define MET_MIN_SEQ_TIMEOUTS 49u
#define MET_REQ_ERRORS 50u /* requests that failed mid-way (client gone) */
#define MET_AUTH_FAILURES 51u /* admin requests answered 401 */
#define MET_MIN_SEQ_BUSY 52u /* reads refused: too many Souk-Min-Seq waits */
#define MET_LAST 53u

/* Routes with request counters of their own (the slot layout of shm ABI 1
 * has room for 11); later routes are counted as "other" until the layout
 * grows with the ABI. */
#define MET_ROUTES 11u
_Static_assert(MET_REQ(MET_ROUTES - 1, MET_NCLASS - 1) < MET_LAT_BUCKET(0), "counter layout");
_Static_assert(MET_LAST <= SHM_SLOT_COUNTERS, "slot counters");

/* Count one answered request. */
void metrics_request(shm_slot_t *slot, route_id_t route, int status, uint64_t elapsed_us);
/* Prometheus text exposition of the summed counters, the image, the store,
 * and (seg, may be NULL) the segments this process followed. */
void metrics_render(sbuf_t *out, const shm_ctl_t *ctl, store_t *store,
		    const api_seg_stats_t *seg);

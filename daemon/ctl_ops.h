/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/ctl_ops.h - the facts soukctl's operations commands gather
 * (status, stats), as JSON objects; exported for tests.
 *
 * Each fills out and returns 0, or returns an error after setting
 * "error" in out (the part is then reported as unavailable).
 */
#include <stdint.h>

#include <jansson.h>

/* Shared memory of an instance: generation, image age and size, change-log
 * sequence, publish count and last duration, slots, and the workers whose
 * process is alive (slot, pid, generation in use). SOUK_ENOENT when no
 * segment exists (soukd never ran or stopped cleanly). */
int ctl_facts_shm(const char *instance, json_t *out);
/* The LMDB store in dir, opened read-only: map size, used bytes, readers,
 * last sequence. */
int ctl_facts_store(const char *dir, json_t *out);
/* Worker counters summed over live slots: every nonzero counter, named by
 * ctl_counter_name when it knows the index, else "counter.<index>". */
int ctl_facts_counters(const char *instance, json_t *out);

/*
 * Names of the worker slot counters. souk-fcgi assigns their meanings
 * (shm/shm.h: SHM_SLOT_COUNTERS generic counters); a program linking the
 * worker's metrics table points this at a function returning the name of
 * index i, or NULL when the index has none. NULL: counters go by index.
 */
extern const char *(*ctl_counter_name)(unsigned index);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/consumer.h - change-log consumers with a durable cursor.
 *
 * A consumer (the publisher; later search indexing, notifications,
 * webhooks, analytics) has a name and a cursor in LMDB
 * (store_consumer_get/advance). consumer_run() hands it the changes after
 * its cursor in order, in batches, and moves the cursor past a batch only
 * after the batch callback returned 0: a batch that failed, or a process
 * that died in the middle of one, is delivered again from the cursor.
 * Delivery is therefore at least once and in order; a consumer whose
 * effects must not repeat keeps its own record of what it did (an
 * idempotency key per change: kind, id, version).
 *
 * The cursor and the last committed sequence are shown in the control
 * segment (shm_ctl_consumer_set), so /metrics and soukctl status report
 * each consumer's lag. One thread uses a consumer_t at a time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"
#include "store/store.h"

#define CONSUMER_BATCH_DEFAULT 256

typedef struct consumer consumer_t;

/* changes[0..n) in sequence order (kind strings valid during the call);
 * 0 to move the cursor past the last of them, else that error (the batch
 * is delivered again on the next run). */
typedef int (*consumer_batch_fn)(const store_change_t *changes, size_t n, void *arg);

typedef struct {
	const char *name;	 /* [a-z0-9_.-]{1,31} */
	size_t batch_max;	 /* changes per batch, 0 = CONSUMER_BATCH_DEFAULT */
	consumer_batch_fn batch; /* NULL: the consumer reads the log itself and
				  * only reports with consumer_mark() */
	void *arg;
	shm_ctl_t *ctl;		 /* where lag is shown, or NULL */
	/* consumer_mark(): at most one durable advance per this many ms
	 * (the cursor in shared memory moves every time), 0 = every mark */
	uint32_t persist_ms;
} consumer_opts_t;

/* Reads the cursor from the store. */
int consumer_new(store_t *s, const consumer_opts_t *o, consumer_t **out);
void consumer_free(consumer_t **c);
/* One batch: the changes after the cursor (at most batch_max), to the
 * callback, then the cursor past them. *done (may be NULL) = how many were
 * delivered, 0 when the consumer is caught up. */
int consumer_run(consumer_t *c, size_t *done);
/* For a consumer that reads the log itself: everything up to seq is
 * processed. Durable now when force, on the first mark, or when persist_ms
 * has passed since the last durable advance; else only shown, and the next mark or consumer_flush
 * makes it durable. */
int consumer_mark(consumer_t *c, uint64_t seq, bool force);
/* Show the cursor and the last committed sequence in the control segment
 * again (a consumer that is stuck still shows its lag growing). */
void consumer_show(consumer_t *c);
/* Make the last mark durable (shutdown). */
int consumer_flush(consumer_t *c);
/* The cursor as last marked or advanced (durable or not yet). */
uint64_t consumer_cursor(const consumer_t *c);
/* Its durable cursor. */
uint64_t consumer_durable(const consumer_t *c);
const char *consumer_name(const consumer_t *c);

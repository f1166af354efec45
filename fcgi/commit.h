/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/commit.h - group commit of store mutations.
 *
 * Request threads hand their mutation to commit_submit() and block; one
 * committer thread per process takes everything waiting (up to max_batch)
 * and applies it as one store_apply() batch, i.e. one durable LMDB write
 * transaction. Every request of the batch is released only after that
 * commit returned: on success each sees its own result, on failure every
 * request of the batch gets the commit's error. Nothing is acknowledged
 * before it is on disk.
 */
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct commit commit_t;

/* Applies a batch: the store_apply() contract (0 = durable). */
typedef int (*commit_apply_fn)(void *arg, store_mut_t *muts, size_t n);
/* Called on the committer thread after each batch (rc = apply's result). */
typedef void (*commit_after_fn)(void *arg, const store_mut_t *muts, size_t n, int rc);

int commit_new(commit_apply_fn apply, commit_after_fn after, void *arg, size_t max_batch,
	       commit_t **out);
/* Submit m and wait until its batch is committed. Returns the batch result:
 * 0 when durable (then m->result holds this mutation's own outcome), else
 * the commit error (m->result is set to it too). SOUK_EBUSY after
 * commit_free() started. */
int commit_submit(commit_t *c, store_mut_t *m);
/* Commit what is queued, stop the thread, free. */
void commit_free(commit_t **c);

typedef struct {
	uint64_t batches, mutations, failed_batches, largest_batch;
} commit_stats_t;
void commit_stats(commit_t *c, commit_stats_t *out);
/* Mutations waiting right now (for tests and metrics). */
size_t commit_pending(commit_t *c);

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
/* Units of work (store_apply_work) share the group commit with plain
 * mutations: a batch with at least one unit goes to apply_work instead of
 * apply. Set it once after commit_new(), before units are submitted.
 * after() sees each unit as a mutation with op 0 whose result and seq are
 * the unit's (its last change-log sequence). */
typedef int (*commit_work_fn)(void *arg, store_work_t *w, size_t n);
void commit_set_work(commit_t *c, commit_work_fn apply_work);
/* Submit a unit and wait until its batch is committed: the batch result as
 * commit_submit(); *result (may be NULL) is the unit's own outcome (0 = its
 * writes are durable, else what fn returned) or the commit error. fn may
 * run more than once (store.h); actor is who makes the counter changes.
 * SOUK_EINVAL when no apply_work was set. */
int commit_submit_unit(commit_t *c, store_unit_fn fn, void *arg, const char *actor, int *result);
/* Commit what is queued, stop the thread, free. */
void commit_free(commit_t **c);

typedef struct {
	uint64_t batches, mutations, failed_batches, largest_batch;
} commit_stats_t;
void commit_stats(commit_t *c, commit_stats_t *out);
/* Mutations waiting right now (for tests and metrics). */
size_t commit_pending(commit_t *c);

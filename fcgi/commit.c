/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/commit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"

#define COMMIT_MAGIC 0x434d4954u /* "CMIT" */

typedef struct waiter {
	struct waiter *next;
	store_mut_t *mut;             /* a mutation, or NULL for a unit */
	store_unit_fn fn;
	void *arg;
	const char *actor;
	int unit_result;
	int rc;
	bool done;
	pthread_cond_t cv; /* signalled when done: only this submitter wakes */
} waiter_t;

struct commit {
	uint32_t magic;
	pthread_mutex_t lock;
	pthread_cond_t work; /* committer waits for submissions */
	waiter_t *head, *tail;
	size_t pending, max_batch;
	bool stop, started;
	pthread_t thread;
	commit_apply_fn apply;
	commit_after_fn after;
	commit_work_fn apply_work;
	void *arg;
	store_mut_t *batch;
	store_work_t *works;
	waiter_t **taken;
	commit_stats_t stats;
};

static void *committer_main(void *p)
{
	commit_t *c = p;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->head == NULL && !c->stop)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->head == NULL && c->stop)
			break;
		size_t n = 0, units = 0;
		while (c->head != NULL && n < c->max_batch) {
			waiter_t *w = c->head;
			c->head = w->next;
			if (c->head == NULL)
				c->tail = NULL;
			c->taken[n] = w;
			if (w->mut != NULL) {
				c->batch[n] = *w->mut;
				c->works[n] = (store_work_t){ .mut = &c->batch[n] };
			} else {
				/* after() sees a unit as a mutation with op 0 */
				c->batch[n] = (store_mut_t){ 0 };
				c->works[n] = (store_work_t){ .fn = w->fn, .arg = w->arg,
							      .actor = w->actor };
				units++;
			}
			n++;
		}
		c->pending -= n;
		commit_work_fn apply_work = c->apply_work;
		pthread_mutex_unlock(&c->lock);

		int rc;
		if (units == 0)
			rc = c->apply(c->arg, c->batch, n);
		else
			rc = apply_work(c->arg, c->works, n);
		for (size_t i = 0; i < n; i++) {
			if (rc != 0)
				c->batch[i].result = rc;
			else if (c->works[i].fn != NULL)
				c->batch[i].result = c->works[i].result,
				c->batch[i].seq = c->works[i].seq;
		}
		if (c->after != NULL)
			c->after(c->arg, c->batch, n, rc);

		/* each submitter of the batch is woken, not every one waiting
		 * (with 64 writers most wait for a later batch) */
		pthread_mutex_lock(&c->lock);
		for (size_t i = 0; i < n; i++) {
			if (c->taken[i]->mut != NULL)
				*c->taken[i]->mut = c->batch[i];
			else
				c->taken[i]->unit_result = c->batch[i].result;
			c->taken[i]->rc = rc;
			c->taken[i]->done = true;
			pthread_cond_signal(&c->taken[i]->cv);
		}
		c->stats.batches++;
		c->stats.mutations += n;
		if (rc != 0)
			c->stats.failed_batches++;
		if (n > c->stats.largest_batch)
			c->stats.largest_batch = n;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int commit_new(commit_apply_fn apply, commit_after_fn after, void *arg, size_t max_batch,
	       commit_t **out)
{
	int rc = SOUK_ENOMEM;
	if (apply == NULL || max_batch == 0)
		return SOUK_EINVAL;
	commit_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SOUK_ENOMEM;
	c->magic = COMMIT_MAGIC;
	c->apply = apply;
	c->after = after;
	c->arg = arg;
	c->max_batch = max_batch;
	c->batch = calloc(max_batch, sizeof(*c->batch));
	c->taken = calloc(max_batch, sizeof(*c->taken));
	c->works = calloc(max_batch, sizeof(*c->works));
	if (c->batch == NULL || c->taken == NULL || c->works == NULL)
		goto fail;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	rc = -pthread_create(&c->thread, NULL, committer_main, c);
	if (rc != 0) {
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->lock);
		goto fail;
	}
	c->started = true;
	*out = c;
	return 0;
fail:
	free(c->batch);
	free(c->taken);
	free(c->works);
	free(c);
	return rc;
}

/* Queue w and wait until its batch is committed; the batch result. */
static int submit_wait(commit_t *c, waiter_t *w)
{
	pthread_mutex_lock(&c->lock);
	if (c->stop || (w->mut == NULL && c->apply_work == NULL)) {
		int rc = c->stop ? SOUK_EBUSY : SOUK_EINVAL;
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	pthread_cond_init(&w->cv, NULL);
	if (c->tail != NULL)
		c->tail->next = w;
	else
		c->head = w;
	c->tail = w;
	c->pending++;
	pthread_cond_signal(&c->work);
	while (!w->done)
		pthread_cond_wait(&w->cv, &c->lock);
	pthread_mutex_unlock(&c->lock);
	/* the committer signalled under the lock and no longer touches w */
	pthread_cond_destroy(&w->cv);
	return w->rc;
}

int commit_submit(commit_t *c, store_mut_t *m)
{
	waiter_t w = { .mut = m };
	int rc = submit_wait(c, &w);
	if (rc == SOUK_EBUSY && !w.done)
		m->result = SOUK_EBUSY;
	return rc;
}

int commit_submit_unit(commit_t *c, store_unit_fn fn, void *arg, const char *actor, int *result)
{
	if (fn == NULL)
		return SOUK_EINVAL;
	waiter_t w = { .fn = fn, .arg = arg, .actor = actor };
	int rc = submit_wait(c, &w);
	if (result != NULL)
		*result = w.done ? w.unit_result : rc;
	return rc;
}

void commit_set_work(commit_t *c, commit_work_fn apply_work)
{
	pthread_mutex_lock(&c->lock);
	c->apply_work = apply_work;
	pthread_mutex_unlock(&c->lock);
}

void commit_free(commit_t **pc)
{
	commit_t *c = *pc;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	free(c->batch);
	free(c->taken);
	free(c->works);
	c->magic = 0;
	free(c);
	*pc = NULL;
}

void commit_stats(commit_t *c, commit_stats_t *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}

size_t commit_pending(commit_t *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->pending;
	pthread_mutex_unlock(&c->lock);
	return n;
}

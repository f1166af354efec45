/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/consumer.c - change-log consumers with a durable cursor (see
 * consumer.h).
 */
#include "daemon/consumer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

struct consumer {
	store_t *store;
	consumer_opts_t o;
	char name[STORE_CONSUMER_NAME_MAX + 1];
	uint64_t cursor;  /* processed through (marked) */
	uint64_t durable; /* in LMDB */
	uint64_t durable_ms;
	/* the batch being collected */
	store_change_t *ch;
	char (*kinds)[STORE_KIND_MAX + 1];
};

void consumer_show(consumer_t *c)
{
	uint64_t last = 0;
	if (!c || !c->o.ctl)
		return;
	if (store_last_seq(c->store, &last) != 0)
		last = 0;
	if (last < c->cursor)
		last = c->cursor;
	(void)shm_ctl_consumer_set(c->o.ctl, c->name, c->cursor, last);
}

int consumer_new(store_t *s, const consumer_opts_t *o, consumer_t **out)
{
	if (!s || !o || !o->name || !out || strlen(o->name) > STORE_CONSUMER_NAME_MAX)
		return SOUK_EINVAL;
	*out = NULL;
	consumer_t *c = calloc(1, sizeof(*c));
	if (!c)
		return SOUK_ENOMEM;
	c->store = s;
	c->o = *o;
	if (c->o.batch_max == 0)
		c->o.batch_max = CONSUMER_BATCH_DEFAULT;
	snprintf(c->name, sizeof(c->name), "%s", o->name);
	c->o.name = c->name;
	int rc = store_consumer_get(s, c->name, &c->durable);
	if (rc == 0 && o->batch) {
		c->ch = calloc(c->o.batch_max, sizeof(*c->ch));
		c->kinds = calloc(c->o.batch_max, sizeof(*c->kinds));
		if (!c->ch || !c->kinds)
			rc = SOUK_ENOMEM;
	}
	if (rc) {
		consumer_free(&c);
		return rc;
	}
	c->cursor = c->durable;
	c->durable_ms = 0; /* the first mark is durable at once */
	consumer_show(c);
	*out = c;
	return 0;
}

void consumer_free(consumer_t **cp)
{
	consumer_t *c = cp ? *cp : NULL;
	if (!c)
		return;
	free(c->ch);
	free(c->kinds);
	free(c);
	*cp = NULL;
}

typedef struct {
	consumer_t *c;
	size_t n;
} collect_t;

#define COLLECT_FULL 1

static int collect_cb(const store_change_t *ch, void *arg)
{
	collect_t *k = arg;
	consumer_t *c = k->c;
	snprintf(c->kinds[k->n], sizeof(c->kinds[k->n]), "%s", ch->kind ? ch->kind : "");
	c->ch[k->n] = *ch;
	c->ch[k->n].kind = c->kinds[k->n];
	return ++k->n == c->o.batch_max ? COLLECT_FULL : 0;
}

int consumer_run(consumer_t *c, size_t *done)
{
	collect_t k = { c, 0 };
	if (done)
		*done = 0;
	if (!c || !c->o.batch)
		return SOUK_EINVAL;
	int rc = store_changes(c->store, c->cursor, collect_cb, &k);
	if (rc && rc != COLLECT_FULL)
		return rc;
	if (k.n == 0) {
		consumer_show(c);
		return 0;
	}
	if ((rc = c->o.batch(c->ch, k.n, c->o.arg)) != 0)
		return rc; /* the cursor stays: the batch comes again */
	if ((rc = consumer_mark(c, c->ch[k.n - 1].seq, true)) != 0)
		return rc;
	if (done)
		*done = k.n;
	return 0;
}

int consumer_mark(consumer_t *c, uint64_t seq, bool force)
{
	if (!c)
		return SOUK_EINVAL;
	if (seq > c->cursor)
		c->cursor = seq;
	uint64_t now = souk_now_mono_ms();
	int rc = 0;
	if (c->cursor > c->durable &&
	    (force || c->o.persist_ms == 0 || now - c->durable_ms >= c->o.persist_ms)) {
		rc = store_consumer_advance(c->store, c->name, c->cursor);
		if (rc == 0) {
			c->durable = c->cursor;
			c->durable_ms = now;
		}
	}
	consumer_show(c);
	return rc;
}

int consumer_flush(consumer_t *c)
{
	return consumer_mark(c, 0, true);
}

uint64_t consumer_cursor(const consumer_t *c)
{
	return c ? c->cursor : 0;
}

uint64_t consumer_durable(const consumer_t *c)
{
	return c ? c->durable : 0;
}

const char *consumer_name(const consumer_t *c)
{
	return c ? c->name : NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_jobs.c - soukd's housekeeping: signed audit checkpoints
 * when the log grew, none when it did not, and idempotency expiry that keeps
 * keys younger than the TTL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/error.h"
#include "daemon/jobs.h"
#include "daemon/soukd.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

typedef struct {
	char dir[64];
	char conf[128];
	char key[128];
	soukd_t *d;
	store_t *s;
	soukd_jobs_t *j;
} fx_t;

static int setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	char data[128];
	FILE *f;
	store_opts_t o = {.map_size = 1 << 20, .max_readers = 16};

	assert_int_equal(fixture_tmpdir(fx->dir, sizeof(fx->dir), "jobs"), 0);
	snprintf(fx->conf, sizeof(fx->conf), "%s/souk.yaml", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/audit.key", fx->dir);
	snprintf(data, sizeof(data), "%s/state", fx->dir);
	assert_int_equal(store_audit_keygen(fx->key, NULL), 0);
	f = fopen(fx->conf, "w");
	assert_non_null(f);
	fprintf(f,
		"instance: jobs-%d\npaths:\n  state_dir: %s\n  runtime_dir: %s/run\n"
		"log:\n  level: warning\n  target: stderr\naudit:\n  signing_key_file: %s\n",
		(int)getpid(), data, fx->dir, fx->key);
	fclose(f);
	assert_int_equal(soukd_new(fx->conf, &fx->d, NULL), 0);
	assert_int_equal(mkdir(data, 0750), 0);
	assert_int_equal(store_open(data, &o, &fx->s), 0);
	assert_int_equal(soukd_jobs_start(fx->d, fx->s, &fx->j), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	soukd_jobs_free(&fx->j);
	store_close(&fx->s);
	soukd_free(&fx->d);
	assert_int_equal(fixture_rm_rf(fx->dir), 0);
	free(fx);
	return 0;
}

static void create(fx_t *fx, const char *sku, const char *idem)
{
	char doc[128];
	store_mut_t m = {.op = STORE_OP_CREATE, .kind = "product", .actor = "test"};
	snprintf(doc, sizeof(doc), "{\"sku\":\"%s\"}", sku);
	m.doc = doc;
	m.doc_len = strlen(doc);
	m.idem_key = idem;
	m.idem_key_len = idem ? strlen(idem) : 0;
	assert_int_equal(store_apply(fx->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
}

static json_int_t status_int(fx_t *fx, const char *key)
{
	json_t *st = json_object();
	json_int_t v;
	assert_int_equal(soukd_status_json(fx->d, st), 0);
	v = json_integer_value(json_object_get(json_object_get(st, "jobs"), key));
	json_decref(st);
	return v;
}

static void test_jobs_checkpoint_signed_when_log_grew(void **state)
{
	fx_t *fx = *state;
	store_checkpoint_t cp;
	char text[STORE_CHECKPOINT_TEXT_MAX];

	create(fx, "A1", NULL);
	create(fx, "A2", NULL);
	soukd_jobs_run_now(fx->j);
	assert_int_equal(status_int(fx, "checkpoints"), 1);
	assert_int_equal(status_int(fx, "last_checkpoint_size"), 2);
	/* nothing new: no second checkpoint */
	soukd_jobs_run_now(fx->j);
	assert_int_equal(status_int(fx, "checkpoints"), 1);
	/* the log grew: a new one that the key verifies and the log extends */
	create(fx, "A3", NULL);
	soukd_jobs_run_now(fx->j);
	assert_int_equal(status_int(fx, "checkpoints"), 2);
	assert_int_equal(status_int(fx, "last_checkpoint_size"), 3);
	assert_int_equal(store_audit_checkpoint(fx->s, fx->key, &cp, text), 0);
	assert_int_equal(store_checkpoint_verify_sig(&cp, fx->key), 0);
	assert_int_equal(store_audit_check_checkpoint(fx->s, &cp), 0);
}

static void test_jobs_idempotency_expiry_keeps_young_keys(void **state)
{
	fx_t *fx = *state;
	store_mut_t m = {.op = STORE_OP_CREATE, .kind = "product", .actor = "test"};
	const char *doc = "{\"sku\":\"B1\"}";

	create(fx, "B1", "key-1");
	soukd_jobs_run_now(fx->j);
	assert_int_equal(status_int(fx, "idem_expiry_runs"), 1);
	assert_int_equal(status_int(fx, "idem_keys_forgotten"), 0);
	/* the key is younger than the TTL (1 day by default): still a replay */
	m.doc = doc;
	m.doc_len = strlen(doc);
	m.idem_key = "key-1";
	m.idem_key_len = 5;
	assert_int_equal(store_apply(fx->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	assert_true(m.replayed);
}

static void test_jobs_without_key_sign_nothing(void **state)
{
	fx_t *fx = *state;
	create(fx, "C1", NULL);
	assert_int_equal(unlink(fx->key), 0);
	soukd_jobs_run_now(fx->j);
	assert_int_equal(status_int(fx, "checkpoints"), 0);
	assert_int_equal(status_int(fx, "checkpoint_failures"), 0);
}

/* event_add() as libevent's, or failing while fail_event_add is set (this
 * binary's definition is the one soukd's code calls). */
static bool fail_event_add;

int event_add(struct event *ev, const struct timeval *tv)
{
	static int (*real)(struct event *, const struct timeval *);
	if (fail_event_add)
		return -1;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "event_add");
	return real(ev, tv);
}

static bool checkpoint_scheduled(fx_t *fx)
{
	json_t *st = json_object();
	assert_int_equal(soukd_status_json(fx->d, st), 0);
	bool v = json_is_true(json_object_get(json_object_get(st, "jobs"), "checkpoint_scheduled"));
	json_decref(st);
	return v;
}

static void test_jobs_start_fails_when_checkpoint_cannot_be_scheduled(void **state)
{
	fx_t *fx = *state;
	assert_true(checkpoint_scheduled(fx));
	/* a fresh daemon: the first jobs' status hook stays registered with it */
	soukd_jobs_free(&fx->j);
	soukd_free(&fx->d);
	assert_int_equal(soukd_new(fx->conf, &fx->d, NULL), 0);
	fail_event_add = true;
	int rc = soukd_jobs_start(fx->d, fx->s, &fx->j);
	fail_event_add = false;
	assert_int_equal(rc, SOUK_ENOMEM);
	assert_null(fx->j);
	assert_int_equal(soukd_jobs_start(fx->d, fx->s, &fx->j), 0);
	assert_true(checkpoint_scheduled(fx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_jobs_checkpoint_signed_when_log_grew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_idempotency_expiry_keeps_young_keys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_jobs_without_key_sign_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_start_fails_when_checkpoint_cannot_be_scheduled,
						setup, teardown),
	};
	return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_consumer.c - change-log consumers (daemon/consumer.c):
 * in order, at least once, resumed from the durable cursor after a crash in
 * the middle of a batch; lag shown in the control segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "daemon/consumer.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

typedef struct {
	char dir[64];
	char db[128];
	char log[128];
	char inst[96];
	store_t *s;
	shm_ctl_t *ctl;
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	if (!f || fixture_tmpdir(f->dir, sizeof(f->dir), "cons") != 0 ||
	    fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s) != 0)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/seen", f->dir);
	fixture_instance(f->inst, sizeof(f->inst), "cons");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	store_close(&f->s);
	if (f->ctl) {
		shm_ctl_free(&f->ctl);
		shm_ctl_unlink(f->inst);
	}
	int rc = fixture_rm_rf(f->dir);
	free(f);
	return rc;
}

static void fill(store_t *s, int n)
{
	for (int i = 0; i < n; i++) {
		store_mut_t m = { .op = STORE_OP_CREATE, .kind = i % 2 ? "order" : "product",
				  .doc = "{}", .doc_len = 2, .actor = "test" };
		assert_int_equal(store_apply(s, &m, 1), 0);
		assert_int_equal(m.result, 0);
	}
}

/* Appends each delivered sequence to a file (so what a crashed child saw
 * survives it); dies after crash_after deliveries when that is not 0. */
typedef struct {
	int fd;
	int crash_after;
	int delivered;
	int fail_once; /* return an error for the first batch */
} sink_t;

static int sink_batch(const store_change_t *ch, size_t n, void *arg)
{
	sink_t *k = arg;
	if (k->fail_once) {
		k->fail_once = 0;
		return SOUK_EBUSY;
	}
	for (size_t i = 0; i < n; i++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)ch[i].seq,
				   ch[i].kind);
		if (write(k->fd, line, (size_t)len) != len)
			return SOUK_ESTORE;
		if (k->crash_after && ++k->delivered == k->crash_after)
			_exit(0); /* dies in the middle of a batch */
	}
	return 0;
}

static int run_all(store_t *s, sink_t *k, size_t batch)
{
	consumer_opts_t o = { .name = "webhooks", .batch_max = batch, .batch = sink_batch, .arg = k };
	consumer_t *c = NULL;
	size_t done = 1;
	int rc = consumer_new(s, &o, &c);
	for (int i = 0; rc == 0 && done && i < 100; i++)
		rc = consumer_run(c, &done);
	consumer_free(&c);
	return rc;
}

static void test_consumer_resumes_after_crash_in_a_batch(void **state)
{
	fx_t *f = *state;
	uint64_t cursor = 0;
	fill(f->s, 10);
	store_close(&f->s);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store_t *s = NULL;
		sink_t k = { .fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0600),
			     .crash_after = 6 };
		if (k.fd < 0 || fixture_store_open(f->dir, f->db, sizeof(f->db), &s) != 0)
			_exit(2);
		run_all(s, &k, 4);
		_exit(3); /* not reached: the sink dies first */
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s), 0);
	/* the first batch (1..4) was done; the second (5..8) died at 6 */
	assert_int_equal(store_consumer_get(f->s, "webhooks", &cursor), 0);
	assert_int_equal(cursor, 4);
	sink_t k = { .fd = open(f->log, O_WRONLY | O_APPEND) };
	assert_true(k.fd >= 0);
	assert_int_equal(run_all(f->s, &k, 4), 0);
	close(k.fd);
	assert_int_equal(store_consumer_get(f->s, "webhooks", &cursor), 0);
	assert_int_equal(cursor, 10);
	/* every change at least once, in order in each run: 5 and 6 twice */
	char buf[512] = "", want[512] = "";
	int fd = open(f->log, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	static const int order[] = { 1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10 };
	for (size_t i = 0; i < SOUK_ARRAY_LEN(order); i++) {
		size_t n = strlen(want);
		snprintf(want + n, sizeof(want) - n, "%d %s\n", order[i],
			 order[i] % 2 ? "product" : "order");
	}
	assert_string_equal(buf, want);
}

static void test_consumer_failed_batch_comes_again(void **state)
{
	fx_t *f = *state;
	sink_t k = { .fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0600), .fail_once = 1 };
	consumer_opts_t o = { .name = "search", .batch = sink_batch, .arg = &k };
	consumer_t *c = NULL;
	size_t done = 9;
	uint64_t cursor = 9;
	assert_true(k.fd >= 0);
	fill(f->s, 3);
	assert_int_equal(consumer_new(f->s, &o, &c), 0);
	assert_int_equal(consumer_run(c, &done), SOUK_EBUSY);
	assert_int_equal(done, 0);
	assert_int_equal(store_consumer_get(f->s, "search", &cursor), 0);
	assert_int_equal(cursor, 0);
	assert_int_equal(consumer_run(c, &done), 0);
	assert_int_equal(done, 3);
	assert_int_equal(consumer_run(c, &done), 0);
	assert_int_equal(done, 0); /* caught up */
	assert_int_equal(store_consumer_get(f->s, "search", &cursor), 0);
	assert_int_equal(cursor, 3);
	consumer_free(&c);
	close(k.fd);
	char buf[128] = "";
	int fd = open(f->log, O_RDONLY);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "1 product\n2 order\n3 product\n");
}

static void test_consumer_lag_in_control_segment(void **state)
{
	fx_t *f = *state;
	shm_consumer_info_t info[SHM_CONSUMERS_MAX];
	size_t n = 0;
	uint64_t log_seq = 0, cursor = 0;
	consumer_t *c = NULL;
	assert_int_equal(shm_ctl_create(f->inst, 4, &f->ctl), 0);
	fill(f->s, 5);
	consumer_opts_t o = { .name = "publisher", .ctl = f->ctl, .persist_ms = 60000 };
	assert_int_equal(consumer_new(f->s, &o, &c), 0);
	shm_ctl_consumers(f->ctl, info, SHM_CONSUMERS_MAX, &n, &log_seq);
	assert_int_equal(n, 1);
	assert_string_equal(info[0].name, "publisher");
	assert_int_equal(info[0].cursor, 0);
	assert_int_equal(log_seq, 5);
	/* the first mark is durable; within persist_ms later ones are only shown */
	assert_int_equal(consumer_mark(c, 2, false), 0);
	assert_int_equal(consumer_durable(c), 2);
	assert_int_equal(consumer_mark(c, 4, false), 0);
	assert_int_equal(consumer_cursor(c), 4);
	assert_int_equal(consumer_durable(c), 2);
	assert_int_equal(store_consumer_get(f->s, "publisher", &cursor), 0);
	assert_int_equal(cursor, 2);
	shm_ctl_consumers(f->ctl, info, SHM_CONSUMERS_MAX, &n, &log_seq);
	assert_int_equal(info[0].cursor, 4);
	assert_int_equal(log_seq - info[0].cursor, 1); /* the lag */
	assert_int_equal(consumer_flush(c), 0);
	assert_int_equal(store_consumer_get(f->s, "publisher", &cursor), 0);
	assert_int_equal(cursor, 4);
	consumer_free(&c);
	/* the table is small and fixed: a 17th name is refused */
	for (int i = 1; i < SHM_CONSUMERS_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "c%d", i);
		assert_int_equal(shm_ctl_consumer_set(f->ctl, name, 1, 0), 0);
	}
	assert_int_equal(shm_ctl_consumer_set(f->ctl, "one-more", 1, 0), SOUK_ETOOBIG);
	assert_int_equal(shm_ctl_consumer_set(f->ctl, "publisher", 5, 5), 0);
	shm_ctl_consumers(f->ctl, info, SHM_CONSUMERS_MAX, &n, &log_seq);
	assert_int_equal(n, SHM_CONSUMERS_MAX);
	assert_int_equal(info[0].cursor, 5);
	assert_int_equal(shm_ctl_consumer_set(f->ctl, "", 1, 0), SOUK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_consumer_resumes_after_crash_in_a_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consumer_failed_batch_comes_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consumer_lag_in_control_segment, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * tests/unit/fixture.h - set-up many unit tests share: a temporary directory
 * (removed afterwards), a store inside it, and a shared-memory instance name
 * unique to this test run. Header-only; include after the system headers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"
#include "store/store.h"

/* dir (n bytes) becomes a new directory /tmp/souk-<tag>-XXXXXX; 0 or -1. */
static inline int fixture_tmpdir(char *dir, size_t n, const char *tag)
{
	int len = snprintf(dir, n, "/tmp/souk-%s-XXXXXX", tag);
	if (len < 0 || (size_t)len >= n)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

/* rm -rf dir; 0 once it is gone, else -1 after saying so on stderr. */
static inline int fixture_rm_rf(const char *dir)
{
	char cmd[256];
	int len = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (len < 0 || (size_t)len >= sizeof(cmd) || system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
		return -1;
	}
	return 0;
}

/* A store in <dir>/db (that path into db, n bytes) with a 64 MiB map; 0 or -1. */
static inline int fixture_store_open(const char *dir, char *db, size_t n, store_t **s)
{
	store_opts_t o = {.map_size = 64u << 20};
	int len = snprintf(db, n, "%s/db", dir);
	if (len < 0 || (size_t)len >= n)
		return -1;
	return store_open(db, &o, s) == 0 ? 0 : -1;
}

/* The store's last change-log sequence; UINT64_MAX when it cannot be read
 * (no expected value is that). */
static inline uint64_t fixture_last_seq(store_t *s)
{
	uint64_t seq = 0;
	return store_last_seq(s, &seq) == 0 ? seq : UINT64_MAX;
}

/* With tests/shims/fail_meta.c linked in: arm (dir/arm) makes LMDB's next
 * meta-page write fail; 0 or -1. fixture_meta_disarm() says whether it
 * fired (1) or not (0). */
static inline int fixture_meta_arm(const char *dir)
{
	static char arm[256];
	int len = snprintf(arm, sizeof(arm), "%s/arm", dir);
	FILE *f = len > 0 && (size_t)len < sizeof(arm) ? fopen(arm, "w") : NULL;
	if (!f)
		return -1;
	fclose(f);
	return setenv("SOUK_FAIL_META_ARM", arm, 1);
}
static inline int fixture_meta_disarm(void)
{
	const char *arm = getenv("SOUK_FAIL_META_ARM");
	int fired = arm && access(arm, F_OK) != 0;
	if (arm)
		unlink(arm);
	unsetenv("SOUK_FAIL_META_ARM");
	return fired;
}

/* inst (n bytes) becomes souktest-<tag>-<pid>-<count>-<random>: a shared-memory
 * instance name no other test run uses. */
static inline void fixture_instance(char *inst, size_t n, const char *tag)
{
	static unsigned counter;
	uint32_t rnd = 0;
	souk_random(&rnd, sizeof(rnd));
	snprintf(inst, n, "souktest-%s-%d-%u-%08x", tag, (int)getpid(), counter++, rnd);
}

/* A temporary directory with a store, for cmocka set-up and tear-down of a
 * test that needs only that. */
typedef struct {
	char dir[64];
	char db[128];
	store_t *s;
} fixture_store_t;

static inline int fixture_store_setup(void **state, const char *tag)
{
	fixture_store_t *f = calloc(1, sizeof(*f));
	if (!f || fixture_tmpdir(f->dir, sizeof(f->dir), tag) != 0 ||
	    fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int fixture_store_teardown(void **state)
{
	fixture_store_t *f = *state;
	store_close(&f->s);
	int rc = fixture_rm_rf(f->dir);
	free(f);
	return rc;
}

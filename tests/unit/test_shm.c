/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_shm.c - control segment, builder, reader, slots, lookups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "shm/image.h"
#include "shm/internal.h"
#include "shm/shm.h"
#include "tests/tools/shm_content.h"
#include "tests/unit/fixture.h"

typedef struct {
	char inst[64];
	shm_ctl_t *ctl;
} fix_t;

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	fixture_instance(f->inst, sizeof(f->inst), "shm");
	if (shm_ctl_create(f->inst, 8, &f->ctl) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix_t *f = *state;
	shm_ctl_free(&f->ctl);
	shm_ctl_unlink(f->inst);
	free(f);
	return 0;
}

/* Files in /dev/shm belonging to the instance: images and ctl. */
static int count_files(const char *inst, int *ctl_files)
{
	char prefix[80];
	struct dirent *de;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	*ctl_files = 0;
	snprintf(prefix, sizeof(prefix), "%s.img.", inst);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
		else if (strncmp(de->d_name, inst, strlen(inst)) == 0 &&
			 strcmp(de->d_name + strlen(inst), ".ctl") == 0)
			(*ctl_files)++;
	}
	closedir(d);
	return n;
}

static uint64_t publish_test(shm_ctl_t *ctl, uint64_t seq)
{
	shm_builder_t *b = NULL;
	uint64_t gen = 0;

	assert_int_equal(shm_builder_new(ctl, &b), 0);
	shm_builder_set_seq(b, seq);
	assert_int_equal(shm_test_build(b), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_null(b);
	return gen;
}

static void img_path(const char *inst, uint64_t gen, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/shm/%s.img.%llu", inst, (unsigned long long)gen);
}

static void test_hash_matches_reference_vectors(void **state)
{
	(void)state;
	assert_true(shm_hash64("", 0, 0) == 0xEF46DB3751D8E999ull);
	assert_true(shm_hash64("abc", 3, 0) == 0x44BC2CF5AD770999ull);
	/* long input crosses the 32-byte stripe path */
	char buf[100];
	for (int i = 0; i < 100; i++)
		buf[i] = (char)i;
	assert_true(shm_hash64(buf, 100, 0) != shm_hash64(buf, 99, 0));
	assert_true(shm_hash64(buf, 100, 0) != shm_hash64(buf, 100, 1));
}

static void test_ctl_names_modes_and_single_publisher(void **state)
{
	fix_t *f = *state;
	shm_ctl_t *other = NULL, *att = NULL;
	char path[128];
	struct stat st;
	mode_t old = umask(0077);

	assert_int_equal(shm_ctl_create("bad/name", 4, &other), SOUK_EINVAL);
	assert_int_equal(shm_ctl_create("", 4, &other), SOUK_EINVAL);
	assert_int_equal(shm_ctl_attach("a.b", &att), SOUK_EINVAL);
	assert_int_equal(shm_ctl_attach("souktest-never-created-xyz", &att), SOUK_ENOENT);
	/* a segment soukd is still creating (empty file) is "not there yet" */
	char early[128];
	snprintf(early, sizeof(early), "/%s-early.ctl", f->inst);
	int efd = shm_open(early, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(efd >= 0);
	snprintf(early, sizeof(early), "%s-early", f->inst);
	assert_int_equal(shm_ctl_attach(early, &att), SOUK_ENOENT);
	assert_int_equal(ftruncate(efd, 4096 + 4 * 576), 0);
	assert_int_equal(shm_ctl_attach(early, &att), SOUK_ENOENT); /* no magic yet */
	assert_null(att);
	close(efd);
	/* soukd then takes the half-made segment over and initialises it */
	shm_ctl_t *pub2 = NULL;
	assert_int_equal(shm_ctl_create(early, 4, &pub2), 0);
	assert_int_equal(shm_ctl_attach(early, &att), 0);
	shm_ctl_free(&att);
	shm_ctl_free(&pub2);
	assert_int_equal(shm_ctl_unlink(early), 0);
	/* a second publisher for the same instance is refused */
	assert_int_equal(shm_ctl_create(f->inst, 8, &other), SOUK_EBUSY);
	assert_null(other);

	snprintf(path, sizeof(path), "/dev/shm/%s.ctl", f->inst);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	uint64_t gen = publish_test(f->ctl, 1);
	img_path(f->inst, gen, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640); /* umask 0077 did not apply */
	umask(old);

	assert_int_equal(shm_ctl_attach(f->inst, &att), 0);
	assert_int_equal(shm_ctl_generation(att), gen);
	/* a reader-side segment cannot build images */
	shm_builder_t *b = NULL;
	assert_int_equal(shm_builder_new(att, &b), -EPERM);
	shm_ctl_free(&att);
	assert_null(att);
}

static void test_builder_rejects_bad_sections(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL, *b2 = NULL;
	void *p;

	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	assert_int_equal(shm_builder_new(f->ctl, &b2), SOUK_EBUSY);
	assert_int_equal(shm_builder_reserve(b, "", 8, 8, &p), SOUK_EINVAL);
	assert_int_equal(shm_builder_reserve(b, "x", 3, 8, &p), SOUK_EINVAL);
	assert_int_equal(shm_builder_reserve(b, "x", 8192, 8, &p), SOUK_EINVAL);
	assert_int_equal(
	    shm_builder_reserve(b, "a-name-that-is-far-too-long-for-a-section", 8, 8, &p),
	    SOUK_EINVAL);
	assert_int_equal(shm_builder_reserve(b, "x", 4096, 100, &p), 0);
	assert_int_equal((uintptr_t)p % 4096, 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(((uint8_t *)p)[i], 0); /* zeroed */
	assert_int_equal(shm_builder_reserve(b, "x", 8, 8, &p), SOUK_EEXIST);
	assert_int_equal(shm_builder_reserve(b, "huge", 8, (size_t)1 << 62, &p), SOUK_ETOOBIG);
	/* freeing an unpublished builder publishes nothing and leaves no file */
	shm_builder_free(&b);
	assert_null(b);
	int ctlf;
	assert_int_equal(count_files(f->inst, &ctlf), 0);
	assert_int_equal(shm_ctl_generation(f->ctl), 0);
}

static void test_reader_keeps_image_for_whole_request(void **state)
{
	fix_t *f = *state;
	shm_reader_t *r = NULL;
	const shm_image_t *img = NULL, *img2 = NULL;
	const void *d;
	size_t l;
	char path[128];
	struct stat st;

	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), SOUK_ENOENT); /* nothing yet */
	assert_null(img);
	uint64_t g1 = publish_test(f->ctl, 41);
	assert_int_equal(shm_ctl_seq(f->ctl), 41);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g1);
	assert_int_equal(shm_image_seq(img), 41);
	assert_true(shm_image_created_ms(img) > 0);
	assert_true(shm_image_size(img) > 0);
	assert_int_equal(shm_image_section(img, "nope", &d, &l), SOUK_ENOENT);
	assert_int_equal(shm_test_verify(img, g1), 0);

	/* newer images published mid-request: this request keeps g1 */
	uint64_t g2 = publish_test(f->ctl, 42);
	uint64_t g3 = publish_test(f->ctl, 43);
	assert_int_equal(g3, g1 + 2);
	img_path(f->inst, g1, path, sizeof(path));
	assert_int_equal(stat(path, &st), -1); /* replaced images are unlinked */
	img_path(f->inst, g2, path, sizeof(path));
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(shm_reader_acquire(r, &img2), 0); /* nested */
	assert_ptr_equal(img2, img);
	shm_reader_release(r);
	assert_int_equal(shm_test_verify(img, g1), 0); /* still mapped and intact */
	shm_reader_release(r);

	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g3);
	assert_int_equal(shm_image_seq(img), 43);
	assert_int_equal(shm_test_verify(img, g3), 0);
	shm_reader_release(r);

	shm_ctl_stats_t s;
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.generation, g3);
	assert_int_equal(s.seq, 43);
	assert_int_equal(s.publish_count, 3);
	assert_int_equal(s.image_size, shm_image_size(img));
	assert_true(s.last_publish_ms > 0);
	assert_true(s.last_publish_ns > 0);
	assert_int_equal(s.publisher_pid, (uint64_t)getpid());
	shm_reader_free(&r);
	assert_null(r);
}

/* Flip one byte of a published, not yet used image. */
static void corrupt_file(const char *inst, uint64_t gen, off_t at, int truncate_to)
{
	char path[128];
	int fd;

	img_path(inst, gen, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	if (truncate_to >= 0) {
		assert_int_equal(ftruncate(fd, truncate_to), 0);
	} else {
		uint8_t c;
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		if (at < 0)
			at += st.st_size;
		assert_int_equal(pread(fd, &c, 1, at), 1);
		c ^= 0x40;
		assert_int_equal(pwrite(fd, &c, 1, at), 1);
	}
	close(fd);
}

static void test_reader_refuses_corrupt_and_truncated_images(void **state)
{
	fix_t *f = *state;
	shm_reader_t *r = NULL, *r2 = NULL;
	const shm_image_t *img = NULL;

	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	/* a bad first image: nothing good to serve */
	uint64_t g1 = publish_test(f->ctl, 1);
	corrupt_file(f->inst, g1, 200, -1);
	assert_int_equal(shm_reader_acquire(r, &img), SOUK_ENOENT);
	assert_int_equal(shm_reader_refused(r), 1);

	uint64_t g2 = publish_test(f->ctl, 2);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);

	/* flipped byte in the last section: checksum refuses, g2 stays */
	uint64_t g3 = publish_test(f->ctl, 3);
	corrupt_file(f->inst, g3, -3, -1);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	assert_int_equal(shm_test_verify(img, g2), 0);
	shm_reader_release(r);
	assert_int_equal(shm_reader_refused(r), 2);
	/* the refusal is remembered: next request does not retry (or log) */
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);
	assert_int_equal(shm_reader_refused(r), 2);

	/* truncated image */
	uint64_t g4 = publish_test(f->ctl, 4);
	corrupt_file(f->inst, g4, 0, 4096);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);

	/* header damage: generation field, magic */
	uint64_t g5 = publish_test(f->ctl, 5);
	corrupt_file(f->inst, g5, offsetof(shm_img_hdr_t, generation), -1);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);

	/* image missing (unlinked behind our back): keep g2 */
	uint64_t g6 = publish_test(f->ctl, 6);
	char name[128];
	snprintf(name, sizeof(name), "/%s.img.%llu", f->inst, (unsigned long long)g6);
	assert_int_equal(shm_unlink(name), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);

	/* a transient failure (out of file descriptors) is retried next time */
	uint64_t g7 = publish_test(f->ctl, 7);
	struct rlimit old_lim, lim;
	shm_reader_stats_t rs;
	int probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old_lim), 0);
	lim = old_lim;
	lim.rlim_cur = (rlim_t)probe;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	int acq = shm_reader_acquire(r, &img);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old_lim), 0);
	assert_int_equal(acq, 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);
	shm_reader_stats(r, &rs);
	assert_int_equal(rs.errors, 1);
	assert_int_equal(rs.refused, 5);
	assert_int_equal(rs.mapped, 1);

	/* a good image again: switch */
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g7);
	assert_int_equal(shm_test_verify(img, g7), 0);
	shm_reader_release(r);

	/* a second reader over the same ctl shares the validated mapping */
	assert_int_equal(shm_reader_new(f->ctl, &r2), 0);
	const shm_image_t *img2 = NULL;
	assert_int_equal(shm_reader_acquire(r2, &img2), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_ptr_equal(img, img2);
	shm_reader_release(r);
	shm_reader_release(r2);
	shm_reader_free(&r2);
	shm_reader_free(&r);
}

static void test_image_check_rejects_each_header_field(void **state)
{
	(void)state;
	uint64_t buf[64] = {0};
	shm_img_hdr_t *h = (shm_img_hdr_t *)buf;
	shm_sect_t *s = (shm_sect_t *)((uint8_t *)buf + 128);
	shm_image_t img;
	const char *why;

	h->magic = SHM_IMG_MAGIC;
	h->abi = SHM_ABI_VERSION;
	h->hdr_size = sizeof(*h);
	h->generation = 9;
	h->size = sizeof(buf);
	h->sect_off = 128;
	h->nsect = 1;
	strcpy(s->name, "s");
	s->offset = 112;
	s->len = 16;
	s->align = 8;
	h->checksum = shm_image_checksum(buf, sizeof(buf));
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 0, &img, &why), 0);
	const void *d;
	size_t l;
	assert_int_equal(shm_image_section(&img, "s", &d, &l), 0);
	assert_ptr_equal(d, (uint8_t *)buf + 112);
	assert_int_equal(l, 16);

	assert_int_equal(shm_image_check(buf, sizeof(buf), 10, 0, &img, &why), SOUK_ECORRUPT);
	assert_string_equal(why, "generation mismatch");
	assert_int_equal(shm_image_check(buf, sizeof(buf) - 8, 9, 0, &img, &why), SOUK_ECORRUPT);
	assert_int_equal(shm_image_check(buf, 50, 9, 0, &img, &why), SOUK_ECORRUPT);
	h->abi = 99;
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 0, &img, &why), SOUK_EVERSION);
	h->abi = SHM_ABI_VERSION;
	s->len = 1000;
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 1, &img, &why), SOUK_ECORRUPT);
	assert_string_equal(why, "section out of bounds");
	s->len = 16;
	s->offset = 113;
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 1, &img, &why), SOUK_ECORRUPT);
	s->offset = 112;
	memset(s->name, 'x', sizeof(s->name));
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 1, &img, &why), SOUK_ECORRUPT);
	memset(s->name, 0, sizeof(s->name));
	strcpy(s->name, "s");
	h->nsect = 100;
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 1, &img, &why), SOUK_ECORRUPT);
	h->nsect = 1;
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 0, &img, &why), 0);
	buf[60] ^= 1;
	assert_int_equal(shm_image_check(buf, sizeof(buf), 9, 0, &img, &why), SOUK_ECORRUPT);
	assert_string_equal(why, "checksum mismatch");
}

static void test_slot_claim_count_and_reap_dead_worker(void **state)
{
	fix_t *f = *state;
	shm_slot_t *mine = NULL;
	shm_slot_info_t info;
	shm_ctl_stats_t s;
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(shm_slot_claim(f->ctl, &mine), 0);
	shm_slot_count(mine, 3, 5);
	shm_slot_count(mine, SHM_SLOT_COUNTERS, 5); /* out of range: ignored */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		shm_ctl_t *ctl = NULL;
		shm_slot_t *slot = NULL;
		if (shm_ctl_attach(f->inst, &ctl) != 0 || shm_slot_claim(ctl, &slot) != 0)
			_exit(1);
		shm_slot_count(slot, 3, 7);
		shm_slot_set_generation(slot, 77);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(shm_ctl_counter_sum(f->ctl, 3), 12);
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.slots_used, 2);
	int found = 0;
	for (uint32_t i = 0; i < s.nslots; i++)
		if (shm_ctl_slot_info(f->ctl, i, &info) == 0 && info.pid == (uint32_t)pid) {
			found = 1;
			assert_int_equal(info.generation, 77);
			assert_true(info.start_time > 0);
		}
	assert_true(found);
	assert_int_equal(shm_ctl_reap(f->ctl), 0); /* alive: kept */
	kill(pid, SIGKILL);
	/* even before waitpid (zombie) the slot counts as dead */
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(shm_ctl_reap(f->ctl), 1);
	assert_int_equal(shm_ctl_counter_sum(f->ctl, 3), 5);
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.slots_used, 1);

	/* a reused pid is told apart by its start time */
	shm_slot_seg_t *seg = (shm_slot_seg_t *)mine;
	uint64_t real = atomic_load(&seg->start_time);
	atomic_store(&seg->start_time, real + 12345);
	assert_int_equal(shm_ctl_reap(f->ctl), 1);
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.slots_used, 0);
	shm_slot_release(f->ctl, &mine); /* already reclaimed: harmless */
	assert_null(mine);

	/* all slots full, claims fail cleanly; release frees one */
	shm_slot_t *all[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(shm_slot_claim(f->ctl, &all[i]), 0);
	shm_slot_t *extra = NULL;
	assert_int_equal(shm_slot_claim(f->ctl, &extra), SOUK_EBUSY);
	shm_slot_release(f->ctl, &all[4]);
	assert_int_equal(shm_slot_claim(f->ctl, &extra), 0);
	for (int i = 0; i < 8; i++)
		shm_slot_release(f->ctl, &all[i]);
	shm_slot_release(f->ctl, &extra);
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.slots_used, 0);
}

static void test_killed_reader_leaks_no_slot_and_no_image(void **state)
{
	fix_t *f = *state;
	shm_ctl_stats_t s;
	int fds[2], st, ctlf;
	pid_t pid;
	char c;

	uint64_t g1 = publish_test(f->ctl, 1);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		shm_ctl_t *ctl = NULL;
		shm_slot_t *slot = NULL;
		shm_reader_t *r = NULL;
		const shm_image_t *img;
		if (shm_ctl_attach(f->inst, &ctl) != 0 || shm_slot_claim(ctl, &slot) != 0 ||
		    shm_reader_new(ctl, &r) != 0)
			_exit(1);
		shm_reader_set_slot(r, slot);
		if (shm_reader_acquire(r, &img) != 0 || shm_test_verify(img, g1) != 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1) /* mid-request */
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.slots_used, 1);
	for (int i = 0; i < 5; i++)
		publish_test(f->ctl, 2);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	for (int i = 0; i < 5; i++)
		publish_test(f->ctl, 3);
	/* a new claim reclaims the dead worker's slot on the way */
	shm_slot_t *slot = NULL;
	assert_int_equal(shm_ctl_reap(f->ctl), 1);
	shm_ctl_stats(f->ctl, &s);
	assert_int_equal(s.slots_used, 0);
	assert_int_equal(shm_slot_claim(f->ctl, &slot), 0);
	shm_slot_release(f->ctl, &slot);
	/* publisher stops: only the current image remains */
	assert_int_equal(count_files(f->inst, &ctlf), 1);
	assert_int_equal(ctlf, 1);
	shm_ctl_t *worker = NULL;
	assert_int_equal(shm_ctl_attach(f->inst, &worker), 0);
	assert_int_equal(shm_ctl_replaced(worker), 0);
	shm_ctl_free(&f->ctl);
	assert_int_equal(shm_ctl_unlink(f->inst), 0);
	assert_int_equal(count_files(f->inst, &ctlf), 0);
	assert_int_equal(ctlf, 0);
	assert_int_equal(shm_ctl_unlink(f->inst), SOUK_ENOENT);
	assert_int_equal(shm_ctl_replaced(worker), 1); /* tells workers to re-attach */
	/* a fresh segment for teardown; the old worker view is still replaced */
	assert_int_equal(shm_ctl_create(f->inst, 8, &f->ctl), 0);
	assert_int_equal(shm_ctl_replaced(worker), 1);
	shm_ctl_free(&worker);
}

static void test_ctl_take_over_keeps_generation_and_cleans_leftovers(void **state)
{
	fix_t *f = *state;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	shm_ctl_t *att = NULL;
	int ctlf;

	uint64_t g1 = publish_test(f->ctl, 9);
	assert_int_equal(shm_ctl_attach(f->inst, &att), 0);
	assert_int_equal(shm_reader_new(att, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	shm_reader_release(r);
	/* a crashed build leaves a file of the next generation */
	char name[128];
	snprintf(name, sizeof(name), "/%s.img.%llu", f->inst, (unsigned long long)g1 + 1);
	int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(count_files(f->inst, &ctlf), 2);
	/* soukd restarts: takes the same segment over */
	shm_ctl_free(&f->ctl);
	assert_int_equal(shm_ctl_create(f->inst, 8, &f->ctl), 0);
	assert_int_equal(shm_ctl_generation(f->ctl), g1);
	assert_int_equal(count_files(f->inst, &ctlf), 1);
	uint64_t g2 = publish_test(f->ctl, 10);
	assert_int_equal(g2, g1 + 1);
	/* the attached worker follows without re-attaching */
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g2);
	shm_reader_release(r);
	shm_reader_free(&r);
	shm_ctl_free(&att);
}

static void test_instances_do_not_collide(void **state)
{
	fix_t *f = *state;
	shm_ctl_t *other = NULL;
	shm_reader_t *r = NULL, *r2 = NULL;
	const shm_image_t *img;
	char inst2[80];
	int ctlf;

	/* a name that extends the first one must not share its files */
	snprintf(inst2, sizeof(inst2), "%s-img", f->inst);
	assert_int_equal(shm_ctl_create(inst2, 4, &other), 0);
	uint64_t a1 = publish_test(f->ctl, 1);
	uint64_t b1 = publish_test(other, 100);
	uint64_t b2 = publish_test(other, 200);
	assert_int_equal(a1, 1);
	assert_int_equal(b2, b1 + 1);
	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_reader_new(other, &r2), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_seq(img), 1);
	shm_reader_release(r);
	assert_int_equal(shm_reader_acquire(r2, &img), 0);
	assert_int_equal(shm_image_seq(img), 200);
	shm_reader_release(r2);
	shm_reader_free(&r2);
	shm_reader_free(&r);
	/* removing one instance leaves the other whole */
	shm_ctl_free(&other);
	assert_int_equal(shm_ctl_unlink(inst2), 0);
	assert_int_equal(count_files(inst2, &ctlf), 0);
	assert_int_equal(count_files(f->inst, &ctlf), 1);
	assert_int_equal(ctlf, 1);
}

static void test_hidx_lookup_hits_misses_and_corruption(void **state)
{
	(void)state;
	enum { N = 5000 };
	shm_hidx_entry_t *e = calloc(N + 1, sizeof(*e));
	char *keys = calloc(N, 24);
	size_t klen = 0, sz;
	uint64_t v;
	void *idx;

	assert_non_null(e);
	assert_non_null(keys);
	for (int i = 0; i < N; i++) {
		int l = shm_test_key((uint64_t)i, keys + i * 24);
		e[i] = (shm_hidx_entry_t){keys + i * 24, (uint32_t)l, (uint64_t)i * 3};
		klen += (size_t)l;
	}
	sz = shm_hidx_size(N, klen);
	idx = aligned_alloc(8, (sz + 7) & ~(size_t)7);
	assert_non_null(idx);
	assert_int_equal(shm_hidx_build(e, N, idx, sz - 1), SOUK_EINVAL);
	assert_int_equal(shm_hidx_build(e, N, idx, sz), 0);
	assert_int_equal(shm_hidx_count(idx, sz), N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(shm_hidx_lookup(idx, sz, e[i].key, e[i].key_len, &v), 0);
		assert_int_equal(v, (uint64_t)i * 3);
	}
	assert_int_equal(shm_hidx_lookup(idx, sz, "k5000", 5, &v), SOUK_ENOENT);
	assert_int_equal(shm_hidx_lookup(idx, sz, "k1", 1, &v), SOUK_ENOENT); /* prefix */
	assert_int_equal(shm_hidx_lookup(idx, sz, "", 0, &v), SOUK_ENOENT);
	/* empty key is a key like any other */
	shm_hidx_entry_t one = {"", 0, 42};
	size_t sz1 = shm_hidx_size(1, 0);
	uint64_t small[64];
	assert_true(sz1 <= sizeof(small));
	assert_int_equal(shm_hidx_build(&one, 1, small, sz1), 0);
	assert_int_equal(shm_hidx_lookup(small, sz1, "", 0, &v), 0);
	assert_int_equal(v, 42);
	/* duplicates are refused */
	e[N] = e[17];
	size_t szd = shm_hidx_size(N + 1, klen + e[17].key_len);
	void *dup = aligned_alloc(8, (szd + 7) & ~(size_t)7);
	assert_int_equal(shm_hidx_build(e, N + 1, dup, szd), SOUK_EEXIST);
	free(dup);
	/* a cut-off blob is refused, never read past idx_len */
	assert_int_equal(shm_hidx_lookup(idx, sz - 8 - klen, "k1", 2, &v), SOUK_ECORRUPT);
	assert_int_equal(shm_hidx_lookup(idx, 16, "k1", 2, &v), SOUK_ECORRUPT);
	assert_int_equal(shm_hidx_lookup((uint8_t *)idx + 1, sz - 1, "k1", 2, &v), SOUK_ECORRUPT);
	assert_int_equal(shm_hidx_count(idx, 16), 0);
	/* a bucket pointing outside the key area: ECORRUPT, not a wild read */
	uint8_t *bk = (uint8_t *)idx + 32;
	size_t nb = (sz - 32 - ((klen + 7) & ~(size_t)7)) / 24;
	for (size_t i = 0; i < nb; i++) {
		uint32_t off = 0xfffffff0u;
		memcpy(bk + i * 24 + 16, &off, 4);
	}
	assert_int_equal(shm_hidx_lookup(idx, sz, "k7", 2, &v), SOUK_ECORRUPT);
	/* full table without empty bucket: bounded probing */
	for (size_t i = 0; i < nb; i++) {
		uint64_t h = 5;
		memcpy(bk + i * 24, &h, 8);
	}
	assert_int_equal(shm_hidx_lookup(idx, sz, "k7", 2, &v), SOUK_ENOENT);
	free(idx);
	free(keys);
	free(e);
}

typedef struct {
	uint32_t id;
	char name[12];
} rec_t;

static int rec_cmp(const void *key, const void *rec, void *arg)
{
	uint32_t k = *(const uint32_t *)key, r = ((const rec_t *)rec)->id;
	(void)arg;
	return k < r ? -1 : k > r;
}

static void test_sorted_find_records_and_kv(void **state)
{
	(void)state;
	rec_t recs[100];
	shm_kv_t kv[200];
	const void *hit;
	size_t at;
	uint64_t v;

	for (uint32_t i = 0; i < 100; i++) {
		recs[i].id = i * 2;
		snprintf(recs[i].name, sizeof(recs[i].name), "r%u", i);
	}
	uint32_t k = 38;
	assert_int_equal(
	    shm_sorted_find(recs, sizeof(recs), sizeof(rec_t), &k, rec_cmp, NULL, &hit), 0);
	assert_string_equal(((const rec_t *)hit)->name, "r19");
	k = 39;
	assert_int_equal(
	    shm_sorted_find(recs, sizeof(recs), sizeof(rec_t), &k, rec_cmp, NULL, &hit),
	    SOUK_ENOENT);
	assert_int_equal(
	    shm_sorted_lower_bound(recs, sizeof(recs), sizeof(rec_t), &k, rec_cmp, NULL, &at), 0);
	assert_int_equal(at, 20);
	k = 1000;
	assert_int_equal(
	    shm_sorted_lower_bound(recs, sizeof(recs), sizeof(rec_t), &k, rec_cmp, NULL, &at), 0);
	assert_int_equal(at, 100);
	assert_int_equal(shm_sorted_find(recs, 0, sizeof(rec_t), &k, rec_cmp, NULL, &hit),
			 SOUK_ENOENT);
	assert_int_equal(
	    shm_sorted_find(recs, sizeof(recs) - 1, sizeof(rec_t), &k, rec_cmp, NULL, &hit),
	    SOUK_ECORRUPT);

	for (int i = 0; i < 200; i++)
		kv[i] = (shm_kv_t){(uint64_t)(199 - i) * 1000003u, (uint64_t)i};
	assert_int_equal(shm_sorted_kv_sort(kv, 200), 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(shm_sorted_kv_lookup(kv, sizeof(kv), (uint64_t)i * 1000003u, &v),
				 0);
		assert_int_equal(v, 199 - i);
	}
	assert_int_equal(shm_sorted_kv_lookup(kv, sizeof(kv), 5, &v), SOUK_ENOENT);
	assert_int_equal(shm_sorted_kv_lookup(kv, sizeof(kv) - 8, 5, &v), SOUK_ECORRUPT);
	kv[5].key = kv[6].key;
	assert_int_equal(shm_sorted_kv_sort(kv, 200), SOUK_EEXIST);
}


/* ---- base and delta images ----------------------------------------------- */

static uint64_t publish_text(shm_builder_t *b, const char *text)
{
	uint64_t gen = 0;
	assert_int_equal(shm_builder_add(b, "t.text", 8, text, strlen(text) + 1), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	return gen;
}

static uint64_t finish_base(shm_ctl_t *ctl, const char *text)
{
	shm_builder_t *b = NULL;
	uint64_t gen = 0;
	assert_int_equal(shm_builder_new_base(ctl, &b), 0);
	assert_int_equal(shm_builder_add(b, "t.text", 8, text, strlen(text) + 1), 0);
	assert_int_equal(shm_builder_finish(&b, &gen), 0);
	assert_null(b);
	return gen;
}

static const char *text_of(const shm_image_t *img)
{
	const void *p;
	size_t len;
	if (img == NULL || shm_image_section(img, "t.text", &p, &len) != 0)
		return "";
	return p;
}

static void test_delta_pairs_follow_bases_and_old_pairs_stay_valid(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL;
	shm_reader_t *r1 = NULL, *r2 = NULL;
	const shm_image_t *img, *held;
	shm_ctl_stats_t cs;
	int ctlf;

	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t base1 = publish_text(b, "base one");
	assert_int_equal(shm_builder_new_delta(f->ctl, base1, &b), 0);
	uint64_t d1 = publish_text(b, "delta one");
	assert_true(d1 > base1);
	/* the current delta and its base stay, nothing else */
	assert_int_equal(count_files(f->inst, &ctlf), 2);
	shm_ctl_stats(f->ctl, &cs);
	assert_int_equal(cs.generation, d1);
	assert_int_equal(cs.base_generation, base1);

	assert_int_equal(shm_reader_new(f->ctl, &r1), 0);
	assert_int_equal(shm_reader_new(f->ctl, &r2), 0);
	assert_int_equal(shm_reader_acquire(r1, &held), 0);
	assert_int_equal(shm_image_generation(held), d1);
	assert_non_null(shm_image_base(held));
	assert_int_equal(shm_image_generation(shm_image_base(held)), base1);
	assert_string_equal(text_of(held), "delta one");
	assert_string_equal(text_of(shm_image_base(held)), "base one");

	/* a new base is built apart while deltas over the old one go on */
	assert_int_equal(shm_builder_new_base(f->ctl, &b), 0);
	shm_builder_t *b2 = NULL;
	assert_int_equal(shm_builder_new_base(f->ctl, &b2), SOUK_EBUSY);
	shm_builder_t *d = NULL;
	assert_int_equal(shm_builder_new_delta(f->ctl, base1, &d), 0);
	uint64_t d2 = publish_text(d, "delta two");
	assert_int_equal(shm_builder_add(b, "t.text", 8, "base two", 9), 0);
	uint64_t base2 = 0;
	assert_int_equal(shm_builder_publish(&b, &base2), SOUK_EINVAL); /* not as current */
	assert_null(b);
	base2 = finish_base(f->ctl, "base two");
	assert_true(base2 > d2);
	assert_int_equal(count_files(f->inst, &ctlf), 3); /* d2, base1, base2 */
	assert_int_equal(shm_builder_new_delta(f->ctl, base2, &b), 0);
	uint64_t d3 = publish_text(b, "delta three");
	assert_true(d3 > base2);
	assert_int_equal(count_files(f->inst, &ctlf), 2); /* d3, base2 */

	/* r1 still holds (base1, d1): both unlinked, both still readable */
	assert_string_equal(text_of(held), "delta one");
	assert_string_equal(text_of(shm_image_base(held)), "base one");
	assert_int_equal(shm_reader_acquire(r2, &img), 0);
	assert_int_equal(shm_image_generation(img), d3);
	assert_int_equal(shm_image_generation(shm_image_base(img)), base2);
	assert_string_equal(text_of(shm_image_base(img)), "base two");
	shm_reader_release(r2);
	shm_reader_release(r1);
	assert_int_equal(shm_reader_acquire(r1, &img), 0);
	assert_int_equal(shm_image_generation(img), d3);
	shm_reader_release(r1);

	/* a delta over a delta is refused at build time; a discarded base is gone */
	assert_int_equal(shm_builder_new_delta(f->ctl, d3, &b), SOUK_EINVAL);
	uint64_t base3 = finish_base(f->ctl, "base three");
	assert_int_equal(count_files(f->inst, &ctlf), 3);
	assert_int_equal(shm_image_discard(f->ctl, base3), 0);
	assert_int_equal(shm_image_discard(f->ctl, base2), 0); /* in use: kept */
	assert_int_equal(count_files(f->inst, &ctlf), 2);
	assert_int_equal(shm_builder_new_delta(f->ctl, base3, &b), SOUK_ENOENT);

	/* a full image replaces the pair */
	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t full = publish_text(b, "full");
	assert_int_equal(count_files(f->inst, &ctlf), 1);
	assert_int_equal(shm_reader_acquire(r1, &img), 0);
	assert_int_equal(shm_image_generation(img), full);
	assert_null(shm_image_base(img));
	shm_reader_release(r1);
	shm_reader_free(&r1);
	shm_reader_free(&r2);
}

/* A delta without a section reads it from its base; one with the section
 * reads its own; the _own lookup never falls back. */
static void test_delta_section_absent_is_read_from_base(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	const void *p;
	size_t len;

	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	assert_int_equal(shm_builder_add(b, "t.only", 8, "base only", 10), 0);
	uint64_t base = publish_text(b, "base text");
	assert_int_equal(shm_reader_new(f->ctl, &r), 0);

	/* a delta with t.text but without t.only */
	assert_int_equal(shm_builder_new_delta(f->ctl, base, &b), 0);
	publish_text(b, "delta text");
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_non_null(shm_image_base(img));
	assert_string_equal(text_of(img), "delta text");
	assert_int_equal(shm_image_section(img, "t.only", &p, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(p, "base only");
	assert_int_equal(shm_image_section_own(img, "t.only", &p, &len), SOUK_ENOENT);
	assert_int_equal(shm_image_section_own(img, "t.text", &p, &len), 0);
	assert_string_equal(p, "delta text");
	assert_int_equal(shm_image_section(img, "t.none", &p, &len), SOUK_ENOENT);
	shm_reader_release(r);

	/* a delta that holds neither reads both from the base */
	assert_int_equal(shm_builder_new_delta(f->ctl, base, &b), 0);
	uint64_t gen = 0;
	assert_int_equal(shm_builder_add(b, "t.other", 8, "x", 2), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), gen);
	assert_string_equal(text_of(img), "base text");
	assert_int_equal(shm_image_section(img, "t.only", &p, &len), 0);
	assert_string_equal(p, "base only");
	assert_int_equal(shm_image_section_own(img, "t.text", &p, &len), SOUK_ENOENT);
	/* the base itself has only its own */
	assert_int_equal(shm_image_section(shm_image_base(img), "t.other", &p, &len),
			 SOUK_ENOENT);
	shm_reader_release(r);
	shm_reader_free(&r);
}

/* ---- views ------------------------------------------------------------------ */

/* A test view: the generation it was bound for and the text of "t.text"
 * (from the base when a delta lacks it); no t.text is SOUK_ENOENT, the text
 * "bad" SOUK_ECORRUPT. Binds are counted. */
typedef struct {
	uint64_t gen;
	char text[32];
} text_view_t;

static atomic_uint text_binds;

static int text_bind(const shm_image_t *img, void *view)
{
	text_view_t *v = view;
	const void *p;
	size_t len;
	atomic_fetch_add(&text_binds, 1);
	int rc = shm_image_section(img, "t.text", &p, &len);
	if (rc != 0)
		return rc;
	if (len == 0 || len > sizeof(v->text) || strcmp(p, "bad") == 0)
		return SOUK_ECORRUPT;
	v->gen = shm_image_generation(img);
	memcpy(v->text, p, len);
	return 0;
}

static const shm_view_def_t text_view_def = {"test text", sizeof(text_view_t), text_bind};

typedef struct {
	shm_ctl_t *ctl;
	unsigned slot;
	uint64_t want_gen;
	int bad; /* acquires that did not see the expected view */
} view_reader_t;

static void *view_reader_main(void *arg)
{
	view_reader_t *vr = arg;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	const void *v;
	if (shm_reader_new(vr->ctl, &r) != 0) {
		vr->bad++;
		return NULL;
	}
	for (int i = 0; i < 200; i++) {
		if (shm_reader_acquire(r, &img) != 0) {
			vr->bad++;
			continue;
		}
		const text_view_t *tv;
		if (shm_image_view(img, vr->slot, &v) != 0 ||
		    (tv = v)->gen != shm_image_generation(img) || tv->gen != vr->want_gen)
			vr->bad++;
		shm_reader_release(r);
	}
	shm_reader_free(&r);
	return NULL;
}

/* Many acquires on several threads bind each image once. */
static void readers_see_view(fix_t *f, unsigned slot, uint64_t gen)
{
	enum { NT = 4 };
	pthread_t t[NT];
	view_reader_t vr[NT];
	for (int i = 0; i < NT; i++) {
		vr[i] = (view_reader_t){.ctl = f->ctl, .slot = slot, .want_gen = gen};
		assert_int_equal(pthread_create(&t[i], NULL, view_reader_main, &vr[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(vr[i].bad, 0);
	}
}

static void test_views_bound_once_per_image(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	const void *v;
	unsigned slot = 99, slot2 = 99;

	atomic_store(&text_binds, 0);
	shm_view_def_t bad_def = text_view_def;
	bad_def.size = 0;
	assert_int_equal(shm_ctl_add_view(f->ctl, &bad_def, &slot), SOUK_EINVAL);
	bad_def = text_view_def;
	bad_def.bind = NULL;
	assert_int_equal(shm_ctl_add_view(f->ctl, &bad_def, &slot), SOUK_EINVAL);
	assert_int_equal(shm_ctl_add_view(f->ctl, &text_view_def, &slot), 0);
	assert_int_equal(slot, 0);
	assert_int_equal(shm_ctl_add_view(f->ctl, &text_view_def, &slot2), 0);
	assert_int_equal(slot2, 1);

	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t g1 = publish_text(b, "first");
	readers_see_view(f, slot, g1);
	/* two views registered, one image: two binds, whatever the acquires */
	assert_int_equal(atomic_load(&text_binds), 2);
	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_view(img, slot2, &v), 0);
	assert_string_equal(((const text_view_t *)v)->text, "first");
	assert_int_equal(shm_image_view(img, 2, &v), SOUK_EINVAL);
	assert_null(v);
	shm_reader_release(r);
	/* too late once images are mapped: they would never have it */
	assert_int_equal(shm_ctl_add_view(f->ctl, &text_view_def, &slot2), SOUK_EBUSY);

	/* a new generation binds again; a delta sees its base's section */
	assert_int_equal(shm_builder_new_delta(f->ctl, g1, &b), 0);
	uint64_t g2 = 0;
	assert_int_equal(shm_builder_add(b, "t.other", 8, "x", 2), 0);
	assert_int_equal(shm_builder_publish(&b, &g2), 0);
	readers_see_view(f, slot, g2);
	assert_int_equal(atomic_load(&text_binds), 4);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_view(img, slot, &v), 0);
	assert_string_equal(((const text_view_t *)v)->text, "first");
	shm_reader_release(r);
	assert_int_equal(atomic_load(&text_binds), 4);

	/* the bind's refusals are what readers get; the image is still served */
	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t g3 = publish_text(b, "bad");
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g3);
	assert_int_equal(shm_image_view(img, slot, &v), SOUK_ECORRUPT);
	assert_null(v);
	shm_reader_release(r);
	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t g4 = 0;
	assert_int_equal(shm_builder_add(b, "t.other", 8, "x", 2), 0);
	assert_int_equal(shm_builder_publish(&b, &g4), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), g4);
	assert_int_equal(shm_image_view(img, slot, &v), SOUK_ENOENT);
	assert_int_equal(shm_image_view(img, slot, &v), SOUK_ENOENT);
	shm_reader_release(r);
	assert_int_equal(atomic_load(&text_binds), 8);
	shm_reader_free(&r);
}

/* Views over plain memory have no registry: every slot is SOUK_EINVAL. */
static void test_views_over_plain_memory_are_not_bound(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	shm_image_t copy;
	const void *v = &v;
	const char *why;
	unsigned slot;

	assert_int_equal(shm_ctl_add_view(f->ctl, &text_view_def, &slot), 0);
	for (unsigned i = 1; i < SHM_VIEWS_MAX; i++)
		assert_int_equal(shm_ctl_add_view(f->ctl, &text_view_def, &slot), 0);
	assert_int_equal(shm_ctl_add_view(f->ctl, &text_view_def, &slot), SOUK_ETOOBIG);
	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	publish_text(b, "plain");
	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_view(img, 0, &v), 0);
	void *buf = aligned_alloc(8, (shm_image_size(img) + 7) & ~(size_t)7);
	assert_non_null(buf);
	memcpy(buf, img->base, shm_image_size(img));
	shm_reader_release(r);
	assert_int_equal(shm_image_check(buf, shm_image_size(img), 0, 0, &copy, &why), 0);
	assert_int_equal(shm_image_view(&copy, 0, &v), SOUK_EINVAL);
	assert_null(v);
	free(buf);
	shm_reader_free(&r);
}


/* A base is mapped and checksummed once per process, however many deltas
 * over it are read (also when it was first read as the current image). */
static void test_delta_base_is_mapped_once_per_process(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	shm_reader_stats_t rs;
	uint64_t expect = 0;

	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t base1 = publish_text(b, "base one");
	for (int i = 0; i < 6; i++) {
		if (i > 0) {
			assert_int_equal(shm_builder_new_delta(f->ctl, base1, &b), 0);
			publish_text(b, "delta");
		}
		assert_int_equal(shm_reader_acquire(r, &img), 0);
		shm_reader_release(r);
		shm_reader_stats(r, &rs);
		assert_int_equal(rs.mapped, ++expect); /* the new image only */
	}
	uint64_t base2 = finish_base(f->ctl, "base two");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(shm_builder_new_delta(f->ctl, base2, &b), 0);
		publish_text(b, "delta");
		assert_int_equal(shm_reader_acquire(r, &img), 0);
		assert_string_equal(text_of(shm_image_base(img)), "base two");
		shm_reader_release(r);
		shm_reader_stats(r, &rs);
		expect += i == 0 ? 2 : 1; /* the new base once */
		assert_int_equal(rs.mapped, expect);
	}
	shm_reader_free(&r);
}

static void test_delta_with_bad_base_or_bad_body_is_refused(void **state)
{
	fix_t *f = *state;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;

	assert_int_equal(shm_builder_new(f->ctl, &b), 0);
	uint64_t base1 = publish_text(b, "base one");
	assert_int_equal(shm_builder_new_delta(f->ctl, base1, &b), 0);
	uint64_t d1 = publish_text(b, "delta one");
	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), d1);
	shm_reader_release(r);

	/* a base damaged after it was finished: its delta is refused */
	uint64_t base2 = finish_base(f->ctl, "base two");
	corrupt_file(f->inst, base2, (off_t)sizeof(shm_img_hdr_t), -1);
	assert_int_equal(shm_builder_new_delta(f->ctl, base2, &b), 0);
	uint64_t d2 = publish_text(b, "delta two");
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), d1); /* last good pair kept */
	assert_string_equal(text_of(shm_image_base(img)), "base one");
	shm_reader_release(r);
	assert_int_equal(shm_reader_refused(r), 1);
	(void)d2;

	/* a good base with a damaged delta: refused too */
	uint64_t base3 = finish_base(f->ctl, "base three");
	assert_int_equal(shm_builder_new_delta(f->ctl, base3, &b), 0);
	assert_int_equal(shm_builder_add(b, "t.text", 8, "delta three", 12), 0);
	uint64_t d3 = shm_builder_generation(b);
	assert_int_equal(shm_builder_publish(&b, NULL), 0);
	corrupt_file(f->inst, d3, (off_t)sizeof(shm_img_hdr_t), -1);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), d1);
	shm_reader_release(r);
	assert_int_equal(shm_reader_refused(r), 2);

	/* the next good pair is taken */
	assert_int_equal(shm_builder_new_delta(f->ctl, base3, &b), 0);
	uint64_t d4 = publish_text(b, "delta four");
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), d4);
	assert_string_equal(text_of(img), "delta four");
	assert_string_equal(text_of(shm_image_base(img)), "base three");
	shm_reader_release(r);
	shm_reader_free(&r);
}

static void test_builder_out_of_space_fails_without_signal(void **state)
{
	fix_t *f = *state;
	int ctlf, status = 0;

	uint64_t g1 = publish_test(f->ctl, 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a file size limit stands in for a full /dev/shm: both make
		 * posix_fallocate fail (EFBIG / ENOSPC) where a write into a
		 * sparse file would have raised SIGBUS */
		struct rlimit rl = { 1u << 20, 1u << 20 };
		shm_builder_t *b = NULL;
		void *p = NULL;
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || shm_builder_new(f->ctl, &b) != 0)
			_exit(2);
		int rc = shm_builder_reserve(b, "t.big", 8, 4u << 20, &p);
		shm_builder_free(&b);
		_exit(rc == -EFBIG || rc == -ENOSPC ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(shm_ctl_generation(f->ctl), g1);
	assert_int_equal(count_files(f->inst, &ctlf), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_matches_reference_vectors),
	    cmocka_unit_test_setup_teardown(test_ctl_names_modes_and_single_publisher, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_builder_rejects_bad_sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_keeps_image_for_whole_request, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reader_refuses_corrupt_and_truncated_images, setup,
					    teardown),
	    cmocka_unit_test(test_image_check_rejects_each_header_field),
	    cmocka_unit_test_setup_teardown(test_slot_claim_count_and_reap_dead_worker, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_killed_reader_leaks_no_slot_and_no_image, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_ctl_take_over_keeps_generation_and_cleans_leftovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_instances_do_not_collide, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delta_pairs_follow_bases_and_old_pairs_stay_valid,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delta_with_bad_base_or_bad_body_is_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_delta_section_absent_is_read_from_base, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_views_bound_once_per_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_views_over_plain_memory_are_not_bound, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_delta_base_is_mapped_once_per_process, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_builder_out_of_space_fails_without_signal, setup,
					    teardown),
	    cmocka_unit_test(test_hidx_lookup_hits_misses_and_corruption),
	    cmocka_unit_test(test_sorted_find_records_and_kv),
	};
	log_init("test_shm", LOG_TARGET_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

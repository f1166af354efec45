/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/tools/shm_stress.c - many generations, several reader processes.
 *
 *   shm_stress safe    [--readers N] [--gens G] [--seconds S]
 *   shm_stress delta   [--readers N] [--gens G] [--seconds S]
 *   shm_stress inplace [--readers N] [--seconds S]
 *   shm_stress early   [--readers N] [--seconds S]
 *
 * safe: one publisher (this process) publishes up to G generations (or for
 * S seconds, whichever comes first) while N forked readers follow the
 * protocol and check every record of every image they use, twice per
 * request (before and after yielding, while newer images are published and
 * the old one unlinked). Exit 0 when no read was bad, every reader used
 * several images, only the current image is left in /dev/shm when the
 * publisher stops, and none after shm_ctl_unlink.
 *
 * delta: the same with base and delta images: after a first full image every
 * generation is a delta over a base; every 20 generations a new base is
 * started, 5 deltas over the old base are published while it is being
 * filled, then it is finished and made current by a delta over it. Readers
 * check the delta and its base (every record of both) and that the pair
 * belongs together; at the end exactly the current delta and its base are
 * left in /dev/shm.
 *
 * The two control modes break the protocol on purpose and exit 0 only when
 * the readers notice (bad reads > 0), which shows the checks can fail:
 * inplace: the publisher rewrites a published image in place;
 * early:   readers map the next generation's file before it is published.
 * Every loop is bounded by count and time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "shm/image.h"
#include "shm/shm.h"
#include "tests/tools/shm_content.h"

#define MAX_READERS 16

enum { MODE_SAFE, MODE_INPLACE, MODE_EARLY, MODE_DELTA };

typedef struct {
	_Atomic uint64_t requests, images, bad, early_reads, refused, perm_refused, races, ready,
	    done;
} reader_stats_t;

typedef struct {
	_Atomic int stop;
	_Atomic uint64_t bad_total;
	reader_stats_t r[MAX_READERS];
} shared_t;

static char inst[64];
static int mode;
static shared_t *sh;

static double elapsed_s(uint64_t t0)
{
	return (double)(souk_now_mono_ns() - t0) / 1e9;
}

static int count_images(void)
{
	char prefix[80];
	struct dirent *de;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	if (d == NULL)
		return -1;
	snprintf(prefix, sizeof(prefix), "%s.img.", inst);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* early mode: read the next generation's file without the protocol. */
static uint64_t read_unpublished(shm_ctl_t *ctl)
{
	char name[128];
	uint64_t g = shm_ctl_generation(ctl) + 1, bad = 0;
	struct stat st;
	shm_image_t view;
	const char *why;
	void *p;
	int fd;

	snprintf(name, sizeof(name), "/%s.img.%llu", inst, (unsigned long long)g);
	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			/* structure only: the content checks decide */
			if (shm_image_check(p, (size_t)st.st_size, g, 1, &view, &why) != 0)
				bad = 1;
			else
				bad = shm_test_verify(&view, g);
			munmap(p, (size_t)st.st_size);
		}
	}
	close(fd);
	return bad;
}

/* An image and, for a delta, its base and their link. */
static uint64_t verify_pair(const shm_image_t *img, uint64_t g)
{
	const shm_image_t *base = shm_image_base(img);
	uint64_t bad = shm_test_verify(img, g);
	const void *p;
	size_t len;

	if (base == NULL)
		return bad + (mode == MODE_DELTA && g > 1 && shm_image_section(img, "t.base", &p,
									      &len) == 0);
	if (mode != MODE_DELTA)
		return bad + 1; /* no deltas in other modes */
	bad += shm_test_verify(base, shm_image_generation(base));
	if (shm_image_section(img, "t.base", &p, &len) != 0 || len != 8 ||
	    *(const uint64_t *)p != shm_image_generation(base) ||
	    shm_image_generation(base) >= g)
		bad++;
	return bad;
}

static void reader_main(int id)
{
	reader_stats_t *st = &sh->r[id];
	shm_ctl_t *ctl = NULL;
	shm_slot_t *slot = NULL;
	shm_reader_t *r = NULL;
	uint64_t last = 0, t0 = souk_now_mono_ns();

	if (shm_ctl_attach(inst, &ctl) != 0 || shm_slot_claim(ctl, &slot) != 0 ||
	    shm_reader_new(ctl, &r) != 0) {
		fprintf(stderr, "reader %d: cannot attach\n", id);
		_exit(2);
	}
	shm_reader_set_slot(r, slot);
	atomic_store(&st->ready, 1);
	while (!atomic_load(&sh->stop) && elapsed_s(t0) < 120) {
		const shm_image_t *img;
		uint64_t g, bad = 0;

		if (mode == MODE_EARLY) {
			uint64_t b = read_unpublished(ctl);
			if (b > 0) {
				atomic_fetch_add(&st->bad, b);
				atomic_fetch_add(&sh->bad_total, b);
			}
			atomic_fetch_add(&st->early_reads, 1);
		}
		if (shm_reader_acquire(r, &img) != 0) {
			sched_yield();
			continue;
		}
		g = shm_image_generation(img);
		if (g < last)
			bad++; /* went back in time */
		if (g != last)
			atomic_fetch_add(&st->images, 1);
		last = g;
		bad += verify_pair(img, g);
		sched_yield(); /* let the publisher replace and unlink it */
		bad += verify_pair(img, g);
		shm_slot_count(slot, 0, 1);
		shm_reader_release(r);
		atomic_fetch_add(&st->requests, 1);
		if (bad > 0) {
			atomic_fetch_add(&st->bad, bad);
			atomic_fetch_add(&sh->bad_total, bad);
		}
	}
	shm_reader_stats_t rs;
	shm_reader_stats(r, &rs);
	atomic_store(&st->refused, rs.refused + rs.errors);
	atomic_store(&st->perm_refused, rs.refused);
	atomic_store(&st->races, rs.unlink_races);
	shm_reader_free(&r);
	shm_slot_release(ctl, &slot);
	shm_ctl_free(&ctl);
	atomic_store(&st->done, 1);
	_exit(0);
}

static int publish_one(shm_ctl_t *ctl, uint64_t *gen)
{
	shm_builder_t *b = NULL;
	int rc = shm_builder_new(ctl, &b);

	if (rc != 0)
		return rc;
	shm_builder_set_seq(b, shm_builder_generation(b) * 10);
	if (mode == MODE_EARLY) {
		/* widen the window in which the unpublished file exists */
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	rc = shm_test_build(b);
	if (rc != 0) {
		shm_builder_free(&b);
		return rc;
	}
	return shm_builder_publish(&b, gen);
}

/* delta mode: a delta over base. */
static int publish_delta(shm_ctl_t *ctl, uint64_t base, uint64_t *gen)
{
	shm_builder_t *b = NULL;
	int rc = shm_builder_new_delta(ctl, base, &b);

	if (rc != 0)
		return rc;
	shm_builder_set_seq(b, shm_builder_generation(b) * 10);
	rc = shm_test_build(b);
	if (rc == 0)
		rc = shm_builder_add(b, "t.base", 8, &base, sizeof(base));
	if (rc != 0) {
		shm_builder_free(&b);
		return rc;
	}
	return shm_builder_publish(&b, gen);
}

/* delta mode: one step of the publisher; may start, fill and finish a new
 * base around a few deltas over the old one. */
static int delta_step(shm_ctl_t *ctl, uint64_t *base, uint64_t *gen, uint64_t *published,
		      uint64_t limit)
{
	shm_builder_t *nb = NULL;
	uint64_t nbase = 0;
	int rc;

	if (*published % 20 != 0) {
		rc = publish_delta(ctl, *base, gen);
		if (rc == 0)
			(*published)++;
		return rc;
	}
	rc = shm_builder_new_base(ctl, &nb);
	if (rc != 0)
		return rc;
	for (int k = 0; k < 5 && rc == 0 && *published < limit; k++) {
		rc = publish_delta(ctl, *base, gen); /* the old base goes on */
		if (rc == 0)
			(*published)++;
	}
	if (rc == 0)
		rc = shm_test_build(nb);
	if (rc == 0)
		rc = shm_builder_finish(&nb, &nbase);
	shm_builder_free(&nb);
	if (rc == 0)
		rc = publish_delta(ctl, nbase, gen);
	if (rc != 0) {
		if (nbase)
			shm_image_discard(ctl, nbase);
		return rc;
	}
	*base = nbase;
	(*published)++;
	return 0;
}

/* inplace mode: rewrite the records of the published image gen. */
static void mutate_inplace(uint64_t gen, uint64_t t0, double seconds)
{
	char name[128];
	struct stat st;
	shm_image_t view;
	const char *why;
	const void *rec;
	size_t rl;
	uint8_t *p;
	int fd;

	snprintf(name, sizeof(name), "/%s.img.%llu", inst, (unsigned long long)gen);
	fd = shm_open(name, O_RDWR, 0);
	if (fd < 0 || fstat(fd, &st) != 0)
		return;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return;
	if (shm_image_check(p, (size_t)st.st_size, gen, 0, &view, &why) == 0 &&
	    shm_image_section(&view, "t.rec", &rec, &rl) == 0) {
		shm_test_rec_t *recs = (shm_test_rec_t *)(p + ((const uint8_t *)rec - p));
		size_t n = rl / sizeof(*recs);
		for (uint64_t round = 1;
		     atomic_load(&sh->bad_total) == 0 && elapsed_s(t0) < seconds && round < 1000000;
		     round++) {
			for (size_t i = 0; i < n; i++) {
				shm_test_rec_t nr;
				shm_test_rec_fill(&nr, gen + round, i);
				/* field by field, as a careless writer would */
				for (int k = 0; k < 8; k++)
					((volatile uint64_t *)&recs[i])[k] = ((uint64_t *)&nr)[k];
			}
		}
	}
	munmap(p, (size_t)st.st_size);
}

static void usage(void)
{
	fprintf(stderr, "usage: shm_stress safe|delta|inplace|early [--readers N] [--gens G] "
			"[--seconds S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int readers = 3, rc, ok = 1, nimg;
	uint64_t gens = 3000, published = 0, gen = 0, t0;
	double seconds = 20;
	shm_ctl_t *ctl = NULL;
	pid_t pids[MAX_READERS];
	uint32_t rnd = 0;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "safe") == 0)
		mode = MODE_SAFE;
	else if (strcmp(argv[1], "inplace") == 0)
		mode = MODE_INPLACE;
	else if (strcmp(argv[1], "early") == 0)
		mode = MODE_EARLY;
	else if (strcmp(argv[1], "delta") == 0)
		mode = MODE_DELTA;
	else
		usage();
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--readers") == 0)
			readers = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--gens") == 0)
			gens = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else
			usage();
	}
	if (readers < 1 || readers > MAX_READERS)
		usage();
	log_init("shm_stress", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	souk_random(&rnd, sizeof(rnd));
	snprintf(inst, sizeof(inst), "souk-stress-%d-%08x", (int)getpid(), rnd);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	memset(sh, 0, sizeof(*sh));
	rc = shm_ctl_create(inst, 32, &ctl);
	if (rc != 0) {
		fprintf(stderr, "cannot create control segment: %s\n", souk_strerror(rc));
		return 2;
	}
	/* a first image so readers have something from the start */
	if (publish_one(ctl, &gen) != 0)
		return 2;
	published++;
	uint64_t base = gen;
	for (int i = 0; i < readers; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 2;
		if (pids[i] == 0)
			reader_main(i);
	}
	t0 = souk_now_mono_ns();
	for (int i = 0; i < readers; i++)
		while (!atomic_load(&sh->r[i].ready) && elapsed_s(t0) < 30)
			usleep(1000);

	t0 = souk_now_mono_ns();
	if (mode == MODE_INPLACE) {
		/* let readers settle on gen, then break the protocol */
		for (int i = 0; i < readers; i++)
			while (atomic_load(&sh->r[i].requests) == 0 && elapsed_s(t0) < seconds)
				usleep(1000);
		mutate_inplace(gen, t0, seconds);
	} else {
		while (published < gens && elapsed_s(t0) < seconds) {
			if (mode == MODE_EARLY && atomic_load(&sh->bad_total) > 0)
				break;
			if (mode == MODE_DELTA) {
				rc = delta_step(ctl, &base, &gen, &published, gens);
			} else {
				rc = publish_one(ctl, &gen);
				published += rc == 0;
			}
			if (rc != 0) {
				fprintf(stderr, "publish failed: %s\n", souk_strerror(rc));
				ok = 0;
				break;
			}
		}
	}
	double took = elapsed_s(t0);
	atomic_store(&sh->stop, 1);
	uint64_t req = 0, img = 0, bad = 0, early = 0, refused = 0, races = 0, min_img = UINT64_MAX,
		 perm_refused = 0;
	for (int i = 0; i < readers; i++) {
		int st = 0;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "reader %d failed (status %d)\n", i, st);
			ok = 0;
		}
		req += atomic_load(&sh->r[i].requests);
		img += atomic_load(&sh->r[i].images);
		bad += atomic_load(&sh->r[i].bad);
		early += atomic_load(&sh->r[i].early_reads);
		refused += atomic_load(&sh->r[i].refused);
		perm_refused += atomic_load(&sh->r[i].perm_refused);
		races += atomic_load(&sh->r[i].races);
		if (atomic_load(&sh->r[i].images) < min_img)
			min_img = atomic_load(&sh->r[i].images);
	}
	shm_ctl_stats_t s;
	shm_ctl_stats(ctl, &s);
	nimg = count_images();
	printf("mode=%s readers=%d generations=%llu seconds=%.1f requests=%llu "
	       "images_used=%llu min_images_per_reader=%llu bad_reads=%llu refused=%llu "
	       "unlink_races=%llu early_reads=%llu slots_used=%u images_left=%d\n",
	       argv[1], readers, (unsigned long long)published, took, (unsigned long long)req,
	       (unsigned long long)img, (unsigned long long)min_img, (unsigned long long)bad,
	       (unsigned long long)refused, (unsigned long long)races, (unsigned long long)early,
	       s.slots_used, nimg);
	if (s.slots_used != 0) {
		fprintf(stderr, "slots still claimed after readers exited\n");
		ok = 0;
	}
	shm_ctl_free(&ctl);
	shm_ctl_unlink(inst);
	if (count_images() != 0) {
		fprintf(stderr, "images left after shm_ctl_unlink\n");
		ok = 0;
	}
	if (mode == MODE_SAFE || mode == MODE_DELTA) {
		int want = mode == MODE_DELTA ? 2 : 1;
		if (bad != 0)
			fprintf(stderr, "bad reads under the protocol\n");
		if (min_img < 2)
			fprintf(stderr, "a reader used fewer than 2 images\n");
		if (perm_refused != 0)
			fprintf(stderr, "images refused under the protocol\n");
		if (nimg != want)
			fprintf(stderr, "expected exactly the current image%s in /dev/shm\n",
				want == 2 ? " and its base" : "");
		ok = ok && bad == 0 && perm_refused == 0 && min_img >= 2 && nimg == want && s.generation == gen &&
		     s.seq == gen * 10 && (mode != MODE_DELTA || s.base_generation == base);
	} else {
		if (bad == 0)
			fprintf(stderr, "protocol violation went unnoticed\n");
		ok = ok && bad > 0;
	}
	munmap(sh, sizeof(*sh));
	return ok ? 0 : 1;
}

#pragma once
/*
 * shm/internal.h - process-local objects shared by shm/ctl.c and shm/image.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/log.h"
#include "shm/image.h"

struct shm_ctl {
	uint64_t magic; /* SHM_CTL_OBJ_MAGIC */
	char instance[SHM_INSTANCE_MAX + 1];
	int fd;	      /* kept open: the publisher's flock lives on it */
	int writer;   /* from shm_ctl_create: may build images */
	int readonly; /* attached without write access: no slots */
	shm_ctl_hdr_t *hdr;
	shm_slot_seg_t *slots;
	size_t map_len;

	/* Shared by the readers of this process; lock taken only when the
	 * generation changed (never on the hot path). */
	pthread_mutex_t lock;
	shm_image_t *latest; /* newest validated image; holds one reference */
	uint64_t bad_gen;    /* last generation refused */
	_Atomic uint64_t mapped, refused, errors, unlink_races;
	log_ratelimit_t rl;
	int builder_active;
};
#define SHM_CTL_OBJ_MAGIC 0x6a626f2e6c746373ull

/* Drop one reference; unmaps and frees at zero. */
void shm_image_unref(shm_image_t *img);
/* Unlink every image file of the instance except generation keep (0 = all);
 * returns how many were removed and the highest generation seen. */
int shm_images_unlink(const char *instance, uint64_t keep, uint64_t *max_gen);

/* SPDX-License-Identifier: Apache-2.0 */
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
	shm_image_t *latest_base; /* base of the newest delta (one reference) */
	uint64_t bad_gen;    /* last generation refused */
	_Atomic uint64_t mapped, refused, errors, unlink_races;
	log_ratelimit_t rl;
	int builder_active;	 /* a publication builder (full or delta) exists */
	int base_active;	 /* a base builder (shm_builder_new_base) exists */
	uint64_t gen_hi;	 /* highest generation handed to any builder */
	uint64_t pub_base;	 /* writer: base of the current image (itself when
				  * full; 0 = unknown) */
	shm_view_def_t views[SHM_VIEWS_MAX]; /* under lock, fixed once images are mapped */
	uint32_t nviews;
};
#define SHM_CTL_OBJ_MAGIC 0x6a626f2e6c746373ull

/* Bind ctl's views on img (ctl->lock held, img not yet shared): 0, or
 * SOUK_ENOMEM (nothing bound). A bind's own error is kept per view. */
int shm_image_bind_views(shm_ctl_t *ctl, shm_image_t *img);
/* Free what shm_image_bind_views allocated. */
void shm_image_free_views(shm_image_t *img);
/* Drop one reference; unmaps and frees at zero. */
void shm_image_unref(shm_image_t *img);
/* Unlink every image file of the instance except generations keep and keep2
 * (0 = none); returns how many were removed and the highest generation seen. */
int shm_images_unlink(const char *instance, uint64_t keep, uint64_t keep2, uint64_t *max_gen);
/* Read the header of image gen of the instance (no validation beyond magic
 * and generation); 0, SOUK_ENOENT, SOUK_ECORRUPT or -errno. */
int shm_image_peek(const char *instance, uint64_t gen, shm_img_hdr_t *out);

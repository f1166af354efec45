/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shm/view.c - views bound once per image for the readers of a shm_ctl_t
 * (see shm/shm.h). image_map (shm/image.c) binds them under the ctl's mutex
 * before the image is shared with other threads, so shm_image_view reads
 * plain fields that the mutex published.
 */
#include <inttypes.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "shm/internal.h"

static size_t view_stride(size_t size)
{
	size_t a = alignof(max_align_t);
	return (size + a - 1) & ~(a - 1);
}

int shm_ctl_add_view(shm_ctl_t *ctl, const shm_view_def_t *def, unsigned *slot)
{
	int rc = 0;

	if (ctl == NULL || def == NULL || def->name == NULL || def->bind == NULL ||
	    def->size == 0 || def->size > SHM_VIEW_SIZE_MAX || slot == NULL)
		return SOUK_EINVAL;
	pthread_mutex_lock(&ctl->lock);
	if (atomic_load_explicit(&ctl->mapped, memory_order_relaxed) != 0) {
		rc = SOUK_EBUSY; /* images bound without it would never have it */
	} else if (ctl->nviews >= SHM_VIEWS_MAX) {
		rc = SOUK_ETOOBIG;
	} else {
		ctl->views[ctl->nviews] = *def;
		*slot = ctl->nviews++;
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

int shm_image_bind_views(shm_ctl_t *ctl, shm_image_t *img)
{
	size_t total = 0;
	uint8_t *mem;

	if (ctl->nviews == 0)
		return 0;
	for (uint32_t i = 0; i < ctl->nviews; i++)
		total += view_stride(ctl->views[i].size);
	mem = calloc(1, total);
	if (mem == NULL)
		return SOUK_ENOMEM;
	img->view_mem = mem;
	for (uint32_t i = 0; i < ctl->nviews; i++) {
		const shm_view_def_t *d = &ctl->views[i];
		int rc = d->bind(img, mem);
		if (rc != 0) {
			memset(mem, 0, d->size); /* nothing half-bound stays */
			if (rc != SOUK_ENOENT)
				log_shm_warn("view '%s' of image '%s' generation %" PRIu64
					     " is unusable (%s)",
					     d->name, ctl->instance, shm_image_generation(img),
					     souk_strerror(rc));
		}
		img->view_rc[i] = rc;
		img->view[i] = mem;
		mem += view_stride(d->size);
	}
	img->nviews = ctl->nviews;
	return 0;
}

void shm_image_free_views(shm_image_t *img)
{
	free(img->view_mem);
	img->view_mem = NULL;
	img->nviews = 0;
}

int shm_image_view(const shm_image_t *img, unsigned slot, const void **view)
{
	*view = NULL;
	if (slot >= img->nviews)
		return SOUK_EINVAL;
	if (img->view_rc[slot] != 0)
		return img->view_rc[slot];
	*view = img->view[slot];
	return 0;
}

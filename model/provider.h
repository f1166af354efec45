/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * model/provider.h - section providers: the domains that put hot data into
 * the published image (catalog, settings; later prices, availability,
 * search, recommendations, risk models...).
 *
 * The publisher (daemon/publisher.c) follows the change log and drives every
 * provider the same way; a provider keeps its own in-memory state and
 * writes its own sections, named with its prefix ("cat.", "set.").
 *
 *   load        once at start, in the read transaction the publisher's
 *               first sequence was read in
 *   apply       an entity of a kind the provider follows changed (each id
 *               once per catch-up, in the read transaction that read the
 *               change log, so the state is exactly as of its sequence)
 *   snapshot    the state a new base is built from, taken on the loop
 *               thread; build_base may then run on another thread while
 *               apply goes on (what the snapshot points to must stay valid
 *               until snapshot_free)
 *   build_delta the sections of a delta over the current base: what changed
 *               since that base, or, with since_snapshot, since the last
 *               snapshot (the delta that makes a new base current). Nothing
 *               at all when nothing changed: readers then take the base's
 *               sections (shm_image_section)
 *   rebased     the base built from the last snapshot became current (ok):
 *               what changed since the snapshot is now what changed since
 *               the base; or it was dropped (!ok)
 *
 * A provider that did not change since the previous image is not built
 * again for the next delta over the same base: the publisher copies its
 * sections from the previous image (shm_builder_copy), so a settings change
 * does not re-render the catalog and a price change will not rebuild the
 * search index.
 *
 * Everything but build_base runs on soukd's loop thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"
#include "store/store.h"

#define PROVIDER_UNCHANGED 1 /* apply: nothing of the state changed */

/* What a provider holds, for base rebuild decisions and statistics. */
typedef struct {
	uint64_t items;	      /* entities in the state (archived included) */
	uint64_t served;      /* of which readers are served */
	uint64_t delta_items; /* entities changed since the base */
	uint64_t heap_bytes;  /* heap held by the state (approximate) */
	uint64_t errors;      /* entity versions it could not take (kept the last
			       * good state) */
} provider_weight_t;

typedef struct provider_ops {
	const char *name;	  /* "catalog": logs, statistics */
	const char *prefix;	  /* of every section it writes: "cat." */
	const char *const *kinds; /* kinds it follows, NULL-terminated; NULL = none
				   * (changed by its owner: publisher_provider_changed) */
	int (*load)(void *st, store_read_t *rt);
	/* an unrenderable version keeps the last good state (logged, counted
	 * in weight.errors); the entity still goes into the next delta.
	 * PROVIDER_UNCHANGED: the change left the provider's state as it was
	 * (a product write that moved none of the prices' histories): its
	 * sections are copied into the next image, not built */
	int (*apply)(void *st, store_read_t *rt, const char *kind, const store_id_t *id);
	int (*snapshot)(void *st, void **snap);
	int (*build_base)(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes);
	void (*snapshot_free)(void *st, void *snap);
	int (*build_delta)(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			   size_t *bytes);
	void (*rebased)(void *st, bool ok);
	void (*weight)(const void *st, provider_weight_t *w);
	/* optional: an image holding the state is now current (after the
	 * publication point), e.g. to announce it in the control segment */
	void (*published)(void *st, shm_ctl_t *ctl);
	void (*free)(void *st);
	/* its delta sections are its whole state (rebuilt or copied whole,
	 * as settings, channels, categories and prices are): a new base would
	 * not make them smaller, so their bytes do not count toward the
	 * "delta grew too large" rebuild */
	bool whole;
} provider_ops_t;

/* A provider instance: its operations and its state (owned by whoever
 * holds the instance; the publisher frees what it is given). */
typedef struct {
	const provider_ops_t *ops;
	void *st;
} provider_t;

/* Does provider ops follow kind? */
bool provider_follows(const provider_ops_t *ops, const char *kind);

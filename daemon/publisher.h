/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/publisher.h - soukd's image publisher, driving the section providers.
 *
 * Runs inside soukd's libevent loop. At start it renders every product from
 * LMDB (store_scan) into an in-memory table and publishes a first image; after
 * that it follows the change log: workers send the 8-byte little-endian
 * change sequence of each commit as a datagram to <runtime_dir>/publish.sock,
 * the publisher waits a short coalescing delay, reads store_changes() after the
 * last sequence it applied, re-renders only the changed products and
 * publishes a new image. A poll timer catches anything whose datagram was
 * lost (or sent while soukd was down).
 *
 * Images (shm/image.h, "Base and delta images"): the first is a full image,
 * the base. Each later publish is a delta over the base holding every
 * product changed since it, so its cost follows the changes, not the
 * catalog. When the delta holds more than base_rebuild_pct % of the products
 * (at least base_rebuild_min) or its catalog sections pass base_rebuild_pct %
 * of the base's (at least base_rebuild_bytes), a new base is built on a
 * worker thread from a snapshot of the rendered table while deltas over
 * the old base go on being published from the loop; when it is done, a
 * delta over the new base with the changes made meanwhile makes it current
 * and the old pair is unlinked.
 * Rendered products are immutable; those replaced during a build are freed
 * after it (the snapshot may point to them).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/provider.h"
#include "shm/shm.h"
#include "store/store.h"

struct event_base;
typedef struct publisher publisher_t;

#define PUBLISHER_PROVIDERS_MAX 16

typedef struct {
	const char *runtime_dir;	/* socket at <runtime_dir>/publish.sock */
	const char *socket_path;	/* overrides runtime_dir when set; NULL and
					 * no runtime_dir = no socket (poll only) */
	uint32_t coalesce_ms;		/* wait after a datagram; 0 = the next loop turn
					 * (no opts at all = 2 ms) */
	uint32_t poll_ms;		/* change-log poll; 0 = 1000 ms */
	uint32_t max_busy_pct;		/* share of a core publishing may take under a
					 * stream of changes: after an image that
					 * took T the next waits T x (100 - N) / N,
					 * and a new base as long after the last
					 * (publisher_rebuild_wait_us); 0 or 100 =
					 * no cap */
	const char *default_locale;	/* NULL = "en" (the default catalog provider) */
	/* The section providers (model/provider.h), given to the publisher
	 * (freed by it, also when publisher_new fails). None = what every
	 * mall has: the catalog provider, with default_locale, the
	 * channels' (without a default channel), the prices', the
	 * categories' and the collections'. */
	const provider_t *providers;
	size_t nproviders;
	uint32_t base_rebuild_pct;     /* 0 = 5 */
	uint32_t base_rebuild_min;     /* 0 = 256 products; also the smallest delta
					* folded into a new base when quiet */
	uint64_t base_rebuild_bytes;   /* 0 = 4 MiB: the least delta catalog
					* sections that start a new base */
	uint64_t base_rebuild_cost_us; /* a new base once the deltas over the
					* current one have cost as much CPU time
					* as it did, and at least this much;
					* 0 = 20 ms */
} publisher_opts_t;

typedef struct {
	uint64_t publishes;	/* images published */
	uint64_t failures;	/* failed builds or publishes */
	uint64_t datagrams;	/* change notifications received */
	uint64_t poll_catchups; /* changes found by the poll, not a datagram */
	uint64_t render_errors; /* products whose document did not render */
	uint64_t last_generation;
	uint64_t last_seq;	   /* change-log sequence of the last image */
	uint64_t last_publish_ms;  /* wall clock of the last image */
	uint64_t last_duration_us; /* build + publish of the last image */
	uint64_t max_duration_us;
	uint64_t total_duration_us;
	uint64_t last_changed;	     /* products re-rendered for the last image */
	uint64_t last_lag_ms;	     /* newest change's commit -> its image */
	uint64_t catalog_bytes;	     /* catalog sections of the last image (a delta's
				      * own when it is one) */
	uint64_t base_generation;    /* base of the last image */
	uint64_t base_catalog_bytes; /* catalog sections of that base */
	uint64_t delta_products;     /* products in the last image's delta */
	uint64_t base_rebuilds;	     /* new bases published */
	uint64_t base_rebuilds_started;
	uint64_t base_rebuilds_size; /* started because the delta grew too large */
	uint64_t base_rebuilds_cost; /* ... because the deltas over the base had
				      * cost as much CPU time as the base */
	uint64_t base_rebuilds_idle; /* ... because no change came for a poll
				      * interval and the delta had at least
				      * base_rebuild_min products */
	uint64_t base_rebuild_failures;
	uint64_t last_base_build_us; /* worker thread: snapshot -> finished base */
	uint64_t products;	     /* in the table, archived included */
	uint64_t served;	     /* not archived */
	uint64_t table_bytes;	     /* heap held by rendered products (approx.) */
} publisher_stats_t;

/* Full build and first publish happen here (an error is returned when they
 * fail; the loop is not needed for that). */
int publisher_new(struct event_base *base, store_t *store, shm_ctl_t *ctl,
		  const publisher_opts_t *opts, publisher_t **out);
void publisher_free(publisher_t **p);

/* One provider's figures (i from 0; SOUK_ENOENT past the last). */
typedef struct {
	const char *name;
	uint64_t builds;      /* its sections built (bases and deltas) */
	uint64_t copies;      /* ... copied unchanged from the previous image */
	uint64_t bytes;	      /* its sections in the last image (a delta's own) */
	uint64_t base_bytes;  /* ... in the current base */
	uint64_t items;	      /* entities it holds */
	uint64_t delta_items; /* ... changed since the base */
} publisher_provider_stats_t;
int publisher_provider_stats(const publisher_t *p, size_t i, publisher_provider_stats_t *out);
/* The provider called name (NULL when there is none): its owner updates its
 * state on the loop thread, then calls publisher_provider_changed. */
provider_t *publisher_provider(publisher_t *p, const char *name);
/* Provider name changed outside the change log (e.g. settings on a reload):
 * publish it after the coalescing delay. SOUK_ENOENT for an unknown name. */
int publisher_provider_changed(publisher_t *p, const char *name);

/* Apply pending changes and publish now, even when nothing changed
 * (soukctl publish). */
int publisher_publish_now(publisher_t *p);
/* Apply pending changes and publish when there were any (what the timers do). */
int publisher_catch_up(publisher_t *p);
/* Start building a new base now (normally automatic); SOUK_EBUSY when one is
 * being built. Completion is handled by the event loop. */
int publisher_rebuild_base(publisher_t *p);
/* Is a base being built? */
bool publisher_rebuilding(const publisher_t *p);
void publisher_stats(const publisher_t *p, publisher_stats_t *out);
/* The wait before publishing announced changes: coalesce_ms, or longer
 * while since_us (time since the last image was done) is below that image's
 * cost last_us x (100 - max_busy_pct) / max_busy_pct, and never longer than
 * 1 s for that reason. */
uint64_t publisher_delay_us(uint32_t coalesce_ms, uint32_t max_busy_pct, uint64_t last_us,
			    uint64_t since_us);
/* How much longer a new base for the delta's size or the deltas' cost waits
 * (0 = it may start): since_us after the current base was published, it
 * waits until that base's CPU time base_cost_us x (100 - max_busy_pct) /
 * max_busy_pct has passed, never longer than 30 s, so that under a stream of
 * writes bases, like deltas, keep to about max_busy_pct of a core. No wait
 * without a cap (0 or 100). */
uint64_t publisher_rebuild_wait_us(uint32_t max_busy_pct, uint64_t base_cost_us, uint64_t since_us);
/* Apply new timing (configuration reload); poll_ms 0 = 1000 ms; max_busy_pct
 * as in publisher_opts_t. */
int publisher_set_timing(publisher_t *p, uint32_t coalesce_ms, uint32_t poll_ms,
			 uint32_t max_busy_pct);
/* The socket path in use ("" when none). */
const char *publisher_socket_path(const publisher_t *p);

/* ---- worker side ----------------------------------------------------------
 * A non-blocking datagram socket for notifications; send never blocks and a
 * failure is harmless (the poll catches up), so callers may ignore it. */
int publisher_notify_open(void);
int publisher_notify(int fd, const char *socket_path, uint64_t seq);

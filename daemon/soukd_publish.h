/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/soukd_publish.h - the catalog publisher inside soukd.
 *
 * Opens the LMDB store (paths.state_dir) and creates (or takes over) the
 * shared-memory control segment of the instance, builds and publishes the
 * first image, then follows the change log from soukd's event loop
 * (daemon/publisher.h): wake-ups on <paths.runtime_dir>/publish.sock,
 * publish.coalesce, publish.poll_interval and publish.max_busy from the
 * configuration (reloadable). Adds the control command `publish` and a "publisher" object
 * to `status`. A clean stop removes the instance's shared memory (workers
 * keep serving from their mappings and re-attach to the next soukd's
 * segment, see shm_ctl_replaced()).
 */
#include "daemon/soukd.h"
#include "store/store.h"

typedef struct soukd_publish soukd_publish_t;

/* Call after soukd_start() (its control socket is the single-instance
 * guard), then soukd_publish_attach(); on error everything opened is closed
 * again. The full build of the first image runs here, before READY=1 (sent
 * by soukd_run()); meanwhile systemd's start timeout is extended with
 * EXTEND_TIMEOUT_USEC (notify_startup_begin()). */
int soukd_publish_start(soukd_t *d, soukd_publish_t **out);
/* After soukd_start(): the control command `publish`. */
int soukd_publish_attach(soukd_publish_t *sp);
/* Call after soukd_run() returned, before soukd_free(). */
void soukd_publish_free(soukd_publish_t **sp);

/* The store soukd opened (one environment per process); NULL before start. */
store_t *soukd_publish_store(soukd_publish_t *sp);

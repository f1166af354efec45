/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/jobs.h - soukd's housekeeping on timers.
 *
 *   audit checkpoints   every audit.checkpoint_interval, when
 *                       audit.signing_key_file is set and present: sign the
 *                       current tree head (store_audit_checkpoint); skipped
 *                       while the log did not grow
 *   idempotency keys    every 10 minutes after the last run ended (or
 *                       sooner for short TTLs): forget keys older than
 *                       fcgi.idempotency_ttl. Runs on a thread of its own,
 *                       never on the event loop, and the store deletes in
 *                       chunks with the writer lock released in between
 *                       (store_idem_expire_opts), so neither the watchdog
 *                       nor other writers wait for a large expiry.
 *
 * Both use the configuration in effect at each run, so a reload applies.
 * soukd_jobs_free() stops the expiry between two chunks (the next start
 * goes on where it stopped: the oldest keys first).
 */
#include "daemon/soukd.h"
#include "store/store.h"

typedef struct soukd_jobs soukd_jobs_t;

int soukd_jobs_start(soukd_t *d, store_t *store, soukd_jobs_t **out);
void soukd_jobs_free(soukd_jobs_t **j);
/* Run both jobs once now and wait until both are done (tests). */
void soukd_jobs_run_now(soukd_jobs_t *j);

#pragma once
/*
 * daemon/jobs.h - soukd's housekeeping on timers.
 *
 *   audit checkpoints   every audit.checkpoint_interval, when
 *                       audit.signing_key_file is set and present: sign the
 *                       current tree head (store_audit_checkpoint); skipped
 *                       while the log did not grow
 *   idempotency keys    every 10 minutes (or sooner for short TTLs): forget
 *                       keys older than fcgi.idempotency_ttl
 *
 * Both read the configuration in effect at each run, so a reload applies.
 */
#include "daemon/soukd.h"
#include "store/store.h"

typedef struct soukd_jobs soukd_jobs_t;

int soukd_jobs_start(soukd_t *d, store_t *store, soukd_jobs_t **out);
void soukd_jobs_free(soukd_jobs_t **j);
/* Run both jobs once now (tests, and the first run after start). */
void soukd_jobs_run_now(soukd_jobs_t *j);

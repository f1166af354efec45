/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/metrics.h"

#include <inttypes.h>

#include "common/util.h"

const uint64_t metrics_bucket_us[MET_NBUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
};

void metrics_request(shm_slot_t *slot, route_id_t route, int status, uint64_t elapsed_us)
{
	if (slot == NULL)
		return;
	int cls = status >= 500 ? MET_CLASS_5XX : status >= 400 ? MET_CLASS_4XX : MET_CLASS_2XX;
	if ((unsigned)route >= MET_ROUTES)
		route = ROUTE_NONE;
	shm_slot_count(slot, MET_REQ(route, cls), 1);
	for (unsigned i = 0; i < MET_NBUCKETS; i++) {
		if (elapsed_us <= metrics_bucket_us[i]) {
			shm_slot_count(slot, MET_LAT_BUCKET(i), 1);
			break;
		}
	}
	shm_slot_count(slot, MET_LAT_SUM_US, elapsed_us);
	shm_slot_count(slot, MET_LAT_COUNT, 1);
}

static void gauge(sbuf_t *b, const char *name, const char *help, const char *type, uint64_t v)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type,
		    name, v);
}

void metrics_render(sbuf_t *b, const shm_ctl_t *ctl, store_t *store, const api_seg_stats_t *seg)
{
	static const char *const cls[MET_NCLASS] = { "2xx", "4xx", "5xx" };
	if (ctl != NULL) {
		sbuf_adds(b, "# HELP souk_http_requests_total Requests answered, by route and "
			     "status class.\n# TYPE souk_http_requests_total counter\n");
		for (unsigned r = 0; r < MET_ROUTES; r++)
			for (unsigned c = 0; c < MET_NCLASS; c++)
				sbuf_printf(b,
					    "souk_http_requests_total{route=\"%s\",code=\"%s\"} "
					    "%" PRIu64 "\n",
					    router_name((route_id_t)r), cls[c],
					    shm_ctl_counter_sum(ctl, MET_REQ(r, c)));
		sbuf_adds(b, "# HELP souk_http_request_duration_seconds Time from request to "
			     "response.\n# TYPE souk_http_request_duration_seconds histogram\n");
		uint64_t cum = 0;
		for (unsigned i = 0; i < MET_NBUCKETS; i++) {
			cum += shm_ctl_counter_sum(ctl, MET_LAT_BUCKET(i));
			sbuf_printf(b,
				    "souk_http_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64
				    "\n",
				    (double)metrics_bucket_us[i] / 1e6, cum);
		}
		uint64_t count = shm_ctl_counter_sum(ctl, MET_LAT_COUNT);
		sbuf_printf(b, "souk_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			    count);
		sbuf_printf(b, "souk_http_request_duration_seconds_sum %.6f\n",
			    (double)shm_ctl_counter_sum(ctl, MET_LAT_SUM_US) / 1e6);
		sbuf_printf(b, "souk_http_request_duration_seconds_count %" PRIu64 "\n", count);
		gauge(b, "souk_commit_batches_total", "Group-commit write transactions.", "counter",
		      shm_ctl_counter_sum(ctl, MET_COMMIT_BATCHES));
		gauge(b, "souk_commit_mutations_total", "Mutations committed in those batches.",
		      "counter", shm_ctl_counter_sum(ctl, MET_COMMIT_MUTATIONS));
		gauge(b, "souk_commit_failures_total", "Batches whose commit failed.", "counter",
		      shm_ctl_counter_sum(ctl, MET_COMMIT_FAILURES));
		gauge(b, "souk_publish_notify_failures_total",
		      "Change notifications soukd did not receive (it catches up by polling).",
		      "counter", shm_ctl_counter_sum(ctl, MET_NOTIFY_FAILURES));
		gauge(b, "souk_min_seq_timeouts_total",
		      "Reads answered 503 because no image included Souk-Min-Seq in time.",
		      "counter", shm_ctl_counter_sum(ctl, MET_MIN_SEQ_TIMEOUTS));
		gauge(b, "souk_auth_failures_total",
		      "Admin requests refused 401 (no bearer token, or not the admin secret).",
		      "counter", shm_ctl_counter_sum(ctl, MET_AUTH_FAILURES));
		gauge(b, "souk_min_seq_busy_total",
		      "Reads answered 503 at once because enough threads were waiting for "
		      "Souk-Min-Seq.",
		      "counter", shm_ctl_counter_sum(ctl, MET_MIN_SEQ_BUSY));

		shm_ctl_stats_t st;
		shm_ctl_stats(ctl, &st);
		uint64_t now = souk_now_real_ms();
		gauge(b, "souk_image_generation", "Generation of the current image.", "gauge",
		      st.generation);
		gauge(b, "souk_image_seq", "Change-log sequence included in the current image.",
		      "gauge", st.seq);
		gauge(b, "souk_image_bytes", "Size of the current image.", "gauge", st.image_size);
		sbuf_printf(b,
			    "# HELP souk_image_age_seconds Time since the last publish.\n"
			    "# TYPE souk_image_age_seconds gauge\nsouk_image_age_seconds %.3f\n",
			    st.last_publish_ms && now > st.last_publish_ms
				    ? (double)(now - st.last_publish_ms) / 1e3
				    : 0.0);
		gauge(b, "souk_publish_total", "Images published since soukd created the segment.",
		      "counter", st.publish_count);
		sbuf_printf(b,
			    "# HELP souk_publish_last_duration_seconds Build and publish time of "
			    "the last image.\n# TYPE souk_publish_last_duration_seconds gauge\n"
			    "souk_publish_last_duration_seconds %.6f\n",
			    (double)st.last_publish_ns / 1e9);
		gauge(b, "souk_workers", "Worker processes holding a slot.", "gauge", st.slots_used);
		gauge(b, "souk_publish_render_failures_total",
		      "Product versions soukd could not render (the last good rendering is "
		      "served).",
		      "counter", st.render_failures);
	}
	if (seg != NULL) {
		/* this process's own figures, not summed over the workers */
		gauge(b, "souk_fcgi_segment_removed",
		      "1 while the control segment this worker reads was removed (soukd stopped "
		      "cleanly) and no new one is attached.",
		      "gauge", seg->removed ? 1 : 0);
		gauge(b, "souk_fcgi_segment_reattach_total",
		      "Moves of this worker to a control segment soukd re-created.", "counter",
		      seg->reattaches);
		gauge(b, "souk_fcgi_segment_attach_failures_total",
		      "Failed attempts of this worker to attach the control segment.", "counter",
		      seg->attach_failures);
		gauge(b, "souk_fcgi_segments_retired",
		      "Replaced control segments this worker still maps (held by idle threads).",
		      "gauge", seg->retired);
	}
	store_info_t si;
	if (store != NULL && store_info(store, &si) == 0) {
		gauge(b, "souk_store_map_bytes", "LMDB map size.", "gauge", si.map_size);
		gauge(b, "souk_store_used_bytes", "LMDB bytes in use.", "gauge", si.used_bytes);
		gauge(b, "souk_store_readers", "LMDB reader slots in use.", "gauge", si.readers_used);
		gauge(b, "souk_store_readers_max", "LMDB reader slots.", "gauge", si.max_readers);
		gauge(b, "souk_store_last_seq", "Last committed change-log sequence.", "gauge",
		      si.last_seq);
	}
}

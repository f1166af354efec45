/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_ops.c - soukctl's operations commands: status, reload,
 * publish, stats (online: soukd's control socket and shared memory) and
 * check-config (offline).
 */
#include "daemon/ctl_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "daemon/ctl_client.h"
#include "daemon/ctl_print.h"
#include "daemon/ctl_table.h"
#include "shm/shm.h"
#include "store/store.h"

const char *(*ctl_counter_name)(unsigned index) = NULL;

/* ---- facts -------------------------------------------------------------- */

/* Start time (/proc/<pid>/stat field 22) of a process; 0 when unreadable. */
static uint64_t proc_start_time(uint32_t pid)
{
	char state;
	uint64_t start;
	return souk_proc_stat(pid, &state, &start) == 0 ? start : 0;
}

/* Is the process that claimed a slot still the one running under its pid? */
static bool slot_alive(const shm_slot_info_t *si)
{
	if (si->pid == 0 || (kill((pid_t)si->pid, 0) != 0 && errno == ESRCH))
		return false;
	if (si->start_time != 0) {
		uint64_t now = proc_start_time(si->pid);
		if (now != 0 && now != si->start_time)
			return false; /* pid reused by another process */
	}
	return true;
}

static int attach(const char *instance, json_t *out, shm_ctl_t **ctl)
{
	int rc = shm_ctl_attach(instance, ctl);
	json_object_set_new(out, "instance", json_string(instance));
	json_object_set_new(out, "attached", json_boolean(rc == 0));
	if (rc != 0)
		json_object_set_new(
		    out, "error",
		    json_string(rc == SOUK_ENOENT
				    ? "no shared memory for this instance; soukd is not running "
				      "or has not published yet"
				    : souk_strerror(rc)));
	return rc;
}

/* Workers of live slots, as an array; *stale = claimed slots of dead processes. */
static json_t *workers_json(const shm_ctl_t *ctl, uint32_t nslots, unsigned *stale)
{
	json_t *a = json_array();
	*stale = 0;
	for (uint32_t i = 0; a != NULL && i < nslots; i++) {
		shm_slot_info_t si;
		if (shm_ctl_slot_info(ctl, i, &si) != 0)
			continue;
		if (!slot_alive(&si)) {
			(*stale)++;
			continue;
		}
		json_t *w = json_object();
		json_object_set_new(w, "slot", json_integer(i));
		json_object_set_new(w, "pid", json_integer(si.pid));
		json_object_set_new(w, "generation", json_integer((json_int_t)si.generation));
		json_array_append_new(a, w);
	}
	return a;
}

/* Each change-log consumer soukd runs: how far it has processed the log and
 * how far behind the last committed sequence soukd saw it is. */
static json_t *consumers_json(const shm_ctl_t *ctl)
{
	shm_consumer_info_t info[SHM_CONSUMERS_MAX];
	size_t n = 0;
	uint64_t log_seq = 0;
	json_t *a = json_array();
	shm_ctl_consumers(ctl, info, SHM_CONSUMERS_MAX, &n, &log_seq);
	for (size_t i = 0; a != NULL && i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(info[i].name));
		json_object_set_new(o, "cursor", json_integer((json_int_t)info[i].cursor));
		json_object_set_new(o, "lag", json_integer((json_int_t)(
						  log_seq > info[i].cursor ? log_seq - info[i].cursor : 0)));
		json_array_append_new(a, o);
	}
	return a;
}

static int durable_cursor_cb(const char *name, uint64_t seq, void *arg)
{
	return json_object_set_new(arg, name, json_integer((json_int_t)seq));
}

int ctl_facts_shm(const char *instance, json_t *out)
{
	shm_ctl_t *ctl = NULL;
	shm_ctl_stats_t st;
	unsigned stale = 0;
	int rc = attach(instance, out, &ctl);

	if (rc != 0)
		return rc;
	shm_ctl_stats(ctl, &st);
	uint64_t now = souk_now_real_ms();
	json_object_set_new(out, "generation", json_integer((json_int_t)st.generation));
	json_object_set_new(out, "seq", json_integer((json_int_t)st.seq));
	json_object_set_new(out, "image_size", json_integer((json_int_t)st.image_size));
	if (st.generation > 0 && st.last_publish_ms > 0)
		json_object_set_new(
		    out, "image_age_ms",
		    json_integer(
			(json_int_t)(now > st.last_publish_ms ? now - st.last_publish_ms : 0)));
	json_object_set_new(out, "publish_count", json_integer((json_int_t)st.publish_count));
	json_object_set_new(out, "last_publish_at_ms",
			    json_integer((json_int_t)st.last_publish_ms));
	json_object_set_new(out, "last_publish_duration_us",
			    json_integer((json_int_t)(st.last_publish_ns / 1000)));
	json_object_set_new(out, "publisher_pid", json_integer((json_int_t)st.publisher_pid));
	json_object_set_new(out, "slots", json_integer(st.nslots));
	json_object_set_new(out, "slots_used", json_integer(st.slots_used));
	json_t *w = workers_json(ctl, st.nslots, &stale);
	json_object_set_new(out, "workers_live", json_integer((json_int_t)json_array_size(w)));
	json_object_set_new(out, "slots_stale", json_integer(stale));
	json_object_set_new(out, "workers", w);
	json_object_set_new(out, "consumers", consumers_json(ctl));
	shm_ctl_free(&ctl);
	return 0;
}

int ctl_facts_store(const char *dir, json_t *out)
{
	store_opts_t o = {.read_only = true, .max_readers = 126};
	store_t *s = NULL;
	store_info_t info;
	int rc;

	json_object_set_new(out, "path", json_string(dir));
	rc = store_open(dir, &o, &s);
	if (rc == 0)
		rc = store_info(s, &info);
	json_object_set_new(out, "open", json_boolean(rc == 0));
	if (rc != 0) {
		json_object_set_new(out, "error", json_string(souk_strerror(rc)));
		store_close(&s);
		return rc;
	}
	json_object_set_new(out, "map_size", json_integer((json_int_t)info.map_size));
	json_object_set_new(out, "used_bytes", json_integer((json_int_t)info.used_bytes));
	json_object_set_new(out, "readers_used", json_integer(info.readers_used));
	json_object_set_new(out, "max_readers", json_integer(info.max_readers));
	json_object_set_new(out, "last_seq", json_integer((json_int_t)info.last_seq));
	/* the cursors as recorded in LMDB (soukd records the publisher's at
	 * most once a second; the live one is under shm.consumers) */
	json_t *cur = json_object();
	if (cur && store_consumer_list(s, durable_cursor_cb, cur) == 0)
		json_object_set_new(out, "consumer_cursors", cur);
	else
		json_decref(cur);
	store_close(&s);
	return 0;
}

int ctl_facts_counters(const char *instance, json_t *out)
{
	shm_ctl_t *ctl = NULL;
	shm_ctl_stats_t st;
	unsigned stale = 0;
	int rc = attach(instance, out, &ctl);

	if (rc != 0)
		return rc;
	shm_ctl_stats(ctl, &st);
	json_t *w = workers_json(ctl, st.nslots, &stale);
	json_object_set_new(out, "workers_live", json_integer((json_int_t)json_array_size(w)));
	json_decref(w);
	json_t *counters = json_object();
	for (unsigned i = 0; counters != NULL && i < SHM_SLOT_COUNTERS; i++) {
		uint64_t v = shm_ctl_counter_sum(ctl, i);
		const char *name = ctl_counter_name ? ctl_counter_name(i) : NULL;
		char key[32];
		if (v == 0)
			continue;
		if (name == NULL || *name == '\0') {
			snprintf(key, sizeof(key), "%u", i);
			name = key;
		}
		json_object_set_new(counters, name, json_integer((json_int_t)v));
	}
	json_object_set_new(out, "counters", counters);
	shm_ctl_free(&ctl);
	return 0;
}

/* ---- commands ------------------------------------------------------------- */

static int no_args(int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "soukctl, '%s' takes no arguments (got '%s')\n", argv[-1], argv[0]);
		return CTL_USAGE;
	}
	return CTL_OK;
}

/* The file soukctl read has errors: say so once (online commands go on). */
static void warn_config(const ctl_ctx_t *c)
{
	if (c->cfg_errors == NULL)
		return;
	cfg_errors_print(c->cfg_errors, stderr);
	fprintf(
	    stderr,
	    "soukctl, warning: '%s' has errors; using the paths it gives where they are valid\n",
	    c->config_file);
}

/* Print the command's result object (plain mode) or merge it (JSON). */
static void emit(ctl_ctx_t *c, json_t *obj)
{
	if (c->json)
		json_object_update(c->out, obj);
	else
		ctl_print_flat(stdout, NULL, obj);
}

static void unreachable(ctl_ctx_t *c, int rc, json_t *res)
{
	if (ctl_client_down(rc))
		fprintf(stderr, "soukctl, soukd is not running (%s at '%s')\n",
			ctl_client_strerror(rc), c->control_socket);
	else
		fprintf(stderr, "soukctl, cannot reach soukd at '%s' (%s)\n", c->control_socket,
			ctl_client_strerror(rc));
	json_object_set_new(res, "control_socket", json_string(c->control_socket));
	json_object_set_new(res, "error", json_string(ctl_client_strerror(rc)));
}

static int cmd_status(ctl_ctx_t *c, int argc, char **argv)
{
	json_t *res, *sd, *shm, *st, *reply = NULL;
	int rc, bad = 0; /* a field that could not be added (out of memory) */

	if ((rc = no_args(argc, argv)) != CTL_OK)
		return rc;
	warn_config(c);
	res = json_object();
	sd = json_object();
	shm = json_object();
	st = json_object();
	rc = ctl_client_call(c->control_socket, "status", c->timeout_ms, &reply);
	bool running = rc == 0 && json_is_true(json_object_get(reply, "ok"));
	bad |= json_object_set_new(sd, "running", json_boolean(running));
	bad |= json_object_set_new(sd, "state",
				   json_string(running			       ? "running"
					       : rc == 0		       ? "refused"
					       : ctl_client_down(rc)	       ? "not running"
					       : rc == -EACCES || rc == -EPERM ? "unreachable"
									       : "not answering"));
	if (running) {
		json_object_del(reply, "ok");
		bad |= json_object_update(sd, reply);
	} else if (rc == 0) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "soukctl, soukd refused 'status' (%s)\n",
			e ? e : "no reason given");
		bad |= json_object_set_new(sd, "error", json_string(e ? e : "status refused"));
	} else {
		unreachable(c, rc, sd);
	}
	json_decref(reply);
	ctl_facts_shm(c->instance, shm);
	ctl_facts_store(c->data_dir, st);
	bad |= json_object_set_new(res, "soukd", sd);
	bad |= json_object_set_new(res, "shm", shm);
	bad |= json_object_set_new(res, "store", st);
	if (bad) { /* never print a report with fields silently missing */
		fprintf(stderr, "soukctl, cannot build the status report (out of memory)\n");
		json_decref(res);
		return CTL_FAIL;
	}
	emit(c, res);
	json_decref(res);
	return running ? CTL_OK : CTL_FAIL;
}

static void print_reply_errors(const json_t *reply)
{
	const json_t *errs = json_object_get(reply, "errors");
	for (size_t i = 0; i < json_array_size(errs); i++) {
		const char *m = json_string_value(json_array_get(errs, i));
		if (m)
			fprintf(stderr, "config, %s\n", m);
	}
}

static int cmd_reload(ctl_ctx_t *c, int argc, char **argv)
{
	json_t *res, *reply = NULL;
	int rc, ret;

	if ((rc = no_args(argc, argv)) != CTL_OK)
		return rc;
	res = json_object();
	rc = ctl_client_call(c->control_socket, "reload", c->timeout_ms, &reply);
	if (rc != 0) {
		warn_config(c); /* soukd cannot say what is wrong with the file: we do */
		unreachable(c, rc, res);
		json_object_set_new(res, "result", json_string("not sent"));
		ret = CTL_FAIL;
		goto out;
	}
	bool ok = json_is_true(json_object_get(reply, "ok"));
	json_object_set_new(res, "result", json_string(ok ? "ok" : "refused"));
	json_object_del(reply, "ok");
	json_object_update(res, reply);
	if (!ok) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		print_reply_errors(reply);
		fprintf(stderr, "soukctl, reload refused (%s)\n", e ? e : "no reason given");
		if (!c->json)
			json_object_del(res, "errors"); /* shown above, as soukd logs them */
	} else {
		/* changed items that only a restart applies: soukd keeps their
		 * running value; say which */
		json_t *st = NULL;
		if (ctl_client_call(c->control_socket, "status", c->timeout_ms, &st) == 0) {
			json_t *p = json_object_get(st, "restart_pending");
			for (size_t i = 0; i < json_array_size(p); i++)
				fprintf(
				    stderr,
				    "soukctl, item '%s' changed, takes effect after a restart\n",
				    json_string_value(json_array_get(p, i)));
			if (json_array_size(p) > 0)
				json_object_set(res, "restart_pending", p);
		}
		json_decref(st);
	}
	ret = ok ? CTL_OK : CTL_FAIL;
out:
	emit(c, res);
	json_decref(res);
	json_decref(reply);
	return ret;
}

/* Does soukd have a control command of that name? 1, 0, or an error. */
static int has_command(ctl_ctx_t *c, const char *name)
{
	json_t *reply = NULL;
	int rc = ctl_client_call(c->control_socket, "help", c->timeout_ms, &reply);
	if (rc == 0)
		rc = json_object_get(json_object_get(reply, "commands"), name) != NULL;
	json_decref(reply);
	return rc;
}

static int cmd_publish(ctl_ctx_t *c, int argc, char **argv)
{
	json_t *res, *reply = NULL;
	int rc, ret = CTL_FAIL;

	if ((rc = no_args(argc, argv)) != CTL_OK)
		return rc;
	warn_config(c);
	res = json_object();
	rc = ctl_client_call(c->control_socket, "publish", c->timeout_ms, &reply);
	if (rc != 0) {
		unreachable(c, rc, res);
		json_object_set_new(res, "result", json_string("not sent"));
		goto out;
	}
	if (json_is_true(json_object_get(reply, "ok"))) {
		json_object_set_new(res, "result", json_string("ok"));
		json_object_del(reply, "ok");
		json_object_update(res, reply);
		ret = CTL_OK;
		goto out;
	}
	if (has_command(c, "publish") == 0) {
		fprintf(stderr,
			"soukctl, this soukd does not support 'publish' (no catalog publisher "
			"registered on its control socket)\n");
		json_object_set_new(res, "result", json_string("unsupported"));
		json_object_set_new(res, "error", json_string("soukd does not support 'publish'"));
		goto out;
	}
	const char *e = json_string_value(json_object_get(reply, "error"));
	fprintf(stderr, "soukctl, publish failed (%s)\n", e ? e : "no reason given");
	json_object_set_new(res, "result", json_string("failed"));
	json_object_set_new(res, "error", json_string(e ? e : "publish failed"));
out:
	emit(c, res);
	json_decref(res);
	json_decref(reply);
	return ret;
}

static int cmd_stats(ctl_ctx_t *c, int argc, char **argv)
{
	json_t *res;
	int rc;

	if ((rc = no_args(argc, argv)) != CTL_OK)
		return rc;
	warn_config(c);
	res = json_object();
	rc = ctl_facts_counters(c->instance, res);
	if (rc != 0)
		fprintf(stderr, "soukctl, no worker counters for instance '%s': %s\n", c->instance,
			json_string_value(json_object_get(res, "error")));
	emit(c, res);
	json_decref(res);
	return rc == 0 ? CTL_OK : CTL_FAIL;
}

/* Same text and exit status as `soukd --check-config`. */
static int cmd_check_config(ctl_ctx_t *c, int argc, char **argv)
{
	cfg_errors_t *errs = calloc(1, sizeof(*errs));
	cfg_t *cfg = NULL;
	int rc;

	if ((rc = no_args(argc, argv)) != CTL_OK || errs == NULL) {
		free(errs);
		return rc != CTL_OK ? rc : CTL_FAIL;
	}
	rc = cfg_load(c->config_file, &cfg, errs);
	if (rc == 0) {
		if (!c->json)
			printf("configuration is valid\n");
	} else {
		cfg_errors_print(errs, stderr);
		if (errs->count == 0)
			fprintf(stderr, "config, file '%s', cannot load (%s)\n", c->config_file,
				souk_strerror(rc));
	}
	if (c->json) {
		json_t *a = json_array();
		for (unsigned i = 0; i < errs->count; i++)
			json_array_append_new(a, json_string(errs->e[i].msg));
		if (rc != 0 && errs->count == 0)
			json_array_append_new(a, json_string(souk_strerror(rc)));
		json_object_set_new(c->out, "config_file", json_string(c->config_file));
		json_object_set_new(c->out, "valid", json_boolean(rc == 0));
		json_object_set_new(c->out, "errors", a);
		if (errs->dropped)
			json_object_set_new(c->out, "errors_dropped", json_integer(errs->dropped));
	}
	cfg_free(&cfg);
	free(errs);
	return rc == 0 ? CTL_OK : CTL_FAIL;
}

const ctl_cmd_t ctl_ops_commands[] = {
    {"status", cmd_status, "status",
     "soukd (via its control socket), shared memory and store; exit 1 when soukd is not running"},
    {"reload", cmd_reload, "reload",
     "make soukd re-read its configuration; prints the errors of a refused file"},
    {"publish", cmd_publish, "publish", "make soukd build and publish a new image now"},
    {"stats", cmd_stats, "stats", "worker counters summed over live slots (nonzero ones)"},
    {"check-config", cmd_check_config, "check-config",
     "validate the configuration file (same output as soukd --check-config)"},
};
const size_t ctl_ops_ncommands = SOUK_ARRAY_LEN(ctl_ops_commands);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_ctl.c - soukctl's parts: the plain "key: value" output,
 * the control-socket client against a scripted server, the facts gathered
 * from shared memory and LMDB, and finding paths in a configuration file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/control.h"
#include "daemon/ctl_client.h"
#include "daemon/ctl_ops.h"
#include "daemon/ctl_print.h"
#include "daemon/ctl_table.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(fixture_tmpdir(tmpdir, sizeof(tmpdir), "ctl"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fixture_rm_rf(tmpdir), 0);
	return 0;
}

static char *flat(const char *prefix, const char *json)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(v);
	assert_non_null(f);
	ctl_print_flat(f, prefix, v);
	fclose(f);
	json_decref(v);
	return buf;
}

/* ---- output ---------------------------------------------------------------- */

static void test_print_flat_nested(void **state)
{
	(void)state;
	char *s = flat(NULL, "{\"soukd\":{\"running\":true,\"pid\":42,\"last_reload\":"
			     "{\"result\":\"failed\",\"errors\":[\"file 'a', line 3\",\"b\"]}},"
			     "\"shm\":{\"attached\":false,\"workers\":[{\"slot\":0,\"pid\":7}],"
			     "\"empty\":[],\"none\":{}},\"x\":null,\"r\":1.5,\"no\":false}");
	assert_string_equal(s, "soukd.running: true\n"
			       "soukd.pid: 42\n"
			       "soukd.last_reload.result: failed\n"
			       "soukd.last_reload.errors.0: file 'a', line 3\n"
			       "soukd.last_reload.errors.1: b\n"
			       "shm.attached: false\n"
			       "shm.workers.0.slot: 0\n"
			       "shm.workers.0.pid: 7\n"
			       "x:\n"
			       "r: 1.5\n"
			       "no: false\n");
	free(s);
}

static void test_print_flat_prefix_and_escapes(void **state)
{
	(void)state;
	char *s = flat("store", "{\"path\":\"/a b\\nc\\td\\u0001\",\"n\":-3}");
	assert_string_equal(s, "store.path: /a b\\nc\\td\\x01\nstore.n: -3\n");
	free(s);
	s = flat("top", "[1,2]");
	assert_string_equal(s, "top.0: 1\ntop.1: 2\n");
	free(s);
}

/* ---- client ---------------------------------------------------------------- */

typedef struct {
	int lfd;
	const char *answer; /* sent after the request line; NULL: close; "": stay silent */
	char got[256];
} server_t;

static void *serve_one(void *arg)
{
	server_t *sv = arg;
	size_t have = 0;
	int fd = accept(sv->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (have < sizeof(sv->got) - 1 && memchr(sv->got, '\n', have) == NULL) {
		ssize_t n = recv(fd, sv->got + have, sizeof(sv->got) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	sv->got[have] = '\0';
	if (sv->answer && *sv->answer)
		(void)!write(fd, sv->answer, strlen(sv->answer));
	if (sv->answer && !*sv->answer) {
		char b;
		(void)!recv(fd, &b, 1, 0); /* until the client gives up */
	}
	close(fd);
	return NULL;
}

static int listen_at(const char *path, bool do_listen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int call_scripted(const char *answer, uint64_t timeout_ms, json_t **reply, char *got)
{
	char path[128];
	server_t sv = {.answer = answer};
	pthread_t th;
	snprintf(path, sizeof(path), "%s/c.sock", tmpdir);
	sv.lfd = listen_at(path, true);
	assert_int_equal(pthread_create(&th, NULL, serve_one, &sv), 0);
	int rc = ctl_client_call(path, "status", timeout_ms, reply);
	pthread_join(th, NULL);
	close(sv.lfd);
	if (got)
		strcpy(got, sv.got);
	return rc;
}

static void test_client_call_reads_one_json_line(void **state)
{
	json_t *reply = NULL;
	char got[256];
	(void)state;
	assert_int_equal(
	    call_scripted("{\"ok\":true,\"pid\":12}\n{\"ok\":false}\n", 5000, &reply, got), 0);
	assert_string_equal(got, "status\n");
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_int_equal(json_integer_value(json_object_get(reply, "pid")), 12);
	json_decref(reply);
}

static void test_client_call_errors(void **state)
{
	json_t *reply = NULL;
	char path[128];
	(void)state;
	/* garbage, a closed connection, silence */
	assert_int_equal(call_scripted("hello\n", 5000, &reply, NULL), SOUK_ECORRUPT);
	assert_null(reply);
	assert_int_equal(call_scripted(NULL, 5000, &reply, NULL), -EPIPE);
	assert_int_equal(call_scripted("", 300, &reply, NULL), SOUK_ETIMEOUT);
	assert_null(reply);
	/* no socket; a socket nobody listens on (soukd killed) */
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	assert_int_equal(ctl_client_call(path, "status", 1000, &reply), -ENOENT);
	assert_true(ctl_client_down(-ENOENT));
	int fd = listen_at(path, false);
	assert_int_equal(ctl_client_call(path, "status", 1000, &reply), -ECONNREFUSED);
	assert_true(ctl_client_down(-ECONNREFUSED));
	assert_false(ctl_client_down(SOUK_ETIMEOUT));
	close(fd);
	/* a request is one line */
	assert_int_equal(ctl_client_call(path, "a\nb", 1000, &reply), SOUK_EINVAL);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(ctl_client_call(longp, "status", 1000, &reply), -ENAMETOOLONG);
}

/* status through the command table against a scripted soukd (--json mode) */
static int status_against(const char *answer, json_t **out)
{
	char path[128], *argv[] = {"status"};
	server_t sv = {.answer = answer};
	pthread_t th;
	int used;
	const ctl_cmd_t *cmd = ctl_find(1, argv, &used);
	ctl_ctx_t c = {.json = true,
		       .out = json_object(),
		       .instance = "ut-ctl-none",
		       .data_dir = tmpdir,
		       .timeout_ms = 300};
	assert_non_null(cmd);
	snprintf(path, sizeof(path), "%s/s.sock", tmpdir);
	snprintf(c.control_socket, sizeof(c.control_socket), "%s", path);
	sv.lfd = listen_at(path, true);
	assert_int_equal(pthread_create(&th, NULL, serve_one, &sv), 0);
	int rc = cmd->run(&c, 0, argv + 1);
	pthread_join(th, NULL);
	close(sv.lfd);
	*out = c.out;
	return rc;
}

static const char *soukd_field(json_t *out, const char *key)
{
	return json_string_value(json_object_get(json_object_get(out, "soukd"), key));
}

static void test_status_states(void **state)
{
	json_t *out = NULL;
	(void)state;
	assert_int_equal(status_against("{\"ok\":true,\"pid\":99}\n", &out), CTL_OK);
	assert_string_equal(soukd_field(out, "state"), "running");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "soukd"), "pid")),
			 99);
	assert_null(json_object_get(json_object_get(out, "soukd"), "ok"));
	assert_true(json_is_false(json_object_get(json_object_get(out, "shm"), "attached")));
	assert_non_null(json_object_get(json_object_get(out, "store"), "open"));
	json_decref(out);

	assert_int_equal(status_against("", &out), CTL_FAIL);
	assert_string_equal(soukd_field(out, "state"), "not answering");
	assert_true(json_is_false(json_object_get(json_object_get(out, "soukd"), "running")));
	json_decref(out);

	assert_int_equal(status_against("{\"ok\":false,\"error\":\"too many clients\"}\n", &out),
			 CTL_FAIL);
	assert_string_equal(soukd_field(out, "state"), "refused");
	assert_string_equal(soukd_field(out, "error"), "too many clients");
	json_decref(out);
}

/* ---- facts ---------------------------------------------------------------- */

static const char *names(unsigned i)
{
	return i == 3 ? "requests" : NULL;
}

static void test_facts_shm_workers_and_counters(void **state)
{
	char inst[64];
	shm_ctl_t *ctl = NULL;
	shm_slot_t *slot = NULL;
	shm_builder_t *b = NULL;
	uint64_t gen = 0;
	json_t *o = json_object(), *cnt = json_object();
	(void)state;
	snprintf(inst, sizeof(inst), "ut-ctl-%d", (int)getpid());
	assert_int_equal(shm_ctl_create(inst, 4, &ctl), 0);
	assert_int_equal(shm_slot_claim(ctl, &slot), 0);
	assert_int_equal(shm_builder_new(ctl, &b), 0);
	shm_builder_set_seq(b, 17);
	assert_int_equal(shm_builder_add(b, "x", 8, "12345678", 8), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	shm_slot_set_generation(slot, gen);
	shm_slot_count(slot, 3, 5);
	shm_slot_count(slot, 40, 2);

	assert_int_equal(ctl_facts_shm(inst, o), 0);
	assert_true(json_is_true(json_object_get(o, "attached")));
	assert_int_equal(json_integer_value(json_object_get(o, "generation")), (json_int_t)gen);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 17);
	assert_int_equal(json_integer_value(json_object_get(o, "publish_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "slots")), 4);
	assert_non_null(json_object_get(o, "image_age_ms"));
	json_t *w = json_object_get(o, "workers");
	assert_int_equal(json_array_size(w), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 0), "pid")),
			 getpid());
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 0), "generation")),
			 (json_int_t)gen);

	assert_int_equal(ctl_facts_counters(inst, cnt), 0);
	json_t *c = json_object_get(cnt, "counters");
	assert_int_equal(json_object_size(c), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "3")), 5);
	assert_int_equal(json_integer_value(json_object_get(c, "40")), 2);
	json_decref(cnt);
	cnt = json_object();
	ctl_counter_name = names;
	assert_int_equal(ctl_facts_counters(inst, cnt), 0);
	ctl_counter_name = NULL;
	c = json_object_get(cnt, "counters");
	assert_int_equal(json_integer_value(json_object_get(c, "requests")), 5);
	assert_int_equal(json_integer_value(json_object_get(c, "40")), 2);

	shm_slot_release(ctl, &slot);
	json_decref(o);
	o = json_object();
	assert_int_equal(ctl_facts_shm(inst, o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "workers")), 0);
	shm_ctl_free(&ctl);
	assert_int_equal(shm_ctl_unlink(inst), 0);
	json_decref(o);
	json_decref(cnt);
}

static void test_facts_shm_absent(void **state)
{
	char inst[64];
	json_t *o = json_object();
	(void)state;
	snprintf(inst, sizeof(inst), "ut-ctl-none-%d", (int)getpid());
	assert_int_equal(ctl_facts_shm(inst, o), SOUK_ENOENT);
	assert_true(json_is_false(json_object_get(o, "attached")));
	assert_non_null(strstr(json_string_value(json_object_get(o, "error")), "not running"));
	json_decref(o);
}

static void test_facts_store(void **state)
{
	char dir[128];
	store_opts_t so = {.max_readers = 16};
	store_t *s = NULL;
	json_t *o = json_object();
	(void)state;
	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	assert_int_equal(ctl_facts_store(dir, o), -ENOENT);
	assert_true(json_is_false(json_object_get(o, "open")));
	json_decref(o);
	o = json_object();
	assert_int_equal(store_open(dir, &so, &s), 0);
	store_mut_t m = {
	    .op = STORE_OP_CREATE, .kind = "product", .doc = "{}", .doc_len = 2, .actor = "test"};
	assert_int_equal(store_apply(s, &m, 1), 0);
	store_close(&s);
	assert_int_equal(ctl_facts_store(dir, o), 0);
	assert_true(json_is_true(json_object_get(o, "open")));
	assert_int_equal(json_integer_value(json_object_get(o, "last_seq")), 1);
	assert_true(json_integer_value(json_object_get(o, "used_bytes")) > 0);
	json_decref(o);
}

/* ---- configuration ------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_setup_paths_from_config(void **state)
{
	char conf[128], text[512], want[160];
	char *st[] = {"status"}, *bk[] = {"backup"};
	int used;
	cfg_t *cfg = NULL;
	(void)state;
	snprintf(conf, sizeof(conf), "%s/souk.yaml", tmpdir);
	snprintf(text, sizeof(text),
		 "instance: ut-a\npaths:\n  state_dir: %s/st\n  runtime_dir: %s/run\n", tmpdir,
		 tmpdir);
	write_file(conf, text);
	ctl_ctx_t c = {.config_file = conf, .config_explicit = true};
	assert_int_equal(ctl_setup(&c, ctl_find(1, st, &used), false, &cfg), CTL_OK);
	snprintf(want, sizeof(want), "%s/run/control.sock", tmpdir);
	assert_string_equal(c.control_socket, want);
	snprintf(want, sizeof(want), "%s/st", tmpdir);
	assert_string_equal(c.data_dir, want);
	assert_string_equal(c.instance, "ut-a");
	assert_null(c.cfg_errors);
	cfg_free(&cfg);

	/* --data wins over the file */
	ctl_ctx_t d = {.config_file = conf, .config_explicit = true, .data_dir = "/elsewhere"};
	assert_int_equal(ctl_setup(&d, ctl_find(1, bk, &used), true, &cfg), CTL_OK);
	assert_string_equal(d.data_dir, "/elsewhere");
	cfg_free(&cfg);

	/* a file with errors: status still finds soukd, backup refuses */
	snprintf(text, sizeof(text),
		 "instance: ut-b\npaths:\n  state_dir: %s/st\n  runtime_dir: %s/run2\n"
		 "fcgi:\n  threads: 0\n  bogus: 1\nlog: [\n",
		 tmpdir, tmpdir);
	write_file(conf, text);
	ctl_ctx_t e = {.config_file = conf, .config_explicit = true};
	assert_int_equal(ctl_setup(&e, ctl_find(1, st, &used), false, &cfg), CTL_OK);
	assert_non_null(e.cfg_errors);
	assert_true(e.cfg_errors->count >= 1);
	snprintf(want, sizeof(want), "%s/run2/control.sock", tmpdir);
	assert_string_equal(e.control_socket, want);
	assert_string_equal(e.instance, "ut-b");
	cfg_free(&cfg);
	ctl_ctx_t f = {.config_file = conf, .config_explicit = true};
	assert_int_equal(ctl_setup(&f, ctl_find(1, bk, &used), false, &cfg), CTL_USAGE);
	assert_null(cfg);

	/* a salvaged value that does not validate falls back to its default */
	write_file(conf, "instance: 'bad name!'\npaths:\n  runtime_dir: relative\nlog: [\n");
	ctl_ctx_t g = {.config_file = conf, .config_explicit = true};
	assert_int_equal(ctl_setup(&g, ctl_find(1, st, &used), false, &cfg), CTL_OK);
	assert_string_equal(g.instance, "souk");
	assert_string_equal(g.control_socket, "/run/souk/control.sock");
	cfg_free(&cfg);

	/* no file at the default place: defaults; named explicitly: an error */
	snprintf(conf, sizeof(conf), "%s/missing.yaml", tmpdir);
	ctl_ctx_t h = {.config_file = conf};
	assert_int_equal(ctl_setup(&h, ctl_find(1, bk, &used), false, &cfg), CTL_OK);
	assert_string_equal(h.data_dir, "/var/lib/souk");
	assert_null(h.audit_key);
	cfg_free(&cfg);
	ctl_ctx_t i = {.config_file = conf, .config_explicit = true};
	assert_int_equal(ctl_setup(&i, ctl_find(1, bk, &used), false, &cfg), CTL_USAGE);
}

/* ---- who may use the control socket ----------------------------------------- */

static void test_ctl_peer_allowed_rules(void **state)
{
	const gid_t groups[] = {100, 200};
	(void)state;
	assert_int_equal(ctl_peer_allowed(0, 0, NULL, 0, 999, 50), 0);        /* root */
	assert_int_equal(ctl_peer_allowed(999, 7, NULL, 0, 999, 50), 0);      /* soukd's user */
	assert_int_equal(ctl_peer_allowed(1000, 50, NULL, 0, 999, 50), 0);    /* primary group */
	assert_int_equal(ctl_peer_allowed(1000, 7, groups, 2, 999, 200), 0);  /* supplementary */
	assert_int_equal(ctl_peer_allowed(1000, 7, groups, 2, 999, 50), SOUK_EPERM);
	assert_int_equal(ctl_peer_allowed(1000, 7, NULL, 0, 999, 50), SOUK_EPERM);
}

#define NOBODY 65534

/* In a child running as uid/gid NOBODY (no other groups), send "help" to
 * path while the parent serves base: 0 when refused with "permission
 * denied", 1 when answered "ok", 2 otherwise. */
static int talk_as_nobody(struct event_base *base, const char *path)
{
	int status = 0;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		char buf[512] = "";
		size_t n = 0;
		ssize_t r;
		int fd;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0 ||
		    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    write(fd, "help\n", 5) != 5)
			_exit(2);
		while (n < sizeof(buf) - 1 && !memchr(buf, '\n', n) &&
		       (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)r;
		buf[n] = 0;
		_exit(strstr(buf, "\"ok\":false,\"error\":\"permission denied") ? 0
		      : strstr(buf, "\"ok\":true")                                 ? 1
											     : 2);
	}
	uint64_t until = souk_now_mono_ms() + 10000;
	pid_t w;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && souk_now_mono_ms() < until) {
		struct timespec ts = {0, 1000000};
		event_base_loop(base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the child talking to the control socket did not finish");
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/* File mode is not the only guard: a user outside the socket's group is
 * refused even when the mode would let it in; a member is answered. */
static void test_ctl_socket_refuses_users_outside_its_group(void **state)
{
	struct event_base *base;
	char sub[160], path[192];
	ctl_t *ctl = NULL;
	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: connecting as a second uid needs root\n");
		skip();
	}
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	snprintf(path, sizeof(path), "%s/open.sock", tmpdir);
	ctl_opts_t o = {.path = path, .mode = 0666, .max_clients = 4, .idle_timeout_ms = 5000};
	assert_int_equal(ctl_new(base, &o, &ctl), 0);
	assert_int_equal(talk_as_nobody(base, path), 0);
	ctl_free(&ctl);
	/* a socket whose group is nobody's (inherited from a setgid folder) */
	snprintf(sub, sizeof(sub), "%s/grp", tmpdir);
	assert_int_equal(mkdir(sub, 0711), 0);
	assert_int_equal(chown(sub, (uid_t)-1, NOBODY), 0);
	assert_int_equal(chmod(sub, 02711), 0);
	snprintf(path, sizeof(path), "%s/grp/ctl.sock", tmpdir);
	o.mode = 0660;
	assert_int_equal(ctl_new(base, &o, &ctl), 0);
	assert_int_equal(talk_as_nobody(base, path), 1);
	ctl_free(&ctl);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_print_flat_nested),
	    cmocka_unit_test(test_print_flat_prefix_and_escapes),
	    cmocka_unit_test_setup_teardown(test_client_call_reads_one_json_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_call_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_states, setup, teardown),
	    cmocka_unit_test(test_facts_shm_workers_and_counters),
	    cmocka_unit_test(test_facts_shm_absent),
	    cmocka_unit_test_setup_teardown(test_facts_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_paths_from_config, setup, teardown),
	    cmocka_unit_test(test_ctl_peer_allowed_rules),
	    cmocka_unit_test_setup_teardown(test_ctl_socket_refuses_users_outside_its_group, setup,
					    teardown),
	};
	log_init("test_ctl", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

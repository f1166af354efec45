/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_soukd.c - soukd's extension points in-process: control
 * commands registered with ctl_register(), reload hooks, status hooks and
 * shutdown holds. The event loop is driven from the test (one thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/control.h"
#include "daemon/notify.h"
#include "daemon/soukd.h"
#include "tests/unit/fixture.h"

typedef struct {
	char dir[64];
	char conf[128];
	char sock[128];
} fx_t;

static void write_conf(fx_t *fx, const char *level)
{
	FILE *f = fopen(fx->conf, "w");
	assert_non_null(f);
	fprintf(f,
		"instance: unit-%d\npaths:\n  state_dir: %s/state\n  runtime_dir: %s/run\n"
		"log:\n  level: %s\n  target: stderr\ndaemon:\n  shutdown_timeout: 5s\n",
		(int)getpid(), fx->dir, fx->dir, level);
	fclose(f);
}

static int setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_int_equal(fixture_tmpdir(fx->dir, sizeof(fx->dir), "soukd"), 0);
	snprintf(fx->conf, sizeof(fx->conf), "%s/souk.yaml", fx->dir);
	snprintf(fx->sock, sizeof(fx->sock), "%s/run/control.sock", fx->dir);
	write_conf(fx, "warning");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	assert_int_equal(fixture_rm_rf(fx->dir), 0);
	free(fx);
	return 0;
}

/* Send request text and drive the loop until nlines reply lines arrived
 * (bounded); returns the reply text. */
static char *exchange(struct event_base *base, const char *sock, const char *line, unsigned nlines)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[8192];
	size_t have = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned got = 0;

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 10000 && got < nlines; i++) {
		struct timeval tv = {0, 1000};
		ssize_t n;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		for (ssize_t k = 0; k < n; k++)
			got += buf[have + (size_t)k] == '\n';
		if (n > 0)
			have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	assert_int_equal(got, nlines);
	return strdup(buf);
}

static json_t *request(struct event_base *base, const char *sock, const char *line)
{
	char *text = exchange(base, sock, line, 1);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	free(text);
	return j;
}

static int cmd_echo(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	(void)conn;
	(*(int *)arg)++;
	if (strcmp(args, "fail") == 0)
		return SOUK_EINVAL;
	if (strcmp(args, "explain") == 0) {
		json_object_set_new(reply, "error", json_string("because"));
		return SOUK_EPERM;
	}
	json_object_set_new(reply, "args", json_string(args));
	return 0;
}

static void test_ctl_registered_command_answers(void **state)
{
	fx_t *fx = *state;
	struct event_base *base = event_base_new();
	ctl_opts_t opts = {
	    .path = fx->sock, .mode = 0660, .max_clients = 4, .idle_timeout_ms = 5000};
	ctl_t *ctl = NULL;
	json_t *r;
	int calls = 0;
	char sockpath[160];

	snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", fx->dir);
	opts.path = sockpath;
	assert_int_equal(ctl_new(base, &opts, &ctl), 0);
	assert_int_equal(ctl_register(ctl, "echo", "say it back", cmd_echo, &calls), 0);
	assert_int_equal(ctl_register(ctl, "echo", "again", cmd_echo, &calls), SOUK_EEXIST);
	assert_int_equal(ctl_register(ctl, "two words", "x", cmd_echo, &calls), SOUK_EINVAL);
	assert_int_equal(ctl_register(ctl, "", "x", cmd_echo, &calls), SOUK_EINVAL);

	r = request(base, sockpath, "echo hello  world\n");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "args")), "hello  world");
	json_decref(r);

	r = request(base, sockpath, "echo fail\r\n");
	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "error")),
			    souk_strerror(SOUK_EINVAL));
	json_decref(r);

	r = request(base, sockpath, "echo explain\n");
	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "error")), "because");
	json_decref(r);

	/* several requests on one connection, answered in order */
	char *text = exchange(base, sockpath, "echo one\necho two\n\necho three\n", 3);
	assert_string_equal(text, "{\"ok\":true,\"args\":\"one\"}\n{\"ok\":true,\"args\":\"two\"}\n"
				  "{\"ok\":true,\"args\":\"three\"}\n");
	free(text);

	r = request(base, sockpath, "help\n");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "commands"), "echo")),
	    "say it back");
	json_decref(r);
	assert_int_equal(calls, 6);

	ctl_free(&ctl);
	assert_null(ctl);
	assert_int_equal(access(sockpath, F_OK), -1); /* socket removed */
	event_base_free(base);
}

typedef struct {
	int reloads;
	bool saw_level;
	int status_calls;
	int stops;
} hooks_t;

static void on_reload(soukd_t *d, const cfg_t *old_cfg, const cfg_t *new_cfg,
		      const cfg_diff_t *diff, void *arg)
{
	hooks_t *h = arg;
	h->reloads++;
	h->saw_level = cfg_diff_has(diff, "log.level") && old_cfg->log.level == LOG_WARNING &&
		       new_cfg->log.level == LOG_DEBUG && d->cfg == new_cfg;
}

static void on_status(soukd_t *d, json_t *status, void *arg)
{
	(void)d;
	((hooks_t *)arg)->status_calls++;
	json_object_set_new(status, "publisher", json_string("idle"));
}

static void on_stop(soukd_t *d, void *arg)
{
	(void)d;
	((hooks_t *)arg)->stops++;
}

static void release_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	soukd_release(arg);
}

static void test_soukd_hooks_reload_status_and_held_shutdown(void **state)
{
	fx_t *fx = *state;
	soukd_t *d = NULL;
	hooks_t h = {0};
	json_t *st, *r;
	struct event *ev;
	struct timeval tv = {0, 20000};

	assert_int_equal(soukd_new(fx->conf, &d, NULL), 0);
	assert_int_equal(soukd_on_reload(d, on_reload, &h), 0);
	assert_int_equal(soukd_on_status(d, on_status, &h), 0);
	assert_int_equal(soukd_on_stop(d, on_stop, &h), 0);
	assert_int_equal(soukd_on_stop(d, NULL, &h), SOUK_EINVAL);
	assert_int_equal(soukd_start(d), 0);

	/* a broken file is refused and hooks are not called */
	FILE *f = fopen(fx->conf, "a");
	fputs("bogus: 1\n", f);
	fclose(f);
	assert_int_equal(soukd_reload(d), SOUK_ECONFIG);
	assert_int_equal(h.reloads, 0);
	assert_int_equal(d->cfg_generation, 1);
	assert_int_equal(d->last_reload.errors.count, 1);

	write_conf(fx, "debug");
	assert_int_equal(soukd_reload(d), 0);
	assert_int_equal(h.reloads, 1);
	assert_true(h.saw_level);
	assert_int_equal(d->cfg_generation, 2);

	st = json_object();
	assert_int_equal(soukd_status_json(d, st), 0);
	assert_string_equal(json_string_value(json_object_get(st, "publisher")), "idle");
	assert_string_equal(json_string_value(json_object_get(st, "log_level")), "debug");
	json_decref(st);

	/* over the socket too */
	r = request(d->base, fx->sock, "status\n");
	assert_int_equal(json_integer_value(json_object_get(r, "config_generation")), 2);
	assert_string_equal(json_string_value(json_object_get(r, "publisher")), "idle");
	json_decref(r);
	assert_int_equal(h.status_calls, 2);

	/* shutdown waits for held work: the loop ends only after the release */
	soukd_hold(d);
	ev = evtimer_new(d->base, release_cb, d);
	evtimer_add(ev, &tv);
	soukd_stop(d, 0);
	assert_int_equal(h.stops, 1);
	assert_int_equal(d->holds, 1);
	assert_int_equal(soukd_run(d), 0);
	assert_int_equal(d->holds, 0);
	event_free(ev);
	soukd_free(&d);
	assert_null(d);
	log_set_level(LOG_WARNING);
}

static void test_soukd_new_refuses_broken_config(void **state)
{
	fx_t *fx = *state;
	soukd_t *d = NULL;
	cfg_errors_t errs;
	FILE *f = fopen(fx->conf, "w");
	fputs("fcgi:\n  threads: 0\n", f);
	fclose(f);
	assert_int_equal(soukd_new(fx->conf, &d, &errs), SOUK_ECONFIG);
	assert_null(d);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "item 'fcgi.threads', value '0' (must be 1..1024)"));
}

static void recv_msg(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
}

/* A datagram socket standing in for systemd's, bound in fx's directory. */
static int notify_socket(fx_t *fx, struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/notify.sock", fx->dir);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	return fd;
}

static void test_notify_messages_only_with_socket(void **state)
{
	fx_t *fx = *state;
	struct sockaddr_un sa;
	char buf[512];
	int fd = notify_socket(fx, &sa);

	unsetenv("NOTIFY_SOCKET");
	assert_false(notify_enabled());
	assert_int_equal(notify_ready("x"), 0); /* nothing sent, no error */
	assert_int_equal(notify_watchdog_usec(), 0);

	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	assert_true(notify_enabled());
	assert_int_equal(notify_extend_timeout(5000000), 0);
	recv_msg(fd, buf, sizeof(buf));
	assert_string_equal(buf, "EXTEND_TIMEOUT_USEC=5000000");
	assert_int_equal(notify_ready("serving"), 0);
	recv_msg(fd, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=serving");
	assert_int_equal(notify_status("building image %d", 7), 0);
	recv_msg(fd, buf, sizeof(buf));
	assert_string_equal(buf, "STATUS=building image 7");
	assert_int_equal(notify_reloading(), 0);
	recv_msg(fd, buf, sizeof(buf));
	assert_true(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	setenv("WATCHDOG_USEC", "2000000", 1);
	assert_int_equal(notify_watchdog_usec(), 2000000);
	unsetenv("WATCHDOG_USEC");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

/* The start-up keep-alive sends EXTEND_TIMEOUT_USEC at once and then again
 * every interval while the step runs; nothing without NOTIFY_SOCKET. */
static void test_notify_startup_extends_timeout_until_end(void **state)
{
	fx_t *fx = *state;
	struct sockaddr_un sa;
	notify_startup_t *ns = NULL;
	char buf[512];
	int fd = notify_socket(fx, &sa);

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_startup_begin(5, 50, &ns), 0);
	assert_null(ns);
	assert_int_equal(notify_startup_begin(5, 5, &ns), SOUK_EINVAL);

	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	assert_int_equal(notify_startup_begin(5, 50, &ns), 0);
	assert_non_null(ns);
	for (int i = 0; i < 3; i++) { /* the first one and two repeats */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		recv_msg(fd, buf, sizeof(buf));
		assert_string_equal(buf, "EXTEND_TIMEOUT_USEC=50000");
	}
	notify_startup_end(&ns);
	assert_null(ns);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ctl_registered_command_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_soukd_hooks_reload_status_and_held_shutdown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_messages_only_with_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_startup_extends_timeout_until_end, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_soukd_new_refuses_broken_config, setup, teardown),
	};
	log_init("test_soukd", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

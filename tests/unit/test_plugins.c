/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_plugins.c - the plug-in loader accepts a good plug-in and
 * refuses each bad one (tests/plugins/, built into $SOUK_BUILD/plugins)
 * with a message naming the file and the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "plugins/builtin.h"
#include "plugins/loader.h"

static char g_dir[4096];

static int setup(void **state)
{
	const char *b = getenv("SOUK_BUILD");
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "%s/plugins", b && *b ? b : "build");
	return 0;
}

/* Load one name; returns the code, err holds the message. */
static int load1(const char *name, plugin_set_t **set, char *err, size_t len)
{
	const char *names[] = {name};
	err[0] = '\0';
	return plugin_load_all(g_dir, names, 1, "/tmp", set, err, len);
}

static void expect_refused(const char *name, const char *reason)
{
	plugin_set_t *set = (plugin_set_t *)1;
	char err[1024], file[4200];
	int ret = load1(name, &set, err, sizeof(err));
	snprintf(file, sizeof(file), "%s/%s.so", g_dir, name);
	if (ret == 0 || set != NULL || strstr(err, file) == NULL || strstr(err, reason) == NULL)
		fail_msg("plug-in '%s': ret %d, message '%s' (want the file and '%s')", name, ret,
			 err, reason);
}

static void test_good_plugin_loads_after_the_builtins(void **state)
{
	plugin_set_t *set = NULL;
	char err[1024];
	(void)state;
	assert_int_equal(load1("good", &set, err, sizeof(err)), 0);
	assert_int_equal(plugin_count(set), 3);
	assert_true(plugin_at(set, 0)->builtin);
	assert_string_equal(plugin_at(set, 0)->p->name, "manual");
	assert_string_equal(plugin_at(set, 1)->p->name, "spool");
	const plugin_entry_t *g = plugin_find(set, "good");
	assert_non_null(g);
	assert_false(g->builtin);
	assert_string_equal(g->p->version, "1.2.3");
	assert_non_null(strstr(g->path, "/good.so"));
	assert_non_null(g->state); /* init ran and its state is kept */

	json_t *list = plugin_list_json(set);
	assert_int_equal(json_array_size(list), 3);
	json_t *o = json_array_get(list, 2);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "notification");
	assert_string_equal(json_string_value(json_object_get(o, "abi")), "1.0");
	assert_false(json_is_true(json_object_get(o, "builtin")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "path")),
			    "built-in");
	json_decref(list);

	/* init ran once; fini runs at free (reverse order, before dlclose) */
	int *inits = dlsym(g->handle, "good_inits");
	assert_non_null(inits);
	assert_int_equal(*inits, 1);
	plugin_set_free(&set);
	assert_null(set);
}

static void test_bad_plugins_refused_with_reason(void **state)
{
	(void)state;
	expect_refused("bad_major", "ABI major 2 != host 1");
	expect_refused("newer_minor", "ABI minor 1.1 is newer than the host's 1.0");
	expect_refused("bad_magic", "not a souk plug-in (bad magic");
	expect_refused("no_symbol", "not a souk plug-in (no symbol 'souk_plugin')");
	expect_refused("init_fails", "init failed");
	expect_refused("too_small", "struct too small");
	expect_refused("wrong_name", "name mismatch (the struct says 'someone_else')");
	expect_refused("absent", "not found");
}

static void test_names_and_duplicates_refused(void **state)
{
	plugin_set_t *set = NULL;
	char err[1024];
	(void)state;
	const char *dup[] = {"good", "good"};
	assert_int_not_equal(plugin_load_all(g_dir, dup, 2, "/tmp", &set, err, sizeof(err)), 0);
	assert_null(set);
	assert_non_null(strstr(err, "duplicate"));
	/* a loaded plug-in may not take a built-in's name either */
	const char *spool[] = {"spool"};
	assert_int_not_equal(plugin_load_all(g_dir, spool, 1, "/tmp", &set, err, sizeof(err)), 0);

	assert_int_not_equal(load1("../plugins/good", &set, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a plain name"));
	assert_int_not_equal(load1("..", &set, err, sizeof(err)), 0);
	assert_int_not_equal(
	    plugin_load_list(g_dir, "good, /etc/x", "/tmp", &set, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "plugins.load"));
	assert_int_equal(plugin_load_list(g_dir, " good ,", "/tmp", &set, err, sizeof(err)), 0);
	assert_int_equal(plugin_count(set), 3);
	plugin_set_free(&set);
	/* nothing to load: the directory need not exist */
	assert_int_equal(plugin_load_list("/nonexistent", "", "/tmp", &set, err, sizeof(err)), 0);
	assert_int_equal(plugin_count(set), 2);
	plugin_set_free(&set);
}

static void test_world_writable_directory_refused(void **state)
{
	char dir[] = "/tmp/souk-plugins-XXXXXX", err[1024];
	plugin_set_t *set = NULL;
	const char *names[] = {"good"};
	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_not_equal(plugin_load_all(dir, names, 1, "/tmp", &set, err, sizeof(err)), 0);
	assert_null(set);
	assert_non_null(strstr(err, "world-writable"));
	assert_non_null(strstr(err, dir));
	rmdir(dir);
}

static void test_builtins_pass_the_same_check(void **state)
{
	size_t n;
	char why[256];
	const souk_plugin_t *const *b = plugin_builtins(&n);
	(void)state;
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(plugin_check(b[i], NULL, why, sizeof(why)), 0);
	assert_string_equal(plugin_manual_status(NULL), "pending");
}

static void test_spool_writes_one_file_per_message(void **state)
{
	char dir[] = "/tmp/souk-spool-XXXXXX", err[256], path[4200];
	plugin_set_t *set = NULL;
	(void)state;
	assert_non_null(mkdtemp(dir));
	const char *none[] = {NULL};
	assert_int_equal(plugin_load_all("/nonexistent", none, 0, dir, &set, err, sizeof(err)), 0);
	const plugin_entry_t *s = plugin_find(set, "spool");
	assert_non_null(s);
	assert_int_equal(plugin_spool_write(s->state, "hello\n", 6), 0);
	assert_int_equal(plugin_spool_write(s->state, "again\n", 6), 0);
	DIR *d = opendir(plugin_spool_dir(s->state));
	assert_non_null(d);
	int files = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 2);
	plugin_set_free(&set);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_plugin_loads_after_the_builtins),
	    cmocka_unit_test(test_bad_plugins_refused_with_reason),
	    cmocka_unit_test(test_names_and_duplicates_refused),
	    cmocka_unit_test(test_world_writable_directory_refused),
	    cmocka_unit_test(test_builtins_pass_the_same_check),
	    cmocka_unit_test(test_spool_writes_one_file_per_message),
	};
	return cmocka_run_group_tests_name("plugins", tests, setup, NULL);
}

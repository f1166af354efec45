#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

static void test_strerror_known_and_errno(void **state)
{
	(void)state;
	assert_string_equal(souk_strerror(SOUK_ECONFLICT), "version conflict");
	assert_string_equal(souk_strerror(-2), "No such file or directory");
	assert_string_equal(souk_strerror(-5000), "unknown error");
}

static void test_ct_equal_compares_content_and_length(void **state)
{
	(void)state;
	assert_true(souk_ct_equal("secret", 6, "secret", 6));
	assert_false(souk_ct_equal("secret", 6, "secreT", 6));
	assert_false(souk_ct_equal("secret", 6, "secrets", 7));
}

static void test_hex_roundtrip_and_rejects_bad_digits(void **state)
{
	unsigned char in[4] = {0x00, 0xab, 0x10, 0xff}, back[4];
	char hex[9];
	(void)state;
	souk_hex(in, 4, hex);
	assert_string_equal(hex, "00ab10ff");
	assert_int_equal(souk_unhex(hex, 4, back), 0);
	assert_memory_equal(in, back, 4);
	assert_int_equal(souk_unhex("00ab10fg", 4, back), SOUK_EINVAL);
	assert_int_equal(souk_unhex("00ab10", 4, back), SOUK_EINVAL);
	assert_int_equal(souk_hexval('0'), 0);
	assert_int_equal(souk_hexval('a'), 10);
	assert_int_equal(souk_hexval('F'), 15);
	assert_int_equal(souk_hexval('g'), -1);
	assert_int_equal(souk_hexval('%'), -1);
}

static void test_mkdir_p_creates_parents_and_refuses_files(void **state)
{
	char root[] = "/tmp/souk-test-XXXXXX";
	char path[256], file[256];
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/a/b/c", root);
	assert_int_equal(souk_mkdir_p(path, 0750), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0027, 0); /* no wider than 0750 */
	/* an existing directory is fine */
	assert_int_equal(souk_mkdir_p(path, 0750), 0);
	/* a file in the way is refused */
	snprintf(file, sizeof(file), "%s/f", root);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(souk_mkdir_p(file, 0750), -ENOTDIR);
	snprintf(path, sizeof(path), "%s/f/x", root);
	assert_int_equal(souk_mkdir_p(path, 0750), -ENOTDIR);
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(souk_mkdir_p(big, 0750), -ENAMETOOLONG);
	unlink(file);
	snprintf(path, sizeof(path), "%s/a/b/c", root);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/a/b", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a", root);
	rmdir(path);
	assert_int_equal(rmdir(root), 0);
}

static void test_proc_stat_reads_own_process_and_refuses_missing(void **state)
{
	char st = 0;
	uint64_t start = 0, again = 0;
	(void)state;
	assert_int_equal(souk_proc_stat((uint32_t)getpid(), &st, &start), 0);
	assert_int_equal(st, 'R'); /* it is running: it is reading its own stat */
	assert_true(start > 0);
	assert_int_equal(souk_proc_stat((uint32_t)getpid(), &st, &again), 0);
	assert_true(again == start);
	/* beyond pid_max (at most 2^22): no such process */
	assert_int_equal(souk_proc_stat(UINT32_MAX, &st, &start), -ENOENT);
}

static void test_parse_u64_range_and_overflow(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(souk_parse_u64("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(souk_parse_u64("0", 1, 100, &v), SOUK_EINVAL);
	assert_int_equal(souk_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), SOUK_EINVAL);
	assert_int_equal(souk_parse_u64("-1", 0, 10, &v), SOUK_EINVAL);
	assert_int_equal(souk_parse_u64("", 0, 10, &v), SOUK_EINVAL);
}

static void test_u64_dec_matches_printf(void **state)
{
	const uint64_t vals[] = {0, 7, 10, 99, 100, 4096, 1234567890123ull, UINT64_MAX};
	char got[SOUK_U64_DEC_MAX], want[32];
	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = souk_u64_dec(vals[i], got);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)vals[i]);
		assert_string_equal(got, want);
		assert_int_equal(n, strlen(want));
	}
}

static void test_read_file_limits_size(void **state)
{
	char path[] = "/tmp/souk-test-XXXXXX";
	char *buf = NULL;
	size_t len = 0;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(souk_read_file(path, 100, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	souk_free(&buf);
	assert_null(buf);
	assert_int_equal(souk_read_file(path, 4, &buf, &len), SOUK_ETOOBIG);
	assert_null(buf);
	unlink(path);
	assert_int_equal(souk_read_file(path, 100, &buf, &len), -2);
}

static void test_ratelimit_suppresses_and_reports(void **state)
{
	log_ratelimit_t rl = LOG_RATELIMIT_INIT(3600, 2);
	uint32_t sup = 99;
	(void)state;
	assert_true(log_ratelimit_ok(&rl, &sup));
	assert_int_equal(sup, 0);
	assert_true(log_ratelimit_ok(&rl, &sup));
	assert_false(log_ratelimit_ok(&rl, &sup));
	assert_false(log_ratelimit_ok(&rl, &sup));
	assert_int_equal(rl.suppressed, 2);
}

static void test_log_level_names(void **state)
{
	(void)state;
	assert_int_equal(log_level_from_name("debug"), LOG_DEBUG);
	assert_int_equal(log_level_from_name("error"), LOG_ERR);
	assert_int_equal(log_level_from_name("loud"), -1);
}

static void test_mkdir_p_refuses_empty_path(void **state)
{
	(void)state;
	assert_int_equal(souk_mkdir_p("", 0750), -EINVAL);
	assert_int_equal(souk_mkdir_p(NULL, 0750), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strerror_known_and_errno),
	    cmocka_unit_test(test_ct_equal_compares_content_and_length),
	    cmocka_unit_test(test_hex_roundtrip_and_rejects_bad_digits),
	    cmocka_unit_test(test_u64_dec_matches_printf),
	    cmocka_unit_test(test_mkdir_p_creates_parents_and_refuses_files),
	    cmocka_unit_test(test_proc_stat_reads_own_process_and_refuses_missing),
	    cmocka_unit_test(test_parse_u64_range_and_overflow),
	    cmocka_unit_test(test_read_file_limits_size),
	    cmocka_unit_test(test_ratelimit_suppresses_and_reports),
	    cmocka_unit_test(test_log_level_names),
	    cmocka_unit_test(test_mkdir_p_refuses_empty_path),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}

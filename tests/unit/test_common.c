/* SPDX-License-Identifier: Apache-2.0 */
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

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/log.h"
#include "common/text.h"
#include "common/time.h"
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

static void test_text_sanitize_neutralises_controls_and_bad_utf8(void **state)
{
	static const struct {
		const char *in;
		unsigned flags;
		size_t max_chars;
		const char *out;
	} cases[] = {
	    {"plain caf\xc3\xa9", 0, 0, "plain caf\xc3\xa9"},
	    {"a\nb\rc", 0, 0, "a?b?c"},
	    {"\x1b[2Jcleared", 0, 0, "?[2Jcleared"},         /* ESC */
	    {"tab\there\x7f", 0, 0, "tab?here?"},             /* TAB, DEL */
	    {"c1 \xc2\x9b" "31m", 0, 0, "c1 ?31m"},           /* U+009B CSI */
	    {"bidi \xe2\x80\xae" "evil", 0, 0, "bidi ?evil"},     /* U+202E */
	    {"line\xe2\x80\xa8sep", 0, 0, "line?sep"},         /* U+2028 */
	    {"bad \xff\xfe utf8", 0, 0, "bad ?? utf8"},
	    {"overlong \xc0\xaf", 0, 0, "overlong ??"},
	    {"cut \xe2\x82", 0, 0, "cut ??"},                  /* truncated sequence */
	    {"it's", 0, 0, "it's"},
	    {"it's", SOUK_TEXT_QUOTE, 0, "it?s"},
	    {"abcdef", 0, 3, "abc..."},
	    {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0, 2, "\xc3\xa9\xc3\xa9..."},
	};
	char out[64];
	(void)state;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
		size_t n = souk_text_sanitize(cases[i].in, strlen(cases[i].in), cases[i].flags,
					      cases[i].max_chars, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
}

static void test_text_sanitize_bounded_in_place_and_on_boundaries(void **state)
{
	char buf[16], small[8];
	(void)state;
	/* cut to the buffer on a character boundary, with "..." */
	souk_text_sanitize("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, 0, 0, small, sizeof(small));
	assert_string_equal(small, "\xc3\xa9\xc3\xa9...");
	souk_text_sanitize("abcdefghij", 10, 0, 0, small, sizeof(small));
	assert_string_equal(small, "abcd...");
	souk_text_sanitize("abcdefg", 7, 0, 0, small, sizeof(small));
	assert_string_equal(small, "abcdefg");
	/* in place, and an embedded NUL is a control character too */
	memcpy(buf, "x\x1b\xc2\x9by\0z", 7);
	assert_int_equal(souk_text_sanitize(buf, 7, 0, 0, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "x??y?z", 6);
}

/* What an operator's terminal gets from a log line carrying hostile text. */
static void test_log_line_has_no_terminal_controls(void **state)
{
	char path[] = "/tmp/souk-log-XXXXXX", got[512];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	FILE *f;
	size_t n;
	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_init("test", LOG_TARGET_STDERR);
	log_msg(LOG_ERR, "test", "test, name '%s'", "a\x1b]0;owned\x07\nforged: b\xff");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	unlink(path);
	got[n] = '\0';
	assert_non_null(strstr(got, "name 'a?]0;owned??forged: b?'\n"));
	for (size_t i = 0; i + 1 < n; i++)
		assert_true((unsigned char)got[i] >= 0x20 && got[i] != 0x7f);
}

static void test_rfc3339_formats_and_refuses_out_of_range(void **state)
{
	char out[SOUK_RFC3339_MAX];
	(void)state;
	assert_int_equal(souk_rfc3339(0, out), 0);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	assert_int_equal(souk_rfc3339(1795692167123ull, out), 0);
	assert_string_equal(out, "2026-11-26T11:22:47.123Z");
	assert_int_equal(souk_rfc3339(951782400007ull, out), 0); /* leap day */
	assert_string_equal(out, "2000-02-29T00:00:00.007Z");
	assert_int_equal(souk_rfc3339(253402300799999ull, out), 0);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");
	/* a five-digit year, or one gmtime_r cannot represent: the epoch, and an error */
	assert_int_equal(souk_rfc3339(253402300800000ull, out), SOUK_EINVAL);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	assert_int_equal(souk_rfc3339(UINT64_MAX, out), SOUK_EINVAL);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

static void test_mkdir_p_refuses_empty_path(void **state)
{
	(void)state;
	assert_int_equal(souk_mkdir_p("", 0750), -EINVAL);
	assert_int_equal(souk_mkdir_p(NULL, 0750), -EINVAL);
}

static void test_currency_iso_minor_units_and_current_codes(void **state)
{
	static const struct {
		const char *code;
		int exponent; /* SOUK_EINVAL: not a currency */
		bool current; /* a new price may use it */
	} cases[] = {
	    {"EUR", 2, true}, {"GBP", 2, true}, {"USD", 2, true}, {"JPY", 0, true},
	    {"KRW", 0, true}, {"BHD", 3, true}, {"KWD", 3, true}, {"TND", 3, true},
	    {"IQD", 3, true},  /* ISO 3; CLDR (ICU's digits) says 0 */
	    {"ALL", 2, true},  /* ISO 2; CLDR 0 */
	    {"ZWG", 2, true},  /* 2024, newer than ICU 72 */
	    {"XCG", 2, true},  {"VED", 2, true}, {"SLE", 2, true},
	    {"ZWL", 2, false}, /* withdrawn: stored prices keep their exponent */
	    {"HRK", 2, false}, {"ANG", 2, false}, {"VEF", 2, false},
	    {"XAU", 0, false}, /* precious metal: ICU knows it, not a price */
	    {"XTS", 0, false}, /* test code */
	    {"eur", SOUK_EINVAL, false}, {"Eur", SOUK_EINVAL, false},
	    {"EURO", SOUK_EINVAL, false}, {"", SOUK_EINVAL, false},
	    {"QQQ", SOUK_EINVAL, false},
	};
	(void)state;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
		if (cases[i].exponent != 0 || cases[i].current)
			assert_int_equal(souk_currency_exponent(cases[i].code), cases[i].exponent);
		if (souk_currency_current(cases[i].code) != cases[i].current)
			fail_msg("currency '%s' current: want %d", cases[i].code, cases[i].current);
	}
	assert_false(souk_currency_current(NULL));
	assert_int_equal(souk_currency_exponent(NULL), SOUK_EINVAL);
}

static void test_locale_canon_validates_with_icu(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
	    {"en", "en"}, {"EN-gb", "en-GB"}, {"zh-hant-tw", "zh-Hant-TW"},
	    {"de-CH-1996", "de-CH-1996"}, {"es-419", "es-419"}, {"sr-Latn-RS", "sr-Latn-RS"},
	    {"e", NULL}, {"english", NULL}, {"en_GB", NULL}, {"en-", NULL}, {"-en", NULL},
	    {"en--GB", NULL}, {"en-toolongsub", NULL}, {"1en", NULL}, {"", NULL},
	    {"en-GB-oed", NULL}, /* grandfathered: ICU rewrites it */
	    {"en-a-very-long-tag-with-many-subtags-x", NULL}, /* over 35 characters */
	};
	char out[SOUK_LOCALE_MAX];
	(void)state;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
		int rc = souk_locale_canon(cases[i].in, strlen(cases[i].in), out);
		if (cases[i].out == NULL) {
			if (rc != SOUK_EINVAL)
				fail_msg("'%s' accepted as '%s'", cases[i].in, out);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].out);
		}
	}
}

static void test_accept_language_orders_by_q(void **state)
{
	static const struct {
		const char *header, *list;
	} cases[] = {
	    {"fr;q=0.1, de", "de,fr"},
	    {"de", "de"},
	    {"DE-ch", "de-ch"},
	    {"en;q=0.5, fr;q=0.5, de;q=0.5", "en,fr,de"}, /* stable */
	    {"fr;q=0, en", "en"},                            /* q=0: not acceptable */
	    {"*;q=0.1, it", "it,*"},
	    {"de-CH-1996, fr;q=0.9, *;q=0.5", "de-ch-1996,fr,*"},
	    {"da, en-gb;q=0.8, en;q=0.7", "da,en-gb,en"},
	    {"en ; q=0.3 ,\tfr", "fr,en"},
	    {"en;q = 0.3, fr", "fr"}, /* no space around = */
	    {"x;q=2, b;q=0.999, c;q=1.5, d;q=1.000, e;q=0.1234", "d,b"}, /* bad q dropped */
	    {"garbage;;q=x, ,de;q=0.5, es;q=1.0, %%, en-", "es,de"},
	    {"", ""},
	    {",,,", ""},
	};
	char out[128];
	(void)state;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
		size_t n = souk_accept_language(cases[i].header, strlen(cases[i].header), out,
						sizeof(out));
		assert_string_equal(out, cases[i].list);
		assert_int_equal(n, strlen(cases[i].list));
	}
	/* bounded: ranges that do not fit are left out whole */
	assert_int_equal(souk_accept_language("de-ch, fr", 9, out, 8), 5);
	assert_string_equal(out, "de-ch");
}

static int tag_at(const void *arg, size_t i, char out[SOUK_LOCALE_MAX])
{
	const char *const *tags = arg;
	snprintf(out, SOUK_LOCALE_MAX, "%s", tags[i]);
	return 0;
}

static void test_locale_lookup_rfc4647(void **state)
{
	static const char *const have[] = {"en", "de", "de-CH", "fr-CA", "sr-Latn-RS", "zh-Hant"};
	static const struct {
		const char *list;
		int want; /* index in have, -1: none (the default) */
	} cases[] = {
	    {"de", 1},           {"DE", 1},           {"de-ch", 2},
	    {"de-ch-1996", 2},   /* de-CH-1996 -> de-CH */
	    {"de-at", 1},        /* de-AT -> de */
	    {"fr,de", 1},        /* fr-CA is not fr */
	    {"fr", 3},           /* past the list: fr-CA in the first range's language */
	    {"it,en", 0},        {"it", -1},          {"*", -1},   {"*,de", -1},
	    {"it,*", -1},        {"zh-hant-x-a-b", 5}, /* singleton dropped with its subtag */
	    {"sr", 4},           {"", -1},
	};
	(void)state;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
		size_t found = 99;
		int rc = souk_locale_lookup(cases[i].list, strlen(cases[i].list),
					    SOUK_ARRAY_LEN(have), tag_at, have, &found);
		if (cases[i].want < 0) {
			if (rc != SOUK_ENOENT)
				fail_msg("'%s' found '%s'", cases[i].list, have[found]);
		} else if (rc != 0 || found != (size_t)cases[i].want) {
			fail_msg("'%s': rc %d, found %zu, want %d", cases[i].list, rc, found,
				 cases[i].want);
		}
	}
}

/* Country codes are ICU's ISO 3166-1 alpha-2 list, upper-case only. */
static void test_country_codes_from_icu(void **state)
{
	(void)state;
	static const struct {
		const char *code;
		bool ok;
	} cases[] = {{"GB", true}, {"DE", true},  {"JP", true},  {"gb", false}, {"Gb", false},
		     {"QZ", false}, {"YU", false}, {"G", false},  {"GBR", false}, {"", false},
		     {"1A", false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (souk_country_valid(cases[i].code) != cases[i].ok)
			fail_msg("'%s': want %s", cases[i].code, cases[i].ok ? "valid" : "refused");
	assert_false(souk_country_valid(NULL));
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
	    cmocka_unit_test(test_text_sanitize_neutralises_controls_and_bad_utf8),
	    cmocka_unit_test(test_text_sanitize_bounded_in_place_and_on_boundaries),
	    cmocka_unit_test(test_log_line_has_no_terminal_controls),
	    cmocka_unit_test(test_rfc3339_formats_and_refuses_out_of_range),
	    cmocka_unit_test(test_mkdir_p_refuses_empty_path),
	    cmocka_unit_test(test_currency_iso_minor_units_and_current_codes),
	    cmocka_unit_test(test_locale_canon_validates_with_icu),
	    cmocka_unit_test(test_accept_language_orders_by_q),
	    cmocka_unit_test(test_locale_lookup_rfc4647),
	    cmocka_unit_test(test_country_codes_from_icu),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}

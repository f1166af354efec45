/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/text.h - untrusted text made fit to show.
 *
 * Text that came from outside (a request, a config file, an imported file, a
 * control-socket line) is passed through souk_text_sanitize() before it goes
 * into a log line, a terminal or an error message, so that it cannot forge
 * records (CR, LF, U+2028), drive a terminal (ESC, CSI, other C0/C1 controls)
 * or reorder what is shown (bidi overrides and isolates).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SOUK_TEXT_QUOTE = 1 << 0, /* also replace ' (the text is shown in quotes) */
};

/*
 * Copy len bytes of s into out (out_len bytes, NUL-terminated): valid UTF-8 is
 * kept, except control characters (C0, DEL, C1), U+2028/U+2029 and the bidi
 * embedding, override and isolate controls, which become '?'; each byte that
 * is not part of valid UTF-8 becomes '?' too. Text longer than max_chars
 * characters, or than out has room for, is cut at a character boundary and
 * ends in "..." (max_chars 0: bounded by out alone). out may be s (in place).
 * Returns the length written.
 */
size_t souk_text_sanitize(const char *s, size_t len, unsigned flags, size_t max_chars,
			  char *out, size_t out_len);

/*
 * Is len bytes of t fit to store as text? NULL when it is; otherwise why not,
 * as a field message ("is not valid UTF-8", "must not contain control
 * characters": category Cc, tab and newline allowed when multiline).
 * *count is the number of code points seen.
 */
const char *souk_text_problem(const uint8_t *t, size_t len, bool multiline, size_t *count);

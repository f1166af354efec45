/* SPDX-License-Identifier: Apache-2.0 */
#include "common/text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <utf8proc.h>

static bool shown_as_is(utf8proc_int32_t cp, unsigned flags)
{
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return false; /* C0, DEL, C1 */
	if (cp == 0x2028 || cp == 0x2029)
		return false; /* line and paragraph separators */
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return false; /* bidi embeddings, overrides, isolates */
	return !(cp == '\'' && (flags & SOUK_TEXT_QUOTE));
}

size_t souk_text_sanitize(const char *s, size_t len, unsigned flags, size_t max_chars,
			  char *out, size_t out_len)
{
	size_t i = 0, o = 0, chars = 0;

	if (out_len == 0)
		return 0;
	while (i < len) {
		utf8proc_int32_t cp;
		ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
					     (utf8proc_ssize_t)(len - i), &cp);
		bool keep = n > 0 && shown_as_is(cp, flags);
		size_t w = keep ? (size_t)n : 1;

		if (n <= 0)
			n = 1; /* one byte that is not UTF-8 */
		if ((max_chars > 0 && chars == max_chars) || o + w >= out_len) {
			/* cut: room for "..." on a character boundary */
			while (o > 0 && o + 4 > out_len)
				do
					o--;
				while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80);
			if (o + 4 <= out_len) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (keep)
			memmove(out + o, s + i, w);
		else
			out[o] = '?';
		o += w;
		i += (size_t)n;
		chars++;
	}
	out[o] = '\0';
	return o;
}

/* The first control character (category Cc) in text, tabs and newlines
 * allowed when multiline; also counts its code points. NULL when clean,
 * "invalid" when not UTF-8. ASCII is its own NFC, one code point per byte,
 * with 0x00-0x1f and 0x7f as its control characters. */
const char *souk_text_problem(const uint8_t *t, size_t len, bool multiline, size_t *count)
{
	size_t off = 0;
	*count = 0;
	while (off < len) {
		utf8proc_int32_t cp = t[off];
		utf8proc_ssize_t n = 1;
		if (cp >= 0x80) {
			n = utf8proc_iterate(t + off, (utf8proc_ssize_t)(len - off), &cp);
			if (n <= 0)
				return "is not valid UTF-8";
		}
		bool cc = cp < 0x80 ? cp < 0x20 || cp == 0x7f
				    : utf8proc_category(cp) == UTF8PROC_CATEGORY_CC;
		if (cc && !(multiline && (cp == '\n' || cp == '\t')))
			return "must not contain control characters";
		off += (size_t)n;
		(*count)++;
	}
	return NULL;
}

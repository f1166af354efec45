/* SPDX-License-Identifier: Apache-2.0 */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/error.h"

bool souk_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

uint64_t souk_now_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t souk_now_mono_ms(void)
{
	return souk_now_mono_ns() / 1000000ull;
}

uint64_t souk_now_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

int souk_random(void *buf, size_t len)
{
	if (len > (size_t)INT32_MAX)
		return SOUK_EINVAL;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : SOUK_ECRYPTO;
}

void souk_hex(const void *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = bytes;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * len] = '\0';
}

int souk_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int souk_unhex(const char *hex, size_t len, void *out)
{
	unsigned char *o = out;
	if (strlen(hex) != 2 * len)
		return SOUK_EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = souk_hexval(hex[2 * i]), lo = souk_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SOUK_EINVAL;
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int souk_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
	int fd, ret;
	struct stat st;
	char *buf = NULL;
	size_t have = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		ret = SOUK_ETOOBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		ret = SOUK_ENOMEM;
		goto fail;
	}
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	close(fd);
	*out = buf;
	if (out_len != NULL)
		*out_len = have;
	return 0;
fail:
	free(buf);
	close(fd);
	return ret;
}

size_t souk_u64_dec(uint64_t v, char out[SOUK_U64_DEC_MAX])
{
	char tmp[SOUK_U64_DEC_MAX];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

int souk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (s == NULL || *s == '\0')
		return SOUK_EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return SOUK_EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return SOUK_EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return SOUK_EINVAL;
	*out = v;
	return 0;
}

int souk_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	struct stat st;

	if (path == NULL || path[0] == '\0')
		return -EINVAL; /* the walk below starts at the second byte */
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int souk_proc_stat(uint32_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (p == NULL || p[1] != ' ')
		return -EINVAL;
	p += 2;
	*state = *p;
	/* p is at field 3; advance to field 22 */
	for (field = 3; field < 22 && *p != '\0'; p++)
		if (*p == ' ')
			field++;
	if (field != 22)
		return -EINVAL;
	*start = strtoull(p, NULL, 10);
	return 0;
}

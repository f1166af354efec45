/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/freshness.c - commit to visible: how long after a write is
 * acknowledged does a plain read see it.
 *
 *   freshness --port PORT --token-file FILE [--host 127.0.0.1] [--count N]
 *             [--seconds S] [--timeout-ms MS] [--poll-us US] [--label L]
 *
 * One keep-alive HTTP/1.1 connection to the web server in front of
 * souk-fcgi. Each round POSTs a new product (a unique SKU), takes its
 * Location and Souk-Seq from the 201 answer (the commit is durable when the
 * answer arrives), then GETs the product - without Souk-Min-Seq, as any
 * client would - until it is 200 (the image holding it is published). The
 * time from the POST answer to the first 200 is one sample. Rounds stop
 * after N samples (default 200) or S seconds (default 20), whichever comes
 * first; one product waits at most --timeout-ms (default 5000, counted as a
 * timeout). --poll-us sleeps between polls (default 200 us).
 *
 * Prints a human summary on stderr and one line on stdout:
 *   FRESHJSON {"samples":N,"timeouts":T,"p50_ms":..,"p90_ms":..,"p99_ms":..,
 *              "max_ms":..,"post_p50_ms":..,"post_p99_ms":..,"polls_per_sample":..}
 * Exit status 0 when at least one sample was taken and nothing failed.
 * The admin bearer secret is read from a file, never from the command line.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define RX_MAX (1u << 20)
#define MAX_SAMPLES 100000

struct conn {
	int fd;
	const char *host;
	uint16_t port;
	char *rx; /* RX_MAX + 1 bytes */
	size_t rx_len; /* bytes in rx not yet consumed */
};

struct resp {
	int status;
	char location[256];
	uint64_t seq;
	bool have_seq;
	size_t body_len;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	int one = 1;
	if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1)
		return -EINVAL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int rc = -errno;
		close(c->fd);
		c->fd = -1;
		return rc;
	}
	c->rx_len = 0;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rx_len = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more bytes into rx; -EPIPE on EOF, -E2BIG when full. */
static int fill(struct conn *c)
{
	if (c->rx_len >= RX_MAX)
		return -E2BIG;
	for (;;) {
		ssize_t r = recv(c->fd, c->rx + c->rx_len, RX_MAX - c->rx_len, 0);
		if (r > 0) {
			c->rx_len += (size_t)r;
			c->rx[c->rx_len] = '\0';
			return 0;
		}
		if (r == 0)
			return -EPIPE;
		if (errno != EINTR)
			return -errno;
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->rx, c->rx + n, c->rx_len - n);
	c->rx_len -= n;
	c->rx[c->rx_len] = '\0';
}

/* Value of header `name` in the header block [h, end), copied into out. */
static bool header_value(const char *h, const char *end, const char *name, char *out,
			 size_t out_size)
{
	size_t nl = strlen(name);
	const char *p = h;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			size_t n = (size_t)(ve - v);
			if (n >= out_size)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p = eol + 1;
	}
	return false;
}

/* One whole response (Content-Length or chunked body), consumed from rx. */
static int read_response(struct conn *c, struct resp *r)
{
	char *hend;
	int rc;
	memset(r, 0, sizeof(*r));
	while ((hend = strstr(c->rx, "\r\n\r\n")) == NULL)
		if ((rc = fill(c)) != 0)
			return rc;
	size_t hlen = (size_t)(hend - c->rx) + 4;
	if (sscanf(c->rx, "HTTP/1.%*d %d", &r->status) != 1)
		return -EPROTO;
	char v[64];
	header_value(c->rx, hend, "Location", r->location, sizeof(r->location));
	if (header_value(c->rx, hend, "Souk-Seq", v, sizeof(v)) &&
	    souk_parse_u64(v, 0, UINT64_MAX, &r->seq) == 0)
		r->have_seq = true;
	bool chunked = header_value(c->rx, hend, "Transfer-Encoding", v, sizeof(v)) &&
		       strcasecmp(v, "chunked") == 0;
	if (!chunked) {
		uint64_t len = 0;
		if (header_value(c->rx, hend, "Content-Length", v, sizeof(v)) &&
		    souk_parse_u64(v, 0, RX_MAX, &len) != 0)
			return -EPROTO;
		while (c->rx_len < hlen + len)
			if ((rc = fill(c)) != 0)
				return rc;
		r->body_len = (size_t)len;
		consume(c, hlen + (size_t)len);
		return 0;
	}
	consume(c, hlen);
	for (;;) { /* chunk-size CRLF data CRLF ... 0 CRLF CRLF */
		char *eol;
		while ((eol = strstr(c->rx, "\r\n")) == NULL)
			if ((rc = fill(c)) != 0)
				return rc;
		unsigned long n = strtoul(c->rx, NULL, 16);
		size_t need = (size_t)(eol - c->rx) + 2 + n + 2;
		if (n > RX_MAX)
			return -EPROTO;
		while (c->rx_len < need)
			if ((rc = fill(c)) != 0)
				return rc;
		consume(c, need);
		r->body_len += n;
		if (n == 0)
			return 0;
	}
}

/* Send a request and read its answer; reconnects once if a kept
 * connection was closed by the server. */
static int roundtrip(struct conn *c, const char *req, size_t req_len, struct resp *r)
{
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && (rc = conn_open(c)) != 0)
			return rc;
		rc = send_all(c->fd, req, req_len);
		if (rc == 0)
			rc = read_response(c, r);
		if (rc == 0)
			return 0;
		conn_close(c);
		if (rc != -EPIPE && rc != -ECONNRESET)
			break;
	}
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return (double)sorted[i] / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: freshness --port PORT --token-file FILE [--host 127.0.0.1] "
			"[--count N] [--seconds S] [--timeout-ms MS] [--poll-us US] "
			"[--label L]\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "token-file", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "poll-us", required_argument, NULL, 'u' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct conn c = { .fd = -1, .host = "127.0.0.1" };
	const char *token_file = NULL, *label = "fresh";
	uint64_t port = 0, count = 200, secs = 20, timeout_ms = 5000, poll_us = 200;
	char *token = NULL, *req = NULL;
	uint64_t *lat = NULL, *post_lat = NULL;
	size_t token_len = 0, n = 0, timeouts = 0, errors = 0, polls = 0;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "H:p:k:n:s:T:u:l:h", lopts, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case 'H': c.host = optarg; break;
		case 'p': bad = souk_parse_u64(optarg, 1, 65535, &port); break;
		case 'k': token_file = optarg; break;
		case 'n': bad = souk_parse_u64(optarg, 1, MAX_SAMPLES, &count); break;
		case 's': bad = souk_parse_u64(optarg, 1, 3600, &secs); break;
		case 'T': bad = souk_parse_u64(optarg, 1, 600000, &timeout_ms); break;
		case 'u': bad = souk_parse_u64(optarg, 0, 1000000, &poll_us); break;
		case 'l': label = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
		if (bad) {
			fprintf(stderr, "freshness, bad value '%s' for option '-%c'\n", optarg, opt);
			return 2;
		}
	}
	if (port == 0 || token_file == NULL) {
		usage();
		return 2;
	}
	c.port = (uint16_t)port;
	if (souk_read_file(token_file, 4096, &token, &token_len) != 0) {
		fprintf(stderr, "freshness, cannot read token file '%s'\n", token_file);
		return 1;
	}
	while (token_len > 0 && (token[token_len - 1] == '\n' || token[token_len - 1] == '\r'))
		token[--token_len] = '\0';
	c.rx = malloc(RX_MAX + 1);
	req = malloc(8192);
	lat = calloc(count, sizeof(*lat));
	post_lat = calloc(count, sizeof(*post_lat));
	if (c.rx == NULL || req == NULL || lat == NULL || post_lat == NULL)
		goto fail;
	c.rx[0] = '\0';

	uint64_t start = souk_now_mono_ns(), deadline = start + secs * 1000000000ull;
	unsigned long tag = (unsigned long)getpid();
	while (n < count && souk_now_mono_ns() < deadline) {
		char body[512], loc[256];
		struct resp r;
		int bl = snprintf(body, sizeof(body),
				  "{\"sku\":\"FRESH-%lu-%zu-%llu\",\"status\":\"active\","
				  "\"seller\":\"bench\",\"category\":\"freshness\","
				  "\"title\":{\"en\":\"Freshness probe %zu\"},"
				  "\"price\":{\"GBP\":%zu},\"stock\":1}",
				  tag, n + timeouts + errors, (unsigned long long)start, n,
				  100 + n % 900);
		int rl = snprintf(req, 8192,
				  "POST /api/v1/products HTTP/1.1\r\nHost: %s\r\n"
				  "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
				  "Content-Length: %d\r\n\r\n%s",
				  c.host, token, bl, body);
		if (bl <= 0 || (size_t)bl >= sizeof(body) || rl <= 0 || rl >= 8192)
			goto fail;
		uint64_t t0 = souk_now_mono_ns();
		int rc = roundtrip(&c, req, (size_t)rl, &r);
		uint64_t t_commit = souk_now_mono_ns();
		if (rc != 0 || r.status != 201 || r.location[0] != '/' || !r.have_seq) {
			fprintf(stderr, "freshness, POST failed (rc %d, status %d)\n", rc, r.status);
			if (++errors >= 5)
				goto fail;
			continue;
		}
		snprintf(loc, sizeof(loc), "%s", r.location);
		rl = snprintf(req, 8192, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", loc, c.host);
		bool seen = false, failed = false;
		uint64_t t_vis = 0;
		while (souk_now_mono_ns() - t_commit < timeout_ms * 1000000ull) {
			rc = roundtrip(&c, req, (size_t)rl, &r);
			polls++;
			if (rc != 0 || (r.status != 200 && r.status != 404)) {
				fprintf(stderr, "freshness, GET failed (rc %d, status %d)\n", rc,
					r.status);
				if (++errors >= 5)
					goto fail;
				failed = true;
				break;
			}
			if (r.status == 200) {
				t_vis = souk_now_mono_ns();
				seen = true;
				break;
			}
			if (poll_us > 0) {
				struct timespec ts = { .tv_nsec = (long)(poll_us % 1000000) * 1000,
						       .tv_sec = (time_t)(poll_us / 1000000) };
				nanosleep(&ts, NULL);
			}
		}
		if (!seen) {
			if (!failed)
				timeouts++;
			continue;
		}
		post_lat[n] = t_commit - t0;
		lat[n] = t_vis - t_commit;
		n++;
	}
	double elapsed = (double)(souk_now_mono_ns() - start) / 1e9;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	qsort(post_lat, n, sizeof(*post_lat), cmp_u64);
	fprintf(stderr,
		"%s: %zu samples in %.1f s, commit->visible p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
		"max %.2f ms; POST p50 %.2f ms; %zu timeouts, %zu errors\n",
		label, n, elapsed, pct_ms(lat, n, 50), pct_ms(lat, n, 90), pct_ms(lat, n, 99),
		n ? (double)lat[n - 1] / 1e6 : 0.0, pct_ms(post_lat, n, 50), timeouts, errors);
	printf("FRESHJSON {\"samples\":%zu,\"timeouts\":%zu,\"errors\":%zu,\"seconds\":%.3f,"
	       "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"post_p50_ms\":%.3f,\"post_p99_ms\":%.3f,\"polls_per_sample\":%.1f}\n",
	       n, timeouts, errors, elapsed, pct_ms(lat, n, 50), pct_ms(lat, n, 90),
	       pct_ms(lat, n, 99), n ? (double)lat[n - 1] / 1e6 : 0.0, pct_ms(post_lat, n, 50),
	       pct_ms(post_lat, n, 99), n ? (double)polls / (double)n : 0.0);
	fflush(stdout);
	ret = n > 0 && errors == 0 ? 0 : 1;
fail:
	if (ret != 0 && n == 0)
		fprintf(stderr, "freshness, no sample taken\n");
	conn_close(&c);
	if (token != NULL)
		explicit_bzero(token, token_len);
	if (req != NULL)
		explicit_bzero(req, 8192);
	free(token);
	free(req);
	free(lat);
	free(post_lat);
	free(c.rx);
	return ret;
}

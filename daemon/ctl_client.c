/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_client.c - control socket client: connect, send a line, read one
 * JSON line back, all bounded by a timeout.
 */
#include "daemon/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

int ctl_client_connect(const char *path, uint64_t timeout_ms, int *fd)
{
	struct sockaddr_un sa;
	struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
	int s, ret;

	*fd = -1;
	if (path == NULL || *path == '\0')
		return SOUK_EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	/* a full listen backlog makes connect() wait: bound it (and sends) */
	if (timeout_ms > 0 && setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		ret = -errno;
		goto fail;
	}
	while (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		ret = errno == EAGAIN || errno == EINPROGRESS ? SOUK_ETIMEOUT : -errno;
		goto fail;
	}
	*fd = s;
	return 0;
fail:
	close(s);
	return ret;
}

int ctl_client_send(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? SOUK_ETIMEOUT : -errno;
		if (n == 0)
			return -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_client_read_line(int fd, uint64_t timeout_ms, char *buf, size_t cap, size_t *len)
{
	uint64_t deadline = souk_now_mono_ms() + timeout_ms;
	size_t have = 0;
	char *nl = NULL;

	if (cap < 2)
		return SOUK_EINVAL;
	buf[0] = '\0';
	while (nl == NULL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = souk_now_mono_ms();
		ssize_t n;
		int pr;

		if (have >= cap - 1)
			return SOUK_ETOOBIG;
		if (now >= deadline)
			return SOUK_ETIMEOUT;
		pr = poll(&p, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			continue; /* the deadline check above ends the wait */
		n = recv(fd, buf + have, cap - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
		buf[have] = '\0';
	}
	*nl = '\0';
	*len = (size_t)(nl - buf);
	return 0;
}

int ctl_client_call(const char *path, const char *request, uint64_t timeout_ms, json_t **reply)
{
	size_t rlen = strlen(request), len = 0;
	char *line = NULL, *buf = NULL;
	json_t *root = NULL;
	int fd = -1, ret;

	*reply = NULL;
	if (memchr(request, '\n', rlen) != NULL)
		return SOUK_EINVAL;
	line = malloc(rlen + 2);
	buf = malloc(CTL_CLIENT_REPLY_MAX);
	if (line == NULL || buf == NULL) {
		ret = SOUK_ENOMEM;
		goto out;
	}
	memcpy(line, request, rlen);
	line[rlen] = '\n';
	line[rlen + 1] = '\0';
	if ((ret = ctl_client_connect(path, timeout_ms, &fd)) != 0 ||
	    (ret = ctl_client_send(fd, line, rlen + 1)) != 0 ||
	    (ret = ctl_client_read_line(fd, timeout_ms, buf, CTL_CLIENT_REPLY_MAX, &len)) != 0)
		goto out;
	root = json_loadb(buf, len, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		ret = SOUK_ECORRUPT;
		goto out;
	}
	*reply = root;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return ret;
}

const char *ctl_client_strerror(int code)
{
	switch (code) {
	case -ENOENT: return "no control socket";
	case -ECONNREFUSED: return "nothing answers on the control socket";
	case -EACCES:
	case -EPERM: return "permission denied on the control socket";
	case SOUK_ETIMEOUT: return "no answer in time";
	case -EPIPE:
	case -ECONNRESET: return "connection closed without an answer";
	case SOUK_ECORRUPT: return "the answer is not a JSON object";
	default: return souk_strerror(code);
	}
}

bool ctl_client_down(int code)
{
	return code == -ENOENT || code == -ECONNREFUSED;
}

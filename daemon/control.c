/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/control.c - the control socket: line requests, JSON replies,
 * libevent bufferevents.
 */
#include "daemon/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/error.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

#define CTL_MAGIC 0x4354524cu /* "CTRL" */

typedef struct {
	char name[32];
	char help[128];
	ctl_handler_t fn;
	void *arg;
} ctl_cmd_t;

struct ctl_conn {
	ctl_t *ctl;
	struct bufferevent *bev;
	ctl_conn_t *prev, *next;
	bool closing;	   /* close once the output is sent */
	ctl_after_t after; /* run once the output is sent */
	void *after_arg;
};

struct ctl {
	uint32_t magic;
	struct event_base *base;
	struct evconnlistener *listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	gid_t gid; /* the socket file's group: its members may connect */
	uint32_t max_clients;
	uint64_t idle_timeout_ms;
	unsigned nclients;
	ctl_conn_t *conns;
	ctl_cmd_t cmds[CTL_COMMANDS_MAX];
	unsigned ncmds;
};

static void conn_free(ctl_conn_t *c)
{
	ctl_t *ctl = c->ctl;
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void send_json(ctl_conn_t *c, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (text == NULL) {
		evbuffer_add_printf(out, "{\"ok\":false,\"error\":\"out of memory\"}\n");
		return;
	}
	evbuffer_add(out, text, strlen(text));
	evbuffer_add(out, "\n", 1);
	free(text);
}

static void send_error(ctl_conn_t *c, const char *msg)
{
	json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	if (r != NULL) {
		send_json(c, r);
		json_decref(r);
	}
}

static void handle_line(ctl_conn_t *c, char *line)
{
	ctl_t *ctl = c->ctl;
	char *args, shown[48], emsg[96];
	json_t *reply;
	int ret;

	while (*line == ' ')
		line++;
	if (*line == '\0')
		return;
	args = strchr(line, ' ');
	if (args != NULL) {
		*args++ = '\0';
		while (*args == ' ')
			args++;
	} else {
		args = line + strlen(line);
	}
	for (unsigned i = 0; i < ctl->ncmds; i++) {
		if (strcmp(ctl->cmds[i].name, line) != 0)
			continue;
		reply = json_object();
		if (reply == NULL) {
			send_error(c, "out of memory");
			return;
		}
		json_object_set_new(reply, "ok", json_true());
		log_daemon_debug("control, command '%s'", ctl->cmds[i].name);
		ret = ctl->cmds[i].fn(c, args, reply, ctl->cmds[i].arg);
		if (ret != 0) {
			json_object_set_new(reply, "ok", json_false());
			if (json_object_get(reply, "error") == NULL)
				json_object_set_new(reply, "error",
						    json_string(souk_strerror(ret)));
		}
		send_json(c, reply);
		json_decref(reply);
		return;
	}
	souk_text_sanitize(line, strlen(line), SOUK_TEXT_QUOTE, 0, shown, sizeof(shown));
	snprintf(emsg, sizeof(emsg), "unknown command '%s' (try 'help')", shown);
	send_error(c, emsg);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	ctl_conn_t *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while (!c->closing && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > CTL_REQUEST_MAX || strlen(line) != len) {
			send_error(c, len > CTL_REQUEST_MAX ? "request too long" : "bad request");
			c->closing = true;
		} else {
			handle_line(c, line);
		}
		free(line);
	}
	if (!c->closing && evbuffer_get_length(in) > CTL_REQUEST_MAX) {
		send_error(c, "request too long");
		c->closing = true;
	}
	if (c->closing) {
		bufferevent_disable(bev, EV_READ);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	ctl_conn_t *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->after != NULL) {
		ctl_after_t fn = c->after;
		c->after = NULL;
		fn(c->after_arg);
	}
	if (c->closing)
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	ctl_conn_t *c = arg;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->closing = true; /* peer is done sending; finish our answer */
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (c->after != NULL) { /* the reply cannot be delivered; act anyway */
		ctl_after_t fn = c->after;
		c->after = NULL;
		fn(c->after_arg);
	}
	conn_free(c);
}

static void set_timeouts(ctl_t *ctl, struct bufferevent *bev)
{
	struct timeval tv = {(time_t)(ctl->idle_timeout_ms / 1000),
			     (suseconds_t)(ctl->idle_timeout_ms % 1000) * 1000};
	bufferevent_set_timeouts(bev, &tv, &tv);
}

int ctl_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, uid_t self_uid,
		     gid_t sock_gid)
{
	if (uid == 0 || uid == self_uid || gid == sock_gid)
		return 0;
	for (size_t i = 0; groups != NULL && i < ngroups; i++)
		if (groups[i] == sock_gid)
			return 0;
	return SOUK_EPERM;
}

#define PEER_GROUPS_MAX 65536 /* NGROUPS_MAX on Linux */

/* The peer of fd per ctl_peer_allowed(); its uid in *uid (or -1). */
static int peer_check(const ctl_t *ctl, int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t small[64], *groups = small;
	socklen_t glen = sizeof(small);
	int ret = SOUK_EPERM;

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr))
		return SOUK_EPERM; /* unknown peer: refused */
	*uid = cr.uid;
	if (ctl_peer_allowed(cr.uid, cr.gid, NULL, 0, geteuid(), ctl->gid) == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) != 0) {
		if (errno != ERANGE || glen > PEER_GROUPS_MAX * sizeof(gid_t) ||
		    (groups = malloc(glen)) == NULL)
			return SOUK_EPERM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) != 0)
			goto done;
	}
	ret = ctl_peer_allowed(cr.uid, cr.gid, groups, glen / sizeof(gid_t), geteuid(), ctl->gid);
done:
	if (groups != small)
		free(groups);
	return ret;
}

/* Answer reply and close a connection refused before it got a ctl_conn_t;
 * true when rl lets the caller log it now. */
static bool refuse(int fd, const char *reply, log_ratelimit_t *rl, uint32_t *suppressed)
{
	if (send(fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* nothing more to do: the client sees the close */
	}
	close(fd);
	return log_ratelimit_ok(rl, suppressed);
}

static void on_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	ctl_t *ctl = arg;
	ctl_conn_t *c;
	uid_t uid;
	uint32_t suppressed = 0;
	(void)lst;
	(void)sa;
	(void)salen;

	if (peer_check(ctl, fd, &uid) != 0) {
		static log_ratelimit_t rl = LOG_RATELIMIT_INIT(60, 5);
		if (refuse(fd,
			   "{\"ok\":false,\"error\":\"permission denied (only root, soukd's user "
			   "and members of the control socket's group may use it)\"}\n",
			   &rl, &suppressed))
			log_daemon_warn("control, connection of uid %ld refused (not root, soukd's "
					"user or in the socket's group; %u more suppressed)",
					uid == (uid_t)-1 ? -1L : (long)uid, suppressed);
		return;
	}
	if (ctl->nclients >= ctl->max_clients) {
		static log_ratelimit_t rl = LOG_RATELIMIT_INIT(60, 1);
		if (refuse(fd, "{\"ok\":false,\"error\":\"too many clients\"}\n", &rl,
			   &suppressed))
			log_daemon_warn("control, connection refused (%u clients, limit; %u more "
					"suppressed)",
					ctl->nclients, suppressed);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	ctl->nclients++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* do not buffer without bound: stop reading past one request's size */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_REQUEST_MAX + 2);
	set_timeouts(ctl, c->bev);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static int cmd_help(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	ctl_t *ctl = arg;
	json_t *cmds = json_object();
	(void)conn;
	(void)args;
	if (cmds == NULL)
		return SOUK_ENOMEM;
	for (unsigned i = 0; i < ctl->ncmds; i++)
		json_object_set_new(cmds, ctl->cmds[i].name, json_string(ctl->cmds[i].help));
	json_object_set_new(reply, "commands", cmds);
	return 0;
}

/* Bind the socket path, replacing a stale socket left by a crash. */
static int make_socket(ctl_t *ctl, mode_t mode, int *out)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1, ret;
	mode_t old_mask;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (int attempt = 0;; attempt++) {
		old_mask = umask(0177 & ~mode);
		ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old_mask);
		if (ret == 0)
			break;
		ret = -errno;
		if (ret != -EADDRINUSE || attempt > 0)
			goto fail;
		/* something is there: a live soukd, a stale socket, or a file */
		if (lstat(ctl->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			ret = -EEXIST;
			goto fail;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0) {
			ret = -errno;
			goto fail;
		}
		ret = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		close(probe);
		if (ret == 0) {
			ret = SOUK_EBUSY;
			goto fail;
		}
		log_daemon_info("control, removing stale socket '%s'", ctl->path);
		if (unlink(ctl->path) != 0 && errno != ENOENT) {
			ret = -errno;
			goto fail;
		}
	}
	if (chmod(ctl->path, mode) != 0 || stat(ctl->path, &st) != 0) {
		ret = -errno;
		unlink(ctl->path);
		goto fail;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->gid = st.st_gid;
	if (listen(fd, 64) != 0) {
		ret = -errno;
		unlink(ctl->path);
		goto fail;
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

int ctl_new(struct event_base *base, const ctl_opts_t *opts, ctl_t **out)
{
	ctl_t *ctl;
	int fd = -1, ret;

	if (strlen(opts->path) >= sizeof(ctl->path))
		return SOUK_EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return SOUK_ENOMEM;
	ctl->magic = CTL_MAGIC;
	ctl->base = base;
	snprintf(ctl->path, sizeof(ctl->path), "%s", opts->path);
	ctl->max_clients = opts->max_clients ? opts->max_clients : 32;
	ctl->idle_timeout_ms = opts->idle_timeout_ms ? opts->idle_timeout_ms : 60000;
	ret = make_socket(ctl, opts->mode ? opts->mode : 0660, &fd);
	if (ret != 0)
		goto fail;
	ctl->listener = evconnlistener_new(base, on_accept, ctl,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->listener == NULL) {
		close(fd);
		unlink(ctl->path);
		ret = SOUK_ENOMEM;
		goto fail;
	}
	ret = ctl_register(ctl, "help", "list the commands", cmd_help, ctl);
	if (ret != 0)
		goto fail;
	*out = ctl;
	return 0;
fail:
	ctl_free(&ctl);
	return ret;
}

void ctl_free(ctl_t **pctl)
{
	ctl_t *ctl = *pctl;
	struct stat st;

	if (ctl == NULL)
		return;
	while (ctl->conns != NULL)
		conn_free(ctl->conns);
	if (ctl->listener != NULL) {
		evconnlistener_free(ctl->listener);
		/* remove the socket only if it is still the one we made */
		if (stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
			unlink(ctl->path);
	}
	ctl->magic = 0;
	free(ctl);
	*pctl = NULL;
}

int ctl_register(ctl_t *ctl, const char *name, const char *help, ctl_handler_t fn, void *arg)
{
	ctl_cmd_t *cmd;
	if (name == NULL || *name == '\0' || strlen(name) >= sizeof(cmd->name) ||
	    strchr(name, ' ') != NULL || fn == NULL)
		return SOUK_EINVAL;
	for (unsigned i = 0; i < ctl->ncmds; i++)
		if (strcmp(ctl->cmds[i].name, name) == 0)
			return SOUK_EEXIST;
	if (ctl->ncmds >= CTL_COMMANDS_MAX)
		return SOUK_ETOOBIG;
	cmd = &ctl->cmds[ctl->ncmds++];
	snprintf(cmd->name, sizeof(cmd->name), "%s", name);
	snprintf(cmd->help, sizeof(cmd->help), "%s", help ? help : "");
	cmd->fn = fn;
	cmd->arg = arg;
	return 0;
}

void ctl_set_limits(ctl_t *ctl, uint32_t max_clients, uint64_t idle_timeout_ms)
{
	if (max_clients > 0)
		ctl->max_clients = max_clients;
	if (idle_timeout_ms > 0) {
		ctl->idle_timeout_ms = idle_timeout_ms;
		for (ctl_conn_t *c = ctl->conns; c; c = c->next)
			set_timeouts(ctl, c->bev);
	}
}

void ctl_after_reply(ctl_conn_t *conn, ctl_after_t fn, void *arg)
{
	conn->after = fn;
	conn->after_arg = arg;
}

unsigned ctl_clients(const ctl_t *ctl)
{
	return ctl->nclients;
}

const char *ctl_path(const ctl_t *ctl)
{
	return ctl->path;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * souk-fcgi - the souk REST API as a FastCGI responder.
 *
 *   souk-fcgi [-c FILE] [--listen unix:/path|127.0.0.1:PORT] [--threads N] ...
 *
 * Listening socket: --listen, else a socket handed over by systemd
 * (LISTEN_FDS) or spawn-fcgi (fd 0), else fcgi.listen of the config file.
 * Settings come from the same YAML file as soukd (-c; validated with the
 * same schema, so the worker starts while soukd is down); flags override.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "config/config.h"
#include "fcgi/api.h"
#include "fcgi/worker.h"
#include "plugins/loader.h"
#include "store/store.h"

#define ADMIN_SECRET_MIN 32 /* bytes of the first line of the secret file */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: souk-fcgi [options]\n"
		"  -c, --config FILE          souk.yaml to read settings from (like soukd)\n"
		"      --listen ADDR          unix:/path or 127.0.0.1:PORT (default: the socket\n"
		"                             on fd 0 or from systemd, else fcgi.listen)\n"
		"      --threads N            request threads (default 8); with nginx\n"
		"                             fastcgi_keep_conn, at least its upstream keepalive\n"
		"      --backlog N            listen backlog (default 1024)\n"
		"      --instance NAME        shared-memory instance (default souk)\n"
		"      --data DIR             LMDB state directory (default /var/lib/souk)\n"
		"      --admin-secret-file F  bearer secret for writes (mode 0600)\n"
		"      --soukd-socket PATH    soukd's publish socket (default\n"
		"                             <runtime_dir>/publish.sock)\n"
		"      --max-body BYTES       largest request body (default 1048576)\n"
		"      --max-json-depth N     deepest JSON nesting (default 32)\n"
		"      --request-timeout MS   socket timeout per request (default 30000)\n"
		"      --min-seq-wait MS      longest Souk-Min-Seq wait (default 1000)\n"
		"      --map-size BYTES       initial LMDB map size (default 1 GiB)\n"
		"      --log-level LEVEL      error, warning, notice, info, debug\n"
		"  -V, --version              print the version and exit\n"
		"  -h, --help                 print this help and exit\n");
}

enum {
	OPT_LISTEN = 256,
	OPT_THREADS,
	OPT_BACKLOG,
	OPT_INSTANCE,
	OPT_DATA,
	OPT_SECRET,
	OPT_SOUKD,
	OPT_MAX_BODY,
	OPT_DEPTH,
	OPT_TIMEOUT,
	OPT_MIN_SEQ,
	OPT_MAP,
	OPT_LOG,
};

typedef struct {
	const char *config;
	const char *listen;
	uint64_t threads, backlog, max_body, depth, timeout_ms, min_seq_ms, map_size;
	const char *instance, *data, *secret_file, *soukd_socket;
	int log_level;
} opts_t;

static int num(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (souk_parse_u64(v, min, max, out) != 0) {
		fprintf(stderr, "souk-fcgi, option '--%s', value '%s' (must be %" PRIu64 "..%" PRIu64
				")\n",
			name, v, min, max);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "backlog", required_argument, NULL, OPT_BACKLOG },
		{ "instance", required_argument, NULL, OPT_INSTANCE },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "admin-secret-file", required_argument, NULL, OPT_SECRET },
		{ "soukd-socket", required_argument, NULL, OPT_SOUKD },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "max-json-depth", required_argument, NULL, OPT_DEPTH },
		{ "request-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "min-seq-wait", required_argument, NULL, OPT_MIN_SEQ },
		{ "map-size", required_argument, NULL, OPT_MAP },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:Vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case OPT_LISTEN: o->listen = optarg; break;
		case OPT_THREADS:
			if (num("threads", optarg, 1, 1024, &o->threads))
				return -1;
			break;
		case OPT_BACKLOG:
			if (num("backlog", optarg, 1, 65535, &o->backlog))
				return -1;
			break;
		case OPT_INSTANCE: o->instance = optarg; break;
		case OPT_DATA: o->data = optarg; break;
		case OPT_SECRET: o->secret_file = optarg; break;
		case OPT_SOUKD: o->soukd_socket = optarg; break;
		case OPT_MAX_BODY:
			if (num("max-body", optarg, 1024, 1u << 30, &o->max_body))
				return -1;
			break;
		case OPT_DEPTH:
			if (num("max-json-depth", optarg, 2, 1000, &o->depth))
				return -1;
			break;
		case OPT_TIMEOUT:
			if (num("request-timeout", optarg, 100, 3600000, &o->timeout_ms))
				return -1;
			break;
		case OPT_MIN_SEQ:
			if (num("min-seq-wait", optarg, 0, 60000, &o->min_seq_ms))
				return -1;
			break;
		case OPT_MAP:
			if (num("map-size", optarg, 1u << 20, UINT64_MAX, &o->map_size))
				return -1;
			break;
		case OPT_LOG:
			o->log_level = log_level_from_name(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "souk-fcgi, option '--log-level', value '%s' "
						"(unknown level)\n",
					optarg);
				return -1;
			}
			break;
		case 'V': printf("souk-fcgi %s\n", SOUK_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "souk-fcgi, unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The admin secret: a file readable by its owner only, first line. */
static int load_secret(const char *path, char **out, size_t *len)
{
	char why[256] = "";
	char *buf = NULL;
	size_t n = 0;
	int rc = cfg_check_secret_file(path, why, sizeof(why));
	if (rc != 0) {
		log_fcgi_err("admin secret file '%s' refused (%s)", path,
			     why[0] ? why : souk_strerror(rc));
		return rc;
	}
	rc = souk_read_file(path, 4096, &buf, &n);
	if (rc != 0) {
		log_fcgi_err("cannot read admin secret file '%s' (%s)", path,
			     souk_strerror(rc));
		return rc;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n < ADMIN_SECRET_MIN) {
		explicit_bzero(buf, n);
		free(buf);
		log_fcgi_err("admin secret file '%s' refused (the secret has %zu bytes, at least "
			     "%d are needed; make one with: head -c 48 /dev/urandom | base64 -w0)",
			     path, n, ADMIN_SECRET_MIN);
		return SOUK_EINVAL;
	}
	*out = buf;
	*len = n;
	return 0;
}

static bool fd_is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static char unix_path[128]; /* our socket, removed at exit */

/* Does a process accept connections on this UNIX socket path? */
static bool unix_socket_live(const char *path)
{
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	bool live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

static int open_listen(const char *addr, int backlog)
{
	char buf[160];
	const char *path = addr;
	if (strncmp(addr, "unix:", 5) == 0) {
		path = addr + 5;
		if (unix_socket_live(path)) {
			log_fcgi_err("cannot listen on '%s' (another process serves it; share one "
				     "socket between workers with spawn-fcgi or systemd instead)",
				     addr);
			return -1;
		}
		unlink(path); /* a stale socket of an earlier run */
	} else if (strncmp(addr, "tcp:", 4) == 0) {
		path = addr + 4;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	int fd = FCGX_OpenSocket(buf, backlog);
	if (fd >= 0 && strncmp(addr, "unix:", 5) == 0)
		snprintf(unix_path, sizeof(unix_path), "%s", path);
	if (fd < 0)
		log_fcgi_err("cannot listen on '%s' (%s)", addr, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	opts_t o = { 0 };
	cfg_t *cfg = NULL;
	store_t *store = NULL;
	char *secret = NULL;
	size_t secret_len = 0;
	char notify[256] = "";
	api_t api;
	bool api_up = false;
	plugin_set_t *plugins = NULL;
	char plugin_err[1024];
	int rc = 1, listen_fd = -1;

	o.log_level = -1;
	log_init("souk-fcgi", LOG_TARGET_AUTO);
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (o.config != NULL) {
		cfg_errors_t errs;
		memset(&errs, 0, sizeof(errs));
		if (cfg_load(o.config, &cfg, &errs) != 0) {
			cfg_errors_print(&errs, stderr);
			return 1;
		}
		log_init("souk-fcgi", (log_target_t)cfg->log.target);
		log_set_level(cfg->log.level);
	} else if (cfg_defaults(&cfg) != 0) {
		return 1;
	}
	if (o.log_level >= 0)
		log_set_level(o.log_level);

	/* flags override the file */
	const char *instance = o.instance ? o.instance : cfg->instance;
	const char *data = o.data ? o.data : cfg->paths.state_dir;
	const char *secret_file = o.secret_file ? o.secret_file : cfg->auth.admin_secret_file;
	uint64_t threads = o.threads ? o.threads : cfg->fcgi.threads;
	uint64_t backlog = o.backlog ? o.backlog : cfg->fcgi.backlog;
	if (o.soukd_socket != NULL)
		snprintf(notify, sizeof(notify), "%s", o.soukd_socket);
	else
		snprintf(notify, sizeof(notify), "%s/publish.sock", cfg->paths.runtime_dir);

	if (o.secret_file != NULL || o.config != NULL) {
		if (secret_file[0] != '\0' && load_secret(secret_file, &secret, &secret_len) != 0)
			goto out;
	}
	if (secret == NULL)
		log_fcgi_warn("no admin secret file: every write is refused (401)");

	/* the same plug-ins as soukd; one that does not load refuses start-up */
	if (plugin_load_list(cfg->plugins.dir, cfg->plugins.load, data, &plugins, plugin_err,
			     sizeof(plugin_err)) != 0) {
		log_fcgi_err("%s; not starting", plugin_err);
		goto out;
	}

	store_opts_t so = {
		.map_size = o.map_size ? o.map_size : cfg->store.map_size,
		.map_max = cfg->store.map_max,
		.max_readers = cfg->store.max_readers,
		.read_only = false,
	};
	int e = store_open(data, &so, &store);
	if (e != 0) {
		log_fcgi_err("cannot open the store in '%s' (%s)", data, souk_strerror(e));
		goto out;
	}

	if (o.listen != NULL) {
		listen_fd = open_listen(o.listen, (int)backlog);
	} else if (getenv("LISTEN_FDS") != NULL && getenv("LISTEN_PID") != NULL &&
		   (pid_t)atol(getenv("LISTEN_PID")) == getpid() && fd_is_socket(3)) {
		listen_fd = 3; /* systemd socket activation */
	} else if (fd_is_socket(0)) {
		listen_fd = 0; /* spawn-fcgi, inetd-style */
	} else if (o.config != NULL) {
		listen_fd = open_listen(cfg->fcgi.listen.text, (int)backlog);
	} else {
		log_fcgi_err("no socket to serve: give --listen, -c FILE, or start under "
			     "spawn-fcgi/systemd");
	}
	if (listen_fd < 0)
		goto out;
	if (FCGX_Init() != 0) {
		log_fcgi_err("FCGX_Init failed");
		goto out;
	}

	api_opts_t ao = {
		.instance = instance,
		.notify_path = notify,
		.max_body = o.max_body ? o.max_body : cfg->fcgi.max_body,
		.max_json_depth = (unsigned)(o.depth ? o.depth : cfg->fcgi.max_json_depth),
		.min_seq_wait_ms = o.min_seq_ms ? o.min_seq_ms : cfg->fcgi.min_seq_wait_ms,
		.max_batch = 256,
	};
	e = api_init(&api, &ao, store, secret, secret_len);
	if (e != 0) {
		log_fcgi_err("cannot start (%s)", souk_strerror(e));
		goto out;
	}
	api_up = true;
	worker_opts_t wo = {
		.listen_fd = listen_fd,
		.threads = (unsigned)threads,
		.request_timeout_ms = o.timeout_ms ? o.timeout_ms : cfg->fcgi.request_timeout_ms,
	};
	log_fcgi_info("serving instance '%s' with %u threads (store '%s')", instance,
		      wo.threads, data);
	e = worker_run(&api, &wo);
	if (e == SOUK_ETIMEOUT)
		_exit(1);
	rc = e == 0 ? 0 : 1;
	log_fcgi_info("stopped");
out:
	if (api_up)
		api_deinit(&api);
	store_close(&store);
	plugin_set_free(&plugins);
	if (secret != NULL) {
		explicit_bzero(secret, secret_len);
		free(secret);
	}
	if (listen_fd > 2)
		close(listen_fd);
	if (unix_path[0] != '\0')
		unlink(unix_path);
	cfg_free(&cfg);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/main_soukd.c - soukd, the souk core daemon.
 *
 * Runs in the foreground (systemd Type=notify tracks it; no pid file).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "config/config.h"
#include "daemon/soukd.h"
#include "daemon/jobs.h"
#include "daemon/soukd_plugins.h"
#include "daemon/soukd_publish.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: soukd [options]\n"
		"\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -t, --check-config    check the configuration file and exit\n"
		"      --dump-schema[=json|markdown]\n"
		"                        print every configuration item and exit\n"
		"  -f, --foreground      run in the foreground (the default; soukd never\n"
		"                        daemonizes, systemd tracks it)\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n"
		"\n"
		"Signals: SIGHUP reloads the configuration, SIGTERM and SIGINT stop.\n"
		"Control socket: <paths.runtime_dir>/control.sock (status, reload, stop, publish, stats, plugins).\n",
		CFG_DEFAULT_FILE);
}

static int check_config(const char *path)
{
	cfg_errors_t *errs = calloc(1, sizeof(*errs));
	cfg_t *cfg = NULL;
	int ret;

	if (errs == NULL)
		return 1;
	ret = cfg_load(path, &cfg, errs);
	if (ret == 0) {
		printf("configuration is valid\n");
	} else {
		cfg_errors_print(errs, stderr);
		if (errs->count == 0)
			fprintf(stderr, "config, file '%s', cannot load (%s)\n", path,
				souk_strerror(ret));
	}
	cfg_free(&cfg);
	free(errs);
	return ret == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { OPT_DUMP_SCHEMA = 256 };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 't'},
	    {"dump-schema", optional_argument, NULL, OPT_DUMP_SCHEMA},
	    {"foreground", no_argument, NULL, 'f'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CFG_DEFAULT_FILE, *dump = NULL;
	bool check = false;
	soukd_t *d = NULL;
	soukd_publish_t *pub = NULL;
	soukd_jobs_t *jobs = NULL;
	plugin_set_t *plugins = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:tfVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 't': check = true; break;
		case 'f': break;
		case OPT_DUMP_SCHEMA: dump = optarg ? optarg : "json"; break;
		case 'V': printf("soukd %s\n", SOUK_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "soukd, unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (dump != NULL) {
		if (strcmp(dump, "json") == 0)
			ret = cfg_dump_schema_json(stdout);
		else if (strcmp(dump, "markdown") == 0)
			ret = cfg_dump_schema_markdown(stdout);
		else {
			fprintf(stderr, "soukd, unknown schema format '%s' (json or markdown)\n",
				dump);
			return 2;
		}
		return ret == 0 && fflush(stdout) == 0 ? 0 : 1;
	}
	if (check)
		return check_config(path);

	log_init("soukd", LOG_TARGET_AUTO);
	ret = soukd_new(path, &d, NULL);
	if (ret != 0)
		return 1;
	ret = soukd_start(d);
	/* before the store and shared memory: a plug-in that does not load
	 * refuses start-up without touching either */
	if (ret == 0)
		ret = soukd_plugins_start(d, &plugins);
	if (ret == 0)
		ret = soukd_publish_start(d, &pub);
	if (ret == 0)
		ret = soukd_publish_attach(pub);
	if (ret == 0)
		ret = soukd_jobs_start(d, soukd_publish_store(pub), &jobs);
	if (ret != 0) {
		soukd_jobs_free(&jobs);
		soukd_publish_free(&pub);
		soukd_free(&d);
		plugin_set_free(&plugins);
		return 1;
	}
	ret = soukd_run(d);
	soukd_jobs_free(&jobs);
	soukd_publish_free(&pub);
	soukd_free(&d);
	plugin_set_free(&plugins);
	return ret;
}

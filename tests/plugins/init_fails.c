/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/init_fails.c - init answers -EIO: refused. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(souk_plugin, "init_fails", -5, .fini = 0);

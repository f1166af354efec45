/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/bad_major.c - built for ABI major 2: refused. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(souk_plugin, "bad_major", 0, .abi_major = SOUK_PLUGIN_ABI_MAJOR + 1);

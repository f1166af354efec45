/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/newer_minor.c - built for a newer minor than the host knows: refused. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(souk_plugin, "newer_minor", 0, .abi_minor = SOUK_PLUGIN_ABI_MINOR + 1);

/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/too_small.c - claims a struct smaller than ABI 1.0: refused. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(souk_plugin, "too_small", 0, .size = 8);

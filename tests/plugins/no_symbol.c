/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/no_symbol.c - exports its struct under another name: refused. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(other_plugin, "no_symbol", 0, .fini = 0);

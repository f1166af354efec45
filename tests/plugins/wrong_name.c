/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/wrong_name.c - carries a name other than the file name: refused. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(souk_plugin, "someone_else", 0, .fini = 0);

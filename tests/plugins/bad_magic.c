/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/bad_magic.c - not a souk plug-in: wrong magic. */
#include "tests/plugins/test_plugin.h"

TEST_PLUGIN(souk_plugin, "bad_magic", 0, .magic = 0x12345678u);

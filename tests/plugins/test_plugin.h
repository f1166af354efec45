/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * tests/plugins/test_plugin.h - one payment plug-in per file, each wrong in
 * one way: TEST_PLUGIN(symbol, name, init's return, member overrides...).
 */
#include "souk/plugin.h"

#define TEST_PLUGIN(sym, nm, init_ret, ...)                                                        \
	static int t_init(const souk_plugin_config_t *cfg, void **state)                            \
	{                                                                                          \
		(void)cfg;                                                                         \
		*state = 0;                                                                        \
		return init_ret;                                                                   \
	}                                                                                          \
	SOUK_PLUGIN_EXPORT const souk_plugin_t sym = {                                             \
	    SOUK_PLUGIN_HEADER_INIT,                                                               \
	    .kind = SOUK_PLUGIN_PAYMENT,                                                           \
	    .name = nm,                                                                            \
	    .version = "0.1",                                                                      \
	    .init = t_init,                                                                        \
	    __VA_ARGS__}

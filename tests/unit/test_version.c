// SPDX-License-Identifier: Apache-2.0
/*
 * cni/version: rivet accepts exactly the seven strings libcni's version.All
 * lists, maps an empty or absent cniVersion to 0.1.0 as libcni decodes it,
 * and refuses everything else with code 1, msg "incompatible CNI versions"
 * and libcni's details text `config is "X", plugin supports [...]`. Matching
 * is string equality, not semver: "1.0", "1.0.0-rc1" or " 1.0.0" are not
 * 1.0.0.
 */
#include "testutil.h"

#include "cni/version.h"

static const char *const all[] = { "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };

static void test_every_supported_version(void **state)
{
	(void)state;
	assert_int_equal(CNI_V_COUNT, 7);
	for (int v = 0; v < CNI_V_COUNT; v++) {
		enum cni_version out = CNI_V_COUNT;
		struct rv_err err = { 0 };

		assert_string_equal(cni_version_name((enum cni_version)v), all[v]);
		assert_int_equal(cni_version_parse(all[v], &out, &err), 0);
		assert_int_equal(out, v);
		assert_int_equal(err.code, 0);
	}
	/* The enum is ordered, so "at least 0.4.0" is a comparison. */
	assert_true(CNI_V010 < CNI_V020 && CNI_V020 < CNI_V030 && CNI_V030 < CNI_V031 &&
		    CNI_V031 < CNI_V040 && CNI_V040 < CNI_V100 && CNI_V100 < CNI_V110);
	assert_int_equal(CNI_V_LATEST, CNI_V110);
}

static void test_empty_is_010(void **state)
{
	enum cni_version out = CNI_V110;

	(void)state;
	assert_int_equal(cni_version_parse("", &out, NULL), 0);
	assert_int_equal(out, CNI_V010);
	out = CNI_V110;
	assert_int_equal(cni_version_parse(NULL, &out, NULL), 0);
	assert_int_equal(out, CNI_V010);
}

static void test_unsupported(void **state)
{
	static const char *const bad[] = {
		"1.0", "2.0.0", "0.4", "1.0.0-rc1", "1", "0.5.0", "1.2.0", "v1.0.0", " 1.0.0",
		"1.0.0 ", "1.0.0\n", "01.0.0", "1.00.0", "1.0.0.0", "latest", "1.1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum cni_version out = CNI_V_COUNT;
		struct rv_err err = { 0 };
		char want[256];

		assert_int_equal(cni_version_parse(bad[i], &out, &err), -EINVAL);
		assert_err(err, CNI_ERR_VERSION, "incompatible CNI versions");
		/* The operator is told what to write instead. */
		assert_contains(err.msg, "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]");
		snprintf(want, sizeof(want),
			 "config is \"%s\", plugin supports "
			 "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]",
			 bad[i]);
		assert_string_equal(err.details, want);
		assert_int_equal(out, CNI_V_COUNT);
	}
}

static void test_unsupported_without_err(void **state)
{
	enum cni_version out;

	(void)state;
	/* A NULL error struct is allowed everywhere. */
	assert_int_equal(cni_version_parse("9.9.9", &out, NULL), -EINVAL);
}

static void test_versions_json_and_names(void **state)
{
	(void)state;
	assert_string_equal(cni_versions_json(),
			    "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]");
	assert_string_equal(cni_version_name(CNI_V_COUNT), "?");
	assert_string_equal(cni_version_name((enum cni_version)-1), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_supported_version),
		cmocka_unit_test(test_empty_is_010),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_unsupported_without_err),
		cmocka_unit_test(test_versions_json_and_names),
	};

	return cmocka_run_group_tests_name("cni/version", tests, NULL, NULL);
}

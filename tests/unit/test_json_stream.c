// SPDX-License-Identifier: Apache-2.0
/*
 * src/agent/json_stream: the framing of etcd's watch stream. A watch
 * answer is a run of JSON objects that TCP, TLS and HTTP chunking cut
 * anywhere; what comes out must be exactly the objects that went in, in
 * order, however the bytes were split: at every single position (inside a
 * string, between a backslash and what it escapes, between objects), one
 * byte at a time, and all at once. Braces and quotes inside strings do not
 * end an object; something that is not an object at the top is an error
 * that stays; an unfinished object is held, and one past the size limit is
 * refused rather than grown without bound.
 *
 * The module has no header in include/ (it is private to src/agent/ and
 * not in librivet), so its one file is compiled in here.
 */
#include "testutil.h"

#include "../../src/agent/json_stream.c"

/* Three objects with the hard parts: braces and brackets in strings, an
 * escaped quote, an escaped backslash right before a closing quote,
 * nesting, and the gateway's newline between objects. */
static const char *const objs[] = {
	"{\"result\":{\"header\":{\"revision\":\"2\"},\"created\":true}}",
	("{\"result\":{\"events\":[{\"kv\":{\"key\":\"e30=\",\"value\":\"}{\\\"]\\\\\"}},"
	 "{\"type\":\"DELETE\",\"kv\":{\"key\":\"W10=\"}}]}}"),
	"{\"error\":{\"grpc_code\":14,\"message\":\"transport is closing\"}}",
};

static char *joined(void)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s\n%s\n  \r\n%s\n", objs[0], objs[1], objs[2]);
	return buf;
}

/* Drain every complete object, checking each against objs[*next]. */
static void drain(struct json_stream *s, size_t *next)
{
	const char *obj;
	size_t len;
	int r;

	while ((r = json_stream_next(s, &obj, &len)) == 1) {
		assert_true(*next < 3);
		assert_int_equal(len, strlen(objs[*next]));
		assert_memory_equal(obj, objs[*next], len);
		(*next)++;
	}
	assert_int_equal(r, 0);
}

static void test_all_at_once(void **state)
{
	struct json_stream s = { 0 };
	const char *text = joined();
	size_t next = 0;

	(void)state;
	assert_int_equal(json_stream_feed(&s, text, strlen(text)), 0);
	drain(&s, &next);
	assert_int_equal(next, 3);
	assert_false(json_stream_pending(&s));
	json_stream_done(&s);
}

static void test_split_at_every_position(void **state)
{
	const char *text = joined();
	size_t len = strlen(text);

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct json_stream s = { 0 };
		size_t next = 0;

		assert_int_equal(json_stream_feed(&s, text, cut), 0);
		drain(&s, &next);
		assert_int_equal(json_stream_feed(&s, text + cut, len - cut), 0);
		drain(&s, &next);
		assert_int_equal(next, 3);
		json_stream_done(&s);
	}
}

static void test_byte_by_byte(void **state)
{
	struct json_stream s = { 0 };
	const char *text = joined();
	size_t next = 0;

	(void)state;
	for (size_t i = 0; text[i]; i++) {
		assert_int_equal(json_stream_feed(&s, &text[i], 1), 0);
		drain(&s, &next);
	}
	assert_int_equal(next, 3);
	json_stream_done(&s);
}

static void test_unfinished_is_held(void **state)
{
	struct json_stream s = { 0 };
	const char *obj;
	size_t len;

	(void)state;
	assert_int_equal(json_stream_feed(&s, "{\"a\":\"}\"", 8), 0);
	assert_int_equal(json_stream_next(&s, &obj, &len), 0);
	assert_true(json_stream_pending(&s));
	assert_int_equal(json_stream_feed(&s, "}", 1), 0);
	assert_int_equal(json_stream_next(&s, &obj, &len), 1);
	assert_int_equal(len, 9);
	assert_memory_equal(obj, "{\"a\":\"}\"}", 9);
	assert_false(json_stream_pending(&s));
	json_stream_done(&s);
}

static void test_not_an_object_is_an_error(void **state)
{
	struct json_stream s = { 0 };
	const char *obj;
	size_t len;

	(void)state;
	/* What a server that is not etcd's gateway answers: text, not JSON. */
	assert_int_equal(json_stream_feed(&s, "{}\n404 page not found\n", 22), 0);
	assert_int_equal(json_stream_next(&s, &obj, &len), 1);
	assert_int_equal(json_stream_next(&s, &obj, &len), -EBADMSG);
	/* It stays an error, whatever follows. */
	assert_int_equal(json_stream_feed(&s, "{}", 2), 0);
	assert_int_equal(json_stream_next(&s, &obj, &len), -EBADMSG);
	json_stream_done(&s);
}

static void test_size_limit(void **state)
{
	struct json_stream s = { 0 };
	static const char big[1] = "x";

	(void)state;
	assert_int_equal(json_stream_feed(&s, "{", 1), 0);
	/* The limit is checked before a byte is copied, so @big is not read. */
	assert_int_equal(json_stream_feed(&s, big, JSON_STREAM_MAX), -EMSGSIZE);
	json_stream_done(&s);
	assert_null(s.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_at_once),
		cmocka_unit_test(test_split_at_every_position),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_unfinished_is_held),
		cmocka_unit_test(test_not_an_object_is_an_error),
		cmocka_unit_test(test_size_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

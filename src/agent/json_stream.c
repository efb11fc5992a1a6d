// SPDX-License-Identifier: Apache-2.0
/*
 * Finds where each JSON object of a stream ends, whatever pieces the bytes
 * arrived in. A scanner that remembers its place (depth, inside a string,
 * after a backslash) between pieces looks at each byte once; re-parsing the
 * held bytes on every piece would make a large watch response cost the
 * square of its size. Whether an object is valid JSON is cJSON's business:
 * a mismatched bracket only makes this split at a place cJSON then rejects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"

void json_stream_done(struct json_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int json_stream_feed(struct json_stream *s, const void *p, size_t n)
{
	/* Drop what next() has returned, so the buffer holds only the object
	 * being scanned and what follows it. */
	if (s->start) {
		memmove(s->buf, s->buf + s->start, s->len - s->start);
		s->len -= s->start;
		s->scan -= s->start;
		s->obj = s->obj >= s->start ? s->obj - s->start : 0;
		s->start = 0;
	}
	if (!n)
		return 0;	/* and no memcpy to a buffer not yet allocated */
	if (n > JSON_STREAM_MAX || s->len > JSON_STREAM_MAX - n)
		return -EMSGSIZE;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		char *b;

		while (cap < s->len + n)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

int json_stream_next(struct json_stream *s, const char **obj, size_t *len)
{
	if (s->bad)
		return -EBADMSG;
	for (; s->scan < s->len; s->scan++) {
		char c = s->buf[s->scan];

		if (!s->depth) {
			if (is_space(c)) {
				s->start = s->scan + 1;
				continue;
			}
			if (c != '{') {
				s->bad = true;
				return -EBADMSG;
			}
			s->obj = s->scan;
			s->depth = 1;
			continue;
		}
		if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"')
				s->in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			s->in_str = true;
			break;
		case '{':
		case '[':
			s->depth++;
			break;
		case '}':
		case ']':
			if (--s->depth)
				break;
			s->scan++;
			*obj = s->buf + s->obj;
			*len = s->scan - s->obj;
			s->start = s->scan;
			return 1;
		}
	}
	return 0;
}

bool json_stream_pending(const struct json_stream *s)
{
	for (size_t i = s->start; i < s->len; i++)
		if (!is_space(s->buf[i]))
			return true;
	return false;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Framing of a byte stream that carries JSON objects one after another, as
 * etcd's gateway answers a watch: `{...}\n{...}\n` for as long as the watch
 * lives, cut into pieces wherever TCP, TLS and HTTP chunking happen to cut
 * it. Bytes go in as they arrive (json_stream_feed); whole objects come out
 * as they complete (json_stream_next), however the bytes were split.
 *
 * This only finds where each object ends (braces and brackets outside
 * strings, a string's escapes); cJSON parses what it returns. Private to
 * src/agent/.
 */
#ifndef RIVET_AGENT_JSON_STREAM_H
#define RIVET_AGENT_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>

/* No object may grow past this: what arrives is then not etcd's watch. */
#define JSON_STREAM_MAX (64u << 20)

struct json_stream {
	char *buf;
	size_t len, cap;
	size_t start;		/* first byte not yet returned by next() */
	size_t scan;		/* next byte to look at */
	size_t obj;		/* where the object being scanned starts */
	unsigned depth;		/* of { and [ in the object being scanned */
	bool in_str, esc;
	bool bad;		/* something other than an object at the top */
};

/* A zeroed struct is an empty stream; json_stream_done frees it (and makes
 * it empty again). */
void json_stream_done(struct json_stream *s);

/* Append @n bytes. -ENOMEM; -EMSGSIZE when an unfinished object would pass
 * JSON_STREAM_MAX. Invalidates what next() returned. */
int json_stream_feed(struct json_stream *s, const void *p, size_t n);

/* The next whole object: 1 and @obj/@len (valid until the next feed), 0 when
 * none is complete yet, -EBADMSG when the stream holds something other than
 * an object at the top level (from then on, always -EBADMSG). */
int json_stream_next(struct json_stream *s, const char **obj, size_t *len);

/* Bytes held that do not yet make a whole object (whitespace aside). */
bool json_stream_pending(const struct json_stream *s);

#endif

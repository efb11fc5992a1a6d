// SPDX-License-Identifier: Apache-2.0
/* Destructors and copies for the plain data in util/model.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/model.h"

void strv_done(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int strv_push(struct strv *sv, const char *s)
{
	char **v;
	char *copy = strdup(s);

	if (!copy)
		return -ENOMEM;
	v = realloc(sv->v, (sv->n + 1) * sizeof(*v));
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	v[sv->n++] = copy;
	sv->v = v;
	return 0;
}

void dns_done(struct rv_dns *d)
{
	strv_done(&d->nameservers);
	free(d->domain);
	d->domain = NULL;
	strv_done(&d->search);
	strv_done(&d->options);
}

bool dns_is_empty(const struct rv_dns *d)
{
	return !d->nameservers.n && !(d->domain && *d->domain) && !d->search.n && !d->options.n;
}

static int strv_copy(struct strv *dst, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (strv_push(dst, src->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

int dns_copy(struct rv_dns *dst, const struct rv_dns *src)
{
	if (src->domain && !(dst->domain = strdup(src->domain)))
		goto fail;
	if (strv_copy(&dst->nameservers, &src->nameservers) < 0 ||
	    strv_copy(&dst->search, &src->search) < 0 ||
	    strv_copy(&dst->options, &src->options) < 0)
		goto fail;
	return 0;
fail:
	dns_done(dst);
	return -ENOMEM;
}

void ipam_conf_done(struct ipam_conf *c)
{
	free(c->type);
	for (size_t i = 0; i < c->n_sets; i++)
		free(c->sets[i].r);
	free(c->sets);
	free(c->routes);
	free(c->data_dir);
	free(c->resolv_conf);
	free(c->requested);
	memset(c, 0, sizeof(*c));
}

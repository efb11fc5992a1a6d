#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A CRI client with kubelet's pod sandbox calls, for tests/runtimes.

kubelet never runs a CNI plugin: it asks the runtime over CRI to run a pod
sandbox, and the runtime (containerd's CRI plugin) runs the plugins. This
client makes the same calls kubelet makes for a pod's network, and nothing
else. Debian packages neither crictl nor the CRI's api.proto, so the
messages are ours (cri.proto, beside this file), compiled at run time with
grpc_tools' protoc into a descriptor set and loaded dynamically: Debian's
grpc_tools (protoc 3.5) generates Python code its protobuf 4.21 cannot load.

  criclient.py [--api v1|v1alpha2] SOCKET version
  criclient.py ... SOCKET run NAME CGROUP_PARENT   prints the sandbox ID
  criclient.py ... SOCKET status ID                prints JSON: state, ips,
                                                   netns, pid
  criclient.py ... SOCKET stop ID
  criclient.py ... SOCKET rm ID
  criclient.py ... SOCKET ls                       "ID NAME STATE" lines

A failed call prints the runtime's message on stderr and exits 1.
"""

import json
import os
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 120  # seconds per call: a test must not hang on a stuck runtime


def load_messages(api):
    """The message classes of cri.proto compiled as package runtime.API."""
    with open(os.path.join(HERE, "cri.proto")) as f:
        text = f.read().replace("package runtime.v1;", "package runtime.%s;" % api)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "cri.proto")
        out = os.path.join(tmp, "cri.pb")
        with open(src, "w") as f:
            f.write(text)
        if protoc.main(["protoc", "-I" + tmp, "--descriptor_set_out=" + out, src]) != 0:
            sys.exit("criclient: protoc could not compile cri.proto")
        with open(out, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in files.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    package = "runtime." + api

    def message(name):
        return factory.GetPrototype(pool.FindMessageTypeByName(package + "." + name))

    return package, message


class Runtime:
    def __init__(self, socket, api):
        self.package, self.message = load_messages(api)
        self.channel = grpc.insecure_channel("unix://" + socket)

    def call(self, method, **fields):
        request = self.message(method + "Request")(**fields)
        response = self.message(method + "Response")
        rpc = self.channel.unary_unary(
            "/%s.RuntimeService/%s" % (self.package, method),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        try:
            return rpc(request, timeout=TIMEOUT)
        except grpc.RpcError as e:
            sys.stderr.write("%s: %s: %s\n" % (method, e.code().name, e.details()))
            sys.exit(1)


def run(rt, name, cgroup_parent):
    # What kubelet sends for a pod on the pod network: network and IPC
    # shared by the pod, a PID namespace per container.
    m = rt.message
    config = m("PodSandboxConfig")(
        metadata=m("PodSandboxMetadata")(name=name, uid=name + "-uid", namespace="rivet-test"),
        hostname=name,
        labels={"app": "rivet-test"},
        linux=m("LinuxPodSandboxConfig")(
            cgroup_parent=cgroup_parent,
            security_context=m("LinuxSandboxSecurityContext")(
                namespace_options=m("NamespaceOption")(network=0, pid=1, ipc=0)
            ),
        ),
    )
    print(rt.call("RunPodSandbox", config=config).pod_sandbox_id)


def status(rt, sandbox):
    r = rt.call("PodSandboxStatus", pod_sandbox_id=sandbox, verbose=True)
    s = r.status
    out = {
        "id": s.id,
        "name": s.metadata.name,
        "state": "ready" if s.state == 0 else "notready",
        "ip": s.network.ip,
        "additionalIPs": [p.ip for p in s.network.additional_ips],
        "netns": "",
        "pid": 0,
    }
    # containerd's verbose info: the sandbox task's pid and the OCI spec,
    # whose network namespace entry is the path it gave the CNI plugins.
    info = json.loads(r.info.get("info", "{}"))
    out["pid"] = info.get("pid", 0)
    for ns in info.get("runtimeSpec", {}).get("linux", {}).get("namespaces", []):
        if ns.get("type") == "network":
            out["netns"] = ns.get("path", "")
    print(json.dumps(out))


def main(argv):
    api = "v1"
    if len(argv) > 1 and argv[0] == "--api":
        api, argv = argv[1], argv[2:]
    if len(argv) < 2:
        sys.exit(__doc__)
    rt = Runtime(argv[0], api)
    cmd, args = argv[1], argv[2:]
    if cmd == "version" and not args:
        v = rt.call("Version", version=api)
        print("%s %s %s" % (v.runtime_name, v.runtime_version, v.runtime_api_version))
    elif cmd == "run" and len(args) == 2:
        run(rt, *args)
    elif cmd == "status" and len(args) == 1:
        status(rt, args[0])
    elif cmd == "stop" and len(args) == 1:
        rt.call("StopPodSandbox", pod_sandbox_id=args[0])
    elif cmd == "rm" and len(args) == 1:
        rt.call("RemovePodSandbox", pod_sandbox_id=args[0])
    elif cmd == "ls" and not args:
        for s in rt.call("ListPodSandbox").items:
            print(s.id, s.metadata.name, "ready" if s.state == 0 else "notready")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

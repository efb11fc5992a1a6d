# SPDX-License-Identifier: Apache-2.0
#
# rivet: a routed CNI plugin. Plain GNU make; `make help` lists the targets.
#
#   make                 build build/rivet (the plugin) and build/rivetd (the agent)
#   make demo            install build deps, build, run a pod namespace end to end
#   make test            install test deps, build, run every test suite
#   make deps            install the build dependencies (Debian 12, as root)
#   make install         rivet to $(DESTDIR)$(CNI_BIN_DIR), rivetd to $(SBINDIR), man pages
#   make image           the node image conf/daemonset.yaml runs (Containerfile), offline
#   make bench-cluster   rivetd with 1000 nodes and 50 agents
#
# Variables: PREFIX, DESTDIR, CNI_BIN_DIR, SBINDIR, MANDIR, CC, V=1 (show commands),
# SANITIZE=1 (ASan+UBSan build into build/asan), NL_STATIC=0 (link libnl
# dynamically; see docs/performance.md for why the default links it statically),
# STATIC=1 (one self-contained binary, glibc included, into build/static),
# COMMIT=<id> (the commit --version names, where git cannot tell).

PREFIX      ?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin
MANDIR      ?= $(PREFIX)/share/man
SBINDIR     ?= $(PREFIX)/sbin
DESTDIR     ?=
CC          ?= cc
PKG_CONFIG  ?= pkg-config
NL_STATIC   ?= 1
SANITIZE    ?= 0
STATIC      ?= 0

# The release is the VERSION file's, which docs/rivet.8 and debian/changelog
# carry too; the commit is added in a git checkout of rivet itself ("-dirty"
# with uncommitted changes), and left out where there is none (a source
# package). `rivet --version` prints "rivet 0.2.0 (a326ad9)".
RELEASE := $(strip $(file <VERSION))
COMMIT  ?= $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && \
             git describe --always --dirty --abbrev=7 --exclude='*' 2>/dev/null)
VERSION := $(RELEASE)$(if $(COMMIT), ($(COMMIT)))

ifeq ($(STATIC),1)
BUILD    ?= build/static
endif
ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
NL_STATIC := 0
else
BUILD    ?= build
SANFLAGS :=
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Flags from pkg-config are looked up when a recipe first needs them, not
# while make reads this file: `make demo` (and `make deps all`) install
# pkg-config and the -dev packages in the same run, before anything is built.
# VAR = $(call once,VAR,TEXT): TEXT is expanded on VAR's first use, and kept.
once = $(eval $1 := $2)$($1)
# $(call pkg,OPTIONS,PACKAGES): pkg-config's answer, or a stop that says
# what is missing and how to install it.
pkg  = $(if $(shell $(PKG_CONFIG) --exists $2 2>/dev/null && echo y),$(shell $(PKG_CONFIG) $1 $2),$(error \
       $(PKG_CONFIG) cannot find $2: run 'make deps' as root (Debian 12), or install pkg-config and their -dev packages))

# libnl is linked from Debian's static archives when they exist: loading the
# two shared libraries costs more than the whole of rivet's own work on ADD
# (measured in docs/performance.md). libmnl, libnftnl and libcjson stay shared.
DYN_PKGS    := libcjson libmnl
NL_PKGS     := libnl-3.0 libnl-route-3.0 libnftnl
PKG_CFLAGS   = $(call once,PKG_CFLAGS,$(call pkg,--cflags,$(DYN_PKGS) $(NL_PKGS)))
NL_ARCHIVE   = $(and $(filter 1,$(NL_STATIC)),$(wildcard $(call pkg,--variable=libdir,libnl-route-3.0)/libnl-route-3.a))
LD_STATIC   := -Wl,-Bstatic
LD_DYNAMIC  := -Wl,-Bdynamic
NL_LIBS      = $(if $(NL_ARCHIVE),$(LD_STATIC) $(call pkg,--libs-only-l,$(NL_PKGS)) $(LD_DYNAMIC),$(call pkg,--libs,$(NL_PKGS)))
PKG_LIBS     = $(call once,PKG_LIBS,$(NL_LIBS) $(call pkg,--libs,$(DYN_PKGS)) -lpthread -lm)

# STATIC=1: for node images that ship the binary alone, and a little faster
# (no shared libraries to load; see docs/performance.md). It needs a static
# archive of every library: Debian ships them for libnl and libnftnl, not for
# libmnl and libcjson, so build those two (from their source packages or
# upstream) and put their .pc files on PKG_CONFIG_PATH.
ifeq ($(STATIC),1)
PKG_LIBS     = $(call once,PKG_LIBS,$(call pkg,--static --libs,$(DYN_PKGS) $(NL_PKGS)) -lpthread -lm)
LDFLAGS     += -static
STATIC_LIBS := mnl cjson nl-3 nl-route-3 nftnl c
endif

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
            -Wold-style-definition -Wshadow -Wpointer-arith -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS) -Wl,-O1 -Wl,--as-needed

# src/agent/ is rivetd's (libcurl, libcrypto): never linked into the plugin.
SRC      := $(filter-out src/agent/%,$(wildcard src/*.c src/*/*.c))
OBJ      := $(SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ  := $(filter-out $(BUILD)/obj/src/main.o,$(OBJ))

.PHONY: all clean install uninstall demo test check unit unit-bins integration deps test-deps \
        bench bench-cluster fuzz help asan image etcd-test-bins FORCE

all: $(BUILD)/rivet $(BUILD)/rivetd

$(BUILD)/rivet: $(OBJ)
	@for l in $(STATIC_LIBS); do \
		found=$$($(CC) -print-file-name=lib$$l.a); \
		for d in $(patsubst -L%,%,$(filter -L%,$(PKG_LIBS))); do \
			[ -f "$$d/lib$$l.a" ] && found=$$d/lib$$l.a; done; \
		case "$$found" in */*) ;; *) \
		echo "STATIC=1: lib$$l.a not found. Debian ships no static libmnl or libcjson;" \
		     "build them and add their pkg-config files to PKG_CONFIG_PATH (see README)." >&2; \
		exit 1 ;; esac; done
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

# Tests link every module but main.c.
$(BUILD)/librivet.a: $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $(LIB_OBJ)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(DEFS) -c -o $@ $<

-include $(OBJ:.o=.d)

# Only main.c prints the version (and rivetd's rivetd.c and agent.c); they
# are rebuilt when the version changes (a commit, a release), which no
# source file's date says.
VERSION_OBJ := $(BUILD)/obj/src/main.o $(BUILD)/obj/src/agent/rivetd.o $(BUILD)/obj/src/agent/agent.o
$(VERSION_OBJ): DEFS = -DRIVET_VERSION='"$(VERSION)"'
$(VERSION_OBJ): $(BUILD)/version
$(BUILD)/version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
FORCE:

# --- rivetd, the cluster agent (src/agent/) ---------------------------------
# Its own top over util/, net/ and the IPAM store (from librivet.a, which
# gives it only the objects it uses); its libraries reach only rivetd and
# its tests, never build/rivet. Their flags too are looked up on first use.
AGENT_PKGS    := libcurl libcjson libcrypto libmnl
AGENT_SRC     := $(wildcard src/agent/*.c)
AGENT_OBJ     := $(AGENT_SRC:%.c=$(BUILD)/obj/%.o)
AGENT_CFLAGS   = $(call once,AGENT_CFLAGS,$(call pkg,--cflags,$(AGENT_PKGS)))
AGENT_LIBS     = $(call once,AGENT_LIBS,$(call pkg,--libs,$(AGENT_PKGS)))
# The etcd client alone, for its own test.
ETCD_OBJ      := $(BUILD)/obj/src/agent/etcd.o $(BUILD)/obj/src/agent/json_stream.o

$(AGENT_OBJ): CFLAGS += $(AGENT_CFLAGS)

-include $(AGENT_OBJ:.o=.d)

# The agent's pure modules have unit tests of their own.
$(BUILD)/tests/test_cluster: tests/unit/test_cluster.c $(BUILD)/obj/src/agent/cluster.o \
		$(BUILD)/obj/src/agent/conflist.o $(BUILD)/librivet.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/obj/src/agent/cluster.o \
		$(BUILD)/obj/src/agent/conflist.o $(BUILD)/librivet.a $(LDFLAGS) $(PKG_LIBS) -lcmocka

# Linked dynamically even with STATIC=1: Debian ships no static libcurl, nor
# static archives of the libraries its build needs.
$(BUILD)/rivetd: $(AGENT_OBJ) $(BUILD)/librivet.a
	@echo "  LD      $@"
	$(Q)$(CC) $(filter-out -static,$(LDFLAGS)) -o $@ $(AGENT_OBJ) $(BUILD)/librivet.a $(AGENT_LIBS) -lm

# The etcd client's test needs a live etcd (tests/etcd/run.sh starts one),
# so it is not among the unit tests.
$(BUILD)/tests/etcd/test_etcd: tests/etcd/test_etcd.c $(ETCD_OBJ) $(BUILD)/librivet.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(AGENT_CFLAGS) -o $@ $< $(ETCD_OBJ) $(BUILD)/librivet.a $(LDFLAGS) $(AGENT_LIBS) -lcmocka

etcd-test-bins: $(BUILD)/tests/etcd/test_etcd

-include $(BUILD)/tests/etcd/test_etcd.d

# --- install -------------------------------------------------------------
# Temp file + rename: a runtime may be executing the old binary, and writing
# it in place would give "text file busy" or a torn executable.
install: $(BUILD)/rivet $(BUILD)/rivetd
	install -d $(DESTDIR)$(CNI_BIN_DIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/rivet $(DESTDIR)$(CNI_BIN_DIR)/.rivet.new
	mv -f $(DESTDIR)$(CNI_BIN_DIR)/.rivet.new $(DESTDIR)$(CNI_BIN_DIR)/rivet
	install -m 0755 $(BUILD)/rivetd $(DESTDIR)$(SBINDIR)/.rivetd.new
	mv -f $(DESTDIR)$(SBINDIR)/.rivetd.new $(DESTDIR)$(SBINDIR)/rivetd
	for m in rivet rivetd; do \
		sed '/^\.TH /s/"rivet [^"]*"/"rivet $(RELEASE)"/' docs/$$m.8 >$(BUILD)/$$m.8 && \
		install -m 0644 $(BUILD)/$$m.8 $(DESTDIR)$(MANDIR)/man8/$$m.8 || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(CNI_BIN_DIR)/rivet $(DESTDIR)$(SBINDIR)/rivetd \
		$(DESTDIR)$(MANDIR)/man8/rivet.8 $(DESTDIR)$(MANDIR)/man8/rivetd.8

# --- dependencies (Debian 12) ---------------------------------------------
BUILD_DEPS := build-essential pkg-config libcjson-dev libnl-3-dev libnl-route-3-dev \
              libmnl-dev libnftnl-dev libcurl4-openssl-dev libssl-dev iproute2 iputils-ping
TEST_DEPS  := $(BUILD_DEPS) clang libcmocka-dev jq nftables containernetworking-plugins \
              golang-go golang-github-appc-cni-dev podman runc containerd busybox-static \
              uidmap gnuplot-nox valgrind libclang-rt-14-dev debhelper devscripts lintian \
              python3-yaml python3-grpcio python3-grpc-tools python3-pkg-resources \
              etcd-server etcd-client openssl python3

deps:
	@scripts/apt-install.sh $(BUILD_DEPS)

test-deps:
	@scripts/apt-install.sh $(TEST_DEPS)

# --- the two commands of the README ---------------------------------------
# (./demo and ./test install make first, then run these.) The build runs in a
# make of its own, after the packages are in, also under make -j.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)/rivet

test: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run-all.sh

# --- tests ----------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librivet.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/librivet.a $(LDFLAGS) $(PKG_LIBS) -lcmocka

unit-bins: $(UNIT_BIN)

# What each test was built from, headers and any module .c it compiles in
# (test_json_stream does), so a change there rebuilds it.
-include $(UNIT_BIN:=.d)

unit:
	$(Q)tests/run-unit.sh

check: unit

integration: all
	$(Q)SUITES=integration tests/run-all.sh

bench: all
	$(Q)bench/run.sh

# rivetd with 1000 nodes and 50 agents (minutes; not in CI).
bench-cluster: all
	$(Q)bench/cluster.sh

# libFuzzer harnesses (clang); FUZZ_SECONDS per harness, FUZZ_ONLY=<name>.
fuzz:
	$(Q)tests/fuzz/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 all

# The node image (Containerfile): this build's binary (with the shared
# libraries it loads; STATIC=1 for a static one), the installer and the
# machine's static busybox, laid out by scripts/image-rootfs.sh. Nothing is
# fetched but the two packages it needs, when missing. IMAGE names it (rivet:<release>, what conf/daemonset*.yaml run).
IMAGE ?= rivet:$(RELEASE)
image: all
	@scripts/apt-install.sh podman busybox-static
	$(Q)scripts/image-rootfs.sh $(BUILD)/rivet $(BUILD)/image
	podman build --pull=never --network=none -f Containerfile -t $(IMAGE) $(BUILD)/image

help:
	@sed -n 's/^#   //p' Makefile

clean:
	rm -rf build

# xenstored and friends: one Makefile for the daemon, client tools, tests and benchmarks.
#   make              build daemon/xenstored and the client tools
#   make check        build and run every test
#   make check-asan   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make run          run the daemon in the foreground on ./run/socket
#   make bench        benchmarks, side by side with the reference daemons
#   make fuzz         every fuzz harness under libFuzzer, FUZZ_SECONDS (60) each
#   make install      honours PREFIX and DESTDIR
#
# O= puts objects and binaries in another tree (the sanitizer build uses build-asan).

O ?= .
PREFIX ?= /usr/local
DESTDIR ?=
SAN ?=

CC ?= cc
PKGS := libevent tdb xenevtchn xengnttab xencontrol
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -fno-strict-aliasing $(shell pkg-config --cflags $(PKGS))
LDLIBS_DAEMON := $(shell pkg-config --libs $(PKGS))
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PROTO_SRCS := proto/wire.c proto/path.c proto/perms.c proto/ring.c
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
TESTLIB_SRCS := tests/lib/xst_daemon.c tests/lib/xst_fuzz.c tests/lib/xst_wire.c tests/lib/xst_conn.c

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIBPROTO := $(O)/proto/libxsproto.a
LIBTEST := $(O)/tests/lib/libxst.a
# Everything of the daemon but main(): the daemon and the in-process tests link it.
LIBDAEMON := $(O)/daemon/libxsd.a
DAEMON := $(O)/daemon/xenstored
SIMGUEST := $(O)/client/xs-simguest

all: $(DAEMON) $(SIMGUEST)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBPROTO): $(call obj,$(PROTO_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBDAEMON): $(call obj,$(DAEMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBTEST): $(call obj,$(TESTLIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(call obj,$(TESTLIB_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"' \
	-DXST_REFD='"$(abspath $(REFD))"' -DXST_REF_SHIM='"$(abspath $(REFD_SHIM))"'

# The client library: xs-simguest, the tests and the benchmarks link it.
include client/rules.mk

$(DAEMON): $(call obj,daemon/main.c) $(LIBDAEMON) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON)

# Linked as any program using the library would be (xenstore_client.h only).
$(SIMGUEST): $(call obj,client/xs-simguest.c) $(LIBXSL_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(XSL_LIBS)

# Fragments add their own programs and test steps to CHECK_STEPS, BENCH_STEPS and FUZZ_STEPS.
CHECK_STEPS :=
BENCH_STEPS :=
FUZZ_STEPS :=
include tests/refd/rules.mk
include tests/rules.mk
-include tests/script/rules.mk
-include tests/ring/rules.mk
include tests/compat/rules.mk
include tests/fuzz/rules.mk
-include bench/rules.mk
# The client library's tests.
include tests/client/rules.mk

check: all $(CHECK_STEPS)
	@echo "all test steps passed ($(words $(CHECK_STEPS)) steps)"

check-asan:
	$(MAKE) O=build-asan SAN=1 check

bench: all $(BENCH_STEPS)

fuzz: $(FUZZ_STEPS)

RUNDIR ?= $(CURDIR)/run
run: all
	@mkdir -p $(RUNDIR)
	@echo "xenstored: socket $(RUNDIR)/socket  (export XENSTORED_PATH=$(RUNDIR)/socket)"
	XENSTORED_RUNDIR=$(RUNDIR) $(DAEMON) -N -F $(RUNDIR)/pid

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/doc/xenstored \
		$(DESTDIR)$(PREFIX)/etc/xen
	install -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/sbin/xenstored
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(SIMGUEST) $(DESTDIR)$(PREFIX)/bin/xs-simguest
	install -m 0644 conf/xenstored.conf $(DESTDIR)$(PREFIX)/etc/xen/xenstored.conf
	install -m 0644 README.md docs/ARCHITECTURE.md $(DESTDIR)$(PREFIX)/share/doc/xenstored/

clean:
	rm -rf build-asan run
	find . -name '*.o' -o -name '*.d' -o -name '*.a' | grep -v '^./.git' | xargs rm -f
	rm -f $(DAEMON) $(SIMGUEST) $(CLEAN_FILES)

.PHONY: all check check-asan bench fuzz run install clean $(CHECK_STEPS) $(BENCH_STEPS) $(FUZZ_STEPS)

# A recipe that fails leaves no half-written target to pass for a built one next time.
.DELETE_ON_ERROR:

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# Unit tests (Check) for proto/ and the daemon's pure parts, and scenario tests that start the real daemon.
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN := $(O)/tests/unit/unit_tests

# In-process tests of daemon modules (the store on a real tdb file, transactions,
# watches, access, dispatch) link the daemon's library.
$(UNIT_BIN): $(call obj,$(UNIT_SRCS)) $(LIBDAEMON) $(LIBSIMHYP) $(LIBTEST) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS_DAEMON)

$(call obj,$(UNIT_SRCS)): CFLAGS += $(CHECK_CFLAGS)

check-unit: $(UNIT_BIN)
	CK_FORK=yes $(UNIT_BIN)

CHECK_STEPS += check-unit

SCENARIO_SRCS := $(wildcard tests/scenario/*.c)
SCENARIO_BIN := $(O)/tests/scenario/scenario_tests

$(call obj,$(SCENARIO_SRCS)): CFLAGS += $(CHECK_CFLAGS)
$(call obj,$(SCENARIO_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

# libtdb: a test damages a store file on purpose, to see the check find it.
$(SCENARIO_BIN): $(call obj,$(SCENARIO_SRCS)) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(shell pkg-config --libs tdb) $(XSL_LIBS)

check-scenario: $(SCENARIO_BIN) $(DAEMON)
	CK_FORK=yes $(SCENARIO_BIN)

CHECK_STEPS += check-scenario

# Watches and transactions through Debian's libxenstore.
include tests/libxs/rules.mk

# The layering of docs/ARCHITECTURE.md: no daemon file includes a header from a layer above it.
check-layers:
	sh tests/layers/check-layers.sh

CHECK_STEPS += check-layers

# xenstore-control, the trace file, stats and the event timeout.
include tests/control/rules.mk

# The simulated hypervisor, between processes.
include tests/simhyp/rules.mk
# The xenbus layer of the client library: helpers and scenarios with both ends of a device.
include tests/bus/rules.mk

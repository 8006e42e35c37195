# Unit tests (Check) for proto/ and the daemon's pure parts, and scenario tests that start the real daemon.
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN := $(O)/tests/unit/unit_tests

# The store's test runs store.c on a real tdb file, with what store.c calls.
UNIT_DAEMON_SRCS := daemon/hmap.c daemon/dirindex.c daemon/store.c daemon/journal.c daemon/log.c \
	daemon/regions.c daemon/arena.c

$(UNIT_BIN): $(call obj,$(UNIT_SRCS) $(UNIT_DAEMON_SRCS)) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) -ltdb

$(call obj,$(UNIT_SRCS)): CFLAGS += $(CHECK_CFLAGS)

check-unit: $(UNIT_BIN)
	CK_FORK=yes $(UNIT_BIN)

CHECK_STEPS += check-unit

SCENARIO_SRCS := $(wildcard tests/scenario/*.c)
SCENARIO_BIN := $(O)/tests/scenario/scenario_tests

$(call obj,$(SCENARIO_SRCS)): CFLAGS += $(CHECK_CFLAGS)
$(call obj,$(SCENARIO_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

# libtdb: a test damages a store file on purpose, to see the check find it.
$(SCENARIO_BIN): $(call obj,$(SCENARIO_SRCS)) $(LIBTEST) $(LIBCLIENT) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(shell pkg-config --libs tdb)

check-scenario: $(SCENARIO_BIN) $(DAEMON)
	CK_FORK=yes $(SCENARIO_BIN)

CHECK_STEPS += check-scenario

# Watches and transactions through Debian's libxenstore.
include tests/libxs/rules.mk

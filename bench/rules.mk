# Benchmarks: xsbench runs our daemon and the reference daemons side by side (make bench).
XSBENCH := $(O)/bench/xsbench
XSBENCH_OBJS := $(call obj,bench/xsbench.c bench/xsbench_client.c bench/xsbench_daemons.c \
	bench/xsbench_report.c bench/xsbench_ops.c bench/xsbench_dirs.c bench/xsbench_memory.c \
	bench/xsbench_watches.c bench/xsbench_txn.c bench/xsbench_domains.c \
	bench/xsbench_attacks.c bench/xsbench_client_lib.c bench/xsbench_recovery.c \
	bench/xsbench_liveupdate.c)
# Extra options, e.g. make bench XSBENCH_ARGS="--quick --daemons=ours,c"
XSBENCH_ARGS ?=

# The client group links the library's code (the internal archive: the test
# helpers beside it need its hidden functions too, which the installed static
# form does not export) and Debian's libxenstore when present.
XSBENCH_LIBXS := $(shell pkg-config --exists xenstore 2>/dev/null && echo yes)
ifeq ($(XSBENCH_LIBXS),yes)
$(call obj,bench/xsbench_client_lib.c): CPPFLAGS += -DXSB_HAVE_LIBXS
$(call obj,bench/xsbench_client_lib.c): CFLAGS += $(shell pkg-config --cflags xenstore)
XSBENCH_LDLIBS := $(shell pkg-config --libs xenstore)
endif

$(XSBENCH_OBJS): CFLAGS += -pthread
# The recovery group starts our daemon itself (timed, with no 5 s limit).
$(call obj,bench/xsbench_recovery.c): CPPFLAGS += -DXSB_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(XSBENCH): $(XSBENCH_OBJS) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(XSBENCH_LDLIBS) $(XSL_LIBS)

# Under "make bench" the daemon is built first even with -j; "make bench-core"
# alone runs without it and reports our daemon as missing.
bench-core: $(XSBENCH) $(if $(filter bench,$(MAKECMDGOALS)),$(DAEMON))
	$(XSBENCH) $(XSBENCH_ARGS)

BENCH_STEPS += bench-core
CLEAN_FILES += $(XSBENCH)

# The floor: a server with no store, run beside the daemons (see bench/xsfloor.c).
XSFLOOR := $(O)/bench/xsfloor

$(XSFLOOR): $(call obj,bench/xsfloor.c) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libevent)

bench-core: $(XSFLOOR)
CLEAN_FILES += $(XSFLOOR)

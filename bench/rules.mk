# Benchmarks: xsbench runs our daemon and the reference daemons side by side (make bench).
XSBENCH := $(O)/bench/xsbench
XSBENCH_OBJS := $(call obj,bench/xsbench.c bench/xsbench_client.c bench/xsbench_daemons.c \
	bench/xsbench_report.c bench/xsbench_ops.c bench/xsbench_dirs.c bench/xsbench_memory.c \
	bench/xsbench_watches.c bench/xsbench_txn.c bench/xsbench_domains.c)
# Extra options, e.g. make bench XSBENCH_ARGS="--quick --daemons=ours,c"
XSBENCH_ARGS ?=

$(XSBENCH_OBJS): CFLAGS += -pthread

$(XSBENCH): $(XSBENCH_OBJS) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(XSL_LIBS)

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
	$(CC) $(LDFLAGS) -o $@ $^

bench-core: $(XSFLOOR)
CLEAN_FILES += $(XSFLOOR)

# Split drivers on the bus: the block device pair (blkif), its toolstack tool, their tests and benchmark.
#   drivers/blkback.c      the backend's data path (ring, checks, batched mapping, I/O on the image)
#   drivers/blkfront.c     the frontend's ring (requests, per-request grants, responses)
#   drivers/blkback_bus.c  the backend on a dom0 bus (devices, features, states, the serving loop)
#   drivers/blkfront_bus.c the frontend on a guest's bus
#   drivers/blk_toolstack.c, blk_simguest.c  attach/detach/introduce; a simulated guest
#   drivers/xs-blkback.c xs-blkfront.c xs-block.c  the programs
DRV_CORE_SRCS := drivers/blkback.c drivers/blkfront.c
DRV_SRCS := $(DRV_CORE_SRCS) drivers/blkback_bus.c drivers/blkfront_bus.c drivers/blk_toolstack.c \
	drivers/blk_simguest.c
LIBDRV := $(O)/drivers/libxsdrv.a
BLKBACK := $(O)/drivers/xs-blkback
BLKFRONT := $(O)/drivers/xs-blkfront
XSBLOCK := $(O)/drivers/xs-block

$(LIBDRV): $(call obj,$(DRV_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

all: $(BLKBACK) $(BLKFRONT) $(XSBLOCK)

# Linked as any program using the library would be (xenstore_client.h only).
$(BLKBACK) $(BLKFRONT) $(XSBLOCK): $(O)/drivers/%: $(O)/drivers/%.o $(LIBDRV) $(LIBXSL_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(XSL_LIBS)

install-drivers: $(BLKBACK) $(BLKFRONT) $(XSBLOCK) install-check
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(BLKBACK) $(DESTDIR)$(SBINDIR)/xs-blkback
	install -m 0755 $(XSBLOCK) $(DESTDIR)$(SBINDIR)/xs-block
	install -m 0755 $(BLKFRONT) $(DESTDIR)$(BINDIR)/xs-blkfront

# (Makefile's INSTALL_FILES names them too, for install-check.)
install: install-drivers
.PHONY: install-drivers

# The block benchmark: throughput against pread/pwrite, 1,000 guests' bring-up (make bench).
XSBENCH_BLK := $(O)/bench/xsbench_blk
XSBENCH_BLK_ARGS ?=

$(call obj,bench/xsbench_blk.c): CFLAGS += -pthread
$(call obj,bench/xsbench_blk.c): CPPFLAGS += -DXSB_BLKBACK_BIN='"$(abspath $(BLKBACK))"'

$(XSBENCH_BLK): $(call obj,bench/xsbench_blk.c) $(LIBDRV) $(LIBTEST) $(LIBXSL_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(XSL_LIBS)

bench-blk: $(XSBENCH_BLK) $(BLKBACK) $(if $(filter bench,$(MAKECMDGOALS)),$(DAEMON))
	$(XSBENCH_BLK) $(XSBENCH_BLK_ARGS)

BENCH_STEPS += bench-blk
CLEAN_FILES += $(BLKBACK) $(BLKFRONT) $(XSBLOCK) $(XSBENCH_BLK)

include tests/blk/rules.mk

# The benchmarks are built by make check too, so that they cannot stop linking unseen.
check-bench-build: $(XSBENCH) $(XSFLOOR) $(XSBENCH_BLK)
	@echo "benchmarks built"

CHECK_STEPS += check-bench-build

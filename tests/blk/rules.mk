# The block pair's tests (Check): the data path in one process over a one-process hypervisor,
# then the pair end to end over the daemon and the simulated hypervisor, then the README's flow.
BLK_DP_BIN := $(O)/tests/blk/blk_datapath
BLK_DP_OBJS := $(call obj,tests/blk/test_datapath.c tests/blk/fake_hyp.c)

$(BLK_DP_OBJS): CFLAGS += $(CHECK_CFLAGS)

# Not the client library: fake_hyp.c is the hypervisor here.
$(BLK_DP_BIN): $(BLK_DP_OBJS) $(call obj,$(DRV_CORE_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) -lpthread

check-blk-datapath: $(BLK_DP_BIN)
	CK_FORK=yes $(BLK_DP_BIN)

CHECK_STEPS += check-blk-datapath
CLEAN_FILES += $(BLK_DP_BIN)

BLK_PAIR_BIN := $(O)/tests/blk/blk_pair

$(call obj,tests/blk/test_pair.c): CFLAGS += $(CHECK_CFLAGS) -pthread

$(BLK_PAIR_BIN): $(call obj,tests/blk/test_pair.c) $(LIBDRV) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(CHECK_LIBS) $(XSL_LIBS)

check-blk-pair: $(BLK_PAIR_BIN) $(DAEMON)
	CK_FORK=yes $(BLK_PAIR_BIN)

# The README's flow with the programs: xs-simhyp, xenstored, xs-blkback, xs-blkfront, xs-block.
check-blk-flow: $(DAEMON) $(BLKBACK) $(BLKFRONT) $(XSBLOCK)
	O=$(O) sh tests/blk/flow.sh

CHECK_STEPS += check-blk-pair check-blk-flow
CLEAN_FILES += $(BLK_PAIR_BIN)

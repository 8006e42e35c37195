# The block pair's tests (Check): the data path in one process over a one-process hypervisor,
# then the programs end to end over the daemon and the simulated hypervisor.
BLK_DP_BIN := $(O)/tests/blk/blk_datapath
BLK_TEST_OBJS := $(call obj,tests/blk/test_datapath.c tests/blk/fake_hyp.c)

$(BLK_TEST_OBJS): CFLAGS += $(CHECK_CFLAGS)

# Not the client library: fake_hyp.c is the hypervisor here.
$(BLK_DP_BIN): $(BLK_TEST_OBJS) $(call obj,$(DRV_CORE_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) -lpthread

check-blk-datapath: $(BLK_DP_BIN)
	CK_FORK=yes $(BLK_DP_BIN)

CHECK_STEPS += check-blk-datapath
CLEAN_FILES += $(BLK_DP_BIN)

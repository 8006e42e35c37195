# Split drivers on the bus: the block device pair (blkif), its toolstack tool, their tests and benchmark.
#   drivers/blkback.c   the backend's data path (ring, checks, batched mapping, I/O on the image)
#   drivers/blkfront.c  the frontend's ring (requests, per-request grants, responses)
DRV_CORE_SRCS := drivers/blkback.c drivers/blkfront.c
LIBDRV := $(O)/drivers/libxsdrv.a

$(LIBDRV): $(call obj,$(DRV_CORE_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

include tests/blk/rules.mk

# Operations: start-up, locking, signals and readiness of the daemon; the man
# pages; the systemd unit; the install layout.
OPSPROBE := $(O)/tests/ops/opsprobe
OPS_UNIT := $(O)/tests/ops/xenstored.service
OPS_ETC := $(O)/tests/ops/etc

$(OPSPROBE): $(call obj,tests/ops/opsprobe.c)
	$(CC) $(LDFLAGS) -o $@ $^

# The unit as installed, its paths pointing into this tree: the build's daemon,
# conf/xenstored-prepare, and a conf directory holding xen/xenstored.conf.
$(OPS_UNIT): conf/xenstored.service.in Makefile
	@mkdir -p $(OPS_ETC)/xen
	cp conf/xenstored.conf $(OPS_ETC)/xen/xenstored.conf
	$(call unit_subst,$(abspath $(dir $(DAEMON))),$(abspath conf),$(abspath $(OPS_ETC))) >$@

check-ops: $(DAEMON) $(OPSPROBE)
	sh tests/ops/lifecycle.sh $(abspath $(DAEMON)) $(abspath $(OPSPROBE))

check-man: $(DAEMON)
	sh tests/ops/man.sh $(abspath $(DAEMON))

check-service: $(DAEMON) $(OPSPROBE) $(OPS_UNIT)
	sh tests/ops/service.sh $(abspath $(OPS_UNIT)) $(abspath $(OPSPROBE))

check-install: all
	sh tests/ops/install.sh "$(MAKE)" "$(O)" "$(SAN)"

CHECK_STEPS += check-ops check-man check-service check-install
CLEAN_FILES += $(OPSPROBE) $(OPS_UNIT) $(OPS_ETC)/xen/xenstored.conf

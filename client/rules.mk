# The client library (xenstore_client.h, prefix xsl_): static and shared, a pkg-config file, the man page.
XSL_VERSION := 0.1.0
XSL_SONAME := libxenstore_client.so.0
XSL_SRCS := $(wildcard client/xsl_*.c)
XSL_OBJS := $(call obj,$(XSL_SRCS))
XSL_PIC_OBJS := $(patsubst %.c,$(O)/pic/%.o,$(XSL_SRCS) $(PROTO_SRCS) $(SIMHYP_CALL_SRCS))

# Tests link the layers themselves (internal symbols included).
LIBXSL_INTERNAL := $(O)/client/libxsl-internal.a
# What is installed: only xsl_* is global in either.
LIBXSL_A := $(O)/client/libxenstore_client.a
LIBXSL_SO := $(O)/client/$(XSL_SONAME)
XSL_PC := $(O)/client/xenstore_client.pc
XSL_LIBS := -lxenevtchn -lxengnttab -lpthread
XSL_EXAMPLE := $(O)/client/examples/xsl-watch-libevent

all: $(LIBXSL_A) $(LIBXSL_SO) $(XSL_PC) $(XSL_EXAMPLE)

# Only the API is visible outside the library: internal functions share the
# xsl_ prefix, so visibility (not the name) decides, and the static library's
# global symbols are the ones the header declares XSL_API.
$(XSL_OBJS) $(patsubst %.c,$(O)/pic/%.o,$(XSL_SRCS)): CFLAGS += -fvisibility=hidden
XSL_API_SYMS := $(O)/client/xsl_api.syms

$(XSL_API_SYMS): client/xenstore_client.h
	@mkdir -p $(dir $@)
	grep -E '^XSL_API' $< | grep -oE 'XSL_API[^(]*\(' | sed -E 's/.*[ *]([a-z_0-9]+)\($$/\1/' > $@

$(O)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(LIBXSL_INTERNAL): $(XSL_OBJS) $(call obj,$(SIMHYP_CALL_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# One relocatable object whose only global symbols are the API's: proto's xs_* and the internals stay private.
# Made of the shared library's position-independent objects: proto's others are the daemon's, optimised at link time.
$(LIBXSL_A): $(XSL_PIC_OBJS) $(XSL_API_SYMS)
	$(LD) -r -o $(O)/client/libxenstore_client-all.o $(filter %.o,$^)
	objcopy --keep-global-symbols=$(XSL_API_SYMS) $(O)/client/libxenstore_client-all.o
	rm -f $@
	$(AR) rcs $@ $(O)/client/libxenstore_client-all.o

$(LIBXSL_SO): $(XSL_PIC_OBJS) client/xenstore_client.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(XSL_SONAME) -Wl,--version-script=client/xenstore_client.map \
		-o $@ $(XSL_PIC_OBJS) $(XSL_LIBS)
	ln -sf $(XSL_SONAME) $(O)/client/libxenstore_client.so

$(XSL_PC): client/xenstore_client.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(XSL_VERSION)|' $< > $@

# The event-loop embedding, shown with libevent and linked as any program would link the library.
$(XSL_EXAMPLE): $(call obj,client/examples/xsl-watch-libevent.c) $(LIBXSL_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libevent) $(XSL_LIBS)

# The .pc is written for the PREFIX installed to (the one in $(O) is for /usr/local).
install-client: $(LIBXSL_A) $(LIBXSL_SO)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/man/man3
	install -m 0644 client/xenstore_client.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(LIBXSL_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(LIBXSL_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(XSL_SONAME) $(DESTDIR)$(PREFIX)/lib/libxenstore_client.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(XSL_VERSION)|' client/xenstore_client.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/xenstore_client.pc
	install -m 0644 docs/man/xenstore_client.3 $(DESTDIR)$(PREFIX)/share/man/man3/

install: install-client

CLEAN_FILES += $(XSL_API_SYMS) $(LIBXSL_SO) $(O)/client/libxenstore_client.so $(XSL_PC) $(XSL_EXAMPLE)
.PHONY: install-client

# sockecho's front door. `make run` and `make test` are the two commands a fresh Debian
# machine needs; both install missing packages first (as root) or print the apt-get line.
# .ci/fresh-machine proves it: both commands in a minbase Debian 12 chroot with only make.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
DEB_BUILD  ?= build-deb
PREFIX     ?= /usr/local
DESTDIR    ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PORT       ?= 48763
# The Maintainer field of `make deb`'s package, "Name <address>"; empty: cmake/Packaging.cmake's
# default, "sockecho developers <sockecho@sockecho.invalid>". cpack reads it from the
# environment, so changing it needs no reconfigure.
SOCKECHO_MAINTAINER ?=
export SOCKECHO_MAINTAINER
# Debian's build flags for the package's binary, from dpkg-buildflags as a package build gets
# them (-g -O2, _FORTIFY_SOURCE=2, -fstack-protector-strong, format-security, relro); +all adds
# bindnow, so that the GOT of a program that faces the network is read-only too.
DEB_BUILD_MAINT_OPTIONS ?= hardening=+all

# A new package goes in the list of the first target that needs it. Build: everything the
# configure and build of build/ need, its tests included (build/ has them, so `make run`
# configures tests/CMakeLists.txt too): compiler, cmake, ninja, the three fixed libraries,
# Catch2, and python3, which tests/CMakeLists.txt finds to register the e2e tests. A library
# the tests link belongs here as well. Test: what the tests run: the peers the e2e tests
# talk to and the tools that check the docs and the packages.
BUILD_PKGS := g++ cmake ninja-build pkg-config libcxxopts-dev libfmt-dev catch2 python3 libfiu-dev \
              libssl-dev
TEST_PKGS  := netcat-openbsd socat mandoc groff-base bash-completion zsh fish iproute2 nftables \
              dpkg-dev file fiu-utils netbase openssl ca-certificates ncat lintian
BENCH_PKGS := ncat socat netcat-openbsd coreutils openssl nginx-light libnginx-mod-stream
FUZZ_PKGS  := clang libclang-rt-dev

.PHONY: all deps deps-build deps-test deps-bench deps-fuzz build run serve test test-dev test-asan test-tsan test-fuzz \
        bench install uninstall clean format fuzz deb FORCE

all: build

# Installs what `dpkg -s` says is missing; as non-root it prints the exact line and fails.
define ensure_pkgs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "make: missing packages; run: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	fi
endef

deps: deps-build deps-test
deps-build:
	$(call ensure_pkgs,$(BUILD_PKGS))
deps-test:
	$(call ensure_pkgs,$(TEST_PKGS))
deps-bench:
	$(call ensure_pkgs,$(BENCH_PKGS))
deps-fuzz:
	$(call ensure_pkgs,$(FUZZ_PKGS))

# Configures the build tree $(1) with the CMake flags $(2): the recipe of $(1)/.configured,
# a stamp written only once cmake has succeeded. CMakeCache.txt is no stamp: a configure
# that fails writes it too. Every tree's stamp depends on this Makefile (its flags) and,
# order-only, on the deps targets, so the generator is chosen here, at recipe time, after
# they ran: CMAKE_GENERATOR from the environment, else Ninja when it is there (deps-build
# installs it), else CMake's default. A cache written for another generator (a configure
# before ninja was installed) can't be reused: it goes, as CMake's error message says.
define configure
	@rm -f $@; \
	gen="$${CMAKE_GENERATOR:-$$(command -v ninja >/dev/null 2>&1 && echo Ninja || echo 'Unix Makefiles')}"; \
	if [ -f $(1)/CMakeCache.txt ] && ! grep -qxF "CMAKE_GENERATOR:INTERNAL=$$gen" $(1)/CMakeCache.txt; then \
	  echo "make: $(1)/ was configured for another generator; configuring it afresh for $$gen"; \
	  rm -rf $(1)/CMakeCache.txt $(1)/CMakeFiles; \
	fi; \
	echo "cmake -S . -B $(1) -G \"$$gen\" $(strip $(2))"; \
	cmake -S . -B $(1) -G "$$gen" $(2) && touch $@
endef

$(BUILD)/.configured: Makefile | deps-build
	$(call configure,$(BUILD),-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKECHO_WERROR=ON)

build: deps-build $(BUILD)/.configured
	cmake --build $(BUILD) -j $(JOBS)

run serve: build
	./$(BUILD)/sockecho serve -p $(PORT)

# The whole suite: the dev build (-Werror), then the same tests under ASan+UBSan. Both runs
# of tests/e2e/test_deb.py check the package `make deb` built (SOCKECHO_DEB).
test: deps test-dev test-asan test-tsan test-fuzz

test-dev: build deb
	cd $(BUILD) && SOCKECHO_DEB="$(deb_file)" ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/.configured: Makefile | deps-build
	$(call configure,$(ASAN_BUILD),-DCMAKE_BUILD_TYPE=Debug -DSOCKECHO_WERROR=ON \
	  -DSOCKECHO_SANITIZE=ON -DSOCKECHO_BENCH=OFF -DSOCKECHO_FAULTS=ON)

test-asan: deps-build deps-test deb $(ASAN_BUILD)/.configured
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && SOCKECHO_DEB="$(deb_file)" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The only code that runs on several threads is serve --threads: its tests run under TSan.
$(TSAN_BUILD)/.configured: Makefile | deps-build
	$(call configure,$(TSAN_BUILD),-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKECHO_WERROR=ON \
	  -DSOCKECHO_TSAN=ON -DSOCKECHO_TESTS=OFF -DSOCKECHO_BENCH=OFF)

test-tsan: deps-build deps-test $(TSAN_BUILD)/.configured
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target sockecho
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 SOCKECHO=$(TSAN_BUILD)/sockecho \
	  python3 tests/e2e/test_threads.py

bench: build deps-bench
	BUILD=$(BUILD) bench/run

# libFuzzer targets (clang), each run for FUZZ_SECONDS against its corpus in fuzz/corpus/.
FUZZ_SECONDS ?= 30
$(FUZZ_BUILD)/.configured: Makefile | deps-build deps-fuzz
	$(call configure,$(FUZZ_BUILD),-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSOCKECHO_FUZZ=ON \
	  -DSOCKECHO_TESTS=OFF -DSOCKECHO_BENCH=OFF)

fuzz: deps-build deps-fuzz $(FUZZ_BUILD)/.configured
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run

# The bounded fuzz run of `make test`: every target for FUZZ_TEST_SECONDS against its corpus.
FUZZ_TEST_SECONDS ?= 20
test-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)

# The Debian package (CPack, cmake/Packaging.cmake): $(DEB_BUILD)/sockecho_<version>_<arch>.deb,
# from a build of its own with Debian's build flags (DEB_BUILD_MAINT_OPTIONS) and CMake's
# build type None, as debhelper builds a CMake package: the flags are dpkg-buildflags' alone.
# No -Werror there: a new compiler's new warning must not stop a package build. Its flags
# are kept in $(DEB_BUILD)/.flags, rewritten only when they change, so that a change
# reconfigures.
deb_flags = $(shell DEB_BUILD_MAINT_OPTIONS='$(DEB_BUILD_MAINT_OPTIONS)' dpkg-buildflags --get $(1))
deb_cmake_flags = -DCMAKE_BUILD_TYPE=None -DSOCKECHO_TESTS=OFF -DSOCKECHO_BENCH=OFF \
  -DCMAKE_C_FLAGS='$(call deb_flags,CFLAGS) $(call deb_flags,CPPFLAGS)' \
  -DCMAKE_CXX_FLAGS='$(call deb_flags,CXXFLAGS) $(call deb_flags,CPPFLAGS)' \
  -DCMAKE_EXE_LINKER_FLAGS='$(call deb_flags,LDFLAGS)'
# The package file: the one left by the rm -f in the deb recipe and cpack.
deb_file = $(abspath $(wildcard $(DEB_BUILD)/sockecho_*.deb))

$(DEB_BUILD)/.flags: FORCE | deps-test
	@mkdir -p $(DEB_BUILD); flags="$(strip $(deb_cmake_flags))"; \
	[ -f $@ ] && [ "$$(cat $@)" = "$$flags" ] || printf '%s\n' "$$flags" > $@

$(DEB_BUILD)/.configured: Makefile $(DEB_BUILD)/.flags | deps-build deps-test
	$(call configure,$(DEB_BUILD),$(deb_cmake_flags))

deb: deps-build deps-test $(DEB_BUILD)/.configured
	cmake --build $(DEB_BUILD) -j $(JOBS)
	rm -f $(DEB_BUILD)/sockecho_*.deb
	cd $(DEB_BUILD) && cpack -G DEB

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/sockecho" "$(DESTDIR)$(PREFIX)/share/man/man1/sockecho.1" \
	  "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockecho" \
	  "$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockecho" \
	  "$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockecho.fish"

format:
	clang-format -i $$(find src tests bench -name '*.cc' -o -name '*.h' -o -name '*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)

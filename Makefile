# sockecho's front door. `make run` and `make test` are the two commands a fresh Debian
# machine needs; both install missing packages first (as root) or print the apt-get line.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
PREFIX     ?= /usr/local
DESTDIR    ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
PORT       ?= 48763

# Build: compiler, cmake, the three fixed libraries. Test: the peers the e2e tests talk to
# and the tools that check the docs.
BUILD_PKGS := g++ cmake ninja-build pkg-config libcxxopts-dev libfmt-dev catch2 libfiu-dev
TEST_PKGS  := python3 netcat-openbsd socat mandoc groff-base bash-completion zsh fish iproute2 \
              dpkg-dev file fiu-utils
BENCH_PKGS := ncat coreutils

.PHONY: all deps deps-build deps-test deps-bench build run serve test test-dev test-asan test-tsan test-fuzz \
        bench install uninstall clean format fuzz deb

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

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKECHO_WERROR=ON \
	  -DSOCKECHO_FAULTS=ON

build: deps-build $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run serve: build
	./$(BUILD)/sockecho serve -p $(PORT)

# The whole suite: the dev build (-Werror), then the same tests under ASan+UBSan.
test: deps test-dev test-asan test-tsan test-fuzz

test-dev: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DSOCKECHO_WERROR=ON \
	  -DSOCKECHO_SANITIZE=ON -DSOCKECHO_BENCH=OFF -DSOCKECHO_FAULTS=ON

test-asan: deps-build deps-test $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The only code that runs on several threads is serve --threads: its tests run under TSan.
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKECHO_WERROR=ON \
	  -DSOCKECHO_TSAN=ON -DSOCKECHO_TESTS=OFF -DSOCKECHO_BENCH=OFF

test-tsan: deps-build deps-test $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target sockecho
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 SOCKECHO=$(TSAN_BUILD)/sockecho \
	  python3 tests/e2e/test_threads.py

bench: build deps-bench
	BUILD=$(BUILD) bench/run

# libFuzzer targets (clang), each run for FUZZ_SECONDS against its corpus in fuzz/corpus/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
fuzz: deps-build
	$(call ensure_pkgs,clang libclang-rt-dev)
	cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSOCKECHO_FUZZ=ON \
	  -DSOCKECHO_TESTS=OFF -DSOCKECHO_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run

# The bounded fuzz run of `make test`: every target for FUZZ_TEST_SECONDS against its corpus.
FUZZ_TEST_SECONDS ?= 20
test-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)

# A Debian package of the binary, the man page and the completions (CPack).
deb: build deps-test
	cd $(BUILD) && cpack -G DEB

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz

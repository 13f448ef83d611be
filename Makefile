# sockecho's front door. `make run` and `make test` are the two commands a fresh Debian
# machine needs; both install missing packages first (as root) or print the apt-get line.

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
DESTDIR    ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
PORT       ?= 48763

# Build: compiler, cmake, the three fixed libraries. Test: the peers the e2e tests talk to
# and the tools that check the docs.
BUILD_PKGS := g++ cmake ninja-build pkg-config libcxxopts-dev libfmt-dev catch2
TEST_PKGS  := python3 netcat-openbsd socat mandoc groff-base bash-completion zsh fish iproute2
BENCH_PKGS := ncat coreutils

.PHONY: all deps deps-build deps-test deps-bench build run serve test test-dev test-asan \
        bench install uninstall clean format

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
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKECHO_WERROR=ON

build: deps-build $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run serve: build
	./$(BUILD)/sockecho serve -p $(PORT)

# The whole suite: the dev build (-Werror), then the same tests under ASan+UBSan.
test: deps test-dev test-asan

test-dev: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DSOCKECHO_WERROR=ON \
	  -DSOCKECHO_SANITIZE=ON -DSOCKECHO_BENCH=OFF

test-asan: deps-build deps-test $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: build deps-bench
	BUILD=$(BUILD) bench/run

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
	rm -rf $(BUILD) $(ASAN_BUILD)

# Common commands. `make run` and `make test` install what they need first.
JOBS ?= $(shell nproc)
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

RELEASE_DIR := build/release
TEST_DIR := build/test
FUZZ_DIR := build/fuzz

.PHONY: all deps test-deps build build-test run test test-unit fuzz bench bench-full format format-check tidy clean

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

$(RELEASE_DIR)/CMakeCache.txt:
	cmake -S . -B $(RELEASE_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_TESTS=OFF

build: deps $(RELEASE_DIR)/CMakeCache.txt
	cmake --build $(RELEASE_DIR) -j $(JOBS) --target tandem

# Tests run under AddressSanitizer and UndefinedBehaviorSanitizer.
$(TEST_DIR)/CMakeCache.txt:
	cmake -S . -B $(TEST_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON \
	  -DTANDEM_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"

build-test: test-deps $(TEST_DIR)/CMakeCache.txt
	cmake --build $(TEST_DIR) -j $(JOBS)

run: build
	scripts/run-demo $(RELEASE_DIR)/src/cli/tandem

# Style first (scripts/check-style: clang-format everywhere, clang-tidy on changed sources).
test: build-test
	scripts/check-style $(TEST_DIR)
	cd $(TEST_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 300

test-unit: build-test
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

# Fuzzing (docs/testing.md): every target under libFuzzer for FUZZ_SECONDS each, starting from
# its corpus in fuzz/corpus/<name>; new inputs go to build/fuzz/new/<name>, crashes to
# build/fuzz/crashes/. Fails at the first target that crashes. Needs clang.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= protocol_codec socketio http_request jwt jwks base64 pgoutput pg_types pg_json_text
FUZZ_MAX_LEN ?= 16384
FUZZ_FLAGS ?=

$(FUZZ_DIR)/CMakeCache.txt:
	@command -v clang++ >/dev/null || { echo "make fuzz needs clang (apt-get install clang)"; exit 1; }
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DTANDEM_FUZZ=ON -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCH=OFF

fuzz: test-deps $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(addsuffix _fuzz,$(FUZZ_TARGETS))
	@mkdir -p $(FUZZ_DIR)/crashes
	@set -e; for target in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/new/$$target; \
	  echo "== $$target ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_DIR)/fuzz/$${target}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -max_len=$(FUZZ_MAX_LEN) -artifact_prefix=$(FUZZ_DIR)/crashes/$$target- $(FUZZ_FLAGS) \
	    $(FUZZ_DIR)/new/$$target fuzz/corpus/$$target; \
	done

# Benchmarks (docs/benchmarks.md): `bench` is the quick run (under 5 minutes), `bench-full`
# the long one behind the figures in the docs. Both build into build/bench (Release) and
# need PostgreSQL 15 (server and pgbench), which test-deps installs.
bench: test-deps
	bench/run_bench.sh quick

bench-full: test-deps
	bench/run_bench.sh full

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

tidy: $(TEST_DIR)/CMakeCache.txt
	run-clang-tidy -p $(TEST_DIR) -quiet -extra-arg=-Wno-unknown-warning-option 'src/'

clean:
	rm -rf build

# switchyard: a thin front for Meson + Ninja. Everything real is in meson.build.
#
#   make run     install what is missing, build (release), start the server with a demo
#                workspace, flags and experiment, print its URL and admin token
#                (LISTEN=ADDR:PORT)
#   make test    install what is missing, build with ASan+UBSan, run every test (and those
#                that run threads again under ThreadSanitizer)
#   make install install switchyard, libswitchyard (.so/.a), its header and switchyard.pc
#                (under /usr/local; PREFIX=... to change, DESTDIR=... to stage)
#   make bench   build optimised and run the benchmarks (statistics, flag evaluation against
#                flagd-core, OFREP against nginx (one and two workers), OFREP under ingest
#                and flag changes, event ingest against a raw sqlite3 insert, the time from
#                a health breach to its rollback being served, the proxy against nginx, and
#                what one change costs as a workspace grows to 100,000 flags, and a scrape
#                of /metrics with 1,000 experiments, alone and beside OFREP, and on
#                PostgreSQL: batched ingest against a raw COPY, OFREP against a SQLite-backed
#                node, a change's fan-out across three nodes)
#   make simulate-figures  the statistics' promises by simulation (bench/simulate.sh: false
#                promotions, rollbacks, SRM alarms, interval coverage, the printed power),
#                RUNS runs a scenario (1000: about an hour)
#   make fuzz    build the libFuzzer targets with clang and run each for FUZZ_SECONDS
#   make format  clang-format every C file

MESON       ?= meson
FUZZ_SECONDS ?= 60
RELEASE      = build/release
TEST         = build/test
TSAN         = build/tsan
FUZZ         = build/fuzz

.PHONY: all deps build install run test bench simulate-figures fuzz format clean

all: build

deps:
	@scripts/deps.sh

$(RELEASE)/build.ninja:
	$(MESON) setup $(RELEASE) --buildtype=release -Dtests=true

$(TEST)/build.ninja:
	$(MESON) setup $(TEST) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

$(TSAN)/build.ninja:
	$(MESON) setup $(TSAN) --buildtype=debug -Db_sanitize=thread -Db_lundef=false

build: deps $(RELEASE)/build.ninja
	$(MESON) compile -C $(RELEASE)

PREFIX ?= /usr/local
install: build
	$(MESON) configure $(RELEASE) --prefix=$(PREFIX)
	$(MESON) install -C $(RELEASE) $(if $(DESTDIR),--destdir $(DESTDIR))
	@command -v ldconfig >/dev/null && [ -z "$(DESTDIR)" ] && ldconfig || true

LISTEN ?= 127.0.0.1:8080
run: build
	@scripts/run-demo.sh $(RELEASE)/src/switchyard $(LISTEN)

# meson test's own verdict is folded into the summary, which fails on any failure.
# The release build is compiled too: -O3 finds warnings (-Werror) the debug build does not.
# The tests that run threads ("threads": the data-plane workers, readers of snapshots, the
# ingest writer) run a second time under ThreadSanitizer.
# SY_FAST: the release binary, which simulate_rates runs its thousands of simulated
# experiments on (the same code; tests/meson.build says what stays on the ASan build).
test: deps $(TEST)/build.ninja $(RELEASE)/build.ninja $(TSAN)/build.ninja
	$(MESON) compile -C $(RELEASE)
	$(MESON) compile -C $(TEST)
	$(MESON) compile -C $(TSAN)
	@rm -f $(TEST)/meson-logs/testlog.json $(TSAN)/meson-logs/testlog.json  # never summarise a previous run
	-SY_FAST=$(CURDIR)/$(RELEASE)/src/switchyard $(MESON) test -C $(TEST) --print-errorlogs \
		--num-processes 2
	-$(MESON) test -C $(TSAN) --print-errorlogs --num-processes 2 --suite threads
	@scripts/test-summary $(TEST) $(TSAN):threads

bench: build
	@scripts/deps.sh bench
	$(RELEASE)/bench/bench-stats
	@echo
	bench/eval.sh $(RELEASE)/bench/bench-eval
	@echo
	bench/ofrep.sh $(RELEASE)/src/switchyard
	@echo
	bench/mixed.sh $(RELEASE)/src/switchyard
	@echo
	bench/ingest.sh $(RELEASE)/src/switchyard $(RELEASE)/bench/bench-ingest
	@echo
	bench/rollback.sh $(RELEASE)/src/switchyard
	@echo
	bench/proxy.sh $(RELEASE)/src/switchyard
	@echo
	bench/scale.sh $(RELEASE)/src/switchyard
	@echo
	bench/metrics.sh $(RELEASE)/src/switchyard
	@echo
	bench/emergency.sh $(RELEASE)/src/switchyard
	@echo
	bench/pg.sh $(RELEASE)/src/switchyard $(RELEASE)/bench/bench-ingest $(RELEASE)/bench/bench-notify

# the statistics' promises by simulation, 1,000 runs a scenario (about an hour on 2 cores)
simulate-figures: build
	SY=$(RELEASE)/src/switchyard bench/simulate.sh $(RUNS)

fuzz:
	@scripts/deps.sh fuzz
	@[ -f $(FUZZ)/build.ninja ] || CC=clang $(MESON) setup $(FUZZ) --buildtype=debugoptimized \
		-Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false
	$(MESON) compile -C $(FUZZ)
	@for t in $(FUZZ)/fuzz/fuzz-*; do \
		[ -f "$$t" ] && [ -x "$$t" ] || continue; \
		echo "== $$t ($(FUZZ_SECONDS)s)"; \
		n=$$(basename $$t); mkdir -p fuzz/corpus-$$n; \
		$$t -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/$$n.dict \
			fuzz/corpus-$$n fuzz/seeds/$$n || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

# ruvector: PGXS build of the extension plus the project's one-command targets.
#   make / make install / make installcheck   the usual PGXS targets (pg_config on PATH)
#   make deps     install missing Debian packages (as root) or print the apt-get line
#   make demo     deps, build, install, throwaway cluster, Fashion-MNIST, a search
#   make test     deps, build, unit tests (CTest), pg_regress and server tests on a
#                 throwaway cluster; non-zero exit on any failure
#   make test-asan  unit tests under AddressSanitizer + UBSan
#   make fuzz     the fuzz drivers of tests/fuzz under ASan + UBSan, many iterations

EXTENSION = ruvector ruvector_pgvector
# The version `make` builds from extension/sql/; earlier versions' install scripts and the
# upgrade scripts between them are frozen in extension/versions/ (see docs/development.md).
EXTVERSION = 0.5.0
PGVECTOR_BRIDGE_VERSION = 0.1.0
MODULE_big = ruvector

SOURCES = $(sort $(wildcard src/*/*.cpp kernels/cpu/*.cpp extension/*.cpp extension/*/*.cpp))
OBJS = $(SOURCES:.cpp=.o)
DEP_HEADERS = $(wildcard src/*/*.h kernels/cpu/*.h extension/*.h extension/*/*.h)

# The install script is assembled from one piece per capability, in file-name order.
SQL_PIECES = $(sort $(wildcard extension/sql/*.sql))
DATA_built = extension/ruvector--$(EXTVERSION).sql
# The pgvector bridge: a second extension, so that ruvector installs without pgvector.
DATA = extension/pgvector/ruvector_pgvector--$(PGVECTOR_BRIDGE_VERSION).sql \
	$(wildcard extension/versions/*.sql)

REGRESS = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=ruvector

PG_CPPFLAGS = -I$(CURDIR) -I$(CURDIR)/src
PG_CXXFLAGS = -std=c++17 -O2 -Wno-missing-field-initializers -Wno-register \
              -fconstexpr-ops-limit=2000000000
# Warnings are errors in the project's own builds (`make test` and CI set WERROR=1; so can
# a developer), not in an end user's `make install`, where a newer compiler or the
# distribution's flags may bring warnings the code did not have when it shipped.
WERROR ?= 0
ifneq ($(filter test,$(MAKECMDGOALS)),)
WERROR = 1
endif
export WERROR  # the sub-makes of `make test`, run_tests.sh's `make kernels` among them
ifeq ($(WERROR),1)
PG_CXXFLAGS += -Werror
NVCC_WERROR = -Werror all-warnings
endif
# A file built without -Werror leaves a FILE.no-werror mark beside it; a WERROR=1 build
# makes it again (so that `make test` cannot pass over a warning in an object a plain `make`
# left), and keeps what was built with -Werror either way.
ifeq ($(WERROR),1)
NO_WERROR_MARK = rm -f $@.no-werror
else
NO_WERROR_MARK = touch $@.no-werror
endif
# Defined before PGXS is included, whose clean rule tests it then.
EXTRA_CLEAN = $(addsuffix .no-werror,$(OBJS) $(CUDA_LIB))
SHLIB_LINK = -lstdc++ -lcrypto -lcurl -ldl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# Debian's server packages ship with JIT bitcode enabled; our C++ code gains nothing from
# being inlined by the JIT and would need clang at build time.
override with_llvm = no

ifneq ($(PGXS),)
include $(PGXS)
else
all:
	@echo "pg_config not found: run 'make deps' (as root) or put pg_config on PATH" >&2; exit 1
endif

# ISA flags: kernel files named *_avx512.cpp / *_avx2.cpp are built for that ISA only and
# picked at run time; some files are built without FMA contraction. The flags and the list
# are in kernels/cpu/isa_flags.mk, which CMake reads too.
include kernels/cpu/isa_flags.mk
$(patsubst %.cpp,%.o,$(filter %_avx512.cpp,$(SOURCES))): override CXXFLAGS += $(AVX512_FLAGS)
$(patsubst %.cpp,%.o,$(filter %_avx2.cpp,$(SOURCES))): override CXXFLAGS += $(AVX2_FLAGS)
$(patsubst %.cpp,%.o,$(wildcard $(NO_FMA_SOURCES))): override CXXFLAGS += -ffp-contract=off

$(OBJS): $(DEP_HEADERS) kernels/cpu/isa_flags.mk

# Make's own rule for C++ objects (PGXS uses it too), plus the mark.
%.o: %.cpp
	$(COMPILE.cc) $(OUTPUT_OPTION) $<
	@$(NO_WERROR_MARK)

extension/ruvector--$(EXTVERSION).sql: $(SQL_PIECES)
	cat $(SQL_PIECES) > $@

# ---------------------------------------------------------------------------------------
# Project targets

# What building the extension needs (docker/Dockerfile installs only these, for its
# PG_MAJOR), then what the tests, demo and benchmarks add.
PG_MAJOR ?= 15
BUILD_PACKAGES = build-essential postgresql-server-dev-$(PG_MAJOR) libxsimd-dev \
	nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
DEBIAN_PACKAGES = $(BUILD_PACKAGES) postgresql-$(PG_MAJOR) libgtest-dev libbenchmark-dev cmake \
	dataset-fashion-mnist libflint-dev libgmp-dev python3 python3-asyncpg python3-psycopg python3-numpy \
	python3-venv python3-pip python3-setuptools python3-wheel
BUILD_DIR ?= build

.PHONY: deps deps-build demo test test-unit test-asan test-regress test-server bench kernels install-kernels \
	clean-kernels fuzz

# ---------------------------------------------------------------------------------------
# Optional GPU kernels: a separate library that the extension loads at run time
# (ruvector.gpu); ruvector.so never links CUDA. `make kernels` builds it wherever nvcc is;
# `make WITH_CUDA=1` builds and installs it with the extension.
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),/usr/local/cuda/bin/nvcc)
CUDA_ARCH_FLAGS ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
# --fmad=false: the scan's estimates must round exactly as the CPU kernel's do.
NVCC_FLAGS = -std=c++17 -O3 --fmad=false -Xcompiler -fPIC,-Wall $(NVCC_WERROR) \
	-I$(CURDIR) -shared
CUDA_LIB = kernels/cuda/ruvector_cuda.so

$(CUDA_LIB): $(wildcard kernels/cuda/*.cu) $(wildcard kernels/scan/*.h)
	$(NVCC) $(NVCC_FLAGS) $(CUDA_ARCH_FLAGS) -o $@ $(filter %.cu,$^)
	@$(NO_WERROR_MARK)

# What a plain build left without -Werror is made again under WERROR=1 (see NO_WERROR_MARK).
.PHONY: werror-force
werror-force: ;
ifeq ($(WERROR),1)
$(patsubst %.no-werror,%,$(wildcard $(addsuffix .no-werror,$(OBJS) $(CUDA_LIB)))): werror-force
endif

kernels: $(CUDA_LIB)

install-kernels: $(CUDA_LIB)
	$(INSTALL_SHLIB) $(CUDA_LIB) '$(DESTDIR)$(pkglibdir)/ruvector_cuda$(DLSUFFIX)'

ifeq ($(WITH_CUDA),1)
all: $(CUDA_LIB)
install: install-kernels
endif

clean: clean-kernels
clean-kernels:
	rm -f $(CUDA_LIB)

deps:
	@tools/deps.sh $(DEBIAN_PACKAGES)

deps-build:
	@tools/deps.sh $(BUILD_PACKAGES)

demo: deps
	$(MAKE) all
	$(MAKE) install
	tools/demo.sh

test: deps
	$(MAKE) all
	$(MAKE) install
	MAKE="$(MAKE)" tools/run_tests.sh

test-unit:
	cmake -S . -B $(BUILD_DIR)/unit -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD_DIR)/unit -j$$(nproc)
	cd $(BUILD_DIR)/unit && ctest --output-on-failure -j$$(nproc)

test-asan:
	cmake -S . -B $(BUILD_DIR)/asan -DCMAKE_BUILD_TYPE=Debug -DRUVECTOR_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_DIR)/asan -j$$(nproc)
	cd $(BUILD_DIR)/asan && ctest --output-on-failure -j$$(nproc)

# The fuzz drivers (tests/fuzz) with many more iterations than CTest gives them:
#   make fuzz FUZZ_ITERATIONS=100000 FUZZ_SEED=7 FUZZ_DRIVERS="sse rpc_answer"
FUZZ_ITERATIONS ?= 20000
FUZZ_SEED ?= 1
FUZZ_DRIVERS ?=
fuzz:
	cmake -S . -B $(BUILD_DIR)/asan -DCMAKE_BUILD_TYPE=Debug -DRUVECTOR_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_DIR)/asan -j$$(nproc) --target fuzz_drivers
	$(BUILD_DIR)/asan/fuzz_drivers --iterations $(FUZZ_ITERATIONS) --seed $(FUZZ_SEED) $(FUZZ_DRIVERS)

# pg_regress against a throwaway cluster that the harness starts and stops.
test-regress:
	tools/with_cluster.sh $(MAKE) installcheck

test-server:
	tools/run_server_tests.sh

bench:
	cmake -S . -B $(BUILD_DIR)/bench -DCMAKE_BUILD_TYPE=Release -DRUVECTOR_BENCH=ON >/dev/null
	cmake --build $(BUILD_DIR)/bench -j$$(nproc)

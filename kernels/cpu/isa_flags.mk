# Compiler flags of the per-ISA kernel files (*_avx512.cpp, *_avx2.cpp: built for that ISA
# only and picked at run time, see isa.h) and the files built without fused multiply-add.
# The one list for both build systems: the Makefile includes this file and
# cmake/isa_flags.cmake reads it, so keep every line to the form NAME = words (no make
# functions, no continuation lines); sources are paths from the repository root, globs
# allowed.
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512dq -mavx512cd -mavx512vl -mavx2 -mfma -mbmi2 -mpopcnt
AVX2_FLAGS = -mavx2 -mfma -mbmi2 -mpopcnt
# The files that compute RaBitQ estimates: without contraction into FMA, so that the CPU
# scan is bit-identical to the GPU kernel (built with --fmad=false).
NO_FMA_SOURCES = src/rabitq/query.cpp src/rulake/cpu_scan_kernel.cpp kernels/cpu/query_planes_*.cpp kernels/cpu/estimate_rows_*.cpp

# Kernel files named *_avx512.cpp and *_avx2.cpp are compiled for that ISA only; the
# dispatcher picks among them at run time. Keep in sync with the Makefile's ISA flags.
set(RUVECTOR_AVX512_FLAGS -mavx512f -mavx512bw -mavx512dq -mavx512cd -mavx512vl -mavx2 -mfma -mbmi2 -mpopcnt)
set(RUVECTOR_AVX2_FLAGS -mavx2 -mfma -mbmi2 -mpopcnt)
file(GLOB_RECURSE _avx512_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/cpu/*_avx512.cpp ${CMAKE_SOURCE_DIR}/src/*_avx512.cpp)
file(GLOB_RECURSE _avx2_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/cpu/*_avx2.cpp ${CMAKE_SOURCE_DIR}/src/*_avx2.cpp)
set_source_files_properties(${_avx512_sources} PROPERTIES COMPILE_OPTIONS "${RUVECTOR_AVX512_FLAGS}")
set_source_files_properties(${_avx2_sources} PROPERTIES COMPILE_OPTIONS "${RUVECTOR_AVX2_FLAGS}")

# Files that compute RaBitQ estimates: no fused multiply-add, so that the CPU scan is
# bit-identical to the GPU kernel (built with --fmad=false). Keep in sync with the Makefile.
set(RUVECTOR_ESTIMATE_SOURCES ${CMAKE_SOURCE_DIR}/src/rabitq/query.cpp
    ${CMAKE_SOURCE_DIR}/src/rulake/cpu_scan_kernel.cpp)
file(GLOB _query_plane_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/cpu/query_planes_*.cpp)
list(APPEND RUVECTOR_ESTIMATE_SOURCES ${_query_plane_sources})
set_property(SOURCE ${RUVECTOR_ESTIMATE_SOURCES} APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=off)

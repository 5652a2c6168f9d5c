# kubesim: the Kubernetes API server simulator. asc_sim is the library
# (tests and benchmarks start it in-process, see bench/kubesim/sim_server.h);
# kubesim is the binary around it.
set(ASC_SIM_SOURCES
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_admin.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_api.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_core.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_crd.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_delete.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_ctl.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_discovery.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_fault.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_http.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_map.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_meta.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_openapi.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_res.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_server.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_status.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_store.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_store_page.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_table.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_tls.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_watch.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_wcommon.c
    ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_write.c)
add_library(asc_sim STATIC ${ASC_SIM_SOURCES})
target_compile_definitions(asc_sim PRIVATE ASC_SIM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(asc_sim PUBLIC asc_core PkgConfig::JSONC PkgConfig::OPENSSL ev_lib
                      Threads::Threads)
# asc_simjson (bench/cmake/simjson.cmake, included after this file) and
# asc_crds (deploy/) are linked by name; both are resolved at generate time.
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/cmake/simjson.cmake)
  target_link_libraries(asc_sim PUBLIC asc_simjson)
endif()
if(TARGET asc_crds)
  target_compile_definitions(asc_sim PRIVATE ASC_SIM_HAVE_CRDS=1)
  target_link_libraries(asc_sim PUBLIC asc_crds)
endif()

add_executable(kubesim ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_main.c)
target_link_libraries(kubesim PRIVATE asc_sim)

# The kubesim executable (only it: not asc_sim, so tests' in-process servers and the
# controller keep the system allocator) links a faster malloc. json-c allocates a hash
# table per JSON object and every write copies, serialises and frees a whole tree:
# kubesimbench (100k objects, 100k writes) measured glibc 0.050 CPU-s/1000 writes,
# tcmalloc 0.032-0.034, jemalloc 0.032-0.036 (23 Nov, before the I/O-path work). With
# the later code the two are equal within noise by default (0.024-0.025 vs 0.023-0.026)
# and tcmalloc is a little ahead with --tree-cache 0 (0.018 vs 0.018-0.022); jemalloc
# ends with ~4% less RSS (255 vs 268 MiB). Equal RSS per stored object (~2.1 KB).
# Sanitizer and fuzz trees need the system allocator (ASan replaces malloc), and a
# missing library only falls back: configure never fails for it.
set(ASC_SIM_MALLOC "tcmalloc" CACHE STRING "allocator of the kubesim executable: tcmalloc|jemalloc|system")
set_property(CACHE ASC_SIM_MALLOC PROPERTY STRINGS tcmalloc jemalloc system)
set(_asc_sim_malloc "${ASC_SIM_MALLOC}")
if(ASC_SANITIZE OR ASC_FUZZ)
  set(_asc_sim_malloc system)
endif()
if(_asc_sim_malloc STREQUAL "tcmalloc")
  pkg_check_modules(ASC_SIM_TCMALLOC QUIET IMPORTED_TARGET libtcmalloc_minimal)
  if(ASC_SIM_TCMALLOC_FOUND)
    set(_asc_sim_malloc_target PkgConfig::ASC_SIM_TCMALLOC)
  else()
    set(_asc_sim_malloc "system (tcmalloc_minimal not found: apt-get install libgoogle-perftools-dev)")
  endif()
elseif(_asc_sim_malloc STREQUAL "jemalloc")
  pkg_check_modules(ASC_SIM_JEMALLOC QUIET IMPORTED_TARGET jemalloc)
  if(ASC_SIM_JEMALLOC_FOUND)
    set(_asc_sim_malloc_target PkgConfig::ASC_SIM_JEMALLOC)
  else()
    set(_asc_sim_malloc "system (jemalloc not found: apt-get install libjemalloc-dev)")
  endif()
elseif(NOT _asc_sim_malloc STREQUAL "system")
  set(_asc_sim_malloc "system (unknown ASC_SIM_MALLOC=${ASC_SIM_MALLOC})")
endif()
if(_asc_sim_malloc_target)
  # nothing references the allocator's symbols: keep it even under --as-needed
  target_link_options(kubesim PRIVATE -Wl,--no-as-needed)
  target_link_libraries(kubesim PRIVATE ${_asc_sim_malloc_target})
endif()
message(STATUS "kubesim allocator: ${_asc_sim_malloc}")

# kubesimbench: throughput, latency, CPU and memory of kubesim (bench/kubesim/sim_bench.c).
add_executable(kubesimbench ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_bench.c)

# Fuzzing: kubesim-fuzz-seeds turns tests/golden into raw request seeds (every build);
# kubesim_fuzz is the libFuzzer target (clang, -DASC_FUZZ=ON), see bench/kubesim/sim_fuzz.c.
add_executable(kubesim-fuzz-seeds ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_fuzz_seeds.c)
target_link_libraries(kubesim-fuzz-seeds PRIVATE asc_core)
if(ASC_FUZZ)
  target_compile_options(asc_sim PRIVATE -fsanitize=fuzzer-no-link)
  add_executable(kubesim_fuzz ${CMAKE_SOURCE_DIR}/bench/kubesim/sim_fuzz.c)
  target_compile_options(kubesim_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(kubesim_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_libraries(kubesim_fuzz PRIVATE asc_sim)
endif()

# bench/benchlib and the benchmarks (claimbench, sandboxbench).
if(TARGET asc_benchlib)
  foreach(t test_bench_stats test_bench_reqlog test_bench_util)
    asc_unit_test(${t} ${CMAKE_SOURCE_DIR}/tests/${t}.c LIBS asc_benchlib TIMEOUT 60
                  LABELS bench)
  endforeach()
endif()
# Runs the real binaries from ASC_BIN_DIR: sandboxbench with N=50, claimbench's failures.
if(TARGET sandboxbench AND TARGET claimbench)
  asc_unit_test(test_bench_smoke ${CMAKE_SOURCE_DIR}/tests/test_bench_smoke.c
                LIBS asc_benchlib TIMEOUT 60 LABELS bench)
  add_dependencies(test_bench_smoke sandboxbench claimbench)
  foreach(dep kubesim agent-sandbox-controller)
    if(TARGET ${dep})
      add_dependencies(test_bench_smoke ${dep})
    endif()
  endforeach()
endif()
# claimbench against kubesim and a stand-in controller with a known write
# pattern (test_bench_fakectl), so every figure is checked against the truth.
if(TARGET claimbench AND TARGET kubesim)
  add_executable(test_bench_fakectl ${CMAKE_SOURCE_DIR}/tests/test_bench_fakectl.c)
  target_link_libraries(test_bench_fakectl PRIVATE asc_benchlib PkgConfig::MHD)
  asc_unit_test(test_bench_claim ${CMAKE_SOURCE_DIR}/tests/test_bench_claim.c
                LIBS asc_benchlib TIMEOUT 90 LABELS bench)
  add_dependencies(test_bench_claim claimbench test_bench_fakectl kubesim)
endif()
# The benchmarks' watch (resume, relist after 410) and blocking helpers against kubesim.
if(TARGET asc_benchlib AND TARGET kubesim)
  asc_unit_test(test_bench_watch ${CMAKE_SOURCE_DIR}/tests/test_bench_watch.c
                LIBS asc_benchlib TIMEOUT 60 LABELS bench)
  add_dependencies(test_bench_watch kubesim)
endif()

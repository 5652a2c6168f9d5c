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

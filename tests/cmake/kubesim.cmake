# kubesim (bench/kubesim/): the API server simulator, driven as a binary through the
# test harness and in-process through asc_sim.
if(TARGET asc_harness)
  asc_unit_test(test_kubesim_watch ${CMAKE_SOURCE_DIR}/tests/test_kubesim_watch.c
    LIBS asc_harness asc_core TIMEOUT 90)
endif()
if(TARGET asc_harness)
  asc_unit_test(test_kubesim_life ${CMAKE_SOURCE_DIR}/tests/test_kubesim_life.c
    LIBS asc_harness asc_core TIMEOUT 90)
endif()
asc_unit_test(test_kubesim_api ${CMAKE_SOURCE_DIR}/tests/test_kubesim_api.c
  LIBS asc_sim asc_core PkgConfig::CURL PkgConfig::OPENSSL TIMEOUT 90)
if(TARGET asc_harness)
  asc_unit_test(test_kubesim_kubectl ${CMAKE_SOURCE_DIR}/tests/test_kubesim_kubectl.c
    LIBS asc_harness asc_core TIMEOUT 90)
endif()
if(TARGET asc_harness)
  asc_unit_test(test_kubesim_load ${CMAKE_SOURCE_DIR}/tests/test_kubesim_load.c
    LIBS asc_harness asc_core TIMEOUT 120)
endif()

# Integration-test harness (tests/harness/): starts kubesim and the controller, HTTP helpers.
add_library(asc_harness STATIC
  ${CMAKE_SOURCE_DIR}/tests/harness/harness.c
  ${CMAKE_SOURCE_DIR}/tests/harness/http.c
  ${CMAKE_SOURCE_DIR}/tests/harness/jmatch.c
  ${CMAKE_SOURCE_DIR}/tests/harness/kubeconfig.c)
target_link_libraries(asc_harness PUBLIC asc_core PkgConfig::CURL PkgConfig::JSONC)

# Smoke test: kubeconfig reading, a fake server for requests/watches, and kubesim itself
# (skipped visibly while $ASC_BIN_DIR/kubesim does not exist).
asc_unit_test(test_harness ${CMAKE_SOURCE_DIR}/tests/test_harness.c
  LIBS asc_harness Threads::Threads TIMEOUT 60)

# In-process kubesim for the harness (harness_use_inprocess_sim), when the simulator's
# library exists.
if(TARGET asc_sim)
  add_library(asc_harness_sim STATIC ${CMAKE_SOURCE_DIR}/tests/harness/inproc.c)
  target_link_libraries(asc_harness_sim PUBLIC asc_harness asc_sim)
endif()

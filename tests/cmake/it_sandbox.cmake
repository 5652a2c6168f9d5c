# Integration tests: the real agent-sandbox-controller against kubesim
# (tests/harness starts both from ASC_BIN_DIR, so both must be built first).
add_library(asc_it_sandbox STATIC ${CMAKE_SOURCE_DIR}/tests/test_it_sandbox_util.c)
target_link_libraries(asc_it_sandbox PUBLIC asc_harness PkgConfig::CMOCKA)
foreach(t test_it_sandbox test_it_sandbox_faults test_it_sandbox_scale)
  asc_unit_test(${t} ${CMAKE_SOURCE_DIR}/tests/${t}.c LIBS asc_it_sandbox asc_core TIMEOUT 90
                LABELS integration)
  add_dependencies(${t} agent-sandbox-controller kubesim)
endforeach()
# controller/routes.c as a table (no process).
asc_unit_test(test_it_sandbox_routes ${CMAKE_SOURCE_DIR}/tests/test_it_sandbox_routes.c
              LIBS asc_controller TIMEOUT 30)
# controller/recall.c against a real store.
asc_unit_test(test_it_sandbox_recall ${CMAKE_SOURCE_DIR}/tests/test_it_sandbox_recall.c
              LIBS asc_controller_mgr asc_store TIMEOUT 30)

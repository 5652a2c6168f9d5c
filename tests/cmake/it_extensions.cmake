# Integration tests of the extension controllers (SandboxTemplate,
# SandboxWarmPool, SandboxClaim): the real agent-sandbox-controller with
# --extensions against kubesim (tests/harness starts both from ASC_BIN_DIR).
add_library(asc_it_claim STATIC ${CMAKE_SOURCE_DIR}/tests/test_it_claim_util.c)
target_link_libraries(asc_it_claim PUBLIC asc_it_sandbox asc_harness asc_core PkgConfig::CMOCKA PkgConfig::CURL)
foreach(t test_it_claim test_it_claim_burst test_it_claim_lifecycle test_it_warmpool)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/${t}.c)
    asc_unit_test(${t} ${CMAKE_SOURCE_DIR}/tests/${t}.c LIBS asc_it_claim asc_core TIMEOUT 90
                  LABELS integration)
    add_dependencies(${t} agent-sandbox-controller kubesim)
  endif()
endforeach()
# controller/ext_routes.c as a table against a real store (no process).
asc_unit_test(test_it_claim_routes ${CMAKE_SOURCE_DIR}/tests/test_it_claim_routes.c
              LIBS asc_controller_mgr asc_store asc_core TIMEOUT 30)
# controller/ext.c's warm pool member set between full listings (no process).
asc_unit_test(test_it_ext_pool ${CMAKE_SOURCE_DIR}/tests/test_it_ext_pool.c
              LIBS asc_controller_mgr asc_store asc_core TIMEOUT 30)

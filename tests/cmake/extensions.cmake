# pools/ and the SandboxTemplate / SandboxWarmPool / SandboxClaim passes.
# test_rec_resources.c supplies the kube_resource descriptors so these pure
# tests do not link the HTTP client.
asc_unit_test(test_pool ${CMAKE_SOURCE_DIR}/tests/test_pool.c
  LIBS asc_pools asc_core TIMEOUT 60 LABELS pools)
foreach(t test_rec_template test_rec_warmpool test_rec_claim)
  asc_unit_test(${t} ${CMAKE_SOURCE_DIR}/tests/${t}.c
    ${CMAKE_SOURCE_DIR}/tests/test_rec_resources.c
    LIBS asc_reconciler asc_pools asc_core TIMEOUT 60 LABELS reconciler)
endforeach()
asc_unit_test(test_rec_claim_sim ${CMAKE_SOURCE_DIR}/tests/test_rec_claim_sim.c
  ${CMAKE_SOURCE_DIR}/tests/test_rec_resources.c
  LIBS asc_reconciler asc_pools asc_core TIMEOUT 60 LABELS reconciler)

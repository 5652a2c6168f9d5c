# pools/ and the SandboxTemplate / SandboxWarmPool / SandboxClaim passes.
asc_unit_test(test_pool ${CMAKE_SOURCE_DIR}/tests/test_pool.c
  LIBS asc_pools asc_core TIMEOUT 60 LABELS pools)
foreach(t test_rec_template test_rec_warmpool test_rec_warmpool_members test_rec_claim)
  asc_unit_test(${t} ${CMAKE_SOURCE_DIR}/tests/${t}.c
    LIBS asc_reconciler asc_pools asc_core TIMEOUT 60 LABELS reconciler)
endforeach()
asc_unit_test(test_rec_claim_sim ${CMAKE_SOURCE_DIR}/tests/test_rec_claim_sim.c
  LIBS asc_reconciler asc_pools asc_core TIMEOUT 60 LABELS reconciler)

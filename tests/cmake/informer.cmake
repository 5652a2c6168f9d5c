asc_unit_test(test_informer ${CMAKE_SOURCE_DIR}/tests/test_informer.c LIBS asc_informer asc_store
              asc_core TIMEOUT 60)
# Against kubesim over HTTP (skipped visibly while the kubesim binary is absent).
if(TARGET asc_harness AND TARGET asc_kube)
  asc_unit_test(test_informer_sim ${CMAKE_SOURCE_DIR}/tests/test_informer_sim.c
                LIBS asc_informer asc_store asc_kube asc_harness asc_core TIMEOUT 120)
endif()
asc_unit_test(test_informer_raw ${CMAKE_SOURCE_DIR}/tests/test_informer_raw.c LIBS asc_informer
              asc_store asc_core TIMEOUT 60)

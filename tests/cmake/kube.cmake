# kube/ tests, and the scripted test HTTP server other areas may reuse
# (link asc_testsrv, include "tests/support/testsrv.h").
add_library(asc_testsrv STATIC ${CMAKE_SOURCE_DIR}/tests/support/testsrv.c)
target_link_libraries(asc_testsrv PUBLIC PkgConfig::MHD Threads::Threads)

asc_unit_test(test_kube_config ${CMAKE_SOURCE_DIR}/tests/test_kube_config.c
              LIBS asc_kube PkgConfig::OPENSSL TIMEOUT 60)
asc_unit_test(test_kube_decoder ${CMAKE_SOURCE_DIR}/tests/test_kube_decoder.c
              LIBS asc_kube TIMEOUT 60)
asc_unit_test(test_kube_client ${CMAKE_SOURCE_DIR}/tests/test_kube_client.c
              LIBS asc_kube asc_testsrv TIMEOUT 60)
asc_unit_test(test_kube_h2 ${CMAKE_SOURCE_DIR}/tests/test_kube_h2.c
              LIBS asc_kube PkgConfig::OPENSSL TIMEOUT 60)
asc_unit_test(test_kube_client_slim ${CMAKE_SOURCE_DIR}/tests/test_kube_client_slim.c
              LIBS asc_kube TIMEOUT 60)

asc_unit_test(test_store ${CMAKE_SOURCE_DIR}/tests/test_store.c LIBS asc_store asc_core
              PkgConfig::LMDB TIMEOUT 60)
asc_unit_test(test_store_jsonenc ${CMAKE_SOURCE_DIR}/tests/test_store_jsonenc.c LIBS asc_store
              asc_core TIMEOUT 60)
asc_unit_test(test_store_read ${CMAKE_SOURCE_DIR}/tests/test_store_read.c LIBS asc_store asc_core
              TIMEOUT 60)

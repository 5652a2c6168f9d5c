# cachebench: informer + store throughput and footprint (bench/cachebench.c).
if(TARGET asc_kube)
  add_executable(cachebench ${CMAKE_SOURCE_DIR}/bench/cachebench.c)
  target_link_libraries(cachebench PRIVATE asc_informer asc_store asc_kube asc_core)
  target_compile_definitions(cachebench PRIVATE
                             CACHEBENCH_CRDS="${CMAKE_SOURCE_DIR}/deploy/crds")
endif()

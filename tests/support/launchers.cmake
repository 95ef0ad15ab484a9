# tandem_launchers: what starts the processes a test or a benchmark runs against (a throwaway
# PostgreSQL cluster, `tandem serve` as a child process, temporary directories), without
# GoogleTest. tandem_test_support links it; the load generator (bench/) includes this file
# too, so that it builds with the tests off. Included more than once, it is defined once.
if(NOT TARGET tandem_launchers)
  add_library(tandem_launchers STATIC
    ${CMAKE_CURRENT_LIST_DIR}/postgres_cluster.cpp
    ${CMAKE_CURRENT_LIST_DIR}/server_process.cpp
    ${CMAKE_CURRENT_LIST_DIR}/temp_dir.cpp
  )
  target_include_directories(tandem_launchers PUBLIC ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(tandem_launchers PUBLIC tandem_auth tandem_common PRIVATE OpenSSL::Crypto)
endif()

# xsock::tls: TLS on OpenSSL 3 (tls_context, tls_stream, the event_loop layer).
# Included from core/CMakeLists.txt when XSOCK_BUILD_TLS is on. No OpenSSL header is
# public: its users link xsock::net and nothing of OpenSSL's.
include(GNUInstallDirs)
find_package(OpenSSL 3.0)
if(NOT OPENSSL_FOUND)
  message(FATAL_ERROR
    "XSOCK_BUILD_TLS needs OpenSSL 3 (Debian: apt-get install libssl-dev; vcpkg: openssl), "
    "or configure with -DXSOCK_BUILD_TLS=OFF for a build without xsock::tls")
endif()

if(WIN32)
  set(_xsock_tls_platform win32)
else()
  set(_xsock_tls_platform posix)
endif()
add_library(xsock_tls
  ${CMAKE_CURRENT_LIST_DIR}/tls_context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tls_engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tls_error.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tls_layer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tls_stream.cpp
  ${PROJECT_SOURCE_DIR}/platform/${_xsock_tls_platform}/tls_platform.cpp)
add_library(xsock::tls ALIAS xsock_tls)
set_target_properties(xsock_tls PROPERTIES EXPORT_NAME tls OUTPUT_NAME xsock_tls)
target_include_directories(xsock_tls
  PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${CMAKE_CURRENT_LIST_DIR}/.. ${PROJECT_SOURCE_DIR}/platform)
target_compile_features(xsock_tls PUBLIC cxx_std_17)
target_link_libraries(xsock_tls PRIVATE OpenSSL::SSL OpenSSL::Crypto)
target_link_libraries(xsock_tls PUBLIC xsock_net)
if(WIN32)
  # The system's ROOT store (platform/win32/tls_platform.cpp).
  target_link_libraries(xsock_tls PRIVATE crypt32)
endif()
xsock_set_warnings(xsock_tls)
